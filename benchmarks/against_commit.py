"""Case A of ``langevin_toy.py`` on this tree and on an earlier commit, interleaved, in one run.

A speed regression is only visible against a baseline measured under the same load, so this
script checks the earlier commit out into a temporary folder (``git archive``), then times
the same Euler–Maruyama run (1-D double well, T = 0.25, dt = 1e-3, 1000 steps, 1e5 particles
from x = −1, only the final cloud saved) alternately with each tree, each in a fresh Python
process that imports that tree's ``sgdsde``.  Every process compiles (or loads from its own
Numba cache) once, then times ``--repeat`` runs and reports the best.  The table gives the
median over the alternating rounds of each side's best time, and their ratio.

    python benchmarks/against_commit.py bb732fa            # the commit of the last recorded figure
    python benchmarks/against_commit.py bb732fa --record   # also append the table to RESULTS.md

Both trees draw the same noise (the counter-based generator is unchanged), so the final
clouds must agree bit for bit; the script checks that as well.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# Run in a child process with PYTHONPATH set to one tree: prints best time and a checksum.
CASE_A = """
import json, sys, time
import numpy as np
import sgdsde as sd
sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature=0.25)
x0 = np.full((100_000, 1), -1.0)
def run():
    return sd.simulate(sde, sd.integrators.EulerMaruyama(), x0, dt=1e-3, n_steps=1000, seed=1,
                       progress=False, save=sd.SaveAt(every=1000, start=False)).final
final = run()  # compile, or load the tree's Numba cache
best = float("inf")
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); run(); best = min(best, time.perf_counter() - t)
print(json.dumps({"best": best, "sum": float(final.sum()), "sumsq": float((final**2).sum()),
                  "version": sd.__file__}))
"""


def export_commit(rev: str, into: Path) -> Path:
    """Write the tree of ``rev`` into ``into`` (no checkout, no worktree bookkeeping)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def time_tree(tree: Path, repeat: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CASE_A, str(repeat)], env=env, cwd=tree,
                         check=True, capture_output=True, text=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if not result["version"].startswith(str(tree)):
        raise RuntimeError(f"imported {result['version']}, not the tree {tree}")
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit (e.g. the one that recorded the last figure)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per process (default 3)")
    parser.add_argument("--record", action="store_true", help="append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.repeat < 1:
        parser.error("--rounds and --repeat must be >= 1")
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.rev], check=True,
                         capture_output=True, text=True).stdout.strip()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "sgdsde"],
                                capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory(prefix=f"sgdsde-{rev}-") as tmp:
        old_tree = export_commit(rev, Path(tmp))
        times = {"old": [], "new": []}
        results = {}
        for i in range(args.rounds):
            for side, tree in (("old", old_tree), ("new", ROOT)):
                results[side] = time_tree(tree, args.repeat)
                times[side].append(results[side]["best"])
            print(f"round {i + 1}: {rev} {times['old'][-1]:.3f} s, this tree {times['new'][-1]:.3f} s",
                  flush=True)
    same = all(results["old"][k] == results["new"][k] for k in ("sum", "sumsq"))
    t_old, t_new = statistics.median(times["old"]), statistics.median(times["new"])
    label = f"{head}{' + uncommitted changes' if dirty else ''}"
    rows = [[f"{rev} (earlier commit)", f"{t_old:.3f}", ", ".join(f"{t:.3f}" for t in times["old"]), "1.00"],
            [f"{label} (this tree)", f"{t_new:.3f}", ", ".join(f"{t:.3f}" for t in times["new"]),
             f"{t_new / t_old:.2f}"]]
    table = markdown_table(["tree", "median of best (s)", "best per round (s)", "÷ earlier"], rows)
    table += (f"\n\nCase A (1e5 particles × 1000 EM steps, double well), {args.rounds} alternating rounds "
              f"of {args.repeat} timed runs per process. Final clouds bit for bit equal: "
              f"{'yes' if same else 'NO'}.")
    print(table)
    if args.record:
        record(f"against_commit.py — case A, this tree vs {rev}, same run", table)
    if not same:
        sys.exit("the two trees' final clouds differ: the noise stream or the step changed")


if __name__ == "__main__":
    main()
