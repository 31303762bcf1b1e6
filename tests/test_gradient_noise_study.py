"""Noise along training: minibatch-noise samples have the right moments; the snapshot's parts agree."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.landscapes.mlp import MLP
from sgdsde.measure.gradient_stats import gradient_statistics, simple_noise_scale
from sgdsde.studies.gradient_noise import minibatch_noise, noise_snapshot


def _net():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)) * np.array([1.0, 0.3, 3.0, 0.05])  # coordinates of different scales
    return MLP(x, rng.integers(0, 3, 60), widths=[5], activation="tanh")


def test_minibatch_noise_has_mean_zero_and_covariance_sigma_over_b():
    net = _net()
    theta = net.init_params(1, seed=1)
    xi = minibatch_noise(net, theta, batch_size=4, n_batches=4000, seed=2)
    assert xi.shape == (4000, net.dim)
    se = xi.std(axis=0, ddof=1) / np.sqrt(4000)
    assert np.all(np.abs(xi.mean(axis=0)) < 5 * se + 1e-15)  # 5 SE per coordinate
    # Tr Cov(ξ) = Tr Σ₁ / B (with replacement); SE of a mean of |ξ|² over 4000 samples
    sq = np.sum(xi * xi, axis=1)
    expected = gradient_statistics(net, theta).trace[0] / 4
    assert abs(sq.mean() - expected) < 5 * sq.std(ddof=1) / np.sqrt(4000)


def test_snapshot_parts_agree_with_the_measures():
    net = _net()
    theta = net.init_params(1, seed=3)
    snap = noise_snapshot(net, theta, batch_size=8, n_batches=900, seed=4)
    np.testing.assert_allclose(snap.b_simple, simple_noise_scale(net, theta)[0][0], rtol=1e-12)
    assert snap.snr == pytest.approx(8 / snap.b_simple)
    assert snap.alpha_per_coordinate.shape == snap.noise_scales.shape
    assert snap.noise_scales.max() / snap.noise_scales.min() > 10
    # the Gaussian control: scales spanning decades, pooled, look heavy-tailed
    assert snap.alpha_pooled_gaussian < 2 - 5 * snap.alpha_pooled_gaussian_se
    with pytest.raises(ValueError, match="theta must be one point"):
        minibatch_noise(net, np.zeros((2, net.dim)), 4, 10)


def test_minibatch_noise_at_a_non_finite_point_raises():
    # Before: NaN noise samples came back without a word
    net = _net()
    theta = net.init_params(1, seed=1)
    theta[0, 3] = np.nan
    with pytest.raises(ValueError, match="theta contains NaN or inf"):
        minibatch_noise(net, theta, batch_size=4, n_batches=10)
    with pytest.raises(TypeError, match="loss must be an EmpiricalRisk"):
        noise_snapshot(object(), theta, batch_size=4)


def test_snapshot_without_a_seed_draws_one_key_and_records_it():
    """seed=None: one fresh key serves every draw and is recorded, so the snapshot replays."""
    net = _net()
    theta = net.init_params(1, seed=3)
    snap = noise_snapshot(net, theta, batch_size=8, n_batches=60, seed=None)
    assert isinstance(snap.seed, int)
    again = noise_snapshot(net, theta, batch_size=8, n_batches=60, seed=snap.seed)
    np.testing.assert_array_equal(again.noise_scales, snap.noise_scales)
    assert again.alpha_pooled == snap.alpha_pooled
    assert again.alpha_pooled_gaussian == snap.alpha_pooled_gaussian
    assert noise_snapshot(net, theta, batch_size=8, n_batches=60, seed=7).seed == 7
