"""SGD against its SDE on a real network: a two-layer MLP on the digits data set.

An ensemble of M = 256 independent minibatch SGD runs and an ensemble of the order-1 SME
(``dX = −∇f dt + sqrt(η Σ(X)) dW``, Σ the minibatch covariance of the network kept in
low-rank form, integrated by Euler–Maruyama with dt = η/2) start from the same weights.
At several times t = kη the two distributions of the training loss are compared by the
Wasserstein-1 distance and the Kolmogorov–Smirnov statistic (``scipy.stats``), next to the
same distances between two independent SGD ensembles — the sampling noise floor.  Where
SGD–SME sits on the floor the SDE is a faithful model; where it rises above, it is not.

Expectation (Li, Tai & E 2019): agreement at small η, with a gap growing with η (the SME
is a weak O(η) approximation; at large η the discreteness of SGD and the non-Gaussian
minibatch noise matter).  Measured at full size: at η = 0.1 and 0.5 the SGD–SME distances
sit on the SGD–SGD floor (KS statistics 0.04–0.14, W1 within a factor 3 of the floor);
at η = 2 the two part: the SME trains faster than SGD (mean loss lower by 2–4 %), KS
statistic 0.17–0.29 (p down to 1e-9) and W1 3.5 to 8 times the floor at every time.

    python examples/sgd_vs_sde_digits.py            # 500 digits, 16 hidden tanh units, M = 256
    python examples/sgd_vs_sde_digits.py --smoke    # tiny, for the test suite

Needs scikit-learn (the optional extra ``digits``).
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def distances(a, b):
    """``(W1, KS statistic, KS p-value)`` between two samples."""
    from scipy import stats

    ks = stats.ks_2samp(a, b)
    return stats.wasserstein_distance(a, b), ks.statistic, ks.pvalue


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde.integrators import EulerMaruyama
    from sgdsde.landscapes.networks import TwoLayerMLP
    from sgdsde.save import SaveAt
    from sgdsde.sgd.data import load_digits
    from sgdsde.sgd.minibatch import run_sgd
    from sgdsde.sgd.sme import sme
    from sgdsde.simulate import simulate

    if args.smoke:
        n_examples, hidden, n_particles, etas, t_final, n_records = 100, 4, 32, (0.1, 0.4), 0.8, 2
    else:
        n_examples, hidden, n_particles, etas, t_final, n_records = 500, 16, 256, (0.1, 0.5, 2.0), 20.0, 5
    batch = 16
    data = load_digits(n_examples)
    loss = TwoLayerMLP(data.inputs, data.targets, hidden=hidden, activation="tanh")
    theta0 = np.tile(loss.init_params(1, seed=0), (n_particles, 1))  # one common start
    record_times = t_final * np.arange(1, n_records + 1) / n_records

    results = {}
    for i, eta in enumerate(etas):
        every = round(record_times[0] / eta)
        n_steps = every * n_records
        sgd_a = run_sgd(loss, theta0, lr=eta, batch_size=batch, n_steps=n_steps, seed=100 + i,
                        record_every=every)
        sgd_b = run_sgd(loss, theta0, lr=eta, batch_size=batch, n_steps=n_steps, seed=200 + i,
                        record_every=every)
        sde = simulate(sme(loss, eta, batch), EulerMaruyama(), theta0, dt=eta / 2, n_steps=2 * n_steps,
                       seed=300 + i, progress=False,
                       save=SaveAt(every=2 * every, observables={"loss": "energy"}))
        rows = []
        for r in range(1, n_records + 1):
            a, b, s = sgd_a.observables["loss"][r], sgd_b.observables["loss"][r], sde.observables["loss"][r]
            rows.append((sgd_a.ts[r], a.mean(), s.mean(), *distances(a, s), *distances(a, b)))
        results[eta] = {"rows": np.array(rows), "sgd": sgd_a, "sme": sde,
                        "loss0": float(sgd_a.observables["loss"][0, 0])}

    print(f"digits MLP: n = {n_examples}, hidden = {hidden} tanh, d = {loss.dim}, B = {batch}, "
          f"M = {n_particles} runs per ensemble, SME by Euler–Maruyama with dt = η/2")
    print(f"{'eta':>5} {'t':>5} {'mean SGD':>9} {'mean SME':>9} {'W1 SGD-SME':>11} {'W1 SGD-SGD':>11} "
          f"{'KS SGD-SME':>11} {'p':>8} {'KS SGD-SGD':>11} {'p':>8}")
    for eta, res in results.items():
        for t, m_sgd, m_sme, w_s, ks_s, p_s, w_b, ks_b, p_b in res["rows"]:
            print(f"{eta:5.2f} {t:5.2f} {m_sgd:9.4f} {m_sme:9.4f} {w_s:11.4f} {w_b:11.4f} "
                  f"{ks_s:11.3f} {p_s:8.1e} {ks_b:11.3f} {p_b:8.1e}")

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), layout="constrained")
    ax_mean, ax_w1, ax_ks, ax_hist = axes.ravel()
    for k, (eta, res) in enumerate(results.items()):
        rows, color = res["rows"], f"C{k}"
        t = np.concatenate([[0.0], rows[:, 0]])
        ax_mean.plot(t, np.concatenate([[res["loss0"]], rows[:, 1]]), "o-", color=color,
                     label=f"SGD, η = {eta:g}")
        ax_mean.plot(t, np.concatenate([[res["loss0"]], rows[:, 2]]), "s--", color=color, mfc="none",
                     label=f"SME, η = {eta:g}")
        ax_w1.plot(rows[:, 0], rows[:, 3], "o-", color=color, label=f"SGD vs SME, η = {eta:g}")
        ax_w1.plot(rows[:, 0], rows[:, 6], "o:", color=color, mfc="none", label=f"SGD vs SGD, η = {eta:g}")
        ax_ks.plot(rows[:, 0], rows[:, 4], "o-", color=color, label=f"SGD vs SME, η = {eta:g}")
        ax_ks.plot(rows[:, 0], rows[:, 7], "o:", color=color, mfc="none", label=f"SGD vs SGD, η = {eta:g}")
    ax_mean.set(xlabel=r"time $t = k\eta$", ylabel="mean training loss", yscale="log",
                title=f"ensembles of {n_particles} runs from one start")
    ax_w1.set(xlabel=r"time $t = k\eta$", ylabel="W1 between loss distributions", yscale="log",
              title="Wasserstein-1 (dotted: two SGD ensembles)")
    ax_ks.set(xlabel=r"time $t = k\eta$", ylabel="KS statistic",
              title="Kolmogorov–Smirnov (dotted: two SGD ensembles)")
    ax_ks.axhline(1.36 * np.sqrt(2 / n_particles), color="0.5", lw=1, label="KS 5 % critical value")
    ax_mean.legend(frameon=False, fontsize=7)
    bottom, top = ax_w1.get_ylim()
    ax_w1.set_ylim(bottom, top * 8)  # room for the legend above the data (log axis)
    bottom, top = ax_ks.get_ylim()
    ax_ks.set_ylim(bottom, top + 0.45 * (top - bottom))
    for ax in (ax_w1, ax_ks):
        ax.legend(frameon=False, fontsize=7, ncol=2, loc="upper center")
    eta = etas[-1]
    a, s = results[eta]["sgd"].observables["loss"][-1], results[eta]["sme"].observables["loss"][-1]
    bins = np.histogram_bin_edges(np.concatenate([a, s]), bins=30)
    ax_hist.hist(a, bins=bins, histtype="step", color="k", lw=1.5, label="SGD")
    ax_hist.hist(s, bins=bins, histtype="step", color="C3", lw=1.5, label="SME")
    ax_hist.set(xlabel="training loss", ylabel="runs", title=rf"loss at $t = {t_final:g}$, $\eta = {eta:g}$")
    ax_hist.legend(frameon=False, fontsize=8)

    save_figure(fig, args.out, "sgd_vs_sde_digits", args.smoke)


if __name__ == "__main__":
    main()
