"""Generalisation and sharpness of SGD endpoints across the learning-rate-to-batch ratio η/B.

Keskar et al. (ICLR 2017, arXiv:1609.04836) found that large batches end in sharper minima
that generalise worse; in the SDE picture SGD's temperature is T = η/(2B) (README, noise
conventions), so the natural variable is η/B.  :func:`eta_over_b_sweep` trains an ensemble
(one cloud: M initialisations, one seed) at every (η, B) of a grid for the same SDE time
t = kη, and measures at each endpoint the training loss, the training and test accuracy and
the top Hessian eigenvalue (Lanczos, :func:`sgdsde.geometry.extreme_eigenpairs`, the
landscape-geometry module's estimator), so that the spread over initialisations is the
error bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._checks import integer, positive, real
from ..landscapes.mlp import MLP
from ..sgd.minibatch import run_sgd
from .random_labels import _labels, accuracy

__all__ = ["eta_over_b_sweep"]


def eta_over_b_sweep(net: MLP, test, lrs: Sequence[float], batch_sizes: Sequence[int], *, n_runs: int,
                     sde_time: float, init_seed: int = 0, seed: int = 0) -> list[dict]:
    """Test accuracy and sharpness of SGD endpoints over the grid ``lrs × batch_sizes``.

    Parameters
    ----------
    net : MLP
        A classifier holding the training set.
    test : tuple (inputs, labels)
        The held-out set; integer labels in [0, n_outputs).
    lrs, batch_sizes : sequences
        The grid of η > 0 (finite numbers) and 1 ≤ B ≤ n (integers); other values raise.
    n_runs : int
        M initialisations per point (the same M at every point: ``net.init_params(M, init_seed)``).
    sde_time : float
        t > 0: every point runs ``round(t/η)`` steps.
    init_seed, seed : int
        Keys of the initial weights and of the batches (point i uses ``seed + i``).

    Returns
    -------
    list of dict
        One per point: ``lr``, ``batch_size``, ``lr_over_batch``, ``n_steps`` and arrays of
        shape (M,): ``train_loss``, ``train_accuracy``, ``test_accuracy``, ``lambda_max``,
        ``lambda_max_error`` (Lanczos residual bound).
    """
    from ..geometry.hessian import extreme_eigenpairs

    if not isinstance(net, MLP) or net.loss != "cross_entropy":
        raise ValueError("eta_over_b_sweep needs an MLP classifier (loss='cross_entropy')")
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 1:
        raise ValueError(f"n_runs must be an integer >= 1, got {n_runs!r}")
    sde_time = real(sde_time, "sde_time")
    if not (np.isfinite(sde_time) and sde_time > 0):
        raise ValueError(f"sde_time must be a finite number > 0, got {sde_time}")
    if len(lrs) == 0 or len(batch_sizes) == 0:
        raise ValueError("lrs and batch_sizes must each hold at least one value")
    lrs = [positive(a, f"lrs[{i}]") for i, a in enumerate(lrs)]
    batch_sizes = [integer(b, f"batch_sizes[{j}]", 1) for j, b in enumerate(batch_sizes)]
    seed = integer(seed, "seed", 0)  # point i uses seed + i
    test_x, test_y = test
    test_y = _labels(test_y, net.n_outputs)
    theta0 = net.init_params(int(n_runs), seed=init_seed)
    rows = []
    for i, (lr, batch) in enumerate((a, b) for a in lrs for b in batch_sizes):
        n_steps = max(1, round(sde_time / lr))
        traj = run_sgd(net, theta0, lr=lr, batch_size=batch, n_steps=n_steps, seed=seed + i,
                       record_every=n_steps)
        final = traj.final
        tops = [extreme_eigenpairs(net, theta, k=1, seed=seed + i) for theta in final]
        rows.append({"lr": lr, "batch_size": batch, "lr_over_batch": lr / batch, "n_steps": n_steps,
                     "train_loss": net.energy(final),
                     "train_accuracy": accuracy(net, final, net.inputs, net.targets),
                     "test_accuracy": accuracy(net, final, test_x, test_y),
                     "lambda_max": np.array([t.values[0] for t in tops]),
                     "lambda_max_error": np.array([t.errors[0] for t in tops])})
    return rows
