"""MLIP predictions in the verified store: round trip, lookup of subsets, spot checks naming
model and structure, corrupt files, resumable build. Real CHGNet 0.3.0 forward passes on three
mptrj-random structures."""

import numpy as np
import pytest
import xarray as xr

from matteralign import store, store_predictions
from matteralign.analysis import compute, performance
from matteralign.datasets.base import Dataset, Sample
from matteralign.errors import CorruptFileError, StoreMismatchError

pytest.importorskip("chgnet", reason="chgnet is an optional model package")

MODEL, DATASET, N = "chgnet-0.3.0", "mptrj-random", 3


@pytest.fixture(scope="module")
def data():
    return compute.load_dataset(DATASET, N, 0)


@pytest.fixture(scope="module")
def fresh(data):
    return performance.forward(MODEL, data)


@pytest.fixture()
def stored(tmp_path, data, fresh, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("MATTERALIGN_CACHE", str(tmp_path / "cache"))
    return store_predictions.save(fresh, list(data), n=N, seed=0)


def _rows_of(pred, sample_id):
    return np.asarray(pred["forces"].values)[np.asarray(pred["atom_sample"].values) == sample_id]


def test_stored_predictions_carry_provenance_and_float32_forces(stored):
    with xr.open_dataset(stored, engine="h5netcdf") as ds:
        assert ds["forces"].dtype == np.float32 and ds["energy"].dtype == np.float64
        attrs = dict(ds.attrs)
    for key in ("model", "model_version", "dataset", "dataset_version", "method", "store_n",
                "store_seed", "ids_digest", "content_digest", "package_versions"):
        assert key in attrs, key
    assert stored.parts[-3:] == (DATASET, "predictions", f"{MODEL}.nc")


def test_lookup_returns_the_stored_predictions(stored, data, fresh):
    got = store_predictions.lookup(MODEL, data)
    assert got is not None and got.attrs["stored"] == 1
    assert list(got["sample"].values) == [s.id for s in data]
    np.testing.assert_allclose(got["energy"].values, fresh["energy"].values, rtol=0, atol=1e-9)
    # CHGNet computes forces in float32, so float32 storage is exact; 1e-6 eV/Å stated anyway
    np.testing.assert_allclose(got["forces"].values, fresh["forces"].values, rtol=0, atol=1e-6)
    assert list(got["n_atoms"].values) == list(fresh["n_atoms"].values)


def test_lookup_serves_a_subset_in_the_requested_order(stored, data, fresh):
    sub = data.subset(2, 1)
    got = store_predictions.lookup(MODEL, sub)
    assert list(got["sample"].values) == [s.id for s in sub]
    for s in sub:
        np.testing.assert_allclose(_rows_of(got, s.id), _rows_of(fresh, s.id), rtol=0, atol=1e-6)
        assert len(_rows_of(got, s.id)) == len(s.atoms)


def test_lookup_misses_when_a_structure_is_not_stored(stored):
    assert store_predictions.lookup(MODEL, compute.load_dataset(DATASET, N + 2, 0)) is None


def test_lookup_misses_when_a_structures_content_changed(stored, data):
    samples = list(data)
    moved = samples[0].atoms.copy()
    moved.positions[0, 0] += 0.01
    edited = [Sample(samples[0].id, atoms=moved, labels=samples[0].labels), *samples[1:]]
    assert store_predictions.lookup(MODEL, Dataset(data.info, edited)) is None


def test_lookup_misses_another_model(stored, data):
    assert store_predictions.lookup("chgnet-0.2.0", data) is None


def test_predict_reads_the_store_before_computing(stored, data, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("computed although the store holds these predictions")

    monkeypatch.setattr(performance, "forward", boom)
    assert performance.predict(MODEL, data).attrs["stored"] == 1


def test_predict_computes_when_the_store_is_off(stored, data, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_STORE", "0")
    assert "stored" not in performance.predict(MODEL, data, use_cache=False).attrs


def test_spot_check_passes_on_faithful_predictions(stored):
    assert store_predictions.spot_check(stored, n_check=N) <= 1.0


def _tamper(path, variable, sample_index, delta):
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    sample = str(ds["sample"].values[sample_index])
    values = ds[variable].values.copy()
    if variable == "forces":
        values[int(ds["n_atoms"].values[:sample_index].sum()), 1] += delta
    else:
        values[sample_index] += delta
    ds[variable].values = values
    ds.to_netcdf(path, engine="h5netcdf")
    return sample


def test_spot_check_names_model_and_structure_when_a_force_differs(stored):
    sample = _tamper(stored, "forces", 1, 1e-3)  # 10x the 1e-4 eV/Å tolerance
    with pytest.raises(StoreMismatchError, match=f"{MODEL}.*{sample}"):
        store_predictions.spot_check(stored, n_check=N)


def test_spot_check_names_model_and_structure_when_an_energy_differs(stored):
    sample = _tamper(stored, "energy", 2, 0.05)
    with pytest.raises(StoreMismatchError, match=f"{MODEL}.*{sample}"):
        store_predictions.spot_check(stored, n_check=N)


def test_store_check_exits_nonzero_with_one_line_on_tampered_predictions(stored, capsys):
    _tamper(stored, "forces", 0, 0.01)
    assert store.main(["check", "--n-check-predictions", str(N)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: stored predictions of {MODEL}")


def test_a_corrupt_predictions_file_is_reported_not_trusted(stored, data):
    stored.write_bytes(b"not netcdf")
    with pytest.raises(CorruptFileError, match="make embeddings"):
        store_predictions.lookup(MODEL, data)
    with pytest.raises(CorruptFileError, match="predictions"):
        store_predictions.spot_check(stored)


def test_manifest_reads_a_predictions_entry_and_old_entries(tmp_path):
    (tmp_path / "manifest.json").write_text(
        '[{"dataset": "qm9", "n": 10, "models": ["chemnet"]},'
        ' {"dataset": "mptrj-random", "n": 3, "seed": 0, "models": [],'
        ' "predictions": ["chgnet-0.3.0"]}]')
    old, new = store.manifest(tmp_path)
    assert old.predictions == () and new.predictions == (MODEL,) and new.models == ()


def test_build_writes_missing_predictions_and_skips_finished_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_STORE_DIR", str(tmp_path))
    entry = store.StoreEntry(DATASET, 2, 0, (), predictions=(MODEL,))
    assert [p.name for p in store.build([entry], progress=False)] == [f"{MODEL}.nc"]
    assert store.build([entry], progress=False) == []
