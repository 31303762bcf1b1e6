"""Fused Numba kernels: many steps per call, particles advanced in SIMD lanes.

Each kernel advances every particle of a cloud on a toy landscape (pointwise gradient,
:mod:`sgdsde.landscapes._toy_numba`) with isotropic thermal noise in Euclidean space.  One
loop iteration (one thread's unit of work) holds :data:`LANES` consecutive particles in
small local arrays laid out ``(component, lane)``, so that every line of the step — the
Philox rounds of the noise, the gradient, the update — is a loop over lanes that the
compiler turns into vector instructions, and the chains of dependent operations of
different particles overlap.  The cloud is touched in memory only at the start and the
end of the call.  The particles are independent and their noise is a function of (seed,
global particle index, step), so the result does not depend on the number of threads or
on the order of the loop.

The kernels are serial and release the GIL: :func:`run_in_threads` cuts the cloud into
contiguous slices of whole lane groups and runs one slice per thread.  Compiled as Numba
``prange`` loops instead, they ran at the same speed (case A of
``benchmarks/langevin_toy.py``: 0.40 against 0.42 s on two threads, the same numbers bit
for bit) but took 2-2.5x longer to compile (Euler–Maruyama 10 against 25 s, Heun 12.5
against 28.5 s, cold cache, one core), and the test suite compiles twelve of them.

Common arguments: ``x`` (M, d) positions, updated in place (float32 or float64, kept);
``kind, p`` the landscape's kernel; ``seed`` and ``offset`` (global index of row 0);
``step0`` the absolute step of the first step taken, ``n_steps``, ``dt``, ``temp``;
``max_abs`` the blow-up threshold; ``diverged`` (M,) int64, ``-1`` or the step at which a
particle first left ``|x_k| <= max_abs`` (NaN included), after which it is frozen.

The arithmetic mirrors the NumPy reference of :mod:`.overdamped` and :mod:`.underdamped`
line by line, so the two agree to rounding (tested ≤ 1e-10 relative in float64).
"""

from __future__ import annotations

import concurrent.futures
import math
import os

import numba
import numpy as np
from numba import njit

from .._random_numba import LANES, fill_noise_lanes, noise_scratch, uniform_at
from ..landscapes._toy_numba import lanes_energy, lanes_grad
from ..random import STREAM_ACCEPT, STREAM_NOISE

_NOISE = np.uint64(STREAM_NOISE)
_ACCEPT = np.uint64(STREAM_ACCEPT)
_MASK = np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _keys(seed):
    s = np.uint64(seed)
    return s & _MASK, s >> np.uint64(32)


@njit(cache=True, inline="always")
def _load(rows, lo, alive, out):
    """``out[k, j] = rows[lo + j, k]`` for live lanes, 0 elsewhere (padding, frozen particles)."""
    for k in range(out.shape[0]):
        for j in range(LANES):
            out[k, j] = rows[lo + j, k] if alive[j] else 0.0


@njit(cache=True, inline="always")
def _store(lanes, lo, n_lanes, alive_at_start, rows):
    """Write back the lanes that were live when the call began (frozen rows keep their value)."""
    for j in range(n_lanes):
        if alive_at_start[j]:
            for k in range(lanes.shape[0]):
                rows[lo + j, k] = lanes[k, j]


@njit(cache=True, inline="always")
def _live_lanes(diverged, lo, n_lanes):
    """Boolean (LANES,): particle ``lo + j`` exists and has not diverged."""
    alive = np.zeros(LANES, np.bool_)
    for j in range(n_lanes):
        alive[j] = diverged[lo + j] < 0
    return alive


@njit(cache=True, inline="always")
def _out_of_bounds(xl, max_abs):
    """True if some lane of ``xl`` (d, LANES) has left ``|x_k| <= max_abs`` (NaN included).

    Checked every step over all lanes, branch-free; a lane frozen after diverging keeps its
    bad value and so sends every later step of its group to :func:`_freeze_diverged`, which
    costs time only in a run that is about to stop with a ``DivergenceError``.
    """
    bad = False
    for k in range(xl.shape[0]):
        for j in range(LANES):
            bad |= not abs(xl[k, j]) <= max_abs
    return bad


@njit(cache=True, inline="always")
def _freeze_diverged(xl, vl, alive, max_abs, diverged, lo, n):
    """Mark live lanes of ``xl`` (and ``vl``, if it has rows) that left the bounds at step n."""
    for j in range(LANES):
        if alive[j]:
            ok = True
            for k in range(xl.shape[0]):
                ok &= abs(xl[k, j]) <= max_abs
            for k in range(vl.shape[0]):
                ok &= abs(vl[k, j]) <= max_abs
            if not ok:
                alive[j] = False
                diverged[lo + j] = n


@njit(cache=True, inline="always")
def _finite(xl, max_abs):
    for k in range(xl.shape[0]):
        if not abs(xl[k]) <= max_abs:
            return False
    return True


@njit(cache=True, inline="always")
def _open_group(x, diverged, gi):
    """Group ``gi``'s lanes: (first row, rows in use, live mask, live mask at the start,
    positions ``(d, LANES)`` in the dtype of ``x``)."""
    lo = gi * LANES
    ng = min(LANES, x.shape[0] - lo)
    alive = _live_lanes(diverged, lo, ng)
    xl = np.empty((x.shape[1], LANES), x.dtype)
    _load(x, lo, alive, xl)
    return lo, ng, alive, alive.copy(), xl


@njit(cache=True, inline="always")
def _noise_buffers(x, d):
    """Normals of one Philox block ``(d, 4, LANES)`` in the dtype of the cloud ``x``, and the
    generator's scratch (:func:`sgdsde._random_numba.noise_scratch`).

    A float32 cloud takes float32 normals: the reference's numbers for a float32 cloud
    (``normals(...).astype(float32)``), and a generator writing float32 is no slower
    (``benchmarks/normals.py``, loaded 2-core box: 0.80 of the float64 wall time on two
    threads, 0.97 of its CPU time on one; the Philox and the ziggurat's tables dominate).
    """
    return np.empty((d, 4, LANES), x.dtype), noise_scratch()


@njit(cache=True, inline="always")
def _noise_slot(buf, ctr, k0, k1, first, ng, n, step0):
    """Refill ``buf`` when step n opens a Philox block (or the call); return n's slot in it."""
    s = n & 3
    if s == 0 or n == step0:
        fill_noise_lanes(buf, ctr, k0, k1, np.uint64(first), ng, np.uint64(n >> 2), _NOISE)
    return s


_NO_ROWS = np.empty((0, LANES))

_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    global _pool
    _pool = None  # a forked child has the object but not its threads


os.register_at_fork(after_in_child=_forget_pool)


def run_in_threads(call, n_particles: int) -> None:
    """Run ``call(lo, hi)`` on contiguous slices ``[lo, hi)`` of the cloud, one per thread.

    The slices hold whole groups of :data:`LANES` particles, as many as
    ``numba.get_num_threads()`` (so ``numba.set_num_threads`` sets the threads, as for
    Numba's parallel loops); the calling thread takes the first.  Every slice is finished
    before this returns, also when one raises (the first error is then raised) or Ctrl-C
    is pressed (:class:`KeyboardInterrupt` is raised once all are done).
    """
    global _pool
    n_groups = -(-n_particles // LANES)
    n_threads = max(1, min(numba.get_num_threads(), n_groups))
    if n_threads == 1:
        call(0, n_particles)
        return
    cuts = [min(n_particles, LANES * (n_groups * i // n_threads)) for i in range(n_threads + 1)]
    if _pool is None:
        _pool = concurrent.futures.ThreadPoolExecutor(numba.config.NUMBA_NUM_THREADS,
                                                      thread_name_prefix="sgdsde-fused")
    futures = [_pool.submit(call, lo, hi) for lo, hi in zip(cuts[1:-1], cuts[2:], strict=True)]
    try:
        call(cuts[0], cuts[1])
    finally:
        _wait_for_all(futures)
    for future in futures:
        future.result()


def _wait_for_all(futures) -> None:
    """Wait until every future is done; a Ctrl-C meanwhile is raised only then.

    The slices write into the caller's arrays: returning early would leave them being
    written behind the caller's back.  (A Numba parallel loop cannot be interrupted either.)
    """
    interrupted = False
    while True:
        try:
            concurrent.futures.wait(futures)
            break
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        raise KeyboardInterrupt


@njit(cache=True, nogil=True)
def run_euler_maruyama(x, kind, p, seed, offset, step0, n_steps, dt, temp, max_abs, diverged):
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(dt) * math.sqrt(2.0 * temp)
    for gi in range((m_particles + LANES - 1) // LANES):
        lo, ng, alive, alive_at_start, xl = _open_group(x, diverged, gi)
        g = np.empty((d, LANES))
        buf, ctr = _noise_buffers(x, d)
        for n in range(step0, step0 + n_steps):
            s = _noise_slot(buf, ctr, k0, k1, offset + lo, ng, n, step0)
            lanes_grad(kind, xl, p, g)
            for k in range(d):
                for j in range(LANES):
                    step = xl[k, j] + (-dt * g[k, j] + sigma * buf[k, s, j])
                    xl[k, j] = step if alive[j] else xl[k, j]
            if _out_of_bounds(xl, max_abs):
                _freeze_diverged(xl, _NO_ROWS, alive, max_abs, diverged, lo, n)
        _store(xl, lo, ng, alive_at_start, x)


@njit(cache=True, nogil=True)
def run_heun(x, kind, p, seed, offset, step0, n_steps, dt, temp, max_abs, diverged):
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(dt) * math.sqrt(2.0 * temp)
    for gi in range((m_particles + LANES - 1) // LANES):
        lo, ng, alive, alive_at_start, xl = _open_group(x, diverged, gi)
        xt = np.empty((d, LANES), x.dtype)
        kick = np.empty((d, LANES), x.dtype)
        g0 = np.empty((d, LANES))
        g1 = np.empty((d, LANES))
        buf, ctr = _noise_buffers(x, d)
        for n in range(step0, step0 + n_steps):
            s = _noise_slot(buf, ctr, k0, k1, offset + lo, ng, n, step0)
            lanes_grad(kind, xl, p, g0)
            for k in range(d):
                for j in range(LANES):
                    kick[k, j] = sigma * buf[k, s, j]
                    xt[k, j] = xl[k, j] + (-dt * g0[k, j] + kick[k, j])
            lanes_grad(kind, xt, p, g1)
            for k in range(d):
                for j in range(LANES):
                    step = xl[k, j] + (-0.5 * dt * (g0[k, j] + g1[k, j]) + kick[k, j])
                    xl[k, j] = step if alive[j] else xl[k, j]
            if _out_of_bounds(xl, max_abs):
                _freeze_diverged(xl, _NO_ROWS, alive, max_abs, diverged, lo, n)
        _store(xl, lo, ng, alive_at_start, x)


@njit(cache=True, nogil=True)
def run_leimkuhler_matthews(x, kind, p, seed, offset, step0, n_steps, dt, temp, max_abs, diverged):
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(dt) * math.sqrt(2.0 * temp)
    for gi in range((m_particles + LANES - 1) // LANES):
        lo, ng, alive, alive_at_start, xl = _open_group(x, diverged, gi)
        g = np.empty((d, LANES))
        xi_now = np.empty((d, LANES))
        buf, ctr = _noise_buffers(x, d)
        fill_noise_lanes(buf, ctr, k0, k1, np.uint64(offset + lo), ng, np.uint64(step0 >> 2), _NOISE)
        for k in range(d):
            for j in range(LANES):
                xi_now[k, j] = buf[k, step0 & 3, j]
        for n in range(step0, step0 + n_steps):
            s = (n + 1) & 3
            if s == 0:
                fill_noise_lanes(buf, ctr, k0, k1, np.uint64(offset + lo), ng, np.uint64((n + 1) >> 2),
                                 _NOISE)
            lanes_grad(kind, xl, p, g)
            for k in range(d):
                for j in range(LANES):
                    xi_next = buf[k, s, j]
                    step = xl[k, j] + (-dt * g[k, j] + sigma * (0.5 * (xi_now[k, j] + xi_next)))
                    xl[k, j] = step if alive[j] else xl[k, j]
                    xi_now[k, j] = xi_next
            if _out_of_bounds(xl, max_abs):
                _freeze_diverged(xl, _NO_ROWS, alive, max_abs, diverged, lo, n)
        _store(xl, lo, ng, alive_at_start, x)


@njit(cache=True, nogil=True)
def run_mala(x, grad, energy, n_accepted, kind, p, seed, offset, step0, n_steps, dt, temp,
             max_abs, diverged):
    """MALA; ``grad`` (M, d) and ``energy`` (M,) at x are carried in and out."""
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(2.0 * temp * dt)
    for gi in range((m_particles + LANES - 1) // LANES):
        lo, ng, alive, alive_at_start, xl = _open_group(x, diverged, gi)
        gx = np.empty((d, LANES), grad.dtype)
        _load(grad, lo, alive, gx)
        ux = np.zeros(LANES)
        for j in range(ng):
            ux[j] = energy[lo + j]
        y = np.empty((d, LANES), x.dtype)
        gy = np.empty((d, LANES))
        uy = np.empty(LANES)
        buf, ctr = _noise_buffers(x, d)
        for n in range(step0, step0 + n_steps):
            s = _noise_slot(buf, ctr, k0, k1, offset + lo, ng, n, step0)
            for k in range(d):
                for j in range(LANES):
                    y[k, j] = xl[k, j] - dt * gx[k, j] + sigma * buf[k, s, j]
            lanes_grad(kind, y, p, gy)
            lanes_energy(kind, y, p, uy)
            for j in range(ng):
                if not alive[j]:
                    continue
                forward = 0.0
                backward = 0.0
                for k in range(d):
                    forward += (y[k, j] - xl[k, j] + dt * gx[k, j]) ** 2
                    backward += (xl[k, j] - y[k, j] + dt * gy[k, j]) ** 2
                log_alpha = -(uy[j] - ux[j]) / temp - (backward - forward) / (4.0 * temp * dt)
                u = uniform_at(k0, k1, np.uint64(offset + lo + j), np.uint64(n), np.uint64(0), _ACCEPT)
                if math.log(u) < log_alpha:
                    for k in range(d):
                        xl[k, j] = y[k, j]
                        gx[k, j] = gy[k, j]
                    ux[j] = uy[j]
                    n_accepted[lo + j] += 1
            if _out_of_bounds(xl, max_abs):
                _freeze_diverged(xl, _NO_ROWS, alive, max_abs, diverged, lo, n)
        _store(xl, lo, ng, alive_at_start, x)
        _store(gx, lo, ng, alive_at_start, grad)
        for j in range(ng):
            if alive_at_start[j]:
                energy[lo + j] = ux[j]


@njit(cache=True, nogil=True)
def run_baoab(x, v, grad, kind, p, seed, offset, step0, n_steps, dt, temp, friction, mass,
              max_abs, diverged):
    """BAOAB with thermal noise; ``v`` and the gradient ``grad`` at x are carried in and out."""
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    c = math.exp(-friction * dt)
    kick = math.sqrt(-math.expm1(-2.0 * friction * dt) * temp / mass)
    half = 0.5 * dt / mass
    for gi in range((m_particles + LANES - 1) // LANES):
        lo, ng, alive, alive_at_start, xl = _open_group(x, diverged, gi)
        vl = np.empty((d, LANES), v.dtype)
        g = np.empty((d, LANES))
        _load(v, lo, alive, vl)
        _load(grad, lo, alive, g)
        xn = np.empty((d, LANES), x.dtype)
        vn = np.empty((d, LANES), v.dtype)
        buf, ctr = _noise_buffers(x, d)
        for n in range(step0, step0 + n_steps):
            s = _noise_slot(buf, ctr, k0, k1, offset + lo, ng, n, step0)
            for k in range(d):
                for j in range(LANES):
                    vk = vl[k, j] - half * g[k, j]
                    xk = xl[k, j] + 0.5 * dt * vk
                    vk = c * vk + kick * buf[k, s, j]
                    xn[k, j] = xk + 0.5 * dt * vk
                    vn[k, j] = vk
            lanes_grad(kind, xn, p, g)
            for k in range(d):
                for j in range(LANES):
                    vk = vn[k, j] - half * g[k, j]
                    xl[k, j] = xn[k, j] if alive[j] else xl[k, j]
                    vl[k, j] = vk if alive[j] else vl[k, j]
            if _out_of_bounds(xl, max_abs) or _out_of_bounds(vl, max_abs):
                _freeze_diverged(xl, vl, alive, max_abs, diverged, lo, n)
        _store(xl, lo, ng, alive_at_start, x)
        _store(vl, lo, ng, alive_at_start, v)
        _store(g, lo, ng, alive_at_start, grad)


def noise_buffer(m_particles, dim):
    """The buffer :func:`euler_maruyama_update` keeps its normals in between calls."""
    return np.empty(((m_particles + LANES - 1) // LANES, dim, 4, LANES))


@njit(cache=True)
def euler_maruyama_update(x, g, noise, refill, seed, offset, step, dt, temp, radius, max_abs, diverged):
    """One Euler–Maruyama step from a precomputed (batched, e.g. BLAS) gradient ``g`` (M, d).

    Serial on purpose: it runs between two BLAS calls, which dominate the step (their cost
    grows faster with d than this O(M d) pass).  A parallel loop here would start Numba's
    thread pool between BLAS's, and the two pools then fight for the cores: 40x slower
    steps were measured on a busy 2-core machine.

    ``noise`` (:func:`noise_buffer`) holds the normals of the four steps of one Philox block,
    LANES particles per row, between calls; ``refill`` says it must be refilled for the
    block of ``step`` (the caller tracks which block it holds).  No other array of normals
    is stored.  ``radius > 0`` keeps the particles on the sphere ``|x| = radius``: the
    increment is projected on the tangent space and the point retracted, exactly as
    :func:`sgdsde.integrators.base.tangent_step` does; a particle whose tangent increment
    exceeds the radius is marked diverged (:meth:`sgdsde.manifolds.Sphere.step_too_large`).
    """
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    sigma = math.sqrt(dt) * math.sqrt(2.0 * temp)
    block = np.uint64(step >> 2)
    s = step & 3
    ctr = noise_scratch()
    for gi in range(noise.shape[0]):
        lo = gi * LANES
        ng = min(LANES, m_particles - lo)
        if refill:
            fill_noise_lanes(noise[gi], ctr, k0, k1, np.uint64(offset + lo), ng, block, _NOISE)
        for j in range(ng):
            i = lo + j
            if diverged[i] >= 0:
                continue
            if radius > 0.0:
                xv = 0.0
                xx = 0.0
                for k in range(d):
                    xv += x[i, k] * (-dt * g[i, k] + sigma * noise[gi, k, s, j])
                    xx += x[i, k] * x[i, k]
                c = xv / xx
                nrm = 0.0
                for k in range(d):
                    inc = -dt * g[i, k] + sigma * noise[gi, k, s, j]
                    x[i, k] = x[i, k] + (inc - c * x[i, k])
                    nrm += x[i, k] * x[i, k]
                scale = radius / math.sqrt(nrm)
                for k in range(d):
                    x[i, k] = x[i, k] * scale
                if nrm > 2.0 * xx:  # |x + v|² = |x|² + |v|²: the tangent step exceeded the radius
                    diverged[i] = step
                    continue
            else:
                for k in range(d):
                    x[i, k] = x[i, k] + (-dt * g[i, k] + sigma * noise[gi, k, s, j])
            if not _finite(x[i], max_abs):
                diverged[i] = step


@njit(cache=True, nogil=True)
def run_obabo(x, v, grad, kind, p, seed, offset, step0, n_steps, dt, temp, friction, mass,
              max_abs, diverged):
    """OBABO with thermal noise (:mod:`.obabo`); ``v`` and the gradient ``grad`` at x are carried.

    The normals of step n are components ``0 … 2d − 1`` of the step's Philox block: the
    first d drive the first half-step O, the last d the second.
    """
    m_particles, d = x.shape
    k0, k1 = _keys(seed)
    c = math.exp(-0.5 * friction * dt)
    kick = math.sqrt(-math.expm1(-friction * dt) * temp / mass)
    half = 0.5 * dt / mass
    for gi in range((m_particles + LANES - 1) // LANES):
        lo, ng, alive, alive_at_start, xl = _open_group(x, diverged, gi)
        vl = np.empty((d, LANES), v.dtype)
        g = np.empty((d, LANES))
        _load(v, lo, alive, vl)
        _load(grad, lo, alive, g)
        xn = np.empty((d, LANES), x.dtype)
        vn = np.empty((d, LANES), v.dtype)
        buf, ctr = _noise_buffers(x, 2 * d)
        for n in range(step0, step0 + n_steps):
            s = _noise_slot(buf, ctr, k0, k1, offset + lo, ng, n, step0)
            for k in range(d):
                for j in range(LANES):
                    vk = c * vl[k, j] + kick * buf[k, s, j]
                    vk = vk - half * g[k, j]
                    xn[k, j] = xl[k, j] + dt * vk
                    vn[k, j] = vk
            lanes_grad(kind, xn, p, g)
            for k in range(d):
                for j in range(LANES):
                    vk = vn[k, j] - half * g[k, j]
                    vk = c * vk + kick * buf[d + k, s, j]
                    xl[k, j] = xn[k, j] if alive[j] else xl[k, j]
                    vl[k, j] = vk if alive[j] else vl[k, j]
            if _out_of_bounds(xl, max_abs) or _out_of_bounds(vl, max_abs):
                _freeze_diverged(xl, vl, alive, max_abs, diverged, lo, n)
        _store(xl, lo, ng, alive_at_start, x)
        _store(vl, lo, ng, alive_at_start, v)
        _store(g, lo, ng, alive_at_start, grad)
