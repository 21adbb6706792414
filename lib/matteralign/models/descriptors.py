"""Fixed descriptors as models: SOAP, ACSF, MBTR (``dscribe``), sorted Coulomb-matrix
eigenvalues, and composition vectors.

They are the study's "fixed descriptor" architecture class and the baseline every user
expects: no training data, no weights, deterministic real computations
(``random_weights=False``, ``architecture="fixed-descriptor"``, ``modality="descriptor"``).

Species. SOAP and ACSF are per-atom and their size grows with the number of species (SOAP's
full power spectrum with the square of it), so the species set is a parameter:

* ``SOAPModel`` defaults to all elements Z = 1–94 with the ``mu1nu1`` species compression of
  Darby et al. (npj Comput. Mater. 2022, dscribe ≥ 2.1), whose size is *linear* in the
  species count: 94 · n_max² · (l_max + 1) = 6016 features (n_max 4, l_max 3, r_cut 5 Å).
  One model therefore covers molecules and materials alike. Pass ``species=[...]`` and
  ``compression="off"`` for the classic full power spectrum over a few elements.
* ``ACSFModel`` defaults to Z = 1–94 with four radial G2 and one angular G4 function per
  species (pair): 94·(1 + 4) + 4465·1 = 4935 features, mostly zero.
* ``MBTRModel`` is a global (per-structure) descriptor whose k = 2 term grows with the number
  of species *pairs*; it defaults to the organic set H C N O F P S Cl Br I plus one shared
  "other" channel for every remaining element (66 pairs · 50 grid points = 3300 features)
  and applies to molecules.
* ``CoulombEigenModel`` pads to 350 atoms (the largest OMol25-like molecules and the shipped
  peptides fit); zero padding changes neither Euclidean nor cosine geometry.

A structure holding an element outside a model's species (SOAP, ACSF, or MBTR with
``other=False``) raises a ValidationError naming the sample and the element. Parameters enter ``info.version``, so the cache key changes
with them.

Pooling. SOAP, ACSF and composition are per-atom: ``mean`` pooling of the one-hot
composition rows is the fractional composition, ``sum`` the element counts. MBTR and the
Coulomb eigenvalues describe the whole structure (granularity ``"structure"``): their only
pooling is ``none``.

Examples
--------
>>> from ase.build import molecule
>>> from matteralign.datasets.base import Sample
>>> feats = CompositionModel().atom_features([Sample("w", atoms=molecule("H2O"))])
>>> feats[0].shape, feats[0].sum(axis=0)[[0, 7]].tolist()      # rows: atoms; H and O counts
((3, 94), [2.0, 1.0])
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from matteralign.errors import ValidationError
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = [
    "ALL_ELEMENTS",
    "ORGANIC_ELEMENTS",
    "SOAPModel",
    "ACSFModel",
    "MBTRModel",
    "CoulombEigenModel",
    "CompositionModel",
    "register",
]

ALL_ELEMENTS: tuple[int, ...] = tuple(range(1, 95))
ORGANIC_ELEMENTS: tuple[int, ...] = (1, 6, 7, 8, 9, 15, 16, 17, 35, 53)  # H C N O F P S Cl Br I
OTHER_Z = 118  # MBTR's shared channel for elements outside its species (Og never occurs in data)


@cache
def _package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def _version(package: str, params: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{package}{_package_version(package) if package else ''}-{digest}"


def _species_numbers(species: Sequence[int | str]) -> tuple[int, ...]:
    from ase.data import atomic_numbers

    out = []
    for s in species:
        if isinstance(s, str):
            if s not in atomic_numbers:
                raise ValidationError(f"unknown element symbol {s!r} in species")
            out.append(atomic_numbers[s])
        else:
            out.append(int(s))
    return tuple(sorted(set(out)))


def _check_species(sample: Any, allowed: tuple[int, ...], model: str) -> None:
    from ase.data import chemical_symbols

    extra = sorted(set(sample.atoms.numbers.tolist()) - set(allowed))
    if extra:
        symbols = ", ".join(chemical_symbols[z] if 0 < z < len(chemical_symbols) else str(z) for z in extra)
        raise ValidationError(
            f"sample {sample.id!r} contains {symbols}, outside the species of model {model!r}; "
            f"build the model with species=[...] including them"
        )


def _is_periodic(atoms: Any) -> bool:
    return bool(np.any(atoms.pbc)) and atoms.cell.rank == 3


@cache
def _fix_dscribe_system() -> None:
    """dscribe 2.1's ``System`` passes ``ase.Atoms`` arguments by position; ase 3.29 moved
    ``calculator`` out of that order, so ``System.from_atoms`` (used by MBTR) raises
    ``TypeError: Use only one of "momenta" and "velocities"``. Re-bind its constructor to pass
    the same arguments by keyword — only when the failure is present."""
    from ase import Atoms
    from dscribe.core.system import System

    try:
        System.from_atoms(Atoms("H", positions=[[0.0, 0.0, 0.0]]))
        return
    except TypeError:
        pass

    def __init__(self, symbols=None, positions=None, numbers=None, tags=None, momenta=None,
                 masses=None, magmoms=None, charges=None, scaled_positions=None, cell=None,
                 pbc=None, celldisp=None, constraint=None, calculator=None, info=None,
                 wyckoff_positions=None, equivalent_atoms=None):
        Atoms.__init__(self, symbols, positions=positions, numbers=numbers, tags=tags,
                       momenta=momenta, masses=masses, magmoms=magmoms, charges=charges,
                       scaled_positions=scaled_positions, cell=cell, pbc=pbc, celldisp=celldisp,
                       constraint=constraint, calculator=calculator, info=info)
        self.wyckoff_positions = wyckoff_positions
        self.equivalent_atoms = equivalent_atoms
        self._cell_inverse = None
        self._displacement_tensor = None
        self._distance_matrix = None
        self._inverse_distance_matrix = None

    System.__init__ = __init__
    System.from_atoms(Atoms("H", positions=[[0.0, 0.0, 0.0]]))  # fails loudly if still broken


class _DscribeModel(ModelAdapter):
    """Shared plumbing: one dscribe descriptor for periodic and one for finite structures."""

    default_batch_size = 64
    species: tuple[int, ...]

    def _make(self, periodic: bool):  # pragma: no cover - abstract
        raise NotImplementedError

    def _descriptor(self, periodic: bool):
        cache_ = self.__dict__.setdefault("_descriptors", {})
        if periodic not in cache_:
            cache_[periodic] = self._make(periodic)
        return cache_[periodic]

    def check_sample(self, sample: Any) -> None:
        sample.require("atoms")
        _check_species(sample, self.species, self.name)

    def _create(self, atoms: Any) -> np.ndarray:
        from ase import Atoms

        # A bare copy: dscribe's System cannot be built from ase >= 3.25 Atoms that carry
        # momenta/calculators, and nothing but species, positions and cell matters here.
        bare = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        with warnings.catch_warnings():  # dscribe calls the deprecated atoms.get_calculator()
            warnings.simplefilter("ignore", FutureWarning)
            out = self._descriptor(_is_periodic(atoms)).create(bare, n_jobs=1)
        return np.atleast_2d(np.asarray(out, dtype=np.float64))

    def atom_features(self, samples, layer="last", device="cpu"):
        out = []
        for s in samples:
            self.check_sample(s)
            out.append(self._create(s.atoms))
        return out

    def __getstate__(self):  # dscribe objects are rebuilt lazily after unpickling
        state = dict(self.__dict__)
        state.pop("_descriptors", None)
        return state


_DESCRIPTOR_COMMON = dict(
    modality="descriptor",
    architecture="fixed-descriptor",
    training_data="",
    random_weights=False,
    package="dscribe",
)


class SOAPModel(_DscribeModel):
    """Smooth Overlap of Atomic Positions power spectrum per atom (Bartók, Kondor & Csányi,
    PRB 87, 184115, 2013), via dscribe (Himanen et al., CPC 247, 106949, 2020).

    Args:
        species: elements covered (symbols or Z); default Z = 1–94.
        r_cut, n_max, l_max, sigma: cutoff (Å), radial and angular resolution, Gaussian width.
        compression: dscribe species compression, ``"mu1nu1"`` (default, linear in species)
            or ``"off"`` (full power spectrum, quadratic).

    Features per atom: ``len(species)·n_max²·(l_max+1)`` with ``mu1nu1`` (6016 by default).
    Cost per structure O(n_atoms · neighbours · n_max² · l_max²).
    """

    def __init__(self, species: Sequence[int | str] = ALL_ELEMENTS, r_cut: float = 5.0, n_max: int = 4,
                 l_max: int = 3, sigma: float = 0.5, compression: str = "mu1nu1", name: str = "soap"):
        self.species = _species_numbers(species)
        self.params = dict(species=list(self.species), r_cut=r_cut, n_max=n_max, l_max=l_max,
                           sigma=sigma, compression=compression)
        self.info = ModelInfo(
            name=name, family="SOAP", version=_version("dscribe", self.params),
            reference="Bartók, Kondor & Csányi, Phys. Rev. B 87, 184115 (2013); dscribe",
            description=f"SOAP power spectrum per atom, {len(self.species)} species, "
                        f"r_cut {r_cut} Å, n_max {n_max}, l_max {l_max}, compression {compression}",
            **_DESCRIPTOR_COMMON,
        )

    def _make(self, periodic: bool):
        from dscribe.descriptors import SOAP

        p = self.params
        return SOAP(species=list(self.species), r_cut=p["r_cut"], n_max=p["n_max"], l_max=p["l_max"],
                    sigma=p["sigma"], periodic=periodic, compression={"mode": p["compression"]})


class ACSFModel(_DscribeModel):
    """Atom-centred symmetry functions per atom (Behler, J. Chem. Phys. 134, 074106, 2011),
    via dscribe.

    Args:
        species: elements covered; default Z = 1–94.
        r_cut: cutoff (Å).
        g2_params: ``[[eta, R_s], ...]`` radial functions, one set per neighbour species.
        g4_params: ``[[eta, zeta, lambda], ...]`` angular functions, one set per species pair.

    Features per atom: ``S·(1 + len(g2)) + S(S+1)/2·len(g4)`` for S species (4935 by default).
    """

    def __init__(self, species: Sequence[int | str] = ALL_ELEMENTS, r_cut: float = 6.0,
                 g2_params: Sequence[Sequence[float]] = ((1.0, 0.0), (0.5, 1.5), (0.2, 3.0), (0.1, 4.5)),
                 g4_params: Sequence[Sequence[float]] = ((0.005, 1.0, 1.0),), name: str = "acsf"):
        self.species = _species_numbers(species)
        self.params = dict(species=list(self.species), r_cut=r_cut,
                           g2=[list(map(float, g)) for g in g2_params],
                           g4=[list(map(float, g)) for g in g4_params])
        self.info = ModelInfo(
            name=name, family="ACSF", version=_version("dscribe", self.params),
            reference="Behler, J. Chem. Phys. 134, 074106 (2011); dscribe",
            description=f"Behler–Parrinello symmetry functions per atom, {len(self.species)} species, "
                        f"r_cut {r_cut} Å, {len(g2_params)} G2 + {len(g4_params)} G4",
            **_DESCRIPTOR_COMMON,
        )

    def _make(self, periodic: bool):
        from dscribe.descriptors import ACSF

        p = self.params
        return ACSF(r_cut=p["r_cut"], g2_params=p["g2"], g4_params=p["g4"], species=list(self.species),
                    periodic=periodic)


class MBTRModel(_DscribeModel):
    """Many-body tensor representation, k = 2 term (inverse distances), per structure
    (Huo & Rupp, Mach. Learn.: Sci. Technol. 3, 045017, 2022), via dscribe.

    Args:
        species: elements with their own channel; default H C N O F P S Cl Br I.
        other: give every element outside ``species`` one shared "other" channel (default
            True), so organometallics and salts are described rather than rejected; False
            raises for them instead.
        n_grid, sigma: grid points on inverse distance 0–1 Å⁻¹ and Gaussian width.
        decay: exponential weighting scale for periodic structures (finite ones: unity).

    Features: ``S(S+1)/2 · n_grid`` for S channels (11 · 12 / 2 · 50 = 3300 by default),
    L2-normalised. Pooling: ``none``. Cost O(n_atoms²) per structure.
    """

    def __init__(self, species: Sequence[int | str] = ORGANIC_ELEMENTS, other: bool = True,
                 n_grid: int = 50, sigma: float = 0.02, decay: float = 0.5, name: str = "mbtr"):
        self.named_species = _species_numbers(species)
        if OTHER_Z in self.named_species:
            raise ValidationError(f"species may not include Z = {OTHER_Z} (the 'other' channel)")
        self.other = bool(other)
        self.species = (*self.named_species, OTHER_Z) if self.other else self.named_species
        self.params = dict(species=list(self.named_species), other=self.other, n_grid=n_grid,
                           sigma=sigma, decay=decay)
        self.info = ModelInfo(
            name=name, family="MBTR", version=_version("dscribe", self.params), granularity="structure",
            domains=("molecules", "biomolecules"),
            reference="Huo & Rupp, Mach. Learn.: Sci. Technol. 3, 045017 (2022); dscribe",
            description=f"MBTR k=2 inverse-distance histogram per structure, {len(self.named_species)} "
                        f"species{' + other' if self.other else ''}",
            **_DESCRIPTOR_COMMON,
        )

    def check_sample(self, sample: Any) -> None:
        sample.require("atoms")
        if not self.other:
            _check_species(sample, self.species, self.name)

    def _create(self, atoms: Any) -> np.ndarray:
        if self.other:
            atoms = atoms.copy()
            numbers = atoms.numbers
            numbers[~np.isin(numbers, self.named_species)] = OTHER_Z
            atoms.numbers = numbers
        return super()._create(atoms)

    def _make(self, periodic: bool):
        from dscribe.descriptors import MBTR

        _fix_dscribe_system()
        p = self.params
        weighting = ({"function": "exp", "scale": p["decay"], "threshold": 1e-3} if periodic
                     else {"function": "unity"})
        return MBTR(geometry={"function": "inverse_distance"},
                    grid={"min": 0.0, "max": 1.0, "n": p["n_grid"], "sigma": p["sigma"]},
                    weighting=weighting, species=list(self.species), periodic=periodic,
                    normalization="l2")


class CoulombEigenModel(ModelAdapter):
    """Sorted eigenvalues of the Coulomb matrix (Rupp et al., PRL 108, 058301, 2012).

    ``C_ii = ½ Z_i^2.4``, ``C_ij = Z_i Z_j / |r_i − r_j|`` (Å, atomic-unit charges); the
    eigenvalues sorted by decreasing magnitude, zero-padded to ``n_atoms_max``. Invariant to
    rotation, translation and atom order. Finite molecules only. Cost O(n³) per molecule.

    Args:
        n_atoms_max: feature length (default 350); larger molecules raise a ValidationError.
    """

    default_batch_size = 256

    def __init__(self, n_atoms_max: int = 350, name: str = "coulomb-eigen"):
        self.n_atoms_max = int(n_atoms_max)
        self.info = ModelInfo(
            name=name, family="Coulomb matrix", version=_version("", {"n_atoms_max": self.n_atoms_max}),
            granularity="structure", domains=("molecules", "biomolecules"), package="numpy",
            reference="Rupp, Tkatchenko, Müller & von Lilienfeld, Phys. Rev. Lett. 108, 058301 (2012)",
            description=f"sorted Coulomb-matrix eigenvalues, padded to {self.n_atoms_max}",
            **{k: v for k, v in _DESCRIPTOR_COMMON.items() if k != "package"},
        )

    def check_sample(self, sample: Any) -> None:
        atoms = sample.require("atoms")
        if _is_periodic(atoms):
            raise ValidationError(
                f"sample {sample.id!r} is periodic; the Coulomb matrix applies to finite molecules"
            )
        if len(atoms) > self.n_atoms_max:
            raise ValidationError(
                f"sample {sample.id!r} has {len(atoms)} atoms > n_atoms_max={self.n_atoms_max}; "
                "build CoulombEigenModel(n_atoms_max=...) larger"
            )

    def atom_features(self, samples, layer="last", device="cpu"):
        out = []
        for s in samples:
            self.check_sample(s)
            z = s.atoms.numbers.astype(np.float64)
            r = s.atoms.positions
            d = np.linalg.norm(r[:, None, :] - r[None, :, :], axis=-1)
            with np.errstate(divide="ignore"):
                cm = np.outer(z, z) / d
            np.fill_diagonal(cm, 0.5 * z**2.4)
            if not np.all(np.isfinite(cm)):
                raise ValidationError(f"sample {s.id!r} has two atoms at the same position")
            eig = np.linalg.eigvalsh(cm)
            eig = eig[np.argsort(-np.abs(eig), kind="stable")]
            row = np.zeros(self.n_atoms_max)
            row[: len(eig)] = eig
            out.append(row[None, :])
        return out


class CompositionModel(ModelAdapter):
    """Element one-hot per atom over Z = 1–94; ``mean`` pooling gives the fractional
    composition, ``sum`` the element counts, ``max`` the element presence. Invariant to any
    geometry. Cost O(n_atoms)."""

    default_batch_size = 1024

    def __init__(self, name: str = "composition"):
        self.info = ModelInfo(
            name=name, family="Composition", version="v1", package="numpy",
            reference="fractional composition (e.g. Jha et al., ElemNet, Sci. Rep. 8, 17593, 2018)",
            description="element one-hot per atom over Z = 1–94 (mean pooling: fractional composition)",
            **{k: v for k, v in _DESCRIPTOR_COMMON.items() if k != "package"},
        )

    def check_sample(self, sample: Any) -> None:
        sample.require("atoms")
        _check_species(sample, ALL_ELEMENTS, self.name)

    def atom_features(self, samples, layer="last", device="cpu"):
        out = []
        for s in samples:
            self.check_sample(s)
            z = s.atoms.numbers
            onehot = np.zeros((len(z), len(ALL_ELEMENTS)))
            onehot[np.arange(len(z)), z - 1] = 1.0
            out.append(onehot)
        return out


def register(registry) -> None:
    """Register the default descriptor models (called by the registry's discovery)."""
    for cls in (SOAPModel, ACSFModel, MBTRModel, CoulombEigenModel, CompositionModel):
        proto = cls()
        registry.register(proto.info, cls)
