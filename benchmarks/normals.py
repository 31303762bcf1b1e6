"""Candidates for the fused kernels' normal generator, measured in one run (issue 17, item 4).

Each candidate draws the normals of a 1-D Euler–Maruyama run (``--particles`` particles,
``--steps`` steps: case A of ``langevin_toy.py``) ``LANES`` particles at a time on all Numba
threads, and sums them so that nothing is optimised away:

* ``ziggurat (current)`` — :func:`sgdsde._random_numba.fill_noise_lanes`, float64, the
  generator of the fused kernels (bit for bit the NumPy reference and the CUDA source);
* ``ziggurat before issue 17 item 4`` — the previous version of that generator (same
  numbers), kept here so that the gain is measured in one run;
* ``ziggurat, float32 buffer`` — the same generator writing into a float32 buffer: each
  number rounded once, as ``sgdsde.random.normals(..., dtype=np.float32)`` rounds it;
* ``ziggurat fast path only`` — no check for the 2.8 % of draws that need more bits: a wrong
  law, kept as the floor of the ziggurat's arithmetic;
* ``Box–Muller`` — the same Philox words turned into normals by ``sqrt(−2 ln u1)·cos/sin(2π u2)``
  (a different sequence: not bit-compatible with the reference, cost only);
* ``Philox bits only`` — the four words per call, converted and summed: the floor of any
  generator built on this counter-based cipher;
* ``NumPy rng.standard_normal`` — NumPy's own generator, for scale.

The table gives ns per normal (wall time ÷ normals, all threads) and the ratio to the current
ziggurat.  ``python benchmarks/normals.py [--quick] [--record]``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, markdown_table, record  # noqa: E402

from sgdsde._random_numba import LANES, fill_noise_lanes, noise_scratch, philox_lanes, slow_normal  # noqa: E402
from sgdsde.random import ZIGGURAT_K, ZIGGURAT_W  # noqa: E402

_ZK = ZIGGURAT_K.copy()
_ZW = ZIGGURAT_W.copy()
_ZK32 = ZIGGURAT_K.astype(np.float32)
_ZW32 = ZIGGURAT_W.astype(np.float32)


@njit(cache=True, inline="always")
def _fill_counters(ctr, first, block):
    for j in range(LANES):
        ctr[0, j] = np.uint32(0)  # component 0 (a 1-D cloud)
        ctr[1, j] = np.uint32(block)
        ctr[2, j] = np.uint32(0)  # stream 0
        ctr[3, j] = np.uint32(first + j)


@njit(cache=True, inline="always")
def _philox_words(ctr, first, block, seed):
    """The 4 x LANES Philox words of particles ``first, …, first + LANES − 1`` at counter block
    ``block`` (component 0, stream 0) under key ``seed``, written into ``ctr``."""
    _fill_counters(ctr, first, block)
    philox_lanes(ctr, 0, np.uint64(seed) & np.uint64(0xFFFFFFFF), np.uint64(seed) >> np.uint64(32))


@njit(cache=True, parallel=True)
def ziggurat_current(n_particles, n_steps, seed):
    k0 = np.uint64(seed) & np.uint64(0xFFFFFFFF)
    k1 = np.uint64(seed) >> np.uint64(32)
    total = 0.0
    for gi in prange((n_particles + LANES - 1) // LANES):
        lo = gi * LANES
        buf = np.empty((1, 4, LANES))
        ctr = noise_scratch()
        acc = np.zeros(LANES)
        for n in range(0, n_steps, 4):
            fill_noise_lanes(buf, ctr, k0, k1, np.uint64(lo), min(LANES, n_particles - lo),
                             np.uint64(n >> 2), np.uint64(0))
            for s in range(4):
                for j in range(LANES):
                    acc[j] += buf[0, s, j]
        total += acc.sum()
    return total


@njit(cache=True, parallel=True)
def ziggurat_float32(n_particles, n_steps, seed):
    k0 = np.uint64(seed) & np.uint64(0xFFFFFFFF)
    k1 = np.uint64(seed) >> np.uint64(32)
    total = 0.0
    for gi in prange((n_particles + LANES - 1) // LANES):
        lo = gi * LANES
        buf = np.empty((1, 4, LANES), np.float32)
        ctr = noise_scratch()
        acc = np.zeros(LANES, np.float32)
        for n in range(0, n_steps, 4):
            fill_noise_lanes(buf, ctr, k0, k1, np.uint64(lo), min(LANES, n_particles - lo),
                             np.uint64(n >> 2), np.uint64(0))
            for s in range(4):
                for j in range(LANES):
                    acc[j] += buf[0, s, j]
        total += acc.sum()
    return total


@njit(cache=True, inline="always")
def _fill_previous(buf, ctr, k0, k1, first_particle, n_lanes, block, stream):
    """The generator before issue 17 item 4 (commit 366bc31), kept to be timed in the same run:
    one flag for the whole block, then a scalar pass over all 4 x LANES words that calls the
    scalar ``slow_normal`` (its own Philox call) for each slow word."""
    c1 = np.uint32(block & np.uint64(0xFFFFFFFF))
    c2 = np.uint32(((block >> np.uint64(32)) & np.uint64(0xFFFF)) | (stream << np.uint64(16)))
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
        if slow:
            step0 = block << np.uint64(2)
            for s in range(4):
                for j in range(n_lanes):
                    w = np.uint64(ctr[s, j])
                    if np.float64(w >> np.uint64(8)) >= _ZK[np.int64(w & np.uint64(0x7F))]:
                        buf[k, s, j] = slow_normal(k0, k1, np.uint64(first_particle) + np.uint64(j),
                                                   step0 + np.uint64(s), np.uint64(k), stream, w)


@njit(cache=True, parallel=True)
def ziggurat_previous(n_particles, n_steps, seed):
    k0 = np.uint64(seed) & np.uint64(0xFFFFFFFF)
    k1 = np.uint64(seed) >> np.uint64(32)
    total = 0.0
    for gi in prange((n_particles + LANES - 1) // LANES):
        lo = gi * LANES
        buf = np.empty((1, 4, LANES))
        ctr = np.empty((4, LANES), np.uint32)
        acc = np.zeros(LANES)
        for n in range(0, n_steps, 4):
            _fill_previous(buf, ctr, k0, k1, np.uint64(lo), min(LANES, n_particles - lo),
                           np.uint64(n >> 2), np.uint64(0))
            for s in range(4):
                for j in range(LANES):
                    acc[j] += buf[0, s, j]
        total += acc.sum()
    return total


@njit(cache=True, parallel=True, fastmath=True)
def ziggurat_fast_path_only(n_particles, n_steps, seed):
    total = 0.0
    for gi in prange((n_particles + LANES - 1) // LANES):
        lo = gi * LANES
        ctr = np.empty((4, LANES), np.uint32)
        acc = np.zeros(LANES, np.float32)
        for n in range(0, n_steps, 4):
            _philox_words(ctr, lo, n >> 2, seed)
            for s in range(4):
                for j in range(LANES):
                    w = ctr[s, j]
                    x = np.float32(w >> np.uint32(8)) * _ZW32[w & np.uint32(0x7F)]
                    acc[j] += -x if (w >> np.uint32(7)) & np.uint32(1) else x
        total += acc.sum()
    return total


@njit(cache=True, parallel=True, fastmath=True)
def box_muller(n_particles, n_steps, seed):
    total = 0.0
    two_pi = 2.0 * math.pi
    for gi in prange((n_particles + LANES - 1) // LANES):
        lo = gi * LANES
        ctr = np.empty((4, LANES), np.uint32)
        acc = np.zeros(LANES)
        for n in range(0, n_steps, 4):
            _philox_words(ctr, lo, n >> 2, seed)
            for s in range(0, 4, 2):
                for j in range(LANES):
                    u1 = (np.float64(ctr[s, j]) + 0.5) * 2.0**-32
                    u2 = (np.float64(ctr[s + 1, j]) + 0.5) * 2.0**-32
                    r = math.sqrt(-2.0 * math.log(u1))
                    acc[j] += r * math.cos(two_pi * u2) + r * math.sin(two_pi * u2)
        total += acc.sum()
    return total


@njit(cache=True, parallel=True, fastmath=True)
def philox_bits_only(n_particles, n_steps, seed):
    total = 0.0
    for gi in prange((n_particles + LANES - 1) // LANES):
        lo = gi * LANES
        ctr = np.empty((4, LANES), np.uint32)
        acc = np.zeros(LANES, np.float32)
        for n in range(0, n_steps, 4):
            _philox_words(ctr, lo, n >> 2, seed)
            for s in range(4):
                for j in range(LANES):
                    acc[j] += np.float32(ctr[s, j])
        total += acc.sum()
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1e4 particles x 400 steps")
    parser.add_argument("--particles", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.particles, args.steps = 10_000, 400
    m, n = args.particles, args.steps
    count = m * n
    load_before = os.getloadavg()
    candidates = {
        "ziggurat (current, float64)": lambda: ziggurat_current(m, n, 7),
        "ziggurat before issue 17 item 4 (float64, same numbers)": lambda: ziggurat_previous(m, n, 7),
        "ziggurat, float32 buffer (the reference's float32 numbers)": lambda: ziggurat_float32(m, n, 7),
        "ziggurat fast path only (wrong law: floor)": lambda: ziggurat_fast_path_only(m, n, 7),
        "Box–Muller from the same words (not bit-compatible)": lambda: box_muller(m, n, 7),
        "Philox bits only (floor of the cipher)": lambda: philox_bits_only(m, n, 7),
    }
    times = {}
    for name, fn in candidates.items():
        fn()  # compile / load the cache
        times[name] = best_time(fn, args.repeat)
        print(f"{name}: {times[name] / count * 1e9:.3f} ns per normal", flush=True)
    rng = np.random.default_rng(7)
    numpy_name = "NumPy rng.standard_normal (one thread)"
    times[numpy_name] = best_time(lambda: rng.standard_normal(count), args.repeat)
    totals = {ziggurat_current(m, n, 7), ziggurat_previous(m, n, 7)}
    if len(totals) != 1:
        raise AssertionError(f"current and previous generators disagree: {totals}")
    ref = times["ziggurat (current, float64)"]
    rows = [[name, f"{t / count * 1e9:.3f}", f"{t / ref:.2f}"] for name, t in times.items()]
    load_after = os.getloadavg()
    body = (f"{m} particles x {n} steps = {count:.1e} normals (case A of langevin_toy.py), best of "
            f"{args.repeat}; load average {load_before[0]:.1f} before and {load_after[0]:.1f} after "
            "(the 2 cores are shared with other agents: ratios within this run are the reliable part).\n\n"
            + markdown_table(["candidate", "ns per normal (wall, all threads)", "÷ current"], rows))
    print(body)
    if args.record:
        record("Normal generator candidates (benchmarks/normals.py" + (" --quick)" if args.quick else ")"),
               body)


if __name__ == "__main__":
    main()
