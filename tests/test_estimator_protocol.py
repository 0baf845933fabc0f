"""The models are scikit-learn estimators: scikit-learn's own estimator checks, and the tools users combine them with
(clone, Pipeline, cross_val_score, GridSearchCV)."""
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import helpers

# scikit-learn's checks feed a multi-label model 1-D, string, or {1, 2}-valued targets made for single-label
# classifiers; a multi-label model needs a 0/1 label matrix and says so. Each such check, and why it cannot apply:
MULTILABEL_NOT_APPLICABLE = {
    "check_estimators_dtypes": "fits y with values {1, 2}; a label matrix holds 0/1",
    "check_classifier_data_not_an_array": "fits y with values {1, 2}; a label matrix holds 0/1",
    "check_classifiers_one_label": "expects an error for a single class; an all-zero label column is valid",
    "check_classifiers_classes": "fits string class labels; a label matrix holds 0/1",
    "check_classifiers_train": "compares predictions with a 1-D y; predictions are an (n, n_labels) 0/1 matrix",
    "check_fit2d_1feature": "fits y with values {1, 2}; a label matrix holds 0/1",
}
# An ordinal view orders its classes by value; string labels have none to learn.
ORDINAL_NOT_APPLICABLE = {"check_classifiers_classes": "fits string class labels, which have no order"}
# Small, fast settings: the checks fit each model dozens of times on toy data.
ESTIMATORS = [
    (helpers.MLPClassifier([16], epochs=200, learning_rate=0.1), {}),
    (helpers.MLPRegressor([16], epochs=200, learning_rate=0.05), {}),
    (helpers.MLP([16], task="classification", epochs=200, learning_rate=0.1), {}),
    (helpers.MultiLabelMLPClassifier([16], epochs=200, learning_rate=0.1), MULTILABEL_NOT_APPLICABLE),
    (helpers.AutoEncoder([4], 2, epochs=20), {}),
    (helpers.PCA(), {}),
    (helpers.KNN(3), {}),
    (helpers.SeedEnsemble(helpers.MLPClassifier([16], epochs=200, learning_rate=0.1), members=2), {}),
    (helpers.TransformedInput(helpers.MLPClassifier([16], epochs=200, learning_rate=0.1),
                              helpers.quantile_transformer()), {}),
    (helpers.TransformedInput(helpers.MLPRegressor([16], epochs=200, learning_rate=0.05),
                              helpers.PiecewiseLinearEncoder(4)), {}),
    (helpers.PiecewiseLinearEncoder(), {}),
    (helpers.RoundedRegression(helpers.MLPRegressor([16], epochs=200, learning_rate=0.05)), ORDINAL_NOT_APPLICABLE),
    (helpers.CumulativeTargets(helpers.MultiLabelMLPClassifier([16], epochs=200, learning_rate=0.1)),
     ORDINAL_NOT_APPLICABLE),
    # scikit-learn's regression targets are centred on zero; the offset keeps them positive in their "units".
    (helpers.LogTarget(helpers.MLPRegressor([16], epochs=200, learning_rate=0.05), target_mean=1000.0), {}),
]


@pytest.mark.parametrize("estimator, not_applicable", ESTIMATORS, ids=lambda value: type(value).__name__)
def test_scikit_learns_estimator_checks(estimator, not_applicable):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, expected_failed_checks=not_applicable, on_fail=None)
    failed = {result["check_name"]: str(result["exception"])[:200] for result in results
              if result["status"] == "failed"}
    assert failed == {}
    expected = {result["check_name"] for result in results if result["status"] == "xfail"}
    assert expected <= set(not_applicable)
    assert len(results) > 40


def test_clone_pipeline_and_cross_validation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4)) * [1, 10, 100, 1000]
    y = (X[:, 0] + X[:, 1] / 10 > 0).astype(int)
    model = helpers.MLPClassifier([8], activation="tanh", epochs=60, learning_rate=0.05, seed=3)
    twin = clone(model)
    assert twin is not model and twin.get_params() == model.get_params() and not hasattr(twin, "weights_")
    pipeline = make_pipeline(StandardScaler(), model)
    scores = cross_val_score(pipeline, X, y, cv=KFold(4, shuffle=True, random_state=0))
    assert scores.shape == (4,) and scores.mean() > 0.85
    search = GridSearchCV(pipeline, {"mlpclassifier__hidden_layers": [[4], [8, 8]],
                                     "mlpclassifier__learning_rate": [0.01, 0.05]}, cv=3).fit(X, y)
    assert set(search.best_params_) == {"mlpclassifier__hidden_layers", "mlpclassifier__learning_rate"}
    assert search.score(X, y) > 0.85


def test_set_params_then_fit_uses_the_new_values():
    X, y = np.random.default_rng(1).normal(size=(50, 3)), np.arange(50) % 2
    model = helpers.MLPClassifier([4], epochs=3).set_params(hidden_layers=[6, 5], epochs=2)
    model.fit(X, y)
    assert [weights.shape[1] for weights in model.weights_] == [6, 5, 1] and model.n_epochs_ == 2


def test_score_is_each_tasks_main_metric():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(80, 3))
    labels = (X[:, :2] > 0).astype(int)
    multilabel = helpers.MultiLabelMLPClassifier([8], epochs=5).fit(X, labels)
    predicted = multilabel.predict(X)
    assert multilabel.score(X, labels) == pytest.approx(np.mean(predicted == labels))          # Hamming accuracy
    regressor = helpers.MLPRegressor([8], epochs=5).fit(X, X[:, 0])
    from sklearn.metrics import r2_score
    assert regressor.score(X, X[:, 0]) == pytest.approx(r2_score(X[:, 0], regressor.predict(X)))
    assert not hasattr(regressor, "predict_proba")


def test_seed_ensemble_averages_its_members():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(90, 3))
    y = np.where(X[:, 0] > 0.3, "high", np.where(X[:, 0] < -0.3, "low", "mid"))
    ensemble = helpers.SeedEnsemble(helpers.MLPClassifier([8], epochs=20, learning_rate=0.05, seed=7), members=3)
    ensemble.fit(X, y)
    assert [member.seed for member in ensemble.estimators_] == [7, 8, 9]
    members = [helpers.MLPClassifier([8], epochs=20, learning_rate=0.05, seed=seed).fit(X, y) for seed in (7, 8, 9)]
    expected = np.mean([member.predict_proba(X) for member in members], axis=0)
    np.testing.assert_array_equal(ensemble.predict_proba(X), expected)
    np.testing.assert_array_equal(ensemble.predict(X), ensemble.classes_[expected.argmax(axis=1)])
    with pytest.raises(ValueError, match="SeedEnsemble: estimator must be a classification MLP"):
        helpers.SeedEnsemble(helpers.MLPRegressor([4]), 2).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="SeedEnsemble: members must be an integer ≥ 1; got 0"):
        helpers.SeedEnsemble(helpers.MLPClassifier([4]), 0).fit(X, y)


FRAME_MODELS = [helpers.MLPClassifier([8], epochs=5), helpers.MLPRegressor([8], epochs=5),
                helpers.AutoEncoder([4], 2, epochs=5), helpers.PCA(2), helpers.KNN(3),
                helpers.SeedEnsemble(helpers.MLPClassifier([8], epochs=5), members=2)]


@pytest.mark.parametrize("model", FRAME_MODELS, ids=lambda model: type(model).__name__)
def test_dataframe_column_names_are_kept_and_checked_as_scikit_learn_does(model):
    import pandas as pd
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["alcohol", "pH", "sulphates"])
    y = (frame["alcohol"] > 0).astype(int) if not isinstance(model, helpers.MLPRegressor) else frame["pH"]
    use = (lambda X: model.transform(X)) if hasattr(model, "transform") else model.predict
    model.fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["alcohol", "pH", "sulphates"])
    use(frame)
    with pytest.raises(ValueError, match="Feature names must be in the same order as they were in fit"):
        use(frame[["pH", "alcohol", "sulphates"]])
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- acidity"):
        use(frame.rename(columns={"pH": "acidity"}))
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        use(frame.to_numpy())
    model.fit(frame.to_numpy(), y)
    assert not hasattr(model, "feature_names_in_")
    with pytest.warns(UserWarning, match="X has feature names, but"):
        use(frame)


def test_mixed_column_name_types_are_refused():
    import pandas as pd
    frame = pd.DataFrame(np.ones((6, 2)), columns=["a", 1])
    with pytest.raises(TypeError, match="only supported if all input features have string names"):
        helpers.PCA(1).fit(frame)
