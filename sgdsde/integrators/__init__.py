"""Integrators: each declares its strong and weak orders and its gradient cost per step."""

from .base import Integrator as Integrator
from .base import Kernels as Kernels
from .base import NoiseSource as NoiseSource
from .base import State as State
from .base import own_kernels as own_kernels
from .obabo import OBABO as OBABO
from .overdamped import MALA as MALA
from .overdamped import EulerMaruyama as EulerMaruyama
from .overdamped import Heun as Heun
from .overdamped import LeimkuhlerMatthews as LeimkuhlerMatthews
from .underdamped import BAOAB as BAOAB

ALL = (EulerMaruyama, Heun, LeimkuhlerMatthews, MALA, BAOAB, OBABO)
