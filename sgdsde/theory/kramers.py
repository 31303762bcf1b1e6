"""Escape over a barrier: Kramers' rate and the exact 1-D mean first-passage time.

For overdamped Langevin dynamics ``dX = −U'(X) dt + sqrt(2T) dW`` (the convention of
:class:`~sgdsde.sde.LangevinSDE`):

* Kramers' rate (Kramers, Physica 7, 284 (1940); Hänggi, Talkner & Borkovec, Rev. Mod.
  Phys. 62, 251 (1990)) from a well at a over a saddle at s,
  ``k = sqrt(U''(a) |U''(s)|) / (2π) · exp(−ΔU/T)``, ΔU = U(s) − U(a);
* the exact mean first-passage time from x to b > x with a reflecting wall at L < x
  (Gardiner, *Handbook of Stochastic Methods*, ch. 5),
  ``τ(x) = (1/T) ∫_x^b dy e^{U(y)/T} ∫_L^y dz e^{−U(z)/T}``.

For a double well, the time from one minimum to the *other minimum* is ``1/k`` up to
corrections of relative order T/ΔU; the time to the barrier top is half of it.  For
``U = h(x² − 1)²`` the Laplace expansion of the double integral about the well and the
barrier gives ``k τ(−1 → +1) = 1 + (3/8) T/h + O(T²)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import integrate

from .._checks import positive as _finite_positive
from .._checks import real as _real

__all__ = ["kramers_rate", "mean_first_passage_time_1d"]

_TAIL = 60.0  # e^{-60} ≈ 1e-26: where the Boltzmann weight of the reflecting side is cut


def kramers_rate(well_curvature: float, barrier_curvature: float, barrier_height: float,
                 temperature: float) -> float:
    """Kramers' overdamped escape rate over a barrier (inverse time units).

    Parameters
    ----------
    well_curvature : float
        U''(a) > 0 at the bottom of the well the particle leaves.
    barrier_curvature : float
        U''(s) at the barrier top; its magnitude is used (either sign is accepted).
    barrier_height : float
        ΔU = U(s) − U(a) ≥ 0 (energy units).
    temperature : float
        T > 0 (energy units).

    Returns
    -------
    float
        ``sqrt(U''(a) |U''(s)|) / (2π) · exp(−ΔU/T)``; asymptotically exact as T/ΔU → 0.
    """
    k_a = _finite_positive(well_curvature, "well_curvature")
    k_s = _finite_positive(abs(_real(barrier_curvature, "barrier_curvature")), "|barrier_curvature|")
    t = _finite_positive(temperature, "temperature")
    du = _finite_positive(barrier_height, "barrier_height", allow_zero=True)
    return float(np.sqrt(k_a * k_s) / (2 * np.pi) * np.exp(-du / t))


def _tail_end(energy, start, target, temperature):
    """A left end L beyond which exp(−(U − U_min)/T) < e^{−60}: the wall at −∞ moved in."""
    span = max(1.0, target - start)
    for _ in range(64):
        z = np.linspace(start - span, target, 4001)
        u = np.asarray(energy(z), dtype=np.float64)
        if u.shape != z.shape or np.any(np.isnan(u) | (u == -np.inf)):  # +inf: a wall, fine
            raise ValueError(f"energy(x) must return finite values (or +inf) of the shape of x (on "
                             f"[{z[0]:g}, {z[-1]:g}], where the reflecting side is looked for)")
        excess = (u - np.min(u)) / temperature
        if excess[0] > _TAIL and u[0] >= u[1]:
            first_inside = int(np.argmax(excess <= _TAIL))
            return float(z[max(first_inside - 1, 0)])
        span *= 2
    raise ValueError("energy does not grow on the reflecting side: give a finite reflecting= wall")


def mean_first_passage_time_1d(energy: Callable[[np.ndarray], np.ndarray], temperature: float,
                               start, target: float, reflecting: float | None = None,
                               n_grid: int = 200_001):
    """Exact mean first-passage time of 1-D overdamped Langevin dynamics, by quadrature.

    ``τ(x) = (1/T) ∫_x^b dy e^{U(y)/T} ∫_L^y dz e^{−U(z)/T}`` for the SDE
    ``dX = −U'(X) dt + sqrt(2T) dW``, absorbing at the target b, reflecting at L.

    Parameters
    ----------
    energy : callable
        U(x) for a 1-D array of positions (vectorised), energy units.
    temperature : float
        T > 0 (energy units).
    start : float or array_like
        Starting point(s) x, all on the same side of ``target``.
    target : float
        Absorbing point b (e.g. the bottom of the other well).
    reflecting : float, optional
        Reflecting wall L behind the start(s) (a start may sit on it) (default: infinitely far; U must
        then grow there, and the domain is cut where exp(−ΔU/T) < e^{−60}).
    n_grid : int
        Points of the composite Simpson rule (`scipy.integrate.cumulative_simpson`) on
        [L, b]; the default resolves wells of width sqrt(T/U'') ≳ 1e-4 (b − L).

    Returns
    -------
    float or ndarray
        τ in the time units of the SDE, shaped like ``start``.

    Notes
    -----
    Both integrands are scaled by their largest Boltzmann factor, so barriers of hundreds
    of T neither overflow nor underflow until τ itself leaves the float64 range.
    """
    t = _finite_positive(temperature, "temperature")
    x = np.asarray(start, dtype=np.float64)
    b = float(target)
    if x.size == 0:
        raise ValueError("start must hold at least one point")
    if not (np.all(np.isfinite(x)) and np.isfinite(b)):
        raise ValueError("start and target must be finite")
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 101:
        raise ValueError(f"n_grid must be an integer >= 101, got {n_grid!r}")
    side = np.sign(b - x)
    if np.any(side == 0) or np.any(side != side.flat[0]):
        raise ValueError("every start must differ from target and lie on the same side of it")
    if side.flat[0] < 0:  # escape to the left: mirror x -> −x
        mirrored = None if reflecting is None else -float(reflecting)
        return mean_first_passage_time_1d(lambda y: energy(-y), t, -x, -b, mirrored, n_grid)

    x_min = float(np.min(x))
    if reflecting is None:
        left = _tail_end(energy, x_min, b, t)
        left = min(left, x_min)
    else:
        left = float(reflecting)
        if not (np.isfinite(left) and left <= x_min):
            raise ValueError(f"reflecting must be a finite wall behind every start (<= {x_min:g}), "
                             f"got {reflecting}")
    y = np.linspace(left, b, int(n_grid))
    u = np.asarray(energy(y), dtype=np.float64)
    if u.shape != y.shape or not np.all(np.isfinite(u)):
        raise ValueError("energy(x) must return finite values of the shape of x")
    u_min = u.min()
    inner = integrate.cumulative_simpson(np.exp(-(u - u_min) / t), x=y, initial=0.0)
    u_max = u[y >= x_min].max()
    with np.errstate(divide="ignore"):
        log_outer = (u - u_max) / t + np.log(inner)
    outer = integrate.cumulative_simpson(np.exp(log_outer), x=y, initial=0.0)
    remaining = outer[-1] - np.interp(x, y, outer)
    tau = remaining * np.exp((u_max - u_min) / t) / t
    return float(tau) if tau.ndim == 0 else tau
