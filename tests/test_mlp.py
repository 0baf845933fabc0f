"""The MLP against numerical gradients and scikit-learn, and its behaviour on good and bad input."""
import warnings

import numpy as np
import pytest
from sklearn import neural_network

import helpers



def make_task(task, rng, n=14, n_features=5, binary=False):
    X = rng.normal(size=(n, n_features))
    if task == "classification":
        n_classes = 2 if binary else 3
        return X, np.array(["cat", "dog", "emu"][:n_classes] * n)[:n]
    if task == "multilabel":
        Y = (rng.uniform(size=(n, 4)) > 0.5).astype(int)
        Y[0] = 1                                   # every label appears at least once
        return X, Y
    return X, X @ rng.normal(size=n_features) + 0.1 * rng.normal(size=n)


# (task, binary, loss): every output × loss pairing the engine allows, including sigmoid outputs trained with mse.
PAIRINGS = [("classification", False, "cross_entropy"), ("classification", False, "mse"),
            ("classification", True, "binary_cross_entropy"), ("classification", True, "mse"),
            ("multilabel", False, "binary_cross_entropy"), ("multilabel", False, "mse"),
            ("regression", False, "mse")]


@pytest.mark.parametrize("activation", list(helpers.ACTIVATIONS))
@pytest.mark.parametrize("task, binary, loss", PAIRINGS)
def test_backprop_matches_central_differences(task, binary, loss, activation, rng):
    X, y = make_task(task, rng, binary=binary)
    model = helpers.MLP([6, 4], activation=activation, task=task, loss=loss, alpha=0.1, seed=3)
    table = model.check_gradients(X, y, eps=1e-6)
    assert len(table) == 6 and set(table.parameter) == {"weights", "biases"}
    assert table.relative_diff.max() < 1e-6, table


def test_gradient_check_detects_a_wrong_gradient(rng, monkeypatch):
    """The check must be able to fail: break tanh's derivative and it has to notice."""
    X, y = make_task("regression", rng)
    monkeypatch.setitem(helpers.ACTIVATION_BACKWARD, "tanh", lambda a, delta: None)
    table = helpers.MLPRegressor([5], activation="tanh").check_gradients(X, y)
    assert table.relative_diff.max() > 1e-2


def sklearn_twin(model, X, y, **options):
    """A scikit-learn MLP with the same architecture, fitted briefly so it is usable, then given our weights."""
    cls = neural_network.MLPRegressor if model.task == "regression" else neural_network.MLPClassifier
    twin = cls(hidden_layer_sizes=model.hidden_layers, activation=helpers.SKLEARN_ACTIVATION[model.activation],
               solver="sgd", momentum=0.0, alpha=0.0, learning_rate_init=model.learning_rate, max_iter=1,
               shuffle=False, random_state=0, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twin.fit(X, y)
    twin.coefs_ = [w.copy() for w in model.weights_]
    twin.intercepts_ = [b.copy() for b in model.biases_]
    return twin


@pytest.mark.parametrize("activation", list(helpers.ACTIVATIONS))
@pytest.mark.parametrize("task, binary", [("classification", False), ("classification", True),
                                          ("multilabel", False), ("regression", False)])
def test_same_weights_give_sklearns_outputs(task, binary, activation, rng):
    X, y = make_task(task, rng, n=40, binary=binary)
    model = helpers.MLP([7, 5], activation=activation, task=task, epochs=3, seed=1).fit(X, y)
    twin = sklearn_twin(model, X, y)
    if task == "regression":
        np.testing.assert_allclose(model.predict(X), twin.predict(X), rtol=0, atol=1e-10)
    else:
        np.testing.assert_allclose(model.predict_proba(X), twin.predict_proba(X), rtol=0, atol=1e-10)
        np.testing.assert_array_equal(model.predict(X), twin.predict(X))


@pytest.mark.parametrize("task, binary", [("classification", False), ("classification", True),
                                          ("multilabel", False), ("regression", False)])
def test_one_gradient_step_equals_sklearns(task, binary, rng):
    """Same weights, one full-batch plain-SGD step (momentum 0, alpha 0, no shuffling) → same new weights.
    Our squared-error loss is scikit-learn's ½·mean, so the steps agree for regression too."""
    X, y = make_task(task, rng, n=30, binary=binary)
    model = helpers.MLP([6, 5], activation="tanh", task=task, epochs=2, learning_rate=0.1, seed=2).fit(X, y)
    twin = sklearn_twin(model, X, y, batch_size=len(X))
    stepped = helpers.MLP([6, 5], activation="tanh", task=task, optimizer="batch_gd", learning_rate=0.1,
                          epochs=1, shuffle=False, warm_start=True)
    stepped.weights_, stepped.biases_ = [w.copy() for w in model.weights_], [b.copy() for b in model.biases_]
    stepped.fit(X, y)
    twin.partial_fit(X, y)
    assert not np.allclose(stepped.weights_[0], model.weights_[0])    # a step was really taken
    for ours, theirs in zip(stepped.weights_ + stepped.biases_, twin.coefs_ + twin.intercepts_):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_learns_a_separable_problem(rng):
    X = np.vstack([rng.normal(-2, 0.5, size=(60, 2)), rng.normal(2, 0.5, size=(60, 2)),
                   rng.normal([2, -2], 0.5, size=(60, 2))])
    y = np.repeat(["a", "b", "c"], 60)
    model = helpers.MLPClassifier([16], activation="tanh", epochs=60, learning_rate=0.05).fit(X, y)
    assert model.score(X, y) == 1.0
    assert list(model.classes_) == ["a", "b", "c"] and set(model.predict(X)) == {"a", "b", "c"}
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_learns_a_smooth_regression(rng):
    X = rng.uniform(-2, 2, size=(400, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    model = helpers.MLPRegressor([32, 32], activation="tanh", optimizer="adam", learning_rate=0.01,
                                 epochs=300).fit(X, y)
    assert model.score(X, y) > 0.99
    assert model.predict(X).shape == (400,)


def test_multilabel_threshold_and_history(rng):
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 0]).astype(int)
    model = helpers.MultiLabelMLPClassifier([16], activation="relu", epochs=100, learning_rate=0.1)
    model.fit(X[:150], Y[:150], X[150:], Y[150:])
    assert model.score(X[150:], Y[150:]) > 0.9
    assert set(model.history_) == {"epoch", "train_loss", "train_hamming_accuracy", "val_loss",
                                   "val_hamming_accuracy"}
    assert len(model.history_["val_loss"]) == 100 and model.history_["val_loss"][-1] < model.history_["val_loss"][0]
    strict = np.array(model.predict_proba(X) > 0.9, dtype=int)
    model.threshold = 0.9
    np.testing.assert_array_equal(model.predict(X), strict)


def test_early_stopping_restores_the_best_weights(rng):
    X = rng.normal(size=(60, 8))
    y = rng.integers(0, 3, size=60)                  # pure noise: validation loss soon rises
    X_val, y_val = rng.normal(size=(40, 8)), rng.integers(0, 3, size=40)
    model = helpers.MLPClassifier([64], activation="relu", learning_rate=0.1, epochs=500, patience=5)
    model.fit(X, y, X_val, y_val)
    val_losses = model.history_["val_loss"]
    best = int(np.argmin(val_losses))
    assert model.n_epochs_ < 500 and model.best_epoch_ == best + 1
    assert model.n_epochs_ == model.best_epoch_ + 5
    restored = helpers.cross_entropy(np.eye(3)[y_val], model.predict_proba(X_val))
    assert restored == pytest.approx(val_losses[best], rel=1e-12)


@pytest.mark.parametrize("optimizer", list(helpers.OPTIMIZERS))
def test_seed_makes_fit_repeatable_bit_for_bit(optimizer, rng):
    X, y = make_task("classification", rng, n=50)
    runs = [helpers.MLPClassifier([8], optimizer=optimizer, epochs=5, seed=seed).fit(X, y) for seed in (7, 7, 8)]
    for ours, again in zip(runs[0].weights_, runs[1].weights_):
        np.testing.assert_array_equal(ours, again)
    assert runs[0].history_ == runs[1].history_
    assert not np.array_equal(runs[0].weights_[0], runs[2].weights_[0])


def test_divergence_stops_keeps_finite_weights_and_warns(rng):
    X = rng.normal(size=(50, 3)) * 100
    y = X @ np.array([1e3, -2e3, 5e2])
    model = helpers.MLPRegressor([16], activation="relu", learning_rate=10.0, epochs=50)
    with pytest.warns(RuntimeWarning, match="diverged"):
        model.fit(X, y)
    assert model.diverged_ and model.n_epochs_ < 50
    assert all(np.isfinite(w).all() for w in model.weights_ + model.biases_)
    assert np.isfinite(model.predict(X)).all()


def test_initialisation_is_glorot_uniform_for_weights_and_biases():
    """Every layer's weights and biases ~ U(±√(6 / (fan_in + fan_out))), whatever the activation: biases drawn like
    the weights (not zeros) made our training match scikit-learn's in the benchmark's quality rows."""
    X, y = np.random.default_rng(0).normal(size=(10, 400)), np.arange(10) % 2
    for activation in ("relu", "tanh", "sigmoid"):
        model = helpers.MLPClassifier([300, 200], activation=activation, epochs=1, learning_rate=1e-12).fit(X, y)
        for (n_in, n_out), weights, biases in zip([(400, 300), (300, 200), (200, 1)], model.weights_, model.biases_):
            limit = np.sqrt(6 / (n_in + n_out))
            assert np.abs(weights).max() <= limit and np.abs(biases).max() <= limit
            assert np.std(weights) == pytest.approx(limit / np.sqrt(3), rel=0.05)
        assert np.std(model.biases_[0]) == pytest.approx(np.sqrt(6 / 700) / np.sqrt(3), rel=0.15)


def test_config_builders_agree_with_each_other():
    config = {"hidden_layers": [8, 4], "activation": "sigmoid", "optimizer": "sgd", "learning_rate": 0.05,
              "batch_size": 16, "epochs": 30}
    ours = helpers.mlp_from_config(config, "regression", patience=5)
    twin = helpers.sklearn_twin(config, "regression", n_train=100, patience=5)
    assert (ours.hidden_layers, ours.activation, ours.optimizer, ours.patience) == ([8, 4], "sigmoid", "sgd", 5)
    assert twin.hidden_layer_sizes == (8, 4) and twin.activation == "logistic" and twin.batch_size == 1
    assert (twin.solver, twin.momentum, twin.max_iter, twin.n_iter_no_change) == ("sgd", 0.0, 30, 5)
    assert helpers.sklearn_twin({**config, "optimizer": "batch_gd"}, "classification", n_train=100).batch_size == 100


def test_float32_training_follows_float64_and_stays_float32():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    settings = dict(hidden_layers=[16, 8], activation="tanh", optimizer="adam", learning_rate=0.01, batch_size=32,
                    epochs=15, seed=3)
    double = helpers.MLPClassifier(**settings).fit(X, y)
    single = helpers.MLPClassifier(**settings, dtype="float32").fit(X, y)
    assert all(weights.dtype == np.float32 for weights in single.weights_)
    assert single.predict_proba(X).dtype == np.float32
    np.testing.assert_allclose(single.history_["train_loss"], double.history_["train_loss"], rtol=1e-3)
    assert np.mean(single.predict(X) == double.predict(X)) > 0.98
    with pytest.raises(ValueError, match="check_gradients needs a float64 model"):
        single.check_gradients(X[:5], y[:5])
    with pytest.raises(ValueError, match="dtype must be one of 'float64', 'float32'; got 'float16'"):
        helpers.MLPClassifier(dtype="float16").fit(X, y)


def test_float32_binary_cross_entropy_never_takes_log_of_zero():
    targets = np.array([[1.0], [0.0]], dtype=np.float32)
    certain = np.array([[0.0], [1.0]], dtype=np.float32)        # confidently wrong, in float32
    assert np.isfinite(helpers.binary_cross_entropy(targets, certain))


def test_early_stopping_tolerance_ignores_tiny_improvements():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(200, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(scale=0.1, size=200)
    settings = dict(hidden_layers=[8], optimizer="mini_batch_gd", learning_rate=0.01, epochs=300, patience=5, seed=0)
    strict = helpers.MLPRegressor(**settings).fit(X[:150], y[:150], X[150:], y[150:])
    tolerant = helpers.MLPRegressor(**settings, tol=1e-2).fit(X[:150], y[:150], X[150:], y[150:])
    assert tolerant.n_epochs_ < strict.n_epochs_
    losses = tolerant.history_["val_loss"]
    best = tolerant.best_epoch_
    # no later epoch improved on the kept one by more than tol, and training stopped `patience` epochs after it
    assert all(loss >= losses[best - 1] - 1e-2 for loss in losses[best:])
    assert tolerant.n_epochs_ == best + 5
