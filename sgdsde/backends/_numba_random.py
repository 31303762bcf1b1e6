"""Numba versions of :mod:`sgdsde.random`: the same numbers, one particle at a time.

The kernels fetch the normals of one particle four steps at a time
(:func:`fill_noise_block`), since one Philox call serves four consecutive steps of a
component.  Every integer is held as ``uint64``: mixing signed and unsigned 64-bit integers
makes Numba fall back to floating point.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ..random import (
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
