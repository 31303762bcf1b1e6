"""Sharpness along full-batch gradient descent, and the edge of stability.

Gradient descent ``θ ← θ − η ∇f(θ)`` on a quadratic is stable along an eigendirection of
curvature λ only if ``|1 − ηλ| ≤ 1``, i.e. ``λ ≤ 2/η``.  Cohen et al. ("Gradient descent on
neural networks typically occurs at the edge of stability", ICLR 2021, arXiv:2103.00065)
found that on networks the sharpness ``λ_max(∇²f)`` first rises during training
(*progressive sharpening*) until it reaches 2/η, and then hovers just around it while the
loss keeps decreasing non-monotonically.  The dimensionless ``λ_max η / 2`` is therefore 1 at
the edge.

:func:`sharpness_along_gd` runs the descent and records λ_max every few steps by Lanczos on
exact Hessian-vector products, warm-started from the previous top eigenvector (so a record
costs a few dozen products); :func:`fraction_near_edge` states what fraction of the late
records lies within a band around the edge.

The band
--------
Between two records the sharpness along an edge-of-stability run oscillates: a step that
overshoots (``λη/2 > 1``) makes the top-direction component grow by ``|1 − ηλ|`` per step, and
the growth self-corrects by reducing λ (Damian, Nichani & Lee, arXiv:2209.15594).  A run
that has *not* reached the edge sits at ``λη/2 ≤ 1 − δ`` for good; one that has converged to
a flat region sits well below.  We use the band ``|λη/2 − 1| ≤ band`` with ``band = 0.1`` by
default: Cohen et al.'s runs oscillate by a few per cent around 2/η, and a quadratic below
the edge by 10 % contracts its top direction by the factor 0.8 per step, i.e. it is plainly
stable, not marginal.  The figure and the fraction are reported for the band chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import real
from ..landscapes.base import Landscape, check_cloud
from ..manifolds import Euclidean
from .hessian import HessianOperator, extreme_eigenpairs

__all__ = ["SharpnessTrace", "sharpness_along_gd", "fraction_near_edge"]


@dataclass(frozen=True)
class SharpnessTrace:
    """Records of a full-batch gradient descent run.

    Attributes
    ----------
    steps : ndarray of int, shape (R,)
        Step numbers of the records (0 first).
    sharpness : ndarray, shape (R,)
        λ_max of the Hessian at each record (energy per length²).
    sharpness_error : ndarray, shape (R,)
        Residual bound of each λ_max.
    loss : ndarray, shape (n_steps + 1,)
        f after every step.
    lr : float
    final : ndarray, shape (d,)
    n_products : int
        Hessian-vector products spent on the records.
    """

    steps: np.ndarray
    sharpness: np.ndarray
    sharpness_error: np.ndarray
    loss: np.ndarray
    lr: float
    final: np.ndarray
    n_products: int

    @property
    def edge_ratio(self) -> np.ndarray:
        """``λ_max η / 2`` at the records (1 at the edge of stability)."""
        return self.sharpness * self.lr / 2


def sharpness_along_gd(landscape: Landscape, theta0, *, lr: float, n_steps: int, record_every: int = 10,
                       tol: float = 1e-6, seed: int | None = 0) -> SharpnessTrace:
    """Full-batch gradient descent with the sharpness recorded along the way.

    Parameters
    ----------
    landscape : Landscape
        Conservative, flat space, with Hessian-vector products (see
        :func:`~sgdsde.geometry.hessian.hessian_vector_product`).
    theta0 : array_like, shape (d,) or (1, d)
    lr : float
        η > 0.
    n_steps : int
        Steps ≥ 1.
    record_every : int
        Record λ_max every this many steps (and at the start and the end).
    tol : float
        Relative Lanczos tolerance.
    seed : int, optional
        Key of the first Lanczos start vector.

    Returns
    -------
    SharpnessTrace

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or inf (η far beyond the edge).
    """
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
    if not isinstance(landscape.manifold, Euclidean):
        raise ValueError("sharpness_along_gd runs plain gradient descent in flat space")
    theta = np.asarray(theta0, dtype=np.float64)
    theta = check_cloud(theta[None] if theta.ndim == 1 else theta, landscape.dim, "theta0").copy()
    if theta.shape[0] != 1 or not np.all(np.isfinite(theta)):
        raise ValueError("theta0 must be one finite point, shape (d,)")
    lr = real(lr, "lr")
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    for name, val in (("n_steps", n_steps), ("record_every", record_every)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {val!r}")
    steps, sharp, err, losses = [], [], [], [float(landscape.energy(theta)[0])]
    products, v0 = 0, None
    for k in range(n_steps + 1):
        if k % record_every == 0 or k == n_steps:
            res = extreme_eigenpairs(HessianOperator(landscape, theta[0]), k=1, v0=v0, seed=seed, tol=tol)
            v0 = res.vectors[:, 0]
            steps.append(k)
            sharp.append(res.values[0])
            err.append(res.errors[0])
            products += res.n_products
        if k == n_steps:
            break
        theta = theta - lr * landscape.grad(theta)
        losses.append(float(landscape.energy(theta)[0]))
        if not np.isfinite(losses[-1]):
            raise FloatingPointError(f"gradient descent diverged at step {k + 1} (lr = {lr} is far beyond "
                                     f"2/λ_max = {2 / sharp[-1]:.4g})")
    return SharpnessTrace(steps=np.array(steps), sharpness=np.array(sharp), sharpness_error=np.array(err),
                          loss=np.array(losses), lr=lr, final=theta[0], n_products=products)


def fraction_near_edge(trace: SharpnessTrace, band: float = 0.1, late: float = 0.5) -> float:
    """Fraction of the late records with ``|λ_max η/2 − 1| ≤ band``.

    Parameters
    ----------
    trace : SharpnessTrace
    band : float
        Half-width of the band, in (0, 1) (module docstring).
    late : float
        The records after this fraction of the run count, in [0, 1).

    Returns
    -------
    float
        In [0, 1].
    """
    band, late = real(band, "band"), real(late, "late")
    if not 0 < band < 1:
        raise ValueError(f"band must lie in (0, 1), got {band}")
    if not 0 <= late < 1:
        raise ValueError(f"late must lie in [0, 1), got {late}")
    keep = trace.steps >= late * trace.steps[-1]
    return float(np.mean(np.abs(trace.edge_ratio[keep] - 1) <= band))
