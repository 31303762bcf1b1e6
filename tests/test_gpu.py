"""The CuPy backend on an NVIDIA GPU: the same numbers and the same paths as the CPU.

Every test but the first is marked ``gpu`` and skipped where CuPy or a CUDA device is
missing.  Tolerances: float64 paths agree with the NumPy reference to 1e-10 relative (the
operations are the same up to their order, and the device computes without fused
multiply-adds); float32 paths to 1e-4 (float32 rounding in a different order, a few ulp per
step over tens of steps).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgdsde import random as rnd
from sgdsde.backends import get_backend
from sgdsde.integrators.overdamped import EulerMaruyama, LeimkuhlerMatthews
from sgdsde.landscapes._pspin_cupy import couplings_reference
from sgdsde.landscapes.toy import DoubleWell, MullerBrown, Quadratic
from sgdsde.results import DivergenceError
from sgdsde.save import SaveAt
from sgdsde.sde import LangevinSDE, MatrixNoise
from sgdsde.simulate import simulate


def _gpu_available() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, no driver, no device
        return False


HAS_GPU = _gpu_available()


def on_gpu(test):
    """Mark ``test`` as a GPU test, skipped where CuPy or a CUDA device is missing."""
    return pytest.mark.gpu(pytest.mark.skipif(not HAS_GPU, reason="needs CuPy and a CUDA device")(test))

from _kernel_cases import INTEGRATORS, LANDSCAPES  # noqa: E402


def test_cupy_backend_is_loud_without_a_device():
    if HAS_GPU:
        pytest.skip("a CUDA device is present")
    with pytest.raises(ImportError, match=r"sgdsde\[gpu\]"):
        get_backend("cupy")
    with pytest.raises(ImportError, match=r"sgdsde\[gpu\]"):
        simulate(LangevinSDE(DoubleWell(), temperature=0.5), EulerMaruyama(), np.zeros((4, 1)), dt=0.1,
                 n_steps=2, backend="cupy", progress=False)


def test_device_pspin_without_cupy_names_the_extra():
    from sgdsde.landscapes._pspin_cupy import DevicePSpin

    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"sgdsde\[gpu\]"):
            DevicePSpin(8, 3)
    else:
        pytest.skip("CuPy is installed")


def _start(landscape, m, dtype, seed=3):
    rng = np.random.default_rng(seed)
    if isinstance(landscape, MullerBrown):
        x = np.array([-0.55, 1.44]) + 0.1 * rng.standard_normal((m, 2))
    else:
        x = 0.8 * rng.standard_normal((m, landscape.dim))
    return x.astype(dtype)


def _run(landscape, integrator, x0, backend, *, dt=0.01, n_steps=40, seed=11, offset=0, save=None,
         **kw):
    sde = LangevinSDE(landscape, temperature=0.7, friction=1.5 if integrator.underdamped else None)
    return simulate(sde, integrator, x0, dt=dt, n_steps=n_steps, backend=backend, seed=seed,
                    particle_offset=offset, save=save or SaveAt(every=16), progress=False, **kw)


# --------------------------------------------------------------------------- the generator
@on_gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_device_normals_equal_reference(dtype):
    be = get_backend("cupy")
    m, dim, step, seed = 100_000, 3, 2**33 + 5, 2024
    got = be.to_host(be.noise_source(seed, np.arange(7, 7 + m), dtype).normals(step, dim, 0))
    want = rnd.normals(seed, np.arange(7, 7 + m), step, dim, 0, dtype=dtype)
    assert got.dtype == dtype
    # The fast path (98.8 %) multiplies two doubles: bit for bit.  The rare path calls the
    # device's exp/log, within 1 ulp of the host's: allow 2 ulp and nothing more.
    assert np.mean(got == want) > 0.98
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(dtype).eps, atol=0)


@on_gpu
def test_device_uniforms_equal_reference():
    be = get_backend("cupy")
    got = be.to_host(be.noise_source(5, np.arange(1000), np.float64).uniforms(17, rnd.STREAM_ACCEPT))
    assert np.array_equal(got, rnd.uniforms(5, np.arange(1000), 17, 1)[:, 0])


# --------------------------------------------------------------------------- paths
@on_gpu
@pytest.mark.parametrize("land_name", sorted(LANDSCAPES))
@pytest.mark.parametrize("scheme", sorted(INTEGRATORS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_paths_equal_numpy_reference(land_name, scheme, dtype):
    landscape, integrator = LANDSCAPES[land_name], INTEGRATORS[scheme]
    if scheme == "MALA" and not landscape.is_conservative:
        pytest.skip("MALA needs a conservative landscape")
    dt = 2e-4 if land_name == "muller_brown" else 0.01
    x0 = _start(landscape, 256, dtype)
    save = SaveAt(every=16, observables={"energy": "energy", "mean": "mean", "x0": lambda x: x[:, 0]})
    gpu_run = _run(landscape, integrator, x0, "cupy", dt=dt, offset=100, save=save)
    ref = _run(landscape, integrator, x0, "numpy", dt=dt, offset=100, save=save)
    rtol, atol = (1e-10, 1e-12) if dtype == np.float64 else (1e-4, 1e-5)
    assert gpu_run.final.dtype == dtype and isinstance(gpu_run.final, np.ndarray)
    assert gpu_run.stats["fused"] and gpu_run.stats["n_grad_evals"] == ref.stats["n_grad_evals"]
    if scheme == "MALA" and dtype == np.float32:
        # float32 log-acceptance ratios in a different order differ by ~1e-5, so a proposal with
        # log u within that of the threshold (~1e-5 of 10^4 proposals) may go the other way and
        # send its particle elsewhere: at most 2 of 256 particles, every other path to 1e-4.
        same = np.all(np.isclose(gpu_run.final, ref.final, rtol=rtol, atol=atol), axis=1)
        assert same.sum() >= 254
        assert abs(gpu_run.stats["n_accepted_total"] - ref.stats["n_accepted_total"]) <= 2
        return
    np.testing.assert_allclose(gpu_run.final, ref.final, rtol=rtol, atol=atol)
    for name in save.observables:
        np.testing.assert_allclose(gpu_run.observables[name], ref.observables[name], rtol=rtol,
                                   atol=atol * 10)
    if scheme == "MALA":  # float64: the same decisions
        assert gpu_run.stats["n_accepted_total"] == ref.stats["n_accepted_total"]
    if INTEGRATORS[scheme].underdamped:
        np.testing.assert_allclose(gpu_run.final_velocity, ref.final_velocity, rtol=rtol, atol=atol)


@on_gpu
@settings(max_examples=25, deadline=None)
@given(scheme=st.sampled_from(sorted(INTEGRATORS)), seed=st.integers(0, 2**64 - 1),
       offset=st.integers(0, 2**31), n_steps=st.integers(1, 70), every=st.integers(1, 30),
       dt=st.floats(1e-3, 0.05))
def test_property_paths_equal_numba_for_any_seed_offset_and_chunking(scheme, seed, offset, n_steps,
                                                                     every, dt):
    # Same numbers whatever the seed, the shard offset and where the driver cuts the chunks.
    landscape, integrator = LANDSCAPES["tilted_double_well_2d"], INTEGRATORS[scheme]
    x0 = _start(landscape, 64, np.float64, seed=seed % 1000)
    kw = {"dt": dt, "n_steps": n_steps, "seed": seed, "offset": offset, "save": SaveAt(every=every)}
    gpu_run = _run(landscape, integrator, x0, "cupy", **kw)
    cpu_run = _run(landscape, integrator, x0, "numba", **kw)
    np.testing.assert_allclose(gpu_run.final, cpu_run.final, rtol=1e-10, atol=1e-12)


@on_gpu
def test_shards_of_a_cloud_follow_the_paths_of_the_whole():
    landscape, integrator = LANDSCAPES["double_well_1d"], INTEGRATORS["LeimkuhlerMatthews"]
    x0 = _start(landscape, 1000, np.float64)
    whole = _run(landscape, integrator, x0, "cupy")
    part = _run(landscape, integrator, x0[600:], "cupy", offset=600)
    assert np.array_equal(part.final, whole.final[600:])


@on_gpu
def test_divergence_is_reported_at_the_same_step_as_the_reference():
    x0 = np.array([[0.0], [0.5], [3.0]])
    errors = {}
    for backend in ("cupy", "numpy"):
        with pytest.raises(DivergenceError) as info:
            _run(DoubleWell(), EulerMaruyama(), x0, backend, dt=0.2, n_steps=50)
        errors[backend] = info.value
    assert errors["cupy"].step == errors["numpy"].step
    assert np.array_equal(errors["cupy"].particles, errors["numpy"].particles)


@on_gpu
def test_unfused_problems_run_the_reference_step_on_the_device():
    # Matrix noise is not fused: each step is the reference code on CuPy arrays, with the toy
    # gradient from its device kernel.  The matrix noise model takes NumPy arrays only,
    # which must be said, not silently worked around.
    sde = LangevinSDE(DoubleWell(dim=2), noise=MatrixNoise(np.array([[0.5, 0.1], [0.0, 0.4]])))
    with pytest.raises(TypeError, match="backend='numba'"):
        simulate(sde, EulerMaruyama(), np.zeros((8, 2)), dt=0.01, n_steps=3, backend="cupy", seed=1,
                 progress=False)


# --------------------------------------------------------------------------- physics on the device
@on_gpu
def test_leimkuhler_matthews_harmonic_variance_is_exactly_T_over_k_on_a_large_cloud():
    # docs/theory.md §3: LM on U = k x²/2 has stationary variance exactly T/k at every stable h.
    # 10^6 independent particles after 3000 steps (t = 300 >> 1/k): SE of the sample
    # variance = var·sqrt(2/M) = 7e-4 relative; 5 SE.
    k, temp, m = 2.0, 0.5, 1_000_000
    sde = LangevinSDE(Quadratic.isotropic(1, k), temperature=temp)
    traj = simulate(sde, LeimkuhlerMatthews(), np.zeros((m, 1), dtype=np.float32), dt=0.1, n_steps=3000,
                    backend="cupy", seed=4, save=SaveAt(every=1000), progress=False)
    var = traj.final[:, 0].astype(np.float64).var()
    assert abs(var / (temp / k) - 1) < 5 * math.sqrt(2 / m)


def _stationary_variance(name, k, temp, h):
    """Exact stationary position variance of each chain on U = k x²/2 (docs/theory.md §3)."""
    kh = k * h
    if name == "EulerMaruyama":
        return temp / (k * (1 - kh / 2))
    if name == "Heun":  # x' = a x + (1 − kh/2) sqrt(2Th) ξ
        a = 1 - kh + kh**2 / 2
        return 2 * temp * h * (1 - kh / 2) ** 2 / (1 - a * a)
    return temp / k  # Leimkuhler–Matthews, BAOAB: exact at every stable step


@on_gpu
@pytest.mark.parametrize("scheme", ["EulerMaruyama", "Heun", "LeimkuhlerMatthews", "BAOAB"])
@settings(max_examples=8, deadline=None)
@given(k=st.floats(0.5, 5.0), temp=st.floats(0.05, 3.0), kh=st.floats(0.2, 1.2))
def test_property_stationary_variance_of_the_gpu_kernels(scheme, k, temp, kh):
    # The integrator property tests' oracles on 2^20 particles of the device: the sample
    # variance within 5 SE, SE = var·sqrt(2/(M − 1)).  Steps: until the slowest mode has
    # contracted below 1e-16 of the start (37 e-folds).
    integrator, m = INTEGRATORS[scheme], 2**20
    h = kh / k
    if integrator.underdamped:
        contraction = math.exp(-0.5 * min(2.0, k / 2.0) * h)  # friction 2, mass 1
    else:
        contraction = abs(1 - kh + (kh**2 / 2 if scheme == "Heun" else 0.0))
    n_steps = 1 if contraction < 1e-16 else max(1, math.ceil(37 / -math.log(contraction)))
    sde = LangevinSDE(Quadratic.isotropic(1, k), temperature=temp,
                      friction=2.0 if integrator.underdamped else None)
    traj = simulate(sde, integrator, np.zeros((m, 1)), dt=h, n_steps=n_steps, backend="cupy",
                    seed=1, save=SaveAt(every=10**6, start=False), progress=False)
    want = _stationary_variance(scheme, k, temp, h)
    assert abs(traj.final[:, 0].var() / want - 1) < 5 * math.sqrt(2 / (m - 1))
    if integrator.underdamped:  # equipartition m⟨v²⟩ = T (1 − h²k/(4m))
        kinetic = temp * (1 - h * h * k / 4)
        assert abs(traj.final_velocity[:, 0].var() / kinetic - 1) < 5 * math.sqrt(2 / (m - 1))


# --------------------------------------------------------------------------- p-spin
@on_gpu
@pytest.mark.parametrize(("n", "p"), [(12, 2), (10, 3), (6, 4)])
def test_device_pspin_couplings_equal_reference(n, p):
    from sgdsde.landscapes._pspin_cupy import device_couplings

    got = device_couplings(n, p, seed=9, dtype=np.float64).get()
    assert np.array_equal(got, couplings_reference(n, p, seed=9))


@on_gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_device_pspin_energy_and_gradient(dtype):
    import cupy

    from sgdsde.landscapes._pspin_cupy import DevicePSpin

    n, p = 24, 3
    land = DevicePSpin(n, p, seed=2, dtype=dtype)
    x = land.manifold.random(50, n, seed=1, dtype=dtype)
    energy, grad = (a.get() for a in land.energy_and_grad(cupy.asarray(x)))
    j = couplings_reference(n, p, seed=2)
    xd = x.astype(np.float64)
    want_e = n ** (-(p - 1) / 2) * np.einsum("ijk,mi,mj,mk->m", j, xd, xd, xd)
    want_g = p * n ** (-(p - 1) / 2) * np.einsum("ijk,mj,mk->mi", j, xd, xd)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(energy, want_e, rtol=rtol, atol=rtol * n)
    np.testing.assert_allclose(grad, want_g, rtol=rtol, atol=rtol * n)
    # Euler: σ·∇H = p H.
    np.testing.assert_allclose(np.sum(xd * grad, axis=1), p * energy, rtol=10 * rtol, atol=10 * rtol * n)
    # The same through NumPy input (moved to the device and back).
    np.testing.assert_allclose(land.energy(x), energy, rtol=0, atol=0)


@on_gpu
def test_pspin_descent_on_the_device_stays_on_the_sphere_and_lowers_the_energy():
    from sgdsde.landscapes._pspin_cupy import DevicePSpin

    n = 64
    land = DevicePSpin(n, 3, seed=0, dtype=np.float32)
    x0 = land.manifold.random(128, n, seed=1, dtype=np.float32)
    sde = LangevinSDE(land, temperature=0.05)
    traj = simulate(sde, EulerMaruyama(), x0, dt=0.01, n_steps=400, backend="cupy", seed=3,
                    save=SaveAt(every=100, observables={"e": land.energy_per_spin}), progress=False)
    e = traj.observables["e"]
    norms = np.linalg.norm(traj.final.astype(np.float64), axis=1)
    np.testing.assert_allclose(norms, math.sqrt(n), rtol=1e-5)
    # Random start: E/N ≈ 0 ± 1/sqrt(N); after descent at low T it is below −0.5 (the
    # ground state of p = 3 is −1.657 in this normalisation, docs/theory.md §4).
    assert abs(e[0].mean()) < 5 / math.sqrt(n) / math.sqrt(128)
    assert e[-1].mean() < -0.5
    assert not traj.stats["fused"]
