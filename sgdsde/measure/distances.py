"""Distances between distributions: densities on a grid, and clouds of samples.

Grid densities (``p``, ``q`` of the same shape, values in inverse volume units) are compared
by the Kullback–Leibler divergence, the total-variation distance and, in 1-D, the
Wasserstein-1 distance.  Each comparison of a *histogram* with an exact density has a floor
set by the finite number of samples alone; :func:`sampling_noise_floor` measures it, so that
a simulated cloud can be said to match a density "to within sampling noise".  Two clouds
have their floor from :func:`permutation_noise_floor`: the distance between random halves
of the pooled samples, which is what the metric reads when both come from one law.

Two clouds of samples are compared by the k-nearest-neighbour KL estimator of Wang,
Kulkarni & Verdú (IEEE Trans. Inf. Theory 55, 2392 (2009)) and, in 1-D, by the exact
Wasserstein-1 distance of the empirical laws (`scipy.stats.wasserstein_distance`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special, stats
from scipy.spatial import cKDTree

from ..random import STREAM_USER, resolve_seed, uniforms

STREAM_SPLITS = STREAM_USER + 81  # the random splits of permutation_noise_floor

__all__ = [
    "kl_divergence_grid",
    "total_variation_grid",
    "wasserstein1_grid",
    "histogram_density",
    "sampling_noise_floor",
    "kl_divergence_knn",
    "wasserstein1",
    "permutation_noise_floor",
]


# ----------------------------------------------------------------------------- input checks
def _density(p, name: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(p < 0):
        raise ValueError(f"{name} must be >= 0 everywhere (a density)")
    return p


def _density_pair(p, q, cell_volume):
    p, q = _density(p, "p"), _density(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must be on the same grid, got shapes {p.shape} and {q.shape}")
    dv = np.asarray(cell_volume, dtype=np.float64)
    try:
        dv = np.broadcast_to(dv, p.shape)
    except ValueError:
        raise ValueError(f"cell_volume must be a scalar or broadcast to the grid shape {p.shape}, "
                         f"got shape {np.shape(cell_volume)}") from None
    if not (np.all(np.isfinite(dv)) and np.all(dv > 0)):
        raise ValueError("cell_volume must be finite and > 0")
    mass_p, mass_q = float(np.sum(p * dv)), float(np.sum(q * dv))
    if mass_p == 0 or mass_q == 0:
        raise ValueError("p and q must each have positive mass on the grid")
    return p / mass_p, q / mass_q, dv


def check_samples(samples, name: str = "samples", min_samples: int = 1) -> np.ndarray:
    """Return ``samples`` as a finite float64 array of shape (n, d), or raise.

    A 1-D array is read as n scalar samples, shape (n, 1).
    """
    x = np.asarray(samples)
    if x.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real array, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples,) or (n_samples, dim), got {x.shape}")
    if x.shape[0] < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples, got {x.shape[0]}")
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have dim >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def check_neighbours(k, n_points: int, name: str) -> int:
    """Return ``k`` as an int with ``1 <= k < n_points``, or raise naming the sample set."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if n_points <= k:
        raise ValueError(f"{name} has {n_points} points: a k = {k} nearest-neighbour estimate "
                         f"needs at least k + 1 = {k + 1}")
    return int(k)


def kth_neighbour_distance(points: np.ndarray, queries: np.ndarray, k: int, name: str,
                           same_cloud: bool) -> np.ndarray:
    """Distance from each query to its k-th nearest point (`cKDTree`), shape (n_queries,).

    With ``same_cloud`` the queries are the points themselves and each is skipped as its own
    neighbour.  A zero distance to the *nearest* neighbour (a duplicate point, whatever k)
    is an error: nearest-neighbour estimators assume a continuous law.
    """
    first = 2 if same_cloud else 1
    last = k + 1 if same_cloud else k
    orders = sorted({first, last})
    dist = cKDTree(points).query(queries, k=orders)[0]
    if np.any(dist[:, 0] <= 0):
        i = int(np.argmax(dist[:, 0] <= 0))
        what = "contains duplicate points" if same_cloud else "shares points with the queries"
        raise ValueError(f"{name} {what} (sample {i} has a neighbour at distance 0); "
                         "nearest-neighbour estimators need distinct points — remove duplicates "
                         "or add jitter smaller than the scale of interest")
    return dist[:, -1]


# ------------------------------------------------------------------------------ grid metrics
def kl_divergence_grid(p, q, cell_volume) -> float:
    """Kullback–Leibler divergence ``KL(p‖q) = ∫ p ln(p/q)`` of two densities on one grid.

    Parameters
    ----------
    p, q : array_like, same shape (any number of dimensions)
        Non-negative density values at the cell centres (inverse volume units).  Each is
        normalised to unit mass on the grid first, so truncated tails do not bias the result.
    cell_volume : float or array_like
        Volume of each cell (scalar for a uniform grid, or broadcastable to the grid shape).

    Returns
    -------
    float
        KL in nats, ``Σ p ln(p/q) ΔV`` with ``0 ln 0 = 0``; ``inf`` if q vanishes where
        p does not.
    """
    p, q, dv = _density_pair(p, q, cell_volume)
    # kl_div's terms p ln(p/q) − p + q are each ≥ 0 and sum to KL once both densities have
    # unit mass, so rounding cannot make the result negative (rel_entr's terms can, by ~1e-16).
    return float(np.sum(special.kl_div(p, q) * dv))


def total_variation_grid(p, q, cell_volume) -> float:
    """Total-variation distance ``½ ∫ |p − q|`` of two densities on one grid, in [0, 1].

    Parameters are those of :func:`kl_divergence_grid` (both densities are normalised).
    """
    p, q, dv = _density_pair(p, q, cell_volume)
    return float(0.5 * np.sum(np.abs(p - q) * dv))


def _cell_widths(x: np.ndarray) -> np.ndarray:
    # Width of the cell around each grid point: half-way to each neighbour.
    mid = 0.5 * (x[1:] + x[:-1])
    return np.diff(np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]]))


def wasserstein1_grid(p, q, x) -> float:
    """Wasserstein-1 distance ``∫ |F_p − F_q| dx`` of two 1-D densities on the grid ``x``.

    Parameters
    ----------
    p, q : array_like, shape (n,)
        Non-negative density values at the grid points (inverse length units).
    x : array_like, shape (n,)
        Strictly increasing grid points (length units); the cell of a point reaches half-way
        to its neighbours.

    Returns
    -------
    float
        W1 in length units, between the laws putting mass ``p_i Δx_i`` (normalised) on
        ``x_i``, computed by `scipy.stats.wasserstein_distance`.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"x must be a 1-D grid of at least 2 points, got shape {x.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.diff(x) > 0)):
        raise ValueError("x must be finite and strictly increasing")
    if np.shape(p) != x.shape or np.shape(q) != x.shape:
        raise ValueError(f"p and q must have the shape of x {x.shape}, got {np.shape(p)} and {np.shape(q)}")
    p, q, dv = _density_pair(p, q, _cell_widths(x))
    return float(stats.wasserstein_distance(x, x, p * dv, q * dv))


# ------------------------------------------------------------------------------- histograms
def _edges_tuple(edges, max_dims: int = 2) -> tuple[np.ndarray, ...]:
    if isinstance(edges, (tuple, list)) and len(edges) > 0 and np.ndim(edges[0]) == 1:
        out = tuple(np.asarray(e, dtype=np.float64) for e in edges)
    else:
        out = (np.asarray(edges, dtype=np.float64),)
    for i, e in enumerate(out):
        if e.ndim != 1 or e.size < 2:
            raise ValueError(f"edges[{i}] must be a 1-D array of at least 2 edges, got shape {e.shape}")
        if not (np.all(np.isfinite(e)) and np.all(np.diff(e) > 0)):
            raise ValueError(f"edges[{i}] must be finite and strictly increasing")
    if len(out) > max_dims:
        raise ValueError(f"histograms are 1-D or 2-D: give one or two edge arrays, got {len(out)}")
    return out


def _cell_volumes(edges: tuple[np.ndarray, ...]) -> np.ndarray:
    widths = [np.diff(e) for e in edges]
    return widths[0] if len(widths) == 1 else np.multiply.outer(widths[0], widths[1])


def histogram_density(samples, edges) -> np.ndarray:
    """Histogram estimate of a density on the cells between ``edges``.

    Parameters
    ----------
    samples : array_like, shape (n,) or (n, 1) for 1-D, (n, 2) for 2-D
        The sample positions.
    edges : array_like, shape (m + 1,), or a tuple of two such arrays
        Cell edges (strictly increasing); a tuple ``(edges_x, edges_y)`` for 2-D.

    Returns
    -------
    ndarray, shape (m,) or (m_x, m_y)
        ``count / (n ΔV)`` in each cell, with n the *total* number of samples: mass outside
        the edges is not redistributed, so each cell is an unbiased estimate of the mean
        density over it.
    """
    edges = _edges_tuple(edges)
    x = check_samples(samples, "samples")
    if x.shape[1] != len(edges):
        raise ValueError(f"samples have dim {x.shape[1]} but {len(edges)} edge array(s) were given")
    counts, _ = np.histogramdd(x, bins=edges)
    return counts / (x.shape[0] * _cell_volumes(edges))


_GRID_METRICS = ("kl", "tv", "w1")


def sampling_noise_floor(density, edges, n_samples: int, metric: str | Callable = "tv",
                         n_repeats: int = 200, seed: int = 0) -> tuple[float, float]:
    """The distance between an exact density and histograms of ``n_samples`` i.i.d. draws.

    A histogram of a perfect sampler does not reach distance 0 from the exact density: this
    is the floor below which a measured distance says nothing.  The exact law is taken
    piecewise constant on the cells, so the cell counts of a histogram are exactly
    multinomial; each repeat draws them with ``numpy.random.Generator.multinomial``.

    Parameters
    ----------
    density : array_like, shape (m,) or (m_x, m_y)
        Exact density at the cells of ``edges`` (normalised on the grid before drawing).
    edges : array_like or tuple of two
        Cell edges, as in :func:`histogram_density`.
    n_samples : int
        Sample size n ≥ 1 of each histogram.
    metric : {"kl", "tv", "w1"} or callable
        ``"kl"``: KL(histogram ‖ exact) (the direction that stays finite when cells are
        empty); ``"tv"``: total variation; ``"w1"``: Wasserstein-1 on the cell centres
        (1-D only).  A callable is called as ``metric(histogram, exact)`` on density arrays.
    n_repeats : int
        Number of histograms drawn (≥ 2).
    seed : int
        Seed of a private ``numpy.random.Generator`` (its multinomial; see the comment in
        the code).

    Returns
    -------
    mean, std : float
        Mean and standard deviation of the metric over the repeats.
    """
    edges = _edges_tuple(edges)
    volumes = _cell_volumes(edges)
    exact = _density(density, "density")
    if exact.shape != volumes.shape:
        raise ValueError(f"density must have one value per cell, shape {volumes.shape}, got {exact.shape}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 2:
        raise ValueError(f"n_repeats must be an integer >= 2, got {n_repeats!r}")
    if isinstance(metric, str):
        if metric not in _GRID_METRICS:
            raise ValueError(f"metric must be one of {_GRID_METRICS} or a callable, got {metric!r}")
        if metric == "w1" and len(edges) != 1:
            raise ValueError("metric 'w1' is defined for 1-D grids only")
        centres = 0.5 * (edges[0][1:] + edges[0][:-1])
        distance = {
            "kl": lambda h, e: kl_divergence_grid(h, e, volumes),
            "tv": lambda h, e: total_variation_grid(h, e, volumes),
            "w1": lambda h, e: wasserstein1_grid(h, e, centres),
        }[metric]
    elif callable(metric):
        distance = metric
    else:
        raise TypeError(f"metric must be one of {_GRID_METRICS} or a callable, got {type(metric).__name__}")

    mass = exact * volumes
    if mass.sum() <= 0:
        raise ValueError("density must have positive mass on the grid")
    probabilities = (mass / mass.sum()).ravel()
    # NumPy's Generator (seeded by seed, no global state) rather than sgdsde.random: its
    # multinomial costs O(cells) per histogram, counter-based uniforms O(n_samples) (1e5
    # samples in 1000 cells, 400 repeats: 0.04 s, against 80-160 ns per uniform, 3-6 s, for
    # the NumPy reference of the counter-based generator).
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(int(n_samples), probabilities, size=int(n_repeats))
    values = np.array([distance(c.reshape(volumes.shape) / (n_samples * volumes), exact)
                       for c in counts])
    return float(values.mean()), float(values.std(ddof=1))


# ---------------------------------------------------------------------------- sample metrics
def kl_divergence_knn(samples_p, samples_q, k: int = 1) -> float:
    """k-nearest-neighbour estimate of ``KL(p‖q)`` from samples of p and of q.

    Wang, Kulkarni & Verdú (2009)::

        KL ≈ (d/n) Σ_i ln(ν_k(i) / ρ_k(i)) + ln(m / (n − 1)),

    with ρ_k(i) the distance from x_i to its k-th neighbour among the other n − 1 samples of
    p, and ν_k(i) its distance to the k-th nearest of the m samples of q (`cKDTree`).

    Parameters
    ----------
    samples_p : array_like, shape (n, d) or (n,)
        Samples of p, n ≥ k + 1, all distinct.
    samples_q : array_like, shape (m, d) or (m,)
        Samples of q, m ≥ k, same d.
    k : int
        Neighbour order (larger k: smaller variance, larger bias).

    Returns
    -------
    float
        KL in nats.  Consistent as n, m → ∞; may be slightly negative for close laws.
    """
    xp = check_samples(samples_p, "samples_p")
    xq = check_samples(samples_q, "samples_q")
    if xp.shape[1] != xq.shape[1]:
        raise ValueError(f"samples_p and samples_q must have the same dimension, got "
                         f"{xp.shape[1]} and {xq.shape[1]}")
    n, d = xp.shape
    m = xq.shape[0]
    k = check_neighbours(k, n, "samples_p")
    if m < k:
        raise ValueError(f"samples_q has {m} points: a k = {k} nearest-neighbour estimate needs at least {k}")
    rho = kth_neighbour_distance(xp, xp, k, "samples_p", same_cloud=True)
    nu = kth_neighbour_distance(xq, xp, k, "samples_q", same_cloud=False)
    return float(d * np.mean(np.log(nu / rho)) + np.log(m / (n - 1)))


def wasserstein1(samples_a, samples_b) -> float:
    """Wasserstein-1 distance between the empirical laws of two 1-D samples.

    Parameters
    ----------
    samples_a, samples_b : array_like, shape (n,) / (m,) (or (n, 1) / (m, 1))
        Scalar samples (length units).

    Returns
    -------
    float
        ``∫ |F_a − F_b| dx`` of the empirical CDFs (`scipy.stats.wasserstein_distance`).
    """
    a = check_samples(samples_a, "samples_a")
    b = check_samples(samples_b, "samples_b")
    if a.shape[1] != 1 or b.shape[1] != 1:
        raise ValueError(f"wasserstein1 compares 1-D samples, got dims {a.shape[1]} and {b.shape[1]}")
    return float(stats.wasserstein_distance(a[:, 0], b[:, 0]))


_SAMPLE_METRICS = ("kl_knn", "w1")


def permutation_noise_floor(samples_a, samples_b, metric: str | Callable = "w1", n_repeats: int = 200,
                            seed: int = 0, k: int | None = None) -> tuple[float, float]:
    """The distance two clouds of these sizes show when both are drawn from one law.

    The two clouds are pooled and split at random into clouds of the original sizes, and
    the metric is evaluated on each split (a permutation null distribution).  A measured
    distance well above ``mean + a few std`` says the laws differ; one within it says the
    samples cannot tell them apart.

    Parameters
    ----------
    samples_a : array_like, shape (n,) or (n, d)
        First cloud.
    samples_b : array_like, shape (m,) or (m, d)
        Second cloud, same d.
    metric : {"w1", "kl_knn"} or callable
        ``"w1"``: :func:`wasserstein1` (1-D); ``"kl_knn"``: :func:`kl_divergence_knn` with
        neighbour order ``k``; a callable is called as ``metric(cloud_a, cloud_b)``.
    n_repeats : int
        Number of random splits (≥ 2).
    seed : int
        Key of the counter-based uniforms that order the pooled samples (split r is step r
        of stream :data:`STREAM_SPLITS`).
    k : int, optional
        Neighbour order of ``"kl_knn"`` (default 1); an error with any other metric, which
        would ignore it.

    Returns
    -------
    mean, std : float
        Mean and standard deviation of the metric over the splits.
    """
    a = check_samples(samples_a, "samples_a")
    b = check_samples(samples_b, "samples_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"samples_a and samples_b must have the same dimension, "
                         f"got {a.shape[1]} and {b.shape[1]}")
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, (int, np.integer)) or n_repeats < 2:
        raise ValueError(f"n_repeats must be an integer >= 2, got {n_repeats!r}")
    if k is not None and not (isinstance(metric, str) and metric == "kl_knn"):
        raise ValueError(f"k is the neighbour order of metric 'kl_knn'; metric {metric!r} would ignore "
                         f"k = {k!r}: leave k out")
    if isinstance(metric, str):
        if metric not in _SAMPLE_METRICS:
            raise ValueError(f"metric must be one of {_SAMPLE_METRICS} or a callable, got {metric!r}")
        k = 1 if k is None else k
        distance = wasserstein1 if metric == "w1" else (lambda p, q: kl_divergence_knn(p, q, k=k))
    elif callable(metric):
        distance = metric
    else:
        raise TypeError(f"metric must be one of {_SAMPLE_METRICS} or a callable, got {type(metric).__name__}")
    pooled = np.concatenate([a, b])
    n = a.shape[0]
    seed = resolve_seed(seed)
    values = []
    for split in range(int(n_repeats)):  # split r: the pooled samples sorted by uniform keys
        keys = uniforms(seed, np.array([split]), 0, pooled.shape[0], STREAM_SPLITS)[0]
        order = np.argsort(keys, kind="stable")
        values.append(distance(pooled[order[:n]], pooled[order[n:]]))
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1))
