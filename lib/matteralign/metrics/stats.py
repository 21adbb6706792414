"""Uncertainty for one pair of models: subsampling confidence intervals and a permutation null.

Why subsampling, not the classic bootstrap: resampling samples *with* replacement puts
exact duplicates into the data. A duplicated sample is at distance 0 from its copy in every
representation, so the copies become each other's nearest neighbours in both models and
kNN metrics (CKNNA, mutual kNN, information imbalance, TwoNN …) are inflated in every
replicate — the bootstrap distribution is then not centred on the statistic's sampling
distribution. :func:`bootstrap` therefore draws subsamples *without* replacement (delete-d
jackknife, Shao & Wu 1989; subsampling, Politis & Romano 1994) of size ``m = fraction·N`` and
rescales their spread by ``sqrt(m / (N − m))`` — for ``fraction = 1/2`` the factor is 1 and
the half-sample spread estimates the full-sample one. Deviations are taken from the
replicates' own mean, so the systematic shift of kNN statistics with N (at fixed k the
neighbourhoods are wider in a smaller sample) does not move the interval, which is the
"basic" interval ``[θ̂ − q_{1−α/2}, θ̂ − q_{α/2}]`` of the rescaled deviations.

The permutation null shuffles the pairing of the rows of ``b`` against ``a``. For kNN
metrics it relabels ``b``'s kNN graph instead of rebuilding it (``O(N·k)`` per permutation).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from matteralign.errors import ValidationError
from matteralign.metrics._input import as_matrix, as_pair, check_k
from matteralign.metrics._registry import get_pairwise
from matteralign.metrics._sparse import hsic_from_sums, pair_sums
from matteralign.metrics.cka import PreparedCKA
from matteralign.metrics.cknna import CKNNA_EPSILON, CKNNAReliabilityWarning, warn_if_unreliable
from matteralign.metrics.knn import knn_graph

__all__ = ["BootstrapResult", "PermutationResult", "bootstrap", "permutation_test",
           "align_bootstrap", "align_permutation_test"]

_LOWER_IS_ALIGNED = ("info_imbalance",)


@dataclass(frozen=True)
class BootstrapResult:
    """A subsampling confidence interval for one metric between two representations.

    Attributes:
        metric: metric name.
        estimate: the metric on all ``N`` samples.
        low, high: interval bounds at level :attr:`ci`.
        ci: confidence level, e.g. 0.95.
        std_error: rescaled standard deviation of the replicates.
        fraction: subsample size as a fraction of ``N``.
        n_boot: number of replicates.
        replicates: ``(n_boot,)`` metric values on the subsamples (not rescaled).
    """

    metric: str
    estimate: float
    low: float
    high: float
    ci: float
    std_error: float
    fraction: float
    n_boot: int
    replicates: np.ndarray


@dataclass(frozen=True)
class PermutationResult:
    """A permutation test of "no alignment" for one metric between two representations.

    Attributes:
        metric: metric name.
        statistic: the metric on the true pairing.
        p_value: ``(1 + #{null at least as extreme}) / (1 + n_perm)``.
        alternative: ``"greater"`` (alignment above chance) or ``"less"``.
        null_mean, null_std: mean and standard deviation of the null distribution.
        null_q95: the null's 95th percentile (5th for ``alternative="less"``).
        n_perm: number of permutations.
        null: ``(n_perm,)`` the null values.
    """

    metric: str
    statistic: float
    p_value: float
    alternative: str
    null_mean: float
    null_std: float
    null_q95: float
    n_perm: int
    null: np.ndarray


def _metric_params(metric: str, params: dict[str, Any]) -> dict[str, Any]:
    """``metric=`` names the metric here, so the metric's own ``metric=`` option is passed as
    ``kernel=`` (kNN metrics: "cosine"/"euclidean") or ``distance_metric=`` (dcor, info
    imbalance)."""
    params = dict(params)
    if "metric" in params:
        raise ValidationError("pass the kNN/distance metric as kernel= (cknna, mutual_knn) or "
                              "distance_metric= (dcor, info_imbalance), not metric=")
    if metric in ("cknna", "mutual_knn") and "kernel" in params:
        params["metric"] = params.pop("kernel")
    if metric in ("dcor", "info_imbalance") and "distance_metric" in params:
        params["metric"] = params.pop("distance_metric")
    return params


def _check_count(n: int, what: str) -> int:
    if not isinstance(n, int | np.integer) or isinstance(n, bool) or n < 1:
        raise ValidationError(f"{what} must be a positive integer; got {n!r}")
    return int(n)


def bootstrap(a: Any, b: Any, metric: str = "cknna", *, n_boot: int = 200, ci: float = 0.95,
              seed: int = 0, fraction: float = 0.5, **params: Any) -> BootstrapResult:
    """Confidence interval of ``metric(a, b)`` by subsampling without replacement.

    With ``θ̂`` the metric on all ``N`` samples, ``θ_r`` on random subsets of
    ``m = round(fraction·N)`` samples (the same rows of ``a`` and ``b``), and
    ``d_r = (θ_r − mean θ) · sqrt(m / (N − m))``::

        CI = [θ̂ − q_{(1+ci)/2}(d), θ̂ − q_{(1−ci)/2}(d)],   SE = std(d)

    (delete-d jackknife / subsampling; see the module docstring for why duplicates from
    resampling with replacement are avoided).

    Args:
        a, b: ``(N, D)`` arrays or Embeddings of the same samples.
        metric: a registered pairwise metric (``cknna``, ``mutual_knn``, ``cka``, …).
        n_boot: number of subsamples.
        ci: confidence level in (0, 1).
        seed: seed of the NumPy generator (results are reproducible).
        fraction: subsample size over ``N``, in (0, 1); 0.5 needs no rescaling.
        **params: passed to the metric (e.g. ``k=25``); ``k`` must be below ``m``. The kNN
            metric of CKNNA / mutual kNN is given as ``kernel=``, the distance of dcor /
            information imbalance as ``distance_metric=``.

    Returns:
        :class:`BootstrapResult`. Complexity: ``n_boot`` evaluations of the metric at ``m``.

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(80, 5))
        >>> y = x + 0.5 * np.random.default_rng(1).normal(size=(80, 5))
        >>> r = bootstrap(x, y, "cka", n_boot=20)
        >>> bool(r.low <= r.estimate <= r.high), r.replicates.shape
        (True, (20,))
    """
    spec = get_pairwise(metric)
    params = _metric_params(metric, params)
    xa, xb = as_pair(a, b, min_samples=spec.min_samples, what=metric)
    n_boot = _check_count(n_boot, "n_boot")
    if not 0.0 < ci < 1.0:
        raise ValidationError(f"ci must be in (0, 1); got {ci}")
    if not 0.0 < fraction < 1.0:
        raise ValidationError(f"fraction must be in (0, 1); got {fraction}")
    n = xa.shape[0]
    m = int(round(fraction * n))
    if m < spec.min_samples or m >= n:
        raise ValidationError(f"subsamples of {m} of {n} samples are too small for {metric} "
                              f"(needs {spec.min_samples}); raise fraction or N")
    if spec.uses_k:
        check_k(params.get("k", 25 if metric != "info_imbalance" else 1), m,
                what=f"k (subsample size {m})")
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    with warnings.catch_warnings():  # one CKNNA warning per call, for the subsamples, below
        warnings.simplefilter("ignore", CKNNAReliabilityWarning)
        estimate = float(spec.func(xa, xb, **params))
        for r in range(n_boot):
            idx = np.sort(rng.choice(n, size=m, replace=False))
            reps[r] = spec.func(xa[idx], xb[idx], **params)
    if metric == "cknna":
        warn_if_unreliable(params.get("k", 25), m, f"{estimate:.4g} (replicates on "
                           f"subsamples of {m} of {n} samples)")
    dev = (reps - reps.mean()) * np.sqrt(m / (n - m))
    alpha = 1.0 - ci
    q_lo, q_hi = np.quantile(dev, [alpha / 2, 1 - alpha / 2])
    return BootstrapResult(metric, estimate, float(estimate - q_hi), float(estimate - q_lo),
                           float(ci), float(dev.std(ddof=1)) if n_boot > 1 else 0.0,
                           float(fraction), n_boot, reps)


def permutation_test(a: Any, b: Any, metric: str = "cknna", *, n_perm: int = 999, seed: int = 0,
                     alternative: str = "auto", **params: Any) -> PermutationResult:
    """Permutation test of the null "the pairing of rows of ``a`` and ``b`` is arbitrary".

    The null distribution is ``metric(a, b[π])`` over random permutations ``π``; the p-value
    counts permutations at least as extreme as the observed value, with the +1 correction
    (Phipson & Smyth 2010): ``p = (1 + #{θ_π ≥ θ̂}) / (1 + n_perm)`` for
    ``alternative="greater"`` (``≤`` for ``"less"``). ``"auto"`` is ``"less"`` for
    information imbalance (smaller = more informative) and ``"greater"`` otherwise.

    Args:
        a, b: ``(N, D)`` arrays or Embeddings of the same samples.
        metric: a registered pairwise metric.
        n_perm: number of permutations.
        seed: seed of the NumPy generator.
        alternative: ``"auto"``, ``"greater"`` or ``"less"``.
        **params: passed to the metric (e.g. ``k=25``; ``kernel=`` / ``distance_metric=`` as
            in :func:`bootstrap`).

    Returns:
        :class:`PermutationResult`. Complexity: CKNNA and mutual kNN build each graph once,
        then ``O(N·k²)`` per permutation; other metrics recompute per permutation.

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(60, 4))
        >>> r = permutation_test(x, 2 * x, "mutual_knn", n_perm=19, k=5)
        >>> r.statistic, r.p_value
        (1.0, 0.05)
    """
    spec = get_pairwise(metric)
    params = _metric_params(metric, params)
    xa, xb = as_pair(a, b, min_samples=spec.min_samples, what=metric)
    n_perm = _check_count(n_perm, "n_perm")
    if alternative == "auto":
        alternative = "less" if metric in _LOWER_IS_ALIGNED else "greater"
    if alternative not in ("greater", "less"):
        raise ValidationError(f"alternative must be 'auto', 'greater' or 'less'; got {alternative!r}")
    n = xa.shape[0]
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(n) for _ in range(n_perm)]
    if metric in ("cknna", "mutual_knn"):
        stat, null = _knn_null(xa, xb, metric, perms, **params)
        if metric == "cknna":
            warn_if_unreliable(params.get("k", 25), n, f"{stat:.4g}")
    else:
        stat = float(spec.func(xa, xb, **params))
        null = np.array([spec.func(xa, xb[p], **params) for p in perms], dtype=float)
    if alternative == "greater":
        count = int(np.sum(null >= stat))
        q = float(np.quantile(null, 0.95))
    else:
        count = int(np.sum(null <= stat))
        q = float(np.quantile(null, 0.05))
    return PermutationResult(metric, stat, (1 + count) / (1 + n_perm), alternative,
                             float(null.mean()), float(null.std(ddof=1)) if n_perm > 1 else 0.0,
                             q, n_perm, null)


def _knn_null(xa: np.ndarray, xb: np.ndarray, metric: str, perms: list[np.ndarray], *,
              k: int = 25, epsilon: float = CKNNA_EPSILON,
              **knn_kw: Any) -> tuple[float, np.ndarray]:
    """Statistic and null of CKNNA / mutual kNN by relabelling ``b``'s kNN graph."""
    if "method" in knn_kw and knn_kw.pop("method") == "dense":
        raise ValidationError("permutation_test uses the sparse kNN path; drop method='dense'")
    k = check_k(k, xa.shape[0])
    if metric == "cknna" and xa.shape[0] < 4:
        raise ValidationError(f"CKNNA needs at least 4 samples; got {xa.shape[0]}")
    ga = knn_graph(xa, k, **knn_kw)
    gb = knn_graph(xb, k, **knn_kw)
    n = ga.n
    if metric == "mutual_knn":
        def value(g):
            return pair_sums(ga, g).overlap / (n * k)
    else:
        den = np.sqrt(hsic_from_sums(pair_sums(ga, ga)) * hsic_from_sums(pair_sums(gb, gb)))

        def value(g):
            return hsic_from_sums(pair_sums(ga, g)) / (den + epsilon)
    return float(value(gb)), np.array([value(gb.permuted(p)) for p in perms])


# ----------------------------------------------------------------------------- all pairs
_ALL_PAIRS_NULL = ("cknna", "mutual_knn", "cka")


def _summary_dataset(template: xr.DataArray, fields: dict[str, np.ndarray],
                     attrs: dict[str, Any]) -> xr.Dataset:
    ds = xr.Dataset({name: template.copy(data=values) for name, values in fields.items()})
    ds.attrs = {**template.attrs, **attrs}
    return ds


def align_bootstrap(embeddings: Any, metrics: Sequence[str] = ("cknna",), k: int = 25, *,
                    n_boot: int = 100, ci: float = 0.95, fraction: float = 0.5, seed: int = 0,
                    progress: bool = True, **align_kw: Any) -> xr.Dataset:
    """:func:`bootstrap` for every pair of models at once.

    Each replicate draws one subsample of rows (without replacement, shared by all models, so
    pairs stay paired) and recomputes the whole alignment tensor on it with
    :func:`matteralign.metrics.align`; the interval is formed entry-wise as in
    :func:`bootstrap`.

    Args:
        embeddings: a collection as accepted by :func:`~matteralign.metrics.align`.
        metrics, k: as in :func:`~matteralign.metrics.align`.
        n_boot, ci, fraction, seed: as in :func:`bootstrap`.
        progress: a tqdm bar over replicates.
        **align_kw: further options of :func:`~matteralign.metrics.align`.

    Returns:
        ``xarray.Dataset`` with ``estimate``, ``low``, ``high``, ``std_error``, each
        ``(metric, model_a, model_b)``; ``attrs`` add ``ci``, ``fraction``, ``n_boot``,
        ``seed``.

    Complexity: ``n_boot + 1`` evaluations of ``align`` (subsamples at ``fraction·N``).
    """
    from matteralign.metrics.align import _collection, align

    n_boot = _check_count(n_boot, "n_boot")
    if not 0.0 < ci < 1.0:
        raise ValidationError(f"ci must be in (0, 1); got {ci}")
    if not 0.0 < fraction < 1.0:
        raise ValidationError(f"fraction must be in (0, 1); got {fraction}")
    with warnings.catch_warnings():  # one CKNNA warning per call, for the subsamples, below
        warnings.simplefilter("ignore", CKNNAReliabilityWarning)
        full = align(embeddings, metrics, k, progress=False, **align_kw)
    names, items = _collection(embeddings)
    xs = {nm: as_matrix(it, name=nm) for nm, it in zip(names, items)}
    n = full.attrs["n_samples"]
    m = int(round(fraction * n))
    if m < 4 or m >= n:
        raise ValidationError(f"subsamples of {m} of {n} samples are too small; raise fraction")
    if any(x in full.attrs["metrics"] for x in ("cknna", "mutual_knn")):
        check_k(k, m, what=f"k (subsample size {m})")
    sub_kw = {key: v for key, v in align_kw.items() if key != "metadata"}
    rng = np.random.default_rng(seed)
    reps = np.empty((n_boot,) + full.shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CKNNAReliabilityWarning)
        for r in tqdm(range(n_boot), desc="bootstrap", disable=not progress, leave=False):
            idx = np.sort(rng.choice(n, size=m, replace=False))
            reps[r] = align({nm: x[idx] for nm, x in xs.items()}, metrics, k, progress=False,
                            **sub_kw).values
    if "cknna" in full.attrs["metrics"]:
        off = full.sel(metric="cknna").values[~np.eye(full.shape[1], dtype=bool)]
        shown = f"{off.min():.3g} to {off.max():.3g}" if off.size else \
            f"{full.sel(metric='cknna').values.item():.4g}"
        warn_if_unreliable(k, m, f"{shown} (replicates on subsamples of {m} of {n} samples)")
    dev = (reps - reps.mean(axis=0)) * np.sqrt(m / (n - m))
    alpha = 1.0 - ci
    q_lo, q_hi = np.quantile(dev, [alpha / 2, 1 - alpha / 2], axis=0)
    est = full.values
    se = dev.std(axis=0, ddof=1) if n_boot > 1 else np.zeros_like(est)
    return _summary_dataset(full, {"estimate": est, "low": est - q_hi, "high": est - q_lo,
                                   "std_error": se},
                            {"ci": float(ci), "fraction": float(fraction), "n_boot": n_boot,
                             "seed": int(seed), "interval": "delete-d jackknife (subsampling)"})


def align_permutation_test(embeddings: Any, metrics: Sequence[str] = ("cknna",), k: int = 25, *,
                           n_perm: int = 99, seed: int = 0, kernel: str = "cosine",
                           epsilon: float = CKNNA_EPSILON, cka_debiased: bool = False,
                           dtype: str = "float32", progress: bool = True) -> xr.Dataset:
    """:func:`permutation_test` for every ordered pair of models at once.

    Permutation ``π_r`` shuffles the rows of ``model_b`` against ``model_a``; every pair
    shares the same ``n_perm`` permutations. kNN graphs are built once and relabelled; CKA
    reuses each model's centred rows. p-values use ``(1 + #{null ≥ observed}) / (1 + n_perm)``.

    Args:
        embeddings: a collection as accepted by :func:`~matteralign.metrics.align`.
        metrics: among ``cknna``, ``mutual_knn``, ``cka`` (use :func:`permutation_test` per
            pair for the O(N²) metrics).
        k, kernel, epsilon, cka_debiased, dtype: as in :func:`~matteralign.metrics.align`.
        n_perm, seed: number of permutations and the generator's seed.
        progress: a tqdm bar over permutations.

    Returns:
        ``xarray.Dataset`` with ``statistic``, ``p_value``, ``null_mean``, ``null_std``,
        ``null_q95``, each ``(metric, model_a, model_b)``.

    Complexity: ``O(M·N²·D)`` once, then per permutation ``O(M²·N·k²)`` (kNN metrics) and
    ``O(M²·N·D²)`` (CKA).
    """
    from matteralign.metrics.align import _collection, align

    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    for name in metrics:
        if name not in _ALL_PAIRS_NULL:
            raise ValidationError(f"align_permutation_test supports {_ALL_PAIRS_NULL}; for "
                                  f"{name!r} use permutation_test(a, b, {name!r}) per pair")
    n_perm = _check_count(n_perm, "n_perm")
    observed = align(embeddings, metrics, k, kernel=kernel, epsilon=epsilon,
                     cka_debiased=cka_debiased, dtype=dtype, progress=False)
    names, items = _collection(embeddings)
    xs = [as_matrix(it, name=nm) for nm, it in zip(names, items)]
    n, big_m = xs[0].shape[0], len(xs)
    row = {name: i for i, name in enumerate(metrics)}
    null = np.empty((n_perm, len(metrics), big_m, big_m))
    knn = [name for name in metrics if name in ("cknna", "mutual_knn")]
    graphs = [knn_graph(x, k, metric=kernel, dtype=dtype) for x in xs] if knn else []
    selfs = [hsic_from_sums(pair_sums(g, g)) for g in graphs] if "cknna" in metrics else []
    prep = PreparedCKA(xs, debiased=cka_debiased,
                       kernel="cosine" if kernel == "cosine" else "linear",
                       names=names) if "cka" in metrics else None
    rng = np.random.default_rng(seed)
    for r in tqdm(range(n_perm), desc="permutations", disable=not progress, leave=False):
        perm = rng.permutation(n)
        shuffled = [g.permuted(perm) for g in graphs]
        for i in range(big_m):
            for j in range(big_m):
                if prep is not None:
                    null[r, row["cka"], i, j] = prep.value(i, j, perm)
                if knn and j >= i:
                    # (i, j[π]) and, relabelled by π⁻¹, (j, i[π⁻¹]): one null draw for each
                    p = pair_sums(graphs[i], shuffled[j])
                    if "mutual_knn" in row:
                        null[r, row["mutual_knn"], i, j] = null[r, row["mutual_knn"], j, i] = \
                            p.overlap / (n * k)
                    if "cknna" in row:
                        den = np.sqrt(selfs[i] * selfs[j]) + epsilon
                        null[r, row["cknna"], i, j] = hsic_from_sums(p) / den
                        null[r, row["cknna"], j, i] = hsic_from_sums(p.swapped()) / den
    stat = observed.values
    count = np.sum(null >= stat[None], axis=0)
    return _summary_dataset(observed, {
        "statistic": stat, "p_value": (1.0 + count) / (1.0 + n_perm),
        "null_mean": null.mean(axis=0),
        "null_std": null.std(axis=0, ddof=1) if n_perm > 1 else np.zeros_like(stat),
        "null_q95": np.quantile(null, 0.95, axis=0)},
        {"n_perm": n_perm, "seed": int(seed), "alternative": "greater"})
