"""Local free energy (local entropy) of a landscape and the Entropy-SGD optimizer.

Convention (docs/theory.md §7)
------------------------------
The local free energy at a point x, coupling γ > 0 (energy per length²) and temperature
T > 0 is

    F(x; γ, T) = −T log ∫ exp(−[f(x′) + (γ/2)|x − x′|²] / T) dx′,

the free energy of a particle x′ held near x by a spring of stiffness γ.  This is the local
entropy of Chaudhari et al. (Entropy-SGD, ICLR 2017, arXiv:1611.01838) with the spring measured
in energy units: their ``γ`` at temperature T is our ``γ/T`` (the form
``−T log ∫ exp(−f/T − γ'|x − x′|²/2)`` has ``γ' = γ/T``).  With this choice F → the Moreau
envelope ``min_x′ [f(x′) + (γ/2)|x − x′|²]`` as T → 0, F → f(x) + (dT/2) log(γ/(2πT)) as
γ → ∞, and

    ∇_x F = γ (x − ⟨x′⟩),

the average taken in the tethered Gibbs law ``ρ(x′) ∝ exp(−[f(x′) + (γ/2)|x − x′|²]/T)``.
A wide minimum has a lower F than an equally deep narrow one: F rewards volume.

Estimators
----------
* :func:`local_free_energy_exact`: quadrature on a grid, in 1-D and 2-D (the oracle).
* :func:`local_free_energy`: inner Langevin clouds run by the library's own
  :func:`sgdsde.simulate`.  F is obtained by thermodynamic integration from the Gaussian
  spring alone (``λ = 0``, whose free energy is ``−(dT/2) log(2πT/γ)``) to the full
  landscape (``λ = 1``) through ``U_λ = λ f + (γ/2)|x − x′|²``:
  ``F = F_0 + ∫_0^1 ⟨f⟩_λ dλ``, with Gauss–Legendre nodes in λ.  Every (point, node,
  particle) is one particle of **one** cloud.  The standard error combines the nodes'
  standard errors (independent particles' time averages); the time step's bias is not in it
  (LeimkuhlerMatthews makes it O(dt²)).
* :func:`entropy_sgd`: outer steps ``x ← x − η γ (x − μ)`` with μ the running mean of an
  inner tethered Langevin cloud started at x, as in Chaudhari et al. (their algorithm 1 uses
  one SGLD chain and an exponential average; here a small cloud runs with full-batch
  gradients through :func:`sgdsde.simulate`).  "Scoping" grows γ by ``(1 + gamma_growth)``
  per outer step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from .._checks import real
from ..landscapes.base import Landscape, check_cloud
from ..manifolds import Euclidean
from ..random import resolve_seed

__all__ = ["LocalFreeEnergy", "local_free_energy", "local_free_energy_exact", "EntropySGDResult",
           "entropy_sgd", "TetheredLandscape"]


def _positive(value, name):
    value = real(value, name)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def _check_gamma_temperature(gamma, temperature):
    gamma = real(gamma, "gamma")
    if not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be a finite number > 0 (the spring stiffness), got {gamma}")
    temperature = real(temperature, "temperature")
    if not np.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
    if temperature == 0:
        raise ValueError("temperature must be > 0 for the local free energy (T = 0 is the Moreau "
                         "envelope, which needs a minimiser, not a sampler)")
    return gamma, temperature


def _count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _flat_landscape(landscape):
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
    if not isinstance(landscape.manifold, Euclidean):
        raise ValueError(f"local entropy is implemented in flat space, {type(landscape).__name__} "
                         f"lives on {landscape.manifold!r}")
    if not landscape.is_conservative:
        raise ValueError(f"{type(landscape).__name__} is not conservative: it has no free energy")


class TetheredLandscape(Landscape):
    """``U(x′) = λ_i f(x′) + (γ/2)|x′ − c_i|²`` for particle i: the inner landscape of local
    entropy, with one centre c_i and one weight λ_i per particle of the cloud.

    Parameters
    ----------
    base : Landscape
        f.
    centers : ndarray, shape (P, d)
    gamma : float
        γ > 0.
    weights : ndarray, shape (P,), optional
        λ_i in [0, 1] (default 1).
    """

    fused_kind = None

    def __init__(self, base: Landscape, centers, gamma: float, weights=None):
        self.base = base
        self.dim = base.dim
        self.centers = check_cloud(np.asarray(centers, dtype=np.float64), base.dim, "centers")
        self.gamma = _positive(gamma, "gamma")
        p = self.centers.shape[0]
        self.weights = np.ones(p) if weights is None else np.asarray(weights, dtype=np.float64)
        if self.weights.shape != (p,) or not np.all((self.weights >= 0) & (self.weights <= 1)):
            raise ValueError(f"weights must be {p} numbers in [0, 1]")

    def _rows(self, x):
        x = self._check(x)
        if x.shape[0] != self.centers.shape[0]:
            raise ValueError(f"a TetheredLandscape holds {self.centers.shape[0]} particles, got {x.shape[0]}")
        return x

    def energy(self, x):
        x = self._rows(x)
        y = x - self.centers
        return self.weights * self.base.energy(x) + 0.5 * self.gamma * np.sum(y * y, axis=1)

    def grad(self, x):
        x = self._rows(x)
        return self.weights[:, None] * self.base.grad(x) + self.gamma * (x - self.centers)

    def __repr__(self):
        return f"TetheredLandscape({self.base!r}, gamma={self.gamma}, particles={self.centers.shape[0]})"


# ---------------------------------------------------------------------- exact quadrature
def local_free_energy_exact(landscape: Landscape, x, gamma: float, temperature: float, *,
                            bounds, n_grid: int = 2001) -> tuple[np.ndarray, np.ndarray]:
    """F(x; γ, T) and ∇F by quadrature on a grid, in 1-D or 2-D.

    Parameters
    ----------
    landscape : Landscape
        d = 1 or 2, flat space.
    x : array_like, shape (M, d)
        Points.
    gamma, temperature : float
        γ > 0, T > 0.
    bounds : sequence of (low, high)
        One interval per dimension; it must hold the tethered law (a few ``sqrt(T/γ)``
        around each x, and the wells that matter).
    n_grid : int
        Nodes per dimension (trapezoid rule, spectrally accurate for a law that vanishes at
        the bounds).

    Returns
    -------
    F : ndarray, shape (M,)
    grad : ndarray, shape (M, d)
    """
    _flat_landscape(landscape)
    gamma, temperature = _check_gamma_temperature(gamma, temperature)
    d = landscape.dim
    if d not in (1, 2):
        raise ValueError(f"exact quadrature is implemented in 1-D and 2-D, the landscape has d = {d}")
    x = check_cloud(np.asarray(x, dtype=np.float64), d, finite=True)
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    if bounds.shape[0] != d or not np.all(np.isfinite(bounds)) or np.any(bounds[:, 1] <= bounds[:, 0]):
        raise ValueError(f"bounds must be {d} finite intervals (low < high), got {bounds.tolist()}")
    n_grid = _count(n_grid, "n_grid", 3)
    axes = [np.linspace(lo, hi, n_grid) for lo, hi in bounds]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    w = np.ones([n_grid] * d)
    for k in range(d):  # trapezoid weights
        sl = [slice(None)] * d
        sl[k] = [0, -1]
        w[tuple(sl)] *= 0.5
    log_w = np.log(w.ravel()) + sum(np.log(a[1] - a[0]) for a in axes)
    f = landscape.energy(mesh)
    out_f, out_g = np.empty(x.shape[0]), np.empty_like(x)
    for m, xm in enumerate(x):
        y = mesh - xm
        log_p = log_w - (f + 0.5 * gamma * np.sum(y * y, axis=1)) / temperature
        log_z = logsumexp(log_p)
        out_f[m] = -temperature * log_z
        mean = np.exp(log_p - log_z) @ mesh
        out_g[m] = gamma * (xm - mean)
    return out_f, out_g


# ---------------------------------------------------------------------- Langevin estimator
@dataclass(frozen=True)
class LocalFreeEnergy:
    """Estimates of the local free energy at M points.

    Attributes
    ----------
    value, stderr : ndarray, shape (M,)
        F(x; γ, T) and its standard error (energy units).
    grad, grad_stderr : ndarray, shape (M, d)
        ``γ (x − ⟨x′⟩)`` and its standard error per component.
    mean_energy : ndarray, shape (M, n_nodes)
        ⟨f⟩_λ at the Gauss–Legendre nodes ``nodes``.
    nodes : ndarray, shape (n_nodes,)
    n_grad_evals : int
        Gradients of f evaluated by the inner clouds.
    """

    value: np.ndarray
    stderr: np.ndarray
    grad: np.ndarray
    grad_stderr: np.ndarray
    mean_energy: np.ndarray
    nodes: np.ndarray
    n_grad_evals: int


def _tethered_run(landscape, centers, weights, gamma, temperature, n_inner, n_steps, dt, seed,
                  burn_in, record_every, want_energy, backend="numba"):
    """Run the tethered cloud (P · n_inner particles) and return time-and-particle averages.

    Returns the per-particle time averages of x′ (P, n_inner, d) and of f (P, n_inner).
    """
    from ..integrators import LeimkuhlerMatthews
    from ..save import SaveAt
    from ..sde import LangevinSDE
    from ..simulate import simulate

    p, d = centers.shape
    c = np.repeat(centers, n_inner, axis=0)
    lam = np.repeat(weights, n_inner)
    inner = TetheredLandscape(landscape, c, gamma, lam)
    obs = {"position": "position"}
    if want_energy:
        obs["f"] = landscape.energy
    traj = simulate(LangevinSDE(inner, temperature=temperature), LeimkuhlerMatthews(), c.copy(), dt=dt,
                    n_steps=n_steps, seed=seed, backend=backend, progress=False,
                    save=SaveAt(every=record_every, observables=obs))
    keep = np.asarray(traj.steps) >= burn_in * n_steps
    pos = np.asarray(traj.observables["position"])[keep].mean(axis=0).reshape(p, n_inner, d)
    f = np.asarray(traj.observables["f"])[keep].mean(axis=0).reshape(p, n_inner) if want_energy else None
    return pos, f, n_steps * c.shape[0]  # LeimkuhlerMatthews: one gradient per particle and step


def _sem(a, axis):
    n = a.shape[axis]
    return a.std(axis=axis, ddof=1) / np.sqrt(n) if n > 1 else np.full(np.mean(a, axis=axis).shape, np.inf)


def local_free_energy(landscape: Landscape, x, gamma: float, temperature: float, *, n_inner: int = 16,
                      n_nodes: int = 8, n_steps: int = 4000, dt: float = 1e-3, burn_in: float = 0.25,
                      record_every: int = 10, seed: int | None = 0) -> LocalFreeEnergy:
    """F(x; γ, T) and ∇F by thermodynamic integration over inner Langevin clouds.

    Parameters
    ----------
    landscape : Landscape
        Conservative, flat space.
    x : array_like, shape (M, d)
        Points.
    gamma, temperature : float
        γ > 0 (energy per length²), T > 0.
    n_inner : int
        Independent inner particles per point and node (≥ 2 for error bars).
    n_nodes : int
        Gauss–Legendre nodes in λ ∈ (0, 1) (≥ 1); ⟨f⟩_λ is smooth in λ.
    n_steps, dt : int, float
        Inner run length and step (dt below 2/(λ_max(∇²f) + γ)).
    burn_in : float
        Fraction of the run discarded before averaging, in [0, 1).
    record_every : int
        Steps between the samples averaged.
    seed : int, optional

    Returns
    -------
    LocalFreeEnergy
    """
    _flat_landscape(landscape)
    gamma, temperature = _check_gamma_temperature(gamma, temperature)
    x = check_cloud(np.asarray(x, dtype=np.float64), landscape.dim, finite=True)
    n_inner = _count(n_inner, "n_inner", 1)
    n_nodes = _count(n_nodes, "n_nodes", 1)
    n_steps = _count(n_steps, "n_steps", 1)
    dt = _positive(dt, "dt")
    burn_in = real(burn_in, "burn_in")
    if not 0 <= burn_in < 1:
        raise ValueError(f"burn_in must lie in [0, 1), got {burn_in}")
    t, w = np.polynomial.legendre.leggauss(n_nodes)
    nodes, wts = 0.5 * (t + 1), 0.5 * w
    lams = np.concatenate([nodes, [1.0]])  # the nodes, then λ = 1 for the gradient
    m, d = x.shape
    centers = np.repeat(x, lams.size, axis=0)
    weights = np.tile(lams, m)
    record_every = _count(record_every, "record_every", 1)
    pos, f, n_evals = _tethered_run(landscape, centers, weights, gamma, temperature, n_inner, n_steps, dt,
                                    resolve_seed(seed), burn_in, record_every, True)
    f = f.reshape(m, lams.size, n_inner)
    pos = pos.reshape(m, lams.size, n_inner, d)
    mean_f, sem_f = f[:, :-1].mean(axis=2), _sem(f[:, :-1], 2)
    f0 = -0.5 * d * temperature * np.log(2 * np.pi * temperature / gamma)
    value = f0 + mean_f @ wts
    stderr = np.sqrt((sem_f**2) @ (wts**2))
    mean_x = pos[:, -1].mean(axis=1)
    grad = gamma * (x - mean_x)
    grad_se = gamma * _sem(pos[:, -1], 1)
    return LocalFreeEnergy(value=value, stderr=stderr, grad=grad, grad_stderr=grad_se, mean_energy=mean_f,
                           nodes=nodes, n_grad_evals=n_evals)


# ---------------------------------------------------------------------- Entropy-SGD
@dataclass(frozen=True)
class EntropySGDResult:
    """Outer trajectory of Entropy-SGD.

    Attributes
    ----------
    final : ndarray, shape (M, d)
    positions : ndarray, shape (n_steps + 1, M, d)
        x after each outer step (the start first).
    energy : ndarray, shape (n_steps + 1, M)
        f along the outer trajectory.
    gammas : ndarray, shape (n_steps,)
        γ used at each outer step.
    n_grad_evals : int
        Gradients of f evaluated (inner clouds).
    """

    final: np.ndarray
    positions: np.ndarray
    energy: np.ndarray
    gammas: np.ndarray
    n_grad_evals: int


def entropy_sgd(landscape: Landscape, x0, *, lr: float, gamma: float, temperature: float, n_steps: int,
                inner_steps: int = 50, inner_dt: float = 1e-2, n_inner: int = 4, gamma_growth: float = 0.0,
                seed: int | None = 0) -> EntropySGDResult:
    """Entropy-SGD: gradient descent on the local free energy F(x; γ, T).

    Parameters
    ----------
    landscape : Landscape
        Conservative, flat space (networks, toys).
    x0 : array_like, shape (M, d)
        M independent runs.
    lr : float
        Outer learning rate η > 0; the step is ``x ← x − η γ (x − μ)``, so η γ ≤ 1 moves at
        most to the inner mean, and η γ must stay ≤ 2 (checked for the largest γ).
    gamma : float
        Initial spring γ > 0 (energy per length²).
    temperature : float
        T > 0 of the inner Langevin clouds.
    n_steps : int
        Outer steps.
    inner_steps, inner_dt, n_inner : int, float, int
        Each outer step runs ``n_inner`` tethered particles per run for ``inner_steps`` steps
        of ``inner_dt`` from x; μ is their average over particles and the second half of the
        steps.
    gamma_growth : float
        Scoping: γ_k = γ (1 + gamma_growth)^k, ≥ 0.
    seed : int, optional
        Inner noise of outer step k uses key ``seed + k``.

    Returns
    -------
    EntropySGDResult
    """
    _flat_landscape(landscape)
    gamma, temperature = _check_gamma_temperature(gamma, temperature)
    lr = _positive(lr, "lr")
    x = check_cloud(np.asarray(x0, dtype=np.float64), landscape.dim, "x0", finite=True).copy()
    n_steps = _count(n_steps, "n_steps", 0)
    inner_steps = _count(inner_steps, "inner_steps", 2)
    n_inner = _count(n_inner, "n_inner", 1)
    inner_dt = _positive(inner_dt, "inner_dt")
    gamma_growth = real(gamma_growth, "gamma_growth")
    if not (np.isfinite(gamma_growth) and gamma_growth >= 0):
        raise ValueError(f"gamma_growth must be a finite number >= 0, got {gamma_growth}")
    gamma_max = gamma * (1 + gamma_growth) ** max(n_steps - 1, 0)
    if lr * gamma_max > 2:
        raise ValueError(f"lr * gamma must stay <= 2 (the outer step x <- x - lr gamma (x - mu) overshoots "
                         f"the inner mean and diverges beyond), got lr * gamma_max = {lr * gamma_max:g}")
    seed = resolve_seed(seed)
    positions, energies, gammas = [x.copy()], [landscape.energy(x)], []
    evals = 0
    record = max(1, inner_steps // 10)
    for k in range(n_steps):
        g_k = gamma * (1 + gamma_growth) ** k
        pos, _, n = _tethered_run(landscape, x, np.ones(x.shape[0]), g_k, temperature, n_inner, inner_steps,
                                  inner_dt, (seed + k) % 2**64, 0.5, record, False)
        evals += n
        x = x - lr * g_k * (x - pos.mean(axis=1))
        if not np.all(np.isfinite(x)):
            raise FloatingPointError(f"Entropy-SGD diverged at outer step {k}: lower lr or inner_dt")
        positions.append(x.copy())
        energies.append(landscape.energy(x))
        gammas.append(g_k)
    return EntropySGDResult(final=x, positions=np.array(positions), energy=np.array(energies),
                            gammas=np.array(gammas), n_grad_evals=evals)
