"""What the three ladder architectures share: the batch, segment pooling, the readout and
the lookup of an architecture's network and featurizer.

Every network maps a :class:`Batch` of molecules to hidden rows ``(R, width)`` at each of
its layers (``embedding``, ``block1`` … ``block<depth>``), where the rows are tokens,
heavy atoms or atoms and ``batch.segment[r]`` is the molecule of row r. The prediction is
a per-row MLP averaged over each molecule's rows (all targets are intensive), so the
mean-pooled deepest layer is what the targets are read from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["Batch", "segment_mean", "Readout", "LadderNet", "architecture_module"]


@dataclass
class Batch:
    """``n`` molecules: ``segment`` (R,) long, the molecule of each row, and the
    architecture's tensors in ``data``."""

    n: int
    segment: torch.Tensor
    data: dict[str, torch.Tensor] = field(default_factory=dict)

    def counts(self) -> torch.Tensor:
        return torch.bincount(self.segment, minlength=self.n)


def segment_mean(x: torch.Tensor, segment: torch.Tensor, n: int) -> torch.Tensor:
    """``out[m] = mean of x[r] over rows r with segment[r] == m``, shape ``(n, D)``."""
    total = torch.zeros(n, x.shape[1], dtype=x.dtype).index_add_(0, segment, x)
    count = torch.bincount(segment, minlength=n).clamp(min=1).to(x.dtype)
    return total / count[:, None]


class Readout(nn.Module):
    """Per-row MLP ``width → width → n_targets``, averaged over each molecule's rows."""

    def __init__(self, width: int, n_targets: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, n_targets))

    def forward(self, rows: torch.Tensor, batch: Batch) -> torch.Tensor:
        return segment_mean(self.mlp(rows), batch.segment, batch.n)


class LadderNet(nn.Module):
    """Base of the three networks: ``hidden(batch)`` returns the rows of every layer
    (shallow to deep), ``forward(batch)`` the standardised predictions ``(n, n_targets)``."""

    def __init__(self, width: int, depth: int, n_targets: int):
        super().__init__()
        self.width, self.depth = int(width), int(depth)
        self.readout = Readout(width, n_targets)

    @property
    def layer_names(self) -> tuple[str, ...]:
        return ("embedding", *(f"block{i}" for i in range(1, self.depth + 1)))

    def hidden(self, batch: Batch) -> list[torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.readout(self.hidden(batch)[-1], batch)


def architecture_module(architecture: str) -> Any:
    """The module that defines ``Net`` and ``Featurizer`` of an architecture."""
    from matteralign.train import geometric, graph, periodic, string

    return {"transformer": string, "mpnn": graph, "schnet": geometric,
            "schnet-pbc": periodic}[architecture]
