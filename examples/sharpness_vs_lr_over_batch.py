"""Sharpness of SGD endpoints against η/B, run as one sweep through sgdsde.distributed.sweep.

A 64-16-10 tanh network (cross-entropy, n = 500 digits) is trained by minibatch SGD from one
initialisation for the same SDE time t = k·η at every (η, B) of a grid; at each endpoint the
top Hessian eigenvalue (Lanczos, residual bound) and the trace (Hutch++, ± SE) are measured.
SGD's temperature is T = η/(2B) (Jastrzębski et al. 2017, arXiv:1711.04623); the question is
whether endpoints at larger η/B are flatter.  Each point is a task of one
:func:`sgdsde.distributed.sweep` (a thread cluster here; pass a Dask client to scale out).

    python examples/sharpness_vs_lr_over_batch.py            # full figure (minutes)
    python examples/sharpness_vs_lr_over_batch.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure

N_EXAMPLES = {"smoke": 100, "full": 500}


def digits_network_small():
    """The smoke-size landscape (module level, so that Dask workers can import it)."""
    return _digits_network(N_EXAMPLES["smoke"])


def digits_network_full():
    """The full-size landscape."""
    return _digits_network(N_EXAMPLES["full"])


def _digits_network(n):
    from sgdsde.landscapes import MLP
    from sgdsde.sgd.data import load_digits

    data = load_digits(n_examples=n)
    return MLP(data.inputs, data.targets, widths=(16,), activation="tanh", loss="cross_entropy")


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.geometry import sharpness_sweep

    if args.smoke:
        make, lrs, batches, t = digits_network_small, [0.1, 0.2], [8, 32], 2.0
    else:
        make, lrs, batches, t = digits_network_full, [0.025, 0.05, 0.1, 0.2, 0.4], [4, 16, 64], 100.0
    res = sharpness_sweep(make, lrs, batches, sde_time=t, n_trace_products=60, seed=0, progress=False)
    failed = res.failed
    if failed:
        raise RuntimeError(f"sweep points failed: {failed}")
    ratio, lam = res.column("lr_over_batch"), res.column("lambda_max")
    lam_err = res.column("lambda_max_error")
    trace, trace_se, loss = res.column("trace"), res.column("trace_stderr"), res.column("loss")
    bs = np.array([p["batch_size"] for p in res.params])
    lr = np.array([p["lr"] for p in res.params])
    print(f"{'η':>6} {'B':>4} {'η/B':>9} {'loss':>8} {'λ_max':>9} {'Tr H':>16}")
    for i in np.argsort(ratio):
        print(f"{lr[i]:6.3f} {bs[i]:4d} {ratio[i]:9.5f} {loss[i]:8.4f} {lam[i]:9.4f} "
              f"{trace[i]:9.3f} ± {trace_se[i]:.3f}")
    for name, y in (("λ_max", lam), ("Tr H", trace)):
        slope, intercept = np.polyfit(np.log(ratio), np.log(y), 1)
        print(f"log-log slope of {name} against η/B: {slope:+.3f}")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for b, color in zip(sorted(set(bs)), ("C0", "C1", "C3")):
        m = bs == b
        o = np.argsort(ratio[m])
        ax1.errorbar(ratio[m][o], lam[m][o], yerr=lam_err[m][o], fmt="o-", color=color, label=f"B = {b}")
        ax2.errorbar(ratio[m][o], trace[m][o], yerr=trace_se[m][o], fmt="s-", color=color, label=f"B = {b}")
    ax1.set(xscale="log", yscale="log", xlabel="η/B", ylabel=r"$\lambda_{\max}$ at the endpoint",
            title=f"SGD endpoints after t = kη = {t:g}")
    ax2.set(xscale="log", yscale="log", xlabel="η/B", ylabel="Tr H at the endpoint (Hutch++ ± SE)",
            title=f"digits MLP 64-16-10, n = {N_EXAMPLES['smoke' if args.smoke else 'full']}")
    ax1.legend(frameon=False, fontsize=8)
    save_figure(fig, args.out, "sharpness_vs_lr_over_batch", args.smoke)


if __name__ == "__main__":
    main()
