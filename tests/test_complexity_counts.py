"""Exact finite-N expected critical-point counts (ABC's GOE formula) against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.theory.complexity_counts import expected_counts, goe_eigenvalues


@pytest.mark.parametrize("n", [2, 5])
def test_p2_gives_two_points_per_index_exactly(n):
    # p = 2: the critical points of σᵀJσ on the sphere are the ± eigenvectors, two per index
    c = expected_counts(n, 2, n_samples=500)
    np.testing.assert_allclose(c.mean_by_index, 2.0, rtol=1e-12)
    np.testing.assert_allclose(c.stderr_by_index, 0.0, atol=1e-12)
    assert c.total == pytest.approx(2.0 * n, rel=1e-12)


@pytest.mark.parametrize("p", [3, 4])
def test_n1_two_points(p):
    # N = 1: the sphere is {±1}, two "minima"; the formula integrates exactly to 2
    c = expected_counts(1, p, n_samples=40_000, seed=1)
    assert abs(c.total - 2.0) < 5 * c.total_stderr  # 5 SE, SE = sd/sqrt(n_samples)


@pytest.mark.parametrize("p", [3, 4])
def test_n2_total_matches_kac_rice_on_the_circle(p):
    # N = 2: H on the circle |σ| = √2 is a stationary Gaussian process in the angle θ with
    # covariance r(θ) = 2 cos^p θ; Kac–Rice for the zeros of H' over a period gives
    # 2 sqrt(r''''(0) / -r''(0)) = 2 sqrt(3p - 2) critical points on average.
    c = expected_counts(2, p, n_samples=100_000, seed=2)
    assert abs(c.total - 2 * np.sqrt(3 * p - 2)) < 5 * c.total_stderr
    # as many points of index 0 as of index 1 (λ → −λ); the SEs share samples, so add them
    assert abs(c.mean_by_index[0] - c.mean_by_index[1]) < 5 * np.sum(c.stderr_by_index)


def test_index_symmetry_and_bands_partition():
    n, p = 6, 3
    edges = [-np.inf, -1.6, -1.2, 0.0, 1.2, np.inf]
    c = expected_counts(n, p, energy_edges=edges, n_samples=40_000, seed=3)
    # E Crt_{N,k} = E Crt_{N,N-1-k}; the two estimates share samples, so bound the SE of the
    # difference by the sum of the SEs; 5 of those
    gap = np.abs(c.mean_by_index - c.mean_by_index[::-1])
    assert np.all(gap < 5 * (c.stderr_by_index + c.stderr_by_index[::-1]))
    # bands covering the line partition every count: the same samples, so exact equality
    np.testing.assert_allclose(c.mean.sum(axis=1), c.mean_by_index, rtol=1e-12)
    assert c.mean_by_index.sum() == pytest.approx(c.total, rel=1e-12)
    # minima sit at negative energies (u = λ_0 sqrt(2(p-1)/p) < 0 w.h.p.); maxima at positive
    assert c.mean[0, 3:].sum() < 0.01 * c.mean_by_index[0]
    assert c.mean[-1, :3].sum() < 0.01 * c.mean_by_index[-1]


def test_standard_error_shrinks_like_one_over_sqrt_samples():
    small = expected_counts(4, 3, n_samples=4_000, seed=4)
    large = expected_counts(4, 3, n_samples=64_000, seed=4)
    ratio = small.total_stderr / large.total_stderr
    assert 3.0 < ratio < 5.5  # sqrt(16) = 4 up to the noise of the sd estimates
    assert abs(small.total - large.total) < 5 * np.hypot(small.total_stderr, large.total_stderr)


def test_reproducible_with_seed_and_chunking():
    a = expected_counts(5, 3, n_samples=3_000, seed=9, chunk=1_000)
    b = expected_counts(5, 3, n_samples=3_000, seed=9, chunk=1_000)
    np.testing.assert_array_equal(a.mean, b.mean)


def test_goe_normalisation():
    n, n_matrices = 100, 40
    lam = goe_eigenvalues(n, n_matrices, np.random.default_rng(5))
    # off-diagonal variance 1/(2N), diagonal 1/N: E Tr M²/N = 1/2 + 1/(2N) (semicircle on ±√2)
    m2 = np.mean(lam**2, axis=1)
    assert abs(m2.mean() - (0.5 + 0.5 / n)) < 5 * m2.std(ddof=1) / np.sqrt(n_matrices)  # 5 SE
    assert np.all(np.diff(lam, axis=1) >= 0)


def test_bad_input():
    with pytest.raises(ValueError, match="n must"):
        expected_counts(0, 3)
    with pytest.raises(ValueError, match="p must"):
        expected_counts(3, 1)
    with pytest.raises(ValueError, match="n_samples"):
        expected_counts(3, 3, n_samples=1)
    with pytest.raises(ValueError, match="energy_edges"):
        expected_counts(3, 3, energy_edges=[0.0, -1.0])


def test_seed_is_checked_and_recorded():
    """seed=True ran as seed 1, seed=-1 failed inside NumPy ('expected non-negative integer')
    and seed=None drew an unrecorded seed: the library-wide seed rules now apply and the seed
    used is in the result."""
    for bad, error in ((True, TypeError), (1.5, TypeError), (-1, ValueError), (2**64, ValueError)):
        with pytest.raises(error, match="seed"):
            expected_counts(2, 3, n_samples=10, seed=bad)
    fresh = expected_counts(2, 3, n_samples=50, seed=None)
    again = expected_counts(2, 3, n_samples=50, seed=fresh.seed)
    np.testing.assert_array_equal(fresh.mean, again.mean)
    assert expected_counts(2, 3, n_samples=10, seed=7).seed == 7
