"""Sharpness along gradient descent (edge of stability) and SGD-endpoint sharpness sweeps,
on landscapes whose Hessian is known exactly (quadratic, least squares)."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.geometry.edge_of_stability import fraction_near_edge, sharpness_along_gd
from sgdsde.landscapes import LinearRegression, Quadratic


def test_sharpness_along_gd_on_a_quadratic_is_the_top_eigenvalue_and_the_path_is_exact():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    lam = np.linspace(0.1, 4.0, 12)
    a = (q * lam) @ q.T
    lr = 0.95 * 2 / 4.0  # just below the edge: λ_max η/2 = 0.95
    x0 = rng.standard_normal(12)
    tr = sharpness_along_gd(Quadratic(a), x0, lr=lr, n_steps=30, record_every=7)
    np.testing.assert_array_equal(tr.steps, [0, 7, 14, 21, 28, 30])
    np.testing.assert_allclose(tr.sharpness, 4.0, rtol=1e-9)
    np.testing.assert_allclose(tr.edge_ratio, 0.95, rtol=1e-9)
    x30 = np.linalg.matrix_power(np.eye(12) - lr * a, 30) @ x0
    np.testing.assert_allclose(tr.final, x30, rtol=1e-10, atol=1e-12)
    assert tr.loss[-1] == pytest.approx(0.5 * x30 @ a @ x30, rel=1e-10)
    assert fraction_near_edge(tr, band=0.1) == 1.0
    assert fraction_near_edge(tr, band=0.01) == 0.0
    with pytest.raises(FloatingPointError, match="gradient descent diverged"):
        sharpness_along_gd(Quadratic(a), 1e150 * x0, lr=1.0, n_steps=400)
    with pytest.raises(ValueError, match="band must lie in"):
        fraction_near_edge(tr, band=1.5)


def test_sharpness_sweep_measures_the_constant_hessian_of_least_squares():
    pytest.importorskip("distributed")
    from sgdsde.geometry.sharpness import sharpness_sweep

    res = sharpness_sweep(_least_squares, [0.05, 0.1], [4, 16], n_steps=50, n_trace_products=45, seed=3)
    assert list(res.status) == ["ok"] * 4, res.errors
    h = np.linalg.eigvalsh(_least_squares().hessian(np.zeros((1, 60)))[0])
    # the Hessian of least squares does not depend on θ: every endpoint has the same spectrum
    np.testing.assert_allclose(res.column("lambda_max"), h[-1], rtol=1e-8)
    # Hutch++: within 5 standard errors of the exact trace at every point (15 Hutchinson
    # vectors, so the SE itself is known to ~20 %)
    assert np.all(np.abs(res.column("trace") - h.sum()) < 5 * res.column("trace_stderr"))
    ratios = sorted([0.05 / 4, 0.05 / 16, 0.1 / 4, 0.1 / 16])
    np.testing.assert_allclose(sorted(res.column("lr_over_batch")), ratios)


def _least_squares():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((128, 60)) * np.linspace(0.3, 2.0, 60)
    return LinearRegression(x, x @ rng.standard_normal(60) + 0.1 * rng.standard_normal(128))


def test_sharpness_sweep_needs_exactly_one_duration():
    pytest.importorskip("distributed")
    from sgdsde.geometry.sharpness import sharpness_sweep

    with pytest.raises(ValueError, match="exactly one of n_steps"):
        sharpness_sweep(_least_squares, [0.1], [4], n_steps=10, sde_time=1.0)
    with pytest.raises(ValueError, match="exactly one of n_steps"):
        sharpness_sweep(_least_squares, [0.1], [4])
    with pytest.raises(ValueError, match="sde_time must be a finite number > 0"):
        sharpness_sweep(_least_squares, [0.1], [4], sde_time=-1.0)


def test_sharpness_sweep_from_a_given_start_with_replicas():
    pytest.importorskip("distributed")
    from sgdsde.geometry.sharpness import sharpness_sweep

    net = _least_squares()
    h = net.hessian(np.zeros((1, 60)))[0]
    g0 = net.grad(np.zeros((1, 60)))[0]
    minimiser = np.linalg.solve(h, -g0)  # f is quadratic: θ* = −H⁻¹ ∇f(0)
    # one step of size 1e-9 from θ* moves f by O(η²|∇f_B|²) ≈ 1e-16: the endpoint loss is f(θ*),
    # far below f(0), so the runs did start at `start`; three replicas per point, own seeds
    res = sharpness_sweep(_least_squares, [1e-9], [4], n_steps=1, n_trace_products=12, seed=0,
                          start=minimiser, n_replicas=3)
    assert list(res.status) == ["ok"] * 3, res.errors
    assert sorted(p["replica"] for p in res.params) == [0, 1, 2]
    f_min = net.energy(minimiser[None])[0]
    np.testing.assert_allclose(res.column("loss"), f_min, rtol=1e-9)
    assert f_min < 0.5 * net.energy(np.zeros((1, 60)))[0]
    assert len({float(t) for t in res.column("trace")}) == 3  # replicas draw their own probes
    with pytest.raises(ValueError, match=r"start must be a finite vector of shape \(60,\)"):
        sharpness_sweep(_least_squares, [0.1], [4], n_steps=1, start=np.zeros(59))
    with pytest.raises(ValueError, match="n_replicas must be an integer >= 1"):
        sharpness_sweep(_least_squares, [0.1], [4], n_steps=1, n_replicas=0)
    with pytest.raises(ValueError, match="init_seed = 3 is not used when start is given"):
        sharpness_sweep(_least_squares, [0.1], [4], n_steps=1, start=np.zeros(60), init_seed=3)


@pytest.mark.parametrize("kwargs, match", [
    ({"lrs": [0.0], "sde_time": 1.0}, r"lrs\[0\].*> 0"),  # was ZeroDivisionError in round(t/η) on a worker
    ({"lrs": [0.1, np.inf]}, r"lrs\[1\]"),
    ({"batch_sizes": [4, 2.5]}, r"batch_sizes\[1\].*integer >= 1"),  # was run silently with B = 2
    ({"n_steps": 10.7}, r"n_steps.*integer >= 1"),  # was run silently with 10 steps
    ({"n_trace_products": 6.9}, r"n_trace_products.*integer >= 6"),  # was run silently with 6
])
def test_sharpness_sweep_checks_its_grid_and_counts_instead_of_truncating(kwargs, match):
    from sgdsde.geometry.sharpness import sharpness_sweep

    args = {"lrs": [0.1], "batch_sizes": [4], "n_steps": 10, **kwargs}
    if "sde_time" in kwargs:
        del args["n_steps"]
    with pytest.raises(ValueError, match=match):
        sharpness_sweep(_least_squares, args.pop("lrs"), args.pop("batch_sizes"), **args)
