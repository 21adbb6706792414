"""Analysis helpers of the compendium: everything the notebooks compute beyond the metrics.

* :mod:`~matteralign.analysis.published` — the paper's published distance matrices
* :mod:`~matteralign.analysis.trees` — sqrt(JSD)-of-CKNNA distances, neighbour-joining and
  average-linkage trees, tree drawing
* :mod:`~matteralign.analysis.grouping` — permutation tests of groupings (family, training
  data) on distance matrices, with effect sizes and stratified variants
* :mod:`~matteralign.analysis.trends` — alignment-vs-performance fits with bootstrap bands,
  Spearman's ρ; where an estimate stabilises
* :mod:`~matteralign.analysis.compute` — embeddings → cached alignment tensors for notebooks
* :mod:`~matteralign.analysis.robustness` — sweeps over k, sample size, pooling, layer;
  pair tables, intrinsic dimension per model, the information-imbalance plane
* :mod:`~matteralign.analysis.performance` — measured energy/force errors of MLIPs
* :mod:`~matteralign.analysis.plotting` — heatmaps, trend plots, PNG + SVG output
* :mod:`~matteralign.analysis.conclusions` — conclusion sentences computed from numbers
* :mod:`~matteralign.analysis.paths` — repository, figures and cache folders
* :mod:`~matteralign.analysis.evidence` — intervals over samples and nulls over models for
  the claims (rank correlation, paired regime differences)
* :mod:`~matteralign.analysis.sample_size` — CKNNA sweeps over N (fixed k, fixed k/N) and
  the rank-order and level criteria that set each notebook's default N
* :mod:`~matteralign.analysis.claims` — the scoreboard of the study's claims
  (``figures/CLAIMS.md``)
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["published", "trees", "grouping", "trends", "compute", "plotting", "conclusions",
           "paths", "performance", "robustness", "evidence", "claims", "sample_size"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"matteralign.analysis.{name}")
    raise AttributeError(f"module 'matteralign.analysis' has no attribute {name!r}")
