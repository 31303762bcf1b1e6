"""The CuPy GPU backend on an H100/H200: toy clouds and batched p-spin gradients, in one run.

Toy clouds (target: >= 1e10 particle-steps/s at 1e7 particles, 1-D double well)
--------------------------------------------------------------------------------
Every integrator's fused kernel on ``U = (x² − 1)²``, T = 0.25, dt = 1e-3, in float32 and
float64, measured in particle-steps/s with CUDA events (``backend.advance``, one launch per
1024 steps, as the driver does) and end to end through ``simulate`` (a record of the mean
every 1024 steps, reduced on the device).  Next to it: the device's memory bandwidth from a
device-to-device copy, and what a step-by-step implementation could reach at best
(read and write x: 2 × itemsize bytes per particle-step), and, for Euler–Maruyama, the Numba
CPU backend of the same machine on the same problem.

p-spin (target: >= 60 % of the device's GEMM rate for the same shapes)
------------------------------------------------------------------------
Energy and gradient of a cloud of M particles, ``DevicePSpin.energy_and_grad``, against the
one GEMM it contains timed alone (``(M × N) · (N × N^{p-1})``, 2 M N^p flops, cuBLAS through
CuPy), at N = 2048, p = 3, in float32 and float64, the couplings drawn once per dtype.  Then
the largest N whose couplings fit on the device, per dtype: the couplings drawn and one batched
energy and gradient computed (the sizes tried and what stopped the larger one are printed).

Each part is guarded: a failing part prints its traceback and the others still run.

Run on a GPU machine::

    python benchmarks/gpu.py            # full size
    python benchmarks/gpu.py --quick    # small sizes, a minute
    python benchmarks/gpu.py --record   # also append the tables to benchmarks/RESULTS.md

Without CuPy or a CUDA device the script stops at once with a message saying so.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import describe_machine, markdown_table, record  # noqa: E402


def require_gpu():
    """CuPy and the device's name, or exit with a clear message."""
    try:
        import cupy
    except ImportError:
        sys.exit("benchmarks/gpu.py needs CuPy: pip install 'sgdsde[gpu]' (and an NVIDIA GPU)")
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as err:
        sys.exit(f"benchmarks/gpu.py needs an NVIDIA GPU; CUDA reports: {err}")
    if n < 1:
        sys.exit("benchmarks/gpu.py needs an NVIDIA GPU; none was found")
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return cupy, f"{name}, {props['totalGlobalMem'] / 2**30:.0f} GiB, CuPy {cupy.__version__}, " \
                 f"CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}"


def device_seconds(cupy, fn, repeat=3):
    """Smallest time of ``fn()`` on the device (CUDA events), after one warm-up call."""
    fn()
    best = math.inf
    for _ in range(repeat):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        best = min(best, cupy.cuda.get_elapsed_time(start, end) / 1e3)
    return best


def copy_bandwidth(cupy, n_bytes):
    """Device memory bandwidth (B/s) of a device-to-device copy: bytes read + bytes written."""
    src = cupy.ones(n_bytes // 4, dtype=cupy.float32)
    dst = cupy.empty_like(src)
    t = device_seconds(cupy, lambda: dst.__setitem__(Ellipsis, src), repeat=5)
    return 2 * src.nbytes / t


def advance_rate(cupy, backend, integrator, sde, m, n_steps, dtype):
    """Particle-steps/s of ``backend.advance`` on a cloud at x = −1, in driver chunks."""
    from sgdsde.simulate import MAX_CHUNK

    x0 = np.full((m, 1), -1.0, dtype=dtype)
    state = integrator.init_state(sde, x0, np.zeros_like(x0) if integrator.underdamped else None)
    diverged = np.full(m, -1, dtype=np.int64)
    particles = np.arange(m)
    clock = {"step": 0}

    def run():
        for s0 in range(0, n_steps, MAX_CHUNK):
            n = min(MAX_CHUNK, n_steps - s0)
            backend.advance(integrator, sde, state, clock["step"], n, 1e-3, 7, particles, 1e3, diverged)
            clock["step"] += n

    if backend.name == "cupy":
        t = device_seconds(cupy, run, repeat=1)  # after a warm-up run; 1e10 particle-steps a run
    else:
        run()  # compiles (or loads the cache)
        start = time.perf_counter()
        run()
        t = time.perf_counter() - start
    if (diverged >= 0).any():
        raise RuntimeError(f"{backend.name}: particles diverged in the benchmark")
    return m * n_steps / t


def toy_clouds(cupy, n_particles, n_steps, cpu_particles, cpu_steps, bandwidth):
    from sgdsde.backends import get_backend
    from sgdsde.integrators.overdamped import MALA, EulerMaruyama, Heun, LeimkuhlerMatthews
    from sgdsde.integrators.underdamped import BAOAB
    from sgdsde.landscapes.toy import DoubleWell
    from sgdsde.save import SaveAt
    from sgdsde.sde import LangevinSDE
    from sgdsde.simulate import MAX_CHUNK, simulate

    gpu, cpu = get_backend("cupy"), get_backend("numba")
    rows = []
    for dtype in (np.float32, np.float64):
        for integrator in (EulerMaruyama(), Heun(), LeimkuhlerMatthews(), MALA(), BAOAB()):
            sde = LangevinSDE(DoubleWell(), temperature=0.25,
                              friction=1.0 if integrator.underdamped else None)
            gpu_rate = advance_rate(cupy, gpu, integrator, sde, n_particles, n_steps, dtype)
            cpu_rate = None
            if isinstance(integrator, EulerMaruyama):  # one Numba compile per dtype, not five
                cpu_rate = advance_rate(cupy, cpu, integrator, sde, cpu_particles, cpu_steps, dtype)
            # End to end: the driver, a record every chunk with the mean reduced on the device.
            x0 = np.full((n_particles, 1), -1.0, dtype=dtype)
            save = SaveAt(every=MAX_CHUNK, observables={"mean": "mean"})
            # Warm-up on a small cloud: CuPy compiles the mean's reduction once per dtype.
            simulate(sde, integrator, x0[:4096], dt=1e-3, n_steps=MAX_CHUNK, backend="cupy", seed=7,
                     save=save, progress=False)
            start = time.perf_counter()
            traj = simulate(sde, integrator, x0, dt=1e-3, n_steps=n_steps, backend="cupy", seed=7,
                            save=save, progress=False)
            wall = time.perf_counter() - start
            assert np.isfinite(traj.final).all() and traj.final.dtype == dtype
            unfused = bandwidth / (2 * np.dtype(dtype).itemsize)
            rows.append([integrator.name, np.dtype(dtype).name, f"{gpu_rate:.3g}",
                         f"{n_particles * n_steps / wall:.3g}", f"{gpu_rate / unfused:.1f}",
                         "" if cpu_rate is None else f"{cpu_rate:.3g}",
                         "" if cpu_rate is None else f"{gpu_rate / cpu_rate:.0f}"])
    return rows


def _free(cupy):
    cupy.get_default_memory_pool().free_all_blocks()


def pspin_gemm_fraction(cupy, n, p, clouds, dtypes):
    """Energy + gradient against the GEMM alone at one N, for each dtype and cloud size M."""
    from sgdsde.landscapes._pspin_cupy import DevicePSpin

    rows = []
    for dtype in dtypes:
        start = time.perf_counter()
        land = DevicePSpin(n, p, seed=0, dtype=dtype)
        cupy.cuda.Device().synchronize()
        t_draw = time.perf_counter() - start
        matrix = land.couplings.reshape(n, -1)
        for m in clouds:
            x = cupy.asarray(land.manifold.random(m, n, seed=1, dtype=dtype))
            flops = 2.0 * m * n**p
            t_gemm = device_seconds(cupy, lambda x=x, matrix=matrix: x @ matrix)
            t_grad = device_seconds(cupy, lambda x=x, land=land: land.energy_and_grad(x))
            energy, grad = land.energy_and_grad(x)
            euler = float(cupy.max(cupy.abs(cupy.sum(x * grad, axis=1) - p * energy) / (p * n)))
            rows.append([n, p, m, np.dtype(dtype).name, f"{t_draw:.2f}", f"{flops / t_gemm / 1e12:.1f}",
                         f"{flops / t_grad / 1e12:.1f}", f"{t_gemm / t_grad:.0%}", f"{t_grad * 1e3:.1f}",
                         f"{euler:.1e}"])
            del x, energy, grad
            _free(cupy)
        del land, matrix
        _free(cupy)
    return rows


def largest_n(cupy, p, m, dtype, tries=4):
    """The largest N whose couplings and one cloud of M fit, tried from the free memory down."""
    from sgdsde.landscapes._pspin_cupy import DevicePSpin

    _free(cupy)
    item = np.dtype(dtype).itemsize
    free, total = cupy.cuda.runtime.memGetInfo()
    # N^p couplings + the GEMM's M N^{p-1} output + a 2 % margin for cuBLAS and the cloud.
    n = int((0.98 * free / item) ** (1 / p))
    while n**p + m * n ** (p - 1) > 0.98 * free / item:
        n -= 1
    attempts = []
    for _ in range(tries):
        try:
            start = time.perf_counter()
            land = DevicePSpin(n, p, seed=0, dtype=dtype)
            cupy.cuda.Device().synchronize()
            t_draw = time.perf_counter() - start
            x = cupy.asarray(land.manifold.random(m, n, seed=1, dtype=dtype))
            t_grad = device_seconds(cupy, lambda land=land, x=x: land.energy_and_grad(x), repeat=2)
            energy, _ = land.energy_and_grad(x)
            row = [n, p, m, np.dtype(dtype).name, f"{land.couplings.nbytes / 2**30:.1f}",
                   f"{free / 2**30:.1f} of {total / 2**30:.1f}", f"{t_draw:.2f}", f"{t_grad * 1e3:.1f}",
                   f"{2.0 * m * n**p / t_grad / 1e12:.1f}", f"{float(energy.mean()) / n:+.3f}",
                   "; ".join(attempts) or "first try"]
            del land, x, energy
            _free(cupy)
            return row
        except (MemoryError, cupy.cuda.memory.OutOfMemoryError) as err:
            attempts.append(f"N = {n}: {type(err).__name__}")
            print(f"largest_n: N = {n} did not fit ({err}); trying 1 % smaller", flush=True)
            _free(cupy)
            n = int(n * 0.99)
    raise RuntimeError("largest_n: no N fitted in " + "; ".join(attempts))


def guarded(name, fn, *args):
    """``fn(*args)``, or None after printing the traceback (so the other parts still run)."""
    import traceback

    start = time.perf_counter()
    print(f"[gpu.py] {name} ...", flush=True)
    try:
        out = fn(*args)
    except Exception:  # report and go on: one call of a lent device must bring back every part
        traceback.print_exc()
        print(f"[gpu.py] {name} FAILED after {time.perf_counter() - start:.1f} s", flush=True)
        return None
    print(f"[gpu.py] {name} done in {time.perf_counter() - start:.1f} s", flush=True)
    return out


PARTS = ("pspin", "largest", "toy")


HEADERS = {
    "toy": ["integrator", "dtype", "GPU fused (particle-steps/s)", "GPU via simulate", "× copy bound",
            "Numba CPU", "GPU / CPU"],
    "pspin": ["N", "p", "M", "dtype", "draw (s)", "GEMM TFLOP/s", "energy+grad TFLOP/s", "fraction", "ms",
              "Euler residual"],
    "largest": ["N", "p", "M", "dtype", "couplings (GiB)", "free / total GiB", "draw (s)", "energy+grad (ms)",
                "TFLOP/s", "mean E/N (random start)", "sizes tried"],
}


def tables(device, sizes, bandwidth, results) -> str:
    """The Markdown of the parts measured so far: a caption and a table per part."""
    captions = {
        "toy": (
            f"**Toy cloud**: 1-D double well, {sizes['particles']:.0e} particles, {sizes['steps']} steps "
            f"of dt = 1e-3 (Numba, Euler–Maruyama only: {sizes['cpu_particles']:.0e} particles, "
            f"{sizes['cpu_steps']} steps, {os.cpu_count()} cores). Device copy bandwidth "
            f"{bandwidth / 1e9:.0f} GB/s; \"× copy bound\" is the fused rate over bandwidth / (2 × "
            "itemsize), the rate at which the cloud could merely be read and written once per step "
            "(the fused kernel keeps x in registers for a whole chunk, so memory does not bound it). "
            "\"via simulate\" is the wall time of the whole driver call (the cloud to the device and "
            "back, a record per chunk, after a warm-up on a small cloud). Target: >= 1e10."),
        "pspin": ("**p-spin**: `DevicePSpin.energy_and_grad` against its GEMM alone (same shapes, "
                  "cuBLAS through CuPy); target >= 60 %."),
        "largest": ("**Largest N** whose couplings fit on the device (couplings drawn there, one "
                    "batched energy and gradient):"),
    }
    parts = [f"GPU: {device}. Host: {describe_machine()}.\n"]
    parts += [f"{captions[part]}\n\n{markdown_table(HEADERS[part], results[part])}"
              for part in ("toy", "pspin", "largest") if results.get(part)]
    return "\n\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                        help="which parts to run, in this order (default: all)")
    parser.add_argument("--record", action="store_true", help="append the tables to benchmarks/RESULTS.md")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="also write the tables to this file after each part (so a run cut "
                             "short still leaves what it measured)")
    args = parser.parse_args(argv)
    cupy, device = require_gpu()

    if args.quick:
        sizes = {"particles": 1_000_000, "steps": 1024, "cpu_particles": 20_000, "cpu_steps": 256,
                 "pspin_n": 256, "clouds": (64, 256), "largest_m": 16, "copy_bytes": 2**28}
    else:
        sizes = {"particles": 10_000_000, "steps": 1024, "cpu_particles": 1_000_000, "cpu_steps": 1024,
                 "pspin_n": 2048, "clouds": (64, 256, 1024), "largest_m": 64, "copy_bytes": 2**32}
    dtypes = (np.float32, np.float64)

    bandwidth = copy_bandwidth(cupy, sizes["copy_bytes"])
    print(f"[gpu.py] device copy bandwidth {bandwidth / 1e9:.0f} GB/s", flush=True)
    results = {}
    for part in args.parts:
        if part == "toy":
            results["toy"] = guarded("toy clouds", toy_clouds, cupy, sizes["particles"], sizes["steps"],
                                     sizes["cpu_particles"], sizes["cpu_steps"], bandwidth)
        elif part == "pspin":
            results["pspin"] = guarded("p-spin against GEMM", pspin_gemm_fraction, cupy,
                                       sizes["pspin_n"], 3, sizes["clouds"], dtypes)
        elif part == "largest" and not args.quick:
            rows = [guarded(f"largest N ({np.dtype(d).name})", largest_n, cupy, 3, sizes["largest_m"], d)
                    for d in dtypes]
            results["largest"] = [row for row in rows if row is not None]
        if args.markdown is not None:
            args.markdown.write_text(tables(device, sizes, bandwidth, results) + "\n")
    body = tables(device, sizes, bandwidth, results)
    print(body)
    if args.record:
        record("GPU backend (benchmarks/gpu.py" + (" --quick)" if args.quick else ")"), body, device=device)


if __name__ == "__main__":
    main()
