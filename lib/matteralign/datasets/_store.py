"""Compact storage of structure sets: xz-compressed extended XYZ, and their comparison
within stated physical tolerances.

:func:`write_structures` rounds positions and cells to a fixed number of decimals before
writing and writes atomically (:func:`matteralign.io.atomic_path`): the same frames give the
same bytes. Rounding does not make *recomputed* frames byte-identical: a value whose last
bits differ between two CPUs (another SIMD kernel in torch/MKL/OpenBLAS, another thread
count) can fall on the other side of a rounding boundary, and model outputs written
unrounded (CHGNet magnetic moments, MD momenta) differ in their 7th–8th significant digit.
:func:`compare_structures` therefore compares regenerated frames with committed ones per
quantity, within :data:`TOLERANCES` (exact for ids, species, flags and integers). The
per-frame ``info`` dict (ids, SMILES, labels) is written in the order given.
:func:`read_structures` reads the file back and raises
:class:`~matteralign.errors.MissingDataError` or :class:`~matteralign.errors.CorruptFileError`
naming the file (and, for a bad frame, its index).
"""

from __future__ import annotations

import io
import lzma
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matteralign.errors import CorruptFileError, MissingDataError
from matteralign.io import atomic_path

__all__ = ["write_structures", "read_structures", "round_atoms", "compare_structures",
           "Tolerance", "TOLERANCES", "Comparison"]

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


# ----------------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class Tolerance:
    """The largest deviation accepted for one quantity when a frame is regenerated."""

    limit: float
    unit: str
    why: str


#: Tolerances per ``(frame group, quantity)``; the group is ``"md"`` for MD snapshots
#: (``info["kind"] == "md"``) and ``"static"`` for everything else. Deviations are the
#: largest per-atom Euclidean distance (positions, minimum image in periodic cells), the
#: largest absolute element difference (cell, per-atom columns), or |ΔE|/n_atoms (energy).
TOLERANCES: dict[tuple[str, str], Tolerance] = {
    ("static", "positions"): Tolerance(
        2e-3, "Å", "FIRE stops at fmax 0.05 eV/Å, which fixes a relaxed position only to "
        "~fmax/k ≈ 2.5e-3–5e-2 Å (k ≈ 1–20 eV/Å²); float32 noise on high-symmetry sites "
        "moved atoms by up to 4.5e-4 Å (all 242 relaxations, committed vs rerun; 2.6e-4 Å "
        "AVX-512 vs AVX2 kernels on 21); 2e-3 Å is 1/25 of the smallest rattle (0.05 Å)"),
    ("static", "cell"): Tolerance(
        1e-4, "Å", "written to 1e-6 Å; measured differences ≤ 8e-6 Å"),
    ("static", "chgnet_energy"): Tolerance(
        5e-5, "eV/atom", "float32 CHGNet energies differed by ≤ 6e-6 eV/atom (measured); "
        "5e-5 eV/atom is ~1/600 of CHGNet's own error (~30 meV/atom)"),
    ("static", "initial_magmoms"): Tolerance(
        1e-4, "μB", "CHGNet magnetic moments (float32), written unrounded; differed by "
        "≤ 9.5e-6 μB (measured); moments are meaningful to ~0.01 μB"),
    ("static", "forces"): Tolerance(1e-4, "eV/Å", "float32 model forces"),
    ("md", "positions"): Tolerance(
        1e-3, "Å", "100 Langevin steps at 1000 K from the same parent: ≤ 4e-6 Å between CPU "
        "kernels (measured); a 3e-4 Å change in the start grew to 7.5e-4 Å, so 1e-3 Å also "
        "covers a parent that moved within its own tolerance; thermal displacements ~0.1 Å"),
    ("md", "momenta"): Tolerance(
        1e-2, "√(amu·eV)", "ASE momentum units; ≤ 4e-5 between CPU kernels, 6.7e-3 after a "
        "3e-4 Å change in the start (measured); thermal momenta at 1000 K are ~0.8–4"),
    ("md", "cell"): Tolerance(1e-4, "Å", "the relaxed parent's supercell, unchanged by NVT MD"),
    ("md", "initial_magmoms"): Tolerance(1e-4, "μB", "copied from the relaxed parent"),
}
#: Any other float value (``info`` floats such as a strain amplitude, other float columns).
OTHER_FLOATS = Tolerance(1e-6, "", "written with 6 decimals or derived from seeded draws")


@dataclass
class Comparison:
    """Result of :func:`compare_structures`.

    Attributes:
        deviations: largest deviation per ``(group, quantity)`` over all frames.
        where: the frame id at which each largest deviation occurs.
        mismatches: exact fields that differ (ids, species, frame count, flags, ints, text).
    """

    deviations: dict[tuple[str, str], float] = field(default_factory=dict)
    where: dict[tuple[str, str], str] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def tolerance(self, key: tuple[str, str]) -> Tolerance:
        return TOLERANCES.get(key, OTHER_FLOATS)

    @property
    def exceeded(self) -> list[tuple[str, str]]:
        """The quantities whose largest deviation is above their tolerance."""
        return [k for k, v in self.deviations.items() if not v <= self.tolerance(k).limit]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.exceeded

    def report(self) -> list[str]:
        """One line per quantity: largest deviation, tolerance, frame; then mismatches."""
        lines = []
        for key in sorted(self.deviations):
            tol, dev = self.tolerance(key), self.deviations[key]
            flag = "EXCEEDS" if key in self.exceeded else "ok"
            unit = f" {tol.unit}" if tol.unit else ""
            lines.append(f"{key[0]} {key[1]}: max |Δ| {dev:.1e}{unit} (tolerance "
                         f"{tol.limit:.0e}{unit}) at {self.where[key]} [{flag}]")
        more = len(self.mismatches) - 20
        return (lines + [f"mismatch: {m}" for m in self.mismatches[:20]]
                + ([f"… and {more} more mismatches"] if more > 0 else []))

    def _record(self, key, value: float, frame_id: str) -> None:
        if key not in self.deviations or not value <= self.deviations[key]:
            self.deviations[key] = float(value)
            self.where[key] = frame_id


def _float_like(v) -> bool:
    return isinstance(v, float | np.floating) or (
        isinstance(v, np.ndarray) and v.dtype.kind == "f")


def compare_structures(fresh: Sequence, committed: Sequence) -> Comparison:
    """Compare regenerated frames with committed ones, quantity by quantity.

    Exact: frame count and order, ``id`` and every str/int/bool ``info`` value, species,
    ``pbc``, the set of ``info`` keys and per-atom columns. Within :data:`TOLERANCES`:
    positions (largest per-atom distance; minimum image under periodic boundaries, so an atom
    that wraps across a cell face by 1e-7 Å counts as 1e-7 Å), cell, ``chgnet_energy`` (per
    atom) and float columns. Cost O(total atoms).

    >>> from ase import Atoms
    >>> a = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
    >>> b = a.copy(); b.positions[1, 2] += 3e-6
    >>> c = compare_structures([a], [b]); c.ok, round(c.deviations["static", "positions"], 9)
    (True, 3e-06)
    """
    out = Comparison()
    if len(fresh) != len(committed):
        out.mismatches.append(f"{len(fresh)} frames regenerated, {len(committed)} committed")
    for i, (a, b) in enumerate(zip(fresh, committed)):
        fid = str(b.info.get("id", f"frame {i}"))
        group = "md" if b.info.get("kind") == "md" else "static"
        if a.info.get("id") != b.info.get("id"):
            out.mismatches.append(f"frame {i}: id {a.info.get('id')!r} vs {fid!r}")
            continue
        if len(a) != len(b) or not np.array_equal(a.numbers, b.numbers):
            out.mismatches.append(f"{fid}: species differ")
            continue
        if not np.array_equal(a.pbc, b.pbc):
            out.mismatches.append(f"{fid}: pbc differ")
        if a.info.keys() != b.info.keys() or a.arrays.keys() != b.arrays.keys():
            out.mismatches.append(f"{fid}: info keys or per-atom columns differ")
            continue
        d = a.positions - b.positions
        if b.cell.rank == 3 and b.pbc.any():
            frac = np.linalg.solve(np.asarray(b.cell).T, d.T).T
            frac[:, b.pbc] -= np.round(frac[:, b.pbc])
            d = frac @ np.asarray(b.cell)
        out._record((group, "positions"), np.linalg.norm(d, axis=1).max(initial=0.0), fid)
        if b.cell.rank or a.cell.rank:
            out._record((group, "cell"), np.abs(np.asarray(a.cell) - np.asarray(b.cell)).max(), fid)
        for name in b.arrays:
            if name in ("numbers", "positions"):
                continue
            x, y = np.asarray(a.arrays[name]), np.asarray(b.arrays[name])
            if _float_like(y) or _float_like(x):
                out._record((group, name), np.abs(x.astype(float) - y.astype(float)).max(
                    initial=0.0), fid)
            elif not np.array_equal(x, y):
                out.mismatches.append(f"{fid}: column {name!r} differs")
        for key, y in b.info.items():
            x = a.info[key]
            if key == "chgnet_energy":
                out._record((group, key), abs(float(x) - float(y)) / max(len(b), 1), fid)
            elif _float_like(y) or _float_like(x):
                out._record((group, key), float(np.abs(np.asarray(x, float)
                                                       - np.asarray(y, float)).max()), fid)
            elif not np.array_equal(np.asarray(x), np.asarray(y)):
                out.mismatches.append(f"{fid}: {key} {x!r} vs {y!r}")
    return out
