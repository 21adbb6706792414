"""Where the compendium reads and writes: the repository root, ``data/``, ``figures/``.

Notebooks run with their own folder as working directory in JupyterLab and with whatever
the caller chose under papermill; every path a notebook uses therefore goes through
:func:`repo_path`, which resolves relative paths against the repository root.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["repo_root", "repo_path", "figures_dir", "cache_dir", "save_table", "save_text"]


def repo_root() -> Path:
    """The repository root: ``$MATTERALIGN_ROOT`` if set, else the first folder above the
    working directory (or, failing that, above this package) that holds ``pyproject.toml``
    and ``notebooks/``.

    >>> (repo_root() / "pyproject.toml").exists()
    True
    """
    env = os.environ.get("MATTERALIGN_ROOT")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd().resolve(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").exists() and (folder / "notebooks").is_dir():
                return folder
    return Path(__file__).resolve().parents[3]


def repo_path(path: str | os.PathLike) -> Path:
    """``path`` itself when absolute, else ``repo_root() / path``.

    >>> repo_path("figures").name
    'figures'
    """
    p = Path(path).expanduser()
    return p if p.is_absolute() else repo_root() / p


def figures_dir(output_dir: str | os.PathLike) -> Path:
    """Resolve a notebook's ``output_dir`` parameter and create the folder."""
    p = repo_path(output_dir)
    p.mkdir(parents=True, exist_ok=True)
    return p


def cache_dir(*parts: str) -> Path:
    """``data/cache/<parts…>`` (``$MATTERALIGN_CACHE`` overrides ``data/cache``), created."""
    base = Path(os.environ["MATTERALIGN_CACHE"]) if os.environ.get("MATTERALIGN_CACHE") \
        else repo_root() / "data" / "cache"
    p = base.joinpath(*parts)
    p.mkdir(parents=True, exist_ok=True)
    return p


def save_table(df, path: str | os.PathLike) -> Path:
    """Write a pandas DataFrame as CSV, atomically. Returns the path."""
    from matteralign.io import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        df.to_csv(tmp)
    return target


def save_text(text: str, path: str | os.PathLike) -> Path:
    """Write text (UTF-8), atomically. Returns the path."""
    from matteralign.io import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
