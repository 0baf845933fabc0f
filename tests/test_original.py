"""Every figure and setting the report attributes to the original is printed on the line cited for it."""
import os
import re
from pathlib import Path

import pytest

import helpers
from conftest import PROJECT_DIR

CANDIDATES = [os.environ.get("ORIGINAL_REPORT", ""),
              PROJECT_DIR.parent / "shared" / "reference" / "original-report.md",
              Path("/work/shared/reference/original-report.md")]
REFERENCE = next((Path(path) for path in CANDIDATES if path and Path(path).is_file()), None)
FIGURES = [(group, name, value, line) for group, figures in helpers.ORIGINAL.items() if not group.startswith("_")
           for name, (value, line) in figures.items()]


def significant_digits(value):
    digits = re.sub(r"e.*$", "", repr(float(value))).replace("-", "").replace(".", "").lstrip("0")
    return max(1, len(digits.rstrip("0")) if "." in repr(float(value)) else len(digits))


def printed_on(value, line):
    """Does `line` print `value`: a string (any case), a list (every item), a number (to its significant digits)?"""
    if isinstance(value, list):
        return all(printed_on(item, line) for item in value)
    if isinstance(value, str):
        return value.lower() in line.lower()
    numbers = [float(text) for text in re.findall(r"\d+(?:\.\d+)?(?:e-?\d+)?", line)]
    digits = significant_digits(value)
    return any(float(f"{number:.{digits}g}") == float(f"{value:.{digits}g}") for number in numbers)


@pytest.mark.skipif(REFERENCE is None, reason="the original report (../shared/reference) is not on this machine")
@pytest.mark.parametrize("group, name, value, line", FIGURES, ids=[f"{g}.{n}" for g, n, _, _ in FIGURES])
def test_each_figure_of_the_original_is_on_its_line(group, name, value, line):
    text = REFERENCE.read_text(encoding="utf-8").splitlines()[line - 1]
    assert printed_on(value, text), f"{group}.{name} = {value!r} is not on line {line}: {text[:150]!r}"


def test_the_check_fails_for_a_wrong_line_or_value():
    assert printed_on(0.6619, "Accuracy: 0.661925601750547") and not printed_on(0.6621, "Accuracy: 0.661925601750547")
    assert printed_on(1.05e-6, "(biases): 1.052437534849658e-06") and not printed_on(1.05e-6, "2.13e-07")
    assert printed_on([20, 20], "hidden_layers=[20, 20], output_size") and not printed_on([32, 64], "[20, 20]")


def test_citations_name_the_lines():
    assert helpers.cite("wine_test_run", "early_stop_epoch", "test_accuracy") == "original l.72, 74"
    assert helpers.cite("wine_test_run", "hidden_layers", "learning_rate", "epochs") == "original l.67–69"
    assert helpers.original("wine_test_run", "early_stop_epoch") == 137
