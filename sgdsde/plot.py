"""Matplotlib helpers.

The plotting functions take ``ax=`` (a new figure if None) and return it.  The command-line
helpers give a figure-making script the options every example of ``examples/`` has —
``--smoke`` (tiny sizes, seconds) and ``--out`` (the folder of the figure) — and save its
figure as ``<stem>.png``, or ``<stem>_smoke.png`` for a smoke run, so that a smoke run never
overwrites a full-size figure.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ._paths import atomic_write, folder_argument

__all__ = [
    "atomic_write", "example_arguments", "example_parser", "folder_argument", "get_ax",
    "histogram_vs_density", "save_figure",
]


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


def example_parser(doc: str, *, script: str | Path) -> argparse.ArgumentParser:
    """The argument parser of a figure-making script, with ``--smoke`` and ``--out``.

    Parameters
    ----------
    doc : str
        The script's docstring; its first line is the description shown by ``--help``.
    script : str or Path
        The script's own path (``__file__``): ``--out`` defaults to the ``figures`` folder
        beside it, wherever the script is run from.

    Returns
    -------
    argparse.ArgumentParser
        ``--smoke`` (flag: tiny sizes for the test suite) and ``--out`` (a :class:`Path`,
        checked writable when parsed: :func:`sgdsde._paths.folder_argument`, also exported
        here for a script's own folder options); add the script's own options
        before parsing.
    """
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0] if doc and doc.strip() else None)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes for the test suite")
    parser.add_argument("--out", type=folder_argument("--out"), default=Path(script).parent / "figures",
                        help="folder of the figure (default: the figures folder beside the script)")
    return parser


def example_arguments(doc: str, argv: Sequence[str] | None = None, *, script: str | Path,
                      add_options: Callable[[argparse.ArgumentParser], object] | None = None
                      ) -> argparse.Namespace:
    """Parse a figure-making script's command line, and select the file-only Agg backend.

    Parameters
    ----------
    doc : str
        The script's docstring (first line: the ``--help`` description).
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).
    script : str or Path
        The script's path (``__file__``); ``--out`` defaults to ``figures/`` beside it.
    add_options : callable, optional
        ``add_options(parser)`` adds the script's own options to the parser of
        :func:`example_parser`.

    Returns
    -------
    argparse.Namespace
        With ``smoke`` (bool), ``out`` (Path) and the script's own options.

    Examples
    --------
    >>> args = example_arguments("My figure.", ["--smoke"], script="study/make_figure.py",
    ...                          add_options=lambda p: p.add_argument("--n", type=int, default=8))
    >>> args.smoke, args.out.name, args.n
    (True, 'figures', 8)
    """
    parser = example_parser(doc, script=script)
    if add_options is not None:
        add_options(parser)
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")  # figures go to files: no window, no display needed
    return args


def save_figure(fig, out: str | Path, stem: str, smoke: bool, *, dpi: float = 120) -> Path:
    """Write ``fig`` to ``out/<stem>.png``, or ``out/<stem>_smoke.png`` for a smoke run.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    out : str or Path
        The folder (created if missing).
    stem : str
        The file name without ``.png``, usually the script's name.
    smoke : bool
        A smoke run: the ``_smoke`` name, so a committed full-size figure is never overwritten.
    dpi : float
        Resolution (dots per inch).

    Returns
    -------
    Path
        The file written; its path is also printed (``figure: <path>``).
    """
    if not stem or "/" in stem or stem.endswith(".png"):
        raise ValueError(f"stem must be a bare file name without .png, got {stem!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / (f"{stem}_smoke.png" if smoke else f"{stem}.png")
    fig.savefig(path, dpi=dpi)
    print(f"figure: {path}")
    return path
