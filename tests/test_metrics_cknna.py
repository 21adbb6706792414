"""CKNNA (metrics/cknna.py): the sparse O(N·k) identity against the reference definition."""

import numpy as np
import pytest
import torch

from matteralign import metrics
from matteralign.errors import ValidationError
from matteralign.metrics._dense import hsic_unbiased
from matteralign.metrics._sparse import hsic_from_sums, pair_sums


def _pair(n=150, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8))
    y = np.tanh(x @ rng.normal(size=(8, 5))) + 0.3 * rng.normal(size=(n, 5))
    return x, y


def _reference_torch(a, b, topk, eps=1e-6):
    """Huh et al.'s definition written from the paper/reference description in torch:
    L2-normalised features, kernel = inner product, top-k of kernel rows with the diagonal at
    -inf, mask = product of the two row masks, unbiased HSIC with zeroed diagonal."""
    A = torch.nn.functional.normalize(torch.as_tensor(a, dtype=torch.float64), dim=-1)
    B = torch.nn.functional.normalize(torch.as_tensor(b, dtype=torch.float64), dim=-1)
    K, L = A @ A.T, B @ B.T
    n = K.shape[0]

    def hsic(K, L):
        Kt, Lt = K.clone().fill_diagonal_(0), L.clone().fill_diagonal_(0)
        v = (torch.sum(Kt * Lt.T) + Kt.sum() * Lt.sum() / ((n - 1) * (n - 2))
             - 2 * torch.sum(Kt @ Lt) / (n - 2))
        return v / (n * (n - 3))

    def masked(K, L):
        mk = torch.zeros(n, n, dtype=K.dtype).scatter_(
            1, torch.topk(K.clone().fill_diagonal_(float("-inf")), topk, dim=1).indices, 1)
        ml = torch.zeros(n, n, dtype=K.dtype).scatter_(
            1, torch.topk(L.clone().fill_diagonal_(float("-inf")), topk, dim=1).indices, 1)
        m = mk * ml
        return hsic(m * K, m * L)

    return float(masked(K, L) / (torch.sqrt(masked(K, K) * masked(L, L)) + eps))


@pytest.mark.parametrize("k", [1, 5, 25])
def test_cknna_matches_the_reference_definition_written_in_torch(k):
    x, y = _pair()
    assert metrics.cknna(x, y, k=k) == pytest.approx(_reference_torch(x, y, k), abs=1e-10)


def test_cknna_with_default_arguments_on_float32_agrees_with_reference_to_1e_6():
    x, y = _pair(300, 1)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    assert abs(metrics.cknna(x32, y32) - _reference_torch(x32, y32, 25)) < 1e-6


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("seed", [0, 1])
def test_cknna_sparse_identity_equals_dense_formula_to_1e_10(metric, seed):
    x, y = _pair(120, seed)
    assert metrics.cknna(x, y, 7, metric=metric, method="sparse") == pytest.approx(
        metrics.cknna(x, y, 7, metric=metric, method="dense"), abs=1e-10)


def test_cknna_sparse_equals_dense_on_clustered_data_with_exact_duplicates_and_ties():
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(6, 3))
    x = np.repeat(centres, 15, axis=0) + 0.0  # 6 clusters of 15 identical points: ties
    x[::4] += 0.01 * rng.normal(size=x[::4].shape)
    y = np.roll(x, 1, axis=1) ** 2 + 0.05 * rng.normal(size=x.shape)
    for k, metric in ((3, "euclidean"), (20, "euclidean"), (14, "cosine")):
        assert metrics.cknna(x, y, k, metric=metric) == pytest.approx(
            metrics.cknna(x, y, k, metric=metric, method="dense"), abs=1e-10)


def test_cknna_sums_equal_unbiased_hsic_of_dense_masked_kernels_in_both_orders():
    x, y = _pair(60, 2)
    ga, gb = metrics.knn_graph(x, 6), metrics.knn_graph(y, 6)
    n = 60
    ra = x / np.linalg.norm(x, axis=1, keepdims=True)
    rb = y / np.linalg.norm(y, axis=1, keepdims=True)
    m = np.zeros((n, n))
    m[np.arange(n)[:, None], ga.indices] = 1
    mb = np.zeros((n, n))
    mb[np.arange(n)[:, None], gb.indices] = 1
    m *= mb
    kt, lt = m * (ra @ ra.T), m * (rb @ rb.T)
    p = pair_sums(ga, gb)
    assert hsic_from_sums(p) == pytest.approx(hsic_unbiased(kt, lt), abs=1e-14)
    assert hsic_from_sums(p.swapped()) == pytest.approx(hsic_unbiased(lt, kt), abs=1e-14)


def test_cknna_is_not_exactly_symmetric_and_both_orders_follow_the_definition():
    x, y = _pair(120, 3)
    ab, ba = metrics.cknna(x, y, 6), metrics.cknna(y, x, 6)
    assert ab != ba and abs(ab - ba) < 1e-2
    assert ba == pytest.approx(_reference_torch(y, x, 6), abs=1e-10)


def test_cknna_of_a_representation_with_itself_is_one_minus_epsilon_effect():
    x, _ = _pair(100)
    assert metrics.cknna(x, x, 5, epsilon=0.0) == pytest.approx(1.0, abs=1e-12)
    assert 1 - 1e-3 < metrics.cknna(x, x, 5) < 1.0


def test_cknna_is_invariant_to_rotation_and_isotropic_scaling():
    x, y = _pair(100, 5)
    q, _ = np.linalg.qr(np.random.default_rng(9).normal(size=(5, 5)))
    assert metrics.cknna(x, 7.0 * y @ q, 6) == pytest.approx(metrics.cknna(x, y, 6), abs=1e-12)


def test_cknna_from_graphs_reuses_graphs_and_precomputed_self_terms():
    x, y = _pair(80, 6)
    ga, gb = metrics.knn_graph(x, 5), metrics.knn_graph(y, 5)
    sa, sb = (hsic_from_sums(pair_sums(g, g)) for g in (ga, gb))
    value = metrics.cknna_from_graphs(ga, gb, self_a=sa, self_b=sb)
    assert value == metrics.cknna(x, y, 5) == metrics.cknna_from_graphs(ga, gb)


@pytest.mark.parametrize(("n", "k", "match"), [(3, 1, "at least 4"), (10, 10, "smaller than"),
                                                (10, 0, "at least 1")])
def test_cknna_rejects_too_few_samples_and_bad_k(n, k, match):
    x = np.random.default_rng(0).normal(size=(n, 3))
    with pytest.raises(ValidationError, match=match):
        metrics.cknna(x, x, k)


def test_cknna_rejects_unknown_method_and_metric():
    x, y = _pair(20)
    with pytest.raises(ValidationError, match="unknown CKNNA method"):
        metrics.cknna(x, y, 3, method="fast")
    with pytest.raises(ValidationError, match="unknown kNN metric"):
        metrics.cknna(x, y, 3, metric="rbf", method="dense")


# ----------------------------------------------------------------------------- reliability
QM9_N = 100


@pytest.fixture(scope="module")
def qm9_descriptors():
    """Real embeddings of the first 100 QM9 molecules (seed 0) by three fast descriptors."""
    from matteralign import models

    return {m: models.extract(m, "qm9", n=QM9_N, seed=0, use_cache=False, progress=False)
            for m in ("coulomb-eigen", "mbtr", "composition")}


def _reliability_warnings(record):
    return [w for w in record if issubclass(w.category, metrics.CKNNAReliabilityWarning)]


def test_max_k_fraction_is_a_fraction_and_the_warning_a_user_warning():
    assert 0 < metrics.CKNNA_MAX_K_FRACTION < 1
    assert issubclass(metrics.CKNNAReliabilityWarning, UserWarning)


def test_cknna_of_real_descriptors_stays_within_one_up_to_the_max_k_fraction(qm9_descriptors):
    k = int(metrics.CKNNA_MAX_K_FRACTION * QM9_N)
    t = metrics.align(qm9_descriptors, metrics=("cknna",), k=k, progress=False)
    assert np.abs(t.values).max() <= 1.0


@pytest.mark.parametrize("method", ["sparse", "dense"])
def test_cknna_warns_once_with_value_and_advice_above_the_max_k_fraction(qm9_descriptors,
                                                                         method):
    a, b = qm9_descriptors["mbtr"], qm9_descriptors["coulomb-eigen"]
    with pytest.warns(metrics.CKNNAReliabilityWarning) as record:
        value = metrics.cknna(a, b, k=90, method=method)
    (w,) = _reliability_warnings(record)
    message = str(w.message)
    assert value > 1.0  # the failure the warning is about, on real embeddings
    assert f"CKNNA = {value:.4g}" in message and "k/N = 90/100 = 0.90" in message
    assert f"lower k to at most {int(metrics.CKNNA_MAX_K_FRACTION * QM9_N)}" in message
    assert "\n" not in message


def test_cknna_does_not_warn_at_the_max_k_fraction(qm9_descriptors, recwarn):
    a, b = qm9_descriptors["mbtr"], qm9_descriptors["coulomb-eigen"]
    metrics.cknna(a, b, k=int(metrics.CKNNA_MAX_K_FRACTION * QM9_N))
    assert _reliability_warnings(recwarn) == []


def test_align_warns_once_per_call_not_once_per_pair(qm9_descriptors):
    with pytest.warns(metrics.CKNNAReliabilityWarning) as record:
        t = metrics.align(qm9_descriptors, metrics=("cknna", "mutual_knn"), k=90, progress=False)
    (w,) = _reliability_warnings(record)
    assert "over 6 ordered pairs of models" in str(w.message)
    assert t.attrs["k_fraction"] == 0.9
    assert t.attrs["cknna_max_k_fraction"] == metrics.CKNNA_MAX_K_FRACTION


def test_align_without_cknna_does_not_warn_at_large_k(qm9_descriptors, recwarn):
    metrics.align(qm9_descriptors, metrics=("mutual_knn",), k=90, progress=False)
    assert _reliability_warnings(recwarn) == []


def test_bootstrap_warns_once_per_call_for_its_subsamples(qm9_descriptors):
    a, b = qm9_descriptors["mbtr"], qm9_descriptors["coulomb-eigen"]
    with pytest.warns(metrics.CKNNAReliabilityWarning) as record:
        metrics.bootstrap(a, b, "cknna", k=30, n_boot=4)  # k/N = 0.3, but 0.6 per half sample
    (w,) = _reliability_warnings(record)
    assert "k/N = 30/50 = 0.60" in str(w.message)
    with pytest.warns(metrics.CKNNAReliabilityWarning) as record:
        metrics.align_bootstrap(qm9_descriptors, k=30, n_boot=3, progress=False)
    assert len(_reliability_warnings(record)) == 1


def test_permutation_test_warns_once_per_call_not_per_permutation(qm9_descriptors):
    a, b = qm9_descriptors["mbtr"], qm9_descriptors["coulomb-eigen"]
    with pytest.warns(metrics.CKNNAReliabilityWarning) as record:
        r = metrics.permutation_test(a, b, "cknna", k=90, n_perm=5)
    (w,) = _reliability_warnings(record)
    assert f"CKNNA = {r.statistic:.4g}" in str(w.message)


def test_cli_align_with_large_k_prints_the_warning_once(qm9_descriptors, tmp_path, capsys):
    from matteralign import io
    from matteralign.cli import main

    paths = [str(io.save(e, tmp_path / f"{m}.nc")) for m, e in qm9_descriptors.items()]
    code = main(["align", *paths, "--out", str(tmp_path / "t.nc"), "--metrics", "cknna",
                 "-k", "90", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0 and err.count("CKNNA = ") == 1 and "k/N = 90/100 = 0.90" in err
