"""Measurements on clouds and traces: plain functions of arrays.

Distances between distributions (:mod:`.distances`), entropy and free energy
(:mod:`.entropy`), autocorrelation times (:mod:`.autocorrelation`), first-passage /
escape statistics (:mod:`.escape`), gradient signal, noise and tails
(:mod:`.gradient_stats`), critical points (:mod:`.critical_points`) and Hessian spectra
(:mod:`.spectra`).
"""

from .autocorrelation import autocorrelation_function as autocorrelation_function
from .autocorrelation import effective_sample_size as effective_sample_size
from .autocorrelation import integrated_autocorrelation_time as integrated_autocorrelation_time
from .critical_points import CriticalPoints as CriticalPoints
from .critical_points import chao1 as chao1
from .critical_points import count_by_index as count_by_index
from .critical_points import discovery_curve as discovery_curve
from .critical_points import find_critical_points as find_critical_points
from .critical_points import random_starts as random_starts
from .critical_points import starts_along_dynamics as starts_along_dynamics
from .critical_points import unseen_probability as unseen_probability
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
from .gradient_stats import covariance_trace as covariance_trace
from .gradient_stats import fluctuation_dissipation_residual as fluctuation_dissipation_residual
from .gradient_stats import gradient_statistics as gradient_statistics
from .gradient_stats import gradient_variance_bound as gradient_variance_bound
from .gradient_stats import mean_gradient as mean_gradient
from .gradient_stats import signal_to_noise as signal_to_noise
from .gradient_stats import simple_noise_scale as simple_noise_scale
from .gradient_stats import symmetric_stable as symmetric_stable
from .gradient_stats import tail_index as tail_index
from .gradient_stats import tail_index_per_coordinate as tail_index_per_coordinate
from .gradient_stats import target_family_gradient_variance as target_family_gradient_variance
from .spectra import hessian_spectrum as hessian_spectrum
from .spectra import pspin_semicircle as pspin_semicircle
from .spectra import riemannian_gradient as riemannian_gradient
from .spectra import riemannian_hessian as riemannian_hessian
from .spectra import semicircle as semicircle
from .spectra import semicircle_distance as semicircle_distance
from .spectra import semicircle_moments as semicircle_moments
from .spectra import spectrum_observable as spectrum_observable
from .spectra import tangent_basis as tangent_basis
from .spectra import tangent_hessian as tangent_hessian
