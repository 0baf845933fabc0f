"""Target views (levers of issue 17): ordinal wine as a rounded regression or as cumulative targets, and a log
target for prices; and the input transforms (quantiles, piecewise-linear encoding). Each wrapper trains the same
MLP on another form of its target or inputs."""
import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.linear_model import LinearRegression

import helpers


class Fixed(BaseEstimator):
    """A stand-in inner model whose outputs are given: tests the wrappers' mapping alone."""

    def __init__(self, outputs=None):
        self.outputs = outputs

    def fit(self, X, y, X_val=None, y_val=None):
        self.fitted_on_, self.n_features_in_ = (np.asarray(y), None if y_val is None else np.asarray(y_val)), 1
        return self

    def predict(self, X):
        return np.asarray(self.outputs)

    predict_proba = predict


@pytest.fixture
def scores():
    """Ordered classes 3–8 that a straight line through the first feature separates."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    quality = np.clip(np.round(5.5 + 1.2 * X[:, 0]), 3, 8).astype(int)
    return X, quality


def test_rounded_regression_picks_the_nearest_class_seen_in_training():
    X = np.zeros((4, 1))
    model = helpers.RoundedRegression(Fixed()).fit(X, np.array([1, 1, 5, 5]))
    scale = model.score_std_
    # predictions in score units 2.9, 3.1, −7 and 12 → nearest of the classes {1, 5}: 1, 5, 1, 5
    model.regressor_.outputs = (np.array([2.9, 3.1, -7.0, 12.0]) - model.score_mean_) / scale
    assert model.predict(X).tolist() == [1, 5, 1, 5]
    assert model.regressor_.fitted_on_[0] == pytest.approx([-1, -1, 1, 1])        # the standardised scores


def test_rounded_regression_learns_ordered_scores(scores):
    X, quality = scores
    model = helpers.RoundedRegression(LinearRegression()).fit(X, quality)
    assert model.classes_.tolist() == [3, 4, 5, 6, 7, 8]
    assert model.score(X, quality) > 0.75 and set(model.predict(X)) <= set(model.classes_)


def test_cumulative_targets_ask_is_y_above_each_class(scores):
    X, quality = scores
    model = helpers.CumulativeTargets(Fixed()).fit(X[:3], np.array([3, 5, 8]), X[:1], np.array([5]))
    assert model.estimator_.fitted_on_[0].tolist() == [[0, 0], [1, 0], [1, 1]]
    assert model.estimator_.fitted_on_[1].tolist() == [[1, 0]]


def test_cumulative_probabilities_are_clipped_differences_renormalised():
    model = helpers.CumulativeTargets(Fixed()).fit(np.zeros((3, 1)), np.array([1, 2, 3]))
    model.estimator_.outputs = [[0.8, 0.3], [0.2, 0.7]]       # the second row is not monotone: P(y>2) > P(y>1)
    probabilities = model.predict_proba(np.zeros((2, 1)))
    assert probabilities[0] == pytest.approx([0.2, 0.5, 0.3])
    assert probabilities[1] == pytest.approx([0.8 / 1.5, 0.0, 0.7 / 1.5])
    assert model.predict(np.zeros((2, 1))).tolist() == [2, 1]


def test_cumulative_targets_learn_ordered_scores(scores):
    X, quality = scores
    model = helpers.CumulativeTargets(helpers.MultiLabelMLPClassifier([8], epochs=150, learning_rate=0.1)).fit(
        X, quality)
    assert model.score(X, quality) > 0.75


def test_ordinal_views_refuse_labels_without_an_order():
    X = np.zeros((4, 1))
    for view in (helpers.RoundedRegression(Fixed()), helpers.CumulativeTargets(Fixed())):
        with pytest.raises(ValueError, match="ordinal view: it needs numeric class labels"):
            view.fit(X, np.array(["red", "red", "white", "white"]))


def test_log_target_fits_the_log_and_answers_in_the_targets_scale():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2))
    prices = np.exp(3.0 + 0.5 * X[:, 0] - 0.2 * X[:, 1])          # log-linear in X: a linear model of the log is exact
    mean, std = prices.mean(), prices.std()
    model = helpers.LogTarget(LinearRegression(), mean, std).fit(X, (prices - mean) / std)
    assert model.predict(X) * std + mean == pytest.approx(prices, rel=1e-9)
    plain = LinearRegression().fit(X, (prices - mean) / std)
    assert model.score(X, (prices - mean) / std) > plain.score(X, (prices - mean) / std)


def test_log_target_transforms_the_validation_rows_too():
    X, y = np.zeros((3, 1)), np.array([1.0, 2.0, 4.0])
    model = helpers.LogTarget(Fixed(), target_mean=0.0, target_std=1.0).fit(X, y, X[:1], np.array([2.0]))
    logs = np.log(y)
    assert model.regressor_.fitted_on_[1] == pytest.approx((np.log(2.0) - logs.mean()) / logs.std())


def test_log_target_says_when_the_units_are_not_positive():
    with pytest.raises(ValueError, match="y in its units .* must be positive, but its smallest value is -1"):
        helpers.LogTarget(Fixed()).fit(np.zeros((2, 1)), np.array([-1.0, 2.0]))


CONFIG = {"hidden_layers": [4], "activation": "relu", "optimizer": "sgd", "learning_rate": 0.01, "batch_size": 8,
          "epochs": 2}


def test_configs_ask_for_target_views():
    base = CONFIG
    rounded = helpers.mlp_from_config({**base, "target": "rounded"})
    cumulative = helpers.mlp_from_config({**base, "target": "cumulative"})
    log = helpers.mlp_from_config({**base, "target": "log"}, "regression", target_units=(22.5, 9.2))
    assert isinstance(rounded, helpers.RoundedRegression) and rounded.regressor.task == "regression"
    assert isinstance(cumulative, helpers.CumulativeTargets) and cumulative.estimator.task == "multilabel"
    assert isinstance(log, helpers.LogTarget) and (log.target_mean, log.target_std) == (22.5, 9.2)
    with pytest.raises(ValueError, match="config target must be one of 'rounded', 'cumulative', 'log'; got 'sqrt'"):
        helpers.mlp_from_config({**base, "target": "sqrt"})


def test_quantile_inputs_are_transformed_with_the_training_quantiles():
    rng = np.random.default_rng(2)
    X = rng.lognormal(size=(300, 2))                           # skewed features
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    model = helpers.mlp_from_config({**CONFIG, "input_transform": "quantile"}).set_params(estimator=Fixed())
    model.fit(X, y, X[:5], y[:5])
    transformed = model.transformer_.transform(X)
    assert abs(np.median(transformed[:, 0])) < 0.05 and abs(transformed.std(axis=0) - 1).max() < 0.1
    assert model.estimator_.fitted_on_[1].tolist() == y[:5].tolist()
    with pytest.raises(ValueError, match="X has 3 features, but TransformedInput is expecting 2"):
        model.predict(np.zeros((1, 3)))


def test_piecewise_linear_encoding_places_each_value_in_its_bin():
    encoder = helpers.PiecewiseLinearEncoder(3).fit(np.array([[0.0], [1.0], [2.0], [4.0]]))
    encoder.edges_ = [np.array([0.0, 1.0, 2.0, 4.0])]           # the bins [0, 1], [1, 2], [2, 4]
    encoded = encoder.transform(np.array([[-1.0], [0.5], [1.5], [3.0], [5.0]]))
    assert encoded.tolist() == [[-1.0, 0.0, 0.0], [0.5, 0.0, 0.0], [1.0, 0.5, 0.0], [1.0, 1.0, 0.5], [1.0, 1.0, 1.5]]


def test_piecewise_linear_bins_are_training_quantiles_and_few_valued_columns_get_fewer():
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.normal(size=400), rng.integers(0, 2, 400), np.full(400, 7.0)])
    encoder = helpers.PiecewiseLinearEncoder(8).fit(X)
    assert encoder.edges_[0] == pytest.approx(np.quantile(X[:, 0], np.linspace(0, 1, 9)))
    assert encoder.edges_[1].tolist() == [0.0, 1.0] and encoder.edges_[2].tolist() == [7.0, 8.0]
    encoded = encoder.transform(X)
    assert encoded.shape == (400, 8 + 1 + 1)
    assert encoded[:, 8].tolist() == X[:, 1].tolist() and np.all(encoded[:, 9] == 0.0)
    # inside the training range, each row's codes add up to where it lies: the bins below it full, its own partly
    inside = encoded[:, :8]
    assert np.all((inside >= 0) & (inside <= 1)) and np.all(np.diff(inside, axis=1) <= 0)


def test_an_unknown_input_transform_is_named():
    with pytest.raises(ValueError, match="input_transform must be one of 'quantile', 'piecewise_linear'; got 'log'"):
        helpers.mlp_from_config({**CONFIG, "input_transform": "log"})
