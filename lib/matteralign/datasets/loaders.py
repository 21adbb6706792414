"""Loaders for the study's real data in their released formats.

Each ``from_*`` function reads files the user downloaded and returns a
:class:`~matteralign.datasets.base.Dataset` with stable ids (derived from the source's own
ids where it has them, else from file names and record positions). A missing file raises
:class:`~matteralign.errors.MissingDataError` naming it and what was expected; an
unreadable file raises :class:`~matteralign.errors.CorruptFileError`; a bad record raises
``CorruptFileError`` naming its index: records are never silently skipped.

==========================  ===========================================================
loader                      format
==========================  ===========================================================
:func:`from_ase_db`         ASE database (sqlite ``.db`` or ASE ``.json``)
:func:`from_aselmdb`        fairchem's ``.aselmdb`` (OMat24, sAlex, OMol25 releases);
                            needs ``lmdb`` (``pip install matteralign[data]``)
:func:`from_mptrj_json`     MPtrj ``MPtrj_2022.9_full.json``: {mp_id: {frame_id: {...}}}
:func:`from_alexandria_json`  Alexandria ``alexandria_*.json(.bz2)``: ComputedStructureEntries
:func:`from_folder`         folder of CIF / extxyz / xyz / POSCAR / vasp files, or one
:func:`from_smiles_csv`     CSV with a SMILES column (and optional id column)
:func:`from_fasta`          FASTA protein sequences
:func:`from_pdb_folder`     folder of PDB / mmCIF protein structures
:func:`from_path`           dispatch on a path's suffix (``load("file:<path>")``)
==========================  ===========================================================
"""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import os
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from matteralign.datasets.base import Dataset, DatasetInfo, Sample
from matteralign.errors import CorruptFileError, MissingDataError, ValidationError

__all__ = [
    "from_ase_db",
    "from_aselmdb",
    "from_mptrj_json",
    "from_alexandria_json",
    "from_folder",
    "from_smiles_csv",
    "from_fasta",
    "from_pdb_folder",
    "from_path",
    "STRUCTURE_SUFFIXES",
]

STRUCTURE_SUFFIXES = (".cif", ".extxyz", ".xyz", ".vasp", ".poscar")
_STRUCTURE_NAMES = ("POSCAR", "CONTCAR")
_PROTEIN_SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif")


def _require(path: str | os.PathLike, what: str, folder: bool = False) -> Path:
    p = Path(path)
    if not p.exists():
        raise MissingDataError(f"{p} not found: expected {what}")
    if folder and not p.is_dir():
        raise ValidationError(f"{p} is not a folder: expected a folder of {what}")
    return p


def _info(name: str, domain: str, path: Path, representations: tuple[str, ...], **kw) -> DatasetInfo:
    return DatasetInfo(name=name, domain=domain, source=str(path), shipped=False,
                       representations=representations, version=kw.pop("version", "user"), **kw)


def _open_text(p: Path):
    if p.suffix == ".bz2":
        return bz2.open(p, "rt")
    if p.suffix == ".gz":
        return gzip.open(p, "rt")
    return open(p)


def _dft_labels(energy=None, forces=None, stress=None, n_atoms: int = 1, **extra) -> dict:
    labels: dict[str, Any] = {}
    if energy is not None:
        labels["energy"] = float(energy)
        labels["energy_per_atom"] = float(energy) / max(n_atoms, 1)
    if forces is not None:
        labels["forces"] = np.asarray(forces, dtype=float)
    if stress is not None:
        labels["stress"] = np.asarray(stress, dtype=float)
    labels.update({k: v for k, v in extra.items() if v is not None})
    return labels


# ---------------------------------------------------------------- ASE databases


def _row_sample(prefix: str, row, id_key: str | None) -> Sample:
    atoms = row.toatoms()
    atoms.calc = None
    kvp = dict(row.key_value_pairs)
    data = dict(row.get("data", {}) or {})
    key = id_key or next((k for k in ("sid", "source_id", "id_str") if k in kvp or k in data), None)
    own = kvp.get(key, data.get(key)) if key else None
    sid = f"{prefix}:{own if own is not None else row.id}"
    labels = _dft_labels(row.get("energy"), row.get("forces"), row.get("stress"), len(atoms),
                         **kvp)
    return Sample(id=sid, atoms=atoms, labels=labels)


def from_ase_db(path: str | os.PathLike, name: str | None = None, id_key: str | None = None,
                domain: str = "materials") -> Dataset:
    """An ASE database (``ase.db``: sqlite ``.db`` or ``.json``) as a Dataset.

    Ids: ``<name>:<row[id_key]>`` when ``id_key`` (or ``sid``/``source_id``) is stored in
    the row's key-value pairs or data, else ``<name>:<row id>``. Labels: ``energy``,
    ``energy_per_atom``, ``forces``, ``stress`` when stored, plus key-value pairs.
    O(rows); rows are read when the dataset is first used.
    """
    p = _require(path, "an ASE database file (.db or .json)")
    prefix = name or p.stem

    def rows() -> list[Sample]:
        import ase.db

        try:
            db = ase.db.connect(str(p))
            selection = list(db.select())
        except Exception as exc:
            raise CorruptFileError(f"{p} is not a readable ASE database ({exc})") from exc
        out = []
        for index, row in enumerate(selection):
            try:
                out.append(_row_sample(prefix, row, id_key))
            except Exception as exc:
                raise CorruptFileError(f"{p}: row {index} (id {row.id}) is corrupt ({exc})") from exc
        return out

    return Dataset(_info(prefix, domain, p, ("atoms",)), rows)


def _aselmdb_files(p: Path) -> list[Path]:
    if p.is_dir():
        files = sorted(p.glob("*.aselmdb"))
        if not files:
            raise MissingDataError(f"{p} holds no *.aselmdb files: expected fairchem's "
                                   "OMat24/sAlex/OMol25 release files")
        return files
    return [p]


def from_aselmdb(path: str | os.PathLike, name: str | None = None, domain: str = "materials",
                 limit: int | None = None) -> Dataset:
    """fairchem's ``.aselmdb`` files (OMat24, sAlex, OMol25 as released), one file or a
    folder of them, read without fairchem.

    Format (fairchem ``LMDBDatabase``): an LMDB environment in a single file
    (``subdir=False``); keys are ASCII row ids ``"1"``, ``"2"``, … plus reserved ``nextid``,
    ``deleted_ids`` and ``metadata``; each value is zlib-compressed JSON of an ASE
    ``AtomsRow`` dict (``numbers``, ``positions``, ``cell``, ``pbc``, ``energy``,
    ``forces``, ``stress``, ``key_value_pairs``, ``data``), decoded with
    :func:`ase.io.jsonio.decode`. Tested here on files written in that convention, not on
    the released files (not downloadable on the test machine).

    Ids: ``<name>:<file stem>:<sid>`` when the row stores ``sid`` (OMat24/OMol25 do), else
    ``<name>:<file stem>:<row id>``. ``limit`` caps rows read per file.
    """
    try:
        import lmdb
    except ImportError as exc:
        raise MissingDataError("reading .aselmdb needs the 'lmdb' package: "
                               "pip install 'matteralign[data]' (or pip install lmdb)") from exc
    from ase.db.row import AtomsRow
    from ase.io.jsonio import decode

    root = _require(path, "an .aselmdb file or a folder of them (fairchem release format)")
    prefix = name or root.stem

    def rows() -> list[Sample]:
        out = []
        for f in _aselmdb_files(root):
            try:
                env = lmdb.open(str(f), subdir=False, readonly=True, lock=False)
            except lmdb.Error as exc:
                raise CorruptFileError(f"{f} is not an LMDB file ({exc})") from exc
            with env, env.begin() as txn:
                raw = txn.get(b"nextid")
                nextid = int(decode(zlib.decompress(raw).decode())) if raw else 1
                raw = txn.get(b"deleted_ids")
                deleted = set(decode(zlib.decompress(raw).decode())) if raw else set()
                ids = [i for i in range(1, nextid) if i not in deleted][:limit]
                for index, rid in enumerate(ids):
                    try:
                        raw = txn.get(str(rid).encode("ascii"))
                        if raw is None:
                            raise KeyError(f"row id {rid} missing")
                        dct = decode(zlib.decompress(raw).decode())
                        for k in ("forces", "stress", "positions", "cell", "numbers"):
                            if isinstance(dct.get(k), list):
                                dct[k] = np.array(dct[k])
                        dct["id"] = rid
                        out.append(_row_sample(f"{prefix}:{f.stem}", AtomsRow(dct), None))
                    except Exception as exc:
                        raise CorruptFileError(f"{f}: record {index} (row id {rid}) is corrupt "
                                               f"({type(exc).__name__}: {exc})") from exc
        return out

    return Dataset(_info(prefix, domain, root, ("atoms",)), rows)


# ---------------------------------------------------------------- Materials Project style JSON


def _load_json(p: Path, what: str):
    try:
        with _open_text(p) as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise CorruptFileError(f"{p} is not valid JSON ({exc}): expected {what}") from exc


def from_mptrj_json(path: str | os.PathLike, name: str = "mptrj") -> Dataset:
    """The MPtrj dataset (Deng et al. 2023) in its released JSON form
    ``{mp_id: {frame_id: {"structure": <pymatgen Structure dict>, "uncorrected_total_energy",
    "corrected_total_energy", "energy_per_atom", "force", "stress", "magmom", ...}}}``.

    Ids ``<name>:<frame_id>`` (e.g. ``mptrj:mp-1005792-0-2``). Labels: ``energy`` (eV,
    ``uncorrected_total_energy``, the DFT value), ``corrected_energy``, ``energy_per_atom``,
    ``forces`` (eV/Å), ``stress`` (kBar, as MPtrj stores it, ``stress_unit``), ``magmom``,
    ``mp_id``. O(frames); the whole file is parsed at first use (MPtrj is ~11 GB: use a
    machine with memory to match, or split it).
    """
    p = _require(path, "MPtrj JSON ({mp_id: {frame_id: {structure, ...}}})")

    def rows() -> list[Sample]:
        from pymatgen.core import Structure
        from pymatgen.io.ase import AseAtomsAdaptor

        data = _load_json(p, "MPtrj JSON")
        if not isinstance(data, dict):
            raise CorruptFileError(f"{p}: top level must be an object of mp-ids")
        out, index = [], 0
        for mp_id, frames in data.items():
            for frame_id, rec in (frames or {}).items():
                try:
                    atoms = AseAtomsAdaptor.get_atoms(Structure.from_dict(rec["structure"]))
                    energy = rec.get("uncorrected_total_energy")
                    labels = _dft_labels(energy, rec.get("force"), rec.get("stress"), len(atoms),
                                         corrected_energy=rec.get("corrected_total_energy"),
                                         magmom=rec.get("magmom"), mp_id=mp_id,
                                         stress_unit="kBar")
                    if energy is None and rec.get("energy_per_atom") is not None:
                        labels["energy_per_atom"] = float(rec["energy_per_atom"])
                    atoms.calc = None
                    atoms.info = {}
                    out.append(Sample(id=f"{name}:{frame_id}", atoms=atoms, labels=labels))
                except Exception as exc:
                    raise CorruptFileError(f"{p}: record {index} ({mp_id}/{frame_id}) is corrupt "
                                           f"({type(exc).__name__}: {exc})") from exc
                index += 1
        return out

    return Dataset(_info(name, "materials", p, ("atoms",), licence="CC-BY-4.0"), rows)


def from_alexandria_json(path: str | os.PathLike, name: str = "alexandria") -> Dataset:
    """Alexandria (Schmidt et al.) in its released JSON form (``alexandria_000.json.bz2``
    …): ``{"entries": [<pymatgen ComputedStructureEntry dict>, ...]}``.

    Ids ``<name>:<entry_id>`` (``agm…``). Labels: ``energy`` (eV, the entry's energy),
    ``energy_per_atom``, and ``e_form``, ``e_above_hull``, ``band_gap_ind`` where present
    in ``data``. Also accepts a plain list of entries.
    """
    p = _require(path, "Alexandria JSON ({'entries': [ComputedStructureEntry, ...]})")

    def rows() -> list[Sample]:
        from pymatgen.core import Structure
        from pymatgen.io.ase import AseAtomsAdaptor

        data = _load_json(p, "Alexandria JSON")
        entries = data.get("entries") if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise CorruptFileError(f"{p}: expected an 'entries' list of ComputedStructureEntry")
        out = []
        for index, e in enumerate(entries):
            try:
                atoms = AseAtomsAdaptor.get_atoms(Structure.from_dict(e["structure"]))
                atoms.calc = None
                atoms.info = {}
                extra = {k: e.get("data", {}).get(k) for k in ("e_form", "e_above_hull",
                                                             "band_gap_ind")}
                labels = _dft_labels(e.get("energy"), None, None, len(atoms), **extra)
                own = e.get("entry_id") or e.get("data", {}).get("mat_id") or index
                out.append(Sample(id=f"{name}:{own}", atoms=atoms, labels=labels))
            except Exception as exc:
                raise CorruptFileError(f"{p}: record {index} is corrupt "
                                       f"({type(exc).__name__}: {exc})") from exc
        return out

    return Dataset(_info(name, "materials", p, ("atoms",), licence="CC-BY-4.0"), rows)


# ---------------------------------------------------------------- folders of structure files


def _is_structure_file(f: Path) -> bool:
    return f.is_file() and (f.suffix.lower() in STRUCTURE_SUFFIXES or f.name in _STRUCTURE_NAMES
                            or f.name.endswith(".xyz.xz") or f.name.endswith(".extxyz.gz"))


def _structure_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if _is_structure_file(f))


def _read_frames(f: Path) -> list:
    """Every frame of one structure file (CorruptFileError naming it when unreadable)."""
    from ase.io import read

    try:
        if f.name.endswith(".xz") or f.name.endswith(".gz"):
            from matteralign.datasets._store import read_structures

            frames = read_structures(f)
        else:
            fmt = "vasp" if (f.name in _STRUCTURE_NAMES or f.suffix.lower()
                             in (".vasp", ".poscar")) else None
            frames = read(str(f), index=":", format=fmt)
    except CorruptFileError:
        raise
    except Exception as exc:
        raise CorruptFileError(f"{f} cannot be read as a structure file "
                               f"({type(exc).__name__}: {exc})") from exc
    if not frames or any(len(a) == 0 for a in frames):
        raise CorruptFileError(f"{f} holds no atoms: expected a structure file")
    return frames


def _frame_labels(atoms) -> dict:
    labels = {}
    if atoms.calc is not None:
        res = atoms.calc.results
        labels = _dft_labels(res.get("energy"), res.get("forces"), res.get("stress"), len(atoms))
        atoms.calc = None
    elif "energy" in atoms.info:
        labels = _dft_labels(atoms.info["energy"], atoms.arrays.get("forces"),
                             atoms.info.get("stress"), len(atoms))
    return labels


def _structure_samples(files: list[Path], prefix: str, single_file: bool) -> list[Sample]:
    out: list[Sample] = []
    where: dict[str, str] = {}  # id -> "file frame k", to name both places of a duplicate
    for f in files:
        stem = f.name.split(".")[0] if f.name not in _STRUCTURE_NAMES else f.name
        frames = _read_frames(f)
        for k, atoms in enumerate(frames):
            own = atoms.info.get("id")
            if own is not None and str(own).strip():
                sid = f"{prefix}:{str(own).strip()}"
            elif single_file:
                sid = f"{prefix}:{k}"
            else:
                sid = f"{prefix}:{stem}" if len(frames) == 1 else f"{prefix}:{stem}:{k}"
            here = f"{f} frame {k}"
            if sid in where:
                raise ValidationError(f"sample id {sid!r} occurs twice ({where[sid]} and {here}): "
                                      "ids stored in the files (atoms.info['id']) must be unique")
            where[sid] = here
            out.append(Sample(id=sid, atoms=atoms, labels=_frame_labels(atoms)))
    return out


def from_folder(path: str | os.PathLike, name: str | None = None,
                domain: str = "materials") -> Dataset:
    """Every CIF / extxyz / xyz / POSCAR / ``.vasp`` file in a folder (not recursive),
    in sorted file-name order; or one such file.

    Ids: the id stored with a frame (extxyz ``id=...``, i.e. ``atoms.info["id"]``) as
    ``<name>:<stored id>`` where there is one (they must be unique: a repeated one raises
    ValidationError naming both frames); otherwise, in a folder, ``<name>:<file stem>`` for
    one-structure files and ``<name>:<file stem>:<frame>`` for multi-frame files, and for a
    single file ``<name>:<frame>``. ``name`` defaults to the folder's name or the file's
    stem. Energies, forces and stresses stored in the files become labels.
    """
    root = _require(path, "a folder of CIF / extxyz / POSCAR files, or one such file")
    if root.is_file() and not _is_structure_file(root):
        raise ValidationError(f"{root} is not a structure file: expected "
                              f"{', '.join(STRUCTURE_SUFFIXES)} or POSCAR, or a folder of them")
    single = root.is_file()
    prefix = name or (root.name.split(".")[0] if single and root.name not in _STRUCTURE_NAMES
                      else root.name)

    def rows() -> list[Sample]:
        files = [root] if single else _structure_files(root)
        if not files:
            raise MissingDataError(f"{root} holds no structure files (expected "
                                   f"{', '.join(STRUCTURE_SUFFIXES)} or POSCAR)")
        return _structure_samples(files, prefix, single)

    return Dataset(_info(prefix, domain, root, ("atoms",)), rows)


# ---------------------------------------------------------------- SMILES, sequences, proteins


def from_smiles_csv(path: str | os.PathLike, name: str | None = None,
                    smiles_column: str | None = None, id_column: str | None = None,
                    domain: str = "molecules") -> Dataset:
    """A CSV file with a SMILES column (found by name, case-insensitive ``smiles``, unless
    given) and an optional id column; other numeric columns become labels.

    Ids: ``<name>:<id column value>`` or ``<name>:<row number, 1-based, 6 digits>``. Each
    SMILES is parsed by RDKit; an unparseable one raises naming its row. No 3D structure
    is made (``atoms`` is None): SMILES and graph models read ``smiles``.
    """
    p = _require(path, "a CSV file with a SMILES column")
    prefix = name or p.stem

    def rows() -> list[Sample]:
        from rdkit import Chem, RDLogger

        RDLogger.DisableLog("rdApp.*")
        try:
            with _open_text(p) as handle:
                reader = csv.DictReader(handle)
                header = reader.fieldnames or []
                records = list(reader)
        except (csv.Error, UnicodeDecodeError, OSError) as exc:
            raise CorruptFileError(f"{p} is not a readable CSV file ({exc})") from exc
        col = smiles_column or next((h for h in header if h.strip().lower() == "smiles"), None)
        if col is None or col not in header:
            raise CorruptFileError(f"{p}: no SMILES column (header: {header}); pass smiles_column=")
        if id_column is not None and id_column not in header:
            raise CorruptFileError(f"{p}: no column {id_column!r} (header: {header})")
        out = []
        for index, rec in enumerate(records):
            smi = (rec.get(col) or "").strip()
            if not smi or Chem.MolFromSmiles(smi) is None:
                raise CorruptFileError(f"{p}: record {index} (line {index + 2}) has an invalid "
                                       f"SMILES {smi!r}")
            labels = {}
            for k, v in rec.items():
                if k in (col, id_column) or v is None:
                    continue
                try:
                    labels[k] = float(v)
                except ValueError:
                    continue
            own = rec[id_column] if id_column else f"{index + 1:06d}"
            out.append(Sample(id=f"{prefix}:{own}", smiles=smi, labels=labels))
        return out

    return Dataset(_info(prefix, domain, p, ("smiles",)), rows)


_AA = set("ACDEFGHIKLMNPQRSTVWYBXZUO*-")


def from_fasta(path: str | os.PathLike, name: str | None = None) -> Dataset:
    """Protein sequences from a FASTA file.

    Ids: ``<name>:<first word of the header>`` (UniProt-style ``sp|P69905|HBA_HUMAN``
    becomes ``P69905``). A record with no sequence or with characters outside the
    amino-acid alphabet raises naming its index.
    """
    p = _require(path, "a FASTA file of protein sequences")
    prefix = name or p.stem

    def rows() -> list[Sample]:
        try:
            with _open_text(p) as handle:
                text = handle.read()
        except (UnicodeDecodeError, OSError) as exc:
            raise CorruptFileError(f"{p} is not a readable text file ({exc})") from exc
        if not text.lstrip().startswith(">"):
            raise CorruptFileError(f"{p} is not FASTA: the first non-blank line must start with '>'")
        out = []
        for index, block in enumerate(text.lstrip()[1:].split("\n>")):
            header, _, body = block.partition("\n")
            seq = "".join(body.split()).upper()
            word = header.split()[0] if header.split() else ""
            parts = word.split("|")
            own = parts[1] if len(parts) >= 3 else word
            if not own or not seq or set(seq) - _AA:
                bad = sorted(set(seq) - _AA)
                why = "no sequence" if not seq else ("no header" if not own else f"bad letters {bad}")
                raise CorruptFileError(f"{p}: record {index} ({header.strip()!r}) is corrupt: {why}")
            out.append(Sample(id=f"{prefix}:{own}", sequence=seq, labels={"header": header.strip()}))
        return out

    return Dataset(_info(prefix, "proteins", p, ("sequence",)), rows)


_THREE_TO_ONE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q", "GLU": "E",
    "GLY": "G", "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K", "MET": "M", "PHE": "F",
    "PRO": "P", "SER": "S", "THR": "T", "TRP": "W", "TYR": "Y", "VAL": "V", "SEC": "U",
    "PYL": "O", "MSE": "M",
}


def _pdb_atoms(f: Path):
    """ase.Atoms and the one-letter sequence of the first model's polymer residues."""
    from ase.io import read

    atoms = read(str(f), index=0, format="proteindatabank" if f.suffix.lower() in (".pdb", ".ent")
                 else None)
    seq = ""
    resnames = atoms.arrays.get("residuenames")
    resnums = atoms.arrays.get("residuenumbers")
    if resnames is not None and resnums is not None:
        last = None
        for rn, num in zip(resnames, resnums):
            if num != last:
                seq += _THREE_TO_ONE.get(str(rn).strip().upper(), "")
                last = num
    return atoms, seq


def from_pdb_folder(path: str | os.PathLike, name: str | None = None) -> Dataset:
    """Protein structures: every ``.pdb`` / ``.ent`` / ``.cif`` / ``.mmcif`` file in a
    folder (first model of each), with all atoms (hydrogens as present in the file) and
    the sequence of its residues.

    Ids: ``<name>:<file stem>``. mmCIF reading uses ase's CIF reader, which handles
    small-molecule style mmCIF only; convert large mmCIF files to PDB if it fails.
    """
    folder = _require(path, "a folder of PDB / mmCIF files", folder=True)
    prefix = name or folder.name

    def rows() -> list[Sample]:
        files = sorted(f for f in folder.iterdir()
                       if f.is_file() and f.suffix.lower() in _PROTEIN_SUFFIXES)
        if not files:
            raise MissingDataError(f"{folder} holds no protein files (expected .pdb, .ent, "
                                   ".cif or .mmcif)")
        out = []
        for f in files:
            try:
                atoms, seq = _pdb_atoms(f)
            except Exception as exc:
                raise CorruptFileError(f"{f} cannot be read as PDB/mmCIF "
                                       f"({type(exc).__name__}: {exc})") from exc
            if len(atoms) == 0:
                raise CorruptFileError(f"{f} holds no atoms")
            for k in [k for k in atoms.arrays if k not in ("numbers", "positions")]:
                del atoms.arrays[k]
            atoms.info = {}
            out.append(Sample(id=f"{prefix}:{f.stem}", atoms=atoms, sequence=seq or None))
        return out

    return Dataset(_info(prefix, "proteins", folder, ("atoms", "sequence")), rows)


# ---------------------------------------------------------------- dispatch

_SUFFIX_LOADERS: list[tuple[Callable[[Path], bool], Callable[..., Dataset]]] = [
    (lambda p: p.is_dir() and any(p.glob("*.aselmdb")), from_aselmdb),
    (lambda p: p.is_dir() and any(f.suffix.lower() in (".pdb", ".ent") for f in p.iterdir()),
     from_pdb_folder),
    (lambda p: p.is_dir(), from_folder),
    (lambda p: p.suffix == ".aselmdb", from_aselmdb),
    (lambda p: p.suffix == ".db", from_ase_db),
    (lambda p: p.suffix.lower() in (".fasta", ".fa", ".faa"), from_fasta),
    (lambda p: p.suffix.lower() == ".csv", from_smiles_csv),
    (_is_structure_file, from_folder),
]


def from_path(path: str | os.PathLike, **kwargs) -> Dataset:
    """Pick a loader from the path: a folder of ``.aselmdb`` / PDB / structure files, an
    ``.aselmdb``, an ASE ``.db``, a FASTA or SMILES CSV file, one structure file (CIF,
    extxyz, xyz, POSCAR, ``.vasp``; :func:`from_folder`), or an MPtrj or Alexandria JSON
    (told apart by their top-level keys).
    """
    p = _require(path, "a dataset file or folder")
    for test, loader in _SUFFIX_LOADERS:
        if test(p):
            return loader(p, **kwargs)
    if re.search(r"\.json(\.bz2|\.gz)?$", p.name):
        with _open_text(p) as handle:
            head = handle.read(4096)
        if '"entries"' in head:
            return from_alexandria_json(p, **kwargs)
        if re.match(r'\s*\{\s*"mp-', head):
            return from_mptrj_json(p, **kwargs)
        return from_ase_db(p, **kwargs)
    raise ValidationError(f"no loader for {p}: use a structure file ({', '.join(STRUCTURE_SUFFIXES)}, "
                          "POSCAR) or a folder of them, .aselmdb, .db, .json (MPtrj/Alexandria/ASE), "
                          ".csv (SMILES), .fasta, or a folder of PDB files")
