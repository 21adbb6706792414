"""ProstT5 (Heinzinger et al., NAR Genom. Bioinform. 6, lqae150 (2024)): the ProtT5 protein
language model fine-tuned to translate between amino-acid sequences and Foldseek 3Di
structure tokens (``transformers`` + ``sentencepiece``; weights downloaded by the user).

Registered: ``prostt5`` (encoder only, reading amino-acid sequences). Download the folder
https://huggingface.co/Rostlab/ProstT5 (``huggingface-cli download Rostlab/ProstT5
--local-dir data/weights/prostt5/ProstT5``).

Hook: ``T5EncoderModel(input_ids, output_hidden_states=True).hidden_states`` for the input
``"<AA2fold> M K T …"`` (the model's amino-acid prefix, residues space separated, rare
residues U Z O B mapped to X, as in the authors' example); rows are residues (the prefix
and ``</s>`` dropped). Layers ``embedding``, ``layer1`` … ``layer24``, ``last``.

Untested here (transformers absent from the default environment): ``tested_here=False``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from matteralign.models._weights import DownloadedModel, WeightsSpec, _text, register_downloaded
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "ProstT5Adapter", "prostt5_input", "register"]

N_LAYERS = 24
MODELS = {"prostt5": "ProstT5"}


def prostt5_input(sequence: str) -> str:
    """The encoder input for an amino-acid sequence.

    >>> prostt5_input("mkUa")
    '<AA2fold> M K X A'
    """
    return "<AA2fold> " + " ".join(re.sub(r"[UZOB]", "X", sequence.upper()))


def spec(name: str = "prostt5") -> WeightsSpec:
    return WeightsSpec(
        "ProstT5", "prostt5", "ProstT5", "https://huggingface.co/Rostlab/ProstT5",
        note="(a folder: huggingface-cli download Rostlab/ProstT5 --local-dir <that path>)",
    )


def info(name: str = "prostt5") -> ModelInfo:
    layers = ("embedding",) + tuple(f"layer{i}" for i in range(1, N_LAYERS + 1)) + ("last",)
    return ModelInfo(
        name=name, modality="protein", family="ProtT5", architecture="transformer",
        training_data="BFD + UniRef50 (ProtT5), fine-tuned on 17M AlphaFoldDB 3Di/AA pairs",
        n_params=None, performance={},
        reference="Heinzinger et al., Bilingual language model for protein sequence and structure, NAR Genom. Bioinform. (2024)",
        package="transformers + sentencepiece (extra: prostt5)", input="sequence", layers=layers,
        random_weights=False, tested_here=False, version="Rostlab/ProstT5", granularity="token",
        rotation_invariant=True, domains=("proteins",),
        description="ProstT5 encoder: per-residue hidden states (1024 wide)",
    )


class ProstT5Adapter(DownloadedModel, ModelAdapter):
    """Per-residue encoder states of ProstT5."""

    module = "transformers"
    extra = "prostt5"

    def _load(self):
        from transformers import T5EncoderModel, T5Tokenizer

        tok = T5Tokenizer.from_pretrained(str(self.path), do_lower_case=False)
        return T5EncoderModel.from_pretrained(str(self.path)).eval(), tok

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_residues, 1024)`` per sample."""
        import torch

        layer = self.resolve_layer(layer)
        model, tok = self.model
        model = model.to(device)
        out = []
        for s in samples:
            seq = _text(s, "sequence")
            enc = tok(prostt5_input(seq), return_tensors="pt").to(device)
            with torch.no_grad():
                states = model(**enc, output_hidden_states=True).hidden_states
            k = {"embedding": 0, "last": len(states) - 1}.get(layer)
            k = int(layer.removeprefix("layer")) if k is None else k
            out.append(states[k][0, 1 : 1 + len(seq)].cpu().numpy())  # drop prefix and </s>
        return out


def register(registry: Any) -> None:
    """Register ProstT5."""
    register_downloaded(registry, info(), spec(), ProstT5Adapter, "transformers", "prostt5")
