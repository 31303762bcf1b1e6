"""Beyond one machine: parameter sweeps and sharded clouds on Dask's distributed scheduler.

Needs the optional extra ``sgdsde[distributed]`` (dask and distributed).  Without a client a
:class:`distributed.LocalCluster` of *threads* in this process (one per core) is started and
closed again: it works in a script without an ``if __name__ == "__main__":`` guard and in a
notebook.  Any :class:`distributed.Client` works too, e.g. a process cluster (start it under
the ``__main__`` guard) or one connected to a SLURM cluster by dask-jobqueue.

Two uses:

* :func:`sweep` runs a study over a grid of parameters, one task per point, with per-point
  seeds derived from one root seed.  Tasks and stored points are keyed by the study's
  identity (its qualified name and a hash of its code, or an explicit ``name=``) as well as
  by the point, so two studies never share results.  Failures are recorded with their error instead of
  sinking the sweep.  With ``store=`` (a folder every worker can reach) the worker writes each
  finished point to disk before returning it: a worker that dies loses no finished point,
  and an interrupted sweep resumes without recomputing any.  Without a store, results are
  fetched as each task finishes; a point whose worker dies in the short window between
  finishing and the fetch is recomputed by Dask.
* :func:`simulate_sharded` (also reached as ``simulate(..., client=...)``) splits a cloud into
  shards of consecutive particles simulated on different workers.  The noise of a particle
  is a function of its global index, so the sharded result equals the single-process one
  (bit for bit with the fused kernels; to rounding where BLAS blocks differently).

Results come back as a :class:`SweepResult`: NumPy columns and a list of parameter dicts,
no pandas or xarray, so the core stays free of heavy dependencies; ``to_records()`` gives
rows for ``pandas.DataFrame`` if the user wants one, and
:func:`sgdsde.labelled.sweep_to_xarray` an :class:`xarray.Dataset` with one dimension per
swept parameter (extra ``sgdsde[xarray]``).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import time
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._checks import integer as _integer
from ._extras import require
from ._fingerprint import global_names
from .random import resolve_seed

__all__ = ["sweep", "SweepResult", "simulate_sharded", "point_seed", "grid_points"]

def _dask():
    return require("distributed", "distributed", "sgdsde.distributed")


def point_seed(root_seed: int, index: int) -> int:
    """The seed of grid point ``index``: a 64-bit integer from ``SeedSequence(root, (index,))``.

    Independent of the order in which points run and of which worker runs them.

    Raises
    ------
    TypeError, ValueError
        If ``root_seed`` is not an int in ``[0, 2**64)`` or ``index`` not an integer >= 0.
    """
    if root_seed is None:
        raise TypeError("seed must be an int in [0, 2**64), got None")
    root = resolve_seed(root_seed)
    index = _integer(index, "index", minimum=0)
    ss = np.random.SeedSequence(root, spawn_key=(index,))
    return int(ss.generate_state(1, dtype=np.uint64)[0])


def grid_points(grid: Mapping[str, Sequence] | Sequence[Mapping]) -> list[dict]:
    """The points of a grid: the Cartesian product of a mapping of value lists, or a list of dicts."""
    if isinstance(grid, Mapping):
        names = list(grid)
        for name in names:
            if isinstance(grid[name], (str, bytes)) or not hasattr(grid[name], "__iter__"):
                raise TypeError(f"grid[{name!r}] must be a sequence of values")
        return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]
    points = [dict(p) for p in grid]
    if not all(isinstance(p, dict) for p in points):
        raise TypeError("grid must be a mapping of name -> values or a sequence of dicts")
    return points


def _stable(value, depth: int = 0):
    """A JSON-able stand-in for ``value`` that is the same in every process and session.

    Numbers, strings, containers of them and arrays (by content) stand for themselves; any
    other object stands for its type only (its repr may hold a memory address).
    """
    if depth > 8:
        return "..."
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        digest = hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest()
        return [str(value.dtype), list(value.shape), digest]
    if isinstance(value, (list, tuple)):
        return [_stable(v, depth + 1) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _stable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, types.CodeType):
        return _code_fingerprint(value, depth + 1)
    if isinstance(value, types.FunctionType):  # e.g. a helper the study closes over, or make_loss
        closure = [_cell_value(c) for c in (value.__closure__ or ())]
        return [value.__qualname__, _code_fingerprint(value.__code__, depth + 1),
                _stable(value.__defaults__, depth + 1), _stable(value.__kwdefaults__, depth + 1),
                _stable(closure, depth + 1)]
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def _code_fingerprint(code: types.CodeType, depth: int = 0) -> list:
    """Bytecode, constants (nested code objects recursively) and the names the code uses."""
    return [code.co_code.hex(), [_stable(c, depth + 1) for c in code.co_consts], list(code.co_names)]


def _study_identity(study: Callable, name: str | None) -> tuple[str, str]:
    """``(label, fingerprint)`` of a study: what tells two studies apart.

    ``label`` is ``name`` if given, else ``module.qualname``; ``fingerprint`` hashes the label
    with, for a function, its bytecode, constants, defaults, closure values and the
    module-level values its code reads (numbers, strings, arrays), so that two functions with
    the same name but different code, two closures of one factory with different parameters,
    or a study run again after a module constant it reads was edited, differ; a function among those values
    (e.g. ``make_loss``) counts with its own code, defaults and closure values.  Callables whose code cannot
    be read (a callable object, a builtin) need ``name=``.
    """
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        return name, hashlib.sha1(f"name:{name}".encode()).hexdigest()[:16]
    parts = []
    fn = study
    while isinstance(fn, functools.partial):  # a partial: the function plus its frozen arguments
        parts.append(["partial", _stable(fn.args), _stable(fn.keywords)])
        fn = fn.func
    if isinstance(fn, types.MethodType):
        parts.append(["bound to", _stable(fn.__self__)])
        fn = fn.__func__
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        raise TypeError(
            f"cannot tell which study {study!r} is (no readable code): pass sweep(..., name='...'), a "
            "name that identifies the study; tasks and stored points are keyed by it")
    label = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', getattr(fn, '__name__', '?'))}"
    closure = [_cell_value(c) for c in (fn.__closure__ or ())]
    parts.append([label, _code_fingerprint(code), _stable(fn.__defaults__), _stable(fn.__kwdefaults__),
                  _stable(closure), _globals_read(fn)])
    text = json.dumps(parts, sort_keys=True, default=repr)
    return label, hashlib.sha1(text.encode()).hexdigest()[:16]


def _globals_read(fn: types.FunctionType) -> dict:
    """Stable stand-ins of the module-level values the study's code reads (modules and the
    study itself left out): editing such a constant changes the study's results."""
    namespace = getattr(fn, "__globals__", {})
    return {name: _stable(namespace[name]) for name in sorted(global_names(fn.__code__))
            if name in namespace and namespace[name] is not fn
            and not isinstance(namespace[name], types.ModuleType)}


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _point_key(study_id: str, params: dict, seed: int) -> str:
    text = json.dumps({"study": study_id, "params": params, "seed": seed}, sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _run_point(study, params, seed, store_path, key):
    """Run one point on a worker; never raises, so a failure travels back as data.

    With a store the worker writes the finished point itself, before returning: a worker
    that dies after finishing but before the result is fetched loses nothing, and the
    resubmitted task reads the point back instead of recomputing it.
    """
    store = _Store(store_path)
    done = store.load(key)
    if done is not None:
        return done
    start = time.perf_counter()
    try:
        value = study(seed=seed, **params)
        if not isinstance(value, Mapping):
            value = {"value": value}
        outcome = {"status": "ok", "value": dict(value), "error": None,
                   "seconds": time.perf_counter() - start}
    except Exception as err:  # noqa: BLE001 - recorded and reported, not swallowed
        outcome = {"status": "error", "value": {}, "error": f"{type(err).__name__}: {err}",
                   "seconds": time.perf_counter() - start}
    store.save(key, params, seed, outcome)
    return outcome


@dataclass
class SweepResult:
    """The table of a sweep, one row per grid point (in grid order).

    Attributes
    ----------
    params : list of dict
        The parameters of each point.
    seeds : ndarray of uint64, shape (n_points,)
    status : ndarray of str, shape (n_points,)
        ``"ok"``, ``"error"`` or ``"missing"`` (not run: the sweep was interrupted).
    errors : list of str or None
        The error of each failed point.
    values : dict of str to ndarray
        One column per result name; float where every finished value is a number (NaN where
        missing), object otherwise.
    seconds : ndarray, shape (n_points,)
        Compute time of each point on its worker (NaN if not run).
    interrupted : bool
        True if the sweep stopped before every point finished.
    """

    params: list
    seeds: np.ndarray
    status: np.ndarray
    errors: list
    values: dict = field(default_factory=dict)
    seconds: np.ndarray | None = None
    interrupted: bool = False

    def column(self, name: str) -> np.ndarray:
        """A parameter or a result as an array over the points."""
        if name in self.values:
            return self.values[name]
        if self.params and name in self.params[0]:
            return np.array([p[name] for p in self.params])
        raise KeyError(f"no parameter or result named {name!r}")

    @property
    def failed(self) -> list[tuple[dict, str]]:
        """``(params, error)`` of every failed point."""
        return [(p, e) for p, s, e in zip(self.params, self.status, self.errors) if s == "error"]

    def to_records(self) -> list[dict]:
        """Rows as dicts (parameters, seed, status, results), e.g. for ``pandas.DataFrame``."""
        rows = []
        for i, p in enumerate(self.params):
            row = dict(p, seed=int(self.seeds[i]), status=str(self.status[i]))
            row.update({k: v[i] for k, v in self.values.items()})
            rows.append(row)
        return rows

    def __repr__(self):
        n_ok = int(np.sum(self.status == "ok"))
        n_err = int(np.sum(self.status == "error"))
        return (f"SweepResult({len(self.params)} points: {n_ok} ok, {n_err} failed, "
                f"{len(self.params) - n_ok - n_err} missing; results {list(self.values)})")


def _columns(outcomes: list[dict | None]) -> dict[str, np.ndarray]:
    names: list[str] = []
    for o in outcomes:
        if o and o["status"] == "ok":
            names += [k for k in o["value"] if k not in names]
    cols = {}
    for name in names:
        raw = [o["value"].get(name) if o and o["status"] == "ok" else None for o in outcomes]
        raw = [np.asarray(r) if isinstance(r, list) else r for r in raw]
        if all(r is None or (np.ndim(r) == 0 and np.isreal(r)) for r in raw):
            cols[name] = np.array([np.nan if r is None else float(r) for r in raw])
        else:
            col = np.empty(len(raw), dtype=object)
            col[:] = raw
            cols[name] = col
    return cols


_MANIFEST = "sgdsde-sweep.manifest"  # JSON; not *.json, the points are


class _Store:
    """One JSON file per finished point, written atomically; the key hashes study, params and seed.

    The folder holds a manifest naming the study that wrote it; :meth:`claim` refuses a
    folder written by another study.
    """

    def __init__(self, path):
        self.path = None if path is None else Path(path)
        if self.path is not None:
            self.path.mkdir(parents=True, exist_ok=True)

    def claim(self, label: str, fingerprint: str) -> None:
        """Check that the folder belongs to this study (or is new) and record that it does."""
        if self.path is None:
            return
        manifest = self.path / _MANIFEST
        mine = {"study": label, "fingerprint": fingerprint}
        if manifest.exists():
            try:
                owner = json.loads(manifest.read_text())
                owner = {"study": str(owner["study"]), "fingerprint": str(owner["fingerprint"])}
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"store {self.path}: unreadable manifest {manifest.name} ({err}); "
                                 "it is not an sgdsde sweep store, or it is damaged") from err
            if owner != mine:
                same = "an earlier version of the same study (its code changed)" \
                    if owner["study"] == label else f"study {owner['study']!r}"
                raise ValueError(
                    f"store {self.path} was written by {same} (fingerprint {owner['fingerprint']}); "
                    f"this sweep runs {label!r} (fingerprint {fingerprint}). Use another store folder, "
                    "or pass the same name= to both sweeps if they really are one study")
            return
        if any(self.path.glob("*.json")):
            raise ValueError(f"store {self.path} holds points but no manifest {_MANIFEST}: it was not "
                             "written by this version of sgdsde.distributed.sweep, and which study wrote "
                             "it cannot be told; use another store folder")
        tmp = manifest.with_name(f"{manifest.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(mine))
        tmp.replace(manifest)

    def load(self, key):
        if self.path is None:
            return None
        f = self.path / f"{key}.json"
        if not f.exists():
            return None
        stored = json.loads(f.read_text())
        return {k: stored[k] for k in ("status", "value", "error", "seconds")}

    def save(self, key, params, seed, outcome):
        if self.path is None or outcome["status"] != "ok":
            return  # failures are retried on the next run
        f = self.path / f"{key}.json"
        tmp = f.with_suffix(".tmp")
        tmp.write_text(json.dumps({"params": params, "seed": seed, **outcome}, default=_jsonable))
        tmp.replace(f)


def _jsonable(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"study results must be numbers, arrays or lists to be stored; got {type(o).__name__}")


def _local_client():
    """A LocalCluster of threads in this process: one worker, one thread per core.

    Threads, not processes: a process cluster spawns workers that re-import the user's
    ``__main__``, so a script without an ``if __name__ == "__main__":`` guard would start
    clusters recursively and die.  Studies spend their time in NumPy and Numba kernels, which
    release the GIL.
    """
    distributed = _dask()
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=os.cpu_count() or 1,
                                       processes=False, dashboard_address=None)
    return distributed.Client(cluster), cluster


def sweep(study: Callable[..., Mapping], grid, *, client=None, seed: int = 0,
          store: str | Path | None = None, progress: bool = True, retries: int = 2,
          name: str | None = None) -> SweepResult:
    """Run ``study`` at every point of ``grid`` as Dask tasks.

    Parameters
    ----------
    study : callable
        ``study(seed=int, **params) -> mapping of result name to number (or array)``.  It runs
        on the workers: it and what it uses must be importable or picklable there.
    grid : mapping of str to sequence, or sequence of dict
        A Cartesian grid ``{"temperature": [...], "n": [...]}`` or explicit points.
    client : distributed.Client, optional
        Where to run.  Default: a LocalCluster of threads in this process (one per core),
        closed at the end; it needs no ``if __name__ == "__main__":`` guard.  For studies
        that hold the GIL (pure-Python loops) or that must not share a process, pass a
        process cluster, created under the ``__main__`` guard::

            if __name__ == "__main__":
                with Client(LocalCluster(processes=True, threads_per_worker=1)) as client:
                    result = sweep(study, grid, client=client)
    seed : int
        Root seed in ``[0, 2**64)``; point i gets :func:`point_seed(seed, i) <point_seed>`.
    store : path, optional
        Folder, reachable by every worker, keeping one JSON file per finished point, written
        by the worker.  Points already there are not recomputed (resumption after an
        interruption, a crash or a dead worker).  Results must then be numbers or arrays.
    progress : bool
        Show a progress bar.
    retries : int
        How many times (>= 0) Dask resubmits a task whose worker died.
    name : str, optional
        The study's identity.  Default: its qualified name plus a hash of its code, defaults
        and closure values, so that two studies run on one client, or on one store, never
        share results (editing the study's code makes it a new study).  Required for a
        callable whose code cannot be read (a callable object); give it also to keep using
        a store after an edit that does not change the results.

    Returns
    -------
    SweepResult
        On Ctrl-C the points finished so far (``interrupted=True``); with ``store`` they are
        on disk too.

    Raises
    ------
    ValueError
        If ``store`` holds points of another study (its manifest ``sgdsde-sweep.manifest``
        names the study that wrote it).
    """
    from tqdm.auto import tqdm

    if not callable(study):
        raise TypeError("study must be callable as study(seed=..., **params)")
    retries = _integer(retries, "retries", minimum=0)
    points = grid_points(grid)
    if not points:
        raise ValueError("grid has no points")
    label, fingerprint = _study_identity(study, name)
    seeds = [point_seed(seed, i) for i in range(len(points))]
    keys = [_point_key(fingerprint, p, s) for p, s in zip(points, seeds)]
    store_ = _Store(store)
    store_.claim(label, fingerprint)
    outcomes: list[dict | None] = [store_.load(k) for k in keys]
    todo = [i for i, o in enumerate(outcomes) if o is None]
    interrupted = False
    if todo:
        distributed = _dask()
        own = None
        if client is None:
            client, own = _local_client()
        try:
            store_path = None if store is None else str(Path(store).resolve())
            futures = {client.submit(_run_point, study, points[i], seeds[i], store_path, keys[i],
                                     key=f"sgdsde-point-{keys[i]}", retries=retries, pure=False): i
                       for i in todo}
            bar = tqdm(total=len(points), initial=len(points) - len(todo), disable=not progress,
                       unit="point", desc="sweep")
            try:
                for fut in distributed.as_completed(futures):
                    i = futures[fut]
                    try:
                        outcome = fut.result()
                    except Exception as err:  # noqa: BLE001 - e.g. the task's workers kept dying
                        outcome = {"status": "error", "value": {}, "seconds": math.nan,
                                   "error": f"{type(err).__name__}: {err}"}
                    outcomes[i] = outcome
                    bar.update(1)
            except KeyboardInterrupt:
                interrupted = True
                client.cancel(list(futures))
                # points the workers finished and stored but that were not fetched yet
                outcomes = [o if o is not None else store_.load(k) for o, k in zip(outcomes, keys)]
            finally:
                bar.close()
        finally:
            if own is not None:
                client.close()
                own.close()
    status = np.array([o["status"] if o else "missing" for o in outcomes])
    return SweepResult(
        params=points, seeds=np.array(seeds, dtype=np.uint64), status=status,
        errors=[o["error"] if o else None for o in outcomes], values=_columns(outcomes),
        seconds=np.array([o.get("seconds", np.nan) if o else np.nan for o in outcomes]),
        interrupted=interrupted or bool(np.any(status == "missing")),
    )


def simulate_sharded(sde, integrator, x0, *, client, n_shards: int | None = None, **kwargs):
    """``simulate`` with the cloud split into shards of consecutive particles on Dask workers.

    See :func:`sgdsde.sharding.simulate_sharded` (which this calls with
    :func:`sgdsde.simulate` as the single-process run) for the parameters and the result.
    """
    from .sharding import simulate_sharded as run_sharded
    from .simulate import simulate

    return run_sharded(simulate, sde, integrator, x0, client=client, n_shards=n_shards, **kwargs)
