"""Minimum-energy paths: the climbing image lands on the saddles the critical-point finder
returns (Müller–Brown, p-spin on the sphere), the string method's error bar covers its error,
one batched gradient call per iteration, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.geometry.paths import nudged_elastic_band, straight_path, string_method
from sgdsde.landscapes import MullerBrown, Quadratic, SphericalPSpin
from sgdsde.measure.critical_points import find_critical_points
from sgdsde.measure.spectra import hessian_spectrum


@pytest.fixture(scope="module")
def muller_brown_points():
    mb = MullerBrown()
    starts = np.array([[-0.55, 1.44], [0.62, 0.03], [-0.05, 0.47], [-0.82, 0.62], [0.21, 0.29]])
    cp = find_critical_points(mb, starts)
    assert cp.n_points == 5
    return mb, cp


def test_climbing_image_converges_to_the_muller_brown_saddles(muller_brown_points):
    mb, cp = muller_brown_points
    a, c, b = cp.x[0], cp.x[2], cp.x[1]  # minima A (-146.7), C (-80.8), B (-108.2)
    for (start, end), saddle in (((a, c), 4), ((c, b), 3)):
        path = nudged_elastic_band(mb, start, end, n_images=11, tol=1e-7)
        assert path.converged
        # the climbing image is the saddle: same energy to 1e-6, same point to 1e-6
        assert path.energies.max() == pytest.approx(cp.energy[saddle], abs=1e-6)
        np.testing.assert_allclose(path.saddle, cp.x[saddle], atol=1e-6)
        assert cp.index[saddle] == 1
        # one batched gradient call per iteration for the whole chain (plus the first one)
        assert path.n_grad_calls == path.n_iterations + 1
        assert path.n_grad_evals == 9 * path.n_grad_calls
        assert path.barrier == pytest.approx(cp.energy[saddle] - mb.energy(start[None])[0], abs=1e-6)


def test_string_method_error_bar_covers_its_distance_to_the_saddle(muller_brown_points):
    mb, cp = muller_brown_points
    for n_images in (15, 31):
        path = string_method(mb, cp.x[0], cp.x[2], n_images=n_images, step=5e-4, tol=1e-5)
        assert path.converged
        err = abs(path.energies.max() - cp.energy[4])
        # the highest image undershoots the saddle; the interpolated peak is closer and the
        # reported error bar (their difference) bounds the highest image's error to within 20 %
        assert err <= 1.2 * path.barrier_error
        assert abs(path.peak_energy - cp.energy[4]) < err
    assert err < 5e-3  # 31 images
    # the default step, 1/λ_max from Lanczos at three images, converges as fast
    default = string_method(mb, cp.x[0], cp.x[2], n_images=31, tol=1e-5)
    assert default.converged and default.n_iterations < 1000
    assert abs(default.peak_energy - cp.energy[4]) <= default.barrier_error


def test_paths_on_the_sphere_find_an_index_one_saddle_of_the_pspin_model():
    h = SphericalPSpin(n=16, p=3, seed=0)
    x = h.manifold.random(12, seed=1)
    for _ in range(2000):  # gradient descent to minima
        x = h.manifold.retract(x - 0.05 * h.riemannian_gradient(x))
    e = h.energy(x)
    i = int(np.argmin(e))
    j = next(k for k in np.argsort(e) if abs(h.overlap(x[i:i + 1], x[k:k + 1])[0]) < 0.9)
    path = nudged_elastic_band(h, x[i], x[j], n_images=11, tol=1e-7)
    assert path.converged
    np.testing.assert_allclose(np.linalg.norm(path.images, axis=1), 4.0, rtol=1e-12)
    assert np.linalg.norm(h.riemannian_gradient(path.saddle[None])) < 1e-6
    eig = hessian_spectrum(h, path.saddle[None])[0]
    assert eig[0] < 0 < eig[1]  # index one
    # the critical-point finder started there returns the same point
    cp = find_critical_points(h, path.saddle[None])
    assert cp.energy[0] == pytest.approx(path.energies.max(), abs=1e-8)
    string = string_method(h, x[i], x[j], n_images=15, step=0.05, tol=1e-4, max_iter=20000)
    np.testing.assert_allclose(np.linalg.norm(string.images, axis=1), 4.0, rtol=1e-12)
    assert string.converged
    assert abs(string.energies.max() - path.energies.max()) <= 1.2 * string.barrier_error + 1e-6


def test_bad_input():
    q = Quadratic(np.eye(2))
    with pytest.raises(ValueError, match="start and end coincide"):
        nudged_elastic_band(q, [1.0, 0.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="n_images must be an integer >= 3"):
        string_method(q, [1.0, 0.0], [0.0, 1.0], n_images=2)
    with pytest.raises(ValueError, match="end contains NaN"):
        nudged_elastic_band(q, [1.0, 0.0], [np.nan, 1.0])
    h = SphericalPSpin(n=5, p=3)
    on = h.manifold.random(2, seed=0)
    with pytest.raises(ValueError, match="end must lie on the sphere"):
        nudged_elastic_band(h, on[0], 2 * on[1])
    with pytest.raises(ValueError, match="antipodal"):
        straight_path(h, on[0], -on[0], 5)
    with pytest.raises(ValueError, match="initial must hold n_images = 5"):
        nudged_elastic_band(q, [1.0, 0.0], [0.0, 1.0], n_images=5, initial=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="spring must be a finite number > 0"):
        nudged_elastic_band(q, [1.0, 0.0], [0.0, 1.0], spring=0.0)


@pytest.mark.parametrize("method", [nudged_elastic_band, string_method])
def test_a_non_conservative_drift_has_no_minimum_energy_path(method):
    # grad of NonConservative is (A − Ω)(x − c), not the gradient of its energy: the chain
    # followed the rotating drift and reported a barrier of the unrelated quadratic part
    from sgdsde.landscapes.toy import NonConservative

    with pytest.raises(ValueError, match="not conservative"):
        method(NonConservative(omega=2.0), [-1.0, 0.0], [1.0, 0.0], n_images=5, max_iter=10)


def test_climb_after_without_a_climbing_image_raises():
    """climb_after is ignored without climbing: giving it raises instead of being dropped."""
    mb = MullerBrown()
    a, b = np.array([-0.558, 1.442]), np.array([0.623, 0.028])
    with pytest.raises(ValueError, match="climb_after = 0.3 applies only with climbing=True"):
        nudged_elastic_band(mb, a, b, n_images=5, climbing=False, climb_after=0.3, max_iter=1)
    nudged_elastic_band(mb, a, b, n_images=5, climbing=False, max_iter=1)  # the default is fine
