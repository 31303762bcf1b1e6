"""Top-10 Hessian eigenvalues of the digits network: three ways, one run.

The landscape is a 64-32-10 tanh network with cross-entropy on all 1797 sklearn digits
(d = 2410), at the endpoint of 2000 SGD steps (η = 0.2, B = 32).  Contenders:

* Lanczos (``sgdsde.geometry.extreme_eigenpairs``: ARPACK ``eigsh`` on a LinearOperator) driven
  by exact Hessian-vector products (Pearlmutter's R-operator);
* dense: the full Hessian from d exact products, then ``numpy.linalg.eigvalsh``;
* the same Lanczos driven by central finite differences of the gradient.

Reported: wall time, Hessian-vector products (or gradient pairs), and the largest deviation
of the ten eigenvalues from the dense ones.  One BLAS thread (the machine is shared).

Run ``python benchmarks/hessian.py`` (``--quick`` for a smaller network, ``--record`` to append
the table to RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, record  # noqa: E402

from sgdsde.geometry import HessianOperator, extreme_eigenpairs  # noqa: E402
from sgdsde.landscapes import MLP  # noqa: E402
from sgdsde.sgd import run_sgd  # noqa: E402
from sgdsde.sgd.data import load_digits  # noqa: E402

K = 10


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 examples, 16 hidden units")
    parser.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    args = parser.parse_args(argv)
    n, width, steps = (200, 16, 200) if args.quick else (None, 32, 2000)
    data = load_digits(n_examples=n)
    net = MLP(data.inputs, data.targets, widths=(width,), activation="tanh", loss="cross_entropy")
    theta = run_sgd(net, net.init_params(1, seed=0), lr=0.2, batch_size=32, n_steps=steps, seed=1,
                    record_every=steps).final[0]
    rows = []
    with threadpool_limits(1):
        start = time.perf_counter()
        op = HessianOperator(net, theta)
        dense = np.linalg.eigvalsh(op.dense())[::-1][:K]
        t_dense, p_dense = time.perf_counter() - start, op.n_products
        results = {}
        for method in ("exact", "finite_difference"):
            start = time.perf_counter()
            res = extreme_eigenpairs(net, theta, k=K, method=method, seed=2, tol=1e-10)
            results[method] = (time.perf_counter() - start, res)
    for label, method in (("Lanczos, exact hvp (R-operator)", "exact"),
                          ("Lanczos, finite-difference hvp", "finite_difference")):
        t, res = results[method]
        rows.append([label, f"{t:.2f}", res.n_products, f"{np.abs(res.values - dense).max():.1e}",
                     f"{res.errors.max():.1e}"])
    rows.append(["dense Hessian (d products) + eigvalsh", f"{t_dense:.2f}", p_dense, "0 (reference)", "—"])
    header = ["method", "wall time (s)", "Hessian-vector products", "max abs(λ − λ_dense), top 10",
              "max residual"]
    table = markdown_table(header, rows)
    body = (f"Digits network 64-{width}-10 tanh, cross-entropy, n = {net.n_examples}, d = {net.dim}, after "
            f"{steps} SGD steps; top-10 λ = {np.round(dense, 4).tolist()}.  One BLAS thread, on a machine "
            f"shared with other jobs (timings are upper bounds).\n\n{table}")
    print(body)
    if args.record:
        record(f"Hessian top-{K} eigenvalues (benchmarks/hessian.py{' --quick' if args.quick else ''})", body)


if __name__ == "__main__":
    main()
