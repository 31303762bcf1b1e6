"""Labelled results: trajectories and sweeps as :class:`xarray.Dataset` objects.

Needs the optional extra ``sgdsde[xarray]`` (xarray and h5netcdf); the core never imports
xarray.  The datasets carry named dimensions and coordinates, so they select, plot and save
(netCDF through ``Dataset.to_netcdf(path, engine="h5netcdf")``, Zarr) with the tools people
already use:

* :func:`trajectory_to_xarray` (also :meth:`sgdsde.Trajectory.to_xarray`): dimensions
  ``time`` (the records; SDE time ``t``, with the step numbers as the coordinate ``step``),
  ``particle`` (global particle indices, so shards of one cloud line up) and ``component``
  (coordinates of a particle).  Each observable is a variable on ``time`` and whatever its
  extra axes are (``energy`` on ``(time, particle)``, ``mean`` on ``(time, component)``,
  ``position`` on ``(time, particle, component)``); the final state is ``final`` (and
  ``final_velocity``) on ``(particle, component)``.  :func:`trajectory_from_xarray` reads it
  back into an equal :class:`~sgdsde.Trajectory`.
* :func:`sweep_to_xarray`: a :class:`~sgdsde.distributed.SweepResult` on a Cartesian grid
  becomes a dataset with one dimension per parameter (the grid's axes, values in the order
  given); any other set of points becomes a dataset on a single ``point`` dimension with the
  parameters as coordinates.

Attributes.  netCDF attributes must be numbers, strings or arrays of them, so each entry of
``settings`` and ``stats`` becomes one attribute ``settings.<key>`` / ``stats.<key>``: numbers
and strings as they are, booleans as 0/1, None left out and anything nested as a JSON string.
The exact dictionaries also travel as JSON in ``sgdsde_metadata``, from which
:func:`trajectory_from_xarray` restores them unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from ._extras import require
from .results import Trajectory

__all__ = ["trajectory_to_xarray", "trajectory_from_xarray", "sweep_to_xarray"]

_META = "sgdsde_metadata"
_KIND = "sgdsde_kind"
# observable dimensions from the built-in observables of SaveAt (sgdsde.save)
_BUILTIN_DIMS = {"energy": ("particle",), "kinetic_energy": ("particle",), "mean": ("component",),
                 "position": ("particle", "component")}


def _xarray():
    return require("xarray", "xarray", "sgdsde.labelled (labelled results)")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return repr(o)


def _flat_attrs(prefix: str, entries: Mapping) -> dict:
    """netCDF-safe attributes ``prefix.key`` (module docstring)."""
    out = {}
    for key, value in entries.items():
        if value is None:
            continue
        if isinstance(value, (bool, np.bool_)):
            value = int(value)
        elif isinstance(value, np.generic):
            value = value.item()
        if not isinstance(value, (int, float, str)):
            value = json.dumps(value, default=_json_default)
        out[f"{prefix}.{key}"] = value
    return out


def _observable_dims(name: str, value: np.ndarray, kind, n_particles: int, dim: int,
                     given: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Dimension names of an observable recorded as (n_records, ...)."""
    extra = value.shape[1:]
    if name in given:
        dims = tuple(given[name])
        if len(dims) != value.ndim:
            raise ValueError(f"dims[{name!r}] = {dims} names {len(dims)} dimension(s), but observable "
                             f"{name!r} has shape {value.shape} ({value.ndim} dimensions, time first)")
        return dims
    if kind in _BUILTIN_DIMS:
        return ("time", *_BUILTIN_DIMS[kind])
    # a callable observable: per-particle values first (SaveAt's documented convention),
    # then per-component ones; anything else gets its own dimension
    dims = ["time"]
    for axis, size in enumerate(extra):
        if axis == 0 and size == n_particles:
            dims.append("particle")
        elif size == dim and "component" not in dims:
            dims.append("component")
        else:
            dims.append(f"{name}_dim_{axis}")
    return tuple(dims)


def trajectory_to_xarray(trajectory: Trajectory, dims: Mapping[str, Sequence[str]] | None = None):
    """A :class:`~sgdsde.Trajectory` as an :class:`xarray.Dataset` (module docstring).

    Parameters
    ----------
    trajectory : Trajectory
        The result of :func:`sgdsde.simulate` or :func:`sgdsde.sgd.run_sgd`.
    dims : mapping of str to sequence of str, optional
        Dimension names of observables, time first, e.g. ``{"x0": ("time", "particle")}``.
        Needed only where the default guess is wrong: an observable computed by a callable is
        put on ``particle`` if its first extra axis has M entries, else on ``component`` if it
        has d entries (so with M = d a per-component callable observable needs ``dims``).

    Returns
    -------
    xarray.Dataset
        Dimensions ``time`` (n_records), ``particle`` (M), ``component`` (d); coordinates
        ``time`` (SDE time, float), ``step`` (on ``time``, int64) and ``particle`` (global
        indices); variables ``final``, ``final_velocity`` (underdamped only) and one per
        observable; attributes ``settings.*``, ``stats.*``, ``step`` (step number of
        ``final``) and the exact metadata as JSON.

    Raises
    ------
    ImportError
        Without xarray, naming the extra ``sgdsde[xarray]``.
    TypeError
        If ``trajectory`` is not a Trajectory.
    ValueError
        If ``dims`` names an unknown observable or the wrong number of dimensions.
    """
    xr = _xarray()
    if not isinstance(trajectory, Trajectory):
        raise TypeError(f"trajectory must be an sgdsde Trajectory, got {type(trajectory).__name__}")
    given = dict(dims or {})
    unknown = sorted(set(given) - set(trajectory.observables))
    if unknown:
        raise ValueError(f"dims names observables the trajectory does not have: {unknown}; "
                         f"it has {sorted(trajectory.observables)}")
    m, d = trajectory.final.shape
    offset = int(trajectory.settings.get("particle_offset", 0) or 0)
    kinds = trajectory.settings.get("save_observables") or {}
    data_vars = {"final": (("particle", "component"), np.array(trajectory.final))}
    if trajectory.final_velocity is not None:
        data_vars["final_velocity"] = (("particle", "component"), np.array(trajectory.final_velocity))
    for name, value in trajectory.observables.items():
        value = np.array(value)
        if value.shape[:1] != trajectory.ts.shape:
            raise ValueError(f"observable {name!r} has shape {value.shape}: its first axis must be the "
                             f"{trajectory.ts.size} records")
        if name in data_vars or name in ("time", "step", "particle", "component"):
            raise ValueError(f"observable name {name!r} clashes with a dimension or variable of the dataset")
        # simulate records which observables are built-ins; run_sgd's "position" is one too
        kind = kinds[name] if name in kinds else (name if name in _BUILTIN_DIMS else None)
        data_vars[name] = (_observable_dims(name, value, kind, m, d, given), value)
    attrs = {_KIND: "trajectory", "step": int(trajectory.step)}
    attrs.update(_flat_attrs("settings", trajectory.settings))
    attrs.update(_flat_attrs("stats", trajectory.stats))
    attrs[_META] = json.dumps({"step": trajectory.step, "stats": trajectory.stats,
                               "settings": trajectory.settings}, default=_json_default)
    coords = {"time": ("time", np.array(trajectory.ts), {"long_name": "SDE time t = t0 + step·dt"}),
              "step": ("time", np.array(trajectory.steps), {"long_name": "absolute step number"}),
              "particle": ("particle", np.arange(offset, offset + m, dtype=np.int64),
                           {"long_name": "global particle index"}),
              "component": ("component", np.arange(d, dtype=np.int64))}
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def trajectory_from_xarray(dataset) -> Trajectory:
    """The :class:`~sgdsde.Trajectory` a dataset of :func:`trajectory_to_xarray` came from.

    Works on a dataset read back from netCDF (``xarray.open_dataset``): arrays, observables,
    ``step``, ``stats`` and ``settings`` are restored exactly (floats bit for bit).

    Raises
    ------
    ValueError
        If ``dataset`` was not written by :func:`trajectory_to_xarray`.
    """
    xr = _xarray()
    if not isinstance(dataset, xr.Dataset) or dataset.attrs.get(_KIND) != "trajectory" \
            or _META not in dataset.attrs:
        raise ValueError("dataset is not an sgdsde trajectory (no sgdsde_kind = 'trajectory' and "
                         "sgdsde_metadata attributes); was it written by trajectory_to_xarray?")
    meta = json.loads(dataset.attrs[_META])
    skip = {"final", "final_velocity"}
    observables = {k: dataset[k].values for k in dataset.data_vars if k not in skip}
    velocity = dataset["final_velocity"].values if "final_velocity" in dataset.data_vars else None
    return Trajectory(ts=dataset["time"].values, steps=dataset["step"].values, observables=observables,
                      final=dataset["final"].values, final_velocity=velocity, step=int(meta["step"]),
                      stats=meta["stats"], settings=meta["settings"])


def _grid_axes(params: list[dict]) -> dict[str, list] | None:
    """The axes of a Cartesian grid in grid order (``grid_points``), or None if not one."""
    if not params:
        return None
    names = list(params[0])
    if not names or any(list(p) != names for p in params):
        return None
    axes: dict[str, list] = {n: [] for n in names}
    for p in params:
        for n in names:
            if not any(_same_value(p[n], v) for v in axes[n]):
                axes[n].append(p[n])
    if int(np.prod([len(v) for v in axes.values()])) != len(params):
        return None
    # grid_points enumerates the product with the last name varying fastest
    for i, p in enumerate(np.ndindex(*[len(v) for v in axes.values()])):
        if not all(_same_value(params[i][n], axes[n][j]) for n, j in zip(names, p)):
            return None
    return axes


def _same_value(a, b) -> bool:
    try:
        return bool(np.all(np.asarray(a) == np.asarray(b))) and np.shape(a) == np.shape(b)
    except (TypeError, ValueError):
        return a is b


def _result_array(name: str, column: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """A results column as an array (n_points, ...) and the names of its extra dimensions."""
    if column.dtype != object:
        return column, ()
    entries = [np.asarray(v) for v in column if v is not None]
    shapes = {e.shape for e in entries}
    if len(shapes) != 1 or any(e.dtype.kind not in "biuf" for e in entries):
        raise ValueError(f"result {name!r} is not a number or an array of one shape at every point "
                         f"(shapes {sorted(shapes)}); it cannot be labelled")
    shape = shapes.pop()
    out = np.full((column.size, *shape), np.nan)
    for i, v in enumerate(column):
        if v is not None:
            out[i] = np.asarray(v, dtype=float)
    return out, tuple(f"{name}_dim_{k}" for k in range(len(shape)))


def sweep_to_xarray(result):
    """A :class:`~sgdsde.distributed.SweepResult` as an :class:`xarray.Dataset`.

    Parameters
    ----------
    result : SweepResult
        The return value of :func:`sgdsde.distributed.sweep`.

    Returns
    -------
    xarray.Dataset
        On a Cartesian grid (every combination of the parameter values, in the order
        :func:`~sgdsde.distributed.grid_points` makes them): one dimension per parameter,
        with the values as coordinates.  Otherwise one dimension ``point`` with each
        parameter as a coordinate on it.  Variables: one per result (NaN where a point failed
        or did not run; array results get extra dimensions ``<name>_dim_k``), ``seed``
        (uint64), ``status`` (``"ok"``, ``"error"``, ``"missing"``), ``error`` (the message,
        empty if none) and ``seconds``; attribute ``interrupted`` (0/1).

    Raises
    ------
    ImportError
        Without xarray, naming the extra ``sgdsde[xarray]``.
    TypeError
        If ``result`` is not a SweepResult.
    ValueError
        If a result is neither a number nor an array of one shape at every point.
    """
    from .distributed import SweepResult

    xr = _xarray()
    if not isinstance(result, SweepResult):
        raise TypeError(f"result must be a SweepResult from sgdsde.distributed.sweep, "
                        f"got {type(result).__name__}")
    n = len(result.params)
    axes = _grid_axes(result.params)
    if axes is not None:
        point_dims = tuple(axes)
        shape = tuple(len(v) for v in axes.values())
        coords = {k: (k, np.asarray(v)) for k, v in axes.items()}
    else:
        point_dims, shape = ("point",), (n,)
        coords = {"point": ("point", np.arange(n))}
        names = sorted({k for p in result.params for k in p})
        for k in names:
            if any(k not in p for p in result.params):
                raise ValueError(f"parameter {k!r} is missing at some points: cannot label the sweep")
            coords[k] = ("point", np.asarray([p[k] for p in result.params]))

    def on_points(values, extra=()):
        values = np.asarray(values)
        return (*point_dims, *extra), values.reshape(*shape, *values.shape[1:])

    data_vars = {}
    for name, column in result.values.items():
        if name in coords:
            raise ValueError(f"result {name!r} has the name of a parameter: cannot label the sweep")
        arr, extra = _result_array(name, column)
        data_vars[name] = on_points(arr, extra)
    data_vars["seed"] = on_points(np.asarray(result.seeds, dtype=np.uint64))
    data_vars["status"] = on_points(np.asarray(result.status, dtype=str))
    data_vars["error"] = on_points(np.asarray(["" if e is None else str(e) for e in result.errors]))
    seconds = result.seconds if result.seconds is not None else np.full(n, np.nan)
    data_vars["seconds"] = on_points(np.asarray(seconds, dtype=float))
    attrs = {_KIND: "sweep", "interrupted": int(bool(result.interrupted))}
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
