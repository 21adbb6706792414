"""Intrinsic dimension of one representation from its nearest-neighbour distances:
TwoNN (Facco et al. 2017), GRIDE (Denti et al. 2022) and the Levina–Bickel MLE (2004) with
MacKay & Ghahramani's averaging.

All three need only each sample's first few neighbour distances ``r_1 ≤ r_2 ≤ …`` (self
excluded), computed by the blocked kNN kernel (``O(N²·D)`` time, ``O(B·N)`` memory); the
estimators themselves are ``O(N·k)`` JAX code.

Duplicate points (zero distances) make the ratios below infinite. They are **dropped with a
warning**: every group of identical rows is reduced to one row before the neighbours are
searched (DADApy warns and keeps them; scikit-dimension drops the affected points).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from matteralign.errors import ValidationError, unknown_name
from matteralign.metrics import _dist_blocks as db
from matteralign.metrics._input import as_matrix, check_k

__all__ = ["intrinsic_dimension", "twonn", "gride", "gride_scaling", "mle", "METHODS"]

METHODS = ("twonn", "gride", "mle")


def _unique_rows(x: np.ndarray) -> np.ndarray:
    """``x`` with duplicate rows removed (first copy kept, order preserved), with a warning."""
    _, first = np.unique(x, axis=0, return_index=True)
    if len(first) == len(x):
        return x
    warnings.warn(f"intrinsic dimension: dropping {len(x) - len(first)} duplicate point(s) "
                  "(zero distances)", stacklevel=3)
    return x[np.sort(first)]


def _neighbours(x: Any, k: int, what: str, min_samples: int) -> np.ndarray:
    arr = _unique_rows(as_matrix(x, min_samples=min_samples, what=what))
    if arr.shape[0] < min_samples:
        raise ValidationError(f"{what} needs at least {min_samples} distinct samples; "
                              f"got {arr.shape[0]}")
    check_k(k, arr.shape[0], what="neighbour rank")
    return db.knn_distances(arr, k)[0].astype(np.float64)


@functools.partial(jax.jit, static_argnames=("n_keep",))
def _twonn_fit(mu: jax.Array, *, n_keep: int) -> jax.Array:
    n = mu.shape[0]
    x = jnp.sort(jnp.log(mu))[:n_keep]
    y = -jnp.log1p(-jnp.arange(1, n_keep + 1, dtype=x.dtype) / n)
    return jnp.sum(x * y) / jnp.sum(x * x)


def twonn(x: Any, *, discard_fraction: float = 0.1) -> float:
    """TwoNN intrinsic dimension (Facco, d'Errico, Rodriguez & Laio, Sci. Rep. 7:12140, 2017).

    Formula: ``μ_i = r_2(i)/r_1(i)`` is Pareto with exponent ``d``, so
    ``−log(1 − F(μ)) = d·log μ``. Sort the ``μ``, drop the largest ``discard_fraction`` (keep
    ``n = int(N·(1 − f))``), and fit a line through the origin to the points
    ``(log μ_(i), −log(1 − i/N))``, ``i = 1 … n``: ``d = Σ x_i y_i / Σ x_i²``. Identical to
    DADApy's ``compute_id_2NN()`` (``mu_fraction=0.9``) and scikit-dimension's ``TwoNN()``.

    Args:
        x: ``(N, D)`` array or Embeddings, ``N ≥ 3`` distinct rows.
        discard_fraction: fraction of the largest ratios dropped, in ``[0, 1)``.

    Returns:
        float: the estimated dimension.

    Complexity: ``O(N²·D)`` for the neighbours, ``O(N log N)`` for the fit.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(1000, 2)) @ rng.normal(size=(2, 50))
        >>> round(twonn(x))
        2
    """
    if not 0 <= discard_fraction < 1:
        raise ValidationError(f"discard_fraction must be in [0, 1); got {discard_fraction}")
    r = _neighbours(x, 2, "TwoNN", 3)
    n_keep = int(r.shape[0] * (1 - discard_fraction))
    if n_keep < 2:
        raise ValidationError("TwoNN: fewer than 2 ratios left after discarding")
    if n_keep == r.shape[0]:  # −log(1 − N/N) = ∞: use the MLE of the full Pareto sample
        return float((n_keep - 1) / np.sum(np.log(r[:, 1] / r[:, 0])))
    with jax.enable_x64(True):
        return float(_twonn_fit(jnp.asarray(r[:, 1] / r[:, 0]), n_keep=n_keep))


@functools.partial(jax.jit, static_argnames=("iters",))
def _gride_fit(log_mu: jax.Array, w: jax.Array, n1: jax.Array, n2: jax.Array, *,
               iters: int = 200):
    """Root of the GRIDE score on weighted ``log μ`` by bisection in ``log d``; + std error."""
    safe = jnp.where(w > 0, log_mu, 1.0)
    nw = jnp.sum(w)
    slog = jnp.sum(w * safe)

    def score(d):
        return ((nw - 1) / d + (n2 - n1 - 1) * jnp.sum(w * safe / -jnp.expm1(-d * safe))
                - (n2 - 1) * slog)

    def body(_, lohi):
        lo, hi = lohi
        mid = jnp.sqrt(lo * hi)
        pos = score(mid) > 0
        return jnp.where(pos, mid, lo), jnp.where(pos, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iters, body, (jnp.asarray(1e-8, safe.dtype),
                                                 jnp.asarray(1e8, safe.dtype)))
    d = jnp.sqrt(lo * hi)
    info = nw / d**2 + (n2 - n1 - 1) * jnp.sum(w * (safe / (2 * jnp.sinh(d * safe / 2))) ** 2)
    return d, 1 / jnp.sqrt(info)


def _gride_from_distances(r: np.ndarray, n1: int, n2: int) -> tuple[float, float]:
    log_mu = np.log(r[:, n2 - 1] / r[:, n1 - 1])
    ok = np.isfinite(log_mu) & (log_mu > 0)  # tied distances (μ = 1) carry no information
    mu = np.exp(np.where(ok, log_mu, 0.0))
    q95, q50 = np.percentile(mu[ok], [95, 50]) if ok.any() else (np.inf, np.inf)
    ok &= mu < 20 * (q95 - q50) + q50  # DADApy's cut of overlapping / fat-tailed outliers
    if ok.sum() < 2:
        raise ValidationError(f"GRIDE (n1={n1}, n2={n2}): fewer than 2 usable ratios")
    with jax.enable_x64(True):
        d, err = _gride_fit(jnp.asarray(np.where(ok, log_mu, 0.0)),
                            jnp.asarray(ok.astype(np.float64)), jnp.asarray(float(n1)),
                            jnp.asarray(float(n2)))
    return float(d), float(err)


def gride(x: Any, *, n1: int = 1, n2: int | None = None) -> float:
    """GRIDE intrinsic dimension at neighbour ranks ``(n1, n2 = 2·n1)`` (Denti, Doimo, Laio &
    Mira, Sci. Rep. 12:20005, 2022).

    Formula: ``μ_i = r_{n2}(i)/r_{n1}(i)`` has density
    ``f(μ) = d (μ^d − 1)^{n2−n1−1} / (B(n2−n1, n1) μ^{(n2−1)d+1})``; ``d`` maximises the
    likelihood, found as the unique root of the score (bisection to machine precision).
    DADApy's conventions are followed: ``(N−1) log d`` in place of ``N log d``, and ratios
    above ``q50 + 20·(q95 − q50)`` are discarded; tied distances (``μ = 1``) are dropped.

    Args:
        x: ``(N, D)`` array or Embeddings.
        n1: rank of the nearer neighbour (``n1 = 1`` is the TwoNN MLE).
        n2: rank of the farther one (default ``2·n1``), ``n2 < N``.

    Returns:
        float: the estimated dimension.

    Complexity: ``O(N²·D)`` neighbours, ``O(N)`` per bisection step.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(1000, 3)) @ rng.normal(size=(3, 40))
        >>> round(gride(x, n1=4))
        3
    """
    n2 = 2 * n1 if n2 is None else n2
    if not (isinstance(n1, int | np.integer) and isinstance(n2, int | np.integer)
            and 1 <= n1 < n2):
        raise ValidationError(f"GRIDE needs integers 1 <= n1 < n2; got n1={n1}, n2={n2}")
    r = _neighbours(x, int(n2), "GRIDE", 3)
    return _gride_from_distances(r, int(n1), int(n2))[0]


def gride_scaling(x: Any, *, range_max: int = 64) -> xr.Dataset:
    """GRIDE at scales ``n1 = 1, 2, 4, …`` with ``n2 = 2·n1 ≤ min(range_max, N−1)``, as
    DADApy's ``return_id_scaling_gride``: the ID as a function of the neighbourhood size.

    Args:
        x: ``(N, D)`` array or Embeddings.
        range_max: largest neighbour rank used.

    Returns:
        Dataset on dim ``scale`` (the ``n1`` values) with ``id``, ``id_err`` (1/sqrt of the
        observed Fisher information) and ``distance`` (mean of ``r_{n1}``, ``r_{n2}``).

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(500, 2)) @ rng.normal(size=(2, 10))
        >>> ds = gride_scaling(x, range_max=16)
        >>> ds.scale.values.tolist(), bool(abs(ds.id - 2).max() < 0.5)
        ([1, 2, 4, 8], True)
    """
    arr = as_matrix(x, min_samples=3, what="GRIDE")
    kmax = min(int(range_max), _unique_rows(arr).shape[0] - 1)
    if kmax < 2:
        raise ValidationError(f"range_max must be at least 2; got {range_max}")
    r = _neighbours(arr, kmax, "GRIDE", 3)
    scales = [2**i for i in range(int(np.log2(kmax)))]
    res = [_gride_from_distances(r, s, 2 * s) for s in scales]
    dist = [float(np.mean(r[:, [s - 1, 2 * s - 1]])) for s in scales]
    return xr.Dataset(
        {"id": ("scale", [a for a, _ in res]), "id_err": ("scale", [b for _, b in res]),
         "distance": ("scale", dist)},
        coords={"scale": scales}, attrs={"estimator": "gride", "range_max": int(range_max)})


@jax.jit
def _mle_fit(r: jax.Array) -> jax.Array:
    k = r.shape[1]
    inv_local = jnp.sum(jnp.log(r[:, -1:] / r[:, :-1]), axis=1) / (k - 1)  # 1/m̂_k(x_i)
    return 1.0 / jnp.mean(inv_local)


def mle(x: Any, *, k: int = 20) -> float:
    """Levina–Bickel maximum-likelihood dimension (NeurIPS 2004) with MacKay & Ghahramani's
    averaging (2005).

    Formula: with ``T_j(i)`` the distance to ``i``'s j-th neighbour,
    ``m̂_k(i) = [ (1/(k−1)) Σ_{j=1}^{k−1} log(T_k(i)/T_j(i)) ]⁻¹`` and the estimate is the
    inverse of the mean of the inverses, ``m̂ = [ (1/N) Σ_i m̂_k(i)⁻¹ ]⁻¹``. Identical to
    scikit-dimension's ``MLE().fit(X, n_neighbors=k, comb="mle")``.

    Args:
        x: ``(N, D)`` array or Embeddings.
        k: neighbours used per point, ``2 ≤ k < N``.

    Returns:
        float: the estimated dimension.

    Complexity: ``O(N²·D)`` neighbours, ``O(N·k)`` estimate.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(1000, 4)) @ rng.normal(size=(4, 30))
        >>> round(mle(x, k=10))
        4
    """
    if isinstance(k, int | np.integer) and k < 2:
        raise ValidationError(f"MLE needs k >= 2 neighbours; got {k}")
    r = _neighbours(x, k, "MLE", 3)
    with jax.enable_x64(True):
        return float(_mle_fit(jnp.asarray(r)))


def intrinsic_dimension(x: Any, method: str = "twonn", **kw: Any) -> float:
    """Intrinsic dimension of one representation.

    Args:
        x: ``(N, D)`` array or Embeddings.
        method: ``"twonn"`` (:func:`twonn`, keyword ``discard_fraction=0.1``), ``"gride"``
            (:func:`gride`, ``n1=1``, ``n2=2·n1``) or ``"mle"`` (:func:`mle`, ``k=20``).
        **kw: passed to the estimator.

    Returns:
        float.

    Raises:
        UnknownNameError: unknown ``method``. ValidationError: bad input (NaN/inf, too few
        distinct samples, neighbour rank ≥ N).

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(800, 3)) @ rng.normal(size=(3, 100))
        >>> [round(intrinsic_dimension(x, m)) for m in METHODS]
        [3, 3, 3]
    """
    funcs = {"twonn": twonn, "gride": gride, "mle": mle}
    if method not in funcs:
        raise unknown_name("intrinsic-dimension method", method, list(funcs))
    return funcs[method](x, **kw)
