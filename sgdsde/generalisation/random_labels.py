"""Memorisation: how fast SGD fits labels that carry less and less signal.

Zhang, Bengio, Hardt, Recht & Vinyals ("Understanding deep learning requires rethinking
generalization", ICLR 2017, arXiv:1611.03530, sections 2 and 5) train the same network on
true labels, on labels of which a fraction is replaced at random, and on random inputs; it
fits them all, more slowly the less structure there is, and its test accuracy falls to
chance as the corruption goes to 1.  Here:

* :func:`corrupt_labels` replaces the labels of a fraction ρ of the examples (chosen
  uniformly, exactly round(ρn) of them) by classes drawn uniformly from all k (so a
  replaced label keeps its true value with probability 1/k, as in Zhang et al.);
* :func:`random_pixels` applies an independent random permutation of the pixels to each
  input (Zhang et al.'s "random pixels");
* :func:`train_to_fit` trains an ensemble (one cloud, one seed) with :func:`sgdsde.sgd.run_sgd`,
  recording the training and test accuracy, and returns each run's number of steps to
  100 % training accuracy and its test accuracy then.

All randomness comes from :mod:`sgdsde.random`, keyed by the seed and the example index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._checks import real
from ..landscapes.base import check_cloud
from ..landscapes.mlp import MLP
from ..random import STREAM_USER, resolve_seed, uniforms
from ..sgd.minibatch import run_sgd

__all__ = ["corrupt_labels", "random_pixels", "accuracy", "FitResult", "train_to_fit"]

STREAM_CORRUPTION = STREAM_USER + 41  # which examples are corrupted, and their new labels
STREAM_PIXELS = STREAM_USER + 42  # the per-image pixel permutations


def _labels(labels, n_classes):
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be a vector of integer classes, got shape {y.shape}, dtype {y.dtype}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, n_classes = {n_classes})")
    return y.astype(np.int64)


def corrupt_labels(labels, fraction: float, n_classes: int, seed: int) -> np.ndarray:
    """Labels with a fraction ρ of them replaced by uniformly random classes.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
    fraction : float
        ρ in [0, 1]: exactly ``round(ρ n)`` examples, chosen uniformly, get a new label
        drawn uniformly from the ``n_classes`` classes (possibly their own).
    n_classes : int
        k >= 2.
    seed : int

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    y = _labels(labels, n_classes)
    rho = real(fraction, "fraction")
    if not (np.isfinite(rho) and 0.0 <= rho <= 1.0):
        raise ValueError(f"fraction (ρ) must lie in [0, 1], got {fraction}")
    n = y.size
    u = uniforms(resolve_seed(seed), np.arange(n), 0, 2, STREAM_CORRUPTION)
    chosen = np.argsort(u[:, 0], kind="stable")[:round(rho * n)]
    out = y.copy()
    out[chosen] = np.minimum((u[chosen, 1] * n_classes).astype(np.int64), n_classes - 1)
    return out


def random_pixels(inputs, seed: int) -> np.ndarray:
    """Each input with its own uniformly random permutation of the features, shape (n, p)."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"inputs must be a finite (n, p) matrix, got shape {x.shape}")
    u = uniforms(resolve_seed(seed), np.arange(x.shape[0]), 0, x.shape[1], STREAM_PIXELS)
    return np.take_along_axis(x, np.argsort(u, axis=1, kind="stable"), axis=1)


def accuracy(net: MLP, theta, inputs, labels) -> np.ndarray:
    """Fraction of ``inputs`` whose largest output is the label, per network: shape (M,).

    ``labels`` are integer classes in [0, n_outputs), one per input; anything else raises
    (a float or out-of-range label never equals an argmax and would count as an error), and
    so do non-finite outputs.
    """
    y = np.asarray(labels)
    logits = net.predict(theta, inputs)
    if y.shape != logits.shape[1:2]:
        raise ValueError(f"labels must have shape ({logits.shape[1]},), got {y.shape}")
    y = _labels(y, logits.shape[-1])
    if not np.all(np.isfinite(logits)):
        bad = np.flatnonzero(~np.all(np.isfinite(logits), axis=(1, 2)))
        raise ValueError(f"the outputs of network(s) {bad.tolist()} contain NaN or inf (non-finite theta or "
                         "inputs): their argmax is not a prediction")
    return np.mean(np.argmax(logits, axis=-1) == y, axis=1)


@dataclass(frozen=True)
class FitResult:
    """An ensemble trained towards 100 % training accuracy.

    Attributes
    ----------
    steps : ndarray, shape (R,)
        The recorded step numbers.
    train_accuracy, test_accuracy : ndarray, shape (R, M)
        Accuracy of each run at each record (test: NaN without a test set).
    loss : ndarray, shape (R, M)
        Full-batch training loss.
    steps_to_fit : ndarray, shape (M,)
        First recorded step with 100 % training accuracy; ``inf`` if never reached.
    test_accuracy_at_fit : ndarray, shape (M,)
        Test accuracy at that record (NaN where not fitted or without a test set).
    final : ndarray, shape (M, d)
        Parameters after the last step.
    """

    steps: np.ndarray
    train_accuracy: np.ndarray
    test_accuracy: np.ndarray
    loss: np.ndarray
    steps_to_fit: np.ndarray
    test_accuracy_at_fit: np.ndarray
    final: np.ndarray

    @property
    def fitted(self) -> np.ndarray:
        """Which runs reached 100 % training accuracy."""
        return np.isfinite(self.steps_to_fit)


def train_to_fit(net: MLP, theta0, *, lr: float, batch_size: int, n_steps: int, check_every: int,
                 seed: int, test=None, **sgd_options) -> FitResult:
    """Train an ensemble by minibatch SGD and record when each run fits its training set.

    Parameters
    ----------
    net : MLP
        A classifier (``loss="cross_entropy"``) holding the (possibly corrupted) training set.
    theta0 : array_like, shape (M, d)
        Initial parameters, one row per run (e.g. ``net.init_params(M, seed)``).
    lr, batch_size, n_steps :
        As in :func:`sgdsde.sgd.run_sgd`.
    check_every : int
        Record the accuracies every this many steps (the resolution of the steps to fit).
    seed : int
        Key of the batches.
    test : tuple (inputs, labels), optional
        A held-out set whose accuracy is recorded alongside.
    **sgd_options
        Passed to :func:`sgdsde.sgd.run_sgd` (``momentum``, ``sampling``, ...).
    """
    if not isinstance(net, MLP) or net.loss != "cross_entropy":
        raise ValueError("train_to_fit needs an MLP classifier (loss='cross_entropy')")
    theta0 = check_cloud(theta0, net.dim, "theta0")
    labels = net.targets
    observables = {"train_accuracy": lambda th: accuracy(net, th, net.inputs, labels)}
    if test is not None:
        test_x, test_y = test
        test_y = _labels(test_y, net.n_outputs)
        observables["test_accuracy"] = lambda th: accuracy(net, th, test_x, test_y)
    traj = run_sgd(net, theta0, lr=lr, batch_size=batch_size, n_steps=n_steps, seed=seed,
                   record_every=check_every, observables=observables, **sgd_options)
    train = traj.observables["train_accuracy"]
    test_acc = traj.observables.get("test_accuracy", np.full_like(train, np.nan))
    hit = train >= 1.0
    first = np.argmax(hit, axis=0)
    reached = hit.any(axis=0)
    steps = traj.steps.astype(np.float64)
    steps_to_fit = np.where(reached, steps[first], np.inf)
    at_fit = np.where(reached, test_acc[first, np.arange(train.shape[1])], np.nan)
    return FitResult(steps=traj.steps, train_accuracy=train, test_accuracy=test_acc,
                     loss=traj.observables["loss"], steps_to_fit=steps_to_fit, test_accuracy_at_fit=at_fit,
                     final=traj.final)
