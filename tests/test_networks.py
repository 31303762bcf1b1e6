"""Network landscapes: analytic derivatives against finite differences, batching, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgdsde.landscapes.networks import LinearRegression, LogisticRegression, TwoLayerMLP

N_EXAMPLES, N_FEATURES = 23, 4


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_EXAMPLES, N_FEATURES))
    return x, rng


def make_models(seed=0):
    """One of each model, with weight decay where it matters."""
    x, rng = _data(seed)
    return {
        "linear": LinearRegression(x, rng.normal(size=N_EXAMPLES), weight_decay=0.1),
        "logistic": LogisticRegression(x, rng.integers(0, 2, N_EXAMPLES), weight_decay=0.05),
        "mlp_tanh_ce": TwoLayerMLP(x, rng.integers(0, 3, N_EXAMPLES), hidden=5, activation="tanh"),
        "mlp_relu_ce": TwoLayerMLP(x, rng.integers(0, 3, N_EXAMPLES), hidden=5, activation="relu"),
        "mlp_tanh_mse": TwoLayerMLP(x, rng.normal(size=(N_EXAMPLES, 2)), hidden=4, loss="mse",
                                    weight_decay=0.2),
    }


MODELS = make_models()


def _params(model, seed, m=3, scale=0.7):
    return np.random.default_rng(seed).normal(scale=scale, size=(m, model.dim))


@pytest.mark.parametrize("name", sorted(MODELS))
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_gradient_and_hvp_match_finite_differences(name, seed):
    model = MODELS[name]
    theta = _params(model, seed)
    v = np.random.default_rng(seed + 1).normal(size=theta.shape)
    eps = 1e-6
    # Central differences: truncation O(eps²) and rounding O(1e-16/eps) ~ 1e-10, far below 1e-6.
    fd_grad = np.stack([(model.energy(theta + eps * e) - model.energy(theta - eps * e)) / (2 * eps)
                        for e in np.eye(model.dim)], axis=1)
    np.testing.assert_allclose(model.grad(theta), fd_grad, atol=1e-6)
    fd_hvp = (model.grad(theta + eps * v) - model.grad(theta - eps * v)) / (2 * eps)
    np.testing.assert_allclose(model.hvp(theta, v), fd_hvp, atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hessian_is_symmetric_and_consistent_with_hvp(name):
    model = MODELS[name]
    theta = _params(model, 1)
    h = model.hessian(theta)
    assert h.shape == (3, model.dim, model.dim)
    np.testing.assert_allclose(h, h.transpose(0, 2, 1), atol=1e-12)
    v = np.random.default_rng(2).normal(size=theta.shape)
    np.testing.assert_allclose(np.einsum("mij,mj->mi", h, v), model.hvp(theta, v), atol=1e-12)


def test_linear_models_have_their_closed_form_hessians():
    x, rng = _data()
    lin = MODELS["linear"]
    theta = _params(lin, 3)
    expected = x.T @ x / N_EXAMPLES + 0.1 * np.eye(N_FEATURES)
    np.testing.assert_allclose(lin.hessian(theta), np.broadcast_to(expected, (3, 4, 4)), atol=1e-13)
    logi = MODELS["logistic"]
    assert np.all(np.linalg.eigvalsh(logi.hessian(theta)) > 0.05 - 1e-12)  # convex, λ ≥ weight decay


@pytest.mark.parametrize("name", sorted(MODELS))
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), batch=st.integers(1, N_EXAMPLES))
def test_batches_weights_and_per_example_gradients_agree(name, seed, batch):
    model = MODELS[name]
    theta = _params(model, seed)
    rng = np.random.default_rng(seed)
    per_example = model.per_example_grads(theta)
    assert per_example.shape == (3, N_EXAMPLES, model.dim)
    np.testing.assert_allclose(per_example.mean(axis=1), model.grad(theta), atol=1e-12)
    np.testing.assert_allclose(model.per_example_loss(theta).mean(axis=1), model.energy(theta), atol=1e-12)
    # weighted gradient = Jᵀ w, without the weight decay
    w = rng.normal(size=(3, N_EXAMPLES))
    jt_w = np.einsum("mb,mbd->md", w, per_example - model.weight_decay * theta[:, None, :])
    np.testing.assert_allclose(model.weighted_grad(theta, w), jt_w, atol=1e-11)
    # per-particle batches: each row its own examples
    idx = rng.integers(0, N_EXAMPLES, size=(3, batch))
    expected = np.stack([per_example[m, idx[m]].mean(axis=0) for m in range(3)])
    np.testing.assert_allclose(model.batch_grad(theta, idx), expected, atol=1e-12)
    np.testing.assert_allclose(model.per_example_grads(theta, idx), per_example[np.arange(3)[:, None], idx],
                               atol=1e-12)
    # a shared batch is the same as that batch repeated for every particle
    np.testing.assert_allclose(model.batch_grad(theta, idx[0]),
                               model.batch_grad(theta, np.tile(idx[0], (3, 1))), atol=1e-13)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_float32_stays_float32(name):
    model = MODELS[name]
    theta = _params(model, 4).astype(np.float32)
    for out in (model.energy(theta), model.grad(theta), model.hvp(theta, theta),
                model.per_example_grads(theta, [0, 1])):
        assert out.dtype == np.float32
    np.testing.assert_allclose(model.grad(theta), model.grad(theta.astype(np.float64)), rtol=1e-4, atol=1e-5)


def test_linear_regression_minimizer_zeroes_the_gradient():
    lin = MODELS["linear"]
    assert np.abs(lin.grad(lin.minimizer()[None, :])).max() < 1e-12


def test_mlp_flatten_roundtrip_and_reproducible_init():
    model = MODELS["mlp_tanh_ce"]
    theta = _params(model, 5)
    np.testing.assert_array_equal(model.flatten(model.unflatten(theta)), theta)
    w1, b1, w2, b2 = model.unflatten(theta)
    assert w1.shape == (3, 5, N_FEATURES) and w2.shape == (3, 3, 5) and b2.shape == (3, 3)
    big, small = model.init_params(8, seed=3), model.init_params(2, seed=3)
    np.testing.assert_array_equal(big[:2], small)  # particle m's weights do not depend on M
    w1, b1, w2, b2 = model.unflatten(model.init_params(4000, seed=1))
    # LeCun scale: Var W1 = 1/p; 5 standard errors of a sample variance, SE = var·sqrt(2/n)
    n = w1.size
    assert abs(w1.var() - 1 / N_FEATURES) < 5 * np.sqrt(2 / n) / N_FEATURES
    assert np.all(b1 == 0) and np.all(b2 == 0)


def test_cross_entropy_is_log_softmax():
    model = MODELS["mlp_tanh_ce"]
    theta = _params(model, 6)
    x = model.inputs
    w1, b1, w2, b2 = model.unflatten(theta)
    out = np.tanh(x @ w1[0].T + b1[0]) @ w2[0].T + b2[0]
    logp = out - np.log(np.exp(out).sum(axis=1, keepdims=True))
    expected = -logp[np.arange(N_EXAMPLES), model.targets]
    np.testing.assert_allclose(model.per_example_loss(theta)[0], expected, atol=1e-12)


def test_bad_input_is_named():
    x, rng = _data()
    y = rng.normal(size=N_EXAMPLES)
    with pytest.raises(ValueError, match="inputs contains NaN"):
        LinearRegression(np.where(x > 2, np.nan, x), y)
    with pytest.raises(ValueError, match="targets contains NaN"):
        LinearRegression(x, np.full(N_EXAMPLES, np.inf))
    with pytest.raises(ValueError, match="one entry per example"):
        LinearRegression(x, y[:-1])
    with pytest.raises(ValueError, match="2-D"):
        LinearRegression(x[0], y)
    with pytest.raises(ValueError, match="0/1"):
        LogisticRegression(x, y)
    with pytest.raises(ValueError, match="weight_decay"):
        LinearRegression(x, y, weight_decay=-1)
    with pytest.raises(ValueError, match="activation"):
        TwoLayerMLP(x, rng.integers(0, 3, N_EXAMPLES), activation="sigmoid")
    with pytest.raises(ValueError, match="hidden"):
        TwoLayerMLP(x, rng.integers(0, 3, N_EXAMPLES), hidden=0)
    with pytest.raises(ValueError, match="class labels"):
        TwoLayerMLP(x, y)
    lin = MODELS["linear"]
    with pytest.raises(ValueError, match=r"theta must have shape \(n_particles, 4\)"):
        lin.grad(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="idx must lie in"):
        lin.batch_grad(np.zeros((2, 4)), [0, N_EXAMPLES])
    with pytest.raises(ValueError, match="idx must have shape"):
        lin.batch_grad(np.zeros((2, 4)), np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match="weights must broadcast"):
        lin.weighted_grad(np.zeros((2, 4)), np.ones(3))
    with pytest.raises(ValueError, match="v must have shape"):
        lin.hvp(np.zeros((2, 4)), np.ones(5))
