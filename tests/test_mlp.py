"""Perceptrons of any depth: derivatives against finite differences, batches, dtypes, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.landscapes import mlp as mlp_module
from sgdsde.landscapes.mlp import ACTIVATIONS, MLP, TwoLayerMLP

N_EXAMPLES, N_FEATURES = 17, 3


def _x(seed=0):
    return np.random.default_rng(seed).normal(size=(N_EXAMPLES, N_FEATURES))


def make_nets():
    x, rng = _x(), np.random.default_rng(1)
    labels, reals = rng.integers(0, 3, N_EXAMPLES), rng.normal(size=(N_EXAMPLES, 2))
    nets = {f"{act}_ce": MLP(x, labels, widths=[4, 3], activation=act)
            for act in ("tanh", "sigmoid", "relu", "linear")}
    nets["mixed_mse_deep"] = MLP(x, reals, widths=[3, 4, 2], activation=["tanh", "relu", "sigmoid"],
                                 loss="mse", weight_decay=0.1)
    nets["sigmoid_mse_1d"] = MLP(x, reals[:, 0], widths=[5], activation="sigmoid", loss="mse")
    return nets


NETS = make_nets()


def _theta(net, seed, m=2, scale=0.8):
    return np.random.default_rng(seed).normal(scale=scale, size=(m, net.dim))


def _fd_grad(net, theta, eps=1e-6):
    return np.stack([(net.energy(theta + eps * e) - net.energy(theta - eps * e)) / (2 * eps)
                     for e in np.eye(net.dim)], axis=1)


@pytest.mark.parametrize("name", sorted(NETS))
def test_gradient_and_hvp_match_finite_differences(name):
    net = NETS[name]
    theta = _theta(net, 3)
    v = np.random.default_rng(4).normal(size=theta.shape)
    eps = 1e-6
    # Central differences: truncation O(eps²) ~ 1e-12 and rounding O(1e-16/eps) ~ 1e-10, far below
    # 1e-6; a ReLU kink lies within eps of a pre-activation with probability ~ 1e-6 per unit.
    np.testing.assert_allclose(net.grad(theta), _fd_grad(net, theta, eps), atol=1e-6)
    fd_hvp = (net.grad(theta + eps * v) - net.grad(theta - eps * v)) / (2 * eps)
    np.testing.assert_allclose(net.hvp(theta, v), fd_hvp, atol=1e-6)
    h = net.hessian(theta)
    np.testing.assert_allclose(h, h.transpose(0, 2, 1), atol=1e-12)
    np.testing.assert_allclose(np.einsum("mij,mj->mi", h, v), net.hvp(theta, v), atol=1e-12)


@pytest.mark.parametrize("name", ["tanh_ce", "mixed_mse_deep"])
def test_minibatch_hvp_is_the_derivative_of_the_minibatch_gradient(name):
    net = NETS[name]
    theta = _theta(net, 5, m=3)
    rng = np.random.default_rng(6)
    v = rng.normal(size=theta.shape)
    eps = 1e-6
    for batch in (rng.integers(0, N_EXAMPLES, 5), rng.integers(0, N_EXAMPLES, (3, 4))):
        fd = (net.batch_grad(theta + eps * v, batch) - net.batch_grad(theta - eps * v, batch)) / (2 * eps)
        np.testing.assert_allclose(net.hvp(theta, v, batch=batch), fd, atol=1e-6)
    # the full batch spelled out is the default
    np.testing.assert_allclose(net.hvp(theta, v, batch=np.arange(N_EXAMPLES)), net.hvp(theta, v), atol=1e-13)


@pytest.mark.parametrize("name", sorted(NETS))
def test_per_example_weighted_and_batch_gradients_agree(name):
    net = NETS[name]
    theta = _theta(net, 7, m=3)
    rng = np.random.default_rng(8)
    per_example = net.per_example_grads(theta)
    assert per_example.shape == (3, N_EXAMPLES, net.dim)
    np.testing.assert_allclose(per_example.mean(axis=1), net.grad(theta), atol=1e-12)
    w = rng.normal(size=(3, N_EXAMPLES))
    jt_w = np.einsum("mb,mbd->md", w, per_example - net.weight_decay * theta[:, None, :])
    np.testing.assert_allclose(net.weighted_grad(theta, w), jt_w, atol=1e-11)
    idx = rng.integers(0, N_EXAMPLES, size=(3, 6))
    expected = np.stack([per_example[m, idx[m]].mean(axis=0) for m in range(3)])
    np.testing.assert_allclose(net.batch_grad(theta, idx), expected, atol=1e-12)
    np.testing.assert_allclose(net.batch_grad(theta, idx[0]), net.batch_grad(theta, np.tile(idx[0], (3, 1))),
                               atol=1e-13)


def test_step_activation_passes_no_gradient_below_it():
    x = _x()
    y = (x[:, 0] > 0).astype(int)
    net = MLP(x, y, widths=[6], activation="step")
    theta = _theta(net, 9, m=4)
    g = net.grad(theta)
    n_first = 6 * N_FEATURES + 6  # W_1 and b_1
    assert np.all(g[:, :n_first] == 0)
    assert np.all(np.abs(g[:, n_first:]).max(axis=1) > 0)
    np.testing.assert_allclose(g, _fd_grad(net, theta), atol=1e-6)
    h = net.layer_outputs(theta)[0]
    assert set(np.unique(h)) <= {0.0, 1.0}


def test_layer_outputs_match_a_plain_forward_pass():
    net = NETS["mixed_mse_deep"]
    theta = _theta(net, 10, m=2)
    batch = np.array([3, 0, 11])
    outs = net.layer_outputs(theta, batch)
    pre = net.layer_outputs(theta, batch, pre_activation=True)
    assert [o.shape for o in outs] == [(2, 3, 3), (2, 3, 4), (2, 3, 2), (2, 3, 2)]
    for m in range(2):
        w1, b1, w2, b2, w3, b3, w4, b4 = (p[m] for p in net.unflatten(theta))
        a1 = net.inputs[batch] @ w1.T + b1
        h1 = np.tanh(a1)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        h3 = 1 / (1 + np.exp(-(h2 @ w3.T + b3)))
        o = h3 @ w4.T + b4
        for got, want in zip(outs, (h1, h2, h3, o)):
            np.testing.assert_allclose(got[m], want, atol=1e-13)
        np.testing.assert_allclose(pre[0][m], a1, atol=1e-13)
    np.testing.assert_allclose(pre[-1], outs[-1])
    np.testing.assert_allclose(net.predict(theta, net.inputs[batch]), outs[-1], atol=1e-13)
    # per-particle batches
    idx = np.array([[1, 2], [5, 5]])
    np.testing.assert_allclose(net.layer_outputs(theta, idx)[-1][1],
                               net.predict(theta[1:], net.inputs[[5, 5]])[0])


@pytest.mark.parametrize("name", ["relu_ce", "mixed_mse_deep"])
def test_float32_stays_float32(name):
    net = NETS[name]
    theta = _theta(net, 11).astype(np.float32)
    outs = (net.energy(theta), net.grad(theta), net.hvp(theta, theta, batch=[0, 1]),
            net.per_example_grads(theta, [0, 1]), *net.layer_outputs(theta, [2]),
            net.init_params(2, 0, np.float32))
    assert all(o.dtype == np.float32 for o in outs)
    np.testing.assert_allclose(net.grad(theta), net.grad(theta.astype(np.float64)), rtol=1e-4, atol=1e-5)


def test_two_layer_network_is_the_one_hidden_layer_mlp_bit_for_bit():
    x = _x(2)
    y = np.random.default_rng(3).integers(0, 4, N_EXAMPLES)
    two = TwoLayerMLP(x, y, hidden=5, activation="relu")
    deep = MLP(x, y, widths=[5], activation="relu")
    theta = two.init_params(3, seed=4)
    assert two.dim == deep.dim == 5 * N_FEATURES + 5 + 4 * 5 + 4
    np.testing.assert_array_equal(theta, deep.init_params(3, seed=4))
    v = np.random.default_rng(5).normal(size=theta.shape)
    for method, args in (("energy", ()), ("grad", ()), ("hvp", (v,)), ("per_example_grads", ([1, 2],))):
        np.testing.assert_array_equal(getattr(two, method)(theta, *args), getattr(deep, method)(theta, *args))


def test_init_is_lecun_per_layer_and_independent_of_the_cloud_size():
    net = MLP(_x(), np.zeros(N_EXAMPLES), widths=[40, 30], loss="mse")
    big, small = net.init_params(9, seed=2), net.init_params(2, seed=2)
    np.testing.assert_array_equal(big[:2], small)
    parts = net.unflatten(net.init_params(200, seed=1))
    for w, b, fan_in in zip(parts[0::2], parts[1::2], net.layer_sizes[:-1]):
        # 5 standard errors of a sample variance, SE = var·sqrt(2/n)
        assert abs(w.var() - 1 / fan_in) < 5 * np.sqrt(2 / w.size) / fan_in
        assert np.all(b == 0)


def test_bad_input_is_named():
    x = _x()
    y = np.zeros(N_EXAMPLES, dtype=int)
    y[0] = 1
    for widths in ([], [0], [3, -1], [2.5], [True], 4, "8"):
        with pytest.raises(ValueError, match="widths must be a non-empty sequence of integers >= 1"):
            MLP(x, y, widths=widths)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(x, y, widths=[3], activation="softplus")
    with pytest.raises(ValueError, match="activation has 1 entries but widths has 2"):
        MLP(x, y, widths=[3, 3], activation=["tanh"])
    with pytest.raises(ValueError, match="loss must be"):
        MLP(x, y, loss="hinge")
    with pytest.raises(ValueError, match="class labels"):
        MLP(x, y + 0.5)
    net = MLP(x, y, widths=[2])
    with pytest.raises(ValueError, match="inputs must have 3 features"):
        net.predict(net.init_params(1), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="inputs contains NaN"):
        net.predict(net.init_params(1), np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="batch must lie in"):
        net.hvp(net.init_params(1), np.ones(net.dim), batch=[N_EXAMPLES])
    with pytest.raises(ValueError, match="activation must be 'tanh' or 'relu'"):
        TwoLayerMLP(x, y, activation="step")
    assert set(ACTIVATIONS) == {"tanh", "sigmoid", "relu", "linear", "step"}


def test_output_gradients_are_the_rows_of_the_output_jacobian():
    net = NETS["mixed_mse_deep"]
    theta = _theta(net, 12, m=2)
    batch = np.array([4, 7])
    eps = 1e-6
    jac = net.per_example_output_grads(theta, batch, output=1)
    assert jac.shape == (2, 2, net.dim)
    fd = np.stack([(net.predict(theta + eps * e, net.inputs[batch])[..., 1]
                    - net.predict(theta - eps * e, net.inputs[batch])[..., 1]) / (2 * eps)
                   for e in np.eye(net.dim)], axis=2)
    np.testing.assert_allclose(jac, fd, atol=1e-7)  # central differences, error O(eps²) + 1e-10
    with pytest.raises(ValueError, match="output must be an integer in"):
        net.per_example_output_grads(theta, batch, output=2)


def test_any_memory_layout_of_theta_gives_the_same_gradient():
    net = NETS["mixed_mse_deep"]
    theta = _theta(net, 13, m=3)
    fortran = np.asfortranarray(theta)
    strided = np.repeat(theta, 2, axis=1)[:, ::2]
    for other in (fortran, strided):
        np.testing.assert_array_equal(net.grad(other), net.grad(theta))
        np.testing.assert_array_equal(net.weighted_grad(other, 0.5, [1, 2]),
                                      net.weighted_grad(theta, 0.5, [1, 2]))


def _generic_weighted_grad(net, theta, x, y, w):
    """The weighted gradient by the generic forward and backward passes, on the whole cloud at once."""
    weights, hs, _, d1s, _, o = net._forward(theta, x, order=1)
    delta_o = w[:, :, None] * net._output_loss(o, y)[1]
    parts = []
    for delta, h in net._backward(weights, hs, d1s, delta_o):
        parts += [np.matmul(delta.transpose(0, 2, 1), h), delta.sum(axis=1)]
    return net.flatten(parts)


@pytest.mark.parametrize("name", [*sorted(NETS), "step_ce"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_blocked_in_place_gradient_is_the_generic_pass_bit_for_bit(name, dtype, monkeypatch):
    # weighted_grad runs block by block over the particles with in-place activations
    # (MLP._grad_block): the same operations in the same order as _forward/_backward, so the
    # same bits whatever the block size (one particle per block, blocks of 2, 2, 1, or one
    # block), for one batch shared by the cloud and for a batch per particle.
    net = NETS.get(name) or MLP(_x(), np.arange(N_EXAMPLES) % 2, widths=[4, 3], activation="step")
    theta = _theta(net, 14, m=5).astype(dtype)
    rng = np.random.default_rng(15)
    for idx in (None, rng.integers(0, N_EXAMPLES, 6), rng.integers(0, N_EXAMPLES, (5, 6))):
        x, y = net._batch(idx, 5, theta.dtype)
        w = rng.normal(size=(5, x.shape[-2])).astype(dtype)
        expected = _generic_weighted_grad(net, theta, x, y, w)
        assert expected.dtype == dtype and np.any(expected != 0)
        for rows in (1, 12, 10**6):  # (particle, example) rows per block
            monkeypatch.setattr(mlp_module, "_BLOCK_ENTRIES", rows * max(net.layer_sizes))
            np.testing.assert_array_equal(net.weighted_grad(theta, w, idx), expected)
