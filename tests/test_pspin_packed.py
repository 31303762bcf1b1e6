"""Packed p-spin couplings (one entry per sorted index tuple) and the streaming kernel: the
sample, its law, packed == dense, thread-count independence, float32, memory, N < p, large p."""

from __future__ import annotations

import itertools
import math
import time

import numba
import numpy as np
import pytest

from sgdsde.landscapes import _pspin_packed as packed
from sgdsde.landscapes import pspin
from sgdsde.landscapes._pspin_cupy import couplings_reference
from sgdsde.landscapes.pspin import MixedSphericalPSpin, SphericalPSpin


def _orbit(t):
    """Number of distinct orderings of the tuple t: p! / Π multiplicity!."""
    return math.factorial(len(t)) // math.prod(math.factorial(t.count(v)) for v in set(t))


# --------------------------------------------------------------------------- the sample
@pytest.mark.parametrize(("n", "p"), [(7, 2), (6, 3), (5, 4), (3, 6)])
def test_layout_is_lexicographic_sorted_tuples(n, p):
    layout = packed.PackedLayout(n, p)
    tuples = list(itertools.combinations_with_replacement(range(n), p))  # lexicographic
    assert layout.size == len(tuples) == math.comb(n + p - 1, p)
    rows = np.repeat(np.arange(layout.prefixes.shape[0]), np.diff(layout.offsets))
    last = layout.prefixes[rows, -1] + (np.arange(layout.size) - layout.offsets[rows])
    got = np.column_stack([layout.prefixes[rows], last])
    np.testing.assert_array_equal(got, np.array(tuples))


@pytest.mark.parametrize(("n", "p"), [(7, 2), (6, 3), (4, 4), (2, 5)])
def test_packed_entries_are_the_generator_normals_times_sqrt_multiplicity(n, p):
    """Entry of tuple t = √m(t) z(t), z the NumPy reference normal of (seed, t): bit for bit."""
    layout = packed.PackedLayout(n, p)
    z = packed.unit_normals_reference(n, p, seed=123)
    weight = np.sqrt([float(_orbit(t)) for t in itertools.combinations_with_replacement(range(n), p)])
    got = packed.draw_packed(layout, 123, 1.0, False, np.float64)
    np.testing.assert_array_equal(got, z * weight)
    # float32 holds the same numbers, rounded once
    np.testing.assert_array_equal(packed.draw_packed(layout, 123, 1.0, False, np.float32),
                                  (z * weight).astype(np.float32))


@pytest.mark.parametrize(("n", "p"), [(7, 2), (6, 3), (4, 4)])
def test_dense_tensor_is_the_gpu_reference(n, p):
    """The unpacked tensor is N^{−(p−1)/2} J_sym with J_sym = z/√m of the CUDA kernel's reference."""
    model = SphericalPSpin(n, p, seed=9)
    want = n ** (-(p - 1) / 2) * couplings_reference(n, p, seed=9)
    np.testing.assert_allclose(model.dense_couplings(), want, rtol=4e-16, atol=0)


def test_degrees_of_a_mixture_use_independent_streams():
    """(0, k) of degree 2 and (0, 0, k) of degree 3 share particle 0 and component k: only the
    stream (64 + p) tells them apart, so with one stream the mixture's degrees would be correlated."""
    n = 9
    z2 = packed.unit_normals_reference(n, 2, seed=5)[:n]  # tuples (0, k), k = 0..n−1
    z3 = packed.unit_normals_reference(n, 3, seed=5)[:n]  # tuples (0, 0, k)
    assert packed.coupling_stream(2) != packed.coupling_stream(3)
    assert not np.any(z2 == z3)


# --------------------------------------------------------------------------- the law
def test_energy_variance_and_covariance_with_repeated_indices_n_below_p():
    """ABC at N = 2 < p = 3 (issue 15 class 0): E[H(σ)H(σ')] = N q^p exactly, over 4000 seeds.

    Var H = N on the sphere needs the multiplicity weights (without them Var H differs:
    N^{1-p} Σ_sorted Π σ² is not |σ|^{2p}).  Tolerance 5 standard errors of a product mean,
    SE = sqrt((Var X Var Y + Cov²)/n) for jointly Gaussian X, Y.
    """
    n, p, draws = 2, 3, 4000
    a = np.array([[1.0, 1.0]])  # |a|² = 2 = N
    b = np.array([[math.sqrt(2.0) * math.cos(0.4), math.sqrt(2.0) * math.sin(0.4)]])
    q = float(a[0] @ b[0] / n)
    h = np.array([[SphericalPSpin(n, p, seed=s).energy(np.vstack([a, b]))] for s in range(draws)])[:, 0]
    for i, j, cov in [(0, 0, n), (1, 1, n), (0, 1, n * q**p)]:
        se = math.sqrt((n * n + cov**2) / draws)
        assert abs(np.mean(h[:, i] * h[:, j]) - cov) < 5 * se, (i, j, np.mean(h[:, i] * h[:, j]), cov)


# --------------------------------------------------------------------------- packed == dense
CASES = {
    "p2": lambda **k: SphericalPSpin(11, 2, seed=1, **k),
    "p3": lambda **k: SphericalPSpin(13, 3, seed=2, **k),
    "p4": lambda **k: SphericalPSpin(9, 4, seed=3, **k),
    "p3_ck": lambda **k: SphericalPSpin(10, 3, "ck", seed=4, **k),
    "mixed": lambda **k: MixedSphericalPSpin(8, {2: 0.5, 3: 1.0, 4: 0.3}, seed=5, **k),
    "n_below_p": lambda **k: SphericalPSpin(3, 5, seed=6, **k),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 3e-6)])
def test_packed_gradient_equals_dense_gradient(case, dtype, rtol):
    """Same sample, two paths: the stream over sorted entries and the GEMM on the unpacked tensor.

    Rounding: sums of about N^{p−1} products, relative error ~ sqrt(N^{p−1}) eps, below 1e-13
    in float64 and 3e-6 in float32 for these sizes (relative to the largest component).
    """
    pk = CASES[case](path="packed", dtype=dtype)
    de = CASES[case](path="dense", dtype=dtype)
    for m in (1, 5, 70):  # 70 > PARTICLES_PER_PASS: two passes over the tensor
        x = pk.manifold.random(m, pk.dim, seed=m, dtype=dtype)
        e_p, g_p = pk.energy_and_grad(x)
        e_d, g_d = de.energy_and_grad(x)
        assert g_p.dtype == e_p.dtype == dtype
        np.testing.assert_allclose(g_p, g_d, rtol=0, atol=rtol * np.abs(g_d).max())
        np.testing.assert_allclose(e_p, e_d, rtol=0, atol=rtol * np.abs(e_d).max())


def test_packed_hessian_equals_dense_contraction():
    model = SphericalPSpin(7, 4, seed=8)
    x = model.manifold.random(3, 7, seed=1)
    k = model.dense_couplings()
    want = 12 * np.einsum("ijkl,mk,ml->mij", k, x, x)  # p(p−1) K·x^{⊗(p−2)}
    np.testing.assert_allclose(model.hessian(x), want, rtol=1e-13, atol=1e-13)


def test_result_does_not_depend_on_the_thread_count(monkeypatch):
    """Blocks are fixed by the tensor's size and summed in block order: 1 or 2 threads, same bits."""
    monkeypatch.setattr(packed, "TARGET_BLOCK_ENTRIES", 64)  # many blocks at a small N
    model = SphericalPSpin(24, 3, seed=3, path="packed")
    assert model.layouts[3].block_rows.size - 1 > 8
    x = model.manifold.random(9, 24, seed=2)
    before = numba.get_num_threads()
    results = {}
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            results[threads] = (*model.energy_and_grad(x), model.hessian(x))
    finally:
        numba.set_num_threads(before)
    for got in results.values():
        for a, b in zip(got, results[1], strict=True):
            np.testing.assert_array_equal(a, b)


def test_auto_rule_and_paths():
    small = SphericalPSpin(12, 3, seed=1)
    assert not small.uses_dense(3, pspin.AUTO_DENSE_MIN_PARTICLES - 1)
    assert small.uses_dense(3, pspin.AUTO_DENSE_MIN_PARTICLES)
    assert small.memory_bytes == math.comb(14, 3) * 8  # no dense tensor until a large cloud comes
    x = small.manifold.random(pspin.AUTO_DENSE_MIN_PARTICLES, 12, seed=1)
    e_auto, g_auto = small.energy_and_grad(x)
    assert small.memory_bytes == math.comb(14, 3) * 8 + 12**3 * 8
    e_pk, g_pk = SphericalPSpin(12, 3, seed=1, path="packed").energy_and_grad(x)
    np.testing.assert_allclose(g_auto, g_pk, rtol=0, atol=1e-13 * np.abs(g_pk).max())
    big = SphericalPSpin.memory_needed(1024, 3, np.float32)
    assert big["dense"] == 0  # 4 GiB dense: auto keeps the packed stream at every cloud size


# --------------------------------------------------------------------------- sizes
def test_memory_error_gives_the_figures(monkeypatch):
    monkeypatch.setattr(pspin, "available_memory_bytes", lambda: 100 * 2**20)
    need = SphericalPSpin.memory_needed(600, 3, np.float32)
    with pytest.raises(MemoryError, match=r"needs \d+\.\d MiB \(packed couplings \d+\.\d MiB in float32.*"
                                          r"only 100\.0 MiB is available"):
        SphericalPSpin(600, 3, dtype=np.float32)
    assert need["couplings"] > 100 * 2**20 and need["dense"] == 0  # the packed entries alone are too many
    with pytest.raises(MemoryError, match="dense tensors"):
        SphericalPSpin(300, 3, path="dense")


def test_large_degree_builds_in_the_number_of_sorted_tuples():
    """Issue 15 class 11: SphericalPSpin(n=10, p=7) took 204 s (p! permutations per slab).

    Now C(16, 7) = 11440 draws; the bound of 5 s leaves room for a loaded machine (compiled
    kernels are cached: a first call warms them).  The model is still a degree-7 polynomial.
    """
    SphericalPSpin(10, 7, seed=0)
    start = time.perf_counter()
    model = SphericalPSpin(10, 7, seed=1)
    assert time.perf_counter() - start < 5.0
    assert model.couplings[7].size == math.comb(16, 7)
    x = np.random.default_rng(0).standard_normal((2, 10))
    e, g = model.energy_and_grad(x)
    np.testing.assert_allclose(np.sum(x * g, axis=1), 7 * e, rtol=1e-12)  # Euler: σ·∇H = p H
    np.testing.assert_allclose(model.energy(2 * x), 2**7 * e, rtol=1e-12)  # homogeneous of degree 7
