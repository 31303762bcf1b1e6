"""Exact Ornstein–Uhlenbeck results and the integrators' stationary variances (docs/theory.md §3)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ou_transition", "ou_moments", "em_stationary_variance"]


def ou_transition(x, stiffness: float, temperature: float, h: float, xi):
    """Exact transition of ``dX = −k X dt + sqrt(2T) dW`` over a time h.

    ``X(t+h) = e^{−kh} X(t) + sqrt(T (1 − e^{−2kh}) / k) ξ`` with ξ standard normal.
    """
    k = stiffness
    spread = math.sqrt(-temperature * math.expm1(-2 * k * h) / k)
    return math.exp(-k * h) * np.asarray(x) + spread * np.asarray(xi)


def ou_moments(x0: float, stiffness: float, temperature: float, t):
    """Mean and variance of the 1-D OU process at time t from the point x0.

    Returns ``(x0 e^{−kt}, T (1 − e^{−2kt}) / k)``.
    """
    t = np.asarray(t, dtype=np.float64)
    k = stiffness
    return x0 * np.exp(-k * t), -temperature * np.expm1(-2 * k * t) / k


def em_stationary_variance(stiffness: float, temperature: float, h: float) -> float:
    """Stationary variance of Euler–Maruyama on ``U = k x²/2``: ``T / (k (1 − k h / 2))``.

    Finite only for ``0 < k h < 2`` (the stability range of the scheme).
    """
    k = stiffness
    if not 0 < k * h < 2:
        raise ValueError(f"Euler–Maruyama is unstable for k*h = {k * h:g} (needs 0 < k h < 2)")
    return temperature / (k * (1 - k * h / 2))
