"""Batched MLP gradient: sgdsde's MLP against the same GEMMs done bare in NumPy, in one run.

Case (issue 18): M = 256 networks of ≈ 10⁴ parameters (64 inputs, hidden widths 64 and 64,
10 classes, tanh, cross-entropy: d = 8970), each on its own minibatch of 64 examples (the
shape of an SGD ensemble step, ``batch_grad(theta, idx)`` with idx of shape (M, 64)).

The yardstick does only the eight batched matrix products a forward and backward pass
needs (three forward, two back-propagations through the weights, three weight gradients)
with ``np.matmul`` on arrays of the same shapes, nothing else: no activations, no loss, no
gathering of the batch, no flattening.  The ratio yardstick/sgdsde is the fraction of the
bare GEMM rate the library reaches (target of issue 18: ≥ 50 %).  float64 and float32.

The machine is shared by 8 agents while this runs: times are the best of several repeats,
the two timed alternately.

Run ``python benchmarks/mlp.py`` (``--quick`` for a small size, ``--record`` to append the
table to RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, markdown_table, record  # noqa: E402

from sgdsde.landscapes.mlp import MLP  # noqa: E402


def bare_gemms(ws, x, deltas, hs):
    """The eight batched products of one forward + backward pass, on ready-made operands."""
    h = x
    for w in ws:  # forward: h W^T
        h = np.matmul(h, w.transpose(0, 2, 1))
    for w, d in zip(ws[1:][::-1], deltas[::-1][:-1]):  # back through the weights: δ W
        np.matmul(d, w)
    for d, a in zip(deltas, hs):  # weight gradients: δ^T h
        np.matmul(d.transpose(0, 2, 1), a)


def run_case(m, batch, widths, activation, dtype, repeat):
    rng = np.random.default_rng(0)
    p, k, n = 64, 10, 2048
    net = MLP(rng.normal(size=(n, p)), rng.integers(0, k, n), widths=widths, activation=activation)
    theta = net.init_params(m, seed=1, dtype=dtype)
    idx = rng.integers(0, n, size=(m, batch))
    sizes = net.layer_sizes
    ws = [rng.normal(size=(m, o, i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
    x = rng.normal(size=(m, batch, p)).astype(dtype)
    deltas = [rng.normal(size=(m, batch, o)).astype(dtype) for o in sizes[1:]]
    hs = [rng.normal(size=(m, batch, i)).astype(dtype) for i in sizes[:-1]]
    net.batch_grad(theta, idx)  # warm-up (and the cast cache)
    t_lib = t_bare = float("inf")
    for _ in range(repeat):  # interleaved, so both see the same load on the shared machine
        t_lib = min(t_lib, best_time(lambda: net.batch_grad(theta, idx), 1))
        t_bare = min(t_bare, best_time(lambda: bare_gemms(ws, x, deltas, hs), 1))
    macs = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    flops = 2 * m * batch * (3 * macs - p * sizes[1])  # no back-propagation into the inputs
    return net.dim, t_lib, t_bare, flops


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small size (M = 16)")
    parser.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    args = parser.parse_args(argv)
    m, repeat = (16, 3) if args.quick else (256, 15)
    batch, widths = 64, [64, 64]
    rows = []
    for activation in ("relu", "tanh"):
        for dtype in (np.float64, np.float32):
            d, t_lib, t_bare, flops = run_case(m, batch, widths, activation, dtype, repeat)
            rows.append([activation, np.dtype(dtype).name, d, f"{t_lib * 1e3:.2f}", f"{t_bare * 1e3:.2f}",
                         f"{flops / t_lib / 1e9:.2f}", f"{flops / t_bare / 1e9:.2f}",
                         f"{100 * t_bare / t_lib:.0f} %"])
    table = markdown_table(["activation", "dtype", "d", "sgdsde batch_grad (ms)", "bare GEMMs (ms)",
                            "sgdsde GFLOP/s", "bare GFLOP/s", "sgdsde / bare rate"], rows)
    body = (f"M = {m} networks (64 → {widths[0]} → {widths[1]} → 10, cross-entropy), each on its own "
            f"batch of {batch}; best of {repeat}; one BLAS thread; the machine is shared by 8 agents "
            "(load average about 10 on 2 cores while this ran: times are noisy upward).\n\n" + table)
    print(body)
    if args.record:
        record("mlp.py — batched MLP gradient vs bare GEMMs", body)


if __name__ == "__main__":
    main()
