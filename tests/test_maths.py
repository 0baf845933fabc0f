"""Activations, output functions and losses: formulas, derivatives and numerical stability."""
import warnings

import numpy as np
import pytest
from sklearn.metrics import log_loss

import helpers

EXTREME = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "linear", "softmax"])
def test_activations_are_finite_and_silent_at_extreme_logits(name):
    function = helpers.ACTIVATIONS.get(name) or helpers.OUTPUT_ACTIVATIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is harmless
            values = function(EXTREME)
    assert np.isfinite(values).all()


def test_activation_values_match_their_formulas(rng):
    z = rng.normal(size=(4, 5)) * 3
    np.testing.assert_allclose(helpers.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(helpers.relu(z), np.where(z > 0, z, 0))
    softmax = helpers.softmax(z)
    np.testing.assert_allclose(softmax, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(helpers.softmax(EXTREME).sum(), 1.0)
    assert helpers.sigmoid(np.array([-1000.0]))[0] == 0.0 and helpers.sigmoid(np.array([1000.0]))[0] == 1.0


@pytest.mark.parametrize("name", list(helpers.ACTIVATIONS))
def test_backward_multiplies_by_the_derivative(name, rng):
    z = rng.normal(size=(6, 4)) * 2
    z[np.abs(z) < 1e-3] = 0.5       # keep away from relu's kink
    activation = helpers.ACTIVATIONS[name]
    eps = 1e-6
    numeric = (activation(z + eps) - activation(z - eps)) / (2 * eps)
    delta = np.ones_like(z)
    helpers.ACTIVATION_BACKWARD[name](activation(z), delta)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)


def test_losses_never_take_log_of_zero_and_match_sklearn(rng):
    targets = np.eye(3)[[0, 1, 2, 1]]
    hard = np.eye(3)[[1, 1, 2, 0]]          # confident and wrong: p = 0 for a true class
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert np.isfinite(helpers.cross_entropy(targets, hard))
        assert np.isfinite(helpers.binary_cross_entropy(targets, hard))
    probabilities = helpers.softmax(rng.normal(size=(4, 3)))
    assert helpers.cross_entropy(targets, probabilities) == pytest.approx(
        log_loss(targets.argmax(1), probabilities, labels=[0, 1, 2]), rel=1e-12)
    p = rng.uniform(0.05, 0.95, size=(5, 2))
    y = (rng.uniform(size=(5, 2)) > 0.5).astype(float)
    expected = -np.mean(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1))
    assert helpers.binary_cross_entropy(y, p) == pytest.approx(expected, rel=1e-12)
    # (1/2n)·Σ 4 = 2
    assert helpers.half_mean_squared_error(np.zeros((4, 1)), np.full((4, 1), 2.0)) == pytest.approx(2.0)


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_unmatched_output_delta_is_the_chain_rule(output, rng):
    """mse through a softmax or sigmoid output: δ must equal the numerical ∂L/∂z."""
    z = rng.normal(size=(3, 4))
    targets = np.eye(4)[[0, 2, 3]]
    activation = helpers.OUTPUT_ACTIVATIONS[output]
    delta = helpers.output_delta(output, "mse", targets, activation(z))
    numeric = np.zeros_like(z)
    eps = 1e-6
    for index in np.ndindex(z.shape):
        shifted = z.copy()
        shifted[index] += eps
        upper = helpers.half_mean_squared_error(targets, activation(shifted))
        shifted[index] -= 2 * eps
        numeric[index] = (upper - helpers.half_mean_squared_error(targets, activation(shifted))) / (2 * eps)
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("name", list(helpers.OPTIMIZERS))
def test_optimizers_descend_a_quadratic(name):
    """Every update rule drives f(θ) = ½‖θ − 3‖² towards its minimum."""
    rule, _ = helpers.OPTIMIZERS[name]
    optimizer = rule(0.05)
    params = np.zeros(4)
    for _ in range(500):
        optimizer.step(params, params - 3.0)
    np.testing.assert_allclose(params, 3.0, atol=1e-2)
