"""Exact k-nearest-neighbour graphs, computed once per model and shared by every kNN metric.

A :class:`KNNGraph` holds, for every sample ``i``, its ``k`` nearest neighbours ``N(i)``
(self excluded) together with the kernel values ``K_ij = x_i · x_j`` at those pairs — all
that CKNNA and mutual kNN need (see ``shared/design.md``: every CKNNA term is a sum over
masked neighbour pairs, and a masked pair is a neighbour pair of *both* graphs).

Algorithm: rows are processed in blocks of static size ``B`` (the last block is padded);
each block computes ``S = X_block @ Xᵀ`` (``B × N``) in JAX and sets self to ``-inf``; the
host keeps each row's best candidates with ``np.argpartition`` while JAX computes the next
blocks. Memory is ``O(B·N)``, never ``N × N``; work ``2·N²·D`` flops
(the matmul) plus ``O(N²)`` (expected) for the selection.

Precision: the matmul runs in ``float32`` by default (fast). The ``k + margin`` best
candidates of each row are then re-scored in float64 and re-ranked. A row whose last
candidate lies within the matmul's rounding bound of the exact k-th score (near-duplicate
samples, ties) is recomputed exactly in float64 against all samples, so the returned
neighbours and kernel values always equal those of an exact float64 computation.

Ties: neighbours with equal similarity (or distance) are ordered by increasing sample
index, the order of a stable sort; the dense references in :mod:`._dense` use the same rule.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from matteralign.errors import ValidationError
from matteralign.metrics._input import as_matrix, check_k

__all__ = ["KNNGraph", "knn_graph", "KNN_METRICS"]

KNN_METRICS = ("cosine", "euclidean")
_MARGIN = 8  # extra float32 candidates re-ranked in float64
_PAD_COLUMNS_BELOW = 2048
_LOOKAHEAD = 1  # score blocks queued ahead of the host-side selection


@dataclass(frozen=True, eq=False)
class KNNGraph:
    """The ``k`` nearest neighbours of every sample of one representation.

    Attributes:
        indices: ``(N, k)`` int64, row ``i`` lists the neighbours of ``i``, nearest first
            (ties by increasing index); ``i`` itself never appears.
        kernel: ``(N, k)`` float64, ``K_ij = x̂_i · x̂_j`` at those pairs, where ``x̂`` are
            the rows the graph was built from (L2-normalised for ``metric="cosine"``, as
            given for ``"euclidean"``).
        distances: ``(N, k)`` float64, ``1 - K_ij`` (cosine) or ``‖x_i - x_j‖`` (euclidean).
        metric: ``"cosine"`` or ``"euclidean"``.
    """

    indices: np.ndarray
    kernel: np.ndarray
    distances: np.ndarray
    metric: str

    @property
    def n(self) -> int:
        """Number of samples ``N``."""
        return int(self.indices.shape[0])

    @property
    def k(self) -> int:
        """Number of neighbours per sample."""
        return int(self.indices.shape[1])

    def truncate(self, k: int) -> KNNGraph:
        """The graph of the ``k`` nearest neighbours (``k`` at most :attr:`k`)."""
        if k > self.k:
            raise ValidationError(f"this kNN graph has k={self.k}; cannot truncate to k={k}")
        return KNNGraph(self.indices[:, :k], self.kernel[:, :k], self.distances[:, :k],
                        self.metric)

    def permuted(self, perm: np.ndarray) -> KNNGraph:
        """The graph of ``x[perm]``: row ``i`` is old row ``perm[i]``, relabelled. ``O(N·k)``."""
        perm = np.asarray(perm)
        inv = np.empty_like(perm)
        inv[perm] = np.arange(perm.size)
        return KNNGraph(inv[self.indices[perm]], self.kernel[perm], self.distances[perm],
                        self.metric)


def prepare_rows(x: np.ndarray, metric: str, name: str = "x") -> np.ndarray:
    """Rows as the kernel sees them: L2-normalised (cosine) or unchanged (euclidean), float64.

    Raises:
        ValidationError: unknown ``metric``, or a zero row under the cosine metric.
    """
    if metric not in KNN_METRICS:
        raise ValidationError(f"unknown kNN metric {metric!r}; use one of {KNN_METRICS}")
    x = np.asarray(x, dtype=np.float64)
    if metric == "euclidean":
        return x
    norms = np.linalg.norm(x, axis=1)
    if (norms == 0).any():
        row = int(np.argmin(norms))
        raise ValidationError(f"{name} row {row} is all zeros: cosine similarity is undefined "
                              "(use metric='euclidean' or drop the sample)")
    return x / norms[:, None]


@functools.partial(jax.jit, static_argnames=("euclidean", "masked"))
def _block_scores(xb: jax.Array, x: jax.Array, sqn: jax.Array, start: jax.Array,
                  n_valid: jax.Array, *, euclidean: bool, masked: bool) -> jax.Array:
    """Scores of rows ``start … start+B`` against all columns, self and padding ``-inf``.
    Larger is nearer: ``x_i·x_j`` (cosine) or ``2 x_i·x_j − ‖x_j‖²`` (= ``‖x_i‖² − d²_ij``)."""
    s = xb @ x.T
    if euclidean:
        s = 2.0 * s - sqn[None, :]
    b = xb.shape[0]
    if masked:  # padded columns
        s = jnp.where(jnp.arange(x.shape[0])[None, :] < n_valid, s, -jnp.inf)
    return s.at[jnp.arange(b), start + jnp.arange(b)].set(-jnp.inf, mode="drop")


def bucket(n: int) -> int:
    """``n`` rounded up to a multiple of ``max(64, 2^(⌊log2 n⌋−3))`` (≤ 12.5 % more): jitted
    kernels see few distinct shapes, so they compile once for many sample counts."""
    step = max(64, 1 << max(int(n).bit_length() - 4, 0))
    return -(-n // step) * step


def _default_block(n: int) -> int:
    # at most 32 MiB of float32 scores per block, a power of two between 64 and 1024 rows
    # (1024 up to 2048 columns, 512 above: the fastest on the 2-core benchmark machine at
    # N = 2000 and N = 5000; 256-row blocks made the N = 2000 call ~1.5x slower)
    b = (32 * 2**20) // (4 * max(n, 1))
    cap = 1024 if n <= _PAD_COLUMNS_BELOW else 512
    return int(min(cap, max(64, 1 << max(int(b).bit_length() - 1, 0))))


def _candidates(x: np.ndarray, kc: int, block: int | None, euclidean: bool,
                dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """``(N, kc)`` candidate neighbours and their low-precision scores from blocked matmuls,
    in no particular order except that the last column holds each row's *lowest* candidate
    score (every non-candidate scores at most that). Rows are zero-padded to whole blocks
    and features to a multiple of 32; below ``N = 2048`` columns are also padded to
    :func:`bucket` size (and masked to ``-inf``) so that small problems share compilations;
    above it, compiling is cheap next to the matmul and the mask pass is skipped.

    The matmul runs in JAX; the selection runs on the host with ``np.argpartition``
    (introselect, O(N) per row), which on CPU is several times faster than
    ``jax.lax.top_k`` (a partial sort; it cost more than the matmul itself at N = 2000).
    JAX dispatch is asynchronous, so the next ``_LOOKAHEAD`` blocks' matmuls are queued
    while the host selects from the current one; at most ``_LOOKAHEAD + 1`` blocks of
    scores exist at once (memory stays ``O(B·N)``). (On the shared 2-core benchmark machine
    a lookahead of 0, 1 or 2 timed the same: the matmul already keeps both cores busy.)"""
    n, d = x.shape
    nc = bucket(n) if n < _PAD_COLUMNS_BELOW else n
    block = min(block or _default_block(nc), nc)
    nr = -(-n // block) * block
    dp = -(-d // 32) * 32
    idx = np.empty((n, kc), dtype=np.int64)
    val = np.empty((n, kc), dtype=np.float64)
    ctx = jax.enable_x64(True) if dtype == "float64" else jax.enable_x64(jax.config.jax_enable_x64)
    with ctx:
        xj = jnp.asarray(x, dtype=jnp.float64 if dtype == "float64" else jnp.float32)
        xr = jnp.pad(xj, ((0, max(nr, nc) - n), (0, dp - d)))
        xc = xr[:nc]
        sqn = jnp.sum(xc * xc, axis=1)
        n_valid = jnp.asarray(n)
        starts = list(range(0, n, block))
        queued: list[tuple[int, jax.Array]] = []

        def launch(i: int) -> None:
            if i < len(starts):
                s = starts[i]
                queued.append((s, _block_scores(xr[s:s + block], xc, sqn, jnp.asarray(s),
                                                n_valid, euclidean=euclidean,
                                                masked=nc != n)))

        for i in range(_LOOKAHEAD):
            launch(i)
        for i in range(len(starts)):
            launch(i + _LOOKAHEAD)
            s, scores = queued.pop(0)
            e = min(n, s + block)
            sc = np.asarray(scores)[: e - s]
            top = np.argpartition(sc, -kc, axis=1)[:, -kc:]
            v = np.take_along_axis(sc, top, axis=1)
            # move each row's lowest candidate to the last column (callers read it there)
            lo = np.argmin(v, axis=1)
            r = np.arange(e - s)
            for a in (top, v):
                last = a[:, -1].copy()
                a[:, -1] = a[r, lo]
                a[r, lo] = last
            idx[s:e] = top
            val[s:e] = v
    return idx, val


def _dots(x: np.ndarray, idx: np.ndarray, chunk: int = 64) -> np.ndarray:
    """``x_i · x_{idx[i, s]}`` in float64, in row chunks (one gather per chunk; small chunks
    keep the gathered ``chunk × kc × D`` rows in cache, and a batched matmul beats einsum)."""
    out = np.empty(idx.shape, dtype=np.float64)
    for s in range(0, x.shape[0], chunk):
        out[s:s + chunk] = np.matmul(x[idx[s:s + chunk]], x[s:s + chunk, :, None])[..., 0]
    return out


def _rescore(x: np.ndarray, c: np.ndarray, idx: np.ndarray,
             euclidean: bool) -> tuple[np.ndarray, np.ndarray]:
    """float64 scores (larger = nearer) and kernel values ``x_i·x_j`` of the candidate pairs.
    Euclidean distances come from the centred rows ``c`` (``‖c_i‖² + ‖c_j‖² − 2 c_i·c_j``
    loses little to cancellation once the mean is removed)."""
    if not euclidean:
        kernel = _dots(x, idx)
        return kernel, kernel
    cc = _dots(c, idx)
    sq = np.einsum("nd,nd->n", c, c)
    d2 = sq[:, None] + sq[idx] - 2.0 * cc
    mu = x[0] - c[0]  # x = c + μ:  x_i·x_j = c_i·c_j + c_i·μ + c_j·μ + μ·μ
    cm = c @ mu
    kernel = cc + cm[:, None] + cm[idx] + mu @ mu
    return -np.sqrt(np.maximum(d2, 0.0)), kernel


def _unsafe_rows(c: np.ndarray, last_approx: np.ndarray, kth_exact: np.ndarray,
                 euclidean: bool, dtype: str) -> np.ndarray:
    """Rows whose true top-k might hold a non-candidate: the last candidate's low-precision
    score is within the matmul's rounding bound ``τ`` of the exact k-th score.

    ``τ = 2 (D + 2) u ‖x_i‖ max_j ‖x_j‖`` bounds the error of a dot product of length D in
    precision ``u`` (plus rounding of the inputs); the euclidean score
    ``2 x_i·x_j − ‖x_j‖²`` gets ``2 (D + 2) u (2‖x_i‖M + M²)``. Outside the candidates every
    exact score is at most ``last_approx + τ``; if that is below the exact k-th score, the
    row's top-k (ties included) is exact.
    """
    u = 2.0 ** -53 if dtype == "float64" else 2.0 ** -24
    bound = 2.0 * (c.shape[1] + 2) * u
    if euclidean:
        norms = np.linalg.norm(c, axis=1)
        big = norms.max()
        tau = bound * (2.0 * norms * big + big * big)
        # scores → squared distances: d² = ‖c_i‖² − (2 c_i·c_j − ‖c_j‖²)
        outside = norms ** 2 - last_approx - tau  # lower bound on d² of non-candidates
        return np.flatnonzero(~(outside > kth_exact ** 2))
    return np.flatnonzero(~(last_approx + bound < kth_exact))


def _exact_rows(x: np.ndarray, c: np.ndarray, rows: np.ndarray, k: int, euclidean: bool,
                chunk: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact float64 top-``k`` (ties by index) of the given rows against all samples."""
    idx = np.empty((rows.size, k), dtype=np.int64)
    score = np.empty((rows.size, k))
    kernel = np.empty((rows.size, k))
    sq = np.einsum("nd,nd->n", c, c) if euclidean else None
    for s in range(0, rows.size, chunk):
        r = rows[s:s + chunk]
        kern = x[r] @ x.T
        sc = -np.sqrt(np.maximum(sq[r, None] + sq[None, :] - 2.0 * (c[r] @ c.T), 0.0)) \
            if euclidean else kern.copy()
        sc[np.arange(r.size), r] = -np.inf
        top = np.argsort(-sc, axis=1, kind="stable")[:, :k]
        idx[s:s + chunk] = top
        score[s:s + chunk] = np.take_along_axis(sc, top, axis=1)
        kernel[s:s + chunk] = np.take_along_axis(kern, top, axis=1)
    return idx, score, kernel


def knn_graph(x: Any, k: int = 25, *, metric: str = "cosine", block_size: int | None = None,
              dtype: str = "float32") -> KNNGraph:
    """Exact top-``k`` neighbours of every row (self excluded), in row blocks.

    ``N_k(i) = argtop-k_{j ≠ i} s(x_i, x_j)`` with ``s = x̂_i·x̂_j`` for ``metric="cosine"``
    (rows L2-normalised, the Platonic-representation default of Huh et al. 2024) or
    ``s = −‖x_i − x_j‖`` for ``"euclidean"``. Ties go to the smaller index.

    Args:
        x: ``(N, D)`` array or Embeddings.
        k: neighbours per sample, ``1 ≤ k < N``.
        metric: ``"cosine"`` or ``"euclidean"``.
        block_size: rows per block (static; last block padded). Default: a power of two
            up to 1024 rows (512 above N = 2048), at most 32 MiB of scores.
        dtype: ``"float32"`` (default, fast) or ``"float64"`` for the candidate matmul; the
            final ranking and all returned values are float64 either way.

    Returns:
        :class:`KNNGraph` with ``indices``, ``kernel`` and ``distances`` of shape ``(N, k)``.

    Complexity: ``O(N²·D)`` time, ``O(block·N + N·k)`` memory.

    See Also: :func:`matteralign.metrics.cknna`, :func:`matteralign.metrics.mutual_knn`.

    Examples:
        >>> import numpy as np
        >>> g = knn_graph(np.array([[0.0, 1], [0, 2], [0, 4], [0, 8]]), k=2, metric="euclidean")
        >>> g.indices.tolist()
        [[1, 2], [0, 2], [1, 0], [2, 1]]
        >>> g.distances[0].tolist()
        [1.0, 3.0]
    """
    arr = as_matrix(x, name="x", min_samples=2, what="a kNN graph")
    n = arr.shape[0]
    k = check_k(k, n)
    if dtype not in ("float32", "float64"):
        raise ValidationError(f"dtype must be 'float32' or 'float64'; got {dtype!r}")
    rows = prepare_rows(arr, metric)
    euclidean = metric == "euclidean"
    kc = min(k + _MARGIN, n - 1)
    if block_size is not None and (not isinstance(block_size, int | np.integer)
                                   or block_size < 1):
        raise ValidationError(f"block_size must be a positive integer; got {block_size!r}")
    # euclidean: centre first (distances unchanged) so float32 scores lose less to ‖x‖²
    c = rows - rows.mean(axis=0) if euclidean else rows
    cand, approx = _candidates(c, kc, block_size, euclidean, dtype)
    score, kernel = _rescore(rows, c, cand, euclidean)
    order = np.lexsort((cand, -score), axis=1)[:, :k]  # by score desc, then index asc
    idx = np.take_along_axis(cand, order, axis=1)
    score = np.take_along_axis(score, order, axis=1)
    kernel = np.take_along_axis(kernel, order, axis=1)
    if kc < n - 1:
        redo = _unsafe_rows(c, approx[:, -1], score[:, -1], euclidean, dtype)
        if redo.size:
            idx[redo], score[redo], kernel[redo] = _exact_rows(rows, c, redo, k, euclidean)
    dist = -score if euclidean else 1.0 - score
    return KNNGraph(idx, kernel, dist, metric)
