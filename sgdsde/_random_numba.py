"""Numba versions of :mod:`sgdsde.random`: the same numbers, bit for bit.

The kernels fetch normals four steps at a time, since one Philox call serves four
consecutive steps of a component: :func:`fill_noise_block` for one particle, and
:func:`fill_noise_lanes` for :data:`LANES` consecutive particles at once.  The lane version
is the fast one: its Philox rounds run on arrays of ``uint32`` counters with the lane loop
innermost, which LLVM compiles to SIMD multiplies (``vpmuludq``), and its ziggurat takes the
fast path on every lane branch-free, then settles the rare slow words (about 2.8 %) from one
batched Philox call.  On a 2-core AVX-512 machine it draws 1.7 times as many normals per
second as the one-particle version (``benchmarks/langevin_toy.py``) before that batching,
which made it 1.16-1.26 times faster again (``benchmarks/normals.py``, loaded runs).

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
_ZK32 = ZIGGURAT_K.astype(np.uint32)  # integers below 2**24, so exact
_W0_32 = np.uint32(PHILOX_W0)
_W1_32 = np.uint32(PHILOX_W1)

#: Particles whose noise :func:`fill_noise_lanes` draws together, and that a fused kernel
#: advances together.  A multiple of the SIMD width (16 words of 32 bits per AVX-512
#: register); measured on 2 AVX-512 cores (double well, Euler–Maruyama, 1e5 particles):
#: 8 lanes 0.29 s, 16 lanes 0.23 s, 32 lanes 0.19 s, 64 lanes 0.14 s, 128 lanes 0.14 s
#: for 1000 steps, as more independent Philox rounds and updates overlap in the pipeline.
LANES = 64
_LOG2_LANES = np.uint32(6)
assert 1 << int(_LOG2_LANES) == LANES

#: Rows of :func:`noise_scratch`: 0-3 the lanes' Philox words, 4-7 the slow words'
#: attempt-0 Philox words, 8 the slow-path flags and then the slow words' positions.
SCRATCH_ROWS = 9
_FLAGS = 8
_ALL_LANES = np.uint64(2**64 - 1)
assert LANES == 64  # one bit per lane in a uint64 mask

#: Index of the lowest set bit of a uint64 ``b`` (a power of two): de Bruijn's
#: ``_DE_BRUIJN_INDEX[(b * _DE_BRUIJN) >> 58]`` (Leiserson, Prokop & Randall 1998).
_DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
_DE_BRUIJN_INDEX = np.zeros(64, np.int64)
for _bit in range(64):
    _DE_BRUIJN_INDEX[(((1 << _bit) * 0x03F79D71B4CB0A89) & (2**64 - 1)) >> 58] = _bit
del _bit


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
def philox_columns(ctr, row0, n, k0, k1):
    """Philox4x32-10 in place on columns ``0 .. n - 1`` of rows ``row0 .. row0 + 3`` of ``ctr``.

    ``ctr`` is (rows, LANES) uint32 and each column holds one counter.  Rows are addressed by
    offset rather than by a slice: a slice is typed as a non-contiguous array, which stops the
    vectorisation.  With n ≈ 7 (the slow draws of a 4 x LANES block) most of this runs in the
    scalar remainder of the vector loop; rounding n up to 16 fixed columns, fully vectorised,
    was measured no faster (4.10 against 4.20 ns per normal, within the load's noise).
    """
    ka = np.uint32(k0)
    kb = np.uint32(k1)
    for _ in range(10):
        for j in range(n):
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
def philox_lanes(ctr, row0, k0, k1):
    """:func:`philox_columns` on all LANES columns: inlined with a constant trip count, the
    loop over columns is fully vectorised."""
    philox_columns(ctr, row0, LANES, k0, k1)


@njit(cache=True, inline="always")
def noise_scratch():
    """The ``uint32`` scratch :func:`fill_noise_lanes` needs: shape (SCRATCH_ROWS, 4 * LANES)."""
    return np.empty((SCRATCH_ROWS, 4 * LANES), np.uint32)


@njit(cache=True, inline="always")
def _first_slow_attempt(word, e0, e1):
    """Attempt 0 of :func:`slow_normal` for ``word``, given that attempt's Philox words e0, e1,
    without branches; returns ``(x, done)``.

    ``done`` is False in the tail layer 0 and when attempt 0 rejects and its fresh word e1
    fails the fast test too (together about 1 slow draw in 30); the caller then runs
    :func:`slow_normal`, which recomputes attempt 0 identically and goes on.  Otherwise x is
    the number :func:`slow_normal` returns: the wedge's x if accepted, else e1's fast draw.
    """
    layer = np.int64(word & np.uint32(0x7F))
    x = np.float64(word >> np.uint32(8)) * _ZW[layer]
    x = -x if (word >> np.uint32(7)) & np.uint32(1) else x
    u = (np.float64(e0) + 0.5) * 2.0**-32
    upper = max(layer - 1, 0)  # layer 0 is sent back: any index will do
    accept = _ZF[layer] + u * (_ZF[upper] - _ZF[layer]) < math.exp(-0.5 * x * x)
    fresh = np.int64(e1 & np.uint32(0x7F))
    mag = np.float64(e1 >> np.uint32(8))
    y = mag * _ZW[fresh]
    y = -y if (e1 >> np.uint32(7)) & np.uint32(1) else y
    return (x if accept else y), (layer != 0) & (accept | (mag < _ZK[fresh]))


@njit(cache=True, inline="always")
def fill_noise_lanes(buf, ctr, k0, k1, first_particle, n_lanes, block, stream):
    """Fill ``buf[k, s, j]`` with the normal of particle ``first_particle + j``, component k,
    step ``4*block + s``: the numbers of :func:`fill_noise_block`, LANES particles at once.

    ``buf`` (dim, 4, LANES) float64 or float32 (the float64 number rounded, as
    ``sgdsde.random.normals(..., dtype=np.float32)`` rounds it); ``ctr`` the ``uint32``
    scratch of :func:`noise_scratch`.  Lanes ``j >= n_lanes`` are filled too (from particle
    indices past the cloud) but only lanes below ``n_lanes`` get the ziggurat's slow path,
    so theirs are the only exact ones.

    Per component, passes over short arrays (costs: one thread, CPU ns per normal on the
    loaded 2-core box, 3e7 normals, generator plus a summing consumer; the previous version,
    a flag over the whole block and a second scalar pass over all 256 words calling a scalar
    Philox per slow word, cost 5.2-5.8 in the same runs):

    1. Philox on the LANES counters, then the ziggurat's fast path on all 4 x LANES words,
       branch-free, also setting one bit per slow word (``mag >= k[layer]``, compared as
       32-bit integers since the table k holds integers: the same test) in a uint64 mask
       per step (fast path alone 2.3-2.5; with the masks 2.95).
    2. The set bits are walked with de Bruijn's lowest-bit index, writing the slow words'
       positions and their attempt-0 counters (about 7 of 256 words), which then go through
       Philox together (+0.4).
    3. Each slow word is settled from those bits without branches
       (:func:`_first_slow_attempt`, +0.7: the exp and a select); the one slow word in
       30 that this does not settle goes through :func:`slow_normal`.  Total 4.1-4.5.
    """
    c1 = np.uint32(block & _MASK)
    c2 = np.uint32(((block >> _S32) & np.uint64(0xFFFF)) | (stream << np.uint64(16)))
    first = np.uint32(first_particle)
    step0 = block << np.uint64(2)
    tag = np.uint32((np.uint64(SLOW_TAG) | ((stream & np.uint64(0x7F)) << np.uint64(8))) << np.uint64(16))
    live = _ALL_LANES if n_lanes >= LANES else (np.uint64(1) << np.uint64(n_lanes)) - np.uint64(1)
    for k in range(buf.shape[0]):
        for j in range(LANES):
            ctr[0, j] = np.uint32(k)
            ctr[1, j] = c1
            ctr[2, j] = c2
            ctr[3, j] = first + np.uint32(j)
        philox_lanes(ctr, 0, k0, k1)
        n_slow = 0
        for s in range(4):
            slow = np.uint64(0)
            for j in range(LANES):
                w = ctr[s, j]
                layer = w & np.uint32(0x7F)
                mag = w >> np.uint32(8)
                x = np.float64(mag) * _ZW[layer]
                buf[k, s, j] = -x if (w >> np.uint32(7)) & np.uint32(1) else x
                slow |= np.uint64(mag >= _ZK32[layer]) << np.uint64(j)
            slow &= live
            step = step0 + np.uint64(s)
            c5 = np.uint32(step & _MASK)
            c6 = np.uint32((step >> _S32) & np.uint64(0xFFFF)) | tag
            while slow:
                lowest = slow & (~slow + np.uint64(1))
                j = _DE_BRUIJN_INDEX[(lowest * _DE_BRUIJN) >> np.uint64(58)]
                slow ^= lowest
                ctr[_FLAGS, n_slow] = np.uint32(s * LANES + j)
                ctr[4, n_slow] = np.uint32(k)
                ctr[5, n_slow] = c5
                ctr[6, n_slow] = c6
                ctr[7, n_slow] = first + np.uint32(j)
                n_slow += 1
        philox_columns(ctr, 4, n_slow, k0, k1)
        for i in range(n_slow):
            s = np.int64(ctr[_FLAGS, i] >> _LOG2_LANES)
            j = np.int64(ctr[_FLAGS, i] & np.uint32(LANES - 1))
            x, done = _first_slow_attempt(ctr[s, j], ctr[4, i], ctr[5, i])
            buf[k, s, j] = x
            ctr[6, i] = done
        for i in range(n_slow):
            if not ctr[6, i]:  # about 1 slow draw in 30: the tail layer or a second attempt
                s = np.int64(ctr[_FLAGS, i] >> _LOG2_LANES)
                j = np.int64(ctr[_FLAGS, i] & np.uint32(LANES - 1))
                buf[k, s, j] = slow_normal(k0, k1, np.uint64(first_particle) + np.uint64(j),
                                           step0 + np.uint64(s), np.uint64(k), stream, np.uint64(ctr[s, j]))


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
