"""The multiplicative-noise quadratic model: exact E f of SGD and of the SMEs, blow-up rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import linalg

from sgdsde.integrators import EulerMaruyama
from sgdsde.save import SaveAt
from sgdsde.sgd.exact import GaussianQuadraticModel, MultiplicativeQuadraticModel
from sgdsde.simulate import simulate

H = np.array([[1.5, 0.5], [0.5, 1.5]])  # eigenvalues 1 and 2
X0 = np.array([3.0, -1.0])


@pytest.fixture(scope="module")
def model():
    return MultiplicativeQuadraticModel(H, noise_scale=1.5)


def test_exact_sgd_expectation_matches_monte_carlo_sgd():
    # σ = 0.5 keeps the law of f(x_k) light-tailed enough for a sharp Monte Carlo mean
    model = MultiplicativeQuadraticModel(H, noise_scale=0.5)
    m, eta, k = 40_000, 0.2, 10
    traj = model.run_sgd(np.tile(X0, (m, 1)), eta, k, seed=3, record_every=5)
    loss = traj.observables["loss"]  # (records, M)
    exact = model.expected_loss_sgd(X0, eta, traj.steps)
    # 5 SE at every record, SE = sd/sqrt(M) (independent runs; exact at step 0)
    se = loss.std(axis=1, ddof=1) / math.sqrt(m)
    assert np.all(np.abs(loss.mean(axis=1) - exact) <= 5 * se + 1e-12)
    # the Monte Carlo resolves the order-1 SME's error at this η (> 10 SE apart)
    sme1 = model.expected_loss_sme(X0, eta, traj.ts[-1], order=1)
    assert abs(loss[-1].mean() - sme1) > 10 * se[-1]
    np.testing.assert_allclose(model.landscape.energy(traj.final), loss[-1], rtol=1e-12)


def test_sgd_noise_has_the_stated_mean_and_covariance(model):
    # One step from x: mean −ηHx, covariance η²σ² Q diag(λ² c²) Qᵀ (c = Qᵀx); 5 SE per entry.
    m, eta = 200_000, 0.1
    x = model.run_sgd(np.tile(X0, (m, 1)), eta, 1, seed=5).final
    step = (x - X0) / eta
    np.testing.assert_allclose(step.mean(axis=0), -H @ X0, atol=5 * step.std(axis=0).max() / math.sqrt(m))
    c = model.eigenvectors.T @ X0
    q = model.eigenvectors
    cov = model.noise_scale**2 * q @ np.diag((model.eigenvalues * c) ** 2) @ q.T
    # SE of a covariance entry ≈ sqrt((C_ii C_jj + C_ij²)/M) (Gaussian fourth moments)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / m)
    assert np.all(np.abs(np.cov(step.T) - cov) <= 5 * se)


@pytest.mark.parametrize("order, band", [(1, (0.9, 1.1)), (2, (1.9, 2.1))])
def test_weak_order_of_the_exact_formulas(model, order, band):
    etas = np.array([0.02, 0.01, 0.005, 0.0025])
    errors = [abs(model.expected_loss_sgd(X0, e, round(1 / e)) - model.expected_loss_sme(X0, e, 1.0, order))
              for e in etas]
    assert band[0] < np.polyfit(np.log(etas), np.log(errors), 1)[0] < band[1]


def test_divergence_learning_rates(model):
    lam, s2 = 2.0, 1.5**2
    assert model.divergence_lr("sgd") == pytest.approx(2 / (lam * (1 + s2)))
    assert model.divergence_lr(1) == pytest.approx(2 / (lam * s2))
    assert model.divergence_lr(2) == pytest.approx(2 / (lam * (s2 - 1)))
    assert model.divergence_lr("sgd") < model.divergence_lr(1) < model.divergence_lr(2)
    assert MultiplicativeQuadraticModel(H, 0.5).divergence_lr(2) == math.inf
    # at each threshold the stiff direction neither grows nor shrinks; just beyond, E f grows
    eta = model.divergence_lr("sgd")
    assert model.growth_factor_sgd(eta).max() == pytest.approx(1.0)
    assert model.expected_loss_sgd(X0, eta * 1.01, 2000) > model.expected_loss_sgd(X0, eta * 1.01, 0)
    assert model.expected_loss_sme(X0, eta * 1.01, 2000 * eta, order=1) < 1e-6  # the SME still converges
    for order in (1, 2):
        assert model.growth_rate_sme(model.divergence_lr(order), order).max() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("which", ["model", "absolute"])
@pytest.mark.parametrize("order", [1, 2])
def test_core_integrators_run_the_multiplicative_sme(request, which, order):
    model = request.getfixturevalue(which)  # relative σ = 1.5, or absolute σ = 1
    m, eta, dt, n = 20_000, 0.2, 0.01, 100
    traj = simulate(model.sme(eta, order), EulerMaruyama(), np.tile(X0, (m, 1)), dt=dt, n_steps=n, seed=4,
                    progress=False, save=SaveAt(every=n, observables={"loss": model.landscape.energy}))
    loss = traj.observables["loss"][-1]
    # Euler–Maruyama on dc = −a c dt + b c dW multiplies E c² by exactly (1 − a dt)² + b² dt per step
    lam, c = model.eigenvalues, model.eigenvectors.T @ X0
    a = lam if order == 1 else lam + 0.5 * eta * lam**2
    em_exact = 0.5 * np.sum(lam * c**2 * ((1 - a * dt) ** 2 + eta * model.curvature_std**2 * dt) ** n)
    se = loss.std(ddof=1) / math.sqrt(m)
    assert abs(loss.mean() - em_exact) <= 5 * se
    # and that discretisation converges to the SME's closed form: O(dt) relative gap
    sme_exact = model.expected_loss_sme(X0, eta, n * dt, order)
    assert abs(em_exact / sme_exact - 1) < 4 * dt * (a**2).max()


def test_bad_input():
    with pytest.raises(ValueError, match="noise_scale"):
        MultiplicativeQuadraticModel(H, 0.0)
    with pytest.raises(ValueError, match="positive definite"):
        MultiplicativeQuadraticModel(np.diag([1.0, -1.0]))
    model = MultiplicativeQuadraticModel(H)
    with pytest.raises(ValueError, match="which"):
        model.divergence_lr(3)
    with pytest.raises(ValueError, match="order"):
        model.expected_loss_sme(X0, 0.1, 1.0, order=3)
    with pytest.raises(ValueError, match="lr"):
        model.expected_loss_sgd(X0, -0.1, 3)
    with pytest.raises(ValueError, match="x0"):
        model.expected_loss_sgd(np.ones(3), 0.1, 3)
    with pytest.raises(ValueError, match="n_steps"):
        model.run_sgd(np.ones((2, 2)), 0.1, -1)
    with pytest.raises(TypeError, match="relative"):
        MultiplicativeQuadraticModel(H, 1.0, relative="no")


# --- absolute curvature noise, s_i = σ: f_γ = ½ (Qᵀx)ᵀ(D + σ diag γ)(Qᵀx) ------------------------


@pytest.fixture(scope="module")
def absolute():
    """σ = 1: the form in which a public reproduction writes Li–Tai–E's second test problem."""
    return MultiplicativeQuadraticModel(H, noise_scale=1.0, relative=False)


def test_absolute_noise_exact_moments_match_monte_carlo_sgd(absolute):
    m, eta, k = 40_000, 0.2, 10
    traj = absolute.run_sgd(np.tile(X0, (m, 1)), eta, k, seed=3, record_every=k)
    c = traj.final @ absolute.eigenvectors  # eigen-coordinates of every run, (M, d)
    c0 = absolute.eigenvectors.T @ X0
    # E c_k = (1 − ηλ)^k c₀ (the curvature noise has mean zero), E c_k² = ρ^k c₀²;
    # 5 SE per direction, SE = sd/sqrt(M) over independent runs
    mean, second = (1 - eta * absolute.eigenvalues) ** k * c0, absolute.growth_factor_sgd(eta) ** k * c0**2
    assert np.all(np.abs(c.mean(axis=0) - mean) <= 5 * c.std(axis=0, ddof=1) / math.sqrt(m))
    assert np.all(np.abs((c**2).mean(axis=0) - second) <= 5 * (c**2).std(axis=0, ddof=1) / math.sqrt(m))
    loss = traj.observables["loss"][-1]
    se = loss.std(ddof=1) / math.sqrt(m)
    assert abs(loss.mean() - absolute.expected_loss_sgd(X0, eta, k)) <= 5 * se
    # At η = 0.2 the Monte Carlo resolves both SMEs' errors (25 and 10 SE measured), and the
    # order-2 SME is the closer one, as its higher weak order says.
    gap = [abs(loss.mean() - absolute.expected_loss_sme(X0, eta, k * eta, order)) for order in (1, 2)]
    assert gap[0] > 10 * se and gap[1] > 5 * se and gap[1] < gap[0]


@pytest.mark.parametrize("order", [1, 2])
def test_absolute_noise_sme_closed_form_in_matrix_form(absolute, order):
    # E f(X_t) = ½ e^{ησ²t} x₀ᵀ H e^{−(2H + (order − 1)ηH²)t} x₀, from the eigen-coordinate form
    eta, t = 0.1, 1.7
    drift = 2 * H + (order - 1) * eta * H @ H
    matrix_form = 0.5 * math.exp(eta * t) * X0 @ H @ linalg.expm(-drift * t) @ X0
    assert absolute.expected_loss_sme(X0, eta, t, order) == pytest.approx(matrix_form, rel=1e-12)


@pytest.mark.parametrize("order, band", [(1, (0.9, 1.1)), (2, (1.9, 2.1))])
def test_absolute_noise_weak_order_of_the_exact_formulas(absolute, order, band):
    # measured slopes 0.993 and 2.017 over η = 0.02 ... 0.0025 at t = 1
    etas = np.array([0.02, 0.01, 0.005, 0.0025])
    errors = [abs(absolute.expected_loss_sgd(X0, e, round(1 / e))
                  - absolute.expected_loss_sme(X0, e, 1.0, order)) for e in etas]
    assert band[0] < np.polyfit(np.log(etas), np.log(errors), 1)[0] < band[1]


def test_absolute_noise_divergence_starts_in_the_soft_direction():
    model = MultiplicativeQuadraticModel(H, noise_scale=1.5, relative=False)  # λ = 1, 2; s = 1.5
    assert model.divergence_lr("sgd") == pytest.approx(2 / (1 + 1.5**2))  # λ = 1, below 4/(4 + 2.25)
    assert model.divergence_lr(1) == pytest.approx(2 / 1.5**2)
    assert model.divergence_lr(2) == pytest.approx(2 / (1.5**2 - 1))  # only λ = 1 < s grows
    # at that threshold the soft direction is marginal while the stiff one still contracts
    eta = model.divergence_lr("sgd")
    stiff = (1 - 2 * eta) ** 2 + (1.5 * eta) ** 2
    assert stiff < 1
    np.testing.assert_allclose(model.growth_factor_sgd(eta), [1.0, stiff], rtol=1e-12)
    assert MultiplicativeQuadraticModel(H, 1.0, relative=False).divergence_lr(2) == math.inf


def test_relative_and_absolute_noise_agree_where_they_coincide():
    # H = 2I: relative σ = 0.5 and absolute σ = 1 both give curvature 2 + γ
    h = 2.0 * np.eye(2)
    rel = MultiplicativeQuadraticModel(h, 0.5)
    ab = MultiplicativeQuadraticModel(h, 1.0, relative=False)
    np.testing.assert_allclose(rel.curvature_std, ab.curvature_std)
    assert rel.expected_loss_sgd(X0, 0.1, 7) == pytest.approx(ab.expected_loss_sgd(X0, 0.1, 7), rel=1e-14)
    for order in (1, 2):
        expected = ab.expected_loss_sme(X0, 0.1, 0.7, order)
        assert rel.expected_loss_sme(X0, 0.1, 0.7, order) == pytest.approx(expected, rel=1e-14)
    x = np.tile(X0, (8, 1))
    np.testing.assert_allclose(rel.run_sgd(x, 0.1, 7, seed=1).final, ab.run_sgd(x, 0.1, 7, seed=1).final,
                               rtol=1e-12)


@pytest.mark.parametrize("cls", [GaussianQuadraticModel, MultiplicativeQuadraticModel])
def test_exact_expectations_refuse_negative_or_nan_times(cls):
    # Before: steps = -5 gave E f = 9.77 for the Gaussian model (a negative noise term,
    # (1 − ρ^{-5}) < 0) and t = nan came back as nan.
    model = cls(H)
    with pytest.raises(ValueError, match="steps must be >= 0 .not NaN."):
        model.expected_loss_sgd(X0, 0.1, [-5, 0, 5])
    with pytest.raises(ValueError, match="steps must be >= 0 .not NaN."):
        model.expected_loss_sgd(X0, 0.1, np.nan)
    for bad in (-1.0, np.nan, [0.0, -np.inf]):
        with pytest.raises(ValueError, match="t must be >= 0 .not NaN."):
            model.expected_loss_sme(X0, 0.1, bad)
    # non-integer step numbers stay accepted (the examples pass T / η), and so does the
    # stationary limit at infinity
    assert np.isfinite(model.expected_loss_sgd(X0, 0.1, 2.5))
    assert np.isfinite(model.expected_loss_sme(X0, 0.1, np.inf))


@pytest.mark.parametrize("noise_scale", [True, "1.5"])
def test_noise_scale_is_a_number_not_a_bool_or_string(noise_scale):
    # Before: float() read True as σ = 1 and "1.5" as 1.5 silently
    with pytest.raises(TypeError, match="noise_scale must be a finite number > 0"):
        MultiplicativeQuadraticModel(H, noise_scale)
