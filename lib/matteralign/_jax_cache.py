"""JAX's persistent compilation cache, turned on when :mod:`matteralign.metrics` is imported.

The first :func:`~matteralign.metrics.align` of a process otherwise spends most of its time
compiling the jitted kernels (about 1.7 s of 2.0 s for N = 1200, M = 6 on a 2-core CPU);
with the cache, a new process loads the compiled executables from disk instead (measured in
``benchmarks/cold_start.py``, recorded in ``benchmarks/RESULTS.md``).

The cache lives in ``<embeddings cache>/jax-compilation-cache``, next to the extracted
embeddings (:func:`matteralign.models.extract.default_cache_dir`: ``data/embeddings`` of the
repository, or ``$MATTERALIGN_EMBEDDINGS``), so ``make clean`` removes it too. Every kernel
is cached, however small or quick to compile (``jax_persistent_cache_min_compile_time_secs
= 0``, ``jax_persistent_cache_min_entry_size_bytes = -1``).

The environment variable ``MATTERALIGN_JAX_CACHE`` controls it: unset, ``1``, ``true``,
``yes`` or ``on`` — on (default); ``0``, ``false``, ``no`` or ``off`` — off (JAX's settings
are left untouched); any other value — on, in that folder. A cache folder the user has
already given JAX (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``) is kept, and a folder
that cannot be created leaves the cache off. The settings take effect only if no JAX kernel
was compiled earlier in the process (JAX decides once, at the first compilation).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "enable_compilation_cache", "compilation_cache_dir"]

ENV_VAR = "MATTERALIGN_JAX_CACHE"
_OFF = {"0", "false", "no", "off"}
_ON = {"", "1", "true", "yes", "on"}


def compilation_cache_dir() -> Path | None:
    """The folder the cache should use, or None when ``$MATTERALIGN_JAX_CACHE`` turns it off."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value.lower() in _OFF:
        return None
    if value.lower() not in _ON:
        return Path(value).expanduser()
    from matteralign.models.extract import default_cache_dir

    return default_cache_dir() / "jax-compilation-cache"


def enable_compilation_cache() -> Path | None:
    """Point JAX's persistent compilation cache at :func:`compilation_cache_dir` and cache
    every kernel. Idempotent.

    Returns:
        The folder in use, or None if the cache is off (by ``$MATTERALIGN_JAX_CACHE``, or
        because the folder cannot be created).
    """
    folder = compilation_cache_dir()
    if folder is None:
        return None
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current and Path(current) != folder:  # the user's own choice wins
        return Path(current)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return folder
