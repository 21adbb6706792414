"""Model ladders trained here (:mod:`matteralign.train`): every checkpoint found under
``data/models/<ladder>/<rung>/`` is a model named ``ladder-<ladder>-<rung>``.

A rung folder holds ``model.pt``, ``config.toml`` and ``metrics.json`` (written by
``python -m matteralign.train``; a folder without ``metrics.json`` is incomplete and not
listed). Registration reads only ``metrics.json``; the weights load on first use and are
checked against the SHA-256 recorded there. ``$MATTERALIGN_MODELS`` points at another
models folder (for instance a freshly trained ladder, to run the model battery on it).

Metadata: ``modality`` (``string`` SMILES transformer, ``graph`` bond-graph MPNN, ``3d``
SchNet), ``family`` ``"ladder <ladder>"``, ``architecture`` (``transformer``, ``mpnn``,
``schnet``), ``training_data`` naming the training size and seed, ``performance`` the
held-out MAEs (``test_mae_<target>`` in the targets' units, plus ``train_size``, ``width``,
``depth``, ``seed``, ``test_size`` and ``source``). Every layer is exposed: ``embedding``
and ``block1`` … ``block<depth>`` (``last`` = the deepest), pooled by ``mean`` over tokens,
heavy atoms or atoms by default.

Materials students (architecture ``schnet-pbc``, ladder ``materials``,
:mod:`matteralign.train.students`): ``modality`` ``3d``, ``domains`` ``("materials",)``,
``training_data`` naming the teacher, the labels file and the seed; ``performance`` holds
``test_mae_energy_per_atom`` / ``test_mae_forces`` against the teacher on held-out crystals
and ``dft_mae_energy_per_atom`` (raw), ``dft_mae_energy_per_atom_refit`` and
``dft_mae_forces`` against the DFT labels of 200 mptrj-random structures, plus ``teacher``.

Untrained twins. Every rung also registers ``ladder-<ladder>-<rung>-random``
(:class:`UntrainedLadderModel`): the rung's network rebuilt from its config under
``torch.manual_seed(seed)`` — the very weights its training started from
(:func:`matteralign.train.loop.train` seeds the same way before building the network) — with
the trained rung's featurizer (SMILES vocabulary, element list), so the twin reads exactly
what the rung reads. It is the floor of the ladder's alignments: what the architecture and
its input give away before any training. Metadata as :func:`~matteralign.models._random.
random_info` (``random_weights=True``, ``training_data="none"``, no performance), version
``random-init seed=<seed> of <ladder>/<rung>@<sha>``.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from matteralign.errors import CorruptFileError, ValidationError
from matteralign.models.base import ModelAdapter, ModelInfo

__all__ = ["ENV_VAR", "models_root", "ladder_info", "twin_info", "LadderModel",
           "UntrainedLadderModel", "register_folder", "register"]

ENV_VAR = "MATTERALIGN_MODELS"
_FILES = ("model.pt", "config.toml", "metrics.json")
_INPUT = {"string": ("smiles", "token"), "graph": ("smiles", "atom"), "3d": ("atoms", "atom")}
_REFERENCE = {
    "transformer": "SMILES transformer encoder (Vaswani et al. 2017) trained here, "
                   "lib/matteralign/train/string.py",
    "mpnn": "bond-graph message passing (Gilmer et al., ICML 2017) trained here, "
            "lib/matteralign/train/graph.py",
    "schnet": "SchNet (Schütt et al., J. Chem. Phys. 148, 241722 (2018)) trained here, "
              "lib/matteralign/train/geometric.py",
    "schnet-pbc": "periodic SchNet (Schütt et al., J. Chem. Phys. 148, 241722 (2018)) distilled "
                  "here from an MLIP's energies and forces, lib/matteralign/train/periodic.py",
}


def models_root() -> Path:
    """The models folder: ``$MATTERALIGN_MODELS`` if set, else ``<data root>/models``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    from matteralign.datasets._paths import data_dir

    return data_dir() / "models"


def _read_metrics(folder: Path) -> dict[str, Any]:
    path = folder / "metrics.json"
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
        keys = ("ladder", "rung", "architecture", "modality", "train_size", "width", "depth",
                "seed", "test_mae", "units", "test_size", "n_params", "model_sha256")
        missing = [k for k in keys if k not in m]
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"{path} is not readable JSON: {exc}") from None
    if missing:
        raise CorruptFileError(f"{path} lacks {missing[0]!r}; retrain the rung with "
                               "python -m matteralign.train")
    if m["modality"] not in _INPUT:
        raise CorruptFileError(f"{path}: unknown modality {m['modality']!r}")
    return m


def ladder_info(folder: str | Path) -> ModelInfo:
    """The registry metadata of the rung in ``folder`` (from its ``metrics.json``)."""
    folder = Path(folder)
    m = _read_metrics(folder)
    reads, granularity = _INPUT[m["modality"]]
    perf: dict[str, Any] = {f"test_mae_{t}": float(v) for t, v in m["test_mae"].items()}
    perf.update({f"unit_{t}": m["units"][t] for t in m["test_mae"]})
    perf.update(train_size=int(m["train_size"]), width=int(m["width"]), depth=int(m["depth"]),
                seed=int(m["seed"]), test_size=int(m["test_size"]),
                source=f"held-out QM9 molecules, {folder.as_posix()}/metrics.json")
    rows = {"token": "tokens", "atom": "heavy atoms" if m["modality"] == "graph" else "atoms"}
    training = f"QM9 ({m['train_size']} molecules, seed {m['seed']})"
    student = m["architecture"] == "schnet-pbc"  # materials students, matteralign.train.students
    if student:  # test_mae: against the teacher; dft_mae: against DFT labels
        perf.update({f"dft_mae_{t}": float(v) for t, v in m.get("dft_mae", {}).items()})
        perf.update({f"unit_{t}": u for t, u in m["units"].items()})
        perf.update(dft_size=int(m.get("dft_size", 0)), teacher=str(m.get("teacher", "")),
                    source=f"held-out teacher-labelled crystals (test_mae) and DFT-labelled "
                           f"mptrj-random crystals (dft_mae), {folder.as_posix()}/metrics.json")
        training = (f"{m['train_size']} crystals labelled by {m.get('teacher', '?')} "
                    f"(data/{m.get('labels', '?')}, seed {m['seed']})")
    return ModelInfo(
        name=f"ladder-{m['ladder']}-{m['rung']}", modality=m["modality"],
        family=f"ladder {m['ladder']}", architecture=m["architecture"],
        training_data=training,
        n_params=int(m["n_params"]), performance=perf, reference=_REFERENCE[m["architecture"]],
        package="torch", input=reads,
        layers=("embedding", *(f"block{i}" for i in range(1, int(m["depth"]) + 1))),
        version=f"{m['ladder']}/{m['rung']}@{m['model_sha256'][:12]}", granularity=granularity,
        rotation_invariant=True, domains=("materials",) if student else ("molecules",),
        description=f"{m['architecture']} width {m['width']} trained here on "
                    + (f"{training}; rows are atoms" if student else
                       f"{m['train_size']} QM9 molecules (seed {m['seed']}); rows are "
                       f"{rows[granularity]}"),
    )


def twin_info(info: ModelInfo) -> ModelInfo:
    """The metadata of a rung's untrained twin (module docstring)."""
    from matteralign.models._random import random_info

    seed = int(info.performance["seed"])
    return random_info(info, seed, version=f"random-init seed={seed} of {info.version}",
                       description=f"{info.architecture} width {info.performance['width']} at "
                                   f"the initial weights of {info.name} (seed {seed}), untrained")


class LadderModel(ModelAdapter):
    """A ladder checkpoint as a model (module docstring).

    Args:
        folder: the rung folder (``model.pt``, ``config.toml``, ``metrics.json``).
        info: its metadata (default :func:`ladder_info`).
        threads: torch intra-op threads during extraction (None: leave torch's setting).
    """

    default_batch_size = 64

    def __init__(self, folder: str | Path, info: ModelInfo | None = None, threads: int | None = 1):
        self.folder = Path(folder)
        self.info = info if info is not None else ladder_info(self.folder)
        self.threads = threads
        self._rung = None
        self._lock = threading.Lock()

    @property
    def rung(self):
        """The loaded :class:`~matteralign.train.loop.TrainedRung` (eval mode)."""
        with self._lock:
            if self._rung is None:
                self._rung = self._load()
            return self._rung

    def _load(self):
        from matteralign.train.loop import file_sha256, load_checkpoint

        path = self.folder / "model.pt"
        rung = load_checkpoint(path)
        expected = _read_metrics(self.folder)["model_sha256"]
        if file_sha256(path) != expected:
            raise CorruptFileError(f"{path} differs from the checkpoint its metrics.json "
                                   "describes (SHA-256 mismatch); retrain the rung")
        return rung

    def check_sample(self, sample: Any) -> None:
        if self.info.modality == "graph":  # bond graph from SMILES, else from 3D atoms
            if not sample.smiles and sample.atoms is None:
                raise ValidationError(f"sample {sample.id!r} has neither 'smiles' nor 'atoms'")
            return
        sample.require(self.info.input)

    def atom_features(self, samples: Sequence[Any], layer: str = "last",
                      device: str = "cpu") -> list[np.ndarray]:
        """Rows ``(n_rows, width)`` of ``layer`` per sample (float32 computation)."""
        import torch

        from matteralign.train.loop import deterministic

        layer = self.resolve_layer(layer)
        depth = self.info.layers.index(layer) if layer != "last" else len(self.info.layers) - 1
        rung = self.rung
        batch = rung.featurizer.collate([rung.featurizer.sample_item(s) for s in samples])
        with torch.no_grad(), deterministic(self.threads):
            rows = rung.net.hidden(batch)[depth]
        counts = batch.counts().tolist()
        return [a.astype(np.float64) for a in np.split(rows.numpy(), np.cumsum(counts)[:-1])]

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_lock", None)
        state["_rung"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


class UntrainedLadderModel(LadderModel):
    """A rung's untrained twin (module docstring): its checkpoint's config and featurizer,
    the network's initial weights under the rung's seed."""

    def __init__(self, folder: str | Path, info: ModelInfo | None = None, threads: int | None = 1):
        super().__init__(folder, info if info is not None else twin_info(ladder_info(folder)),
                         threads)

    def _load(self):
        """The trained rung with its network replaced by the seeded initial one."""
        import dataclasses

        from matteralign.models._random import seeded
        from matteralign.train.loop import build_net

        trained = super()._load()
        net = seeded(lambda: build_net(trained.config, trained.featurizer),
                     int(trained.config.seed))
        return dataclasses.replace(trained, net=net, metrics={})


def _complete(folder: Path) -> bool:
    return all((folder / f).is_file() for f in _FILES)


def register_folder(root: str | Path, registry: Any = None, replace: bool = False) -> list[str]:
    """Register every complete rung folder ``root/<ladder>/<rung>/`` and its untrained twin.

    Returns:
        The registered names (rungs and twins), sorted.

    Raises:
        CorruptFileError: a ``metrics.json`` that cannot be read (naming it).
    """
    if registry is None:
        from matteralign.models import registry
    root = Path(root)
    names = []
    if not root.is_dir():
        return names
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir() and _complete(p)):
        info = ladder_info(folder)
        registry.register(info, functools.partial(LadderModel, str(folder), info), replace=replace)
        twin = twin_info(info)
        registry.register(twin, functools.partial(UntrainedLadderModel, str(folder), twin),
                          replace=replace)
        names += [info.name, twin.name]
    return sorted(names)


def register(registry: Any) -> None:
    """Register the checkpoints under :func:`models_root` (called by the registry's
    discovery)."""
    register_folder(models_root(), registry)
