"""A SchNet-style invariant network for periodic crystals: the materials students' network.

It is the SchNet of :mod:`matteralign.train.geometric` on a periodic graph. Pairs are all
atoms ``j`` (in any periodic image) within the cutoff of atom ``i``,
``r_ij = x_j − x_i + S_ij · cell`` with the integer image shift ``S_ij`` (``ase``'s
``neighbor_list("ijS")`` convention; computed once per structure, by matscipy when it is
installed and the cell is periodic in all three directions, else by ase). Each interaction
block applies SchNet's continuous-filter convolution (Schütt et al., J. Chem. Phys. 148,
241722 (2018)),

    m_i = Σ_j (W₁ x_j) ⊙ φ(e(r_ij)) · f_c(r_ij),    x_i ← x_i + W₃ ssp(W₂ m_i),

with :data:`N_RBF` Gaussians ``e(r)`` on ``[0, r_c]``, the cosine cutoff ``f_c`` and the
shifted softplus ``ssp`` of :mod:`~matteralign.train.geometric`.

Energy and forces. Atom i contributes ``ε_i = μ_{Z_i} + σ_E · o_i`` with ``o_i`` a per-atom
MLP of the deepest layer, ``μ_Z`` per-element reference energies and ``σ_E`` the energy
scale, both fitted on the training set (:mod:`matteralign.train.students`); the energy is
``E = Σ_i ε_i`` and the forces are ``F = −∂E/∂x`` by automatic differentiation, so they are
conservative and exactly consistent with E. Stress is not modelled (the cell is held fixed).

Elements. An atom starts from ``x_i = W_d d(Z_i) + u_{Z_i}``: a learned linear map of fixed
element descriptors ``d(Z)`` (:func:`element_descriptors`: one-hot period and group, an
f-block flag and the covalent radius, so what is learned about one element carries over to
its neighbours in the periodic table) plus a free per-element row ``u_Z`` that starts at 0.
The 82 elements of the training pool are mostly seen in a handful of structures; with a
plain embedding, an element absent from training would keep a random N(0, 1) row. Here it
has only its descriptor part (``u_Z = 0``). Elements H … Pu (Z = 1 … 94) are read, so
every structure of the shipped sets can be embedded. Rows of every exposed layer are atoms
in the order of ``sample.atoms``; molecules (no cell) are read as isolated clusters.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from matteralign.errors import ValidationError
from matteralign.train._common import Batch, LadderNet
from matteralign.train.geometric import N_RBF, Interaction

__all__ = ["MAX_Z", "N_RBF", "neighbour_pairs", "element_descriptors", "Featurizer", "Net",
           "energy_and_forces"]

MAX_Z = 94  # elements H … Pu
_PERIOD_START = (1, 3, 11, 19, 37, 55, 87, 119)


def element_descriptors() -> np.ndarray:
    """``(94, 27)`` descriptors of H … Pu: one-hot period (7), one-hot group (18;
    lanthanides and actinides in group 3), an f-block flag and the covalent radius (Å, ase's
    table, divided by 2).

    >>> d = element_descriptors()
    >>> [int(d[z - 1, 7:25].argmax()) + 1 for z in (1, 8, 26, 57, 79)]  # groups of H O Fe La Au
    [1, 16, 8, 3, 11]
    """
    from ase.data import covalent_radii

    out = np.zeros((MAX_Z, 27))
    for z in range(1, MAX_Z + 1):
        period = next(p for p in range(7) if z < _PERIOD_START[p + 1])
        k = z - _PERIOD_START[period]
        if period == 0:
            group = 1 if k == 0 else 18
        elif period in (1, 2):
            group = k + 1 if k < 2 else k + 11
        elif period in (3, 4):
            group = k + 1
        else:
            group = k + 1 if k < 2 else 3 if k < 17 else k - 13
            out[z - 1, 25] = float(2 <= k < 17)
        out[z - 1, period] = 1.0
        out[z - 1, 6 + group] = 1.0
        out[z - 1, 26] = covalent_radii[z] / 2.0
    return out


def neighbour_pairs(atoms: Any, cutoff: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i, j, S)``: every ordered pair of an atom ``i`` and an atom ``j`` in the periodic
    image shifted by the integer vector ``S`` (rows of ``(E, 3)``) with
    ``|x_j − x_i + S · cell| < cutoff``, excluding ``i`` with itself at ``S = 0``."""
    cell = np.asarray(atoms.cell)
    if np.all(atoms.pbc) and abs(np.linalg.det(cell)) > 1e-9:
        try:
            from matscipy.neighbours import neighbour_list

            i, j, shift = neighbour_list("ijS", atoms, float(cutoff))
            return i.astype(np.int64), j.astype(np.int64), shift.astype(np.int64)
        except ImportError:  # pragma: no cover - matscipy is optional
            pass
    from ase.neighborlist import neighbor_list

    i, j, shift = neighbor_list("ijS", atoms, float(cutoff), self_interaction=False)
    return i.astype(np.int64), j.astype(np.int64), shift.astype(np.int64)


class Featurizer:
    """Element indices, positions and periodic pairs of a structure. The state is the cutoff
    (the element table is fixed, module docstring)."""

    elements = list(range(1, MAX_Z + 1))

    def __init__(self, cutoff: float = 5.0):
        self.cutoff = float(cutoff)

    def state(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Featurizer:
        return cls(float(state["cutoff"]))

    def atoms_item(self, atoms: Any, sid: str) -> tuple:
        """``(species (n,), positions (n, 3), edges (2, E) src→dst, offsets (E, 3) Å)``
        where the pair vector is ``positions[src] − positions[dst] + offset``."""
        numbers = np.asarray(atoms.numbers, dtype=np.int64)
        bad = [int(z) for z in numbers if not 0 < z <= MAX_Z]
        if bad:
            raise ValidationError(f"sample {sid!r}: atomic number {bad[0]} is outside the "
                                  f"elements H … Pu (1 … {MAX_Z}) these students read")
        pos = np.asarray(atoms.positions, dtype=np.float64)
        if not np.isfinite(pos).all() or not np.isfinite(np.asarray(atoms.cell)).all():
            raise ValidationError(f"sample {sid!r}: atom positions or cell are not finite")
        i, j, shift = neighbour_pairs(atoms, self.cutoff)
        offsets = shift @ np.asarray(atoms.cell, dtype=np.float64)
        # message from j (source) to i (destination); vector i -> j
        return (torch.from_numpy(numbers - 1), torch.tensor(pos, dtype=torch.float32),
                torch.from_numpy(np.stack([j, i])), torch.tensor(offsets, dtype=torch.float32))

    def sample_item(self, sample: Any) -> tuple:
        return self.atoms_item(sample.require("atoms"), str(sample.id))

    @staticmethod
    def collate(items: list[tuple]) -> Batch:
        sizes = torch.tensor([len(it[0]) for it in items], dtype=torch.long)
        offsets = (torch.cumsum(sizes, 0) - sizes).tolist()
        return Batch(len(items), torch.repeat_interleave(torch.arange(len(items)), sizes), {
            "species": torch.cat([it[0] for it in items]),
            "positions": torch.cat([it[1] for it in items]),
            "edges": torch.cat([it[2] + o for it, o in zip(items, offsets, strict=True)], 1),
            "offsets": torch.cat([it[3] for it in items])})


class Net(LadderNet):
    """Periodic SchNet; layers ``embedding`` and ``block1`` … ``block<depth>``; ``forward``
    gives the total energies ``(n,)`` in eV (module docstring)."""

    def __init__(self, width: int, depth: int, n_targets: int = 1,
                 featurizer: Featurizer | None = None, **_: Any):
        super().__init__(width, depth, 1)
        featurizer = featurizer if featurizer is not None else Featurizer()
        self.cutoff = featurizer.cutoff
        self.register_buffer("descriptors", torch.tensor(element_descriptors(), dtype=torch.float32),
                             persistent=False)
        self.embed_descriptors = nn.Linear(self.descriptors.shape[1], width)
        self.embed = nn.Embedding(MAX_Z, width)
        nn.init.zeros_(self.embed.weight)
        self.blocks = nn.ModuleList(Interaction(width) for _ in range(depth))
        centers = torch.linspace(0.0, self.cutoff, N_RBF)
        self.register_buffer("centers", centers, persistent=False)
        self.gamma = 0.5 / float(centers[1] - centers[0]) ** 2
        # per-element reference energies (eV) and the energy scale (eV), set from training data
        self.register_buffer("element_energy", torch.zeros(MAX_Z))
        self.register_buffer("energy_scale", torch.ones(()))

    def hidden(self, batch: Batch, positions: torch.Tensor | None = None) -> list[torch.Tensor]:
        pos = batch.data["positions"] if positions is None else positions
        edges = batch.data["edges"]
        vec = pos[edges[0]] - pos[edges[1]] + batch.data["offsets"].to(pos.dtype)
        r = vec.norm(dim=1)
        rbf = torch.exp(-self.gamma * (r[:, None] - self.centers.to(pos.dtype)[None, :]) ** 2)
        fcut = 0.5 * (torch.cos(math.pi * r / self.cutoff) + 1.0) * (r < self.cutoff)
        species = batch.data["species"]
        x = self.embed_descriptors(self.descriptors.to(pos.dtype)[species]) + self.embed(species)
        out = [x]
        for block in self.blocks:
            x = block(x, edges, rbf, fcut)
            out.append(x)
        return out

    def atomic_energies(self, batch: Batch, positions: torch.Tensor | None = None) -> torch.Tensor:
        """``ε_i`` (eV) per atom row."""
        o = self.readout.mlp(self.hidden(batch, positions)[-1])[:, 0]
        species = batch.data["species"]
        return self.element_energy[species].to(o.dtype) + self.energy_scale.to(o.dtype) * o

    def forward(self, batch: Batch) -> torch.Tensor:
        """Total energies ``(n,)`` (eV)."""
        eps = self.atomic_energies(batch)
        return torch.zeros(batch.n, dtype=eps.dtype).index_add_(0, batch.segment, eps)


def energy_and_forces(net: Net, batch: Batch, *, create_graph: bool = False
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Total energies ``(n,)`` (eV) and forces ``F = −∂E/∂x`` ``(R, 3)`` (eV/Å).
    ``create_graph=True`` keeps the graph of the forces for a loss on them (training)."""
    pos = batch.data["positions"].detach().clone().to(net.embed.weight.dtype).requires_grad_(True)
    eps = net.atomic_energies(batch, pos)
    energy = torch.zeros(batch.n, dtype=eps.dtype).index_add_(0, batch.segment, eps)
    (grad,) = torch.autograd.grad(energy.sum(), pos, create_graph=create_graph)
    return energy, -grad
