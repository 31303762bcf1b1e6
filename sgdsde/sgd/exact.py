"""Exactly solvable SGD: the oracles of the SGD ↔ SDE checks (docs/theory.md §2).

* :class:`GaussianQuadraticModel` — model 5.1 of Li, Tai & E (JMLR 2019):
  ``f_γ(x) = ½ (x − γ)ᵀ H (x − γ) − ½ Tr H`` with γ ~ N(0, I), so f = ½ xᵀHx and Σ = H²
  (additive noise).  Closed forms of E f(x_k) for SGD and of E f(X_t) for the order-1 and
  order-2 SME, an SGD ensemble simulator, and the two SMEs as LangevinSDEs.
* :class:`MultiplicativeQuadraticModel` — the multiplicative-noise test problem:
  ``f_γ(x) = ½ Σ_i (λ_i + s_i γ_i) (q_iᵀx)²`` with γ ~ N(0, I) in the eigenbasis (λ_i, q_i)
  of H and s_i = σλ_i (relative noise) or σ (absolute), so f = ½ xᵀHx and
  Σ(x) = Q diag(s_i² (q_iᵀx)²) Qᵀ vanishes at the minimum.  Our parametrisation, not
  transcribed from the paper (see the class).  Closed forms of E f for SGD and both SMEs,
  and the learning rate at which each blows up.
* Stationary covariances near a minimum: the Ornstein–Uhlenbeck (Lyapunov) prediction
  ``AΣ + ΣA = η Σ_B`` (Mandt, Hoffman & Blei, JMLR 2017, eq. 13), the exact discrete
  formula for additive noise ``AΣ + ΣA − η AΣA = η Σ_B``, and the exact stationary
  covariance of SGD on least squares, whose noise is multiplicative (below).

Least squares.  With δ = θ − θ*, per-example Hessians a_i = x_i x_iᵀ (+ λI) and
minimiser gradients g_i = ∇f_i(θ*) (mean zero), one SGD step is
``δ' = δ − η (A_γ δ + g_γ)`` with batch means A_γ, g_γ independent of δ.  Since E δ → 0,
the stationary second moment S solves the linear equation

    A S + S A − η [A S A + c² Σ_i (a_i − A) S (a_i − A)] = η c² Σ_i g_i g_iᵀ,

with c² the batch factor of :func:`sgdsde.sgd.noise.covariance_scale` (1/(nB) with
replacement, (1 − B/n)/(B(n − 1)) without).  It reduces to the additive formula when the
per-example Hessians do not fluctuate, and to the Lyapunov one as η → 0.  Solved as a d²×d²
linear system (d up to a few tens).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from .._checks import boolean
from .._checks import integer as _integer
from .._checks import positive as _positive
from ..integrators.base import Integrator
from ..landscapes.base import check_cloud
from ..landscapes.networks import LinearRegression
from ..landscapes.toy import Quadratic
from ..random import STREAM_USER, normals, resolve_seed
from ..results import Trajectory
from ..save import SaveAt
from ..sde import LangevinSDE, MatrixNoise, StateDependentNoise
from ..simulate import simulate
from .noise import covariance_scale

__all__ = [
    "GaussianQuadraticModel",
    "MultiplicativeQuadraticModel",
    "lyapunov_covariance",
    "additive_sgd_covariance",
    "sgd_stationary_covariance",
    "STREAM_ONLINE_SAMPLES",
]

STREAM_ONLINE_SAMPLES = STREAM_USER + 7  # the γ_k of the Gaussian quadratic model
STREAM_CURVATURE_SAMPLES = STREAM_USER + 33  # the γ_k of the multiplicative model


def _times(values, name: str) -> np.ndarray:
    """``values`` as a float64 array of times or step numbers >= 0 (+inf: the stationary limit)."""
    out = np.asarray(values, dtype=np.float64)
    if np.any(np.isnan(out)) or np.any(out < 0):
        raise ValueError(f"{name} must be >= 0 (not NaN): the expectations run forward from x0, "
                         f"got {values!r}")
    return out


def _lr(lr):
    return _positive(lr, "lr")


class _QuadraticModel:
    """What both exactly solvable models share: f = ½ xᵀHx, its eigenbasis, the SME drift and
    the SGD ensemble (one :meth:`sgd_step` of the subclass per step)."""

    _algorithm = ""  # the "algorithm" entry of a run's stats

    def __init__(self, hessian):
        self.landscape = Quadratic(hessian)
        self.hessian = self.landscape.matrix
        self.dim = self.hessian.shape[0]
        self.eigenvalues, self.eigenvectors = linalg.eigh(self.hessian)

    def _coords(self, x0):
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.shape != (self.dim,) or not np.all(np.isfinite(x0)):
            raise ValueError(f"x0 must be a finite vector of length {self.dim}, got shape {x0.shape}")
        return self.eigenvectors.T @ x0

    def _sme_drift(self, lr: float, order: int) -> tuple[float, Quadratic]:
        """The checked η and the SME's drift landscape: H (order 1) or H + ηH²/2 (order 2)."""
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        lr = _lr(lr)
        h = self.hessian
        return lr, (self.landscape if order == 1 else Quadratic(h + 0.5 * lr * h @ h))

    def _run_stats(self, lr: float) -> dict:
        return {"algorithm": self._algorithm, "lr": lr}

    def run_sgd(self, x0, lr: float, n_steps: int, *, seed: int | None = None,
                record_every: int = 1, particle_offset: int = 0) -> Trajectory:
        """An ensemble of SGD runs of the model, one :meth:`sgd_step` per step.

        Parameters
        ----------
        x0 : array_like, shape (M, d)
            Starting points.
        lr : float
            η.
        n_steps : int
        seed : int, optional
            Key of the counter-based γ_k (the model's own stream: :data:`STREAM_ONLINE_SAMPLES`
            for the Gaussian model, ``STREAM_CURVATURE_SAMPLES`` for the multiplicative one).
        record_every : int
        particle_offset : int
            Global index of the first run, an integer >= 0.

        Returns
        -------
        Trajectory
            Observable ``"loss"`` (f = ½ xᵀHx per run), ``ts = k·η``.
        """
        lr = _lr(lr)
        x = check_cloud(x0, self.dim, "x0").astype(np.float64, copy=True)
        n_steps, record_every = _steps_count(n_steps, record_every)
        particle_offset = _integer(particle_offset, "particle_offset", 0)
        return _run_model_sgd(self, x, lr, n_steps, seed, record_every, particle_offset,
                              self._run_stats(lr))


class GaussianQuadraticModel(_QuadraticModel):
    """Li–Tai–E model 5.1: SGD on ``f_γ(x) = ½(x−γ)ᵀH(x−γ) − ½ Tr H``, γ ~ N(0, I).

    Parameters
    ----------
    hessian : array_like, shape (d, d)
        Symmetric positive-definite H.

    Notes
    -----
    In the eigenbasis of H (eigenvalues λ_i, c = Qᵀx₀), docs/theory.md §2:

    * SGD: ``E f(x_k) = ½ Σ λ_i [(1−ηλ_i)^{2k} c_i² + η²λ_i² (1 − (1−ηλ_i)^{2k}) / (1 − (1−ηλ_i)²)]``;
    * SME: ``E f(X_t) = ½ Σ λ_i [e^{−2a_i t} c_i² + ηλ_i² (1 − e^{−2a_i t}) / (2a_i)]``,
      a_i = λ_i (order 1) or λ_i + ηλ_i²/2 (order 2).

    At t = kη the weak error |E f(x_k) − E f(X_t)| is O(η) for order 1, O(η²) for order 2.
    """

    _algorithm = "sgd (Gaussian quadratic model)"

    def expected_loss_sgd(self, x0, lr: float, steps) -> np.ndarray:
        """Exact E f(x_k) of SGD from x0 at the given step numbers (>= 0), shape of ``steps``."""
        lr, c = _lr(lr), self._coords(x0)
        k = _times(steps, "steps")[..., None]
        lam = self.eigenvalues
        rho = (1.0 - lr * lam) ** 2
        if np.any(rho >= 1):
            raise ValueError(f"SGD diverges in mean square for lr = {lr} (needs lr < 2/λ_max = "
                             f"{2 / lam.max():g})")
        decay = rho**k
        noise = lr**2 * lam**2 * (1.0 - decay) / (1.0 - rho)
        return 0.5 * np.sum(lam * (decay * c**2 + noise), axis=-1)

    def expected_loss_sme(self, x0, lr: float, t, order: int = 1) -> np.ndarray:
        """Exact E f(X_t) of the order-1 or order-2 SME from x0 at times t >= 0, shape of ``t``."""
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        lr, c = _lr(lr), self._coords(x0)
        t = _times(t, "t")[..., None]
        lam = self.eigenvalues
        a = lam if order == 1 else lam + 0.5 * lr * lam**2
        decay = np.exp(-2.0 * a * t)
        noise = lr * lam**2 * (-np.expm1(-2.0 * a * t)) / (2.0 * a)
        return 0.5 * np.sum(lam * (decay * c**2 + noise), axis=-1)

    def sme(self, lr: float, order: int = 1) -> LangevinSDE:
        """The SME as a LangevinSDE: drift matrix H (order 1) or H + ηH²/2 (order 2), noise sqrt(η) H."""
        lr, drift = self._sme_drift(lr, order)
        return LangevinSDE(drift, noise=MatrixNoise(math.sqrt(lr) * self.hessian))

    def sgd_step(self, x: np.ndarray, n: int, lr: float, noise) -> np.ndarray:
        """One SGD step of every run: ``x − η H (x − γ_n)`` with γ_n ~ N(0, I) the normals of step
        n (stream :data:`STREAM_ONLINE_SAMPLES`)."""
        gamma = noise.normals(n, self.dim, STREAM_ONLINE_SAMPLES)
        return x - lr * ((x - gamma) @ self.hessian)

    def sample_gammas(self, seed: int, particles, step: int) -> np.ndarray:
        """The γ_k that :meth:`run_sgd` uses at ``step`` (NumPy reference), shape (M, d)."""
        return normals(resolve_seed(seed), particles, step, self.dim, STREAM_ONLINE_SAMPLES)

    def __repr__(self):
        return f"GaussianQuadraticModel(d={self.dim}, eigenvalues={np.round(self.eigenvalues, 4).tolist()})"


def _steps_count(n_steps, record_every):
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ValueError(f"record_every must be an integer >= 1, got {record_every!r}")
    return int(n_steps), int(record_every)


class MultiplicativeQuadraticModel(_QuadraticModel):
    """SGD with multiplicative noise: every curvature of H fluctuates from sample to sample.

    ``f_γ(x) = ½ Σ_i (λ_i + s_i γ_i) (q_iᵀx)²`` with γ ~ N(0, I) and (λ_i, q_i) the eigenpairs
    of H, so ``f = E f_γ = ½ xᵀHx`` while the gradient noise
    ``Σ(x) = Q diag(s_i² (q_iᵀx)²) Qᵀ`` grows with the distance from the minimum and vanishes
    at it (the noise of an interpolating model).  The standard deviation s_i of the curvature
    of direction i is

    * ``relative=True`` (default): ``s_i = σ λ_i``, every curvature fluctuates by the same
      relative amount σ, ``f_γ = ½ Σ_i λ_i (1 + σγ_i)(q_iᵀx)²``;
    * ``relative=False``: ``s_i = σ``, the same absolute amount in every direction,
      ``f_γ = ½ (Qᵀx)ᵀ (D + σ diag γ)(Qᵀx)`` with H = Q D Qᵀ.

    Provenance.  This is the multiplicative counterpart of model 5.1
    (:class:`GaussianQuadraticModel`), in the situation of the second test model of Li, Tai &
    E (JMLR 20(40), 2019, arXiv:1811.01558, section 5).  The paper's own statement of that
    model could not be consulted for this library, so both parametrisations and every formula
    below are derived here (docs/theory.md §2), not transcribed.  ``relative=False`` with
    σ = 1 is the form in which a public reproduction of the paper's examples writes the second
    test problem; for H = I the two parametrisations coincide.  What the tests check is the
    paper's central claim on such a model, weak order 1 of the order-1 SME and weak order 2 of
    the order-2 SME, for both parametrisations, and the exact mean and second moments against
    Monte Carlo runs of the SGD (tests/test_sgd_multiplicative.py).

    Parameters
    ----------
    hessian : array_like, shape (d, d)
        Symmetric positive-definite H.
    noise_scale : float
        σ > 0: the relative (``relative=True``) or absolute (``relative=False``) standard
        deviation of each curvature, in units of H.
    relative : bool
        Whether σ is relative to each eigenvalue (default) or absolute.

    Notes
    -----
    Every eigen-coordinate c_i = q_iᵀx evolves on its own.  SGD multiplies it by
    ``1 − η(λ_i + s_i γ)``, so ``E c_{i,k} = (1 − ηλ_i)^k c_i`` (gradient descent's path) and
    ``E c_{i,k}² = ρ_i^k c_i²`` with ``ρ_i = (1 − ηλ_i)² + η² s_i²``; the SMEs (Li, Tai & E,
    JMLR 2019, eqs. 4.4-4.5) are geometric Brownian motions
    ``dc = −a_i c dt + sqrt(η) s_i c dW`` with a_i = λ_i (order 1) or λ_i + ηλ_i²/2 (order 2),
    so ``E c_i(t)² = e^{r_i t} c_i²`` with ``r_i = η s_i² − 2a_i``.  Hence
    ``E f = ½ Σ_i λ_i c_i² × (growth factor)``; with absolute noise the order-1 SME gives
    ``E f(X_t) = ½ e^{ησ²t} x₀ᵀ H e^{−2Ht} x₀``.  Since
    ``ln ρ_i / η = −2λ_i + η(s_i² − λ_i²) + O(η²)`` equals the order-2 rate to O(η²), the
    order-1 SME is weakly first order and the order-2 SME second order.

    The second moment grows (E f → ∞) once ρ_i > 1 or r_i > 0 for some direction i:

    * SGD:      η > 2λ_i / (λ_i² + s_i²);
    * order 1:  η > 2λ_i / s_i²;
    * order 2:  η > 2λ_i / (s_i² − λ_i²), only where s_i > λ_i.

    With relative noise these are η > 2/(λ_max(1 + σ²)), 2/(λ_max σ²) and 2/(λ_max(σ² − 1))
    (never for σ ≤ 1): SGD blows up first, at a learning rate where both SMEs still predict
    convergence, because the expansion in η behind the SMEs misses the η²s² term that
    decides stability.  With absolute noise the first direction to blow up can be a soft one.
    """

    _algorithm = "sgd (multiplicative quadratic model)"

    def __init__(self, hessian, noise_scale: float = 1.0, *, relative: bool = True):
        super().__init__(hessian)
        if not np.all(self.eigenvalues > 0):
            raise ValueError(f"hessian must be positive definite, got eigenvalues {self.eigenvalues}")
        sigma = _positive(noise_scale, "noise_scale")
        self.noise_scale = sigma
        self.relative = boolean(relative, "relative")
        # s_i, the standard deviation of the curvature of eigen-direction i, shape (d,)
        self.curvature_std = sigma * self.eigenvalues if self.relative else np.full(self.dim, sigma)

    def _run_stats(self, lr: float) -> dict:
        return {**super()._run_stats(lr), "noise_scale": self.noise_scale, "relative": self.relative}

    def growth_factor_sgd(self, lr: float) -> np.ndarray:
        """ρ_i = E[(1 − η(λ_i + s_i γ))²], the per-step factor of E c_i², shape (d,)."""
        lr, lam = _lr(lr), self.eigenvalues
        return (1.0 - lr * lam) ** 2 + (lr * self.curvature_std) ** 2

    def growth_rate_sme(self, lr: float, order: int = 1) -> np.ndarray:
        """r_i, the rate of E c_i(t)² = e^{r_i t} c_i² under the order-1 or order-2 SME, shape (d,)."""
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        lr, lam = _lr(lr), self.eigenvalues
        a = lam if order == 1 else lam + 0.5 * lr * lam**2
        return lr * self.curvature_std**2 - 2.0 * a

    def expected_loss_sgd(self, x0, lr: float, steps) -> np.ndarray:
        """Exact E f(x_k) of SGD from x0 at the given step numbers (>= 0), shape of ``steps``."""
        c = self._coords(x0)
        rho = self.growth_factor_sgd(lr)
        k = _times(steps, "steps")[..., None]
        return 0.5 * np.sum(self.eigenvalues * c**2 * rho**k, axis=-1)

    def expected_loss_sme(self, x0, lr: float, t, order: int = 1) -> np.ndarray:
        """Exact E f(X_t) of the order-1 or order-2 SME from x0 at times t >= 0, shape of ``t``."""
        c = self._coords(x0)
        r = self.growth_rate_sme(lr, order)
        t = _times(t, "t")[..., None]
        return 0.5 * np.sum(self.eigenvalues * c**2 * np.exp(r * t), axis=-1)

    def divergence_lr(self, which="sgd") -> float:
        """Learning rate above which E f grows without bound: ``"sgd"``, 1 or 2 (the SME order).

        The smallest over the eigen-directions of the per-direction thresholds (class Notes);
        ``math.inf`` where no direction ever grows (order 2 with every s_i ≤ λ_i).
        """
        lam, s2 = self.eigenvalues, self.curvature_std**2
        if which == "sgd":
            return float(np.min(2.0 * lam / (lam**2 + s2)))
        if which == 1:
            return float(np.min(2.0 * lam / s2))
        if which == 2:
            if self.relative:  # the closed form, free of the rounding of σ²λ² − λ² at σ = 1
                return 2.0 / (lam.max() * (self.noise_scale**2 - 1.0)) if self.noise_scale > 1 else math.inf
            excess = s2 - lam**2
            grows = excess > 0
            return float(np.min(2.0 * lam[grows] / excess[grows])) if np.any(grows) else math.inf
        raise ValueError(f"which must be 'sgd', 1 or 2, got {which!r}")

    def sme(self, lr: float, order: int = 1) -> LangevinSDE:
        """The SME as a LangevinSDE: drift H (order 1) or H + ηH²/2 (order 2).

        Noise ``B(x) = sqrt(η) Q diag(s_i q_iᵀx)``, so that ``B Bᵀ = η Σ(x)``.
        """
        lr, drift = self._sme_drift(lr, order)
        q = self.eigenvectors
        scale = math.sqrt(lr) * self.curvature_std

        def noise(x, xi):
            return ((x @ q) * scale * xi) @ q.T

        return LangevinSDE(drift, noise=StateDependentNoise(noise, self.dim))

    def sgd_step(self, x: np.ndarray, n: int, lr: float, noise) -> np.ndarray:
        """One SGD step of every run, ``x_{k+1} = x_k − η Q diag(λ + s γ_n) Qᵀ x_k``, done in the
        eigenbasis, ``c ← c (1 − η (λ + s γ_n))``; γ_n ~ N(0, I) the normals of step n (stream
        ``STREAM_CURVATURE_SAMPLES``)."""
        gamma = noise.normals(n, self.dim, STREAM_CURVATURE_SAMPLES)
        q, lam, sigma = self.eigenvectors, self.eigenvalues, self.noise_scale
        curvature = lam * (1.0 + sigma * gamma) if self.relative else lam + sigma * gamma
        return ((x @ q) * (1.0 - lr * curvature)) @ q.T

    def __repr__(self):
        return (f"MultiplicativeQuadraticModel(d={self.dim}, noise_scale={self.noise_scale:g}, "
                f"relative={self.relative}, eigenvalues={np.round(self.eigenvalues, 4).tolist()})")


def _square(a, name):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite square matrix, got shape {a.shape}")
    return a


def _check_symmetric(a, name) -> float:
    """Raise unless ``a`` is symmetric up to rounding; return its largest |entry|."""
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    if not np.allclose(a, a.T, rtol=1e-10, atol=1e-12 * scale):
        raise ValueError(f"{name} must be symmetric")
    return scale


def _check_covariance(c, name):
    """Raise unless ``c`` is symmetric positive semi-definite up to rounding."""
    scale = _check_symmetric(c, name)
    lowest = float(np.min(np.linalg.eigvalsh(c))) if c.size else 0.0
    if lowest < -1e-10 * scale:
        raise ValueError(f"{name} must be positive semi-definite (a covariance); its lowest "
                         f"eigenvalue is {lowest:.3g}")


def lyapunov_covariance(hessian, batch_covariance, lr: float) -> np.ndarray:
    """OU stationary covariance: solves ``A Σ + Σ A = η Σ_B`` (``solve_continuous_lyapunov``).

    Parameters
    ----------
    hessian : array_like, shape (d, d)
        A, the Hessian at the minimum (positive definite).
    batch_covariance : array_like, shape (d, d)
        Σ_B, the minibatch gradient covariance at the minimum (D/B with replacement),
        symmetric positive semi-definite.
    lr : float
        η.

    Raises
    ------
    ValueError
        If A has an eigenvalue with real part <= 0 (no stationary state: the OU process is
        not confined along it, and the equation's solution is not a covariance) or Σ_B is
        not symmetric positive semi-definite.
    """
    a = _square(hessian, "hessian")
    c = _square(batch_covariance, "batch_covariance")
    if c.shape != a.shape:
        raise ValueError(f"hessian {a.shape} and batch_covariance {c.shape} shapes differ")
    lowest = float(np.min(np.linalg.eigvals(a).real)) if a.size else 1.0
    if not lowest > 0:
        raise ValueError(f"hessian must be positive definite (a minimum): it has an eigenvalue "
                         f"with real part {lowest:.3g} <= 0, along which the OU process has no "
                         "stationary state")
    _check_covariance(c, "batch_covariance")
    s = linalg.solve_continuous_lyapunov(a, _lr(lr) * c)
    return 0.5 * (s + s.T)


def additive_sgd_covariance(hessian, batch_covariance, lr: float) -> np.ndarray:
    """Exact stationary covariance of SGD with additive noise: ``AΣ + ΣA − η AΣA = η Σ_B``.

    Solved in the eigenbasis of A: ``Σ̃_ij = η C̃_ij / (λ_i + λ_j − η λ_i λ_j)``.

    Parameters
    ----------
    hessian : array_like, shape (d, d)
        A, the (symmetric, positive-definite) Hessian at the minimum.
    batch_covariance : array_like, shape (d, d)
        Σ_B, the minibatch gradient covariance at the minimum, symmetric positive
        semi-definite.
    lr : float
        η > 0.

    Raises
    ------
    ValueError
        If A is not symmetric positive definite, Σ_B is not symmetric positive
        semi-definite, their shapes differ, or η admits no stationary state (η ≥ 2/λ_max).
    """
    a = _square(hessian, "hessian")
    c = _square(batch_covariance, "batch_covariance")
    if c.shape != a.shape:
        raise ValueError(f"hessian {a.shape} and batch_covariance {c.shape} shapes differ")
    _check_symmetric(a, "hessian")
    _check_covariance(c, "batch_covariance")
    lr = _lr(lr)
    lam, q = linalg.eigh(a)
    if lam.size and not lam[0] > 0:
        raise ValueError(f"hessian must be positive definite (a minimum): it has the eigenvalue "
                         f"{lam[0]:.3g} <= 0, along which SGD has no stationary state at any lr")
    denom = lam[:, None] + lam[None, :] - lr * lam[:, None] * lam[None, :]
    if np.any(denom <= 0):
        raise ValueError(f"SGD has no stationary state for lr = {lr} "
                         f"(needs lr < 2/λ_max = {2 / lam.max():g})")
    s = q @ ((lr * (q.T @ c @ q)) / denom) @ q.T
    return 0.5 * (s + s.T)


def sgd_stationary_covariance(loss: LinearRegression, lr: float, batch_size: int, *,
                              replacement: bool = True) -> np.ndarray:
    """Exact stationary covariance of minibatch SGD on least squares, shape (d, d).

    Solves the d²×d² linear equation of the module docstring (multiplicative noise
    included).  The stationary mean is the minimiser θ* (:meth:`LinearRegression.minimizer`).
    It assumes a fresh batch every step, drawn with or without replacement; epoch-wise
    reshuffling (``sampling="epoch"``) correlates the batches of an epoch and gives a
    smaller covariance.

    Raises
    ------
    ValueError
        If the learning rate admits no stationary state (the solution is not positive definite).
    """
    if not isinstance(loss, LinearRegression):
        raise TypeError(f"loss must be a LinearRegression, got {type(loss).__name__}")
    lr = _lr(lr)
    c2 = covariance_scale(loss.n_examples, batch_size, replacement)
    x, d = loss.inputs, loss.dim
    theta_star = loss.minimizer()
    g = loss.per_example_grads(theta_star[None, :])[0]  # (n, d), mean zero at θ*
    a = x.T @ x / x.shape[0] + loss.weight_decay * np.eye(d)
    fluct = np.einsum("ni,nj->nij", x, x) - (a - loss.weight_decay * np.eye(d))  # a_i − A
    eye = np.eye(d)
    # Row-major vec: vec(P S Q) = (P ⊗ Qᵀ) vec(S).
    operator = (np.kron(a, eye) + np.kron(eye, a) - lr * np.kron(a, a)
                - lr * c2 * np.einsum("nij,nkl->ikjl", fluct, fluct).reshape(d * d, d * d))
    rhs = lr * c2 * (g.T @ g)
    s = linalg.solve(operator, rhs.ravel()).reshape(d, d)
    s = 0.5 * (s + s.T)
    if np.any(linalg.eigvalsh(s) <= 0):
        raise ValueError(f"SGD has no stationary state at lr = {lr}, batch_size = {batch_size}")
    return s


class ModelSGD(Integrator):
    """SGD of an exactly solvable model (:class:`GaussianQuadraticModel`,
    :class:`MultiplicativeQuadraticModel`) as a discrete scheme of :func:`sgdsde.simulate`:
    ``dt`` is the learning rate η, one driver step is ``model.sgd_step``, the samples γ_n
    are counter-based normals of the run's seed, particles and step (the model's stream).
    The SDE is ``LangevinSDE(model.landscape, temperature=0)``: the noise is the model's.
    No strong order (not driven by Brownian increments); weak order 1 against the order-1
    SME (Li, Tai & E, JMLR 2019).
    """

    name = "ModelSGD"
    strong_order = math.nan
    strong_order_additive = math.nan
    weak_order = 1.0
    grad_evals_per_step = 1
    needs_euclidean = True

    def __init__(self, model):
        if not hasattr(model, "sgd_step"):
            raise TypeError(f"model must have sgd_step(x, n, lr, noise), got {type(model).__name__}")
        self.model = model

    def check(self, sde) -> None:
        super().check(sde)
        if sde.landscape is not self.model.landscape:
            raise ValueError("ModelSGD runs on its model's own landscape: "
                             "LangevinSDE(model.landscape, temperature=0)")
        if sde.temperature != 0.0:
            raise ValueError("ModelSGD draws its noise from the model: give the SDE temperature=0")

    def step(self, sde, state, n, dt, noise):
        state.x = self.model.sgd_step(state.x, n, dt, noise)
        state.n_grad_evals += 1

    def __repr__(self):
        return f"ModelSGD({self.model!r})"

    def __eq__(self, other):
        return type(other) is type(self) and other.model is self.model

    def __hash__(self):
        return hash((type(self).__name__, id(self.model)))


def _run_model_sgd(model, x, lr, n_steps, seed, record_every, particle_offset, extra) -> Trajectory:
    """An ensemble of the model's SGD runs through the driver, recording the loss ``"loss"``."""
    traj = simulate(LangevinSDE(model.landscape, temperature=0.0), ModelSGD(model), x, dt=lr,
                    n_steps=n_steps, seed=seed, backend="numba", progress=False,
                    particle_offset=int(particle_offset) or None,
                    save=SaveAt(every=record_every, observables={"loss": "energy"}))
    return Trajectory(ts=traj.ts, steps=traj.steps, observables=traj.observables, final=traj.final,
                      final_velocity=None, step=traj.step, stats=traj.stats,
                      settings={**traj.settings, **extra})
