"""The all-pairs driver (metrics/align.py), its summaries, resampling (metrics/stats.py) and
``matteralign align``."""

import numpy as np
import pytest
import xarray as xr

from matteralign import io, metrics
from matteralign.cli import main
from matteralign.errors import UnknownNameError, ValidationError
from matteralign.tensors import collect, embeddings

N, K = 90, 5


def _models(seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(N, 4))
    return {
        "alpha": z @ rng.normal(size=(4, 6)),
        "beta": np.tanh(z @ rng.normal(size=(4, 5))) + 0.2 * rng.normal(size=(N, 5)),
        "gamma": rng.normal(size=(N, 3)),
    }


def _embs(xs):
    ids = [f"s{i}" for i in range(N)]
    meta = {"alpha": "MACE", "beta": "Orb", "gamma": "MACE"}
    return [embeddings(x, ids, model=m, dataset="toy", attrs={"family": meta[m]})
            for m, x in xs.items()]


@pytest.fixture(scope="module")
def xs():
    return _models()


@pytest.fixture(scope="module")
def tensor(xs):
    return metrics.align(xs, k=K, progress=False)


def test_align_returns_metric_by_model_by_model_tensor(tensor, xs):
    assert tensor.dims == ("metric", "model_a", "model_b")
    assert tensor["metric"].values.tolist() == ["cknna", "mutual_knn", "cka", "dcor",
                                                "info_imbalance"]
    assert tensor["model_a"].values.tolist() == list(xs)
    assert np.isfinite(tensor.values).all()


@pytest.mark.parametrize("name", ["cknna", "mutual_knn", "cka", "dcor", "info_imbalance"])
def test_every_entry_equals_the_pairwise_metric_from_a_to_b(tensor, xs, name):
    fn = metrics.get_pairwise(name).func
    kw = {"k": K} if name in ("cknna", "mutual_knn") else {}
    if name == "cka":
        kw = {"kernel": tensor.attrs["cka_kernel"]}
    pairs = [(a, b) for a in xs for b in xs]
    if name in ("dcor", "info_imbalance"):  # O(N²) each: both orders of one pair + diagonal
        pairs = [("alpha", "beta"), ("beta", "alpha"), ("gamma", "gamma")]
    for a, b in pairs:
        assert tensor.sel(metric=name, model_a=a, model_b=b).item() == pytest.approx(
            fn(xs[a], xs[b], **kw), abs=1e-10), (a, b)


def test_align_records_every_parameter_in_attrs(tensor):
    for key, value in {"k": K, "kernel": "cosine", "epsilon": 1e-6, "cka_debiased": False,
                       "dcor_bias_corrected": False, "info_imbalance_k": 1, "n_samples": N,
                       "distance_metric": "euclidean", "knn_dtype": "float32",
                       "cka_kernel": "cosine", "k_fraction": K / N,
                       "cknna_max_k_fraction": metrics.CKNNA_MAX_K_FRACTION}.items():
        assert tensor.attrs[key] == value, key
    assert tensor.attrs["directed_metrics"] == ["cknna", "info_imbalance"]


def test_align_cka_uses_the_cosine_kernel_with_cosine_knn_and_textbook_cka_with_euclidean(xs):
    a, b = xs["alpha"], xs["beta"]
    cos = metrics.align(xs, metrics=("cka",), progress=False)
    lin = metrics.align(xs, metrics=("cka",), kernel="euclidean", progress=False)
    assert (cos.attrs["cka_kernel"], lin.attrs["cka_kernel"]) == ("cosine", "linear")
    assert cos.sel(metric="cka", model_a="alpha", model_b="beta").item() == pytest.approx(
        metrics.cka(a, b, kernel="cosine"), abs=1e-12)
    assert lin.sel(metric="cka", model_a="alpha", model_b="beta").item() == pytest.approx(
        metrics.cka(a, b), abs=1e-12)


def test_align_options_reach_the_metrics(xs):
    t = metrics.align(xs, metrics=("cka", "dcor", "info_imbalance"), cka_debiased=True,
                      dcor_bias_corrected=True, info_imbalance_k=3, progress=False)
    a, b = xs["alpha"], xs["beta"]
    assert t.sel(metric="cka", model_a="alpha", model_b="beta").item() == pytest.approx(
        metrics.cka(a, b, debiased=True, kernel="cosine"), abs=1e-12)
    assert t.sel(metric="dcor", model_a="alpha", model_b="beta").item() == pytest.approx(
        metrics.distance_correlation(a, b, bias_corrected=True), abs=1e-10)
    assert t.sel(metric="info_imbalance", model_a="beta", model_b="alpha").item() == \
        pytest.approx(metrics.information_imbalance(b, a, k=3), abs=1e-12)


def test_align_accepts_collection_dict_and_list_of_embeddings_alike(xs):
    embs = _embs(xs)
    kw = dict(metrics=("cknna", "cka"), k=K, progress=False)
    t_list = metrics.align(embs, **kw)
    t_ds = metrics.align(collect(embs), **kw)
    t_dict = metrics.align(xs, **kw)
    np.testing.assert_allclose(t_list.values, t_dict.values, atol=1e-12)
    np.testing.assert_allclose(t_ds.values, t_dict.values, atol=1e-12)
    assert t_ds["family_a"].values.tolist() == ["MACE", "Orb", "MACE"]
    assert t_ds.attrs["dataset"] == "toy"


def test_align_metadata_argument_adds_and_overrides_coordinates(xs):
    t = metrics.align(_embs(xs), metrics=("mutual_knn",), k=K, progress=False,
                      metadata={"beta": {"family": "eqV2", "params_m": 31.0}})
    assert t["family_b"].values.tolist() == ["MACE", "eqV2", "MACE"]
    assert np.isnan(t["params_m_a"].values[0]) and t["params_m_a"].values[1] == 31.0


def test_align_rejects_models_with_samples_in_another_order(xs):
    embs = _embs(xs)
    embs[1] = embs[1].isel(sample=slice(None, None, -1))
    with pytest.raises(ValidationError, match="different order"):
        metrics.align(embs, metrics=("cka",), progress=False)


def test_align_rejects_unknown_metric_and_bad_k(xs):
    with pytest.raises(UnknownNameError, match="Did you mean 'cknna'"):
        metrics.align(xs, metrics=("cknn",), progress=False)
    with pytest.raises(ValidationError, match="smaller than"):
        metrics.align(xs, metrics=("cknna",), k=N, progress=False)


def test_align_to_reference_reads_each_model_against_the_reference(xs):
    t = metrics.align(_embs(xs), metrics=("cknna", "info_imbalance"), k=K, progress=False)
    ref = metrics.align_to_reference(t, "beta")
    assert ref.dims == ("metric", "model")
    assert ref.sel(metric="info_imbalance", model="gamma").item() == \
        t.sel(metric="info_imbalance", model_a="gamma", model_b="beta").item()
    assert ref["family"].values.tolist() == ["MACE", "Orb", "MACE"]
    assert ref.attrs["reference"] == "beta"
    with pytest.raises(UnknownNameError, match="unknown model"):
        metrics.align_to_reference(t, "delta")


def test_mean_alignment_averages_other_models_excluding_self(tensor):
    m = metrics.mean_alignment(tensor, "cknna")
    v = tensor.sel(metric="cknna").values
    assert m.dims == ("model",)
    assert m.sel(model="alpha").item() == pytest.approx((v[0, 1] + v[0, 2]) / 2, abs=1e-15)
    assert metrics.mean_alignment(tensor).dims == ("metric", "model")


def test_alignment_tensor_round_trips_through_netcdf(tmp_path, tensor):
    back = io.load(io.save(tensor, tmp_path / "t.nc"))
    xr.testing.assert_allclose(back, tensor)
    assert back.attrs["directed_metrics"] == ["cknna", "info_imbalance"]


# ----------------------------------------------------------------------------- stats
def test_bootstrap_interval_is_reproducible_and_brackets_the_estimate(xs):
    a, b = xs["alpha"], xs["beta"]
    r1 = metrics.bootstrap(a, b, "cknna", n_boot=12, k=K, seed=3)
    r2 = metrics.bootstrap(a, b, "cknna", n_boot=12, k=K, seed=3)
    # same seed, same resamples; the metric's float sums may be reordered by BLAS threads
    np.testing.assert_allclose(r1.replicates, r2.replicates, rtol=0, atol=1e-12)
    assert r1.estimate == pytest.approx(metrics.cknna(a, b, K), abs=1e-15)
    assert r1.low < r1.estimate < r1.high and r1.std_error > 0


def test_bootstrap_half_samples_are_distinct_rows_and_scaled_by_one():
    # for the mean-like mutual kNN of identical data every half-sample gives 1 exactly:
    # no duplicate rows are ever drawn (duplicates would also give 1, so test the width)
    x = np.random.default_rng(0).normal(size=(40, 3))
    r = metrics.bootstrap(x, x, "mutual_knn", n_boot=5, k=3)
    assert r.low == r.high == r.estimate == 1.0 and r.fraction == 0.5


def test_bootstrap_rejects_k_too_large_for_the_subsample(xs):
    with pytest.raises(ValidationError, match="subsample size 45"):
        metrics.bootstrap(xs["alpha"], xs["beta"], "cknna", k=60, n_boot=2)
    with pytest.raises(ValidationError, match="fraction"):
        metrics.bootstrap(xs["alpha"], xs["beta"], "cka", fraction=1.0)


def test_permutation_null_by_graph_relabelling_equals_recomputing_on_shuffled_rows(xs):
    a, b = xs["alpha"], xs["beta"]
    r = metrics.permutation_test(a, b, "cknna", n_perm=4, k=K, seed=7)
    rng = np.random.default_rng(7)
    expected = [metrics.cknna(a, b[rng.permutation(N)], K) for _ in range(4)]
    np.testing.assert_allclose(r.null, expected, atol=1e-12)
    assert r.statistic == pytest.approx(metrics.cknna(a, b, K), abs=1e-15)


def test_permutation_p_value_counts_with_the_plus_one_correction(xs):
    a, b, c = xs["alpha"], xs["beta"], xs["gamma"]
    aligned = metrics.permutation_test(a, b, "mutual_knn", n_perm=39, k=K)
    assert aligned.p_value == 1 / 40 and aligned.alternative == "greater"
    unrelated = metrics.permutation_test(a, c, "cka", n_perm=39)
    assert unrelated.p_value == (1 + np.sum(unrelated.null >= unrelated.statistic)) / 40
    ii = metrics.permutation_test(a, b, "info_imbalance", n_perm=9)
    assert ii.alternative == "less" and ii.p_value == 0.1


# ----------------------------------------------------------------------------- CLI
def test_cli_align_writes_the_tensor_from_embeddings_files(tmp_path, xs, capsys):
    paths = []
    for emb in _embs(xs):
        paths.append(str(io.save(emb, tmp_path / f"{emb.attrs['model']}.nc")))
    out = tmp_path / "align.nc"
    code = main(["align", *paths, "--out", str(out), "--metrics", "cknna", "cka", "-k", "5",
                 "--no-progress"])
    assert code == 0 and "2 metrics x 3 models over 90 samples" in capsys.readouterr().out
    t = io.load(out)
    assert t.sel(metric="cknna", model_a="alpha", model_b="beta").item() == pytest.approx(
        metrics.cknna(xs["alpha"], xs["beta"], 5), abs=1e-12)


def test_cli_align_reports_mismatched_samples_in_one_line(tmp_path, xs, capsys):
    embs = _embs(xs)
    p1 = io.save(embs[0], tmp_path / "a.nc")
    p2 = io.save(embs[1].isel(sample=slice(0, 50)), tmp_path / "b.nc")
    assert main(["align", str(p1), str(p2), "-o", str(tmp_path / "x.nc"), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "embedded on different samples" in err


def test_align_bootstrap_gives_an_interval_for_every_entry(xs):
    ds = metrics.align_bootstrap(xs, metrics=("cknna", "cka"), k=K, n_boot=6, progress=False)
    full = metrics.align(xs, metrics=("cknna", "cka"), k=K, progress=False)
    np.testing.assert_allclose(ds["estimate"].values, full.values, atol=1e-15)
    assert set(ds.data_vars) == {"estimate", "low", "high", "std_error"}
    assert (ds["low"] <= ds["estimate"]).all() and (ds["estimate"] <= ds["high"]).all()
    assert ds.attrs["n_boot"] == 6 and ds.attrs["k"] == K


def test_align_permutation_test_matches_the_per_pair_test_with_the_same_seed(xs):
    ds = metrics.align_permutation_test(xs, metrics=("cknna", "mutual_knn", "cka"), k=K,
                                        n_perm=5, seed=2, progress=False)
    for name in ("cknna", "mutual_knn", "cka"):
        kw = {"k": K} if name != "cka" else {"kernel": ds.attrs["cka_kernel"]}
        one = metrics.permutation_test(xs["alpha"], xs["gamma"], name, n_perm=5, seed=2, **kw)
        entry = ds.sel(metric=name, model_a="alpha", model_b="gamma")
        assert entry["p_value"].item() == one.p_value, name
        assert entry["null_mean"].item() == pytest.approx(one.null_mean, abs=1e-12), name
    assert (ds["p_value"].sel(metric="mutual_knn", model_a="alpha", model_b="beta") == 1 / 6)
    with pytest.raises(ValidationError, match="per pair"):
        metrics.align_permutation_test(xs, metrics=("dcor",), n_perm=2)
