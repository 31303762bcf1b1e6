"""Euler–Maruyama on toy landscapes: sgdsde (Numba) vs a NumPy loop vs torchsde, in one run.

Cases (issue 2):

* A — 1-D double well U = (x² − 1)², T = 0.25, dt = 1e-3, 1000 steps, 1e5 particles from x = −1;
* B — d = 100 anisotropic quadratic (eigenvalues log-spaced in [0.1, 10]), T = 0.25, dt = 1e-3,
  1000 steps, 1e4 particles from x = 1.

Reported per tool: wall time, particle-steps/s, speed-up over NumPy, and the ratio of the
time to the time spent only drawing the same normals (the counter-based generator in a
Numba loop that consumes but does not store them).  Two more yardsticks: NumPy's own
generator alone, and the gradient alone (NumPy, or one BLAS product for the quadratic) —
no Euler–Maruyama step can cost less than its gradient, which bounds case B.

Each tool's final cloud is checked against sgdsde's with a two-sample KS test on the first
coordinate (and, in case B, the mean squared radius within 5 standard errors) — different
noise, same law.

Run ``python benchmarks/langevin_toy.py`` (add ``--quick`` for a small size, ``--record`` to
append the table to RESULTS.md).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from numba import njit, prange
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, markdown_table, record  # noqa: E402

import sgdsde as sd  # noqa: E402
from sgdsde._random_numba import LANES, fill_noise_lanes, noise_scratch  # noqa: E402

TEMPERATURE = 0.25
DT = 1e-3


@njit(cache=True, parallel=True)
def draw_only(n_particles, dim, n_steps, seed):
    """Generate (and sum, so nothing is optimised away) the normals a fused EM run consumes,
    with the generator the fused kernels use (LANES particles at a time)."""
    k0 = np.uint64(seed) & np.uint64(0xFFFFFFFF)
    k1 = np.uint64(seed) >> np.uint64(32)
    total = 0.0
    for gi in prange((n_particles + LANES - 1) // LANES):
        lo = gi * LANES
        n_lanes = min(LANES, n_particles - lo)
        buf = np.empty((dim, 4, LANES))
        ctr = noise_scratch()
        acc = np.zeros(LANES)
        for n in range(0, n_steps, 4):
            fill_noise_lanes(buf, ctr, k0, k1, np.uint64(lo), n_lanes, np.uint64(n >> 2), np.uint64(0))
            for k in range(dim):
                for s in range(4):
                    for j in range(LANES):
                        acc[j] += buf[k, s, j]
        total += acc.sum()
    return total


def numpy_loop(grad, x0, n_steps, seed):
    """The NumPy-vectorised baseline: rng.standard_normal per step, in-place updates."""
    rng = np.random.default_rng(seed)
    x = x0.copy()
    sigma = math.sqrt(2 * TEMPERATURE * DT)
    for _ in range(n_steps):
        g = grad(x)
        g *= -DT
        x += g
        x += sigma * rng.standard_normal(x.shape, dtype=x.dtype)
    return x


def torchsde_run(grad_torch, x0, n_steps):
    """torchsde's Euler scheme on the same SDE (diagonal noise), or None if not installed."""
    try:
        import torch
        import torchsde
    except ImportError:
        return None

    class LangevinTorch(torch.nn.Module):
        noise_type, sde_type = "diagonal", "ito"

        def f(self, t, y):
            return -grad_torch(y)

        def g(self, t, y):
            return torch.full_like(y, math.sqrt(2 * TEMPERATURE))

    y0 = torch.as_tensor(x0)
    ts = torch.tensor([0.0, n_steps * DT], dtype=y0.dtype)
    with torch.no_grad():
        out = torchsde.sdeint(LangevinTorch(), y0, ts, method="euler", dt=DT)
    return out[-1].numpy()


def run_case(name, landscape, x0, n_steps, grad_numpy, grad_torch, repeat, float32=False):
    sde = sd.LangevinSDE(landscape, temperature=TEMPERATURE)
    em = sd.integrators.EulerMaruyama()
    m, d = x0.shape
    work = m * n_steps

    def ours():
        return sd.simulate(sde, em, x0, dt=DT, n_steps=n_steps, seed=1, progress=False,
                           save=sd.SaveAt(every=n_steps, start=False))

    ours()  # compile (cached on disk afterwards)
    draw_only(2, d, 8, 0)
    t_ours = best_time(ours, repeat)
    final_ours = ours().final
    t_draw = best_time(lambda: draw_only(m, d, n_steps, 1), repeat)
    t_numpy = best_time(lambda: numpy_loop(grad_numpy, x0, n_steps, 2), repeat)
    final_numpy = numpy_loop(grad_numpy, x0, n_steps, 2)
    rng = np.random.default_rng(3)

    def normals_only():
        for _ in range(n_steps):
            rng.standard_normal(x0.shape)

    def gradient_only():
        for _ in range(n_steps):
            grad_numpy(x0)

    t_normals = best_time(normals_only, 1)
    t_gradient = best_time(gradient_only, repeat)

    rows = []
    finals = {"numpy loop": final_numpy}
    t_torch = None
    try:
        import torch

        torch.set_num_threads(2)
        t_torch = best_time(lambda: torchsde_run(grad_torch, x0, n_steps), 1)
        finals["torchsde"] = torchsde_run(grad_torch, x0, n_steps)
        if finals["torchsde"] is None:
            t_torch = None
            del finals["torchsde"]
    except ImportError:
        pass

    def agreement(other):
        ks = stats.ks_2samp(final_ours[:, 0], other[:, 0])
        r2a, r2b = (final_ours**2).sum(1), (other**2).sum(1)
        se = math.sqrt(r2a.var() / m + r2b.var() / m)
        ok = ks.pvalue > 1e-3 and abs(r2a.mean() - r2b.mean()) < 5 * se
        verdict = "agree" if ok else "DIFFER"
        return f"KS p = {ks.pvalue:.2g}, Δ⟨r²⟩ = {abs(r2a.mean() - r2b.mean()) / se:.1f} SE: {verdict}"

    def row(tool, t, extra):
        return [tool, f"{t:.3f}", f"{work / t:.3g}", f"{t_numpy / t:.2f}", f"{t / t_draw:.2f}", extra]

    rows.append(row("sgdsde (Numba)", t_ours, "reference"))
    rows.append(row("NumPy loop", t_numpy, agreement(final_numpy)))
    if t_torch is not None:
        rows.append(row("torchsde (euler)", t_torch, agreement(finals["torchsde"])))
    if float32:  # the same run in float32 (float32 normals on both sides), against its NumPy loop
        x32 = x0.astype(np.float32)

        def ours32():
            return sd.simulate(sde, em, x32, dt=DT, n_steps=n_steps, seed=1, progress=False,
                               save=sd.SaveAt(every=n_steps, start=False))

        ours32()
        t_ours32 = best_time(ours32, repeat)
        t_numpy32 = best_time(lambda: numpy_loop(grad_numpy, x32, n_steps, 2), repeat)
        rows.append(row("sgdsde (Numba), float32", t_ours32,
                        f"{t_numpy32 / t_ours32:.2f} × the float32 NumPy loop"))
        rows.append(row("NumPy loop, float32", t_numpy32, agreement(numpy_loop(grad_numpy, x32, n_steps, 2))))
    rows.append(row("bare counter-based normals (Numba)", t_draw, "—"))
    rows.append(row("bare rng.standard_normal (NumPy)", t_normals, "—"))
    rows.append(row("bare gradient, no noise (NumPy/BLAS)", t_gradient, "—"))
    header = ["tool", "wall time (s)", "particle-steps/s", "× NumPy", "÷ bare normals", "final law vs sgdsde"]
    return f"### {name}\n\n" + markdown_table(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer particles")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    repeat = 3

    well = sd.landscapes.DoubleWell()
    x0 = np.full((100_000 // scale, 1), -1.0)

    def grad_torch_well(y):
        return 4 * y * (y * y - 1)

    out = [run_case("A: 1-D double well, 1e5 particles, 1000 EM steps", well, x0, 1000,
                    lambda x: 4 * x * (x * x - 1), grad_torch_well, repeat, float32=True)]

    rng = np.random.default_rng(0)
    d = 100
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a = (q * np.logspace(-1, 1, d)) @ q.T
    a = 0.5 * (a + a.T)
    quad = sd.landscapes.Quadratic(a)
    x1 = np.ones((10_000 // scale, d))

    def grad_torch_quad(y, _a=None):
        import torch

        return y @ torch.as_tensor(a)

    out.append(run_case("B: d = 100 anisotropic quadratic, 1e4 particles, 1000 EM steps", quad, x1, 1000,
                        lambda x: x @ a, grad_torch_quad, repeat))
    text = "\n\n".join(out)
    print(text)
    if args.record:
        record("langevin_toy.py — Euler–Maruyama on toy landscapes", text)


if __name__ == "__main__":
    main()
