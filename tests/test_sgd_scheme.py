"""Minibatch SGD as a scheme of the one driver.

``run_sgd`` is now ``simulate(LangevinSDE(loss, temperature=0), MinibatchSGD(...), ...)``:
its numbers are checked against a frozen copy of the loop it used to run
(``tests/_sgd_reference_loop.py``), and the driver's machinery — continuing a run,
resuming from a checkpoint, divergence, sharding by particle offset — works for SGD.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _sgd_reference_loop import old_run_sgd

from sgdsde.landscapes.networks import LinearRegression, TwoLayerMLP
from sgdsde.results import DivergenceError
from sgdsde.save import SaveAt
from sgdsde.sde import LangevinSDE
from sgdsde.sgd.data import teacher_student
from sgdsde.sgd.minibatch import MinibatchSGD, StepDecay, run_sgd
from sgdsde.simulate import simulate


@pytest.fixture(scope="module")
def regression():
    data = teacher_student(40, 3, label_noise=0.5, seed=11)
    return LinearRegression(data.inputs, data.targets)


@pytest.fixture(scope="module")
def mlp():
    data = teacher_student(30, 4, label_noise=0.3, seed=2)
    return TwoLayerMLP(data.inputs, (data.targets > 0).astype(int), hidden=5, weight_decay=1e-3)


CASES = {
    "plain": {},
    "without_replacement": {"sampling": "without_replacement"},
    "epoch": {"sampling": "epoch", "batch_size": 6},
    "momentum": {"momentum": 0.7},
    "schedule": {"schedule": StepDecay(0.5, 7)},
    "svag": {"svag": 3},
    "momentum_schedule_params": {"momentum": 0.5, "schedule": StepDecay(0.8, 5), "record_params": True},
    "record_at": {"record_at": [3, 11, 17], "record_params": True},
}


def _same_trace(new, old):
    for name in ("final", "steps", "ts"):
        assert np.array_equal(getattr(new, name), getattr(old, name)), name
    if old.final_velocity is None:
        assert new.final_velocity is None
    else:
        assert np.array_equal(new.final_velocity, old.final_velocity)
    assert new.observables.keys() == old.observables.keys()
    for name in old.observables:
        assert np.array_equal(new.observables[name], old.observables[name]), name
    for key in ("n_steps", "n_grad_evals", "n_examples_seen"):
        assert new.stats[key] == old.stats[key], key


@pytest.mark.parametrize("case", sorted(CASES))
def test_run_sgd_through_the_driver_equals_the_old_loop_bit_for_bit(regression, case):
    kw = dict(lr=0.05, batch_size=4, n_steps=20, seed=9, record_every=6, particle_offset=3) | CASES[case]
    if "record_at" in kw:  # run_sgd refuses both (the old loop ignored record_every then)
        del kw["record_every"]
    theta0 = np.linspace(-1, 1, 8 * 3).reshape(8, 3)
    _same_trace(run_sgd(regression, theta0, **kw), old_run_sgd(regression, theta0, **kw))


def test_a_network_in_float32_and_numba_backend_equals_the_old_loop(mlp):
    theta0 = (0.3 * np.sin(np.arange(6 * mlp.dim))).reshape(6, mlp.dim).astype(np.float32)
    kw = dict(lr=0.1, batch_size=5, n_steps=15, seed=1, record_every=5, momentum=0.3)
    new = run_sgd(mlp, theta0, backend="numba", **kw)
    assert new.final.dtype == np.float32
    _same_trace(new, old_run_sgd(mlp, theta0, **kw))


def test_sgd_and_its_sme_are_two_calls_of_one_function(regression):
    """The same driver runs SGD (dt = η) and an SDE: both return one kind of Trajectory."""
    theta0 = np.zeros((16, 3))
    sgd = simulate(LangevinSDE(regression, temperature=0.0), MinibatchSGD(batch_size=4), theta0,
                   dt=0.05, n_steps=40, seed=3, backend="numpy", progress=False,
                   save=SaveAt(every=10, observables={"loss": "energy"}))
    assert sgd.settings["integrator"] == "MinibatchSGD" and sgd.completed
    np.testing.assert_allclose(sgd.ts, [0.0, 0.5, 1.0, 1.5, 2.0], rtol=1e-12)
    assert sgd.stats["n_grad_evals"] == 40 and not sgd.stats["fused"]


def test_chained_sgd_continues_the_batch_stream_and_resume_replays_it(regression, tmp_path):
    sde, scheme = LangevinSDE(regression, temperature=0.0), MinibatchSGD(batch_size=4, momentum=0.5)
    theta0 = np.zeros((10, 3))
    kw = dict(dt=0.05, seed=4, backend="numpy", progress=False, save=SaveAt(every=5))
    whole = simulate(sde, scheme, theta0, n_steps=30, **kw)
    first = simulate(sde, scheme, theta0, n_steps=12, **kw)
    rest = simulate(sde, scheme, continue_from=first, n_steps=18, **kw)
    assert np.array_equal(rest.final, whole.final)  # momentum buffers carried, batches continued
    assert np.array_equal(rest.final_velocity, whole.final_velocity)
    path = tmp_path / "sgd.npz"
    part = simulate(sde, scheme, theta0, n_steps=12, checkpoint=path, **kw)
    done = simulate(sde, scheme, resume=path, n_steps=30, dt=0.05, backend="numpy", progress=False)
    assert np.array_equal(done.final, whole.final) and part.step == 12
    with pytest.raises(ValueError, match="MinibatchSGD"):  # another scheme's parameters
        simulate(sde, MinibatchSGD(batch_size=5, momentum=0.5), resume=path, n_steps=30, dt=0.05,
                 progress=False)


def test_shards_of_an_sgd_ensemble_follow_the_runs_of_the_whole(regression):
    sde, scheme = LangevinSDE(regression, temperature=0.0), MinibatchSGD(batch_size=3)
    theta0 = np.linspace(-1, 1, 12 * 3).reshape(12, 3)
    kw = dict(dt=0.05, n_steps=9, seed=6, backend="numpy", progress=False)
    whole = simulate(sde, scheme, theta0, **kw)
    shard = simulate(sde, scheme, theta0[5:], particle_offset=5, **kw)
    assert np.array_equal(shard.final, whole.final[5:])


def test_sgd_divergence_is_reported_by_the_driver(regression):
    with pytest.raises(DivergenceError) as info:
        run_sgd(regression, np.full((4, 3), 1.0), lr=50.0, batch_size=4, n_steps=200, seed=1)
    assert info.value.trajectory.stats["diverged"] and info.value.step < 200


def test_the_scheme_refuses_what_it_cannot_run(regression):
    with pytest.raises(ValueError, match="temperature=0"):
        MinibatchSGD(4).check(LangevinSDE(regression, temperature=0.1))
    with pytest.raises(ValueError, match="batch_size = 50"):
        MinibatchSGD(50).check(LangevinSDE(regression, temperature=0.0))
    with pytest.raises(ValueError, match="momentum"):
        MinibatchSGD(4, momentum=1.0)
    assert math.isnan(MinibatchSGD(4).strong_order) and MinibatchSGD(4) == MinibatchSGD(4)
    assert MinibatchSGD(4) != MinibatchSGD(4, svag=2)


def _old_gaussian_model_sgd(model, x0, lr, n_steps, seed, record_every):
    """The loop GaussianQuadraticModel.run_sgd ran before it became a scheme (frozen copy)."""
    from sgdsde._random_numba import normals_into
    from sgdsde.sgd.exact import STREAM_ONLINE_SAMPLES

    x = np.array(x0, dtype=np.float64)
    particles = np.arange(x.shape[0], dtype=np.int64)
    gamma = np.empty_like(x)
    steps, losses = [0], [model.landscape.energy(x)]
    for k in range(n_steps):
        normals_into(gamma, seed, particles, k, STREAM_ONLINE_SAMPLES)
        x -= lr * ((x - gamma) @ model.hessian)
        if (k + 1) % record_every == 0 or k + 1 == n_steps:
            steps.append(k + 1)
            losses.append(model.landscape.energy(x))
    return x, np.asarray(steps), np.stack(losses)


def test_the_gaussian_model_runs_through_the_driver_bit_for_bit():
    from sgdsde.sgd.exact import GaussianQuadraticModel, ModelSGD

    model = GaussianQuadraticModel([[1.5, 0.5], [0.5, 1.5]])
    x0 = np.tile([3.0, -1.0], (50, 1))
    traj = model.run_sgd(x0, 0.2, 13, seed=8, record_every=5)
    x, steps, losses = _old_gaussian_model_sgd(model, x0, 0.2, 13, 8, 5)
    assert np.array_equal(traj.final, x) and np.array_equal(traj.steps, steps)
    assert np.array_equal(traj.observables["loss"], losses)
    np.testing.assert_allclose(traj.ts, 0.2 * steps, rtol=1e-15)
    assert traj.settings["integrator"] == "ModelSGD" and traj.stats["n_grad_evals"] == 13
    with pytest.raises(ValueError, match="temperature=0"):
        ModelSGD(model).check(LangevinSDE(model.landscape, temperature=0.1))
