"""The Fokker–Planck generator on a grid: Scharfetter–Gummel finite volumes (docs/theory.md §5).

For the overdamped Itô SDE ``dX = −b(X) dt + B(X) dW`` with diagonal diffusion
``D = ½ B Bᵀ = diag(D_1, …, D_d)`` the density obeys

    ∂_t p = −∇·J,      J_a = −b_a p − ∂_a (D_a p) = −e^{−Φ_a} ∂_a (e^{Φ_a} D_a p),

with ``∂_a Φ_a = b_a / D_a``.  On the face between cells ``L`` and ``R = L + 1`` along axis
``a`` (width h) the flux of the exact one-cell solution with ``Φ_a`` linear across the face
is the Scharfetter–Gummel (Chang–Cooper) flux

    J = (1/h) [ B(ΔΦ) D_L p_L − B(−ΔΦ) D_R p_R ],      B(z) = z / (e^z − 1) = 1 / exprel(z),

and ``dp_L/dt −= J/h``, ``dp_R/dt += J/h``.  Since ``B(−z) = e^z B(z)`` the flux vanishes
exactly when ``D_R p_R / (D_L p_L) = e^{−ΔΦ}``: every off-diagonal entry of the generator is
positive and every column sums to zero, so implicit Euler keeps densities positive and
mass-conserving for any step, and a conservative landscape with constant temperature T has
the exact discrete Boltzmann state ``p_i ∝ exp(−U_i/T)``.

``ΔΦ`` across a face is taken either from the energy, ``(U_R − U_L)/T`` (exact; conservative
landscapes with isotropic constant noise), or from the drift at the face centre,
``h b_a(x_f) / D_a(x_f)`` (midpoint rule: second order in h; any drift, state-dependent
diffusion).  The first is the default where it applies (``face_potential="auto"``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as splinalg
from scipy.special import exprel

from .._checks import positive
from ..landscapes.base import Landscape
from ..manifolds import Euclidean
from ..sde import LangevinSDE
from .grid import Grid

__all__ = ["FokkerPlanck", "CoarseGridWarning", "bernoulli", "generator_matrix"]

FACE_POTENTIALS = ("auto", "energy", "drift")


class CoarseGridWarning(UserWarning):
    """The grid is too coarse for the drift: the cell Péclet number is large."""


def bernoulli(z):
    """The Bernoulli function ``B(z) = z / (e^z − 1)``, with ``B(0) = 1``; never overflows."""
    return 1.0 / exprel(np.asarray(z, dtype=np.float64))


def _cell_index(grid: Grid, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the lower (L) and upper (R) cell of every face normal to ``axis``."""
    idx = np.arange(grid.size).reshape(grid.shape)
    upper = np.roll(idx, -1, axis=axis)
    if grid.boundary[axis] == "reflecting":
        keep = [slice(None)] * grid.ndim
        keep[axis] = slice(0, grid.shape[axis] - 1)
        idx, upper = idx[tuple(keep)], upper[tuple(keep)]
    return idx.ravel(), upper.ravel()


def _face_rates(grid: Grid, face_phi, diffusion):
    """Per axis, the flux coefficients ``(k_up, k_down)`` with ``J = k_up p_L − k_down p_R``."""
    rates = []
    for a in range(grid.ndim):
        lo, up = _cell_index(grid, a)
        phi = np.asarray(face_phi[a], dtype=np.float64).ravel()
        d = np.asarray(diffusion[a], dtype=np.float64).ravel()
        h = grid.spacing[a]
        rates.append((bernoulli(phi) * d[lo] / h, bernoulli(-phi) * d[up] / h, lo, up))
    return rates


def generator_matrix(grid: Grid, face_phi, diffusion) -> sparse.csr_matrix:
    """The Scharfetter–Gummel generator L (``dp/dt = L p``) from face data.

    Parameters
    ----------
    grid : Grid
    face_phi : sequence of ndarray
        Per axis a, ``ΔΦ_a`` on the faces normal to a, shape ``grid.face_shape(a)``
        (dimensionless: potential drop over diffusion).
    diffusion : sequence of ndarray
        Per axis a, the diagonal diffusion coefficient ``D_a`` at the cell centres, shape
        ``grid.shape`` (length²/time), all > 0.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (size, size)
        Off-diagonal entries ≥ 0, columns summing to zero (to rounding).
    """
    rows, cols, vals = [], [], []
    for axis, (k_up, k_down, lo, up) in enumerate(_face_rates(grid, face_phi, diffusion)):
        h = grid.spacing[axis]
        # the flux J = k_up p_L − k_down p_R leaves L and enters R
        rows += [lo, up, lo, up]
        cols += [lo, lo, up, up]
        vals += [-k_up / h, k_up / h, k_down / h, -k_down / h]
    n = grid.size
    mat = sparse.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(n, n))
    return mat.tocsr()


def _diffusion_from_noise(sde: LangevinSDE, x: np.ndarray) -> np.ndarray:
    """Diagonal of ``D = ½ B(x) B(x)ᵀ`` at the points ``x``, (M, d), from the noise model.

    ``B(x)`` is recovered column by column by applying the noise to unit vectors.
    """
    m, d = x.shape
    k = sde.n_noise()
    cov = np.zeros((m, d, d))
    for j in range(k):
        e = np.zeros((m, k))
        e[:, j] = 1.0
        col = np.asarray(sde.diffusion(x, e), dtype=np.float64)
        cov += col[:, :, None] * col[:, None, :]
    cov *= 0.5
    diag = np.diagonal(cov, axis1=1, axis2=2).copy()
    if d == 2:
        off = np.abs(cov[:, 0, 1])
        scale = np.sqrt(diag[:, 0] * diag[:, 1])
        if np.any(off > 1e-10 * np.maximum(scale, np.finfo(float).tiny)):
            raise ValueError("the Fokker–Planck solver needs a diagonal diffusion matrix ½BBᵀ; the "
                             "noise model couples the two axes")
    return diag


def _diffusion_from_callable(fn: Callable, x: np.ndarray) -> np.ndarray:
    values = np.asarray(fn(x), dtype=np.float64)
    m, d = x.shape
    if values.shape == (m,):
        values = np.repeat(values[:, None], d, axis=1)
    if values.shape != (m, d):
        raise ValueError(f"diffusion(x) must return shape (M,) or (M, {d}) for x of shape {x.shape}, "
                         f"got {values.shape}")
    return values


class FokkerPlanck:
    """Fokker–Planck equation of an overdamped Langevin SDE on a 1-D or 2-D grid.

    Parameters
    ----------
    dynamics : LangevinSDE or Landscape
        An overdamped :class:`~sgdsde.sde.LangevinSDE` on a Euclidean landscape (its noise
        fixes the diffusion: isotropic, constant diagonal, or state-dependent with a
        diagonal ``½BBᵀ``), or a bare landscape together with ``diffusion=``.  The drift is
        ``−landscape.grad`` (non-conservative landscapes included).
    grid : Grid
        Of the landscape's dimension (1 or 2).
    diffusion : float or callable, optional
        Only with a bare landscape: a temperature T > 0 (``D = T``) or a callable
        ``D(x) -> (M,)`` (isotropic) or ``(M, d)`` (diagonal) of positive values, for x of
        shape (M, d).  The stationary density of a conservative drift is then
        ``∝ exp(−Φ)/D`` with ``Φ' = U'/D``.
    face_potential : {"auto", "energy", "drift"}
        How ``ΔΦ`` across a face is computed (module docstring).  ``"energy"`` needs a
        conservative landscape and a constant isotropic diffusion; ``"auto"`` uses it then
        and ``"drift"`` otherwise.
    max_peclet : float
        Warn (:class:`CoarseGridWarning`) when the largest cell Péclet number ``|ΔΦ|`` exceeds
        this: the density may change by a factor ``e^|ΔΦ|`` across one cell.

    Attributes
    ----------
    generator : scipy.sparse.csr_matrix, shape (size, size)
        L with ``dp/dt = L p`` (p the flattened density, inverse length^d).
    energy : ndarray, shape grid.shape
        U at the cell centres.
    temperature : float or None
        T when the diffusion is a constant isotropic T, else None.
    peclet : float
        Largest cell Péclet number ``max |ΔΦ|``.

    Examples
    --------
    >>> import sgdsde as sd
    >>> from sgdsde.fokker_planck import FokkerPlanck, Grid
    >>> fp = FokkerPlanck(sd.LangevinSDE(sd.landscapes.DoubleWell(), 0.25), Grid((-2.5, 2.5), 400))
    >>> p = fp.stationary()
    >>> round(fp.grid.integrate(p), 12)
    1.0
    """

    def __init__(self, dynamics: LangevinSDE | Landscape, grid: Grid, *,
                 diffusion: float | Callable | None = None, face_potential: str = "auto",
                 max_peclet: float = 5.0):
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a Grid, got {type(grid).__name__}")
        if face_potential not in FACE_POTENTIALS:
            raise ValueError(f"face_potential must be one of {FACE_POTENTIALS}, got {face_potential!r}")
        if isinstance(dynamics, LangevinSDE):
            if diffusion is not None:
                raise ValueError("diffusion= is only for a bare landscape; a LangevinSDE's noise "
                                 "already fixes the diffusion")
            if dynamics.is_underdamped:
                raise ValueError("the Fokker–Planck solver handles overdamped dynamics only "
                                 "(the SDE has a friction)")
            landscape = dynamics.landscape
        elif isinstance(dynamics, Landscape):
            if diffusion is None:
                raise ValueError("a bare landscape needs diffusion= (a temperature T > 0 or a "
                                 "callable D(x))")
            landscape = dynamics
        else:
            raise TypeError(f"dynamics must be a LangevinSDE or a Landscape, got {type(dynamics).__name__}")
        if landscape.manifold != Euclidean():
            raise ValueError("the Fokker–Planck solver needs a Euclidean landscape, "
                             f"got {landscape.manifold!r}")
        if landscape.dim != grid.ndim:
            raise ValueError(f"the landscape has dimension {landscape.dim} but the grid {grid.ndim}; the "
                             "solver supports 1-D and 2-D landscapes on a grid of the same dimension")
        self.grid = grid
        self.landscape = landscape
        if isinstance(max_peclet, (bool, np.bool_, str, bytes)):
            raise TypeError(f"max_peclet must be a number > 0 (inf disables the warning), got "
                            f"{type(max_peclet).__name__} {max_peclet!r}")
        self.max_peclet = float(max_peclet)
        if not self.max_peclet > 0:
            raise ValueError(f"max_peclet must be > 0 (inf disables the warning), got {max_peclet!r}")

        cells = grid.points
        d_cells, d_fn, self.temperature = self._diffusion(dynamics, diffusion, cells)
        if not np.all(np.isfinite(d_cells)) or np.any(d_cells <= 0):
            raise ValueError("the diffusion must be finite and > 0 at every cell centre "
                             "(temperature T > 0; a zero-noise SDE has no Fokker–Planck density)")
        self.diffusion = tuple(d_cells[:, a].reshape(grid.shape) for a in range(grid.ndim))
        self.energy = np.asarray(landscape.energy(cells), dtype=np.float64).reshape(grid.shape)
        bad = ~np.isfinite(self.energy.ravel())
        if bad.any():
            raise ValueError(f"the landscape's energy is NaN or inf at the cell centre x = "
                             f"{cells[int(np.argmax(bad))]}: the solver needs U finite at every cell "
                             "(move the grid off the singularity or shrink the box)")

        isotropic_constant = self.temperature is not None
        if face_potential == "auto":
            face_potential = "energy" if (landscape.is_conservative and isotropic_constant) else "drift"
        if face_potential == "energy" and not (landscape.is_conservative and isotropic_constant):
            raise ValueError('face_potential="energy" needs a conservative landscape and a constant '
                             'isotropic diffusion (a temperature); use "drift"')
        self.face_potential = face_potential
        self.face_phi = tuple(self._face_phi(a, d_fn) for a in range(grid.ndim))
        for a, phi in enumerate(self.face_phi):
            bad = ~np.isfinite(phi.ravel())
            if bad.any():
                raise ValueError(f"the drift over the diffusion is NaN or inf at the face centre x = "
                                 f"{grid.face_points(a)[int(np.argmax(bad))]} (axis {a}): the solver "
                                 "needs a finite drift at every face (move the grid off the "
                                 "singularity or shrink the box)")
        self.peclet = max(float(np.max(np.abs(f))) for f in self.face_phi)
        self._warn_if_coarse()
        self._rates = _face_rates(grid, self.face_phi, self.diffusion)
        self.generator = generator_matrix(grid, self.face_phi, self.diffusion)
        self._stationary = None

    # construction -----------------------------------------------------------------------
    def _diffusion(self, dynamics, diffusion, cells):
        """Diffusion at the cells (N, d), a callable for other points, and T if constant."""
        if isinstance(dynamics, LangevinSDE):
            t = dynamics.temperature
            if t is not None:
                return np.full_like(cells, t), None, float(t)

            def d_fn(x):
                return _diffusion_from_noise(dynamics, x)
            d_cells = d_fn(cells)
            if dynamics.noise.is_additive and np.allclose(d_cells, d_cells[0, 0], rtol=1e-12, atol=0):
                return d_cells, None, float(d_cells[0, 0])
            return d_cells, d_fn, None
        if callable(diffusion):
            def d_fn(x):
                return _diffusion_from_callable(diffusion, x)
            return d_fn(cells), d_fn, None
        t = positive(diffusion, "diffusion (a temperature)")
        return np.full_like(cells, t), None, t

    def _face_phi(self, axis: int, d_fn) -> np.ndarray:
        grid = self.grid
        shape = grid.face_shape(axis)
        if self.face_potential == "energy":
            u = self.energy
            du = np.roll(u, -1, axis=axis) - u
            if grid.boundary[axis] == "reflecting":
                du = np.take(du, np.arange(grid.shape[axis] - 1), axis=axis)
            return du / self.temperature
        faces = grid.face_points(axis)
        drift = np.asarray(self.landscape.grad(faces), dtype=np.float64)[:, axis]
        d_face = self.temperature if d_fn is None else d_fn(faces)[:, axis]
        return (grid.spacing[axis] * drift / d_face).reshape(shape)

    def _warn_if_coarse(self):
        if self.peclet <= self.max_peclet:
            return
        axis = int(np.argmax([np.max(np.abs(f)) for f in self.face_phi]))
        x = self.grid.face_points(axis)[int(np.argmax(np.abs(self.face_phi[axis]).ravel()))]
        need = [math.ceil(n * self.peclet / self.max_peclet) for n in self.grid.shape]
        warnings.warn(
            f"grid too coarse for the drift: the cell Péclet number |ΔΦ| reaches {self.peclet:.3g}"
            f" on the face at x = {np.array2string(x, precision=3)} (max_peclet = {self.max_peclet:g}); "
            "the density can change by a factor "
            f"e^{self.peclet:.3g} across one cell. Use about {need} cells or a smaller box.",
            CoarseGridWarning, stacklevel=3)

    # stationary state and spectrum --------------------------------------------------------
    def quasi_potential(self) -> np.ndarray:
        """A potential Ψ whose ``e^{−Ψ}`` approximates the stationary density, shape ``grid.shape``.

        For a gradient drift it is exact for the scheme: ``U/T`` with the energy form, and
        otherwise ``Φ + ln D`` summed face by face (``ΔΨ = ΔΦ + Δ ln D``) along the first axis,
        then along the second from every cell of the first column.  A non-gradient drift has
        no such potential (path sums would depend on the path); ``U/D + ln D`` with the
        landscape's energy U and the axis-averaged D is used as a reference profile instead.
        Shifted so that ``min Ψ = 0``.
        """
        log_d = [np.log(d) for d in self.diffusion]
        if self.face_potential == "energy":
            psi = self.energy / self.temperature
        elif not self.landscape.is_conservative:
            d_mean = np.mean(self.diffusion, axis=0)
            psi = self.energy / d_mean + np.log(d_mean)
        else:
            psi = np.zeros(self.grid.shape)
            for a, phi in enumerate(self.face_phi):
                head = [slice(None)] * self.grid.ndim
                head[a] = slice(0, self.grid.shape[a] - 1)  # interior faces (not the periodic wrap)
                step = phi[tuple(head)] + np.diff(log_d[a], axis=a)
                if a == 0 and self.grid.ndim == 2:
                    step = step[:, :1]  # along the first column only
                start = np.zeros([1 if b == a else n for b, n in enumerate(step.shape)])
                psi = psi + np.concatenate([start, np.cumsum(step, axis=a)], axis=a)
        return psi - psi.min()

    def stationary(self) -> np.ndarray:
        """The stationary density, shape ``grid.shape``, normalised to ``∫p = 1``.

        Solves ``L p = 0`` with one equation replaced by the normalisation ``Σ p h^d = 1``, by
        one direct sparse LU (L is exactly singular, so no shift-invert at 0).  The system is
        solved in the similar form ``W⁻¹ L W r = 0``, ``p = W r``, ``W = diag(e^{−Ψ})`` with Ψ
        the :meth:`quasi_potential`, and the equation replaced is that of the peak cell
        (Ψ = 0).  Then r is of order one everywhere (exactly constant for a gradient drift) and
        the far tails keep their relative accuracy, which KL(p‖p_∞) needs; unscaled, the LU's
        rounding, relative to the peak, swamps densities below ~1e-16 of it.  The conditioning
        still grows like the inverse spectral gap, ``e^{ΔU/T}`` across a barrier ΔU.
        Rounding-level negatives are set to zero.
        """
        if self._stationary is None:
            n = self.grid.size
            psi = self.quasi_potential().ravel()
            k = int(np.argmin(psi))
            weight = np.exp(-np.minimum(psi, 700.0))  # floored: no column of W⁻¹LW may vanish
            coo = self.generator.tocoo()
            keep = coo.row != k
            scaled = coo.data[keep] * weight[coo.col[keep]] / weight[coo.row[keep]]
            a = sparse.csc_matrix(
                (np.concatenate([scaled, weight * self.grid.cell_volume]),
                 (np.concatenate([coo.row[keep], np.full(n, k)]),
                  np.concatenate([coo.col[keep], np.arange(n)]))), shape=(n, n))
            rhs = np.zeros(n)
            rhs[k] = 1.0
            try:
                p = weight * np.maximum(splinalg.splu(a).solve(rhs), 0.0)
            except RuntimeError:  # SuperLU: "Factor is exactly singular"
                raise ValueError(
                    "the generator has no unique stationary state: some cells cannot reach each "
                    f"other (rates underflow at the largest cell Péclet number, {self.peclet:.3g}). "
                    "Refine the grid or shrink the box.") from None
            p /= p.sum() * self.grid.cell_volume
            p.setflags(write=False)
            self._stationary = p.reshape(self.grid.shape)
        return self._stationary

    def spectrum(self, n_eigenvalues: int = 6) -> np.ndarray:
        """The ``n_eigenvalues`` eigenvalues of L closest to zero, by decreasing real part.

        Shift-invert Arnoldi (``scipy.sparse.linalg.eigs``) about σ = +1 (all eigenvalues have
        real part ≤ 0, so σ is never one); the first is 0 to rounding.  Units: 1/time.
        """
        k = int(n_eigenvalues)
        if not 1 <= k < self.grid.size - 1:
            raise ValueError(f"n_eigenvalues must be between 1 and {self.grid.size - 2}, got {n_eigenvalues}")
        vals = splinalg.eigs(self.generator.tocsc(), k=k, sigma=1.0, which="LM",
                             return_eigenvectors=False)
        vals = vals[np.argsort(-vals.real)]
        return vals.real if np.all(np.abs(vals.imag) <= 1e-9 * np.abs(vals).max()) else vals

    # probability current ----------------------------------------------------------------
    def _flat(self, p) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if p.shape not in (self.grid.shape, (self.grid.size,)):
            raise ValueError(f"p must have shape {self.grid.shape} or ({self.grid.size},), got {p.shape}")
        return p.ravel()

    def current(self, p) -> tuple[np.ndarray, ...]:
        """Probability flux through the faces, per axis (shape ``grid.face_shape(a)``).

        ``J_a`` is the flux in the +a direction per unit face area (inverse time ×
        length^(1−d)); faces on reflecting walls carry none and are not listed.
        """
        p = self._flat(p)
        return tuple((k_up * p[lo] - k_down * p[up]).reshape(self.grid.face_shape(a))
                      for a, (k_up, k_down, lo, up) in enumerate(self._rates))

    def current_at_cells(self, p) -> np.ndarray:
        """The current vector at the cell centres (mean of the two faces), shape ``(*grid.shape, d)``."""
        out = np.zeros((*self.grid.shape, self.grid.ndim))
        for a, j in enumerate(self.current(p)):
            if self.grid.boundary[a] == "periodic":
                out[..., a] = 0.5 * (j + np.roll(j, 1, axis=a))
            else:
                pad = [(0, 0)] * self.grid.ndim
                pad[a] = (1, 1)
                jj = np.pad(j, pad)  # zero flux through the reflecting walls
                out[..., a] = 0.5 * (np.take(jj, np.arange(1, jj.shape[a]), axis=a)
                                     + np.take(jj, np.arange(0, jj.shape[a] - 1), axis=a))
        return out

    def circulation(self, p, center=None) -> float:
        """Net rotation of the probability current about ``center`` (2-D).

        ``∫ (x − c) × J(x) d²x = ∫_0^∞ Γ(r) r dr``, with ``Γ(r) = ∮_{|x−c|=r} J·dl`` the
        circulation of the current around the circle of radius r.  Zero for a state in
        detailed balance; ``ω E|x − c|²`` for the rotating Ornstein–Uhlenbeck current
        ``Ω (x − c) p``.  Each face flux is weighted by its face area times the cell width
        along it.  Units: length²/time.
        """
        if self.grid.ndim != 2:
            raise ValueError(f"circulation is defined in 2-D, the grid is {self.grid.ndim}-D")
        c = np.zeros(2) if center is None else np.asarray(center, dtype=np.float64).ravel()
        if c.shape != (2,):
            raise ValueError(f"center must be a point (x, y), got shape {c.shape}")
        jx, jy = self.current(p)
        vol = self.grid.cell_volume
        fx, fy = self.grid.face_points(0), self.grid.face_points(1)
        return float(vol * (np.sum((fy[:, 0] - c[0]) * jy.ravel())
                            - np.sum((fx[:, 1] - c[1]) * jx.ravel())))

    def __repr__(self):
        return (f"FokkerPlanck({self.landscape!r}, {self.grid!r}, face_potential={self.face_potential!r}, "
                f"peclet={self.peclet:.3g})")
