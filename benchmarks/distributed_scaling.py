"""Sharded clouds on Dask: scaling from 1 to 2 workers, and the per-task overhead (issue 11).

A 1-D double-well cloud (Leimkuhler–Matthews, 2e6 particles, 500 steps) is simulated

* in this process with one Numba thread (the serial reference),
* sharded on a LocalCluster of 1 worker and of 2 workers (one process, one thread each),

and the parallel efficiency ``t(1 worker) / (2 · t(2 workers))`` is reported.  The per-task
overhead is the mean wall time per task of 200 tasks that do nothing, submitted at once.

    python benchmarks/distributed_scaling.py [--quick] [--record]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, record  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10x fewer particles")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)

    import numba
    from distributed import Client, LocalCluster

    import sgdsde as sd
    from sgdsde.distributed import simulate_sharded

    m = 200_000 if args.quick else 2_000_000
    n_steps = 500
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature=0.25)
    lm = sd.integrators.LeimkuhlerMatthews()
    x0 = np.full((m, 1), -1.0)
    kw = dict(dt=1e-3, n_steps=n_steps, seed=1, save=sd.SaveAt(every=n_steps, start=False))

    numba.set_num_threads(1)
    sd.simulate(sde, lm, x0[:100], progress=False, **kw)  # compile
    start = time.perf_counter()
    serial = sd.simulate(sde, lm, x0, progress=False, **kw)
    t_serial = time.perf_counter() - start

    rows, times = [], {}
    for n_workers in (1, 2):
        with LocalCluster(n_workers=n_workers, threads_per_worker=1, dashboard_address=None,
                          env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}) as cluster, \
                Client(cluster) as client:
            simulate_sharded(sde, lm, x0[:100 * n_workers], client=client, **kw)  # warm the workers
            start = time.perf_counter()
            traj = simulate_sharded(sde, lm, x0, client=client, n_shards=n_workers, **kw)
            times[n_workers] = time.perf_counter() - start
            assert np.array_equal(traj.final, serial.final), "sharded result differs from the serial one"
            if n_workers == 2:
                client.submit(lambda: None).result()
                start = time.perf_counter()
                client.gather([client.submit(lambda i: i, i, pure=False) for i in range(200)])
                overhead = (time.perf_counter() - start) / 200
    work = m * n_steps
    rows.append(["serial, 1 Numba thread", f"{t_serial:.2f}", f"{work / t_serial:.3g}", "—"])
    for n_workers, t in times.items():
        eff = times[1] / (n_workers * t)
        rows.append([f"Dask, {n_workers} worker(s) x 1 thread", f"{t:.2f}", f"{work / t:.3g}", f"{eff:.2f}"])
    text = (f"Double well, Leimkuhler–Matthews, {m:.0e} particles x {n_steps} steps; sharded finals equal "
            "the serial run bit for bit.\n\n"
            + markdown_table(["run", "wall time (s)", "particle-steps/s", "parallel efficiency"], rows)
            + f"\n\nPer-task overhead (200 empty tasks on 2 workers): {overhead * 1e3:.2f} ms per task.")
    print(text)
    if args.record:
        record("distributed_scaling.py — sharded clouds on a LocalCluster", text)


if __name__ == "__main__":
    main()
