"""Where the SME stops being exact: SGD with multiplicative noise against its order-1 and order-2 SMEs.

SGD on ``f_γ(x) = ½ Σ_i λ_i (1 + σγ_i)(q_iᵀx)²`` (H with eigenvalues 1 and 2, σ = 1.5), whose
gradient noise vanishes at the minimum and grows with the distance from it
(:class:`sgdsde.sgd.MultiplicativeQuadraticModel`).  Left: the exact E f at t = kη = 2 of SGD, of
the order-1 SME and of the order-2 SME against η, with an SGD ensemble on top, and the
learning rates above which each one's E f grows without bound.  Middle: the long-time
growth rate of E f per unit time; SGD blows up first (η = 2/(λ_max(1 + σ²))), where both SMEs
still converge.  Right: the weak errors at small η, slopes 1 and 2.

    python examples/sme_multiplicative_noise.py            # M = 20 000 runs per η
    python examples/sme_multiplicative_noise.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure

H = np.array([[1.5, 0.5], [0.5, 1.5]])  # eigenvalues 1 and 2
X0 = np.array([3.0, -1.0])
SIGMA = 1.5
T_FINAL = 2.0


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.sgd.exact import MultiplicativeQuadraticModel

    model = MultiplicativeQuadraticModel(H, noise_scale=SIGMA)
    n_runs = 500 if args.smoke else 20_000
    sim_etas = np.array([0.05, 0.2]) if args.smoke else np.array([0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3])
    thresholds = {"SGD": model.divergence_lr("sgd"), "order-1 SME": model.divergence_lr(1),
                  "order-2 SME": model.divergence_lr(2)}
    print(f"multiplicative model: eigenvalues {model.eigenvalues}, σ = {SIGMA}, x0 = {X0}, t = {T_FINAL}")
    for name, eta in thresholds.items():
        print(f"  E f grows without bound for η > {eta:.4f}  ({name})")

    etas = np.linspace(0.005, 0.9, 300)
    exact = {"SGD": np.array([model.expected_loss_sgd(X0, e, T_FINAL / e) for e in etas]),
             **{f"order-{o} SME": np.array([model.expected_loss_sme(X0, e, T_FINAL, o) for e in etas])
                for o in (1, 2)}}
    print(f"{'eta':>6} {'k':>4} {'E f SGD exact':>14} {'SGD ensemble':>13} {'SE':>9} {'z':>6} "
          f"{'order-1 SME':>12} {'order-2 SME':>12}")
    sims = []
    for i, eta in enumerate(sim_etas):
        k = round(T_FINAL / eta)
        traj = model.run_sgd(np.tile(X0, (n_runs, 1)), eta, k, seed=20 + i, record_every=k)
        loss = traj.observables["loss"][-1]
        mean, se = loss.mean(), loss.std(ddof=1) / np.sqrt(n_runs)
        sgd = model.expected_loss_sgd(X0, eta, k)
        sims.append((eta, mean, se))
        print(f"{eta:6.3f} {k:4d} {sgd:14.6g} {mean:13.6g} {se:9.2g} {(mean - sgd) / se:6.2f} "
              f"{model.expected_loss_sme(X0, eta, k * eta, 1):12.6g} "
              f"{model.expected_loss_sme(X0, eta, k * eta, 2):12.6g}")

    fig, (ax1, ax3, ax2) = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
    colors = {"SGD": "k", "order-1 SME": "C0", "order-2 SME": "C3"}
    for name, values in exact.items():
        ax1.semilogy(etas, values, color=colors[name], label=f"{name}, exact")
        if np.isfinite(thresholds[name]) and thresholds[name] < etas[-1]:
            ax1.axvline(thresholds[name], color=colors[name], ls=":", lw=1)
    sims = np.array(sims)
    ax1.errorbar(sim_etas, sims[:, 1], yerr=2 * sims[:, 2], fmt="o", color="k", mfc="white", ms=5,
                 label=f"SGD ensemble, M = {n_runs} (±2 SE)")
    ax1.set(xlabel=r"learning rate $\eta$", ylabel=rf"$E f$ at $t = k\eta = {T_FINAL:g}$",
            title=rf"multiplicative noise, $\sigma = {SIGMA}$ (dotted: blow-up thresholds)")
    ax1.legend(frameon=False, fontsize=8)

    # Long-time growth rate of E f per unit time t: ln ρ_max / η for SGD, r_max for the SMEs.
    rates = {"SGD": np.array([np.log(model.growth_factor_sgd(e)).max() / e for e in etas]),
             **{f"order-{o} SME": np.array([model.growth_rate_sme(e, o).max() for e in etas])
                for o in (1, 2)}}
    for name, values in rates.items():
        ax3.plot(etas, values, color=colors[name], label=f"{name} (zero at η = {thresholds[name]:.3f})")
    ax3.axhline(0.0, color="grey", lw=0.8)
    ax3.set(xlabel=r"learning rate $\eta$", ylabel=r"growth rate of $E f$ per unit $t$ as $t \to \infty$",
            title="stability: E f grows where the rate is > 0")
    ax3.legend(frameon=False, fontsize=8)

    small = np.geomspace(0.0025, 0.04, 30)
    for o in (1, 2):
        err = np.abs([model.expected_loss_sgd(X0, e, T_FINAL / e) - model.expected_loss_sme(X0, e, T_FINAL, o)
                      for e in small])
        slope = np.polyfit(np.log(small), np.log(err), 1)[0]
        print(f"order-{o} SME: weak error slope {slope:.3f} for η in [{small[0]}, {small[-1]}]")
        ax2.loglog(small, err, color=colors[f"order-{o} SME"], label=f"order-{o} SME (slope {slope:.2f})")
    ax2.set(xlabel=r"learning rate $\eta$", ylabel=r"$|E f_{\mathrm{SGD}} - E f_{\mathrm{SME}}|$ (exact)",
            title="weak error at small η")
    ax2.set_xticks([0.0025, 0.005, 0.01, 0.02, 0.04], ["0.0025", "0.005", "0.01", "0.02", "0.04"])
    ax2.xaxis.set_minor_formatter(plt.NullFormatter())
    ax2.legend(frameon=False, fontsize=8)

    save_figure(fig, args.out, "sme_multiplicative_noise", args.smoke)


if __name__ == "__main__":
    main()
