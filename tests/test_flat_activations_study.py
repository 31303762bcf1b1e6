"""Flat activations: the staircase, the vanishing gradient, the non-gradient rule that learns."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.landscapes.mlp import MLP
from sgdsde.studies.flat_activations import (
    fit_single_neuron,
    forward_only_direction,
    single_neuron_gradient,
    single_neuron_loss,
    staircase,
)


def _problem(n=400, p=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) / np.sqrt(p)
    w_star = rng.normal(size=p)
    w_star *= 3 / np.linalg.norm(w_star)
    return x, staircase(x @ w_star), w_star, rng.normal(size=(3, p)) * 0.3


def test_staircase_is_a_monotone_step_function():
    r = np.linspace(-2, 2, 4001)
    u = staircase(r, 4)
    assert set(np.unique(u)) == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert np.all(np.diff(u) >= 0)
    np.testing.assert_array_equal(staircase(np.array([-0.76, -0.74, 0.74, 0.76]), 4), [0, 0.25, 0.75, 1.0])
    with pytest.raises(ValueError, match="levels must be an integer >= 1"):
        staircase(r, 0)


def test_gradient_vanishes_and_matches_finite_differences_of_the_flat_loss():
    x, y, w_star, w0 = _problem()
    g = single_neuron_gradient(w0, x, y)
    assert np.all(g == 0)
    eps = 1e-9  # far below the distance of any w·x_i to a threshold (checked)
    margins = np.abs((w0 @ x.T)[..., None] - (-1.0 + (2.0 * np.arange(1, 6) - 1.0) / 5))
    assert margins.min() > 10 * eps * np.abs(x).max()
    fd = np.stack([single_neuron_loss(w0 + eps * e, x, y) - single_neuron_loss(w0 - eps * e, x, y)
                   for e in np.eye(x.shape[1])], axis=1) / (2 * eps)
    np.testing.assert_array_equal(fd, 0.0)


def test_forward_only_rule_converges_while_gradient_descent_does_not_move():
    x, y, w_star, w0 = _problem()
    steps, losses, w = fit_single_neuron(w0, x, y, rule="gradient", lr=0.3, n_steps=50, record_every=25)
    np.testing.assert_array_equal(losses[-1], losses[0])
    np.testing.assert_array_equal(w, w0)
    steps, losses, w = fit_single_neuron(w0, x, y, rule="forward_only", lr=0.5, n_steps=300, record_every=100)
    assert steps.tolist() == [0, 100, 200, 300]
    assert np.all(losses[-1] < 0.1 * losses[0])
    assert np.all(np.linalg.norm(w - w_star, axis=1) < 0.5 * np.linalg.norm(w0 - w_star, axis=1))
    # the direction is a descent direction for |w − w*|²: (w − w*)·direction >= 0
    assert np.all(np.einsum("mp,mp->m", w0 - w_star, forward_only_direction(w0, x, y)) >= 0)
    with pytest.raises(ValueError, match="rule must be one of"):
        fit_single_neuron(w0, x, y, rule="adam", lr=0.1, n_steps=1)


def test_step_network_first_layer_gets_exactly_no_gradient():
    x, y, _, _ = _problem()
    net = MLP(x, y, widths=[16], activation="step", loss="mse")
    theta = net.init_params(2, seed=1)
    g = net.grad(theta)
    assert np.all(g[:, : 16 * (x.shape[1] + 1)] == 0) and np.any(g[:, 16 * (x.shape[1] + 1):] != 0)


def test_nan_is_not_read_as_below_every_step():
    # Before: NaN > t_j is False, so u(NaN) = 0: staircase(nan) returned 0.0, and a NaN weight
    # reported a loss of 0 against zero targets (fit_single_neuron: losses [0, 0, 0]).
    assert np.isnan(staircase(np.nan))
    np.testing.assert_array_equal(staircase(np.array([np.nan, 0.5]), 2), [np.nan, 0.5])
    x, y = np.ones((4, 2)), np.zeros(4)
    w = np.array([[np.nan, 0.0]])
    with pytest.raises(ValueError, match="w contains NaN or inf"):
        fit_single_neuron(w, x, y, rule="forward_only", lr=0.1, n_steps=2)
    with pytest.raises(ValueError, match="w contains NaN or inf"):
        single_neuron_loss(w, x, y)
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        forward_only_direction(np.zeros((1, 2)), np.full((4, 2), np.nan), y)
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        single_neuron_gradient(np.zeros((1, 2)), x, np.array([0.0, np.inf, 0.0, 0.0]))
