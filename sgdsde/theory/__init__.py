"""Closed forms and exact references: OU, Boltzmann densities, Kramers, p-spin constants."""

from .boltzmann import boltzmann_density_1d as boltzmann_density_1d
from .complexity_counts import ExpectedCounts as ExpectedCounts
from .complexity_counts import expected_counts as expected_counts
from .complexity_counts import goe_eigenvalues as goe_eigenvalues
from .kramers import kramers_rate as kramers_rate
from .kramers import mean_first_passage_time_1d as mean_first_passage_time_1d
from .ornstein_uhlenbeck import em_stationary_variance as em_stationary_variance
from .ornstein_uhlenbeck import ou_moments as ou_moments
from .ornstein_uhlenbeck import ou_transition as ou_transition
from .pspin import I1 as I1
from .pspin import PSpinCovariance as PSpinCovariance
from .pspin import complexity as complexity
from .pspin import complexity_by_index as complexity_by_index
from .pspin import dynamical_temperature as dynamical_temperature
from .pspin import ground_state_energy as ground_state_energy
from .pspin import layer_energy as layer_energy
from .pspin import paramagnetic_energy as paramagnetic_energy
from .pspin import static_temperature as static_temperature
from .pspin import threshold_energy as threshold_energy
