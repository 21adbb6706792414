"""Loaders for the study's real data, on small files written here in each real format."""

import bz2
import json
import zlib

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator

from matteralign import datasets
from matteralign.errors import CorruptFileError, MissingDataError, ValidationError


def _labelled(atoms, energy):
    atoms = atoms.copy()
    forces = np.arange(3 * len(atoms), dtype=float).reshape(-1, 3) / 10
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces,
                                       stress=np.array([1.0, 2, 3, 0, 0, 0]))
    return atoms


# ---------------------------------------------------------------- ASE db and .aselmdb


def test_ase_db_rows_become_samples_with_source_ids_and_dft_labels(tmp_path):
    import ase.db

    path = tmp_path / "omat-like.db"
    with ase.db.connect(str(path)) as db:
        db.write(_labelled(bulk("Cu"), -3.5), sid="rattled-1")
        db.write(_labelled(bulk("NaCl", "rocksalt", a=5.6), -7.0), sid="aimd-2")
    ds = datasets.from_ase_db(path, name="omat")
    assert ds.ids == ["omat:rattled-1", "omat:aimd-2"]
    s = ds[1]
    assert s.labels["energy"] == -7.0 and s.labels["energy_per_atom"] == -3.5
    assert s.labels["forces"].shape == (2, 3) and s.atoms.get_chemical_formula() == "ClNa"


def test_ase_db_that_is_not_a_database_is_reported_as_corrupt(tmp_path):
    path = tmp_path / "broken.db"
    path.write_bytes(b"this is not sqlite" * 20)
    with pytest.raises(CorruptFileError, match="broken.db"):
        len(datasets.from_ase_db(path))


def _write_aselmdb(path, frames, corrupt_row=None):
    """Write rows the way fairchem's LMDBDatabase does (zlib-compressed ase-JSON)."""
    lmdb = pytest.importorskip("lmdb", reason="the optional 'lmdb' package is not installed")
    from ase.db.row import AtomsRow
    from ase.io.jsonio import encode

    env = lmdb.open(str(path), subdir=False, map_size=2**26)
    with env.begin(write=True) as txn:
        for i, atoms in enumerate(frames, start=1):
            row = AtomsRow(atoms)
            dct = {k: row[k] for k in row.__dict__ if k[0] != "_" and k not in row._keys
                   and k != "id"}
            dct["cell"] = np.asarray(dct["cell"])
            dct["key_value_pairs"] = {"sid": f"frame-{i}"}
            dct["data"] = {}
            blob = zlib.compress(encode(dct).encode())
            txn.put(str(i).encode("ascii"), b"garbage" if i == corrupt_row else blob)
        txn.put(b"nextid", zlib.compress(encode(len(frames) + 1).encode()))
    env.close()


def test_aselmdb_reads_fairchem_release_format(tmp_path):
    path = tmp_path / "val.aselmdb"
    _write_aselmdb(path, [_labelled(bulk("Si"), -10.8), _labelled(molecule("H2O"), -14.2)])
    ds = datasets.from_aselmdb(path, name="omat24")
    assert ds.ids == ["omat24:val:frame-1", "omat24:val:frame-2"]
    assert ds[0].labels["energy"] == -10.8 and ds[0].atoms.pbc.all()
    assert ds[1].atoms.get_chemical_formula() == "H2O"
    assert datasets.from_aselmdb(tmp_path, name="omat24").ids == ds.ids  # folder form


def test_aselmdb_corrupt_record_is_reported_by_index(tmp_path):
    path = tmp_path / "bad.aselmdb"
    _write_aselmdb(path, [bulk("Si"), bulk("Cu"), bulk("Al")], corrupt_row=2)
    with pytest.raises(CorruptFileError, match=r"record 1 \(row id 2\)"):
        len(datasets.from_aselmdb(path))


# ---------------------------------------------------------------- MPtrj and Alexandria JSON


def _mptrj_record(structure, energy):
    return {"structure": structure.as_dict(), "uncorrected_total_energy": energy,
            "corrected_total_energy": energy - 0.5, "energy_per_atom": energy / len(structure),
            "force": [[0.0, 0.0, 0.1]] * len(structure), "stress": [[1.0, 0, 0], [0, 1, 0], [0, 0, 1]],
            "magmom": None}


def test_mptrj_json_frames_keep_their_ids_and_labels(tmp_path):
    from pymatgen.core import Lattice, Structure

    nacl = Structure(Lattice.cubic(5.6), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    data = {"mp-22862": {"mp-22862-0-0": _mptrj_record(nacl, -6.8),
                         "mp-22862-0-1": _mptrj_record(nacl, -6.7)}}
    path = tmp_path / "MPtrj_small.json"
    path.write_text(json.dumps(data))
    ds = datasets.from_mptrj_json(path)
    assert ds.ids == ["mptrj:mp-22862-0-0", "mptrj:mp-22862-0-1"]
    assert ds[0].labels["energy"] == -6.8 and ds[0].labels["corrected_energy"] == -7.3
    assert ds[0].labels["stress_unit"] == "kBar" and ds[0].labels["mp_id"] == "mp-22862"
    assert datasets.load(f"file:{path}").ids == ds.ids


def test_mptrj_json_corrupt_record_is_named_by_index(tmp_path):
    from pymatgen.core import Lattice, Structure

    nacl = Structure(Lattice.cubic(5.6), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    data = {"mp-1": {"mp-1-0-0": _mptrj_record(nacl, -6.8), "mp-1-0-1": {"force": []}}}
    path = tmp_path / "MPtrj_bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(CorruptFileError, match=r"record 1 \(mp-1/mp-1-0-1\)"):
        len(datasets.from_mptrj_json(path))


def test_malformed_json_is_a_clear_error_naming_the_file(tmp_path):
    path = tmp_path / "MPtrj_truncated.json"
    path.write_text('{"mp-1": {"mp-1-0-0": ')
    with pytest.raises(CorruptFileError, match="MPtrj_truncated.json is not valid JSON"):
        len(datasets.from_mptrj_json(path))


def test_alexandria_bz2_json_of_computed_structure_entries(tmp_path):
    from pymatgen.core import Lattice, Structure
    from pymatgen.entries.computed_entries import ComputedStructureEntry

    s = Structure(Lattice.cubic(4.1), ["Cs", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    entry = ComputedStructureEntry(s, -6.9, entry_id="agm000000001", data={"e_form": -2.1})
    path = tmp_path / "alexandria_000.json.bz2"
    path.write_bytes(bz2.compress(json.dumps({"entries": [entry.as_dict()]}).encode()))
    ds = datasets.from_alexandria_json(path)
    assert ds.ids == ["alexandria:agm000000001"]
    assert ds[0].labels["energy"] == pytest.approx(-6.9) and ds[0].labels["e_form"] == -2.1


# ---------------------------------------------------------------- structure folders


def test_folder_of_cif_extxyz_and_poscar_files(tmp_path):
    from ase.io import write

    write(tmp_path / "NaCl.cif", bulk("NaCl", "rocksalt", a=5.6))
    write(tmp_path / "Si.vasp", bulk("Si"), format="vasp")
    write(tmp_path / "traj.extxyz", [_labelled(bulk("Cu"), -3.0), _labelled(bulk("Cu"), -3.1)])
    (tmp_path / "notes.txt").write_text("ignored")
    ds = datasets.from_folder(tmp_path, name="mine")
    assert ds.ids == ["mine:NaCl", "mine:Si", "mine:traj:0", "mine:traj:1"]
    assert ds[3].labels["energy"] == -3.1 and ds[3].labels["forces"].shape == (1, 3)
    assert ds[1].atoms.get_chemical_formula() == "Si2"


def test_ids_stored_in_the_files_are_used(tmp_path):
    from ase.io import write

    frames = [bulk("Cu"), bulk("Si"), bulk("NaCl", "rocksalt", a=5.6)]
    frames[0].info["id"] = "mp-30"
    frames[1].info["id"] = "mp-149"  # the third frame stores none
    write(tmp_path / "traj.extxyz", frames)
    assert datasets.from_folder(tmp_path, name="mine").ids == ["mine:mp-30", "mine:mp-149",
                                                              "mine:traj:2"]


def test_duplicate_ids_stored_in_the_files_are_a_clear_error_naming_both_frames(tmp_path):
    from ase.io import write

    for name in ("a", "b"):
        atoms = bulk("Cu")
        atoms.info["id"] = "mp-30"
        write(tmp_path / f"{name}.extxyz", atoms)
    with pytest.raises(ValidationError, match=r"'mine:mp-30' occurs twice \(.*a\.extxyz frame 0 "
                                              r"and .*b\.extxyz frame 0\)"):
        len(datasets.from_folder(tmp_path, name="mine"))


def test_single_multi_frame_file_loads_through_file_prefix(tmp_path):
    from ase.io import write

    path = tmp_path / "traj.extxyz"
    write(path, [_labelled(bulk("Cu"), -3.0), _labelled(bulk("Cu"), -3.1)])
    ds = datasets.load(f"file:{path}")
    assert ds.name == "traj" and ds.ids == ["traj:0", "traj:1"]
    assert ds[1].labels["energy"] == -3.1


@pytest.mark.parametrize("filename, fmt", [("NaCl.cif", "cif"), ("POSCAR", "vasp"),
                                           ("NaCl.vasp", "vasp"), ("NaCl.xyz", "extxyz")])
def test_single_structure_file_of_each_format_loads_through_file_prefix(tmp_path, filename, fmt):
    from ase.io import write

    write(tmp_path / filename, bulk("NaCl", "rocksalt", a=5.6), format=fmt)
    ds = datasets.load(f"file:{tmp_path / filename}")
    assert len(ds) == 1 and ds[0].atoms.get_chemical_formula() == "ClNa"
    np.testing.assert_allclose(ds[0].atoms.cell.volume, 5.6**3 / 4, rtol=1e-5)


def test_file_of_no_known_kind_names_the_kinds_that_load(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not data")
    with pytest.raises(ValidationError, match=r"no loader for .*notes\.txt: use a structure file"):
        datasets.load(f"file:{path}")


def test_unreadable_structure_file_is_named(tmp_path):
    (tmp_path / "bad.cif").write_text("data_x\n_cell_length_a oops\n")
    with pytest.raises(CorruptFileError, match="bad.cif"):
        len(datasets.from_folder(tmp_path))


def test_missing_folder_names_the_path_and_what_was_expected(tmp_path):
    with pytest.raises(MissingDataError, match=r"nowhere not found: expected a folder of CIF"):
        datasets.from_folder(tmp_path / "nowhere")


# ---------------------------------------------------------------- SMILES, FASTA, PDB


def test_smiles_csv_with_ids_and_numeric_labels(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("name,SMILES,logp\naspirin,CC(=O)Oc1ccccc1C(=O)O,1.2\nethanol,CCO,-0.3\n")
    ds = datasets.from_smiles_csv(path, id_column="name")
    assert ds.ids == ["mols:aspirin", "mols:ethanol"]
    assert ds[1].smiles == "CCO" and ds[1].labels == {"logp": -0.3}


def test_smiles_csv_invalid_smiles_is_reported_by_record(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("smiles\nCCO\nC1CC(\n")
    with pytest.raises(CorruptFileError, match=r"record 1 \(line 3\) has an invalid SMILES"):
        len(datasets.from_smiles_csv(path))


def test_smiles_csv_without_smiles_column_is_a_clear_error(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CorruptFileError, match="no SMILES column"):
        len(datasets.from_smiles_csv(path))


def test_fasta_records_use_accessions_as_ids(tmp_path):
    path = tmp_path / "globins.fasta"
    path.write_text(">sp|P69905|HBA_HUMAN Hemoglobin alpha\nMVLSPADKTNVKAAWGKVGA\nHAGEYGAEAL\n"
                    ">my_peptide\nACDEFGHIK\n")
    ds = datasets.from_fasta(path)
    assert ds.ids == ["globins:P69905", "globins:my_peptide"]
    assert ds[0].sequence == "MVLSPADKTNVKAAWGKVGAHAGEYGAEAL"


def test_fasta_bad_record_is_reported_by_index(tmp_path):
    path = tmp_path / "bad.fasta"
    path.write_text(">ok\nACDE\n>broken\nAC1DE\n")
    with pytest.raises(CorruptFileError, match=r"record 1 \('broken'\).*bad letters \['1'\]"):
        len(datasets.from_fasta(path))


def test_file_that_is_not_fasta_is_a_clear_error(tmp_path):
    path = tmp_path / "x.fasta"
    path.write_text("ACDE\n")
    with pytest.raises(CorruptFileError, match="is not FASTA"):
        len(datasets.from_fasta(path))


_PDB = """\
ATOM      1  N   ALA A   1      -0.677  -1.230  -0.491  1.00  0.00           N
ATOM      2  CA  ALA A   1      -0.001   0.064  -0.491  1.00  0.00           C
ATOM      3  C   ALA A   1       1.499  -0.110  -0.491  1.00  0.00           C
ATOM      4  O   ALA A   1       2.030  -1.227  -0.502  1.00  0.00           O
ATOM      5  CB  ALA A   1      -0.509   0.856   0.727  1.00  0.00           C
ATOM      6  N   GLY A   2       2.250   0.990  -0.480  1.00  0.00           N
ATOM      7  CA  GLY A   2       3.700   0.900  -0.480  1.00  0.00           C
ATOM      8  C   GLY A   2       4.200   2.330  -0.480  1.00  0.00           C
ATOM      9  O   GLY A   2       3.450   3.300  -0.480  1.00  0.00           O
END
"""


def test_pdb_folder_gives_atoms_and_sequence(tmp_path):
    (tmp_path / "1abc.pdb").write_text(_PDB)
    ds = datasets.from_pdb_folder(tmp_path)
    assert ds.ids == [f"{tmp_path.name}:1abc"]
    assert ds[0].sequence == "AG" and len(ds[0].atoms) == 9
    assert datasets.load(f"file:{tmp_path}").ids == ds.ids


def test_loaders_subset_deterministically_like_registered_datasets(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("smiles\n" + "\n".join("C" * (i + 1) for i in range(30)) + "\n")
    ds = datasets.load(f"file:{path}", n=5, seed=7)
    assert ds.ids == datasets.load(f"file:{path}", n=12, seed=7).ids[:5]
