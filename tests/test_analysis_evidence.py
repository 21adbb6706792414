"""Statistics for the claims: rank correlation with an interval over samples and a null over
models (claim 3), paired regime differences (claim 4)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from matteralign import metrics
from matteralign.analysis import evidence
from matteralign.errors import UnknownNameError, ValidationError


def _ladder(n=80, noise=(0.05, 0.3, 0.8, 1.5, 3.0), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    emb = {"ref": x}
    for i, s in enumerate(noise):
        emb[f"m{i}"] = x + s * rng.normal(size=x.shape)
    return emb, {f"m{i}": s for i, s in enumerate(noise)}


def test_rank_correlation_equals_scipy_spearman_of_errors_and_cknna():
    emb, errs = _ladder()
    r = evidence.rank_correlation(emb, errs, "ref", k=8, n_boot=10)
    cknna = [metrics.cknna(emb[m], emb["ref"], k=8) for m in errs]
    assert r.rho == pytest.approx(stats.spearmanr(list(errs.values()), cknna)[0], abs=1e-12)
    np.testing.assert_allclose(r.alignment.to_numpy(), cknna, atol=1e-12)


def test_rank_correlation_interval_contains_the_estimate_and_stays_in_bounds():
    emb, errs = _ladder(noise=(0.5, 0.6, 0.7, 0.8, 0.9))
    r = evidence.rank_correlation(emb, errs, "ref", k=8, n_boot=50)
    assert -1.0 <= r.low <= r.rho <= r.high <= 1.0
    assert r.n_samples == 80 and r.n_models == 5 and r.n_boot == 50


def test_rank_correlation_p_is_exact_over_model_orders_for_few_models():
    emb, errs = _ladder()
    r = evidence.rank_correlation(emb, errs, "ref", k=8, n_boot=5)
    # |ρ| = 1 with 5 models: 2 of the 120 orders reach it
    assert r.rho == pytest.approx(-1.0)
    assert r.p_value == pytest.approx(2 / 120)
    assert "exact" in r.p_method


def test_rank_correlation_p_matches_scipy_permutation_test_for_many_models():
    emb, errs = _ladder(noise=tuple(np.linspace(0.2, 3.0, 10)))
    shuffled = dict(zip(errs, np.random.default_rng(3).permutation(list(errs.values()))))
    r = evidence.rank_correlation(emb, shuffled, "ref", k=8, n_boot=5, n_perm=4000, seed=1)
    ref = stats.permutation_test((r.errors.to_numpy(), r.alignment.to_numpy()),
                                 lambda x, y: stats.spearmanr(x, y)[0],
                                 permutation_type="pairings", n_resamples=20000,
                                 random_state=0).pvalue
    assert r.p_value == pytest.approx(ref, abs=0.03)


def test_rank_correlation_needs_three_models_besides_the_reference():
    emb, errs = _ladder(noise=(0.1, 0.2))
    with pytest.raises(ValidationError, match="at least 3 models"):
        evidence.rank_correlation(emb, errs, "ref", k=5)


def test_rank_correlation_rejects_an_unknown_reference():
    emb, errs = _ladder()
    with pytest.raises(UnknownNameError, match="nope"):
        evidence.rank_correlation(emb, errs, "nope", k=5)


def test_paired_difference_p_equals_scipy_exact_paired_permutation_test():
    rng = np.random.default_rng(0)
    a = pd.Series(rng.normal(size=9), index=list("abcdefghi"))
    b = a + rng.normal(0.4, 0.5, size=9)
    d = evidence.paired_difference(a, b, n_boot=500)
    ref = stats.permutation_test((b.to_numpy(), a.to_numpy()),
                                 lambda x, y: np.mean(x - y), permutation_type="samples",
                                 n_resamples=np.inf).pvalue
    assert d.p_value == pytest.approx(ref, abs=1e-12)
    assert d.mean_difference == pytest.approx(float((b - a).mean()))
    assert d.low <= d.mean_difference <= d.high


def test_paired_difference_pairs_units_by_label_not_position():
    a = {"x": 1.0, "y": 2.0, "z": 3.0}
    b = {"z": 3.5, "y": 2.5, "x": 1.5}
    assert evidence.paired_difference(a, b, n_boot=50).mean_difference == pytest.approx(0.5)


def test_paired_difference_of_identical_regimes_is_zero_with_p_one():
    a = {"x": 1.0, "y": 2.0, "z": 3.0, "w": 0.5}
    d = evidence.paired_difference(a, a, n_boot=50)
    assert d.mean_difference == 0.0 and d.p_value == 1.0 and d.p_wilcoxon == 1.0


def test_paired_difference_needs_three_common_units():
    with pytest.raises(ValidationError, match="at least 3 units"):
        evidence.paired_difference({"x": 1.0, "y": 2.0}, {"x": 1.0, "y": 3.0, "z": 1.0})


def test_regime_table_has_one_row_per_quantity_and_regime():
    base = {"x": 0.1, "y": 0.2, "z": 0.3, "w": 0.4}
    table = evidence.regime_table({"cknna": {"in": base, "out": {u: v + 0.3 for u, v in base.items()},
                                             "off": base},
                                   "twonn": {"in": base, "out": base}}, "in", n_boot=100)
    assert list(zip(table["quantity"], table["regime"])) == [("cknna", "out"), ("cknna", "off"),
                                                            ("twonn", "out")]
    assert table["difference"].round(6).tolist() == [0.3, 0.0, 0.0]


def test_pair_series_symmetrises_and_labels_each_pair():
    from matteralign.tensors import alignment_tensor

    t = alignment_tensor(np.array([[[1, .2, .4], [.4, 1, .6], [.4, .6, 1]]]), metrics=["cknna"],
                         models=["a", "b", "c"])
    s = evidence.pair_series(t, "cknna")
    assert s.to_dict() == pytest.approx({"a × b": 0.3, "a × c": 0.4, "b × c": 0.6})


def test_regime_quantities_turn_notebook_tables_into_units_per_regime():
    pairs = pd.DataFrame([("in", "cknna", "a", "b", 0.5), ("out", "cknna", "a", "b", 0.7),
                          ("in", "cknna", "a", "c", 0.4), ("out", "cknna", "a", "c", 0.6)],
                         columns=["regime", "metric", "model_a", "model_b", "value"])
    ids = pd.DataFrame([("in", "a", "twonn", 10.0), ("out", "a", "twonn", 4.0)],
                       columns=["regime", "model", "method", "intrinsic_dimension"])
    planes = pd.DataFrame([("in", "a", 0.3, 0.4), ("out", "a", 0.1, 0.1)],
                          columns=["regime", "model", "delta_to_ref", "delta_from_ref"])
    q = evidence.regime_quantities(pairs, ids, planes)
    assert q["cknna"]["out"].to_dict() == {"a × b": 0.7, "a × c": 0.6}
    assert q["id_twonn"]["in"].to_dict() == {"a": 10.0}
    assert q["delta_sum"]["in"].to_dict() == pytest.approx({"a": 0.7})
