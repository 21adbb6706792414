"""Real DFT-labelled crystals: MatterSim's benchmark sets (from the mattersim 1.2.3 sdist),
shipped xz-compressed in ``data/mattersim_benchmarks/`` (see ``PROVENANCE.md`` there).

============================  ======  ==================================================
name                          frames  what
============================  ======  ==================================================
``mptrj-random``              1000    random MPtrj frames (PBE/PBE+U; CC-BY-4.0)
``alexandria-random``         1000    random Alexandria frames (PBE; the stand-in for sAlex)
``mptrj-highest-stress``      1000    the MPtrj frames with the largest stress
``mpf-tp``                    1069    MatterSim's high temperature and pressure MD frames
``mpf-alkali-tp``             460     the same for alkali-metal compounds
``random-tp``                 693     random structures at high T/P
============================  ======  ==================================================

Ids are ``<name>:<the source's own id>`` (``mptrj_snapshot_id``, ``alexandria_id`` or
``internal_id``), unique within each file. Labels: ``energy`` (eV, total),
``energy_per_atom`` (eV/atom), ``forces`` ((n_atoms, 3) eV/Å), ``stress`` ((3, 3), in the
unit the file declares, ``stress_unit``: eV/Å³), ``source`` and ``source_id``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from matteralign.datasets._paths import data_dir
from matteralign.datasets._store import read_structures
from matteralign.datasets.base import Sample

__all__ = ["FILES", "IN_DISTRIBUTION", "OFF_EQUILIBRIUM", "mattersim_samples"]

FILES = {
    "mptrj-random": "mptrj-random-1k.xyz.xz",
    "alexandria-random": "alexandria-random-1k.xyz.xz",
    "mptrj-highest-stress": "mptrj-highest-stress-1k.xyz.xz",
    "mpf-tp": "mpf-TP.xyz.xz",
    "mpf-alkali-tp": "mpf-alkali-TP.xyz.xz",
    "random-tp": "random-TP.xyz.xz",
}
SIZES = {"mptrj-random": 1000, "alexandria-random": 1000, "mptrj-highest-stress": 1000,
         "mpf-tp": 1069, "mpf-alkali-tp": 460, "random-tp": 693}
IN_DISTRIBUTION = ("mptrj-random", "alexandria-random")
OFF_EQUILIBRIUM = ("mptrj-highest-stress", "mpf-tp", "mpf-alkali-tp", "random-tp")
_ID_KEYS = ("mptrj_snapshot_id", "alexandria_id", "internal_id")


@lru_cache(maxsize=8)
def _frames(name: str) -> tuple:
    path = data_dir() / "mattersim_benchmarks" / FILES[name]
    return tuple(read_structures(path, what=f"MatterSim benchmark set {name!r}"))


def _sample(name: str, index: int, atoms) -> Sample:
    from matteralign.errors import CorruptFileError

    info = atoms.info
    key = next((k for k in _ID_KEYS if k in info), None)
    if key is None or "energy" not in info or "forces" not in atoms.arrays:
        raise CorruptFileError(f"{FILES[name]}: frame {index} lacks an id, energy or forces")
    clean = atoms.copy()
    clean.info = {}
    for extra in list(clean.arrays):
        if extra not in ("numbers", "positions"):
            del clean.arrays[extra]
    energy = float(info["energy"])
    labels = {
        "energy": energy,
        "energy_per_atom": energy / len(atoms),
        "forces": np.asarray(atoms.arrays["forces"], dtype=float),
        "stress": np.asarray(info.get("stress", np.full((3, 3), np.nan)), dtype=float),
        "stress_unit": str(info.get("stress_unit", "eV/A^3")),
        "source": str(info.get("source", "")),
        "source_id": str(info[key]),
    }
    return Sample(id=f"{name}:{info[key]}", atoms=clean, labels=labels)


def mattersim_samples(name: str) -> list[Sample]:
    """All samples of one benchmark set, in file order (about 0.3 s per 1000 frames)."""
    return [_sample(name, i, a) for i, a in enumerate(_frames(name))]
