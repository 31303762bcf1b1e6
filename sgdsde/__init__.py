"""sgdsde: stochastic gradient descent as a stochastic differential equation.

Clouds of particles on landscapes, integrated with overdamped or underdamped Langevin
dynamics on the CPU (Numba) or the GPU (CuPy), with counter-based noise so that every
backend follows the same path.  See the README for the conventions (T = η/(2B), t = k·η).
"""

from . import backends as backends
from . import integrators as integrators
from . import landscapes as landscapes
from . import random as random
from .manifolds import Euclidean as Euclidean
from .manifolds import Sphere as Sphere
from .results import DivergenceError as DivergenceError
from .results import Trajectory as Trajectory
from .save import SaveAt as SaveAt
from .sde import IsotropicNoise as IsotropicNoise
from .sde import LangevinSDE as LangevinSDE
from .sde import MatrixNoise as MatrixNoise
from .sde import NoiseModel as NoiseModel
from .sde import StateDependentNoise as StateDependentNoise
from .simulate import simulate as simulate

__version__ = "0.1.0"
