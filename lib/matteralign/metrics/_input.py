"""Input checks shared by every metric: one clear error for bad input."""

from __future__ import annotations

from typing import Any

import numpy as np

from matteralign.errors import ValidationError
from matteralign.tensors import as_array, check_same_samples

__all__ = ["as_matrix", "as_pair", "check_k"]


def as_matrix(x: Any, *, name: str = "x", min_samples: int = 2, what: str = "this metric") -> np.ndarray:
    """Return a float ``(N, D)`` NumPy array from an array or Embeddings, or raise.

    Raises:
        ValidationError: not 2-D, fewer than ``min_samples`` rows, NaN or inf values (the
            message names the input and the first bad row).
    """
    arr, ids = as_array(x, name=name)
    if arr.dtype.kind not in "fiub":
        raise ValidationError(f"{name}: expected numbers; got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64 if arr.dtype == np.float64 else np.float32) \
        if arr.dtype.kind == "f" else arr.astype(np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        row = int(np.argmin(finite.all(axis=1)))
        label = str(ids[row]) if ids is not None else row
        raise ValidationError(f"{name} has NaN or infinite values (first at sample {label!r})")
    if arr.shape[0] < min_samples:
        raise ValidationError(f"{what} needs at least {min_samples} samples; {name} has {arr.shape[0]}")
    return arr


def as_pair(a: Any, b: Any, *, min_samples: int = 2, what: str = "this metric") -> tuple[np.ndarray, np.ndarray]:
    """Validate two representations of the same samples (same ids in the same order)."""
    check_same_samples(a, b)
    return (as_matrix(a, name="a", min_samples=min_samples, what=what),
            as_matrix(b, name="b", min_samples=min_samples, what=what))


def check_k(k: int, n: int, what: str = "k") -> int:
    """Require ``1 <= k < n`` (self is excluded from the neighbours)."""
    if not isinstance(k, int | np.integer) or isinstance(k, bool):
        raise ValidationError(f"{what} must be an integer; got {k!r}")
    if k < 1:
        raise ValidationError(f"{what} must be at least 1; got {k}")
    if k >= n:
        raise ValidationError(f"{what}={k} must be smaller than the number of samples N={n}")
    return int(k)
