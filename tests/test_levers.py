"""The tabular levers of the MLP: learning-rate schedules, class weights and label smoothing."""
import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

import helpers


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    y = np.where(rng.random(60) < 0.7, 0, np.where(rng.random(60) < 0.5, 1, 2))      # imbalanced classes
    return X, y


def test_schedules_start_at_the_learning_rate_and_decay():
    cosine, step = helpers.LR_SCHEDULES["cosine"], helpers.LR_SCHEDULES["step"]
    assert cosine(1, 90) == 1.0 and cosine(46, 90) == pytest.approx(0.5) and cosine(90, 90) < 0.01
    assert [step(epoch, 90) for epoch in (1, 30, 31, 61, 90)] == [1.0, 1.0, 0.5, 0.25, 0.25]


def test_a_schedule_changes_training_and_constant_is_the_default(data):
    X, y = data
    plain = helpers.MLPClassifier([5], epochs=20, learning_rate=0.1).fit(X, y)
    constant = helpers.MLPClassifier([5], epochs=20, learning_rate=0.1, lr_schedule="constant").fit(X, y)
    cosine = helpers.MLPClassifier([5], epochs=20, learning_rate=0.1, lr_schedule="cosine").fit(X, y)
    assert plain.history_["train_loss"] == constant.history_["train_loss"]
    assert cosine.history_["train_loss"] != plain.history_["train_loss"]


def test_balanced_class_weights_are_scikit_learns(data):
    X, y = data
    model = helpers.MLPClassifier([5], class_weight="balanced")
    model._prepare_fit(X, y, None, None)
    expected = compute_class_weight("balanced", classes=np.unique(y), y=y)
    assert model._row_weights == pytest.approx(expected[np.searchsorted(np.unique(y), y)])


@pytest.mark.parametrize("levers", [{"class_weight": "balanced"}, {"class_weight": {0: 0.5, 2: 3.0}},
                                    {"label_smoothing": 0.1}, {"class_weight": "balanced", "label_smoothing": 0.2}])
def test_the_levers_gradients_match_central_differences(data, levers):
    X, y = data
    table = helpers.MLPClassifier([6], activation="tanh", alpha=0.01, **levers).check_gradients(X, y)
    assert table.relative_diff.max() < 1e-7


def test_balanced_weights_for_two_classes_and_their_gradient(data):
    X, y = data
    table = helpers.MLPClassifier([6], activation="tanh", class_weight="balanced").check_gradients(X, y > 0)
    assert table.relative_diff.max() < 1e-7


def test_balanced_weights_raise_recall_on_the_rare_classes(data):
    X, y = data
    plain = helpers.MLPClassifier([8], epochs=150, learning_rate=0.05, seed=1).fit(X, y)
    balanced = helpers.MLPClassifier([8], epochs=150, learning_rate=0.05, seed=1, class_weight="balanced").fit(X, y)
    rare = y != 0
    assert np.mean(balanced.predict(X)[rare] == y[rare]) > np.mean(plain.predict(X)[rare] == y[rare])


def test_levers_that_do_not_apply_say_so(data):
    X, y = data
    with pytest.raises(ValueError, match="class_weight weights classes; task='regression' has none"):
        helpers.MLP([4], task="regression", class_weight="balanced").fit(X, y.astype(float))
    with pytest.raises(ValueError, match="label_smoothing smooths one-hot targets of a softmax output"):
        helpers.MLPClassifier([4], label_smoothing=0.1).fit(X, y > 0)
    with pytest.raises(ValueError, match="lr_schedule must be one of 'constant', 'cosine', 'step'; got 'linear'"):
        helpers.MLPClassifier([4], lr_schedule="linear").fit(X, y)
