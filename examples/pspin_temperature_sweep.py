"""p-spin energy against temperature across T_d, as a Dask sweep on a local cluster.

Each grid point (temperature T, coupling draw) runs Langevin dynamics of a cloud on the
spherical 3-spin model from random starts and reports the energy per spin at the end.
Above T_d the cloud equilibrates at the paramagnetic energy −1/T (ABC units); below it the
dynamics age and stay above the threshold −E_∞ instead of reaching the ground state.

    python examples/pspin_temperature_sweep.py            # N = 128, 8 temperatures x 2 draws
    python examples/pspin_temperature_sweep.py --smoke    # tiny, for the test suite

Needs the optional extra ``distributed`` (``pip install 'sgdsde[distributed]'``).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from sgdsde.plot import example_arguments, save_figure


def final_energy(seed, temperature, n, coupling_seed, n_particles, t1, dt):
    """Energy per spin of a cloud after Langevin dynamics to time t1 (one sweep point)."""
    import sgdsde as sd
    from sgdsde.landscapes.pspin import SphericalPSpin

    model = SphericalPSpin(n, 3, seed=coupling_seed)
    sde = sd.LangevinSDE(model, temperature=temperature)
    x0 = model.manifold.random(n_particles, n, seed=seed)
    traj = sd.simulate(sde, sd.integrators.EulerMaruyama(), x0, dt=dt, t1=t1, seed=seed, progress=False,
                       save=sd.SaveAt(every=round(t1 / dt), observables={"e": model.energy_per_spin}))
    e = traj.observables["e"][-1]
    return {"energy": float(e.mean()), "energy_se": float(e.std(ddof=1) / np.sqrt(e.size))}


def main(argv=None):
    args = example_arguments(__doc__, argv, script=__file__)

    import matplotlib.pyplot as plt

    from sgdsde._extras import require
    from sgdsde.distributed import sweep
    from sgdsde.theory.cugliandolo_kurchan import threshold_energy_at
    from sgdsde.theory.pspin import dynamical_temperature, paramagnetic_energy, threshold_energy

    # Dask comes with the extra 'distributed': without it this names the extra to install
    distributed = require("distributed", "distributed", "examples/pspin_temperature_sweep.py")
    t_d = dynamical_temperature(3)
    if args.smoke:
        temps, n, draws, particles, t1, dt = [0.6, 1.3], 16, [0], 4, 2.0, 0.02
    else:
        temps, n, draws, particles, t1, dt = list(np.linspace(0.5, 1.6, 8)), 128, [0, 1], 32, 50.0, 0.02
    grid = {"temperature": temps, "coupling_seed": draws}

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        study = partial(final_energy, n=n, n_particles=particles, t1=t1, dt=dt)
        result = sweep(study, grid, client=client, seed=3, progress=not args.smoke)
    if result.failed:
        raise SystemExit(f"failed points: {result.failed}")

    t = result.column("temperature")
    e = result.column("energy")
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    for s in draws:
        sel = result.column("coupling_seed") == s
        ax.errorbar(t[sel], e[sel], yerr=result.column("energy_se")[sel], fmt="o", ms=4,
                    label=f"N = {n}, couplings #{s}, t = {t1:g}")
    grid_t = np.linspace(t_d, max(temps) * 1.05, 100)
    ax.plot(grid_t, paramagnetic_energy(grid_t, p=3), "k-", label=r"paramagnetic $-1/T$ ($T>T_d$)")
    ax.axhline(threshold_energy(3), color="C3", ls="--", label=r"threshold $-E_\infty$")
    ax.axvline(t_d, color="0.5", ls=":", label=r"$T_d$")
    ax.set(xlabel="temperature T", ylabel="energy per spin", title="3-spin spherical model (ABC units)")
    ax.legend(frameon=False, fontsize=8)
    print(f"{len(result.params)} points")
    save_figure(fig, args.out, "pspin_temperature_sweep", args.smoke)
    for row in result.to_records():
        temperature = row["temperature"]
        if temperature > t_d:  # the paramagnet is the N -> infinity state only above T_d
            reference = f"paramagnetic {paramagnetic_energy(temperature, p=3):+.4f}"
        else:  # below T_d the dynamics age towards the threshold state (Cugliandolo & Kurchan 1993)
            reference = f"aging threshold E_th(T) {threshold_energy_at({3: 1.0}, temperature)[0]:+.4f}"
        print(f"T = {temperature:.3f}  draw {row['coupling_seed']}  e = {row['energy']:+.4f} ± "
              f"{row['energy_se']:.4f}  ({reference})")


if __name__ == "__main__":
    main()
