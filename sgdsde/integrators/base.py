"""What every integrator declares and the state it advances.

An integrator is a small immutable object that declares its convergence orders and its
cost, and implements one step of the NumPy reference (the readable specification the Numba
and CuPy kernels are tested against).  The declared orders drive the convergence tests:
adding an integrator adds its tests.

DESIGN — each scheme owns its kernels.  A class declares, as data, a :class:`Kernels`:
its reference ``step``, the fused kernel of each backend that has one, the typed
:class:`State` fields those kernels carry between calls, and the SDE parameters they
take.  Backends read that declaration (:func:`own_kernels`) and never branch on a
scheme's name; a subclass that overrides ``step`` no longer matches the declaration and
runs its own step on every backend.  To add a scheme: subclass :class:`Integrator`,
declare the orders, write ``step`` (NumPy, whole clouds, any manifold), optionally a
fused kernel per backend with the argument order of :class:`Kernels`, and add the class
to :data:`sgdsde.integrators.ALL` (its convergence tests then appear by themselves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..manifolds import Euclidean

__all__ = ["Integrator", "State", "NoiseSource", "Kernels", "own_kernels", "ARRAY_FIELDS"]

ARRAY_FIELDS = ("x", "v", "grad", "energy", "n_accepted")
"""The array fields of :class:`State`, in the order backends move them."""


@dataclass
class State:
    """The cloud being advanced: positions, velocities and what a scheme carries.

    Attributes
    ----------
    x : ndarray, shape (M, d)
        Positions.
    v : ndarray, shape (M, d) or None
        Velocities (underdamped only).
    grad : ndarray, shape (M, d), or None
        ∇U at ``x``, for schemes that reuse the force of the previous step (MALA, BAOAB).
    energy : ndarray, shape (M,), or None
        U at ``x``, for Metropolis schemes.
    n_grad_evals : int
        Gradient evaluations per particle so far.
    n_accepted : ndarray of int64, shape (M,), or None
        Accepted proposals per particle (Metropolis schemes only).
    """

    x: np.ndarray
    v: np.ndarray | None = None
    grad: np.ndarray | None = None
    energy: np.ndarray | None = None
    n_grad_evals: int = 0
    n_accepted: np.ndarray | None = None

    def copy(self) -> State:
        """An independent copy (arrays copied), so a chunk of steps can be committed whole."""
        def cp(a):  # a.copy(): the arrays may live on a device (CuPy)
            return None if a is None else a.copy()

        return State(**{f: cp(getattr(self, f)) for f in ARRAY_FIELDS},
                     n_grad_evals=self.n_grad_evals)


@dataclass(frozen=True)
class Kernels:
    """A scheme's implementations, declared as data on its class (attribute ``kernels``).

    Attributes
    ----------
    step : callable
        The class's own reference ``step`` (the NumPy specification).  Backends use the
        fused kernels below only while ``type(integrator).step is step``
        (:func:`own_kernels`): a subclass that overrides ``step`` is never replaced.
    numba : callable, optional
        Fused Numba kernel (many steps per call, toy landscapes, thermal noise, flat
        space) with the arguments ``(x, *carried, kind, p, seed, offset, step0, n_steps,
        dt, temp, *sde_params, max_abs, diverged)``; see :mod:`._numba_fused`.
    numba_batched : callable, optional
        One step from a precomputed batched gradient ``g`` (p-spin, networks, the sphere):
        ``(x, g, noise, refill, seed, offset, step, dt, temp, radius, max_abs, diverged)``.
    cupy : str, optional
        Name of the kernel template in ``sgdsde/_cuda/fused.cu``, with the arguments
        ``(x, *carried, m, diverged, n_diverged, kind, p, seed, offset, step0, n_steps,
        dt, temp, max_abs, friction, mass, *ziggurat_tables)``.
    carries : tuple of str
        The :class:`State` fields, other than ``x``, that the fused kernels read and write,
        in argument order (e.g. ``("grad", "energy", "n_accepted")`` for MALA).
    sde_params : tuple of str
        Attributes of the SDE passed to the Numba kernel after the temperature.
    """

    step: Callable
    numba: Callable | None = None
    numba_batched: Callable | None = None
    cupy: str | None = None
    carries: tuple[str, ...] = ()
    sde_params: tuple[str, ...] = ()

    def __post_init__(self):
        unknown = [f for f in self.carries if f not in ARRAY_FIELDS or f == "x"]
        if unknown:
            raise ValueError(f"carries: {unknown} are not State array fields other than x "
                             f"({', '.join(ARRAY_FIELDS[1:])})")


def own_kernels(integrator) -> Kernels | None:
    """The :class:`Kernels` that ``integrator`` may run, or None.

    None when its class declares none, or when ``step`` is not the one the declaration
    was made for (a subclass overriding ``step``): the backend then runs ``step`` itself.
    """
    cls = type(integrator)
    kernels = getattr(cls, "kernels", None)
    if not isinstance(kernels, Kernels) or cls.step is not kernels.step:
        return None
    return kernels


class NoiseSource:
    """Counter-based normals and uniforms of one cloud's particles, step by step.

    Built by a backend from the seed and the cloud's global particle indices; integrators
    call ``normals(step, dim)`` and ``uniforms(step)``.  ``seed`` and ``particles`` (int64,
    (M,)) are the generator's coordinates, for schemes that draw other numbers from
    :mod:`sgdsde.random` (minibatch indices: :class:`sgdsde.sgd.MinibatchSGD`).
    """

    def __init__(self, normals, uniforms, seed: int | None = None, particles: np.ndarray | None = None):
        self._normals = normals
        self._uniforms = uniforms
        self.seed = seed
        self.particles = particles

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
    noise_substeps : int
        A step draws ``noise_substeps · n_noise`` normals, ``normals(n, noise_substeps ·
        n_noise)``: the scaled Brownian increments of that many equal sub-intervals of the
        step, in order (1 for most schemes; 2 for OBABO's two half-step O updates).
    kernels : Kernels or None
        The scheme's fused kernels, declared after ``step`` in the class body.
    """

    name = "integrator"
    strong_order: float
    strong_order_additive: float
    weak_order: float
    grad_evals_per_step: int
    underdamped = False
    needs_euclidean = False
    noise_substeps = 1
    kernels: Kernels | None = None

    def check(self, sde) -> None:
        """Raise a clear error if this scheme cannot integrate ``sde``."""
        if sde.is_underdamped != self.underdamped:
            kind = "underdamped (friction=...)" if self.underdamped else "overdamped (friction=None)"
            raise ValueError(f"{self.name} integrates {kind} SDEs; got {sde!r}")
        if self.needs_euclidean and not isinstance(sde.manifold, Euclidean):
            raise ValueError(f"{self.name} is defined on Euclidean space only; got {sde.manifold!r}")

    def init_state(self, sde, x: np.ndarray, v: np.ndarray | None) -> State:
        """The state before the first step (computes what the scheme carries).

        ``v`` is kept for underdamped schemes only (a run continued from an underdamped one
        may pass its velocities to an overdamped scheme, which has none).
        """
        return State(x=x, v=v if self.underdamped else None)

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
