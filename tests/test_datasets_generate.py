"""The generated sets are reproducible: the generation code, rerun on a few entries, gives
the committed bytes (full regeneration is `make datasets`, not a test)."""

import io

import numpy as np
import pytest

from matteralign.datasets import _paths, organics, prototypes
from matteralign.datasets._datasheet import datasheet
from matteralign.datasets._store import read_structures, round_atoms, write_structures


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
    assert _extxyz(fresh) == _extxyz(committed)


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
    assert not failures and _extxyz(frames) == _extxyz(committed)


def test_perturbations_are_deterministic_and_labelled_with_their_parent():
    relaxed = read_structures(_paths.data_dir() / "prototypes" / "prototypes.xyz.xz")[:1]
    one = prototypes.perturb(relaxed[0], index=0, md=False)
    two = prototypes.perturb(relaxed[0], index=0, md=False)
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
    assert _extxyz(fresh) == _extxyz(committed)


def test_generate_check_reports_identical_then_a_changed_file(tmp_path, monkeypatch, capsys):
    from ase import Atoms

    from matteralign.datasets import generate

    def toy(out):
        atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
        atoms.info["id"] = "toy:1"
        return generate._write(out / "toy", "toy", [atoms], [], "two hydrogens")

    monkeypatch.setitem(generate.SETS, "toy", toy)
    assert generate.main(["--out", str(tmp_path), "--only", "toy"]) == 0
    assert generate.main(["--out", str(tmp_path), "--only", "toy", "--check"]) == 0
    assert "identical" in capsys.readouterr().out
    (tmp_path / "toy" / "DATASHEET.md").write_text("edited by hand\n")
    assert generate.main(["--out", str(tmp_path), "--only", "toy", "--check"]) == 1
    assert "DIFFERS: toy/DATASHEET.md" in capsys.readouterr().err
