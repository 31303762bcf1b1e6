"""Uniform cell-centred grids in one or two dimensions, with reflecting or periodic walls.

A grid is a box ``[lower_a, upper_a)`` per axis cut into ``n_a`` cells of width
``h_a = (upper_a − lower_a) / n_a``.  Densities live at the cell centres, flattened in C
order (the last axis varies fastest), so that a density is either an array of shape
``grid.shape`` or a vector of length ``grid.size`` whose probabilities are
``p * grid.cell_volume``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Grid", "BOUNDARIES"]

BOUNDARIES = ("reflecting", "periodic")


@dataclass(frozen=True, init=False)
class Grid:
    """A uniform finite-volume grid in 1-D or 2-D.

    Parameters
    ----------
    bounds : (float, float) or sequence of two (float, float)
        ``(lower, upper)`` of the box in 1-D, or one such pair per axis in 2-D (length units
        of the particle positions).
    n_cells : int or (int, int)
        Number of cells per axis (at least 3); an int is used for every axis.
    boundary : {"reflecting", "periodic"} or sequence of them
        Wall condition per axis: reflecting walls carry no flux; periodic walls join the
        last cell of an axis to its first.

    Attributes
    ----------
    ndim : int
        1 or 2.
    lower, upper : tuple of float
        Box corners.
    shape : tuple of int
        Cells per axis.
    boundary : tuple of str
        Wall condition per axis.

    Examples
    --------
    >>> g = Grid((-2.5, 2.5), 500)
    >>> g.shape, g.spacing, g.cell_volume
    ((500,), (0.01,), 0.01)
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    shape: tuple[int, ...]
    boundary: tuple[str, ...]

    def __init__(self, bounds, n_cells, boundary="reflecting"):
        try:
            b = np.asarray(bounds, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("bounds must be (lower, upper) or a sequence of such pairs, "
                             f"got {bounds!r}") from None
        if b.ndim == 1:
            b = b[None, :]
        if b.ndim != 2 or b.shape[1] != 2:
            raise ValueError("bounds must be (lower, upper) or a sequence of such pairs, "
                             f"got shape {b.shape}")
        ndim = b.shape[0]
        if ndim not in (1, 2):
            raise ValueError(f"the Fokker–Planck grid supports 1 or 2 dimensions, got {ndim}")
        if not np.all(np.isfinite(b)) or np.any(b[:, 1] <= b[:, 0]):
            raise ValueError(f"bounds must be finite with lower < upper on every axis, got {b.tolist()}")
        n = np.asarray(n_cells)
        if n.ndim > 1 or n.size not in (1, ndim):
            raise ValueError(f"n_cells must be one integer or one per axis: bounds give {ndim} "
                             f"axis/axes, n_cells {n_cells!r} gives {n.size}")
        n = np.broadcast_to(n.ravel(), (ndim,))
        if n.dtype.kind not in "iu" or np.any(n < 3):
            raise ValueError(f"n_cells must be an integer >= 3 (or one per axis), got {n_cells!r}")
        walls = (boundary,) * ndim if isinstance(boundary, str) else tuple(boundary)
        if len(walls) != ndim or any(w not in BOUNDARIES for w in walls):
            raise ValueError(f"boundary must be one of {BOUNDARIES} (or one per axis), got {boundary!r}")
        object.__setattr__(self, "lower", tuple(float(v) for v in b[:, 0]))
        object.__setattr__(self, "upper", tuple(float(v) for v in b[:, 1]))
        object.__setattr__(self, "shape", tuple(int(v) for v in n))
        object.__setattr__(self, "boundary", walls)

    @property
    def ndim(self) -> int:
        """Number of axes, 1 or 2."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Total number of cells."""
        return math.prod(self.shape)

    @property
    def spacing(self) -> tuple[float, ...]:
        """Cell width h_a per axis."""
        return tuple((hi - lo) / n for lo, hi, n in zip(self.lower, self.upper, self.shape, strict=True))

    @property
    def cell_volume(self) -> float:
        """Product of the cell widths (length^ndim)."""
        return math.prod(self.spacing)

    @property
    def edges(self) -> tuple[np.ndarray, ...]:
        """Cell edges per axis, each of length ``n_a + 1`` (the histogram bins of the grid)."""
        return tuple(np.linspace(lo, hi, n + 1) for lo, hi, n in zip(self.lower, self.upper, self.shape,
                                                                         strict=True))

    @property
    def axes(self) -> tuple[np.ndarray, ...]:
        """Cell centres per axis, each of length ``n_a``."""
        return tuple(0.5 * (e[1:] + e[:-1]) for e in self.edges)

    @property
    def points(self) -> np.ndarray:
        """Cell centres as a cloud of shape ``(size, ndim)``, in C order."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def face_points(self, axis: int) -> np.ndarray:
        """Centres of the faces normal to ``axis`` that join two cells, shape ``(n_faces, ndim)``.

        The faces between cell ``i`` and ``i + 1`` along ``axis``, in the C order of an array
        whose ``axis`` has ``n_axis − 1`` entries (reflecting) or ``n_axis`` (periodic: the
        last face lies at ``upper``, between the last cell and the first).
        """
        centres = list(self.axes)
        c = centres[axis]
        h = self.spacing[axis]
        centres[axis] = c[:-1] + 0.5 * h if self.boundary[axis] == "reflecting" else c + 0.5 * h
        mesh = np.meshgrid(*centres, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1)

    def face_shape(self, axis: int) -> tuple[int, ...]:
        """Shape of the array of faces normal to ``axis`` (see :meth:`face_points`)."""
        shape = list(self.shape)
        if self.boundary[axis] == "reflecting":
            shape[axis] -= 1
        return tuple(shape)

    def integrate(self, values) -> float:
        """Midpoint-rule integral ``Σ values · cell_volume`` of cell values."""
        return float(np.sum(values) * self.cell_volume)

    def __repr__(self):
        box = " × ".join(f"[{lo:g}, {hi:g}]" for lo, hi in zip(self.lower, self.upper, strict=True))
        return f"Grid({box}, shape={self.shape}, boundary={self.boundary})"
