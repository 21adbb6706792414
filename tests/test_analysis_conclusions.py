"""Conclusion sentences (analysis.conclusions): computed from the numbers, never NaN or
self-contradictory, with units where the number has them."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from matteralign.analysis import conclusions


def _fit(slope, rho, p=0.01, n=6, r2=0.5):
    return SimpleNamespace(slope=slope, spearman_rho=rho, spearman_p=p, n=n, r2=r2)


def test_stabilisation_sentence_names_the_size_where_the_estimate_settles():
    text = conclusions.stabilisation_sentence([50, 100, 150, 200], [0.80, 0.56, 0.48, 0.463],
                                              tolerance=0.02)
    assert "stabilises at N = 150" in text
    assert "N = 200 (0.463)" in text
    assert "does not" not in text and "nan" not in text.lower()


def test_stabilisation_sentence_says_plainly_when_the_estimate_does_not_settle():
    text = conclusions.stabilisation_sentence([50, 100, 150, 200], [0.80, 0.56, 0.52, 0.463],
                                              tolerance=0.02)
    assert "does not stabilise within the sampled range" in text
    assert "0.057 away" in text
    assert "stabilises at" not in text and "nan" not in text.lower()


def test_stabilisation_sentence_recognises_an_estimate_stable_from_the_smallest_size():
    text = conclusions.stabilisation_sentence([50, 100, 200], [0.45, 0.46, 0.45], tolerance=0.02)
    assert "stable over the whole sampled range" in text


def test_stabilisation_sentence_counts_groups_and_never_prints_nan():
    text = conclusions.stabilisation_sentence(
        [50, 100, 200], [0.6, 0.45, 0.44], tolerance=0.02,
        per_group=[np.nan, 100.0, np.nan], group_name="model pairs")
    assert "1 of 3 model pairs stabilise" in text
    assert "nan" not in text.lower()


def test_stabilisation_sentence_with_one_size_cannot_judge():
    text = conclusions.stabilisation_sentence([200, 100], [0.4, np.nan], tolerance=0.02)
    assert "cannot be judged" in text and "nan" not in text.lower()


def test_trend_sentence_states_the_unit_of_the_slope():
    text = conclusions.trend_conclusion(_fit(-0.0223, -0.94), reference="ref",
                                        error_name="energy MAE, raw", unit="eV/atom")
    assert "falls by 0.0223 per 1 eV/atom of energy MAE, raw" in text
    assert "per unit of" not in text
    assert "tend to have lower energy MAE, raw" in text


def test_trend_sentence_does_not_claim_a_direction_when_slope_and_ranks_disagree():
    text = conclusions.trend_conclusion(_fit(0.3, -0.2, p=0.7), reference="ref",
                                        error_name="force MAE", unit="eV/Å")
    assert "rises by 0.3 per 1 eV/Å" in text
    assert "direction is not established" in text
    assert "tend to have" not in text


def test_distribution_sentence_uses_the_label_and_skips_missing_values():
    df = pd.DataFrame({"regime": ["near", "near", "far", "odd"],
                       "intrinsic_dimension": [6.0, 7.0, 3.0, np.nan]})
    text = conclusions.distribution_conclusion(df, value="intrinsic_dimension", group="regime",
                                               label="intrinsic dimension (twonn)")
    assert text.startswith("Mean intrinsic dimension (twonn) by regime: far 3.000, near 6.500.")
    assert "Not estimable on odd." in text
    assert "nan" not in text.lower() and "_" not in text


def test_grouping_conclusion_says_when_a_stratified_test_was_impossible():
    rows = [
        dict(grouping="family", stratified_by="", statistic=0.1, p_value=0.001, mean_within=0.1,
             mean_across=0.2, z=4.0, r2=0.6, n_permutations=999),
        dict(grouping="corpus", stratified_by="", statistic=0.02, p_value=0.2, mean_within=0.15,
             mean_across=0.17, z=1.0, r2=0.2, n_permutations=999),
        dict(grouping="corpus", stratified_by="family", statistic=np.nan, p_value=np.nan,
             mean_within=np.nan, mean_across=np.nan, z=np.nan, r2=np.nan, n_permutations=999),
    ]
    text = conclusions.grouping_conclusion({"toy": pd.DataFrame(rows)})
    assert "family explains more variance (R² 0.60 for family vs 0.20" in text
    assert "training corpus within families could not be tested" in text
    assert "family within training corpora could not be tested" in text
    assert "nan" not in text.lower()
