"""Real minibatch SGD on an empirical-risk landscape, for a whole ensemble at once.

An ensemble of M independent SGD runs is a cloud θ of shape (M, d); every step computes the
M minibatch gradients in one vectorised call (each run with its own batch).  The batches
come from the counter-based generator :mod:`sgdsde.random`: the batch of run m at step k
is a pure function of ``(seed, particle_offset + m, k, stream)``, so a run is reproducible
whatever the ensemble size, the thread count or the order of evaluation, and run m of a
large ensemble equals run m of a small one.

Updates (learning rate η_k = lr · schedule(k), momentum μ̂, SVAG factor l)::

    g_k = ∇f_{γ_k}(θ_k)                                  (minibatch gradient)
    plain:     θ_{k+1} = θ_k − (η_k/l) g_k
    momentum:  v_{k+1} = μ̂ v_k − (η_k/l) g_k,  θ_{k+1} = θ_k + v_{k+1}   (Li, Tai & E 2019, §4.2)

SVAG (Li, Malladi & Arora, NeurIPS 2021) replaces g_k by
``((1 + sqrt(2l−1))/2) ∇f_{γ_k} + ((1 − sqrt(2l−1))/2) ∇f_{γ'_k}`` with two independent
batches: mean ∇f, covariance l·Σ, step η/l; as l → ∞ it converges weakly to the SME with
error O(1/l), and l = 1 is plain SGD path by path.

Sampling of the batch indices γ_k (B of the n examples):

* ``"with_replacement"``: B independent uniform indices (batch covariance Σ = D/B);
* ``"without_replacement"``: a uniform B-subset, fresh every step (partial Fisher–Yates;
  Σ = (1 − B/n) D'/B, see :mod:`sgdsde.sgd.noise`);
* ``"epoch"``: random reshuffling, a fresh permutation each epoch cut into ⌊n/B⌋ batches
  (the last ``n mod B`` examples of each permutation are skipped).

Streams: batches use ``stream`` (default :data:`STREAM_MINIBATCH`), SVAG's second batch
``stream + 1``; both must be >= :data:`sgdsde.random.STREAM_USER`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .._checks import boolean as _boolean
from .._checks import integer as _integer
from .._checks import positive as _positive
from .._checks import real as _real
from ..divergence import MAX_GROWTH
from ..integrators.base import Integrator, NoiseSource, State
from ..landscapes.base import check_cloud
from ..landscapes.networks import EmpiricalRisk
from ..random import STREAM_USER, resolve_seed, uniforms
from ..results import Trajectory
from ..save import SaveAt
from ..sde import LangevinSDE
from ..simulate import simulate

__all__ = ["run_sgd", "MinibatchSGD", "BatchSampler", "StepDecay", "InverseTimeDecay", "STREAM_MINIBATCH",
           "SAMPLINGS"]

STREAM_MINIBATCH = STREAM_USER + 8
SAMPLINGS = ("with_replacement", "without_replacement", "epoch")


class BatchSampler:
    """Minibatch indices of an ensemble, step by step, from the counter-based generator.

    Parameters
    ----------
    n_examples : int
        n, the size of the data set.
    batch_size : int
        B, with ``1 <= B <= n``.
    sampling : {"with_replacement", "without_replacement", "epoch"}
        See the module docstring.
    seed : int
        Generator key.
    particles : array_like of int, shape (M,)
        Global indices of the runs, >= 0.
    stream : int
        Generator stream, >= ``STREAM_USER``.
    """

    def __init__(self, n_examples: int, batch_size: int, sampling: str, seed: int, particles,
                 stream: int = STREAM_MINIBATCH):
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
        n_examples = _integer(n_examples, "n_examples", 1)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if batch_size > n_examples:
            raise ValueError(f"batch_size = {batch_size} is larger than the data set "
                             f"(n = {n_examples} examples); choose 1 <= batch_size <= {n_examples}")
        if isinstance(stream, bool) or not isinstance(stream, (int, np.integer)) or stream < STREAM_USER:
            raise ValueError(f"stream must be an integer >= STREAM_USER = {STREAM_USER}, got {stream!r}")
        self.n, self.batch_size, self.sampling = int(n_examples), int(batch_size), sampling
        self.seed, self.stream = resolve_seed(seed), int(stream)
        particles = np.asarray(particles)
        if (particles.dtype.kind not in "iu" or particles.ndim != 1
                or (particles.size and particles.min() < 0)):
            raise ValueError(f"particles must be integers >= 0, shape (M,), got {particles.dtype} of shape "
                             f"{particles.shape}")
        self.particles = particles.astype(np.int64)
        self.batches_per_epoch = self.n // self.batch_size
        self._epoch, self._perm = -1, None

    def indices(self, step: int) -> np.ndarray:
        """The batches of step ``step``: int64 array of shape (M, B)."""
        n, b = self.n, self.batch_size
        if self.sampling == "with_replacement":
            u = uniforms(self.seed, self.particles, step, b, self.stream)
            return np.minimum((u * n).astype(np.int64), n - 1)
        if self.sampling == "without_replacement":
            u = uniforms(self.seed, self.particles, step, b, self.stream)
            return _partial_shuffle(u, n)
        epoch, slot = divmod(int(step), self.batches_per_epoch)
        if epoch != self._epoch:
            # A uniform permutation: the ranks of n i.i.d. uniforms (ties have probability
            # ~ n²/2**33 and are broken by position, a negligible bias).
            u = uniforms(self.seed, self.particles, epoch, n, self.stream)
            self._perm, self._epoch = np.argsort(u, axis=1, kind="stable"), epoch
        return self._perm[:, slot * b:(slot + 1) * b]


def _partial_shuffle(u: np.ndarray, n: int) -> np.ndarray:
    """First B entries of a Fisher–Yates shuffle of range(n) per row, driven by u (M, B)."""
    m, b = u.shape
    perm = np.tile(np.arange(n, dtype=np.int64), (m, 1))
    rows = np.arange(m)
    for j in range(b):
        r = j + np.minimum((u[:, j] * (n - j)).astype(np.int64), n - j - 1)
        perm[rows, j], perm[rows, r] = perm[rows, r], perm[rows, j]  # fancy indexing copies
    return perm[:, :b]


@dataclass(frozen=True)
class StepDecay:
    """Learning-rate multiplier ``factor ** (k // every)``."""

    factor: float
    every: int

    def __post_init__(self):
        if not 0 < self.factor <= 1:
            raise ValueError(f"factor must lie in (0, 1], got {self.factor}")
        _integer(self.every, "every", 1)

    def __call__(self, k: int) -> float:
        return self.factor ** (k // self.every)


@dataclass(frozen=True)
class InverseTimeDecay:
    """Learning-rate multiplier ``1 / (1 + k / k0)`` (the Robbins–Monro rate for k ≫ k0)."""

    k0: float

    def __post_init__(self):
        if not self.k0 > 0:
            raise ValueError(f"k0 must be > 0, got {self.k0}")

    def __call__(self, k: int) -> float:
        return 1.0 / (1.0 + k / self.k0)


class MinibatchSGD(Integrator):
    """Minibatch SGD of an ensemble as a discrete scheme of :func:`sgdsde.simulate`.

    One driver step is one SGD step of every run (update rules, samplings and SVAG in the
    module docstring).  ``dt`` is the SDE time of a step, ``η/l`` (η the learning rate, l
    the SVAG factor): the parameters move by ``dt · schedule(k)`` times the minibatch
    gradient, and ``ts = t0 + k·dt``.  The SDE must be ``LangevinSDE(loss, temperature=0)``
    with ``loss`` an :class:`~sgdsde.landscapes.networks.EmpiricalRisk`: the noise is that
    of the minibatches, drawn from :mod:`sgdsde.random` with the run's seed and particle
    indices (batch of run m at step k: a function of (seed, m, k, stream)), so a chained
    run continues the batch stream and a resumed one replays it.  Momentum buffers travel
    as the state's velocities (``Trajectory.final_velocity``).

    SGD is not driven by Brownian increments: it has no strong order (declared NaN); its
    weak order as an approximation of the order-1 SME is 1 (Li, Tai & E, JMLR 2019, Thm 1).

    Parameters
    ----------
    batch_size : int
        B, ``1 <= B <= n``.
    sampling : {"with_replacement", "without_replacement", "epoch"}
    momentum : float
        μ̂ in [0, 1) (heavy-ball; 0 is plain SGD).
    schedule : callable, optional
        ``k -> multiplier`` of the learning rate at absolute step k (e.g. :class:`StepDecay`).
    svag : int
        SVAG factor l >= 1 (two batches per step when l > 1).
    stream : int
        Generator stream of the batches, >= ``STREAM_USER`` (SVAG's second: ``stream + 1``).
    """

    name = "MinibatchSGD"
    strong_order = math.nan
    strong_order_additive = math.nan
    weak_order = 1.0
    grad_evals_per_step = 1
    needs_euclidean = True

    def __init__(self, batch_size: int, sampling: str = "with_replacement", momentum: float = 0.0,
                 schedule: Callable[[int], float] | None = None, svag: int = 1,
                 stream: int = STREAM_MINIBATCH):
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        momentum = _real(momentum, "momentum")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        if isinstance(svag, bool) or not isinstance(svag, (int, np.integer)) or svag < 1:
            raise ValueError(f"svag must be an integer >= 1, got {svag!r}")
        if schedule is not None and not callable(schedule):
            raise TypeError("schedule must be callable as schedule(k) -> learning-rate multiplier")
        if isinstance(stream, bool) or not isinstance(stream, (int, np.integer)) or stream < STREAM_USER:
            raise ValueError(f"stream must be an integer >= STREAM_USER = {STREAM_USER}, got {stream!r}")
        self.batch_size, self.sampling, self.momentum = int(batch_size), sampling, momentum
        self.schedule, self.svag, self.stream = schedule, int(svag), int(stream)
        self.grad_evals_per_step = 2 if self.svag > 1 else 1
        root = math.sqrt(2 * self.svag - 1)
        self._weights = ((1 + root) / 2 / self.batch_size, (1 - root) / 2 / self.batch_size)
        self._samplers: dict = {}  # the epoch sampler keeps its permutation between steps

    def check(self, sde) -> None:
        super().check(sde)
        if not isinstance(sde.landscape, EmpiricalRisk):
            raise TypeError(f"MinibatchSGD needs an EmpiricalRisk landscape (a model and its data), "
                            f"got {type(sde.landscape).__name__}")
        if sde.temperature != 0.0:
            raise ValueError("MinibatchSGD draws its noise from the minibatches: give the SDE "
                             "temperature=0 (other noise would be ignored)")
        if self.batch_size > sde.landscape.n_examples:
            raise ValueError(f"batch_size = {self.batch_size} is larger than the data set (n = "
                             f"{sde.landscape.n_examples} examples); choose 1 <= batch_size <= "
                             f"{sde.landscape.n_examples}")

    def init_state(self, sde, x, v):
        if self.momentum == 0:
            v = None
        elif v is None:
            v = np.zeros_like(x)
        return State(x=x, v=None if v is None else np.array(v, dtype=x.dtype))

    def sampler(self, n_examples: int, noise: NoiseSource, second: bool = False) -> BatchSampler:
        """The batch sampler of a cloud (SVAG's second one with ``second``), kept between steps."""
        key = (noise.seed, int(noise.particles[0]), noise.particles.size, n_examples, second)
        if key not in self._samplers:
            self._samplers = {k: s for k, s in self._samplers.items() if k[:3] == key[:3]}
            self._samplers[key] = BatchSampler(n_examples, self.batch_size, self.sampling, noise.seed,
                                               noise.particles, self.stream + int(second))
        return self._samplers[key]

    def gradient(self, loss, theta, n: int, noise: NoiseSource) -> np.ndarray:
        """The minibatch gradient of step ``n`` (SVAG's two-batch combination when l > 1)."""
        idx = self.sampler(loss.n_examples, noise).indices(n)
        if self.svag == 1:
            return loss.batch_grad(theta, idx)
        both = np.concatenate([idx, self.sampler(loss.n_examples, noise, True).indices(n)], axis=1)
        w_plus, w_minus = self._weights
        weights = np.concatenate([np.full(idx.shape, w_plus), np.full(idx.shape, w_minus)], axis=1)
        return loss.weighted_grad(theta, weights, both) + loss.weight_decay * theta

    def step(self, sde, state, n, dt, noise):
        if noise.seed is None or noise.particles is None:
            raise ValueError("MinibatchSGD needs a noise source that carries its seed and particles")
        multiplier = 1.0 if self.schedule is None else float(self.schedule(n))
        step = dt * multiplier
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"the schedule gave a learning rate {step} at step {n}; it must stay > 0")
        theta = state.x
        g = self.gradient(sde.landscape, theta, n, noise)
        if state.v is None:
            state.x = (theta - step * g).astype(theta.dtype, copy=False)
        else:
            v = state.v * self.momentum
            v = (v - step * g).astype(theta.dtype, copy=False)
            state.x, state.v = theta + v, v
        state.n_grad_evals += self.grad_evals_per_step

    def _params(self) -> tuple:
        return (self.batch_size, self.sampling, self.momentum, self.schedule, self.svag, self.stream)

    def __repr__(self):
        return (f"MinibatchSGD(batch_size={self.batch_size}, sampling={self.sampling!r}, "
                f"momentum={self.momentum}, schedule={self.schedule!r}, svag={self.svag}, "
                f"stream={self.stream})")

    def __eq__(self, other):
        return type(other) is type(self) and other._params() == self._params()

    def __hash__(self):
        return hash((type(self).__name__, self.batch_size, self.sampling, self.momentum, self.svag))


class _GradNorm:
    """The built-in record ``grad_norm``: full-batch |∇f(θ)| per run, shape (M,)."""

    def __init__(self, loss):
        self.loss = loss

    def __call__(self, theta):
        return np.linalg.norm(self.loss.grad(theta), axis=1)


class _Copied:
    """A user observable whose value is copied (a view of θ would change under us)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, theta):
        return np.array(self.fn(theta), copy=True)


def run_sgd(loss: EmpiricalRisk, theta0, *, lr: float, batch_size: int, n_steps: int,
            sampling: str = "with_replacement", momentum: float = 0.0,
            schedule: Callable[[int], float] | None = None, svag: int = 1,
            seed: int | None = None, record_every: int | None = None, record_at=None,
            observables: Mapping[str, Callable] | None = None, record_params: bool = False,
            particle_offset: int = 0, stream: int = STREAM_MINIBATCH,
            max_abs: float | None = None, max_growth: float = MAX_GROWTH,
            backend: str = "numpy") -> Trajectory:
    """Run an ensemble of independent minibatch SGD runs (update rules: module docstring).

    A thin convenience around the one driver: ``simulate(LangevinSDE(loss, temperature=0),
    MinibatchSGD(...), theta0, dt=lr / svag, ...)`` with the built-in records below, so
    SaveAt, checkpoints, ``resume=``/``continue_from=``, divergence and Dask sharding work
    for SGD as for any scheme — call :func:`sgdsde.simulate` directly for those.  The
    numbers are those of the loop this function used to run itself, bit for bit for the
    same seed (``tests/test_sgd_scheme.py`` keeps a frozen copy of that loop), except with
    both ``svag > 1`` and a schedule, where the step ``(η/l)·schedule(k)`` may differ from
    ``η·schedule(k)/l`` in the last bit.

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
    record_every : int, optional
        Record every this many steps (and at the start and the end); default 100.
    record_at : sequence of int, optional
        Record at exactly these steps (and at the start) instead of every ``record_every``
        (giving both is an error).
    observables : mapping of str to callable, optional
        Extra ``name -> fn(theta (M, d))`` recorded alongside the built-ins ``"loss"``
        (full-batch f, (M,)) and ``"grad_norm"`` (full-batch |∇f|, (M,)), whose names (and
        ``"position"`` with ``record_params``) they may not take.
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

    backend : {"numpy", "numba"}
        Where the driver runs (the minibatch gradients are NumPy/BLAS either way).

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
    if record_every is not None and record_at is not None:
        raise ValueError("give record_every and record_at not both: record_at records at exactly its "
                         "steps and would ignore record_every")
    record_every = 100 if record_every is None else record_every
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ValueError(f"record_every must be an integer >= 1, got {record_every!r}")
    points = _record_points(record_at, n_steps)
    scheme = MinibatchSGD(batch_size, sampling, momentum, schedule, svag, stream)
    obs = {"loss": "energy", "grad_norm": _GradNorm(loss)}
    record_params = _boolean(record_params, "record_params")
    if record_params:
        obs["position"] = "position"
    for name, fn in dict(observables or {}).items():
        if name in obs:
            raise ValueError(f"observable {name!r} is a built-in record of run_sgd "
                             f"({', '.join(map(repr, obs))}); give yours another name")
        if not callable(fn):
            raise TypeError(f"observable {name!r} must be callable as fn(theta)")
        obs[name] = _Copied(fn)
    particle_offset = _integer(particle_offset, "particle_offset", 0)
    seed = resolve_seed(seed)
    run = functools.partial(simulate, LangevinSDE(loss, temperature=0.0), scheme, dt=lr / scheme.svag,
                            seed=seed, backend=backend, progress=False, max_abs=max_abs,
                            max_growth=max_growth)
    if points is None:
        traj = run(theta, n_steps=int(n_steps), particle_offset=int(particle_offset) or None,
                   save=SaveAt(every=int(record_every), observables=obs))
    else:
        traj = _run_to_points(run, theta, int(particle_offset), points, int(n_steps), obs)
    return _as_sgd_trace(traj, scheme, lr, seed, int(record_every), loss)


def _record_points(record_at, n_steps) -> list[int] | None:
    """``record_at`` as sorted unique steps in [0, n_steps] (None: record every few steps)."""
    if record_at is None:
        return None
    points = np.unique(np.asarray(record_at))
    if points.dtype.kind not in "iu" or (points.size and (points.min() < 0 or points.max() > n_steps)):
        raise ValueError(f"record_at must be integer steps in [0, n_steps = {n_steps}]")
    return [int(p) for p in points]


def _run_to_points(run, theta, offset, points, n_steps, obs) -> Trajectory:
    """Record at step 0 and exactly at ``points``: one run per stretch between two of them,
    each continuing the previous one's batch stream (``continue_from``)."""
    stops = [p for p in points if p > 0]
    if not stops or stops[-1] != n_steps:
        stops.append(n_steps)
    parts, prev = [], None
    for stop in stops:
        length = stop - (0 if prev is None else prev.step)
        save = SaveAt(every=max(1, length), observables=obs, start=prev is None)
        prev = (run(theta, n_steps=length, particle_offset=offset or None, save=save) if prev is None
                else run(continue_from=prev, n_steps=length, save=save))
        parts.append(prev)
    keep = [s == 0 or s in points for p in parts for s in p.steps]
    steps = np.concatenate([p.steps for p in parts])[keep]
    records = {k: np.concatenate([p.observables[k] for p in parts])[keep] for k in parts[0].observables}
    last = parts[-1]
    stats = dict(last.stats, n_steps=n_steps, n_grad_evals=sum(p.stats["n_grad_evals"] for p in parts),
                 wall_time=sum(p.stats["wall_time"] for p in parts))
    settings = dict(last.settings, step0=0, t0=0.0, target_step=n_steps)
    return Trajectory(ts=steps * settings["dt"], steps=steps, observables=records, final=last.final,
                      final_velocity=last.final_velocity, step=last.step, stats=stats, settings=settings)


def _sde_times(steps: np.ndarray, lr: float, scheme: MinibatchSGD) -> np.ndarray:
    """``t_k = Σ_{j<k} η_j / l`` at ``steps``, accumulated step by step (η_j = lr · schedule(j))."""
    out = np.empty(steps.size)
    t, k = 0.0, 0
    for i, target in enumerate(steps):
        while k < target:
            rate = lr if scheme.schedule is None else lr * float(scheme.schedule(k))
            t += rate / scheme.svag
            k += 1
        out[i] = t
    return out


def _as_sgd_trace(traj: Trajectory, scheme: MinibatchSGD, lr: float, seed: int, record_every: int,
                  loss) -> Trajectory:
    """``traj`` with SGD's time axis (Σ η_j / l), its statistics and its settings."""
    extra = {"algorithm": "sgd", "landscape": repr(loss), "lr": lr, "batch_size": scheme.batch_size,
             "sampling": scheme.sampling, "momentum": scheme.momentum, "svag": scheme.svag,
             "stream": scheme.stream, "schedule": repr(scheme.schedule), "loss_scale": traj.settings.get(
                 "energy_scale"), "save_every": record_every}
    taken = traj.stats["n_steps"]
    stats = dict(traj.stats, n_examples_seen=taken * scheme.batch_size * scheme.grad_evals_per_step)
    return Trajectory(ts=_sde_times(traj.steps, lr, scheme), steps=traj.steps, observables=traj.observables,
                      final=traj.final, final_velocity=traj.final_velocity, step=traj.step, stats=stats,
                      settings={**traj.settings, **extra})
