"""The default study run by ``sgdsde demo`` (``make demo``): a report folder with figures."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import integrators, landscapes
from .sde import LangevinSDE
from .simulate import simulate
from .save import SaveAt
from .theory import boltzmann_density_1d

__all__ = ["run_demo"]


def double_well_study(out: Path, n_particles: int, seed: int, progress: bool) -> list[str]:
    """Double-well cloud relaxing to its Boltzmann law; returns report lines."""
    import matplotlib.pyplot as plt

    well = landscapes.DoubleWell()
    temperature, dt, t1 = 0.25, 1e-2, 20.0
    sde = LangevinSDE(well, temperature=temperature)
    x0 = np.full((n_particles, 1), -1.0)
    traj = simulate(sde, integrators.LeimkuhlerMatthews(), x0, dt=dt, t1=t1, seed=seed,
                    save=SaveAt(every=100, observables={"energy": "energy", "right": lambda x: x[:, 0] > 0}),
                    progress=progress)
    grid = np.linspace(-2.2, 2.2, 400)
    rho = boltzmann_density_1d(lambda y: well.energy(y[:, None]), temperature, grid)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    a.hist(traj.final[:, 0], bins=80, range=(-2.2, 2.2), density=True, alpha=0.5,
           label=f"{n_particles} particles, t = {t1:g}")
    a.plot(grid, rho, "k", lw=1.5, label=r"Boltzmann $e^{-U/T}/Z$")
    a.set(xlabel="x", ylabel="density", title=f"Double well $U=(x^2-1)^2$, T = {temperature}")
    a.legend(frameon=False)
    frac = traj.observables["right"].mean(axis=1)
    b.plot(traj.ts, frac, label="fraction in the right well")
    b.axhline(0.5, color="k", ls=":", label="equilibrium 1/2")
    b.set(xlabel="time t", ylabel="fraction x > 0", title="Hopping over the barrier")
    b.legend(frameon=False)
    fig.savefig(out / "double_well.png", dpi=120)
    plt.close(fig)
    mean_e = traj.observables["energy"][-1].mean()
    exact_e = np.trapezoid(well.energy(grid[:, None]) * rho, grid)
    return [
        "## Double well: cloud vs Boltzmann",
        "",
        f"Leimkuhler–Matthews, dt = {dt}, T = {temperature}, {n_particles} particles from x = −1, "
        f"t = {t1:g} ({traj.stats['particle_steps_per_s']:.3g} particle-steps/s).",
        f"Mean energy at the end {mean_e:.4f}, Boltzmann {exact_e:.4f}; fraction in the right "
        f"well {frac[-1]:.3f} (equilibrium 0.5).",
        "",
        "![double well](double_well.png)",
        "",
    ]


def run_demo(out: str | Path = "sgdsde-report", n_particles: int = 100_000, seed: int = 0,
             progress: bool = True) -> Path:
    """Run the default study and write ``report.md`` and PNG figures into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    lines = ["# sgdsde demo report", ""]
    lines += double_well_study(out, n_particles, seed, progress)
    lines.append(f"_Total time {time.perf_counter() - start:.1f} s._")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"
