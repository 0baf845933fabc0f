"""The report's prose: every number and comparison word computed (helpers' wording section), never typed."""
import ast
import copy
import re

import nbformat
import pytest

import helpers
from conftest import PROJECT_DIR

NOTEBOOKS = sorted((PROJECT_DIR / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RESULTS = {name: helpers.read_results(name, PROJECT_DIR / "results") for name in
           ("01_wine_mlp", "02_housing_regression", "03_mse_vs_bce", "04_autoencoder_knn")}
WINE, HOUSING, DIABETES, SPOTIFY = RESULTS.values()


def report_cells(notebook_path):
    return [cell for cell in nbformat.read(notebook_path, as_version=4).cells
            if "notebook-only" not in cell.metadata.get("tags", [])]


def typed_digits(text):
    """Digits a writer typed: not in code spans, formulas, units, the machine or section headings."""
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\$1000s|\d-core|F1", "", text)
    text = re.sub(r"\$[^$]+\$", "", text)
    text = re.sub(r"(?m)^#+ [\d.–]+ ", "", text)
    text = re.sub(r"Figure \d+\.\d+", "", text)                  # figure numbers name figures, like headings
    return re.findall(r"\d", text)


def shown_literals(source):
    """The literal text of every f-string passed to helpers.show in a code cell."""
    literals = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "show":
            for argument in node.args:
                if isinstance(argument, ast.JoinedStr):
                    literals += [part.value for part in argument.values if isinstance(part, ast.Constant)]
                elif isinstance(argument, ast.Constant):
                    literals.append(argument.value)
    return literals


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_report_prose_types_no_numbers(path):
    """Markdown cells and the literal parts of shown sentences hold no digit: numbers come from the results."""
    for cell in report_cells(path):
        texts = [cell.source] if cell.cell_type == "markdown" else shown_literals(cell.source)
        for text in texts:
            assert typed_digits(text) == [], (path.name, text[:200])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebooks_import_nothing_from_the_notebooks_folder(path):
    sources = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    scripts = {script.stem for script in (PROJECT_DIR / "notebooks").glob("*.py")}
    imported = set(re.findall(r"(?m)^\s*(?:import|from) (\w+)", sources))
    assert imported.isdisjoint(scripts)


def test_the_committed_report_and_readme_carry_the_committed_results():
    """report.md and README's table are generated from the same run as results/*.json."""
    headline = helpers.headline_table(WINE, HOUSING, DIABETES, SPOTIFY)
    assert headline in (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    report = (PROJECT_DIR / "report.md").read_text(encoding="utf-8")
    assert headline in report
    assert helpers.original_table(WINE, HOUSING, DIABETES, SPOTIFY) in report
    assert helpers.original_claims(WINE, HOUSING, DIABETES, SPOTIFY) in report


def test_figures_linked_by_the_report_exist():
    report = (PROJECT_DIR / "report.md").read_text(encoding="utf-8")
    figures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert figures and all((PROJECT_DIR / figure).is_file() for figure in figures)


def test_no_python_reprs_in_the_prose():
    """Configurations and counts are written as text: no dict/list reprs outside tables and code spans."""
    prose = [line for line in (PROJECT_DIR / "report.md").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("|")]
    for line in prose:
        assert not re.search(r"\{'|'\w+': |\{\"", re.sub(r"`[^`]*`", "", line)), line


def test_every_section_has_prose():
    """At least 60 words of prose (not tables, figures or headings) in every section 2.1–4.4 and the original's."""
    text = (PROJECT_DIR / "report.md").read_text(encoding="utf-8")
    for section in re.split(r"(?m)^### ", text.split("## 2 ", 1)[1])[1:]:
        title, body = section.split("\n", 1)
        prose = [line for line in body.splitlines() if line and not line.startswith(("|", "!", "#", "<", "*Figure"))]
        words = len(re.sub(r"\$[^$]*\$", " ", " ".join(prose)).split())
        assert words >= 60, (title, words)


# --- each wording function turns its verdict when the numbers turn -----------------------------------------------
VERDICTS = re.compile(r"\b(above|below|level with|fewer|more|half|twice|times|every|not above|supports|contradicts|"
                      r"higher|lower)\b")


def test_convergence_sentence_and_claim_follow_the_epochs():
    convergence = copy.deepcopy(DIABETES["convergence"])
    key = "epochs_to_99pct_of_best_val_accuracy"
    before = helpers.convergence_sentence(convergence), helpers.convergence_claim(convergence)
    convergence["mse"][key], convergence["binary_cross_entropy"][key] = (
        convergence["binary_cross_entropy"][key] + 1, convergence["mse"][key])
    after = helpers.convergence_sentence(convergence), helpers.convergence_claim(convergence)
    assert VERDICTS.findall(before[0]) != VERDICTS.findall(after[0])
    assert ("supports" in before[1]) != ("supports" in after[1])


def test_curve_sentence_follows_the_latent_curve():
    curve = copy.deepcopy(SPOTIFY["r2_vs_latent"])
    before = helpers.curve_sentence(curve)
    for row in curve:
        row["PCA"] = row["autoencoder"] + 0.01
    assert VERDICTS.findall(before) != VERDICTS.findall(helpers.curve_sentence(curve))


def test_forest_sentence_follows_the_means():
    summary = [{"model": "this MLP", "mean": 0.6, "std": 0.03}, {"model": "random forest", "mean": 0.7, "std": 0.04}]
    assert "is above the MLP's" in helpers.forest_sentence(summary)
    summary[1]["mean"] = 0.5
    assert "is below the MLP's" in helpers.forest_sentence(summary)


@pytest.mark.parametrize("ours, theirs, words", [(0.8, 0.7, "above"), (0.7, 0.8, "below"), (0.7, 0.7, "level with")])
def test_above_below(ours, theirs, words):
    assert helpers.above_below(ours, theirs) == words


@pytest.mark.parametrize("ours, theirs, words", [
    (54, 105, "about half as many as"), (105, 54, "about twice as many as"), (50, 50, "about as many as"),
    (10, 100, "about 1/10 as many as"), (30, 100, "about a third as many as")])
def test_ratio_words(ours, theirs, words):
    assert helpers.ratio_words(ours, theirs) == words


def test_markdown_table_prints_whole_columns_as_integers_and_seconds_with_one_decimal():
    table = helpers.markdown_table([{"n": 3.0, "score": 0.51234, "fit seconds": 12.345},
                                    {"n": 4.0, "score": 0.5, "fit seconds": 1.0}])
    assert table.splitlines()[2:] == ["| 3 | 0.512 | 12.3 |", "| 4 | 0.500 | 1.0 |"]
