"""The verified embedding store: provenance, lookup of subsets, spot checks, resumable build."""

import json

import numpy as np
import pytest
import xarray as xr

from matteralign import models, store
from matteralign.analysis import compute
from matteralign.datasets.base import Dataset, Sample
from matteralign.errors import CorruptFileError, StoreMismatchError

MODEL, DATASET, N = "morgan", "nci-organics", 30


@pytest.fixture(scope="module")
def data():
    return compute.load_dataset(DATASET, N, 0)


@pytest.fixture()
def stored(tmp_path, data, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_STORE_DIR", str(tmp_path))
    emb = models.get(MODEL).embed(data, progress=False)
    path = store.save(emb, list(data), n=N, seed=0)
    return path, emb


def test_saved_embeddings_are_float32_with_provenance(stored):
    path, _ = stored
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert ds["embeddings"].dtype == np.float32
        attrs = dict(ds.attrs)
    for key in ("model", "model_version", "layer", "pooling", "dataset", "dataset_version",
                "ids_digest", "content_digest", "package_versions", "store_n", "store_seed"):
        assert key in attrs, key
    assert "rdkit" in attrs["model_version"] and json.loads(attrs["package_versions"])


def test_lookup_returns_the_stored_embeddings(stored, data):
    _, emb = stored
    got = store.lookup(models.get(MODEL), data)
    assert got is not None and got.attrs["stored"] == 1
    assert [str(s) for s in got["sample"].values] == [str(s) for s in emb["sample"].values]
    np.testing.assert_allclose(got.values, emb.values, rtol=1e-7)


def test_lookup_serves_a_subset_of_the_stored_samples(stored, data):
    sub = data.subset(10, 3)
    got = store.lookup(models.get(MODEL), sub)
    assert [str(s) for s in got["sample"].values] == [s.id for s in sub]


def test_lookup_misses_when_a_sample_is_not_stored(stored):
    other = compute.load_dataset(DATASET, N + 20, 1)
    assert store.lookup(models.get(MODEL), other) is None


def test_lookup_misses_when_a_samples_content_changed(stored, data):
    samples = list(data)
    edited = [Sample(samples[0].id, smiles="CCO"), *samples[1:]]
    assert store.lookup(models.get(MODEL), Dataset(data.info, edited)) is None


def test_lookup_misses_when_the_model_version_differs(stored, data, monkeypatch):
    adapter = models.get(MODEL)
    monkeypatch.setattr(type(adapter), "version", property(lambda self: "another"))
    assert store.lookup(adapter, data) is None


def test_the_store_can_be_turned_off(stored, data, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_STORE", "0")
    assert store.lookup(models.get(MODEL), data) is None


def test_spot_check_passes_on_faithful_embeddings(stored):
    path, _ = stored
    assert store.spot_check(path, n_check=8) <= 1.0


def _tamper(path, row):
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    values = ds["embeddings"].values.copy()
    values[row, 0] += 0.5
    ds["embeddings"].values = values
    ds.to_netcdf(path, engine="h5netcdf")
    return str(ds["sample"].values[row])


def test_spot_check_names_the_model_and_the_sample_that_differs(stored):
    path, _ = stored
    sample = _tamper(path, 4)
    with pytest.raises(StoreMismatchError, match=f"{MODEL}.*{sample}"):
        store.spot_check(path, n_check=N)


def test_check_all_exits_nonzero_with_one_line_on_a_mismatch(stored, capsys):
    path, _ = stored
    _tamper(path, 0)
    assert store.main(["check", "--n-check", str(N)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: stored embeddings of morgan")


def test_a_corrupt_stored_file_is_reported_not_trusted(stored, data):
    path, _ = stored
    path.write_bytes(b"not netcdf")
    with pytest.raises(CorruptFileError, match="make embeddings"):
        store.lookup(models.get(MODEL), data)


def test_build_writes_missing_entries_and_skips_finished_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_STORE_DIR", str(tmp_path))
    entry = store.StoreEntry(DATASET, 12, 0, (MODEL,))
    first = store.build([entry], progress=False)
    assert [p.name for p in first] == ["last-none.nc"]
    assert store.build([entry], progress=False) == []


def test_embed_models_reads_the_store_before_extracting(stored, data, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("extracted although the store holds these embeddings")

    monkeypatch.setattr(models, "extract", boom)
    collection, skipped = compute.embed_models([MODEL], data)
    assert not skipped and collection[MODEL].shape == (N, 2048)
