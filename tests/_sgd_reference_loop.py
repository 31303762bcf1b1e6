"""A frozen copy of ``sgdsde.sgd.run_sgd``'s own loop before minibatch SGD became a scheme of
``simulate`` (issue 16): the reference that the scheme must reproduce bit for bit.

Do not edit: it is the old code path, kept verbatim (imports made absolute) so that
``tests/test_sgd_scheme.py`` compares the new driver with it on the same seeds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

import numpy as np

from sgdsde._checks import positive as _positive
from sgdsde.divergence import MAX_GROWTH, check_max_abs, check_max_growth, divergence_error, initial_scale
from sgdsde.landscapes.base import check_cloud
from sgdsde.landscapes.networks import EmpiricalRisk
from sgdsde.random import resolve_seed
from sgdsde.results import Trajectory
from sgdsde.sgd.minibatch import STREAM_MINIBATCH, BatchSampler


def old_run_sgd(loss: EmpiricalRisk, theta0, *, lr: float, batch_size: int, n_steps: int,
            sampling: str = "with_replacement", momentum: float = 0.0,
            schedule: Callable[[int], float] | None = None, svag: int = 1,
            seed: int | None = None, record_every: int = 100, record_at=None,
            observables: Mapping[str, Callable] | None = None, record_params: bool = False,
            particle_offset: int = 0, stream: int = STREAM_MINIBATCH,
            max_abs: float | None = None, max_growth: float = MAX_GROWTH) -> Trajectory:
    """Run an ensemble of independent minibatch SGD runs (update rules: module docstring).

    Parameters
    ----------
    loss : EmpiricalRisk
        The landscape (a network and its data set).
    theta0 : array_like, shape (M, d)
        Initial parameters of the M runs (repeat one row for a common start).
    lr : float
        Learning rate η > 0 (η̂ for momentum SGD).
    batch_size : int
        B, ``1 <= B <= n``.
    n_steps : int
        Number of SGD steps k.
    sampling : {"with_replacement", "without_replacement", "epoch"}
    momentum : float
        μ̂ in [0, 1) (heavy-ball; 0 is plain SGD).
    schedule : callable, optional
        ``k -> multiplier`` of the learning rate (e.g. :class:`StepDecay`).
    svag : int
        SVAG factor l >= 1 (1 is plain SGD).
    seed : int, optional
        Key of the batch draws (None: fresh, recorded in ``settings``).
    record_every : int
        Record every this many steps (and at the start and the end).
    record_at : sequence of int, optional
        Record at exactly these steps (and at the start) instead of every ``record_every``.
    observables : mapping of str to callable, optional
        Extra ``name -> fn(theta (M, d))`` recorded alongside the built-ins ``"loss"``
        (full-batch f, (M,)) and ``"grad_norm"`` (full-batch |∇f|, (M,)).
    record_params : bool
        Also record the parameters as ``"position"`` (M, d) at each record.
    particle_offset : int
        Global index of the first run (shards of one ensemble use disjoint ranges).
    stream : int
        Generator stream of the batches, >= ``STREAM_USER``.
    max_abs : float, optional
        Absolute blow-up bound > 0 on |θ_k| (default sqrt of the dtype's largest value).
    max_growth : float
        Relative blow-up factor > 1 (``math.inf`` switches it off).  A run diverges at the
        first step after which a component of θ is NaN or exceeds
        ``min(max_abs, max_growth · s)`` with ``s = max(1, max |θ0|)`` over the ensemble,
        or at a record where its full-batch loss is NaN or exceeds
        ``max_growth² · max(1, max |f(θ0)|)`` in absolute value — the rule of
        :func:`sgdsde.simulate`.

    Returns
    -------
    Trajectory
        ``ts`` is the SDE time ``t_k = Σ_{j<k} η_j / l`` of the records (``k·η`` for a
        constant rate), ``steps`` the step numbers, ``final`` the parameters after the last
        step (``final_velocity``: the momentum buffers v, or None).

    Raises
    ------
    DivergenceError
        If a run blows up (``max_growth`` above); the partial trace is attached.
    """
    if not isinstance(loss, EmpiricalRisk):
        raise TypeError(f"loss must be an EmpiricalRisk landscape (a network), got {type(loss).__name__}")
    theta = check_cloud(theta0, loss.dim, "theta0").copy()
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta0 contains NaN or inf")
    lr = _positive(lr, "lr")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    momentum = float(momentum)
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    if isinstance(svag, bool) or not isinstance(svag, (int, np.integer)) or svag < 1:
        raise ValueError(f"svag must be an integer >= 1, got {svag!r}")
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ValueError(f"record_every must be an integer >= 1, got {record_every!r}")
    if record_at is not None:
        record_at = np.unique(np.asarray(record_at))
        if record_at.dtype.kind not in "iu" or (record_at.size and
                                               (record_at.min() < 0 or record_at.max() > n_steps)):
            raise ValueError(f"record_at must be integer steps in [0, n_steps = {n_steps}]")
        record_at = set(record_at.tolist())
    if schedule is not None and not callable(schedule):
        raise TypeError("schedule must be callable as schedule(k) -> learning-rate multiplier")
    observables = dict(observables or {})
    for name, fn in observables.items():
        if not callable(fn):
            raise TypeError(f"observable {name!r} must be callable as fn(theta)")
    if int(particle_offset) < 0:
        raise ValueError(f"particle_offset must be >= 0, got {particle_offset}")
    seed = resolve_seed(seed)
    m = theta.shape[0]
    particles = np.arange(int(particle_offset), int(particle_offset) + m, dtype=np.int64)
    sampler = BatchSampler(loss.n_examples, batch_size, sampling, seed, particles, stream)
    second = (BatchSampler(loss.n_examples, batch_size, sampling, seed, particles, stream + 1)
              if svag > 1 else None)
    root = math.sqrt(2 * svag - 1)
    w_plus, w_minus = (1 + root) / 2 / batch_size, (1 - root) / 2 / batch_size
    max_abs = check_max_abs(max_abs, theta.dtype)
    max_growth = check_max_growth(max_growth)
    scale = initial_scale(theta, None)
    bound = min(max_abs, max_growth * scale)
    velocity = np.zeros_like(theta) if momentum > 0 else None

    steps, times, history = [], [], {}
    sde_time = 0.0

    def record(k):
        steps.append(k)
        times.append(sde_time)
        values = {"loss": loss.energy(theta), "grad_norm": np.linalg.norm(loss.grad(theta), axis=1)}
        if record_params:
            values["position"] = theta.copy()
        for name, fn in observables.items():
            values[name] = np.array(fn(theta), copy=True)  # a view of θ would change under us
        for name, value in values.items():
            history.setdefault(name, []).append(value)

    settings = {
        "algorithm": "sgd", "landscape": repr(loss), "lr": lr, "batch_size": int(batch_size),
        "sampling": sampling, "momentum": momentum, "svag": int(svag), "seed": int(seed),
        "stream": int(stream), "schedule": repr(schedule), "particle_offset": int(particle_offset),
        "n_particles": m, "dim": loss.dim, "dtype": str(theta.dtype), "target_step": int(n_steps),
        "save_every": int(record_every), "max_abs": max_abs, "max_growth": max_growth,
        "growth_scale": scale,
    }

    def trajectory(k, wall):
        obs = {name: np.stack(v) for name, v in history.items()}
        stats = {"n_steps": k, "n_grad_evals": k * (2 if svag > 1 else 1),
                 "n_examples_seen": k * batch_size * (2 if svag > 1 else 1), "wall_time": wall,
                 "particle_steps_per_s": k * m / wall if wall > 0 else float("nan"),
                 "interrupted": False}
        return Trajectory(ts=np.asarray(times), steps=np.asarray(steps), observables=obs, final=theta,
                          final_velocity=velocity, step=k, stats=stats, settings=settings)

    def check_loss(k, step_size):
        """Raise if the loss just recorded (after step k) blew up."""
        f = history["loss"][-1]
        bad = ~(np.abs(f) <= loss_bound)
        if bad.any():
            peak = float(np.max(np.abs(np.where(np.isfinite(f), f, np.inf))))
            what = ("NaN or inf" if not math.isfinite(peak) else
                    f"{peak:.3g}, past max_growth² = {max_growth**2:.3g} times the initial scale "
                    f"{loss_scale:.3g}")
            partial = trajectory(k + 1, time.perf_counter() - start)
            raise divergence_error(k, particles[bad], partial, step_size,
                                   f"the full-batch loss recorded at step {k + 1} is {what}")

    record(0)
    loss_scale = max(1.0, float(np.max(np.abs(history["loss"][0]))))
    loss_bound = max_growth**2 * loss_scale
    settings["loss_scale"] = loss_scale
    start = time.perf_counter()
    for k in range(int(n_steps)):
        rate = lr if schedule is None else lr * float(schedule(k))
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"the schedule gave a learning rate {rate} at step {k}; it must stay > 0")
        idx = sampler.indices(k)
        if second is None:
            g = loss.batch_grad(theta, idx)
        else:
            both = np.concatenate([idx, second.indices(k)], axis=1)
            weights = np.concatenate([np.full(idx.shape, w_plus), np.full(idx.shape, w_minus)], axis=1)
            g = loss.weighted_grad(theta, weights, both) + loss.weight_decay * theta
        step = rate / svag
        if velocity is None:
            theta -= step * g
        else:
            velocity *= momentum
            velocity -= step * g
            theta += velocity
        sde_time += step
        bad = ~np.all(np.abs(theta) <= bound, axis=1)
        if bad.any():
            with np.errstate(over="ignore", invalid="ignore"):  # the record holds the blown-up runs
                record(k + 1)
            values = theta[bad]
            peak = float(np.max(np.abs(values))) if np.all(np.isfinite(values)) else math.inf
            reason = ("a parameter became NaN or inf" if not math.isfinite(peak) else
                      f"|θ_k| = {peak:.3g} exceeded max_abs = {max_abs:.3g}" if peak > max_abs else
                      f"|θ_k| = {peak:.3g} grew past max_growth = {max_growth:.3g} times the initial "
                      f"scale {scale:.3g}")
            raise divergence_error(k, particles[bad], trajectory(k + 1, time.perf_counter() - start), step,
                              reason)
        due = (k + 1) in record_at if record_at is not None else (
            (k + 1) % record_every == 0 or k + 1 == n_steps)
        if due:
            with np.errstate(over="ignore", invalid="ignore"):
                record(k + 1)
            check_loss(k, step)
    return trajectory(int(n_steps), time.perf_counter() - start)
