"""Every numbered notebook executes top to bottom in quick mode; each renders the same structure as its part of the
committed report; and a section added as README says joins the report before its closing sections."""
import re
import shutil

import pytest
from nbclient.exceptions import CellExecutionError

import helpers
from conftest import PROJECT_DIR, load_script

execute, export = load_script("notebooks/execute.py"), load_script("notebooks/export.py")
new_section = load_script("notebooks/new_section.py")
NOTEBOOKS = execute.numbered_notebooks()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Execute every notebook once, in quick mode, into one folder (the summary reads the others' results).
    Returns (folder, {notebook name: executed notebook or the error})."""
    outputs = tmp_path_factory.mktemp("quick")
    executed = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUICK", "1")
        patch.setenv("WANDB_MODE", "disabled")
        patch.setenv("OUTPUT_DIR", str(outputs))
        for path in NOTEBOOKS:
            try:
                executed[path.name] = execute.execute_notebook(path, build_dir=outputs / "build")
            except CellExecutionError as error:
                executed[path.name] = error
    return outputs, executed


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_in_quick_mode(path, quick_run):
    outputs, executed = quick_run
    notebook = executed[path.name]
    if isinstance(notebook, CellExecutionError):
        pytest.fail(f"{path.name} failed in quick mode:\n{notebook}")
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    assert (outputs / "build" / "html" / path.with_suffix(".html").name).is_file()
    if not path.stem.endswith("_summary"):                         # the summary only reads results
        assert (outputs / "results" / f"{path.stem}.json").is_file()


def parts(markdown):
    """{heading: (tables, figures)} of a report or of one notebook's part of it. A top-level heading is keyed by its
    title alone: the summary numbers its closing sections after the last section, so an added section renumbers them
    without changing their shape."""
    found = {}
    for chunk in re.split(r"(?m)^(?=#{1,3} )", markdown):
        if chunk.startswith("#"):
            heading = re.sub(r"^## \d+ ", "## ", chunk.splitlines()[0])
            found[heading] = (chunk.count("\n|---|"), re.findall(r"!\[[^\]]*\]\(([^)]+)\)", chunk))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_each_notebooks_quick_output_has_the_shape_of_its_part_of_the_report(path, quick_run):
    """Like with like: a notebook's headings, tables and figures in quick mode are those of its part of the committed
    report. A notebook the committed report does not hold yet (a section just added) has nothing to match."""
    outputs, executed = quick_run
    quick = parts(export.notebook_markdown(executed[path.name]))
    committed = parts((PROJECT_DIR / "report.md").read_text(encoding="utf-8"))
    if not set(quick) & set(committed):
        pytest.skip(f"{path.name} is not in the committed report yet: `make report` adds it")
    assert {heading: committed.get(heading) for heading in quick} == quick
    assert all((outputs / figure).is_file() for _, figures in quick.values() for figure in figures)


def test_an_added_section_runs_in_quick_mode_and_lands_before_the_closing_sections(quick_run, tmp_path,
                                                                                  monkeypatch, capsys):
    """`make section` writes a new section from the template (a built-in data set, the MLP against a forest): it runs
    before the summary, executes in quick mode, the summary quotes its finding, and its heading comes before the
    summary's closing sections."""
    outputs, executed = quick_run
    shutil.copytree(outputs / "results", tmp_path / "results")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in NOTEBOOKS:
        (folder / path.name).write_bytes(path.read_bytes())
    file_number, number = new_section.next_section(folder)
    assert new_section.main(["added_check", "Added check"], folder) == 0
    added = folder / f"{file_number:02d}_added_check.ipynb"
    assert f"section {number}, 'Added check'" in capsys.readouterr().out
    summary_path = next(path for path in folder.glob("*_summary.ipynb"))
    order = [path.name for path in helpers.report_notebooks(folder)]
    assert order[-2:] == [added.name, summary_path.name]
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path))
    section = execute.execute_notebook(added, build_dir=tmp_path / "build")
    summary = execute.execute_notebook(summary_path, build_dir=tmp_path / "build")
    report = export.assemble([notebook for name, notebook in executed.items() if not name.endswith("_summary.ipynb")]
                             + [section, summary])
    headings = re.findall(r"(?m)^## .*$", report)
    assert headings.index(f"## {number} Added check") < headings.index(f"## {number + 1} Against the original report")
    assert headings.index(f"## {number + 2} Conclusions and limitations") < headings.index("## Appendix: full tables")
    conclusions = report.split(f"## {number + 2} Conclusions and limitations")[1]
    assert "Added check: the MLP is" in conclusions and "Added check: accuracy" in report.split("## 1 ")[0]


def test_a_section_name_in_use_is_refused(tmp_path, capsys):
    """`make section` twice with one NAME would write two notebooks of one name under two numbers: it refuses."""
    for path in NOTEBOOKS:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    assert new_section.main(["twice", "Twice"], tmp_path) == 0
    with pytest.raises(SystemExit):
        new_section.main(["twice", "Twice again"], tmp_path)
    assert "exists already" in capsys.readouterr().err
    assert len(list(tmp_path.glob("*_twice.ipynb"))) == 1
