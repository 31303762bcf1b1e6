"""The GPU kernels' CUDA C source, checked on the CPU.

The headers in ``sgdsde/_cuda`` compile both as CUDA (NVRTC, nvcc) and as host C++.
Compiled here with the system C++ compiler into a small shared library, they must give

* the counter-based normals and uniforms of :mod:`sgdsde.random`, bit for bit;
* the NumPy reference step of every integrator, to rounding (float64) or to float32 rounding;
* the p-spin couplings of the NumPy reference, bit for bit;

and the .cu files must compile for the GPU with ``nvcc`` when it is installed.  Tests skip when
no compiler is found.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgdsde import random as rnd
from sgdsde.backends.numpy_backend import NumpyBackend
from sgdsde.integrators.overdamped import EulerMaruyama, Heun
from sgdsde.landscapes._pspin_cupy import coupling_stream, couplings_reference
from sgdsde.landscapes.toy import DoubleWell, MullerBrown
from sgdsde.sde import LangevinSDE

CUDA_DIR = Path(__file__).resolve().parents[1] / "sgdsde" / "_cuda"
CXX = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")

SCHEMES = {"EulerMaruyama": 0, "Heun": 1, "LeimkuhlerMatthews": 2, "MALA": 3, "BAOAB": 4, "OBABO": 5}
DIMS = (1, 2, 3)

# A host entry point for each device function; the dispatch over (real, D) mirrors the
# template instantiations the CuPy backend asks NVRTC for.
SHIM = r"""
#include "steps.cuh"
#include "couplings.cuh"

template <typename real, int D>
static i64 one_particle(int scheme, const Run& r, u64 particle, real* x, real* v, real* g,
                        real* u, i64* acc) {
    switch (scheme) {
        case 0: return euler_maruyama_particle<real, D>(r, particle, x);
        case 1: return heun_particle<real, D>(r, particle, x);
        case 2: return leimkuhler_matthews_particle<real, D>(r, particle, x);
        case 3: return mala_particle<real, D>(r, particle, x, g, u, acc);
        case 4: return baoab_particle<real, D>(r, particle, x, v, g);
        default: return obabo_particle<real, D>(r, particle, x, v, g);
    }
}

template <typename real, int D>
static void run_cloud(int scheme, const Run& r, i64 m, i64 offset, real* x, real* v, real* g,
                      real* u, i64* acc, i64* diverged) {
    for (i64 i = 0; i < m; ++i) {
        if (diverged[i] >= 0) continue;
        const i64 bad = one_particle<real, D>(scheme, r, (u64)(offset + i), x + i * D,
                                              v ? v + i * D : 0, g ? g + i * D : 0,
                                              u ? u + i : 0, acc ? acc + i : 0);
        if (bad >= 0) diverged[i] = bad;
    }
}

template <typename real>
static int dispatch(int scheme, int d, const Run& r, i64 m, i64 offset, void* x, void* v, void* g,
                    void* u, i64* acc, i64* diverged) {
    real *X = (real*)x, *V = (real*)v, *G = (real*)g, *U = (real*)u;
    switch (d) {
        case 1: run_cloud<real, 1>(scheme, r, m, offset, X, V, G, U, acc, diverged); return 0;
        case 2: run_cloud<real, 2>(scheme, r, m, offset, X, V, G, U, acc, diverged); return 0;
        case 3: run_cloud<real, 3>(scheme, r, m, offset, X, V, G, U, acc, diverged); return 0;
        case 6: run_cloud<real, 6>(scheme, r, m, offset, X, V, G, U, acc, diverged); return 0;
    }
    return 1;
}

extern "C" {

int host_run(int scheme, int is_double, int d, void* x, void* v, void* g, void* u, i64* acc,
             i64 m, i64* diverged, int kind, const double* p, u64 seed, i64 offset, i64 step0,
             i64 n_steps, double dt, double temp, double max_abs, double friction, double mass,
             const double* zk, const double* zw, const double* zf) {
    Run r;
    r.kind = kind; r.p = p; r.zig.k = zk; r.zig.w = zw; r.zig.f = zf; r.seed = seed;
    r.step0 = step0; r.n_steps = n_steps; r.dt = dt; r.temp = temp; r.max_abs = max_abs;
    r.friction = friction; r.mass = mass;
    if (is_double) return dispatch<double>(scheme, d, r, m, offset, x, v, g, u, acc, diverged);
    return dispatch<float>(scheme, d, r, m, offset, x, v, g, u, acc, diverged);
}

void host_normals(double* out, i64 m, int dim, u64 seed, i64 offset, i64 step, u32 stream,
                  const double* zk, const double* zw, const double* zf) {
    const Ziggurat z = {zk, zw, zf};
    for (i64 i = 0; i < m; ++i)
        for (int k = 0; k < dim; ++k)
            out[i * dim + k] = normal_at(z, make_key(seed, (u64)(offset + i), stream), (u64)step, (u32)k);
}

void host_normal_blocks(double* out, i64 m, u64 seed, i64 offset, i64 step0, i64 n_steps,
                        const double* zk, const double* zw, const double* zf) {
    const Ziggurat z = {zk, zw, zf};
    for (i64 i = 0; i < m; ++i) {
        NoiseBlock<double, 2> block;
        block.reset();
        const Key key = make_key(seed, (u64)(offset + i), SGD_STREAM_NOISE);
        for (i64 n = 0; n < n_steps; ++n) {
            block.prepare(z, key, step0 + n);
            for (int k = 0; k < 2; ++k) out[(i * n_steps + n) * 2 + k] = block.get(step0 + n, k);
        }
    }
}

void host_uniforms(double* out, i64 m, u64 seed, i64 offset, i64 step, u32 stream) {
    for (i64 i = 0; i < m; ++i) out[i] = uniform_at(make_key(seed, (u64)(offset + i), stream), (u64)step, 0u);
}

void host_couplings(double* J, i64 total, int n, int p, u64 seed, u32 stream,
                    const double* zk, const double* zw, const double* zf) {
    const Ziggurat z = {zk, zw, zf};
    for (i64 t = 0; t < total; ++t) J[t] = pspin_coupling(z, seed, stream, n, p, (u64)t);
}

}
"""

I64, U64, U32, DBL, INT = ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_double, ctypes.c_int
PTR = ctypes.c_void_p
TABLES = tuple(np.ascontiguousarray(t, dtype=np.float64)
               for t in (rnd.ZIGGURAT_K, rnd.ZIGGURAT_W, rnd.ZIGGURAT_F))


def _ptr(a):
    return None if a is None else a.ctypes.data_as(PTR)


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    if CXX is None:
        pytest.skip("no host C++ compiler")
    build = tmp_path_factory.mktemp("cuda_host")
    src = build / "shim.cpp"
    src.write_text(SHIM)
    so = build / "libshim.so"
    # -ffp-contract=off: no fused multiply-adds, as in the NumPy reference.
    cmd = [CXX, "-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Werror", "-shared", "-fPIC",
           f"-I{CUDA_DIR}", str(src), "-o", str(so)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    so_lib = ctypes.CDLL(str(so))
    so_lib.host_run.restype = INT
    so_lib.host_run.argtypes = [INT, INT, INT, PTR, PTR, PTR, PTR, PTR, I64, PTR, INT, PTR, U64, I64,
                                I64, I64, DBL, DBL, DBL, DBL, DBL, PTR, PTR, PTR]
    so_lib.host_normals.argtypes = [PTR, I64, INT, U64, I64, I64, U32, PTR, PTR, PTR]
    so_lib.host_normal_blocks.argtypes = [PTR, I64, U64, I64, I64, I64, PTR, PTR, PTR]
    so_lib.host_uniforms.argtypes = [PTR, I64, U64, I64, I64, U32]
    so_lib.host_couplings.argtypes = [PTR, I64, INT, INT, U64, U32, PTR, PTR, PTR]
    return so_lib


def host_normals(lib, seed, offset, m, step, dim, stream):
    out = np.empty((m, dim))
    lib.host_normals(_ptr(out), m, dim, seed, offset, step, stream, *map(_ptr, TABLES))
    return out


# --------------------------------------------------------------------------- the generator
def test_normals_equal_reference_bit_for_bit_on_many_draws(lib):
    # 3 x 20000 draws: about 700 take the ziggurat's rare path, about 30 the tail (log calls).
    seed, m, dim, step = 2024, 20_000, 3, 13
    got = host_normals(lib, seed, 0, m, step, dim, rnd.STREAM_NOISE)
    want = rnd.normals(seed, np.arange(m), step, dim, rnd.STREAM_NOISE)
    assert np.array_equal(got, want)
    assert np.abs(want).max() > rnd.ZIGGURAT_R  # the tail was exercised


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), offset=st.integers(0, 2**32 - 64), step=st.integers(0, 2**50 - 1),
       stream=st.integers(0, rnd.SLOW_TAG - 1), dim=st.integers(1, 4))
def test_normals_equal_reference_over_the_whole_counter_range(lib, seed, offset, step, stream, dim):
    got = host_normals(lib, seed, offset, 64, step, dim, stream)
    want = rnd.normals(seed, np.arange(offset, offset + 64), step, dim, stream)
    assert np.array_equal(got, want)


def test_noise_blocks_serve_consecutive_steps(lib):
    # The fused kernels draw four steps per Philox call; a run starting mid-block must see the
    # same numbers as draws made one step at a time.
    seed, m, step0, n = 9, 50, 6, 11
    out = np.empty((m, n, 2))
    lib.host_normal_blocks(_ptr(out), m, seed, 100, step0, n, *map(_ptr, TABLES))
    for j in range(n):
        assert np.array_equal(out[:, j], rnd.normals(seed, np.arange(100, 100 + m), step0 + j, 2))


def test_uniforms_equal_reference(lib):
    out = np.empty(1000)
    lib.host_uniforms(_ptr(out), 1000, 77, 5, 2**40 + 3, rnd.STREAM_ACCEPT)
    assert np.array_equal(out, rnd.uniforms(77, np.arange(5, 1005), 2**40 + 3, 1)[:, 0])


# --------------------------------------------------------------------------- fused steps
from _kernel_cases import INTEGRATORS, LANDSCAPES  # noqa: E402


def _start(landscape, m, dtype):
    rng = np.random.default_rng(3)
    if isinstance(landscape, MullerBrown):
        x = np.array([-0.55, 1.44]) + 0.1 * rng.standard_normal((m, 2))
    else:
        x = 0.8 * rng.standard_normal((m, landscape.dim))
    return x.astype(dtype)


def _reference(sde, integrator, x, seed, offset, step0, n_steps, dt):
    """The NumPy reference: integrator.step, one step at a time."""
    particles = np.arange(offset, offset + x.shape[0])
    v = None
    if integrator.underdamped:
        v = (0.5 * rnd.normals(seed, particles, 0, sde.dim, rnd.STREAM_VELOCITY)).astype(x.dtype)
    state = integrator.init_state(sde, x.copy(), v)
    start = state.copy()
    noise = NumpyBackend().noise_source(seed, particles, x.dtype)
    for n in range(step0, step0 + n_steps):
        integrator.step(sde, state, n, dt, noise)
    return start, state


def _host(lib, sde, integrator, start, seed, offset, step0, n_steps, dt):
    """The same run through the CUDA source compiled for the host."""
    x = np.ascontiguousarray(start.x).copy()
    m, d = x.shape
    v = None if start.v is None else start.v.copy()
    g = None if start.grad is None else start.grad.astype(x.dtype)
    u = None if start.energy is None else start.energy.astype(x.dtype)
    acc = np.zeros(m, dtype=np.int64) if integrator.name == "MALA" else None
    diverged = np.full(m, -1, dtype=np.int64)
    land = sde.landscape
    p = np.ascontiguousarray(land.fused_params, dtype=np.float64)
    friction = sde.friction if sde.is_underdamped else 0.0
    rc = lib.host_run(SCHEMES[integrator.name], int(x.dtype == np.float64), d, _ptr(x), _ptr(v), _ptr(g),
                      _ptr(u), _ptr(acc), m, _ptr(diverged), land.fused_kind, _ptr(p), seed, offset,
                      step0, n_steps, dt, sde.temperature, 1e150, friction, sde.mass, *map(_ptr, TABLES))
    assert rc == 0
    assert np.all(diverged == -1)
    return x, v, acc


@pytest.mark.parametrize("land_name", sorted(LANDSCAPES))
@pytest.mark.parametrize("scheme", sorted(INTEGRATORS))
def test_fused_steps_equal_numpy_reference_float64(lib, land_name, scheme):
    landscape, integrator = LANDSCAPES[land_name], INTEGRATORS[scheme]
    if scheme == "MALA" and not landscape.is_conservative:
        pytest.skip("MALA needs a conservative landscape")
    dt = 2e-4 if land_name == "muller_brown" else 0.01
    if scheme == "MALA":  # steps large enough that proposals are both accepted and rejected
        dt *= 20
    sde = LangevinSDE(landscape, temperature=0.7, friction=1.5 if integrator.underdamped else None)
    x0 = _start(landscape, 200, np.float64)
    # step0 = 3 starts mid-block and 9 steps cross two block boundaries of the noise.
    start, ref = _reference(sde, integrator, x0, seed=11, offset=40, step0=3, n_steps=9, dt=dt)
    x, v, acc = _host(lib, sde, integrator, start, seed=11, offset=40, step0=3, n_steps=9, dt=dt)
    # Rounding only: the operations agree up to their order (e.g. sqrt(h)·sqrt(2T)·ξ).
    np.testing.assert_allclose(x, ref.x, rtol=1e-10, atol=1e-12)
    assert not np.array_equal(x, x0)
    if v is not None:
        np.testing.assert_allclose(v, ref.v, rtol=1e-10, atol=1e-12)
    if acc is not None:
        assert np.array_equal(acc, ref.n_accepted)
        assert 0 < acc.sum() < 200 * 9


@pytest.mark.parametrize("scheme", sorted(INTEGRATORS))
def test_fused_steps_equal_numpy_reference_float32(lib, scheme):
    integrator = INTEGRATORS[scheme]
    landscape = LANDSCAPES["tilted_double_well_2d"]
    sde = LangevinSDE(landscape, temperature=0.7, friction=1.5 if integrator.underdamped else None)
    x0 = _start(landscape, 200, np.float32)
    start, ref = _reference(sde, integrator, x0, seed=5, offset=0, step0=0, n_steps=20, dt=0.01)
    x, v, acc = _host(lib, sde, integrator, start, seed=5, offset=0, step0=0, n_steps=20, dt=0.01)
    assert x.dtype == np.float32
    # float32 arithmetic in both, in a different order: a few ulp per step, 20 steps.
    np.testing.assert_allclose(x, ref.x, rtol=1e-4, atol=1e-5)
    if acc is not None:  # an accept decision may flip only on a float32 tie: allow one
        assert np.sum(acc != ref.n_accepted) <= 1


def test_divergence_freezes_the_particle_at_the_step_it_left(lib):
    x = np.array([[0.0], [30.0]])
    diverged = np.full(2, -1, dtype=np.int64)
    p = DoubleWell().fused_params
    lib.host_run(0, 1, 1, _ptr(x), None, None, None, None, 2, _ptr(diverged), 1, _ptr(p), 1, 0, 10, 5,
                 0.1, 0.5, 1e3, 0.0, 1.0, *map(_ptr, TABLES))
    # x = 30: the drift 4·30·899 ≈ 1.1e5 times h = 0.1 throws it past 1e3 in the first step.
    assert diverged[0] == -1 and diverged[1] == 10
    assert abs(x[1, 0]) > 1e3


# --------------------------------------------------------------------------- p-spin couplings
@pytest.mark.parametrize(("n", "p"), [(7, 2), (6, 3), (4, 4)])
def test_pspin_couplings_equal_reference_bit_for_bit(lib, n, p):
    got = np.empty(n**p)
    lib.host_couplings(_ptr(got), n**p, n, p, 123, coupling_stream(p), *map(_ptr, TABLES))
    want = couplings_reference(n, p, seed=123)
    assert np.array_equal(got.reshape((n,) * p), want)


# --------------------------------------------------------------------------- device compile
def _instances(source):
    """Kernel instances the backend asks NVRTC for: both precisions, D = 1 and 3.

    (D up to MAX_FUSED_DIM compiles the same templates, fully unrolled: 20 s for D = 16.)
    """
    from sgdsde._cuda import FUSED_TEMPLATES, instance

    if source == "pspin.cu":
        return [instance("pspin_couplings", real) for real in ("float", "double")]
    names = [instance("normals", "float"), instance("normals", "double"), "uniforms"]
    for real in ("float", "double"):
        for dim in (1, 3):
            names += [instance(t, real, dim) for t in (*FUSED_TEMPLATES, "toy_grad_energy")]
    return names


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not installed")
@pytest.mark.parametrize("source", ["fused.cu", "pspin.cu"])
def test_cuda_source_compiles_for_the_gpu(tmp_path, source):
    from sgdsde._cuda import NVRTC_OPTIONS, expanded

    names = _instances(source)
    # The text NVRTC is given, plus references that make nvcc instantiate every template.
    refs = ",\n".join(f"    (const void*)&{name}" for name in names)
    unit = tmp_path / "unit.cu"
    unit.write_text(f"{expanded(source)}\nconst void* sgd_instances[] = {{\n{refs}\n}};\n")
    cmd = ["nvcc", "--ptx", "-arch=sm_90", *NVRTC_OPTIONS, "-Werror", "all-warnings", str(unit),
           "-o", str(tmp_path / "out.ptx")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.ptx").read_text().count(".entry") == len(names)


# --------------------------------------------------------------------------- the backend, emulated
# The CuPy backend's own code (module loading, launch arguments, device residency between
# chunks, divergence counter, observables) run against the kernels of fused.cu and pspin.cu
# compiled for the host.  A minimal stand-in for CuPy: arrays are an ndarray subclass, and a
# RawModule compiles its code with g++, each thread of a launch run in turn.  Every launch
# checks its arguments against the kernel's C++ signature (count, pointer or scalar, integer
# or floating point, byte size of scalars and of pointees).

PRELUDE = r"""
#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>
struct sgd_dim3 { unsigned int x = 0, y = 0, z = 0; };
static sgd_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define __global__
#define __shared__ static
#define __syncthreads() ((void)0)
template <typename T> static T atomicAdd(T* p, T v) { T old = *p; *p += v; return old; }
"""

LAUNCHERS = r"""
template <typename... A, std::size_t... I>
static void sgd_call(void (*f)(A...), void** args, std::index_sequence<I...>) {
    f(*static_cast<typename std::remove_cv<A>::type*>(args[I])...);
}
template <typename... A>
static void sgd_launch(void (*f)(A...), void** args, long long n) {
    gridDim.x = (unsigned)n; blockDim.x = 1; threadIdx.x = 0;  // one thread per block, in turn
    for (long long t = 0; t < n; ++t) {
        blockIdx.x = (unsigned)t;
        sgd_call(f, args, std::index_sequence_for<A...>{});
    }
}
template <typename T> static int sgd_kind() {
    return std::is_pointer<T>::value ? 0 : (std::is_floating_point<T>::value ? 2 : 1);
}
template <typename T> static int sgd_size() {
    if constexpr (std::is_pointer<T>::value) return (int)sizeof(typename std::remove_pointer<T>::type);
    else return (int)sizeof(T);
}
template <typename... A> static int sgd_signature(void (*)(A...), int* kinds, int* sizes) {
    const int k[] = {sgd_kind<A>()...}, s[] = {sgd_size<A>()...};
    std::memcpy(kinds, k, sizeof(k));
    std::memcpy(sizes, s, sizeof(s));
    return (int)sizeof...(A);
}
"""


class _FakeDeviceArray(np.ndarray):
    """A 'device' array: results of NumPy calls stay 'on the device'; ``get()`` copies to the host."""

    def get(self):
        return np.array(self.view(np.ndarray))


class _FakeKernel:
    def __init__(self, lib, index, name):
        self.name = name
        self._launch = getattr(lib, f"sgd_launch_{index}")
        kinds, sizes = (ctypes.c_int * 64)(), (ctypes.c_int * 64)()
        n = getattr(lib, f"sgd_signature_{index}")(kinds, sizes)
        self.signature = list(zip(kinds[:n], sizes[:n], strict=True))

    def __call__(self, grid, block, args):
        n_params = len(self.signature)
        assert len(args) == n_params, f"{self.name}: {len(args)} arguments for {n_params} parameters"
        keep, ptrs = [], (ctypes.c_void_p * len(args))()
        for j, (arg, (kind, size)) in enumerate(zip(args, self.signature, strict=True)):
            if kind == 0:
                assert isinstance(arg, _FakeDeviceArray) and arg.flags.c_contiguous, (self.name, j, type(arg))
                assert arg.itemsize == size, f"{self.name} argument {j}: {arg.dtype} for {size}-byte elements"
                cell = ctypes.c_void_p(arg.ctypes.data)
            else:
                assert isinstance(arg, np.generic), f"{self.name} argument {j}: untyped {arg!r}"
                floating = kind == 2
                what = f"a {size}-byte {'real' if floating else 'integer'}"
                assert (arg.dtype.kind == "f") == floating and arg.itemsize == size, (
                    f"{self.name} argument {j}: {arg.dtype} for {what}")
                cell = ctypes.create_string_buffer(arg.tobytes(), size)
            keep.append(cell)
            ptrs[j] = ctypes.cast(ctypes.pointer(cell) if kind == 0 else cell, ctypes.c_void_p)
        self._launch(ptrs, ctypes.c_longlong(int(np.prod(grid)) * int(np.prod(block))))


class _FakeRawModule:
    cache: dict = {}
    build_dir: Path | None = None

    def __init__(self, code, options=(), name_expressions=()):
        names = list(name_expressions)
        key = (code, tuple(options), tuple(names))
        if key not in self.cache:
            wrappers = "".join(
                f'extern "C" int sgd_signature_{i}(int* k, int* s) {{ return sgd_signature(&{n}, k, s); }}\n'
                f'extern "C" void sgd_launch_{i}(void** a, long long t) {{ sgd_launch(&{n}, a, t); }}\n'
                for i, n in enumerate(names))
            stem = self.build_dir / f"module{len(self.cache)}"
            stem.with_suffix(".cpp").write_text(PRELUDE + code + LAUNCHERS + wrappers)
            cmd = [CXX, "-std=c++17", "-O1", "-ffp-contract=off", "-shared", "-fPIC",
                   str(stem.with_suffix(".cpp")), "-o", str(stem.with_suffix(".so"))]
            done = subprocess.run(cmd, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr[-3000:]
            lib = ctypes.CDLL(str(stem.with_suffix(".so")))
            self.cache[key] = {n: _FakeKernel(lib, i, n) for i, n in enumerate(names)}
        self._kernels = self.cache[key]

    def get_function(self, name):
        return self._kernels[name]  # KeyError for a name that was not instantiated


def _fake_cupy():
    import types

    fake = types.ModuleType("cupy")
    fake.__version__ = "host-emulation"
    fake.ndarray = _FakeDeviceArray
    for name in ("float32", "float64", "int32", "int64"):
        setattr(fake, name, getattr(np, name))

    def asarray(a, dtype=None):
        if isinstance(a, _FakeDeviceArray) and (dtype is None or a.dtype == dtype):
            return a
        return np.array(a, dtype=dtype, copy=True).view(_FakeDeviceArray)

    def ascontiguousarray(a, dtype=None):
        if not isinstance(a, _FakeDeviceArray):  # as CuPy 14: device arrays only
            raise TypeError(f"Argument 'a' has incorrect type (expected a device array, got {type(a)})")
        a = asarray(a, dtype)
        return a if a.flags.c_contiguous else np.ascontiguousarray(a).view(_FakeDeviceArray)

    fake.asarray, fake.ascontiguousarray = asarray, ascontiguousarray
    fake.empty = lambda shape, dtype=np.float64: np.empty(shape, dtype).view(_FakeDeviceArray)
    fake.zeros = lambda shape, dtype=np.float64: np.zeros(shape, dtype).view(_FakeDeviceArray)
    fake.empty_like = lambda a: np.empty_like(a).view(_FakeDeviceArray)
    fake.asnumpy = lambda a: a.get() if isinstance(a, _FakeDeviceArray) else np.asarray(a)
    for name in ("all", "abs", "sum", "matmul", "max"):
        setattr(fake, name, getattr(np, name))
    fake.bool_ = np.bool_
    fake.RawModule = _FakeRawModule

    class CUDARuntimeError(RuntimeError):
        pass

    runtime = types.SimpleNamespace(
        getDeviceCount=lambda: 1, getDevice=lambda: 0, CUDARuntimeError=CUDARuntimeError,
        getDeviceProperties=lambda i: {"name": b"host emulation", "totalGlobalMem": 2**34},
        memGetInfo=lambda: (2**34, 2**34))
    fake.cuda = types.SimpleNamespace(runtime=runtime)
    return fake


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """The backend module and the p-spin module, imported against the CuPy stand-in."""
    import importlib
    import sys

    if CXX is None:
        pytest.skip("no host C++ compiler")
    _FakeRawModule.build_dir = tmp_path_factory.mktemp("emulated")
    names = ("cupy", "sgdsde.backends.cupy_backend")
    saved = {n: sys.modules.pop(n, None) for n in names}
    sys.modules["cupy"] = _fake_cupy()
    try:
        module = importlib.import_module("sgdsde.backends.cupy_backend")
        yield module
    finally:
        for n in names:
            sys.modules.pop(n, None)
            if saved[n] is not None:
                sys.modules[n] = saved[n]
        import sgdsde.backends as pkg

        if saved["sgdsde.backends.cupy_backend"] is not None:
            pkg.cupy_backend = saved["sgdsde.backends.cupy_backend"]
        elif hasattr(pkg, "cupy_backend"):
            del pkg.cupy_backend


@pytest.mark.parametrize("scheme", sorted(INTEGRATORS))
def test_backend_paths_on_emulated_device_equal_numpy_reference(emulated, scheme):
    from sgdsde.save import SaveAt
    from sgdsde.simulate import simulate

    integrator = INTEGRATORS[scheme]
    landscape = LANDSCAPES["tilted_double_well_2d"]
    sde = LangevinSDE(landscape, temperature=0.7, friction=1.5 if integrator.underdamped else None)
    x0 = _start(landscape, 40, np.float64)
    obs = {"energy": "energy", "mean": "mean", "x0": lambda x: x[:, 0]}
    if integrator.underdamped:
        obs["kinetic"] = "kinetic_energy"
    runs = {}
    for backend in (emulated.CupyBackend(), "numpy"):
        runs[str(backend)] = simulate(sde, integrator, x0, dt=0.01, n_steps=23, backend=backend, seed=8,
                                      save=SaveAt(every=5, observables=obs), particle_offset=17,
                                      progress=False)
    gpu, ref = runs["<backend 'cupy' on host emulation>"], runs["numpy"]
    assert type(gpu.final) is np.ndarray  # brought back to the host
    assert gpu.stats["fused"]
    np.testing.assert_allclose(gpu.final, ref.final, rtol=1e-10, atol=1e-12)
    for name in obs:
        np.testing.assert_allclose(gpu.observables[name], ref.observables[name], rtol=1e-10, atol=1e-12)
    assert gpu.stats["n_grad_evals"] == ref.stats["n_grad_evals"]
    if scheme == "MALA":
        assert gpu.stats["n_accepted_total"] == ref.stats["n_accepted_total"]
    if integrator.underdamped:
        np.testing.assert_allclose(gpu.final_velocity, ref.final_velocity, rtol=1e-10, atol=1e-12)


def test_backend_float32_and_divergence_on_emulated_device(emulated):
    from sgdsde.results import DivergenceError
    from sgdsde.simulate import simulate

    sde = LangevinSDE(LANDSCAPES["tilted_double_well_2d"], temperature=0.7)
    x0 = _start(sde.landscape, 40, np.float32)
    gpu = simulate(sde, EulerMaruyama(), x0, dt=0.01, n_steps=20, backend=emulated.CupyBackend(), seed=2,
                   progress=False)
    ref = simulate(sde, EulerMaruyama(), x0, dt=0.01, n_steps=20, backend="numpy", seed=2, progress=False)
    assert gpu.final.dtype == np.float32
    np.testing.assert_allclose(gpu.final, ref.final, rtol=1e-4, atol=1e-5)
    # A particle thrown out in a later chunk: the same step and particle as the reference.
    x0 = np.array([[0.0, 0.0], [2.2, 0.0]])
    errors = []
    for backend in (emulated.CupyBackend(), "numpy"):
        with pytest.raises(DivergenceError) as info:
            simulate(sde, EulerMaruyama(), x0, dt=0.12, n_steps=60, backend=backend, seed=2, progress=False,
                     max_abs=1e6)
        errors.append(info.value)
    assert errors[0].step == errors[1].step and errors[0].step > 0
    assert np.array_equal(errors[0].particles, errors[1].particles)


def test_fused_runs_stay_on_the_device_between_records(emulated, monkeypatch):
    # Device residency: between records a fused run copies to the host only the 4-byte
    # divergence counter, once per chunk (kernel launch); the cloud itself comes back once per
    # record ("position" only) and at the end.  Every get() of the stand-in is counted by size.
    from sgdsde.save import SaveAt
    from sgdsde.simulate import MAX_CHUNK, simulate

    copies = []
    real_get = _FakeDeviceArray.get
    monkeypatch.setattr(_FakeDeviceArray, "get", lambda self: copies.append(self.size) or real_get(self))
    sde = LangevinSDE(LANDSCAPES["double_well_1d"], temperature=0.5)
    m, n_steps = 64, 3 * MAX_CHUNK + 5  # four chunks
    x0 = _start(sde.landscape, m, np.float64)
    traj = simulate(sde, EulerMaruyama(), x0, dt=1e-3, n_steps=n_steps, backend=emulated.CupyBackend(),
                    seed=3, save=SaveAt(every=10**6, observables={"mean": "mean"}), progress=False)
    assert traj.stats["fused"] and traj.step == n_steps
    n_chunks = -(-n_steps // MAX_CHUNK)
    # The counter after each launch, then the mean (d = 1) at the last record and the final cloud;
    # the record at t0 is taken on the host, before the cloud moves to the device.
    assert copies == [1] * n_chunks + [1, m]


def _unfused_sde(landscape=None):
    from sgdsde.sde import StateDependentNoise

    noise = StateDependentNoise(lambda x, xi: 0.5 * xi * (1.0 + 0.1 * np.tanh(x)), n_noise=2)
    return LangevinSDE(LANDSCAPES["rugged_2d"] if landscape is None else landscape, noise=noise)


def test_backend_unfused_path_on_emulated_device(emulated):
    # State-dependent noise is not fused: the reference step runs on 'device' arrays with the
    # generator kernel's normals and the toy gradient kernel.
    from sgdsde.simulate import simulate

    sde = _unfused_sde()
    x0 = _start(sde.landscape, 30, np.float64)
    be = emulated.CupyBackend()
    gpu = simulate(sde, Heun(), x0, dt=0.01, n_steps=12, backend=be, seed=4, progress=False)
    ref = simulate(sde, Heun(), x0, dt=0.01, n_steps=12, backend="numpy", seed=4, progress=False)
    assert not gpu.stats["fused"]
    np.testing.assert_allclose(gpu.final, ref.final, rtol=1e-10, atol=1e-12)


def test_unfused_path_copies_to_the_host_once_per_window(emulated, monkeypatch):
    # No host copy per step on the unfused path: the window's flags (a byte per step) at its end.
    from sgdsde.save import SaveAt
    from sgdsde.simulate import simulate

    copies = []
    real_get = _FakeDeviceArray.get
    monkeypatch.setattr(_FakeDeviceArray, "get", lambda self: copies.append(self.size) or real_get(self))
    n_steps, m = 100, 30
    traj = simulate(_unfused_sde(), Heun(), _start(LANDSCAPES["rugged_2d"], m, np.float64), dt=0.01,
                    n_steps=n_steps, backend=emulated.CupyBackend(), seed=4, save=SaveAt(every=10**6),
                    progress=False)
    assert not traj.stats["fused"] and traj.step == n_steps
    window = emulated.DIVERGENCE_WINDOW
    flags = [min(window, n_steps - s) for s in range(0, n_steps, window)]
    assert copies == flags + [m * 2]  # a flag per step, once per window; then the final cloud


@pytest.mark.parametrize("blow_up_at", ["first window", "later window"])
def test_unfused_divergence_is_replayed_to_the_reference_step_and_state(emulated, blow_up_at):
    # A particle thrown out inside a window: the window is replayed from its copy of the state,
    # and the run stops at the same step, with the same particles and the same cloud, as the
    # NumPy reference (which looks after every step).
    from sgdsde.landscapes.toy import Quadratic
    from sgdsde.results import DivergenceError
    from sgdsde.simulate import simulate

    # Too stiff along x₁ for the step (kh = 2.1 > 2): Heun multiplies x₁ by 1 − kh + (kh)²/2 =
    # 1.105 per step, so particle 4 leaves |x| <= 50 after ~9 steps from x₁ = 20, and the cloud
    # (x₁ of order the noise, 0.3) after ~50.
    stiff = Quadratic(np.diag([7.0, 1.0]))
    x0 = np.tile([0.01, 0.2], (6, 1))
    x0[4, 0] = 20.0 if blow_up_at == "first window" else 0.3
    errors = []
    for backend in (emulated.CupyBackend(), "numpy"):
        with pytest.raises(DivergenceError) as info:
            simulate(_unfused_sde(stiff), Heun(), x0, dt=0.3, n_steps=300, backend=backend, seed=4,
                     progress=False, max_abs=50.0)
        errors.append(info.value)
    gpu, ref = errors
    assert gpu.step == ref.step
    assert (gpu.step < emulated.DIVERGENCE_WINDOW) == (blow_up_at == "first window")
    assert np.array_equal(gpu.particles, ref.particles)
    np.testing.assert_allclose(gpu.trajectory.final, ref.trajectory.final, rtol=1e-10, atol=1e-12)


def test_device_pspin_on_emulated_device(emulated):
    from sgdsde.landscapes._pspin_cupy import DevicePSpin
    from sgdsde.simulate import simulate

    n, p = 9, 3
    land = DevicePSpin(n, p, seed=4, dtype=np.float64)
    j = couplings_reference(n, p, seed=4)
    assert np.array_equal(land.couplings.get(), j)
    x = land.manifold.random(6, n, seed=1)
    energy, grad = land.energy_and_grad(x)
    c = n ** (-(p - 1) / 2)
    np.testing.assert_allclose(energy, c * np.einsum("ijk,mi,mj,mk->m", j, x, x, x), rtol=1e-12)
    np.testing.assert_allclose(grad, p * c * np.einsum("ijk,mj,mk->mi", j, x, x), rtol=1e-12, atol=1e-12)
    # The batched path of the backend: Euler–Maruyama on the sphere, as on the CPU.
    sde = LangevinSDE(land, temperature=0.3)
    gpu = simulate(sde, EulerMaruyama(), x, dt=0.01, n_steps=10, backend=emulated.CupyBackend(), seed=3,
                   progress=False)
    ref = simulate(sde, EulerMaruyama(), x, dt=0.01, n_steps=10, backend="numpy", seed=3, progress=False)
    np.testing.assert_allclose(gpu.final, ref.final, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(gpu.final, axis=1), np.sqrt(n), rtol=1e-12)
