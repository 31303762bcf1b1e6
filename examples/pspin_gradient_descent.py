"""Gradient descent on the spherical 3-spin glass: aging toward the threshold, not the ground state.

Gradient flow (Langevin at T = 0) on |σ|² = N from random starts, for several N.  As N → ∞
the energy per spin approaches the threshold −E_∞ = −2 sqrt(2/3) from above by a slow power
law (local exponent ≈ 2/3), never the ground state −E_0 (docs/theory.md §4); at finite N the
curves sit above the N → ∞ one.  The script prints the gap e(t) + E_∞ at t = 10 and 100 for
each N (mean over particles ± SE) and draws the gap against time and against N.

    python examples/pspin_gradient_descent.py            # N = 128 ... 1000, figure in examples/figures/
    python examples/pspin_gradient_descent.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import math

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def descend(n: int, m: int, t1: float, dt: float, seed: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Times and energies per spin (records, M) of gradient descent from M random starts."""
    import sgdsde as sd
    from sgdsde.landscapes.pspin import SphericalPSpin

    model = SphericalPSpin(n, 3, seed=seed, dtype=dtype)
    x0 = model.manifold.random(m, n, seed=seed + 1, dtype=dtype)
    save = sd.SaveAt(every=max(1, round(0.5 / dt)), observables={"e": model.energy_per_spin})
    traj = sd.simulate(sd.LangevinSDE(model, temperature=0.0), sd.integrators.EulerMaruyama(), x0, dt=dt,
                       t1=t1, seed=0, progress=False, save=save)
    return traj.ts, traj.observables["e"].astype(np.float64)


def _options(parser):
    parser.add_argument("--sizes", type=int, nargs="+", help="numbers of spins N (default 128 256 512 1000)")
    parser.add_argument("--particles", type=int, default=8, help="random starts per N")


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__, add_options=_options)

    import matplotlib.pyplot as plt

    from sgdsde.theory.pspin import ground_state_energy, threshold_energy

    sizes = [16, 24] if args.smoke else (args.sizes or [128, 256, 512, 1000])
    m = 3 if args.smoke else args.particles
    t1, dt = (10.0, 0.1) if args.smoke else (100.0, 0.1)
    checkpoints = [t for t in (10.0, 100.0) if t <= t1]
    e_th, e_0 = threshold_energy(3), ground_state_energy(3)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    print(f"threshold -E_inf = {e_th:.6f}, ground state -E_0 = {e_0:.6f}; gradient descent dt = {dt}, "
          f"{m} particles")
    print("    N | " + " | ".join(f"gap at t = {t:g} (± SE)" for t in checkpoints))
    gaps = {t: [] for t in checkpoints}
    for n in sizes:
        dtype = np.float32 if n >= 500 else np.float64  # float32 halves the bytes streamed per step
        ts, e = descend(n, m, t1, dt, seed=n, dtype=dtype)
        gap = e - e_th
        line = left.plot(ts[1:], gap.mean(axis=1)[1:], label=f"N = {n}")[0]
        left.fill_between(ts[1:], *(gap.mean(axis=1)[1:] + s * gap.std(axis=1, ddof=1)[1:] / math.sqrt(m)
                                     for s in (-1, 1)), color=line.get_color(), alpha=0.25, lw=0)
        cells = []
        for t in checkpoints:
            g = gap[np.argmin(np.abs(ts - t))]
            gaps[t].append((g.mean(), g.std(ddof=1) / math.sqrt(m)))
            cells.append(f"{g.mean():+.4f} ± {gaps[t][-1][1]:.4f}")
        print(f"{n:5d} | " + " | ".join(cells), flush=True)

    # a t^(-2/3) guide through the largest N's gap at t = 10 (the local exponent at T = 0)
    guide_t = np.array([3.0, t1])
    guide = gaps[10.0][-1][0] * (guide_t / 10.0) ** (-2 / 3)
    left.plot(guide_t, guide, "k:", lw=1, label=r"$\propto t^{-2/3}$")
    left.set(xscale="log", yscale="log", xlabel="time t", ylabel=r"gap $e(t) + E_\infty$",
             title="3-spin gradient descent: energy above the threshold")
    left.legend(frameon=False, fontsize=8)
    for t, marker in zip(checkpoints, "os", strict=False):
        mean, se = np.array(gaps[t]).T
        right.errorbar(sizes, mean, yerr=se, marker=marker, capsize=3, label=f"t = {t:g}")
    right.axhline(0, color="k", ls="--", lw=1, label=r"threshold $-E_\infty$")
    right.axhline(e_0 - e_th, color="k", ls="-.", lw=1, label=r"ground state $-E_0$")
    right.set(xscale="log", xlabel="number of spins N", ylabel=r"gap $e(t) + E_\infty$",
              title="Gap at fixed times against N")
    right.set_xticks(sizes, [str(n) for n in sizes])
    right.minorticks_off()
    right.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    save_figure(fig, args.out, "pspin_gradient_descent", args.smoke, dpi=130)


if __name__ == "__main__":
    main()
