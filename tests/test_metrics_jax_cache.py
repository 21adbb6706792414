"""JAX's persistent compilation cache (matteralign/_jax_cache.py), turned on by importing
matteralign.metrics: checked in fresh interpreters, since JAX reads its settings once."""

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, jax
import matteralign.metrics
print(json.dumps({"dir": jax.config.jax_compilation_cache_dir,
                  "min_time": jax.config.jax_persistent_cache_min_compile_time_secs,
                  "min_size": jax.config.jax_persistent_cache_min_entry_size_bytes}))
"""

HITS = """
import json
import jax.monitoring
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)
import numpy as np
from matteralign import metrics
x = np.linspace(0.0, 1.0, 240).reshape(40, 6)
metrics.align({"a": x, "b": np.sin(3.0 * x)}, metrics=("cknna", "cka"), k=5, progress=False)
print(json.dumps({"hits": len(hits)}))
"""


def _run(code, tmp_path, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in ("MATTERALIGN_JAX_CACHE", "JAX_COMPILATION_CACHE_DIR")}
    base.update(MATTERALIGN_EMBEDDINGS=str(tmp_path / "embeddings"), JAX_PLATFORMS="cpu", **env)
    out = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_metrics_turns_the_cache_on_under_the_embeddings_cache_folder(tmp_path):
    got = _run(PROBE, tmp_path)
    assert Path(got["dir"]) == tmp_path / "embeddings" / "jax-compilation-cache"
    assert Path(got["dir"]).is_dir()


def test_the_cache_keeps_small_and_quickly_compiled_kernels_too(tmp_path):
    got = _run(PROBE, tmp_path)
    assert got["min_time"] == 0.0 and got["min_size"] == -1


def test_matteralign_jax_cache_0_leaves_jax_settings_untouched(tmp_path):
    got = _run(PROBE, tmp_path, MATTERALIGN_JAX_CACHE="0")
    assert got == {"dir": None, "min_time": 1.0, "min_size": 0}
    assert not (tmp_path / "embeddings").exists()


def test_matteralign_jax_cache_may_name_the_folder(tmp_path):
    got = _run(PROBE, tmp_path, MATTERALIGN_JAX_CACHE=str(tmp_path / "mine"))
    assert Path(got["dir"]) == tmp_path / "mine"


def test_a_cache_folder_given_to_jax_by_the_user_is_kept(tmp_path):
    got = _run(PROBE, tmp_path, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "users"))
    assert Path(got["dir"]) == tmp_path / "users"


def test_a_second_process_loads_the_kernels_of_the_first_from_the_cache(tmp_path):
    first = _run(HITS, tmp_path)
    folder = tmp_path / "embeddings" / "jax-compilation-cache"
    assert first["hits"] == 0 and any(folder.iterdir())
    assert _run(HITS, tmp_path)["hits"] > 0
