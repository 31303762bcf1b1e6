"""Toy landscapes: the readable NumPy specification, batched over particles.

Each class also names a pointwise Numba kernel (:mod:`._toy_numba`) so the integrators can
fuse the whole step; tests check the two agree.  Energies are in units of the temperature
scale the user chooses; positions are dimensionless.
"""

from __future__ import annotations

import numpy as np

from .._checks import positive as _positive
from . import _toy_numba as K
from .base import Landscape

__all__ = [
    "Quadratic",
    "DoubleWell",
    "TiltedDoubleWell",
    "MullerBrown",
    "Rugged",
    "NonConservative",
    "NarrowWideWells",
]


def _dimension(dim) -> int:
    """``dim`` as an int >= 1; a float such as 2.5 raises instead of being truncated."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    return int(dim)


def _spd(matrix, name: str) -> np.ndarray:
    a = np.array(matrix, dtype=np.float64, ndmin=2)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"{name} must be a square matrix with at least one row, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    if not np.allclose(a, a.T, rtol=1e-12, atol=1e-12 * np.abs(a).max()):
        raise ValueError(f"{name} must be symmetric")
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None
    return a


def _center(center, dim: int) -> np.ndarray:
    c = np.zeros(dim) if center is None else np.array(center, dtype=np.float64).ravel()
    if c.shape != (dim,) or not np.all(np.isfinite(c)):
        raise ValueError(f"center must be a finite vector of length {dim}, got shape {c.shape}")
    return c


# The fused kernels do the dense matrix-vector product of every particle in SIMD lanes (64
# particles at once); above this dimension one BLAS call for the whole cloud is faster.
# Measured on 2 AVX-512 cores, ms per Euler-Maruyama step of 2000 particles, fused vs BLAS:
# d = 32: 0.22 vs 0.31; d = 100: 1.39 vs 1.38 (and 4.7 vs 8.3 for 1e4 particles);
# d = 200: 5.8 vs 4.5; d = 400: 15.5 vs 11.6.
POINTWISE_MAX_DIM = 128


class Quadratic(Landscape):
    """Anisotropic quadratic ``U(x) = ½ (x - c)ᵀ A (x - c)``.

    Parameters
    ----------
    matrix : array_like, shape (d, d)
        Symmetric positive-definite Hessian A.
    center : array_like, shape (d,), optional
        Minimum c (default 0).

    Notes
    -----
    Overdamped Langevin on it is the Ornstein–Uhlenbeck process, the exact oracle of
    docs/theory.md §3: stationary covariance ``T A⁻¹``.
    """

    fused_kind = K.KIND_QUADRATIC

    def __init__(self, matrix, center=None):
        self.matrix = _spd(matrix, "matrix")
        self.dim = self.matrix.shape[0]
        self.center = _center(center, self.dim)

    @classmethod
    def isotropic(cls, dim: int, stiffness: float = 1.0) -> Quadratic:
        """``U = stiffness |x|² / 2`` in ``dim`` dimensions."""
        return cls(_positive(stiffness, "stiffness") * np.eye(_dimension(dim)))

    @property
    def pointwise_is_cheap(self):
        return self.dim <= POINTWISE_MAX_DIM

    @property
    def fused_params(self):
        return np.concatenate([self.matrix.ravel(), self.center])

    def energy(self, x):
        x = self._check(x)
        y = x - self.center.astype(x.dtype)
        return 0.5 * np.einsum("mi,ij,mj->m", y, self.matrix.astype(y.dtype), y)

    def grad(self, x):
        x = self._check(x)
        y = x - self.center.astype(x.dtype)
        return y @ self.matrix.astype(y.dtype)  # A symmetric

    def hvp(self, x, v):
        """Exact Hessian-vector products ``A v_m``, shape (M, d); v is (M, d) or (d,)."""
        x = self._check(x)
        v = np.broadcast_to(np.asarray(v, dtype=x.dtype), x.shape)
        return v @ self.matrix.astype(x.dtype)

    def hessian(self, x):
        x = self._check(x)
        return np.broadcast_to(self.matrix.astype(x.dtype), (x.shape[0], self.dim, self.dim)).copy()

    def __repr__(self):
        return f"Quadratic(dim={self.dim})"


class DoubleWell(Landscape):
    """Double well along the first axis, harmonic across the others.

    ``U(x) = h (x₀² − 1)² + tilt·x₀ + ½ κ Σ_{i≥1} x_i²``

    Minima near x₀ = ±1 (exactly ±1 without tilt), barrier h at x₀ = 0,
    ``U''(±1) = 8h`` and ``U''(0) = −4h`` along the first axis.

    Parameters
    ----------
    dim : int
        Dimension d ≥ 1.
    barrier : float
        Barrier height h > 0 (energy units).
    tilt : float
        Linear tilt along x₀ (energy units per unit length).
    transverse_stiffness : float
        κ > 0, stiffness of the harmonic directions.
    """

    fused_kind = K.KIND_DOUBLE_WELL

    def __init__(self, dim: int = 1, barrier: float = 1.0, tilt: float = 0.0,
                 transverse_stiffness: float = 1.0):
        self.dim = _dimension(dim)
        self.barrier = _positive(barrier, "barrier")
        self.tilt = float(tilt)
        if not np.isfinite(self.tilt):
            raise ValueError(f"tilt must be finite, got {tilt}")
        self.transverse_stiffness = _positive(transverse_stiffness, "transverse_stiffness")

    @property
    def fused_params(self):
        return np.array([self.barrier, self.tilt, self.transverse_stiffness])

    def energy(self, x):
        x = self._check(x)
        x0 = x[:, 0]
        return (self.barrier * (x0 * x0 - 1) ** 2 + self.tilt * x0
                + 0.5 * self.transverse_stiffness * np.sum(x[:, 1:] ** 2, axis=1))

    def grad(self, x):
        x = self._check(x)
        g = self.transverse_stiffness * x
        x0 = x[:, 0]
        g[:, 0] = 4 * self.barrier * x0 * (x0 * x0 - 1) + self.tilt
        return g

    def hessian(self, x):
        x = self._check(x)
        h = np.zeros((x.shape[0], self.dim, self.dim), dtype=x.dtype)
        idx = np.arange(1, self.dim)
        h[:, idx, idx] = self.transverse_stiffness
        h[:, 0, 0] = self.barrier * (12 * x[:, 0] ** 2 - 4)
        return h

    def __repr__(self):
        return f"DoubleWell(dim={self.dim}, barrier={self.barrier}, tilt={self.tilt})"


class TiltedDoubleWell(DoubleWell):
    """:class:`DoubleWell` with a required tilt (the asymmetric well of escape studies)."""

    def __init__(self, tilt: float, dim: int = 1, barrier: float = 1.0,
                 transverse_stiffness: float = 1.0):
        super().__init__(dim, barrier, tilt, transverse_stiffness)


class MullerBrown(Landscape):
    """The Müller–Brown potential (Müller & Brown, Theor. Chim. Acta 53, 75 (1979)).

    ``U(x, y) = s Σ_k A_k exp(a_k (x−x_k)² + b_k (x−x_k)(y−y_k) + c_k (y−y_k)²)``

    With s = 1: three minima (−146.70, −108.17, −80.77) and two saddles (−40.66, −72.25).

    Parameters
    ----------
    scale : float
        Energy scale s > 0 (s = 1 gives the published energies).
    """

    dim = 2
    fused_kind = K.KIND_MULLER_BROWN

    def __init__(self, scale: float = 1.0):
        self.scale = _positive(scale, "scale")

    @property
    def fused_params(self):
        return np.array([self.scale])

    def _terms(self, x):
        x = self._check(x)
        dx = x[:, :1] - K.MB_X
        dy = x[:, 1:] - K.MB_Y
        e = K.MB_A * np.exp(K.MB_a * dx * dx + K.MB_b * dx * dy + K.MB_c * dy * dy)
        return x.dtype, dx, dy, e

    def energy(self, x):
        dtype, _, _, e = self._terms(x)
        return (self.scale * e.sum(axis=1)).astype(dtype)

    def grad(self, x):
        dtype, dx, dy, e = self._terms(x)
        gx = (e * (2 * K.MB_a * dx + K.MB_b * dy)).sum(axis=1)
        gy = (e * (K.MB_b * dx + 2 * K.MB_c * dy)).sum(axis=1)
        return (self.scale * np.stack([gx, gy], axis=1)).astype(dtype)

    def hessian(self, x):
        dtype, dx, dy, e = self._terms(x)
        u = 2 * K.MB_a * dx + K.MB_b * dy
        v = K.MB_b * dx + 2 * K.MB_c * dy
        hxx = (e * (u * u + 2 * K.MB_a)).sum(axis=1)
        hxy = (e * (u * v + K.MB_b)).sum(axis=1)
        hyy = (e * (v * v + 2 * K.MB_c)).sum(axis=1)
        h = np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2)
        return (self.scale * h).astype(dtype)

    def __repr__(self):
        return f"MullerBrown(scale={self.scale})"


class Rugged(Landscape):
    """Quadratic bowl with cosine ripples: ``U = Σ_i [½ k x_i² + ε cos(2π x_i / λ)]``.

    Local minima spaced by about λ in every coordinate when ``ε (2π/λ)² > k``.

    Parameters
    ----------
    dim : int
        Dimension d.
    stiffness : float
        k > 0.
    amplitude : float
        ε ≥ 0 (energy units).
    wavelength : float
        λ > 0.
    """

    fused_kind = K.KIND_RUGGED

    def __init__(self, dim: int = 2, stiffness: float = 1.0, amplitude: float = 0.25,
                 wavelength: float = 0.5):
        self.dim = _dimension(dim)
        self.stiffness = _positive(stiffness, "stiffness")
        self.amplitude = float(amplitude)
        if not (np.isfinite(self.amplitude) and self.amplitude >= 0):
            raise ValueError(f"amplitude must be finite and >= 0, got {amplitude}")
        self.wavelength = _positive(wavelength, "wavelength")

    @property
    def fused_params(self):
        return np.array([self.stiffness, self.amplitude, self.wavelength])

    def energy(self, x):
        x = self._check(x)
        q = 2 * np.pi / self.wavelength
        return np.sum(0.5 * self.stiffness * x * x + self.amplitude * np.cos(q * x), axis=1)

    def grad(self, x):
        x = self._check(x)
        q = 2 * np.pi / self.wavelength
        return self.stiffness * x - self.amplitude * q * np.sin(q * x)

    def hessian(self, x):
        x = self._check(x)
        q = 2 * np.pi / self.wavelength
        diag = self.stiffness - self.amplitude * q * q * np.cos(q * x)
        h = np.zeros((x.shape[0], self.dim, self.dim), dtype=x.dtype)
        idx = np.arange(self.dim)
        h[:, idx, idx] = diag
        return h

    def __repr__(self):
        return f"Rugged(dim={self.dim}, amplitude={self.amplitude}, wavelength={self.wavelength})"


class NonConservative(Landscape):
    """Quadratic well plus a rotational field: a drift that is not a gradient.

    ``dX = [−A (X − c) + Ω (X − c)] dt + noise`` with Ω antisymmetric, so
    ``grad(x) = (A − Ω)(x − c)`` and ``energy`` is the quadratic part ``½ (x−c)ᵀA(x−c)``.

    When A commutes with Ω (e.g. A = k·I) and the noise is isotropic at temperature T, the
    stationary density is still ``∝ exp(−energy/T)`` but it carries the probability current
    ``Ω (x − c) p(x)``: stationary, not in equilibrium (no detailed balance).

    Parameters
    ----------
    matrix : array_like, shape (d, d)
        Symmetric positive-definite A.
    rotation : array_like, shape (d, d), optional
        Antisymmetric Ω; default ``ω [[0, −1], [1, 0]]`` with ``omega`` in 2-D.
    omega : float
        Angular velocity of the default rotation (used only when ``rotation`` is None).
    center : array_like, shape (d,), optional
    """

    is_conservative = False
    fused_kind = K.KIND_NONCONSERVATIVE

    def __init__(self, matrix=None, rotation=None, omega: float = 1.0, center=None):
        self.matrix = _spd(np.eye(2) if matrix is None else matrix, "matrix")
        self.dim = self.matrix.shape[0]
        if rotation is None:
            if self.dim != 2:
                raise ValueError("rotation must be given when the dimension is not 2")
            rotation = float(omega) * np.array([[0.0, -1.0], [1.0, 0.0]])
        self.rotation = np.array(rotation, dtype=np.float64)
        if self.rotation.shape != (self.dim, self.dim) or not np.allclose(self.rotation, -self.rotation.T):
            raise ValueError(f"rotation must be an antisymmetric ({self.dim}, {self.dim}) matrix")
        self.center = _center(center, self.dim)

    @property
    def pointwise_is_cheap(self):
        return self.dim <= POINTWISE_MAX_DIM

    @property
    def fused_params(self):
        g = self.matrix - self.rotation
        return np.concatenate([g.ravel(), self.center, self.matrix.ravel()])

    energy = Quadratic.energy  # the quadratic part ½ (x−c)ᵀA(x−c): same attributes, same formula

    def grad(self, x):
        x = self._check(x)
        y = x - self.center.astype(x.dtype)
        return y @ (self.matrix - self.rotation).T.astype(y.dtype)

    def hessian(self, x):
        x = self._check(x)
        g = (self.matrix - self.rotation).astype(x.dtype)
        return np.broadcast_to(g, (x.shape[0], self.dim, self.dim)).copy()

    def __repr__(self):
        return f"NonConservative(dim={self.dim})"


class NarrowWideWells(Landscape):
    """A deep narrow Gaussian well and a shallower wide one along x₀, in a soft bowl.

    ``U(x) = −A_n g((x₀ − c_n)/w_n) − A_w g((x₀ − c_w)/w_w) + ½ κ |x|²``,  ``g(z) = exp(−z²/2)``.

    The energy minimum is the narrow well (depth A_n > A_w), but at temperature T its basin
    holds probability ``∝ w_n e^{A_n/T}`` against ``w_w e^{A_w/T}`` for the wide one (widths
    w, Laplace), so above ``T* ≈ (A_n − A_w) / ln(w_w/w_n)`` the wide well has the lower free
    energy: the landscape on which local entropy (Chaudhari et al., Entropy-SGD, ICLR 2017,
    arXiv:1611.01838) prefers the wide minimum while the energy prefers the narrow one.
    The curvature at the narrow bottom is about ``A_n/w_n²``.

    Parameters
    ----------
    dim : int
        d ≥ 1; coordinates beyond x₀ feel only the bowl.
    narrow_depth, wide_depth : float
        A_n > A_w > 0 (energy units).
    narrow_width, wide_width : float
        0 < w_n < w_w (length units).
    narrow_center, wide_center : float
        c_n ≠ c_w along x₀.
    stiffness : float
        κ > 0 of the confining bowl.
    """

    def __init__(self, dim: int = 1, narrow_depth: float = 1.0, wide_depth: float = 0.6,
                 narrow_width: float = 0.1, wide_width: float = 0.6, narrow_center: float = -1.0,
                 wide_center: float = 1.0, stiffness: float = 0.1):
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
        self.dim = int(dim)
        self.narrow_depth = _positive(narrow_depth, "narrow_depth")
        self.wide_depth = _positive(wide_depth, "wide_depth")
        if self.wide_depth >= self.narrow_depth:
            raise ValueError(f"wide_depth must be < narrow_depth = {self.narrow_depth}, got {wide_depth}")
        self.narrow_width = _positive(narrow_width, "narrow_width")
        self.wide_width = _positive(wide_width, "wide_width")
        if self.narrow_width >= self.wide_width:
            raise ValueError(f"narrow_width must be < wide_width = {self.wide_width}, got {narrow_width}")
        self.narrow_center, self.wide_center = float(narrow_center), float(wide_center)
        if not (np.isfinite(self.narrow_center) and np.isfinite(self.wide_center)) \
                or self.narrow_center == self.wide_center:
            raise ValueError("narrow_center and wide_center must be finite and distinct")
        self.stiffness = _positive(stiffness, "stiffness")

    def _wells(self, x0):
        zn = (x0 - self.narrow_center) / self.narrow_width
        zw = (x0 - self.wide_center) / self.wide_width
        return zn, self.narrow_depth * np.exp(-0.5 * zn * zn), zw, self.wide_depth * np.exp(-0.5 * zw * zw)

    def energy(self, x):
        x = self._check(x)
        _, gn, _, gw = self._wells(x[:, 0])
        return -gn - gw + 0.5 * self.stiffness * np.sum(x * x, axis=1)

    def grad(self, x):
        x = self._check(x)
        zn, gn, zw, gw = self._wells(x[:, 0])
        g = self.stiffness * x
        g[:, 0] += gn * zn / self.narrow_width + gw * zw / self.wide_width
        return g

    def hessian(self, x):
        x = self._check(x)
        zn, gn, zw, gw = self._wells(x[:, 0])
        h = np.zeros((x.shape[0], self.dim, self.dim), dtype=x.dtype)
        idx = np.arange(self.dim)
        h[:, idx, idx] = self.stiffness
        h[:, 0, 0] += gn * (1 - zn * zn) / self.narrow_width**2 + gw * (1 - zw * zw) / self.wide_width**2
        return h

    def minima(self) -> np.ndarray:
        """The narrow and the wide minimum, shape (2, d), polished by Newton along x₀."""
        pts = np.zeros((2, self.dim))
        pts[:, 0] = [self.narrow_center, self.wide_center]
        for _ in range(50):
            pts[:, 0] -= self.grad(pts)[:, 0] / self.hessian(pts)[:, 0, 0]
        return pts

    def __repr__(self):
        return (f"NarrowWideWells(dim={self.dim}, narrow=({self.narrow_depth}, {self.narrow_width}), "
                f"wide=({self.wide_depth}, {self.wide_width}))")
