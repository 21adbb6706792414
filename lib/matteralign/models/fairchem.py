"""UMA, eSEN, EquiformerV2 and EqV2-DeNS (``fairchem-core``; gated weights downloaded by
the user from Hugging Face).

Registered (names follow the checkpoint files, as in the paper's released results):
``uma-s-1p1``, ``uma-m-1p1`` (Wood et al., arXiv:2506.23971; OMat24 + OMol25 + OC20 + ODAC +
OMC), ``esen-30m-mptrj|omat|oam`` (Fu et al., arXiv:2502.12147), ``eqv2-{31m,86m,153m}-omat``,
``eqv2-{31m,86m,153m}-omat-mp-salex``, ``eqv2-31m-mp`` and ``eqv2-dens-{31m,86m,153m}-mp``
(Barroso-Luque et al., arXiv:2410.12771; Liao et al., DeNS, arXiv:2403.09549).

Hook: a forward hook on the model's ``backbone`` captures its output dict; its
``"node_embedding"`` holds the equivariant node features ``(n_atoms, (l_max+1)², C)`` (an
``SO3_Embedding`` with ``.embedding`` for EquiformerV2). Layer ``last`` keeps the ``l = 0``
row ``[:, 0, :]`` — the rotation-invariant channels the energy head reads; layer
``equivariant`` flattens all of them. UMA (fairchem-core >= 2) is loaded with
``fairchem.core.pretrained_mlip.load_predict_unit`` and evaluated on
``AtomicData.from_ase(atoms, task_name="omat")``; eSEN / EquiformerV2 (fairchem-core 1.x
checkpoints) with ``fairchem.core.OCPCalculator(checkpoint_path=PATH)``.

Untested here (fairchem-core is not installable offline; it pulls CUDA wheels):
``tested_here=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matteralign.models._weights import DownloadedModel, WeightsSpec, _atoms, register_downloaded
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "PUBLISHED_LABELS", "FairChemAdapter", "register"]

_UMA = "https://huggingface.co/facebook/UMA"
_OMAT = "https://huggingface.co/facebook/OMAT24"
_NOTE = "The repository is gated: accept the licence on Hugging Face first."
_REF_UMA = "Wood et al., UMA: A Family of Universal Models for Atoms, arXiv:2506.23971"
_REF_ESEN = "Fu et al., Learning smooth and expressive interatomic potentials, arXiv:2502.12147"
_REF_EQV2 = "Barroso-Luque et al., OMat24, arXiv:2410.12771 (EquiformerV2: Liao et al., arXiv:2306.12059)"
_REF_DENS = "Liao et al., Generalizing denoising to non-equilibrium structures (DeNS), arXiv:2403.09549"

# name: (file, repo url, family, training data, n_params (published JSON), published label)
MODELS: dict[str, tuple[str, str, str, str, int | None, str]] = {
    "uma-s-1p1": ("uma-s-1p1.pt", _UMA, "UMA", "OMat24 + OMol25 + OMC + ODAC + OC20", 146_566_817, "UMA Small"),
    "uma-m-1p1": ("uma-m-1p1.pt", _UMA, "UMA", "OMat24 + OMol25 + OMC + ODAC + OC20", 1_396_669_089, "UMA Medium"),
    "esen-30m-mptrj": ("esen_30m_mptrj.pt", _OMAT, "eSEN", "MPtrj", 30_086_018, "ESEN MP"),
    "esen-30m-omat": ("esen_30m_omat.pt", _OMAT, "eSEN", "OMat24", 30_161_410, "ESEN OMat"),
    "esen-30m-oam": ("esen_30m_oam.pt", _OMAT, "eSEN", "OMat24 + MPtrj + sAlex", 30_161_153, "ESEN OMPA"),
    "eqv2-31m-mp": ("eqV2_31M_mp.pt", _OMAT, "EquiformerV2", "MPtrj", 31_207_434, "EqV2 MP Small"),
}
for _size, _n, _word in (("31M", 31_207_434, "Small"), ("86M", 86_589_068, "Medium"), ("153M", 153_769_868, "Large")):
    MODELS[f"eqv2-{_size.lower()}-omat"] = (
        f"eqV2_{_size}_omat.pt", _OMAT, "EquiformerV2", "OMat24", _n, f"EqV2 OMat {_word}")
    MODELS[f"eqv2-{_size.lower()}-omat-mp-salex"] = (
        f"eqV2_{_size}_omat_mp_salex.pt", _OMAT, "EquiformerV2", "OMat24 + MPtrj + sAlex", _n,
        f"EqV2 OMPA {_word}")
for _size, _n, _word in (("31M", 34_339_083, "Small"), ("86M", 94_033_933, "Medium"), ("153M", 160_673_293, "Large")):
    MODELS[f"eqv2-dens-{_size.lower()}-mp"] = (
        f"eqV2_dens_{_size}_mp.pt", _OMAT, "EquiformerV2-DeNS", "MPtrj", _n, f"EqV2 Dens MP {_word}")

PUBLISHED_LABELS: dict[str, str] = {f"{k}:last": v[5] for k, v in MODELS.items()}
LAYERS = ("equivariant", "last")


def spec(name: str) -> WeightsSpec:
    file, url, *_ = MODELS[name]
    return WeightsSpec(MODELS[name][5], "fairchem", file, url, note=_NOTE)


def info(name: str) -> ModelInfo:
    file, _, family, data, n_params, label = MODELS[name]
    ref = {"UMA": _REF_UMA, "eSEN": _REF_ESEN, "EquiformerV2": _REF_EQV2}.get(family, _REF_DENS)
    return ModelInfo(
        name=name, modality="3d", family=family, architecture="equivariant",
        training_data=data, n_params=n_params, performance={}, reference=ref,
        package="fairchem-core (extra: fairchem)", input="atoms", layers=LAYERS,
        random_weights=False, tested_here=False, version=file, granularity="atom",
        rotation_invariant=True, domains=("materials",) if family != "UMA" else (),
        description=f"{label}: l=0 channels of the backbone node embedding",
    )


class FairChemAdapter(DownloadedModel, ModelAdapter):
    """Backbone node embeddings of a fairchem checkpoint (forward hook on ``backbone``)."""

    module = "fairchem.core"
    extra = "fairchem"

    def _load(self):
        if self.info.family == "UMA":
            from fairchem.core.pretrained_mlip import load_predict_unit

            return load_predict_unit(str(self.path), device="cpu")
        from fairchem.core import OCPCalculator

        return OCPCalculator(checkpoint_path=str(self.path), cpu=True)

    def _network(self):
        unit = self.model
        if self.info.family == "UMA":
            return unit.model.module if hasattr(unit.model, "module") else unit.model
        return unit.trainer.model.module if hasattr(unit.trainer.model, "module") else unit.trainer.model

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_atoms, C)`` (``last``) or ``(n_atoms, (l_max+1)²·C)`` (``equivariant``)."""
        layer = self.resolve_layer(layer)
        net = self._network()
        captured: list[Any] = []
        handle = net.backbone.register_forward_hook(lambda _m, _i, out: captured.append(out))
        out = []
        try:
            for s in samples:
                atoms = _atoms(s).copy()
                captured.clear()
                # no torch.no_grad(): conservative models (UMA, eSEN) take forces by autograd
                if self.info.family == "UMA":
                    from fairchem.core.datasets.atomic_data import (
                        AtomicData,
                        atomicdata_list_to_batch,
                    )

                    data = AtomicData.from_ase(atoms, task_name="omat")
                    self.model.predict(atomicdata_list_to_batch([data]))
                else:
                    atoms.calc = self.model
                    atoms.get_potential_energy()
                emb = captured[-1]["node_embedding"]
                emb = getattr(emb, "embedding", emb).detach()
                f = emb[:, 0, :] if layer == "last" else emb.reshape(emb.shape[0], -1)
                out.append(f.cpu().numpy())
        finally:
            handle.remove()
        return out


def register(registry: Any) -> None:
    """Register the UMA, eSEN, EquiformerV2 and EqV2-DeNS checkpoints."""
    for name in MODELS:
        register_downloaded(registry, info(name), spec(name), FairChemAdapter, "fairchem", "fairchem")
