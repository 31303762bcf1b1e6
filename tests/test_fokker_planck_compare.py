"""Fokker–Planck densities against particle clouds from ``simulate`` (small sizes).

The statistical criterion: a cloud of M particles agrees with the density when each distance
(KL, TV, W1 on the solver's grid) is at most the sampling-noise floor's mean plus 5 of its
standard deviations, both measured from 200 multinomial histograms of M exact samples
(``sampling_noise_floor``); the integrator's own bias (Leimkuhler–Matthews, weak order 1, dt =
2e-3) and the grid's (O(h²), h = 0.02) are far below the floor at M = 3000.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import sgdsde as sd
from sgdsde.fokker_planck import FokkerPlanck, Grid, compare_with_cloud, evolve, plot_density_vs_cloud
from sgdsde.random import STREAM_USER, normals

matplotlib.use("Agg")

TIMES = (0.0, 0.5, 1.0, 3.0)
DT, EVERY = 2e-3, 250


@pytest.fixture(scope="module")
def double_well():
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), 0.5)
    fp = FokkerPlanck(sde, Grid((-2.5, 2.5), 250))

    def start(x):
        return np.exp(-0.5 * ((x[:, 0] + 1.0) / 0.2) ** 2)

    evolution = evolve(fp, start, TIMES, dt=DT)
    x0 = -1.0 + 0.2 * normals(11, np.arange(3000), 0, 1, stream=STREAM_USER)
    traj = sd.simulate(sde, sd.integrators.LeimkuhlerMatthews(), x0, dt=DT, t1=TIMES[-1],
                       save=sd.SaveAt(every=EVERY, observables={"position": "position"}),
                       seed=12, progress=False)
    return evolution, traj


def clouds_at(traj, times):
    return {t: traj.observables["position"][round(t / (DT * EVERY))] for t in times}


def test_cloud_agrees_with_density_within_the_sampling_noise_floor(double_well):
    evolution, traj = double_well
    comparison = compare_with_cloud(evolution, clouds_at(traj, TIMES))
    assert set(comparison.distance) == {"kl", "tv", "w1"}
    np.testing.assert_array_equal(comparison.ts, TIMES)
    assert comparison.within_floor(5.0), comparison.table()
    assert np.all(comparison.outside == 0.0)
    # the floor is not trivially wide: 3000 samples on 250 cells leave TV ≈ 0.1 ± 0.01
    assert np.all(comparison.floor_std["tv"] < 0.2 * comparison.floor_mean["tv"])


def test_comparison_detects_a_cloud_at_the_wrong_time(double_well):
    evolution, traj = double_well
    # the cloud at t = 3 (a third of it across the barrier) against the density at t = 0.5
    wrong = {0.5: traj.observables["position"][round(3.0 / (DT * EVERY))]}
    comparison = compare_with_cloud(evolution, wrong, metrics=("tv", "w1"))
    assert not comparison.within_floor(5.0)
    assert np.all(comparison.excess("tv") > 5) and np.all(comparison.excess("w1") > 5)


def test_comparison_takes_a_trajectory(double_well):
    evolution, traj = double_well
    evolution_all = evolve(FokkerPlanck(sd.LangevinSDE(sd.landscapes.DoubleWell(), 0.5),
                                        Grid((-2.5, 2.5), 250)),
                           evolution.densities[0], traj.ts, dt=DT, track=False)
    comparison = compare_with_cloud(evolution_all, traj, metrics=("tv",), n_repeats=50)
    np.testing.assert_array_equal(comparison.ts, traj.ts)
    assert len(comparison.table().splitlines()) == len(traj.ts) + 1


def test_plot_overlays_density_and_histogram(double_well):
    evolution, traj = double_well
    ax = plot_density_vs_cloud(evolution, clouds_at(traj, TIMES), times=(0.5, 3.0), n_bins=50)
    assert [line.get_label() for line in ax.get_lines()] == ["t = 0.5", "t = 3"]
    stairs = [p for p in ax.patches if isinstance(p, matplotlib.patches.StepPatch)]
    assert len(stairs) == 2 and len(stairs[0].get_data().edges) == 51  # 250 cells merged by 5
    # the histogram integrates to one over the grid, as the density does
    values, edges = stairs[1].get_data().values, stairs[1].get_data().edges
    assert abs(np.sum(values * np.diff(edges)) - 1.0) < 1e-12


def test_comparison_rejects_bad_input(double_well):
    evolution, traj = double_well
    with pytest.raises(ValueError, match="no density saved"):
        compare_with_cloud(evolution, {0.25: traj.final})
    with pytest.raises(ValueError, match="shape"):
        compare_with_cloud(evolution, {0.5: np.zeros((10, 2))})
    with pytest.raises(ValueError, match="metrics"):
        compare_with_cloud(evolution, {0.5: traj.final}, metrics=("l2",))
    with pytest.raises(ValueError, match="position"):
        compare_with_cloud(evolution, sd.simulate(sd.LangevinSDE(sd.landscapes.DoubleWell(), 0.5),
                                                  sd.integrators.EulerMaruyama(), traj.final, dt=DT,
                                                  n_steps=2, seed=0, progress=False))
    with pytest.raises(ValueError, match="no cloud"):
        plot_density_vs_cloud(evolution, {0.5: traj.final}, times=(1.0,))
    fp2 = FokkerPlanck(sd.LangevinSDE(sd.landscapes.Quadratic(np.eye(2)), 0.5), Grid([(-3, 3)] * 2, 20))
    ev2 = evolve(fp2, np.ones((20, 20)), [0.0], dt=0.1)
    with pytest.raises(ValueError, match="1-D"):
        compare_with_cloud(ev2, {0.0: np.zeros((5, 2))}, metrics=("w1",))


@pytest.mark.slow  # ~5 s alone, ~10 s on a loaded machine (interpreter, Numba load, simulation)
def test_example_smoke(tmp_path):
    script = Path(__file__).parents[1] / "examples" / "double_well_fokker_planck.py"
    done = subprocess.run([sys.executable, str(script), "--smoke", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "double_well_fokker_planck_smoke.png").stat().st_size > 10_000
    assert "within 5 spreads of the sampling-noise floor at every time and metric: True" in done.stdout


def test_a_cloud_on_a_ring_is_wrapped_onto_a_periodic_grid():
    """On a periodic axis a particle at x + L is the particle at x; a cloud that had drifted a
    few periods (a tilted ring's current carries it) counted as outside the grid: missing mass,
    and a distance far above the floor for a cloud drawn from the density itself."""
    class Ring(sd.landscapes.base.Landscape):
        dim = 1

        def energy(self, x):
            return 0.5 * np.cos(2 * np.pi * x[:, 0])

        def grad(self, x):
            return -np.pi * np.sin(2 * np.pi * x)

    fp = FokkerPlanck(sd.LangevinSDE(Ring(), 0.5), Grid((0.0, 1.0), 100, boundary="periodic"))
    evolution = evolve(fp, fp.stationary(), [0.0], method="expm")
    rng = np.random.default_rng(3)
    p = fp.stationary() * fp.grid.cell_volume
    cells = rng.choice(p.size, size=20_000, p=p / p.sum())
    x = (fp.grid.edges[0][cells] + rng.uniform(0, 0.01, cells.size))[:, None]
    home = compare_with_cloud(evolution, {0.0: x}, metrics=("tv",), n_repeats=20)
    away = compare_with_cloud(evolution, {0.0: x + 3.0}, metrics=("tv",), n_repeats=20)
    assert home.outside[0] == away.outside[0] == 0.0
    np.testing.assert_allclose(away.distance["tv"], home.distance["tv"], rtol=1e-9)
    assert away.within_floor()
