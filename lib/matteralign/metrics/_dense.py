"""Literal dense references: each metric written straight from its formula with ``N × N``
matrices, in float64. Slow (``O(N²·D + N³)``) and only for tests, benchmarks and
``method="dense"``; the fast paths must agree with them.

Conventions shared with the fast paths: neighbours exclude self; ties are broken by the
smaller index (a stable sort of the negated similarities).
"""

from __future__ import annotations

import numpy as np

__all__ = ["dense_knn", "hsic_unbiased", "hsic_biased", "cknna_dense", "mutual_knn_dense",
           "cka_dense"]


def _rows(x: np.ndarray, metric: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=1, keepdims=True) if metric == "cosine" else x


def dense_knn(x: np.ndarray, k: int, metric: str = "cosine") -> np.ndarray:
    """``(N, k)`` neighbour indices from the full similarity matrix (self set to ``-inf``)."""
    r = _rows(x, metric)
    if metric == "cosine":
        s = r @ r.T
    else:
        s = -np.sqrt(np.maximum(((r[:, None, :] - r[None, :, :]) ** 2).sum(-1), 0.0))
    np.fill_diagonal(s, -np.inf)
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def _mask(idx: np.ndarray) -> np.ndarray:
    n = idx.shape[0]
    m = np.zeros((n, n))
    m[np.arange(n)[:, None], idx] = 1.0
    return m


def hsic_unbiased(K: np.ndarray, L: np.ndarray) -> float:
    """Unbiased HSIC (Song et al. 2012, eq. 5), diagonals zeroed:
    ``[tr(K̃ L̃ᵀ) + ΣK̃ ΣL̃/((m−1)(m−2)) − 2·1ᵀK̃L̃1/(m−2)] / (m(m−3))``."""
    m = K.shape[0]
    Kt = K.copy()
    Lt = L.copy()
    np.fill_diagonal(Kt, 0.0)
    np.fill_diagonal(Lt, 0.0)
    val = (np.sum(Kt * Lt.T) + Kt.sum() * Lt.sum() / ((m - 1) * (m - 2))
           - 2.0 * np.sum(Kt @ Lt) / (m - 2))
    return float(val / (m * (m - 3)))


def hsic_biased(K: np.ndarray, L: np.ndarray) -> float:
    """Biased HSIC ``tr(K H L H)`` with ``H = I − 11ᵀ/m`` (Gretton et al. 2005), unscaled."""
    m = K.shape[0]
    H = np.eye(m) - 1.0 / m
    return float(np.trace(K @ H @ L @ H))


def cknna_dense(a: np.ndarray, b: np.ndarray, k: int, *, metric: str = "cosine",
                epsilon: float = 1e-6) -> float:
    """CKNNA of Huh et al. (2024) from the full kernels ``K = ÂÂᵀ``, ``L = B̂B̂ᵀ``:
    ``HSIC_u(M∘K, M∘L) / (sqrt(HSIC_u(M_K∘K, M_K∘K) · HSIC_u(M_L∘L, M_L∘L)) + ε)`` with
    ``M = M_K ∘ M_L`` the row-wise mutual top-``k`` mask."""
    ra, rb = _rows(a, metric), _rows(b, metric)
    K, L = ra @ ra.T, rb @ rb.T
    mk, ml = _mask(dense_knn(a, k, metric)), _mask(dense_knn(b, k, metric))
    m = mk * ml
    kl = hsic_unbiased(m * K, m * L)
    kk = hsic_unbiased(mk * K, mk * K)
    ll = hsic_unbiased(ml * L, ml * L)
    with np.errstate(invalid="ignore"):
        return float(kl / (np.sqrt(kk * ll) + epsilon))


def mutual_knn_dense(a: np.ndarray, b: np.ndarray, k: int, *, metric: str = "cosine") -> float:
    """Mean over rows of ``|N_A(i) ∩ N_B(i)| / k`` from dense 0/1 masks."""
    m = _mask(dense_knn(a, k, metric)) * _mask(dense_knn(b, k, metric))
    return float(np.mean(m.sum(axis=1) / k))


def cka_dense(a: np.ndarray, b: np.ndarray, *, debiased: bool = False,
              kernel: str = "linear", epsilon: float = 0.0) -> float:
    """CKA from Gram matrices of column-centred features (after L2-normalising rows when
    ``kernel="cosine"``): ``HSIC(K, L) / (sqrt(HSIC(K, K)·HSIC(L, L)) + ε)`` with the biased
    (Kornblith et al. 2019) or unbiased (debiased CKA, Nguyen et al. 2021) HSIC."""
    ra = _rows(a, kernel)
    rb = _rows(b, kernel)
    ra = ra - ra.mean(axis=0)
    rb = rb - rb.mean(axis=0)
    K, L = ra @ ra.T, rb @ rb.T
    h = hsic_unbiased if debiased else hsic_biased
    with np.errstate(invalid="ignore"):
        return float(h(K, L) / (np.sqrt(h(K, K) * h(L, L)) + epsilon))
