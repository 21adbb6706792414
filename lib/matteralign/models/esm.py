"""ESM2 and ESM-IF1 (``fair-esm``; weights downloaded by the user).

Registered: ``esm2-t6-8m``, ``esm2-t12-35m``, ``esm2-t30-150m``, ``esm2-t33-650m`` (Lin et
al., Science 379, 1123 (2023); UniRef50) — sequence models reading ``Sample.sequence`` —
and ``esm-if1`` (Hsu et al., ICML 2022; CATH + AlphaFold2-predicted UniRef50 structures), a
structure model reading backbone coordinates from the PDB/mmCIF file named in
``Sample.labels["structure_path"]`` (chain ``labels["chain"]``, default ``A``).

Hooks: ESM2 — ``model(tokens, repr_layers=[k])["representations"][k]``, ``(1, L+2, D)``,
without the BOS/EOS rows; layers ``layer0`` (embeddings) … ``layerN`` and ``last``.
ESM-IF1 — ``esm.inverse_folding.util.get_encoder_output(model, alphabet, coords)``, the
GVP-transformer encoder output ``(L, 512)`` (layer ``last``).

ESMC and ESM3 live in EvolutionaryScale's ``esm`` package, which installs under the same
import name as ``fair-esm``; they need their own environment and are not registered yet.
The checkpoints are untested here (package absent): ``tested_here=False``. The ESM2 hook is
tested on a tiny randomly initialised ``esm.model.esm2.ESM2`` (``tests/test_models_unavailable.py``;
runs when fair-esm is importable; passed with fair-esm 2.0.0 in a throw-away environment).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matteralign.errors import ValidationError
from matteralign.models._weights import DownloadedModel, WeightsSpec, _text, register_downloaded
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "ESMAdapter", "register"]

_FB = "https://dl.fbaipublicfiles.com/fair-esm/models/"
_REF2 = "Lin et al., Science 379, 1123 (2023)"
_REF_IF = "Hsu et al., Learning inverse folding from millions of predicted structures, ICML 2022"

# name: (file, n_layers, width, n_params, training data, reference)
MODELS: dict[str, tuple[str, int, int, int, str, str]] = {
    "esm2-t6-8m": ("esm2_t6_8M_UR50D.pt", 6, 320, 8_000_000, "UniRef50", _REF2),
    "esm2-t12-35m": ("esm2_t12_35M_UR50D.pt", 12, 480, 35_000_000, "UniRef50", _REF2),
    "esm2-t30-150m": ("esm2_t30_150M_UR50D.pt", 30, 640, 150_000_000, "UniRef50", _REF2),
    "esm2-t33-650m": ("esm2_t33_650M_UR50D.pt", 33, 1280, 650_000_000, "UniRef50", _REF2),
    "esm-if1": ("esm_if1_gvp4_t16_142M_UR50.pt", 0, 512, 142_000_000,
                "CATH 4.3 + 12M AlphaFold2-predicted UniRef50 structures", _REF_IF),
}


def spec(name: str) -> WeightsSpec:
    file = MODELS[name][0]
    note = ""
    if name.startswith("esm2"):
        note = (f"Also put {file.removesuffix('.pt')}-contact-regression.pt from "
                f"{_FB.replace('models/', 'regression/')} beside it.")
    return WeightsSpec(name.upper().replace("-T", " t"), "esm", file, _FB + file, note=note)


def info(name: str) -> ModelInfo:
    file, n_layers, width, n_params, data, ref = MODELS[name]
    seq = name.startswith("esm2")
    layers = tuple(f"layer{i}" for i in range(n_layers + 1)) + ("last",) if seq else ("last",)
    return ModelInfo(
        name=name, modality="protein", family="ESM", architecture="transformer" if seq else "gvp-transformer",
        training_data=data, n_params=n_params, performance={}, reference=ref,
        package="fair-esm (extra: esm)", input="sequence" if seq else "atoms", layers=layers,
        random_weights=False, tested_here=False, version=file, granularity="token",
        rotation_invariant=True, domains=("proteins",),
        description=f"{file.removesuffix('.pt')}: per-residue representations ({width} wide)",
    )


class ESMAdapter(DownloadedModel, ModelAdapter):
    """Per-residue representations of ESM2 or the ESM-IF1 encoder."""

    module = "esm"
    extra = "esm"

    def _load(self):
        import esm

        model, alphabet = esm.pretrained.load_model_and_alphabet_local(str(self.path))
        return model.eval(), alphabet

    def check_sample(self, sample: Any) -> None:
        if self.info.name == "esm-if1":
            if "structure_path" not in getattr(sample, "labels", {}):
                raise ValidationError(f"sample {sample.id!r}: ESM-IF1 needs labels['structure_path'] (a PDB/mmCIF file)")
        else:
            sample.require("sequence")

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_residues, D)`` per sample; O(L² · layers)."""
        import torch

        layer = self.resolve_layer(layer)
        model, alphabet = self.model
        model = model.to(device)
        out = []
        if self.info.name == "esm-if1":
            from esm.inverse_folding.util import get_encoder_output, load_coords

            for s in samples:
                coords, _ = load_coords(s.labels["structure_path"], s.labels.get("chain", "A"))
                with torch.no_grad():
                    out.append(get_encoder_output(model, alphabet, coords).cpu().numpy())
            return out
        k = model.num_layers if layer == "last" else int(layer.removeprefix("layer"))
        convert = alphabet.get_batch_converter()
        for s in samples:
            _, _, tokens = convert([(getattr(s, "id", "x"), _text(s, "sequence"))])
            with torch.no_grad():
                rep = model(tokens.to(device), repr_layers=[k])["representations"][k]
            out.append(rep[0, 1:-1].cpu().numpy())  # drop BOS and EOS
        return out


def register(registry: Any) -> None:
    """Register the ESM2 sizes and ESM-IF1."""
    for name in MODELS:
        register_downloaded(registry, info(name), spec(name), ESMAdapter, "esm", "esm")
