"""The backend interface used by :func:`sgdsde.simulate`."""

from __future__ import annotations

import numpy as np

from ..integrators.base import Integrator, NoiseSource, State

__all__ = ["Backend"]


class Backend:
    """A place to run simulations.

    The driver asks a backend for a :class:`NoiseSource` (counter-based normals of a cloud's
    particles) and to ``advance`` a state by a number of steps.  The default ``advance`` runs
    the integrator's NumPy reference step by step; backends override it with fused kernels
    where they have them.
    """

    name = "backend"

    def noise_source(self, seed: int, particles: np.ndarray, dtype) -> NoiseSource:
        raise NotImplementedError

    def advance(self, integrator: Integrator, sde, state: State, step0: int, n_steps: int,
                dt: float, seed: int, particles: np.ndarray, max_abs: float,
                diverged: np.ndarray) -> int | None:
        """Advance ``state`` in place by ``n_steps`` steps starting at absolute step ``step0``.

        Particles that leave ``|x_k| <= max_abs`` (or become NaN), or take a step the
        manifold flags (:meth:`~sgdsde.manifolds.Manifold.step_too_large`), get their step
        recorded in ``diverged`` (−1 otherwise); the driver stops at the end of such a chunk.

        Returns None when the state reached ``step0 + n_steps``, or the absolute step it
        reached when the whole cloud stopped early at a divergence (batched paths do; fused
        kernels freeze only the diverged particles and take the others to the end).
        """
        noise = self.noise_source(seed, particles, state.x.dtype)
        manifold = sde.manifold
        for n in range(step0, step0 + n_steps):
            before = state.x
            integrator.step(sde, state, n, dt, noise)
            bad = ~np.all(np.abs(state.x) <= max_abs, axis=1)
            too_large = manifold.step_too_large(before, state.x)
            if too_large is not None:
                bad |= too_large
            if state.v is not None:
                bad |= ~np.all(np.abs(state.v) <= max_abs, axis=1)
            if bad.any():
                diverged[bad & (diverged < 0)] = n
                return n + 1
        return None

    def observe(self, save, sde, state: State) -> dict[str, np.ndarray]:
        """The observables of ``save`` at ``state``, as NumPy arrays (for the driver's records).

        Backends that keep the cloud elsewhere override this to reduce on their device.
        """
        return save.evaluate(sde, state.x, state.v)

    def to_host(self, a):
        """``a`` as a NumPy array (identity here; device backends copy it to the host)."""
        return a

    def __repr__(self):
        return f"<backend {self.name!r}>"
