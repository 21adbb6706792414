"""Materials students (the ``materials`` ladder): the periodic neighbour list, forces as the
energy's gradient, the teacher-labelled pool and its splits, deterministic training, the
committed students through the registry, and bad configs — on real crystals and the
committed teacher labels, a few seconds in all."""

import itertools
import json

import numpy as np
import pytest
import torch
from ase.build import bulk

from matteralign import datasets
from matteralign.errors import CorruptFileError, ValidationError
from matteralign.models import registry
from matteralign.models.ladder import models_root
from matteralign.train import periodic, students, teacher
from matteralign.train.__main__ import main as train_main


def _crystal():
    """A rattled, sheared two-atom rock-salt cell: small enough that the cutoff sphere
    reaches several periodic images of every atom."""
    atoms = bulk("NaCl", "rocksalt", a=5.64)
    atoms.set_cell(np.asarray(atoms.cell) @ [[1.0, 0.03, 0.0], [0.0, 0.98, 0.02], [0.01, 0.0, 1.02]],
                   scale_atoms=True)
    atoms.positions += np.random.default_rng(7).normal(0.0, 0.08, atoms.positions.shape)
    return atoms


@pytest.fixture(scope="module")
def labels():
    return teacher.read_labels()


def _tiny_pool(labels):
    """A real tiny pool: 8 train, 4 val and 3 test structures of the committed labels."""
    by = {s: [f for f in labels if f.info["split"] == s] for s in ("train", "val", "test")}
    return by["train"][:8] + by["val"][:4] + by["test"][:3]


def _tiny(**changes):
    base = dict(train_size=8, width=8, depth=2, epochs=1, patience=1, batch_size=4)
    return students.StudentConfig(**{**base, **changes})


# --------------------------------------------------------------------------- the network
def test_periodic_pairs_match_a_brute_force_search_over_images():
    atoms, cutoff = _crystal(), 6.0
    i, j, shift = periodic.neighbour_pairs(atoms, cutoff)
    found = {(a, b, *s) for a, b, s in zip(i.tolist(), j.tolist(), shift.tolist(), strict=True)}
    cell, pos = np.asarray(atoms.cell), atoms.positions
    expected = set()
    for a, b in itertools.product(range(len(atoms)), repeat=2):
        for s in itertools.product(range(-4, 5), repeat=3):
            d = np.linalg.norm(pos[b] - pos[a] + np.asarray(s) @ cell)
            if 0 < d < cutoff:
                expected.add((a, b, *s))
    assert len(expected) > 50  # many images of each atom
    assert found == expected


def test_forces_are_minus_the_finite_difference_gradient_of_the_energy():
    torch.manual_seed(0)
    net = periodic.Net(8, 2, featurizer=periodic.Featurizer(5.0)).double().eval()
    atoms = _crystal()
    item = periodic.Featurizer(5.0).atoms_item(atoms, "nacl")
    batch = periodic.Featurizer.collate([item])
    batch.data["positions"] = torch.tensor(atoms.positions, dtype=torch.float64)
    batch.data["offsets"] = torch.tensor(
        periodic.neighbour_pairs(atoms, 5.0)[2] @ np.asarray(atoms.cell), dtype=torch.float64)
    _, forces = periodic.energy_and_forces(net, batch)
    h, fd = 1e-5, np.zeros_like(atoms.positions)
    for a, k in itertools.product(range(len(atoms)), range(3)):
        e = []
        for sign in (1, -1):
            moved = batch.data["positions"].clone()
            moved[a, k] += sign * h
            with torch.no_grad():
                e.append(float(net.atomic_energies(batch, moved).sum()))
        fd[a, k] = -(e[0] - e[1]) / (2 * h)
    assert np.abs(fd).max() > 1e-4  # a rattled cell feels forces (small: untrained weights)
    np.testing.assert_allclose(forces.numpy(), fd, rtol=1e-5, atol=1e-9)


# --------------------------------------------------------------------------- the labels
def test_no_parent_of_a_held_out_structure_is_trained_on(labels):
    parents = {s: {f.info["parent"] for f in labels if f.info["split"] == s}
               for s in teacher.SPLITS}
    assert not parents["train"] & (parents["test"] | parents["val"] | parents["dft"])
    dft_ids = set(datasets.load(*teacher.DFT_HELD_OUT[:1], n=teacher.DFT_HELD_OUT[1],
                                seed=teacher.DFT_HELD_OUT[2]).ids)
    assert parents["dft"] == dft_ids


def test_every_labelled_structure_has_an_energy_and_one_force_per_atom(labels):
    for f in labels:
        assert np.isfinite(f.info["teacher_energy"])
        assert f.arrays["teacher_forces"].shape == (len(f), 3)


# --------------------------------------------------------------------------- training
def test_training_is_deterministic_under_a_seed(labels):
    pool = _tiny_pool(labels)
    first = students.train_student(_tiny(), progress=False, frames=pool, evaluate_dft=False)
    again = students.train_student(_tiny(), progress=False, frames=pool, evaluate_dft=False)
    for key, value in first.net.state_dict().items():
        torch.testing.assert_close(again.net.state_dict()[key], value, rtol=1e-6, atol=1e-7)
    for t, mae in first.metrics["test_mae"].items():
        assert again.metrics["test_mae"][t] == pytest.approx(mae, rel=1e-6)


def test_the_element_references_recover_energies_linear_in_composition():
    # 4 compositions seen 25 times each: the ridge penalty (0.1) is small beside the data
    atoms = [bulk("NaCl", "rocksalt", a=5.64), bulk("Si", "diamond", a=5.43),
             bulk("NaCl", "rocksalt", a=5.64).repeat((1, 1, 2)), bulk("MgO", "rocksalt", a=4.2)] * 25
    per_element = {11: -1.3, 17: -1.8, 14: -5.4, 12: -1.5, 8: -4.9}
    energy = np.array([sum(per_element[z] for z in a.numbers) for a in atoms])
    mu, scale = students.fit_references(atoms, energy)
    n = np.array([len(a) for a in atoms])
    fitted = np.array([mu[a.numbers - 1].sum() for a in atoms])
    np.testing.assert_allclose(fitted / n, energy / n, atol=0.02)  # eV/atom
    assert scale < 0.02 and mu[0] == pytest.approx(np.mean(energy / n))  # H: absent, gets the mean


# --------------------------------------------------------------------------- committed students
def _committed():
    root = models_root() / students.LADDER
    return sorted(p.name for p in root.iterdir() if (p / "metrics.json").is_file()) if root.is_dir() else []


def test_every_student_of_the_ladder_is_committed_with_config_and_metrics():
    assert _committed() == sorted(c.rung for c in students.student_configs())
    for c in students.student_configs():
        folder = models_root() / c.ladder / c.rung
        assert students.StudentConfig.from_toml((folder / "config.toml").read_text()) == c
        m = json.loads((folder / "metrics.json").read_text())
        assert set(m["dft_mae"]) == {"energy_per_atom", "energy_per_atom_refit", "forces"}
        assert m["seed"] == c.seed and m["train_seconds"] > 0


def test_a_committed_student_embeds_real_crystals_at_every_layer_through_the_registry():
    name = "ladder-materials-student-n300-w32-s0"
    info = registry.info(name)
    assert (info.modality, info.architecture, info.domains) == ("3d", "schnet-pbc", ("materials",))
    perf = info.performance
    assert (perf["train_size"], perf["width"], perf["seed"], perf["teacher"]) == (
        300, 32, 0, "sevennet-l3i5")
    assert 0 < perf["dft_mae_forces"] < 1 and 0 < perf["test_mae_forces"] < 1
    ds = datasets.load("mptrj-random", n=3, seed=0)
    model = registry.get(name)
    vectors = [model.embed(ds, layer=layer, progress=False).values for layer in info.layers]
    assert info.layers == ("embedding", "block1", "block2", "block3")
    for v in vectors:
        assert v.shape == (3, 32) and np.isfinite(v).all()
    assert not np.allclose(vectors[0], vectors[-1])


def test_a_committed_student_predicts_its_recorded_held_out_force_error(labels):
    folder = models_root() / "materials" / "student-n100-w32-s0"
    student = students.load_checkpoint(folder / "model.pt")
    test = [f for f in labels if f.info["split"] == "test"]
    items = [student.featurizer.atoms_item(f, f.info["id"]) for f in test]
    _, forces = students.predict(student.net, items)
    mae = np.mean(np.abs(np.concatenate(forces) - np.concatenate([f.arrays["teacher_forces"]
                                                                   for f in test])))
    recorded = json.loads((folder / "metrics.json").read_text())["test_mae"]["forces"]
    assert mae == pytest.approx(recorded, rel=1e-4)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("change, key", [
    ({"force_weight": "-1.0"}, "force_weight"), ({"width": '"wide"'}, "width"),
    ({"cutoff": "30.0"}, "cutoff"), ({"colour": "3"}, "colour")])
def test_a_bad_student_config_is_refused_in_one_line_naming_the_key(tmp_path, capsys, change, key):
    values = {"architecture": '"schnet-pbc"', "train_size": "100", "width": "32", **change}
    (tmp_path / "bad.toml").write_text("".join(f"{k} = {v}\n" for k, v in values.items()))
    assert train_main([str(tmp_path / "bad.toml"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and key in err and "bad.toml" in err
    assert not (tmp_path / "materials").exists()


def test_a_training_size_beyond_the_pool_is_refused(labels):
    with pytest.raises(ValidationError, match="exceeds the 8 training structures"):
        students.train_student(_tiny(train_size=9), progress=False, frames=_tiny_pool(labels))


def test_an_unknown_student_rung_names_the_known_ones(capsys):
    assert train_main(["materials/student-n7-w32-s0"]) == 1
    assert "student-n100-w32-s0" in capsys.readouterr().err


def test_a_frame_without_teacher_labels_is_refused(tmp_path, labels):
    from matteralign.datasets._store import write_structures

    frame = labels[0].copy()
    del frame.arrays["teacher_forces"]
    write_structures([frame], tmp_path / "labels.xyz.xz")
    with pytest.raises(CorruptFileError, match="frame 0 lacks teacher_energy, teacher_forces"):
        teacher.read_labels(tmp_path / "labels.xyz.xz")
