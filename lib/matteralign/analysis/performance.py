"""Measured performance of the MLIPs: energy and force errors against DFT labels.

"Alignment vs performance" needs each 3D model's error *measured* on the same structures whose
embeddings are aligned. :func:`predict` runs a registered MLIP as an ASE calculator (CHGNet's
``CHGNetCalculator``, SevenNet's ``SevenNetCalculator``, reusing the adapter's loaded
network, so random-weights twins work too) and :func:`errors` compares with the DFT labels
of each sample (``labels["energy"]`` in eV for the whole structure, ``labels["forces"]`` in
eV/Å):

* energy MAE per atom ``(1/N) Σ_s |E_pred(s) − E_DFT(s)| / n_atoms(s)``  (eV/atom), raw;
* the same after refitting per-element reference energies: the residual
  ``E_pred − E_DFT`` is regressed on the element counts (ridge least squares, penalty
  ``ridge``, ``n_folds``-fold cross-validated predictions), and the MAE per atom of what is
  left is reported. This
  removes constant per-element offsets — different correction schemes (MP2020 anion/oxide
  corrections), functionals (r2SCAN vs PBE) or frozen atom reference energies — and keeps the
  part of the error that depends on structure;
* force MAE ``mean over all atoms and components |F_pred − F_DFT|``  (eV/Å).

Predictions of the notebooks' defaults ship in the verified store
(:mod:`matteralign.store_predictions`, spot-checked by ``make check-store``); others are
cached under ``data/cache/predictions``. Speed (2-core CPU, 24 structures of
mptrj-random): torch runs with ONE intra-op thread during prediction (``threads=1``, as the
embedding extraction does, :func:`~matteralign.models._weights.torch_threads`) — with two
threads SevenNet took 30–94 s and CHGNet 7–15 s, with one 5.6 s and 1.6 s. CHGNet is batched
through ``CHGNet.predict_structure``; SevenNet goes through its ASE calculator one structure
at a time, because batching its graphs (``set_is_batch_data(True)`` + a PyG ``Collater``) was
slower on this CPU (batch of 8: 8.2 s, of 24: 11.1 s, one at a time: 6.0 s).
``method="calculator"`` forces the per-structure ASE calculator path for every model; both
paths give the same energies and forces to 1e-6 eV/atom and eV/Å (float32 rounding;
``tests/test_analysis_performance.py``). Note: models trained on other
functionals (r2SCAN) or with other energy corrections are compared with the labels as they
are; that is part of their measured error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from matteralign.analysis.compute import cached
from matteralign.errors import MissingDataError, ValidationError

__all__ = ["calculator", "predict", "forward", "errors", "refit_residuals", "PREDICTABLE_FAMILIES"]

PREDICTABLE_FAMILIES = ("CHGNet", "SevenNet")


def calculator(name: str, device: str = "cpu") -> Any:
    """An ASE calculator for the registered MLIP ``name`` (CHGNet or SevenNet adapters)."""
    from matteralign import models

    adapter = models.get(name)
    cls = type(adapter).__name__
    if cls == "CHGNetAdapter":
        from chgnet.model.dynamics import CHGNetCalculator

        return CHGNetCalculator(model=adapter.model, use_device=device, on_isolated_atoms="ignore")
    if cls == "SevenNetAdapter":
        from sevenn.calculator import SevenNetCalculator

        return SevenNetCalculator(model=adapter.model, device=device, modal=adapter.modal)
    raise ValidationError(
        f"model {name!r} cannot predict energies here (only {', '.join(PREDICTABLE_FAMILIES)} "
        "adapters have an ASE calculator)"
    )


def _atoms_with_labels(dataset: Any) -> list[tuple[str, Any, float, Any]]:
    rows = []
    for s in dataset:
        if s.atoms is None or "energy" not in s.labels:
            raise MissingDataError(
                f"sample {s.id!r} of {getattr(dataset, 'name', 'the dataset')} has no DFT "
                "'energy' label; use a labelled materials set (e.g. mptrj-random)")
        rows.append((s.id, s.atoms, float(s.labels["energy"]), s.labels.get("forces")))
    return rows


def _predict_chgnet(adapter: Any, rows: list) -> tuple[list[float], list[np.ndarray]]:
    from matteralign.models.chgnet import to_structure

    structures = [to_structure(r[1]) for r in rows]
    preds = adapter.model.predict_structure(structures, task="ef", batch_size=16)
    preds = preds if isinstance(preds, list) else [preds]
    energies = [float(p["e"]) * len(s) for p, s in zip(preds, structures, strict=True)]
    forces = [np.asarray(p["f"], dtype=float) for p in preds]
    return energies, forces


def _predict_calculator(name: str, rows: list, device: str) -> tuple[list[float], list[np.ndarray]]:
    calc = calculator(name, device)
    energies, forces = [], []
    for _, atoms, _, _ in rows:
        a = atoms.copy()
        a.calc = calc
        energies.append(float(a.get_potential_energy()))
        forces.append(np.asarray(a.get_forces(), dtype=float))
    return energies, forces


def forward(name: str, dataset: Any, *, device: str = "cpu", method: str = "auto",
            threads: int | None = 1) -> xr.Dataset:
    """Energies and forces of ``name`` for every sample of ``dataset``, computed now: a
    forward pass per structure, neither the store nor the cache read or written (what
    :func:`predict` falls back to, and what the store's spot check re-runs). Arguments and
    result as in :func:`predict`."""
    from matteralign import models
    from matteralign.models._weights import torch_threads

    if method not in ("auto", "calculator"):
        raise ValidationError(f"method must be 'auto' or 'calculator'; got {method!r}")
    rows = _atoms_with_labels(dataset)
    ids = [r[0] for r in rows]
    adapter = models.get(name)
    owners = [sid for sid, atoms, _, _ in rows for _ in range(len(atoms))]
    n_atoms = [len(atoms) for _, atoms, _, _ in rows]
    with torch_threads(threads):
        if method == "auto" and type(adapter).__name__ == "CHGNetAdapter":
            energies, forces = _predict_chgnet(adapter, rows)
        else:
            energies, forces = _predict_calculator(name, rows, device)
    return xr.Dataset(
        {"energy": ("sample", np.array(energies)), "n_atoms": ("sample", np.array(n_atoms)),
         "forces": (("atom", "xyz"), np.concatenate(forces)),
         "atom_sample": ("atom", np.array(owners))},
        coords={"sample": np.array(ids)},
        attrs={"model": name, "model_version": adapter.version,
               "dataset": getattr(dataset, "name", ""),
               "dataset_version": getattr(dataset, "version", ""), "method": method,
               "energy_units": "eV", "force_units": "eV/Å"})


def predict(name: str, dataset: Any, *, device: str = "cpu", use_cache: bool = True,
            method: str = "auto", threads: int | None = 1, use_store: bool = True
            ) -> xr.Dataset:
    """Energies (eV) and forces (eV/Å) predicted by ``name`` for every sample of ``dataset``.

    Args:
        name: a registered CHGNet or SevenNet model (random twins included).
        dataset: samples with ``atoms`` and a DFT ``energy`` label.
        device: torch device.
        use_cache: read and write ``data/cache/predictions``.
        method: ``"auto"`` (CHGNet batched through ``predict_structure``, SevenNet through its
            ASE calculator) or ``"calculator"`` (the ASE calculator, one structure at a time,
            for every model).
        threads: torch intra-op threads while predicting (None: leave torch's setting).
        use_store: serve the predictions from the verified store
            (:func:`matteralign.store_predictions.lookup`: same model version and dataset
            version, every sample stored with the same content digest) when it holds them;
            only for ``method="auto"``, the path the store was written with.

    Returns:
        ``xarray.Dataset`` with ``energy (sample)``, ``n_atoms (sample)`` and
        ``forces (atom, xyz)`` with ``atom_sample (atom)`` giving each row's sample id;
        attrs ``stored = 1`` when served by the store.
        Cost: one energy + force evaluation per structure, nothing when stored or cached.
    """
    if method not in ("auto", "calculator"):
        raise ValidationError(f"method must be 'auto' or 'calculator'; got {method!r}")
    rows = _atoms_with_labels(dataset)
    if use_store and method == "auto":
        from matteralign import store_predictions

        stored = store_predictions.lookup(name, dataset)
        if stored is not None:
            return stored
    key = {"model": name, "dataset": getattr(dataset, "name", ""),
           "version": getattr(dataset, "version", ""), "ids": [r[0] for r in rows]}
    if method != "auto":
        key["method"] = method
    return cached("predictions", key,
                  lambda: forward(name, dataset, device=device, method=method, threads=threads),
                  use_cache=use_cache)


def _element_counts(rows: list) -> np.ndarray:
    numbers = [np.asarray(r[1].get_atomic_numbers()) for r in rows]
    z = np.unique(np.concatenate(numbers))
    return np.array([[np.count_nonzero(n == zi) for zi in z] for n in numbers], dtype=float)


def refit_residuals(residual: np.ndarray, counts: np.ndarray, *, n_folds: int = 5,
                    ridge: float = 10.0, seed: int = 0) -> np.ndarray:
    """Residual energies minus per-element offsets ``w`` fitted on the element ``counts``
    ``(N, n_elements)`` by ridge regression, ``w = argmin ‖r − C w‖² + ridge·‖w‖²``, with
    ``n_folds``-fold cross-validated predictions (each structure's offset comes from a fit
    that did not see it; the penalty keeps elements seen in few structures near 0).
    O(N · n_elements²).

    >>> import numpy as np
    >>> counts = np.array([[1, 0], [0, 1], [1, 1], [2, 1], [1, 2], [2, 0]], float)
    >>> bool(np.allclose(refit_residuals(counts @ [0.5, -1.0], counts, n_folds=3, ridge=0), 0))
    True
    """
    residual = np.asarray(residual, float)
    n = len(residual)
    folds = np.random.default_rng(seed).permutation(n) % max(2, min(n_folds, n))
    out = np.empty(n)
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        a = counts[train]
        coef = np.linalg.lstsq(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ residual[train],
                               rcond=None)[0]
        out[test] = residual[test] - counts[test] @ coef
    return out


def _force_mae_interval(abs_err: np.ndarray, n_atoms: np.ndarray, *, n_boot: int,
                        seed: int, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the force MAE, resampling whole structures."""
    per_structure = np.add.reduceat(abs_err.sum(axis=1), np.r_[0, np.cumsum(n_atoms)[:-1]])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(n_atoms), size=(n_boot, len(n_atoms)))
    boot = per_structure[idx].sum(axis=1) / (3.0 * n_atoms[idx].sum(axis=1))
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def errors(models: Sequence[str], dataset: Any, *, device: str = "cpu",
           n_folds: int = 5, ridge: float = 10.0, threads: int | None = 1,
           n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Energy and force errors of each model against the DFT labels of ``dataset``.

    Returns:
        One row per model: ``energy_mae_ev_per_atom`` (raw), ``energy_mae_refit_ev_per_atom``
        (after cross-validated per-element offsets, see the module docstring),
        ``force_mae_ev_per_A`` (NaN when labels lack forces) with its 95 % percentile
        bootstrap interval over structures ``force_mae_low`` / ``force_mae_high``
        (``n_boot`` resamples, ``seed``), and ``n_structures``.
    """
    rows = _atoms_with_labels(dataset)
    e_ref = np.array([r[2] for r in rows])
    f_ref = [r[3] for r in rows]
    has_forces = all(f is not None for f in f_ref)
    counts = _element_counts(rows)
    out = []
    for name in models:
        pred = predict(name, dataset, device=device, threads=threads)
        n_atoms = np.asarray(pred["n_atoms"].values, float)
        residual = np.asarray(pred["energy"].values) - e_ref
        e_mae = float(np.mean(np.abs(residual) / n_atoms))
        e_refit = float(np.mean(np.abs(refit_residuals(residual, counts, n_folds=n_folds, ridge=ridge)) / n_atoms))
        f_lo = f_hi = f_mae = float("nan")
        if has_forces:
            abs_err = np.abs(np.asarray(pred["forces"].values) - np.concatenate(
                [np.asarray(f, float) for f in f_ref]))
            f_mae = float(np.mean(abs_err))
            f_lo, f_hi = _force_mae_interval(abs_err, n_atoms.astype(int), n_boot=n_boot,
                                             seed=seed)
        out.append({"model": name, "energy_mae_ev_per_atom": e_mae,
                    "energy_mae_refit_ev_per_atom": e_refit, "force_mae_ev_per_A": f_mae,
                    "force_mae_low": f_lo, "force_mae_high": f_hi,
                    "n_structures": len(rows)})
    return pd.DataFrame(out).set_index("model")
