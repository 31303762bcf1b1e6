"""A Fokker–Planck density beside a particle cloud: distances with their sampling-noise floor.

The cloud is binned on the solver's own grid (:func:`~sgdsde.measure.distances.histogram_density`)
and compared with the density by KL(histogram‖density), total variation and, in 1-D,
Wasserstein-1.  A histogram of M exact samples is itself at a non-zero distance from the
density; :func:`~sgdsde.measure.distances.sampling_noise_floor` gives the mean and spread of
that distance (multinomial cell counts), and a cloud agrees with the density when its
distance is within a few spreads of the floor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..measure.distances import (
    histogram_density,
    kl_divergence_grid,
    sampling_noise_floor,
    total_variation_grid,
    wasserstein1_grid,
)
from ..plot import get_ax
from ..results import Trajectory
from .evolve import DensityEvolution

__all__ = ["CloudComparison", "compare_with_cloud", "plot_density_vs_cloud"]

METRICS = ("kl", "tv", "w1")


def _clouds(clouds, dim: int) -> dict[float, np.ndarray]:
    """``{t: (M, d) cloud}`` from a mapping or a Trajectory that saved ``"position"``."""
    if isinstance(clouds, Trajectory):
        if "position" not in clouds.observables:
            raise ValueError('the trajectory must record the cloud: SaveAt(observables={"position": '
                             '"position"})')
        pairs = zip(clouds.ts, clouds.observables["position"], strict=True)
    elif isinstance(clouds, Mapping):
        pairs = clouds.items()
    else:
        raise TypeError("clouds must be a mapping {time: cloud (M, d)} or a Trajectory with a "
                        f"'position' observable, got {type(clouds).__name__}")
    out = {}
    for t, x in pairs:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != dim:
            raise ValueError(f"the cloud at t = {t:g} must have shape (M, {dim}), got {x.shape}")
        out[float(t)] = x
    if not out:
        raise ValueError("no clouds to compare")
    return out


def _on_grid(grid, clouds: dict[float, np.ndarray]) -> dict[float, np.ndarray]:
    """The clouds with every periodic axis wrapped into ``[lower, upper)``: on a ring a
    particle at ``x + L`` is the particle at ``x`` (particles do not wrap while they move)."""
    periodic = [a for a, wall in enumerate(grid.boundary) if wall == "periodic"]
    if not periodic:
        return clouds
    out = {}
    for t, x in clouds.items():
        x = x.copy()
        for a in periodic:
            lo, length = grid.lower[a], grid.upper[a] - grid.lower[a]
            x[:, a] = lo + np.mod(x[:, a] - lo, length)
        out[t] = x
    return out


def _edges(grid):
    return grid.edges[0] if grid.ndim == 1 else grid.edges


@dataclass(frozen=True)
class CloudComparison:
    """Distances between clouds and densities at a few times, with the sampling-noise floor.

    Attributes
    ----------
    ts : ndarray, shape (n_times,)
    n_particles : ndarray of int, shape (n_times,)
    distance, floor_mean, floor_std : dict of str to ndarray, shape (n_times,)
        Per metric (``"kl"`` in nats, ``"tv"`` in [0, 1], ``"w1"`` in length units): the
        measured distance, and the mean and standard deviation of the distance of a
        histogram of as many exact samples.
    outside : ndarray, shape (n_times,)
        Fraction of particles outside the grid (they count as missing mass); on a periodic
        axis positions are first wrapped into the box, so none is outside along it.
    """

    ts: np.ndarray
    n_particles: np.ndarray
    distance: dict
    floor_mean: dict
    floor_std: dict
    outside: np.ndarray

    def excess(self, metric: str) -> np.ndarray:
        """``(distance − floor_mean) / floor_std``: how many spreads above the floor."""
        return (self.distance[metric] - self.floor_mean[metric]) / self.floor_std[metric]

    def within_floor(self, n_std: float = 5.0) -> bool:
        """True if every distance is at most ``floor_mean + n_std · floor_std``."""
        return all(bool(np.all(self.excess(m) <= n_std)) for m in self.distance)

    def table(self) -> str:
        """A plain-text table: one row per time, ``distance (floor ± spread)`` per metric."""
        head = f"{'t':>8} {'M':>8} " + " ".join(f"{m + ' (floor ± sd)':>30}" for m in self.distance)
        rows = [head]
        for i, t in enumerate(self.ts):
            cells = " ".join(f"{self.distance[m][i]:10.3g} ({self.floor_mean[m][i]:8.3g} ± "
                             f"{self.floor_std[m][i]:7.2g})" for m in self.distance)
            rows.append(f"{t:8.3g} {self.n_particles[i]:8d} {cells}")
        return "\n".join(rows)


def compare_with_cloud(evolution: DensityEvolution, clouds, *, metrics: Sequence[str] = METRICS,
                       n_repeats: int = 200, seed: int = 0) -> CloudComparison:
    """Compare particle clouds with the Fokker–Planck densities at the same times.

    Parameters
    ----------
    evolution : DensityEvolution
        Densities saved (at least) at the times of the clouds.
    clouds : mapping of float to ndarray (M, d), or Trajectory
        Clouds by time, or a :class:`~sgdsde.results.Trajectory` that recorded
        ``"position"`` (every record is compared).  Along a periodic axis of the grid the
        positions are wrapped into the box first.
    metrics : sequence of {"kl", "tv", "w1"}
        ``"w1"`` only on 1-D grids.
    n_repeats : int
        Histograms drawn for the noise floor.
    seed : int
        Seed of the noise-floor draws.

    Returns
    -------
    CloudComparison
    """
    if not isinstance(evolution, DensityEvolution):
        raise TypeError(f"evolution must be a DensityEvolution, got {type(evolution).__name__}")
    grid = evolution.grid
    metrics = tuple(metrics)
    bad = [m for m in metrics if m not in METRICS]
    if bad or not metrics:
        raise ValueError(f"metrics must be a non-empty subset of {METRICS}, got {metrics!r}")
    if "w1" in metrics and grid.ndim != 1:
        raise ValueError("metric 'w1' is defined on 1-D grids only")
    by_time = _on_grid(grid, _clouds(clouds, grid.ndim))
    edges = _edges(grid)
    distance_fns = {
        "kl": lambda h, p: kl_divergence_grid(h, p, grid.cell_volume),
        "tv": lambda h, p: total_variation_grid(h, p, grid.cell_volume),
        "w1": lambda h, p: wasserstein1_grid(h, p, grid.axes[0]),
    }
    dist = {m: [] for m in metrics}
    mean = {m: [] for m in metrics}
    std = {m: [] for m in metrics}
    outside, sizes = [], []
    for t, x in by_time.items():
        p = evolution.at(t)
        hist = histogram_density(x, edges)
        sizes.append(x.shape[0])
        inside = np.all((x >= np.array(grid.lower)) & (x <= np.array(grid.upper)), axis=1)
        outside.append(1.0 - inside.mean())
        for m in metrics:
            dist[m].append(distance_fns[m](hist, p))
            f_mean, f_std = sampling_noise_floor(p, edges, x.shape[0], m, n_repeats=n_repeats, seed=seed)
            mean[m].append(f_mean)
            std[m].append(f_std)
    arr = {k: np.array(v) for k, v in dist.items()}
    return CloudComparison(ts=np.array(list(by_time)), n_particles=np.array(sizes), distance=arr,
                           floor_mean={k: np.array(v) for k, v in mean.items()},
                           floor_std={k: np.array(v) for k, v in std.items()},
                           outside=np.array(outside))


def plot_density_vs_cloud(evolution: DensityEvolution, clouds, times: Sequence[float] | None = None, *,
                          n_bins: int = 100, ax=None, colors=None):
    """Overlay Fokker–Planck densities (lines) and cloud histograms (steps) at chosen times (1-D).

    Parameters
    ----------
    evolution : DensityEvolution
        On a 1-D grid, with densities saved at ``times``.
    clouds : mapping of float to ndarray (M, 1), or Trajectory
        As in :func:`compare_with_cloud`.
    times : sequence of float, optional
        Which times to draw (default: every time of ``clouds``).
    n_bins : int
        Histogram bins: grid cells are merged in groups so that there are about ``n_bins``
        (the histogram stays on the grid's edges).
    ax : matplotlib Axes, optional
    colors : sequence of colours, optional
        One per time (default: the viridis map).

    Returns
    -------
    matplotlib Axes
    """
    grid = evolution.grid
    if grid.ndim != 1:
        raise ValueError(f"plot_density_vs_cloud draws 1-D densities, the grid is {grid.ndim}-D")
    by_time = _on_grid(grid, _clouds(clouds, 1))
    times = list(by_time) if times is None else [float(t) for t in times]
    missing = [t for t in times if t not in by_time]
    if missing:
        raise ValueError(f"no cloud at times {missing}; clouds are at {list(by_time)}")
    ax = get_ax(ax)
    if colors is None:
        import matplotlib as mpl

        colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.85, len(times)))
    merge = max(1, grid.shape[0] // int(n_bins))
    cut = np.unique(np.append(np.arange(0, grid.shape[0] + 1, merge), grid.shape[0]))
    edges = grid.edges[0][cut]
    x = grid.axes[0]
    for t, c in zip(times, colors, strict=False):
        ax.stairs(histogram_density(by_time[t], edges), edges, color=c, alpha=0.5, lw=1.2, fill=False)
        ax.plot(x, evolution.at(t), color=c, lw=1.8, label=f"t = {t:g}")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend(frameon=False, title="Fokker–Planck (line), cloud (steps)", fontsize="small",
              title_fontsize="small")
    return ax
