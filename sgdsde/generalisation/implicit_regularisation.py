"""Implicit regularisation: which interpolant gradient methods pick on under-determined problems.

Least squares with fewer examples than parameters (n < d, X of full row rank) has a
(d − n)-dimensional affine space of interpolants Xθ = y.  Every update of GD, SGD and
heavy-ball SGD is a combination of per-example gradients ``(x_i·θ − y_i) x_i``, which lie
in the row space of X, so θ_k − θ₀ never leaves that row space: the limit is the unique
interpolant in θ₀ + row(X), the one closest to θ₀,

    θ̂ = θ₀ + X⁺ (y − Xθ₀),

which from θ₀ = 0 is the minimum-norm solution X⁺y (Zhang, Bengio, Hardt, Recht & Vinyals,
ICLR 2017, arXiv:1611.03530, section 5).  Before convergence the distance is bounded by the
gradient: if θ − θ₀ ∈ row(X), then θ − θ̂ ∈ row(X) and, with s_min the smallest singular
value of X and ∇f = Xᵀr/n (r = Xθ − y),

    |θ − θ̂| ≤ |r| / s_min ≤ n |∇f(θ)| / s_min²,

so "SGD found the minimum-norm solution" is checked to a tolerance set by the final
gradient norm, not by eye (:func:`interpolant_distance`).

For a nonlinear network the same construction on its linearisation at θ₀,
``o(θ) ≈ o(θ₀) + J (θ − θ₀)`` with J the (n, d) Jacobian of the outputs, gives the
interpolant of the linearised model closest to θ₀ (:func:`linearised_interpolant`); how far
a trained network ends from it is a measurement, not a theorem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from ..landscapes.base import check_cloud
from ..landscapes.mlp import MLP
from ..landscapes.networks import LinearRegression

__all__ = ["closest_interpolant", "interpolant_distance", "InterpolantDistance", "output_jacobian",
           "linearised_interpolant"]


def _underdetermined(inputs) -> np.ndarray:
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"inputs must be a finite (n, d) matrix, got shape {x.shape}")
    n, d = x.shape
    if n >= d:
        raise ValueError(f"implicit regularisation needs an under-determined problem, n < d; got n = {n} "
                         f"examples and d = {d} parameters (remove examples or add features)")
    return x


def _row_rank_svd(x):
    u, s, vt = linalg.svd(x, full_matrices=False)
    if s[-1] <= s[0] * x.shape[1] * np.finfo(float).eps:
        raise ValueError(f"the inputs must have full row rank n = {x.shape[0]} (the interpolants then form "
                         f"an affine space of dimension d − n); the smallest singular value is {s[-1]:.3g}")
    return u, s, vt


def closest_interpolant(inputs, targets, theta0=None) -> np.ndarray:
    """The interpolant ``Xθ = y`` closest to θ₀: ``θ₀ + X⁺(y − Xθ₀)``, shape (d,).

    Parameters
    ----------
    inputs : array_like, shape (n, d)
        X, with n < d and full row rank.
    targets : array_like, shape (n,)
        y.
    theta0 : array_like, shape (d,), optional
        The starting point (default 0: the minimum-norm solution X⁺y).

    Raises
    ------
    ValueError
        If n ≥ d, X is rank deficient, or the shapes disagree.
    """
    x = _underdetermined(inputs)
    y = np.asarray(targets, dtype=np.float64)
    if y.shape != (x.shape[0],) or not np.all(np.isfinite(y)):
        raise ValueError(f"targets must be a finite vector of length n = {x.shape[0]}, got shape {y.shape}")
    theta0 = np.zeros(x.shape[1]) if theta0 is None else np.asarray(theta0, dtype=np.float64)
    if theta0.shape != (x.shape[1],) or not np.all(np.isfinite(theta0)):
        raise ValueError(f"theta0 must be a finite vector of length d = {x.shape[1]}, "
                         f"got shape {theta0.shape}")
    u, s, vt = _row_rank_svd(x)
    return theta0 + vt.T @ ((u.T @ (y - x @ theta0)) / s)


@dataclass(frozen=True)
class InterpolantDistance:
    """How far parameters are from the interpolant closest to θ₀, per run.

    Attributes
    ----------
    distance : ndarray, shape (M,)
        |θ − θ̂|.
    bound : ndarray, shape (M,)
        ``n |∇f(θ)| / s_min²``, the largest distance compatible with the gradient norm when
        θ − θ₀ lies in row(X) (module docstring).
    null_space_drift : ndarray, shape (M,)
        |P_null (θ − θ₀)|, the part of the displacement outside row(X): zero for gradient
        methods up to rounding; it is what would make the limit another interpolant.
    grad_norm : ndarray, shape (M,)
        |∇f(θ)|.
    scale : ndarray, shape (M,)
        |θ̂ − θ₀|, the distance the method had to travel.
    """

    distance: np.ndarray
    bound: np.ndarray
    null_space_drift: np.ndarray
    grad_norm: np.ndarray

    scale: np.ndarray

    @property
    def within_bound(self) -> np.ndarray:
        """Whether each distance is within its gradient bound, up to a rounding allowance.

        The allowance is ``1e-10 (1 + |θ̂ − θ₀|)``; a displacement off θ₀ + row(X) (a non-zero
        ``null_space_drift``) is not covered by the bound and fails it.
        """
        return self.distance <= self.bound + 1e-10 * (1.0 + self.scale)


def interpolant_distance(loss: LinearRegression, theta, theta0) -> InterpolantDistance:
    """Distance of a cloud of least-squares parameters from the interpolant closest to θ₀.

    Parameters
    ----------
    loss : LinearRegression
        Without weight decay (with it there is no interpolant), n < d.
    theta : array_like, shape (M, d)
        Parameters, e.g. the final cloud of :func:`sgdsde.sgd.run_sgd`.
    theta0 : array_like, shape (d,)
        The common starting point.
    """
    if not isinstance(loss, LinearRegression):
        raise TypeError(f"loss must be a LinearRegression, got {type(loss).__name__}")
    if loss.weight_decay:
        raise ValueError(f"weight_decay must be 0 for interpolation, got {loss.weight_decay}")
    x = _underdetermined(loss.inputs)
    theta = check_cloud(theta, loss.dim, "theta", finite=True).astype(np.float64)
    theta0 = np.asarray(theta0, dtype=np.float64)
    target = closest_interpolant(x, loss.targets, theta0)
    _, s, vt = _row_rank_svd(x)
    delta = theta - theta0
    drift = np.linalg.norm(delta - (delta @ vt.T) @ vt, axis=1)
    g = np.linalg.norm(loss.grad(theta), axis=1)
    return InterpolantDistance(distance=np.linalg.norm(theta - target, axis=1),
                               bound=x.shape[0] * g / s[-1] ** 2, null_space_drift=drift, grad_norm=g,
                               scale=np.full(theta.shape[0], np.linalg.norm(target - theta0)))


def output_jacobian(net: MLP, theta0) -> np.ndarray:
    """Jacobian ``J_ij = ∂o(x_i)/∂θ_j`` of a one-output network at θ₀, shape (n, d).

    Computed exactly from the per-example gradients of an auxiliary squared loss whose
    targets sit one unit below the outputs, ``ℓ_i = ½(o_i − o_i(θ₀) + 1)²``, whose gradient
    at θ₀ is ∇o_i.
    """
    if not isinstance(net, MLP) or net.n_outputs != 1 or net.loss != "mse":
        raise ValueError("output_jacobian needs an MLP with loss='mse' and one output")
    theta0 = check_cloud(np.atleast_2d(theta0), net.dim, "theta0", finite=True)
    if theta0.shape[0] != 1:
        raise ValueError(f"theta0 must be one parameter vector (d,) or (1, d), got {theta0.shape[0]}")
    o = net.predict(theta0, net.inputs)[0, :, 0]
    probe = MLP(net.inputs, o - 1.0, widths=net.widths, activation=net.activations, loss="mse")
    return probe.per_example_grads(theta0)[0]


def linearised_interpolant(net: MLP, theta0) -> tuple[np.ndarray, np.ndarray]:
    """Interpolant of the network's linearisation at θ₀ closest to θ₀, and the Jacobian.

    Returns
    -------
    theta_lin : ndarray, shape (d,)
        ``θ₀ + J⁺(y − o(θ₀))``.
    jacobian : ndarray, shape (n, d)

    Raises
    ------
    ValueError
        If n ≥ d (the linearised problem must be under-determined) or J is rank deficient.
    """
    theta0 = np.asarray(theta0, dtype=np.float64).reshape(-1)
    jac = output_jacobian(net, theta0)
    o = net.predict(theta0[None], net.inputs)[0, :, 0]
    y = np.asarray(net.targets, dtype=np.float64).reshape(-1)
    return closest_interpolant(jac, y - o + jac @ theta0, theta0), jac
