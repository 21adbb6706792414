"""The data model: labelled embeddings and alignment tensors (xarray).

Two objects travel between the stages of matteralign:

* **Embeddings** — one model's representation of one dataset: an
  :class:`xarray.DataArray` with dims ``(sample, feature)``. The ``sample`` coordinate holds
  the dataset's stable sample ids; ``attrs`` record ``model``, ``layer``, ``pooling``,
  ``dtype``, ``dataset``, ``dataset_version`` and ``matteralign_version``. Many models over
  one dataset form an :class:`xarray.Dataset` (:func:`collect`), one variable per model, each
  with its own feature dimension ``feature_<model>``.
* **Alignment tensor** — an :class:`xarray.DataArray` with dims ``(metric, model_a,
  model_b)`` (plus ``dataset`` when several are stacked); the model dims carry the registry
  metadata as coordinates ``<key>_a`` / ``<key>_b`` (modality, family, training data,
  parameter count, published score …) and ``attrs`` record every metric parameter.

Both round-trip through netCDF with :func:`matteralign.io.save` / :func:`matteralign.io.load`.

Examples
--------
>>> import numpy as np
>>> emb = embeddings(np.eye(3), ["a", "b", "c"], model="toy", dataset="demo")
>>> emb.dims, emb["sample"].values.tolist()
(('sample', 'feature'), ['a', 'b', 'c'])
>>> emb.attrs["model"], emb.attrs["pooling"]
('toy', 'mean')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from matteralign._version import __version__
from matteralign.errors import ValidationError

__all__ = [
    "SAMPLE",
    "FEATURE",
    "METRIC",
    "MODEL_A",
    "MODEL_B",
    "DATASET",
    "embeddings",
    "validate_embeddings",
    "collect",
    "as_array",
    "check_same_samples",
    "require_samples",
    "alignment_tensor",
    "model_metadata_coords",
]

SAMPLE, FEATURE = "sample", "feature"
METRIC, MODEL_A, MODEL_B, DATASET = "metric", "model_a", "model_b", "dataset"


# --------------------------------------------------------------------------- embeddings
def embeddings(
    values: Any,
    sample_ids: Sequence[Any],
    *,
    model: str,
    dataset: str,
    layer: str | int | None = "last",
    pooling: str = "mean",
    dataset_version: str = "",
    model_version: str = "",
    feature_names: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> xr.DataArray:
    """Wrap a ``(N, D)`` array as labelled Embeddings.

    Args:
        values: array-like of shape ``(N, D)``, one row per sample.
        sample_ids: ``N`` stable, unique sample ids (str or int).
        model, dataset: names of the model and dataset (recorded in ``attrs``).
        layer, pooling: which hidden layer and how atoms/tokens were pooled.
        dataset_version, model_version: provenance recorded in ``attrs``.
        feature_names: optional names for the ``feature`` coordinate.
        attrs: further attributes to record.
        validate: run :func:`validate_embeddings` (NaN/inf, duplicate ids).

    Returns:
        ``xarray.DataArray`` with dims ``(sample, feature)``.

    Raises:
        ValidationError: wrong shape, length mismatch, NaN/inf, duplicate ids.
    """
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValidationError(
            f"embeddings of model {model!r} must be 2-D (sample, feature); got shape {arr.shape}"
        )
    ids = np.asarray(list(sample_ids))
    if ids.shape[0] != arr.shape[0]:
        raise ValidationError(
            f"model {model!r}: {arr.shape[0]} embedding rows but {ids.shape[0]} sample ids"
        )
    coords: dict[str, Any] = {SAMPLE: ids}
    if feature_names is not None:
        coords[FEATURE] = np.asarray(list(feature_names))
    all_attrs = {
        "model": str(model),
        "dataset": str(dataset),
        "layer": "last" if layer is None else layer,
        "pooling": str(pooling),
        "dtype": str(arr.dtype),
        "dataset_version": str(dataset_version),
        "model_version": str(model_version),
        "matteralign_version": __version__,
    }
    if attrs:
        all_attrs.update(attrs)
    da = xr.DataArray(arr, dims=(SAMPLE, FEATURE), coords=coords, name=str(model), attrs=all_attrs)
    if validate:
        validate_embeddings(da)
    return da


def _model_name(da: xr.DataArray) -> str:
    return str(da.attrs.get("model", da.name if da.name is not None else "<unnamed>"))


def validate_embeddings(da: xr.DataArray) -> xr.DataArray:
    """Check one model's Embeddings; return them unchanged if valid.

    Raises:
        ValidationError: if dims are not ``(sample, feature)``, a value is NaN or infinite
            (the message names the model and the first bad sample), or sample ids repeat.
    """
    name = _model_name(da)
    if tuple(da.dims) != (SAMPLE, FEATURE):
        raise ValidationError(f"embeddings of model {name!r} must have dims (sample, feature); got {da.dims}")
    values = np.asarray(da.values)
    if values.dtype.kind not in "fiub":
        raise ValidationError(f"embeddings of model {name!r} must be numeric; got dtype {values.dtype}")
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            row = int(np.argmin(finite.all(axis=1)))
            col = int(np.argmin(finite[row]))
            sid = str(da[SAMPLE].values[row]) if SAMPLE in da.coords else row
            kind = "NaN" if np.isnan(values[row, col]) else "infinite"
            n_bad = int((~finite.all(axis=1)).sum())
            raise ValidationError(
                f"model {name!r} has {kind} values: first bad sample {sid!r} (row {row}, "
                f"feature {col}); {n_bad} sample(s) affected"
            )
    if SAMPLE in da.coords:
        ids = da[SAMPLE].values
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            dup = uniq[counts > 1]
            raise ValidationError(
                f"model {name!r} has {len(dup)} duplicate sample id(s), e.g. {[str(d) for d in dup[:5]]}"
            )
    return da


def collect(items: Iterable[xr.DataArray] | Mapping[str, xr.DataArray]) -> xr.Dataset:
    """Gather several models' Embeddings of one dataset into an :class:`xarray.Dataset`.

    Each model becomes a variable named after it with its own feature dimension
    ``feature_<model>``; all must share the same sample ids in the same order.

    Raises:
        ValidationError: sample ids differ between models, or a model appears twice.
    """
    das = list(items.values()) if isinstance(items, Mapping) else list(items)
    if not das:
        raise ValidationError("collect() needs at least one Embeddings array")
    ref = das[0]
    out: dict[str, xr.DataArray] = {}
    datasets = set()
    for da in das:
        validate_embeddings(da)
        name = _model_name(da)
        if name in out:
            raise ValidationError(f"model {name!r} appears twice in the collection")
        check_same_samples(ref, da)
        v = da.rename({FEATURE: f"{FEATURE}_{name}"})
        if f"{FEATURE}_{name}" in v.coords:
            v = v.drop_vars(f"{FEATURE}_{name}")
        out[name] = v
        datasets.add(str(da.attrs.get("dataset", "")))
    ds = xr.Dataset(out)
    ds.attrs["dataset"] = ",".join(sorted(datasets))
    ds.attrs["matteralign_version"] = __version__
    return ds


def as_array(x: Any, *, name: str = "input") -> tuple[np.ndarray, np.ndarray | None]:
    """Return ``(values, sample_ids)`` from a NumPy array, Embeddings DataArray or a
    collection variable; ``sample_ids`` is None for plain arrays."""
    if isinstance(x, xr.DataArray):
        ids = x[SAMPLE].values if SAMPLE in x.coords else None
        if x.ndim != 2 or x.dims[0] != SAMPLE:
            raise ValidationError(f"{name}: expected dims (sample, feature); got {x.dims}")
        return np.asarray(x.values), ids
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise ValidationError(f"{name}: expected a 2-D array (N samples, D features); got shape {arr.shape}")
    return arr, None


def check_same_samples(a: xr.DataArray | np.ndarray, b: xr.DataArray | np.ndarray) -> None:
    """Raise unless ``a`` and ``b`` describe the same samples in the same order.

    Plain arrays only need the same number of rows. For Embeddings the ``sample`` coordinates
    must be equal; the message says whether the order differs or how many ids are missing on
    each side, with a few examples.
    """
    ida = a[SAMPLE].values if isinstance(a, xr.DataArray) and SAMPLE in a.coords else None
    idb = b[SAMPLE].values if isinstance(b, xr.DataArray) and SAMPLE in b.coords else None
    na, nb = np.shape(a)[0], np.shape(b)[0]
    name_a = _model_name(a) if isinstance(a, xr.DataArray) else "a"
    name_b = _model_name(b) if isinstance(b, xr.DataArray) else "b"
    if ida is None or idb is None:
        if na != nb:
            raise ValidationError(f"{name_a} has {na} samples but {name_b} has {nb}")
        return
    if na == nb and np.array_equal(ida, idb):
        return
    sa, sb = set(ida.tolist()), set(idb.tolist())
    if sa == sb:
        pos = int(np.argmax(ida != idb))
        raise ValidationError(
            f"{name_a} and {name_b} hold the same {na} sample ids in a different order "
            f"(first difference at row {pos}: {str(ida[pos])!r} vs {str(idb[pos])!r}); "
            "reorder with .sel(sample=other.sample) first"
        )
    only_a, only_b = sorted(sa - sb, key=str), sorted(sb - sa, key=str)
    raise ValidationError(
        f"sample ids differ between {name_a} and {name_b}: {len(only_a)} only in {name_a} "
        f"(e.g. {only_a[:3]}), {len(only_b)} only in {name_b} (e.g. {only_b[:3]})"
    )


def require_samples(n: int, minimum: int, what: str) -> None:
    """Raise a :class:`ValidationError` when ``n < minimum`` samples are given to ``what``."""
    if n < minimum:
        raise ValidationError(f"{what} needs at least {minimum} samples; got {n}")


# --------------------------------------------------------------------------- alignment
def model_metadata_coords(
    models: Sequence[str], metadata: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, tuple[str, np.ndarray]]:
    """Coordinates ``<key>_a`` on ``model_a`` and ``<key>_b`` on ``model_b`` built from a
    ``{model: {key: value}}`` mapping. Missing numbers become NaN, missing strings ``""``."""
    if not metadata:
        return {}
    keys: list[str] = []
    for m in models:
        for key in (metadata.get(m) or {}):
            if key not in keys:
                keys.append(key)
    coords: dict[str, tuple[str, np.ndarray]] = {}
    for key in keys:
        raw = [(metadata.get(m) or {}).get(key) for m in models]
        present = [v for v in raw if v is not None]
        if present and all(isinstance(v, bool | np.bool_) for v in present):
            col = np.array([bool(v) if v is not None else False for v in raw])
        elif present and all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in present):
            col = np.array([float(v) if v is not None else np.nan for v in raw])
        else:
            col = np.array(["" if v is None else str(v) for v in raw], dtype=str)
        coords[f"{key}_a"] = (MODEL_A, col)
        coords[f"{key}_b"] = (MODEL_B, col.copy())
    return coords


def alignment_tensor(
    values: Any,
    *,
    metrics: Sequence[str],
    models: Sequence[str],
    models_b: Sequence[str] | None = None,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    attrs: Mapping[str, Any] | None = None,
    name: str = "alignment",
) -> xr.DataArray:
    """Label a ``(n_metrics, n_models_a, n_models_b)`` array as an alignment tensor.

    Args:
        values: array of shape ``(len(metrics), len(models), len(models_b))``. Entry
            ``[m, i, j]`` is metric ``m`` between model ``i`` (``model_a``) and model ``j``
            (``model_b``); for directed metrics such as information imbalance it is the
            value *from* ``model_a`` *to* ``model_b``.
        metrics: metric names (``metric`` coordinate).
        models: names on ``model_a`` (and on ``model_b`` unless ``models_b`` is given).
        metadata: ``{model: {key: value}}`` registry metadata stored as coordinates.
        attrs: every metric parameter (k, estimator, kernel …), recorded in ``attrs``.

    Returns:
        ``xarray.DataArray`` with dims ``(metric, model_a, model_b)``.

    Examples:
        >>> import numpy as np
        >>> t = alignment_tensor(np.ones((1, 2, 2)), metrics=["cknna"], models=["x", "y"],
        ...                      metadata={"x": {"family": "MACE"}, "y": {"family": "Orb"}},
        ...                      attrs={"k": 25})
        >>> t.dims, t["family_a"].values.tolist(), t.attrs["k"]
        (('metric', 'model_a', 'model_b'), ['MACE', 'Orb'], 25)
    """
    arr = np.asarray(values, dtype=float)
    models_b = list(models) if models_b is None else list(models_b)
    shape = (len(metrics), len(models), len(models_b))
    if arr.shape != shape:
        raise ValidationError(f"alignment values have shape {arr.shape}; expected {shape}")
    coords: dict[str, Any] = {METRIC: list(metrics), MODEL_A: list(models), MODEL_B: models_b}
    meta_a = model_metadata_coords(list(models), metadata)
    meta_b = model_metadata_coords(models_b, metadata)
    for key, val in meta_a.items():
        if key.endswith("_a"):
            coords[key] = val
    for key, val in meta_b.items():
        if key.endswith("_b"):
            coords[key] = val
    all_attrs = {"matteralign_version": __version__}
    if attrs:
        all_attrs.update(attrs)
    return xr.DataArray(arr, dims=(METRIC, MODEL_A, MODEL_B), coords=coords, name=name, attrs=all_attrs)
