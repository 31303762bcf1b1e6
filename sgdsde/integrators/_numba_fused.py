"""Fused Numba kernels: one particle per loop iteration, many steps per call.

Each kernel advances every particle of a cloud on a toy landscape (pointwise gradient,
:mod:`sgdsde.landscapes._toy_numba`) with isotropic thermal noise in Euclidean space,
holding the particle's state in a small local array between steps; the cloud is touched
in memory only at the start and the end of the call.  The particles are independent and
their noise is a function of (seed, global particle index, step), so the result does not
depend on the number of threads or the order of the loop.

Common arguments: ``x`` (M, d) positions, updated in place (float32 or float64, kept);
``kind, p`` the landscape's kernel; ``seed`` and ``offset`` (global index of row 0);
``step0`` the absolute step of the first step taken, ``n_steps``, ``dt``, ``temp``;
``max_abs`` the blow-up threshold; ``diverged`` (M,) int64, ``-1`` or the step at which a
particle first left ``|x_k| <= max_abs`` (NaN included), after which it is frozen.

The arithmetic mirrors the NumPy reference of :mod:`.overdamped` and :mod:`.underdamped`
line by line, so the two agree to rounding (tested ≤ 1e-10 relative in float64).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..backends._numba_random import fill_noise_block, uniform_at
from ..landscapes._toy_numba import point_energy, point_grad
from ..random import STREAM_ACCEPT, STREAM_NOISE

_NOISE = np.uint64(STREAM_NOISE)
_ACCEPT = np.uint64(STREAM_ACCEPT)
_MASK = np.uint64(0xFFFFFFFF)
# Particles advanced together by one thread: their update chains are independent, so the
# processor overlaps them; one particle at a time leaves the step bound by the latency of
# its own chain of dependent floating-point operations.
GROUP = 8


@njit(cache=True, inline="always")
def _keys(seed):
    s = np.uint64(seed)
    return s & _MASK, s >> np.uint64(32)


@njit(cache=True, inline="always")
def _slot(buf, blk, k0, k1, part, n):
    """Make ``buf`` hold the block of step n; return (slot of n, block held)."""
    b = n >> 2
    if b != blk:
        fill_noise_block(buf, k0, k1, part, np.uint64(b), _NOISE)
    return n & 3, b


@njit(cache=True, inline="always")
def _fill_group(buf, k0, k1, first_particle, n):
    """Fill ``buf[j]`` with the noise block of step n for particles ``first_particle + j``."""
    for j in range(buf.shape[0]):
        fill_noise_block(buf[j], k0, k1, np.uint64(first_particle + j), np.uint64(n >> 2), _NOISE)


@njit(cache=True, inline="always")
def _finite(xl, max_abs):
    for k in range(xl.shape[0]):
        if not abs(xl[k]) <= max_abs:
            return False
    return True


@njit(cache=True, parallel=True)
def run_euler_maruyama(x, kind, p, seed, offset, step0, n_steps, dt, temp, max_abs, diverged):
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(dt) * math.sqrt(2.0 * temp)
    for gi in prange((m_particles + GROUP - 1) // GROUP):
        lo = gi * GROUP
        ng = min(GROUP, m_particles - lo)
        xl = x[lo:lo + ng].copy()
        g = np.empty((ng, d))
        buf = np.empty((ng, d, 4))
        alive = diverged[lo:lo + ng] < 0
        for n in range(step0, step0 + n_steps):
            s = n & 3
            if s == 0 or n == step0:
                _fill_group(buf, k0, k1, offset + lo, n)
            for j in range(ng):
                if alive[j]:
                    point_grad(kind, xl[j], p, g[j])
                    for k in range(d):
                        xl[j, k] = xl[j, k] + (-dt * g[j, k] + sigma * buf[j, k, s])
                    if not _finite(xl[j], max_abs):
                        alive[j] = False
                        diverged[lo + j] = n
        x[lo:lo + ng] = xl


@njit(cache=True, parallel=True)
def run_heun(x, kind, p, seed, offset, step0, n_steps, dt, temp, max_abs, diverged):
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(dt) * math.sqrt(2.0 * temp)
    for i in prange(m_particles):
        if diverged[i] >= 0:
            continue
        part = np.uint64(offset + i)
        xl = x[i].copy()
        xt = x[i].copy()
        kick = np.empty_like(xl)
        g0 = np.empty(d)
        g1 = np.empty(d)
        buf = np.empty((d, 4))
        blk = -1
        for n in range(step0, step0 + n_steps):
            s, blk = _slot(buf, blk, k0, k1, part, n)
            point_grad(kind, xl, p, g0)
            for k in range(d):
                kick[k] = sigma * buf[k, s]
                xt[k] = xl[k] + (-dt * g0[k] + kick[k])
            point_grad(kind, xt, p, g1)
            for k in range(d):
                xl[k] = xl[k] + (-0.5 * dt * (g0[k] + g1[k]) + kick[k])
            if not _finite(xl, max_abs):
                diverged[i] = n
                break
        x[i] = xl


@njit(cache=True, parallel=True)
def run_leimkuhler_matthews(x, kind, p, seed, offset, step0, n_steps, dt, temp, max_abs, diverged):
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(dt) * math.sqrt(2.0 * temp)
    for gi in prange((m_particles + GROUP - 1) // GROUP):
        lo = gi * GROUP
        ng = min(GROUP, m_particles - lo)
        xl = x[lo:lo + ng].copy()
        g = np.empty((ng, d))
        xi_now = np.empty((ng, d))
        buf = np.empty((ng, d, 4))
        alive = diverged[lo:lo + ng] < 0
        _fill_group(buf, k0, k1, offset + lo, step0)
        for j in range(ng):
            for k in range(d):
                xi_now[j, k] = buf[j, k, step0 & 3]
        for n in range(step0, step0 + n_steps):
            s = (n + 1) & 3
            if s == 0:
                _fill_group(buf, k0, k1, offset + lo, n + 1)
            for j in range(ng):
                if alive[j]:
                    point_grad(kind, xl[j], p, g[j])
                    for k in range(d):
                        xi_next = buf[j, k, s]
                        xl[j, k] = xl[j, k] + (-dt * g[j, k] + sigma * (0.5 * (xi_now[j, k] + xi_next)))
                        xi_now[j, k] = xi_next
                    if not _finite(xl[j], max_abs):
                        alive[j] = False
                        diverged[lo + j] = n
        x[lo:lo + ng] = xl


@njit(cache=True, parallel=True)
def run_mala(x, grad, energy, n_accepted, kind, p, seed, offset, step0, n_steps, dt, temp,
             max_abs, diverged):
    """MALA; ``grad`` (M, d) and ``energy`` (M,) at x are carried in and out."""
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(2.0 * temp * dt)
    for i in prange(m_particles):
        if diverged[i] >= 0:
            continue
        part = np.uint64(offset + i)
        xl = x[i].copy()
        y = x[i].copy()
        gx = grad[i].copy()
        gy = np.empty(d)
        ux = energy[i]
        buf = np.empty((d, 4))
        blk = -1
        for n in range(step0, step0 + n_steps):
            s, blk = _slot(buf, blk, k0, k1, part, n)
            for k in range(d):
                y[k] = xl[k] - dt * gx[k] + sigma * buf[k, s]
            point_grad(kind, y, p, gy)
            uy = point_energy(kind, y, p)
            forward = 0.0
            backward = 0.0
            for k in range(d):
                forward += (y[k] - xl[k] + dt * gx[k]) ** 2
                backward += (xl[k] - y[k] + dt * gy[k]) ** 2
            log_alpha = -(uy - ux) / temp - (backward - forward) / (4.0 * temp * dt)
            u = uniform_at(k0, k1, part, np.uint64(n), np.uint64(0), _ACCEPT)
            if math.log(u) < log_alpha:
                for k in range(d):
                    xl[k] = y[k]
                    gx[k] = gy[k]
                ux = uy
                n_accepted[i] += 1
            if not _finite(xl, max_abs):
                diverged[i] = n
                break
        x[i] = xl
        grad[i] = gx
        energy[i] = ux


@njit(cache=True, parallel=True)
def run_baoab(x, v, grad, kind, p, seed, offset, step0, n_steps, dt, temp, friction, mass,
              max_abs, diverged):
    """BAOAB with thermal noise; ``v`` and the gradient ``grad`` at x are carried in and out."""
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    c = math.exp(-friction * dt)
    kick = math.sqrt(-math.expm1(-2.0 * friction * dt) * temp / mass)
    half = 0.5 * dt / mass
    for i in prange(m_particles):
        if diverged[i] >= 0:
            continue
        part = np.uint64(offset + i)
        xl = x[i].copy()
        vl = v[i].copy()
        g = np.empty(d)
        for k in range(d):
            g[k] = grad[i, k]
        buf = np.empty((d, 4))
        blk = -1
        for n in range(step0, step0 + n_steps):
            s, blk = _slot(buf, blk, k0, k1, part, n)
            for k in range(d):
                vl[k] = vl[k] - half * g[k]
                xl[k] = xl[k] + 0.5 * dt * vl[k]
                vl[k] = c * vl[k] + kick * buf[k, s]
                xl[k] = xl[k] + 0.5 * dt * vl[k]
            point_grad(kind, xl, p, g)
            for k in range(d):
                vl[k] = vl[k] - half * g[k]
            if not (_finite(xl, max_abs) and _finite(vl, max_abs)):
                diverged[i] = n
                break
        x[i] = xl
        v[i] = vl
        for k in range(d):
            grad[i, k] = g[k]


@njit(cache=True)
def euler_maruyama_update(x, g, noise, refill, seed, offset, step, dt, temp, radius, max_abs, diverged):
    """One Euler–Maruyama step from a precomputed (batched, e.g. BLAS) gradient ``g`` (M, d).

    Serial on purpose: it runs between two BLAS calls, which dominate the step (their cost
    grows faster with d than this O(M d) pass).  A parallel loop here would start Numba's
    thread pool between BLAS's, and the two pools then fight for the cores: 40x slower
    steps were measured on a busy 2-core machine.

    ``noise`` (M, d, 4) holds each particle's normals of the four steps of one Philox block
    between calls; ``refill`` says it must be refilled for the block of ``step`` (the caller
    tracks which block it holds).  No other array of normals is stored.  ``radius > 0``
    keeps the particles on the sphere ``|x| = radius``: the increment is projected on the
    tangent space and the point retracted, exactly as
    :func:`sgdsde.integrators.base.tangent_step` does.
    """
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(dt) * math.sqrt(2.0 * temp)
    block = np.uint64(step >> 2)
    s = step & 3
    for i in range(m_particles):
        if diverged[i] >= 0:
            continue
        if refill:
            fill_noise_block(noise[i], k0, k1, np.uint64(offset + i), block, _NOISE)
        if radius > 0.0:
            xv = 0.0
            xx = 0.0
            for k in range(d):
                xv += x[i, k] * (-dt * g[i, k] + sigma * noise[i, k, s])
                xx += x[i, k] * x[i, k]
            c = xv / xx
            nrm = 0.0
            for k in range(d):
                inc = -dt * g[i, k] + sigma * noise[i, k, s]
                x[i, k] = x[i, k] + (inc - c * x[i, k])
                nrm += x[i, k] * x[i, k]
            scale = radius / math.sqrt(nrm)
            for k in range(d):
                x[i, k] = x[i, k] * scale
        else:
            for k in range(d):
                x[i, k] = x[i, k] + (-dt * g[i, k] + sigma * noise[i, k, s])
        if not _finite(x[i], max_abs):
            diverged[i] = step
