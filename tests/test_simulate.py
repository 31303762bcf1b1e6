"""The driver: records, results on disk, checkpoints, interruption, divergence, bad input,
and Brownian motion on the sphere."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from sgdsde.integrators import ALL, BAOAB, MALA, EulerMaruyama, Heun, LeimkuhlerMatthews
from sgdsde.landscapes.base import Landscape
from sgdsde.landscapes.toy import DoubleWell, Quadratic
from sgdsde.manifolds import Sphere
from sgdsde.results import DivergenceError, Trajectory
from sgdsde.save import SaveAt
from sgdsde.sde import LangevinSDE
from sgdsde.simulate import simulate

IDS = [c.name for c in ALL]


def _sde(integ, dim=2, temperature=0.3):
    return LangevinSDE(DoubleWell(dim=dim), temperature=temperature,
                       friction=1.0 if integ.underdamped else None)


def _x0(m=16, dim=2):
    return np.linspace(-1.2, 1.2, m * dim).reshape(m, dim)


# ----------------------------------------------------------------------------- records
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_saveat_records_times_shapes_and_builtins(backend):
    integ, m, d = BAOAB(), 16, 2
    sde = _sde(integ, d)
    save = SaveAt(every=10, observables={"energy": "energy", "kinetic": "kinetic_energy",
                                         "mean": "mean", "cloud": "position",
                                         "x0 > 0": lambda x: x[:, 0] > 0})
    traj = simulate(sde, integ, _x0(m, d), dt=0.02, n_steps=35, t0=1.5, save=save, seed=3,
                    backend=backend, progress=False)
    np.testing.assert_array_equal(traj.steps, [0, 10, 20, 30, 35])  # start, every 10, the last
    np.testing.assert_allclose(traj.ts, 1.5 + 0.02 * traj.steps)
    n_rec = traj.steps.size
    obs = traj.observables
    assert obs["energy"].shape == obs["kinetic"].shape == obs["x0 > 0"].shape == (n_rec, m)
    assert obs["mean"].shape == (n_rec, d) and obs["cloud"].shape == (n_rec, m, d)
    assert obs["x0 > 0"].dtype == bool
    np.testing.assert_array_equal(obs["cloud"][0], _x0(m, d))
    np.testing.assert_array_equal(obs["cloud"][-1], traj.final)
    np.testing.assert_allclose(obs["energy"][-1], sde.landscape.energy(traj.final))
    np.testing.assert_allclose(obs["kinetic"][-1], 0.5 * np.sum(traj.final_velocity**2, axis=1))
    np.testing.assert_allclose(obs["mean"], obs["cloud"].mean(axis=1))
    assert traj.step == 35 and traj.completed and not traj.stats["interrupted"]
    assert traj.final.shape == (m, d) and traj.final_velocity.shape == (m, d)
    for array in (traj.ts, traj.final, obs["energy"]):  # frozen
        with pytest.raises(ValueError):
            array[...] = 0


def test_saveat_without_start_and_counting_stats():
    integ = EulerMaruyama()
    traj = simulate(_sde(integ), integ, _x0(), dt=0.01, t1=0.4, seed=1, progress=False,
                    save=SaveAt(every=20, start=False, observables={"e": "energy"}))
    np.testing.assert_array_equal(traj.steps, [20, 40])
    s = traj.stats
    assert s["n_steps"] == 40 and s["n_grad_evals"] == 40
    assert s["wall_time"] > 0 and s["particle_steps_per_s"] > 0
    st = traj.settings
    assert (st["integrator"], st["dt"], st["target_step"], st["seed"]) == ("EulerMaruyama", 0.01, 40, 1)


def test_settings_rerun_the_same_path():
    """seed=None draws a seed, recorded in the settings: rerunning with it gives the same cloud."""
    integ = Heun()
    first = simulate(_sde(integ), integ, _x0(), dt=0.01, n_steps=30, progress=False)
    again = simulate(_sde(integ), integ, _x0(), dt=first.settings["dt"], n_steps=30,
                     seed=first.settings["seed"], progress=False)
    np.testing.assert_array_equal(first.final, again.final)


def test_kinetic_energy_needs_velocities():
    integ = EulerMaruyama()
    with pytest.raises(ValueError, match="kinetic_energy needs underdamped"):
        simulate(_sde(integ), integ, _x0(), dt=0.01, n_steps=2, progress=False,
                 save=SaveAt(observables={"k": "kinetic_energy"}))


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"every": 0}, ValueError, "every must be an integer number of steps >= 1"),
    ({"every": 2.5}, ValueError, "every"),
    ({"every": True}, ValueError, "every"),
    ({"observables": {"e": "free_energy"}}, ValueError, "unknown built-in 'free_energy'"),
    ({"observables": {"e": 3}}, TypeError, "observable 'e' must be a callable"),
    # were an AttributeError ('list' object has no attribute 'items'), a name 0 that came back
    # from a file as '0', and start="no" that recorded the start
    ({"observables": ["energy"]}, TypeError, "observables must be a mapping"),
    ({"observables": {0: "energy"}}, TypeError, "observable names must be strings"),
    ({"start": "no"}, TypeError, "start must be True or False"),
    ({"start": None}, TypeError, "start must be True or False"),
])
def test_saveat_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        SaveAt(**kwargs)


# ----------------------------------------------------------------------------- save / load
def test_trajectory_save_load_round_trip(tmp_path):
    integ = MALA()
    traj = simulate(_sde(integ), integ, _x0().astype(np.float32), dt=0.05, n_steps=25, seed=8,
                    progress=False, save=SaveAt(every=5, observables={"e": "energy", "m": "mean"}))
    path = traj.save(tmp_path / "run.npz")
    back = Trajectory.load(path)
    for name in ("ts", "steps", "final"):
        a, b = getattr(traj, name), getattr(back, name)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert back.final.dtype == np.float32 and back.final_velocity is None
    assert back.observables.keys() == traj.observables.keys()
    for k in traj.observables:
        np.testing.assert_array_equal(back.observables[k], traj.observables[k])
    assert back.stats == traj.stats and back.settings == traj.settings and back.step == traj.step
    assert not back.final.flags.writeable
    assert not list(tmp_path.glob("*.tmp*"))  # the atomic write leaves no temporary file


def test_underdamped_round_trip_keeps_velocities(tmp_path):
    integ = BAOAB()
    traj = simulate(_sde(integ), integ, _x0(), dt=0.05, n_steps=5, seed=8, progress=False)
    back = Trajectory.load(traj.save(tmp_path / "u.npz"))
    np.testing.assert_array_equal(back.final_velocity, traj.final_velocity)


# ----------------------------------------------------------------------------- checkpoints
class InterruptAt:
    """An observable that raises KeyboardInterrupt (a simulated Ctrl-C) at its n-th call."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, x):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return x[:, 0].copy()


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_interrupt_returns_the_partial_run_and_resume_is_identical(cls, backend, tmp_path):
    """Ctrl-C at the 4th record (step 30): the partial trajectory comes back with
    stats["interrupted"]; resuming from it (and from the checkpoint file) reaches the final
    cloud, velocities and records of an uninterrupted run bit for bit."""
    integ = cls()
    sde = _sde(integ)
    kw = dict(dt=0.02, n_steps=70, seed=21, backend=backend, progress=False)
    whole = simulate(sde, integ, _x0(), save=SaveAt(every=10, observables={"x": InterruptAt(0)}), **kw)

    ckpt = tmp_path / "ckpt.npz"
    part = simulate(sde, integ, _x0(), save=SaveAt(every=10, observables={"x": InterruptAt(4)}),
                    checkpoint=ckpt, **kw)
    assert part.stats["interrupted"] and not part.completed
    assert part.step == 30
    assert part.ts.size == part.observables["x"].shape[0] == 3  # records of steps 0, 10, 20
    on_disk = Trajectory.load(ckpt)
    assert on_disk.step == 30 and on_disk.stats["interrupted"]

    observe = SaveAt(every=10, observables={"x": InterruptAt(0)})
    for prior in (part, ckpt):
        rest = simulate(sde, integ, resume=prior, save=observe, dt=kw["dt"], backend=backend,
                        progress=False)
        assert rest.completed and not rest.stats["interrupted"]
        assert rest.step == 70 and rest.stats["n_steps"] == 70
        assert np.array_equal(rest.final, whole.final)
        if integ.underdamped:
            assert np.array_equal(rest.final_velocity, whole.final_velocity)
        np.testing.assert_array_equal(rest.steps, whole.steps)
        np.testing.assert_array_equal(rest.observables["x"], whole.observables["x"])
        if isinstance(integ, MALA):
            assert rest.stats["n_accepted_total"] == whole.stats["n_accepted_total"]


def test_checkpoint_file_is_written_during_the_run(tmp_path):
    """Every ``checkpoint_every`` steps the file holds the state; resuming it with a later
    target continues the identical path."""
    integ = LeimkuhlerMatthews()
    sde = _sde(integ)
    ckpt = tmp_path / "c.npz"
    kw = dict(dt=0.02, seed=5, progress=False)
    whole = simulate(sde, integ, _x0(), n_steps=90, **kw)
    first = simulate(sde, integ, _x0(), n_steps=40, checkpoint=ckpt, checkpoint_every=15, **kw)
    assert Trajectory.load(ckpt).step == 40 and first.completed
    extended = simulate(sde, integ, resume=ckpt, n_steps=90, **kw)
    assert np.array_equal(extended.final, whole.final)


def test_resume_refuses_a_different_run(tmp_path):
    integ = EulerMaruyama()
    part = simulate(_sde(integ), integ, _x0(), dt=0.02, n_steps=10, seed=1, progress=False)
    with pytest.raises(ValueError, match="resume: the run used dt = 0.02"):
        simulate(_sde(integ), integ, resume=part, dt=0.01, progress=False)
    with pytest.raises(ValueError, match="resume: the run used EulerMaruyama, not Heun"):
        simulate(_sde(integ), Heun(), resume=part, dt=0.02, progress=False)
    with pytest.raises(ValueError, match="resume: the run's SDE"):
        simulate(_sde(integ, temperature=0.5), integ, resume=part, dt=0.02, progress=False)
    with pytest.raises(ValueError, match="precedes the checkpoint's step 10"):
        simulate(_sde(integ), integ, resume=part, dt=0.02, n_steps=5, progress=False)


# ----------------------------------------------------------------------------- divergence
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # NumPy on the way up
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cls", [EulerMaruyama, Heun, LeimkuhlerMatthews], ids=lambda c: c.name)
def test_divergence_names_step_and_particles(cls, backend, tmp_path):
    """Double well with dt = 1 (gradient descent, T = 0): x ← x − 4x(x² − 1) grows like x³
    from x = 2 and x = −3, past sqrt(max float) within a few steps, while the stationary
    points ±1 and 0 stay put exactly.  The partial trajectory is the state where the run
    stopped: the batched NumPy path stops the whole cloud after the bad step, the fused
    kernels freeze the bad particles and take the others to the end of the chunk (records
    every 10 steps)."""
    sde = LangevinSDE(DoubleWell(), temperature=0.0)
    x0 = np.array([[1.0], [-1.0], [0.0], [2.0], [-3.0]])
    ckpt = tmp_path / "div.npz"
    with pytest.raises(DivergenceError) as info:
        simulate(sde, cls(), x0, dt=1.0, n_steps=50, seed=0, backend=backend, progress=False,
                 checkpoint=ckpt, save=SaveAt(every=10, observables={"x": lambda x: x[:, 0]}),
                 max_growth=math.inf)  # the float bound; the growth bound: the tests below
    err = info.value
    assert {4} <= set(err.particles.tolist()) <= {3, 4}  # x = −3 blows up first
    assert err.step == (2 if cls is Heun else 4)  # Heun's predictor overshoots sooner
    message = str(err)
    assert f"at step {err.step} (t = {err.step})" in message and "dt = 1" in message
    assert all(str(p) in message for p in err.particles)
    partial = err.trajectory
    assert isinstance(partial, Trajectory) and not partial.completed
    assert partial.step == (err.step + 1 if backend == "numpy" else 10)
    np.testing.assert_array_equal(partial.final[:3, 0], [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(partial.steps, [0])  # no record after the blow-up
    assert Trajectory.load(ckpt).step == partial.step


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("change", "error", "match"), [
    ({"x0": np.zeros(2)}, ValueError, r"x0 must have shape \(n_particles, 2\).*\(1, d\)"),
    ({"x0": np.zeros((4, 3))}, ValueError, r"x0 must have shape \(n_particles, 2\), got \(4, 3\)"),
    ({"x0": np.zeros((4, 2), dtype=np.complex128)}, TypeError, "x0 must be a float32 or float64"),
    ({"x0": np.array([["a", "b"]])}, TypeError, "x0 must be a float32 or float64"),
    ({"x0": np.array([[0.0, 1.0], [np.nan, 0.0]])}, ValueError, r"x0 contains NaN or inf \(particle 1\)"),
    ({"x0": np.array([[np.inf, 1.0]])}, ValueError, "x0 contains NaN or inf"),
    ({"x0": None}, ValueError, "x0 is required"),
    ({"x0": np.zeros((0, 2))}, ValueError, r"x0 must hold at least one particle, got shape \(0, 2\)"),
    ({"dt": 0.0}, ValueError, "dt must be a finite number > 0, got 0.0"),
    ({"dt": -0.1}, ValueError, "dt must be a finite number > 0"),
    ({"dt": np.nan}, ValueError, "dt must be a finite number > 0"),
    ({"dt": np.inf}, ValueError, "dt must be a finite number > 0"),
    ({"backend": "jax"}, ValueError, "unknown backend 'jax': choose one of numpy, numba, cupy"),
    ({"n_steps": None}, ValueError, "give exactly one of t1= .* or n_steps="),
    ({"t1": 1.0}, ValueError, "give exactly one of t1="),
    ({"n_steps": -3}, ValueError, "n_steps must be an integer >= 0"),
    ({"n_steps": 2.5}, ValueError, "n_steps must be an integer >= 0"),
    ({"n_steps": None, "t1": 0.105}, ValueError, "not a whole number of steps"),
    ({"n_steps": None, "t1": -1.0}, ValueError, "t1 must be finite and >= t0"),
    ({"n_steps": None, "t1": True}, TypeError, "t1 must be a finite number"),  # ran to t1 = 1
    ({"n_steps": None, "t1": "0.1"}, TypeError, "t1 must be a finite number"),
    ({"n_steps": None, "t1": np.nan}, ValueError, "t1 must be a finite number"),
    ({"t0": True}, TypeError, "t0 must be a finite number"),
    ({"seed": -5}, ValueError, r"seed must lie in \[0, 2\*\*64\)"),
    ({"seed": 1.5}, TypeError, "seed must be an int"),
    ({"v0": np.zeros((4, 2))}, ValueError, "v0 is only used by underdamped dynamics"),
    ({"particle_offset": -1}, ValueError, "particle_offset must be >= 0"),
    ({"checkpoint_every": 0, "checkpoint": "never_written.npz"}, ValueError,
     "checkpoint_every must be an integer >= 1"),
    ({"save": {"every": 10}}, TypeError, "save must be a SaveAt"),
    ({"sde": DoubleWell()}, TypeError, "sde must be a LangevinSDE"),
    ({"integrator": EulerMaruyama}, TypeError, "integrator must be an Integrator"),
    ({"integrator": BAOAB()}, ValueError, "BAOAB integrates underdamped"),
])
def test_bad_input_names_the_parameter(change, error, match):
    args = {"sde": _sde(EulerMaruyama()), "integrator": EulerMaruyama(), "x0": np.zeros((4, 2)),
            "dt": 0.01, "n_steps": 10, "progress": False} | change
    with pytest.raises(error, match=match):
        simulate(**args)


@pytest.mark.parametrize(("change", "match"), [
    ({"v0": np.zeros((3, 2))}, r"v0 must have the shape of x0 \(4, 2\), got \(3, 2\)"),
    ({"v0": np.full((4, 2), np.nan)}, "v0 contains NaN or inf"),
    ({"v0": np.zeros((4, 5))}, r"v0 must have shape \(n_particles, 2\)"),
])
def test_bad_velocities(change, match):
    with pytest.raises(ValueError, match=match):
        simulate(_sde(BAOAB()), BAOAB(), np.zeros((4, 2)), dt=0.01, n_steps=1, progress=False, **change)


@pytest.mark.parametrize(("build", "match"), [
    (lambda: LangevinSDE(DoubleWell(), temperature=-0.1), "temperature must be >= 0, got -0.1"),
    (lambda: LangevinSDE(DoubleWell(), temperature=np.nan), "temperature must be a finite number"),
    (lambda: LangevinSDE(DoubleWell()), "give exactly one of temperature= or noise="),
    (lambda: LangevinSDE(DoubleWell(), temperature=1.0, friction=0.0),
     "friction must be a finite number > 0"),
    (lambda: LangevinSDE(DoubleWell(), temperature=1.0, friction=1.0, mass=-1.0), "mass must be"),
    (lambda: Sphere(0.0), "radius must be a finite number > 0"),
])
def test_bad_sde_input(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_x0_off_the_sphere():
    sde = LangevinSDE(FreeOnSphere(4), temperature=1.0)
    x0 = np.ones((3, 4))
    x0[1] *= 1.01  # |x| = 2.02, the sphere has radius 2
    off = r"x0 must lie on the sphere \|x\| = 2 .* particle 1 has \|x\| = 2.02"
    with pytest.raises(ValueError, match=off):
        simulate(sde, EulerMaruyama(), x0, dt=0.01, n_steps=1, progress=False)
    with pytest.raises(ValueError, match="MALA is defined on Euclidean space only"):
        simulate(sde, MALA(), np.ones((3, 4)), dt=0.01, n_steps=1, progress=False)


# ----------------------------------------------------------------------------- the sphere
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_and_retracted_points_pass_the_sphere_check_in_high_dimension(dtype):
    """At N = 1e5 in float32 a float32 sum of squares is off by ~3e-6 relative; the check and
    the retraction accumulate in float64, so the points the sphere makes are accepted and lie
    on it to float32 rounding."""
    n = 100_000
    sphere = Sphere(math.sqrt(n))
    x = sphere.random(4, n, seed=1, dtype=dtype)
    sphere.check(x)  # does not raise
    y = sphere.retract(3.0 * x)
    assert y.dtype == dtype
    sphere.check(y)
    norms = np.sqrt(np.sum(y.astype(np.float64) ** 2, axis=1))
    # one rounding of the scale factor to dtype (≤ eps/2; the coordinates' own roundings
    # average out), plus the float64 pairwise sum of 1e5 squares (≤ log2(N) eps64 ≈ 17 eps64)
    rtol = np.finfo(dtype).eps + 32 * np.finfo(np.float64).eps
    np.testing.assert_allclose(norms, math.sqrt(n), rtol=rtol)


class FreeOnSphere(Landscape):
    """Zero potential on the sphere |x|² = N in R^N: Brownian motion on the sphere."""

    fused_kind = None

    def __init__(self, n):
        self.dim = n
        self.manifold = Sphere(math.sqrt(n))

    def energy(self, x):
        return np.zeros(x.shape[0], dtype=x.dtype)

    def grad(self, x):
        return np.zeros_like(x)

    def __repr__(self):
        return f"FreeOnSphere({self.dim})"


@pytest.mark.parametrize("cls", [EulerMaruyama, Heun], ids=lambda c: c.name)
def test_brownian_motion_on_the_sphere(cls):
    """docs/theory.md §3: E[x(t)·x(0)] = N exp(−T(N−1)t/N), within 5 SE at every record
    (SE = sd/sqrt(M) of the per-particle overlaps; the O(h) bias of the retraction,
    ~ t (T(N−1)/N)² h ≈ 1e-3, is ten times smaller).  |x|² = N to 1e-12 after every step."""
    n, temperature, m, dt = 8, 1.0, 4000, 1e-3
    sde = LangevinSDE(FreeOnSphere(n), temperature=temperature)
    x0 = sde.manifold.random(m, n, seed=4)
    # Euler–Maruyama takes the fused noise-and-update pass of the Numba backend, Heun the
    # reference step with Numba noise: both retract onto the sphere after every step.
    traj = simulate(sde, cls(), x0, dt=dt, t1=1.0, seed=6, backend="numba", progress=False,
                    save=SaveAt(every=1, observables={
                        "norm2": lambda x: np.einsum("md,md->m", x, x),
                        "overlap": lambda x: np.einsum("md,md->m", x, x0) / n}))
    np.testing.assert_allclose(traj.observables["norm2"], n, rtol=0, atol=1e-12 * n)
    q = traj.observables["overlap"][::100]
    expected = np.exp(-temperature * (n - 1) * traj.ts[::100] / n)
    se = q.std(axis=1) / math.sqrt(m)
    assert np.all(np.abs(q.mean(axis=1) - expected) <= 5 * se + 1e-12)
    assert q.mean(axis=1)[-1] < 0.5  # the cloud decorrelated: the test is not vacuous


def test_integer_x0_becomes_float64():
    integ = EulerMaruyama()
    traj = simulate(LangevinSDE(Quadratic(np.eye(2)), temperature=0.1), integ,
                    np.ones((3, 2), dtype=np.int32), dt=0.1, n_steps=3, seed=1, progress=False)
    assert traj.final.dtype == np.float64


def test_divergence_marks_the_partial_trajectory_incomplete():
    sde = LangevinSDE(DoubleWell(), temperature=0.25)
    # dt = 1 blows the double well up within a few steps, inside the only chunk of the run
    with pytest.raises(DivergenceError) as info:
        simulate(sde, EulerMaruyama(), np.full((8, 1), 2.0), dt=1.0, n_steps=50, seed=0, progress=False)
    traj = info.value.trajectory
    assert traj.stats["diverged"] and not traj.completed


def test_a_landscape_manifold_draws_clouds_of_its_own_dimension():
    sphere = Sphere(3.0, dim=5)
    cloud = sphere.random(7, seed=2)
    assert cloud.shape == (7, 5)
    np.testing.assert_allclose(np.linalg.norm(cloud, axis=1), 3.0, rtol=1e-12)
    np.testing.assert_array_equal(cloud, Sphere(3.0).random(7, 5, seed=2))
    with pytest.raises(ValueError, match="pass dim="):
        Sphere(3.0).random(7)
    with pytest.raises(ValueError, match="dim must be"):
        Sphere(3.0, dim=0)


# ----------------------------------------------------------------------------- blow-ups (issue 15)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_growth_by_orders_of_magnitude_is_a_divergence(backend):
    """Gradient descent on U = |x|²/2 with dt = 2.5: x_n = (−1.5)^n x0.  It used to run to
    |x| = 1.5^700 ≈ 2.7e120 and report completed=True; now |x| passes 1e8 (max_growth times
    the initial scale 1) at step n = 45 (1.5^46 = 1.26e8 > 1e8 > 1.5^45 = 8.4e7)."""
    sde = LangevinSDE(Quadratic(np.eye(2)), temperature=0.0)
    with pytest.raises(DivergenceError, match="grew past max_growth = 1e"):
        simulate(sde, EulerMaruyama(), np.ones((3, 2)), dt=2.5, n_steps=700, backend=backend,
                 seed=1, progress=False)
    with pytest.raises(DivergenceError) as info:
        simulate(sde, EulerMaruyama(), np.ones((3, 2)), dt=2.5, n_steps=700, backend=backend,
                 seed=1, progress=False, max_growth=1e3)  # 1.5^18 = 1478 > 1e3
    assert info.value.step == 17
    # the float bound sqrt(max float) ≈ 1.3e154 still applies without the growth test
    with pytest.raises(DivergenceError, match="exceeded max_abs = 1.34e"):
        simulate(sde, EulerMaruyama(), np.ones((3, 2)), dt=2.5, n_steps=1000, backend=backend,
                 seed=1, progress=False, max_growth=math.inf)


class ExplodingEnergy(Landscape):
    """Drift −x (x_n = 1.1^n x0 under gradient steps of 0.1), energy exp(|x|²)."""

    fused_kind = None
    dim = 1

    def energy(self, x):
        with np.errstate(over="ignore"):
            return np.exp(np.sum(x * x, axis=1))

    def grad(self, x):
        return -x

    def __repr__(self):
        return "ExplodingEnergy()"


def test_energy_growth_at_a_record_is_a_divergence():
    """The recorded energy passes max_growth² · max(1, U(x0)) = 1e16 · e at the record of step
    20 (|x|² = 1.1^40 = 45.3, U = 4.5e19; at step 10 U = 6.8e2), long before |x| would."""
    sde = LangevinSDE(ExplodingEnergy(), temperature=0.0)
    with pytest.raises(DivergenceError, match="energy recorded at step 20 is 4.5") as info:
        simulate(sde, EulerMaruyama(), np.ones((2, 1)), dt=0.1, n_steps=200, seed=1, progress=False,
                 backend="numpy", save=SaveAt(every=10, observables={"U": "energy"}))
    np.testing.assert_array_equal(info.value.trajectory.steps, [0, 10, 20])
    assert info.value.trajectory.observables["U"].shape == (3, 2)


@pytest.mark.parametrize(("cls", "backend"), [(EulerMaruyama, "numba"), (EulerMaruyama, "numpy"),
                                              (Heun, "numba")])
def test_a_step_larger_than_the_sphere_is_a_divergence(cls, backend):
    """Brownian motion on the sphere |x|² = 8 with T dt = 100: the tangent increment
    (|v|² ≈ 2 T dt (N − 1) = 1400 > R² = 8) is larger than the sphere, which the retraction
    used to hide; the first step is flagged.  A reasonable step (T dt = 1e-3) is not."""
    sde = LangevinSDE(FreeOnSphere(8), temperature=1.0)
    x0 = sde.manifold.random(5, 8, seed=3)
    with pytest.raises(DivergenceError, match="tangent increment exceeded the sphere's radius") as info:
        simulate(sde, cls(), x0, dt=100.0, n_steps=20, seed=1, backend=backend, progress=False)
    assert info.value.step == 0
    traj = simulate(sde, cls(), x0, dt=1e-3, n_steps=20, seed=1, backend=backend, progress=False)
    assert traj.completed


@pytest.mark.parametrize("max_abs", [0.0, -1.0, np.nan])
def test_max_abs_must_be_positive(max_abs):
    """max_abs <= 0 used to be reported as a blow-up ("dt is probably too large")."""
    with pytest.raises(ValueError, match="max_abs must be a number > 0"):
        simulate(_sde(EulerMaruyama()), EulerMaruyama(), _x0(), dt=0.01, n_steps=3, seed=1,
                 progress=False, max_abs=max_abs)
    with pytest.raises(ValueError, match="max_growth must be a number > 1"):
        simulate(_sde(EulerMaruyama()), EulerMaruyama(), _x0(), dt=0.01, n_steps=3, seed=1,
                 progress=False, max_growth=1.0)


# ----------------------------------------------------------------------------- ignored arguments
@pytest.mark.parametrize(("change", "error", "match"), [
    ({"t0": np.nan}, ValueError, "t0 must be a finite number, got nan"),
    ({"t0": np.inf}, ValueError, "t0 must be a finite number, got inf"),
    ({"checkpoint_every": 5}, ValueError, "checkpoint_every= is only used with checkpoint="),
    ({"n_shards": 2}, ValueError, "n_shards= is only used with client="),
    ({"client": "tcp://127.0.0.1:8786"}, TypeError, "client must be a dask.distributed.Client"),
    ({"particle_offset": 2**63}, ValueError, r"particle_offset \+ n_particles must be <= 2\*\*32"),
    ({"particle_offset": 2**32 - 2}, ValueError, r"got 4294967294 \+ 4"),
    ({"particle_offset": 1.5}, TypeError, "particle_offset must be an int"),
])
def test_arguments_that_would_be_ignored_or_mangled_raise(change, error, match):
    args = {"sde": _sde(EulerMaruyama()), "integrator": EulerMaruyama(), "x0": np.zeros((4, 2)),
            "dt": 0.01, "n_steps": 10, "progress": False} | change
    with pytest.raises(error, match=match):
        simulate(**args)


def test_mass_needs_underdamped_dynamics():
    with pytest.raises(ValueError, match="mass= is only used by underdamped dynamics"):
        LangevinSDE(DoubleWell(), temperature=1.0, mass=2.0)
    assert LangevinSDE(DoubleWell(), temperature=1.0, friction=1.0, mass=2.0).mass == 2.0


# ----------------------------------------------------------------------------- resume (issue 15)
def test_resume_keeps_observables_in_line_with_the_times(tmp_path):
    """Built-in observables are rebuilt on resume: ts and every observable have one row per
    record (they used to differ by one with the default SaveAt), and equal the whole run's."""
    integ = EulerMaruyama()
    sde = _sde(integ)
    save = SaveAt(every=10, observables={"E": "energy", "m": "mean"})
    kw = dict(dt=0.02, seed=3, progress=False)
    whole = simulate(sde, integ, _x0(), n_steps=60, save=save, **kw)
    part = simulate(sde, integ, _x0(), n_steps=30, save=save, **kw)
    ckpt = part.save(tmp_path / "part.npz")
    for prior in (part, ckpt):
        rest = simulate(sde, integ, resume=prior, n_steps=60, dt=0.02, progress=False)
        assert rest.ts.size == rest.observables["E"].shape[0] == rest.observables["m"].shape[0] == 7
        np.testing.assert_array_equal(rest.observables["E"], whole.observables["E"])
        np.testing.assert_array_equal(rest.final, whole.final)


def test_resume_refuses_arguments_it_would_ignore_or_misalign():
    integ = EulerMaruyama()
    sde = _sde(integ)
    part = simulate(sde, integ, _x0(), dt=0.02, n_steps=20, seed=1, progress=False,
                    save=SaveAt(every=10, observables={"x": lambda x: x[:, 0]}))
    kw = dict(dt=0.02, n_steps=40, progress=False, resume=part)
    save = SaveAt(every=10, observables={"x": lambda x: x[:, 0]})
    with pytest.raises(ValueError, match="its own seed .*do not pass seed="):
        simulate(sde, integ, seed=2, save=save, **kw)
    with pytest.raises(ValueError, match="do not pass x0="):
        simulate(sde, integ, _x0(), save=save, **kw)
    with pytest.raises(ValueError, match="do not pass t0=, particle_offset="):
        simulate(sde, integ, t0=1.0, particle_offset=3, save=save, **kw)
    with pytest.raises(ValueError, match=r"observables \['x'\] computed by functions"):
        simulate(sde, integ, **kw)
    with pytest.raises(ValueError, match=r"must record the same names \(got \['y'\]\)"):
        simulate(sde, integ, save=SaveAt(every=10, observables={"y": lambda x: x[:, 1]}), **kw)
    with pytest.raises(ValueError, match="recorded every 10 steps"):
        simulate(sde, integ, save=SaveAt(every=5, observables={"x": lambda x: x[:, 0]}), **kw)
    # the run's own seed may be repeated
    rest = simulate(sde, integ, seed=1, save=save, **kw)
    assert rest.ts.size == rest.observables["x"].shape[0] == 5


# ----------------------------------------------------------------------------- checkpoint paths
def test_checkpoint_in_a_missing_folder_fails_before_any_step(tmp_path):
    calls = []
    save = SaveAt(every=5, observables={"x": lambda x: calls.append(1) or x[:, 0]})
    with pytest.raises(ValueError, match="checkpoint: the folder .*missing.* does not exist"):
        simulate(_sde(EulerMaruyama()), EulerMaruyama(), _x0(), dt=0.01, n_steps=10, seed=1,
                 progress=False, save=save, checkpoint=tmp_path / "missing" / "c.npz")
    assert not calls  # nothing was computed
    with pytest.raises(ValueError, match="checkpoint must be a file path"):
        simulate(_sde(EulerMaruyama()), EulerMaruyama(), _x0(), dt=0.01, n_steps=10, seed=1,
                 progress=False, checkpoint=tmp_path)


def test_a_checkpoint_write_that_fails_later_warns_and_returns_the_run(tmp_path):
    """The folder disappears during the run (at the second record): the later writes fail,
    each with a warning naming the file, and the computed trajectory still comes back."""
    folder = tmp_path / "gone"
    folder.mkdir()

    def remove_folder(x):
        if folder.exists() and x is not None and len(calls) == 1:
            shutil.rmtree(folder)
        calls.append(1)
        return x[:, 0].copy()

    calls = []
    with pytest.warns(RuntimeWarning, match="could not write the checkpoint .*gone"):
        traj = simulate(_sde(EulerMaruyama()), EulerMaruyama(), _x0(), dt=0.01, n_steps=20, seed=1,
                        progress=False, save=SaveAt(every=5, observables={"x": remove_folder}),
                        checkpoint=folder / "c.npz")
    assert traj.completed and traj.observables["x"].shape == (5, 16)


# ----------------------------------------------------------------------------- first compilation
def test_the_progress_bar_says_when_kernels_are_compiled(capsys):
    """A backend whose kernels are not compiled yet makes the bar say so once (Numba's first
    run sits at 0 % for several seconds); a compiled one does not."""
    from sgdsde.backends.numpy_backend import NumpyBackend

    class Uncompiled(NumpyBackend):
        def needs_compiling(self, integrator, sde):
            return True

    simulate(_sde(EulerMaruyama()), EulerMaruyama(), _x0(), dt=0.01, n_steps=3, seed=1,
             backend=Uncompiled(), progress=True)
    assert "compiling kernels (first run only" in capsys.readouterr().err
    simulate(_sde(EulerMaruyama()), EulerMaruyama(), _x0(), dt=0.01, n_steps=3, seed=1,
             backend="numpy", progress=True)
    assert "compiling" not in capsys.readouterr().err


def test_numba_backend_knows_which_kernels_a_problem_compiles():
    from sgdsde.backends.numba_backend import NumbaBackend
    from sgdsde.integrators import _numba_fused as fused

    be = NumbaBackend()
    fused_sde = LangevinSDE(DoubleWell(), temperature=0.1)
    assert be.kernels(Heun(), fused_sde) == [fused.run_heun]
    assert be.kernels(EulerMaruyama(), LangevinSDE(FreeOnSphere(4), temperature=0.1)) == [
        fused.euler_maruyama_update]
    simulate(fused_sde, Heun(), np.zeros((2, 1)), dt=0.01, n_steps=2, seed=1, progress=False)
    assert not be.needs_compiling(Heun(), fused_sde)


@pytest.mark.parametrize(("build", "error", "match"), [
    (lambda: LangevinSDE(DoubleWell(), temperature=True), ValueError, "temperature must be a finite number"),
    (lambda: LangevinSDE(DoubleWell(), temperature=1.0, friction=True), TypeError, "friction must be"),
    (lambda: LangevinSDE(DoubleWell(), temperature=1.0, friction="1"), TypeError, "friction must be"),
    (lambda: LangevinSDE(DoubleWell(), temperature=1.0, friction=1.0, mass=True), TypeError, "mass must be"),
])
def test_sde_parameters_are_numbers_not_bools(build, error, match):
    """temperature=True ran at T = 1, friction=True at γ = 1 (a bool or a string is never a number)."""
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize("change", [{"dt": True}, {"dt": "0.01"}, {"checkpoint_every": 2.5},
                                    {"checkpoint_every": True}, {"checkpoint_every": "3"}])
def test_step_and_checkpoint_interval_are_checked_not_converted(change, tmp_path):
    """dt=True ran with dt = 1, checkpoint_every=2.5 wrote every 2 steps: an argument that is not
    what it claims is refused, naming it, before any step (and before any checkpoint is written)."""
    path = tmp_path / "run.npz"
    args = {"dt": 0.01, "checkpoint": path} | change
    with pytest.raises((TypeError, ValueError), match=next(iter(change))):
        simulate(_sde(EulerMaruyama()), EulerMaruyama(), np.zeros((4, 2)), n_steps=10, progress=False,
                 seed=1, **args)
    assert not path.exists()


def test_an_observable_whose_shape_changes_is_named_at_the_record():
    """A record of another shape (here the positions of the particles in the right well, whose
    number changes) failed after the whole run with numpy's 'all input arrays must have the same
    shape'; it is now refused at the record, naming the observable and the step."""
    sde = LangevinSDE(DoubleWell(), temperature=0.5)
    x0 = np.linspace(-1.5, 1.5, 11)[:, None]
    save = SaveAt(every=10, observables={"right": lambda x: x[x[:, 0] > 0, 0]})
    with pytest.raises(ValueError, match=r"observable 'right' returned shape \(\d+,\) at step \d+, "
                                         r"but \(5,\) at its first record"):
        simulate(sde, EulerMaruyama(), x0, dt=0.01, n_steps=2000, seed=1, backend="numpy",
                 progress=False, save=save)


def test_sphere_radius_and_kramers_arguments_are_numbers_not_bools():
    """Sphere(True) was the unit sphere and kramers_rate(1, True, True, 1) used |U''(s)| = 1 and
    ΔU = 1: a bool or a string is never a number."""
    from sgdsde.theory import kramers_rate

    for bad in (True, "2"):
        with pytest.raises(TypeError, match="radius must be"):
            Sphere(bad)
    for args, name in [((1.0, True, 1.0, 1.0), "barrier_curvature"),
                       ((1.0, 1.0, True, 1.0), "barrier_height"),
                       ((1.0, "1", 1.0, 1.0), "barrier_curvature"),
                       ((1.0, 1.0, -1.0, 1.0), "barrier_height")]:
        with pytest.raises((TypeError, ValueError), match=name):
            kramers_rate(*args)
    assert kramers_rate(2.0, -8.0, 0.0, 1.0) == pytest.approx(4.0 / (2 * np.pi))
