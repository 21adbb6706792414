"""matteralign — do scientific foundation models learn the same representation of matter?

A library and research compendium reproducing "Universally Converging Representations of
Matter Across Scientific Foundation Models" (Edamadaka et al., arXiv 2512.03750).

Data flow: ``datasets`` (samples with stable ids) → ``models`` (adapters answering
``embed``) → :mod:`matteralign.tensors` (Embeddings, ``(sample, feature)``) → ``metrics``
(alignment tensors, ``(metric, model_a, model_b)``) → notebooks and figures.

Submodules are imported lazily so that ``import matteralign`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from matteralign._version import __version__
from matteralign.errors import MatteralignError, ValidationError

__all__ = ["__version__", "MatteralignError", "ValidationError", "tensors", "io",
           "metrics", "models", "datasets", "analysis"]

_LAZY = {"tensors", "io", "metrics", "models", "datasets", "analysis", "cli"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return importlib.import_module(f"matteralign.{name}")
    raise AttributeError(f"module 'matteralign' has no attribute {name!r}")
