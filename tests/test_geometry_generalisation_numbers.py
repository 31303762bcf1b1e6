"""Real-valued arguments of the geometry and generalisation API: ``bool`` and strings are not
numbers (sgdsde._checks); they used to pass through ``float()`` and run (True as 1.0)."""

from __future__ import annotations

import numpy as np
import pytest

from sgdsde.generalisation import (
    corrupt_labels,
    eta_over_b_sweep,
    layer_cushion,
    noise_attenuation,
    trace_rank,
)
from sgdsde.geometry import (
    entropy_sgd,
    extreme_eigenpairs,
    fraction_near_edge,
    hessian_vector_product,
    local_free_energy,
    local_free_energy_exact,
    nudged_elastic_band,
    sharpness_along_gd,
    spectral_density,
    string_method,
)
from sgdsde.landscapes import MullerBrown, Quadratic
from sgdsde.landscapes.mlp import MLP

Q = Quadratic(np.diag([1.0, 2.0]))
Q1 = Quadratic(np.eye(1))
X = np.arange(24.0).reshape(8, 3) / 10
NET = MLP(X, np.arange(8) % 2, widths=(3,))
MB = MullerBrown()
A, B = [-0.558, 1.442], [0.623, 0.028]


def _trace():
    return sharpness_along_gd(Q, [1.0, 1.0], lr=0.5, n_steps=2)


CASES = {
    "sharpness_along_gd lr": lambda v: sharpness_along_gd(Q, [1.0, 1.0], lr=v, n_steps=1),
    "fraction_near_edge band": lambda v: fraction_near_edge(_trace(), band=v),
    "fraction_near_edge late": lambda v: fraction_near_edge(_trace(), late=v),
    "hvp step": lambda v: hessian_vector_product(Q, np.ones((1, 2)), np.ones(2), method="finite_difference",
                                                 step=v),
    "extreme_eigenpairs tol": lambda v: extreme_eigenpairs(Quadratic(np.eye(4)), np.ones(4), k=1, tol=v),
    "density width": lambda v: spectral_density(Q, np.ones(2), n_lanczos=2, n_vectors=2).density([0.0], v),
    "local_free_energy_exact gamma": lambda v: local_free_energy_exact(Q1, [[0.0]], v, 0.5, bounds=[(-3, 3)],
                                                                      n_grid=11),
    "local_free_energy_exact temperature": lambda v: local_free_energy_exact(Q1, [[0.0]], 1.0, v,
                                                                            bounds=[(-3, 3)], n_grid=11),
    "local_free_energy dt": lambda v: local_free_energy(Q1, [[0.0]], 1.0, 0.5, n_steps=2, dt=v),
    "local_free_energy burn_in": lambda v: local_free_energy(Q1, [[0.0]], 1.0, 0.5, n_steps=2, burn_in=v),
    "entropy_sgd lr": lambda v: entropy_sgd(Q1, [[0.0]], lr=v, gamma=1.0, temperature=0.5, n_steps=0),
    "entropy_sgd inner_dt": lambda v: entropy_sgd(Q1, [[0.0]], lr=0.1, gamma=1.0, temperature=0.5, n_steps=0,
                                                  inner_dt=v),
    "entropy_sgd gamma_growth": lambda v: entropy_sgd(Q1, [[0.0]], lr=0.1, gamma=1.0, temperature=0.5,
                                                      n_steps=0, gamma_growth=v),
    "neb tol": lambda v: nudged_elastic_band(MB, A, B, n_images=5, tol=v, max_iter=1),
    "neb spring": lambda v: nudged_elastic_band(MB, A, B, n_images=5, spring=v, max_iter=1),
    "neb climb_after": lambda v: nudged_elastic_band(MB, A, B, n_images=5, climb_after=v, max_iter=1),
    "string step": lambda v: string_method(MB, A, B, n_images=5, step=v, max_iter=1),
    "eta_over_b_sweep sde_time": lambda v: eta_over_b_sweep(NET, (X, np.arange(8) % 2), [1.0], [4], n_runs=1,
                                                            sde_time=v),
    "noise_attenuation epsilon": lambda v: noise_attenuation(NET, NET.init_params(1, seed=0), 0, v, seed=0),
    "layer_cushion quantile": lambda v: layer_cushion(NET, NET.init_params(1, seed=0), quantile=v),
    "trace_rank fraction": lambda v: trace_rank([2.0, 1.0], fraction=v),
    "corrupt_labels fraction": lambda v: corrupt_labels(np.arange(8) % 2, v, 2, seed=0),
}


@pytest.mark.parametrize("value", [True, "0.5"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bools_and_strings_are_not_numbers(case, value):
    name = case.split()[-1]
    with pytest.raises(TypeError, match=name):
        CASES[case](value)


def test_sharpness_sweep_sde_time_is_a_number():
    from sgdsde.geometry import sharpness_sweep

    for value in (True, "1.0"):
        with pytest.raises(TypeError, match="sde_time"):
            sharpness_sweep(lambda: Q, [0.1], [4], sde_time=value)
