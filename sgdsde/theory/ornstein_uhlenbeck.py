"""Exact Ornstein–Uhlenbeck results and the integrators' stationary variances (docs/theory.md §3)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ou_transition", "ou_moments", "em_stationary_variance"]


def _real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check(stiffness, temperature) -> tuple[float, float]:
    k = _real(stiffness, "stiffness")
    temperature = _real(temperature, "temperature")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    return k, temperature


def _spread(k: float, temperature: float, t: np.ndarray) -> np.ndarray:
    """``T (1 − e^{−2kt}) / k``, with its limit ``2 T t`` at k = 0 (expm1 keeps small kt exact)."""
    if k == 0:
        return 2.0 * temperature * t
    return -temperature * np.expm1(-2.0 * k * t) / k


def ou_transition(x, stiffness: float, temperature: float, h: float, xi):
    """Exact transition of ``dX = −k X dt + sqrt(2T) dW`` over a time h.

    ``X(t+h) = e^{−kh} X(t) + sqrt(T (1 − e^{−2kh}) / k) ξ`` with ξ standard normal.

    Parameters
    ----------
    x : array_like
        Positions at time t.
    stiffness : float
        k, any finite real: k > 0 confines, k = 0 is free diffusion (variance 2Th), k < 0
        repels (the variance ``T (e^{2|k|h} − 1)/|k|`` grows exponentially).
    temperature : float
        T >= 0.
    h : float
        Time step >= 0.
    xi : array_like
        Standard normals, broadcast against x.
    """
    k, temperature = _check(stiffness, temperature)
    h = _real(h, "h")
    if h < 0:
        raise ValueError(f"h must be >= 0 (a transition forward in time), got {h}")
    spread = math.sqrt(float(_spread(k, temperature, np.float64(h))))
    return math.exp(-k * h) * np.asarray(x) + spread * np.asarray(xi)


def ou_moments(x0: float, stiffness: float, temperature: float, t):
    """Mean and variance of the 1-D OU process at time t from the point x0.

    Returns ``(x0 e^{−kt}, T (1 − e^{−2kt}) / k)``; at k = 0 the limit ``(x0, 2Tt)`` (free
    diffusion).  ``stiffness`` and ``temperature`` are as in :func:`ou_transition`.

    Raises
    ------
    ValueError
        If some t < 0 or is not finite, or k, T or x0 is not finite (or T < 0).
    """
    k, temperature = _check(stiffness, temperature)
    x0 = np.asarray(x0, dtype=np.float64)
    if not np.all(np.isfinite(x0)):
        raise ValueError("x0 must be finite")
    t = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("t must be finite and >= 0 (times after the start at x0)")
    return x0 * np.exp(-k * t), _spread(k, temperature, t)


def em_stationary_variance(stiffness: float, temperature: float, h: float) -> float:
    """Stationary variance of Euler–Maruyama on ``U = k x²/2``: ``T / (k (1 − k h / 2))``.

    Parameters
    ----------
    stiffness : float
        k > 0 (a confining well; inverse time units).
    temperature : float
        T >= 0 (energy units).
    h : float
        Step h > 0 (time units).

    Returns
    -------
    float
        The variance (length²); finite only for ``k h < 2`` (the stability range of the
        scheme).

    Raises
    ------
    ValueError
        If k or h is not a finite number > 0, T not a finite number >= 0, or ``k h >= 2``.
    """
    k, temperature = _check(stiffness, temperature)
    if k <= 0:
        raise ValueError(f"stiffness must be > 0 (no stationary state otherwise), got {k}")
    h = _real(h, "h")
    if h <= 0:
        raise ValueError(f"h must be a finite number > 0, got {h}")
    if not 0 < k * h < 2:
        raise ValueError(f"Euler–Maruyama is unstable for k*h = {k * h:g} (needs 0 < k h < 2)")
    return temperature / (k * (1 - k * h / 2))
