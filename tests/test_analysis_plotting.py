"""Plots that carry a judgement: the k sweep marks where CKNNA is unreliable (k/N too large)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection

from matteralign.analysis.plotting import k_sweep_plot

N = 40
KS = [2, 5, 8, 10, 20]  # k/N = 0.05, 0.125, 0.2, 0.25, 0.5


def _by_k():
    """A sweep_k table: two pairs, CKNNA rising with k as it does on real embeddings."""
    values = {"a – b": [0.31, 0.35, 0.38, 0.41, 0.52], "a – c": [0.12, 0.15, 0.19, 0.22, 0.37]}
    return pd.DataFrame([(k, N, pair, v) for pair, vs in values.items() for k, v in zip(KS, vs)],
                        columns=["k", "n", "pair", "value"])


def _points(ax):
    """k of the filled and of the hollow scatter points."""
    filled, hollow = set(), set()
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            xs = {float(x) for x in np.asarray(coll.get_offsets())[:, 0]}
            fc = coll.get_facecolors()
            (hollow if len(fc) == 0 or fc[:, 3].max() == 0 else filled).update(xs)
    return filled, hollow


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_points_with_k_over_n_above_the_limit_are_hollow_and_the_others_filled():
    filled, hollow = _points(k_sweep_plot(_by_k(), max_fraction=0.2))
    assert filled == {2.0, 5.0, 8.0} and hollow == {10.0, 20.0}


def test_legend_names_the_unreliable_regime():
    ax = k_sweep_plot(_by_k(), max_fraction=0.2)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["a – b", "a – c", "k/N > 0.2: estimator unreliable"]


def test_unreliable_regime_is_shaded_from_the_limit_on():
    ax = k_sweep_plot(_by_k(), max_fraction=0.2)
    spans = [p for p in ax.patches if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert len(spans) == 1 and spans[0].get_x() == pytest.approx(0.2 * N)


def test_a_sweep_inside_the_reliable_regime_marks_nothing():
    ax = k_sweep_plot(_by_k(), max_fraction=0.9)
    filled, hollow = _points(ax)
    assert filled == set(map(float, KS)) and not hollow
    assert not any("unreliable" in t.get_text() for t in ax.get_legend().get_texts())


def test_the_default_limit_is_the_metrics_constant():
    from matteralign.metrics import CKNNA_MAX_K_FRACTION

    _, hollow = _points(k_sweep_plot(_by_k()))
    assert hollow == {float(k) for k in KS if k / N > CKNNA_MAX_K_FRACTION}
