"""netCDF I/O for Embeddings, collections and alignment tensors, written atomically.

* :func:`save` writes an :class:`xarray.DataArray` or :class:`xarray.Dataset` to netCDF
  (h5netcdf engine). It writes to a temporary file in the target folder and renames it into
  place only when complete, so an interrupted run never leaves a truncated file under the
  final name.
* Attributes that netCDF cannot hold (bool, None, dict, list of str, nested values) are
  stored as JSON strings prefixed with ``json:`` and decoded by :func:`load`, so every attr
  round-trips.
* :func:`load` raises :class:`~matteralign.errors.CorruptFileError` naming the file when it
  is not a readable netCDF file.
* :func:`atomic_path` is the same temporary-then-rename guarantee for any writer (figures,
  tables, caches). Files written this way get the usual mode ``0o666 & ~umask``
  (``-rw-r--r--`` under the common umask 022), not the temporary file's 0600.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> from matteralign.tensors import embeddings
>>> emb = embeddings(np.ones((2, 3)), ["s0", "s1"], model="toy", dataset="demo",
...                  attrs={"normalised": True, "params": {"k": 25}})
>>> path = pathlib.Path(tempfile.mkdtemp()) / "toy.nc"
>>> _ = save(emb, path)
>>> back = load(path)
>>> back.attrs["normalised"], back.attrs["params"]
(True, {'k': 25})
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from matteralign.errors import CorruptFileError, MissingDataError

__all__ = ["save", "load", "atomic_path", "encode_attrs", "decode_attrs"]

_JSON = "json:"
_KIND = "matteralign_object"
_DA_NAME = "__xarray_dataarray_variable__"


def _needs_json(value: Any) -> bool:
    if isinstance(value, bool | np.bool_) or value is None:
        return True
    if isinstance(value, str):
        return value.startswith(_JSON)
    if isinstance(value, int | float | np.integer | np.floating):
        return False
    if isinstance(value, np.ndarray):
        return value.dtype.kind not in "iuf"
    return True  # dict, list, tuple, ...


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jsonable(v) for v in value]
    return value


def encode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Return attrs with every value netCDF cannot store encoded as ``json:...``."""
    out = {}
    for key, value in attrs.items():
        out[key] = _JSON + json.dumps(_to_jsonable(value)) if _needs_json(value) else value
    return out


def decode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`encode_attrs`."""
    out = {}
    for key, value in attrs.items():
        if isinstance(value, str) and value.startswith(_JSON):
            value = json.loads(value[len(_JSON):])
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it (``/proc``);
    elsewhere set and restored under a lock."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched (an older
    complete version, if any, survives). The file gets the mode a plain ``open(path, "w")``
    would give it, ``0o666 & ~umask`` (``mkstemp``'s own 0600 would hide figures and caches
    from everyone else).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp-{os.getpid()}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # the writer may have replaced the file
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _encode_obj(obj: xr.DataArray | xr.Dataset) -> xr.Dataset:
    if isinstance(obj, xr.DataArray):
        name = obj.name if obj.name is not None else _DA_NAME
        ds = obj.to_dataset(name=str(name), promote_attrs=False)
        ds[str(name)].attrs = encode_attrs(dict(obj.attrs))
        ds.attrs = {_KIND: "DataArray", "dataarray_name": str(name)}
    else:
        ds = obj.copy()
        for v in ds.data_vars:
            ds[v].attrs = encode_attrs(dict(ds[v].attrs))
        ds.attrs = encode_attrs(dict(obj.attrs))
        ds.attrs[_KIND] = "Dataset"
    for c in ds.coords:
        ds[c].attrs = encode_attrs(dict(ds[c].attrs))
        if ds[c].dtype == bool:
            ds[c].attrs["matteralign_bool"] = 1
            ds = ds.assign_coords({c: ds[c].astype("i1")})
    return ds


def save(obj: xr.DataArray | xr.Dataset, path: str | os.PathLike) -> Path:
    """Write an Embeddings array, a collection or an alignment tensor to netCDF, atomically.

    Args:
        obj: ``xarray.DataArray`` or ``xarray.Dataset``.
        path: target file (``.nc``); parent folders are created.

    Returns:
        The path written.
    """
    ds = _encode_obj(obj)
    target = Path(path)
    with atomic_path(target) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True)
    return target


def load(path: str | os.PathLike) -> xr.DataArray | xr.Dataset:
    """Read what :func:`save` wrote, with attrs decoded and the original type restored.

    Raises:
        MissingDataError: the file does not exist.
        CorruptFileError: the file exists but is not readable netCDF (names the file).
    """
    p = Path(path)
    if not p.exists():
        raise MissingDataError(f"no such file: {p}")
    try:
        with xr.open_dataset(p, engine="h5netcdf") as handle:
            ds = handle.load()
    except Exception as exc:  # h5py/h5netcdf raise many types for damaged files
        raise CorruptFileError(
            f"{p} is not a readable netCDF file ({type(exc).__name__}: {exc}); "
            "delete it and re-run the step that writes it"
        ) from exc
    for c in list(ds.coords):
        if ds[c].attrs.pop("matteralign_bool", None):
            ds = ds.assign_coords({c: ds[c].astype(bool)})
        ds[c].attrs = decode_attrs(dict(ds[c].attrs))
    kind = ds.attrs.get(_KIND)
    if kind == "DataArray":
        name = ds.attrs["dataarray_name"]
        da = ds[name]
        da.attrs = decode_attrs(dict(da.attrs))
        if name == _DA_NAME:
            da.name = None
        return da
    for v in ds.data_vars:
        ds[v].attrs = decode_attrs(dict(ds[v].attrs))
    ds.attrs = decode_attrs({k: v for k, v in ds.attrs.items() if k != _KIND})
    return ds
