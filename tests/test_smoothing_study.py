"""The smoothing view of SGD: f̃ three ways, the expected-step identity, the convexity threshold."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.landscapes.toy import DoubleWell, Quadratic, Rugged
from sgdsde.studies.smoothing import (
    convexity_threshold,
    expected_smoothed_step,
    noisy_gradient_descent,
    smoothed_grad,
    smoothed_loss,
)

RUGGED = Rugged(dim=1, stiffness=1.0, amplitude=0.5, wavelength=0.6)
LR = 0.02


def test_closed_form_quadrature_and_monte_carlo_agree():
    y = np.linspace(-2, 2, 7)[:, None]
    closed = smoothed_loss(RUGGED, y, LR, 8.0, method="closed")[0]
    quad = smoothed_loss(RUGGED, y, LR, 8.0, method="quadrature")[0]
    np.testing.assert_allclose(quad, closed, atol=1e-12)  # 60 Gauss–Hermite nodes: exponentially accurate
    mc, se = smoothed_loss(RUGGED, y, LR, 8.0, method="monte_carlo", n_samples=20_000, seed=1)
    assert np.all(np.abs(mc - closed) < 5 * se)  # 5 SE of the Monte Carlo mean
    g_closed = smoothed_grad(RUGGED, y, LR, 8.0)[0]
    g_quad = smoothed_grad(RUGGED, y, LR, 8.0, method="quadrature")[0]
    np.testing.assert_allclose(g_quad, g_closed, atol=1e-12)
    # a 2-D landscape without closed form: quadrature against Monte Carlo
    well = DoubleWell(dim=2)
    pts = np.array([[0.3, -0.2], [1.1, 0.5]])
    quad2 = smoothed_loss(well, pts, 0.1, 2.0, method="quadrature")[0]
    mc2, se2 = smoothed_loss(well, pts, 0.1, 2.0, method="monte_carlo", n_samples=20_000, seed=2)
    assert np.all(np.abs(mc2 - quad2) < 5 * se2)


def test_expected_step_is_a_gradient_step_on_the_smoothed_loss():
    y = np.array([[0.37], [1.3], [2.9]])
    expected = y - LR * smoothed_grad(RUGGED, y, LR, 10.0)[0]
    mean, se = expected_smoothed_step(RUGGED, y, LR, 10.0, n_samples=40_000, seed=3)
    assert np.all(np.abs(mean - expected) < 5 * se)  # 5 SE of the antithetic-pair mean
    # and not a gradient step on f itself: the smoothing is visible
    plain = y - LR * RUGGED.grad(y)
    assert np.any(np.abs(mean - plain) > 20 * se)


def test_smoothed_rugged_loss_is_convex_exactly_above_the_threshold():
    critical = convexity_threshold(RUGGED, LR)
    q = 2 * np.pi / RUGGED.wavelength
    assert critical == pytest.approx(np.sqrt(2 * np.log(0.5 * q * q)) / q / LR, rel=1e-12)
    y = np.linspace(-1, 1, 2001)[:, None]
    for factor, convex in ((1.02, True), (0.98, False)):
        g = smoothed_grad(RUGGED, y, LR, factor * critical)[0][:, 0]
        assert np.all(np.diff(g) > 0) == convex
    assert convexity_threshold(Rugged(dim=1, amplitude=0.001), LR) == 0.0


def test_noise_frees_runs_that_gradient_descent_leaves_trapped():
    x0 = np.full((64, 1), 3.0)
    trapped, _ = noisy_gradient_descent(RUGGED, x0, LR, 0.0, 400)
    assert np.allclose(trapped, trapped[0]) and 2.3 < trapped[0, 0] < 3.0  # a ripple's minimum
    free, _ = noisy_gradient_descent(RUGGED, x0, LR, 20.0, 400, seed=4)
    se = free.std(ddof=1) / 8
    assert abs(free.mean()) < 5 * se + 0.3  # the bowl's centre, within 5 SE and the ripple width/2


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="method='closed' needs a Rugged"):
        smoothed_loss(Quadratic.isotropic(1), np.zeros((1, 1)), LR, 1.0, method="closed")
    with pytest.raises(ValueError, match="method='quadrature' is for d <= 2"):
        smoothed_loss(Quadratic.isotropic(3), np.zeros((1, 3)), LR, 1.0, method="quadrature")
    with pytest.raises(ValueError, match="method must be one of"):
        smoothed_loss(RUGGED, np.zeros((1, 1)), LR, 1.0, method="spline")
    with pytest.raises(ValueError, match="noise_std must be a finite number > 0"):
        smoothed_grad(RUGGED, np.zeros((1, 1)), LR, -1.0)
    with pytest.raises(ValueError, match="y must have shape"):
        smoothed_loss(RUGGED, np.zeros((1, 2)), LR, 1.0)


@pytest.mark.parametrize("n_samples", [2, 3, 5, 1001])
def test_expected_step_needs_an_even_count_of_at_least_two_pairs(n_samples):
    # Before: n_samples = 2 or 3 is one antithetic pair, whose standard error came back NaN
    # (sd with ddof=1 of one value); an odd count silently dropped its last draw.
    with pytest.raises(ValueError, match="n_samples must be an even integer >= 4"):
        expected_smoothed_step(RUGGED, np.zeros((1, 1)), LR, 1.0, n_samples=n_samples)
    mean, se = expected_smoothed_step(RUGGED, np.zeros((1, 1)), LR, 1.0, n_samples=4)
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(se))


@pytest.mark.parametrize("record_every", [-1, 1.5, True])
def test_noisy_gradient_descent_record_every_is_a_count(record_every):
    # Before: -1 recorded every step (step % -1 == 0) and 1.5 every third (step % 1.5 == 0)
    with pytest.raises(ValueError, match="record_every must be an integer >= 0"):
        noisy_gradient_descent(RUGGED, np.zeros((1, 1)), LR, 1.0, 4, record_every=record_every)
    _, records = noisy_gradient_descent(RUGGED, np.zeros((1, 1)), LR, 1.0, 4, record_every=2)
    assert records.shape == (2, 1, 1)


@pytest.mark.parametrize("lr", [-1.0, 0.0, np.nan])
def test_convexity_threshold_checks_lr_even_for_a_convex_loss(lr):
    # Before: lr was checked only when the loss had ripples to smooth; a convex Rugged
    # returned 0.0 for any lr, NaN and negative included.
    for loss in (RUGGED, Rugged(dim=1, amplitude=0.001)):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            convexity_threshold(loss, lr)


def test_non_finite_points_raise():
    # Before: a NaN point came back as a smoothed loss of nan with standard error 0, and
    # noisy gradient descent from NaN as NaN
    y = np.array([[0.3], [np.nan]])
    for fn in (smoothed_loss, smoothed_grad):
        with pytest.raises(ValueError, match=r"y contains NaN or inf \(row 1\)"):
            fn(RUGGED, y, LR, 1.0)
    with pytest.raises(ValueError, match=r"y contains NaN or inf \(row 1\)"):
        expected_smoothed_step(RUGGED, y, LR, 1.0, n_samples=8)
    with pytest.raises(ValueError, match=r"x0 contains NaN or inf \(row 1\)"):
        noisy_gradient_descent(RUGGED, y, LR, 1.0, 3)


@pytest.mark.parametrize("value", [True, "0.1"])
def test_rates_and_noise_are_numbers_not_bools_or_strings(value):
    # Before: float() read True as 1 and "0.1" as 0.1 silently
    from sgdsde.studies.flat_activations import fit_single_neuron

    y = np.zeros((1, 1))
    with pytest.raises(TypeError, match="lr must be a finite number > 0"):
        smoothed_loss(RUGGED, y, value, 1.0)
    with pytest.raises(TypeError, match="noise_std must be a finite number > 0"):
        smoothed_grad(RUGGED, y, LR, value)
    with pytest.raises(TypeError, match="lr must be a finite number > 0"):
        convexity_threshold(RUGGED, value)
    with pytest.raises(TypeError, match="noise_std must be a finite number >= 0"):
        noisy_gradient_descent(RUGGED, y, LR, value, 2)
    with pytest.raises(TypeError, match="lr must be a finite number > 0"):
        fit_single_neuron(np.zeros((1, 2)), np.ones((3, 2)), np.zeros(3), rule="gradient", lr=value,
                          n_steps=1)
