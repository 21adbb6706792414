"""Plugins: user models and datasets that every entry point (CLI, notebooks, scripts) sees.

A plugin is an installed distribution that declares an entry point in the group
``matteralign.plugins``::

    # pyproject.toml of the user's package
    [project.entry-points."matteralign.plugins"]
    my-models = "my_package.matteralign_plugin:setup"

The entry point names either a callable taking no arguments (``module:function``), which
is called, or a module (``module``), which is imported; inside it the user registers with
:func:`matteralign.models.register_callable`, :func:`matteralign.models.register` and
:func:`matteralign.datasets.register`.

:func:`load` runs every plugin once per process. It is called when the CLI starts and when
either registry is first listed or queried (``models.names()``, ``models.get()``,
``datasets.names()``, ``datasets.load()`` …), so ``matteralign models`` and
``matteralign embed --model NAME`` find plugin models without any import by the user. A
plugin that fails (import error, exception, a name clash) is reported by one
:class:`PluginWarning` naming it and is skipped; it never breaks the CLI or the other
plugins.
"""

from __future__ import annotations

import functools
import threading
import types
import warnings
from typing import Any

__all__ = ["GROUP", "PluginWarning", "load", "loaded", "same_callable"]

GROUP = "matteralign.plugins"

_LOCK = threading.RLock()
_STARTED = False  # set when loading begins: a plugin that queries a registry does not recurse
_DONE = False  # set when every plugin ran: other threads wait on the lock until then
_LOADED: list[str] = []


class PluginWarning(UserWarning):
    """A ``matteralign.plugins`` entry point failed to load; its models and datasets are
    not registered."""


def load() -> list[str]:
    """Load every ``matteralign.plugins`` entry point, once per process.

    Returns:
        The names of the plugins that loaded without error (the same list on every call).

    Examples:
        >>> load() == load() == loaded()   # the second call does nothing
        True
    """
    global _STARTED, _DONE
    if _DONE:
        return list(_LOADED)
    with _LOCK:
        if _STARTED:  # done meanwhile, or a plugin (same thread) that queries a registry
            return list(_LOADED)
        _STARTED = True
        from importlib.metadata import entry_points

        for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
            try:
                obj = ep.load()
                if not isinstance(obj, types.ModuleType):
                    if not callable(obj):
                        raise TypeError(f"{ep.value} is neither a module nor a callable")
                    obj()
            except Exception as exc:  # a broken plugin must not break matteralign
                what = " ".join(str(exc).split()) or "no message"
                warnings.warn(PluginWarning(
                    f"plugin {ep.name!r} ({ep.value}) failed and was skipped: "
                    f"{type(exc).__name__}: {what}"), stacklevel=2)
                continue
            _LOADED.append(ep.name)
        _DONE = True
    return list(_LOADED)


def loaded() -> list[str]:
    """Names of the plugins loaded so far (empty before :func:`load` ran)."""
    return list(_LOADED)


def same_callable(a: Any, b: Any) -> bool:
    """Whether two callables do the same thing, as far as can be told without calling them.

    True for the same object; for functions with equal code, defaults and closure values
    (a notebook cell that is run again defines a new but identical function); for classes
    defined again with the same members; for ``functools.partial`` objects of same callables
    with equal arguments. Used to make an identical re-registration a no-op. A function that
    reads a global which has since changed is not detected (bump the model ``version`` when
    its behaviour changes).

    Examples:
        >>> def scaled(k):
        ...     return lambda x: k * x
        >>> same_callable(scaled(2), scaled(2)), same_callable(scaled(2), scaled(3))
        (True, False)
    """
    return _same(a, b, 0)


_MAX_DEPTH = 8  # nested closures compared this deep; deeper (or self-referencing) is "different"
_CLASS_BOOKKEEPING = {"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__",
                      "__abstractmethods__", "_abc_impl", "__annotations__"}


def _same(a: Any, b: Any, depth: int) -> bool:
    if a is b:
        return True
    if depth > _MAX_DEPTH:
        return False
    d = depth + 1
    if isinstance(a, type) and isinstance(b, type):  # nested (e.g. super()'s __class__
        if depth:  # cell, which would recurse): by name; the registered class: in full
            return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)
        return _same_class(a, b, d)
    if isinstance(a, functools.partial) and isinstance(b, functools.partial):
        return (_same(a.func, b.func, d) and _same(a.args, b.args, d)
                and a.keywords.keys() == b.keywords.keys()
                and all(_same(a.keywords[k], b.keywords[k], d) for k in a.keywords))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y, d) for x, y in zip(a, b, strict=True))
    ca, cb = getattr(a, "__code__", None), getattr(b, "__code__", None)
    if ca is None or cb is None:
        return _equal(a, b)
    if (ca != cb or getattr(a, "__module__", None) != getattr(b, "__module__", None)
            or getattr(a, "__qualname__", None) != getattr(b, "__qualname__", None)):
        return False
    if not _same(getattr(a, "__defaults__", None), getattr(b, "__defaults__", None), d):
        return False
    if not _same(getattr(a, "__kwdefaults__", None), getattr(b, "__kwdefaults__", None), d):
        return False
    cells_a, cells_b = getattr(a, "__closure__", None) or (), getattr(b, "__closure__", None) or ()
    if len(cells_a) != len(cells_b):
        return False
    try:
        values = [(x.cell_contents, y.cell_contents) for x, y in zip(cells_a, cells_b, strict=True)]
    except ValueError:  # an empty cell
        return False
    return all(_same(x, y, d) for x, y in values)


def _same_class(a: type, b: type, depth: int) -> bool:
    """A class defined again by the same source: same name, bases and members."""
    if (a.__module__, a.__qualname__) != (b.__module__, b.__qualname__):
        return False
    if len(a.__bases__) != len(b.__bases__) or not all(
            x is y or (depth <= _MAX_DEPTH and _same_class(x, y, depth + 1))
            for x, y in zip(a.__bases__, b.__bases__, strict=True)):
        return False
    va = {k: v for k, v in vars(a).items() if k not in _CLASS_BOOKKEEPING}
    vb = {k: v for k, v in vars(b).items() if k not in _CLASS_BOOKKEEPING}
    if va.keys() != vb.keys():
        return False
    for key, x in va.items():
        y = vb[key]
        if isinstance(x, staticmethod | classmethod) and type(x) is type(y):
            x, y = x.__func__, y.__func__
        if not _same(x, y, depth):
            return False
    return True


def _equal(a: Any, b: Any) -> bool:
    if hasattr(a, "shape") and hasattr(b, "shape"):
        import numpy as np

        try:
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        except Exception:
            return False
    try:
        return bool(a == b)
    except Exception:  # objects without a plain truth value
        return False
