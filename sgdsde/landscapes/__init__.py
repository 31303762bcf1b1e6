"""Landscapes: what the particles move on (energy, negative drift, Hessian; batched)."""

from .base import Landscape as Landscape
from .base import check_cloud as check_cloud
from .jax_model import JaxModel as JaxModel
from .mlp import MLP as MLP
from .networks import EmpiricalRisk as EmpiricalRisk
from .networks import LinearRegression as LinearRegression
from .networks import LogisticRegression as LogisticRegression
from .networks import TwoLayerMLP as TwoLayerMLP
from .pspin import MixedSphericalPSpin as MixedSphericalPSpin
from .pspin import SphericalPSpin as SphericalPSpin
from .toy import DoubleWell as DoubleWell
from .toy import MullerBrown as MullerBrown
from .toy import NarrowWideWells as NarrowWideWells
from .toy import NonConservative as NonConservative
from .toy import Quadratic as Quadratic
from .toy import Rugged as Rugged
from .toy import TiltedDoubleWell as TiltedDoubleWell
