"""Minimum-energy paths between two minima: the nudged elastic band and the string method.

A path is a chain of n images ``x_0 … x_{n−1}`` with fixed end points.  The interior images
are advanced as **one cloud**: each iteration evaluates the gradient of all of them in one
batched call (and their energies, from the same call where the landscape has
``energy_and_grad``), so a network or a spin glass pays one GEMM-shaped evaluation per
iteration for the whole chain.  On a sphere the gradient is projected on each image's tangent
space, the images are retracted after every step and lengths are chords.

Nudged elastic band (Henkelman, Uberuaga & Jónsson, J. Chem. Phys. 113, 9901 (2000);
Henkelman & Jónsson, J. Chem. Phys. 113, 9978 (2000))

    Image i feels ``−∇U`` without its component along the local tangent τ_i, plus a spring
    force ``k (|x_{i+1} − x_i| − |x_i − x_{i−1}|) τ_i`` along τ_i only, which keeps the images
    evenly spaced without cutting corners.  τ_i is the *upwind* tangent (towards the higher
    neighbour, energy-weighted at extrema), which removes kinks.  With the climbing image on,
    the highest image feels no spring and the full force with its tangential component
    reversed, ``−∇U + 2 (∇U·τ) τ``: it climbs along the path and descends across it, so it
    converges to the saddle point itself.  The forces are followed by FIRE (Bitzek et al.,
    PRL 97, 170201 (2006)) on the whole chain.

Simplified string method (E, Ren & Vanden-Eijnden, J. Chem. Phys. 126, 164103 (2007))
    Each iteration moves every interior image by ``−Δt ∇U`` (the full gradient, no
    projection) and then redistributes the images at equal arc length along the linear (on
    the sphere: retracted) cubic spline through the chain.  The string converges to the
    minimum-energy path; its highest image lies within O((L/n)²) of the saddle energy, L the
    path length, so :attr:`MinimumEnergyPath.barrier_error` reports the spread between the
    highest image and the peak of the cubic Hermite interpolant of the energies (which uses
    the gradient along the path).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from .._checks import real
from ..landscapes.base import Landscape, check_cloud
from ..manifolds import Euclidean, Sphere

__all__ = ["MinimumEnergyPath", "nudged_elastic_band", "string_method", "straight_path"]


@dataclass(frozen=True)
class MinimumEnergyPath:
    """A converged (or stopped) chain of images.

    Attributes
    ----------
    images : ndarray, shape (n, d)
        The chain, end points included.
    energies : ndarray, shape (n,)
    arclength : ndarray, shape (n,)
        Cumulative chord length from the start (length units).
    max_force : float
        Largest force left on an interior image at the end (the NEB force, or for the string
        the gradient component normal to the path), energy per length.
    n_iterations : int
    n_grad_calls : int
        Batched gradient calls (one per iteration, plus one at the start).
    n_grad_evals : int
        Gradients evaluated (images per call, summed).
    converged : bool
    method : str
    """

    images: np.ndarray
    energies: np.ndarray
    arclength: np.ndarray
    max_force: float
    n_iterations: int
    n_grad_calls: int
    n_grad_evals: int
    converged: bool
    method: str

    @property
    def saddle_index(self) -> int:
        """Index of the highest image."""
        return int(np.argmax(self.energies))

    @property
    def saddle(self) -> np.ndarray:
        """The highest image, shape (d,) (the saddle point for a converged climbing image)."""
        return self.images[self.saddle_index]

    @property
    def barrier(self) -> float:
        """Forward barrier ``max U − U(start)`` along the chain (energy units)."""
        return float(self.energies.max() - self.energies[0])

    @property
    def reverse_barrier(self) -> float:
        """``max U − U(end)``."""
        return float(self.energies.max() - self.energies[-1])

    @property
    def peak_energy(self) -> float:
        """Peak of the cubic Hermite interpolant of the energies along the chain: a better
        estimate of the saddle energy than the highest image when no image climbs."""
        return float(self._interpolated_peak)

    @property
    def barrier_error(self) -> float:
        """Discretisation error of the barrier: |highest image − peak of the Hermite cubic
        through the energies and their arc-length derivatives| (see the module docstring)."""
        return float(abs(self._interpolated_peak - self.energies.max()))

    _interpolated_peak: float = np.nan


def _check_endpoints(landscape: Landscape, start, end) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a sgdsde Landscape, got {type(landscape).__name__}")
    if not isinstance(landscape.manifold, Euclidean | Sphere):
        raise TypeError(f"paths are implemented on Euclidean and Sphere manifolds, "
                        f"got {landscape.manifold!r}")
    pts = []
    for name, p in (("start", start), ("end", end)):
        p = np.asarray(p, dtype=np.float64)
        p = check_cloud(p[None] if p.ndim == 1 else p, landscape.dim, name)
        if p.shape[0] != 1:
            raise ValueError(f"{name} must be one point, shape ({landscape.dim},), got {p.shape}")
        if not np.all(np.isfinite(p)):
            raise ValueError(f"{name} contains NaN or inf")
        landscape.manifold.check(p, name)
        pts.append(p[0])
    a, b = pts
    scale = max(1.0, np.linalg.norm(a), np.linalg.norm(b))
    if np.linalg.norm(a - b) <= 1e-12 * scale:
        raise ValueError("start and end coincide: a path needs two distinct end points")
    return a, b


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive(value, name):
    value = real(value, name)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def straight_path(landscape: Landscape, start, end, n_images: int) -> np.ndarray:
    """``n_images`` points evenly spaced on the straight line (on a sphere: the great circle)
    from ``start`` to ``end``, end points included, shape (n_images, d)."""
    a, b = _check_endpoints(landscape, start, end)
    n = _check_count(n_images, "n_images", 2)
    s = np.linspace(0.0, 1.0, n)[:, None]
    if isinstance(landscape.manifold, Sphere):
        r = landscape.manifold.radius
        omega = np.arccos(np.clip(a @ b / r**2, -1.0, 1.0))
        if np.pi - omega < 1e-8:
            raise ValueError("start and end are antipodal: the great circle between them is not unique")
        return (np.sin((1 - s) * omega) * a + np.sin(s * omega) * b) / np.sin(omega)
    return (1 - s) * a + s * b


class _Chain:
    """Energies and (Riemannian) gradients of a chain's interior, one batched call each time."""

    def __init__(self, landscape):
        self.landscape = landscape
        self.sphere = isinstance(landscape.manifold, Sphere)
        self.calls = 0
        self.evals = 0

    def evaluate(self, x):
        self.calls += 1
        self.evals += x.shape[0]
        if callable(getattr(self.landscape, "energy_and_grad", None)):
            e, g = self.landscape.energy_and_grad(x)
        else:
            e, g = self.landscape.energy(x), self.landscape.grad(x)
        e, g = np.asarray(e, dtype=np.float64), np.asarray(g, dtype=np.float64)
        if not (np.all(np.isfinite(e)) and np.all(np.isfinite(g))):
            raise FloatingPointError("the landscape returned NaN or inf on the path: lower the step")
        return e, self.project(x, g)

    def project(self, x, v):
        return self.landscape.manifold.project(x, v) if self.sphere else v

    def retract(self, x):
        return self.landscape.manifold.retract(x) if self.sphere else x


def _upwind_tangents(images, energies):
    """Henkelman–Jónsson tangents of the interior images, unit, shape (n − 2, d)."""
    fwd = images[2:] - images[1:-1]
    bwd = images[1:-1] - images[:-2]
    e_prev, e, e_next = energies[:-2], energies[1:-1], energies[2:]
    up = (e_next > e) & (e > e_prev)
    down = (e_next < e) & (e < e_prev)
    d_next, d_prev = np.abs(e_next - e), np.abs(e_prev - e)
    big, small = np.maximum(d_next, d_prev), np.minimum(d_next, d_prev)
    w_next = np.where(e_next > e_prev, big, small)
    w_prev = np.where(e_next > e_prev, small, big)
    mixed = w_next[:, None] * fwd + w_prev[:, None] * bwd
    # a flat triple (equal energies) falls back to the bisector
    flat = (w_next + w_prev) == 0
    mixed[flat] = fwd[flat] / np.linalg.norm(fwd[flat], axis=1, keepdims=True) \
        + bwd[flat] / np.linalg.norm(bwd[flat], axis=1, keepdims=True)
    tau = np.where(up[:, None], fwd, np.where(down[:, None], bwd, mixed))
    return tau


def _unit(v, eps=1e-300):
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), eps)


def _arclength(images):
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(images, axis=0), axis=1))])


def _hermite_peak(arclength, energies, slopes):
    """Highest value of the piecewise cubic Hermite interpolant of (s, E, dE/ds)."""
    peak = energies.max()
    t = np.linspace(0.0, 1.0, 101)
    h00, h10 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t
    h01, h11 = -2 * t**3 + 3 * t**2, t**3 - t**2
    for i in range(len(energies) - 1):
        h = arclength[i + 1] - arclength[i]
        vals = h00 * energies[i] + h10 * h * slopes[i] + h01 * energies[i + 1] + h11 * h * slopes[i + 1]
        peak = max(peak, vals.max())
    return float(peak)


def _finish(chain, images, method, max_force, it, converged):
    e, g = chain.evaluate(images)
    chain.calls -= 1  # the final report is not part of the optimisation
    chain.evals -= images.shape[0]
    s = _arclength(images)
    tangents = np.gradient(images, s, axis=0)
    slopes = np.einsum("nd,nd->n", g, _unit(tangents))
    return MinimumEnergyPath(images=images, energies=e, arclength=s, max_force=float(max_force),
                             n_iterations=it, n_grad_calls=chain.calls, n_grad_evals=chain.evals,
                             converged=bool(converged), method=method,
                             _interpolated_peak=_hermite_peak(s, e, slopes))


def _initial_chain(landscape, start, end, n_images, initial):
    a, b = _check_endpoints(landscape, start, end)
    if not landscape.is_conservative:
        raise ValueError(f"{type(landscape).__name__} is not conservative: its drift is not the gradient "
                         "of its energy, so it has no minimum-energy path")
    n = _check_count(n_images, "n_images", 3)
    if initial is None:
        return straight_path(landscape, a, b, n)
    images = check_cloud(np.asarray(initial, dtype=np.float64), landscape.dim, "initial").copy()
    if images.shape[0] != n:
        raise ValueError(f"initial must hold n_images = {n} images, got {images.shape[0]}")
    if not np.all(np.isfinite(images)):
        raise ValueError("initial contains NaN or inf")
    images[0], images[-1] = a, b
    if isinstance(landscape.manifold, Sphere):
        images = landscape.manifold.retract(images)
    return images


def nudged_elastic_band(landscape: Landscape, start, end, *, n_images: int = 17, initial=None,
                        spring: float | None = None, climbing: bool = True, step: float | None = None,
                        tol: float = 1e-6, max_iter: int = 20000, climb_after: float | None = None
                        ) -> MinimumEnergyPath:
    """Minimum-energy path and saddle point by the climbing-image nudged elastic band.

    Parameters
    ----------
    landscape : Landscape
        Conservative, on Euclidean space or a sphere.
    start, end : array_like, shape (d,)
        Fixed end points (usually minima), on the manifold and distinct.
    n_images : int
        Images n ≥ 3, end points included.
    initial : array_like, shape (n, d), optional
        Initial chain (default: the straight line, or the great circle on a sphere).
    spring : float, optional
        Spring constant k > 0 (energy per length²); default ``max|∇U| / L`` on the initial
        chain, L its length: springs as strong as the typical force over one path length.
    climbing : bool
        Turn the highest image into a climbing image once the band has relaxed to
        ``climb_after`` times its initial largest force.
    step : float, optional
        Initial FIRE time step (the largest is 10 times it); default such that the first
        move of the most-pushed image is 1 % of a segment.  No image moves by more than 10 %
        of the initial segment length in one iteration.
    tol : float
        Stop when every interior force (NEB force; full force of the climbing image) is
        below ``tol`` (energy per length), > 0.
    max_iter : int
        Iteration budget.
    climb_after : float, optional
        In (0, 1]; see ``climbing`` (default 0.1).  Only with ``climbing``: given without
        it, it raises.

    Returns
    -------
    MinimumEnergyPath
        With ``climbing`` and convergence, :attr:`~MinimumEnergyPath.saddle` is the saddle
        point to ``tol / λ_min``.
    """
    images = _initial_chain(landscape, start, end, n_images, initial)
    tol = _positive(tol, "tol")
    max_iter = _check_count(max_iter, "max_iter", 1)
    if climb_after is None:
        climb_after = 0.1
    elif not climbing:
        raise ValueError(f"climb_after = {climb_after!r} applies only with climbing=True (the band "
                         "has no climbing image without it)")
    climb_after = real(climb_after, "climb_after")
    if not 0 < climb_after <= 1:
        raise ValueError(f"climb_after must lie in (0, 1], got {climb_after}")
    chain = _Chain(landscape)
    e_end = np.asarray(landscape.energy(images[[0, -1]]), dtype=np.float64)
    length = _arclength(images)[-1]
    seg = length / (images.shape[0] - 1)

    def forces(x, climb):
        e_in, g = chain.evaluate(x[1:-1])
        e = np.concatenate([[e_end[0]], e_in, [e_end[1]]])
        tau = _unit(chain.project(x[1:-1], _upwind_tangents(x, e)))
        g_par = np.einsum("nd,nd->n", g, tau)
        dist = np.linalg.norm(np.diff(x, axis=0), axis=1)
        f = -g + g_par[:, None] * tau + (k * (dist[1:] - dist[:-1]))[:, None] * tau
        if climb:
            top = int(np.argmax(e_in))
            f[top] = -g[top] + 2 * g_par[top] * tau[top]
        return f, e

    k = 1.0
    g0 = chain.evaluate(images[1:-1])[1]
    chain.calls, chain.evals = 0, 0
    f_scale = float(np.linalg.norm(g0, axis=1).max())
    k = _positive(spring, "spring") if spring is not None else max(f_scale, 1e-300) / length
    dt = _positive(step, "step") if step is not None else np.sqrt(0.01 * seg / max(f_scale, 1e-300))
    dt_max, alpha0 = 10 * dt, 0.1
    max_move = 0.1 * seg
    alpha, n_positive = alpha0, 0
    v = np.zeros_like(images[1:-1])
    climb = False
    f, _ = forces(images, climb)
    f0 = float(np.linalg.norm(f, axis=1).max())
    fmax = f0
    for it in range(1, max_iter + 1):
        # FIRE: mix the velocity towards the force, speed up while the power stays positive
        power = float(np.sum(f * v))
        if power > 0:
            fn, vn = np.linalg.norm(f), np.linalg.norm(v)
            v = (1 - alpha) * v + alpha * vn * f / max(fn, 1e-300)
            n_positive += 1
            if n_positive > 5:
                dt, alpha = min(1.1 * dt, dt_max), 0.99 * alpha
        else:
            v[:] = 0.0
            dt, alpha, n_positive = 0.5 * dt, alpha0, 0
        v = v + dt * f
        move = dt * v
        norms = np.linalg.norm(move, axis=1)
        move *= np.minimum(1.0, max_move / np.maximum(norms, 1e-300))[:, None]  # FIRE's usual step cap
        images[1:-1] = chain.retract(images[1:-1] + move)
        v = chain.project(images[1:-1], v)
        if climbing and not climb and fmax <= climb_after * f0:
            climb = True
        f, _ = forces(images, climb)
        fmax = float(np.linalg.norm(f, axis=1).max())
        if fmax <= tol and (climb or not climbing):
            return _finish(chain, images, "neb-ci" if climbing else "neb", fmax, it, True)
    return _finish(chain, images, "neb-ci" if climbing else "neb", fmax, max_iter, False)


def _redistribute(images, sphere: Sphere | None):
    """Images moved to equal arc length along the cubic spline through them (end points kept).

    A linear interpolant would cut corners by O(h²) at every reparametrisation, an error the
    gradient step then has to undo, so the fixed point would depend on Δt; the cubic spline
    cuts O(h⁴).
    """
    s = _arclength(images)
    target = np.linspace(0.0, s[-1], images.shape[0])
    new = CubicSpline(s, images, axis=0)(target)
    new[0], new[-1] = images[0], images[-1]
    return sphere.retract(new) if sphere is not None else new


def _largest_curvature(landscape, images) -> float | None:
    """Largest Hessian eigenvalue at the end points and the middle image (Lanczos), or None
    when the landscape has no Hessian-vector products."""
    from .hessian import extreme_eigenpairs

    idx = sorted({0, images.shape[0] // 2, images.shape[0] - 1})
    try:
        top = [extreme_eigenpairs(landscape, images[i], k=1, tol=1e-3).values[0] for i in idx]
    except (NotImplementedError, ValueError, RuntimeError):
        return None
    top = max(top)
    return float(top) if np.isfinite(top) and top > 0 else None


def string_method(landscape: Landscape, start, end, *, n_images: int = 33, initial=None,
                  step: float | None = None, tol: float = 1e-6, max_iter: int = 50000) -> MinimumEnergyPath:
    """Minimum-energy path by the simplified string method (E, Ren & Vanden-Eijnden 2007).

    Parameters
    ----------
    landscape : Landscape
        Conservative, on Euclidean space or a sphere.
    start, end : array_like, shape (d,)
        Fixed end points (usually minima), on the manifold and distinct.
    n_images : int
        Images n ≥ 3, end points included.
    initial : array_like, shape (n, d), optional
        Initial string (default: straight line or great circle).
    step : float, optional
        Δt of the gradient step (length² per energy); it must stay below 2/λ_max of the
        Hessian along the path.  Default: 1/λ_max, the largest (Riemannian) Hessian eigenvalue
        at the end points and the middle image (Lanczos); for a landscape without
        Hessian-vector products, 1 % of a segment for the most-pushed image.
    tol : float
        Stop when the largest image displacement per unit Δt (the normal force left after
        reparametrisation) is below ``tol``, > 0.
    max_iter : int

    Returns
    -------
    MinimumEnergyPath
    """
    images = _initial_chain(landscape, start, end, n_images, initial)
    tol = _positive(tol, "tol")
    max_iter = _check_count(max_iter, "max_iter", 1)
    chain = _Chain(landscape)
    sphere = landscape.manifold if isinstance(landscape.manifold, Sphere) else None
    seg = _arclength(images)[-1] / (images.shape[0] - 1)
    _, g = chain.evaluate(images[1:-1])
    if step is not None:
        dt = _positive(step, "step")
    else:
        curvature = _largest_curvature(landscape, images)
        push = max(float(np.linalg.norm(g, axis=1).max()), 1e-300)
        dt = 1.0 / curvature if curvature else 0.01 * seg / push
    move = np.inf
    for it in range(1, max_iter + 1):
        if it > 1:
            _, g = chain.evaluate(images[1:-1])
        new = images.copy()
        new[1:-1] = chain.retract(images[1:-1] - dt * g)
        new = _redistribute(new, sphere)
        move = float(np.linalg.norm(new - images, axis=1).max()) / dt
        images = new
        if move <= tol:
            return _finish(chain, images, "string", move, it, True)
    return _finish(chain, images, "string", move, max_iter, False)
