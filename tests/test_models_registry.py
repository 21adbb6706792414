"""The model registry, the adapter interface (layers, pooling, validation, per-atom output)
and `matteralign models` (issue "The model zoo")."""

import dataclasses
import json
import sys
import textwrap
import warnings

import numpy as np
import pytest
from ase.build import bulk, molecule

from matteralign import models
from matteralign.cli import main
from matteralign.datasets.base import Dataset, DatasetInfo, Sample
from matteralign.errors import MissingWeightsError, UnknownNameError, ValidationError
from matteralign.models import ModelAdapter, ModelInfo, registry

DESCRIPTORS = ["acsf", "composition", "coulomb-eigen", "mbtr", "morgan", "rdkit-2d", "soap"]


@pytest.fixture
def water_methane():
    return Dataset(DatasetInfo("wm", "molecules", version="1"),
                   [Sample("water", atoms=molecule("H2O"), smiles="O"),
                    Sample("methane", atoms=molecule("CH4"), smiles="C")])


@pytest.fixture
def scratch_names():
    """Names registered by a test, removed afterwards."""
    made: list[str] = []
    yield made
    for name in made:
        if name in registry.names():
            registry.unregister(name)


class NAtoms(ModelAdapter):
    """A tiny user model: per-atom rows (Z, 1)."""

    def __init__(self, name="user-z"):
        self.info = ModelInfo(name=name, modality="descriptor", family="user", architecture="toy",
                              layers=("first", "second"), version="1")

    def atom_features(self, samples, layer="last", device="cpu"):
        scale = 1.0 if layer == "first" else 2.0
        return [np.c_[s.atoms.numbers * scale, np.ones(len(s.atoms))] for s in samples]


# --------------------------------------------------------------------------- listing
def test_every_fixed_descriptor_is_registered():
    assert set(DESCRIPTORS) <= set(models.names())


def test_names_are_sorted_and_filter_by_modality():
    assert models.names() == sorted(models.names())
    assert set(DESCRIPTORS) <= set(models.names("descriptor"))
    assert all(models.info(n).modality == "descriptor" for n in models.names("descriptor"))


def test_available_is_a_dataframe_of_metadata_and_availability():
    table = models.available()
    assert table.index.name == "name"
    assert list(table.index) == models.names()
    for column in ("modality", "family", "architecture", "training_data", "n_params", "performance",
                   "layers", "random_weights", "weights_here", "status"):
        assert column in table.columns
    for name in DESCRIPTORS:
        assert bool(table.loc[name, "weights_here"]) is True
        assert table.loc[name, "architecture"] == "fixed-descriptor"
        assert not table.loc[name, "random_weights"]


def test_unknown_model_name_suggests_close_matches():
    with pytest.raises(UnknownNameError, match=r"unknown model 'saop'.*Did you mean 'soap'"):
        models.get("saop")


def test_get_returns_one_cached_instance():
    assert models.get("composition") is models.get("composition")


def test_get_rejects_weights_for_a_model_without_any():
    with pytest.raises(ValidationError, match="does not accept"):
        registry.get("composition", weights=__file__)


def test_missing_weights_file_is_a_missing_weights_error(tmp_path):
    with pytest.raises(MissingWeightsError, match="does not exist"):
        registry._weights_tag(tmp_path / "nope.pt")


def test_availability_check_that_crashes_is_reported_not_raised(scratch_names):
    def broken():
        raise RuntimeError("disk on fire")

    registry.register(NAtoms("user-broken-check").info, NAtoms, available=broken)
    scratch_names.append("user-broken-check")
    here, status = registry.availability("user-broken-check")
    assert not here and "disk on fire" in status


# --------------------------------------------------------------------------- registration
def test_registering_a_different_model_under_a_taken_name_needs_replace(scratch_names):
    registry.register(NAtoms().info, NAtoms)
    scratch_names.append("user-z")
    changed = dataclasses.replace(NAtoms().info, family="other")
    with pytest.raises(ValidationError, match="already registered with a different definition"):
        registry.register(changed, NAtoms)
    registry.register(changed, NAtoms, replace=True)
    assert models.info("user-z").family == "other"


# The same cell run twice in a notebook: a new but identical function and class each time.
_CELL = """
import numpy as np
from matteralign.models import ModelAdapter, ModelInfo

def features(atoms):
    return np.ones((len(atoms), SCALE))

class Counted(ModelAdapter):
    def __init__(self):
        super().__init__()
        self.info = ModelInfo(name="user-cell-class", modality="descriptor", family="user",
                              architecture="toy", version="1")

    def atom_features(self, samples, layer="last", device="cpu"):
        return [np.ones((len(s.atoms), SCALE)) for s in samples]
"""


def _run_cell(scale=1):
    namespace = {"SCALE": scale}
    exec(compile(_CELL.replace("SCALE", str(scale)), "<cell 3>", "exec"), namespace)
    return namespace


def test_rerunning_a_register_callable_cell_is_a_no_op(scratch_names):
    models.register_callable("user-cell", _run_cell()["features"], family="demo")
    scratch_names.append("user-cell")
    models.register_callable("user-cell", _run_cell()["features"], family="demo")
    assert models.info("user-cell").family == "demo"


def test_register_callable_with_a_changed_function_still_needs_replace(scratch_names):
    models.register_callable("user-cell", _run_cell(1)["features"], family="demo")
    scratch_names.append("user-cell")
    with pytest.raises(ValidationError, match="already registered"):
        models.register_callable("user-cell", _run_cell(2)["features"], family="demo")


def test_register_callable_with_changed_metadata_still_needs_replace(scratch_names):
    models.register_callable("user-cell", _run_cell()["features"], family="demo")
    scratch_names.append("user-cell")
    with pytest.raises(ValidationError, match="already registered"):
        models.register_callable("user-cell", _run_cell()["features"], family="other")


def test_rerunning_a_cell_that_registers_a_class_is_a_no_op(scratch_names):
    first = _run_cell()["Counted"]
    registry.register(first().info, first)
    scratch_names.append("user-cell-class")
    again = _run_cell()["Counted"]
    registry.register(again().info, again)
    assert registry.entry("user-cell-class").factory is first


_DATASET_CELL = """
from ase.build import molecule
from matteralign.datasets import DatasetInfo, Sample, register

def loader():
    return [Sample(id=f"cell:{name}", atoms=molecule(name)) for name in NAMES]

register(DatasetInfo("user-cell-data", "molecules", shipped=False, version="1"), loader)
"""


def _run_dataset_cell(names=("H2O", "CH4")):
    exec(compile(_DATASET_CELL.replace("NAMES", repr(names)), "<cell 4>", "exec"), {})


@pytest.fixture
def dataset_cell():
    from matteralign import datasets

    yield datasets
    if "user-cell-data" in datasets.names():
        datasets.unregister("user-cell-data")


def test_rerunning_a_dataset_registration_cell_is_a_no_op(dataset_cell):
    _run_dataset_cell()
    _run_dataset_cell()
    assert dataset_cell.load("user-cell-data").ids == ["cell:H2O", "cell:CH4"]


def test_registering_a_different_dataset_under_a_taken_name_still_errors(dataset_cell):
    _run_dataset_cell()
    with pytest.raises(ValidationError, match="already registered with a different definition"):
        _run_dataset_cell(("NH3",))


def test_per_atom_callable_with_the_wrong_number_of_rows_names_the_sample(scratch_names,
                                                                          water_methane):
    models.register_callable("user-rows", lambda atoms: np.ones((2, 3)))
    scratch_names.append("user-rows")
    with pytest.raises(ValidationError, match=r"shape \(2, 3\) for sample 'water', which has 3 "
                                              r"atoms.*one row per atom"):
        models.get("user-rows").embed(water_methane, progress=False)


def test_per_structure_callable_returning_several_rows_names_the_sample(scratch_names,
                                                                        water_methane):
    models.register_callable("user-rows", lambda atoms: np.ones((len(atoms), 3)), per_atom=False)
    scratch_names.append("user-rows")
    with pytest.raises(ValidationError, match=r"for sample 'water'; with per_atom=False"):
        models.get("user-rows").embed(water_methane, progress=False)


def test_exception_inside_a_user_function_names_the_model_and_sample(scratch_names,
                                                                     water_methane):
    def picky(atoms):
        if len(atoms) > 3:
            raise KeyError("no parameters for carbon")
        return np.ones((len(atoms), 1))

    models.register_callable("user-picky", picky)
    scratch_names.append("user-picky")
    with pytest.raises(ValidationError, match=r"model 'user-picky' failed on sample 'methane': "
                                              r"KeyError: 'no parameters for carbon'") as exc:
        models.get("user-picky").embed(water_methane, progress=False)
    assert "\n" not in str(exc.value)


def test_user_class_appears_in_listing_and_cli(scratch_names, capsys):
    registry.register(NAtoms().info, NAtoms)
    scratch_names.append("user-z")
    assert "user-z" in models.available().index
    assert main(["models"]) == 0
    assert "user-z" in capsys.readouterr().out


def test_registered_callable_per_atom_is_pooled(scratch_names, water_methane):
    models.register_callable("user-count", lambda atoms: np.ones((len(atoms), 1)), family="demo")
    scratch_names.append("user-count")
    emb = models.get("user-count").embed(water_methane, pooling="sum", progress=False)
    assert emb.sel(sample="water").values.tolist() == [3.0]
    assert emb.sel(sample="methane").values.tolist() == [5.0]


def test_registered_callable_per_structure_reads_smiles(scratch_names, water_methane):
    models.register_callable("user-len", lambda smi: np.array([len(smi)], float), input="smiles",
                             per_atom=False)
    scratch_names.append("user-len")
    emb = models.get("user-len").embed(water_methane, progress=False)
    assert emb.attrs["pooling"] == "none" and emb.values.ravel().tolist() == [1.0, 1.0]


def test_discovery_calls_register_of_every_plugin_module(tmp_path, monkeypatch, scratch_names):
    pkg = tmp_path / "plugpkg_ok"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text(textwrap.dedent("""
        import numpy as np
        def register(registry):
            registry.register_callable("user-plugin", lambda a: np.ones((len(a), 2)))
    """))
    (pkg / "helper.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugpkg_ok

    scratch_names.append("user-plugin")
    assert registry.discover(plugpkg_ok) == ["plugpkg_ok.good"]
    assert "user-plugin" in models.names()


def test_discovery_skips_a_plugin_whose_optional_package_is_missing_with_a_warning(tmp_path, monkeypatch):
    pkg = tmp_path / "plugpkg_opt"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "needs_pkg.py").write_text("import not_a_real_package_xyz\ndef register(registry):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugpkg_opt

    with pytest.warns(UserWarning, match="not_a_real_package_xyz"):
        assert registry.discover(plugpkg_opt) == []
    assert "plugpkg_opt.needs_pkg" in registry.discovery_problems()
    registry._PROBLEMS.pop("plugpkg_opt.needs_pkg")


def test_discovery_raises_for_a_broken_plugin(tmp_path, monkeypatch):
    pkg = tmp_path / "plugpkg_bad"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "broken.py").write_text("raise RuntimeError('adapter bug')\n")
    (pkg / "internal.py").write_text("import plugpkg_bad.no_such_module\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import plugpkg_bad

    with pytest.raises(RuntimeError, match="adapter bug"):
        registry.discover(plugpkg_bad)
    sys.modules.pop("plugpkg_bad.broken", None)
    with pytest.raises(ModuleNotFoundError):
        registry.discover(plugpkg_bad, skip={"broken"})


def test_builtin_discovery_has_no_problems():
    builtin = {k: v for k, v in models.discovery_problems().items() if k.startswith("matteralign.")}
    assert builtin == {}


# --------------------------------------------------------------------------- adapter interface
def test_layer_is_selectable_and_last_is_deepest(water_methane):
    m = NAtoms()
    first = m.embed(water_methane, layer="first", progress=False)
    last = m.embed(water_methane, progress=False)
    assert last.attrs["layer"] == "second" and first.attrs["layer"] == "first"
    np.testing.assert_allclose(last.values[:, 0], 2 * first.values[:, 0])
    assert m.embed(water_methane, layer=0, progress=False).attrs["layer"] == "first"


def test_unknown_layer_lists_the_valid_ones(water_methane):
    with pytest.raises(ValidationError, match="no layer 'third'; valid layers: first, second"):
        NAtoms().embed(water_methane, layer="third")


def test_poolings_of_an_atom_model(water_methane):
    m = NAtoms()
    z_water = np.array([8.0, 1.0, 1.0]) * 2
    mean = m.embed(water_methane, pooling="mean", progress=False).sel(sample="water").values
    total = m.embed(water_methane, pooling="sum", progress=False).sel(sample="water").values
    peak = m.embed(water_methane, pooling="max", progress=False).sel(sample="water").values
    cum = m.embed(water_methane, pooling="cumulants", progress=False)
    np.testing.assert_allclose(mean, [z_water.mean(), 1.0])
    np.testing.assert_allclose(total, [z_water.sum(), 3.0])
    np.testing.assert_allclose(peak, [16.0, 1.0])
    assert cum.sizes["feature"] == 4
    np.testing.assert_allclose(cum.sel(sample="water").values, [z_water.mean(), 1.0, z_water.var(), 0.0])


def test_unknown_pooling_is_rejected(water_methane):
    with pytest.raises(ValidationError, match="unknown pooling 'median'"):
        NAtoms().embed(water_methane, pooling="median")


def test_structure_level_model_rejects_atom_poolings(water_methane):
    with pytest.raises(ValidationError, match="one vector per structure.*pooling 'none'"):
        models.get("morgan").embed(water_methane, pooling="mean")


def test_sample_without_the_models_input_is_named(water_methane):
    no_atoms = Dataset(DatasetInfo("s", "molecules"), [Sample("only-smiles", smiles="CCO")])
    with pytest.raises(ValidationError, match="sample 'only-smiles' has no 'atoms'"):
        NAtoms().embed(no_atoms)


def test_embeddings_carry_provenance(water_methane):
    emb = models.get("composition").embed(water_methane, progress=False)
    assert emb.dims == ("sample", "feature")
    assert emb["sample"].values.tolist() == ["water", "methane"]
    for key, value in {"model": "composition", "dataset": "wm", "dataset_version": "1",
                       "layer": "last", "pooling": "mean", "modality": "descriptor",
                       "architecture": "fixed-descriptor", "random_weights": False}.items():
        assert emb.attrs[key] == value
    assert emb.attrs["model_version"]


def test_embed_accepts_a_plain_list_of_atoms():
    emb = models.get("composition").embed([molecule("H2O"), bulk("Si")], progress=False)
    assert emb["sample"].values.tolist() == ["0", "1"]


def test_embed_atoms_labels_each_atom_with_its_sample_and_element(water_methane):
    atoms = models.get("composition").embed_atoms(water_methane, progress=False)
    assert atoms.dims == ("atom", "feature") and atoms.sizes["atom"] == 8
    assert atoms["sample"].values.tolist() == ["water"] * 3 + ["methane"] * 5
    assert atoms["element"].values.tolist()[:3] == ["O", "H", "H"]
    pooled = models.get("composition").embed(water_methane, progress=False)
    per_sample = atoms.groupby("sample").mean().sel(sample=["water", "methane"])
    np.testing.assert_allclose(per_sample.values, pooled.values)


def test_embed_atoms_is_refused_for_structure_level_models(water_methane):
    with pytest.raises(ValidationError, match="no per-atom features"):
        models.get("mbtr").embed_atoms(water_methane)


def test_cuda_device_without_cuda_is_a_clear_error(water_methane):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error only applies where it is absent")
    with pytest.raises(ValidationError, match="CUDA is not available"):
        NAtoms().embed(water_methane, device="cuda")


# --------------------------------------------------------------------------- CLI
def test_cli_models_lists_every_model_with_availability(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name in models.names():
        assert name in out
    assert "weights_here" in out and "models," in out


def _reject(constant):
    raise ValueError(f"{constant} is not valid JSON")


def test_cli_models_json_is_strict_json_for_every_model(capsys):
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out, parse_constant=_reject)
    assert sorted(data) == models.names()


def test_cli_models_json_has_full_metadata(capsys):
    assert main(["models", "--json", "--modality", "descriptor"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(DESCRIPTORS) <= set(data)
    assert all(v["modality"] == "descriptor" for v in data.values())
    assert data["soap"]["weights_here"] is True and data["soap"]["layers"] == ["last"]


def test_cli_models_available_only_hides_models_without_weights(capsys, scratch_names):
    registry.register(NAtoms("user-no-weights").info, NAtoms, available=lambda: "download it from x")
    scratch_names.append("user-no-weights")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["models", "--available-only"]) == 0
    out = capsys.readouterr().out
    assert "user-no-weights" not in out and "soap" in out
