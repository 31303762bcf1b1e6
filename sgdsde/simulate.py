"""The one driver loop: ``simulate(sde, integrator, x0, ...) -> Trajectory``.

DESIGN — :func:`simulate` checks its arguments, finds where the run starts
(:func:`_fresh_start`: a new cloud, or the end of ``continue_from``; :func:`_resumed_start`:
an interrupted run) and hands a :class:`_Start` to :class:`_Run`, which advances the cloud
chunk by chunk through the backend (``Backend.advance``), records through the one
:class:`~sgdsde.recorder.Recorder`, writes checkpoints and stops on Ctrl-C or a blow-up.
Steps are absolute noise counters: a run that starts at ``step0`` draws the normals of
steps ``step0, step0 + 1, ...``, so a chained run continues the stream instead of
replaying it.  A new measurement is an observable (:class:`~sgdsde.save.SaveAt`), a new
scheme an :class:`~sgdsde.integrators.base.Integrator`: neither touches this module.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ._checks import integer as _integer
from ._checks import positive as _positive
from ._checks import real as _finite_number
from ._fingerprint import fingerprint
from ._threads import with_blas_threads
from .backends import get_backend
from .divergence import MAX_GROWTH, check_max_abs, check_max_growth, divergence_error, initial_scale
from .integrators.base import Integrator
from .landscapes.base import check_cloud
from .manifolds import Sphere
from .random import STREAM_VELOCITY, resolve_seed
from .recorder import Recorder
from .results import Trajectory
from .save import SaveAt
from .sde import LangevinSDE
from .sharding import simulate_sharded

__all__ = ["simulate"]

MAX_CHUNK = 1024  # steps per kernel call at most, so progress and Ctrl-C stay responsive
PARTICLE_LIMIT = 2**32  # global particle indices of the counter-based generator lie below this
_RESUME_IGNORES = ("x0", "v0", "seed", "t0", "particle_offset", "step0")
STEP_LIMIT = 2**50  # noise counters (steps) of the generator lie below this


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
    span = _finite_number(t1, "t1") - t0
    if not (math.isfinite(span) and span >= 0):
        raise ValueError(f"t1 must be finite and >= t0 = {t0}, got {t1}")
    n = round(span / dt)
    if abs(n * dt - span) > 1e-9 * max(span, dt):
        raise ValueError(f"t1 - t0 = {span:g} is not a whole number of steps dt = {dt:g}; "
                         "pass n_steps= or adjust t1")
    return n


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


def _initial_velocity(sde, v0, x0, seed, offset, step0, backend):
    if not sde.is_underdamped:
        if v0 is not None:
            raise ValueError("v0 is only used by underdamped dynamics (friction=...)")
        return None
    if v0 is None:  # Maxwell–Boltzmann at T (zero for non-thermal noise)
        t = sde.temperature or 0.0
        # The reference's normals, drawn by the run's backend (NumPy's reference makes ~1e7/s).
        noise = backend.noise_source(seed, np.arange(offset, offset + x0.shape[0]), np.float64)
        xi = backend.to_host(noise.normals(step0, sde.dim, STREAM_VELOCITY))
        return (math.sqrt(t / sde.mass) * xi).astype(x0.dtype)
    v0 = check_cloud(v0, sde.dim, "v0")
    if v0.shape != x0.shape:
        raise ValueError(f"v0 must have the shape of x0 {x0.shape}, got {v0.shape}")
    if not np.all(np.isfinite(v0)):
        raise ValueError("v0 contains NaN or inf")
    return v0.astype(x0.dtype, copy=True)


@with_blas_threads
def simulate(sde: LangevinSDE, integrator: Integrator, x0=None, *, dt: float | None = None,
             t1: float | None = None, n_steps: int | None = None, t0: float | None = None,
             save: SaveAt | None = None, backend: str = "numba", seed: int | None = None,
             v0=None, progress: bool = True, checkpoint: str | Path | None = None,
             checkpoint_every: int | None = None, resume: Trajectory | str | Path | None = None,
             continue_from: Trajectory | str | Path | None = None, step0: int | None = None,
             particle_offset: int | None = None, max_abs: float | None = None,
             max_growth: float | None = None, client=None,
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
        Step h > 0 in SDE time units (for SGD, t = k·η).  Required, except with ``resume=``
        or ``continue_from=``, where it defaults to that run's step.
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
        The one source of randomness; None draws a fresh one from the OS and records it in
        ``settings`` (the library-wide meaning of ``seed=None``, see :mod:`sgdsde.random`).
        Not given when resuming (the run's own seed is used).
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
        noise of step n depends only on the seed and n): the result is the run it would
        have been.  ``t1``/``n_steps`` may extend it (counted from its ``t0``).  ``x0``,
        ``v0``, ``seed``, ``t0``, ``particle_offset`` and ``step0`` come from the run and may
        not be given.  The SDE must have the same parameters (its fingerprint is compared).
    continue_from : Trajectory or path, optional
        Start a *new* run where that one ended: its final cloud (and velocities), its seed
        and particle indices, ``t0`` = its final time and ``step0`` = its final step, so the
        noise continues its stream (independent increments) instead of replaying it.  The
        SDE, the scheme and ``dt`` may change (e.g. an annealing schedule); ``t1`` is an
        absolute time, ``n_steps`` a number of new steps.  ``x0``, ``v0``, ``t0``,
        ``particle_offset`` and ``step0`` may not be given, ``seed`` only as the run's own.
        A run that blew up (``stats["diverged"]``) is refused: its cloud holds the diverged
        particles.
    step0 : int, optional
        Absolute step counter of the first step (default 0): the run draws the noise of
        steps ``step0, step0 + 1, ...``; ``steps`` in the result are absolute and ``ts =
        t0 + (steps − step0)·dt``.
    particle_offset : int, optional
        Global index of the cloud's first particle (default 0; shards of one cloud use
        disjoint ranges); ``particle_offset + M <= 2**32``.
    max_abs : float, optional
        Absolute blow-up bound > 0 on |x_k| and |v_k| (default sqrt of the dtype's largest
        value; with ``resume=``, the run's own).
    max_growth : float, optional
        Relative blow-up factor > 1 (default 1e8; with ``resume=``, the run's own;
        ``math.inf`` switches the test off); see Notes.
    client : distributed.Client, optional
        Run the cloud in ``n_shards`` shards of consecutive particles on Dask workers
        (:func:`sgdsde.sharding.simulate_sharded`; extra ``sgdsde[distributed]``).  The
        result equals the single-process one: the noise is a function of the particle index.
    n_shards : int, optional
        Number of shards, an integer in [1, M] (only with ``client``; default: the client's
        worker threads, at most M).

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
    _check_combinations(client, n_shards, checkpoint, checkpoint_every, resume, continue_from)
    if client is not None:
        return simulate_sharded(simulate, sde, integrator, x0, client=client, n_shards=n_shards, dt=dt,
                                t1=t1, n_steps=n_steps, t0=0.0 if t0 is None else t0, save=save,
                                backend=backend, seed=seed, v0=v0, checkpoint=checkpoint,
                                checkpoint_every=checkpoint_every, resume=resume, max_abs=max_abs,
                                max_growth=max_growth, particle_offset=particle_offset or None,
                                continue_from=continue_from, step0=step0)
    if not isinstance(sde, LangevinSDE):
        raise TypeError(f"sde must be a LangevinSDE, got {type(sde).__name__}")
    if not isinstance(integrator, Integrator):
        raise TypeError(f"integrator must be an Integrator, got {type(integrator).__name__}")
    integrator.check(sde)
    if dt is None:  # the step of the run resumed or continued
        if resume is None and continue_from is None:
            raise TypeError("simulate() needs dt= (the step h > 0), unless resume= or continue_from= "
                            "gives it")
        if resume is not None:
            resume = _load(resume, "resume")
        else:
            continue_from = _load(continue_from, "continue_from")
        dt = (resume or continue_from).settings["dt"]
    dt = _positive(dt, "dt")
    if max_growth is None:  # 1e8, or the bound the resumed run was started with
        if resume is not None:
            resume = _load(resume, "resume")
        max_growth = MAX_GROWTH if resume is None else resume.settings.get("max_growth", MAX_GROWTH)
    max_growth = check_max_growth(max_growth)
    be = get_backend(backend)
    if save is not None and not isinstance(save, SaveAt):
        raise TypeError(f"save must be a SaveAt, got {type(save).__name__}")
    if checkpoint is not None:
        checkpoint = _check_checkpoint_path(checkpoint)
    given = {"x0": x0, "v0": v0, "seed": seed, "t0": t0, "particle_offset": particle_offset, "step0": step0}
    if resume is not None:
        start = _resumed_start(sde, integrator, resume, given, dt, t1, n_steps, save, max_abs)
    else:
        start = _fresh_start(sde, given, continue_from, dt, t1, n_steps, save, max_abs, be)
    every_ckpt = (start.save.every if checkpoint_every is None
                  else _integer(checkpoint_every, "checkpoint_every", minimum=1))
    return _Run(sde, integrator, be, dt, start, max_growth, checkpoint, every_ckpt, progress).execute()


def _check_combinations(client, n_shards, checkpoint, checkpoint_every, resume, continue_from) -> None:
    """Arguments that only make sense together (or never together)."""
    if isinstance(client, (str, bytes, os.PathLike)):
        raise TypeError(f"client must be a dask.distributed.Client, got the {type(client).__name__} "
                        f"{client!r}: connect first, e.g. client = distributed.Client({client!r})")
    if client is None and n_shards is not None:
        raise ValueError("n_shards= is only used with client= (sharded runs on Dask workers)")
    if checkpoint is None and checkpoint_every is not None:
        raise ValueError("checkpoint_every= is only used with checkpoint= (a file to write)")
    if resume is not None and continue_from is not None:
        raise ValueError("give resume= (finish an interrupted run along its own path) or "
                         "continue_from= (a new run from where another ended), not both")


@dataclass
class _Start:
    """Where a run starts: the cloud, its noise coordinates, its target and its bounds.

    ``step0`` is the absolute step at time ``t0``; ``step`` the absolute step of the cloud
    (``step0``, or later when resuming); ``target`` the absolute last step.
    """

    x: np.ndarray
    v: np.ndarray | None
    seed: int
    t0: float
    offset: int
    step0: int
    step: int
    target: int
    save: SaveAt
    max_abs: float
    scale: float
    energy_scale: float | None
    prior: Trajectory | None = None


def _load(run: Trajectory | str | Path, name: str) -> Trajectory:
    if isinstance(run, Trajectory):
        return run
    if isinstance(run, (str, os.PathLike)):
        return Trajectory.load(run)
    raise TypeError(f"{name} must be a Trajectory or a path to one, got {type(run).__name__}")


def _check_step0(step0) -> int:
    if step0 is None:
        return 0
    if isinstance(step0, bool) or not isinstance(step0, (int, np.integer)) or not 0 <= step0 < STEP_LIMIT:
        raise ValueError(f"step0 must be an integer in [0, 2**50), got {step0!r}")
    return int(step0)


def _end_of(prior: Trajectory) -> dict:
    """The coordinates at which a run continuing ``prior`` starts."""
    st = prior.settings
    own_step0 = int(st.get("step0", 0))
    return {"x0": prior.final, "v": prior.final_velocity, "seed": int(st["seed"]),
            "t0": float(st["t0"]) + (prior.step - own_step0) * float(st["dt"]),
            "particle_offset": int(st["particle_offset"]), "step0": int(prior.step)}


def _fresh_start(sde, given, continue_from, dt, t1, n_steps, save, max_abs, backend) -> _Start:
    """A new run: from ``x0``, or from where ``continue_from`` ended."""
    carried_v = None
    if continue_from is not None:
        continue_from = _load(continue_from, "continue_from")
        if continue_from.stats.get("diverged", False):
            raise ValueError(f"continue_from: the run blew up (stats['diverged'], at step "
                             f"{continue_from.step}); its final cloud holds the diverged particles "
                             "frozen at their first bad values. Continue from an earlier checkpoint, or "
                             "drop the particles of DivergenceError.particles and pass x0=")
        end = _end_of(continue_from)
        ignored = [k for k in ("x0", "v0", "t0", "particle_offset", "step0") if given[k] is not None]
        if given["seed"] is not None and not _same(given["seed"], end["seed"]):
            ignored.append("seed")
        if ignored:
            raise ValueError(f"continue_from= takes {', '.join(ignored)} from the run it continues: "
                             f"do not pass {', '.join(n + '=' for n in ignored)}")
        given = dict(given, x0=end["x0"], seed=end["seed"], t0=end["t0"],
                     particle_offset=end["particle_offset"], step0=end["step0"])
        carried_v = end["v"]
    save = SaveAt() if save is None else save
    if given["x0"] is None:
        raise ValueError("x0 is required (unless resume= or continue_from= is given)")
    t0 = 0.0 if given["t0"] is None else _finite_number(given["t0"], "t0")
    x = check_cloud(given["x0"], sde.dim, "x0").copy()
    if x.shape[0] == 0:
        raise ValueError(f"x0 must hold at least one particle, got shape {x.shape}")
    bad = ~np.all(np.isfinite(x), axis=1)
    if bad.any():
        raise ValueError(f"x0 contains NaN or inf (particle {int(np.argmax(bad))})")
    sde.manifold.check(x, "x0")
    seed = resolve_seed(given["seed"])
    offset = _check_offset(given["particle_offset"], x.shape[0])
    step0 = _check_step0(given["step0"])
    if carried_v is not None and (sde.is_underdamped or continue_from is not None):
        v = np.array(carried_v, dtype=x.dtype)
    else:
        v = _initial_velocity(sde, given["v0"], x, seed, offset, step0, backend)
    target = step0 + _n_steps(t0, t1, dt, n_steps)
    if target >= STEP_LIMIT:
        raise ValueError(f"the run would pass the generator's last step 2**50 (step0 = {step0})")
    energy_scale = None
    if "energy" in save.observables.values():
        energy_scale = max(1.0, float(np.max(np.abs(sde.landscape.energy(x)))))
    return _Start(x=x, v=v, seed=seed, t0=t0, offset=offset, step0=step0, step=step0, target=target,
                  save=save, max_abs=check_max_abs(max_abs, x.dtype), scale=initial_scale(x, v),
                  energy_scale=energy_scale)


def _resumed_start(sde, integrator, resume, given, dt, t1, n_steps, save, max_abs) -> _Start:
    """An interrupted run, continued along its own path (its records carried over)."""
    prior = _load(resume, "resume")
    st = prior.settings
    own = {"seed": st.get("seed"), "t0": st.get("t0"), "particle_offset": st.get("particle_offset"),
           "step0": st.get("step0", 0)}
    ignored = [name for name in _RESUME_IGNORES  # the run's own value may be repeated
               if given[name] is not None and not (name in own and _same(given[name], own[name]))]
    if ignored:
        raise ValueError(f"resume= continues the run with its own {', '.join(ignored)} "
                         f"(seed={own['seed']}, t0={own['t0']}, particle_offset="
                         f"{own['particle_offset']}, step0={own['step0']}): do not pass "
                         f"{', '.join(n + '=' for n in ignored)}")
    _check_same_problem(st, sde, integrator, dt)
    t0, step0 = float(st["t0"]), int(own["step0"])
    target = int(st["target_step"])
    if t1 is not None or n_steps is not None:  # a new target, counted from the run's start
        target = step0 + _n_steps(t0, t1, dt, n_steps)
        if target < prior.step:
            raise ValueError(f"resume: the new target step {target} precedes the "
                             f"checkpoint's step {prior.step}")
    x = np.array(prior.final)
    v = None if prior.final_velocity is None else np.array(prior.final_velocity)
    return _Start(x=x, v=v, seed=int(st["seed"]), t0=t0, offset=int(st["particle_offset"]),
                  step0=step0, step=prior.step, target=target, save=_resume_save(prior, save),
                  max_abs=check_max_abs(st.get("max_abs") if max_abs is None else max_abs, x.dtype),
                  scale=float(st.get("growth_scale", initial_scale(x, v))),
                  energy_scale=st.get("energy_scale"), prior=prior)


def _check_same_problem(st: dict, sde, integrator, dt: float) -> None:
    """A resumed run must integrate the same SDE with the same scheme and step."""
    if st.get("integrator") != integrator.name:
        raise ValueError(f"resume: the run used {st.get('integrator')}, not {integrator.name}")
    if "integrator_repr" in st and st["integrator_repr"] != repr(integrator):
        raise ValueError(f"resume: the run used {st['integrator_repr']}, not {integrator!r}")
    if not math.isclose(st["dt"], dt, rel_tol=1e-15):
        raise ValueError(f"resume: the run used dt = {st['dt']}, not {dt}")
    if "sde_fingerprint" in st:  # its parameters, not its repr (older files: the repr)
        if st["sde_fingerprint"] != fingerprint(sde):
            raise ValueError(f"resume: the run's SDE had other parameters than {sde!r} (their "
                             "fingerprints differ): resume with the SDE the run was started with")
    elif st.get("sde") != repr(sde):
        raise ValueError(f"resume: the run's SDE was {st.get('sde')}, not {sde!r}")


class _Run:
    """One run of the driver loop, from a :class:`_Start` to its target."""

    def __init__(self, sde, integrator, be, dt, start: _Start, max_growth, checkpoint, every_ckpt,
                 progress):
        self.sde, self.integrator, self.be, self.dt, self.start = sde, integrator, be, dt, start
        self.max_growth, self.checkpoint, self.every_ckpt = max_growth, checkpoint, every_ckpt
        self.progress = progress
        self.save = start.save
        n = start.x.shape[0]
        self.particles = np.arange(start.offset, start.offset + n, dtype=np.int64)
        self.bound = min(start.max_abs, max_growth * start.scale)
        self.energy_bound = None if start.energy_scale is None else max_growth**2 * start.energy_scale
        self.energy_names = [k for k, fn in self.save.observables.items() if fn == "energy"]
        self.recorder = Recorder(self._settings(), start.prior)
        self.state = integrator.init_state(sde, start.x, start.v)
        self.diverged = np.full(n, -1, dtype=np.int64)
        self.step = start.step
        self.clock = time.perf_counter()

    def _settings(self) -> dict:
        s, x = self.start, self.start.x
        return {
            "integrator": self.integrator.name, "integrator_repr": repr(self.integrator),
            "sde": repr(self.sde), "sde_fingerprint": fingerprint(self.sde), "dt": self.dt,
            "t0": s.t0, "step0": s.step0, "target_step": int(s.target), "seed": int(s.seed),
            "backend": self.be.name, "save_every": self.save.every, "save_start": bool(self.save.start),
            "save_observables": {k: fn if isinstance(fn, str) else None
                                 for k, fn in self.save.observables.items()},
            "particle_offset": s.offset, "n_particles": x.shape[0], "dim": self.sde.dim,
            "dtype": str(x.dtype), "max_abs": float(s.max_abs), "max_growth": self.max_growth,
            "growth_scale": s.scale, "energy_scale": s.energy_scale,
        }

    # ------------------------------------------------------------------ records
    def _due(self, step: int, every: int) -> bool:
        return (step - self.start.step0) % every == 0

    def record(self, step: int) -> None:
        """Record the observables at ``step``; raise if the recorded energy blew up."""
        values = self.be.observe(self.save, self.sde, self.state)  # all first: an observable may raise
        self.recorder.append(step, values)
        if self.energy_bound is None or not self.energy_names:
            return
        u = values[self.energy_names[0]]
        bad = ~(np.abs(u) <= self.energy_bound)
        if bad.any():
            peak = float(np.max(np.abs(np.where(np.isfinite(u), u, np.inf))))
            what = ("NaN or inf" if not math.isfinite(peak) else
                    f"{peak:.3g}, past max_growth² = {self.max_growth**2:.3g} times the initial scale "
                    f"{self.start.energy_scale:.3g}")
            traj = self.stop(step, diverged=True)
            raise divergence_error(max(step - 1, 0), self.particles[bad], traj, self.dt,
                                   f"the energy recorded at step {step} is {what}")

    def trajectory(self, step: int, interrupted=False, diverged=False) -> Trajectory:
        state = self.state
        stats = self.recorder.stats(
            taken=step - self.start.step, n_particles=self.particles.size,
            n_grad_evals=state.n_grad_evals, wall=time.perf_counter() - self.clock,
            interrupted=interrupted, diverged=diverged,
            fused=bool(getattr(self.be, "can_fuse", lambda *a: False)(self.integrator, self.sde)),
            n_accepted=None if state.n_accepted is None else int(state.n_accepted.sum()))
        return self.recorder.trajectory(step=step, final=self.be.to_host(state.x),
                                        final_velocity=self.be.to_host(state.v), stats=stats)

    def stop(self, step: int, interrupted=False, diverged=False) -> Trajectory:
        """The trajectory at ``step``, written to the checkpoint file if there is one."""
        traj = self.trajectory(step, interrupted, diverged)
        if self.checkpoint is not None:
            _write_checkpoint(traj, self.checkpoint)
        return traj

    def record_start(self) -> None:
        s = self.start
        if s.prior is None:
            if self.save.start:
                self.record(s.step)
        elif ((self._due(s.step, self.save.every) or s.step == s.target)
              and self.recorder.last_step != s.step):
            self.record(s.step)  # the run was interrupted while recording this step

    # ------------------------------------------------------------------ the loop
    def execute(self) -> Trajectory:
        self.record_start()
        s = self.start
        bar = tqdm(total=s.target - s.step, disable=not self.progress, unit="step", leave=False,
                   desc=f"{self.integrator.name} ({self.be.name})")
        compiling = self.step < s.target and _notify_compiling(self.be, self.integrator, self.sde,
                                                               bar, self.progress)
        try:
            while self.step < s.target:
                stop = self.advance_chunk()
                if compiling:
                    bar.set_description_str(f"{self.integrator.name} ({self.be.name})")
                    compiling = False
                bar.update(stop - self.step)
                self.step = stop
                if self._due(stop, self.save.every) or stop == s.target:
                    self.record(stop)
                if self.checkpoint is not None and self._due(stop, self.every_ckpt) and stop < s.target:
                    _write_checkpoint(self.trajectory(stop), self.checkpoint)
        except KeyboardInterrupt:
            bar.close()
            return self.stop(self.step, interrupted=True)
        bar.close()
        return self.stop(self.step)

    def advance_chunk(self) -> int:
        """Advance to the next record, checkpoint, target or chunk end; return that step."""
        rel = self.step - self.start.step0
        stop = self.start.step0 + min((rel // self.save.every + 1) * self.save.every,
                                      (rel // self.every_ckpt + 1) * self.every_ckpt)
        stop = min(stop, self.start.target, self.step + MAX_CHUNK)
        work = self.state.copy()  # a chunk is committed whole, so Ctrl-C never splits a step
        reached = self.be.advance(self.integrator, self.sde, work, self.step, stop - self.step, self.dt,
                                  self.start.seed, self.particles, self.bound, self.diverged)
        self.state = work
        if (self.diverged >= 0).any():
            self.blow_up(stop if reached is None else int(reached))
        return stop

    def blow_up(self, step: int) -> None:
        """Raise the DivergenceError of the particles flagged in ``diverged``."""
        first = int(self.diverged[self.diverged >= 0].min())
        traj = self.stop(step, diverged=True)
        hit = self.diverged >= 0
        reason = _divergence_reason(
            traj.final[hit], None if traj.final_velocity is None else traj.final_velocity[hit],
            self.start.max_abs, self.bound, self.max_growth, self.start.scale,
            isinstance(self.sde.manifold, Sphere))
        raise divergence_error(first, self.particles[hit], traj, self.dt, reason)
