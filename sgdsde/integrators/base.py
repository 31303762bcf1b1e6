"""What every integrator declares and the state it advances.

An integrator is a small immutable object that declares its convergence orders and its
cost, and implements one step of the NumPy reference (the readable specification the Numba
and CuPy kernels are tested against).  The declared orders drive the convergence tests:
adding an integrator adds its tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..manifolds import Euclidean

__all__ = ["Integrator", "State", "NoiseSource"]


@dataclass
class State:
    """The cloud being advanced: positions, velocities and per-scheme caches.

    Attributes
    ----------
    x : ndarray, shape (M, d)
        Positions.
    v : ndarray, shape (M, d) or None
        Velocities (underdamped only).
    cache : dict
        Scheme-specific values carried between steps (e.g. the force at x).
    n_grad_evals : int
        Gradient evaluations per particle so far.
    n_accepted : ndarray of int64, shape (M,), or None
        Accepted proposals per particle (Metropolis schemes only).
    """

    x: np.ndarray
    v: np.ndarray | None = None
    cache: dict = field(default_factory=dict)
    n_grad_evals: int = 0
    n_accepted: np.ndarray | None = None

    def copy(self) -> State:
        """An independent copy (arrays copied), so a chunk of steps can be committed whole."""
        def cp(a):  # a.copy(): the arrays may live on a device (CuPy)
            return None if a is None else a.copy()

        return State(x=cp(self.x), v=cp(self.v), cache={k: cp(v) for k, v in self.cache.items()},
                     n_grad_evals=self.n_grad_evals, n_accepted=cp(self.n_accepted))


class NoiseSource:
    """Counter-based normals and uniforms of one cloud's particles, step by step.

    Built by a backend from the seed and the cloud's global particle indices; integrators
    call ``normals(step, dim)`` and ``uniforms(step)``.
    """

    def __init__(self, normals, uniforms):
        self._normals = normals
        self._uniforms = uniforms

    def normals(self, step: int, dim: int, stream: int = 0) -> np.ndarray:
        """(M, dim) standard normals of ``step``."""
        return self._normals(step, dim, stream)

    def uniforms(self, step: int, stream: int = 1) -> np.ndarray:
        """(M,) uniforms on (0, 1) of ``step``."""
        return self._uniforms(step, stream)


class Integrator:
    """Base class.  Subclasses set the class attributes below and implement ``step``.

    Attributes
    ----------
    strong_order : float
        Strong (pathwise, root-mean-square) order for general multiplicative noise.
    strong_order_additive : float
        Strong order when the noise is additive.
    weak_order : float
        Weak order of expectations at a fixed time.
    grad_evals_per_step : int
        Gradient evaluations per particle per step (after the first step).
    underdamped : bool
        True for schemes of the inertial (position, velocity) dynamics.
    needs_euclidean : bool
        True if the scheme is not defined on curved manifolds.
    """

    name = "integrator"
    strong_order: float
    strong_order_additive: float
    weak_order: float
    grad_evals_per_step: int
    underdamped = False
    needs_euclidean = False

    def check(self, sde) -> None:
        """Raise a clear error if this scheme cannot integrate ``sde``."""
        if sde.is_underdamped != self.underdamped:
            kind = "underdamped (friction=...)" if self.underdamped else "overdamped (friction=None)"
            raise ValueError(f"{self.name} integrates {kind} SDEs; got {sde!r}")
        if self.needs_euclidean and not isinstance(sde.manifold, Euclidean):
            raise ValueError(f"{self.name} is defined on Euclidean space only; got {sde.manifold!r}")

    def init_state(self, sde, x: np.ndarray, v: np.ndarray | None) -> State:
        """The state before the first step (computes any cache the scheme carries)."""
        return State(x=x, v=v)

    def step(self, sde, state: State, n: int, dt: float, noise: NoiseSource) -> None:
        """Advance ``state`` in place from step ``n`` to ``n + 1`` (NumPy reference)."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self).__name__)


def tangent_step(sde, x: np.ndarray, increment: np.ndarray) -> np.ndarray:
    """``retract(x + project(x, increment))``: an ambient step kept on the manifold."""
    m = sde.manifold
    return m.retract(x + m.project(x, increment))
