"""Landscape geometry: Hessian spectra from Hessian-vector products, minimum-energy paths,
local entropy, outlier counts, the edge of stability and sharpness sweeps (see each module)."""

from .edge_of_stability import SharpnessTrace as SharpnessTrace
from .edge_of_stability import fraction_near_edge as fraction_near_edge
from .edge_of_stability import sharpness_along_gd as sharpness_along_gd
from .hessian import Eigenpairs as Eigenpairs
from .hessian import HessianOperator as HessianOperator
from .hessian import SpectralDensity as SpectralDensity
from .hessian import TraceEstimate as TraceEstimate
from .hessian import extreme_eigenpairs as extreme_eigenpairs
from .hessian import hessian_vector_product as hessian_vector_product
from .hessian import hutchpp_trace as hutchpp_trace
from .hessian import spectral_density as spectral_density
from .local_entropy import EntropySGDResult as EntropySGDResult
from .local_entropy import LocalFreeEnergy as LocalFreeEnergy
from .local_entropy import entropy_sgd as entropy_sgd
from .local_entropy import local_free_energy as local_free_energy
from .local_entropy import local_free_energy_exact as local_free_energy_exact
from .outliers import OutlierCount as OutlierCount
from .outliers import count_outliers as count_outliers
from .paths import MinimumEnergyPath as MinimumEnergyPath
from .paths import nudged_elastic_band as nudged_elastic_band
from .paths import straight_path as straight_path
from .paths import string_method as string_method
from .sharpness import endpoint_sharpness as endpoint_sharpness
from .sharpness import sharpness_sweep as sharpness_sweep
