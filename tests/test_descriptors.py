"""Fixed-descriptor models compute what they claim (values, not just shapes); the generic
invariance checks live in test_model_battery.py."""

import pickle

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule

from matteralign import models
from matteralign.datasets.base import Dataset, DatasetInfo, Sample
from matteralign.errors import ValidationError
from matteralign.models.descriptors import ACSFModel, CoulombEigenModel, MBTRModel, SOAPModel
from matteralign.models.rdkit_models import EXCLUDED_2D, RDKit2DModel

QM9_LIKE = {"CH3CH2OH": "CCO", "C6H6": "c1ccccc1", "CH3COOH": "CC(=O)O", "CH3CONH2": "CC(N)=O", "C5H5N": "c1ccncc1",
            "CH3CN": "CC#N", "C4H4O": "c1ccoc1", "CH3NO2": "C[N+](=O)[O-]"}


def _ds(samples, domain="molecules"):
    return Dataset(DatasetInfo("t", domain, version="1"), samples)


def test_composition_mean_is_fractional_and_sum_is_counts():
    ds = _ds([Sample("nacl", atoms=bulk("NaCl", "rocksalt", a=5.64) * (2, 1, 1))], "materials")
    mean = models.get("composition").embed(ds, progress=False).values[0]
    total = models.get("composition").embed(ds, pooling="sum", progress=False).values[0]
    assert mean[10] == mean[16] == 0.5 and mean.sum() == 1.0
    assert total[10] == total[16] == 2.0


def test_coulomb_eigenvalues_of_h2_are_analytic():
    d = 0.74
    h2 = Atoms("H2", positions=[[0, 0, 0], [0, 0, d]])
    eig = models.get("coulomb-eigen").embed(_ds([Sample("h2", atoms=h2)]), progress=False).values[0]
    np.testing.assert_allclose(eig[:2], [0.5 + 1 / d, 0.5 - 1 / d])
    assert np.all(eig[2:] == 0) and eig.shape == (350,)


def test_coulomb_rejects_crystals_and_large_molecules():
    with pytest.raises(ValidationError, match="'si' is periodic"):
        models.get("coulomb-eigen").embed([Sample("si", atoms=bulk("Si"))])
    with pytest.raises(ValidationError, match="n_atoms_max=4"):
        CoulombEigenModel(n_atoms_max=4).embed([Sample("eth", atoms=molecule("CH3CH2OH"))])


def test_morgan_from_3d_atoms_matches_morgan_from_smiles():
    m = models.get("morgan")
    for formula, smiles in QM9_LIKE.items():
        from_smiles = m.embed([Sample(formula, smiles=smiles)], progress=False).values
        from_atoms = m.embed([Sample(formula, atoms=molecule(formula))], progress=False).values
        np.testing.assert_array_equal(from_atoms, from_smiles, err_msg=formula)
    assert from_smiles.shape == (1, 2048) and set(np.unique(from_smiles)) <= {0.0, 1.0}


def test_morgan_refuses_a_crystal_without_smiles():
    with pytest.raises(ValidationError, match="'si' is periodic"):
        models.get("morgan").embed([Sample("si", atoms=bulk("Si"))])


def test_rdkit_2d_is_finite_on_qm9_like_molecules_and_drops_nan_prone_descriptors():
    m = RDKit2DModel()
    emb = m.embed(_ds([Sample(f, smiles=s) for f, s in QM9_LIKE.items()]), progress=False)
    assert np.isfinite(emb.values).all() and emb.sizes["feature"] == len(m.descriptor_names)
    assert not set(EXCLUDED_2D) & set(m.descriptor_names)
    assert not any(n.startswith("BCUT2D_") for n in m.descriptor_names)
    weight = m.descriptor_names.index("MolWt")
    assert emb.sel(sample="CH3CH2OH").values[weight] == pytest.approx(46.069, abs=1e-3)


def test_soap_has_one_row_per_atom_and_the_documented_size():
    rows = models.get("soap").embed_atoms([molecule("CH3CH2OH")], progress=False)
    assert rows.shape == (9, 94 * 4 * 4 * 4)
    assert rows["element"].values.tolist().count("H") == 6


def test_soap_and_acsf_cover_every_element_of_a_crystal():
    ds = _ds([Sample("gaas", atoms=bulk("GaAs", "zincblende", a=5.65)),
              Sample("u", atoms=bulk("Cu", a=3.6))], "materials")
    for name in ("soap", "acsf"):
        emb = models.get(name).embed(ds, progress=False)
        assert np.isfinite(emb.values).all() and np.abs(emb.values).sum() > 0


def test_descriptor_distinguishes_different_structures():
    ds = _ds([Sample("fcc", atoms=bulk("Cu", "fcc", a=3.6)), Sample("bcc", atoms=bulk("Cu", "bcc", a=2.87))],
             "materials")
    emb = models.get("soap").embed(ds, progress=False).values
    assert not np.allclose(emb[0], emb[1])


def test_species_outside_the_model_are_named():
    with pytest.raises(ValidationError, match=r"'nacl' contains Na.*species=\[\.\.\.\]"):
        SOAPModel(species=["H", "C", "Cl"], compression="off").embed(
            [Sample("nacl", atoms=bulk("NaCl", "rocksalt", a=5.64))])
    with pytest.raises(ValidationError, match="'nacl' contains Na"):
        MBTRModel(other=False).embed([Sample("nacl", atoms=bulk("NaCl", "rocksalt", a=5.64))])


def test_mbtr_puts_elements_outside_its_species_in_one_other_channel():
    def complex_of(metal):
        return Atoms(f"{metal}Cl2", positions=[[0, 0, 0], [2.1, 0, 0], [-2.1, 0, 0]])

    m = models.get("mbtr")
    cu, zn = (m.embed([Sample(x, atoms=complex_of(x))], progress=False).values for x in ("Cu", "Zn"))
    # float descriptor values: equal up to summation order (rtol 1e-6); another channel is O(1)
    np.testing.assert_allclose(cu, zn, rtol=1e-6, atol=1e-9)
    organic = m.embed([Sample("ccl2", atoms=complex_of("C"))], progress=False).values
    assert not np.allclose(cu, organic)


def test_parameters_change_the_version():
    assert SOAPModel().info.version != SOAPModel(r_cut=4.0).info.version
    assert ACSFModel().info.version != ACSFModel(species=["H", "C"]).info.version
    assert SOAPModel().info.version == models.info("soap").version


def test_mbtr_works_on_a_periodic_organic_crystal():
    ice = Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]], cell=[4, 4, 4], pbc=True)
    emb = MBTRModel().embed([Sample("ice", atoms=ice)], progress=False)
    assert emb.shape == (1, 66 * 50) and np.isclose(np.linalg.norm(emb.values), 1.0)


@pytest.mark.parametrize("name", ["soap", "acsf", "mbtr", "morgan", "rdkit-2d", "coulomb-eigen", "composition"])
def test_descriptor_models_survive_pickling(name):
    ds = [Sample("eth", atoms=molecule("CH3CH2OH"), smiles="CCO")]
    m = models.get(name)
    before = m.embed(ds, progress=False).values
    clone = pickle.loads(pickle.dumps(m))
    # recomputed floats: equal up to summation order (rtol 1e-6), not bit for bit
    np.testing.assert_allclose(clone.embed(ds, progress=False).values, before, rtol=1e-6, atol=1e-9)
