"""What SGD's noise does to generalisation: memorisation, implicit regularisation, noise
stability, sharpness, and the non-equilibrium steady state.

* :mod:`.implicit_regularisation` — GD/SGD/momentum on under-determined least squares reach
  the interpolant closest to θ₀ (X⁺y from 0), checked against a gradient-norm bound; the
  same construction for a network's linearisation at initialisation.
"""

from .implicit_regularisation import InterpolantDistance as InterpolantDistance
from .implicit_regularisation import closest_interpolant as closest_interpolant
from .implicit_regularisation import interpolant_distance as interpolant_distance
from .implicit_regularisation import linearised_interpolant as linearised_interpolant
from .implicit_regularisation import output_jacobian as output_jacobian
