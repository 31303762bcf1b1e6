"""The interface every landscape implements, and the input checks they share.

A landscape is what the particles move on.  All methods are batched over a cloud of M
particles, ``x`` of shape (M, d):

* ``energy(x) -> (M,)`` the potential U (energy units);
* ``grad(x) -> (M, d)`` the *negative drift*: ∇U for a conservative landscape, and for a
  non-conservative one the field ``b`` with ``dX = -b(X) dt + noise``;
* ``hessian(x) -> (M, d, d)`` the Jacobian of ``grad`` (optional, ``has_hessian``).

Cheap landscapes also carry a *fused kernel*: an integer ``fused_kind`` naming a pointwise
gradient in :mod:`sgdsde.landscapes._toy_numba` and a float64 parameter vector
``fused_params``, so an integrator kernel can compute the whole step of one particle in
registers.  Heavy landscapes (p-spin, networks) leave ``fused_kind = None`` and are run
through their batched, GEMM-shaped ``grad`` instead.

DESIGN — to add a landscape kernel: give the pointwise gradient and energy a new kind in
``_toy_numba.py`` (lanes of 64 particles) and ``sgdsde/_cuda/toy.cuh``, return that kind and
the parameter vector from the class; every integrator's fused kernel then runs on it, and
the backend-agreement tests compare it with the batched ``grad``.  Landscapes sit below
the integrators and backends and never import them (``tests/test_imports.py``).
"""

from __future__ import annotations

import numpy as np

from ..manifolds import Euclidean, Manifold

__all__ = ["Landscape", "check_cloud"]


def check_cloud(x, dim: int, name: str = "x", *, finite: bool = False) -> np.ndarray:
    """Return ``x`` as an (M, dim) float array, or raise a clear error.

    float32 and float64 are kept as they are; integer input is converted to float64; any
    other dtype or a wrong shape is an error naming ``name``.  Values are inspected only
    with ``finite`` (a ValueError naming the first row with NaN or inf): landscapes call this
    on every evaluation, and :func:`sgdsde.simulate` checks that the initial cloud is finite;
    measurements at given parameters ask for it.
    """
    x = np.asarray(x)
    if x.dtype.kind in "iub":
        x = x.astype(np.float64)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(
            f"{name} must have shape (n_particles, {dim}), got {x.shape}"
            + (" (a single point needs shape (1, d))" if x.ndim == 1 else "")
        )
    if finite:
        rows_ok = np.isfinite(x).all(axis=1)
        if not rows_ok.all():
            raise ValueError(f"{name} contains NaN or inf (row {int(np.argmin(rows_ok))})")
    return x


class Landscape:
    """Base class of all landscapes; see the module docstring for the contract.

    Attributes
    ----------
    dim : int
        Dimension d of the ambient space.
    manifold : Manifold
        Where the particles live (:class:`~sgdsde.manifolds.Euclidean` unless overridden).
    is_conservative : bool
        True if ``grad`` is the gradient of ``energy``.
    has_hessian : bool
        True if ``hessian`` is implemented.
    fused_kind : int or None
        Index of the pointwise kernel, or None if only the batched path exists.
    """

    dim: int
    manifold: Manifold = Euclidean()
    is_conservative: bool = True
    has_hessian: bool = True
    fused_kind: int | None = None

    @property
    def pointwise_is_cheap(self) -> bool:
        """True if the pointwise kernel beats the batched gradient (default: it does)."""
        return True

    def energy(self, x: np.ndarray) -> np.ndarray:
        """Potential energy U(x), shape (M,)."""
        raise NotImplementedError

    def grad(self, x: np.ndarray) -> np.ndarray:
        """Negative drift (∇U if conservative), shape (M, d)."""
        raise NotImplementedError

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Jacobian of :meth:`grad`, shape (M, d, d)."""
        raise NotImplementedError(f"{type(self).__name__} has no Hessian")

    def riemannian_gradient(self, x: np.ndarray) -> np.ndarray:
        """Gradient along the manifold, ``P(x) ∇U(x)``, shape (M, d) (``∇U`` in flat space).

        The one name for it in sgdsde: landscapes with a cheaper closed form override this.
        """
        return self.manifold.project(x, self.grad(x))

    @property
    def fused_params(self) -> np.ndarray:
        """float64 parameter vector of the fused kernel."""
        raise NotImplementedError(f"{type(self).__name__} has no fused kernel")

    def _check(self, x, name="x"):
        return check_cloud(x, self.dim, name)
