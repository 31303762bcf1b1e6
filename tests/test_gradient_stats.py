"""Gradient statistics: moments against explicit per-example gradients, the Theorem-1 bound,
the tail index on stable samples, Yaida's fluctuation-dissipation relation on SGD."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from sgdsde.landscapes.mlp import MLP
from sgdsde.landscapes.networks import LinearRegression
from sgdsde.measure.gradient_stats import (
    covariance_trace,
    fluctuation_dissipation_residual,
    gradient_statistics,
    gradient_variance_bound,
    mean_gradient,
    signal_to_noise,
    simple_noise_scale,
    symmetric_stable,
    tail_index,
    tail_index_per_coordinate,
    target_family_gradient_variance,
)
from sgdsde.sgd.noise import noise_to_signal
from sgdsde.sgd.trace import sgd_trace


def _regression(n=40, p=3, weight_decay=0.05, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    return LinearRegression(x, x @ np.arange(1.0, p + 1) + rng.normal(size=n), weight_decay=weight_decay)


def test_population_moments_are_those_of_the_per_example_gradients():
    lin = _regression()
    theta = np.random.default_rng(1).normal(size=(2, 3))
    g = lin.per_example_grads(theta)
    s = gradient_statistics(lin, theta)
    np.testing.assert_allclose(s.mean, lin.grad(theta), atol=1e-13)
    np.testing.assert_allclose(s.variance, g.var(axis=1), atol=1e-12)
    np.testing.assert_allclose(covariance_trace(lin, theta)[0], g.var(axis=1).sum(axis=1), atol=1e-12)
    assert np.all(s.mean_se == 0) and np.all(s.trace_se == 0) and s.population
    b_simple, se = simple_noise_scale(lin, theta)
    np.testing.assert_allclose(b_simple, noise_to_signal(lin, theta), rtol=1e-12)
    per_coordinate, overall = signal_to_noise(lin, theta, batch_size=4)
    np.testing.assert_allclose(overall, 4 / b_simple, rtol=1e-12)
    np.testing.assert_allclose(per_coordinate, 4 * s.mean**2 / s.variance, rtol=1e-12)
    # chunked evaluation gives the same numbers
    small = gradient_statistics(lin, theta, chunk=7)
    np.testing.assert_allclose(small.variance, s.variance, rtol=1e-12)


def test_sampled_moments_cover_the_population_within_their_standard_errors():
    lin = _regression(n=4000, seed=2)
    theta = np.array([[0.5, 1.0, 2.0]])
    population = gradient_statistics(lin, theta)
    idx = np.random.default_rng(3).integers(0, 4000, 400)
    sample = gradient_statistics(lin, theta, idx)
    # 5 standard errors (each SE is the estimator's own: sd/sqrt(b))
    assert np.all(np.abs(sample.mean - population.mean) < 5 * sample.mean_se)
    assert abs(sample.trace[0] - population.trace[0]) < 5 * sample.trace_se[0]
    b_simple, se = simple_noise_scale(lin, theta, idx)
    assert abs(b_simple[0] - simple_noise_scale(lin, theta)[0][0]) < 5 * se[0]
    assert mean_gradient(lin, theta, idx)[1].shape == (1, 3)


def _parities(d):
    """All 2^d parity functions χ_S(x) = Π_{i∈S} x_i on the cube {±1}^d: (2^d, 2^d), and the cube."""
    cube = np.array(list(itertools.product((-1.0, 1.0), repeat=d)))
    subsets = np.array(list(itertools.product((0, 1), repeat=d)), dtype=bool)
    return np.stack([np.prod(np.where(s, cube, 1.0), axis=1) for s in subsets]), cube


def test_across_target_variance_of_parities_sits_below_theorem_1():
    d = 4
    targets, cube = _parities(d)
    assert np.allclose(targets @ targets.T / len(cube), np.eye(len(targets)))  # orthonormal
    net = MLP(cube, targets[0], widths=[6], activation="tanh", loss="mse")
    theta = net.init_params(3, seed=5)

    def make(y):
        return MLP(cube, y, widths=[6], activation="tanh", loss="mse")

    var = target_family_gradient_variance(make, targets, theta)
    bound = gradient_variance_bound(net, theta, len(targets))
    # explicit: the gradient's target-dependent part is -(1/n) Jᵀ h
    jac = net.per_example_output_grads(theta)
    grads = -np.einsum("mbd,hb->mhd", jac, targets) / len(cube)
    explicit = grads.var(axis=1).sum(axis=1)
    np.testing.assert_allclose(var, explicit, rtol=1e-10)
    assert np.all(var <= bound * (1 + 1e-12))
    # for the complete parity family the bound is tight up to the mean's share, E_h|ḡ|²
    mean_share = np.sum(grads.mean(axis=1) ** 2, axis=1)
    np.testing.assert_allclose(var + mean_share, bound, rtol=1e-10)


def test_target_family_shapes_are_checked():
    targets, cube = _parities(3)
    with pytest.raises(ValueError, match="one column per example"):
        target_family_gradient_variance(lambda y: MLP(cube[:-1], y[:-1], widths=[2], loss="mse"),
                                        targets, np.zeros((1, 11)))
    with pytest.raises(ValueError, match=r"targets must have shape \(\|H\| >= 2"):
        target_family_gradient_variance(lambda y: None, targets[0], np.zeros((1, 11)))
    net = MLP(cube, np.zeros((8, 2)), widths=[2], loss="mse")
    with pytest.raises(ValueError, match="single output"):
        gradient_variance_bound(net, net.init_params(1), 8)


@pytest.mark.parametrize("alpha", [1.2, 1.5, 1.8, 2.0])
def test_tail_index_recovers_alpha_of_stable_samples(alpha):
    x = symmetric_stable(alpha, 40_000, seed=11)
    t = tail_index(x)
    assert t.block == 200 and t.n_blocks == 200
    assert abs(t.alpha - alpha) < 5 * t.stderr  # 5 SE, SE from the block terms (module docstring)
    assert 0.01 < t.stderr < 0.1


@pytest.mark.parametrize("alpha", [1.3, 2.0])
def test_stable_sampler_has_scipys_law(alpha):
    x = symmetric_stable(alpha, 2000, seed=12)
    law = stats.levy_stable(alpha, 0.0) if alpha < 2 else stats.norm(scale=np.sqrt(2.0))
    assert stats.kstest(x, law.cdf).pvalue > 1e-3  # a correct sampler fails this 1 time in 1000


def test_pooling_coordinates_of_different_scales_fakes_heavy_tails():
    rng = np.random.default_rng(13)
    scales = np.exp(np.linspace(-3, 3, 20))
    g = rng.normal(size=(10_000, 20)) * scales  # Gaussian in every coordinate
    per = tail_index_per_coordinate(g)
    assert per.alpha.shape == (20,)
    assert np.all(np.abs(per.alpha - 2) < 5 * per.stderr)
    pooled = tail_index(g)
    assert pooled.alpha < 2 - 10 * pooled.stderr  # "heavy-tailed", though nothing is


def test_tail_index_bad_input():
    with pytest.raises(ValueError, match="too short for the tail-index blocks"):
        tail_index(np.ones(7), block=4)
    with pytest.raises(ValueError, match="block must be an integer >= 2"):
        tail_index(np.ones(70), block=1)
    with pytest.raises(ValueError, match="exact zeros"):
        tail_index(np.r_[np.zeros(10), np.ones(90)])
    with pytest.raises(ValueError, match="NaN"):
        tail_index(np.r_[np.nan, np.ones(99)])
    with pytest.raises(ValueError, match="alpha must lie in"):
        symmetric_stable(2.5, 10)


def test_fluctuation_dissipation_holds_at_stationarity_and_not_before():
    lin = _regression(n=64, p=4, weight_decay=0.1, seed=4)
    theta0 = np.zeros((64, 4))
    trace = sgd_trace(lin, theta0, lr=0.1, batch_size=4, n_steps=600, burn_in=200, seed=3)
    fdr = fluctuation_dissipation_residual(trace.positions, trace.grads, 0.1)
    assert abs(fdr.residual) < 5 * fdr.residual_se  # 5 SE, batch means over 10 blocks x 64 runs
    assert fdr.fluctuation > 0
    heavy = sgd_trace(lin, theta0, lr=0.05, batch_size=4, n_steps=600, burn_in=300, seed=3, momentum=0.7)
    fdr = fluctuation_dissipation_residual(heavy.positions, heavy.grads, 0.05, momentum=0.7,
                                           velocities=heavy.velocities)
    assert abs(fdr.relative) < 5 * fdr.relative_se
    # far from stationarity (gradient descent from the origin) the relation fails by many SE
    early = sgd_trace(lin, theta0, lr=0.01, batch_size=4, n_steps=50, seed=3)
    fdr = fluctuation_dissipation_residual(early.positions, early.grads, 0.01, n_blocks=5)
    assert abs(fdr.residual) > 20 * fdr.residual_se
    with pytest.raises(ValueError, match="momentum > 0 needs the velocities"):
        fluctuation_dissipation_residual(early.positions, early.grads, 0.01, momentum=0.5)
    with pytest.raises(ValueError, match="fewer than n_blocks"):
        fluctuation_dissipation_residual(early.positions[:3], early.grads[:3], 0.01)


def test_fluctuation_dissipation_checks_the_velocities_like_the_positions():
    rng = np.random.default_rng(0)
    theta, g, v = rng.normal(size=(3, 20, 3, 2))
    good = fluctuation_dissipation_residual(theta, g, 0.1, momentum=0.5, velocities=v)
    assert np.isfinite(good.fluctuation)
    # one run of a (T, d) trace: velocities of the same (T, d) shape are accepted
    single = fluctuation_dissipation_residual(theta[:, 0], g[:, 0], 0.1, momentum=0.5, velocities=v[:, 0])
    assert np.isfinite(single.fluctuation)
    # Before: a NaN velocity came back as fluctuation = nan (positions and grads were checked),
    # and velocities of another shape with as many entries were silently reshaped.
    bad = v.copy()
    bad[4, 1, 0] = np.nan
    with pytest.raises(ValueError, match="velocities contains NaN or inf"):
        fluctuation_dissipation_residual(theta, g, 0.1, momentum=0.5, velocities=bad)
    with pytest.raises(ValueError, match=r"velocities must have the shape of positions \(20, 3, 2\)"):
        fluctuation_dissipation_residual(theta, g, 0.1, momentum=0.5, velocities=np.swapaxes(v, 1, 2))


@pytest.mark.parametrize("momentum", [0.0, 0.6])
def test_sgd_trace_follows_run_sgd_step_by_step(momentum):
    from sgdsde.sgd.minibatch import run_sgd

    lin = _regression(n=30, p=3, seed=5)
    theta0 = np.random.default_rng(6).normal(size=(4, 3))
    trace = sgd_trace(lin, theta0, lr=0.05, batch_size=3, n_steps=20, burn_in=5, momentum=momentum, seed=8)
    run = run_sgd(lin, theta0, lr=0.05, batch_size=3, n_steps=25, momentum=momentum, seed=8,
                  record_at=[5, 25], record_params=True)
    np.testing.assert_allclose(trace.positions[0], run.observables["position"][1], atol=1e-13)
    np.testing.assert_allclose(trace.final, run.observables["position"][-1], atol=1e-13)
    # the recorded gradients are the steps taken
    if momentum == 0:
        step = trace.positions[1] - trace.positions[0]
        np.testing.assert_allclose(step, -0.05 * trace.grads[0], atol=1e-14)


def test_sgd_trace_refuses_non_finite_starts():
    # Before: a NaN start ran one step and raised FloatingPointError "SGD diverged at step 0
    # ...; lower the learning rate", blaming the learning rate; run_sgd names theta0.
    lin = _regression(n=16, p=2, weight_decay=0.0, seed=1)
    theta0 = np.zeros((2, 2))
    theta0[1, 0] = np.nan
    with pytest.raises(ValueError, match="theta0 contains NaN or inf"):
        sgd_trace(lin, theta0, lr=0.1, batch_size=4, n_steps=3, seed=0)


@pytest.mark.parametrize("fn", [gradient_statistics, signal_to_noise, simple_noise_scale])
def test_gradient_statistics_at_non_finite_parameters_raise(fn):
    # Before: NaN moments, ratios and noise scales came back without a word (the noise
    # functions of sgdsde.sgd.noise already raise at such points)
    theta = np.zeros((3, 3))
    theta[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"theta contains NaN or inf \(row 1\)"):
        fn(_regression(), theta)


def test_target_family_measures_at_non_finite_parameters_raise():
    # Before: both returned nan for a NaN parameter row
    targets, cube = _parities(3)
    theta = np.zeros((2, 11))
    theta[1, 4] = np.nan
    with pytest.raises(ValueError, match=r"theta contains NaN or inf \(row 1\)"):
        target_family_gradient_variance(lambda y: MLP(cube, y, widths=[2], loss="mse"), targets, theta)
    net = MLP(cube, targets[1], widths=[2], loss="mse")
    with pytest.raises(ValueError, match=r"theta contains NaN or inf \(row 1\)"):
        gradient_variance_bound(net, theta, 8)


@pytest.mark.parametrize("lr", [True, "0.1"])
def test_fluctuation_dissipation_lr_is_a_number(lr):
    # Before: float() read True as a learning rate of 1 and "0.1" as 0.1 silently
    theta, g = np.random.default_rng(0).normal(size=(2, 20, 3, 2))
    with pytest.raises(TypeError, match="lr must be a finite number > 0"):
        fluctuation_dissipation_residual(theta, g, lr)


def test_sgd_trace_records_the_seed_it_drew_with():
    # Before: seed=None drew a fresh key that was not kept, so the trace could not be replayed
    lin = _regression(n=16, p=2, weight_decay=0.0, seed=1)
    theta0 = np.zeros((2, 2))
    fresh = sgd_trace(lin, theta0, lr=0.1, batch_size=4, n_steps=5)
    assert isinstance(fresh.seed, int)
    again = sgd_trace(lin, theta0, lr=0.1, batch_size=4, n_steps=5, seed=fresh.seed)
    np.testing.assert_array_equal(again.grads, fresh.grads)
    assert sgd_trace(lin, theta0, lr=0.1, batch_size=4, n_steps=1, seed=7).seed == 7
