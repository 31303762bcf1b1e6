"""Stationary covariance of minibatch SGD on linear regression: exact, Lyapunov, simulated.

An ensemble of M SGD runs on a teacher–student least-squares problem (d = 5) is run to
stationarity around the minimiser θ* at several learning rates.  Its covariance is compared
with

* the exact discrete formula for least squares (multiplicative noise included,
  :func:`sgdsde.sgd.exact.sgd_stationary_covariance`): agreement within sampling error;
* the Ornstein–Uhlenbeck / Lyapunov prediction ``AΣ + ΣA = η D/B`` (Mandt, Hoffman & Blei
  2017): correct to O(η);
* the exact formula for *additive* noise ``AΣ + ΣA − ηAΣA = η D/B`` (docs/theory.md §2), which
  captures the O(η) discretisation correction but not the batch-to-batch Hessian fluctuation.

The sampling error of a covariance from M independent runs is shown as the expected norm
of the estimation noise, sqrt(Σ_ij Var(δ_i δ_j)/M) / |Σ|.

    python examples/linear_regression_covariance.py            # M = 4000, η from 0.005 to 0.2
    python examples/linear_regression_covariance.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.landscapes.networks import LinearRegression
    from sgdsde.sgd.data import teacher_student
    from sgdsde.sgd.exact import additive_sgd_covariance, lyapunov_covariance, sgd_stationary_covariance
    from sgdsde.sgd.minibatch import run_sgd
    from sgdsde.sgd.noise import gradient_covariance

    if args.smoke:
        n_examples, dim, n_particles, etas, relax = 50, 3, 300, np.array([0.05, 0.2]), 10
    else:
        n_examples, dim, n_particles, relax = 200, 5, 4000, 30
        etas = np.array([0.005, 0.01, 0.02, 0.05, 0.1, 0.2])
    batch = 4
    data = teacher_student(n_examples, dim, label_noise=0.5, seed=1)
    loss = LinearRegression(data.inputs, data.targets)
    star = loss.minimizer()
    hess = loss.hessian(star[None])[0]
    sigma_b = gradient_covariance(loss, star[None], batch)[0]
    lam_min = np.linalg.eigvalsh(hess).min()

    rows = []
    for i, eta in enumerate(etas):
        n_steps = int(np.ceil(relax / (eta * lam_min)))  # relax e-folds of the slowest mode
        traj = run_sgd(loss, np.tile(star, (n_particles, 1)), lr=float(eta), batch_size=batch,
                       n_steps=n_steps, seed=100 + i, record_every=n_steps)
        delta = traj.final - star
        products = np.einsum("mi,mj->mij", delta, delta)
        measured = products.mean(axis=0)
        exact = sgd_stationary_covariance(loss, float(eta), batch)
        lyap = lyapunov_covariance(hess, sigma_b, float(eta))
        additive = additive_sgd_covariance(hess, sigma_b, float(eta))
        norm = np.linalg.norm(exact)
        noise_floor = np.sqrt(np.sum(products.var(axis=0)) / n_particles) / norm
        z = np.abs(measured - exact) / (products.std(axis=0) / np.sqrt(n_particles))
        rows.append((eta, np.linalg.norm(measured - exact) / norm, noise_floor,
                     np.linalg.norm(lyap - exact) / norm, np.linalg.norm(additive - exact) / norm, z.max(),
                     measured, exact, lyap))

    print(f"linear regression n = {n_examples}, d = {dim}, B = {batch}, M = {n_particles}; "
          "relative Frobenius distances to the exact SGD covariance")
    print(f"{'eta':>7} {'simulated':>10} {'MC floor':>9} {'Lyapunov':>9} {'additive':>9} {'max |z|':>8}")
    for eta, sim, floor, lyap_err, add_err, zmax, *_ in rows:
        print(f"{eta:7.3f} {sim:10.4f} {floor:9.4f} {lyap_err:9.4f} {add_err:9.4f} {zmax:8.2f}")
    fit = np.polyfit(np.log(etas), np.log([r[3] for r in rows]), 1)[0]
    print(f"Lyapunov error ∝ η^{fit:.3f}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    ax1.loglog(etas, [r[1] for r in rows], "ko", mfc="none", label="SGD ensemble")
    ax1.loglog(etas, [r[2] for r in rows], "k:", label=f"sampling noise, M = {n_particles}")
    ax1.loglog(etas, [r[3] for r in rows], "C0s-",
               label=rf"Lyapunov $A\Sigma+\Sigma A=\eta D/B$ (slope {fit:.2f})")
    ax1.loglog(etas, [r[4] for r in rows], "C2^-", label=r"additive-noise discrete formula")
    ax1.set(xlabel=r"learning rate $\eta$",
            ylabel=r"$\|\Sigma - \Sigma_{\rm exact}\|_F / \|\Sigma_{\rm exact}\|_F$",
            title=f"distance to the exact SGD covariance (B = {batch})")
    ax1.legend(frameon=False, fontsize=8)

    *_, measured, exact, lyap = rows[-1]
    iu = np.triu_indices(dim)
    lim = [min(exact[iu].min(), 0) * 1.1, exact[iu].max() * 1.1]
    ax2.plot(lim, lim, "0.6", lw=1)
    ax2.plot(exact[iu], measured[iu], "ko", mfc="none", label="SGD ensemble")
    ax2.plot(exact[iu], lyap[iu], "C0s", ms=4, label="Lyapunov")
    ax2.set(xlabel=r"exact $\Sigma_{ij}$", ylabel=r"$\Sigma_{ij}$",
            title=rf"entries at $\eta = {etas[-1]:g}$")
    ax2.legend(frameon=False, fontsize=8)

    save_figure(fig, args.out, "linear_regression_covariance", args.smoke)


if __name__ == "__main__":
    main()
