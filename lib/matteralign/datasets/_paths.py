"""Where shipped and cached dataset files live.

The repository's ``data/`` folder by default; the environment variable ``MATTERALIGN_DATA``
points elsewhere (for an installed copy of the library, or a shared data disk).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "cache_dir"]

_REPO_DATA = Path(__file__).resolve().parents[3] / "data"


def data_dir() -> Path:
    """The data root: ``$MATTERALIGN_DATA`` if set, else ``<repository>/data``."""
    env = os.environ.get("MATTERALIGN_DATA")
    return Path(env) if env else _REPO_DATA


def cache_dir() -> Path:
    """Regenerable parsed caches (``<data root>/cache``, git-ignored)."""
    return data_dir() / "cache"
