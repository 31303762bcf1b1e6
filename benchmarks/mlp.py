"""Batched MLP gradient: sgdsde's MLP against the same GEMMs done bare in NumPy, in one run.

Case (issue 18): M = 256 networks of ≈ 10⁴ parameters (64 inputs, hidden widths 64 and 64,
10 classes, tanh or ReLU, cross-entropy: d = 8970), each on its own minibatch of 64 examples
(the shape of an SGD ensemble step, ``batch_grad(theta, idx)`` with idx of shape (M, 64)).

The yardstick does only the eight batched matrix products a forward and backward pass
needs (three forward, two back-propagations through the weights, three weight gradients)
with ``np.matmul`` into preallocated outputs, on arrays of the same shapes and dtype and in
the same per-matrix memory layout, and nothing else: no activations, no loss, no gathering
of the batch, no flattening.  The ratio yardstick/sgdsde is the fraction of the bare GEMM
rate the library reaches (target of issue 18: ≥ 50 %).  float64 and float32.

The library runs its pass over blocks of particles that fit in cache
(``sgdsde.landscapes.mlp._BLOCK_ENTRIES``), and a 64-wide product is itself faster on operands
in cache than streamed from memory.  So the table also gives a stricter yardstick: the same
eight products done bare block by block, with the library's block size, into block-sized
outputs.  The library's rate against it is the fraction of the best GEMM rate reached.

Fairness on a shared machine: both sides run with one BLAS thread (set here with
threadpoolctl, whatever the environment says), in the same process, and are timed
alternately (library, bare, bare in blocks, library, …) so that load from other processes falls on
both alike; the table gives the median of each side's repeats and the ratio of the
medians.  ``--runs 3`` repeats the whole measurement three times, one row per run, so the
spread between runs is visible.

Run ``python benchmarks/mlp.py`` (``--quick`` for a small size, ``--record`` to append the
table to RESULTS.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, record  # noqa: E402

from sgdsde.landscapes.mlp import MLP  # noqa: E402


def bare_operands(m, batch, sizes, dtype, rng):
    """Random operands and preallocated outputs of the eight products, shapes as in the pass."""
    def normal(*shape):
        return rng.normal(size=shape).astype(dtype)

    widths_in, widths_out = sizes[:-1], sizes[1:]
    return {
        "ws": [normal(m, o, i) for i, o in zip(widths_in, widths_out)],      # W_l (M, n_l, n_{l-1})
        "hs": [normal(m, batch, i) for i in widths_in],                      # h_{l-1} (M, b, n_{l-1})
        "deltas": [normal(m, batch, o) for o in widths_out],                 # δ_l (M, b, n_l)
        "pre": [np.empty((m, batch, o), dtype) for o in widths_out],         # a_l = h_{l-1} W_lᵀ
        "back": [np.empty((m, batch, i), dtype) for i in widths_in[1:]],     # δ_l W_l, l ≥ 2
        "grads": [np.empty((m, o, i), dtype) for i, o in zip(widths_in, widths_out)],  # δ_lᵀ h_{l-1}
    }


def bare_gemms(ws, hs, deltas, pre, back, grads):
    """The eight batched products of one forward + backward pass, into preallocated outputs."""
    for w, h, a in zip(ws, hs, pre):  # forward: a_l = h_{l-1} W_lᵀ
        np.matmul(h, w.transpose(0, 2, 1), out=a)
    for w, d, out in zip(ws[1:], deltas[1:], back):  # back through the weights: δ_l W_l, l ≥ 2
        np.matmul(d, w, out=out)
    for d, h, g in zip(deltas, hs, grads):  # weight gradients: δ_lᵀ h_{l-1}
        np.matmul(d.transpose(0, 2, 1), h, out=g)


def bare_gemms_blocked(step, ws, hs, deltas, pre, back, grads):
    """The same products block by block, ``step`` particles at a time, into block-sized outputs."""
    m = ws[0].shape[0]
    for start in range(0, m, step):
        block = slice(start, min(start + step, m))
        n = block.stop - start
        bare_gemms([w[block] for w in ws], [h[block] for h in hs], [d[block] for d in deltas],
                   [a[:n] for a in pre], [b[:n] for b in back], [g[block] for g in grads])


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_case(m, batch, widths, activation, dtype, repeat):
    """Median seconds of ``batch_grad`` and of the bare products (whole cloud, in blocks), alternately."""
    rng = np.random.default_rng(0)
    p, k, n = 64, 10, 2048
    net = MLP(rng.normal(size=(n, p)), rng.integers(0, k, n), widths=widths, activation=activation)
    theta = net.init_params(m, seed=1, dtype=dtype)
    idx = rng.integers(0, n, size=(m, batch))
    operands = bare_operands(m, batch, net.layer_sizes, dtype, rng)
    step = net._particles_per_block(batch)  # the library's block size
    blocked = bare_operands(m, batch, net.layer_sizes, dtype, rng)
    blocked.update(pre=[a[:step] for a in blocked["pre"]], back=[b[:step] for b in blocked["back"]])
    sides = {"lib": lambda: net.batch_grad(theta, idx), "bare": lambda: bare_gemms(**operands),
             "blocked": lambda: bare_gemms_blocked(step, **blocked)}
    times = {name: [] for name in sides}
    for fn in sides.values():  # warm-up (and the library's cast cache)
        fn()
    for _ in range(repeat):  # interleaved, so all see the same load on the shared machine
        for name, fn in sides.items():
            times[name].append(_timed(fn))
    sizes = net.layer_sizes
    macs = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    flops = 2 * m * batch * (3 * macs - p * sizes[1])  # no back-propagation into the inputs
    return net.dim, {name: float(np.median(t)) for name, t in times.items()}, flops, step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small size (M = 16)")
    parser.add_argument("--runs", type=int, default=1, help="independent repetitions of the table")
    parser.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    args = parser.parse_args(argv)
    if args.runs < 1:
        raise ValueError(f"--runs must be >= 1, got {args.runs}")
    m, repeat = (16, 3) if args.quick else (256, 21)
    batch, widths = 64, [64, 64]
    rows = []
    load_before = os.getloadavg()
    with threadpool_limits(limits=1, user_api="blas"):
        for run in range(1, args.runs + 1):
            for activation in ("relu", "tanh"):
                for dtype in (np.float64, np.float32):
                    d, t, flops, step = run_case(m, batch, widths, activation, dtype, repeat)
                    rows.append([run, activation, np.dtype(dtype).name, d,
                                 *(f"{t[side] * 1e3:.2f}" for side in ("lib", "bare", "blocked")),
                                 *(f"{flops / t[side] / 1e9:.2f}" for side in ("lib", "bare", "blocked")),
                                 f"{100 * t['bare'] / t['lib']:.0f} %",
                                 f"{100 * t['blocked'] / t['lib']:.0f} %"])
    load_after = os.getloadavg()
    table = markdown_table(["run", "activation", "dtype", "d", "sgdsde batch_grad (ms)", "bare GEMMs (ms)",
                            "bare GEMMs in blocks (ms)", "sgdsde GFLOP/s", "bare GFLOP/s",
                            "blocked GFLOP/s", "sgdsde / bare rate", "sgdsde / blocked rate"], rows)
    body = (f"M = {m} networks (64 → {widths[0]} → {widths[1]} → 10, cross-entropy), each on its own "
            f"batch of {batch}; median of {repeat} repeats, the library and the two bare yardsticks "
            f"timed alternately; blocks of {step} particles; one BLAS thread "
            f"on every side; {args.runs} independent run(s).  Load "
            f"average (1, 5, 15 min) {', '.join(f'{v:.1f}' for v in load_before)} before and "
            f"{', '.join(f'{v:.1f}' for v in load_after)} after (other processes share the cores).\n\n"
            + table)
    print(body)
    if args.record:
        record("mlp.py — batched MLP gradient vs bare GEMMs", body)


if __name__ == "__main__":
    main()
