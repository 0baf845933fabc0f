"""The W&B grid-sweep runner: expansion, failure handling, W&B modes, caching."""
import numpy as np
import pytest

import helpers

CONFIG = {"name": "toy", "method": "grid",
          "parameters": {"hidden_layers": {"values": [[4], [4, 4]]}, "learning_rate": {"values": [0.01, 1e9]},
                         "activation": {"value": "tanh"}}}


def toy_train(config):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)) * 50
    y = X @ np.array([100.0, -50.0, 10.0])
    with helpers.wandb_run(config) as (run, config):
        model = helpers.MLPRegressor(config["hidden_layers"], activation=config["activation"],
                                     learning_rate=config["learning_rate"], epochs=50).fit(X, y)
        helpers.log_history(run, model.history_)
        return {"final_loss": model.history_["train_loss"][-1], "diverged": model.diverged_}


def failing_train(config):
    if config["learning_rate"] > 1:
        raise ValueError("boom")
    return {"diverged": False}


@pytest.fixture(autouse=True)
def isolated_outputs(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("WANDB_SILENT", "true")
    return tmp_path


def test_grid_expansion_matches_wandb_order():
    points = helpers.expand_grid(CONFIG)
    assert len(points) == 4
    assert points[0] == {"hidden_layers": [4], "learning_rate": 0.01, "activation": "tanh"}
    assert points[1] == {"hidden_layers": [4], "learning_rate": 1e9, "activation": "tanh"}
    assert points[3] == {"hidden_layers": [4, 4], "learning_rate": 1e9, "activation": "tanh"}
    report = {"method": "grid", "parameters": {name: {"values": [0, 1]} for name in "abcdef"}}
    assert len(helpers.expand_grid(report)) == 64


def test_grid_expansion_rejects_what_it_cannot_run():
    with pytest.raises(ValueError, match="grid sweeps"):
        helpers.expand_grid({**CONFIG, "method": "bayes"})
    with pytest.raises(ValueError, match="'values'"):
        helpers.expand_grid({"method": "grid", "parameters": {"a": {"min": 0, "max": 1}}})


def test_diverged_and_failed_runs_are_recorded_and_the_sweep_goes_on():
    table = helpers.run_sweep(toy_train, CONFIG, n_jobs=2)
    assert len(table) == 4
    assert list(table.status) == ["finished", "diverged", "finished", "diverged"]
    assert np.isfinite(table.final_loss).all()       # the last finite loss is kept for diverged runs
    failed = helpers.run_sweep(failing_train, {**CONFIG, "name": "failing"}, n_jobs=1)
    assert list(failed.status) == ["finished", "failed"] * 2
    assert failed.error.dropna().str.contains("ValueError: boom").all()


def test_cached_results_are_reused_until_the_config_or_the_code_changes():
    first = helpers.run_sweep(failing_train, CONFIG, n_jobs=1)
    assert not first.attrs["cached"]
    again = helpers.run_sweep(failing_train, CONFIG, n_jobs=1)
    assert again.attrs["cached"] and list(again.status) == list(first.status)
    assert not helpers.run_sweep(toy_train, CONFIG, n_jobs=1).attrs["cached"]       # other code: recomputed
    changed = {**CONFIG, "parameters": {**CONFIG["parameters"], "activation": {"value": "relu"}}}
    assert not helpers.run_sweep(failing_train, changed, n_jobs=1).attrs["cached"]
    assert not helpers.run_sweep(failing_train, CONFIG, n_jobs=1, force=True).attrs["cached"]


def test_offline_mode_writes_a_run_per_point(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    small = {**CONFIG, "name": "offline", "parameters": {**CONFIG["parameters"], "learning_rate": {"value": 0.01}}}
    table = helpers.run_sweep(toy_train, small, n_jobs=1)
    assert list(table.status) == ["finished", "finished"]
    runs = sorted((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 2


def test_mode_is_offline_without_a_login(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert helpers.wandb_mode() == "offline"
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert helpers.wandb_mode() == "online"


def test_identical_trainings_run_once_and_fill_every_row():
    calls = []

    def counting_train(config):
        calls.append(config)
        return {"diverged": False, "seen_batch": config["batch_size"]}

    config = {"name": "dedupe", "method": "grid",
              "parameters": {"optimizer": {"values": ["sgd", "mini_batch_gd"]}, "batch_size": {"values": [16, 32]}}}
    table = helpers.run_sweep(counting_train, config, n_jobs=1, training_key=helpers.mlp_training_key)
    assert len(table) == 4 and len(calls) == 3                    # sgd with 16 and 32 is one training
    assert list(table.batch_size) == [16, 32, 16, 32]             # every row keeps its own config
    assert list(table.trained_as) == [0, 0, 2, 3]


def test_a_shorter_budget_reuses_a_longer_run_only_when_that_stopped_in_time():
    calls = []

    def early_stopping_train(config):
        calls.append(dict(config))
        stopped_at = {"fast": 40, "slow": 150}[config["speed"]]         # epoch early stopping would end at
        return {"diverged": False, "epochs_run": min(stopped_at, config["epochs"])}

    config = {"name": "budget", "method": "grid",
              "parameters": {"speed": {"values": ["fast", "slow"]}, "epochs": {"values": [100, 200]}}}
    table = helpers.run_sweep(early_stopping_train, config, n_jobs=1, budget="epochs")
    trained = [(call["speed"], call["epochs"]) for call in calls]
    assert sorted(trained) == [("fast", 200), ("slow", 100), ("slow", 200)]   # fast/100 = fast/200 stopped at 40
    assert list(table.trained_as) == [1, 1, 2, 3]
    assert list(table.epochs) == [100, 200, 100, 200] and list(table.epochs_run) == [40, 40, 100, 150]


def test_the_sweep_figure_orders_values_by_mean_as_the_effect_tables_do():
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd
    # relu: mean 0.4, median 0.2; tanh: mean and median 0.3. By median tanh would come first.
    table = pd.DataFrame({"activation": ["relu"] * 3 + ["tanh"] * 3, "val_r2": [0.1, 0.2, 0.9, 0.3, 0.3, 0.3]})
    figure = helpers.plot_sweep_effects(table, ["activation"], "val_r2")
    assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == ["relu", "tanh"]


def test_the_appendix_sweep_tables_order_each_hyperparameters_values_by_mean_as_the_figures_do():
    """A.2.3 and A.3.3 sorted by best while Figures 2.3 and 3.2 sort by mean: the same values in two orders."""
    effects = [{"parameter": "activation", "value": "tanh", "mean": 0.50, "best": 0.90},
               {"parameter": "activation", "value": "relu", "mean": 0.60, "best": 0.70},
               {"parameter": "optimizer", "value": "sgd", "mean": 0.40, "best": 0.80},
               {"parameter": "optimizer", "value": "adam", "mean": 0.45, "best": 0.60}]
    ordered = helpers.by_mean_within(effects)
    assert [row["value"] for row in ordered] == ["relu", "tanh", "adam", "sgd"]


def test_the_sweep_figure_counts_what_it_leaves_out():
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd
    everything = pd.DataFrame({"hidden_layers": [[64], [64], [32, 32], [32, 32]], "learning_rate": 0.01,
                               "activation": "relu", "optimizer": ["sgd", "sgd", "batch_gd", "batch_gd"],
                               "batch_size": 32, "epochs": 100, "val_r2": [0.5, -0.2, 0.9, 0.8]})
    learned = everything[everything.val_r2 > 0]
    figure = helpers.plot_sweep_effects(learned, ["hidden_layers", "optimizer"], "val_r2", everything=everything)
    labels = [[tick.get_text() for tick in ax.get_xticklabels()] for ax in figure.axes[:2]]
    assert labels == [["[32, 32]\n2 of 2", "[64]\n1 of 2"], ["batch_gd\n2 of 2", "sgd\n1 of 2"]]


def test_the_lever_figure_sets_two_panels_a_row_each_in_its_unit():
    import matplotlib
    matplotlib.use("Agg")
    row = {"lever": "step schedule", "difference": 0.01, "low": -0.01, "high": 0.03, "verdict": "within noise"}
    panels = {"wine: accuracy, points": ([row], True), "housing: R²": ([row, row], False),
              "diabetes: accuracy, points": ([row], True)}
    figure = helpers.plot_lever_intervals(panels)
    shown = [ax for ax in figure.axes if ax.axison]
    assert len(figure.axes) == 4 and len(shown) == 3
    assert [ax.get_xlabel().split(", ", 1)[1] for ax in shown] == ["accuracy, points (95 % interval)",
                                                                   "R² (95 % interval)",
                                                                   "accuracy, points (95 % interval)"]
