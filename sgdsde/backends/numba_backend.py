"""The Numba CPU backend: fused kernels where possible, parallel noise otherwise."""

from __future__ import annotations

import numpy as np

from .. import random as rnd
from .._random_numba import normals_into
from ..integrators._numba_fused import noise_buffer, run_in_threads
from ..integrators.base import NoiseSource, own_kernels
from ..manifolds import Euclidean, Sphere
from .base import Backend

__all__ = ["NumbaBackend"]


class NumbaBackend(Backend):
    """Parallel over particles with Numba (``numba.set_num_threads`` sets the threads).

    A problem is *fused* — whole steps per particle in one compiled loop — when the scheme
    declares a Numba kernel (:class:`~sgdsde.integrators.base.Kernels`, ``step`` not
    overridden), the landscape has a pointwise kernel, the noise is isotropic and thermal
    and the space is flat.  A scheme with a ``numba_batched`` kernel runs as the
    landscape's batched gradient plus one compiled noise-and-update pass.  Otherwise each
    step uses the integrator's reference code with noise from a parallel Numba kernel and
    the landscape's batched gradient (for p-spin and networks the gradient is a BLAS call,
    which is where their time goes).
    """

    name = "numba"

    def noise_source(self, seed, particles, dtype):
        particles = np.ascontiguousarray(particles, dtype=np.int64)
        # Always uint64: a Python int seed is typed int64 when it fits, and a later seed
        # >= 2**63 would then overflow converting to the already-compiled int64 signature.
        key = np.uint64(seed)

        def normals(step, dim, stream):
            out = np.empty((particles.size, dim))
            normals_into(out, key, particles, np.int64(step), np.int64(stream))
            return out

        return NoiseSource(
            normals, lambda step, stream: rnd.uniforms(seed, particles, step, 1, stream)[:, 0],
            seed=seed, particles=particles,
        )

    @staticmethod
    def can_fuse(integrator, sde) -> bool:
        """True when ``advance`` runs a fused kernel (whole steps per particle) for this problem."""
        kernels = own_kernels(integrator)
        return (kernels is not None and kernels.numba is not None
                and sde.landscape.fused_kind is not None and sde.landscape.pointwise_is_cheap
                and sde.temperature is not None and isinstance(sde.manifold, Euclidean))

    @staticmethod
    def can_fuse_update(integrator, sde) -> bool:
        """True when a step runs as batched gradient + one fused noise-and-update pass."""
        kernels = own_kernels(integrator)
        return (kernels is not None and kernels.numba_batched is not None
                and sde.temperature is not None and isinstance(sde.manifold, (Euclidean, Sphere)))

    def kernels(self, integrator, sde) -> list:
        """The Numba dispatchers ``advance`` calls for this problem (the landscape's aside)."""
        if self.can_fuse(integrator, sde):
            return [own_kernels(integrator).numba]
        if self.can_fuse_update(integrator, sde):
            return [own_kernels(integrator).numba_batched]
        return [normals_into]

    def needs_compiling(self, integrator, sde) -> bool:
        """True if a kernel of this problem is not compiled in this process yet (the first
        call then compiles it, or loads it from Numba's disk cache)."""
        return any(not kernel.signatures for kernel in self.kernels(integrator, sde))

    def advance(self, integrator, sde, state, step0, n_steps, dt, seed, particles, max_abs,
                diverged):
        if self.can_fuse(integrator, sde):
            return self._advance_fused(own_kernels(integrator), integrator, sde, state, step0,
                                       n_steps, dt, seed, particles, max_abs, diverged)
        if self.can_fuse_update(integrator, sde):
            return self._advance_batched(own_kernels(integrator).numba_batched, sde, state, step0,
                                         n_steps, dt, seed, particles, max_abs, diverged)
        return super().advance(integrator, sde, state, step0, n_steps, dt, seed, particles,
                               max_abs, diverged)

    @staticmethod
    def _advance_batched(update, sde, state, step0, n_steps, dt, seed, particles, max_abs,
                         diverged):
        """Batched (BLAS) gradient, then ``update``: noise and step in one compiled pass."""
        radius = sde.manifold.radius if isinstance(sde.manifold, Sphere) else 0.0
        x = np.ascontiguousarray(state.x)
        noise = noise_buffer(*x.shape)  # one Philox block: four steps of normals
        for n in range(step0, step0 + n_steps):
            g = np.ascontiguousarray(sde.grad(x))
            refill = n == step0 or n % 4 == 0
            update(x, g, noise, refill, np.uint64(seed), np.int64(particles[0]), np.int64(n),
                   float(dt), float(sde.temperature), float(radius), float(max_abs), diverged)
            state.n_grad_evals += 1
            if (diverged >= 0).any():
                state.x = x
                return n + 1
        state.x = x
        return None

    @staticmethod
    def _advance_fused(kernels, integrator, sde, state, step0, n_steps, dt, seed, particles,
                       max_abs, diverged):
        """The scheme's fused kernel; its carried fields are passed and stored back."""
        offset = np.int64(particles[0])
        if not np.array_equal(particles, offset + np.arange(particles.size)):
            raise ValueError("fused kernels need consecutive particle indices")
        x = np.ascontiguousarray(state.x)
        carried = [np.ascontiguousarray(getattr(state, f)) for f in kernels.carries]
        params = [float(getattr(sde, a)) for a in kernels.sde_params]
        kind = np.int64(sde.landscape.fused_kind)
        landscape_params = np.ascontiguousarray(sde.landscape.fused_params, dtype=np.float64)

        def advance_slice(lo, hi):
            kernels.numba(x[lo:hi], *(a[lo:hi] for a in carried), kind, landscape_params,
                          np.uint64(seed), offset + np.int64(lo), np.int64(step0),
                          np.int64(n_steps), float(dt), float(sde.temperature), *params,
                          float(max_abs), diverged[lo:hi])

        run_in_threads(advance_slice, x.shape[0])
        state.x = x
        for f, a in zip(kernels.carries, carried, strict=True):
            setattr(state, f, a)
        state.n_grad_evals += integrator.grad_evals_per_step * n_steps
