"""The gradient noise of minibatch SGD: covariance, its low-rank square root, its size.

With per-example gradients g_i = ∇f_i(θ), i = 1..n, mean ḡ = ∇f and the centred matrix
``G = [g_1 − ḡ, …, g_n − ḡ]ᵀ`` (n, d), the per-example covariance is
``D(θ) = GᵀG / n`` (docs/theory.md §1), and a minibatch of B examples has gradient covariance

* with replacement:     ``Σ = D / B = c² GᵀG``,  ``c² = 1 / (n B)``;
* without replacement:  ``Σ = (1 − B/n) D' / B``, ``D' = GᵀG / (n − 1)``,
  so ``c² = (1 − B/n) / (B (n − 1))`` (the finite-population correction).

Σ is kept in this low-rank form: ``c Gᵀ`` is a square root of Σ with n columns, and its
action on ξ ∈ R^n is ``c Σ_i (ξ_i − ξ̄) g_i``, a weighted gradient
(:meth:`~sgdsde.landscapes.networks.EmpiricalRisk.weighted_grad`).  The SDE noise
``sqrt(η Σ(θ)) ξ`` therefore costs one backward pass per step and never forms a d×d matrix,
nor even the (n, d) matrix G.  (A square root of rank n instead of d changes nothing in law:
``c Gᵀ ξ`` is Gaussian with covariance exactly Σ.)
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import boolean
from .._checks import integer as _integer
from .._checks import positive as _positive
from ..landscapes.networks import EmpiricalRisk
from ..sde import StateDependentNoise

__all__ = ["covariance_scale", "SGDNoise", "gradient_covariance", "noise_trace", "noise_to_signal"]


def covariance_scale(n_examples: int, batch_size: int, replacement: bool = True) -> float:
    """``c²`` with ``Σ = c² GᵀG`` for a batch of B out of n examples (module docstring).

    Parameters
    ----------
    n_examples : int
        n >= 1.
    batch_size : int
        B, ``1 <= B <= n``.
    replacement : bool
        Batches drawn with (True) or without (False) replacement.

    Raises
    ------
    ValueError
        Unless ``1 <= batch_size <= n_examples`` (and n >= 2 without replacement).
    TypeError
        If ``replacement`` is not a bool.
    """
    replacement = boolean(replacement, "replacement")
    n, b = _integer(n_examples, "n_examples", 1), batch_size
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {b!r}")
    if b > n:
        raise ValueError(f"batch_size = {b} is larger than the data set (n = {n} examples)")
    if replacement:
        return 1.0 / (n * b)
    if n < 2:
        raise ValueError("sampling without replacement needs n_examples >= 2")
    return (1.0 - b / n) / (b * (n - 1))


def _check_loss(loss):
    if not isinstance(loss, EmpiricalRisk):
        raise TypeError(f"loss must be an EmpiricalRisk landscape (a network), got {type(loss).__name__}")


def _check_theta(loss, theta) -> np.ndarray:
    """``theta`` as an (M, d) array of finite parameters, or a ValueError naming the row."""
    theta = loss._check(theta, "theta")
    finite = np.isfinite(theta).all(axis=1)
    if not finite.all():
        i = int(np.argmin(finite))
        raise ValueError(f"theta contains NaN or inf (row {i}): the gradient noise is only "
                         "defined at finite parameters")
    return theta


class SGDNoise(StateDependentNoise):
    """The SME noise ``B(θ) ξ = sqrt(η Σ(θ)) ξ`` in low-rank form, for :class:`~sgdsde.LangevinSDE`.

    Uses n standard normals per particle and step (one per example).

    Parameters
    ----------
    loss : EmpiricalRisk
        The network and its data set.
    lr : float
        Learning rate η > 0 (the SDE time is t = k·η).
    batch_size : int
        B, ``1 <= B <= n``.
    replacement : bool
        Batches drawn with (default) or without replacement.
    """

    def __init__(self, loss: EmpiricalRisk, lr: float, batch_size: int, *, replacement: bool = True):
        _check_loss(loss)
        lr = _positive(lr, "lr")
        self.loss, self.lr, self.batch_size, self.replacement = loss, lr, int(batch_size), bool(replacement)
        self.scale = math.sqrt(lr * covariance_scale(loss.n_examples, batch_size, replacement))
        super().__init__(self._apply, loss.n_examples)

    def _apply(self, theta, xi):
        centred = xi - xi.mean(axis=1, keepdims=True)
        return self.scale * self.loss.weighted_grad(theta, centred)

    def covariance(self, theta) -> np.ndarray:
        """The batch covariance Σ(θ) as dense (M, d, d) matrices (diagnostics, small d)."""
        return gradient_covariance(self.loss, theta, self.batch_size, replacement=self.replacement)

    def __repr__(self):
        return (f"SGDNoise({self.loss!r}, lr={self.lr}, batch_size={self.batch_size}, "
                f"replacement={self.replacement})")


def _centred_chunks(loss, theta, chunk):
    """Yield centred per-example gradient blocks (M, b, d) covering all n examples."""
    chunk = _integer(chunk, "chunk", 1)
    mean = loss.grad(theta)
    for start in range(0, loss.n_examples, chunk):
        idx = np.arange(start, min(start + chunk, loss.n_examples))
        yield loss.per_example_grads(theta, idx) - mean[:, None, :]


def gradient_covariance(loss: EmpiricalRisk, theta, batch_size: int = 1, *, replacement: bool = True,
                        chunk: int = 256) -> np.ndarray:
    """Dense minibatch gradient covariance Σ(θ), shape (M, d, d).

    ``batch_size=1, replacement=True`` gives the per-example covariance D(θ).  Costs
    O(M n d²) time and O(M d²) memory: for diagnostics and tests on small d; the dynamics use
    the low-rank :class:`SGDNoise`.

    Parameters
    ----------
    loss : EmpiricalRisk
    theta : array_like, shape (M, d)
    batch_size : int
    replacement : bool
    chunk : int
        Examples per block of per-example gradients, >= 1 (bounds the memory to M·chunk·d).
    """
    _check_loss(loss)
    theta = _check_theta(loss, theta)
    c2 = covariance_scale(loss.n_examples, batch_size, replacement)
    out = np.zeros((theta.shape[0], loss.dim, loss.dim), dtype=theta.dtype)
    for g in _centred_chunks(loss, theta, chunk):
        out += np.einsum("mbi,mbj->mij", g, g)
    return c2 * out


def noise_trace(loss: EmpiricalRisk, theta, batch_size: int = 1, *, replacement: bool = True,
                chunk: int = 256) -> np.ndarray:
    """``Tr Σ(θ) = c² Σ_i |g_i − ḡ|²`` without forming Σ, shape (M,)."""
    _check_loss(loss)
    theta = _check_theta(loss, theta)
    c2 = covariance_scale(loss.n_examples, batch_size, replacement)
    total = np.zeros(theta.shape[0], dtype=theta.dtype)
    for g in _centred_chunks(loss, theta, chunk):
        total += np.einsum("mbi,mbi->m", g, g)
    return c2 * total


def noise_to_signal(loss: EmpiricalRisk, theta, batch_size: int = 1, *,
                    replacement: bool = True) -> np.ndarray:
    """The noise-to-signal ratio ``Tr Σ(θ) / |∇f(θ)|²``, shape (M,).

    Small ratios mean minibatch SGD follows gradient descent; ratios of order one or more
    (near a minimum, where ∇f → 0 but Σ does not) mean the noise dominates the drift.
    """
    _check_loss(loss)
    theta = _check_theta(loss, theta)
    g = loss.grad(theta)
    return noise_trace(loss, theta, batch_size, replacement=replacement) / np.sum(g * g, axis=1)
