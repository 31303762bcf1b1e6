"""Gradient noise: the low-rank square root of Σ, the covariance, the noise-to-signal ratio."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.landscapes.networks import LinearRegression, TwoLayerMLP
from sgdsde.sde import LangevinSDE
from sgdsde.sgd.data import teacher_student
from sgdsde.sgd.noise import SGDNoise, covariance_scale, gradient_covariance, noise_to_signal, noise_trace

N = 30


def _models():
    data = teacher_student(N, 3, label_noise=0.5, seed=2)
    labels = teacher_student(N, 3, task="classification", seed=2).targets
    return {
        "linear": LinearRegression(data.inputs, data.targets, weight_decay=0.1),
        "mlp": TwoLayerMLP(data.inputs, labels, hidden=4, activation="tanh"),
    }


MODELS = _models()


def _explicit_covariance(model, theta, batch, replacement):
    """Σ from its definition (docs/theory.md §1), one particle at a time."""
    out = []
    for th in theta:
        g = model.per_example_grads(th[None])[0]
        centred = g - g.mean(axis=0)
        d = centred.T @ centred / N  # D
        if replacement:
            out.append(d / batch)
        else:
            out.append((1 - batch / N) * (d * N / (N - 1)) / batch)  # D' uses 1/(n-1)
    return np.stack(out)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("replacement", [True, False])
def test_covariance_matches_its_definition(name, replacement):
    model = MODELS[name]
    theta = np.random.default_rng(0).normal(scale=0.5, size=(3, model.dim))
    expected = _explicit_covariance(model, theta, 4, replacement)
    got = gradient_covariance(model, theta, 4, replacement=replacement)
    np.testing.assert_allclose(got, expected, atol=1e-13)
    np.testing.assert_allclose(gradient_covariance(model, theta, 4, replacement=replacement, chunk=7), got,
                               atol=1e-13)  # the chunking is invisible
    np.testing.assert_allclose(noise_trace(model, theta, 4, replacement=replacement),
                               np.trace(got, axis1=1, axis2=2), atol=1e-13)


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("replacement", [True, False])
def test_low_rank_square_root_gives_eta_sigma(name, replacement):
    """B(θ) applied to the n unit vectors is a d×n square root: B Bᵀ = η Σ exactly."""
    model = MODELS[name]
    lr, batch = 0.05, 4
    noise = SGDNoise(model, lr, batch, replacement=replacement)
    assert noise.n_noise(model.dim) == N and not noise.is_additive
    theta = np.random.default_rng(1).normal(scale=0.5, size=(1, model.dim))
    columns = noise.apply(np.repeat(theta, N, axis=0), np.eye(N))  # (n, d): B e_i
    root = columns.T
    np.testing.assert_allclose(root @ root.T, lr * gradient_covariance(model, theta, batch,
                                                                       replacement=replacement)[0],
                               atol=1e-14)
    # and on random ξ it is c·sqrt(η)·Σ_i (ξ_i − ξ̄) g_i, never a d×d matrix
    xi = np.random.default_rng(2).normal(size=(4, N))
    thetas = np.repeat(theta, 4, axis=0)
    g = model.per_example_grads(thetas)
    c = np.sqrt(lr * covariance_scale(N, batch, replacement))
    expected = c * np.einsum("mb,mbd->md", xi - xi.mean(axis=1, keepdims=True), g)
    np.testing.assert_allclose(noise.apply(thetas, xi), expected, atol=1e-13)


def test_full_batch_without_replacement_has_no_noise():
    model = MODELS["linear"]
    assert covariance_scale(N, N, replacement=False) == 0.0
    theta = np.ones((2, model.dim))
    xi = np.random.default_rng(3).normal(size=(2, N))
    assert np.all(SGDNoise(model, 0.1, N, replacement=False).apply(theta, xi) == 0.0)


def test_noise_to_signal_ratio():
    model = MODELS["linear"]
    far = np.full((1, 3), 5.0)
    star = model.minimizer()[None, :]
    g = model.grad(far)
    np.testing.assert_allclose(noise_to_signal(model, far, 4), noise_trace(model, far, 4) / np.sum(g * g),
                               rtol=1e-13)
    # far from the minimum the drift dominates; at the minimum the gradient vanishes, the noise does not
    assert noise_to_signal(model, far, 4)[0] < 1 < 1e6 < noise_to_signal(model, star, 4)[0]


def test_sgd_noise_plugs_into_a_langevin_sde():
    model = MODELS["mlp"]
    sde = LangevinSDE(model, noise=SGDNoise(model, 0.1, 5))
    assert sde.n_noise() == N and sde.temperature is None
    assert "batch_size=5" in repr(sde)


def test_bad_input_is_named():
    model = MODELS["linear"]
    with pytest.raises(ValueError, match="batch_size = 31 is larger than the data set"):
        SGDNoise(model, 0.1, 31)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        SGDNoise(model, 0.0, 4)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        covariance_scale(N, 0)
    with pytest.raises(TypeError, match="EmpiricalRisk"):
        gradient_covariance(object(), np.zeros((1, 3)))


@pytest.mark.parametrize("flag", ["False", "without", 0, None])
def test_replacement_must_be_a_bool(flag):
    # Before: any truthy value meant with replacement and any falsy one without, so
    # replacement="False" silently gave the with-replacement covariance D/B.
    model = MODELS["linear"]
    with pytest.raises(TypeError, match="replacement must be True or False"):
        covariance_scale(N, 4, flag)
    with pytest.raises(TypeError, match="replacement must be True or False"):
        SGDNoise(model, 0.1, 4, replacement=flag)
    with pytest.raises(TypeError, match="replacement must be True or False"):
        noise_trace(model, np.zeros((1, model.dim)), 4, replacement=flag)
    assert covariance_scale(N, 4, np.bool_(False)) == covariance_scale(N, 4, False)


@pytest.mark.parametrize("chunk", [-1, 0, 2.5, True])
def test_chunk_must_be_a_positive_count(chunk):
    # Before: chunk = -1 made range(0, n, -1) empty, so noise_trace returned 0 and
    # gradient_covariance a zero matrix silently; 0 and 2.5 failed inside range()
    model = MODELS["linear"]
    theta = np.ones((1, model.dim))
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        noise_trace(model, theta, 2, chunk=chunk)
    with pytest.raises(ValueError, match="chunk must be an integer >= 1"):
        gradient_covariance(model, theta, 2, chunk=chunk)


@pytest.mark.parametrize("n_examples", [10.5, "10", 0])
def test_covariance_scale_n_examples_is_a_count(n_examples):
    # Before: int(n_examples) turned 10.5 into 10 and "10" into 10 silently
    with pytest.raises(ValueError, match="n_examples must be an integer >= 1"):
        covariance_scale(n_examples, 2)
