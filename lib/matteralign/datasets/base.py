"""What every dataset is made of: samples with stable ids, and the dataset around them.

A :class:`Sample` carries one structure in the representations its models need
(``atoms``: an :class:`ase.Atoms` with or without a cell; ``smiles``; ``sequence``) and its
labels. A :class:`Dataset` is an immutable sequence of samples plus :class:`DatasetInfo`
metadata; model adapters read nothing else (``ase``'s lesson: one currency everybody speaks).

Subsets are deterministic and nested: ``ds.subset(n, seed)`` takes the first ``n`` entries
of one fixed permutation of the dataset (a function of ``seed`` only), so the first 1000 of
a 5000 sample are the 1000 sample.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matteralign.errors import ValidationError

__all__ = ["Sample", "DatasetInfo", "Dataset"]


@dataclass(frozen=True)
class Sample:
    """One structure. ``id`` is stable across machines and runs."""

    id: str
    atoms: Any = None  # ase.Atoms
    smiles: str | None = None
    sequence: str | None = None
    labels: Mapping[str, Any] = field(default_factory=dict)

    def require(self, representation: str) -> Any:
        """Return ``atoms``, ``smiles`` or ``sequence``, or raise naming the sample."""
        value = getattr(self, representation)
        if value is None:
            raise ValidationError(f"sample {self.id!r} has no {representation!r} representation")
        return value


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of a registered dataset."""

    name: str
    domain: str  # "molecules" | "materials" | "biomolecules" | "proteins"
    description: str = ""
    source: str = ""
    licence: str = ""
    version: str = ""
    citation: str = ""
    size: int | None = None
    representations: tuple[str, ...] = ("atoms",)
    in_distribution_for: tuple[str, ...] = ()
    out_of_distribution_for: tuple[str, ...] = ()
    role: str = ""  # e.g. "in-distribution", "off-equilibrium", "out-of-distribution"
    shipped: bool = True  # True when the data ship with the repository or a package

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


class Dataset(Sequence[Sample]):
    """An immutable sequence of :class:`Sample` with :class:`DatasetInfo`.

    ``samples`` may be a list or a zero-argument callable producing one (loaded lazily).
    """

    def __init__(self, info: DatasetInfo, samples: Sequence[Sample] | Callable[[], Sequence[Sample]]):
        self.info = info
        self._samples = samples if not callable(samples) else None
        self._factory = samples if callable(samples) else None

    # -- sequence protocol
    def _all(self) -> Sequence[Sample]:
        if self._samples is None:
            self._samples = list(self._factory())  # type: ignore[misc]
            ids = [s.id for s in self._samples]
            if len(set(ids)) != len(ids):
                raise ValidationError(f"dataset {self.name!r} has duplicate sample ids")
        return self._samples

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return Dataset(self.info, list(self._all()[i]))
        return self._all()[i]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self._all())

    def __repr__(self) -> str:
        n = len(self._samples) if self._samples is not None else "?"
        return f"<Dataset {self.name!r} v{self.version} ({n} samples, {self.info.domain})>"

    # -- metadata
    @property
    def name(self) -> str:
        return self.info.name

    @property
    def version(self) -> str:
        return self.info.version

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self._all()]

    def subset(self, n: int | None = None, seed: int = 0) -> Dataset:
        """The first ``n`` samples of a permutation fixed by ``seed`` (nested in ``n``:
        ``subset(5000, s)[:1000]`` holds the same samples, in the same order, as
        ``subset(1000, s)``). ``n=None`` returns the dataset unchanged."""
        if n is None:
            return self
        if n < 1:
            raise ValidationError(f"n must be positive; got {n}")
        samples = self._all()
        order = np.random.default_rng(seed).permutation(len(samples))
        chosen = order[: min(n, len(samples))].tolist()
        return Dataset(self.info, [samples[i] for i in chosen])
