"""The model interface: every adapter answers ``embed`` and nothing else needs to know
which model it is (``ase`` calculators' lesson).

An adapter subclasses :class:`ModelAdapter`, sets ``info`` (a :class:`ModelInfo`), and
implements :meth:`ModelAdapter.atom_features`: per-structure hidden features of shape
``(n_atoms_or_tokens, D)`` for a batch of samples. Pooling to one vector per sample, the
Embeddings wrapper and validation are shared here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["ModelInfo", "ModelAdapter", "POOLINGS", "pool"]

POOLINGS = ("mean", "sum", "max", "cumulants")


@dataclass(frozen=True)
class ModelInfo:
    """Registry metadata of one model."""

    name: str
    modality: str  # "string" | "graph" | "3d" | "protein" | "descriptor"
    family: str
    architecture: str  # "equivariant" | "invariant" | "learned-symmetry" | "fixed-descriptor" | "transformer" ...
    training_data: str = ""
    n_params: int | None = None
    performance: dict[str, Any] = field(default_factory=dict)  # e.g. {"matbench_f1": 0.6, "source": "..."}
    reference: str = ""
    package: str = ""  # pip extra / package that provides it
    input: str = "atoms"  # which Sample representation it reads: "atoms" | "smiles" | "sequence"
    layers: tuple[str, ...] = ("last",)
    random_weights: bool = False
    tested_here: bool = True
    version: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pool(features: np.ndarray, pooling: str = "mean") -> np.ndarray:
    """Pool ``(n_atoms, D)`` features to one vector.

    ``mean``, ``sum`` and ``max`` are ``(D,)``; ``cumulants`` is the mean ⊕ variance stack
    ``(2D,)`` of Chorna et al. (arXiv 2512.05717).
    """
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] == 0:
        raise ValueError(f"features must be (n_atoms >= 1, D); got {f.shape}")
    if pooling == "mean":
        return f.mean(axis=0)
    if pooling == "sum":
        return f.sum(axis=0)
    if pooling == "max":
        return f.max(axis=0)
    if pooling == "cumulants":
        return np.concatenate([f.mean(axis=0), f.var(axis=0)])
    raise ValueError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")


class ModelAdapter(ABC):
    """Base class of every model adapter."""

    info: ModelInfo

    @abstractmethod
    def atom_features(self, samples: Sequence[Any], layer: str = "last", device: str = "cpu") -> list[np.ndarray]:
        """Hidden features ``(n_atoms_or_tokens, D)`` for each sample in ``samples``."""
