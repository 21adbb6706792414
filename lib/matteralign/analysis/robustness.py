"""How much do the conclusions depend on the analyst's choices? Sweeps of CKNNA over k, the
number of samples, pooling and layer, each returning a tidy ``DataFrame``.

* :func:`pair_values` — the upper triangle of an alignment tensor as rows
  ``(metric, model_a, model_b, value)`` (the input of every distribution plot).
* :func:`sweep_k` — CKNNA of every pair for each ``k`` (kNN graphs built once per k).
* :func:`sweep_samples` — CKNNA of every pair on random subsets of ``n`` samples, repeated
  ``n_repeats`` times per ``n`` (sampling without replacement from the embedded set), with
  the mean and percentile band per ``n``; where the estimate stabilises follows from
  :func:`~matteralign.analysis.trends.stabilisation_point`.
* :func:`model_intrinsic_dimension` — intrinsic dimension of each model's embeddings.

Pooling and layer sweeps re-embed with other settings (``compute.embed_models``) and reuse
:func:`pair_values`; the notebooks loop over the settings.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from matteralign.errors import ValidationError

__all__ = ["pair_values", "sweep_k", "sweep_samples", "stabilisation_table",
           "model_intrinsic_dimension", "delta_plane", "block_mean"]


def pair_values(tensor: xr.DataArray, metrics: Sequence[str] | None = None, *,
                symmetric: bool = True) -> pd.DataFrame:
    """Rows ``(metric, model_a, model_b, value)`` for every pair ``a < b`` (``symmetric``)
    or every ordered pair ``a ≠ b``; metadata coordinates ``<key>_a``/``<key>_b`` come along.

    >>> import numpy as np
    >>> from matteralign.tensors import alignment_tensor
    >>> t = alignment_tensor(np.array([[[1, .2], [.3, 1]]]), metrics=["cknna"], models=["x", "y"])
    >>> pair_values(t)[["model_a", "model_b", "value"]].values.tolist()
    [['x', 'y', 0.25]]
    """
    metrics = list(tensor["metric"].values) if metrics is None else list(metrics)
    names = [str(v) for v in tensor["model_a"].values]
    extra = [c for c in tensor.coords if c.endswith("_a") and c != "model_a"]
    rows = []
    for metric in metrics:
        m = np.asarray(tensor.sel(metric=metric).values, dtype=float)
        for i in range(len(names)):
            for j in range(len(names)):
                if i == j or (symmetric and j < i):
                    continue
                v = 0.5 * (m[i, j] + m[j, i]) if symmetric else m[i, j]
                row = {"metric": str(metric), "model_a": names[i], "model_b": names[j], "value": v}
                for c in extra:
                    key = c[:-2]
                    row[f"{key}_a"] = tensor[c].values[i]
                    row[f"{key}_b"] = tensor[f"{key}_b"].values[j] if f"{key}_b" in tensor.coords else None
                rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["metric", "model_a", "model_b", "value"])


def sweep_k(collection: xr.Dataset, ks: Sequence[int]) -> pd.DataFrame:
    """CKNNA of every model pair for each ``k`` in ``ks`` (those ``≥ N`` are skipped).

    Returns:
        Columns ``k, n, model_a, model_b, value`` (``n`` = N, the number of samples; where
        ``k/n`` exceeds :data:`matteralign.metrics.CKNNA_MAX_K_FRACTION` the estimate is
        unreliable, see :func:`~matteralign.analysis.plotting.k_sweep_plot`).
        Cost ``O(len(ks) · (M·N²·D + M²·N·k²))``.
    """
    from matteralign.analysis.compute import cached_alignment

    n = collection.sizes["sample"]
    frames = []
    for k in ks:
        if k >= n:
            continue
        t = cached_alignment(collection, metrics=("cknna",), k=int(k))
        df = pair_values(t, ["cknna"])
        df.insert(0, "n", int(n))
        df.insert(0, "k", int(k))
        frames.append(df)
    if not frames:
        raise ValidationError(f"every k in {list(ks)} is ≥ the number of samples {n}")
    return pd.concat(frames, ignore_index=True)


def sweep_samples(collection: xr.Dataset, sizes: Sequence[int], *, k: int = 25,
                  n_repeats: int = 10, seed: int = 0, level: float = 0.9) -> pd.DataFrame:
    """CKNNA of every pair on ``n_repeats`` random subsets of each size.

    Returns:
        Columns ``n, repeat, model_a, model_b, value`` (one row per subset and pair); sizes
        larger than the collection or not larger than ``k`` are skipped. Summaries per ``n``
        (mean, ``level`` percentile band) follow with ``groupby``.
        Cost ``O(Σ_n n_repeats · (M·n²·D + M²·n·k²))``.
    """
    from matteralign import metrics as m

    n_total = collection.sizes["sample"]
    rng = np.random.default_rng(seed)
    frames = []
    for n in sizes:
        if n > n_total or n <= k:
            continue
        for r in range(n_repeats):
            idx = np.sort(rng.choice(n_total, size=int(n), replace=False))
            sub = collection.isel(sample=idx)
            t = m.align(sub, metrics=("cknna",), k=k, progress=False)
            df = pair_values(t, ["cknna"])
            df.insert(0, "repeat", r)
            df.insert(0, "n", int(n))
            frames.append(df)
    if not frames:
        raise ValidationError(f"no size in {list(sizes)} fits k={k} < n ≤ {n_total}")
    return pd.concat(frames, ignore_index=True)


def model_intrinsic_dimension(collection: xr.Dataset, methods: Sequence[str] = ("twonn",)) -> pd.DataFrame:
    """Intrinsic dimension of each model's embeddings by each method.

    Returns:
        Columns ``model, method, intrinsic_dimension``.
    """
    from matteralign import metrics as m

    rows = []
    for name in collection.data_vars:
        x = np.asarray(collection[name].values, dtype=float)
        for method in methods:
            try:
                value = float(m.intrinsic_dimension(x, method=method))
            except ValidationError:
                value = float("nan")
            rows.append({"model": str(name), "method": method, "intrinsic_dimension": value})
    return pd.DataFrame(rows)


def delta_plane(tensor: xr.DataArray, reference: str, metric: str = "info_imbalance") -> pd.DataFrame:
    """Information-imbalance plane: for every model A ≠ ``reference``, Δ(A→ref) and
    Δ(ref→A) (entry ``[metric, a, b]`` is Δ(a→b)).

    Returns:
        Columns ``model, delta_to_ref, delta_from_ref``.
    """
    names = [str(v) for v in tensor["model_a"].values]
    if reference not in names:
        from matteralign.errors import unknown_name

        raise unknown_name("model", reference, names)
    t = tensor.sel(metric=metric)
    rows = [{"model": a, "delta_to_ref": float(t.sel(model_a=a, model_b=reference)),
             "delta_from_ref": float(t.sel(model_a=reference, model_b=a))}
            for a in names if a != reference]
    return pd.DataFrame(rows)



def stabilisation_table(by_n: pd.DataFrame, *, tolerance: float = 0.02,
                        by: str = "pair") -> pd.DataFrame:
    """Per ``by`` group of a :func:`sweep_samples` table: the mean CKNNA at each ``n`` and
    the size from which it stays within ``tolerance`` of its value at the largest ``n``
    (column ``stabilises_at_n``; see :func:`~matteralign.analysis.trends.stabilisation_point`)."""
    from matteralign.analysis.trends import stabilisation_point

    means = by_n.groupby([by, "n"])["value"].mean().unstack("n")
    means["stabilises_at_n"] = [stabilisation_point(means.columns[:len(row)], row, tolerance=tolerance)
                                for row in means.to_numpy()]
    return means


def block_mean(tensor: xr.DataArray, metric: str, models_a: Sequence[str] | None = None,
               models_b: Sequence[str] | None = None) -> float:
    """Mean of ``metric`` over pairs ``(a, b)`` with ``a`` in ``models_a`` and ``b`` in
    ``models_b`` (default: all models), excluding ``a == b``; NaN when there is no pair.

    >>> import numpy as np
    >>> from matteralign.tensors import alignment_tensor
    >>> t = alignment_tensor(np.array([[[1, .2], [.4, 1]]]), metrics=["cknna"], models=["x", "y"])
    >>> round(block_mean(t, "cknna"), 3), block_mean(t, "cknna", ["x"], ["y"])
    (0.3, 0.2)
    """
    t = tensor.sel(metric=metric)
    names = [str(v) for v in t["model_a"].values]
    a = names if models_a is None else [str(m) for m in models_a]
    b = names if models_b is None else [str(m) for m in models_b]
    vals = [float(t.sel(model_a=x, model_b=y)) for x in a for y in b if x != y]
    return float(np.mean(vals)) if vals else float("nan")
