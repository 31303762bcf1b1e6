"""Backends: where the arithmetic runs.  A lazy registry that is loud when something is missing.

* ``"numpy"`` — the reference: every step written with NumPy on whole clouds.  Slow, readable,
  the specification the others are tested against.
* ``"numba"`` — the CPU backend: fused kernels (whole steps per particle, many steps per call,
  parallel over particles) for toy landscapes with thermal noise in flat space; for other
  problems the reference step with noise drawn by a parallel Numba kernel and the
  landscape's own batched (BLAS) gradient.
* ``"cupy"`` — the GPU backend (extra ``sgdsde[gpu]``).  Asking for it without CuPy or
  without a CUDA device raises; there is never a silent fallback to the CPU.
"""

from __future__ import annotations

import importlib

from .._extras import MissingExtraError
from .base import Backend

__all__ = ["Backend", "get_backend", "available_backends", "BACKENDS"]

BACKENDS = {
    "numpy": ("sgdsde.backends.numpy_backend", "NumpyBackend", None),
    "numba": ("sgdsde.backends.numba_backend", "NumbaBackend", None),
    "cupy": ("sgdsde.backends.cupy_backend", "CupyBackend", "gpu"),
}

_cache: dict[str, Backend] = {}


def get_backend(name: str | Backend) -> Backend:
    """The backend called ``name`` (instances pass through).

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    ImportError
        When the backend's optional dependency is missing (a
        :class:`~sgdsde._extras.MissingExtraError` naming the extra to install), or is
        installed but cannot run here (no CUDA device: the message says so and does not
        advise an install).
    """
    if isinstance(name, Backend):
        return name
    if name not in BACKENDS:
        raise ValueError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    if name not in _cache:
        module, cls, _extra = BACKENDS[name]
        try:
            _cache[name] = getattr(importlib.import_module(module), cls)()
        except MissingExtraError as err:
            raise MissingExtraError(f"backend {name!r} is not available: {err}", name=err.name) from err
        except ImportError as err:  # installed, but the machine lacks something (e.g. a GPU)
            raise ImportError(f"backend {name!r} is not available: {err}") from err
    return _cache[name]


def available_backends() -> list[str]:
    """Names of the backends that load on this machine."""
    names = []
    for name in BACKENDS:
        try:
            get_backend(name)
        except (ImportError, RuntimeError):
            continue
        names.append(name)
    return names
