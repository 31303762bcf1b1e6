"""Fokker–Planck densities on 1-D and 2-D grids, side by side with particle clouds.

:class:`Grid` (uniform cells, reflecting or periodic walls), :class:`FokkerPlanck` (the
Scharfetter–Gummel generator of an overdamped :class:`~sgdsde.sde.LangevinSDE`, its
stationary state, spectrum and probability current), :func:`evolve` (implicit Euler or
``expm_multiply``, with mass, E[U], entropy, free energy and KL tracked), and the comparison
with a cloud from :func:`~sgdsde.simulate.simulate` in :mod:`.compare`.
"""

from .compare import CloudComparison as CloudComparison
from .compare import compare_with_cloud as compare_with_cloud
from .compare import plot_density_vs_cloud as plot_density_vs_cloud
from .evolve import DensityEvolution as DensityEvolution
from .evolve import check_density as check_density
from .evolve import density_observables as density_observables
from .evolve import evolve as evolve
from .grid import Grid as Grid
from .operator import CoarseGridWarning as CoarseGridWarning
from .operator import FokkerPlanck as FokkerPlanck
from .operator import bernoulli as bernoulli
from .operator import generator_matrix as generator_matrix
