"""Numba versions of :mod:`sgdsde.random`: the same numbers, bit for bit.

The kernels fetch normals four steps at a time, since one Philox call serves four
consecutive steps of a component: :func:`fill_noise_block` for one particle, and
:func:`fill_noise_lanes` for :data:`LANES` consecutive particles at once.  The lane version
is the fast one: its Philox rounds run on arrays of ``uint32`` counters with the lane loop
innermost, which LLVM compiles to SIMD multiplies (``vpmuludq``), and its ziggurat takes the
fast path on every lane branch-free before fixing up the rare lanes that need more bits.
On a 2-core AVX-512 machine it draws 1.7 times as many normals per second as the one-particle
version (``benchmarks/langevin_toy.py``).

Scalar integers are held as ``uint64``: mixing signed and unsigned 64-bit integers makes
Numba fall back to floating point.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .random import (
    MASK32,
    MAX_SLOW_ATTEMPTS,
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_W0,
    PHILOX_W1,
    SLOW_TAG,
    ZIGGURAT_F,
    ZIGGURAT_K,
    ZIGGURAT_R,
    ZIGGURAT_W,
)

_M0 = np.uint64(PHILOX_M0)
_M1 = np.uint64(PHILOX_M1)
_W0 = np.uint64(PHILOX_W0)
_W1 = np.uint64(PHILOX_W1)
_MASK = np.uint64(MASK32)
_S32 = np.uint64(32)
_ZK = ZIGGURAT_K.copy()
_ZW = ZIGGURAT_W.copy()
_ZF = ZIGGURAT_F.copy()
_W0_32 = np.uint32(PHILOX_W0)
_W1_32 = np.uint32(PHILOX_W1)

#: Particles whose noise :func:`fill_noise_lanes` draws together, and that a fused kernel
#: advances together.  A multiple of the SIMD width (16 words of 32 bits per AVX-512
#: register); measured on 2 AVX-512 cores (double well, Euler–Maruyama, 1e5 particles):
#: 8 lanes 0.29 s, 16 lanes 0.23 s, 32 lanes 0.19 s, 64 lanes 0.14 s, 128 lanes 0.14 s
#: for 1000 steps, as more independent Philox rounds and updates overlap in the pipeline.
LANES = 64


@njit(cache=True, inline="always")
def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 on uint64-held words; returns the four output words."""
    for r in range(10):
        if r:
            k0 = (k0 + _W0) & _MASK
            k1 = (k1 + _W1) & _MASK
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> _S32) ^ c1 ^ k0, p1 & _MASK, (p0 >> _S32) ^ c3 ^ k1, p0 & _MASK
    return c0, c1, c2, c3


@njit(cache=True)
def slow_normal(k0, k1, particle, step, comp, stream, word):
    """The ziggurat's rare path (mirrors ``sgdsde.random._slow_normal``)."""
    layer = np.int64(word & np.uint64(0x7F))
    sign = (word >> np.uint64(7)) & np.uint64(1)
    mag = np.float64(word >> np.uint64(8))
    x = 0.0
    for attempt in range(MAX_SLOW_ATTEMPTS):
        tag = np.uint64(SLOW_TAG) | ((stream & np.uint64(0x7F)) << np.uint64(8)) | np.uint64(attempt)
        c2 = ((step >> _S32) & np.uint64(0xFFFF)) | (tag << np.uint64(16))
        e0, e1, e2, e3 = philox(comp, step & _MASK, c2, particle, k0, k1)
        if layer == 0:
            x = -math.log((np.float64(e0) + 1.0) * 2.0**-32) / ZIGGURAT_R
            y = -math.log((np.float64(e1) + 1.0) * 2.0**-32)
            if y + y >= x * x:
                x = ZIGGURAT_R + x
                return -x if sign else x
            continue
        x = mag * _ZW[layer]
        u = (np.float64(e0) + 0.5) * 2.0**-32
        if _ZF[layer] + u * (_ZF[layer - 1] - _ZF[layer]) < math.exp(-0.5 * x * x):
            return -x if sign else x
        word = e1
        layer = np.int64(word & np.uint64(0x7F))
        sign = (word >> np.uint64(7)) & np.uint64(1)
        mag = np.float64(word >> np.uint64(8))
        if mag < _ZK[layer]:
            x = mag * _ZW[layer]
            return -x if sign else x
    return -x if sign else x


@njit(cache=True, inline="always")
def word_to_normal(word, k0, k1, particle, step, comp, stream):
    """One ziggurat draw from one 32-bit word; ``step`` is the word's own step."""
    layer = np.int64(word & np.uint64(0x7F))
    mag = np.float64(word >> np.uint64(8))
    if mag < _ZK[layer]:
        x = mag * _ZW[layer]
        return -x if (word >> np.uint64(7)) & np.uint64(1) else x
    return slow_normal(k0, k1, particle, step, comp, stream, word)


@njit(cache=True, inline="always")
def fill_noise_block(buf, k0, k1, particle, block, stream):
    """Fill ``buf[k, s]`` with the normal of component k at step ``4*block + s``.

    ``buf`` has shape (dim, 4) and float64 dtype; all integers are uint64.
    """
    c1 = block & _MASK
    c2 = ((block >> _S32) & np.uint64(0xFFFF)) | (stream << np.uint64(16))
    step0 = block << np.uint64(2)
    for k in range(buf.shape[0]):
        comp = np.uint64(k)
        w0, w1, w2, w3 = philox(comp, c1, c2, particle, k0, k1)
        buf[k, 0] = word_to_normal(w0, k0, k1, particle, step0, comp, stream)
        buf[k, 1] = word_to_normal(w1, k0, k1, particle, step0 + np.uint64(1), comp, stream)
        buf[k, 2] = word_to_normal(w2, k0, k1, particle, step0 + np.uint64(2), comp, stream)
        buf[k, 3] = word_to_normal(w3, k0, k1, particle, step0 + np.uint64(3), comp, stream)


@njit(cache=True, inline="always")
def philox_lanes(ctr, row0, k0, k1):
    """Philox4x32-10 in place on rows ``row0 .. row0 + 3`` of ``ctr`` (rows, LANES) uint32.

    Each lane (column) holds one counter.  Rows are addressed by offset rather than by a
    slice: a slice is typed as a non-contiguous array, which stops the vectorisation.
    """
    ka = np.uint32(k0)
    kb = np.uint32(k1)
    for _ in range(10):
        for j in range(LANES):
            p0 = _M0 * np.uint64(ctr[row0, j])
            p1 = _M1 * np.uint64(ctr[row0 + 2, j])
            w0 = np.uint32(p1 >> _S32) ^ ctr[row0 + 1, j] ^ ka
            w2 = np.uint32(p0 >> _S32) ^ ctr[row0 + 3, j] ^ kb
            ctr[row0, j] = w0
            ctr[row0 + 1, j] = np.uint32(p1)
            ctr[row0 + 2, j] = w2
            ctr[row0 + 3, j] = np.uint32(p0)
        # Numba widens uint32 sums to 64 bits; only the low 32 bits reach the counters.
        ka = np.uint32(ka + _W0_32)
        kb = np.uint32(kb + _W1_32)


@njit(cache=True, inline="always")
def fill_noise_lanes(buf, ctr, k0, k1, first_particle, n_lanes, block, stream):
    """Fill ``buf[k, s, j]`` with the normal of particle ``first_particle + j``, component k,
    step ``4*block + s``: the numbers of :func:`fill_noise_block`, LANES particles at once.

    ``buf`` (dim, 4, LANES) float64; ``ctr`` (4, LANES) uint32 scratch.  Lanes
    ``j >= n_lanes`` are filled too (from particle indices past the cloud) but only lanes
    below ``n_lanes`` get the ziggurat's slow path, so theirs are the only exact ones.
    """
    c1 = np.uint32(block & _MASK)
    c2 = np.uint32(((block >> _S32) & np.uint64(0xFFFF)) | (stream << np.uint64(16)))
    first = np.uint32(first_particle)
    for k in range(buf.shape[0]):
        for j in range(LANES):
            ctr[0, j] = np.uint32(k)
            ctr[1, j] = c1
            ctr[2, j] = c2
            ctr[3, j] = first + np.uint32(j)
        philox_lanes(ctr, 0, k0, k1)
        slow = False
        for s in range(4):
            for j in range(LANES):
                w = ctr[s, j]
                layer = np.int64(w & np.uint32(0x7F))
                mag = np.float64(w >> np.uint32(8))
                x = mag * _ZW[layer]
                buf[k, s, j] = -x if (w >> np.uint32(7)) & np.uint32(1) else x
                slow |= mag >= _ZK[layer]
        if slow:  # about 2.8 % of the words: redo those draws one by one
            step0 = block << np.uint64(2)
            for s in range(4):
                for j in range(n_lanes):
                    w = np.uint64(ctr[s, j])
                    if np.float64(w >> np.uint64(8)) >= _ZK[np.int64(w & np.uint64(0x7F))]:
                        buf[k, s, j] = slow_normal(k0, k1, np.uint64(first_particle) + np.uint64(j),
                                                   step0 + np.uint64(s), np.uint64(k), stream, w)


@njit(cache=True, inline="always")
def uniform_at(k0, k1, particle, step, comp, stream):
    """One uniform on (0, 1) (mirrors ``sgdsde.random.uniforms``)."""
    block = step >> np.uint64(2)
    c2 = ((block >> _S32) & np.uint64(0xFFFF)) | (stream << np.uint64(16))
    w0, w1, w2, w3 = philox(comp, block & _MASK, c2, particle, k0, k1)
    s = step & np.uint64(3)
    w = w0 if s == 0 else (w1 if s == 1 else (w2 if s == 2 else w3))
    return (np.float64(w) + 0.5) * 2.0**-32


@njit(cache=True)
def normals_into(out, seed, particles, step, stream):
    """Fill ``out`` (M, dim) with the normals of ``particles`` at ``step``.

    Serial on purpose: it serves the batched path, between BLAS calls that dominate the step
    (see ``euler_maruyama_update`` in :mod:`sgdsde.integrators._numba_fused`).
    """
    k0 = np.uint64(seed) & _MASK
    k1 = np.uint64(seed) >> _S32
    st = np.uint64(step)
    block = st >> np.uint64(2)
    slot = np.int64(st & np.uint64(3))
    dim = out.shape[1]
    for i in range(out.shape[0]):
        buf = np.empty((dim, 4))
        fill_noise_block(buf, k0, k1, np.uint64(particles[i]), block, np.uint64(stream))
        for k in range(dim):
            out[i, k] = buf[k, slot]


@njit(cache=True, parallel=True)
def normal_steps_into(out, seed, particles, step0, stream):
    """``out[i, n, k]``: normals of particle i, component k at step ``step0 + n`` (parallel).

    Used to measure the bare cost of the noise a fused kernel consumes.
    """
    k0 = np.uint64(seed) & _MASK
    k1 = np.uint64(seed) >> _S32
    n_steps = out.shape[1]
    dim = out.shape[2]
    for i in prange(out.shape[0]):
        buf = np.empty((dim, 4))
        part = np.uint64(particles[i])
        for n in range(n_steps):
            st = np.uint64(step0 + n)
            slot = np.int64(st & np.uint64(3))
            if slot == 0 or n == 0:
                fill_noise_block(buf, k0, k1, part, st >> np.uint64(2), np.uint64(stream))
            for k in range(dim):
                out[i, n, k] = buf[k, slot]
