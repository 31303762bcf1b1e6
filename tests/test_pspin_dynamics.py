"""Sphere-constrained dynamics on the p-spin landscape through `simulate` (batched path).

Norm preservation, Brownian motion on the sphere, paramagnetic equilibrium above T_d, and
gradient descent (T = 0) from random starts ending above the threshold energy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sgdsde as sd
from sgdsde.landscapes.base import Landscape
from sgdsde.landscapes.pspin import SphericalPSpin
from sgdsde.manifolds import Sphere
from sgdsde.theory.pspin import (
    dynamical_temperature,
    ground_state_energy,
    paramagnetic_energy,
    threshold_energy,
)


class FreeSphere(Landscape):
    """H = 0 on the sphere |x|² = N: Langevin dynamics is Brownian motion on the sphere."""

    fused_kind = None

    def __init__(self, n):
        self.dim = n
        self.manifold = Sphere(math.sqrt(n))

    def energy(self, x):
        return np.zeros(self._check(x).shape[0], dtype=x.dtype)

    def grad(self, x):
        return np.zeros_like(self._check(x))


@pytest.mark.parametrize("temperature", [0.0, 0.6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_norm_is_preserved_after_every_step(temperature, dtype):
    """|σ|² = N to 1e-12 (float64) after every step; float32 to its own rounding (8 ulp)."""
    model = SphericalPSpin(32, 3, seed=1, dtype=dtype)
    x0 = model.manifold.random(16, 32, seed=2, dtype=dtype)
    def deviation(x):
        return np.abs(np.sum(x.astype(np.float64) ** 2, axis=1) / 32 - 1)

    save = sd.SaveAt(every=1, observables={"dev": deviation})
    traj = sd.simulate(sd.LangevinSDE(model, temperature=temperature), sd.integrators.EulerMaruyama(), x0,
                       dt=0.02, n_steps=60, save=save, seed=3, progress=False)
    assert traj.observables["dev"].shape == (61, 16)
    tol = 1e-12 if dtype == np.float64 else 8 * np.finfo(np.float32).eps
    assert traj.observables["dev"].max() < tol
    assert traj.final.dtype == dtype


def test_brownian_motion_on_the_sphere():
    """E[x(t)·x(0)] = N exp(−T (N−1) t / N) (docs/theory.md §3) on the batched sphere path.

    Per particle x(t)·x(0)/N has sd <= 1, so SE <= 1/sqrt(M); 5 SE tolerance.  The step's own
    bias: one Euler step multiplies E[x·x0] by E[(1 + |v|²/N)^{-1/2}] = 1 − T h (N−1)/N + O(h²),
    so over t/h steps the relative error is O(T² h t) ~ 2e-3 at h = 1e-3, below 5 SE = 0.016.
    """
    n, m, temperature, h = 8, 4000, 1.0, 1e-3
    x0 = Sphere(math.sqrt(n)).random(m, n, seed=5)
    save = sd.SaveAt(every=250, observables={"c": lambda x: np.sum(x * x0, axis=1) / n})
    traj = sd.simulate(sd.LangevinSDE(FreeSphere(n), temperature=temperature), sd.integrators.EulerMaruyama(),
                       x0, dt=h, n_steps=1000, save=save, seed=6, progress=False)
    c = traj.observables["c"]
    exact = np.exp(-temperature * (n - 1) * traj.ts / n)
    se = c.std(axis=1, ddof=1) / math.sqrt(m)
    assert np.all(np.abs(c.mean(axis=1) - exact) < 5 * se + 1e-12), (c.mean(axis=1), exact, se)


def test_langevin_above_td_reaches_the_paramagnetic_energy():
    """At T = 1.5 T_d from random starts, the energy per spin settles at −ξ(1)/T = −1/T.

    The relaxation from e = 0 takes t ≈ 5 at this temperature, so records from t = 5 on are
    averaged.  Several coupling draws (disorder) × particles: the estimate is the mean over
    draws of each draw's time-and-particle average, and its SE the sd across draws over
    sqrt(draws), which carries thermal and disorder fluctuations alike.  Tolerance 5 SE
    (≈ 0.04).  Known biases are far smaller: the step's, measured +0.004 at dt = 0.01
    (−0.7398 against −0.7441 at dt = 0.0025), and quenched minus annealed energy,
    ≈ 15 β³/N² = 0.003 at N = 48 (from E Z² / (E Z)² = E_q exp(β² N q³)).
    """
    n, m, draws = 48, 32, 6
    temperature = 1.5 * dynamical_temperature(3)
    per_draw = []
    for s in range(draws):
        model = SphericalPSpin(n, 3, seed=s)
        x0 = model.manifold.random(m, n, seed=100 + s)
        traj = sd.simulate(sd.LangevinSDE(model, temperature=temperature), sd.integrators.EulerMaruyama(), x0,
                           dt=0.01, t1=15.0, seed=200 + s, progress=False,
                           save=sd.SaveAt(every=50, observables={"e": model.energy_per_spin}))
        per_draw.append(traj.observables["e"][traj.ts >= 5.0].mean())
    per_draw = np.array(per_draw)
    se = per_draw.std(ddof=1) / math.sqrt(draws)
    target = paramagnetic_energy(temperature, p=3)
    assert abs(per_draw.mean() - target) < 5 * se, (per_draw.mean(), target, se)


def test_gradient_descent_ends_above_the_threshold():
    """T = 0 from random starts: the energy decreases monotonically and ages above −E_∞.

    Finite N: the cloud's mean energy per spin at t = 40 stays above the threshold by more
    than 5 SE (SE across draws, as above) and so far above the ground state −E_0.
    """
    n, m, draws = 96, 8, 4
    final = []
    for s in range(draws):
        model = SphericalPSpin(n, 3, seed=10 + s)
        x0 = model.manifold.random(m, n, seed=300 + s)
        traj = sd.simulate(sd.LangevinSDE(model, temperature=0.0), sd.integrators.EulerMaruyama(), x0,
                           dt=0.05, t1=40.0, seed=0, progress=False,
                           save=sd.SaveAt(every=20, observables={"e": model.energy_per_spin}))
        e = traj.observables["e"]
        assert np.all(np.diff(e, axis=0) <= 1e-12), "gradient descent must not raise the energy"
        final.append(e[-1].mean())
    final = np.array(final)
    se = final.std(ddof=1) / math.sqrt(draws)
    gap = final.mean() - threshold_energy(3)
    assert gap > 5 * se, (final, gap, se)
    assert final.mean() > ground_state_energy(3)
