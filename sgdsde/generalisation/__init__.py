"""What SGD's noise does to generalisation: memorisation, implicit regularisation, noise
stability, sharpness, and the non-equilibrium steady state.

* :mod:`.implicit_regularisation` — GD/SGD/momentum on under-determined least squares reach
  the interpolant closest to θ₀ (X⁺y from 0), checked against a gradient-norm bound; the
  same construction for a network's linearisation at initialisation;
* :mod:`.sharpness` — test accuracy and λ_max of SGD endpoints over a grid of (η, B);
* :mod:`.random_labels` — label corruption, random pixels, steps to memorise a training set;
* :mod:`.noise_stability` — noise injected at a layer and its attenuation above; layer
  cushions (Arora et al. 2018);
* :mod:`.nonequilibrium` — the rank spectrum of the gradient noise and the antisymmetric
  part of lag covariances (probability currents) of stationary traces.
"""

from .implicit_regularisation import InterpolantDistance as InterpolantDistance
from .implicit_regularisation import closest_interpolant as closest_interpolant
from .implicit_regularisation import interpolant_distance as interpolant_distance
from .implicit_regularisation import linearised_interpolant as linearised_interpolant
from .implicit_regularisation import output_jacobian as output_jacobian
from .noise_stability import forward_from as forward_from
from .noise_stability import layer_cushion as layer_cushion
from .noise_stability import noise_attenuation as noise_attenuation
from .nonequilibrium import LagAsymmetry as LagAsymmetry
from .nonequilibrium import block_lag_asymmetry as block_lag_asymmetry
from .nonequilibrium import lag_asymmetry as lag_asymmetry
from .nonequilibrium import noise_covariance_spectrum as noise_covariance_spectrum
from .nonequilibrium import trace_rank as trace_rank
from .random_labels import FitResult as FitResult
from .random_labels import accuracy as accuracy
from .random_labels import corrupt_labels as corrupt_labels
from .random_labels import random_pixels as random_pixels
from .random_labels import train_to_fit as train_to_fit
from .sharpness import eta_over_b_sweep as eta_over_b_sweep
