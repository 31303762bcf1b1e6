"""Small networks as landscapes: linear and logistic regression, and where the others live.

Every model here keeps the :class:`~sgdsde.landscapes.empirical_risk.EmpiricalRisk`
contract (batched over a cloud of M parameter vectors, full-batch/minibatch/weighted
gradients in one call, per-example gradients, exact Hessian-vector products).  The
generalised linear models have closed-form Hessians; perceptrons of any depth, with
Hessian-vector products by Pearlmutter's R-operator (Neural Comput. 6, 147 (1994)), are in
:mod:`sgdsde.landscapes.mlp` and re-exported here (:class:`TwoLayerMLP`, :class:`MLP`).
"""

from __future__ import annotations

import numpy as np

from .empirical_risk import STREAM_INIT, EmpiricalRisk
from .mlp import MLP, TwoLayerMLP

__all__ = ["EmpiricalRisk", "LinearRegression", "LogisticRegression", "MLP", "TwoLayerMLP", "STREAM_INIT"]


def _linear_response(theta, x):
    """``z_mb = x_b · θ_m`` for shared (b, p) or per-particle (M, b, p) inputs: (M, b)."""
    if x.ndim == 2:
        return theta @ x.T
    return np.einsum("mbp,mp->mb", x, theta)


def _pull_back(r, x):
    """``Σ_b r_mb x_b``: (M, p)."""
    if x.ndim == 2:
        return r @ x
    return np.einsum("mb,mbp->mp", r, x)


class _GeneralizedLinear(EmpiricalRisk):
    """ℓ_i(θ) = φ(x_i·θ, y_i): linear and logistic regression share everything but φ."""

    def __init__(self, inputs, targets, weight_decay=0.0):
        super().__init__(inputs, targets, weight_decay)
        self.dim = self.inputs.shape[1]

    def _phi(self, z, y):  # (value, first, second derivative in z)
        raise NotImplementedError

    def _per_example_loss(self, theta, x, y):
        return self._phi(_linear_response(theta, x), y)[0]

    def _per_example_grads(self, theta, x, y):
        d1 = self._phi(_linear_response(theta, x), y)[1]
        return d1[:, :, None] * x

    def _weighted_grad(self, theta, x, y, w):
        d1 = self._phi(_linear_response(theta, x), y)[1]
        return _pull_back(w * d1, x)

    def _hvp(self, theta, v, x, y):
        d2 = self._phi(_linear_response(theta, x), y)[2]
        return _pull_back(d2 * _linear_response(v, x), x) / x.shape[-2]

    def hessian(self, theta, batch=None):
        """Hessian ``Xᵀ diag(φ'') X / b + λ I`` of the full-batch (or batch) risk, (M, d, d)."""
        theta = self._check(theta, "theta")
        x, y = self._batch(batch, theta.shape[0], theta.dtype, "batch")
        d2 = self._phi(_linear_response(theta, x), y)[2]
        xs = "bp,bq" if x.ndim == 2 else "mbp,mbq"
        h = np.einsum(f"mb,{xs}->mpq", d2, x, x) / x.shape[-2]
        return h + self.weight_decay * np.eye(self.dim, dtype=theta.dtype)


class LinearRegression(_GeneralizedLinear):
    """Least squares ``ℓ_i(θ) = ½ (x_i·θ − y_i)²``; d = p (add a column of ones for a bias).

    Parameters
    ----------
    inputs : array_like, shape (n, p)
    targets : array_like, shape (n,)
    weight_decay : float
        λ ≥ 0.

    Notes
    -----
    The Hessian ``A = XᵀX/n + λI`` is constant, and the gradient noise at the minimiser θ*
    is that of the residuals: ``D(θ*) = (1/n) Σ_i r_i² x_i x_iᵀ`` (minus the mean gradient,
    zero at θ* without weight decay).  The exact stationary covariance of SGD on this
    model is :func:`sgdsde.sgd.stationary.sgd_stationary_covariance`.
    """

    def __init__(self, inputs, targets, weight_decay: float = 0.0):
        super().__init__(inputs, targets, weight_decay)
        if self.targets.ndim != 1:
            raise ValueError(f"targets must have shape (n,), got {self.targets.shape}")

    def _phi(self, z, y):
        r = z - y
        return 0.5 * r * r, r, np.ones_like(r)

    def minimizer(self) -> np.ndarray:
        """The least-squares (ridge) solution θ*, shape (d,), by ``scipy.linalg.lstsq``."""
        from scipy.linalg import lstsq, solve

        x, y = self.inputs, self.targets.astype(np.float64)
        if self.weight_decay:
            n = x.shape[0]
            return solve(x.T @ x / n + self.weight_decay * np.eye(self.dim), x.T @ y / n, assume_a="pos")
        return lstsq(x, y)[0]

    def __repr__(self):
        return f"LinearRegression(n={self.n_examples}, d={self.dim}, weight_decay={self.weight_decay})"


class LogisticRegression(_GeneralizedLinear):
    """Binary logistic regression ``ℓ_i(θ) = log(1 + e^{z_i}) − y_i z_i``, ``z_i = x_i·θ``.

    Parameters
    ----------
    inputs : array_like, shape (n, p)
    targets : array_like of {0, 1}, shape (n,)
    weight_decay : float
        λ ≥ 0 (on separable data λ > 0 keeps the minimiser finite).
    """

    def __init__(self, inputs, targets, weight_decay: float = 0.0):
        super().__init__(inputs, targets, weight_decay)
        t = np.asarray(self.targets, dtype=np.float64)
        if t.ndim != 1 or not np.all((t == 0) | (t == 1)):
            raise ValueError("targets must be a vector of 0/1 labels")
        self.targets = t

    def _phi(self, z, y):
        s = 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, overflow-free
        return np.logaddexp(0, z) - y * z, s - y, s * (1.0 - s)

    def __repr__(self):
        return f"LogisticRegression(n={self.n_examples}, d={self.dim}, weight_decay={self.weight_decay})"
