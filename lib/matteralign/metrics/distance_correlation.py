"""Distance correlation (Székely, Rizzo & Bakirov 2007) and its bias-corrected version
(Székely & Rizzo 2013, 2014), for one pair or for every pair of M models at once.

With ``a_ij = ‖x_i − x_j‖`` and ``b_ij = ‖y_i − y_j‖``:

* classic (V-statistic): ``A = H a H`` (double centring), ``dCov²(X, Y) = (1/N²) Σ_ij A_ij B_ij``,
  ``dCor²(X, Y) = dCov²(X, Y) / sqrt(dCov²(X, X) · dCov²(Y, Y))``;
* bias-corrected (U-statistic): U-centring ``Ã_ij = a_ij − a_i·/(N−2) − a_·j/(N−2) +
  a_··/((N−1)(N−2))`` for ``i ≠ j`` and ``Ã_ii = 0``, ``(Ã·B̃) = Σ_{i≠j} Ã_ij B̃_ij / (N(N−3))``,
  ``R*(X, Y) = (Ã·B̃) / sqrt((Ã·Ã)(B̃·B̃))`` — can be negative; needs N ≥ 4.

Conventions match the ``dcor`` package exactly: ``distance_correlation(a, b)`` is
``dcor.distance_correlation`` (dCor, *not* squared); ``squared=True`` gives
``dcor.distance_correlation_sqr``; ``bias_corrected=True`` gives
``dcor.u_distance_correlation_sqr`` (R*, already on the squared scale). A zero denominator
(a constant representation) gives 0, as in ``dcor``.

Fast algorithm (``shared/design.md``): both centrings are orthogonal projections, so
``Σ A^m_ij A^l_ij = Σ a^m_ij a^l_ij − (2/N) R^m·R^l + S^m S^l / N²`` (classic) and
``Σ_{i≠j} Ã^m_ij Ã^l_ij = Σ a^m_ij a^l_ij − (2/(N−2)) R^m·R^l + S^m S^l / ((N−1)(N−2))``
(U-centred), with ``R^m`` the row sums and ``S^m`` the total of model m's distance matrix.
One pass over row blocks therefore suffices: each block of distances of all M models is
computed, its row sums kept and its raw Gram ``Σ a^m a^l`` accumulated. To avoid
cancellation every distance matrix is first shifted by a constant close to its mean (the
centrings remove a constant exactly; for U-centring only off the diagonal). Work
``O(M·N²·D + M²·N²)``, memory ``O(M·B·N)`` for block size ``B`` — never ``M·N²``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from matteralign.errors import ValidationError, unknown_name
from matteralign.metrics import _dist_blocks as db
from matteralign.metrics._input import as_matrix
from matteralign.tensors import check_same_samples

__all__ = ["distance_correlation", "distance_correlation_matrix", "METHODS"]

METHODS = ("auto", "blocked", "dense")
_METRICS = ("euclidean",)


def _min_samples(bias_corrected: bool) -> int:
    return 4 if bias_corrected else 2


def _check_options(bias_corrected: bool, squared: bool | None) -> bool:
    if squared is None:
        return bias_corrected
    if bias_corrected and not squared:
        raise ValidationError(
            "the bias-corrected statistic R* can be negative and has no square root; "
            "use squared=True (or leave it unset) with bias_corrected=True")
    return bool(squared)


@functools.partial(jax.jit, static_argnames=("block", "n", "hollow"))
def _gram_block(xps, sqnps, shifts, start, *, block: int, n: int, hollow: bool):
    """Raw Gram ``Σ a'^m a'^l`` and row sums of one row block of the shifted distances."""
    i = start + jnp.arange(block)[:, None]
    j = jnp.arange(xps[0].shape[0])[None, :]
    valid = (i < n) & (j < n)
    rows = []
    for m in range(len(xps)):
        d = db._dist_rows(xps[m], sqnps[m], start, block, n) - shifts[m]
        if hollow:  # shift only off the diagonal: keeps the matrix hollow
            d = jnp.where(i == j, jnp.zeros((), d.dtype), d)
        rows.append(jnp.where(valid, d, jnp.zeros((), d.dtype)))
    stack = jnp.stack(rows)  # (M, B, N_pad)
    flat = stack.reshape(len(xps), -1)
    gram = flat @ flat.T
    return gram, stack.sum(axis=2)


def _shift(x: np.ndarray, rng_rows: int = 256) -> float:
    """Mean pairwise distance among the first rows: a cheap estimate of the mean distance."""
    s = x[:rng_rows].astype(np.float64)
    d2 = (s * s).sum(1)[:, None] + (s * s).sum(1)[None, :] - 2 * s @ s.T
    d = np.sqrt(np.maximum(d2, 0))
    m = len(s)
    return float(d.sum() / max(1, m * (m - 1)))


def _gram_blocked(xs: list[np.ndarray], bias_corrected: bool, block_size: int | None,
                  progress: bool) -> np.ndarray:
    """Centred Gram ``G[m, l] = Σ A^m_ij A^l_ij`` (classic) or the U-centred one, float64."""
    n, m = xs[0].shape[0], len(xs)
    block = block_size or db.auto_block(n, m)
    dtype = np.result_type(*[x.dtype for x in xs])
    xs = [np.asarray(x, dtype=dtype) for x in xs]
    shifts = np.array([_shift(x) for x in xs])
    raw = np.zeros((m, m))
    rowsums = np.zeros((m, n))
    starts = list(db.block_starts(n, block))
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="distance correlation", unit="block")
    with db.precision(dtype):
        ps = [db.prepare(x, block) for x in xs]
        args = (tuple(p.xp for p in ps), tuple(p.sqnp for p in ps),
                jnp.asarray(shifts, dtype=dtype))
        for s in starts:
            g, r = _gram_block(*args, jnp.asarray(s), block=block, n=n, hollow=bias_corrected)
            raw += np.asarray(g, dtype=np.float64)
            e = min(n, s + block)
            rowsums[:, s:e] = np.asarray(r, dtype=np.float64)[:, : e - s]
    total = rowsums.sum(axis=1)
    rr = rowsums @ rowsums.T
    if bias_corrected:
        return raw - 2.0 / (n - 2) * rr + np.outer(total, total) / ((n - 1) * (n - 2))
    return raw - 2.0 / n * rr + np.outer(total, total) / n**2


def _dist_dense(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.sqrt(np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1), 0.0))


def _centred_dense(d: np.ndarray, bias_corrected: bool) -> np.ndarray:
    """The literal double-centred or U-centred distance matrix (reference, ``O(N²)``)."""
    n = d.shape[0]
    if not bias_corrected:
        return d - d.mean(0)[None, :] - d.mean(1)[:, None] + d.mean()
    u = (d - d.sum(0)[None, :] / (n - 2) - d.sum(1)[:, None] / (n - 2)
         + d.sum() / ((n - 1) * (n - 2)))
    np.fill_diagonal(u, 0.0)
    return u


def _gram_dense(xs: list[np.ndarray], bias_corrected: bool) -> np.ndarray:
    """Centred Gram from the literal formula with full ``N × N`` matrices (small N only)."""
    cs = [_centred_dense(_dist_dense(x), bias_corrected) for x in xs]
    return np.array([[float((ca * cb).sum()) for cb in cs] for ca in cs])


def _gram_to_corr(g: np.ndarray, squared: bool, bias_corrected: bool) -> np.ndarray:
    diag = np.diag(g)
    den = np.sqrt(np.abs(np.outer(diag, diag)))
    ok = np.outer(diag, diag) > 0
    r2 = np.where(ok, g / np.where(ok, den, 1.0), 0.0)
    if bias_corrected or squared:
        return r2
    return np.sqrt(np.maximum(r2, 0.0))


def _validate(xs: list[Any], bias_corrected: bool, method: str, metric: str) -> list[np.ndarray]:
    if method not in METHODS:
        raise unknown_name("method", method, list(METHODS))
    if metric not in _METRICS:
        raise unknown_name("distance", metric, list(_METRICS))
    if len(xs) == 0:
        raise ValidationError("distance correlation needs at least one representation")
    for x in xs[1:]:
        check_same_samples(xs[0], x)
    what = "bias-corrected distance correlation" if bias_corrected else "distance correlation"
    return [as_matrix(x, name=f"representation {i}", min_samples=_min_samples(bias_corrected),
                      what=what) for i, x in enumerate(xs)]


def distance_correlation_matrix(xs: list[Any], *, bias_corrected: bool = False,
                                squared: bool | None = None, block_size: int | None = None,
                                method: str = "auto", metric: str = "euclidean",
                                progress: bool = False) -> np.ndarray:
    """Distance correlation between every pair of M representations of the same samples.

    ``out[m, l] = dCor(X_m, X_l)`` (see the module docstring for the formulas and the
    ``dcor`` conventions). One blocked pass over all models: the distance matrices are never
    held whole.

    Args:
        xs: M arrays or Embeddings, each ``(N, D_m)``, same samples in the same order.
        bias_corrected: U-centred R* (Székely & Rizzo 2014) instead of the classic dCor.
        squared: return dCor² (classic only; R* is always on the squared scale). Default:
            False for classic, True (the only option) for bias-corrected.
        block_size: rows per block ``B`` (default: memory ``M·B·N`` ≈ 2²⁵ numbers).
        method: ``"blocked"`` (fast, the default for ``"auto"``) or ``"dense"`` (the literal
            formula with ``N × N`` matrices, for checking; ``O(M·N²)`` memory).
        metric: only ``"euclidean"``.
        progress: show a progress bar over blocks.

    Returns:
        ``(M, M)`` float64, symmetric, unit diagonal (0 for a constant representation).

    Raises:
        ValidationError: different samples, NaN/inf, ``N < 2`` (``N < 4`` bias-corrected).

    Complexity: ``O(M·N²·D + M²·N²)`` time, ``O(M·B·N)`` memory.

    See Also: :func:`distance_correlation`, ``dcor.distance_correlation``.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(50, 3))
        >>> r = distance_correlation_matrix([x, 2 * x + 1, rng.normal(size=(50, 3))])
        >>> round(float(r[0, 1]), 6), bool(r[0, 2] < 0.5)
        (1.0, True)
    """
    arrs = _validate(list(xs), bias_corrected, method, metric)
    sq = _check_options(bias_corrected, squared)
    if method == "dense":
        g = _gram_dense(arrs, bias_corrected)
    else:
        g = _gram_blocked(arrs, bias_corrected, block_size, progress)
    return _gram_to_corr(g, sq, bias_corrected)


def distance_correlation(a: Any, b: Any, *, bias_corrected: bool = False,
                         squared: bool | None = None, metric: str = "euclidean",
                         method: str = "auto") -> float:
    """Distance correlation of two representations of the same samples.

    Formula: ``dCor²(X, Y) = dCov²(X, Y) / sqrt(dCov²(X, X)·dCov²(Y, Y))`` with
    ``dCov²(X, Y) = (1/N²) Σ_ij A_ij B_ij`` over the double-centred Euclidean distance
    matrices (Székely, Rizzo & Bakirov 2007, Ann. Stat. 35:2769); with
    ``bias_corrected=True`` the U-centred R* of Székely & Rizzo (2014, Ann. Stat. 42:2382).
    Returns dCor (as ``dcor.distance_correlation``), dCor² with ``squared=True`` (as
    ``dcor.distance_correlation_sqr``), or R* (as ``dcor.u_distance_correlation_sqr``).

    Args:
        a, b: ``(N, D_a)`` and ``(N, D_b)`` arrays or Embeddings of the same samples.
        bias_corrected, squared, metric, method: see :func:`distance_correlation_matrix`.

    Returns:
        float: in ``[0, 1]`` (classic); R* in ``[-1, 1]``.

    Complexity: ``O(N²·(D_a + D_b))`` time, ``O(B·N)`` memory.

    Examples:
        >>> rng = np.random.default_rng(1)
        >>> x = rng.normal(size=(40, 4))
        >>> round(distance_correlation(x, 3 * x), 6)
        1.0
        >>> round(distance_correlation(x, x ** 2, bias_corrected=True), 3) < 0.5
        True
    """
    r = distance_correlation_matrix([a, b], bias_corrected=bias_corrected, squared=squared,
                                    metric=metric, method=method)
    return float(r[0, 1])
