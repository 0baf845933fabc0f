"""report.md is generated, never typed: it must be exactly what the template and the results files give."""
import json
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
    literal = re.sub(r"`[^`]*`", "", literal)                      # code and file names are not results
    literal = re.sub(r"\$1000s|\d-core|F1", "", literal)           # units, the machine, a metric's name
    literal = re.sub(r"\$[^$]+\$", "", literal)                    # formulas
    literal = re.sub(r"(?m)^#+ [\d.–]+ ", "", literal)          # "### 2.3 Hyperparameter sweep"
    assert re.findall(r"\d", literal) == []


def test_every_placeholder_names_its_failure():
    with pytest.raises(ValueError, match=r"cannot fill \{\{ r9\[.x.\] \}\}"):
        render_report.render("{{ r9['x'] }}", {})


def test_figures_referenced_by_the_report_exist():
    names = re.findall(r"figure\(\"([^\"]+)\"", TEMPLATE)
    assert names and all((PROJECT_DIR / "figures" / f"{name}.png").is_file() for name in names)


def altered(results, change):
    """A deep copy of the results with `change(copy)` applied."""
    copy = json.loads(json.dumps(results))
    change(copy)
    return copy


def sentence_with(text, marker):
    return next(line for line in text.splitlines() if marker in line)


def test_prose_changes_its_verdict_when_the_results_change():
    """The report's comparison words come from the numbers: swap BCE's and MSE's epoch counts, make PCA beat the
    autoencoder, make the forest lose to the MLP, and the sentences must say the opposite, not just other numbers."""
    results = render_report.load_results(PROJECT_DIR / "results")

    def swap_epochs(copy):
        convergence = copy["r3"]["convergence"]
        key = "epochs_to_99pct_of_best_val_accuracy"
        convergence["mse"][key], convergence["binary_cross_entropy"][key] = (
            convergence["binary_cross_entropy"][key], convergence["mse"][key])

    def pca_wins(copy):
        for row in copy["r4"]["r2_vs_latent"]:
            row["PCA"] = row["autoencoder"] + 0.01
        find = render_report.find
        find(copy["r4"]["reduction"]["table"], method="PCA 9-d")["test R²"] = 0.999

    def forest_loses(copy):
        for row in copy["r1"]["over_seeds"]["summary"]:
            if row["model"] == "random forest":
                row["mean"] = 0.1

    original = render_report.render(TEMPLATE, results)
    for change, marker in [(swap_epochs, "reached its plateau"), (pca_wins, "Across latent sizes"),
                           (pca_wins, "The autoencoder's test R² is"), (forest_loses, "On the wine data")]:
        before = sentence_with(original, marker)
        after = sentence_with(render_report.render(TEMPLATE, altered(results, change)), marker)
        verdicts = re.compile(r"\b(above|below|level with|fewer|more|half|twice|times|every|not above|supports|"
                              r"contradicts|higher|lower)\b")
        assert verdicts.findall(before) != verdicts.findall(after), (before, after)


def test_swapped_convergence_flips_the_claim_check():
    results = render_report.load_results(PROJECT_DIR / "results")
    convergence = results["r3"]["convergence"]
    key = "epochs_to_99pct_of_best_val_accuracy"
    verdict = render_report.convergence_claim(convergence)
    convergence["mse"][key], convergence["binary_cross_entropy"][key] = (
        convergence["binary_cross_entropy"][key] + 1, convergence["mse"][key])
    flipped = render_report.convergence_claim(convergence)
    assert ("supports" in verdict) != ("supports" in flipped)


@pytest.mark.parametrize("ours, theirs, words", [(54, 105, "about half as many as"), (105, 54, "about twice as many as"),
                                                 (50, 50, "about as many as"), (10, 100, "about 1/10 as many as"),
                                                 (30, 100, "about a third as many as")])
def test_ratio_words(ours, theirs, words):
    assert render_report.ratio_words(ours, theirs) == words


def test_no_python_reprs_in_the_prose():
    """Configurations and counts are written as text: no dict/list reprs outside tables and code spans."""
    prose = [line for line in (PROJECT_DIR / "report.md").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("|")]
    for line in prose:
        without_code = re.sub(r"`[^`]*`", "", line)
        assert not re.search(r"\{'|'\w+': |\{\"", without_code), line


def test_every_section_has_prose():
    """At least 60 words of prose (not tables, figures or headings) in every section 2.1–4.4 and the original's."""
    text = (PROJECT_DIR / "report.md").read_text(encoding="utf-8")
    sections = re.split(r"(?m)^### ", text.split("## 2 ", 1)[1])[1:]
    for section in sections:
        title, body = section.split("\n", 1)
        prose = [line for line in body.splitlines() if line and not line.startswith(("|", "!", "#", "<"))]
        words = len(re.sub(r"\$[^$]*\$", " ", " ".join(prose)).split())
        assert words >= 60, (title, words)


def test_without_a_browser_the_report_and_html_are_written_and_the_pdf_is_explained(tmp_path, monkeypatch, capsys):
    """On a machine with no Chrome/Chromium (macOS without one, an account without root): --pdf-if-possible (what
    `make report` runs) writes report.md and the HTML and succeeds with one line on how to get the PDF; --pdf (what
    `make pdf` runs) fails loudly."""
    monkeypatch.setattr(render_report, "find_browser", lambda: None)
    monkeypatch.setattr(render_report.helpers, "RESULTS_DIR", PROJECT_DIR / "results")
    monkeypatch.setattr(render_report.helpers, "OUTPUT_DIR", tmp_path)
    monkeypatch.setattr(render_report.helpers, "QUICK", True)          # leaves README.md alone
    assert render_report.main(["--pdf-if-possible"]) == 0
    assert (tmp_path / "report.md").is_file() and (tmp_path / "report.html").is_file()
    assert "PDF skipped: no Chrome/Chromium found" in capsys.readouterr().out
    assert render_report.main(["--pdf"]) == 1
    assert "ERROR: no Chrome/Chromium found, so no PDF" in capsys.readouterr().err


def test_browsers_are_found_under_their_usual_names(monkeypatch, tmp_path):
    fake = tmp_path / "google-chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert render_report.find_browser() == str(fake)


def test_verify_compares_by_kind_and_skips_timings():
    verify = load_script("notebooks/verify.py")
    committed = {"accuracy": 0.62, "epochs_run": 40, "train seconds": 70.0, "missing": float("nan"), "name": "relu",
                 "rows": [{"mse": 12.0}]}
    close = {"accuracy": 0.63, "epochs_run": 40, "train seconds": 90.0, "missing": float("nan"), "name": "relu",
             "rows": [{"mse": 12.1}]}
    assert all(row[-1] for row in verify.compare(committed, close, "r"))
    assert not any("seconds" in row[1] for row in verify.compare(committed, close, "r"))
    far = {**close, "accuracy": 0.70, "epochs_run": 41, "name": "tanh", "rows": [{"mse": 15.0}]}
    failed = {row[1] for row in verify.compare(committed, far, "r") if not row[-1]}
    assert failed == {"accuracy", "epochs_run", "name", "rows/0/mse"}
