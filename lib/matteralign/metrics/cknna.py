"""CKNNA — centred kernel nearest-neighbour alignment (Huh et al., ICML 2024).

The study's headline metric: CKA restricted to pairs that are among each other's top-``k``
neighbours in both representations, with the unbiased HSIC estimator.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from matteralign.errors import ValidationError
from matteralign.metrics._dense import cknna_dense
from matteralign.metrics._input import as_pair, check_k
from matteralign.metrics._sparse import hsic_from_sums, pair_sums
from matteralign.metrics.knn import KNN_METRICS, KNNGraph, knn_graph

__all__ = ["cknna", "cknna_from_graphs", "CKNNA_EPSILON", "CKNNA_METHODS",
           "CKNNA_MAX_K_FRACTION", "CKNNAReliabilityWarning", "warn_if_unreliable"]

CKNNA_EPSILON = 1e-6  # the reference implementation's ε
CKNNA_METHODS = ("auto", "sparse", "dense")
MIN_SAMPLES = 4  # the unbiased HSIC divides by m(m−3)
#: Largest ``k/N`` at which CKNNA is trusted; above it :class:`CKNNAReliabilityWarning`.
#: On real QM9 embeddings CKNNA first exceeded 1 at ``k/N = 0.48`` (see :func:`cknna`,
#: "Reliability"); 0.4 keeps a margin.
CKNNA_MAX_K_FRACTION = 0.4


class CKNNAReliabilityWarning(UserWarning):
    """CKNNA was computed with ``k/N`` above :data:`CKNNA_MAX_K_FRACTION`, where the unbiased
    estimator is not bounded by 1: on real embeddings it gave values above 1 (up to 3 at
    ``k/N = 0.9``) that changed from one subset of samples to the next."""


def warn_if_unreliable(k: int, n: int, value: str, *, stacklevel: int = 2) -> bool:
    """Emit one :class:`CKNNAReliabilityWarning` if ``k/n > CKNNA_MAX_K_FRACTION``.

    Args:
        k, n: neighbours and samples the CKNNA value(s) were computed with.
        value: the value(s), already formatted (``"2.19"``, ``"up to 2.19 over 30 pairs"``).
        stacklevel: as in :func:`warnings.warn`, counted from the caller of this function.

    Returns:
        True if it warned.
    """
    if k <= CKNNA_MAX_K_FRACTION * n:
        return False
    k_max = max(1, math.floor(CKNNA_MAX_K_FRACTION * n))
    n_min = math.ceil(k / CKNNA_MAX_K_FRACTION)
    warnings.warn(
        f"CKNNA = {value} at k/N = {k}/{n} = {k / n:.2f}, above {CKNNA_MAX_K_FRACTION} "
        f"(matteralign.metrics.CKNNA_MAX_K_FRACTION), where the unbiased estimator is not "
        f"bounded by 1 and is unreliable; lower k to at most {k_max} or raise N to at least "
        f"{n_min}", CKNNAReliabilityWarning, stacklevel=stacklevel + 1)
    return True


def _ratio(kl: float, kk: float, ll: float, epsilon: float) -> float:
    with np.errstate(invalid="ignore"):
        return float(kl / (np.sqrt(kk * ll) + epsilon))


def cknna_from_graphs(ga: KNNGraph, gb: KNNGraph, *, epsilon: float = CKNNA_EPSILON,
                      self_a: float | None = None, self_b: float | None = None) -> float:
    """CKNNA between two precomputed kNN graphs of the same samples (same ``k``).

    Args:
        ga, gb: :class:`KNNGraph` of representations A and B.
        epsilon: ε added to the denominator (reference value 1e-6).
        self_a, self_b: ``HSIC(K̂, K̂)`` and ``HSIC(L̂, L̂)`` if already known (the all-pairs
            driver computes them once per model).

    Returns:
        float. Complexity ``O(N·k²)``.

    Warns:
        CKNNAReliabilityWarning: ``k/N > CKNNA_MAX_K_FRACTION`` (see :func:`cknna`).
    """
    value = _from_graphs(ga, gb, epsilon, self_a, self_b)
    warn_if_unreliable(ga.k, ga.n, f"{value:.4g}")
    return value


def _from_graphs(ga: KNNGraph, gb: KNNGraph, epsilon: float, self_a: float | None,
                 self_b: float | None) -> float:
    if ga.n != gb.n or ga.k != gb.k:
        raise ValidationError(f"kNN graphs differ: N={ga.n}, k={ga.k} vs N={gb.n}, k={gb.k}")
    if ga.n < MIN_SAMPLES:
        raise ValidationError(f"CKNNA needs at least {MIN_SAMPLES} samples; got {ga.n}")
    kl = hsic_from_sums(pair_sums(ga, gb))
    kk = hsic_from_sums(pair_sums(ga, ga)) if self_a is None else self_a
    ll = hsic_from_sums(pair_sums(gb, gb)) if self_b is None else self_b
    return _ratio(kl, kk, ll, epsilon)


def cknna(a: Any, b: Any, k: int = 25, *, metric: str = "cosine", method: str = "auto",
          epsilon: float = CKNNA_EPSILON, dtype: str = "float32") -> float:
    """Centred kernel nearest-neighbour alignment (CKNNA) of two representations.

    With ``K = ÂÂᵀ``, ``L = B̂B̂ᵀ`` (rows L2-normalised for ``metric="cosine"``), ``N_A(i)``,
    ``N_B(i)`` the top-``k`` neighbours of ``i`` (self excluded), masks
    ``(M_A)_ij = [j ∈ N_A(i)]``, ``M = M_A ∘ M_B`` and the unbiased HSIC ``HSIC_u``::

        CKNNA = HSIC_u(M∘K, M∘L) / ( sqrt(HSIC_u(M_A∘K, M_A∘K) · HSIC_u(M_B∘L, M_B∘L)) + ε )

    exactly as the reference code of Huh et al. (2024), "The Platonic Representation
    Hypothesis" (``platonic-rep/metrics.py``), including ``ε = 1e-6``. Ties among neighbours
    are broken by the smaller index.

    Args:
        a, b: ``(N, D_a)`` and ``(N, D_b)`` arrays or Embeddings of the same samples.
        k: neighbours per sample, ``1 ≤ k < N`` (the paper uses 25; the reference code
            refuses ``k < 2``, but the formula is defined for ``k = 1``).
        metric: ``"cosine"`` (default) or ``"euclidean"`` neighbours; the kernel is the inner
            product of the rows the neighbours were found with.
        method: ``"sparse"`` (kNN graphs + ``O(N·k²)`` sums, see :mod:`._sparse`),
            ``"dense"`` (the literal ``N × N`` formula, ``O(N³)``) or ``"auto"`` (sparse).
        epsilon: ε of the denominator.
        dtype: precision of the kNN candidate matmul (sparse path), see :func:`knn_graph`.

    Returns:
        float; 1 for identical neighbourhoods and kernels (minus ε effects). In ``[-1, 1]``
        for ``k/N ≤ CKNNA_MAX_K_FRACTION``; above it see "Reliability".

    Warns:
        CKNNAReliabilityWarning: once per call when ``k/N > CKNNA_MAX_K_FRACTION``, with the
            value, ``k/N`` and the largest ``k`` (smallest ``N``) that would be trusted.

    Reliability:
        The unbiased HSIC of masked kernels obeys no Cauchy–Schwarz bound, so CKNNA is not
        bounded by 1 when ``k/N`` is large (1.00006 was seen for two SevenNet models at
        ``N = 50, k = 25``; 2.19 for SOAP vs CHGNet on QM9 at ``N = 100, k = 90``).
        ``CKNNA_MAX_K_FRACTION = 0.4`` comes from a sweep on real embeddings: six
        representations of QM9 molecules (SOAP, ACSF, MBTR, Coulomb-matrix eigenvalues,
        composition, CHGNet 0.3.0), all 30 ordered pairs, on four random subsets each of
        ``N = 100`` and ``N = 200`` molecules, ``k/N`` from 0.02 to 0.9. The largest value
        was 0.97 (N = 100) and 0.93 (N = 200) at ``k/N = 0.4`` and stayed below 1 up to
        0.46; the first values above 1 appeared at ``k/N = 0.48`` (1.012, 1.001), a third of
        the pairs were above 1 at 0.55, and at 0.9 values reached 2.5–3.0 (and −0.5) while
        the spread between subsets grew sevenfold (SD 0.17 vs 0.024). SOAP vs CHGNet at
        ``N = 500``: 0.95 at ``k/N = 0.5``, 1.07 at 0.6. Below the threshold the spread
        between subsets did not grow with ``k/N``. (Values also rise steadily with ``k`` —
        the median pair went from 0.21 at ``k/N = 0.02`` to 0.81 at 0.4 — so compare CKNNA
        only at equal ``k`` and ``N``.)

    Complexity: sparse ``O(N²·D)`` for the two graphs (reused by :func:`align`) then
    ``O(N·k²)``; dense ``O(N³)`` time and ``O(N²)`` memory.

    Raises:
        ValidationError: ``k ≥ N``, ``N < 4``, NaN/inf, mismatched samples, unknown method.

    See Also: :func:`cknna_from_graphs`, :func:`matteralign.metrics.mutual_knn`.

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(60, 5))
        >>> round(cknna(x, 3.0 * x, k=5), 6)
        1.0
        >>> abs(cknna(x, x[:, ::-1] ** 3, k=5, method="dense") - cknna(x, x[:, ::-1] ** 3, k=5)) < 1e-10
        True
    """
    xa, xb = as_pair(a, b, min_samples=MIN_SAMPLES, what="CKNNA")
    k = check_k(k, xa.shape[0])
    if method not in CKNNA_METHODS:
        raise ValidationError(f"unknown CKNNA method {method!r}; use one of {CKNNA_METHODS}")
    if metric not in KNN_METRICS:
        raise ValidationError(f"unknown kNN metric {metric!r}; use one of {KNN_METRICS}")
    if method == "dense":
        value = cknna_dense(xa, xb, k, metric=metric, epsilon=epsilon)
    else:
        ga = knn_graph(xa, k, metric=metric, dtype=dtype)
        gb = knn_graph(xb, k, metric=metric, dtype=dtype)
        value = _from_graphs(ga, gb, epsilon, None, None)
    warn_if_unreliable(k, xa.shape[0], f"{value:.4g}")
    return value
