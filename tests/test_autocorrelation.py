"""Integrated autocorrelation time: AR(1) closed form, emcee agreement, ESS, bad input."""

import warnings

import numpy as np
import pytest
from scipy import signal

from sgdsde.measure.autocorrelation import (
    autocorrelation_function,
    effective_sample_size,
    integrated_autocorrelation_time,
)


def ar1(phi, n_times, n_particles, seed):
    """Stationary AR(1) traces x_{t+1} = φ x_t + ε_t, unit marginal variance."""
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((n_times, n_particles)) * np.sqrt(1 - phi**2)
    x0 = rng.standard_normal(n_particles)
    x, _ = signal.lfilter([1.0], [1.0, -phi], eps, axis=0, zi=phi * x0[None, :])
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_ar1_integrated_time(phi):
    n_times, n_particles = 4000, 100
    x = ar1(phi, n_times, n_particles, seed=int(10 * phi))
    tau = integrated_autocorrelation_time(x)
    exact = 1 + 2 * phi / (1 - phi)
    # Sokal: Var τ̂ ≈ 2(2M + 1) τ² / N with N = n_times n_particles and window M ≈ 5τ.
    # Known biases: truncation −2 Σ_{t>M} φ^t = −2 φ^{M+1}/(1 − φ), mean subtraction −2Mτ/n_times.
    window = int(np.ceil(5 * exact))
    se = np.sqrt(2 * (2 * window + 1) / (n_times * n_particles)) * exact
    bias = -2 * phi ** (window + 1) / (1 - phi) - 2 * window * exact / n_times
    assert tau == pytest.approx(exact + bias, abs=5 * se)


def test_ar1_acf_is_geometric():
    phi = 0.7
    rho = autocorrelation_function(ar1(phi, 4000, 200, seed=1), max_lag=10)
    assert rho[0] == 1.0
    # SE of ρ̂(t) ≈ sqrt((1 + φ²)/(1 − φ²) / N) (Bartlett) for small t; 5 of them, plus the
    # mean-subtraction bias −τ/n_times.
    se = np.sqrt((1 + phi**2) / (1 - phi**2) / (4000 * 200))
    tau = (1 + phi) / (1 - phi)
    assert np.allclose(rho, phi ** np.arange(11) - tau / 4000 * (np.arange(11) > 0), atol=5 * se)


def test_per_particle_times_and_effective_sample_size():
    phi = 0.8
    x = ar1(phi, 20_000, 4, seed=2)
    taus = integrated_autocorrelation_time(x, per_particle=True)
    assert taus.shape == (4,)
    exact = (1 + phi) / (1 - phi)
    se = np.sqrt(2 * (2 * 5 * exact + 1) / 20_000) * exact  # Sokal's variance, one chain
    assert np.all(np.abs(taus - exact) < 5 * se)
    ess = effective_sample_size(x)
    assert ess == pytest.approx(x.size / integrated_autocorrelation_time(x))
    # The ESS gives the right SE of the mean: the spread of per-particle means over many
    # particles matches sd / sqrt(n_times / τ).
    y = ar1(phi, 2000, 400, seed=3)
    ess_per_particle = effective_sample_size(y) / y.shape[1]
    predicted_se = y.std() / np.sqrt(ess_per_particle)
    # The sd of 400 means has relative SE 1/sqrt(2·400); 5 of them.
    assert y.mean(axis=0).std(ddof=1) == pytest.approx(predicted_se, rel=5 / np.sqrt(2 * 400))


def test_per_particle_times_across_fft_blocks():
    x = ar1(0.6, 500, 600, seed=8)  # more particles than one FFT block
    taus = integrated_autocorrelation_time(x, per_particle=True, tol=0)
    for j in (0, 255, 256, 599):
        assert taus[j] == pytest.approx(integrated_autocorrelation_time(x[:, j], tol=0), rel=1e-12)
    x[:, 400] = 1.0
    with pytest.raises(ValueError, match="particle 400 is constant"):
        integrated_autocorrelation_time(x)


def test_agrees_with_emcee():
    autocorr = pytest.importorskip("emcee.autocorr")
    x = ar1(0.85, 3000, 16, seed=4)
    assert integrated_autocorrelation_time(x) == pytest.approx(autocorr.integrated_time(x, quiet=True)[0],
                                                               rel=1e-10)
    assert integrated_autocorrelation_time(x[:, 3]) == pytest.approx(
        autocorr.integrated_time(x[:, 3], quiet=True)[0], rel=1e-10)


def test_short_trace_warns():
    x = ar1(0.99, 300, 2, seed=5)
    with pytest.warns(RuntimeWarning, match="unreliable"):
        integrated_autocorrelation_time(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        integrated_autocorrelation_time(x, tol=0)


def test_float32_and_list_input():
    x = ar1(0.5, 2000, 3, seed=6)
    assert integrated_autocorrelation_time(x.astype(np.float32)) == pytest.approx(
        integrated_autocorrelation_time(x), rel=1e-5)
    single = integrated_autocorrelation_time(x[:, 0])
    assert integrated_autocorrelation_time(list(x[:, 0])) == pytest.approx(single)


def test_bad_input_is_reported_clearly():
    with pytest.raises(ValueError, match="constant"):
        integrated_autocorrelation_time(np.ones((100, 3)))
    with pytest.raises(ValueError, match="shape"):
        integrated_autocorrelation_time(np.ones((10, 3, 2)))
    with pytest.raises(ValueError, match="at least 2 times"):
        integrated_autocorrelation_time(np.ones(1))
    with pytest.raises(ValueError, match="NaN"):
        integrated_autocorrelation_time(np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="c "):
        integrated_autocorrelation_time(np.arange(10.0), c=0)
    with pytest.raises(ValueError, match="max_lag"):
        autocorrelation_function(np.arange(10.0), max_lag=10)
    with pytest.raises(ValueError, match="anticorrelated"):
        effective_sample_size(ar1(-0.9, 2000, 2, seed=7), tol=0)


def test_per_particle_must_be_a_bool():
    # Before: any truthy value (e.g. the string "False") returned per-particle times
    trace = np.random.default_rng(0).normal(size=(400, 3))
    with pytest.raises(TypeError, match="per_particle must be True or False"):
        integrated_autocorrelation_time(trace, per_particle="False")
