"""Local entropy: a wide minimum beats a deeper narrow one, and Entropy-SGD finds it.

Left: the toy ``NarrowWideWells`` (a deep narrow well at x = −1, a shallower wide one at
x = +1) and its local free energy F(x; γ, T) = −T log ∫ exp(−[f(x′) + γ|x − x′|²/2]/T) dx′ at
T = 0.5 for several springs γ: exact by quadrature (lines) and estimated by thermodynamic
integration over inner Langevin clouds run with ``sgdsde.simulate`` (points, ± 1 SE).
Middle: from the bottom of the narrow well, Langevin dynamics at T = 0.05 (SGD at small
temperature) stays there, while Entropy-SGD (inner T = 0.5, γ scoped from 0.3) moves to the
wide one: the outer iterates of each run against the outer step.
Right: on a 64-16-10 digits network (cross-entropy, n = 500 training, 500 test examples), the
endpoints of SGD and of Entropy-SGD compared by sharpness λ_max (Lanczos) and test error
(a measurement; the numbers are printed).

    python examples/local_entropy.py            # full figure (minutes)
    python examples/local_entropy.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def toy_free_energy_panel(ax, n_steps, points):
    from sgdsde.geometry import local_free_energy, local_free_energy_exact
    from sgdsde.landscapes import NarrowWideWells

    wells = NarrowWideWells()
    x = np.linspace(-2.0, 2.0, 161)[:, None]
    ax.plot(x[:, 0], wells.energy(x), "k", lw=1.5, label="f(x)")
    temperature = 0.5
    for gamma, color in ((0.3, "C0"), (1.0, "C1"), (3.0, "C3")):
        f_exact, _ = local_free_energy_exact(wells, x, gamma, temperature, bounds=[(-8, 8)], n_grid=3001)
        ax.plot(x[:, 0], f_exact, color=color, label=f"F(x; γ = {gamma}), exact")
        if gamma == 1.0:
            xs = np.linspace(-1.5, 1.5, points)[:, None]
            est = local_free_energy(wells, xs, gamma, temperature, n_inner=8, n_steps=n_steps, dt=2e-3,
                                    seed=3)
            ref, _ = local_free_energy_exact(wells, xs, gamma, temperature, bounds=[(-8, 8)], n_grid=3001)
            z = (est.value - ref) / est.stderr
            print(f"Langevin F at γ = 1, T = 0.5, {points} points: |estimate − quadrature| / SE ≤ "
                  f"{np.abs(z).max():.2f} (SE ≤ {est.stderr.max():.4f}, {est.n_grad_evals} gradients)")
            ax.errorbar(xs[:, 0], est.value, yerr=est.stderr, fmt="o", color=color, ms=4,
                        label="Langevin estimate (± SE)")
    m = wells.minima()
    print(f"toy minima: narrow f = {wells.energy(m[:1])[0]:.3f} (curvature {wells.hessian(m)[0, 0, 0]:.0f}), "
          f"wide f = {wells.energy(m[1:])[0]:.3f} (curvature {wells.hessian(m)[1, 0, 0]:.2f})")
    ax.set(xlabel="x", ylabel="energy", title="NarrowWideWells: f and local free energy, T = 0.5",
           ylim=(-1.3, 0.6))
    ax.legend(frameon=False, fontsize=7)


def toy_dynamics_panel(ax, n_runs, n_outer, inner_steps):
    from sgdsde import LangevinSDE, SaveAt, simulate
    from sgdsde.geometry import entropy_sgd
    from sgdsde.integrators import LeimkuhlerMatthews
    from sgdsde.landscapes import NarrowWideWells

    wells = NarrowWideWells()
    start = np.repeat(wells.minima()[:1], n_runs, axis=0)
    res = entropy_sgd(wells, start, lr=1.0, gamma=0.3, temperature=0.5, n_steps=n_outer,
                      inner_steps=inner_steps, inner_dt=5e-3, n_inner=8, gamma_growth=0.03, seed=2)
    t1 = n_outer * inner_steps * 5e-3  # the same simulated time as all the inner clouds together
    sgd = simulate(LangevinSDE(wells, temperature=0.05), LeimkuhlerMatthews(), start, dt=5e-3, t1=t1, seed=1,
                   progress=False, save=SaveAt(every=inner_steps, observables={"x": "position"}))
    top = -0.67  # the energy maximum between the wells
    ax.plot(np.arange(n_outer + 1), res.positions[:, :, 0], color="C2", lw=0.8)
    xs = np.asarray(sgd.observables["x"])[:, :, 0]
    ax.plot(np.linspace(0, n_outer, xs.shape[0]), xs, color="C7", lw=0.8)
    n_ent, n_sgd = int(np.sum(res.final[:, 0] > top)), int(np.sum(sgd.final[:, 0] > top))
    ax.plot([], [], color="C2", label=f"Entropy-SGD: {n_ent}/{n_runs} end in the wide well")
    ax.plot([], [], color="C7", label=f"Langevin T = 0.05: {n_sgd}/{n_runs}")
    ax.axhline(top, color="k", ls=":", lw=0.8)
    print(f"toy: Entropy-SGD ends in the wide well in {n_ent}/{n_runs} runs (final γ = "
          f"{res.gammas[-1]:.2f}); Langevin at T = 0.05 in {n_sgd}/{n_runs}")
    ax.set(xlabel="outer step (Langevin: same simulated time)", ylabel="x", title="from the narrow well")
    ax.legend(frameon=False, fontsize=7)


def digits_panel(ax, n_train, n_runs, sgd_steps, outer_steps, inner_steps):
    from sgdsde.geometry import entropy_sgd, extreme_eigenpairs
    from sgdsde.landscapes import MLP
    from sgdsde.sgd import run_sgd
    from sgdsde.sgd.data import load_digits

    data = load_digits(n_examples=2 * n_train)
    net = MLP(data.inputs[:n_train], data.targets[:n_train], widths=(16,), activation="tanh",
              loss="cross_entropy")
    x_test, y_test = data.inputs[n_train:], data.targets[n_train:]
    theta0 = net.init_params(n_runs, seed=0)
    sgd = run_sgd(net, theta0, lr=0.2, batch_size=32, n_steps=sgd_steps, seed=1, record_every=sgd_steps).final
    # η γ = 1: each outer step moves to the inner mean, which lies about 0.86 ∇f/γ downhill after
    # 20 inner steps of 0.1 (spring time 1/γ = 1), so 700 outer steps cover about the SDE time
    # t = kη = 600 of the 3000 SGD steps at η = 0.2
    ent = entropy_sgd(net, theta0, lr=1.0, gamma=1.0, temperature=1e-4, n_steps=outer_steps,
                      inner_steps=inner_steps, inner_dt=0.1, n_inner=2, seed=2).final

    def measure(theta):
        lam = np.array([extreme_eigenpairs(net, t, k=1, seed=3).values[0] for t in theta])
        labels = np.argmax(net.predict(theta, x_test), axis=-1)  # (runs, n_test)
        err = np.mean(labels != y_test[None], axis=1)
        return lam, err, net.energy(theta)

    for name, theta, color, marker in (("SGD", sgd, "C7", "o"), ("Entropy-SGD", ent, "C2", "s")):
        lam, err, loss = measure(theta)
        se_lam, se_err = (v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else np.nan for v in (lam, err))
        print(f"digits {name}: train loss {loss.mean():.4f}, λ_max {lam.mean():.4f} ± {se_lam:.4f}, "
              f"test error {100 * err.mean():.1f} % ± {100 * se_err:.1f} %")
        ax.plot(lam, 100 * err, marker, color=color, ms=7, mfc="none",
                label=f"{name} (train loss {loss.mean():.3f})")
    ax.set(xlabel=r"$\lambda_{\max}$ at the endpoint", ylabel="test error (%)",
           title=f"digits MLP d = {net.dim}: endpoints")
    ax.legend(frameon=False, fontsize=7)


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
    if args.smoke:
        toy_free_energy_panel(axes[0], n_steps=300, points=3)
        toy_dynamics_panel(axes[1], n_runs=2, n_outer=4, inner_steps=20)
        digits_panel(axes[2], n_train=100, n_runs=2, sgd_steps=40, outer_steps=2, inner_steps=5)
    else:
        toy_free_energy_panel(axes[0], n_steps=3000, points=9)
        toy_dynamics_panel(axes[1], n_runs=16, n_outer=60, inner_steps=400)
        digits_panel(axes[2], n_train=500, n_runs=4, sgd_steps=3000, outer_steps=700, inner_steps=20)
    save_figure(fig, args.out, "local_entropy", args.smoke)


if __name__ == "__main__":
    main()
