"""Is SGD's steady state in equilibrium?  Noise rank and the asymmetry of lag covariances.

Chaudhari & Soatto (ICLR 2018, arXiv:1710.11029, sections on the non-equilibrium potential
and limit cycles) argue that SGD's gradient noise D is highly anisotropic and of low rank,
so that its stationary law is not the Gibbs law of the loss and its steady state carries
probability currents.  Two measurements on stationary traces:

* the **rank spectrum** of D, the per-example gradient covariance at stationary parameters:
  the number of its eigen-directions that carry a fraction (99 %) of its trace, against d
  (:func:`noise_covariance_spectrum`, :func:`trace_rank`);
* the **antisymmetric part of the lag covariance** of the iterates projected on D's top
  eigenvectors, ``A(τ) = ½ [C(τ) − C(τ)ᵀ]`` with ``C(τ) = E[z_{t+τ} z_tᵀ]``
  (:func:`lag_asymmetry`).  Under detailed balance (a reversible stationary process)
  C(τ) = C(τ)ᵀ, so A = 0; a non-zero A is a probability current circulating in the plane
  of the two directions.  For SGD near a minimum, ``C(τ) ≈ (I − ηH)^τ C(0)`` and
  ``A ≈ −(τη/2)[H, C(0)]``: non-zero exactly when the noise and the Hessian do not share
  eigenvectors.  Overdamped Langevin dynamics with isotropic noise on a gradient field is
  reversible (exactly so when sampled by MALA), and A must vanish within its error bars.

Each of M independent runs gives its own estimate of A; the mean over runs and its
standard error (sd/sqrt(M)) make the error bars, and ``Σ z²`` over the k(k − 1)/2
independent entries (z = mean/SE) is compared with its value under A = 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import integer, real
from ..landscapes.base import check_cloud
from ..landscapes.empirical_risk import EmpiricalRisk

__all__ = ["noise_covariance_spectrum", "trace_rank", "LagAsymmetry", "lag_asymmetry", "block_lag_asymmetry"]


def noise_covariance_spectrum(loss: EmpiricalRisk, theta, max_examples: int | None = None):
    """Eigen-decomposition of the per-example gradient covariance D, averaged over a cloud.

    ``D(θ) = (1/n) Σ_i (∇ℓ_i − ∇f)(∇ℓ_i − ∇f)ᵀ``, averaged over the M parameter vectors
    (stationary samples).  Weight decay adds the same λθ to every ∇ℓ_i and cancels.

    Parameters
    ----------
    loss : EmpiricalRisk
    theta : array_like, shape (M, d)
    max_examples : int, optional
        Use only the first this many examples, an integer ≥ 2 (memory grows as M·n·d).

    Returns
    -------
    eigenvalues : ndarray, shape (d,)
        In decreasing order, clipped at 0.
    eigenvectors : ndarray, shape (d, d)
        Columns, in the same order.
    """
    if not isinstance(loss, EmpiricalRisk):
        raise TypeError(f"loss must be an EmpiricalRisk, got {type(loss).__name__}")
    theta = check_cloud(theta, loss.dim, "theta", finite=True)
    if theta.shape[0] == 0:
        raise ValueError("theta must hold at least one parameter vector, got shape "
                         f"{theta.shape}")
    n = loss.n_examples if max_examples is None else min(integer(max_examples, "max_examples", 2),
                                                          loss.n_examples)
    if n < 2:
        raise ValueError(f"the noise covariance needs at least 2 examples, got {n}")
    d = np.zeros((loss.dim, loss.dim))
    for row in theta:
        g = loss.per_example_grads(row[None], np.arange(n))[0]
        g = g - g.mean(axis=0)
        d += g.T @ g / n
    values, vectors = np.linalg.eigh(d / theta.shape[0])
    order = np.argsort(values)[::-1]
    return np.clip(values[order], 0.0, None), vectors[:, order]


def trace_rank(eigenvalues, fraction: float = 0.99) -> int:
    """The number of leading eigenvalues that carry ``fraction`` of the trace.

    Parameters
    ----------
    eigenvalues : array_like, shape (d,)
        Non-negative, in any order.
    fraction : float
        In (0, 1].
    """
    fraction = real(fraction, "fraction")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
    if lam.ndim != 1 or lam.size == 0 or np.any(lam < 0) or not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues must be a non-empty vector of finite numbers >= 0")
    total = lam.sum()
    if total == 0:
        raise ValueError("the eigenvalues are all zero: no trace to distribute")
    return int(np.searchsorted(np.cumsum(lam), fraction * total * (1 - 1e-12)) + 1)


@dataclass(frozen=True)
class LagAsymmetry:
    """The antisymmetric part of a lag covariance, with error bars from independent runs.

    Attributes
    ----------
    lag : int
        τ, in records.
    antisymmetric : ndarray, shape (k, k)
        Mean over runs of ``A_ij / sqrt(C_ii(0) C_jj(0))`` (dimensionless, antisymmetric).
    stderr : ndarray, shape (k, k)
        Its standard error, sd over runs / sqrt(M).
    symmetric : ndarray, shape (k, k)
        The symmetric part ``½[C(τ) + C(τ)ᵀ]``, normalised the same way (the diagonal is
        the lag-τ autocorrelation of each coordinate).
    chi2 : float
        ``Σ_{i<j} (antisymmetric_ij / stderr_ij)²``.
    dof : int
        k(k − 1)/2, the number of independent entries.
    chi2_null : float
        Expected chi2 under A = 0 with SEs estimated from M runs: ``dof (M − 1)/(M − 3)``
        (Student t with M − 1 degrees of freedom).
    n_runs, n_times : int
    """

    lag: int
    antisymmetric: np.ndarray
    stderr: np.ndarray
    symmetric: np.ndarray
    chi2: float
    dof: int
    chi2_null: float
    n_runs: int
    n_times: int

    @property
    def max_z(self) -> float:
        """Largest |entry/SE| over the independent entries."""
        iu = np.triu_indices(self.antisymmetric.shape[0], 1)
        return float(np.max(np.abs(self.antisymmetric[iu] / self.stderr[iu])))


def lag_asymmetry(trace, lag: int = 1) -> LagAsymmetry:
    """Antisymmetric part of the lag-τ covariance of stationary traces (module docstring).

    Parameters
    ----------
    trace : array_like, shape (T, M, k)
        T records of M independent runs, k coordinates each (e.g. projections of the
        parameters on D's top eigenvectors).  Each run is centred on its own time mean.
    lag : int
        τ >= 1, in records.

    Raises
    ------
    ValueError
        If the traces are too short (T < τ + 10), there are fewer than 4 runs (no error
        bar), k < 2, the trace holds NaN or inf, a coordinate is constant in every run, or
        an entry of A is the same in every run (identical runs: no error bar).
    """
    z = np.asarray(trace, dtype=np.float64)
    if z.ndim != 3:
        raise ValueError(f"trace must have shape (T, M, k), got {z.shape}")
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 1:
        raise ValueError(f"lag must be an integer >= 1, got {lag!r}")
    t, m, k = z.shape
    if t < lag + 10:
        raise ValueError(f"the traces are too short for the lag-{lag} covariance: T = {t} records, "
                         f"need at least lag + 10 = {lag + 10}")
    if m < 4:
        raise ValueError(f"need at least 4 independent runs for the error bars, got M = {m}")
    if k < 2:
        raise ValueError(f"need at least 2 coordinates (a plane) for an antisymmetric part, got k = {k}")
    if not np.all(np.isfinite(z)):
        raise ValueError("trace contains NaN or inf")
    z = z - z.mean(axis=0)
    c0 = np.einsum("tmi,tmj->mij", z, z) / t  # (M, k, k)
    c_lag = np.einsum("tmi,tmj->mij", z[lag:], z[:-lag]) / (t - lag)
    scale = np.sqrt(np.einsum("mii->i", c0) / m)  # pooled standard deviation per coordinate
    if np.any(scale == 0):
        raise ValueError(f"coordinate {int(np.argmax(scale == 0))} is constant in every run: its lag "
                         "covariance cannot be normalised (drop it from the trace)")
    norm = np.outer(scale, scale)
    anti = 0.5 * (c_lag - c_lag.transpose(0, 2, 1)) / norm
    sym = 0.5 * (c_lag + c_lag.transpose(0, 2, 1)) / norm
    mean = anti.mean(axis=0)
    se = anti.std(axis=0, ddof=1) / np.sqrt(m)
    iu = np.triu_indices(k, 1)
    if np.any(se[iu] == 0):
        raise ValueError("A has zero spread over the runs, so no error bar: the runs are identical "
                         "(the same seed?) or two coordinates are proportional")
    chi2 = float(np.sum((mean[iu] / se[iu]) ** 2))
    dof = len(iu[0])
    return LagAsymmetry(lag=int(lag), antisymmetric=mean, stderr=se, symmetric=sym.mean(axis=0), chi2=chi2,
                        dof=dof, chi2_null=dof * (m - 1) / (m - 3) if m > 3 else np.inf, n_runs=m, n_times=t)


def block_lag_asymmetry(trace, lag: int = 1, n_blocks: int = 20) -> LagAsymmetry:
    """:func:`lag_asymmetry` of one long run, with error bars from consecutive blocks.

    For runs that cannot share a basis (each network sits in its own minimum, with its own
    noise eigenvectors whose signs are arbitrary), the run is cut into ``n_blocks`` blocks,
    each centred on its own mean and treated as a replica.  Blocks much longer than the
    correlation time are nearly independent; centring each block biases the lag
    covariance by O(1/block length).

    Parameters
    ----------
    trace : array_like, shape (T, k)
    lag : int
    n_blocks : int
        >= 4; the trace's last ``T mod n_blocks`` records are dropped.
    """
    z = np.asarray(trace, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"trace must have shape (T, k) for one run, got {z.shape}")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, (int, np.integer)) or n_blocks < 4:
        raise ValueError(f"n_blocks must be an integer >= 4, got {n_blocks!r}")
    length = z.shape[0] // n_blocks
    blocks = z[:length * n_blocks].reshape(n_blocks, length, z.shape[1]).transpose(1, 0, 2)
    return lag_asymmetry(blocks, lag)
