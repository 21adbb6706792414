"""One battery over every registered model (scikit-learn's ``check_estimator`` lesson):
adding a model adds its tests.

Models whose weights are here: metadata, one finite row per sample, determinism, per-atom
output consistent with the pooled vector, permutation invariance of the pooled vector under
atom reordering (atom-input models) and rotation invariance (models that declare it).
Models without weights: ``embed`` raises ``MissingWeightsError`` naming a file path and a
download source.

Each model sees two or three tiny real structures chosen by what it reads and the domains it
applies to, and is loaded once per session (the registry caches instances).
"""

import re

import numpy as np
import pytest
from ase.build import bulk, molecule

from matteralign.datasets.base import Dataset, DatasetInfo, Sample
from matteralign.errors import MissingWeightsError, ValidationError
from matteralign.models import POOLINGS, registry
from matteralign.models.base import GLOBAL_POOLING, MODALITIES

NAMES = registry.names()
_AVAIL = {n: registry.availability(n) for n in NAMES}
HERE = [n for n in NAMES if _AVAIL[n][0]]
MISSING = [n for n in NAMES if not _AVAIL[n][0]]
ATOM_INPUT = [n for n in HERE if registry.info(n).input == "atoms"]
ROTATION_INVARIANT = [n for n in ATOM_INPUT if registry.info(n).rotation_invariant]
PER_ATOM = [n for n in HERE if registry.info(n).granularity != "structure"]
SMILES_INPUT = [n for n in HERE if registry.info(n).input == "smiles"]


def _molecules():
    return [Sample("methanol", atoms=molecule("CH3OH"), smiles="CO"),
            Sample("ethanol", atoms=molecule("CH3CH2OH"), smiles="CCO")]


def _crystals():
    return [Sample("nacl", atoms=bulk("NaCl", "rocksalt", a=5.64)),
            Sample("sic", atoms=bulk("SiC", "zincblende", a=4.36))]


def _proteins():
    return [Sample("pep1", sequence="MKTAYIAKQRQISFVKSHFSRQ"), Sample("pep2", sequence="GSHMSLFDFFKNKG")]


def battery_dataset(name: str) -> Dataset:
    """Two or three structures the model can read."""
    info = registry.info(name)
    domains = set(info.domains)
    if info.input == "sequence" or domains == {"proteins"}:
        samples, domain = _proteins(), "proteins"
    elif info.input == "smiles" or domains and "materials" not in domains:
        samples, domain = _molecules(), "molecules"
    elif domains and "molecules" not in domains:
        samples, domain = _crystals(), "materials"
    else:
        samples, domain = [_molecules()[1], *_crystals()], ""
    return Dataset(DatasetInfo(f"battery-{domain or 'mixed'}", domain, version="1"), samples)


_EMB: dict = {}


def embedded(name: str):
    """The model's default embedding of its battery dataset, computed once per session."""
    if name not in _EMB:
        ds = battery_dataset(name)
        _EMB[name] = (ds, registry.get(name).embed(ds, progress=False))
    return _EMB[name]


def _reverse(atoms):
    return atoms[list(range(len(atoms)))[::-1]]


def _rotate(atoms):
    atoms = atoms.copy()
    atoms.rotate(37.0, (1.0, 2.0, 0.5), center="COP", rotate_cell=True)
    atoms.rotate(71.0, "z", center="COP", rotate_cell=True)
    return atoms


_VARIANTS: dict = {}


def variants(name: str) -> dict:
    """A second, independent call on the battery samples plus their atom-reversed and
    rotated copies, all in one batch: ``{"again": ..., "reversed": ..., "rotated": ...}``
    arrays aligned with the battery dataset. One call keeps slow models cheap and also checks
    that a sample's vector does not depend on the other samples of its batch."""
    if name not in _VARIANTS:
        ds, _ = embedded(name)
        kinds = {"again": lambda a: a}
        if name in ATOM_INPUT:
            kinds["reversed"] = _reverse
        if name in ROTATION_INVARIANT:
            kinds["rotated"] = _rotate
        samples = [Sample(f"{s.id}~{kind}", atoms=how(s.atoms) if s.atoms is not None else None,
                          smiles=s.smiles, sequence=s.sequence, labels=s.labels)
                   for kind, how in kinds.items() for s in ds]
        emb = registry.get(name).embed(Dataset(ds.info, samples), progress=False)
        _VARIANTS[name] = {kind: emb.sel(sample=[f"{i}~{kind}" for i in ds.ids]).values for kind in kinds}
    return _VARIANTS[name]


def _close(a, b, what):
    scale = max(1.0, float(np.abs(a).max()))
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * scale, err_msg=what)


# --------------------------------------------------------------------------- every model
@pytest.mark.parametrize("name", NAMES)
def test_metadata_is_complete(name):
    info = registry.info(name)
    assert info.name == name
    assert info.modality in MODALITIES
    assert info.family and info.architecture
    assert info.input in ("atoms", "smiles", "sequence")
    assert info.granularity in ("atom", "token", "structure")
    assert info.layers and len(set(info.layers)) == len(info.layers)
    assert info.version, "a version is part of the cache key"
    assert set(info.domains) <= {"molecules", "materials", "biomolecules", "proteins"}
    if info.architecture == "fixed-descriptor":
        assert not info.random_weights and info.modality == "descriptor"


# --------------------------------------------------------------------------- models with weights
@pytest.mark.parametrize("name", HERE)
def test_one_finite_row_per_sample(name):
    ds, emb = embedded(name)
    assert emb.dims == ("sample", "feature")
    assert emb["sample"].values.tolist() == ds.ids
    assert emb.sizes["feature"] >= 1
    assert np.isfinite(emb.values).all()
    assert emb.attrs["model"] == name
    assert emb.attrs["pooling"] == registry.info(name).poolings[0]


@pytest.mark.parametrize("name", HERE)
def test_embedding_is_deterministic_and_independent_of_the_batch(name):
    _, emb = embedded(name)
    _close(variants(name)["again"], emb.values, f"{name}: two runs (different batches) differ")


@pytest.mark.parametrize("name", HERE)
def test_unknown_layer_and_pooling_are_rejected(name):
    ds, _ = embedded(name)
    adapter = registry.get(name)
    with pytest.raises(ValidationError, match="valid layers"):
        adapter.embed(ds, layer="no-such-layer")
    with pytest.raises(ValidationError, match="pooling"):
        adapter.embed(ds, pooling="median")


@pytest.mark.parametrize("name", PER_ATOM)
def test_per_atom_rows_average_to_the_pooled_vector(name):
    ds, emb = embedded(name)
    adapter = registry.get(name)
    rows = adapter.embed_atoms(ds, progress=False)
    assert rows.dims == ("atom", "feature") and rows.sizes["feature"] == emb.sizes["feature"]
    means = rows.groupby("sample").mean().sel(sample=ds.ids)
    _close(means.values, emb.values, f"{name}: mean of per-atom rows != pooled mean")
    assert set(POOLINGS) <= set(registry.info(name).poolings)  # pooling maths: test_models_registry


@pytest.mark.parametrize("name", ATOM_INPUT)
def test_pooled_vector_is_invariant_to_atom_order(name):
    _, emb = embedded(name)
    _close(variants(name)["reversed"], emb.values, f"{name}: pooled vector changes when atoms are reordered")


@pytest.mark.parametrize("name", ROTATION_INVARIANT)
def test_pooled_vector_is_invariant_to_rotation(name):
    _, emb = embedded(name)
    _close(variants(name)["rotated"], emb.values, f"{name}: pooled vector changes under rotation")


def _smiles_dataset(smiles: dict[str, str]) -> Dataset:
    return Dataset(DatasetInfo("battery-smiles", "molecules", version="1"),
                   [Sample(i, smiles=s) for i, s in smiles.items()])


@pytest.mark.parametrize("name", SMILES_INPUT)
def test_a_malformed_smiles_is_refused_naming_the_sample(name):
    ds = _smiles_dataset({"fine": "CCO", "broken": "C1CC(=O"})
    with pytest.raises(ValidationError, match="'broken'"):
        registry.get(name).embed(ds, progress=False)


@pytest.mark.parametrize("name", SMILES_INPUT)
def test_a_long_molecule_in_the_batch_does_not_change_the_others(name):
    short = {"methanol": "CO", "ethanol": "CCO", "benzene": "c1ccccc1"}
    adapter = registry.get(name)
    alone = adapter.embed(_smiles_dataset(short), progress=False)
    joined = adapter.embed(_smiles_dataset({**short, "c300": "C" * 300}), progress=False)
    _close(joined.sel(sample=list(short)).values, alone.values, f"{name}: a long SMILES changed the others")


@pytest.mark.parametrize("name", SMILES_INPUT)
def test_an_over_long_smiles_is_refused_naming_it_or_read_as_any_other(name):
    # 600 characters: over ChemNet's 349 and RXN-BERT's 512 tokens, and short enough that
    # RDKit's descriptors (some cubic in the atom count) take a second, not minutes
    ds = _smiles_dataset({"ethanol": "CCO", "c600": "C" * 600})
    try:
        emb = registry.get(name).embed(ds, progress=False)
    except ValidationError as exc:
        assert "'c600'" in str(exc) and "\n" not in str(exc), str(exc)
    else:
        assert np.isfinite(emb.values).all() and emb.sizes["sample"] == 2


# --------------------------------------------------------------------------- models without weights
_NONE_MISSING = pytest.param(
    None, marks=pytest.mark.skip(reason="every registered model has its weights on this machine"))


@pytest.mark.parametrize("name", MISSING or [_NONE_MISSING])
def test_model_without_weights_says_which_file_and_where_to_get_it(name):
    ds = battery_dataset(name)
    with pytest.raises(MissingWeightsError) as exc:
        registry.get(name).embed(ds, progress=False)
    message = str(exc.value)
    assert re.search(r"[/\\]\S+", message), f"{name}: message names no file path: {message}"
    assert re.search(r"https?://|pip install|huggingface", message), \
        f"{name}: message names no download source: {message}"


def test_structure_level_models_only_pool_with_none():
    for name in NAMES:
        info = registry.info(name)
        if info.granularity == "structure":
            assert info.poolings == (GLOBAL_POOLING,)
