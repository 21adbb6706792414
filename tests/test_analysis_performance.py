"""Energy/force predictions of the MLIPs (analysis.performance): the fast paths give the same
numbers as the packages' own ASE calculators, one structure at a time."""

import numpy as np
import pytest

from matteralign.analysis import compute, performance
from matteralign.models._weights import torch_threads

pytest.importorskip("chgnet", reason="chgnet is an optional model package")
pytest.importorskip("sevenn", reason="sevenn is an optional model package")

N_STRUCTURES = 4


@pytest.fixture(scope="module")
def structures():
    return compute.load_dataset("mptrj-random", N_STRUCTURES, 0)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MATTERALIGN_CACHE", str(tmp_path))
    monkeypatch.setenv("MATTERALIGN_STORE", "0")  # these compare the compute paths themselves


def _per_atom(pred):
    return np.asarray(pred["energy"].values) / np.asarray(pred["n_atoms"].values)


def test_batched_chgnet_matches_its_ase_calculator(structures):
    batched = performance.predict("chgnet-0.3.0", structures, use_cache=False)
    one_by_one = performance.predict("chgnet-0.3.0", structures, use_cache=False,
                                     method="calculator")
    np.testing.assert_allclose(_per_atom(batched), _per_atom(one_by_one), rtol=0, atol=1e-6)
    np.testing.assert_allclose(batched["forces"].values, one_by_one["forces"].values,
                               rtol=0, atol=1e-6)


def test_sevennet_matches_the_calculator_sevenn_builds_from_its_checkpoint(structures):
    from sevenn.calculator import SevenNetCalculator

    pred = performance.predict("sevennet-0", structures, use_cache=False)
    calc = SevenNetCalculator("7net-0", device="cpu")
    energies, forces = [], []
    with torch_threads(1):
        for s in structures:
            atoms = s.atoms.copy()
            atoms.calc = calc
            energies.append(atoms.get_potential_energy())
            forces.append(atoms.get_forces())
    n_atoms = np.asarray(pred["n_atoms"].values)
    np.testing.assert_allclose(_per_atom(pred), np.array(energies) / n_atoms, rtol=0, atol=1e-6)
    np.testing.assert_allclose(pred["forces"].values, np.concatenate(forces), rtol=0, atol=1e-6)


def test_prediction_leaves_torch_thread_setting_as_it_was(structures):
    import torch

    before = torch.get_num_threads()
    performance.predict("chgnet-0.3.0", structures, use_cache=False, threads=1)
    assert torch.get_num_threads() == before


def test_unknown_prediction_method_is_refused(structures):
    from matteralign.errors import ValidationError

    with pytest.raises(ValidationError, match="method"):
        performance.predict("chgnet-0.3.0", structures, method="magic")


def test_force_mae_interval_resamples_whole_structures_and_brackets_the_mae():
    import numpy as np

    from matteralign.analysis.performance import _force_mae_interval

    rng = np.random.default_rng(0)
    n_atoms = np.array([3, 5, 2, 7, 4] * 20)
    abs_err = np.abs(rng.normal(size=(n_atoms.sum(), 3)))
    lo, hi = _force_mae_interval(abs_err, n_atoms, n_boot=500, seed=0)
    assert lo < abs_err.mean() < hi and hi - lo < 0.2


def test_force_mae_interval_of_identical_structures_is_a_point():
    import numpy as np

    from matteralign.analysis.performance import _force_mae_interval

    abs_err = np.full((12, 3), 0.25)
    lo, hi = _force_mae_interval(abs_err, np.array([3, 3, 3, 3]), n_boot=100, seed=0)
    assert lo == hi == 0.25
