"""Sweeps and sharded clouds on a LocalCluster of 2 worker processes (issue 11)."""

from __future__ import annotations

import _thread
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

import sgdsde as sd  # noqa: E402
from sgdsde.distributed import point_seed, simulate_sharded, sweep  # noqa: E402

# The study functions below live in this test module, which the workers cannot import:
# ship them by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def double_well_study(seed, temperature, n_particles, marks=None, delay=0.0):
    """Mean energy of a small double-well cloud; optionally leaves a mark per call."""
    if marks is not None:
        Path(marks, f"{temperature}-{n_particles}-{os.getpid()}-{seed}-{time.monotonic_ns()}").touch()
    time.sleep(delay)  # so that an interruption lands while points are still running
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature=temperature)
    x0 = np.full((n_particles, 1), -1.0)
    traj = sd.simulate(sde, sd.integrators.EulerMaruyama(), x0, dt=1e-2, n_steps=200, seed=seed,
                       progress=False, save=sd.SaveAt(every=200, observables={"e": "energy"}))
    return {"energy": float(traj.observables["e"][-1].mean()), "right": float((traj.final > 0).mean())}


def flaky_study(seed, k, marks):
    """Point 3 kills its worker the first time it runs; point 5 raises."""
    first = not Path(marks, f"started-{k}").exists()
    Path(marks, f"started-{k}").touch()
    if k == 3 and first:
        os.kill(os.getpid(), signal.SIGKILL)
    if k == 5:
        raise RuntimeError("bad point")
    Path(marks, f"done-{k}-{os.getpid()}-{len(os.listdir(marks))}").touch()
    return {"square": k * k, "seed_mod": seed % 1000}


def test_sharded_cloud_equals_local_run(client):
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(2), temperature=0.3)
    x0 = np.zeros((1001, 2))
    save = sd.SaveAt(every=50, observables={"energy": "energy", "mean": "mean"})
    kw = dict(dt=1e-2, n_steps=300, seed=7, save=save)
    local = sd.simulate(sde, sd.integrators.LeimkuhlerMatthews(), x0, progress=False, **kw)
    sharded = simulate_sharded(sde, sd.integrators.LeimkuhlerMatthews(), x0, client=client, n_shards=3, **kw)
    # the noise is a function of the global particle index: identical paths, bit for bit
    np.testing.assert_array_equal(sharded.final, local.final)
    np.testing.assert_array_equal(sharded.observables["energy"], local.observables["energy"])
    # the mean is recombined with shard sizes as weights: equal to rounding
    np.testing.assert_allclose(sharded.observables["mean"], local.observables["mean"], rtol=0, atol=1e-14)
    assert sharded.stats["n_shards"] == 3
    # the same through simulate(client=...)
    via_simulate = sd.simulate(sde, sd.integrators.LeimkuhlerMatthews(), x0, client=client, **kw)
    np.testing.assert_array_equal(via_simulate.final, local.final)


def test_sharded_sgd_ensemble_equals_local_run(client):
    """Minibatch SGD is a scheme of the driver, so it shards like any cloud: the batches are
    a function of the global run index (and a continued run's step counter travels too)."""
    data = sd.sgd.teacher_student(30, 3, label_noise=0.5, seed=1)
    sde = sd.LangevinSDE(sd.landscapes.LinearRegression(data.inputs, data.targets), temperature=0.0)
    scheme = sd.sgd.MinibatchSGD(batch_size=4, momentum=0.5)
    x0 = np.linspace(-1, 1, 40 * 3).reshape(40, 3)
    kw = dict(dt=0.05, n_steps=25, seed=3, backend="numpy", step0=10,
              save=sd.SaveAt(every=5, observables={"loss": "energy"}))
    local = sd.simulate(sde, scheme, x0, progress=False, **kw)
    sharded = sd.simulate(sde, scheme, x0, client=client, n_shards=3, **kw)
    np.testing.assert_array_equal(sharded.final, local.final)
    np.testing.assert_array_equal(sharded.final_velocity, local.final_velocity)
    np.testing.assert_array_equal(sharded.observables["loss"], local.observables["loss"])
    assert sharded.step == local.step == 35


def test_sweep_equals_serial_runs(client):
    grid = {"temperature": [0.2, 0.3, 0.5, 0.8], "n_particles": [50, 80]}
    result = sweep(double_well_study, grid, client=client, seed=11, progress=False)
    assert len(result.params) == 8 and np.all(result.status == "ok")
    for i, p in enumerate(result.params):
        serial = double_well_study(seed=point_seed(11, i), **p)
        assert result.column("energy")[i] == serial["energy"]
        assert result.column("right")[i] == serial["right"]
    np.testing.assert_array_equal(result.column("temperature"), [0.2, 0.2, 0.3, 0.3, 0.5, 0.5, 0.8, 0.8])


def test_killed_worker_loses_no_finished_point_and_failures_are_reported(client, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    result = sweep(flaky_study, [{"k": k, "marks": str(marks)} for k in range(8)], client=client,
                   seed=1, store=tmp_path / "store", progress=False)
    ok = result.status == "ok"
    assert ok.sum() == 7 and result.status[5] == "error" and "bad point" in result.errors[5]
    np.testing.assert_array_equal(result.column("square")[ok], np.arange(8)[ok] ** 2)
    # every finished point was computed exactly once, the killed one after its resubmission
    done = sorted(f.name.split("-")[1] for f in marks.iterdir() if f.name.startswith("done-"))
    assert done == sorted(str(k) for k in range(8) if k != 5)


def _wait_until_started_points_are_stored(marks, store, quiet=1.0, timeout=120.0):
    """Wait until every point that started (left a mark) has stored its result, and no new
    point has started for ``quiet`` seconds.

    Tasks that were running when the sweep was interrupted are cancelled but finish on
    their workers (a running Python function cannot be stopped), storing their point.  A
    quiet period alone is not enough: on a loaded machine one point can take longer than it.
    """
    def started():
        return {m.name.split("-")[0] for m in marks.iterdir()}

    def stored():
        return {str(json.loads(f.read_text())["params"]["temperature"]) for f in store.glob("*.json")}

    seen, since, deadline = None, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = started()
        if now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since > quiet and now <= stored():
            return
        time.sleep(0.05)
    raise AssertionError(f"points {sorted(started() - stored())} started but never stored")


def test_interrupted_sweep_resumes_without_recomputing(client, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    store = tmp_path / "store"
    store.mkdir()
    # 8 points of >= 0.3 s on 2 workers: a Ctrl-C after 3 stored points lands mid-sweep
    points = [{"temperature": t, "n_particles": 40, "marks": str(marks), "delay": 0.3}
              for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)]

    def ctrl_c_after_three_points():  # what a user's Ctrl-C does to the main thread
        deadline = time.monotonic() + 60
        while len(list(store.glob("*.json"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        _thread.interrupt_main()

    watcher = threading.Thread(target=ctrl_c_after_three_points)
    watcher.start()
    first = sweep(double_well_study, points, client=client, seed=5, store=store, progress=False)
    watcher.join()
    assert first.interrupted and 3 <= np.sum(first.status == "ok") < len(points)
    _wait_until_started_points_are_stored(marks, store)
    stored = {str(json.loads(f.read_text())["params"]["temperature"]) for f in store.glob("*.json")}
    marks_before = set(marks.iterdir())
    assert len(stored) < len(points)
    full = sweep(double_well_study, points, client=client, seed=5, store=store, progress=False)
    assert not full.interrupted and np.all(full.status == "ok")
    # the points computed since are exactly those that were not stored: nothing finished is
    # redone.  (A set, not a count: on a loaded machine a cancelled task of the first sweep can
    # still start after the wait above, and the second sweep may then compute its point too.)
    computed_since = {m.name.split("-")[0] for m in set(marks.iterdir()) - marks_before}
    assert computed_since == {str(p["temperature"]) for p in points} - stored
    finished = first.status == "ok"
    np.testing.assert_array_equal(full.column("energy")[finished], first.column("energy")[finished])


def test_bad_input():
    with pytest.raises(ValueError, match="no points"):
        sweep(double_well_study, [], progress=False)
    with pytest.raises(TypeError, match="sequence of values"):
        sweep(double_well_study, {"temperature": 0.5}, progress=False)
    with pytest.raises(TypeError, match="callable"):
        sweep(42, {"temperature": [0.5]}, progress=False)


def test_sharding_needs_explicit_seed(client):
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature=0.3)
    with pytest.raises(ValueError, match="explicit seed"):
        simulate_sharded(sde, sd.integrators.EulerMaruyama(), np.zeros((10, 1)), client=client,
                         dt=0.01, n_steps=10)
    with pytest.raises(ValueError, match="n_shards"):
        simulate_sharded(sde, sd.integrators.EulerMaruyama(), np.zeros((10, 1)), client=client,
                         n_shards=11, dt=0.01, n_steps=10, seed=1)


# --- issue 15, class 1: results are keyed by the study, not only by the point ---------------

def square_study(seed, k):
    return {"value": k * k}


def cube_study(seed, k):
    return {"value": k * k * k}


def test_two_studies_on_one_client_get_their_own_values(client):
    grid = {"k": [2, 3, 4]}
    squares = sweep(square_study, grid, client=client, seed=0, progress=False)
    cubes = sweep(cube_study, grid, client=client, seed=0, progress=False)
    np.testing.assert_array_equal(squares.column("value"), [4, 9, 16])
    np.testing.assert_array_equal(cubes.column("value"), [8, 27, 64])


def test_a_store_written_by_another_study_is_refused(client, tmp_path):
    store = tmp_path / "store"
    first = sweep(square_study, {"k": [2, 3]}, client=client, seed=0, store=store, progress=False)
    np.testing.assert_array_equal(first.column("value"), [4, 9])
    with pytest.raises(ValueError, match=r"by study '.*square_study'.*runs '.*cube_study'"):
        sweep(cube_study, {"k": [2, 3]}, client=client, seed=0, store=store, progress=False)
    # the same study resumes from it (every point stored: no task runs)
    again = sweep(square_study, {"k": [2, 3]}, seed=0, store=store, progress=False)
    np.testing.assert_array_equal(again.column("value"), [4, 9])
    # an explicit name is an identity of its own
    with pytest.raises(ValueError, match="written by study"):
        sweep(square_study, {"k": [2, 3]}, seed=0, store=store, progress=False, name="squares v2")


def test_study_identity_tells_closures_and_partials_apart():
    import functools

    from sgdsde.distributed import _study_identity

    def power(n):
        def study(seed, k):
            return {"value": k ** n}
        return study

    assert _study_identity(power(2), None)[1] != _study_identity(power(3), None)[1]
    assert _study_identity(power(2), None) == _study_identity(power(2), None)
    assert (_study_identity(functools.partial(double_well_study, delay=0.1), None)[1]
            != _study_identity(functools.partial(double_well_study, delay=0.2), None)[1])
    assert _study_identity(square_study, None)[1] != _study_identity(cube_study, None)[1]

    # a factory passed into the study (sharpness_sweep's make_loss) is told apart by what it
    # closes over too, not only by its code: two data sizes must not share stored points
    def loss_factory(n_examples):
        def make_loss():
            return np.ones(n_examples)
        return make_loss

    def with_factory(make_loss):
        return functools.partial(double_well_study, marks=None, delay=0.0, n_particles=make_loss)

    assert (_study_identity(with_factory(loss_factory(100)), None)[1]
            != _study_identity(with_factory(loss_factory(500)), None)[1])
    assert _study_identity(with_factory(loss_factory(100)), None) == _study_identity(
        with_factory(loss_factory(100)), None)

    class Study:
        def __call__(self, seed, k):
            return {"value": k}

    with pytest.raises(TypeError, match="name="):
        _study_identity(Study(), None)
    assert _study_identity(Study(), "mine") == ("mine", _study_identity(square_study, "mine")[1])
    with pytest.raises(ValueError, match="name must be"):
        _study_identity(square_study, "")


# --- issue 15, class 16: no client: a thread cluster, fine in a script without a main guard ---

def test_sweep_without_client_runs_in_a_script_without_main_guard(tmp_path):
    import subprocess

    script = tmp_path / "unguarded.py"
    script.write_text(
        "from sgdsde.distributed import sweep\n"
        "def study(seed, k):\n"
        "    return {'value': 10 * k}\n"
        "result = sweep(study, {'k': [1, 2, 3]}, progress=False)\n"
        "print('values', result.column('value').tolist())\n")
    env = dict(os.environ, PYTHONPATH=str(Path(sd.__file__).parents[1]))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                          env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "values [10.0, 20.0, 30.0]" in done.stdout


# --- a study's module-level values are part of its identity -----------------------------------

_STUDY_SCALE = 2


def scaled_study(seed, k):
    return {"value": _STUDY_SCALE * k}


def test_a_store_written_with_other_module_level_values_is_refused(client, tmp_path):
    """A study that reads a module-level constant computes other results when the constant is
    edited; the store written before the edit used to be reused silently ([2, 4] instead of
    [3, 6])."""
    global _STUDY_SCALE
    from sgdsde.distributed import _study_identity

    store = tmp_path / "store"
    first = sweep(scaled_study, {"k": [1, 2]}, client=client, seed=0, store=store, progress=False)
    np.testing.assert_array_equal(first.column("value"), [2, 4])
    before = _study_identity(scaled_study, None)
    _STUDY_SCALE = 3
    try:
        assert _study_identity(scaled_study, None)[1] != before[1]
        with pytest.raises(ValueError, match="earlier version of the same study"):
            sweep(scaled_study, {"k": [1, 2]}, client=client, seed=0, store=store, progress=False)
        # computed in this process (a thread cluster): worker processes may hold the function
        # pickled with the old value
        fresh = sweep(scaled_study, {"k": [1, 2]}, seed=0, store=tmp_path / "new", progress=False)
        np.testing.assert_array_equal(fresh.column("value"), [3, 6])
    finally:
        _STUDY_SCALE = 2
    assert _study_identity(scaled_study, None) == before


@pytest.mark.parametrize("n_shards", [2.5, True, "2", 0])
def test_n_shards_is_checked_not_converted(client, n_shards):
    """n_shards=2.5 ran 2 shards and True one: a count that is not an integer >= 1 is refused."""
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature=0.3)
    with pytest.raises(ValueError, match=r"n_shards must be an integer >= 1"):
        sd.simulate(sde, sd.integrators.EulerMaruyama(), np.zeros((10, 1)), client=client,
                    n_shards=n_shards, dt=0.01, n_steps=10, seed=1)


def test_default_n_shards_fits_a_cloud_smaller_than_the_workers(client):
    """The default is one shard per worker thread (2 here): a one-particle cloud raised
    'n_shards must lie in [1, 1]' although no n_shards was given."""
    sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature=0.3)
    x0 = np.zeros((1, 1))
    kw = dict(dt=0.01, n_steps=10, seed=1, backend="numpy")
    sharded = sd.simulate(sde, sd.integrators.EulerMaruyama(), x0, client=client, **kw)
    local = sd.simulate(sde, sd.integrators.EulerMaruyama(), x0, progress=False, **kw)
    assert sharded.stats["n_shards"] == 1
    np.testing.assert_array_equal(sharded.final, local.final)


@pytest.mark.parametrize(("args", "error", "match"), [
    ((1.5, 0), TypeError, "seed must be an int"),
    ((True, 0), TypeError, "seed must be an int"),
    ((None, 0), TypeError, "seed must be an int"),
    ((-1, 0), ValueError, r"seed must lie in \[0, 2\*\*64\)"),
    ((0, 2.7), ValueError, "index must be an integer >= 0"),
    ((0, -1), ValueError, "index must be an integer >= 0"),
])
def test_point_seed_checks_its_arguments(args, error, match):
    """point_seed(1.5, i) was point_seed(1, i) and point_seed(0, 2.7) that of point 2: two
    different roots or points silently shared their seeds."""
    with pytest.raises(error, match=match):
        point_seed(*args)


def test_sweep_checks_seed_and_retries():
    for bad, error in ((1.5, TypeError), (-3, ValueError)):
        with pytest.raises(error, match="seed"):
            sweep(square_study, {"k": [1]}, seed=bad, progress=False)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="retries must be an integer >= 0"):
            sweep(square_study, {"k": [1]}, retries=bad, progress=False)
