"""The CuPy GPU backend (extra ``sgdsde[gpu]``): the same paths as the CPU, on an NVIDIA GPU.

* **Noise** — the counter-based normals of :mod:`sgdsde.random` computed by a CUDA kernel
  (``_cuda/random.cuh``): the same Philox counters and ziggurat, so a particle's path is
  the same on every backend.
* **Fused runs** — toy landscapes (``fused_kind``) with isotropic thermal noise in flat space:
  one thread per particle, up to a whole driver chunk of steps per launch, the particle's
  state and its noise block in registers (``_cuda/steps.cuh``).  The cloud stays on the
  device between chunks; the host reads a 4-byte divergence counter after each launch and
  the cloud only when the driver records (:meth:`CupyBackend.observe`), where the built-in
  observables are reduced on the device first.
* **Everything else** (p-spin, matrix noise, the sphere) — the integrator's reference step on
  CuPy arrays: NumPy calls on CuPy arrays dispatch to CuPy, noise comes from the kernel,
  toy landscapes get a batched gradient kernel, and landscapes such as
  :class:`~sgdsde.landscapes._pspin_cupy.DevicePSpin` compute on the device (cuBLAS).
  The divergence test stays on the device too: the host reads its flags once per window of
  steps and replays a window that saw a divergence, to stop at the step it happened.

Kernels are CUDA C compiled at run time by NVRTC through ``cupy.RawModule`` rather than
Numba-CUDA: the same headers compile for the host, where the CPU test suite checks them
against the NumPy reference bit for bit, and CuPy caches the compiled modules on disk.

Importing this module without CuPy, or constructing the backend without a usable CUDA
device, raises ImportError; :func:`sgdsde.backends.get_backend` adds the install hint.
There is never a silent fallback to the CPU.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref

import numpy as np

from .. import _cuda
from .. import random as rnd
from .._cuda import FUSED_TEMPLATES, MAX_FUSED_DIM, compiled, instance
from .._cuda import ctype as _ctype
from .._extras import require
from ..integrators.base import ARRAY_FIELDS, NoiseSource, State, own_kernels
from ..landscapes.base import Landscape
from ..manifolds import Euclidean
from ..sde import LangevinSDE
from .base import Backend

cupy = require("cupy", "gpu", "backend 'cupy'")

__all__ = ["CupyBackend", "DeviceToy", "ziggurat_tables", "fused_module", "noise_module"]

THREADS = 256  # threads per block of the per-particle kernels

# Steps of the unfused (reference) path between two looks of the host at the divergence flag:
# a look is a device-to-host copy and a synchronisation, which per step would cost more than a
# small cloud's step itself.  A state copy is kept per window for the replay of a divergence.
DIVERGENCE_WINDOW = 32


def _require_device() -> str:
    """The name of CuPy's current CUDA device, or ImportError if there is none."""
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as err:
        raise ImportError(f"CuPy is installed but found no usable CUDA device ({err}): check the "
                          "NVIDIA driver and CUDA_VISIBLE_DEVICES") from err
    if n < 1:  # pragma: no cover - the runtime raises first on most machines
        raise ImportError("CuPy is installed but found no CUDA device: check the NVIDIA driver "
                          "and CUDA_VISIBLE_DEVICES")
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.runtime.getDevice())["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def ziggurat_tables() -> tuple:
    """The ziggurat tables ``(k, w, f)`` of :mod:`sgdsde.random` on the current device."""
    return _cuda.ziggurat_tables(cupy)


def fused_module(dtype, dim: int):
    """The compiled kernels of ``fused.cu`` for clouds of ``dtype`` in dimension ``dim``."""
    real = _ctype(dtype)
    names = [instance(t, real, dim) for t in FUSED_TEMPLATES]
    names.append(instance("toy_grad_energy", real, dim))
    return compiled(cupy, "fused.cu", tuple(names))


def noise_module():
    """The normal and uniform kernels of ``fused.cu``."""
    return compiled(cupy, "fused.cu", (instance("normals", "float"), instance("normals", "double"),
                                       "uniforms"))


def _on_device(a, dtype=None):
    """``a`` (NumPy or CuPy) as a C-contiguous CuPy array of ``dtype``; no copy when it already is.

    ``cupy.ascontiguousarray`` takes device arrays only (CuPy 14): a host array is first moved
    with ``cupy.asarray``.
    """
    return cupy.ascontiguousarray(cupy.asarray(a, dtype=dtype))


def _grid(n: int) -> tuple[tuple[int], tuple[int]]:
    return ((n + THREADS - 1) // THREADS,), (THREADS,)


def _is_fusable_landscape(landscape) -> bool:
    return landscape.fused_kind is not None and landscape.dim <= MAX_FUSED_DIM


class DeviceToy(Landscape):
    """A toy landscape's batched energy and gradient on the device (its pointwise kernel).

    Used for the steps that are not fused (matrix or state-dependent noise), and for the
    ``"energy"`` observable.
    """

    has_hessian = False

    def __init__(self, landscape: Landscape):
        if not _is_fusable_landscape(landscape):
            raise ValueError(f"{landscape!r} has no pointwise kernel of dimension <= {MAX_FUSED_DIM}")
        self.landscape = landscape
        self.dim = landscape.dim
        self.manifold = landscape.manifold
        self.is_conservative = landscape.is_conservative
        self._params = cupy.asarray(landscape.fused_params, dtype=cupy.float64)

    def energy_and_grad(self, x):
        """``(U(x), ∇U(x))`` of a device cloud ``x`` (M, d): shapes (M,) and (M, d)."""
        x = _on_device(x)
        m = x.shape[0]
        grad = cupy.empty_like(x)
        energy = cupy.empty(m, dtype=x.dtype)
        kernel = fused_module(x.dtype, self.dim).get_function(
            instance("toy_grad_energy", _ctype(x.dtype), self.dim))
        kernel(*_grid(m), (x, grad, energy, np.int64(m), np.int32(self.landscape.fused_kind),
                           self._params))
        return energy, grad

    def energy(self, x):
        return self.energy_and_grad(x)[0]

    def grad(self, x):
        return self.energy_and_grad(x)[1]

    def __repr__(self):
        return repr(self.landscape)


class CupyBackend(Backend):
    """GPU backend; constructed only when CuPy and a CUDA device are present.

    Attributes
    ----------
    device_name : str
        Name of the CUDA device the kernels run on (CuPy's current device when constructed).
    """

    name = "cupy"

    def __init__(self):
        self.device_name = _require_device()
        self._diverged = (lambda: None, None)  # (weak ref to the driver's array, device mirror)

    # ------------------------------------------------------------------ noise
    def noise_source(self, seed, particles, dtype):
        """Normals ``(M, dim)`` of ``dtype`` and uniforms ``(M,)`` as CuPy arrays.

        ``particles`` must be consecutive global indices (a cloud or a shard of one).
        """
        offset = _consecutive_offset(particles)
        m = len(particles)
        seed = np.uint64(rnd.resolve_seed(seed))
        real = _ctype(dtype)

        def normals(step, dim, stream):
            _check_counter(step, stream)
            out = cupy.empty((m, dim), dtype=dtype)
            kernel = noise_module().get_function(instance("normals", real))
            kernel(*_grid(m * dim), (out, np.int64(m), np.int32(dim), seed, np.int64(offset),
                                     np.int64(step), np.uint32(stream), *ziggurat_tables()))
            return out

        def uniforms(step, stream):
            _check_counter(step, stream)
            out = cupy.empty(m, dtype=cupy.float64)
            noise_module().get_function("uniforms")(
                *_grid(m), (out, np.int64(m), seed, np.int64(offset), np.int64(step), np.uint32(stream)))
            return out

        return NoiseSource(normals, uniforms, seed=int(seed), particles=np.asarray(particles, dtype=np.int64))

    # ------------------------------------------------------------------ stepping
    @staticmethod
    def can_fuse(integrator, sde) -> bool:
        """True when ``advance`` runs a fused kernel for this problem (the scheme declares a
        ``cupy`` kernel and does not override ``step``)."""
        kernels = own_kernels(integrator)
        return (kernels is not None and kernels.cupy in FUSED_TEMPLATES
                and _is_fusable_landscape(sde.landscape) and sde.temperature is not None
                and isinstance(sde.manifold, Euclidean))

    def advance(self, integrator, sde, state, step0, n_steps, dt, seed, particles, max_abs,
                diverged):
        _to_device(state)
        if not self.can_fuse(integrator, sde):
            return self._advance_reference(integrator, sde, state, step0, n_steps, dt, seed,
                                           particles, max_abs, diverged)
        kernels = own_kernels(integrator)
        x = state.x
        m, dim = x.shape
        kernel = fused_module(x.dtype, dim).get_function(instance(kernels.cupy, _ctype(x.dtype), dim))
        dev_diverged = self._device_diverged(diverged)
        n_diverged = cupy.zeros(1, dtype=cupy.int32)
        friction = sde.friction if sde.is_underdamped else 0.0
        run = (np.int32(sde.landscape.fused_kind),
               cupy.asarray(sde.landscape.fused_params, dtype=cupy.float64),
               np.uint64(seed), np.int64(_consecutive_offset(particles)), np.int64(step0),
               np.int64(n_steps), np.float64(dt), np.float64(sde.temperature), np.float64(max_abs),
               np.float64(friction), np.float64(sde.mass), *ziggurat_tables())
        for f in kernels.carries:  # real arrays in the cloud's dtype, counters as they are
            a = getattr(state, f)
            setattr(state, f, _on_device(a, dtype=x.dtype if a.dtype.kind == "f" else None))
        carried = [getattr(state, f) for f in kernels.carries]
        kernel(*_grid(m), (x, *carried, np.int64(m), dev_diverged, n_diverged, *run))
        if int(n_diverged.get()[0]):  # 4 bytes per launch; the flags only when a particle left
            diverged[:] = dev_diverged.get()
        state.n_grad_evals += integrator.grad_evals_per_step * n_steps

    def _advance_reference(self, integrator, sde, state, step0, n_steps, dt, seed, particles,
                           max_abs, diverged):
        """The integrator's reference step on CuPy arrays, with no host copy per step.

        The divergence test of every step stays on the device; the host reads one flag per
        window of :data:`DIVERGENCE_WINDOW` steps.  A window that saw a particle leave is
        replayed from its start (a copy of the state; the counter-based noise gives the same
        states again) up to the step where it happened, so the run stops there with the same
        state, step and particles as the CPU backends.
        """
        device_sde = _device_sde(sde)
        noise = self.noise_source(seed, particles, state.x.dtype)
        end = step0 + n_steps
        for start in range(step0, end, DIVERGENCE_WINDOW):
            stop = min(start + DIVERGENCE_WINDOW, end)
            snapshot = state.copy()
            left = cupy.zeros(stop - start, dtype=cupy.bool_)  # did a particle leave at step n?
            for n in range(start, stop):
                bad = self._reference_step(integrator, device_sde, sde, state, n, dt, noise, max_abs)
                left[n - start] = bad.any()  # stays on the device
            left = left.get()  # the window's one copy to the host: a byte per step
            if left.any():
                n_bad = start + int(np.argmax(left))
                _restore(state, snapshot)
                for n in range(start, n_bad + 1):
                    bad = self._reference_step(integrator, device_sde, sde, state, n, dt, noise, max_abs)
                bad = bad.get()
                diverged[bad & (diverged < 0)] = n_bad
                return n_bad + 1
        return None

    @staticmethod
    def _reference_step(integrator, device_sde, sde, state, n, dt, noise, max_abs):
        """Step ``n`` of the reference scheme on the device; the particles that left, (M,) bool."""
        before = state.x
        try:
            integrator.step(device_sde, state, n, dt, noise)
        except TypeError as err:
            raise TypeError(
                f"backend 'cupy' runs the steps of {sde!r} on the device, and a part of it "
                f"accepts only NumPy arrays ({err}); give its landscape and noise model CuPy "
                "support, or use backend='numba'") from err
        bad = ~cupy.all(cupy.abs(state.x) <= max_abs, axis=1)
        if state.v is not None:
            bad |= ~cupy.all(cupy.abs(state.v) <= max_abs, axis=1)
        too_large = sde.manifold.step_too_large(before, state.x)
        if too_large is not None:
            bad |= too_large
        return bad

    def _device_diverged(self, diverged: np.ndarray):
        """The device mirror of the driver's ``diverged`` array, uploaded once per run."""
        host, dev = self._diverged
        if host() is not diverged or dev.shape != diverged.shape:
            dev = cupy.asarray(diverged)
            self._diverged = (weakref.ref(diverged), dev)
        return dev

    # ------------------------------------------------------------------ records
    def observe(self, save, sde, state):
        """The observables of ``save`` at ``state``: built-ins reduced on the device first.

        ``"mean"`` moves d numbers to the host, ``"energy"`` and ``"kinetic_energy"`` M; the
        cloud itself is copied (once per record) only for ``"position"`` and user callables,
        or when the landscape has no device energy.
        """
        if not isinstance(state.x, cupy.ndarray):
            return super().observe(save, sde, state)
        x, v = state.x, state.v
        host_x = functools.cache(lambda: x.get())
        out = {}
        for name, fn in save.observables.items():
            if fn == "mean":
                value = x.mean(axis=0).get()
            elif fn == "kinetic_energy":
                if v is None:
                    raise ValueError(f"observable {name!r}: kinetic_energy needs underdamped dynamics")
                value = (0.5 * sde.mass * cupy.sum(v * v, axis=1)).get()
            elif fn == "energy":
                value = self._energy(sde.landscape, x, host_x)
            elif fn == "position":
                value = host_x().copy()
            else:
                value = fn(host_x())
            out[name] = np.asarray(value)
        return out

    @staticmethod
    def _energy(landscape, x, host_x):
        if _is_fusable_landscape(landscape):
            return DeviceToy(landscape).energy(x).get()
        try:
            value = landscape.energy(x)
        except TypeError:  # a landscape that takes NumPy arrays only
            return landscape.energy(host_x())
        return value.get() if isinstance(value, cupy.ndarray) else value

    def to_host(self, a):
        """``a`` as a NumPy array (None passes through)."""
        return cupy.asnumpy(a) if isinstance(a, cupy.ndarray) else a

    def __repr__(self):
        return f"<backend 'cupy' on {self.device_name}>"


def _consecutive_offset(particles) -> int:
    particles = np.asarray(particles)
    if particles.size == 0:
        return 0
    offset = int(particles[0])
    if not np.array_equal(particles, offset + np.arange(particles.size)):
        raise ValueError("the GPU kernels need consecutive particle indices (a cloud or a shard of one)")
    return offset


def _check_counter(step: int, stream: int) -> None:
    if not 0 <= int(step) < 2**50:
        raise ValueError(f"step must lie in [0, 2**50), got {step}")
    if not 0 <= int(stream) < rnd.SLOW_TAG:
        raise ValueError(f"stream must lie in [0, {rnd.SLOW_TAG}), got {stream}")


def _restore(state: State, snapshot: State) -> None:
    """Put ``snapshot`` (a :meth:`State.copy`) back into ``state``, in place."""
    for f in dataclasses.fields(State):
        setattr(state, f.name, getattr(snapshot, f.name))


def _to_device(state: State) -> None:
    """Move the arrays of ``state`` to the device in place (no copy for those already there)."""
    for f in ARRAY_FIELDS:
        a = getattr(state, f)
        setattr(state, f, None if a is None else _on_device(a))


def _device_sde(sde: LangevinSDE) -> LangevinSDE:
    """``sde`` with a toy landscape replaced by its device kernel (others pass through)."""
    if not _is_fusable_landscape(sde.landscape):
        return sde
    return LangevinSDE(DeviceToy(sde.landscape), noise=sde.noise, friction=sde.friction,
                       mass=sde.mass if sde.is_underdamped else None)

