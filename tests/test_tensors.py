"""The data model: Embeddings, collections and alignment tensors (issue 3)."""

import numpy as np
import pytest
import xarray as xr

from matteralign import ValidationError
from matteralign.tensors import (
    alignment_tensor,
    check_same_samples,
    collect,
    embeddings,
    require_samples,
)


def _emb(model="m", n=4, d=3, ids=None, seed=0):
    rng = np.random.default_rng(seed)
    ids = ids if ids is not None else [f"s{i}" for i in range(n)]
    return embeddings(rng.normal(size=(len(ids), d)), ids, model=model, dataset="demo",
                      layer=2, pooling="mean", dataset_version="1.0")


def test_embeddings_have_sample_and_feature_dims_with_ids():
    e = _emb()
    assert e.dims == ("sample", "feature")
    assert list(e["sample"].values) == ["s0", "s1", "s2", "s3"]


def test_embeddings_record_provenance_in_attrs():
    e = _emb()
    for key in ("model", "layer", "pooling", "dtype", "dataset", "dataset_version",
                "matteralign_version"):
        assert key in e.attrs
    assert e.attrs["layer"] == 2 and e.attrs["dtype"] == "float64"


def test_nan_names_model_and_first_bad_sample():
    x = np.ones((3, 2))
    x[1, 1] = np.nan
    with pytest.raises(ValidationError, match=r"'mace'.*NaN.*'b'"):
        embeddings(x, ["a", "b", "c"], model="mace", dataset="d")


def test_inf_is_reported_as_infinite():
    x = np.ones((3, 2))
    x[2, 0] = np.inf
    with pytest.raises(ValidationError, match="infinite.*'c'"):
        embeddings(x, ["a", "b", "c"], model="m", dataset="d")


def test_duplicate_sample_ids_are_rejected():
    with pytest.raises(ValidationError, match="duplicate sample id"):
        embeddings(np.ones((3, 2)), ["a", "a", "c"], model="m", dataset="d")


def test_row_and_id_count_must_match():
    with pytest.raises(ValidationError, match="3 embedding rows but 2 sample ids"):
        embeddings(np.ones((3, 2)), ["a", "b"], model="m", dataset="d")


def test_differing_sample_ids_say_how_many_and_show_examples():
    a = _emb("a", ids=["s0", "s1", "s2"])
    b = _emb("b", ids=["s0", "s1", "x9"])
    with pytest.raises(ValidationError, match=r"1 only in a \(e.g. \['s2'\]\).*1 only in b"):
        check_same_samples(a, b)


def test_same_ids_in_different_order_are_reported_as_order():
    a = _emb("a", ids=["s0", "s1", "s2"])
    b = _emb("b", ids=["s1", "s0", "s2"])
    with pytest.raises(ValidationError, match="different order"):
        check_same_samples(a, b)


def test_too_few_samples_names_the_metric():
    with pytest.raises(ValidationError, match="cknna needs at least 5 samples; got 3"):
        require_samples(3, 5, "cknna")


def test_collect_gives_one_variable_per_model_with_own_feature_dim():
    ds = collect([_emb("a", d=3), _emb("b", d=5, seed=1)])
    assert isinstance(ds, xr.Dataset)
    assert set(ds.data_vars) == {"a", "b"}
    assert ds["a"].dims == ("sample", "feature_a") and ds["b"].sizes["feature_b"] == 5


def test_collect_rejects_mismatched_samples():
    with pytest.raises(ValidationError, match="sample ids differ"):
        collect([_emb("a", ids=["p", "q"]), _emb("b", ids=["p", "r"])])


def test_alignment_tensor_carries_metadata_coords_and_params():
    t = alignment_tensor(np.zeros((2, 2, 2)), metrics=["cknna", "dcor"], models=["x", "y"],
                         metadata={"x": {"family": "MACE", "n_params": 4.7e6, "published_score": None},
                                   "y": {"family": "Orb", "n_params": 2.5e7, "published_score": 0.8}},
                         attrs={"k": 25, "kernel": "cosine"})
    assert t.dims == ("metric", "model_a", "model_b")
    assert list(t["family_b"].values) == ["MACE", "Orb"]
    assert np.isnan(t["published_score_a"].values[0])
    assert t.attrs["k"] == 25


def test_alignment_tensor_shape_is_checked():
    with pytest.raises(ValidationError, match="expected"):
        alignment_tensor(np.zeros((1, 2, 3)), metrics=["a"], models=["x", "y"])
