"""Distance correlation, classic and bias-corrected (issue "The metric core", item 5)."""

import importlib

import dcor
import numpy as np
import pytest

from matteralign import ValidationError
from matteralign.errors import UnknownNameError
from matteralign.tensors import embeddings

dc = importlib.import_module("matteralign.metrics.distance_correlation")


def _models(n=120, seed=0):
    """Nonlinear maps of a shared latent (aligned) plus one independent representation."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    xs = [np.tanh(z @ rng.normal(size=(4, d))) for d in (6, 11, 3)]
    return xs + [rng.normal(size=(n, 5))]


def _rotation(d, seed=1):
    return np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))[0]


@pytest.mark.parametrize("bias_corrected", [False, True])
def test_blocked_equals_the_literal_dense_formula(bias_corrected):
    xs = _models()
    fast = dc.distance_correlation_matrix(xs, bias_corrected=bias_corrected, block_size=32)
    dense = dc.distance_correlation_matrix(xs, bias_corrected=bias_corrected, method="dense")
    np.testing.assert_allclose(fast, dense, atol=1e-10)


def test_block_size_does_not_change_the_result():
    xs = _models()
    a = dc.distance_correlation_matrix(xs, block_size=8)
    b = dc.distance_correlation_matrix(xs, block_size=128)
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_classic_matches_dcor_distance_correlation():
    xs = _models(n=250)
    ours = dc.distance_correlation_matrix(xs)
    ref = np.array([[dcor.distance_correlation(a, b) for b in xs] for a in xs])
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_squared_matches_dcor_distance_correlation_sqr():
    a, b = _models(n=200)[:2]
    ours = dc.distance_correlation(a, b, squared=True)
    assert ours == pytest.approx(dcor.distance_correlation_sqr(a, b), abs=1e-10)


def test_bias_corrected_matches_dcor_u_distance_correlation_sqr():
    xs = _models(n=250)
    ours = dc.distance_correlation_matrix(xs, bias_corrected=True)
    ref = np.array([[dcor.u_distance_correlation_sqr(a, b) for b in xs] for a in xs])
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_pinned_dcor_computes_distances_with_scipy_cdist():
    # dcor 0.7 with array-api-compat >= 1.16 silently builds an (N, N, D) broadcast instead
    # (8 GB at N = 2000); the pinned dcor must take its cdist path for a fair oracle/benchmark.
    from dcor import _utils

    assert _utils._can_be_numpy_double(np.zeros((3, 2)))


def test_matrix_is_symmetric_with_unit_diagonal():
    r = dc.distance_correlation_matrix(_models())
    np.testing.assert_allclose(r, r.T, atol=1e-14)
    np.testing.assert_allclose(np.diag(r), 1.0, atol=1e-12)


def test_one_pair_equals_its_entry_of_the_matrix():
    xs = _models()
    assert dc.distance_correlation(xs[0], xs[2]) == pytest.approx(
        dc.distance_correlation_matrix(xs)[0, 2], abs=1e-14)


@pytest.mark.parametrize("bias_corrected", [False, True])
def test_is_one_under_a_similarity_transform(bias_corrected):
    x = _models()[1]
    y = 2.5 * x @ _rotation(x.shape[1]) + 7.0
    assert dc.distance_correlation(x, y, bias_corrected=bias_corrected) == pytest.approx(
        1.0, abs=1e-10)


def test_is_near_zero_for_independent_data():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    assert abs(dc.distance_correlation(x, y, bias_corrected=True)) < 0.02
    assert dc.distance_correlation(x, y) < 0.3  # the V-statistic is biased upwards


def test_detects_nonlinear_dependence_that_is_uncorrelated():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 1))
    assert abs(np.corrcoef(x[:, 0], x[:, 0] ** 2)[0, 1]) < 0.2
    assert dc.distance_correlation(x, x**2, bias_corrected=True) > 0.2


def test_float32_input_agrees_with_float64():
    xs = _models()
    a = dc.distance_correlation_matrix([x.astype(np.float32) for x in xs])
    np.testing.assert_allclose(a, dc.distance_correlation_matrix(xs), atol=1e-5)


def test_constant_representation_gives_zero():
    x = _models()[0]
    assert dc.distance_correlation(x, np.ones((len(x), 2))) == 0.0


def test_accepts_embeddings_of_the_same_samples():
    x, y = _models()[:2]
    ids = [f"s{i}" for i in range(len(x))]
    ea = embeddings(x, ids, model="a", dataset="d")
    eb = embeddings(y, ids, model="b", dataset="d")
    assert dc.distance_correlation(ea, eb) == pytest.approx(dc.distance_correlation(x, y))


def test_mismatched_sample_order_is_one_clear_error():
    x, y = _models()[:2]
    ids = [f"s{i}" for i in range(len(x))]
    ea = embeddings(x, ids, model="a", dataset="d")
    eb = embeddings(y, ids[::-1], model="b", dataset="d")
    with pytest.raises(ValidationError):
        dc.distance_correlation(ea, eb)


def test_nan_is_one_clear_error():
    x, y = _models()[:2]
    y = y.copy()
    y[5, 0] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        dc.distance_correlation(x, y)


def test_bias_corrected_needs_four_samples():
    x = np.arange(6.0).reshape(3, 2)
    with pytest.raises(ValidationError, match="at least 4"):
        dc.distance_correlation(x, x, bias_corrected=True)


def test_classic_needs_two_samples():
    with pytest.raises(ValidationError, match="at least 2"):
        dc.distance_correlation(np.ones((1, 2)), np.ones((1, 2)))


def test_bias_corrected_statistic_has_no_unsquared_form():
    x = _models()[0]
    with pytest.raises(ValidationError, match="squared"):
        dc.distance_correlation(x, x, bias_corrected=True, squared=False)


def test_unknown_distance_or_method_is_a_named_error():
    x = _models()[0]
    with pytest.raises(UnknownNameError):
        dc.distance_correlation(x, x, metric="manhattan")
    with pytest.raises(UnknownNameError):
        dc.distance_correlation(x, x, method="fast")
