"""Trajectory: the frozen result of a simulation, and the errors a run can end with."""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._paths import atomic_write, check_writable_file

__all__ = ["Trajectory", "DivergenceError", "TrajectoryFileError"]


class TrajectoryFileError(ValueError):
    """A file given to :meth:`Trajectory.load` (or ``simulate(resume=...)``) cannot be read.

    Either it is not an sgdsde trajectory (empty, another format, an ``.npz`` without the
    trajectory's arrays) or it is truncated or corrupted.  The message names the file.
    """

    def __init__(self, path, reason: str):
        self.path = Path(path)
        super().__init__(f"{reason}: {self.path}")


_NOT_OURS = "not an sgdsde trajectory"
_DAMAGED = "file truncated or corrupted"
_REQUIRED = ("ts", "steps", "final", "meta")


def _frozen(a):
    if a is None:
        return None
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Trajectory:
    """What a simulation returns.  Arrays are read-only copies.

    Attributes
    ----------
    ts : ndarray, shape (n_records,)
        SDE times of the records (``t0 + (step − step0)·dt``).
    steps : ndarray of int64, shape (n_records,)
        Absolute step numbers of the records (noise counters: a run continued from another
        starts at that run's last step).
    observables : dict of str to ndarray
        Each of shape (n_records, ...), e.g. (n_records, M) for per-particle values.
    final : ndarray, shape (M, d)
        Positions after the last step taken.
    final_velocity : ndarray, shape (M, d), or None
        Velocities after the last step (underdamped only).
    step : int
        Absolute step number of ``final``.
    stats : dict
        ``n_steps`` taken, ``n_grad_evals`` (gradient evaluations per particle),
        ``wall_time`` (s), ``particle_steps_per_s``, ``acceptance_rate`` (MALA), and the
        flags ``interrupted`` (Ctrl-C), ``diverged`` (a particle blew up) and ``fused``.
    settings : dict
        What is needed to rerun, resume or continue the run; every run of
        :func:`sgdsde.simulate` writes the keys of :data:`sgdsde.recorder.SETTINGS`
        (integrator, SDE description and fingerprint, ``dt``, ``t0``, ``step0``,
        ``target_step``, ``seed``, ``backend``, ``save_every``, ``particle_offset``,
        ``dtype``, the blow-up bounds; the table is in :mod:`sgdsde.recorder`).
    """

    ts: np.ndarray
    steps: np.ndarray
    observables: dict
    final: np.ndarray
    final_velocity: np.ndarray | None
    step: int
    stats: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "ts", _frozen(self.ts))
        object.__setattr__(self, "steps", _frozen(np.asarray(self.steps, dtype=np.int64)))
        object.__setattr__(self, "observables", {k: _frozen(v) for k, v in self.observables.items()})
        object.__setattr__(self, "final", _frozen(self.final))
        object.__setattr__(self, "final_velocity", _frozen(self.final_velocity))
        object.__setattr__(self, "step", int(self.step))

    @property
    def completed(self) -> bool:
        """True if the run reached its target step without blowing up."""
        return (not self.stats.get("diverged", False)
                and self.step >= self.settings.get("target_step", self.step))

    def save(self, path: str | Path) -> Path:
        """Write to a ``.npz`` file (arrays compressed, stats and settings as JSON).

        The file is written under a temporary name in the same folder and then renamed onto
        ``path`` (atomic: an interrupted save never corrupts an existing file); if anything
        fails the temporary file is removed.

        Raises
        ------
        IsADirectoryError
            If ``path`` is a directory.
        FileNotFoundError
            If the folder of ``path`` does not exist.
        """
        path = Path(path)
        check_writable_file(path, "path")
        arrays = {"ts": self.ts, "steps": self.steps, "final": self.final}
        if self.final_velocity is not None:
            arrays["final_velocity"] = self.final_velocity
        for k, v in self.observables.items():
            arrays[f"obs__{k}"] = v
        meta = {"step": self.step, "stats": self.stats, "settings": self.settings}
        arrays["meta"] = np.array(json.dumps(meta, default=_json_default))
        with atomic_write(path) as f:
            np.savez_compressed(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        """Read a file written by :meth:`save`.

        Raises
        ------
        TrajectoryFileError
            ``"not an sgdsde trajectory: <path>"`` for an empty file, a file of another
            format or an ``.npz`` without a trajectory's arrays; ``"file truncated or
            corrupted: <path>"`` for a damaged one.  The file is closed either way.
        FileNotFoundError, IsADirectoryError
            If ``path`` is not a file.
        """
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"cannot load a trajectory from {path}: it is a directory")
        with open(path, "rb") as handle:  # raises FileNotFoundError naming the path
            head = handle.read(4)
            if not head.startswith(b"PK"):  # every .npz is a zip archive
                raise TrajectoryFileError(path, _NOT_OURS + (" (the file is empty)" if not head else ""))
            handle.seek(0)
            try:
                with np.load(handle, allow_pickle=False) as f:
                    missing = [k for k in _REQUIRED if k not in f.files]
                    if missing:
                        reason = f"{_NOT_OURS} (no {', '.join(missing)} in the archive)"
                        raise TrajectoryFileError(path, reason)
                    arrays = {k: f[k] for k in f.files}
            except TrajectoryFileError:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
                raise TrajectoryFileError(path, f"{_DAMAGED} ({type(err).__name__}: {err})") from err
        try:
            meta = json.loads(str(arrays["meta"]))
            step, stats, settings = meta["step"], meta["stats"], meta["settings"]
            if not (isinstance(step, int) and isinstance(stats, dict) and isinstance(settings, dict)):
                raise TypeError("step, stats and settings must be an integer and two objects")
        except (ValueError, KeyError, TypeError) as err:
            raise TrajectoryFileError(path, f"{_NOT_OURS} (its metadata does not parse: {err})") from err
        ts, steps, final = arrays["ts"], arrays["steps"], arrays["final"]
        if final.ndim != 2 or ts.ndim != 1 or ts.shape != steps.shape:
            raise TrajectoryFileError(path, f"{_NOT_OURS} (ts {ts.shape}, steps {steps.shape} and final "
                                            f"{final.shape} are not (n,), (n,) and (M, d))")
        obs = {k[5:]: v for k, v in arrays.items() if k.startswith("obs__")}
        return cls(ts=ts, steps=steps, observables=obs, final=final,
                   final_velocity=arrays.get("final_velocity"), step=step, stats=stats, settings=settings)

    def to_xarray(self, dims=None):
        """This trajectory as a labelled :class:`xarray.Dataset` (needs ``sgdsde[xarray]``).

        Dimensions ``time``, ``particle``, ``component``; settings and stats as attributes.
        See :func:`sgdsde.labelled.trajectory_to_xarray` (``dims`` is passed on) and, for the
        way back, :func:`sgdsde.labelled.trajectory_from_xarray`.
        """
        from .labelled import trajectory_to_xarray

        return trajectory_to_xarray(self, dims=dims)

    def __repr__(self):
        m, d = self.final.shape
        return (f"Trajectory(n_records={self.ts.size}, particles={m}, dim={d}, step={self.step}, "
                f"observables={list(self.observables)}, completed={self.completed})")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return repr(o)


class DivergenceError(FloatingPointError):
    """The cloud blew up: some particles left ``|x| <= max_abs`` or became NaN.

    Attributes
    ----------
    step : int
        First absolute step at which a particle diverged (the step from ``step`` to
        ``step + 1`` produced the bad value).
    particles : ndarray of int
        Global indices of the particles that diverged.
    trajectory : Trajectory
        What was computed up to the end of the chunk that diverged (the diverged particles
        are frozen at their first bad value).
    """

    def __init__(self, step: int, particles: np.ndarray, trajectory: Trajectory, dt: float):
        self.step = int(step)
        self.particles = np.asarray(particles)
        self.trajectory = trajectory
        shown = ", ".join(map(str, self.particles[:10])) + (" ..." if self.particles.size > 10 else "")
        st = trajectory.settings
        t = st.get("t0", 0.0) + (self.step - st.get("step0", 0)) * dt
        super().__init__(
            f"the dynamics blew up at step {self.step} (t = {t:g}) "
            f"in {self.particles.size} particle(s): {shown}. The step dt = {dt:g} is probably "
            f"too large for this landscape; the partial trajectory is in .trajectory"
        )
