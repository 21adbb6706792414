"""The ``materials`` ladder: periodic SchNet students (:mod:`~matteralign.train.periodic`)
distilled from the teacher's energies and forces (:mod:`~matteralign.train.teacher`).

A rung (:class:`StudentConfig`, ``student-n<train_size>-w<width>-s<seed>``) trains on the
first ``train_size`` structures of the ``train`` split of the labelled pool permuted under
its seed (nested within a seed), stops early on the ``val`` split and is measured on

* ``test`` — held-out teacher-labelled structures (parents never trained on): energy MAE
  per atom ``(1/N) Σ_s |Ê_s − E_s| / n_s`` (eV/atom) and force MAE over all atoms and
  components (eV/Å), against the teacher;
* ``baseline_test_mae`` — the ``test`` errors of the element references alone with zero
  forces, the floor a student has to beat;
* ``dft`` — the 200 mptrj-random structures of notebook 03's error set against their DFT
  labels: the raw energy MAE per atom, the same after the cross-validated per-element refit
  of :func:`matteralign.analysis.performance.refit_residuals` (removes constant
  per-element offsets, as notebook 03 does for the shipped MLIPs), and the force MAE; and
  against the teacher's labels of the same structures.

Objective. With per-atom energies ``e = E / n``, per-element reference energies
``μ_Z = ē + δ_Z`` fitted on the training structures by ridge regression of ``e − ē`` on the
composition fractions (penalty :data:`REFERENCE_RIDGE`; elements absent from training get
``ē``), the energy scale ``σ_E`` (standard deviation of the per-atom residual ``e − f·μ``)
and the force scale ``σ_F`` (root mean square force component), the loss of a batch is

    L = w_E · mean_s ((Ê_s − E_s) / (n_s σ_E))² + w_F · mean_{atoms, xyz} ((F̂ − F) / σ_F)²

with ``w_E = energy_weight`` and ``w_F = force_weight`` (1 and 10 in every rung: at 300
structures, width 32, w_F = 1 gave a held-out force MAE of 0.60 eV/Å, w_F = 10 gave 0.50,
energy MAE 0.40 and 0.50 eV/atom; the energy term alone, fitted to residuals of 0.6 eV/atom
that composition does not explain, drove spurious forces). Adam at lr 2e-3,
cosine-decayed to lr/20 over the epoch cap. Early stopping on the validation score
``S = ½ (MAE_E / σ_E + MAE_F / σ_F)``; the best epoch's weights are kept
(:class:`~matteralign.train.loop.EarlyStopping`). Determinism as in
:mod:`~matteralign.train.loop`: one thread, seeded weights and batch order,
``torch.use_deterministic_algorithms(True)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from matteralign.errors import CorruptFileError, MissingWeightsError, ValidationError
from matteralign.train.config import TomlConfig

__all__ = ["ARCHITECTURE", "LADDER", "StudentConfig", "student_configs", "load_student_config",
           "TrainedStudent", "train_student", "save_checkpoint", "load_checkpoint",
           "CHECKPOINT_FORMAT", "REFERENCE_RIDGE", "STUDENT_SIZES", "STUDENT_WIDTHS",
           "estimate_cpu_seconds", "EPOCH_COST", "fit_references", "predict", "dft_errors"]

ARCHITECTURE = "schnet-pbc"
LADDER = "materials"
CHECKPOINT_FORMAT = "matteralign-student-v1"
REFERENCE_RIDGE = 0.1
EVAL_BATCH = 32
UNITS = {"energy_per_atom": "eV/atom", "energy_per_atom_refit": "eV/atom", "forces": "eV/Å"}

STUDENT_SIZES = (100, 300, 900)
STUDENT_WIDTHS = (32, 64)
STUDENT_SEED_SIZE, STUDENT_SEED_WIDTH, STUDENT_SEEDS = 300, 32, (0, 1, 2)
# Validation errors on 100 structures fluctuate by ±5 % from epoch to epoch at these learning
# rates; patience of about a third of the cap keeps a fluctuation from ending a run that is
# still improving (with patience 10 the 900-structure width-64 rung stopped at epoch 24).
_EPOCHS = {100: 150, 300: 100, 900: 100}
_PATIENCE = {100: 50, 300: 30, 900: 30}
_BATCH = {100: 8, 300: 8, 900: 16}
LR = 2e-3


@dataclass(frozen=True)
class StudentConfig(TomlConfig):
    """One materials student.

    Attributes:
        train_size: training structures (the first of the ``train`` split permuted under
            ``seed``; nested within a seed).
        width, depth: hidden width and number of interaction blocks.
        seed: seeds the training subset, the initial weights and the batch order.
        epochs, patience, min_delta: epoch cap and early stopping (see
            :class:`~matteralign.train.loop.EarlyStopping`).
        lr, batch_size: Adam learning rate (cosine-decayed to lr/20) and structures per step.
        cutoff: interatomic cutoff (Å).
        energy_weight, force_weight: ``w_E`` and ``w_F`` of the loss (module docstring).
        labels: the labelled pool, relative to the data root.
        architecture, ladder, rung: ``schnet-pbc``, ``materials`` and the rung's name
            (empty: ``student-n<size>-w<width>-s<seed>``).
    """

    _WHAT: ClassVar[str] = "student config"
    _REQUIRED: ClassVar[tuple[str, ...]] = ("train_size", "width")
    _KINDS: ClassVar[dict[str, type]] = {
        "train_size": int, "width": int, "depth": int, "seed": int, "epochs": int,
        "patience": int, "min_delta": float, "lr": float, "batch_size": int, "cutoff": float,
        "energy_weight": float, "force_weight": float, "labels": str, "architecture": str,
        "ladder": str, "rung": str}
    _HEADER: ClassVar[str] = "matteralign materials student"

    train_size: int
    width: int
    depth: int = 3
    seed: int = 0
    epochs: int = 30
    patience: int = 5
    min_delta: float = 0.0
    lr: float = LR
    batch_size: int = 8
    cutoff: float = 5.0
    energy_weight: float = 1.0
    force_weight: float = 10.0
    labels: str = "students/teacher-labels.xyz.xz"
    architecture: str = ARCHITECTURE
    ladder: str = LADDER
    rung: str = field(default="")

    def __post_init__(self) -> None:
        if not self.rung:
            object.__setattr__(self, "rung", f"student-n{self.train_size}-w{self.width}-s{self.seed}")
        self.validate()

    @property
    def modality(self) -> str:
        return "3d"

    @property
    def targets(self) -> tuple[str, ...]:
        """What a student predicts (energies, and forces as their gradient)."""
        return ("energy_per_atom", "forces")

    @property
    def model_name(self) -> str:
        return f"ladder-{self.ladder}-{self.rung}"

    def validate(self) -> None:
        """Raise one :class:`ValidationError` line for the first bad value."""
        bad = self._bad
        self._check_kinds()
        if self.architecture != ARCHITECTURE:
            raise bad("architecture", f"{self.architecture!r} is unknown; the materials "
                      f"students are {ARCHITECTURE!r}")
        self._check_names()
        ranges = {"train_size": (1, 1_000_000), "width": (4, 4096), "depth": (1, 32),
                  "seed": (0, 2**31 - 1), "epochs": (1, 100_000), "patience": (1, 100_000),
                  "batch_size": (1, 100_000)}
        for key, (lo, hi) in ranges.items():
            if not lo <= getattr(self, key) <= hi:
                raise bad(key, f"must lie in [{lo}, {hi}]; got {getattr(self, key)}")
        if not 0 < self.lr < 1:
            raise bad("lr", f"must lie in (0, 1); got {self.lr}")
        if not 0 <= self.min_delta <= 1:
            raise bad("min_delta", f"must lie in [0, 1]; got {self.min_delta}")
        if not 1 <= self.cutoff <= 12:
            raise bad("cutoff", f"must lie in [1, 12] Å; got {self.cutoff}")
        for key in ("energy_weight", "force_weight"):
            if not 0 <= getattr(self, key) < 1e6:
                raise bad(key, f"must lie in [0, 1e6); got {getattr(self, key)}")
        if self.energy_weight == 0 and self.force_weight == 0:
            raise bad("energy_weight", "and force_weight cannot both be 0")
        if not self.labels or Path(self.labels).is_absolute() or ".." in Path(self.labels).parts:
            raise bad("labels", f"must be a path inside the data root; got {self.labels!r}")


def load_student_config(text: str, source: str) -> StudentConfig:
    """A student config from TOML text (``source`` names it in errors)."""
    return StudentConfig.from_toml(text, source)


def student_configs() -> list[StudentConfig]:
    """The materials ladder: sizes :data:`STUDENT_SIZES` × widths :data:`STUDENT_WIDTHS` at
    seed 0, plus seeds 1 and 2 at 300 structures and width 32 (8 rungs).

    >>> [c.rung for c in student_configs()][:2]
    ['student-n100-w32-s0', 'student-n100-w64-s0']
    """
    out = []
    for size in STUDENT_SIZES:
        for width in STUDENT_WIDTHS:
            spread = size == STUDENT_SEED_SIZE and width == STUDENT_SEED_WIDTH
            for seed in STUDENT_SEEDS if spread else (0,):
                out.append(StudentConfig(train_size=size, width=width, seed=seed,
                                         epochs=_EPOCHS[size], patience=_PATIENCE[size],
                                         batch_size=_BATCH[size]))
    return out


# Measured CPU cost of one epoch (one thread, under nice on the shared 2-core machine;
# time.process_time): seconds = a · training atoms + b, b mostly the validation pass.
EPOCH_COST = {32: (0.16e-3, 0.09), 64: (0.33e-3, 0.09)}  # width: (s per atom, s)
MEAN_TRAIN_ATOMS = 16.4  # atoms per structure of the train split (DATASHEET.md)


def estimate_cpu_seconds(config: StudentConfig) -> float:
    """Upper estimate of a student's training CPU time: every epoch up to the cap at
    :data:`EPOCH_COST` (widths in between or beyond scale linearly)."""
    a32, b32 = EPOCH_COST[32]
    a64, b64 = EPOCH_COST[64]
    f = (config.width - 32) / 32
    a, b = max(a32 + f * (a64 - a32), 1e-5), max(b32 + f * (b64 - b32), 0.01)
    return config.epochs * (a * MEAN_TRAIN_ATOMS * config.train_size + b)


# --------------------------------------------------------------------------- data
@dataclass
class _Set:
    frames: list
    items: list
    energy: np.ndarray  # (n,) eV
    forces: list  # (n_s, 3) eV/Å each
    n_atoms: np.ndarray


def _set(frames: list, featurizer) -> _Set:
    items = [featurizer.atoms_item(f, f.info["id"]) for f in frames]
    return _Set(frames, items, np.array([f.info["teacher_energy"] for f in frames], float),
                [np.asarray(f.arrays["teacher_forces"], float) for f in frames],
                np.array([len(f) for f in frames], float))


def _fractions(frames: list) -> np.ndarray:
    from matteralign.train.periodic import MAX_Z

    out = np.zeros((len(frames), MAX_Z))
    for k, f in enumerate(frames):
        np.add.at(out[k], f.numbers - 1, 1.0 / len(f))
    return out


def fit_references(frames: list, energy: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-element reference energies ``μ`` (eV, ``(94,)``) and the energy scale ``σ_E``
    (eV/atom) of the training structures (module docstring). O(n · 94²)."""
    e = energy / np.array([len(f) for f in frames])
    frac = _fractions(frames)
    mean = float(e.mean())
    delta = np.linalg.solve(frac.T @ frac + REFERENCE_RIDGE * np.eye(frac.shape[1]),
                            frac.T @ (e - mean))
    mu = mean + delta
    scale = float(np.std(e - frac @ mu))
    return mu, scale if scale > 1e-6 else 1.0


def _split(frames: list, config: StudentConfig) -> dict[str, list]:
    parts: dict[str, list] = {s: [] for s in ("dft", "test", "val", "train")}
    for f in frames:
        parts[f.info["split"]].append(f)
    pool = parts["train"]
    if config.train_size > len(pool):
        raise ValidationError(f"student config: train_size {config.train_size} exceeds the "
                              f"{len(pool)} training structures of {config.labels}")
    order = np.random.default_rng(config.seed).permutation(len(pool))[:config.train_size]
    parts["train"] = [pool[k] for k in order]
    return parts


# --------------------------------------------------------------------------- evaluation
def predict(net, items: list, batch_size: int = EVAL_BATCH) -> tuple[np.ndarray, list]:
    """Energies ``(n,)`` (eV) and forces (list of ``(n_s, 3)``, eV/Å) for featurised items."""
    from matteralign.train.periodic import Featurizer, energy_and_forces

    net.eval()
    energies, forces = [], []
    for i in range(0, len(items), batch_size):
        batch = Featurizer.collate(items[i:i + batch_size])
        e, f = energy_and_forces(net, batch)
        energies.append(e.detach().double().numpy())
        forces.extend(np.split(f.detach().double().numpy(), np.cumsum(batch.counts().tolist())[:-1]))
    return np.concatenate(energies), forces


def _maes(energy: np.ndarray, forces: list, ref_energy: np.ndarray, ref_forces: list,
          n_atoms: np.ndarray) -> dict[str, float]:
    return {"energy_per_atom": float(np.mean(np.abs(energy - ref_energy) / n_atoms)),
            "forces": float(np.mean(np.abs(np.concatenate(forces) - np.concatenate(ref_forces))))}


def dft_errors(energy: np.ndarray, forces: list, frames: list) -> dict[str, float]:
    """Errors against the DFT labels of the ``dft`` frames (their mptrj-random samples):
    energy MAE per atom raw and after the per-element refit, force MAE."""
    from matteralign import datasets
    from matteralign.analysis.performance import refit_residuals
    from matteralign.train.teacher import DFT_HELD_OUT

    name, n, seed = DFT_HELD_OUT
    ref = {s.id: s for s in datasets.load(name, n=n, seed=seed)}
    missing = [f.info["id"] for f in frames if f.info["id"] not in ref]
    if missing:
        raise CorruptFileError(f"dft structure {missing[0]!r} is not in {name} (n={n}, seed={seed})")
    samples = [ref[f.info["id"]] for f in frames]
    n_atoms = np.array([len(f) for f in frames], float)
    resid = energy - np.array([float(s.labels["energy"]) for s in samples])
    numbers = [f.numbers for f in frames]
    z = np.unique(np.concatenate(numbers))
    counts = np.array([[np.count_nonzero(nn == zi) for zi in z] for nn in numbers], float)
    out = _maes(energy, forces, energy - resid, [np.asarray(s.labels["forces"], float)
                                                 for s in samples], n_atoms)
    out["energy_per_atom_refit"] = float(np.mean(np.abs(refit_residuals(resid, counts)) / n_atoms))
    return {k: out[k] for k in ("energy_per_atom", "energy_per_atom_refit", "forces")}


# --------------------------------------------------------------------------- training
@dataclass
class TrainedStudent:
    """A trained student: ``net`` (:class:`~matteralign.train.periodic.Net`, with its
    element references and energy scale), ``featurizer`` and ``metrics``."""

    config: StudentConfig
    net: Any
    featurizer: Any
    force_scale: float = 1.0
    metrics: dict[str, Any] = field(default_factory=dict)


def train_student(config: StudentConfig, *, progress: bool = True, threads: int | None = 1,
                  frames: list | None = None, evaluate_dft: bool = True) -> TrainedStudent:
    """Train one student (module docstring) and measure its held-out errors.

    Args:
        config: the rung.
        progress: a tqdm bar over epochs (validation MAEs as its postfix).
        threads: torch intra-op threads (1: deterministic; None leaves torch's setting).
        frames: the labelled pool (default: read ``config.labels`` under the data root).
        evaluate_dft: measure the ``dft`` split against its DFT labels.

    Raises:
        ValidationError: training diverged, or ``train_size`` exceeds the pool.
    """
    from matteralign.datasets._paths import data_dir
    from matteralign.train.loop import deterministic, fit
    from matteralign.train.periodic import Featurizer, Net, energy_and_forces
    from matteralign.train.teacher import TEACHER, read_labels

    t_start, cpu_start = time.perf_counter(), time.process_time()
    if frames is None:
        frames = read_labels(data_dir() / config.labels)
    with deterministic(threads):
        parts = _split(frames, config)
        featurizer = Featurizer(config.cutoff)
        sets = {k: _set(v, featurizer) for k, v in parts.items() if v}
        train = sets["train"]
        if "val" not in sets:
            raise ValidationError(f"{config.labels} has no 'val' structures for early stopping")
        mu, e_scale = fit_references(train.frames, train.energy)
        f_scale = float(np.sqrt(np.mean(np.concatenate(train.forces) ** 2))) or 1.0
        t_featurised, cpu_featurised = time.perf_counter(), time.process_time()

        torch.manual_seed(config.seed)
        net = Net(config.width, config.depth, featurizer=featurizer)
        net.element_energy.copy_(torch.tensor(mu, dtype=torch.float32))
        net.energy_scale.fill_(e_scale)
        f_train = [torch.tensor(f, dtype=torch.float32) for f in train.forces]
        e_train = torch.tensor(train.energy, dtype=torch.float32)
        n_train = torch.tensor(train.n_atoms, dtype=torch.float32)

        def batch_loss(idx: list[int]) -> torch.Tensor:
            batch = featurizer.collate([train.items[j] for j in idx])
            e_hat, f_hat = energy_and_forces(net, batch, create_graph=True)
            le = (((e_hat - e_train[idx]) / (n_train[idx] * e_scale)) ** 2).mean()
            lf = (((f_hat - torch.cat([f_train[j] for j in idx])) / f_scale) ** 2).mean()
            return config.energy_weight * le + config.force_weight * lf

        def validate() -> tuple[float, dict[str, float]]:
            val = sets["val"]
            val_mae = _maes(*predict(net, val.items), val.energy, val.forces, val.n_atoms)
            return 0.5 * (val_mae["energy_per_atom"] / e_scale + val_mae["forces"] / f_scale), val_mae

        history, stopper = fit(net, config, batch_loss, validate, progress=progress,
                               what="student")
        net.eval()
        t_trained, cpu_trained = time.perf_counter(), time.process_time()
        results: dict[str, Any] = {}
        for name in ("test", "val", "dft"):
            if name in sets:
                s = sets[name]
                energy, forces = predict(net, s.items)
                results[name] = _maes(energy, forces, s.energy, s.forces, s.n_atoms)
                if name == "test":  # what the element references alone (and F = 0) give
                    results["baseline"] = _maes(_fractions(s.frames) @ mu * s.n_atoms,
                                                [np.zeros_like(f) for f in s.forces],
                                                s.energy, s.forces, s.n_atoms)
                if name == "dft" and evaluate_dft:
                    results["dft_vs_dft"] = dft_errors(energy, forces, s.frames)
                    results["teacher_vs_dft"] = dft_errors(s.energy, s.forces, s.frames)
    epoch_seconds = [h["seconds"] for h in history]
    epoch_cpu = [h["cpu_seconds"] for h in history]
    metrics = {
        "ladder": config.ladder, "rung": config.rung, "model": config.model_name,
        "architecture": config.architecture, "modality": config.modality,
        "train_size": config.train_size, "width": config.width, "depth": config.depth,
        "seed": config.seed, "teacher": TEACHER, "labels": config.labels,
        "train_atoms": int(train.n_atoms.sum()),
        "targets": ["energy_per_atom", "forces"], "units": dict(UNITS),
        "loss_weights": {"energy": config.energy_weight, "forces": config.force_weight},
        "energy_scale_ev_per_atom": e_scale, "force_scale_ev_per_A": f_scale,
        "test_size": len(parts["test"]), "val_size": len(parts["val"]),
        "test_mae": results.get("test", {}), "val_mae": results.get("val", {}),
        "baseline_test_mae": results.get("baseline", {}),
        "dft_size": len(parts["dft"]),
        "dft_mae": results.get("dft_vs_dft", {}),
        "dft_teacher_mae": results.get("dft", {}),
        "teacher_dft_mae": results.get("teacher_vs_dft", {}),
        "epochs_run": len(history), "best_epoch": stopper.best_epoch,
        "stopped_early": len(history) < config.epochs,
        "n_params": int(sum(p.numel() for p in net.parameters())),
        "featurize_seconds": round(t_featurised - t_start, 3),
        "train_seconds": round(t_trained - t_featurised, 3),
        "seconds_per_epoch": round(float(np.mean(epoch_seconds)), 4),
        "train_cpu_seconds": round(cpu_trained - cpu_featurised, 3),
        "cpu_seconds_per_epoch": round(float(np.mean(epoch_cpu)), 4),
        "total_seconds": round(time.perf_counter() - t_start, 3),
        "total_cpu_seconds": round(time.process_time() - cpu_start, 3),
        "threads": threads if threads is not None else torch.get_num_threads(),
        "torch_version": torch.__version__,
        "history": history,
    }
    return TrainedStudent(config, net, featurizer, f_scale, metrics)


# --------------------------------------------------------------------------- checkpoints
def save_checkpoint(student: TrainedStudent, path: str | Path) -> None:
    """Write weights (with the element references and energy scale), config and featurizer
    state to ``path`` (``torch.save``, readable with ``weights_only=True``)."""
    torch.save({"format": CHECKPOINT_FORMAT, "config": student.config.as_dict(),
                "featurizer": student.featurizer.state(), "force_scale": student.force_scale,
                "state_dict": student.net.state_dict()}, path)


def load_checkpoint(path: str | Path) -> TrainedStudent:
    """Read a checkpoint written by :func:`save_checkpoint` (network in eval mode).

    Raises:
        MissingWeightsError: no such file.
        CorruptFileError: not a student checkpoint, or weights that do not fit its config.
    """
    from matteralign.train.periodic import Featurizer, Net

    p = Path(path)
    if not p.is_file():
        raise MissingWeightsError(f"student checkpoint {p} does not exist; retrain it with "
                                  "python -m matteralign.train <config.toml>")
    try:
        ck = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle/zip/runtime errors for damaged files
        raise CorruptFileError(f"{p} is not a readable torch checkpoint: {type(exc).__name__}: "
                               f"{' '.join(str(exc).split())[:200]}") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise CorruptFileError(f"{p} is not a {CHECKPOINT_FORMAT} checkpoint")
    try:
        config = StudentConfig.from_dict(dict(ck["config"]), source=f"config in {p}")
        featurizer = Featurizer.from_state(ck["featurizer"])
        net = Net(config.width, config.depth, featurizer=featurizer)
        net.load_state_dict(ck["state_dict"])
    except (KeyError, RuntimeError, ValidationError) as exc:
        raise CorruptFileError(f"{p}: checkpoint does not match its config "
                               f"({' '.join(str(exc).split())[:200]})") from None
    net.eval()
    return TrainedStudent(config, net, featurizer, float(ck.get("force_scale", 1.0)))

