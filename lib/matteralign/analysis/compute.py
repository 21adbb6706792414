"""From (dataset, models) to a cached alignment tensor — the two calls every notebook makes.

* :func:`embed_models` extracts each model's embeddings of one dataset through the cached
  extraction pipeline (:func:`matteralign.models.extract`, cache under ``data/embeddings``)
  and skips models whose weights are absent, returning what to download for each.
* :func:`cached_alignment` computes :func:`matteralign.metrics.align` once per set of inputs
  and parameters and stores the tensor under ``data/cache/alignment/<digest>.nc``; the
  digest covers every model's provenance (model, version, dataset, version, layer, pooling),
  the ordered sample ids and every metric parameter, so a changed input never reads a stale
  result. A second ``make reproduce`` therefore recomputes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from matteralign import io, tensors
from matteralign.analysis.paths import cache_dir
from matteralign.errors import CorruptFileError, MissingDataError, MissingWeightsError

__all__ = ["load_dataset", "embed_models", "cached_alignment", "cached", "digest",
           "model_metadata"]

_PROVENANCE = ("model", "model_version", "dataset", "dataset_version", "layer", "pooling")


def digest(obj: Any) -> str:
    """A short stable SHA-256 digest of a JSON-able object.

    >>> digest({"k": 25}) == digest({"k": 25}), len(digest([1, 2]))
    (True, 16)
    """
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_dataset(name: str, n_samples: int | None = None, seed: int = 0) -> Any:
    """``matteralign.datasets.load(name, n=n_samples, seed=seed)``."""
    from matteralign import datasets

    return datasets.load(name, n=n_samples, seed=seed)


def embed_models(
    models: Sequence[str],
    dataset: Any,
    *,
    n_samples: int | None = None,
    seed: int = 0,
    layer: str | int | None = "last",
    pooling: str | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[xr.Dataset | None, dict[str, str]]:
    """Embeddings of ``dataset`` by each model (cached), skipping models without weights.

    Args:
        models: registry names.
        dataset: a registered dataset name or a Dataset.
        n_samples, seed: deterministic subset (``dataset.subset(n_samples, seed)``).
        layer, pooling, device: as in :func:`matteralign.models.extract`.
        progress: progress bars.

    Embeddings in the verified store (:mod:`matteralign.store`) are used when they cover the
    requested samples with the same content, model version, layer and pooling; the rest are
    extracted (and cached).

    Returns:
        ``(collection, skipped)``: an ``xarray.Dataset`` with one variable per model that ran
        (None if none did) and ``{model: message}`` for models whose weights or data are
        missing (the message says what to download).
    """
    from matteralign import models as registry

    ds = load_dataset(dataset, n_samples, seed) if isinstance(dataset, str) else \
        (dataset.subset(n_samples, seed) if n_samples is not None else dataset)
    from matteralign import store

    items, skipped = [], {}
    for name in models:
        try:
            stored = store.lookup(registry.get(name), ds, layer, pooling) if store.enabled() \
                else None
            items.append(stored if stored is not None else
                         registry.extract(name, ds, layer, pooling, device=device,
                                          progress=progress))
        except (MissingWeightsError, MissingDataError) as exc:
            skipped[name] = str(exc)
    return (tensors.collect(items) if items else None), skipped


def _key(collection: xr.Dataset, params: Mapping[str, Any]) -> dict[str, Any]:
    models = []
    for name in collection.data_vars:
        attrs = collection[name].attrs
        models.append([str(name), *[str(attrs.get(k, "")) for k in _PROVENANCE]])
    ids = np.asarray(collection[tensors.SAMPLE].values).astype(str)
    return {"models": models, "ids": digest(ids.tolist()), "params": dict(params)}


def cached(kind: str, key: Any, compute: Callable[[], Any], *, use_cache: bool = True) -> Any:
    """Return the DataArray (or Dataset) stored under ``data/cache/<kind>/<digest(key)>.nc``, or compute,
    store (atomically) and return it. An unreadable cache file is recomputed."""
    path = cache_dir(kind) / f"{digest(key)}.nc"
    if use_cache and path.exists():
        try:
            return io.load(path)
        except CorruptFileError:
            path.unlink(missing_ok=True)
    result = compute()
    io.save(result, path)
    return result


def cached_alignment(
    collection: xr.Dataset,
    metrics: Sequence[str] = ("cknna", "dcor"),
    k: int = 25,
    *,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    use_cache: bool = True,
    **align_kwargs: Any,
) -> xr.DataArray:
    """:func:`matteralign.metrics.align` with a result cache (see the module docstring).

    Args:
        collection: embeddings of several models over the same samples.
        metrics, k: as in :func:`~matteralign.metrics.align`.
        metadata: ``{model: {key: value}}`` added as coordinates (not part of the cache key;
            applied after loading).
        use_cache: read and write the cache.
        align_kwargs: further keyword arguments of ``align`` (part of the cache key).

    Returns:
        The alignment tensor ``(metric, model_a, model_b)``.
    """
    from matteralign import metrics as m

    params = {"metrics": list(metrics), "k": int(k), **align_kwargs}
    key = _key(collection, params)
    tensor = cached("alignment", key, lambda: m.align(collection, metrics=tuple(metrics), k=k,
                                                      progress=False, **align_kwargs),
                    use_cache=use_cache)
    if metadata:
        names = [str(v) for v in tensor["model_a"].values]
        extra = tensors.model_metadata_coords(names, metadata)
        tensor = tensor.assign_coords({c: v for c, v in extra.items()})
    return tensor


def model_metadata(names: Sequence[str], keys: Sequence[str] = (
        "modality", "family", "architecture", "training_data", "n_params", "input")) -> dict[str, dict]:
    """``{model: {key: value}}`` from the model registry's :class:`ModelInfo`, plus ``kind``:
    modality and input representation, e.g. ``"descriptor (smiles)"``, ``"3d (atoms)"``,
    ``"3d (atoms), random weights"`` — the annotation of the cross-modality heatmaps."""
    from matteralign import models as registry

    out = {}
    for name in names:
        info = registry.info(name).as_dict()
        meta = {k: info.get(k) for k in keys if k in info}
        kind = f"{info.get('modality', '')} ({info.get('input', '')})"
        meta["kind"] = kind + (", random weights" if info.get("random_weights") else "")
        out[name] = meta
    return out
