"""Hessian spectra of a digits network from Hessian-vector products: bulk plus outliers.

Left: the eigenvalue density of the training-loss Hessian of a 64-16-k tanh network
(cross-entropy, n examples of the sklearn digits) at initialisation and after SGD, by
stochastic Lanczos quadrature (mean ± SE over probes), with the top eigenvalues from Lanczos
marked, and checked against dense ``eigvalsh`` (d ≤ 2000).
Right: after training on k classes, the number of eigenvalues standing out of the bulk
(the largest relative gap among the top 3k + 5) against k, with the lines k and k − 1 of
Sagun et al. (arXiv:1706.04454).  A measurement: the count is printed as found.

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


def count_outliers(top):
    """Outliers = eigenvalues above the largest relative gap λ_i/λ_{i+1} of the sorted top list."""
    top = np.sort(np.asarray(top))[::-1]
    pos = top[top > 0]
    ratios = pos[:-1] / pos[1:]
    return int(np.argmax(ratios)) + 1


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


def outlier_panel(ax, n_examples, n_steps, ks):
    from sgdsde.geometry import extreme_eigenpairs

    counts = []
    for k in ks:
        net, _, theta = train(n_examples, list(range(k)), n_steps, seed=10 + k)
        top = extreme_eigenpairs(net, theta, k=min(3 * k + 5, net.dim - 2), seed=3)
        counts.append(count_outliers(top.values))
        print(f"k = {k:2d} classes (n = {net.n_examples}): loss {net.energy(theta[None])[0]:.3f}, "
              f"top λ {np.round(top.values[:k + 2], 3)}, outliers by the largest gap: {counts[-1]}")
    ax.plot(ks, counts, "o-", color="C3", label="outliers (largest relative gap)")
    ax.plot(ks, ks, "k--", lw=0.8, label="k")
    ax.plot(ks, np.subtract(ks, 1), "k:", lw=0.8, label="k − 1")
    ax.set(xlabel="number of classes k", ylabel="eigenvalues outside the bulk",
           title="outliers against classes (Sagun et al. 2017)")
    ax.legend(frameon=False, fontsize=8)


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    if args.smoke:
        density_panel(ax1, n_examples=100, n_steps=50, n_lanczos=20, n_vectors=2, dense_check=False)
        outlier_panel(ax2, n_examples=100, n_steps=50, ks=[2, 3])
    else:
        density_panel(ax1, n_examples=1000, n_steps=4000, n_lanczos=80, n_vectors=8)
        outlier_panel(ax2, n_examples=None, n_steps=4000, ks=[2, 3, 4, 5, 6, 8, 10])
    save_figure(fig, args.out, "hessian_spectrum_digits", args.smoke)


if __name__ == "__main__":
    main()
