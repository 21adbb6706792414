"""Trends: alignment against performance, estimates against sample size.

* :func:`fit_trend` — ordinary least-squares line ``y = a + b·x`` with a pointwise bootstrap
  confidence band (resampling points with replacement; percentile interval, Efron &
  Tibshirani 1993) and Spearman's rank correlation with its two-sided p-value
  (:func:`spearman`: exact permutation distribution for n ≤ 8, Student-t approximation
  above).
* :func:`stabilisation_point` — the smallest sample size after which an estimate stays within
  a tolerance of its value at the largest size.

Examples
--------
>>> import numpy as np
>>> x = np.arange(10.0); y = 2 * x + 1
>>> fit = fit_trend(x, y, n_boot=200, seed=0)
>>> round(fit.slope, 6), round(fit.intercept, 6), round(fit.spearman_rho, 3)
(2.0, 1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matteralign.errors import ValidationError

__all__ = ["TrendFit", "fit_trend", "spearman", "stabilisation_point", "bootstrap_interval"]

EXACT_MAX_N = 8


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Spearman's ρ and its two-sided p-value.

    ρ is Pearson's correlation of the ranks (ties averaged). For ``n ≤ 8`` the p-value is
    exact: the fraction of all ``n!`` permutations of ``y`` with ``|ρ_perm| ≥ |ρ|``; above,
    SciPy's Student-t approximation. (With n = 3 a perfect ρ = −1 has p = 1/3, not ≈ 0.)

    >>> rho, p = spearman([1, 2, 3], [3, 2, 1])
    >>> round(rho, 3), round(p, 3)
    (-1.0, 0.333)
    """
    import itertools

    from scipy.stats import rankdata, spearmanr

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    rho = float(spearmanr(x, y)[0])
    n = len(x)
    if n > EXACT_MAX_N or not np.isfinite(rho):
        return rho, float(spearmanr(x, y)[1])
    rx, ry = rankdata(x), rankdata(y)
    rx = (rx - rx.mean()) / (np.linalg.norm(rx - rx.mean()) or 1.0)
    ry = ry - ry.mean()
    norm = np.linalg.norm(ry) or 1.0
    hits = total = 0
    for perm in itertools.permutations(range(n)):
        total += 1
        hits += abs(float(rx @ ry[list(perm)]) / norm) >= abs(rho) - 1e-12
    return rho, float(hits / total)


@dataclass(frozen=True)
class TrendFit:
    """A fitted line with a bootstrap band and a rank correlation."""

    slope: float
    intercept: float
    r2: float
    spearman_rho: float
    spearman_p: float
    n: int
    grid: np.ndarray
    fitted: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    level: float
    log_x: bool

    def predict(self, x: Any) -> np.ndarray:
        """The fitted line at ``x`` (in the original units of x)."""
        x = np.asarray(x, dtype=float)
        return self.intercept + self.slope * (np.log10(x) if self.log_x else x)


def fit_trend(
    x: Sequence[float],
    y: Sequence[float],
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    log_x: bool = False,
    n_grid: int = 100,
) -> TrendFit:
    """Least-squares line through ``(x, y)`` with a bootstrap band and Spearman's ρ.

    ``b = cov(x, y) / var(x)``, ``a = ȳ − b·x̄`` (on ``log10 x`` when ``log_x``). The band at
    each grid point is the ``[(1−level)/2, (1+level)/2]`` percentile of the lines refitted on
    ``n_boot`` resamples of the points (resamples with a single distinct x are skipped).
    Spearman's ρ and its two-sided p-value come from :func:`spearman`.
    Cost O(n_boot · (n + n_grid)).

    Args:
        x, y: paired values (NaN pairs are dropped); at least 3 pairs.
        n_boot: bootstrap resamples.
        level: confidence level of the band.
        seed: random seed.
        log_x: fit against ``log10(x)`` (x must be positive).
        n_grid: points on the band's grid.

    Returns:
        :class:`TrendFit`.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValidationError(f"x and y must be 1-D of equal length; got {x.shape}, {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if log_x:
        if (x <= 0).any():
            raise ValidationError("log_x=True needs positive x")
    if len(x) < 3 or len(np.unique(x)) < 2:
        raise ValidationError(f"a trend needs at least 3 points with 2 distinct x; got {len(x)}")
    u = np.log10(x) if log_x else x

    def line(uu: np.ndarray, yy: np.ndarray) -> tuple[float, float]:
        b = np.cov(uu, yy, bias=True)[0, 1] / np.var(uu)
        return float(yy.mean() - b * uu.mean()), float(b)

    a, b = line(u, y)
    resid = y - (a + b * u)
    ss_tot = ((y - y.mean()) ** 2).sum()
    r2 = float(1 - (resid**2).sum() / ss_tot) if ss_tot > 0 else float("nan")
    grid_u = np.linspace(u.min(), u.max(), n_grid)
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(u), len(u))
        if len(np.unique(u[idx])) < 2:
            continue
        aa, bb = line(u[idx], y[idx])
        lines.append(aa + bb * grid_u)
    boot = np.array(lines) if lines else np.full((1, n_grid), np.nan)
    lo, hi = np.nanpercentile(boot, [50 * (1 - level), 50 * (1 + level)], axis=0)
    rho, p = spearman(x, y)
    grid = 10**grid_u if log_x else grid_u
    return TrendFit(slope=b, intercept=a, r2=r2, spearman_rho=float(rho), spearman_p=float(p),
                    n=int(len(x)), grid=grid, fitted=a + b * grid_u, band_low=lo, band_high=hi,
                    level=level, log_x=log_x)


def bootstrap_interval(values: Sequence[float], *, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates ``values`` (NaNs ignored).

    >>> bootstrap_interval(range(101), level=0.9)
    (5.0, 95.0)
    """
    v = np.asarray(values, dtype=float)
    lo, hi = np.nanpercentile(v, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def stabilisation_point(sizes: Sequence[float], estimates: Sequence[float], *,
                        tolerance: float = 0.02) -> float:
    """Smallest size ``n`` such that every estimate at sizes ≥ n is within ``tolerance``
    (absolute) of the estimate at the largest size; NaN if only the largest qualifies.
    O(len(sizes)).

    >>> stabilisation_point([50, 100, 200, 400], [0.30, 0.41, 0.445, 0.45], tolerance=0.02)
    200.0
    """
    s = np.asarray(sizes, dtype=float)
    e = np.asarray(estimates, dtype=float)
    order = np.argsort(s)
    s, e = s[order], e[order]
    final = e[-1]
    within = np.abs(e - final) <= tolerance
    n = len(s) - 1
    while n > 0 and within[n - 1]:
        n -= 1
    return float(s[n]) if n < len(s) - 1 else float("nan")
