"""Centred kernel alignment (CKA) with a linear kernel: the classic (biased HSIC) and the
debiased (unbiased HSIC) variants, computed in feature space in ``O(N·D_a·D_b)``.

:func:`cka` defaults to textbook linear CKA (Kornblith et al. 2019; the value of repsim and
every CKA library); ``kernel="cosine"`` L2-normalises rows first, the kernel CKNNA uses, and
is what :func:`matteralign.metrics.align` uses with its default ``kernel="cosine"`` (recorded
as ``attrs["cka_kernel"]`` of the alignment tensor)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from matteralign.errors import ValidationError
from matteralign.metrics._dense import cka_dense
from matteralign.metrics._input import as_pair
from matteralign.metrics.knn import prepare_rows

__all__ = ["cka", "CKA_METHODS", "CKA_KERNELS"]

CKA_METHODS = ("auto", "features", "dense")
CKA_KERNELS = ("cosine", "linear")


@jax.jit
def _hsic_biased_terms(x: jax.Array, y: jax.Array) -> jax.Array:
    """``‖XᵀY‖², ‖XᵀX‖², ‖YᵀY‖²`` for column-centred ``X, Y`` (= ``tr(KHLH)`` etc.)."""
    return jnp.stack([jnp.sum((x.T @ y) ** 2), jnp.sum((x.T @ x) ** 2), jnp.sum((y.T @ y) ** 2)])


@jax.jit
def _u_terms(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    d = jnp.sum(x * x, axis=1)  # diag K
    row = x @ jnp.sum(x, axis=0) - d  # K̃ 1
    return d, row, jnp.sum(row)  # ΣK̃ = 1ᵀK̃1


@jax.jit
def _hsic_unbiased_terms(x: jax.Array, y: jax.Array) -> jax.Array:
    """Unbiased HSIC (Song et al. 2012) of linear kernels ``K = XXᵀ``, ``L = YYᵀ`` with zeroed
    diagonals, for the pairs (x, y), (x, x), (y, y), without forming ``N × N`` matrices:
    ``tr(K̃L̃) = ‖XᵀY‖² − Σ_i K_ii L_ii``, ``1ᵀK̃L̃1 = (K̃1)·(L̃1)``."""
    m = x.shape[0]
    dx, rx, sx = _u_terms(x)
    dy, ry, sy = _u_terms(y)

    def h(tr, d1, d2, r1, r2, s1, s2):
        t = tr - jnp.dot(d1, d2)
        return (t + s1 * s2 / ((m - 1) * (m - 2)) - 2.0 * jnp.dot(r1, r2) / (m - 2)) / (m * (m - 3))

    return jnp.stack([
        h(jnp.sum((x.T @ y) ** 2), dx, dy, rx, ry, sx, sy),
        h(jnp.sum((x.T @ x) ** 2), dx, dx, rx, rx, sx, sx),
        h(jnp.sum((y.T @ y) ** 2), dy, dy, ry, ry, sy, sy),
    ])


def cka(a: Any, b: Any, *, debiased: bool = False, kernel: str = "linear", method: str = "auto",
        epsilon: float = 0.0) -> float:
    """Linear centred kernel alignment.

    With column-centred features ``X``, ``Y`` (rows as given for the default
    ``kernel="linear"``; rows first L2-normalised when ``kernel="cosine"``, the kernel of
    CKNNA and of :func:`~matteralign.metrics.align`'s default), ``K = XXᵀ``, ``L = YYᵀ``::

        CKA = HSIC(K, L) / ( sqrt(HSIC(K, K) · HSIC(L, L)) + ε )

    where HSIC is the biased ``tr(KHLH)`` (Kornblith et al. 2019, "Similarity of Neural
    Network Representations Revisited"), which for linear kernels equals
    ``‖XᵀY‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)``, or with ``debiased=True`` the unbiased estimator of
    Song et al. (2012) (debiased CKA, Nguyen, Raghu & Kornblith 2021). ``ε`` defaults to 0
    (the platonic-rep code uses 1e-6).

    Args:
        a, b: ``(N, D_a)``, ``(N, D_b)`` arrays or Embeddings of the same samples.
        debiased: use the unbiased HSIC (needs ``N ≥ 4``).
        kernel: ``"linear"`` (rows as given: textbook linear CKA, default) or ``"cosine"``
            (L2-normalise rows first; differs from linear CKA when row norms vary).
        method: ``"features"`` (``O(N·(D_a+D_b)²)``, no ``N × N`` matrix), ``"dense"``
            (literal Gram-matrix formula, ``O(N²·D + N³)``) or ``"auto"`` (features).
        epsilon: ε added to the denominator.

    Returns:
        float; symmetric, invariant to orthogonal transforms and isotropic scaling.

    Raises:
        ValidationError: too few samples, NaN/inf, mismatched samples, constant features.

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(40, 6))
        >>> round(cka(x, -2.0 * x), 12)
        1.0
        >>> round(cka(x, x[:, :3], debiased=True), 6) == round(cka(x, x[:, :3], debiased=True, method="dense"), 6)
        True

        Rescaling each row changes linear CKA but not the cosine kernel's:

        >>> w = np.linspace(0.5, 2.0, 40)[:, None]
        >>> cka(x, w * x) < 1.0, round(cka(x, w * x, kernel="cosine"), 12)
        (True, 1.0)
    """
    xa, xb = as_pair(a, b, min_samples=4 if debiased else 2,
                     what="debiased CKA" if debiased else "CKA")
    if kernel not in CKA_KERNELS:
        raise ValidationError(f"unknown CKA kernel {kernel!r}; use one of {CKA_KERNELS}")
    if method not in CKA_METHODS:
        raise ValidationError(f"unknown CKA method {method!r}; use one of {CKA_METHODS}")
    ra = _prepare(xa, kernel, "a")
    rb = _prepare(xb, kernel, "b")
    if method == "dense":
        return cka_dense(xa, xb, debiased=debiased, kernel=kernel, epsilon=epsilon)
    with jax.enable_x64(True):
        fn = _hsic_unbiased_terms if debiased else _hsic_biased_terms
        kl, kk, ll = (float(v) for v in np.asarray(fn(jnp.asarray(ra), jnp.asarray(rb))))
    if debiased:
        with np.errstate(invalid="ignore"):
            return float(kl / (np.sqrt(kk * ll) + epsilon))
    return float(kl / (np.sqrt(kk) * np.sqrt(ll) + epsilon))


@jax.jit
def _cross(x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.sum((x.T @ y) ** 2)


def _pad_features(r: np.ndarray, multiple: int = 64) -> np.ndarray:
    """Zero feature columns up to a multiple of ``multiple``: ``XXᵀ`` is unchanged and the
    jitted kernels compile once per padded width instead of once per model pair."""
    extra = -r.shape[1] % multiple
    return np.pad(r, ((0, 0), (0, extra))) if extra else r


def _prepare(x: np.ndarray, kernel: str, name: str) -> np.ndarray:
    r = prepare_rows(x, "cosine" if kernel == "cosine" else "euclidean", name)
    r = r - r.mean(axis=0)
    if not np.any(np.abs(r) > 1e-12 * max(1.0, float(np.abs(r).max(initial=0.0)))):
        raise ValidationError(f"CKA is undefined: {name} has no variance across samples")
    return r


class PreparedCKA:
    """Centred rows and self-HSIC of ``M`` representations, prepared once; then
    :meth:`value` gives ``CKA(x_i, x_j[perm])`` for any pair at ``O(N·D_i·D_j)``.

    Args:
        xs: ``M`` validated ``(N, D_m)`` arrays of the same samples.
        debiased, kernel, epsilon: as in :func:`cka`.
        names: model names for error messages.
    """

    def __init__(self, xs: list[np.ndarray], *, debiased: bool = False, kernel: str = "linear",
                 epsilon: float = 0.0, names: list[str] | None = None) -> None:
        names = names or [f"x[{i}]" for i in range(len(xs))]
        if kernel not in CKA_KERNELS:
            raise ValidationError(f"unknown CKA kernel {kernel!r}; use one of {CKA_KERNELS}")
        self.debiased, self.epsilon = debiased, epsilon
        with jax.enable_x64(True):
            self.rows = [jnp.asarray(_pad_features(_prepare(x, kernel, nm)))
                         for x, nm in zip(xs, names)]
            self.m = self.rows[0].shape[0] if self.rows else 0
            self.terms = [tuple(np.asarray(t) for t in _u_terms(r)) for r in self.rows] \
                if debiased else []
            self.diag = [self._hsic(i, i, float(_cross(r, r)), None)
                         for i, r in enumerate(self.rows)]

    def _hsic(self, i: int, j: int, tr: float, perm: np.ndarray | None) -> float:
        if not self.debiased:
            return tr
        m = self.m
        di, ri, si = self.terms[i]
        dj, rj, sj = self.terms[j]
        if perm is not None:
            dj, rj = dj[perm], rj[perm]
        t = tr - float(np.dot(di, dj))
        return (t + float(si * sj) / ((m - 1) * (m - 2))
                - 2.0 * float(np.dot(ri, rj)) / (m - 2)) / (m * (m - 3))

    def value(self, i: int, j: int, perm: np.ndarray | None = None) -> float:
        """``CKA(x_i, x_j[perm])`` (``perm=None``: the true pairing)."""
        with jax.enable_x64(True):
            rj = self.rows[j] if perm is None else self.rows[j][jnp.asarray(perm)]
            tr = float(_cross(self.rows[i], rj))
        kl = self._hsic(i, j, tr, perm)
        with np.errstate(invalid="ignore"):
            den = np.sqrt(self.diag[i] * self.diag[j]) if self.debiased \
                else np.sqrt(self.diag[i]) * np.sqrt(self.diag[j])
        return float(kl / (den + self.epsilon))


def cka_matrix(xs: list[np.ndarray], *, debiased: bool = False, kernel: str = "linear",
               epsilon: float = 0.0, names: list[str] | None = None,
               progress: Any = None) -> np.ndarray:
    """CKA of every pair of ``M`` representations, ``(M, M)``, symmetric.

    Each model's centred rows and self-HSIC are computed once (:class:`PreparedCKA`); a pair
    then costs one ``D_a × D_b`` cross-covariance, ``O(N·D_a·D_b)`` (feature widths are
    zero-padded to a multiple of 64 so that the jitted kernel compiles for few shapes). Same
    definition as :func:`cka`.

    Args:
        xs: ``M`` validated ``(N, D_m)`` arrays of the same samples.
        debiased, kernel, epsilon: as in :func:`cka`.
        names: model names for error messages.
        progress: optional callable invoked once per computed pair.
    """
    prep = PreparedCKA(xs, debiased=debiased, kernel=kernel, epsilon=epsilon, names=names)
    out = np.empty((len(xs), len(xs)))
    for i in range(len(xs)):
        for j in range(i, len(xs)):
            out[i, j] = out[j, i] = prep.value(i, j)
            if progress is not None:
                progress()
    return out
