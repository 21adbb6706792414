"""A SchNet-style invariant 3D network on the B3LYP geometries (the ladder's 3D modality).

SchNet (Schütt et al., J. Chem. Phys. 148, 241722 (2018)): atoms start from an embedding of
their element; each interaction block applies a continuous-filter convolution

    m_i = Σ_{j ≠ i, r_ij < r_c} (W₁ x_j) ⊙ φ(e(r_ij)) · f_c(r_ij),    x_i ← x_i + W₃ ssp(W₂ m_i),

with ``e(r)_k = exp(−γ (r − μ_k)²)`` 20 Gaussians spread evenly on ``[0, r_c]``
(γ = 1 / (2 Δμ²)), ``φ`` a two-layer filter network, ``f_c(r) = ½ (cos(π r / r_c) + 1)``
a smooth cosine cutoff and ``ssp(x) = ln(1 + eˣ) − ln 2``. Only interatomic distances enter,
so the features are invariant to rotation, translation and (after pooling) atom order.
Rows are atoms in the order of ``sample.atoms``. Molecules only (no periodic cells).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from matteralign.errors import ValidationError
from matteralign.train._common import Batch, LadderNet

__all__ = ["Featurizer", "Net", "N_RBF", "edges_within"]

N_RBF = 20
_SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}


def edges_within(positions: np.ndarray, cutoff: float) -> np.ndarray:
    """Directed pairs ``(2, E)`` of distinct atoms closer than ``cutoff`` Å."""
    d = np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1)
    src, dst = np.nonzero((d < cutoff) & ~np.eye(len(positions), dtype=bool))
    return np.stack([src, dst])


class Featurizer:
    """Atomic numbers, positions and cutoff pairs; the fitted state is the set of elements:
    QM9's five (H, C, N, O, F) plus any others seen in training (others are refused). A
    small training set may lack fluorine; its rung still reads the fluorinated test
    molecules (with an embedding that training never moved)."""

    def __init__(self, cutoff: float = 5.0, elements: list[int] | None = None):
        self.cutoff = float(cutoff)
        self.elements = sorted(elements) if elements is not None else sorted(_SYMBOLS)
        self._index = np.full(119, -1, dtype=np.int64)
        self._index[self.elements] = np.arange(len(self.elements))

    def fit(self, rows: np.ndarray) -> Featurizer:
        from matteralign.train.data import molecule

        seen = set()
        for r in rows:
            seen.update(molecule(int(r))[1].tolist())
        return Featurizer(self.cutoff, sorted(seen | set(_SYMBOLS)))

    def state(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff, "elements": list(self.elements)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Featurizer:
        return cls(float(state["cutoff"]), [int(z) for z in state["elements"]])

    def _item(self, numbers: np.ndarray, positions: np.ndarray, sid: str) -> tuple:
        numbers = np.asarray(numbers, dtype=np.int64)
        bad = [int(z) for z in numbers if not 0 < z < 119 or self._index[z] < 0]
        if bad:
            from ase.data import chemical_symbols

            known = ", ".join(chemical_symbols[z] for z in self.elements)
            raise ValidationError(f"sample {sid!r}: element {chemical_symbols[bad[0]]} is not among "
                                  f"the elements this model was trained on ({known})")
        pos = np.asarray(positions, dtype=np.float64)
        if not np.isfinite(pos).all():
            raise ValidationError(f"sample {sid!r}: atom positions are not finite")
        return (torch.from_numpy(self._index[numbers]), torch.tensor(pos, dtype=torch.float32),
                torch.from_numpy(edges_within(pos, self.cutoff)))

    def qm9_items(self, rows: np.ndarray) -> list[tuple]:
        from matteralign.train.data import molecule, qm9_id

        out = []
        for r in rows:
            _, numbers, positions = molecule(int(r))
            out.append(self._item(numbers, positions, qm9_id(int(r))))
        return out

    def sample_item(self, sample: Any) -> tuple:
        atoms = sample.require("atoms")
        if np.any(atoms.pbc):
            raise ValidationError(f"sample {sample.id!r} is periodic; the QM9 ladder models read "
                                  "molecules only")
        return self._item(atoms.numbers, atoms.positions, str(sample.id))

    @staticmethod
    def collate(items: list[tuple]) -> Batch:
        sizes = torch.tensor([len(z) for z, _, _ in items], dtype=torch.long)
        offsets = (torch.cumsum(sizes, 0) - sizes).tolist()
        return Batch(len(items), torch.repeat_interleave(torch.arange(len(items)), sizes), {
            "species": torch.cat([z for z, _, _ in items]),
            "positions": torch.cat([p for _, p, _ in items]),
            "edges": torch.cat([e + o for (_, _, e), o in zip(items, offsets, strict=True)], 1)})


def ssp(x: torch.Tensor) -> torch.Tensor:
    """Shifted softplus, ``ln(1 + eˣ) − ln 2`` (zero at zero)."""
    return nn.functional.softplus(x) - math.log(2.0)


class Interaction(nn.Module):
    """One SchNet interaction block (module docstring)."""

    def __init__(self, width: int):
        super().__init__()
        self.filter1, self.filter2 = nn.Linear(N_RBF, width), nn.Linear(width, width)
        self.in2f = nn.Linear(width, width, bias=False)
        self.f2out, self.dense = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x, edges, rbf, fcut):
        src, dst = edges
        w = self.filter2(ssp(self.filter1(rbf))) * fcut[:, None]
        m = torch.zeros_like(x).index_add_(0, dst, self.in2f(x)[src] * w)
        return x + self.dense(ssp(self.f2out(m)))


class Net(LadderNet):
    """SchNet; layers ``embedding`` (element embedding) and ``block<i>`` (interactions)."""

    def __init__(self, width: int, depth: int, n_targets: int, featurizer: Featurizer, **_: Any):
        super().__init__(width, depth, n_targets)
        self.cutoff = featurizer.cutoff
        self.embed = nn.Embedding(len(featurizer.elements), width)
        self.blocks = nn.ModuleList(Interaction(width) for _ in range(depth))
        centers = torch.linspace(0.0, self.cutoff, N_RBF)
        self.register_buffer("centers", centers, persistent=False)
        self.gamma = 0.5 / float(centers[1] - centers[0]) ** 2

    def hidden(self, batch: Batch) -> list[torch.Tensor]:
        pos, edges = batch.data["positions"], batch.data["edges"]
        r = (pos[edges[1]] - pos[edges[0]]).norm(dim=1)
        rbf = torch.exp(-self.gamma * (r[:, None] - self.centers[None, :]) ** 2)
        fcut = 0.5 * (torch.cos(math.pi * r / self.cutoff) + 1.0) * (r < self.cutoff)
        x = self.embed(batch.data["species"])
        out = [x]
        for block in self.blocks:
            x = block(x, edges, rbf, fcut)
            out.append(x)
        return out
