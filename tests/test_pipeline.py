"""The pipeline loses nothing when interrupted: sweeps and cross-validations resume from their journal, files are
written whole or not at all, and an unreadable cache or results file is one clear line, not a traceback."""
import json
import os

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier

import helpers

GRID = {"name": "resume", "method": "grid",
        "parameters": {"width": {"values": [2, 3, 4]}, "rate": {"values": [0.1, 0.2]}}}


# One train function throughout: a journal is keyed by its code, so a test counts its calls and 'kills' it through
# module state rather than by wrapping it in another function.
CALLS = []          # the configs `train` trained, in order
KILL_AT = [None]    # `train` is killed (Ctrl-C) when it is called with this many calls done


def train(config):
    """A deterministic stand-in for a training: its metrics depend on the config only."""
    if len(CALLS) == KILL_AT[0]:
        raise KeyboardInterrupt
    CALLS.append(config)
    return {"score": config["width"] * config["rate"], "diverged": False}


@pytest.fixture(autouse=True)
def isolated_results(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(helpers, "FORCE_SWEEPS", False)
    monkeypatch.setenv("WANDB_MODE", "disabled")
    CALLS.clear()
    KILL_AT[0] = None
    return tmp_path


def comparable(table):
    return table.drop(columns="seconds").to_dict("records")


def test_an_interrupted_sweep_resumes_and_trains_only_the_rest(monkeypatch, tmp_path):
    KILL_AT[0] = 4
    with pytest.raises(KeyboardInterrupt):
        helpers.run_sweep(train, GRID, n_jobs=1)
    journal = helpers.sweep_cache_path("resume")
    assert len(journal.read_text().splitlines()) == 1 + 4         # the header and the four finished trainings
    KILL_AT[0] = None
    CALLS.clear()
    resumed = helpers.run_sweep(train, GRID, n_jobs=1)
    assert len(CALLS) == 2 and not resumed.attrs["cached"] and resumed.attrs["trained_now"] == 2
    assert resumed.attrs["provenance"].startswith("6 trainings in ")
    assert resumed.attrs["provenance"].endswith("2 trained now, 4 from the journal resume.jsonl")
    monkeypatch.setattr(helpers, "RESULTS_DIR", tmp_path / "uninterrupted")
    assert comparable(resumed) == comparable(helpers.run_sweep(train, GRID, n_jobs=1))


def test_a_finished_sweep_is_reused_and_force_starts_afresh():
    helpers.run_sweep(train, GRID, n_jobs=1)
    CALLS.clear()
    again = helpers.run_sweep(train, GRID, n_jobs=1)
    assert CALLS == [] and again.attrs["cached"]
    assert again.attrs["provenance"].endswith("all from the journal resume.jsonl")
    helpers.run_sweep(train, GRID, n_jobs=1, force=True)
    assert len(CALLS) == 6


def test_a_line_cut_off_by_a_kill_is_dropped_and_only_its_training_redone():
    helpers.run_sweep(train, GRID, n_jobs=1)
    path = helpers.sweep_cache_path("resume")
    text = path.read_text()
    path.write_text(text[:len(text) - 25])                 # the last record cut off half-way
    CALLS.clear()
    table = helpers.run_sweep(train, GRID, n_jobs=1)
    assert len(CALLS) == 1 and len(table) == 6
    assert path.read_text().endswith("\n") and len(path.read_text().splitlines()) == 7   # mended, then appended


@pytest.mark.parametrize("damage, message", [
    (lambda text: text[:30], "is unreadable (JSONDecodeError); it is recomputed"),
    (lambda text: json.dumps({"sweep_config": GRID, "wall_time": 1.0, "rows": []}), "is in an older format"),
    (lambda text: "\x00\x01 not json\n", "is unreadable"),
])
def test_an_unreadable_or_old_cache_is_recomputed_with_one_line(damage, message, capsys):
    helpers.run_sweep(train, GRID, n_jobs=1)
    path = helpers.sweep_cache_path("resume")
    path.write_text(damage(path.read_text()))
    capsys.readouterr()
    table = helpers.run_sweep(train, GRID, n_jobs=1)
    notes = [line for line in capsys.readouterr().err.splitlines() if line and "sweep resume" not in line]  # not tqdm
    assert len(notes) == 1 and str(path) in notes[0] and message in notes[0]
    assert table.attrs["trained_now"] == 6


def test_an_interrupted_cross_validation_resumes(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] > 0).astype(int)
    split = helpers.Split(X[:70], X[70:], X[70:], y[:70], y[70:], y[70:], ["a", "b", "c"])
    configs = [{"hidden_layers": [4], "activation": "tanh", "optimizer": "mini_batch_gd", "learning_rate": 0.1,
                "batch_size": 16, "epochs": 5, "patience": None}, {"hidden_layers": [6], "activation": "relu",
                "optimizer": "batch_gd", "learning_rate": 0.1, "batch_size": 16, "epochs": 5, "patience": None}]
    complete = helpers.cross_validated_ranking(configs, split, "classification", "accuracy", "cv-full", folds=3,
                                               n_jobs=1)
    real_score, calls = helpers._cv_fold_score, []

    def killed_after_four(*args):
        if len(calls) == 4:
            raise KeyboardInterrupt
        calls.append(args)
        return real_score(*args)
    monkeypatch.setattr(helpers, "_cv_fold_score", killed_after_four)
    with pytest.raises(KeyboardInterrupt):
        helpers.cross_validated_ranking(configs, split, "classification", "accuracy", "cv-resumed", folds=3, n_jobs=1)
    calls.clear()
    resumed = helpers.cross_validated_ranking(configs, split, "classification", "accuracy", "cv-resumed", folds=3,
                                              n_jobs=1)
    assert len(calls) == 2
    assert resumed.to_dict("records") == complete.to_dict("records")


def test_a_write_cut_off_half_way_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "results" / "01_wine_mlp.json"
    helpers.write_atomic(path, '{"accuracy": 0.6}')

    def killed(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", killed)          # the process dies after writing part of the new file
    with pytest.raises(KeyboardInterrupt):
        helpers.save_results("01_wine_mlp", {"accuracy": 0.7, "rows": list(range(10_000))})
    assert json.loads(path.read_text()) == {"accuracy": 0.6}
    assert [file.name for file in path.parent.iterdir()] == ["01_wine_mlp.json"]     # no temporary left behind


def test_figures_are_written_atomically_and_readable(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    monkeypatch.setattr(helpers, "FIGURES_DIR", tmp_path / "figures")
    figure, ax = plt.subplots()
    ax.plot([0, 1])
    helpers.save_figure(figure, "line")
    assert (tmp_path / "figures" / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert oct((tmp_path / "figures" / "line.png").stat().st_mode & 0o777) == "0o644"


def test_a_truncated_results_file_is_one_clear_error(tmp_path):
    (tmp_path / "02_housing_regression.json").write_text('{"describe": [{"count": 5')
    with pytest.raises(ValueError, match=r"02_housing_regression.json is unreadable .*regenerate it with "
                                         r"`make report`"):
        helpers.read_results("02_housing_regression", tmp_path)
    with pytest.raises(FileNotFoundError, match="03_mse_vs_bce.json is missing: regenerate it"):
        helpers.read_results("03_mse_vs_bce", tmp_path)


def test_journaled_curves_are_redrawn_without_training(monkeypatch):
    config = {"hidden_layers": [4], "activation": "tanh", "optimizer": "mini_batch_gd", "learning_rate": 0.1,
              "batch_size": 64, "epochs": 3}
    fresh = helpers.curves_over_seeds(config, helpers.wine_split, "classification", "learning_rate", [0.01, 0.1],
                                      range(2), n_jobs=1, name="curves")
    unjournaled = helpers.curves_over_seeds(config, helpers.wine_split, "classification", "learning_rate",
                                            [0.01, 0.1], [0, 1], n_jobs=1)
    monkeypatch.setattr(helpers, "_seed_curve", lambda *args: pytest.fail("trained a journaled curve"))
    again = helpers.curves_over_seeds(config, helpers.wine_split, "classification", "learning_rate", [0.01, 0.1],
                                      range(2), n_jobs=1, name="curves")
    assert again == fresh == unjournaled and list(again[1]) == ["learning_rate=0.01", "learning_rate=0.1"]


def test_fit_in_parallel_keeps_a_threaded_model_here_and_returns_every_fit_in_order():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(60, 3)), np.arange(60) % 2
    forest = RandomForestClassifier(n_estimators=5, random_state=0, n_jobs=1)
    fits = {"mlp": (helpers.MLPClassifier([4], epochs=3), (X, y)), "forest": (forest, (X, y)),
            "other mlp": (helpers.MLPClassifier([5], epochs=3), (X, y))}
    fitted = helpers.fit_in_parallel(fits, n_jobs=2, in_thread=["forest"])
    assert list(fitted) == ["mlp", "forest", "other mlp"]
    assert fitted["forest"][0] is forest                       # fitted in this process, not copied back
    assert fitted["mlp"][0] is not fits["mlp"][0] and fitted["mlp"][0].n_epochs_ == 3   # a worker's fitted copy
    assert all(seconds > 0 for _, seconds in fitted.values())
