"""Compact, byte-reproducible storage of structure sets: xz-compressed extended XYZ.

:func:`write_structures` rounds positions and cells to a fixed number of decimals before
writing, so that two runs whose floating-point results differ in the last bits still write
identical bytes, and writes atomically (:func:`matteralign.io.atomic_path`). The per-frame
``info`` dict (ids, SMILES, labels) is written in the order given. :func:`read_structures`
reads the file back and raises :class:`~matteralign.errors.MissingDataError` or
:class:`~matteralign.errors.CorruptFileError` naming the file (and, for a bad frame, its
index).
"""

from __future__ import annotations

import io
import lzma
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from matteralign.errors import CorruptFileError, MissingDataError
from matteralign.io import atomic_path

__all__ = ["write_structures", "read_structures", "round_atoms"]

DECIMALS = 6


def round_atoms(atoms, decimals: int = DECIMALS):
    """Return a copy of ``atoms`` with positions (and cell) rounded to ``decimals``.

    Complexity O(n_atoms).

    >>> from ase import Atoms
    >>> float(round_atoms(Atoms("H", positions=[[0.1234567891, 0, 0]])).positions[0, 0])
    0.123457
    """
    out = atoms.copy()
    out.calc = None
    out.positions = np.round(out.positions, decimals) + 0.0  # +0.0 turns -0.0 into 0.0
    if out.cell.rank:
        out.cell = np.round(np.asarray(out.cell), decimals) + 0.0
    return out


def write_structures(frames: Sequence, path: str | os.PathLike, decimals: int = DECIMALS) -> Path:
    """Write ``frames`` (ase.Atoms with ``info``) to ``path`` as xz-compressed extxyz.

    Args:
        frames: structures; ``info`` values must be str, int, float, bool or 1-D arrays;
            ``arrays`` beyond numbers/positions (e.g. ``forces``) are written too.
        path: target file, conventionally ``*.xyz.xz``.
        decimals: rounding of positions and cell before writing.

    Returns:
        The path written. The same frames give the same bytes on every run.
    """
    from ase.io import write

    buf = io.StringIO()
    for atoms in frames:
        write(buf, round_atoms(atoms, decimals), format="extxyz", write_results=False)
    data = lzma.compress(buf.getvalue().encode(), preset=9, format=lzma.FORMAT_XZ,
                         check=lzma.CHECK_CRC64)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
        tmp.chmod(0o644)
    return target


def read_structures(path: str | os.PathLike, what: str = "structures") -> list:
    """Read every frame of an (optionally xz- or gzip-compressed) extxyz file.

    Raises:
        MissingDataError: the file is absent (names it and ``what`` it should hold).
        CorruptFileError: the file is not readable extxyz (names it and the bad frame).
    """
    p = Path(path)
    if not p.exists():
        raise MissingDataError(
            f"{p} not found: expected {what} as extended XYZ; regenerate with "
            "`make datasets` or restore the file from the repository"
        )
    try:
        if p.suffix == ".xz":
            text = lzma.decompress(p.read_bytes()).decode()
        elif p.suffix == ".gz":
            import gzip

            text = gzip.decompress(p.read_bytes()).decode()
        else:
            text = p.read_text()
    except (lzma.LZMAError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{p} cannot be decompressed/decoded ({exc}); "
                               "restore it from the repository") from exc
    try:
        return parse_extxyz(text)
    except Exception as exc:  # name the first bad frame
        raise _bad_frame_error(text, p, exc) from exc


def parse_extxyz(text: str) -> list:
    """Parse extended XYZ text into ase.Atoms, keeping every per-frame key in ``info`` and
    every per-atom column in ``arrays`` (``energy``/``stress`` stay in ``info``,
    ``forces`` in ``arrays``; no calculator is attached). Lattice, pbc and species follow
    ``ase.io.extxyz``; about 10× faster than ``ase.io.read`` because it builds no
    calculators. O(total atoms).
    """
    from ase import Atoms
    from ase.data import atomic_numbers
    from ase.io.extxyz import key_val_str_to_dict

    lines = text.split("\n")
    frames, pos = [], 0
    while pos < len(lines):
        if not lines[pos].strip():
            pos += 1
            continue
        n = int(lines[pos].split()[0])
        if pos + 2 + n > len(lines):
            raise ValueError(f"frame declares {n} atoms but the text ends early")
        info = _header(lines[pos + 1]) or key_val_str_to_dict(lines[pos + 1])
        spec = str(info.pop("Properties", "species:S:1:pos:R:3")).split(":")
        rows = [line.split() for line in lines[pos + 2: pos + 2 + n]]
        block = np.array(rows, dtype=object).reshape(n, -1) if n else np.zeros((0, 4), object)
        columns, c = {}, 0
        for name, kind, width in zip(spec[::3], spec[1::3], spec[2::3]):
            w = int(width)
            values = block[:, c: c + w]
            c += w
            if kind == "S":
                columns[name] = values[:, 0].astype(str) if w == 1 else values.astype(str)
            elif kind == "R":
                columns[name] = values.astype(float).reshape(n, w) if w > 1 else values[:, 0].astype(float)
            elif kind == "I":
                columns[name] = values.astype(int).reshape(n, w) if w > 1 else values[:, 0].astype(int)
            elif kind == "L":
                columns[name] = values[:, 0] == "T" if w == 1 else values == "T"
            else:
                raise ValueError(f"unknown property type {kind!r} for column {name!r}")
        if c != block.shape[1]:
            raise ValueError(f"atom lines have {block.shape[1]} columns; Properties declare {c}")
        numbers = (columns.pop("Z") if "Z" in columns
                   else np.array([atomic_numbers[sym] for sym in columns.pop("species")]))
        columns.pop("species", None)
        cell = info.pop("Lattice", None)
        pbc = info.pop("pbc", cell is not None)
        atoms = Atoms(numbers=numbers, positions=columns.pop("pos"),
                      cell=None if cell is None else np.asarray(cell).T, pbc=pbc)
        if "stress" in info and np.shape(info["stress"]) == (3, 3):
            info["stress"] = np.asarray(info["stress"]).T
        for name, values in columns.items():
            atoms.arrays[name] = values
        atoms.info.update({k: v.item() if isinstance(v, np.generic) else v
                           for k, v in info.items()})
        frames.append(atoms)
        pos += n + 2
    return frames


_PAIR = re.compile(r'\s*([A-Za-z_][\w-]*)=(?:"([^"\\]*)"|([^\s"\\{}\[\]]+))(?=\s|$)')
_BOOL = {"T": True, "True": True, "F": False, "False": False}


def _scalar(token: str):
    if token in _BOOL:
        return _BOOL[token]
    for cast in (int, float):
        try:
            return cast(token)
        except ValueError:
            pass
    return token


def _is_json(text: str) -> bool:
    import json

    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def _header(line: str) -> dict | None:
    """``ase.io.extxyz.key_val_str_to_dict`` for the plain headers this package writes and
    MatterSim's files use (``key=value`` and ``key="v1 v2 …"``), 10× faster; ``None``
    (caller falls back to ase) for anything else: braces, brackets, escapes, bare keys."""
    out: dict = {}
    end = 0
    for m in _PAIR.finditer(line):
        if line[end: m.start()].strip():
            return None
        end = m.end()
        key, quoted, bare = m.group(1), m.group(2), m.group(3)
        if bare is not None:
            out[key] = _scalar(bare)
            continue
        if quoted.lstrip()[:1] in ("[", "{") and _is_json(quoted):
            return None  # ase decodes JSON values: leave those to it
        tokens = quoted.split()
        values = [_scalar(t) for t in tokens]
        if len(tokens) > 1 and all(isinstance(v, bool) for v in values):
            out[key] = list(values)  # as ase returns boolean vectors
        elif len(tokens) > 1 and all(isinstance(v, int | float) and not isinstance(v, bool)
                                     for v in values):
            arr = np.array(values)
            out[key] = arr.reshape((3, 3), order="F") if arr.size == 9 else arr
        else:
            out[key] = quoted
    if line[end:].strip():
        return None
    if key_is_special(out):
        return None
    return out


def key_is_special(d: dict) -> bool:
    """Keys ase treats specially beyond what :func:`_header` reproduces."""
    return "Lattice" in d and not isinstance(d["Lattice"], np.ndarray)


def _bad_frame_error(text: str, p: Path, whole: Exception) -> CorruptFileError:
    from ase.io import read

    lines = text.splitlines(keepends=True)
    pos, index = 0, 0
    while pos < len(lines):
        if not lines[pos].strip():
            pos += 1
            continue
        try:
            n = int(lines[pos].split()[0])
            chunk = "".join(lines[pos: pos + n + 2])
            if len(lines) < pos + n + 2:
                raise ValueError(f"frame declares {n} atoms but the file ends early")
            read(io.StringIO(chunk), format="extxyz", index=0)
        except Exception as exc:
            return CorruptFileError(
                f"{p}: frame {index} (line {pos + 1}) is not valid extended XYZ "
                f"({type(exc).__name__}: {exc})"
            )
        pos += n + 2
        index += 1
    return CorruptFileError(f"{p} is not valid extended XYZ ({type(whole).__name__}: {whole})")
