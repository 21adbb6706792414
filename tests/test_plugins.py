"""Plugins (issue 10): models and datasets of installed distributions that declare a
``matteralign.plugins`` entry point are seen by the CLI and the registries.

Each test installs a real distribution into ``tmp_path`` (a ``*.dist-info`` folder with
``entry_points.txt`` next to its module, which ``importlib.metadata`` finds on the path) and
runs a fresh interpreter with ``PYTHONPATH`` pointing there, since plugins load once per
process.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from matteralign import io

PLUGIN = textwrap.dedent("""
    import numpy as np
    from ase.build import molecule

    CALLS = []


    def setup():
        from matteralign import datasets, models
        from matteralign.datasets import DatasetInfo, Sample

        CALLS.append(1)
        models.register_callable(
            "user-plugin-z", lambda atoms: np.c_[atoms.numbers, atoms.get_masses()],
            family="plugin-demo", version="1")
        datasets.register(
            DatasetInfo("user-plugin-molecules", "molecules", representations=("atoms",),
                        shipped=False, version="1"),
            lambda: [Sample(id=f"mol:{name}", atoms=molecule(name))
                     for name in ("H2O", "CH4", "NH3")])
""")

BROKEN = textwrap.dedent("""
    def setup():
        raise RuntimeError("licence server\\nunreachable")
""")


def _install(root, dist, entries, modules):
    """A distribution ``dist`` whose entry points ``{name: value}`` sit in the
    ``matteralign.plugins`` group, with ``{module: source}`` beside it."""
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entries.items())
    (info / "entry_points.txt").write_text(f"[matteralign.plugins]\n{lines}")
    for module, source in modules.items():
        (root / f"{module}.py").write_text(source)


def _python(root, *args, timeout=240):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=root)


@pytest.fixture
def plugin_root(tmp_path):
    _install(tmp_path, "demo-plugin", {"demo": "demo_plugin:setup"}, {"demo_plugin": PLUGIN})
    return tmp_path


def test_cli_models_lists_a_plugin_model(plugin_root):
    proc = _python(plugin_root, "-m", "matteralign", "models", "--modality", "descriptor")
    assert proc.returncode == 0, proc.stderr
    assert "user-plugin-z" in proc.stdout and "plugin-demo" in proc.stdout


def test_cli_embeds_a_plugin_dataset_with_a_plugin_model(plugin_root):
    cache = plugin_root / "cache"
    proc = _python(plugin_root, "-m", "matteralign", "embed", "--model", "user-plugin-z",
                   "--dataset", "user-plugin-molecules", "--cache-dir", str(cache),
                   "--no-progress")
    assert proc.returncode == 0, proc.stderr
    [path] = cache.rglob("embeddings.nc")
    emb = io.load(path)
    water = emb.sel(sample="mol:H2O").values  # mean over atoms of (Z, mass)
    np.testing.assert_allclose(water, [10 / 3, (15.999 + 2 * 1.008) / 3], rtol=1e-3)
    assert emb.sizes["sample"] == 3


def test_registries_load_plugins_once_when_first_queried(plugin_root):
    script = textwrap.dedent("""
        from matteralign import datasets, models, plugins
        import demo_plugin
        assert demo_plugin.CALLS == [], "loaded before any query"
        print("user-plugin-molecules" in datasets.names())
        print("user-plugin-z" in models.names())
        plugins.load()
        print(len(demo_plugin.CALLS), plugins.loaded())
    """)
    proc = _python(plugin_root, "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:3] == ["True", "True", "1 ['demo']"]


def test_a_module_entry_point_is_imported(tmp_path):
    module = PLUGIN + "\nsetup()\n"
    _install(tmp_path, "module-plugin", {"as-module": "module_plugin"}, {"module_plugin": module})
    proc = _python(tmp_path, "-c", "from matteralign import models; "
                                   "print('user-plugin-z' in models.names())")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_a_failing_plugin_is_one_warning_naming_it_and_the_cli_still_works(plugin_root):
    _install(plugin_root, "broken-plugin", {"broken": "broken_plugin:setup"},
             {"broken_plugin": BROKEN})
    proc = _python(plugin_root, "-m", "matteralign", "models", "--modality", "descriptor")
    assert proc.returncode == 0, proc.stderr
    assert "user-plugin-z" in proc.stdout  # the working plugin still loaded
    warnings = [line for line in proc.stderr.splitlines() if "plugin" in line]
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].startswith("matteralign: warning: plugin 'broken' (broken_plugin:setup)")
    assert "RuntimeError: licence server unreachable" in warnings[0]


def test_a_plugin_that_cannot_be_imported_is_one_warning(tmp_path):
    _install(tmp_path, "missing-plugin", {"gone": "no_such_plugin_module:setup"}, {})
    proc = _python(tmp_path, "-m", "matteralign", "datasets", "--csv")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("\n") == 1 and "plugin 'gone'" in proc.stderr
    assert "ModuleNotFoundError" in proc.stderr and "qm9" in proc.stdout
