"""The CuPy GPU backend on an H100/H200: toy clouds and batched p-spin gradients, in one run.

Toy clouds (issue 9 target: >= 1e10 particle-steps/s, float32, 1-D double well, 1e7 particles)
----------------------------------------------------------------------------------------------
Every integrator's fused kernel on ``U = (x² − 1)²``, T = 0.25, dt = 1e-3, measured in
particle-steps/s with CUDA events (``backend.advance``, one launch per 1024 steps, as the
driver does) and end to end through ``simulate`` (records of the mean every 1024 steps).
Next to it: the device's memory bandwidth measured by a device-to-device copy, and what an
unfused step-by-step implementation could reach at best (read and write x, 8 bytes per
particle-step in float32: bandwidth / 8), and the Numba CPU backend on the same problem.

p-spin (target: >= 60 % of the device's GEMM rate for the same shapes)
------------------------------------------------------------------------
Energy and gradient of a cloud of M particles, ``DevicePSpin.energy_and_grad``, against the
one GEMM it contains timed alone (``(M × N) · (N × N^{p-1})``, 2 M N^p flops), for float32 and
float64; then N = 2000, p = 3 in float32 (32 GB of couplings drawn on the device).

Run on a GPU machine::

    python benchmarks/gpu.py            # full size
    python benchmarks/gpu.py --quick    # small sizes, a minute
    python benchmarks/gpu.py --record   # also append the tables to benchmarks/RESULTS.md

Without CuPy or a CUDA device the script stops at once with a message saying so.
"""

from __future__ import annotations

import argparse
import math
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


def advance_rate(cupy, backend, integrator, sde, m, n_steps):
    """Particle-steps/s of ``backend.advance`` on a float32 cloud at x = −1, in driver chunks."""
    from sgdsde.simulate import MAX_CHUNK

    x0 = np.full((m, 1), -1.0, dtype=np.float32)
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
        t = device_seconds(cupy, run, repeat=2)
    else:
        run()  # compiles (or loads the cache)
        start = time.perf_counter()
        run()
        t = time.perf_counter() - start
    if (diverged >= 0).any():
        raise RuntimeError(f"{backend.name}: particles diverged in the benchmark")
    return m * n_steps / t


def toy_clouds(cupy, n_particles, n_steps, cpu_particles, cpu_steps):
    from sgdsde.backends import get_backend
    from sgdsde.integrators.overdamped import MALA, EulerMaruyama, Heun, LeimkuhlerMatthews
    from sgdsde.integrators.underdamped import BAOAB
    from sgdsde.landscapes.toy import DoubleWell
    from sgdsde.save import SaveAt
    from sgdsde.sde import LangevinSDE
    from sgdsde.simulate import MAX_CHUNK, simulate

    gpu, cpu = get_backend("cupy"), get_backend("numba")
    rows = []
    for integrator in (EulerMaruyama(), Heun(), LeimkuhlerMatthews(), MALA(), BAOAB()):
        sde = LangevinSDE(DoubleWell(), temperature=0.25, friction=1.0 if integrator.underdamped else None)
        gpu_rate = advance_rate(cupy, gpu, integrator, sde, n_particles, n_steps)
        cpu_rate = advance_rate(cupy, cpu, integrator, sde, cpu_particles, cpu_steps)
        # End to end: the driver, a record every chunk with the mean reduced on the device.
        x0 = np.full((n_particles, 1), -1.0, dtype=np.float32)
        start = time.perf_counter()
        traj = simulate(sde, integrator, x0, dt=1e-3, n_steps=n_steps, backend="cupy", seed=7,
                        save=SaveAt(every=MAX_CHUNK, observables={"mean": "mean"}), progress=False)
        wall = time.perf_counter() - start
        assert np.isfinite(traj.final).all()
        rows.append([integrator.name, f"{gpu_rate:.3g}", f"{n_particles * n_steps / wall:.3g}",
                     f"{cpu_rate:.3g}", f"{gpu_rate / cpu_rate:.0f}"])
    return rows


def pspin_gemm_fraction(cupy, shapes):
    from sgdsde.landscapes._pspin_cupy import DevicePSpin

    rows = []
    for n, p, m, dtype in shapes:
        land = DevicePSpin(n, p, seed=0, dtype=dtype)
        x = cupy.asarray(land.manifold.random(m, n, seed=1, dtype=dtype))
        matrix = land.couplings.reshape(n, -1)
        flops = 2.0 * m * n**p
        t_gemm = device_seconds(cupy, lambda x=x, matrix=matrix: x @ matrix)
        t_grad = device_seconds(cupy, lambda land=land, x=x: land.energy_and_grad(x))
        energy, grad = land.energy_and_grad(x)
        euler = float(cupy.max(cupy.abs(cupy.sum(x * grad, axis=1) - p * energy) / (p * n)))
        rows.append([n, p, m, np.dtype(dtype).name, f"{flops / t_gemm / 1e12:.2f}",
                     f"{flops / t_grad / 1e12:.2f}", f"{t_gemm / t_grad:.0%}", f"{t_grad * 1e3:.2f}",
                     f"{euler:.1e}"])
        del land, x, matrix, energy, grad
        cupy.get_default_memory_pool().free_all_blocks()
    return rows


def pspin_large(cupy, n, p, m):
    """N = 2000, p = 3 in float32: draw the couplings, one batched energy and gradient."""
    from sgdsde.landscapes._pspin_cupy import DevicePSpin

    start = time.perf_counter()
    land = DevicePSpin(n, p, seed=0, dtype=np.float32)
    cupy.cuda.Device().synchronize()
    t_draw = time.perf_counter() - start
    x = cupy.asarray(land.manifold.random(m, n, seed=1, dtype=np.float32))
    t_grad = device_seconds(cupy, lambda: land.energy_and_grad(x))
    energy, _ = land.energy_and_grad(x)
    return [n, p, m, f"{land.couplings.nbytes / 2**30:.1f}", f"{t_draw:.2f}", f"{t_grad * 1e3:.1f}",
            f"{2.0 * m * n**p / t_grad / 1e12:.2f}", f"{float(energy.mean()) / n:+.3f}"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute)")
    parser.add_argument("--record", action="store_true", help="append the tables to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    cupy, device = require_gpu()

    if args.quick:
        n_particles, n_steps, cpu_particles, cpu_steps = 1_000_000, 2048, 20_000, 256
        shapes = [(128, 3, 256, np.float32), (128, 3, 256, np.float64)]
        large = (400, 3, 64)
        copy_bytes = 2**28
    else:
        n_particles, n_steps, cpu_particles, cpu_steps = 10_000_000, 4096, 200_000, 1024
        shapes = [(n, 3, m, dt) for n in (256, 512) for m in (64, 1024) for dt in (np.float32, np.float64)]
        large = (2000, 3, 256)
        copy_bytes = 2**32

    bandwidth = copy_bandwidth(cupy, copy_bytes)
    toy = toy_clouds(cupy, n_particles, n_steps, cpu_particles, cpu_steps)
    gemm = pspin_gemm_fraction(cupy, shapes)
    cupy.get_default_memory_pool().free_all_blocks()
    big = pspin_large(cupy, *large)

    toy_table = markdown_table(
        ["integrator", "GPU fused (particle-steps/s)", "GPU via simulate", "Numba CPU", "GPU / CPU"], toy)
    body = (
        f"GPU: {device}. Host: {describe_machine()}.\n\n"
        f"**Toy cloud**: 1-D double well, float32, {n_particles:.0e} particles, {n_steps} steps of "
        f"dt = 1e-3 (Numba: {cpu_particles:.0e} particles, {cpu_steps} steps). Device copy bandwidth "
        f"{bandwidth / 1e9:.0f} GB/s, so an unfused float32 step (read + write x, 8 B) would reach at "
        f"most {bandwidth / 8:.3g} particle-steps/s. Target: >= 1e10.\n\n{toy_table}\n\n"
        "**p-spin**: `DevicePSpin.energy_and_grad` against its GEMM alone (same shapes); "
        "target >= 60 %.\n\n"
        + markdown_table(["N", "p", "M", "dtype", "GEMM TFLOP/s", "energy+grad TFLOP/s", "fraction",
                          "ms", "Euler residual"], gemm)
        + "\n\n**N = 2000, p = 3, float32** (couplings drawn on the device):\n\n"
        + markdown_table(["N", "p", "M", "couplings (GiB)", "draw (s)", "energy+grad (ms)", "TFLOP/s",
                          "mean E/N (random start)"], [big])
    )
    print(body)
    if args.record:
        record("GPU backend (benchmarks/gpu.py" + (" --quick)" if args.quick else ")"), body, device=device)


if __name__ == "__main__":
    main()
