"""Deprecated location of the Numba counter-based generator: see :mod:`sgdsde._random_numba`.

The kernels moved out of ``backends`` so that integrators and landscapes, which are lower
layers, use them without importing a backend.  This module re-exports them for code that
still imports from here.
"""

from .._random_numba import (  # noqa: F401
    LANES,
    fill_noise_block,
    fill_noise_lanes,
    noise_scratch,
    normal_steps_into,
    normals_into,
    philox,
    philox_lanes,
    slow_normal,
    uniform_at,
    word_to_normal,
)
