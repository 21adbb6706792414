"""Permutation tests of a grouping on a distance matrix (analysis.grouping)."""

import numpy as np
import pytest

from matteralign.analysis import grouping
from matteralign.analysis.published import load_published


def _points_distance(centres, labels, noise, seed):
    rng = np.random.default_rng(seed)
    x = np.array([centres[g] for g in labels], float) + rng.normal(0, noise, (len(labels), 2))
    return np.linalg.norm(x[:, None] - x[None], axis=-1)


def test_planted_grouping_is_detected():
    labels = list("aaaabbbbcccc")
    d = _points_distance({"a": (0, 0), "b": (3, 0), "c": (0, 3)}, labels, 0.5, 0)
    r = grouping.grouping_test(d, labels, n_permutations=999, seed=1)
    assert r.p_value < 0.01 and r.statistic > 0 and r.r2 > 0.5


def test_random_grouping_is_not_detected():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 2))
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    r = grouping.grouping_test(d, list("ab" * 8), n_permutations=999, seed=1)
    assert r.p_value > 0.05


def test_p_value_resolution_is_one_over_permutations_plus_one():
    labels = list("aaabbb")
    d = _points_distance({"a": (0, 0), "b": (9, 0)}, labels, 0.01, 0)
    r = grouping.grouping_test(d, labels, n_permutations=99, seed=0)
    assert r.p_value >= 1 / 100


def test_stratified_test_separates_entangled_groupings():
    # distances depend on family only; corpus is entangled with family (2 of 3 families
    # have a single corpus), yet varies inside family 'f' at random.
    family = ["e"] * 6 + ["f"] * 6 + ["g"] * 6
    corpus = ["x"] * 6 + ["x", "y"] * 3 + ["y"] * 6
    d = _points_distance({"e": (0, 0), "f": (4, 0), "g": (8, 0)}, family, 0.4, 2)
    plain = grouping.grouping_test(d, corpus, n_permutations=999, seed=0)
    within = grouping.grouping_test(d, corpus, strata=family, n_permutations=999, seed=0)
    assert plain.p_value < 0.05          # corpus looks significant on its own ...
    assert within.p_value > 0.05         # ... but not among models of the same family


def test_stratified_test_detects_a_real_within_stratum_effect():
    family = ["e"] * 8 + ["f"] * 8
    corpus = ["x", "x", "x", "x", "y", "y", "y", "y"] * 2
    d = _points_distance({("e", "x"): (0, 0), ("e", "y"): (3, 0), ("f", "x"): (0, 9),
                          ("f", "y"): (3, 9)}, list(zip(family, corpus)), 0.3, 0)
    r = grouping.grouping_test(d, corpus, strata=family, n_permutations=999, seed=0)
    assert r.p_value < 0.01 and r.statistic > 2


def test_models_with_missing_labels_are_left_out():
    labels = ["a", "a", None, "b", "b", ""]
    d = _points_distance({"a": (0, 0), "b": (3, 0), None: (0, 0), "": (0, 0)}, labels, 0.1, 0)
    r = grouping.grouping_test(d, labels, n_permutations=99)
    assert r.n_models == 4


def test_single_group_is_not_estimable():
    r = grouping.grouping_test(np.ones((3, 3)) - np.eye(3), ["a"] * 3, n_permutations=9)
    assert np.isnan(r.p_value)


def test_published_means_quoted_in_the_paper_notes_are_reproduced():
    table = grouping.compare_groupings(load_published("omat24"), groupings=("family", "corpus"),
                                       n_permutations=99)
    fam, cor = table.set_index("grouping").loc[["family", "corpus"]].to_dict("index").values()
    # quoted to 3 decimals: within half a unit of the last digit, not by rounding equality
    assert (fam["mean_within"], fam["mean_across"]) == pytest.approx((0.146, 0.323), abs=5e-4)
    assert (cor["mean_within"], cor["mean_across"]) == pytest.approx((0.259, 0.300), abs=5e-4)


def test_compare_groupings_reports_one_row_per_test():
    table = grouping.compare_groupings(load_published("salex"), groupings=("family",),
                                       stratified=[("corpus", "family")], n_permutations=49)
    assert table["stratified_by"].tolist() == ["", "family"]
    assert set(table.columns) >= {"r2", "p_value", "z", "statistic"}


@pytest.mark.parametrize("n", [0, 1])
def test_too_few_models_do_not_crash(n):
    r = grouping.grouping_test(np.zeros((n, n)), ["a"] * n, n_permutations=9)
    assert r.n_models == n
