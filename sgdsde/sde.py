"""Langevin SDEs: a landscape, a noise model and, for inertial dynamics, friction and mass.

Conventions (docs/theory.md §1), written once here
--------------------------------------------------
Overdamped::

    dX = −∇U(X) dt + B(X) dW,      B Bᵀ = 2 T · I  for isotropic noise at temperature T,

with invariant density ∝ exp(−U/T) for a conservative landscape.  SGD with learning rate
η and batch size B_s in SDE time ``t = k·η`` has ``B(X) = sqrt(η Σ(X))``, Σ = D/B_s the
minibatch covariance (D the per-example gradient covariance); its temperature is
``T = η / (2 B_s)`` when D is replaced by the identity scale.  Isotropic additive noise of
per-step variance σ² per coordinate in a step of η gives ``T = η σ² / 2``.

Underdamped (mass m, friction γ in inverse time units)::

    dX = V dt,     m dV = −∇U(X) dt − γ m V dt + B(X) dW,

with ``B = sqrt(2 γ m T)`` for isotropic thermal noise (fluctuation–dissipation), so that
X ~ exp(−U/T) and V ~ N(0, T/m) in equilibrium.  The momentum SME of Li, Tai & E is the
case m = 1, γ = μ, ``B = sqrt(η Σ)``.

Units: U in energy units, T in the same units (k_B = 1), t in the units of 1/|∇²U|.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._checks import positive as _positive
from .landscapes.base import Landscape

__all__ = ["LangevinSDE", "NoiseModel", "IsotropicNoise", "MatrixNoise", "StateDependentNoise"]


class NoiseModel:
    """How the noise enters: ``B(x) ξ`` for standard normals ξ of ``n_noise(dim)`` components.

    Attributes
    ----------
    temperature : float or None
        T for thermal isotropic noise, None otherwise.
    is_additive : bool
        True if B does not depend on x (strong orders of the schemes rise for additive noise).
    """

    temperature: float | None = None
    is_additive: bool = True

    def n_noise(self, dim: int) -> int:
        """Number of standard normals per particle per step."""
        return dim

    def apply(self, x: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """``B(x) ξ`` for the overdamped convention, shape (M, d); ``xi`` is (M, n_noise)."""
        raise NotImplementedError


@dataclass(frozen=True)
class IsotropicNoise(NoiseModel):
    """Thermal noise ``B = sqrt(2T) I`` at temperature ``T ≥ 0`` (T = 0: gradient flow)."""

    temperature: float = 0.0

    def __post_init__(self):
        t = self.temperature
        if (isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, float, np.floating, np.integer))
                or not math.isfinite(t)):
            raise ValueError(f"temperature must be a finite number >= 0, got {t!r}")
        if t < 0:
            raise ValueError(f"temperature must be >= 0, got {t}")
        object.__setattr__(self, "temperature", float(t))

    def apply(self, x, xi):
        return math.sqrt(2.0 * self.temperature) * xi


class MatrixNoise(NoiseModel):
    """Constant (possibly anisotropic, possibly low-rank) noise ``B`` of shape (d, k).

    ``2D = B Bᵀ`` is the diffusion matrix; the stationary covariance of an OU process with
    drift matrix A solves ``A Σ + Σ A = B Bᵀ``.
    """

    def __init__(self, factor):
        b = np.array(factor, dtype=np.float64, ndmin=2)
        if b.ndim != 2 or not np.all(np.isfinite(b)):
            raise ValueError(f"factor must be a finite (d, k) matrix, got shape {b.shape}")
        self.factor = b

    def n_noise(self, dim):
        if self.factor.shape[0] != dim:
            raise ValueError(f"noise factor has {self.factor.shape[0]} rows, landscape dim is {dim}")
        return self.factor.shape[1]

    def apply(self, x, xi):
        return xi @ self.factor.T.astype(xi.dtype)

    def __repr__(self):
        return f"MatrixNoise(shape={self.factor.shape})"


class StateDependentNoise(NoiseModel):
    """Multiplicative noise given by a callback ``fn(x, xi) -> B(x) xi``.

    Parameters
    ----------
    fn : callable
        ``fn(x (M, d), xi (M, k)) -> (M, d)``, linear in ``xi``.
    n_noise : int
        k, the number of normals per particle per step (e.g. the number of examples for
        SGD noise kept in its low-rank per-example form).

    Notes
    -----
    Every result is checked: it must have the shape (M, d) of ``x`` and be finite wherever
    ``x`` is (a NaN from the callback is the callback's fault, not a blow-up of the
    dynamics).  The first call also checks linearity in ξ on one particle
    (``fn(x, 0) = 0``, ``fn(x, 2ξ) = 2 fn(x, ξ)``), which catches a callback returning a
    constant or ``B(x)`` itself instead of the product ``B(x) ξ``.
    """

    is_additive = False

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], n_noise: int):
        if not callable(fn):
            raise TypeError("fn must be callable as fn(x, xi)")
        if isinstance(n_noise, bool) or not isinstance(n_noise, (int, np.integer)) or n_noise < 1:
            raise ValueError(f"n_noise must be an integer >= 1, got {n_noise!r}")
        self.fn = fn
        self._k = int(n_noise)
        self._linear_checked_cache = False  # "cache": not a parameter, the fingerprint skips it

    def n_noise(self, dim):
        return self._k

    def _call(self, x, xi):
        out = self.fn(x, xi)
        shape = getattr(out, "shape", None)
        if shape != x.shape:
            got = f"shape {shape}" if shape is not None else f"a {type(out).__name__}"
            raise ValueError(f"noise callback fn(x, xi) must return B(x) xi with the shape {x.shape} "
                             f"of x, got {got}")
        return out

    def _check_linear(self, x, xi):
        """fn(x, 0) = 0 and fn(x, 2ξ) = 2 fn(x, ξ) on the first particle."""
        x1, xi1 = x[:1], xi[:1]
        zero = self._call(x1, xi1 * 0)
        once, twice = self._call(x1, xi1), self._call(x1, 2 * xi1)
        scale = float(abs(once).max()) if once.size else 0.0
        if (float(abs(zero).max()) > 1e-6 * max(scale, 1e-300)
                or float(abs(twice - 2 * once).max()) > 1e-5 * max(scale, 1e-300)):
            raise ValueError("noise callback fn(x, xi) must be linear in xi (the product B(x) xi): "
                             "fn(x, 0) is not 0 or fn(x, 2 xi) is not 2 fn(x, xi) (a constant, or "
                             "B(x) itself, returned instead of the product?)")
        self._linear_checked_cache = True

    def apply(self, x, xi):
        out = self._call(x, xi)
        if not self._linear_checked_cache and x.shape[0] > 0:
            self._check_linear(x, xi)
        bad = ~(abs(out) < float("inf"))  # NaN or inf
        if bad.any():
            rows = bad.any(axis=1) & (abs(x) < float("inf")).all(axis=1)
            if rows.any():
                i = int(rows.argmax())
                raise ValueError(f"noise callback fn(x, xi) returned NaN or inf for particle {i} at "
                                 "a finite position: B(x) is not defined there")
        return out

    def __repr__(self):
        return f"StateDependentNoise(n_noise={self._k})"


class LangevinSDE:
    """An overdamped or underdamped Langevin SDE on a landscape (conventions: module doc).

    Parameters
    ----------
    landscape : Landscape
        Energy and negative drift; its ``manifold`` is where the particles live.
    temperature : float, optional
        T ≥ 0 for isotropic thermal noise.  Give either this or ``noise``.
    noise : NoiseModel, optional
        Any other noise model (anisotropic, SGD noise, state-dependent).
    friction : float, optional
        γ > 0 makes the dynamics underdamped (inverse time units); None is overdamped.
    mass : float, optional
        m > 0 (default 1), underdamped only: giving it without ``friction`` raises.

    Examples
    --------
    >>> import sgdsde as sd
    >>> sde = sd.LangevinSDE(sd.landscapes.DoubleWell(), temperature=0.25)
    >>> sde.temperature, sde.is_underdamped
    (0.25, False)
    """

    def __init__(self, landscape: Landscape, temperature: float | None = None, *,
                 noise: NoiseModel | None = None, friction: float | None = None,
                 mass: float | None = None):
        if not isinstance(landscape, Landscape):
            raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
        if (temperature is None) == (noise is None):
            raise ValueError("give exactly one of temperature= or noise=")
        if noise is None:
            noise = IsotropicNoise(temperature)
        if not isinstance(noise, NoiseModel):
            raise TypeError(f"noise must be a NoiseModel, got {type(noise).__name__}")
        noise.n_noise(landscape.dim)  # validates the shape against the landscape
        if friction is not None:
            friction = _positive(friction, "friction")
        if mass is None:
            mass = 1.0
        elif friction is None:
            raise ValueError("mass= is only used by underdamped dynamics (give friction= too); "
                             "overdamped dynamics have no mass")
        mass = _positive(mass, "mass")
        self.landscape = landscape
        self.noise = noise
        self.friction = friction
        self.mass = mass

    @property
    def dim(self) -> int:
        """Dimension d of a particle's position."""
        return self.landscape.dim

    @property
    def manifold(self):
        """The landscape's manifold."""
        return self.landscape.manifold

    @property
    def temperature(self) -> float | None:
        """T for thermal noise, None for other noise models."""
        return self.noise.temperature

    @property
    def is_underdamped(self) -> bool:
        """True when a friction was given."""
        return self.friction is not None

    def grad(self, x: np.ndarray) -> np.ndarray:
        """Negative drift of the position, (M, d)."""
        return self.landscape.grad(x)

    def diffusion(self, x: np.ndarray, xi: np.ndarray) -> np.ndarray:
        """``B(x) ξ`` (overdamped convention), (M, d)."""
        return self.noise.apply(x, xi)

    def n_noise(self) -> int:
        """Standard normals per particle per step."""
        return self.noise.n_noise(self.dim)

    def __repr__(self):
        kind = (f"underdamped, friction={self.friction}, mass={self.mass}"
                if self.is_underdamped else "overdamped")
        noise = f"temperature={self.temperature}" if self.temperature is not None else repr(self.noise)
        return f"LangevinSDE({self.landscape!r}, {noise}, {kind})"
