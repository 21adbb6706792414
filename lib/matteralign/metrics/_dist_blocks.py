"""Blocked Euclidean distance rows: the shared kernel of distance correlation, information
imbalance and intrinsic dimension.

A representation ``X`` (``N × D``) never becomes an ``N × N`` matrix: rows are taken in
blocks of a static size ``B`` (the last block is padded with zero rows that callers mask
out), and each block is ``‖x_i‖² + ‖x_j‖² − 2 X_block Xᵀ`` — one ``B × N × D`` matmul.
Self-distances are set to exactly 0. Work ``2·N²·D`` flops per model, memory ``O(B·N)``.

Precision: the computation runs in the input's dtype (float64 inputs are computed with
``jax.enable_x64``), so float64 inputs give distances exact to ~1e-15 relative.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Prepared", "prepare", "dist_rows", "auto_block", "precision", "knn_distances",
           "block_starts"]

#: elements of the (models × block × N) distance stack allowed at once (≈128 MiB float32)
_BLOCK_BUDGET = 2**25


def precision(dtype: np.dtype) -> contextlib.AbstractContextManager:
    """Context under which JAX computes in ``dtype`` (enables x64 for float64 inputs)."""
    if np.dtype(dtype) == np.float64:
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def auto_block(n: int, n_models: int = 1, budget: int = _BLOCK_BUDGET) -> int:
    """Rows per block so that ``n_models · block · n`` stays within ``budget`` numbers.

    >>> auto_block(5000, 20)
    256
    >>> auto_block(10, 1)
    10
    """
    b = max(8, budget // max(1, n_models * n))
    b = 1 << (b.bit_length() - 1)  # a power of two: few distinct compiled shapes
    return int(min(b, 1024, n))


class Prepared:
    """One representation ready for blocked distance rows (one padded device copy).

    Attributes:
        xp: ``(N_pad, D)`` device array, ``x`` padded with zero rows to a multiple of the
            block; sqnp: its squared row norms; n: ``N``; block: ``B``.
    """

    def __init__(self, x: np.ndarray, block: int):
        n = x.shape[0]
        pad = (-n) % block
        self.n, self.block = n, block
        self.xp = jnp.pad(jnp.asarray(x), ((0, pad), (0, 0)))
        self.sqnp = jnp.sum(self.xp * self.xp, axis=1)


def prepare(x: np.ndarray, block: int) -> Prepared:
    """Wrap ``x`` (NumPy, already validated) for :func:`dist_rows`; call under :func:`precision`."""
    return Prepared(x, block)


def block_starts(n: int, block: int) -> Iterator[int]:
    """Start rows of the blocks covering ``range(n)``."""
    return iter(range(0, n, block))


def _dist_rows(xp: jax.Array, sqnp: jax.Array, start: jax.Array, block: int,
               n: int) -> jax.Array:
    """Distances from rows ``start … start+block-1`` of ``xp`` to every row of ``xp``.

    Returns ``(block, N_pad)``: self-distances exactly 0, padded columns ``+inf`` (padded
    rows are garbage: callers mask them).
    """
    rows = jax.lax.dynamic_slice_in_dim(xp, start, block, axis=0)
    rn = jax.lax.dynamic_slice_in_dim(sqnp, start, block, axis=0)
    d2 = rn[:, None] + sqnp[None, :] - 2.0 * (rows @ xp.T)
    d = jnp.sqrt(jnp.maximum(d2, 0.0))
    i = start + jnp.arange(block)[:, None]
    j = jnp.arange(xp.shape[0])[None, :]
    d = jnp.where(i == j, jnp.zeros((), d.dtype), d)
    return jnp.where(j < n, d, jnp.inf)


def dist_rows(p: Prepared, start: jax.Array) -> jax.Array:
    """Distance rows ``start … start+B-1`` of a :class:`Prepared` (traceable inside jit)."""
    return _dist_rows(p.xp, p.sqnp, start, p.block, p.n)


@functools.partial(jax.jit, static_argnames=("block", "k", "n"))
def _knn_block(xp, sqnp, start, *, block: int, k: int, n: int):
    d = _dist_rows(xp, sqnp, start, block, n)
    i = start + jnp.arange(block)[:, None]
    j = jnp.arange(xp.shape[0])[None, :]
    d = jnp.where(i == j, jnp.inf, d)
    neg, idx = jax.lax.top_k(-d, k)
    return -neg, idx


def knn_distances(x: np.ndarray, k: int, *, block: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distances and indices of each row's ``k`` nearest neighbours (self excluded).

    Args:
        x: ``(N, D)`` float array (validated), ``k < N``.
        block: rows per block (default :func:`auto_block`).

    Returns:
        ``(dist, idx)``, both ``(N, k)``, nearest first; ``dist`` in ``x``'s dtype.

    Complexity: ``O(N²·D)`` time, ``O(B·N)`` memory.

    >>> x = np.array([[0.0], [1.0], [3.0]])
    >>> knn_distances(x, 2)[0]
    array([[1., 3.],
           [1., 2.],
           [2., 3.]])
    """
    n = x.shape[0]
    block = block or auto_block(n)
    out_d = np.empty((n, k), dtype=x.dtype)
    out_i = np.empty((n, k), dtype=np.int64)
    with precision(x.dtype):
        p = prepare(x, block)
        for s in block_starts(n, block):
            d, i = _knn_block(p.xp, p.sqnp, jnp.asarray(s), block=block, k=k, n=n)
            e = min(n, s + block)
            out_d[s:e] = np.asarray(d)[: e - s]
            out_i[s:e] = np.asarray(i)[: e - s]
    return out_d, out_i
