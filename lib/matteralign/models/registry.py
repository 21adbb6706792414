"""The model registry: names → (metadata, factory, availability check).

Built-in models register themselves: on first use the registry imports every module of the
``matteralign.models`` package and calls its top-level ``register(registry)`` function, if
it has one (``ase.io``'s lesson: new formats plug in without touching callers). A module
that fails to import raises — a broken adapter is never silently dropped — except when the
import fails only because an optional third-party package is absent; that is recorded in
:func:`discovery_problems` and warned about. Adapters import heavy optional packages
lazily, inside the adapter, so their models are listed (with honest availability) even when
the package is missing.

User models register the same way (:func:`register`, or :func:`register_callable` for a
plain function) and then appear everywhere: ``matteralign models``, ``extract``, the
notebooks. Registering the same name again with identical metadata and an identical function
(a notebook cell run twice) is a no-op; anything different needs ``replace=True``. To make a
model visible to the command line, register it from a plugin (:mod:`matteralign.plugins`):
the registry loads the ``matteralign.plugins`` entry points after the built-in modules.

Examples
--------
>>> import numpy as np
>>> from matteralign.models import registry
>>> registry.register_callable("doc-n-atoms", lambda atoms: np.array([[len(atoms)]], float),
...                            per_atom=False, family="demo", replace=True)
>>> "doc-n-atoms" in registry.names()
True
>>> registry.unregister("doc-n-atoms")
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
import os
import pkgutil
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from matteralign.errors import MatteralignError, ValidationError, unknown_name
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = [
    "register",
    "register_callable",
    "unregister",
    "names",
    "info",
    "get",
    "entry",
    "available",
    "availability",
    "discovery_problems",
    "discover",
    "offline_names",
    "with_info",
    "CallableModel",
]

# Modules of matteralign.models that are infrastructure, not model plugins.
_NOT_PLUGINS = {"base", "registry", "extract"}


@dataclass(frozen=True)
class Entry:
    """One registered model: metadata, a factory ``(**kwargs) -> ModelAdapter`` and an
    optional availability check ``() -> bool | str`` (a string explains what is missing)."""

    info: ModelInfo
    factory: Callable[..., ModelAdapter]
    available: Callable[[], bool | str] | None = None
    origin: str = ""


_ENTRIES: dict[str, Entry] = {}
_INSTANCES: dict[str, ModelAdapter] = {}
_PROBLEMS: dict[str, str] = {}
_DISCOVERED = False
_DISCOVERING = ""
_LOCK = threading.RLock()


# --------------------------------------------------------------------------- registration
def register(
    info: ModelInfo,
    factory: Callable[..., ModelAdapter],
    *,
    available: Callable[[], bool | str] | None = None,
    replace: bool = False,
) -> None:
    """Add a model to the registry.

    Args:
        info: its metadata (``info.name`` is the registry name).
        factory: called as ``factory()`` (or ``factory(weights=PATH)``) to build the adapter;
            it may load weights and raise :class:`~matteralign.errors.MissingWeightsError`.
        available: cheap check whether the weights (and packages) are here: True, False, or
            a string saying what is missing. None means nothing needs downloading.
        replace: allow overwriting an existing name (otherwise a ValidationError, unless
            ``info``, ``factory`` and ``available`` are identical to the registered ones, as
            when a notebook cell runs twice: then nothing changes).
    """
    if not isinstance(info, ModelInfo):
        raise ValidationError(f"register() needs a ModelInfo; got {type(info).__name__}")
    with _LOCK:
        old = _ENTRIES.get(info.name)
        if old is not None and not replace:
            if _same_registration(old, info, factory, available):
                return
            raise ValidationError(
                f"model {info.name!r} is already registered with a different definition; "
                "pass replace=True to overwrite it"
            )
        origin = _DISCOVERING if _DISCOVERING.startswith("matteralign.models.") else "user"
        _ENTRIES[info.name] = Entry(info, factory, available, origin)
        _INSTANCES.pop(info.name, None)


def _same_registration(old: Entry, info: ModelInfo, factory: Callable[..., Any],
                       available: Callable[[], bool | str] | None) -> bool:
    from matteralign.plugins import same_callable

    return (old.info == info and same_callable(old.factory, factory)
            and same_callable(old.available, available))


def unregister(name: str) -> None:
    """Remove a model (user-registered models in tests and notebooks)."""
    with _LOCK:
        _ensure_discovered()
        if name not in _ENTRIES:
            raise unknown_name("model", name, list(_ENTRIES))
        del _ENTRIES[name]
        _INSTANCES.pop(name, None)


class CallableModel(ModelAdapter):
    """Adapter around a function ``fn(structure) -> array``.

    ``per_atom=True``: ``fn`` returns ``(n_atoms, D)`` features (pooled like any atom
    model); ``per_atom=False``: it returns one vector ``(D,)`` (or ``(1, D)``) per structure.
    ``structure`` is ``sample.atoms``, ``sample.smiles`` or ``sample.sequence`` according to
    ``info.input``.

    The output is checked per sample: with ``per_atom=True`` it must have one row per atom
    (``input="atoms"``) or per residue (``input="sequence"``); for SMILES, whose token count
    depends on the user's tokenizer, at least one row. An exception raised by ``fn`` and a
    wrong shape both become one :class:`~matteralign.errors.ValidationError` naming the model
    and the sample.
    """

    def __init__(self, info: ModelInfo, fn: Callable[[Any], Any]):
        self.info = info
        self.fn = fn

    def atom_features(self, samples, layer="last", device="cpu"):
        out = []
        for s in samples:
            structure = s.require(self.info.input)
            try:
                a = np.asarray(self.fn(structure), dtype=np.float64)
            except Exception as exc:
                what = " ".join(str(exc).split()) or "no message"
                raise ValidationError(
                    f"model {self.info.name!r} failed on sample {str(s.id)!r}: "
                    f"{type(exc).__name__}: {what}"
                ) from exc
            out.append(self._checked(s, structure, a))
        return out

    def _checked(self, sample: Any, structure: Any, a: np.ndarray) -> np.ndarray:
        name, sid = self.info.name, str(sample.id)
        if self.info.granularity == "structure":
            if a.ndim == 1 and a.size:
                return a[None, :]
            if a.ndim == 2 and a.shape[0] == 1 and a.shape[1]:
                return a
            raise ValidationError(
                f"model {name!r} returned shape {a.shape} for sample {sid!r}; with "
                "per_atom=False it must return one vector (D,) per structure"
            )
        unit = {"atoms": "atom", "sequence": "residue"}.get(self.info.input)
        expected = len(structure) if unit else None
        if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0 or (
                expected is not None and a.shape[0] != expected):
            rows = f"({expected}, D): one row per {unit}" if unit else "(n_tokens >= 1, D)"
            has = f", which has {expected} {unit}s" if unit else ""
            raise ValidationError(
                f"model {name!r} returned shape {a.shape} for sample {sid!r}{has}; with "
                f"per_atom=True it must return {rows} (or register it with per_atom=False)"
            )
        return a


def register_callable(
    name: str,
    fn: Callable[[Any], Any],
    *,
    input: str = "atoms",
    per_atom: bool = True,
    modality: str = "descriptor",
    family: str = "user",
    architecture: str = "user-defined",
    version: str = "",
    replace: bool = False,
    **metadata: Any,
) -> None:
    """Register a plain function from structures to arrays as a model.

    Args:
        name: registry name.
        fn: ``fn(atoms | smiles | sequence) -> array``: ``(n_atoms, D)`` when ``per_atom``,
            else ``(D,)``.
        input: which sample representation ``fn`` receives.
        per_atom: whether ``fn`` returns per-atom (token) rows to be pooled.
        modality, family, architecture, version: registry metadata; ``version`` enters the
            cache key, so change it when ``fn`` changes.
        **metadata: further :class:`ModelInfo` fields (``training_data``, ``reference`` …).
    """
    info = ModelInfo(
        name=name, modality=modality, family=family, architecture=architecture, input=input,
        granularity="atom" if per_atom else "structure", version=version or "user", **metadata,
    )
    register(info, functools.partial(CallableModel, info, fn), replace=replace)


# --------------------------------------------------------------------------- discovery


def _is_optional_missing(exc: ModuleNotFoundError, package: str = "matteralign") -> bool:
    """True when the missing module is a third-party package (not part of matteralign)."""
    missing = (exc.name or "").split(".")[0]
    return bool(missing) and missing not in ("matteralign", package.split(".")[0])


def _ensure_discovered() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    with _LOCK:
        if _DISCOVERED:
            return
        import matteralign.models as pkg

        _DISCOVERED = True  # set first: plugins may call names() while registering
        try:
            discover(pkg, skip=_NOT_PLUGINS)
        except BaseException:
            _DISCOVERED = False
            raise
    from matteralign import plugins

    plugins.load()  # entry-point plugins (once per process; a failing one only warns)


def discover(package: Any, skip: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Import every module of ``package`` and call its top-level ``register(registry)``.

    A module whose import fails because a third-party package is missing is skipped, with a
    warning and an entry in :func:`discovery_problems`; any other import error propagates.

    Returns:
        The names of the modules whose ``register`` was called.
    """
    global _DISCOVERING
    called = []
    for mod in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if mod.name in skip or mod.ispkg:
            continue
        modname = f"{package.__name__}.{mod.name}"
        try:
            module = importlib.import_module(modname)
        except ModuleNotFoundError as exc:
            if not _is_optional_missing(exc, package.__name__):
                raise
            _PROBLEMS[modname] = f"optional package {exc.name!r} is not installed"
            warnings.warn(
                f"matteralign: models in {modname} are not listed: {_PROBLEMS[modname]} "
                "(its adapter should import it lazily)",
                stacklevel=3,
            )
            continue
        hook = getattr(module, "register", None)
        if callable(hook):
            _DISCOVERING = modname
            try:
                hook(_RegistryHandle())
            finally:
                _DISCOVERING = ""
            called.append(modname)
    return called


class _RegistryHandle:
    """What a plugin's ``register(registry)`` receives: this module's public functions."""

    register = staticmethod(register)
    register_callable = staticmethod(register_callable)
    ModelInfo = ModelInfo

    def __getattr__(self, name: str) -> Any:
        return globals()[name]


def discovery_problems() -> dict[str, str]:
    """Plugin modules skipped because an optional package is missing: ``{module: why}``."""
    _ensure_discovered()
    return dict(_PROBLEMS)


# --------------------------------------------------------------------------- lookup
def names(modality: str | None = None) -> list[str]:
    """Registered model names, sorted (optionally only one modality)."""
    _ensure_discovered()
    return sorted(n for n, e in _ENTRIES.items() if modality is None or e.info.modality == modality)


def entry(name: str) -> Entry:
    """The registry :class:`Entry` of ``name``; unknown names raise UnknownNameError."""
    _ensure_discovered()
    try:
        return _ENTRIES[name]
    except KeyError:
        raise unknown_name("model", name, list(_ENTRIES)) from None


def info(name: str) -> ModelInfo:
    """Metadata of one model."""
    return entry(name).info


def _weights_tag(path: str | os.PathLike) -> str:
    p = Path(path).expanduser().resolve()
    if not p.exists():
        from matteralign.errors import MissingWeightsError

        raise MissingWeightsError(f"weights file {p} does not exist; check the --weights path")
    st = p.stat()
    digest = hashlib.sha1(f"{p}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:10]
    return f"w{digest}"


def get(name: str, *, weights: str | os.PathLike | None = None, **kwargs: Any) -> ModelAdapter:
    """The adapter of ``name`` (built once and cached when called without arguments).

    Args:
        name: registry name (see :func:`names`).
        weights: a checkpoint path passed to the factory as ``weights=``; the model version
            in cache keys then includes a digest of the file (path, size, mtime).
        **kwargs: further factory arguments (not cached).

    Raises:
        UnknownNameError: no such model (with close matches).
        ValidationError: the factory does not accept the given arguments.
        MissingWeightsError: raised by factories that load weights eagerly.
    """
    e = entry(name)
    if weights is None and not kwargs:
        with _LOCK:
            if name not in _INSTANCES:
                _INSTANCES[name] = e.factory()
            return _INSTANCES[name]
    if weights is not None:
        kwargs["weights"] = str(weights)
    try:
        inspect.signature(e.factory).bind(**kwargs)
    except TypeError:
        raise ValidationError(
            f"model {name!r} does not accept {sorted(kwargs)} (its factory takes "
            f"{inspect.signature(e.factory)})"
        ) from None
    adapter = e.factory(**kwargs)
    if weights is not None:
        adapter.weights_tag = _weights_tag(weights)
    return adapter


def availability(name: str) -> tuple[bool, str]:
    """``(weights_here, status)`` for one model; never raises for a broken check (the
    status then says what failed)."""
    e = entry(name)
    if e.available is None:
        return True, "ready (nothing to download)"
    try:
        result = e.available()
    except MatteralignError as exc:
        return False, str(exc)
    except Exception as exc:  # a check must not break the listing; report it instead
        return False, f"availability check failed: {type(exc).__name__}: {exc}"
    if result is True:
        return True, "ready"
    if result is False or result is None:
        return False, "weights not on this machine"
    return False, str(result)


def available(modality: str | None = None, only_here: bool = False):
    """Every registered model with its metadata and whether its weights are here.

    Returns:
        ``pandas.DataFrame`` indexed by ``name`` with the :class:`ModelInfo` fields as
        columns plus ``weights_here`` (bool) and ``status`` (text).
    """
    import pandas as pd

    rows = []
    for n in names(modality):
        here, status = availability(n)
        if only_here and not here:
            continue
        row = info(n).as_dict()
        row.update(weights_here=here, status=status)
        rows.append(row)
    columns = [*ModelInfo.__dataclass_fields__, "weights_here", "status"]
    return pd.DataFrame(rows, columns=columns).set_index("name")


def with_info(name: str, **changes: Any) -> ModelInfo:
    """A copy of ``name``'s metadata with some fields changed (for variants)."""
    return replace(info(name), **changes)


def offline_names(domain: str | None = None, modalities: Sequence[str] | None = None) -> list[str]:
    """Models whose weights are here (and that apply to ``domain`` when given)."""
    out = []
    for n in names():
        i = info(n)
        if modalities and i.modality not in modalities:
            continue
        if domain and i.domains and domain not in i.domains:
            continue
        if availability(n)[0]:
            out.append(n)
    return out
