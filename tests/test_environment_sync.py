"""environment.yml and pyproject.toml list the same dependencies (issue 3)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Extras for model families whose weights cannot be had offline stay out of the
# conda environment on purpose (they conflict with each other; see README).
OPTIONAL_FAMILIES = {"mace", "orb", "fairchem", "mattersim", "transformers", "esm", "pet", "prostt5"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_names() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for extra, items in data["project"]["optional-dependencies"].items():
        if extra not in OPTIONAL_FAMILIES:
            reqs += items
    return {_name(r) for r in reqs}


def _environment_names() -> set[str]:
    names = set()
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s+(\S.*)$", line)
        if not m:
            continue
        item = m.group(1).split("#")[0].strip()
        if item in {"pip", "pip:", "-e ."} or item.startswith("python=") or item == "conda-forge":
            continue
        names.add(_name(item))
    return names - {"conda-forge"}


def test_every_pyproject_dependency_is_in_environment_yml():
    missing = _pyproject_names() - _environment_names()
    assert not missing, f"in pyproject.toml but not environment.yml: {sorted(missing)}"


def test_every_environment_yml_dependency_is_in_pyproject():
    extra = _environment_names() - _pyproject_names()
    assert not extra, f"in environment.yml but not pyproject.toml: {sorted(extra)}"


def test_environment_pins_python_311_and_installs_the_project():
    text = (ROOT / "environment.yml").read_text()
    assert "python=3.11" in text and "- -e ." in text
