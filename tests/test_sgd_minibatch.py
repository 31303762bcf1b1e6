"""Minibatch SGD ensembles: batch laws, reproducibility, update rules, stationary covariance."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.landscapes.networks import LinearRegression, TwoLayerMLP
from sgdsde.random import STREAM_USER
from sgdsde.results import DivergenceError
from sgdsde.sgd.data import teacher_student
from sgdsde.sgd.exact import additive_sgd_covariance, lyapunov_covariance, sgd_stationary_covariance
from sgdsde.sgd.minibatch import BatchSampler, InverseTimeDecay, StepDecay, run_sgd
from sgdsde.sgd.noise import gradient_covariance, noise_trace


@pytest.fixture(scope="module")
def regression():
    data = teacher_student(40, 3, label_noise=0.5, seed=11)
    return LinearRegression(data.inputs, data.targets)


def _within(estimate, expected, se, n_se=5.0):
    return np.all(np.abs(np.asarray(estimate) - np.asarray(expected)) <= n_se * np.asarray(se))


def test_with_replacement_indices_are_uniform():
    sampler = BatchSampler(10, 4, "with_replacement", seed=1, particles=np.arange(500))
    idx = np.concatenate([sampler.indices(k) for k in range(20)]).ravel()
    counts = np.bincount(idx, minlength=10)
    n = idx.size
    # each count is Binomial(n, 1/10): 5 standard errors, SE = sqrt(n p (1 - p))
    assert _within(counts, n / 10, np.sqrt(n * 0.1 * 0.9))


def test_without_replacement_batches_are_uniform_subsets():
    sampler = BatchSampler(7, 5, "without_replacement", seed=2, particles=np.arange(2000))
    idx = sampler.indices(3)
    assert all(len(set(row)) == 5 for row in idx)  # no repeats within a batch
    inclusion = np.bincount(idx.ravel(), minlength=7) / idx.shape[0]
    # every example is in a uniform 5-subset of 7 with probability 5/7; SE = sqrt(p(1-p)/M)
    assert _within(inclusion, 5 / 7, np.sqrt(5 / 7 * 2 / 7 / 2000))
    pair = np.mean(np.any(idx == 0, axis=1) & np.any(idx == 1, axis=1))
    p_pair = (5 * 4) / (7 * 6)  # both of two given examples in the subset
    assert _within(pair, p_pair, np.sqrt(p_pair * (1 - p_pair) / 2000))


def test_epoch_sampling_visits_every_example_once_per_epoch():
    sampler = BatchSampler(10, 3, "epoch", seed=3, particles=np.arange(4))
    assert sampler.batches_per_epoch == 3
    for epoch in range(3):
        seen = np.concatenate([sampler.indices(3 * epoch + s) for s in range(3)], axis=1)
        assert all(len(set(row)) == 9 for row in seen)
    first, second = sampler.indices(0), sampler.indices(3)
    assert not np.array_equal(first, second)  # a fresh permutation each epoch


def test_runs_do_not_depend_on_the_ensemble_size(regression):
    theta0 = np.zeros((6, 3))
    kwargs = dict(lr=0.1, batch_size=4, n_steps=30, seed=7, record_every=10)
    for sampling in ("with_replacement", "without_replacement", "epoch"):
        big = run_sgd(regression, theta0, sampling=sampling, **kwargs)
        shard = run_sgd(regression, theta0[:2], sampling=sampling, particle_offset=4, **kwargs)
        np.testing.assert_array_equal(big.final[4:], shard.final)
        np.testing.assert_array_equal(big.observables["loss"][:, 4:], shard.observables["loss"])
        again = run_sgd(regression, theta0, sampling=sampling, **kwargs)
        np.testing.assert_array_equal(big.final, again.final)
        assert not np.array_equal(big.final[0], big.final[1])  # independent runs


def test_updates_match_the_written_recursion(regression):
    """Momentum and a schedule, against a plain loop over the same batches."""
    theta0 = np.random.default_rng(0).normal(size=(3, 3))
    schedule = StepDecay(0.5, 4)
    traj = run_sgd(regression, theta0, lr=0.2, batch_size=5, n_steps=10, momentum=0.6,
                   schedule=schedule, seed=9, record_every=5)
    sampler = BatchSampler(regression.n_examples, 5, "with_replacement", 9, np.arange(3))
    theta, v, t = theta0.copy(), np.zeros_like(theta0), 0.0
    for k in range(10):
        rate = 0.2 * schedule(k)
        v = 0.6 * v - rate * regression.batch_grad(theta, sampler.indices(k))
        theta = theta + v
        t += rate
    np.testing.assert_allclose(traj.final, theta, atol=1e-13)
    np.testing.assert_allclose(traj.final_velocity, v, atol=1e-13)
    np.testing.assert_allclose(traj.ts[-1], t, rtol=1e-13)
    np.testing.assert_array_equal(traj.steps, [0, 5, 10])
    np.testing.assert_allclose(traj.observables["loss"][-1], regression.energy(theta), atol=1e-13)
    assert traj.stats["n_grad_evals"] == 10
    assert InverseTimeDecay(10.0)(10) == 0.5


def test_one_step_gradient_noise_has_covariance_sigma(regression):
    """Σ = D/B with replacement and (1 − B/n) D'/B without: the one-step law of real SGD."""
    m, lr, batch = 20000, 0.1, 8
    theta0 = np.tile([0.3, -0.2, 0.5], (m, 1))
    full = regression.grad(theta0[:1])[0]
    for sampling, replacement in (("with_replacement", True), ("without_replacement", False)):
        traj = run_sgd(regression, theta0, lr=lr, batch_size=batch, n_steps=1, sampling=sampling, seed=5)
        g = (theta0 - traj.final) / lr
        # mean: 5 standard errors per coordinate, SE = sd/sqrt(M)
        assert _within(g.mean(axis=0), full, g.std(axis=0) / np.sqrt(m))
        # trace of the covariance: 5 SE of the mean of |g − ∇f|², SE = sd/sqrt(M)
        sq = np.sum((g - full) ** 2, axis=1)
        expected = noise_trace(regression, theta0[:1], batch, replacement=replacement)[0]
        assert _within(sq.mean(), expected, sq.std() / np.sqrt(m))
    # the two laws differ measurably: the finite-population factor is (1 - B/n) n/(n-1) = 0.82
    ratio = (noise_trace(regression, theta0[:1], batch, replacement=False)
             / noise_trace(regression, theta0[:1], batch, replacement=True))[0]
    np.testing.assert_allclose(ratio, (1 - batch / 40) * 40 / 39, rtol=1e-12)


@pytest.mark.parametrize("svag", [2, 4])
def test_svag_estimator_has_mean_grad_and_covariance_l_sigma(regression, svag):
    m, lr, batch = 20000, 0.1, 4
    theta0 = np.tile([0.3, -0.2, 0.5], (m, 1))
    traj = run_sgd(regression, theta0, lr=lr, batch_size=batch, n_steps=1, svag=svag, seed=6)
    g = (theta0 - traj.final) * svag / lr  # the step is η/l
    full = regression.grad(theta0[:1])[0]
    assert _within(g.mean(axis=0), full, g.std(axis=0) / np.sqrt(m))  # 5 SE, SE = sd/sqrt(M)
    sq = np.sum((g - full) ** 2, axis=1)
    expected = svag * noise_trace(regression, theta0[:1], batch)[0]
    assert _within(sq.mean(), expected, sq.std() / np.sqrt(m))
    np.testing.assert_allclose(traj.ts[-1], lr / svag)


def test_svag_with_l_equal_one_is_sgd(regression):
    theta0 = np.zeros((4, 3))
    a = run_sgd(regression, theta0, lr=0.1, batch_size=4, n_steps=20, seed=1, svag=1)
    b = run_sgd(regression, theta0, lr=0.1, batch_size=4, n_steps=20, seed=1)
    np.testing.assert_array_equal(a.final, b.final)


@pytest.mark.parametrize("sampling, replacement",
                         [("with_replacement", True), ("without_replacement", False)])
def test_stationary_covariance_matches_the_exact_discrete_formula(regression, sampling, replacement):
    """An ensemble at stationarity against the exact (multiplicative-noise) formula."""
    m, lr, batch = 4000, 0.2, 4
    theta_star = regression.minimizer()
    # 300 steps = 30 relaxation times of the slowest mode (λ_min ≈ 0.53, η λ_min ≈ 0.1 per step)
    traj = run_sgd(regression, np.tile(theta_star, (m, 1)), lr=lr, batch_size=batch, n_steps=300,
                   sampling=sampling, seed=21, record_every=300)
    delta = traj.final - theta_star
    products = np.einsum("mi,mj->mij", delta, delta)
    exact = sgd_stationary_covariance(regression, lr, batch, replacement=replacement)
    # every entry within 5 standard errors, SE = sd(δ_i δ_j)/sqrt(M) (independent runs)
    assert _within(products.mean(axis=0), exact, products.std(axis=0) / np.sqrt(m))
    # the additive-noise formula misses the multiplicative part (8 % of the trace at η = 0.2):
    # resolvably wrong here
    hess = regression.hessian(theta_star[None])[0]
    sigma_b = gradient_covariance(regression, theta_star[None], batch, replacement=replacement)[0]
    additive = additive_sgd_covariance(hess, sigma_b, lr)
    se_trace = np.trace(products, axis1=1, axis2=2).std() / np.sqrt(m)
    assert abs(np.trace(additive) - np.trace(exact)) > 3 * se_trace


def test_additive_sgd_covariance_checks_its_matrices_like_the_lyapunov_one():
    # Before: a non-symmetric hessian was read through its lower triangle only (eigh), so
    # [[2, 0.5], [0, 1]] silently gave the answer of diag(2, 1); a batch covariance of the
    # wrong shape failed inside matmul, and -I gave a negative "covariance".
    with pytest.raises(ValueError, match="hessian must be symmetric"):
        additive_sgd_covariance(np.array([[2.0, 0.5], [0.0, 1.0]]), np.eye(2), 0.1)
    with pytest.raises(ValueError, match=r"hessian \(2, 2\) and batch_covariance \(3, 3\)"):
        additive_sgd_covariance(np.eye(2), np.eye(3), 0.1)
    with pytest.raises(ValueError, match="batch_covariance must be positive semi-definite"):
        additive_sgd_covariance(np.eye(2), -np.eye(2), 0.1)
    with pytest.raises(ValueError, match="batch_covariance must be symmetric"):
        additive_sgd_covariance(np.eye(2), np.array([[1.0, 0.5], [0.0, 1.0]]), 0.1)
    # the accepted case is unchanged: A = diag(a), C = I gives Σ = η / (2a − η a²)
    np.testing.assert_allclose(additive_sgd_covariance(np.diag([1.0, 4.0]), np.eye(2), 0.1),
                               np.diag([0.1 / 1.9, 0.1 / 6.4]), rtol=1e-12)


def test_lyapunov_prediction_is_first_order_in_eta(regression):
    """|Σ_exact − Σ_Lyapunov| / |Σ| halves with η: an O(η) correction, no O(1) offset."""
    theta_star = regression.minimizer()
    hess = regression.hessian(theta_star[None])[0]
    sigma_b = gradient_covariance(regression, theta_star[None], 4)[0]
    errors = []
    for lr in (0.04, 0.02, 0.01, 0.005):
        exact = sgd_stationary_covariance(regression, lr, 4)
        lyap = lyapunov_covariance(hess, sigma_b, lr)
        errors.append(np.linalg.norm(exact - lyap) / np.linalg.norm(exact))
    slope = np.polyfit(np.log([0.04, 0.02, 0.01, 0.005]), np.log(errors), 1)[0]
    assert 0.9 < slope < 1.1
    assert errors[-1] < 0.01


def test_divergence_is_reported(regression):
    with pytest.raises(DivergenceError, match="blew up") as info:
        run_sgd(regression, np.ones((2, 3)), lr=50.0, batch_size=4, n_steps=200, seed=1)
    assert info.value.trajectory.step < 200


def test_growth_by_orders_of_magnitude_is_a_divergence(regression):
    """lr = 2 on this least-squares problem is unstable: the runs used to finish with a loss
    of 1.8e55 and completed=True; now |θ| passing 1e8 (max_growth times the initial scale 1)
    stops them, with a message saying so."""
    with pytest.raises(DivergenceError, match="grew past max_growth = 1e") as info:
        run_sgd(regression, np.ones((2, 3)), lr=2.0, batch_size=4, n_steps=300, seed=1, record_every=50)
    assert 0 < info.value.step < 300
    assert np.all(np.abs(info.value.trajectory.final) < 1e10)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="max_abs must be a number > 0"):
            run_sgd(regression, np.ones((2, 3)), lr=0.1, batch_size=4, n_steps=3, seed=1, max_abs=bad)


def test_bad_input_is_named(regression):
    theta0 = np.zeros((2, 3))
    ok = dict(lr=0.1, batch_size=4, n_steps=2, seed=0)
    with pytest.raises(ValueError, match="batch_size = 41 is larger than the data set"):
        run_sgd(regression, theta0, **{**ok, "batch_size": 41})
    for lr in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="lr must be a finite number > 0"):
            run_sgd(regression, theta0, **{**ok, "lr": lr})
    with pytest.raises(ValueError, match=r"theta0 must have shape \(n_particles, 3\)"):
        run_sgd(regression, np.zeros((2, 4)), **ok)
    with pytest.raises(ValueError, match="theta0 contains NaN"):
        run_sgd(regression, np.full((2, 3), np.nan), **ok)
    with pytest.raises(ValueError, match="momentum"):
        run_sgd(regression, theta0, momentum=1.0, **ok)
    with pytest.raises(ValueError, match="sampling must be one of"):
        run_sgd(regression, theta0, sampling="bootstrap", **ok)
    with pytest.raises(ValueError, match="stream must be an integer >= STREAM_USER"):
        run_sgd(regression, theta0, stream=STREAM_USER - 1, **ok)
    with pytest.raises(ValueError, match="svag"):
        run_sgd(regression, theta0, svag=0, **ok)
    with pytest.raises(ValueError, match="schedule gave a learning rate"):
        run_sgd(regression, theta0, schedule=lambda k: -1.0, **ok)
    with pytest.raises(TypeError, match="EmpiricalRisk"):
        run_sgd(object(), theta0, **ok)


def test_mlp_training_decreases_the_loss():
    data = teacher_student(64, 5, task="classification", label_noise=0.1, seed=4)
    mlp = TwoLayerMLP(data.inputs, data.targets, hidden=8, activation="relu")
    traj = run_sgd(mlp, mlp.init_params(8, seed=0), lr=0.2, batch_size=8, n_steps=200, seed=1,
                   record_every=200)
    loss = traj.observables["loss"]
    assert loss.shape == (2, 8) and np.all(loss[-1] < 0.6 * loss[0])


def test_traces_at_chosen_steps(regression):
    theta0 = np.zeros((3, 3))
    traj = run_sgd(regression, theta0, lr=0.1, batch_size=4, n_steps=10, seed=4, record_at=[7, 3],
                   record_params=True, observables={"first": lambda th: th[:, 0]})
    np.testing.assert_array_equal(traj.steps, [0, 3, 7])
    short = run_sgd(regression, theta0, lr=0.1, batch_size=4, n_steps=3, seed=4)
    np.testing.assert_array_equal(traj.observables["position"][1], short.final)
    np.testing.assert_array_equal(traj.observables["first"][1], short.final[:, 0])
    np.testing.assert_allclose(traj.observables["grad_norm"][1],
                               np.linalg.norm(regression.grad(short.final), axis=1))
    with pytest.raises(ValueError, match="record_at must be integer steps"):
        run_sgd(regression, theta0, lr=0.1, batch_size=4, n_steps=10, record_at=[11])


@pytest.mark.parametrize("offset", [2.7, "3", -1, True])
def test_particle_offset_is_an_integer_not_truncated(regression, offset):
    # Before: run_sgd and the quadratic models' run_sgd passed int(particle_offset) on, so 2.7
    # ran as particle 2's batches and "3" as particle 3's, silently (simulate itself refuses
    # a non-integer offset).
    from sgdsde.sgd.exact import GaussianQuadraticModel

    with pytest.raises(ValueError, match="particle_offset must be an integer >= 0"):
        run_sgd(regression, np.zeros((2, 3)), lr=0.1, batch_size=4, n_steps=2, seed=0,
                particle_offset=offset)
    with pytest.raises(ValueError, match="particle_offset must be an integer >= 0"):
        GaussianQuadraticModel(np.eye(2)).run_sgd(np.zeros((2, 2)), 0.1, 2, seed=0, particle_offset=offset)


@pytest.mark.parametrize("name, record_params", [("loss", False), ("grad_norm", False), ("position", True)])
def test_user_observables_may_not_replace_the_built_ins(regression, name, record_params):
    # Before: observables={"loss": fn} silently replaced the full-batch loss by fn's values,
    # and with it the loss-based divergence check (settings["loss_scale"] became None).
    with pytest.raises(ValueError, match=f"observable {name!r} is a built-in record of run_sgd"):
        run_sgd(regression, np.zeros((2, 3)), lr=0.1, batch_size=4, n_steps=2, seed=0,
                record_params=record_params, observables={name: lambda theta: theta[:, 0]})
    # "position" is free when the parameters are not recorded
    traj = run_sgd(regression, np.zeros((2, 3)), lr=0.1, batch_size=4, n_steps=2, seed=0, record_every=1,
                   observables={"position": lambda theta: theta[:, 0]})
    assert traj.observables["position"].shape == (3, 2)


def test_record_params_must_be_a_bool(regression):
    # Before: read by truthiness, so record_params="no" recorded the parameters
    with pytest.raises(TypeError, match="record_params must be True or False"):
        run_sgd(regression, np.zeros((2, 3)), lr=0.1, batch_size=4, n_steps=2, seed=0, record_params="no")


def test_record_every_and_record_at_together_raise(regression):
    # Before: record_every was silently ignored when record_at was given (and still written
    # to settings["save_every"])
    with pytest.raises(ValueError, match="record_every and record_at"):
        run_sgd(regression, np.zeros((2, 3)), lr=0.1, batch_size=4, n_steps=10, seed=0,
                record_every=5, record_at=[3, 7])
    # each alone behaves as before: record_every defaults to 100
    traj = run_sgd(regression, np.zeros((2, 3)), lr=0.1, batch_size=4, n_steps=250, seed=0)
    assert traj.steps.tolist() == [0, 100, 200, 250] and traj.settings["save_every"] == 100
    traj = run_sgd(regression, np.zeros((2, 3)), lr=0.1, batch_size=4, n_steps=10, seed=0, record_at=[3, 7])
    assert traj.steps.tolist() == [0, 3, 7]


@pytest.mark.parametrize("kwargs, match", [
    ({"n_examples": 10.5}, "n_examples must be an integer >= 1"),
    ({"particles": np.array([0.5, 1.5])}, "particles must be integers >= 0"),
    ({"particles": np.array([-1, 0])}, "particles must be integers >= 0"),
])
def test_batch_sampler_checks_its_counts(kwargs, match):
    # Before: n_examples = 10.5 drew from 10 examples and particles [0.5, 1.5] were truncated
    # to [0, 1], silently
    args = {"n_examples": 10, "batch_size": 4, "sampling": "with_replacement", "seed": 1,
            "particles": np.arange(2)} | kwargs
    with pytest.raises(ValueError, match=match):
        BatchSampler(**args)


@pytest.mark.parametrize("every", [1.5, True, "4"])
def test_step_decay_every_is_a_whole_number_of_steps(every):
    # Before: every = 1.5 decayed at steps 2, 3, 5, 6, ... (k // 1.5) and True every step
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        StepDecay(0.5, every)


@pytest.mark.parametrize("hessian", [np.diag([1.0, -1.0]), np.diag([1.0, 0.0])])
def test_additive_sgd_covariance_blames_the_hessian_not_the_rate(hessian):
    # Before: "SGD has no stationary state for lr = 0.1 (needs lr < 2/λ_max = 2)", a
    # contradiction: the cause is the non-positive curvature, which no learning rate fixes
    with pytest.raises(ValueError, match="hessian must be positive definite"):
        additive_sgd_covariance(hessian, np.eye(2), 0.1)
