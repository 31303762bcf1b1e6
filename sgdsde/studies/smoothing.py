"""SGD as gradient descent on a smoothed loss (Kleinberg, Li & Yuan, ICML 2018, arXiv:1802.06175).

SGD with additive gradient noise, ``x_{t+1} = x_t − η (∇f(x_t) + ω_t)``, seen through the
sequence ``y_t = x_t − η ∇f(x_t)`` obeys

    y_{t+1} = y_t − η ω_t − η ∇f(y_t − η ω_t),

so, averaging over the noise ω_t (mean zero) at fixed y_t,

    E[y_{t+1} | y_t] = y_t − η ∇f̃(y_t),      f̃(y) = E_ω f(y − η ω):

in expectation the y-sequence takes exact gradient steps on the loss convolved with the
distribution of the step noise ηω.  When f is rugged but f̃ is convex (or one-point
convex), SGD escapes the local minima that trap gradient descent; when the noise is too
small to smooth the ripples, it stays trapped.

For Gaussian noise ω ~ N(0, σ² I) the smoothed loss is computed

* in closed form for :class:`~sgdsde.landscapes.toy.Rugged`
  (``f = Σ_i ½ k x_i² + ε cos(q x_i)``, q = 2π/λ):
  ``f̃ = Σ_i ½ k (y_i² + s²) + ε e^{−q²s²/2} cos(q y_i)``, s = ησ, which is convex iff
  ``ε q² e^{−q²s²/2} < k``, i.e. ``s > s* = sqrt(2 ln(ε q²/k)) / q``;
* by Gauss–Hermite quadrature for any landscape in one or two dimensions;
* by Monte Carlo, with its standard error, in any dimension.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import integer as _integer
from .._checks import positive as _positive
from ..landscapes.base import Landscape, check_cloud
from ..landscapes.toy import Rugged
from ..random import STREAM_USER, normals, resolve_seed

__all__ = ["smoothed_loss", "smoothed_grad", "convexity_threshold", "expected_smoothed_step",
           "noisy_gradient_descent", "METHODS"]

STREAM_SMOOTHING = STREAM_USER + 40  # Monte Carlo draws of ω
STREAM_SGD_NOISE = STREAM_USER + 41  # the additive gradient noise of noisy_gradient_descent
METHODS = ("auto", "closed", "quadrature", "monte_carlo")


def _method(landscape: Landscape, method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        if isinstance(landscape, Rugged):
            return "closed"
        return "quadrature" if landscape.dim <= 2 else "monte_carlo"
    if method == "closed" and not isinstance(landscape, Rugged):
        raise ValueError(f"method='closed' needs a Rugged landscape, got {type(landscape).__name__}; "
                         "use 'quadrature' (d <= 2) or 'monte_carlo'")
    if method == "quadrature" and landscape.dim > 2:
        raise ValueError("method='quadrature' is for d <= 2 (tensor Gauss–Hermite), "
                         f"got d = {landscape.dim}; "
                         "use 'monte_carlo'")
    return method


def _nodes(dim: int, n_nodes: int):
    """Gauss–Hermite nodes z (N, d) and weights w (N,) for E g(Z), Z ~ N(0, I_d)."""
    t, w = np.polynomial.hermite_e.hermegauss(n_nodes)  # weight e^{-t²/2}
    w = w / math.sqrt(2 * math.pi)
    grids = np.meshgrid(*([t] * dim), indexing="ij")
    weights = np.prod(np.meshgrid(*([w] * dim), indexing="ij"), axis=0)
    return np.stack([g.ravel() for g in grids], axis=1), weights.ravel()


def _average(fn, y, scale, method, n_nodes, n_samples, seed):
    """``E fn(y − scale·Z)`` for Z ~ N(0, I): (value, stderr) with leading axis M."""
    m, d = y.shape
    if method == "quadrature":
        z, w = _nodes(d, n_nodes)
        pts = (y[:, None, :] - scale * z[None]).reshape(-1, d)
        vals = fn(pts).reshape(m, len(w), *fn(y[:1]).shape[1:])
        value = np.tensordot(w, vals, axes=(0, 1))
        return value, np.zeros_like(value)
    z = normals(resolve_seed(seed), np.arange(n_samples), 0, d, STREAM_SMOOTHING)
    means, sds = [], []
    for point in y:  # one point at a time: memory n_samples · d
        vals = fn(point - scale * z)
        means.append(vals.mean(axis=0))
        sds.append(vals.std(axis=0, ddof=1) / math.sqrt(n_samples))
    return np.stack(means), np.stack(sds)


def _rugged_closed(landscape: Rugged, y, scale, grad: bool):
    k, eps = landscape.stiffness, landscape.amplitude
    q = 2 * np.pi / landscape.wavelength
    damp = eps * math.exp(-0.5 * (q * scale) ** 2)
    if grad:
        return k * y - damp * q * np.sin(q * y)
    return np.sum(0.5 * k * (y * y + scale * scale) + damp * np.cos(q * y), axis=1)


def _smoothed(landscape, y, lr, noise_std, method, n_nodes, n_samples, seed, grad):
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
    y = check_cloud(y, landscape.dim, "y", finite=True)
    scale = _positive(lr, "lr") * _positive(noise_std, "noise_std")
    method = _method(landscape, method)
    for name, value in (("n_nodes", n_nodes), ("n_samples", n_samples)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    if method == "closed":
        value = _rugged_closed(landscape, y, scale, grad)
        return value, np.zeros_like(value)
    fn = landscape.grad if grad else landscape.energy
    return _average(fn, y, scale, method, n_nodes, n_samples, seed)


def smoothed_loss(landscape: Landscape, y, lr: float, noise_std: float, *, method: str = "auto",
                  n_nodes: int = 60, n_samples: int = 100_000, seed: int | None = 0):
    """``f̃(y) = E f(y − η ω)``, ω ~ N(0, σ² I), and its standard error, each (M,).

    Parameters
    ----------
    landscape : Landscape
        f.
    y : array_like, shape (M, d)
        Finite points.
    lr : float
        η > 0.
    noise_std : float
        σ > 0, the standard deviation of each gradient-noise component.
    method : {"auto", "closed", "quadrature", "monte_carlo"}
        Module docstring; "auto" takes the first that applies.  Only Monte Carlo has a
        non-zero standard error.
    n_nodes : int
        Gauss–Hermite nodes per dimension (quadrature; exact for polynomials of degree
        < 2·n_nodes).
    n_samples : int
        Draws of ω (Monte Carlo), shared by all points (common random numbers).
    seed : int, optional
        Key of the Monte Carlo draws.
    """
    return _smoothed(landscape, y, lr, noise_std, method, n_nodes, n_samples, seed, grad=False)


def smoothed_grad(landscape: Landscape, y, lr: float, noise_std: float, *, method: str = "auto",
                  n_nodes: int = 60, n_samples: int = 100_000, seed: int | None = 0):
    """``∇f̃(y) = E ∇f(y − η ω)`` and its standard error, each (M, d); arguments as :func:`smoothed_loss`."""
    return _smoothed(landscape, y, lr, noise_std, method, n_nodes, n_samples, seed, grad=True)


def convexity_threshold(landscape: Rugged, lr: float) -> float:
    """The noise σ* above which the smoothed :class:`Rugged` loss is convex: ``s*/η``.

    ``f̃'' = k − ε q² e^{−q²s²/2} cos(q y)`` is positive everywhere iff
    ``s > s* = sqrt(2 ln(ε q²/k)) / q`` (s = ησ); zero when f itself is convex.
    """
    if not isinstance(landscape, Rugged):
        raise TypeError(f"landscape must be Rugged, got {type(landscape).__name__}")
    lr = _positive(lr, "lr")
    q = 2 * np.pi / landscape.wavelength
    ratio = landscape.amplitude * q * q / landscape.stiffness
    if ratio <= 1:
        return 0.0
    return math.sqrt(2 * math.log(ratio)) / q / lr


def expected_smoothed_step(landscape: Landscape, y, lr: float, noise_std: float, *, n_samples: int = 100_000,
                           seed: int | None = 0):
    """Monte Carlo of ``E[y_{t+1} | y_t = y]`` for SGD with Gaussian gradient noise, and its SE, (M, d).

    ``y_{t+1} = y − η ω − η ∇f(y − η ω)`` averaged over n_samples draws of ω ~ N(0, σ² I),
    taken as n_samples/2 antithetic pairs ±ω (the SE is that of the pair means);
    Kleinberg et al.'s identity says this equals ``y − η ∇f̃(y)`` (:func:`smoothed_grad`).

    Parameters
    ----------
    landscape : Landscape
    y : array_like, shape (M, d)
    lr : float
        η > 0.
    noise_std : float
        σ > 0.
    n_samples : int
        Even, >= 4: n_samples/2 >= 2 antithetic pairs (an SE needs two).
    seed : int, optional
        Key of the draws of ω.
    """
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
    y = check_cloud(y, landscape.dim, "y", finite=True)
    lr, noise_std = _positive(lr, "lr"), _positive(noise_std, "noise_std")
    if (isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 4
            or n_samples % 2):
        raise ValueError(f"n_samples must be an even integer >= 4 (at least two antithetic pairs ±ω "
                         f"for a standard error), got {n_samples!r}")
    half = n_samples // 2
    omega = noise_std * normals(resolve_seed(seed), np.arange(half), 0, landscape.dim, STREAM_SGD_NOISE)
    means, ses = [], []
    for point in y:
        pairs = 0.0
        for sign in (1.0, -1.0):  # antithetic pairs ±ω: the ω term averages to zero exactly
            x = point - sign * lr * omega
            pairs = pairs + 0.5 * (x - lr * landscape.grad(x))
        means.append(pairs.mean(axis=0))
        ses.append(pairs.std(axis=0, ddof=1) / math.sqrt(half))
    return np.stack(means), np.stack(ses)


def noisy_gradient_descent(landscape: Landscape, x0, lr: float, noise_std: float, n_steps: int, *,
                           seed: int | None = 0, record_every: int = 0):
    """M runs of ``x_{t+1} = x_t − η(∇f(x_t) + ω_t)``, ω_t ~ N(0, σ² I) from :mod:`sgdsde.random`.

    Parameters
    ----------
    landscape : Landscape
    x0 : array_like, shape (M, d)
        Finite starting points.
    lr, noise_std : float
        η > 0 and σ >= 0 (σ = 0 is gradient descent).
    n_steps : int
        >= 1.
    seed : int, optional
    record_every : int
        If > 0, also return the positions every this many steps, (n_records, M, d); 0 (the
        default) records nothing.  An integer >= 0.

    Returns
    -------
    final : ndarray, shape (M, d)
    records : ndarray or None
    """
    x = check_cloud(x0, landscape.dim, "x0", finite=True).copy()
    lr, noise_std = _positive(lr, "lr"), _positive(noise_std, "noise_std", allow_zero=True)
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    record_every = _integer(record_every, "record_every", 0)
    key, particles = resolve_seed(seed), np.arange(x.shape[0])
    records = []
    for step in range(n_steps):
        if record_every and step % record_every == 0:
            records.append(x.copy())
        noise = 0.0
        if noise_std:
            noise = noise_std * normals(key, particles, step, landscape.dim, STREAM_SGD_NOISE)
        x = x - lr * (landscape.grad(x) + noise)
    return x, (np.stack(records) if record_every else None)
