"""p-spin at scale: packed couplings against the dense GEMM path, side by side in one run.

Measured, for p = 3 (issue 17's targets in brackets):

1. the machine's stream bandwidth: a parallel Numba read of a 1 GiB float32 array (the
   bound of a kernel that reads the packed tensor once), and a NumPy copy for reference;
2. drawing the N = 1024 couplings (< 10 s);
3. one gradient of M = 16 particles at N = 1024, float32: the packed stream against its
   bandwidth bound (packed bytes ÷ read bandwidth; >= 70 %) and against the dense GEMM on
   the unpacked 4 GiB tensor (faster than dense; dense within 10 % of its recorded 0.37 s);
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

import numpy as np
from numba import njit, prange

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, describe_machine, markdown_table, record  # noqa: E402

from sgdsde.landscapes.pspin import SphericalPSpin, available_memory_bytes  # noqa: E402

RECORDED_DENSE_SECONDS = 0.37  # issue 17: dense gradient, N = 1024, float32, before this change


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


def headline(n: int, m: int, read_gbs: float, repeat: int) -> tuple[list[list], float]:
    """Draw time, packed vs dense gradient at (N, M) in float32; returns rows and the draw time."""
    start = time.perf_counter()
    model = SphericalPSpin(n, 3, seed=0, dtype=np.float32, path="packed")
    t_draw = time.perf_counter() - start
    x = model.manifold.random(m, n, seed=1, dtype=np.float32)
    model.grad(x)
    t_packed = best_time(lambda: model.grad(x), repeat)
    bound = model.couplings[3].nbytes / (read_gbs * 1e9)
    rows = [["packed", f"{model.couplings[3].nbytes / 2**30:.2f}", f"{t_packed * 1e3:.0f}",
             f"{bound * 1e3:.0f}", f"{bound / t_packed:.0%}"]]
    free = available_memory_bytes()
    dense_bytes = n**3 * 4
    if free is None or 1.2 * dense_bytes < free:
        start = time.perf_counter()
        model.dense_couplings()
        t_unpack = time.perf_counter() - start
        model.path = "dense"
        model.grad(x)
        t_dense = best_time(lambda: model.grad(x), repeat)
        rows.append(["dense", f"{dense_bytes / 2**30:.2f}", f"{t_dense * 1e3:.0f}",
                     f"{dense_bytes / (read_gbs * 1e9) * 1e3:.0f}",
                     f"{dense_bytes / (read_gbs * 1e9) / t_dense:.0%}"])
        rows.append(["dense / packed", "", f"{t_dense / t_packed:.2f}", "", ""])
        if n == 1024:
            rows.append(["dense / recorded 0.37 s", "", f"{t_dense / RECORDED_DENSE_SECONDS:.2f}", "", ""])
        rows.append([f"(unpacking the dense tensor: {t_unpack:.1f} s)", "", "", "", ""])
    else:
        rows.append(["dense", f"{dense_bytes / 2**30:.2f}", "—", "", "does not fit in MemAvailable"])
    return rows, t_draw


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
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per contender (best is kept)")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        large_child(*args.child)
        return

    load_before = os.getloadavg()
    read_gbs, copy_gbs = stream_bandwidth(2**26 if args.quick else 2**30, args.repeat)
    print(f"read {read_gbs:.1f} GB/s, copy {copy_gbs:.1f} GB/s", flush=True)
    n_head, m_head = (256, 16) if args.quick else (1024, 16)
    head, t_draw = headline(n_head, m_head, read_gbs, args.repeat)
    print(head, f"draw {t_draw:.2f} s", flush=True)
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

    load = (f"Load average (1, 5, 15 min) {load_before[0]:.1f}, {load_before[1]:.1f}, {load_before[2]:.1f} "
            f"before and {load_after[0]:.1f}, {load_after[1]:.1f}, {load_after[2]:.1f} after: "
            "8 agents shared these 2 cores during the run, so every time is inflated by an unknown, "
            "varying factor (the recorded dense figure was taken on a quieter machine).")
    body = (f"{load}\n\nStream bandwidth: parallel read {read_gbs:.1f} GB/s (Numba sum of 1 GiB float32), "
            f"NumPy copy {copy_gbs:.1f} GB/s (read + write).\n\n"
            f"Drawing the N = {n_head}, p = 3 couplings (float32, packed): {t_draw:.2f} s.\n\n"
            f"One gradient, N = {n_head}, M = {m_head}, float32 (bound = bytes read ÷ read bandwidth):\n\n"
            + markdown_table(["path", "GiB read", "ms", "bound (ms)", "bound / time"], head)
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
