"""JaxModel (bring your own model): the library's own networks written in JAX give the same
losses, gradients, per-example gradients, HVPs and Hessians to rounding, and simulate, real SGD
and the SME run on it unchanged."""

from __future__ import annotations

import sys

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

import sgdsde as sd  # noqa: E402
from sgdsde.landscapes import MLP, JaxModel, TwoLayerMLP  # noqa: E402
from sgdsde.sgd.data import teacher_student  # noqa: E402

# float64 against float64: agreement to a few ulps of the largest entry (different summation
# orders), so rtol 1e-10 and an atol 1e-12 for entries that cancel to ~0
RTOL, ATOL = 1e-10, 1e-12


def mlp_loss(activation: str, loss: str):
    """The per-example loss of sgdsde's MLP layout ``(W1, b1, W2, b2, …)`` written in JAX."""
    act = {"tanh": jnp.tanh, "relu": jax.nn.relu, "sigmoid": jax.nn.sigmoid}[activation]

    def per_example(params, example):
        x, y = example
        h = x
        n_layers = len(params) // 2
        for layer in range(n_layers):
            w, b = params[2 * layer], params[2 * layer + 1]
            h = w @ h + b
            if layer < n_layers - 1:
                h = act(h)
        if loss == "mse":
            return 0.5 * jnp.sum((h - y) ** 2)
        return jax.nn.logsumexp(h) - h[y]

    return per_example


def template(net):
    """Zero parameters with the network's layer shapes, in its flat order."""
    return tuple(np.zeros(shape) for shape in net._shapes)


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3))
    labels = np.argmax(x @ rng.standard_normal((3, 3)), axis=1)  # 3 classes
    net = TwoLayerMLP(x, labels, hidden=4, activation="tanh", weight_decay=0.01)
    model = JaxModel(mlp_loss("tanh", "cross_entropy"), template(net), (x, net.targets), weight_decay=0.01)
    return net, model


def test_flat_layout_matches(pair):
    net, model = pair
    assert model.dim == net.dim and model.n_examples == net.n_examples
    theta = net.init_params(3, seed=1)
    parts = model.unflatten(theta)
    for mine, theirs in zip(parts, net.unflatten(theta)):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_array_equal(model.flatten(model.unflatten(theta[0])), theta[0])


@pytest.mark.parametrize("batch", ["full", "shared", "per_particle"])
def test_same_losses_gradients_and_hvps_as_two_layer_mlp(pair, batch):
    net, model = pair
    rng = np.random.default_rng(2)
    theta = net.init_params(3, seed=1) + 0.3 * rng.standard_normal((3, net.dim))
    v = rng.standard_normal((3, net.dim))
    idx = {"full": None, "shared": np.array([0, 5, 5, 11]),
           "per_particle": rng.integers(0, net.n_examples, size=(3, 4))}[batch]
    close = dict(rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(model.per_example_loss(theta, idx), net.per_example_loss(theta, idx), **close)
    np.testing.assert_allclose(model.per_example_grads(theta, idx), net.per_example_grads(theta, idx),
                               **close)
    np.testing.assert_allclose(model.hvp(theta, v, idx), net.hvp(theta, v, idx), **close)
    if idx is None:
        np.testing.assert_allclose(model.energy(theta), net.energy(theta), **close)
        np.testing.assert_allclose(model.grad(theta), net.grad(theta), **close)
        h = model.hessian(theta)
        np.testing.assert_allclose(h, net.hessian(theta), **close)
        np.testing.assert_allclose(h, h.transpose(0, 2, 1), atol=ATOL)
    else:
        w = rng.standard_normal((3, 4))
        np.testing.assert_allclose(model.batch_grad(theta, idx), net.batch_grad(theta, idx), **close)
        np.testing.assert_allclose(model.weighted_grad(theta, w, idx), net.weighted_grad(theta, w, idx),
                                   **close)


@pytest.mark.parametrize("activation, loss", [("relu", "mse"), ("sigmoid", "cross_entropy")])
def test_same_as_deeper_mlp(activation, loss):
    task = "regression" if loss == "mse" else "classification"
    data = teacher_student(16, 3, task=task, seed=3)
    net = MLP(data.inputs, data.targets, widths=[4, 3], activation=activation, loss=loss)
    # net.targets: (n,) integer labels, or (n, k) regression targets
    model = JaxModel(mlp_loss(activation, loss), template(net), (data.inputs, net.targets))
    rng = np.random.default_rng(4)
    theta = net.init_params(2, seed=5) + 0.2 * rng.standard_normal((2, net.dim))
    v = rng.standard_normal(net.dim)  # one direction shared by the cloud
    close = dict(rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(model.energy(theta), net.energy(theta), **close)
    np.testing.assert_allclose(model.per_example_grads(theta), net.per_example_grads(theta), **close)
    np.testing.assert_allclose(model.hvp(theta, v), net.hvp(theta, v), **close)
    np.testing.assert_allclose(model.hvp(theta, v, [1, 2]), net.hvp(theta, v, [1, 2]), **close)


def test_float32_stays_float32(pair):
    net, model = pair
    theta = net.init_params(2, seed=1)
    g32 = model.grad(theta.astype(np.float32))
    assert g32.dtype == np.float32 and model.energy(theta.astype(np.float32)).dtype == np.float32
    # float32 rounding: relative error ~1e-6 of the gradient's scale
    np.testing.assert_allclose(g32, net.grad(theta), rtol=1e-4, atol=1e-5 * np.abs(net.grad(theta)).max())


def test_sgd_sme_and_noise_run_unchanged(pair):
    """Same seed, same batches, same noise: JaxModel reproduces TwoLayerMLP to rounding."""
    net, model = pair
    theta0 = net.init_params(3, seed=7)
    a = sd.sgd.run_sgd(net, theta0, lr=0.1, batch_size=4, n_steps=20, seed=3, record_every=10)
    b = sd.sgd.run_sgd(model, theta0, lr=0.1, batch_size=4, n_steps=20, seed=3, record_every=10)
    np.testing.assert_allclose(b.final, a.final, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.observables["loss"], a.observables["loss"], rtol=1e-9)
    for order in (1, 2):
        run = [sd.simulate(sd.sgd.sme(m, 0.1, 4, order=order), sd.integrators.EulerMaruyama(), theta0,
                           dt=0.05, n_steps=10, seed=4, progress=False, backend="numpy")
               for m in (net, model)]
        np.testing.assert_allclose(run[1].final, run[0].final, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sd.sgd.noise_trace(model, theta0, 4), sd.sgd.noise_trace(net, theta0, 4),
                               rtol=RTOL)


def test_params_pytree_and_init():
    x = np.random.default_rng(0).normal(size=(10, 2))
    y = x @ [1.0, -1.0] + 0.5

    def loss(params, example):
        xi, yi = example["x"], example["y"]
        return 0.5 * (jnp.dot(params["w"], xi) + params["b"] - yi) ** 2

    model = JaxModel(loss, {"w": np.array([0.5, 0.5]), "b": np.array(0.0)}, {"x": x, "y": y})
    assert model.dim == 3 and "loss" in repr(model)
    # ravel_pytree orders dict keys: b before w
    np.testing.assert_array_equal(model.flat_params, [0.0, 0.5, 0.5])
    cloud = model.init_params(4, seed=1, scale=0.1)
    assert cloud.shape == (4, 3)
    np.testing.assert_array_equal(cloud[:2], model.init_params(2, seed=1, scale=0.1))  # per-particle noise
    # exact least-squares gradient: mean of r_i (1, x_i) with r the residual
    theta = cloud
    r = theta[:, 1:] @ x.T + theta[:, :1] - y
    expected = np.concatenate([r.mean(axis=1, keepdims=True), r @ x / 10], axis=1)
    np.testing.assert_allclose(model.grad(theta), expected, rtol=RTOL)


def _linear():
    x = np.ones((6, 2))
    return (lambda p, e: jnp.sum(p * e[0]) ** 2), np.zeros(2), (x, np.zeros(6))


def test_bad_inputs():
    loss, params, data = _linear()
    with pytest.raises(ValueError, match="real scalar"):
        JaxModel(lambda p, e: p * e[0], params, data)  # per-parameter vector, not a scalar
    with pytest.raises(ValueError, match="NaN"):
        JaxModel(loss, np.array([0.0, np.nan]), data)
    with pytest.raises(ValueError, match="NaN"):
        JaxModel(loss, params, (np.full((6, 2), np.nan), np.zeros(6)))
    with pytest.raises(ValueError, match="same leading length"):
        JaxModel(loss, params, (np.ones((6, 2)), np.zeros(5)))
    with pytest.raises(ValueError, match="fails on one example"):
        JaxModel(loss, params, (np.ones((6, 3)), np.zeros(6)))  # 3 features for 2 weights
    with pytest.raises(TypeError, match="callable"):
        JaxModel("loss", params, data)
    model = JaxModel(loss, params, data)
    with pytest.raises(ValueError, match="shape"):
        model.batch_grad(np.zeros((2, 2)), np.zeros((3, 2), dtype=int))  # (M, b) with M = 3 ≠ 2
    with pytest.raises(ValueError, match="theta"):
        model.grad(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        model.flatten(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="structure"):
        model.flatten((np.zeros(2),))


def test_missing_extra_names_it(monkeypatch):
    loss, params, data = _linear()
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(ImportError, match=r"sgdsde\[jax\]"):
        JaxModel(loss, params, data)


def test_gradient_statistics_and_hessian_tools_run_unchanged(pair):
    from sgdsde.geometry.hessian import extreme_eigenpairs, hessian_vector_product
    from sgdsde.measure.gradient_stats import gradient_statistics

    net, model = pair
    theta = net.init_params(2, seed=8)
    mine, theirs = gradient_statistics(model, theta), gradient_statistics(net, theta)
    np.testing.assert_allclose(mine.variance, theirs.variance, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(mine.trace, theirs.trace, rtol=RTOL)
    v = np.random.default_rng(9).standard_normal(net.dim)
    np.testing.assert_allclose(hessian_vector_product(model, theta, v), hessian_vector_product(net, theta, v),
                               rtol=RTOL, atol=ATOL)
    top = [extreme_eigenpairs(m, theta[0], k=2).values for m in (model, net)]
    np.testing.assert_allclose(top[0], top[1], rtol=1e-8)  # Lanczos to tol 1e-8 on the same products


def test_fingerprint_hashes_the_model_not_jax():
    """A run's fingerprint (what resume compares) sees the loss, the template and the data only:
    it is reproducible, changes with the data, and never walks JAX's own objects."""
    pytest.importorskip("pandas")  # a class with get/__array__/dtype among JAX's imports broke the walk
    from sgdsde._fingerprint import fingerprint

    loss, params, data = _linear()
    a, b = JaxModel(loss, params, data), JaxModel(loss, params, data)
    a.grad(np.zeros((1, 2)))  # compiled functions exist now: they must not enter the hash
    assert fingerprint(sd.sgd.sme(a, 0.1, 2)) == fingerprint(sd.sgd.sme(b, 0.1, 2))
    other = JaxModel(loss, params, (data[0], data[1] + 1.0))
    assert fingerprint(other) != fingerprint(a)
