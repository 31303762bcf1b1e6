"""Noise injected at a layer, propagated upward; layer cushions."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.generalisation.noise_stability import forward_from, layer_cushion, noise_attenuation
from sgdsde.landscapes.mlp import MLP
from sgdsde.random import STREAM_USER, normals

X = normals(1, np.arange(30), 0, 5, STREAM_USER + 45)
Y = np.arange(30) % 3


@pytest.fixture(scope="module")
def net():
    return MLP(X, Y, widths=(7, 6, 4), activation="tanh")


def test_forward_from_reproduces_the_clean_pass(net):
    theta = net.init_params(3, seed=2)
    layers = net.layer_outputs(theta)
    for layer in range(net.n_layers):
        h = np.broadcast_to(X, (3, *X.shape)) if layer == 0 else layers[layer - 1]
        out = forward_from(net, theta, h, layer)
        assert len(out) == net.n_layers - layer + 1
        for a, b in zip(out[1:], layers[layer:]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_linear_network_attenuation_is_the_product_of_weights():
    lin = MLP(X, Y, widths=(6, 6), activation="linear")
    theta = lin.init_params(2, seed=3)
    eps = 0.1
    rel = noise_attenuation(lin, theta, 1, eps, seed=4)
    np.testing.assert_allclose(rel[:, 0], eps, rtol=1e-12)  # the injection itself
    # rebuild the injected vectors and push them through W_3 W_2 by hand
    h1 = lin.layer_outputs(theta)[0]
    xi = normals(4, np.arange(2 * 30), 0, 6, STREAM_USER + 44).reshape(2, 30, 6)
    xi *= eps * np.linalg.norm(h1, axis=2, keepdims=True) / np.linalg.norm(xi, axis=2, keepdims=True)
    parts = lin.unflatten(theta)
    d2 = xi @ parts[2].transpose(0, 2, 1)
    d3 = d2 @ parts[4].transpose(0, 2, 1)
    h2, o = lin.layer_outputs(theta)[1:]
    for col, (delta, clean) in enumerate(((d2, h2), (d3, o)), start=1):
        expected = np.mean(np.linalg.norm(delta, axis=2) / np.linalg.norm(clean, axis=2), axis=1)
        np.testing.assert_allclose(rel[:, col], expected)


def test_small_noise_propagates_linearly(net):
    theta = net.init_params(2, seed=5)
    small = noise_attenuation(net, theta, 1, 1e-4, seed=6)
    double = noise_attenuation(net, theta, 1, 2e-4, seed=6)
    np.testing.assert_allclose(double / small, 2.0, rtol=1e-3)  # same directions, tanh is smooth
    averaged = noise_attenuation(net, theta, 2, 0.05, seed=6, n_draws=3)
    assert averaged.shape == (2, net.n_layers - 2 + 1) and np.all(averaged > 0)


def test_layer_cushion_bounds_and_an_aligned_layer():
    theta = MLP(X, Y, widths=(7, 6), activation="tanh").init_params(2, seed=7)
    mu = layer_cushion(MLP(X, Y, widths=(7, 6), activation="tanh"), theta)
    assert mu.shape == (2, 3) and np.all((mu > 0) & (mu <= 1))
    # a rank-one first layer W_1 = u vᵀ on inputs parallel to v has cushion exactly 1
    v = np.array([1.0, 2.0, 0.0, -1.0, 0.5])
    x_parallel = np.outer(np.linspace(1, 2, 10), v)
    one = MLP(x_parallel, np.arange(10) % 2, widths=(3,), activation="linear")
    parts = list(one.unflatten(one.init_params(1, seed=8)))
    parts[0] = np.outer([1.0, -2.0, 0.5], v)[None]
    mu_one = layer_cushion(one, one.flatten(parts))
    np.testing.assert_allclose(mu_one[0, 0], 1.0, rtol=1e-12)
    assert layer_cushion(one, one.flatten(parts), quantile=0.5)[0, 0] == pytest.approx(1.0)


def test_bad_input(net):
    theta = net.init_params(1, seed=1)
    for eps in (0.0, -0.1, np.nan):
        with pytest.raises(ValueError, match="epsilon"):
            noise_attenuation(net, theta, 1, eps, seed=1)
    for layer in (-1, net.n_layers, 1.5):
        with pytest.raises(ValueError, match="layer must be an integer in"):
            noise_attenuation(net, theta, layer, 0.1, seed=1)
    with pytest.raises(ValueError, match="quantile"):
        layer_cushion(net, theta, quantile=1.5)
    with pytest.raises(TypeError, match="MLP"):
        layer_cushion(object(), theta)
    with pytest.raises(ValueError, match="h must have shape"):
        forward_from(net, theta, np.zeros((1, 3, 2)), 1)


def test_layer_cushion_skips_inputs_whose_layer_input_is_zero():
    # |W h| / (|W| |h|) is 0/0 at h = 0: one zero input made μ_1 NaN for every network
    x0 = X.copy()
    x0[4] = 0.0
    with_zero = MLP(x0, Y, widths=(7, 6), activation="tanh")
    theta = with_zero.init_params(2, seed=7)
    mu = layer_cushion(with_zero, theta)
    assert np.all(np.isfinite(mu))
    keep = np.delete(np.arange(30), 4)
    np.testing.assert_allclose(mu[:, 0], layer_cushion(with_zero, theta, batch=keep)[:, 0], rtol=1e-12)
    # with every input of a layer at zero the cushion is undefined: an error, not NaN
    all_zero = MLP(np.zeros((6, 5)), np.arange(6) % 3, widths=(4,), activation="tanh")
    with pytest.raises(ValueError, match="layer 1"):
        layer_cushion(all_zero, all_zero.init_params(1, seed=0))
    zero_w = with_zero.init_params(1, seed=0)
    zero_w[0, :35] = 0.0  # W_1 (7 x 5) = 0
    with pytest.raises(ValueError, match="W_1 is zero"):
        layer_cushion(with_zero, zero_w)


@pytest.mark.parametrize("batch, error, match", [
    ([], TypeError, "batch must be an integer array"),  # was IndexError (float index array)
    (np.array([], dtype=int), ValueError, "at least one example"),
    ([0.0, 1.0], TypeError, "batch must be an integer array"),  # was IndexError
    ([[0, 1, 2], [3, 4, 5]], ValueError, r"batch must be a vector"),  # was a broadcasting error
    ([0, 30], ValueError, r"batch must lie in \[0, 30\)"),
])
def test_batch_is_checked_by_both_measurements(net, batch, error, match):
    theta = net.init_params(2, seed=1)
    with pytest.raises(error, match=match):
        layer_cushion(net, theta, batch=batch)
    with pytest.raises(error, match=match):
        noise_attenuation(net, theta, 0, 0.1, seed=0, batch=batch)


def test_non_finite_parameters_raise(net):
    # NaN weights gave NaN attenuations and cushions (with "Mean of empty slice" warnings)
    theta = net.init_params(2, seed=1)
    theta[1, 3] = np.inf
    with pytest.raises(ValueError, match="theta contains NaN or inf"):
        noise_attenuation(net, theta, 0, 0.1, seed=0)
    with pytest.raises(ValueError, match="theta contains NaN or inf"):
        layer_cushion(net, theta)
    with pytest.raises(ValueError, match="theta contains NaN or inf"):
        forward_from(net, theta, np.zeros((2, 3, 5)), 0)


def test_attenuation_leaves_out_inputs_that_receive_no_noise_in_every_column():
    # an input with h_ℓ(x) = 0 gets noise of norm ε·0 = 0: it was left out of column 0 (0/0)
    # but counted as a change of 0 in the layers above, biasing them by (n − 1)/n
    x0 = X.copy()
    x0[-1] = 0.0  # last, so that the other inputs draw the same noise with and without it
    net0 = MLP(x0, Y, widths=(7, 6), activation="tanh")
    parts = [np.array(p_) for p_ in net0.unflatten(net0.init_params(1, seed=3))]
    for b in parts[1::2]:
        b[:] = 0.3  # non-zero biases: the layers above the zero input are not zero
    theta = net0.flatten(parts)
    everything = noise_attenuation(net0, theta, 0, 0.1, seed=5)
    without = noise_attenuation(net0, theta, 0, 0.1, seed=5, batch=np.arange(29))
    np.testing.assert_allclose(everything, without, rtol=1e-12)
    all_zero = MLP(np.zeros((4, 5)), np.arange(4) % 2, widths=(3,), activation="tanh")
    with pytest.raises(ValueError, match="h_0"):
        noise_attenuation(all_zero, all_zero.init_params(1, seed=0), 0, 0.1, seed=0)
