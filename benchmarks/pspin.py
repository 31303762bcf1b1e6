"""p-spin batched gradient: GFLOP/s against this machine's GEMM of the same shape, in one run.

For N = 256, 512, 1000 (p = 3, float32 and float64, M = 64 particles) the landscape's
gradient ``∇H = 3 (x ⊗ x) K_matᵀ`` is timed next to the bare GEMM ``A K_matᵀ`` of the same
shape (A random, (M, N²); K_mat the model's own (N, N²) couplings, so no second tensor is
allocated).  Both count ``2 M N³`` flops; the ratio is the share of GEMM speed the gradient
keeps (target >= 70 %).  A second table times small clouds (M = 1, 4, 16) on the BLAS path
and on the Numba kernel that reads only the sorted entries (``small_batch=``).

    python benchmarks/pspin.py --quick     # N = 128, 256: a check that it runs
    python benchmarks/pspin.py             # the issue's sizes (N = 1000 needs 8.6 GB in float64)
    python benchmarks/pspin.py --record    # ... and append the tables to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, describe_machine, markdown_table, record  # noqa: E402

from sgdsde.landscapes.pspin import SphericalPSpin, available_memory_bytes  # noqa: E402


def _fits(n, dtype) -> bool:
    need = SphericalPSpin.memory_needed(n, 3, dtype)["peak"] + 64 * n * n * np.dtype(dtype).itemsize
    free = available_memory_bytes()
    return free is None or need < free


def measure(n: int, dtype, m: int, repeat: int, small: bool) -> tuple[list, list]:
    """One size: a row of the M = 64 table and, if ``small``, rows of the small-cloud table."""
    name = np.dtype(dtype).name
    if not _fits(n, dtype):
        return [n, name, "—", "—", "—", "—", "does not fit in MemAvailable"], []
    start = time.perf_counter()
    model = SphericalPSpin(n, 3, seed=0, dtype=dtype)
    build = time.perf_counter() - start
    x = model.manifold.random(m, n, seed=1, dtype=dtype)
    k_mat = model.couplings[3].reshape(n, -1)
    a = np.random.default_rng(2).standard_normal((m, n * n)).astype(dtype)
    flops = 2.0 * m * n**3
    t_grad = best_time(lambda: model.grad(x), repeat)
    t_gemm = best_time(lambda: a @ k_mat.T, repeat)
    row = [n, name, f"{build:.1f}", f"{flops / t_grad / 1e9:.1f}", f"{flops / t_gemm / 1e9:.1f}",
           f"{t_gemm / t_grad:.0%}", ""]
    small_rows = []
    for mm in (1, 4, 16) if small else ():
        xs = x[:mm].copy()
        model.small_batch = 0
        t_blas = best_time(lambda: model.grad(xs), repeat)  # noqa: B023
        model.small_batch = mm
        t_numba = best_time(lambda: model.grad(xs), repeat)  # noqa: B023
        small_rows.append([n, name, mm, f"{t_blas * 1e3:.2f}", f"{t_numba * 1e3:.2f}",
                           f"{t_blas / t_numba:.2f}"])
    return row, small_rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a check that it runs)")
    parser.add_argument("--record", action="store_true", help="append the tables to benchmarks/RESULTS.md")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per contender (best is kept)")
    args = parser.parse_args(argv)

    sizes = (128, 256) if args.quick else (256, 512, 1000)
    m = 64
    rows, small_rows = [], []
    for n in sizes:
        for dtype in (np.float32, np.float64):
            row, small = measure(n, dtype, m, args.repeat, small=True)
            rows.append(row)
            small_rows += small
            print(row, *small, sep="\n", flush=True)
            gc.collect()

    table = markdown_table(["N", "dtype", "build (s)", "gradient GFLOP/s", "GEMM GFLOP/s",
                            "gradient / GEMM", "note"], rows)
    small = markdown_table(["N", "dtype", "M", "BLAS path (ms)", "Numba sorted entries (ms)",
                            "speed-up"], small_rows)
    body = (f"p = 3, M = {m} particles; GFLOP/s count 2 M N³ flops per gradient; GEMM is "
            f"(M, N²) × (N², N) on the model's own couplings; best of {args.repeat}.\n\n{table}\n\n"
            f"Small clouds, gradient time per call:\n\n{small}")
    print(f"\n{describe_machine()}\n\n{body}")
    if args.record:
        record("p-spin batched gradient vs GEMM (benchmarks/pspin.py"
               + (" --quick)" if args.quick else ")"), body)


if __name__ == "__main__":
    main()
