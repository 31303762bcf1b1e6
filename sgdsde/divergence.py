"""When a run counts as blown up: the bounds shared by :func:`sgdsde.simulate` and real SGD.

A particle (or an SGD run) diverges at the first step after which a component of its
position or velocity is NaN or inf or exceeds ``min(max_abs, max_growth · s)`` in absolute
value, with the initial scale ``s = max(1, max |x0|, max |v0|)`` of the whole cloud, or when
its recorded energy (loss) is NaN or exceeds ``max_growth² · max(1, max |U(x0)|)``.  The
default ``max_growth = 1e8`` is never reached by a bounded or diffusing cloud in a
meaningful run (a Brownian particle needs t ~ 1e16 / T to travel 1e8), while an unstable
one gets there long before floating point overflows (~1e154 in float64).
"""

from __future__ import annotations

import math

import numpy as np

from .results import DivergenceError

__all__ = ["MAX_GROWTH", "check_max_abs", "check_max_growth", "initial_scale", "divergence_error"]

MAX_GROWTH = 1e8  # default blow-up factor over the initial scale


def check_max_abs(max_abs, dtype):
    """The absolute blow-up bound: ``max_abs`` checked > 0, or sqrt of the dtype's largest value."""
    if max_abs is None:
        return math.sqrt(np.finfo(dtype).max)
    if isinstance(max_abs, bool) or not isinstance(max_abs, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_abs must be a number > 0, got {type(max_abs).__name__}")
    max_abs = float(max_abs)
    if not max_abs > 0:  # NaN included
        raise ValueError(f"max_abs must be a number > 0 (a bound on |x_k| and |v_k|), got {max_abs}")
    return max_abs


def check_max_growth(max_growth):
    if isinstance(max_growth, bool) or not isinstance(max_growth, (int, float, np.integer, np.floating)):
        raise TypeError(f"max_growth must be a number > 1, got {type(max_growth).__name__}")
    max_growth = float(max_growth)
    if not max_growth > 1:  # NaN included; math.inf switches the growth test off
        raise ValueError(f"max_growth must be a number > 1 (or math.inf), got {max_growth}")
    return max_growth


def initial_scale(x, v) -> float:
    """``max(1, max |x0|, max |v0|)``: the scale the growth test of :func:`simulate` compares to."""
    scale = float(np.max(np.abs(x))) if x.size else 0.0
    if v is not None and v.size:
        scale = max(scale, float(np.max(np.abs(v))))
    return max(1.0, scale)


def divergence_error(first, particles, traj, dt, reason) -> DivergenceError:
    """A DivergenceError whose message ends with what was detected."""
    err = DivergenceError(first, particles, traj, dt)
    err.args = (f"{err.args[0]}. Detected: {reason}",)
    return err
