"""The one driver loop: ``simulate(sde, integrator, x0, ...) -> Trajectory``."""

from __future__ import annotations

import math
import os
import time
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._threads import with_blas_threads
from .backends import get_backend
from .divergence import MAX_GROWTH, check_max_abs, check_max_growth, divergence_error, initial_scale
from .integrators.base import Integrator
from .landscapes.base import check_cloud
from .manifolds import Sphere
from .random import STREAM_VELOCITY, normals, resolve_seed
from .results import Trajectory
from .save import SaveAt
from .sde import LangevinSDE

__all__ = ["simulate"]

MAX_CHUNK = 1024  # steps per kernel call at most, so progress and Ctrl-C stay responsive
PARTICLE_LIMIT = 2**32  # global particle indices of the counter-based generator lie below this
_RESUME_IGNORES = ("x0", "v0", "seed", "t0", "particle_offset")


def _check_checkpoint_path(checkpoint) -> Path:
    """``checkpoint`` as a Path whose folder exists and is writable (checked before any work)."""
    path = Path(checkpoint)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"checkpoint must be a file path, got the folder {str(path)!r}")
    if not folder.is_dir():
        raise ValueError(f"checkpoint: the folder {str(folder)!r} does not exist (create it first)")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"checkpoint: the folder {str(folder)!r} is not writable")
    return path


def _write_checkpoint(traj: Trajectory, path: Path) -> None:
    """Save ``traj`` to ``path``; a failure warns (the run and its result go on)."""
    try:
        traj.save(path)
    except OSError as err:
        warnings.warn(f"could not write the checkpoint {str(path)!r} ({err}); the run goes on and "
                      "its trajectory is returned, but nothing is saved there", RuntimeWarning,
                      stacklevel=3)


def _divergence_reason(x_bad, v_bad, max_abs, bound, growth, scale, sphere_step) -> str:
    """Which test the diverged particles failed (their positions/velocities given)."""
    values = x_bad if v_bad is None else np.concatenate([x_bad, v_bad], axis=1)
    if not np.all(np.isfinite(values)):
        return "a position or velocity became NaN or inf"
    peak = float(np.max(np.abs(values)))
    what = "|x_k|" if v_bad is None else "|x_k| or |v_k|"
    if peak > max_abs:
        return f"{what} = {peak:.3g} exceeded max_abs = {max_abs:.3g}"
    if peak > bound:
        return (f"{what} = {peak:.3g} grew past max_growth = {growth:.3g} times the "
                f"initial scale {scale:.3g}")
    if sphere_step:
        return ("a step's tangent increment exceeded the sphere's radius (the retraction hides "
                "such steps)")
    return "the step left the bounds"


def _notify_compiling(be, integrator, sde, bar, progress) -> bool:
    """Say once that Numba kernels are being compiled (the bar would sit at 0 % meanwhile)."""
    pending = getattr(be, "needs_compiling", None)
    if not progress or pending is None or not pending(integrator, sde):
        return False
    message = "compiling kernels (first run only, typically 10-80 s; cached on disk afterwards)"
    bar.set_description_str(f"{integrator.name} ({be.name}): {message}")
    bar.refresh()
    return True


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


def _finite_number(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a finite number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def _same(given, own) -> bool:
    """True if an argument repeats the resumed run's own value."""
    try:
        return own is not None and float(given) == float(own)
    except (TypeError, ValueError):
        return False


def _check_offset(particle_offset, n_particles) -> int:
    """The global index of the first particle: an integer with the cloud inside [0, 2**32)."""
    if particle_offset is None:
        return 0
    if isinstance(particle_offset, bool) or not isinstance(particle_offset, (int, np.integer)):
        raise TypeError(f"particle_offset must be an int, got {type(particle_offset).__name__}")
    offset = int(particle_offset)
    if offset < 0:
        raise ValueError(f"particle_offset must be >= 0, got {particle_offset}")
    if offset + n_particles > PARTICLE_LIMIT:
        raise ValueError(f"particle_offset + n_particles must be <= 2**32 (the generator's particle "
                         f"indices), got {offset} + {n_particles}")
    return offset


def _resume_save(prior: Trajectory, save: SaveAt | None) -> SaveAt:
    """The SaveAt of a resumed run: the run's own, or a given one that records the same rows.

    Every observable must keep one row per entry of ``ts``, so a SaveAt given on resume
    must record as often and the same observable names; without one, the run's SaveAt is
    rebuilt when its observables are built-ins (functions cannot be stored in a file).
    """
    st = prior.settings
    every = int(st.get("save_every", SaveAt().every))
    recorded = st.get("save_observables")
    if recorded is None:  # a file of an older version: the names seen in its records
        recorded = {k: None for k in prior.observables} if prior.steps.size else {}
    if save is None:
        functions = sorted(k for k, fn in recorded.items() if fn is None)
        if functions:
            raise ValueError(f"resume: the run recorded the observables {functions} computed by "
                             f"functions, which a file cannot hold: pass save=SaveAt(every={every}, "
                             "observables={...}) with the same names")
        return SaveAt(every=every, observables=dict(recorded), start=bool(st.get("save_start", True)))
    if save.every != every:
        raise ValueError(f"resume: the run recorded every {every} steps; a SaveAt given with resume= "
                         f"must record as often (got every={save.every}) so that the records line up")
    if sorted(save.observables) != sorted(recorded):
        raise ValueError(f"resume: the run recorded the observables {sorted(recorded)}; a SaveAt given "
                         f"with resume= must record the same names (got {sorted(save.observables)}) "
                         "so that every observable has one row per time in ts")
    return save


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


@with_blas_threads
def simulate(sde: LangevinSDE, integrator: Integrator, x0=None, *, dt: float,
             t1: float | None = None, n_steps: int | None = None, t0: float | None = None,
             save: SaveAt | None = None, backend: str = "numba", seed: int | None = None,
             v0=None, progress: bool = True, checkpoint: str | Path | None = None,
             checkpoint_every: int | None = None, resume: Trajectory | str | Path | None = None,
             particle_offset: int | None = None, max_abs: float | None = None,
             max_growth: float = MAX_GROWTH, client=None,
             n_shards: int | None = None) -> Trajectory:
    """Integrate a cloud of particles under a Langevin SDE.

    Parameters
    ----------
    sde : LangevinSDE
        The dynamics (conventions in :class:`~sgdsde.LangevinSDE`).
    integrator : Integrator
        The scheme, e.g. ``EulerMaruyama()`` or ``BAOAB()``.
    x0 : array_like, shape (M, d)
        Initial positions, float32 or float64 (the dtype is kept throughout).  Not given
        when resuming.
    dt : float
        Step h > 0 in SDE time units (for SGD, t = k·η).
    t1, n_steps : float or int
        Final time or number of steps (exactly one).
    t0 : float, optional
        Time of step 0 (finite; default 0).  Not given when resuming.
    save : SaveAt, optional
        What to record and how often (default: every 100 steps, no observables).  When
        resuming it defaults to the run's own (rebuilt when its observables are built-ins);
        a SaveAt given then must record every as many steps and the same observable names,
        so that every observable has one row per entry of ``ts``.
    backend : {"numba", "numpy", "cupy"}
        Where to compute; results agree to rounding across backends.
    seed : int, optional
        The one source of randomness; None draws one and records it in ``settings``.  Not
        given when resuming (the run's own seed is used).
    v0 : array_like, shape (M, d), optional
        Initial velocities (underdamped; default Maxwell–Boltzmann at T).
    progress : bool
        Show a progress bar (it says when Numba kernels are compiled on a first run).
    checkpoint : path, optional
        File to write the partial trajectory to every ``checkpoint_every`` steps (default:
        at every record), on Ctrl-C and on divergence; resume with ``resume=``.  Its folder
        must exist and be writable (checked before any step); a write that fails later
        warns and the run goes on.
    checkpoint_every : int, optional
        Steps between checkpoint writes (only with ``checkpoint``).
    resume : Trajectory or path, optional
        Continue an interrupted run to its original target along the identical path (the
        noise of step n depends only on the seed and n).  ``t1``/``n_steps`` may extend it.
        ``x0``, ``v0``, ``seed``, ``t0`` and ``particle_offset`` come from the run and may not
        be given.
    particle_offset : int, optional
        Global index of the cloud's first particle (default 0; shards of one cloud use
        disjoint ranges); ``particle_offset + M <= 2**32``.
    max_abs : float, optional
        Absolute blow-up bound > 0 on |x_k| and |v_k| (default sqrt of the dtype's largest
        value).
    max_growth : float
        Relative blow-up factor > 1 (default 1e8; ``math.inf`` switches the test off); see
        Notes.
    client : distributed.Client, optional
        Run the cloud in ``n_shards`` shards of consecutive particles on Dask workers
        (:func:`sgdsde.distributed.simulate_sharded`; extra ``sgdsde[distributed]``).  The
        result equals the single-process one: the noise is a function of the particle index.
    n_shards : int, optional
        Number of shards (only with ``client``; default: the client's worker threads).

    Returns
    -------
    Trajectory
        Records, final cloud, statistics and settings.  A run interrupted by Ctrl-C returns
        what it computed (``stats["interrupted"] = True``) instead of raising.

    Raises
    ------
    DivergenceError
        If a particle blows up; carries the step, the particles and the partial trajectory.

    Notes
    -----
    **When a run counts as blown up.**  A particle diverges at the first step after which

    * a component of its position or velocity is NaN or inf, or exceeds
      ``min(max_abs, max_growth · s)`` in absolute value, with the initial scale
      ``s = max(1, max |x0|, max |v0|)`` over the whole cloud (so 1e8 times its start by
      default: a bounded or diffusing cloud never gets there in a meaningful run, an
      unstable one does long before floating point overflows).  This is checked after every
      step inside the kernels, at no extra cost;
    * on a sphere of radius R, the step's tangent increment exceeds R (the angle between
      the points before and after the step exceeds 45°): the retraction would otherwise
      hide a step far too large for the landscape;
    * at a record, the built-in observable ``"energy"`` (when it is recorded) is NaN or
      ``|U| > max_growth² · max(1, max |U(x0)|)`` (the square: U grows at least like |x|²
      for a confining landscape).

    The run then stops with a :class:`~sgdsde.DivergenceError` whose message says which
    test failed; ``s`` and the energy scale are kept in ``settings`` so that a resumed run
    applies the same bounds.
    """
    if isinstance(client, (str, bytes, os.PathLike)):
        raise TypeError(f"client must be a dask.distributed.Client, got the {type(client).__name__} "
                        f"{client!r}: connect first, e.g. client = distributed.Client({client!r})")
    if client is None and n_shards is not None:
        raise ValueError("n_shards= is only used with client= (sharded runs on Dask workers)")
    if checkpoint is None and checkpoint_every is not None:
        raise ValueError("checkpoint_every= is only used with checkpoint= (a file to write)")
    if client is not None:
        from .distributed import simulate_sharded

        return simulate_sharded(sde, integrator, x0, client=client, n_shards=n_shards, dt=dt, t1=t1,
                                n_steps=n_steps, t0=0.0 if t0 is None else t0, save=save,
                                backend=backend, seed=seed, v0=v0, checkpoint=checkpoint,
                                checkpoint_every=checkpoint_every, resume=resume, max_abs=max_abs,
                                max_growth=max_growth, particle_offset=particle_offset or None)
    if not isinstance(sde, LangevinSDE):
        raise TypeError(f"sde must be a LangevinSDE, got {type(sde).__name__}")
    if not isinstance(integrator, Integrator):
        raise TypeError(f"integrator must be an Integrator, got {type(integrator).__name__}")
    integrator.check(sde)
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0, got {dt}")
    max_growth = check_max_growth(max_growth)
    be = get_backend(backend)
    if save is not None and not isinstance(save, SaveAt):
        raise TypeError(f"save must be a SaveAt, got {type(save).__name__}")
    if checkpoint is not None:
        checkpoint = _check_checkpoint_path(checkpoint)

    if resume is not None:
        prior = resume if isinstance(resume, Trajectory) else Trajectory.load(resume)
        st = prior.settings
        given = {"x0": x0, "v0": v0, "seed": seed, "t0": t0, "particle_offset": particle_offset}
        own = {"seed": st.get("seed"), "t0": st.get("t0"), "particle_offset": st.get("particle_offset")}
        ignored = [name for name in _RESUME_IGNORES  # the run's own value may be repeated
                   if given[name] is not None and not (name in own and _same(given[name], own[name]))]
        if ignored:
            raise ValueError(f"resume= continues the run with its own {', '.join(ignored)} "
                             f"(seed={own['seed']}, t0={own['t0']}, particle_offset="
                             f"{own['particle_offset']}): do not pass "
                             f"{', '.join(n + '=' for n in ignored)}")
        if st.get("integrator") != integrator.name:
            raise ValueError(f"resume: the run used {st.get('integrator')}, not {integrator.name}")
        if not math.isclose(st["dt"], dt, rel_tol=1e-15):
            raise ValueError(f"resume: the run used dt = {st['dt']}, not {dt}")
        if st.get("sde") != repr(sde):
            raise ValueError(f"resume: the run's SDE was {st.get('sde')}, not {sde!r}")
        save = _resume_save(prior, save)
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
        max_abs = check_max_abs(st.get("max_abs") if max_abs is None else max_abs, x.dtype)
        scale = float(st.get("growth_scale", initial_scale(x, v)))
        energy_scale = st.get("energy_scale")
    else:
        save = SaveAt() if save is None else save
        if x0 is None:
            raise ValueError("x0 is required (unless resume= is given)")
        t0 = 0.0 if t0 is None else _finite_number(t0, "t0")
        x = check_cloud(x0, sde.dim, "x0").copy()
        if x.shape[0] == 0:
            raise ValueError(f"x0 must hold at least one particle, got shape {x.shape}")
        bad = ~np.all(np.isfinite(x), axis=1)
        if bad.any():
            raise ValueError(f"x0 contains NaN or inf (particle {int(np.argmax(bad))})")
        sde.manifold.check(x, "x0")
        seed = resolve_seed(seed)
        offset = _check_offset(particle_offset, x.shape[0])
        v = _initial_velocity(sde, v0, x, seed, offset)
        step_start = 0
        target = _n_steps(t0, t1, dt, n_steps)
        history_steps, history, stats0 = [], {}, {}
        max_abs = check_max_abs(max_abs, x.dtype)
        scale = initial_scale(x, v)
        energy_scale = None
        if "energy" in save.observables.values():
            energy_scale = max(1.0, float(np.max(np.abs(sde.landscape.energy(x)))))

    n_particles = x.shape[0]
    particles = np.arange(offset, offset + n_particles, dtype=np.int64)
    bound = min(max_abs, max_growth * scale)
    energy_bound = None if energy_scale is None else max_growth**2 * energy_scale
    every_ckpt = save.every if checkpoint_every is None else int(checkpoint_every)
    if every_ckpt < 1:
        raise ValueError(f"checkpoint_every must be >= 1 step, got {checkpoint_every}")

    settings = {
        "integrator": integrator.name, "sde": repr(sde), "dt": dt, "t0": t0,
        "target_step": int(target), "seed": int(seed), "backend": be.name,
        "save_every": save.every, "save_start": bool(save.start),
        "save_observables": {k: fn if isinstance(fn, str) else None
                             for k, fn in save.observables.items()},
        "particle_offset": offset, "n_particles": n_particles,
        "dim": sde.dim, "dtype": str(x.dtype), "max_abs": float(max_abs),
        "max_growth": max_growth, "growth_scale": scale, "energy_scale": energy_scale,
    }
    state = integrator.init_state(sde, x, v)
    diverged = np.full(n_particles, -1, dtype=np.int64)
    energy_names = [k for k, fn in save.observables.items() if fn == "energy"]

    def record(step):
        values = be.observe(save, sde, state)  # all first: an observable may raise (Ctrl-C)
        history_steps.append(step)
        for name, value in values.items():
            history.setdefault(name, []).append(value)
        if energy_bound is not None and energy_names:
            u = values[energy_names[0]]
            bad = ~(np.abs(u) <= energy_bound)
            if bad.any():
                return bad, float(np.max(np.abs(np.where(np.isfinite(u), u, np.inf))))
        return None

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

    def energy_blow_up(found, step):
        bad, peak = found
        traj = trajectory(step, False, time.perf_counter() - start, diverged_run=True)
        if checkpoint is not None:
            _write_checkpoint(traj, checkpoint)
        what = ("NaN or inf" if not math.isfinite(peak) else
                f"{peak:.3g}, past max_growth² = {max_growth**2:.3g} times the initial scale "
                f"{energy_scale:.3g}")
        return divergence_error(max(step - 1, 0), particles[bad], traj, dt,
                           f"the energy recorded at step {step} is {what}")

    start = time.perf_counter()
    found = None
    if resume is None:
        if save.start:
            found = record(0)
    elif ((step_start % save.every == 0 or step_start == target)
          and (not history_steps or history_steps[-1] != step_start)):
        found = record(step_start)  # the run was interrupted while recording this step
    if found is not None:
        raise energy_blow_up(found, step_start)
    step = step_start
    bar = tqdm(total=target - step_start, disable=not progress, unit="step", leave=False,
               desc=f"{integrator.name} ({be.name})")
    compiling = step < target and _notify_compiling(be, integrator, sde, bar, progress)
    try:
        while step < target:
            next_save = (step // save.every + 1) * save.every
            next_ckpt = (step // every_ckpt + 1) * every_ckpt
            stop = min(next_save, next_ckpt, target, step + MAX_CHUNK)
            work = state.copy()  # a chunk is committed whole, so Ctrl-C never splits a step
            reached = be.advance(integrator, sde, work, step, stop - step, dt, seed, particles,
                                 bound, diverged)
            state = work
            if compiling:
                bar.set_description_str(f"{integrator.name} ({be.name})")
                compiling = False
            if (diverged >= 0).any():
                first = int(diverged[diverged >= 0].min())
                step = stop if reached is None else int(reached)
                traj = trajectory(step, False, time.perf_counter() - start, diverged_run=True)
                if checkpoint is not None:
                    _write_checkpoint(traj, checkpoint)
                hit = diverged >= 0
                reason = _divergence_reason(
                    traj.final[hit], None if traj.final_velocity is None else traj.final_velocity[hit],
                    max_abs, bound, max_growth, scale, isinstance(sde.manifold, Sphere))
                raise divergence_error(first, particles[hit], traj, dt, reason)
            bar.update(stop - step)
            step = stop
            if step % save.every == 0 or step == target:
                found = record(step)
                if found is not None:
                    raise energy_blow_up(found, step)
            if checkpoint is not None and (step % every_ckpt == 0) and step < target:
                _write_checkpoint(trajectory(step, False, time.perf_counter() - start), checkpoint)
    except KeyboardInterrupt:
        bar.close()
        traj = trajectory(step, True, time.perf_counter() - start)
        if checkpoint is not None:
            _write_checkpoint(traj, checkpoint)
        return traj
    bar.close()
    traj = trajectory(step, False, time.perf_counter() - start)
    if checkpoint is not None:
        _write_checkpoint(traj, checkpoint)
    return traj
