"""The compendium runner: papermill execution, summary, gallery, `matteralign report`."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from matteralign import compendium
from matteralign.cli import main
from matteralign.errors import UnknownNameError


def _notebook(folder, stem, body):
    params = new_code_cell("output_dir = 'unused'\nvalue = 1")
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (folder / f"{stem}.ipynb").write_text(nbformat.writes(nb))


FIGURE = """
import os
import pathlib
print("writing to", output_dir, "from", os.getcwd())
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matteralign.analysis.plotting import save_figure
fig, ax = plt.subplots()
ax.plot([0, value])
save_figure(fig, pathlib.Path(output_dir), "line")
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("compendium")
    nbs = root / "notebooks"
    nbs.mkdir()
    _notebook(nbs, "01_good", FIGURE)
    _notebook(nbs, "02_bad", "import os\nraise ValueError(f'planted failure in {os.getcwd()}')")
    results = compendium.run_all(None, {"value": 3}, output_root=root / "figures",
                                 notebook_dir=nbs, log=lambda s: None)
    return root, results


def test_every_notebook_is_run_and_a_failure_does_not_stop_the_rest(toy):
    _, results = toy
    assert [(r.notebook, r.status) for r in results] == [("01_good", "ok"), ("02_bad", "failed")]
    assert "planted failure" in results[1].error


def test_figures_and_executed_notebook_land_in_the_notebook_folder(toy):
    root, results = toy
    out = root / "figures" / "01_good"
    assert {"line.png", "line.svg"} <= set(results[0].figures)
    assert (out / "01_good.ipynb").exists() and (out / "line.png").stat().st_size > 0


def test_parameter_overrides_reach_the_notebook_and_are_recorded(toy):
    root, _ = toy
    run = json.loads((root / "figures" / "01_good" / "run.json").read_text())
    assert run["parameters"] == {"value": 3} and run["status"] == "ok"


def test_gallery_shows_every_figure_with_its_parameters(toy):
    root, _ = toy
    text = (root / "figures" / "README.md").read_text()
    assert "![line](01_good/line.png)" in text
    assert "`value=3`" in text and "02_bad" in text and "failed" in text


def test_executed_notebook_holds_paths_relative_to_the_project_root(toy):
    root, _ = toy
    text = (root / "figures" / "01_good" / "01_good.ipynb").read_text()
    assert str(root) not in text and str(root.resolve()) not in text
    nb = nbformat.reads(text, as_version=4)
    assert nb.metadata.papermill.input_path == "notebooks/01_good.ipynb"
    assert nb.metadata.papermill.output_path == "figures/01_good/01_good.ipynb"
    assert nb.metadata.papermill.parameters.output_dir == "figures/01_good"
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert 'output_dir = "figures/01_good"' in injected.source
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "writing to figures/01_good from notebooks" in printed


def test_a_failure_is_reported_with_paths_relative_to_the_project_root(toy):
    root, results = toy
    assert results[1].error == "ValueError: planted failure in notebooks"
    assert str(root) not in (root / "figures" / "02_bad" / "02_bad.ipynb").read_text()


def test_paths_sharing_only_a_prefix_with_a_root_are_left_alone(tmp_path):
    nb = new_notebook(cells=[new_code_cell(f"print('{tmp_path}-other/x', '{tmp_path}/x')")])
    path = tmp_path / "executed.ipynb"
    path.write_text(nbformat.writes(nb))
    compendium.relativise_paths(path, [tmp_path])
    assert nbformat.read(path, as_version=4).cells[0].source == \
        f"print('{tmp_path}-other/x', 'x')"


def test_gallery_links_each_notebook_and_its_jupytext_twin(tmp_path):
    run = compendium.RunResult("05_robustness", "ok", 1.0)
    (tmp_path / "05_robustness").mkdir()
    (tmp_path / "05_robustness" / "run.json").write_text(json.dumps(run.as_dict()))
    text = compendium.write_gallery(tmp_path).read_text()
    assert "(../notebooks/05_robustness.ipynb)" in text
    assert "(../notebooks/05_robustness.py)" in text


def test_summary_table_has_a_row_per_notebook_and_a_total(toy):
    _, results = toy
    lines = compendium.summary_table(results).splitlines()
    assert lines[0].split() == ["notebook", "status", "wall", "time", "figures"]
    assert lines[-1].startswith("total") and "1/2 ok" in lines[-1]


def test_parameters_are_parsed_like_papermill():
    assert compendium.parse_parameters([("k", "10"), ("x", "0.5"), ("flag", "true"),
                                        ("names", "[a, b]"), ("s", "qm9")]) == \
        {"k": 10, "x": 0.5, "flag": True, "names": ["a", "b"], "s": "qm9"}


def test_unknown_notebook_name_lists_the_known_ones(tmp_path):
    (tmp_path / "01_a.ipynb").write_text("{}")
    with pytest.raises(UnknownNameError, match="01_a"):
        compendium._resolve("zz", compendium.list_notebooks(tmp_path))


def test_a_unique_prefix_selects_a_notebook(tmp_path):
    assert compendium._resolve("02", ["01_a", "02_b"]) == "02_b"


def test_report_without_run_summarises_last_runs_and_exits_nonzero_on_failure(toy, capsys):
    root, _ = toy
    code = main(["report", "--output", str(root / "figures")])
    out = capsys.readouterr().out
    assert code == 1 and "01_good" in out and "total" in out


def test_report_lists_the_repository_notebooks(capsys):
    assert main(["report", "--list"]) == 0
    assert "02_similarity_tree" in capsys.readouterr().out


CLAIM = """
from matteralign.analysis import claims
claims.record(claims.contrast_claim(claim=1, statistic="toy contrast", value=0.3 * value,
                                    interval=(0.1, 0.5), p_value=0.01, claimed_sign=1,
                                    n_samples=10, models=["x", "y"], dataset="toy",
                                    notebook="03_claim"), output_dir)
"""


def test_a_run_writes_the_claims_scoreboard_from_the_notebooks_records(tmp_path):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs, "03_claim", CLAIM)
    compendium.run_all(None, {"value": 1}, output_root=tmp_path / "figures", notebook_dir=nbs,
                       log=lambda s: None)
    row = next(line for line in (tmp_path / "figures" / "CLAIMS.md").read_text().splitlines()
               if line.startswith("| 1 |"))
    assert "**holds**" in row and "toy contrast = 0.300" in row


def test_a_failed_rerun_leaves_no_old_verdict_behind(tmp_path):
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    _notebook(nbs, "03_claim", CLAIM)
    compendium.run_all(None, {"value": 1}, output_root=tmp_path / "figures", notebook_dir=nbs,
                       log=lambda s: None)
    _notebook(nbs, "03_claim", "raise RuntimeError('planted')")
    compendium.run_all(None, {"value": 1}, output_root=tmp_path / "figures", notebook_dir=nbs,
                       log=lambda s: None)
    row = next(line for line in (tmp_path / "figures" / "CLAIMS.md").read_text().splitlines()
               if line.startswith("| 1 |"))
    assert "not run" in row


def test_report_output_that_is_a_file_fails_before_running(tmp_path, capsys):
    target = tmp_path / "figures"
    target.write_text("not a folder")
    assert main(["report", "--run", "--output", str(target)]) == 1
    assert "--output" in capsys.readouterr().err
