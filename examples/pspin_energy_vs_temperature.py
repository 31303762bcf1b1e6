"""Langevin dynamics of the spherical 3-spin glass across the dynamical temperature T_d.

Random starts on |σ|² = N, overdamped Langevin (Euler–Maruyama on the sphere) at several
temperatures from 0 (gradient descent) to 2 T_d.  Above T_d the energy per spin relaxes to
the paramagnetic value −ξ(1)/T = −1/T; below T_d it ages and stays above the threshold
energy −E_∞ instead of reaching equilibrium (docs/theory.md §4).  Left: energy against time;
right: the late-time energy against T with the paramagnetic line, T_d and T_s.

    python examples/pspin_energy_vs_temperature.py            # N = 160, figure in examples/figures/
    python examples/pspin_energy_vs_temperature.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import math

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def _options(parser):
    parser.add_argument("--n", type=int, default=160, help="number of spins N")


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__, add_options=_options)

    import matplotlib.pyplot as plt

    import sgdsde as sd
    from sgdsde.landscapes.pspin import SphericalPSpin
    from sgdsde.theory.pspin import (
        dynamical_temperature,
        ground_state_energy,
        paramagnetic_energy,
        static_temperature,
        threshold_energy,
    )

    n = 24 if args.smoke else args.n
    m = 4 if args.smoke else 16
    t1, dt = (2.0, 0.02) if args.smoke else (50.0, 0.02)
    t_d, t_s = dynamical_temperature(3), static_temperature(3)
    ratios = (0.0, 0.6, 0.9, 1.2, 1.5, 2.0)
    model = SphericalPSpin(n, 3, seed=1)
    x0 = model.manifold.random(m, n, seed=2)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    colors = plt.cm.coolwarm(np.linspace(0, 1, len(ratios)))
    late = []
    print(f"N = {n}, {m} particles, dt = {dt}, T_d = {t_d:.4f}, T_s = {t_s:.4f}")
    print("  T/T_d      T   late energy ± SE   paramagnetic −1/T")
    for ratio, color in zip(ratios, colors, strict=True):
        temperature = ratio * t_d
        traj = sd.simulate(sd.LangevinSDE(model, temperature=temperature), sd.integrators.EulerMaruyama(), x0,
                           dt=dt, t1=t1, seed=3, progress=False,
                           save=sd.SaveAt(every=5, observables={"e": model.energy_per_spin}))
        ts, e = traj.ts, traj.observables["e"]
        left.plot(ts[1:], e.mean(axis=1)[1:], color=color, label=f"T = {ratio:g} $T_d$")
        window = e[ts >= t1 / 2]  # the last half of the run; sd over particles of their time averages
        per_particle = window.mean(axis=0)
        late.append((temperature, per_particle.mean(), per_particle.std(ddof=1) / math.sqrt(m)))
        para = f"{paramagnetic_energy(temperature, p=3):+.4f}" if temperature > t_d else "—"
        print(f"{ratio:7.2f} {temperature:6.3f}   {late[-1][1]:+.4f} ± {late[-1][2]:.4f}   {para}",
              flush=True)
        if temperature > t_d:
            left.axhline(paramagnetic_energy(temperature, p=3), color=color, ls=":", lw=1)

    e_th, e_0 = threshold_energy(3), ground_state_energy(3)
    for ax in (left, right):
        ax.axhline(e_th, color="k", ls="--", lw=1, label=r"threshold $-E_\infty$")
        ax.axhline(e_0, color="k", ls="-.", lw=1, label=r"ground state $-E_0$")
    left.set(xscale="log", xlabel="time t", ylabel="energy per spin e(t)", ylim=(-1.75, 0.05),
             title=f"3-spin Langevin from random starts, N = {n}")
    left.legend(frameon=False, fontsize=7, ncol=2, loc="upper right")

    temps, mean, se = np.array(late).T
    grid = np.linspace(0.45 * t_d, 2.1 * t_d, 200)
    para = paramagnetic_energy(grid, p=3)
    right.plot(grid[grid > t_d], para[grid > t_d], "C0", label=r"paramagnet $-1/T$")
    right.plot(grid[grid <= t_d], para[grid <= t_d], "C0:", lw=1)
    right.errorbar(temps, mean, yerr=se, fmt="o", color="C3", capsize=3,
                   label=f"late-time energy (t > {t1 / 2:g})")
    right.axvline(t_d, color="0.5", lw=1)
    right.axvline(t_s, color="0.5", lw=1, ls=":")
    right.text(t_d, -0.55, r" $T_d$", fontsize=9)
    right.text(t_s, -0.55, r"$T_s$ ", fontsize=9, ha="right")
    right.set(xlabel="temperature T", ylabel="energy per spin", ylim=(-1.85, -0.45),
              title=f"Late-time energy (one coupling draw, {m} particles ± SE)")
    right.legend(frameon=False, fontsize=8, loc="center right")
    save_figure(fig, args.out, "pspin_energy_vs_temperature", args.smoke, dpi=130)


if __name__ == "__main__":
    main()
