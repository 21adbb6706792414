"""Orb-v2 and Orb-v3 (``orb-models``; weights downloaded by the user).

Registered: ``orb-v2`` (Neumann et al., arXiv:2410.22570; MPtrj + Alexandria) and the eight
Orb-v3 models ``orb-v3-{conservative,direct}-{20,inf}-{omat,mpa}`` (Rhodes et al.,
arXiv:2504.06231): conservative or direct forces, 20 or unlimited neighbours, trained on
OMat24 or MPtrj + sAlex. Orb is not equivariant by construction (Orb-v3 learns it with an
equivariance regulariser): ``architecture="learned-symmetry"``.

Hook: the pretrained loader ``orb_models.forcefield.pretrained.<loader>(weights_path=PATH)``
builds the regressor; ``atomic_system.ase_atoms_to_atom_graphs(atoms, system_config)`` the
graph; the GNS backbone ``regressor.model(graph)`` returns ``{"node_features": (n_atoms,
256), ...}`` — the features the energy head reads (layer ``last``).

The checkpoints are untested here (package absent from the default environment):
``tested_here=False``. The hook is tested on a tiny randomly initialised
``orb_v3_direct_architecture`` (``tests/test_models_unavailable.py``; runs when orb-models
is importable; passed with orb-models 0.7.0 in a throw-away environment).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matteralign.models._weights import DownloadedModel, WeightsSpec, _atoms, register_downloaded
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "PUBLISHED_LABELS", "OrbAdapter", "register"]

_S3 = "https://orbitalmaterials-public-models.s3.us-west-1.amazonaws.com/forcefields/"
_REF2 = "Neumann et al., Orb: A Fast, Scalable Neural Network Potential, arXiv:2410.22570"
_REF3 = "Rhodes et al., Orb-v3: atomistic simulation at scale, arXiv:2504.06231"

# name: (checkpoint file, url, loader in orb_models.forcefield.pretrained, data, n_params)
MODELS: dict[str, tuple[str, str, str, str, int | None]] = {
    "orb-v2": ("orb-v2-20241011.ckpt", _S3 + "orb-v2-20241011.ckpt", "orb_v2", "MPtrj + sAlex", 25_161_727),
}
for _kind in ("conservative", "direct"):
    for _nb in ("20", "inf"):
        for _data in ("omat", "mpa"):
            _file = f"orb-v3-{_kind}-{_nb}-{_data}-20250404.ckpt"
            MODELS[f"orb-v3-{_kind}-{_nb}-{_data}"] = (
                _file, _S3 + "orb-v3/" + _file, f"orb_v3_{_kind}_{_nb}_{_data}",
                "OMat24" if _data == "omat" else "MPtrj + sAlex",
                25_510_582 if _kind == "conservative" else 25_644_479,
            )

PUBLISHED_LABELS: dict[str, str] = {"orb-v2:last": "Orb V2"} | {
    f"orb-v3-{k}-{n}-{d}:last": f"Orb V3 {d.upper() if d == 'mpa' else 'OMat'} {k.title()} {n.title()}"
    for k in ("conservative", "direct") for n in ("20", "inf") for d in ("omat", "mpa")
}


def spec(name: str) -> WeightsSpec:
    file, url, *_ = MODELS[name]
    return WeightsSpec(name.replace("orb", "Orb", 1), "orb", file, url)


def info(name: str) -> ModelInfo:
    file, _, _, data, n_params = MODELS[name]
    return ModelInfo(
        name=name, modality="3d", family="Orb", architecture="learned-symmetry",
        training_data=data, n_params=n_params, performance={},
        reference=_REF2 if name == "orb-v2" else _REF3, package="orb-models (extra: orb)",
        input="atoms", layers=("last",), random_weights=False, tested_here=False,
        version=file, granularity="atom", rotation_invariant=False, domains=("materials",),
        description=f"{spec(name).model}: GNS backbone node features",
    )


class OrbAdapter(DownloadedModel, ModelAdapter):
    """Backbone node features of an Orb checkpoint."""

    module = "orb_models.forcefield.pretrained"
    extra = "orb"

    def _load(self):
        from orb_models.forcefield import pretrained

        loader = getattr(pretrained, MODELS[self.info.name][2])
        return loader(weights_path=str(self.path), device="cpu").eval()

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_atoms, 256)`` backbone node features per sample."""
        import torch
        from orb_models.forcefield import atomic_system

        self.resolve_layer(layer)
        model = self.model.to(device)
        config = getattr(model, "system_config", None) or model._system_config
        out = []
        with torch.no_grad():
            for s in samples:
                graph = atomic_system.ase_atoms_to_atom_graphs(_atoms(s), config, device=device)
                feats = model.model(graph)["node_features"]
                out.append(feats.detach().cpu().numpy())
        return out


def register(registry: Any) -> None:
    """Register Orb-v2 and the eight Orb-v3 checkpoints."""
    for name in MODELS:
        register_downloaded(registry, info(name), spec(name), OrbAdapter, "orb_models", "orb")
