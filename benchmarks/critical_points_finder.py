"""Critical-point search: sgdsde's batched Riemannian Newton vs scipy.optimize.root per start.

Cases (issue 7), the same starts for every contender:

* A — Müller–Brown (flat, 2-D): S uniform starts in [−1.7, 1.3] × [−0.6, 2.2];
  scipy contenders ``root(grad, jac=hessian)`` with ``method="hybr"`` (MINPACK Powell) and
  ``method="lm"`` (MINPACK Levenberg–Marquardt), one start at a time.
* B — spherical 3-spin, N = 10 (sphere |σ|² = N): S uniform starts; scipy solves the Lagrange
  system ``∇H(σ) − μσ = 0, (|σ|² − N)/2 = 0`` with its Jacobian, μ started at σ·∇H/N.

All contenders run with one BLAS thread (``threadpoolctl``): the matrices are tiny, and extra
BLAS threads only contend for the cores.  Reported per contender: wall time, starts per second,
converged starts, distinct critical
points (the same deduplication for all: sgdsde's, at the same tolerance |grad_sp H| ≤ 1e-8),
and for case A whether all five published points were found.

Run ``python benchmarks/critical_points_finder.py`` (``--quick`` for a small size,
``--record`` to append the table to RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, record  # noqa: E402

from sgdsde.landscapes.pspin import SphericalPSpin  # noqa: E402
from sgdsde.landscapes.toy import MullerBrown  # noqa: E402
from sgdsde.measure.critical_points import find_critical_points, random_starts  # noqa: E402

TOL = 1e-8


def classify(landscape, points):
    """Deduplicate and classify already-converged points with sgdsde's own rules."""
    if len(points) == 0:
        return 0, None
    cp = find_critical_points(landscape, np.asarray(points), tol=TOL, max_newton_steps=0,
                              max_fallback_steps=0)
    return cp.n_points, cp


def scipy_flat(landscape, starts, method):
    found = []
    for x0 in starts:
        with np.errstate(over="ignore", invalid="ignore"):  # runs off to where exp overflows
            sol = optimize.root(lambda x: landscape.grad(x[None])[0], x0, method=method,
                                jac=lambda x: landscape.hessian(x[None])[0])
        if sol.success and np.all(np.isfinite(sol.x)):
            found.append(sol.x)
    return found


def scipy_sphere(landscape, starts):
    n = landscape.dim

    def system(z):
        x, mu = z[:-1], z[-1]
        return np.concatenate([landscape.grad(x[None])[0] - mu * x, [0.5 * (x @ x - n)]])

    def jacobian(z):
        x, mu = z[:-1], z[-1]
        jac = np.zeros((n + 1, n + 1))
        jac[:n, :n] = landscape.hessian(x[None])[0] - mu * np.eye(n)
        jac[:n, n] = -x
        jac[n, :n] = x
        return jac

    found = []
    for x0 in starts:
        mu0 = x0 @ landscape.grad(x0[None])[0] / n
        sol = optimize.root(system, np.append(x0, mu0), jac=jacobian, method="hybr")
        if sol.success and np.all(np.isfinite(sol.x)):
            x = sol.x[:-1]
            found.append(x * np.sqrt(n) / np.linalg.norm(x))  # on the sphere to rounding already
    return found


def run_case(name, landscape, starts, contenders):
    rows = []
    for label, fn in contenders:
        start = time.perf_counter()
        converged, distinct, extra = fn(landscape, starts)
        wall = time.perf_counter() - start
        rows.append([name, label, f"{wall:.3f}", f"{len(starts) / wall:,.0f}", converged, distinct, extra])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    args = parser.parse_args(argv)
    n_flat, n_sphere = (200, 200) if args.quick else (2000, 2000)
    with threadpool_limits(1, "blas"):
        table = compare(n_flat, n_sphere)
    print(table)
    if args.record:
        record(f"Critical-point search (S = {n_flat} / {n_sphere} starts, one BLAS thread)", table)


def compare(n_flat, n_sphere):

    def ours(landscape, starts):
        cp = find_critical_points(landscape, starts, tol=TOL)
        return cp.stats["n_converged"], cp.n_points, cp

    def theirs(fn):
        def run(landscape, starts):
            found = fn(landscape, starts)
            distinct, cp = classify(landscape, found)
            return cp.stats["n_converged"] if cp else 0, distinct, cp
        return run

    def all_five(cp):
        return "yes" if cp is not None and cp.count_by_index()[:2].tolist() == [3, 2] else "no"

    mb = MullerBrown()
    starts = random_starts(mb, n_flat, seed=0, low=[-1.7, -0.6], high=[1.3, 2.2])
    rows = run_case("A: Müller–Brown", mb, starts, [
        ("sgdsde batched Newton + grad-norm fallback", ours),
        ("scipy root hybr, per start", theirs(lambda L, s: scipy_flat(L, s, "hybr"))),
        ("scipy root lm, per start", theirs(lambda L, s: scipy_flat(L, s, "lm"))),
    ])
    for row in rows:
        row[-1] = all_five(row[-1])

    pspin = SphericalPSpin(10, 3, seed=0)
    starts = random_starts(pspin, n_sphere, seed=1)
    rows_b = run_case("B: 3-spin N = 10", pspin, starts, [
        ("sgdsde batched Riemannian Newton + fallback", ours),
        ("scipy root hybr on the Lagrange system, per start", theirs(scipy_sphere)),
    ])
    for row in rows_b:
        row[-1] = "—"
    header = ["case", "contender", "wall (s)", "starts/s", "converged", "distinct points", "all 5 found"]
    return markdown_table(header, rows + rows_b)


if __name__ == "__main__":
    main()
