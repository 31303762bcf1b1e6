"""Sharpness of SGD endpoints against the learning-rate-to-batch ratio η/B, as a sweep.

SGD's noise enters its SDE through the temperature ``T = η/(2B)`` (README, noise conventions;
Jastrzębski et al. 2017, arXiv:1711.04623), and the claim under test is that larger η/B ends
in flatter minima.  :func:`endpoint_sharpness` trains one network by minibatch SGD
(:func:`sgdsde.sgd.run_sgd`) and measures, at its endpoint, the top Hessian eigenvalue (Lanczos,
residual error bar) and the Hessian trace (Hutch++, standard error).  :func:`sharpness_sweep`
runs it over a grid of (η, B) as one :func:`sgdsde.distributed.sweep`, so that the same call
scales from threads on a laptop to a Dask cluster; each point has its own seed (batches),
all points start from the same initial weights (``start``, e.g. a sharp gradient-descent
endpoint, or ``init_params``), and ``n_replicas`` independent runs per point give ensemble
standard errors.  Two mechanisms can flatten the endpoints: the linear stability cap
λ_max ≤ 2/η, which acts at every batch size, and the noise, which separates batch sizes at
equal η (docs/theory.md §7; examples/sharpness_vs_lr_over_batch.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from .._checks import integer, positive, real
from ..landscapes.base import Landscape
from .hessian import HessianOperator, extreme_eigenpairs, hutchpp_trace

__all__ = ["endpoint_sharpness", "sharpness_sweep"]


def endpoint_sharpness(loss: Landscape, theta0, *, lr: float, batch_size: int, n_steps: int,
                       seed: int | None = 0, n_trace_products: int = 60) -> dict:
    """Train by minibatch SGD and measure the sharpness of the endpoint.

    Parameters
    ----------
    loss : EmpiricalRisk
        The network and its data.
    theta0 : array_like, shape (d,)
        Initial weights.
    lr, batch_size, n_steps
        η > 0, 1 ≤ B ≤ n, steps (passed to :func:`sgdsde.sgd.run_sgd`).
    seed : int, optional
        Key of the batches (and of the trace's probe vectors).
    n_trace_products : int
        Hessian-vector products given to Hutch++ (≥ 6).

    Returns
    -------
    dict
        ``lambda_max`` and ``lambda_max_error`` (residual bound), ``trace`` and
        ``trace_stderr``, ``loss`` (full-batch f at the end), ``lr_over_batch`` (η/B),
        ``n_products`` (Hessian-vector products of the measurements).
    """
    from ..sgd import run_sgd

    theta0 = np.asarray(theta0, dtype=np.float64).reshape(1, -1)
    traj = run_sgd(loss, theta0, lr=lr, batch_size=batch_size, n_steps=n_steps, seed=seed,
                   record_every=max(1, int(n_steps)))
    theta = np.asarray(traj.final)[0]
    op = HessianOperator(loss, theta)
    top = extreme_eigenpairs(op, k=1, seed=seed)
    trace = hutchpp_trace(op, n_products=n_trace_products, seed=seed)
    return {"lambda_max": float(top.values[0]), "lambda_max_error": float(top.errors[0]),
            "trace": trace.value, "trace_stderr": trace.stderr,
            "loss": float(loss.energy(theta[None])[0]), "lr_over_batch": float(lr) / int(batch_size),
            "n_products": op.n_products}


def _sharpness_study(seed: int, lr: float, batch_size: int, replica: int = 0, *,
                     make_loss: Callable[[], Landscape], init_seed: int, start: np.ndarray | None,
                     n_steps: int | None, sde_time: float | None, n_trace_products: int) -> dict:
    # `replica` only labels the run: its independence comes from the per-point `seed` of the sweep
    del replica
    loss = make_loss()
    if sde_time is not None:
        n_steps = max(1, int(round(sde_time / lr)))
    if start is not None:
        theta0 = start
    elif hasattr(loss, "init_params"):
        theta0 = loss.init_params(1, seed=init_seed)[0]
    else:
        theta0 = np.zeros(loss.dim)
    return endpoint_sharpness(loss, theta0, lr=lr, batch_size=batch_size, n_steps=n_steps, seed=seed,
                              n_trace_products=n_trace_products)


def sharpness_sweep(make_loss: Callable[[], Landscape], lrs: Sequence[float], batch_sizes: Sequence[int], *,
                    n_steps: int | None = None, sde_time: float | None = None, init_seed: int | None = None,
                    n_trace_products: int = 60, seed: int = 0, start=None, n_replicas: int = 1,
                    client=None, store=None, progress: bool = False):
    """λ_max and Tr H of SGD endpoints over the grid ``lrs × batch_sizes``, as one Dask sweep.

    Parameters
    ----------
    make_loss : callable
        ``make_loss() -> EmpiricalRisk``, called on the workers (a module-level function, so
        that workers can import it, or one cloudpickle can ship); all points start from
        ``loss.init_params(1, seed=init_seed)`` (zeros for a model without ``init_params``).
    lrs, batch_sizes : sequences
        The grid: η > 0 (finite numbers) and 1 ≤ B ≤ n (integers); other values raise.
    n_steps : int, optional
        SGD steps per point, the same for all (equal step count).
    sde_time : float, optional
        Instead of ``n_steps``: train every point for the same SDE time ``t = k·η`` (README
        conventions), i.e. ``round(t/η)`` steps.  Exactly one of the two is given.
    init_seed : int, optional
        Key of the initial weights (default 0); only without ``start``: given with it, it raises.
    n_trace_products : int
        Hessian-vector products given to Hutch++ (≥ 6).
    seed : int
        Root seed of the sweep (point i gets its own).
    start : array_like, shape (d,), optional
        Common initial weights of every point instead of ``init_params(seed=init_seed)``, e.g.
        a sharp gradient-descent endpoint whose escape is under study.
    n_replicas : int
        Independent SGD runs (own batch seeds) per grid point, for ensemble standard errors;
        the grid gains the key ``replica`` (0 … n_replicas − 1).
    client, store, progress
        As in :func:`sgdsde.distributed.sweep` (needs the extra ``distributed``).

    Returns
    -------
    sgdsde.distributed.SweepResult
        Columns of :func:`endpoint_sharpness` per point.
    """
    from ..distributed import sweep

    if not callable(make_loss):
        raise TypeError("make_loss must be callable as make_loss() -> EmpiricalRisk")
    if (n_steps is None) == (sde_time is None):
        raise ValueError("give exactly one of n_steps (equal step count) and sde_time (equal t = k·η)")
    if sde_time is not None:
        sde_time = real(sde_time, "sde_time")
        if not (np.isfinite(sde_time) and sde_time > 0):
            raise ValueError(f"sde_time must be a finite number > 0, got {sde_time}")
    if n_steps is not None:
        n_steps = integer(n_steps, "n_steps", 1)
    n_trace_products = integer(n_trace_products, "n_trace_products", 6)
    lrs = [positive(a, f"lrs[{i}]") for i, a in enumerate(lrs)]
    batch_sizes = [integer(b, f"batch_sizes[{j}]", 1) for j, b in enumerate(batch_sizes)]
    if isinstance(n_replicas, bool) or not isinstance(n_replicas, int | np.integer) or n_replicas < 1:
        raise ValueError(f"n_replicas must be an integer >= 1, got {n_replicas!r}")
    if start is not None and init_seed is not None:
        raise ValueError(f"init_seed = {init_seed!r} is not used when start is given (every point "
                         "starts from start): give one of them")
    init_seed = 0 if init_seed is None else integer(init_seed, "init_seed", 0)
    if start is not None:
        start = np.asarray(start, dtype=np.float64)
        dim = make_loss().dim
        if start.shape != (dim,) or not np.all(np.isfinite(start)):
            raise ValueError(f"start must be a finite vector of shape ({dim},) (the weights of "
                             f"make_loss()), got shape {start.shape}")
    study = functools.partial(_sharpness_study, make_loss=make_loss, init_seed=init_seed, start=start,
                              n_steps=n_steps, sde_time=sde_time, n_trace_products=n_trace_products)
    grid = {"lr": lrs, "batch_size": batch_sizes}
    if n_replicas > 1:
        grid["replica"] = list(range(int(n_replicas)))
    return sweep(study, grid, client=client, seed=seed, store=store, progress=progress)
