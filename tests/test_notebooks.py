"""Every numbered notebook executes top to bottom in quick mode, and they assemble into a report of the same shape."""
import re

import pytest
from nbclient.exceptions import CellExecutionError

from conftest import PROJECT_DIR, load_script

execute, export = load_script("notebooks/execute.py"), load_script("notebooks/export.py")
NOTEBOOKS = execute.numbered_notebooks()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Execute every notebook once, in quick mode, into one folder (notebook 05 reads the others' results).
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
    if path.stem != "05_summary":                                   # the summary only reads results
        assert (outputs / "results" / f"{path.stem}.json").is_file()


def structure(markdown):
    """Headings, table count and figure names: what must not change between quick and full mode."""
    return (re.findall(r"(?m)^#+ .*$", markdown), markdown.count("\n|---|"),
            re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown))


def test_quick_results_render_the_committed_reports_structure(quick_run):
    outputs, _ = quick_run
    quick = export.assemble(export.executed_notebooks(outputs / "build"))
    assert structure(quick) == structure((PROJECT_DIR / "report.md").read_text(encoding="utf-8"))
    assert all((outputs / figure).is_file() for figure in structure(quick)[2])
