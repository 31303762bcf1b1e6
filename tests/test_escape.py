"""First passages, censoring, escape rates; Kramers and the exact MFPT quadrature."""

import numpy as np
import pytest
from scipy import integrate, special

from sgdsde.integrators.overdamped import EulerMaruyama
from sgdsde.landscapes.toy import DoubleWell
from sgdsde.measure.escape import (
    FirstPassageRecorder,
    escape_rate,
    first_passage_times,
    mean_first_passage_time,
    survival_function,
)
from sgdsde.save import SaveAt
from sgdsde.sde import LangevinSDE
from sgdsde.simulate import simulate
from sgdsde.theory.kramers import kramers_rate, mean_first_passage_time_1d


def double_well(x, h=1.0):
    return h * (x * x - 1) ** 2


# ------------------------------------------------------------------------ crossing detection
def test_first_passage_interpolates_between_records():
    ts = np.linspace(0.0, 10.0, 11)
    speeds = np.array([0.5, 0.3, 0.05, 1.0])
    trace = -1.0 + speeds[None, :] * ts[:, None]
    trace[:, 3] = 2.0  # already across at the start
    times, observed = first_passage_times(ts, trace, threshold=0.2)
    assert observed.tolist() == [True, True, False, True]
    # Linear paths: the interpolated crossing is exact, (threshold + 1) / speed.
    assert times[:2] == pytest.approx(1.2 / speeds[:2])
    assert times[2] == 10.0  # censored at the last record
    assert times[3] == 0.0
    down, seen = first_passage_times(ts, -trace[:, :2], threshold=-0.2, direction="down")
    assert seen.all() and down == pytest.approx(times[:2])


def test_recorder_matches_the_saved_trace():
    sde = LangevinSDE(DoubleWell(dim=2), temperature=0.3)
    x0 = np.tile([-1.0, 0.0], (200, 1))
    recorder = FirstPassageRecorder(threshold=0.0, coordinate=0)
    traj = simulate(sde, EulerMaruyama(), x0, dt=0.01, n_steps=1000, progress=False, seed=3,
                    save=SaveAt(every=5, observables={"x0": lambda x: x[:, 0].copy(), "crossed": recorder}))
    times, observed = recorder.passage_times(traj.ts)
    ref_times, ref_observed = first_passage_times(traj.ts, traj.observables["x0"], threshold=0.0)
    assert 0 < observed.sum() < observed.size
    np.testing.assert_array_equal(observed, ref_observed)
    np.testing.assert_allclose(times, ref_times, rtol=1e-12)
    # The recorder's per-record output is the fraction crossed so far.
    assert traj.observables["crossed"][-1] == pytest.approx(observed.mean())
    assert np.all(np.diff(traj.observables["crossed"]) >= 0)


# -------------------------------------------------------------------------- censored data
def censored_exponentials(rate, n, censor_at, seed):
    rng = np.random.default_rng(seed)
    t = rng.exponential(1 / rate, size=n)
    c = np.minimum(censor_at, rng.uniform(0, 3 * censor_at, size=n))  # fixed and random censoring
    return np.minimum(t, c), t <= c


def test_escape_rate_mle_with_censoring():
    rate = 0.5
    times, observed = censored_exponentials(rate, 4000, censor_at=2.0, seed=1)
    assert 0.3 < observed.mean() < 0.7
    est, se = escape_rate(times, observed)
    assert est == pytest.approx(rate, abs=5 * se)  # SE = λ̂/sqrt(events) (Fisher information)
    # Dropping the censored runs biases the rate upward, far beyond the noise.
    assert rate + 10 * se < 1 / times[observed].mean()
    mean, mean_se = mean_first_passage_time(times, observed)
    assert mean == pytest.approx(1 / est) and mean_se == pytest.approx(mean / np.sqrt(observed.sum()))


def test_kaplan_meier_follows_the_exponential_survival():
    rate = 0.5
    times, observed = censored_exponentials(rate, 4000, censor_at=2.0, seed=2)
    sf = survival_function(times, observed)
    grid = np.array([0.25, 0.5, 1.0, 1.5, 1.9])
    # Greenwood intervals at the 5-sigma level contain the exact survival e^{−λt}.
    ci = sf.confidence_interval(confidence_level=special.erf(5 / np.sqrt(2)))
    exact = np.exp(-rate * grid)
    assert np.all(ci.low.evaluate(grid) <= exact) and np.all(exact <= ci.high.evaluate(grid))
    # Without censoring it is one minus the empirical CDF.
    t = np.array([3.0, 1.0, 2.0, 4.0])
    assert survival_function(t, np.ones(4, bool)).evaluate([0.5, 1.5, 3.5]) == pytest.approx([1, 0.75, 0.25])


def test_uncensored_mean_and_no_escape():
    t = np.array([1.0, 2.0, 3.0, 6.0])
    mean, se = mean_first_passage_time(t, np.ones(4, bool))
    assert mean == 3.0 and se == pytest.approx(np.std(t, ddof=1) / 2)
    with pytest.raises(ValueError, match=r"no passage observed .* upper bound .* = 0\.25"):
        escape_rate(t, np.zeros(4, bool))  # -ln(0.05)/12 = 0.2496; it returned (0, nan)
    with pytest.raises(ValueError, match="unbounded"):
        mean_first_passage_time(t, np.zeros(4, bool))


# -------------------------------------------------------------------------- theory oracles
def test_mfpt_quadrature_of_free_diffusion():
    # U = 0 with a reflecting wall at 0: τ(x) = (b² − x²) / (2T).
    tau = mean_first_passage_time_1d(lambda x: np.zeros_like(x), 0.7, [0.0, 0.5, 1.5], 2.0, reflecting=0.0)
    assert tau == pytest.approx((4.0 - np.array([0.0, 0.25, 2.25])) / 1.4, rel=1e-10)


@pytest.mark.parametrize("temperature", [0.5, 0.2])
def test_mfpt_quadrature_against_nested_quad(temperature):
    def inner(y):
        return integrate.quad(lambda z: np.exp(-double_well(z) / temperature), -np.inf, y, limit=200)[0]
    exact = integrate.quad(lambda y: np.exp(double_well(y) / temperature) * inner(y), -1.0, 1.0,
                           limit=200, points=[0.0])[0] / temperature
    assert mean_first_passage_time_1d(double_well, temperature, -1.0, 1.0) == pytest.approx(exact, rel=1e-9)
    # Leftward escape is the mirror image.
    assert mean_first_passage_time_1d(double_well, temperature, 1.0, -1.0) == pytest.approx(exact, rel=1e-9)


def test_kramers_rate_is_approached_as_temperature_goes_to_zero():
    h = 1.0
    temps = np.array([0.1, 0.05, 0.025, 0.0125, 0.00625])
    ratio = np.array([kramers_rate(8 * h, -4 * h, h, t)
                      * mean_first_passage_time_1d(double_well, t, -1.0, 1.0) for t in temps])
    # k τ(−1 → +1) = 1 + (3/8) T/h + O(T²) (Laplace expansion about the well and the barrier).
    assert np.all(np.diff(ratio) < 0) and ratio[-1] == pytest.approx(1.0, abs=0.003)
    slope = (ratio - 1) / temps
    richardson = 2 * slope[1:] - slope[:-1]  # removes the O(T) remainder of the slope
    assert richardson[-1] == pytest.approx(3 / 8, abs=1e-3)
    assert np.all(np.abs(np.diff(richardson - 3 / 8)) < np.abs(richardson - 3 / 8)[:-1] + 1e-4)


# ------------------------------------------------------------------------- the simulation
def test_double_well_escape_times_match_the_exact_mfpt():
    temperature, n_particles, dt = 0.25, 2000, 0.01
    sde = LangevinSDE(DoubleWell(dim=1, barrier=1.0), temperature=temperature)
    recorder = FirstPassageRecorder(threshold=1.0)  # the bottom of the other well
    traj = simulate(sde, EulerMaruyama(), -np.ones((n_particles, 1)), dt=dt, t1=100.0, backend="numba",
                    progress=False, seed=11, save=SaveAt(every=10, observables={"escaped": recorder}))
    assert traj.stats["fused"]
    times, observed = recorder.passage_times(traj.ts)
    assert 0.6 < observed.mean() < 0.9  # a censored run
    mean, se = mean_first_passage_time(times, observed)
    exact = mean_first_passage_time_1d(double_well, temperature, -1.0, 1.0)
    # 4 standard errors (exponential MLE with censoring, SE = τ̂/sqrt(events), ≈ 2.5 %).  The
    # biases are far below it: record spacing 0.1 delays detection by ≈ 0.4 (0.6 %), Euler–
    # Maruyama at dt = 0.01 and the non-exponential start ≈ 0.1 % (20000 particles: 69.18 ± 0.49).
    assert mean == pytest.approx(exact, abs=4 * se)
    # At T/ΔU = 1/4 the measured rate is visibly below Kramers' (k τ_exact = 1.14: the O(T)
    # correction), and equal to 1/τ_exact.
    rate, rate_se = escape_rate(times, observed)
    assert rate == pytest.approx(1 / exact, abs=4 * rate_se)
    assert kramers_rate(8.0, -4.0, 1.0, temperature) > rate + 4 * rate_se


# ------------------------------------------------------------------------------- bad input
def test_bad_input_is_reported_clearly():
    ts = np.arange(5.0)
    with pytest.raises(ValueError, match="direction"):
        first_passage_times(ts, np.zeros((5, 2)), 1.0, direction="sideways")
    with pytest.raises(ValueError, match="one time per record"):
        first_passage_times(ts[:4], np.zeros((5, 2)), 1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        first_passage_times(ts[::-1], np.zeros((5, 2)), 1.0)
    with pytest.raises(ValueError, match="boolean"):
        escape_rate([1.0, 2.0], [1, 0])
    with pytest.raises(ValueError, match=">= t_start"):
        escape_rate([1.0, 2.0], np.array([True, False]), t_start=1.5)
    with pytest.raises(ValueError, match="temperature"):
        kramers_rate(8.0, -4.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="barrier_height"):
        kramers_rate(8.0, -4.0, -1.0, 0.1)
    with pytest.raises(ValueError, match="same side"):
        mean_first_passage_time_1d(double_well, 0.2, [-1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="reflecting"):
        mean_first_passage_time_1d(double_well, 0.2, -1.0, 1.0, reflecting=-0.5)
    with pytest.raises(ValueError, match="grow"):
        mean_first_passage_time_1d(lambda x: -x * x, 0.2, -1.0, 1.0)
    recorder = FirstPassageRecorder(1.0)
    with pytest.raises(ValueError, match="not seen"):
        recorder.passage_times(ts)
    recorder(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="one recorder per run"):
        recorder(np.zeros((4, 1)))
    with pytest.raises(ValueError, match="coordinate"):
        FirstPassageRecorder(1.0, coordinate=-1)


@pytest.mark.parametrize("fn", [escape_rate, mean_first_passage_time, survival_function])
@pytest.mark.parametrize("t_start", [np.nan, np.inf, "0"])
def test_non_finite_t_start_raises(fn, t_start):
    # escape_rate returned (nan, nan) for t_start = nan: t - nan passed the ">= t_start" test
    times, observed = np.array([1.0, 2.0, 3.0]), np.array([True, True, False])
    with pytest.raises((ValueError, TypeError), match="t_start must be a finite number"):
        fn(times, observed, t_start=t_start)


def test_recorder_refuses_nan_like_the_trace_function():
    # A NaN coordinate compared False with the threshold, so the particle was silently
    # reported as censored (never crossed); first_passage_times raises on the same trace.
    trace = np.array([[0.0, 0.0], [np.nan, 2.0]])
    with pytest.raises(ValueError, match="trace contains NaN"):
        first_passage_times([0.0, 1.0], trace, 1.0)
    recorder = FirstPassageRecorder(1.0)
    recorder(trace[0][:, None])
    with pytest.raises(ValueError, match="particle 0 .* NaN"):
        recorder(trace[1][:, None])


@pytest.mark.parametrize("threshold", [True, "1.0"])
def test_threshold_is_a_number_not_a_bool_or_string(threshold):
    # Before: float() read True as threshold 1 and "1.0" as 1.0 silently
    with pytest.raises(TypeError, match="threshold must be a finite number"):
        first_passage_times(np.arange(3.0), np.zeros((3, 2)), threshold)
    with pytest.raises(TypeError, match="threshold must be a finite number"):
        FirstPassageRecorder(threshold)


def test_mean_first_passage_time_bad_start_and_nan_energy_are_named():
    """An empty start raised IndexError ('index 0 is out of bounds'); an energy that is NaN
    somewhere was reported as 'energy does not grow on the reflecting side'."""
    def well(y):
        return (y * y - 1) ** 2

    with pytest.raises(ValueError, match="start must hold at least one point"):
        mean_first_passage_time_1d(well, 0.5, [], 1.0)

    def nan_well(y):
        return np.where(y > 0.5, np.nan, well(y))

    with pytest.raises(ValueError, match="energy.* finite"):
        mean_first_passage_time_1d(nan_well, 0.5, -1.0, 1.0, n_grid=1001)
