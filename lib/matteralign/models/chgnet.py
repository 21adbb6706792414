"""CHGNet (Deng et al., Nat. Mach. Intell. 5, 1031 (2023)): atom features of the pretrained
checkpoints that ship inside the ``chgnet`` wheel, and their random-weights twins.

Registered models: ``chgnet-0.3.0``, ``chgnet-0.2.0``, ``chgnet-r2scan`` (the r2SCAN
transfer-learned model) and ``<name>-random`` for each.

Layers (all ``(n_atoms, 64)``, rotation and permutation invariant):

- ``embedding``: the element embedding (``atom_embedding``), before any message passing;
- ``conv1`` … ``conv4``: the atom features after each ``AtomConv`` interaction block;
  ``conv3`` is what CHGNet itself returns with ``return_atom_feas=True``;
- ``last`` (default): the features the energy readout MLP reads — ``conv4`` passed through
  ``readout_norm`` (a LayerNorm in 0.3.0 and r2SCAN; 0.2.0 has none, so ``last`` = ``conv4``).

Features are read by forward hooks on those modules during ``CHGNet.forward(task="e")``
under ``torch.no_grad()``: no forces, stresses or magnetic moments are computed.

Structures: a periodic ``ase.Atoms`` (``pbc`` all true, full-rank cell) is converted to a
pymatgen ``Structure`` as is. CHGNet only reads periodic crystals, so a molecule (``pbc`` all
false) is put in an orthorhombic box with :data:`VACUUM` Å of empty space on every side; the
gap between periodic images (2·VACUUM = 20 Å) exceeds CHGNet's 6 Å cutoff, so the graph
— and hence the features — are those of the isolated molecule, independent of its
orientation. Mixed periodicity (slabs) is refused.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from matteralign.errors import ValidationError, unknown_name
from matteralign.models._random import copy_statistics, random_info, register_with_twin, seeded
from matteralign.models._weights import availability, torch_threads
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["BATCH_SIZE", "CHECKPOINTS", "VACUUM", "CHGNetAdapter", "register", "to_structure"]

VACUUM = 10.0  # Å of empty space around a molecule in its box
BATCH_SIZE = 16  # structures per forward pass; chosen by benchmarks/extraction.py --batching
_MBD = "Matbench Discovery, unique-prototypes test set (models/chgnet/chgnet-0.3.0.yml)"
_REFERENCE = "Deng et al., Nat. Mach. Intell. 5, 1031 (2023); arXiv:2302.14231"

# name -> chgnet model_name, description, training data, n_params (counted from the loaded
# model; a test checks it) and published performance (None/absent where not published)
CHECKPOINTS: dict[str, dict[str, Any]] = {
    "chgnet-0.3.0": dict(
        model_name="0.3.0",
        description="CHGNet 0.3.0, the current MPtrj-pretrained checkpoint",
        training_data="MPtrj",
        n_params=412_525,
        performance={"matbench_f1": 0.613, "matbench_energy_mae_ev_per_atom": 0.063, "source": _MBD},
    ),
    "chgnet-0.2.0": dict(
        model_name="0.2.0",
        description="CHGNet 0.2.0, the original (deprecated) MPtrj checkpoint",
        training_data="MPtrj",
        n_params=400_438,
        performance={},
    ),
    "chgnet-r2scan": dict(
        model_name="r2scan",
        description="CHGNet transfer-learned to r2SCAN energies (MP-r2SCAN)",
        training_data="MPtrj (pretraining) + MP-r2SCAN (transfer learning)",
        n_params=412_525,
        performance={},
    ),
}
LAYERS = ("embedding", "conv1", "conv2", "conv3", "conv4", "last")


def info(name: str) -> ModelInfo:
    """Registry metadata of the trained checkpoint ``name`` (a key of :data:`CHECKPOINTS`)."""
    spec = CHECKPOINTS[name]
    return ModelInfo(
        name=name,
        modality="3d",
        family="CHGNet",
        architecture="invariant",
        training_data=spec["training_data"],
        n_params=spec["n_params"],
        performance=dict(spec["performance"]),
        reference=_REFERENCE,
        package="chgnet",
        input="atoms",
        layers=LAYERS,
        random_weights=False,
        tested_here=True,
        version=spec["model_name"],
        granularity="atom",
        rotation_invariant=True,
        domains=("materials", "molecules"),
        description=spec["description"],
    )


def to_structure(atoms: Any, vacuum: float = VACUUM):
    """An ``ase.Atoms`` as a pymatgen ``Structure``; molecules go into a vacuum box.

    Args:
        atoms: periodic (``pbc`` all true) or non-periodic (``pbc`` all false) ``ase.Atoms``.
        vacuum: empty space (Å) on every side of a non-periodic structure.

    Returns:
        ``pymatgen.core.Structure``. O(n_atoms).

    >>> from ase.build import molecule
    >>> s = to_structure(molecule("H2O"))
    >>> len(s), round(min(s.lattice.abc), 1) >= 20.0
    (3, True)
    """
    from pymatgen.core import Lattice, Structure

    pbc = np.asarray(atoms.pbc, dtype=bool)
    numbers = atoms.get_atomic_numbers()
    positions = atoms.get_positions()
    if pbc.all() and atoms.cell.rank == 3:
        return Structure(Lattice(atoms.cell.array), numbers, positions, coords_are_cartesian=True)
    if pbc.any():
        raise ValidationError(
            f"CHGNet needs a fully periodic crystal or a molecule (pbc all false); got pbc={pbc.tolist()}"
        )
    shifted = positions - positions.min(axis=0) + vacuum
    lengths = shifted.max(axis=0) + vacuum
    return Structure(Lattice(np.diag(lengths)), numbers, shifted, coords_are_cartesian=True)


def _atoms(sample: Any) -> Any:
    return sample if hasattr(sample, "get_atomic_numbers") else sample.require("atoms")


class CHGNetAdapter(ModelAdapter):
    """Hidden atom features of one CHGNet checkpoint (see the module docstring for layers).

    Args:
        name: a key of :data:`CHECKPOINTS`.
        weights: optional path to a CHGNet checkpoint file (``CHGNet.from_file``), e.g. a
            fine-tuned model; default is the checkpoint in the ``chgnet`` wheel.
        seed: if given, the random-weights twin: the same architecture rebuilt from the
            checkpoint's ``model_args`` with torch seeded by ``seed``.
        batch_size: structures per forward pass (CHGNet's own batched forward: the graphs
            are joined by ``BatchedGraph.from_graphs``); 1 is the per-structure path.
            Default :data:`BATCH_SIZE`.
        threads: torch intra-op threads during extraction (None: leave torch's setting);
            1 by default — see :func:`~matteralign.models._weights.torch_threads`.
    """

    default_batch_size = 32  # samples per atom_features call from embed (forward passes of batch_size)

    def __init__(
        self, name: str = "chgnet-0.3.0", weights: Any = None, seed: int | None = None,
        batch_size: int = BATCH_SIZE, threads: int | None = 1,
    ):
        if name not in CHECKPOINTS:
            raise unknown_name("CHGNet checkpoint", name, list(CHECKPOINTS))
        if int(batch_size) < 1:
            raise ValidationError(f"batch_size must be positive; got {batch_size}")
        self.checkpoint = name
        self.weights = weights
        self.seed = seed
        self.batch_size = int(batch_size)
        self.threads = threads
        base = info(name)
        self.info = base if seed is None else random_info(base, seed)
        self._model = None

    @property
    def model(self):
        """The ``chgnet.model.CHGNet`` module (loaded on first use, eval mode)."""
        if self._model is None:
            from chgnet.model import CHGNet

            with contextlib.redirect_stdout(io.StringIO()):  # CHGNet prints on construction
                if self.weights is not None:
                    model = CHGNet.from_file(str(self.weights))
                else:
                    model = CHGNet.load(
                        model_name=CHECKPOINTS[self.checkpoint]["model_name"],
                        use_device="cpu", verbose=False,
                    )
                if self.seed is not None:
                    args = dict(model.model_args)
                    twin = seeded(lambda: CHGNet(**args), self.seed)
                    copy_statistics(model, twin)  # frozen AtomRef energies only
                    model = twin
            self._model = model.eval()
        return self._model

    def _modules(self) -> dict[str, Any]:
        m = self.model
        mods = {"embedding": m.atom_embedding}
        for i, conv in enumerate(m.atom_conv_layers, start=1):
            mods[f"conv{i}"] = conv
        mods["last"] = m.readout_norm if m.readout_norm is not None else m.atom_conv_layers[-1]
        return mods

    def atom_features(
        self, samples: Sequence[Any], layer: str = "last", device: str = "cpu"
    ) -> list[np.ndarray]:
        """Features ``(n_atoms, 64)`` (float32) of ``layer`` for each sample.

        Cost: one CHGNet energy forward pass per batch, O(n_atoms · neighbours).
        """
        import torch

        layer = self.resolve_layer(layer)
        model = self.model.to(device)
        # an atom with no neighbour within 6 Å (a few MPtrj frames have one) still has its own
        # features — its embedding, updated by the bond-free parts of each layer; CHGNet's
        # converter refuses such structures by default, which would drop them from every
        # comparison, so it warns instead (chgnet's own message names the structure)
        model.graph_converter.on_isolated_atoms = "warn"
        module = self._modules()[layer]
        graphs = []
        for s in samples:
            try:
                graphs.append(model.graph_converter(to_structure(_atoms(s))))
            except ValidationError:
                raise
            except Exception as exc:  # isolated atoms, empty structures …
                sid = getattr(s, "id", "?")
                raise ValidationError(f"CHGNet cannot build a graph for sample {sid!r}: {exc}") from exc
        captured: list[torch.Tensor] = []
        handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out.detach()))
        out: list[np.ndarray] = []
        try:
            with torch.no_grad(), torch_threads(self.threads):
                for start in range(0, len(graphs), self.batch_size):
                    batch = [g.to(device) for g in graphs[start : start + self.batch_size]]
                    captured.clear()
                    model(batch, task="e")
                    feats = captured[-1].cpu().numpy()
                    sizes = [int(g.atomic_number.shape[0]) for g in batch]
                    out.extend(np.split(feats, np.cumsum(sizes)[:-1]))
        finally:
            handle.remove()
        return out


def _available():
    return availability(None, "chgnet", "models")


def _factory(name: str, weights: Any = None, seed: int | None = None) -> CHGNetAdapter:
    return CHGNetAdapter(name, weights=weights, seed=seed)


def register(registry: Any) -> None:
    """Register every CHGNet checkpoint and its random-weights twin."""
    for name in CHECKPOINTS:
        register_with_twin(registry, info(name), partial(_factory, name), available=_available)
