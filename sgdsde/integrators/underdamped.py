"""Schemes for underdamped Langevin dynamics ``dX = V dt, m dV = −∇U dt − γmV dt + B dW``."""

from __future__ import annotations

import math

from ..random import STREAM_NOISE
from . import _numba_fused as fused
from .base import Integrator, Kernels, State

__all__ = ["BAOAB"]


class BAOAB(Integrator):
    """BAOAB splitting (Leimkuhler & Matthews, AMRX 2013; arXiv:1203.5428).

    B: ``v += −(h/2) ∇U(x)/m``;  A: ``x += (h/2) v``;  O: the exact Ornstein–Uhlenbeck
    velocity update ``v = e^{−γh} v + sqrt((1 − e^{−2γh})/(2γ)) B ξ / m`` (for thermal noise
    ``sqrt((1 − e^{−2γh}) T / m) ξ``);  A;  B.  One gradient per step (the force at the end
    of a step is reused at the start of the next).  Weak order 2, strong order 1 (additive
    noise); the position marginal of a harmonic well is exactly T/k at every stable h.
    Equipartition ``m ⟨v²⟩ = T`` holds to O(h²).  Euclidean space only.
    """

    name = "BAOAB"
    strong_order = 1.0
    strong_order_additive = 1.0
    weak_order = 2.0
    grad_evals_per_step = 1
    underdamped = True
    needs_euclidean = True

    def init_state(self, sde, x, v):
        return State(x=x, v=v, grad=sde.grad(x), n_grad_evals=1)

    def ou_coefficients(self, sde, dt):
        """``(c, s)`` with ``v ← c v + s B ξ`` (s includes 1/m, and sqrt(2T) for thermal noise)."""
        gamma, m = sde.friction, sde.mass
        c = math.exp(-gamma * dt)
        s = math.sqrt(-math.expm1(-2 * gamma * dt) / (2 * gamma)) / m
        return c, s

    def step(self, sde, state, n, dt, noise):
        x, v, g = state.x, state.v, state.grad
        m = sde.mass
        c, s = self.ou_coefficients(sde, dt)
        v = v - (0.5 * dt / m) * g
        x = x + 0.5 * dt * v
        xi = noise.normals(n, sde.n_noise(), STREAM_NOISE).astype(x.dtype, copy=False)
        if sde.temperature is not None:  # thermal: B = sqrt(2 γ m T)
            kick = math.sqrt(-math.expm1(-2 * sde.friction * dt) * sde.temperature / m) * xi
        else:
            kick = s * sde.diffusion(x, xi)
        v = c * v + kick
        x = x + 0.5 * dt * v
        g = sde.grad(x)
        v = v - (0.5 * dt / m) * g
        state.x, state.v = x.astype(state.x.dtype, copy=False), v.astype(state.x.dtype, copy=False)
        state.grad = g
        state.n_grad_evals += 1

    kernels = Kernels(step=step, numba=fused.run_baoab, cupy="baoab", carries=("v", "grad"),
                      sde_params=("friction", "mass"))
