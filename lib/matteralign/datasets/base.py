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

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matteralign.errors import ValidationError

__all__ = ["Sample", "DatasetInfo", "Dataset", "LazySamples", "in_vacuum_box", "content_digest"]


@dataclass(frozen=True)
class Sample:
    """One structure. ``id`` is stable across machines and runs."""

    id: str
    atoms: Any = None  # ase.Atoms
    smiles: str | None = None
    sequence: str | None = None
    labels: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # ids read back from netCDF or numpy arrays arrive as np.str_, whose repr leaks
        # into every error message ("np.str_('qm9:066293')"): keep a plain str
        if type(self.id) is not str and isinstance(self.id, str):
            object.__setattr__(self, "id", str(self.id))

    def require(self, representation: str) -> Any:
        """Return ``atoms``, ``smiles`` or ``sequence``, or raise naming the sample."""
        value = getattr(self, representation)
        if value is None:
            raise ValidationError(f"sample {self.id!r} has no {representation!r} representation")
        return value


_DECIMALS = 8  # positions and cell are hashed rounded to 1e-8 Å


def content_digest(sample: Sample) -> str:
    """SHA-1 (hex) of a sample's content as models read it, not of its id or labels.

    Covers, each tagged with its length: for ``atoms`` the atomic numbers (int64), the
    positions and the cell (float64 rounded to 1e-8 Å, ``-0.0`` folded into ``0.0``, so
    last-bit noise of a computed geometry rarely matters; coordinates read from a file are
    the same bytes everywhere) and pbc; the ``smiles`` string; the ``sequence``. Editing
    any of these (one element, one coordinate, the cell) changes the digest. Cost O(atoms),
    about 30 µs for a small molecule (4 s for all 130,831 QM9 molecules, whose samples take
    11 s to build, on a busy 2-core machine).

    >>> from ase.build import molecule
    >>> water = Sample("w", atoms=molecule("H2O"))
    >>> content_digest(water) == content_digest(Sample("other id", atoms=molecule("H2O")))
    True
    >>> moved = molecule("H2O"); moved.positions[0, 0] += 0.01
    >>> content_digest(water) == content_digest(Sample("w", atoms=moved))
    False
    """
    h = hashlib.sha1()
    atoms = sample.atoms
    if atoms is not None:
        numbers = np.asarray(atoms.numbers)
        n = len(numbers)
        geometry = np.empty((n + 3, 3), dtype="<f8")  # positions, then the cell rows
        geometry[:n] = atoms.positions
        geometry[n:] = np.asarray(atoms.cell)
        np.round(geometry, _DECIMALS, out=geometry)
        geometry += 0.0
        h.update(b"atoms:%d;" % n)
        h.update(numbers.astype("<i8").tobytes())
        h.update(geometry.tobytes())
        h.update(np.asarray(atoms.pbc, dtype=np.uint8).tobytes())
    for tag, text in ((b"smiles", sample.smiles), (b"sequence", sample.sequence)):
        if text is not None:
            raw = text.encode()
            h.update(b"%s:%d;" % (tag, len(raw)))
            h.update(raw)
    return h.hexdigest()


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


class LazySamples(Sequence[Sample]):
    """A sequence of samples whose ids are known up front and whose samples are built on
    demand by ``make(source_index)`` (so a 130,831-molecule dataset can be subset without
    building 130,831 :class:`ase.Atoms`).

    >>> lazy = LazySamples(["a", "b", "c"], lambda i: Sample(id="abc"[i]))
    >>> lazy.take([2, 0]).ids, lazy.take([2, 0])[1].id
    (['c', 'a'], 'a')
    """

    def __init__(self, ids: Sequence[str], make: Callable[[int], Sample],
                 index: Sequence[int] | None = None):
        self.ids = list(ids)
        self._make = make
        self._index = list(index) if index is not None else None

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return self.take(range(len(self))[i])
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._make(self._index[i] if self._index is not None else i)

    def take(self, positions: Sequence[int]) -> LazySamples:
        """The samples at ``positions``, still lazy."""
        src = self._index if self._index is not None else range(len(self.ids))
        return LazySamples([self.ids[p] for p in positions], self._make, [src[p] for p in positions])


class Dataset(Sequence[Sample]):
    """An immutable sequence of :class:`Sample` with :class:`DatasetInfo`.

    ``samples`` may be a list, a :class:`LazySamples`, or a zero-argument callable
    producing either (called on first use).

    >>> ds = Dataset(DatasetInfo("toy", "molecules"), [Sample(id=f"t:{i}") for i in range(5)])
    >>> ds.subset(3, seed=0).ids == ds.subset(4, seed=0).ids[:3]
    True
    """

    def __init__(self, info: DatasetInfo, samples: Sequence[Sample] | Callable[[], Sequence[Sample]]):
        self.info = info
        self._samples = samples if not callable(samples) else None
        self._factory = samples if callable(samples) else None

    # -- sequence protocol
    def _all(self) -> Sequence[Sample]:
        if self._samples is None:
            made = self._factory()  # type: ignore[misc]
            samples = made if isinstance(made, LazySamples) else list(made)
            ids = samples.ids if isinstance(samples, LazySamples) else [s.id for s in samples]
            if len(set(ids)) != len(ids):
                dup = next(i for i in ids if ids.count(i) > 1)
                raise ValidationError(f"dataset {self.name!r} has duplicate sample id {dup!r}")
            self._samples = samples
        return self._samples

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, i):  # type: ignore[override]
        samples = self._all()
        if isinstance(i, slice):
            return Dataset(self.info, samples[i] if isinstance(samples, LazySamples)
                           else list(samples[i]))
        return samples[i]

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
        """Sample ids in order (without building lazily loaded samples)."""
        samples = self._all()
        if isinstance(samples, LazySamples):
            return list(samples.ids)
        return [s.id for s in samples]

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
        if isinstance(samples, LazySamples):
            return Dataset(self.info, samples.take(chosen))
        return Dataset(self.info, [samples[i] for i in chosen])


def in_vacuum_box(atoms, padding: float = 10.0, pbc: bool = True):
    """Return a copy of a molecule centred in an orthorhombic box ``padding`` Å wider than
    it on every side, for models that require a cell.

    With ``padding`` larger than the model's cutoff (CHGNet 5–6 Å, SevenNet 5 Å, MACE 6 Å)
    no atom sees a periodic image, so the result equals the isolated molecule's. Checked
    here on ethanol: CHGNet 0.3.0 *needs* the box (a cell-less ``pbc=False`` Atoms fails in
    its pymatgen conversion with a singular lattice) and gives the same energy with 10 and
    20 Å padding; SevenNet-0 accepts the cell-less molecule and gives the identical energy
    in the 10 Å box. Cost O(n_atoms).

    Args:
        atoms: ase.Atoms (its cell and pbc are replaced).
        padding: vacuum between the molecule's bounding box and each face, in Å.
        pbc: periodic flags of the result (``True`` for codes that refuse mixed pbc).

    Returns:
        A new ase.Atoms with cell ``extent + 2·padding`` and positions centred in it.

    >>> from ase.build import molecule
    >>> boxed = in_vacuum_box(molecule("H2O"), padding=5.0)
    >>> bool(boxed.pbc.all()), bool((boxed.cell.lengths() >= 10.0).all())
    (True, True)
    """
    if padding <= 0:
        raise ValidationError(f"padding must be positive; got {padding}")
    out = atoms.copy()
    extent = out.positions.max(axis=0) - out.positions.min(axis=0) if len(out) else np.zeros(3)
    out.set_cell(np.diag(extent + 2 * padding))
    out.center()
    out.pbc = pbc
    return out
