"""Sample size from measurement: CKNNA sweeps over N at fixed k and fixed k/N, and the
rank-order and level criteria of stability."""

import numpy as np
import pandas as pd
import pytest

from matteralign.analysis import compute, sample_size
from matteralign.errors import ValidationError

MODELS = ["morgan", "rdkit-2d", "coulomb-eigen"]


@pytest.fixture(scope="module")
def collection():
    coll, skipped = compute.embed_models(MODELS, "nci-organics", n_samples=120, seed=0)
    assert not skipped
    return coll


def _table(shifts, pairs=(0.9, 0.5, 0.2, 0.4, 0.7), repeats=3, perm=None):
    rows = []
    for n, shift in shifts.items():
        values = np.array(pairs) + shift
        if perm is not None and n != max(shifts):
            values = values[perm]
        for r in range(repeats):
            rows += [(n, 5, r, f"p{i}", v + 1e-4 * r) for i, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["n", "k", "repeat", "pair", "value"])


def test_sweep_at_fixed_fraction_scales_k_with_n(collection):
    df = sample_size.sweep(collection, [40, 80, 120], k_fraction=0.1, n_repeats=2)
    assert df.groupby("n")["k"].first().to_dict() == {40: 4, 80: 8, 120: 12}


def test_sweep_measures_the_full_set_once(collection):
    df = sample_size.sweep(collection, [60, 120], k=5, n_repeats=3)
    assert df.groupby("n")["repeat"].nunique().to_dict() == {60: 3, 120: 1}
    assert set(df["pair"]) == {"morgan × rdkit-2d", "morgan × coulomb-eigen",
                               "rdkit-2d × coulomb-eigen"}


def test_sweep_skips_sizes_above_the_collection(collection):
    df = sample_size.sweep(collection, [60, 10_000], k=5, n_repeats=1)
    assert sorted(df["n"].unique()) == [60]


def test_the_largest_size_has_tau_one_and_zero_delta():
    table = sample_size.stability_table(_table({50: 0.1, 100: 0.0}), n_boot=100)
    assert table.loc[100, "tau"] == pytest.approx(1.0) and table.loc[100, "delta"] == 0.0


def test_a_shifted_level_is_not_stable_even_with_the_same_ranks():
    table = sample_size.stability_table(_table({50: 0.05, 100: 0.0}), n_boot=100)
    assert table.loc[50, "tau"] == pytest.approx(1.0) and not table.loc[50, "stable"]


def test_a_shuffled_rank_order_is_not_stable_even_at_the_same_level():
    table = sample_size.stability_table(_table({50: 0.0, 100: 0.0}, perm=[4, 3, 2, 1, 0]),
                                        n_boot=100)
    assert table.loc[50, "tau"] < 0.9 and not table.loc[50, "stable"]


def test_required_n_is_the_smallest_size_from_which_all_are_stable():
    table = sample_size.stability_table(_table({25: 0.2, 50: 0.01, 100: 0.005, 200: 0.0}),
                                        n_boot=100)
    assert table["stable"].tolist() == [False, True, True, True]
    assert sample_size.required_n(table) == 50


def test_required_n_is_none_when_only_the_largest_size_qualifies():
    table = sample_size.stability_table(_table({50: 0.2, 100: 0.1, 200: 0.0}), n_boot=100)
    assert sample_size.required_n(table) is None


def test_stability_needs_three_pairs():
    with pytest.raises(ValidationError, match="3 model pairs"):
        sample_size.stability_table(_table({50: 0.0, 100: 0.0}, pairs=(0.1, 0.2)))
