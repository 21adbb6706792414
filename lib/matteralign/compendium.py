"""The compendium runner: execute the notebooks with papermill, summarise, rebuild the gallery.

Each notebook ``notebooks/<stem>.ipynb`` is executed with the current interpreter's
``python3`` kernel, working directory ``notebooks/``, and the parameter ``output_dir`` set to
``<output_root>/<stem>``; the executed copy is written beside its figures as
``<output_root>/<stem>/<stem>.ipynb`` and a ``run.json`` records status, wall time,
parameters and the figures written. :func:`run_all` goes on past a failing notebook and
:func:`summary_table` / :func:`write_gallery` report the outcome (``figures/README.md``);
:func:`write_claims` gathers the notebooks' computed verdicts into ``figures/CLAIMS.md``.

The notebooks are their own source: each ``notebooks/<stem>.ipynb`` is paired by jupytext
with a percent-format twin ``notebooks/<stem>.py`` (``notebooks/jupytext.toml``); papermill
executes the ``.ipynb``. The executed copy is scrubbed of the machine's absolute paths
(:func:`relativise_paths`): papermill records input and output paths and the injected
``output_dir``, and the notebooks print where they write.

Examples
--------
>>> parse_parameters([("k", "10"), ("models", "[a, b]"), ("dataset", "qm9")])
{'k': 10, 'models': ['a', 'b'], 'dataset': 'qm9'}
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matteralign.analysis.paths import repo_path, repo_root
from matteralign.errors import unknown_name
from matteralign.io import atomic_path

__all__ = [
    "NOTEBOOK_DIR",
    "FIGURES_DIR",
    "RunResult",
    "list_notebooks",
    "parse_parameters",
    "run_notebook",
    "run_all",
    "summary_table",
    "write_gallery",
    "write_claims",
    "read_runs",
    "relativise_paths",
]

NOTEBOOK_DIR = "notebooks"
FIGURES_DIR = "figures"
RUN_FILE = "run.json"
FIGURE_EXTS = (".png", ".svg")


@dataclass
class RunResult:
    """The outcome of one notebook run."""

    notebook: str
    status: str  # "ok" | "failed"
    wall_s: float
    figures: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    started: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_notebooks(folder: str | os.PathLike | None = None) -> list[str]:
    """Stems of ``notebooks/*.ipynb`` in order (checkpoints excluded)."""
    nb_dir = repo_path(folder or NOTEBOOK_DIR)
    return sorted(p.stem for p in nb_dir.glob("*.ipynb") if not p.name.startswith("."))


def _resolve(name: str, known: Sequence[str]) -> str:
    stem = Path(name).stem
    if stem in known:
        return stem
    matches = [k for k in known if k.startswith(stem) or k.split("_", 1)[-1] == stem]
    if len(matches) == 1:
        return matches[0]
    raise unknown_name("notebook", name, list(known))


def parse_parameters(pairs: Iterable[Sequence[str]] | None) -> dict[str, Any]:
    """``[(name, value), …]`` from ``-p name value`` to a dict; values are parsed as YAML
    (``10`` → int, ``0.5`` → float, ``[a, b]`` → list, ``true`` → bool), as papermill does."""
    import yaml

    out: dict[str, Any] = {}
    for name, value in pairs or []:
        try:
            out[name] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[name] = value
    return out


def _files_since(folder: Path, since: float) -> list[Path]:
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and p.stat().st_mtime >= since - 1)


def _replace_prefix(text: str, prefix: str, replacement: str) -> str:
    """``prefix`` (a path, matched whole: not ``/a/bc`` for ``/a/b``) replaced in ``text``;
    ``prefix/rest`` becomes ``replacement/rest``, or ``rest`` when ``replacement`` is ``""``,
    and a bare ``prefix`` becomes ``replacement`` (``"."`` for ``""``).

    >>> _replace_prefix("writing to /w/p/figures/01 in /w/p (not /w/pq)", "/w/p", "")
    'writing to figures/01 in . (not /w/pq)'
    """
    pattern = re.compile(re.escape(prefix) + r"(?:(/)|(?![\w.\-]))")

    def sub(m: re.Match) -> str:
        if m.group(1):
            return f"{replacement}/" if replacement else ""
        return replacement or "."

    return pattern.sub(sub, text)


def _scrub(obj: Any, anchors: Sequence[tuple[str, str]]) -> Any:
    if isinstance(obj, str):
        for prefix, replacement in anchors:
            if prefix in obj:
                obj = _replace_prefix(obj, prefix, replacement)
        return obj
    if isinstance(obj, dict):
        return type(obj)((k, _scrub(v, anchors)) for k, v in obj.items())
    if isinstance(obj, list):
        return [_scrub(v, anchors) for v in obj]
    return obj


def _path_anchors(roots: Sequence[Path]) -> list[tuple[str, str]]:
    """``(absolute prefix, replacement)`` in the order they are applied: the project roots
    (deepest first, replaced by nothing, so that paths become relative to them), then the
    Python installation (``<sys.prefix>``) and the home folder (``~``). A path and its
    resolved form (symbolic links followed) are both anchors; the filesystem root never is."""
    def forms(p: Path) -> list[str]:
        p = Path(os.path.abspath(p))
        return [f for f in dict.fromkeys((str(p), str(p.resolve()))) if Path(f).parent != Path(f)]

    anchors = [(f, "") for r in roots for f in forms(r)]
    anchors.sort(key=lambda a: -len(a[0]))
    prefixes = sorted({f for p in (sys.prefix, sys.base_prefix) for f in forms(Path(p))},
                      key=lambda f: -len(f))
    anchors += [(f, "<sys.prefix>") for f in prefixes]
    anchors += [(f, "~") for f in forms(Path.home())]
    return anchors


def relativise_paths(notebook: str | os.PathLike, roots: Sequence[str | os.PathLike]) -> Path:
    """Rewrite an executed notebook so that it holds no absolute path of the machine.

    Every string of the notebook (cell sources, outputs, metadata such as papermill's
    ``input_path``, ``output_path`` and ``parameters``) is rewritten: a path under one of
    ``roots`` becomes relative to the deepest such root (``/home/me/matteralign/figures/02``
    → ``figures/02``), the Python installation becomes ``<sys.prefix>`` and the home folder
    ``~``. The file is replaced atomically.

    Args:
        notebook: the executed ``.ipynb``.
        roots: the folders paths are made relative to, e.g. the project root.

    Returns:
        The notebook's path.
    """
    import nbformat

    path = Path(notebook)
    anchors = _path_anchors([Path(r) for r in roots])
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    with atomic_path(path) as tmp:
        nbformat.write(_scrub(nb, anchors), tmp)
    return path


def run_notebook(
    name: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    output_root: str | os.PathLike = FIGURES_DIR,
    notebook_dir: str | os.PathLike | None = None,
    kernel_name: str = "python3",
    timeout: float | None = None,
) -> RunResult:
    """Execute one notebook with papermill; never raises for a failure inside the notebook.

    Args:
        name: notebook stem (``"02_similarity_tree"``), file name, or unique prefix
            (``"02"``).
        parameters: papermill parameters (``output_dir`` is set to ``<output_root>/<stem>``
            unless given).
        output_root: folder of the per-notebook output folders (relative to the repo root).
        notebook_dir: where the notebooks are (default ``notebooks/``).
        kernel_name: Jupyter kernel.
        timeout: per-cell timeout in seconds (None: unlimited).

    Returns:
        :class:`RunResult`; ``run.json`` is written into the output folder. The executed
        copy, the error and the recorded parameters hold paths relative to the project root
        (the folder above ``notebook_dir``, and the repository root); an output root outside
        both is shown relative to its parent (:func:`relativise_paths`).
    """
    import papermill as pm

    nb_dir = repo_path(notebook_dir or NOTEBOOK_DIR)
    stem = _resolve(name, list_notebooks(nb_dir))
    out_root = repo_path(output_root)
    out = out_root / stem
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("claim-*.json"):  # a failed run must not leave old verdicts behind
        stale.unlink()
    params = dict(parameters or {})
    params.setdefault("output_dir", str(out))
    started = time.time()
    status, error = "ok", ""
    try:
        pm.execute_notebook(
            str(nb_dir / f"{stem}.ipynb"), str(out / f"{stem}.ipynb"), parameters=params,
            kernel_name=kernel_name, cwd=str(nb_dir), progress_bar=False, log_output=False,
            execution_timeout=timeout,
        )
    except Exception as exc:  # papermill re-raises the cell's error; record it and go on
        status = "failed"
        ename = getattr(exc, "ename", type(exc).__name__)
        evalue = getattr(exc, "evalue", str(exc))
        error = f"{ename}: {evalue}".strip().splitlines()[0][:300] if str(evalue) else \
            traceback.format_exception_only(type(exc), exc)[-1].strip()
    wall = time.time() - started
    roots = [nb_dir.parent, repo_root()]
    if not any(out_root.resolve().is_relative_to(r.resolve()) for r in roots):
        roots.append(out_root.parent)
    executed = out / f"{stem}.ipynb"
    if executed.exists():
        relativise_paths(executed, roots)
    anchors = _path_anchors(roots)
    error = _scrub(error, anchors)
    files = _files_since(out, started)
    figures = [str(p.relative_to(out)) for p in files if p.suffix in FIGURE_EXTS]
    others = [str(p.relative_to(out)) for p in files
              if p.suffix not in FIGURE_EXTS and p.name != RUN_FILE]
    result = RunResult(stem, status, round(wall, 1), figures, others,
                       _scrub({k: v for k, v in params.items() if k != "output_dir"}, anchors),
                       error,
                       datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"))
    with atomic_path(out / RUN_FILE) as tmp:
        tmp.write_text(json.dumps(result.as_dict(), indent=1, default=str))
    return result


def run_all(
    names: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    *,
    output_root: str | os.PathLike = FIGURES_DIR,
    notebook_dir: str | os.PathLike | None = None,
    log: Callable[[str], Any] = print,
    gallery: bool = True,
) -> list[RunResult]:
    """Run several notebooks (default: all), one progress line each, continuing past
    failures; then rebuild the gallery (``<output_root>/README.md``)."""
    known = list_notebooks(notebook_dir)
    stems = [_resolve(n, known) for n in names] if names else known
    results = []
    for i, stem in enumerate(stems, 1):
        log(f"[{i}/{len(stems)}] {stem} ...")
        res = run_notebook(stem, parameters, output_root=output_root, notebook_dir=notebook_dir)
        extra = f" — {res.error}" if res.error else ""
        log(f"[{i}/{len(stems)}] {stem}: {res.status} in {res.wall_s:.1f} s, "
            f"{len(res.figures)} figure files{extra}")
        results.append(res)
    if gallery:
        write_gallery(output_root)
        write_claims(output_root)
    return results


def write_claims(output_root: str | os.PathLike = FIGURES_DIR) -> Path:
    """Rebuild ``<output_root>/CLAIMS.md``, the scoreboard of the study's claims, from the
    ``claim-*.json`` records the notebooks wrote (:mod:`matteralign.analysis.claims`)."""
    from matteralign.analysis import claims

    return claims.write_scoreboard(repo_path(output_root))


def summary_table(results: Sequence[RunResult]) -> str:
    """A plain-text table: notebook, status, wall time, figures written, and a total line.

    >>> print(summary_table([RunResult("01_x", "ok", 3.25, ["a.png", "a.svg"])]))
    notebook  status  wall time  figures
    01_x      ok          3.2 s        2
    total     1/1 ok      3.2 s        2
    """
    rows = [(r.notebook, r.status, f"{r.wall_s:.1f} s", str(len(r.figures))) for r in results]
    n_ok = sum(r.status == "ok" for r in results)
    total = sum(r.wall_s for r in results)
    rows.append(("total", f"{n_ok}/{len(results)} ok", f"{total:.1f} s",
                 str(sum(len(r.figures) for r in results))))
    head = ("notebook", "status", "wall time", "figures")
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(4)]

    def fmt(row: Sequence[str]) -> str:
        return (f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  "
                f"{row[3]:>{widths[3]}}").rstrip()

    return "\n".join(fmt(r) for r in [head, *rows])


def read_runs(output_root: str | os.PathLike = FIGURES_DIR) -> list[RunResult]:
    """The ``run.json`` records under ``output_root``, by notebook."""
    root = repo_path(output_root)
    runs = []
    for p in sorted(root.glob(f"*/{RUN_FILE}")):
        try:
            runs.append(RunResult(**json.loads(p.read_text())))
        except (json.JSONDecodeError, TypeError):
            continue
    return runs


def write_gallery(output_root: str | os.PathLike = FIGURES_DIR) -> Path:
    """Rebuild ``<output_root>/README.md``: every PNG of every notebook, with the parameters
    and status of the run that made it. Returns the path."""
    root = repo_path(output_root)
    root.mkdir(parents=True, exist_ok=True)
    lines = ["# Figure gallery", "",
             "Regenerated by `make reproduce` (`matteralign report --run`); do not edit by hand.",
             "Each section is one notebook of `notebooks/`, run with the parameters shown; every",
             "figure exists as PNG and SVG, next to the executed notebook and the netCDF results.",
             ""]
    runs = read_runs(root)
    if runs:
        lines += ["| notebook | status | wall time | figures | run at (UTC) |",
                  "|---|---|---|---|---|"]
        for r in runs:
            lines.append(f"| [{r.notebook}](#{r.notebook}) | {r.status} | {r.wall_s:.1f} s | "
                         f"{len(r.figures)} | {r.started} |")
        lines.append("")
    for r in runs:
        folder = root / r.notebook
        twin = repo_path(NOTEBOOK_DIR) / f"{r.notebook}.py"
        twin_link = (f" (jupytext twin [`{twin.name}`](../notebooks/{twin.name}))"
                     if twin.exists() else "")
        lines += [f"## {r.notebook}", "",
                  f"Notebook: [`notebooks/{r.notebook}.ipynb`](../notebooks/{r.notebook}.ipynb)"
                  f"{twin_link} — "
                  f"executed copy: [`{r.notebook}/{r.notebook}.ipynb`]({r.notebook}/{r.notebook}.ipynb)"
                  f" — status **{r.status}**" + (f" (`{r.error}`)" if r.error else ""), "",
                  "Parameters: " + (", ".join(f"`{k}={v!r}`" for k, v in r.parameters.items())
                                    if r.parameters else "defaults"), ""]
        conclusion = folder / "conclusion.md"
        if conclusion.exists():
            body = [ln for ln in conclusion.read_text().splitlines() if not ln.startswith("### ")]
            lines += ["**Conclusion** (computed by the notebook):", ""]
            lines += [f"> {ln}" if ln.strip() else ">" for ln in body if ln is not None] + [""]
        pngs = sorted(p for p in folder.glob("*.png"))
        for p in pngs:
            rel = p.relative_to(root).as_posix()
            svg = p.with_suffix(".svg")
            svg_link = f" ([SVG]({svg.relative_to(root).as_posix()}))" if svg.exists() else ""
            lines += [f"**{p.stem}**{svg_link}", "", f"![{p.stem}]({rel})", ""]
        data = sorted(p.relative_to(root).as_posix() for p in folder.glob("*")
                      if p.suffix in (".nc", ".csv", ".json", ".md", ".txt") and p.name != RUN_FILE)
        if data:
            lines += ["Data: " + ", ".join(f"[`{d}`]({d})" for d in data), ""]
    target = root / "README.md"
    with atomic_path(target) as tmp:
        tmp.write_text("\n".join(lines))
    return target


def default_root() -> Path:
    """The repository root (see :func:`matteralign.analysis.paths.repo_root`)."""
    return repo_root()
