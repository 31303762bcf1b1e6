"""Counting the outliers of a spectrum: the eigenvalues standing apart from its bulk.

Rule (the largest relative gap)
-------------------------------
Sort the given top eigenvalues ``λ_1 ≥ λ_2 ≥ … ≥ λ_K > 0`` and take the count

    k* = argmax_{1 ≤ k < K} λ_k / λ_{k+1},

the number of eigenvalues above the widest gap on a logarithmic scale.  Why relative gaps:
the bulk of a Hessian or covariance spectrum near its upper edge has eigenvalue spacings that
shrink like the distance to the edge to the power 2/3 (the Tracy–Widom scaling of a square-root
edge), so consecutive ratios inside the bulk tend to 1 as the dimension grows, while an outlier
at a fixed distance above the edge keeps a ratio ``λ_k/λ_{k+1} > 1`` of order one.  The ratio,
unlike the difference, does not depend on the units of the Hessian.  For a sample covariance
with Marchenko–Pastur bulk edge ``(1 + √γ)²`` (aspect ratio γ = d/n) and a spike of strength
θ above the BBP threshold √γ (Baik, Ben Arous & Péché 2005), the spike sits at
``(1 + θ)(1 + γ/θ)`` (Baik & Silverstein 2006), which :func:`count_outliers` is tested on.

The rule needs K > k*: pass at least a few eigenvalues beyond the expected count (the examples
use 2C + 5 for C classes).  It always returns a count ≥ 1, so the returned ratio is the
evidence: a ratio near 1 means no group stands out.  Non-positive eigenvalues are dropped (a
ratio across zero means nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["OutlierCount", "count_outliers"]


@dataclass(frozen=True)
class OutlierCount:
    """The outliers of a spectrum by the largest relative gap.

    Attributes
    ----------
    count : int
        Number of eigenvalues above the largest gap, k*.
    ratio : float
        The gap ``λ_{k*} / λ_{k*+1}`` (≥ 1; near 1 means no outlier group stands out).
    runner_up : float
        The second-largest ratio among the others, so ``ratio / runner_up`` says how clearly
        the chosen gap wins.
    eigenvalues : ndarray, shape (K,)
        The positive eigenvalues used, descending.
    """

    count: int
    ratio: float
    runner_up: float
    eigenvalues: np.ndarray


def count_outliers(eigenvalues, *, max_count: int | None = None) -> OutlierCount:
    """Number of eigenvalues above the largest relative gap ``λ_k/λ_{k+1}`` (module docstring).

    Parameters
    ----------
    eigenvalues : array_like, shape (K,)
        The top eigenvalues of a spectrum, in any order; non-positive ones are ignored.
    max_count : int, optional
        Look for the gap only among k ≤ max_count (default: every k < K).

    Returns
    -------
    OutlierCount

    Raises
    ------
    ValueError
        If fewer than three eigenvalues are positive, any is NaN or infinite, or max_count is
        not an integer in [1, K − 1].
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim != 1:
        raise ValueError(f"eigenvalues must be one-dimensional, got shape {lam.shape}")
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues contain NaN or infinite values")
    lam = np.sort(lam[lam > 0])[::-1]
    if lam.size < 3:
        raise ValueError(f"need at least 3 positive eigenvalues to find a gap, got {lam.size}")
    ratios = lam[:-1] / lam[1:]
    if max_count is not None:
        if isinstance(max_count, bool) or not isinstance(max_count, int | np.integer) \
                or not 1 <= max_count <= ratios.size:
            raise ValueError(f"max_count must be an integer in [1, {ratios.size}], got {max_count!r}")
        ratios = ratios[:max_count]
    k = int(np.argmax(ratios))
    others = np.delete(ratios, k)
    runner_up = float(others.max()) if others.size else 1.0
    return OutlierCount(count=k + 1, ratio=float(ratios[k]), runner_up=runner_up, eigenvalues=lam)
