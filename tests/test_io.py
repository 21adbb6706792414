"""netCDF round trips and atomic writes (issue 3)."""

import os

import numpy as np
import pytest
import xarray as xr

from matteralign import io
from matteralign.errors import CorruptFileError, MissingDataError
from matteralign.tensors import alignment_tensor, collect, embeddings


def _emb(model="m", d=3):
    return embeddings(np.arange(4 * d, dtype=float).reshape(4, d), ["a", "b", "c", "d"],
                      model=model, dataset="demo", layer="last", pooling="cumulants",
                      attrs={"random_weights": False, "extra": {"cutoff": 5.0}, "none": None})


def test_embeddings_round_trip_with_all_attrs(tmp_path):
    e = _emb()
    back = io.load(io.save(e, tmp_path / "e.nc"))
    xr.testing.assert_identical(back, e)
    assert back.attrs["random_weights"] is False and back.attrs["none"] is None
    assert back.attrs["extra"] == {"cutoff": 5.0}


def test_collection_round_trip(tmp_path):
    ds = collect([_emb("a"), _emb("b", d=2)])
    back = io.load(io.save(ds, tmp_path / "c.nc"))
    xr.testing.assert_identical(back, ds)


def test_alignment_tensor_round_trip_keeps_metadata_coords(tmp_path):
    t = alignment_tensor(np.random.default_rng(0).random((2, 2, 2)), metrics=["cknna", "dcor"],
                         models=["x", "y"],
                         metadata={"x": {"family": "MACE", "weights": True, "n_params": 1e6},
                                   "y": {"family": "Orb", "weights": False, "n_params": None}},
                         attrs={"k": 25, "estimator": "debiased", "metrics_params": {"dcor": {"bias_corrected": True}}})
    back = io.load(io.save(t, tmp_path / "t.nc"))
    xr.testing.assert_identical(back, t)
    assert back["weights_a"].dtype == bool


def test_interrupted_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "e.nc"
    io.save(_emb(), path)
    before = path.read_bytes()

    def boom(self, *args, **kwargs):
        with open(args[0], "wb") as fh:  # a partial file under the temporary name
            fh.write(b"\x89HDF half")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", boom)
    with pytest.raises(KeyboardInterrupt):
        io.save(_emb("other"), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["e.nc"]


def test_interrupted_first_write_leaves_no_file(tmp_path, monkeypatch):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError):
        io.save(_emb(), tmp_path / "new.nc")
    assert os.listdir(tmp_path) == []


def test_corrupt_file_gives_one_clear_error(tmp_path):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(b"this is not netcdf")
    with pytest.raises(CorruptFileError, match="bad.nc is not a readable netCDF file"):
        io.load(bad)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(MissingDataError, match="nope.nc"):
        io.load(tmp_path / "nope.nc")


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring the previous one afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_saved_files_get_the_mode_the_umask_allows(tmp_path, umask, mask, mode):
    umask(mask)
    path = io.save(_emb(), tmp_path / "e.nc")
    assert path.stat().st_mode & 0o777 == mode


def test_files_written_through_atomic_path_are_readable_by_others_under_umask_022(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "figure.svg"
    with io.atomic_path(target) as tmp:
        tmp.write_text("<svg/>")
    assert target.stat().st_mode & 0o777 == 0o644
