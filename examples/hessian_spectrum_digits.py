"""Hessian spectra of a digits network from Hessian-vector products: bulk plus outliers.

Left: the eigenvalue density of the training-loss Hessian of a 64-16-k tanh network
(cross-entropy, n examples of the sklearn digits) at initialisation and after SGD, by
stochastic Lanczos quadrature (mean ± SE over probes), with the top eigenvalues from Lanczos
marked, and checked against dense ``eigvalsh`` (d ≤ 2000).
Right: outliers against the number of classes C (Sagun et al. arXiv:1706.04454; Papyan
arXiv:1901.08244 traces them to the class means of the logit gradients).  A 64-64-C ReLU
network (cross-entropy, all digits of the first C classes) is trained by full-batch GD from
three initialisations until the training loss falls to f·ln C (ln C is the loss at chance), for
f = 0.2 and f = 0.01; the outliers are counted by
:func:`sgdsde.geometry.count_outliers` (the largest relative gap λ_k/λ_{k+1} among the top
2C + 5 Lanczos eigenvalues), with the lines C and C − 1.

    python examples/hessian_spectrum_digits.py            # full figure (minutes)
    python examples/hessian_spectrum_digits.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def train(n_examples, classes, n_steps, seed=0):
    from sgdsde.landscapes import MLP
    from sgdsde.sgd import run_sgd
    from sgdsde.sgd.data import load_digits

    data = load_digits(n_examples=n_examples, classes=classes)
    net = MLP(data.inputs, data.targets, widths=(16,), activation="tanh", loss="cross_entropy")
    theta0 = net.init_params(1, seed=seed)
    traj = run_sgd(net, theta0, lr=0.2, batch_size=32, n_steps=n_steps, seed=seed + 1, record_every=n_steps)
    return net, theta0[0], traj.final[0]


def density_panel(ax, n_examples, n_steps, n_lanczos, n_vectors, dense_check=True):
    from sgdsde.geometry import HessianOperator, extreme_eigenpairs, spectral_density

    net, theta0, theta = train(n_examples, None, n_steps)
    peak = 0.0
    states = (("initialisation", theta0, "C7"), (f"after {n_steps} SGD steps", theta, "C0"))
    for label, point, color in states:
        op = HessianOperator(net, point)
        dens = spectral_density(op, n_lanczos=n_lanczos, n_vectors=n_vectors, seed=1)
        top = extreme_eigenpairs(op, k=12, seed=2)
        lo, hi = dens.nodes.min(), top.values.max()
        width = (hi - lo) / 100  # resolution of the smoothing: 1 % of this spectrum's range
        grid = np.linspace(lo - 5 * width, hi + 5 * width, 800)
        d, err = dens.density(grid, width)
        peak = max(peak, d.max())
        ax.semilogy(grid, d, color=color, label=f"{label}: SLQ ({dens.n_products} products)")
        ax.fill_between(grid, np.maximum(d - err, 1e-8), d + err, color=color, alpha=0.3)
        ax.plot(top.values, np.full(top.values.size, 2e-5), "|", ms=14, color=color)
        msg = f"{label}: top-5 λ {np.round(top.values[:5], 4)} (residuals ≤ {top.errors.max():.1e}, " \
              f"{top.n_products} products)"
        if dense_check and net.dim <= 2000:
            exact = np.linalg.eigvalsh(net.hessian(point[None])[0])[::-1]
            msg += f"; dense eigvalsh max |Δλ| = {np.abs(exact[:12] - top.values).max():.1e}"
        print(msg)
    ax.set(xlabel="eigenvalue λ", ylabel="density (Gaussian-smoothed, 1 % of the range)",
           ylim=(1e-5, 10 * peak),
           title=f"digits 64-16-10 tanh, cross-entropy, d = {net.dim}")
    ax.legend(frameon=False, fontsize=7)


def train_to_loss(classes, target, seed, width=64, lr=0.2, chunk=5, max_steps=5000):
    """Full-batch GD on a 64-width-C ReLU network (cross-entropy) until the loss ≤ target."""
    from sgdsde.landscapes import MLP
    from sgdsde.sgd import run_sgd
    from sgdsde.sgd.data import load_digits

    data = load_digits(classes=classes)
    net = MLP(data.inputs, data.targets, widths=(width,), activation="relu", loss="cross_entropy")
    theta, steps = net.init_params(1, seed=seed), 0
    while net.energy(theta)[0] > target and steps < max_steps:
        theta = run_sgd(net, theta, lr=lr, batch_size=net.n_examples, n_steps=chunk, seed=seed,
                        record_every=chunk).final
        steps += chunk
    return net, theta[0], steps


def outlier_panel(ax, ks, seeds, fractions, width):
    """Outliers (largest relative gap among the top 2C + 5) after training to loss ≤ f·ln C."""
    from sgdsde.geometry import count_outliers, extreme_eigenpairs

    for fraction, marker, color in zip(fractions, "os", ("C3", "C0")):
        mean, err = [], []
        for c in ks:
            counts = []
            for seed in seeds:
                net, theta, steps = train_to_loss(list(range(c)), fraction * np.log(c), seed, width)
                top = extreme_eigenpairs(net, theta, k=2 * c + 5, seed=3)
                found = count_outliers(top.values)
                counts.append(found.count)
                loss = net.energy(theta[None])[0]
                print(f"C = {c:2d} seed {seed}: loss {loss:.4f} after {steps} GD steps, "
                      f"top λ {np.round(top.values[:c + 1], 3)}, outliers {found.count} "
                      f"(gap {found.ratio:.2f}, next-widest {found.runner_up:.2f})")
            mean.append(np.mean(counts))
            err.append(np.std(counts, ddof=1) / np.sqrt(len(counts)) if len(counts) > 1 else 0.0)
        ax.errorbar(ks, mean, err, fmt=marker + "-", color=color, capsize=3,
                    label=f"trained to loss {fraction:g}·ln C (mean ± SE, {len(seeds)} inits)")
        print(f"loss <= {fraction:g} ln C: mean outliers {np.round(mean, 2)} ± {np.round(err, 2)} "
              f"for C = {ks}")
    ax.plot(ks, ks, "k--", lw=0.8, label="C")
    ax.plot(ks, np.subtract(ks, 1), "k:", lw=0.8, label="C − 1")
    ax.set(xlabel="number of classes C", ylabel="eigenvalues above the largest relative gap",
           title=f"outliers vs classes C: 64-{width}-C ReLU, cross-entropy, GD")
    ax.legend(frameon=False, fontsize=7)


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    if args.smoke:
        density_panel(ax1, n_examples=100, n_steps=50, n_lanczos=20, n_vectors=2, dense_check=False)
        outlier_panel(ax2, ks=[2, 3], seeds=[0], fractions=[0.2], width=8)
    else:
        density_panel(ax1, n_examples=1000, n_steps=4000, n_lanczos=80, n_vectors=8)
        outlier_panel(ax2, ks=[2, 4, 6, 8, 10], seeds=[0, 1, 2], fractions=[0.2, 0.01], width=64)
    save_figure(fig, args.out, "hessian_spectrum_digits", args.smoke)


if __name__ == "__main__":
    main()
