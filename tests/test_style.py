"""The code reads in a 120-column window: no line of the project's Python is longer."""
import pytest

from conftest import PROJECT_DIR

SOURCES = sorted(path for folder in ("", "notebooks", "tests", "benchmarks", "data")
                 for path in (PROJECT_DIR / folder).glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_no_line_is_longer_than_120_characters(path):
    long = [number for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if len(line) > 120]
    assert long == [], f"{path.name}: lines {long}"
