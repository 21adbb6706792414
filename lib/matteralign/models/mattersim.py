"""MatterSim v1 (``mattersim``; weights downloaded by the user).

Registered: ``mattersim-v1-1m`` and ``mattersim-v1-5m`` (Yang et al., arXiv:2405.04967; an
M3GNet architecture trained on Microsoft's own ~17M DFT structures spanning 0–5000 K and
0–1000 GPa). The wheel fetches checkpoints at run time, which fails offline; download the
file and pass it (``--weights``) or put it in ``data/weights/mattersim/``.

Hook: the model is ``MatterSimCalculator(load_path=PATH).potential.model``, an ``M3Gnet``
whose ``forward`` runs ``atom_attr, edge_attr = conv(...)`` for each ``graph_conv`` block
and then ``self.final(atom_attr)``. Forward hooks on ``graph_conv[i]`` give ``block1`` …
``blockN`` (the atom half of each block's output); a forward pre-hook on ``final`` gives
``last`` — the ``(n_atoms, 128)`` features the energy readout reads. All are invariant.

Untested here (package absent from the default environment): ``tested_here=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matteralign.models._weights import DownloadedModel, WeightsSpec, _atoms, register_downloaded
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "MatterSimAdapter", "register"]

_URL = "https://github.com/microsoft/mattersim/raw/main/pretrained_models/"
_REF = "Yang et al., MatterSim: A Deep Learning Atomistic Model Across Elements, Temperatures and Pressures, arXiv:2405.04967"
N_BLOCKS = 4
MODELS = {
    "mattersim-v1-1m": "mattersim-v1.0.0-1M.pth",
    "mattersim-v1-5m": "mattersim-v1.0.0-5M.pth",
}
LAYERS = tuple(f"block{i}" for i in range(1, N_BLOCKS + 1)) + ("last",)


def spec(name: str) -> WeightsSpec:
    return WeightsSpec(f"MatterSim v1 {name[-2:].upper()}", "mattersim", MODELS[name], _URL + MODELS[name])


def info(name: str) -> ModelInfo:
    return ModelInfo(
        name=name, modality="3d", family="MatterSim", architecture="invariant",
        training_data="MatterSim DFT set (~17M structures, 0-5000 K, 0-1000 GPa)", n_params=None,
        performance={}, reference=_REF, package="mattersim (extra: mattersim)", input="atoms",
        layers=LAYERS, random_weights=False, tested_here=False, version=MODELS[name],
        granularity="atom", rotation_invariant=True, domains=("materials",),
        description=f"{spec(name).model}: M3GNet atom features before the energy readout",
    )


class MatterSimAdapter(DownloadedModel, ModelAdapter):
    """Atom features of a MatterSim checkpoint by hooks on its M3GNet blocks."""

    module = "mattersim.forcefield"
    extra = "mattersim"

    def _load(self):
        from mattersim.forcefield import MatterSimCalculator

        return MatterSimCalculator(load_path=str(self.path), device="cpu")

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_atoms, 128)`` per sample (one energy evaluation each)."""
        layer = self.resolve_layer(layer)
        calc = self.model
        net = calc.potential.model
        captured: list[Any] = []
        if layer == "last":
            handle = net.final.register_forward_pre_hook(lambda _m, args: captured.append(args[0]))
        else:
            block = net.graph_conv[int(layer.removeprefix("block")) - 1]
            handle = block.register_forward_hook(lambda _m, _i, out: captured.append(out[0]))
        out = []
        try:
            for s in samples:
                atoms = _atoms(s).copy()
                atoms.calc = calc
                captured.clear()
                atoms.get_potential_energy()
                out.append(captured[-1].detach().cpu().numpy())
        finally:
            handle.remove()
        return out


def register(registry: Any) -> None:
    """Register MatterSim v1 1M and 5M."""
    for name in MODELS:
        register_downloaded(registry, info(name), spec(name), MatterSimAdapter, "mattersim", "mattersim")
