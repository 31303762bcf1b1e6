"""The CuPy GPU backend (extra ``sgdsde[gpu]``): loud when CuPy or a device is missing."""

from __future__ import annotations

try:
    import cupy  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the machine
    raise ImportError("CuPy is not installed") from err

from .base import Backend


def _require_device():
    import cupy

    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as err:  # pragma: no cover
        raise ImportError(f"CuPy found no usable CUDA device ({err})") from err
    if n < 1:  # pragma: no cover
        raise ImportError("CuPy found no CUDA device")


class CupyBackend(Backend):  # pragma: no cover - needs a GPU
    """GPU backend; constructed only when CuPy and a CUDA device are present."""

    name = "cupy"

    def __init__(self):
        _require_device()
        raise ImportError("the CuPy kernels are not part of this build yet")
