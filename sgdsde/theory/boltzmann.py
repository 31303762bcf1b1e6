"""Boltzmann (Gibbs) densities by quadrature."""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

from .._checks import positive as _finite_positive

__all__ = ["boltzmann_density_1d"]

_PROBE = 10.0  # half-width of the default search for the minimum energy on an infinite side


def _probe_points(lower: float, upper: float) -> np.ndarray:
    """Points of [lower, upper] where the minimum energy is looked for (finite ends kept)."""
    lo = lower if math.isfinite(lower) else min(-_PROBE, upper - 2 * _PROBE)
    hi = upper if math.isfinite(upper) else max(_PROBE, lower + 2 * _PROBE)
    return np.linspace(lo, hi, 4001)


def boltzmann_density_1d(energy, temperature: float, x: np.ndarray,
                         bounds: tuple[float, float] = (-np.inf, np.inf)) -> np.ndarray:
    """Normalised density ``exp(−U(x)/T) / Z`` at the points ``x``.

    Parameters
    ----------
    energy : callable
        ``U(x)`` for a 1-D array of positions (vectorised).
    temperature : float
        T > 0, finite (energy units).
    x : ndarray, shape (n,)
        Where to evaluate the density.
    bounds : (float, float)
        Integration range of Z, lower < upper (default the real line; U must grow at
        infinity).

    Returns
    -------
    ndarray, shape (n,)
        The density (inverse length units); Z by adaptive quadrature (`scipy.integrate.quad`)
        with the minimum energy factored out so that small T does not underflow.  The
        minimum is looked for over the finite bounds (``[-10, 10]`` and beyond on an
        infinite side) and at the points ``x``, and the quadrature is split there.

    Raises
    ------
    ValueError
        For a temperature that is not a finite number > 0, bounds that are not increasing,
        NaN in ``x``,
        or a Z that overflows or vanishes (the minimum of U lies far from where it was
        looked for: give finite ``bounds`` around it).
    """
    t = _finite_positive(temperature, "temperature")
    lower, upper = (float(b) for b in bounds)
    if not lower < upper:  # NaN included
        raise ValueError(f"bounds must be (lower, upper) with lower < upper, got {bounds!r}")
    x = np.asarray(x, dtype=np.float64)
    if np.any(np.isnan(x)):
        raise ValueError("x must not contain NaN (positions where the density is evaluated)")
    probe = _probe_points(lower, upper)
    inside = x[(x >= lower) & (x <= upper)].ravel()
    candidates = np.concatenate([probe, inside])
    u_candidates = np.asarray(energy(candidates), dtype=np.float64)
    at = int(np.nanargmin(u_candidates))
    u_min, x_min = float(u_candidates[at]), float(candidates[at])

    def weight(y):
        return float(np.exp(-(energy(np.array([y]))[0] - u_min) / t))

    # split at the lowest point found: an infinite range is mapped onto (0, 1], where a narrow
    # well far from the origin could fall between the quadrature nodes
    z = sum(integrate.quad(weight, a, b, limit=400)[0]
            for a, b in ((lower, x_min), (x_min, upper)) if b > a)
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"the partition function Z = {z:g} (relative to exp(-{u_min:g}/T)) is not a "
                         "finite number > 0: the minimum of the energy lies far from where it was "
                         f"looked for ([{probe[0]:g}, {probe[-1]:g}] and x); give finite bounds around it")
    return np.exp(-(energy(x) - u_min) / t) / z
