"""Generalisation and sharpness of SGD endpoints against η/B, with ensemble spread.

The 64-16-10 tanh network of the landscape-geometry sweep (examples/sharpness_vs_lr_over_batch.py)
on 500 digits, trained by SGD for the same SDE time t = kη = 400 at every (η, B) of a grid,
each point an ensemble of 4 initialisations (one cloud, one seed; the same initialisations
at every point).  At each endpoint: test accuracy on 797 held-out digits and the top Hessian
eigenvalue λ_max (Lanczos, sgdsde.geometry), after Keskar et al. (ICLR 2017,
arXiv:1609.04836) and the temperature T = η/(2B) of the README's conventions
(:func:`sgdsde.generalisation.eta_over_b_sweep`).

    python examples/generalisation_vs_eta_over_b.py            # 4 η × 3 B × 4 runs
    python examples/generalisation_vs_eta_over_b.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.generalisation.sharpness import eta_over_b_sweep
    from sgdsde.landscapes.mlp import MLP
    from sgdsde.sgd import load_digits

    digits = load_digits()
    if args.smoke:
        n_train, lrs, batches, runs, t = 100, [0.1, 0.4], [4, 32], 2, 5.0
    else:
        n_train, lrs, batches, runs, t = 500, [0.05, 0.1, 0.2, 0.4], [4, 16, 64], 4, 400.0
    net = MLP(digits.inputs[:n_train], digits.targets[:n_train], widths=(16,), activation="tanh")
    test = (digits.inputs[1000:], digits.targets[1000:])
    rows = eta_over_b_sweep(net, test, lrs, batches, n_runs=runs, sde_time=t, init_seed=0, seed=1)

    print(f"{'η':>6} {'B':>4} {'η/B':>8} {'steps':>6} {'train loss':>11} {'train acc':>10} "
          f"{'test acc (mean ± sd)':>21} {'λ_max (mean ± sd)':>19}")
    for r in sorted(rows, key=lambda r: r["lr_over_batch"]):
        print(f"{r['lr']:6.3f} {r['batch_size']:4d} {r['lr_over_batch']:8.4f} {r['n_steps']:6d} "
              f"{r['train_loss'].mean():11.4f} {r['train_accuracy'].mean():10.3f} "
              f"{r['test_accuracy'].mean():12.3f} ± {r['test_accuracy'].std(ddof=1):.3f} "
              f"{r['lambda_max'].mean():10.3f} ± {r['lambda_max'].std(ddof=1):.3f}")
    ratio = np.array([r["lr_over_batch"] for r in rows])
    for key in ("test_accuracy", "lambda_max"):
        y = np.array([r[key].mean() for r in rows])
        slope = np.polyfit(np.log(ratio), y if key == "test_accuracy" else np.log(y), 1)[0]
        what = "per e-fold of η/B" if key == "test_accuracy" else "log-log slope"
        print(f"{key}: {what} {slope:+.4f}")

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    colors = dict(zip(batches, ("C0", "C1", "C3", "C2")))
    for b in batches:
        sel = sorted((r for r in rows if r["batch_size"] == b), key=lambda r: r["lr"])
        x = np.array([r["lr_over_batch"] for r in sel])
        for ax, key in ((ax1, "test_accuracy"), (ax2, "lambda_max")):
            vals = [r[key] for r in sel]
            med = np.array([np.median(v) for v in vals])
            lo, hi = np.array([v.min() for v in vals]), np.array([v.max() for v in vals])
            ax.errorbar(x, med, yerr=[med - lo, hi - med], fmt="o-", color=colors[b], mfc="white", capsize=3,
                        label=f"B = {b}")
        lam = np.concatenate([r["lambda_max"] for r in sel])
        ax3.plot(lam, np.concatenate([r["test_accuracy"] for r in sel]), "o", color=colors[b], mfc="white",
                 label=f"B = {b}")
    ax1.set(xscale="log", xlabel="η/B", ylabel="test accuracy (median, range over runs)",
            title=f"{n_train} digits, 64-16-10 tanh, t = kη = {t:g}, {runs} runs")
    ax2.set(xscale="log", yscale="log", xlabel="η/B", ylabel=r"$\lambda_{\max}$ of the endpoint",
            title="sharpness")
    ax3.set(xscale="log", xlabel=r"$\lambda_{\max}$", ylabel="test accuracy", title="every endpoint")
    for ax in (ax1, ax2, ax3):
        ax.legend(frameon=False, fontsize=8)

    save_figure(fig, args.out, "generalisation_vs_eta_over_b", args.smoke)


if __name__ == "__main__":
    main()
