"""The one recorder: every :class:`~sgdsde.results.Trajectory` of the driver is built here.

A run's records (steps and observables), its settings and its statistics are gathered by a
:class:`Recorder` and turned into a Trajectory by :meth:`Recorder.trajectory`, whether the
run ended, was interrupted, blew up or wrote a checkpoint; a resumed run's recorder starts
from the records, statistics and settings of the file it continues.

Settings schema (``Trajectory.settings``; JSON-serialisable, written by every run):

======================  ====================================================================
``integrator``          the scheme's name (``Integrator.name``)
``integrator_repr``     its ``repr`` (parameters of parametrised schemes such as SGD)
``sde``                 ``repr`` of the SDE (for people; resume compares the fingerprint)
``sde_fingerprint``     SHA-256 of the SDE's parameters (:func:`sgdsde._fingerprint.fingerprint`)
``dt``                  step h in SDE time
``t0``                  SDE time of step ``step0``
``step0``               absolute counter of the run's first step (its noise continues from it)
``target_step``         absolute step the run integrates to
``seed``                the generator key
``backend``             where it ran
``save_every``          steps between records (counted from ``step0``)
``save_start``          whether ``step0`` itself was recorded
``save_observables``    name -> built-in name, or None for a function
``particle_offset``     global index of particle 0
``n_particles``         the cloud's size M
``dim``                 its dimension d
``dtype``               its dtype
``max_abs``             blow-up bound on |x|
``max_growth``          blow-up growth factor
``growth_scale``        initial position scale that the growth factor multiplies
``energy_scale``        initial energy scale (for the energy bound, max_growth² times it)
======================  ====================================================================

Times: ``ts = t0 + (steps − step0) · dt`` with ``steps`` absolute.
"""

from __future__ import annotations

import numpy as np

from .results import Trajectory

__all__ = ["Recorder", "SETTINGS"]

SETTINGS = ("integrator", "integrator_repr", "sde", "sde_fingerprint", "dt", "t0", "step0",
            "target_step", "seed", "backend", "save_every", "save_start", "save_observables",
            "particle_offset", "n_particles", "dim", "dtype", "max_abs", "max_growth",
            "growth_scale", "energy_scale")
"""The keys every run writes in ``Trajectory.settings`` (table in the module docstring)."""


class Recorder:
    """Records of one run, and the Trajectory they make.

    Parameters
    ----------
    settings : dict
        The run's settings (keys :data:`SETTINGS`).
    prior : Trajectory, optional
        The run this one resumes: its records and statistics are carried over.
    """

    def __init__(self, settings: dict, prior: Trajectory | None = None):
        missing = [k for k in SETTINGS if k not in settings]
        if missing:
            raise ValueError(f"settings lack {missing}")
        self.settings = settings
        self.steps: list[int] = [] if prior is None else [int(s) for s in prior.steps]
        self.history: dict[str, list] = ({} if prior is None else
                                         {k: list(v) for k, v in prior.observables.items()})
        self.stats0: dict = {} if prior is None else dict(prior.stats)

    @property
    def last_step(self) -> int | None:
        """The absolute step of the latest record (None before the first)."""
        return self.steps[-1] if self.steps else None

    def append(self, step: int, values: dict[str, np.ndarray]) -> None:
        """Add the record of absolute step ``step`` (every observable's value there).

        Raises
        ------
        ValueError
            If a value's shape differs from that of the observable's first record (the
            records could not be stacked into one array; found now, not after the run).
        """
        for name, value in values.items():
            earlier = self.history.get(name)
            if earlier and np.shape(value) != np.shape(earlier[0]):
                raise ValueError(f"observable {name!r} returned shape {np.shape(value)} at step {step}, "
                                 f"but {np.shape(earlier[0])} at its first record: every record of an "
                                 "observable must have one shape (e.g. per particle, with NaN where "
                                 "a value does not apply)")
        self.steps.append(int(step))
        for name, value in values.items():
            self.history.setdefault(name, []).append(value)

    def stats(self, *, taken: int, n_particles: int, n_grad_evals: int, wall: float,
              interrupted: bool, diverged: bool, fused: bool, n_accepted: int | None) -> dict:
        """This run's statistics added to those of the run it resumes."""
        prev_steps = self.stats0.get("n_steps", 0)
        out = {
            "n_steps": prev_steps + taken,
            "n_grad_evals": self.stats0.get("n_grad_evals", 0) + n_grad_evals,
            "wall_time": self.stats0.get("wall_time", 0.0) + wall,
            "particle_steps_per_s": taken * n_particles / wall if wall > 0 else float("nan"),
            "interrupted": interrupted,
            "diverged": diverged,
            "fused": fused,
        }
        if n_accepted is not None:
            out["n_accepted_total"] = (self.stats0.get("n_accepted_total", 0) or 0) + n_accepted
            out["acceptance_rate"] = out["n_accepted_total"] / max(1, out["n_steps"] * n_particles)
        return out

    def trajectory(self, *, step: int, final, final_velocity, stats: dict) -> Trajectory:
        """The Trajectory of the records so far, the cloud at absolute ``step`` and ``stats``."""
        st = self.settings
        obs = {k: np.stack(v) if v else np.empty((0,)) for k, v in self.history.items()}
        steps = np.asarray(self.steps, dtype=np.int64)
        return Trajectory(ts=st["t0"] + (steps - st["step0"]) * st["dt"], steps=steps, observables=obs,
                          final=final, final_velocity=final_velocity, step=step, stats=stats,
                          settings=st)
