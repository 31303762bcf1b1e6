"""Toy landscapes: derivatives by finite differences, Numba kernels == NumPy, published values."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import toy_landscapes
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import optimize

from sgdsde.landscapes._toy_numba import lanes_energy, lanes_grad
from sgdsde.landscapes.toy import DoubleWell, MullerBrown, NonConservative, Quadratic, Rugged

LANDSCAPES = toy_landscapes()
NAMES = sorted(LANDSCAPES)


def _cloud(dim, n=3, lo=-1.8, hi=1.8):
    """Hypothesis strategy: (n, dim) float64 points in a box where every toy landscape is tame."""
    return arrays(np.float64, (n, dim), elements=st.floats(lo, hi, allow_nan=False, width=64))


def _central_difference(f, x, eps):
    """Fourth-order central difference of ``f`` (M,) or (M, d) -> (M, ..., d) along each x_j.

    Truncation error eps⁴ f⁽⁵⁾/30, round-off about ulp(f)/eps: with eps = 1e-3 both are
    below 1e-9 relative for these smooth landscapes at |x| <= 2.
    """
    cols = []
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = eps
        cols.append((8 * (f(x + e) - f(x - e)) - (f(x + 2 * e) - f(x - 2 * e))) / (12 * eps))
    return np.stack(cols, axis=-1)


def _scale(a):
    return 1.0 + np.max(np.abs(a))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25)
@given(data=st.data())
def test_grad_is_the_derivative_of_energy(name, data):
    """FD of the energy equals ``grad`` (for the non-conservative field: grad + Ω (x − c),
    the quadratic part A (x − c))."""
    land = LANDSCAPES[name]
    x = data.draw(_cloud(land.dim))
    fd = _central_difference(land.energy, x, 1e-3)
    g = land.grad(x)
    if isinstance(land, NonConservative):
        assert not land.is_conservative
        g = g + (x - land.center) @ land.rotation.T
    else:
        assert land.is_conservative
    # Relative 1e-7 of the largest component: far above the FD error (see _central_difference),
    # far below any error in a formula (a wrong coefficient changes g by O(|g|)).
    np.testing.assert_allclose(g, fd, rtol=0, atol=1e-7 * _scale(g))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25)
@given(data=st.data())
def test_hessian_is_the_jacobian_of_grad(name, data):
    """``hessian[m, i, j] = ∂ grad_i / ∂ x_j`` by finite differences (FD error as above)."""
    land = LANDSCAPES[name]
    assert land.has_hessian
    x = data.draw(_cloud(land.dim))
    fd = _central_difference(land.grad, x, 1e-3)
    h = land.hessian(x)
    assert h.shape == (x.shape[0], land.dim, land.dim)
    np.testing.assert_allclose(h, fd, rtol=0, atol=1e-7 * _scale(h))


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=25)
@given(data=st.data())
def test_pointwise_kernels_equal_batched(name, data):
    """The Numba ``lanes_grad``/``lanes_energy`` used by the fused integrators (one point per
    column) equal the NumPy batched methods to rounding (same formulas, different summation
    order: 1e-12 relative)."""
    land = LANDSCAPES[name]
    x = data.draw(_cloud(land.dim, n=4))
    p = np.ascontiguousarray(land.fused_params, dtype=np.float64)
    lanes = np.ascontiguousarray(x.T)
    g = np.empty_like(lanes)
    u = np.empty(x.shape[0])
    lanes_grad(land.fused_kind, lanes, p, g)
    lanes_energy(land.fused_kind, lanes, p, u)
    want = land.grad(x)
    np.testing.assert_allclose(g.T, want, rtol=1e-12, atol=1e-12 * _scale(want))
    np.testing.assert_allclose(u, land.energy(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    land = LANDSCAPES[name]
    x64 = np.linspace(-1.3, 1.1, 4 * land.dim).reshape(4, land.dim)
    x32 = x64.astype(np.float32)
    for method in (land.energy, land.grad, land.hessian):
        out = method(x32)
        assert out.dtype == np.float32, method.__name__
        # float32 arithmetic: 1e-4 relative to the largest value
        np.testing.assert_allclose(out, method(x64), rtol=0, atol=1e-4 * _scale(method(x64)))


@pytest.mark.parametrize("name", NAMES)
def test_integer_input_is_float64_positions(name):
    land = LANDSCAPES[name]
    xi = np.array([[1] * land.dim, [0] * land.dim])
    for method in (land.energy, land.grad):
        out = method(xi)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, method(xi.astype(np.float64)))


def test_double_well_shape():
    """Minima at x₀ = ±1 with U'' = 8h, barrier h at 0 with U'' = −4h; harmonic across."""
    h, kappa = 0.7, 2.0
    well = DoubleWell(dim=3, barrier=h, transverse_stiffness=kappa)
    pts = np.array([[-1.0, 0, 0], [1.0, 0, 0], [0.0, 0, 0]])
    np.testing.assert_allclose(well.energy(pts), [0, 0, h])
    np.testing.assert_allclose(well.grad(pts), 0, atol=1e-15)
    np.testing.assert_allclose(well.hessian(pts)[:, 0, 0], [8 * h, 8 * h, -4 * h])
    np.testing.assert_allclose(well.hessian(pts)[:, 1, 1], kappa)


# Müller & Brown (1979), Table 1: the three minima and two saddle points (energies to 0.01).
MB_MINIMA = [((-0.558, 1.442), -146.70), ((0.623, 0.028), -108.17), ((-0.050, 0.467), -80.77)]
MB_SADDLES = [((-0.822, 0.624), -40.66), ((0.212, 0.293), -72.25)]


@pytest.mark.parametrize(("start", "energy"), MB_MINIMA)
def test_muller_brown_published_minima(start, energy):
    mb = MullerBrown()
    res = optimize.minimize(lambda z: mb.energy(z[None])[0], start,
                            jac=lambda z: mb.grad(z[None])[0], method="BFGS", tol=1e-12)
    assert np.linalg.norm(res.x - start) < 5e-3  # the published location, 3 decimals
    assert abs(res.fun - energy) < 0.005  # the published energy, 2 decimals
    assert np.all(np.linalg.eigvalsh(mb.hessian(res.x[None])[0]) > 0)


@pytest.mark.parametrize(("start", "energy"), MB_SADDLES)
def test_muller_brown_published_saddles(start, energy):
    mb = MullerBrown()
    res = optimize.root(lambda z: mb.grad(z[None])[0], start, jac=lambda z: mb.hessian(z[None])[0])
    assert res.success and np.linalg.norm(res.x - start) < 5e-3
    assert abs(mb.energy(res.x[None])[0] - energy) < 0.005
    assert np.sum(np.linalg.eigvalsh(mb.hessian(res.x[None])[0]) < 0) == 1  # index-1 saddle


def test_muller_brown_scale_multiplies_everything():
    x = np.array([[0.1, 0.7], [-0.4, 1.2]])
    a, b = MullerBrown(), MullerBrown(scale=0.1)
    np.testing.assert_allclose(b.energy(x), 0.1 * a.energy(x))
    np.testing.assert_allclose(b.grad(x), 0.1 * a.grad(x))
    np.testing.assert_allclose(b.hessian(x), 0.1 * a.hessian(x))


def test_rugged_has_many_minima_when_ripples_dominate():
    """ε (2π/λ)² > k: local minima about λ apart along each axis (count sign changes of U')."""
    land = Rugged(dim=1, stiffness=1.0, amplitude=0.25, wavelength=0.5)
    grid = np.linspace(-2, 2, 4001)[:, None]
    g = land.grad(grid)[:, 0]
    n_minima = np.sum((g[:-1] < 0) & (g[1:] >= 0))
    assert 6 <= n_minima <= 9  # about 4 / λ = 8 ripples on [−2, 2]


def test_nonconservative_carries_a_rotation():
    """grad = (A − Ω)(x − c): the curl part is Ω, so the Jacobian is not symmetric."""
    land = LANDSCAPES["nonconservative"]
    h = land.hessian(np.zeros((1, 2)))[0]
    np.testing.assert_allclose(0.5 * (h - h.T), -land.rotation)
    np.testing.assert_allclose(0.5 * (h + h.T), land.matrix)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Quadratic([[1.0, 2.0], [2.0, 1.0]]), "matrix must be positive definite"),
        (lambda: Quadratic([[1.0, 0.5], [0.0, 1.0]]), "matrix must be symmetric"),
        (lambda: Quadratic(np.ones((2, 3))), "matrix must be a square matrix"),
        (lambda: Quadratic([[np.nan]]), "matrix must be finite"),
        (lambda: Quadratic(np.eye(2), center=[0.0, 1.0, 2.0]), "center"),
        (lambda: Quadratic.isotropic(3, stiffness=-1.0), "stiffness"),
        (lambda: DoubleWell(barrier=0.0), "barrier"),
        (lambda: DoubleWell(barrier=-1.0), "barrier"),
        (lambda: DoubleWell(dim=0), "dim"),
        (lambda: DoubleWell(tilt=np.inf), "tilt"),
        (lambda: DoubleWell(transverse_stiffness=0.0), "transverse_stiffness"),
        (lambda: MullerBrown(scale=0.0), "scale"),
        (lambda: Rugged(stiffness=0.0), "stiffness"),
        (lambda: Rugged(amplitude=-0.1), "amplitude"),
        (lambda: Rugged(wavelength=0.0), "wavelength"),
        (lambda: NonConservative(np.eye(2), rotation=[[0.0, 1.0], [1.0, 0.0]]), "antisymmetric"),
        (lambda: NonConservative(np.eye(2), rotation=np.zeros((3, 3))), "rotation"),
        (lambda: NonConservative(np.eye(3)), "rotation must be given"),
        (lambda: NonConservative(-np.eye(2)), "matrix must be positive definite"),
    ],
)
def test_bad_constructor_input(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("name", NAMES)
def test_bad_cloud_rejected(name):
    land = LANDSCAPES[name]
    with pytest.raises(ValueError, match=rf"x must have shape \(n_particles, {land.dim}\)"):
        land.grad(np.zeros(land.dim))  # a single point needs shape (1, d)
    with pytest.raises(ValueError, match="x must have shape"):
        land.energy(np.zeros((2, land.dim + 1)))
    with pytest.raises(TypeError, match="x must be a float32 or float64 array"):
        land.grad(np.zeros((2, land.dim), dtype=np.complex128))


def test_check_cloud_inspects_values_only_when_asked():
    """finite=True names the first row with NaN or inf; by default values pass (landscapes call
    check_cloud on every evaluation, and simulate checks its own start)."""
    from sgdsde.landscapes.base import check_cloud

    x = np.array([[0.0, 1.0], [2.0, np.inf], [np.nan, 0.0]])
    assert check_cloud(x, 2) is x
    with pytest.raises(ValueError, match=r"theta contains NaN or inf \(row 1\)"):
        check_cloud(x, 2, "theta", finite=True)
    np.testing.assert_array_equal(check_cloud(x[:1], 2, finite=True), x[:1])
