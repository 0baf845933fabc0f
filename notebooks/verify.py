"""Check that the committed results reproduce: re-run every notebook (reusing the committed sweep caches) into
build/verify/ and compare every number in its results/*.json with the committed file.

Numbers are compared by kind: timings (seconds, wall times) are skipped, since they depend on the machine and its
load; every other number must agree within the tolerance of its kind (TOLERANCES). Prints the largest differences
and exits non-zero if any number is past its tolerance, or a number is missing on either side.

Usage: python notebooks/verify.py [--no-run]     (--no-run compares an earlier build/verify/ run again)
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent
PROJECT_DIR = NOTEBOOK_DIR.parent
VERIFY_DIR = PROJECT_DIR / "build" / "verify"
TIMING = re.compile(r"seconds|wall_time|time_s\b|_s$|fit_time")
# kind -> (which numbers, absolute tolerance). Scores are fractions in [0, 1] or R² (one test wine is 0.009 of
# accuracy, so a single flipped prediction stays inside); losses and errors are relative to their size.
TOLERANCES = [
    ("count", lambda key, value: isinstance(value, int) and not isinstance(value, bool), 0),
    ("score", lambda key, value: True, 0.02),
]


def leaves(value, path=()):
    """(path, number) for every number in a JSON structure; strings and booleans are compared as they are."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, str(index)))
    else:
        yield path, value


def kind_of(path, value):
    for kind, matches, tolerance in TOLERANCES:
        if matches(path[-1] if path else "", value):
            return kind, tolerance
    raise AssertionError("no kind matched")


def compare(committed, rerun, name):
    """Rows (file, path, committed, re-run, difference, kind, tolerance, ok) for every number of one results file."""
    mine, theirs = dict(leaves(committed)), dict(leaves(rerun))
    rows = []
    for path in sorted(set(mine) | set(theirs)):
        label = "/".join(path)
        if TIMING.search(label):
            continue
        old, new = mine.get(path, "missing"), theirs.get(path, "missing")
        numeric = all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (old, new))
        if not numeric:
            rows.append((name, label, old, new, 0.0 if old == new else math.inf, "value", 0, old == new))
            continue
        kind, tolerance = kind_of(path, old)
        scale = 1.0 if abs(old) <= 1 else abs(old)       # losses and errors larger than 1: relative difference
        if old == new or (old != old and new != new):    # equal, or both NaN (no value for this row)
            difference = 0.0
        else:
            difference = abs(new - old) / scale if math.isfinite(old - new) else math.inf
        rows.append((name, label, old, new, difference, kind, tolerance, difference <= tolerance))
    return rows


def main(argv):
    if "--no-run" not in argv:
        shutil.rmtree(VERIFY_DIR, ignore_errors=True)
        shutil.copytree(PROJECT_DIR / "results" / "sweeps", VERIFY_DIR / "results" / "sweeps")
        environment = {**os.environ, "OUTPUT_DIR": str(VERIFY_DIR), "QUICK": "0", "FORCE_SWEEPS": "0"}
        subprocess.run([sys.executable, str(NOTEBOOK_DIR / "execute.py")], env=environment, check=True)
    rows = []
    for path in sorted((PROJECT_DIR / "results").glob("*.json")):
        rerun = VERIFY_DIR / "results" / path.name
        if not rerun.is_file():
            print(f"{rerun} is missing: the re-run did not write it.", file=sys.stderr)
            return 1
        rows += compare(json.loads(path.read_text()), json.loads(rerun.read_text()), path.stem)
    failures = [row for row in rows if not row[-1]]
    print(f"{len(rows)} numbers and values compared (timings skipped); {len(failures)} past their tolerance.")
    print("\n| file | number | committed | re-run | difference | kind (tolerance) |\n|---|---|---:|---:|---:|---|")
    for row in sorted(rows, key=lambda row: (row[-1], -row[4] if math.isfinite(row[4]) else -1e300))[:25]:
        file, label, old, new, difference, kind, tolerance, ok = row
        verdict = "" if ok else " **FAIL**"
        print(f"| {file} | {label} | {old} | {new} | {difference:.2e} | {kind} ({tolerance}){verdict} |")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
