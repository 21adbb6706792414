"""Intrinsic dimension: TwoNN, GRIDE, MLE (issue "The metric core", item 6)."""

import importlib
import warnings
from pathlib import Path

import numpy as np
import pytest
import skdim

from matteralign import ValidationError
from matteralign.errors import UnknownNameError
from matteralign.metrics._dist_blocks import knn_distances

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "dadapy" / "dadapy_reference.npz"
idm = importlib.import_module("matteralign.metrics.intrinsic_dimension")


def _gaussian(d, n=1000, ambient=100, seed=0):
    """A d-dimensional Gaussian embedded linearly in ``ambient`` dimensions."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, ambient))


def _curved(n=500, seed=1):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    return np.tanh(z @ rng.normal(size=(3, 12))) + 0.01 * rng.normal(size=(n, 12))


def test_knn_distances_equal_a_brute_force_sort():
    x = _curved(n=97)
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    dist, idx = knn_distances(x, 5, block=16)
    np.testing.assert_allclose(dist, np.sort(d, axis=1)[:, :5], atol=1e-12)
    np.testing.assert_array_equal(idx, np.argsort(d, axis=1, kind="stable")[:, :5])


def test_twonn_matches_dadapy():
    ref = np.load(FIXTURE)
    assert idm.twonn(ref["x"]) == pytest.approx(float(ref["twonn_x"]), abs=1e-9)


def test_gride_scaling_matches_dadapy():
    ref = np.load(FIXTURE)
    ds = idm.gride_scaling(ref["x"], range_max=32)
    np.testing.assert_allclose(ds.id, ref["gride_x_id"], atol=1e-6)  # DADApy bisects to 1e-7
    np.testing.assert_allclose(ds.id_err, ref["gride_x_err"], atol=1e-6)
    np.testing.assert_allclose(ds.distance, ref["gride_x_r"], atol=1e-12)


def test_twonn_matches_scikit_dimension():
    x = _curved()
    assert idm.twonn(x) == pytest.approx(skdim.id.TwoNN().fit(x).dimension_, abs=1e-10)


@pytest.mark.parametrize("n1", [1, 4])
def test_gride_matches_scikit_dimension(n1):
    x = _curved()
    assert idm.gride(x, n1=n1) == pytest.approx(skdim.id.GRIDE(n1=n1).fit(x).dimension_,
                                                abs=1e-9)


def test_mle_matches_scikit_dimension_with_mackay_ghahramani_averaging():
    x = _curved()
    ref = skdim.id.MLE().fit(x, n_neighbors=10, comb="mle").dimension_
    assert idm.mle(x, k=10) == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("d", [2, 5])
def test_twonn_recovers_the_dimension_of_an_embedded_gaussian(d):
    assert idm.twonn(_gaussian(d)) == pytest.approx(d, rel=0.12)


@pytest.mark.parametrize("method", ["gride", "mle"])
def test_other_estimators_recover_the_dimension_of_an_embedded_gaussian(method):
    assert idm.intrinsic_dimension(_gaussian(4), method) == pytest.approx(4, rel=0.15)


def test_is_invariant_to_similarity_transforms():
    x = _curved()
    q = np.linalg.qr(np.random.default_rng(2).normal(size=(12, 12)))[0]
    assert idm.twonn(3 * x @ q + 1) == pytest.approx(idm.twonn(x), abs=1e-8)


def test_duplicate_points_are_dropped_with_a_warning():
    x = _curved()
    doubled = np.concatenate([x, x[:50]])
    with pytest.warns(UserWarning, match="dropping 50 duplicate"):
        got = idm.twonn(doubled)
    assert got == pytest.approx(idm.twonn(x), abs=1e-12)


def test_no_warning_without_duplicates():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idm.twonn(_curved())


def test_dispatch_passes_keywords_to_the_estimator():
    x = _curved()
    assert idm.intrinsic_dimension(x, "mle", k=7) == idm.mle(x, k=7)
    assert idm.intrinsic_dimension(x) == idm.twonn(x)


def test_unknown_method_is_a_named_error():
    with pytest.raises(UnknownNameError, match="twonn"):
        idm.intrinsic_dimension(_curved(), "twonm")


def test_neighbour_rank_not_below_n_is_an_error():
    with pytest.raises(ValidationError, match="N=10"):
        idm.mle(_curved(n=10), k=10)


def test_nan_is_one_clear_error():
    x = _curved()
    x[0, 0] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        idm.twonn(x)


def test_too_few_distinct_points_is_an_error():
    with pytest.warns(UserWarning, match="duplicate"), \
            pytest.raises(ValidationError, match="distinct"):
        idm.twonn(np.ones((10, 3)))
