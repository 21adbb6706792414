"""Claim 6's contrast: probe-to-equivariant distance against the equivariant cross-family
distance, paired over the equivariant models."""

import numpy as np
import pytest

from matteralign.analysis.equivariance import equivariance_contrast
from matteralign.analysis.published import load_published
from matteralign.errors import ValidationError
from matteralign.tensors import alignment_tensor


def _models(per_family: int) -> tuple[list[str], list[str]]:
    """Labels and families: ``per_family`` MACE and eqV2 models, two Orb-v3, one Orb-v2."""
    labels = ([f"M{i}" for i in range(1, per_family + 1)]
              + [f"E{i}" for i in range(1, per_family + 1)] + ["Orb V3 a", "Orb V3 b", "Orb V2"])
    return labels, ["MACE"] * per_family + ["eqV2"] * per_family + ["ORB"] * 3


def _matrix(probe_distance: float, cross: float = 0.4, control: float = 0.35,
            per_family: int = 3):
    """A hand-made distance matrix with a chosen probe-to-equivariant distance."""
    LABELS, FAMILY = _models(per_family)
    n = len(LABELS)
    d = np.full((n, n), 0.1)
    for i in range(n):
        for j in range(n):
            fi, fj = FAMILY[i], FAMILY[j]
            if {fi, fj} == {"MACE", "eqV2"}:
                d[i, j] = cross + 0.01 * (i + j)
            elif (fi in ("MACE", "eqV2")) != (fj in ("MACE", "eqV2")):
                other = LABELS[j] if fi in ("MACE", "eqV2") else LABELS[i]
                d[i, j] = control if other == "Orb V2" else probe_distance + 0.01 * (i + j)
    np.fill_diagonal(d, 0.0)
    d = (d + d.T) / 2
    meta = {m: {"family": f} for m, f in zip(LABELS, FAMILY)}
    return alignment_tensor(d[None], metrics=["sqrt_jsd_cknna"], models=LABELS, metadata=meta)


def test_contrast_equals_the_hand_computed_paired_mean():
    t = _matrix(0.3)
    r = equivariance_contrast(t, n_boot=200)
    d = t.isel(metric=0).to_pandas()
    mace, eqv2 = ["M1", "M2", "M3"], ["E1", "E2", "E3"]
    a = [d.loc[j, eqv2].mean() for j in mace] + [d.loc[j, mace].mean() for j in eqv2]
    b = [d.loc[j, ["Orb V3 a", "Orb V3 b"]].mean() for j in mace + eqv2]
    assert r.evidence.mean_difference == pytest.approx(np.mean(b) - np.mean(a), abs=1e-12)
    assert r.evidence.n_units == 6


def test_each_family_has_its_own_contrast_over_its_targets():
    r = equivariance_contrast(_matrix(0.3), n_boot=200)
    assert {f: e.n_units for f, e in r.by_family.items()} == {"MACE": 3, "eqV2": 3}


def test_a_probe_closer_than_the_other_family_gives_a_negative_contrast():
    assert equivariance_contrast(_matrix(0.2), n_boot=200).evidence.mean_difference < 0


def test_a_probe_further_than_the_other_family_gives_a_positive_contrast():
    assert equivariance_contrast(_matrix(0.6), n_boot=200).evidence.mean_difference > 0


def test_the_control_probe_is_reported_beside_the_contrast():
    r = equivariance_contrast(_matrix(0.3, control=0.35), n_boot=200)
    assert r.control_models == ("Orb V2",)
    assert r.control_mean == pytest.approx(0.35)


def test_no_probe_model_is_one_clear_error():
    with pytest.raises(ValidationError, match="no model label starts with 'Orb V9'"):
        equivariance_contrast(_matrix(0.3), probe_prefix="Orb V9")


def test_a_family_without_models_is_one_clear_error():
    with pytest.raises(ValidationError, match="family 'UMA' has no model"):
        equivariance_contrast(_matrix(0.3), families=("MACE", "UMA"))


def test_a_family_with_fewer_than_three_models_is_one_clear_error():
    t = _matrix(0.3).drop_sel(model_a=["M3"], model_b=["M3"])
    with pytest.raises(ValidationError, match="family 'MACE' has 2 models"):
        equivariance_contrast(t)


@pytest.mark.parametrize("dataset", ["omat24", "omol25", "qm9", "salex"])
def test_every_published_matrix_has_orb_v3_and_both_equivariant_families(dataset):
    r = equivariance_contrast(load_published(dataset), n_boot=200)
    assert len(r.probes) == 8 and r.evidence.n_units >= 15
    assert np.isfinite(r.evidence.mean_difference)


def test_claim_six_holds_only_when_the_probe_is_closer_for_both_families():
    from matteralign.analysis import claims

    # six targets per family: the smallest exact sign-flip p is then 2/64 < 0.05
    both = claims.equivariance_claim(
        equivariance_contrast(_matrix(0.2, per_family=6), n_boot=500), dataset="x",
        notebook="02")
    assert both.verdict == "holds" and both.claim == 6
    t = _matrix(0.2, per_family=6)
    d = t.values.copy()
    labels, family = _models(6)
    mace = [i for i, f in enumerate(family) if f == "MACE"]
    probes = [labels.index(m) for m in ("Orb V3 a", "Orb V3 b")]
    for i in mace:
        for j in probes:
            d[0, i, j] = d[0, j, i] = 0.8
    one = claims.equivariance_claim(equivariance_contrast(t.copy(data=d), n_boot=500),
                                    dataset="x", notebook="02")
    assert one.verdict == "does not hold"
