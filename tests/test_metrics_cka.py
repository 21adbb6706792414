"""Linear CKA (metrics/cka.py): against repsim's Gretton CKA and the dense formulas."""

import numpy as np
import pytest
import repsim

from matteralign import metrics
from matteralign.errors import ValidationError
from matteralign.metrics._dense import hsic_unbiased
from matteralign.metrics.cka import cka_matrix


def _pair(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)) + 2.0
    y = np.tanh(x @ rng.normal(size=(8, 5))) + 0.3 * rng.normal(size=(n, 5))
    return x, y


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_linear_cka_equals_repsim_gretton_linear_cka():
    x, y = _pair()
    expected = repsim.cka([x, y], kernel_type="linear", estimator="gretton")[0, 1]
    assert metrics.cka(x, y, kernel="linear") == pytest.approx(expected, abs=1e-10)


def _textbook_linear_cka(x, y):
    """Kornblith et al. (2019), eq. 3 with linear kernels: HSIC(K, L) = tr(KHLH)/(n−1)²,
    K = XXᵀ, H = I − 11ᵀ/n, CKA = HSIC(K, L) / sqrt(HSIC(K, K)·HSIC(L, L))."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l_ = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h) / (n - 1) ** 2

    return hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_))


def test_default_cka_equals_the_textbook_linear_cka_formula():
    x, y = _pair(seed=1)
    assert metrics.cka(x, y) == pytest.approx(_textbook_linear_cka(x, y), abs=1e-10)


def test_default_cka_equals_repsim_gretton_linear_cka():
    x, y = _pair(seed=1)
    expected = repsim.cka([x, y], kernel_type="linear", estimator="gretton")[0, 1]
    assert metrics.cka(x, y) == pytest.approx(expected, abs=1e-10)


def test_cosine_kernel_cka_is_repsim_linear_cka_of_l2_normalised_rows():
    x, y = _pair(seed=1)
    expected = repsim.cka([_unit(x), _unit(y)], kernel_type="linear", estimator="gretton")[0, 1]
    assert metrics.cka(x, y, kernel="cosine") == pytest.approx(expected, abs=1e-10)
    assert abs(metrics.cka(x, y, kernel="cosine") - metrics.cka(x, y)) > 1e-3


@pytest.mark.parametrize("kernel", ["cosine", "linear"])
@pytest.mark.parametrize("debiased", [False, True])
def test_feature_space_cka_equals_dense_gram_formula_to_1e_10(kernel, debiased):
    x, y = _pair(seed=2)
    assert metrics.cka(x, y, debiased=debiased, kernel=kernel) == pytest.approx(
        metrics.cka(x, y, debiased=debiased, kernel=kernel, method="dense"), abs=1e-10)


def test_debiased_cka_uses_unbiased_hsic_in_numerator_and_denominator():
    x, y = _pair(40, 3)
    xc, yc = x - x.mean(0), y - y.mean(0)
    K, L = xc @ xc.T, yc @ yc.T
    expected = hsic_unbiased(K, L) / np.sqrt(hsic_unbiased(K, K) * hsic_unbiased(L, L))
    assert metrics.cka(x, y, debiased=True, kernel="linear") == pytest.approx(expected, abs=1e-12)


def test_unbiased_hsic_does_not_depend_on_centring_the_features():
    x, y = _pair(40, 4)
    assert hsic_unbiased(x @ x.T, y @ y.T) == pytest.approx(
        hsic_unbiased((x - x.mean(0)) @ (x - x.mean(0)).T, (y - y.mean(0)) @ (y - y.mean(0)).T),
        abs=1e-10)


def test_debiased_cka_of_independent_data_is_closer_to_zero_than_biased():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(60, 30)), rng.normal(size=(60, 30))
    assert abs(metrics.cka(x, y, debiased=True)) < 0.2 < metrics.cka(x, y)


def test_cka_is_symmetric_and_one_for_a_scaled_rotation():
    x, y = _pair(seed=6)
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(8, 8)))
    assert metrics.cka(x, y) == pytest.approx(metrics.cka(y, x), abs=1e-14)
    assert metrics.cka(x, 3.0 * x @ q, kernel="linear") == pytest.approx(1.0, abs=1e-12)


def test_cka_matrix_equals_pairwise_cka():
    x, y = _pair(seed=7)
    z = np.random.default_rng(8).normal(size=(120, 3))
    for debiased in (False, True):
        m = cka_matrix([x, y, z], debiased=debiased)
        assert m[0, 2] == pytest.approx(metrics.cka(x, z, debiased=debiased), abs=1e-12)
        assert m[1, 2] == pytest.approx(metrics.cka(y, z, debiased=debiased), abs=1e-12)
        assert m[1, 1] == pytest.approx(1.0, abs=1e-12)


def test_cka_rejects_constant_features_unknown_kernel_and_method():
    x, _ = _pair(20)
    with pytest.raises(ValidationError, match="no variance"):
        metrics.cka(x, np.ones((20, 3)), kernel="linear")
    with pytest.raises(ValidationError, match="unknown CKA kernel"):
        metrics.cka(x, x, kernel="rbf")
    with pytest.raises(ValidationError, match="unknown CKA method"):
        metrics.cka(x, x, method="svd")
    with pytest.raises(ValidationError, match="at least 4"):
        metrics.cka(x[:3], x[:3], debiased=True)
