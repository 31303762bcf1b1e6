"""GD, SGD and heavy-ball SGD on under-determined least squares reach the interpolant closest to θ₀."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.generalisation import (
    closest_interpolant,
    interpolant_distance,
    linearised_interpolant,
    output_jacobian,
)
from sgdsde.landscapes.mlp import MLP
from sgdsde.landscapes.networks import LinearRegression
from sgdsde.random import normals
from sgdsde.sgd import run_sgd

N, D = 8, 20


@pytest.fixture(scope="module")
def loss():
    x = normals(1, np.arange(N), 0, D, 4000)
    y = normals(2, np.arange(N), 0, 1, 4000)[:, 0]
    return LinearRegression(x, y)


def test_closest_interpolant_is_the_pseudo_inverse_solution(loss):
    x, y = loss.inputs, loss.targets
    np.testing.assert_allclose(closest_interpolant(x, y), np.linalg.pinv(x) @ y, atol=1e-12)
    theta0 = np.linspace(-1, 1, D)
    theta = closest_interpolant(x, y, theta0)
    np.testing.assert_allclose(x @ theta, y, atol=1e-12)
    # among interpolants it is the closest to θ₀: moving along the null space only increases the distance
    null = np.linalg.svd(x)[2][N:]
    for v in null[:3]:
        assert np.linalg.norm(theta + 0.1 * v - theta0) > np.linalg.norm(theta - theta0)


@pytest.mark.parametrize("method", ["gd", "sgd", "heavy_ball"])
@pytest.mark.parametrize("start", ["zero", "random"])
def test_gradient_methods_converge_to_the_closest_interpolant(loss, method, start):
    theta0 = np.zeros(D) if start == "zero" else normals(5, np.arange(1), 0, D, 4000)[0]
    kwargs = {"gd": dict(batch_size=N, sampling="without_replacement"),
              "sgd": dict(batch_size=2),
              "heavy_ball": dict(batch_size=2, momentum=0.8)}[method]
    lr = {"gd": 0.2, "sgd": 0.05, "heavy_ball": 0.02}[method]  # per-example curvature |x_i|² ≈ d = 20
    traj = run_sgd(loss, np.tile(theta0, (3, 1)), lr=lr, n_steps=2000, seed=7, record_every=2000, **kwargs)
    check = interpolant_distance(loss, traj.final, theta0)
    assert np.all(check.null_space_drift < 1e-12)  # updates never leave θ₀ + row(X)
    assert np.all(check.within_bound)
    assert np.all(check.distance < 1e-6)  # converged, not just bounded
    # the bound is not vacuous: a point off the interpolant by a null-space step fails it
    null = np.linalg.svd(loss.inputs)[2][N]
    off = interpolant_distance(loss, traj.final + 1e-3 * null, theta0)
    assert not np.any(off.within_bound)


def test_bound_holds_before_convergence(loss):
    theta0 = np.zeros(D)
    traj = run_sgd(loss, np.tile(theta0, (8, 1)), lr=0.05, batch_size=2, n_steps=40, seed=3, record_every=40)
    check = interpolant_distance(loss, traj.final, theta0)
    assert np.all(check.distance > 1e-3)  # far from converged ...
    assert np.all(check.within_bound)  # ... and still inside the gradient bound
    assert np.all(check.distance > 0.05 * check.bound)  # which is not orders of magnitude loose


def test_linearised_interpolant_of_a_network():
    x = normals(11, np.arange(6), 0, 3, 4000)
    y = np.sin(x[:, 0])
    net = MLP(x, y, widths=(8,), loss="mse")
    theta0 = net.init_params(1, seed=2)[0]
    jac = output_jacobian(net, theta0)
    # finite differences of the outputs along a random direction
    v = normals(12, np.arange(1), 0, net.dim, 4000)[0]
    h = 1e-6
    fd = (net.predict((theta0 + h * v)[None], x) - net.predict((theta0 - h * v)[None], x))[0, :, 0] / (2 * h)
    np.testing.assert_allclose(jac @ v, fd, rtol=1e-6, atol=1e-8)
    theta_lin, _ = linearised_interpolant(net, theta0)
    o0 = net.predict(theta0[None], x)[0, :, 0]
    np.testing.assert_allclose(o0 + jac @ (theta_lin - theta0), y, atol=1e-10)


def test_bad_input(loss):
    over = LinearRegression(np.eye(4), np.ones(4))
    with pytest.raises(ValueError, match="n < d"):
        interpolant_distance(over, np.zeros((1, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="n < d"):
        closest_interpolant(np.ones((5, 3)), np.ones(5))
    with pytest.raises(ValueError, match="full row rank"):
        closest_interpolant(np.ones((2, 5)), np.ones(2))
    with pytest.raises(ValueError, match="weight_decay"):
        interpolant_distance(LinearRegression(loss.inputs, loss.targets, weight_decay=0.1),
                             np.zeros((1, D)), np.zeros(D))
    with pytest.raises(ValueError, match="theta0"):
        closest_interpolant(loss.inputs, loss.targets, np.zeros(D + 1))
    with pytest.raises(ValueError, match="one output"):
        output_jacobian(MLP(np.ones((3, 2)), np.array([0, 1, 0]), widths=(2,)), np.zeros(9))


def test_non_finite_parameters_raise(loss):
    bad = np.zeros((2, D))
    bad[1, 0] = np.nan
    # a NaN run came back as distance NaN (and within_bound False) without an error
    with pytest.raises(ValueError, match="theta contains NaN"):
        interpolant_distance(loss, bad, np.zeros(D))
    # a NaN θ₀ gave a NaN Jacobian, then "inputs must be a finite (n, d) matrix" about the Jacobian
    net = MLP(np.ones((3, 2)), np.ones(3), widths=(2,), loss="mse")
    theta0 = np.full(net.dim, np.nan)
    with pytest.raises(ValueError, match="theta0 contains NaN"):
        output_jacobian(net, theta0)
    with pytest.raises(ValueError, match="theta0 contains NaN"):
        linearised_interpolant(net, theta0)
