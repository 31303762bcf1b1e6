"""Local free energy: quadrature against the Gaussian closed form, the Langevin estimator
against quadrature, Entropy-SGD leaving a deep narrow well for a wide one where SGD stays."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde import LangevinSDE, simulate
from sgdsde.geometry.local_entropy import entropy_sgd, local_free_energy, local_free_energy_exact
from sgdsde.integrators import LeimkuhlerMatthews
from sgdsde.landscapes import NarrowWideWells, Quadratic


def _gaussian_local_free_energy(a, x, gamma, temperature):
    """Closed form for f = ½ xᵀAx: F = ½ xᵀ γA(A + γ)⁻¹ x − (T/2) log det(2πT (A + γ)⁻¹)."""
    d = a.shape[0]
    k = a + gamma * np.eye(d)
    quad = gamma * a @ np.linalg.inv(k)
    f = 0.5 * np.einsum("mi,ij,mj->m", x, quad, x)
    f -= 0.5 * temperature * np.linalg.slogdet(2 * np.pi * temperature * np.linalg.inv(k))[1]
    grad = x @ quad.T
    return f, grad


@pytest.mark.parametrize("a", [np.array([[2.0]]), np.array([[2.0, 0.5], [0.5, 1.0]])])
def test_quadrature_matches_the_gaussian_closed_form(a):
    x = np.array([[0.3, -0.2], [-1.0, 0.5]])[:, : a.shape[0]]
    exact_f, exact_g = _gaussian_local_free_energy(a, x, 1.5, 0.4)
    f, g = local_free_energy_exact(Quadratic(a), x, 1.5, 0.4, bounds=[(-8, 8)] * a.shape[0],
                                   n_grid=401 if a.shape[0] == 2 else 2001)
    np.testing.assert_allclose(f, exact_f, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(g, exact_g, rtol=1e-8, atol=1e-9)


def test_langevin_estimate_agrees_with_quadrature_within_its_error_bars():
    wells = NarrowWideWells()
    x = wells.minima()
    exact_f, exact_g = local_free_energy_exact(wells, x, 3.0, 0.5, bounds=[(-6, 6)], n_grid=4001)
    est = local_free_energy(wells, x, 3.0, 0.5, n_inner=8, n_nodes=8, n_steps=2000, dt=2e-3, seed=0)
    # 5 standard errors (independent inner particles); the O(dt²) bias of LeimkuhlerMatthews at
    # dt·λ_max = 0.2 is below 1e-3 here, smaller than one SE (0.013 and 0.003)
    assert np.all(np.abs(est.value - exact_f) < 5 * est.stderr)
    assert np.all(np.abs(est.grad - exact_g) < 5 * est.grad_stderr)
    assert est.n_grad_evals == 2000 * 2 * 9 * 8
    # the narrow well is the deeper energy minimum, yet at T = 0.5 the wide one has lower F
    assert wells.energy(x[:1])[0] < wells.energy(x[1:])[0] and exact_f[1] < exact_f[0]


@pytest.mark.slow  # 4.5 s idle, 10 s on the loaded 2-core box
def test_entropy_sgd_leaves_the_narrow_well_where_langevin_sgd_stays():
    wells = NarrowWideWells()
    start = np.repeat(wells.minima()[:1], 8, axis=0)
    barrier_top = -0.67  # the energy maximum between the wells (checked below)
    grid = np.linspace(-1.0, 1.0, 201)[:, None]
    assert abs(grid[np.argmax(wells.energy(grid)), 0] - barrier_top) < 0.02
    # SGD as Langevin dynamics at a small temperature: barrier/T ≈ 19, escape time ~ e^19
    sgd = simulate(LangevinSDE(wells, temperature=0.05), LeimkuhlerMatthews(), start, dt=5e-3, t1=20.0,
                   seed=1, progress=False)
    assert np.all(sgd.final[:, 0] < barrier_top)
    res = entropy_sgd(wells, start, lr=1.0, gamma=0.3, temperature=0.5, n_steps=60, inner_steps=400,
                      inner_dt=5e-3, n_inner=8, gamma_growth=0.03, seed=2)
    wide = res.final[:, 0] > barrier_top
    # seeded run: 7 of 8 end in the wide basin (a majority is required)
    assert wide.sum() >= 5
    assert res.positions.shape == (61, 8, 1) and res.gammas[-1] == pytest.approx(0.3 * 1.03**59)


def test_bad_input():
    q = Quadratic(np.eye(1))
    with pytest.raises(ValueError, match="gamma must be a finite number > 0"):
        local_free_energy_exact(q, [[0.0]], 0.0, 1.0, bounds=[(-1, 1)])
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0"):
        local_free_energy(q, [[0.0]], 1.0, -0.1)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        entropy_sgd(q, [[0.0]], lr=0.1, gamma=1.0, temperature=0.0, n_steps=1)
    with pytest.raises(ValueError, match="lr \\* gamma must stay <= 2"):
        entropy_sgd(q, [[0.0]], lr=1.0, gamma=1.0, temperature=0.1, n_steps=10, gamma_growth=0.2)
    with pytest.raises(ValueError, match="exact quadrature is implemented in 1-D and 2-D"):
        local_free_energy_exact(Quadratic(np.eye(3)), np.zeros((1, 3)), 1.0, 1.0, bounds=[(-1, 1)] * 3)
    with pytest.raises(ValueError, match="x contains NaN"):
        local_free_energy(q, [[np.nan]], 1.0, 1.0)


def test_narrow_wide_wells_gradient_and_hessian_match_finite_differences():
    wells = NarrowWideWells(dim=2)
    x = np.array([[-1.02, 0.3], [-0.6, -0.1], [0.9, 0.5]])
    h = 1e-6
    for j in range(2):
        e = np.eye(2)[j] * h
        np.testing.assert_allclose(wells.grad(x)[:, j], (wells.energy(x + e) - wells.energy(x - e)) / (2 * h),
                                   rtol=1e-6, atol=1e-6)
        fd = (wells.grad(x + e) - wells.grad(x - e)) / (2 * h)
        np.testing.assert_allclose(wells.hessian(x)[:, :, j], fd, rtol=1e-5, atol=1e-5)
    m = wells.minima()
    np.testing.assert_allclose(wells.grad(m), 0.0, atol=1e-12)
    assert wells.hessian(m)[0, 0, 0] > 25 * wells.hessian(m)[1, 0, 0]  # narrow vs wide curvature
    with pytest.raises(ValueError, match="wide_depth must be < narrow_depth"):
        NarrowWideWells(wide_depth=2.0)


@pytest.mark.parametrize("x, bounds, name", [
    ([[np.nan]], [(-3.0, 3.0)], "x"),
    ([[0.0]], [(np.nan, 3.0)], "bounds"),
    ([[0.0]], [(-3.0, np.inf)], "bounds"),
])
def test_quadrature_rejects_non_finite_points_and_bounds(x, bounds, name):
    # NaN points or bounds used to come back as F = NaN without an error
    with pytest.raises(ValueError, match=name):
        local_free_energy_exact(Quadratic(np.eye(1)), x, 1.0, 0.5, bounds=bounds, n_grid=51)


def test_tethered_landscape_rejects_nan_weights():
    # NaN compares false with both 0 and 1, so NaN weights passed the [0, 1] check and made
    # every energy and gradient NaN
    from sgdsde.geometry.local_entropy import TetheredLandscape

    with pytest.raises(ValueError, match=r"weights must be 2 numbers in \[0, 1\]"):
        TetheredLandscape(Quadratic(np.eye(1)), [[0.0], [1.0]], 1.0, weights=[0.5, np.nan])
