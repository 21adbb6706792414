"""The generated sets are reproducible: the generation code, rerun on a few entries, gives
the committed structures within the physical tolerances of `_store.TOLERANCES` (CHGNet
results differ in their last digits between CPUs and thread counts, so regenerated CHGNet
files are not byte-identical) and the committed datasheets byte for byte (full
regeneration is `make datasets`, not a test)."""

import io

import numpy as np
import pytest

from matteralign.datasets import _paths, organics, prototypes
from matteralign.datasets._datasheet import datasheet
from matteralign.datasets._store import (
    TOLERANCES,
    compare_structures,
    read_structures,
    round_atoms,
    write_structures,
)


def _extxyz(frames) -> str:
    from ase.io import write

    buf = io.StringIO()
    for atoms in frames:
        write(buf, round_atoms(atoms), format="extxyz", write_results=False)
    return buf.getvalue()


def test_structure_files_are_byte_identical_when_written_twice(tmp_path):
    frames, _ = organics.generate_nci(limit=2, processes=1)
    a = write_structures(frames, tmp_path / "a.xyz.xz").read_bytes()
    b = write_structures(frames, tmp_path / "b.xyz.xz").read_bytes()
    assert a == b
    back = read_structures(tmp_path / "a.xyz.xz")
    assert [f.info["id"] for f in back] == ["nci:0001", "nci:0002"]
    assert np.allclose(back[0].positions, frames[0].positions, atol=1e-6)


def test_nci_conformers_regenerate_to_the_committed_ones():
    fresh, failures = organics.generate_nci(limit=3, processes=1)
    committed = read_structures(_paths.data_dir() / "nci-organics" / "nci-organics.xyz.xz")[:3]
    assert not failures
    # ETKDG + MMFF positions are floats: compared within the stated tolerances, not as text
    # (in practice byte-identical, as `generate --check` reports, but libm may differ)
    result = compare_structures(fresh, committed)
    assert result.ok, "\n".join(result.report())


def test_peptide_sequences_are_seeded_distinct_and_nested():
    seqs = organics.peptide_sequences(40, (5, 20), seed=0)
    assert len(set(seqs)) == 40 and all(5 <= len(s) <= 20 for s in seqs)
    assert organics.peptide_sequences(10, (5, 20), seed=0) == seqs[:10]
    committed = read_structures(_paths.data_dir() / "peptides" / "peptides.xyz.xz")
    assert [a.info["sequence"] for a in committed] == organics.peptide_sequences(
        len(committed), (5, 20), seed=0)


def test_conformer_failure_is_returned_not_raised():
    frames, failures = organics._build([("x:1", "smiles", "C1CC(")], processes=1)
    assert frames == [] and failures[0].id == "x:1" and "cannot parse" in failures[0].reason


def test_every_ionic_decoration_is_charge_balanced():
    for dec in prototypes.decorations():
        if dec.prototype not in prototypes._METALLIC:
            assert prototypes.charge_balanced(dec), dec.id


def test_charge_balance_check_rejects_an_unbalanced_decoration():
    dec = prototypes.Decoration("rocksalt", (("A", "Na"), ("X", "O")))
    assert not prototypes.charge_balanced(dec)


@pytest.mark.slow
def test_prototype_relaxation_regenerates_the_committed_structure():
    pytest.importorskip("chgnet", reason="CHGNet (the [models] extra) is not installed")
    frames, failures, _ = prototypes.generate_relaxed(limit=1, processes=1)
    committed = read_structures(_paths.data_dir() / "prototypes" / "prototypes.xyz.xz")[:1]
    assert not failures
    # CHGNet is float32 with per-CPU SIMD kernels: tolerances, not bytes (see TOLERANCES)
    result = compare_structures(frames, committed)
    assert result.ok, "\n".join(result.report())


@pytest.mark.slow
def test_relaxation_most_sensitive_to_the_cpu_regenerates_within_tolerance():
    # cubic LaCrO3: forces vanish by symmetry and float32 noise moved its atoms by 4.5e-4 Å,
    # the largest difference over all 242 relaxations (committed vs rerun)
    pytest.importorskip("chgnet", reason="CHGNet (the [models] extra) is not installed")
    dec = next(d for d in prototypes.decorations() if d.id == "proto:perovskite:La-Cr-O")
    atoms, energy, steps, converged = prototypes.relax(dec.structure())
    atoms.info = {"id": dec.id, "prototype": dec.prototype, "formula": dec.formula,
                  "chgnet_energy": round(energy, 6), "relax_steps": steps,
                  "relax_converged": converged}
    committed = [a for a in read_structures(_paths.data_dir() / "prototypes" / "prototypes.xyz.xz")
                 if a.info["id"] == dec.id]
    result = compare_structures([atoms], committed)
    assert result.ok, "\n".join(result.report())


def test_perturbations_are_deterministic_and_labelled_with_their_parent():
    relaxed = read_structures(_paths.data_dir() / "prototypes" / "prototypes.xyz.xz")[:1]
    one = prototypes.perturb(relaxed[0], index=0, md=False)
    two = prototypes.perturb(relaxed[0], index=0, md=False)
    # exact: the same seeded draws added to the same input in one process, no model involved
    assert _extxyz(one) == _extxyz(two)
    assert [a.info["kind"] for a in one] == ["rattle", "rattle", "strain"]
    assert all(a.info["parent"] == relaxed[0].info["id"] and len(a) >= 8 for a in one)


def test_datasheet_lists_failures_and_histograms():
    from ase import Atoms

    frames = [Atoms("H2O"), Atoms("CH4")]
    failure = organics.ConformerFailure("x:9", "C1CC(", "RDKit cannot parse")
    text = datasheet("toy", "made by hand", frames, [failure])
    assert "* structures: 2" in text and "* failed and excluded: 1" in text
    assert "| x:9 | `C1CC(` | RDKit cannot parse |" in text
    assert "| H | 6 | 2 |" in text and "| O | 1 | 1 |" in text
    assert "| 2–3 | 1 |" in text and "| 4–7 | 1 |" in text


def test_fast_extxyz_header_parser_agrees_with_ase_on_the_committed_files():
    import glob
    import lzma

    from ase.io.extxyz import key_val_str_to_dict

    from matteralign.datasets._store import _header

    files = sorted(glob.glob(str(_paths.data_dir() / "*" / "*.xyz.xz")))
    assert len(files) >= 8
    for f in files:
        lines = lzma.decompress(open(f, "rb").read()).decode().split("\n")
        pos = 0
        for _ in range(50):
            if pos >= len(lines) or not lines[pos].strip():
                break
            ours, ref = _header(lines[pos + 1]), key_val_str_to_dict(lines[pos + 1])
            assert ours is not None and ours.keys() == ref.keys(), f
            for key, value in ref.items():
                assert np.array_equal(np.asarray(ours[key]), np.asarray(value)), (f, key)
            pos += int(lines[pos]) + 2


@pytest.mark.slow
def test_md_snapshots_regenerate_to_the_committed_ones():
    pytest.importorskip("chgnet", reason="CHGNet (the [models] extra) is not installed")
    prototypes._set_threads()
    relaxed = read_structures(_paths.data_dir() / "prototypes" / "prototypes.xyz.xz")[:1]
    fresh = prototypes.perturb(relaxed[0], index=0, md=True)
    committed = read_structures(
        _paths.data_dir() / "prototypes-perturbed" / "prototypes-perturbed.xyz.xz")[:5]
    assert [a.info["id"] for a in fresh][-2:] == ["proto:bcc:Li:md1000K-050",
                                                   "proto:bcc:Li:md1000K-100"]
    # MD amplifies last-digit force differences: the MD tolerances (measured) apply
    result = compare_structures(fresh, committed)
    assert result.ok, "\n".join(result.report())
    assert ("md", "positions") in result.deviations and ("md", "momenta") in result.deviations


def _toy_set(monkeypatch, tmp_path):
    """Register a one-frame set "toy" and write it under ``tmp_path``."""
    from ase import Atoms

    from matteralign.datasets import generate

    def toy(out):
        atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
        atoms.info["id"] = "toy:1"
        return generate._write(out / "toy", "toy", [atoms], [], "two hydrogens")

    monkeypatch.setitem(generate.SETS, "toy", toy)
    assert generate.main(["--out", str(tmp_path), "--only", "toy"]) == 0
    return generate


def _shift_committed_toy(tmp_path, dz):
    path = tmp_path / "toy" / "toy.xyz.xz"
    frames = read_structures(path)
    frames[0].positions[1, 2] += dz
    write_structures(frames, path)


def test_generate_check_reports_identical_then_a_changed_file(tmp_path, monkeypatch, capsys):
    generate = _toy_set(monkeypatch, tmp_path)
    assert generate.main(["--out", str(tmp_path), "--only", "toy", "--check"]) == 0
    out = capsys.readouterr().out
    assert "toy/toy.xyz.xz: byte-identical" in out and "toy/DATASHEET.md: byte-identical" in out
    (tmp_path / "toy" / "DATASHEET.md").write_text("edited by hand\n")
    assert generate.main(["--out", str(tmp_path), "--only", "toy", "--check"]) == 1
    assert "toy/DATASHEET.md: DIFFERS" in capsys.readouterr().err


def test_generate_check_accepts_positions_within_tolerance_and_prints_the_deviation(
        tmp_path, monkeypatch, capsys):
    generate = _toy_set(monkeypatch, tmp_path)
    _shift_committed_toy(tmp_path, 3e-6)  # a last-digit difference, as between two CPUs
    assert generate.main(["--out", str(tmp_path), "--only", "toy", "--check"]) == 0
    out = capsys.readouterr().out
    assert "toy/toy.xyz.xz: not byte-identical, within tolerance" in out
    assert "static positions: max |Δ| 3.0e-06 Å" in out


def test_generate_check_rejects_positions_beyond_tolerance(tmp_path, monkeypatch, capsys):
    generate = _toy_set(monkeypatch, tmp_path)
    _shift_committed_toy(tmp_path, 10 * TOLERANCES["static", "positions"].limit)
    assert generate.main(["--out", str(tmp_path), "--only", "toy", "--check"]) == 1
    captured = capsys.readouterr()
    assert "toy/toy.xyz.xz: DIFFERS: beyond tolerance" in captured.err
    assert "static positions" in captured.out and "[EXCEEDS]" in captured.out


def _crystal(**info):
    from ase import Atoms

    atoms = Atoms("Li2", scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]], cell=[3.4] * 3,
                  pbc=True)
    atoms.info.update({"id": "proto:test:Li", "relax_steps": 7, "relax_converged": True,
                       "chgnet_energy": -3.75, **info})
    return atoms


def test_positions_are_compared_by_minimum_image_across_cell_faces():
    a, b = _crystal(), _crystal()
    b.positions[0] = [3.4 - 2e-6, 0.0, 0.0]  # the same atom, wrapped to the opposite face
    result = compare_structures([a], [b])
    assert result.ok and result.deviations["static", "positions"] == pytest.approx(2e-6)


def test_energy_deviation_is_per_atom():
    result = compare_structures([_crystal(chgnet_energy=-3.75 + 4e-6)], [_crystal()])
    assert result.deviations["static", "chgnet_energy"] == pytest.approx(2e-6)  # 2 atoms


def test_changed_id_species_or_step_count_is_a_mismatch_whatever_the_tolerances():
    a = _crystal(relax_steps=8)
    assert compare_structures([a], [_crystal()]).mismatches == ["proto:test:Li: relax_steps 8 vs 7"]
    b = _crystal()
    b.numbers[1] = 11
    assert not compare_structures([b], [_crystal()]).ok
    assert not compare_structures([_crystal(id="proto:test:Na")], [_crystal()]).ok
    assert not compare_structures([_crystal()], [_crystal(), _crystal()]).ok


def test_md_snapshots_are_compared_under_the_md_tolerances():
    a, b = _crystal(kind="md"), _crystal(kind="md")
    b.set_momenta(np.ones((2, 3)))
    limit = TOLERANCES["md", "momenta"].limit
    a.set_momenta(np.ones((2, 3)) + limit / 2)
    result = compare_structures([a], [b])
    assert result.ok and {("md", "positions"), ("md", "momenta")} <= result.deviations.keys()
    a.set_momenta(np.ones((2, 3)) + 2 * limit)
    assert compare_structures([a], [b]).exceeded == [("md", "momenta")]


def test_committed_datasheets_are_what_the_generator_writes_for_the_committed_frames():
    """Datasheets hold counts and text only: byte-identical, checked without regenerating."""
    import re

    from matteralign.datasets import generate

    for name in generate.SETS:
        folder = _paths.data_dir() / name
        text = (folder / "DATASHEET.md").read_text()
        frames = read_structures(folder / f"{name}.xyz.xz")
        failures = [organics.ConformerFailure(*row) for row in
                    re.findall(r"^\| (\S+) \| `(.*)` \| (.*) \|$", text, flags=re.M)]
        expected = datasheet(name, generate.how_made(name, frames), frames, failures,
                             generate.reproducibility(name))
        assert text == expected, name


def test_check_starts_the_perturbed_set_from_the_committed_prototypes(tmp_path, monkeypatch):
    from matteralign.datasets import generate

    committed = read_structures(_paths.data_dir() / "prototypes" / "prototypes.xyz.xz")[:2]
    write_structures(committed, tmp_path / "prototypes" / "prototypes.xyz.xz")
    moved = [a.copy() for a in committed]
    for a in moved:
        a.positions += 0.01  # a regenerated relaxation that came out differently
    seen = []
    monkeypatch.setattr(prototypes, "generate_relaxed", lambda: (moved, [], "relaxed"))
    monkeypatch.setattr(prototypes, "generate_perturbed",
                        lambda relaxed: (seen.extend(relaxed), ([], "perturbed"))[1])
    generate.main(["--out", str(tmp_path), "--only", "prototypes", "prototypes-perturbed",
                   "--check"])
    assert [a.info["id"] for a in seen] == [a.info["id"] for a in committed]
    assert compare_structures(seen, committed).deviations["static", "positions"] == 0.0
