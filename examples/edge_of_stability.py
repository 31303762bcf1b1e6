"""Edge of stability: full-batch gradient descent on a digits network drives λ_max to 2/η.

Full-batch GD (MSE on one-hot targets, 64-32-10 tanh network, n digits) at several learning
rates η; the sharpness λ_max of the training-loss Hessian is measured every few steps by
Lanczos on exact Hessian-vector products (warm-started).  Top: λ_max·η/2 against steps, with
the band |λ_max·η/2 − 1| ≤ 0.1 (:mod:`sgdsde.geometry.edge_of_stability` says why); the
fraction of the second half of the records inside it is printed and drawn in the legend
(Cohen et al., ICLR 2021, arXiv:2103.00065).  Bottom: the training loss, which keeps falling,
non-monotonically, once the edge is reached.

    python examples/edge_of_stability.py            # full figure (minutes)
    python examples/edge_of_stability.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.geometry import fraction_near_edge, sharpness_along_gd
    from sgdsde.landscapes import MLP
    from sgdsde.sgd.data import load_digits

    n, steps, every, lrs = (100, 60, 20, [0.5]) if args.smoke else (500, 3000, 25, [0.25, 0.5, 1.0])
    data = load_digits(n_examples=n)
    net = MLP(data.inputs, np.eye(10)[data.targets], widths=(32,), activation="tanh", loss="mse")
    theta0 = net.init_params(1, seed=0)[0]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True, layout="constrained")
    band = 0.1
    for lr, color in zip(lrs, ("C0", "C1", "C3")):
        tr = sharpness_along_gd(net, theta0, lr=lr, n_steps=steps, record_every=every)
        frac = fraction_near_edge(tr, band=band, late=0.5)
        late = tr.edge_ratio[tr.steps >= tr.steps[-1] / 2]
        print(f"η = {lr}: λ_max η/2 from {tr.edge_ratio[0]:.3f} to {tr.edge_ratio[-1]:.3f}; late records: "
              f"median {np.median(late):.3f}, range [{late.min():.3f}, {late.max():.3f}], within ±{band:g}: "
              f"{100 * frac:.0f} %; final loss {tr.loss[-1]:.4f}; {tr.n_products} Hessian-vector products")
        ax1.plot(tr.steps, tr.edge_ratio, color=color,
                 label=f"η = {lr}: {100 * frac:.0f} % of late records in band")
        ax2.semilogy(np.arange(tr.loss.size), tr.loss, color=color, lw=0.8)
    ax1.axhspan(1 - band, 1 + band, color="k", alpha=0.08)
    ax1.axhline(1.0, color="k", lw=0.8, ls="--")
    ax1.set(ylabel=r"$\lambda_{\max}\,\eta/2$", title=f"full-batch GD, digits n = {n}, MLP 64-32-10, MSE, "
                                                      f"d = {net.dim}")
    ax1.legend(frameon=False, fontsize=8)
    ax2.set(xlabel="step", ylabel="training loss")
    save_figure(fig, args.out, "edge_of_stability", args.smoke)


if __name__ == "__main__":
    main()
