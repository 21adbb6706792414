"""A small SMILES transformer encoder (the ladder's string modality).

Input: RDKit-canonical SMILES (:func:`matteralign.models._smiles.read_smiles`) split into
atom-level tokens by the regular expression of Schwaller et al., ACS Cent. Sci. 5, 1572
(2019) (:func:`matteralign.models._smiles.tokenize`); the vocabulary is the tokens of the
training molecules plus ``<pad>`` and ``<unk>``.

Network (pre-norm encoder, Vaswani et al. 2017 / Xiong et al. 2020): token embedding plus
sinusoidal positions (any length), then ``depth`` blocks
``x ← x + MHA(LN(x))``, ``x ← x + FF(LN(x))`` with ``FF = Linear(w, 2w) · GELU · Linear(2w, w)``
and padding masked out of the attention, so a molecule's rows do not depend on the other
molecules of its batch. Rows are tokens; no dropout (deterministic training).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from matteralign.train._common import Batch, LadderNet

__all__ = ["Featurizer", "Net", "heads_for"]

PAD, UNK = "<pad>", "<unk>"


def heads_for(width: int) -> int:
    """Attention heads: 4 from width 64, 2 from width 32, else 1 (head size ≥ 16)."""
    for h in (4, 2):
        if width % h == 0 and width // h >= 16:
            return h
    return 1


class Featurizer:
    """Token ids of canonical SMILES under a vocabulary fitted on the training molecules."""

    def __init__(self, vocab: list[str] | None = None):
        self.vocab = list(vocab) if vocab is not None else [PAD, UNK]
        self._index = {t: i for i, t in enumerate(self.vocab)}

    @staticmethod
    def _tokens(smiles: str, sample: str | None = None) -> list[str]:
        from matteralign.models._smiles import read_smiles, tokenize

        return tokenize(read_smiles(smiles), sample)

    def fit(self, rows: np.ndarray) -> Featurizer:
        from matteralign.train.data import molecule

        tokens = set()
        for r in rows:
            tokens.update(self._tokens(molecule(int(r))[0]))
        return Featurizer([PAD, UNK, *sorted(tokens)])

    def state(self) -> dict[str, Any]:
        return {"vocab": list(self.vocab)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Featurizer:
        return cls(list(state["vocab"]))

    def _ids(self, tokens: list[str]) -> torch.Tensor:
        unk = self._index[UNK]
        return torch.tensor([self._index.get(t, unk) for t in tokens], dtype=torch.long)

    def qm9_items(self, rows: np.ndarray) -> list[torch.Tensor]:
        from matteralign.train.data import molecule

        return [self._ids(self._tokens(molecule(int(r))[0])) for r in rows]

    def sample_item(self, sample: Any) -> torch.Tensor:
        from matteralign.models._smiles import read_smiles, sample_id, tokenize

        return self._ids(tokenize(read_smiles(sample), sample_id(sample)))

    @staticmethod
    def collate(items: list[torch.Tensor]) -> Batch:
        lengths = torch.tensor([len(t) for t in items], dtype=torch.long)
        ids = nn.utils.rnn.pad_sequence(items, batch_first=True, padding_value=0)
        mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
        segment = torch.repeat_interleave(torch.arange(len(items)), lengths)
        return Batch(len(items), segment, {"ids": ids, "mask": mask})


def positions(length: int, width: int) -> torch.Tensor:
    """Sinusoidal position encodings ``(length, width)`` (Vaswani et al. 2017)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    out = torch.zeros(length, width)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq)[:, : width // 2]
    return out


class Block(nn.Module):
    """One pre-norm transformer encoder block with a key-padding mask."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, length, w = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, length, 3, self.heads, w // self.heads).unbind(2)
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                           attn_mask=mask[:, None, None, :])
        x = x + self.out(a.transpose(1, 2).reshape(b, length, w))
        return x + self.ff(self.norm2(x))


class Net(LadderNet):
    """SMILES transformer encoder; layers ``embedding`` (token + position) and ``block<i>``."""

    def __init__(self, width: int, depth: int, n_targets: int, featurizer: Featurizer, **_: Any):
        super().__init__(width, depth, n_targets)
        self.embed = nn.Embedding(len(featurizer.vocab), width, padding_idx=0)
        self.blocks = nn.ModuleList(Block(width, heads_for(width)) for _ in range(depth))

    def hidden(self, batch: Batch) -> list[torch.Tensor]:
        ids, mask = batch.data["ids"], batch.data["mask"]
        x = self.embed(ids) + positions(ids.shape[1], self.width)[None]
        out = [x[mask]]
        for block in self.blocks:
            x = block(x, mask)
            out.append(x[mask])
        return out
