"""Measurements on clouds and traces: plain functions of arrays.

Distances between distributions (:mod:`.distances`), entropy and free energy
(:mod:`.entropy`), autocorrelation times (:mod:`.autocorrelation`) and first-passage /
escape statistics (:mod:`.escape`).
"""

from .autocorrelation import autocorrelation_function as autocorrelation_function
from .autocorrelation import effective_sample_size as effective_sample_size
from .autocorrelation import integrated_autocorrelation_time as integrated_autocorrelation_time
from .distances import histogram_density as histogram_density
from .distances import kl_divergence_grid as kl_divergence_grid
from .distances import kl_divergence_knn as kl_divergence_knn
from .distances import permutation_noise_floor as permutation_noise_floor
from .distances import sampling_noise_floor as sampling_noise_floor
from .distances import total_variation_grid as total_variation_grid
from .distances import wasserstein1 as wasserstein1
from .distances import wasserstein1_grid as wasserstein1_grid
from .entropy import free_energy as free_energy
from .entropy import gaussian_entropy as gaussian_entropy
from .entropy import histogram_entropy as histogram_entropy
from .entropy import knn_entropy as knn_entropy
from .entropy import knn_entropy_gaussian_bias as knn_entropy_gaussian_bias
from .entropy import relative_entropy_to_uniform_sphere as relative_entropy_to_uniform_sphere
from .escape import FirstPassageRecorder as FirstPassageRecorder
from .escape import escape_rate as escape_rate
from .escape import first_passage_times as first_passage_times
from .escape import mean_first_passage_time as mean_first_passage_time
from .escape import survival_function as survival_function
