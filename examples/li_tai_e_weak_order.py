"""Weak order of the stochastic modified equations on Li–Tai–E model 5.1.

SGD on ``f_γ(x) = ½(x−γ)ᵀH(x−γ) − ½Tr H``, γ ~ N(0, I) (so Σ = H²), against its order-1
and order-2 SMEs (Li, Tai & E, JMLR 2019).  The weak error |E f(x_k) − E f(X_{kη})| at
t = kη = 1 is computed two ways:

* exactly, from the closed forms of both sides (docs/theory.md §2): log-log slopes 1 and 2;
* by simulation: an SGD ensemble of M runs against the exact SME value.

Monte Carlo error.  The plain ensemble mean of f(x_k) has standard error ≈ |Hm_k|·sd(z)/sqrt(M)
(m_k = E x_k, z = x_k − m_k), dominated by the term linear in z.  Its control variate
``m_kᵀH(x_k − m_k)`` has expectation exactly zero (m_k = (I − ηH)^k x₀ is a deterministic
recursion), so ``f(x_k) − m_kᵀH(x_k − m_k) = ½m_kᵀHm_k + ½zᵀHz`` is an unbiased estimator whose
noise is only the quadratic part, SE ≈ 0.2·η/sqrt(M): with M = 5·10⁵ runs it stays four
times or more below the order-2 weak error (≈ 1.6η²) down to η = 0.005, and 300 times below
the order-1 error (≈ 0.7η).  Below η ≈ 0.003 the order-2 error sinks under this Monte Carlo
floor and only the exact formulas resolve it.  The simulated SGD side is also checked
against the exact SGD formula (the z column).

    python examples/li_tai_e_weak_order.py            # M = 500 000, η from 0.04 to 0.005
    python examples/li_tai_e_weak_order.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure

H = np.array([[1.5, 0.5], [0.5, 1.5]])  # eigenvalues 1 and 2
X0 = np.array([3.0, -1.0])
T_FINAL = 1.0


def simulated_expectation(model, lr, n_particles, seed):
    """E f(x_k) at k = T/η from an SGD ensemble, with the zero-mean control variate; (mean, SE)."""
    k = round(T_FINAL / lr)
    traj = model.run_sgd(np.tile(X0, (n_particles, 1)), lr, k, seed=seed, record_every=k)
    x = traj.final
    mean_path = np.linalg.matrix_power(np.eye(2) - lr * H, k) @ X0
    estimator = 0.5 * np.einsum("mi,ij,mj->m", x, H, x) - (x - mean_path) @ (H @ mean_path)
    return estimator.mean(), estimator.std(ddof=1) / np.sqrt(n_particles)


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.sgd.exact import GaussianQuadraticModel

    model = GaussianQuadraticModel(H)
    if args.smoke:
        etas, n_particles = np.array([0.04, 0.02]), 2000
    else:
        etas, n_particles = np.array([0.04, 0.02, 0.01, 0.005]), 500_000

    exact_sgd = np.array([model.expected_loss_sgd(X0, eta, round(T_FINAL / eta)) for eta in etas])
    exact_sme = {o: np.array([model.expected_loss_sme(X0, eta, T_FINAL, o) for eta in etas]) for o in (1, 2)}
    sims = np.array([simulated_expectation(model, eta, n_particles, seed=10 + i)
                     for i, eta in enumerate(etas)])
    sim_mean, sim_se = sims[:, 0], sims[:, 1]

    print(f"Li–Tai–E model 5.1, H eigenvalues {model.eigenvalues}, x0 = {X0}, t = {T_FINAL}, "
          f"M = {n_particles}")
    print(f"{'eta':>8} {'E f SGD exact':>14} {'SGD sim':>12} {'SE':>9} {'z':>6} "
          f"{'err1 exact':>11} {'err1 sim':>10} {'err2 exact':>11} {'err2 sim':>10}")
    for i, eta in enumerate(etas):
        z = (sim_mean[i] - exact_sgd[i]) / sim_se[i]
        print(f"{eta:8.4f} {exact_sgd[i]:14.8f} {sim_mean[i]:12.8f} {sim_se[i]:9.2e} {z:6.2f} "
              f"{abs(exact_sgd[i] - exact_sme[1][i]):11.3e} {abs(sim_mean[i] - exact_sme[1][i]):10.3e} "
              f"{abs(exact_sgd[i] - exact_sme[2][i]):11.3e} {abs(sim_mean[i] - exact_sme[2][i]):10.3e}")
    slopes = {}
    for o in (1, 2):
        err = np.abs(exact_sgd - exact_sme[o])
        slopes[o] = np.polyfit(np.log(etas), np.log(err), 1)[0]
        sim_err = np.abs(sim_mean - exact_sme[o])
        sim_slope = np.polyfit(np.log(etas), np.log(sim_err), 1)[0]
        print(f"order-{o} SME: exact log-log slope {slopes[o]:.3f}, simulated {sim_slope:.3f}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    fine = np.geomspace(etas.min(), etas.max(), 60)
    for o, color in ((1, "C0"), (2, "C3")):
        err = [abs(model.expected_loss_sgd(X0, e, T_FINAL / e) - model.expected_loss_sme(X0, e, T_FINAL, o))
               for e in fine]
        ax1.loglog(fine, err, color=color, label=f"order-{o} SME, exact (slope {slopes[o]:.2f})")
        ax1.errorbar(etas, np.abs(sim_mean - exact_sme[o]), yerr=2 * sim_se, fmt="o", color=color, ms=5,
                     mfc="white", label=f"order-{o}: SGD ensemble (±2 SE)")
    ax1.loglog(etas, sim_se, "k:", label="Monte Carlo SE")
    ax1.set(xlabel=r"learning rate $\eta$", ylabel=r"$|E f(x_k) - E f(X_{k\eta})|$ at $k\eta = 1$",
            title="weak error of the SME")
    ax1.set_xticks(etas, [f"{e:g}" for e in etas])
    ax1.xaxis.set_minor_formatter(plt.NullFormatter())
    ax1.legend(frameon=False, fontsize=7, loc="upper left")

    eta = etas[0]
    k = np.arange(round(2 * T_FINAL / eta) + 1)
    sgd = model.expected_loss_sgd(X0, eta, k)
    ax2.axhline(0.0, color="k", lw=2, label="SGD, exact")
    for o, color in ((1, "C0"), (2, "C3")):
        ax2.plot(k * eta, model.expected_loss_sme(X0, eta, k * eta, o) - sgd, "--", color=color,
                 label=f"order-{o} SME, exact")
    traj = model.run_sgd(np.tile(X0, (min(n_particles, 50000), 1)), eta, int(k[-1]), seed=99,
                         record_every=max(1, int(k[-1]) // 10))
    loss = traj.observables["loss"]
    ax2.errorbar(traj.ts, loss.mean(axis=1) - model.expected_loss_sgd(X0, eta, traj.steps),
                 yerr=2 * loss.std(axis=1) / np.sqrt(loss.shape[1]), fmt="o", color="k", ms=4, mfc="none",
                 label=f"SGD ensemble, M = {loss.shape[1]} (±2 SE)")
    ax2.set(xlabel=r"time $t = k\eta$", ylabel=r"$E f - E f_{\mathrm{SGD}}$ (exact)",
            title=rf"$\eta = {eta:g}$, $x_0 = ({X0[0]:g}, {X0[1]:g})$")
    ax2.legend(frameon=False, fontsize=8)

    save_figure(fig, args.out, "li_tai_e_weak_order", args.smoke)


if __name__ == "__main__":
    main()
