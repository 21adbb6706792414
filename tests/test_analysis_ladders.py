"""The ladders in the analysis (notebook 07): untrained twins of rungs, the rung table, pairs of
rungs and their statistics, and the out-of-distribution set of QM9-trained models — on tiny
real rungs trained here (100 QM9 molecules, width 16, 2 epochs; a few seconds each)."""

import numpy as np
import pandas as pd
import pytest
import torch

from matteralign import datasets, metrics
from matteralign.analysis import compute, ladders
from matteralign.errors import UnknownNameError, ValidationError
from matteralign.models import registry
from matteralign.models.ladder import register_folder
from matteralign.train.__main__ import write_rung
from matteralign.train.config import RungConfig
from matteralign.train.loop import build_net, train

# (architecture, train_size, seed): two seeds of one size, a larger rung, a second modality
RUNGS = [("mpnn", 100, 0), ("mpnn", 100, 1), ("mpnn", 300, 0), ("schnet", 100, 0),
         ("transformer", 100, 0)]
LADDER = "tiny"


def tiny(architecture, train_size, seed):
    return RungConfig(architecture=architecture, train_size=train_size, width=16, depth=2,
                      seed=seed, epochs=2, patience=2, batch_size=32, val_size=50,
                      test_size=100, ladder=LADDER)


@pytest.fixture(scope="module")
def rungs(tmp_path_factory):
    """The tiny rungs, trained once, registered (with their twins) for the module."""
    folder = tmp_path_factory.mktemp("models")
    trained = {}
    for spec in RUNGS:
        rung = train(tiny(*spec), progress=False)
        write_rung(rung, folder / LADDER / rung.config.rung)
        trained[rung.config.model_name] = rung
    names = register_folder(folder)
    yield trained
    for name in names:
        registry.unregister(name)


@pytest.fixture(scope="module")
def embedded(rungs):
    """Embeddings of 60 QM9 molecules by every tiny rung and its twin."""
    names = [*rungs, *(f"{n}-random" for n in rungs)]
    collection, skipped = compute.embed_models(names, datasets.load("qm9", n=60, seed=0))
    assert not skipped
    return collection


# --------------------------------------------------------------------------- untrained twins
def test_every_rung_registers_an_untrained_twin_marked_as_such(rungs):
    for name in rungs:
        twin = registry.info(f"{name}-random")
        assert twin.random_weights and twin.training_data == "none" and not twin.performance
        assert twin.modality == registry.info(name).modality
        assert twin.version.startswith("random-init seed=") and registry.info(name).version in \
            twin.version


def test_a_twin_holds_the_weights_its_rung_started_training_from(rungs):
    name = "ladder-tiny-mpnn-n100-w16-s1"
    rung = rungs[name]
    torch.manual_seed(rung.config.seed)  # as matteralign.train.loop.train does
    initial = build_net(rung.config, rung.featurizer).state_dict()
    twin = registry.get(f"{name}-random").rung.net.state_dict()
    assert set(twin) == set(initial)
    for key, value in initial.items():
        torch.testing.assert_close(twin[key], value, rtol=0, atol=0)
    assert not torch.allclose(twin["embed.weight"], rung.net.state_dict()["embed.weight"])


def test_a_twin_reads_its_rungs_vocabulary(rungs):
    name = "ladder-tiny-transformer-n100-w16-s0"
    twin = registry.get(f"{name}-random").rung
    assert twin.featurizer.vocab == rungs[name].featurizer.vocab


# --------------------------------------------------------------------------- the rung table
def test_rung_table_lists_every_rung_with_its_metadata_errors_and_twin(rungs):
    table = ladders.rung_table(LADDER)
    assert sorted(table.index) == sorted(rungs)
    row = table.loc["ladder-tiny-mpnn-n100-w16-s1"]
    assert (row.modality, row.train_size, row.width, row.seed) == ("graph", 100, 16, 1)
    assert row.twin == "ladder-tiny-mpnn-n100-w16-s1-random"
    assert row.test_mae_gap == pytest.approx(
        rungs["ladder-tiny-mpnn-n100-w16-s1"].metrics["test_mae"]["gap"])
    assert ladders.error_unit(table, "test_mae_energy_per_atom") == "eV/atom"


def test_rung_table_refuses_a_twin_or_another_ladders_model(rungs):
    with pytest.raises(ValidationError, match="not a trained rung"):
        ladders.rung_table(LADDER, ["ladder-tiny-mpnn-n100-w16-s0-random"])
    with pytest.raises(ValidationError, match="not a trained rung"):
        ladders.rung_table(LADDER, ["chgnet-0.3.0"])
    with pytest.raises(UnknownNameError):
        ladders.rung_table(LADDER, ["ladder-tiny-mpnn-n100-w99-s0"])


def test_a_ladder_without_rungs_says_how_to_train_them_unless_empty_is_allowed():
    with pytest.raises(ValidationError, match="python -m matteralign.train"):
        ladders.rung_table("no-such-ladder")
    assert ladders.rung_table("no-such-ladder", allow_empty=True).empty


def test_the_best_rung_of_each_modality_has_its_lowest_error(rungs):
    table = ladders.rung_table(LADDER)
    err = ladders.pick_error(table)
    assert err == "test_mae_energy_per_atom"
    best = ladders.best_per_modality(table, err)
    assert set(best) == {"graph", "3d", "string"}
    graph = table[table.modality == "graph"]
    assert best["graph"] == graph[err].idxmin()
    assert ladders.by_modality(table, err)[0] == best["string"]


def test_seed_pairs_pair_rungs_that_differ_only_in_their_seed(rungs):
    sp = ladders.seed_pairs(ladders.rung_table(LADDER))
    assert sp[["unit", "model_a", "model_b", "train_size"]].values.tolist() == [
        ["mpnn w16 s0×s1", "ladder-tiny-mpnn-n100-w16-s0", "ladder-tiny-mpnn-n100-w16-s1", 100]]
    assert ladders.seed_pairs(ladders.rung_table(LADDER), sizes=[300]).empty
    twins = ladders.twin_pairs(sp, registry.names())
    assert twins[["model_a", "model_b"]].values.tolist() == [
        ["ladder-tiny-mpnn-n100-w16-s0-random", "ladder-tiny-mpnn-n100-w16-s1-random"]]


# --------------------------------------------------------------------------- pairs of rungs
def test_pair_matrix_is_the_symmetrised_tensor_between_two_groups(rungs, embedded):
    names = list(rungs)
    tensor = compute.cached_alignment(embedded[names], metrics=("cknna",), k=5, use_cache=False)
    rows, cols = names[:2], names[3:]
    mat = ladders.pair_matrix(tensor, "cknna", rows, cols)
    t = tensor.sel(metric="cknna")
    expected = 0.5 * (float(t.sel(model_a=rows[1], model_b=cols[0]))
                      + float(t.sel(model_a=cols[0], model_b=rows[1])))
    assert mat.shape == (2, 2) and mat.loc[rows[1], cols[0]] == pytest.approx(expected, abs=1e-12)


def test_pair_rank_correlation_is_exact_over_relabellings_of_the_models():
    # Alignment falling exactly with the larger error of a pair: ρ = −1. Of the 2!·3! = 12
    # relabellings of the models' errors, those giving |ρ| = 1 are counted by brute force.
    errors = pd.Series({"a1": 0.1, "a2": 0.4, "b1": 0.2, "b2": 0.3, "b3": 0.5})
    combined = np.maximum(errors[["a1", "a2"]].to_numpy()[:, None],
                          errors[["b1", "b2", "b3"]].to_numpy()[None, :])
    matrix = pd.DataFrame(1.0 - combined, index=["a1", "a2"], columns=["b1", "b2", "b3"])
    pr = ladders.pair_rank_correlation(matrix, errors, n_perm=999)
    assert pr.rho == pytest.approx(-1.0) and pr.n_pairs == 6 and "exact over 12" in pr.p_method
    from itertools import permutations

    from scipy.stats import spearmanr

    hits = 0
    for pa in permutations([0.1, 0.4]):
        for pb in permutations([0.2, 0.3, 0.5]):
            c = np.maximum(np.array(pa)[:, None], np.array(pb)[None, :]).ravel()
            hits += abs(spearmanr(c, matrix.to_numpy().ravel())[0]) >= 1 - 1e-12
    assert pr.p_value == pytest.approx(hits / 12)


def test_pair_rank_correlation_needs_an_error_for_every_model():
    matrix = pd.DataFrame([[0.1, 0.2], [0.3, 0.4]], index=["a", "b"], columns=["c", "d"])
    with pytest.raises(ValidationError, match="no finite error for 'd'"):
        ladders.pair_rank_correlation(matrix, {"a": 1.0, "b": 2.0, "c": 3.0})


def test_pair_replicates_give_cknna_on_all_samples_inside_its_interval(rungs, embedded):
    pairs = [("ladder-tiny-mpnn-n100-w16-s0", "ladder-tiny-mpnn-n100-w16-s1"),
             ("ladder-tiny-mpnn-n100-w16-s0", "ladder-tiny-schnet-n100-w16-s0")]
    rep = ladders.pair_replicates(embedded, pairs, k=5, n_boot=20, seed=0)
    for (a, b), row in zip(pairs, rep.table.itertuples(), strict=True):
        assert row.value == pytest.approx(metrics.cknna(embedded[a].values, embedded[b].values,
                                                        k=5), abs=1e-9)
        assert row.low <= row.value <= row.high
    assert rep.replicates.shape == (20, 2) and rep.subset_size == 30
    value, low, high = rep.interval([1.0, -1.0])
    assert value == pytest.approx(rep.table.value[0] - rep.table.value[1], abs=1e-12)
    assert low <= value <= high
    assert rep.interval([1.0, 0.0]) == pytest.approx(tuple(rep.table.iloc[0][["value", "low",
                                                                             "high"]]))


def test_pair_replicates_refuse_a_model_that_did_not_embed(embedded):
    with pytest.raises(UnknownNameError):
        ladders.pair_replicates(embedded, [("ladder-tiny-mpnn-n100-w16-s0", "nope")], k=5)


# --------------------------------------------------------------------------- out of distribution
def test_the_qm9_element_subset_of_nci_organics_holds_only_h_c_n_o_f():
    full = {s.id: s for s in datasets.load("nci-organics")}
    sub = datasets.load("nci-organics-qm9-elements")
    assert len(sub) == datasets.info("nci-organics-qm9-elements").size >= 1000
    assert all(set(s.atoms.numbers.tolist()) <= {1, 6, 7, 8, 9} for s in sub)
    others = [s for s in full.values() if not set(s.atoms.numbers.tolist()) <= {1, 6, 7, 8, 9}]
    assert len(sub) + len(others) == len(full)
    first = sub[0]
    assert np.allclose(first.atoms.positions, full[first.id].atoms.positions)


def _with_sulfur():
    return next(s for s in datasets.load("nci-organics", n=50, seed=0)
                if 16 in s.atoms.numbers)


def test_a_schnet_rung_refuses_an_element_it_never_saw_with_one_clear_error(rungs):
    model = registry.get("ladder-tiny-schnet-n100-w16-s0")
    with pytest.raises(ValidationError, match="element S is not among the elements") as err:
        model.embed([_with_sulfur()], progress=False)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["ladder-tiny-mpnn-n100-w16-s0",
                                  "ladder-tiny-transformer-n100-w16-s0"])
def test_string_and_graph_rungs_read_other_elements_as_unknown(rungs, name):
    # the transformer maps unseen tokens to <unk>, the MPNN's element one-hot has "other"
    v = registry.get(name).embed([_with_sulfur()], progress=False).values
    assert v.shape == (1, 16) and np.isfinite(v).all()
