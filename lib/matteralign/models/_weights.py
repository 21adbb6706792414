"""Where downloaded model weights live, and the one clear message when they are missing.

Models whose checkpoints cannot ship with a wheel read them from a weights folder:
``$MATTERALIGN_WEIGHTS/<family>/<file>`` when the environment variable is set, else
``<repo>/data/weights/<family>/<file>``; ``--weights PATH`` (``factory(weights=PATH)``)
overrides both. A :class:`WeightsSpec` names the file, the folder and the download address,
so that a missing file stops extraction at once with one line that says which file is
missing, where to get it and where to put it.

>>> spec = WeightsSpec("Demo", "demo", "demo.ckpt", "https://example.org/demo.ckpt")
>>> spec.default_path().parts[-2:]
('demo', 'demo.ckpt')
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matteralign.errors import MatteralignError, MissingWeightsError

__all__ = [
    "ENV_VAR",
    "DownloadedModel",
    "MissingPackageError",
    "WeightsSpec",
    "availability",
    "import_optional",
    "published_labels",
    "register_downloaded",
    "torch_threads",
    "weights_root",
]

ENV_VAR = "MATTERALIGN_WEIGHTS"
_REPO = Path(__file__).resolve().parents[3]


class MissingPackageError(MatteralignError, ImportError):
    """An optional model family's package is not installed; the message names the extra."""


def weights_root() -> Path:
    """The weights folder: ``$MATTERALIGN_WEIGHTS`` if set, else ``<repo>/data/weights``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else _REPO / "data" / "weights"


def _shown(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it (shorter messages)."""
    try:
        return str(path.relative_to(_REPO))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class WeightsSpec:
    """One downloadable checkpoint.

    Attributes:
        model: display name used in messages, e.g. ``"MACE-MP-0 medium"``.
        family: sub-folder of the weights folder, e.g. ``"mace"``.
        filename: file name inside it (a folder name for multi-file checkpoints).
        url: where to download it.
        note: extra instruction appended to the message (licence gate, unpacking …).
    """

    model: str
    family: str
    filename: str
    url: str
    note: str = ""

    def default_path(self) -> Path:
        """``<weights folder>/<family>/<filename>``."""
        return weights_root() / self.family / self.filename

    def missing_message(self, given: str | os.PathLike | None = None) -> str:
        """The one-line message: which file is missing, where to get it, where to put it."""
        extra = f" {self.note}" if self.note else ""
        if given is not None:
            return (
                f"{self.model} weights not found: --weights {given} does not exist. "
                f"Download {self.filename} from {self.url} and pass its path.{extra}"
            )
        return (
            f"{self.model} weights not found: expected {_shown(self.default_path())} "
            f"(or pass --weights PATH). Download from {self.url} and put it there.{extra}"
        )

    def resolve(self, weights: str | os.PathLike | None = None) -> Path:
        """The checkpoint path, or :class:`MissingWeightsError` with :meth:`missing_message`.

        Args:
            weights: an explicit path (``--weights``); None looks in the weights folder.

        Returns:
            An existing path.
        """
        path = Path(weights).expanduser() if weights is not None else self.default_path()
        if not path.exists():
            raise MissingWeightsError(self.missing_message(weights))
        return path


def import_optional(module: str, extra: str, model: str) -> Any:
    """Import ``module`` or raise :class:`MissingPackageError` naming the pip extra.

    >>> import_optional("math", "none", "Demo").sqrt(4.0)
    2.0
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingPackageError(
            f"{model} needs the optional package {module!r} ({exc}); install it with "
            f"pip install 'matteralign[{extra}]' (kept out of the default environment, "
            "see README 'Optional model families')."
        ) from exc


def availability(spec: WeightsSpec | None, module: str, extra: str, weights: Any = None):
    """True when ``module`` is importable and the weights exist, else the reason (a string).

    Cheap: nothing is imported or loaded (``importlib.util.find_spec`` only).
    """
    if spec is not None:
        path = Path(weights) if weights is not None else spec.default_path()
        if not path.exists():
            return spec.missing_message(weights)
    try:
        found = importlib.util.find_spec(module.split(".")[0]) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return f"optional package {module!r} not installed: pip install 'matteralign[{extra}]'"
    return True


def _atoms(sample: Any) -> Any:
    """``sample.atoms`` (or ``sample`` itself when it already is an ``ase.Atoms``)."""
    return sample if hasattr(sample, "get_atomic_numbers") else sample.require("atoms")


def _text(sample: Any, what: str) -> str:
    """``sample.smiles`` / ``sample.sequence`` (or ``sample`` itself when it is a string)."""
    return sample if isinstance(sample, str) else sample.require(what)


def published_labels(*tables: dict[str, str | None]) -> dict[str, str]:
    """Merge ``{our name: label in published_sqrtjsd_cknna_k25.json}`` tables (None dropped)."""
    out: dict[str, str] = {}
    for t in tables:
        out.update({k: v for k, v in t.items() if v})
    return out


class DownloadedModel:
    """Mixin of adapters whose checkpoint the user downloads.

    ``__init__`` resolves the checkpoint at once — a missing file raises
    :class:`MissingWeightsError` with :meth:`WeightsSpec.missing_message` before anything is
    imported or computed — and the package is imported on first use (``_load``).
    Subclasses set ``info``, ``spec``, ``module`` (the package to import) and ``extra``.
    """

    spec: WeightsSpec
    module: str
    extra: str

    def __init__(self, info: Any, spec: WeightsSpec, weights: Any = None, **options: Any):
        self.info = info
        self.spec = spec
        self.path = spec.resolve(weights)
        self.options = options
        self._model: Any = None

    def _package(self) -> Any:
        return import_optional(self.module, self.extra, self.info.name)

    @property
    def model(self) -> Any:
        """The loaded network (first use imports the package and reads the checkpoint)."""
        if self._model is None:
            self._package()
            self._model = self._load()
        return self._model

    def _load(self) -> Any:  # pragma: no cover - family specific
        raise NotImplementedError


def register_downloaded(
    registry: Any, info: Any, spec: WeightsSpec, adapter: type, module: str, extra: str,
    **options: Any,
) -> None:
    """Register a downloaded-weights model: ``factory(weights=None)`` builds ``adapter``
    (raising :class:`MissingWeightsError` when the file is absent); the availability check
    looks for the file and the package without importing anything."""
    from functools import partial

    registry.register(
        info,
        partial(adapter, info, spec, **options),
        available=partial(availability, spec, module, extra),
    )


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Run the block with ``torch.set_num_threads(n)`` (None: leave it), then restore.

    Extraction is parallel across structures (Dask workers, one process per core); inside
    one forward pass of a small graph, intra-op threads gain little, and on a busy machine
    their spin-waiting made SevenNet ~8x and CHGNet ~3x slower on this project's 2-core
    test machine. The offline MLIP adapters therefore default to one thread.
    """
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)
