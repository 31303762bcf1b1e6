"""First-passage times from simulations, censored runs, escape rates.

A first passage is the first time a scalar reaction coordinate (e.g. x₀ of a double well)
reaches a threshold.  For escape from a well, put the threshold at the bottom of the *other*
well, not on the barrier top: a particle on the top goes back half of the time, so the time to
the top is half the escape time (docs/theory.md §6).

Two ways to get first-passage times from :func:`~sgdsde.simulate.simulate`:

* :class:`FirstPassageRecorder`, an observable for ``SaveAt(observables=...)`` that watches
  the coordinate at every record and keeps only each particle's first crossing (memory
  O(M), not O(records × M)); use ``SaveAt(every=1)`` for step resolution;
* :func:`first_passage_times` on a saved trace of shape (n_records, M).

Both place the crossing between two records by linear interpolation of the coordinate.
Particles that have not crossed by the end are *right-censored* at the last record time;
:func:`escape_rate` (exponential maximum likelihood) and :func:`survival_function`
(Kaplan–Meier, `scipy.stats.ecdf` on `scipy.stats.CensoredData`) use them correctly instead
of dropping them, which would bias the rate upward.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .._checks import real as _real

__all__ = [
    "first_passage_times",
    "FirstPassageRecorder",
    "escape_rate",
    "mean_first_passage_time",
    "survival_function",
]

_DIRECTIONS = ("up", "down")


def _direction(direction: str) -> int:
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'up' (coordinate >= threshold) or 'down' "
                         f"(coordinate <= threshold), got {direction!r}")
    return 1 if direction == "up" else -1


def _threshold(threshold) -> float:
    return _real(threshold, "threshold")


def _crossing_fraction(before, after, threshold):
    """Where between two records the coordinate crossed, by linear interpolation, in [0, 1]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = (threshold - before) / (after - before)
    return np.clip(np.nan_to_num(frac, nan=1.0), 0.0, 1.0)


def _times_from_indices(ts, first, frac):
    observed = first >= 0
    times = np.full(first.shape, ts[-1], dtype=np.float64)
    i = first[observed]
    prev = np.maximum(i - 1, 0)
    times[observed] = ts[prev] + frac[observed] * (ts[i] - ts[prev])
    return times, observed


def _check_ts(ts, n_records):
    ts = np.asarray(ts, dtype=np.float64)
    if ts.ndim != 1 or ts.size != n_records:
        raise ValueError(f"ts must be 1-D with one time per record ({n_records}), got shape {ts.shape}")
    if ts.size < 1 or not np.all(np.isfinite(ts)) or np.any(np.diff(ts) <= 0):
        raise ValueError("ts must be finite and strictly increasing")
    return ts


def first_passage_times(ts, trace, threshold: float, direction: str = "up"):
    """First time each particle's coordinate reaches ``threshold``, from a saved trace.

    Parameters
    ----------
    ts : array_like, shape (n_records,)
        Record times (``Trajectory.ts``), strictly increasing.
    trace : array_like, shape (n_records,) or (n_records, n_particles)
        The coordinate at each record.
    threshold : float
        Level to reach (length units of the coordinate).
    direction : {"up", "down"}
        Reach ``coordinate >= threshold`` ("up") or ``<= threshold`` ("down").

    Returns
    -------
    times : ndarray, shape (n_particles,)
        First-passage times (SDE time units), linearly interpolated between the record
        before and the record at the first crossing; ``ts[0]`` if already across at the
        start; the last record time ``ts[-1]`` for censored particles.
    observed : ndarray of bool, shape (n_particles,)
        False for particles that never crossed (right-censored at ``ts[-1]``).

    Notes
    -----
    Records see the path only at their times: an excursion across and back between two
    records is missed, which delays the passage by up to the record spacing.  Save every
    step (or use :class:`FirstPassageRecorder` with ``SaveAt(every=1)``) when that matters.
    """
    sign = _direction(direction)
    threshold = _threshold(threshold)
    x = np.asarray(trace, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"trace must have shape (n_records,) or (n_records, n_particles), got {x.shape}")
    ts = _check_ts(ts, x.shape[0])
    if np.any(np.isnan(x)):
        raise ValueError("trace contains NaN")
    crossed = sign * (x - threshold) >= 0
    any_crossed = crossed.any(axis=0)
    first = np.where(any_crossed, np.argmax(crossed, axis=0), -1)
    cols = np.arange(x.shape[1])
    idx = np.maximum(first, 0)
    before = x[np.maximum(idx - 1, 0), cols]
    frac = np.where(first > 0, _crossing_fraction(before, x[idx, cols], threshold), 0.0)
    return _times_from_indices(ts, first, frac)


class FirstPassageRecorder:
    """An observable that records each particle's first passage during :func:`simulate`.

    Pass it in ``SaveAt(observables={"escaped": recorder})``; at every record it returns the
    fraction of particles that have crossed so far (one minus the survival curve), and after the
    run ``recorder.passage_times(traj.ts)`` gives the first-passage times.  One recorder
    watches one run, from its first record (a resumed run needs a fresh recorder and sees
    only the resumed part).

    Parameters
    ----------
    threshold : float
        Level of the coordinate to reach (length units).
    coordinate : int
        Which component of the position is the reaction coordinate.
    direction : {"up", "down"}
        Reach ``x[:, coordinate] >= threshold`` ("up") or ``<= threshold`` ("down").

    Raises
    ------
    ValueError
        When called with a NaN coordinate (as :func:`first_passage_times` raises for a NaN
        trace).

    Examples
    --------
    >>> rec = FirstPassageRecorder(threshold=1.0)                      # doctest: +SKIP
    >>> traj = simulate(sde, Heun(), x0, dt=1e-2, t1=200.0,           # doctest: +SKIP
    ...                 save=SaveAt(every=1, observables={"escaped": rec}))
    >>> times, observed = rec.passage_times(traj.ts)                   # doctest: +SKIP
    """

    def __init__(self, threshold: float, coordinate: int = 0, direction: str = "up"):
        self.threshold = _threshold(threshold)
        if isinstance(coordinate, bool) or not isinstance(coordinate, (int, np.integer)) or coordinate < 0:
            raise ValueError(f"coordinate must be an integer >= 0, got {coordinate!r}")
        self.coordinate = int(coordinate)
        self.direction = direction
        self._sign = _direction(direction)
        self.n_records = 0
        self._previous = None
        self._first = None
        self._frac = None

    def __call__(self, x: np.ndarray) -> float:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] <= self.coordinate:
            raise ValueError(f"positions must have shape (M, d) with d > {self.coordinate}, got {x.shape}")
        value = x[:, self.coordinate].astype(np.float64)
        if np.any(np.isnan(value)):
            raise ValueError(f"particle {int(np.argmax(np.isnan(value)))} has coordinate {self.coordinate} "
                             "NaN: its first passage is undefined (it would be reported censored)")
        if self._first is None:
            self._first = np.full(value.shape, -1, dtype=np.int64)
            self._frac = np.zeros(value.shape)
        elif value.shape != self._first.shape:
            raise ValueError(f"the recorder watched {self._first.size} particles, now given {value.size}; "
                             "use one recorder per run")
        new = (self._first < 0) & (self._sign * (value - self.threshold) >= 0)
        self._first[new] = self.n_records
        if self.n_records > 0:
            self._frac[new] = _crossing_fraction(self._previous[new], value[new], self.threshold)
        self._previous = value
        self.n_records += 1
        return float(np.mean(self._first >= 0))

    def passage_times(self, ts):
        """First-passage times and the observed mask, as :func:`first_passage_times` returns.

        Parameters
        ----------
        ts : array_like, shape (n_records,)
            The record times of the run (``Trajectory.ts``), one per call of the recorder.
        """
        if self._first is None:
            raise ValueError("the recorder has not seen any record yet")
        ts = _check_ts(ts, self.n_records)
        return _times_from_indices(ts, self._first, self._frac)

    def __repr__(self):
        return (f"FirstPassageRecorder(threshold={self.threshold}, coordinate={self.coordinate}, "
                f"direction={self.direction!r})")


def _censored(times, observed, t_start):
    t = np.asarray(times, dtype=np.float64)
    obs = np.asarray(observed)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array, got shape {t.shape}")
    if obs.shape != t.shape or obs.dtype != bool:
        raise ValueError(f"observed must be a boolean array of the shape of times {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("times contain NaN or inf")
    t = t - _real(t_start, "t_start")
    if np.any(t < 0):
        raise ValueError("times must be >= t_start")
    return t, obs


def escape_rate(times, observed, t_start: float = 0.0) -> tuple[float, float]:
    """Maximum-likelihood rate of exponentially distributed, right-censored passage times.

    ``λ̂ = (number observed) / Σ_i (t_i − t_start)`` over observed *and* censored particles,
    with standard error ``λ̂ / sqrt(number observed)`` (inverse Fisher information).

    Parameters
    ----------
    times : array_like, shape (n,)
        Passage times, or censoring times for the unobserved (SDE time units).
    observed : array_like of bool, shape (n,)
        True where the passage was seen.
    t_start : float
        Time origin of the clocks (the start of the run), a finite number.

    Returns
    -------
    rate, stderr : float
        In inverse time units.

    Raises
    ------
    ValueError
        With no passage observed: the rate has no standard error then, only the 95 % upper
        bound ``−ln(0.05) / Σ t ≈ 3 / Σ t``, which the message gives (as
        :func:`mean_first_passage_time` raises for its unbounded mean).
    """
    t, obs = _censored(times, observed, t_start)
    exposure = float(t.sum())
    events = int(obs.sum())
    if exposure <= 0:
        raise ValueError("the total observation time is 0: every passage happened at t_start")
    if events == 0:
        raise ValueError(f"no passage observed among {t.size} particle(s) over a total time "
                         f"{exposure:.6g}: the rate has no estimate with an error bar, only the "
                         f"95 % upper bound -ln(0.05)/sum(t) = {-np.log(0.05) / exposure:.3g}")
    rate = events / exposure
    return rate, rate / np.sqrt(events)


def mean_first_passage_time(times, observed, t_start: float = 0.0) -> tuple[float, float]:
    """Mean first-passage time and its standard error, handling censored particles.

    Without censoring: the sample mean and sd/sqrt(n) (no distributional assumption).  With
    censored particles: ``1/λ̂`` of :func:`escape_rate` with standard error ``τ̂/sqrt(n_obs)``,
    which assumes exponential passage times (escape over a barrier of several T).

    Returns
    -------
    mean, stderr : float
        In SDE time units (relative to ``t_start``).
    """
    t, obs = _censored(times, observed, t_start)
    if obs.all():
        if t.size < 2:
            raise ValueError("a standard error needs at least 2 passage times")
        return float(t.mean()), float(t.std(ddof=1) / np.sqrt(t.size))
    if not obs.any():
        raise ValueError("no passage observed: the mean first-passage time is unbounded")
    rate, _ = escape_rate(t, obs)
    return 1.0 / rate, 1.0 / (rate * np.sqrt(obs.sum()))


def survival_function(times, observed, t_start: float = 0.0):
    """Kaplan–Meier estimate of P(passage time > t) from right-censored times.

    Parameters are those of :func:`escape_rate`.

    Returns
    -------
    scipy.stats._survival.EmpiricalDistributionFunction
        ``scipy.stats.ecdf(CensoredData(...)).sf``: call ``.evaluate(t)`` for values,
        ``.confidence_interval()`` for Greenwood intervals, ``.quantiles`` /
        ``.probabilities`` for the steps.  Without censoring it is 1 − the empirical CDF.
    """
    t, obs = _censored(times, observed, t_start)
    data = stats.CensoredData(uncensored=t[obs], right=t[~obs])
    return stats.ecdf(data).sf
