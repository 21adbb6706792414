"""The dataset registry: names → (metadata, loader).

>>> from matteralign.datasets import DatasetInfo, Sample, register, load
>>> def my_loader():
...     return [Sample(id=f"mine:{i}", smiles=s) for i, s in enumerate(["CCO", "c1ccccc1"])]
>>> register(DatasetInfo("my-molecules", "molecules", representations=("smiles",),
...                      shipped=False, version="1"), my_loader, overwrite=True)
>>> load("my-molecules").ids
['mine:0', 'mine:1']
>>> unregister("my-molecules")

Registering the same name again with identical metadata and an identical loader (a notebook
cell run twice) is a no-op; a different definition needs ``overwrite=True``. Datasets
registered by ``matteralign.plugins`` entry points (:mod:`matteralign.plugins`) are loaded
when the registry is first listed or queried, so the command line sees them too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matteralign.datasets.base import Dataset, DatasetInfo, Sample
from matteralign.errors import ValidationError, unknown_name

__all__ = ["register", "unregister", "available", "load", "info", "names", "COLUMNS"]

Loader = Callable[[], Sequence[Sample]]
_REGISTRY: dict[str, tuple[DatasetInfo, Loader]] = {}

COLUMNS = ["domain", "role", "size", "representations", "in_distribution_for",
           "out_of_distribution_for", "source", "licence", "version", "shipped"]


def register(info: DatasetInfo, loader: Loader, overwrite: bool = False) -> None:
    """Register a dataset under ``info.name``.

    Args:
        info: metadata (name, domain, role, size, representations, …).
        loader: zero-argument callable returning the samples (a list or
            :class:`~matteralign.datasets.base.LazySamples`); called at first use only.
        overwrite: replace an existing entry of the same name (otherwise an error, unless
            ``info`` and ``loader`` are identical to the registered ones: then nothing
            changes).
    """
    if not info.name or ":" in info.name:
        raise ValidationError(f"dataset names must be non-empty and contain no ':'; got {info.name!r}")
    if info.name in _REGISTRY and not overwrite:
        from matteralign.plugins import same_callable

        old_info, old_loader = _REGISTRY[info.name]
        if old_info == info and same_callable(old_loader, loader):
            return
        raise ValidationError(f"dataset {info.name!r} is already registered with a different "
                              "definition; pass overwrite=True to replace it")
    _REGISTRY[info.name] = (info, loader)


def _with_plugins() -> None:
    """Load the ``matteralign.plugins`` entry points (once per process) before a query."""
    from matteralign import plugins

    plugins.load()


def unregister(name: str) -> None:
    """Remove a registered dataset (``UnknownNameError`` if there is none)."""
    info(name)  # also loads the plugins first, so a plugin cannot re-add it later
    del _REGISTRY[name]


def names() -> list[str]:
    """Registered names, in registration order."""
    _with_plugins()
    return list(_REGISTRY)


def info(name: str) -> DatasetInfo:
    """Metadata of a registered dataset (raises ``UnknownNameError`` listing the known ones)."""
    _with_plugins()
    try:
        return _REGISTRY[name][0]
    except KeyError:
        raise unknown_name("dataset", name, list(_REGISTRY)) from None


def available():
    """A :class:`pandas.DataFrame` indexed by name with columns :data:`COLUMNS`
    (tuples shown as comma-separated text).

    >>> from matteralign.datasets import available
    >>> int(available().loc["qm9", "size"])
    130831
    """
    import pandas as pd

    _with_plugins()
    rows = {}
    for name, (meta, _) in _REGISTRY.items():
        d = meta.as_dict()
        rows[name] = {c: ", ".join(d[c]) if isinstance(d[c], tuple | list) else d[c]
                      for c in COLUMNS}
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=COLUMNS)
    frame.index.name = "name"
    frame["size"] = frame["size"].astype("Int64")
    return frame


def load(name: str, n: int | None = None, seed: int = 0) -> Dataset:
    """Load a registered dataset, or ``"file:<path>"`` for files on disk
    (:func:`~matteralign.datasets.loaders.from_path`).

    Args:
        name: a registered name (see :func:`available`) or ``file:<path>``.
        n: keep the first ``n`` samples of a permutation fixed by ``seed`` (nested:
            ``load(x, 1000)`` holds the first 1000 samples of ``load(x, 5000)``).
        seed: permutation seed.

    Returns:
        A :class:`~matteralign.datasets.base.Dataset`.

    Raises:
        UnknownNameError: ``name`` is not registered.
        MissingDataError: the dataset's files are absent (message says what to get).
    """
    if name.startswith("file:"):
        from matteralign.datasets.loaders import from_path

        return from_path(name[len("file:"):]).subset(n, seed)
    _with_plugins()
    if name not in _REGISTRY:
        raise unknown_name("dataset", name, list(_REGISTRY))
    meta, loader = _REGISTRY[name]
    return Dataset(meta, loader).subset(n, seed)

