"""Cost and accuracy of the Cugliandolo–Kurchan solvers: p = 3 gradient flow (T = 0) to t = 10⁴.

For each grid (fixed grid with Richardson extrapolation; grid doubling at several n_grid,
n_band) the wall time to reach each horizon t1, and at the longest horizon E(t) − E_th at
t = 10², 10³, 10⁴ with the local decay exponent of E − E_th over the last decades
(docs/theory.md §4: ≈ 2/3).  All contenders run in one process, one after the other, so their
ratios are meaningful on a loaded machine.

    python benchmarks/ck_cost.py --quick      # a minute
    python benchmarks/ck_cost.py              # several minutes
    python benchmarks/ck_cost.py --record     # also append the tables to RESULTS.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, record  # noqa: E402

from sgdsde.theory.cugliandolo_kurchan import solve_ck_doubling, solve_ck_fixed  # noqa: E402
from sgdsde.theory.pspin import PSpinCovariance  # noqa: E402

E_TH = -2 * math.sqrt(2 / 3)  # p = 3, ABC


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grids, t <= 10³")
    parser.add_argument("--record", action="store_true", help="append the tables to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    xi = PSpinCovariance.pure(3)
    if args.quick:
        horizons, grids, fixed_horizons = [1e2, 1e3], [(128, 2), (256, 4)], [5.0, 10.0]
    else:
        horizons, grids, fixed_horizons = [1e2, 1e3, 1e4], [(256, 4), (512, 8), (1024, 16)], [10.0, 20.0]
    solve_ck_doubling(xi, 0.0, 1.0, n_grid=32, n_band=2)  # compile outside the timings
    solve_ck_fixed(xi, 0.0, 0.1, dt=0.05)

    cost_rows = []
    for t1 in fixed_horizons:
        start = time.perf_counter()
        sol = solve_ck_fixed(xi, 0.0, t1, dt=0.02)
        cost_rows.append(["fixed + Richardson, dt = 0.02", f"{t1:g}", f"{time.perf_counter() - start:.2f}",
                          f"{sol.energy[-1] - E_TH:.5f}", "–"])
    accuracy_rows = []
    gap_values = []
    for n_grid, n_band in grids:
        for t1 in horizons:
            start = time.perf_counter()
            sol = solve_ck_doubling(xi, 0.0, t1, n_grid=n_grid, n_band=n_band)
            wall = time.perf_counter() - start
            cost_rows.append([f"doubling, n_grid = {n_grid}, n_band = {n_band}", f"{t1:g}", f"{wall:.2f}",
                              f"{sol.energy[-1] - E_TH:.5f}", sol.stats["max_iterations"]])
            print(cost_rows[-1], flush=True)
        gap_values.append([sol.energy_at(t) - E_TH for t in horizons])
        gaps = [f"{g:.5f}" for g in gap_values[-1]]
        t_mid, alpha = sol.decay_exponent(E_TH, points_per_decade=1)
        late = [f"{a:.3f} (t≈{t:.3g})" for t, a in zip(t_mid, alpha, strict=True) if t > 10]
        accuracy_rows.append([f"{n_grid} / {n_band}", *gaps, ", ".join(late)])

    if len(gap_values) >= 3:
        # Each grid doubles the last's resolution: Aitken's delta-squared on the last three
        # estimates the grid-converged value; the size of its correction is the uncertainty.
        a, b, c = (np.array(g) for g in gap_values[-3:])
        limit = c - (c - b) ** 2 / ((c - b) - (b - a))
        accuracy_rows.append(["Aitken limit of the last three (± its correction)",
                              *[f"{x:.5f} ± {abs(x - y):.5f}" for x, y in zip(limit, c, strict=True)], "–"])
    cost = markdown_table(["scheme", "t1", "wall time (s)", "E(t1) − E_th", "max iterations/row"], cost_rows)
    accuracy = markdown_table(["n_grid / n_band", *[f"E − E_th at t = {t:g}" for t in horizons],
                               "local exponent of E − E_th (one decade)"], accuracy_rows)
    print("\nCost (p = 3, T = 0, ABC):\n" + cost)
    print("\nAccuracy across grids (the spread is the discretisation uncertainty):\n" + accuracy)
    if args.record:
        record("CK solver cost (benchmarks/ck_cost.py" + (" --quick" if args.quick else "") + ")",
               "p = 3 spherical spin glass (ABC), gradient flow T = 0, random start.\n\n" + cost
               + "\n\nAccuracy across grids:\n\n" + accuracy)


if __name__ == "__main__":
    main()
