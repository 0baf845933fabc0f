"""The report's prose: every number and comparison word computed by the notebooks over helpers' generic wording
(number, signed, interval, verdict), never typed; the committed report matches the committed results."""
import ast
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import helpers
from conftest import PROJECT_DIR

NOTEBOOKS = helpers.report_notebooks()
SUMMARIES = helpers.section_summaries(PROJECT_DIR / "results")


def report_cells(notebook_path):
    return [cell for cell in nbformat.read(notebook_path, as_version=4).cells
            if "notebook-only" not in cell.metadata.get("tags", [])]


def typed_digits(text):
    """Digits a writer typed: not in code spans, formulas, units, the machine or section headings."""
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\$1000s|\d-core|F1|L2", "", text)
    text = re.sub(r"\$[^$]+\$", "", text)
    text = re.sub(r"(?m)^#+ (A\.)?[\d.–]+ ", "", text)
    text = re.sub(r"(?i)(figures?|sections?|appendix)\s+(A\.)?[\d.–]+", "", text)   # names of parts, like headings
    text = re.sub(r"\bA\.\d+(\.\d+)*", "", text)                 # an appendix part named alone: (A.2.3)
    text = re.sub(r"95 %\s+(t-)?interval", "", text)                 # the confidence level the noise rule states
    text = re.sub(r"(et al\.|[A-Z][\w.]*,?)\s+(19|20)\d\d\b", "", text)   # citations' years (NeurIPS 2021)
    return re.findall(r"\d", text)


def is_show(node):
    """A call of helpers.show, as `helpers.show(...)` or, imported, as `show(...)`."""
    return isinstance(node, ast.Call) and (getattr(node.func, "attr", None) == "show"
                                           or getattr(node.func, "id", None) == "show")


def shown_literals(source):
    """The literal text of every f-string passed to helpers.show in a code cell."""
    literals = []
    for node in ast.walk(ast.parse(source)):
        if is_show(node):
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
def test_no_shown_sentence_reads_within_noise_as_equivalence(path):
    """An interval holding zero is 'within noise', never equality: no shown sentence, in any branch of its f-string,
    says two methods do 'equally well' or are 'equivalent' (notebook 04 once did for a tie it never printed)."""
    for cell in report_cells(path):
        texts = [cell.source] if cell.cell_type == "markdown" else [
            node.value for call in ast.walk(ast.parse(cell.source))
            if is_show(call)
            for argument in call.args for node in ast.walk(argument)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]
        for text in texts:
            assert not re.search(r"(?i)equally (well|good)|(?<!not )\bequivalen", text), (path.name, text[:200])


def within_words(source):
    """The words every verdict(...) call in a code cell prints when the interval holds zero: its fourth argument or
    `within`, as literal text."""
    words = []
    for call in ast.walk(ast.parse(source)):
        if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) == "verdict":
            within = call.args[3:4] + [keyword.value for keyword in call.keywords if keyword.arg == "within"]
            words += [node.value for argument in within for node in ast.walk(argument)
                      if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    return words


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_no_verdict_reads_an_interval_holding_zero_as_a_tie(path):
    """Wherever a verdict lands (a shown sentence, a headline cell, section 6's findings), its within-noise branch
    never claims equality: notebook 04's finding once said the autoencoder 'reconstructs as well as' PCA there."""
    for cell in report_cells(path):
        if cell.cell_type == "code":
            for words in within_words(cell.source):
                assert not re.search(r"(?i)as (well|good) as|equally|equivalen|the same as", words), (path.name, words)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebooks_import_nothing_from_the_notebooks_folder(path):
    sources = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    scripts = {script.stem for script in (PROJECT_DIR / "notebooks").glob("*.py")}
    imported = set(re.findall(r"(?m)^\s*(?:import|from) (\w+)", sources))
    assert imported.isdisjoint(scripts)


def test_the_committed_report_and_readme_carry_the_committed_results():
    """report.md and README's table are generated from the same run as results/*.json: every headline cell, every
    finding and every row against the original of the results files is in them."""
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    report = (PROJECT_DIR / "report.md").read_text(encoding="utf-8")
    assert SUMMARIES
    for _, summary in SUMMARIES:
        for row in summary.get("headline", []):
            # The row's comparison is data for section 6's multiplicity mark, not a cell.
            line = "| " + " | ".join(value for value in row.values() if isinstance(value, str)) + " |"
            assert line in readme and line in report, line
        assert summary["finding"] in report
        for row in summary.get("original", []):
            assert row["original"] in report and row["ours"] in report


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
    body = text.split("## 2 ", 1)[1].split("## Appendix", 1)[0]
    for section in re.split(r"(?m)^### ", body)[1:]:
        title, body = section.split("\n", 1)
        prose = [line for line in body.splitlines() if line and not line.startswith(("|", "!", "#", "<", "*Figure"))]
        words = len(re.sub(r"\$[^$]*\$", " ", " ".join(prose)).split())
        assert words >= 60, (title, words)


def test_no_sentence_of_twelve_words_or_more_is_said_twice():
    """A finding is stated once: no sentence of the report's prose of 12 words or more appears twice."""
    text = (PROJECT_DIR / "report.md").read_text(encoding="utf-8")
    prose = " ".join(line for line in text.splitlines() if line and not line.startswith(("|", "!", "#", "<")))
    sentences = [sentence.strip() for sentence in re.split(r"(?<=[.!?])\s+", prose) if len(sentence.split()) >= 12]
    repeated = {sentence for sentence in sentences if sentences.count(sentence) > 1}
    assert not repeated, repeated


# --- the generic wording: the noise rule, signs, intervals, numbers -----------------------------------------------
def comparison(difference, low, high, over="20 folds, corrected"):
    return {"difference": difference, "low": low, "high": high, "over": over}


ABOVE, BELOW, WITHIN = comparison(0.05, 0.01, 0.09), comparison(-0.05, -0.09, -0.01), comparison(0.02, -0.02, 0.06)


@pytest.mark.parametrize("case, word", [(ABOVE, "above"), (BELOW, "below"), (WITHIN, "within noise of")])
def test_the_noise_rule_says_above_or_below_only_when_the_interval_excludes_zero(case, word):
    assert helpers.verdict(case) == word
    assert helpers.verdict(case, "supports", "contradicts", "neither") == {
        "above": "supports", "below": "contradicts", "within noise of": "neither"}[word]


def test_intervals_give_the_difference_and_its_bounds_with_signs():
    assert helpers.interval(WITHIN, points=True) == "+2.0 points [−2.0, +6.0]"
    assert helpers.interval(comparison(0.0381, 0.0102, 0.0663)) == "+0.038 [+0.010, +0.066]"


@pytest.mark.parametrize("value, text", [(0.0004, "+0.0004"), (-0.00003, "−0.00003"), (0.0, "0"),
                                         (-5.0, "−5.000"), (0.038, "+0.038"), (-0.0000001, "−0.00000")])
def test_signed_keeps_its_decimals_and_never_rounds_a_difference_to_zero(value, text):
    assert helpers.signed(value) == text


@pytest.mark.parametrize("value, text", [(1143, "1\u2009143"), (3, "3"), (0.25, "0.250"), (-0.006, "−0.006"),
                                         (1.052e-06, "1.1e-06"), (-1e-9, "−1.0e-09"), (float("nan"), "—"),
                                         (-0.0000, "0.000")])
def test_one_number_formatter(value, text):
    assert helpers.number(value) == text


def test_comparison_rows_carry_the_verdict_column():
    rows = helpers.comparison_rows([{**ABOVE, "model": "MLP", "baseline": "forest"},
                                    {**WITHIN, "model": "MLP", "baseline": "lookup"}], points=True)
    assert rows == [{"model − baseline": "MLP − forest", "difference": "+5.0", "95 % interval": "[+1.0, +9.0]",
                     "verdict": "above"},
                    {"model − baseline": "MLP − lookup", "difference": "+2.0", "95 % interval": "[−2.0, +6.0]",
                     "verdict": "within noise"}]


def test_fold_comparison_widens_the_interval_as_nadeau_and_bengio_say():
    a, b = [0.62, 0.60, 0.65, 0.61, 0.63], [0.60, 0.59, 0.62, 0.60, 0.60]
    naive = helpers.paired_interval(np.subtract(a, b), "5 folds")
    corrected = helpers.fold_comparison(a, b, 400, 100)
    ratio = (corrected["high"] - corrected["low"]) / (naive["high"] - naive["low"])
    assert ratio == pytest.approx(np.sqrt((1 / 5 + 100 / 400) / (1 / 5)))


def test_the_seeds_interval_adds_the_spread_between_seeds():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 2, 400).astype(float)
    same = np.vstack([base, base, base])
    shifted = np.vstack([base, np.roll(base, 1), np.roll(base, 2)])
    one = helpers.seeds_and_rows_interval(same, np.zeros(400), "x")
    spread = helpers.seeds_and_rows_interval(shifted + np.array([[0.0], [0.1], [-0.1]]), np.zeros(400), "x")
    assert one["difference"] == pytest.approx(base.mean())
    assert spread["high"] - spread["low"] > one["high"] - one["low"]


def test_welch_interval_matches_scipy():
    a, b = np.array([1.0, 2.0, 4.0, 3.5, 2.2]), np.array([0.5, 0.7, 1.1, 0.2])
    ours = helpers.unpaired_interval(a, b, "x")
    test = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (ours["low"], ours["high"]) == pytest.approx((test.low, test.high))


def test_markdown_table_prints_whole_columns_as_integers_and_seconds_with_one_decimal():
    table = helpers.markdown_table([{"n": 3.0, "score": 0.51234, "fit seconds": 12.345},
                                    {"n": 4.0, "score": 0.5, "fit seconds": 1.0}])
    assert table.splitlines()[2:] == ["| 3 | 0.512 | 12.3 |", "| 4 | 0.500 | 1.0 |"]


def test_a_reversed_comparison_swaps_the_names_and_the_signs():
    comparison = {"model": "BCE", "baseline": "MSE", "difference": 0.008, "low": -0.015, "high": 0.031,
                  "verdict": "within noise"}
    reversed_ = helpers.reversed_comparison(comparison)
    assert (reversed_["model"], reversed_["baseline"]) == ("MSE", "BCE")
    assert (reversed_["difference"], reversed_["low"], reversed_["high"]) == (-0.008, -0.031, 0.015)
    assert helpers.reversed_comparison({**comparison, "low": 0.001, "verdict": "above"})["verdict"] == "below"


@pytest.mark.parametrize("theirs, place", [(0.60, "yes: inside"), (0.45, "yes: inside"), (0.76, "no: above"),
                                           (0.44, "no: below")])
def test_a_figure_of_the_original_is_reproduced_inside_the_prediction_interval_of_our_runs(theirs, place):
    ours = [0.55, 0.65, 0.6, 0.6]          # mean 0.6, sd 0.0408; t(0.975, 3) · sd · √(1 + 1/4) = 0.1452
    assert helpers.reproduced(theirs, ours, "4 splits", digits=2) == (
        f"{place} 0.45 to 0.75 (prediction interval, our 4 splits); original − our mean "
        f"{helpers.signed(theirs - np.mean(ours), digits=2)}")


def test_the_prediction_interval_is_cut_to_the_metrics_bounds():
    text = helpers.reproduced(0.99, [0.7, 0.9, 0.95, 0.99], "4 splits", bounds=(0, 1))
    assert "to 1.000 (prediction interval, our 4 splits)" in text


def test_tables_print_booleans_as_words():
    assert "| yes | no |" in helpers.markdown_table([{"a": True, "b": np.False_}])
