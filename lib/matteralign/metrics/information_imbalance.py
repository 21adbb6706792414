"""Information imbalance Δ(A→B) (Glielmo, Zeni, Cheng, Csányi & Laio, PNAS Nexus 1:pgac039,
2022), for one ordered pair or for every ordered pair of M models at once.

Formula: with ``r^B_ij`` the rank of ``j`` among ``i``'s neighbours in B (nearest = 1, self
excluded) and ``N_k^A(i)`` the ``k`` nearest neighbours of ``i`` in A,

    Δ(A→B) = 2/(N·k) · Σ_i (1/N) Σ_{j ∈ N_k^A(i)} r^B_ij  =  (2/N) · ⟨r^B⟩,

the mean B-rank of the A-neighbours divided by ``N/2`` — DADApy's convention
(``MetricComparisons.return_information_imbalace`` on the full data set). Δ(A→A) = 2/N·1 ≈ 0
(exactly ``2/N`` for k = 1: the nearest neighbour has rank 1); Δ ≈ 1 when B carries no
information about A's neighbourhoods. Ties in B get the lowest rank (``1 + #{l ≠ i:
d^B_il < d^B_ij}``); ties in A are broken by increasing sample index.

Fast algorithm (``shared/design.md``): for each row block, compute every model's distance
rows once (jitted JAX), find every model's ``k`` nearest neighbours there (``lax.top_k``),
sort each model's rows once, and look up every model A's neighbours in every model B's
sorted rows with ``searchsorted`` (in JAX on accelerators; on the CPU this sort/lookup step
runs in NumPy, whose SIMD sort is ~50× faster than XLA's there — same numbers). Work ``O(M·N²·D + M·N² log N + M²·N·k log N)`` — not M² full sorts —
and memory ``O(M·B·N)``.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from matteralign.errors import ValidationError, unknown_name
from matteralign.metrics import _dist_blocks as db
from matteralign.metrics._input import as_matrix, check_k
from matteralign.tensors import check_same_samples

__all__ = ["information_imbalance", "information_imbalance_matrix", "METHODS", "METRICS"]

METHODS = ("auto", "ranks", "dense")
METRICS = ("euclidean", "cosine")
MIN_SAMPLES = 3


@functools.partial(jax.jit, static_argnames=("block", "n", "k"))
def _dist_knn_block(xps, sqnps, start, *, block: int, n: int, k: int):
    """Every model's distance rows of one block (self = +inf) and its k nearest neighbours.

    Returns ``(dists (M, B, N_pad), nbrs (M, B, k))``.
    """
    i = start + jnp.arange(block)
    self_mask = i[:, None] == jnp.arange(xps[0].shape[0])[None, :]
    dists = jnp.stack([jnp.where(self_mask, jnp.inf,
                                 db._dist_rows(xps[m], sqnps[m], start, block, n))
                       for m in range(len(xps))])  # padded columns are +inf too
    nbrs = jax.lax.top_k(-dists, k)[1]
    return dists, nbrs


@jax.jit
def _rank_sums_jax(dists: jax.Array, nbrs: jax.Array, valid: jax.Array) -> jax.Array:
    """``[A, B]`` sums of ``1 + #{l ≠ i: d^B_il < d^B_ij}`` over ``j ∈ N_k^A(i)``, valid rows.

    Sorts each of B's rows once and looks up every A's neighbours with ``searchsorted``.
    The pure-JAX path (fast on accelerators; XLA's CPU sort is slow, see :func:`_rank_sums_np`).
    """
    m, block, k = nbrs.shape

    def one_b(d):  # d: (B, N) for model B
        srt = jnp.sort(d, axis=1)  # self (inf) sorts last
        vals = jnp.take_along_axis(d[None], nbrs, axis=2)  # (M_A, B, k)
        q = jnp.moveaxis(vals, 0, 1).reshape(block, -1)
        below = jax.vmap(lambda row, qs: jnp.searchsorted(row, qs, side="left"))(srt, q)
        ranks = (below + 1).reshape(block, m, k)
        return jnp.einsum("bmk,b->m", ranks, valid)

    return jax.lax.map(one_b, dists).T


def _rank_sums_np(dists: np.ndarray, nbrs: np.ndarray, rows: int) -> np.ndarray:
    """NumPy twin of :func:`_rank_sums_jax` for the CPU, where NumPy's SIMD sort is ~50×
    faster than XLA's; same result. Only the first ``rows`` rows are valid."""
    m, _, k = nbrs.shape
    out = np.zeros((m, m))
    nb = nbrs[:, :rows]
    for b in range(m):
        d = dists[b, :rows]
        srt = np.sort(d, axis=1)
        vals = np.take_along_axis(d[None], nb, axis=2).transpose(1, 0, 2).reshape(rows, -1)
        below = np.empty(vals.shape, dtype=np.int64)
        for r in range(rows):
            below[r] = np.searchsorted(srt[r], vals[r], side="left")
        out[:, b] = (below + 1).reshape(rows, m, k).sum(axis=(0, 2))
    return out


def _rows(x: np.ndarray, metric: str) -> np.ndarray:
    if metric == "cosine":  # cosine distance is monotone in the distance of unit rows
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        if np.any(norm == 0):
            raise ValidationError("cosine distance is undefined for a zero row")
        return x / norm
    return x


def _ranks_blocked(xs: list[np.ndarray], k: int, block_size: int | None,
                   progress: bool) -> np.ndarray:
    n, m = xs[0].shape[0], len(xs)
    block = block_size or db.auto_block(n, 2 * m)
    dtype = np.result_type(*[x.dtype for x in xs])
    total = np.zeros((m, m), dtype=np.float64)
    starts = list(db.block_starts(n, block))
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="information imbalance", unit="block")
    with db.precision(dtype):
        ps = [db.prepare(np.asarray(x, dtype=dtype), block) for x in xs]
        args = (tuple(p.xp for p in ps), tuple(p.sqnp for p in ps))
        for s in starts:
            d, nb = _dist_knn_block(*args, jnp.asarray(s), block=block, n=n, k=k)
            rows = min(n, s + block) - s
            if _use_numpy_ranks():
                total += _rank_sums_np(np.asarray(d), np.asarray(nb), rows)
            else:
                valid = (jnp.arange(block) < rows).astype(jnp.int32)
                total += np.asarray(_rank_sums_jax(d, nb, valid), dtype=np.float64)
    return total


def _use_numpy_ranks() -> bool:
    return _RANKS_BACKEND == "numpy" or (_RANKS_BACKEND == "auto"
                                         and jax.default_backend() == "cpu")


#: "auto" (NumPy on CPU, JAX elsewhere), "numpy" or "jax" — tests set it to check both.
_RANKS_BACKEND = "auto"


def _ranks_dense(xs: list[np.ndarray], k: int) -> np.ndarray:
    """The literal definition with full ``N × N`` distance and rank matrices (reference)."""
    n = xs[0].shape[0]
    ds = []
    for x in xs:
        x = np.asarray(x, dtype=np.float64)
        d = np.sqrt(np.maximum(((x[:, None] - x[None]) ** 2).sum(-1), 0.0))
        np.fill_diagonal(d, np.inf)
        ds.append(d)
    out = np.zeros((len(xs), len(xs)))
    for a, da in enumerate(ds):
        nbr = np.argsort(da, axis=1, kind="stable")[:, :k]
        for b, dbm in enumerate(ds):
            for i in range(n):
                for j in nbr[i]:
                    out[a, b] += 1 + np.sum(dbm[i] < dbm[i, j])
    return out


def _validate(xs: list[Any], k: int, method: str, metric: str) -> list[np.ndarray]:
    if method not in METHODS:
        raise unknown_name("method", method, list(METHODS))
    if metric not in METRICS:
        raise unknown_name("distance", metric, list(METRICS))
    if len(xs) == 0:
        raise ValidationError("information imbalance needs at least one representation")
    for x in xs[1:]:
        check_same_samples(xs[0], x)
    arrs = [as_matrix(x, name=f"representation {i}", min_samples=MIN_SAMPLES,
                      what="information imbalance") for i, x in enumerate(xs)]
    check_k(k, arrs[0].shape[0])
    return [_rows(x, metric) for x in arrs]


def information_imbalance_matrix(xs: list[Any], *, k: int = 1, metric: str = "euclidean",
                                 method: str = "auto", block_size: int | None = None,
                                 progress: bool = False) -> np.ndarray:
    """Information imbalance for every ordered pair: ``out[a, b] = Δ(X_a → X_b)``.

    Formula: ``Δ(A→B) = 2/(N²·k) · Σ_i Σ_{j ∈ N_k^A(i)} r^B_ij`` (module docstring).

    Args:
        xs: M arrays or Embeddings, each ``(N, D_m)``, same samples in the same order.
        k: neighbours of each sample in A (``1 ≤ k < N``).
        metric: ``"euclidean"`` or ``"cosine"`` distance, in every space.
        method: ``"ranks"`` (blocked sort + searchsorted; ``"auto"``) or ``"dense"`` (the
            literal definition, ``O(N²)`` memory and ``O(M²·N²·k)`` time — for checking).
        block_size: rows per block ``B``.
        progress: show a progress bar over blocks.

    Returns:
        ``(M, M)`` float64, not symmetric; diagonal ``(k+1)/N`` (``2/N`` at k = 1). In
        the example, the full space predicts its projection (small ``Δ(x → x[:, :1])``)
        but not the converse.

    Raises:
        ValidationError: different samples, NaN/inf, ``N < 3``, ``k ≥ N``.

    Complexity: ``O(M·N²·D + M·N² log N + M²·N·k log N)`` time, ``O(M·B·N)`` memory.

    See Also: :func:`information_imbalance`, ``dadapy.MetricComparisons``.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(200, 3))
        >>> m = information_imbalance_matrix([x, x[:, :1], rng.normal(size=(200, 3))])
        >>> float(m[0, 0]), bool(m[0, 1] < m[1, 0]), bool(0.8 < m[0, 2] < 1.2)
        (0.01, True, True)
    """
    arrs = _validate(list(xs), k, method, metric)
    n = arrs[0].shape[0]
    if method == "dense":
        total = _ranks_dense(arrs, k)
    else:
        total = _ranks_blocked(arrs, k, block_size, progress)
    return total * 2.0 / (n * n * k)


def information_imbalance(a: Any, b: Any, *, k: int = 1, metric: str = "euclidean",
                          method: str = "auto") -> float:
    """Information imbalance Δ(a→b): how badly ``a``'s neighbours are neighbours in ``b``.

    Formula: ``Δ(A→B) = (2/N)·⟨r^B_ij⟩`` averaged over ``i`` and the ``k`` nearest
    neighbours ``j`` of ``i`` in A (Glielmo et al., PNAS Nexus 2022; DADApy's convention).
    0 when B preserves A's neighbourhoods, ≈ 1 when B is independent of A.

    Args:
        a, b: ``(N, D_a)``, ``(N, D_b)`` arrays or Embeddings of the same samples.
        k, metric, method: see :func:`information_imbalance_matrix`.

    Returns:
        float in ``(0, 2)``.

    Complexity: ``O(N²·(D_a + D_b) + N² log N)`` time, ``O(B·N)`` memory.

    Examples:
        >>> rng = np.random.default_rng(2)
        >>> x = rng.normal(size=(100, 2))
        >>> information_imbalance(x, 5 * x + 1)  # = 2/N: the nearest neighbour has rank 1
        0.02
    """
    return float(information_imbalance_matrix([a, b], k=k, metric=metric, method=method)[0, 1])
