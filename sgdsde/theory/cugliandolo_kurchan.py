"""Exact N → ∞ dynamics of spherical spin glasses: the Cugliandolo–Kurchan equations.

For Langevin dynamics on the sphere |σ|² = N with a Gaussian energy of covariance
E[H(σ)H(σ')] = N ξ(σ·σ'/N), started from a uniformly random point, the correlation
C(t,t') = σ(t)·σ(t')/N, the response R(t,t') and the Lagrange multiplier μ(t) obey, as
N → ∞ (docs/theory.md §4; Cugliandolo & Kurchan, PRL 71, 173 (1993))::

    ∂_t C(t,t') = −μ(t) C(t,t') + ∫_0^t ξ''(C(t,s)) R(t,s) C(s,t') ds + ∫_0^{t'} ξ'(C(t,s)) R(t',s) ds
    ∂_t R(t,t') = −μ(t) R(t,t') + ∫_{t'}^t ξ''(C(t,s)) R(t,s) R(s,t') ds
    μ(t) = T + ∫_0^t [ξ''(C) C + ξ'(C)](t,s) R(t,s) ds,      E(t) = −∫_0^t ξ'(C(t,s)) R(t,s) ds

with C(t,t) = 1 and R(t⁺,t) = 1; E is the energy per spin.  Two schemes:

* :func:`solve_ck_fixed` — a uniform grid, Heun's predictor–corrector with trapezoidal
  memory sums (second order; the kink of C and the jump of R at s = t' sit on grid nodes),
  and one Richardson extrapolation from steps h and h/2.  Cost O((t/h)³): moderate times.
* :func:`solve_ck_doubling` — grid doubling after Kim & Latz (as used in Berthier et al.,
  J. Chem. Phys. 126, 184504 (2007), App. C).  The grid holds 2m + 1 times; when it is
  full every other time is dropped and the step doubles, so reaching time t costs
  O(m³ log t).  It works with the integrated response χ(t,t') = ∫_{t'}^t R(t,s) ds, which
  obeys ∂_t χ = 1 − μχ + ∫_{t'}^t ξ''(C(t,s)) R(t,s) χ(s,t') ds and turns the fast part of
  R into a jump that a coarse grid integrates exactly.  Memory integrals pair the cell
  integral of the fast factor with the cell mean of the slow one, and these cell
  quantities are summed, not resampled, when the grid is thinned.  Lags shorter than
  ``n_band`` steps are copied along the diagonal (time-translation invariance at short
  lags); each row is solved implicitly (BDF2) by a relaxed fixed-point iteration.

Accuracy.  The fixed grid with extrapolation reproduces the exact p = 2 gradient flow to
~1e-5 at dt = 0.025.  The doubling grid is first order in the step near the band edge: E
moves by ~1e-4 at each thinning (the quadrature just outside the band coarsens).  At T = 0,
p = 3 the gap E − E_th is 0.0031–0.0044 at t = 10³ and 0.0006–0.0020 at t = 10⁴ across
n_grid = 256 … 1024 and n_band = 2 … 8 (``benchmarks/ck_cost.py`` prints the spread), so
the long-time tail is known to a factor of order one; the paramagnetic energy −ξ(1)/T
holds to ~4e-4 up to t = 10³.  The published scheme uses higher-order cell rules than the
trapezoidal ones here.

The equilibrium solution for T > T_d solves the Volterra equation of :func:`solve_fdt`.
Units: ξ sets the energy scale (ABC normalisation ξ = q^p: E_th = −2 sqrt((p−1)/p);
CK normalisation ξ = q^p/2), T in the same units, t in the units of the SDE
dσ = −∇H dt + sqrt(2T) dW projected on the sphere (docs/theory.md §4).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ive

from .._checks import integer, positive, real
from . import _ck_numba
from .pspin import PSpinCovariance

__all__ = [
    "Covariance",
    "CKSolution",
    "solve_ck",
    "solve_ck_fixed",
    "solve_ck_doubling",
    "solve_fdt",
    "plateau_overlap",
    "threshold_energy_at",
    "local_decay_exponent",
    "p2_gradient_flow_energy",
    "finite_n_extrapolation",
    "compare_finite_n",
]


# --------------------------------------------------------------------------------------
# The covariance ξ(q)
# --------------------------------------------------------------------------------------

class Covariance(PSpinCovariance):
    """Deprecated: use :class:`sgdsde.theory.pspin.PSpinCovariance`, the one class of ξ(q).

    ``Covariance({p: a_p})`` is ``PSpinCovariance.from_powers({p: a_p})`` (ξ = Σ a_p q^p in
    the ABC normalisation) and ``Covariance.pure(p, normalization)`` is
    ``PSpinCovariance.pure(p, normalization)``.  Both warn (DeprecationWarning).  Unlike the
    old class, ``coefficients`` holds the model's c_p; ξ's a_p are in ``powers``.
    """

    def __init__(self, coefficients: Mapping[int, float]):
        _deprecated("Covariance({p: a_p})", "PSpinCovariance.from_powers({p: a_p})")
        model = PSpinCovariance.from_powers(coefficients)
        super().__init__(dict(model.coefficients), "abc")
        self._powers = model.powers

    @classmethod
    def pure(cls, p: int, normalization: str = "abc") -> PSpinCovariance:
        _deprecated("Covariance.pure", "PSpinCovariance.pure")
        return PSpinCovariance.pure(p, normalization)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"sgdsde.theory.cugliandolo_kurchan.{old} is deprecated; use "
                  f"sgdsde.theory.pspin.{new}", DeprecationWarning, stacklevel=3)


def _covariance(xi) -> PSpinCovariance:
    """A :class:`PSpinCovariance` from itself or from a mapping {p: a_p} of ξ's powers."""
    if isinstance(xi, PSpinCovariance):
        return xi
    if isinstance(xi, Mapping):
        return PSpinCovariance.from_powers(xi)
    raise TypeError(f"xi must be a PSpinCovariance or a mapping {{p: a_p}}, got {type(xi).__name__}")


def _check_positive(name, value, allow_zero=False):
    return positive(value, name, allow_zero)


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CKSolution:
    """Solution of the CK equations.

    Attributes
    ----------
    t : ndarray, shape (n,)
        Times of the one-time observables.
    energy : ndarray, shape (n,)
        Energy per spin E(t).
    mu : ndarray, shape (n,)
        Lagrange multiplier μ(t) (the spherical constraint).
    grid : ndarray, shape (m,)
        Times of the two-time arrays.
    correlation : ndarray, shape (m, m)
        C(t_i, t_j), symmetric.
    response : ndarray, shape (m, m)
        R(t_i, t_j) for i > j (zero above the diagonal; the diagonal holds R(t⁺, t) = 1).
        On the doubling grid this is −∂χ/∂t' by finite differences: a cell mean where R
        varies faster than the step.
    integrated_response : ndarray, shape (m, m)
        χ(t_i, t_j) = ∫_{t_j}^{t_i} R(t_i, s) ds for i >= j.
    temperature : float
    covariance : PSpinCovariance
    method : str
        ``"fixed"`` or ``"doubling"``.
    stats : dict
        Wall time, steps, the largest number of fixed-point iterations (doubling), the
        Richardson error estimate of E (fixed).
    """

    t: np.ndarray
    energy: np.ndarray
    mu: np.ndarray
    grid: np.ndarray
    correlation: np.ndarray
    response: np.ndarray
    integrated_response: np.ndarray
    temperature: float
    covariance: PSpinCovariance
    method: str
    stats: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("t", "energy", "mu", "grid", "correlation", "response", "integrated_response"):
            a = np.array(getattr(self, name), dtype=np.float64, copy=True)
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    def energy_at(self, t):
        """E at the times ``t`` (linear interpolation in t)."""
        return np.interp(t, self.t, self.energy)

    def column(self, t_wait: float):
        """C(t, t_w) and R(t, t_w) for t >= t_w at the grid time nearest to ``t_wait``.

        Returns
        -------
        t : ndarray, shape (k,)
            Grid times from t_w on.
        c, r : ndarray, shape (k,)
            C(t, t_w) and R(t, t_w) (R(t_w⁺, t_w) = 1 first).
        """
        j = int(np.argmin(np.abs(self.grid - t_wait)))
        return self.grid[j:], self.correlation[j:, j], self.response[j:, j]

    def decay_exponent(self, asymptote: float, points_per_decade: int = 8):
        """Local exponent of E(t) − E_∞; see :func:`local_decay_exponent`."""
        return local_decay_exponent(self.t, self.energy, asymptote, points_per_decade)


# --------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------

def _fixed_run(a, temperature, n_steps, h):
    n = n_steps + 1
    c = np.zeros((n, n))
    r = np.zeros((n, n))
    mu = np.zeros(n)
    energy = np.zeros(n)
    _ck_numba.solve_fixed_grid(n_steps, h, temperature, a, c, r, mu, energy)
    return c, r, mu, energy


def _integrate_response(r, h):
    """χ(t_i, t_j) = ∫_{t_j}^{t_i} R(t_i, s) ds by the trapezoid rule along each row."""
    n = r.shape[0]
    chi = np.zeros_like(r)
    for i in range(1, n):
        row = r[i, : i + 1]
        seg = 0.5 * h * (row[:-1] + row[1:])
        chi[i, :i] = np.cumsum(seg[::-1])[::-1]
    return chi


def solve_ck_fixed(xi, temperature: float, t1: float, *, dt: float = 0.02,
                   richardson: bool = True) -> CKSolution:
    """CK equations on a uniform grid with Heun's scheme (and Richardson extrapolation).

    Parameters
    ----------
    xi : PSpinCovariance or mapping {p: a_p}
        The covariance ξ(q) (a landscape's ``covariance`` works as is).
    temperature : float
        T >= 0 (T = 0 is gradient flow).
    t1 : float
        Final time > 0; rounded to a whole number of steps ``dt``.
    dt : float
        Step h of the returned grid.  Cost ∝ (t1/h)³ (× 9 with Richardson); memory
        ∝ (t1/h)² (3 × 8 bytes per pair of times at step h/2).
    richardson : bool
        Also solve with step h/2 and return (4 f_{h/2} − f_h)/3 on the grid of step h,
        cancelling the h² error term; ``stats["energy_error"]`` is then |f_{h/2} − f_h|/3,
        the estimated error of the h/2 solution.

    Returns
    -------
    CKSolution
    """
    xi = _covariance(xi)
    temperature = _check_positive("temperature", temperature, allow_zero=True)
    t1 = _check_positive("t1", t1)
    dt = _check_positive("dt", dt)
    n = max(1, round(t1 / dt))
    h = t1 / n
    if n > 20000:
        raise ValueError(f"t1/dt = {n} steps is beyond a fixed grid (memory ∝ n²); "
                         "use solve_ck_doubling or a larger dt")
    start = time.perf_counter()
    a = xi.array.copy()
    c, r, mu, energy = _fixed_run(a, temperature, n, h)
    stats = {"steps": n, "dt": h, "richardson": bool(richardson)}
    if richardson:
        c2, r2, mu2, e2 = _fixed_run(a, temperature, 2 * n, h / 2)
        stats["energy_error"] = np.abs(e2[::2] - energy) / 3.0
        c = (4.0 * c2[::2, ::2] - c) / 3.0
        r = (4.0 * r2[::2, ::2] - r) / 3.0
        mu = (4.0 * mu2[::2] - mu) / 3.0
        energy = (4.0 * e2[::2] - energy) / 3.0
    stats["wall_time"] = time.perf_counter() - start
    t = h * np.arange(n + 1)
    r = np.tril(r)
    return CKSolution(t=t, energy=energy, mu=mu, grid=t, correlation=c, response=r,
                      integrated_response=_integrate_response(r, h), temperature=temperature,
                      covariance=xi, method="fixed", stats=stats)


def solve_ck_doubling(xi, temperature: float, t1: float, *, n_grid: int = 512, n_band: int = 8,
                      dt0: float = 0.01, tol: float = 1e-10, max_iter: int = 500,
                      relaxation: float = 0.9) -> CKSolution:
    """CK equations to long times by grid doubling (Kim–Latz; see the module docstring).

    Parameters
    ----------
    xi : PSpinCovariance or mapping {p: a_p}
        The covariance ξ(q).
    temperature : float
        T >= 0.
    t1 : float
        Final time > 0 (the last grid reaches the first grid time >= t1).
    n_grid : int
        Even number of steps the grid holds (2m); the step doubles each time it fills.
        Cost ∝ n_grid³ per doubling, memory 9 (n_grid + 1)² doubles.
    n_band : int
        Lags of fewer than ``n_band`` steps are copied along the diagonal after the first
        grid, 1 <= n_band < n_grid/4.  The copied lags cover a fraction ~ n_band/n_grid
        of the age, so keep n_band/n_grid small (default 8/512).
    dt0 : float
        Step of the first grid (solved with every lag computed).
    tol : float
        Convergence of each row's fixed-point iteration (max change of C and χ).
    max_iter : int
        Iterations per row at most; ``stats["max_iterations"]`` reports the largest used.
    relaxation : float
        Initial relaxation factor of the iteration in (0, 1]; halved whenever the change
        grows.

    Returns
    -------
    CKSolution
        One-time observables at every computed time; two-time arrays on the last grid.
    """
    xi = _covariance(xi)
    temperature = _check_positive("temperature", temperature, allow_zero=True)
    t1 = _check_positive("t1", t1)
    dt0 = _check_positive("dt0", dt0)
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 16 or n_grid % 2:
        raise ValueError(f"n_grid must be an even integer >= 16, got {n_grid!r}")
    if isinstance(n_band, bool) or not isinstance(n_band, (int, np.integer)) or not 1 <= n_band < n_grid // 4:
        raise ValueError(f"n_band must be an integer in [1, n_grid/4) = [1, {n_grid // 4}), got {n_band!r}")
    if not 0 < relaxation <= 1:
        raise ValueError(f"relaxation must be in (0, 1], got {relaxation}")
    tol = positive(tol, "tol")  # inf would declare every iteration converged
    max_iter = integer(max_iter, "max_iter", minimum=1)
    a = xi.array.copy()
    n = int(n_grid) + 1
    m = int(n_grid) // 2
    grid = tuple(np.zeros((n, n)) for _ in range(9))
    grid[0][0, 0] = 1.0
    mu = np.zeros(n)
    energy = np.zeros(n)
    iterations = np.zeros(n, dtype=np.int64)
    mu[0] = temperature
    h = dt0
    start = time.perf_counter()
    stop = min(n, math.ceil(t1 / h - 1e-9) + 1)
    worst = _ck_numba.fill_rows(grid, 1, stop, h, temperature, a, 0, tol, int(max_iter), relaxation,
                                mu, energy, iterations)
    ts, es, mus = [h * np.arange(stop)], [energy[:stop].copy()], [mu[:stop].copy()]
    n_rows, n_doublings = stop - 1, 0
    while stop == n and (n - 1) * h < t1 * (1 - 1e-12):
        _ck_numba.decimate(grid, mu, energy)
        h *= 2.0
        n_doublings += 1
        stop = min(n, math.ceil(t1 / h - 1e-9) + 1)
        worst = max(worst, _ck_numba.fill_rows(grid, m + 1, stop, h, temperature, a, int(n_band), tol,
                                               int(max_iter), relaxation, mu, energy, iterations))
        ts.append(h * np.arange(m + 1, stop))
        es.append(energy[m + 1:stop].copy())
        mus.append(mu[m + 1:stop].copy())
        n_rows += stop - m - 1
    wall = time.perf_counter() - start
    c, chi = grid[0][:stop, :stop], np.tril(grid[1][:stop, :stop])
    r = np.tril(-np.gradient(chi, h, axis=1))
    np.fill_diagonal(r, 1.0)
    stats = {"wall_time": wall, "rows": n_rows, "doublings": n_doublings, "dt_final": h,
             "max_iterations": int(worst), "n_grid": int(n_grid), "n_band": int(n_band), "dt0": dt0}
    if worst >= max_iter:
        stats["converged"] = False
    return CKSolution(t=np.concatenate(ts), energy=np.concatenate(es), mu=np.concatenate(mus),
                      grid=h * np.arange(stop), correlation=c, response=r, integrated_response=chi,
                      temperature=temperature, covariance=xi, method="doubling", stats=stats)


def solve_ck(xi, temperature: float, t1: float, *, method: str = "auto", **options) -> CKSolution:
    """Solve the CK equations; ``method="auto"`` takes the fixed grid below t1 = 1000.

    ``options`` go to :func:`solve_ck_fixed` (``dt``, ``richardson``) or
    :func:`solve_ck_doubling` (``n_grid``, ``n_band``, ``dt0``, ...).
    """
    if method == "auto":
        method = "fixed" if float(t1) < 1000 else "doubling"
    if method == "fixed":
        return solve_ck_fixed(xi, temperature, t1, **options)
    if method == "doubling":
        return solve_ck_doubling(xi, temperature, t1, **options)
    raise ValueError(f"method must be 'auto', 'fixed' or 'doubling', got {method!r}")


# --------------------------------------------------------------------------------------
# Equilibrium (FDT) dynamics and the plateau
# --------------------------------------------------------------------------------------

def solve_fdt(xi, temperature: float, t1: float, *, dt: float = 0.01, n_corrector: int = 2):
    """Equilibrium correlation C(τ) for T > T_d (docs/theory.md §4).

    Solves Ċ(τ) = −T C(τ) − β ∫_0^τ ξ'(C(τ−s)) Ċ(s) ds with C(0) = 1 by the trapezoid rule
    (predictor plus ``n_corrector`` corrector sweeps); cost O((t1/dt)²).  Below T_d the
    same equation describes the planted (equilibrium) start and C(τ) tends to the plateau
    of :func:`plateau_overlap`.

    Parameters
    ----------
    xi : PSpinCovariance or mapping {p: a_p}
    temperature : float
        T > 0.
    t1 : float
        Last lag τ > 0.
    dt : float
        Step in τ.
    n_corrector : int
        Corrector sweeps per step, an integer >= 0.

    Returns
    -------
    tau, c : ndarray, shape (n + 1,)
        Lags and C(τ).
    """
    xi = _covariance(xi)
    temperature = _check_positive("temperature", temperature)
    t1 = _check_positive("t1", t1)
    dt = _check_positive("dt", dt)
    n_corrector = integer(n_corrector, "n_corrector", minimum=0)  # -1 ran the predictor only
    n = max(1, round(t1 / dt))
    if n > 10**6:
        raise ValueError(f"t1/dt = {n} steps is too many for an O(n²) solver; raise dt")
    h = t1 / n
    c = np.zeros(n + 1)
    dc = np.zeros(n + 1)
    _ck_numba.solve_fdt(n, h, temperature, xi.array.copy(), c, dc, n_corrector)
    return h * np.arange(n + 1), c


def plateau_overlap(xi, temperature: float) -> float:
    """Largest root q in (0, 1) of β² ξ'(q) (1 − q) = q, or 0.0 if there is none (T > T_d).

    The long-lag limit of the equilibrium C(τ) (Edwards–Anderson parameter of the
    dynamical transition); the first temperature with a root is T_d.
    """
    from scipy.optimize import brentq

    xi = _covariance(xi)
    temperature = _check_positive("temperature", temperature)
    beta2 = temperature**-2
    q = np.linspace(1e-6, 1.0, 20001)
    g = beta2 * xi.prime(q) * (1 - q) - q
    sign_change = np.nonzero(np.diff(np.sign(g)) != 0)[0]
    if len(sign_change) == 0:
        return 0.0
    k = sign_change[-1]
    return float(brentq(lambda x: beta2 * float(xi.prime(x)) * (1 - x) - x, q[k], q[k + 1], xtol=1e-14))


def threshold_energy_at(xi, temperature: float) -> tuple[float, float, float]:
    """Asymptotic energy of aging below T_d from a random start, in the CK (threshold) solution.

    With a plateau q at the marginal condition ξ''(q)(1 − q)² = T² (largest root) and the
    fluctuation–dissipation ratio of the aging regime x = (1 − q) ξ'''(q)/ξ''(q), the energy
    E = −∫ ξ'(C) R ds splits into its FDT part, −β (ξ(1) − ξ(q)), and its aging part,
    −β x ξ(q).  For a pure model x = (p − 2)(1 − q)/q and the T → 0 limit is the threshold
    −2 sqrt((p − 1)/p) (ABC); Cugliandolo & Kurchan, PRL 71, 173 (1993).  For mixed models
    the dynamics need not reach this state (Folena et al., PRX 10, 031045 (2020)).

    Parameters
    ----------
    xi : PSpinCovariance or mapping {p: a_p}
    temperature : float
        0 <= T < T_d.

    Returns
    -------
    energy, q, x : float
        Energy per spin, plateau and fluctuation–dissipation ratio (q = 1, x = 0 at T = 0).
    """
    from scipy.optimize import brentq

    xi = _covariance(xi)
    temperature = _check_positive("temperature", temperature, allow_zero=True)
    if max(xi.powers) < 3:
        raise ValueError("threshold_energy_at needs a component with p >= 3 (a glass transition)")
    if temperature > 0 and plateau_overlap(xi, temperature) == 0.0:
        raise ValueError(f"temperature {temperature} is above T_d: there is no aging state")
    if temperature == 0:
        # T → 0: 1 − q ≈ T / sqrt(ξ''(1)), so β(ξ(1) − ξ(q)) → ξ'(1)/sqrt(ξ''(1)) and
        # βxξ(q) → ξ'''(1) ξ(1) / ξ''(1)^{3/2}
        e1, e2 = float(xi.prime(1.0)), float(xi.second(1.0))
        return -(e1 / math.sqrt(e2) + float(xi.third(1.0)) * float(xi(1.0)) / e2**1.5), 1.0, 0.0
    q_grid = np.linspace(1e-6, 1.0, 20001)
    gap = xi.second(q_grid) * (1 - q_grid) ** 2 - temperature**2
    k = np.nonzero(np.diff(np.sign(gap)) != 0)[0][-1]
    q = brentq(lambda v: float(xi.second(v)) * (1 - v) ** 2 - temperature**2, q_grid[k], q_grid[k + 1],
               xtol=1e-15)
    x = (1 - q) * float(xi.third(q)) / float(xi.second(q))
    beta = 1.0 / temperature
    energy = -beta * (float(xi(1.0)) - float(xi(q)) + x * float(xi(q)))
    return float(energy), float(q), float(x)


# --------------------------------------------------------------------------------------
# Observables and checks
# --------------------------------------------------------------------------------------

def local_decay_exponent(t, energy, asymptote: float, points_per_decade: int = 8):
    """Local exponent α(t) = −d ln(E(t) − E_∞) / d ln t of a power-law approach.

    Parameters
    ----------
    t, energy : array_like, shape (n,)
        Increasing times > 0 and the energy per spin.
    asymptote : float
        E_∞ (e.g. the threshold energy); E(t) must stay above it on the range used.
    points_per_decade : int
        Log-spaced resampling density; α is a centred difference on that grid.

    Returns
    -------
    t_mid : ndarray
        Geometric midpoints of consecutive resampled times.
    alpha : ndarray
        The exponent there (≈ 2/3 for p = 3 gradient flow towards the threshold).
    """
    t = np.asarray(t, dtype=np.float64)
    e = np.asarray(energy, dtype=np.float64)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError(f"t and energy must be 1-D of one length, got {t.shape} and {e.shape}")
    asymptote = real(asymptote, "asymptote")
    points_per_decade = integer(points_per_decade, "points_per_decade", minimum=1)
    if not (np.all(np.isfinite(t)) and np.all(np.diff(t) > 0)):  # np.interp needs them sorted
        raise ValueError("t must be finite and increasing")
    keep = t > 0
    t, e = t[keep], e[keep]
    if len(t) < 2:
        raise ValueError("need at least two times > 0")
    if not np.all(np.isfinite(e)):
        raise ValueError("energy must be finite at the times > 0")
    n = max(2, int(round(points_per_decade * np.log10(t[-1] / t[0]))) + 1)
    tl = np.geomspace(t[0], t[-1], n)
    gap = np.interp(tl, t, e) - asymptote
    if np.any(gap <= 0):
        raise ValueError(f"energy must stay above the asymptote {asymptote} (got min gap {gap.min():.3g})")
    lt, lg = np.log(tl), np.log(gap)
    return np.exp(0.5 * (lt[1:] + lt[:-1])), -np.diff(lg) / np.diff(lt)


def p2_gradient_flow_energy(t, xi=None):
    """Exact energy per spin of p = 2 gradient flow from a random start (docs/theory.md §4).

    For ξ = a q² the Hamiltonian is σᵀJσ with J a GOE matrix whose semicircle has radius
    R = sqrt(2a) (sqrt 2 in ABC units); gradient flow weights each eigenvector by e^{−4λt}:
    E(t) = ∫ λ e^{−4λt} ρ(λ) dλ / ∫ e^{−4λt} ρ(λ) dλ = −R I_2(4Rt) / I_1(4Rt), with the
    Bessel form from ∫ e^{−xλ} sqrt(R² − λ²) dλ = π R I_1(xR) / x.

    Parameters
    ----------
    t : array_like
        Finite times >= 0.
    xi : PSpinCovariance, optional
        A pure p = 2 covariance (default ABC, a = 1, R = sqrt 2).
    """
    a2 = 1.0
    if xi is not None:
        xi = _covariance(xi)
        if set(xi.powers) != {2}:
            raise ValueError(f"xi must be a pure p = 2 covariance, got {xi.powers}")
        a2 = xi.powers[2]
    radius = math.sqrt(2.0 * a2)
    t = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(t) & (t >= 0)):  # NaN gave 0.0 (the t = 0 value), inf NaN
        raise ValueError(f"t must be finite and >= 0, got {t[~(np.isfinite(t) & (t >= 0))].ravel()[:3]}")
    x = 4.0 * radius * t
    with np.errstate(invalid="ignore", divide="ignore"):
        e = -radius * ive(2, x) / ive(1, x)
    return np.where(x > 0, e, 0.0)


def finite_n_extrapolation(sizes, values, errors=None):
    """Weighted least-squares fit value(N) = v_∞ + b/N; returns (v_∞, SE(v_∞), b).

    Parameters
    ----------
    sizes : array_like, shape (k,)
        System sizes N (k >= 2).
    values : array_like, shape (k, ...)
        Measurements at each N (e.g. energy traces on a common time grid).
    errors : array_like, shape (k, ...), optional
        Standard errors; weights 1/SE².  Without them the fit is unweighted and the
        returned SE is nan for k = 2.

    Returns
    -------
    v_inf, se, slope : ndarray, shape (...)
    """
    n = np.asarray(sizes, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if n.ndim != 1 or len(n) < 2 or not np.all(np.isfinite(n) & (n > 0)):
        raise ValueError("sizes must be a 1-D array of at least two positive N")
    if np.unique(n).size < 2:  # no lever arm in 1/N: the fit is 0/0
        raise ValueError(f"sizes must hold at least two different sizes, got {n.tolist()}")
    if y.ndim == 0 or y.shape[0] != len(n):
        raise ValueError(f"values must have len(sizes) = {len(n)} rows, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite (a NaN or inf would make the whole fit NaN)")
    x = (1.0 / n).reshape((-1,) + (1,) * (y.ndim - 1))
    if errors is None:
        w = np.ones_like(y)
    else:
        s = np.asarray(errors, dtype=np.float64)
        if s.shape != y.shape or not np.all(np.isfinite(s) & (s > 0)):
            raise ValueError("errors must have the shape of values and be finite and > 0")
        w = 1.0 / s**2
    sw, swx, swy = w.sum(0), (w * x).sum(0), (w * y).sum(0)
    swxx, swxy = (w * x * x).sum(0), (w * x * y).sum(0)
    det = sw * swxx - swx**2
    slope = (sw * swxy - swx * swy) / det
    v_inf = (swxx * swy - swx * swxy) / det
    if errors is not None:
        se = np.sqrt(swxx / det)
    else:
        resid = y - v_inf - slope * x
        dof = len(n) - 2
        s2 = (resid**2).sum(0) / dof if dof > 0 else np.full(np.shape(v_inf), np.nan)
        se = np.sqrt(s2 * swxx / det)
    return v_inf, se, slope


def compare_finite_n(solution: CKSolution, traces: Mapping[int, tuple], times: Sequence[float]):
    """Finite-N energy traces next to the N → ∞ curve, with the 1/N extrapolation.

    Parameters
    ----------
    solution : CKSolution
        The N → ∞ reference.
    traces : mapping N -> (t, mean, sem)
        For each system size, record times (n_N,), the particle-mean energy per spin and
        its standard error (same shapes).
    times : sequence of float
        Times at which to compare (interpolated linearly in each trace).

    Returns
    -------
    dict
        ``times``; ``sizes``; ``finite_n`` (k, n_times) and ``finite_n_se``; ``ck`` (n_times,)
        the N → ∞ energy; ``extrapolated``, ``extrapolated_se`` and ``slope`` of the fit
        E(N) = E_∞ + b/N; ``z`` = (extrapolated − ck) / extrapolated_se.
    """
    if not isinstance(solution, CKSolution):
        raise TypeError(f"solution must be a CKSolution, got {type(solution).__name__}")
    if len(traces) < 2:
        raise ValueError("traces must hold at least two system sizes")
    times = np.asarray(times, dtype=np.float64)
    sizes = np.array(sorted(traces), dtype=np.int64)
    vals, errs = [], []
    for size in sizes:
        t, mean, sem = (np.asarray(v, dtype=np.float64) for v in traces[int(size)])
        if not (t.shape == mean.shape == sem.shape):
            raise ValueError(f"traces[{size}]: t, mean and sem must have one shape")
        if times.min() < t[0] or times.max() > t[-1]:
            raise ValueError(f"traces[{size}] covers t in [{t[0]}, {t[-1]}], not all of {times}")
        vals.append(np.interp(times, t, mean))
        errs.append(np.interp(times, t, sem))
    vals, errs = np.array(vals), np.array(errs)
    v_inf, se, slope = finite_n_extrapolation(sizes, vals, errs)
    ck = solution.energy_at(times)
    return {"times": times, "sizes": sizes, "finite_n": vals, "finite_n_se": errs, "ck": ck,
            "extrapolated": v_inf, "extrapolated_se": se, "slope": slope, "z": (v_inf - ck) / se}
