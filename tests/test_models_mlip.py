"""CHGNet and SevenNet adapters and their random-weights twins: real forward passes of the
checkpoints shipped in the ``chgnet`` and ``sevenn`` wheels on a real crystal and a real QM9
molecule."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from matteralign.datasets.base import Sample
from matteralign.errors import ValidationError
from matteralign.models import chgnet as chgnet_mod
from matteralign.models import sevenn as sevenn_mod
from matteralign.models._weights import torch_threads
from matteralign.models.base import pool


def _qm9_molecule(index: int = 1000) -> Atoms:
    """Molecule ``dsgdb9nsd_<index>`` from the QM9 copy shipped in the ``qm9pack`` wheel."""
    import importlib.util

    import pandas as pd

    root = Path(importlib.util.find_spec("qm9pack").submodule_search_locations[0])
    row = pd.read_csv(root / "data" / "qm9_part1.csv", nrows=index).iloc[index - 1]
    symbols = ast.literal_eval(row["Elements"])
    positions = np.array(ast.literal_eval(row["XYZ_Ang"]), dtype=float)
    return Atoms(symbols=symbols, positions=positions)


def _rotation(seed: int = 3) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def _rotated(atoms: Atoms) -> Atoms:
    r = _rotation()
    out = atoms.copy()
    out.positions = atoms.positions @ r.T
    if atoms.pbc.all():
        out.cell = atoms.cell.array @ r.T
    return out


def _permuted(atoms: Atoms) -> Atoms:
    order = np.random.default_rng(0).permutation(len(atoms))
    return atoms[order]


@pytest.fixture(scope="module")
def crystal() -> Atoms:
    a = bulk("NaCl", "rocksalt", a=5.64) * (2, 1, 1)
    a.rattle(0.05, seed=1)  # break symmetry so that a wrong atom order would show
    return a


@pytest.fixture(scope="module")
def molecule() -> Atoms:
    return _qm9_molecule(1000)


@pytest.fixture(scope="module")
def structures(crystal, molecule):
    return [crystal, molecule]


@pytest.fixture(scope="module")
def chgnet():
    return chgnet_mod.CHGNetAdapter("chgnet-0.3.0")


@pytest.fixture(scope="module")
def chgnet_random():
    return chgnet_mod.CHGNetAdapter("chgnet-0.3.0", seed=0)


@pytest.fixture(scope="module")
def sevennet():
    return _sevennet("sevennet-0")


@pytest.fixture(scope="module")
def sevennet_random():
    return sevenn_mod.SevenNetAdapter("sevennet-0", seed=0)


ADAPTERS = ["chgnet", "chgnet_random", "sevennet", "sevennet_random"]
WIDTH = {"chgnet": 64, "chgnet_random": 64, "sevennet": 128, "sevennet_random": 128}


class _Collector:
    def __init__(self):
        self.entries = {}

    def register(self, info, factory, available=None):
        assert info.name not in self.entries
        self.entries[info.name] = (info, factory, available)


def test_every_shipped_checkpoint_and_its_random_twin_is_registered():
    reg = _Collector()
    chgnet_mod.register(reg)
    sevenn_mod.register(reg)
    expected = {"chgnet-0.3.0", "chgnet-0.2.0", "chgnet-r2scan", "sevennet-0",
                "sevennet-0-22may2024", "sevennet-l3i5", "sevennet-mf-0"}
    assert set(reg.entries) == expected | {f"{n}-random" for n in expected}
    for name, (info, _, available) in reg.entries.items():
        assert available() is True
        assert info.random_weights == name.endswith("-random")
        if info.random_weights:
            assert info.training_data == "none" and info.performance == {}
            assert "seed=0" in info.version


def test_shipped_models_are_listed_by_the_registry():
    from matteralign import models

    names = set(models.names())
    assert {"chgnet-0.3.0", "chgnet-0.3.0-random", "sevennet-mf-0", "sevennet-l3i5-random"} <= names
    assert models.info("sevennet-0").tested_here


@pytest.mark.parametrize("name", ADAPTERS)
def test_features_have_one_row_per_atom_at_every_layer(name, request, structures):
    adapter = request.getfixturevalue(name)
    layers = adapter.info.layers
    if name == "sevennet_random":  # same code path as the trained model; a sample suffices
        layers = ("embedding", "block1", "block3-irreps", "last")
    for layer in layers:
        feats = adapter.atom_features(structures, layer=layer)
        assert [f.shape[0] for f in feats] == [len(a) for a in structures]
        assert all(np.isfinite(f).all() for f in feats)
        if not layer.endswith("-irreps"):
            assert all(f.shape[1] == WIDTH[name] for f in feats), layer


@pytest.mark.parametrize("name", ADAPTERS)
def test_extraction_is_deterministic(name, request, structures):
    adapter = request.getfixturevalue(name)
    first = adapter.atom_features(structures)
    again = adapter.atom_features(structures)
    for a, b in zip(first, again):
        # float32 network: threaded kernels may reorder sums (≲1e-6); state leaking between
        # calls (dropout, caches) would differ by far more
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ADAPTERS)
def test_pooled_vector_is_invariant_to_atom_order(name, request, structures):
    adapter = request.getfixturevalue(name)
    ref = [pool(f) for f in adapter.atom_features(structures)]
    new = [pool(f) for f in adapter.atom_features([_permuted(a) for a in structures])]
    for a, b in zip(ref, new):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ADAPTERS)
def test_pooled_vector_is_invariant_to_rotation(name, request, structures):
    adapter = request.getfixturevalue(name)
    ref = [pool(f) for f in adapter.atom_features(structures)]
    new = [pool(f) for f in adapter.atom_features([_rotated(a) for a in structures])]
    for a, b in zip(ref, new):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_sevennet_irreps_layer_rotates_while_its_scalar_channels_do_not(sevennet, molecule):
    full = sevennet.atom_features([molecule, _rotated(molecule)], layer="block2-irreps")
    scal = sevennet.atom_features([molecule, _rotated(molecule)], layer="block2")
    assert full[0].shape[1] > scal[0].shape[1]
    assert np.abs(full[0] - full[1]).max() > 1e-3  # l > 0 components follow the rotation
    np.testing.assert_allclose(scal[0], scal[1], atol=1e-4)


@pytest.mark.parametrize("trained,twin", [("chgnet", "chgnet_random"), ("sevennet", "sevennet_random")])
def test_random_twin_is_seeded_and_differs_from_the_trained_model(trained, twin, request, crystal):
    t = request.getfixturevalue(trained)
    r = request.getfixturevalue(twin)
    cls = type(r)
    mine = r.atom_features([crystal])[0]
    again = cls(r.checkpoint, seed=0).atom_features([crystal])[0]
    np.testing.assert_allclose(mine, again, rtol=1e-5, atol=1e-6)  # float32: summation order
    if trained == "chgnet":  # (one family suffices: SevenNet rebuilds cost seconds each)
        other = cls(r.checkpoint, seed=1).atom_features([crystal])[0]
        assert np.abs(mine - other).max() > 1e-3
    assert np.abs(mine - t.atom_features([crystal])[0]).max() > 1e-3
    assert r.info.random_weights and r.info.name == t.info.name + "-random"


def test_chgnet_last_layer_is_what_the_energy_readout_reads(chgnet, crystal):
    import torch

    model = chgnet.model
    last = chgnet.atom_features([crystal])[0]
    structure = chgnet_mod.to_structure(crystal)
    graph = model.graph_converter(structure)
    with torch.no_grad():
        site = model.mlp(torch.from_numpy(last)).sum() / len(crystal)
        comp = model.composition_model([graph])
        energy = model([graph], task="e")["e"]
    np.testing.assert_allclose(float(site + comp), float(energy), rtol=1e-5)


def test_sevennet_last_layer_is_what_the_energy_readout_reads(sevennet, crystal):
    import sevenn._keys as KEY
    import torch
    from sevenn.atom_graph_data import AtomGraphData
    from sevenn.calculator import SevenNetCalculator
    from sevenn.train.dataload import unlabeled_atoms_to_graph

    last = torch.from_numpy(sevennet.atom_features([crystal])[0])
    model = sevennet.model
    data = model._preprocess(AtomGraphData.from_numpy_dict(unlabeled_atoms_to_graph(crystal, 5.0)))
    with torch.no_grad():
        for name, module in model._modules.items():
            if name == "force_output":
                break
            data = module(data)
            if name == f"{sevenn_mod.N_BLOCKS - 1}_equivariant_gate":
                data[KEY.NODE_FEATURE] = last  # the readout continues from our features
    a = crystal.copy()
    a.calc = SevenNetCalculator("7net-0", device="cpu")
    with torch_threads(1):
        reference = a.get_potential_energy()
    np.testing.assert_allclose(float(data[KEY.PRED_TOTAL_ENERGY]), reference, rtol=1e-5)


@pytest.mark.parametrize("name", list(chgnet_mod.CHECKPOINTS))
def test_chgnet_metadata_matches_the_loaded_checkpoint(name):
    adapter = chgnet_mod.CHGNetAdapter(name)
    model = adapter.model
    assert adapter.info.n_params == model.n_params
    assert adapter.info.layers == ("embedding",) + tuple(f"conv{i + 1}" for i in range(model.n_conv)) + ("last",)


_SEVENNETS: dict[str, sevenn_mod.SevenNetAdapter] = {}


def _sevennet(name: str) -> sevenn_mod.SevenNetAdapter:
    if name not in _SEVENNETS:
        _SEVENNETS[name] = sevenn_mod.SevenNetAdapter(name)
    return _SEVENNETS[name]


@pytest.mark.parametrize("name", list(sevenn_mod.CHECKPOINTS))
def test_sevennet_metadata_matches_the_loaded_checkpoint(name):
    adapter = _sevennet(name)
    model = adapter.model
    assert adapter.info.n_params == sum(p.numel() for p in model.parameters())
    gates = [k for k in model._modules if k.endswith("_equivariant_gate")]
    assert len(gates) == sevenn_mod.N_BLOCKS
    assert bool(model.modal_map) == (sevenn_mod.CHECKPOINTS[name]["modal"] is not None)


def test_sevennet_mf_0_reads_the_recorded_modal_and_the_modal_matters(crystal):
    pbe = _sevennet("sevennet-mf-0")
    r2scan = sevenn_mod.SevenNetAdapter("sevennet-mf-0", modal="R2SCAN")
    r2scan._model, r2scan._cutoff = pbe.model, pbe._cutoff  # same network, other modal
    assert "modal=PBE" in pbe.info.version
    a = pbe.atom_features([crystal])[0]
    b = r2scan.atom_features([crystal])[0]
    assert np.abs(a - b).max() > 1e-4


def test_molecule_goes_into_a_box_wider_than_the_chgnet_cutoff(molecule):
    s = chgnet_mod.to_structure(molecule)
    extent = np.ptp(molecule.positions, axis=0)
    gap = np.array(s.lattice.abc) - extent
    assert np.all(gap >= 2 * chgnet_mod.VACUUM - 1e-9)
    assert 2 * chgnet_mod.VACUUM > 6.0  # CHGNet 0.3.0 atom-graph cutoff


def test_mixed_periodicity_is_refused(crystal):
    slab = crystal.copy()
    slab.pbc = [True, True, False]
    with pytest.raises(ValidationError, match="pbc"):
        chgnet_mod.to_structure(slab)


@pytest.mark.parametrize("name", ["chgnet", "sevennet"])
def test_unknown_layer_is_refused_naming_the_valid_ones(name, request, crystal):
    with pytest.raises(ValidationError, match="last"):
        request.getfixturevalue(name).atom_features([crystal], layer="conv99")


def test_extraction_uses_the_requested_torch_threads_and_restores_them(chgnet, crystal):
    import torch

    seen = []
    handle = chgnet.model.atom_embedding.register_forward_hook(
        lambda *_: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    try:
        chgnet.atom_features([crystal])
    finally:
        handle.remove()
    assert seen == [chgnet.threads] == [1]
    assert torch.get_num_threads() == before


def test_embed_gives_one_pooled_vector_per_sample(chgnet, crystal, molecule):
    samples = [Sample("nacl", atoms=crystal), Sample("qm9-1000", atoms=molecule)]
    emb = chgnet.embed(samples, progress=False)
    assert emb.dims == ("sample", "feature")
    assert list(emb["sample"].values) == ["nacl", "qm9-1000"]
    assert emb.shape == (2, 64)


# ------------------------------------------------------------------ batched extraction
@pytest.fixture(scope="module")
def mixed_batch():
    """Real shipped structures of a molecule set and a crystal set, of different sizes
    (13–25 atoms; isolated molecules and periodic crystals in the same forward pass)."""
    from matteralign import datasets

    samples = list(datasets.load("qm9", n=3, seed=0)) + list(datasets.load("mptrj-random", n=3, seed=0))
    assert len({len(s.atoms) for s in samples}) >= 4
    assert {bool(s.atoms.pbc.all()) for s in samples} == {True, False}
    return samples


def _assert_same_features(per_structure, batched):
    assert [f.shape for f in batched] == [f.shape for f in per_structure]
    for a, b in zip(per_structure, batched):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["sevennet-0", "sevennet-mf-0"])
def test_sevennet_batched_features_equal_the_per_structure_path(name, mixed_batch):
    one = _sevennet(name)
    batched = sevenn_mod.SevenNetAdapter(name, batch_size=4)  # batches of 4 and 2 structures
    batched._model, batched._cutoff = one.model, one._cutoff
    single = sevenn_mod.SevenNetAdapter(name, batch_size=1)
    single._model, single._cutoff = one.model, one._cutoff
    for layer in ("embedding", "block2-irreps", "last"):
        _assert_same_features(single.atom_features(mixed_batch, layer), batched.atom_features(mixed_batch, layer))


def test_chgnet_batched_features_equal_the_per_structure_path(chgnet, mixed_batch):
    batched = chgnet_mod.CHGNetAdapter("chgnet-0.3.0", batch_size=4)
    single = chgnet_mod.CHGNetAdapter("chgnet-0.3.0", batch_size=1)
    batched._model = single._model = chgnet.model
    for layer in ("conv1", "last"):
        _assert_same_features(single.atom_features(mixed_batch, layer), batched.atom_features(mixed_batch, layer))


@pytest.mark.parametrize("family", ["chgnet", "sevennet"])
@pytest.mark.parametrize("batch_size,passes", [(1, 6), (4, 2), (16, 1)])
def test_each_forward_pass_holds_batch_size_structures(family, batch_size, passes, request, mixed_batch):
    shared = request.getfixturevalue(family)
    if family == "chgnet":
        adapter = chgnet_mod.CHGNetAdapter("chgnet-0.3.0", batch_size=batch_size)
        adapter._model = shared.model
        first = shared.model.atom_embedding
    else:
        adapter = sevenn_mod.SevenNetAdapter("sevennet-0", batch_size=batch_size)
        adapter._model, adapter._cutoff = shared.model, shared._cutoff
        first = shared.model._modules["onehot_to_feature_x"]
    rows = []
    handle = first.register_forward_hook(lambda _m, _i, out: rows.append(_rows(out)))
    try:
        adapter.atom_features(mixed_batch)
    finally:
        handle.remove()
    sizes = [len(s.atoms) for s in mixed_batch]
    assert rows == [sum(sizes[a : a + batch_size]) for a in range(0, len(sizes), batch_size)]
    assert len(rows) == passes


def _rows(out) -> int:
    """Rows (atoms) of a module's output: a tensor (CHGNet) or SevenNet's data dict."""
    import sevenn._keys as KEY
    import torch

    return int((out if isinstance(out, torch.Tensor) else out[KEY.NODE_FEATURE]).shape[0])


@pytest.mark.parametrize("cls", [chgnet_mod.CHGNetAdapter, sevenn_mod.SevenNetAdapter])
def test_a_batch_size_below_one_is_refused(cls):
    with pytest.raises(ValidationError, match="batch_size"):
        cls(batch_size=0)


def test_sevennet_extraction_restores_the_callers_torch_threads(sevennet, crystal):
    import torch

    before = torch.get_num_threads()
    seen = []
    module = sevennet.model._modules["onehot_to_feature_x"]
    handle = module.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    torch.set_num_threads(2)  # the caller's setting differs from the adapter's (1)
    try:
        sevennet.atom_features([crystal])
        after = torch.get_num_threads()
    finally:
        handle.remove()
        torch.set_num_threads(before)
    assert seen == [sevennet.threads] == [1]
    assert after == 2


def test_chgnet_embeds_a_structure_with_an_atom_beyond_its_graph_cutoff():
    """A few MPtrj frames have an atom with no neighbour within 6 Å; CHGNet's converter
    refuses them by default, which would drop them from every comparison."""
    from ase import Atoms

    from matteralign import models
    from matteralign.datasets.base import Sample

    lonely = Atoms("NaClNa", positions=[[0, 0, 0], [0, 0, 2.8], [15, 15, 15]], cell=[30, 30, 30],
                   pbc=True)  # the second Na is 23 Å from the others
    emb = models.get("chgnet-0.3.0").embed([Sample("lonely", atoms=lonely)], progress=False)
    assert emb.shape == (1, 64) and np.isfinite(emb.values).all()
