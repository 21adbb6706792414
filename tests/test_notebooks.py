"""One battery over every notebook (scikit-learn's ``check_estimator`` lesson): adding a
notebook to ``notebooks/`` adds its checks.

The notebooks are their own source: each ``notebooks/<stem>.ipynb`` is paired by jupytext
with a percent-format twin ``notebooks/<stem>.py`` (``notebooks/jupytext.toml``), and either
may be edited in JupyterLab. Every notebook must: hold the same cells as its twin; have
exactly one cell tagged ``parameters`` with the standard parameters; define no function,
class or lambda; store no outputs or execution counts; end with a conclusion published from
computed numbers; and run through papermill with tiny parameters, writing its figures,
results and an executed copy that holds no absolute path of the machine.
"""

import ast
import fnmatch
import json
import re
import runpy
from pathlib import Path

import jupytext
import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from jupytext.config import load_jupytext_config

from matteralign import compendium

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
STEMS = [p.stem for p in NOTEBOOKS]
TWIN_FORMATS = "ipynb,py:percent"
REQUIRED_PARAMETERS = {"dataset", "models", "k", "n_samples", "seed", "device", "output_dir"}
# Wording that states a verdict or a value: it must come out of matteralign.analysis.conclusions,
# computed from the numbers, never sit in a string literal of a conclusion cell.
VERDICT = re.compile(r"\b(support(s|ed)?|confirm(s|ed)?|refute[sd]?|hold(s)?|reproduce[sd]?|"
                     r"consistent with|separates?|significant(ly)?|stronger|weaker|higher|lower|"
                     r"converge[sd]?|collapse[sd]?)\b|\d\.\d", re.I)

# Tiny parameters: every notebook in well under a minute on two cores. Cheap models
# (descriptors, CHGNet); the notebooks share one embeddings cache within the test session.
MLIPS = ["chgnet-0.3.0", "chgnet-0.2.0", "soap"]
TINY = {
    "01_cross_modality_qm9": {"models": ["chemnet", "smiles-tokens", "chgnet-0.3.0", "soap",
                                         "chgnet-0.3.0-random"],
                              "n_samples": 24, "k": 5, "n_boot": 10, "n_perm": 19},
    "02_similarity_tree": {"models": MLIPS, "n_samples": 24, "k": 5, "n_permutations": 99,
                           "published_datasets": ["omat24", "qm9"]},
    "03_alignment_vs_performance": {"models": ["chgnet-0.3.0", "chgnet-0.2.0", "chgnet-r2scan",
                                               "chgnet-0.3.0-random"],
                                    "n_samples": 8, "k": 3, "n_boot": 100},
    "04_in_vs_out_of_distribution": {"models": [*MLIPS, "chgnet-0.3.0-random"],
                                     "reference": "chgnet-0.3.0",
                                     "n_samples": 24, "k": 5, "n_boot": 200},
    "05_robustness": {"models": MLIPS, "n_samples": 24, "ks": [3, 5, 10],
                      "sample_sizes": [12, 24], "n_repeats": 2, "k": 5, "n_boot": 50,
                      "qm9_models": ["coulomb-eigen", "rdkit-2d", "smiles-tokens"],
                      "qm9_sample_sizes": [20, 40],
                      "poolings": ["mean", "sum"], "pooling_models": ["chgnet-0.3.0", "soap"],
                      "layer_models": ["chgnet-0.2.0"],
                      "reference": "chgnet-0.3.0"},
    "06_proteins": {"n_samples": 12, "k": 3},
    # every shipped rung of the QM9 ladder (served by the store), few samples and replicates
    "07_ladders": {"n_samples": 40, "k": 5, "n_boot": 10, "n_perm": 49,
                   "n_shuffles": 19},
}
WRITES_TENSOR = {s for s in STEMS if s != "06_proteins"}  # 06 only with protein weights


def _load(path):
    return nbformat.read(path, as_version=4)


def _code(cell):
    """The cell's source as a Python syntax tree (IPython magics turned into calls first)."""
    return ast.parse(TransformerManager().transform_cell(cell.source))


def _code_cells(path):
    return [c for c in _load(path).cells if c.cell_type == "code"]


def _cells(nb):
    return [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in nb.cells]


def _calls(tree, module):
    """Names of the functions of ``module`` called in ``tree`` (``conclusions.publish(...)``)."""
    return [n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
            and n.func.value.id == module]


def test_there_is_one_notebook_per_claim():
    assert STEMS == ["01_cross_modality_qm9", "02_similarity_tree", "03_alignment_vs_performance",
                     "04_in_vs_out_of_distribution", "05_robustness", "06_proteins",
                     "07_ladders"]
    assert set(TINY) == set(STEMS)


def test_every_twin_has_its_notebook():
    twins = {p.stem for p in NOTEBOOK_DIR.glob("*.py") if p.name != "conftest.py"}
    assert twins == set(STEMS)


def test_pytest_never_collects_a_twin():
    """Importing a twin (as ``--doctest-modules`` would) runs the whole notebook."""
    ignored = runpy.run_path(str(NOTEBOOK_DIR / "conftest.py"))["collect_ignore_glob"]
    for stem in STEMS:
        assert any(fnmatch.fnmatch(f"{stem}.py", pattern) for pattern in ignored), stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_notebook_is_paired_with_a_percent_twin_by_the_folder_and_by_itself(path):
    config = load_jupytext_config(str(NOTEBOOK_DIR))
    assert config is not None and config.default_formats(str(path)) == TWIN_FORMATS
    assert _load(path).metadata["jupytext"]["formats"] == TWIN_FORMATS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_twin_holds_the_same_cells_as_the_notebook(path):
    twin = path.with_suffix(".py")
    assert twin.exists(), f"no twin {twin.name}: run jupytext --sync {path.name}"
    assert _cells(jupytext.read(twin)) == _cells(jupytext.read(path)), \
        f"{path.name} and {twin.name} differ: run jupytext --sync on the one you edited"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_exactly_one_cell_is_tagged_parameters_and_holds_the_standard_ones(path):
    cells = [c for c in _load(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    names = {t.id for node in _code(cells[0]).body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    assert REQUIRED_PARAMETERS <= names, REQUIRED_PARAMETERS - names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_no_code_cell_defines_a_function_or_class(path):
    for cell in _code_cells(path):
        defined = [type(n).__name__ for n in ast.walk(_code(cell)) if isinstance(
            n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)]
        assert not defined, f"{defined} in a cell of {path.name} (it belongs in lib):\n{cell.source}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_notebook_stores_no_outputs_or_execution_counts(path):
    for cell in _code_cells(path):
        assert cell.outputs == [] and cell.execution_count is None, cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_notebook_ends_with_a_conclusion_published_from_computed_numbers(path):
    last = _load(path).cells[-1]
    assert last.cell_type == "code"
    tree = _code(last)
    called = _calls(tree, "conclusions")
    assert "publish" in called, "the last cell must call conclusions.publish(...)"
    assert set(called) - {"publish"}, "the text must be computed by matteralign.analysis.conclusions"
    publish = next(n for n in ast.walk(tree) if isinstance(n, ast.Call)
                   and isinstance(n.func, ast.Attribute) and n.func.attr == "publish")
    text = publish.args[0] if publish.args else None
    assert text is not None and not isinstance(text, ast.Constant | ast.JoinedStr), \
        "conclusions.publish is given a literal"
    literals = [n.value for n in ast.walk(tree)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    typed = [s for s in literals if VERDICT.search(s)]
    assert not typed, f"hard-coded verdict or value in the conclusion cell: {typed}"


@pytest.fixture(scope="module")
def shared_caches(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebook-caches")
    mp = pytest.MonkeyPatch()
    mp.setenv("MATTERALIGN_CACHE", str(root / "cache"))
    mp.setenv("MATTERALIGN_EMBEDDINGS", str(root / "embeddings"))
    yield root
    mp.undo()


_RUNS: dict = {}


def executed(stem, root):
    """Run ``stem`` once per session with its tiny parameters; its output folder and result."""
    if stem not in _RUNS:
        out_root = root / "figures"
        result = compendium.run_notebook(stem, TINY[stem], output_root=out_root, timeout=120)
        _RUNS[stem] = out_root / stem, result
    return _RUNS[stem]


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_notebook_runs_with_tiny_parameters_and_writes_its_results(stem, shared_caches):
    out, result = executed(stem, shared_caches)
    assert result.status == "ok", result.error
    pngs = {p.stem for p in out.glob("*.png")}
    svgs = {p.stem for p in out.glob("*.svg")}
    assert pngs and pngs == svgs
    if stem in WRITES_TENSOR:
        assert list(out.glob("*.nc"))
    nb = nbformat.read(out / f"{stem}.ipynb", as_version=4)
    last = nb.cells[-1]
    text = "".join(o.get("data", {}).get("text/markdown", "") for o in last.outputs)
    assert "Conclusion" in text and re.search(r"\d", text)
    assert not re.search(r"\b(nan|NaN|None|inf)\b", text), text  # no missing value leaks
    assert (out / "conclusion.md").read_text().strip()
    assert json.loads((out / "run.json").read_text())["status"] == "ok"


@pytest.mark.slow
@pytest.mark.parametrize("stem", STEMS)
def test_executed_copy_holds_no_absolute_path_of_the_machine(stem, shared_caches):
    out, _ = executed(stem, shared_caches)
    text = (out / f"{stem}.ipynb").read_text()
    for where in (ROOT, shared_caches, Path.home()):
        assert str(where) not in text, f"{where} in the executed {stem}.ipynb"
    nb = nbformat.reads(text, as_version=4)
    assert nb.metadata.papermill.input_path == f"notebooks/{stem}.ipynb"
    assert nb.metadata.papermill.parameters.output_dir == f"figures/{stem}"
