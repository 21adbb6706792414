"""The verified embedding store: embeddings shipped in git, spot-checked before use.

Extraction is what makes a large-N compendium slow on a laptop, so the embeddings of every
pretrained and random-twin network at the compendium's default sample sizes ship under
``data/embeddings/store/<dataset>/<model>/<layer>-<pooling>.nc`` (compressed netCDF,
float32). Each file records its provenance in ``attrs``: model, model version, layer,
pooling, dataset, dataset version, the subset (``n``, ``seed``), a digest of the sample ids
and one of the samples' content (:func:`matteralign.datasets.base.content_digest`), and the
versions of matteralign and of the packages that computed it.

Using the store is a two-step contract:

1. :func:`spot_check` re-extracts ``n_check`` random samples of every stored file with the
   model itself and stops with :class:`~matteralign.errors.StoreMismatchError` naming the
   model and the sample when any feature differs by more than ``atol + rtol·|stored|``
   (default ``1e-4 + 1e-3·|x|``: float32 storage is exact to 6e-8 relative, machines differ
   in the 7th digit, batched and per-structure forward passes within 1e-5).
2. :func:`lookup` returns stored embeddings for a requested dataset subset only when the
   model version, layer, pooling and dataset version match and every requested sample is
   stored with the same content digest; anything else falls through to extraction.

The MLIPs' energy and force predictions that notebook 03 measures errors with ship the same
way under ``<dataset>/predictions/<model>.nc`` (a manifest entry's ``predictions`` list), with
their own lookup, spot check and tolerance: :mod:`matteralign.store_predictions`.

``make embeddings`` (``python -m matteralign.store build``) writes the entries of
:data:`MANIFEST` that are missing or stale (resumable: a finished file is skipped, a half
written one never exists, files are renamed into place); ``make reproduce`` runs
``python -m matteralign.store check`` first. ``MATTERALIGN_STORE=0`` turns the store off.

Examples
--------
>>> from matteralign import store
>>> store.store_file("qm9", "chgnet-0.3.0", "last", "mean").parts[-3:]
('qm9', 'chgnet-0.3.0', 'last-mean.nc')
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from matteralign.errors import StoreMismatchError, ValidationError

__all__ = ["StoreEntry", "manifest", "store_root", "store_file", "enabled", "save", "lookup",
           "spot_check", "check_all", "build", "main"]

#: Absolute and relative tolerance of :func:`spot_check` (see the module docstring).
ATOL, RTOL = 1e-4, 1e-3
_PACKAGES = ("torch", "chgnet", "sevenn", "fcd", "transformers", "numpy", "jax")


def store_root() -> Path:
    """``$MATTERALIGN_STORE_DIR`` if set, else ``data/embeddings/store`` of the repository."""
    env = os.environ.get("MATTERALIGN_STORE_DIR")
    if env:
        return Path(env)
    from matteralign.analysis.paths import repo_root

    return repo_root() / "data" / "embeddings" / "store"


def enabled() -> bool:
    """False when ``MATTERALIGN_STORE=0`` (extract everything instead)."""
    return os.environ.get("MATTERALIGN_STORE", "1").strip().lower() not in {"0", "false", "no",
                                                                           "off"}


def _slug(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(value))


def store_file(dataset: str, model: str, layer: str, pooling: str,
               root: str | os.PathLike | None = None) -> Path:
    """Where the stored embeddings of ``model`` on ``dataset`` live."""
    base = Path(root) if root is not None else store_root()
    return base / _slug(dataset) / _slug(model) / f"{_slug(layer)}-{_slug(pooling)}.nc"


def _digest(items: Iterable[str]) -> str:
    h = hashlib.sha1()
    for item in items:
        h.update(str(item).encode())
        h.update(b"\0")
    return h.hexdigest()


def _sample_digests(samples: Sequence[Any]) -> list[str]:
    from matteralign.datasets.base import content_digest

    return [content_digest(s) for s in samples]


def _versions() -> dict[str, str]:
    out = {}
    for name in ("matteralign", *_PACKAGES):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


#: attrs a stored file adds to the model's own (what lookups and spot checks read); they
#: are dropped again from what a lookup returns.
PROVENANCE_ATTRS = ("store_n", "store_seed", "ids_digest", "content_digest", "package_versions")


def _provenance(attrs: dict[str, Any], ids: Sequence[str], digests: Sequence[str], *,
                n: int | None, seed: int) -> dict[str, Any]:
    """The scalar attrs of a result plus :data:`PROVENANCE_ATTRS`: the subset (``n``, -1
    for all, and ``seed``), digests of the sample ids and of their contents, and the
    versions of the packages that made it."""
    out = {k: v for k, v in attrs.items() if isinstance(v, (str, int, float))}
    out.update({
        "store_n": -1 if n is None else int(n), "store_seed": int(seed),
        "ids_digest": _digest(ids), "content_digest": _digest(digests),
        "package_versions": json.dumps(_versions(), sort_keys=True),
    })
    return out


def save(emb: xr.DataArray, samples: Sequence[Any], *, n: int | None, seed: int,
         root: str | os.PathLike | None = None) -> Path:
    """Write ``emb`` (the embeddings of ``samples``, in order) to the store, float32 and
    compressed, with provenance attrs. Returns the path."""
    from matteralign.io import atomic_path, encode_attrs

    ids = [str(s.id) for s in samples]
    if [str(v) for v in emb["sample"].values] != ids:
        raise ValidationError("store.save: embeddings and samples are not in the same order")
    a = emb.attrs
    path = store_file(a["dataset"], a["model"], a["layer"], a["pooling"], root)
    digests = _sample_digests(samples)
    attrs = _provenance(a, ids, digests, n=n, seed=seed)
    values = np.asarray(emb.values, dtype=np.float32)
    ds = xr.Dataset(
        {"embeddings": (("sample", "feature"), values),
         "sample_digest": (("sample",), np.array(digests, dtype=object))},
        coords={"sample": np.array(ids, dtype=object)},
        attrs=encode_attrs(attrs))
    enc = {"embeddings": {"zlib": True, "complevel": 6, "shuffle": True,
                          "chunksizes": (min(len(ids), 1024), values.shape[1])}}
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=enc)
    return path


def _open(path: Path) -> xr.Dataset:
    from matteralign.errors import CorruptFileError
    from matteralign.io import decode_attrs

    try:
        with xr.open_dataset(path, engine="h5netcdf") as handle:
            ds = handle.load()
    except Exception as exc:  # damaged or truncated file
        raise CorruptFileError(f"stored embeddings {path} are not readable netCDF "
                               f"({type(exc).__name__}); regenerate them with `make embeddings`"
                               ) from exc
    ds.attrs = decode_attrs(dict(ds.attrs))
    return ds


def _as_embeddings(ds: xr.Dataset, index: np.ndarray) -> xr.DataArray:
    from matteralign import tensors

    attrs = {k: v for k, v in ds.attrs.items() if k not in PROVENANCE_ATTRS}
    attrs["stored"] = 1
    values = np.asarray(ds["embeddings"].values[index], dtype=np.float32)
    ids = [str(v) for v in ds["sample"].values[index]]
    known = {"model", "dataset", "layer", "pooling"}
    kwargs = {k: attrs.pop(k) for k in list(attrs) if k in known}
    return tensors.embeddings(values, ids, **kwargs, attrs=attrs)


def lookup(adapter: Any, dataset: Any, layer: str | int | None = "last",
           pooling: str | None = None, root: str | os.PathLike | None = None
           ) -> xr.DataArray | None:
    """Stored embeddings of ``dataset`` (a Dataset, any subset of the stored one) by the
    model ``adapter``, or None when the store has no matching file, the versions differ,
    or any requested sample is missing or has other content."""
    if not enabled():
        return None
    layer_name = adapter.resolve_layer(layer)
    pool = adapter.resolve_pooling(pooling)
    path = store_file(dataset.name, adapter.info.name, layer_name, pool, root)
    if not path.exists():
        return None
    ds = _open(path)
    a = ds.attrs
    if (a.get("model_version") != adapter.version or a.get("dataset_version") != dataset.version
            or a.get("layer") != layer_name or a.get("pooling") != pool):
        return None
    samples = list(dataset)
    position = {str(s): i for i, s in enumerate(ds["sample"].values)}
    try:
        index = np.array([position[str(s.id)] for s in samples], dtype=int)
    except KeyError:
        return None
    stored = ds["sample_digest"].values[index]
    if [str(d) for d in stored] != _sample_digests(samples):
        return None
    emb = _as_embeddings(ds, index)
    emb.attrs["dataset"] = dataset.name
    return emb


@dataclass(frozen=True)
class StoreEntry:
    """One manifest line: embed ``dataset`` (subset ``n``, ``seed``) with each of ``models``
    and store the energy and force predictions of each of ``predictions``."""

    dataset: str
    n: int | None
    seed: int
    models: tuple[str, ...]
    layer: str = "last"
    pooling: str | None = None
    predictions: tuple[str, ...] = ()


def manifest(root: str | os.PathLike | None = None) -> list[StoreEntry]:
    """The entries of ``<store>/manifest.json``: what ``make embeddings`` writes (every
    pretrained and random-twin network of the notebooks' defaults, on the datasets and
    subsets those defaults read; the notebooks take subsets of these)."""
    path = (Path(root) if root is not None else store_root()) / "manifest.json"
    if not path.exists():
        raise ValidationError(f"no store manifest at {path}")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        from matteralign.errors import CorruptFileError

        raise CorruptFileError(f"store manifest {path} is not valid JSON ({exc})") from None
    return [StoreEntry(r["dataset"], r.get("n"), int(r.get("seed", 0)),
                       tuple(r.get("models", ())), r.get("layer", "last"), r.get("pooling"),
                       tuple(r.get("predictions", ()))) for r in rows]


def _load(entry: StoreEntry):
    from matteralign.analysis.compute import load_dataset

    return load_dataset(entry.dataset, entry.n, entry.seed)


def build(entries: Sequence[StoreEntry] | None = None, *, force: bool = False,
          progress: bool = True, root: str | os.PathLike | None = None) -> list[Path]:
    """Write every entry's embeddings that is missing or stale (resumable). Models whose
    weights are not here are skipped with a note. Returns the paths written."""
    from matteralign import models as registry
    from matteralign.errors import MissingWeightsError

    written = []
    for entry in entries if entries is not None else manifest(root):
        data = _load(entry)
        for name in entry.models:
            try:
                adapter = registry.get(name)
            except MissingWeightsError as exc:
                print(f"[store] skipping {name}: {exc}")
                continue
            if not force and lookup(adapter, data, entry.layer, entry.pooling, root) is not None:
                continue
            emb = registry.extract(name, data, entry.layer, entry.pooling, progress=progress)
            written.append(save(emb, list(data), n=entry.n, seed=entry.seed, root=root))
            print(f"[store] wrote {written[-1]}")
        if entry.predictions:
            from matteralign import store_predictions

            written += store_predictions.build(entry.predictions, data, n=entry.n,
                                               seed=entry.seed, force=force, root=root)
    return written


def spot_check(path: str | os.PathLike, *, n_check: int = 16, seed: int = 0,
               atol: float = ATOL, rtol: float = RTOL) -> float:
    """Re-extract ``n_check`` random samples of one stored file and compare.

    Returns the largest ``|Δ| / (atol + rtol·|stored|)`` (≤ 1 passes). Raises
    :class:`StoreMismatchError` naming the model and the first sample beyond tolerance.
    """
    from matteralign import models as registry
    from matteralign.analysis.compute import load_dataset

    ds = _open(Path(path))
    a = ds.attrs
    n = None if int(a.get("store_n", -1)) < 0 else int(a["store_n"])
    data = load_dataset(a["dataset"], n, int(a.get("store_seed", 0)))
    adapter = registry.get(a["model"])
    if adapter.version != a.get("model_version"):
        raise StoreMismatchError(f"stored embeddings of {a['model']} on {a['dataset']} were made "
                                 f"with model version {a.get('model_version')!r}, this machine "
                                 f"has {adapter.version!r}: run `make embeddings`")
    ids = [str(v) for v in ds["sample"].values]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(ids), size=min(n_check, len(ids)), replace=False))
    by_id = {str(s.id): s for s in data}
    missing = [ids[i] for i in pick if ids[i] not in by_id]
    if missing:
        raise StoreMismatchError(f"stored embeddings of {a['model']} on {a['dataset']} hold "
                                 f"sample {missing[0]!s} that the dataset no longer has: run "
                                 "`make embeddings`")
    chosen = [by_id[ids[i]] for i in pick]
    fresh = np.asarray(adapter.embed(chosen, layer=a["layer"], pooling=a["pooling"],
                                     progress=False).values, dtype=np.float64)
    stored = np.asarray(ds["embeddings"].values[pick], dtype=np.float64)
    ratio = np.abs(fresh - stored) / (atol + rtol * np.abs(stored))
    worst_row = int(np.argmax(ratio.max(axis=1)))
    worst = float(ratio.max())
    if not np.isfinite(worst) or worst > 1.0:
        dev = float(np.abs(fresh - stored)[worst_row].max())
        raise StoreMismatchError(
            f"stored embeddings of {a['model']} differ from a fresh extraction on sample "
            f"{ids[pick[worst_row]]!s} of {a['dataset']} (max |Δ| = {dev:.3g}, tolerance "
            f"{atol:g} + {rtol:g}·|x|): the model or its package changed; run `make embeddings`")
    return worst


def check_all(*, n_check: int = 16, seed: int = 0, root: str | os.PathLike | None = None,
              progress: bool = True, n_check_predictions: int = 4) -> dict[str, float]:
    """:func:`spot_check` every stored embedding file (``n_check`` samples each) and
    :func:`matteralign.store_predictions.spot_check` every stored predictions file
    (``n_check_predictions`` structures each); ``{path: worst ratio}``. Models whose weights
    are missing here are reported and skipped (their stored files are then unverified and
    still served; the notes say so)."""
    from matteralign import store_predictions
    from matteralign.errors import MissingWeightsError

    base = Path(root) if root is not None else store_root()
    results = {}
    files = sorted(base.rglob("*.nc"))
    for path in files:
        rel = path.relative_to(base).as_posix()
        try:
            if store_predictions.is_predictions_file(path):
                results[rel] = store_predictions.spot_check(path, n_check=n_check_predictions,
                                                            seed=seed)
            else:
                results[rel] = spot_check(path, n_check=n_check, seed=seed)
        except MissingWeightsError as exc:
            print(f"[store] cannot check {rel}: {exc}")
            continue
        if progress:
            print(f"[store] ok {rel} (worst {results[rel]:.2g} of tolerance)")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m matteralign.store {build,check}``."""
    import argparse
    import sys

    from matteralign.errors import MatteralignError

    p = argparse.ArgumentParser(prog="python -m matteralign.store",
                                description="Build or spot-check the verified embedding store.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write missing or stale entries of the manifest")
    b.add_argument("--force", action="store_true", help="rewrite every entry")
    c = sub.add_parser("check", help="re-extract random samples of every stored file")
    c.add_argument("--n-check", type=int, default=16,
                   help="samples per embeddings file (default 16)")
    c.add_argument("--n-check-predictions", type=int, default=4,
                   help="structures per predictions file (default 4)")
    c.add_argument("--seed", type=int, default=0, help="seed of the samples checked")
    args = p.parse_args(argv)
    try:
        if args.command == "build":
            build(force=args.force)
        else:
            if args.n_check < 1 or args.n_check_predictions < 1:
                p.error("--n-check and --n-check-predictions must be at least 1")
            results = check_all(n_check=args.n_check, seed=args.seed,
                                n_check_predictions=args.n_check_predictions)
            n_pred = sum(1 for rel in results if Path(rel).parent.name == "predictions")
            print(f"[store] {len(results) - n_pred} stored embedding files agree with a fresh "
                  f"extraction of {args.n_check} samples each, {n_pred} predictions files with "
                  f"a fresh prediction of {args.n_check_predictions} structures each "
                  f"(seed {args.seed})")
    except MatteralignError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
