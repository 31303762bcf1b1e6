"""Packed symmetric couplings of the spherical p-spin model: one number per sorted index tuple.

The Hamiltonian depends on the i.i.d. tensor J only through its symmetrisation, and a
symmetric tensor is fixed by its entries at sorted indices ``i1 <= … <= ip``: there are
``C(N + p − 1, p)`` of them, about ``N^p / p!``.  This module stores only those.

Law (docs/theory.md §4)
-----------------------
For a multiset of indices with ``m = p! / Π mult!`` distinct orderings, the symmetrised
i.i.d. tensor ``J_sym = (1/p!) Σ_π J∘π`` holds the mean of m independent standard normals,
``J_sym = z / √m`` with z standard normal, independently across multisets.  Summing the
m equal terms of H,

    H_p(σ) = scale · Σ_{i1<=…<=ip} √m z_{i1..ip} σ_{i1}⋯σ_{ip},

so the packed entry is ``w = scale · √m · z`` ("multiplicity weight" √m: the m copies of
J_sym/…, each of variance 1/m, add to one term of variance m).  With ``scale = N^{−(p−1)/2}``
(ABC) the energy variance is ``N^{−(p−1)} Σ m Π σ² = N^{−(p−1)} |σ|^{2p} = N`` on the sphere
and ``E[H(σ)H(σ')] = N q^p``.  CK keeps only strictly increasing tuples (m = p!) with
``w = −√(p!/2) N^{−(p−1)/2} z``, i.e. ``Var J = p!/(2N^{p−1})``.

Generator
---------
z of the sorted tuple ``(s1, …, sp)`` is the counter-based normal of :mod:`sgdsde.random` at
``(seed, particle = s1, step 0, component = s2 N^{p−2} + … + sp, stream = 64 + p)``: a pure
function of (seed, p, tuple), the same on every backend and in both precisions (it is
drawn in float64, then rounded), with no ``N^p`` intermediate.  It is the construction of
the GPU kernel ``sgdsde/_cuda/couplings.cuh`` (whose ``J_sym`` is ``z/√m``), so
``DevicePSpin`` and :class:`~sgdsde.landscapes.pspin.SphericalPSpin` of one seed share
their couplings.  The stream depends on p so that the degrees of a mixture are independent.

Layout
------
Tuples are stored in lexicographic order.  A *row* is a sorted ``(p−1)``-prefix
``(a1 ≤ … ≤ a_{p−1})``; it holds the contiguous run of last indices ``k = a_{p−1} … N−1``.
``prefixes`` (R, p−1) and ``offsets`` (R+1,) describe the rows.

Streaming contraction
---------------------
For a row with prefix product ``P = Π x_{a_s}`` and row sum ``S = Σ_k w_k x_k`` the row
contributes ``P S`` to H, ``w_k P`` to ``∂H/∂x_k`` and ``S Π_{s≠r} x_{a_s}`` to ``∂H/∂x_{a_r}``
(repeated indices add up correctly).  The innermost loop runs over the contiguous ``k``
(SIMD over the entries: per entry and particle two multiply–adds) and the loop around it
over the particles, so the entries come from memory once per call and from L1 for the other
particles of the cloud.  Four neighbouring rows (last prefix index j … j+3) share that loop
over their common range ``k >= j+3``, so one load and store of ``∂H/∂x_k`` serves four
entries: 0.126 ns per entry and particle in float32 (0.208 in float64) against 0.197 row by
row (N = 1024, M = 16, one core of a loaded machine).  (Particles in the SIMD lanes, k
outermost, did not vectorise under Numba: 1.0 ns.)

Roofs (``benchmarks/pspin.py``, issue 17): per entry and particle the stream does two
multiply–adds (the row sum and the gradient update; no order of the sums does fewer) and
reads 4 bytes once for the whole cloud.  At M = 16 that is 5.7 G multiply–adds against
0.67 GiB for N = 1024: 59–65 ms at the measured 88–98 GFMA/s of two cores, against 24–27 ms
of reading at 26–30 GB/s, so the kernel is bound by arithmetic and could reach at most about
42 % of the bandwidth bound even at the FMA peak (the bandwidth roof applies only for
M <= 6).  Measured: 21 % of the arithmetic roof, 0.12 ns per entry and particle on one core
against 0.04 at its FMA peak; the 4-row loop alone, all data in cache, takes 0.065–0.09.
Tried and slower in the same runs: particles in the SIMD lanes with stack accumulators (LLVM
keeps the eight accumulator vectors in memory: 1.3–1.6x slower), two particles per pass
(1.15x), rows padded to whole vectors (no change), passes of 8 or 4 particles (1.06x, 1.4x),
and the two halves of each row in one loop, so that each row sum has two accumulators (the
compiled loop keeps one per row, and its four-cycle chain of multiply–adds is the loop's whole
time per vector): 1.14x slower on one thread, 1.41x on two.
Rows
are cut into a number of blocks that depends only on the tensor's size; each block
accumulates into its own buffer and the buffers are summed in block order, so the result
does not depend on the thread count.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .. import random as rnd
from .._random_numba import LANES, philox_lanes, slow_normal

__all__ = [
    "STREAM_COUPLINGS_BASE",
    "MAX_DEGREE",
    "coupling_stream",
    "n_sorted_tuples",
    "PackedLayout",
    "draw_packed",
    "unit_normals_reference",
    "unpack_dense",
    "contract",
    "hessian",
]

STREAM_COUPLINGS_BASE = 64
MAX_DEGREE = 20  # p! must fit in an int64 (the multiplicities are exact integers)
TARGET_BLOCK_ENTRIES = 1 << 18  # entries per block of the contraction (at most MAX_BLOCKS)
MAX_BLOCKS = 64
PARTICLES_PER_PASS = 64  # particles streamed together; larger clouds take several passes
_ZK = rnd.ZIGGURAT_K.copy()
_ZW = rnd.ZIGGURAT_W.copy()


def coupling_stream(p: int) -> int:
    """Generator stream of the degree-p couplings (``64 + p``, below 128: distinct slow-path tags)."""
    return STREAM_COUPLINGS_BASE + int(p)


def n_sorted_tuples(n: int, p: int) -> int:
    """Number of sorted index tuples ``i1 <= … <= ip`` in ``range(n)``: ``C(n + p − 1, p)``."""
    return math.comb(n + p - 1, p)


def check_size(n: int, p: int) -> None:
    """Raise ValueError if (n, p) is outside the generator's range (component < 2**32)."""
    if p > MAX_DEGREE:
        raise ValueError(f"p must be <= {MAX_DEGREE} (multiplicities p! in int64), got p = {p}")
    if n ** (p - 1) >= 2**32:
        raise ValueError(f"n**(p - 1) must be below 2**32 (the generator's component range), "
                         f"got n = {n}, p = {p}")


@njit(cache=True)
def _sorted_prefixes(n, q, n_rows):
    """All sorted q-tuples of range(n) in lexicographic order, shape (n_rows, q) int32."""
    out = np.zeros((n_rows, max(q, 1)), dtype=np.int32)
    cur = np.zeros(max(q, 1), dtype=np.int32)
    for r in range(n_rows):
        for s in range(q):
            out[r, s] = cur[s]
        pos = q - 1  # next multiset: bump the rightmost index below n − 1, copy it rightwards
        while pos >= 0 and cur[pos] == n - 1:
            pos -= 1
        if pos < 0:
            break
        cur[pos] += 1
        for s in range(pos + 1, q):
            cur[s] = cur[pos]
    return out


class PackedLayout:
    """Rows of the packed tensor of degree ``p`` over ``n`` spins (see the module docstring).

    Attributes
    ----------
    n, p : int
    prefixes : ndarray, shape (R, max(p − 1, 1)), int32
        Row prefixes ``(a1 ≤ … ≤ a_{p−1})`` (for p = 1 … not used; p >= 2 here).
    offsets : ndarray, shape (R + 1,), int64
        Row r holds entries ``offsets[r] : offsets[r + 1]``, last index from ``prefixes[r, -1]``.
    size : int
        Number of entries, ``C(n + p − 1, p)``.
    """

    def __init__(self, n: int, p: int):
        check_size(n, p)
        self.n, self.p = int(n), int(p)
        n_rows = n_sorted_tuples(n, p - 1)
        self.prefixes = _sorted_prefixes(self.n, p - 1, n_rows)
        lengths = self.n - self.prefixes[:, -1].astype(np.int64)
        self.offsets = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.offsets[1:])
        self.size = int(self.offsets[-1])
        assert self.size == n_sorted_tuples(n, p)
        n_blocks = int(min(MAX_BLOCKS, max(1, self.size // TARGET_BLOCK_ENTRIES)))
        # contiguous row ranges holding about the same number of entries (a function of the size only)
        targets = np.linspace(0, self.size, n_blocks + 1)
        self.block_rows = np.searchsorted(self.offsets, targets, side="left").astype(np.int64)
        self.block_rows[0], self.block_rows[-1] = 0, n_rows

    @property
    def nbytes(self) -> int:
        """Bytes of the layout arrays (prefixes, offsets)."""
        return self.prefixes.nbytes + self.offsets.nbytes


@njit(cache=True)
def _prefix_orbit(prefix, q, p):
    """``(m_rest, m_first)``: orbit sizes of the tuples (prefix, k) for k > a_q and k = a_q."""
    orbit = np.int64(1)
    run = np.int64(1)
    for a in range(1, q):
        run = run + 1 if prefix[a] == prefix[a - 1] else np.int64(1)
        orbit = orbit * (a + 1) // run
    m_rest = orbit * p  # the new index k > a_q starts a run of 1
    m_first = orbit * p // (run + 1) if q > 0 else m_rest
    return m_rest, m_first


@njit(cache=True, parallel=True)
def _draw(prefixes, offsets, n, p, seed_lo, seed_hi, stream, scale, ck, out):
    """Fill ``out`` with the packed couplings (see the module docstring): parallel over rows."""
    n_rows = offsets.size - 1
    q = p - 1
    p_fact = np.int64(1)
    for a in range(2, p + 1):
        p_fact *= a
    chunk = 256
    st = np.uint64(stream)
    c2 = np.uint32(stream << 16)
    for c in prange((n_rows + chunk - 1) // chunk):
        ctr = np.empty((4, LANES), dtype=np.uint32)
        for r in range(c * chunk, min(n_rows, (c + 1) * chunk)):
            lo = offsets[r]
            hi = offsets[r + 1]
            first = np.int64(prefixes[r, q - 1])
            particle = np.uint64(prefixes[r, 0]) if q > 0 else np.uint64(0)
            base = np.uint64(0)  # component of (s2 … s_{p−1}, 0)
            for s in range(1, q):
                base = (base + np.uint64(prefixes[r, s])) * np.uint64(n)
            m_rest, m_first = _prefix_orbit(prefixes[r], q, p)
            if ck:
                f_rest = scale * math.sqrt(p_fact) if m_rest == p_fact else 0.0
                f_first = scale * math.sqrt(p_fact) if m_first == p_fact else 0.0
            else:
                f_rest = scale * math.sqrt(m_rest)
                f_first = scale * math.sqrt(m_first)
            for t0 in range(lo, hi, LANES):
                count = min(LANES, hi - t0)
                k_start = first + (t0 - lo)
                for j in range(LANES):
                    ctr[0, j] = np.uint32(base + np.uint64(k_start + j))
                    ctr[1, j] = np.uint32(0)
                    ctr[2, j] = c2
                    ctr[3, j] = np.uint32(particle)
                philox_lanes(ctr, 0, seed_lo, seed_hi)
                for j in range(count):
                    w = np.uint64(ctr[0, j])
                    layer = np.int64(w & np.uint64(0x7F))
                    mag = np.float64(w >> np.uint64(8))
                    if mag < _ZK[layer]:
                        z = mag * _ZW[layer]
                        if (w >> np.uint64(7)) & np.uint64(1):
                            z = -z
                    else:
                        z = slow_normal(seed_lo, seed_hi, particle, np.uint64(0),
                                        base + np.uint64(k_start + j), st, w)
                    f = f_first if t0 + j == lo else f_rest
                    out[t0 + j] = z * f


def draw_packed(layout: PackedLayout, seed: int, scale: float, ck: bool, dtype) -> np.ndarray:
    """The packed couplings of degree ``layout.p``, shape (layout.size,), in ``dtype``.

    Parameters
    ----------
    layout : PackedLayout
    seed : int
        Seed in ``[0, 2**64)``.
    scale : float
        ``c N^{−(p−1)/2}`` (ABC) or ``−c N^{−(p−1)/2}/√2`` (CK), c the mixture coefficient.
    ck : bool
        Zero the tuples with a repeated index (CK); else every tuple (ABC).
    dtype : float32 or float64
        Storage; the numbers are drawn in float64 and rounded once.
    """
    seed = rnd.resolve_seed(seed)
    out = np.empty(layout.size, dtype=dtype)  # each z·f is computed in float64, rounded once
    _draw(layout.prefixes, layout.offsets, layout.n, layout.p, np.uint64(seed & rnd.MASK32),
          np.uint64(seed >> 32), coupling_stream(layout.p), float(scale), bool(ck), out)
    return out


def unit_normals_reference(n: int, p: int, seed: int) -> np.ndarray:
    """The normals z of every sorted tuple in layout order, from :func:`sgdsde.random.normals`.

    A NumPy reference for tests (small n): it builds an ``(n, n^{p−1})`` table.
    """
    layout = PackedLayout(n, p)
    table = rnd.normals(seed, np.arange(n), 0, n ** (p - 1), coupling_stream(p))
    rows = np.repeat(np.arange(layout.prefixes.shape[0]), np.diff(layout.offsets))
    first = layout.prefixes[rows, -1].astype(np.int64)
    k = first + (np.arange(layout.size) - layout.offsets[rows])
    comp = np.zeros(layout.size, dtype=np.int64)
    for s in range(1, p - 1):
        comp = comp * n + layout.prefixes[rows, s]
    comp = comp * n + k
    return table[layout.prefixes[rows, 0], comp]


@njit(cache=True)
def _orbit(idx, p):
    orbit = np.int64(1)
    run = np.int64(1)
    for a in range(1, p):
        run = run + 1 if idx[a] == idx[a - 1] else np.int64(1)
        orbit = orbit * (a + 1) // run
    return orbit


@njit(cache=True, parallel=True)
def _unpack(values, prefixes, offsets, perms, n, out):
    n_rows = offsets.size - 1
    q = prefixes.shape[1]
    p = q + 1
    for r in prange(n_rows):
        idx = np.empty(p, dtype=np.int64)
        for s in range(q):
            idx[s] = prefixes[r, s]
        for t in range(offsets[r], offsets[r + 1]):
            idx[q] = prefixes[r, q - 1] + (t - offsets[r])
            v = values[t] / _orbit(idx, p)
            for a in range(perms.shape[0]):  # repeated indices write the same value again
                lin = np.int64(0)
                for s in range(p):
                    lin = lin * n + idx[perms[a, s]]
                out[lin] = v


def unpack_dense(layout: PackedLayout, values: np.ndarray) -> np.ndarray:
    """The symmetric dense tensor K of shape (n,)*p with ``H = Σ K σ⋯σ`` (entry = w / m)."""
    import itertools

    perms = np.array(list(itertools.permutations(range(layout.p))), dtype=np.int64)
    out = np.empty(layout.n**layout.p, dtype=values.dtype)
    _unpack(values, layout.prefixes, layout.offsets, perms, layout.n, out)
    return out.reshape((layout.n,) * layout.p)


@njit(cache=True, inline="always")
def _prefix_product(x, m, prefixes, r, q):
    """``Π_s x[m, a_s]`` over the prefix of row r."""
    prod = x[m, prefixes[r, 0]]
    for s in range(1, q):
        prod *= x[m, prefixes[r, s]]
    return prod


@njit(cache=True, inline="always")
def _close_row(x, g, e, m, prefixes, r, q, prod, row_sum):
    """Add a finished row's energy ``P S`` and its prefix terms ``S Π_{s'≠s} x_{a_s'}``."""
    e[m] += prod * row_sum
    for s in range(q):
        term = row_sum
        for s2 in range(q):
            if s2 != s:
                term *= x[m, prefixes[r, s2]]
        g[m, prefixes[r, s]] += term


@njit(cache=True, inline="always")
def _same_stem(prefixes, r, r2, q):
    """Whether rows r and r2 differ only in their last prefix index (then they are neighbours)."""
    for s in range(q - 1):
        if prefixes[r, s] != prefixes[r2, s]:
            return False
    return True


@njit(cache=True, parallel=True, fastmath=True)
def _contract(values, prefixes, offsets, block_rows, x, g_part, e_part):
    """Per-block partial gradients g_part (B, M, N) and energies e_part (B, M); both zeroed.

    Four neighbouring rows (prefixes that differ only in the last index j, j+1, j+2, j+3)
    are streamed together over their common range k >= j + 3: one load and store of
    ``g[m, k]`` and one load of ``x[m, k]`` serve four entries (measured 1.5-2x faster than
    row by row); the six entries before the common range and lone rows go one by one.
    """
    q = prefixes.shape[1]
    for b in prange(block_rows.size - 1):
        g = g_part[b]
        e = e_part[b]
        r = block_rows[b]
        r_end = block_rows[b + 1]
        while r < r_end:
            first = prefixes[r, q - 1]
            if r + 3 < r_end and _same_stem(prefixes, r, r + 3, q) and first + 3 < x.shape[1]:
                wa = values[offsets[r] + 3: offsets[r + 1]]
                wb = values[offsets[r + 1] + 2: offsets[r + 2]]
                wc = values[offsets[r + 2] + 1: offsets[r + 3]]
                wd = values[offsets[r + 3]: offsets[r + 4]]
                for m in range(x.shape[0]):
                    pa = _prefix_product(x, m, prefixes, r, q)
                    pb = _prefix_product(x, m, prefixes, r + 1, q)
                    pc = _prefix_product(x, m, prefixes, r + 2, q)
                    pd = _prefix_product(x, m, prefixes, r + 3, q)
                    xm = x[m, first + 3:]
                    gm = g[m, first + 3:]
                    sa = xm[0] - xm[0]  # a zero of the couplings' dtype (xm[0] * 0 would be float64)
                    sb = sa
                    sc = sa
                    sd = sa
                    for t in range(wd.size):  # the stream: contiguous k, SIMD over the entries
                        xk = xm[t]
                        sa += wa[t] * xk
                        sb += wb[t] * xk
                        sc += wc[t] * xk
                        sd += wd[t] * xk
                        gm[t] += (wa[t] * pa + wb[t] * pb) + (wc[t] * pc + wd[t] * pd)
                    for t in range(3):  # row r at k = j, j+1, j+2
                        v = values[offsets[r] + t]
                        sa += v * x[m, first + t]
                        g[m, first + t] += v * pa
                    for t in range(2):  # row r+1 at k = j+1, j+2
                        v = values[offsets[r + 1] + t]
                        sb += v * x[m, first + 1 + t]
                        g[m, first + 1 + t] += v * pb
                    v = values[offsets[r + 2]]  # row r+2 at k = j+2
                    sc += v * x[m, first + 2]
                    g[m, first + 2] += v * pc
                    _close_row(x, g, e, m, prefixes, r, q, pa, sa)
                    _close_row(x, g, e, m, prefixes, r + 1, q, pb, sb)
                    _close_row(x, g, e, m, prefixes, r + 2, q, pc, sc)
                    _close_row(x, g, e, m, prefixes, r + 3, q, pd, sd)
                r += 4
                continue
            w = values[offsets[r]: offsets[r + 1]]  # a lone row
            for m in range(x.shape[0]):
                xm = x[m, first:]
                gm = g[m, first:]
                prod = _prefix_product(x, m, prefixes, r, q)
                row_sum = xm[0] - xm[0]
                for t in range(w.size):
                    row_sum += w[t] * xm[t]
                    gm[t] += w[t] * prod
                _close_row(x, g, e, m, prefixes, r, q, prod, row_sum)
            r += 1


def contract(layout: PackedLayout, values: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(H_p(x), ∇H_p(x))`` of a cloud x (M, N) from the packed couplings, in their dtype.

    ``x`` must be C-contiguous in the couplings' dtype.  The cloud is streamed
    :data:`PARTICLES_PER_PASS` particles at a time (each pass reads the tensor from memory
    once); results have shapes (M,) and (M, N).
    """
    m_total, n = x.shape
    dtype = values.dtype
    energy = np.empty(m_total, dtype=dtype)
    grad = np.empty((m_total, n), dtype=dtype)
    n_blocks = layout.block_rows.size - 1
    for lo in range(0, m_total, PARTICLES_PER_PASS):
        hi = min(m_total, lo + PARTICLES_PER_PASS)
        g_part = np.zeros((n_blocks, hi - lo, n), dtype=dtype)
        e_part = np.zeros((n_blocks, hi - lo), dtype=dtype)
        _contract(values, layout.prefixes, layout.offsets, layout.block_rows, x[lo:hi], g_part, e_part)
        g = grad[lo:hi]
        e = energy[lo:hi]
        g[...] = g_part[0]
        e[...] = e_part[0]
        for b in range(1, n_blocks):  # fixed order: independent of the thread count
            g += g_part[b]
            e += e_part[b]
    return energy, grad


@njit(cache=True, parallel=True)
def _hessian(values, prefixes, offsets, x, out):
    q = prefixes.shape[1]
    p = q + 1
    for m in prange(x.shape[0]):
        idx = np.empty(p, dtype=np.int64)
        for r in range(offsets.size - 1):
            for s in range(q):
                idx[s] = prefixes[r, s]
            for t in range(offsets[r], offsets[r + 1]):
                idx[q] = prefixes[r, q - 1] + (t - offsets[r])
                v = values[t]
                for r1 in range(p):
                    for r2 in range(p):
                        if r1 != r2:
                            term = v
                            for s in range(p):
                                if s != r1 and s != r2:
                                    term *= x[m, idx[s]]
                            out[m, idx[r1], idx[r2]] += term


def hessian(layout: PackedLayout, values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``∇²H_p(x)``, shape (M, N, N), from the packed couplings (parallel over particles)."""
    out = np.zeros((x.shape[0], layout.n, layout.n), dtype=values.dtype)
    _hessian(values, layout.prefixes, layout.offsets, np.ascontiguousarray(x, dtype=values.dtype), out)
    return out
