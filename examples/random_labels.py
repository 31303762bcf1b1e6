"""Memorisation: SGD ensembles fit true, partly random and fully random labels, and random pixels.

A one-hidden-layer tanh network (16 units, d = 1210) on 300 digits, trained by SGD
(η = 0.1, B = 10) as an ensemble of 8 runs (one cloud, one seed), on the true labels, on
labels of which a fraction ρ ∈ {0.2, 0.5, 0.8, 1} is replaced by random classes, and on
random pixels (each image's pixels permuted independently), after Zhang et al. (ICLR 2017,
arXiv:1611.03530, figure 1).  Left: training accuracy against steps (median over the
runs).  Middle: steps to 100 % training accuracy against ρ (median and the full range).
Right: test accuracy on 797 held-out digits when the training set is first fitted.

    python examples/random_labels.py            # 8 runs, up to 20 000 steps per setting
    python examples/random_labels.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure

RHOS = (0.0, 0.2, 0.5, 0.8, 1.0)


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.generalisation.random_labels import corrupt_labels, random_pixels, train_to_fit
    from sgdsde.landscapes.mlp import MLP
    from sgdsde.sgd import load_digits

    digits = load_digits()
    if args.smoke:
        n_train, width, runs, n_steps, every, rhos = 60, 16, 2, 400, 50, (0.0, 1.0)
    else:
        n_train, width, runs, n_steps, every, rhos = 300, 16, 8, 20_000, 250, RHOS
    x, y = digits.inputs[:n_train], digits.targets[:n_train]
    test = (digits.inputs[1000:], digits.targets[1000:])
    settings = {f"ρ = {rho:g}": (x, corrupt_labels(y, rho, 10, seed=7)) for rho in rhos}
    settings["random pixels"] = (random_pixels(x, seed=9), y)

    results = {}
    print(f"{'setting':>14} {'steps to fit: median [min, max]':>34} {'fitted':>7} {'test acc. at fit':>22}")
    for name, (inputs, labels) in settings.items():
        net = MLP(inputs, labels, widths=(width,), activation="tanh", n_outputs=10)
        res = train_to_fit(net, net.init_params(runs, seed=1), lr=0.1, batch_size=10, n_steps=n_steps,
                           check_every=every, seed=2, test=test)
        results[name] = res
        s, acc = res.steps_to_fit, res.test_accuracy_at_fit
        print(f"{name:>14} {np.median(s):12.0f} [{s.min():.0f}, {s.max():.0f}]{'':>12} "
              f"{res.fitted.sum():3d}/{runs} {np.nanmean(acc):8.3f} ± {np.nanstd(acc, ddof=1):.3f}")

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(settings)))
    for (name, res), color in zip(results.items(), colors):
        ls = "--" if name == "random pixels" else "-"
        ax1.plot(res.steps, np.median(res.train_accuracy, axis=1), ls, color=color, label=name)
    ax1.set(xlabel="SGD step", ylabel="training accuracy (median over runs)", ylim=(0, 1.02),
            title=f"{n_train} digits, tanh network h = {width}, {runs} runs")
    ax1.legend(frameon=False, fontsize=8)

    rho_values = np.array(rhos)
    for ax, key, label in ((ax2, "steps_to_fit", "steps to 100 % training accuracy"),
                           (ax3, "test_accuracy_at_fit", "test accuracy when fitted")):
        values = [getattr(results[f"ρ = {r:g}"], key) for r in rhos]
        med = np.array([np.nanmedian(v) for v in values])
        lo = np.array([np.nanmin(v) for v in values])
        hi = np.array([np.nanmax(v) for v in values])
        ax.errorbar(rho_values, med, yerr=[med - lo, hi - med], fmt="o-", color="C0", mfc="white", capsize=3,
                    label="corrupted labels (median, range)")
        pix = getattr(results["random pixels"], key)
        ax.errorbar([1.05], [np.nanmedian(pix)], yerr=[[np.nanmedian(pix) - np.nanmin(pix)],
                                                        [np.nanmax(pix) - np.nanmedian(pix)]],
                    fmt="s", color="C3", mfc="white", capsize=3, label="random pixels")
        ax.set(xlabel="label corruption ρ", ylabel=label)
        ax.legend(frameon=False, fontsize=8)
    ax3.axhline(0.1, color="grey", ls=":", lw=1)
    ax3.set_ylim(0, 1)
    ax2.set_title("time to memorise")
    ax3.set_title("generalisation (dotted: chance)")

    save_figure(fig, args.out, "random_labels", args.smoke)


if __name__ == "__main__":
    main()
