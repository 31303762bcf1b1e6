"""Structural properties of the Fokker–Planck discretisation, for arbitrary drifts and steps.

Implicit Euler applies ``(I − Δt L)⁻¹``, a column-stochastic matrix with non-negative entries
(``I − Δt L`` is an M-matrix whose columns sum to one).  Hence, exactly in exact arithmetic
and to rounding in floating point: densities stay non-negative, mass is conserved, and the
relative entropy to the stationary state — the free energy, for a gradient drift at
temperature T — never increases (data-processing inequality), whatever the drift and the step.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import sgdsde as sd
from sgdsde.fokker_planck import FokkerPlanck, Grid, evolve
from sgdsde.landscapes.base import Landscape


class PolynomialDrift(Landscape):
    """A random, generally non-gradient drift: ``b_a(x) = Σ_{i,j ≤ 2} c_aij x^i y^j``."""

    is_conservative = False

    def __init__(self, coefficients):
        self.coefficients = np.asarray(coefficients, dtype=np.float64)  # (d, 3, 3)
        self.dim = self.coefficients.shape[0]

    def energy(self, x):
        return 0.5 * np.sum(x * x, axis=1)

    def grad(self, x):
        px = x[:, :1] ** np.arange(3)
        py = x[:, 1:] ** np.arange(3) if self.dim == 2 else (np.arange(3) == 0) * np.ones((len(x), 1))
        return np.stack([np.einsum("mi,ij,mj->m", px, c, py) for c in self.coefficients], axis=1)


def drift_problem(draw_dim, coeffs, cells, periodic, diffusion_scale):
    grid = Grid([(-2.0, 2.0)] * draw_dim, cells, boundary="periodic" if periodic else "reflecting")
    land = PolynomialDrift(coeffs)

    def diffusion(x):  # positive, state-dependent, different along each axis
        return diffusion_scale * (1.0 + 0.5 * np.sin(3 * x) ** 2)

    return FokkerPlanck(land, grid, diffusion=diffusion, max_peclet=np.inf)


@st.composite
def problems(draw):
    dim = draw(st.sampled_from([1, 2]))
    coeffs = draw(arrays(np.float64, (dim, 3, 3), elements=st.floats(-20, 20)))
    cells = draw(st.integers(3, 40)) if dim == 1 else draw(st.integers(3, 9))
    fp = drift_problem(dim, coeffs, cells, draw(st.booleans()), draw(st.floats(1e-2, 1e2)))
    p0 = draw(arrays(np.float64, fp.grid.shape, elements=st.floats(0, 1e3)))
    p0.flat[draw(st.integers(0, fp.grid.size - 1))] += 1.0  # positive mass
    return fp, p0


def underflowing_problem():
    """grad U = −20 x pushes mass to both walls; with D = 0.01 on 10 cells the rates back from
    the walls underflow to 0: two absorbing cells, no unique stationary state."""
    coeffs = np.zeros((1, 3, 3))
    coeffs[0, 1, 0] = -20.0
    fp = drift_problem(1, coeffs, 10, False, 1e-2)
    return fp, np.exp(-fp.grid.axes[0] ** 2)


@settings(max_examples=60, deadline=None)
@given(problems(), st.floats(-4, 3))
@example(underflowing_problem(), -2.0)
@example(underflowing_problem(), 2.0)
def test_implicit_euler_keeps_densities_positive_and_mass_for_any_drift_and_step(problem, log_dt):
    fp, p0 = problem
    dt = 10.0**log_dt
    ev = evolve(fp, p0, dt * np.arange(1, 6), dt=dt, track=False)
    assert np.all(ev.densities >= 0)
    mass = ev.densities.reshape(5, -1).sum(axis=1) * fp.grid.cell_volume
    # each LU solve has a residual of a few eps·‖I − Δt L‖₁ (backward stability), and the mass
    # of the solution moves by at most that much per step: 5 steps × 10 eps × (1 + Δt ‖L‖₁)
    norm = abs(fp.generator).sum(axis=0).max()
    tol = 5 * 10 * np.finfo(float).eps * (1 + dt * norm)
    np.testing.assert_allclose(mass, 1.0, rtol=0, atol=tol)
    # the generator itself: non-negative off-diagonal entries, columns summing to zero
    gen = fp.generator.toarray()
    assert np.all(gen - np.diag(np.diag(gen)) >= 0)
    np.testing.assert_allclose(gen.sum(axis=0), 0.0, atol=1e-12 * np.abs(gen).max())


def test_evolve_without_tracking_needs_no_stationary_state():
    fp, p0 = underflowing_problem()
    with pytest.raises(ValueError, match="no unique stationary state"):
        fp.stationary()
    ev = evolve(fp, p0, [0.0, 0.5, 5.0], dt=0.01, track=False)
    assert ev.stationary is None and ev.observables == {}
    assert np.all(ev.densities >= 0)
    mass = ev.densities.sum(axis=1) * fp.grid.cell_volume
    np.testing.assert_allclose(mass, 1.0, rtol=0, atol=1e-12)  # 500 solves, each ~eps off
    # the symmetric initial density ends, symmetrically, at the two walls
    np.testing.assert_allclose(ev.densities[-1], ev.densities[-1][::-1], rtol=1e-9)
    assert ev.densities[-1][[0, -1]].sum() * fp.grid.cell_volume > 0.99
    with pytest.raises(ValueError, match="no unique stationary state"):  # the KL needs p_∞
        evolve(fp, p0, [0.0, 0.5], dt=0.01)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.3, 3.0), st.floats(-1.0, 1.0), st.floats(0.1, 2.0), st.integers(8, 60),
       st.floats(-3, 2), arrays(np.float64, 12, elements=st.floats(0.0, 1.0)))
def test_kl_and_free_energy_never_increase(barrier, tilt, temperature, cells, log_dt, bumps):
    land = sd.landscapes.DoubleWell(barrier=barrier, tilt=tilt)
    fp = FokkerPlanck(sd.LangevinSDE(land, temperature), Grid((-2.0, 2.0), cells), max_peclet=np.inf)
    x = fp.grid.axes[0]
    # a positive initial density of random shape: a sum of bumps at random heights
    p0 = 1e-3 + sum(b * np.exp(-((x - c) ** 2) / 0.05) for b, c in zip(bumps, np.linspace(-2, 2, 12),
                                                                       strict=True))
    dt = 10.0**log_dt
    obs = evolve(fp, p0, dt * np.arange(0, 15), dt=dt).observables
    # rounding of Σ p ln p over the grid: a few eps times the size of the summed terms
    tol = 1e-12 * (1.0 + np.abs(obs["free_energy"]).max() + np.abs(obs["mean_energy"]).max())
    assert np.all(np.diff(obs["kl"]) <= 1e-12)
    assert np.all(np.diff(obs["free_energy"]) <= tol)
    # F − F_∞ = T·KL exactly for the discrete Boltzmann state
    f_inf = obs["free_energy"][-1] - temperature * obs["kl"][-1]
    np.testing.assert_allclose(obs["free_energy"] - f_inf, temperature * obs["kl"], atol=1e-10)


def test_kl_never_increases_out_of_equilibrium():
    # a rotational drift has no free energy, but KL(p_t‖p_∞) still decays monotonically
    fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.NonConservative(omega=3.0), 0.3),
                      Grid([(-2.5, 2.5)] * 2, 40))
    x = fp.grid.points
    p0 = np.exp(-((x[:, 0] - 1.2) ** 2 + x[:, 1] ** 2) / 0.1)
    kl = evolve(fp, p0, 0.05 * np.arange(40), dt=0.05).observables["kl"]
    assert kl[0] > 1.0 and kl[-1] < 0.05 * kl[0]
    assert np.all(np.diff(kl) <= 1e-12)
    assert "free_energy" not in evolve(fp, p0, [0.0], dt=0.05).observables
