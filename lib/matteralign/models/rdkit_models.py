"""Cheminformatics descriptors from RDKit as models: Morgan fingerprints and 2D descriptors.

Both describe a whole molecule (granularity ``"structure"``, pooling ``none``) and read the
sample's SMILES; a sample without SMILES but with finite 3D ``atoms`` is converted with
RDKit's ``rdDetermineBonds`` (Kim & Kim's xyz2mol, charge 0). Periodic crystals have no
molecular graph and are rejected with a ValidationError naming the sample.

* ``morgan``: Morgan/ECFP4 bit vector, radius 2, 2048 bits (Rogers & Hahn, J. Chem. Inf.
  Model. 50, 742, 2010), as 0/1 floats.
* ``rdkit-2d``: every descriptor of ``rdkit.Chem.Descriptors.descList`` except a fixed list
  of those that can be NaN or overflow for ordinary molecules (Gasteiger partial-charge
  statistics, BCUT2D, ``Ipc``), so the feature set is the same for every molecule and every
  run. Values are raw (not standardised): scale differs by orders of magnitude between
  descriptors (molecular weight vs fractions), which dominates cosine/L2 geometry — z-score
  them over a dataset before use if that is not what you want.

Examples
--------
>>> from matteralign.datasets.base import Sample
>>> fp = MorganModel().atom_features([Sample("ethanol", smiles="CCO")])[0]
>>> fp.shape, int(fp.sum())
((1, 2048), 6)
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from matteralign.errors import ValidationError
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MorganModel", "RDKit2DModel", "EXCLUDED_2D", "mol_from_sample", "register"]

# Descriptors that are NaN for atoms without Gasteiger parameters, or overflow (Ipc).
EXCLUDED_2D_PREFIXES = ("BCUT2D_",)
EXCLUDED_2D = ("MaxPartialCharge", "MinPartialCharge", "MaxAbsPartialCharge",
               "MinAbsPartialCharge", "Ipc")


def _rdkit_version() -> str:
    from rdkit import rdBase

    return rdBase.rdkitVersion


def mol_from_sample(sample: Any):
    """An RDKit molecule from ``sample.smiles``, else from finite ``sample.atoms`` via
    ``rdDetermineBonds`` (charge 0). Raises ValidationError naming the sample."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    if sample.smiles:
        mol = Chem.MolFromSmiles(sample.smiles)
        if mol is None:
            raise ValidationError(f"sample {sample.id!r}: RDKit cannot parse SMILES {sample.smiles!r}")
        return mol
    atoms = sample.atoms
    if atoms is None:
        raise ValidationError(f"sample {sample.id!r} has neither 'smiles' nor 'atoms'")
    if np.any(atoms.pbc):
        raise ValidationError(
            f"sample {sample.id!r} is periodic and has no SMILES; RDKit descriptors need a molecule"
        )
    from rdkit.Chem import rdDetermineBonds

    lines = [str(len(atoms)), ""]
    lines += [f"{s} {x:.8f} {y:.8f} {z:.8f}" for s, (x, y, z) in
              zip(atoms.get_chemical_symbols(), atoms.positions, strict=True)]
    mol = Chem.MolFromXYZBlock("\n".join(lines) + "\n")
    try:
        rdDetermineBonds.DetermineBonds(mol, charge=0)
        Chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises ValueError/RuntimeError subclasses here
        raise ValidationError(
            f"sample {sample.id!r}: RDKit could not assign bonds from its 3D atoms ({exc}); give it a SMILES"
        ) from exc
    return Chem.RemoveHs(mol)


class _RDKitModel(ModelAdapter):
    default_batch_size = 256

    def check_sample(self, sample: Any) -> None:
        if not sample.smiles and sample.atoms is None:
            raise ValidationError(f"sample {sample.id!r} has neither 'smiles' nor 'atoms'")


_COMMON = dict(modality="descriptor", architecture="fixed-descriptor", training_data="",
               random_weights=False, package="rdkit", input="smiles", granularity="structure",
               domains=("molecules", "biomolecules"))


class MorganModel(_RDKitModel):
    """Morgan (ECFP-like) bit fingerprint, ``radius`` 2 and ``n_bits`` 2048 by default, as a
    ``(1, n_bits)`` 0/1 row per molecule. Cost O(atoms · radius) per molecule."""

    def __init__(self, radius: int = 2, n_bits: int = 2048, name: str = "morgan"):
        self.radius, self.n_bits = int(radius), int(n_bits)
        self.info = ModelInfo(
            name=name, family="Morgan fingerprint",
            version=f"rdkit{_rdkit_version()}-r{self.radius}-b{self.n_bits}",
            reference="Rogers & Hahn, J. Chem. Inf. Model. 50, 742 (2010); RDKit",
            description=f"Morgan fingerprint, radius {self.radius}, {self.n_bits} bits",
            **_COMMON,
        )

    @cached_property
    def _generator(self):
        from rdkit.Chem import rdFingerprintGenerator

        return rdFingerprintGenerator.GetMorganGenerator(radius=self.radius, fpSize=self.n_bits)

    def atom_features(self, samples, layer="last", device="cpu"):
        return [self._generator.GetFingerprintAsNumPy(mol_from_sample(s)).astype(np.float64)[None, :]
                for s in samples]

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_generator", None)
        return state


class RDKit2DModel(_RDKitModel):
    """RDKit 2D descriptors (``Descriptors.descList`` minus ``EXCLUDED_2D``), one row per
    molecule. A NaN or infinite value for a molecule raises a ValidationError naming the
    sample and the descriptor. Cost: a few ms per molecule."""

    def __init__(self, name: str = "rdkit-2d"):
        self.info = ModelInfo(
            name=name, family="RDKit descriptors",
            version=f"rdkit{_rdkit_version()}-n{len(self.descriptor_names)}",
            reference="RDKit: Open-source cheminformatics, https://www.rdkit.org (rdkit.Chem.Descriptors)",
            description=f"{len(self.descriptor_names)} RDKit 2D descriptors (raw values)",
            **_COMMON,
        )

    @property
    def descriptor_names(self) -> list[str]:
        return [n for n, _ in self._functions]

    @property
    def _functions(self):
        from rdkit.Chem import Descriptors

        return [(n, f) for n, f in Descriptors.descList
                if n not in EXCLUDED_2D and not n.startswith(EXCLUDED_2D_PREFIXES)]

    def atom_features(self, samples, layer="last", device="cpu"):
        funcs = self._functions
        out = []
        for s in samples:
            mol = mol_from_sample(s)
            row = np.array([float(f(mol)) for _, f in funcs])
            bad = np.flatnonzero(~np.isfinite(row))
            if bad.size:
                raise ValidationError(
                    f"sample {s.id!r}: RDKit descriptor {funcs[bad[0]][0]!r} is {row[bad[0]]}; "
                    "add it to EXCLUDED_2D or drop the sample"
                )
            out.append(row[None, :])
        return out


def register(registry) -> None:
    """Register ``morgan`` and ``rdkit-2d`` (called by the registry's discovery)."""
    registry.register(MorganModel().info, MorganModel)
    registry.register(RDKit2DModel().info, RDKit2DModel)
