"""Counter-based noise: Philox known answers, NumPy == Numba bit for bit, the law of the normals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats

from sgdsde import random as rnd
from sgdsde._random_numba import (
    LANES,
    fill_noise_lanes,
    noise_scratch,
    normal_steps_into,
    normals_into,
    uniform_at,
)

# Known-answer vectors of Random123 (Salmon et al., SC'11), file kat_vectors, "philox4x32 10":
# counter (4 words), key (2 words) -> output (4 words).
PHILOX_KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize(("counter", "key", "expected"), PHILOX_KAT, ids=["zeros", "ones", "pi"])
def test_philox_known_answers(counter, key, expected):
    assert tuple(int(w) for w in rnd.philox4x32(counter, key)) == expected


def test_philox_known_answers_vectorised():
    """All three vectors in one broadcast call: the vectorised path equals the scalar one."""
    counters = np.array([c for c, _, _ in PHILOX_KAT], dtype=np.uint64).T
    keys = np.array([k for _, k, _ in PHILOX_KAT], dtype=np.uint64).T
    out = np.stack(rnd.philox4x32(counters, keys), axis=1)
    np.testing.assert_array_equal(out, np.array([e for _, _, e in PHILOX_KAT], dtype=np.uint64))


def _numba_normals(seed, particles, step, dim, stream=rnd.STREAM_NOISE):
    particles = np.ascontiguousarray(particles, dtype=np.int64)
    out = np.empty((particles.size, dim))
    normals_into(out, np.uint64(seed), particles, np.int64(step), np.int64(stream))
    return out


POSITIONS = [
    # seed, particles, step, dim, stream
    (0, np.arange(2000), 0, 3, rnd.STREAM_NOISE),
    (12345, np.arange(500, 1500), 7, 2, rnd.STREAM_NOISE),
    (2**40 + 17, np.arange(3000), 2**32 + 3, 1, rnd.STREAM_NOISE),  # step >= 2**32
    (2**64 - 1, np.arange(2**32 - 700, 2**32), 2**49 + 2, 4, rnd.STREAM_ACCEPT),  # largest values
    (7, np.array([5, 3, 99, 3]), 2**34 + 1, 5, rnd.STREAM_USER + 3),  # unordered, repeated
]


@pytest.mark.parametrize(("seed", "particles", "step", "dim", "stream"), POSITIONS)
def test_numba_normals_equal_reference_bit_for_bit(seed, particles, step, dim, stream):
    ref = rnd.normals(seed, particles, step, dim, stream)
    got = _numba_normals(seed, particles, step, dim, stream)
    # Several thousand draws: the ziggurat's rare path (about 2.8 % of draws) is exercised.
    assert np.array_equal(got, ref)


def test_numba_steps_kernel_equals_reference():
    """``normal_steps_into`` (the block-of-four fetch over many steps) equals step-by-step draws."""
    seed, particles, step0, n_steps, dim = 99, np.arange(40, 240), 2**33 - 5, 11, 3
    out = np.empty((particles.size, n_steps, dim))
    normal_steps_into(out, np.uint64(seed), np.asarray(particles), step0, rnd.STREAM_NOISE)
    for n in range(n_steps):
        assert np.array_equal(out[:, n], rnd.normals(seed, particles, step0 + n, dim))


@njit
def _lanes_block(seed, first_particle, n_lanes, block, stream, dim):
    buf = np.full((dim, 4, LANES), np.nan)
    ctr = noise_scratch()
    s = np.uint64(seed)
    fill_noise_lanes(buf, ctr, s & np.uint64(0xFFFFFFFF), s >> np.uint64(32), np.uint64(first_particle),
                     n_lanes, np.uint64(block), np.uint64(stream))
    return buf


@pytest.mark.parametrize(("seed", "first", "n_lanes", "block", "stream"), [
    (0, 0, LANES, 0, rnd.STREAM_NOISE),
    (12345, 1000, LANES - 5, 2**31 + 7, rnd.STREAM_NOISE),  # partial group; step >= 2**33
    (2**64 - 1, 2**32 - LANES, LANES, 2**47 + 3, rnd.STREAM_USER + 3),  # largest values
])
def test_numba_lane_kernel_equals_reference(seed, first, n_lanes, block, stream):
    """``fill_noise_lanes`` (LANES particles per SIMD pass, the fused kernels' generator) equals
    the reference on every valid lane, slow-path draws included (3 x 4 x LANES draws)."""
    dim = 3
    buf = _lanes_block(np.uint64(seed), first, n_lanes, block, stream, dim)
    particles = np.arange(first, first + n_lanes)
    for s in range(4):
        ref = rnd.normals(seed, particles, 4 * block + s, dim, stream)
        assert np.array_equal(buf[:, s, :n_lanes].T, ref)


def test_numba_lane_kernel_rare_slow_paths_equal_reference():
    """The slow draws settled outside the batched first attempt (the tail layer 0, and draws
    whose attempt 0 rejects and whose fresh word fails the fast test too) equal the reference:
    16 blocks x 4 steps x 8 components x LANES = 32768 draws, of which about 19 lie in layer 0
    (2.8 % slow x 2.1 % of those) and about 11 need a second attempt; at least 5 layer-0
    draws are required so that the rare branch is really exercised."""
    seed, stream, dim, first = 2024, rnd.STREAM_NOISE, 8, 64
    particles = np.arange(first, first + LANES)
    tail_draws = 0
    for block in range(16):
        buf = _lanes_block(np.uint64(seed), first, LANES, block, stream, dim)
        for s in range(4):
            ref = rnd.normals(seed, particles, 4 * block + s, dim, stream)
            assert np.array_equal(buf[:, s, :].T, ref)
            tail_draws += int(np.sum(rnd._main_words(seed, particles.astype(np.uint64), 4 * block + s, dim,
                                                     stream) & np.uint64(0x7F) == 0))
    assert tail_draws >= 5


def test_numba_uniforms_equal_reference():
    seed, particles, dim = 2**63 + 11, np.arange(300), 2
    for step in (0, 5, 2**36 + 1):
        ref = rnd.uniforms(seed, particles, step, dim)
        got = np.array([[uniform_at(np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32), np.uint64(i),
                                    np.uint64(step), np.uint64(k), np.uint64(rnd.STREAM_ACCEPT))
                         for k in range(dim)] for i in particles])
        assert np.array_equal(got, ref)


def test_normals_are_a_pure_function_of_their_position():
    """A particle's numbers do not depend on which other particles are drawn with it."""
    whole = rnd.normals(3, np.arange(100), 41, 3)
    part = rnd.normals(3, np.array([70, 10, 99]), 41, 3)
    np.testing.assert_array_equal(part, whole[[70, 10, 99]])


def test_positions_do_not_alias():
    """Seeds, steps (also across the 2**32 and 2**34 boundaries of the counter), streams and
    components all give different numbers."""
    p = np.arange(64)
    base = rnd.normals(1, p, 0, 2)
    others = [
        rnd.normals(2, p, 0, 2),
        rnd.normals(1 + 2**32, p, 0, 2),  # the high key word matters
        rnd.normals(1, p, 1, 2),
        rnd.normals(1, p, 4, 2),
        rnd.normals(1, p, 2**32, 2),
        rnd.normals(1, p, 2**34, 2),
        rnd.normals(1, p, 2**48, 2),
        rnd.normals(1, p, 0, 2, stream=rnd.STREAM_ACCEPT),
        rnd.normals(1, p + 64, 0, 2),
        rnd.normals(1, p, 0, 2)[:, ::-1],
    ]
    for other in others:
        assert not np.any(other == base)


def test_float32_normals_are_the_float64_ones_rounded():
    a64 = rnd.normals(5, np.arange(1000), 3, 2)
    a32 = rnd.normals(5, np.arange(1000), 3, 2, dtype=np.float32)
    assert a32.dtype == np.float32
    np.testing.assert_array_equal(a32, a64.astype(np.float32))


# ----------------------------------------------------------------------------- the law
N_LAW = 2**21  # normals for the statistical checks (drawn by the Numba kernel, bitwise = reference)


@pytest.fixture(scope="module")
def law_sample():
    """(M, 4 steps, 2 components) normals at a fixed seed: 2**21 draws in all."""
    m = N_LAW // 8
    out = np.empty((m, 4, 2))
    normal_steps_into(out, 20240601, np.arange(m, dtype=np.int64), 1000, rnd.STREAM_NOISE)
    return out


def test_normals_pass_kolmogorov_smirnov(law_sample):
    x = law_sample.ravel()
    d = stats.kstest(x, "norm").statistic
    # Critical value of the exact one-sample KS law at level 1e-3 for this n.
    assert d < stats.kstwo.ppf(1 - 1e-3, x.size)


@pytest.mark.parametrize("sigmas", [1.0, 2.0, 3.0, 4.0])
def test_normal_tail_fractions(law_sample, sigmas):
    """P(|X| > s) within 5 standard errors, SE = sqrt(p (1 - p) / n) (binomial count)."""
    x = law_sample.ravel()
    p = 2 * stats.norm.sf(sigmas)
    frac = np.mean(np.abs(x) > sigmas)
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / x.size)


def test_normal_moments(law_sample):
    """Mean, variance and fourth moment within 5 SE: SE = sqrt(Var(f(X)) / n) with
    Var(X) = 1, Var(X²) = 2, Var(X⁴) = E X⁸ − 9 = 96."""
    x = law_sample.ravel()
    n = x.size
    assert abs(x.mean()) < 5 * math.sqrt(1 / n)
    assert abs(np.mean(x**2) - 1) < 5 * math.sqrt(2 / n)
    assert abs(np.mean(x**4) - 3) < 5 * math.sqrt(96 / n)
    # odd moment of the tails: symmetry of the sign bit and of the tail algorithm
    assert abs(np.mean(x**3)) < 5 * math.sqrt(15 / n)


@pytest.mark.parametrize(
    "pair",
    ["consecutive steps", "across a block of four steps", "components", "neighbouring particles"],
)
def test_normals_uncorrelated(law_sample, pair):
    """Sample correlation within 5 SE, SE = 1/sqrt(n) for independent unit normals."""
    s = law_sample
    a, b = {
        "consecutive steps": (s[:, :-1, :], s[:, 1:, :]),
        "across a block of four steps": (s[:, 0, :], s[:, 3, :]),
        "components": (s[:, :, 0], s[:, :, 1]),
        "neighbouring particles": (s[:-1], s[1:]),
    }[pair]
    a, b = a.ravel(), b.ravel()
    assert abs(np.mean(a * b)) < 5 / math.sqrt(a.size)
    # squares too: independence, not only zero correlation (Var(X²Y²) = 9 - 1 = 8)
    assert abs(np.mean(a * a * b * b) - 1) < 5 * math.sqrt(8 / a.size)


def test_uniforms_in_open_unit_interval():
    u = rnd.uniforms(4, np.arange(50_000), 9, 4)
    assert u.dtype == np.float64
    assert u.min() > 0 and u.max() < 1
    # uniform law: mean 1/2 and variance 1/12 within 5 SE (Var(U) = 1/12, Var(U²) = 4/45)
    n = u.size
    assert abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / n)
    assert abs(np.mean(u * u) - 1 / 3) < 5 * math.sqrt(4 / 45 / n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_words_give_uniforms_inside_the_interval(dtype, monkeypatch):
    """Words 0 and 2**32 − 1 map strictly inside (0, 1), also after rounding to float32."""
    extreme = np.array([[0, 1, 2**32 - 128, 2**32 - 1]], dtype=np.uint64)
    monkeypatch.setattr(rnd, "_main_words", lambda *args: extreme)
    u = rnd.uniforms(0, np.arange(1), 0, 4, dtype=dtype)
    assert u.dtype == dtype
    assert np.all(u > 0) and np.all(u < 1)
    assert np.all(np.diff(u[0]) >= 0)  # order kept


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 2**64}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"seed": True}, TypeError, "seed"),
        ({"seed": "7"}, TypeError, "seed"),
        ({"step": -1}, ValueError, "step"),
        ({"step": 2**50}, ValueError, "step"),
        ({"stream": -1}, ValueError, "stream"),
        ({"stream": 0x8000}, ValueError, "stream"),
        ({"particles": np.array([-1, 2])}, ValueError, "particle"),
        ({"particles": np.array([2**32])}, ValueError, "particle"),
        ({"particles": np.array([0.0, 1.0])}, TypeError, "particles"),
        # were truncated: step 2.5 drew the normals of step 2, stream 1.5 those of stream 1
        ({"step": 2.5}, ValueError, "step must be an integer"),
        ({"step": True}, ValueError, "step must be an integer"),
        ({"stream": 1.5}, ValueError, "stream must be an integer"),
        ({"dim": 2.5}, ValueError, "dim must be an integer >= 0"),
        ({"dim": -1}, ValueError, "dim must be an integer >= 0"),
    ],
)
@pytest.mark.parametrize("draw", [rnd.normals, rnd.uniforms])
def test_bad_positions_rejected(draw, kwargs, error, match):
    args = {"seed": 1, "particles": np.arange(3), "step": 0, "dim": 2, "stream": 0} | kwargs
    with pytest.raises(error, match=match):
        draw(**args)


def test_resolve_seed():
    assert rnd.resolve_seed(np.uint64(2**64 - 1)) == 2**64 - 1
    fresh = {rnd.resolve_seed(None) for _ in range(4)}
    assert len(fresh) == 4 and all(0 <= s < 2**64 for s in fresh)
