"""Check that the committed results reproduce: re-run every notebook (reusing the committed sweep caches) into
build/verify/ and compare every value in its results/*.json with the committed file.

A seed fixes every split, initialisation and shuffle, so on one machine a re-run repeats bit for bit; on another,
multithreaded BLAS may sum in another order, which moves losses in their last digits, can flip a prediction that
sits on a decision boundary, and can move the epoch at which early stopping finds its minimum. Numbers are
therefore compared by kind, recognised from their key and where they sit:

  timing  seconds and wall times: skipped (they measure the machine and its load).
  exact   what must not vary across machines: shapes, row and class counts of the data, folds, seeds, the grids
          and configuration values (hidden_layers, learning_rate, the epochs and patience of a configuration, …),
          data values, and every string and boolean.
  epoch   early-stopping epochs (epochs_run, best_epoch, n_epochs, epoch_of_min_val_loss, epochs_of_min_per_seed,
          the epochs a result reports): within max(3, 10 % of the committed value). Early stopping keeps the
          epoch where the validation loss is lowest; where that curve is flat, neighbouring epochs differ by less
          than a changed rounding grows to over training, so the minimum can move a few epochs (more for late
          minima of long runs), and epochs_run, the minimum plus the patience, moves with it.
  count   counts derived from predictions (confusion counts, supports of predicted classes): within max(3, 10 %).
          One flipped prediction moves a count by one; the score tolerance allows 2 of 115 test wines and 228 of
          11 400 test tracks to flip, which spread over the cells of a confusion matrix are a few per cell.
  score   scores, losses, errors, statistics, and every number not recognised above: within 0.02, relative to
          the committed value where it is above 1 (one test wine of 115 is 0.009 of accuracy).

Verdicts, selections and rankings are what the report's words say, so they are compared as such:
  - every comparison (a dict with `difference`, `low`, `high`: a paired difference and its 95 % interval) has
    the verdict "above" (low > 0), "below" (high < 0) or "within noise"; every `verdict` string and every
    `within_noise` flag is a verdict too. A changed verdict fails.
  - `selected`, `use_ensemble`, `kept`, `recipe`, a comparison's `best`/`runner_up`, and `best_config` /
    `best_by_validation` are selections. A changed selection fails.
  - rankings: a list of records in the order of a measured number (most_confused_pairs, a sweep's top20, any
    list of records sorted by a score, count or epoch) and every `*rank*` field. Records are matched by what
    identifies them (their strings and configuration values), not by position. A changed order is named; it
    fails only when the swapped records' numbers differ by more than that number's tolerance (a swap of near
    ties is legitimate variation and is named as a note). A record entering or leaving a top list likewise
    fails only when it was not within tolerance of the list's cut-off.

Prints a summary line, every changed verdict, selection and ranking by name, then the largest differences;
exits 0 when everything is within tolerance and no verdict, selection or ranking changed, 1 otherwise.

Usage: python notebooks/verify.py [--no-run] [--committed DIR] [--rerun DIR]
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
from itertools import combinations
from pathlib import Path
from typing import NamedTuple

NOTEBOOK_DIR = Path(__file__).resolve().parent
PROJECT_DIR = NOTEBOOK_DIR.parent
VERIFY_DIR = PROJECT_DIR / "build" / "verify"
MISSING = "missing"

# --- kinds of numbers ----------------------------------------------------------------------------------------
TIMING = re.compile(r"seconds|wall_time|time_s\b|_s$|fit_time")
SCORE_TOLERANCE = 0.02                      # absolute up to 1, relative above
COUNT_TOLERANCE = (3, 0.10)                 # max(±3, 10 % of the committed value)
CONFIG_KEYS = {"hidden_layers", "learning_rate", "activation", "optimizer", "batch_size", "patience"}
EXACT_KEYS = CONFIG_KEYS | {
    "seed", "seeds", "folds", "members", "k", "tol", "cap", "fraction", "metric", "dtype", "latent_activation",
    "encoder_layers", "encoder width", "latent size", "grid_points", "runs", "trainings", "finished", "labels",
    "genres", "test_rows", "rows", "wines", "groups", "rows_in_groups", "test_with_twin", "at_cap", "layer",
    "missing_values", "distinct_track_ids", "test_rows_whose_track_is_in_train", "support", "train support",
    "tracks_per_genre", "quality_counts", "shape", "quick"}
EXACT_CONTAINER = re.compile(r"(^|_)config$|^grid$|^training$|shapes?$|^zeros$|^missing$|^status$")
DESCRIBE = re.compile(r"describe")          # pandas describe(): its `count` is the data's row count
EPOCH = re.compile(r"epoch")
COUNT = re.compile(r"^count$|confus|predicted.*support|support.*predicted")
DATA_COLUMN = re.compile(r"^[A-Z][A-Z0-9_]*$|^true ")   # data values in a record (MEDV, RM, true MEDV ($1000s))

# --- verdicts, selections, rankings --------------------------------------------------------------------------
VERDICT_KEYS = {"verdict", "within_noise"}
SELECTION_KEYS = {"selected", "use_ensemble", "kept", "recipe", "best_config", "best_by_validation"}
COMPARISON_SELECTIONS = {"best", "runner_up"}       # selections when they sit beside a comparison's difference
COMPARISON = ("difference", "low", "high")
LABEL_KEYS = ("lever", "model", "label", "features", "method", "class", "quality", "parameter", "claim", "column",
              "feature", "split", "task")
SHOWN_PER_RANKING = 5


class Row(NamedTuple):
    """One compared number or value."""
    file: str
    label: str
    old: object
    new: object
    difference: float
    kind: str
    tolerance: float
    ok: bool


class Finding(NamedTuple):
    """A changed verdict, selection or ranking (ok: a legitimate variation, reported as a note)."""
    file: str
    what: str           # "verdict", "selection", "ranking"
    where: str
    change: str
    ok: bool

    def line(self):
        if self.what == "ranking":
            return f"{'ranking changed' if not self.ok else 'note, near tie'}: {self.file} / {self.where}: " \
                   f"{self.change}"
        return f"{self.what} changed: {self.file} / {self.where}: {self.change}"


class Outcome(NamedTuple):
    rows: list
    findings: list
    decisions: int      # verdicts and selections compared
    rankings: int       # orderings compared


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def last_key(keys):
    """The dict key a value sits under (list positions skipped), and the dict keys above it."""
    names = [key for key in keys if isinstance(key, str)]
    return (names[-1] if names else ""), names[:-1]


def kind_of(keys, siblings=()):
    """exact | epoch | count | score | timing for the number at `keys` (dict keys and list positions), whose dict
    holds `siblings`. Strings and booleans are always exact."""
    key, above = last_key(keys)
    in_record = len(keys) >= 2 and isinstance(keys[-2], int) and isinstance(keys[-1], str)
    if TIMING.search("/".join(map(str, keys))):
        return "timing"
    if any(EXACT_CONTAINER.search(name) for name in above):
        return "exact"
    if key == "count" and any(DESCRIBE.search(name) for name in above):
        return "exact"
    if key == "epochs":                     # a configuration's epochs, or the epochs a training ran
        return "exact" if CONFIG_KEYS & set(siblings) else "epoch"
    if EPOCH.search(key):
        return "epoch"
    if key in EXACT_KEYS or key.endswith("_shape") or (key == "value" and "parameter" in siblings):
        return "exact"
    if COUNT.search(key):
        return "count"
    if in_record and DATA_COLUMN.search(key):
        return "exact"
    return "score"


def tolerance_of(kind, old):
    if kind == "exact":
        return 0.0
    if kind in ("epoch", "count"):
        return max(COUNT_TOLERANCE[0], COUNT_TOLERANCE[1] * abs(old))
    return SCORE_TOLERANCE


def difference_of(kind, old, new):
    """The difference compared with the tolerance: relative above 1 for scores, absolute otherwise."""
    if old == new or (old != old and new != new):            # equal, or both NaN (no value for this row)
        return 0.0
    if not math.isfinite(old - new):
        return math.inf
    scale = 1.0 if kind != "score" or abs(old) <= 1 else abs(old)
    return abs(new - old) / scale


def role_of(key, siblings):
    """verdict | selection | rank | None for a dict entry."""
    if key in VERDICT_KEYS:
        return "verdict"
    if key in SELECTION_KEYS or (key in COMPARISON_SELECTIONS and "difference" in siblings):
        return "selection"
    if "rank" in key:
        return "rank"
    return None


def comparison_verdict(comparison):
    low, high = comparison["low"], comparison["high"]
    return "above" if low > 0 else "below" if high < 0 else "within noise"


def is_comparison(value):
    return isinstance(value, dict) and all(is_number(value.get(key)) for key in COMPARISON)


def compact(value, width=60):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[:width - 1] + "…"


def shown(value):
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return compact(value)


# --- records and rankings ------------------------------------------------------------------------------------
def identity(record, keys):
    """What identifies a record of a list: its exact fields (strings, configuration and data values), without
    its verdicts, selections and ranks."""
    fields = []
    for key, value in record.items():
        if role_of(key, record) is not None:
            continue
        if isinstance(value, (str, bool)) or kind_of((*keys, 0, key), record) == "exact":
            fields.append((key, json.dumps(value, sort_keys=True)))
    return tuple(fields)


def record_label(record, ident):
    """A short human name for a record: its name field, 'true → predicted', or its identifying values."""
    for key in LABEL_KEYS:
        if isinstance(record.get(key), str):
            return compact(record[key])
    if isinstance(record.get("true"), str) and isinstance(record.get("predicted"), str):
        return f"{record['true']} → {record['predicted']}"
    values = [json.loads(value) for _, value in ident]
    return compact(", ".join(value if isinstance(value, str) else json.dumps(value) for value in values))


def matched_records(old, new, keys):
    """{identity: (committed position, committed record, re-run position, re-run record)} when both lists are
    records with unique, non-empty identities; None otherwise (then they are compared by position)."""
    if not (old and new and all(isinstance(item, dict) for item in old + new)):
        return None
    old_ids = [identity(record, keys) for record in old]
    new_ids = [identity(record, keys) for record in new]
    if not all(old_ids) or len(set(old_ids)) < len(old_ids) or len(set(new_ids)) < len(new_ids):
        return None
    new_at = {ident: position for position, ident in enumerate(new_ids)}
    matched = {ident: (position, old[position], new_at.get(ident), new[new_at[ident]] if ident in new_at else None)
               for position, ident in enumerate(old_ids)}
    for position, ident in enumerate(new_ids):
        if ident not in matched:
            matched[ident] = (None, None, position, new[position])
    return matched


def monotone(values):
    """True when the values never rise or never fall, and are not all equal."""
    steps = [b - a for a, b in zip(values, values[1:])]
    return len(set(values)) > 1 and (all(step >= 0 for step in steps) or all(step <= 0 for step in steps))


def measured_fields(records, keys):
    """Fields every record holds as a number that may vary across machines (score, count, epoch), in order."""
    first = records[0]
    return [key for key in first if role_of(key, first) is None and all(is_number(r.get(key)) for r in records)
            and kind_of((*keys, 0, key), first) in ("score", "count", "epoch")]


def orderings(records, keys):
    """The rankings a list of records shows: [(rank field or None for the list's order, measured field or None,
    whether it is the list's own order)].
    A `*rank*` field is a ranking; so is the list's own order when a measured field is sorted along it (at least
    three records, and not a table in the order of a configuration value such as latent size)."""
    found = []
    measured = measured_fields(records, keys)
    ranks = [key for key in records[0] if "rank" in key and all(is_number(r.get(key)) for r in records)]
    list_order_taken = False
    for rank in ranks:
        by_rank = sorted(records, key=lambda record: record[rank])
        field = next((key for key in measured if monotone([record[key] for record in by_rank])), None)
        follows_list = [record[rank] for record in records] == sorted(record[rank] for record in records)
        list_order_taken |= follows_list
        found.append((rank, field, follows_list))
    if not list_order_taken and len(records) >= 3:
        field = next((key for key in measured if monotone([record[key] for record in records])), None)
        configuration = [key for key in records[0] if key not in measured and role_of(key, records[0]) is None
                         and all(is_number(r.get(key)) for r in records) and monotone([r[key] for r in records])]
        if field is not None and not configuration:
            found.append((None, field, True))
    return found


def ranking_findings(name, where, matched, old, new, keys, ordering):
    """Findings for one ranking of a matched list: swapped pairs, and records entering or leaving a top list."""
    rank, field, list_order = ordering
    by = f" by {field}" if field else ""
    where = f"{where} ({'order' if rank is None else rank}{by})"
    common = [value for value in matched.values() if value[1] is not None and value[3] is not None]
    position = (lambda at, record: record[rank]) if rank else (lambda at, record: at)
    swaps = []                                  # (ok, gap, finding)
    for a, b in combinations(common, 2):
        first, second = (a, b) if position(a[0], a[1]) < position(b[0], b[1]) else (b, a)
        if position(first[0], first[1]) == position(second[0], second[1]):
            continue
        if not position(second[2], second[3]) < position(first[2], first[3]):
            continue
        label_first = record_label(first[1], identity(first[1], keys))
        label_second = record_label(second[1], identity(second[1], keys))
        if field is None:
            swaps.append((False, math.inf, Finding(name, "ranking", where, f"{label_second} now before {label_first}",
                                                   False)))
            continue
        gap = max(abs(first[1][field] - second[1][field]), abs(first[3][field] - second[3][field]))
        kind = kind_of((*keys, 0, field), first[1])
        tolerance = max(tolerance_of(kind, first[1][field]), tolerance_of(kind, second[1][field]))
        change = f"{label_second} ({shown(second[3][field])}) now before {label_first} ({shown(first[3][field])})"
        if (second[1][field], first[1][field]) != (second[3][field], first[3][field]):
            change += f", committed {shown(second[1][field])} and {shown(first[1][field])}"
        if gap > tolerance:
            change += f": a gap beyond the tolerance {shown(tolerance)}"
        swaps.append((gap <= tolerance, gap, Finding(name, "ranking", where, change, gap <= tolerance)))
    findings = [finding for *_, finding in sorted(swaps, key=lambda swap: (swap[0], -swap[1]))]
    if list_order and field is not None:          # a top list: entering or leaving is judged at its cut-off
        old_cut, new_cut = old[-1][field], new[-1][field]
        kind = kind_of((*keys, 0, field), old[-1])
        for ident, (old_at, old_record, new_at, new_record) in matched.items():
            if old_record is None or new_record is None:
                if new_record is None:
                    record, cut, verb = old_record, new_cut, "left"
                else:
                    record, cut, verb = new_record, old_cut, "entered"
                tolerance = tolerance_of(kind, record[field])
                ok = abs(record[field] - cut) <= tolerance
                change = (f"{record_label(record, ident)} ({shown(record[field])}) {verb} the list, whose other end "
                          f"is {shown(cut)}" + ("" if ok else f": beyond the tolerance {shown(tolerance)}"))
                findings.append(Finding(name, "ranking", where, change, ok))
    elif list_order:
        for ident, (old_at, old_record, new_at, new_record) in matched.items():
            if old_record is None or new_record is None:
                verb = "left" if new_record is None else "entered"
                findings.append(Finding(name, "ranking", where,
                                        f"{record_label(old_record or new_record, ident)} {verb} the list", False))
    return findings


# --- the comparison ------------------------------------------------------------------------------------------
class Comparer:
    """Walks a committed and a re-run results structure together."""

    def __init__(self, name):
        self.name, self.rows, self.findings, self.decisions, self.rankings = name, [], [], 0, 0

    def decision(self, what, where, old, new):
        self.decisions += 1
        if old != new:
            self.findings.append(Finding(self.name, what, where, f"{shown(old)} → {shown(new)}", False))

    def walk(self, old, new, keys=(), where="", siblings=(), ranked_fields=frozenset()):
        if isinstance(old, dict) and isinstance(new, dict):
            if is_comparison(old) and is_comparison(new):
                self.decision("verdict", where, comparison_verdict(old), comparison_verdict(new))
            for key in list(old) + [key for key in new if key not in old]:
                place = f"{where}/{key}" if where else str(key)
                role = role_of(key, old if key in old else new)
                if role == "rank" and key in ranked_fields:     # compared as a ranking of the list holding it
                    continue
                if role is not None:
                    self.decision("ranking" if role == "rank" else role, where if key == "verdict" else place,
                                  old.get(key, MISSING), new.get(key, MISSING))
                    continue
                self.walk(old.get(key, MISSING), new.get(key, MISSING), (*keys, key), place,
                          old if key in old else new)
        elif isinstance(old, list) and isinstance(new, list):
            matched = matched_records(old, new, keys)
            if matched is None:
                for position in range(max(len(old), len(new))):
                    self.walk(old[position] if position < len(old) else MISSING,
                              new[position] if position < len(new) else MISSING,
                              (*keys, position), f"{where}/{position}", siblings)
                return
            found = orderings(old, keys)
            ranked = any(list_order for *_, list_order in found)
            ranked_fields = frozenset(rank for rank, *_ in found if rank is not None)
            for ordering in found:
                self.rankings += 1
                self.findings += ranking_findings(self.name, where, matched, old, new, keys, ordering)
            for ident, (old_at, old_record, new_at, new_record) in matched.items():
                if (old_record is None or new_record is None) and ranked:
                    continue                            # judged against the list's cut-off above
                at = old_at if old_at is not None else new_at
                label = record_label(old_record or new_record, ident)
                self.walk(old_record if old_record is not None else MISSING,
                          new_record if new_record is not None else MISSING,
                          (*keys, at), f"{where}/{at} ({label})" if label else f"{where}/{at}", siblings,
                          ranked_fields)
        else:
            self.leaf(old, new, keys, where, siblings)

    def leaf(self, old, new, keys, where, siblings):
        if TIMING.search("/".join(map(str, keys))):
            return
        if isinstance(old, (dict, list)) or isinstance(new, (dict, list)):      # one side has a structure
            old, new = (compact(value) if isinstance(value, (dict, list)) else value for value in (old, new))
        if not (is_number(old) and is_number(new)):
            same = old == new
            self.rows.append(Row(self.name, where, old, new, 0.0 if same else math.inf, "exact", 0.0, same))
            return
        kind = kind_of(keys, siblings)
        tolerance, difference = tolerance_of(kind, old), difference_of(kind, old, new)
        self.rows.append(Row(self.name, where, old, new, difference, kind, tolerance, difference <= tolerance))


def check(committed, rerun, name):
    """Compare one results file with its re-run: Outcome(rows, findings, decisions, rankings)."""
    comparer = Comparer(name)
    comparer.walk(committed, rerun)
    return Outcome(comparer.rows, comparer.findings, comparer.decisions, comparer.rankings)


def compare(committed, rerun, name):
    """Rows (file, label, committed, re-run, difference, kind, tolerance, ok) for every number of one file."""
    return check(committed, rerun, name).rows


# --- report --------------------------------------------------------------------------------------------------
def share_of_tolerance(row):
    if row.difference == 0:
        return 0.0
    return math.inf if row.tolerance == 0 else row.difference / row.tolerance


def report(outcomes, missing_files=()):
    """The text to print and the exit code."""
    rows = [row for outcome in outcomes for row in outcome.rows]
    findings = [finding for outcome in outcomes for finding in outcome.findings]
    failed_rows = [row for row in rows if not row.ok]
    changed = [finding for finding in findings if finding.what != "ranking"]
    broken = [finding for finding in findings if finding.what == "ranking" and not finding.ok]
    notes = [finding for finding in findings if finding.what == "ranking" and finding.ok]
    decisions = sum(outcome.decisions for outcome in outcomes)
    rankings = sum(outcome.rankings for outcome in outcomes)
    ok = not (failed_rows or changed or broken or missing_files)
    problems = [f"{len(missing_files)} results file(s) missing"] * bool(missing_files) + \
        [f"{len(changed)} verdict(s) or selection(s) changed"] * bool(changed) + \
        [f"{len(broken)} ranking change(s) beyond tolerance"] * bool(broken) + \
        [f"{len(failed_rows)} number(s) past their tolerance"] * bool(failed_rows)
    lines = [f"verify: {'OK' if ok else 'FAIL'}: " + ("; ".join(problems) if problems else
                                                     "every number within its tolerance, no verdict, selection or "
                                                     "ranking changed")
             + f" ({len(rows)} numbers and values, {decisions} verdicts and selections, {rankings} rankings compared;"
             f" timings skipped" + (f"; {len(notes)} near-tie swap(s) noted" if notes else "") + ")."]
    lines += [f"missing: {path} (the re-run did not write it)" for path in missing_files]
    if changed:
        lines += ["", "Changed verdicts and selections:"] + [f"  {finding.line()}" for finding in changed]
    if broken or notes:
        lines += ["", "Changed rankings:"]
        for group in (broken, notes):
            by_place = {}
            for finding in group:
                by_place.setdefault((finding.file, finding.where), []).append(finding)
            for place_findings in by_place.values():
                lines += [f"  {finding.line()}" for finding in place_findings[:SHOWN_PER_RANKING]]
                if len(place_findings) > SHOWN_PER_RANKING:
                    lines.append(f"  … and {len(place_findings) - SHOWN_PER_RANKING} more in "
                                 f"{place_findings[0].file} / {place_findings[0].where}")
    differing = sorted((row for row in rows if row.difference > 0),
                       key=lambda row: (row.ok, -share_of_tolerance(row), -row.difference))
    if differing:
        lines += ["", f"Largest differences ({len(differing)} of {len(rows)} differ; tolerances per kind in "
                      "notebooks/verify.py):",
                  "", "| file | number | committed | re-run | difference | kind (tolerance) |",
                  "|---|---|---:|---:|---:|---|"]
        for row in differing[:25]:
            lines.append(f"| {row.file} | {row.label} | {shown(row.old)} | {shown(row.new)} | {row.difference:.2e} | "
                         f"{row.kind} ({shown(row.tolerance)}){'' if row.ok else ' **FAIL**'} |")
    elif rows:
        lines += ["", "Every number is identical to the committed one."]
    return "\n".join(lines), 0 if ok else 1


def compare_folders(committed_dir, rerun_dir):
    outcomes, missing = [], []
    for path in sorted(Path(committed_dir).glob("*.json")):
        rerun = Path(rerun_dir) / path.name
        if not rerun.is_file():
            missing.append(rerun)
            continue
        outcomes.append(check(json.loads(path.read_text(encoding="utf-8")),
                              json.loads(rerun.read_text(encoding="utf-8")), path.stem))
    return outcomes, missing


def rerun_notebooks():
    """Execute every notebook into build/verify/ with the committed sweep journals; the runner's exit code."""
    shutil.rmtree(VERIFY_DIR, ignore_errors=True)
    shutil.copytree(PROJECT_DIR / "results" / "sweeps", VERIFY_DIR / "results" / "sweeps")
    environment = {**os.environ, "OUTPUT_DIR": str(VERIFY_DIR), "QUICK": "0", "FORCE_SWEEPS": "0"}
    return subprocess.run([sys.executable, str(NOTEBOOK_DIR / "execute.py")], env=environment).returncode


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="python notebooks/verify.py",
        description="Re-run every notebook (full mode, the committed sweep journals reused) into build/verify/ and "
                    "compare each number, verdict, selection and ranking of its results/*.json with the committed "
                    "file, within the tolerance of its kind (see the module docstring). Takes minutes.",
        epilog="Exit code 0 when everything agrees within tolerance, 1 otherwise, 2 for bad arguments.")
    parser.add_argument("--no-run", action="store_true",
                        help="compare an earlier re-run in build/verify/ again, without executing anything")
    parser.add_argument("--committed", metavar="DIR", type=Path, default=PROJECT_DIR / "results",
                        help="folder of the reference results/*.json (default: results/)")
    parser.add_argument("--rerun", metavar="DIR", type=Path, default=None,
                        help="folder of the results to check (default: build/verify/results/); implies --no-run")
    args = parser.parse_args(argv)      # --help: usage, exit 0; an unknown option: usage, exit 2
    if not args.committed.is_dir() or not any(args.committed.glob("*.json")):
        parser.error(f"--committed {args.committed}: no results/*.json files there")
    if args.rerun is not None and not args.rerun.is_dir():
        parser.error(f"--rerun {args.rerun}: no such folder")
    return args


def main(argv):
    args = parse_arguments(argv)
    if args.rerun is None and not args.no_run:
        code = rerun_notebooks()
        if code != 0:
            print(f"verify: FAIL: the re-run of the notebooks failed (exit code {code}); see above.", file=sys.stderr)
            return 1
    rerun_dir = args.rerun or VERIFY_DIR / "results"
    if not rerun_dir.is_dir():
        print(f"verify: FAIL: {rerun_dir} does not exist: run `make verify` (without --no-run) first.",
              file=sys.stderr)
        return 1
    text, code = report(*compare_folders(args.committed, rerun_dir))
    print(text)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
