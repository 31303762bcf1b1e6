"""The Numba CPU backend: fused kernels where possible, parallel noise otherwise."""

from __future__ import annotations

import numpy as np

from .. import random as rnd
from ..integrators import _numba_fused as fused
from ..integrators.base import NoiseSource
from ..manifolds import Euclidean, Sphere
from ._numba_random import normals_into
from .base import Backend

__all__ = ["NumbaBackend"]

_FUSED = {
    "EulerMaruyama": fused.run_euler_maruyama,
    "Heun": fused.run_heun,
    "LeimkuhlerMatthews": fused.run_leimkuhler_matthews,
}


class NumbaBackend(Backend):
    """Parallel over particles with Numba (``numba.set_num_threads`` sets the threads).

    A problem is *fused* — whole steps per particle in one compiled loop — when the landscape
    has a pointwise kernel, the noise is isotropic and thermal and the space is flat.
    Otherwise each step uses the integrator's reference code with noise from a parallel
    Numba kernel and the landscape's batched gradient (for p-spin and networks the
    gradient is a BLAS call, which is where their time goes).
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
            normals, lambda step, stream: rnd.uniforms(seed, particles, step, 1, stream)[:, 0]
        )

    @staticmethod
    def can_fuse(integrator, sde) -> bool:
        """True when ``advance`` runs a fused kernel (whole steps per particle) for this problem."""
        return (sde.landscape.fused_kind is not None and sde.landscape.pointwise_is_cheap
                and sde.temperature is not None and isinstance(sde.manifold, Euclidean)
                and (integrator.name in _FUSED or integrator.name in ("MALA", "BAOAB")))

    @staticmethod
    def can_fuse_update(integrator, sde) -> bool:
        """True when Euler–Maruyama runs as batched gradient + one fused noise-and-update pass."""
        return (integrator.name == "EulerMaruyama" and sde.temperature is not None
                and isinstance(sde.manifold, (Euclidean, Sphere)))

    def kernels(self, integrator, sde) -> list:
        """The Numba dispatchers ``advance`` calls for this problem (the landscape's aside)."""
        if self.can_fuse(integrator, sde):
            extra = {"MALA": fused.run_mala, "BAOAB": fused.run_baoab}
            return [_FUSED.get(integrator.name) or extra[integrator.name]]
        if self.can_fuse_update(integrator, sde):
            return [fused.euler_maruyama_update]
        return [normals_into]

    def needs_compiling(self, integrator, sde) -> bool:
        """True if a kernel of this problem is not compiled in this process yet (the first
        call then compiles it, or loads it from Numba's disk cache)."""
        return any(not kernel.signatures for kernel in self.kernels(integrator, sde))

    def advance(self, integrator, sde, state, step0, n_steps, dt, seed, particles, max_abs,
                diverged):
        if not self.can_fuse(integrator, sde):
            if not self.can_fuse_update(integrator, sde):
                return super().advance(integrator, sde, state, step0, n_steps, dt, seed,
                                       particles, max_abs, diverged)
            radius = sde.manifold.radius if isinstance(sde.manifold, Sphere) else 0.0
            x = np.ascontiguousarray(state.x)
            noise = fused.noise_buffer(*x.shape)  # one Philox block: four steps of normals
            for n in range(step0, step0 + n_steps):
                g = np.ascontiguousarray(sde.grad(x))
                refill = n == step0 or n % 4 == 0
                fused.euler_maruyama_update(x, g, noise, refill, np.uint64(seed),
                                            np.int64(particles[0]), np.int64(n), float(dt),
                                            float(sde.temperature), float(radius), float(max_abs),
                                            diverged)
                state.n_grad_evals += 1
                if (diverged >= 0).any():
                    state.x = x
                    return n + 1
            state.x = x
            return None
        kind = np.int64(sde.landscape.fused_kind)
        p = np.ascontiguousarray(sde.landscape.fused_params, dtype=np.float64)
        offset = np.int64(particles[0])
        if not np.array_equal(particles, offset + np.arange(particles.size)):
            raise ValueError("fused kernels need consecutive particle indices")
        x = np.ascontiguousarray(state.x)
        args = (kind, p, np.uint64(seed), offset, np.int64(step0), np.int64(n_steps), float(dt),
                float(sde.temperature))
        if integrator.name == "MALA":
            fused.run_mala(x, state.cache["grad"], state.cache["energy"], state.n_accepted, *args,
                           float(max_abs), diverged)
        elif integrator.name == "BAOAB":
            v = np.ascontiguousarray(state.v)
            fused.run_baoab(x, v, state.cache["grad"], *args, float(sde.friction),
                            float(sde.mass), float(max_abs), diverged)
            state.v = v
        else:
            _FUSED[integrator.name](x, *args, float(max_abs), diverged)
        state.x = x
        state.n_grad_evals += integrator.grad_evals_per_step * n_steps
