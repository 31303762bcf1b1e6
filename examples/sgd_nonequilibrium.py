"""SGD's steady state is out of equilibrium: noise rank and lag-covariance currents on digits.

A two-layer tanh network (16 hidden units, d = 1210) on 300 digits with weight decay
λ = 1e-3, trained by SGD (η = 0.1, B = 10) as an ensemble of independent runs until
stationary.  For each run (each sits in its own minimum):

* the spectrum of the per-example gradient covariance D: how many of its d eigen-directions
  carry 99 % of its trace;
* the parameters projected on D's top-4 eigenvectors, recorded every 10 steps over a long
  stationary stretch; the antisymmetric part of their lag-τ covariance, with error bars from
  20 consecutive blocks, summed into χ² over the 6 planes and compared with its value
  under detailed balance.

The same measurement on overdamped Langevin dynamics with isotropic noise on the same
landscape (MALA, exactly reversible, from the same stationary networks) is the control,
where the asymmetry must vanish (:mod:`sgdsde.generalisation.nonequilibrium`).

    python examples/sgd_nonequilibrium.py            # 8 runs, 30 000 recorded steps
    python examples/sgd_nonequilibrium.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure

LR, BATCH, WEIGHT_DECAY, TOP = 0.1, 10, 1e-3, 4
LAGS = (1, 2, 5, 10, 20)


def per_run_chi2(z, n_blocks):
    """χ²/χ²_null of the lag asymmetry of each run at each lag: (M, lags), and the per-run χ² sums."""
    from sgdsde.generalisation.nonequilibrium import block_lag_asymmetry

    out = np.empty((z.shape[1], len(LAGS)))
    chi2, null = np.zeros(len(LAGS)), np.zeros(len(LAGS))
    for r in range(z.shape[1]):
        for j, lag in enumerate(LAGS):
            res = block_lag_asymmetry(z[:, r], lag=lag, n_blocks=n_blocks)
            out[r, j] = res.chi2 / res.chi2_null
            chi2[j] += res.chi2
            null[j] += res.chi2_null
    return out, chi2, null


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde import LangevinSDE, SaveAt, simulate
    from sgdsde.generalisation.nonequilibrium import noise_covariance_spectrum, trace_rank
    from sgdsde.integrators import MALA
    from sgdsde.landscapes.networks import TwoLayerMLP
    from sgdsde.sgd import load_digits, run_sgd

    if args.smoke:
        n_examples, runs, burn, records, every, n_blocks = 100, 2, 200, 300, 5, 5
    else:
        n_examples, runs, burn, records, every, n_blocks = 300, 8, 20_000, 3000, 10, 20
    data = load_digits(n_examples)
    loss = TwoLayerMLP(data.inputs, data.targets, hidden=16, weight_decay=WEIGHT_DECAY)
    burned = run_sgd(loss, loss.init_params(runs, seed=1), lr=LR, batch_size=BATCH, n_steps=burn, seed=2,
                     record_every=burn).final

    spectra, bases = [], []
    for r in range(runs):
        values, vectors = noise_covariance_spectrum(loss, burned[r:r + 1])
        spectra.append(values)
        bases.append(vectors[:, :TOP])
    spectra, bases = np.array(spectra), np.array(bases)  # (M, d), (M, d, k)
    k99 = np.array([trace_rank(v, 0.99) for v in spectra])
    print(f"d = {loss.dim}, n = {n_examples}: 99 % of Tr D in {k99.mean():.1f} ± {k99.std(ddof=1):.1f} "
          f"directions ({100 * k99.mean() / loss.dim:.1f} % of d; runs: {k99.tolist()})")

    def project(theta):
        return np.einsum("md,mdk->mk", theta, bases)

    sgd = run_sgd(loss, burned, lr=LR, batch_size=BATCH, n_steps=records * every, seed=3, record_every=every,
                  observables={"proj": project})
    z_sgd = sgd.observables["proj"][1:]
    print(f"SGD: loss {sgd.observables['loss'][1].mean():.4f} -> {sgd.observables['loss'][-1].mean():.4f} "
          f"over the recorded stretch")

    # Langevin control: isotropic temperature matching SGD's noise in the measured plane,
    # 2T = η · mean(top-k eigenvalues of D) / B, sampled by MALA (reversible) at h = η.
    temperature = LR * spectra[:, :TOP].mean() / (2 * BATCH)
    sde = LangevinSDE(loss, temperature=temperature)
    relax = simulate(sde, MALA(), burned, dt=LR, n_steps=burn // 4, seed=4, progress=False,
                     save=SaveAt(every=burn // 4))
    lang = simulate(sde, MALA(), relax.final, dt=LR, n_steps=records * every, seed=5, progress=False,
                    save=SaveAt(every=every, observables={"proj": project}))
    z_lang = lang.observables["proj"][1:]
    print(f"Langevin (MALA, T = {temperature:.3g}, h = {LR}): acceptance {lang.stats['acceptance_rate']:.3f}")

    ratios = {}
    for name, z in (("SGD", z_sgd), ("Langevin", z_lang)):
        ratios[name], chi2, null = per_run_chi2(z, n_blocks)
        for j, lag in enumerate(LAGS):
            dof_total = runs * TOP * (TOP - 1) // 2
            print(f"{name:>8}, lag {lag * every:4d} steps: χ² = {chi2[j]:7.1f} over {dof_total} planes "
                  f"(expected {null[j]:.1f} under detailed balance), per run χ²/χ²_null "
                  f"{np.round(ratios[name][:, j], 2).tolist()}")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for r in range(runs):
        frac = np.cumsum(spectra[r]) / spectra[r].sum()
        ax1.semilogx(np.arange(1, loss.dim + 1), frac, color="C0", lw=0.8, alpha=0.7)
    ax1.axhline(0.99, color="grey", lw=0.8, ls=":")
    ax1.axvline(k99.mean(), color="C3", lw=1, label=f"99 % of Tr D: {k99.mean():.0f} of d = {loss.dim}")
    ax1.set(xlabel="number of eigen-directions of D", ylabel="fraction of Tr D", ylim=(0, 1.01),
            title=f"gradient-noise spectrum, {runs} stationary SGD runs")
    ax1.legend(frameon=False, fontsize=8)
    lags = np.array(LAGS) * every
    for name, color, shift in (("SGD", "C0", 0.97), ("Langevin", "k", 1.03)):
        r = ratios[name]
        ax2.plot(lags * shift, r.T, "o", color=color, ms=3, alpha=0.5)
        ax2.plot(lags, np.median(r, axis=0), "-", color=color, lw=2, label=f"{name}: median over runs")
    ax2.axhline(1.0, color="grey", ls=":", lw=1)
    ax2.set(xscale="log", yscale="log", xlabel="lag τ (SGD steps)",
            ylabel=r"$\chi^2 / \chi^2_{\mathrm{detailed\ balance}}$ of $C(\tau) - C(\tau)^T$",
            title=f"currents in the top-{TOP} noise directions (1 = none)")
    ax2.legend(frameon=False, fontsize=8)

    save_figure(fig, args.out, "sgd_nonequilibrium", args.smoke)


if __name__ == "__main__":
    main()
