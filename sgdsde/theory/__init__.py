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
