"""RXN-BERT (Schwaller et al., Nat. Mach. Intell. 3, 144 (2021), "Mapping the space of
chemical reactions using attention-based neural networks"): the three BERT checkpoints that
ship inside the ``rxnfp`` wheel (0.1.0, MIT), and their random twins.

Checkpoints (each 12 layers, hidden 256, 4 heads, 591-token vocabulary):

- ``rxnbert-pretrained`` (``bert_pretrained``): masked-language pretraining on reaction SMILES;
- ``rxnbert-ft`` (``bert_ft``, rxnfp's default): the same, fine-tuned to classify reactions;
- ``rxnbert-ft-10k-25s`` (``bert_ft_10k_25s``): fine-tuned on a 50-class task (its config:
  ``finetuning_task="greg_10k"``, 50 labels).

They were trained on *reactions* (``reactants>>products``) and here read single molecules;
they stand in for the paper's SMILES transformers (ChemBERTa, MolFormer, ChemGPT), whose
checkpoints are not on this machine.

rxnfp's own code is never imported (its tokenizer needs ``pkg_resources`` and under
transformers 5 maps every SMILES to ``[UNK]``). The weights are read with
``transformers.BertModel.from_pretrained(<folder>)``; the SMILES (RDKit-canonical by
default) is split with :func:`matteralign.models._smiles.tokenize` — rxnfp's regular
expression — and looked up in the shipped ``vocab.txt`` (unknown tokens → ``[UNK]``), framed
by ``[CLS]`` … ``[SEP]``: at most 512 ids, the model's position limit (a longer SMILES is
refused, naming the sample).

Layers: ``embedding`` (the embedding output), ``layer1`` … ``layer12`` and ``last``
(= ``layer12``, ``last_hidden_state``). Rows (``rows=``): ``"tokens"`` (default) — one per
SMILES token, ``[CLS]``/``[SEP]`` dropped, so the default pooling is the mean over SMILES
tokens; ``"cls"`` — the single ``[CLS]`` row, rxnfp's reaction fingerprint. Both options are
part of the model version.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from matteralign.errors import ValidationError
from matteralign.models._random import seeded
from matteralign.models._smiles import (
    options_tag,
    quiet_transformers,
    read_smiles,
    register_pair,
    sample_id,
    tokenize,
    twin_info,
)
from matteralign.models._weights import torch_threads
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["CHECKPOINTS", "MAX_TOKENS", "RXNBertAdapter", "checkpoint_dir", "encode", "info",
           "read_vocab", "register"]

MAX_TOKENS = 512  # BERT's max_position_embeddings, [CLS] and [SEP] included
CLS, SEP, UNK, PAD = "[CLS]", "[SEP]", "[UNK]", "[PAD]"
N_PARAMS = 6_674_432  # the loaded BertModel, pooler included (a test counts it)
_REFERENCE = "Schwaller et al., Nat. Mach. Intell. 3, 144 (2021); rxnfp package (MIT)"

# name -> folder in rxnfp/models/transformers, training data, description
CHECKPOINTS: dict[str, tuple[str, str, str]] = {
    "rxnbert-pretrained": (
        "bert_pretrained",
        "reaction SMILES (masked-language pretraining; Schwaller et al. 2021)",
        "RXN-BERT pretrained (rxnfp), reaction-SMILES BERT"),
    "rxnbert-ft": (
        "bert_ft",
        "reaction SMILES: masked-language pretraining, then fine-tuned on reaction classes",
        "RXN-BERT fine-tuned on reaction classes (rxnfp default)"),
    "rxnbert-ft-10k-25s": (
        "bert_ft_10k_25s",
        "reaction SMILES: masked-language pretraining, then fine-tuned on 50 reaction classes",
        "RXN-BERT fine-tuned on 50 reaction classes (rxnfp bert_ft_10k_25s)"),
}
LAYERS = ("embedding",) + tuple(f"layer{i}" for i in range(1, 13)) + ("last",)
ROWS = ("tokens", "cls")


def checkpoint_dir(folder: str) -> Path | None:
    """``rxnfp/models/transformers/<folder>`` of the installed wheel (None when rxnfp is not
    installed); found without importing rxnfp."""
    spec = importlib.util.find_spec("rxnfp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models" / "transformers" / folder


def info(name: str, canonical: bool = True, rows: str = "tokens") -> ModelInfo:
    """Registry metadata of checkpoint ``name`` read with the given options."""
    folder, data, description = CHECKPOINTS[name]
    return ModelInfo(
        name=name, modality="string", family="RXN-BERT", architecture="transformer",
        training_data=data, n_params=N_PARAMS, performance={}, reference=_REFERENCE,
        package="rxnfp (weights only) + transformers", input="smiles", layers=LAYERS,
        random_weights=False, tested_here=True,
        version=f"rxnfp0.1.0/{folder};{options_tag(canonical, rows=rows)}",
        granularity="token", rotation_invariant=True, domains=("molecules",),
        description=f"{description}, 256-d; offline substitute for ChemBERTa/MolFormer/ChemGPT",
    )


def read_vocab(path: str | Path) -> dict[str, int]:
    """``{token: id}`` from a BERT ``vocab.txt`` (one token a line, id = line number)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return {tok: i for i, tok in enumerate(lines)}


def encode(smiles: str, vocab: dict[str, int], sample: str | None = None) -> list[int]:
    """``[CLS] tokens [SEP]`` ids of a SMILES, unknown tokens as ``[UNK]``.

    Raises:
        ValidationError: a character the tokenizer does not cover, or more than
            :data:`MAX_TOKENS` ids (naming the sample).
    """
    ids = [vocab[CLS], *(vocab.get(t, vocab[UNK]) for t in tokenize(smiles, sample)), vocab[SEP]]
    if len(ids) > MAX_TOKENS:
        who = f"sample {sample!r}: " if sample is not None else ""
        raise ValidationError(
            f"{who}SMILES has {len(ids) - 2} tokens; RXN-BERT reads at most {MAX_TOKENS - 2} "
            f"({MAX_TOKENS} positions with [CLS] and [SEP])"
        )
    return ids


def _available(folder: str) -> bool | str:
    path = checkpoint_dir(folder)
    if path is None:
        return "package 'rxnfp' not installed: pip install --no-deps rxnfp==0.1.0 (make install does)"
    if not (path / "pytorch_model.bin").exists():
        return f"rxnfp is installed but its checkpoint {path} is missing; reinstall rxnfp==0.1.0"
    if importlib.util.find_spec("transformers") is None:
        return "package 'transformers' not installed (a default dependency of matteralign)"
    return True


class RXNBertAdapter(ModelAdapter):
    """Hidden states of one RXN-BERT checkpoint (see the module docstring).

    Args:
        name: a key of :data:`CHECKPOINTS`.
        canonical: rewrite each SMILES as RDKit's canonical SMILES first (default).
        rows: ``"tokens"`` (SMILES tokens; default) or ``"cls"`` (the ``[CLS]`` row).
        seed: if given, the random twin: ``BertModel`` built from the checkpoint's config
            with torch seeded by ``seed`` (transformers' own initialisation).
        threads: torch intra-op threads (None: leave torch's setting).
    """

    default_batch_size = 32
    pass_size = 8  # samples per forward pass inside a batch

    def __init__(self, name: str = "rxnbert-ft", canonical: bool = True, rows: str = "tokens",
                 seed: int | None = None, threads: int | None = 1):
        if name not in CHECKPOINTS:
            from matteralign.errors import unknown_name

            raise unknown_name("RXN-BERT checkpoint", name, list(CHECKPOINTS))
        if rows not in ROWS:
            raise ValidationError(f"rows must be one of {ROWS}; got {rows!r}")
        self.checkpoint, self.canonical, self.rows = name, bool(canonical), rows
        self.seed, self.threads = seed, threads
        base = info(name, self.canonical, rows)
        self.info = base if seed is None else twin_info(
            base, seed, options_tag(self.canonical, rows=rows))
        self._model = None
        self._vocab: dict[str, int] | None = None

    @property
    def folder(self) -> Path:
        path = checkpoint_dir(CHECKPOINTS[self.checkpoint][0])
        problem = _available(CHECKPOINTS[self.checkpoint][0])
        if problem is not True:
            from matteralign.errors import MissingWeightsError

            raise MissingWeightsError(f"{self.name}: {problem}")
        return path

    @property
    def vocab(self) -> dict[str, int]:
        """The checkpoint's ``vocab.txt`` as ``{token: id}``."""
        if self._vocab is None:
            self._vocab = read_vocab(self.folder / "vocab.txt")
        return self._vocab

    @property
    def model(self):
        """The ``transformers.BertModel`` (eval mode; loaded on first use)."""
        if self._model is None:
            from transformers import BertConfig, BertModel

            with quiet_transformers():  # the MLM/classifier heads are not loaded: expected
                if self.seed is None:
                    model = BertModel.from_pretrained(str(self.folder))
                else:
                    config = BertConfig.from_pretrained(str(self.folder))
                    model = seeded(lambda: BertModel(config), self.seed)
            self._model = model.eval()
        return self._model

    def token_ids(self, samples: Sequence[Any]) -> list[list[int]]:
        """The ``[CLS] … [SEP]`` ids each sample is read as."""
        return [encode(read_smiles(s, self.canonical), self.vocab, sample_id(s)) for s in samples]

    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """``(n_tokens, 256)`` (or ``(1, 256)`` with ``rows="cls"``) per sample.

        Samples are sorted by length and run ``pass_size`` at a time, padded with an
        attention mask; O(batch · n_tokens² · 12).
        """
        import torch

        layer = self.resolve_layer(layer)
        if not samples:
            return []
        ids = self.token_ids(samples)
        index = {"embedding": 0, "last": 12}.get(layer)
        if index is None:
            index = int(layer.removeprefix("layer"))
        model = self.model.to(device)
        out: list[np.ndarray] = [None] * len(ids)  # type: ignore[list-item]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # little padding per pass
        with torch.no_grad(), torch_threads(self.threads):
            for start in range(0, len(order), self.pass_size):
                chunk = order[start : start + self.pass_size]
                width = max(len(ids[i]) for i in chunk)
                input_ids = torch.zeros((len(chunk), width), dtype=torch.long)
                mask = torch.zeros_like(input_ids)
                for j, i in enumerate(chunk):
                    input_ids[j, : len(ids[i])] = torch.tensor(ids[i])
                    mask[j, : len(ids[i])] = 1
                states = model(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                               token_type_ids=torch.zeros_like(input_ids).to(device),
                               output_hidden_states=True).hidden_states[index].float().cpu().numpy()
                for j, i in enumerate(chunk):
                    out[i] = states[j, :1] if self.rows == "cls" else states[j, 1 : len(ids[i]) - 1]
        return out

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = None
        return state


def _factory(name: str, canonical: bool = True, rows: str = "tokens", seed: int | None = None,
             threads: int | None = 1) -> RXNBertAdapter:
    return RXNBertAdapter(name, canonical=canonical, rows=rows, seed=seed, threads=threads)


def register(registry: Any) -> None:
    """Register the three RXN-BERT checkpoints and their random twins."""
    # one seed per checkpoint: the three share an architecture, so one seed would give three
    # identical twins and count one random network three times in a random-twin floor
    for seed, (name, (folder, _, _)) in enumerate(CHECKPOINTS.items()):
        register_pair(registry, info(name), partial(_factory, name),
                      options_tag(True, rows="tokens"), available=partial(_available, folder),
                      seed=seed)
