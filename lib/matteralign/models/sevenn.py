"""SevenNet (Park et al., J. Chem. Theory Comput. 20, 4857 (2024)): node features of the
pretrained NequIP-style checkpoints that ship inside the ``sevenn`` wheel, and their
random-weights twins.

Registered models: ``sevennet-0`` (the 11Jul2024 checkpoint), ``sevennet-0-22may2024``,
``sevennet-l3i5``, ``sevennet-mf-0`` (multi-fidelity; read with the ``PBE`` modal, recorded
in the version) and ``<name>-random`` for each.

SevenNet has no embedding API. The model is an ``AtomGraphSequential`` of modules that pass
a data dict along; the node features are ``data["x"]``. The adapter runs the modules one by
one under ``torch.no_grad()`` and stops after the deepest requested one, so the readout and
the autograd force/stress module never run. Layers:

- ``embedding``: the linear element embedding (``onehot_to_feature_x``, 128 scalars);
- ``block1`` … ``block5``: the ``l = 0``, even-parity (``0e``) channels of the node features
  after each interaction block's equivariant gate — the rotation-invariant part of the
  equivariant features (SevenNet-0: the 128 of 128x0e+64x1e+32x2e in blocks 1–4);
- ``block1-irreps`` … ``block5-irreps``: the full equivariant node features, flattened in
  e3nn order (NOT rotation invariant: the ``l > 0`` components rotate with the structure);
- ``last`` (default): ``block5``, the 128 scalars the energy readout (``reduce_input_to_hidden``)
  reads.

Structures are read as given: periodic crystals with their cell, molecules without one
(SevenNet's neighbour list honours ``pbc``).

Batching: ``batch_size`` structures go through one forward pass in SevenNet's own batched
mode — their graphs are concatenated by torch_geometric's ``Batch.from_data_list`` (what
the ``DataLoader`` of ``sevenn.scripts.inference`` does) and the model runs with
``set_is_batch_data(True)``; the node features are split back per structure by atom count.
``batch_size=1`` is the per-structure path (unbatched mode, one forward per structure).
Message passing never crosses structures, so both paths give the same features (to float32
rounding, ≲1e-5). The cost is dominated by the per-edge tensor products of the convolutions,
which batching does not reduce, so on CPU the default is the per-structure path (see
:data:`BATCH_SIZE`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from matteralign.errors import ValidationError, unknown_name
from matteralign.models._random import copy_statistics, random_info, register_with_twin, seeded
from matteralign.models._weights import availability, torch_threads
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["BATCH_SIZE", "CHECKPOINTS", "SevenNetAdapter", "register"]

_REFERENCE = "Park et al., J. Chem. Theory Comput. 20, 4857 (2024); arXiv:2402.03789"
_MBD = "Matbench Discovery, unique-prototypes test set (models/sevennet/{}.yml)"
N_BLOCKS = 5
# Structures per forward pass. On CPU the per-structure path measured fastest (batches of
# 4–32: 0.65–1.07x of it, benchmarks/RESULTS.md "Batched MLIP extraction"): the convolutions
# are bound by per-edge tensor products, whose intermediates outgrow the caches when graphs
# are joined. Pass batch_size > 1 for the batched mode (e.g. on a GPU; not measured here).
BATCH_SIZE = 1

CHECKPOINTS: dict[str, dict[str, Any]] = {
    "sevennet-0": dict(
        key="7net-0",
        version="SevenNet-0 11Jul2024",
        description="SevenNet-0 (11Jul2024), NequIP-type l_max=2, 5 blocks, MPtrj",
        training_data="MPtrj",
        n_params=842_623,
        modal=None,
        performance={
            "matbench_f1": 0.724,
            "matbench_energy_mae_ev_per_atom": 0.048,
            "source": _MBD.format("sevennet-0"),
        },
    ),
    "sevennet-0-22may2024": dict(
        key="7net-0_22may2024",
        version="SevenNet-0 22May2024",
        description="SevenNet-0 (22May2024 release), l_max=2, 5 blocks, MPtrj",
        training_data="MPtrj",
        n_params=842_623,
        modal=None,
        performance={},
    ),
    "sevennet-l3i5": dict(
        key="7net-l3i5",
        version="SevenNet-l3i5",
        description="SevenNet-l3i5, l_max=3, 5 blocks, MPtrj",
        training_data="MPtrj",
        n_params=1_171_327,
        modal=None,
        performance={
            "matbench_f1": 0.760,
            "matbench_energy_mae_ev_per_atom": 0.044,
            "source": _MBD.format("sevennet-l3i5"),
        },
    ),
    "sevennet-mf-0": dict(
        key="7net-mf-0",
        version="SevenNet-MF-0 modal=PBE",
        description="SevenNet-MF-0, multi-fidelity (PBE + r2SCAN heads), read with modal PBE",
        training_data="MPtrj (PBE) + MP-r2SCAN (multi-fidelity)",
        n_params=846_168,
        modal="PBE",
        performance={},
    ),
}
LAYERS = (
    ("embedding",)
    + tuple(f"block{i}" for i in range(1, N_BLOCKS + 1))
    + tuple(f"block{i}-irreps" for i in range(1, N_BLOCKS + 1))
    + ("last",)
)


def info(name: str) -> ModelInfo:
    """Registry metadata of the trained checkpoint ``name`` (a key of :data:`CHECKPOINTS`)."""
    spec = CHECKPOINTS[name]
    return ModelInfo(
        name=name,
        modality="3d",
        family="SevenNet",
        architecture="equivariant",
        training_data=spec["training_data"],
        n_params=spec["n_params"],
        performance=dict(spec["performance"]),
        reference=_REFERENCE,
        package="sevenn",
        input="atoms",
        layers=LAYERS,
        random_weights=False,
        tested_here=True,
        version=spec["version"],
        granularity="atom",
        rotation_invariant=True,  # at every layer except the ``-irreps`` ones
        domains=("materials", "molecules"),
        description=spec["description"] + "; invariant (0e) channels of the node features",
    )


def _atoms(sample: Any) -> Any:
    return sample if hasattr(sample, "get_atomic_numbers") else sample.require("atoms")


def scalar_slices(irreps: Any) -> list[slice]:
    """Column slices of the ``0e`` (rotation- and inversion-invariant) channels of an
    e3nn ``Irreps`` layout."""
    return [sl for (_, ir), sl in zip(irreps, irreps.slices()) if ir.l == 0 and ir.p == 1]


class SevenNetAdapter(ModelAdapter):
    """Node features of one SevenNet checkpoint (see the module docstring for layers).

    Args:
        name: a key of :data:`CHECKPOINTS`.
        weights: optional path to a SevenNet checkpoint (``sevenn.util.load_checkpoint``);
            default is the checkpoint in the ``sevenn`` wheel.
        seed: if given, the random-weights twin: the architecture rebuilt from the
            checkpoint's config (``build_E3_equivariant_model``) with torch seeded by ``seed``;
            frozen statistics (buffers, ``requires_grad=False`` parameters) are kept.
        modal: fidelity of a multi-fidelity model (default from :data:`CHECKPOINTS`).
        batch_size: structures per forward pass (SevenNet's batched mode); 1 is the
            per-structure path (unbatched mode). Default :data:`BATCH_SIZE`.
        threads: torch intra-op threads during extraction (None: leave torch's setting);
            1 by default — see :func:`~matteralign.models._weights.torch_threads`.
    """

    default_batch_size = 32  # samples per atom_features call from embed (forward passes of batch_size)

    def __init__(
        self, name: str = "sevennet-0", weights: Any = None, seed: int | None = None,
        modal: str | None = None, batch_size: int = BATCH_SIZE, threads: int | None = 1,
    ):
        if name not in CHECKPOINTS:
            raise unknown_name("SevenNet checkpoint", name, list(CHECKPOINTS))
        if int(batch_size) < 1:
            raise ValidationError(f"batch_size must be positive; got {batch_size}")
        self.checkpoint = name
        self.weights = weights
        self.seed = seed
        self.modal = modal if modal is not None else CHECKPOINTS[name]["modal"]
        self.batch_size = int(batch_size)
        self.threads = threads
        base = info(name)
        self.info = base if seed is None else random_info(base, seed)
        self._model = None
        self._cutoff: float | None = None

    @property
    def model(self):
        """The ``AtomGraphSequential`` module (loaded on first use, eval mode; each
        :meth:`atom_features` call sets its batched/unbatched mode)."""
        if self._model is None:
            from sevenn import util
            from sevenn.model_build import build_E3_equivariant_model

            path = self.weights or util.pretrained_name_to_path(CHECKPOINTS[self.checkpoint]["key"])
            cp = util.load_checkpoint(str(path))
            if self.seed is None:
                model = cp.build_model()
                config = cp.config
            else:
                config = copy.deepcopy(cp.config)
                config.setdefault("_flash_lammps", False)  # as build_model completes it
                model = seeded(lambda: build_E3_equivariant_model(config), self.seed)
                # the convolution denominator sqrt(avg_num_neigh) is a frozen statistic
                # that a fresh build leaves at 0: the twin keeps the checkpoint's
                if copy_statistics(cp.model_state_dict, model):  # old key names: build it
                    copy_statistics(cp.build_model(), model)
            model.set_is_batch_data(False)
            if model.modal_map and self.modal not in model.modal_map:
                raise ValidationError(
                    f"{self.checkpoint}: modal {self.modal!r} is not one of {sorted(model.modal_map)}"
                )
            self._cutoff = float(config["cutoff"])
            self._model = model.eval()
        return self._model

    def _plan(self, layer: str) -> tuple[str, bool]:
        """(module name whose output holds the layer, whether to keep only 0e channels)."""
        if layer == "embedding":
            return "onehot_to_feature_x", False
        if layer == "last":
            layer = f"block{N_BLOCKS}"
        m = re.fullmatch(r"block(\d+)(-irreps)?", layer)
        assert m is not None, layer
        return f"{int(m.group(1)) - 1}_equivariant_gate", m.group(2) is None

    def atom_features(
        self, samples: Sequence[Any], layer: str = "last", device: str = "cpu"
    ) -> list[np.ndarray]:
        """Node features ``(n_atoms, D)`` (float32) of ``layer`` for each sample.

        Cost: the interaction blocks up to ``layer``, O(n_atoms · neighbours · channels), in
        forward passes of ``batch_size`` structures; no forces.
        """
        import sevenn._keys as KEY
        import torch
        from sevenn.atom_graph_data import AtomGraphData
        from sevenn.train.dataload import unlabeled_atoms_to_graph

        layer = self.resolve_layer(layer)
        model = self.model.to(device)
        target, scalars_only = self._plan(layer)
        cols = None
        if scalars_only and target.endswith("equivariant_gate"):
            cols = scalar_slices(model._modules[target].gate.irreps_out)
        graphs = []
        for s in samples:
            try:
                graph = unlabeled_atoms_to_graph(_atoms(s), self._cutoff, with_shift=False)
            except Exception as exc:
                sid = getattr(s, "id", "?")
                raise ValidationError(f"SevenNet cannot build a graph for sample {sid!r}: {exc}") from exc
            data = AtomGraphData.from_numpy_dict(graph)
            if model.modal_map:
                data[KEY.DATA_MODALITY] = self.modal
            graphs.append(data)
        batched = self.batch_size > 1
        model.set_is_batch_data(batched)
        out: list[np.ndarray] = []
        with torch.no_grad(), torch_threads(self.threads):
            for start in range(0, len(graphs), self.batch_size):
                chunk = graphs[start : start + self.batch_size]
                if batched:
                    from torch_geometric.data import Batch

                    data = Batch.from_data_list(chunk)
                else:
                    data = chunk[0]
                data = model._preprocess(data.to(device))
                for name, module in model._modules.items():
                    data = module(data)
                    if name == target:
                        break
                x = data[KEY.NODE_FEATURE].detach()
                if cols is not None:
                    x = torch.cat([x[:, sl] for sl in cols], dim=1)
                x = x.cpu().numpy()
                sizes = [int(g[KEY.NUM_ATOMS]) for g in chunk]
                if x.shape[0] != sum(sizes):  # pragma: no cover - a changed sevenn layout
                    raise ValidationError(
                        f"SevenNet returned {x.shape[0]} node rows for {sum(sizes)} atoms"
                    )
                out.extend(np.split(x, np.cumsum(sizes)[:-1]))
        return out

def _available():
    return availability(None, "sevenn", "models")


def _factory(name: str, weights: Any = None, seed: int | None = None) -> SevenNetAdapter:
    return SevenNetAdapter(name, weights=weights, seed=seed)


def register(registry: Any) -> None:
    """Register every SevenNet checkpoint and its random-weights twin."""
    for name in CHECKPOINTS:
        register_with_twin(registry, info(name), partial(_factory, name), available=_available)
