"""Fokker–Planck solver against exact oracles (docs/theory.md §5).

Deterministic numerics: the tolerances follow from the order of the scheme (second order in
the cell width h, first order in the implicit-Euler step) or from rounding, as each test says.
Convergence is checked by the observed order between two grids, log2(e_h / e_{h/2}).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate
from scipy.linalg import expm, solve_continuous_lyapunov

import sgdsde as sd
from sgdsde.fokker_planck import CoarseGridWarning, FokkerPlanck, Grid, evolve
from sgdsde.fokker_planck.operator import bernoulli
from sgdsde.landscapes.base import Landscape
from sgdsde.theory.boltzmann import boltzmann_density_1d
from sgdsde.theory.ornstein_uhlenbeck import ou_moments


def moments(grid, p):
    """Mean (d,) and covariance (d, d) of a density on the grid (midpoint rule)."""
    x = grid.points
    w = np.ravel(p) * grid.cell_volume
    m = x.T @ w
    return m, ((x - m).T * w) @ (x - m)


def observed_order(coarse, fine):
    return np.log2(np.abs(coarse) / np.abs(fine))


def test_bernoulli_function_identities():
    z = np.array([-700.0, -30.0, -1e-9, 0.0, 1e-9, 2.5, 30.0, 700.0])
    assert bernoulli(0.0) == 1.0
    # B(−z) = e^z B(z): the identity behind exact zero flux at the Boltzmann ratio
    np.testing.assert_allclose(bernoulli(-z[2:7]), np.exp(z[2:7]) * bernoulli(z[2:7]), rtol=1e-14)
    assert np.all(np.isfinite(bernoulli(z))) and np.all(bernoulli(z) >= 0)


def test_grid_geometry():
    g = Grid([(-1.0, 1.0), (0.0, 3.0)], (4, 6), boundary=("reflecting", "periodic"))
    assert g.shape == (4, 6) and g.size == 24 and g.spacing == (0.5, 0.5) and g.cell_volume == 0.25
    np.testing.assert_allclose(g.axes[0], [-0.75, -0.25, 0.25, 0.75])
    assert g.points.shape == (24, 2) and tuple(g.points[1]) == (-0.75, 0.75)  # C order
    assert g.face_shape(0) == (3, 6) and g.face_shape(1) == (4, 6)  # the periodic axis wraps
    assert g.face_points(1)[-1, 1] == 3.0


# ---------------------------------------------------------------------- Ornstein–Uhlenbeck
K, T = 2.0, 0.5
M0, V0 = 1.0, 0.09  # initial Gaussian N(M0, V0)


def ou_1d(n):
    grid = Grid((-4.0, 4.0), n)
    return FokkerPlanck(sd.LangevinSDE(sd.landscapes.Quadratic([[K]]), T), grid)


def gaussian_1d(x):
    return np.exp(-((x[:, 0] - M0) ** 2) / (2 * V0))


def test_ou_transient_gaussian_1d_second_order_in_h():
    times = [0.1, 0.5, 2.0]
    mean_ex, var_ex = ou_moments(M0, K, T, np.array(times))
    var_ex = var_ex + V0 * np.exp(-2 * K * np.array(times))  # plus the spread of the initial law
    errors = []
    for n in (200, 400):
        ev = evolve(ou_1d(n), gaussian_1d, times, method="expm")
        mv = [moments(ev.grid, p) for p in ev.densities]
        errors.append(np.array([[m[0] - m_ex, c[0, 0] - v_ex]
                                for (m, c), m_ex, v_ex in zip(mv, mean_ex, var_ex, strict=True)]))
    h_fine = 8.0 / 400
    # midpoint quadrature of smooth moments on an O(h²) scheme: |error| ≤ h² (unit constant)
    assert np.all(np.abs(errors[1]) < h_fine**2)
    np.testing.assert_array_less(1.8, observed_order(errors[0], errors[1]))
    np.testing.assert_array_less(observed_order(errors[0], errors[1]), 2.2)


def test_implicit_euler_is_first_order_in_time():
    fp = ou_1d(200)
    exact_in_time = evolve(fp, gaussian_1d, [0.5], method="expm").densities[0]
    runs = [evolve(fp, gaussian_1d, [0.5], dt=dt) for dt in (1e-2, 5e-3)]
    assert [r.stats["n_steps"] for r in runs] == [50, 100]
    assert all(r.stats["n_factorizations"] == 1 for r in runs)  # one LU reused for every step
    err = [np.abs(r.densities[0] - exact_in_time).max() for r in runs]
    # same spatial operator, so the difference is the time error alone: ∝ dt
    assert 0.9 < observed_order(err[0], err[1]) < 1.1


def test_ou_transient_gaussian_2d_anisotropic_against_lyapunov():
    a = np.array([[2.0, 0.6], [0.6, 1.0]])
    diff = np.array([0.3, 0.6])  # diagonal diffusion D, B = sqrt(2D)
    sde = sd.LangevinSDE(sd.landscapes.Quadratic(a), noise=sd.MatrixNoise(np.diag(np.sqrt(2 * diff))))
    m0, s0, t = np.array([0.8, -0.5]), np.diag([0.05, 0.08]), 0.5

    def p0(x):
        d = x - m0
        return np.exp(-0.5 * np.einsum("mi,ij,mj->m", d, np.linalg.inv(s0), d))

    s_inf = solve_continuous_lyapunov(a, np.diag(2 * diff))  # A Σ + Σ A = 2D
    e = expm(-a * t)
    mean_ex, cov_ex = e @ m0, e @ (s0 - s_inf) @ e.T + s_inf
    errors = []
    for n in (60, 120):
        fp = FokkerPlanck(sde, Grid([(-3.5, 3.5), (-4.5, 4.5)], n))
        m, c = moments(fp.grid, evolve(fp, p0, [t], method="expm").densities[0])
        errors.append(np.concatenate([m - mean_ex, (c - cov_ex).ravel()]))
        ms, cs = moments(fp.grid, fp.stationary())
    assert np.all(np.abs(errors[1]) < (9.0 / 120) ** 2)  # |error| ≤ h² (largest h)
    order = observed_order(errors[0], errors[1])
    assert np.all((order > 1.8) & (order < 2.2)), order
    np.testing.assert_allclose(cs, s_inf, atol=(9.0 / 120) ** 2)  # stationary: Lyapunov
    # the box is symmetric about 0, so the mean vanishes up to the solve's rounding (≲ 1e-10
    # relative, as in the Boltzmann tests) times the half-width 4.5
    np.testing.assert_allclose(ms, 0.0, atol=1e-9)


def test_ou_spectrum_is_minus_n_k_at_second_order():
    n_eig = 5
    exact = -K * np.arange(n_eig)
    lam = [ou_1d(n).spectrum(n_eig) for n in (200, 400)]
    assert abs(lam[1][0]) < 1e-10  # the generator conserves mass: 0 is an eigenvalue
    order = observed_order(lam[0][1:] - exact[1:], lam[1][1:] - exact[1:])
    assert np.all((order > 1.8) & (order < 2.2)), order
    # Richardson extrapolation removes the h² term; the O(h⁴) rest is about the square of the
    # relative h² error (< 1e-3 here), so 1e-5 relative leaves a margin of over ten
    richardson = (4 * lam[1] - lam[0]) / 3
    np.testing.assert_allclose(richardson[1:], exact[1:], rtol=1e-5)


# ---------------------------------------------------------------------- Boltzmann states
def test_double_well_stationary_state_is_exact_discrete_boltzmann():
    fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.DoubleWell(), 0.25), Grid((-2.5, 2.5), 400))
    assert fp.face_potential == "energy"
    boltz = np.exp(-(fp.energy - fp.energy.min()) / 0.25)
    boltz /= fp.grid.integrate(boltz)
    # exact zero flux at the Boltzmann ratio: only the LU solve's rounding remains (observed
    # ~1e-12); any discretisation error would be O(h²) ≈ 1e-4
    np.testing.assert_allclose(fp.stationary(), boltz, rtol=0, atol=1e-9 * boltz.max())
    # relative accuracy in the tails too (down to e^{−110} of the peak), which KL needs: the
    # solve's conditioning is set by the barrier, e^{ΔU/T} = e^4, not by the dynamic range
    np.testing.assert_allclose(fp.stationary() / boltz, 1.0, rtol=1e-9)
    # and the nodal values are the exact continuum density up to its normalisation
    x = fp.grid.axes[0]
    exact = boltzmann_density_1d(lambda y: (y * y - 1) ** 2, 0.25, x, bounds=(-2.5, 2.5))
    assert fp.grid.integrate(np.abs(fp.stationary() - exact)) < 1e-9


def test_muller_brown_stationary_state_is_exact_discrete_boltzmann():
    temperature = 20.0
    with pytest.warns(CoarseGridWarning):  # the steep corners carry no mass at this T
        fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.MullerBrown(), temperature),
                          Grid([(-1.5, 1.2), (-0.25, 2.0)], (90, 75)))
    boltz = np.exp(-(fp.energy - fp.energy.min()) / temperature)
    boltz /= fp.grid.integrate(boltz)
    np.testing.assert_allclose(fp.stationary(), boltz, rtol=0, atol=1e-9 * boltz.max())


def test_stationary_density_converges_at_second_order_with_the_drift_form():
    # the face potential from the drift at the face centre (midpoint rule) is second order
    temperature = 0.5
    x_err = []
    for n in (100, 200, 400):
        fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature), Grid((-2.5, 2.5), n),
                          face_potential="drift")
        x = fp.grid.axes[0]
        exact = boltzmann_density_1d(lambda y: (y * y - 1) ** 2, temperature, x, bounds=(-2.5, 2.5))
        x_err.append(fp.grid.integrate(np.abs(fp.stationary() - exact)))
    order = observed_order(np.array(x_err[:-1]), np.array(x_err[1:]))
    assert np.all((order > 1.9) & (order < 2.1)), order


def test_state_dependent_diffusion_stationary_density_at_second_order():
    # U = (x² − 1)², D(x) = T (1 + x²/2): Φ' = U'/D gives Φ = (4x² − 12 ln(2 + x²)) / T and
    # the stationary density ∝ e^{−Φ} / D (Itô convention)
    temperature = 0.5

    def noise(x, xi):
        return np.sqrt(2 * temperature * (1 + 0.5 * x * x)) * xi

    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), noise=sd.StateDependentNoise(noise, 1))

    def density(y):
        return np.exp(-(4 * y * y - 12 * np.log(2 + y * y)) / temperature) / (1 + 0.5 * y * y)

    z, _ = integrate.quad(density, -2.5, 2.5)
    errors = []
    for n in (100, 200, 400):
        fp = FokkerPlanck(sde, Grid((-2.5, 2.5), n))
        assert fp.face_potential == "drift" and fp.temperature is None
        errors.append(fp.grid.integrate(np.abs(fp.stationary() - density(fp.grid.axes[0]) / z)))
    order = observed_order(np.array(errors[:-1]), np.array(errors[1:]))
    assert np.all((order > 1.9) & (order < 2.1)), order
    # the same operator from a bare landscape and a diffusion callable
    bare = FokkerPlanck(sd.landscapes.DoubleWell(), Grid((-2.5, 2.5), 400),
                        diffusion=lambda x: temperature * (1 + 0.5 * x[:, 0] ** 2))
    assert abs(bare.generator - fp.generator).max() < 1e-9 * abs(fp.generator).max()


# ---------------------------------------------------------------------- probability current
def test_conservative_drift_has_zero_stationary_current():
    a = np.array([[2.0, 0.6], [0.6, 1.0]])
    fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.Quadratic(a), 0.4), Grid([(-3, 3), (-4, 4)], 60))
    p = fp.stationary()
    # rounding scale of one flux: the larger of its two terms, T p / h
    scale = 0.4 * p.max() / min(fp.grid.spacing)
    assert max(np.abs(j).max() for j in fp.current(p)) < 1e-10 * scale
    assert abs(fp.circulation(p)) < 1e-10


def test_rotational_drift_carries_the_exact_circulation():
    # dX = −k X + ω J X: stationary density N(0, T/k), current ω J x p, so the circulation
    # ∫ x × J = ω E|x|² = 2 ω T / k; the drift form is second order in h
    k, omega, temperature = 1.5, 0.8, 0.3
    land = sd.landscapes.NonConservative(k * np.eye(2), omega=omega)
    exact = 2 * omega * temperature / k
    errors = []
    for n in (40, 80):
        fp = FokkerPlanck(sd.LangevinSDE(land, temperature), Grid([(-2.5, 2.5)] * 2, n))
        errors.append(fp.circulation(fp.stationary()) - exact)
    assert abs(errors[1]) < 0.01 * exact
    assert abs(observed_order(errors[0], errors[1]) - 2.0) < 0.2


def test_anisotropic_ou_out_of_detailed_balance_has_the_lyapunov_circulation():
    # linear drift A with diagonal D: detailed balance iff AD = DA.  The stationary current is
    # (−A + D Σ⁻¹) x p, whose circulation is (AΣ − ΣA)₁₂ with A Σ + Σ A = 2D.
    a = np.array([[2.0, 0.6], [0.6, 1.0]])
    diff = np.array([0.3, 0.6])
    sde = sd.LangevinSDE(sd.landscapes.Quadratic(a), noise=sd.MatrixNoise(np.diag(np.sqrt(2 * diff))))
    s = solve_continuous_lyapunov(a, np.diag(2 * diff))
    exact = (a @ s - s @ a)[0, 1]
    errors = []
    for n in (60, 120):
        fp = FokkerPlanck(sde, Grid([(-3.5, 3.5), (-4.5, 4.5)], n))
        errors.append(fp.circulation(fp.stationary()) - exact)
    assert abs(exact) > 0.05 and abs(errors[1]) < 0.01 * abs(exact)
    assert abs(observed_order(errors[0], errors[1]) - 2.0) < 0.2


def test_current_at_cells_matches_faces():
    fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.NonConservative(), 0.5), Grid([(-3, 3)] * 2, 30))
    p = fp.stationary()
    jc = fp.current_at_cells(p)
    jx, jy = fp.current(p)
    assert jc.shape == (30, 30, 2)
    np.testing.assert_allclose(jc[1:-1, :, 0], 0.5 * (jx[:-1] + jx[1:]))
    np.testing.assert_allclose(jc[0, :, 0], 0.5 * jx[0])  # no flux through the reflecting wall


def test_periodic_tilted_potential_has_constant_current():
    # U = −x + cos(2π x)/2 on a ring of length 1: a non-equilibrium steady state whose flux is
    # the same through every face (1-D continuity)
    class TiltedCosine(Landscape):
        dim, is_conservative = 1, False

        def energy(self, x):
            return 0.5 * np.cos(2 * np.pi * x[:, 0])

        def grad(self, x):
            return -np.pi * np.sin(2 * np.pi * x) - 1.0

    land = TiltedCosine()
    fp = FokkerPlanck(sd.LangevinSDE(land, 0.5), Grid((0.0, 1.0), 200, boundary="periodic"))
    (j,) = fp.current(fp.stationary())
    assert j.mean() > 0.1
    np.testing.assert_allclose(j, j.mean(), rtol=1e-10)
    assert abs(fp.grid.integrate(fp.stationary()) - 1) < 1e-12


# ---------------------------------------------------------------------- bad input
def test_bad_density_is_refused():
    fp = ou_1d(50)
    with pytest.raises(ValueError, match="non-negative"):
        evolve(fp, np.where(fp.grid.axes[0] > 0, 1.0, -0.1), [1.0], method="expm")
    with pytest.raises(ValueError, match="not normalisable"):
        evolve(fp, np.zeros(50), [1.0], method="expm")
    with pytest.raises(ValueError, match="not normalisable"):
        evolve(fp, np.full(50, np.inf), [1.0], method="expm")
    with pytest.raises(ValueError, match="shape"):
        evolve(fp, np.ones(49), [1.0], method="expm")
    with pytest.raises(ValueError, match="whole number of steps"):
        evolve(fp, np.ones(50), [0.15], dt=0.1)
    with pytest.raises(ValueError, match="increasing"):
        evolve(fp, np.ones(50), [1.0, 0.5], method="expm")
    with pytest.raises(ValueError, match="needs dt"):
        evolve(fp, np.ones(50), [1.0])


def test_coarse_grid_warns_with_the_peclet_number():
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), 0.25)
    coarse = Grid((-2.5, 2.5), 20)
    x = coarse.axes[0]
    peclet = np.abs(np.diff((x * x - 1) ** 2)).max() / 0.25  # ΔU/T across the steepest face
    with pytest.warns(CoarseGridWarning, match=rf"Péclet number \|ΔΦ\| reaches {peclet:.3g} "):
        FokkerPlanck(sde, coarse)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FokkerPlanck(sde, Grid((-2.5, 2.5), 400))  # Pe ≈ 2.6


def test_unsupported_dimension_and_dynamics_are_refused():
    with pytest.raises(ValueError, match="1 or 2 dimensions"):
        Grid([(-1, 1)] * 3, 10)
    with pytest.raises(ValueError, match="dimension 3"):
        FokkerPlanck(sd.LangevinSDE(sd.landscapes.DoubleWell(dim=3), 0.5), Grid([(-1, 1)] * 2, 10))
    with pytest.raises(ValueError, match="overdamped"):
        FokkerPlanck(sd.LangevinSDE(sd.landscapes.DoubleWell(), 0.5, friction=1.0), Grid((-2, 2), 10))
    with pytest.raises(ValueError, match="> 0"):
        FokkerPlanck(sd.LangevinSDE(sd.landscapes.DoubleWell(), 0.0), Grid((-2, 2), 10))
    with pytest.raises(ValueError, match="diagonal"):
        correlated = sd.MatrixNoise([[1.0, 0.0], [0.5, 1.0]])
        FokkerPlanck(sd.LangevinSDE(sd.landscapes.Quadratic(np.eye(2)), noise=correlated),
                     Grid([(-2, 2)] * 2, 10))
    with pytest.raises(ValueError, match="conservative"):
        FokkerPlanck(sd.LangevinSDE(sd.landscapes.NonConservative(), 0.5), Grid([(-2, 2)] * 2, 10),
                     face_potential="energy")
    with pytest.raises(ValueError, match="diffusion="):
        FokkerPlanck(sd.landscapes.DoubleWell(), Grid((-2, 2), 10))
    with pytest.raises(ValueError, match="n_cells"):
        Grid((-1, 1), 2)
    with pytest.raises(ValueError, match="lower < upper"):
        Grid((1, -1), 10)
    with pytest.raises(ValueError, match="boundary"):
        Grid((-1, 1), 10, boundary="absorbing")


def test_periodic_potential_stationary_state_is_exact_discrete_boltzmann():
    # Rugged in 1-D with no confinement term is periodic on a box of whole wavelengths, so the
    # wrap face uses the same energy difference as the interior faces
    land = sd.landscapes.Rugged(dim=1, stiffness=1e-12, amplitude=0.8, wavelength=0.5)
    fp = FokkerPlanck(sd.LangevinSDE(land, 0.3), Grid((0.0, 1.0), 64, boundary="periodic"))
    boltz = np.exp(-(fp.energy - fp.energy.min()) / 0.3)
    boltz /= fp.grid.integrate(boltz)
    np.testing.assert_allclose(fp.stationary(), boltz, rtol=1e-9)
    # a stiffness of 1e-12 breaks periodicity by < 1e-12 in U: the current is rounding-level
    (j,) = fp.current(fp.stationary())
    assert np.abs(j).max() < 1e-10


def test_boltzmann_density_1d_away_from_the_origin_and_on_a_finite_box():
    """Z used to be scaled by min U over [-10, 10] only: a well at x = 15 with T = 0.01 gave NaN
    (exp overflow), a box (20, 30) outside [-10, 10] gave NaN (underflow to 0/0), and T = inf a
    negative density. Now the density is right, or a ValueError says why it cannot be."""
    gauss = boltzmann_density_1d(lambda y: 0.5 * (y - 15.0) ** 2, 0.01, np.array([15.0, 15.1]))
    np.testing.assert_allclose(gauss, np.exp(-0.5 * np.array([0.0, 1.0])) / np.sqrt(2 * np.pi * 0.01),
                               rtol=1e-8)
    x = np.linspace(20.0, 20.2, 20001)  # the density falls by e^-40 over this range
    box = boltzmann_density_1d(lambda y: 0.5 * y * y, 0.1, x, bounds=(20.0, 30.0))
    assert np.all(np.isfinite(box)) and box[0] > box[-1] >= 0
    assert abs(np.trapezoid(box, x) - 1.0) < 1e-6
    np.testing.assert_allclose(box[100] / box[0], np.exp(-(0.5 * x[100] ** 2 - 200.0) / 0.1), rtol=1e-10)
    for bad in (np.inf, np.nan, 0.0, -1.0, True):
        with pytest.raises((ValueError, TypeError), match="temperature"):
            boltzmann_density_1d(lambda y: y * y, bad, x)
    with pytest.raises(ValueError, match="bounds"):
        boltzmann_density_1d(lambda y: y * y, 1.0, x, bounds=(1.0, -1.0))


class _LogWell(Landscape):
    """U = -ln|x|: infinite at x = 0, its drift too."""

    dim = 1

    def energy(self, x):
        with np.errstate(divide="ignore"):
            return -np.log(np.abs(x[:, 0]))

    def grad(self, x):
        with np.errstate(divide="ignore"):
            return -1.0 / x


def test_an_energy_or_drift_that_is_not_finite_on_the_grid_is_named():
    """A cell centre (101 cells) or a face (4 cells, drift form) at the singularity x = 0 gave
    'OverflowError: cannot convert float infinity to integer' from the coarse-grid warning."""
    with pytest.raises(ValueError, match=r"energy .* NaN or inf .* x = \[0"):
        FokkerPlanck(_LogWell(), Grid((-1.0, 1.0), 101), diffusion=0.5)
    assert Grid((-1.0, 1.0), 4).face_points(0)[1, 0] == 0.0
    with pytest.raises(ValueError, match=r"drift .* NaN or inf .* x = \[0"):
        FokkerPlanck(_LogWell(), Grid((-1.0, 1.0), 4), diffusion=0.5, face_potential="drift")
    fp = FokkerPlanck(_LogWell(), Grid((-1.0, 1.0), 100), diffusion=0.5, max_peclet=np.inf)
    assert np.isfinite(fp.peclet) and np.all(np.isfinite(fp.stationary()))


def test_fokker_planck_numbers_are_not_bools():
    """diffusion=True was a temperature of 1, max_peclet=True a bound of 1 and evolve's dt=True
    a step of 1 (one step to t = 1): a bool or a string is never a number."""
    well = sd.landscapes.DoubleWell()
    grid = Grid((-2.5, 2.5), 100)
    with pytest.raises(TypeError, match="diffusion"):
        FokkerPlanck(well, grid, diffusion=True)
    with pytest.raises(TypeError, match="max_peclet"):
        FokkerPlanck(well, grid, diffusion=0.5, max_peclet=True)
    fp = FokkerPlanck(well, grid, diffusion=0.5)
    for bad in (True, "0.1"):
        with pytest.raises(TypeError, match="dt"):
            evolve(fp, np.ones(100), [0.0, 1.0], dt=bad)


def test_boltzmann_density_1d_refuses_nan_positions():
    """x = NaN came back as a NaN density, silently."""
    with pytest.raises(ValueError, match="x must not contain NaN"):
        boltzmann_density_1d(lambda y: y * y, 1.0, np.array([0.0, np.nan]))
    assert boltzmann_density_1d(lambda y: y * y, 1.0, np.array([np.inf]))[0] == 0.0
