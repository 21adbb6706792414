"""The O(N·k) kernels shared by CKNNA and mutual kNN: sums over mutual-neighbour pairs.

For two kNN graphs ``A`` and ``B`` over the same samples, the CKNNA mask is
``M_ij = [j ∈ N_A(i)]·[j ∈ N_B(i)]`` (row-wise, not symmetric). Each term of the unbiased
HSIC of the masked kernels ``K̃ = M∘K``, ``L̃ = M∘L`` is a sum over masked pairs
(``shared/design.md``)::

    S1 = Σ_ij K̃_ij L̃_ji   = Σ_{(i,j) masked, (j,i) masked} K_ij L_ij
    SK = Σ K̃,  SL = Σ L̃
    S3 = 1ᵀ K̃ L̃ 1        = Σ_l (Σ_i K̃_il) (Σ_j L̃_lj)
    (and 1ᵀ L̃ K̃ 1 ≠ S3, since M is not symmetric: CKNNA(A, B) ≠ CKNNA(B, A) in general)
    HSIC = [S1 + SK·SL/((m−1)(m−2)) − 2·S3/(m−2)] / (m(m−3))

Membership tests compare the two ``k``-lists of a row (``N × k × k`` booleans), so a pair of
graphs costs ``O(N·k²)`` time and memory with fixed shapes (jitted once per ``(N, k)``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from matteralign.metrics.knn import KNNGraph, bucket

__all__ = ["PairSums", "pair_sums", "hsic_from_sums", "self_hsic"]


class PairSums(NamedTuple):
    """Sufficient statistics of one pair of kNN graphs (all float64 scalars)."""

    n: int
    k: int
    overlap: float  # number of masked pairs Σ M_ij
    s1: float
    sk: float
    sl: float
    s3: float
    s3_ba: float  # 1ᵀ L̃ K̃ 1, for the reversed pair (CKNNA is not symmetric)

    def swapped(self) -> PairSums:
        """The sums of the pair (B, A)."""
        return PairSums(self.n, self.k, self.overlap, self.s1, self.sl, self.sk, self.s3_ba,
                        self.s3)


@jax.jit
def _sums(ia: jax.Array, ka: jax.Array, ib: jax.Array, lb: jax.Array) -> jax.Array:
    n = ia.shape[0]
    eq = ia[:, :, None] == ib[:, None, :]  # (N, k, k): slot s of A is slot t of B
    in_b = eq.any(axis=2)  # (i, ia[i, s]) is masked
    l_at = jnp.sum(jnp.where(eq, lb[:, None, :], 0.0), axis=2)  # L_ij at A's slots
    k_m = jnp.where(in_b, ka, 0.0)
    l_m = jnp.where(in_b, l_at, 0.0)
    rows = jnp.arange(n)[:, None, None]
    rev = (ia[ia] == rows).any(axis=2) & (ib[ia] == rows).any(axis=2)  # (j, i) masked
    s1 = jnp.sum(jnp.where(in_b & rev, ka * l_at, 0.0))
    col_k = jnp.zeros(n, dtype=ka.dtype).at[ia.reshape(-1)].add(k_m.reshape(-1))
    col_l = jnp.zeros(n, dtype=ka.dtype).at[ia.reshape(-1)].add(l_m.reshape(-1))
    s3 = jnp.dot(col_k, l_m.sum(axis=1))
    s3_ba = jnp.dot(col_l, k_m.sum(axis=1))
    return jnp.stack([in_b.sum().astype(ka.dtype), s1, k_m.sum(), l_m.sum(), s3, s3_ba])


def _padded(g: KNNGraph, n_pad: int, fill: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and kernel padded with rows whose indices are ``fill`` and kernel 0."""
    extra = n_pad - g.n
    if not extra:
        return g.indices, g.kernel
    idx = np.concatenate([g.indices, np.full((extra, g.k), fill, dtype=g.indices.dtype)])
    return idx, np.concatenate([g.kernel, np.zeros((extra, g.k))])


def pair_sums(ga: KNNGraph, gb: KNNGraph) -> PairSums:
    """The CKNNA / mutual-kNN sums for graphs ``ga`` (kernel K) and ``gb`` (kernel L) of the
    same ``N`` samples and the same ``k``. ``O(N·k²)``, computed in float64.

    ``N`` is padded to :func:`.knn.bucket` size (so the kernel compiles for few shapes) with
    rows that share no neighbour: ``A`` lists index 0, ``B`` an index that does not exist.
    """
    n_pad = bucket(ga.n)
    ia, ka = _padded(ga, n_pad, 0)
    ib, lb = _padded(gb, n_pad, n_pad)
    with jax.enable_x64(True):
        out = np.asarray(_sums(jnp.asarray(ia), jnp.asarray(ka, jnp.float64),
                               jnp.asarray(ib), jnp.asarray(lb, jnp.float64)))
    return PairSums(ga.n, ga.k, *map(float, out))


def hsic_from_sums(p: PairSums) -> float:
    """Unbiased HSIC of the masked kernels from :class:`PairSums` (``m = N ≥ 4``)."""
    m = p.n
    return (p.s1 + p.sk * p.sl / ((m - 1) * (m - 2)) - 2.0 * p.s3 / (m - 2)) / (m * (m - 3))


def self_hsic(g: KNNGraph) -> float:
    """``HSIC_u(K̂, K̂)`` with ``K̂`` masked by the graph's own neighbours."""
    return hsic_from_sums(pair_sums(g, g))
