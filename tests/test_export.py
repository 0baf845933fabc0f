"""notebooks/export.py: report.md assembled from executed notebooks, as the reader sees them."""
import os
import re

import nbformat
import pytest

from conftest import PROJECT_DIR, load_script

export = load_script("notebooks/export.py")


def executed(*cells):
    """A notebook whose code cells already hold outputs, as nbclient leaves them."""
    notebook = nbformat.v4.new_notebook()
    for kind, source, outputs, tags in cells:
        cell = (nbformat.v4.new_markdown_cell(source) if kind == "markdown" else
                nbformat.v4.new_code_cell(source, outputs=outputs))
        cell.metadata["tags"] = tags
        notebook.cells.append(cell)
    return notebook


def markdown_output(text, metadata=None):
    return nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": "<Markdown>"},
                                  metadata=metadata or {})


FIGURE = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Image>"},
                                metadata={"report_figure": {"path": "figures/x.png", "caption": "Figure X — a plot"}})
SUMMARY = executed(("markdown", "# Title\n\nIntro.", [], []),
                   ("code", "helpers.show(table)", [markdown_output("| a |\n|---|\n| 1 |")], ["headline"]),
                   ("markdown", "## 5 Against the original", [], []))
SECTION_TWO = executed(("markdown", "# 01 · notebook title", [], ["notebook-only"]),
                       ("code", "secret_code = 1\nprint('progress')",
                        [nbformat.v4.new_output("stream", text="progress")], []),
                       ("markdown", "## 2 Wine\n\n### 2.1 Data", [], []),
                       ("code", "helpers.show_figure('x', 'Figure X — a plot')",
                        [FIGURE, markdown_output("*Figure X*")], []),
                       ("markdown", "### 3.5 Diabetes (from another notebook)", [], []))
SECTION_THREE = executed(("markdown", "## 3 Housing\n\n### 3.1 Data", [], []),
                         ("markdown", "### 3.6 Hard houses", [], []))


def test_the_report_takes_markdown_and_shown_outputs_only_in_section_order():
    report = export.assemble([SUMMARY, SECTION_TWO, SECTION_THREE])
    headings = [line for line in report.splitlines() if line.startswith("#")]
    assert headings == ["# Title", "## 2 Wine", "### 2.1 Data", "## 3 Housing", "### 3.1 Data",
                        "### 3.5 Diabetes (from another notebook)", "### 3.6 Hard houses", "## 5 Against the original"]
    assert "![Figure X](figures/x.png)" in report and "| a |" in report
    for hidden in ("secret_code", "progress", "notebook title", "iVBOR", "<Markdown>", "```"):
        assert hidden not in report


def test_the_headline_is_the_tagged_cells_output():
    assert export.tagged_markdown([SECTION_TWO, SUMMARY], "headline") == "| a |\n|---|\n| 1 |"


def test_a_missing_stale_or_failed_executed_notebook_is_refused(tmp_path):
    source = tmp_path / "01_x.ipynb"
    source.write_text("{}")
    with pytest.raises(FileNotFoundError, match="missing or older than 01_x.ipynb or helpers.py: run `make notebooks`"):
        export.executed_notebooks(tmp_path, [source])
    failed = executed(("code", "1/0", [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="",
                                                                traceback=[])], []))
    (tmp_path / "notebooks").mkdir()
    nbformat.write(failed, tmp_path / "notebooks" / "01_x.ipynb")
    with pytest.raises(ValueError, match="holds an error: fix 01_x.ipynb"):
        export.executed_notebooks(tmp_path, [source])


def test_an_executed_notebook_older_than_the_engine_is_refused(tmp_path, monkeypatch):
    """A change to helpers.py (its wording, say) after the notebooks ran makes their copies stale."""
    source = tmp_path / "01_x.ipynb"
    source.write_text("{}")
    (tmp_path / "notebooks").mkdir()
    nbformat.write(executed(("markdown", "## 2 Wine", [], [])), tmp_path / "notebooks" / "01_x.ipynb")
    engine = tmp_path / "helpers.py"
    engine.write_text("")
    os.utime(source, (1, 1))
    os.utime(tmp_path / "notebooks" / "01_x.ipynb", (2, 2))
    os.utime(engine, (3, 3))
    monkeypatch.setattr(export.helpers, "__file__", str(engine))
    with pytest.raises(FileNotFoundError, match="older than 01_x.ipynb or helpers.py"):
        export.executed_notebooks(tmp_path, [source])
    os.utime(engine, (1, 1))
    assert len(export.executed_notebooks(tmp_path, [source])) == 1


def test_appendix_parts_go_last_after_a_page_break_and_unnumbered_parts_stay_in_place():
    notebook = executed(("markdown", "## 2 Wine\n\n#### a remark without a number", [], []),
                        ("markdown", "### A.2.3 Every row", [], []),
                        ("markdown", "### 2.1 Data", [], []))
    summary = executed(("markdown", "# Title", [], []), ("markdown", "## Appendix", [], []),
                       ("markdown", "## 3 Housing", [], []))
    headings = [line for line in export.assemble([summary, notebook]).splitlines() if line.startswith(("#", "<div"))]
    assert headings == ["# Title", "## 2 Wine", "#### a remark without a number", "### 2.1 Data", "## 3 Housing",
                        export.PAGE_BREAK, "## Appendix", "### A.2.3 Every row"]


def test_without_a_browser_the_report_and_html_are_written_and_the_pdf_is_explained(tmp_path, monkeypatch, capsys):
    """On a machine with no Chrome/Chromium: --pdf-if-possible (what `make report` runs) writes report.md and the
    HTML and succeeds with one line on how to get the PDF; --pdf (what `make pdf` runs) fails loudly."""
    (tmp_path / "build" / "notebooks").mkdir(parents=True)
    nbformat.write(SUMMARY, tmp_path / "build" / "notebooks" / "05_summary.ipynb")
    source = tmp_path / "05_summary.ipynb"
    source.write_text("{}")
    original = export.executed_notebooks
    monkeypatch.setattr(export, "executed_notebooks", lambda build_dir: original(build_dir, [source]))
    import os
    os.utime(tmp_path / "build" / "notebooks" / "05_summary.ipynb", (source.stat().st_mtime + 1,) * 2)
    monkeypatch.setenv("OUTPUT_DIR", str(tmp_path))                     # leaves README.md alone
    monkeypatch.setattr(export.helpers, "OUTPUT_DIR", tmp_path)
    monkeypatch.setattr(export, "find_browser", lambda: None)
    assert export.main(["--pdf-if-possible"]) == 0
    assert (tmp_path / "report.md").read_text().startswith("# Title") and (tmp_path / "report.html").is_file()
    assert "PDF skipped: no Chrome/Chromium found" in capsys.readouterr().out
    assert export.main(["--pdf"]) == 1
    assert "ERROR: no Chrome/Chromium found, so no PDF" in capsys.readouterr().err


def test_browsers_are_found_under_their_usual_names(monkeypatch, tmp_path):
    fake = tmp_path / "google-chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert export.find_browser() == str(fake)



def test_no_formula_of_the_report_is_taken_for_money():
    """The export reads '$' before a digit as money ($1000s), so a formula must not start with a digit: '$1/J$' and
    '$1 - a$' were printed raw in the PDF. Every '$' of report.md is money or begins a formula the export converts."""
    export = load_script("notebooks/export.py")
    report = (PROJECT_DIR / "report.md").read_text(encoding="utf-8")
    leftover = export.INLINE_MATH.sub("", report)
    assert not re.findall(r"\$(?!1000s)\d", leftover), \
        "a formula starts with a digit; write it as $\\frac{1}{J}$ or $(1 - a)$"
