"""The notebooks: structure (thin, parameterised, generated) and execution with tiny
parameters through papermill (each must write its figures and compute its conclusion)."""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

from matteralign import compendium

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STEMS = [p.stem for p in NOTEBOOKS]
REQUIRED_PARAMETERS = {"dataset", "models", "k", "n_samples", "seed", "device", "output_dir"}

# Tiny parameters: every notebook in well under a minute on two cores. Cheap models
# (descriptors, CHGNet); the notebooks share one embeddings cache within the test session.
MLIPS = ["chgnet-0.3.0", "chgnet-0.2.0", "soap"]
TINY = {
    "01_cross_modality_qm9": {"models": ["morgan", "soap", "chgnet-0.3.0"], "n_samples": 24,
                              "k": 5},
    "02_similarity_tree": {"models": MLIPS, "n_samples": 24, "k": 5, "n_permutations": 99,
                           "published_datasets": ["omat24", "qm9"]},
    "03_alignment_vs_performance": {"models": ["chgnet-0.3.0", "chgnet-0.2.0", "chgnet-r2scan",
                                               "chgnet-0.3.0-random"],
                                    "n_samples": 8, "k": 3, "n_boot": 100},
    "04_in_vs_out_of_distribution": {"models": MLIPS, "reference": "chgnet-0.3.0",
                                     "n_samples": 24, "k": 5},
    "05_robustness": {"models": MLIPS, "n_samples": 24, "ks": [3, 5, 10],
                      "sample_sizes": [12, 24], "n_repeats": 2, "k": 5,
                      "poolings": ["mean", "sum"], "pooling_models": ["chgnet-0.3.0", "soap"],
                      "layer_models": ["chgnet-0.2.0"],
                      "reference": "chgnet-0.3.0"},
    "06_proteins": {"n_samples": 12, "k": 3},
}
WRITES_TENSOR = {s for s in STEMS if s != "06_proteins"}  # 06 only with protein weights


def _load(path):
    return nbformat.read(path, as_version=4)


def _parameters(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    names = set(re.findall(r"^(\w+)\s*=", cells[0].source, flags=re.M))
    return cells[0], names


def test_there_is_one_notebook_per_claim():
    assert STEMS == ["01_cross_modality_qm9", "02_similarity_tree", "03_alignment_vs_performance",
                     "04_in_vs_out_of_distribution", "05_robustness", "06_proteins"]
    assert set(TINY) == set(STEMS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_parameters_cell_has_the_standard_parameters(path):
    _, names = _parameters(_load(path))
    assert REQUIRED_PARAMETERS <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_notebook_defines_no_function_and_stores_no_outputs(path):
    for cell in _load(path).cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*def |lambda\b|^\s*class ", cell.source, flags=re.M), cell.source
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_notebook_ends_with_a_computed_conclusion(path):
    last = _load(path).cells[-1]
    assert last.cell_type == "code" and "conclusions.publish(" in last.source


def test_notebooks_match_their_generator(tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_notebooks
    finally:
        sys.path.pop(0)
    build_notebooks.build(tmp_path)
    for path in NOTEBOOKS:
        assert (tmp_path / path.name).read_text() == path.read_text(), \
            f"{path.name} differs from scripts/build_notebooks.py; rerun it"


@pytest.fixture(scope="module")
def shared_caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebook-caches")
    mp = pytest.MonkeyPatch()
    mp.setenv("MATTERALIGN_CACHE", str(root / "cache"))
    mp.setenv("MATTERALIGN_EMBEDDINGS", str(root / "embeddings"))
    yield root
    mp.undo()


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_notebook_runs_with_tiny_parameters_and_writes_its_results(stem, shared_caches):
    out_root = shared_caches / "figures"
    result = compendium.run_notebook(stem, TINY[stem], output_root=out_root, timeout=120)
    assert result.status == "ok", result.error
    out = out_root / stem
    pngs = {p.stem for p in out.glob("*.png")}
    svgs = {p.stem for p in out.glob("*.svg")}
    assert pngs and pngs == svgs
    if stem in WRITES_TENSOR:
        assert list(out.glob("*.nc"))
    executed = nbformat.read(out / f"{stem}.ipynb", as_version=4)
    last = executed.cells[-1]
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in last.outputs)
    assert "Conclusion" in text and re.search(r"\d", text)
    assert not re.search(r"\b(nan|NaN|None|inf)\b", text), text  # no missing value leaks
    assert (out / "conclusion.md").read_text().strip()
    assert json.loads((out / "run.json").read_text())["status"] == "ok"
