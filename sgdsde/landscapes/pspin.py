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
Only the symmetrised tensor enters H, and a symmetric tensor is fixed by its entries at
sorted indices ``i1 <= … <= ip``: the model stores, for each degree, those
``C(N + p − 1, p) ≈ N^p/p!`` numbers (:mod:`._pspin_packed`), each a pure function of
(seed, p, index tuple) drawn by the counter-based generator of :mod:`sgdsde.random`, with
multiplicity weights that keep the law of the symmetrised i.i.d. tensor.  N = 2048, p = 3
takes 5.34 GiB in float32 (a dense ``N^p`` tensor would take 32 GiB).  CK keeps the strictly
increasing tuples of the same normals times ``−1/√2``, so one seed gives the "same" sample
in both normalisations; the degree-p tensor of a mixture is c_p times the one of the pure
model of the same seed; float32 and float64 hold the same numbers (drawn in float64, rounded
once); ``DevicePSpin`` (GPU) of one seed draws the same couplings.

Computation
-----------
``path="packed"`` streams the packed tensor from memory once per call for up to 64 particles
(:mod:`._pspin_packed`): per entry and particle two multiply–adds, a third of a dense
GEMM's work on a sixth of its memory traffic, and a result independent of the thread count.
``path="dense"`` unpacks the symmetric ``N^p`` tensor K (``H_p = Σ K σ⋯σ``) once and takes
one GEMM per chunk of particles, ``∇H_p = p Y K_matᵀ`` with ``Y = x^{⊗(p−1)}`` of shape
(M, N^{p−1}) never above ``workspace_bytes``.  ``path="auto"`` (default) takes the dense GEMM
for a call only where it was measured faster, :data:`AUTO_DENSE_MIN_PARTICLES` particles or
more and a dense tensor of at most :data:`AUTO_DENSE_MAX_BYTES` (built on first use: small N),
and the packed stream otherwise (``benchmarks/pspin.py`` measures both, the numbers are
beside the constants).  Arithmetic runs in
the couplings' dtype; results come back in the dtype of ``x`` (float32 stays float32).

``energy``, ``grad`` and ``hessian`` are the polynomial extension of H to all of R^N (the
integrators take ambient steps and finite differences need it); the Riemannian methods
and ``overlap`` require points on the sphere.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np

from ..manifolds import Sphere
from ..theory.pspin import PSpinCovariance, check_degree, check_normalization
from . import _pspin_packed as packed
from .base import Landscape

__all__ = ["SphericalPSpin", "MixedSphericalPSpin", "available_memory_bytes", "memory_needed", "PATHS"]

PATHS = ("auto", "packed", "dense")
DEFAULT_WORKSPACE_BYTES = 512 * 2**20  # outer products of one chunk of particles (dense path)
#: ``path="auto"`` uses the dense GEMM for clouds of at least this many particles, and only where
#: the dense tensor takes at most AUTO_DENSE_MAX_BYTES (N <= 256 in float32, N <= 203 in
#: float64 for p = 3).  Measured by ``benchmarks/pspin.py`` (p = 3, 2 cores at load ≈ 1,
#: benchmarks/RESULTS.md), dense time ÷ packed time: M = 16: 0.64 (N = 64), 0.44 (N = 128),
#: 0.73 (N = 256) in float32, 0.87, 1.01, 1.82 in float64; M = 64 and 256: 0.3-0.8 up to
#: N = 256 in float32 and N = 128 in float64, 1.1-1.3 at N = 256 float64; M <= 4: 0.8-3.6
#: (the packed stream reads a sixth of the bytes); N = 1024, M = 16 float32: 1.64.
AUTO_DENSE_MIN_PARTICLES = 16
AUTO_DENSE_MAX_BYTES = 64 * 2**20


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


def _check_n(n, degrees, normalization: str = "abc") -> int:
    """N >= 2 for ABC (index tuples may repeat); N >= max p for CK (strictly increasing tuples)."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an integer >= 2, got {n!r}")
    if normalization == "ck" and n < max(degrees):
        raise ValueError(f"n must be >= p = {max(degrees)} in the CK normalisation (its terms have "
                         f"p distinct spins), got n = {n}")
    if n < 2:
        raise ValueError(f"n must be an integer >= 2, got n = {n}")
    for p in degrees:
        packed.check_size(int(n), p)
    return int(n)


def _check_path(path) -> str:
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    return path


def memory_needed(n: int, degrees, dtype=np.float64, workspace_bytes: int = DEFAULT_WORKSPACE_BYTES,
                  path: str = "auto", normalization: str = "abc") -> dict:
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
        Cap on the outer products of one chunk of particles (dense path).
    path : {"auto", "packed", "dense"}
        ``"dense"`` adds the ``N^p`` tensors (``"auto"`` builds them only below
        :data:`AUTO_DENSE_MAX_BYTES`, which the figure includes).

    Returns
    -------
    dict
        ``{"couplings": bytes of the packed couplings and their row index, "dense": bytes of
        the dense tensors the path may build, "peak": everything plus the largest transient}``.
    """
    degrees = sorted({check_degree(p) for p in degrees})
    n = _check_n(n, degrees, check_normalization(normalization))
    item = _check_dtype(dtype).itemsize
    path = _check_path(path)
    couplings = 0
    dense = 0
    for p in degrees:
        rows = packed.n_sorted_tuples(n, p - 1)
        entries = packed.n_sorted_tuples(n, p)
        couplings += entries * item + rows * (4 * (p - 1) + 8)
        dense_p = n**p * item
        if path == "dense" or (path == "auto" and dense_p <= AUTO_DENSE_MAX_BYTES):
            dense += dense_p
    # evaluating: per-block buffers of one pass (packed) or one chunk of outer products (dense)
    stream = packed.MAX_BLOCKS * n * packed.PARTICLES_PER_PASS * item
    work = max(stream, int(workspace_bytes) if dense else 0)
    return {"couplings": couplings, "dense": dense,
            "peak": couplings + dense + work}


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
                 workspace_bytes, path):
        self.covariance = PSpinCovariance(coefficients, check_normalization(normalization))
        self.normalization = normalization
        degrees = self.covariance.degrees
        self.n = self.dim = _check_n(n, degrees, normalization)
        self.p = max(degrees)
        self.dtype = _check_dtype(dtype)
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        if seed >= 2**64:
            raise ValueError(f"seed must be below 2**64, got {seed!r}")
        self.seed = int(seed)
        if isinstance(workspace_bytes, bool) or not isinstance(workspace_bytes, (int, np.integer)) \
                or workspace_bytes < 1:
            raise ValueError(f"workspace_bytes must be an integer >= 1, got {workspace_bytes!r}")
        self.workspace_bytes = int(workspace_bytes)
        self.path = _check_path(path)
        self.manifold = Sphere(math.sqrt(self.n), dim=self.n)
        self._check_fits(degrees)
        self.layouts = {p: packed.PackedLayout(self.n, p) for p in degrees}
        self.couplings = {p: self._draw(p, c) for p, c in self.covariance.coefficients.items()}
        self._dense: dict[int, np.ndarray] = {}
        if self.path == "dense":
            for p in degrees:
                self.dense_couplings(p)

    def _check_fits(self, degrees) -> None:
        need = memory_needed(self.n, degrees, self.dtype, self.workspace_bytes, self.path, self.normalization)
        free = available_memory_bytes()
        if free is not None and need["peak"] > free:
            dense = f" and dense tensors {_format_bytes(need['dense'])}" if need["dense"] else ""
            raise MemoryError(
                f"{self!r} needs {_format_bytes(need['peak'])} (packed couplings "
                f"{_format_bytes(need['couplings'])} in {self.dtype}{dense}, plus workspace), but only "
                f"{_format_bytes(free)} is available (MemAvailable in /proc/meminfo); use "
                "dtype=np.float32 to halve the couplings, path='packed', or a smaller n")

    def _draw(self, p: int, c: float) -> np.ndarray:
        scale = c * self.n ** (-(p - 1) / 2)
        ck = self.normalization == "ck"
        if ck:
            scale = -scale / math.sqrt(2.0)
        return packed.draw_packed(self.layouts[p], self.seed, scale, ck, self.dtype)

    def dense_couplings(self, p: int | None = None) -> np.ndarray:
        """The symmetric dense tensor K of degree p (default the largest), ``H_p = Σ K σ⋯σ``.

        Shape (N,)*p; built from the packed couplings on first call and kept (memory checked).
        """
        p = self.p if p is None else p
        if p not in self.couplings:
            raise ValueError(f"p must be one of the model's degrees {sorted(self.couplings)}, got {p!r}")
        if p not in self._dense:
            need = self.n**p * self.dtype.itemsize
            free = available_memory_bytes()
            if free is not None and need > free:
                raise MemoryError(f"the dense degree-{p} tensor of {self!r} needs {_format_bytes(need)}, "
                                  f"but only {_format_bytes(free)} is available (MemAvailable); "
                                  "use path='packed'")
            self._dense[p] = packed.unpack_dense(self.layouts[p], self.couplings[p])
        return self._dense[p]

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
        """Bytes taken by the packed couplings (entries only) and any dense tensors built."""
        return sum(t.nbytes for t in self.couplings.values()) + sum(t.nbytes for t in self._dense.values())

    # ------------------------------------------------------------------ evaluation
    def uses_dense(self, p: int, n_particles: int) -> bool:
        """Whether a call on ``n_particles`` evaluates degree p by the dense GEMM (the path rule)."""
        if self.path != "auto":
            return self.path == "dense"
        return (n_particles >= AUTO_DENSE_MIN_PARTICLES
                and self.n**p * self.dtype.itemsize <= AUTO_DENSE_MAX_BYTES)

    def _chunks(self, m: int, p: int):
        rows = max(1, self.workspace_bytes // (self.n ** max(p - 1, 1) * self.dtype.itemsize))
        for lo in range(0, m, rows):
            yield slice(lo, min(m, lo + rows))

    def _dense_energy_and_grad(self, p: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k_mat = self.dense_couplings(p).reshape(self.n, -1)
        g = np.empty((x.shape[0], self.n), dtype=self.dtype)
        for s in self._chunks(x.shape[0], p):
            np.matmul(_outer_powers(x[s], p - 1), k_mat.T, out=g[s])
        return np.einsum("mi,mi->m", x, g), p * g

    def _prepare(self, x, name="x") -> np.ndarray:
        x = self._check(x, name)
        return np.ascontiguousarray(x, dtype=self.dtype)

    def energy_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(H(x), ∇H(x))``, shapes (M,) and (M, N): one pass per degree on the chosen path."""
        xc = self._prepare(x)
        energy = np.zeros(xc.shape[0], dtype=self.dtype)
        grad = np.zeros_like(xc)
        for p, values in self.couplings.items():
            if self.uses_dense(p, xc.shape[0]):
                e, g = self._dense_energy_and_grad(p, xc)
            else:
                e, g = packed.contract(self.layouts[p], values, xc)
            energy += e
            grad += g
        return energy.astype(x.dtype, copy=False), grad.astype(x.dtype, copy=False)

    def energy(self, x: np.ndarray) -> np.ndarray:
        """Total energy H(x), shape (M,); x is (M, N)."""
        return self.energy_and_grad(x)[0]

    def energy_per_spin(self, x: np.ndarray) -> np.ndarray:
        """Energy per spin H(x)/N, shape (M,)."""
        return self.energy(x) / self.n

    def grad(self, x: np.ndarray) -> np.ndarray:
        """Euclidean gradient ∇H(x), shape (M, N) (the negative drift before projection)."""
        return self.energy_and_grad(x)[1]

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Euclidean Hessian ∇²H(x), shape (M, N, N), from the packed couplings."""
        xc = self._prepare(x)
        out = np.zeros((xc.shape[0], self.n, self.n), dtype=self.dtype)
        for p, values in self.couplings.items():
            out += packed.hessian(self.layouts[p], values, xc)
        return out.astype(x.dtype, copy=False)

    def _on_sphere(self, x, name) -> np.ndarray:
        x = self._check(x, name)
        self.manifold.check(x, name, rtol=max(1e-6, 100 * np.finfo(x.dtype).eps))
        return x

    def riemannian_gradient(self, x: np.ndarray) -> np.ndarray:
        """Gradient on the sphere ``P∇H = ∇H − (σ·∇H/N) σ``, shape (M, N); x on the sphere."""
        x = self._on_sphere(x, "x")
        g = self.grad(x)
        return g - (np.einsum("mi,mi->m", x, g) / self.n)[:, None] * x

    def riemannian_grad(self, x: np.ndarray) -> np.ndarray:
        """Deprecated name of :meth:`riemannian_gradient`."""
        warnings.warn("riemannian_grad is deprecated; use riemannian_gradient", DeprecationWarning,
                      stacklevel=2)
        return self.riemannian_gradient(x)

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
        Number of spins N >= 2 (ABC: index tuples may repeat, so any N >= 2 is a model;
        CK needs N >= p).
    p : int
        Degree p >= 2 (p = 2 is the spherical Sherrington–Kirkpatrick model); ``N^{p−1}``
        must be below 2**32 (the generator's component range).
    normalization : {"abc", "ck"}
        ``"abc"``: ``ξ(q) = q^p`` exactly; ``"ck"``: ``ξ(q) ≈ q^p/2`` (module docstring).
    seed : int
        Seed of the couplings, in ``[0, 2**64)``.
    dtype : float32 or float64
        Storage and arithmetic of the couplings.
    workspace_bytes : int
        Cap on the particles' outer products held at once on the dense path.
    path : {"auto", "packed", "dense"}
        How energy and gradient are computed (module docstring): ``"packed"`` streams the
        sorted entries, ``"dense"`` unpacks the ``N^p`` tensor at construction and uses BLAS,
        ``"auto"`` picks per call by the measured rule of :meth:`uses_dense`.

    Attributes
    ----------
    n, dim : int
        N.
    p : int
        The degree.
    manifold : Sphere
        ``Sphere(sqrt(N))``.
    couplings : dict of int to ndarray
        ``{p: w}``, the packed couplings, shape ``(C(N+p−1, p),)``: ``H = Σ_{i1<=…<=ip} w σ⋯σ``
        over sorted tuples in lexicographic order (:mod:`._pspin_packed`);
        :meth:`dense_couplings` gives the symmetric ``N^p`` tensor.
    layouts : dict of int to PackedLayout
        The row index of each packed tensor.
    covariance : PSpinCovariance
        ξ and its derivatives.

    Raises
    ------
    MemoryError
        If the couplings and workspace exceed ``MemAvailable`` (the message gives the figures).

    Notes
    -----
    Memory: ``C(N+2, 3) ≈ N³/6`` entries for p = 3: N = 1024 takes 0.67 GiB and N = 2048
    5.34 GiB in float32 (:meth:`memory_needed` tells before building).  A packed gradient
    costs ``2 M C(N+p−1, p)`` multiply–adds; construction ``C(N+p−1, p)`` draws.

    Examples
    --------
    >>> H = SphericalPSpin(n=64, p=3, seed=0)
    >>> x = H.manifold.random(8, H.dim, seed=1)
    >>> H.energy(x).shape, H.grad(x).shape
    ((8,), (8, 64))
    """

    def __init__(self, n: int, p: int, normalization: str = "abc", seed: int = 0, dtype=np.float64, *,
                 workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, path: str = "auto"):
        super().__init__(n, {check_degree(p): 1.0}, normalization, seed, dtype, workspace_bytes, path)

    @classmethod
    def memory_needed(cls, n: int, p: int, dtype=np.float64,
                      workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, path: str = "auto",
                      normalization: str = "abc") -> dict:
        """Bytes the model would take, without building it: see :func:`memory_needed`."""
        return memory_needed(n, [p], dtype, workspace_bytes, path, normalization)

    def __repr__(self):
        return (f"SphericalPSpin(n={self.n}, p={self.p}, normalization={self.normalization!r}, "
                f"seed={self.seed}, dtype={self.dtype.name})")


class MixedSphericalPSpin(_SphericalSpinGlass):
    """Mixed spherical spin glass ``H = Σ_p c_p H_p`` with independent pure ``H_p``.

    ``ξ(q) = Σ_p c_p² q^p`` (ABC) or ``½ Σ_p c_p² q^p`` (CK).

    Parameters
    ----------
    n : int
        Number of spins N >= 2 (CK: N >= max p).
    coefficients : mapping of int to float
        ``{p: c_p}``, degrees p >= 2, coefficients c_p > 0.
    normalization, seed, dtype, workspace_bytes, path
        As in :class:`SphericalPSpin`; the degree-p tensor is the one of
        ``SphericalPSpin(n, p, seed=seed)`` times c_p (the generator's stream depends on p,
        so the degrees are independent).

    Attributes
    ----------
    p : int
        The largest degree.
    """

    def __init__(self, n: int, coefficients: Mapping[int, float], normalization: str = "abc", seed: int = 0,
                 dtype=np.float64, *, workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, path: str = "auto"):
        super().__init__(n, coefficients, normalization, seed, dtype, workspace_bytes, path)

    @property
    def coefficients(self) -> Mapping[int, float]:
        """``{p: c_p}``."""
        return self.covariance.coefficients

    @classmethod
    def memory_needed(cls, n: int, coefficients: Mapping[int, float], dtype=np.float64,
                      workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, path: str = "auto",
                      normalization: str = "abc") -> dict:
        """Bytes the model would take, without building it: see :func:`memory_needed`."""
        return memory_needed(n, list(PSpinCovariance(coefficients).degrees), dtype, workspace_bytes, path,
                             normalization)

    def __repr__(self):
        return (f"MixedSphericalPSpin(n={self.n}, coefficients={dict(self.coefficients)!r}, "
                f"normalization={self.normalization!r}, seed={self.seed}, dtype={self.dtype.name})")
