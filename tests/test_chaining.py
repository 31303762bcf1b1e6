"""Chaining runs: a continued run draws new noise, a resumed run the identical noise.

The noise of step n is a function of (seed, particle, n): ``continue_from=`` starts the new
run's counter at the old run's last step, so the increments of the two runs are independent
(the old behaviour, restarting the counter at 0 with the same seed, replayed them); ``resume=``
finishes an interrupted run along its own path and compares the SDE's parameters.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sgdsde._fingerprint import fingerprint
from sgdsde.integrators import BAOAB, EulerMaruyama, LeimkuhlerMatthews
from sgdsde.landscapes.toy import DoubleWell, Quadratic
from sgdsde.save import SaveAt
from sgdsde.sde import LangevinSDE
from sgdsde.simulate import simulate

M = 10_000


def _run(sde, x0=None, integrator=None, **kw):
    return simulate(sde, integrator or EulerMaruyama(), x0, dt=0.1, seed=kw.pop("seed", 5),
                    backend=kw.pop("backend", "numpy"), progress=False, **kw)


def test_chained_runs_have_independent_increments_and_replayed_ones_do_not():
    """Almost free diffusion (k = 1e-4 over t = 1: the drift couples the runs by ~1e-4): the
    correlation over M particles of run a's increment with the next run's is within 4 SE of
    zero, SE = 1/sqrt(M) = 0.01; restarting the counter with the same seed (the old way of
    chaining) replays a's increments: correlation > 0.99."""
    sde = LangevinSDE(Quadratic([[1e-4]]), temperature=0.5)
    x0 = np.zeros((M, 1))
    a = _run(sde, x0, n_steps=10)
    chained = _run(sde, continue_from=a, n_steps=10)
    replayed = _run(sde, a.final, n_steps=10, t0=1.0)
    da = (a.final - x0)[:, 0]
    assert abs(np.corrcoef(da, (chained.final - a.final)[:, 0])[0, 1]) < 4 / math.sqrt(M)
    assert np.corrcoef(da, (replayed.final - a.final)[:, 0])[0, 1] > 0.99


@pytest.mark.parametrize("integrator", [EulerMaruyama(), LeimkuhlerMatthews(), BAOAB()],
                         ids=lambda i: i.name)
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_chain_of_runs_is_the_one_long_run(integrator, backend):
    """Chaining continues the noise stream, so 7 + 13 steps are the 20-step run bit for bit
    (Leimkuhler–Matthews included: its step n reads the normals of n and n + 1)."""
    sde = LangevinSDE(DoubleWell(), temperature=0.3, friction=1.0 if integrator.underdamped else None)
    x0 = np.linspace(-1.2, 1.2, 70)[:, None]
    save = SaveAt(every=5, observables={"e": "energy"})
    whole = _run(sde, x0, integrator, n_steps=20, backend=backend, save=save)
    first = _run(sde, x0, integrator, n_steps=7, backend=backend, save=save)
    rest = _run(sde, None, integrator, continue_from=first, n_steps=13, backend=backend, save=save)
    assert np.array_equal(rest.final, whole.final)
    if integrator.underdamped:
        assert np.array_equal(rest.final_velocity, whole.final_velocity)
    assert rest.settings["step0"] == 7 and rest.step == 20
    np.testing.assert_array_equal(rest.steps, [7, 12, 17, 20])  # absolute, every 5 from step0
    np.testing.assert_allclose(rest.ts, [0.7, 1.2, 1.7, 2.0], rtol=1e-12)
    np.testing.assert_array_equal(rest.observables["e"][-1], whole.observables["e"][-1])
    until = _run(sde, None, integrator, continue_from=first, t1=2.0, backend=backend)  # t1 absolute
    assert np.array_equal(until.final, whole.final)


def test_step0_starts_the_noise_counter():
    sde = LangevinSDE(DoubleWell(), temperature=0.3)
    x0 = np.zeros((50, 1))
    ahead = _run(sde, x0, n_steps=4, step0=100)
    assert ahead.step == 104 and ahead.settings["step0"] == 100
    assert not np.array_equal(ahead.final, _run(sde, x0, n_steps=4).final)
    with pytest.raises(ValueError, match="step0"):
        _run(sde, x0, n_steps=4, step0=-1)


def test_continue_from_refuses_what_it_takes_from_the_run():
    sde = LangevinSDE(DoubleWell(), temperature=0.3)
    a = _run(sde, np.zeros((5, 1)), n_steps=3)
    for bad in ({"x0": np.zeros((5, 1))}, {"t0": 1.0}, {"step0": 3}, {"particle_offset": 2}):
        with pytest.raises(ValueError, match="continue_from"):
            simulate(sde, EulerMaruyama(), dt=0.1, n_steps=2, continue_from=a, backend="numpy",
                     progress=False, **bad)
    with pytest.raises(ValueError, match="seed"):
        simulate(sde, EulerMaruyama(), dt=0.1, n_steps=2, continue_from=a, seed=6, progress=False)
    with pytest.raises(ValueError, match="not both"):
        simulate(sde, EulerMaruyama(), dt=0.1, n_steps=2, continue_from=a, resume=a, progress=False)


def test_resume_continues_the_identical_path():
    sde = LangevinSDE(DoubleWell(), temperature=0.3)
    x0 = np.linspace(-1, 1, 40)[:, None]
    whole = _run(sde, x0, n_steps=30, save=SaveAt(every=10))
    part = _run(sde, x0, n_steps=12, save=SaveAt(every=10))
    done = simulate(sde, EulerMaruyama(), dt=0.1, resume=part, n_steps=30, backend="numpy", progress=False)
    assert np.array_equal(done.final, whole.final)
    np.testing.assert_array_equal(done.steps, [0, 10, 12, 20, 30])  # 12: where the part ended


def test_resume_compares_the_sdes_parameters_not_its_repr():
    """Two quadratics of one dimension print alike; resuming with the other matrix raises."""
    a, b = Quadratic([[1.0, 0.2], [0.2, 2.0]]), Quadratic([[1.0, 0.0], [0.0, 2.0]])
    assert repr(a) == repr(b)
    part = _run(LangevinSDE(a, temperature=0.3), np.zeros((4, 2)), n_steps=5)
    with pytest.raises(ValueError, match="fingerprints differ"):
        simulate(LangevinSDE(b, temperature=0.3), EulerMaruyama(), dt=0.1, resume=part, n_steps=8,
                 progress=False)
    with pytest.raises(ValueError, match="fingerprints differ"):
        simulate(LangevinSDE(a, temperature=0.3 + 1e-15), EulerMaruyama(), dt=0.1, resume=part,
                 n_steps=8, progress=False)
    same = simulate(LangevinSDE(Quadratic([[1.0, 0.2], [0.2, 2.0]]), temperature=0.3), EulerMaruyama(),
                    dt=0.1, resume=part, n_steps=8, backend="numpy", progress=False)
    assert same.step == 8


def test_fingerprint_sees_arrays_numbers_and_nesting():
    base = LangevinSDE(Quadratic([[1.0]], center=[0.5]), temperature=0.3)
    assert fingerprint(base) == fingerprint(LangevinSDE(Quadratic([[1.0]], center=[0.5]), temperature=0.3))
    assert fingerprint(base) != fingerprint(LangevinSDE(Quadratic([[1.0]], center=[0.25]), temperature=0.3))
    assert fingerprint(np.zeros(3)) != fingerprint(np.zeros(3, dtype=np.float32))
    assert fingerprint({"a": 1}) != fingerprint({"a": 1.0})


def test_fingerprint_of_a_class_is_its_name_even_if_it_looks_like_an_array():
    # a class whose metaclass has __array__ (and a generic repr), and which carries shape and
    # dtype class attributes, passes the array-like test; it must still be hashed as a class,
    # by its qualified name, not as np.asarray(cls) (a 0-d object array hashed by its repr, the
    # same for every class of this metaclass)
    class ArrayLikeMeta(type):
        def __array__(cls, dtype=None, copy=None):
            return np.zeros(2)

        def __repr__(cls):
            return "<array-like class>"

    class First(metaclass=ArrayLikeMeta):
        shape, dtype = (2,), np.dtype(np.float64)

    class Second(metaclass=ArrayLikeMeta):
        shape, dtype = (2,), np.dtype(np.float64)

    assert fingerprint(First) != fingerprint(Second)
    assert fingerprint(First) != fingerprint(np.zeros(2))
    assert fingerprint({"model": First}) == fingerprint({"model": First})


def test_fingerprint_of_a_large_array_is_sampled_but_sees_its_shape_and_values():
    from sgdsde import _fingerprint

    big = np.zeros(_fingerprint.FULL_ARRAY + 10)
    other = big.copy()
    other[0] = 1.0  # index 0 is always in the strided sample
    assert fingerprint(big) != fingerprint(other)
    assert fingerprint(big) != fingerprint(np.zeros(_fingerprint.FULL_ARRAY + 11))


def test_every_public_seed_defaults_to_none_or_zero():
    """The library-wide seed policy (sgdsde.random): seed=None is a fresh OS seed, estimators
    default to seed=0; no public function or class invents another default."""
    import importlib
    import inspect
    import pkgutil

    import sgdsde

    found, other = 0, []
    for info in pkgutil.walk_packages(sgdsde.__path__, "sgdsde."):
        if any(part.startswith("_") for part in info.name.split(".")) or "cupy" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            if inspect.isclass(obj):
                functions = [v for v in vars(obj).values() if inspect.isfunction(v)]
            else:
                functions = [obj] if inspect.isfunction(obj) else []
            for fn in functions:
                p = inspect.signature(fn).parameters.get("seed")
                if p is None or p.default is inspect.Parameter.empty:
                    continue
                found += 1
                if p.default is not None and p.default != 0:
                    other.append(f"{info.name}.{name}: seed={p.default!r}")
    assert found > 10 and not other, other


_NOISE_SCALE = 0.5  # a module-level value read by _global_noise


def _noise_with_scale(sigma):
    return lambda x, xi: sigma * np.sqrt(1.0 + x * x) * xi


def _global_noise(x, xi):
    return _NOISE_SCALE * xi


def test_resume_refuses_a_noise_function_with_other_parameters():
    """A state-dependent noise given by a closure (or by defaults, or by a module-level value)
    defines the dynamics through those values: resuming a run with sigma = 0.5 under the same
    code with sigma = 5 must raise, not continue with ten times the noise."""
    from sgdsde.sde import StateDependentNoise

    def sde(fn):
        return LangevinSDE(DoubleWell(), noise=StateDependentNoise(fn, 1))

    part = _run(sde(_noise_with_scale(0.5)), np.zeros((3, 1)), n_steps=5)
    with pytest.raises(ValueError, match="fingerprints differ"):
        simulate(sde(_noise_with_scale(5.0)), EulerMaruyama(), resume=part, n_steps=10, progress=False)
    done = simulate(sde(_noise_with_scale(0.5)), EulerMaruyama(), resume=part, n_steps=10,
                    backend="numpy", progress=False)
    assert done.step == 10

    def with_default(x, xi, s=0.5):
        return s * xi

    def with_other_default(x, xi, s=5.0):
        return s * xi

    with_other_default.__qualname__ = with_default.__qualname__
    assert fingerprint(sde(with_default)) != fingerprint(sde(with_other_default))
    before = fingerprint(sde(_global_noise))
    global _NOISE_SCALE
    _NOISE_SCALE = 5.0
    try:
        assert fingerprint(sde(_global_noise)) != before
    finally:
        _NOISE_SCALE = 0.5
    assert fingerprint(sde(_global_noise)) == before


def test_fingerprint_of_a_function_is_the_same_in_another_process():
    """A function with a nested code object (a list comprehension before Python 3.12, an inner
    function) has the same fingerprint in every process: a checkpoint written by one session
    can be resumed by the next (the repr of a code object holds its memory address)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import numpy as np\n"
            "from sgdsde._fingerprint import fingerprint\n"
            "def fn(x, xi):\n"
            "    def inner(v):\n"
            "        return v\n"
            "    return inner(sum([xi for _ in range(1)]))\n"
            "print(fingerprint(fn))\n")
    root = str(Path(__file__).resolve().parents[1])
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=root, env={**os.environ, "PYTHONPATH": root}).stdout
            for _ in range(2)}
    assert len(runs) == 1 and len(next(iter(runs)).strip()) == 64


def test_resume_with_the_same_state_dependent_noise_object():
    """The noise callback's one-time linearity check flips a flag during the first run; that
    flag is not a parameter of the dynamics, so resuming with the very SDE object the run was
    started with is accepted (it was refused: 'fingerprints differ')."""
    from sgdsde.sde import StateDependentNoise

    sde = LangevinSDE(DoubleWell(), noise=StateDependentNoise(_noise_with_scale(0.5), 1))
    before = fingerprint(sde)
    part = _run(sde, np.zeros((3, 1)), n_steps=5)
    assert fingerprint(sde) == before
    done = simulate(sde, EulerMaruyama(), resume=part, n_steps=10, backend="numpy", progress=False)
    whole = _run(LangevinSDE(DoubleWell(), noise=StateDependentNoise(_noise_with_scale(0.5), 1)),
                 np.zeros((3, 1)), n_steps=10)
    assert done.step == 10 and np.array_equal(done.final, whole.final)


def test_resume_applies_the_runs_own_max_growth():
    """max_growth has a default (1e8), so a resumed run used it instead of the run's own
    max_growth = 2: the whole run blew up, the resumed one ran on to its end."""
    from sgdsde.results import DivergenceError

    sde = LangevinSDE(Quadratic([[0.01]]), temperature=1.0)
    x0 = np.zeros((20, 1))
    with pytest.raises(DivergenceError):
        _run(sde, x0, n_steps=500, max_growth=2.0)
    part = _run(sde, x0, n_steps=2, max_growth=2.0)
    assert part.settings["max_growth"] == 2.0
    with pytest.raises(DivergenceError):
        simulate(sde, EulerMaruyama(), resume=part, n_steps=500, backend="numpy", progress=False)
    # given explicitly, it still overrides the run's own (as max_abs= does)
    done = simulate(sde, EulerMaruyama(), resume=part, n_steps=500, backend="numpy", progress=False,
                    max_growth=1e8)
    assert done.completed and done.settings["max_growth"] == 1e8


def test_continue_from_refuses_a_run_that_blew_up():
    """The final cloud of a diverged run holds the diverged particles frozen at their first bad
    values; continuing from it re-based the blow-up bound on them (the initial scale became
    their size) and the new run went on silently with blown-up particles."""
    from sgdsde.results import DivergenceError

    sde = LangevinSDE(DoubleWell(), temperature=1.0)
    with pytest.raises(DivergenceError) as caught:
        _run(sde, np.zeros((50, 1)), n_steps=500, max_growth=1.5)
    blown = caught.value.trajectory
    assert blown.stats["diverged"]
    with pytest.raises(ValueError, match="continue_from: the run blew up"):
        _run(sde, continue_from=blown, n_steps=1, max_growth=1.5)
