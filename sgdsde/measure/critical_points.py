"""Critical points of a landscape on its manifold: find, deduplicate, classify and count.

Search
------
Many starts (random, or snapshots of a Langevin run: :func:`random_starts`,
:func:`starts_along_dynamics`) are driven to ``|grad_sp H| ≤ tol`` in two phases, batched over
all starts at once:

1. **Riemannian Newton** with a trust radius: on the tangent space the step solves
   ``Hess_sp s = −grad_sp`` (a batched LU solve in an orthonormal tangent basis) and is
   shortened to at most ``trust_radius``; then the point is retracted onto the manifold.
   Plain Newton is attracted to critical points of every index, which is what counting needs
   (a minimiser would only find minima).
2. **Gradient-norm minimisation** for the starts Newton leaves unconverged: Levenberg–Marquardt
   on ``½|grad_sp H|²``, whose Riemannian gradient is ``Hess_sp grad_sp H``; the step
   ``−(Hess² + μ)⁻¹ Hess grad`` is a trust-region step on the squared gradient norm, with μ
   adapted per start (accepted steps shrink it, rejected ones grow it).  Its zeros are the
   critical points of every index; starts that stall at a non-zero local minimum of the
   gradient norm are reported as unconverged.

The search is written here rather than with ``scipy.optimize``: scipy's root finders and
trust-region minimisers take one point of flat space at a time, while thousands of starts on
a sphere are advanced together (one batched solve per iteration) and retracted after every
step; ``benchmarks/critical_points_finder.py`` compares the two.

Deduplication and symmetry
--------------------------
Converged points closer than ``dedup_tol`` are one critical point (single-linkage clusters
from ``scipy.spatial.cKDTree`` pairs and ``scipy.sparse.csgraph.connected_components``).  For a
landscape with ``H(−x) = ±H(x)`` (``parity = ±1``: pure p-spin has parity ``(−1)^p``) the
mirror ``−x`` of every critical point is one too, with the same index for even parity and
index ``d_t − k`` for odd parity (energy ``−u``; ``d_t`` is the dimension of the tangent
space, N − 1 on the sphere in R^N: the Hessian changes sign, so the k negative eigenvalues
become the d_t − k others); mirrors are added, and checked.

Classification and counts
-------------------------
The index is the number of negative eigenvalues of the Riemannian Hessian on the tangent space
(the sphere's normal direction is excluded, see :mod:`sgdsde.measure.spectra`).  Points with an
eigenvalue within ``eig_tol`` of zero are flagged ``degenerate``.  :func:`count_by_index`
histograms indices (and energies), :func:`discovery_curve` gives the number of distinct points
after each start, and :func:`unseen_probability` / :func:`chao1` say whether the search has
saturated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .._checks import integer
from .._checks import positive as _positive
from ..landscapes.base import Landscape, check_cloud
from ..manifolds import Euclidean, Sphere
from ..random import STREAM_USER, uniforms
from .spectra import _check_manifold, _require_hessian, riemannian_gradient, tangent_basis, tangent_hessian

STREAM_RANDOM_STARTS = STREAM_USER + 80  # uniform starts in a box (flat space)

__all__ = [
    "CriticalPoints",
    "find_critical_points",
    "random_starts",
    "starts_along_dynamics",
    "count_by_index",
    "discovery_curve",
    "unseen_probability",
    "chao1",
]


@dataclass(frozen=True)
class CriticalPoints:
    """Distinct critical points found from a set of starts.

    Attributes
    ----------
    x : ndarray, shape (K, d)
        The points, on the landscape's manifold.
    energy : ndarray, shape (K,)
        Landscape energy U (energy units; divide by N for the p-spin energy per spin).
    index : ndarray of int, shape (K,)
        Number of negative tangent Hessian eigenvalues (0: minimum).
    grad_norm : ndarray, shape (K,)
        ``|grad_sp H|`` at each point (≤ tol).
    eigenvalues : ndarray, shape (K, d_t)
        Tangent Hessian eigenvalues, ascending.
    degenerate : ndarray of bool, shape (K,)
        An eigenvalue within ``eig_tol`` of 0: the index is not reliable there.
    start_label : ndarray of int, shape (S,)
        For each start, the row of the point it converged to, or −1.
    mirror_label : ndarray of int, shape (S,)
        For each start, the row of its mirror point (−1 without parity or convergence).
    stats : dict
        ``n_starts``, ``n_converged``, ``n_newton``, ``n_fallback`` (starts converged in each
        phase), ``n_grad_evals``, ``n_hessian_evals``, ``wall_time`` (s), and the tolerances.
    """

    x: np.ndarray
    energy: np.ndarray
    index: np.ndarray
    grad_norm: np.ndarray
    eigenvalues: np.ndarray
    degenerate: np.ndarray
    start_label: np.ndarray
    mirror_label: np.ndarray
    stats: dict = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        """Number K of distinct critical points."""
        return int(self.x.shape[0])

    @property
    def discovery(self) -> np.ndarray:
        """Distinct points found after each start, shape (S,) (see :func:`discovery_curve`)."""
        return discovery_curve(self.start_label, self.mirror_label)

    def count_by_index(self, n_indices: int | None = None) -> np.ndarray:
        """Number of points of each index 0 … d_t, shape (n_indices,) (default d_t + 1)."""
        n = self.eigenvalues.shape[1] + 1 if n_indices is None else n_indices
        return count_by_index(self.index, n_indices=n)

    def __repr__(self):
        counts = ", ".join(f"{k}: {c}" for k, c in enumerate(self.count_by_index()) if c)
        return (f"CriticalPoints(n_points={self.n_points}, by index {{{counts}}}, "
                f"converged {self.stats.get('n_converged')}/{self.stats.get('n_starts')} starts)")


def _count(value, name: str, minimum: int) -> int:
    return integer(value, name, minimum)


def _scale(landscape: Landscape, x: np.ndarray) -> float:
    """A length scale of the search: the sphere's radius, or the spread of the starts."""
    if isinstance(landscape.manifold, Sphere):
        return landscape.manifold.radius
    spread = float(np.max(np.ptp(x, axis=0))) if x.shape[0] > 1 else 0.0
    return spread if spread > 0 else max(1.0, float(np.max(np.abs(x))))


class _Work:
    """Counts the gradient and Hessian evaluations of a search."""

    def __init__(self, landscape):
        self.landscape = landscape
        self.n_grad = 0
        self.n_hess = 0

    def grad(self, x):
        self.n_grad += x.shape[0]
        return riemannian_gradient(self.landscape, x).astype(np.float64, copy=False)

    def hessian(self, x):
        self.n_hess += x.shape[0]
        return tangent_hessian(self.landscape, x)


def _cap(step: np.ndarray, trust_radius: float) -> np.ndarray:
    norm = np.linalg.norm(step, axis=1)
    return step * np.minimum(1.0, trust_radius / np.maximum(norm, 1e-300))[:, None]


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a⁻¹ b`` for a batch of symmetric (m, t, t) matrices and (m, t) vectors.

    An LU solve (several times cheaper than ``eigh`` on small matrices); only if some matrix
    is exactly singular, the batch goes through the eigendecomposition with the zero
    eigenvalues replaced by the smallest representable scale (the step is then capped).
    """
    try:
        return np.linalg.solve(a, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(a)
        tiny = np.finfo(np.float64).eps * np.maximum(np.abs(w).max(axis=1, keepdims=True), 1.0)
        w = np.where(np.abs(w) < tiny, np.where(w < 0, -tiny, tiny), w)
        return np.einsum("mti,mi->mt", v, np.einsum("mti,mt->mi", v, b) / w)


def _newton(work, x, tol, trust_radius, max_steps):
    """Trust-radius Riemannian Newton; returns the points and a converged mask."""
    manifold = work.landscape.manifold
    done = np.zeros(x.shape[0], dtype=bool)
    active = np.arange(x.shape[0])
    for it in range(max_steps + 1):
        g = work.grad(x[active])
        ok = np.isfinite(g).all(axis=1)
        conv = ok & (np.linalg.norm(g, axis=1) <= tol)
        done[active[conv]] = True
        keep = ok & ~conv
        active, g = active[keep], g[keep]
        if active.size == 0 or it == max_steps:
            break
        h, basis = work.hessian(x[active])
        coeff = _solve(h, np.einsum("mdt,md->mt", basis, g))
        step = -np.einsum("mdt,mt->md", basis, coeff)
        x[active] = manifold.retract(x[active] + _cap(step, trust_radius))
    return x, done


def _gradient_norm_descent(work, x, tol, trust_radius, max_steps):
    """Levenberg–Marquardt on ½|grad|²; returns the points and a converged mask."""
    manifold = work.landscape.manifold
    g = work.grad(x)
    gnorm = np.linalg.norm(g, axis=1)
    alive = np.isfinite(gnorm)
    done = alive & (gnorm <= tol)
    active = np.flatnonzero(alive & ~done)
    mu = np.ones(x.shape[0])
    for it in range(max_steps):
        if active.size == 0:
            break
        xa, ga = x[active], g[active]
        h, basis = work.hessian(xa)
        h2 = h @ h
        scale = np.maximum(np.trace(h2, axis1=1, axis2=2) / h.shape[1], 1e-300)  # mean λ²
        if it == 0:  # start the damping at the Hessian's own scale
            mu[active] = scale
        eye = np.eye(h.shape[1])
        coeff = _solve(h2 + mu[active, None, None] * eye, np.einsum("mij,mj->mi", h,
                                                                    np.einsum("mdt,md->mt", basis, ga)))
        step = -np.einsum("mdt,mt->md", basis, coeff)
        x_try = manifold.retract(xa + _cap(step, trust_radius))
        g_try = work.grad(x_try)
        n_try = np.linalg.norm(g_try, axis=1)
        better = np.isfinite(n_try) & (n_try < gnorm[active])
        idx = active[better]
        x[idx], g[idx], gnorm[idx] = x_try[better], g_try[better], n_try[better]
        mu[idx] /= 3.0
        mu[active[~better]] *= 4.0
        done[idx[n_try[better] <= tol]] = True
        # a start whose damping has exploded sits at a non-zero minimum of |grad|
        stalled = mu[active] > 1e16 * scale
        active = active[~done[active] & ~stalled]
    return x, done


def _clusters(points: np.ndarray, radius: float) -> tuple[np.ndarray, int]:
    """Single-linkage clusters of points closer than ``radius``: labels and their number."""
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    n = points.shape[0]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    n_clusters, labels = connected_components(graph, directed=False)
    return labels, n_clusters


def find_critical_points(landscape: Landscape, starts: np.ndarray, *, tol: float = 1e-9,
                         max_newton_steps: int = 60, max_fallback_steps: int = 400,
                         trust_radius: float | None = None, dedup_tol: float | None = None,
                         eig_tol: float | None = None, parity: int | None = None) -> CriticalPoints:
    """Find, deduplicate and classify the critical points reached from many starts.

    Parameters
    ----------
    landscape : Landscape
        Conservative, with a Hessian, on a Euclidean or Sphere manifold.  On the sphere the
        landscape's ``riemannian_gradient``/``riemannian_hessian`` are used when present,
        otherwise the Euclidean ones are projected.
    starts : array_like, shape (S, d)
        Starting points (S ≥ 1); on the sphere they are first retracted onto it.
    tol : float
        Convergence when ``|grad_sp H| ≤ tol`` (energy units per length), > 0.
    max_newton_steps, max_fallback_steps : int
        Iteration budgets of the Newton phase and of the gradient-norm fallback (≥ 0).
    trust_radius : float, optional
        Longest step (length units); default a quarter of the search scale (the sphere's
        radius, or the spread of the starts in flat space).
    dedup_tol : float, optional
        Points closer than this are one point; default 1e-5 of the search scale.
    eig_tol : float, optional
        Tangent eigenvalues with ``|λ| ≤ eig_tol`` flag a point ``degenerate``; default 1e-6
        of the largest |λ| at that point.
    parity : {None, 1, -1}
        Declared symmetry ``H(−x) = parity · H(x)``; mirrors ``−x`` of the points found are
        then added (and checked to be critical).  Pure p-spin: ``(−1)**p``.

    Returns
    -------
    CriticalPoints
        Distinct points sorted by energy, with the per-start labels that give the discovery
        curve, and the work done in ``stats``.

    Raises
    ------
    ValueError
        For tol ≤ 0, no starts, a landscape without a Hessian or not conservative, or a
        declared parity that the landscape does not have.

    Examples
    --------
    >>> from sgdsde.landscapes.toy import MullerBrown
    >>> mb = MullerBrown()
    >>> x0 = random_starts(mb, 400, low=[-1.7, -0.6], high=[1.3, 2.2], seed=0)
    >>> cp = find_critical_points(mb, x0)
    >>> cp.count_by_index().tolist()
    [3, 2, 0]
    """
    _require_hessian(landscape)
    _check_manifold(landscape.manifold)
    tol = _positive(tol, "tol")
    max_newton_steps = _count(max_newton_steps, "max_newton_steps", 0)
    max_fallback_steps = _count(max_fallback_steps, "max_fallback_steps", 0)
    if parity not in (None, 1, -1):
        raise ValueError(f"parity must be None, 1 or -1, got {parity!r}")
    eig_tol = None if eig_tol is None else _positive(eig_tol, "eig_tol")
    starts = np.asarray(starts)
    if starts.ndim == 2 and starts.shape[0] == 0:
        raise ValueError("starts is empty: give at least one starting point, shape (S, d) with S >= 1")
    x = check_cloud(starts, landscape.dim, "starts").astype(np.float64, copy=True)
    if not np.all(np.isfinite(x)):
        raise ValueError("starts contains NaN or inf")
    x = landscape.manifold.retract(x)
    scale = _scale(landscape, x)
    trust_radius = 0.25 * scale if trust_radius is None else _positive(trust_radius, "trust_radius")
    dedup_tol = 1e-5 * scale if dedup_tol is None else _positive(dedup_tol, "dedup_tol")

    t_start = time.perf_counter()
    work = _Work(landscape)
    x, by_newton = _newton(work, x, tol, trust_radius, max_newton_steps)
    rest = np.flatnonzero(~by_newton)
    by_fallback = np.zeros_like(by_newton)
    if rest.size and max_fallback_steps:
        x_rest, conv = _gradient_norm_descent(work, x[rest], tol, trust_radius, max_fallback_steps)
        x[rest] = x_rest
        by_fallback[rest[conv]] = True
    converged = np.flatnonzero(by_newton | by_fallback)

    points = x[converged]
    if parity is not None and points.size:
        mirrors = -points
        g_mirror = np.linalg.norm(work.grad(mirrors), axis=1)
        if np.any(g_mirror > 10 * tol):
            raise ValueError(f"parity={parity} declared, but the mirror -x of a critical point has "
                             f"|grad| = {g_mirror.max():.3g} > 10 tol: the landscape lacks this symmetry")
        e_pts, e_mir = landscape.energy(points), landscape.energy(mirrors)
        if not np.allclose(e_mir, parity * e_pts, rtol=1e-8, atol=1e-10 * max(1.0, np.abs(e_pts).max())):
            raise ValueError(f"parity={parity} declared, but H(-x) != {parity} H(x) at the points found")
        points = np.concatenate([points, mirrors])

    start_label = np.full(x.shape[0], -1, dtype=np.int64)
    mirror_label = np.full(x.shape[0], -1, dtype=np.int64)
    d_t = tangent_basis(landscape.manifold, x[:1]).shape[2]
    if points.shape[0] == 0:
        empty = np.empty((0,), dtype=np.float64)
        return CriticalPoints(np.empty((0, landscape.dim)), empty, np.empty((0,), dtype=np.int64), empty,
                              np.empty((0, d_t)), np.empty((0,), dtype=bool), start_label, mirror_label,
                              _stats(x, by_newton, by_fallback, work, t_start, tol, dedup_tol, trust_radius))

    labels, n_clusters = _clusters(points, dedup_tol)
    gnorm = np.linalg.norm(work.grad(points), axis=1)
    # representative of each cluster: its member with the smallest gradient norm
    order = np.lexsort((gnorm, labels))
    first = np.ones(order.size, dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    rep = order[first]  # rep[c] is the representative of cluster c
    x_rep = points[rep]
    energy = np.asarray(landscape.energy(x_rep), dtype=np.float64)
    h, _ = work.hessian(x_rep)
    eigenvalues = np.linalg.eigvalsh(h)
    index = np.sum(eigenvalues < 0, axis=1)
    threshold = (1e-6 * np.abs(eigenvalues).max(axis=1) if eig_tol is None
                 else np.full(n_clusters, eig_tol))
    degenerate = np.min(np.abs(eigenvalues), axis=1) <= threshold

    by_energy = np.argsort(energy, kind="stable")
    rank = np.empty(n_clusters, dtype=np.int64)
    rank[by_energy] = np.arange(n_clusters)
    n_conv = converged.size
    start_label[converged] = rank[labels[:n_conv]]
    if parity is not None:
        mirror_label[converged] = rank[labels[n_conv:]]
    return CriticalPoints(
        x=x_rep[by_energy], energy=energy[by_energy], index=index[by_energy],
        grad_norm=gnorm[rep][by_energy], eigenvalues=eigenvalues[by_energy],
        degenerate=degenerate[by_energy], start_label=start_label, mirror_label=mirror_label,
        stats=_stats(x, by_newton, by_fallback, work, t_start, tol, dedup_tol, trust_radius),
    )


def _stats(x, by_newton, by_fallback, work, t_start, tol, dedup_tol, trust_radius):
    return {
        "n_starts": int(x.shape[0]), "n_converged": int(np.sum(by_newton | by_fallback)),
        "n_newton": int(by_newton.sum()), "n_fallback": int(by_fallback.sum()),
        "n_grad_evals": work.n_grad, "n_hessian_evals": work.n_hess,
        "wall_time": time.perf_counter() - t_start, "tol": tol, "dedup_tol": dedup_tol,
        "trust_radius": trust_radius,
    }


def random_starts(landscape: Landscape, n_starts: int, *, seed: int = 0, low=None, high=None) -> np.ndarray:
    """Random starting points for :func:`find_critical_points`, shape (n_starts, d).

    On the sphere: uniform on it.  In flat space: uniform in the box ``[low, high]`` (both
    required there; scalars or length-d vectors).

    Parameters
    ----------
    landscape : Landscape
    n_starts : int
        S ≥ 1.
    seed : int
        Key of the counter-based uniforms (flat space, stream :data:`STREAM_RANDOM_STARTS`)
        or of the manifold's counter-based sampler (sphere).
    low, high : float or array_like, optional
        The box, flat space only.
    """
    n_starts = _count(n_starts, "n_starts", 1)
    manifold = landscape.manifold
    _check_manifold(manifold)
    if isinstance(manifold, Euclidean):
        if low is None or high is None:
            raise ValueError("in flat space give the box: random_starts(..., low=, high=)")
        low = np.broadcast_to(np.asarray(low, dtype=np.float64), (landscape.dim,))
        high = np.broadcast_to(np.asarray(high, dtype=np.float64), (landscape.dim,))
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
            raise ValueError(f"the box needs finite low < high in every coordinate, got {low}, {high}")
        u = uniforms(seed, np.arange(n_starts), 0, landscape.dim, STREAM_RANDOM_STARTS)
        return low + (high - low) * u
    if low is not None or high is not None:
        raise ValueError("low/high define a box in flat space; on the sphere starts are uniform")
    return manifold.random(n_starts, landscape.dim, seed=seed)


def starts_along_dynamics(sde, x0: np.ndarray, *, dt: float, n_steps: int, every: int,
                          seed: int = 0, integrator=None) -> np.ndarray:
    """Snapshots of a Langevin run as starting points, shape (n_records · M, d).

    Low-temperature dynamics visits the low-energy critical points that uniform starts rarely
    reach; each recorded cloud (every ``every`` steps, the initial one excluded) is a batch of
    starts.

    Parameters
    ----------
    sde : LangevinSDE
        Overdamped dynamics on the landscape (temperature 0 is gradient descent).
    x0 : ndarray, shape (M, d)
        Initial cloud, on the manifold.
    dt : float
        Step (SDE time units).
    n_steps, every : int
        Length of the run and spacing of the snapshots (steps).
    seed : int
        Noise seed of :func:`~sgdsde.simulate.simulate`.
    integrator : Integrator, optional
        Default :class:`~sgdsde.integrators.EulerMaruyama`.
    """
    from ..integrators import EulerMaruyama
    from ..save import SaveAt
    from ..simulate import simulate

    n_steps = _count(n_steps, "n_steps", 1)
    every = _count(every, "every", 1)
    traj = simulate(sde, EulerMaruyama() if integrator is None else integrator, x0, dt=dt,
                    n_steps=n_steps, save=SaveAt(every=every, observables={"x": "position"}, start=False),
                    seed=seed, progress=False)
    return traj.observables["x"].reshape(-1, sde.dim)


def count_by_index(index, energy=None, energy_edges=None, n_indices: int | None = None) -> np.ndarray:
    """Numbers of critical points by index, and by energy band when edges are given.

    Parameters
    ----------
    index : array_like of int, shape (K,)
    energy : array_like, shape (K,), optional
        Finite energies (e.g. per spin) to bin with ``energy_edges``.
    energy_edges : array_like, shape (B + 1,), optional
        Increasing band edges; points outside all bands are not counted.
    n_indices : int, optional
        Length of the index axis (default ``max(index) + 1``).

    Returns
    -------
    ndarray of int, shape (n_indices,) or (n_indices, B)
    """
    index = np.asarray(index, dtype=np.int64)
    if index.ndim != 1 or np.any(index < 0):
        raise ValueError("index must be a 1-D array of integers >= 0")
    if n_indices is None:
        n = int(index.max()) + 1 if index.size else 0
    else:
        n = _count(n_indices, "n_indices", 1)
    if index.size and index.max() >= n:
        raise ValueError(f"n_indices = {n} is too small for index {int(index.max())}")
    if energy_edges is None:
        if energy is not None:
            raise ValueError("energy is only used together with energy_edges")
        return np.bincount(index, minlength=n)
    if energy is None:
        raise ValueError("energy_edges needs energy")
    edges = np.asarray(energy_edges, dtype=np.float64)
    energy = np.asarray(energy, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("energy_edges must be an increasing 1-D array of at least 2 edges")
    if energy.shape != index.shape:
        raise ValueError(f"energy must have the shape of index {index.shape}, got {energy.shape}")
    if not np.all(np.isfinite(energy)):
        raise ValueError("energy contains NaN or inf: such a point belongs to no band and would be "
                         "dropped from the counts silently")
    counts, _, _ = np.histogram2d(index, energy, bins=[np.arange(n + 1) - 0.5, edges])
    return counts.astype(np.int64)


def _labels_by_start(start_label, mirror_label=None):
    start_label = np.asarray(start_label, dtype=np.int64)
    if start_label.ndim != 1:
        raise ValueError("start_label must be 1-D, one entry per start")
    if mirror_label is None:
        return start_label[:, None]
    mirror_label = np.asarray(mirror_label, dtype=np.int64)
    if mirror_label.shape != start_label.shape:
        raise ValueError("mirror_label must have the shape of start_label")
    return np.stack([start_label, mirror_label], axis=1)


def discovery_curve(start_label, mirror_label=None) -> np.ndarray:
    """Distinct critical points found after the first s starts, s = 1 … S.

    A curve that has gone flat says that more starts of the same kind would find little new.

    Parameters
    ----------
    start_label : array_like of int, shape (S,)
        Point reached by each start, −1 if none (``CriticalPoints.start_label``).
    mirror_label : array_like of int, shape (S,), optional
        Mirror point credited to each start.

    Returns
    -------
    ndarray of int, shape (S,)
    """
    per_start = _labels_by_start(start_label, mirror_label)
    n_starts = per_start.shape[0]
    found = per_start.ravel()
    start_of = np.repeat(np.arange(n_starts), per_start.shape[1])
    ok = found >= 0
    first_start = np.full(int(found.max()) + 1 if ok.any() else 0, n_starts)
    np.minimum.at(first_start, found[ok], start_of[ok])
    return np.cumsum(np.bincount(first_start, minlength=n_starts + 1)[:n_starts])


def _frequencies(start_label):
    labels = np.asarray(start_label, dtype=np.int64)
    if labels.ndim != 1:
        raise ValueError("start_label must be 1-D, one entry per start")
    labels = labels[labels >= 0]
    return labels.size, np.bincount(labels) if labels.size else np.zeros(0, dtype=np.int64)


def unseen_probability(start_label) -> float:
    """Good–Turing estimate of the chance that one more start finds a new point.

    ``f₁ / n``: the fraction of the n converged starts whose point was reached only once
    (I. J. Good, Biometrika 40, 237 (1953)).  Zero for a saturated search.  Only the starts'
    own points count (not mirrors), since a mirror is found together with its partner.
    """
    n, freq = _frequencies(start_label)
    if n == 0:
        return 1.0
    return float(np.sum(freq == 1)) / n


def chao1(start_label) -> float:
    """Chao1 lower-bound estimate of the number of points reachable by such starts.

    ``S_obs + f₁² / (2 f₂)`` (bias-corrected ``S_obs + f₁(f₁ − 1)/2`` when f₂ = 0), with
    ``f_j`` the number of points reached by exactly j starts (A. Chao, Scand. J. Stat. 11, 265
    (1984)).  Written out here because it is two lines; no dependency carries it alone.
    Mirrors are not included: double the result under a declared parity.
    """
    _, freq = _frequencies(start_label)
    seen = freq[freq > 0]
    f1, f2 = np.sum(seen == 1), np.sum(seen == 2)
    if f2 > 0:
        return float(seen.size + f1 * f1 / (2.0 * f2))
    return float(seen.size + f1 * (f1 - 1) / 2.0)
