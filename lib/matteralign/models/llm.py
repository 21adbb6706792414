"""General large language models reading SMILES (the paper's Qwen3 and DeepSeek rows): one
adapter for any local Hugging Face causal-LM checkpoint folder.

A checkpoint is a folder ``data/weights/llm/<name>/`` (``config.json``, weights, tokenizer
files; download with ``huggingface-cli download <repo> --local-dir data/weights/llm/<name>``).
Registered: ``qwen3-0.6b`` (Qwen/Qwen3-0.6B) and ``deepseek-r1-distill-qwen-1.5b``
(deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B), plus ``llm-<folder>`` for every other folder
with a ``config.json`` found under ``data/weights/llm/`` when the registry is built.

Input: the SMILES (RDKit-canonical by default), optionally inside a prompt ``template``
containing ``{smiles}`` once, e.g. ``"The molecule with SMILES {smiles} is"``. Both are part
of the model version (a non-default template as a digest). The tokenizer's character
offsets (``return_offsets_mapping``, fast tokenizers) pick the tokens that overlap the
SMILES; only those are rows, so the mean pooling averages the SMILES tokens, never the
template's or special tokens.

Layers: ``embedding`` (``hidden_states[0]``), ``layer1`` … ``layerN`` (``hidden_states[K]``;
in Hugging Face's decoders the last one has the final norm applied) and ``last`` (=
``layerN``). N is read from the folder's ``config.json``.

The hook was checked on a tiny randomly initialised ``Qwen3ForCausalLM`` built from
``transformers.Qwen3Config`` (``tests/test_models_string.py``); the real checkpoints are not
on this machine: ``tested_here=False``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matteralign.errors import ValidationError
from matteralign.models._smiles import options_tag, quiet_transformers, read_smiles, sample_id
from matteralign.models._weights import (
    DownloadedModel,
    WeightsSpec,
    availability,
    torch_threads,
    weights_root,
)
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["MODELS", "DEFAULT_TEMPLATE", "CausalLMAdapter", "info", "layers", "register", "spec",
           "template_tag"]

DEFAULT_TEMPLATE = "{smiles}"
FAMILY_DIR = "llm"

# name: (HF repo or "" for a discovered folder, folder, n_layers, family, training data, reference)
MODELS: dict[str, tuple[str, str, int, str, str, str]] = {
    "qwen3-0.6b": (
        "Qwen/Qwen3-0.6B", "Qwen3-0.6B", 28, "Qwen3", "general web text and code (Qwen3 pretraining)",
        "Qwen Team, Qwen3 Technical Report, arXiv:2505.09388 (2025)"),
    "deepseek-r1-distill-qwen-1.5b": (
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-Qwen-1.5B", 28, "DeepSeek",
        "Qwen2.5-Math-1.5B distilled on DeepSeek-R1 reasoning traces",
        "DeepSeek-AI, DeepSeek-R1, arXiv:2501.12948 (2025)"),
}


def layers(n_layers: int) -> tuple[str, ...]:
    """``("embedding", "layer1", …, "layerN", "last")``."""
    return ("embedding",) + tuple(f"layer{i}" for i in range(1, n_layers + 1)) + ("last",)


def template_tag(template: str) -> str:
    """``none`` for the bare SMILES, else ``sha1:<8 hex>`` of the template text.

    >>> template_tag("{smiles}"), len(template_tag("SMILES: {smiles}"))
    ('none', 13)
    """
    if template == DEFAULT_TEMPLATE:
        return "none"
    return "sha1:" + hashlib.sha1(template.encode()).hexdigest()[:8]


def spec(name: str) -> WeightsSpec:
    """Where the checkpoint folder of ``name`` is expected and where to get it."""
    repo, folder, *_ = MODELS[name]
    if not repo:
        return WeightsSpec(folder, FAMILY_DIR, folder, "https://huggingface.co (any causal-LM folder)",
                           note="(a folder with config.json, weights and tokenizer files)")
    return WeightsSpec(
        repo.split("/")[1], FAMILY_DIR, folder, f"https://huggingface.co/{repo}",
        note=f"(a folder: huggingface-cli download {repo} --local-dir <that path>)",
    )


def info(name: str, canonical: bool = True, template: str = DEFAULT_TEMPLATE,
         n_layers: int | None = None) -> ModelInfo:
    """Registry metadata of ``name`` read with the given options."""
    repo, folder, default_layers, family, data, ref = MODELS[name]
    return ModelInfo(
        name=name, modality="string", family=family, architecture="transformer (causal LM)",
        training_data=data, n_params=None, performance={}, reference=ref,
        package="transformers", input="smiles", layers=layers(n_layers or default_layers),
        random_weights=False, tested_here=False,
        version=f"{repo or folder};{options_tag(canonical, template=template_tag(template))}",
        granularity="token", rotation_invariant=True, domains=("molecules",),
        description=f"{repo or folder}: hidden states of the SMILES tokens (general LLM)",
    )


def _n_layers(folder: Path) -> int | None:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    n = config.get("num_hidden_layers") or config.get("text_config", {}).get("num_hidden_layers")
    return int(n) if n else None


class CausalLMAdapter(DownloadedModel, ModelAdapter):
    """Hidden states of the SMILES tokens in a causal LM (see the module docstring).

    Args:
        info, spec: registry metadata and checkpoint location (set by the registry).
        weights: a checkpoint folder instead of ``data/weights/llm/<folder>``.
        canonical: read RDKit's canonical SMILES (default).
        template: prompt with ``{smiles}`` once (default: the bare SMILES).
        threads: torch intra-op threads (None: leave torch's setting).
    """

    module = "transformers"
    extra = "transformers"
    default_batch_size = 8

    def __init__(self, info: ModelInfo, spec: WeightsSpec, weights: Any = None, canonical: bool = True,
                 template: str = DEFAULT_TEMPLATE, threads: int | None = 1):
        super().__init__(info, spec, weights)
        if template.count("{smiles}") != 1:
            raise ValidationError(f"template must contain '{{smiles}}' exactly once; got {template!r}")
        self.canonical, self.template, self.threads = bool(canonical), template, threads
        n = _n_layers(self.path)
        tag = options_tag(self.canonical, template=template_tag(template))
        self.info = dataclasses.replace(
            info, layers=layers(n) if n else info.layers,
            version=f"{info.version.split(';')[0]};{tag}")

    def _load(self):
        import torch
        from transformers import AutoModel, AutoTokenizer

        with quiet_transformers():
            tok = AutoTokenizer.from_pretrained(str(self.path))
            model = AutoModel.from_pretrained(str(self.path), dtype=torch.float32).eval()
        if not getattr(tok, "is_fast", False):
            raise ValidationError(
                f"{self.name}: the tokenizer in {self.path} is not a fast tokenizer; character "
                "offsets are needed to find the SMILES tokens"
            )
        return model, tok

    def rows_of(self, smiles: str, layer: str, device: str = "cpu") -> np.ndarray:
        """``(n_smiles_tokens, hidden)`` of ``layer`` for one SMILES inside the template."""
        import torch

        model, tok = self.model
        start = self.template.index("{smiles}")
        text = self.template.replace("{smiles}", smiles)
        end = start + len(smiles)
        enc = tok(text, return_offsets_mapping=True, return_tensors="pt")
        offsets = enc.pop("offset_mapping")[0].tolist()
        keep = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
        inputs = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        with torch.no_grad():
            states = model(**inputs, output_hidden_states=True).hidden_states
        index = {"embedding": 0, "last": len(states) - 1}.get(layer)
        if index is None:
            index = int(layer.removeprefix("layer"))
        return states[index][0, keep].float().cpu().numpy()

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """One forward pass per sample; O(n_tokens² · layers)."""
        layer = self.resolve_layer(layer)
        smiles = [read_smiles(s, self.canonical) for s in samples]
        model, _ = self.model
        model.to(device)
        out = []
        with torch_threads(self.threads):
            for s, smi in zip(samples, smiles, strict=True):
                rows = self.rows_of(smi, layer, device)
                if rows.shape[0] == 0:
                    raise ValidationError(f"sample {sample_id(s)!r}: no token of the input covers its SMILES")
                out.append(rows)
        return out


def _discover() -> None:
    """Add every ``data/weights/llm/<folder>`` with a config.json to :data:`MODELS`."""
    root = weights_root() / FAMILY_DIR
    known = {m[1] for m in MODELS.values()}
    if not root.is_dir():
        return
    for folder in sorted(p for p in root.iterdir() if (p / "config.json").is_file()):
        if folder.name in known:
            continue
        name = "llm-" + "".join(c if c.isalnum() or c == "." else "-" for c in folder.name.lower())
        n = _n_layers(folder) or 1
        MODELS.setdefault(name, ("", folder.name, n, "LLM", "see the checkpoint's model card",
                                 f"local checkpoint {folder}"))


def register(registry: Any) -> None:
    """Register the known LLM checkpoints and every local folder under ``data/weights/llm``."""
    from functools import partial

    _discover()
    for name in MODELS:
        s = spec(name)
        registry.register(info(name), partial(CausalLMAdapter, info(name), s),
                          available=partial(availability, s, "transformers", "transformers"))
