"""The η/B law: at fixed η/B, SGD's stationary cloud is the same whatever η and B.

Near a minimum with Hessian A and per-example gradient covariance D, the SME predicts a
stationary covariance solving ``AΣ + ΣA = (η/B) D`` (docs/theory.md §2), which depends on η and
B only through the temperature-like ratio η/B.  Hence

* the excess loss ``E f − f* = ½ Tr(AΣ) = (η/4B) Tr D`` collapses on one line;
* the cloud's entropy ``½ ln det(2πeΣ) = (d/2) ln(η/B) + const`` grows by d/2 nats per
  e-fold of η/B.

Ensembles of SGD runs on teacher–student least squares (d = 5) are run at three ratios η/B,
one e-fold apart, each with B = 1, 2, 4 (so η = B × ratio).  The entropy is the Gaussian
estimate with Wishart bias correction (:func:`sgdsde.measure.entropy.gaussian_entropy`,
standard error ≈ sqrt(d/2M)).  Each ensemble starts from the Lyapunov Gaussian and relaxes
for eight e-folds of its slowest covariance mode, which forgets the start.  Departures from
the collapse are O(η): the exact discrete covariance (dashes) shows how large they are.
The figure divides out the predicted η/B dependence, so a collapse is a flat line.

    python examples/eta_over_b_collapse.py            # M = 4000 runs per (η, B)
    python examples/eta_over_b_collapse.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def stationary_cloud(loss, star, start_cov, lr, batch, n_particles, relax, seed):
    """Final cloud (M, d) of SGD started from N(θ*, start_cov) after ``relax`` covariance e-folds."""
    from sgdsde.random import STREAM_USER, normals
    from sgdsde.sgd.minibatch import run_sgd

    lam_min = np.linalg.eigvalsh(loss.hessian(star[None])[0]).min()
    z = normals(seed, np.arange(n_particles), 0, loss.dim, STREAM_USER + 20)
    theta0 = star + z @ np.linalg.cholesky(start_cov).T
    n_steps = int(np.ceil(relax / (2 * lr * lam_min)))  # Σ relaxes at rate 2λ per unit time
    return run_sgd(loss, theta0, lr=lr, batch_size=batch, n_steps=n_steps, seed=seed,
                   record_every=n_steps).final


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.landscapes.networks import LinearRegression
    from sgdsde.measure.entropy import gaussian_entropy
    from sgdsde.sgd.data import teacher_student
    from sgdsde.sgd.exact import lyapunov_covariance, sgd_stationary_covariance
    from sgdsde.sgd.noise import gradient_covariance

    if args.smoke:
        n_examples, dim, n_particles, relax = 60, 3, 400, 3.0
    else:
        n_examples, dim, n_particles, relax = 200, 5, 4000, 8.0
    ratios = 0.001 * np.exp(np.arange(3))
    batches = (1, 2, 4)
    data = teacher_student(n_examples, dim, label_noise=0.5, seed=1)
    loss = LinearRegression(data.inputs, data.targets)
    star = loss.minimizer()
    f_star = loss.energy(star[None])[0]
    hess = loss.hessian(star[None])[0]
    per_example = gradient_covariance(loss, star[None], 1)[0]  # D

    def gauss_entropy(cov):
        return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]

    results = []
    for i, ratio in enumerate(ratios):
        for j, batch in enumerate(batches):
            lr = float(ratio * batch)
            start = lyapunov_covariance(hess, per_example / batch, lr)
            cloud = stationary_cloud(loss, star, start, lr, batch, n_particles, relax, seed=10 * i + j)
            excess = loss.energy(cloud) - f_star
            exact = sgd_stationary_covariance(loss, lr, batch)
            results.append({
                "ratio": ratio, "batch": batch, "lr": lr,
                "excess": excess.mean(), "excess_se": excess.std(ddof=1) / np.sqrt(n_particles),
                "excess_exact": 0.5 * np.trace(hess @ exact),
                "entropy": gaussian_entropy(cloud), "entropy_se": np.sqrt(dim / (2 * n_particles)),
                "entropy_exact": gauss_entropy(exact),
            })

    print(f"linear regression n = {n_examples}, d = {dim}, M = {n_particles} runs per (η, B)")
    print(f"{'eta/B':>8} {'B':>3} {'eta':>7} {'excess loss':>12} {'SE':>9} {'(η/4B)TrD':>10} "
          f"{'exact':>10} {'entropy':>8} {'SE':>6} {'exact':>8}")
    for r in results:
        print(f"{r['ratio']:8.5f} {r['batch']:3d} {r['lr']:7.4f} {r['excess']:12.6f} {r['excess_se']:9.2e} "
              f"{r['ratio'] * np.trace(per_example) / 4:10.6f} {r['excess_exact']:10.6f} "
              f"{r['entropy']:8.3f} {r['entropy_se']:6.3f} {r['entropy_exact']:8.3f}")
    log_ratio = np.log([r["ratio"] for r in results])
    entropy = np.array([r["entropy"] for r in results])
    slope, _ = np.polyfit(log_ratio, entropy, 1)
    slope_exact = np.polyfit(log_ratio, [r["entropy_exact"] for r in results], 1)[0]
    print(f"entropy per e-fold of η/B: measured {slope:.3f}, exact SGD covariance {slope_exact:.3f}, "
          f"SME prediction d/2 = {dim / 2}")

    # Compensated plots: divide out the predicted η/B dependence, so a collapse is a flat line.
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    ax1.axhline(np.trace(per_example) / 4, color="k", lw=1, label=r"SME: $\mathrm{Tr}\,D / 4$")
    entropy_at_one = gauss_entropy(lyapunov_covariance(hess, per_example, 1.0))  # η/B = 1
    ax2.axhline(entropy_at_one, color="k", lw=1, label=r"SME (Lyapunov)")
    markers = {1: "o", 2: "s", 4: "^"}
    for k, batch in enumerate(batches):
        sel = [r for r in results if r["batch"] == batch]
        ratio = np.array([r["ratio"] for r in sel])
        x = ratio * (1 + 0.05 * (k - 1))  # side by side
        shift = dim / 2 * np.log(ratio)
        ax1.errorbar(x, [r["excess"] / r["ratio"] for r in sel],
                     yerr=[2 * r["excess_se"] / r["ratio"] for r in sel],
                     fmt=markers[batch], color=f"C{k}", mfc="none", label=f"SGD ensemble, B = {batch}")
        ax1.plot(x, [r["excess_exact"] / r["ratio"] for r in sel], "_", color=f"C{k}", ms=14, mew=2)
        ax2.errorbar(x, np.array([r["entropy"] for r in sel]) - shift,
                     yerr=[2 * r["entropy_se"] for r in sel],
                     fmt=markers[batch], color=f"C{k}", mfc="none", label=f"SGD ensemble, B = {batch}")
        ax2.plot(x, np.array([r["entropy_exact"] for r in sel]) - shift, "_", color=f"C{k}", ms=14, mew=2)
    ax1.set(xscale="log", xlabel=r"$\eta / B$", ylabel=r"$(E f - f^*) \,/\, (\eta/B)$",
            title="excess loss per unit η/B (dashes: exact SGD)")
    ax2.set(xscale="log", xlabel=r"$\eta / B$", ylabel=r"entropy $-\ (d/2)\ln(\eta/B)$ (nats)",
            title=f"entropy grows {slope:.2f} nats per e-fold (d/2 = {dim / 2:g})")
    for ax in (ax1, ax2):
        ax.set_xticks(ratios, [f"{r:.4f}" for r in ratios])
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        bottom, top = ax.get_ylim()
        ax.set_ylim(bottom, top + 0.35 * (top - bottom))  # room for the legend above the data
        ax.legend(frameon=False, fontsize=8, ncol=2, loc="upper center")

    save_figure(fig, args.out, "eta_over_b_collapse", args.smoke)


if __name__ == "__main__":
    main()
