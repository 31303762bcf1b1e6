"""Labelled results (sgdsde.labelled): trajectories and sweeps as xarray datasets, netCDF round trips."""

from __future__ import annotations

import sys

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")

import sgdsde as sd  # noqa: E402
from sgdsde.distributed import SweepResult, grid_points, point_seed  # noqa: E402
from sgdsde.labelled import sweep_to_xarray, trajectory_from_xarray, trajectory_to_xarray  # noqa: E402


def _roundtrip(ds, path):
    ds.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        return back.load()


def _assert_same_trajectory(a: sd.Trajectory, b: sd.Trajectory):
    np.testing.assert_array_equal(a.ts, b.ts)
    np.testing.assert_array_equal(a.steps, b.steps)
    np.testing.assert_array_equal(a.final, b.final)
    assert (a.final_velocity is None) == (b.final_velocity is None)
    if a.final_velocity is not None:
        np.testing.assert_array_equal(a.final_velocity, b.final_velocity)
    assert set(a.observables) == set(b.observables)
    for k in a.observables:
        np.testing.assert_array_equal(a.observables[k], b.observables[k])
    assert a.step == b.step and a.stats == b.stats and a.settings == b.settings


@pytest.fixture(scope="module")
def double_well_run():
    sde = sd.LangevinSDE(sd.landscapes.Quadratic(np.diag([1.0, 2.0, 3.0])), temperature=0.5)
    x0 = np.zeros((5, 3))
    save = sd.SaveAt(every=4, observables={"energy": "energy", "mean": "mean", "position": "position",
                                           "x0": lambda x: x[:, 0], "r2": lambda x: np.sum(x * x)})
    return sd.simulate(sde, sd.integrators.EulerMaruyama(), x0, dt=0.01, n_steps=12, seed=3,
                       save=save, backend="numpy", progress=False, particle_offset=7)


def test_trajectory_dims_coords_and_values(double_well_run):
    traj = double_well_run
    ds = traj.to_xarray()
    assert dict(ds.sizes) == {"time": 4, "particle": 5, "component": 3}
    assert ds["energy"].dims == ("time", "particle")
    assert ds["mean"].dims == ("time", "component")
    assert ds["position"].dims == ("time", "particle", "component")
    assert ds["x0"].dims == ("time", "particle")  # a callable with M entries: per particle
    assert ds["r2"].dims == ("time",)
    assert ds["final"].dims == ("particle", "component")
    np.testing.assert_array_equal(ds["time"], traj.ts)
    np.testing.assert_array_equal(ds["step"], [0, 4, 8, 12])
    np.testing.assert_array_equal(ds["particle"], np.arange(7, 12))  # global indices
    np.testing.assert_array_equal(ds["energy"].sel(particle=9), traj.observables["energy"][:, 2])
    np.testing.assert_array_equal(ds["position"].isel(time=-1), traj.final)
    assert ds.attrs["settings.seed"] == 3 and ds.attrs["settings.integrator"] == "EulerMaruyama"
    assert ds.attrs["stats.n_steps"] == 12 and ds.attrs["stats.diverged"] == 0  # bool as 0/1
    assert isinstance(ds.attrs["settings.save_observables"], str)  # nested: JSON


def test_trajectory_netcdf_roundtrip(double_well_run, tmp_path):
    back = _roundtrip(double_well_run.to_xarray(), tmp_path / "run.nc")
    _assert_same_trajectory(double_well_run, trajectory_from_xarray(back))


def test_velocity_and_sgd_trajectory_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3))
    risk = sd.landscapes.LinearRegression(x, x @ [1.0, -1.0, 0.5] + 0.1 * rng.standard_normal(16))
    traj = sd.sgd.run_sgd(risk, np.zeros((4, 3)), lr=0.1, batch_size=2, n_steps=6, seed=1,
                          record_every=3, record_params=True, momentum=0.5)
    assert traj.final_velocity is not None
    ds = trajectory_to_xarray(traj)
    assert ds["loss"].dims == ("time", "particle")
    assert ds["position"].dims == ("time", "particle", "component")
    assert ds["final_velocity"].dims == ("particle", "component")
    _assert_same_trajectory(traj, trajectory_from_xarray(_roundtrip(ds, tmp_path / "sgd.nc")))


def test_dims_override_and_bad_dims(double_well_run):
    ds = double_well_run.to_xarray(dims={"x0": ("time", "walker")})
    assert ds["x0"].dims == ("time", "walker")
    with pytest.raises(ValueError, match="does not have"):
        double_well_run.to_xarray(dims={"nope": ("time",)})
    with pytest.raises(ValueError, match="x0"):
        double_well_run.to_xarray(dims={"x0": ("time",)})


def test_bad_inputs():
    with pytest.raises(TypeError, match="Trajectory"):
        trajectory_to_xarray(np.zeros(3))
    with pytest.raises(ValueError, match="not an sgdsde trajectory"):
        trajectory_from_xarray(xr.Dataset({"a": ("x", [1.0])}))
    with pytest.raises(TypeError, match="SweepResult"):
        sweep_to_xarray({"a": 1})


def test_missing_extra_names_it(monkeypatch, double_well_run):
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray now raises ImportError
    with pytest.raises(ImportError, match=r"sgdsde\[xarray\]"):
        double_well_run.to_xarray()


def _grid_result():
    grid = {"temperature": [0.5, 0.1, 0.3], "n": [8, 16]}  # unsorted values keep their order
    params = grid_points(grid)
    status = np.array(["ok"] * len(params))
    status[3] = "error"
    errors = [None] * len(params)
    errors[3] = "RuntimeError: boom"
    energy = np.array([p["temperature"] * p["n"] for p in params], dtype=float)
    energy[3] = np.nan
    curve = np.empty(len(params), dtype=object)
    curve[:] = [np.arange(4.0) * p["n"] if s == "ok" else None for p, s in zip(params, status)]
    return SweepResult(params=params, seeds=np.array([point_seed(0, i) for i in range(len(params))],
                                                     dtype=np.uint64),
                       status=status, errors=errors, values={"energy": energy, "curve": curve},
                       seconds=np.linspace(0.1, 0.6, len(params)))


def test_sweep_grid_becomes_dimensions(tmp_path):
    result = _grid_result()
    ds = sweep_to_xarray(result)
    assert dict(ds.sizes) == {"temperature": 3, "n": 2, "curve_dim_0": 4}
    np.testing.assert_array_equal(ds["temperature"], [0.5, 0.1, 0.3])
    for i, p in enumerate(result.params):
        at = ds.sel(temperature=p["temperature"], n=p["n"])
        assert int(at["seed"]) == int(result.seeds[i])
        assert str(at["status"].values) == result.status[i]
        if result.status[i] == "ok":
            assert float(at["energy"]) == p["temperature"] * p["n"]
            np.testing.assert_array_equal(at["curve"], np.arange(4.0) * p["n"])
        else:
            assert np.isnan(float(at["energy"])) and np.all(np.isnan(at["curve"]))
            assert str(at["error"].values) == "RuntimeError: boom"
    back = _roundtrip(ds, tmp_path / "sweep.nc")
    xr.testing.assert_identical(back, ds)
    assert back["seed"].dtype == np.uint64


def test_sweep_explicit_points_use_point_dimension():
    params = [{"temperature": 0.5, "n": 8}, {"temperature": 0.2, "n": 32}]
    result = SweepResult(params=params, seeds=np.array([1, 2], dtype=np.uint64),
                         status=np.array(["ok", "ok"]), errors=[None, None],
                         values={"energy": np.array([1.0, 2.0])}, seconds=np.array([0.1, 0.2]))
    ds = sweep_to_xarray(result)
    assert ds["energy"].dims == ("point",)
    np.testing.assert_array_equal(ds["n"], [8, 32])
    assert ds["energy"].where(ds["n"] == 32, drop=True).item() == 2.0


def test_sweep_from_dask_sweep():
    pytest.importorskip("distributed")

    def study(seed, a, b):
        return {"sum": a + b, "vec": [a, b, float(seed % 7)]}

    result = sd.distributed.sweep(study, {"a": [1.0, 2.0], "b": [10.0, 20.0, 30.0]}, progress=False)
    ds = sweep_to_xarray(result)
    assert ds["sum"].dims == ("a", "b")
    np.testing.assert_array_equal(ds["sum"], [[11.0, 21.0, 31.0], [12.0, 22.0, 32.0]])
    np.testing.assert_array_equal(ds["vec"].sel(a=2.0, b=30.0)[:2], [2.0, 30.0])
