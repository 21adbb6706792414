"""The command line: skeleton (issue 3); flags, output paths and messages checked before
any work (issue 10)."""

import subprocess
import sys

import numpy as np
import pytest

from matteralign.cli import SUBCOMMANDS, main
from matteralign.errors import ValidationError


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("models", "datasets", "embed", "align", "report"):
        assert name in out
    assert set(SUBCOMMANDS) == {"models", "datasets", "embed", "align", "report"}


def test_unknown_subcommand_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "invalid choice" in err


def test_bad_option_is_one_line_and_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["models", "--no-such-option"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_python_dash_m_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "matteralign", "--version"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("matteralign ")


# --------------------------------------------------------------------------- issue 10
@pytest.fixture(scope="module")
def qm9_embeddings(tmp_path_factory):
    """Real embeddings of 40 QM9 molecules by two descriptors, as `matteralign embed` writes
    them: ``{model: path}``."""
    from matteralign import io
    from matteralign.models.extract import extract

    root = tmp_path_factory.mktemp("emb")
    paths = {}
    for model in ("composition", "coulomb-eigen"):
        emb = extract(model, "qm9", n=40, seed=0, cache_dir=root / "cache", progress=False)
        paths[model] = io.save(emb, root / f"{model}.nc")
    return paths


@pytest.fixture
def no_computing(monkeypatch):
    """Fail the test if the alignment metrics or a dataset load start."""
    def refuse(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    import matteralign.metrics
    import matteralign.models  # noqa: F401  (both packages rebind these names to functions)

    monkeypatch.setattr(sys.modules["matteralign.metrics.align"], "align", refuse)
    monkeypatch.setattr(sys.modules["matteralign.models.extract"], "load_dataset", refuse)


@pytest.fixture
def three_molecules():
    """A registered dataset of three real molecules, removed afterwards."""
    from ase.build import molecule

    from matteralign import datasets
    from matteralign.datasets import DatasetInfo, Sample

    datasets.register(DatasetInfo("cli-three", "molecules", representations=("atoms",),
                                  shipped=False, version="1"),
                      lambda: [Sample(id=f"m:{n}", atoms=molecule(n)) for n in ("H2O", "CH4", "NH3")])
    yield "cli-three"
    datasets.unregister("cli-three")


def _one_error_line(capsys, command):
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith(f"matteralign {command}: error: "), err
    return err


def _align(paths, out, *extra):
    return main(["align", *map(str, paths), "--out", str(out), "--no-progress", *extra])


def test_align_out_that_is_a_folder_fails_before_computing(qm9_embeddings, tmp_path, capsys,
                                                          no_computing):
    assert _align(qm9_embeddings.values(), tmp_path) == 1
    assert "is a folder; give a file name" in _one_error_line(capsys, "align")


def test_align_out_under_a_file_fails_before_computing(qm9_embeddings, tmp_path, capsys,
                                                      no_computing):
    (tmp_path / "notes.txt").write_text("not a folder")
    assert _align(qm9_embeddings.values(), tmp_path / "notes.txt" / "t.nc") == 1
    assert "notes.txt is a file, not a folder" in _one_error_line(capsys, "align")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux")
def test_align_out_in_an_unwritable_folder_fails_before_computing(qm9_embeddings, capsys,
                                                                 no_computing):
    assert _align(qm9_embeddings.values(), "/proc/alignment.nc") == 1
    assert "cannot write --out /proc/alignment.nc" in _one_error_line(capsys, "align")


def test_align_neighbour_count_above_the_sample_count_names_the_flag_before_computing(
        qm9_embeddings, tmp_path, capsys, no_computing):
    assert _align(qm9_embeddings.values(), tmp_path / "t.nc", "--info-imbalance-k", "100") == 1
    err = _one_error_line(capsys, "align")
    assert "--info-imbalance-k 100 must be smaller than the number of samples (40)" in err


def test_align_non_positive_neighbour_count_is_a_usage_error(qm9_embeddings, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _align(qm9_embeddings.values(), tmp_path / "t.nc", "-k", "0")
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "-k/--k: must be at least 1" in err


def test_align_given_an_alignment_tensor_says_it_is_not_embeddings(qm9_embeddings, tmp_path,
                                                                   capsys):
    tensor = tmp_path / "t.nc"
    assert _align(qm9_embeddings.values(), tensor, "--metrics", "cka") == 0
    capsys.readouterr()
    assert _align([tensor, qm9_embeddings["composition"]], tmp_path / "t2.nc") == 1
    assert "t.nc is an alignment tensor" in _one_error_line(capsys, "align")


def _reordered(path, tmp_path):
    from matteralign import io

    emb = io.load(path)
    return io.save(emb.isel(sample=np.arange(emb.sizes["sample"])[::-1]), tmp_path / "rev.nc")


def test_align_samples_in_another_order_suggests_the_reorder_flag(qm9_embeddings, tmp_path,
                                                                  capsys):
    rev = _reordered(qm9_embeddings["coulomb-eigen"], tmp_path)
    assert _align([qm9_embeddings["composition"], rev], tmp_path / "t.nc") == 1
    err = _one_error_line(capsys, "align")
    assert "in a different order" in err and "add --reorder" in err
    assert "np.str_" not in err and "(row 0: 'qm9:" in err


def test_align_reorder_gives_the_tensor_of_inputs_in_the_same_order(qm9_embeddings, tmp_path):
    from matteralign import io

    rev = _reordered(qm9_embeddings["coulomb-eigen"], tmp_path)
    flags = ("--metrics", "cka", "mutual_knn", "-k", "5")
    assert _align(qm9_embeddings.values(), tmp_path / "same.nc", *flags) == 0
    assert _align([qm9_embeddings["composition"], rev], tmp_path / "re.nc", "--reorder", *flags) == 0
    same, re = io.load(tmp_path / "same.nc"), io.load(tmp_path / "re.nc")
    np.testing.assert_allclose(re.values, same.values, atol=1e-6)


def test_library_errors_print_sample_ids_without_numpy_reprs(qm9_embeddings):
    from matteralign import io
    from matteralign.metrics.align import align

    comp = io.load(qm9_embeddings["composition"])
    with pytest.raises(ValidationError) as exc:
        align([comp, comp.isel(sample=slice(None, None, -1)).rename("b").assign_attrs(model="b")],
              metrics=("cka",), progress=False)
    assert "np.str_" not in str(exc.value) and "'qm9:" in str(exc.value)


def test_embed_cache_dir_that_is_a_file_fails_before_loading_data(tmp_path, capsys, no_computing):
    (tmp_path / "cache").write_text("")
    assert main(["embed", "--model", "composition", "--dataset", "qm9",
                 "--cache-dir", str(tmp_path / "cache")]) == 1
    assert "is a file; give a folder" in _one_error_line(capsys, "embed")


def test_embed_missing_weights_file_fails_before_loading_data(tmp_path, capsys, no_computing):
    assert main(["embed", "--model", "composition", "--dataset", "qm9", "--cache-dir",
                 str(tmp_path), "--weights", str(tmp_path / "nope.pt")]) == 1
    assert "--weights" in _one_error_line(capsys, "embed")


def test_embed_non_positive_chunk_size_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["embed", "--model", "composition", "--dataset", "qm9", "--chunk-size", "0"])
    assert exc.value.code == 2
    assert "--chunk-size: must be at least 1" in capsys.readouterr().err


def test_embed_n_above_the_dataset_size_notes_how_many_it_embedded(three_molecules, tmp_path,
                                                                  capsys):
    assert main(["embed", "--model", "composition", "--dataset", three_molecules, "--n", "10",
                 "--cache-dir", str(tmp_path), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "note: dataset 'cli-three' has only 3 samples; --n 10 embeds all 3" in captured.err
    assert "3 samples x 94 features" in captured.out


def test_embed_unreachable_scheduler_is_one_line_within_seconds(tmp_path):
    import socket
    import time

    with socket.socket() as s:  # a port on this machine that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "matteralign", "embed", "--model", "composition",
                           "--dataset", "prototypes", "--n", "4", "--cache-dir", str(tmp_path),
                           "--no-progress", "--scheduler", f"tcp://127.0.0.1:{port}"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    err = proc.stderr.strip()
    assert err.count("\n") == 0, err
    assert err.startswith(f"matteralign embed: error: could not reach the Dask scheduler at "
                          f"tcp://127.0.0.1:{port}")
    assert time.monotonic() - start < 60  # 5 s connect timeout plus start-up (was 30 s + traceback)


def test_models_wide_prints_long_status_in_full(capsys):
    from matteralign.models import registry
    from matteralign.models.base import ModelInfo

    status = ("weights not found: download https://example.org/checkpoints/a-long-name.ckpt "
              "and put it in data/weights/user/a-long-name.ckpt")
    info = ModelInfo(name="user-far-away", modality="descriptor", family="user",
                     architecture="toy")
    registry.register(info, lambda: None, available=lambda: status)
    try:
        assert main(["models", "--modality", "descriptor"]) == 0
        cut = capsys.readouterr().out
        assert status not in cut and "--wide shows them in full" in cut
        assert main(["models", "--modality", "descriptor", "--wide"]) == 0
        assert status in capsys.readouterr().out
    finally:
        registry.unregister("user-far-away")
