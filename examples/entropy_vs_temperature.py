"""Entropy and free energy of a double-well cloud against temperature.

A cloud of particles on ``U(x, y) = h (x² − 1)² + ½ κ y²`` (``DoubleWell(dim=2)``) is run
with the Leimkuhler–Matthews scheme (invariant law exact to O(dt²)) from half the particles
in each well, so that the symmetric Boltzmann weights of the wells hold at every T, even
where crossing the barrier takes far longer than the run.  At the end we measure

* the mean energy E[U] (per particle, its SE from the sample sd);
* the entropy S with three estimators: Kozachenko–Leonenko k-NN, a 2-D histogram with the
  Miller–Madow correction, and the Gaussian formula (an upper bound: one Gaussian cannot
  describe two wells, and it overshoots more and more as T → 0);
* the free energy F = E[U] − T S,

and compare them with the exact values by quadrature, ``Z = ∫ e^{−U/T}``,
``S = ln Z + E[U]/T``, ``F = −T ln Z`` (the transverse axis adds ½ ln(2πe T/κ) to S).
Error bars: the spread of the estimator over 8 disjoint sub-clouds divided by sqrt(8).

What it shows (M = 40 000): the k-NN entropy is within 0.02 nats of the exact value at every
T, slightly low at the lowest T where each well is a narrow, anisotropic bump; the
histogram sits a few hundredths of a nat low (cells holding a handful of samples, beyond
what Miller–Madow's first-order correction removes); the Gaussian formula overshoots by a
margin that grows as T → 0, where the cloud is two narrow, distant bumps.

    python examples/entropy_vs_temperature.py            # M = 40 000, 12 temperatures
    python examples/entropy_vs_temperature.py --smoke    # tiny, for the test suite
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

from sgdsde.plot import example_arguments, save_figure

BARRIER, STIFFNESS, DT = 1.0, 1.0, 0.01


def exact_thermodynamics(temperature: float) -> tuple[float, float, float]:
    """Exact E[U], S, F of the Boltzmann law of the 2-D double well at T (quadrature)."""
    def weight(x):
        return np.exp(-BARRIER * (x * x - 1) ** 2 / temperature)

    def quad(f):  # e^{-64 h / T} at |x| = 3: negligible for T <= 1
        return integrate.quad(f, -3.0, 3.0, points=[-1.0, 0.0, 1.0], limit=200, epsabs=0)[0]

    z_x = quad(weight)
    u_x = quad(lambda x: BARRIER * (x * x - 1) ** 2 * weight(x)) / z_x
    s_x = np.log(z_x) + u_x / temperature
    mean_energy = u_x + 0.5 * temperature
    entropy = s_x + 0.5 * np.log(2 * np.pi * np.e * temperature / STIFFNESS)
    return mean_energy, entropy, mean_energy - temperature * entropy


def equilibrium_cloud(temperature, n_particles, t1, seed):
    """Final positions (M, 2) of a Leimkuhler–Matthews run started half in each well."""
    from sgdsde.integrators.overdamped import LeimkuhlerMatthews
    from sgdsde.landscapes.toy import DoubleWell
    from sgdsde.save import SaveAt
    from sgdsde.sde import LangevinSDE
    from sgdsde.simulate import simulate

    landscape = DoubleWell(dim=2, barrier=BARRIER, transverse_stiffness=STIFFNESS)
    x0 = np.zeros((n_particles, 2))
    x0[:, 0] = np.where(np.arange(n_particles) % 2 == 0, -1.0, 1.0)
    traj = simulate(LangevinSDE(landscape, temperature=temperature), LeimkuhlerMatthews(), x0,
                    dt=DT, t1=t1, save=SaveAt(every=10**9, start=False), seed=seed, progress=False)
    return landscape, traj.final


def estimate(cloud, energy, temperature, n_split=8):
    """E[U], S and F with each entropy estimator, and their SEs from disjoint sub-clouds."""
    from sgdsde.measure.entropy import free_energy, gaussian_entropy, histogram_entropy, knn_entropy

    n_bins = int(np.sqrt(len(cloud)) / 2)  # per axis: ~4 samples per cell of the box
    edges = tuple(np.linspace(lo, hi, n_bins + 1) for lo, hi in zip(cloud.min(0), cloud.max(0), strict=True))
    estimators = {
        "k-NN (k = 3)": lambda c: knn_entropy(c, k=3),
        "histogram (Miller–Madow)": lambda c: histogram_entropy(c, bins=edges),
        "Gaussian (upper bound)": gaussian_entropy,
    }
    out = {"energy": (energy.mean(), energy.std(ddof=1) / np.sqrt(energy.size))}
    parts = np.array_split(np.random.default_rng(0).permutation(len(cloud)), n_split)
    for name, fn in estimators.items():
        s = fn(cloud)
        spread = np.std([fn(cloud[p]) for p in parts], ddof=1) / np.sqrt(n_split)
        out[name] = (s, spread, free_energy(out["energy"][0], s, temperature))
    return out


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    if args.smoke:
        temps, n_particles, t1 = np.array([0.1, 0.4, 1.0]), 2000, 2.0
    else:
        temps, n_particles, t1 = np.geomspace(0.05, 1.5, 12), 40_000, 20.0

    exact = np.array([exact_thermodynamics(t) for t in temps])
    rows = []
    for i, t in enumerate(temps):
        landscape, cloud = equilibrium_cloud(t, n_particles, t1, seed=100 + i)
        rows.append(estimate(cloud, landscape.energy(cloud), t))

    names = [k for k in rows[0] if k != "energy"]
    print(f"2-D double well h = {BARRIER}, κ = {STIFFNESS}; M = {n_particles}, LM dt = {DT}, t = {t1}")
    print(f"{'T':>6} {'E[U] exact':>10} {'sim':>8} {'S exact':>8} "
          + " ".join(f"{n.split(' ')[0]:>16}" for n in names) + f" {'F exact':>8} {'F k-NN':>8}")
    for i, t in enumerate(temps):
        r = rows[i]
        cells = " ".join(f"{r[n][0]:8.3f}±{r[n][1]:.3f}".rjust(16) for n in names)
        print(f"{t:6.3f} {exact[i, 0]:10.4f} {r['energy'][0]:8.4f} {exact[i, 1]:8.3f} {cells} "
              f"{exact[i, 2]:8.3f} {r[names[0]][2]:8.3f}")

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9), layout="constrained")
    fine = np.geomspace(temps[0], temps[-1], 200)
    exact_fine = np.array([exact_thermodynamics(t) for t in fine])
    markers = dict(zip(names, ["o", "s", "^"], strict=True))

    ax = axes[0]
    ax.plot(fine, exact_fine[:, 1], "k-", lw=1.5, label="exact (quadrature)")
    for n in names:
        s = np.array([[r[n][0], r[n][1]] for r in rows])
        ax.errorbar(temps, s[:, 0], yerr=2 * s[:, 1], fmt=markers[n], ms=4, capsize=2, label=n)
    ax.set(xscale="log", xlabel="temperature T", ylabel="entropy S (nats)", title="(a) entropy")
    ax.legend(frameon=False, fontsize=8)

    ax = axes[1]
    ax.plot(fine, exact_fine[:, 0], "k-", lw=1.5, label="E[U] exact")
    ax.plot(fine, exact_fine[:, 2], "k--", lw=1.5, label="F = −T ln Z exact")
    energy = np.array([[r["energy"][0], r["energy"][1]] for r in rows])
    ax.errorbar(temps, energy[:, 0], yerr=2 * energy[:, 1], fmt="D", ms=4, color="C3", label="E[U] cloud")
    for n in names[:2]:
        ax.plot(temps, [r[n][2] for r in rows], markers[n], ms=4, label=f"F, S from {n.split(' ')[0]}")
    ax.set(xscale="log", xlabel="temperature T", ylabel="energy units",
           title="(b) mean energy and free energy")
    ax.legend(frameon=False, fontsize=8)

    ax = axes[2]
    ax.axhline(0, color="k", lw=0.8)
    for n in names[:2]:
        s = np.array([[r[n][0], r[n][1]] for r in rows])
        ax.errorbar(temps, s[:, 0] - exact[:, 1], yerr=2 * s[:, 1], fmt=markers[n], ms=4, capsize=2, label=n)
    ax.set(xscale="log", xlabel="temperature T", ylabel="S estimate − S exact (nats)",
           title="(c) entropy error (bars: 2 SE)")
    ax.margins(y=0.3)
    ax.legend(frameon=False, fontsize=8, loc="upper center", ncols=2)

    fig.suptitle(f"Double well h(x²−1)² + κy²/2, h = {BARRIER}, κ = {STIFFNESS}: cloud of {n_particles} "
                 "particles vs exact Boltzmann values", fontsize=10)
    return save_figure(fig, args.out, "entropy_vs_temperature", args.smoke, dpi=130)


if __name__ == "__main__":
    main()
