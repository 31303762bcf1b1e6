"""Flat activations: no gradient flows through a piecewise-constant unit; a non-gradient rule learns.

Shalev-Shwartz, Shamir & Shammah ("Failures of gradient-based deep learning", ICML 2017,
arXiv:1703.07950, section 5) take a target ``y = u(w*·x)`` with u a monotone staircase
(piecewise constant, so ``u' = 0`` almost everywhere) and the model ``p_w(x) = u(w·x)``.
The square loss ``F(w) = E ½ (u(w·x) − y)²`` is piecewise constant in w: its gradient
``E (u(w·x) − y) u'(w·x) x`` is exactly zero wherever it exists, and gradient descent never
moves.  Their remedy drops the vanishing factor u' and uses the update

    w ← w − η E[(u(w·x) − y) x],

which, for monotone u, is a descent direction for |w − w*|²: each example contributes
``(u(w·x) − u(w*·x)) (w − w*)·x ≥ 0``.  (The same rule, for a general monotone link, is the
GLMtron of Kakade, Kanade, Shamir & Kalai, NeurIPS 2011.)

A deeper network with the library's ``"step"`` activation (:class:`~sgdsde.landscapes.mlp.
MLP`) shows the same mechanism layer by layer: gradient descent trains the output layer on
frozen random step features, and the first layer never receives a gradient.
"""

from __future__ import annotations

import numpy as np

from .._checks import positive as _positive
from ..landscapes.base import check_cloud

__all__ = ["staircase", "single_neuron_loss", "single_neuron_gradient", "forward_only_direction",
           "fit_single_neuron"]

RULES = ("gradient", "forward_only")


def _levels(levels) -> int:
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be an integer >= 1, got {levels!r}")
    return int(levels)


def staircase(r, levels: int = 5) -> np.ndarray:
    """The monotone staircase ``u(r) = (1/L) Σ_{j=1}^{L} 1[r > t_j]``, ``t_j = −1 + (2j − 1)/L``.

    L equal steps on [−1, 1], values in {0, 1/L, …, 1}: a piecewise-constant approximation
    of the ramp ``clip((r + 1)/2, 0, 1)``; ``u' = 0`` except at the L thresholds.  NaN
    stays NaN.
    """
    levels = _levels(levels)
    r = np.asarray(r)
    thresholds = -1.0 + (2.0 * np.arange(1, levels + 1) - 1.0) / levels
    dtype = r.dtype if r.dtype.kind == "f" else np.float64
    u = np.sum(r[..., None] > thresholds, axis=-1).astype(dtype) / levels
    return np.where(np.isnan(r), np.nan, u).astype(dtype, copy=False) if r.dtype.kind == "f" else u


def _check(w, x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ValueError(f"x must have shape (n, p) and y shape (n,), got {x.shape} and {y.shape}")
    w = check_cloud(w, x.shape[1], "w")
    for name, value in (("w", w), ("x", x), ("y", y)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains NaN or inf (the staircase would read NaN as below "
                             "every step)")
    return w, x, y


def single_neuron_loss(w, x, y, levels: int = 5) -> np.ndarray:
    """``F(w) = (1/n) Σ_i ½ (u(w·x_i) − y_i)²`` for a cloud of weights w (M, p): shape (M,)."""
    w, x, y = _check(w, x, y)
    r = staircase(w @ x.T, levels) - y
    return 0.5 * np.mean(r * r, axis=1)


def single_neuron_gradient(w, x, y, levels: int = 5) -> np.ndarray:
    """The gradient ``(1/n) Σ_i (u(w·x_i) − y_i) u'(w·x_i) x_i`` by the chain rule, (M, p).

    u' is zero off the thresholds, which a pre-activation ``w·x_i`` meets with probability
    zero: the result is the zero array (returned as computed, not assumed).
    """
    w, x, y = _check(w, x, y)
    r = w @ x.T
    levels = _levels(levels)
    thresholds = -1.0 + (2.0 * np.arange(1, levels + 1) - 1.0) / levels
    slope = np.zeros_like(r)  # u' = Σ_j δ(r − t_j)/L: nonzero only exactly on a threshold
    on_threshold = np.any(r[..., None] == thresholds, axis=-1)
    slope[on_threshold] = np.inf
    residual = staircase(r, levels) - y
    weights = np.where(slope == 0, 0.0, residual * slope)
    return weights @ x / x.shape[0]


def forward_only_direction(w, x, y, levels: int = 5) -> np.ndarray:
    """The non-gradient direction ``(1/n) Σ_i (u(w·x_i) − y_i) x_i`` (module docstring), (M, p)."""
    w, x, y = _check(w, x, y)
    return (staircase(w @ x.T, levels) - y) @ x / x.shape[0]


def fit_single_neuron(w0, x, y, *, rule: str, lr: float, n_steps: int, levels: int = 5,
                      record_every: int = 1):
    """Iterate ``w ← w − η · direction`` with the gradient or the forward-only rule.

    Parameters
    ----------
    w0 : array_like, shape (M, p)
    x : array_like, shape (n, p)
    y : array_like, shape (n,)
    rule : {"gradient", "forward_only"}
    lr : float
        η > 0.
    n_steps : int
    levels : int
        L, the staircase's steps.
    record_every : int

    Returns
    -------
    steps : ndarray, shape (R,)
    losses : ndarray, shape (R, M)
    w : ndarray, shape (M, p)
        The final weights.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    lr = _positive(lr, "lr")
    for name, value in (("n_steps", n_steps), ("record_every", record_every)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    w, x, y = _check(w0, x, y)
    w = w.copy()
    direction = single_neuron_gradient if rule == "gradient" else forward_only_direction
    steps, losses = [], []
    for step in range(n_steps + 1):
        if step % record_every == 0 or step == n_steps:
            steps.append(step)
            losses.append(single_neuron_loss(w, x, y, levels))
        if step < n_steps:
            w = w - lr * direction(w, x, y, levels)
    return np.array(steps), np.array(losses), w
