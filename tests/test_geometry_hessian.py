"""Hessian spectra from Hessian-vector products, against dense eigvalsh, the exact trace, the
exact smoothed density and the GOE semicircle; exact p-spin products by interpolation;
Riemannian operators against the dense tangent Hessian; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.geometry import (
    HessianOperator,
    extreme_eigenpairs,
    hessian_vector_product,
    hutchpp_trace,
    spectral_density,
)
from sgdsde.landscapes import MixedSphericalPSpin, MullerBrown, Quadratic, SphericalPSpin, TwoLayerMLP
from sgdsde.landscapes.base import Landscape
from sgdsde.measure.spectra import hessian_spectrum


def _spd(d, seed, spread=10.0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = np.concatenate([[spread, 0.8 * spread, 0.6 * spread], rng.uniform(0.1, 1.0, d - 3)])
    return (q * lam) @ q.T


def _goe(n, seed, shift):
    """GOE with semicircle on [shift − 2, shift + 2] (off-diagonal variance 1/n)."""
    g = np.random.default_rng(seed).standard_normal((n, n))
    return (g + g.T) / np.sqrt(2 * n) + shift * np.eye(n)


class GradientOnly(Landscape):
    """A quadratic seen only through its gradient: no hvp, no hessian."""

    has_hessian = False

    def __init__(self, a):
        self.a, self.dim = a, a.shape[0]

    def energy(self, x):
        return 0.5 * np.einsum("mi,ij,mj->m", x, self.a, x)

    def grad(self, x):
        return x @ self.a


def test_top_and_bottom_eigenpairs_match_eigvalsh():
    a = _spd(60, 0)
    exact = np.linalg.eigvalsh(a)
    q = Quadratic(a)
    top = extreme_eigenpairs(q, np.zeros(60), k=5)
    np.testing.assert_allclose(top.values, exact[::-1][:5], rtol=1e-9)
    assert np.all(top.errors < 1e-6) and top.n_products > 0
    # each error bar bounds the distance to the true eigenvalue (residual theorem)
    assert np.all(np.abs(top.values - exact[::-1][:5]) <= top.errors + 1e-12)
    bottom = extreme_eigenpairs(q, np.zeros(60), k=3, which="smallest")
    np.testing.assert_allclose(bottom.values, exact[:3], rtol=1e-8)
    # eigenvectors: A u = λ u
    np.testing.assert_allclose(a @ top.vectors, top.vectors * top.values, atol=1e-6)


def test_k_equal_to_dimension_uses_the_dense_path_and_k_too_large_raises():
    a = _spd(8, 1)
    res = extreme_eigenpairs(Quadratic(a), np.zeros(8), k=8, which="smallest")
    np.testing.assert_allclose(res.values, np.linalg.eigvalsh(a), rtol=1e-12)
    assert res.n_products == 8
    with pytest.raises(ValueError, match=r"k = 9 exceeds the dimension 8"):
        extreme_eigenpairs(Quadratic(a), np.zeros(8), k=9)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        extreme_eigenpairs(Quadratic(a), np.zeros(8), k=0)


def test_hutchpp_is_within_its_standard_error_and_beats_hutchinson_scale():
    a = _spd(200, 2, spread=50.0)
    op = HessianOperator(Quadratic(a), np.zeros(200))
    est = hutchpp_trace(op, n_products=60, seed=3)
    assert est.n_products == 60
    # 5 standard errors: fails with probability < 1e-6 if the estimator is unbiased
    assert abs(est.value - np.trace(a)) < 5 * est.stderr
    # the three outliers are captured by the sketch: the error is that of the bulk only,
    # far below the outliers' contribution to a plain Hutchinson variance (~50)
    assert est.stderr < 2.0
    exact = hutchpp_trace(Quadratic(a[:10, :10]), np.zeros(10), n_products=12)
    assert exact.stderr == 0 and exact.value == pytest.approx(np.trace(a[:10, :10]), rel=1e-12)


def test_slq_density_matches_exact_smoothed_density_and_goe_semicircle():
    n, shift, width = 400, 3.0, 0.25
    h = _goe(n, 4, shift)
    dens = spectral_density(Quadratic(h), np.zeros(n), n_lanczos=60, n_vectors=10, seed=5)
    assert dens.n_products == 600 and dens.dimension == n
    np.testing.assert_allclose(dens.weights.sum(axis=1), 1.0, rtol=1e-10)
    grid = np.linspace(shift - 2.5, shift + 2.5, 41)
    est, err = dens.density(grid, width)
    lam = np.linalg.eigvalsh(h)
    z = (grid[:, None] - lam[None]) / width
    exact = np.exp(-0.5 * z * z).sum(axis=1) / (n * width * np.sqrt(2 * np.pi))
    # SLQ is an unbiased estimate of the smoothed density up to the quadrature error, which is
    # negligible at m = 60 for a kernel of width 0.25 on a range of 4: 5 SE plus 1e-3
    assert np.all(np.abs(est - exact) <= 5 * err + 1e-3)
    # against the semicircle law itself, smoothed by the same kernel (quadrature): within 5 SE
    # at every grid point (finite-n corrections, O(1/n) in the bulk, are below one SE here)
    t = np.linspace(-2, 2, 20001)
    rho = np.sqrt(np.maximum(4 - t**2, 0)) / (2 * np.pi)
    zt = (grid[:, None] - shift - t[None]) / width
    semicircle = np.trapezoid(rho[None] * np.exp(-0.5 * zt * zt), t, axis=1) / (width * np.sqrt(2 * np.pi))
    assert np.all(np.abs(est - semicircle) <= 5 * err)
    # and the second moment (1/n) tr (H − shift)² → 1
    m2, m2_err = dens.moment(lambda t: (t - shift) ** 2)
    assert abs(m2 - 1.0) < 5 * m2_err + 0.02  # 0.02: finite-n fluctuation of tr(H²)/n ~ 1/n


def test_pspin_polynomial_hvp_is_exact_and_riemannian_operator_matches_dense_tangent_hessian():
    for model in (SphericalPSpin(n=16, p=3, seed=0), SphericalPSpin(n=12, p=4, seed=1),
                  MixedSphericalPSpin(n=12, coefficients={2: 0.5, 3: 1.0}, seed=2)):
        x = model.manifold.random(3, seed=4)
        v = np.random.default_rng(0).standard_normal(x.shape)
        hv = hessian_vector_product(model, x, v)
        np.testing.assert_allclose(hv, np.einsum("mij,mj->mi", model.hessian(x), v), rtol=1e-10, atol=1e-10)
        op = HessianOperator(model, x[0])
        assert op.tangent_dim == model.dim - 1
        np.testing.assert_allclose(np.linalg.eigvalsh(op.dense()), hessian_spectrum(model, x[:1])[0],
                                   atol=1e-9)


def test_pspin_bottom_eigenpairs_at_a_point_on_the_sphere():
    model = SphericalPSpin(n=40, p=3, seed=3)
    x = model.manifold.random(1, seed=1)[0]
    exact = hessian_spectrum(model, x[None])[0]
    res = extreme_eigenpairs(model, x, k=3, which="smallest")
    np.testing.assert_allclose(res.values, exact[:3], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(res.vectors.T @ x, 0.0, atol=1e-10)  # tangent


def test_network_top_eigenvalues_and_finite_difference_products():
    rng = np.random.default_rng(0)
    net = TwoLayerMLP(rng.standard_normal((30, 4)), rng.integers(0, 3, 30), hidden=5)
    theta = net.init_params(1, seed=1)[0]
    exact = np.linalg.eigvalsh(net.hessian(theta[None])[0])
    res = extreme_eigenpairs(net, theta, k=4)
    np.testing.assert_allclose(res.values, exact[::-1][:4], rtol=1e-8)
    fd = extreme_eigenpairs(net, theta, k=4, method="finite_difference")
    np.testing.assert_allclose(fd.values, exact[::-1][:4], rtol=1e-5)


def test_landscape_without_products_names_the_missing_method():
    a = _spd(6, 5)
    flat = GradientOnly(a)
    with pytest.raises(NotImplementedError, match=r"GradientOnly has no Hessian-vector product.*hvp\(x, v\)"):
        hessian_vector_product(flat, np.zeros((1, 6)), np.ones(6))
    fd = hessian_vector_product(flat, np.zeros((1, 6)), np.ones(6), method="finite_difference")
    np.testing.assert_allclose(fd[0], a @ np.ones(6), rtol=1e-8)
    # a landscape with only a dense hessian contracts it exactly
    mb = MullerBrown()
    x = np.array([[-0.8, 0.6]])
    np.testing.assert_allclose(hessian_vector_product(mb, x, [1.0, 2.0])[0], mb.hessian(x)[0] @ [1.0, 2.0])


def test_bad_input():
    q = Quadratic(np.eye(3))
    with pytest.raises(ValueError, match="method must be one of"):
        hessian_vector_product(q, np.zeros((1, 3)), np.ones(3), method="autodiff")
    with pytest.raises(ValueError, match="v must have shape"):
        hessian_vector_product(q, np.zeros((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="v contains NaN"):
        hessian_vector_product(q, np.zeros((1, 3)), [np.nan, 0, 0])
    with pytest.raises(ValueError, match="x contains NaN"):
        HessianOperator(q, [np.nan, 0, 0])
    with pytest.raises(ValueError, match="must lie on the sphere"):
        HessianOperator(SphericalPSpin(n=5, p=3), np.ones(5) * 2)
    with pytest.raises(ValueError, match="n_products must be an integer >= 6"):
        hutchpp_trace(q, np.zeros(3), n_products=3)
    with pytest.raises(ValueError, match="n_lanczos must be an integer in"):
        spectral_density(q, np.zeros(3), n_lanczos=4)
    with pytest.raises(ValueError, match="step is used only"):
        hessian_vector_product(q, np.zeros((1, 3)), np.ones(3), step=1e-4)


def test_riemannian_trace_and_density_on_the_sphere_match_the_dense_tangent_spectrum():
    model = SphericalPSpin(n=60, p=3, seed=5)
    x = model.manifold.random(1, seed=2)[0]
    exact = hessian_spectrum(model, x[None])[0]  # the N − 1 tangent eigenvalues
    op = HessianOperator(model, x)
    est = hutchpp_trace(op, n_products=45, seed=1)
    assert est.n_products == 45
    assert abs(est.value - exact.sum()) < 5 * est.stderr  # 5 SE
    dens = spectral_density(op, n_lanczos=59, n_vectors=4, seed=3)
    assert dens.dimension == 59
    # 59 Lanczos steps span the whole tangent space: the quadrature is exact for every probe,
    # so each probe's nodes are the eigenvalues themselves
    np.testing.assert_allclose(np.sort(dens.nodes[0]), exact, atol=1e-8)
    # the mean of u^T H² u over random unit u is (1/n) tr H²: 5 SE of the probe average
    m2, m2_se = dens.moment(lambda t: t**2)
    assert abs(m2 - np.mean(exact**2)) < 5 * m2_se + 1e-12


def test_slq_moment_ignores_the_padding_of_probes_that_stopped_early():
    # three distinct eigenvalues: every probe finds an invariant subspace after 3 of 6 steps,
    # and its unused nodes (weight 0) must not enter f: log(0) * 0 would make the log-det NaN
    lam = np.array([1.0, 1, 1, 2, 2, 2, 3, 3])
    sd = spectral_density(Quadratic(np.diag(lam)), np.ones(8), n_lanczos=6, n_vectors=4)
    assert np.all(sd.weights[:, 3:] == 0)
    with np.errstate(all="raise"):
        value, err = sd.moment(np.log)
    assert np.isfinite(value) and np.isfinite(err)
    assert abs(value - np.mean(np.log(lam))) < 5 * err + 1e-12


@pytest.mark.parametrize("k", [1, 5])  # Lanczos, and the dense path (k >= n - 1)
def test_extreme_eigenpairs_checks_v0_and_max_products_on_both_paths(k):
    q = Quadratic(np.diag(np.arange(1.0, 7.0)))
    x = np.ones(6)
    # a NaN start vector was accepted without a word on the dense path
    with pytest.raises(ValueError, match="v0 must be a finite vector of length 6"):
        extreme_eigenpairs(q, x, k=k, v0=[np.nan, 0, 0, 0, 0, 1])
    with pytest.raises(ValueError, match="v0 must be a finite vector of length 6"):
        extreme_eigenpairs(q, x, k=k, v0=np.ones(5))
    # max_products = 0 or -1 failed inside scipy ("maxiter must be positive"), 2.5 ran as 2
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="max_products must be an integer >= 1"):
            extreme_eigenpairs(q, x, k=k, max_products=bad)


def test_dense_checks_its_block_size():
    op = HessianOperator(Quadratic(np.diag([1.0, 2.0, 3.0])), np.ones(3))
    np.testing.assert_allclose(op.dense(block=2), np.diag([1.0, 2.0, 3.0]), atol=1e-12)
    # 0 raised "range() arg 3 must not be zero", -1 "need at least one array", 1.5 ran as 1
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="block must be an integer >= 1"):
            op.dense(block=bad)


def test_density_grid_must_be_a_finite_vector():
    sd = spectral_density(Quadratic(np.diag([1.0, 2.0, 3.0])), np.ones(3), n_lanczos=3, n_vectors=2)
    with pytest.raises(ValueError, match="grid must be a non-empty vector of finite"):  # was NaN there
        sd.density([0.0, np.nan], 0.1)
    with pytest.raises(ValueError, match="grid must be a non-empty vector of finite"):  # einsum error
        sd.density(np.zeros((2, 2)), 0.1)


def test_hvp_direction_shape_is_the_documented_one():
    # v of shape (M, 1), (1,) or a scalar was broadcast to the direction (c, c, …, c) of every
    # point: a product along an unintended direction, without an error
    q = Quadratic(np.diag([1.0, 2.0, 3.0]))
    x = np.zeros((2, 3))
    for v in (np.ones((2, 1)), np.ones(1), 1.0):
        with pytest.raises(ValueError, match=r"v must have shape \(2, 3\) or \(3,\)"):
            hessian_vector_product(q, x, v)
    for v in (np.ones(3), np.ones((1, 3))):  # one direction shared by all points
        np.testing.assert_allclose(hessian_vector_product(q, x, v), [[1.0, 2.0, 3.0]] * 2)
