"""Candidates for the fused kernels' normal generator, measured in one run (issue 17, item 4).

Each candidate draws the normals of a 1-D Euler–Maruyama run (``--particles`` particles,
``--steps`` steps: case A of ``langevin_toy.py``) ``LANES`` particles at a time on all Numba
threads, and sums them so that nothing is optimised away:

* ``ziggurat (current)`` — :func:`sgdsde._random_numba.fill_noise_lanes`, float64, the
  generator of the fused kernels (bit for bit the NumPy reference and the CUDA source);
* ``ziggurat, float32 output`` — the same words and numbers, rounded to float32 as they are
  stored (what a float32 cloud would consume; the same law, the same bits up to rounding);
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

from sgdsde._random_numba import LANES, fill_noise_lanes, noise_scratch, philox_lanes  # noqa: E402
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
        buf = np.empty((1, 4, LANES))
        out = np.empty((4, LANES), np.float32)
        ctr = noise_scratch()
        acc = np.zeros(LANES, np.float32)
        for n in range(0, n_steps, 4):
            fill_noise_lanes(buf, ctr, k0, k1, np.uint64(lo), min(LANES, n_particles - lo),
                             np.uint64(n >> 2), np.uint64(0))
            for s in range(4):
                for j in range(LANES):
                    out[s, j] = np.float32(buf[0, s, j])
            for s in range(4):
                for j in range(LANES):
                    acc[j] += out[s, j]
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
        "ziggurat, float32 output": lambda: ziggurat_float32(m, n, 7),
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
    ref = times["ziggurat (current, float64)"]
    rows = [[name, f"{t / count * 1e9:.3f}", f"{t / ref:.2f}"] for name, t in times.items()]
    load_after = os.getloadavg()
    body = (f"{m} particles x {n} steps = {count:.1e} normals (case A of langevin_toy.py), best of "
            f"{args.repeat}; load average {load_before[0]:.1f} before and {load_after[0]:.1f} after "
            "(8 agents shared the 2 cores: ratios within this run are the reliable part).\n\n"
            + markdown_table(["candidate", "ns per normal (wall, all threads)", "÷ current"], rows))
    print(body)
    if args.record:
        record("Normal generator candidates (benchmarks/normals.py" + (" --quick)" if args.quick else ")"),
               body)


if __name__ == "__main__":
    main()
