"""Spherical p-spin landscape: derivatives, Euler relation, covariance over couplings, ABC <-> CK,
mixtures, dtypes, chunking, memory, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import null_space

from sgdsde.landscapes.pspin import MixedSphericalPSpin, SphericalPSpin, memory_needed

MODELS = {
    "p2_abc": lambda: SphericalPSpin(9, 2, seed=3),
    "p3_abc": lambda: SphericalPSpin(9, 3, seed=4),
    "p4_abc": lambda: SphericalPSpin(7, 4, seed=5),
    "p3_ck": lambda: SphericalPSpin(9, 3, "ck", seed=6),
    "mixed_abc": lambda: MixedSphericalPSpin(8, {2: 0.5, 3: 1.0, 4: 0.3}, seed=7),
    "mixed_ck": lambda: MixedSphericalPSpin(8, {2: 0.7, 3: 1.2}, "ck", seed=8),
}


@pytest.fixture(params=sorted(MODELS))
def model(request):
    return MODELS[request.param]()


def _points(model, m=5, seed=11):
    return model.manifold.random(m, model.dim, seed=seed)


def _central_difference(f, x, eps):
    """Fourth-order central difference of ``f`` along each coordinate: (M, ..., d).

    Truncation error eps⁴ f⁽⁵⁾/30 vanishes for p <= 4 (H is a polynomial of degree p, so the
    fourth-order stencil is exact up to degree 4); round-off is about ulp(f)/eps ~ 1e-12 at
    eps = 1e-3, hence the 1e-9 tolerances.
    """
    cols = []
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = eps
        cols.append((8 * (f(x + e) - f(x - e)) - (f(x + 2 * e) - f(x - 2 * e))) / (12 * eps))
    return np.stack(cols, axis=-1)


def _tangent(x, seed):
    """Random unit tangent vectors at the points x of the sphere."""
    v = np.random.default_rng(seed).standard_normal(x.shape)
    v -= (np.sum(v * x, axis=1) / np.sum(x * x, axis=1))[:, None] * x
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _geodesic(x, v, t):
    """The great circle through x with unit initial velocity v, at arc length t."""
    r = np.linalg.norm(x, axis=1, keepdims=True)
    return np.cos(t / r) * x + r * np.sin(t / r) * v


# --------------------------------------------------------------------------- derivatives
def test_gradient_matches_finite_differences(model):
    x = _points(model)
    fd = _central_difference(model.energy, x, 1e-3)
    np.testing.assert_allclose(model.grad(x), fd, rtol=1e-9, atol=1e-9)


def test_hessian_matches_finite_differences_and_is_symmetric(model):
    x = _points(model, m=3)
    hess = model.hessian(x)
    np.testing.assert_allclose(hess, np.swapaxes(hess, 1, 2), rtol=0, atol=1e-12)
    fd = _central_difference(model.grad, x, 1e-3)  # (M, d, d): row i, column j = d grad_i / dx_j
    np.testing.assert_allclose(hess, fd, rtol=1e-9, atol=1e-9)


def test_energy_and_grad_agree_with_separate_calls(model):
    x = _points(model)
    e, g = model.energy_and_grad(x)
    np.testing.assert_array_equal(e, model.energy(x))
    np.testing.assert_array_equal(g, model.grad(x))
    np.testing.assert_allclose(model.energy_per_spin(x), e / model.n, rtol=1e-15)


def test_riemannian_gradient_is_derivative_along_geodesics(model):
    x = _points(model)
    v = _tangent(x, seed=1)
    rg = model.riemannian_gradient(x)
    np.testing.assert_allclose(np.sum(rg * x, axis=1), 0, atol=1e-12)  # tangent
    h = 1e-3  # fourth-order stencil along the curve; error ~ h⁴ |H⁽⁵⁾| + ulp/h ~ 1e-11
    f = [model.energy(_geodesic(x, v, t * h)) for t in (-2, -1, 1, 2)]
    slope = (8 * (f[2] - f[1]) - (f[3] - f[0])) / (12 * h)
    np.testing.assert_allclose(np.sum(rg * v, axis=1), slope, rtol=1e-7, atol=1e-8)


def test_riemannian_hessian_is_second_derivative_along_geodesics(model):
    x = _points(model, m=4)
    v = _tangent(x, seed=2)
    rh = model.riemannian_hessian(x)
    np.testing.assert_allclose(rh, np.swapaxes(rh, 1, 2), atol=1e-12)
    np.testing.assert_allclose(np.einsum("mij,mj->mi", rh, x), 0, atol=1e-10)  # σ is a null vector
    h = 1e-3  # d²/dt² H(γ(t)) = vᵀ ∇²_sp H v for a unit-speed geodesic; stencil error ~ h² |H⁽⁴⁾|/90
    f = [model.energy(_geodesic(x, v, t * h)) for t in (-2, -1, 0, 1, 2)]
    curvature = (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h * h)
    np.testing.assert_allclose(np.einsum("mi,mij,mj->m", v, rh, v), curvature, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("p", [3, 4])
def test_riemannian_hessian_spectrum_is_a_shifted_semicircle(p):
    """At any point of the sphere the tangent block of ∇²_sp H is GOE(radius 2 sqrt(p(p−1))) − p u.

    For ABC, Cov(∂_i∂_j H, ∂_k∂_l H) = (p(p−1)/N)(δ_ik δ_jl + δ_il δ_jk) along tangent directions,
    independent of H, so with n = N − 1 tangent directions and v = p(p−1)/N: the mean tangent
    eigenvalue is −p u with SD sqrt(2 v n)/n, and (1/n) tr A² of the centred block A has mean
    (n + 1) v = p(p−1) and SD ≈ 2v.  Tolerances 5 SD.
    """
    n = 120 if p == 3 else 32
    model = SphericalPSpin(n, p, seed=p)
    x = _points(model, m=3, seed=7)
    u = model.energy_per_spin(x)
    v = p * (p - 1) / n
    for rh, point, energy in zip(model.riemannian_hessian(x), x, u, strict=True):
        q = null_space(point[None, :])  # (N, N−1) orthonormal tangent basis
        eig = np.linalg.eigvalsh(q.T @ rh @ q)
        assert abs(eig.mean() + p * energy) < 5 * math.sqrt(2 * v * (n - 1)) / (n - 1)
        centred = q.T @ rh @ q + p * energy * np.eye(n - 1)
        second = np.trace(centred @ centred) / (n - 1)
        assert abs(second - p * (p - 1)) < 5 * 2 * v, (second, p * (p - 1))


@settings(max_examples=25)
@given(p=st.integers(2, 5), n_extra=st.integers(0, 4), seed=st.integers(0, 2**32),
       ck=st.booleans())
def test_euler_relation(p, n_extra, seed, ck):
    """σ·∇H = p H for a homogeneous polynomial of degree p, at any point (on the sphere or not)."""
    model = SphericalPSpin(p + n_extra, p, "ck" if ck else "abc", seed=seed)
    x = np.random.default_rng(seed).standard_normal((3, model.dim)) * 1.3
    e, g = model.energy_and_grad(x)
    np.testing.assert_allclose(np.sum(x * g, axis=1), p * e, rtol=1e-12, atol=1e-12 * np.abs(e).max())


def test_mixture_is_sum_of_pure_models_with_the_same_seed():
    coefficients = {2: 0.4, 3: 1.1, 4: 0.6}
    mixed = MixedSphericalPSpin(7, coefficients, seed=21)
    x = _points(mixed)
    pure = {p: SphericalPSpin(7, p, seed=21) for p in coefficients}
    for p, c in coefficients.items():
        np.testing.assert_allclose(mixed.couplings[p], c * pure[p].couplings[p], rtol=1e-15)
    np.testing.assert_allclose(mixed.energy(x), sum(c * pure[p].energy(x) for p, c in coefficients.items()),
                               rtol=1e-13)
    # Euler relation degree by degree: σ·∇H = Σ_p p c_p H_p
    radial = np.sum(x * mixed.grad(x), axis=1)
    np.testing.assert_allclose(radial, sum(p * c * pure[p].energy(x) for p, c in coefficients.items()),
                               rtol=1e-12)
    assert mixed.p == 4 and dict(mixed.coefficients) == coefficients


def test_dense_couplings_are_symmetric_tensors():
    """Exactly symmetric: every ordering of a sorted tuple receives the same unpacked number."""
    for model in (SphericalPSpin(6, 3, seed=1), SphericalPSpin(5, 4, "ck", seed=2)):
        k = model.dense_couplings()
        for axes in [(1, 0, 2), (0, 2, 1)] + ([(3, 1, 2, 0)] if model.p == 4 else []):
            full = axes + tuple(range(len(axes), model.p))
            np.testing.assert_array_equal(k, k.transpose(full))


# --------------------------------------------------------------------------- laws over coupling draws
def _elementary_symmetric(u, p):
    """e_p(u_1..u_N) by the recursion e_k(u_1..u_j) = e_k(u_1..u_{j−1}) + u_j e_{k−1}(u_1..u_{j−1})."""
    e = np.zeros(p + 1)
    e[0] = 1.0
    for value in u:
        e[1:] = e[1:] + value * e[:-1]
    return e[p]


N_DRAWS = 10_000  # 5 SE of a variance estimate is 5 sqrt(2/N_DRAWS) = 7 % relative


@pytest.fixture(scope="module")
def coupling_draws():
    """Energies at two fixed points (overlap 0.6) and the point σ·σ products, over N_DRAWS seeds."""
    n, p = 6, 3
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n)
    b = rng.standard_normal(n)
    a *= math.sqrt(n) / np.linalg.norm(a)
    b -= (a @ b / n) * a
    b *= math.sqrt(n) / np.linalg.norm(b)
    s2 = 0.6 * a + math.sqrt(1 - 0.6**2) * b  # overlap exactly 0.6 with a
    pts = np.stack([a, s2])
    abc = np.array([SphericalPSpin(n, p, seed=s).energy(pts) for s in range(N_DRAWS)])
    ck = np.array([SphericalPSpin(n, p, "ck", seed=s).energy(pts) for s in range(N_DRAWS)])
    return {"n": n, "p": p, "points": pts, "abc": abc, "ck": ck}


def _check_second_moment(prod, var_x, var_y, cov):
    """E[XY] of zero-mean jointly Gaussian X, Y within 5 standard errors.

    Var(XY) = Var X Var Y + Cov(X, Y)², so SE = sqrt((Var X Var Y + Cov²)/n).
    """
    se = math.sqrt((var_x * var_y + cov**2) / prod.size)
    assert abs(prod.mean() - cov) < 5 * se, (prod.mean(), cov, se)


def test_abc_covariance_is_n_xi_exactly(coupling_draws):
    """E[H(σ)H(σ')] = N q^p at finite N in the ABC normalisation."""
    d = coupling_draws
    n, p = d["n"], d["p"]
    q = d["points"][0] @ d["points"][1] / n
    h = d["abc"]
    for i, j, target in [(0, 0, n), (1, 1, n), (0, 1, n * q**p)]:
        _check_second_moment(h[:, i] * h[:, j], n, n, target)


def test_ck_covariance_is_exact_elementary_symmetric_polynomial(coupling_draws):
    """E[H(σ)H(σ')] = (p!/(2N^{p−1})) e_p(σ∘σ') exactly in CK (≈ N q^p / 2 at large N)."""
    d = coupling_draws
    n, p = d["n"], d["p"]
    pts, h = d["points"], d["ck"]
    cov = {(i, j): math.factorial(p) / (2 * n ** (p - 1)) * _elementary_symmetric(pts[i] * pts[j], p)
           for i in range(2) for j in range(2)}
    for (i, j), target in cov.items():
        _check_second_moment(h[:, i] * h[:, j], cov[i, i], cov[j, j], target)


def test_abc_to_ck_conversion(coupling_draws):
    """Same seed: H_CK = −(H_ABC − D)/√2 with D the repeated-index part of H_ABC.

    D is Gaussian with Var D = N^{1−p} (N^p − p! e_p(σ²)) (multisets with a repeated index),
    so the variance of H_CK + H_ABC/√2 over draws is half that (SE of a variance of a
    normal sample: v sqrt(2/n)); without the zeroed diagonal or with a wrong factor it fails.
    """
    d = coupling_draws
    n, p = d["n"], d["p"]
    for i in range(2):
        sigma = d["points"][i]
        resid = d["ck"][:, i] + d["abc"][:, i] / math.sqrt(2)
        target = (n**p - math.factorial(p) * _elementary_symmetric(sigma**2, p)) / (2 * n ** (p - 1))
        assert abs(resid.var() - target) < 5 * target * math.sqrt(2 / resid.size), (resid.var(), target)
        assert abs(resid.mean()) < 5 * math.sqrt(target / resid.size)


def test_covariance_functions():
    m = MixedSphericalPSpin(5, {2: 0.5, 3: 2.0})
    q = np.linspace(-1, 1, 7)
    np.testing.assert_allclose(m.xi(q), 0.25 * q**2 + 4 * q**3, rtol=1e-15)
    np.testing.assert_allclose(m.xi_prime(q), 0.5 * q + 12 * q**2, rtol=1e-15)
    np.testing.assert_allclose(m.xi_second(q), 0.5 + 24 * q, rtol=1e-15)
    ck = SphericalPSpin(5, 3, "ck")
    np.testing.assert_allclose(ck.xi(q), q**3 / 2, rtol=1e-15)


# --------------------------------------------------------------------------- dtypes, chunks, observables
def test_float32_model_keeps_float32_and_matches_float64():
    m64 = SphericalPSpin(40, 3, seed=9)
    m32 = SphericalPSpin(40, 3, seed=9, dtype=np.float32)
    x = m64.manifold.random(6, 40, seed=1)
    x32 = x.astype(np.float32)
    assert m32.couplings[3].dtype == np.float32 and m32.memory_bytes == math.comb(42, 3) * 4
    np.testing.assert_array_equal(m32.couplings[3], m64.couplings[3].astype(np.float32))  # same sample
    for method in ("energy", "grad", "riemannian_gradient", "hessian"):
        out32 = getattr(m32, method)(x32)
        assert out32.dtype == np.float32, method
        ref = getattr(m64, method)(x)
        # float32 sums of about N^{p-1} = 1600 terms: relative error ~ sqrt(1600) * 6e-8 ~ 3e-6
        np.testing.assert_allclose(out32, ref, rtol=0, atol=3e-5 * np.abs(ref).max(), err_msg=method)
    assert m64.energy(x32).dtype == np.float32  # the output follows the input's dtype


def test_chunked_gradient_equals_single_chunk():
    whole = SphericalPSpin(30, 3, seed=2, path="dense")
    tiny = SphericalPSpin(30, 3, seed=2, path="dense", workspace_bytes=30**2 * 8 * 3)  # 3 particles per chunk
    x = whole.manifold.random(10, 30, seed=3)
    np.testing.assert_allclose(tiny.grad(x), whole.grad(x), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(tiny.energy(x), whole.energy(x), rtol=1e-13)


def test_seed_determines_couplings():
    a, b, c = (SphericalPSpin(8, 3, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.couplings[3], b.couplings[3])
    assert not np.array_equal(a.couplings[3], c.couplings[3])


def test_overlap():
    model = SphericalPSpin(12, 3)
    x = _points(model, m=4)
    np.testing.assert_allclose(model.overlap(x, x), 1.0, rtol=1e-14)
    np.testing.assert_allclose(model.overlap(x, x[0]), x @ x[0] / 12, rtol=1e-14)
    np.testing.assert_allclose(model.overlap(x, -x), -1.0, rtol=1e-14)


def test_landscape_contract():
    model = SphericalPSpin(16, 3, seed=1)
    assert model.dim == model.n == 16 and model.p == 3 and model.normalization == "abc"
    assert model.fused_kind is None and model.is_conservative and model.has_hessian
    assert model.manifold.radius == pytest.approx(4.0, rel=1e-15)
    assert model.memory_bytes == math.comb(18, 3) * 8  # sorted tuples i <= j <= k
    assert repr(model) == "SphericalPSpin(n=16, p=3, normalization='abc', seed=1, dtype=float64)"


# --------------------------------------------------------------------------- memory
def test_n2048_p3_fits_a_24_gib_machine():
    """The issue's size: C(2050, 3) entries are 5.34 GiB in float32; peak incl. workspace < 24 GiB.

    Each packed degree also holds its row index: C(N + p − 2, p − 1) rows of p − 1 int32 and
    one int64 offset.
    """
    rows = math.comb(2049, 2) * (2 * 4 + 8)
    for dtype in (np.float32, np.float64):
        need = SphericalPSpin.memory_needed(2048, 3, dtype)
        assert need["couplings"] == math.comb(2050, 3) * np.dtype(dtype).itemsize + rows
        assert need["dense"] == 0  # auto never builds a 32 GiB dense tensor
    assert SphericalPSpin.memory_needed(2048, 3, np.float32)["peak"] < 6 * 2**30
    assert SphericalPSpin.memory_needed(1000, 3, np.float32, path="dense")["dense"] == 4e9
    mixed = MixedSphericalPSpin.memory_needed(100, {2: 1.0, 3: 1.0}, path="packed")["couplings"]
    assert mixed == (math.comb(101, 2) + math.comb(102, 3)) * 8 + 100 * (4 + 8) + math.comb(101, 2) * (8 + 8)
    assert memory_needed(10, [3, 3]) == memory_needed(10, [3])  # a degree counts once


def test_too_large_model_is_refused_with_the_figure():
    with pytest.raises(MemoryError, match=r"needs 1243\.\d\d GiB .*MemAvailable"):
        SphericalPSpin(10_000, 3)  # C(10002, 3) float64 entries: 1.24 TiB


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, error, match", [
    ({"n": 10, "p": 1}, ValueError, "p must be an integer >= 2"),
    ({"n": 10, "p": 2.0}, TypeError, "p must be an integer"),
    ({"n": 2, "p": 3, "normalization": "ck"}, ValueError, "n must be >= p = 3 in the CK"),
    ({"n": 1, "p": 3}, ValueError, "n must be an integer >= 2"),
    ({"n": 70_000, "p": 3}, ValueError, r"n\*\*\(p - 1\) must be below 2\*\*32"),
    ({"n": 10, "p": 3, "normalization": "sk"}, ValueError, "normalization must be one of"),
    ({"n": 10, "p": 3, "dtype": np.float16}, TypeError, "dtype must be float32 or float64"),
    ({"n": 10, "p": 3, "seed": -1}, ValueError, "seed must be an integer >= 0"),
    ({"n": 10, "p": 3, "workspace_bytes": 0}, ValueError, "workspace_bytes must be"),
    ({"n": 10, "p": 3, "path": "gemm"}, ValueError, "path must be one of"),
    ({"n": 10, "p": 3, "seed": 2**64}, ValueError, "seed must be below 2\\*\\*64"),
])
def test_bad_pure_model_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SphericalPSpin(**kwargs)


@pytest.mark.parametrize("coefficients, error, match", [
    ({3: 0.0}, ValueError, "c_3 must be a finite number > 0"),
    ({3: -1.0}, ValueError, "c_3 must be a finite number > 0"),
    ({3: math.nan}, ValueError, "c_3 must be a finite number > 0"),
    ({1: 1.0}, ValueError, "degree p in coefficients must be an integer >= 2"),
    ({}, TypeError, "non-empty mapping"),
])
def test_bad_mixture_arguments(coefficients, error, match):
    with pytest.raises(error, match=match):
        MixedSphericalPSpin(4, coefficients)
    with pytest.raises(ValueError, match="n must be >= p = 5 in the CK"):
        MixedSphericalPSpin(4, {2: 1.0, 5: 1.0}, "ck")


def test_points_off_the_sphere_are_refused():
    model = SphericalPSpin(10, 3)
    x = _points(model, m=2)
    for method in (model.riemannian_gradient, model.riemannian_hessian):
        with pytest.raises(ValueError, match=r"must lie on the sphere \|x\| = 3.16228"):
            method(1.01 * x)
    with pytest.raises(ValueError, match="y must lie on the sphere"):
        model.overlap(x, 2 * x)
    with pytest.raises(ValueError, match=r"shape \(n_particles, 10\)"):
        model.grad(x[:, :5])
