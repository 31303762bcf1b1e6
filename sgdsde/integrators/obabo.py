"""OBABO: the symmetric splitting of underdamped Langevin dynamics around velocity Verlet.

Bussi & Parrinello, "Accurate sampling using Langevin dynamics", PRE 75, 056707 (2007;
arXiv:cond-mat/0701296); Leimkuhler & Matthews, *Molecular Dynamics* (Springer 2015), §7.
Each step is

* O: half a step of the exact Ornstein–Uhlenbeck velocity update,
  ``v ← e^{−γh/2} v + sqrt((1 − e^{−γh})/(2γ)) B ξ₁ / m``
  (thermal noise: ``sqrt((1 − e^{−γh}) T / m) ξ₁``);
* B, A, B: velocity Verlet, ``v −= (h/2) ∇U(x)/m``, ``x += h v``, ``v −= (h/2) ∇U(x)/m``;
* O: the other half step, with fresh normals ξ₂.

One gradient per step (the force at the end of a step is reused at the start of the next).
Weak order 2 and strong order 1 for additive noise.  On a harmonic well its velocities are
exactly Maxwellian (``m ⟨v²⟩ = T``) and its position variance is ``T / (k (1 − h²k/(4m)))``,
an O(h²) bias where BAOAB is exact (docs/theory.md §3).  The two half steps
take the normals of step n as ``normals(n, 2 n_noise)``: the first ``n_noise`` components
for ξ₁, the rest for ξ₂ — the scaled Brownian increments of the two halves of the step
(``noise_substeps = 2``).  Euclidean space only.  Fused kernels: ``run_obabo``
(:mod:`._numba_fused`) and ``obabo_particle`` (``sgdsde/_cuda/steps.cuh``).
"""

from __future__ import annotations

import math

from ..random import STREAM_NOISE
from . import _numba_fused as fused
from .base import Integrator, Kernels, State

__all__ = ["OBABO"]


class OBABO(Integrator):
    """OBABO splitting (Bussi & Parrinello 2007): O(h/2) B(h/2) A(h) B(h/2) O(h/2)."""

    name = "OBABO"
    strong_order = 1.0
    strong_order_additive = 1.0
    weak_order = 2.0
    grad_evals_per_step = 1
    underdamped = True
    needs_euclidean = True
    noise_substeps = 2

    def init_state(self, sde, x, v):
        return State(x=x, v=v, grad=sde.grad(x), n_grad_evals=1)

    @staticmethod
    def half_ou(sde, x, v, xi, dt):
        """Exact OU velocity update over ``dt/2`` driven by the normals ``xi`` (M, n_noise)."""
        gamma, m = sde.friction, sde.mass
        c = math.exp(-0.5 * gamma * dt)
        if sde.temperature is not None:  # thermal: B = sqrt(2 γ m T)
            return c * v + math.sqrt(-math.expm1(-gamma * dt) * sde.temperature / m) * xi
        return c * v + (math.sqrt(-math.expm1(-gamma * dt) / (2 * gamma)) / m) * sde.diffusion(x, xi)

    def step(self, sde, state, n, dt, noise):
        x, v, g = state.x, state.v, state.grad
        half = 0.5 * dt / sde.mass
        k = sde.n_noise()
        xi = noise.normals(n, 2 * k, STREAM_NOISE).astype(x.dtype, copy=False)
        v = self.half_ou(sde, x, v, xi[:, :k], dt)
        v = v - half * g
        x = x + dt * v
        g = sde.grad(x)
        v = v - half * g
        v = self.half_ou(sde, x, v, xi[:, k:], dt)
        state.x, state.v = x.astype(state.x.dtype, copy=False), v.astype(state.x.dtype, copy=False)
        state.grad = g
        state.n_grad_evals += 1

    kernels = Kernels(step=step, numba=fused.run_obabo, cupy="obabo", carries=("v", "grad"),
                      sde_params=("friction", "mass"))
