"""Noise stability (Arora et al. 2018): trained networks damp injected noise; random-label ones less.

A tanh network with three hidden layers of 32 units on 200 digits, trained by SGD (η = 0.1,
B = 10; an ensemble of runs, one cloud) until it fits its training set, once on the true
labels and once on random labels (ρ = 1), and compared with the same networks at
initialisation.  Gaussian noise of relative size ε = 0.1 is added to the output of the first
hidden layer; left: the relative change of every layer above it (mean over training inputs
and 4 noise draws; median over runs, bars: range over runs); right: the layer cushions μ_i of Arora, Ge,
Neyshabur & Zhang (ICML 2018, arXiv:1802.05296), as the 10 % quantile over inputs
(:mod:`sgdsde.generalisation.noise_stability`).

    python examples/noise_stability.py            # 4 runs per training set
    python examples/noise_stability.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure

EPSILON, INJECT_AT = 0.1, 1


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.generalisation.noise_stability import layer_cushion, noise_attenuation
    from sgdsde.generalisation.random_labels import accuracy, corrupt_labels, train_to_fit
    from sgdsde.landscapes.mlp import MLP
    from sgdsde.sgd import load_digits

    digits = load_digits()
    if args.smoke:
        n_train, widths, runs, n_steps, every = 50, (16, 16, 16), 2, 300, 100
    else:
        n_train, widths, runs, n_steps, every = 200, (32, 32, 32), 4, 15_000, 250
    x, y = digits.inputs[:n_train], digits.targets[:n_train]
    test = (digits.inputs[1000:], digits.targets[1000:])
    nets = {"true labels": MLP(x, y, widths=widths, n_outputs=10),
            "random labels": MLP(x, corrupt_labels(y, 1.0, 10, seed=7), widths=widths, n_outputs=10)}
    theta0 = nets["true labels"].init_params(runs, seed=1)
    trained = {}
    for name, net in nets.items():
        res = train_to_fit(net, theta0, lr=0.1, batch_size=10, n_steps=n_steps, check_every=every, seed=2,
                           test=test)
        trained[name] = (net, res.final)
        print(f"{name}: fitted {res.fitted.sum()}/{runs} (steps {res.steps_to_fit.tolist()}), final training "
              f"accuracy {np.round(res.train_accuracy[-1], 3).tolist()}, test accuracy "
              f"{np.round(accuracy(net, res.final, *test), 3).tolist()}")
    trained["initialisation"] = (nets["true labels"], theta0)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    colors = {"true labels": "C0", "random labels": "C3", "initialisation": "k"}
    n_layers = nets["true labels"].n_layers
    above = np.arange(INJECT_AT, n_layers + 1)
    print(f"relative change of layers {above.tolist()} after noise ε = {EPSILON} at layer {INJECT_AT} "
          "(median over runs [min, max]);")
    print("layer cushions μ_1..μ_L (10 % quantile over inputs, median over runs)")
    for name, (net, theta) in trained.items():
        rel = noise_attenuation(net, theta, INJECT_AT, EPSILON, seed=3, n_draws=4)  # (M, layers)
        med = np.median(rel, axis=0)
        ax1.errorbar(above, med, yerr=[med - rel.min(axis=0), rel.max(axis=0) - med], fmt="o-",
                     color=colors[name], mfc="white", capsize=3, label=name)
        mu = layer_cushion(net, theta, quantile=0.1)
        ax2.plot(np.arange(1, n_layers + 1), np.median(mu, axis=0), "o-", color=colors[name], mfc="white",
                 label=name)
        print(f"{name:>15}: " + ", ".join(f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in
                                          zip(med, rel.min(axis=0), rel.max(axis=0)))
              + f"; μ = {np.round(np.median(mu, axis=0), 3).tolist()}")
    ax1.set(xlabel="layer j (output = last)", ylabel=r"$|h_j' - h_j| / |h_j|$", yscale="log",
            title=f"noise ε = {EPSILON} added at layer {INJECT_AT}, {n_train} digits, widths {widths}")
    ax1.set_xticks(above)
    ax1.legend(frameon=False, fontsize=8)
    ax2.set(xlabel="layer i", ylabel=r"layer cushion $\mu_i$ (10 % quantile)",
            title="how much of |W_i|_F the layer's inputs use")
    ax2.set_xticks(np.arange(1, n_layers + 1))
    ax2.legend(frameon=False, fontsize=8)

    save_figure(fig, args.out, "noise_stability", args.smoke)


if __name__ == "__main__":
    main()
