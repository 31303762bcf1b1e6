"""Shared fixtures of the test suite: toy landscapes, seeds, Numba thread control."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import Phase, settings

from sgdsde.landscapes.toy import DoubleWell, MullerBrown, NonConservative, Quadratic, Rugged

# Property tests stay fast and deterministic on a shared 2-core machine; individual tests
# size max_examples themselves.
settings.register_profile("sgdsde", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("sgdsde")
# For a timed run on a lent GPU (benchmarks/gpu_device_check.sh, `--hypothesis-profile=no-shrink`):
# a failing example is reported as drawn instead of being shrunk, which can take minutes.
settings.register_profile("no-shrink", parent=settings.get_profile("sgdsde"),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])


def toy_landscapes() -> dict:
    """One instance of every toy landscape, with non-trivial parameters (name -> landscape)."""
    a3 = np.array([[2.0, 0.3, -0.1], [0.3, 1.0, 0.2], [-0.1, 0.2, 0.5]])
    return {
        "quadratic": Quadratic(a3, center=[0.1, -0.2, 0.3]),
        # d = 6: the fused matrix-vector product's four-row blocks plus a remainder of two
        "quadratic_6d": Quadratic(np.eye(6) + 0.1 * np.add.outer(np.arange(6), np.arange(6)) / 6,
                                  center=np.linspace(-0.3, 0.2, 6)),
        "double_well_1d": DoubleWell(),
        "double_well_3d": DoubleWell(dim=3, barrier=0.7, tilt=0.0, transverse_stiffness=2.0),
        "tilted_double_well": DoubleWell(dim=2, barrier=1.3, tilt=0.4, transverse_stiffness=0.5),
        "muller_brown": MullerBrown(scale=0.05),
        "rugged": Rugged(dim=2, stiffness=1.0, amplitude=0.2, wavelength=0.7),
        "nonconservative": NonConservative(np.diag([1.0, 2.0]), omega=0.7, center=[0.2, -0.1]),
    }


@pytest.fixture(params=sorted(toy_landscapes()))
def toy_landscape(request):
    """Every toy landscape in turn."""
    return toy_landscapes()[request.param]


@pytest.fixture
def numba_threads():
    """A context manager ``numba_threads(n)``: run a block with ``n`` Numba threads, then restore.

    ``n`` is capped at the configured number of threads; the context yields the number used.
    """
    import numba

    @contextlib.contextmanager
    def use(n: int):
        n = min(n, numba.config.NUMBA_NUM_THREADS)
        old = numba.get_num_threads()
        numba.set_num_threads(n)
        try:
            yield n
        finally:
            numba.set_num_threads(old)

    return use
