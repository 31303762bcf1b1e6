"""Time evolution of a density under a Fokker–Planck generator, and what is tracked along it.

Two propagators:

* ``"implicit_euler"``: ``(I − Δt L) p_{n+1} = p_n`` with one sparse LU factorisation
  (``scipy.sparse.linalg.splu``) reused for every step.  ``(I − Δt L)^{-1}`` is a
  column-stochastic matrix with non-negative entries (``I − Δt L`` is an M-matrix whose
  columns sum to one), so for any Δt the density stays positive, its mass is kept to
  rounding, and KL(p_n‖p_∞) — hence the free energy — never increases (data processing).
  First order in Δt.
* ``"expm"``: ``p(t) = e^{tL} p_0`` by ``scipy.sparse.linalg.expm_multiply`` (exact in time
  up to the tolerance of the truncated Taylor series; entries may dip below zero by rounding).

Tracked at every saved time (all integrals by the midpoint rule on the grid):
``mass`` ∫p, ``mean_energy`` E[U], ``entropy`` S = −∫p ln p, ``kl`` KL(p‖p_∞) and, for a gradient
drift at temperature T, ``free_energy`` F = E[U] − T·S.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as splinalg
from scipy.special import entr, rel_entr

from .._checks import positive
from .grid import Grid
from .operator import FokkerPlanck

__all__ = ["DensityEvolution", "check_density", "density_observables", "evolve"]

METHODS = ("implicit_euler", "expm")


def check_density(grid: Grid, p0, name: str = "p0") -> np.ndarray:
    """Return ``p0`` as a normalised density of shape ``grid.shape``, or raise.

    Parameters
    ----------
    grid : Grid
    p0 : array_like or callable
        Values at the cell centres (shape ``grid.shape`` or ``(grid.size,)``), or a callable
        ``p0(points (size, d)) -> (size,)``.  Any positive multiple of a density is accepted
        and normalised so that ``Σ p · cell_volume = 1``.

    Raises
    ------
    ValueError
        For a wrong shape, NaN or inf entries, negative values, or zero mass.
    """
    values = p0(grid.points) if callable(p0) else p0
    p = np.array(values, dtype=np.float64)
    if p.shape not in (grid.shape, (grid.size,)):
        raise ValueError(f"{name} must have shape {grid.shape} (the grid), got {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} is not normalisable: it has NaN or infinite values")
    if np.any(p < 0):
        i = int(np.argmin(p.ravel()))
        raise ValueError(f"{name} must be non-negative; it is {p.ravel()[i]:g} at x = {grid.points[i]}")
    mass = p.sum() * grid.cell_volume
    if not (math.isfinite(mass) and mass > 0):
        raise ValueError(f"{name} is not normalisable: its integral over the grid is {mass:g}")
    return (p / mass).reshape(grid.shape)


def density_observables(fp: FokkerPlanck, p: np.ndarray, stationary: np.ndarray | None = None) -> dict:
    """Mass, E[U], entropy, KL(p‖p_∞) and (with a temperature) the free energy of a density.

    Parameters
    ----------
    fp : FokkerPlanck
    p : ndarray, shape grid.shape
        A density (inverse length^d).
    stationary : ndarray, optional
        p_∞ (default ``fp.stationary()``).

    Returns
    -------
    dict of str to float
        ``mass`` (dimensionless), ``mean_energy`` (energy), ``entropy`` (nats, differential,
        −∫p ln p), ``kl`` (nats), ``free_energy`` = E[U] − T·S (energy; only for a
        conservative landscape at a temperature ``fp.temperature``, where it is the Lyapunov
        function ``T·KL + const``).
    """
    grid = fp.grid
    q = fp.stationary() if stationary is None else stationary
    mass = grid.integrate(p)
    out = {
        "mass": mass,
        "mean_energy": grid.integrate(fp.energy * p),
        "entropy": grid.integrate(entr(p)),
        # KL of the normalised density: mass drift by rounding must not masquerade as KL
        "kl": grid.integrate(rel_entr(p / mass, q)),
    }
    if fp.temperature is not None and fp.landscape.is_conservative:
        out["free_energy"] = out["mean_energy"] - fp.temperature * out["entropy"]
    return out


@dataclass(frozen=True)
class DensityEvolution:
    """Densities at chosen times and the observables tracked along them.

    Attributes
    ----------
    ts : ndarray, shape (n_times,)
        Times (SDE time units).
    densities : ndarray, shape ``(n_times, *grid.shape)``
        p(t) at the cell centres.
    observables : dict of str to ndarray
        Each of shape (n_times,); see :func:`density_observables`.
    stationary : ndarray, shape grid.shape, or None
        p_∞, the reference of the KL; None when nothing was tracked (``track=False``), so that
        a generator without a unique stationary state can still be evolved.
    grid : Grid
    stats : dict
        ``method``, ``dt``, ``n_steps``, ``n_factorizations``, ``wall_time`` (s).
    """

    ts: np.ndarray
    densities: np.ndarray
    observables: dict
    stationary: np.ndarray | None
    grid: Grid
    stats: dict = field(default_factory=dict)

    def at(self, t: float) -> np.ndarray:
        """The density saved at time ``t`` (to 1e-9 relative), shape grid.shape."""
        i = int(np.argmin(np.abs(self.ts - t)))
        if not math.isclose(self.ts[i], t, rel_tol=1e-9, abs_tol=1e-12):
            raise ValueError(f"no density saved at t = {t:g}; saved times are {self.ts.tolist()}")
        return self.densities[i]


def _times(times) -> np.ndarray:
    ts = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if ts.ndim != 1 or ts.size == 0 or not np.all(np.isfinite(ts)) or ts[0] < 0 or np.any(np.diff(ts) <= 0):
        raise ValueError(f"times must be a non-empty increasing sequence of finite times >= 0, got {times!r}")
    return ts


def evolve(fp: FokkerPlanck, p0, times, *, dt: float | None = None, method: str = "implicit_euler",
           track: bool = True) -> DensityEvolution:
    """Evolve a density from t = 0 and save it at ``times``.

    Parameters
    ----------
    fp : FokkerPlanck
        The generator.
    p0 : array_like or callable
        Initial density (see :func:`check_density`; normalised here).
    times : array_like, shape (n_times,)
        Increasing save times ≥ 0 (0 saves the initial density).
    dt : float, optional
        Implicit Euler step (required for ``"implicit_euler"``); every time must be a whole
        number of steps.
    method : {"implicit_euler", "expm"}
        Propagator (module docstring).
    track : bool
        Compute the observables at every saved time (this needs ``fp.stationary()``, the
        reference of the KL; with ``track=False`` it is not computed).

    Returns
    -------
    DensityEvolution
    """
    if not isinstance(fp, FokkerPlanck):
        raise TypeError(f"fp must be a FokkerPlanck, got {type(fp).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    grid = fp.grid
    p = check_density(grid, p0).ravel()
    ts = _times(times)
    start = time.perf_counter()
    out = np.empty((ts.size, grid.size))
    n_steps = n_factorizations = 0
    if method == "implicit_euler":
        if dt is None:
            raise ValueError('method="implicit_euler" needs dt=')
        dt = positive(dt, "dt")
        steps = np.rint(ts / dt).astype(np.int64)
        if np.any(np.abs(steps * dt - ts) > 1e-9 * np.maximum(ts, dt)):
            raise ValueError(f"every time must be a whole number of steps dt = {dt:g}; got {ts.tolist()}")
        solve: Callable = splinalg.splu((sparse.identity(grid.size, format="csc")
                                         - dt * fp.generator.tocsc()).tocsc()).solve
        n_factorizations = 1
        done = 0
        for i, target in enumerate(steps):
            for _ in range(target - done):
                p = solve(p)
            done = target
            out[i] = p
        n_steps = int(done)
    else:
        if dt is not None:
            raise ValueError('dt= is only used by method="implicit_euler"')
        generator = fp.generator.tocsr()
        t_prev = 0.0
        for i, t in enumerate(ts):
            if t > t_prev:
                p = splinalg.expm_multiply(generator * (t - t_prev), p)
            t_prev = t
            out[i] = p
    wall = time.perf_counter() - start
    densities = out.reshape((ts.size, *grid.shape))
    q = None  # p_∞ is only the reference of the tracked KL: not computed (nor required) otherwise
    observables = {}
    if track:
        q = fp.stationary()
        rows = [density_observables(fp, d, q) for d in densities]
        observables = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    stats = {"method": method, "dt": dt, "n_steps": n_steps, "n_factorizations": n_factorizations,
             "wall_time": wall}
    return DensityEvolution(ts=ts, densities=densities, observables=observables, stationary=q,
                            grid=grid, stats=stats)
