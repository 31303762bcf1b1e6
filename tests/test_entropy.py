"""Entropy estimators on Gaussians and uniform laws, relative entropy on the sphere, free energy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from scipy.spatial import cKDTree

from sgdsde.measure.entropy import (
    free_energy,
    gaussian_entropy,
    histogram_entropy,
    knn_entropy,
    knn_entropy_gaussian_bias,
    log_unit_ball_volume,
    relative_entropy_to_uniform_sphere,
)

DIMS = [1, 2, 5, 10, 20]


def normal_entropy(cov):
    cov = np.atleast_2d(cov)
    return 0.5 * (cov.shape[0] * np.log(2 * np.pi * np.e) + np.linalg.slogdet(cov)[1])


def correlated_covariance(dim, rng):
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q @ np.diag(np.geomspace(0.1, 4.0, dim)) @ q.T


def test_unit_ball_volumes():
    assert np.exp(log_unit_ball_volume(1)) == pytest.approx(2.0)
    assert np.exp(log_unit_ball_volume(2)) == pytest.approx(np.pi)
    assert np.exp(log_unit_ball_volume(3)) == pytest.approx(4 * np.pi / 3)


# ------------------------------------------------------------------------------ Gaussian
@pytest.mark.parametrize("dim", DIMS)
def test_gaussian_entropy_is_unbiased_on_gaussians(dim):
    rng = np.random.default_rng(dim)
    cov = correlated_covariance(dim, rng)
    n, reps = 3 * dim + 10, 40  # small n: the uncorrected bias is large there
    chol = np.linalg.cholesky(cov)
    clouds = [rng.standard_normal((n, dim)) @ chol.T + 1.0 for _ in range(reps)]
    corrected = np.array([gaussian_entropy(c) for c in clouds])
    raw = np.array([gaussian_entropy(c, bias_correction=False) for c in clouds])
    exact = normal_entropy(cov)
    # Exact sd of one corrected estimate: ½ sqrt(Σ ψ'((n − i)/2)); 5 SE of the mean of reps.
    sd = 0.5 * np.sqrt(np.sum(special.polygamma(1, 0.5 * (n - np.arange(1, dim + 1)))))
    assert corrected.std(ddof=1) == pytest.approx(sd, rel=0.35)  # sd of an sd over 40: ~11%
    assert corrected.mean() == pytest.approx(exact, abs=5 * sd / np.sqrt(reps))
    # Without the correction the mean is off by the Wishart bias ½[d ln(2/(n−1)) + Σ ψ((n−i)/2)].
    bias = 0.5 * (dim * np.log(2 / (n - 1)) + np.sum(special.digamma(0.5 * (n - np.arange(1, dim + 1)))))
    assert raw.mean() - exact == pytest.approx(bias, abs=5 * sd / np.sqrt(reps))


def test_gaussian_entropy_bounds_a_uniform_from_above():
    rng = np.random.default_rng(7)
    n = 20_000
    # Uniform on [0, 1]²: H = 0, the Gaussian of covariance I/12 has H = ln(2πe/12).
    h = gaussian_entropy(rng.uniform(size=(n, 2)))
    # sd of ½ ln det Σ̂ for non-Gaussian data: ≈ ½ sqrt(Σ Var(x_i²)/σ⁴ / n) = ½ sqrt(2 · 0.8 / n)
    # (kurtosis 9/5 of the uniform); 5 of them.
    assert h == pytest.approx(np.log(2 * np.pi * np.e / 12), abs=5 * 0.5 * np.sqrt(1.6 / n))
    assert h > 0


# ----------------------------------------------------------------------------- histogram
def binned_entropy(edges_1d, dim):
    """Exact entropy of the standard normal made piecewise constant on a product grid, and its
    per-sample sd of −ln p̂: the target and the noise of the histogram estimator."""
    prob = np.diff(stats.norm.cdf(edges_1d))
    width = np.diff(edges_1d)
    logs = np.log(prob / width)
    h1 = -np.sum(prob * logs)
    var1 = np.sum(prob * logs**2) - h1**2
    return dim * h1, np.sqrt(dim * var1)


@pytest.mark.parametrize("dim", [1, 2])
def test_histogram_entropy_on_gaussians(dim):
    rng = np.random.default_rng(20 + dim)
    edges = np.linspace(-6.5, 6.5, 131 if dim == 1 else 53)
    n, reps = 20_000, 10
    target, sd = binned_entropy(edges, dim)
    # Stated bias: the discretisation error of the cells, exact here; ≈ dim Δ²/24 (J = 1).
    assert target - normal_entropy(np.eye(dim)) == pytest.approx(dim * np.diff(edges)[0] ** 2 / 24, rel=0.05)
    est = [histogram_entropy(rng.standard_normal((n, dim)), bins=(edges,) * dim if dim > 1 else edges)
           for _ in range(reps)]
    # Miller–Madow leaves an O(1/n²) bias; 5 SE of the mean, SE = sd(−ln p̂)/sqrt(n reps).
    assert np.mean(est) == pytest.approx(target, abs=5 * sd / np.sqrt(n * reps))


def test_miller_madow_removes_the_plug_in_bias():
    rng = np.random.default_rng(30)
    edges = np.linspace(0, 1, 201)
    n, reps = 1000, 30  # 200 cells, 5 samples per cell: plug-in bias ≈ −(m − 1)/(2n) ≈ −0.1
    clouds = [rng.uniform(size=n) for _ in range(reps)]
    mm = np.array([histogram_entropy(c, bins=edges) for c in clouds])
    plug_in = np.array([histogram_entropy(c, bins=edges, miller_madow=False) for c in clouds])
    # The uniform law is constant on the cells: no discretisation bias, target H = 0.
    # Miller–Madow removes the 1/n term; the next term of the plug-in bias is
    # −(Σ_j 1/p_j − 1)/(12 n²) = −(m² − 1)/(12 n²) ≈ −0.003 here (Paninski 2003, §3).
    residual = (200**2 - 1) / (12 * 1000**2)
    se = mm.std(ddof=1) / np.sqrt(reps)
    assert abs(mm.mean()) < residual + 5 * se
    assert plug_in.mean() < -0.05 - 5 * se


def test_histogram_entropy_of_a_uniform_cube_in_three_dimensions():
    rng = np.random.default_rng(31)
    n = 50_000
    edges = (np.linspace(0, 1, 9), np.linspace(0, 2, 9), np.linspace(0, 0.5, 9))
    x = rng.uniform(0, [1, 2, 0.5], size=(n, 3))
    # Uniform on a box of volume 1: H = 0; constant on the cells, so no discretisation bias.
    # SE of the multinomial plug-in at a uniform law is O(m/n) (the 1/sqrt(n) term vanishes):
    # the Miller–Madow residual (m² − 1)/(12 n²) ≈ 1e-4 and 5 × (m − 1)/(2n) ≈ 0.025 bound it.
    assert histogram_entropy(x, bins=edges) == pytest.approx(0.0, abs=5 * (512 - 1) / (2 * n))


# ----------------------------------------------------------------------------------- k-NN
@pytest.mark.parametrize("dim", [1, 2])
def test_knn_entropy_on_low_dimensional_gaussians(dim):
    rng = np.random.default_rng(40 + dim)
    cov = correlated_covariance(dim, rng)
    chol = np.linalg.cholesky(cov)
    reps = 10
    est = [knn_entropy(rng.standard_normal((4000, dim)) @ chol.T, k=3) for _ in range(reps)]
    # In d <= 2 the bias at n = 4000 is below the noise: 5 SE, SE = sd / sqrt(reps).
    assert np.mean(est) == pytest.approx(normal_entropy(cov), abs=5 * np.std(est, ddof=1) / np.sqrt(reps))


@pytest.mark.parametrize("dim", [5, 10, 20])
def test_prewhitened_knn_entropy_carries_the_reported_gaussian_bias(dim):
    rng = np.random.default_rng(50 + dim)
    cov = correlated_covariance(dim, rng)
    chol = np.linalg.cholesky(cov)
    n, reps = 1000, 6
    est = [knn_entropy(rng.standard_normal((n, dim)) @ chol.T - 2.0, k=3, prewhiten=True)
           for _ in range(reps)]
    bias, bias_se = knn_entropy_gaussian_bias(n, dim, k=3, n_repeats=reps, seed=99)
    se = np.std(est, ddof=1) / np.sqrt(reps)
    # The stated bias is the one reported for a standard Gaussian of the same n and d;
    # 5 combined standard errors of the two independent means.
    assert np.mean(est) - normal_entropy(cov) == pytest.approx(bias, abs=5 * np.hypot(se, bias_se))
    if dim == 20:  # the documented upward bias in high dimension
        assert bias > 0.5


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dim=st.integers(1, 6), shift=st.floats(-5, 5))
def test_prewhitened_knn_entropy_is_affine_equivariant(seed, dim, shift):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((200, dim))
    a = rng.standard_normal((dim, dim)) + 2 * np.eye(dim)
    expected = knn_entropy(z, k=2, prewhiten=True) + np.linalg.slogdet(a)[1]
    assert knn_entropy(z @ a.T + shift, k=2, prewhiten=True) == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("dim", [1, 2])
def test_knn_entropy_on_a_uniform_cube(dim):
    rng = np.random.default_rng(60 + dim)
    n, k = 4000, 3
    x = rng.uniform(size=(n, dim))
    h = knn_entropy(x, k=k)
    # Exact target H = 0.  Interior points: unbiased, sd of one log-volume term ψ'(k)^½, so
    # SE = sqrt(ψ'(k)/n).  Stated bias: a point whose neighbour ball crosses a face keeps at
    # least 2^−d of it inside, so the bias is at most d ln 2 times the fraction of such points.
    r = cKDTree(x).query(x, k=[k + 1])[0][:, 0]
    near_face = np.mean(np.any((x < r[:, None]) | (x > 1 - r[:, None]), axis=1))
    se = np.sqrt(special.polygamma(1, k) / n)
    assert -5 * se < h < dim * np.log(2) * near_face + 5 * se


# -------------------------------------------------------------------------- on the sphere
def test_relative_entropy_of_uniform_sphere_cloud_is_zero():
    rng = np.random.default_rng(70)
    reps, n, k = 8, 3000, 3
    radius = np.sqrt(3)
    est = []
    for _ in range(reps):
        g = rng.standard_normal((n, 3))
        cloud = radius * g / np.linalg.norm(g, axis=1, keepdims=True)
        est.append(relative_entropy_to_uniform_sphere(cloud, k=k))
    # A chordal cap on S² has area exactly π r²: the estimator is unbiased for the uniform law.
    assert np.mean(est) == pytest.approx(0.0, abs=5 * np.sqrt(special.polygamma(1, k) / (n * reps)))


def sample_von_mises_fisher_s2(kappa, n, rng):
    """Exact sampler on S² with mean direction e_z (Wood 1994; w by inverse CDF)."""
    u = rng.uniform(size=n)
    w = 1 + np.log(u + (1 - u) * np.exp(-2 * kappa)) / kappa
    phi = rng.uniform(0, 2 * np.pi, size=n)
    s = np.sqrt(np.clip(1 - w * w, 0, None))
    return np.stack([s * np.cos(phi), s * np.sin(phi), w], axis=1)


@pytest.mark.parametrize("kappa", [1.0, 5.0])
def test_relative_entropy_of_von_mises_fisher(kappa):
    rng = np.random.default_rng(80)
    reps, n = 8, 3000
    est = [relative_entropy_to_uniform_sphere(2.0 * sample_von_mises_fisher_s2(kappa, n, rng))
           for _ in range(reps)]
    # KL(vMF_κ ‖ uniform) on S² = κ coth κ − 1 − ln(sinh κ / κ).
    exact = kappa / np.tanh(kappa) - 1 - np.log(np.sinh(kappa) / kappa)
    assert np.mean(est) == pytest.approx(exact, abs=5 * np.std(est, ddof=1) / np.sqrt(reps))


# ---------------------------------------------------------------------------- free energy
def test_free_energy_of_a_harmonic_cloud_is_minus_t_ln_z():
    rng = np.random.default_rng(90)
    stiffness, temperature, n, dim = 3.0, 0.4, 5000, 2
    x = rng.standard_normal((n, dim)) * np.sqrt(temperature / stiffness)
    energy = 0.5 * stiffness * np.sum(x**2, axis=1)
    f = free_energy(energy.mean(), gaussian_entropy(x), temperature)
    exact = -temperature * dim * 0.5 * np.log(2 * np.pi * temperature / stiffness)
    # E[U] has sd T sqrt(d/2)/sqrt(n); T·S has sd T sqrt(d/(2n)); 5 of the sum.
    assert f == pytest.approx(exact, abs=5 * 2 * temperature * np.sqrt(dim / (2 * n)))
    assert np.allclose(free_energy([1.0, 2.0], [0.5, 0.5], 2.0), [0.0, 1.0])


# ------------------------------------------------------------------------------ bad input
def test_bad_input_is_reported_clearly():
    rng = np.random.default_rng(100)
    x = rng.standard_normal((20, 3))
    with pytest.raises(ValueError, match=r"at least k \+ 1 = 4"):
        knn_entropy(x[:3], k=3)
    with pytest.raises(ValueError, match="duplicate"):
        knn_entropy(np.vstack([x, x[:2]]), k=1)
    with pytest.raises(ValueError, match="duplicate"):
        knn_entropy(np.vstack([x, x[:1]]), k=3)
    with pytest.raises(ValueError, match="n > d"):
        gaussian_entropy(x[:3])
    with pytest.raises(ValueError, match="singular"):
        gaussian_entropy(np.vstack([x[:, :2], x[:, :2]]) @ np.ones((2, 3)))
    with pytest.raises(ValueError, match="outside the edges"):
        histogram_entropy(x[:, 0], bins=np.linspace(-0.5, 0.5, 5))
    with pytest.raises(ValueError, match="dim 3 but 2"):
        histogram_entropy(x, bins=(np.linspace(-5, 5, 5),) * 2)
    with pytest.raises(ValueError, match="not on the sphere"):
        relative_entropy_to_uniform_sphere(x)
    with pytest.raises(ValueError, match="d >= 2"):
        relative_entropy_to_uniform_sphere(np.ones((5, 1)))
    with pytest.raises(ValueError, match="temperature"):
        free_energy(1.0, 1.0, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        knn_entropy(np.array([[0.0], [np.nan], [1.0]]), k=1)
    with pytest.raises(TypeError, match="real array"):
        knn_entropy(np.array(["a", "b"]))


# -------------------------------------------------------------------------------- example
def test_entropy_vs_temperature_example_smoke(tmp_path):
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "examples" / "entropy_vs_temperature.py"
    module = runpy.run_path(str(script))
    figure = module["main"](["--smoke", "--out", str(tmp_path)])
    assert figure.exists() and figure.stat().st_size > 10_000
    # The quadrature reference obeys F = −T ln Z and S = ln Z + E[U]/T at T = 0.3.
    u, s, f = module["exact_thermodynamics"](0.3)
    assert f == pytest.approx(u - 0.3 * s)
    z = integrate_partition_function(0.3)
    assert f == pytest.approx(-0.3 * np.log(z), rel=1e-8)


def integrate_partition_function(temperature):
    """Z of (x² − 1)² + y²/2 by 2-D quadrature over a box holding all the weight."""
    from scipy import integrate

    z, _ = integrate.dblquad(lambda y, x: np.exp(-((x * x - 1) ** 2 + 0.5 * y * y) / temperature),
                             -3, 3, -8, 8, epsabs=0, epsrel=1e-11)
    return z


@pytest.mark.parametrize("n_samples", [0, -3, 2.5, True])
def test_knn_entropy_gaussian_bias_names_a_bad_sample_size(n_samples):
    # Before: "samples needs at least 1 samples" (0), "negative dimensions are not allowed"
    # (-3) and a raw TypeError from NumPy (2.5): none named n_samples
    with pytest.raises(ValueError, match="n_samples must be an integer >= 2"):
        knn_entropy_gaussian_bias(n_samples, 2, n_repeats=2)


@pytest.mark.parametrize("args", [(np.nan, 1.0, 1.0), (1.0, np.nan, 1.0), ([1.0, np.inf], 1.0, 1.0),
                                  (1.0, [0.5, -np.inf], 1.0)])
def test_free_energy_of_non_finite_parts_raises(args):
    # Before: temperature was checked, but a NaN energy or entropy came back as F = nan
    with pytest.raises(ValueError, match="(mean_energy|entropy) must be finite"):
        free_energy(*args)


def test_estimator_switches_must_be_bools():
    # Before: any truthy value switched a correction on, so gaussian_entropy(x, 5) (a k given
    # to the wrong estimator) silently applied the bias correction
    x = np.random.default_rng(0).normal(size=(200, 2))
    with pytest.raises(TypeError, match="bias_correction must be True or False"):
        gaussian_entropy(x, 5)
    with pytest.raises(TypeError, match="miller_madow must be True or False"):
        histogram_entropy(x, 8, "no")
    with pytest.raises(TypeError, match="prewhiten must be True or False"):
        knn_entropy(x, 3, "False")
    assert gaussian_entropy(x, np.bool_(False)) == gaussian_entropy(x, False)
