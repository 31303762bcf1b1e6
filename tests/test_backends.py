"""Backends: NumPy and Numba follow the same path, whatever the kernel and the thread count."""

from __future__ import annotations

import sys
import time

import numpy as np
import pytest
from conftest import toy_landscapes

from sgdsde import backends
from sgdsde.backends import get_backend
from sgdsde.backends.numba_backend import NumbaBackend
from sgdsde.integrators import ALL, MALA
from sgdsde.landscapes.base import Landscape
from sgdsde.landscapes.toy import DoubleWell, Quadratic
from sgdsde.manifolds import Sphere
from sgdsde.save import SaveAt
from sgdsde.sde import LangevinSDE, MatrixNoise
from sgdsde.simulate import simulate

LANDSCAPES = toy_landscapes()
# Steps small enough for every scheme on each landscape (Müller–Brown has |∇²U| ~ 100 scale).
STEPS = {"double_well_1d": 0.01, "quadratic": 0.02, "muller_brown": 2e-3, "rugged": 0.01,
         "nonconservative": 0.02, "double_well_3d": 0.01, "tilted_double_well": 0.01}
START = {"muller_brown": (-0.5, 1.4)}
PATH_CASES = [(cls, name) for cls in ALL for name in ("double_well_1d", "quadratic", "muller_brown",
                                                       "rugged", "nonconservative")
              if not (cls is MALA and not LANDSCAPES[name].is_conservative)]


def _problem(cls, name, n_particles=48, dtype=np.float64, landscape=None):
    integ = cls()
    land = LANDSCAPES[name] if landscape is None else landscape
    sde = LangevinSDE(land, temperature=0.4, friction=1.5 if integ.underdamped else None)
    start = np.array(START.get(name, (0.3,) * land.dim)[:land.dim])
    spread = np.linspace(-0.2, 0.2, n_particles)[:, None]
    return integ, sde, (start + spread).astype(dtype)


def _run(integ, sde, x0, backend, name, n_steps=60, seed=11, **kw):
    return simulate(sde, integ, x0, dt=STEPS[name], n_steps=n_steps, seed=seed, backend=backend,
                    progress=False, save=SaveAt(every=25, observables={"mean": "mean"}), **kw)


def _assert_same_path(a, b, rtol):
    """Final clouds (and velocities) equal to ``rtol`` relative to the cloud's scale."""
    for u, v in ((a.final, b.final), (a.final_velocity, b.final_velocity)):
        if u is None:
            assert v is None
            continue
        assert u.dtype == v.dtype
        np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol * np.max(np.abs(v)))
    assert a.observables.keys() == b.observables.keys()
    for key in a.observables:
        np.testing.assert_allclose(a.observables[key], b.observables[key], rtol=rtol,
                                   atol=rtol * np.max(np.abs(b.final)))


@pytest.mark.parametrize(("cls", "name"), PATH_CASES,
                         ids=[f"{c.name}-{n}" for c, n in PATH_CASES])
def test_numpy_and_numba_follow_the_same_path(cls, name):
    """Path by path, ≤ 1e-10 relative in float64 (the same counter-based normals, the same
    arithmetic in a different order), for every integrator on five toy landscapes."""
    integ, sde, x0 = _problem(cls, name)
    ref = _run(integ, sde, x0, "numpy", name)
    fast = _run(integ, sde, x0, "numba", name)
    assert fast.stats["fused"] and not ref.stats["fused"]
    _assert_same_path(fast, ref, 1e-10)
    if isinstance(integ, MALA):
        assert fast.stats["n_accepted_total"] == ref.stats["n_accepted_total"]
    # and the path is not trivial: the cloud moved, differently for different seeds
    assert not np.allclose(fast.final, x0, atol=1e-3)
    assert not np.allclose(_run(integ, sde, x0, "numba", name, seed=12).final, fast.final)


@pytest.mark.parametrize("cls", ALL, ids=[c.name for c in ALL])
def test_float32_stays_float32_and_agrees(cls):
    """float32 in -> float32 out on both backends; the two agree to 1e-4 relative (float32
    rounding accumulated over 60 steps), and both stay within 1e-4 of the float64 path."""
    name = "double_well_3d"
    integ, sde, x32 = _problem(cls, name, dtype=np.float32)
    ref = _run(integ, sde, x32, "numpy", name)
    fast = _run(integ, sde, x32, "numba", name)
    for traj in (ref, fast):
        assert traj.final.dtype == np.float32
        assert traj.final_velocity is None or traj.final_velocity.dtype == np.float32
        assert traj.observables["mean"].dtype == np.float32
    _assert_same_path(fast, ref, 1e-4)
    exact = _run(integ, sde, x32.astype(np.float64), "numpy", name)
    np.testing.assert_allclose(fast.final, exact.final, rtol=1e-4, atol=1e-4 * np.max(np.abs(exact.final)))


class Unfused(Landscape):
    """A toy landscape seen without its pointwise kernel: forces the batched path."""

    fused_kind = None

    def __init__(self, inner):
        self.inner = inner
        self.dim = inner.dim
        self.is_conservative = inner.is_conservative

    def energy(self, x):
        return self.inner.energy(x)

    def grad(self, x):
        return self.inner.grad(x)

    def __repr__(self):
        return f"Unfused({self.inner!r})"


@pytest.mark.parametrize("cls", ALL, ids=[c.name for c in ALL])
@pytest.mark.parametrize("name", ["double_well_3d", "rugged"])
def test_fused_and_batched_numba_paths_agree(cls, name):
    """The fused kernels and the batched path (landscape.grad per step; Numba noise, and for
    Euler–Maruyama the fused noise-and-update pass) give the same path to 1e-10."""
    integ, sde, x0 = _problem(cls, name)
    _, sde_batched, _ = _problem(cls, name, landscape=Unfused(LANDSCAPES[name]))
    fused = _run(integ, sde, x0, "numba", name)
    batched = _run(integ, sde_batched, x0, "numba", name)
    assert fused.stats["fused"] and not batched.stats["fused"]
    _assert_same_path(fused, batched, 1e-10)
    assert fused.stats["n_grad_evals"] == batched.stats["n_grad_evals"]


def test_dense_quadratic_takes_the_blas_path_and_agrees():
    """A quadratic above POINTWISE_MAX_DIM runs Euler–Maruyama as BLAS gradient + fused
    update; same path as the reference."""
    from sgdsde.landscapes.toy import POINTWISE_MAX_DIM

    d = POINTWISE_MAX_DIM + 3
    rng = np.random.default_rng(0)
    q = rng.standard_normal((d, d))
    land = Quadratic(q @ q.T / d + np.eye(d))
    sde = LangevinSDE(land, temperature=0.3)
    x0 = rng.standard_normal((40, d))
    from sgdsde.integrators import EulerMaruyama

    kw = dict(dt=0.01, n_steps=45, seed=4, progress=False)
    fast = simulate(sde, EulerMaruyama(), x0, backend="numba", **kw)
    assert not fast.stats["fused"]
    ref = simulate(sde, EulerMaruyama(), x0, backend="numpy", **kw)
    _assert_same_path(fast, ref, 1e-10)


class FreeOnSphere(Landscape):
    """Zero potential on the sphere |x| = radius (Brownian motion on the sphere)."""

    fused_kind = None

    def __init__(self, dim, radius):
        self.dim = dim
        self.manifold = Sphere(radius)

    def energy(self, x):
        return np.zeros(x.shape[0], dtype=x.dtype)

    def grad(self, x):
        return np.zeros_like(x)

    def __repr__(self):
        return f"FreeOnSphere({self.dim})"


@pytest.mark.parametrize("cls", [c for c in ALL if not c.needs_euclidean], ids=lambda c: c.name)
def test_sphere_paths_agree(cls):
    dim = 6
    sde = LangevinSDE(FreeOnSphere(dim, np.sqrt(dim)), temperature=0.7)
    x0 = sde.manifold.random(30, dim, seed=2)
    kw = dict(dt=0.01, n_steps=40, seed=9, progress=False)
    a = simulate(sde, cls(), x0, backend="numba", **kw)
    b = simulate(sde, cls(), x0, backend="numpy", **kw)
    _assert_same_path(a, b, 1e-10)


def test_matrix_noise_paths_agree():
    """Non-thermal noise takes the batched path with Numba normals: same path as NumPy."""
    from sgdsde.integrators import EulerMaruyama, Heun

    sde = LangevinSDE(DoubleWell(dim=2), noise=MatrixNoise([[0.5, 0.1, 0.0], [0.0, 0.3, 0.2]]))
    x0 = np.zeros((20, 2))
    for integ in (EulerMaruyama(), Heun()):
        kw = dict(dt=0.01, n_steps=30, seed=2**63 + 1, progress=False)
        _assert_same_path(simulate(sde, integ, x0, backend="numba", **kw),
                          simulate(sde, integ, x0, backend="numpy", **kw), 1e-10)


@pytest.mark.parametrize("cls", ALL, ids=[c.name for c in ALL])
@pytest.mark.parametrize("fused", [True, False], ids=["fused", "batched"])
def test_same_result_with_one_and_two_threads(cls, fused, numba_threads):
    """Bit for bit: the noise of a particle depends on its global index, not on its thread."""
    name = "double_well_3d"
    land = LANDSCAPES[name] if fused else Unfused(LANDSCAPES[name])
    integ, sde, x0 = _problem(cls, name, n_particles=257, landscape=land)
    with numba_threads(1):
        one = _run(integ, sde, x0, "numba", name)
    with numba_threads(2) as n:
        two = _run(integ, sde, x0, "numba", name)
    if n < 2:
        pytest.skip("Numba is configured with a single thread")
    assert np.array_equal(one.final, two.final)
    assert one.final_velocity is None or np.array_equal(one.final_velocity, two.final_velocity)


@pytest.mark.parametrize("n_particles", [1, 64, 65, 257, 1000])
def test_fused_threads_tile_the_cloud_in_whole_lane_groups(n_particles, numba_threads):
    """run_in_threads: the slices cover [0, M) once, start on a lane group, one per thread."""
    from sgdsde._random_numba import LANES
    from sgdsde.integrators._numba_fused import run_in_threads

    for threads in (1, 2, 3):
        with numba_threads(threads) as n:
            seen = []
            run_in_threads(lambda lo, hi, out=seen: out.append((lo, hi)), n_particles)
        seen.sort()
        assert [lo for lo, _ in seen[1:]] == [hi for _, hi in seen[:-1]]
        assert seen[0][0] == 0 and seen[-1][1] == n_particles
        assert all(lo % LANES == 0 and hi > lo for lo, hi in seen)
        assert len(seen) == min(n, -(-n_particles // LANES))


@pytest.mark.parametrize("error", [FloatingPointError, KeyboardInterrupt])
def test_fused_threads_finish_every_slice_before_raising(error, numba_threads):
    """A slice that fails (or Ctrl-C in the calling thread's slice) does not leave the others
    running on the cloud: all end, then the error is raised."""
    from sgdsde.integrators._numba_fused import run_in_threads

    done = []

    def call(lo, hi):
        if lo == 0:
            raise error("slice 0")
        time.sleep(0.05)
        done.append(lo)

    with numba_threads(2) as n:
        if n < 2:
            pytest.skip("Numba is configured with a single thread")
        with pytest.raises(error, match="slice 0"):
            run_in_threads(call, 1000)
    assert done == [512]


def test_fused_threads_defer_ctrl_c_until_every_slice_is_done(monkeypatch, numba_threads):
    """Ctrl-C while waiting for the other slices is raised once they have finished."""
    import concurrent.futures

    from sgdsde.integrators import _numba_fused

    done = []
    real_wait = concurrent.futures.wait
    presses = iter([True])

    def wait_pressed_once(futures):
        if next(presses, False):
            raise KeyboardInterrupt
        return real_wait(futures)

    def call(lo, hi):
        if lo:
            time.sleep(0.05)
            done.append(lo)

    monkeypatch.setattr(_numba_fused.concurrent.futures, "wait", wait_pressed_once)
    with numba_threads(2) as n:
        if n < 2:
            pytest.skip("Numba is configured with a single thread")
        with pytest.raises(KeyboardInterrupt):
            _numba_fused.run_in_threads(call, 1000)
    assert done == [512]


def test_shards_of_a_cloud_follow_the_paths_of_the_whole():
    """Running particles [0, 30) and [30, 64) separately (particle_offset) gives the whole run."""
    integ, sde, x0 = _problem(MALA, "double_well_1d", n_particles=64)
    whole = _run(integ, sde, x0, "numba", "double_well_1d")
    parts = [_run(integ, sde, x0[a:b], "numba", "double_well_1d", particle_offset=a)
             for a, b in ((0, 30), (30, 64))]
    assert np.array_equal(np.vstack([p.final for p in parts]), whole.final)


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="unknown backend 'jax': choose one of numpy, numba, cupy"):
        get_backend("jax")
    integ, sde, x0 = _problem(MALA, "double_well_1d")
    with pytest.raises(ValueError, match="unknown backend 'torch'"):
        simulate(sde, integ, x0, dt=0.01, n_steps=1, backend="torch", progress=False)


def test_cupy_without_cupy_names_the_extra(monkeypatch):
    """With CuPy not importable, asking for it raises ImportError naming ``sgdsde[gpu]``."""
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    monkeypatch.delitem(sys.modules, "sgdsde.backends.cupy_backend", raising=False)
    monkeypatch.setattr(backends, "_cache", {})
    with pytest.raises(ImportError, match=r"pip install 'sgdsde\[gpu\]'"):
        get_backend("cupy")
    assert "cupy" not in backends.available_backends()


def test_backend_instances_pass_through():
    be = NumbaBackend()
    assert get_backend(be) is be
    assert get_backend("numpy").name == "numpy"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_maxwell_boltzmann_velocities_are_the_reference_numbers_on_every_backend(dtype):
    # The driver draws the initial velocities with the run's backend (the NumPy generator makes
    # ~1e7 normals/s, a ten-million-particle cloud's start on the GPU took seconds): they must be
    # the reference's numbers bit for bit, whatever the backend, dtype, seed, offset and step0.
    from sgdsde import random as rnd
    from sgdsde.simulate import _initial_velocity

    sde = LangevinSDE(DoubleWell(dim=3), temperature=0.7, friction=1.3, mass=2.0)
    x = np.zeros((500, 3), dtype=dtype)
    want = (np.sqrt(0.7 / 2.0) * rnd.normals(2**63 + 5, np.arange(40, 540), 17, 3,
                                             rnd.STREAM_VELOCITY)).astype(dtype)
    for backend in (get_backend("numpy"), get_backend("numba")):
        got = _initial_velocity(sde, None, x, 2**63 + 5, 40, 17, backend)
        assert got.dtype == dtype and isinstance(got, np.ndarray)
        assert np.array_equal(got, want), backend
