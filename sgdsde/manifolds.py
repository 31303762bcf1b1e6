"""Where particles live: flat space or a sphere of fixed radius.

A manifold projects drift and noise onto its tangent space and pulls a point that has left
it back onto it.  The integrators take a step in the ambient space with projected
increments and then retract; on the sphere the retraction ``x -> R x / |x|`` also supplies
the Itô drift ``-T (d - 1) x / R**2`` of Brownian motion on the sphere: with a tangent
increment ``v`` of variance ``2 T h`` per tangent direction,
``|x + v|**2 = R**2 + |v|**2`` and ``E|v|**2 = 2 T h (d - 1)``, so normalising shrinks the
point by ``T h (d - 1) / R**2`` on average.  No explicit Itô term is therefore added (it
would be counted twice).  Tests check ``E[x(t)·x(0)] = N exp(-T (N-1) t / N)`` on
``|x|**2 = N``.
"""

from __future__ import annotations

import math

import numpy as np

from ._checks import positive as _positive
from .random import STREAM_USER, normals, resolve_seed

__all__ = ["Manifold", "Euclidean", "Sphere"]


class Manifold:
    """Interface: tangent projection, retraction, random points.  Arrays are (M, d)."""

    name = "manifold"

    def project(self, x: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Tangent part of the vectors ``v`` (M, d) at the points ``x`` (M, d)."""
        raise NotImplementedError

    def retract(self, x: np.ndarray) -> np.ndarray:
        """Closest points of the manifold to the ambient points ``x`` (M, d)."""
        raise NotImplementedError

    def check(self, x: np.ndarray, name: str = "x0", rtol: float = 1e-6) -> None:
        """Raise ValueError if the points ``x`` are not on the manifold."""

    def step_too_large(self, x: np.ndarray, y: np.ndarray):
        """Boolean (M,): the step from ``x`` to ``y`` (both (M, d), on the manifold) is too
        large for the manifold to represent, or None where no step is (flat space)."""
        return None

    dim: int | None = None

    def random(self, n_particles: int, dim: int | None = None, seed: int | None = None,
               dtype=np.float64) -> np.ndarray:
        """``n_particles`` points drawn from the manifold's reference law, shape (M, dim).

        ``dim`` defaults to the manifold's own dimension when it was given one (a landscape's
        manifold knows it: ``H.manifold.random(4096, seed=1)``).
        """
        raise NotImplementedError

    @staticmethod
    def _count(n_particles) -> int:
        if (isinstance(n_particles, bool) or not isinstance(n_particles, (int, np.integer))
                or n_particles < 1):
            raise ValueError(f"n_particles must be an integer >= 1, got {n_particles!r}")
        return int(n_particles)

    def _dim(self, dim):
        dim = self.dim if dim is None else dim
        if dim is None:
            raise ValueError(f"{self!r} has no dimension of its own: pass dim=")
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
        return int(dim)


class Euclidean(Manifold):
    """Flat space R^d: projection and retraction are the identity.

    Parameters
    ----------
    dim : int, optional
        d, used as the default of :meth:`random`.
    """

    name = "euclidean"

    def __init__(self, dim: int | None = None):
        self.dim = None if dim is None else self._dim(dim)

    def project(self, x, v):
        return v

    def retract(self, x):
        return x

    def random(self, n_particles, dim=None, seed=None, dtype=np.float64):
        """Standard normal points (the reference law of flat space here), shape (M, dim)."""
        return normals(resolve_seed(seed), np.arange(self._count(n_particles)), 0, self._dim(dim),
                       stream=STREAM_USER, dtype=dtype)

    def __repr__(self):
        return "Euclidean()"

    def __eq__(self, other):
        return isinstance(other, Euclidean)

    def __hash__(self):
        return hash("Euclidean")


def _squared_norms(x):
    """``|x_m|²`` of each row, accumulated in float64.

    A float32 sum of d squares is off by up to ~d·2⁻²⁴ relative (3e-6 at d = 1e5), more than
    the tolerance of :meth:`Sphere.check`; float64 input is not copied.
    """
    x64 = x.astype(np.float64, copy=False)
    return np.einsum("md,md->m", x64, x64)


class Sphere(Manifold):
    """The sphere ``{x in R^d : |x| = radius}``; the p-spin model uses ``radius = sqrt(N)``.

    Parameters
    ----------
    radius : float
        Radius R > 0 (length units of x).
    dim : int, optional
        Dimension d of the ambient space, used as the default of :meth:`random`.
    """

    name = "sphere"

    def __init__(self, radius: float, dim: int | None = None):
        self.radius = _positive(radius, "radius")
        self.dim = None if dim is None else self._dim(dim)

    def project(self, x, v):
        """``v - (x·v / |x|**2) x``: removes the radial part."""
        xv = np.einsum("md,md->m", x, v)
        xx = np.einsum("md,md->m", x, x)
        return v - (xv / xx)[:, None] * x

    def retract(self, x):
        """``R x / |x|``.

        Raises
        ------
        ValueError
            If some point is the origin, whose direction (and so whose retraction) is
            undefined.
        """
        norms = np.sqrt(_squared_norms(x))
        if not np.all(norms > 0) and np.any(norms == 0):  # NaN rows pass on (they are caught as blow-ups)
            i = int(np.argmax(norms == 0))
            raise ValueError(f"x: particle {i} is the origin, which has no direction to retract "
                             f"onto the sphere |x| = {self.radius:g}")
        scale = self.radius / norms
        return x * scale.astype(x.dtype, copy=False)[:, None]

    def step_too_large(self, x, y):
        """True where the angle between ``x`` and ``y`` exceeds 45°.

        A retracted step ``y = R (x + v) / |x + v|`` with a tangent increment v turns x by
        ``atan(|v| / R)``, so this flags exactly the steps with ``|v| > R``: the retraction
        keeps such points on the sphere but the step no longer approximates the dynamics
        (dt is far too large).  Works on NumPy and CuPy arrays.
        """
        return (x * y).sum(axis=1) < math.sqrt(0.5) * self.radius**2

    def check(self, x, name="x0", rtol=1e-6):
        norm = np.sqrt(_squared_norms(x))
        bad = np.abs(norm - self.radius) > rtol * self.radius
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValueError(
                f"{name} must lie on the sphere |x| = {self.radius:g} (relative tolerance "
                f"{rtol:g}); particle {i} has |x| = {norm[i]:g}. Use Sphere.retract to project."
            )

    def random(self, n_particles, dim=None, seed=None, dtype=np.float64):
        """Points uniform on the sphere (normalised Gaussians), shape (M, dim)."""
        g = normals(resolve_seed(seed), np.arange(self._count(n_particles)), 0, self._dim(dim),
                    stream=STREAM_USER)
        return self.retract(g).astype(dtype, copy=False)

    def __repr__(self):
        return f"Sphere(radius={self.radius!r})"

    def __eq__(self, other):
        return isinstance(other, Sphere) and other.radius == self.radius

    def __hash__(self):
        return hash(("Sphere", self.radius))
