"""Statistics a referee accepts for the claims: intervals over samples, nulls over models.

* :func:`rank_correlation` (claim 3) — Spearman's ρ between each model's error and its
  alignment to a reference model, with a subsampling interval over *samples* (the alignments
  are recomputed on every subsample) and a permutation p-value over *models* (errors shuffled
  across models: exact over all ``M!`` orders for ``M ≤ 8``, Monte Carlo above).
* :func:`paired_difference` (claim 4) — the mean of paired differences ``b − a`` over units
  (model pairs for CKNNA / dCor, models for intrinsic dimension and Δ), with a bootstrap
  percentile interval over units and a two-sided sign-flip randomisation p (exact for ≤ 16
  units; Monte Carlo above) beside Wilcoxon's signed-rank p.
* :func:`regime_table` — :func:`paired_difference` of every quantity between a baseline
  regime and each other regime, as one tidy table.
* :func:`block_contrast` (claim 1) — the mean alignment of a block of model pairs (e.g.
  pretrained string × pretrained 3D) minus the mean over a floor of pairs (their random-weight
  twins), with a subsampling interval over samples (every pair recomputed on each subset) and
  a permutation p for the block mean (the sample correspondence between the two sides
  shuffled); :func:`twin_floor`, :func:`modality_blocks` and :func:`block_means` build its
  inputs and the block tables shown beside it.

The interval of :func:`rank_correlation` recomputes the alignments on subsets of
``m = fraction·N`` samples drawn without replacement (as :func:`matteralign.metrics.bootstrap`
does) and takes the percentile interval of the replicates: resampling *with* replacement would
put duplicated samples at distance zero and distort every neighbourhood metric.

Model pairs share models, so the units of :func:`paired_difference` over pairs are not
independent; the randomisation p treats them as exchangeable in sign and is a screening
statistic, the per-model tests (intrinsic dimension, Δ) do not have that caveat.

References: Efron & Tibshirani, *An Introduction to the Bootstrap* (1993); Politis & Romano,
Ann. Stat. 22 (1994) 2031 (subsampling); Good, *Permutation Tests* (2000).

Examples
--------
>>> d = paired_difference({"p": 0.2, "q": 0.3, "r": 0.1, "s": 0.25},
...                       {"p": 0.5, "q": 0.6, "r": 0.4, "s": 0.55}, n_boot=200, seed=0)
>>> round(d.mean_difference, 3), d.n_units, round(d.p_value, 3)
(0.3, 4, 0.125)
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matteralign.errors import ValidationError

__all__ = ["RankEvidence", "PairedEvidence", "rank_correlation", "paired_difference",
           "regime_table", "regime_quantities", "pair_series", "BlockContrast",
           "block_contrast", "block_contrasts", "twin_floor", "modality_blocks", "block_means"]

EXACT_MODELS = 8
EXACT_UNITS = 16


@dataclass(frozen=True)
class RankEvidence:
    """Spearman's ρ of error vs alignment, its interval over samples, its p over models."""

    rho: float
    low: float
    high: float
    level: float
    p_value: float
    p_method: str
    n_models: int
    n_samples: int
    n_boot: int
    alignment: pd.Series
    errors: pd.Series
    replicates: np.ndarray


@dataclass(frozen=True)
class PairedEvidence:
    """Mean paired difference ``b − a`` with its bootstrap interval and randomisation p."""

    mean_a: float
    mean_b: float
    mean_difference: float
    low: float
    high: float
    level: float
    p_value: float
    p_method: str
    p_wilcoxon: float
    n_units: int


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    r = rankdata(x)
    r = r - r.mean()
    norm = np.linalg.norm(r)
    return r / norm if norm > 0 else r


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = _ranks(x), _ranks(y)
    if not rx.any() or not ry.any():
        return float("nan")
    return float(np.clip(rx @ ry, -1.0, 1.0))


def _permutation_p(x: np.ndarray, y: np.ndarray, rho: float, n_perm: int,
                   rng: np.random.Generator) -> tuple[float, str]:
    """Two-sided p of ρ under exchangeable model labels."""
    n = len(x)
    rx, ry = _ranks(x), _ranks(y)
    tol = 1e-12
    if n <= EXACT_MODELS:
        hits = total = 0
        for perm in itertools.permutations(range(n)):
            hits += abs(float(rx @ ry[list(perm)])) >= abs(rho) - tol
            total += 1
        return hits / total, f"exact over {total} orders of {n} models"
    hits = sum(abs(float(rx @ ry[rng.permutation(n)])) >= abs(rho) - tol for _ in range(n_perm))
    return (1 + hits) / (1 + n_perm), f"Monte Carlo, {n_perm} permutations of {n} models"


def _as_arrays(collection: Any) -> dict[str, np.ndarray]:
    if hasattr(collection, "data_vars"):
        return {str(k): np.asarray(collection[k].values, dtype=float) for k in collection.data_vars}
    return {str(k): np.asarray(getattr(v, "values", v), dtype=float) for k, v in collection.items()}


def rank_correlation(
    collection: Any,
    errors: Mapping[str, float] | pd.Series,
    reference: str,
    *,
    metric: str = "cknna",
    k: int = 25,
    n_boot: int = 200,
    fraction: float = 0.5,
    level: float = 0.95,
    n_perm: int = 9999,
    seed: int = 0,
) -> RankEvidence:
    """Spearman's ρ between error and alignment to ``reference``, with intervals and a null.

    ``ρ = corr(rank e_m, rank s_m)`` over the models ``m ≠ reference`` with an error, where
    ``s_m = metric(X_m, X_ref)`` on all ``N`` samples. Interval: ``ρ_r`` recomputed with
    ``s_m`` on ``n_boot`` random subsets of ``m = fraction·N`` samples; the ``level``
    interval is the percentile interval ``[q_lo(ρ_r), q_hi(ρ_r)]``. ρ takes few values with
    few models (a rank statistic), so the rescaled delete-d interval of
    :func:`matteralign.metrics.bootstrap` can collapse to a point beside ρ; the percentile
    interval of half-size subsets is conservative instead (a subset of ``m < N`` samples
    varies more than the full set). p: the fraction of permutations of the errors over
    models with ``|ρ_perm| ≥ |ρ|``.

    Args:
        collection: embeddings, an ``xarray.Dataset`` with one variable per model (the
            output of :func:`matteralign.analysis.compute.embed_models`) or a mapping
            ``{model: (N, D) array}`` of the same samples.
        errors: ``{model: error}`` (lower is better); models without embeddings, the
            reference and NaN errors are left out.
        reference: the model every other one is aligned to.
        metric, k: a pairwise metric of :mod:`matteralign.metrics` and its ``k``.
        n_boot, fraction, level: subsampling interval settings.
        n_perm: Monte Carlo permutations when more than 8 models.
        seed: seed of every random draw.

    Returns:
        :class:`RankEvidence`. Cost: ``(n_boot + 1)·(M − 1)`` metric evaluations.

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(60, 4))
        >>> emb = {"ref": x, **{f"m{i}": x + s * rng.normal(size=x.shape)
        ...                     for i, s in enumerate([0.1, 0.5, 1.0, 3.0])}}
        >>> errs = {"m0": 0.1, "m1": 0.5, "m2": 1.0, "m3": 3.0}
        >>> r = rank_correlation(emb, errs, "ref", k=5, n_boot=20)
        >>> round(r.rho, 2), round(r.p_value, 3), r.n_models
        (-1.0, 0.083, 4)
    """
    from matteralign.metrics import get_pairwise

    arrays = _as_arrays(collection)
    if reference not in arrays:
        from matteralign.errors import unknown_name

        raise unknown_name("model", reference, sorted(arrays))
    errs = pd.Series(errors, dtype=float)
    names = [str(m) for m in errs.index if str(m) in arrays and str(m) != reference
             and math.isfinite(errs[m])]
    if len(names) < 3:
        raise ValidationError(f"rank correlation needs at least 3 models with an error and "
                              f"embeddings besides {reference!r}; got {names}")
    if not 0.0 < fraction < 1.0:
        raise ValidationError(f"fraction must be in (0, 1); got {fraction}")
    if not 0.0 < level < 1.0:
        raise ValidationError(f"level must be in (0, 1); got {level}")
    get_pairwise(metric)  # an unknown metric fails here, naming the known ones
    score = _pair_scorer(metric, k)  # kNN metrics: each model's graph built once per subset
    pairs = [(nm, reference) for nm in names]
    n = arrays[reference].shape[0]
    m = int(round(fraction * n))
    if m <= k or m >= n:
        raise ValidationError(f"subsets of {m} of {n} samples leave k={k} no room; raise N "
                              "or lower k")
    e = errs[names].to_numpy(float)

    def scores(idx: np.ndarray | None) -> np.ndarray:
        used = [*names, reference]
        return score({nm: arrays[nm] if idx is None else arrays[nm][idx] for nm in used}, pairs)

    s = scores(None)
    rho = _rho(e, s)
    if not math.isfinite(rho):
        raise ValidationError("Spearman's ρ is undefined: every model has the same error or "
                              "the same alignment")
    rng = np.random.default_rng(seed)
    reps = np.empty(n_boot)
    for r in range(n_boot):
        idx = np.sort(rng.choice(n, size=m, replace=False))
        reps[r] = _rho(e, scores(idx))
    reps = reps[np.isfinite(reps)]
    low, high = (float(v) for v in np.quantile(reps if reps.size else [rho],
                                                [(1 - level) / 2, (1 + level) / 2]))
    p, how = _permutation_p(e, s, rho, n_perm, rng)
    return RankEvidence(rho, low, high, level, float(p), how, len(names), n, int(n_boot),
                        pd.Series(s, index=names, name=f"{metric}_to_{reference}"),
                        pd.Series(e, index=names, name="error"), reps)


def paired_difference(
    a: Mapping[Any, float] | pd.Series,
    b: Mapping[Any, float] | pd.Series,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    n_perm: int = 9999,
    seed: int = 0,
) -> PairedEvidence:
    """Mean of ``d_u = b_u − a_u`` over the units ``u`` present (and finite) in both.

    Interval: percentile bootstrap of the mean over units (resampled with replacement).
    p (two-sided): sign-flip randomisation of the ``d_u`` — exact over all ``2^n`` flips for
    ``n ≤ 16``, else ``n_perm`` random flips, ``p = (1 + #{|mean*| ≥ |mean|}) / (1 + n_perm)``.
    ``p_wilcoxon``: SciPy's Wilcoxon signed-rank test (1.0 when every ``d_u`` is zero).

    Returns:
        :class:`PairedEvidence`. Raises ValidationError with fewer than 3 paired units.
    """
    sa, sb = pd.Series(a, dtype=float), pd.Series(b, dtype=float)
    common = [u for u in sa.index if u in sb.index and math.isfinite(sa[u]) and math.isfinite(sb[u])]
    if len(common) < 3:
        raise ValidationError(f"a paired comparison needs at least 3 units present in both; "
                              f"got {len(common)}")
    xa, xb = sa[common].to_numpy(float), sb[common].to_numpy(float)
    d = xb - xa
    n = len(d)
    mean = float(d.mean())
    rng = np.random.default_rng(seed)
    boot = d[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
    low, high = (float(v) for v in np.quantile(boot, [(1 - level) / 2, (1 + level) / 2]))
    tol = 1e-12 * max(1.0, abs(mean))
    if n <= EXACT_UNITS:
        signs = np.array(list(itertools.product([1.0, -1.0], repeat=n)))
        null = (signs * d).mean(axis=1)
        p = float(np.mean(np.abs(null) >= abs(mean) - tol))
        how = f"exact sign-flip over 2^{n} sign patterns"
    else:
        flips = rng.choice([1.0, -1.0], size=(n_perm, n))
        null = (flips * d).mean(axis=1)
        p = float((1 + np.sum(np.abs(null) >= abs(mean) - tol)) / (1 + n_perm))
        how = f"Monte Carlo sign-flip, {n_perm} draws"
    if np.allclose(d, 0):
        p_w = 1.0
    else:
        from scipy.stats import wilcoxon

        p_w = float(wilcoxon(d).pvalue)
    return PairedEvidence(float(xa.mean()), float(xb.mean()), mean, low, high, level, p, how,
                          p_w, n)


def pair_series(tensor: Any, metric: str) -> pd.Series:
    """The symmetrised value of ``metric`` for every model pair ``a < b`` of an alignment
    tensor, indexed ``"a × b"`` (the units of a paired comparison between regimes)."""
    from matteralign.analysis.robustness import pair_values

    df = pair_values(tensor, [metric])
    return pd.Series(df["value"].to_numpy(float),
                     index=[f"{x} × {y}" for x, y in zip(df["model_a"], df["model_b"])],
                     name=metric)


def regime_table(
    quantities: Mapping[str, Mapping[str, Mapping[Any, float] | pd.Series]],
    baseline: str,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    n_perm: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`paired_difference` of every quantity, each other regime against ``baseline``.

    Args:
        quantities: ``{quantity: {regime: {unit: value}}}``, e.g. ``{"cknna": {"in": pairs,
            "out": pairs}, "twonn": {"in": per_model, "out": per_model}}``.
        baseline: the regime every other one is compared with.

    Returns:
        Columns ``quantity, regime, baseline, n_units, mean_baseline, mean_regime,
        difference, low, high, p_value, p_wilcoxon, p_method``.
    """
    rows = []
    for quantity, regimes in quantities.items():
        if baseline not in regimes:
            raise ValidationError(f"quantity {quantity!r} has no baseline regime {baseline!r}; "
                                  f"has {sorted(regimes)}")
        for regime, values in regimes.items():
            if regime == baseline:
                continue
            ev = paired_difference(regimes[baseline], values, n_boot=n_boot, level=level,
                                   n_perm=n_perm, seed=seed)
            rows.append({"quantity": quantity, "regime": regime, "baseline": baseline,
                         "n_units": ev.n_units, "mean_baseline": ev.mean_a,
                         "mean_regime": ev.mean_b, "difference": ev.mean_difference,
                         "low": ev.low, "high": ev.high, "p_value": ev.p_value,
                         "p_wilcoxon": ev.p_wilcoxon, "p_method": ev.p_method})
    return pd.DataFrame(rows)


def regime_quantities(pairs: pd.DataFrame, ids: pd.DataFrame | None = None,
                      planes: pd.DataFrame | None = None) -> dict[str, dict[str, pd.Series]]:
    """The input of :func:`regime_table` from the tidy tables of notebook 04.

    Args:
        pairs: rows ``regime, metric, model_a, model_b, value`` (one per pair ``a < b``).
        ids: rows ``regime, model, method, intrinsic_dimension``; each method becomes the
            quantity ``id_<method>`` with models as units.
        planes: rows ``regime, model, delta_to_ref, delta_from_ref``; their sum becomes the
            quantity ``delta_sum`` with models as units.

    Returns:
        ``{quantity: {regime: Series over units}}``.
    """
    out: dict[str, dict[str, pd.Series]] = {}
    for (metric, regime), g in pairs.groupby(["metric", "regime"], sort=False):
        out.setdefault(str(metric), {})[str(regime)] = pd.Series(
            g["value"].to_numpy(float),
            index=[f"{a} × {b}" for a, b in zip(g["model_a"], g["model_b"])])
    if ids is not None:
        for (method, regime), g in ids.groupby(["method", "regime"], sort=False):
            out.setdefault(f"id_{method}", {})[str(regime)] = pd.Series(
                g["intrinsic_dimension"].to_numpy(float), index=g["model"].astype(str))
    if planes is not None:
        for regime, g in planes.groupby("regime", sort=False):
            out.setdefault("delta_sum", {})[str(regime)] = pd.Series(
                (g["delta_to_ref"] + g["delta_from_ref"]).to_numpy(float),
                index=g["model"].astype(str))
    return out


# ------------------------------------------------------------------ claim 1: block contrast
@dataclass(frozen=True)
class BlockContrast:
    """Mean alignment over a block of model pairs minus the mean over a floor of pairs, with
    its interval over samples and a permutation p for the block mean.

    Attributes:
        value: ``block_mean − floor_mean`` on all samples.
        low, high, level: the subsampling interval of ``value``.
        p_value: permutation p of ``block_mean`` (one-sided, "greater").
        block_mean, floor_mean: the two means on all samples.
        null_mean: the mean of ``block_mean`` over the permutations (chance level).
        metric, k: the metric and its ``k`` (``None`` for metrics without one).
        n_samples, n_boot, n_perm, fraction: sizes of the data and of the resampling.
        block, floor: the value of every block pair and every floor pair, indexed
            ``"a × b"``.
        replicates: ``value`` on each subset (``n_boot``).
        null: ``block_mean`` under each permutation (``n_perm``).
    """

    value: float
    low: float
    high: float
    level: float
    p_value: float
    block_mean: float
    floor_mean: float
    null_mean: float
    metric: str
    k: int | None
    n_samples: int
    n_boot: int
    n_perm: int
    fraction: float
    block: pd.Series
    floor: pd.Series
    replicates: np.ndarray
    null: np.ndarray

    @property
    def models(self) -> tuple[str, ...]:
        """Every model the contrast rests on, block pairs' models first."""
        seen: dict[str, None] = {}
        for label in (*self.block.index, *self.floor.index):
            for name in str(label).split(" × "):
                seen.setdefault(name, None)
        return tuple(seen)


_KNN_METRICS = ("cknna", "mutual_knn")


def _pair_scorer(metric: str, k: int) -> Any:
    """``score(xs, pairs) -> array``: ``metric(xs[a], xs[b])`` for each pair; the kNN metrics
    build each model's graph once (the same graphs and values as :func:`metrics.cknna`)."""
    from matteralign.metrics import get_pairwise

    spec = get_pairwise(metric)
    if metric not in _KNN_METRICS:
        kw = {"k": k} if spec.uses_k else {}

        def score(xs: Mapping[str, np.ndarray], pairs: list[tuple[str, str]]) -> np.ndarray:
            return np.array([float(spec.func(xs[a], xs[b], **kw)) for a, b in pairs])

        return score
    from matteralign.metrics._sparse import hsic_from_sums, pair_sums
    from matteralign.metrics.cknna import cknna_from_graphs
    from matteralign.metrics.knn import knn_graph
    from matteralign.metrics.mutual_knn import mutual_knn_from_graphs

    def score(xs: Mapping[str, np.ndarray], pairs: list[tuple[str, str]]) -> np.ndarray:
        graphs = {nm: knn_graph(xs[nm], k) for nm in dict.fromkeys(x for p in pairs for x in p)}
        if metric == "mutual_knn":
            return np.array([mutual_knn_from_graphs(graphs[a], graphs[b]) for a, b in pairs])
        selfs = {nm: hsic_from_sums(pair_sums(g, g)) for nm, g in graphs.items()}
        return np.array([cknna_from_graphs(graphs[a], graphs[b], self_a=selfs[a],
                                           self_b=selfs[b]) for a, b in pairs])

    return score


def _knn_block_null(xs: Mapping[str, np.ndarray], rows: list[str], cols: list[str], metric: str,
                    k: int, perms: list[np.ndarray]) -> np.ndarray:
    """The block mean with the rows of every ``cols`` model permuted by each ``π`` (the same
    ``π`` for all of them); kNN graphs are built once and relabelled (``O(N·k)`` each)."""
    from matteralign.metrics._sparse import hsic_from_sums, pair_sums
    from matteralign.metrics.cknna import cknna_from_graphs
    from matteralign.metrics.knn import knn_graph
    from matteralign.metrics.mutual_knn import mutual_knn_from_graphs

    ga = {a: knn_graph(xs[a], k) for a in rows}
    gb = {b: knn_graph(xs[b], k) for b in cols}
    selfs = {nm: hsic_from_sums(pair_sums(g, g)) for g_all in (ga, gb)
             for nm, g in g_all.items()} if metric == "cknna" else {}
    out = np.empty(len(perms))
    for r, perm in enumerate(perms):
        shuffled = {b: g.permuted(perm) for b, g in gb.items()}
        if metric == "mutual_knn":
            vals = [mutual_knn_from_graphs(ga[a], shuffled[b]) for a in rows for b in cols]
        else:
            vals = [cknna_from_graphs(ga[a], shuffled[b], self_a=selfs[a], self_b=selfs[b])
                    for a in rows for b in cols]
        out[r] = float(np.mean(vals))
    return out


def _subset_size(n: int, fraction: float, k: int, metric: str) -> int:
    """Samples per random subset, ``round(fraction · n)``; a ValidationError when that is
    all of them, fewer than 4, or (for k-NN metrics) no more than ``k``."""
    from matteralign.metrics import get_pairwise

    m = int(round(fraction * n))
    if m >= n or (get_pairwise(metric).uses_k and m <= k) or m < 4:
        raise ValidationError(f"subsets of {m} of {n} samples leave k={k} no room; raise N "
                              "or lower k")
    return m


def block_contrast(
    collection: Any,
    rows: Sequence[str],
    cols: Sequence[str],
    floor: Sequence[tuple[str, str]],
    *,
    metric: str = "cknna",
    k: int = 25,
    n_boot: int = 100,
    fraction: float = 0.5,
    level: float = 0.95,
    n_perm: int = 199,
    seed: int = 0,
) -> BlockContrast:
    """How far the alignment of two groups of models rises above a floor of pairs.

    With ``s(a, b)`` the metric between models ``a`` and ``b`` on the same ``N`` samples, the
    block ``B = rows × cols`` and the floor ``F`` (e.g. the random-weight twins of each side
    against the other side, :func:`twin_floor`)::

        Δ = (1/|B|) Σ_{(a,b)∈B} s(a, b) − (1/|F|) Σ_{(a,b)∈F} s(a, b)

    Interval (delete-d subsampling, as :func:`matteralign.metrics.bootstrap`): ``Δ_r`` is
    recomputed — every pair of ``B`` and ``F`` — on ``n_boot`` random subsets of
    ``m = fraction·N`` samples drawn without replacement; with
    ``d_r = (Δ_r − mean Δ)·sqrt(m / (N − m))`` the ``level`` interval is
    ``[Δ − q_hi(d), Δ − q_lo(d)]``. p (one-sided): the rows of every ``cols`` model are
    shuffled by one permutation ``π`` against the ``rows`` models (the sample correspondence
    between the two sides is broken, each side's own geometry kept), and
    ``p = (1 + #{mean_B s(a, b[π]) ≥ mean_B s(a, b)}) / (1 + n_perm)`` (Phipson & Smyth 2010).

    References: Shao & Wu, Ann. Stat. 17 (1989) 1176 (delete-d jackknife); Politis & Romano,
    Ann. Stat. 22 (1994) 2031 (subsampling); Good, *Permutation Tests* (2000); Huh et al.,
    ICML 2024 (CKNNA).

    Args:
        collection: embeddings, an ``xarray.Dataset`` with one variable per model (the
            output of :func:`matteralign.analysis.compute.embed_models`) or a mapping
            ``{model: (N, D) array}`` of the same samples.
        rows, cols: the two sides of the block (e.g. pretrained string models and pretrained
            3D MLIPs); no model on both sides.
        floor: the ``(a, b)`` pairs of the floor.
        metric, k: a pairwise metric of :mod:`matteralign.metrics` and its ``k`` (CKNNA and
            mutual kNN use cosine neighbours, as :func:`matteralign.metrics.align`).
        n_boot, fraction, level: subsampling interval settings.
        n_perm: permutations of the null.
        seed: seed of every random draw.

    Returns:
        :class:`BlockContrast`. Cost: ``(n_boot + 1)·(|B| + |F|)`` metric evaluations plus
        ``n_perm·|B|`` relabelled ones (kNN metrics; other metrics recompute).

    Raises:
        UnknownNameError: a model is not in ``collection``.
        ValidationError: an empty side or floor, a model on both sides, or subsets too small
            for ``k``.

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(80, 4))
        >>> emb = {"s": x + 0.3 * rng.normal(size=x.shape), "t": x ** 3,
        ...        "s-random": rng.normal(size=(80, 4)), "t-random": rng.normal(size=(80, 4))}
        >>> c = block_contrast(emb, ["s"], ["t"], twin_floor(["s"], ["t"], emb), k=5,
        ...                    n_boot=20, n_perm=99)
        >>> bool(c.low < c.value < c.high), bool(c.value > 0), c.p_value
        (True, True, 0.01)
    """
    return block_contrasts(collection, rows, cols, {"floor": floor}, metric=metric, k=k,
                           n_boot=n_boot, fraction=fraction, level=level, n_perm=n_perm,
                           seed=seed)["floor"]


def block_contrasts(
    collection: Any,
    rows: Sequence[str],
    cols: Sequence[str],
    floors: Mapping[str, Sequence[tuple[str, str]]],
    *,
    metric: str = "cknna",
    k: int = 25,
    n_boot: int = 100,
    fraction: float = 0.5,
    level: float = 0.95,
    n_perm: int = 199,
    seed: int = 0,
) -> dict[str, BlockContrast]:
    """:func:`block_contrast` of one block against several floors at once, ``{label: pairs}``
    (e.g. the random twins and a control). Every floor shares the block's values, the subsets
    of the interval and the permutations of the null (so each result equals
    :func:`block_contrast` with that floor and the same seed), and each model's kNN graph is
    built once per subset.

    Returns:
        ``{label: BlockContrast}`` in the order of ``floors``.
    """
    from matteralign.errors import unknown_name
    from matteralign.metrics import get_pairwise
    from matteralign.metrics.cknna import CKNNAReliabilityWarning, warn_if_unreliable

    arrays = _as_arrays(collection)
    rows, cols = [str(a) for a in rows], [str(b) for b in cols]
    floors = {str(lab): [(str(a), str(b)) for a, b in f] for lab, f in floors.items()}
    if not rows or not cols or not floors or not all(floors.values()):
        raise ValidationError(f"a block contrast needs models on both sides and a floor; got "
                              f"{len(rows)} rows, {len(cols)} columns, floor pairs "
                              f"{ {lab: len(f) for lab, f in floors.items()} }")
    both = sorted(set(rows) & set(cols))
    if both:
        raise ValidationError(f"models on both sides of the block: {both}")
    block = [(a, b) for a in rows for b in cols]
    all_pairs = list(dict.fromkeys([*block, *(x for f in floors.values() for x in f)]))
    used = list(dict.fromkeys(x for pair in all_pairs for x in pair))
    for name in used:
        if name not in arrays:
            raise unknown_name("model", name, sorted(arrays))
    if not 0.0 < fraction < 1.0:
        raise ValidationError(f"fraction must be in (0, 1); got {fraction}")
    if not 0.0 < level < 1.0:
        raise ValidationError(f"level must be in (0, 1); got {level}")
    if n_boot < 2 or n_perm < 1:
        raise ValidationError(f"n_boot must be at least 2 and n_perm at least 1; got {n_boot} "
                              f"and {n_perm}")
    uses_k = get_pairwise(metric).uses_k
    n = arrays[rows[0]].shape[0]
    m = _subset_size(n, fraction, k, metric)
    at = {pair: i for i, pair in enumerate(all_pairs)}
    ib = [at[pair] for pair in block]
    ifl = {lab: [at[pair] for pair in f] for lab, f in floors.items()}
    score = _pair_scorer(metric, k)
    with warnings.catch_warnings():  # one CKNNA warning per call, below
        warnings.simplefilter("ignore", CKNNAReliabilityWarning)
        full = score(arrays, all_pairs)  # one pass: each model's graph built once per subset
        rng = np.random.default_rng(seed)
        reps = np.empty((n_boot, len(all_pairs)))
        for r in range(n_boot):
            idx = np.sort(rng.choice(n, size=m, replace=False))
            reps[r] = score({nm: arrays[nm][idx] for nm in used}, all_pairs)
        perms = [rng.permutation(n) for _ in range(n_perm)]
        if metric in _KNN_METRICS:
            null = _knn_block_null(arrays, rows, cols, metric, k, perms)
        else:
            null = np.array([score({**arrays, **{b: arrays[b][p] for b in cols}}, block).mean()
                             for p in perms])
    observed = float(full[ib].mean())
    tol = 1e-12 * max(1.0, abs(observed))
    p = float((1 + np.sum(null >= observed - tol)) / (1 + n_perm))
    out = {}
    for lab, fi in ifl.items():
        value = observed - float(full[fi].mean())
        if metric == "cknna":
            warn_if_unreliable(k, m, f"{value:.4g} (a contrast of CKNNA, replicates on subsets "
                                     f"of {m} of {n} samples)")
        rep = reps[:, ib].mean(axis=1) - reps[:, fi].mean(axis=1)
        dev = (rep - rep.mean()) * math.sqrt(m / (n - m))
        q_lo, q_hi = np.quantile(dev, [(1 - level) / 2, (1 + level) / 2])
        out[lab] = BlockContrast(
            value=value, low=float(value - q_hi), high=float(value - q_lo), level=float(level),
            p_value=p, block_mean=observed, floor_mean=float(full[fi].mean()),
            null_mean=float(null.mean()), metric=metric, k=int(k) if uses_k else None,
            n_samples=int(n), n_boot=int(n_boot), n_perm=int(n_perm), fraction=float(fraction),
            block=pd.Series(full[ib], index=[f"{a} × {b}" for a, b in block], name=metric),
            floor=pd.Series(full[fi], index=[f"{a} × {b}" for a, b in floors[lab]],
                            name=metric),
            replicates=rep, null=null)
    return out


def twin_floor(rows: Sequence[str], cols: Sequence[str], available: Any, *,
               suffix: str = "-random") -> list[tuple[str, str]]:
    """The random-twin floor of the block ``rows × cols``: ``(a + suffix, b)`` and
    ``(a, b + suffix)`` for every ``a`` in ``rows`` and ``b`` in ``cols`` whose twin is in
    ``available`` (model names, or a collection / mapping keyed by them).

    >>> twin_floor(["s"], ["t", "u"], ["s", "t", "u", "s-random", "u-random"])
    [('s-random', 't'), ('s-random', 'u'), ('s', 'u-random')]
    """
    names = {str(x) for x in (available.data_vars if hasattr(available, "data_vars")
                              else available)}
    pairs = [(a + suffix, b) for a in rows for b in cols if a + suffix in names]
    pairs += [(a, b + suffix) for a in rows for b in cols if b + suffix in names]
    return pairs


def modality_blocks(names: Sequence[str]) -> dict[str, str]:
    """``{model: block}`` from the model registry: ``"random twin"`` (random weights),
    ``"string"`` (a trained string model), ``"string control"`` (a string featurisation
    with no training data, e.g. ``smiles-tokens``), ``"3D MLIP"``, ``"2D descriptor"``
    (computed from SMILES), ``"3D descriptor"`` (from atoms); any other modality names its
    own block.

    >>> modality_blocks(["chemnet", "smiles-tokens", "sevennet-0", "morgan", "soap",
    ...                  "chgnet-0.3.0-random"])  # doctest: +NORMALIZE_WHITESPACE
    {'chemnet': 'string', 'smiles-tokens': 'string control', 'sevennet-0': '3D MLIP',
     'morgan': '2D descriptor', 'soap': '3D descriptor', 'chgnet-0.3.0-random': 'random twin'}
    """
    from matteralign import models as registry

    out = {}
    for name in names:
        info = registry.info(name)
        if info.random_weights:
            block = "random twin"
        elif info.modality == "string":
            block = "string" if info.training_data else "string control"
        elif info.modality == "3d":
            block = "3D MLIP"
        elif info.modality == "descriptor":
            block = "2D descriptor" if info.input == "smiles" else "3D descriptor"
        else:
            block = str(info.modality)
        out[str(name)] = block
    return out


def block_means(tensor: Any, metric: str, blocks: Mapping[str, str],
                order: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean of ``metric`` over the ordered model pairs ``(a, b)``, ``a ≠ b``, of each pair of
    blocks: ``T[X, Y] = mean_{a∈X, b∈Y, a≠b} s(a, b)`` (rows ``X`` are ``model_a``'s block).

    Args:
        tensor: an alignment tensor ``(metric, model_a, model_b)``.
        metric: one of its metrics.
        blocks: ``{model: block}`` (e.g. :func:`modality_blocks`); models of the tensor not
            in it are left out.
        order: the blocks, in the order shown (default: first appearance in ``blocks``).

    Returns:
        A block × block ``DataFrame``; NaN where a block has one model (its diagonal) or no
        pair.
    """
    da = tensor.sel(metric=metric) if "metric" in tensor.dims else tensor
    names = [str(v) for v in da["model_a"].values]
    values = np.asarray(da.values, dtype=float)
    labels = np.array([blocks.get(nm, "") for nm in names], dtype=object)
    order = list(order) if order is not None else list(dict.fromkeys(
        blocks[nm] for nm in names if nm in blocks))
    off = ~np.eye(len(names), dtype=bool)
    table = pd.DataFrame(np.nan, index=pd.Index(order, name=f"{metric} (model_a)"),
                         columns=pd.Index(order, name="model_b"))
    for x in order:
        for y in order:
            mask = (labels[:, None] == x) & (labels[None, :] == y) & off
            if mask.any():
                table.loc[x, y] = float(np.nanmean(values[mask]))
    return table
