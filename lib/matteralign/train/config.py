"""One rung of a model ladder: a small TOML config, validated on reading.

A rung is one model trained from scratch on QM9 under a seed: its architecture
(``transformer`` on SMILES tokens, ``mpnn`` on the RDKit bond graph, ``schnet`` on the
B3LYP geometry), the training-set size, the width and depth, the optimiser settings and the
targets. Its name, ``<architecture>-n<train_size>-w<width>-s<seed>``, is also its folder,
``data/models/<ladder>/<rung>/``, and its registry name is ``ladder-<ladder>-<rung>``.

:func:`ladder_configs` generates the rungs of the QM9 ladder (sizes 500, 2k, 8k, 32k ×
widths 32 and 64 × the three architectures, plus seeds 1 and 2 at 2k and 8k with width 32,
plus 32- and 125-molecule rungs at both widths that stretch the error span towards the weak
end: 48 models);
``python -m matteralign.train --write-configs DIR`` writes them as TOML files.

>>> c = RungConfig(architecture="mpnn", train_size=2000, width=64, seed=1)
>>> c.rung, c.modality
('mpnn-n2000-w64-s1', 'graph')
>>> RungConfig.from_toml(c.to_toml()) == c
True
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from matteralign.errors import CorruptFileError, MissingDataError, ValidationError

__all__ = ["ARCHITECTURES", "RungConfig", "load_config", "ladder_configs", "EPOCH_CAPS",
           "EPOCH_COST", "estimate_cpu_seconds",
           "LADDER_SIZES", "LADDER_WIDTHS", "LADDER_SEED_SIZES"]

# architecture -> modality of the registry (what the model reads).
ARCHITECTURES = {"transformer": "string", "mpnn": "graph", "schnet": "3d"}

LADDER_SIZES = (32, 125, 500, 2000, 8000, 32000)
LADDER_WIDTHS = (32, 64)
LADDER_SEED_SIZES = (2000, 8000)  # sizes trained at seeds 0, 1 and 2 ...
LADDER_SEED_WIDTH = 32  # ... at this width (the seed-to-seed spread of the ladder)
LADDER_SEEDS = (0, 1, 2)

# Epoch caps of the QM9 ladder per training size (early stopping usually ends a run sooner).
# Chosen from the time per epoch measured on the project's 2-core machine (see
# lib/matteralign/train/README.md): the whole ladder stays within 2 h of CPU.
EPOCH_CAPS = {32: 200, 125: 150, 500: 100, 2000: 60, 8000: 25, 32000: 12}

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


_KINDS = {"architecture": str, "train_size": int, "width": int, "depth": int, "seed": int,
          "ladder": str, "epochs": int, "patience": int, "min_delta": float, "lr": float,
          "batch_size": int, "targets": tuple, "val_size": int, "test_size": int,
          "cutoff": float, "rung": str}
_KIND_WORDS = {str: "a string", int: "an integer", float: "a number",
               tuple: "a list of strings"}


class TomlConfig:
    """What every ladder's config shares (mixed into frozen dataclasses): the type check of
    its fields, reading from a dict or TOML with one error line naming the source and key,
    and writing TOML. A subclass sets ``_WHAT`` (the word errors start with, e.g.
    ``"rung config"``), ``_REQUIRED`` (keys a file must give), ``_KINDS`` (field → type;
    ``tuple`` means a list of strings) and ``_HEADER`` (the first comment line of its TOML).
    """

    _WHAT: ClassVar[str]
    _REQUIRED: ClassVar[tuple[str, ...]]
    _KINDS: ClassVar[dict[str, type]]
    _HEADER: ClassVar[str]

    def _bad(self, key: str, why: str) -> ValidationError:
        return ValidationError(f"{self._WHAT}: {key} {why}")

    def _check_kinds(self) -> None:
        """Raise for the first field whose value is not of its declared kind."""
        for f in fields(self):
            value = getattr(self, f.name)
            kind = self._KINDS[f.name]
            ok = all(isinstance(v, str) for v in value) if kind is tuple else (
                isinstance(value, kind) and not isinstance(value, bool)
                or kind is float and isinstance(value, int) and not isinstance(value, bool))
            if not ok:
                raise self._bad(f.name, f"must be {_KIND_WORDS[kind]}; got {value!r}")

    def _check_names(self) -> None:
        for key in ("ladder", "rung"):
            if not _NAME_RE.match(getattr(self, key)):
                raise self._bad(key, f"{getattr(self, key)!r} must be lower-case letters, "
                                "digits, '-', '_' or '.'")

    def as_dict(self) -> dict[str, Any]:
        """Every field in declaration order (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}

    def to_toml(self) -> str:
        """The config as TOML (every field, in declaration order)."""
        lines = [f"# {self._HEADER} {self.ladder}/{self.rung}",
                 "# retrain: python -m matteralign.train <this file>"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in self.as_dict().items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None):
        source = source or cls._WHAT
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValidationError(f"{source}: unknown key {unknown[0]!r}; known keys: "
                                  f"{', '.join(known)}")
        missing = [k for k in cls._REQUIRED if k not in data]
        if missing:
            raise ValidationError(f"{source}: missing key {missing[0]!r}")
        values = {k: tuple(v) if cls._KINDS.get(k) is tuple and isinstance(v, list) else v
                  for k, v in data.items()}
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ValidationError(f"{source}: {str(exc).removeprefix(cls._WHAT + ': ')}") from None

    @classmethod
    def from_toml(cls, text: str, source: str | None = None):
        source = source or cls._WHAT
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(f"{source} is not valid TOML: {exc}") from None
        return cls.from_dict(data, source)


@dataclass(frozen=True)
class RungConfig(TomlConfig):
    """Everything that defines one trained model.

    Attributes:
        architecture: ``"transformer" | "mpnn" | "schnet"`` (see :data:`ARCHITECTURES`).
        train_size: number of training molecules, drawn from QM9's training pool under
            ``seed`` (sets of one seed are nested: the 500 are among the 2,000).
        width: hidden width (feature dimension of every exposed layer).
        depth: number of transformer / message-passing / interaction blocks.
        seed: seeds the training subset, the initial weights and the batch order.
        ladder: ladder name (folder under ``data/models``).
        epochs: epoch cap.
        patience: epochs without a validation improvement before stopping.
        min_delta: relative improvement of the validation score that counts as one.
        lr: Adam learning rate (cosine-decayed to lr/20 over the epoch cap).
        batch_size: molecules per optimisation step.
        targets: QM9 targets learned jointly (see :data:`matteralign.train.data.TARGETS`).
        val_size: validation molecules (the first of QM9's fixed validation split).
        test_size: held-out molecules evaluated at the end (the first of the fixed
            10,000-molecule test split; smaller only for quick checks).
        cutoff: interatomic cutoff in Å (``schnet`` only).
        rung: the rung's name; empty means ``<architecture>-n<size>-w<width>-s<seed>``.
    """

    _WHAT: ClassVar[str] = "rung config"
    _REQUIRED: ClassVar[tuple[str, ...]] = ("architecture", "train_size", "width")
    _KINDS: ClassVar[dict[str, type]] = _KINDS
    _HEADER: ClassVar[str] = "matteralign model-ladder rung"

    architecture: str
    train_size: int
    width: int
    depth: int = 3
    seed: int = 0
    ladder: str = "qm9"
    epochs: int = 30
    patience: int = 5
    min_delta: float = 0.0
    lr: float = 1e-3
    batch_size: int = 32
    targets: tuple[str, ...] = ("energy_per_atom", "gap")
    val_size: int = 1000
    test_size: int = 10_000
    cutoff: float = 5.0
    rung: str = field(default="")

    def __post_init__(self) -> None:
        if not self.rung:
            object.__setattr__(self, "rung", self.default_rung())
        if not isinstance(self.targets, list | tuple):
            raise ValidationError(f"rung config: targets must be a list of strings; got "
                                  f"{self.targets!r}")
        object.__setattr__(self, "targets", tuple(self.targets))
        self.validate()

    # ------------------------------------------------------------------ naming
    def default_rung(self) -> str:
        return f"{self.architecture}-n{self.train_size}-w{self.width}-s{self.seed}"

    @property
    def modality(self) -> str:
        return ARCHITECTURES[self.architecture]

    @property
    def model_name(self) -> str:
        """The registry name, ``ladder-<ladder>-<rung>``."""
        return f"ladder-{self.ladder}-{self.rung}"

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise one :class:`ValidationError` line for the first bad value."""
        from matteralign.train.data import HELD_OUT, POOL_SIZE, TARGETS, VALIDATION

        bad = self._bad
        self._check_kinds()
        if self.architecture not in ARCHITECTURES:
            raise bad("architecture", f"{self.architecture!r} is unknown; choose from "
                      f"{', '.join(ARCHITECTURES)}")
        self._check_names()
        ranges = {"train_size": (1, POOL_SIZE), "width": (4, 4096), "depth": (1, 32),
                  "seed": (0, 2**31 - 1), "epochs": (1, 100_000), "patience": (1, 100_000),
                  "batch_size": (1, 100_000), "val_size": (10, VALIDATION),
                  "test_size": (10, HELD_OUT)}
        for key, (lo, hi) in ranges.items():
            if not lo <= getattr(self, key) <= hi:
                raise bad(key, f"must lie in [{lo}, {hi}]; got {getattr(self, key)}")
        if not 0 < self.lr < 1:
            raise bad("lr", f"must lie in (0, 1); got {self.lr}")
        if not 0 <= self.min_delta <= 1:
            raise bad("min_delta", f"must lie in [0, 1]; got {self.min_delta}")
        if not 1 <= self.cutoff <= 20:
            raise bad("cutoff", f"must lie in [1, 20] Å; got {self.cutoff}")
        if self.architecture == "transformer" and self.width % 8:
            raise bad("width", f"of a transformer must be a multiple of 8; got {self.width}")
        if not self.targets or len(set(self.targets)) != len(self.targets):
            raise bad("targets", f"must be distinct target names; got {list(self.targets)}")
        for t in self.targets:
            if t not in TARGETS:
                raise bad("targets", f"{t!r} is unknown; choose from {', '.join(TARGETS)}")




def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def load_config(path: str | Path) -> RungConfig:
    """Read and validate a rung config file.

    Raises:
        MissingDataError: no such file.
        ValidationError: not TOML, an unknown or missing key, or a bad value (one line
            naming the file and the key).
    """
    p = Path(path)
    if not p.is_file():
        raise MissingDataError(f"rung config {p} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"rung config {p} cannot be read: {exc}") from None
    return RungConfig.from_toml(text, source=f"rung config {p}")


def ladder_configs(ladder: str = "qm9") -> list[RungConfig]:
    """The rungs of the QM9 ladder: 3 architectures × 6 sizes × 2 widths at seed 0, plus
    seeds 1 and 2 at the sizes in :data:`LADDER_SEED_SIZES` and width
    :data:`LADDER_SEED_WIDTH` (48 rungs), with the epoch caps of :data:`EPOCH_CAPS`.

    >>> len(ladder_configs()), ladder_configs()[0].rung
    (48, 'transformer-n32-w32-s0')
    """
    if ladder != "qm9":
        raise ValidationError(f"unknown ladder {ladder!r}; this version generates 'qm9'")
    out = []
    for arch in ARCHITECTURES:
        for size in LADDER_SIZES:
            for width in LADDER_WIDTHS:
                spread = size in LADDER_SEED_SIZES and width == LADDER_SEED_WIDTH
                for seed in LADDER_SEEDS if spread else (0,):
                    out.append(RungConfig(architecture=arch, train_size=size, width=width,
                                          seed=seed, ladder=ladder, epochs=EPOCH_CAPS[size],
                                          patience=_PATIENCE[size], lr=_LR[arch],
                                          batch_size=_BATCH[size]))
    return out


_PATIENCE = {32: 30, 125: 25, 500: 15, 2000: 10, 8000: 5, 32000: 3}
_BATCH = {32: 8, 125: 16, 500: 16, 2000: 32, 8000: 32, 32000: 64}
_LR = {"transformer": 5e-4, "mpnn": 1e-3, "schnet": 1e-3}

# Measured CPU cost of one epoch on the project's 2-core machine (one thread, under nice,
# shared with other jobs; time.process_time): seconds = a · train_size + b, where b is
# mostly the validation pass over 1,000 molecules. Fitted to 1-epoch runs at 500, 2,000
# and 8,000 molecules (lib/matteralign/train/README.md).
EPOCH_COST = {  # (architecture, width): (a seconds per molecule, b seconds)
    ("transformer", 32): (0.37e-3, 0.45), ("transformer", 64): (0.66e-3, 0.40),
    ("mpnn", 32): (0.29e-3, 0.05), ("mpnn", 64): (0.36e-3, 0.10),
    ("schnet", 32): (1.42e-3, 1.25), ("schnet", 64): (2.70e-3, 1.30),
}
FEATURIZE_COST = {"transformer": 0.4e-3, "mpnn": 0.4e-3, "schnet": 0.15e-3}  # s per molecule


def estimate_cpu_seconds(config: RungConfig) -> float:
    """Upper estimate of a rung's CPU time on the project's machine: every epoch up to the
    cap (early stopping only shortens it) at :data:`EPOCH_COST`, plus featurising the
    training, validation and test molecules. Widths not in the table scale linearly."""
    key = (config.architecture, config.width)
    if key in EPOCH_COST:
        a, b = EPOCH_COST[key]
    else:
        a32, b32 = EPOCH_COST[(config.architecture, 32)]
        a64, b64 = EPOCH_COST[(config.architecture, 64)]
        f = (config.width - 32) / 32
        a, b = max(a32 + f * (a64 - a32), 1e-5), max(b32 + f * (b64 - b32), 0.01)
    b *= config.val_size / 1000
    molecules = config.train_size + config.val_size + config.test_size
    return config.epochs * (a * config.train_size + b) + FEATURIZE_COST[config.architecture] * molecules
