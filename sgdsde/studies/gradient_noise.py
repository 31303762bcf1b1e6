"""Gradient noise along training: noise scale, signal-to-noise, and the tail index trap.

At parameters θ on a training path, the minibatch noise ``ξ = g_B − ∇f`` is sampled by
drawing many batches of B examples (with replacement) from the per-example gradients,
computed once.  Measured along the path:

* the simple noise scale ``B_simple = Tr Σ₁ / |∇f|²`` (McCandlish et al. 2018,
  arXiv:1812.06162) and the overall signal-to-noise ratio ``B / B_simple`` of a batch of B
  (:mod:`sgdsde.measure.gradient_stats`);
* the tail index α̂ of ξ, pooled over coordinates as Şimşekli, Sagun & Gürbüzbalaban
  (ICML 2019, arXiv:1901.06053) did, and coordinate by coordinate.  Coordinates have
  noise of very different scales (their standard deviations span decades), and a pooled
  sample of Gaussians of different scales is a scale mixture with heavier tails than any
  of its parts (Panigrahi, Somani, Goyal & Netrapalli 2019, arXiv:1910.09626): pooled α̂
  below 2 even if every coordinate were Gaussian.  The snapshot therefore also pools
  Gaussian samples with the measured per-coordinate scales: the control isolates the
  artefact of pooling, and the per-coordinate α̂ says how far each coordinate's noise (a
  mean of B per-example gradients) is from Gaussian.

Coordinates with an exact zero among the samples (weights of input pixels that are
constant over the data set have no noise at all) are left out of both estimates: the
estimator takes logarithms of |ξ|.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..landscapes.base import check_cloud
from ..landscapes.empirical_risk import EmpiricalRisk
from ..measure.gradient_stats import gradient_statistics, tail_index, tail_index_per_coordinate
from ..random import STREAM_USER, normals, resolve_seed, uniforms

__all__ = ["minibatch_noise", "NoiseSnapshot", "noise_snapshot"]

STREAM_NOISE_BATCHES = STREAM_USER + 56
STREAM_GAUSSIAN_CONTROL = STREAM_USER + 57
STREAM_POOLING_ORDER = STREAM_USER + 58


def minibatch_noise(loss: EmpiricalRisk, theta, batch_size: int, n_batches: int, seed: int | None = 0):
    """Samples of the minibatch-gradient noise ``g_B − ∇f`` at one point, shape (n_batches, d).

    Batches of ``batch_size`` examples drawn uniformly with replacement (counter-based
    uniforms, stream ``STREAM_NOISE_BATCHES``); the per-example gradients are computed once
    (memory n·d).

    Parameters
    ----------
    loss : EmpiricalRisk
    theta : array_like, shape (1, d) or (d,)
        One finite point.
    batch_size : int
        B >= 1.
    n_batches : int
        Number of samples K >= 1.
    seed : int, optional
    """
    if not isinstance(loss, EmpiricalRisk):
        raise TypeError(f"loss must be an EmpiricalRisk, got {type(loss).__name__}")
    theta = check_cloud(np.atleast_2d(theta), loss.dim, "theta", finite=True)
    if theta.shape[0] != 1:
        raise ValueError(f"theta must be one point, shape (1, d) or (d,), got {theta.shape}")
    for name, value in (("batch_size", batch_size), ("n_batches", n_batches)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    g = loss.per_example_grads(theta)[0]  # (n, d)
    mean = g.mean(axis=0)
    n = loss.n_examples
    u = uniforms(resolve_seed(seed), np.arange(int(n_batches)), 0, int(batch_size), STREAM_NOISE_BATCHES)
    idx = np.minimum((u * n).astype(np.int64), n - 1)
    return g[idx].mean(axis=1) - mean


@dataclass(frozen=True)
class NoiseSnapshot:
    """Noise statistics at one point of a training path.

    Attributes
    ----------
    b_simple : float
        Tr Σ₁ / |∇f|² (exact over the data set).
    snr : float
        B / B_simple, the signal-to-noise ratio of a batch of B.
    alpha_pooled, alpha_pooled_se : float
        α̂ of all coordinates' noise pooled, and its SE.
    alpha_per_coordinate, alpha_per_coordinate_se : ndarray, shape (d_noisy,)
        α̂ of each coordinate with noise, and SEs.
    noise_scales : ndarray, shape (d_noisy,)
        Standard deviation of each noisy coordinate's samples.
    alpha_pooled_gaussian, alpha_pooled_gaussian_se : float
        Control: α̂ pooled over Gaussian samples with the same per-coordinate scales (the
        part of the pooled estimate that is the scale mixture alone; 2 if scales were equal).
    seed : int
        The key every draw used (the one drawn when ``noise_snapshot`` was given None):
        ``noise_snapshot(..., seed=snapshot.seed)`` replays it.
    """

    b_simple: float
    snr: float
    alpha_pooled: float
    alpha_pooled_se: float
    alpha_per_coordinate: np.ndarray
    alpha_per_coordinate_se: np.ndarray
    noise_scales: np.ndarray
    alpha_pooled_gaussian: float
    alpha_pooled_gaussian_se: float
    seed: int | None = None


def noise_snapshot(loss: EmpiricalRisk, theta, batch_size: int, n_batches: int = 2000,
                   seed: int | None = 0) -> NoiseSnapshot:
    """:class:`NoiseSnapshot` at one point (module docstring); tail blocks K₁ = ⌊√K⌋."""
    if not isinstance(loss, EmpiricalRisk):
        raise TypeError(f"loss must be an EmpiricalRisk, got {type(loss).__name__}")
    theta = check_cloud(np.atleast_2d(theta), loss.dim, "theta")
    seed = resolve_seed(seed)  # one key for the batches, the pooling order and the control
    stats = gradient_statistics(loss, theta)
    b_simple = float(stats.trace[0] / np.sum(stats.mean[0] ** 2))
    xi = minibatch_noise(loss, theta, batch_size, n_batches, seed)
    noisy = np.all(xi != 0, axis=0)
    if not np.any(noisy):
        raise ValueError("no coordinate has minibatch noise at this point")
    xi = xi[:, noisy]
    # pooled = all entries as one sample in a random order, so that a block mixes coordinates
    # and samples at random (in C order a block would sum correlated coordinates of one batch)
    order = np.argsort(uniforms(seed, np.array([0]), 0, xi.size, STREAM_POOLING_ORDER)[0])
    pooled = tail_index(xi.ravel()[order])
    per = tail_index_per_coordinate(xi)
    scales = xi.std(axis=0)
    z = normals(seed, np.arange(xi.shape[0]), 0, xi.shape[1], STREAM_GAUSSIAN_CONTROL)
    z[z == 0] = 1e-7  # the generator's 24-bit magnitudes give an exact 0 about once in 2^24 draws
    control = tail_index((z * scales).ravel()[order])
    return NoiseSnapshot(b_simple, batch_size / b_simple, pooled.alpha, pooled.stderr, per.alpha, per.stderr,
                         scales, control.alpha, control.stderr, seed)
