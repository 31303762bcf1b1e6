"""Critical-point finder: published Müller–Brown points, an exact spherical oracle, p = 3 counts
against the exact finite-N expectation, discovery curves, saturation estimators, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgdsde.landscapes.base import Landscape
from sgdsde.landscapes.toy import DoubleWell, MullerBrown, NonConservative, Quadratic
from sgdsde.manifolds import Sphere
from sgdsde.measure.critical_points import (
    chao1,
    count_by_index,
    discovery_curve,
    find_critical_points,
    random_starts,
    starts_along_dynamics,
    unseen_probability,
)
from sgdsde.sde import LangevinSDE
from sgdsde.theory.complexity_counts import expected_counts

# Müller & Brown, Theor. Chim. Acta 53, 75 (1979), Table 1: (x, y, U, index)
MULLER_BROWN_POINTS = [
    (-0.558, 1.442, -146.70, 0),
    (0.623, 0.028, -108.17, 0),
    (-0.050, 0.467, -80.77, 0),
    (0.212, 0.293, -72.25, 1),
    (-0.822, 0.624, -40.66, 1),
]
MB_BOX = dict(low=[-1.7, -0.6], high=[1.3, 2.2])


class QuadraticOnSphere(Quadratic):
    """``½ xᵀ A x`` on the sphere |x| = R: critical points ±R v_k, index k, energy ½R²λ_k."""

    def __init__(self, matrix, radius):
        super().__init__(matrix)
        self.manifold = Sphere(radius)


class NoHessian(Landscape):
    dim = 2
    has_hessian = False

    def energy(self, x):
        return np.sum(x * x, axis=1)

    def grad(self, x):
        return 2 * x


@pytest.fixture(scope="module")
def muller_brown_points():
    mb = MullerBrown()
    return find_critical_points(mb, random_starts(mb, 300, seed=0, **MB_BOX))


def test_muller_brown_published_points(muller_brown_points):
    cp = muller_brown_points
    assert cp.n_points == 5
    assert cp.count_by_index().tolist() == [3, 2, 0]  # no maximum
    expected = sorted(MULLER_BROWN_POINTS, key=lambda r: r[2])
    for (x, y, u, k), xf, uf, kf in zip(expected, cp.x, cp.energy, cp.index, strict=True):
        # the table gives 3 decimals in position and 2 in energy: half a unit of the last digit
        assert abs(xf[0] - x) <= 5e-4 and abs(xf[1] - y) <= 5e-4
        assert abs(uf - u) <= 5e-3
        assert kf == k
    assert np.all(cp.grad_norm <= cp.stats["tol"])
    assert not cp.degenerate.any()


def test_muller_brown_search_saturates(muller_brown_points):
    cp = muller_brown_points
    disc = cp.discovery
    assert disc.shape == (300,)
    assert disc[150] == disc[-1] == 5  # nothing new in the second half of the starts
    assert unseen_probability(cp.start_label) == 0.0  # every point reached by several starts
    assert chao1(cp.start_label) == 5.0
    assert cp.stats["n_converged"] >= 200
    assert cp.stats["n_grad_evals"] >= cp.stats["n_starts"]


def test_gradient_norm_fallback_alone_finds_saddles_too():
    mb = MullerBrown()
    cp = find_critical_points(mb, random_starts(mb, 300, seed=1, **MB_BOX), max_newton_steps=0,
                              max_fallback_steps=600)
    assert cp.stats["n_newton"] == 0 and cp.stats["n_fallback"] == cp.stats["n_converged"] > 0
    assert cp.count_by_index().tolist() == [3, 2, 0]  # no maximum


def test_sphere_quadratic_exact_oracle():
    # Projected (no riemannian_* methods) path: the tangent Hessian at R v_k is A − λ_k on
    # span{v_j, j != k}, so the index is k; mirrors (parity +1) give the ± pairs.
    rng = np.random.default_rng(3)
    lam = np.array([0.5, 1.0, 1.7, 2.6, 4.0])
    q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    radius = 2.0
    landscape = QuadraticOnSphere(q @ np.diag(lam) @ q.T, radius)
    cp = find_critical_points(landscape, random_starts(landscape, 200, seed=4), parity=1)
    assert cp.n_points == 10
    assert cp.count_by_index().tolist() == [2] * 5
    np.testing.assert_allclose(cp.energy, np.repeat(0.5 * radius**2 * lam, 2), rtol=1e-10)
    np.testing.assert_array_equal(cp.index, np.repeat(np.arange(5), 2))
    # eigenvalues at R v_k are (λ_j − λ_k), j != k
    for k in range(5):
        for row in np.flatnonzero(cp.index == k):
            np.testing.assert_allclose(cp.eigenvalues[row], np.delete(lam - lam[k], k), atol=1e-9)
            np.testing.assert_allclose(np.abs(cp.x[row] @ q[:, k]), radius, rtol=1e-10)
    assert cp.discovery[-1] == 10
    assert np.all(np.diff(cp.discovery) >= 0) and np.all(np.diff(cp.discovery) <= 2)


def test_no_converged_start_gives_an_empty_result():
    mb = MullerBrown()
    cp = find_critical_points(mb, np.array([[0.0, 1.0], [1.0, 1.0]]), max_newton_steps=0,
                              max_fallback_steps=0)
    assert cp.n_points == 0 and cp.eigenvalues.shape == (0, 2)
    assert cp.discovery.tolist() == [0, 0] and cp.count_by_index().tolist() == [0, 0, 0]


def test_declared_parity_is_checked():
    landscape = QuadraticOnSphere(np.diag([1.0, 2.0, 3.0]), 1.0)
    with pytest.raises(ValueError, match="parity"):
        find_critical_points(landscape, random_starts(landscape, 20, seed=0), parity=-1)


def test_starts_along_dynamics_feed_the_finder():
    well = DoubleWell(dim=2, barrier=1.0)
    sde = LangevinSDE(well, temperature=0.3)
    x0 = np.zeros((8, 2)) + [0.9, 0.0]
    starts = starts_along_dynamics(sde, x0, dt=1e-2, n_steps=200, every=50, seed=5)
    assert starts.shape == (4 * 8, 2) and np.all(np.isfinite(starts))
    cp = find_critical_points(well, starts)
    # double well: minima (±1, 0) of index 0 and the barrier top (0, 0) of index 1
    np.testing.assert_allclose(np.sort(cp.x[:, 0]), [-1.0, 0.0, 1.0][3 - cp.n_points:], atol=1e-9)
    assert set(cp.index[cp.energy > 0.5].tolist()) <= {1}


@pytest.mark.parametrize("tol", [0.0, -1e-8, np.nan, np.inf])
def test_bad_tolerance(tol):
    mb = MullerBrown()
    with pytest.raises(ValueError, match="tol"):
        find_critical_points(mb, random_starts(mb, 3, seed=0, **MB_BOX), tol=tol)


def test_bad_input():
    mb = MullerBrown()
    with pytest.raises(ValueError, match="starts"):
        find_critical_points(mb, np.empty((0, 2)))
    with pytest.raises(ValueError, match="starts"):
        find_critical_points(mb, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="no Hessian"):
        find_critical_points(NoHessian(), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="not conservative"):
        find_critical_points(NonConservative(), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="parity"):
        find_critical_points(mb, np.zeros((4, 2)), parity=2)
    with pytest.raises(ValueError, match="eig_tol"):
        find_critical_points(mb, np.zeros((4, 2)), eig_tol=0.0)
    with pytest.raises(ValueError, match="n_starts"):
        random_starts(mb, 0, **MB_BOX)
    with pytest.raises(ValueError, match="box"):
        random_starts(mb, 5)
    with pytest.raises(ValueError, match="energy_edges"):
        count_by_index([0, 1], energy=[0.0, 1.0], energy_edges=[1.0, 0.0])
    with pytest.raises(ValueError, match="n_indices"):
        count_by_index([0, 3], n_indices=2)


def test_count_by_index_and_energy_band():
    index = np.array([0, 0, 1, 2, 1, 0])
    energy = np.array([-3.0, -1.0, -2.5, 0.5, 5.0, -2.0])
    assert count_by_index(index).tolist() == [3, 2, 1]
    bands = count_by_index(index, energy, energy_edges=[-4.0, -2.0, 0.0, 1.0], n_indices=4)
    # [-4,-2): idx0 -3, idx1 -2.5 ; [-2,0): idx0 -1, idx0 -2 ; [0,1]: idx2 0.5 ; 5.0 outside
    assert bands.tolist() == [[1, 2, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]]


def _naive_discovery(start_label, mirror_label):
    seen, out = set(), []
    for a, b in zip(start_label, mirror_label, strict=True):
        seen.update(v for v in (a, b) if v >= 0)
        out.append(len(seen))
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 7), st.integers(-1, 7)), min_size=1, max_size=40))
def test_discovery_curve_matches_definition(pairs):
    a = np.array([p[0] for p in pairs])
    b = np.where(a >= 0, np.array([p[1] for p in pairs]), -1)
    assert discovery_curve(a, b).tolist() == _naive_discovery(a, b)
    assert discovery_curve(a).tolist() == _naive_discovery(a, np.full_like(a, -1))


def test_saturation_estimators_on_hand_examples():
    # points reached 3, 2, 1, 1 times: f1 = 2, f2 = 1, n = 7 converged starts
    labels = np.array([0, 0, 0, 1, 1, 2, 3, -1])
    assert unseen_probability(labels) == pytest.approx(2 / 7)
    assert chao1(labels) == pytest.approx(4 + 2**2 / 2)
    assert unseen_probability(np.array([-1, -1])) == 1.0


def _pspin_or_skip():
    pspin = pytest.importorskip("sgdsde.landscapes.pspin")
    return pspin.SphericalPSpin


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_count_by_index_refuses_non_finite_energies(bad):
    # Before: a NaN energy fell in no band and its point was silently left out of the counts
    # ([[1, 0], [0, 1]] for three points of indices 0, 1, 1).
    with pytest.raises(ValueError, match="energy contains NaN or inf"):
        count_by_index([0, 1, 1], [0.5, bad, 1.5], [0.0, 1.0, 2.0])


def test_pspin_p3_counts_match_exact_expectation_at_n3():
    """p = 3, N = 3, 50 coupling draws: counts by index vs ABC's exact finite-N expectation."""
    SphericalPSpin = _pspin_or_skip()
    n, p, n_draws = 3, 3, 50
    edges = [-np.inf, -1.2, 0.0, np.inf]  # energy per spin bands: the λ ↔ u map of ABC is checked
    counts, banded, unseen = [], [], []
    for draw in range(n_draws):
        landscape = SphericalPSpin(n, p, seed=draw)
        cp = find_critical_points(landscape, random_starts(landscape, 120, seed=1000 + draw),
                                  parity=(-1) ** p)
        assert not cp.degenerate.any()
        counts.append(cp.count_by_index(n))
        banded.append(count_by_index(cp.index, cp.energy / n, edges, n_indices=n))
        unseen.append(unseen_probability(cp.start_label))
        # odd p: the mirror of an index-k point of energy u has index N-1-k and energy -u
        np.testing.assert_array_equal(cp.count_by_index(n), cp.count_by_index(n)[::-1])
    assert max(unseen) <= 0.05  # the discovery curves have saturated on every draw
    counts = np.array(counts, dtype=float)
    exact = expected_counts(n, p, energy_edges=edges, n_samples=200_000, seed=7)
    # SE of the draw average (sd/sqrt(50)) and of the GOE Monte Carlo, combined; 4 SE
    se = np.hypot(counts.std(axis=0, ddof=1) / np.sqrt(n_draws), exact.stderr_by_index)
    np.testing.assert_array_less(np.abs(counts.mean(axis=0) - exact.mean_by_index), 4 * se)
    total = counts.sum(axis=1)
    se_total = np.hypot(total.std(ddof=1) / np.sqrt(n_draws), exact.total_stderr)
    assert abs(total.mean() - exact.total) < 4 * se_total
    banded = np.array(banded, dtype=float)
    # rare cells (E ≈ 0.01 per draw) are often empty in all 50 draws: floor the sample sd by
    # the Poisson sd sqrt(E) that a count of rare events has
    sd_band = np.maximum(banded.std(axis=0, ddof=1), np.sqrt(exact.mean))
    se_band = np.hypot(sd_band / np.sqrt(n_draws), exact.stderr)
    np.testing.assert_array_less(np.abs(banded.mean(axis=0) - exact.mean), 4 * se_band + 1e-12)


def test_example_smoke(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "critical_points_vs_complexity.py"
    spec = importlib.util.spec_from_file_location("critical_points_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--smoke", "--out", str(tmp_path)])
    assert (tmp_path / "critical_points_vs_complexity_smoke.png").stat().st_size > 10_000
    # N = 3, 4: counts within 3 SE of the exact expectation, discovery curves saturated
    assert [r[0] for r in rows] == [3, 4] and all(r[7] and r[8] for r in rows)


def test_flat_random_starts_are_the_counter_based_uniforms_in_the_box():
    """Every draw through sgdsde.random: starts are low + (high - low) u with u the uniforms of
    (seed, start index) on their own stream, so a start does not depend on how many are drawn."""
    from sgdsde.measure.critical_points import STREAM_RANDOM_STARTS
    from sgdsde.random import uniforms

    mb = MullerBrown()
    low, high = np.array(MB_BOX["low"]), np.array(MB_BOX["high"])
    starts = random_starts(mb, 7, seed=11, **MB_BOX)
    u = uniforms(11, np.arange(7), 0, 2, STREAM_RANDOM_STARTS)
    np.testing.assert_array_equal(starts, low + (high - low) * u)
    np.testing.assert_array_equal(random_starts(mb, 3, seed=11, **MB_BOX), starts[:3])
    assert not np.allclose(random_starts(mb, 7, seed=12, **MB_BOX), starts)
