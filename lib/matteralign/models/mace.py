"""MACE-MP-0 and MACE-OFF23 (``mace-torch``; weights downloaded by the user).

Registered: ``mace-mp-0-small|medium|large`` (Batatia et al., arXiv:2401.00096; MPtrj) and
``mace-off23-small|medium|large`` (Kovács et al., arXiv:2312.15211; SPICE). Install with
``pip install 'matteralign[mace]'`` in a separate environment (mace-torch pins e3nn 0.4.4,
sevenn needs e3nn >= 0.5); put the checkpoint in ``data/weights/mace/`` or pass
``--weights PATH``.

Hook: ``MACECalculator.get_descriptors(atoms, invariants_only=..., num_layers=...)``, which
reads ``model(batch)["node_feats"]`` — the concatenated per-interaction node features — and,
for invariants, keeps the ``l = 0`` block of each interaction. Layers:

- ``interaction1``, ``interaction2``: the scalar features of one interaction layer;
- ``equivariant``: the full node features of all interactions (``invariants_only=False``;
  not rotation invariant) — the paper's "MACE … Equivariant" variant;
- ``invariant`` (= ``last``): the scalars of all interactions concatenated, MACE's standard
  descriptor — the paper's plain "MACE MP …" variant.

The checkpoints are untested here (the package is not in the default environment):
``tested_here=False``. The hook is tested on a tiny randomly initialised ``ScaleShiftMACE``
built from mace-torch's own classes (``tests/test_models_unavailable.py``; runs when
mace-torch is importable; passed with mace-torch 0.3.16 + e3nn 0.4.4 in a throw-away
environment — under torch >= 2.6, e3nn 0.4.4 needs ``torch.serialization.add_safe_globals([slice])``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matteralign.models._weights import (
    DownloadedModel,
    WeightsSpec,
    _atoms,
    register_downloaded,
)
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "PUBLISHED_LABELS", "MACEAdapter", "register"]

_MP = "https://github.com/ACEsuit/mace-mp/releases/download/mace_mp_0/"
_OFF = "https://github.com/ACEsuit/mace-off/raw/main/mace_off23/"
_REF_MP = "Batatia et al., A foundation model for atomistic materials chemistry, arXiv:2401.00096"
_REF_OFF = "Kovács et al., MACE-OFF23, arXiv:2312.15211"
_MBD = "Matbench Discovery, unique-prototypes test set (models/mace/mace-mp-0.yml)"

# name: (file, url base, training data, n_params from the published JSON, reference, domains)
MODELS: dict[str, tuple[str, str, str, int | None, str, tuple[str, ...]]] = {
    "mace-mp-0-small": ("2023-12-10-mace-128-L0_energy_epoch-249.model", _MP, "MPtrj", 3_847_696, _REF_MP, ("materials",)),
    "mace-mp-0-medium": ("2023-12-03-mace-128-L1_epoch-199.model", _MP, "MPtrj", 1_428_368, _REF_MP, ("materials",)),
    "mace-mp-0-large": ("2024-01-07-mace-128-L2_epoch-199.model", _MP, "MPtrj", 15_847_440, _REF_MP, ("materials",)),
    "mace-off23-small": ("MACE-OFF23_small.model", _OFF, "SPICE", 694_320, _REF_OFF, ("molecules",)),
    "mace-off23-medium": ("MACE-OFF23_medium.model", _OFF, "SPICE", 1_428_368, _REF_OFF, ("molecules",)),
    "mace-off23-large": ("MACE-OFF23_large.model", _OFF, "SPICE", 4_707_312, _REF_OFF, ("molecules",)),
}
LAYERS = ("interaction1", "interaction2", "equivariant", "invariant")

# our (name, layer) -> label in shared/reference/published_sqrtjsd_cknna_k25.json
PUBLISHED_LABELS: dict[str, str] = {
    "mace-mp-0-small:invariant": "mace_mp0_small_invariant",
    "mace-mp-0-small:equivariant": "MACE MP Small",  # published modelName mace_mp0_small_equivariant
    "mace-mp-0-medium:invariant": "MACE MP Medium",
    "mace-mp-0-medium:equivariant": "MACE MP Medium Equivariant",
    "mace-mp-0-large:invariant": "MACE MP Large",
    "mace-mp-0-large:equivariant": "MACE MP Large Equivariant",
    "mace-off23-small:invariant": "MACE OFF23 Small",
    "mace-off23-medium:invariant": "MACE OFF23 Medium",
    "mace-off23-large:invariant": "MACE OFF23 Large",
}


def spec(name: str) -> WeightsSpec:
    """Where the checkpoint of ``name`` comes from and goes."""
    file, base, *_ = MODELS[name]
    size = name.rsplit("-", 1)[1]
    label = ("MACE-MP-0 " if name.startswith("mace-mp") else "MACE-OFF23 ") + size
    return WeightsSpec(label, "mace", file, base + file)


def info(name: str) -> ModelInfo:
    """Registry metadata of ``name`` (parameter counts from the published JSON)."""
    _, _, data, n_params, ref, domains = MODELS[name]
    perf: dict[str, Any] = {}
    if name == "mace-mp-0-medium":
        perf = {"matbench_f1": 0.669, "matbench_energy_mae_ev_per_atom": 0.057, "source": _MBD}
    return ModelInfo(
        name=name, modality="3d", family="MACE", architecture="equivariant",
        training_data=data, n_params=n_params, performance=perf, reference=ref,
        package="mace-torch (extra: mace)", input="atoms", layers=LAYERS,
        random_weights=False, tested_here=False, version=MODELS[name][0],
        granularity="atom", rotation_invariant=True, domains=domains,
        description=f"{spec(name).model}; invariant descriptor by default, "
        "'equivariant' layer = full node features",
    )


class MACEAdapter(DownloadedModel, ModelAdapter):
    """Node features of a MACE checkpoint through ``MACECalculator.get_descriptors``."""

    module = "mace.calculators"
    extra = "mace"

    def _package(self):
        import torch

        # mace-torch pins e3nn 0.4.4, whose import torch.load()s a pickle holding ``slice``
        # objects: refused by torch >= 2.6's weights-only default unless allow-listed.
        if hasattr(torch.serialization, "add_safe_globals"):
            torch.serialization.add_safe_globals([slice])
        return super()._package()

    def _load(self):
        from mace.calculators import MACECalculator

        return MACECalculator(model_paths=str(self.path), device="cpu", default_dtype="float64")

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_atoms, D)`` features of ``layer`` per sample; O(n_atoms · neighbours)."""
        layer = self.resolve_layer(layer)
        calc = self.model
        out = []
        for s in samples:
            atoms = _atoms(s)
            if layer == "equivariant":
                f = calc.get_descriptors(atoms, invariants_only=False)
            elif layer == "invariant":
                f = calc.get_descriptors(atoms, invariants_only=True)
            else:
                k = int(layer[-1])
                upto = calc.get_descriptors(atoms, invariants_only=True, num_layers=k)
                prev = calc.get_descriptors(atoms, invariants_only=True, num_layers=k - 1) if k > 1 else None
                f = upto if prev is None else upto[:, prev.shape[1]:]
            out.append(np.asarray(f))
        return out


def register(registry: Any) -> None:
    """Register the six MACE checkpoints (available once their file is downloaded)."""
    for name in MODELS:
        register_downloaded(registry, info(name), spec(name), MACEAdapter, "mace", "mace")
