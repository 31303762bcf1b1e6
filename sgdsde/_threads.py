"""BLAS threads for the batched path of :func:`sgdsde.simulate`.

Landscapes whose gradient is a matrix product (p-spin, the networks, dense quadratics
above the fused size) spend their time in BLAS.  OpenBLAS starts one thread per core and
its threads busy-wait between calls; on a machine whose cores are already busy they only
contend.  Measured on a shared 2-core machine (1-minute load average 7-8) with the README's
p-spin quickstart (N = 128, 32 particles, 1000 Euler-Maruyama steps): 140 s with
OpenBLAS's default 2 threads, 11.7 s with one.

The rule, applied for the duration of each :func:`~sgdsde.simulate` call (the limit is
restored when it returns, so the caller's BLAS settings are untouched outside it)::

    threads = clamp(floor(cores − load) + 1, 1, cores)

with ``cores`` the CPUs this process may run on (``os.sched_getaffinity``) and ``load``
the 1-minute load average, so an idle machine keeps every core, a busy one gets one
thread (the calling thread itself), and a half-busy one the idle cores.  The decision is
taken once per call of :func:`~sgdsde.simulate`.

The rule stands aside when the user has chosen: :func:`set_blas_threads` (a number, or
None to return to the rule), or ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``,
``OMP_NUM_THREADS`` or ``BLIS_NUM_THREADS`` in the environment.
"""

from __future__ import annotations

import functools
import math
import os

__all__ = ["set_blas_threads", "get_blas_threads", "with_blas_threads"]

_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS", "BLIS_NUM_THREADS")

_override: int | None = None
_controller = None


def set_blas_threads(n_threads: int | None) -> None:
    """Fix the BLAS threads :func:`~sgdsde.simulate` uses on its batched path.

    Parameters
    ----------
    n_threads : int or None
        Threads >= 1, or None for the automatic rule (module docstring of
        ``sgdsde._threads``: the idle cores, at least one).
    """
    global _override
    if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(n_threads, int)
                                  or n_threads < 1):
        raise ValueError(f"n_threads must be an integer >= 1 or None, got {n_threads!r}")
    _override = n_threads


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def automatic_threads(cores: int, load: float) -> int:
    """``clamp(floor(cores − load) + 1, 1, cores)``: the idle cores plus the calling thread."""
    return max(1, min(cores, math.floor(cores - load) + 1))


def get_blas_threads() -> int | None:
    """The BLAS threads the next :func:`~sgdsde.simulate` call will use, or None where the
    environment sets them (then sgdsde leaves BLAS alone)."""
    if _override is not None:
        return _override
    if any(os.environ.get(name) for name in _ENVIRONMENT):
        return None
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        return None
    return automatic_threads(_cores(), load)


def with_blas_threads(fn):
    """Decorate ``fn`` so that BLAS runs with :func:`get_blas_threads` threads during each call.

    The limit holds for the whole call, observables included: switching OpenBLAS between 1
    and 2 threads around every chunk of steps was measured 2.5x slower than holding one
    thread (the woken second thread busy-waits into the next chunk).
    """
    @functools.wraps(fn)
    def limited(*args, **kwargs):
        global _controller
        n = get_blas_threads()
        if n is None:
            return fn(*args, **kwargs)
        if _controller is None:
            from threadpoolctl import ThreadpoolController  # ~10 ms: scans the loaded libraries

            _controller = ThreadpoolController()
        with _controller.limit(limits=n, user_api="blas"):
            return fn(*args, **kwargs)

    return limited
