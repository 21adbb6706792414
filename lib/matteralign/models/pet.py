"""PET-MAD (Mazitov et al., arXiv:2503.14118): the point-edge transformer trained on the
Massive Atomistic Diversity (MAD) set, through ``metatomic`` (weights downloaded by the
user; install ``pip install 'matteralign[pet]'``).

Registered: ``pet-mad``. Download ``pet-mad-v1.0.2.ckpt`` (or its exported ``.pt``) from
https://huggingface.co/lab-cosmo/pet-mad into ``data/weights/pet/``.

Hook: metatomic models expose the standard ``"features"`` output; the adapter asks for it
per atom, ``MetatomicCalculator(PATH).run_model(atoms, {"features": ModelOutput(per_atom=True)})``,
and returns its block values ``(n_atoms, D)`` (layer ``last``). PET is not equivariant by
construction (rotational augmentation): ``architecture="learned-symmetry"``.

Untested here (package absent from the default environment): ``tested_here=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matteralign.models._weights import DownloadedModel, WeightsSpec, _atoms, register_downloaded
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "PUBLISHED_LABELS", "PETAdapter", "register"]

FILE = "pet-mad-v1.0.2.pt"
MODELS = {"pet-mad": FILE}
PUBLISHED_LABELS = {"pet-mad:last": "PET-MAD"}


def spec(name: str = "pet-mad") -> WeightsSpec:
    return WeightsSpec(
        "PET-MAD", "pet", FILE, "https://huggingface.co/lab-cosmo/pet-mad",
        note="(export the .ckpt to a metatomic .pt with `mtt export` if only the .ckpt is given)",
    )


def info(name: str = "pet-mad") -> ModelInfo:
    return ModelInfo(
        name=name, modality="3d", family="PET-MAD", architecture="learned-symmetry",
        training_data="MAD + MC3D + MC2D + SHIFTML", n_params=3_258_420, performance={},
        reference="Mazitov et al., PET-MAD, a universal interatomic potential for advanced materials modeling, arXiv:2503.14118",
        package="metatomic (extra: pet)", input="atoms", layers=("last",), random_weights=False,
        tested_here=False, version=FILE, granularity="atom", rotation_invariant=False,
        domains=(), description="PET-MAD: metatomic 'features' output per atom",
    )


class PETAdapter(DownloadedModel, ModelAdapter):
    """Per-atom ``features`` output of the exported PET-MAD model."""

    module = "metatomic.torch.ase_calculator"
    extra = "pet"

    def _load(self):
        from metatomic.torch.ase_calculator import MetatomicCalculator

        return MetatomicCalculator(str(self.path), device="cpu")

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_atoms, D)`` per sample."""
        from metatomic.torch import ModelOutput

        self.resolve_layer(layer)
        out = []
        for s in samples:
            result = self.model.run_model(_atoms(s), {"features": ModelOutput(per_atom=True)})
            out.append(result["features"].block().values.detach().cpu().numpy())
        return out


def register(registry: Any) -> None:
    """Register PET-MAD."""
    register_downloaded(registry, info(), spec(), PETAdapter, "metatomic", "pet")
