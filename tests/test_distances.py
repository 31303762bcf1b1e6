"""Distances between distributions: closed forms for Gaussians, properties, noise floors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from sgdsde.measure.distances import (
    histogram_density,
    kl_divergence_grid,
    kl_divergence_knn,
    permutation_noise_floor,
    sampling_noise_floor,
    total_variation_grid,
    wasserstein1,
    wasserstein1_grid,
)


def kl_gaussians(mean_p, cov_p, mean_q, cov_q):
    """Exact KL(N(mean_p, cov_p) ‖ N(mean_q, cov_q))."""
    d = len(mean_p)
    inv_q = np.linalg.inv(cov_q)
    dm = np.asarray(mean_q) - np.asarray(mean_p)
    return 0.5 * (np.trace(inv_q @ cov_p) + dm @ inv_q @ dm - d
                  + np.linalg.slogdet(cov_q)[1] - np.linalg.slogdet(cov_p)[1])


# ------------------------------------------------------------------------------ grid metrics
def test_kl_grid_matches_closed_form_1d():
    x = np.linspace(-12, 12, 4001)
    p = stats.norm.pdf(x, 0.0, 1.0)
    q = stats.norm.pdf(x, 0.7, 1.6)
    exact = kl_gaussians([0.0], [[1.0]], [0.7], [[2.56]])
    # Riemann sums of smooth, decaying integrands converge faster than any power of dx.
    assert kl_divergence_grid(p, q, x[1] - x[0]) == pytest.approx(exact, rel=1e-9)


def test_kl_grid_matches_closed_form_2d_anisotropic():
    g = np.linspace(-9, 9, 401)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
    cov_p, cov_q = np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([[1.5, -0.2], [-0.2, 0.8]])
    mean_q = np.array([0.4, -0.3])
    p = stats.multivariate_normal([0, 0], cov_p).pdf(pts).reshape(xx.shape)
    q = stats.multivariate_normal(mean_q, cov_q).pdf(pts).reshape(xx.shape)
    exact = kl_gaussians([0, 0], cov_p, mean_q, cov_q)
    assert kl_divergence_grid(p, q, (g[1] - g[0]) ** 2) == pytest.approx(exact, rel=1e-7)


def test_kl_grid_is_infinite_where_q_vanishes():
    assert kl_divergence_grid([1.0, 1.0], [1.0, 0.0], 1.0) == np.inf
    assert kl_divergence_grid([1.0, 0.0], [1.0, 1.0], 1.0) == pytest.approx(np.log(2))


def test_total_variation_grid_of_shifted_gaussians():
    x = np.linspace(-12, 12, 4001)
    shift, sigma = 0.8, 1.3
    tv = total_variation_grid(stats.norm.pdf(x, 0, sigma), stats.norm.pdf(x, shift, sigma), x[1] - x[0])
    # |p - q| has a kink at the midpoint, so the sum converges as dx^2 there only: 1e-6.
    assert tv == pytest.approx(2 * stats.norm.cdf(shift / (2 * sigma)) - 1, abs=1e-6)


def test_wasserstein1_grid_of_shift_and_scale():
    x = np.linspace(-15, 15, 6001)
    assert wasserstein1_grid(stats.norm.pdf(x), stats.norm.pdf(x, 0.5), x) == pytest.approx(0.5, abs=1e-6)
    # W1(N(0,1), N(0,s²)) = |s − 1| E|Z| = |s − 1| sqrt(2/π).
    w = wasserstein1_grid(stats.norm.pdf(x), stats.norm.pdf(x, 0, 2.0), x)
    assert w == pytest.approx(np.sqrt(2 / np.pi), abs=1e-5)


def test_wasserstein1_grid_accepts_a_nonuniform_grid():
    x = np.sort(np.concatenate([np.linspace(-15, 15, 3001), np.linspace(-2, 2, 3000)]))
    x = np.unique(x)
    assert wasserstein1_grid(stats.norm.pdf(x), stats.norm.pdf(x, 0.5), x) == pytest.approx(0.5, abs=1e-4)


densities = arrays(np.float64, st.integers(2, 30), elements=st.floats(0.0, 10.0)).filter(
    lambda a: a.sum() > 0)


@settings(max_examples=60, deadline=None)
@given(p=densities, data=st.data(), dv=st.floats(0.01, 10.0))
def test_grid_metric_properties(p, data, dv):
    q = data.draw(arrays(np.float64, p.shape, elements=st.floats(1e-3, 10.0)))
    kl = kl_divergence_grid(p, q, dv)
    tv = total_variation_grid(p, q, dv)
    assert kl >= -1e-12
    assert 0.0 <= tv <= 1.0 + 1e-12
    assert tv == pytest.approx(total_variation_grid(q, p, dv))
    assert tv <= np.sqrt(kl / 2) + 1e-9  # Pinsker's inequality
    assert kl_divergence_grid(p, p, dv) == pytest.approx(0.0, abs=1e-12)
    assert total_variation_grid(p, 3 * p, dv) == pytest.approx(0.0, abs=1e-12)  # normalised first


def test_kl_of_equal_densities_is_never_negative_after_rounding():
    # Normalising 1.59e-148 and 1.0 gives masses that differ in the last bit; the summed
    # p ln(p/q) terms then came to -1.3e-16 and Pinsker's sqrt(KL/2) was NaN.
    p = np.full(2, 1.5902173543559772e-148)
    kl = kl_divergence_grid(p, np.ones(2), 9.5625)
    assert 0.0 <= kl < 1e-15


# -------------------------------------------------------------------------------- histograms
def test_histogram_density_cells_are_unbiased_1d():
    rng = np.random.default_rng(0)
    n, edges = 20_000, np.linspace(-3, 3, 25)
    h = histogram_density(rng.standard_normal(n), edges)
    prob = np.diff(stats.norm.cdf(edges))
    width = np.diff(edges)
    se = np.sqrt(prob * (1 - prob) / n) / width  # binomial count per cell
    assert np.all(np.abs(h - prob / width) < 5 * se)
    # Mass outside the edges is not redistributed.
    assert np.sum(h * width) == pytest.approx(prob.sum(), abs=5 * np.sqrt(prob.sum() * (1 - prob.sum()) / n))


def test_histogram_density_2d_shape_and_mass():
    rng = np.random.default_rng(1)
    ex, ey = np.linspace(0, 1, 11), np.linspace(0, 2, 5)
    h = histogram_density(rng.uniform([0, 0], [1, 2], size=(5000, 2)), (ex, ey))
    assert h.shape == (10, 4)
    assert np.sum(h) * 0.1 * 0.5 == pytest.approx(1.0)


# ------------------------------------------------------------------------- noise floors
def test_kl_noise_floor_matches_chi_square_asymptotics():
    edges = np.linspace(-3, 3, 21)
    density = np.diff(stats.norm.cdf(edges)) / np.diff(edges)
    n, m = 50_000, 20
    mean, std = sampling_noise_floor(density, edges, n, "kl", n_repeats=400, seed=3)
    # 2n KL(p̂‖p) → χ²(m − 1): mean (m − 1)/(2n), sd sqrt(2(m − 1))/(2n); 5 SE of the mean.
    assert mean == pytest.approx((m - 1) / (2 * n), abs=5 * std / np.sqrt(400))
    assert std == pytest.approx(np.sqrt(2 * (m - 1)) / (2 * n), rel=0.2)  # sd of an sd: 1/sqrt(2·400) ≈ 4%


def test_tv_noise_floor_matches_normal_asymptotics():
    edges = np.linspace(-3, 3, 21)
    density = np.diff(stats.norm.cdf(edges)) / np.diff(edges)
    p = density * np.diff(edges) / np.sum(density * np.diff(edges))
    n = 50_000
    mean, std = sampling_noise_floor(density, edges, n, "tv", n_repeats=400, seed=4)
    # E|p̂_i − p_i| → sqrt(2 p_i (1 − p_i) / (π n)) for many counts per cell; with ≥ 100
    # counts in the sparsest cell the normal approximation of the binomial is good to ~1%,
    # allowed as 2% on top of 5 SE of the mean.
    expected = 0.5 * np.sum(np.sqrt(2 * p * (1 - p) / (np.pi * n)))
    assert mean == pytest.approx(expected, abs=5 * std / np.sqrt(400) + 0.02 * expected)


def test_histogram_of_true_samples_sits_at_the_noise_floor():
    rng = np.random.default_rng(5)
    edges = np.linspace(-4, 4, 33)
    centres = 0.5 * (edges[1:] + edges[:-1])
    n = 10_000
    hist = histogram_density(rng.standard_normal(n), edges)
    for metric, fn in [("tv", lambda h, e: total_variation_grid(h, e, edges[1] - edges[0])),
                       ("w1", lambda h, e: wasserstein1_grid(h, e, centres))]:
        exact = stats.norm.pdf(centres)  # midpoint values: a small bias below the noise
        mean, std = sampling_noise_floor(exact, edges, n, metric, n_repeats=200, seed=6)
        assert abs(fn(hist, exact) - mean) < 5 * std, metric


def test_noise_floor_accepts_a_callable_metric_and_2d_grids():
    edges = (np.linspace(0, 1, 5), np.linspace(0, 1, 3))
    mean, std = sampling_noise_floor(np.ones((4, 2)), edges, 1000, lambda h, e: float(np.max(np.abs(h - e))),
                                     n_repeats=20)
    assert mean > 0 and std > 0
    assert sampling_noise_floor(np.ones((4, 2)), edges, 1000, "tv", n_repeats=20)[0] > 0


# --------------------------------------------------------------------------- sample metrics
@pytest.mark.parametrize("dim", [1, 2])
def test_knn_kl_on_gaussian_pairs(dim):
    rng = np.random.default_rng(10 + dim)
    cov_q = np.diag(np.linspace(1.2, 1.8, dim))
    mean_q = np.full(dim, 0.3)
    exact = kl_gaussians(np.zeros(dim), np.eye(dim), mean_q, cov_q)
    reps = 12
    est = [kl_divergence_knn(rng.standard_normal((2000, dim)),
                             rng.multivariate_normal(mean_q, cov_q, size=2000), k=3) for _ in range(reps)]
    # Asymptotically unbiased; at d <= 2 and n = 2000 the bias is below the noise.
    # 5 standard errors of the mean of independent replicates, SE = sd / sqrt(reps).
    assert np.mean(est) == pytest.approx(exact, abs=5 * np.std(est, ddof=1) / np.sqrt(reps))


def test_knn_kl_of_a_law_with_itself_is_near_zero():
    rng = np.random.default_rng(12)
    est = [kl_divergence_knn(rng.standard_normal((1000, 3)), rng.standard_normal((1500, 3)), k=2)
           for _ in range(10)]
    assert np.mean(est) == pytest.approx(0.0, abs=5 * np.std(est, ddof=1) / np.sqrt(10))


def test_wasserstein1_samples():
    rng = np.random.default_rng(13)
    a = rng.standard_normal(500)
    assert wasserstein1(a, a + 0.25) == pytest.approx(0.25)
    b = rng.standard_normal(700)
    assert wasserstein1(a, b) == pytest.approx(stats.wasserstein_distance(a, b))
    assert wasserstein1(a[:, None], b[:, None]) == pytest.approx(wasserstein1(a, b))


def test_permutation_noise_floor_separates_equal_from_different_laws():
    rng = np.random.default_rng(15)
    a, b = rng.standard_normal(800), rng.standard_normal(1200)
    mean, std = permutation_noise_floor(a, b, "w1", n_repeats=200, seed=1)
    # Same law: the observed distance is a draw from the permutation null (5 sd).
    assert abs(wasserstein1(a, b) - mean) < 5 * std
    # W1 of two empirical laws of n, m samples scales as sqrt(1/n + 1/m) (≈ 0.046 here).
    assert 0.02 < mean < 0.1
    shifted = b + 0.3
    assert wasserstein1(a, shifted) > permutation_noise_floor(a, shifted, "w1", n_repeats=100)[0] + 5 * std
    x, y = rng.standard_normal((600, 2)), rng.standard_normal((600, 2))
    mean, std = permutation_noise_floor(x, y, "kl_knn", n_repeats=40, k=3)
    assert abs(kl_divergence_knn(x, y, k=3) - mean) < 5 * std
    assert kl_divergence_knn(x, 1.5 * y, k=3) > mean + 5 * std


# ------------------------------------------------------------------------------- bad input
def test_bad_input_is_reported_clearly():
    rng = np.random.default_rng(14)
    a, b = rng.standard_normal((50, 2)), rng.standard_normal((50, 3))
    with pytest.raises(ValueError, match="same dimension"):
        kl_divergence_knn(a, b)
    with pytest.raises(ValueError, match="duplicate"):
        kl_divergence_knn(np.vstack([a, a[:1]]), a[:10] + 10)
    with pytest.raises(ValueError, match="duplicate"):  # also when the k-th neighbour is not 0
        kl_divergence_knn(np.vstack([a, a[:1]]), a[:10] + 10, k=4)
    with pytest.raises(ValueError, match="shares points"):
        kl_divergence_knn(a, a[:10], k=3)
    with pytest.raises(ValueError, match=r"at least k \+ 1 = 6"):
        kl_divergence_knn(a[:5], a, k=5)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        kl_divergence_knn(a, a + 1, k=0)
    with pytest.raises(ValueError, match="NaN"):
        kl_divergence_knn(np.full((5, 2), np.nan), a)
    with pytest.raises(ValueError, match="same grid"):
        kl_divergence_grid(np.ones(3), np.ones(4), 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        total_variation_grid([1.0, -1.0], [1.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="cell_volume"):
        kl_divergence_grid(np.ones(3), np.ones(3), 0.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        wasserstein1_grid(np.ones(3), np.ones(3), [0.0, 2.0, 1.0])
    with pytest.raises(ValueError, match="1-D samples"):
        wasserstein1(a, a)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        histogram_density(rng.standard_normal((5, 3)), (np.arange(3.0),) * 3)
    with pytest.raises(ValueError, match="dim 2 but 1"):
        histogram_density(a, np.linspace(-3, 3, 5))
    with pytest.raises(ValueError, match="1-D grids only"):
        sampling_noise_floor(np.ones((4, 2)), (np.linspace(0, 1, 5), np.linspace(0, 1, 3)), 10, "w1")
    with pytest.raises(ValueError, match="metric must be one of"):
        sampling_noise_floor(np.ones(4), np.linspace(0, 1, 5), 10, "hellinger")
    with pytest.raises(ValueError, match="one value per cell"):
        sampling_noise_floor(np.ones(5), np.linspace(0, 1, 5), 10)
    with pytest.raises(ValueError, match="n_samples"):
        sampling_noise_floor(np.ones(4), np.linspace(0, 1, 5), 0)
    with pytest.raises(ValueError, match="same dimension"):
        permutation_noise_floor(a, b)
    with pytest.raises(ValueError, match="metric must be one of"):
        permutation_noise_floor(a, a + 1, "tv")


@pytest.mark.parametrize("metric", ["w1", wasserstein1])
def test_permutation_noise_floor_refuses_k_it_would_ignore(metric):
    # Before: k = 7 with metric "w1" (or a callable) was accepted and had no effect.
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=60)
    with pytest.raises(ValueError, match="k is the neighbour order of metric 'kl_knn'"):
        permutation_noise_floor(a, b, metric, n_repeats=5, k=7)
    # kl_knn still defaults to k = 1
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    assert permutation_noise_floor(x, y, "kl_knn", n_repeats=3) == permutation_noise_floor(
        x, y, "kl_knn", n_repeats=3, k=1)


def test_permutation_noise_floor_splits_are_counter_based():
    """The splits are keyed by (seed, split): the same seed gives the same floor, another seed
    another one, and seed=None draws one key for all splits."""
    x = np.linspace(-1.0, 1.0, 40)[:, None]
    y = np.linspace(-0.9, 1.1, 30)[:, None]
    floor = permutation_noise_floor(x, y, "w1", n_repeats=6, seed=5)
    assert floor == permutation_noise_floor(x, y, "w1", n_repeats=6, seed=5)
    assert floor != permutation_noise_floor(x, y, "w1", n_repeats=6, seed=6)
    assert np.isfinite(permutation_noise_floor(x, y, "w1", n_repeats=3, seed=None)[0])
