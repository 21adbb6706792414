"""Chemical language models through Hugging Face ``transformers`` (weights downloaded by the
user): ChemBERTa (SMILES, RoBERTa), MolFormer (SMILES, linear-attention transformer) and
ChemGPT (SELFIES, GPT-Neo).

Registered: ``chemberta-77m-mtr`` (DeepChem/ChemBERTa-77M-MTR), ``molformer-xl``
(ibm/MoLFormer-XL-both-10pct, needs ``trust_remote_code``), ``chemgpt-4.7m``
(ncfrey/ChemGPT-4.7M; reads SELFIES, so the ``selfies`` package converts the SMILES).
A checkpoint is a folder (``config.json``, weights, tokenizer files): download it with
``huggingface-cli download <repo> --local-dir data/weights/transformers/<folder>``.

Hook: ``model(**tokens, output_hidden_states=True).hidden_states`` — the embedding output
and every transformer layer's output, each ``(1, n_tokens, hidden)``. Layers are
``embedding``, ``layer1`` … ``layerN`` and ``last`` (= the final layer); the rows are the
tokens without the special ones (``[CLS]``/``<s>``, ``[SEP]``/``</s>``, padding), found with
the tokenizer's ``special_tokens_mask``. Pooling over tokens is the shared one.

The hook was checked on a tiny randomly initialised ``RobertaModel`` built from
``transformers``' own classes in a throw-away environment (see
``tests/test_models_unavailable.py``, which runs it when ``transformers`` is importable);
it passed there with transformers 4.57.6. The real checkpoints are untested here:
``tested_here=False``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from matteralign.models._weights import DownloadedModel, WeightsSpec, _text, register_downloaded
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "HFChemAdapter", "hidden_state_rows", "register"]

# name: (HF repo, folder, n_layers, hidden, n_params (None: unknown), training data, reference, input)
MODELS: dict[str, tuple[str, str, int, int, int | None, str, str, str]] = {
    "chemberta-77m-mtr": (
        "DeepChem/ChemBERTa-77M-MTR", "ChemBERTa-77M-MTR", 3, 384, None, "PubChem 77M (SMILES)",
        "Ahmad et al., ChemBERTa-2, arXiv:2209.01712", "smiles"),
    "molformer-xl": (
        "ibm/MoLFormer-XL-both-10pct", "MoLFormer-XL-both-10pct", 12, 768, None,
        "ZINC + PubChem (10% subset, SMILES)", "Ross et al., Nat. Mach. Intell. 4, 1256 (2022)", "smiles"),
    "chemgpt-4.7m": (
        "ncfrey/ChemGPT-4.7M", "ChemGPT-4.7M", 24, 128, 4_700_000, "PubChem 10M (SELFIES)",
        "Frey et al., Nat. Mach. Intell. 5, 1297 (2023)", "smiles"),
}


def layers(n_layers: int) -> tuple[str, ...]:
    """``("embedding", "layer1", …, "layerN", "last")``."""
    return ("embedding",) + tuple(f"layer{i}" for i in range(1, n_layers + 1)) + ("last",)


def spec(name: str) -> WeightsSpec:
    repo, folder, *_ = MODELS[name]
    return WeightsSpec(
        repo.split("/")[1], "transformers", folder, f"https://huggingface.co/{repo}",
        note=f"(a folder: huggingface-cli download {repo} --local-dir <that path>)",
    )


def info(name: str) -> ModelInfo:
    repo, _, n_layers, hidden, n_params, data, ref, inp = MODELS[name]
    return ModelInfo(
        name=name, modality="string", family=repo.split("/")[1].split("-")[0],
        architecture="transformer", training_data=data, n_params=n_params, performance={},
        reference=ref, package="transformers (extra: transformers)", input=inp,
        layers=layers(n_layers), random_weights=False, tested_here=False, version=repo,
        granularity="token", rotation_invariant=True, domains=("molecules",),
        description=f"{repo}: token hidden states ({hidden} wide)",
    )


def hidden_state_rows(model: Any, tokenizer: Any, text: str, layer: str, device: str = "cpu") -> np.ndarray:
    """Hidden states ``(n_tokens, hidden)`` of ``layer`` for one string, special tokens dropped.

    ``layer`` is ``embedding`` (hidden_states[0]), ``layerK`` (hidden_states[K]) or ``last``.
    """
    import torch

    enc = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
    mask = enc.pop("special_tokens_mask")[0].bool()
    enc = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
    with torch.no_grad():
        states = model(**enc, output_hidden_states=True).hidden_states
    index = {"embedding": 0, "last": len(states) - 1}.get(layer)
    if index is None:
        index = int(layer.removeprefix("layer"))
    rows = states[index][0][~mask.to(states[index].device)]
    if rows.shape[0] == 0:  # only special tokens (empty string): keep them rather than nothing
        rows = states[index][0]
    return rows.detach().cpu().numpy()


class HFChemAdapter(DownloadedModel, ModelAdapter):
    """Token hidden states of a SMILES/SELFIES language model."""

    module = "transformers"
    extra = "transformers"

    def _load(self):
        from transformers import AutoModel, AutoTokenizer

        remote = self.info.name == "molformer-xl"
        tok = AutoTokenizer.from_pretrained(str(self.path), trust_remote_code=remote)
        model = AutoModel.from_pretrained(str(self.path), trust_remote_code=remote).eval()
        return model, tok

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_tokens, hidden)`` per sample; O(n_tokens² · layers)."""
        layer = self.resolve_layer(layer)
        model, tok = self.model
        model = model.to(device)
        out = []
        for s in samples:
            text = _text(s, "smiles")
            if self.info.name.startswith("chemgpt"):
                import selfies

                text = selfies.encoder(text)
            out.append(hidden_state_rows(model, tok, text, layer, device))
        return out


def register(registry: Any) -> None:
    """Register ChemBERTa, MolFormer and ChemGPT."""
    for name in MODELS:
        register_downloaded(registry, info(name), spec(name), HFChemAdapter, "transformers", "transformers")
