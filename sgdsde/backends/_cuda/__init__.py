"""CUDA C sources of the GPU backend, compiled at run time by NVRTC (through CuPy).

The headers compile both for the device and, unchanged, for the host, where the CPU test
suite checks them against the NumPy reference (``tests/test_cuda_source_on_cpu.py``):

* ``portable.cuh`` — the few definitions that differ between CUDA and host C++;
* ``random.cuh`` — Philox4x32-10 and the ziggurat of :mod:`sgdsde.random`;
* ``toy.cuh`` — pointwise gradients and energies of the toy landscapes;
* ``steps.cuh`` — one particle's fused run of every integrator;
* ``couplings.cuh`` — the symmetric p-spin couplings drawn from the seed;
* ``fused.cu``, ``pspin.cu`` — the ``__global__`` kernels.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["SOURCE_DIR", "NVRTC_OPTIONS", "FUSED_KERNELS", "MAX_FUSED_DIM", "source", "expanded",
           "instance"]

SOURCE_DIR = Path(__file__).resolve().parent

# No fused multiply-adds: the kernels then round exactly as the NumPy reference does, at
# most a few per cent of the integer-bound throughput of the fused kernels.
NVRTC_OPTIONS = ("-std=c++17", "--fmad=false")

# Integrator name -> kernel template in fused.cu.
FUSED_KERNELS = {
    "EulerMaruyama": "euler_maruyama",
    "Heun": "heun",
    "LeimkuhlerMatthews": "leimkuhler_matthews",
    "MALA": "mala",
    "BAOAB": "baoab",
}

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
