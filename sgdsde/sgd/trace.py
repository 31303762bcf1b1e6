"""Minibatch SGD that keeps every step: positions, minibatch gradients and velocities.

:func:`sgdsde.sgd.minibatch.run_sgd` records observables every so many steps; relations
that pair the position at step t with the gradient used at that very step (Yaida's
fluctuation–dissipation relations, :func:`sgdsde.measure.gradient_stats.
fluctuation_dissipation_residual`) need the step's own minibatch gradient, which this
records.  Batches come from :class:`~sgdsde.sgd.minibatch.BatchSampler` (the counter-based
generator), so the runs are those of ``run_sgd`` with the same seed, sampling and stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import positive as _positive
from .._checks import real as _real
from ..landscapes.base import check_cloud
from ..landscapes.empirical_risk import EmpiricalRisk
from ..random import resolve_seed
from .minibatch import STREAM_MINIBATCH, BatchSampler

__all__ = ["SGDTrace", "sgd_trace"]


@dataclass(frozen=True)
class SGDTrace:
    """Steps ``burn_in … burn_in + n_steps − 1`` of an SGD ensemble.

    Attributes
    ----------
    positions : ndarray, shape (T, M, d)
        θ_t before the step.
    grads : ndarray, shape (T, M, d)
        The minibatch gradient g_t (with weight decay) used at step t.
    velocities : ndarray, shape (T, M, d) or None
        v_t before the step (heavy ball only).
    final : ndarray, shape (M, d)
        θ after the last step.
    seed : int or None
        The key the batches were drawn with (the one drawn for ``seed=None``): pass it back
        to replay the trace.
    """

    positions: np.ndarray
    grads: np.ndarray
    velocities: np.ndarray | None
    final: np.ndarray
    seed: int | None = None


def sgd_trace(loss: EmpiricalRisk, theta0, *, lr: float, batch_size: int, n_steps: int, burn_in: int = 0,
              momentum: float = 0.0, sampling: str = "with_replacement", seed: int | None = None,
              stream: int = STREAM_MINIBATCH) -> SGDTrace:
    """Run M SGD runs for ``burn_in + n_steps`` steps and keep the last ``n_steps``.

    Updates: plain ``θ_{t+1} = θ_t − η g_t``; heavy ball ``v_{t+1} = μ v_t − η g_t``,
    ``θ_{t+1} = θ_t + v_{t+1}`` (v_0 = 0), as in :func:`~sgdsde.sgd.minibatch.run_sgd`.

    Parameters
    ----------
    loss : EmpiricalRisk
    theta0 : array_like, shape (M, d)
        Finite starting parameters.
    lr : float
        η > 0.
    batch_size : int
        B in [1, n].
    n_steps : int
        Steps kept, >= 1.
    burn_in : int
        Steps run first and discarded, >= 0.
    momentum : float
        μ in [0, 1).
    sampling, seed, stream
        As in :class:`~sgdsde.sgd.minibatch.BatchSampler`; ``seed=None`` draws a fresh key,
        kept in ``SGDTrace.seed``.
    """
    if not isinstance(loss, EmpiricalRisk):
        raise TypeError(f"loss must be an EmpiricalRisk, got {type(loss).__name__}")
    theta = check_cloud(theta0, loss.dim, "theta0").copy()
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta0 contains NaN or inf")
    lr, momentum = _positive(lr, "lr"), _real(momentum, "momentum")
    if not (0.0 <= momentum < 1.0):
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    for name, value, low in (("n_steps", n_steps, 1), ("burn_in", burn_in, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    seed = resolve_seed(seed)
    sampler = BatchSampler(loss.n_examples, batch_size, sampling, seed, np.arange(theta.shape[0]), stream)
    shape = (n_steps, *theta.shape)
    positions, grads = np.empty(shape, theta.dtype), np.empty(shape, theta.dtype)
    velocity = np.zeros_like(theta) if momentum > 0 else None
    velocities = np.empty(shape, theta.dtype) if momentum > 0 else None
    for step in range(burn_in + n_steps):
        g = loss.batch_grad(theta, sampler.indices(step))
        t = step - burn_in
        if t >= 0:
            positions[t], grads[t] = theta, g
            if velocity is not None:
                velocities[t] = velocity
        if velocity is None:
            theta = theta - lr * g
        else:
            velocity = momentum * velocity - lr * g
            theta = theta + velocity
        if not np.all(np.isfinite(theta)):
            raise FloatingPointError(f"SGD diverged at step {step} (lr = {lr}); lower the learning rate")
    return SGDTrace(positions, grads, velocities, theta, seed)
