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


# ------------------------------------------------------------------ claim 1: block contrast
def _two_sides(n=60, seed=0):
    """Two 'string' and one '3D' representation of one latent geometry, and their twins
    (independent of it)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 5))
    emb = {"s1": z @ rng.normal(size=(5, 8)) + 0.3 * rng.normal(size=(n, 8)),
           "s2": np.tanh(z) + 0.5 * rng.normal(size=(n, 5)),
           "t": z ** 3 + 0.2 * rng.normal(size=(n, 5))}
    for name in list(emb):
        emb[f"{name}-random"] = rng.normal(size=(n, 6))
    return emb


def test_block_contrast_equals_a_naive_recomputation_with_metrics_cknna():
    emb, k, n, n_boot, n_perm, seed = _two_sides(), 6, 60, 12, 15, 4
    rows, cols = ["s1", "s2"], ["t"]
    floor = evidence.twin_floor(rows, cols, emb)
    c = evidence.block_contrast(emb, rows, cols, floor, k=k, n_boot=n_boot, n_perm=n_perm,
                                seed=seed)

    def contrast(x, perm=None):
        block = np.mean([metrics.cknna(x[a], x[b] if perm is None else x[b][perm], k=k)
                         for a in rows for b in cols])
        return block, block - np.mean([metrics.cknna(x[a], x[b], k=k) for a, b in floor])

    block, value = contrast(emb)
    assert c.value == pytest.approx(value, abs=1e-10)
    assert c.block_mean == pytest.approx(block, abs=1e-10)
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        idx = np.sort(rng.choice(n, size=n // 2, replace=False))
        reps.append(contrast({m: x[idx] for m, x in emb.items()})[1])
    dev = np.array(reps) - np.mean(reps)  # fraction 1/2: scale sqrt(m / (N − m)) = 1
    np.testing.assert_allclose(c.replicates, reps, atol=1e-10)
    assert (c.low, c.high) == pytest.approx((value - np.quantile(dev, 0.975),
                                             value - np.quantile(dev, 0.025)), abs=1e-10)
    null = np.array([contrast(emb, rng.permutation(n))[0] for _ in range(n_perm)])
    np.testing.assert_allclose(c.null, null, atol=1e-10)
    assert c.p_value == pytest.approx((1 + np.sum(null >= block - 1e-12)) / (1 + n_perm))


def test_block_contrast_of_shared_geometry_rises_above_the_twin_floor():
    emb = _two_sides(n=80)
    c = evidence.block_contrast(emb, ["s1", "s2"], ["t"],
                                evidence.twin_floor(["s1", "s2"], ["t"], emb), k=6, n_boot=40,
                                n_perm=99)
    assert c.low > 0 and c.low <= c.value <= c.high
    assert c.p_value == pytest.approx(0.01)
    assert c.null_mean < c.floor_mean + 0.1 < c.block_mean


def test_block_contrast_of_unrelated_sides_has_a_large_p_and_an_interval_around_zero():
    emb = _two_sides(n=80)
    emb["t"] = emb.pop("t-random")
    emb["t-random"] = np.random.default_rng(9).normal(size=(80, 6))
    c = evidence.block_contrast(emb, ["s1", "s2"], ["t"],
                                evidence.twin_floor(["s1", "s2"], ["t"], emb), k=6, n_boot=40,
                                n_perm=99)
    assert c.p_value > 0.05
    assert c.low < 0 < c.high


def test_block_contrast_with_a_dense_metric_recomputes_every_permutation():
    emb, n_perm, seed = _two_sides(n=40), 9, 2
    c = evidence.block_contrast(emb, ["s1"], ["t"], [("s1-random", "t")], metric="dcor",
                                n_boot=4, n_perm=n_perm, seed=seed)
    assert c.value == pytest.approx(metrics.distance_correlation(emb["s1"], emb["t"])
                                    - metrics.distance_correlation(emb["s1-random"], emb["t"]))
    rng = np.random.default_rng(seed)
    for _ in range(4):
        rng.choice(40, size=20, replace=False)
    null = [metrics.distance_correlation(emb["s1"], emb["t"][rng.permutation(40)])
            for _ in range(n_perm)]
    np.testing.assert_allclose(c.null, null, atol=1e-10)
    assert c.k is None


def test_block_contrasts_against_several_floors_equal_one_call_per_floor():
    emb = _two_sides()
    floors = {"twins": evidence.twin_floor(["s1", "s2"], ["t"], emb),
              "control": [("t-random", "t")]}
    both = evidence.block_contrasts(emb, ["s1", "s2"], ["t"], floors, k=5, n_boot=8, n_perm=9,
                                    seed=3)
    assert list(both) == ["twins", "control"]
    for label, pairs in floors.items():
        one = evidence.block_contrast(emb, ["s1", "s2"], ["t"], pairs, k=5, n_boot=8, n_perm=9,
                                      seed=3)
        assert (both[label].value, both[label].low, both[label].high, both[label].p_value) == \
            pytest.approx((one.value, one.low, one.high, one.p_value), abs=1e-12)
        np.testing.assert_allclose(both[label].replicates, one.replicates, atol=1e-12)

def test_block_contrast_lists_every_model_it_rests_on():
    emb = _two_sides()
    c = evidence.block_contrast(emb, ["s1", "s2"], ["t"],
                                evidence.twin_floor(["s1", "s2"], ["t"], emb), k=5, n_boot=2,
                                n_perm=1)
    assert c.models == ("s1", "t", "s2", "s1-random", "s2-random", "t-random")
    assert list(c.block.index) == ["s1 × t", "s2 × t"]


def test_block_contrast_rejects_a_model_on_both_sides():
    emb = _two_sides()
    with pytest.raises(ValidationError, match="both sides"):
        evidence.block_contrast(emb, ["s1", "t"], ["t"], [("s1-random", "t")], k=5)


def test_block_contrast_rejects_a_model_without_embeddings():
    emb = _two_sides()
    with pytest.raises(UnknownNameError, match="chgnet"):
        evidence.block_contrast(emb, ["s1"], ["chgnet"], [("s1-random", "t")], k=5)


def test_block_contrast_refuses_subsets_too_small_for_k():
    emb = _two_sides(n=20)
    with pytest.raises(ValidationError, match="no room"):
        evidence.block_contrast(emb, ["s1"], ["t"], [("s1-random", "t")], k=10)


def test_twin_floor_pairs_each_side_with_the_twin_of_the_other():
    pairs = evidence.twin_floor(["a", "b"], ["x"], ["a", "b", "x", "a-random", "x-random"])
    assert pairs == [("a-random", "x"), ("a", "x-random"), ("b", "x-random")]


def test_modality_blocks_separate_trained_strings_from_the_control_and_the_twins():
    blocks = evidence.modality_blocks(["rxnbert-ft", "smiles-tokens", "rxnbert-ft-random",
                                       "chgnet-0.3.0", "rdkit-2d", "coulomb-eigen"])
    assert blocks == {"rxnbert-ft": "string", "smiles-tokens": "string control",
                      "rxnbert-ft-random": "random twin", "chgnet-0.3.0": "3D MLIP",
                      "rdkit-2d": "2D descriptor", "coulomb-eigen": "3D descriptor"}


def test_block_means_average_the_off_diagonal_pairs_of_each_pair_of_blocks():
    from matteralign.tensors import alignment_tensor

    v = np.array([[1, .2, .4, .5], [.3, 1, .6, .7], [.4, .8, 1, .9], [.1, .2, .3, 1]])
    t = alignment_tensor(v[None], metrics=["cknna"], models=["a", "b", "c", "d"])
    table = evidence.block_means(t, "cknna", {"a": "X", "b": "X", "c": "Y", "d": "Y"},
                                 order=["Y", "X"])
    assert list(table.index) == ["Y", "X"] and list(table.columns) == ["Y", "X"]
    assert table.loc["X", "X"] == pytest.approx((.2 + .3) / 2)
    assert table.loc["X", "Y"] == pytest.approx((.4 + .5 + .6 + .7) / 4)
    assert table.loc["Y", "X"] == pytest.approx((.4 + .8 + .1 + .2) / 4)
    assert table.loc["Y", "Y"] == pytest.approx((.9 + .3) / 2)


def test_block_means_leave_a_single_model_block_diagonal_empty():
    from matteralign.tensors import alignment_tensor

    t = alignment_tensor(np.array([[[1, .5], [.5, 1]]]), metrics=["dcor"], models=["a", "b"])
    table = evidence.block_means(t, "dcor", {"a": "X", "b": "Y"})
    assert np.isnan(table.loc["X", "X"]) and table.loc["X", "Y"] == pytest.approx(0.5)
