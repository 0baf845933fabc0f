"""The report's prose: every number and comparison word computed (helpers' wording section), never typed."""
import ast
import copy
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy import stats

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
    text = re.sub(r"\$1000s|\d-core|F1|L2", "", text)
    text = re.sub(r"\$[^$]+\$", "", text)
    text = re.sub(r"(?m)^#+ (A\.)?[\d.–]+ ", "", text)
    text = re.sub(r"(?i)(figures?|sections?|appendix)\s+(A\.)?[\d.–]+", "", text)   # names of parts, like headings
    text = re.sub(r"95 % (t-)?interval", "", text)                 # the confidence level the noise rule states
    text = re.sub(r"(et al\.|and [A-Z]\w+)\s+(19|20)\d\d", "", text)   # citations' years (Frank and Hall 2001)
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
    body = text.split("## 2 ", 1)[1].split("## Appendix", 1)[0]
    for section in re.split(r"(?m)^### ", body)[1:]:
        title, body = section.split("\n", 1)
        prose = [line for line in body.splitlines() if line and not line.startswith(("|", "!", "#", "<", "*Figure"))]
        words = len(re.sub(r"\$[^$]*\$", " ", " ".join(prose)).split())
        assert words >= 60, (title, words)


# --- each wording function turns its verdict when the numbers turn -----------------------------------------------
VERDICTS = re.compile(r"\b(above|below|level with|fewer|more|half|twice|times|every|not above|supports|contradicts|"
                      r"higher|lower)\b")


def comparison(difference, low, high, over="115 test rows, 5 seeds"):
    return {"difference": difference, "low": low, "high": high, "over": over}


ABOVE, BELOW, WITHIN = comparison(0.05, 0.01, 0.09), comparison(-0.05, -0.09, -0.01), comparison(0.02, -0.02, 0.06)


@pytest.mark.parametrize("case, word", [(ABOVE, "above"), (BELOW, "below"), (WITHIN, helpers.WITHIN_NOISE)])
def test_the_noise_rule_says_above_or_below_only_when_the_interval_excludes_zero(case, word):
    assert helpers.verdict(case) == word


@pytest.mark.parametrize("case, word", [(ABOVE, "supports"), (BELOW, "contradicts"),
                                        (WITHIN, "neither supports nor contradicts")])
def test_claims_are_supported_or_contradicted_only_beyond_noise(case, word):
    assert helpers.support_word(case) == word


def test_interval_text_gives_the_difference_its_interval_and_what_was_paired():
    assert helpers.interval_text(WITHIN, as_points=True) == ("+2.0 points, 95 % interval −2.0 to +6.0; "
                                                           "115 test rows, 5 seeds")


def test_paired_test_comparison_averages_seeds_per_row_and_puts_a_t_interval_over_rows():
    y = np.array([0, 1, 0, 1, 1, 0])
    rows = [{"seed": seed, "model": model, "test_predictions": predictions}
            for seed, by_model in enumerate([{"a": [0, 1, 0, 1, 1, 1], "b": [0, 0, 0, 1, 0, 1]},
                                             {"a": [0, 1, 0, 1, 1, 0], "b": [1, 0, 0, 1, 0, 0]}])
            for model, predictions in by_model.items()]
    result = helpers.paired_test_comparison(pd.DataFrame(rows), "a", "b", y)
    per_row = np.array([0.5, 1.0, 0.0, 0.0, 1.0, 0.0])       # seed-averaged correctness of a minus b
    half_width = stats.t.ppf(0.975, 5) * per_row.std(ddof=1) / np.sqrt(6)
    assert result["difference"] == pytest.approx(per_row.mean())
    assert (result["low"], result["high"]) == pytest.approx((per_row.mean() - half_width, per_row.mean() + half_width))
    assert result["over"] == "6 test rows, 2 seeds"


def test_fold_comparison_widens_the_interval_as_nadeau_and_bengio_say():
    a, b = [0.62, 0.60, 0.65, 0.61, 0.63], [0.60, 0.59, 0.62, 0.60, 0.60]
    naive = helpers.paired_interval(np.subtract(a, b), "5 folds")
    corrected = helpers.fold_comparison(a, b, 4, 1)
    ratio = (corrected["high"] - corrected["low"]) / (naive["high"] - naive["low"])
    assert ratio == pytest.approx(np.sqrt((1 / 5 + 1 / 4) / (1 / 5)))


def test_decay_claim_follows_the_epochs_over_seeds():
    decay = {"fraction": 0.9, "binary_cross_entropy": {"epochs": [9, 10, 8]}, "mse": {"epochs": [30, 35, 33]},
             "comparison": comparison(24.0, 20.0, 28.0, "3 seeds")}
    assert "contradicts that claim" in helpers.convergence_claim(decay)
    decay["comparison"] = comparison(-24.0, -28.0, -20.0, "3 seeds")
    assert "supports that claim" in helpers.convergence_claim(decay)
    decay["comparison"] = comparison(4.0, -2.0, 10.0, "3 seeds")
    assert "neither supports nor contradicts that claim" in helpers.convergence_claim(decay)


def test_earlier_sentence_states_the_expected_direction_per_parameter():
    batches = {f"batch_size={size}": {"epoch_of_min_val_loss": epoch, "seeds": 3, "at_last_epoch": last}
               for size, epoch, last in ((8, 56, 0), (32, 160, 0), (128, 200, 3))}
    sentence = helpers.earlier_sentence(batches, "batch_size", larger_is_sooner=False)
    assert "expected later for a larger value, which holds" in sentence
    assert "128 reach it at the last epoch in every seed" in sentence
    assert "does not hold" in helpers.earlier_sentence(batches, "batch_size", larger_is_sooner=True)


def test_cv_choice_names_the_candidates_within_noise_and_the_rule():
    rows = [{"cv_acc_mean": 0.62, "cv_rank": 1, "validation_rank": 3, "within_noise": True, "selected": False},
            {"cv_acc_mean": 0.61, "cv_rank": 2, "validation_rank": 1, "within_noise": True, "selected": True},
            {"cv_acc_mean": 0.50, "cv_rank": 3, "validation_rank": 2, "within_noise": False, "selected": False}]
    sentence = helpers.cv_choice_sentence(rows, "acc")
    assert sentence.startswith("2 of the 3 candidates are within noise") and "ranked 2 by cross-validation" in sentence


def test_forest_sentence_follows_the_paired_interval():
    summary = [{"model": "this MLP", "mean": 0.6, "std": 0.03}, {"model": "random forest", "mean": 0.7, "std": 0.04}]
    assert "is above the MLP's" in helpers.forest_sentence(summary, {"random forest": BELOW})
    assert "is below the MLP's" in helpers.forest_sentence(summary, {"random forest": ABOVE})
    assert helpers.WITHIN_NOISE in helpers.forest_sentence(summary, {"random forest": WITHIN})


def test_curve_sentence_follows_the_latent_curve():
    curve = copy.deepcopy(SPOTIFY["r2_vs_latent"])
    before = helpers.curve_sentence(curve)
    for row in curve:
        row["PCA"] = row["autoencoder"] + 0.01
    assert VERDICTS.findall(before) != VERDICTS.findall(helpers.curve_sentence(curve))


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


def test_recipe_sentence_reports_the_recipes_test_comparison_with_its_verdict():
    table = [{"lever": "selected configuration", "verdict": "within noise"},
             {"lever": "log target", "verdict": "ahead"}, {"lever": "weight decay", "verdict": "within noise"}]
    stays = helpers.recipe_sentence({"table": table, "recipe": "selected configuration"}, "R²")
    assert stays == ("Ahead of the selected configuration beyond noise: log target; within noise of it: weight decay. "
                     "So the selected configuration stays")
    tested = helpers.recipe_sentence({"table": table, "recipe": "log target", "test": {
        "summary": [{"model": "log target", "mean": 0.8}, {"model": "random forest", "mean": 0.7}],
        "paired": {"random forest": {"difference": 0.1, "low": -0.02, "high": 0.22, "over": "102 test rows"}}}}, "R²")
    assert tested.endswith(f"there its R² is 0.800, {helpers.WITHIN_NOISE} the random forest (0.700; recipe minus the "
                           "random forest +0.100, 95 % interval −0.020 to +0.220; 102 test rows)")


def test_levers_conclusion_counts_the_verdicts_and_names_the_recipes():
    def levers(*rows, recipe="selected configuration"):
        table = [{"lever": "selected configuration", "verdict": "within noise"}]
        return {"tabular_levers": {"table": table + [{"lever": lever, "verdict": word} for lever, word in rows],
                                   "recipe": recipe}}
    diabetes = levers(("L2", "ahead"), ("cosine", "within noise"), ("step", "identical"))
    none_tested = helpers.levers_conclusion(levers(("a", "behind")), levers(("b", "within noise")), diabetes,
                                            levers(("c", "within noise")))
    assert none_tested == ("- Levers: of 6 levers and combinations cross-validated on the non-test rows, 1 is ahead "
                           "of the model they change beyond noise (L2 (diabetes)), 1 behind it (a (wine)), 3 within "
                           "noise and 1 identical to it on every fold; so no recipe went to the test rows, and the "
                           "selected models stand.")
    spotify = levers(("c", "ahead"), recipe="c")
    spotify["tabular_levers"]["test"] = {"summary": [{"model": "c", "mean": 0.34}, {"model": "forest", "mean": 0.317}],
                                         "paired": {"forest": comparison(0.024, 0.016, 0.032, "11400 test rows")}}
    tested = helpers.levers_conclusion(levers(("a", "behind")), levers(("b", "within noise")), diabetes, spotify)
    assert "2 are ahead of the model they change beyond noise (L2 (diabetes) and c (Spotify))" in tested
    assert tested.endswith("Spotify's recipe went to the test rows, where its accuracy is 0.340, above forest "
                           "(0.317; recipe minus forest +2.4 points, 95 % interval +1.6 to +3.2; 11400 test rows).")


def test_verdict_groups_name_the_reference_once_whichever_group_comes_first():
    assert helpers.recipe_sentence({"table": [{"lever": "selected configuration", "verdict": "within noise"},
                                              {"lever": "a", "verdict": "behind"},
                                              {"lever": "b", "verdict": "within noise"}],
                                    "recipe": "selected configuration"}) == (
        "Behind the selected configuration beyond noise: a; within noise of it: b. So the selected configuration "
        "stays")


def test_recipe_sentence_names_the_combination_once_and_the_baselines_as_a_reader_would():
    table = [{"lever": "selected configuration", "verdict": "within noise"}, {"lever": "a", "verdict": "ahead"},
             {"lever": "b", "verdict": "within noise"}, {"lever": "c", "verdict": "identical"},
             {"lever": "combination (a + b)", "verdict": "ahead"}]
    test = {"summary": [{"model": "combination (a + b)", "mean": 0.34}, {"model": helpers.ROWS.genre_forest,
                                                                         "mean": 0.317}],
            "paired": {helpers.ROWS.genre_forest: comparison(0.024, 0.016, 0.032, "11400 test rows")}}
    text = helpers.recipe_sentence({"table": table, "recipe": "combination (a + b)", "test": test})
    assert text == ("Ahead of the selected configuration beyond noise: a and their combination; within noise of it: "
                    "b; identical to it on every fold: c (the combination: the levers with a positive mean "
                    "difference, a + b). So the recipe is the combination, which goes to the test part once; there "
                    "its accuracy is 0.340, above the random forest (0.317; recipe minus the random forest +2.4 "
                    "points, 95 % interval +1.6 to +3.2; 11400 test rows)")
