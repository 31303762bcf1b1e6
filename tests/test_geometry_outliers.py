"""Outlier counting by the largest relative gap, on spiked Wishart matrices with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.geometry import count_outliers

D, N = 400, 1600  # aspect ratio γ = d/n = 1/4: Marchenko–Pastur edge (1 + √γ)² = 2.25, BBP threshold √γ = 0.5


def _spiked_wishart_top(spikes, seed, k=12):
    """Top-k eigenvalues of the sample covariance of N Gaussian vectors with covariance
    I + Σ θ_i e_i e_iᵀ (spikes θ_i along the first coordinate axes)."""
    scale = np.ones(D)
    scale[: len(spikes)] = np.sqrt(1.0 + np.asarray(spikes, dtype=float))
    x = np.random.default_rng(seed).standard_normal((N, D)) * scale
    return np.linalg.eigvalsh(x.T @ x / N)[::-1][:k]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_supercritical_spikes_are_counted_and_subcritical_ones_are_not(seed):
    # Spikes θ = 6, 4, 3 are above the BBP threshold 0.5 and sit at (1 + θ)(1 + γ/θ) = 7.29,
    # 5.31, 4.33 (Baik & Silverstein 2006); θ = 0.3 is below it and merges with the bulk.
    gamma = D / N
    spikes = [6.0, 4.0, 3.0, 0.3]
    top = _spiked_wishart_top(spikes, seed)
    found = count_outliers(top)
    assert found.count == 3
    # The gap from 4.33 to the edge 2.25 is a ratio ≈ 1.9; bulk ratios near the edge are ~1.01.
    assert found.ratio > 1.6 and found.runner_up < 1.45
    predicted = np.array([(1 + t) * (1 + gamma / t) for t in spikes[:3]])
    # A supercritical outlier is Gaussian with relative SD ≤ sqrt(2/N) = 3.5 % (Paul 2007,
    # Statistica Sinica 17): the tolerance is 4 SE.
    np.testing.assert_allclose(found.eigenvalues[:3], predicted, rtol=4 * np.sqrt(2 / N))
    assert found.eigenvalues[3] < 2.25 * 1.05


def test_a_pure_bulk_shows_no_clear_gap():
    found = count_outliers(_spiked_wishart_top([], seed=3))
    assert found.ratio < 1.1  # inside the bulk consecutive ratios are close to 1


def test_max_count_and_order_and_nonpositive_values():
    # One very large gap beyond max_count is ignored; order of the input does not matter;
    # non-positive eigenvalues are dropped.
    lam = np.array([-1.0, 0.0, 0.01, 1.0, 1.1, 5.0, 5.2, 5.4])
    assert count_outliers(lam).count == 5  # 1.0 / 0.01 = 100 is the widest gap
    limited = count_outliers(lam, max_count=4)
    assert limited.count == 3 and limited.ratio == pytest.approx(5.0 / 1.1)


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        count_outliers([3.0, np.nan, 1.0, 0.5])
    with pytest.raises(ValueError, match="at least 3 positive"):
        count_outliers([3.0, 1.0, -1.0])
    with pytest.raises(ValueError, match="max_count"):
        count_outliers([3.0, 2.0, 1.0, 0.5], max_count=4)
    with pytest.raises(ValueError, match="max_count"):
        count_outliers([3.0, 2.0, 1.0, 0.5], max_count=0)
    with pytest.raises(ValueError, match="one-dimensional"):
        count_outliers(np.ones((3, 3)))
