"""Matplotlib helpers.  Every function takes ``ax=`` (a new figure if None) and returns it."""

from __future__ import annotations

import numpy as np

__all__ = ["get_ax", "histogram_vs_density"]


def get_ax(ax=None, figsize=(5.0, 3.6)):
    """``ax`` itself, or the axes of a new figure (the non-interactive Agg backend is fine)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def histogram_vs_density(samples, x, density, *, bins=60, ax=None, label="particles",
                         density_label="exact", color=None):
    """A normalised histogram of 1-D ``samples`` over a density curve ``density(x)``.

    Parameters
    ----------
    samples : array_like, shape (n,)
    x, density : ndarray, shape (m,)
        Grid and density values (the same length units as the samples).
    """
    ax = get_ax(ax)
    ax.hist(np.ravel(samples), bins=bins, range=(x.min(), x.max()), density=True, alpha=0.45,
            color=color, label=label)
    ax.plot(x, density, color="k" if color is None else color, lw=1.6, label=density_label)
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    return ax
