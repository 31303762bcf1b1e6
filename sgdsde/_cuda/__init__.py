"""CUDA C sources of the GPU backend, compiled at run time by NVRTC (through CuPy).

The headers compile both for the device and, unchanged, for the host, where the CPU test
suite checks them against the NumPy reference (``tests/test_cuda_source_on_cpu.py``):

* ``portable.cuh`` — the few definitions that differ between CUDA and host C++;
* ``random.cuh`` — Philox4x32-10 and the ziggurat of :mod:`sgdsde.random`;
* ``toy.cuh`` — pointwise gradients and energies of the toy landscapes;
* ``steps.cuh`` — one particle's fused run of every integrator;
* ``couplings.cuh`` — the symmetric p-spin couplings drawn from the seed;
* ``fused.cu``, ``pspin.cu`` — the ``__global__`` kernels.


It sits below the backends and the landscapes (both compile from it), and imports CuPy
only inside the functions that need a device, from the module the caller passes.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np

from .. import random as rnd

__all__ = ["SOURCE_DIR", "NVRTC_OPTIONS", "FUSED_TEMPLATES", "MAX_FUSED_DIM", "source", "expanded",
           "instance", "ctype", "ziggurat_tables", "compiled"]

SOURCE_DIR = Path(__file__).resolve().parent

# No fused multiply-adds: the kernels then round exactly as the NumPy reference does, at
# most a few per cent of the integer-bound throughput of the fused kernels.
NVRTC_OPTIONS = ("-std=c++17", "--fmad=false")

# The kernel templates of fused.cu; an integrator names its own in ``Kernels.cupy``.
FUSED_TEMPLATES = ("euler_maruyama", "heun", "leimkuhler_matthews", "mala", "baoab", "obabo")

# Largest dimension with a fused kernel: the state (a few arrays of D values and a noise
# block of 4 D) lives in registers, which beyond this spills; larger problems use the
# batched path.
MAX_FUSED_DIM = 16


def source(name: str) -> str:
    """The text of the source file ``name`` (e.g. ``"fused.cu"``)."""
    return (SOURCE_DIR / name).read_text()


_INCLUDE = re.compile(r'^#include "([\w.]+)"\s*$', re.MULTILINE)


def expanded(name: str, _seen: set | None = None) -> str:
    """The source ``name`` with its local ``#include "..."`` files inlined (each once).

    NVRTC is then given one self-contained text, and CuPy's cache of compiled kernels, keyed
    by that text, sees every change of a header.
    """
    seen = set() if _seen is None else _seen
    if name in seen:
        return ""
    seen.add(name)
    return _INCLUDE.sub(lambda m: expanded(m.group(1), seen), source(name))


def instance(template: str, *args) -> str:
    """The name expression of a template instance, e.g. ``instance("heun", "float", 2)``."""
    return f"{template}<{', '.join(str(a) for a in args)}>"


def ctype(dtype) -> str:
    """The C type of a cloud's dtype: ``"float"`` or ``"double"`` (TypeError otherwise)."""
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return "float"
    if dtype == np.float64:
        return "double"
    raise TypeError(f"the GPU kernels run float32 or float64 clouds, got dtype {dtype}")


@functools.cache
def ziggurat_tables(cupy) -> tuple:
    """The ziggurat tables ``(k, w, f)`` of :mod:`sgdsde.random` on the current device.

    ``cupy`` is the CuPy module (kept in the cache key, so a stand-in used by the CPU tests
    never serves a real device).
    """
    return tuple(cupy.asarray(t, dtype=cupy.float64)
                 for t in (rnd.ZIGGURAT_K, rnd.ZIGGURAT_W, rnd.ZIGGURAT_F))


@functools.cache
def compiled(cupy, name: str, names: tuple[str, ...]):
    """``cupy.RawModule`` of the source ``name`` with the template instances ``names``."""
    return cupy.RawModule(code=expanded(name), options=NVRTC_OPTIONS, name_expressions=list(names))
