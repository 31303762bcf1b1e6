"""sgdsde: stochastic gradient descent as a stochastic differential equation.

Clouds of particles on landscapes, integrated with overdamped or underdamped Langevin
dynamics on the CPU (Numba) or the GPU (CuPy), with counter-based noise so that every
backend follows the same path.  See the README for the conventions (T = η/(2B), t = k·η).
"""

import os as _os

# Numba's OpenMP threads spin-wait between parallel regions by default; alternating them with
# BLAS calls (the batched path of p-spin, networks and dense quadratics) then makes both
# thread pools fight for the cores: 10x slower steps were measured on 2 cores.  Passive
# waiting costs microseconds per kernel launch.  A value the user has set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
_os.environ.setdefault("KMP_BLOCKTIME", "0")

from . import backends as backends  # noqa: E402
from . import fokker_planck as fokker_planck  # noqa: E402
from . import generalisation as generalisation  # noqa: E402
from . import geometry as geometry  # noqa: E402
from . import integrators as integrators  # noqa: E402
from . import labelled as labelled  # noqa: E402
from . import landscapes as landscapes  # noqa: E402
from . import measure as measure  # noqa: E402
from . import random as random  # noqa: E402
from . import sgd as sgd  # noqa: E402
from . import theory as theory  # noqa: E402
from ._threads import get_blas_threads as get_blas_threads  # noqa: E402
from ._threads import set_blas_threads as set_blas_threads  # noqa: E402
from .manifolds import Euclidean as Euclidean  # noqa: E402
from .manifolds import Sphere as Sphere  # noqa: E402
from .results import DivergenceError as DivergenceError  # noqa: E402
from .results import Trajectory as Trajectory  # noqa: E402
from .results import TrajectoryFileError as TrajectoryFileError  # noqa: E402
from .save import SaveAt as SaveAt  # noqa: E402
from .sde import IsotropicNoise as IsotropicNoise  # noqa: E402
from .sde import LangevinSDE as LangevinSDE  # noqa: E402
from .sde import MatrixNoise as MatrixNoise  # noqa: E402
from .sde import NoiseModel as NoiseModel  # noqa: E402
from .sde import StateDependentNoise as StateDependentNoise  # noqa: E402
from .simulate import simulate as simulate  # noqa: E402

__version__ = "0.1.0"
