"""Sharded clouds: one run split into shards of consecutive particles on Dask workers.

The noise of a particle is a function of (seed, global particle index, step), so the
shards together follow the paths of the single-process run.  Reached as
``simulate(..., client=...)`` and :func:`sgdsde.distributed.simulate_sharded`; it needs
only the client object, not Dask itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ._checks import integer as _integer
from .landscapes.base import check_cloud
from .results import Trajectory

__all__ = ["simulate_sharded"]


def _simulate_shard(run, sde, integrator, x_shard, offset, kwargs):
    return run(sde, integrator, x_shard, particle_offset=offset, progress=False, **kwargs)


def simulate_sharded(run: Callable, sde, integrator, x0, *, client, n_shards: int | None = None,
                     **kwargs):
    """``run`` with the cloud split into shards of consecutive particles on Dask workers.

    Parameters
    ----------
    run : callable
        The single-process driver, :func:`sgdsde.simulate` (passed in, so that this module,
        which the driver imports for ``simulate(..., client=...)``, does not import it).
    sde, integrator, x0
        As for :func:`sgdsde.simulate`; ``x0`` has shape (M, d).
    client : distributed.Client
        Where the shards run.
    n_shards : int, optional
        Number of shards, an integer in [1, M] (default: the number of worker threads of the
        client, at most M).
    **kwargs
        Passed to :func:`sgdsde.simulate` (``dt``, ``t1``/``n_steps``, ``save``, ``seed``,
        ``backend``, ...); ``seed`` must be given so every shard uses the same one.

    Returns
    -------
    Trajectory
        Per-particle observables (records of shape (M_shard, ...)) and the final cloud are
        concatenated in particle order; the built-in ``"mean"`` is combined with the shard
        sizes as weights.  ``stats["wall_time"]`` is the elapsed time of the whole call.

    Notes
    -----
    An observable that returns one value per record for the whole shard (other than
    ``"mean"``) cannot be combined without knowing how it reduces: make it per-particle
    and reduce after the run.
    """
    if kwargs.get("seed") is None:
        raise ValueError("simulate_sharded needs an explicit seed= shared by all shards")
    for bad in ("particle_offset", "checkpoint", "resume", "v0", "checkpoint_every", "continue_from"):
        if kwargs.get(bad) is not None:
            raise ValueError(f"{bad}= is not supported with client=")
        kwargs.pop(bad, None)
    x0 = check_cloud(x0, sde.dim, "x0")
    m = x0.shape[0]
    if n_shards is None:
        n_shards = min(m, max(1, sum(client.nthreads().values())))
    n_shards = _integer(n_shards, "n_shards", minimum=1)
    if not n_shards <= m:
        raise ValueError(f"n_shards must lie in [1, {m}] (the number of particles), got {n_shards}")
    bounds = np.linspace(0, m, n_shards + 1).round().astype(int)
    start = time.perf_counter()
    futures = [client.submit(_simulate_shard, run, sde, integrator, x0[a:b], int(a), kwargs, pure=False)
               for a, b in zip(bounds[:-1], bounds[1:])]
    shards = client.gather(futures)
    wall = time.perf_counter() - start
    sizes = np.diff(bounds)
    save = kwargs.get("save")
    observables = {}
    for name in shards[0].observables:
        parts = [s.observables[name] for s in shards]
        builtin = None if save is None else save.observables.get(name)
        if builtin == "mean":
            observables[name] = sum(p * w for p, w in zip(parts, sizes)) / m
        elif all(p.ndim >= 2 and p.shape[1] == n for p, n in zip(parts, sizes)):
            observables[name] = np.concatenate(parts, axis=1)
        else:
            raise ValueError(f"observable {name!r} is not per-particle (records of shape (M, ...)); "
                             "it cannot be combined across shards")
    first = shards[0]
    stats = dict(first.stats)
    stats.update(wall_time=wall, particle_steps_per_s=stats["n_steps"] * m / wall,
                 n_shards=n_shards, shard_wall_times=[s.stats["wall_time"] for s in shards])
    if "n_accepted_total" in stats:
        stats["n_accepted_total"] = sum(s.stats["n_accepted_total"] for s in shards)
        stats["acceptance_rate"] = stats["n_accepted_total"] / max(1, stats["n_steps"] * m)
    settings = dict(first.settings, n_particles=m, particle_offset=0, n_shards=n_shards)
    final_v = None if first.final_velocity is None else np.concatenate([s.final_velocity for s in shards])
    return Trajectory(ts=first.ts, steps=first.steps, observables=observables,
                      final=np.concatenate([s.final for s in shards]), final_velocity=final_v,
                      step=first.step, stats=stats, settings=settings)
