"""The NumPy reference backend: the readable specification of every step."""

from __future__ import annotations

import numpy as np

from .. import random as rnd
from ..integrators.base import NoiseSource
from .base import Backend

__all__ = ["NumpyBackend"]


class NumpyBackend(Backend):
    """Steps written with NumPy on whole clouds; noise from :mod:`sgdsde.random`."""

    name = "numpy"

    def noise_source(self, seed, particles, dtype):
        return NoiseSource(
            lambda step, dim, stream: rnd.normals(seed, particles, step, dim, stream),
            lambda step, stream: rnd.uniforms(seed, particles, step, 1, stream)[:, 0],
            seed=seed, particles=np.asarray(particles, dtype=np.int64),
        )
