"""Shared by the benchmarks: replace one ``## `` section of RESULTS.md, keeping the others."""

from __future__ import annotations

import re
from pathlib import Path

from matteralign import io


def section_pattern(heading: str) -> re.Pattern[str]:
    """The section that starts at ``heading`` and runs to the next ``## `` heading, the next
    ``<!-- `` marker (the metrics benchmark's block) or the end of the file."""
    return re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |^<!-- |\Z)", re.S | re.M)


def replace_section(path: Path, heading: str, section: str, *, after: str | None = None) -> None:
    """Write ``section`` (starting with ``heading``) in place of that section of ``path``;
    without one, insert it after the section headed ``after`` (or append it). Atomic."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = section_pattern(heading)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        found = section_pattern(after).search(text) if after else None
        cut = found.end() if found else len(text)
        text = text[:cut].rstrip("\n") + "\n\n" + section + "\n" + text[cut:]
    with io.atomic_path(path) as tmp:
        tmp.write_text(text)


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), for naming the machine beside a result."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"
