"""All-rows comparisons: repeated folds test every row once per repeat, every selection sees only its fold's
training rows, models are compared fold by fold (model minus baseline), and the folds' work is journaled."""
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

import helpers

SEEN = []       # (fold seed, what, row ids) of every call a RecordingClassifier gets


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Records the row ids (column 0) of every row it is fitted, stopped early or asked to predict on."""

    def __init__(self, seed=0, bias=0):
        self.seed = seed
        self.bias = bias

    def fit(self, X, y, X_val=None, y_val=None):
        SEEN.append((self.seed, "fit", set(X[:, 0].astype(int))))
        if X_val is not None:
            SEEN.append((self.seed, "stop", set(X_val[:, 0].astype(int))))
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        SEEN.append((self.seed, "predict", set(X[:, 0].astype(int))))
        return np.full(len(X), self.classes_[self.bias % len(self.classes_)])


@pytest.fixture(autouse=True)
def isolated_results(tmp_path, monkeypatch):
    monkeypatch.setattr(helpers, "RESULTS_DIR", tmp_path / "results")
    monkeypatch.setattr(helpers, "FORCE_SWEEPS", False)
    SEEN.clear()


def synthetic(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.arange(n), rng.normal(size=(n, 2))])       # column 0: the row's id
    return X, (X[:, 1] > 0).astype(int)


def test_no_outer_test_row_reaches_any_selection():
    X, y = synthetic()
    folds = helpers.repeated_folds(y, folds=5, repeats=2)
    selection = helpers.HoldoutSelection([RecordingClassifier(bias=0), RecordingClassifier(bias=1)])
    helpers.cross_validate_models({"selected": selection, "plain": RecordingClassifier()}, helpers.Rows(X, y),
                                  folds, "record", n_jobs=1)
    assert SEEN
    for fold, (train, test) in enumerate(folds):
        calls = [(what, rows) for seed, what, rows in SEEN if seed == fold]
        train, test = set(train), set(test)
        outer_predictions = [rows for what, rows in calls if what == "predict" and rows == test]
        assert len(outer_predictions) == 2                                  # one per model, on the test rows
        for what, rows in calls:
            if rows != test:
                assert rows <= train, f"fold {fold}: a {what} call saw rows outside the fold's training rows"
        stops = [rows for what, rows in calls if what == "predict" and rows != test]
        assert len(stops) == 2 and all(rows <= train for rows in stops)     # the selection's scoring rows


def test_every_row_is_tested_once_per_repeat_and_groups_stay_together():
    y = np.array([0, 1] * 30)
    folds = helpers.repeated_folds(y, folds=5, repeats=3)
    assert len(folds) == 15
    for repeat in range(3):
        tested = np.concatenate([test for _, test in folds[5 * repeat:5 * repeat + 5]])
        assert sorted(tested) == list(range(60))
    assert all(set(train).isdisjoint(test) for train, test in folds)
    groups = np.arange(60) // 3                                            # rows 0-2, 3-5, … are identical
    grouped = helpers.repeated_folds(y, folds=5, repeats=2, groups=groups)
    for _, test in grouped:
        assert set(groups[test]).isdisjoint(set(groups[np.setdiff1d(np.arange(60), test)]))


def test_holdout_selection_keeps_the_better_candidate_trained_on_nine_tenths():
    X, y = synthetic(200)
    selection = helpers.HoldoutSelection([DummyClassifier(), LogisticRegression()], seed=3).fit(X[:, 1:], y)
    assert selection.chosen_ == 1 and selection.validation_scores_[1] > selection.validation_scores_[0]
    fit_rows, _ = helpers._stopping_rows(np.arange(200), y, 3)
    alone = LogisticRegression().fit(X[fit_rows, 1:], y[fit_rows])
    assert np.array_equal(selection.predict(X[:, 1:]), alone.predict(X[:, 1:]))
    with pytest.raises(ValueError, match="at least one candidate"):
        helpers.HoldoutSelection([]).fit(X, y)


def test_comparisons_are_model_minus_baseline_over_the_folds():
    X, y = synthetic(120)
    folds = helpers.repeated_folds(y, folds=5, repeats=2)
    rows = helpers.cross_validate_models({"logistic": LogisticRegression(), "majority": DummyClassifier()},
                                         helpers.Rows(X[:, 1:], y), folds, "signs", n_jobs=1)
    comparison = rows.compare("logistic", "majority", "accuracy")
    differences = rows.fold_scores("logistic", "accuracy") - rows.fold_scores("majority", "accuracy")
    assert comparison["difference"] == pytest.approx(differences.mean()) and comparison["difference"] > 0.3
    assert comparison["verdict"] == "above" and comparison["low"] > 0
    assert rows.compare("majority", "logistic", "accuracy")["verdict"] == "below"
    assert comparison["over"] == "10 folds, corrected"
    correct = rows.row_correct("logistic")
    assert correct.shape == (120,) and set(np.unique(correct)) <= {0, 0.5, 1}


def test_folds_are_journaled_and_a_changed_model_recomputes_only_itself(monkeypatch):
    X, y = synthetic(80)
    folds = helpers.repeated_folds(y, folds=4, repeats=2)
    models = {"logistic": LogisticRegression(), "majority": DummyClassifier()}
    data = helpers.Rows(X[:, 1:], y)
    first = helpers.cross_validate_models(models, data, folds, "journaled", n_jobs=1)
    real, calls = helpers._fit_fold, []
    monkeypatch.setattr(helpers, "_fit_fold", lambda *args: calls.append(args) or real(*args))
    again = helpers.cross_validate_models(models, data, folds, "journaled", n_jobs=1)
    assert calls == [] and again.predictions == first.predictions
    helpers.cross_validate_models({**models, "logistic": LogisticRegression(C=0.1)}, data, folds, "journaled",
                                  n_jobs=1)
    assert len(calls) == 8 and all(isinstance(args[0], LogisticRegression) for args in calls)


def test_a_regression_target_is_standardised_per_fold_and_predicted_in_its_units():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2))
    y = 1000 + 300 * X[:, 0] + rng.normal(size=50)
    folds = helpers.repeated_folds(y, folds=5, repeats=1, stratify=False)
    rows = helpers.cross_validate_models({"linear": LinearRegression()}, helpers.Rows(X, y, "regression"), folds,
                                         "units", n_jobs=1)
    for (train, test), predicted in zip(folds, rows.predictions["linear"]):
        expected = LinearRegression().fit(X[train], y[train]).predict(X[test])
        assert np.allclose(predicted, expected)
    assert rows.summary("r2")[0]["mean"] > 0.99


def test_a_fold_variant_without_changes_is_the_chosen_model_again():
    """A lever's model is the configuration the selection chose in that fold, trained on the same rows with the same
    seed and early-stopping tenth: without a change it predicts exactly as the chosen candidate did."""
    X, y = synthetic(150)
    folds = helpers.repeated_folds(y, folds=3, repeats=1)
    configs = [{"hidden_layers": [4], "activation": "tanh", "optimizer": "adam", "learning_rate": 0.01,
                "batch_size": 16, "epochs": 15},
               {"hidden_layers": [6], "activation": "relu", "optimizer": "adam", "learning_rate": 0.01,
                "batch_size": 16, "epochs": 15}]
    selection = helpers.HoldoutSelection([helpers.mlp_from_config(config, patience=3) for config in configs])
    data = helpers.Rows(X[:, 1:], y, preprocess=helpers.standardiser())
    first = helpers.cross_validate_models({"selected": selection}, data, folds, "variants", n_jobs=1)
    again = helpers.fold_variants(first.chosen["selected"], configs, patience=3)
    both = helpers.cross_validate_models({"selected": selection, "again": again}, data, folds, "variants", n_jobs=1)
    assert both.predictions["again"] == both.predictions["selected"]
    assert both.compare("again", "selected", "accuracy")["verdict"] == "identical"


def test_only_this_engines_models_get_an_early_stopping_tenth():
    """Our MLPs take (X, y, X_val, y_val); scikit-learn's gradient boosting takes X_val keyword-only for its own
    early stopping and keeps its defaults."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    assert helpers.stops_early(helpers.MLPClassifier([3]))
    assert not helpers.stops_early(HistGradientBoostingClassifier())
    assert not helpers.stops_early(LogisticRegression())
    X, y = synthetic(60)
    helpers.fit_with_stopping(HistGradientBoostingClassifier(max_iter=5), X[:, 1:], y, 0)
