"""Hessian spectra on the manifold: Riemannian gradient and Hessian, tangent eigenvalues,
and the shifted semicircle they are held against.

On the sphere ``|σ|² = R²`` the Riemannian gradient and Hessian of an energy ``H`` are

* ``grad_sp H = P ∇H``,
* ``Hess_sp H = P ∇²H P − (σ·∇H / R²) P``,  ``P = I − σσᵀ/R²``,

(the second term is the Weingarten map of the sphere).  As a matrix of the ambient space
``Hess_sp H`` has a spurious zero eigenvalue along the normal σ; the spectrum that decides the
index of a critical point lives on the tangent space, so every function here first restricts
to an orthonormal tangent basis (a Householder reflection per point) and returns the d − 1
tangent eigenvalues.  In flat space the basis is the identity and these are the ordinary
Hessian eigenvalues.

For the spherical p-spin model in the ABC normalisation (docs/theory.md §4) the tangent spectrum at
a point of energy per spin u is, for large N, a semicircle centred at ``−p u`` (Euler's
relation ``σ·∇H = pH`` makes the shift exact at every point, critical or not) with radius
``2 sqrt(p (p − 1))``; its lower edge vanishes at the threshold ``u = −E_∞``, where
gradient descent ends (marginality).

References
----------
A. Auffinger, G. Ben Arous, J. Černý, "Random matrices and complexity of spin glasses",
Comm. Pure Appl. Math. 66, 165 (2013), arXiv:1003.1129.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from .._checks import integer
from ..landscapes.base import Landscape
from ..manifolds import Euclidean, Manifold, Sphere

__all__ = [
    "riemannian_gradient",
    "riemannian_hessian",
    "tangent_basis",
    "tangent_hessian",
    "hessian_spectrum",
    "spectrum_observable",
    "semicircle",
    "pspin_semicircle",
    "semicircle_moments",
    "semicircle_distance",
]


def _check_manifold(manifold: Manifold) -> None:
    if not isinstance(manifold, Euclidean | Sphere):
        raise TypeError(f"Riemannian spectra are implemented on Euclidean and Sphere manifolds, "
                        f"got {manifold!r}")


def _require_hessian(landscape: Landscape) -> None:
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
    if not landscape.has_hessian:
        raise ValueError(f"{type(landscape).__name__} has no Hessian (has_hessian is False); "
                         "tangent spectra and critical-point indices need one")
    if not landscape.is_conservative:
        raise ValueError(f"{type(landscape).__name__} is not conservative: its Jacobian is not "
                         "symmetric, so it has no Hessian spectrum or critical-point index")


def _check_points(landscape: Landscape, x) -> np.ndarray:
    """``x`` as an (M, d) array of finite points: the Hessian of a NaN point is undefined."""
    x = landscape._check(x, "x")
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        raise ValueError(f"x: point {int(np.argmin(finite))} contains NaN or inf; a Hessian "
                         "spectrum needs finite points")
    return x


def riemannian_gradient(landscape: Landscape, x: np.ndarray) -> np.ndarray:
    """Gradient of the energy along the manifold, ``P ∇H``, shape (M, d).

    The landscape's :meth:`~sgdsde.landscapes.Landscape.riemannian_gradient`, after checking
    its manifold is one this module knows.
    """
    manifold = landscape.manifold
    _check_manifold(manifold)
    if isinstance(manifold, Euclidean):
        return landscape.grad(x)
    return landscape.riemannian_gradient(x)


def riemannian_hessian(landscape: Landscape, x: np.ndarray) -> np.ndarray:
    """Riemannian Hessian as an ambient matrix, ``P ∇²H P − (σ·∇H/R²) P``, shape (M, d, d).

    Uses the landscape's own ``riemannian_hessian`` when it has one.  In flat space this is
    the Hessian.
    """
    _require_hessian(landscape)
    manifold = landscape.manifold
    _check_manifold(manifold)
    if isinstance(manifold, Euclidean):
        return landscape.hessian(x)
    if hasattr(landscape, "riemannian_hessian"):
        return landscape.riemannian_hessian(x)
    x = np.asarray(x)
    h = landscape.hessian(x)
    r2 = np.einsum("md,md->m", x, x)
    proj = np.eye(x.shape[1], dtype=h.dtype) - np.einsum("mi,mj->mij", x, x) / r2[:, None, None]
    weingarten = np.einsum("md,md->m", x, landscape.grad(x)) / r2
    return proj @ h @ proj - weingarten[:, None, None] * proj


def tangent_basis(manifold: Manifold, x: np.ndarray) -> np.ndarray:
    """Orthonormal bases of the tangent spaces at ``x`` (M, d): shape (M, d, d_t).

    ``d_t = d`` in flat space (the identity) and ``d − 1`` on the sphere, where the basis is
    the first d − 1 columns of the Householder reflection that maps ``x/|x|`` to ``∓e_{d−1}``
    (numerically stable for every x, unlike Gram–Schmidt against a fixed vector).
    """
    _check_manifold(manifold)
    x = np.asarray(x, dtype=np.float64)
    m, d = x.shape
    if isinstance(manifold, Euclidean):
        return np.broadcast_to(np.eye(d), (m, d, d))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    sign = np.where(unit[:, -1] >= 0, 1.0, -1.0)
    v = unit.copy()
    v[:, -1] += sign
    reflection = np.eye(d) - 2.0 * np.einsum("mi,mj->mij", v, v) / np.einsum("md,md->m", v, v)[:, None, None]
    return reflection[:, :, :-1]


def tangent_hessian(landscape: Landscape, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Riemannian Hessian restricted to the tangent space, and the basis used.

    Returns
    -------
    hess : ndarray, shape (M, d_t, d_t)
        ``Qᵀ Hess_sp Q``, symmetrised against rounding.
    basis : ndarray, shape (M, d, d_t)
        The orthonormal tangent bases Q (see :func:`tangent_basis`).
    """
    _require_hessian(landscape)
    x = _check_points(landscape, x)
    basis = tangent_basis(landscape.manifold, x)
    h = riemannian_hessian(landscape, x).astype(np.float64, copy=False)
    ht = np.swapaxes(basis, 1, 2) @ h @ basis
    return 0.5 * (ht + np.swapaxes(ht, 1, 2)), basis


def hessian_spectrum(landscape: Landscape, x: np.ndarray) -> np.ndarray:
    """Eigenvalues of the Riemannian Hessian on the tangent space, ascending.

    Parameters
    ----------
    landscape : Landscape
        Must have a Hessian; on the sphere its normal direction is excluded.
    x : ndarray, shape (M, d)
        Points on the landscape's manifold.

    Returns
    -------
    ndarray, shape (M, d_t)
        ``d_t = d`` in flat space, ``d − 1`` on the sphere (energy units per length²).
    """
    return np.linalg.eigvalsh(tangent_hessian(landscape, x)[0])


def spectrum_observable(landscape: Landscape, n_particles: int | None = None
                        ) -> Callable[[np.ndarray], np.ndarray]:
    """A :class:`~sgdsde.save.SaveAt` observable recording tangent Hessian spectra.

    Parameters
    ----------
    landscape : Landscape
    n_particles : int, optional
        An integer >= 1: diagonalise only the first ``n_particles`` of the cloud at each
        record (a Hessian costs O(d³) per particle); all of them when None.

    Returns
    -------
    callable
        ``fn(x) -> (m, d_t)`` eigenvalues, for ``SaveAt(observables={"spectrum": fn})``.
    """
    _require_hessian(landscape)
    if n_particles is not None:
        n_particles = integer(n_particles, "n_particles", 1)

    def spectrum(x):
        return hessian_spectrum(landscape, x if n_particles is None else x[:n_particles])

    return spectrum


def semicircle(center: float, radius: float):
    """The semicircle law on ``[center − radius, center + radius]`` as a frozen scipy law.

    Density ``2/(π r²) sqrt(r² − (λ − c)²)``; mean c, variance r²/4
    (``scipy.stats.semicircular`` with ``loc = c``, ``scale = r``).
    """
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a finite number > 0, got {radius}")
    if not np.isfinite(center):
        raise ValueError(f"center must be finite, got {center}")
    return stats.semicircular(loc=float(center), scale=float(radius))


def pspin_semicircle(energy_per_spin, p: int) -> tuple[np.ndarray, float]:
    """Centre ``−p u`` and radius ``2 sqrt(p (p − 1))`` of the p-spin Hessian bulk (ABC units).

    Parameters
    ----------
    energy_per_spin : float or array_like
        u = H/N (ABC normalisation, ``ξ(q) = q^p``), finite.
    p : int
        Interaction order, p ≥ 2.

    Returns
    -------
    center : ndarray
        ``−p u``, the shape of ``energy_per_spin``.
    radius : float
    """
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or p < 2:
        raise ValueError(f"p must be an integer >= 2, got {p!r}")
    u = np.asarray(energy_per_spin, dtype=np.float64)
    if not np.all(np.isfinite(u)):
        raise ValueError(f"energy_per_spin must be finite, got {energy_per_spin}")
    return -p * u, 2.0 * np.sqrt(p * (p - 1.0))


def semicircle_moments(eigenvalues: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and radius of the semicircle with the same mean and variance, per spectrum.

    A semicircle of radius r has variance r²/4, so ``c = mean``, ``r = 2·sd``; ``c − r``
    estimates the lower edge of the bulk without relying on the (fluctuating) smallest
    eigenvalue.

    Parameters
    ----------
    eigenvalues : ndarray, shape (..., n)
        One spectrum per leading index.

    Returns
    -------
    center, radius : ndarray, shape (...)
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim < 1 or lam.shape[-1] < 2:
        raise ValueError(f"eigenvalues must have at least 2 values per spectrum, got shape {lam.shape}")
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues contains NaN or inf")
    return lam.mean(axis=-1), 2.0 * lam.std(axis=-1)


def semicircle_distance(eigenvalues: np.ndarray, center, radius: float) -> float:
    """Kolmogorov–Smirnov distance between pooled eigenvalues and a semicircle.

    Parameters
    ----------
    eigenvalues : ndarray, shape (M, n) or (n,)
        Spectra; with several rows and per-row centres, each row is shifted by its own
        ``center`` first (so spectra at different energies can be pooled).
    center : float or ndarray, shape (M,)
    radius : float

    Returns
    -------
    float
        ``sup |F_emp − F_sc|`` (dimensionless).
    """
    lam = np.atleast_2d(np.asarray(eigenvalues, dtype=np.float64))
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues contains NaN or inf")
    center = np.asarray(center, dtype=np.float64)
    if center.shape not in ((), lam.shape[:1]):
        raise ValueError(f"center must be a number or one per spectrum, shape {lam.shape[:1]}, "
                         f"got shape {center.shape}")
    if not np.all(np.isfinite(center)):
        raise ValueError("center contains NaN or inf")
    shift = np.broadcast_to(center, lam.shape[:1])
    pooled = (lam - shift[:, None]).ravel()
    return float(stats.kstest(pooled, semicircle(0.0, radius).cdf).statistic)
