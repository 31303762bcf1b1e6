"""Gradient statistics: signal, noise, noise scale, tail index, fluctuation–dissipation.

Plain functions of an empirical-risk landscape (:mod:`sgdsde.landscapes.empirical_risk`),
a cloud of parameter vectors θ (M, d) and a set of examples, or of recorded arrays.  Every
statistical estimate comes with its standard error.

With per-example gradients ``g_i = ∇f_i(θ)`` over a set S of examples (b of them):

* mean gradient ``ḡ = (1/b) Σ_i g_i`` — the full-batch gradient when S is the data set;
* per-example covariance ``Σ₁ = (1/b) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ`` (with 1/(b−1) when S is a
  sample of the data), the covariance of a batch-of-one gradient; a batch of B drawn with
  replacement has covariance Σ₁/B;
* signal-to-noise ratios ``ḡ_j² / (Σ₁)_jj`` per coordinate and ``|ḡ|² / Tr Σ₁`` overall
  (powers, not amplitudes; a batch of B multiplies both by B);
* the simple noise scale ``B_simple = Tr Σ₁ / |ḡ|²`` of McCandlish, Kaplan, Amodei et al.
  ("An empirical model of large-batch training", 2018, arXiv:1812.06162, eq. 2.8): the
  batch size at which the noise and the signal of a minibatch gradient are equal.

Across a family H of target functions (Shalev-Shwartz, Shamir & Shammah, "Failures of
gradient-based deep learning", ICML 2017, arXiv:1703.07950, section 2):
``Var(H, θ) = E_h |∇F_h(θ) − E_h' ∇F_h'(θ)|²`` with ``F_h`` the risk for target h, and the
bound of their Theorem 1 for the square loss and an orthonormal family
(``E_x h(x) h'(x) = δ_hh'``): ``Var(H, θ) ≤ G(θ)² / |H|``, ``G(θ)² = E_x |∂p_θ(x)/∂θ|²``.

Heavy tails (Şimşekli, Sagun & Gürbüzbalaban, ICML 2019, arXiv:1901.06053): the index α of
a symmetric α-stable law from the estimator of Mohammadi, Mohammadpour & Ogata (Metrika
78, 549 (2015)) that they use — with K = K₁K₂ samples cut into K₂ blocks of K₁ and
``Y_i`` the block sums,

    1/α̂ = (1/log K₁) [ (1/K₂) Σ_i log|Y_i| − (1/K) Σ_k log|X_k| ].

For a stable law the block sum is K₁^{1/α} times a copy of X, so each block's term
``Z_i = log|Y_i| − mean_{k∈i} log|X_k|`` has mean ``log K₁ / α`` exactly: 1/α̂ is an
unbiased mean of K₂ independent terms and its standard error is ``sd(Z)/(√K₂ log K₁)``;
``SE(α̂) = α̂² SE(1/α̂)`` (delta method).  Panigrahi, Somani, Goyal & Netrapalli
(arXiv:1910.09626) pointed out that pooling coordinates of different scales into one sample
makes even Gaussian noise look heavy-tailed (α̂ < 2); hence the per-coordinate version.

Fluctuation–dissipation (Yaida, ICLR 2019, arXiv:1810.00004): at stationarity of plain SGD
``θ' = θ − η g`` the second moment ``⟨|θ|²⟩`` does not change, so
``⟨θ·∇f⟩ = (η/2) ⟨|g|²⟩``; for heavy ball ``v' = μ v − η g, θ' = θ + v'`` the same
argument applied to ``⟨|θ|²⟩`` and ``⟨θ·v⟩`` gives ``⟨θ·∇f⟩ = (1 + μ)/(2η) ⟨|v|²⟩``
(docs/validation.md derives both).  The residual ``⟨θ·g⟩ − (right-hand side)`` is zero at
stationarity and its distance from zero measures how far a run is from equilibrium.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._checks import positive, real
from ..landscapes.base import check_cloud
from ..landscapes.empirical_risk import EmpiricalRisk
from ..random import STREAM_USER, resolve_seed, uniforms

__all__ = [
    "GradientStatistics",
    "gradient_statistics",
    "mean_gradient",
    "covariance_trace",
    "signal_to_noise",
    "simple_noise_scale",
    "target_family_gradient_variance",
    "gradient_variance_bound",
    "TailIndex",
    "tail_index",
    "symmetric_stable",
    "tail_index_per_coordinate",
    "FluctuationDissipation",
    "fluctuation_dissipation_residual",
]

STREAM_STABLE = STREAM_USER + 24  # symmetric α-stable draws
_SMALL = 1 << 22  # per-example gradient arrays up to this many entries are formed at once


def _check_landscape(landscape) -> None:
    if not isinstance(landscape, EmpiricalRisk):
        raise TypeError("landscape must be an EmpiricalRisk (a model over a data set with per-example "
                        f"gradients), got {type(landscape).__name__}")


def _finite_rows(theta) -> np.ndarray:
    """``theta`` (M, d) unchanged, or a ValueError naming its first row with NaN or inf."""
    finite = np.isfinite(np.asarray(theta, dtype=np.float64)).reshape(np.shape(theta)[0], -1).all(axis=1)
    if not finite.all():
        raise ValueError(f"theta contains NaN or inf (row {int(np.argmin(finite))}): gradient "
                         "statistics are only defined at finite parameters")
    return theta


@dataclass(frozen=True)
class GradientStatistics:
    """Moments of the per-example gradients of a cloud over a set of examples.

    Attributes
    ----------
    mean : ndarray, shape (M, d)
        ḡ, the mean per-example gradient.
    mean_se : ndarray, shape (M, d)
        Its standard error (zero when the examples are the whole data set: ḡ is then the
        full-batch gradient itself).
    variance : ndarray, shape (M, d)
        Diagonal of Σ₁ (1/b normalisation for the whole data set, 1/(b−1) for a sample).
    trace : ndarray, shape (M,)
        Tr Σ₁.
    trace_se : ndarray, shape (M,)
        Standard error of the trace (zero for the whole data set).
    n_examples : int
        b, the number of examples used.
    population : bool
        True when the examples are the whole data set.
    """

    mean: np.ndarray
    mean_se: np.ndarray
    variance: np.ndarray
    trace: np.ndarray
    trace_se: np.ndarray
    n_examples: int
    population: bool


def gradient_statistics(landscape: EmpiricalRisk, theta, idx=None, *, chunk: int = 512) -> GradientStatistics:
    """Mean, per-coordinate variance and covariance trace of the per-example gradients.

    Parameters
    ----------
    landscape : EmpiricalRisk
    theta : array_like, shape (M, d)
        Finite parameters.
    idx : array_like of int, shape (b,) or (M, b), optional
        A sample of examples (every example once by default: exact population moments).
    chunk : int
        Examples per block of per-example gradients (memory M·chunk·d).
    """
    _check_landscape(landscape)
    theta = _finite_rows(check_cloud(theta, landscape.dim, "theta"))
    population = idx is None
    examples = np.arange(landscape.n_examples) if population else np.asarray(idx)
    b = examples.shape[-1]
    if not population and b < 2:
        raise ValueError("idx must hold at least 2 examples to estimate a variance, "
                         f"got shape {examples.shape}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
    m, d = theta.shape
    if m * b * d <= _SMALL:
        chunk = b
    cached = []

    def blocks():
        if cached:
            yield from cached
            return
        for start in range(0, b, chunk):
            g = landscape.per_example_grads(theta, examples[..., start:start + chunk])
            if chunk == b:
                cached.append(g)
            yield g

    total = np.zeros((m, d), dtype=theta.dtype)
    for g in blocks():
        total += g.sum(axis=1)
    mean = total / b
    sq = np.zeros((m, d), dtype=theta.dtype)
    norms = []
    for g in blocks():
        c = g - mean[:, None, :]
        sq += np.einsum("mbi,mbi->mi", c, c)
        norms.append(np.einsum("mbi,mbi->mb", c, c))
    ddof = 0 if population else 1
    variance = sq / (b - ddof)
    trace = variance.sum(axis=1)
    if population:
        zeros = np.zeros_like(mean)
        return GradientStatistics(mean, zeros, variance, trace, np.zeros_like(trace), b, True)
    q = np.concatenate(norms, axis=1)  # |g_i − ḡ|², (M, b)
    trace_se = q.std(axis=1, ddof=1) / math.sqrt(b)
    return GradientStatistics(mean, np.sqrt(variance / b), variance, trace, trace_se, b, False)


def mean_gradient(landscape: EmpiricalRisk, theta, idx=None) -> tuple[np.ndarray, np.ndarray]:
    """The mean per-example gradient ḡ and its standard error, each (M, d)."""
    s = gradient_statistics(landscape, theta, idx)
    return s.mean, s.mean_se


def covariance_trace(landscape: EmpiricalRisk, theta, idx=None) -> tuple[np.ndarray, np.ndarray]:
    """Tr Σ₁ of the per-example gradients and its standard error, each (M,)."""
    s = gradient_statistics(landscape, theta, idx)
    return s.trace, s.trace_se


def _signal(s: GradientStatistics) -> np.ndarray:
    """|ḡ|², debiased by Tr Σ₁/b when ḡ is the mean of a sample (E|ḡ|² = |G|² + Tr Σ₁/b)."""
    signal = np.sum(s.mean * s.mean, axis=1)
    return signal if s.population else signal - s.trace / s.n_examples


def signal_to_noise(landscape: EmpiricalRisk, theta, idx=None, *, batch_size: int = 1):
    """Signal-to-noise ratios of a batch-of-B gradient: per coordinate and overall.

    ``SNR_j = B ḡ_j² / (Σ₁)_jj`` and ``SNR = B |ḡ|² / Tr Σ₁`` (module docstring), sampling
    with replacement.  The overall ratio is ``B / B_simple``: exact on the whole data set,
    and on a sample of examples its standard error is ``SNR · SE(B_simple)/B_simple`` with
    SE(B_simple) from :func:`simple_noise_scale` (the signal is debiased the same way).  The
    per-coordinate ratios are plug-in estimates (not debiased), for ranking coordinates.

    Returns
    -------
    per_coordinate : ndarray, shape (M, d)
        inf where a coordinate has no noise and a signal, nan where it has neither.
    overall : ndarray, shape (M,)
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    s = gradient_statistics(landscape, theta, idx)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_coordinate = batch_size * s.mean * s.mean / s.variance
        overall = batch_size * _signal(s) / s.trace
    return per_coordinate, overall


def simple_noise_scale(landscape: EmpiricalRisk, theta, idx=None) -> tuple[np.ndarray, np.ndarray]:
    """``B_simple = Tr Σ₁ / |∇f|²`` (McCandlish et al. 2018, eq. 2.8) and its standard error, (M,).

    On the whole data set both are exact (SE 0).  On a sample of b examples |∇f|² is
    estimated without bias by ``|ḡ|² − Tr Σ₁/b`` and the SE combines the relative errors
    of the trace and of the signal (``Var |ḡ|² ≈ 4 ḡᵀΣ₁ḡ/b``, approximated by its
    diagonal) in quadrature.
    """
    s = gradient_statistics(landscape, theta, idx)
    signal = _signal(s)
    scale = s.trace / signal
    if s.population:
        return scale, np.zeros_like(scale)
    signal_se = 2.0 * np.sqrt(np.sum(s.mean * s.mean * s.variance, axis=1) / s.n_examples)
    se = np.abs(scale) * np.sqrt((s.trace_se / s.trace) ** 2 + (signal_se / signal) ** 2)
    return scale, se


# ------------------------------------------------------------------ target families
def target_family_gradient_variance(make_landscape: Callable[[np.ndarray], EmpiricalRisk], targets,
                                    theta) -> np.ndarray:
    """Variance of the full-batch gradient across a family of targets, ``E_h |∇F_h − E∇F|²``, (M,).

    Exact over the family given (each target's gradient is computed): the quantity
    ``Var(H, F, θ)`` of Shalev-Shwartz et al. (2017, section 2).

    Parameters
    ----------
    make_landscape : callable
        ``y (n,) -> EmpiricalRisk``, the risk of the same model and inputs for target y.
    targets : array_like, shape (|H|, n)
        One row per member of the family (the target's values on the n inputs).
    theta : array_like, shape (M, d)
    """
    targets = np.asarray(targets, dtype=np.float64)
    if targets.ndim != 2 or targets.shape[0] < 2:
        raise ValueError(f"targets must have shape (|H| >= 2, n_examples), got {targets.shape}")
    if not np.all(np.isfinite(targets)):
        raise ValueError("targets contains NaN or inf")
    _finite_rows(np.atleast_2d(theta))
    mean = second = None
    for h, y in enumerate(targets):
        landscape = make_landscape(y)
        _check_landscape(landscape)
        if landscape.n_examples != targets.shape[1]:
            raise ValueError(f"targets has {targets.shape[1]} columns but the landscape made from a row has "
                             f"{landscape.n_examples} examples: one column per example")
        g = landscape.grad(theta)
        if mean is None:
            mean, second = np.zeros_like(g), np.zeros(g.shape[0], dtype=g.dtype)
        delta = g - mean  # Welford update of the mean and the summed squared deviation
        mean += delta / (h + 1)
        second += np.sum(delta * (g - mean), axis=1)
    return second / targets.shape[0]


def gradient_variance_bound(model, theta, family_size: int, batch=None) -> np.ndarray:
    """Theorem 1 of Shalev-Shwartz, Shamir & Shammah (2017): ``G(θ)² / |H|``, shape (M,).

    ``G(θ)² = (1/n) Σ_i |∂p_θ(x_i)/∂θ|²`` for a scalar-output model p_θ (an
    :class:`~sgdsde.landscapes.mlp.MLP` with one output).  Under the square loss
    ``½ (p_θ(x) − h(x))²`` and a family H orthonormal on the inputs, the across-target
    variance (:func:`target_family_gradient_variance`) is at most this: the h-dependent part
    of the gradient is ``−E_x h(x) ∂p_θ(x)``, and Bessel's inequality bounds the sum of its
    squared projections onto |H| orthonormal functions by ``E_x |∂p_θ(x)|²``.

    Parameters
    ----------
    model : MLP
        With ``n_outputs == 1``.
    theta : array_like, shape (M, d)
    family_size : int
        |H| >= 1.
    batch : array_like of int, optional
        The inputs x_i (default: all).
    """
    if not hasattr(model, "per_example_output_grads") or getattr(model, "n_outputs", None) != 1:
        raise ValueError("model must be a network with a single output (an MLP with n_outputs = 1)")
    if isinstance(family_size, bool) or not isinstance(family_size, (int, np.integer)) or family_size < 1:
        raise ValueError(f"family_size must be an integer >= 1, got {family_size!r}")
    _finite_rows(np.atleast_2d(theta))
    jac = model.per_example_output_grads(theta, batch)
    return np.einsum("mbd,mbd->m", jac, jac) / jac.shape[1] / family_size


# ------------------------------------------------------------------ tail index
@dataclass(frozen=True)
class TailIndex:
    """Tail-index estimate(s) α̂ with standard errors (module docstring).

    Attributes
    ----------
    alpha, stderr : float or ndarray
        α̂ and SE(α̂) (scalars when pooled, shape (d,) per coordinate).
    inverse, inverse_se : float or ndarray
        1/α̂ (the unbiased quantity) and its SE.
    block : int
        K₁, the block length.
    n_blocks : int
        K₂.
    """

    alpha: float | np.ndarray
    stderr: float | np.ndarray
    inverse: float | np.ndarray
    inverse_se: float | np.ndarray
    block: int
    n_blocks: int


def _tail_index_columns(x: np.ndarray, block: int | None) -> TailIndex:
    """The estimator on each column of x (K, c), samples along axis 0."""
    k = x.shape[0]
    if block is None:
        block = max(2, math.isqrt(k))
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 2:
        raise ValueError(f"block must be an integer >= 2 (K1, the block length), got {block!r}")
    n_blocks = k // block
    if n_blocks < 2:
        raise ValueError(f"samples too short for the tail-index blocks: {k} samples give {n_blocks} block(s) "
                         f"of K1 = {block}; need at least 2 blocks, i.e. >= {2 * block} samples")
    if not np.all(np.isfinite(x)):
        raise ValueError("samples contains NaN or inf")
    x = x[: n_blocks * block].reshape(n_blocks, block, -1)
    if np.any(x == 0):
        raise ValueError("samples contains exact zeros (log|0|): remove coordinates without noise "
                         "(e.g. those a flat activation cuts off) before estimating the tail index")
    log_x = np.log(np.abs(x))
    sums = np.abs(x.sum(axis=1))
    with np.errstate(divide="ignore"):
        z = np.log(sums) - log_x.mean(axis=1)  # (K2, c)
    if not np.all(np.isfinite(z)):
        raise ValueError("a block of samples sums to exactly zero; the samples are not continuous")
    log_k1 = math.log(block)
    inverse = z.mean(axis=0) / log_k1
    inverse_se = z.std(axis=0, ddof=1) / math.sqrt(n_blocks) / log_k1
    alpha = 1.0 / inverse
    return TailIndex(alpha, alpha * alpha * inverse_se, inverse, inverse_se, int(block), int(n_blocks))


def symmetric_stable(alpha: float, n: int, seed: int | None = None) -> np.ndarray:
    """n draws of the standard symmetric α-stable law S_α(1, 0, 0), shape (n,).

    Chambers, Mallows & Stuck (JASA 71, 340 (1976)): with U uniform on (−π/2, π/2) and W
    exponential of mean 1, ``X = sin(αU) / cos(U)^{1/α} · (cos((1 − α)U) / W)^{(1−α)/α}``;
    α = 2 is N(0, 2), α = 1 the Cauchy law.  The same law as
    ``scipy.stats.levy_stable(alpha, 0)``; the uniforms come from :mod:`sgdsde.random`.

    Parameters
    ----------
    alpha : float
        0 < α <= 2.
    n : int
        Number of draws >= 1.
    seed : int, optional
    """
    alpha = float(alpha)
    if not (0.0 < alpha <= 2.0):
        raise ValueError(f"alpha must lie in (0, 2], got {alpha}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    u = uniforms(resolve_seed(seed), np.arange(int(n)), 0, 2, STREAM_STABLE)
    angle = np.pi * (u[:, 0] - 0.5)
    w = -np.log(u[:, 1])
    if alpha == 1.0:
        return np.tan(angle)
    return (np.sin(alpha * angle) / np.cos(angle) ** (1.0 / alpha)
            * (np.cos((1.0 - alpha) * angle) / w) ** ((1.0 - alpha) / alpha))


def tail_index(samples, block: int | None = None) -> TailIndex:
    """Tail index α̂ of all entries of ``samples`` pooled into one sample (Şimşekli et al. 2019).

    Parameters
    ----------
    samples : array_like
        Centred noise values (e.g. minibatch minus full-batch gradients), any shape; every
        entry is treated as one draw, in C order.
    block : int, optional
        K₁ >= 2 (default ⌊√K⌋, Şimşekli et al.'s choice).

    Returns
    -------
    TailIndex
        Scalars.  α = 2 is the Gaussian; α < 2 heavy tails.  The estimate is not clipped
        to (0, 2].
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1, 1)
    t = _tail_index_columns(x, block)
    return TailIndex(*(float(np.asarray(a)[0]) for a in (t.alpha, t.stderr, t.inverse, t.inverse_se)),
                     t.block, t.n_blocks)


def tail_index_per_coordinate(samples, block: int | None = None) -> TailIndex:
    """Tail index α̂ of each coordinate separately.

    Parameters
    ----------
    samples : array_like, shape (K, d)
        K draws of a d-dimensional noise vector.
    block : int, optional
        K₁ >= 2 (default ⌊√K⌋).

    Returns
    -------
    TailIndex
        Arrays of shape (d,).
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"samples must have shape (K draws, d coordinates), got {x.shape}")
    return _tail_index_columns(x, block)


# ------------------------------------------------------------------ fluctuation-dissipation
@dataclass(frozen=True)
class FluctuationDissipation:
    """Yaida's first fluctuation–dissipation relation on a trace (module docstring).

    Attributes
    ----------
    dissipation : float
        ``⟨θ·g⟩``, the left-hand side.
    fluctuation : float
        ``(η/2)⟨|g|²⟩`` (plain SGD) or ``(1 + μ)/(2η) ⟨|v|²⟩`` (heavy ball).
    residual, residual_se : float
        ``dissipation − fluctuation`` and its standard error (batch means).
    relative, relative_se : float
        ``dissipation / fluctuation − 1`` and its SE.
    """

    dissipation: float
    fluctuation: float
    residual: float
    residual_se: float
    relative: float
    relative_se: float


def fluctuation_dissipation_residual(positions, grads, lr: float, *, momentum: float = 0.0, velocities=None,
                                     n_blocks: int = 10) -> FluctuationDissipation:
    """Residual of ``⟨θ·∇f⟩ = (η/2)⟨|g|²⟩`` (or its heavy-ball form) on a stationary trace.

    Parameters
    ----------
    positions : array_like, shape (T, M, d) or (T, d)
        θ_t of M independent runs at T consecutive steps (after burn-in).
    grads : array_like, same shape
        The minibatch gradients g_t used at those steps (``⟨θ·g⟩ = ⟨θ·∇f⟩`` since the
        batch is drawn independently of θ_t).
    lr : float
        η > 0.
    momentum : float
        μ in [0, 1); with μ > 0, ``velocities`` are required.
    velocities : array_like, same shape, optional
        v_t of heavy ball ``v_{t+1} = μ v_t − η g_t, θ_{t+1} = θ_t + v_{t+1}``; finite, of
        the shape of ``positions``.
    n_blocks : int
        Blocks in time per run for the batch-means standard error (>= 2): each run's trace
        is cut into this many consecutive blocks, and the block means of all runs are
        treated as independent (blocks much longer than the autocorrelation time).
    """
    theta = np.asarray(positions, dtype=np.float64)
    g = np.asarray(grads, dtype=np.float64)
    if theta.ndim == 2:
        theta, g = theta[:, None, :], (g[:, None, :] if g.ndim == 2 else g)
    if theta.ndim != 3 or g.shape != theta.shape:
        raise ValueError("positions and grads must have the same shape (T, M, d), "
                         f"got {theta.shape} and {g.shape}")
    lr, momentum = positive(lr, "lr"), real(momentum, "momentum")
    if not (0.0 <= momentum < 1.0):
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, (int, np.integer)) or n_blocks < 2:
        raise ValueError(f"n_blocks must be an integer >= 2, got {n_blocks!r}")
    t = theta.shape[0]
    if t < n_blocks:
        raise ValueError(f"the trace has {t} steps, fewer than n_blocks = {n_blocks}")
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(g))):
        raise ValueError("positions or grads contains NaN or inf")
    lhs = np.einsum("tmd,tmd->tm", theta, g)
    if momentum > 0:
        if velocities is None:
            raise ValueError("momentum > 0 needs the velocities")
        v = np.asarray(velocities, dtype=np.float64)
        if v.ndim == 2 and theta.shape[1] == 1:  # one run given as (T, d), like the positions
            v = v[:, None, :]
        if v.shape != theta.shape:
            raise ValueError(f"velocities must have the shape of positions {theta.shape}, got {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError("velocities contains NaN or inf")
        rhs = (1.0 + momentum) / (2.0 * lr) * np.einsum("tmd,tmd->tm", v, v)
    else:
        if velocities is not None:
            raise ValueError("velocities are only used with momentum > 0")
        rhs = 0.5 * lr * np.einsum("tmd,tmd->tm", g, g)
    length = t // n_blocks
    cut = slice(0, length * n_blocks)
    lhs_b = lhs[cut].reshape(n_blocks, length, -1).mean(axis=1).ravel()
    rhs_b = rhs[cut].reshape(n_blocks, length, -1).mean(axis=1).ravel()
    k = lhs_b.size
    diss, fluc = float(lhs_b.mean()), float(rhs_b.mean())
    res = lhs_b - rhs_b
    res_se = float(res.std(ddof=1) / math.sqrt(k))
    # ratio of means: linearise around (diss, fluc)
    rel_terms = lhs_b / fluc - diss * rhs_b / fluc**2
    rel_se = float(rel_terms.std(ddof=1) / math.sqrt(k))
    return FluctuationDissipation(diss, fluc, float(res.mean()), res_se, diss / fluc - 1.0, rel_se)

