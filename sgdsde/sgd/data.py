"""Data sets for the network landscapes: a teacher–student generator and the digits set.

The teacher–student data are drawn from the counter-based generator
(:mod:`sgdsde.random`), so example i is the same whatever n is.  The digits are
scikit-learn's bundled copy of the UCI optical digits (1797 images of 8×8 pixels, ten
classes), read from inside the installed package: no download, but scikit-learn is an
optional dependency (``pip install sgdsde[digits]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import boolean
from .._checks import positive as _positive
from .._extras import require
from ..random import STREAM_USER, normals, resolve_seed

__all__ = ["Dataset", "teacher_student", "load_digits"]

STREAM_FEATURES = STREAM_USER + 3
STREAM_LABEL_NOISE = STREAM_USER + 4
STREAM_TEACHER = STREAM_USER + 5


@dataclass(frozen=True)
class Dataset:
    """Inputs, targets and where they came from.

    Attributes
    ----------
    inputs : ndarray, shape (n, p)
    targets : ndarray, shape (n,)
        Real targets (regression) or integer labels (classification).
    teacher : ndarray or None
        The teacher's weights, shape (p,), for teacher–student data.
    description : str
    """

    inputs: np.ndarray
    targets: np.ndarray
    teacher: np.ndarray | None = None
    description: str = ""

    @property
    def n_examples(self) -> int:
        """Number of examples n."""
        return self.inputs.shape[0]


def _count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def teacher_student(n_examples: int, n_features: int, *, task: str = "regression",
                    label_noise: float = 0.5, seed: int | None = None) -> Dataset:
    """Gaussian inputs labelled by a random linear teacher.

    ``x_i ~ N(0, I_p)``, teacher ``w* ~ N(0, I_p / p)`` (so ``x·w*`` has unit variance) and

    * ``task="regression"``:     ``y_i = x_i·w* + label_noise · ε_i``;
    * ``task="classification"``: ``y_i = 1{x_i·w* + label_noise · ε_i > 0}`` (0/1 labels),

    with ε_i ~ N(0, 1).  Label noise keeps the gradient noise at the minimiser non-zero.

    Parameters
    ----------
    n_examples, n_features : int
        n ≥ 1 and p ≥ 1.
    task : {"regression", "classification"}
    label_noise : float
        Standard deviation of the label noise, ≥ 0.
    seed : int, optional
        The data set's seed (None: fresh).

    Returns
    -------
    Dataset
    """
    n = _count(n_examples, "n_examples")
    p = _count(n_features, "n_features")
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    label_noise = _positive(label_noise, "label_noise", allow_zero=True)
    seed = resolve_seed(seed)
    rows = np.arange(n)
    x = normals(seed, rows, 0, p, STREAM_FEATURES)
    teacher = normals(seed, np.arange(1), 0, p, STREAM_TEACHER)[0] / np.sqrt(p)
    signal = x @ teacher + label_noise * normals(seed, rows, 0, 1, STREAM_LABEL_NOISE)[:, 0]
    y = signal if task == "regression" else (signal > 0).astype(np.int64)
    return Dataset(x, y, teacher, f"teacher-student {task}, n={n}, p={p}, label noise {label_noise:g}")


def load_digits(n_examples: int | None = None, classes=None, *, center: bool = True) -> Dataset:
    """scikit-learn's bundled 8×8 handwritten digits, pixels scaled to [0, 1].

    Parameters
    ----------
    n_examples : int, optional
        Keep the first n examples (after the class selection); default all.
    classes : sequence of int, optional
        Integers: keep these digits only, relabelled 0, 1, ... in the given order (default all ten).
    center : bool
        Subtract the mean image (the per-pixel mean over the kept examples).

    Returns
    -------
    Dataset
        ``inputs`` of shape (n, 64), integer ``targets`` of shape (n,).

    Raises
    ------
    ImportError
        If scikit-learn (the optional extra ``digits``) is not installed.
    """
    center = boolean(center, "center")
    datasets = require("sklearn.datasets", "digits", "sgdsde.sgd.load_digits (scikit-learn)")
    bunch = datasets.load_digits()
    x = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    if classes is not None:
        given = list(classes)
        if not all(isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_)) for c in given):
            raise ValueError(f"classes must be >= 2 distinct digits in 0..9 (integers), got {given}")
        classes = [int(c) for c in given]
        if len(set(classes)) < 2 or not all(0 <= c <= 9 for c in classes):
            raise ValueError(f"classes must be >= 2 distinct digits in 0..9, got {classes}")
        keep = np.isin(y, classes)
        relabel = np.full(10, -1)
        relabel[classes] = np.arange(len(classes))
        x, y = x[keep], relabel[y[keep]]
    if n_examples is not None:
        n = _count(n_examples, "n_examples")
        if n > x.shape[0]:
            raise ValueError(f"n_examples must be <= {x.shape[0]} (the digits available), got {n}")
        x, y = x[:n], y[:n]
    if center:
        x = x - x.mean(axis=0)
    return Dataset(x, y, None, f"sklearn digits, n={x.shape[0]}, classes={classes or 'all'}")
