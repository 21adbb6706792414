"""The model interface: every adapter answers ``embed`` and nothing else needs to know
which model it is (``ase`` calculators' lesson).

An adapter subclasses :class:`ModelAdapter`, sets ``info`` (a :class:`ModelInfo`), and
implements one hook, :meth:`ModelAdapter.atom_features`: hidden features of shape
``(n_rows, D)`` for each sample of a batch, where the rows are atoms (3D and graph models),
tokens (string and protein models) or a single row for models that describe a whole
structure at once (``ModelInfo.granularity == "structure"``: MBTR, fingerprints …).
Layer and pooling validation, batching, progress, pooling to one vector per sample and the
Embeddings wrapper are shared here.

Pooling (``POOLINGS``): ``mean`` (default), ``sum``, ``max``, and ``cumulants`` — the mean ⊕
variance stack of Chorna et al. (arXiv 2512.05717). Structure-level models have nothing to
pool: their only pooling is ``none`` (the default for them), and asking for another is an
error rather than a silent no-op.

Examples
--------
>>> import numpy as np
>>> pool(np.array([[0.0, 2.0], [2.0, 4.0]]), "cumulants").tolist()
[1.0, 3.0, 1.0, 1.0]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from matteralign.errors import ValidationError

__all__ = [
    "ModelInfo",
    "ModelAdapter",
    "POOLINGS",
    "GLOBAL_POOLING",
    "pool",
    "as_dataset",
]

POOLINGS = ("mean", "sum", "max", "cumulants")
GLOBAL_POOLING = "none"
MODALITIES = ("string", "graph", "3d", "protein", "descriptor")
INPUTS = ("atoms", "smiles", "sequence")


@dataclass(frozen=True)
class ModelInfo:
    """Registry metadata of one model.

    Attributes:
        name: registry name (lower case, ``-`` separated).
        modality: ``"string" | "graph" | "3d" | "protein" | "descriptor"``.
        family: model family (``"MACE"``, ``"Orb"``, ``"SOAP"`` …).
        architecture: ``"equivariant" | "invariant" | "learned-symmetry" |
            "fixed-descriptor" | "transformer"`` ….
        training_data: training corpus (``""`` for fixed descriptors).
        n_params: number of trainable parameters (None when unknown or not a network).
        performance: published scores with their source, e.g.
            ``{"matbench_discovery_f1": 0.61, "energy_mae_eV_atom": 0.03, "source": "..."}``.
        reference: citation (paper or documentation).
        package: pip package / extra that provides the model.
        input: which :class:`~matteralign.datasets.base.Sample` representation it reads:
            ``"atoms" | "smiles" | "sequence"``.
        layers: hidden layers it can expose, shallow to deep; ``"last"`` always means the
            deepest.
        random_weights: True for randomly initialised baselines.
        tested_here: True when the adapter has run on this project's test machine.
        version: model (checkpoint or descriptor-parameter) version; part of the cache key.
        granularity: ``"atom"`` (rows are atoms), ``"token"`` (rows are tokens) or
            ``"structure"`` (one row per structure; pooling ``"none"`` only).
        rotation_invariant: the pooled vector does not change when the structure is rotated
            (False for equivariant ``l > 0`` features). The model battery checks it.
        domains: the dataset domains the model applies to (``"molecules"``,
            ``"materials"``, ``"biomolecules"``, ``"proteins"``); empty means any.
        description: one line shown by ``matteralign models``.
    """

    name: str
    modality: str  # "string" | "graph" | "3d" | "protein" | "descriptor"
    family: str
    architecture: str  # "equivariant" | "invariant" | "learned-symmetry" | "fixed-descriptor" | "transformer" ...
    training_data: str = ""
    n_params: int | None = None
    performance: dict[str, Any] = field(default_factory=dict)  # e.g. {"matbench_f1": 0.6, "source": "..."}
    reference: str = ""
    package: str = ""  # pip extra / package that provides it
    input: str = "atoms"  # which Sample representation it reads: "atoms" | "smiles" | "sequence"
    layers: tuple[str, ...] = ("last",)
    random_weights: bool = False
    tested_here: bool = True
    version: str = ""
    granularity: str = "atom"  # "atom" | "token" | "structure"
    rotation_invariant: bool = True
    domains: tuple[str, ...] = ()
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def poolings(self) -> tuple[str, ...]:
        """The poolings this model accepts; the first is its default."""
        return (GLOBAL_POOLING,) if self.granularity == "structure" else POOLINGS


def pool(features: np.ndarray, pooling: str = "mean") -> np.ndarray:
    """Pool ``(n_atoms, D)`` features to one vector.

    ``mean`` = (1/n) Σ_i f_i, ``sum`` = Σ_i f_i, ``max`` = max_i f_i (per feature), all
    ``(D,)``; ``cumulants`` = mean ⊕ (1/n) Σ_i (f_i − mean)², ``(2D,)`` (Chorna et al.,
    arXiv 2512.05717). ``none`` takes the single row of a structure-level feature.

    Args:
        features: array ``(n_atoms >= 1, D)``.
        pooling: one of ``POOLINGS`` or ``"none"``.

    Returns:
        float64 vector, ``(D,)`` or ``(2D,)``. Cost O(n·D).

    Raises:
        ValidationError: empty or non-2-D features, unknown pooling, or ``none`` with more
            than one row.

    >>> pool(np.array([[1.0, 5.0], [3.0, 1.0]]), "max").tolist()
    [3.0, 5.0]
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] == 0:
        raise ValidationError(f"features must be (n_atoms >= 1, D); got {f.shape}")
    if pooling == "mean":
        return f.mean(axis=0)
    if pooling == "sum":
        return f.sum(axis=0)
    if pooling == "max":
        return f.max(axis=0)
    if pooling == "cumulants":
        return np.concatenate([f.mean(axis=0), f.var(axis=0)])
    if pooling == GLOBAL_POOLING:
        if f.shape[0] != 1:
            raise ValidationError(f"pooling 'none' needs one row per structure; got {f.shape[0]}")
        return f[0]
    raise ValidationError(f"unknown pooling {pooling!r}; choose from {POOLINGS + (GLOBAL_POOLING,)}")


def as_dataset(data: Any):
    """Accept a :class:`~matteralign.datasets.base.Dataset`, a sequence of ``Sample`` or a
    sequence of :class:`ase.Atoms` (ids ``"0"``, ``"1"`` …) and return a Dataset."""
    from matteralign.datasets.base import Dataset, DatasetInfo, Sample

    if isinstance(data, Dataset):
        return data
    items = list(data)
    if all(isinstance(s, Sample) for s in items):
        samples = items
    else:
        import ase

        if not all(isinstance(a, ase.Atoms) for a in items):
            raise ValidationError(
                "expected a Dataset, a list of Sample or a list of ase.Atoms; got "
                f"{sorted({type(s).__name__ for s in items})}"
            )
        samples = [Sample(id=str(i), atoms=a) for i, a in enumerate(items)]
    return Dataset(DatasetInfo(name="adhoc", domain=""), samples)


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ModelAdapter(ABC):
    """Base class of every model adapter.

    Subclasses set ``info`` and implement :meth:`atom_features`; everything else
    (validation, batching, pooling, labelling) is shared. ``default_batch_size`` is the
    number of samples handed to :meth:`atom_features` at once.
    """

    info: ModelInfo
    default_batch_size: int = 32
    weights_tag: str = ""  # set by the registry when custom weights are loaded

    @abstractmethod
    def atom_features(
        self, samples: Sequence[Any], layer: str = "last", device: str = "cpu"
    ) -> list[np.ndarray]:
        """Hidden features ``(n_rows, D)`` for each sample in ``samples``.

        Rows are atoms (in the order of ``sample.atoms``), tokens, or one row for a
        structure-level model. ``layer`` is one of ``info.layers`` (``"last"`` already
        resolved when ``"last"`` is not itself a layer name).
        """

    # ------------------------------------------------------------------ validation
    @property
    def name(self) -> str:
        return self.info.name

    @property
    def version(self) -> str:
        """Model version used in cache keys (checkpoint version, plus a digest of custom
        weights when they were given)."""
        v = self.info.version or "v0"
        return f"{v}+{self.weights_tag}" if self.weights_tag else v

    def resolve_layer(self, layer: str | int | None = "last") -> str:
        """Return the layer name for ``layer``; ``"last"`` (or None) is the deepest one,
        an int indexes ``info.layers``.

        Raises:
            ValidationError: unknown layer (the message lists the valid ones).
        """
        layers = tuple(self.info.layers)
        if layer is None or layer == "last":
            return "last" if "last" in layers else layers[-1]
        if isinstance(layer, int | np.integer) and not isinstance(layer, bool):
            if -len(layers) <= int(layer) < len(layers):
                return layers[int(layer)]
        elif str(layer) in layers:
            return str(layer)
        raise ValidationError(
            f"model {self.name!r} has no layer {layer!r}; valid layers: {', '.join(layers)}"
        )

    def resolve_pooling(self, pooling: str | None = None) -> str:
        """Return the pooling to use (None: the model's default).

        Raises:
            ValidationError: unknown pooling, or a pooling a structure-level model cannot do.
        """
        valid = self.info.poolings
        if pooling is None:
            return valid[0]
        if pooling in valid:
            return pooling
        if pooling in POOLINGS:
            raise ValidationError(
                f"model {self.name!r} computes one vector per structure (granularity "
                f"'structure'), so there is nothing to pool; use pooling 'none' (the default)"
            )
        raise ValidationError(
            f"unknown pooling {pooling!r} for model {self.name!r}; choose from {', '.join(valid)}"
        )

    def check_sample(self, sample: Any) -> None:
        """Raise :class:`ValidationError` naming ``sample`` when it lacks what the model
        reads (``info.input``). Adapters that can fall back on another representation
        override this."""
        sample.require(self.info.input)

    # ------------------------------------------------------------------ features
    def _features(self, samples: Sequence[Any], layer: str, device: str) -> list[np.ndarray]:
        feats = self.atom_features(samples, layer=layer, device=device)
        if len(feats) != len(samples):
            raise ValidationError(
                f"model {self.name!r} returned {len(feats)} feature arrays for {len(samples)} samples"
            )
        out = []
        for s, f in zip(samples, feats, strict=True):
            a = np.asarray(f)
            if a.ndim != 2 or a.shape[0] == 0:
                raise ValidationError(
                    f"model {self.name!r} returned features of shape {a.shape} for sample "
                    f"{s.id!r}; expected (n_rows >= 1, D)"
                )
            out.append(a)
        return out

    def _prepare(self, dataset: Any, layer, device: str):
        ds = as_dataset(dataset)
        layer_name = self.resolve_layer(layer)
        if device != "cpu" and str(device).startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise ValidationError(f"device {device!r} requested but CUDA is not available here")
        for s in ds:
            self.check_sample(s)
        return ds, layer_name

    def embed(
        self,
        dataset: Any,
        layer: str | int | None = "last",
        pooling: str | None = None,
        batch_size: int | None = None,
        device: str = "cpu",
        progress: bool = True,
    ) -> xr.DataArray:
        """One vector per sample: the model's features at ``layer`` pooled over atoms/tokens.

        Args:
            dataset: a Dataset (or a list of Sample / ase.Atoms).
            layer: one of ``info.layers`` or ``"last"`` (deepest), or an int index.
            pooling: ``mean`` (default for atom/token models), ``sum``, ``max``,
                ``cumulants`` (mean ⊕ variance, 2D features), or ``none`` (structure-level
                models, their only choice).
            batch_size: samples per call of :meth:`atom_features` (default
                ``default_batch_size``).
            device: ``"cpu"`` or ``"cuda"``; ignored by descriptor models.
            progress: show a tqdm progress bar.

        Returns:
            Embeddings ``(sample, feature)`` with provenance attrs (model, model_version,
            layer, pooling, dataset, dataset_version, modality, family, architecture,
            training_data, random_weights).

        Raises:
            ValidationError: unknown layer or pooling, or a sample without the
                representation the model reads (the message names it).
            MissingWeightsError: the model's weights are not on this machine.
        """
        from matteralign.tensors import embeddings

        ds, layer_name = self._prepare(dataset, layer, device)
        pooling = self.resolve_pooling(pooling)
        samples = list(ds)
        size = int(batch_size or self.default_batch_size)
        if size < 1:
            raise ValidationError(f"batch_size must be positive; got {batch_size}")
        rows: list[np.ndarray] = []
        bar = _progress(len(samples), f"{self.name} · {ds.name}", progress)
        try:
            for batch in _batches(samples, size):
                rows.extend(pool(f, pooling) for f in self._features(batch, layer_name, device))
                bar.update(len(batch))
        finally:
            bar.close()
        if rows:
            dims = {r.shape[0] for r in rows}
            if len(dims) != 1:
                raise ValidationError(f"model {self.name!r} returned features of varying width {sorted(dims)}")
            values = np.stack(rows)
        else:
            values = np.zeros((0, 0))
        return embeddings(
            values,
            [s.id for s in samples],
            model=self.name,
            dataset=ds.name,
            layer=layer_name,
            pooling=pooling,
            dataset_version=ds.version,
            model_version=self.version,
            attrs=self.provenance(),
        )

    def provenance(self) -> dict[str, Any]:
        """Registry metadata recorded in the attrs of every Embeddings of this model."""
        i = self.info
        return {
            "modality": i.modality,
            "family": i.family,
            "architecture": i.architecture,
            "training_data": i.training_data,
            "random_weights": bool(i.random_weights),
            "model_input": i.input,
            "granularity": i.granularity,
        }

    def embed_atoms(
        self, dataset: Any, layer: str | int | None = "last", batch_size: int | None = None,
        device: str = "cpu", progress: bool = True,
    ) -> xr.DataArray:
        """Per-atom (or per-token) features of every sample, concatenated.

        Returns:
            ``xarray.DataArray`` with dims ``(atom, feature)`` and coordinates on ``atom``:
            ``sample`` (the id of the sample each row belongs to), ``index`` (position
            within its sample) and ``element`` (chemical symbol, ``""`` when rows are not
            atoms). Memory O(total atoms · D).

        Raises:
            ValidationError: structure-level models (no atoms to return), bad layer/sample.
        """
        if self.info.granularity == "structure":
            raise ValidationError(
                f"model {self.name!r} computes one vector per structure; it has no per-atom features"
            )
        ds, layer_name = self._prepare(dataset, layer, device)
        samples = list(ds)
        size = int(batch_size or self.default_batch_size)
        blocks, sid, idx, elem = [], [], [], []
        bar = _progress(len(samples), f"{self.name} · {ds.name} (atoms)", progress)
        try:
            for batch in _batches(samples, size):
                for s, f in zip(batch, self._features(batch, layer_name, device), strict=True):
                    blocks.append(np.asarray(f, dtype=np.float64))
                    n = f.shape[0]
                    sid.extend([s.id] * n)
                    idx.extend(range(n))
                    symbols = s.atoms.get_chemical_symbols() if s.atoms is not None else []
                    elem.extend(symbols if len(symbols) == n else [""] * n)
                bar.update(len(batch))
        finally:
            bar.close()
        values = np.concatenate(blocks) if blocks else np.zeros((0, 0))
        attrs = {
            "model": self.name, "dataset": ds.name, "layer": layer_name, "pooling": "atoms",
            "dataset_version": ds.version, "model_version": self.version, **self.provenance(),
        }
        return xr.DataArray(
            values, dims=("atom", "feature"),
            coords={"sample": ("atom", np.asarray(sid)), "index": ("atom", np.asarray(idx, dtype=int)),
                    "element": ("atom", np.asarray(elem, dtype=str))},
            name=self.name, attrs=attrs,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.info.modality}, {self.info.family})>"


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="struct")
