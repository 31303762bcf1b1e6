"""Boltzmann (Gibbs) densities by quadrature."""

from __future__ import annotations

import numpy as np
from scipy import integrate

__all__ = ["boltzmann_density_1d"]


def boltzmann_density_1d(energy, temperature: float, x: np.ndarray,
                         bounds: tuple[float, float] = (-np.inf, np.inf)) -> np.ndarray:
    """Normalised density ``exp(−U(x)/T) / Z`` at the points ``x``.

    Parameters
    ----------
    energy : callable
        ``U(x)`` for a 1-D array of positions (vectorised).
    temperature : float
        T > 0 (energy units).
    x : ndarray, shape (n,)
        Where to evaluate the density.
    bounds : (float, float)
        Integration range of Z (default the real line; U must grow at infinity).

    Returns
    -------
    ndarray, shape (n,)
        The density (inverse length units); Z by adaptive quadrature (`scipy.integrate.quad`)
        with the minimum energy factored out so that small T does not underflow.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    x = np.asarray(x, dtype=np.float64)
    probe = np.linspace(*(np.clip(bounds, -10, 10)), 4001)
    u_min = float(np.min(energy(probe)))

    def weight(y):
        return float(np.exp(-(energy(np.array([y]))[0] - u_min) / temperature))

    z, _ = integrate.quad(weight, *bounds, limit=400)
    return np.exp(-(energy(x) - u_min) / temperature) / z
