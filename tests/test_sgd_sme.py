"""SMEs: Li–Tai–E model 5.1 weak orders, the SMEs run by the core integrators, momentum SME."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm

from sgdsde.integrators import BAOAB, EulerMaruyama
from sgdsde.landscapes.networks import LinearRegression, TwoLayerMLP
from sgdsde.landscapes.toy import Quadratic
from sgdsde.save import SaveAt
from sgdsde.sgd.data import teacher_student
from sgdsde.sgd.exact import GaussianQuadraticModel, lyapunov_covariance
from sgdsde.sgd.minibatch import run_sgd
from sgdsde.sgd.noise import SGDNoise, gradient_covariance
from sgdsde.sgd.sme import ModifiedLoss, momentum_sme, sme
from sgdsde.simulate import simulate

# Model 5.1 with eigenvalues 1 and 2 and a start whose O(η) error is not masked by the O(η²)
# terms already at η = 0.04 (the deterministic part dominates the first-order error).
H = np.array([[1.5, 0.5], [0.5, 1.5]])
X0 = np.array([3.0, -1.0])
ETAS = np.array([0.04, 0.02, 0.01, 0.005])


@pytest.fixture(scope="module")
def model():
    return GaussianQuadraticModel(H)


@pytest.mark.parametrize("order, band", [(1, (0.9, 1.1)), (2, (1.9, 2.1))])
def test_weak_error_slopes_of_the_exact_formulas(model, order, band):
    t = 1.0
    errors = [abs(model.expected_loss_sgd(X0, eta, round(t / eta))
                  - model.expected_loss_sme(X0, eta, t, order)) for eta in ETAS]
    slope = np.polyfit(np.log(ETAS), np.log(errors), 1)[0]
    assert band[0] < slope < band[1]


def test_exact_formulas_at_the_ends(model):
    f0 = 0.5 * X0 @ H @ X0
    np.testing.assert_allclose(model.expected_loss_sgd(X0, 0.02, 0), f0, rtol=1e-14)
    np.testing.assert_allclose(model.expected_loss_sme(X0, 0.02, 0.0, 2), f0, rtol=1e-14)
    lam = np.linalg.eigvalsh(H)
    eta = 0.02  # stationary SGD: ½ Σ λ η²λ² / (1 − (1 − ηλ)²) = ½ Σ ηλ² / (2 − ηλ)
    np.testing.assert_allclose(model.expected_loss_sgd(X0, eta, 10**6),
                               0.5 * np.sum(eta * lam**2 / (2 - eta * lam)), rtol=1e-12)
    np.testing.assert_allclose(model.expected_loss_sme(X0, eta, 1e4, 1), 0.25 * eta * np.sum(lam**2),
                               rtol=1e-12)


def test_simulated_sgd_matches_the_exact_sgd_formula(model):
    m, eta = 20000, 0.04
    traj = model.run_sgd(np.tile(X0, (m, 1)), eta, 25, seed=3, record_every=5)
    loss = traj.observables["loss"]
    exact = model.expected_loss_sgd(X0, eta, traj.steps)
    # 5 standard errors at every record, SE = sd/sqrt(M) (independent runs)
    se = loss.std(axis=1) / math.sqrt(m)
    assert np.all(np.abs(loss.mean(axis=1) - exact) <= 5 * se + 1e-12)  # exact at step 0
    # and the measured SGD–SME gap resolves the order-1 weak error: at η = 0.04, t = 1 it is > 10 SE
    sme_exact = model.expected_loss_sme(X0, eta, traj.ts[-1], 1)
    assert abs(loss[-1].mean() - sme_exact) > 10 * se[-1]
    np.testing.assert_array_equal(model.sample_gammas(3, np.arange(2), 0).shape, (2, 2))


@pytest.mark.parametrize("order", [1, 2])
def test_core_integrators_run_the_sme(model, order):
    m, eta, dt = 4000, 0.04, 0.002
    sde = model.sme(eta, order)
    traj = simulate(sde, EulerMaruyama(), np.tile(X0, (m, 1)), dt=dt, t1=1.0, seed=4, progress=False,
                    save=SaveAt(every=250, observables={"loss": model.landscape.energy}))
    loss = traj.observables["loss"]
    exact = model.expected_loss_sme(X0, eta, traj.ts, order)
    # 5 SE (SE = sd/sqrt(M)); Euler–Maruyama's own weak error ≈ 0.5·dt = 1e-3 is below 1 SE here
    se = loss.std(axis=1) / math.sqrt(m)
    assert np.all(np.abs(loss.mean(axis=1) - exact) <= 5 * se + 1e-12)  # exact at step 0


def test_modified_loss_adds_the_order_two_drift():
    data = teacher_student(20, 3, task="classification", seed=1)
    mlp = TwoLayerMLP(data.inputs, data.targets, hidden=3)
    eta = 0.1
    modified = ModifiedLoss(mlp, eta)
    theta = mlp.init_params(2, seed=2)
    g = mlp.grad(theta)
    expected = g + 0.5 * eta * np.einsum("mij,mj->mi", mlp.hessian(theta), g)
    np.testing.assert_allclose(modified.grad(theta), expected, atol=1e-13)
    eps = 1e-6  # the drift is the gradient of f + (η/4)|∇f|²: central differences, error ~1e-10
    fd = np.stack([(modified.energy(theta + eps * e) - modified.energy(theta - eps * e)) / (2 * eps)
                   for e in np.eye(mlp.dim)], axis=1)
    np.testing.assert_allclose(modified.grad(theta), fd, atol=1e-6)
    quad = ModifiedLoss(Quadratic(H), eta)  # no hvp: falls back on the dense Hessian
    x = np.array([[1.0, 2.0]])
    np.testing.assert_allclose(quad.grad(x), x @ (H + 0.5 * eta * H @ H), atol=1e-14)


def test_sme_factory_builds_the_right_sdes():
    data = teacher_student(30, 3, seed=5)
    lin = LinearRegression(data.inputs, data.targets)
    first, second = sme(lin, 0.1, 4), sme(lin, 0.1, 4, order=2, replacement=False)
    assert first.landscape is lin and isinstance(first.noise, SGDNoise)
    assert isinstance(second.landscape, ModifiedLoss) and second.noise.replacement is False
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        sme(lin, 0.1, 4, order=3)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        sme(lin, -0.1, 4)
    with pytest.raises(ValueError, match="larger than the data set"):
        sme(lin, 0.1, 31)


@pytest.mark.slow
def test_sme_stationary_covariance_is_the_lyapunov_one_to_order_eta():
    data = teacher_student(40, 3, label_noise=0.5, seed=11)
    lin = LinearRegression(data.inputs, data.targets)
    star = lin.minimizer()
    m, eta, batch = 2000, 0.02, 4
    # 12 time units = 6 relaxation times of the slowest mode (λ_min ≈ 0.53, times 1/(2λ) for Σ)
    traj = simulate(sme(lin, eta, batch), EulerMaruyama(), np.tile(star, (m, 1)), dt=eta / 2, t1=12.0,
                    seed=8, progress=False, save=SaveAt(every=10**6))
    delta = traj.final - star
    sq = np.sum(delta**2, axis=1)
    hess = lin.hessian(star[None])[0]
    lyap = lyapunov_covariance(hess, gradient_covariance(lin, star[None], batch)[0], eta)
    # 5 SE (SE = sd/sqrt(M)) plus an O(η) band: the multiplicative noise and the Euler step each
    # shift the stationary trace by a relative O(η λ) ≈ 2 % (the SGD exact formula's shift is 3 %)
    assert abs(sq.mean() - np.trace(lyap)) <= 5 * sq.std() / math.sqrt(m) + 2 * eta * np.trace(lyap)


def test_momentum_sme_parameters_and_deterministic_limit():
    """Heavy ball with (η̂, μ̂) tracks ẍ = −μẋ − ∇f at t = k·sqrt(η̂), error O(sqrt(η̂))."""
    data = teacher_student(30, 2, seed=6)
    lin = LinearRegression(data.inputs, data.targets)
    sde, dt = momentum_sme(lin, 0.04, 0.8, 4)
    assert dt == pytest.approx(0.2) and sde.friction == pytest.approx(0.2 / 0.2)
    assert sde.is_underdamped and sde.noise.lr == pytest.approx(0.2)
    a = lin.hessian(np.zeros((1, 2)))[0]
    star = lin.minimizer()
    x0 = star + np.array([1.0, -1.0])
    errors, roots = [], np.array([0.2, 0.1, 0.05, 0.025])
    mu = 1.0
    for root in roots:
        lr_hat, mom_hat = root**2, 1 - mu * root
        x, v = x0.copy(), np.zeros(2)
        for _ in range(round(2.0 / root)):
            v = mom_hat * v - lr_hat * (a @ (x - star))
            x = x + v
        flow = expm(2.0 * np.block([[np.zeros((2, 2)), np.eye(2)], [-a, -mu * np.eye(2)]]))
        errors.append(np.linalg.norm(x - star - (flow @ np.concatenate([x0 - star, np.zeros(2)]))[:2]))
    slope = np.polyfit(np.log(roots), np.log(errors), 1)[0]
    assert 0.9 < slope < 1.1


def test_momentum_sgd_and_its_sme_have_the_right_means():
    """Mean of momentum SGD = the deterministic heavy ball; mean of the SME (BAOAB) = the ODE."""
    data = teacher_student(30, 2, label_noise=0.5, seed=6)
    lin = LinearRegression(data.inputs, data.targets)
    a, star = lin.hessian(np.zeros((1, 2)))[0], lin.minimizer()
    x0 = star + np.array([1.0, -1.0])
    m, lr_hat, mom_hat, steps = 4000, 0.04, 0.8, 20
    traj = run_sgd(lin, np.tile(x0, (m, 1)), lr=lr_hat, batch_size=2, n_steps=steps, momentum=mom_hat, seed=2)
    x, v = x0.copy(), np.zeros(2)
    for _ in range(steps):
        v = mom_hat * v - lr_hat * (a @ (x - star))
        x = x + v
    # 5 SE per coordinate, SE = sd/sqrt(M): the gradient is affine and each batch independent of θ_k
    se = traj.final.std(axis=0) / math.sqrt(m)
    assert np.all(np.abs(traj.final.mean(axis=0) - x) <= 5 * se)
    sde, time_per_step = momentum_sme(lin, lr_hat, mom_hat, 2)
    t1 = steps * time_per_step
    sim = simulate(sde, BAOAB(), np.tile(x0, (m, 1)), dt=time_per_step / 10, t1=t1, seed=3, progress=False)
    flow = expm(t1 * np.block([[np.zeros((2, 2)), np.eye(2)], [-a, -sde.friction * np.eye(2)]]))
    ode = star + (flow @ np.concatenate([x0 - star, np.zeros(2)]))[:2]
    # 5 SE, SE = sd/sqrt(M); BAOAB's bias on this linear drift is O(dt²) ≈ 4e-4, below 1 SE
    se = sim.final.std(axis=0) / math.sqrt(m)
    assert np.all(np.abs(sim.final.mean(axis=0) - ode) <= 5 * se)


@pytest.mark.parametrize("order", [1, 2])
def test_one_euler_step_of_the_network_sme_is_the_written_formula(order):
    """The core driver runs the network SME unchanged: one step checked path by path."""
    from sgdsde.random import STREAM_NOISE, normals
    from sgdsde.sgd.noise import covariance_scale

    data = teacher_student(25, 3, task="classification", seed=3)
    mlp = TwoLayerMLP(data.inputs, data.targets, hidden=3, activation="relu")
    eta, batch, dt = 0.1, 5, 0.05
    theta0 = mlp.init_params(4, seed=1)
    traj = simulate(sme(mlp, eta, batch, order=order), EulerMaruyama(), theta0, dt=dt, n_steps=1, seed=7,
                    backend="numpy", progress=False)
    xi = normals(7, np.arange(4), 0, mlp.n_examples, STREAM_NOISE)
    g = mlp.grad(theta0)
    drift = g if order == 1 else g + 0.5 * eta * mlp.hvp(theta0, g)
    centred = mlp.per_example_grads(theta0) - g[:, None, :]
    kick = math.sqrt(eta * covariance_scale(25, batch)) * np.einsum("mb,mbd->md", xi, centred)
    np.testing.assert_allclose(traj.final, theta0 - dt * drift + math.sqrt(dt) * kick, atol=1e-13)


def test_an_unstable_sme_run_is_a_divergence():
    """Euler–Maruyama on the order-1 SME of least squares at dt = 2.5 is unstable; it used to
    end with energies of 4e142 and completed=True, now it stops once |x| grew 1e8-fold."""
    from sgdsde.results import DivergenceError

    data = teacher_student(40, 3, label_noise=0.5, seed=11)
    sde = sme(LinearRegression(data.inputs, data.targets), 0.5, 4)
    with pytest.raises(DivergenceError, match="grew past max_growth"):
        simulate(sde, EulerMaruyama(), np.ones((2, 3)), dt=2.5, n_steps=300, seed=1, progress=False,
                 save=SaveAt(every=50, observables={"E": "energy"}))


@pytest.mark.parametrize("lr", [True, "0.1"])
def test_learning_rates_are_numbers_not_bools_or_strings(lr):
    # Before: float(lr) read True as a learning rate of 1 and "0.1" as 0.1, silently
    from sgdsde.sgd.trace import sgd_trace

    data = teacher_student(20, 3, seed=0)
    loss = LinearRegression(data.inputs, data.targets)
    model = GaussianQuadraticModel(np.eye(2))
    calls = [lambda: sme(loss, lr, 4), lambda: momentum_sme(loss, lr, 0.5, 4), lambda: SGDNoise(loss, lr, 4),
             lambda: ModifiedLoss(Quadratic(np.eye(2)), lr),
             lambda: model.expected_loss_sgd(np.ones(2), lr, 3),
             lambda: sgd_trace(loss, np.zeros((1, 3)), lr=lr, batch_size=4, n_steps=2, seed=0)]
    for call in calls:
        with pytest.raises(TypeError, match="lr must be a finite number > 0"):
            call()
