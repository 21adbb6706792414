"""QM9 for the model ladders: targets, the fixed split and nested training subsets.

Molecules come from the project's ``qm9`` dataset (:mod:`matteralign.datasets.qm9`, the
CSVs shipped by ``qm9pack``), 130,831 molecules addressed by their row in
:func:`~matteralign.datasets.qm9.qm9_arrays` (id ``qm9:<index>``).

Split. One permutation of all rows under :data:`SPLIT_SEED`, the same for every rung and
every architecture: its first :data:`HELD_OUT` = 10,000 rows are the held-out test set, the
next :data:`VALIDATION` = 2,000 the validation set (early stopping), the remaining
:data:`POOL_SIZE` = 118,831 the training pool. A rung of size n and seed s trains on the
first n rows of the pool permuted under s, so within a seed the sets are nested
(500 ⊂ 2,000 ⊂ 8,000 ⊂ 32,000).

Targets (:data:`TARGETS`), from QM9's B3LYP/6-31G(2df,p) values:

* ``energy_per_atom`` — atomisation energy per atom (eV/atom),
  (U0 − Σ_a E_a) / n_atoms, with E_a the isolated-atom U0 of QM9's ``atomref`` table
  (Ramakrishnan et al., Sci. Data 1, 140022 (2014)); negative (bound molecules);
* ``gap`` — HOMO–LUMO gap (eV); ``homo``, ``lumo`` — orbital energies (eV).

Hartree → eV with ``ase.units.Hartree``.

>>> s = fixed_split()
>>> len(s.test), len(s.val), len(s.pool)
(10000, 2000, 118831)
>>> bool(set(train_rows(500, seed=0)) <= set(train_rows(2000, seed=0)))
True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from matteralign.errors import ValidationError

__all__ = ["SPLIT_SEED", "HELD_OUT", "VALIDATION", "POOL_SIZE", "TARGETS", "ATOM_REF_U0_HA",
           "Target", "Split", "fixed_split", "train_rows", "qm9", "target_values", "qm9_id"]

SPLIT_SEED = 13
HELD_OUT = 10_000
VALIDATION = 2_000
QM9_SIZE = 130_831
POOL_SIZE = QM9_SIZE - HELD_OUT - VALIDATION

# U0 (Ha) of the isolated atoms at B3LYP/6-31G(2df,p), QM9's atomref.txt.
ATOM_REF_U0_HA = {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730}


@dataclass(frozen=True)
class Target:
    """One regression target: its unit and a one-line definition."""

    name: str
    unit: str
    description: str


TARGETS = {
    "energy_per_atom": Target("energy_per_atom", "eV/atom",
                              "atomisation energy per atom, (U0 - sum of atomic U0) / n_atoms"),
    "gap": Target("gap", "eV", "HOMO-LUMO gap"),
    "homo": Target("homo", "eV", "HOMO energy"),
    "lumo": Target("lumo", "eV", "LUMO energy"),
}


@dataclass(frozen=True)
class Split:
    """Rows of :func:`qm9` in the held-out test set, the validation set and the pool."""

    test: np.ndarray
    val: np.ndarray
    pool: np.ndarray


@functools.lru_cache(maxsize=1)
def qm9() -> dict[str, np.ndarray]:
    """QM9's arrays (:func:`matteralign.datasets.qm9.qm9_arrays`), read once per process."""
    from matteralign.datasets.qm9 import qm9_arrays

    arrays = qm9_arrays()
    if len(arrays["index"]) != QM9_SIZE:
        raise ValidationError(f"QM9 has {len(arrays['index'])} molecules here; the ladder split "
                              f"expects {QM9_SIZE}")
    return arrays


def fixed_split() -> Split:
    """The split shared by every rung (module docstring); O(N)."""
    order = np.random.default_rng(SPLIT_SEED).permutation(QM9_SIZE)
    return Split(test=order[:HELD_OUT], val=order[HELD_OUT:HELD_OUT + VALIDATION],
                 pool=order[HELD_OUT + VALIDATION:])


def train_rows(size: int, seed: int) -> np.ndarray:
    """The training rows of a rung: the first ``size`` of the pool permuted under ``seed``."""
    pool = fixed_split().pool
    if not 1 <= size <= len(pool):
        raise ValidationError(f"train_size must lie in [1, {len(pool)}]; got {size}")
    return pool[np.random.default_rng(seed).permutation(len(pool))[:size]]


def target_values(rows: np.ndarray, targets: tuple[str, ...] | list[str]) -> np.ndarray:
    """``(len(rows), len(targets))`` float64 target values in the units of :data:`TARGETS`."""
    from ase.units import Hartree

    arr = qm9()
    names = arr["label_names"].tolist()
    rows = np.asarray(rows, dtype=np.int64)
    out = np.empty((len(rows), len(targets)))
    for j, t in enumerate(targets):
        if t == "energy_per_atom":
            lo, hi = arr["offsets"][rows], arr["offsets"][rows + 1]
            ref = np.zeros(len(arr["numbers"]))
            for z, e in ATOM_REF_U0_HA.items():
                ref[arr["numbers"] == z] = e
            cum = np.concatenate([[0.0], np.cumsum(ref)])
            u0 = arr["labels"][rows, names.index("u0")]
            out[:, j] = (u0 - (cum[hi] - cum[lo])) * Hartree / (hi - lo)
        elif t in ("gap", "homo", "lumo"):
            out[:, j] = arr["labels"][rows, names.index(t)] * Hartree
        else:
            raise ValidationError(f"unknown target {t!r}; choose from {', '.join(TARGETS)}")
    return out


def qm9_id(row: int) -> str:
    """The dataset id of a row, ``qm9:<6-digit index>``."""
    return f"qm9:{int(qm9()['index'][row]):06d}"


def molecule(row: int) -> tuple[str, np.ndarray, np.ndarray]:
    """``(smiles, atomic numbers (n,), positions (n, 3) Å)`` of one row."""
    arr = qm9()
    lo, hi = arr["offsets"][row], arr["offsets"][row + 1]
    return (str(arr["smiles"][row]), arr["numbers"][lo:hi].astype(np.int64),
            arr["positions"][lo:hi])
