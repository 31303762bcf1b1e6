"""Riemannian Hessian spectra: tangent bases, geodesic second derivatives, the shifted
semicircle of the p-spin model at critical points, and marginality at the end of descent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from sgdsde.integrators import EulerMaruyama
from sgdsde.landscapes.base import Landscape
from sgdsde.landscapes.pspin import SphericalPSpin
from sgdsde.landscapes.toy import MullerBrown
from sgdsde.manifolds import Euclidean, Sphere
from sgdsde.measure.critical_points import find_critical_points, random_starts
from sgdsde.measure.spectra import (
    hessian_spectrum,
    pspin_semicircle,
    riemannian_gradient,
    riemannian_hessian,
    semicircle,
    semicircle_distance,
    semicircle_moments,
    spectrum_observable,
    tangent_basis,
)
from sgdsde.save import SaveAt
from sgdsde.sde import LangevinSDE
from sgdsde.simulate import simulate

P = 3
RADIUS_P3 = 2 * np.sqrt(P * (P - 1))


class EuclideanOnly(Landscape):
    """A p-spin seen only through energy/grad/hessian: exercises the projected formulas."""

    def __init__(self, inner):
        self.inner, self.dim, self.manifold = inner, inner.dim, inner.manifold

    def energy(self, x):
        return self.inner.energy(x)

    def grad(self, x):
        return self.inner.grad(x)

    def hessian(self, x):
        return self.inner.hessian(x)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7), st.integers(0, 2**31 - 1))
def test_tangent_basis_is_orthonormal_and_tangent(d, seed):
    x = np.random.default_rng(seed).standard_normal((3, d))
    x[0, -1] = 0.0  # the Householder sign switch
    q = tangent_basis(Sphere(2.0), x)
    assert q.shape == (3, d, d - 1)
    np.testing.assert_allclose(np.swapaxes(q, 1, 2) @ q, np.broadcast_to(np.eye(d - 1), (3, d - 1, d - 1)),
                               atol=1e-12)
    np.testing.assert_allclose(np.einsum("mdt,md->mt", q, x), 0.0, atol=1e-12)
    np.testing.assert_array_equal(tangent_basis(Euclidean(), x), np.broadcast_to(np.eye(d), (3, d, d)))


def test_riemannian_hessian_is_the_geodesic_second_derivative():
    # d²/dt² H(cos t σ + sin t R v) at t = 0 equals R² vᵀ Hess_sp v for a unit tangent v;
    # central differences with step h have error O(h²) ~ 1e-6 here, rounding ~ 1e-16/h² ~ 1e-8
    landscape = SphericalPSpin(12, P, seed=1)
    x = landscape.manifold.random(4, 12, seed=2)
    r = landscape.manifold.radius
    v = landscape.manifold.project(x, np.random.default_rng(3).standard_normal(x.shape))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    h = 1e-3

    def along(t):
        return landscape.energy(np.cos(t) * x + np.sin(t) * r * v)

    fd = (along(h) - 2 * along(0.0) + along(-h)) / h**2
    exact = r**2 * np.einsum("mi,mij,mj->m", v, riemannian_hessian(landscape, x), v)
    np.testing.assert_allclose(fd, exact, rtol=1e-5, atol=1e-5)
    # and the projected formulas agree with the landscape's own Riemannian methods
    plain = EuclideanOnly(landscape)
    np.testing.assert_allclose(riemannian_hessian(plain, x), landscape.riemannian_hessian(x), atol=1e-12)
    np.testing.assert_allclose(riemannian_gradient(plain, x), landscape.riemannian_gradient(x), atol=1e-12)


def test_flat_space_spectrum_is_the_hessian_spectrum():
    mb = MullerBrown()
    x = np.array([[-0.8, 0.6], [0.2, 0.3], [0.0, 0.5]])
    np.testing.assert_allclose(hessian_spectrum(mb, x), np.linalg.eigvalsh(mb.hessian(x)), rtol=1e-13)


def test_semicircle_law_and_moments():
    law = semicircle(-1.5, 2.0)
    assert law.mean() == pytest.approx(-1.5) and law.var() == pytest.approx(1.0)  # r²/4
    assert law.support() == (-3.5, 0.5)
    center, radius = pspin_semicircle([-1.6, 0.0], 3)
    np.testing.assert_allclose(center, [4.8, 0.0])
    assert radius == pytest.approx(np.sqrt(24))
    c, r = semicircle_moments(law.rvs(size=(3, 20_000), random_state=0))
    # SE of the mean: sd/sqrt(n) = 1/141; of the sd: ~ sd·sqrt((κ-1)/4n), κ = 2 → 0.0035; 5 SE
    np.testing.assert_allclose(c, -1.5, atol=5 / np.sqrt(20_000))
    np.testing.assert_allclose(r, 2.0, atol=2 * 5 * 0.0035)


def test_semicircle_distance_detects_wrong_centre_and_radius():
    lam = semicircle(0.7, 1.3).rvs(size=(4, 500), random_state=1)
    # iid KS: 1% critical value 1.63/sqrt(n), n = 2000 pooled values
    crit = 1.63 / np.sqrt(lam.size)
    assert semicircle_distance(lam, 0.7, 1.3) < crit
    assert semicircle_distance(lam, 0.9, 1.3) > crit
    assert semicircle_distance(lam, 0.7, 1.6) > crit


@pytest.fixture(scope="module")
def descent_n64():
    """Gradient descent (T = 0) of 8 particles on a p = 3 model at N = 64, spectra on the way."""
    n = 64
    landscape = SphericalPSpin(n, P, seed=0)
    x0 = landscape.manifold.random(8, n, seed=1)
    save = SaveAt(every=200, observables={"spectrum": spectrum_observable(landscape),
                                          "u": landscape.energy_per_spin})
    # one BLAS thread: the batched gradient and the Numba update would otherwise contend
    with threadpool_limits(1, "blas"):
        traj = simulate(LangevinSDE(landscape, temperature=0.0), EulerMaruyama(), x0, dt=0.05,
                        n_steps=1200, save=save, seed=0, progress=False)
    return landscape, traj


def test_spectrum_centre_is_minus_p_u_at_every_point(descent_n64):
    landscape, traj = descent_n64
    spectra, u = traj.observables["spectrum"], traj.observables["u"]
    assert spectra.shape == (len(traj.ts), 8, 63)
    center, _ = semicircle_moments(spectra)
    # Euler's relation σ·∇H = pH shifts the tangent spectrum by exactly −p u; what is left,
    # Tr(P∇²H P)/(N−1), is Gaussian at a random point with variance 2p(p−1)/(N(N−1)), sd ≈
    # sqrt(2p(p−1))/N; first record (random starts), 8 points: 5 SE of their average
    se = np.sqrt(2 * P * (P - 1)) / 64 / np.sqrt(8)
    assert abs(np.mean(center[0] + P * u[0])) < 5 * se


def test_marginality_at_the_end_of_gradient_descent(descent_n64):
    landscape, traj = descent_n64
    spectra, u = traj.observables["spectrum"], traj.observables["u"]
    center, radius = semicircle_moments(spectra)
    edge = (center - radius).mean(axis=1)
    # random start: u ≈ 0, the bulk is centred at 0 with radius 2 sqrt(6) ≈ 4.9
    assert abs(edge[0] + RADIUS_P3) < 0.1 * RADIUS_P3
    # descent lowers the energy toward the threshold, and the edge follows −p u − 2 sqrt(6)
    assert np.all(np.diff(u.mean(axis=1)) <= 1e-12)
    # at the end the edge is within 10% of the bulk's width of zero (marginal), the smallest
    # eigenvalue is non-negative (finite-N descent stops at minima), and u is near −E_∞
    assert abs(edge[-1]) < 0.1 * RADIUS_P3
    assert np.all(spectra[-1][:, 0] > 0)
    assert np.all(u[-1] < -1.45) and np.all(u[-1] > -1.66)


def test_spectra_at_critical_points_follow_the_shifted_semicircle(descent_n64):
    landscape, traj = descent_n64
    n = landscape.n
    # low-energy points (polished descent ends, mirrored: u ≈ ±1.5) and high-index saddles
    # from random starts (u ≈ 0): the centre moves with the energy, the radius does not
    starts = np.concatenate([traj.final, random_starts(landscape, 12, seed=5)])
    with threadpool_limits(1, "blas"):  # 63 x 63 matrices: BLAS threads only contend
        cp = find_critical_points(landscape, starts, parity=-1)
    u = cp.energy / n
    assert cp.n_points >= 20 and np.ptp(u) > 2.5
    center, radius = pspin_semicircle(u, P)
    # eigenvalues of GOE-like spectra are more regular than iid draws, so the iid KS 1%
    # critical value 1.63/sqrt(n_values) is a conservative bound for the pooled distance
    crit = 1.63 / np.sqrt(cp.eigenvalues.size)
    assert semicircle_distance(cp.eigenvalues, center, radius) < crit
    assert semicircle_distance(cp.eigenvalues, center, 1.15 * radius) > crit
    assert semicircle_distance(cp.eigenvalues, -center, radius) > crit
    # the index grows with the energy: minima at the bottom, maxima at the top
    assert cp.index[0] == 0 and cp.index[-1] == n - 1


@pytest.mark.parametrize("n_particles", [1.5, 0, True, "2"])
def test_spectrum_observable_n_particles_is_a_count(n_particles):
    # Before: 1.5 was truncated to 1 and True read as 1 without a word ("2" raised a raw
    # TypeError comparing str and int)
    with pytest.raises(ValueError, match="n_particles must be an integer >= 1"):
        spectrum_observable(MullerBrown(), n_particles)
    assert spectrum_observable(MullerBrown(), 2)(np.zeros((5, 2))).shape == (2, 2)


def test_semicircle_distance_checks_its_spectra_and_centres():
    lam = np.random.default_rng(0).uniform(-1.0, 1.0, size=(3, 50))
    # Before: a NaN eigenvalue or centre came back as a distance of nan
    bad = lam.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="eigenvalues contains NaN or inf"):
        semicircle_distance(bad, 0.0, 2.0)
    with pytest.raises(ValueError, match="center contains NaN or inf"):
        semicircle_distance(lam, [0.0, np.nan, 0.0], 2.0)
    # and a centre per row for a different number of rows failed inside np.broadcast_to
    with pytest.raises(ValueError, match=r"center must be a number or one per spectrum, shape \(3,\)"):
        semicircle_distance(lam, [0.0, 1.0], 2.0)
    assert semicircle_distance(lam, [0.0, 0.0, 0.0], 2.0) == semicircle_distance(lam, 0.0, 2.0)


def test_semicircle_parameters_of_non_finite_input_raise():
    # Before: a NaN energy per spin gave a NaN centre, a NaN eigenvalue a NaN centre and radius
    with pytest.raises(ValueError, match="energy_per_spin must be finite"):
        pspin_semicircle([-1.6, np.nan], 3)
    with pytest.raises(ValueError, match="eigenvalues contains NaN or inf"):
        semicircle_moments(np.array([[0.1, np.nan, 0.3], [0.1, 0.2, 0.3]]))
