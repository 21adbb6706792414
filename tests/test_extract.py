"""The extraction pipeline: cache keys, resumption, corrupt chunks, Dask, and `matteralign
embed` (issue "The model zoo")."""

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from ase.build import bulk, molecule

import matteralign.datasets as datasets_pkg
from matteralign import io, models
from matteralign.cli import main
from matteralign.datasets.base import Dataset, DatasetInfo, Sample
from matteralign.errors import CorruptFileError, ValidationError
from matteralign.models import ModelAdapter, ModelInfo, extract, extract_many, registry
from matteralign.models.extract import FINAL, CacheWarning, cache_path, samples_digest

MOLECULES = ["H2O", "CH4", "NH3", "C2H6", "CH3OH", "HCN", "CO2"]


@pytest.fixture
def mols():
    return Dataset(DatasetInfo("mols", "molecules", version="2"),
                   [Sample(f"m{i}-{f}", atoms=molecule(f)) for i, f in enumerate(MOLECULES)])


class Counting(ModelAdapter):
    """Composition rows, counting calls; optionally failing after ``fail_after`` calls."""

    def __init__(self, fail_after=None, version="1"):
        self.info = ModelInfo(name="counting", modality="descriptor", family="test",
                              architecture="toy", version=version, layers=("a", "b"))
        self.calls = 0
        self.fail_after = fail_after
        self.default_batch_size = 1

    def atom_features(self, samples, layer="last", device="cpu"):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt("simulated interruption")
        self.calls += 1
        return [np.eye(94)[s.atoms.numbers - 1] * (2.0 if layer == "b" else 1.0) for s in samples]


def _chunks(folder):
    return sorted(p.name for p in folder.glob("chunk-*.nc"))


def test_result_is_cached_and_a_second_call_does_not_run_the_model(mols, tmp_path):
    m = Counting()
    first = extract(m, mols, cache_dir=tmp_path, chunk_size=3, progress=False)
    calls = m.calls
    again = extract(m, mols, cache_dir=tmp_path, chunk_size=3, progress=False)
    assert m.calls == calls == len(mols)
    xr.testing.assert_identical(first, again)
    files = list(tmp_path.rglob(FINAL))
    assert len(files) == 1 and files[0].is_relative_to(tmp_path / "mols" / "counting")
    assert _chunks(files[0].parent) == []  # chunks are dropped once assembled


def test_cached_result_equals_direct_embedding(mols, tmp_path):
    direct = models.get("composition").embed(mols, progress=False)
    cached = extract("composition", mols, cache_dir=tmp_path, chunk_size=2, progress=False)
    np.testing.assert_array_equal(direct.values, cached.values)
    assert cached["sample"].values.tolist() == mols.ids
    assert cached.attrs["model"] == "composition" and cached.attrs["pooling"] == "mean"


@pytest.mark.parametrize("change", ["model", "dataset", "layer", "pooling", "model_version",
                                    "dataset_version", "subset", "content"])
def test_cache_key_changes_with_every_ingredient(change):
    base = dict(cache_dir="c", model="m", dataset="d", layer="last", pooling="mean",
                model_version="1", dataset_version="1", ids=["a", "b", "c"], content="0123456789")
    other = dict(base)
    other[change if change != "subset" else "ids"] = {"model": "m2", "dataset": "d2", "layer": "l0",
                                                      "pooling": "max", "model_version": "2",
                                                      "dataset_version": "2",
                                                      "subset": ["a", "c", "b"],
                                                      "content": "abcdef0123"}[change]
    assert cache_path(**base) != cache_path(**other)


def test_interrupted_run_resumes_from_finished_chunks(mols, tmp_path):
    m = Counting(fail_after=4)
    with pytest.raises(KeyboardInterrupt):
        extract(m, mols, cache_dir=tmp_path, chunk_size=2, batch_size=1, progress=False)
    folder = next((tmp_path / "mols" / "counting").iterdir())
    assert _chunks(folder) == ["chunk-00000.nc", "chunk-00001.nc"]
    m.fail_after, m.calls = None, 0
    emb = extract(m, mols, cache_dir=tmp_path, chunk_size=2, batch_size=1, progress=False)
    assert m.calls == len(mols) - 4
    expected = Counting().embed(mols, progress=False)
    np.testing.assert_array_equal(emb.values, expected.values)


def test_half_written_chunk_is_never_trusted(mols, tmp_path):
    m = Counting(fail_after=4)
    with pytest.raises(KeyboardInterrupt):
        extract(m, mols, cache_dir=tmp_path, chunk_size=2, batch_size=1, progress=False)
    folder = next((tmp_path / "mols" / "counting").iterdir())
    (folder / "chunk-00001.nc").write_bytes(b"\x89HDF\r\n truncated")
    m.fail_after, m.calls = None, 0
    with pytest.warns(CacheWarning, match="chunk-00001.nc"):
        emb = extract(m, mols, cache_dir=tmp_path, chunk_size=2, batch_size=1, progress=False)
    assert m.calls == len(mols) - 2
    np.testing.assert_array_equal(emb.values, Counting().embed(mols, progress=False).values)


def test_chunk_holding_other_samples_is_recomputed(mols, tmp_path):
    m = Counting()
    extract(m, mols, cache_dir=tmp_path, chunk_size=2, progress=False)
    folder = next((tmp_path / "mols" / "counting").iterdir())
    final = io.load(folder / FINAL)
    (folder / FINAL).unlink()
    io.save(final.isel(sample=[2, 3]), folder / "chunk-00000.nc")  # ids of chunk 1 in chunk 0
    m.calls = 0
    with pytest.warns(CacheWarning, match="other samples"):
        emb = extract(m, mols, cache_dir=tmp_path, chunk_size=2, progress=False)
    assert m.calls == len(mols)
    np.testing.assert_array_equal(emb.values, final.values)


def test_corrupt_final_file_is_recomputed(mols, tmp_path):
    m = Counting()
    extract(m, mols, cache_dir=tmp_path, progress=False)
    final = next(tmp_path.rglob(FINAL))
    final.write_bytes(b"garbage")
    with pytest.raises(CorruptFileError):
        io.load(final)
    with pytest.warns(CacheWarning):
        extract(m, mols, cache_dir=tmp_path, progress=False)
    assert m.calls == 2 * len(mols)


def test_temporary_files_of_dead_processes_are_removed(mols, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    m = Counting()
    folder = cache_path(tmp_path, "counting", "mols", "b", "mean", m.version, "2", mols.ids,
                        content=samples_digest(list(mols)))
    folder.mkdir(parents=True)
    stale = folder / f".chunk-00000.nc.abc.tmp-{int(dead.stdout)}"
    live = folder / f".chunk-00001.nc.abc.tmp-{os.getpid()}"
    stale.write_bytes(b"half")
    live.write_bytes(b"in progress")
    extract(m, mols, cache_dir=tmp_path, progress=False)
    assert not stale.exists() and live.exists()


def test_new_model_version_does_not_reuse_old_cache(mols, tmp_path):
    extract(Counting(version="1"), mols, cache_dir=tmp_path, progress=False)
    m2 = Counting(version="2")
    extract(m2, mols, cache_dir=tmp_path, progress=False)
    assert m2.calls == len(mols)
    assert len(list(tmp_path.rglob(FINAL))) == 2


def test_subset_is_taken_before_extraction(mols, tmp_path):
    emb = extract("composition", mols, n=3, seed=1, cache_dir=tmp_path, progress=False)
    assert emb["sample"].values.tolist() == mols.subset(3, 1).ids


def test_layer_and_pooling_are_validated_before_any_work(mols, tmp_path):
    with pytest.raises(ValidationError, match="valid layers: a, b"):
        extract(Counting(), mols, layer="c", cache_dir=tmp_path)
    with pytest.raises(ValidationError, match="pooling 'none'"):
        extract("mbtr", mols, pooling="mean", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_scheduler_and_workers_are_exclusive(mols, tmp_path):
    with pytest.raises(ValidationError, match="not both"):
        extract("composition", mols, scheduler="tcp://x:1", workers=2, cache_dir=tmp_path)


def test_extract_many_collects_models_with_their_default_pooling(mols, tmp_path):
    ds = extract_many(["composition", "coulomb-eigen"], mols, cache_dir=tmp_path, progress=False)
    assert isinstance(ds, xr.Dataset)
    assert set(ds.data_vars) == {"composition", "coulomb-eigen"}
    assert ds["coulomb-eigen"].attrs["pooling"] == "none"
    assert ds.sizes["feature_composition"] == 94


@pytest.mark.slow
def test_dask_cluster_gives_identical_results_and_loads_each_model_once_per_worker(tmp_path):
    from distributed import Client, LocalCluster

    structures = [Sample(f"c{i}", atoms=bulk(el, a=a)) for i, (el, a) in
                  enumerate([("Cu", 3.6), ("Al", 4.05), ("Ni", 3.52), ("Ag", 4.09), ("Au", 4.08), ("Pd", 3.89)])]
    structures += [Sample(f"m{i}", atoms=molecule(f)) for i, f in enumerate(MOLECULES)]
    ds = Dataset(DatasetInfo("mixed", "materials", version="1"), structures)
    single = extract("soap", ds, cache_dir=tmp_path / "one", progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        parallel = extract("soap", ds, cache_dir=tmp_path / "two", chunk_size=2, client=client, progress=False)
        by_address = extract("soap", ds, cache_dir=tmp_path / "three", chunk_size=3,
                             scheduler=cluster.scheduler_address, progress=False)
        loads = client.run(lambda: dict(__import__("matteralign.models.extract", fromlist=["x"]).WORKER_LOADS))
    # other processes and batches: SOAP floats equal up to summation order (rtol 1e-6)
    np.testing.assert_allclose(single.values, parallel.values, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(single.values, by_address.values, rtol=1e-6, atol=1e-9)
    assert single["sample"].values.tolist() == parallel["sample"].values.tolist()
    per_worker = [sum(v.values()) for v in loads.values()]
    assert sum(per_worker) >= 1 and max(per_worker) == 1  # 7 + 5 chunks, one load per worker


def test_user_model_runs_on_threaded_workers(mols, tmp_path):
    def ones(atoms):
        return np.ones((len(atoms), 3))

    registry.register_callable("user-ones", ones, replace=True)
    try:
        emb = extract("user-ones", mols, cache_dir=tmp_path, chunk_size=3, workers=2, processes=False,
                      progress=False)
    finally:
        registry.unregister("user-ones")
    np.testing.assert_array_equal(emb.values, np.ones((len(mols), 3)))


# --------------------------------------------------------------------------- content in the key
AU = 79 - 1  # column of gold in the composition vector


def _crystals(folder, symbols=None):
    """Write NaCl and Si to ``folder/crystals.extxyz`` (every atom replaced by ``symbols``)."""
    from ase.io import write

    structures = [bulk("NaCl", "rocksalt", a=5.6), bulk("Si")]
    for atoms in structures:
        if symbols:
            atoms.set_chemical_symbols([symbols] * len(atoms))
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "crystals.extxyz", structures)
    return folder


def test_editing_a_file_in_place_recomputes_its_embeddings(tmp_path):
    data = _crystals(tmp_path / "crystals")
    before = extract("composition", f"file:{data}", cache_dir=tmp_path / "cache", progress=False)
    _crystals(data, symbols="Au")  # same folder, same file name, same ids
    after = extract("composition", f"file:{data}", cache_dir=tmp_path / "cache", progress=False)
    assert after["sample"].values.tolist() == before["sample"].values.tolist()
    np.testing.assert_allclose(before.values[:, AU], 0.0)
    np.testing.assert_allclose(after.values[:, AU], 1.0)


def test_another_folder_with_the_same_file_names_gets_its_own_embeddings(tmp_path):
    salt = extract("composition", f"file:{_crystals(tmp_path / 'a' / 'data')}",
                   cache_dir=tmp_path / "cache", progress=False)
    gold = extract("composition", f"file:{_crystals(tmp_path / 'b' / 'data', 'Au')}",
                   cache_dir=tmp_path / "cache", progress=False)
    assert salt["sample"].values.tolist() == gold["sample"].values.tolist()
    np.testing.assert_allclose(gold.values[:, AU], 1.0)
    assert len(list((tmp_path / "cache").rglob(FINAL))) == 2


def test_files_read_again_unchanged_reuse_the_cache(tmp_path):
    data = _crystals(tmp_path / "crystals")
    m = Counting()
    first = extract(m, datasets_pkg.from_folder(data), cache_dir=tmp_path / "cache", progress=False)
    again = extract(m, datasets_pkg.from_folder(data), cache_dir=tmp_path / "cache", progress=False)
    assert m.calls == 2  # one per structure, all in the first call
    xr.testing.assert_identical(first, again)


def test_chunk_computed_from_other_content_is_recomputed(mols, tmp_path):
    m = Counting(fail_after=4)
    with pytest.raises(KeyboardInterrupt):
        extract(m, mols, cache_dir=tmp_path, chunk_size=2, batch_size=1, progress=False)
    chunk = next((tmp_path / "mols" / "counting").iterdir()) / "chunk-00000.nc"
    stale = io.load(chunk)
    stale.attrs["content_digest"] = "0123456789"  # as if written from other structures
    io.save(stale, chunk)
    m.fail_after, m.calls = None, 0
    with pytest.warns(CacheWarning, match="chunk-00000.nc was computed from other sample content"):
        emb = extract(m, mols, cache_dir=tmp_path, chunk_size=2, batch_size=1, progress=False)
    assert m.calls == len(mols) - 2  # only chunk 1 was kept
    np.testing.assert_array_equal(emb.values, Counting().embed(mols, progress=False).values)


def test_result_records_the_content_digest_its_cache_folder_is_named_by(mols, tmp_path):
    emb = extract("composition", mols, cache_dir=tmp_path, progress=False)
    assert emb.attrs["content_digest"] == samples_digest(list(mols))
    folder = cache_path(tmp_path, "composition", "mols", emb.attrs["layer"], "mean",
                        emb.attrs["model_version"], "2", mols.ids, content=emb.attrs["content_digest"])
    assert (folder / FINAL).is_file()


def test_cache_warning_says_in_one_line_that_the_file_was_discarded_and_is_recomputed(mols,
                                                                                      tmp_path):
    extract(Counting(), mols, cache_dir=tmp_path, progress=False)
    final = next(tmp_path.rglob(FINAL))
    final.write_bytes(b"garbage")
    with pytest.warns(CacheWarning) as record:
        extract(Counting(), mols, cache_dir=tmp_path, progress=False)
    message = str(record[0].message)
    assert message.startswith(f"cached {final} is unreadable (")
    assert message.endswith(": discarded, recomputing it")
    assert "delete it" not in message and "\n" not in message


def test_progress_bar_moves_after_every_batch(mols, tmp_path, monkeypatch):
    steps = []

    class Bar:
        def update(self, n):
            steps.append(n)

        def close(self):
            pass

    pipeline = importlib.import_module("matteralign.models.extract")
    monkeypatch.setattr(pipeline, "_progress", lambda total, desc, enabled: Bar())
    extract(Counting(), mols, cache_dir=tmp_path, batch_size=2, progress=True)  # one chunk of 7
    assert [n for n in steps if n] == [2, 2, 2, 1]


def test_batch_size_must_be_positive(mols, tmp_path):
    with pytest.raises(ValidationError, match="batch_size must be positive; got -1"):
        extract(Counting(), mols, cache_dir=tmp_path, batch_size=-1, progress=False)


# --------------------------------------------------------------------------- CLI
@pytest.fixture
def shipped(monkeypatch, mols):
    """`matteralign.datasets.load` answering 'mols' with the molecules fixture."""

    def load(name, n=None, seed=0):
        if name != "mols":
            from matteralign.errors import unknown_name

            raise unknown_name("dataset", name, ["mols"])
        return mols.subset(n, seed)

    monkeypatch.setattr(datasets_pkg, "load", load, raising=False)
    return mols


def test_cli_embed_caches_and_reports_the_file(shipped, tmp_path, capsys):
    code = main(["embed", "--model", "composition", "--model", "coulomb-eigen", "--dataset", "mols",
                 "--cache-dir", str(tmp_path), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "mols / composition: 7 samples x 94 features" in out and "mols / coulomb-eigen: 7 samples x 350" in out
    assert len(list(tmp_path.rglob(FINAL))) == 2
    for line in out.splitlines():
        assert os.path.exists(line.split("-> ")[1])


def test_cli_embed_all_offline_picks_models_that_apply_to_the_domain(shipped, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(registry, "offline_names",
                        lambda domain=None: [n for n in ("composition", "mbtr", "morgan")
                                             if not models.info(n).domains or domain in models.info(n).domains])
    code = main(["embed", "--model", "all-offline", "--dataset", "mols", "--n", "3",
                 "--cache-dir", str(tmp_path), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert all(f"mols / {n}: 3 samples" in out for n in ("composition", "mbtr", "morgan"))


def test_cli_embed_all_shipped_runs_every_shipped_dataset_and_reports_failures(monkeypatch, mols, tmp_path,
                                                                               capsys):
    crystals = Dataset(DatasetInfo("xtals", "materials", version="1"),
                       [Sample("cu", atoms=bulk("Cu", a=3.6)), Sample("al", atoms=bulk("Al", a=4.05))])
    infos = {"mols": mols.info, "xtals": crystals.info,
             "remote": DatasetInfo("remote", "materials", shipped=False),
             "broken": DatasetInfo("broken", "materials", shipped=True)}

    def load(name, n=None, seed=0):
        if name == "broken":
            from matteralign.errors import MissingDataError

            raise MissingDataError("broken.xyz not found")
        return {"mols": mols, "xtals": crystals}[name].subset(n, seed)

    monkeypatch.setattr(datasets_pkg, "load", load, raising=False)
    monkeypatch.setattr(datasets_pkg, "names", lambda: list(infos), raising=False)
    monkeypatch.setattr(datasets_pkg, "info", infos.__getitem__, raising=False)
    code = main(["embed", "--model", "composition", "--dataset", "all-shipped", "--cache-dir", str(tmp_path),
                 "--no-progress"])
    captured = capsys.readouterr()
    assert code == 1 and "broken: error: broken.xyz not found" in captured.err
    assert "mols / composition: 7 samples" in captured.out and "xtals / composition: 2 samples" in captured.out
    assert "remote" not in captured.out + captured.err


def test_offline_names_respect_domain():
    materials = registry.offline_names(domain="materials")
    assert "soap" in materials and "composition" in materials
    assert "morgan" not in materials and "coulomb-eigen" not in materials


def test_cli_embed_unknown_model_is_one_line_exit_1(shipped, tmp_path, capsys):
    assert main(["embed", "--model", "nope", "--dataset", "mols", "--cache-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown model 'nope'" in err


def test_cli_embed_continues_past_a_failing_model_and_exits_1(shipped, tmp_path, capsys):
    code = main(["embed", "--model", "mbtr", "--model", "composition", "--dataset", "mols",
                 "--pooling", "mean", "--cache-dir", str(tmp_path), "--no-progress"])
    assert code == 1
    captured = capsys.readouterr()
    assert "mols / composition: 7 samples" in captured.out
    assert "mols / mbtr: error" in captured.err


def test_cli_weights_need_exactly_one_model(shipped, tmp_path, capsys):
    code = main(["embed", "--model", "soap", "--model", "acsf", "--dataset", "mols",
                 "--weights", __file__, "--cache-dir", str(tmp_path)])
    assert code == 1 and "exactly one --model" in capsys.readouterr().err
