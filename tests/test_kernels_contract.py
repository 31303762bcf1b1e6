"""The contract between schemes and backends: kernels are declared by type, never by name.

A backend runs a scheme's fused kernel only while the scheme's ``step`` is the one its
:class:`~sgdsde.integrators.base.Kernels` were declared for; a subclass that overrides
``step`` runs its own step on every backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sgdsde.backends import get_backend
from sgdsde.integrators import ALL, EulerMaruyama
from sgdsde.integrators.base import ARRAY_FIELDS, Kernels, own_kernels, tangent_step
from sgdsde.landscapes.toy import DoubleWell
from sgdsde.random import STREAM_NOISE
from sgdsde.sde import LangevinSDE
from sgdsde.simulate import simulate


class HalfNoiseEM(EulerMaruyama):
    """Euler–Maruyama with half the noise amplitude: a user's subclass overriding step."""

    name = "HalfNoiseEM"

    def step(self, sde, state, n, dt, noise):
        x = state.x
        xi = noise.normals(n, sde.n_noise(), STREAM_NOISE).astype(x.dtype, copy=False)
        inc = -dt * sde.grad(x) + 0.5 * math.sqrt(dt) * sde.diffusion(x, xi)
        state.x = tangent_step(sde, x, inc.astype(x.dtype, copy=False))
        state.n_grad_evals += 1


class RenamedEM(EulerMaruyama):
    """A subclass that changes nothing but the name keeps the fused kernels."""

    name = "RenamedEM"


def _run(integrator, backend):
    sde = LangevinSDE(DoubleWell(), temperature=0.5)
    x0 = np.linspace(-1.0, 1.0, 70)[:, None]  # 70: more than one group of SIMD lanes
    return simulate(sde, integrator, x0, dt=0.01, n_steps=12, seed=3, backend=backend,
                    progress=False)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_subclass_overriding_step_is_never_replaced_by_a_fused_kernel(backend):
    own = _run(HalfNoiseEM(), backend)
    assert own.stats["fused"] is False
    assert own_kernels(HalfNoiseEM()) is None
    # Its own step, not the parent's: the reference of the subclass on NumPy ...
    ref = _run(HalfNoiseEM(), "numpy")
    np.testing.assert_allclose(own.final, ref.final, rtol=1e-12, atol=1e-14)
    # ... differs from Euler–Maruyama's by the noise it halved (~0.07 per step over 12 steps).
    em = _run(EulerMaruyama(), backend)
    assert np.max(np.abs(own.final - em.final)) > 0.05


def test_a_subclass_keeping_step_keeps_the_fused_kernel():
    renamed, em = _run(RenamedEM(), "numba"), _run(EulerMaruyama(), "numba")
    assert renamed.stats["fused"] is True
    assert np.array_equal(renamed.final, em.final)


def test_every_scheme_declares_kernels_for_its_own_step():
    numba = get_backend("numba")
    sde = LangevinSDE(DoubleWell(), temperature=0.5)
    for cls in ALL:
        kernels = own_kernels(cls())
        assert isinstance(kernels, Kernels) and kernels.step is cls.step, cls.name
        if kernels.numba is not None and not cls.underdamped:
            assert numba.can_fuse(cls(), sde), cls.name
        assert set(kernels.carries) <= set(ARRAY_FIELDS) - {"x"}


def test_carries_must_name_state_fields():
    with pytest.raises(ValueError, match="carries"):
        Kernels(step=EulerMaruyama.step, carries=("cache",))
