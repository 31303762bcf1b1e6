"""Stationary Fokker–Planck density: sgdsde vs fplanck, in one run (issue 4).

Problem: overdamped Langevin on the 1-D double well U = (x² − 1)² at T = 0.25, reflecting
walls at ±2.5.  Each contender computes the stationary density on n cells (cell centres
x_i = −2.5 + (i + ½)·5/n, the same nodes for both libraries); the error is the L1 distance
Σ |p_i − p(x_i)| h to p = exp(−U/T)/Z with Z by adaptive quadrature.  Wall time covers
building the operator and solving for the stationary state (best of several calls).

Contenders, in pairs that get the same information about the dynamics:

* energy: sgdsde with face potentials from the energy (``face_potential="energy"``) vs fplanck
  given ``potential=U`` — both exact at the nodes (detailed-balance rates), so the error is
  only that of normalising on the grid;
* drift: sgdsde with face potentials from the drift (``face_potential="drift"``) vs fplanck
  given ``force=−U'`` — both second order in h, the situation of a general SDE.

Reported: time and error at equal grid sizes, and time at equal accuracy (the smallest grid
of a √2-spaced ladder that reaches each target error, per contender).  fplanck ≤ 0.2.2 calls
``np.product``, removed in NumPy 2; the script restores it as ``np.prod`` for fplanck's sake.

Run ``python benchmarks/fokker_planck.py`` (``--quick`` for small sizes, ``--record`` to append
the tables to RESULTS.md).  Needs the ``bench`` extra (fplanck).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import constants

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, markdown_table, record  # noqa: E402

import sgdsde as sd  # noqa: E402
from sgdsde.fokker_planck import FokkerPlanck, Grid  # noqa: E402
from sgdsde.theory.boltzmann import boltzmann_density_1d  # noqa: E402

TEMPERATURE = 0.25
LOWER, UPPER = -2.5, 2.5


def energy(x):
    return (x * x - 1) ** 2


def force(x):
    return -4 * x * (x * x - 1)


def sgdsde_solver(face_potential):
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), TEMPERATURE)

    def solve(n):
        # coarse grids are part of the experiment: no Péclet diagnostic (max_peclet=inf)
        fp = FokkerPlanck(sde, Grid((LOWER, UPPER), n), face_potential=face_potential, max_peclet=np.inf)
        return fp.grid.axes[0], fp.stationary()

    return solve


def fplanck_solver(kind):
    import fplanck

    if not hasattr(np, "product"):  # fplanck 0.2.2 predates NumPy 2
        np.product = np.prod  # noqa: NPY003, NPY201

    def solve(n):
        h = (UPPER - LOWER) / n
        given = {"potential": energy} if kind == "potential" else {"force": force}
        sim = fplanck.fokker_planck(temperature=TEMPERATURE / constants.k, drag=1.0, extent=UPPER - LOWER,
                                    resolution=h, boundary=fplanck.boundary.reflecting, **given)
        return sim.grid[0], sim.steady_state() / h  # probabilities per node -> density

    return solve


CONTENDERS = {
    "energy": {"sgdsde": sgdsde_solver("energy"), "fplanck": fplanck_solver("potential")},
    "drift": {"sgdsde": sgdsde_solver("drift"), "fplanck": fplanck_solver("force")},
}


def l1_error(x, p):
    h = (UPPER - LOWER) / x.size
    expected = (LOWER + h * (np.arange(x.size) + 0.5))
    if not np.allclose(x, expected, atol=1e-9 * h):
        raise RuntimeError("the contenders do not use the same nodes")
    exact = boltzmann_density_1d(energy, TEMPERATURE, x, bounds=(LOWER, UPPER))
    return float(np.sum(np.abs(p - exact)) * h)


def measure(solve, n, repeat):
    x, p = solve(n)
    return best_time(lambda: solve(n), repeat=repeat), l1_error(x, p)


def equal_sizes(sizes, repeat):
    header = ["faces", "n"] + [f"{tool} {q}" for tool in ("sgdsde", "fplanck") for q in ("time (ms)", "L1")]
    header.append("speed-up")
    rows = []
    for form, pair in CONTENDERS.items():
        for n in sizes:
            (t_s, e_s), (t_f, e_f) = (measure(pair[tool], n, repeat) for tool in ("sgdsde", "fplanck"))
            rows.append([form, n, f"{1e3 * t_s:.3f}", f"{e_s:.2e}", f"{1e3 * t_f:.2f}", f"{e_f:.2e}",
                         f"{t_f / t_s:.1f}x"])
    return markdown_table(header, rows)


def equal_accuracy(targets, ladder, repeat):
    header = ["faces", "target L1", "sgdsde n", "sgdsde time (ms)", "fplanck n", "fplanck time (ms)",
              "speed-up"]
    rows = []
    for form, pair in CONTENDERS.items():
        errors = {tool: {} for tool in pair}
        for target in targets[form]:
            found = {}
            for tool, solve in pair.items():
                for n in ladder:
                    if n not in errors[tool]:
                        errors[tool][n] = l1_error(*solve(n))
                    if errors[tool][n] <= target:
                        found[tool] = (n, best_time(lambda s=solve, m=n: s(m), repeat=repeat))
                        break
            if len(found) < 2:
                rows.append([form, f"{target:.0e}", *(["not reached"] * 5)])
                continue
            (n_s, t_s), (n_f, t_f) = found["sgdsde"], found["fplanck"]
            rows.append([form, f"{target:.0e}", n_s, f"{1e3 * t_s:.3f}", n_f, f"{1e3 * t_f:.2f}",
                         f"{t_f / t_s:.1f}x"])
    return markdown_table(header, rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--record", action="store_true", help="append the tables to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        sizes, repeat = [50, 200, 800], 3
        ladder = [int(round(25 * 2 ** (k / 2))) for k in range(11)]  # 25 … 800
        targets = {"energy": [1e-10], "drift": [1e-3, 1e-4]}
    else:
        sizes, repeat = [50, 100, 200, 400, 800, 1600, 3200, 6400], 5
        ladder = [int(round(25 * 2 ** (k / 2))) for k in range(19)]  # 25 … 12800
        targets = {"energy": [1e-10], "drift": [1e-3, 1e-4, 1e-5, 1e-6]}

    title = (f"Stationary Fokker–Planck density, U = (x² − 1)², T = {TEMPERATURE}, "
             f"[{LOWER}, {UPPER}], reflecting: sgdsde vs fplanck")
    sizes_table = equal_sizes(sizes, repeat)
    accuracy_table = equal_accuracy(targets, ladder, repeat)
    body = (f"Wall time to the stationary density (operator + solve, best of {repeat}) and L1 error "
            "against exp(−U/T)/Z by quadrature.\n\nAt equal grid sizes:\n\n" + sizes_table
            + "\n\nAt equal accuracy (smallest grid of the ladder 25·2^(k/2) reaching the target):\n\n"
            + accuracy_table + "\n\nCommand: `python benchmarks/fokker_planck.py"
            + (" --quick" if args.quick else "") + " --record`")
    print(title + "\n\n" + body)
    if args.record:
        record("fokker_planck: " + title, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
