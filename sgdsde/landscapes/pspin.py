"""The spherical p-spin glass: pure and mixed, batched over clouds of configurations.

Conventions (docs/theory.md §4)
-------------------------------
Configurations live on the sphere ``|σ|² = N``; the overlap is ``q = σ·σ'/N`` and
``E[H(σ) H(σ')] = N ξ(q)``.

* ABC (default; Auffinger, Ben Arous & Černý, CPAM 66, 165 (2013)):
  ``H(σ) = N^{−(p−1)/2} Σ_{i1..ip} J_{i1..ip} σ_{i1}⋯σ_{ip}`` with all ``N^p`` couplings
  i.i.d. N(0, 1), so ``ξ(q) = q^p`` exactly at every N.
* CK (Cugliandolo & Kurchan, PRL 71, 173 (1993)): ``H = −Σ_{i1<..<ip} J σ_{i1}⋯σ_{ip}`` with
  ``Var J = p!/(2 N^{p−1})``, so ``ξ(q) ≈ q^p/2`` (exactly ``(p!/(2N^{p−1})) e_p(σ∘σ')``,
  ``e_p`` the elementary symmetric polynomial).
* Mixed: ``H = Σ_p c_p H_p`` with independent pure ``H_p``, ``ξ(q) = Σ_p c_p² ξ_p(q)``.

Storage
-------
Only the symmetrised tensor enters H, so the model stores, for each degree, the symmetric
dense tensor ``K`` (energy units) with ``H_p(σ) = Σ K_{i1..ip} σ_{i1}⋯σ_{ip}``.  Its law is
that of the symmetrised i.i.d. tensor, ``J_sym = (1/p!) Σ_π J∘π``; the tensor is built by
adding each slab of i.i.d. normals into all ``p!`` transposed positions, which needs
memory for ``K`` plus one slab (never a second full tensor).  CK is the same tensor times
``−1/√2`` with the entries of repeated indices set to zero, so one seed gives the "same"
sample in both normalisations.  Couplings are drawn in float64 from
``numpy.random.default_rng([seed, p])`` and stored in the requested dtype: one seed gives
the same sample (to rounding) in float32 and float64, and the degree-p tensor of a
mixture is the one of the pure model of the same seed.

Computation
-----------
With ``Y = x^{⊗(p−1)}`` the particles' outer products, shape (M, N^{p−1}), the gradient is
one GEMM, ``∇H_p = p Y K_matᵀ`` with ``K_mat = K.reshape(N, N^{p−1})``, and the energy
follows from Euler's relation ``σ·∇H_p = p H_p`` at no extra cost.  The cloud is cut into
chunks so that ``Y`` never exceeds ``workspace_bytes``.  Clouds of at most ``small_batch``
particles can instead use a Numba kernel that reads only the N³/6 sorted entries of a
degree-3 tensor (:mod:`._pspin_numba`); it is off by default (``small_batch=0``) because on
the machines measured so far BLAS was as fast or faster (``benchmarks/pspin.py`` measures the
crossover).  Arithmetic runs in the couplings'
dtype; results come back in the dtype of ``x`` (float32 stays float32).

``energy``, ``grad`` and ``hessian`` are the polynomial extension of H to all of R^N (the
integrators take ambient steps and finite differences need it); the Riemannian methods
and ``overlap`` require points on the sphere.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numba
import numpy as np

from ..manifolds import Sphere
from ..theory.pspin import PSpinCovariance, check_degree, check_normalization
from . import _pspin_numba
from .base import Landscape

__all__ = ["SphericalPSpin", "MixedSphericalPSpin", "available_memory_bytes"]

DEFAULT_WORKSPACE_BYTES = 512 * 2**20  # outer products of one chunk of particles
SLAB_BYTES = 64 * 2**20  # float64 normals drawn at a time while building a tensor


def available_memory_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` in bytes, or None where there is no such file."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _format_bytes(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def _check_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _check_n(n, degrees) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer >= p, got {n!r}")
    if n < max(degrees):
        raise ValueError(f"n must be >= p = {max(degrees)} (a degree-p term needs p spins), got n = {n}")
    return int(n)


def _slab_rows(n: int, p: int) -> int:
    return max(1, min(n, SLAB_BYTES // (8 * n ** (p - 1))))


def memory_needed(n: int, degrees, dtype=np.float64, workspace_bytes: int = DEFAULT_WORKSPACE_BYTES) -> dict:
    """Bytes a model needs: couplings, and the peak while building or evaluating it.

    Parameters
    ----------
    n : int
        Number of spins N.
    degrees : iterable of int
        The degrees p of the model.
    dtype : float32 or float64
        Storage of the couplings.
    workspace_bytes : int
        Cap on the outer products of one chunk of particles.

    Returns
    -------
    dict
        ``{"couplings": bytes of all tensors, "peak": couplings plus the largest transient}``.
    """
    degrees = sorted({check_degree(p) for p in degrees})
    n = _check_n(n, degrees)
    item = _check_dtype(dtype).itemsize
    couplings = sum(n**p * item for p in degrees)
    # building: one float64 slab of normals and its cast; evaluating: one chunk of outer products
    build = max(_slab_rows(n, p) * n ** (p - 1) * (8 + item) for p in degrees)
    return {"couplings": couplings, "peak": couplings + max(build, int(workspace_bytes))}


def _symmetric_gaussian_tensor(n: int, p: int, rng: np.random.Generator, dtype) -> np.ndarray:
    """A tensor distributed as ``(1/p!) Σ_π G∘π`` for G with N^p i.i.d. standard normals.

    Each slab ``G[lo:hi]`` is added into all p! transposed positions of the output, so the
    memory is the output plus one slab.
    """
    tensor = np.zeros((n,) * p, dtype=dtype)
    views = [tensor.transpose(perm) for perm in itertools.permutations(range(p))]
    rows = _slab_rows(n, p)
    scale = 1.0 / math.factorial(p)
    for lo in range(0, n, rows):
        hi = min(n, lo + rows)
        slab = (rng.standard_normal((hi - lo,) + (n,) * (p - 1)) * scale).astype(dtype, copy=False)
        for view in views:
            view[lo:hi] += slab
    return tensor


def _zero_repeated_indices(tensor: np.ndarray) -> None:
    """Set to zero every entry of ``tensor`` that has two equal indices (in place)."""
    n = tensor.shape[0]
    for a, b in itertools.combinations(range(tensor.ndim), 2):
        pair = np.moveaxis(tensor, (a, b), (0, 1))
        for i in range(n):
            pair[i, i] = 0


def _outer_powers(x: np.ndarray, k: int) -> np.ndarray:
    """``x^{⊗k}`` of each row, shape (M, N^k); k = 0 gives ones of shape (M, 1)."""
    y = np.ones((x.shape[0], 1), dtype=x.dtype)
    for _ in range(k):
        y = (y[:, :, None] * x[:, None, :]).reshape(x.shape[0], -1)
    return y


class _SphericalSpinGlass(Landscape):
    """Shared machinery of the pure and mixed models (see the module docstring)."""

    is_conservative = True
    has_hessian = True
    fused_kind = None

    def __init__(self, n, coefficients: Mapping[int, float], normalization, seed, dtype,
                 workspace_bytes, small_batch):
        self.covariance = PSpinCovariance(coefficients, check_normalization(normalization))
        self.normalization = normalization
        degrees = self.covariance.degrees
        self.n = self.dim = _check_n(n, degrees)
        self.p = max(degrees)
        self.dtype = _check_dtype(dtype)
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.seed = int(seed)
        if isinstance(workspace_bytes, bool) or not isinstance(workspace_bytes, (int, np.integer)) \
                or workspace_bytes < 1:
            raise ValueError(f"workspace_bytes must be an integer >= 1, got {workspace_bytes!r}")
        self.workspace_bytes = int(workspace_bytes)
        if isinstance(small_batch, bool) or not isinstance(small_batch, (int, np.integer)) or small_batch < 0:
            raise ValueError(f"small_batch must be an integer >= 0, got {small_batch!r}")
        self.small_batch = int(small_batch)
        self.manifold = Sphere(math.sqrt(self.n), dim=self.n)
        self._check_fits(degrees)
        self.couplings = {p: self._draw(p, c) for p, c in self.covariance.coefficients.items()}

    def _check_fits(self, degrees) -> None:
        need = memory_needed(self.n, degrees, self.dtype, self.workspace_bytes)
        free = available_memory_bytes()
        if free is not None and need["peak"] > free:
            raise MemoryError(
                f"{self!r} needs {_format_bytes(need['peak'])} (couplings "
                f"{_format_bytes(need['couplings'])} in {self.dtype}, plus workspace), but only "
                f"{_format_bytes(free)} is available (MemAvailable in /proc/meminfo); use "
                "dtype=np.float32 to halve the couplings, a smaller n, or a smaller workspace_bytes")

    def _draw(self, p: int, c: float) -> np.ndarray:
        rng = np.random.default_rng([self.seed, p])
        tensor = _symmetric_gaussian_tensor(self.n, p, rng, self.dtype)
        if self.normalization == "abc":
            tensor *= c * self.n ** (-(p - 1) / 2)
        else:
            tensor *= -c / math.sqrt(2.0 * self.n ** (p - 1))
            _zero_repeated_indices(tensor)
        return tensor

    # ------------------------------------------------------------------ covariance
    def xi(self, q):
        """Covariance function ξ(q) of the model in its normalisation (vectorised)."""
        return self.covariance.xi(q)

    def xi_prime(self, q):
        """ξ'(q)."""
        return self.covariance.xi_prime(q)

    def xi_second(self, q):
        """ξ''(q)."""
        return self.covariance.xi_second(q)

    @property
    def memory_bytes(self) -> int:
        """Bytes taken by the couplings."""
        return sum(t.nbytes for t in self.couplings.values())

    # ------------------------------------------------------------------ evaluation
    def _chunks(self, m: int, p: int):
        rows = max(1, self.workspace_bytes // (self.n ** max(p - 1, 1) * self.dtype.itemsize))
        for lo in range(0, m, rows):
            yield slice(lo, min(m, lo + rows))

    def _contracted(self, x: np.ndarray) -> dict[int, np.ndarray]:
        """``{p: K_p · x^{⊗(p−1)}}``, each (M, N), in the couplings' dtype."""
        out = {}
        for p, tensor in self.couplings.items():
            if p == 3 and x.shape[0] <= self.small_batch:
                out[p] = _pspin_numba.contract_p3_sorted(tensor, np.ascontiguousarray(x),
                                                         4 * numba.get_num_threads())
                continue
            k_mat = tensor.reshape(self.n, -1)
            g = np.empty((x.shape[0], self.n), dtype=self.dtype)
            for s in self._chunks(x.shape[0], p):
                np.matmul(_outer_powers(x[s], p - 1), k_mat.T, out=g[s])
            out[p] = g
        return out

    def _prepare(self, x, name="x") -> np.ndarray:
        x = self._check(x, name)
        return x.astype(self.dtype, copy=False)

    def energy_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(H(x), ∇H(x))`` from one contraction per degree, shapes (M,) and (M, N)."""
        xc = self._prepare(x)
        contracted = self._contracted(xc)
        energy = sum(np.einsum("mi,mi->m", xc, g) for g in contracted.values())
        grad = sum(p * g for p, g in contracted.items())
        return energy.astype(x.dtype, copy=False), grad.astype(x.dtype, copy=False)

    def energy(self, x: np.ndarray) -> np.ndarray:
        """Total energy H(x), shape (M,); x is (M, N)."""
        return self.energy_and_grad(x)[0]

    def energy_per_spin(self, x: np.ndarray) -> np.ndarray:
        """Energy per spin H(x)/N, shape (M,)."""
        return self.energy(x) / self.n

    def grad(self, x: np.ndarray) -> np.ndarray:
        """Euclidean gradient ∇H(x), shape (M, N) (the negative drift before projection)."""
        xc = self._prepare(x)
        grad = sum(p * g for p, g in self._contracted(xc).items())
        return grad.astype(np.asarray(x).dtype, copy=False)

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Euclidean Hessian ∇²H(x) = Σ_p p(p−1) K_p·x^{⊗(p−2)}, shape (M, N, N)."""
        xc = self._prepare(x)
        m, n = xc.shape
        out = np.zeros((m, n, n), dtype=self.dtype)
        for p, tensor in self.couplings.items():
            k_mat = tensor.reshape(n * n, -1)
            out += p * (p - 1) * (_outer_powers(xc, p - 2) @ k_mat.T).reshape(m, n, n)
        return out.astype(x.dtype, copy=False)

    def _on_sphere(self, x, name) -> np.ndarray:
        x = self._check(x, name)
        self.manifold.check(x, name, rtol=max(1e-6, 100 * np.finfo(x.dtype).eps))
        return x

    def riemannian_grad(self, x: np.ndarray) -> np.ndarray:
        """Gradient on the sphere ``P∇H = ∇H − (σ·∇H/N) σ``, shape (M, N); x on the sphere."""
        x = self._on_sphere(x, "x")
        g = self.grad(x)
        return g - (np.einsum("mi,mi->m", x, g) / self.n)[:, None] * x

    def riemannian_hessian(self, x: np.ndarray) -> np.ndarray:
        """Hessian on the sphere ``P∇²H P − (σ·∇H/N) P``, shape (M, N, N); x on the sphere.

        Its restriction to the tangent space is the second derivative of H along geodesics;
        the radial direction σ is an eigenvector of eigenvalue 0.
        """
        x = self._on_sphere(x, "x")
        n = self.n
        a = self.hessian(x)
        radial = np.einsum("mi,mi->m", x, self.grad(x)) / n
        proj = np.eye(n, dtype=x.dtype)[None] - x[:, :, None] * x[:, None, :] / n
        return proj @ a @ proj - radial[:, None, None] * proj

    def overlap(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Overlaps ``q = x·y/N``, shape (M,); ``y`` is (M, N) or one point (N,) or (1, N)."""
        x = self._on_sphere(x, "x")
        y = np.asarray(y)
        y = self._on_sphere(y[None] if y.ndim == 1 else y, "y")
        if y.shape[0] not in (1, x.shape[0]):
            raise ValueError(f"y must hold 1 or {x.shape[0]} points, got {y.shape[0]}")
        return np.einsum("mi,mi->m", x, np.broadcast_to(y, x.shape)) / self.n


class SphericalPSpin(_SphericalSpinGlass):
    """Pure spherical p-spin glass on ``|σ|² = N``, batched over particles.

    Parameters
    ----------
    n : int
        Number of spins N >= p.
    p : int
        Degree p >= 2 (p = 2 is the spherical Sherrington–Kirkpatrick model).
    normalization : {"abc", "ck"}
        ``"abc"``: ``ξ(q) = q^p`` exactly; ``"ck"``: ``ξ(q) ≈ q^p/2`` (module docstring).
    seed : int
        Seed of the couplings (>= 0).
    dtype : float32 or float64
        Storage and arithmetic of the couplings.
    workspace_bytes : int
        Cap on the particles' outer products held at once (the cloud is chunked).
    small_batch : int
        Clouds of at most this many particles use the Numba kernel on the sorted entries
        (degree-3 terms only); 0 (default) always uses BLAS.

    Attributes
    ----------
    n, dim : int
        N.
    p : int
        The degree.
    manifold : Sphere
        ``Sphere(sqrt(N))``.
    couplings : dict of int to ndarray
        ``{p: K}``, the symmetric tensor of shape (N,)*p with ``H = Σ K σ⋯σ``.
    covariance : PSpinCovariance
        ξ and its derivatives.

    Raises
    ------
    MemoryError
        If the couplings and workspace exceed ``MemAvailable`` (the message gives the figures).

    Notes
    -----
    Memory: ``N^p`` entries; N = 1000, p = 3 takes 8 GB in float64 and 4 GB in float32
    (:meth:`memory_needed` tells before building).  A gradient costs ``2 M N^p`` flops.

    Examples
    --------
    >>> H = SphericalPSpin(n=64, p=3, seed=0)
    >>> x = H.manifold.random(8, H.dim, seed=1)
    >>> H.energy(x).shape, H.grad(x).shape
    ((8,), (8, 64))
    """

    def __init__(self, n: int, p: int, normalization: str = "abc", seed: int = 0, dtype=np.float64, *,
                 workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, small_batch: int = 0):
        super().__init__(n, {check_degree(p): 1.0}, normalization, seed, dtype, workspace_bytes, small_batch)

    @classmethod
    def memory_needed(cls, n: int, p: int, dtype=np.float64,
                      workspace_bytes: int = DEFAULT_WORKSPACE_BYTES) -> dict:
        """Bytes the model would take, without building it: see :func:`memory_needed`."""
        return memory_needed(n, [p], dtype, workspace_bytes)

    def __repr__(self):
        return (f"SphericalPSpin(n={self.n}, p={self.p}, normalization={self.normalization!r}, "
                f"seed={self.seed}, dtype={self.dtype.name})")


class MixedSphericalPSpin(_SphericalSpinGlass):
    """Mixed spherical spin glass ``H = Σ_p c_p H_p`` with independent pure ``H_p``.

    ``ξ(q) = Σ_p c_p² q^p`` (ABC) or ``½ Σ_p c_p² q^p`` (CK).

    Parameters
    ----------
    n : int
        Number of spins N >= max p.
    coefficients : mapping of int to float
        ``{p: c_p}``, degrees p >= 2, coefficients c_p > 0.
    normalization, seed, dtype, workspace_bytes, small_batch
        As in :class:`SphericalPSpin`; the degree-p tensor is the one of
        ``SphericalPSpin(n, p, seed=seed)`` times c_p.

    Attributes
    ----------
    p : int
        The largest degree.
    """

    def __init__(self, n: int, coefficients: Mapping[int, float], normalization: str = "abc", seed: int = 0,
                 dtype=np.float64, *, workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, small_batch: int = 0):
        super().__init__(n, coefficients, normalization, seed, dtype, workspace_bytes, small_batch)

    @property
    def coefficients(self) -> Mapping[int, float]:
        """``{p: c_p}``."""
        return self.covariance.coefficients

    @classmethod
    def memory_needed(cls, n: int, coefficients: Mapping[int, float], dtype=np.float64,
                      workspace_bytes: int = DEFAULT_WORKSPACE_BYTES) -> dict:
        """Bytes the model would take, without building it: see :func:`memory_needed`."""
        return memory_needed(n, list(PSpinCovariance(coefficients).degrees), dtype, workspace_bytes)

    def __repr__(self):
        return (f"MixedSphericalPSpin(n={self.n}, coefficients={dict(self.coefficients)!r}, "
                f"normalization={self.normalization!r}, seed={self.seed}, dtype={self.dtype.name})")
