"""Noise rank and lag-covariance asymmetry: exact on linear Gaussian chains, zero when reversible."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from sgdsde.generalisation.nonequilibrium import (
    block_lag_asymmetry,
    lag_asymmetry,
    noise_covariance_spectrum,
    trace_rank,
)
from sgdsde.landscapes.networks import LinearRegression
from sgdsde.random import STREAM_USER, normals

STREAM = STREAM_USER + 40


def _linear_chain(f, noise_root, m, t, seed):
    """x_{t+1} = F x_t + B ξ_t from the stationary law's neighbourhood (after a burn-in); (T, M, k)."""
    k = f.shape[0]
    x = np.zeros((m, k))
    out = np.empty((t, m, k))
    for step in range(t + 200):
        x = x @ f.T + normals(seed, np.arange(m), step, k, STREAM) @ noise_root.T
        if step >= 200:
            out[step - 200] = x
    return out


def _exact_asymmetry(f, q):
    c0 = linalg.solve_discrete_lyapunov(f, q)
    c1 = f @ c0
    s = np.sqrt(np.diag(c0))
    return 0.5 * (c1 - c1.T) / np.outer(s, s)


def test_non_commuting_noise_gives_the_exact_current():
    h = np.array([[1.0, 0.0], [0.0, 3.0]])
    f = np.eye(2) - 0.2 * h
    root = np.array([[1.0, 0.0], [0.9, 0.5]])  # noise covariance not diagonal in H's eigenbasis
    res = lag_asymmetry(_linear_chain(f, root, m=32, t=1500, seed=1), lag=1)
    exact = _exact_asymmetry(f, root @ root.T)
    assert abs(exact[0, 1]) > 10 * res.stderr[0, 1]  # the effect is resolved ...
    # ... and agrees with the exact value within 5 SE (plus the O(1/T) bias of time-mean centring)
    assert abs(res.antisymmetric[0, 1] - exact[0, 1]) <= 5 * res.stderr[0, 1] + 2 / res.n_times
    np.testing.assert_allclose(res.antisymmetric, -res.antisymmetric.T)
    assert res.chi2 > 20 * res.chi2_null


def test_reversible_chain_has_no_current():
    # symmetric F and isotropic noise: a reversible (detailed-balance) Gaussian chain
    h = np.array([[1.0, 0.4, 0.0], [0.4, 2.0, 0.3], [0.0, 0.3, 1.5]])
    res = lag_asymmetry(_linear_chain(np.eye(3) - 0.2 * h, np.eye(3), m=32, t=1500, seed=2), lag=2)
    assert res.dof == 3
    assert res.max_z < 4.0  # 3 entries, Student-t(31): P(max |z| > 4) < 1e-3
    assert res.chi2 < 6 * res.chi2_null
    # the symmetric part's diagonal is the lag-2 autocorrelation, (F²C₀)_ii / (C₀)_ii
    f = np.eye(3) - 0.2 * h
    c0 = linalg.solve_discrete_lyapunov(f, np.eye(3))
    np.testing.assert_allclose(np.diag(res.symmetric), np.diag(f @ f @ c0) / np.diag(c0), atol=0.05)


def test_blocks_of_one_run_resolve_the_current_and_its_absence():
    h = np.array([[1.0, 0.0], [0.0, 3.0]])
    f = np.eye(2) - 0.2 * h
    root = np.array([[1.0, 0.0], [0.9, 0.5]])
    run = _linear_chain(f, root, m=1, t=4000, seed=6)[:, 0]
    res = block_lag_asymmetry(run, lag=1, n_blocks=10)
    exact = _exact_asymmetry(f, root @ root.T)[0, 1]
    # 5 SE over blocks, plus the O(1/block length) bias of centring each block
    assert abs(res.antisymmetric[0, 1] - exact) <= 5 * res.stderr[0, 1] + 2 / res.n_times
    assert res.chi2 > 20 * res.chi2_null
    other = _linear_chain(f, np.eye(2), m=1, t=4000, seed=7)[:, 0]
    reversible = block_lag_asymmetry(other, lag=1, n_blocks=10)
    assert reversible.max_z < 5.0  # one entry, Student-t(9): P(|z| > 5) < 1e-3
    with pytest.raises(ValueError, match="n_blocks"):
        block_lag_asymmetry(run, n_blocks=2)
    with pytest.raises(ValueError, match="too short"):
        block_lag_asymmetry(run[:100], n_blocks=20)


def test_noise_covariance_of_least_squares_and_trace_rank():
    x = normals(3, np.arange(12), 0, 4, STREAM)
    y = normals(4, np.arange(12), 0, 1, STREAM)[:, 0]
    loss = LinearRegression(x, y, weight_decay=0.3)
    theta = normals(5, np.arange(2), 0, 4, STREAM)
    values, vectors = noise_covariance_spectrum(loss, theta)
    expected = np.zeros((4, 4))
    for t in theta:
        g = (x @ t - y)[:, None] * x
        g -= g.mean(axis=0)
        expected += g.T @ g / 12 / 2
    np.testing.assert_allclose(vectors @ np.diag(values) @ vectors.T, expected, atol=1e-12)
    assert np.all(np.diff(values) <= 0)
    assert trace_rank([5.0, 3.0, 1.0, 0.5, 0.5], 0.9) == 3
    assert trace_rank([1.0, 0.0, 0.0], 0.99) == 1
    assert trace_rank(np.ones(10), 1.0) == 10


def test_bad_input():
    z = np.zeros((50, 8, 3)) + np.arange(50)[:, None, None] % 3
    with pytest.raises(ValueError, match="too short"):
        lag_asymmetry(z[:10], lag=1)
    with pytest.raises(ValueError, match="at least 4 independent runs"):
        lag_asymmetry(z[:, :3], lag=1)
    with pytest.raises(ValueError, match="at least 2 coordinates"):
        lag_asymmetry(z[:, :, :1], lag=1)
    with pytest.raises(ValueError, match="lag"):
        lag_asymmetry(z, lag=0)
    bad = z.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        lag_asymmetry(bad)
    with pytest.raises(ValueError, match="fraction"):
        trace_rank([1.0, 2.0], 0.0)
    with pytest.raises(ValueError, match="all zero"):
        trace_rank([0.0, 0.0])


def test_a_constant_coordinate_raises_instead_of_giving_nan():
    # a coordinate with zero variance in every run has no normalised lag covariance: it gave
    # NaN entries of A (and a NaN chi2) with only a RuntimeWarning
    z = normals(3, np.arange(8), 0, 50 * 3, STREAM).reshape(8, 50, 3).transpose(1, 0, 2).copy()
    z[:, :, 2] = 1.5
    with pytest.raises(ValueError, match="coordinate 2"):
        lag_asymmetry(z)
    with pytest.raises(ValueError, match="coordinate 2"):
        block_lag_asymmetry(z[:, 0].repeat(4, axis=0), n_blocks=4)


def test_noise_covariance_rejects_non_finite_parameters_and_fractional_example_counts():
    x = normals(3, np.arange(12), 0, 4, STREAM)
    loss = LinearRegression(x, normals(4, np.arange(12), 0, 1, STREAM)[:, 0])
    theta = normals(5, np.arange(2), 0, 4, STREAM)
    bad = theta.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="theta"):  # gave NaN eigenvalues
        noise_covariance_spectrum(loss, bad)
    with pytest.raises(ValueError, match="max_examples"):  # ran silently on the first 2 examples
        noise_covariance_spectrum(loss, theta, max_examples=2.7)
    with pytest.raises(ValueError, match="max_examples"):
        noise_covariance_spectrum(loss, theta, max_examples=True)
    values, _ = noise_covariance_spectrum(loss, theta, max_examples=100)  # more than n: all n
    np.testing.assert_allclose(values, noise_covariance_spectrum(loss, theta)[0])


def test_identical_runs_have_no_error_bar():
    # M copies of one run (e.g. the same seed for every run) have zero spread: the SE was 0
    # and chi2 inf or NaN, with only a RuntimeWarning
    one = normals(3, np.arange(1), 0, 50 * 3, STREAM).reshape(50, 1, 3)
    with pytest.raises(ValueError, match="identical"):
        lag_asymmetry(np.repeat(one, 5, axis=1))


def test_noise_covariance_of_an_empty_cloud_raises():
    x = normals(3, np.arange(12), 0, 4, STREAM)
    loss = LinearRegression(x, normals(4, np.arange(12), 0, 1, STREAM)[:, 0])
    with pytest.raises(ValueError, match="at least one parameter vector"):  # was NaN (0/0)
        noise_covariance_spectrum(loss, np.zeros((0, 4)))
