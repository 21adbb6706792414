"""Representation-alignment metrics and the all-pairs driver.

Pairwise metrics (each takes two ``(N, D)`` arrays or Embeddings of the same samples and
returns a float):

* :func:`cknna` — centred kernel nearest-neighbour alignment (Huh et al. 2024), the headline
  metric (:class:`CKNNAReliabilityWarning` above ``k/N = CKNNA_MAX_K_FRACTION``);
  :func:`mutual_knn` — shared-neighbour fraction (same reference);
* :func:`cka` — linear CKA (textbook by default, or on L2-normalised rows), classic or
  debiased;
* :func:`distance_correlation` — dCor (Székely et al. 2007), classic or bias-corrected;
* :func:`information_imbalance` — Δ(a→b) (Glielmo et al. 2022);

and :func:`intrinsic_dimension` of one representation. :func:`knn_graph` builds the kNN graph
of one model once, to be shared by every kNN metric; :func:`align` computes every metric for
every pair of models into an alignment tensor ``(metric, model_a, model_b)``;
:func:`align_to_reference` and :func:`mean_alignment` summarise it; :func:`bootstrap` and
:func:`permutation_test` give a confidence interval and a null for one pair
(:func:`align_bootstrap`, :func:`align_permutation_test`: for every pair at once).

Examples:
    >>> import numpy as np
    >>> from matteralign import metrics
    >>> x = np.random.default_rng(0).normal(size=(100, 8))
    >>> y = np.tanh(x @ np.random.default_rng(1).normal(size=(8, 4)))
    >>> 0 < metrics.cknna(x, y, k=10) < 1, metrics.mutual_knn(x, x, k=10)
    (True, 1.0)

Importing this package turns on JAX's persistent compilation cache
(:mod:`matteralign._jax_cache`; ``MATTERALIGN_JAX_CACHE=0`` turns it off), so that a new
process does not recompile the kernels.
"""
# ruff: noqa: E402  (the cache is configured before any module below can compile a kernel)

from matteralign._jax_cache import enable_compilation_cache

enable_compilation_cache()

from matteralign.metrics._registry import PAIRWISE, PairwiseMetric, get_pairwise
from matteralign.metrics.align import align, align_to_reference, mean_alignment
from matteralign.metrics.cka import cka
from matteralign.metrics.cknna import (
    CKNNA_MAX_K_FRACTION,
    CKNNAReliabilityWarning,
    cknna,
    cknna_from_graphs,
)
from matteralign.metrics.distance_correlation import distance_correlation
from matteralign.metrics.information_imbalance import information_imbalance
from matteralign.metrics.intrinsic_dimension import intrinsic_dimension
from matteralign.metrics.knn import KNNGraph, knn_graph
from matteralign.metrics.mutual_knn import mutual_knn, mutual_knn_from_graphs
from matteralign.metrics.stats import (
    BootstrapResult,
    PermutationResult,
    align_bootstrap,
    align_permutation_test,
    bootstrap,
    permutation_test,
)

__all__ = [
    "cknna",
    "mutual_knn",
    "cka",
    "distance_correlation",
    "intrinsic_dimension",
    "information_imbalance",
    "align",
    "knn_graph",
    "align_to_reference",
    "mean_alignment",
    "bootstrap",
    "permutation_test",
    "align_bootstrap",
    "align_permutation_test",
    "KNNGraph",
    "cknna_from_graphs",
    "mutual_knn_from_graphs",
    "CKNNA_MAX_K_FRACTION",
    "CKNNAReliabilityWarning",
    "BootstrapResult",
    "PermutationResult",
    "PairwiseMetric",
    "PAIRWISE",
    "get_pairwise",
]
