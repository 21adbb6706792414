"""QM9: 130,831 small organic molecules (C, H, N, O, F; up to 9 heavy atoms) with B3LYP/
6-31G(2df,p) geometries, SMILES and properties (Ramakrishnan, Dral, Rupp & von Lilienfeld,
"Quantum chemistry structures and properties of 134 kilo molecules", Sci. Data 1, 140022
(2014), CC0), read from the CSV files that the ``qm9pack`` package ships.

The first load parses the CSVs (≈ 20 s) into a compact cache ``<data>/cache/qm9-v1.npz``
(written atomically; about 70 MB); later loads read the cache (≈ 0.2 s) and build
:class:`ase.Atoms` only for the samples used. Ids are ``qm9:<index>`` with QM9's own 6-digit
index (1–133,885, with the 3,054 molecules that failed the original consistency check
absent), so ``qm9:000001`` is methane on every machine.

Labels per sample (QM9's units): ``mu`` (D), ``alpha`` (bohr³), ``homo``, ``lumo``, ``gap``
(Ha), ``r2`` (bohr²), ``zpve``, ``u0``, ``u298``, ``h298``, ``g298`` (Ha), ``cv``
(cal/mol/K), rotational constants ``rot_a``, ``rot_b``, ``rot_c`` (GHz).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from matteralign.datasets._paths import cache_dir
from matteralign.datasets.base import LazySamples, Sample
from matteralign.errors import CorruptFileError, MissingDataError
from matteralign.io import atomic_path

__all__ = ["LABELS", "qm9_csv_files", "qm9_arrays", "qm9_samples", "SIZE"]

SIZE = 130_831
CACHE_NAME = "qm9-v1.npz"
LABELS = {  # our label name -> qm9pack column
    "rot_a": "RotA_GHz", "rot_b": "RotB_GHz", "rot_c": "RotC_GHz", "mu": "Dipole_debye",
    "alpha": "Polarizability_bohr3", "homo": "HOMO_au", "lumo": "LUMO_au",
    "gap": "HOMO_LUMO_gap_au", "r2": "R2_bohr2", "zpve": "ZPVE_au",
    "u0": "InternalEnergy_0K_au", "u298": "InternalEnergy_298K_au",
    "h298": "Enthalphy_298K_au", "g298": "GibbsFreeEnergy_298K_au",
    "cv": "Heatcapacity_Cv_cal_mol_K",
}
_Z = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}


def qm9_csv_files() -> list[Path]:
    """The three CSV parts inside the installed ``qm9pack`` (found without importing it:
    its ``__init__`` needs ``pkg_resources``, which recent setuptools no longer has)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataError("QM9 needs the 'qm9pack' package, which ships the data: "
                               "pip install qm9pack")
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = [folder / f"qm9_part{i}.csv" for i in (1, 2, 3)]
    for f in files:
        if not f.exists():
            raise MissingDataError(f"{f} not found: expected QM9 CSV part from qm9pack; "
                                   "reinstall it with pip install --force-reinstall qm9pack")
    return files


def _parse_csvs() -> dict[str, np.ndarray]:
    import pandas as pd

    cols = ["Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang", *LABELS.values()]
    frames = []
    for f in qm9_csv_files():
        try:
            frames.append(pd.read_csv(f, usecols=cols))
        except (ValueError, pd.errors.ParserError) as exc:
            raise CorruptFileError(f"{f} is not a qm9pack CSV with columns {cols} ({exc})") from exc
    df = pd.concat(frames, ignore_index=True)
    counts = df["N_atoms"].to_numpy(np.int64)
    flat = ",".join(df["XYZ_Ang"]).replace("[", "").replace("]", "")
    positions = np.array(flat.split(","), dtype=np.float64).reshape(-1, 3)
    symbols = ",".join(df["Elements"]).replace("[", "").replace("]", "").replace("'", "")
    numbers = np.array([_Z[s] for s in symbols.split(",")], dtype=np.int8)
    if len(numbers) != counts.sum() or len(positions) != counts.sum():
        raise CorruptFileError(f"QM9 CSVs in {qm9_csv_files()[0].parent}: atom counts disagree "
                               "with the N_atoms column")
    return {
        "index": df["Index"].to_numpy(np.int64),
        "smiles": df["SMILES"].to_numpy(dtype=str),
        "offsets": np.concatenate([[0], np.cumsum(counts)]),
        "numbers": numbers,
        "positions": positions,
        "labels": df[list(LABELS.values())].to_numpy(np.float64),
        "label_names": np.array(list(LABELS)),
    }


def qm9_arrays(refresh: bool = False) -> dict[str, np.ndarray]:
    """All of QM9 as flat arrays (from the cache, building it on first use).

    Returns:
        ``index`` (N,), ``smiles`` (N,), ``offsets`` (N+1,) into ``numbers`` (A,) and
        ``positions`` (A, 3) in Å, ``labels`` (N, 15) named by ``label_names``;
        N = 130,831 and A = 2,359,210. Memory ≈ 80 MB.
    """
    path = cache_dir() / CACHE_NAME
    if path.exists() and not refresh:
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            if len(arrays["index"]) == SIZE:
                return arrays
        except Exception:  # a damaged cache is rebuilt, not trusted
            pass
    arrays = _parse_csvs()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        tmp.chmod(0o644)
    return arrays


def qm9_samples() -> LazySamples:
    """QM9 as lazily built samples (``atoms`` without a cell, ``smiles``, ``labels``)."""
    from ase import Atoms

    arr = qm9_arrays()
    ids = [f"qm9:{i:06d}" for i in arr["index"].tolist()]
    names = arr["label_names"].tolist()

    def make(i: int) -> Sample:
        lo, hi = arr["offsets"][i], arr["offsets"][i + 1]
        atoms = Atoms(numbers=arr["numbers"][lo:hi].astype(int), positions=arr["positions"][lo:hi])
        labels = dict(zip(names, arr["labels"][i].tolist()))
        return Sample(id=ids[i], atoms=atoms, smiles=str(arr["smiles"][i]), labels=labels)

    return LazySamples(ids, make)
