"""Large organic molecules and peptides with 3D conformers: the out-of-distribution set for
materials models (a stand-in for OMol25).

* ``nci-organics`` — the 4,999 NCI molecules shipped with RDKit
  (``RDConfig.RDDataDir/NCI/first_5K.smi``), ids ``nci:0001`` … (the line number in that
  file, which is also the file's own serial).
* ``peptides`` — linear peptides of seeded random sequences of the 20 standard amino acids,
  built by :func:`rdkit.Chem.MolFromSequence`, ids ``pep:<sequence>``.

Conformers: hydrogens added, ETKDGv3 (Riniker & Landrum 2015) with a fixed ``randomSeed``
and one thread (retried once from random coordinates), then MMFF94 relaxation (Halgren
1996; UFF where MMFF lacks parameters; the ETKDG geometry, flagged ``ff="none"``, where
neither applies). Molecules that cannot be parsed or embedded are returned as failures and
counted in the datasheet, never silently dropped. Work is split over processes with an
ordered map, so the result does not depend on the number of processes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = [
    "AMINO_ACIDS",
    "ConformerFailure",
    "conformer",
    "nci_smiles",
    "peptide_sequences",
    "generate_nci",
    "generate_peptides",
]

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
EMBED_SEED = 20251203  # the study's arXiv month; any fixed value would do
FF_MAX_ITERS = 1000


@dataclass(frozen=True)
class ConformerFailure:
    """A molecule that got no 3D structure, and why."""

    id: str
    smiles: str
    reason: str


def nci_smiles() -> list[tuple[str, str]]:
    """``(id, smiles)`` for every line of RDKit's ``NCI/first_5K.smi`` (4,999 entries).

    >>> nci_smiles()[0]
    ('nci:0001', 'CC1=CC(=O)C=CC1=O')
    """
    from rdkit import RDConfig

    path = os.path.join(RDConfig.RDDataDir, "NCI", "first_5K.smi")
    out = []
    with open(path) as handle:
        for line in handle:
            if line.strip():
                smiles, serial = line.split()[:2]
                out.append((f"nci:{int(serial):04d}", smiles))
    return out


def peptide_sequences(n: int, lengths: tuple[int, int] = (5, 20), seed: int = 0) -> list[str]:
    """``n`` distinct random sequences with lengths uniform in ``lengths`` (inclusive).

    Nested in ``n``: the first ``m`` of ``peptide_sequences(n)`` are ``peptide_sequences(m)``.

    >>> peptide_sequences(2, (5, 6), seed=0)
    ['PMGHAC', 'ETPWM']
    """
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        seq = "".join(AMINO_ACIDS[i] for i in rng.integers(0, len(AMINO_ACIDS), size=length))
        if seq not in seen:
            seen.add(seq)
            out.append(seq)
    return out


def conformer(mol, seed: int = EMBED_SEED):
    """Embed and relax one RDKit molecule (hydrogens are added).

    Args:
        mol: an RDKit ``Mol`` without explicit hydrogens.
        seed: ETKDG random seed.

    Returns:
        ``(numbers, positions, ff, converged)`` with ``positions`` (n_atoms, 3) in Å, ``ff``
        one of ``"MMFF94"``, ``"UFF"``, ``"none"``; or a ``str`` reason on failure.
        Cost: ETKDG plus at most ``FF_MAX_ITERS`` force-field steps, O(n_atoms²) each.
    """
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    params.numThreads = 1
    if AllChem.EmbedMolecule(mol, params) < 0:
        params.useRandomCoords = True
        if AllChem.EmbedMolecule(mol, params) < 0:
            return "ETKDG embedding failed (also from random coordinates)"
    ff, converged = "none", False
    if AllChem.MMFFHasAllMoleculeParams(mol):
        ff, converged = "MMFF94", AllChem.MMFFOptimizeMolecule(mol, maxIters=FF_MAX_ITERS) == 0
    elif AllChem.UFFHasAllMoleculeParams(mol):
        ff, converged = "UFF", AllChem.UFFOptimizeMolecule(mol, maxIters=FF_MAX_ITERS) == 0
    numbers = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=int)
    positions = np.asarray(mol.GetConformer().GetPositions(), dtype=float)
    return numbers, positions, ff, bool(converged)


def _one(task: tuple[str, str, str]):
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    sid, kind, text = task
    mol = Chem.MolFromSmiles(text) if kind == "smiles" else Chem.MolFromSequence(text)
    if mol is None:
        return f"RDKit cannot parse the {kind} {text!r}"
    try:
        result = conformer(mol)
    except RuntimeError as exc:  # RDKit invariant violations on odd inputs
        return "RDKit error: " + " ".join(str(exc).split()[:6])
    if isinstance(result, str):
        return result
    smiles = text if kind == "smiles" else Chem.MolToSmiles(mol)
    return (*result, smiles)


def _build(tasks: Sequence[tuple[str, str, str]], processes: int | None):
    from ase import Atoms

    processes = processes or min(2, os.cpu_count() or 1)
    if processes > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(processes) as pool:
            results = list(pool.map(_one, tasks, chunksize=4))
    else:
        results = [_one(t) for t in tasks]
    frames, failures = [], []
    for (sid, kind, text), res in zip(tasks, results):
        if isinstance(res, str):
            failures.append(ConformerFailure(sid, text, res))
            continue
        numbers, positions, ff, converged, smiles = res
        atoms = Atoms(numbers=numbers, positions=positions, pbc=False)
        atoms.info["id"] = sid
        atoms.info["smiles"] = smiles
        if kind == "sequence":
            atoms.info["sequence"] = text
        atoms.info["ff"] = ff
        atoms.info["ff_converged"] = converged
        frames.append(atoms)
    return frames, failures


def generate_nci(limit: int | None = None, processes: int | None = None):
    """3D conformers of the NCI set (the first ``limit`` molecules if given).

    Returns:
        ``(frames, failures)``: ase.Atoms (``pbc=False``, no cell; ``info`` holds ``id``,
        ``smiles``, ``ff``, ``ff_converged``) and :class:`ConformerFailure` records.
        About 0.03 s per molecule per core.
    """
    entries = nci_smiles()[:limit]
    return _build([(sid, "smiles", smi) for sid, smi in entries], processes)


def generate_peptides(n: int = 150, lengths: tuple[int, int] = (5, 20), seed: int = 0,
                      processes: int | None = None):
    """3D conformers of ``n`` peptides (see :func:`peptide_sequences`).

    Returns:
        ``(frames, failures)`` as :func:`generate_nci`; ``info`` also holds ``sequence``.
        From 0.2 s (5 residues) to several seconds (20 residues) per peptide per core.
    """
    seqs = peptide_sequences(n, lengths, seed)
    return _build([(f"pep:{s}", "sequence", s) for s in seqs], processes)
