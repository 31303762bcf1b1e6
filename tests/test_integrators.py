"""Integrators: convergence orders generated from their declarations, and exact stationary laws.

Every test of orders loops over :data:`sgdsde.integrators.ALL`, so a new scheme gets its
convergence tests by declaring ``strong_order_additive`` and ``weak_order``.

Test problem: the harmonic well ``U = k x²/2`` (the Ornstein–Uhlenbeck process; for
underdamped schemes the damped harmonic oscillator), with additive thermal noise.  Both are
linear SDEs ``dZ = F Z dt + G dW`` whose exact solution driven by given Brownian increments
follows from the variation of constants.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from sgdsde import random as rnd
from sgdsde.integrators import ALL, BAOAB, MALA, OBABO, EulerMaruyama, Heun, LeimkuhlerMatthews
from sgdsde.integrators.base import NoiseSource
from sgdsde.landscapes.toy import DoubleWell, Quadratic
from sgdsde.save import SaveAt
from sgdsde.sde import LangevinSDE
from sgdsde.simulate import simulate
from sgdsde.theory.ornstein_uhlenbeck import em_stationary_variance, ou_moments

K, TEMP, GAMMA, T_FINAL = 1.0, 0.5, 1.0, 1.0
IDS = [cls.name for cls in ALL]


def _harmonic_sde(integrator, k=K, temperature=TEMP, friction=GAMMA, mass=1.0):
    return LangevinSDE(Quadratic([[k]]), temperature=temperature,
                       friction=friction if integrator.underdamped else None,
                       mass=mass if integrator.underdamped else None)


def _linear_coefficients(underdamped, k=K, temperature=TEMP, friction=GAMMA):
    """``(F, G)`` of ``dZ = F Z dt + G dW``: Z = x (overdamped) or (x, v) with m = 1."""
    if underdamped:
        return (np.array([[0.0, 1.0], [-k, -friction]]),
                np.array([[0.0], [math.sqrt(2 * friction * temperature)]]))
    return np.array([[-k]]), np.array([[math.sqrt(2 * temperature)]])


def _exact_path_end(underdamped, z0, fine_increments, delta):
    """Exact solution at the end of the fine grid, driven by the fine Brownian increments.

    Variation of constants over each fine step δ: ``Z ← e^{Fδ} Z + ∫ e^{F(δ−s)} G dW(s)``;
    the stochastic integral is replaced by its conditional mean given the increment ΔW,
    ``F⁻¹(e^{Fδ} − I) G ΔW / δ``.  What is left out is independent of every increment, so it
    adds the same O(δ²) variance to every scheme's error and does not bias their expectations.
    """
    f, g = _linear_coefficients(underdamped)
    prop = scipy.linalg.expm(f * delta)
    gain = np.linalg.solve(f, prop - np.eye(len(f))) @ g / delta
    z = z0.copy()
    for dw in fine_increments:
        z = z @ prop.T + dw @ gain.T
    return z


def _run_reference(integrator, sde, x0, v0, h, n_steps, normals):
    """The integrator's NumPy reference ``step`` fed by a custom ``normals(step, dim, stream)``."""
    m = x0.shape[0]
    noise = NoiseSource(normals,
                        lambda n, stream: rnd.uniforms(7, np.arange(m), n, 1, stream)[:, 0])
    state = integrator.init_state(sde, x0.copy(), None if v0 is None else v0.copy())
    for n in range(n_steps):
        integrator.step(sde, state, n, h, noise)
    return state


def _given_increments(coarse, h, substeps=1):
    """``normals(step, dim, stream)`` returning the Brownian increments of step n over sqrt(h).

    ``coarse`` holds ``substeps`` increments per step (a scheme's ``noise_substeps``): step n
    gets those of its sub-intervals side by side, each over sqrt(h / substeps).
    """
    def normals(n, dim, stream):
        parts = [coarse[n * substeps + j] for j in range(substeps)]
        return np.concatenate(parts, axis=1) / math.sqrt(h / substeps)

    return normals


def _slope(hs, errors):
    """Least-squares slope of log(error) against log(h)."""
    return np.polyfit(np.log(hs), np.log(errors), 1)[0]


def test_declarations():
    for cls in ALL:
        integ = cls()
        assert 0 < integ.strong_order <= integ.strong_order_additive
        assert integ.weak_order > 0
        assert isinstance(integ.grad_evals_per_step, int) and integ.grad_evals_per_step >= 1
        assert integ == cls() and hash(integ) == hash(cls())


# ----------------------------------------------------------------------------- strong order
STRONG_LEVELS = (3, 4, 5, 6, 7)  # h = 2**-3 ... 2**-7: five step sizes
STRONG_FINE = 11  # reference grid δ = 2**-11
STRONG_PATHS = 4000


@pytest.fixture(scope="module")
def brownian_increments():
    """Fine Brownian increments (n_fine, M, 1) on [0, T + h_max] (LM reads one step ahead)."""
    delta = 2.0**-STRONG_FINE
    n_fine = round((T_FINAL + 2.0**-STRONG_LEVELS[0]) / delta)
    rng = np.random.default_rng(20240607)
    return delta, rng.standard_normal((n_fine, STRONG_PATHS, 1)) * math.sqrt(delta)


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_strong_order_additive_noise(cls, brownian_increments):
    """RMS error at t = 1 against the exact solution driven by the same Brownian increments.

    Band: the fitted slope over five step sizes lies within [p − 0.1, p + 0.25] of the
    declared order p.  The statistical error of the slope is about 1/sqrt(2M) ≈ 0.01 (the
    errors at the five h share their paths); the asymptotic regime is reached for h ≤ 1/8
    on this problem (kh, γh ≤ 1/8).  The upper bound checks that the declaration is sharp
    on the harmonic problem.  Metropolis schemes get only the lower bound: on OU their
    rejections are rare at small h (the rejection rate falls like a power of h), so most
    steps are Euler–Maruyama steps and the observed slope lies between ½ and 1.
    """
    integ = cls()
    delta, dw = brownian_increments
    m = dw.shape[1]
    x0, v0 = np.full((m, 1), 1.0), np.full((m, 1), 0.5)
    z0 = np.hstack([x0, v0]) if integ.underdamped else x0
    exact = _exact_path_end(integ.underdamped, z0, dw[:round(T_FINAL / delta)], delta)[:, :1]
    sde = _harmonic_sde(integ)
    hs, errors = [], []
    for level in STRONG_LEVELS:
        h = 2.0**-level
        sub = integ.noise_substeps  # increments per step: same path, coarser grid
        coarse = dw.reshape(-1, round(h / sub / delta), m, 1).sum(axis=1)
        state = _run_reference(integ, sde, x0, v0 if integ.underdamped else None, h,
                               round(T_FINAL / h), _given_increments(coarse, h, sub))
        hs.append(h)
        errors.append(math.sqrt(np.mean((state.x - exact) ** 2)))
    slope = _slope(hs, errors)
    assert np.all(np.diff(errors) < 0), errors
    assert slope > integ.strong_order_additive - 0.1, (slope, errors)
    if not isinstance(integ, MALA):
        assert slope < integ.strong_order_additive + 0.25, (slope, errors)


# ----------------------------------------------------------------------------- weak order
def _impulse_response(integ, sde, h, n_steps, x0=0.0, v0=0.0):
    """Exact law of a scheme that is linear in (state, noise), computed by its own ``step``.

    Row 0 starts at (x0, v0) with zero noise and gives the mean; every other row starts at 0
    with a single unit normal (one component of one step) and gives that normal's
    coefficient b_j, so the variance is Σ b_j².  A step has ``noise_substeps`` components
    (d = 1); one step more than taken: Leimkuhler–Matthews reads the normal of step n + 1.
    Returns ``(mean_x, var_x, mean_v, var_v)`` (velocities None when overdamped).
    """
    per_step = integ.noise_substeps
    rows = 1 + (n_steps + 1) * per_step

    def normals(n, dim, stream):
        assert dim == per_step
        xi = np.zeros((rows, dim))
        for j in range(dim):
            if 1 + n * dim + j < rows:
                xi[1 + n * dim + j, j] = 1.0
        return xi

    x = np.zeros((rows, 1))
    x[0] = x0
    v = None
    if integ.underdamped:
        v = np.zeros((rows, 1))
        v[0] = v0
    state = _run_reference(integ, sde, x, v, h, n_steps, normals)
    out = [state.x[0, 0], np.sum(state.x[1:, 0] ** 2)]
    out += [None, None] if v is None else [state.v[0, 0], np.sum(state.v[1:, 0] ** 2)]
    return tuple(out)


WEAK_LEVELS = (2, 3, 4, 5, 6)  # h = 1/4 ... 1/64


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_weak_order(cls):
    """|E f(x_N) − E f(X_t)| for f = x² at t = 1 from x0 = 2 (v0 = 0.5), against the exact
    second moment.

    Schemes that are linear on this problem (all but the Metropolis ones) have Gaussian laws
    whose mean and variance we compute exactly from their own ``step`` (impulse response), so
    the weak error carries no sampling noise: band [p − 0.15, p + 0.3] around the declared
    order p (the h = 1/4 point is in the asymptotic regime to about 10 %).  For Heun the OU
    problem is a fair test of weak order 2: its trapezoidal drift matches e^{−kh} to O(h²)
    where Euler–Maruyama's does to O(h) (a linear drift already separates them).  What OU
    cannot show is the (T h²/2) ∇U‴-type term a nonlinear drift adds; on the double well
    (T = 0.25, x0 = 0.3, f = x², M = 1e5 coupled paths) the successive differences
    E f(x_h) − E f(x_{h/2}) for h = 1/8 ... 1/64 shrink by 6.4, 5.7, 5.1 per halving for Heun
    and 4.0, 2.7, 2.2 for Euler–Maruyama: still pre-asymptotic, consistent with orders 2
    and 1, but a ±0.25 band on the slope would need far more paths than a unit test affords.

    MALA's accept/reject is not linear: there the error is a Monte Carlo mean with the
    exact solution on the same increments as control variate,
    ``mean(f(x_N) − f(X̃)) + (E f(X̃) − E f(X))`` with the last bracket O(δ²) ≈ 0, and we
    require the error to exceed 10 standard errors at every h so the fitted slope is
    meaningful (band as above, SE = sd(f(x_N) − f(X̃)) / sqrt(M)).  Its steps are smaller,
    h = 1/16 ... 1/128: from x0 = 2 the rejections of the early transient keep the local
    slope near 0.8 for h ≥ 1/16 (it rises to 0.9–1 below; measured with M = 40 000).
    """
    integ = cls()
    sde = _harmonic_sde(integ)
    x0, v0 = 2.0, 0.5
    if integ.underdamped:
        f, g = _linear_coefficients(True)
        mean_z = scipy.linalg.expm(f * T_FINAL) @ np.array([x0, v0])
        cov = scipy.linalg.solve_continuous_lyapunov(f, -g @ g.T)  # stationary covariance
        prop = scipy.linalg.expm(f * T_FINAL)
        exact_x2 = mean_z[0] ** 2 + (cov - prop @ cov @ prop.T)[0, 0]
    else:
        mean, var = ou_moments(x0, K, TEMP, T_FINAL)
        exact_x2 = mean**2 + var
    hs, errors = [], []
    if isinstance(integ, MALA):
        m, delta = 20_000, 2.0**-9
        rng = np.random.default_rng(11)
        dw = rng.standard_normal((round(T_FINAL / delta), m, 1)) * math.sqrt(delta)
        x_start = np.full((m, 1), x0)
        exact = _exact_path_end(False, x_start, dw, delta)
        for level in (4, 5, 6, 7):
            h = 2.0**-level
            coarse = dw.reshape(-1, round(h / delta), m, 1).sum(axis=1)
            state = _run_reference(integ, sde, x_start, None, h, round(T_FINAL / h),
                                   _given_increments(coarse, h))
            diff = state.x[:, 0] ** 2 - exact[:, 0] ** 2
            assert abs(diff.mean()) > 10 * diff.std() / math.sqrt(m)
            hs.append(h)
            errors.append(abs(diff.mean()))
    else:
        for level in WEAK_LEVELS:
            h = 2.0**-level
            mx, vx, _, _ = _impulse_response(integ, sde, h, round(T_FINAL / h), x0, v0)
            hs.append(h)
            errors.append(abs(mx**2 + vx - exact_x2))
    slope = _slope(hs, errors)
    assert integ.weak_order - 0.15 < slope < integ.weak_order + 0.3, (slope, errors)


# ----------------------------------------------------------------------------- orders on the sphere
@pytest.fixture(scope="module")
def pspin_flow():
    """p-spin (p = 3, N = 16) and the end at t = 1 of its Riemannian gradient flow
    ``dx/dt = −P_x ∇H(x)`` on |x|² = N from four random points (DOP853, tolerance 1e-12)."""
    from sgdsde.landscapes import SphericalPSpin

    landscape = SphericalPSpin(n=16, p=3, seed=0)
    x0 = landscape.manifold.random(4, seed=1)

    def rhs(t, y):
        x = y.reshape(x0.shape)
        return -landscape.manifold.project(x, landscape.grad(x)).ravel()

    end = integrate.solve_ivp(rhs, (0.0, T_FINAL), x0.ravel(), method="DOP853", rtol=1e-12,
                              atol=1e-12).y[:, -1].reshape(x0.shape)
    return landscape, x0, end


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_deterministic_order_on_the_sphere(cls, pspin_flow):
    """Every scheme on a curved manifold: gradient descent (T = 0) on the p-spin sphere,
    RMS error at t = 1 against the exact flow for h = 1/8 ... 1/128; the slope lies in
    [p − 0.15, p + 0.3] of the declared weak order p (at T = 0 the weak error is the
    global error of the ODE scheme).  Heun used to correct with the gradient projected at
    the start point: slope 0.94 here (0.95 at N = 64), now 1.97.  Schemes that declare
    ``needs_euclidean`` must refuse the sphere."""
    integ = cls()
    landscape, x0, end = pspin_flow
    sde = LangevinSDE(landscape, temperature=0.0, friction=1.0 if integ.underdamped else None)
    if integ.needs_euclidean:
        with pytest.raises(ValueError, match="defined on Euclidean space only"):
            simulate(sde, integ, x0, dt=0.1, n_steps=1, seed=0, backend="numpy", progress=False)
        return
    hs, errors = [], []
    for level in WEAK_LEVELS:
        h = 2.0 ** -(level + 1)
        traj = simulate(sde, integ, x0, dt=h, n_steps=round(T_FINAL / h), seed=0, backend="numpy",
                        progress=False, save=SaveAt(every=10**6, start=False))
        hs.append(h)
        errors.append(math.sqrt(np.mean((traj.final - end) ** 2)))
    slope = _slope(hs, errors)
    assert integ.weak_order - 0.15 < slope < integ.weak_order + 0.3, (slope, errors)


# ----------------------------------------------------------------------------- stationary laws
def _n_relax(factor):
    """Steps after which a contraction by ``factor`` per step leaves < 1e-16 of the start.

    ``factor = 0`` (kh = 1 for Euler–Maruyama) forgets the start in one step.
    """
    factor = abs(factor)
    return 1 if factor == 0 else max(1, math.ceil(37 / -math.log(factor)))


@settings(max_examples=30)
@given(k=st.floats(0.2, 5.0), temperature=st.floats(0.05, 3.0), kh=st.floats(0.05, 1.5))
def test_euler_maruyama_stationary_variance(k, temperature, kh):
    """docs/theory.md §3: T / (k (1 − kh/2)), exact for the discrete chain (impulse response)."""
    h = kh / k
    integ = EulerMaruyama()
    n = _n_relax(1 - kh)
    _, var, _, _ = _impulse_response(integ, _harmonic_sde(integ, k, temperature), h, n)
    assert var == pytest.approx(em_stationary_variance(k, temperature, h), rel=1e-10)


@settings(max_examples=30)
@given(k=st.floats(0.2, 5.0), temperature=st.floats(0.05, 3.0), kh=st.floats(0.05, 1.5))
def test_leimkuhler_matthews_stationary_variance_is_exact(k, temperature, kh):
    """docs/theory.md §3: T / k at every stable h."""
    h = kh / k
    integ = LeimkuhlerMatthews()
    n = _n_relax(1 - kh)
    _, var, _, _ = _impulse_response(integ, _harmonic_sde(integ, k, temperature), h, n)
    assert var == pytest.approx(temperature / k, rel=1e-10)


@settings(max_examples=30)
@given(k=st.floats(0.2, 5.0), temperature=st.floats(0.05, 3.0), kh=st.floats(0.05, 1.5))
def test_heun_stationary_variance(k, temperature, kh):
    """The trapezoidal chain x' = a x + (1 − kh/2) sqrt(2Th) ξ with a = 1 − kh + (kh)²/2 has
    stationary variance 2Th (1 − kh/2)² / (1 − a²) = T/k (1 − (kh)²/4 + O(h³)): the invariant
    law is second-order accurate, as its weak order 2 requires."""
    h = kh / k
    a = 1 - kh + kh**2 / 2
    integ = Heun()
    n = _n_relax(a)
    _, var, _, _ = _impulse_response(integ, _harmonic_sde(integ, k, temperature), h, n)
    assert var == pytest.approx(2 * temperature * h * (1 - kh / 2) ** 2 / (1 - a * a), rel=1e-10)


def _one_step_map(integ, sde, h):
    """``(A, B)`` with ``z' = A z + B ξ``, z = x or (x, v): one step of a scheme that is linear
    on the harmonic well, read off its own ``step``: columns of A from unit states without
    noise, columns of B from a zero state with one unit normal (``noise_substeps`` of them)."""
    n_state = 2 if integ.underdamped else 1
    per_step = integ.noise_substeps
    rows = n_state + per_step

    def normals(n, dim, stream):
        xi = np.zeros((rows, dim))
        xi[n_state:, :] = np.eye(per_step)
        return xi

    z = np.zeros((rows, n_state))
    z[:n_state] = np.eye(n_state)
    state = _run_reference(integ, sde, z[:, :1].copy(), z[:, 1:].copy() if integ.underdamped else None,
                           h, 1, normals)
    out = state.x if state.v is None else np.hstack([state.x, state.v])  # images, row by row
    return out[:n_state].T, out[n_state:].T


def _is_linear_markov(integ, sde, h):
    """True if one step reads only the normals of its own step and no uniforms (so on the
    harmonic well the chain is z' = A z + B ξ_n): not Leimkuhler–Matthews (ξ_{n+1}), not
    the Metropolis schemes (accept/reject)."""
    asked = []

    def normals(n, dim, stream):
        asked.append(n)
        return np.zeros((1, dim))

    def uniforms(n, stream):
        asked.append("uniform")
        return np.full(1, 0.5)

    state = integ.init_state(sde, np.zeros((1, 1)), np.zeros((1, 1)) if integ.underdamped else None)
    integ.step(sde, state, 5, h, NoiseSource(normals, uniforms))
    return set(asked) == {5}


@settings(max_examples=40)
@given(k=st.floats(0.2, 5.0), temperature=st.floats(0.05, 3.0), h_omega=st.floats(0.05, 1.9),
       friction=st.floats(0.1, 10.0), mass=st.floats(0.2, 5.0))
def test_baoab_stationary_variances(k, temperature, h_omega, friction, mass):
    """docs/theory.md §3: position variance exactly T/k at every stable h (hω < 2); kinetic
    temperature m⟨v²⟩ = T (1 − h²k/(4m)) (Leimkuhler & Matthews 2013): equipartition to
    O(h²).  The stationary covariance of the chain z' = A z + b ξ solves the discrete
    Lyapunov equation Σ = A Σ Aᵀ + b bᵀ."""
    h = h_omega / math.sqrt(k / mass)
    integ = BAOAB()
    a, b = _one_step_map(integ, _harmonic_sde(integ, k, temperature, friction, mass), h)
    assert np.max(np.abs(np.linalg.eigvals(a))) < 1  # stable
    cov = scipy.linalg.solve_discrete_lyapunov(a, b @ b.T)
    assert cov[0, 0] == pytest.approx(temperature / k, rel=1e-9)
    assert mass * cov[1, 1] == pytest.approx(temperature * (1 - h * h * k / (4 * mass)), rel=1e-9)


@settings(max_examples=40)
@given(k=st.floats(0.2, 5.0), temperature=st.floats(0.05, 3.0), h_omega=st.floats(0.05, 1.9),
       friction=st.floats(0.1, 10.0), mass=st.floats(0.2, 5.0))
def test_obabo_stationary_variances(k, temperature, h_omega, friction, mass):
    """docs/theory.md §3: velocities exactly Maxwellian, m⟨v²⟩ = T, at every stable h; position
    variance T / (k (1 − h²k/(4m))), the O(h²) bias of velocity Verlet's modified energy."""
    h = h_omega / math.sqrt(k / mass)
    integ = OBABO()
    a, b = _one_step_map(integ, _harmonic_sde(integ, k, temperature, friction, mass), h)
    assert np.max(np.abs(np.linalg.eigvals(a))) < 1
    cov = scipy.linalg.solve_discrete_lyapunov(a, b @ b.T)
    assert mass * cov[1, 1] == pytest.approx(temperature, rel=1e-9)
    assert cov[0, 0] == pytest.approx(temperature / (k * (1 - h * h * k / (4 * mass))), rel=1e-9)


@pytest.mark.parametrize(("cls", "k", "h", "expected"), [
    (EulerMaruyama, 2.0, 0.25, em_stationary_variance(2.0, 0.3, 0.25)),  # 4/3 of T/k
    (LeimkuhlerMatthews, 2.0, 0.4, 0.3 / 2.0),  # EM at this step would give 5/3 of T/k
    (BAOAB, 2.0, 0.4, 0.3 / 2.0),
])
def test_stationary_variance_of_the_fused_kernels(cls, k, h, expected):
    """The same oracles from a simulated cloud (Numba fused kernels): sample variance within
    5 SE, SE = σ² sqrt(2/(M−1)) for M independent Gaussian particles."""
    integ = cls()
    temperature, m = 0.3, 100_000
    sde = _harmonic_sde(integ, k, temperature, friction=2.0)
    # 200 steps: at least 40 relaxation times of the slowest mode for these parameters
    traj = simulate(sde, integ, np.zeros((m, 1)), dt=h, n_steps=200, seed=3, progress=False,
                    save=SaveAt(every=10**6, start=False))
    assert traj.stats["fused"]
    x = traj.final[:, 0]
    assert abs(x.var() - expected) < 5 * expected * math.sqrt(2 / (m - 1))
    if integ.underdamped:  # equipartition: m⟨v²⟩ = T (1 − h²k/(4m)), here 0.92 T
        kinetic = temperature * (1 - h * h * k / 4)
        assert abs(traj.final_velocity[:, 0].var() - kinetic) < 5 * kinetic * math.sqrt(2 / (m - 1))


STATIONARY_STEPS = (0.2, 0.1, 0.05, 0.025)


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_stationary_law_generated_from_the_schemes_own_step(cls):
    """Every scheme that is a linear Markov chain on the harmonic well (k = 1, T = 0.5, γ = 1):
    its exact stationary covariance Σ = A Σ Aᵀ + B Bᵀ (discrete Lyapunov, A and B read off
    its own ``step``) approaches the Boltzmann variance T/k at least at the declared weak
    order (slope of |Σ_xx − T/k| over h = 0.2 … 0.025 ≥ p − 0.15), unless it is exact
    (BAOAB); and a simulated cloud (the Numba backend: the fused kernel where there is
    one) has that variance at h = 0.2 within 5 SE, SE = Σ_xx sqrt(2/(M−1)) for M
    independent Gaussian particles.  Leimkuhler–Matthews and MALA have their own tests.
    """
    integ = cls()
    sde = _harmonic_sde(integ)
    if not _is_linear_markov(integ, sde, 0.1):
        pytest.skip(f"{integ.name} is not a linear Markov chain in its own step's normals")
    errors, covs = [], []
    for h in STATIONARY_STEPS:
        a, b = _one_step_map(integ, sde, h)
        assert np.max(np.abs(np.linalg.eigvals(a))) < 1
        covs.append(scipy.linalg.solve_discrete_lyapunov(a, b @ b.T))
        errors.append(abs(covs[-1][0, 0] - TEMP / K))
    if max(errors) > 1e-12:
        assert _slope(STATIONARY_STEPS, errors) > integ.weak_order - 0.15, errors
    m, expected = 100_000, covs[0][0, 0]
    traj = simulate(sde, integ, np.zeros((m, 1)), dt=STATIONARY_STEPS[0], n_steps=300, seed=4,
                    progress=False, save=SaveAt(every=10**6, start=False))  # t = 60: 30 relaxation times
    assert abs(traj.final[:, 0].var() - expected) < 5 * expected * math.sqrt(2 / (m - 1))
    if integ.underdamped:
        kinetic = covs[0][1, 1]
        assert abs(traj.final_velocity[:, 0].var() - kinetic) < 5 * kinetic * math.sqrt(2 / (m - 1))


# ----------------------------------------------------------------------------- MALA
def _double_well_bins(temperature, edges):
    """Boltzmann probabilities of the 1-D double well U = (x² − 1)² in the bins (quadrature)."""
    def weight(y):
        return math.exp(-((y * y - 1) ** 2) / temperature)

    z = integrate.quad(weight, -np.inf, np.inf)[0]
    inner = [integrate.quad(weight, a, b)[0] / z for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return np.array([integrate.quad(weight, -np.inf, edges[0])[0] / z, *inner,
                     integrate.quad(weight, edges[-1], np.inf)[0] / z])


def _chi_square(samples, probabilities, edges):
    counts = np.bincount(np.searchsorted(edges, samples), minlength=probabilities.size)
    expected = samples.size * probabilities
    return np.sum((counts - expected) ** 2 / expected)


def test_mala_samples_the_exact_boltzmann_law_at_a_large_step():
    """Double well, T = 0.5, h = 0.3 (Euler–Maruyama blows up at this step): the histogram
    of the final cloud against quadrature by Pearson's chi-square, critical value at level
    1e-3 with (bins − 1) degrees of freedom; the particles are independent.  The cloud starts
    symmetric at x = ±1, so the law stays symmetric and only has to relax within the wells.
    The same test rejects Euler–Maruyama even at a six times smaller step (it has power).
    """
    temperature, h, m = 0.5, 0.3, 40_000
    sde = LangevinSDE(DoubleWell(), temperature=temperature)
    x0 = np.where(np.arange(m)[:, None] % 2 == 0, -1.0, 1.0)
    edges = np.linspace(-1.8, 1.8, 25)
    probabilities = _double_well_bins(temperature, edges)
    critical = stats.chi2.ppf(1 - 1e-3, probabilities.size - 1)
    mala = simulate(sde, MALA(), x0, dt=h, n_steps=400, seed=5, progress=False)
    assert _chi_square(mala.final[:, 0], probabilities, edges) < critical
    rate = mala.stats["acceptance_rate"]
    assert 0 < rate < 1  # a step this large is rejected sometimes
    assert rate == mala.stats["n_accepted_total"] / (400 * m)
    em = simulate(sde, EulerMaruyama(), x0, dt=h / 6, n_steps=400, seed=5, progress=False)
    assert _chi_square(em.final[:, 0], probabilities, edges) > 10 * critical


def test_mala_acceptance_rate_tends_to_one_at_small_steps():
    sde = LangevinSDE(DoubleWell(), temperature=0.5)
    x0 = np.full((2000, 1), 1.0)
    rates = [simulate(sde, MALA(), x0, dt=h, n_steps=200, seed=1, progress=False).stats["acceptance_rate"]
             for h in (0.2, 0.02, 0.002)]
    assert 0 < rates[0] < rates[1] < rates[2] <= 1
    assert rates[2] > 0.99


def test_mala_rejects_what_it_cannot_sample():
    with pytest.raises(ValueError, match="temperature > 0"):
        MALA().check(LangevinSDE(DoubleWell(), temperature=0.0))
    from sgdsde.landscapes.toy import NonConservative

    with pytest.raises(ValueError, match="conservative"):
        MALA().check(LangevinSDE(NonConservative(), temperature=1.0))


def test_overdamped_and_underdamped_schemes_are_not_mixed():
    with pytest.raises(ValueError, match="underdamped"):
        BAOAB().check(LangevinSDE(DoubleWell(), temperature=1.0))
    with pytest.raises(ValueError, match="overdamped"):
        EulerMaruyama().check(LangevinSDE(DoubleWell(), temperature=1.0, friction=1.0))


# ----------------------------------------------------------------------------- work counted
class CountingWell(DoubleWell):
    """A double well without a fused kernel that counts its batched gradient calls."""

    fused_kind = None

    def __init__(self):
        super().__init__(dim=2)
        self.grad_calls = 0

    def grad(self, x):
        self.grad_calls += 1
        return super().grad(x)


def _initial_grad_evals(integ):
    """Gradients a scheme evaluates before its first step (1 for those carrying ∇U: MALA,
    BAOAB, OBABO), read off its own ``init_state``."""
    sde = LangevinSDE(DoubleWell(), temperature=0.5, friction=1.0 if integ.underdamped else None)
    v0 = np.zeros((1, 1)) if integ.underdamped else None
    return integ.init_state(sde, np.zeros((1, 1)), v0).n_grad_evals


@pytest.mark.parametrize("cls", ALL, ids=IDS)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_gradient_evaluations_as_declared(cls, backend):
    """``n_grad_evals`` = declared per step × steps (+ the gradient a scheme carries from the
    initial point), and equals the calls the landscape actually received."""
    integ = cls()
    land = CountingWell()
    sde = LangevinSDE(land, temperature=0.5, friction=1.0 if integ.underdamped else None)
    n_steps = 37
    traj = simulate(sde, integ, np.zeros((5, 2)), dt=0.01, n_steps=n_steps, seed=0, backend=backend,
                    progress=False, save=SaveAt(every=10))
    assert traj.stats["n_grad_evals"] == integ.grad_evals_per_step * n_steps + _initial_grad_evals(integ)
    assert land.grad_calls == traj.stats["n_grad_evals"]


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_fused_kernels_count_gradients_as_declared(cls):
    integ = cls()
    sde = LangevinSDE(DoubleWell(), temperature=0.5, friction=1.0 if integ.underdamped else None)
    traj = simulate(sde, integ, np.zeros((5, 1)), dt=0.01, n_steps=250, seed=0, progress=False)
    assert traj.stats["fused"]
    assert traj.stats["n_grad_evals"] == integ.grad_evals_per_step * 250 + _initial_grad_evals(integ)
