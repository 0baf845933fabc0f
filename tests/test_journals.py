"""Journals never serve results of other data or other code: every cache is keyed by the data it trains and scores
on and by the code that computes it; two writers take turns; fingerprints cost no copy of the data."""
import subprocess
import sys
import textwrap
import tracemalloc
from functools import partial

import numpy as np
import pytest

import helpers

GRID = {"name": "keyed", "method": "grid", "parameters": {"width": {"values": [2, 3]}, "rate": {"values": [0.1]}}}
CALLS = []


def fit_trial(config, split):
    """A stand-in training: its score depends on the config and on the data."""
    CALLS.append(config)
    return {"score": float(config["width"] * split.X_train.sum()), "diverged": False}


def make_split(seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(40, 3)) + shift, np.arange(40) % 2
    return helpers.Split(X[:30], X[30:35], X[35:], y[:30], y[30:35], y[35:], ["a", "b", "c"])


@pytest.fixture(autouse=True)
def isolated_results(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(helpers, "FORCE_SWEEPS", False)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    CALLS.clear()


def notes(capsys):
    return [line for line in capsys.readouterr().err.splitlines() if "is recomputed" in line]


def test_an_unchanged_run_trains_nothing():
    helpers.run_sweep(partial(fit_trial, split=make_split()), GRID, n_jobs=1)
    CALLS.clear()
    again = helpers.run_sweep(partial(fit_trial, split=make_split()), GRID, n_jobs=1)
    assert CALLS == [] and again.attrs["cached"]


def test_a_changed_split_recomputes_and_says_the_data_changed(capsys):
    first = helpers.run_sweep(partial(fit_trial, split=make_split(seed=0)), GRID, n_jobs=1)
    capsys.readouterr()
    CALLS.clear()
    other = helpers.run_sweep(partial(fit_trial, split=make_split(seed=1)), GRID, n_jobs=1)
    assert len(CALLS) == 2 and not other.attrs["cached"]
    assert list(other.score) != list(first.score)
    [line] = notes(capsys)
    assert "holds results of other data; it is recomputed" in line


def test_one_changed_cell_is_other_data():
    split = make_split()
    changed = make_split()
    changed.X_val[2, 1] = np.nextafter(changed.X_val[2, 1], np.inf)
    assert helpers.data_fingerprint(split) == helpers.data_fingerprint(make_split())
    assert helpers.data_fingerprint(split) != helpers.data_fingerprint(changed)
    assert helpers.data_fingerprint(np.zeros(3)) != helpers.data_fingerprint(np.zeros(3, np.float32))
    assert helpers.data_fingerprint([1, 2]) != helpers.data_fingerprint([[1, 2]])


def test_a_changed_engine_recomputes(monkeypatch, capsys):
    helpers.run_sweep(partial(fit_trial, split=make_split()), GRID, n_jobs=1)
    capsys.readouterr()
    CALLS.clear()
    engine = helpers._engine_source()
    monkeypatch.setattr(helpers, "_engine_source", lambda: engine.replace("def _forward", "def _forward ", 1))
    helpers.run_sweep(partial(fit_trial, split=make_split()), GRID, n_jobs=1)
    assert len(CALLS) == 2
    [line] = notes(capsys)
    assert "holds results of other code" in line


def test_a_changed_cross_validation_split_or_engine_recomputes(monkeypatch):
    config = {"hidden_layers": [3], "activation": "tanh", "optimizer": "mini_batch_gd", "learning_rate": 0.1,
              "batch_size": 8, "epochs": 2, "patience": None}
    fresh = helpers.cross_validated_ranking([config], make_split(), "classification", "accuracy", "cv", folds=2,
                                            n_jobs=1)
    real_score, calls = helpers._cv_fold_score, []
    monkeypatch.setattr(helpers, "_cv_fold_score", lambda *args: calls.append(args) or real_score(*args))
    again = helpers.cross_validated_ranking([config], make_split(), "classification", "accuracy", "cv", folds=2,
                                            n_jobs=1)
    assert calls == [] and again.to_dict("records") == fresh.to_dict("records")
    helpers.cross_validated_ranking([config], make_split(shift=1.0), "classification", "accuracy", "cv", folds=2,
                                    n_jobs=1)
    assert len(calls) == 2
    engine = helpers._engine_source()
    monkeypatch.setattr(helpers, "_engine_source", lambda: engine + "\n# a new default\n")
    helpers.cross_validated_ranking([config], make_split(shift=1.0), "classification", "accuracy", "cv", folds=2,
                                    n_jobs=1)
    assert len(calls) == 4


def test_curves_are_keyed_by_the_splits_they_train_on(monkeypatch):
    config = {"hidden_layers": [3], "activation": "tanh", "optimizer": "mini_batch_gd", "learning_rate": 0.1,
              "batch_size": 8, "epochs": 2}
    helpers.curves_over_seeds(config, make_split, "classification", "learning_rate", [0.1], [0], n_jobs=1,
                              name="curves")
    real, calls = helpers._seed_curve, []
    monkeypatch.setattr(helpers, "_seed_curve", lambda *args: calls.append(args) or real(*args))
    helpers.curves_over_seeds(config, make_split, "classification", "learning_rate", [0.1], [0], n_jobs=1,
                              name="curves")
    assert calls == []
    helpers.curves_over_seeds(config, partial(make_split, shift=2.0), "classification", "learning_rate", [0.1], [0],
                              n_jobs=1, name="curves")
    assert len(calls) == 1


def test_the_engine_fingerprint_ignores_presentation_and_covers_everything_journaled(monkeypatch):
    import inspect
    source = helpers._engine_source()
    end = len(source.splitlines())
    journaled = [helpers.run_sweep, helpers.sweep_trial, helpers.cross_validated_ranking, helpers._cv_fold_score,
                 helpers.curves_over_seeds, helpers.mlp_from_config, helpers.MLP, helpers.evaluate,
                 helpers.Journal, helpers.wine_split, helpers.KNN, helpers.AutoEncoder]
    for item in journaled:
        first_line = inspect.getsourcelines(item)[1]
        assert first_line < end, f"{item.__name__} is defined below the end of the engine"
    full = open(helpers.__file__, encoding="utf-8").read()
    assert full.startswith(source) and helpers.ENGINE_END in full[len(source):len(source) + 200]
    fingerprint = helpers.code_fingerprint()
    monkeypatch.setattr(helpers, "_engine_source", lambda: source.replace("Adam", "ADAM", 1))
    assert helpers.code_fingerprint() != fingerprint


def test_functions_outside_the_engine_are_keyed_by_their_code():
    def score_a(config):
        return config["x"] + 1

    def score_b(config):
        return config["x"] + 2
    assert helpers.code_fingerprint(score_a) != helpers.code_fingerprint(score_b)
    assert helpers.code_fingerprint(score_a) == helpers.code_fingerprint(score_a)
    assert helpers.call_fingerprints(partial(score_a, x=1))["data"] != \
        helpers.call_fingerprints(partial(score_a, x=2))["data"]


def test_fingerprints_copy_no_data():
    big = np.random.default_rng(0).normal(size=(2_000_000, 8))        # 128 MB
    tracemalloc.start()
    helpers.data_fingerprint(big)
    helpers.data_fingerprint(big.T)                                    # a view: hashed in row blocks
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2_000_000


def test_a_writer_whose_journal_was_restarted_for_another_header_stops_recording(tmp_path):
    path = tmp_path / "results" / "sweeps" / "shared.jsonl"
    first = helpers.Journal(path, {"grid": 1}, data="a", code="c")
    first.record("x", 1)
    helpers.Journal(path, {"grid": 2}, data="a", code="c")            # another run restarts it for its setting
    first.record("y", 2)
    assert "y" in first and '"y"' not in path.read_text()
    assert len(path.read_text().splitlines()) == 1


def test_two_writers_of_one_journal_take_turns(tmp_path):
    """Two processes run the same sweep at once into one journal: every line stays whole and readable, and a third
    run finds every training there."""
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(helpers.PROJECT_DIR)!r})
        import helpers
        from pathlib import Path
        helpers.RESULTS_DIR = Path(sys.argv[1])
        def slow(config):
            time.sleep(0.02)
            return {{"score": config["i"] * 1.5, "payload": "x" * 5000, "diverged": False}}
        grid = {{"name": "shared", "method": "grid", "parameters": {{"i": {{"values": list(range(40))}}}}}}
        table = helpers.run_sweep(slow, grid, n_jobs=1)
        print(table.attrs["trained_now"])
    """))
    results = tmp_path / "shared-results"
    environment = {"WANDB_MODE": "disabled", "PATH": "/usr/bin:/bin"}
    writers = [subprocess.Popen([sys.executable, str(script), str(results)], env=environment,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    assert all(writer.returncode == 0 for writer in writers), outputs
    lines = (results / "sweeps" / "shared.jsonl").read_text().splitlines()
    import json
    records = [json.loads(line) for line in lines[1:]]              # every line whole
    assert {record["key"] for record in records} == set(range(40))
    third = subprocess.run([sys.executable, str(script), str(results)], env=environment, capture_output=True,
                           text=True, timeout=120)
    assert third.stdout.strip() == "0"                               # nothing left to train
