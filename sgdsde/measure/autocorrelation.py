"""Autocorrelation of scalar traces: the integrated time and the effective sample size.

A trace is the value of a scalar observable at equally spaced records, shape (n_times,) for
one chain or (n_times, n_particles) for a cloud of independent particles (the layout of
``Trajectory.observables``).  The integrated autocorrelation time, in records,

    τ = 1 + 2 Σ_{t ≥ 1} ρ(t),

is estimated with Sokal's automatic window (Sokal, *Monte Carlo Methods in Statistical
Mechanics*, Cargèse lectures 1996, §3): τ̂(M) = 1 + 2 Σ_{t=1}^{M} ρ̂(t) with the smallest
M ≥ c τ̂(M).  Across particles the normalised autocorrelation functions are averaged before
the window is chosen (Goodman & Weare's advice, as in emcee).  The estimate is reliable when
the trace spans many autocorrelation times (n_times ≥ 50 τ is the usual rule).

Why not call ``emcee.autocorr.integrated_time``: it is the same estimator, and the tests
check that the two agree to rounding, but it loops in Python over particles (one FFT each)
where a cloud of 10⁴–10⁵ particles is better served by batched FFTs over blocks of particles
(about twice as fast on 10⁴ AR(1) traces of 2000 records), it returns neither per-particle
times nor an effective sample size, and it would make an MCMC sampler a runtime dependency
for fifteen lines of NumPy.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import fft

from .._checks import boolean
from .distances import check_samples

__all__ = ["autocorrelation_function", "integrated_autocorrelation_time", "effective_sample_size"]


def _trace(trace) -> np.ndarray:
    """``trace`` as a finite float64 array (n_times, n_particles) with at least 2 times."""
    x = check_samples(trace, "trace")
    if x.shape[0] < 2:
        raise ValueError(f"trace needs at least 2 times, got shape {x.shape}")
    return x


_BLOCK = 256  # particles per FFT batch: large enough to vectorise, small enough for the cache


def _normalised_acf_blocks(x: np.ndarray):
    """Yield ρ̂(t) of consecutive blocks of particles, each of shape (n_block, n_times).

    Each particle's trace is centred on its own mean and transformed by a zero-padded real
    FFT along contiguous memory (the padding to ≥ 2 n_times avoids circular wrap-around).
    """
    n = x.shape[0]
    size = fft.next_fast_len(2 * n, real=True)
    for start in range(0, x.shape[1], _BLOCK):
        y = np.ascontiguousarray(x[:, start:start + _BLOCK].T)
        y -= y.mean(axis=1, keepdims=True)
        f = fft.rfft(y, n=size, axis=1)
        acov = fft.irfft(f.real**2 + f.imag**2, n=size, axis=1)[:, :n]
        if np.any(acov[:, 0] <= 0):
            i = start + int(np.argmax(acov[:, 0] <= 0))
            raise ValueError(f"the trace of particle {i} is constant: its autocorrelation is undefined")
        yield acov / acov[:, :1]


def _mean_acf(x: np.ndarray) -> np.ndarray:
    total = np.zeros(x.shape[0])
    for rho in _normalised_acf_blocks(x):
        total += rho.sum(axis=0)
    return total / x.shape[1]


def autocorrelation_function(trace, max_lag: int | None = None) -> np.ndarray:
    """Normalised autocorrelation function ρ̂(t), averaged over particles.

    Parameters
    ----------
    trace : array_like, shape (n_times,) or (n_times, n_particles)
        Equally spaced records of a scalar observable.
    max_lag : int, optional
        Largest lag returned (default n_times − 1).

    Returns
    -------
    ndarray, shape (max_lag + 1,)
        ρ̂(0) = 1, ρ̂(t) = Ĉ(t)/Ĉ(0) with the biased (1/n) autocovariance of each particle
        about its own time mean, averaged over particles.
    """
    x = _trace(trace)
    rho = _mean_acf(x)
    if max_lag is None:
        return rho
    if isinstance(max_lag, bool) or not isinstance(max_lag, (int, np.integer)) or not 0 <= max_lag < len(rho):
        raise ValueError(f"max_lag must be an integer in [0, {len(rho) - 1}], got {max_lag!r}")
    return rho[: max_lag + 1]


def _sokal(rho: np.ndarray, c: float, with_window: bool = False):
    """τ̂ at Sokal's window for each row of ρ̂ (k, n_lags): the smallest M ≥ c τ̂(M).

    Where no lag satisfies the rule the window is the whole trace; ``with_window=True`` also
    returns the windows M.  A window at the last lag flags a trace too short for its
    correlations: summed over all lags, the ρ̂ of a mean-subtracted trace gives τ̂ = 0
    exactly, whatever the process.
    """
    taus = 2.0 * np.cumsum(rho, axis=1) - 1.0  # τ̂(M) = 1 + 2 Σ_{t=1}^{M} ρ̂(t)
    ok = np.arange(taus.shape[1]) >= c * taus
    window = np.where(ok.any(axis=1), np.argmax(ok, axis=1), taus.shape[1] - 1)
    tau = taus[np.arange(taus.shape[0]), window]
    return (tau, window) if with_window else tau


def _check_window(c, tol):
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c (window size in autocorrelation times) must be > 0, got {c}")
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be >= 0, got {tol}")


def integrated_autocorrelation_time(trace, c: float = 5.0, tol: float = 50.0,
                                    per_particle: bool = False):
    """Integrated autocorrelation time τ with Sokal's automatic window, in records.

    Parameters
    ----------
    trace : array_like, shape (n_times,) or (n_times, n_particles)
        Equally spaced records of a scalar observable.  Multiply τ by the record spacing
        (``ts[1] - ts[0]``) for a time in SDE units.
    c : float
        Window constant: the window M is the smallest lag with M ≥ c τ̂(M) (Sokal suggests
        c ≈ 5 for roughly exponential decay; larger c for slower tails).
    tol : float
        Warn (RuntimeWarning) when n_times < tol·τ̂: the estimate is then unreliable and
        usually too small.
    per_particle : bool
        Return one τ per particle (each from its own ρ̂ and window) instead of the pooled τ.

    Returns
    -------
    float or ndarray of shape (n_particles,)
        τ̂ in units of the record spacing; 1 for uncorrelated records.  The window rule is
        made for positive correlations: for anticorrelated traces τ̂ < 1 and may even be
        negative.

    Notes
    -----
    For an AR(1) trace x_{t+1} = φ x_t + ε_t, τ = (1 + φ)/(1 − φ) = 1 + 2φ/(1 − φ).
    The estimate has variance ≈ 2(2M + 1) τ² / (n_times n_particles) and a bias of about
    −2 Σ_{t>M} ρ(t) (truncation) − 2M τ / n_times (mean subtraction).
    """
    _check_window(c, tol)
    per_particle = boolean(per_particle, "per_particle")
    x = _trace(trace)
    n_times = x.shape[0]
    if per_particle:
        taus = np.concatenate([_sokal(rho, c) for rho in _normalised_acf_blocks(x)])
        worst = float(taus.max())
    else:
        taus = float(_sokal(_mean_acf(x)[None, :], c)[0])
        worst = taus
    if tol * worst > n_times:
        warnings.warn(f"the trace spans {n_times} records, fewer than tol·τ = {tol:g} × {worst:.3g}: "
                      "the autocorrelation time is unreliable (likely underestimated); run longer",
                      RuntimeWarning, stacklevel=2)
    return taus


def effective_sample_size(trace, c: float = 5.0, tol: float = 50.0) -> float:
    """Number of effectively independent records in a trace, ``n_times · n_particles / τ``.

    Parameters are those of :func:`integrated_autocorrelation_time` (pooled τ).  The
    standard error of the trace's mean is then ``sd / sqrt(ESS)``.

    Returns
    -------
    float
        The effective sample size.
    """
    x = _trace(trace)
    tau = integrated_autocorrelation_time(x, c=c, tol=tol)
    if tau <= 0:
        _, window = _sokal(_mean_acf(x)[None, :], c, with_window=True)
        if window[0] == x.shape[0] - 1:
            raise ValueError(f"the trace of {x.shape[0]} records is too short to estimate an "
                             f"autocorrelation time: Sokal's window reached the last lag, where "
                             "the mean-subtracted estimate is 0 whatever the correlations; "
                             "record more times")
        raise ValueError(f"the estimated autocorrelation time is {tau:.3g} <= 0 over a trace of "
                         f"{x.shape[0]} records: the trace is anticorrelated at short lags (ρ̂(1) = "
                         f"{_mean_acf(x)[1]:.3g}), where the effective sample size is undefined")
    return float(x.size / tau)
