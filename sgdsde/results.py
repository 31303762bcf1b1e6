"""Trajectory: the frozen result of a simulation, and the errors a run can end with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["Trajectory", "DivergenceError"]


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
        SDE times of the records (``t0 + step·dt``).
    steps : ndarray of int64, shape (n_records,)
        Absolute step numbers of the records.
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
        What is needed to rerun or resume: integrator, SDE description, ``dt``, ``t0``,
        ``step0``, ``target_step``, ``seed``, ``backend``, ``save_every``, ``particle_offset``,
        ``dtype``.
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
        """Write to a ``.npz`` file (arrays compressed, stats and settings as JSON)."""
        path = Path(path)
        arrays = {"ts": self.ts, "steps": self.steps, "final": self.final}
        if self.final_velocity is not None:
            arrays["final_velocity"] = self.final_velocity
        for k, v in self.observables.items():
            arrays[f"obs__{k}"] = v
        meta = {"step": self.step, "stats": self.stats, "settings": self.settings}
        arrays["meta"] = np.array(json.dumps(meta, default=_json_default))
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)  # atomic: an interrupted save never corrupts a checkpoint
        return path

    @classmethod
    def load(cls, path: str | Path) -> Trajectory:
        """Read a file written by :meth:`save`."""
        with np.load(Path(path), allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            obs = {k[5:]: f[k] for k in f.files if k.startswith("obs__")}
            return cls(ts=f["ts"], steps=f["steps"], observables=obs, final=f["final"],
                       final_velocity=f["final_velocity"] if "final_velocity" in f.files else None,
                       step=meta["step"], stats=meta["stats"], settings=meta["settings"])

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
        t = trajectory.settings.get("t0", 0.0) + self.step * dt
        super().__init__(
            f"the dynamics blew up at step {self.step} (t = {t:g}) "
            f"in {self.particles.size} particle(s): {shown}. The step dt = {dt:g} is probably "
            f"too large for this landscape; the partial trajectory is in .trajectory"
        )
