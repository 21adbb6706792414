"""One module per CLI subcommand; each defines ``register(subparsers)``.

Shared checks, run before any work: :func:`positive_int` (an argparse ``type``, so a bad
value is the usual one-line usage error, exit 2) and :func:`check_output_file` /
:func:`check_output_dir` (a :class:`~matteralign.errors.ValidationError`, exit 1, naming the
flag and saying what is wrong with the path).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from matteralign.errors import ValidationError


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_writable_folder(folder: Path, flag: str, path: Path) -> None:
    """``folder`` (which may not exist yet) can be created and written in."""
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise ValidationError(f"cannot write {flag} {path}: {base} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValidationError(f"cannot write {flag} {path}: {base} is not writable ({reason})") from None


def check_output_file(path: str | os.PathLike, flag: str) -> Path:
    """Raise unless ``path`` can be written as a file (its folder may still have to be
    created). Nothing is created; a probe file is opened and removed in the nearest existing
    folder."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise ValidationError(f"{flag} {p} is a folder; give a file name, e.g. {flag} {p / 'out.nc'}")
    _check_writable_folder(p.absolute().parent, flag, p)
    return p


def check_output_dir(path: str | os.PathLike, flag: str) -> Path:
    """Raise unless ``path`` is (or can be created as) a writable folder."""
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise ValidationError(f"{flag} {p} is a file; give a folder")
    _check_writable_folder(p.absolute(), flag, p)
    return p
