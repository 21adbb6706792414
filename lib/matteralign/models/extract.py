"""The extraction pipeline: batched, cached, resumable, on one process or a Dask cluster.

:func:`extract` embeds one dataset with one model and caches the result under::

    <cache_dir>/<dataset>/<model>/
      <layer>-<pooling>-<model_version>-<dataset_version>-n<N>-<ids>-<content>/
        chunk-00000.nc  chunk-00001.nc  ...   (while running; removed once assembled)
        embeddings.nc                         (the result)

``<ids>`` is a digest of the ordered sample ids, so any subset (``n``, ``seed``) or reordering
gets its own key, as does any change of model, dataset, layer, pooling, model version
(including a digest of custom ``weights``) or dataset version. ``<content>`` is a digest of
what the model reads of each sample (:func:`~matteralign.datasets.base.content_digest`:
atomic numbers, positions, cell, pbc; SMILES; sequence), so a file edited in place, or
another folder whose files have the same names, gets its own key too; each chunk and the
result also record the digest of their samples (attr ``content_digest``) and are checked
against it. Every file is written with :func:`matteralign.io.save` (temporary file, then
rename), so an interrupted run leaves only complete chunks; a rerun keeps them and computes
the rest. A chunk whose sample ids, content or provenance do not match what it should hold,
or that cannot be read, is discarded and recomputed with a one-line :class:`CacheWarning`.
Temporary files of dead processes are removed.

Chunks are contiguous ranges of ``chunk_size`` samples. With ``workers=N`` they are mapped
onto a Dask ``LocalCluster`` (N processes, one thread each); with ``scheduler=ADDRESS`` onto
an existing cluster. Each worker builds the model once (a per-process cache keyed by model
name, version and weights) and returns arrays to the client, which writes the chunks, so
workers need no shared filesystem. Results are identical to the single-process run.

Examples
--------
>>> import tempfile
>>> from ase.build import molecule
>>> emb = extract("composition", [molecule("H2O"), molecule("CH4")],
...               cache_dir=tempfile.mkdtemp(), progress=False)
>>> emb.shape, round(float(emb.sel(sample="0").values[0]), 4)   # H fraction of water
((2, 94), 0.6667)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from matteralign import io, tensors
from matteralign.datasets.base import content_digest
from matteralign.errors import CorruptFileError, MatteralignError, ValidationError
from matteralign.models import registry
from matteralign.models.base import ModelAdapter, ModelInfo, _progress, as_dataset

__all__ = [
    "extract",
    "extract_many",
    "cache_path",
    "samples_digest",
    "default_cache_dir",
    "CacheWarning",
]

FINAL = "embeddings.nc"
CHUNK = "chunk-{:05d}.nc"


class CacheWarning(UserWarning):
    """A cached chunk or result was unreadable or did not hold what it should: it has been
    discarded and is being recomputed (nothing for the user to do)."""


# --------------------------------------------------------------------------- cache keys
def default_cache_dir() -> Path:
    """``$MATTERALIGN_EMBEDDINGS`` if set, else ``data/embeddings`` in the repository this
    package lives in (editable install), else ``./data/embeddings``."""
    env = os.environ.get("MATTERALIGN_EMBEDDINGS")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    if (repo / "pyproject.toml").exists() and (repo / "lib" / "matteralign").is_dir():
        return repo / "data" / "embeddings"
    return Path.cwd() / "data" / "embeddings"


def _slug(value: Any) -> str:
    text = re.sub(r"[^A-Za-z0-9._+=]+", "_", str(value)).strip("_")
    return text or "none"


def ids_digest(ids: Sequence[Any]) -> str:
    """Ten hex digits of SHA-1 over the ordered sample ids."""
    h = hashlib.sha1()
    for i in ids:
        h.update(str(i).encode())
        h.update(b"\0")
    return h.hexdigest()[:10]


def samples_digest(samples: Sequence[Any]) -> str:
    """Ten hex digits of SHA-1 over the ordered per-sample
    :func:`~matteralign.datasets.base.content_digest` of ``samples`` (Sample objects, or
    their content digests as hex strings). Cost O(total atoms)."""
    h = hashlib.sha1()
    for s in samples:
        h.update((s if isinstance(s, str) else content_digest(s)).encode())
    return h.hexdigest()[:10]


def cache_path(
    cache_dir: str | os.PathLike, model: str, dataset: str, layer: str, pooling: str,
    model_version: str, dataset_version: str, ids: Sequence[Any], *, content: str,
) -> Path:
    """The folder that holds one extraction's chunks and result (see module docstring).

    ``content`` is :func:`samples_digest` of the samples (the ``content_digest`` attr of
    the Embeddings :func:`extract` returns)."""
    leaf = "-".join([
        _slug(layer), _slug(pooling), _slug(model_version or "v0"),
        _slug(dataset_version or "v0"), f"n{len(ids)}", ids_digest(ids), _slug(content),
    ])
    return Path(cache_dir) / _slug(dataset) / _slug(model) / leaf


# --------------------------------------------------------------------------- model specs
class _MetaOnly(ModelAdapter):
    """Metadata stand-in: resolves layer/pooling/version without loading the model."""

    def __init__(self, info: ModelInfo, weights_tag: str = ""):
        self.info = info
        self.weights_tag = weights_tag

    def atom_features(self, samples, layer="last", device="cpu"):  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class _ModelSpec:
    """What a worker needs to build a model once: a token and a picklable factory."""

    token: str
    factory: Callable[[], ModelAdapter]


def _build_registered(name: str, weights: str | None) -> ModelAdapter:
    # In a fresh worker process the registry discovers the built-in modules on first use.
    return registry.get(name, weights=weights) if weights else registry.get(name)


def _build_from_entry(factory: Callable[..., ModelAdapter], weights: str | None, tag: str) -> ModelAdapter:
    adapter = factory(weights=weights) if weights else factory()
    if tag:
        adapter.weights_tag = tag
    return adapter


def _return(adapter: ModelAdapter) -> ModelAdapter:
    return adapter


def _spec_for(model: str | ModelAdapter, weights: str | None) -> tuple[ModelAdapter, _ModelSpec, ModelAdapter | None]:
    """(metadata adapter, spec for workers, adapter already built or None)."""
    if isinstance(model, ModelAdapter):
        token = f"{model.name}|{model.version}|{id(model)}"
        return model, _ModelSpec(token, functools.partial(_return, model)), model
    if not isinstance(model, str):
        raise ValidationError(f"model must be a registry name or a ModelAdapter; got {type(model).__name__}")
    e = registry.entry(model)
    tag = registry._weights_tag(weights) if weights else ""
    meta = _MetaOnly(e.info, tag)
    token = f"{model}|{meta.version}"
    if e.origin.startswith("matteralign.models."):
        factory = functools.partial(_build_registered, model, weights)
    else:  # user-registered: ship the factory itself (workers do not know the name)
        factory = functools.partial(_build_from_entry, e.factory, weights, tag)
    return meta, _ModelSpec(token, factory), None


# Per-process model cache used by Dask workers (and counters the tests read).
_WORKER_MODELS: dict[str, ModelAdapter] = {}
WORKER_LOADS: Counter = Counter()


_WORKER_LOCK = threading.Lock()


def _worker_model(spec: _ModelSpec) -> ModelAdapter:
    with _WORKER_LOCK:  # threaded workers share the process: still one load
        adapter = _WORKER_MODELS.get(spec.token)
        if adapter is None:
            adapter = spec.factory()
            _WORKER_MODELS[spec.token] = adapter
            WORKER_LOADS[spec.token] += 1
    return adapter


def _embed_chunk(spec: _ModelSpec, samples: list, layer: str, pooling: str,
                 batch_size: int | None, device: str) -> np.ndarray:
    adapter = _worker_model(spec)
    emb = adapter.embed(samples, layer=layer, pooling=pooling, batch_size=batch_size,
                        device=device, progress=False)
    return np.asarray(emb.values)


# --------------------------------------------------------------------------- chunk files
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temporaries(folder: Path) -> None:
    for tmp in folder.glob(".*.tmp-*"):
        m = re.search(r"\.tmp-(\d+)$", tmp.name)
        if m and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _read_trusted(path: Path, ids: Sequence[Any], expect: dict[str, Any]) -> xr.DataArray | None:
    """The cached array at ``path`` if it holds exactly ``ids`` with provenance ``expect``;
    None (with a CacheWarning) when it is corrupt or mismatched; None when absent."""
    if not path.exists():
        return None
    try:
        da, problem = _check_cached(path, ids, expect)
    except Exception as exc:  # anything unexpected: never trusted
        da, problem = None, f"cannot be checked ({_one_line(exc)})"
    if problem:
        warnings.warn(f"cached {path} {problem}: discarded, recomputing it", CacheWarning,
                      stacklevel=3)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return None
    return da


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or "no message"
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"{type(exc).__name__}: {text}"


def _check_cached(path: Path, ids: Sequence[Any],
                  expect: dict[str, Any]) -> tuple[xr.DataArray | None, str]:
    """(the array, "") when ``path`` holds ``ids`` with attrs ``expect``; else (None, what is
    wrong, phrased to follow "cached <path>")."""
    try:
        da = io.load(path)
    except CorruptFileError as exc:  # truncated or not netCDF: name the cause, not the advice
        return None, f"is unreadable ({_one_line(exc.__cause__ or exc)})"
    if not isinstance(da, xr.DataArray) or tuple(da.dims) != (tensors.SAMPLE, tensors.FEATURE):
        return None, "does not hold an Embeddings array"
    got = [str(i) for i in da[tensors.SAMPLE].values.tolist()]
    if got != [str(i) for i in ids]:
        return None, "holds other samples than expected"
    for key, value in expect.items():
        if str(da.attrs.get(key)) != str(value):
            if key == "content_digest":
                return None, "was computed from other sample content (the structures changed)"
            return None, f"has {key}={da.attrs.get(key)!r}, expected {value!r}"
    try:
        tensors.validate_embeddings(da)
    except ValidationError as exc:
        return None, f"is invalid ({exc})"
    return da, ""


@contextlib.contextmanager
def _dask_client(scheduler: str | None, workers: int | None, processes: bool, client: Any) -> Iterator[Any]:
    """A ``distributed.Client``: the one given, one connected to ``scheduler`` (within
    ``MATTERALIGN_SCHEDULER_TIMEOUT`` seconds, default 5; an unreachable or malformed
    address is one :class:`MatteralignError` line), or one on a new ``LocalCluster``."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler:
        from distributed.comm import get_address_host_port, parse_address

        timeout = float(os.environ.get("MATTERALIGN_SCHEDULER_TIMEOUT") or 5)
        try:  # checked first: a Client that fails to parse leaves a noisy __del__ behind
            if parse_address(scheduler)[0] != "inproc":
                get_address_host_port(scheduler)
        except (ValueError, TypeError) as exc:
            why = " ".join(str(exc).split()) or type(exc).__name__
            raise MatteralignError(f"invalid Dask scheduler address {scheduler!r}: {why}") from None
        try:
            c = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError):
            raise MatteralignError(
                f"could not reach the Dask scheduler at {scheduler} (no answer within "
                f"{timeout:g} s); check that it is running and its address, or use --workers N "
                "for a local cluster"
            ) from None
        try:
            yield c
        finally:
            c.close()
        return
    cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=processes,
                           dashboard_address=None)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


# --------------------------------------------------------------------------- extract
def load_dataset(name: str, n: int | None = None, seed: int = 0):
    """``matteralign.datasets.load(name, n, seed)``, with a clear error where the dataset
    registry is not installed."""
    from matteralign import datasets

    loader = getattr(datasets, "load", None)
    if loader is None:
        raise MatteralignError(
            f"cannot load dataset {name!r}: matteralign.datasets.load is not available in this "
            "installation; pass a Dataset object instead"
        )
    return loader(name, n=n, seed=seed)


def _resolve_dataset(dataset: Any, n: int | None, seed: int):
    if isinstance(dataset, str):
        return load_dataset(dataset, n=n, seed=seed)
    ds = as_dataset(dataset)
    return ds.subset(n, seed) if n is not None else ds


def extract(
    model: str | ModelAdapter,
    dataset: Any,
    layer: str | int | None = "last",
    pooling: str | None = None,
    *,
    n: int | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    chunk_size: int = 256,
    batch_size: int | None = None,
    device: str = "cpu",
    weights: str | os.PathLike | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    client: Any = None,
    progress: bool = True,
    use_cache: bool = True,
) -> xr.DataArray:
    """Embed ``dataset`` with ``model``, reading and writing the embeddings cache.

    Args:
        model: registry name or a :class:`ModelAdapter`.
        dataset: registered dataset name (loaded with ``matteralign.datasets.load``), a
            Dataset, or a list of Sample / ase.Atoms.
        layer, pooling: as in :meth:`ModelAdapter.embed` (pooling None = model default).
        n, seed: take the deterministic subset ``dataset.subset(n, seed)``.
        cache_dir: root of the cache (default :func:`default_cache_dir`).
        chunk_size: samples per chunk file (the unit of resumption and of Dask tasks).
        batch_size: samples per forward pass inside a chunk.
        device: ``"cpu"`` or ``"cuda"``.
        weights: custom checkpoint passed to the model factory (registry names only).
        scheduler: address of a running Dask scheduler; or
        workers: start a ``LocalCluster`` with this many single-threaded workers
            (``processes=False`` uses threads instead of processes); or
        client: an existing ``distributed.Client``.
        progress: tqdm progress bar over samples; it moves after every batch (on a Dask
            cluster after every chunk).
        use_cache: False computes without reading or writing the cache.

    Returns:
        Embeddings ``(sample, feature)``, identical whichever way they were computed; attr
        ``content_digest`` is :func:`samples_digest` of the samples (part of the cache key).
        Cost: one forward pass per uncached sample; a fully cached call hashes the samples'
        content (O(total atoms); +0.08 s on 5000 QM9 molecules), reads one file and does not
        load the model.

    Raises:
        ValidationError: bad layer/pooling/sample, or both ``scheduler`` and ``workers``.
        UnknownNameError: unknown model or dataset name.
        MissingWeightsError: the model's weights are not here (only when something must
            be computed).
    """
    if scheduler and workers:
        raise ValidationError("give either scheduler (an address) or workers (a LocalCluster), not both")
    if workers is not None and int(workers) < 1:
        raise ValidationError(f"workers must be positive; got {workers}")
    if chunk_size < 1:
        raise ValidationError(f"chunk_size must be positive; got {chunk_size}")
    if batch_size is not None and batch_size < 1:
        raise ValidationError(f"batch_size must be positive; got {batch_size}")
    weights = str(weights) if weights is not None else None
    if weights and isinstance(model, ModelAdapter):
        raise ValidationError("weights= applies to registry names; load the adapter with them yourself")
    meta, spec, built = _spec_for(model, weights)
    layer_name = meta.resolve_layer(layer)
    pooling = meta.resolve_pooling(pooling)
    ds = _resolve_dataset(dataset, n, seed)
    samples = list(ds)
    ids = [s.id for s in samples]
    if not samples:
        raise ValidationError(f"dataset {ds.name!r} has no samples")
    attrs = {"model": meta.name, "dataset": ds.name, "layer": layer_name, "pooling": pooling,
             "model_version": meta.version, "dataset_version": ds.version}
    digests = [content_digest(s) for s in samples]
    content = samples_digest(digests)
    folder = cache_path(cache_dir or default_cache_dir(), meta.name, ds.name, layer_name, pooling,
                        meta.version, ds.version, ids, content=content)
    if use_cache:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_stale_temporaries(folder)
        final = _read_trusted(folder / FINAL, ids, {**attrs, "content_digest": content})
        if final is not None:
            return final

    bounds = [(a, min(a + chunk_size, len(samples))) for a in range(0, len(samples), chunk_size)]
    chunk_content = [samples_digest(digests[a:b]) for a, b in bounds]
    parts: dict[int, np.ndarray] = {}
    for c, (a, b) in enumerate(bounds):
        cached = (_read_trusted(folder / CHUNK.format(c), ids[a:b],
                                {**attrs, "content_digest": chunk_content[c]})
                  if use_cache else None)
        if cached is not None:
            parts[c] = np.asarray(cached.values)
    todo = [c for c in range(len(bounds)) if c not in parts]

    def store(c: int, values: np.ndarray) -> None:
        parts[c] = values
        if use_cache:
            a, b = bounds[c]
            io.save(tensors.embeddings(values, ids[a:b], **_emb_kwargs(attrs),
                                       attrs={"chunk": c, "content_digest": chunk_content[c]}),
                    folder / CHUNK.format(c))

    bar = _progress(len(samples), f"{meta.name} · {ds.name}", progress)
    bar.update(sum(bounds[c][1] - bounds[c][0] for c in parts))
    try:
        if todo and (scheduler or workers or client is not None):
            from distributed import as_completed

            with _dask_client(scheduler, workers, processes, client) as cl:
                spec_future = cl.scatter(spec, broadcast=True, hash=False)
                futures = {
                    cl.submit(_embed_chunk, spec_future, samples[bounds[c][0]:bounds[c][1]],
                              layer_name, pooling, batch_size, device, pure=False): c
                    for c in todo
                }
                for fut in as_completed(futures):
                    c = futures[fut]
                    store(c, fut.result())
                    bar.update(bounds[c][1] - bounds[c][0])
        elif todo:
            adapter = built if built is not None else spec.factory()
            size = int(batch_size or adapter.default_batch_size)
            for c in todo:
                # batch by batch, as embed() would batch the chunk, so the bar moves per batch
                rows = []
                for a in range(bounds[c][0], bounds[c][1], size):
                    b = min(a + size, bounds[c][1])
                    emb = adapter.embed(samples[a:b], layer=layer_name, pooling=pooling,
                                        batch_size=size, device=device, progress=False)
                    rows.append(np.asarray(emb.values))
                    bar.update(b - a)
                store(c, _stack(rows, meta.name, "batches"))
    finally:
        bar.close()

    values = _stack([parts[c] for c in range(len(bounds))], meta.name, "chunks")
    result = tensors.embeddings(values, ids, **_emb_kwargs(attrs),
                                attrs={**meta.provenance(), "content_digest": content})
    if use_cache:
        io.save(result, folder / FINAL)
        for c in range(len(bounds)):
            with contextlib.suppress(FileNotFoundError):
                (folder / CHUNK.format(c)).unlink()
    return result


def _stack(blocks: list[np.ndarray], model: str, what: str) -> np.ndarray:
    widths = {b.shape[1] for b in blocks}
    if len(widths) != 1:
        raise ValidationError(
            f"model {model!r} produced {what} of different widths {sorted(widths)}")
    return np.concatenate(blocks)


def _emb_kwargs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: attrs[k] for k in ("model", "dataset", "layer", "pooling", "model_version", "dataset_version")}


def extract_many(
    models: Sequence[str | ModelAdapter],
    dataset: Any,
    layer: str | int | None = "last",
    pooling: str | None = None,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    **kwargs: Any,
) -> xr.Dataset:
    """:func:`extract` for several models over one dataset, gathered with
    :func:`matteralign.tensors.collect` (one variable per model).

    ``pooling=None`` gives each model its default (``mean`` for atom/token models,
    ``none`` for structure-level descriptors). With ``workers`` one LocalCluster serves all
    models. Other keyword arguments go to :func:`extract`.
    """
    if isinstance(dataset, str):
        dataset = _resolve_dataset(dataset, kwargs.pop("n", None), kwargs.pop("seed", 0))
    if scheduler and workers:
        raise ValidationError("give either scheduler (an address) or workers (a LocalCluster), not both")
    if scheduler or workers:
        with _dask_client(scheduler, workers, processes, None) as cl:
            items = [extract(m, dataset, layer, pooling, client=cl, **kwargs) for m in models]
    else:
        items = [extract(m, dataset, layer, pooling, **kwargs) for m in models]
    return tensors.collect(items)
