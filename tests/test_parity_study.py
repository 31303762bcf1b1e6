"""Parities: the enumerated family, its gradient variance against Theorem 1, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.landscapes.mlp import MLP
from sgdsde.measure.gradient_stats import gradient_variance_bound, target_family_gradient_variance
from sgdsde.studies.parity import (
    _all_subsets,
    parity_accuracy,
    parity_gradient_variance,
    parity_inputs,
    parity_targets,
    random_subset,
    train_parity,
)


def test_parity_table_is_the_orthogonal_walsh_family():
    d = 4
    x, table = parity_inputs(d), parity_targets(d)
    explicit = np.stack([np.prod(np.where(s, x, 1.0), axis=1) for s in _all_subsets(d)])
    np.testing.assert_array_equal(table, explicit)
    np.testing.assert_array_equal(table @ table.T, 2**d * np.eye(2**d))


def test_fast_variance_is_the_generic_one_and_parseval_closes_the_bound():
    d = 5
    x = parity_inputs(d)
    net = MLP(x, x[:, 0], widths=[7, 3], activation=["tanh", "sigmoid"], loss="mse")
    theta = net.init_params(2, seed=3)
    variance, bound, shift = parity_gradient_variance(net, theta)
    def make(y):
        return MLP(x, y, widths=[7, 3], activation=["tanh", "sigmoid"], loss="mse")

    generic = target_family_gradient_variance(make, parity_targets(d), theta)
    np.testing.assert_allclose(variance, generic, rtol=1e-10)
    np.testing.assert_allclose(bound, gradient_variance_bound(net, theta, 2**d), rtol=1e-12)
    np.testing.assert_allclose(variance + shift, bound, rtol=1e-10)
    assert np.all(variance <= bound)


def test_the_variance_falls_like_two_to_the_minus_d():
    # G² = E_x |∂p/∂θ|² is O(1) at LeCun initialisation, so 2^d · Var stays O(1) while Var falls
    scaled = []
    for d in (4, 6, 8):
        x = parity_inputs(d)
        net = MLP(x, x[:, 0], widths=[16], loss="mse")
        variance, bound, _ = parity_gradient_variance(net, net.init_params(4, seed=1))
        scaled.append(2**d * variance.mean())
    assert max(scaled) / min(scaled) < 3


def test_bad_input_is_named():
    with pytest.raises(MemoryError, match=r"need 2 GiB \(> max_bytes = 1 GiB\); use d <= 13"):
        parity_targets(14)
    with pytest.raises(ValueError, match="d must be an integer >= 1"):
        parity_inputs(0)
    x = parity_inputs(3)
    with pytest.raises(ValueError, match="single output"):
        parity_gradient_variance(MLP(x, np.zeros((8, 2)), widths=[2], loss="mse"), np.zeros((1, 16)))
    net = MLP(x[::-1], x[:, 0], widths=[2], loss="mse")
    with pytest.raises(ValueError, match="inputs must be the cube"):
        parity_gradient_variance(net, net.init_params(1))
    with pytest.raises(ValueError, match="size must be an integer in"):
        random_subset(5, 6)
    # seed=None was a TypeError at seed + 1
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got None"):
        train_parity(4, 2, n_steps=1, n_train=8, n_test=8, seed=None)


def test_random_subset_and_accuracy():
    mask = random_subset(10, 4, seed=2)
    assert mask.sum() == 4 and mask.dtype == bool
    np.testing.assert_array_equal(mask, random_subset(10, 4, seed=2))
    d = 3
    x = parity_inputs(d)
    net = MLP(x, x[:, 0], widths=[2], activation="linear", loss="mse")
    theta = np.zeros((1, net.dim))
    w1, b1, w2, b2 = net.unflatten(theta)
    w1[0, 0, 0], w2[0, 0, 0] = 1.0, 1.0  # p(x) = x_0: the parity of S = {0}
    assert parity_accuracy(net, theta, x, [True, False, False])[0] == 1.0
    assert parity_accuracy(net, theta, x, [True, True, False])[0] == 0.5


def test_sgd_learns_a_short_parity():
    # 3 bits of 6: learned within a few hundred steps (measured: accuracy 1.0 from step ~300)
    steps, accuracy, subset = train_parity(6, 3, widths=[32], lr=0.05, batch_size=32, n_steps=600, n_runs=2,
                                           n_train=2048, n_test=512, record_every=300, seed=1)
    assert steps.tolist() == [0, 300, 600] and subset.sum() == 3
    assert np.all(np.abs(accuracy[0] - 0.5) < 0.15)  # chance at initialisation (512 test points)
    assert np.all(accuracy[-1] > 0.95)


@pytest.mark.parametrize("subset", [[True], [0, 1, 0], [1, 0, 0], np.array([True, False])])
def test_parity_accuracy_needs_a_boolean_mask_over_the_bits(subset):
    # Before: a mask of length 1 broadcast to every bit (the parity of all bits) and index
    # or 0/1 lists were cast to bool; the wrong parity was scored without a word.
    d = 3
    x = parity_inputs(d)
    net = MLP(x, x[:, 0], widths=[2], activation="linear", loss="mse")
    theta = np.zeros((1, net.dim))
    with pytest.raises(ValueError, match=r"subset must be a boolean mask of shape \(d,\) = \(3,\)"):
        parity_accuracy(net, theta, x, subset)


def test_parity_gradient_variance_at_non_finite_parameters_raises():
    # Before: variance, bound and mean shift came back nan
    x = parity_inputs(3)
    net = MLP(x, x[:, 0], widths=[2], loss="mse")
    theta = net.init_params(2, seed=0)
    theta[1, 0] = np.inf
    with pytest.raises(ValueError, match=r"theta contains NaN or inf \(row 1\)"):
        parity_gradient_variance(net, theta)
