"""The registry of pairwise metrics: what each one promises, so that one test battery
(``tests/test_metric_battery.py``) and the resampling tools (:mod:`.stats`) serve them all.

Adding a metric = adding one :class:`PairwiseMetric` entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matteralign.errors import unknown_name

__all__ = ["PairwiseMetric", "PAIRWISE", "get_pairwise"]


@dataclass(frozen=True)
class PairwiseMetric:
    """One registered pairwise metric.

    Attributes:
        name: registry name (also the ``metric`` coordinate in alignment tensors).
        func: ``func(a, b, **params) -> float``.
        params: parameters the battery uses on its small test data (e.g. ``{"k": 5}``).
        symmetric: ``func(a, b) == func(b, a)`` exactly (up to rounding).
        invariances: transforms of one input that leave the value unchanged: ``"scale"``
            (isotropic), ``"rotation"`` (orthogonal), ``"translation"``.
        min_samples: fewest samples accepted (fewer raise ValidationError).
        reference: literal dense formula ``reference(a, b, **params)`` or None.
        uses_k: the metric takes ``k`` and rejects ``k >= N``.
    """

    name: str
    func: Callable[..., float]
    params: Mapping[str, Any] = field(default_factory=dict)
    symmetric: bool = True
    invariances: tuple[str, ...] = ()
    min_samples: int = 2
    reference: Callable[..., float] | None = None
    uses_k: bool = False


def _lazy(module: str, name: str, **fixed: Any) -> Callable[..., float]:
    """``module.name`` imported on first call, with ``fixed`` keyword arguments."""

    def call(a: Any, b: Any, **kw: Any) -> float:
        import importlib

        fn = getattr(importlib.import_module(f"matteralign.metrics.{module}"), name)
        return fn(a, b, **{**fixed, **kw})

    call.__name__ = name
    return call


PAIRWISE: dict[str, PairwiseMetric] = {}


def _register(m: PairwiseMetric) -> None:
    PAIRWISE[m.name] = m


_register(PairwiseMetric(
    "cknna", _lazy("cknna", "cknna"), {"k": 5}, symmetric=False,
    invariances=("scale", "rotation"), min_samples=4,
    reference=_lazy("cknna", "cknna", method="dense"), uses_k=True))
_register(PairwiseMetric(
    "mutual_knn", _lazy("mutual_knn", "mutual_knn"), {"k": 5}, symmetric=True,
    invariances=("scale", "rotation"), min_samples=2,
    reference=_lazy("mutual_knn", "mutual_knn", method="dense"), uses_k=True))
_register(PairwiseMetric(
    "cka", _lazy("cka", "cka"), {}, symmetric=True, invariances=("scale", "rotation"),
    min_samples=2, reference=_lazy("cka", "cka", method="dense")))
_register(PairwiseMetric(
    "cka_debiased", _lazy("cka", "cka", debiased=True), {}, symmetric=True,
    invariances=("scale", "rotation"), min_samples=4,
    reference=_lazy("cka", "cka", debiased=True, method="dense")))
_register(PairwiseMetric(
    "dcor", _lazy("distance_correlation", "distance_correlation"), {}, symmetric=True,
    invariances=("scale", "rotation", "translation"), min_samples=2,
    reference=_lazy("distance_correlation", "distance_correlation", method="dense")))
_register(PairwiseMetric(
    "dcor_bias_corrected",
    _lazy("distance_correlation", "distance_correlation", bias_corrected=True), {},
    symmetric=True, invariances=("scale", "rotation", "translation"), min_samples=4,
    reference=_lazy("distance_correlation", "distance_correlation", bias_corrected=True,
                    method="dense")))
_register(PairwiseMetric(
    "info_imbalance", _lazy("information_imbalance", "information_imbalance"), {"k": 1},
    symmetric=False, invariances=("scale", "rotation", "translation"), min_samples=3,
    reference=_lazy("information_imbalance", "information_imbalance", method="dense"),
    uses_k=True))

def get_pairwise(name: str) -> PairwiseMetric:
    """The registered metric ``name``; raises UnknownNameError listing the known ones."""
    try:
        return PAIRWISE[name]
    except KeyError:
        raise unknown_name("metric", name, list(PAIRWISE)) from None
