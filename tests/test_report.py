"""report.md is generated, never typed: it must be exactly what the template and the results files give."""
import re

import pytest

from conftest import PROJECT_DIR, load_script

render_report = load_script("notebooks/render_report.py")
TEMPLATE = render_report.TEMPLATE.read_text(encoding="utf-8")


def test_committed_report_matches_committed_results():
    """Regenerating from results/*.json reproduces report.md byte for byte, so the report cannot go stale."""
    results = render_report.load_results(PROJECT_DIR / "results")
    assert render_report.render(TEMPLATE, results) == (PROJECT_DIR / "report.md").read_text(encoding="utf-8")


def test_readme_headline_table_matches_the_results():
    results = render_report.load_results(PROJECT_DIR / "results")
    assert render_report.headline(results) in (PROJECT_DIR / "README.md").read_text(encoding="utf-8")


def test_template_types_no_numbers():
    """Outside {{ placeholders }}, the template's text has no digits except section numbers in headings."""
    literal = render_report.PLACEHOLDER.sub("", TEMPLATE)
    literal = re.sub(r"(?m)^#+ [\d.–]+ ", "", literal)          # "### 2.3 Hyperparameter sweep"
    literal = re.sub(r"notebooks/\S+|results/\S+|\d-core|\$1000s|F1", "", literal)   # files, machine, units
    assert re.findall(r"\d", literal) == []


def test_every_placeholder_names_its_failure():
    with pytest.raises(ValueError, match=r"cannot fill \{\{ r9\[.x.\] \}\}"):
        render_report.render("{{ r9['x'] }}", {})


def test_figures_referenced_by_the_report_exist():
    names = re.findall(r"figure\(\"([^\"]+)\"", TEMPLATE)
    assert names and all((PROJECT_DIR / "figures" / f"{name}.png").is_file() for name in names)
