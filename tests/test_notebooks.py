"""Every numbered notebook executes top to bottom in quick mode."""
import importlib.util

import pytest

from conftest import PROJECT_DIR

spec = importlib.util.spec_from_file_location("execute", PROJECT_DIR / "notebooks" / "execute.py")
execute = importlib.util.module_from_spec(spec)
spec.loader.exec_module(execute)


@pytest.mark.parametrize("path", execute.numbered_notebooks(), ids=lambda path: path.name)
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.setenv("WANDB_MODE", "disabled")
    notebook = execute.execute_notebook(path, build_dir=tmp_path)
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    assert (tmp_path / "html" / path.with_suffix(".html").name).is_file()
