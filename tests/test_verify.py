"""notebooks/verify.py (`make verify`): tolerances per kind of number, verdicts, selections and rankings.
Fast: results dicts built here or copied from results/, no notebook is executed."""
import copy
import json
import math

import pytest

from conftest import PROJECT_DIR, load_script

verify = load_script("notebooks/verify.py")


def comparison(low, high, over="11400 test rows"):
    return {"difference": (low + high) / 2, "low": low, "high": high, "over": over}


COMMITTED = {
    "quick": False,
    "shapes": {"train": [914, 11], "test": [115, 11]},
    "config": {"hidden_layers": [32], "learning_rate": 0.01, "epochs": 200, "patience": 20},
    "test_run": {"epochs_run": 219, "best_epoch": 199, "test_accuracy": 0.626, "best_val_loss": 0.9678,
                 "train seconds": 70.0},
    "tabular_levers": {
        "table": [{"lever": "selected configuration", "cv accuracy mean": 0.3141, "minus selected": 0.0,
                   "interval low": 0.0, "interval high": 0.0, "verdict": "within noise"},
                  {"lever": "cosine learning-rate schedule", "cv accuracy mean": 0.3195, "minus selected": 0.0053,
                   "interval low": 0.0012, "interval high": 0.0094, "verdict": "ahead"}],
        "recipe": "cosine learning-rate schedule"},
    "paired": {"random forest": comparison(-0.0022, 0.0138), "KNN": comparison(0.068, 0.084)},
    "cv_selection": {"table": [
        {"hidden_layers": [32], "learning_rate": 0.01, "val_accuracy": 0.64, "validation_rank": 1,
         "cv_accuracy_mean": 0.59, "cv_rank": 3, "within_noise": True, "selected": False},
        {"hidden_layers": [64], "learning_rate": 0.01, "val_accuracy": 0.63, "validation_rank": 2,
         "cv_accuracy_mean": 0.62, "cv_rank": 1, "within_noise": True, "selected": True},
        {"hidden_layers": [32, 32], "learning_rate": 0.001, "val_accuracy": 0.61, "validation_rank": 3,
         "cv_accuracy_mean": 0.61, "cv_rank": 2, "within_noise": True, "selected": False}],
        "best_config": {"hidden_layers": [64], "learning_rate": 0.01}},
    "most_confused_pairs": [{"true": "techno", "predicted": "minimal-techno", "count": 41},
                            {"true": "chill", "predicted": "sad", "count": 35},
                            {"true": "house", "predicted": "edm", "count": 25},
                            {"true": "reggae", "predicted": "latin", "count": 24},
                            {"true": "house", "predicted": "electro", "count": 24},
                            {"true": "gospel", "predicted": "world-music", "count": 20}],
}


def run(committed, rerun, tmp_path, capsys, name="04_autoencoder_knn"):
    """verify's command line on two folders holding one results file each: (exit code, printed text)."""
    for folder, results in (("committed", committed), ("rerun", rerun)):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / f"{name}.json").write_text(json.dumps(results))
    code = verify.main(["--committed", str(tmp_path / "committed"), "--rerun", str(tmp_path / "rerun")])
    return code, capsys.readouterr().out


def changed(**edits):
    """A deep copy of COMMITTED with edits applied: path 'a/b/0/c' -> new value."""
    results = copy.deepcopy(COMMITTED)
    for path, value in edits.items():
        *parents, last = [int(part) if part.isdigit() else part for part in path.split("/")]
        target = results
        for part in parents:
            target = target[part]
        target[last] = value
    return results


@pytest.mark.parametrize("keys, siblings, kind", [
    (("shapes", "train", 0), {}, "exact"),
    (("config", "learning_rate"), {}, "exact"),
    (("sweep", "top20", 3, "epochs"), {"hidden_layers": [32], "epochs": 200}, "exact"),
    (("folds",), {}, "exact"),
    (("over_seeds", "per_seed", 0, "seed"), {}, "exact"),
    (("test_run", "per_class", "test", 2, "support"), {}, "exact"),
    (("wine_describe", 0, "count"), {}, "exact"),
    (("hardest", 0, "MEDV"), {}, "exact"),
    (("test_run", "epochs_run"), {}, "epoch"),
    (("mlp_levers", 1, "best_epoch"), {}, "epoch"),
    (("mlp", 0, "epochs"), {"model": "MLP", "accuracy": 0.3}, "epoch"),
    (("effects", "activation", "activation=relu", "epoch_of_min_val_loss"), {}, "epoch"),
    (("decay", "mse", "epochs", 4), {"epochs": [78]}, "epoch"),
    (("most_confused_pairs", 0, "count"), {}, "count"),
    (("test", "scores", "accuracy"), {}, "score"),
    (("test_run", "best_val_loss"), {}, "score"),
    (("something", "never seen"), {}, "score"),
    (("sweep", "wall_time_s"), {}, "timing"),
    (("knn", 0, "inference seconds"), {}, "timing"),
])
def test_numbers_are_compared_by_kind(keys, siblings, kind):
    assert verify.kind_of(keys, siblings) == kind


def test_tolerances_per_kind():
    assert verify.tolerance_of("exact", 5) == 0
    assert verify.tolerance_of("epoch", 20) == 3 and verify.tolerance_of("epoch", 219) == pytest.approx(21.9)
    assert verify.tolerance_of("count", 41) == pytest.approx(4.1)
    assert verify.tolerance_of("score", 0.6) == 0.02
    assert verify.difference_of("score", 22.9, 23.1) == pytest.approx(0.2 / 22.9)        # relative above 1
    assert verify.difference_of("score", math.nan, math.nan) == 0


def test_identical_results_pass(tmp_path, capsys):
    code, out = run(COMMITTED, COMMITTED, tmp_path, capsys)
    assert code == 0
    assert out.startswith("verify: OK: every number within its tolerance, no verdict, selection or ranking changed")
    assert "Every number is identical" in out


def test_legitimate_machine_variation_passes_and_near_ties_are_named_as_notes(tmp_path, capsys):
    rerun = changed(**{"test_run/epochs_run": 220, "test_run/best_epoch": 200, "test_run/test_accuracy": 0.6261,
                       "test_run/best_val_loss": 0.9679, "test_run/train seconds": 95.0,
                       "most_confused_pairs/0/count": 42})
    pairs = rerun["most_confused_pairs"]
    pairs[3], pairs[4] = pairs[4], pairs[3]                   # 24 and 24: a near tie may come out either way
    code, out = run(COMMITTED, rerun, tmp_path, capsys)
    assert code == 0, out
    assert out.splitlines()[0].startswith("verify: OK")
    assert "1 near-tie swap(s) noted" in out.splitlines()[0]
    assert ("note, near tie: 04_autoencoder_knn / most_confused_pairs (order by count): house → electro (24) now "
            "before reggae → latin (24)") in out
    assert "train seconds" not in out                          # timings are skipped
    assert "| 04_autoencoder_knn | test_run/epochs_run | 219 | 220 |" in out


def test_a_flipped_verdict_and_a_real_swap_in_a_ranking_fail_by_name(tmp_path, capsys):
    rerun = changed(**{"tabular_levers/table/1/interval low": -0.0004, "tabular_levers/table/1/verdict": "within noise",
                       "paired/random forest/low": 0.0005})
    pairs = rerun["most_confused_pairs"]
    pairs[0], pairs[1] = pairs[1], pairs[0]                   # 41 and 35: beyond the count tolerance
    code, out = run(COMMITTED, rerun, tmp_path, capsys)
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("verify: FAIL: 2 verdict(s) or selection(s) changed; 1 ranking change(s) beyond")
    assert ("  verdict changed: 04_autoencoder_knn / tabular_levers/table/1 (cosine learning-rate schedule): "
            "ahead → within noise") in lines
    assert "  verdict changed: 04_autoencoder_knn / paired/random forest: within noise → above" in lines
    assert ("  ranking changed: 04_autoencoder_knn / most_confused_pairs (order by count): chill → sad (35) now "
            "before techno → minimal-techno (41): a gap beyond the tolerance 4.1") in lines
    # the numbers themselves moved less than their tolerance: the verdicts are what fails
    assert "**FAIL**" not in out
    order = [next(i for i, line in enumerate(lines) if line.startswith(start))
             for start in ("verify:", "Changed verdicts", "Changed rankings", "Largest differences")]
    assert order == sorted(order)


def test_changed_selections_fail_by_name(tmp_path, capsys):
    rerun = changed(**{"cv_selection/table/1/selected": False, "cv_selection/table/2/selected": True,
                       "cv_selection/best_config": {"hidden_layers": [32, 32], "learning_rate": 0.001},
                       "tabular_levers/recipe": "selected configuration"})
    code, out = run(COMMITTED, rerun, tmp_path, capsys)
    assert code == 1
    assert "selection changed: 04_autoencoder_knn / cv_selection/table/1 ([64], 0.01)/selected: true → false" in out
    assert ("selection changed: 04_autoencoder_knn / cv_selection/table/2 ([32, 32], 0.001)/selected: "
            "false → true") in out
    assert ('selection changed: 04_autoencoder_knn / cv_selection/best_config: {"hidden_layers": [64], '
            '"learning_rate": 0.01} → {"hidden_layers": [32, 32], "learning_rate": 0.001}') in out
    assert ("selection changed: 04_autoencoder_knn / tabular_levers/recipe: cosine learning-rate schedule → "
            "selected configuration") in out


def test_rank_fields_are_rankings_judged_by_the_number_they_rank(tmp_path, capsys):
    near = changed(**{"cv_selection/table/2/cv_rank": 1, "cv_selection/table/1/cv_rank": 2,
                      "cv_selection/table/2/cv_accuracy_mean": 0.621})       # 0.62 and 0.61 -> 0.621: a near tie
    code, out = run(COMMITTED, near, tmp_path, capsys)
    assert code == 0, out
    assert ("note, near tie: 04_autoencoder_knn / cv_selection/table (cv_rank by cv_accuracy_mean): [32, 32], 0.001 "
            "(0.621) now before [64], 0.01 (0.62), committed 0.61 and 0.62") in out
    far = changed(**{"cv_selection/table/0/cv_rank": 1, "cv_selection/table/1/cv_rank": 3})   # 0.59 above 0.62
    code, out = run(COMMITTED, far, tmp_path, capsys)
    assert code == 1
    assert "ranking changed: 04_autoencoder_knn / cv_selection/table (cv_rank by cv_accuracy_mean): [32], 0.01" in out


def test_a_top_list_may_change_members_only_at_its_cut_off(tmp_path, capsys):
    near = copy.deepcopy(COMMITTED)
    near["most_confused_pairs"][-1] = {"true": "rock", "predicted": "metal", "count": 21}     # cut-off 20: near
    code, out = run(COMMITTED, near, tmp_path, capsys)
    assert code == 0, out
    assert "gospel → world-music (20) left the list, whose other end is 21" in out
    assert "rock → metal (21) entered the list, whose other end is 20" in out
    far = copy.deepcopy(COMMITTED)
    far["most_confused_pairs"][2] = {"true": "rock", "predicted": "metal", "count": 25}       # house → edm (25) left
    far["most_confused_pairs"].sort(key=lambda pair: -pair["count"])
    code, out = run(COMMITTED, far, tmp_path, capsys)
    assert code == 1
    assert "house → edm (25) left the list, whose other end is 20: beyond the tolerance 3" in out


def test_numbers_past_their_tolerance_and_missing_values_fail(tmp_path, capsys):
    rerun = changed(**{"test_run/epochs_run": 250, "test_run/test_accuracy": 0.66, "config/learning_rate": 0.02,
                       "shapes/test/0": 114})
    del rerun["paired"]["KNN"]
    code, out = run(COMMITTED, rerun, tmp_path, capsys)
    assert code == 1
    failed = {line.split(" | ")[1] for line in out.splitlines() if "**FAIL**" in line}
    assert failed == {"test_run/epochs_run", "test_run/test_accuracy", "config/learning_rate", "shapes/test/0",
                      "paired/KNN"}
    assert "| paired/KNN | {\"difference\": " in out and "| missing | inf | exact (0) **FAIL** |" in out
    assert out.startswith("verify: FAIL: 5 number(s) past their tolerance")


def test_compare_by_kind_and_skip_timings():
    committed = {"accuracy": 0.62, "epochs_run": 40, "train seconds": 70.0, "missing": float("nan"), "name": "relu",
                 "rows": [{"mse": 12.0}]}
    close = {"accuracy": 0.63, "epochs_run": 41, "train seconds": 90.0, "missing": float("nan"), "name": "relu",
             "rows": [{"mse": 12.1}]}
    assert all(row.ok for row in verify.compare(committed, close, "r"))
    assert not any("seconds" in row.label for row in verify.compare(committed, close, "r"))
    far = {**close, "accuracy": 0.70, "epochs_run": 50, "name": "tanh", "rows": [{"mse": 15.0}]}
    failed = {row.label for row in verify.compare(committed, far, "r") if not row.ok}
    assert failed == {"accuracy", "epochs_run", "name", "rows/0/mse"}


def test_a_missing_rerun_file_fails(tmp_path, capsys):
    (tmp_path / "committed").mkdir(), (tmp_path / "rerun").mkdir()
    (tmp_path / "committed" / "01_x.json").write_text("{}")
    assert verify.main(["--committed", str(tmp_path / "committed"), "--rerun", str(tmp_path / "rerun")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("verify: FAIL: 1 results file(s) missing")
    assert "01_x.json (the re-run did not write it)" in out


@pytest.mark.parametrize("path", sorted((PROJECT_DIR / "results").glob("*.json")), ids=lambda path: path.stem)
def test_the_committed_results_pass_against_themselves_and_small_legitimate_changes(path):
    """On the real files: no false alarm from the kinds, and each epoch +1 and each score +1e-4 passes."""
    committed = json.loads(path.read_text(encoding="utf-8"))
    assert not [row for row in verify.compare(committed, committed, path.stem) if not row.ok]

    def nudge(value, key=""):
        if isinstance(value, dict):
            return {k: nudge(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [nudge(v, key) for v in value]
        if isinstance(value, int) and not isinstance(value, bool) and key in ("epochs_run", "best_epoch"):
            return value + 1
        if isinstance(value, float) and key in ("accuracy", "val_loss", "mean", "r2"):
            return value + 1e-4
        return value

    outcome = verify.check(committed, nudge(committed), path.stem)
    assert not [row for row in outcome.rows if not row.ok]
    assert not [finding for finding in outcome.findings if not finding.ok]
