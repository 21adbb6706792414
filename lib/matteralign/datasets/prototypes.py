"""Near-equilibrium inorganic crystals from prototypes, relaxed with CHGNet, and perturbed
copies of them (rattled, strained, short high-temperature MD), as OMat24 was made from
Alexandria (Barroso-Luque et al. 2024, arXiv 2410.12771).

Prototypes (:data:`PROTOTYPES`): elemental bcc/fcc/hcp/diamond, rock salt, CsCl, zinc
blende, wurtzite, fluorite, anti-fluorite, rutile, cubic perovskite, spinel and full
Heusler, decorated with element choices that are charge-balanced in common oxidation states
(checked by :func:`charge_balanced`; Heusler and elemental
metals are intermetallic and exempt). Each is built in its conventional setting, reduced to
its primitive cell, scaled to a volume estimated from atomic radii, and relaxed (positions
and cell) with CHGNet 0.3.0 (Deng et al. 2023, Nat. Mach. Intell. 5, 1031), FIRE,
``fmax`` 0.05 eV/Å, at most :data:`RELAX_STEPS` steps.

Ids: ``proto:<prototype>:<formula>``; perturbed copies append ``:rattle0.05``,
``:rattle0.15``, ``:strain`` or ``:md<T>K-<step>``. The CHGNet energy stored as
``chgnet_energy`` is a model value, not a DFT label.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = [
    "PROTOTYPES",
    "Decoration",
    "decorations",
    "build",
    "relax",
    "generate_relaxed",
    "perturb",
    "generate_perturbed",
    "load_relaxed_frames",
]

CHGNET_VERSION = "0.3.0"
RELAX_STEPS = 250
FMAX = 0.05
SEED = 20251203

_ALKALI = ["Li", "Na", "K", "Rb"]
_HALIDE = ["F", "Cl", "Br", "I"]
_CHALC = ["O", "S", "Se"]

# prototype -> (space group, Wyckoff sites as (role, frac coords), c/a (hexagonal/tetragonal))
PROTOTYPES: dict[str, tuple[int, list[tuple[str, tuple[float, float, float]]], float]] = {
    "bcc": (229, [("A", (0, 0, 0))], 1.0),
    "fcc": (225, [("A", (0, 0, 0))], 1.0),
    "hcp": (194, [("A", (1 / 3, 2 / 3, 0.25))], 1.633),
    "diamond": (227, [("A", (0, 0, 0))], 1.0),  # Fd-3m in origin choice 1, as pymatgen
    "rocksalt": (225, [("A", (0, 0, 0)), ("X", (0.5, 0.5, 0.5))], 1.0),
    "cscl": (221, [("A", (0, 0, 0)), ("X", (0.5, 0.5, 0.5))], 1.0),
    "zincblende": (216, [("A", (0, 0, 0)), ("X", (0.25, 0.25, 0.25))], 1.0),
    "wurtzite": (186, [("A", (1 / 3, 2 / 3, 0)), ("X", (1 / 3, 2 / 3, 0.375))], 1.633),
    "fluorite": (225, [("A", (0, 0, 0)), ("X", (0.25, 0.25, 0.25))], 1.0),
    "antifluorite": (225, [("X", (0, 0, 0)), ("A", (0.25, 0.25, 0.25))], 1.0),
    "rutile": (136, [("A", (0, 0, 0)), ("X", (0.305, 0.305, 0))], 0.64),
    "perovskite": (221, [("A", (0.5, 0.5, 0.5)), ("B", (0, 0, 0)), ("X", (0.5, 0, 0))], 1.0),
    "spinel": (227, [("A", (0, 0, 0)), ("B", (0.625, 0.625, 0.625)),
                     ("X", (0.3875, 0.3875, 0.3875))], 1.0),
    "heusler": (225, [("A", (0.25, 0.25, 0.25)), ("B", (0, 0, 0)), ("X", (0.5, 0.5, 0.5))], 1.0),
}

_CHOICES: dict[str, list[dict[str, str]]] = {
    "bcc": [{"A": e} for e in ["Li", "Na", "K", "V", "Cr", "Fe", "Nb", "Mo", "Ta", "W", "Ba"]],
    "fcc": [{"A": e} for e in ["Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt", "Pb", "Ca", "Sr",
                               "Rh", "Ir"]],
    "hcp": [{"A": e} for e in ["Be", "Mg", "Sc", "Ti", "Co", "Zn", "Y", "Zr", "Ru", "Cd", "Hf",
                               "Os"]],
    "diamond": [{"A": e} for e in ["C", "Si", "Ge", "Sn"]],
    "rocksalt": [{"A": a, "X": x} for a in _ALKALI + ["Ag"] for x in _HALIDE]
    + [{"A": a, "X": x} for a in ["Mg", "Ca", "Sr", "Ba", "Mn", "Co", "Ni", "Cd"] for x in _CHALC],
    "cscl": [{"A": a, "X": x} for a in ["Cs", "Tl"] for x in ["Cl", "Br", "I"]],
    "zincblende": [{"A": a, "X": x} for a in ["Be", "Zn", "Cd", "Hg"] for x in ["S", "Se", "Te"]]
    + [{"A": a, "X": x} for a in ["B", "Al", "Ga", "In"] for x in ["N", "P", "As", "Sb"]]
    + [{"A": a, "X": x} for a in ["Cu", "Ag"] for x in ["Cl", "Br", "I"]],
    "wurtzite": [{"A": a, "X": x} for a in ["Be", "Mg", "Zn", "Cd"] for x in _CHALC]
    + [{"A": a, "X": "N"} for a in ["Al", "Ga", "In"]],
    "fluorite": [{"A": a, "X": "F"} for a in ["Ca", "Sr", "Ba", "Cd", "Pb"]]
    + [{"A": a, "X": "O"} for a in ["Ce", "Zr", "Hf", "Th", "U"]],
    "antifluorite": [{"A": a, "X": x} for a in _ALKALI for x in ["O", "S"]],
    "rutile": [{"A": a, "X": "O"} for a in ["Ti", "V", "Cr", "Mn", "Ge", "Ru", "Sn", "Ir", "Pb"]]
    + [{"A": a, "X": "F"} for a in ["Mg", "Mn", "Fe", "Co", "Ni", "Zn"]],
    "perovskite": [{"A": a, "B": b, "X": "O"} for a in ["Ca", "Sr", "Ba", "Pb"]
                   for b in ["Ti", "Zr", "Sn", "Hf"]]
    + [{"A": a, "B": b, "X": "O"} for a in ["Na", "K"] for b in ["Nb", "Ta"]]
    + [{"A": a, "B": b, "X": "O"} for a in ["Y", "La"] for b in ["Al", "Cr", "Fe", "Ga"]]
    + [{"A": a, "B": b, "X": "F"} for a in ["K", "Rb", "Cs"] for b in ["Mg", "Zn"]]
    + [{"A": "Cs", "B": "Pb", "X": x} for x in ["Cl", "Br", "I"]],
    "spinel": [{"A": a, "B": b, "X": "O"} for a in ["Mg", "Mn", "Fe", "Co", "Ni", "Zn"]
               for b in ["Al", "Cr", "Fe", "Ga"]],
    "heusler": [{"A": a, "B": b, "X": x} for a, b, x in [
        ("Co", "Mn", "Si"), ("Co", "Mn", "Ge"), ("Co", "Fe", "Si"), ("Co", "Ti", "Al"),
        ("Co", "Cr", "Al"), ("Ni", "Mn", "Ga"), ("Ni", "Mn", "In"), ("Cu", "Mn", "Al"),
        ("Fe", "V", "Al"), ("Ru", "Mn", "Ge")]],
}
_METALLIC = {"bcc", "fcc", "hcp", "diamond", "heusler"}


@dataclass(frozen=True)
class Decoration:
    """One prototype with one element choice."""

    prototype: str
    elements: tuple[tuple[str, str], ...]  # (role, element)

    @property
    def id(self) -> str:
        """``proto:<prototype>:<elements by site role>``, e.g. ``proto:spinel:Mg-Al-O``."""
        order = [role for role, _ in PROTOTYPES[self.prototype][1]]
        roles = dict(self.elements)
        return f"proto:{self.prototype}:{'-'.join(roles[r] for r in order)}"

    @property
    def formula(self) -> str:
        return self.structure(primitive=True).composition.reduced_formula

    def structure(self, primitive: bool = True):
        """The unrelaxed pymatgen Structure, scaled to a radius-based volume guess."""
        return build(self.prototype, dict(self.elements), primitive=primitive)


def decorations() -> list[Decoration]:
    """Every (prototype, element choice) in a fixed order (242 of them).

    >>> d = decorations(); len(d), d[0].id, d[-1].id
    (242, 'proto:bcc:Li', 'proto:heusler:Ru-Mn-Ge')
    """
    return [Decoration(p, tuple(sorted(c.items()))) for p in PROTOTYPES for c in _CHOICES[p]]


def build(prototype: str, elements: dict[str, str], primitive: bool = True):
    """Build ``prototype`` decorated with ``elements`` (role -> symbol) as a pymatgen
    Structure, volume scaled to Σ 4/3·π·r³ / 0.6 with r the atomic radius.

    >>> s = build("rocksalt", {"A": "Na", "X": "Cl"})
    >>> s.composition.reduced_formula, len(s)
    ('NaCl', 2)
    """
    from pymatgen.core import Lattice, Structure

    sg, sites, c_over_a = PROTOTYPES[prototype]
    a = 5.0  # placeholder; the volume is set below (and primitive search needs Å scales)
    if sg in (186, 194):
        lattice = Lattice.hexagonal(a, a * c_over_a)
    elif sg == 136:
        lattice = Lattice.tetragonal(a, a * c_over_a)
    else:
        lattice = Lattice.cubic(a)
    species = [elements[role] for role, _ in sites]
    coords = [xyz for _, xyz in sites]
    s = Structure.from_spacegroup(sg, lattice, species, coords)
    s.scale_lattice(_volume_guess(s))
    if primitive:
        s = s.get_primitive_structure()
    s.scale_lattice(_volume_guess(s))
    return s


def _volume_guess(s) -> float:
    from pymatgen.core import Element

    return sum(4 / 3 * math.pi * float(Element(site.specie.symbol).atomic_radius) ** 3
               for site in s) / 0.6


# formula units: atoms per role
_STOICHIOMETRY = {"rocksalt": {"A": 1, "X": 1}, "cscl": {"A": 1, "X": 1},
                  "zincblende": {"A": 1, "X": 1}, "wurtzite": {"A": 1, "X": 1},
                  "fluorite": {"A": 1, "X": 2}, "antifluorite": {"A": 2, "X": 1},
                  "rutile": {"A": 1, "X": 2}, "perovskite": {"A": 1, "B": 1, "X": 3},
                  "spinel": {"A": 1, "B": 2, "X": 4}}


def charge_balanced(decoration: Decoration) -> bool:
    """Whether some choice of one oxidation state per site role, each among the element's
    common or ICSD-observed states (pymatgen ``Element.common_oxidation_states`` ∪
    ``icsd_oxidation_states``), sums to zero over a formula unit. Cost: the product of
    the numbers of states (≤ a few hundred).

    >>> charge_balanced(Decoration("spinel", (("A", "Fe"), ("B", "Fe"), ("X", "O"))))
    True
    """
    import itertools

    from pymatgen.core import Element

    counts = _STOICHIOMETRY[decoration.prototype]
    roles = dict(decoration.elements)
    states = [sorted(set(Element(roles[r]).common_oxidation_states)
                     | set(Element(roles[r]).icsd_oxidation_states)) for r in counts]
    return any(sum(q * n for q, n in zip(combo, counts.values())) == 0
               for combo in itertools.product(*states))


def _model():
    from chgnet.model import CHGNet

    _set_threads()
    return CHGNet.load(model_name=CHGNET_VERSION, verbose=False)


def relax(structure, model=None, steps: int = RELAX_STEPS, fmax: float = FMAX):
    """Relax positions and cell with CHGNet (FIRE).

    Returns:
        ``(ase.Atoms, energy_eV, n_steps, converged)``. Cost: ``n_steps`` CHGNet force and
        stress evaluations.
    """
    import warnings

    from chgnet.model import StructOptimizer
    from pymatgen.io.ase import AseAtomsAdaptor

    model = model or _model()
    opt = StructOptimizer(model=model, optimizer_class="FIRE", use_device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = opt.relax(structure, fmax=fmax, steps=steps, relax_cell=True, verbose=False)
    traj = result["trajectory"]
    n = len(traj.energies)
    forces = np.asarray(traj.forces[-1])
    converged = bool(np.abs(forces).max() < fmax * 1.0001) if len(forces) else True
    atoms = AseAtomsAdaptor.get_atoms(result["final_structure"])
    atoms.calc = None
    energy = float(traj.energies[-1])
    return atoms, energy, n, converged and n < steps


_WORKER_MODEL = None


def _relax_one(dec: Decoration):
    global _WORKER_MODEL
    if _WORKER_MODEL is None:
        _WORKER_MODEL = _model()
    if dec.prototype not in _METALLIC and not charge_balanced(dec):
        return f"not charge-balanced in common oxidation states ({dec.formula})"
    s = dec.structure()
    try:
        atoms, energy, n, converged = relax(s, _WORKER_MODEL)
    except Exception as exc:  # a failed relaxation is reported, not dropped
        return f"relaxation failed: {type(exc).__name__}: {exc}"
    if not np.isfinite(energy):
        return "relaxation diverged (non-finite energy)"
    return atoms, energy, n, converged


@dataclass(frozen=True)
class _Failure:  # shaped like organics.ConformerFailure for the datasheet
    id: str
    smiles: str
    reason: str


def generate_relaxed(limit: int | None = None, processes: int | None = None):
    """Relax every decoration (the first ``limit`` if given).

    Returns:
        ``(frames, failures, how_made)``: ase.Atoms with ``info`` ``id``, ``prototype``,
        ``formula``, ``chgnet_energy`` (eV), ``relax_steps``, ``relax_converged``; failure
        records; the datasheet's "how made" paragraph. About 1–5 s per structure per core.
    """
    decs = decorations()[:limit]
    processes = processes or min(2, os.cpu_count() or 1)
    if processes > 1 and len(decs) > 1:
        with ProcessPoolExecutor(processes, initializer=_set_threads) as pool:
            results = list(pool.map(_relax_one, decs, chunksize=2))
    else:
        results = [_relax_one(d) for d in decs]
    frames, failures = [], []
    for dec, res in zip(decs, results):
        if isinstance(res, str):
            failures.append(_Failure(dec.id, dec.structure().composition.reduced_formula, res))
            continue
        atoms, energy, n, converged = res
        atoms.info = {"id": dec.id, "prototype": dec.prototype, "formula": dec.formula,
                      "chgnet_energy": round(energy, 6),
                      "relax_steps": n, "relax_converged": converged}
        frames.append(atoms)
    return frames, failures, how_made_relaxed(len(decs))


def how_made_relaxed(n: int) -> str:
    """The datasheet's "how made" paragraph for ``n`` relaxed decorations."""
    return (
        f"{n} decorations of {len(PROTOTYPES)} prototypes "
        f"({', '.join(PROTOTYPES)}), listed in `matteralign.datasets.prototypes.decorations()`; "
        "ionic ones checked charge-balanced (one common or ICSD oxidation state per site role, pymatgen). Built with "
        "`pymatgen.Structure.from_spacegroup`, reduced to the primitive cell, volume scaled "
        "to Σ(4/3)πr³/0.6 (atomic radii), then relaxed (positions and cell) with CHGNet "
        f"{CHGNET_VERSION} (chgnet package), FIRE, fmax {FMAX} eV/Å, at most {RELAX_STEPS} "
        "steps, torch on one thread. `chgnet_energy` (eV, total) is the CHGNet value, not "
        "DFT. `relax_converged` is False where the step cap was hit. Regenerate: "
        "`python -m matteralign.datasets.generate --only prototypes`."
    )


def _set_threads():
    """One thread everywhere: torch, and the BLAS under scipy's 3×3 ``expm_frechet`` in
    ase's cell filter (spinning OpenBLAS threads on a loaded machine made relaxations 8×
    slower)."""
    import torch

    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def load_relaxed_frames(path) -> list:
    """Read the relaxed prototypes written by :func:`generate_relaxed`."""
    from matteralign.datasets._store import read_structures

    return read_structures(path, what="CHGNet-relaxed prototypes")


def _supercell(atoms, min_atoms: int = 8):
    reps = [1, 1, 1]
    while len(atoms) * math.prod(reps) < min_atoms:
        lengths = atoms.cell.lengths() * reps
        reps[int(np.argmin(lengths))] += 1
    return atoms.repeat(reps)


def perturb(atoms, index: int, md: bool, model=None, temperature: float = 1000.0,
            md_steps: int = 100, snapshots: Sequence[int] = (50, 100)) -> list:
    """Perturbed copies of one relaxed structure (a supercell of at least 8 atoms).

    * ``rattle0.05`` / ``rattle0.15``: Gaussian displacements, σ = 0.05 / 0.15 Å;
    * ``strain``: a random symmetric strain, components uniform in ±4 %;
    * ``md<T>K-<step>`` (when ``md``): Langevin dynamics with CHGNet at ``temperature`` K,
      1 fs steps, friction 0.02 fs⁻¹, snapshots at ``snapshots``.

    The random stream is ``numpy.random.default_rng([SEED, index])``: deterministic.
    Cost: ``md_steps`` CHGNet evaluations when ``md``, negligible otherwise.
    """
    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    rng = np.random.default_rng([SEED, index])
    base = _supercell(atoms)
    parent = atoms.info["id"]
    out = []
    for sigma in (0.05, 0.15):
        a = base.copy()
        a.positions = a.positions + rng.normal(0.0, sigma, size=a.positions.shape)
        a.info = {"id": f"{parent}:rattle{sigma:.2f}", "parent": parent, "kind": "rattle",
                  "amplitude": sigma}
        out.append(a)
    eps = rng.uniform(-0.04, 0.04, size=(3, 3))
    eps = (eps + eps.T) / 2
    a = base.copy()
    a.set_cell(np.asarray(base.cell) @ (np.eye(3) + eps), scale_atoms=True)
    a.info = {"id": f"{parent}:strain", "parent": parent, "kind": "strain",
              "amplitude": float(np.abs(eps).max().round(6))}
    out.append(a)
    if md:
        from chgnet.model.dynamics import CHGNetCalculator

        a = base.copy()
        a.calc = CHGNetCalculator(model=model or _model(), use_device="cpu")
        MaxwellBoltzmannDistribution(a, temperature_K=temperature, rng=rng)
        dyn = Langevin(a, 1.0 * units.fs, temperature_K=temperature, friction=0.02 / units.fs,
                       rng=rng)
        done = 0
        for step in sorted(snapshots):
            dyn.run(step - done)
            done = step
            snap = a.copy()
            snap.calc = None
            snap.info = {"id": f"{parent}:md{int(temperature)}K-{step:03d}", "parent": parent,
                         "kind": "md", "temperature_K": temperature, "step": step}
            out.append(snap)
    return out


def _perturb_one(task):
    global _WORKER_MODEL
    atoms, index, md = task
    if md and _WORKER_MODEL is None:
        _WORKER_MODEL = _model()
    return perturb(atoms, index, md, model=_WORKER_MODEL)


def generate_perturbed(relaxed: Sequence, md_every: int = 6, processes: int | None = None):
    """Perturbed copies of every relaxed structure; MD for every ``md_every``-th one.

    Returns:
        ``(frames, how_made)``. Cost dominated by MD: ``len(relaxed)/md_every × 100`` CHGNet
        evaluations.
    """
    tasks = [(a, i, i % md_every == 0) for i, a in enumerate(relaxed)]
    processes = processes or min(2, os.cpu_count() or 1)
    if processes > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(processes, initializer=_set_threads) as pool:
            results = list(pool.map(_perturb_one, tasks, chunksize=2))
    else:
        results = [_perturb_one(t) for t in tasks]
    frames = [f for group in results for f in group]
    return frames, how_made_perturbed(len(relaxed), md_every)


def how_made_perturbed(n: int, md_every: int = 6) -> str:
    """The datasheet's "how made" paragraph for perturbed copies of ``n`` relaxed structures."""
    return (
        f"Perturbed copies of the {n} CHGNet-relaxed prototypes (see "
        "`data/prototypes/DATASHEET.md`), each as a supercell of at least 8 atoms: two "
        "rattles (Gaussian, σ = 0.05 and 0.15 Å), one random symmetric strain (components "
        f"uniform in ±4 %), and for every structure i with i mod {md_every} = 0 a Langevin MD run with "
        f"CHGNet {CHGNET_VERSION} at 1000 K (1 fs, friction 0.02/fs, Maxwell–Boltzmann start) "
        "with snapshots at steps 50 and 100. Random streams `default_rng([20251203, i])` for "
        "structure i; torch on one thread. No energies are stored (no DFT labels exist). "
        "Regenerate: `python -m matteralign.datasets.generate --only prototypes-perturbed`."
    )
