"""The dataset registry and the shipped datasets (issue "Datasets")."""

import numpy as np
import pytest

from matteralign import datasets
from matteralign.cli import main
from matteralign.datasets import Dataset, DatasetInfo, Sample, in_vacuum_box
from matteralign.errors import MissingDataError, UnknownNameError, ValidationError

SHIPPED = [n for n in datasets.names() if datasets.info(n).shipped]
FILE_BACKED = [n for n in SHIPPED if n != "qm9"]


# ---------------------------------------------------------------- registry


def test_available_is_a_table_indexed_by_name_with_the_documented_columns():
    table = datasets.available()
    assert table.index.name == "name"
    assert list(table.columns) == datasets.registry.COLUMNS
    for name in ("qm9", "mptrj-random", "alexandria-random", "materials-in-distribution",
                 "materials-off-equilibrium", "prototypes", "prototypes-perturbed",
                 "nci-organics", "peptides", "omat24", "salex", "omol25"):
        assert name in table.index


def test_every_shipped_dataset_has_domain_role_licence_version_and_size():
    for name in SHIPPED:
        meta = datasets.info(name)
        assert meta.domain in {"molecules", "materials", "biomolecules", "proteins"}
        assert meta.role in {"in-distribution", "off-equilibrium", "out-of-distribution"}
        assert meta.licence and meta.version and meta.size and meta.source


def test_unknown_dataset_name_suggests_the_close_one():
    with pytest.raises(UnknownNameError, match="Did you mean 'peptides'"):
        datasets.load("peptide")


@pytest.fixture
def scratch_name():
    yield "test-scratch"
    if "test-scratch" in datasets.names():
        datasets.unregister("test-scratch")


def test_register_brings_your_own_dataset_and_refuses_silent_overwrite(scratch_name):
    info = DatasetInfo(scratch_name, "molecules", representations=("smiles",), shipped=False)
    datasets.register(info, lambda: [Sample(id="own:1", smiles="CCO")])
    assert datasets.load(scratch_name)[0].smiles == "CCO"
    with pytest.raises(ValidationError, match="already registered"):
        datasets.register(info, lambda: [])


def test_duplicate_sample_ids_are_refused_on_load(scratch_name):
    info = DatasetInfo(scratch_name, "molecules", shipped=False)
    datasets.register(info, lambda: [Sample(id="x"), Sample(id="x")])
    with pytest.raises(ValidationError, match="duplicate sample id 'x'"):
        len(datasets.load(scratch_name))


def test_downloadable_datasets_say_what_to_get_when_absent(tmp_path, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_DATA", str(tmp_path))
    with pytest.raises(MissingDataError, match="OMat24.*huggingface"):
        len(datasets.load("omat24"))


def test_absent_download_folder_is_said_not_to_exist_and_where_to_put_the_files(tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("MATTERALIGN_DATA", str(tmp_path))
    folder = tmp_path / "external" / "omat24"
    with pytest.raises(MissingDataError) as caught:
        len(datasets.load("omat24"))
    message = str(caught.value)
    assert f"{folder} does not exist" in message and "is empty" not in message
    assert f"put the files in {folder}" in message and "\n" not in message


def test_empty_download_folder_is_said_to_be_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_DATA", str(tmp_path))
    (tmp_path / "external" / "salex").mkdir(parents=True)
    with pytest.raises(MissingDataError, match=r"salex is empty\).*download sAlex"):
        len(datasets.load("salex"))


# ---------------------------------------------------------------- content digests


def _water(**changes):
    from ase.build import molecule

    atoms = molecule("H2O")
    if "element" in changes:
        atoms.numbers[0] = 16
    if "position" in changes:
        atoms.positions[1, 2] += 1e-4
    if "cell" in changes:
        atoms.cell = np.eye(3) * 10.0
    if "pbc" in changes:
        atoms.cell = np.eye(3) * 10.0
        atoms.pbc = [True, True, False]
    return atoms


def test_content_digest_ignores_the_id_and_the_labels():
    a = Sample("a", atoms=_water(), smiles="O", labels={"energy": -1.0})
    b = Sample("b", atoms=_water(), smiles="O", labels={"energy": -2.0})
    assert datasets.base.content_digest(a) == datasets.base.content_digest(b)


@pytest.mark.parametrize("change", ["element", "position", "cell", "pbc"])
def test_content_digest_changes_when_the_structure_changes(change):
    if change == "pbc":
        before = Sample("w", atoms=_water(cell=True))
    else:
        before = Sample("w", atoms=_water())
    after = Sample("w", atoms=_water(**{change: True}))
    assert datasets.base.content_digest(before) != datasets.base.content_digest(after)


@pytest.mark.parametrize("field, before, after", [("smiles", "CCO", "OCC"),
                                                  ("sequence", "ACDEF", "ACDEG")])
def test_content_digest_changes_when_the_smiles_or_sequence_changes(field, before, after):
    digest = datasets.base.content_digest
    assert digest(Sample("s", **{field: before})) != digest(Sample("s", **{field: after}))


def test_content_digest_ignores_float_noise_far_below_the_hashed_precision():
    noisy = _water()
    noisy.positions[0, 0] += 1e-13  # last-bit differences of a computed geometry
    noisy.positions[noisy.positions == 0.0] = -0.0
    digest = datasets.base.content_digest
    assert digest(Sample("w", atoms=noisy)) == digest(Sample("w", atoms=_water()))


# ---------------------------------------------------------------- subsets


def test_subset_is_deterministic_and_nested():
    ds = Dataset(DatasetInfo("toy", "molecules"), [Sample(id=f"t:{i}") for i in range(50)])
    assert ds.subset(10, seed=3).ids == ds.subset(10, seed=3).ids
    assert ds.subset(30, seed=3).ids[:10] == ds.subset(10, seed=3).ids
    assert ds.subset(10, seed=3).ids != ds.subset(10, seed=4).ids
    assert ds.subset(None) is ds and len(ds.subset(500)) == 50


def test_subset_rejects_non_positive_n():
    ds = Dataset(DatasetInfo("toy", "molecules"), [Sample(id="a")])
    with pytest.raises(ValidationError):
        ds.subset(0)


# ---------------------------------------------------------------- shipped data


@pytest.mark.parametrize("name", FILE_BACKED)
def test_shipped_dataset_loads_offline_with_stable_nested_ids(name):
    full = datasets.load(name)
    assert len(full) == datasets.info(name).size
    small, large = datasets.load(name, n=20, seed=1), datasets.load(name, n=60, seed=1)
    assert small.ids == large.ids[:20] == datasets.load(name, n=20, seed=1).ids
    assert len(set(full.ids)) == len(full)
    sample = small[0]
    assert sample.id.split(":")[0] and sample.atoms is not None and len(sample.atoms) > 0
    for rep in datasets.info(name).representations:
        assert sample.require(rep) is not None


def test_mattersim_sets_carry_dft_energy_forces_and_stress():
    ds = datasets.load("mptrj-random")
    by_id = {s.id: s for s in ds}
    s = by_id["mptrj-random:mp-1080834-0-1"]  # the file's first frame
    assert s.labels["energy"] == pytest.approx(-28.75765745)
    assert s.labels["energy_per_atom"] == pytest.approx(-28.75765745 / 9)
    assert s.labels["forces"].shape == (9, 3) and s.labels["stress"].shape == (3, 3)
    assert s.atoms.pbc.all() and s.atoms.cell.rank == 3
    assert s.atoms.get_chemical_symbols()[0] == "Na"


def test_material_groups_are_the_union_of_their_members():
    group = datasets.load("materials-in-distribution").ids
    assert group == datasets.load("mptrj-random").ids + datasets.load("alexandria-random").ids


def test_mattersim_benchmark_files_match_their_recorded_sha256():
    import hashlib
    import re

    folder = datasets._paths.data_dir() / "mattersim_benchmarks"
    text = (folder / "PROVENANCE.md").read_text()
    rows = re.findall(r"\| `(\S+\.xz)` \|.*\| `([0-9a-f]{64})` \|$", text, flags=re.M)
    assert len(rows) == 6
    for name, digest in rows:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_molecules_have_no_cell_and_peptides_carry_their_sequence():
    pep = datasets.load("peptides", n=3)[0]
    assert pep.id == f"pep:{pep.sequence}" and not pep.atoms.pbc.any()
    from rdkit import Chem

    assert Chem.MolFromSmiles(pep.smiles) is not None
    nci = datasets.load("nci-organics", n=1)[0]
    assert nci.atoms.cell.rank == 0 and nci.smiles


def test_generated_sets_have_datasheets_that_count_their_structures():
    root = datasets._paths.data_dir()
    for name in ("prototypes", "prototypes-perturbed", "nci-organics", "peptides"):
        sheet = (root / name / "DATASHEET.md").read_text()
        assert f"* structures: {datasets.info(name).size}" in sheet
        assert "## Elements" in sheet and "## Atoms per structure" in sheet


def test_missing_shipped_file_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_DATA", str(tmp_path))
    datasets._shipped._generated_frames.cache_clear()
    try:
        with pytest.raises(MissingDataError, match="peptides.xyz.xz"):
            len(datasets.load("peptides"))
    finally:
        datasets._shipped._generated_frames.cache_clear()


# ---------------------------------------------------------------- QM9


def test_qm9_has_130831_molecules_with_qm9_indices_as_ids():
    ds = datasets.load("qm9")
    assert len(ds) == 130_831
    ids = ds.ids
    assert ids[0] == "qm9:000001" and ids[-1] == "qm9:133885"


def test_qm9_first_molecule_is_methane_with_its_b3lyp_geometry_and_properties():
    methane = datasets.load("qm9")[0]
    assert methane.smiles == "C" and methane.atoms.get_chemical_formula() == "CH4"
    assert methane.atoms.positions[0] == pytest.approx([-0.0126981359, 1.0858041578, 0.0080009958])
    assert methane.labels["u0"] == pytest.approx(-40.47893)
    assert methane.labels["mu"] == pytest.approx(0.0)


def test_qm9_subset_is_nested():
    assert datasets.load("qm9", n=10, seed=2).ids == datasets.load("qm9", n=40, seed=2).ids[:10]


# ---------------------------------------------------------------- helpers and CLI


def test_in_vacuum_box_centres_the_molecule_with_the_requested_padding():
    from ase.build import molecule

    boxed = in_vacuum_box(molecule("CH4"), padding=6.0)
    extent = np.ptp(boxed.positions, axis=0)
    assert np.allclose(boxed.cell.lengths(), extent + 12.0)
    assert np.allclose(boxed.positions.min(axis=0), 6.0)
    with pytest.raises(ValidationError):
        in_vacuum_box(molecule("CH4"), padding=0)


def test_cli_datasets_prints_the_table_with_sizes_and_roles(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "qm9" in out and "130831" in out and "off-equilibrium" in out and "peptides" in out


def test_cli_datasets_show_unknown_name_is_an_error(capsys):
    assert main(["datasets", "--show", "nope"]) == 1
    assert "unknown dataset 'nope'" in capsys.readouterr().err


def test_sample_ids_given_as_numpy_strings_print_plainly_in_errors():
    import numpy as np

    from matteralign.datasets.base import Sample
    from matteralign.errors import ValidationError

    s = Sample(np.str_("qm9:066293"), smiles="C")
    with pytest.raises(ValidationError) as info:
        s.require("atoms")
    assert "'qm9:066293'" in str(info.value) and "np.str_" not in str(info.value)
