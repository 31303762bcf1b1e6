"""The one driver loop: ``simulate(sde, integrator, x0, ...) -> Trajectory``."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .backends import get_backend
from .integrators.base import Integrator
from .landscapes.base import check_cloud
from .random import STREAM_VELOCITY, normals, resolve_seed
from .results import DivergenceError, Trajectory
from .save import SaveAt
from .sde import LangevinSDE

__all__ = ["simulate"]

MAX_CHUNK = 1024  # steps per kernel call at most, so progress and Ctrl-C stay responsive


def _n_steps(t0, t1, dt, n_steps):
    if (t1 is None) == (n_steps is None):
        raise ValueError("give exactly one of t1= (final time) or n_steps=")
    if n_steps is not None:
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
            raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
        return int(n_steps)
    span = float(t1) - t0
    if not (math.isfinite(span) and span >= 0):
        raise ValueError(f"t1 must be finite and >= t0 = {t0}, got {t1}")
    n = round(span / dt)
    if abs(n * dt - span) > 1e-9 * max(span, dt):
        raise ValueError(f"t1 - t0 = {span:g} is not a whole number of steps dt = {dt:g}; "
                         "pass n_steps= or adjust t1")
    return n


def _initial_velocity(sde, v0, x0, seed, offset):
    if not sde.is_underdamped:
        if v0 is not None:
            raise ValueError("v0 is only used by underdamped dynamics (friction=...)")
        return None
    if v0 is None:  # Maxwell–Boltzmann at T (zero for non-thermal noise)
        t = sde.temperature or 0.0
        xi = normals(seed, np.arange(offset, offset + x0.shape[0]), 0, sde.dim, STREAM_VELOCITY)
        return (math.sqrt(t / sde.mass) * xi).astype(x0.dtype)
    v0 = check_cloud(v0, sde.dim, "v0")
    if v0.shape != x0.shape:
        raise ValueError(f"v0 must have the shape of x0 {x0.shape}, got {v0.shape}")
    if not np.all(np.isfinite(v0)):
        raise ValueError("v0 contains NaN or inf")
    return v0.astype(x0.dtype, copy=True)


def simulate(sde: LangevinSDE, integrator: Integrator, x0=None, *, dt: float,
             t1: float | None = None, n_steps: int | None = None, t0: float = 0.0,
             save: SaveAt | None = None, backend: str = "numba", seed: int | None = None,
             v0=None, progress: bool = True, checkpoint: str | Path | None = None,
             checkpoint_every: int | None = None, resume: Trajectory | str | Path | None = None,
             particle_offset: int = 0, max_abs: float | None = None, client=None,
             n_shards: int | None = None) -> Trajectory:
    """Integrate a cloud of particles under a Langevin SDE.

    Parameters
    ----------
    sde : LangevinSDE
        The dynamics (conventions in :class:`~sgdsde.LangevinSDE`).
    integrator : Integrator
        The scheme, e.g. ``EulerMaruyama()`` or ``BAOAB()``.
    x0 : array_like, shape (M, d)
        Initial positions, float32 or float64 (the dtype is kept throughout).  Not needed
        when resuming.
    dt : float
        Step h > 0 in SDE time units (for SGD, t = k·η).
    t1, n_steps : float or int
        Final time or number of steps (exactly one).
    t0 : float
        Time of step 0.
    save : SaveAt, optional
        What to record and how often (default: every 100 steps, no observables).
    backend : {"numba", "numpy", "cupy"}
        Where to compute; results agree to rounding across backends.
    seed : int, optional
        The one source of randomness; None draws one and records it in ``settings``.
    v0 : array_like, shape (M, d), optional
        Initial velocities (underdamped; default Maxwell–Boltzmann at T).
    progress : bool
        Show a progress bar.
    checkpoint : path, optional
        File to write the partial trajectory to every ``checkpoint_every`` steps (default:
        at every record), on Ctrl-C and on divergence; resume with ``resume=``.
    resume : Trajectory or path, optional
        Continue an interrupted run to its original target along the identical path (the
        noise of step n depends only on the seed and n).  ``t1``/``n_steps`` may extend it.
    particle_offset : int
        Global index of the cloud's first particle (shards of one cloud use disjoint ranges).
    max_abs : float, optional
        Blow-up threshold on |x_k| and |v_k| (default sqrt of the dtype's largest value).
    client : distributed.Client, optional
        Run the cloud in ``n_shards`` shards of consecutive particles on Dask workers
        (:func:`sgdsde.distributed.simulate_sharded`; extra ``sgdsde[distributed]``).  The
        result equals the single-process one: the noise is a function of the particle index.
    n_shards : int, optional
        Number of shards with ``client`` (default: the client's worker threads).

    Returns
    -------
    Trajectory
        Records, final cloud, statistics and settings.  A run interrupted by Ctrl-C returns
        what it computed (``stats["interrupted"] = True``) instead of raising.

    Raises
    ------
    DivergenceError
        If a particle blows up; carries the step, the particles and the partial trajectory.
    """
    if client is not None:
        from .distributed import simulate_sharded

        return simulate_sharded(sde, integrator, x0, client=client, n_shards=n_shards, dt=dt, t1=t1,
                                n_steps=n_steps, t0=t0, save=save, backend=backend, seed=seed, v0=v0,
                                checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                                resume=resume, max_abs=max_abs,
                                particle_offset=particle_offset or None)
    if not isinstance(sde, LangevinSDE):
        raise TypeError(f"sde must be a LangevinSDE, got {type(sde).__name__}")
    if not isinstance(integrator, Integrator):
        raise TypeError(f"integrator must be an Integrator, got {type(integrator).__name__}")
    integrator.check(sde)
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0, got {dt}")
    be = get_backend(backend)
    save = SaveAt() if save is None else save
    if not isinstance(save, SaveAt):
        raise TypeError(f"save must be a SaveAt, got {type(save).__name__}")

    if resume is not None:
        prior = resume if isinstance(resume, Trajectory) else Trajectory.load(resume)
        st = prior.settings
        if st.get("integrator") != integrator.name:
            raise ValueError(f"resume: the run used {st.get('integrator')}, not {integrator.name}")
        if not math.isclose(st["dt"], dt, rel_tol=1e-15):
            raise ValueError(f"resume: the run used dt = {st['dt']}, not {dt}")
        if st.get("sde") != repr(sde):
            raise ValueError(f"resume: the run's SDE was {st.get('sde')}, not {sde!r}")
        seed, t0, offset = int(st["seed"]), float(st["t0"]), int(st["particle_offset"])
        x = np.array(prior.final)
        v = None if prior.final_velocity is None else np.array(prior.final_velocity)
        step_start = prior.step
        target = int(st["target_step"])
        if t1 is not None or n_steps is not None:  # a new target, counted from step 0
            target = _n_steps(t0, t1, dt, n_steps)
            if target < step_start:
                raise ValueError(f"resume: the new target step {target} precedes the "
                                 f"checkpoint's step {step_start}")
        history_steps = list(prior.steps)
        history = {k: list(v_) for k, v_ in prior.observables.items()}
        stats0 = prior.stats
    else:
        if x0 is None:
            raise ValueError("x0 is required (unless resume= is given)")
        x = check_cloud(x0, sde.dim, "x0").copy()
        if x.shape[0] == 0:
            raise ValueError(f"x0 must hold at least one particle, got shape {x.shape}")
        bad = ~np.all(np.isfinite(x), axis=1)
        if bad.any():
            raise ValueError(f"x0 contains NaN or inf (particle {int(np.argmax(bad))})")
        sde.manifold.check(x, "x0")
        seed = resolve_seed(seed)
        offset = int(particle_offset)
        if offset < 0:
            raise ValueError(f"particle_offset must be >= 0, got {particle_offset}")
        v = _initial_velocity(sde, v0, x, seed, offset)
        step_start = 0
        target = _n_steps(float(t0), t1, dt, n_steps)
        t0 = float(t0)
        history_steps, history, stats0 = [], {}, {}

    n_particles = x.shape[0]
    particles = np.arange(offset, offset + n_particles, dtype=np.int64)
    if max_abs is None:
        max_abs = math.sqrt(np.finfo(x.dtype).max)
    every_ckpt = save.every if checkpoint_every is None else int(checkpoint_every)
    if every_ckpt < 1:
        raise ValueError(f"checkpoint_every must be >= 1 step, got {checkpoint_every}")

    settings = {
        "integrator": integrator.name, "sde": repr(sde), "dt": dt, "t0": t0,
        "target_step": int(target), "seed": int(seed), "backend": be.name,
        "save_every": save.every, "particle_offset": offset, "n_particles": n_particles,
        "dim": sde.dim, "dtype": str(x.dtype), "max_abs": float(max_abs),
    }
    state = integrator.init_state(sde, x, v)
    diverged = np.full(n_particles, -1, dtype=np.int64)

    def record(step):
        values = be.observe(save, sde, state)  # all first: an observable may raise (Ctrl-C)
        history_steps.append(step)
        for name, value in values.items():
            history.setdefault(name, []).append(value)

    def trajectory(step, interrupted, wall, diverged_run=False):
        taken = step - step_start
        n_acc = None if state.n_accepted is None else int(state.n_accepted.sum())
        prev_steps = stats0.get("n_steps", 0)
        prev_acc = stats0.get("n_accepted_total", 0) or 0
        stats = {
            "n_steps": prev_steps + taken,
            "n_grad_evals": stats0.get("n_grad_evals", 0) + state.n_grad_evals,
            "wall_time": stats0.get("wall_time", 0.0) + wall,
            "particle_steps_per_s": taken * n_particles / wall if wall > 0 else float("nan"),
            "interrupted": interrupted,
            "diverged": diverged_run,
            "fused": bool(getattr(be, "can_fuse", lambda *a: False)(integrator, sde)),
        }
        if n_acc is not None:
            stats["n_accepted_total"] = prev_acc + n_acc
            stats["acceptance_rate"] = stats["n_accepted_total"] / max(1, (prev_steps + taken) * n_particles)
        obs = {k: np.stack(v_) if v_ else np.empty((0,)) for k, v_ in history.items()}
        steps = np.asarray(history_steps, dtype=np.int64)
        return Trajectory(ts=t0 + steps * dt, steps=steps, observables=obs, final=be.to_host(state.x),
                          final_velocity=be.to_host(state.v), step=step, stats=stats, settings=settings)

    if resume is None:
        if save.start:
            record(0)
    elif ((step_start % save.every == 0 or step_start == target)
          and (not history_steps or history_steps[-1] != step_start)):
        record(step_start)  # the run was interrupted while recording this step
    step = step_start
    start = time.perf_counter()
    bar = tqdm(total=target - step_start, disable=not progress, unit="step", leave=False,
               desc=f"{integrator.name} ({be.name})")
    try:
        while step < target:
            next_save = (step // save.every + 1) * save.every
            next_ckpt = (step // every_ckpt + 1) * every_ckpt
            stop = min(next_save, next_ckpt, target, step + MAX_CHUNK)
            work = state.copy()  # a chunk is committed whole, so Ctrl-C never splits a step
            reached = be.advance(integrator, sde, work, step, stop - step, dt, seed, particles,
                                 max_abs, diverged)
            state = work
            if (diverged >= 0).any():
                first = int(diverged[diverged >= 0].min())
                step = stop if reached is None else int(reached)
                traj = trajectory(step, False, time.perf_counter() - start, diverged_run=True)
                if checkpoint is not None:
                    traj.save(checkpoint)
                raise DivergenceError(first, particles[diverged >= 0], traj, dt)
            bar.update(stop - step)
            step = stop
            if step % save.every == 0 or step == target:
                record(step)
            if checkpoint is not None and (step % every_ckpt == 0) and step < target:
                trajectory(step, False, time.perf_counter() - start).save(checkpoint)
    except KeyboardInterrupt:
        bar.close()
        traj = trajectory(step, True, time.perf_counter() - start)
        if checkpoint is not None:
            traj.save(checkpoint)
        return traj
    bar.close()
    traj = trajectory(step, False, time.perf_counter() - start)
    if checkpoint is not None:
        traj.save(checkpoint)
    return traj
