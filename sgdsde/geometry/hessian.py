"""Hessian spectra from Hessian-vector products: extreme eigenpairs, trace, spectral density.

Nothing here forms a Hessian.  Every estimator is driven by products ``H v``, counted, and
returns its own error estimate:

* :func:`extreme_eigenpairs`: the top-k or bottom-k eigenpairs by implicitly restarted
  Lanczos (``scipy.sparse.linalg.eigsh`` on a :class:`HessianOperator`); the error bar of each
  eigenvalue is its residual ``|H u − λ u|``, a rigorous bound on the distance to the nearest
  true eigenvalue for a symmetric operator (Parlett, *The Symmetric Eigenvalue Problem*, 1998,
  Thm 4.5.1).
* :func:`hutchpp_trace`: Hutch++ (Meyer, Musco, Musco & Woodruff, SOSA 2021,
  arXiv:2010.09649): a third of the products find the dominant subspace Q, whose trace is
  exact; Hutchinson's estimator with Rademacher vectors handles the rest.  The standard error
  is that of the Hutchinson part (sample standard deviation over its vectors / sqrt(count)).
* :func:`spectral_density`: stochastic Lanczos quadrature (Golub & Meurant 1994; Ghorbani,
  Krishnan & Xiao, ICML 2019; Yao et al., PyHessian, arXiv:1912.07145): m Lanczos steps from
  each of n_v random unit vectors give Gauss quadrature nodes θ and weights τ with
  ``u^T f(H) u ≈ Σ τ f(θ)``; the density is their Gaussian-smoothed mixture, and the pointwise
  standard error is the spread over the n_v vectors.

Hessian-vector products (:func:`hessian_vector_product`)
--------------------------------------------------------
A landscape with an ``hvp(x, v)`` method (the networks: Pearlmutter's R-operator; the
quadratic) uses it.  The spherical spin glasses use an exact interpolation of their gradient:
``∇H(σ + t v)`` is a polynomial of degree ``p − 1`` in t, so its derivative at t = 0 follows
exactly (up to rounding) from its values at p points, whatever storage the couplings use.  A
landscape with only a dense ``hessian`` contracts it (exact, O(d²) per product).  Otherwise
the call fails naming the missing method; central finite differences of the gradient are used
only when asked for (``method="finite_difference"``).

Riemannian version on the sphere (docs/theory.md §7)
----------------------------------------------------
On ``|σ|² = R²`` with ``P = I − σσᵀ/R²``, the Riemannian Hessian applied to a tangent vector v
is ``P ∇²H v − (σ·∇H / R²) v``.  Derivation: the geodesic through σ with unit tangent v is
``γ(t) = σ cos(t/R) + R v sin(t/R)``, so ``γ''(0) = −σ/R²`` and
``d²H(γ)/dt² = vᵀ∇²H v + ∇H·γ''(0) = vᵀ∇²H v − (σ·∇H)/R²``; polarising gives the operator.  The
second term is the Weingarten (shape-operator) term of the sphere; with R² = N it is
``−(σ·∇H/N) v``, which for the pure p-spin is ``−p (H/N) v`` by Euler's relation and shifts the
semicircle bulk to centre ``−p u``.  The operator acts on tangent coordinates (an orthonormal
basis from one Householder reflection per point), so it has dimension d − 1 and no spurious
zero eigenvalue along σ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from .._checks import integer, real
from ..landscapes.base import Landscape, check_cloud
from ..landscapes.pspin import MixedSphericalPSpin, SphericalPSpin
from ..manifolds import Euclidean, Sphere
from ..random import STREAM_USER, normals, resolve_seed

__all__ = [
    "HessianOperator",
    "hessian_vector_product",
    "extreme_eigenpairs",
    "hutchpp_trace",
    "spectral_density",
    "Eigenpairs",
    "TraceEstimate",
    "SpectralDensity",
]

STREAM_PROBES = STREAM_USER + 30  # random probe vectors of the trace and density estimators
METHODS = ("exact", "finite_difference")


# ---------------------------------------------------------------------- products
def _polynomial_degree(landscape: Landscape) -> int | None:
    """Degree of the gradient as a polynomial in x (p − 1 for a spin glass), or None."""
    if isinstance(landscape, SphericalPSpin | MixedSphericalPSpin):
        return int(landscape.p) - 1
    return None


def _interpolation_weights(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric nodes t_j in [−1, 1] and weights w_j with ``q'(0) = Σ w_j q(t_j)`` for every
    polynomial q of degree < n_nodes (derivative of the Lagrange interpolant)."""
    t = np.cos(np.pi * (np.arange(n_nodes) + 0.5) / n_nodes)  # Chebyshev nodes: well conditioned
    vander = np.vander(t, n_nodes, increasing=True).T  # row k: t_j^k
    rhs = np.zeros(n_nodes)
    if n_nodes > 1:
        rhs[1] = 1.0  # d/dt t^k at 0 is 1 for k = 1 only
    return t, np.linalg.solve(vander, rhs)


def _check_direction(v, x: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=x.dtype)
    if v.shape not in (x.shape, x.shape[1:], (1, x.shape[1])):  # never broadcast along d
        raise ValueError(f"v must have shape {x.shape} or ({x.shape[1]},), got {v.shape}")
    v = np.broadcast_to(v, x.shape)
    if not np.all(np.isfinite(v)):
        raise ValueError("v contains NaN or inf")
    return v


def hessian_vector_product(landscape: Landscape, x, v, *, method: str = "exact",
                           step: float | None = None) -> np.ndarray:
    """Euclidean Hessian-vector products ``∇²U(x_m) v_m`` of a cloud, shape (M, d).

    Parameters
    ----------
    landscape : Landscape
        Conservative; see the module docstring for how each kind is handled.
    x : array_like, shape (M, d)
        Points.
    v : array_like, shape (M, d), or (d,) or (1, d)
        One direction per point, or one shared by all (never broadcast along d).
    method : {"exact", "finite_difference"}
        ``"finite_difference"``: ``(∇U(x + h v) − ∇U(x − h v)) / 2h`` (error O(h²)), only when
        asked for.
    step : float, optional
        h of the finite differences, relative to ``max(1, |x|)/|v|`` (default ``eps**(1/3)``,
        the optimum for central differences).

    Returns
    -------
    ndarray, shape (M, d)

    Raises
    ------
    NotImplementedError
        If ``method="exact"`` and the landscape has neither ``hvp`` nor ``hessian``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
    if not landscape.is_conservative:
        raise ValueError(f"{type(landscape).__name__} is not conservative: its Jacobian is not a "
                         "symmetric Hessian")
    x = check_cloud(x, landscape.dim)
    v = _check_direction(v, x)
    if method == "finite_difference":
        return _finite_difference_hvp(landscape, x, v, step)
    if step is not None:
        raise ValueError("step is used only by method='finite_difference'")
    if callable(getattr(landscape, "hvp", None)):
        return np.asarray(landscape.hvp(x, v))
    degree = _polynomial_degree(landscape)
    if degree is not None:
        return _polynomial_hvp(landscape, x, v, degree)
    if landscape.has_hessian and type(landscape).hessian is not Landscape.hessian:
        return np.einsum("mij,mj->mi", landscape.hessian(x), v)
    raise NotImplementedError(
        f"{type(landscape).__name__} has no Hessian-vector product: it defines neither "
        "hvp(x, v) nor hessian(x); add one, or pass method='finite_difference' to use central "
        "differences of its gradient")


def _polynomial_hvp(landscape, x, v, degree):
    """Exact ``∇²H v`` from ``degree + 1`` gradient values along ``x + t v`` (one batched call)."""
    t, w = _interpolation_weights(degree + 1)
    vnorm = np.linalg.norm(v, axis=1)
    scale = np.where(vnorm > 0, np.linalg.norm(x, axis=1) / np.where(vnorm > 0, vnorm, 1), 0.0)
    scale = np.where(scale > 0, scale, 1.0)  # t in units of |x|/|v|: the points stay at |x|'s scale
    m = x.shape[0]
    pts = (x[None] + (t[:, None, None] * scale[None, :, None]) * v[None]).reshape(-1, x.shape[1])
    g = np.asarray(landscape.grad(pts), dtype=np.float64).reshape(t.size, m, x.shape[1])
    return (np.tensordot(w, g, axes=1) / scale[:, None]).astype(x.dtype, copy=False)


def _finite_difference_hvp(landscape, x, v, step):
    eps = np.finfo(x.dtype).eps
    rel = eps ** (1 / 3) if step is None else real(step, "step")
    if not (np.isfinite(rel) and rel > 0):
        raise ValueError(f"step must be a finite number > 0, got {step}")
    vnorm = np.linalg.norm(v, axis=1)
    h = rel * np.maximum(1.0, np.linalg.norm(x, axis=1)) / np.where(vnorm > 0, vnorm, 1.0)
    both = np.concatenate([x + h[:, None] * v, x - h[:, None] * v])
    g = np.asarray(landscape.grad(both))
    m = x.shape[0]
    return (g[:m] - g[m:]) / (2 * h[:, None])


# ---------------------------------------------------------------------- the operator
class HessianOperator(LinearOperator):
    """The Hessian at one point as a ``scipy.sparse.linalg.LinearOperator``, counting products.

    In flat space it acts on R^d.  On a sphere (``riemannian=True``, the default there) it is
    the Riemannian Hessian ``P ∇²U v − (x·∇U/R²) v`` (module docstring) in the coordinates of an
    orthonormal tangent basis, so its dimension is d − 1.  A block of k vectors (``matmat``)
    costs one batched product call on a cloud of k copies of the point.

    Parameters
    ----------
    landscape : Landscape
    x : array_like, shape (d,) or (1, d)
        The point (on the landscape's manifold).
    riemannian : bool, optional
        Default: True on a sphere, False in flat space (where both are the same).
    method : {"exact", "finite_difference"}
        How products are computed (:func:`hessian_vector_product`).
    step : float, optional
        Relative step of the finite differences.

    Attributes
    ----------
    n_products : int
        Hessian-vector products done so far (one per column of a block).
    point : ndarray, shape (d,)
    """

    def __init__(self, landscape: Landscape, x, *, riemannian: bool | None = None,
                 method: str = "exact", step: float | None = None):
        if not isinstance(landscape, Landscape):
            raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
        x = np.asarray(x, dtype=np.float64)
        x = check_cloud(x[None] if x.ndim == 1 else x, landscape.dim)
        if x.shape[0] != 1:
            raise ValueError(f"x must be one point, shape (d,) or (1, d), got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or inf")
        manifold = landscape.manifold
        on_sphere = isinstance(manifold, Sphere)
        if riemannian is None:
            riemannian = on_sphere
        if riemannian and not isinstance(manifold, Sphere | Euclidean):
            raise TypeError(f"Riemannian Hessians are implemented on Euclidean and Sphere, got {manifold!r}")
        self.landscape, self.method, self.step = landscape, method, step
        self.riemannian = bool(riemannian) and on_sphere
        self.point = x[0]
        self.n_products = 0
        d = landscape.dim
        if self.riemannian:
            manifold.check(x, "x")
            unit = self.point / np.linalg.norm(self.point)
            self._house = unit.copy()
            self._house[-1] += 1.0 if unit[-1] >= 0 else -1.0
            self._house /= np.linalg.norm(self._house)
            g = np.asarray(landscape.grad(x), dtype=np.float64)[0]
            self._weingarten = float(self.point @ g) / float(self.point @ self.point)
            n = d - 1
        else:
            n = d
        super().__init__(np.float64, (n, n))

    @property
    def tangent_dim(self) -> int:
        """Dimension of the space the operator acts on (d, or d − 1 on the sphere)."""
        return self.shape[0]

    def to_ambient(self, c: np.ndarray) -> np.ndarray:
        """Tangent coordinates (n, k) to ambient vectors (d, k) (identity in flat space)."""
        if not self.riemannian:
            return c
        full = np.vstack([c, np.zeros((1, c.shape[1]))])
        return full - 2.0 * np.outer(self._house, self._house @ full)

    def to_tangent(self, w: np.ndarray) -> np.ndarray:
        """Ambient vectors (d, k) to tangent coordinates (n, k) (drops the normal part)."""
        if not self.riemannian:
            return w
        return (w - 2.0 * np.outer(self._house, self._house @ w))[:-1]

    def _matmat(self, c):
        c = np.asarray(c, dtype=np.float64).reshape(self.shape[0], -1)
        k = c.shape[1]
        w = self.to_ambient(c)
        cloud = np.broadcast_to(self.point, (k, self.landscape.dim))
        hv = hessian_vector_product(self.landscape, cloud, w.T, method=self.method, step=self.step)
        self.n_products += k
        hv = np.asarray(hv, dtype=np.float64).T
        if self.riemannian:
            hv = self.to_tangent(hv) - self._weingarten * c  # P is absorbed by dropping the normal
        if not np.all(np.isfinite(hv)):
            raise FloatingPointError("the Hessian-vector product returned NaN or inf")
        return hv

    def _matvec(self, c):
        return self._matmat(np.asarray(c).reshape(-1, 1))[:, 0]

    def _rmatvec(self, c):
        return self._matvec(c)  # symmetric

    def dense(self, block: int = 64) -> np.ndarray:
        """The full matrix from n products (small problems and tests), symmetrised.

        The identity's columns go through in blocks of ``block`` (each block is one batched
        call on a cloud of ``block`` copies of the point, which bounds the memory).
        """
        block = integer(block, "block", 1)
        n = self.shape[0]
        eye = np.eye(n)
        h = np.hstack([self._matmat(eye[:, lo:lo + block]) for lo in range(0, n, block)])
        return 0.5 * (h + h.T)


def _as_operator(operator_or_landscape, x, kwargs) -> HessianOperator:
    if isinstance(operator_or_landscape, HessianOperator):
        if x is not None or kwargs:
            raise ValueError("pass either a HessianOperator, or a landscape with x (and options)")
        return operator_or_landscape
    if x is None:
        raise ValueError("x (the point) is required with a landscape")
    return HessianOperator(operator_or_landscape, x, **kwargs)


# ---------------------------------------------------------------------- eigenpairs
@dataclass(frozen=True)
class Eigenpairs:
    """Extreme eigenpairs of a Hessian.

    Attributes
    ----------
    values : ndarray, shape (k,)
        Eigenvalues, descending for ``which="largest"``, ascending for ``"smallest"``.
    vectors : ndarray, shape (d, k)
        Unit eigenvectors in the ambient space (tangent to the sphere there).
    errors : ndarray, shape (k,)
        Residual norms ``|H u − λ u|``: each true eigenvalue lies within this of ``values``.
    n_products : int
        Hessian-vector products used.
    """

    values: np.ndarray
    vectors: np.ndarray
    errors: np.ndarray
    n_products: int


def _check_k(k, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if k > n:
        raise ValueError(f"k = {k} exceeds the dimension {n} of the Hessian (k must lie in [1, {n}])")
    return int(k)


def extreme_eigenpairs(landscape_or_operator, x=None, k: int = 6, *, which: str = "largest",
                       tol: float = 1e-8, v0=None, seed: int | None = 0, max_products: int | None = None,
                       **operator_options) -> Eigenpairs:
    """Top-k or bottom-k eigenpairs of the (Riemannian) Hessian by Lanczos.

    Parameters
    ----------
    landscape_or_operator : Landscape or HessianOperator
    x : array_like, shape (d,), optional
        The point (with a landscape).
    k : int
        Number of eigenpairs, 1 ≤ k ≤ n (n = d, or d − 1 on the sphere).  When k ≥ n − 1
        (beyond ARPACK's limit) the matrix is formed from n products and diagonalised.
    which : {"largest", "smallest"}
        Algebraically largest or smallest eigenvalues.
    tol : float
        Relative accuracy requested from ARPACK.
    v0 : array_like, shape (d,), optional
        Ambient starting vector (e.g. the previous top eigenvector when tracking sharpness).
    seed : int, optional
        Key of the random starting vector when ``v0`` is None.
    max_products : int, optional
        Cap on ARPACK's iterations, an integer ≥ 1 (default ``max(1000, 20 n)``).
    **operator_options
        ``riemannian``, ``method``, ``step`` of :class:`HessianOperator`.

    Returns
    -------
    Eigenpairs
    """
    op = _as_operator(landscape_or_operator, x, operator_options)
    n = op.tangent_dim
    k = _check_k(k, n)
    if which not in ("largest", "smallest"):
        raise ValueError(f"which must be 'largest' or 'smallest', got {which!r}")
    tol = real(tol, "tol")
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol}")
    if v0 is not None:
        v0 = np.asarray(v0, dtype=np.float64).ravel()
        if v0.shape != (op.landscape.dim,) or not np.all(np.isfinite(v0)):
            raise ValueError(f"v0 must be a finite vector of length {op.landscape.dim}")
    maxiter = max(1000, 20 * n) if max_products is None else integer(max_products, "max_products", 1)
    start = op.n_products
    if k >= n - 1:
        vals, vecs = np.linalg.eigh(op.dense())
    else:
        if v0 is None:
            start_vec = normals(resolve_seed(seed), np.arange(1), 0, n, STREAM_PROBES)[0]
        else:
            start_vec = op.to_tangent(v0[:, None])[:, 0]
        try:
            vals, vecs = eigsh(op, k=k, which="LA" if which == "largest" else "SA", tol=tol,
                               v0=start_vec, maxiter=maxiter)
        except ArpackNoConvergence as err:
            raise RuntimeError(f"Lanczos did not converge within {maxiter} restarts "
                               f"({len(err.eigenvalues)} of {k} eigenpairs found)") from err
    order = np.argsort(vals)[::-1] if which == "largest" else np.argsort(vals)
    vals, vecs = vals[order][:k], vecs[:, order][:, :k]
    residual = op._matmat(vecs) - vecs * vals
    op.n_products -= k  # the residual check is not part of the method's cost
    return Eigenpairs(values=vals, vectors=op.to_ambient(vecs), errors=np.linalg.norm(residual, axis=0),
                      n_products=op.n_products - start)


# ---------------------------------------------------------------------- trace
@dataclass(frozen=True)
class TraceEstimate:
    """A stochastic trace estimate: ``value ± stderr`` from ``n_products`` products."""

    value: float
    stderr: float
    n_products: int


def _rademacher(seed: int, n_vectors: int, n: int, step: int) -> np.ndarray:
    """(n, n_vectors) independent ±1 entries, from the counter-based generator."""
    return np.sign(normals(seed, np.arange(n_vectors), step, n, STREAM_PROBES)).T


def hutchpp_trace(landscape_or_operator, x=None, n_products: int = 60, *, seed: int | None = 0,
                  **operator_options) -> TraceEstimate:
    """Trace of the (Riemannian) Hessian by Hutch++ (Meyer et al. 2021, arXiv:2010.09649).

    With ``s = n_products // 3``: sketch ``Q = orth(H S)`` with s Rademacher vectors S, take
    ``tr(QᵀHQ)`` exactly (s products) and estimate ``tr((I − QQᵀ) H (I − QQᵀ))`` by Hutchinson
    with s more Rademacher vectors.  Unbiased; its variance is that of the deflated part only,
    so the error falls as 1/m rather than 1/sqrt(m) for spectra with a few large eigenvalues.

    Parameters
    ----------
    landscape_or_operator : Landscape or HessianOperator
    x : array_like, shape (d,), optional
    n_products : int
        Budget m ≥ 6 (a multiple of 3 uses it all).  With m ≥ n the trace is computed exactly
        from n products (error 0).
    seed : int, optional
        Key of the probe vectors.

    Returns
    -------
    TraceEstimate
        ``stderr`` is the sample standard deviation of the Hutchinson terms over sqrt(s)
        (0 when the trace is exact).
    """
    op = _as_operator(landscape_or_operator, x, operator_options)
    if isinstance(n_products, bool) or not isinstance(n_products, int | np.integer) or n_products < 6:
        raise ValueError(f"n_products must be an integer >= 6, got {n_products!r}")
    n = op.tangent_dim
    start = op.n_products
    if n_products >= n:
        return TraceEstimate(float(np.trace(op.dense())), 0.0, op.n_products - start)
    seed = resolve_seed(seed)
    s = int(n_products) // 3
    sketch = _rademacher(seed, s, n, 0)
    q, _ = np.linalg.qr(op.matmat(sketch))
    exact_part = float(np.sum(q * op.matmat(q)))
    g = _rademacher(seed, s, n, 1)
    g = g - q @ (q.T @ g)
    terms = np.sum(g * op.matmat(g), axis=0)
    stderr = float(terms.std(ddof=1) / np.sqrt(s)) if s > 1 else float("inf")
    return TraceEstimate(exact_part + float(terms.mean()), stderr, op.n_products - start)


# ---------------------------------------------------------------------- density
@dataclass(frozen=True)
class SpectralDensity:
    """Stochastic Lanczos quadrature of a Hessian's eigenvalue density.

    Attributes
    ----------
    nodes : ndarray, shape (n_vectors, m)
        Ritz values θ of each probe (Gauss quadrature nodes).  A probe whose Krylov space
        became invariant after s < m steps has s nodes; its last m − s entries are 0 padding
        with weight 0.
    weights : ndarray, shape (n_vectors, m)
        Squared first components τ of the Ritz vectors (sum to 1 per probe).
    n_products : int
    dimension : int
        n, the number of eigenvalues the density counts (d, or d − 1 on the sphere).
    """

    nodes: np.ndarray
    weights: np.ndarray
    n_products: int
    dimension: int

    def density(self, grid, width: float) -> tuple[np.ndarray, np.ndarray]:
        """Gaussian-smoothed density on ``grid`` and its standard error over probes.

        Parameters
        ----------
        grid : array_like, shape (G,)
            Eigenvalues at which to evaluate (energy units per length²).
        width : float
            Standard deviation of the Gaussian kernel (> 0); the estimate is the density of
            the spectrum convolved with it, integrating to 1.

        Returns
        -------
        density, stderr : ndarray, shape (G,)
        """
        width = real(width, "width")
        if not (np.isfinite(width) and width > 0):
            raise ValueError(f"width must be a finite number > 0, got {width}")
        grid = np.asarray(grid, dtype=np.float64)
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid)):
            raise ValueError(f"grid must be a non-empty vector of finite eigenvalues, got shape {grid.shape}")
        z = (grid[None, None, :] - self.nodes[:, :, None]) / width
        per_probe = np.einsum("vm,vmg->vg", self.weights, np.exp(-0.5 * z * z)) / (width * np.sqrt(2 * np.pi))
        nv = per_probe.shape[0]
        err = per_probe.std(axis=0, ddof=1) / np.sqrt(nv) if nv > 1 else np.full(grid.shape, np.inf)
        return per_probe.mean(axis=0), err

    def moment(self, f: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
        """``(1/n) tr f(H)`` by quadrature and its standard error over probes.

        ``f`` acts elementwise on a 1-D array of nodes; it is evaluated only at the nodes of
        positive weight (not at the padding of probes that stopped early, where e.g.
        ``f = np.log`` would give ``0 · (−inf) = NaN``).
        """
        used = self.weights > 0
        values = np.zeros_like(self.nodes)
        values[used] = np.asarray(f(self.nodes[used]), dtype=np.float64)
        per_probe = np.sum(self.weights * values, axis=1)
        nv = per_probe.size
        return float(per_probe.mean()), float(per_probe.std(ddof=1) / np.sqrt(nv)) if nv > 1 else np.inf


def spectral_density(landscape_or_operator, x=None, *, n_lanczos: int = 40, n_vectors: int = 8,
                     seed: int | None = 0, **operator_options) -> SpectralDensity:
    """Eigenvalue density of the (Riemannian) Hessian by stochastic Lanczos quadrature.

    All probes advance together: each Lanczos step is one block product of ``n_vectors``
    vectors (one batched call), with full reorthogonalisation against the probe's own basis
    (Lanczos loses orthogonality in floating point and would otherwise create ghost copies of
    converged eigenvalues).

    Parameters
    ----------
    landscape_or_operator : Landscape or HessianOperator
    x : array_like, shape (d,), optional
    n_lanczos : int
        Steps m per probe, 1 ≤ m ≤ n; m nodes resolve the density to a width of about
        (spectral range)/m.
    n_vectors : int
        Probes n_v ≥ 1 (≥ 2 for a standard error).
    seed : int, optional

    Returns
    -------
    SpectralDensity
    """
    op = _as_operator(landscape_or_operator, x, operator_options)
    n = op.tangent_dim
    for name, val, hi in (("n_lanczos", n_lanczos, n), ("n_vectors", n_vectors, None)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1 or (hi and val > hi):
            raise ValueError(f"{name} must be an integer in [1, {hi or 'inf'}], got {val!r}")
    m, nv = int(n_lanczos), int(n_vectors)
    start = op.n_products
    q = normals(resolve_seed(seed), np.arange(nv), 2, n, STREAM_PROBES).T
    q /= np.linalg.norm(q, axis=0)
    basis = np.zeros((m, n, nv))
    alpha, beta = np.zeros((nv, m)), np.zeros((nv, m))
    steps = np.full(nv, m)
    for j in range(m):
        basis[j] = q
        w = op.matmat(q)
        alpha[:, j] = np.sum(q * w, axis=0)
        # full reorthogonalisation (twice is enough: Giraud et al. 2005)
        for _ in range(2):
            w -= np.einsum("jnv,jv->nv", basis[: j + 1], np.einsum("jnv,nv->jv", basis[: j + 1], w))
        b = np.linalg.norm(w, axis=0)
        if j + 1 < m:
            beta[:, j] = b
            done = (b <= 1e-12 * np.maximum(1.0, np.abs(alpha[:, : j + 1]).max(axis=1))) & (steps == m)
            steps[done] = j + 1  # invariant subspace found: the quadrature is exact
            q = np.where(b > 0, w / np.where(b > 0, b, 1.0), 0.0)
    nodes, weights = np.zeros((nv, m)), np.zeros((nv, m))
    for v in range(nv):
        s = steps[v]
        theta, vecs = eigh_tridiagonal(alpha[v, :s], beta[v, : s - 1])
        nodes[v, :s], weights[v, :s] = theta, vecs[0] ** 2
    return SpectralDensity(nodes=nodes, weights=weights, n_products=op.n_products - start, dimension=n)
