"""Claim 6 on a distance matrix: does a model not built equivariant sit as close to
equivariant families as those families sit to each other?

The paper (arXiv 2512.03750, claim 6) reports that Orb-v3 — not equivariant by construction,
trained with an equivariance regulariser — aligns strongly with the equivariant MACE and
EquiformerV2. On a model-to-model distance matrix ``d`` (the published sqrt(JSD)-of-CKNNA,
or one recomputed here) this is tested as a paired contrast over the *target* models
``j`` of the equivariant families ``F_1, F_2`` (MACE and eqV2):

.. math::

    a_j = \\operatorname{mean}_{j' \\in F_{\\bar f(j)}} d(j, j'), \\qquad
    b_j = \\operatorname{mean}_{p \\in P} d(j, p), \\qquad
    \\Delta = \\operatorname{mean}_j (b_j - a_j),

where ``F_{f̄(j)}`` is the *other* equivariant family (the cross-family distance between
two equivariant architectures, the yardstick of "aligns strongly") and ``P`` the probe
models (every Orb-v3 variant). ``Δ < 0``: the probe is closer to each equivariant model
than the other equivariant family is. Interval: percentile bootstrap over the targets
``j``; p: sign-flip randomisation of ``b_j − a_j``
(:func:`matteralign.analysis.evidence.paired_difference`). A control probe without the
regulariser (Orb-v2) is reported beside it, ``mean_j d(j, control)``.

Cost: O(|F_1| + |F_2|)·(|P| + |F|) look-ups plus the bootstrap; shapes: a square
``(model_a, model_b)`` matrix (an alignment tensor with one metric).

>>> from matteralign.analysis.published import load_published
>>> r = equivariance_contrast(load_published("omat24"))
>>> r.evidence.n_units, len(r.probes), r.control_models
(16, 8, ('Orb V2',))
>>> bool(r.evidence.mean_difference < 0)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matteralign.analysis.evidence import PairedEvidence, paired_difference
from matteralign.errors import ValidationError

__all__ = ["EquivarianceContrast", "equivariance_contrast"]


@dataclass(frozen=True)
class EquivarianceContrast:
    """Result of :func:`equivariance_contrast`.

    Attributes:
        evidence: paired difference ``b − a`` over the target models (``mean_a``: the
            cross-family distance between equivariant models; ``mean_b``: the distance to
            the probes).
        per_target: one row per target model: ``family``, ``cross_family`` (a_j),
            ``to_probe`` (b_j) and ``to_control`` (NaN without a control).
        probes, control_models: the labels used.
        families: the two equivariant families.
        control_mean: mean distance of the targets to the control (NaN without one).
        by_family: the same paired difference restricted to each family's targets (the
            claim names both families: a probe close to one family only is not close to
            "equivariant models").
    """

    evidence: PairedEvidence
    per_target: pd.DataFrame
    probes: tuple[str, ...]
    control_models: tuple[str, ...]
    families: tuple[str, str]
    control_mean: float
    by_family: dict[str, PairedEvidence]


def _square(tensor: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    t = tensor
    if "metric" in t.dims:
        if t.sizes["metric"] != 1:
            raise ValidationError("equivariance_contrast needs one metric; select it first "
                                  f"(got {t.sizes['metric']})")
        t = t.isel(metric=0)
    if set(t.dims) != {"model_a", "model_b"}:
        raise ValidationError(f"equivariance_contrast needs dims (model_a, model_b); got {t.dims}")
    if "family_a" not in t.coords:
        raise ValidationError("equivariance_contrast needs a family_a coordinate")
    names = [str(m) for m in t["model_a"].values]
    fam = dict(zip(names, (str(f) for f in t["family_a"].values), strict=True))
    frame = pd.DataFrame(np.asarray(t.transpose("model_a", "model_b").values, dtype=float),
                         index=names, columns=[str(m) for m in t["model_b"].values])
    return frame, fam


def equivariance_contrast(
    distances: Any,
    *,
    probe_prefix: str = "Orb V3",
    families: Sequence[str] = ("MACE", "eqV2"),
    control_prefix: str | None = "Orb V2",
    n_boot: int = 2000,
    seed: int = 0,
) -> EquivarianceContrast:
    """Distance of probe models to two equivariant families against the distance between
    those families (formula in the module docstring).

    Args:
        distances: a ``(model_a, model_b)`` distance matrix (optionally with a single
            ``metric``) whose models carry ``family_a``, e.g.
            :func:`matteralign.analysis.published.load_published`.
        probe_prefix: labels starting with it are the probes (Orb-v3 variants).
        families: the two equivariant families whose models are the targets.
        control_prefix: labels starting with it are the control probe (``None``: none).
        n_boot, seed: bootstrap resamples over targets and their seed.

    Raises:
        ValidationError: no probe, a family with fewer than 3 models, or a matrix without
            family labels.
    """
    if len(families) != 2:
        raise ValidationError(f"equivariance_contrast compares two families; got {list(families)}")
    d, fam = _square(distances)
    probes = tuple(m for m in d.index if m.startswith(probe_prefix))
    if not probes:
        raise ValidationError(f"no model label starts with {probe_prefix!r}")
    controls = tuple(m for m in d.index if control_prefix and m.startswith(control_prefix))
    members = {f: [m for m in d.index if fam[m] == f] for f in families}
    for f, ms in members.items():
        if not ms:
            raise ValidationError(f"family {f!r} has no model in this matrix "
                                  f"(families: {', '.join(sorted(set(fam.values())))})")
    rows = []
    f1, f2 = families
    for f, other in ((f1, f2), (f2, f1)):
        for j in members[f]:
            rows.append({"model": j, "family": f,
                         "cross_family": float(d.loc[j, members[other]].mean()),
                         "to_probe": float(d.loc[j, list(probes)].mean()),
                         "to_control": (float(d.loc[j, list(controls)].mean()) if controls
                                        else float("nan"))})
    table = pd.DataFrame(rows).set_index("model")
    ev = paired_difference(table["cross_family"], table["to_probe"], n_boot=n_boot, seed=seed)
    by_family = {}
    for f in families:
        part = table[table["family"] == f]
        if len(part) < 3:
            raise ValidationError(f"family {f!r} has {len(part)} models; a paired contrast "
                                  "needs at least 3")
        by_family[f] = paired_difference(part["cross_family"], part["to_probe"], n_boot=n_boot,
                                         seed=seed)
    return EquivarianceContrast(
        evidence=ev, per_target=table, probes=probes, control_models=controls,
        families=(f1, f2),
        control_mean=float(table["to_control"].mean()) if controls else float("nan"),
        by_family=by_family)
