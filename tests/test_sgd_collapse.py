"""The η/B law on least squares: collapse at fixed η/B, d/2 nats of entropy per e-fold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sgdsde.landscapes.networks import LinearRegression
from sgdsde.measure.entropy import gaussian_entropy
from sgdsde.random import STREAM_USER, normals
from sgdsde.sgd.data import teacher_student
from sgdsde.sgd.exact import lyapunov_covariance, sgd_stationary_covariance
from sgdsde.sgd.minibatch import run_sgd
from sgdsde.sgd.noise import gradient_covariance

M = 2000
RATIOS = 0.004 * np.exp(np.arange(3))  # one e-fold apart


@pytest.fixture(scope="module")
def problem():
    data = teacher_student(40, 3, label_noise=0.5, seed=11)
    loss = LinearRegression(data.inputs, data.targets)
    star = loss.minimizer()
    hess = loss.hessian(star[None])[0]
    per_example = gradient_covariance(loss, star[None], 1)[0]
    return loss, star, hess, per_example


def _stationary(problem, lr, batch, seed):
    """Cloud after 6 e-folds of the slowest covariance mode, started from the Lyapunov Gaussian."""
    loss, star, hess, per_example = problem
    start = lyapunov_covariance(hess, per_example / batch, lr)
    z = normals(seed, np.arange(M), 0, loss.dim, STREAM_USER + 20)
    n_steps = math.ceil(6 / (2 * lr * np.linalg.eigvalsh(hess).min()))
    theta0 = star + z @ np.linalg.cholesky(start).T
    traj = run_sgd(loss, theta0, lr=lr, batch_size=batch, n_steps=n_steps, seed=seed, record_every=n_steps)
    return traj.final


def _gauss_entropy(cov):
    return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]


def test_excess_loss_and_entropy_collapse_at_fixed_eta_over_b(problem):
    loss, star, hess, per_example = problem
    ratio = RATIOS[1]
    f_star = loss.energy(star[None])[0]
    entropy_se = math.sqrt(loss.dim / (2 * M))  # gaussian_entropy's SE, ≈ sqrt(d/2M)
    excess, entropy, exact_excess, exact_entropy = [], [], [], []
    for i, batch in enumerate((1, 2, 4)):
        cloud = _stationary(problem, ratio * batch, batch, seed=30 + i)
        e = loss.energy(cloud) - f_star
        excess.append((e.mean(), e.std(ddof=1) / math.sqrt(M)))
        entropy.append(gaussian_entropy(cloud))
        exact = sgd_stationary_covariance(loss, ratio * batch, batch)
        exact_excess.append(0.5 * np.trace(hess @ exact))
        exact_entropy.append(_gauss_entropy(exact))
    # each (η, B) within 5 SE of its exact stationary value (SE = sd/sqrt(M); entropy SE above)
    for (mean, se), expected in zip(excess, exact_excess):
        assert abs(mean - expected) <= 5 * se
    for value, expected in zip(entropy, exact_entropy):
        assert abs(value - expected) <= 5 * entropy_se
    # the collapse: the measured values at one η/B agree pairwise within 5 combined SE, and the
    # exact values' own spread (the O(η) part that is not a function of η/B) is below one SE
    se = max(s for _, s in excess)
    assert np.ptp([m for m, _ in excess]) <= 5 * math.sqrt(2) * se
    assert np.ptp(exact_excess) < se
    assert np.ptp(entropy) <= 5 * math.sqrt(2) * entropy_se
    # and they sit on the SME prediction (η/4B) Tr D
    assert abs(np.mean([m for m, _ in excess]) - ratio * np.trace(per_example) / 4) <= 5 * se


def test_entropy_grows_by_half_d_per_e_fold(problem):
    loss, star, hess, per_example = problem
    entropy = [gaussian_entropy(_stationary(problem, r * 2, 2, seed=40 + i)) for i, r in enumerate(RATIOS)]
    exact = [_gauss_entropy(sgd_stationary_covariance(loss, r * 2, 2)) for r in RATIOS]
    slope = np.polyfit(np.log(RATIOS), entropy, 1)[0]
    slope_exact = np.polyfit(np.log(RATIOS), exact, 1)[0]
    # least-squares slope of 3 points one e-fold apart: SE = SE(entropy)/sqrt(Σ(x − x̄)²) = s/sqrt(2)
    slope_se = math.sqrt(loss.dim / (2 * M)) / math.sqrt(2)
    d_half = loss.dim / 2
    # d/2 up to 5 SE plus the O(η) correction that the exact discrete covariance carries
    assert abs(slope - d_half) <= 5 * slope_se + abs(slope_exact - d_half)
    assert abs(slope_exact - d_half) < 0.05 * d_half  # near the minimum the law holds to a few %
