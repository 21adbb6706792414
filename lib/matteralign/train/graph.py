"""A message-passing network on the RDKit bond graph, without coordinates (the ladder's
graph modality).

Graph: the heavy atoms of the molecule RDKit reads from the SMILES (hydrogens enter as the
atoms' H counts), edges the bonds in both directions. Atom features (26, one-hot): element
(C, N, O, F, other), heavy degree (0–5+), total H count (0–4+), formal charge (−1, 0, +1,
other), aromatic, hybridisation (sp, sp², sp³, other), in a ring. Bond features (6): single,
double, triple, aromatic, conjugated, in a ring.

Network (an edge-gated message-passing network in the spirit of Gilmer et al., ICML 2017,
pre-normalised): ``h⁰ = W·x``; block t:
``u = LN(h)``, ``m_i = Σ_{j ∈ N(i)} σ(G·e_ij) ⊙ (M·u_j)``, ``h ← h + MLP([u_i, m_i])``.
Rows are heavy atoms.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from matteralign.train._common import Batch, LadderNet

__all__ = ["Featurizer", "Net", "ATOM_FEATURES", "BOND_FEATURES", "atom_features", "graph_of"]

_ELEMENTS = ("C", "N", "O", "F")
ATOM_FEATURES = 26
BOND_FEATURES = 6


def _one_hot(value: Any, choices: tuple, out: list[float]) -> None:
    hot = [0.0] * (len(choices) + 1)
    hot[choices.index(value) if value in choices else len(choices)] = 1.0
    out.extend(hot)


def atom_features(atom: Any) -> list[float]:
    """The 26 one-hot features of an RDKit atom (module docstring)."""
    from rdkit.Chem import HybridizationType as H

    f: list[float] = []
    _one_hot(atom.GetSymbol(), _ELEMENTS, f)
    _one_hot(min(atom.GetDegree(), 5), (0, 1, 2, 3, 4), f)
    _one_hot(min(atom.GetTotalNumHs(), 4), (0, 1, 2, 3), f)
    _one_hot(atom.GetFormalCharge(), (-1, 0, 1), f)
    f.append(float(atom.GetIsAromatic()))
    _one_hot(atom.GetHybridization(), (H.SP, H.SP2, H.SP3), f)
    f.append(float(atom.IsInRing()))
    return f


def _bond_features(bond: Any) -> list[float]:
    from rdkit.Chem import BondType as B

    kind = bond.GetBondType()
    return [float(kind == B.SINGLE), float(kind == B.DOUBLE), float(kind == B.TRIPLE),
            float(kind == B.AROMATIC), float(bond.GetIsConjugated()), float(bond.IsInRing())]


def graph_of(mol: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x (n, 26), edges (2, 2·bonds) long, edge features (2·bonds, 6))`` of a molecule."""
    x = torch.tensor([atom_features(a) for a in mol.GetAtoms()], dtype=torch.float32)
    src, dst, attr = [], [], []
    for b in mol.GetBonds():
        i, j, f = b.GetBeginAtomIdx(), b.GetEndAtomIdx(), _bond_features(b)
        src += [i, j]
        dst += [j, i]
        attr += [f, f]
    edges = torch.tensor([src, dst], dtype=torch.long).reshape(2, -1)
    return x, edges, torch.tensor(attr, dtype=torch.float32).reshape(-1, BOND_FEATURES)


class Featurizer:
    """Bond graphs of molecules (no state to fit)."""

    def fit(self, rows: np.ndarray) -> Featurizer:
        return self

    def state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Featurizer:
        return cls()

    def qm9_items(self, rows: np.ndarray) -> list[tuple[torch.Tensor, ...]]:
        from rdkit import Chem

        from matteralign.train.data import molecule

        return [graph_of(Chem.MolFromSmiles(molecule(int(r))[0])) for r in rows]

    def sample_item(self, sample: Any) -> tuple[torch.Tensor, ...]:
        from matteralign.models.rdkit_models import mol_from_sample

        return graph_of(mol_from_sample(sample))

    @staticmethod
    def collate(items: list[tuple[torch.Tensor, ...]]) -> Batch:
        sizes = torch.tensor([len(x) for x, _, _ in items], dtype=torch.long)
        offsets = torch.cumsum(sizes, 0) - sizes
        edges = torch.cat([e + o for (_, e, _), o in zip(items, offsets.tolist(), strict=True)], 1)
        return Batch(len(items), torch.repeat_interleave(torch.arange(len(items)), sizes), {
            "x": torch.cat([x for x, _, _ in items]), "edges": edges,
            "edge_attr": torch.cat([a for _, _, a in items])})


class Block(nn.Module):
    """One edge-gated message-passing block (module docstring)."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.message = nn.Linear(width, width)
        self.gate = nn.Linear(BOND_FEATURES, width)
        self.update = nn.Sequential(nn.Linear(2 * width, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, h: torch.Tensor, edges: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        u = self.norm(h)
        src, dst = edges
        msg = torch.sigmoid(self.gate(edge_attr)) * self.message(u)[src]
        m = torch.zeros_like(u).index_add_(0, dst, msg)
        return h + self.update(torch.cat([u, m], dim=1))


class Net(LadderNet):
    """Bond-graph MPNN; layers ``embedding`` (linear map of the atom features) and
    ``block<i>``."""

    def __init__(self, width: int, depth: int, n_targets: int, **_: Any):
        super().__init__(width, depth, n_targets)
        self.embed = nn.Linear(ATOM_FEATURES, width)
        self.blocks = nn.ModuleList(Block(width) for _ in range(depth))

    def hidden(self, batch: Batch) -> list[torch.Tensor]:
        h = self.embed(batch.data["x"])
        out = [h]
        for block in self.blocks:
            h = block(h, batch.data["edges"], batch.data["edge_attr"])
            out.append(h)
        return out
