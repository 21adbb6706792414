"""Training one rung: Adam on standardised targets, early stopping on the validation MAE,
the held-out MAE of the best epoch, and the checkpoint that the model registry loads.

Objective. Targets are standardised with the training set's mean μ_t and standard
deviation σ_t; the loss is the mean squared error summed over targets,
``L = Σ_t mean_m ((ŷ_mt − (y_mt − μ_t)/σ_t)²)``. Adam (Kingma & Ba 2015) with the rung's
learning rate, cosine-decayed per step to lr/20 over the epoch cap.

Early stopping. After every epoch the validation score ``S = (1/T) Σ_t MAE_t / σ_t`` (MAE
in the targets' units) is computed; an epoch improves when ``S < (1 − min_delta) · S_best``.
Training stops after ``patience`` epochs without improvement (or at the cap), and the
weights of the best epoch are kept.

Determinism. One intra-op thread by default, ``torch.manual_seed(seed)`` before the weights
are built, a ``torch.Generator`` seeded with ``seed`` for the batch order, no dropout and
``torch.use_deterministic_algorithms(True)``: the same config trains the same weights on a
given machine and torch version.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from matteralign.errors import CorruptFileError, MissingWeightsError, ValidationError
from matteralign.train._common import Batch, LadderNet, architecture_module
from matteralign.train.config import RungConfig

__all__ = ["EarlyStopping", "TrainedRung", "train", "predict", "save_checkpoint",
           "load_checkpoint", "file_sha256", "CHECKPOINT_FORMAT", "deterministic"]

CHECKPOINT_FORMAT = "matteralign-ladder-v1"
EVAL_BATCH = 256


class EarlyStopping:
    """Track the best validation score; ``stop`` once ``patience`` epochs in a row did not
    improve it by the relative margin ``min_delta``.

    >>> es = EarlyStopping(patience=2)
    >>> [es.step(e, s) for e, s in enumerate([3.0, 2.0, 2.5, 2.1], start=1)], es.stop
    ([True, True, False, False], True)
    >>> es.best_epoch, es.best
    (2, 2.0)
    """

    def __init__(self, patience: int, min_delta: float = 0.0):
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.best, self.best_epoch, self.bad_epochs = math.inf, 0, 0

    def step(self, epoch: int, score: float) -> bool:
        """Record ``score`` of ``epoch``; True when it is the new best."""
        threshold = self.best if math.isinf(self.best) else (1.0 - self.min_delta) * self.best
        if math.isfinite(score) and score < threshold:
            self.best, self.best_epoch, self.bad_epochs = float(score), int(epoch), 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def stop(self) -> bool:
        return self.bad_epochs >= self.patience


@contextlib.contextmanager
def deterministic(threads: int | None = 1) -> Iterator[None]:
    """``torch.use_deterministic_algorithms(True)`` and ``threads`` intra-op threads (None:
    leave torch's setting) inside the block; both restored afterwards."""
    before_threads = torch.get_num_threads()
    before_det = torch.are_deterministic_algorithms_enabled()
    if threads is not None:
        torch.set_num_threads(int(threads))
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before_det)
        torch.set_num_threads(before_threads)


@dataclass
class TrainedRung:
    """A trained network with everything needed to use and save it."""

    config: RungConfig
    net: LadderNet
    featurizer: Any
    target_mean: np.ndarray
    target_std: np.ndarray
    metrics: dict[str, Any] = field(default_factory=dict)


def make_featurizer(config: RungConfig) -> Any:
    mod = architecture_module(config.architecture)
    return mod.Featurizer(cutoff=config.cutoff) if config.architecture == "schnet" else mod.Featurizer()


def build_net(config: RungConfig, featurizer: Any) -> LadderNet:
    mod = architecture_module(config.architecture)
    return mod.Net(config.width, config.depth, len(config.targets), featurizer=featurizer)


def _batches(items: list, size: int, collate) -> list[Batch]:
    return [collate(items[i:i + size]) for i in range(0, len(items), size)]


def predict(net: LadderNet, batches: list[Batch], mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Predictions ``(n, T)`` in the targets' units for pre-collated batches."""
    net.eval()
    with torch.no_grad():
        out = [net(b).double().numpy() for b in batches]
    return np.concatenate(out) * std + mean


def _mae(pred: np.ndarray, y: np.ndarray, targets: tuple[str, ...]) -> dict[str, float]:
    return {t: float(np.mean(np.abs(pred[:, j] - y[:, j]))) for j, t in enumerate(targets)}


def train(config: RungConfig, *, progress: bool = True, threads: int | None = 1) -> TrainedRung:
    """Train one rung on QM9 (module docstring) and measure its held-out MAEs.

    Args:
        config: the rung.
        progress: show a tqdm progress bar over epochs (validation MAEs as its postfix).
        threads: torch intra-op threads while training (1: deterministic and fastest for
            these small networks on a shared CPU; None leaves torch's setting).

    Returns:
        The network of the best validation epoch with its featurizer, target statistics and
        ``metrics``: held-out (``test_mae``) and validation (``val_mae``) MAEs per target in
        the targets' units, epochs run, best epoch, seconds (featurising, training,
        per epoch), number of parameters and the validation history.

    Raises:
        ValidationError: training diverged (no finite validation score).
    """
    from matteralign.train.data import TARGETS, fixed_split, target_values, train_rows

    t_start, cpu_start = time.perf_counter(), time.process_time()
    with deterministic(threads):
        split = fixed_split()
        rows = {"train": train_rows(config.train_size, config.seed),
                "val": split.val[:config.val_size], "test": split.test[:config.test_size]}
        featurizer = make_featurizer(config).fit(rows["train"])
        items = {k: featurizer.qm9_items(r) for k, r in rows.items()}
        y = {k: target_values(r, config.targets) for k, r in rows.items()}
        mean = y["train"].mean(axis=0)
        std = y["train"].std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        t_featurised, cpu_featurised = time.perf_counter(), time.process_time()

        torch.manual_seed(config.seed)
        net = build_net(config, featurizer)
        y_train = torch.tensor((y["train"] - mean) / std, dtype=torch.float32)
        val_batches = _batches(items["val"], EVAL_BATCH, featurizer.collate)

        def batch_loss(idx: list[int]) -> torch.Tensor:
            batch = featurizer.collate([items["train"][j] for j in idx])
            return ((net(batch) - y_train[idx]) ** 2).mean(0).sum()

        def validate() -> tuple[float, dict[str, float]]:
            val_mae = _mae(predict(net, val_batches, mean, std), y["val"], config.targets)
            return float(np.mean([val_mae[t] / s for t, s in zip(config.targets, std, strict=True)])), val_mae

        history, stopper = fit(net, config, batch_loss, validate, progress=progress)
        t_trained, cpu_trained = time.perf_counter(), time.process_time()
        test_mae = _mae(predict(net, _batches(items["test"], EVAL_BATCH, featurizer.collate),
                                mean, std), y["test"], config.targets)
        val_mae = _mae(predict(net, val_batches, mean, std), y["val"], config.targets)
    epoch_seconds = [h["seconds"] for h in history]
    epoch_cpu = [h["cpu_seconds"] for h in history]
    metrics = {
        "ladder": config.ladder, "rung": config.rung, "model": config.model_name,
        "architecture": config.architecture, "modality": config.modality,
        "train_size": config.train_size, "width": config.width, "depth": config.depth,
        "seed": config.seed, "targets": list(config.targets),
        "units": {t: TARGETS[t].unit for t in config.targets},
        "test_size": config.test_size, "val_size": config.val_size,
        "test_mae": test_mae, "val_mae": val_mae,
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
    return TrainedRung(config, net, featurizer, mean, std, metrics)


def fit(net: torch.nn.Module, config: Any, batch_loss: Callable[[list[int]], torch.Tensor],
        validate: Callable[[], tuple[float, dict[str, float]]], *, progress: bool = True,
        what: str = "rung") -> tuple[list[dict[str, Any]], EarlyStopping]:
    """The optimisation loop every ladder shares, with the best state restored into ``net``.

    Adam at ``config.lr``, cosine-decayed to lr/20 over ``config.epochs`` epochs; each epoch
    visits the ``config.train_size`` training indices in a ``config.seed``-seeded order, in
    batches of ``config.batch_size``, minimising ``batch_loss(indices)``; ``validate()``
    returns ``(score, maes)`` after each epoch (lower is better) for
    :class:`EarlyStopping` (``config.patience``, ``config.min_delta``).

    Returns:
        ``(history, stopper)``: one dict per epoch (train loss, validation score and MAEs,
        wall and CPU seconds) and the stopper (its ``best_epoch``).

    Raises:
        ValidationError: no finite validation score in any epoch (training diverged).
    """
    steps_per_epoch = math.ceil(config.train_size / config.batch_size)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=config.epochs * steps_per_epoch, eta_min=config.lr / 20)
    order = torch.Generator().manual_seed(config.seed)
    stopper = EarlyStopping(config.patience, config.min_delta)
    best_state, history = None, []
    bar = _bar(config, progress)
    try:
        for epoch in range(1, config.epochs + 1):
            t_epoch, cpu_epoch = time.perf_counter(), time.process_time()
            net.train()
            perm = torch.randperm(config.train_size, generator=order).tolist()
            total = 0.0
            for i in range(0, len(perm), config.batch_size):
                idx = perm[i:i + config.batch_size]
                loss = batch_loss(idx)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                total += float(loss.detach()) * len(idx)
            score, val_mae = validate()
            if stopper.step(epoch, score):
                best_state = copy.deepcopy(net.state_dict())
            history.append({"epoch": epoch, "train_loss": total / config.train_size,
                            "val_score": score, "val_mae": val_mae,
                            "seconds": time.perf_counter() - t_epoch,
                            "cpu_seconds": time.process_time() - cpu_epoch})
            bar.update(1)
            bar.set_postfix({t: f"{v:.4g}" for t, v in val_mae.items()}, refresh=False)
            if stopper.stop:
                break
    finally:
        bar.close()
    if best_state is None:
        raise ValidationError(f"{what} {config.rung}: training diverged (no finite validation "
                              f"error in {len(history)} epochs); lower lr (now {config.lr})")
    net.load_state_dict(best_state)
    return history, stopper


def _bar(config: RungConfig, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=config.epochs, desc=f"{config.ladder}/{config.rung}", unit="epoch",
                disable=not enabled)


# --------------------------------------------------------------------------- checkpoints
def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_checkpoint(rung: TrainedRung, path: str | Path) -> None:
    """Write the network's weights, config, featurizer state and target statistics to
    ``path`` (a ``torch.save`` file readable with ``weights_only=True``)."""
    torch.save({"format": CHECKPOINT_FORMAT, "config": rung.config.as_dict(),
                "featurizer": rung.featurizer.state(),
                "target_mean": [float(v) for v in rung.target_mean],
                "target_std": [float(v) for v in rung.target_std],
                "state_dict": rung.net.state_dict()}, path)


def load_checkpoint(path: str | Path) -> TrainedRung:
    """Read a checkpoint written by :func:`save_checkpoint` (network in eval mode), or a
    materials student's (:func:`matteralign.train.students.load_checkpoint`).

    Raises:
        MissingWeightsError: no such file.
        CorruptFileError: not a ladder checkpoint, or weights that do not fit its config.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingWeightsError(f"ladder checkpoint {p} does not exist; retrain it with "
                                  "python -m matteralign.train <config.toml>")
    try:
        ck = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle/zip/runtime errors for damaged files
        raise CorruptFileError(f"{p} is not a readable torch checkpoint: {type(exc).__name__}: "
                               f"{' '.join(str(exc).split())[:200]}") from None
    from matteralign.train import students

    if isinstance(ck, dict) and ck.get("format") == students.CHECKPOINT_FORMAT:
        return students.load_checkpoint(p)  # a materials student (reads the file again)
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise CorruptFileError(f"{p} is not a {CHECKPOINT_FORMAT} checkpoint")
    try:
        config = RungConfig.from_dict(dict(ck["config"]), source=f"config in {p}")
        featurizer = type(make_featurizer(config)).from_state(ck["featurizer"])
        net = build_net(config, featurizer)
        net.load_state_dict(ck["state_dict"])
    except (KeyError, RuntimeError, ValidationError) as exc:
        raise CorruptFileError(f"{p}: checkpoint does not match its config "
                               f"({' '.join(str(exc).split())[:200]})") from None
    net.eval()
    return TrainedRung(config, net, featurizer, np.asarray(ck["target_mean"]),
                       np.asarray(ck["target_std"]))
