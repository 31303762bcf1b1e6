"""The η/B sweep: grid, ensembles, test accuracy and sharpness of the endpoints."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.generalisation.sharpness import eta_over_b_sweep
from sgdsde.landscapes.mlp import MLP
from sgdsde.random import STREAM_USER, normals


def _problem():
    x = normals(1, np.arange(60), 0, 4, STREAM_USER + 46)
    y = (x[:, 0] - x[:, 1] > 0).astype(int)
    return MLP(x[:40], y[:40], widths=(6,)), (x[40:], y[40:])


def test_sweep_measures_every_point():
    net, test = _problem()
    rows = eta_over_b_sweep(net, test, [0.2, 0.4], [4, 20], n_runs=3, sde_time=20.0, init_seed=1, seed=2)
    assert [(r["lr"], r["batch_size"]) for r in rows] == [(0.2, 4), (0.2, 20), (0.4, 4), (0.4, 20)]
    for r in rows:
        assert r["n_steps"] == round(20.0 / r["lr"]) and r["lr_over_batch"] == r["lr"] / r["batch_size"]
        assert r["test_accuracy"].shape == (3,) and np.all(r["train_accuracy"] > 0.8)  # it learned
        assert np.all(r["train_loss"] < net.energy(net.init_params(3, seed=1)))
    # λ_max of the first point agrees with the dense Hessian of the same endpoint, rerun by hand,
    # within the Lanczos residual bound
    net2, _ = _problem()
    row = rows[0]
    from sgdsde.sgd import run_sgd

    final = run_sgd(net2, net2.init_params(3, seed=1), lr=0.2, batch_size=4, n_steps=100, seed=2,
                    record_every=100).final
    dense = np.linalg.eigvalsh(net2.hessian(final))[:, -1]
    np.testing.assert_allclose(row["lambda_max"], dense, atol=1e-6 + row["lambda_max_error"].max())


def test_bad_input():
    net, test = _problem()
    with pytest.raises(ValueError, match="n_runs"):
        eta_over_b_sweep(net, test, [0.1], [4], n_runs=0, sde_time=1.0)
    with pytest.raises(ValueError, match="sde_time"):
        eta_over_b_sweep(net, test, [0.1], [4], n_runs=1, sde_time=-1.0)
    with pytest.raises(ValueError, match="at least one"):
        eta_over_b_sweep(net, test, [], [4], n_runs=1, sde_time=1.0)


@pytest.mark.parametrize("lrs, batch_sizes, error, match", [
    ([0.0], [4], ValueError, r"lrs\[0\].*> 0"),  # was ZeroDivisionError in round(t/η)
    ([0.1, np.nan], [4], ValueError, r"lrs\[1\]"),  # was "cannot convert float NaN to integer"
    ([0.1], [4, 2.5], ValueError, r"batch_sizes\[1\].*integer >= 1"),  # was run silently with B = 2
    ([0.1], [True], ValueError, r"batch_sizes\[0\]"),  # was run silently with B = 1
])
def test_grid_values_are_checked_not_converted(lrs, batch_sizes, error, match):
    net, test = _problem()
    with pytest.raises(error, match=match):
        eta_over_b_sweep(net, test, lrs, batch_sizes, n_runs=1, sde_time=0.2)


def test_test_labels_outside_the_classes_raise():
    # labels the network cannot output gave a test accuracy of 0 without an error
    net, (test_x, test_y) = _problem()
    with pytest.raises(ValueError, match="labels"):
        eta_over_b_sweep(net, (test_x, test_y + 5), [0.1], [4], n_runs=1, sde_time=0.2)


def test_seed_must_be_a_whole_number():
    # seed=None failed with "unsupported operand type(s) for +" at the first point
    net, test = _problem()
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got None"):
        eta_over_b_sweep(net, test, [0.1], [4], n_runs=1, sde_time=0.2, seed=None)
