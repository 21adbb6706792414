"""All-pairs alignment of M models: the alignment tensor ``(metric, model_a, model_b)``.

Each model's kNN graph is built once (at the largest ``k`` needed) and every pair then
costs ``O(N·k²)`` for CKNNA and mutual kNN; CKA reuses each model's centred features and
self-HSIC; distance correlation and information imbalance use their own all-pairs drivers
(:func:`.distance_correlation.distance_correlation_matrix`,
:func:`.information_imbalance.information_imbalance_matrix`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from matteralign.errors import ValidationError, unknown_name
from matteralign.metrics._input import as_matrix, check_k
from matteralign.metrics._sparse import hsic_from_sums, pair_sums
from matteralign.metrics.cka import cka_matrix
from matteralign.metrics.cknna import CKNNA_EPSILON, CKNNA_MAX_K_FRACTION, warn_if_unreliable
from matteralign.metrics.cknna import MIN_SAMPLES as CKNNA_MIN_SAMPLES
from matteralign.metrics.knn import KNN_METRICS, knn_graph
from matteralign.tensors import MODEL_A, MODEL_B, SAMPLE, alignment_tensor, check_same_samples

__all__ = ["align", "align_to_reference", "mean_alignment", "ALIGN_METRICS", "DEFAULT_METRICS"]

ALIGN_METRICS = ("cknna", "mutual_knn", "cka", "dcor", "info_imbalance")
DEFAULT_METRICS = ALIGN_METRICS
_DIRECTED = ("cknna", "info_imbalance")  # [a, b] and [b, a] may differ
_SKIP_ATTRS = {"model", "matteralign_version", "dtype", "dataset_version"}


def _collection(embeddings: Any) -> tuple[list[str], list[Any]]:
    """Model names and per-model arrays/Embeddings from a Dataset, dict or list."""
    if isinstance(embeddings, xr.Dataset):
        names = [str(n) for n in embeddings.data_vars]
        items = [embeddings[n] for n in embeddings.data_vars]
    elif isinstance(embeddings, Mapping):
        names = [str(n) for n in embeddings]
        items = list(embeddings.values())
    elif isinstance(embeddings, Sequence) and not isinstance(embeddings, str | np.ndarray):
        items = list(embeddings)
        names = []
        for i, it in enumerate(items):
            if not isinstance(it, xr.DataArray):
                raise ValidationError("a list given to align() must hold Embeddings (DataArrays "
                                      f"with a 'model' attribute); item {i} is "
                                      f"{type(it).__name__} — pass a dict {{name: array}}")
            names.append(str(it.attrs.get("model", it.name if it.name is not None else i)))
    else:
        raise ValidationError("align() takes an xarray.Dataset from tensors.collect, a dict "
                              f"{{name: array}} or a list of Embeddings; got {type(embeddings).__name__}")
    if len(items) < 1:
        raise ValidationError("align() needs at least one model")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValidationError(f"model names repeat in the collection: {dup}")
    return names, items


def _metadata_from(items: list[Any], names: list[str],
                   metadata: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, it in zip(names, items):
        meta: dict[str, Any] = {}
        if isinstance(it, xr.DataArray):
            for key, val in it.attrs.items():
                if key not in _SKIP_ATTRS and isinstance(val, str | int | float | bool | np.number):
                    meta[key] = val
        if metadata and name in metadata:
            meta.update(metadata[name])
        out[name] = meta
    return out


def _dataset_name(embeddings: Any, items: list[Any]) -> str:
    if isinstance(embeddings, xr.Dataset) and embeddings.attrs.get("dataset"):
        return str(embeddings.attrs["dataset"])
    names = sorted({str(it.attrs.get("dataset", "")) for it in items
                    if isinstance(it, xr.DataArray)} - {""})
    return ",".join(names)


def align(
    embeddings: Any,
    metrics: Sequence[str] = DEFAULT_METRICS,
    k: int = 25,
    *,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    kernel: str = "cosine",
    epsilon: float = CKNNA_EPSILON,
    cka_debiased: bool = False,
    dcor_bias_corrected: bool = False,
    info_imbalance_k: int = 1,
    distance_metric: str = "euclidean",
    dtype: str = "float32",
    block_size: int | None = None,
    progress: bool = True,
) -> xr.DataArray:
    """Every metric between every ordered pair of models: the alignment tensor.

    Entry ``[metric, a, b]`` is ``metric(a, b)``; for directed metrics it is the value *from*
    ``a`` *to* ``b`` (``info_imbalance``: Δ(a→b); ``cknna``: the reference definition is
    not exactly symmetric, both orders are computed). The diagonal is a model against itself.

    Args:
        embeddings: ``xarray.Dataset`` from :func:`matteralign.tensors.collect`, a dict
            ``{model: array | Embeddings}`` or a list of Embeddings — all over the same samples
            in the same order.
        metrics: names among ``cknna``, ``mutual_knn``, ``cka``, ``dcor``, ``info_imbalance``.
        k: neighbours for CKNNA and mutual kNN (each model's graph is built once).
        metadata: ``{model: {key: value}}`` stored as ``<key>_a`` / ``<key>_b`` coordinates,
            merged over scalar attrs of each Embeddings (layer, pooling, dataset, …).
        kernel: ``"cosine"`` (L2-normalised rows, default) or ``"euclidean"`` kNN metric for
            CKNNA / mutual kNN; CKA uses the ``"cosine"`` kernel (rows L2-normalised, unlike
            :func:`~matteralign.metrics.cka`'s textbook default) or ``"linear"``
            correspondingly, recorded as ``attrs["cka_kernel"]``.
        epsilon: CKNNA's ε (reference 1e-6).
        cka_debiased: unbiased-HSIC CKA.
        dcor_bias_corrected: bias-corrected distance correlation.
        info_imbalance_k: neighbours for information imbalance.
        distance_metric: distance for information imbalance.
        dtype: precision of the kNN candidate matmul (see :func:`knn_graph`).
        block_size: rows per kNN block.
        progress: tqdm bars over models and pairs.

    Returns:
        ``xarray.DataArray`` with dims ``(metric, model_a, model_b)``, metadata coordinates and
        ``attrs`` recording every parameter and ``n_samples``, ``dataset``, ``k_fraction``
        (``k/N``) and ``cknna_max_k_fraction`` (:data:`CKNNA_MAX_K_FRACTION`).

    Warns:
        CKNNAReliabilityWarning: once per call, when CKNNA is computed with
            ``k/N > CKNNA_MAX_K_FRACTION`` (see :func:`~matteralign.metrics.cknna`).

    Complexity: ``O(M·N²·D)`` for the graphs, ``O(M²·N·k²)`` for CKNNA and mutual kNN,
    ``O(M²·N·D²)`` for CKA; memory ``O(block·N + M·N·k)``.

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(50, 4))
        >>> t = align({"p": x, "q": x @ rng.normal(size=(4, 3))}, metrics=("mutual_knn", "cka"),
        ...           k=5, progress=False)
        >>> t.dims, t.sel(metric="mutual_knn", model_a="p", model_b="p").item()
        (('metric', 'model_a', 'model_b'), 1.0)
    """
    metrics = [str(m) for m in ([metrics] if isinstance(metrics, str) else metrics)]
    for m in metrics:
        if m not in ALIGN_METRICS:
            raise unknown_name("metric", m, list(ALIGN_METRICS))
    if len(set(metrics)) != len(metrics):
        raise ValidationError(f"metrics repeat: {metrics}")
    if kernel not in KNN_METRICS:
        raise ValidationError(f"unknown kernel {kernel!r}; use one of {KNN_METRICS}")
    names, items = _collection(embeddings)
    for it in items[1:]:
        check_same_samples(items[0], it)
    knn_needed = any(m in ("cknna", "mutual_knn") for m in metrics)
    min_n = CKNNA_MIN_SAMPLES if ("cknna" in metrics or cka_debiased) else 2
    xs = [as_matrix(it, name=nm, min_samples=min_n, what="align()")
          for nm, it in zip(names, items)]
    n = xs[0].shape[0]
    if knn_needed:
        k = check_k(k, n)
    M = len(names)
    values = np.full((len(metrics), M, M), np.nan)
    row = {m: i for i, m in enumerate(metrics)}

    if knn_needed:
        graphs = [knn_graph(x, k, metric=kernel, dtype=dtype, block_size=block_size)
                  for x in tqdm(xs, desc="kNN graphs", disable=not progress, leave=False)]
        selfs = [hsic_from_sums(pair_sums(g, g)) for g in graphs] if "cknna" in metrics else []
        pairs = [(i, j) for i in range(M) for j in range(i, M)]
        for i, j in tqdm(pairs, desc="kNN metric pairs", disable=not progress, leave=False):
            p = pair_sums(graphs[i], graphs[j])
            if "mutual_knn" in metrics:
                values[row["mutual_knn"], i, j] = values[row["mutual_knn"], j, i] = \
                    p.overlap / (n * k)
            if "cknna" in metrics:
                den = np.sqrt(selfs[i] * selfs[j]) if selfs[i] * selfs[j] >= 0 else np.nan
                values[row["cknna"], i, j] = hsic_from_sums(p) / (den + epsilon)
                values[row["cknna"], j, i] = hsic_from_sums(p.swapped()) / (den + epsilon)
        if "cknna" in metrics and M > 1:
            off = values[row["cknna"]][~np.eye(M, dtype=bool)]
            warn_if_unreliable(k, n, f"{np.nanmin(off):.3g} to {np.nanmax(off):.3g} over "
                               f"{M * (M - 1)} ordered pairs of models")
        elif "cknna" in metrics:
            warn_if_unreliable(k, n, f"{values[row['cknna'], 0, 0]:.4g} (one model)")
    if "cka" in metrics:
        with tqdm(total=M * (M + 1) // 2, desc="CKA pairs", disable=not progress,
                  leave=False) as bar:
            values[row["cka"]] = cka_matrix(xs, debiased=cka_debiased,
                                            kernel="cosine" if kernel == "cosine" else "linear",
                                            names=names, progress=bar.update)
    if "dcor" in metrics:
        from matteralign.metrics.distance_correlation import distance_correlation_matrix

        values[row["dcor"]] = distance_correlation_matrix(
            xs, bias_corrected=dcor_bias_corrected, progress=progress)
    if "info_imbalance" in metrics:
        from matteralign.metrics.information_imbalance import information_imbalance_matrix

        values[row["info_imbalance"]] = information_imbalance_matrix(
            xs, k=info_imbalance_k, metric=distance_metric, progress=progress)

    attrs = {
        "metrics": list(metrics),
        "directed_metrics": [m for m in metrics if m in _DIRECTED],
        "k": int(k),
        "kernel": kernel,
        "epsilon": float(epsilon),
        "cka_kernel": "cosine" if kernel == "cosine" else "linear",
        "cka_debiased": bool(cka_debiased),
        "dcor_bias_corrected": bool(dcor_bias_corrected),
        "info_imbalance_k": int(info_imbalance_k),
        "distance_metric": distance_metric,
        "knn_dtype": dtype,
        "n_samples": int(n),
        "n_models": int(M),
        "k_fraction": float(k / n),
        "cknna_max_k_fraction": float(CKNNA_MAX_K_FRACTION),
        "dataset": _dataset_name(embeddings, items),
        "convention": "[metric, a, b] = metric(a, b); directed metrics: from a to b",
    }
    ids = items[0][SAMPLE].values if isinstance(items[0], xr.DataArray) \
        and SAMPLE in items[0].coords else None
    if ids is not None:
        attrs["first_sample_ids"] = [str(s) for s in ids[:3]]
    return alignment_tensor(values, metrics=metrics, models=names,
                            metadata=_metadata_from(items, names, metadata), attrs=attrs)


def _check_tensor(tensor: xr.DataArray) -> None:
    if not isinstance(tensor, xr.DataArray) or MODEL_A not in tensor.dims \
            or MODEL_B not in tensor.dims:
        raise ValidationError("expected an alignment tensor with dims (metric, model_a, model_b)")


def align_to_reference(tensor: xr.DataArray, reference: str) -> xr.DataArray:
    """Each model's alignment to one reference model.

    ``out[metric, model] = tensor[metric, model, reference]`` — for directed metrics the value
    from the model to the reference. The reference itself is kept (its self-alignment).

    Args:
        tensor: alignment tensor from :func:`align`.
        reference: a model name on ``model_b``.

    Returns:
        ``xarray.DataArray`` with dims ``(metric, model)`` (metadata coordinates of ``model_a``
        renamed without the ``_a`` suffix) and ``attrs["reference"]``.

    Examples:
        >>> import numpy as np
        >>> from matteralign.tensors import alignment_tensor
        >>> t = alignment_tensor(np.arange(4.0).reshape(1, 2, 2), metrics=["cka"], models=["x", "y"])
        >>> align_to_reference(t, "y").sel(metric="cka").values.tolist()
        [1.0, 3.0]
    """
    _check_tensor(tensor)
    models = [str(m) for m in tensor[MODEL_B].values]
    if reference not in models:
        raise unknown_name("model", reference, models)
    out = tensor.sel({MODEL_B: reference}, drop=True)
    out = out.drop_vars([c for c in out.coords if c.endswith("_b")])
    out = out.rename({MODEL_A: "model"})
    out = out.rename({c: c[:-2] for c in out.coords if c.endswith("_a")})
    out.attrs = {**tensor.attrs, "reference": reference}
    out.name = f"alignment_to_{reference}"
    return out


def mean_alignment(tensor: xr.DataArray, metric: str | None = None) -> xr.DataArray:
    """Mean alignment of each model to all *other* models (the diagonal is excluded).

    ``out[model_a] = mean_{b ≠ a} tensor[metric, a, b]`` (for directed metrics: the mean of the
    values from ``a``). NaN entries are skipped.

    Args:
        tensor: alignment tensor from :func:`align` (``model_a`` and ``model_b`` equal).
        metric: one metric name; ``None`` keeps every metric.

    Returns:
        ``xarray.DataArray`` with dims ``(model,)`` or ``(metric, model)``.

    Examples:
        >>> import numpy as np
        >>> from matteralign.tensors import alignment_tensor
        >>> v = np.array([[[1.0, 0.2, 0.4], [0.2, 1.0, 0.6], [0.4, 0.6, 1.0]]])
        >>> t = alignment_tensor(v, metrics=["cknna"], models=["x", "y", "z"])
        >>> mean_alignment(t, "cknna").values.round(6).tolist()
        [0.3, 0.4, 0.5]
    """
    _check_tensor(tensor)
    a = [str(m) for m in tensor[MODEL_A].values]
    b = [str(m) for m in tensor[MODEL_B].values]
    if a != b:
        raise ValidationError("mean_alignment needs the same models on model_a and model_b")
    if len(a) < 2:
        raise ValidationError("mean_alignment needs at least two models")
    sel = tensor
    if metric is not None:
        known = [str(m) for m in tensor["metric"].values]
        if metric not in known:
            raise unknown_name("metric", metric, known)
        sel = tensor.sel(metric=metric)
    off = xr.DataArray(~np.eye(len(a), dtype=bool), dims=(MODEL_A, MODEL_B))
    out = sel.where(off).mean(dim=MODEL_B, skipna=True)
    out = out.drop_vars([c for c in out.coords if c.endswith("_b")])
    out = out.rename({MODEL_A: "model"})
    out = out.rename({c: c[:-2] for c in out.coords if c.endswith("_a")})
    out.attrs = {**tensor.attrs, "summary": "mean over other models, self excluded"}
    out.name = "mean_alignment"
    return out
