"""Exactly solvable SGD: the oracles of the SGD ↔ SDE checks (docs/theory.md §2).

* :class:`GaussianQuadraticModel` — model 5.1 of Li, Tai & E (JMLR 2019):
  ``f_γ(x) = ½ (x − γ)ᵀ H (x − γ) − ½ Tr H`` with γ ~ N(0, I), so f = ½ xᵀHx and Σ = H²
  (additive noise).  Closed forms of E f(x_k) for SGD and of E f(X_t) for the order-1 and
  order-2 SME, an SGD ensemble simulator, and the two SMEs as LangevinSDEs.
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
import time

import numpy as np
from scipy import linalg

from ..landscapes.base import check_cloud
from ..landscapes.networks import LinearRegression
from ..landscapes.toy import Quadratic
from ..random import STREAM_USER, normals, resolve_seed
from ..results import Trajectory
from ..sde import LangevinSDE, MatrixNoise
from .noise import covariance_scale

__all__ = [
    "GaussianQuadraticModel",
    "lyapunov_covariance",
    "additive_sgd_covariance",
    "sgd_stationary_covariance",
    "STREAM_ONLINE_SAMPLES",
]

STREAM_ONLINE_SAMPLES = STREAM_USER + 7  # the γ_k of the Gaussian quadratic model


def _lr(lr):
    lr = float(lr)
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    return lr


class GaussianQuadraticModel:
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

    def expected_loss_sgd(self, x0, lr: float, steps) -> np.ndarray:
        """Exact E f(x_k) of SGD from x0 at the given step numbers, shape of ``steps``."""
        lr, c = _lr(lr), self._coords(x0)
        k = np.asarray(steps, dtype=np.float64)[..., None]
        lam = self.eigenvalues
        rho = (1.0 - lr * lam) ** 2
        if np.any(rho >= 1):
            raise ValueError(f"SGD diverges in mean square for lr = {lr} (needs lr < 2/λ_max = "
                             f"{2 / lam.max():g})")
        decay = rho**k
        noise = lr**2 * lam**2 * (1.0 - decay) / (1.0 - rho)
        return 0.5 * np.sum(lam * (decay * c**2 + noise), axis=-1)

    def expected_loss_sme(self, x0, lr: float, t, order: int = 1) -> np.ndarray:
        """Exact E f(X_t) of the order-1 or order-2 SME from x0, shape of ``t``."""
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        lr, c = _lr(lr), self._coords(x0)
        t = np.asarray(t, dtype=np.float64)[..., None]
        lam = self.eigenvalues
        a = lam if order == 1 else lam + 0.5 * lr * lam**2
        decay = np.exp(-2.0 * a * t)
        noise = lr * lam**2 * (-np.expm1(-2.0 * a * t)) / (2.0 * a)
        return 0.5 * np.sum(lam * (decay * c**2 + noise), axis=-1)

    def sme(self, lr: float, order: int = 1) -> LangevinSDE:
        """The SME as a LangevinSDE: drift matrix H (order 1) or H + ηH²/2 (order 2), noise sqrt(η) H."""
        if order not in (1, 2):
            raise ValueError(f"order must be 1 or 2, got {order!r}")
        lr = _lr(lr)
        h = self.hessian
        drift = self.landscape if order == 1 else Quadratic(h + 0.5 * lr * h @ h)
        return LangevinSDE(drift, noise=MatrixNoise(math.sqrt(lr) * h))

    def run_sgd(self, x0, lr: float, n_steps: int, *, seed: int | None = None,
                record_every: int = 1, particle_offset: int = 0) -> Trajectory:
        """An ensemble of SGD runs ``x_{k+1} = x_k − η H (x_k − γ_k)``, γ_k ~ N(0, I).

        Parameters
        ----------
        x0 : array_like, shape (M, d)
            Starting points.
        lr : float
            η.
        n_steps : int
        seed : int, optional
            Key of the counter-based γ_k (stream :data:`STREAM_ONLINE_SAMPLES`).
        record_every : int
        particle_offset : int

        Returns
        -------
        Trajectory
            Observable ``"loss"`` (f = ½ xᵀHx per run), ``ts = k·η``.
        """
        from .._random_numba import normals_into

        lr = _lr(lr)
        x = check_cloud(x0, self.dim, "x0").astype(np.float64, copy=True)
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
            raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
        if int(record_every) < 1:
            raise ValueError(f"record_every must be >= 1, got {record_every}")
        seed = resolve_seed(seed)
        particles = np.arange(particle_offset, particle_offset + x.shape[0], dtype=np.int64)
        h = self.hessian
        gamma = np.empty_like(x)
        steps, losses = [0], [self.landscape.energy(x)]
        start = time.perf_counter()
        for k in range(int(n_steps)):
            normals_into(gamma, seed, particles, k, STREAM_ONLINE_SAMPLES)
            x -= lr * ((x - gamma) @ h)
            if (k + 1) % record_every == 0 or k + 1 == n_steps:
                steps.append(k + 1)
                losses.append(self.landscape.energy(x))
        steps = np.asarray(steps)
        return Trajectory(ts=lr * steps, steps=steps, observables={"loss": np.stack(losses)}, final=x,
                          final_velocity=None, step=int(n_steps),
                          stats={"n_steps": int(n_steps), "n_grad_evals": int(n_steps),
                                 "wall_time": time.perf_counter() - start},
                          settings={"algorithm": "sgd (Gaussian quadratic model)", "lr": lr,
                                    "seed": int(seed), "target_step": int(n_steps),
                                    "particle_offset": int(particle_offset), "dim": self.dim})

    def sample_gammas(self, seed: int, particles, step: int) -> np.ndarray:
        """The γ_k that :meth:`run_sgd` uses at ``step`` (NumPy reference), shape (M, d)."""
        return normals(resolve_seed(seed), particles, step, self.dim, STREAM_ONLINE_SAMPLES)

    def __repr__(self):
        return f"GaussianQuadraticModel(d={self.dim}, eigenvalues={np.round(self.eigenvalues, 4).tolist()})"


def _square(a, name):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite square matrix, got shape {a.shape}")
    return a


def lyapunov_covariance(hessian, batch_covariance, lr: float) -> np.ndarray:
    """OU stationary covariance: solves ``A Σ + Σ A = η Σ_B`` (``solve_continuous_lyapunov``).

    Parameters
    ----------
    hessian : array_like, shape (d, d)
        A, the Hessian at the minimum (positive definite).
    batch_covariance : array_like, shape (d, d)
        Σ_B, the minibatch gradient covariance at the minimum (D/B with replacement).
    lr : float
        η.
    """
    a = _square(hessian, "hessian")
    c = _square(batch_covariance, "batch_covariance")
    if c.shape != a.shape:
        raise ValueError(f"hessian {a.shape} and batch_covariance {c.shape} shapes differ")
    s = linalg.solve_continuous_lyapunov(a, _lr(lr) * c)
    return 0.5 * (s + s.T)


def additive_sgd_covariance(hessian, batch_covariance, lr: float) -> np.ndarray:
    """Exact stationary covariance of SGD with additive noise: ``AΣ + ΣA − η AΣA = η Σ_B``.

    Solved in the eigenbasis of A: ``Σ̃_ij = η C̃_ij / (λ_i + λ_j − η λ_i λ_j)``.
    """
    a = _square(hessian, "hessian")
    c = _square(batch_covariance, "batch_covariance")
    lr = _lr(lr)
    lam, q = linalg.eigh(a)
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
