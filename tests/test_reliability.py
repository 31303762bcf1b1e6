"""Reproducers of issue 15 (reliability): each returned a silently wrong value, a NaN, a raw
NumPy error or a misleading message before its fix.  Grouped by the issue's classes; the
classes with their own module tests (0-4, 6-8, 13, 16) are covered there."""

from __future__ import annotations

import os
import sys
import types

import numpy as np
import pytest

import sgdsde as sd
from sgdsde import _threads, backends
from sgdsde._extras import MissingExtraError
from sgdsde.fokker_planck import Grid
from sgdsde.landscapes import DoubleWell, SphericalPSpin
from sgdsde.landscapes.networks import LinearRegression
from sgdsde.landscapes.toy import Quadratic, Rugged
from sgdsde.manifolds import Euclidean, Sphere
from sgdsde.measure import effective_sample_size, escape_rate, hessian_spectrum, histogram_entropy
from sgdsde.sgd import lyapunov_covariance
from sgdsde.sgd.noise import gradient_covariance, noise_to_signal, noise_trace
from sgdsde.theory import complexity, ou_moments, ou_transition
from sgdsde.theory.pspin import I1, complexity_by_index


def _regression():
    rng = np.random.default_rng(0)
    return LinearRegression(rng.normal(size=(12, 3)), rng.normal(size=12))


def _run(noise, m=4):
    """A short Euler-Maruyama run of the double well with the given noise model."""
    return sd.simulate(sd.LangevinSDE(DoubleWell(), noise=noise), sd.integrators.EulerMaruyama(),
                       np.zeros((m, 1)), dt=0.01, t1=0.05, seed=0, progress=False)


# ------------------------------------------------------------ class 5: NaN or unphysical values
def test_sphere_retract_of_the_origin_raises():
    sphere = Sphere(2.0)
    with pytest.raises(ValueError, match="particle 1 is the origin"):  # was NaN (0/0)
        sphere.retract(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(sphere.retract(np.array([[0.0, 3.0, 4.0]])), [[0.0, 1.2, 1.6]])


@pytest.mark.parametrize("fn", [noise_trace, gradient_covariance, noise_to_signal])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_gradient_noise_at_non_finite_parameters_raises(fn, bad):
    theta = np.zeros((2, 3))
    theta[1, 2] = bad
    with pytest.raises(ValueError, match=r"theta contains NaN or inf \(row 1\)"):  # was NaN
        fn(_regression(), theta)


def test_hessian_spectrum_at_non_finite_points_raises():
    h = SphericalPSpin(n=6, p=3, seed=0)
    x = h.manifold.random(2, seed=1)
    x[1, 0] = np.nan
    with pytest.raises(ValueError, match="point 1 contains NaN"):  # was LinAlgError
        hessian_spectrum(h, x)
    # flat space returned the constant Hessian's eigenvalues at a NaN point
    with pytest.raises(ValueError, match="point 0 contains NaN"):
        hessian_spectrum(Quadratic(np.eye(2)), np.array([[np.nan, 1.0]]))


@pytest.mark.parametrize("fn", [complexity, I1, lambda u, p: complexity_by_index(u, 0, p)])
def test_complexity_of_nan_energy_raises(fn):
    with pytest.raises(ValueError, match="u .energy per spin. must be finite"):  # was nan
        fn(np.nan, 3)
    with pytest.raises(ValueError, match="must be finite"):
        fn(np.array([-1.7, np.nan]), 3)


def test_lyapunov_covariance_refuses_an_indefinite_hessian():
    # Before: Σ = diag(0.05, -0.05), a negative variance along the unstable direction.
    with pytest.raises(ValueError, match="hessian must be positive definite.* -1"):
        lyapunov_covariance(np.diag([1.0, -1.0]), np.eye(2), 0.1)
    with pytest.raises(ValueError, match="positive definite"):
        lyapunov_covariance(np.diag([1.0, 0.0]), np.eye(2), 0.1)
    with pytest.raises(ValueError, match="batch_covariance must be positive semi-definite"):
        lyapunov_covariance(np.eye(2), np.diag([1.0, -1.0]), 0.1)
    # the accepted case is unchanged: A = diag(a), C = I gives Σ = η / (2a)
    np.testing.assert_allclose(lyapunov_covariance(np.diag([1.0, 4.0]), np.eye(2), 0.1),
                               np.diag([0.05, 0.0125]), rtol=1e-12)


def test_histogram_entropy_of_a_point_mass_raises():
    with pytest.raises(ValueError, match="point mass"):  # returned -ln 32 = -3.47 nats
        histogram_entropy(np.ones(100))
    with pytest.raises(ValueError, match="coordinate 1"):
        histogram_entropy(np.column_stack([np.arange(10.0), np.zeros(10)]))


def test_escape_rate_without_escapes_raises_like_the_mean():
    # returned (0, nan); mean_first_passage_time already raised
    with pytest.raises(ValueError, match=r"upper bound -ln\(0.05\)/sum\(t\) = 0.3"):
        escape_rate(np.full(5, 2.0), np.zeros(5, bool))  # -ln(0.05)/10 = 0.2996


def test_ou_moments_free_diffusion_limit_and_negative_times():
    mean, var = ou_moments(1.5, 0.0, 0.5, np.array([0.0, 2.0]))  # was nan (0/0)
    np.testing.assert_allclose(mean, [1.5, 1.5])
    np.testing.assert_allclose(var, [0.0, 2.0])  # 2 T t
    # continuous in k at 0: the k = 1e-9 variance agrees with 2Tt to O(kt)
    assert ou_moments(1.5, 1e-9, 0.5, 2.0)[1] == pytest.approx(2.0, rel=1e-8)
    with pytest.raises(ValueError, match="t must be finite and >= 0"):  # gave a negative variance
        ou_moments(1.0, 1.0, 0.5, -2.0)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        ou_moments(1.0, 1.0, -0.5, 1.0)
    # k = 0 in the transition: x + sqrt(2 T h) ξ (raised ZeroDivisionError)
    assert ou_transition(1.0, 0.0, 0.5, 0.1, 0.3) == pytest.approx(1.0 + np.sqrt(0.1) * 0.3)


def test_state_dependent_noise_must_be_a_product_with_xi():
    # a constant returned instead of B(x) ξ used to be broadcast into a deterministic drift
    with pytest.raises(ValueError, match="must return B.x. xi with the shape .4, 1. of x, got a float"):
        _run(sd.StateDependentNoise(lambda x, xi: 0.1, 1))
    with pytest.raises(ValueError, match="must be linear in xi"):
        _run(sd.StateDependentNoise(lambda x, xi: np.full_like(x, 0.1), 1))
    # a genuine product passes, and the check does not change the path (same seed, same noise)
    good = sd.StateDependentNoise(lambda x, xi: 0.3 * xi * (1 + x**2), 1)
    a, b = _run(good), _run(sd.MatrixNoise([[0.3]]))
    np.testing.assert_allclose(a.final, b.final, rtol=0.2)  # x ≈ 0: B(x) ≈ 0.3 over t = 0.05
    assert not np.array_equal(a.final, b.final)


# ---------------------------------------------- class 4 (remainder): arguments truncated or ignored
@pytest.mark.parametrize("cls", [DoubleWell, Rugged])
def test_non_integer_dimension_raises(cls):
    with pytest.raises(ValueError, match="dim must be an integer >= 1, got 2.5"):  # became 2
        cls(dim=2.5)
    with pytest.raises(ValueError, match="dim must be an integer >= 1"):
        Quadratic.isotropic(2.5)


@pytest.mark.parametrize("manifold", [Sphere(1.0, dim=3), Euclidean(dim=3)])
@pytest.mark.parametrize("count", [-1, 0, 2.5])
def test_random_points_need_a_positive_count(manifold, count):
    with pytest.raises(ValueError, match="n_particles must be an integer >= 1"):  # (0, 3) for -1
        manifold.random(count, seed=0)


# ------------------------------------------------------------ class 9: raw NumPy errors named
@pytest.mark.parametrize("matrix", [np.zeros((0, 0)), []])
def test_quadratic_of_an_empty_matrix_names_the_matrix(matrix):
    # was "zero-size array to reduction operation maximum which has no identity"
    with pytest.raises(ValueError, match="matrix must be a square matrix with at least one row"):
        Quadratic(matrix)


@pytest.mark.parametrize(("bounds", "n_cells", "match"), [
    ([(-1, 1), (0, 1)], (10, 10, 10), "bounds give 2 axis/axes, n_cells .* gives 3"),
    ((-1, 1), (10, 10), "bounds give 1 axis/axes, n_cells .* gives 2"),
    ([(-1, 1, 3), (0, 1)], (10, 10), "bounds must be .lower, upper. or a sequence of such pairs"),
])
def test_grid_whose_shape_and_bounds_disagree(bounds, n_cells, match):
    # was "operands could not be broadcast together with remapped shapes ..."
    with pytest.raises(ValueError, match=match):
        Grid(bounds, n_cells)


def test_state_dependent_noise_of_the_wrong_shape_names_the_callback():
    # was "x must have shape (n_particles, 1), got (4, 3)" from the landscape, a step later
    with pytest.raises(ValueError, match=r"noise callback .* shape \(4, 1\) of x, got shape \(4, 3\)"):
        _run(sd.StateDependentNoise(lambda x, xi: np.repeat(xi, 3, axis=1), 1))


def test_ou_transition_parameters():
    rng = np.random.default_rng(0)
    xi = rng.standard_normal(200_000)
    # k < 0 is the repelling OU process: Var = T (e^{2|k|h} − 1)/|k| (= 2.6 here), checked on
    # 2e5 normals: the sample variance has relative SE sqrt(2/n) = 0.3 %, tolerance 5 SE
    k, temperature, h = -1.0, 0.7, 0.5
    step = ou_transition(np.zeros_like(xi), k, temperature, h, xi)
    exact = temperature * np.expm1(2 * abs(k) * h) / abs(k)
    assert step.var() == pytest.approx(exact, rel=5 * np.sqrt(2 / xi.size))
    assert ou_transition(1.0, k, temperature, h, 0.0) == pytest.approx(np.e**0.5)
    for kwargs, match in [({"h": -0.1}, "h must be >= 0"),
                          ({"stiffness": np.nan}, "stiffness must be finite"),
                          ({"temperature": -1.0}, "temperature must be >= 0")]:
        args = {"stiffness": 1.0, "temperature": 0.5, "h": 0.1} | kwargs
        with pytest.raises(ValueError, match=match):
            ou_transition(1.0, args["stiffness"], args["temperature"], args["h"], 0.3)



def test_em_stationary_variance_checks_its_parameters():
    """k = -1, h = -0.5 passed the stability test 0 < k h < 2 and returned the negative
    variance -T/1.25; T = -1 gave a negative one too; h = 0 was called unstable."""
    from sgdsde.theory import em_stationary_variance

    assert em_stationary_variance(2.0, 0.3, 0.25) == pytest.approx(0.3 / (2.0 * 0.75), rel=1e-15)
    assert em_stationary_variance(2.0, 0.0, 0.25) == 0.0
    for args, match in [((-1.0, 0.5, -0.5), "stiffness"), ((1.0, -1.0, 0.1), "temperature"),
                        ((1.0, 0.5, 0.0), "h must be"), ((1.0, np.nan, 0.1), "temperature"),
                        ((1.0, 0.5, np.inf), "h must be"), ((1.0, 0.5, 2.5), "unstable")]:
        with pytest.raises(ValueError, match=match):
            em_stationary_variance(*args)

# ----------------------------------------------------------------- class 10: misleading messages
def test_nan_from_the_noise_callback_is_not_blamed_on_dt():
    # was DivergenceError "... The step dt = 0.01 is probably too large for this landscape"
    noise = sd.StateDependentNoise(lambda x, xi: np.where(x > -1, np.nan, 1.0) * xi, 1)
    with pytest.raises(ValueError, match="noise callback fn.x, xi. returned NaN or inf for particle 0 "
                                         "at a finite position"):
        _run(noise)


def test_effective_sample_size_of_a_short_trace_says_it_is_short():
    # [1, 2, 3] was blamed on anticorrelation; it is positively correlated, only too short
    with pytest.raises(ValueError, match="trace of 3 records is too short"):
        effective_sample_size(np.array([1.0, 2.0, 3.0]))


def test_cupy_installed_without_a_device_does_not_advise_installing(monkeypatch):
    """A CuPy whose runtime finds no device: the message says so, with no pip advice."""
    class CUDARuntimeError(RuntimeError):
        pass

    def no_device():
        raise CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(
        getDeviceCount=no_device, CUDARuntimeError=CUDARuntimeError))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.delitem(sys.modules, "sgdsde.backends.cupy_backend", raising=False)
    monkeypatch.setattr(backends, "_cache", {})
    with pytest.raises(ImportError, match="CuPy is installed but found no usable CUDA device") as info:
        backends.get_backend("cupy")
    assert "pip install" not in str(info.value)
    assert not isinstance(info.value, MissingExtraError)
    monkeypatch.delitem(sys.modules, "sgdsde.backends.cupy_backend", raising=False)


# --------------------------------------------------------- class 12: BLAS threads chosen by default
@pytest.mark.parametrize(("cores", "load", "threads"), [
    (2, 7.7, 1),     # the shared test machine: busy cores only contend
    (2, 0.3, 2),     # idle: every core
    (16, 7.5, 9),    # half busy: the 8 idle cores plus the calling thread
    (16, 0.0, 16),
    (4, 3.0, 2),
])
def test_automatic_blas_threads_rule(cores, load, threads):
    assert _threads.automatic_threads(cores, load) == threads


def test_blas_threads_override_and_environment(monkeypatch):
    for name in _threads._ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_threads, "_override", None)
    # with no environment and no override, the automatic rule applies to this machine's state
    monkeypatch.setattr(_threads, "_cores", lambda: 16)
    monkeypatch.setattr(os, "getloadavg", lambda: (7.5, 0.0, 0.0))
    assert sd.get_blas_threads() == 9
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert sd.get_blas_threads() is None  # the user's environment wins: BLAS is left alone
    sd.set_blas_threads(2)
    assert sd.get_blas_threads() == 2  # an explicit override wins over everything
    sd.set_blas_threads(None)
    assert sd.get_blas_threads() is None
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n_threads must be an integer >= 1 or None"):
            sd.set_blas_threads(bad)


def test_simulate_holds_the_blas_limit_only_during_the_call(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController().select(user_api="blas")
    if not controller.lib_controllers:
        pytest.skip("no BLAS library found by threadpoolctl")
    seen = []

    class Spy(Quadratic):
        def grad(self, x):
            seen.append({c.num_threads for c in threadpoolctl.ThreadpoolController()
                         .select(user_api="blas").lib_controllers})
            return super().grad(x)

    monkeypatch.setattr(_threads, "_override", 1)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        sd.simulate(sd.LangevinSDE(Spy(np.eye(2)), temperature=0.1), sd.integrators.Heun(),
                    np.zeros((3, 2)), dt=0.01, n_steps=3, seed=0, backend="numpy", progress=False)
        after = {c.num_threads for c in threadpoolctl.ThreadpoolController().select(user_api="blas")
                 .lib_controllers}
    assert seen and all(s == {1} for s in seen)
    assert after == {2}  # the caller's setting is restored


# ------------------------------------------------- class 17: demo figures and text follow the numbers
def _capture_figures(monkeypatch):
    """Replace the demo's figure writer by one that keeps each figure's axes (title, lines)."""
    import matplotlib

    matplotlib.use("Agg")
    from sgdsde import demo

    seen = {}

    def keep(fig, out, name):
        seen[name] = [(ax.get_title(), [len(line.get_xdata()) for line in ax.get_lines()])
                      for ax in fig.axes]
        return name

    monkeypatch.setattr(demo, "_save", keep)
    return demo, seen


def test_sgd_report_sentence_follows_the_test():
    from sgdsde.demo import _sgd_verdict

    # the case: "they agree to that floor" was printed beside KS p = 0.037
    sentence = _sgd_verdict(0.05, 8, w_sme=0.020, w_floor=0.016, p_value=0.037, loss_sgd=0.3, loss_sme=0.31)
    assert "differ beyond sampling noise" in sentence and "KS p = 0.037" in sentence
    sentence = _sgd_verdict(0.05, 8, w_sme=0.017, w_floor=0.016, p_value=0.41, loss_sgd=0.3, loss_sme=0.3)
    assert "indistinguishable" in sentence
    # a small KS p-value alone is not enough to claim agreement, nor a W1 far above the floor
    assert "differ" in _sgd_verdict(1.0, 8, 0.2, 0.01, 0.3, 0.3, 0.2)


def test_entropy_panel_titles_units_and_exact_curves(monkeypatch, tmp_path):
    demo, seen = _capture_figures(monkeypatch)
    lines = demo.entropy_study(tmp_path, scale=0.01, seed=0, progress=False)
    (entropy_title, entropy_lines), (free_title, free_lines) = seen["entropy.png"]
    assert entropy_title.endswith("(2000 particles)")  # was "(2000)", no unit
    assert free_title.startswith("Free energy F")  # was "Energy against entropy" over a T axis
    assert entropy_lines[0] == free_lines[0] == 91  # the exact curves, drawn through 6 points before
    assert len([row for row in lines if row.startswith("| 0.") or row.startswith("| 1.")]) == 6


def test_pspin_table_gives_the_reference_the_figure_draws(monkeypatch, tmp_path):
    demo, _ = _capture_figures(monkeypatch)
    rows = [row for row in demo.pspin_study(tmp_path, scale=0.01, seed=0, progress=False)
            if row.startswith("| 0.") or row.startswith("| 1.")]
    assert len(rows) == 3 and not any("—" in row for row in rows)  # "—" below T_d before
    assert "-1.6330 (threshold −E_∞)" in rows[0]  # T = 0: gradient descent
    assert "aging threshold E_th(T)" in rows[1]  # 0.7 T_d, where the figure draws E_th(T)
    assert "paramagnetic −1/T" in rows[2]
