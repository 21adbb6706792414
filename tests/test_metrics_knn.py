"""kNN graphs (metrics/knn.py) and mutual kNN (metrics/mutual_knn.py)."""

import numpy as np
import pytest

from matteralign import metrics
from matteralign.errors import ValidationError
from matteralign.metrics._dense import dense_knn
from matteralign.tensors import embeddings


def _data(n=120, d=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_knn_graph_equals_dense_argsort_of_full_similarity(metric, dtype):
    x = _data()
    g = metrics.knn_graph(x, 10, metric=metric, dtype=dtype)
    np.testing.assert_array_equal(g.indices, dense_knn(x, 10, metric))


def test_knn_graph_never_lists_a_sample_as_its_own_neighbour():
    x = np.repeat(_data(30, 3), 2, axis=0)  # every point has an exact duplicate
    g = metrics.knn_graph(x, 5)
    assert not (g.indices == np.arange(60)[:, None]).any()


def test_knn_graph_breaks_ties_by_smaller_index():
    # 1-D grid: i's neighbours at equal distance left and right; the left one (smaller
    # index) must come first, as in a stable sort
    x = np.arange(10.0)[:, None]
    g = metrics.knn_graph(x, 2, metric="euclidean")
    assert g.indices[5].tolist() == [4, 6]
    grid = np.random.default_rng(0).integers(0, 3, size=(80, 2)).astype(float)
    np.testing.assert_array_equal(metrics.knn_graph(grid, 12, metric="euclidean").indices,
                                  dense_knn(grid, 12, "euclidean"))


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_float32_knn_graph_is_exact_for_near_duplicates_below_float32_resolution(metric):
    # 40 points on an arc about 5e-6 rad apart (unequal gaps: no exact ties), nearest to
    # row 0 at the *highest* indices: cosine similarities all round to 1.0 in float32, so the
    # float32 pass alone would return the lowest indices; rows within the rounding bound
    # must be recomputed in float64
    j = np.arange(1, 40)
    theta = np.concatenate([[0.0], (40 - j) * 5e-6 + j ** 2 * 1e-9])
    x = np.stack([np.cos(theta), np.sin(theta)], axis=1) + (0 if metric == "cosine" else 5.0)
    g = metrics.knn_graph(x, 3, metric=metric)
    np.testing.assert_array_equal(g.indices, dense_knn(x, 3, metric))
    assert g.indices[0].tolist() == [39, 38, 37]


def test_float32_pass_needs_no_float64_fallback_on_well_separated_data():
    from matteralign.metrics import knn

    x = _data(400, 16)
    cand, approx = knn._candidates(x / np.linalg.norm(x, axis=1, keepdims=True), 18, None,
                                   False, "float32")
    g = metrics.knn_graph(x, 10)
    assert knn._unsafe_rows(x, approx[:, -1], g.kernel[:, -1], False, "float32").size == 0


def test_knn_graph_does_not_depend_on_block_size():
    x = _data(101)
    a = metrics.knn_graph(x, 7, block_size=8)  # 13 blocks, the last one padded
    b = metrics.knn_graph(x, 7, block_size=101)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.kernel, b.kernel, rtol=0, atol=1e-14)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_knn_graph_kernel_and_distances_are_float64_values_at_the_neighbour_pairs(metric):
    x = _data(50, 5).astype(np.float32)
    g = metrics.knn_graph(x, 6, metric=metric)
    r = x.astype(np.float64)
    if metric == "cosine":
        r = r / np.linalg.norm(r, axis=1, keepdims=True)
    rows = np.arange(50)[:, None]
    K = r @ r.T
    D = np.sqrt(((r[:, None] - r[None]) ** 2).sum(-1))
    np.testing.assert_allclose(g.kernel, K[rows, g.indices], rtol=0, atol=1e-13)
    expected = 1 - K[rows, g.indices] if metric == "cosine" else D[rows, g.indices]
    np.testing.assert_allclose(g.distances, expected, rtol=0, atol=1e-12)
    assert (np.diff(g.distances, axis=1) >= -1e-15).all()  # nearest first


def test_truncated_graph_equals_graph_built_with_smaller_k():
    x = _data()
    np.testing.assert_array_equal(metrics.knn_graph(x, 12).truncate(5).indices,
                                  metrics.knn_graph(x, 5).indices)


def test_permuted_graph_equals_graph_of_permuted_rows():
    x = _data(80, 4)
    perm = np.random.default_rng(3).permutation(80)
    a = metrics.knn_graph(x, 6).permuted(perm)
    b = metrics.knn_graph(x[perm], 6)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.kernel, b.kernel, atol=1e-14)


@pytest.mark.parametrize("k", [0, -1, 120, 500, 2.5])
def test_knn_graph_rejects_k_outside_1_to_n_minus_1(k):
    with pytest.raises(ValidationError, match="k"):
        metrics.knn_graph(_data(), k)


def test_knn_graph_rejects_nan_zero_rows_unknown_metric_and_bad_dtype():
    x = _data(20, 3)
    bad = x.copy()
    bad[4, 1] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        metrics.knn_graph(bad, 3)
    zero = x.copy()
    zero[2] = 0
    with pytest.raises(ValidationError, match="row 2 is all zeros"):
        metrics.knn_graph(zero, 3)
    metrics.knn_graph(zero, 3, metric="euclidean")  # fine without normalisation
    with pytest.raises(ValidationError, match="unknown kNN metric"):
        metrics.knn_graph(x, 3, metric="manhattan")
    with pytest.raises(ValidationError, match="dtype"):
        metrics.knn_graph(x, 3, dtype="float16")


# ----------------------------------------------------------------------------- mutual kNN
def test_mutual_knn_is_mean_fraction_of_shared_neighbours():
    # hand-computable: on a line, neighbours by distance; b reverses the order of 2 points
    a = np.array([[0.0], [1.0], [3.0], [7.0]])
    b = np.array([[0.0], [1.0], [7.0], [3.0]])
    # k=1: a: 0->1, 1->0, 2->1, 3->2 ; b: 0->1, 1->0, 2->3, 3->1  => shared rows 0, 1
    assert metrics.mutual_knn(a, b, k=1, metric="euclidean") == 0.5


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_mutual_knn_sparse_equals_dense_masks(metric):
    x = _data(150, 5)
    y = np.tanh(x @ np.random.default_rng(1).normal(size=(5, 8)))
    assert metrics.mutual_knn(x, y, 9, metric=metric) == pytest.approx(
        metrics.mutual_knn(x, y, 9, metric=metric, method="dense"), abs=1e-14)


def test_mutual_knn_of_unrelated_data_is_near_chance_k_over_n():
    rng = np.random.default_rng(5)
    value = metrics.mutual_knn(rng.normal(size=(400, 5)), rng.normal(size=(400, 5)), 20)
    assert abs(value - 20 / 399) < 0.02


def test_mutual_knn_from_graphs_reuses_graphs():
    x, y = _data(60, 4, 1), _data(60, 4, 2)
    ga, gb = metrics.knn_graph(x, 5), metrics.knn_graph(y, 5)
    assert metrics.mutual_knn_from_graphs(ga, gb) == metrics.mutual_knn(x, y, 5)
    with pytest.raises(ValidationError, match="kNN graphs differ"):
        metrics.mutual_knn_from_graphs(ga, metrics.knn_graph(y, 4))


def test_mutual_knn_rejects_embeddings_with_samples_in_different_order():
    x = _data(30, 3)
    ids = [f"s{i}" for i in range(30)]
    a = embeddings(x, ids, model="a", dataset="d")
    b = embeddings(x[::-1], ids[::-1], model="b", dataset="d")
    with pytest.raises(ValidationError, match="different order"):
        metrics.mutual_knn(a, b, k=3)
