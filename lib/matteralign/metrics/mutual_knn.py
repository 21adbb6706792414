"""Mutual k-nearest-neighbour alignment (Huh et al., ICML 2024)."""

from __future__ import annotations

from typing import Any

from matteralign.errors import ValidationError
from matteralign.metrics._dense import mutual_knn_dense
from matteralign.metrics._input import as_pair, check_k
from matteralign.metrics._sparse import pair_sums
from matteralign.metrics.knn import KNN_METRICS, KNNGraph, knn_graph

__all__ = ["mutual_knn", "mutual_knn_from_graphs", "MUTUAL_KNN_METHODS"]

MUTUAL_KNN_METHODS = ("auto", "sparse", "dense")


def mutual_knn_from_graphs(ga: KNNGraph, gb: KNNGraph) -> float:
    """Mutual kNN between two precomputed graphs (same ``N`` and ``k``). ``O(N·k²)``."""
    if ga.n != gb.n or ga.k != gb.k:
        raise ValidationError(f"kNN graphs differ: N={ga.n}, k={ga.k} vs N={gb.n}, k={gb.k}")
    return pair_sums(ga, gb).overlap / (ga.n * ga.k)


def mutual_knn(a: Any, b: Any, k: int = 25, *, metric: str = "cosine", method: str = "auto",
               dtype: str = "float32") -> float:
    """Mean fraction of shared nearest neighbours.

    ``mKNN = (1/N) Σ_i |N_A(i) ∩ N_B(i)| / k`` with ``N_A(i)`` the top-``k`` neighbours of
    ``i`` (self excluded) in representation A — Huh et al. (2024), "The Platonic
    Representation Hypothesis", ``mutual_knn`` in ``platonic-rep/metrics.py``.

    Args:
        a, b: ``(N, D_a)`` and ``(N, D_b)`` arrays or Embeddings of the same samples.
        k: neighbours per sample, ``1 ≤ k < N``.
        metric: ``"cosine"`` (rows L2-normalised, default) or ``"euclidean"``.
        method: ``"sparse"`` (kNN graphs), ``"dense"`` (``N × N`` masks) or ``"auto"``.
        dtype: precision of the kNN candidate matmul, see :func:`knn_graph`.

    Returns:
        float in ``[0, 1]``; symmetric in ``a`` and ``b``.

    Complexity: ``O(N²·D)`` for the graphs then ``O(N·k²)``; dense ``O(N²·D)`` time and
    ``O(N²)`` memory.

    Raises:
        ValidationError: ``k ≥ N``, NaN/inf, mismatched samples, unknown method.

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(50, 4))
        >>> mutual_knn(x, 2.0 * x, k=5)
        1.0
    """
    xa, xb = as_pair(a, b, min_samples=2, what="mutual kNN")
    k = check_k(k, xa.shape[0])
    if method not in MUTUAL_KNN_METHODS:
        raise ValidationError(f"unknown mutual kNN method {method!r}; "
                              f"use one of {MUTUAL_KNN_METHODS}")
    if metric not in KNN_METRICS:
        raise ValidationError(f"unknown kNN metric {metric!r}; use one of {KNN_METRICS}")
    if method == "dense":
        return mutual_knn_dense(xa, xb, k, metric=metric)
    return mutual_knn_from_graphs(knn_graph(xa, k, metric=metric, dtype=dtype),
                                  knn_graph(xb, k, metric=metric, dtype=dtype))
