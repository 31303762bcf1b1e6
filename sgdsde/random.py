"""Counter-based random numbers: the same numbers on every backend, whatever the thread count.

Every standard normal used by the library is a pure function of
``(seed, particle, step, component, stream)``.  Nothing is drawn from a stream that
advances with use, so

* the NumPy reference, the Numba kernels and the CuPy kernels produce the same path,
  particle by particle, and are tested against each other path by path;
* splitting the cloud over threads, processes or machines changes nothing;
* a run resumed from a checkpoint at step ``n`` continues the identical path.

Construction
------------
Bits come from Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as
easy as 1, 2, 3", SC'11), keyed by the seed and counted by the position of the number::

    key     = (seed mod 2**32, seed // 2**32)
    counter = (component, (step // 4) mod 2**32, (step // 2**34) mod 2**16 | stream << 16,
               particle)

One Philox call yields four 32-bit words: the normals of one component at four
consecutive steps, so a one-dimensional cloud wastes no bits.  Each word becomes one
standard normal by a 128-layer ziggurat (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000)
in which the layer index (7 bits), the sign (1 bit) and the magnitude (24 bits) come from
disjoint bits of the word, which removes the correlation between layer and value that
Doornik (2005) found in the original.  In about 2.8 % of draws the ziggurat needs more
bits; they come from further Philox calls whose counters carry a tag (>= 0x8000 in the
top half of the third word) that no main-stream counter can carry.

Why a ziggurat rather than Box-Muller: Box-Muller spends a logarithm, a square root and a
sine/cosine pair on every two normals, which makes the noise several times dearer than a
double-well Langevin step; the ziggurat's fast path is a table look-up and one
multiplication, so the fused step costs little more than the bits themselves.

Limits: ``0 <= seed < 2**64``, ``0 <= particle < 2**32``, ``0 <= step < 2**50``,
``0 <= component < 2**32``, ``0 <= stream < 2**15``.  The magnitude has 24 significant
bits (granularity below 2.1e-7 in the bulk); float64 runs use these same numbers.

Streams in use: :data:`STREAM_NOISE` (Brownian increments), :data:`STREAM_ACCEPT` (MALA
acceptance uniforms), :data:`STREAM_VELOCITY` (initial velocities),
:data:`STREAM_USER` and above are free for callers (minibatch draws, initial clouds).

Seeds, library-wide
-------------------
Every random draw of sgdsde goes through this module, keyed by one ``seed``.  ``seed=None``
means the same everywhere: a fresh 64-bit seed from the operating system
(:func:`resolve_seed`), recorded in the result's ``settings`` where the function returns
one (:func:`sgdsde.simulate`, :func:`sgdsde.sgd.run_sgd`).  Functions whose result is an
estimate (entropy, critical points, traces) default to ``seed=0`` so that repeated calls
agree.  Steps are counters too: a run that continues another one
(``simulate(..., continue_from=traj)``) starts at that run's last step and draws new
numbers instead of replaying them.
"""

from __future__ import annotations

import math
import secrets

import numpy as np

__all__ = [
    "STREAM_NOISE",
    "STREAM_ACCEPT",
    "STREAM_VELOCITY",
    "STREAM_USER",
    "philox4x32",
    "normals",
    "uniforms",
    "resolve_seed",
    "ZIGGURAT_R",
]

STREAM_NOISE = 0
STREAM_ACCEPT = 1
STREAM_VELOCITY = 2
STREAM_USER = 16

PHILOX_M0 = 0xD2511F53
PHILOX_M1 = 0xCD9E8D57
PHILOX_W0 = 0x9E3779B9
PHILOX_W1 = 0xBB67AE85
PHILOX_ROUNDS = 10
MASK32 = 0xFFFFFFFF
SLOW_TAG = 0x8000  # top half of counter word 2 for the ziggurat's extra bits
MAX_SLOW_ATTEMPTS = 256

# --------------------------------------------------------------------------- ziggurat tables
ZIGGURAT_R = 3.442619855899  # right edge of the base layer (Marsaglia & Tsang 2000)
ZIGGURAT_V = 9.91256303526217e-3  # area of each of the 128 layers
MAGNITUDE_SCALE = float(2**24)


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables ``(k, w, f)`` of the 128-layer ziggurat for 24-bit magnitudes.

    Layer 0 is the base strip (rectangle plus tail), layer 127 the one just above it and
    layer 1 the top.  ``x = j * w[i]`` for a magnitude ``j`` in ``[0, 2**24)``; the draw is
    accepted at once when ``j < k[i]``; ``f[i] = exp(-x_i**2 / 2)`` at the layer's edge.
    """
    m = MAGNITUDE_SCALE
    dn = tn = ZIGGURAT_R
    q = ZIGGURAT_V / math.exp(-0.5 * dn * dn)
    k = np.zeros(128)
    w = np.zeros(128)
    f = np.zeros(128)
    k[0] = math.floor(dn / q * m)
    k[1] = 0.0
    w[0] = q / m
    w[127] = dn / m
    f[0] = 1.0
    f[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(ZIGGURAT_V / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = math.floor(dn / tn * m)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return k, w, f


ZIGGURAT_K, ZIGGURAT_W, ZIGGURAT_F = _ziggurat_tables()


# --------------------------------------------------------------------------- Philox
def philox4x32(counter, key, rounds: int = PHILOX_ROUNDS):
    """Philox4x32 block cipher, vectorised over NumPy arrays.

    Parameters
    ----------
    counter : sequence of 4 array_like of unsigned 32-bit values
        The counter words ``(c0, c1, c2, c3)``; broadcast against each other.
    key : sequence of 2 array_like of unsigned 32-bit values
        The key words ``(k0, k1)``.
    rounds : int
        Number of rounds (10 is the standard, Crush-resistant choice).

    Returns
    -------
    tuple of 4 ndarray of uint64
        The four output words, each in ``[0, 2**32)``.
    """
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in counter)
    k0, k1 = (np.asarray(k, dtype=np.uint64) for k in key)
    m0, m1 = np.uint64(PHILOX_M0), np.uint64(PHILOX_M1)
    w0, w1 = np.uint64(PHILOX_W0), np.uint64(PHILOX_W1)
    mask, s32 = np.uint64(MASK32), np.uint64(32)
    for r in range(rounds):
        if r:
            k0 = (k0 + w0) & mask
            k1 = (k1 + w1) & mask
        p0 = m0 * c0
        p1 = m1 * c2
        c0, c1, c2, c3 = (p1 >> s32) ^ c1 ^ k0, p1 & mask, (p0 >> s32) ^ c3 ^ k1, p0 & mask
    return c0, c1, c2, c3


def resolve_seed(seed: int | None) -> int:
    """Return ``seed`` checked to lie in ``[0, 2**64)``, or a fresh one from the OS if None."""
    if seed is None:
        return secrets.randbits(64)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int in [0, 2**64) or None, got {type(seed).__name__}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must lie in [0, 2**64), got {seed}")
    return seed


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_position(particles, step: int, stream: int, dim: int) -> np.ndarray:
    for name, value, limit in (("step", step, "2**50"), ("stream", stream, str(SLOW_TAG))):
        if not _is_integer(value):  # int(2.5) would silently draw the numbers of 2
            raise ValueError(f"{name} must be an integer in [0, {limit}), got {value!r}")
    if not _is_integer(dim) or dim < 0:
        raise ValueError(f"dim must be an integer >= 0, got {dim!r}")
    particles = np.asarray(particles)
    if particles.dtype.kind not in "iu":
        raise TypeError(f"particles must be integers, got dtype {particles.dtype}")
    if particles.size and (particles.min() < 0 or particles.max() >= 2**32):
        raise ValueError("particle indices must lie in [0, 2**32)")
    if not 0 <= int(step) < 2**50:
        raise ValueError(f"step must lie in [0, 2**50), got {step}")
    if not 0 <= int(stream) < SLOW_TAG:
        raise ValueError(f"stream must lie in [0, {SLOW_TAG}), got {stream}")
    return particles.astype(np.uint64)


def _main_words(seed: int, particles: np.ndarray, step: int, dim: int, stream: int):
    """The 32-bit word of every (particle, component) at ``step``: shape (M, dim), uint64."""
    comp = np.arange(dim, dtype=np.uint64)[None, :]
    part = particles[:, None]
    block = int(step) >> 2
    counter = (
        comp,
        np.uint64(block & MASK32),
        np.uint64(((block >> 32) & 0xFFFF) | (int(stream) << 16)),
        part,
    )
    key = (np.uint64(seed & MASK32), np.uint64(seed >> 32))
    words = philox4x32(counter, key)
    return np.broadcast_to(words[int(step) & 3], (particles.size, dim))


def _slow_normal(seed: int, particle: int, step: int, comp: int, stream: int, word: int) -> float:
    """The ziggurat's rare path for one draw whose fast test failed (readable scalar code)."""
    layer, sign, mag = word & 0x7F, (word >> 7) & 1, word >> 8
    key = (seed & MASK32, seed >> 32)
    x = 0.0
    for attempt in range(MAX_SLOW_ATTEMPTS):
        tag = SLOW_TAG | ((stream & 0x7F) << 8) | attempt
        counter = (comp, step & MASK32, ((step >> 32) & 0xFFFF) | (tag << 16), particle)
        e = [int(v) for v in philox4x32(counter, key)]
        if layer == 0:  # tail beyond R, Marsaglia's exponential rejection
            x = -math.log((e[0] + 1.0) * 2.0**-32) / ZIGGURAT_R
            y = -math.log((e[1] + 1.0) * 2.0**-32)
            if y + y >= x * x:
                x = ZIGGURAT_R + x
                return -x if sign else x
            continue
        x = mag * ZIGGURAT_W[layer]
        u = (e[0] + 0.5) * 2.0**-32
        if ZIGGURAT_F[layer] + u * (ZIGGURAT_F[layer - 1] - ZIGGURAT_F[layer]) < math.exp(-0.5 * x * x):
            return -x if sign else x
        word = e[1]  # a fresh draw, fast test first
        layer, sign, mag = word & 0x7F, (word >> 7) & 1, word >> 8
        if mag < ZIGGURAT_K[layer]:
            x = mag * ZIGGURAT_W[layer]
            return -x if sign else x
    return -x if sign else x  # unreachable in practice: 256 rejections in a row


def normals(seed: int, particles, step: int, dim: int, stream: int = STREAM_NOISE,
            dtype=np.float64) -> np.ndarray:
    """Standard normals of the given particles at one step: the NumPy reference.

    Parameters
    ----------
    seed : int
        Key of the generator, in ``[0, 2**64)``.
    particles : array_like of int, shape (M,)
        Global particle indices (not positions in a local array: a shard of a cloud passes
        the indices of its own particles).
    step : int
        Absolute step number.
    dim : int
        Number of components per particle.
    stream : int
        Independent stream number, see the module docstring.
    dtype : numpy dtype
        float64 (default) or float32: the same numbers, rounded.

    Returns
    -------
    ndarray, shape (M, dim)
        Independent standard normals.
    """
    seed = resolve_seed(seed)
    part = _check_position(particles, step, stream, dim).ravel()
    words = _main_words(seed, part, step, dim, stream)
    layer = (words & np.uint64(0x7F)).astype(np.intp)
    sign = (words >> np.uint64(7)) & np.uint64(1)
    mag = (words >> np.uint64(8)).astype(np.float64)
    out = mag * ZIGGURAT_W[layer]
    out = np.where(sign == 1, -out, out)
    slow = ~(mag < ZIGGURAT_K[layer])
    for i, k in zip(*np.nonzero(slow)):
        out[i, k] = _slow_normal(seed, int(part[i]), int(step), int(k), int(stream), int(words[i, k]))
    return out.astype(dtype, copy=False)


def uniforms(seed: int, particles, step: int, dim: int, stream: int = STREAM_ACCEPT,
             dtype=np.float64) -> np.ndarray:
    """Uniforms on the open interval (0, 1), ``(word + 1/2) / 2**32``: the NumPy reference.

    Same arguments and layout as :func:`normals`; returns shape (M, dim).  In float32 the
    largest words would round up to 1, so they are held at the float just below 1.
    """
    seed = resolve_seed(seed)
    part = _check_position(particles, step, stream, dim).ravel()
    words = _main_words(seed, part, step, dim, stream)
    u = ((words.astype(np.float64) + 0.5) * 2.0**-32).astype(dtype, copy=False)
    return np.minimum(u, np.nextafter(u.dtype.type(1), u.dtype.type(0)))
