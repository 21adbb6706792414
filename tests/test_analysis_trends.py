"""Trend fits, bootstrap bands and stabilisation (analysis.trends), published data."""

import numpy as np
import pytest

from matteralign.analysis import published, trends
from matteralign.errors import UnknownNameError, ValidationError


def test_fit_recovers_slope_and_band_covers_true_line():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 40)
    y = 0.8 - 0.5 * x + rng.normal(0, 0.02, x.size)
    fit = trends.fit_trend(x, y, n_boot=500, seed=0)
    assert fit.slope == pytest.approx(-0.5, abs=0.05)
    truth = 0.8 - 0.5 * fit.grid
    assert ((fit.band_low <= truth + 0.01) & (truth - 0.01 <= fit.band_high)).mean() > 0.9
    assert fit.spearman_rho < -0.9 and fit.spearman_p < 1e-6


def test_band_is_wider_with_noisier_data():
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 30)
    widths = []
    for noise in (0.01, 0.2):
        fit = trends.fit_trend(x, x + rng.normal(0, noise, x.size), n_boot=300, seed=0)
        widths.append(np.mean(fit.band_high - fit.band_low))
    assert widths[1] > 5 * widths[0]


def test_log_x_fit_is_linear_in_log10():
    x = np.array([1, 10, 100, 1000.0])
    fit = trends.fit_trend(x, 2 * np.log10(x), n_boot=50, log_x=True)
    assert fit.slope == pytest.approx(2.0)
    assert fit.predict(10000) == pytest.approx(8.0)


def test_fit_needs_three_points():
    with pytest.raises(ValidationError):
        trends.fit_trend([1, 2], [1, 2])


def test_stabilisation_point_is_first_size_after_which_estimate_stays_close():
    sizes = [50, 100, 200, 400, 800]
    est = [0.2, 0.5, 0.43, 0.445, 0.45]
    assert trends.stabilisation_point(sizes, est, tolerance=0.01) == 400
    assert trends.stabilisation_point(sizes, est, tolerance=0.03) == 200


def test_published_matrices_are_symmetric_with_zero_diagonal():
    for name in published.published_datasets():
        d = published.load_published(name).sel(metric=published.PUBLISHED_METRIC).values
        assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
        assert 29 <= len(d) <= 33


def test_published_near_duplicate_distance_matches_paper():
    d = published.load_published("OMat24").sel(metric=published.PUBLISHED_METRIC)
    v = d.sel(model_a="MACE MP Large Equivariant", model_b="MACE MP Large").item()
    assert v == pytest.approx(0.0024, abs=1e-4)


def test_unknown_published_dataset_names_the_known_ones():
    with pytest.raises(UnknownNameError, match="omat24"):
        published.load_published("omat25")


def test_spearman_p_value_is_exact_for_few_models():
    rho, p = trends.spearman([1, 2, 3, 4], [4, 3, 2, 1])
    assert rho == pytest.approx(-1.0) and p == pytest.approx(2 / 24)


def test_spearman_uses_the_t_approximation_for_many_points():
    from scipy.stats import spearmanr

    x = np.arange(20.0)
    y = np.sin(x)
    assert trends.spearman(x, y)[1] == pytest.approx(spearmanr(x, y)[1])
