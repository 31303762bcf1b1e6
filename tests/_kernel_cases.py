"""Landscapes and integrators on which the fused kernels are checked against the reference.

Shared by the CPU build of the CUDA source (tests/test_cuda_source_on_cpu.py) and the
device tests (tests/test_gpu.py), so both check the same cases.
"""

import numpy as np

from sgdsde.integrators import BAOAB, MALA, OBABO, EulerMaruyama, Heun, LeimkuhlerMatthews
from sgdsde.landscapes.toy import DoubleWell, MullerBrown, NonConservative, Quadratic, Rugged

LANDSCAPES = {
    "double_well_1d": DoubleWell(),
    "tilted_double_well_2d": DoubleWell(dim=2, barrier=1.3, tilt=0.4, transverse_stiffness=0.5),
    "quadratic_3d": Quadratic(np.array([[2.0, 0.3, -0.1], [0.3, 1.0, 0.2], [-0.1, 0.2, 0.5]]),
                              center=[0.1, -0.2, 0.3]),
    # d = 6: the fused kernels' matrix-vector product takes four rows at a time plus a remainder
    "quadratic_6d": Quadratic(np.eye(6) + 0.1 * np.add.outer(np.arange(6), np.arange(6)) / 6
                              - 0.05 * np.diag(np.arange(6)), center=np.linspace(-0.3, 0.2, 6)),
    "muller_brown": MullerBrown(scale=0.05),
    "rugged_2d": Rugged(dim=2, stiffness=1.0, amplitude=0.2, wavelength=0.7),
    "nonconservative": NonConservative(np.diag([1.0, 2.0]), omega=0.7, center=[0.2, -0.1]),
}
INTEGRATORS = {"EulerMaruyama": EulerMaruyama(), "Heun": Heun(),
               "LeimkuhlerMatthews": LeimkuhlerMatthews(), "MALA": MALA(), "BAOAB": BAOAB(),
               "OBABO": OBABO()}
