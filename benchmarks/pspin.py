"""p-spin at scale: packed couplings against the dense GEMM path, side by side in one run.

Measured, for p = 3 (issue 17's targets in brackets):

1. the machine's two roofs: stream bandwidth (a parallel Numba read of a 1 GiB float32
   array, the bound of a kernel that reads the packed tensor once, and a NumPy copy for
   reference) and float32 multiply-add rate (independent register-resident FMA chains on every
   Numba thread, and a 2048^3 NumPy/BLAS sgemm for reference);
2. drawing the N = 1024 couplings (< 10 s);
3. one gradient of M = 16 particles at N = 1024, float32, the contenders timed in turn
   (medians over ``--repeat`` rounds): the packed stream against its bandwidth bound (packed
   bytes ÷ read bandwidth; >= 70 %) and its arithmetic bound (2 M multiply-adds per entry ÷
   FMA rate), against the dense GEMM on the unpacked 4 GiB tensor (faster than dense), and the
   dense path against the record's case re-measured in the same rounds: the pre-packed code's
   dense gradient (commit 8b966e6) on the same tensor (dense within 10 % of its record), with
   the (64, N²) x (N², N) GEMM rate against the one recorded in November (the machine's speed);
4. packed against dense over a grid of N <= 256 and M <= 256: the data of the ``path="auto"`` rule;
5. N = 2048 in float32 (within 24 GB): memory figures, build time, peak RSS of a child
   process, one gradient.

    python benchmarks/pspin.py --quick     # small sizes: a check that it runs (seconds)
    python benchmarks/pspin.py             # the issue's sizes (needs ~6 GiB free; minutes)
    python benchmarks/pspin.py --record    # ... and append the tables to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, describe_machine, markdown_table, record  # noqa: E402

from sgdsde.landscapes.pspin import SphericalPSpin, _outer_powers, available_memory_bytes  # noqa: E402

RECORDED_DENSE_SECONDS = 0.37  # issue 17: dense gradient, N = 1024, float32, before this change
# RESULTS.md, 2026-11-22: (64, N²) x (N², N) float32 GEMM at N = 1000, counting 2 M N³ flops
RECORDED_GEMM_GFLOPS = 199.9
FMA_CHAINS = 96  # float32 accumulators per thread: 12 AVX2 registers, more than FMA latency x ports


@njit(parallel=True, fastmath=True, cache=True)
def _read_sum(a, n_blocks):
    out = np.zeros(n_blocks, dtype=a.dtype)
    step = (a.size + n_blocks - 1) // n_blocks
    for b in prange(n_blocks):
        chunk = a[b * step: min(a.size, (b + 1) * step)]  # a slice from 0: the loop vectorises
        s = a[0] - a[0]
        for i in range(chunk.size):
            s += chunk[i]
        out[b] = s
    return out


@njit(fastmath={"contract"}, cache=True)
def _fma_chains(n_steps, a0):
    """``n_steps`` x FMA_CHAINS independent float32 multiply-adds (one thread, in registers).

    Only contraction to FMA is allowed: with reassociation LLVM could fold two steps into one.
    """
    acc = np.empty(FMA_CHAINS, dtype=np.float32)
    for c in range(FMA_CHAINS):
        acc[c] = a0 + np.float32(c) * np.float32(1e-7)
    b = np.float32(0.999999)
    d = np.float32(1e-7)
    for _ in range(n_steps):
        for c in range(FMA_CHAINS):
            acc[c] = acc[c] * b + d
    return acc.sum()


@njit(parallel=True, cache=True)
def _fma_all_threads(n_steps, n_threads, a0):
    out = np.zeros(n_threads, dtype=np.float32)
    for t in prange(n_threads):
        out[t] = _fma_chains(n_steps, a0)
    return out


def fma_peak(repeat: int, n_steps: int = 10_000_000) -> tuple[float, float]:
    """(float32 GFMA/s of the FMA chains on all Numba threads, of a 2048³ NumPy sgemm)."""
    threads = numba.get_num_threads()
    _fma_all_threads(10, threads, np.float32(1.0))
    t_fma = best_time(lambda: _fma_all_threads(n_steps, threads, np.float32(1.0)), repeat)
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    a @ a
    t_gemm = best_time(lambda: a @ a, repeat)
    return threads * n_steps * FMA_CHAINS / t_fma / 1e9, 2048**3 / t_gemm / 1e9


def stream_bandwidth(n_bytes: int, repeat: int) -> tuple[float, float]:
    """(read GB/s of a parallel Numba sum, NumPy copy GB/s counting read + write)."""
    a = np.ones(n_bytes // 4, dtype=np.float32)
    _read_sum(a[:1024], 64)
    t_read = best_time(lambda: _read_sum(a, 64), repeat)
    b = np.empty_like(a)
    t_copy = best_time(lambda: np.copyto(b, a), repeat)
    return a.nbytes / t_read / 1e9, 2 * a.nbytes / t_copy / 1e9


def _time_paths(n: int, dtype, ms, repeat: int) -> list[list]:
    """Rows (N, dtype, M, packed ms, dense ms, dense/packed) for one model and several M."""
    model = SphericalPSpin(n, 3, seed=0, dtype=dtype, path="packed")
    model.dense_couplings()
    rows = []
    for m in ms:
        x = model.manifold.random(m, n, seed=1, dtype=dtype)
        model.path = "packed"
        model.grad(x)
        t_packed = best_time(lambda: model.grad(x), repeat)  # noqa: B023
        model.path = "dense"
        model.grad(x)
        t_dense = best_time(lambda: model.grad(x), repeat)  # noqa: B023
        rows.append([n, np.dtype(dtype).name, m, f"{t_packed * 1e3:.2f}", f"{t_dense * 1e3:.2f}",
                     f"{t_dense / t_packed:.2f}"])
        print(rows[-1], flush=True)
    return rows


def legacy_dense_energy_and_grad(k_mat: np.ndarray, x: np.ndarray, p: int = 3):
    """The dense gradient of the code before the packed couplings (commit 8b966e6), verbatim in
    substance: one GEMM ``x^{⊗(p−1)} K_matᵀ`` (M = 16 is one chunk of its 512 MiB workspace),
    the energy ``x·g`` and the gradient ``p g``.  The record's case, re-measured in this run."""
    g = np.matmul(_outer_powers(x, p - 1), k_mat.T)
    return np.einsum("mi,mi->m", x, g), p * g


def _median_ms(times: list[float]) -> float:
    return float(np.median(times)) * 1e3


def headline(n: int, m: int, read_gbs: float, fma_gfmas: float,
             repeat: int) -> tuple[list[list], float, list]:
    """Draw time and one gradient at (N, M) in float32: packed, dense, the record's dense code.

    The contenders are timed in turn, ``repeat`` rounds, and the medians kept, so a change of
    load hits all of them.  Returns the table rows, the draw time and the GEMM-speed row.
    """
    start = time.perf_counter()
    model = SphericalPSpin(n, 3, seed=0, dtype=np.float32, path="packed")
    t_draw = time.perf_counter() - start
    x = model.manifold.random(m, n, seed=1, dtype=np.float32)
    packed_bytes = model.couplings[3].nbytes
    packed_fmas = 2 * m * model.couplings[3].size  # per entry and particle: row sum and gradient
    model.grad(x)
    free = available_memory_bytes()
    dense_bytes = n**3 * 4
    fits = free is None or 1.2 * dense_bytes < free

    def grad_on(path):
        model.path = path
        return model.grad(x)

    contenders = {"packed": lambda: grad_on("packed")}
    small = [k for k in (1, 4) if k < m]  # where the arithmetic is below the bandwidth time
    for k in small:
        contenders[f"packed, M = {k}"] = lambda k=k: model.grad(x[:k])
    gemm = []
    if fits:
        start = time.perf_counter()
        k_mat = model.dense_couplings().reshape(n, -1)
        t_unpack = time.perf_counter() - start
        contenders["dense"] = lambda: grad_on("dense")
        contenders["dense, pre-packed code (8b966e6)"] = lambda: legacy_dense_energy_and_grad(k_mat, x)
        g_dense = grad_on("dense")  # the two dense codes compute the same gradient
        np.testing.assert_allclose(legacy_dense_energy_and_grad(k_mat, x)[1], g_dense, rtol=0,
                                   atol=1e-5 * float(np.abs(g_dense).max()))
        y64 = _outer_powers(model.manifold.random(64, n, seed=2, dtype=np.float32), 2)
        np.matmul(y64, k_mat.T)
        t_gemm = best_time(lambda: np.matmul(y64, k_mat.T), repeat)
        gemm_gflops = 2 * 64 * n**3 / t_gemm / 1e9
        slowdown = RECORDED_GEMM_GFLOPS / gemm_gflops  # the machine's, measured on the dense path's GEMM
        gemm = [f"{gemm_gflops:.1f}", f"{RECORDED_GEMM_GFLOPS:.1f}",
                f"{slowdown:.2f}"]
        del y64
    times = {name: [] for name in contenders}
    for fn in contenders.values():
        fn()
    for _ in range(repeat):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    ms = {name: _median_ms(t) for name, t in times.items()}

    def row(name, n_bytes, fmas):
        t_bw = n_bytes / (read_gbs * 1e9) * 1e3
        t_fma = fmas / (fma_gfmas * 1e9) * 1e3
        spread = f"{min(times[name]) * 1e3:.0f}–{max(times[name]) * 1e3:.0f}"
        return [name, f"{n_bytes / 2**30:.2f}", f"{fmas / 1e9:.2f}", f"{ms[name]:.0f}", spread,
                f"{t_bw:.0f}", f"{t_fma:.0f}", f"{t_bw / ms[name]:.0%}", f"{max(t_bw, t_fma) / ms[name]:.0%}"]

    rows = [row("packed", packed_bytes, packed_fmas)]
    rows += [row(f"packed, M = {k}", packed_bytes, packed_fmas * k // m) for k in small]
    if fits:
        rows.append(row("dense", dense_bytes, m * n**3))
        rows.append(row("dense, pre-packed code (8b966e6)", dense_bytes, m * n**3))
        rows.append(["dense / packed", "", "", f"{ms['dense'] / ms['packed']:.2f}", "", "", "", "", ""])
        rows.append(["dense / pre-packed code, same rounds", "", "",
                     f"{ms['dense'] / ms['dense, pre-packed code (8b966e6)']:.2f}", "", "", "", "", ""])
        if n == 1024:
            rows.append([f"dense / recorded {RECORDED_DENSE_SECONDS} s", "", "",
                         f"{ms['dense'] / 1e3 / RECORDED_DENSE_SECONDS:.2f}", "", "", "", "", ""])
            rows.append([f"dense / (recorded {RECORDED_DENSE_SECONDS} s x GEMM slow-down {slowdown:.2f})",
                         "", "", f"{ms['dense'] / 1e3 / (RECORDED_DENSE_SECONDS * slowdown):.2f}",
                         "", "", "", "", ""])
        rows.append([f"(unpacking the dense tensor: {t_unpack:.1f} s)", "", "", "", "", "", "", "", ""])
        del k_mat
    else:
        rows.append(["dense", f"{dense_bytes / 2**30:.2f}", "", "—", "", "", "", "",
                     "does not fit in MemAvailable"])
    model._dense.clear()
    return rows, t_draw, gemm


def large_child(n: int, m: int) -> None:
    """Run in a child process: build N in float32, one gradient; print JSON (RSS of this process)."""
    need = SphericalPSpin.memory_needed(n, 3, np.float32)
    start = time.perf_counter()
    model = SphericalPSpin(n, 3, seed=0, dtype=np.float32)
    t_build = time.perf_counter() - start
    x = model.manifold.random(m, n, seed=1, dtype=np.float32)
    start = time.perf_counter()
    model.grad(x)
    t_grad = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"need": need, "build": t_build, "grad": t_grad, "rss": rss,
                      "couplings": model.memory_bytes}))


def large(n: int, m: int) -> list:
    need = SphericalPSpin.memory_needed(n, 3, np.float32)
    free = available_memory_bytes()
    if free is not None and need["peak"] > free:
        return [n, f"{need['peak'] / 2**30:.2f}", "—", "—", "—", f"does not fit: {free / 2**30:.1f} GiB free"]
    out = subprocess.run([sys.executable, __file__, "--child", str(n), str(m)], capture_output=True,
                         text=True, check=True, env=os.environ)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return [n, f"{r['need']['peak'] / 2**30:.2f}", f"{r['couplings'] / 2**30:.2f}", f"{r['rss'] / 2**30:.2f}",
            f"{r['build']:.1f}", f"{r['grad']:.2f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a check that it runs)")
    parser.add_argument("--record", action="store_true", help="append the tables to benchmarks/RESULTS.md")
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed calls per contender (the headline keeps the median, the grid the best)")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        large_child(*args.child)
        return

    load_before = os.getloadavg()
    read_gbs, copy_gbs = stream_bandwidth(2**26 if args.quick else 2**30, args.repeat)
    fma_gfmas, sgemm_gfmas = fma_peak(args.repeat, 10**6 if args.quick else 10**7)
    print(f"read {read_gbs:.1f} GB/s, copy {copy_gbs:.1f} GB/s; FMA {fma_gfmas:.1f} GFMA/s, "
          f"sgemm {sgemm_gfmas:.1f} GFMA/s; load {os.getloadavg()}", flush=True)
    n_head, m_head = (256, 16) if args.quick else (1024, 16)
    head, t_draw, gemm = headline(n_head, m_head, read_gbs, fma_gfmas, args.repeat)
    print(head, gemm, f"draw {t_draw:.2f} s; load {os.getloadavg()}", flush=True)
    load_head = os.getloadavg()
    gc.collect()
    grid = []
    sizes = ((64, 128) if args.quick else (64, 128, 256))
    ms = (1, 16, 256) if args.quick else (1, 4, 16, 64, 256)
    for n in sizes:
        for dtype in (np.float32, np.float64):
            grid += _time_paths(n, dtype, ms, args.repeat)
            gc.collect()
    big = large(512 if args.quick else 2048, m_head)
    print(big, flush=True)
    load_after = os.getloadavg()

    balance = read_gbs * 1e9 / 4 * 2 * m_head / (fma_gfmas * 1e9)  # arithmetic / bandwidth time
    load = (f"Load average (1, 5, 15 min) {load_before[0]:.1f}, {load_before[1]:.1f}, {load_before[2]:.1f} "
            f"before, {load_head[0]:.1f}, {load_head[1]:.1f}, {load_head[2]:.1f} after the headline table, "
            f"{load_after[0]:.1f}, {load_after[1]:.1f}, {load_after[2]:.1f} at the end (2 cores shared "
            "with other agents: compare contenders within a table, not across runs).")
    body = (f"{load}\n\nRoofs: parallel read {read_gbs:.1f} GB/s (Numba sum of 1 GiB float32), "
            f"NumPy copy {copy_gbs:.1f} GB/s (read + write); float32 multiply-adds {fma_gfmas:.1f} GFMA/s "
            f"({FMA_CHAINS} register-resident chains per Numba thread), NumPy sgemm 2048³ "
            f"{sgemm_gfmas:.1f} GFMA/s.  The packed gradient does 2 M multiply-adds per 4-byte entry, "
            f"so at M = {m_head} its arithmetic time is {balance:.2f}x its bandwidth time: even at the FMA "
            f"peak it could reach only {min(1.0, 1 / balance):.0%} of the bandwidth bound.\n\n"
            f"Drawing the N = {n_head}, p = 3 couplings (float32, packed): {t_draw:.2f} s.\n\n"
            f"One gradient, N = {n_head}, M = {m_head}, float32; median and range of {args.repeat} rounds "
            "with the contenders in turn; bandwidth bound = bytes ÷ read bandwidth, arithmetic bound = "
            "multiply-adds ÷ FMA rate, roof = the larger:\n\n"
            + markdown_table(["path", "GiB read", "G multiply-adds", "ms (median)", "range (ms)",
                              "bandwidth bound (ms)", "arithmetic bound (ms)", "bandwidth bound / time",
                              "roof / time"], head)
            + ("\n\nThe machine's speed against November: (64, N²) x (N², N) float32 GEMM at N = "
               f"{n_head}: {gemm[0]} GFLOP/s now, {gemm[1]} recorded (N = 1000), ratio {gemm[2]}."
               if gemm else "")
            + "\n\nPacked stream against dense GEMM, gradient time per call (the `path=\"auto\"` data):\n\n"
            + markdown_table(["N", "dtype", "M", "packed (ms)", "dense (ms)", "dense / packed"], grid)
            + "\n\nLarge N in float32 (child process; peak RSS includes Python and Numba):\n\n"
            + markdown_table(["N", "memory_needed peak (GiB)", "couplings (GiB)", "peak RSS (GiB)",
                              "build (s)", "gradient M = 16 (s)"], [big]))
    print(f"\n{describe_machine()}\n\n{body}")
    if args.record:
        record("p-spin packed couplings vs dense GEMM (benchmarks/pspin.py"
               + (" --quick)" if args.quick else ")"), body)


if __name__ == "__main__":
    main()
