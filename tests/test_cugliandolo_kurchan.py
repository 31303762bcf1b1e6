"""The N → ∞ dynamics of spherical p-spin models: CK solvers against exact and published values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

from sgdsde.theory import _ck_numba
from sgdsde.theory.cugliandolo_kurchan import (
    CKSolution,
    Covariance,
    compare_finite_n,
    finite_n_extrapolation,
    local_decay_exponent,
    p2_gradient_flow_energy,
    plateau_overlap,
    solve_ck,
    solve_ck_doubling,
    solve_ck_fixed,
    solve_fdt,
    threshold_energy_at,
)
from sgdsde.theory.pspin import PSpinCovariance

ROOT = Path(__file__).resolve().parents[1]
P3 = PSpinCovariance.pure(3)
E_TH_P3 = -2.0 * math.sqrt(2.0 / 3.0)  # docs/theory.md §4 table: −1.6329932 (ABC)
T_D_P3 = math.sqrt(3.0 / 4.0)  # T_d² = p (p−2)^{p−2} / (p−1)^{p−1} = 3/4 (ABC): 0.8660254


def test_constants_used_here_match_the_pspin_module_and_reference_table():
    from sgdsde.theory.pspin import dynamical_temperature, paramagnetic_energy, threshold_energy

    assert threshold_energy(3) == pytest.approx(E_TH_P3, abs=1e-12)
    assert E_TH_P3 == pytest.approx(-1.6329932, abs=1e-7)
    assert dynamical_temperature(3) == pytest.approx(T_D_P3, abs=1e-12)
    assert T_D_P3 == pytest.approx(0.8660254, abs=1e-7)
    assert paramagnetic_energy(1.5, p=3) == pytest.approx(-1 / 1.5)


# ---------------------------------------------------------------- exact p = 2 gradient flow

def _p2_energy_by_quadrature(t):
    """E(t) = ∫ λ e^{−4λt} ρ_sc(λ) dλ / ∫ e^{−4λt} ρ_sc(λ) dλ on [−√2, √2] (docs/theory.md §4, ABC).

    The semicircle's normalisation cancels in the ratio.
    """
    r = math.sqrt(2.0)

    def weight(lam):
        return math.exp(-4 * lam * t) * math.sqrt(max(r * r - lam * lam, 0.0))

    num = quad(lambda lam: lam * weight(lam), -r, r, epsabs=0, epsrel=1e-13)[0]
    den = quad(weight, -r, r, epsabs=0, epsrel=1e-13)[0]
    return num / den


@pytest.mark.parametrize("t", [0.3, 1.0, 5.0, 10.0])
def test_p2_closed_form_equals_the_semicircle_quadrature(t):
    assert p2_gradient_flow_energy(t) == pytest.approx(_p2_energy_by_quadrature(t), abs=1e-11)


def test_p2_gradient_flow_reproduced_to_1e4():
    """The issue's target: the CK solution of p = 2, T = 0 within 1e-4 of the exact E(t)."""
    sol = solve_ck_fixed(PSpinCovariance.pure(2), 0.0, 10.0, dt=0.025)
    for t in (1.0, 5.0, 10.0):
        assert abs(sol.energy_at(t) - _p2_energy_by_quadrature(t)) <= 1e-4


def test_p2_in_ck_normalisation_is_the_abc_flow_rescaled():
    """ξ = q²/2: energies ÷ √2 and times × √2 (docs/theory.md §4), same 1e-4 target."""
    sol = solve_ck_fixed(PSpinCovariance.pure(2, "ck"), 0.0, 5.0, dt=0.025)
    for t in (1.0, 5.0):
        exact = _p2_energy_by_quadrature(t / math.sqrt(2)) / math.sqrt(2)
        assert abs(sol.energy_at(t) - exact) <= 1e-4
        assert p2_gradient_flow_energy(t, PSpinCovariance.pure(2, "ck")) == pytest.approx(exact, abs=1e-11)


def test_fixed_grid_is_second_order_and_richardson_gains_an_order():
    """Without extrapolation, halving h divides the error by 4 (±25 %); with it the error drops further."""
    xi = PSpinCovariance.pure(2)
    errors = []
    for dt in (0.1, 0.05):
        sol = solve_ck_fixed(xi, 0.0, 2.0, dt=dt, richardson=False)
        errors.append(abs(sol.energy_at(2.0) - _p2_energy_by_quadrature(2.0)))
    assert 3.0 <= errors[0] / errors[1] <= 5.0
    rich = solve_ck_fixed(xi, 0.0, 2.0, dt=0.1)
    assert abs(rich.energy_at(2.0) - _p2_energy_by_quadrature(2.0)) < errors[1] / 4


@pytest.mark.parametrize("temperature", [0.0, 0.5])
def test_ck_normalisation_is_abc_with_energies_and_temperatures_over_root2_and_times_times_root2(temperature):
    """ξ_CK = ξ_ABC/2 rescales the equations exactly (docs/theory.md §4), so with steps h√2 and h
    the two discrete solutions coincide to rounding."""
    root2 = math.sqrt(2)
    abc = solve_ck_fixed(P3, temperature, 3.0, dt=0.05, richardson=False)
    ck = solve_ck_fixed(PSpinCovariance.pure(3, "ck"), temperature / root2, 3.0 * root2, dt=0.05 * root2,
                        richardson=False)
    assert np.allclose(ck.energy, abc.energy / root2, rtol=1e-10, atol=1e-13)
    assert np.allclose(ck.correlation, abc.correlation, rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------- structure of the solution

def test_solution_satisfies_the_spherical_constraint_and_euler_relation():
    """C(t,t) = 1, |C| <= 1, R(t⁺,t) = 1, and μ = T − pE for a pure model (σ·∇H = pH)."""
    temperature = 0.5
    for sol in (solve_ck_fixed(P3, temperature, 3.0, dt=0.05),
                solve_ck_doubling(P3, temperature, 3.0, n_grid=64, n_band=2)):
        assert np.allclose(np.diag(sol.correlation), 1.0, atol=1e-12)
        assert np.all(np.abs(sol.correlation) <= 1.0 + 1e-9)
        assert np.allclose(np.diag(sol.response), 1.0)
        assert np.allclose(sol.mu, temperature - 3.0 * sol.energy, atol=1e-10)
        assert np.allclose(sol.correlation, sol.correlation.T)


def test_gradient_flow_energy_never_increases():
    """At T = 0, dE/dt = −|∇_sp H|²/N <= 0 along the exact N → ∞ dynamics (fixed grid; the
    doubling grid has steps of ~1e-4 at each thinning, see the module docstring)."""
    sol = solve_ck_fixed(P3, 0.0, 20.0, dt=0.05)
    assert np.all(np.diff(sol.energy) < 0)


# ---------------------------------------------------------------- grid doubling vs fixed grid

@pytest.mark.parametrize(("xi", "temperature"), [
    (P3, 0.0), (P3, 0.7), (P3, 1.2), (PSpinCovariance.from_powers({3: 0.5, 4: 0.5}), 0.3),
])
def test_grid_doubling_agrees_with_the_fixed_grid(xi, temperature):
    """Where both run (t <= 10), the doubling grid matches the extrapolated fixed grid.

    Tolerance: twice the doubling scheme's own error estimate, max_t |E(n_grid) − E(n_grid/2)|
    (the error of the coarser grid, an upper bound for the finer one at first order; the
    sup norm, since pointwise differences vanish where the two errors cross), plus the
    fixed grid's Richardson estimate.
    """
    times = np.array([1.0, 2.5, 5.0, 10.0])
    fixed = solve_ck_fixed(xi, temperature, 10.0, dt=0.04)
    fine = solve_ck_doubling(xi, temperature, 10.0, n_grid=128, n_band=2)
    coarse = solve_ck_doubling(xi, temperature, 10.0, n_grid=64, n_band=1)
    k = np.rint(times / fixed.stats["dt"]).astype(int)
    tol = 2 * np.max(np.abs(fine.energy_at(times) - coarse.energy_at(times))) + fixed.stats["energy_error"][k]
    assert np.all(np.abs(fine.energy_at(times) - fixed.energy[k]) <= tol)
    assert fine.stats["max_iterations"] < 500


def test_doubling_correlation_matches_fixed_grid_on_common_times():
    """Two-time C(t, t_w) on the last doubling grid against the fixed grid (same tolerance rule)."""
    fixed = solve_ck_fixed(P3, 0.7, 10.24, dt=0.04)
    fine = solve_ck_doubling(P3, 0.7, 10.24, n_grid=128, n_band=2)
    coarse = solve_ck_doubling(P3, 0.7, 10.24, n_grid=64, n_band=1)
    for t_w in (2.56, 5.12):  # times on all three grids
        t, c, _ = fine.column(t_w)
        assert t[0] == pytest.approx(t_w)
        c_fixed = np.interp(t, fixed.grid, fixed.correlation[:, int(round(t_w / fixed.stats["dt"]))])
        tc, cc, _ = coarse.column(t_w)
        tol = 2 * np.max(np.abs(c - np.interp(t, tc, cc))) + 1e-4
        assert np.all(np.abs(c - c_fixed) <= tol)


# ---------------------------------------------------------------- long times: T > T_d and below

@pytest.fixture(scope="module")
def paramagnet():
    """p = 3 (ABC) at T = 1.5 > T_d on the extrapolated fixed grid, t <= 25."""
    return solve_ck_fixed(P3, 1.5, 25.0, dt=0.05)


def test_paramagnet_relaxes_to_minus_xi1_over_t(paramagnet):
    """T = 1.5 > T_d: E(t) → −ξ(1)/T (ABC −1/T; CK −1/(2T) at T/√2), within the grid error.

    The relaxation is exponential at this T, far below the grid error by t = 25; the
    tolerance is 5 Richardson error estimates plus 1e-5.
    """
    assert abs(paramagnet.energy[-1] + 1 / 1.5) <= 5 * paramagnet.stats["energy_error"][-1] + 1e-5
    t_ck = 1.5 / math.sqrt(2)
    sol = solve_ck_fixed(PSpinCovariance.pure(3, "ck"), t_ck, 25.0, dt=0.1)
    assert abs(sol.energy[-1] + 1 / (2 * t_ck)) <= 5 * sol.stats["energy_error"][-1] + 1e-5


def test_paramagnet_stays_at_equilibrium_to_long_times_on_the_doubling_grid():
    """T = 1.2: E(t) on [100, 2000] within 0.5 % of −1/T (the scheme's drift, measured in the
    benchmark at n_grid = 256, is below 0.2 %); the fast β relaxation lives in the band."""
    sol = solve_ck_doubling(P3, 1.2, 2000.0, n_grid=256, n_band=4)
    late = sol.t >= 100
    assert np.all(np.abs(sol.energy[late] + 1 / 1.2) <= 0.005 / 1.2)


def test_fdt_equation_is_the_stationary_limit_of_the_ck_equations(paramagnet):
    """T = 1.5: C(t_w + τ, t_w) at t_w = 20 equals the FDT Volterra solution C(τ).

    Both are second-order schemes at the steps used (error < 1e-4, Richardson estimate of
    the fixed grid); the remaining aging at t_w = 20 is exponentially small (E(25) is at
    −1/T to 1e-5 in the test above), so 5e-4 bounds the sum with margin.
    """
    t, c, _ = paramagnet.column(20.0)
    tau, c_eq = solve_fdt(P3, 1.5, 5.0, dt=0.005)
    assert np.max(np.abs(c - np.interp(t - t[0], tau, c_eq))) <= 5e-4


def test_plateau_equation_first_has_a_root_at_t_d():
    """β² ξ'(q)(1 − q) = q: no root above T_d = sqrt(3/4), the root q = 1/2 at T_d (p = 3)."""
    assert plateau_overlap(P3, T_D_P3 * 1.001) == 0.0
    assert plateau_overlap(P3, T_D_P3 * 0.99999) == pytest.approx(0.5, abs=5e-3)
    q = plateau_overlap(P3, 0.7)
    assert 3 * q**2 * (1 - q) / 0.7**2 == pytest.approx(q, rel=1e-10)


def test_fdt_solution_below_t_d_sits_on_the_plateau():
    """T = 0.7 < T_d: the equilibrium C(τ) decays to the plateau q and stays there (nonergodic)."""
    tau, c = solve_fdt(P3, 0.7, 100.0, dt=0.02)
    q = plateau_overlap(P3, 0.7)
    assert np.all(c[tau >= 50] >= q - 1e-3)
    assert abs(c[-1] - q) < 0.01


def test_gradient_flow_ages_towards_the_threshold_with_exponent_near_two_thirds():
    """p = 3, T = 0: E(t) > E_th for all t, E(1000) − E_th < 0.01, local exponent of
    E − E_th in [0.55, 0.8] on [10, 1000] (docs/theory.md §4: ≈ 2/3; the band is the spread across
    grids n_grid = 256..1024 reported by benchmarks/ck_cost.py)."""
    sol = solve_ck_doubling(P3, 0.0, 1000.0, n_grid=256, n_band=4)
    assert np.all(sol.energy > E_TH_P3)
    assert sol.energy[-1] - E_TH_P3 < 0.01
    t_mid, alpha = sol.decay_exponent(E_TH_P3, points_per_decade=1)
    window = (t_mid > 10) & (t_mid < 1000)
    assert window.sum() >= 2
    assert np.all((alpha[window] > 0.55) & (alpha[window] < 0.8))


def test_threshold_energy_at_temperature_limits():
    """T → 0: the threshold −2 sqrt((p−1)/p) (ABC, ÷√2 in CK); T → T_d: q → (p−2)/(p−1),
    x → 1 and E → −1/T_d, continuous with the paramagnet (CK 1993)."""
    assert threshold_energy_at(P3, 0.0)[0] == pytest.approx(E_TH_P3, abs=1e-12)
    assert threshold_energy_at(PSpinCovariance.pure(4), 0.0)[0] == pytest.approx(-math.sqrt(3.0), abs=1e-12)
    assert threshold_energy_at(PSpinCovariance.pure(3, "ck"), 0.0)[0] == pytest.approx(E_TH_P3 / math.sqrt(2))
    assert threshold_energy_at(P3, 1e-6)[0] == pytest.approx(E_TH_P3, abs=1e-5)
    energy, q, x = threshold_energy_at(P3, T_D_P3 * (1 - 1e-9))
    assert q == pytest.approx(0.5, abs=1e-3)
    assert x == pytest.approx(1.0, abs=1e-3)
    assert energy == pytest.approx(-1 / T_D_P3, abs=1e-3)
    with pytest.raises(ValueError, match="above T_d"):
        threshold_energy_at(P3, 1.0)


def test_below_t_d_the_energy_ages_towards_the_threshold_at_t_from_above():
    """T = 0.5 < T_d: E(t) stays above E_th(T) = −1.37206 and is within 0.01 of it by t = 1000,
    far above the paramagnetic −1/T = −2 it cannot reach; local exponent in the band of the
    T = 0 test."""
    e_th, _, _ = threshold_energy_at(P3, 0.5)
    sol = solve_ck_doubling(P3, 0.5, 1000.0, n_grid=256, n_band=4)
    assert np.all(sol.energy > e_th)
    assert sol.energy[-1] - e_th < 0.01
    t_mid, alpha = sol.decay_exponent(e_th, points_per_decade=1)
    window = (t_mid > 10) & (t_mid < 1000)
    assert np.all((alpha[window] > 0.55) & (alpha[window] < 0.8))


# ---------------------------------------------------------------- helpers

def test_local_decay_exponent_of_an_exact_power_law():
    t = np.geomspace(1, 1e4, 400)
    t_mid, alpha = local_decay_exponent(t, -1.0 + 3.0 * t ** (-2 / 3), -1.0)
    assert np.allclose(alpha, 2 / 3, atol=1e-3)
    assert np.all(np.diff(t_mid) > 0)


@settings(max_examples=25, deadline=None)
@given(v_inf=st.floats(-2, 2), slope=st.floats(-50, 50),
       sizes=st.lists(st.integers(16, 4096), min_size=2, max_size=5, unique=True))
def test_finite_n_extrapolation_is_exact_on_a_pure_one_over_n_law(v_inf, slope, sizes):
    n = np.array(sizes, dtype=float)
    fit, se, b = finite_n_extrapolation(n, v_inf + slope / n, np.full(len(n), 1e-3))
    assert fit == pytest.approx(v_inf, abs=1e-8 * (1 + abs(slope)))
    assert b == pytest.approx(slope, abs=1e-6 * (1 + abs(slope)))
    assert se > 0


@settings(max_examples=25, deadline=None)
@given(coef=st.dictionaries(st.integers(2, 8), st.floats(0.01, 2.0), min_size=1, max_size=4),
       q=st.floats(-1, 1))
def test_numba_xi_derivatives_match_the_covariance(coef, q):
    xi = PSpinCovariance.from_powers(coef)
    a = xi.array.copy()
    assert _ck_numba.xi_prime(q, a) == pytest.approx(float(xi.prime(q)), rel=1e-12, abs=1e-12)
    assert _ck_numba.xi_second(q, a) == pytest.approx(float(xi.second(q)), rel=1e-12, abs=1e-12)


def test_compare_finite_n_recovers_the_ck_curve_from_one_over_n_traces():
    sol = solve_ck_fixed(P3, 0.0, 5.0, dt=0.05, richardson=False)
    t = sol.t
    traces = {n: (t, sol.energy + 0.8 / n, np.full_like(t, 1e-3)) for n in (64, 128, 256)}
    out = compare_finite_n(sol, traces, times=[1.0, 3.0, 5.0])
    assert np.allclose(out["extrapolated"], out["ck"], atol=1e-9)
    assert np.allclose(out["slope"], 0.8)
    assert np.all(np.abs(out["z"]) < 1e-3)
    assert out["finite_n"].shape == (3, 3)


# ---------------------------------------------------------------- input checks

@pytest.mark.parametrize(("call", "match"), [
    (lambda: PSpinCovariance.from_powers({}), "non-empty"),
    (lambda: PSpinCovariance.from_powers({1: 1.0}), "power p"),
    (lambda: PSpinCovariance.from_powers({3: -1.0}), "a_3"),
    (lambda: PSpinCovariance.pure(3, "sk"), "normalization"),
    (lambda: solve_ck_fixed(P3, -0.1, 1.0), "temperature"),
    (lambda: solve_ck_fixed(P3, 0.1, 0.0), "t1"),
    (lambda: solve_ck_doubling(P3, 0.1, 1.0, n_grid=15), "n_grid"),
    (lambda: solve_ck_doubling(P3, 0.1, 1.0, n_grid=64, n_band=16), "n_band"),
    (lambda: solve_ck(P3, 0.1, 1.0, method="rk4"), "method"),
    (lambda: solve_fdt(P3, 0.0, 1.0), "temperature"),
    (lambda: local_decay_exponent([1, 2, 3], [0.0, -1.0, -2.0], -1.5), "above the asymptote"),
    (lambda: finite_n_extrapolation([100], [1.0]), "at least two"),
])
def test_bad_input_is_rejected_with_the_parameter_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_xi_must_be_a_covariance_or_mapping():
    with pytest.raises(TypeError, match="xi must be"):
        solve_ck_fixed([1.0, 2.0], 0.0, 1.0)


def test_a_landscape_covariance_is_accepted_as_xi():
    """sgdsde.theory.pspin's PSpinCovariance {p: c_p} (ξ = w Σ c_p² q^p) maps to a_p = w c_p²."""
    from sgdsde.theory.pspin import PSpinCovariance

    cov = PSpinCovariance({2: 0.5, 3: 2.0}, "ck")
    ours = solve_ck_fixed(PSpinCovariance.from_powers({2: 0.125, 3: 2.0}), 0.3, 1.0, dt=0.1)
    theirs = solve_ck_fixed(cov, 0.3, 1.0, dt=0.1)
    assert np.array_equal(ours.energy, theirs.energy)
    assert float(theirs.covariance(0.7)) == pytest.approx(float(cov(0.7)), rel=1e-14)


def test_solve_ck_picks_the_scheme_by_horizon():
    assert solve_ck(P3, 0.5, 1.0, dt=0.1).method == "fixed"
    sol = solve_ck(P3, 0.5, 1.0, method="doubling", n_grid=32, n_band=2)
    assert isinstance(sol, CKSolution) and sol.method == "doubling"


def test_the_old_covariance_class_is_a_deprecated_alias_of_the_one_xi_class():
    with pytest.warns(DeprecationWarning, match="PSpinCovariance.from_powers"):
        old = Covariance({2: 0.5, 4: 0.5})
    assert isinstance(old, PSpinCovariance) and old.powers == {2: 0.5, 4: 0.5}
    assert old == PSpinCovariance.from_powers({2: 0.5, 4: 0.5})
    with pytest.warns(DeprecationWarning, match="PSpinCovariance.pure"):
        ck = Covariance.pure(3, "ck")
    assert ck == PSpinCovariance.pure(3, "ck") and ck.powers == {3: 0.5}
    # the dense ξ coefficients the CK kernels read: a_p = w c_p²
    np.testing.assert_array_equal(PSpinCovariance({3: 2.0}, "ck").array, [0, 0, 0, 2.0])


def test_p2_gradient_flow_energy_refuses_times_that_are_not_finite():
    """t = NaN returned 0.0 (the energy at t = 0) and t = inf NaN, silently."""
    for bad in (np.nan, np.inf, [0.5, np.nan]):
        with pytest.raises(ValueError, match="t must be finite and >= 0"):
            p2_gradient_flow_energy(bad)
    assert p2_gradient_flow_energy(0.0) == 0.0


def test_local_decay_exponent_refuses_unsorted_or_non_finite_input():
    """Unsorted times were interpolated as if sorted (finite nonsense) and a NaN energy or
    asymptote gave NaN exponents, silently."""
    t = np.array([1.0, 3.0, 2.0, 10.0, 30.0, 100.0])
    e = np.array([1.0, 0.5, 0.6, 0.2, 0.1, 0.05])
    with pytest.raises(ValueError, match="t must be finite and increasing"):
        local_decay_exponent(t, e, 0.0)
    with pytest.raises(ValueError, match="energy must be finite"):
        local_decay_exponent([1.0, 10.0, 100.0], [1.0, np.nan, 0.1], 0.0)
    with pytest.raises(ValueError, match="asymptote must be a finite number"):
        local_decay_exponent([1.0, 10.0, 100.0], [1.0, 0.5, 0.1], np.nan)
    with pytest.raises(ValueError, match="points_per_decade must be an integer >= 1"):
        local_decay_exponent([1.0, 10.0, 100.0], [1.0, 0.5, 0.1], 0.0, points_per_decade=0)


def test_finite_n_extrapolation_refuses_one_size_or_non_finite_values():
    """sizes [10, 10] (no 1/N lever arm) and a NaN value gave (nan, nan, nan) with at most a
    RuntimeWarning."""
    with pytest.raises(ValueError, match="at least two different sizes"):
        finite_n_extrapolation([10, 10], [1.0, 2.0])
    with pytest.raises(ValueError, match="values must be finite"):
        finite_n_extrapolation([10, 20], [1.0, np.nan])
    with pytest.raises(ValueError, match="sizes must be"):
        finite_n_extrapolation([10, np.nan], [1.0, 2.0])


def test_solver_options_are_checked_not_converted():
    """tol=inf declared every iteration converged, max_iter=2.5 ran 2, and n_corrector=-1 ran
    the FDT solver with no corrector sweep (predictor only), all silently."""
    xi = {3: 0.5}
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        solve_ck_doubling(xi, 0.5, 5.0, tol=np.inf)
    with pytest.raises(ValueError, match="max_iter must be an integer >= 1"):
        solve_ck_doubling(xi, 0.5, 5.0, max_iter=2.5)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="n_corrector must be an integer >= 0"):
            solve_fdt(xi, 1.0, 1.0, n_corrector=bad)
