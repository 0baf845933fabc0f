"""Every numbered notebook executes top to bottom in quick mode, and their results render the same report."""
import importlib.util
import re

import pytest

from conftest import PROJECT_DIR


def load(name):
    spec = importlib.util.spec_from_file_location(name, PROJECT_DIR / "notebooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute, render_report = load("execute"), load("render_report")
NOTEBOOKS = execute.numbered_notebooks()


@pytest.fixture(scope="module")
def quick_outputs(tmp_path_factory):
    """One folder for the figures and results of all quick-mode notebooks, so the report can be rendered."""
    return tmp_path_factory.mktemp("quick")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs_in_quick_mode(path, quick_outputs, monkeypatch):
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("OUTPUT_DIR", str(quick_outputs))
    notebook = execute.execute_notebook(path, build_dir=quick_outputs / "build")
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    assert (quick_outputs / "build" / "html" / path.with_suffix(".html").name).is_file()
    assert list((quick_outputs / "results").glob(f"{path.stem}.json"))


def structure(markdown):
    """Headings, table count and figure names: what must not change between quick and full mode."""
    return (re.findall(r"(?m)^#+ .*$", markdown), markdown.count("\n|---|"),
            re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown))


def test_quick_results_render_the_committed_reports_structure(quick_outputs):
    if len(list((quick_outputs / "results").glob("*.json"))) < len(render_report.RESULT_FILES):
        pytest.skip("needs every notebook's quick run (run the whole module)")
    quick = render_report.render(render_report.TEMPLATE.read_text(encoding="utf-8"),
                                 render_report.load_results(quick_outputs / "results"))
    assert structure(quick) == structure((PROJECT_DIR / "report.md").read_text(encoding="utf-8"))
    assert all((quick_outputs / figure).is_file() for figure in structure(quick)[2])
