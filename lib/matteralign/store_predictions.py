"""MLIP predictions in the verified store: energies and forces shipped beside the embeddings.

Notebook 03 measures each MLIP's energy and force errors against the DFT labels
(:func:`matteralign.analysis.performance.errors`); the forward passes with forces are most of
a cold run (about 10 minutes for 7 models on 200 structures on 2 cores). So the predictions of
the manifest's ``predictions`` models (see :func:`matteralign.store.manifest`) ship under
``data/embeddings/store/<dataset>/predictions/<model>.nc`` and follow the embeddings'
contract (:mod:`matteralign.store`):

* **stored**: ``energy (sample)`` in eV, float64 (one number per structure); ``forces (atom,
  xyz)`` in eV/Å, float32, compressed (the networks compute in float32, so this loses
  nothing: the largest rounding is recorded in ``attrs["float32_rounding_ev_per_A"]``);
  ``n_atoms`` (force rows are the structures' atoms in sample order; ``atom_sample`` is
  rebuilt from it on reading) and ``sample_digest`` (content digest of every structure). Attrs: model, model version, dataset, dataset version, subset
  (``store_n``, ``store_seed``), ids and content digests, prediction method, package versions.
* **served** (:func:`lookup`) only when the model version and dataset version match and every
  requested sample is stored with the same content digest (a subset of a stored set is served
  from it); otherwise :func:`~matteralign.analysis.performance.predict` computes as before.
* **checked** (:func:`spot_check`, run by ``make check-store``): ``n_check`` random structures
  of each file are predicted again and compared, energy per atom and every force component,
  within ``|Δ| ≤ atol + rtol·|stored|`` with ``atol = 1e-4`` (eV/atom, eV/Å) and ``rtol =
  1e-5``: float32 forces round at 6e-8 relative, batched and per-structure passes agree to
  1e-6 (``tests/test_analysis_performance.py``); a changed checkpoint or package moves
  forces by far more. A mismatch raises :class:`~matteralign.errors.StoreMismatchError` naming
  the model and the structure.

Examples
--------
>>> predictions_file("mptrj-random", "chgnet-0.3.0", root="store").parts
('store', 'mptrj-random', 'predictions', 'chgnet-0.3.0.nc')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from matteralign import store
from matteralign.errors import StoreMismatchError, ValidationError

__all__ = ["FOLDER", "ATOL", "RTOL", "predictions_file", "is_predictions_file", "save",
           "lookup", "spot_check", "build"]

#: Folder of a dataset's stored predictions (no model is called this).
FOLDER = "predictions"
#: Tolerance of :func:`spot_check`: eV/atom for energies, eV/Å for forces (module docstring).
ATOL, RTOL = 1e-4, 1e-5
_PRIVATE = (*store.PROVENANCE_ATTRS, "store_kind", "float32_rounding_ev_per_A")


def predictions_file(dataset: str, model: str, root: str | os.PathLike | None = None) -> Path:
    """Where the stored predictions of ``model`` on ``dataset`` live."""

    base = Path(root) if root is not None else store.store_root()
    return base / store._slug(dataset) / FOLDER / f"{store._slug(model)}.nc"


def is_predictions_file(path: str | os.PathLike) -> bool:
    """True for ``<dataset>/predictions/<model>.nc`` (embeddings are
    ``<dataset>/<model>/<layer>-<pooling>.nc``)."""
    return Path(path).parent.name == FOLDER


def save(pred: xr.Dataset, samples: Sequence[Any], *, n: int | None, seed: int,
         root: str | os.PathLike | None = None) -> Path:
    """Write ``pred`` (:func:`~matteralign.analysis.performance.forward` of ``samples``, in
    order) to the store with provenance attrs, atomically. Returns the path."""
    from matteralign.io import atomic_path, encode_attrs

    ids = [str(s.id) for s in samples]
    if [str(v) for v in pred["sample"].values] != ids:
        raise ValidationError("store_predictions.save: predictions and samples are not in the "
                              "same order")
    a = pred.attrs
    missing = [k for k in ("model", "model_version", "dataset", "dataset_version", "method")
               if k not in a]
    if missing:
        raise ValidationError(f"store_predictions.save: predictions lack attrs {missing} "
                              "(write what performance.forward returns)")
    if a["method"] != "auto":
        raise ValidationError("store_predictions.save: the store holds method='auto' "
                              f"predictions; got {a['method']!r}")
    n_atoms = np.asarray(pred["n_atoms"].values, dtype=int)
    if [str(v) for v in pred["atom_sample"].values] != np.repeat(ids, n_atoms).tolist():
        raise ValidationError("store_predictions.save: force rows are not the samples' atoms "
                              "in sample order")
    digests = store._sample_digests(samples)
    forces = np.asarray(pred["forces"].values, dtype=np.float64)
    forces32 = forces.astype(np.float32)
    attrs = store._provenance(a, ids, digests, n=n, seed=seed)
    attrs.update({
        "store_kind": "predictions",
        "float32_rounding_ev_per_A": float(np.max(np.abs(forces32 - forces), initial=0.0)),
    })
    ds = xr.Dataset(
        {"energy": (("sample",), np.asarray(pred["energy"].values, dtype=np.float64)),
         "n_atoms": (("sample",), n_atoms.astype(np.int32)),
         "sample_digest": (("sample",), np.array(digests, dtype=object)),
         "forces": (("atom", "xyz"), forces32)},
        coords={"sample": np.array(ids, dtype=object)}, attrs=encode_attrs(attrs))
    enc = {"forces": {"zlib": True, "complevel": 6, "shuffle": True},
           "energy": {"zlib": True, "complevel": 6}}
    path = predictions_file(a["dataset"], a["model"], root)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    return path


def _open(path: Path) -> xr.Dataset:
    from matteralign.errors import CorruptFileError
    from matteralign.io import decode_attrs

    try:
        with xr.open_dataset(path, engine="h5netcdf") as handle:
            ds = handle.load()
        ds.attrs = decode_attrs(dict(ds.attrs))
        for var in ("energy", "n_atoms", "forces", "sample_digest"):
            ds[var]  # noqa: B018 - a file without one of these is damaged
        if int(ds["n_atoms"].sum()) != ds.sizes["atom"]:
            raise ValueError("n_atoms does not add up to the force rows")
    except Exception as exc:  # damaged, truncated or incomplete file
        raise CorruptFileError(f"stored predictions {path} are not readable ({type(exc).__name__}"
                               f": {exc}); regenerate them with `make embeddings`") from exc
    return ds


def _select(ds: xr.Dataset, index: np.ndarray) -> xr.Dataset:
    """The predictions of stored samples ``index`` (in that order), as ``forward`` returns."""
    n_atoms = np.asarray(ds["n_atoms"].values, dtype=int)
    start = np.r_[0, np.cumsum(n_atoms)[:-1]]
    rows = np.concatenate([np.arange(start[i], start[i] + n_atoms[i]) for i in index]) \
        if len(index) else np.zeros(0, dtype=int)
    attrs = {k: v for k, v in ds.attrs.items() if k not in _PRIVATE}
    attrs["stored"] = 1
    ids = np.array([str(v) for v in ds["sample"].values[index]])
    return xr.Dataset(
        {"energy": ("sample", np.asarray(ds["energy"].values[index], dtype=np.float64)),
         "n_atoms": ("sample", n_atoms[index]),
         "forces": (("atom", "xyz"), np.asarray(ds["forces"].values[rows], dtype=np.float64)),
         "atom_sample": ("atom", np.repeat(ids, n_atoms[index]))},
        coords={"sample": ids}, attrs=attrs)


def lookup(model: str, dataset: Any, root: str | os.PathLike | None = None
           ) -> xr.Dataset | None:
    """Stored predictions of ``model`` for ``dataset`` (a Dataset, any subset of the stored
    one, in its order), or None when the store is off or has no matching file, the model or
    dataset version differs, or any requested sample is missing or has other content.

    Raises:
        CorruptFileError: the stored file exists but cannot be read.
    """
    from matteralign import models as registry

    if not store.enabled():
        return None
    path = predictions_file(getattr(dataset, "name", ""), model, root)
    if not path.exists():
        return None
    ds = _open(path)
    a = ds.attrs
    if (a.get("model") != model or a.get("model_version") != registry.get(model).version
            or a.get("dataset_version") != getattr(dataset, "version", "")
            or a.get("method") != "auto"):
        return None
    samples = list(dataset)
    position = {str(s): i for i, s in enumerate(ds["sample"].values)}
    try:
        index = np.array([position[str(s.id)] for s in samples], dtype=int)
    except KeyError:
        return None
    if [str(d) for d in ds["sample_digest"].values[index]] != store._sample_digests(samples):
        return None
    return _select(ds, index)


def spot_check(path: str | os.PathLike, *, n_check: int = 4, seed: int = 0,
               atol: float = ATOL, rtol: float = RTOL) -> float:
    """Predict ``n_check`` random structures of one stored file again and compare.

    Energies are compared per atom (``E / n_atoms``), forces component by component.
    Returns the largest ``|Δ| / (atol + rtol·|stored|)`` (≤ 1 passes). Raises
    :class:`StoreMismatchError` naming the model and the structure beyond tolerance.
    Cost: ``n_check`` forward passes with forces (plus loading the model).
    """
    from matteralign import models as registry
    from matteralign.analysis.compute import load_dataset
    from matteralign.analysis.performance import forward
    from matteralign.datasets.base import Dataset

    ds = _open(Path(path))
    a = ds.attrs
    model, dataset = a["model"], a["dataset"]
    n = None if int(a.get("store_n", -1)) < 0 else int(a["store_n"])
    data = load_dataset(dataset, n, int(a.get("store_seed", 0)))
    adapter = registry.get(model)
    if adapter.version != a.get("model_version"):
        raise StoreMismatchError(f"stored predictions of {model} on {dataset} were made with "
                                 f"model version {a.get('model_version')!r}, this machine has "
                                 f"{adapter.version!r}: run `make embeddings`")
    ids = [str(v) for v in ds["sample"].values]
    pick = np.sort(np.random.default_rng(seed).choice(len(ids), size=min(n_check, len(ids)),
                                                      replace=False))
    by_id = {str(s.id): s for s in data}
    missing = [ids[i] for i in pick if ids[i] not in by_id]
    if missing:
        raise StoreMismatchError(f"stored predictions of {model} on {dataset} hold structure "
                                 f"{missing[0]} that the dataset no longer has: run "
                                 "`make embeddings`")
    fresh = forward(model, Dataset(data.info, [by_id[ids[i]] for i in pick]))
    stored = _select(ds, pick)
    n_atoms = np.asarray(stored["n_atoms"].values, dtype=float)
    e_old = np.asarray(stored["energy"].values) / n_atoms
    e_dev = np.abs(np.asarray(fresh["energy"].values) / n_atoms - e_old)
    f_old = np.asarray(stored["forces"].values)
    f_dev = np.abs(np.asarray(fresh["forces"].values, dtype=np.float64) - f_old)
    owner = np.repeat(np.arange(len(pick)), n_atoms.astype(int))
    f_ratio = np.zeros(len(pick))
    np.maximum.at(f_ratio, owner, (f_dev / (atol + rtol * np.abs(f_old))).max(axis=1))
    ratio = np.maximum(e_dev / (atol + rtol * np.abs(e_old)), f_ratio)
    worst = int(np.argmax(ratio))
    if not np.all(np.isfinite(ratio)) or ratio[worst] > 1.0:
        f_max = float(f_dev[owner == worst].max())
        raise StoreMismatchError(
            f"stored predictions of {model} differ from a fresh prediction on structure "
            f"{ids[pick[worst]]} of {dataset} (|ΔE| = {e_dev[worst]:.3g} eV/atom, max |ΔF| = "
            f"{f_max:.3g} eV/Å; tolerance {atol:g} + {rtol:g}·|x|): the model or its package "
            "changed; run `make embeddings`")
    return float(ratio[worst])


def build(models: Sequence[str], data: Any, *, n: int | None, seed: int, force: bool = False,
          root: str | os.PathLike | None = None) -> list[Path]:
    """Write the stored predictions of each of ``models`` on ``data`` (the subset ``n``,
    ``seed`` of its dataset) that are missing or stale, each file renamed into place when
    complete (resumable; an unreadable one is rewritten). Models whose weights are not here are skipped with a note.
    Returns the paths written."""
    from matteralign import models as registry
    from matteralign.analysis.performance import forward
    from matteralign.errors import CorruptFileError, MissingWeightsError

    written = []
    for name in models:
        try:
            registry.get(name)
            try:
                if not force and lookup(name, data, root) is not None:
                    continue
            except CorruptFileError as exc:
                print(f"[store] rewriting: {exc}")
            pred = forward(name, data)
        except MissingWeightsError as exc:
            print(f"[store] skipping predictions of {name}: {exc}")
            continue
        written.append(save(pred, list(data), n=n, seed=seed, root=root))
        print(f"[store] wrote {written[-1]}")
    return written
