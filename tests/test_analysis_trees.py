"""sqrt(JSD) distances from CKNNA, and trees (analysis.trees)."""

import numpy as np
import pytest

from matteralign.analysis import trees
from matteralign.errors import ValidationError
from matteralign.tensors import alignment_tensor


def _additive_matrix():
    # tree ((a:1,b:2):3,(c:4,d:5):1) -> leaf distances by path sums
    return np.array([[0, 3, 9, 10], [3, 0, 10, 11], [9, 10, 0, 9], [10, 11, 9, 0]], float)


def _random_cknna(m=7, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.05, 0.9, size=(m, m))
    c = (c + c.T) / 2
    np.fill_diagonal(c, 1.0)
    return c


def test_jsd_is_zero_for_equal_and_one_bit_for_disjoint_distributions():
    assert trees.jsd([0.2, 0.8], [0.2, 0.8]) == pytest.approx(0.0)
    assert trees.jsd([1, 0, 0], [0, 0.5, 0.5]) == pytest.approx(1.0)


def test_jsd_is_symmetric():
    p, q = [0.1, 0.6, 0.3], [0.5, 0.25, 0.25]
    assert trees.jsd(p, q) == pytest.approx(trees.jsd(q, p))


@pytest.mark.parametrize("form", trees.JSD_FORMS)
def test_sqrt_jsd_distance_is_symmetric_in_unit_interval(form):
    d = trees.cknna_to_distance(_random_cknna(), form=form)
    assert np.allclose(d, d.T) and np.allclose(np.diag(d), 0)
    assert (d >= 0).all() and (d <= 1).all()


def test_rows_form_satisfies_the_triangle_inequality():
    d = trees.cknna_to_distance(_random_cknna(), form="rows")
    m = len(d)
    for i in range(m):
        for j in range(m):
            assert (d[i, j] <= d[i] + d[:, j] + 1e-12).all()  # triangle inequality


def test_near_duplicate_models_are_about_a_thousandth_apart():
    c = _random_cknna(6)
    c = np.vstack([c, c[0] * 0.998])
    c = np.hstack([c, np.append(c[0] * 0.998, 1.0)[:, None]])
    d = trees.cknna_to_distance(c, form="rows")
    assert d[0, -1] < 0.005
    assert np.median(d[np.triu_indices(7, 1)]) > 10 * d[0, -1]


def test_pair_form_decreases_as_cknna_increases():
    d = [trees.cknna_to_distance(np.array([[1, c], [c, 1]]), form="pair")[0, 1]
         for c in (0.1, 0.5, 0.9, 1.0)]
    assert d[0] > d[1] > d[2] > d[3] == 0.0


def test_distance_keeps_model_coordinates_of_an_alignment_tensor():
    t = alignment_tensor(_random_cknna(3)[None], metrics=["cknna"], models=["x", "y", "z"],
                         metadata={"x": {"family": "A"}, "y": {"family": "B"}, "z": {"family": "A"}})
    d = trees.cknna_to_distance(t)
    assert d.dims == ("model_a", "model_b")
    assert d["family_a"].values.tolist() == ["A", "B", "A"]
    assert d.attrs["distance"] == "sqrt_jsd_rows"


def test_unknown_form_is_rejected():
    with pytest.raises(ValidationError, match="form"):
        trees.cknna_to_distance(np.eye(2), form="kl")


def test_neighbour_joining_recovers_an_additive_tree():
    d = _additive_matrix()
    tree = trees.neighbour_joining(d, list("abcd"))
    for i, a in enumerate("abcd"):
        for j, b in enumerate("abcd"):
            if i < j:
                assert tree.path_length(a, b) == pytest.approx(d[i, j])
    assert sorted(tree.leaves()) == list("abcd")


def test_average_linkage_merges_closest_pair_first_at_half_their_distance():
    d = np.array([[0, 2, 8, 8], [2, 0, 8, 8], [8, 8, 0, 4], [8, 8, 4, 0]], float)
    tree = trees.average_linkage(d, list("abcd"))
    assert tree.path_length("a", "b") == pytest.approx(2)
    assert tree.path_length("c", "d") == pytest.approx(4)
    assert tree.path_length("a", "c") == pytest.approx(8)


def test_cluster_order_puts_similar_models_next_to_each_other():
    s = np.array([[1, .1, .9, .1], [.1, 1, .1, .8], [.9, .1, 1, .1], [.1, .8, .1, 1]])
    order = trees.cluster_order(s)
    pos = {m: order.index(m) for m in range(4)}
    assert abs(pos[0] - pos[2]) == 1 and abs(pos[1] - pos[3]) == 1


def test_draw_model_tree_marks_every_leaf(tmp_path):
    import matplotlib.pyplot as plt

    t = alignment_tensor(_random_cknna(4)[None], metrics=["cknna"], models=list("wxyz"),
                         metadata={m: {"training_data": "T" + m, "architecture": "eq"} for m in "wxyz"})
    ax, tree = trees.draw_model_tree(trees.cknna_to_distance(t))
    gids = {c.get_gid() for c in ax.collections}
    assert gids >= set("wxyz")
    plt.close("all")


def test_tree_rejects_negative_distances():
    with pytest.raises(ValidationError):
        trees.neighbour_joining(-np.ones((3, 3)))
