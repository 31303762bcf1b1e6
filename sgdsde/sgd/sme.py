"""Stochastic modified equations (SME) of SGD as :class:`~sgdsde.LangevinSDE` objects.

Li, Tai & E, "Stochastic modified equations and dynamics of stochastic gradient
algorithms I", JMLR 20(40), 2019; SDE time t = k·η, batch covariance Σ = D/B
(:mod:`sgdsde.sgd.noise`):

* order 1 (eq. 4.5):  ``dX = −∇f(X) dt + sqrt(η Σ(X)) dW``;
* order 2 (eq. 4.4):  ``dX = −∇(f + (η/4)|∇f|²)(X) dt + sqrt(η Σ(X)) dW``, whose drift
  ``∇f + (η/2) ∇²f ∇f`` needs Hessian-vector products (:class:`ModifiedLoss`);
* momentum SGD ``v ← μ̂ v − η̂ ∇f_γ, θ ← θ + v`` (eq. 4.10): with η = sqrt(η̂),
  μ = (1 − μ̂)/sqrt(η̂) and t = k·sqrt(η̂),
  ``dV = −(μ V + ∇f) dt + sqrt(η Σ) dW, dX = V dt`` — the underdamped LangevinSDE with
  friction μ and unit mass (V = v / sqrt(η̂)).

The core integrators run them unchanged: ``simulate(sme(...), EulerMaruyama(), θ0,
dt=η/4, ...)``.  Integrate with dt ≤ η (the SME is a continuous-time object; at dt = η
Euler–Maruyama is SGD with Gaussian noise of the right covariance).

SVAG (Li, Malladi & Arora 2021), the discrete algorithm whose limit is the order-1 SME,
is :func:`sgdsde.sgd.minibatch.run_sgd` with ``svag=l``.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import positive as _positive
from .._checks import real as _real
from ..landscapes.base import Landscape
from ..sde import LangevinSDE
from .noise import SGDNoise

__all__ = ["ModifiedLoss", "sme", "momentum_sme"]


def _lr(lr, name="lr"):
    return _positive(lr, name)


class ModifiedLoss(Landscape):
    """The order-2 modified loss ``f̃ = f + (η/4) |∇f|²`` of a landscape.

    ``grad`` is ``∇f + (η/2) ∇²f ∇f``, from the landscape's Hessian-vector product
    (``hvp(x, v)``) when it has one, else from its dense Hessian.

    Parameters
    ----------
    landscape : Landscape
        A conservative Euclidean landscape with a Hessian.
    lr : float
        η > 0.
    """

    has_hessian = False  # its Hessian would need third derivatives of f

    def __init__(self, landscape: Landscape, lr: float):
        if not isinstance(landscape, Landscape):
            raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
        if not (landscape.is_conservative and landscape.has_hessian):
            raise ValueError("the order-2 SME needs a conservative landscape with a Hessian")
        self.base, self.lr, self.dim = landscape, _lr(lr), landscape.dim
        self.manifold = landscape.manifold

    def _hvp(self, x, v):
        if hasattr(self.base, "hvp"):
            return self.base.hvp(x, v)
        return np.einsum("mij,mj->mi", self.base.hessian(x), v)

    def energy(self, x):
        g = self.base.grad(x)
        return self.base.energy(x) + 0.25 * self.lr * np.sum(g * g, axis=1)

    def grad(self, x):
        g = self.base.grad(x)
        return g + 0.5 * self.lr * self._hvp(x, g)

    def __repr__(self):
        return f"ModifiedLoss({self.base!r}, lr={self.lr})"


def sme(loss, lr: float, batch_size: int, *, order: int = 1, replacement: bool = True) -> LangevinSDE:
    """The order-1 or order-2 SME of SGD with learning rate η and batch size B.

    Parameters
    ----------
    loss : EmpiricalRisk
        The network and its data set.
    lr : float
        η > 0; the SDE time is t = k·η.
    batch_size : int
        B, ``1 <= B <= n``.
    order : {1, 2}
        Weak order of the approximation (module docstring).
    replacement : bool
        Batches with (default) or without replacement (sets Σ).

    Returns
    -------
    LangevinSDE
        Overdamped, noise :class:`~sgdsde.sgd.noise.SGDNoise`.
    """
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    lr = _lr(lr)
    noise = SGDNoise(loss, lr, batch_size, replacement=replacement)
    drift = loss if order == 1 else ModifiedLoss(loss, lr)
    return LangevinSDE(drift, noise=noise)


def momentum_sme(loss, lr: float, momentum: float, batch_size: int, *,
                 replacement: bool = True) -> tuple[LangevinSDE, float]:
    """The order-1 SME of heavy-ball SGD ``v ← μ̂ v − η̂ ∇f_γ, θ ← θ + v`` (Li–Tai–E eq. 4.10).

    Parameters
    ----------
    loss : EmpiricalRisk
    lr : float
        η̂ > 0, the learning rate of the momentum update.
    momentum : float
        μ̂ in [0, 1).
    batch_size : int
    replacement : bool

    Returns
    -------
    sde : LangevinSDE
        Underdamped, friction ``μ = (1 − μ̂)/sqrt(η̂)``, mass 1, noise ``sqrt(η Σ)`` with
        η = sqrt(η̂).  Its velocity is ``V = v / sqrt(η̂)`` (zero for a fresh buffer).
    time_per_step : float
        ``sqrt(η̂)``: SGD step k is SDE time ``k · sqrt(η̂)``.
    """
    lr = _lr(lr)
    momentum = _real(momentum, "momentum")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
    root = math.sqrt(lr)
    noise = SGDNoise(loss, root, batch_size, replacement=replacement)
    return LangevinSDE(loss, noise=noise, friction=(1.0 - momentum) / root), root
