"""Does a grouping of models (family, training data) explain their distances? Permutation
tests on a distance matrix, with effect sizes.

For a labelling ``g`` of M models and distances ``d``:

* **statistic** ``T = mean_{g_i ≠ g_j} d_ij − mean_{g_i = g_j} d_ij`` over pairs i < j (how
  much closer models of one group are than models of different groups, in distance units);
* **effect size** ``R² = SS_between / SS_total`` of PERMANOVA (Anderson 2001), with
  ``SS_total = (1/M) Σ_{i<j} d²_ij`` and ``SS_within = Σ_g (1/n_g) Σ_{i<j∈g} d²_ij``, and the
  pseudo-F ``(SS_between/(a−1)) / (SS_within/(M−a))``; plus ``z = (T − mean_null)/sd_null``;
* **p-value** ``(1 + #{T_perm ≥ T}) / (1 + n_permutations)`` from permuting labels.

Two groupings that are entangled (in the published matrices most families were trained on
one corpus) cannot be separated by two unconditional tests. The **stratified** test
(``strata=``) permutes the labels only *within* strata (e.g. training-corpus labels within
each family) and computes ``T`` only over pairs *inside* one stratum, so it asks: among
models of the same family, are those trained on the same data closer than those trained on
different data? Strata in which the label does not vary carry no information and are left
out; if no stratum varies the test is reported as not estimable (NaN). Models are not
independent draws, so the p-value is a test of exchangeability of the labels given the
matrix, not a statement about a population of models.

Examples
--------
>>> import numpy as np
>>> labels = ["a"] * 4 + ["b"] * 4
>>> d = np.where(np.equal.outer(labels, labels), 0.1, 0.5); np.fill_diagonal(d, 0)
>>> r = grouping_test(d, labels, n_permutations=999, seed=0)
>>> round(r.statistic, 3), r.p_value < 0.05, round(r.r2, 3)
(0.4, True, 0.942)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from matteralign.errors import ValidationError

__all__ = ["GroupingResult", "grouping_test", "compare_groupings", "MISSING_LABELS"]

MISSING_LABELS = {"", "none", "nan", "null", "unknown"}


@dataclass(frozen=True)
class GroupingResult:
    """Outcome of :func:`grouping_test` (distances in the units of the matrix)."""

    grouping: str
    stratified_by: str
    n_models: int
    n_groups: int
    n_pairs_within: int
    n_pairs_across: int
    mean_within: float
    mean_across: float
    statistic: float  # mean_across − mean_within
    z: float
    r2: float
    pseudo_f: float
    p_value: float
    n_permutations: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pair_stat(d: np.ndarray, codes: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    same = codes[:, None] == codes[None, :]
    w = same & mask
    a = (~same) & mask
    mw = d[w].mean() if w.any() else np.nan
    ma = d[a].mean() if a.any() else np.nan
    return float(mw), float(ma)


def _permanova(d2: np.ndarray, codes: np.ndarray) -> tuple[float, float]:
    m = len(codes)
    iu = np.triu_indices(m, 1)
    ss_t = d2[iu].sum() / m
    ss_w = 0.0
    groups = np.unique(codes)
    for g in groups:
        idx = np.flatnonzero(codes == g)
        if len(idx) > 1:
            sub = d2[np.ix_(idx, idx)]
            ss_w += sub[np.triu_indices(len(idx), 1)].sum() / len(idx)
    a = len(groups)
    ss_b = ss_t - ss_w
    r2 = ss_b / ss_t if ss_t > 0 else np.nan
    f = (ss_b / (a - 1)) / (ss_w / (m - a)) if a > 1 and m > a and ss_w > 0 else np.nan
    return float(r2), float(f)


def _clean(labels: Sequence[Any]) -> np.ndarray:
    return np.array([str(x).strip() for x in labels], dtype=object)


def grouping_test(
    distances: Any,
    labels: Sequence[Any],
    *,
    strata: Sequence[Any] | None = None,
    n_permutations: int = 9999,
    seed: int = 0,
    grouping: str = "",
    stratified_by: str = "",
) -> GroupingResult:
    """Permutation test of a grouping on a distance matrix (see the module docstring).

    Models whose label (or stratum) is missing (``None``, ``""``, ``"None"``, ``"nan"``) are
    left out. Cost O(n_permutations · M²).

    Args:
        distances: ``(M, M)`` symmetric distances (array or ``(model_a, model_b)`` DataArray).
        labels: group label of each model.
        strata: optional stratum of each model; labels are permuted within strata and the
            statistic uses only pairs within one stratum.
        n_permutations: number of label permutations.
        seed: random seed.
        grouping, stratified_by: names recorded in the result.

    Returns:
        :class:`GroupingResult`.
    """
    d = np.asarray(distances.values if isinstance(distances, xr.DataArray) else distances, float)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValidationError(f"distances must be a square matrix; got shape {d.shape}")
    lab = _clean(labels)
    if len(lab) != d.shape[0]:
        raise ValidationError(f"{len(lab)} labels for {d.shape[0]} models")
    keep = np.array([x.lower() not in MISSING_LABELS for x in lab], dtype=bool)
    st = None
    if strata is not None:
        st = _clean(strata)
        if len(st) != d.shape[0]:
            raise ValidationError(f"{len(st)} strata for {d.shape[0]} models")
        keep &= np.array([x.lower() not in MISSING_LABELS for x in st], dtype=bool)
    d = 0.5 * (d + d.T)[np.ix_(keep, keep)]
    lab = lab[keep]
    m = len(lab)
    codes = np.unique(lab, return_inverse=True)[1] if m else np.zeros(0, int)
    n_groups = int(codes.max() + 1) if m else 0
    upper = np.triu(np.ones((m, m), bool), 1)
    if st is not None:
        st = st[keep]
        scodes = np.unique(st, return_inverse=True)[1] if m else np.zeros(0, int)
        informative = np.array([len(np.unique(codes[scodes == s])) > 1 for s in scodes])
        mask = upper & (scodes[:, None] == scodes[None, :]) & informative[:, None]
        blocks = [np.flatnonzero((scodes == s) & informative) for s in np.unique(scodes)]
        blocks = [b for b in blocks if len(b)]
    else:
        mask = upper
        blocks = [np.arange(m)]
    mw, ma = _pair_stat(d, codes, mask)
    observed = ma - mw
    n_w = int((mask & (codes[:, None] == codes[None, :])).sum())
    n_a = int((mask & (codes[:, None] != codes[None, :])).sum())
    r2, f = _permanova(d**2, codes) if (st is None and m > 1) else (np.nan, np.nan)
    if not np.isfinite(observed) or n_groups < 2:
        return GroupingResult(grouping, stratified_by, m, n_groups, n_w, n_a, mw, ma,
                              float("nan"), float("nan"), r2, f, float("nan"), 0)
    rng = np.random.default_rng(seed)
    null = np.empty(n_permutations)
    perm = codes.copy()
    for t in range(n_permutations):
        for b in blocks:
            perm[b] = codes[b][rng.permutation(len(b))]
        pw, pa = _pair_stat(d, perm, mask)
        null[t] = pa - pw
    null = null[np.isfinite(null)]
    p = (1 + int((null >= observed - 1e-12).sum())) / (1 + len(null))
    sd = null.std()
    z = (observed - null.mean()) / sd if sd > 0 else float("nan")
    return GroupingResult(grouping, stratified_by, m, n_groups, n_w, n_a, mw, ma,
                          float(observed), float(z), r2, f, float(p), int(len(null)))


def compare_groupings(
    tensor: xr.DataArray,
    groupings: Sequence[str] = ("family", "corpus", "training_data"),
    *,
    stratified: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    metric: str | None = None,
    n_permutations: int = 9999,
    seed: int = 0,
) -> pd.DataFrame:
    """Run :func:`grouping_test` for several metadata groupings of one distance tensor.

    Args:
        tensor: alignment/distance tensor with model metadata coordinates ``<key>_a``
            (e.g. from :func:`~matteralign.analysis.published.load_published`).
        groupings: metadata keys tested unconditionally.
        stratified: ``(grouping, stratum)`` pairs tested within strata, e.g.
            ``[("corpus", "family"), ("family", "corpus")]``.
        metric: which metric to use when ``tensor`` has a ``metric`` dim (default: the only
            one).
        n_permutations, seed: as in :func:`grouping_test`.

    Returns:
        ``DataFrame`` with one row per test (columns of :class:`GroupingResult`).
    """
    da = tensor
    if "metric" in da.dims:
        if metric is None:
            if da.sizes["metric"] != 1:
                raise ValidationError("tensor has several metrics; pass metric=")
            metric = str(da["metric"].values[0])
        da = da.sel(metric=metric)
    pairs = list(stratified.items()) if isinstance(stratified, Mapping) else list(stratified or [])
    rows = []
    for key in [*[(g, None) for g in groupings], *pairs]:
        g, s = key
        if f"{g}_a" not in da.coords or (s and f"{s}_a" not in da.coords):
            raise ValidationError(f"tensor has no metadata {g!r}{' or ' + repr(s) if s else ''}")
        res = grouping_test(da.values, da[f"{g}_a"].values,
                            strata=None if s is None else da[f"{s}_a"].values,
                            n_permutations=n_permutations, seed=seed, grouping=g,
                            stratified_by=s or "")
        rows.append(res.as_dict())
    return pd.DataFrame(rows)
