"""End-to-end versus decomposition: the signal of an end-to-end gradient fades with the chain length.

Shalev-Shwartz, Shamir & Shammah ("Failures of gradient-based deep learning", ICML 2017,
arXiv:1703.07950, section 3) compare learning a composite target end to end with learning
its parts.  Here an example is k vectors ``x_1 … x_k ∈ R^p`` with primitive labels
``l_i = sign(w*·x_i)`` and the composite label their product ``y = Π_i l_i`` (a parity of k
hidden linear classifiers).  The model shares one unit ``f_w(x) = tanh(w·x)`` over the k
slots and predicts ``ŷ = Π_i f_w(x_i)``.

* end to end: ``ℓ = ½ (ŷ − y)²`` — only y is seen;
* decomposed: ``ℓ = (1/k) Σ_i ½ (f_w(x_i) − l_i)²`` — the primitive labels are seen.

Both are :class:`~sgdsde.landscapes.empirical_risk.EmpiricalRisk` landscapes over the
same parameters w ∈ R^p (:class:`ProductOfSigns`), so the library's gradient statistics
(:func:`sgdsde.measure.gradient_stats.signal_to_noise`) and minibatch SGD
(:func:`sgdsde.sgd.minibatch.run_sgd`) apply unchanged.  At a small random w the
end-to-end gradient is a product of k − 1 factors |f| ≪ 1 times a sum whose mean is
suppressed by the parity: its signal-to-noise ratio falls exponentially with k, while the
decomposed one does not depend on k.
"""

from __future__ import annotations

import numpy as np

from ..landscapes.empirical_risk import EmpiricalRisk
from ..random import STREAM_USER, normals, resolve_seed

__all__ = ["ProductOfSigns", "product_of_signs_data", "composite_accuracy"]

STREAM_DECOMPOSITION = STREAM_USER + 64
OBJECTIVES = ("end_to_end", "decomposed")


def product_of_signs_data(n: int, k: int, p: int, seed: int | None = 0, teacher=None):
    """n examples of k Gaussian vectors in R^p, the teacher w* and the labels.

    ``x_i ~ N(0, I/p)`` (|x_i| ≈ 1), ``w*`` a uniformly random unit vector times √p (so that
    ``w*·x_i`` has unit variance), ``l_i = sign(w*·x_i)``, ``y = Π_i l_i``.  Pass the
    ``teacher`` of a training set to draw a test set of the same task (then use another seed).

    Returns
    -------
    inputs : ndarray, shape (n, k·p)
        The k vectors of each example side by side.
    primitive : ndarray, shape (n, k)
        The labels l_i ∈ {±1}.
    composite : ndarray, shape (n,)
        y ∈ {±1}.
    teacher : ndarray, shape (p,)
    """
    for name, value in (("n", n), ("k", k), ("p", p)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    key = resolve_seed(seed)
    if teacher is None:
        teacher = normals(key, np.array([0]), 0, p, STREAM_DECOMPOSITION)[0]
        teacher *= np.sqrt(p) / np.linalg.norm(teacher)
    teacher = np.asarray(teacher, dtype=np.float64)
    if teacher.shape != (p,):
        raise ValueError(f"teacher must have shape (p,) = ({p},), got {teacher.shape}")
    if not (np.all(np.isfinite(teacher)) and np.any(teacher != 0)):
        raise ValueError("teacher must be finite and non-zero (its signs label the slots)")
    x = normals(key, np.arange(1, n + 1), 0, k * p, STREAM_DECOMPOSITION) / np.sqrt(p)
    primitive = np.sign(x.reshape(n, k, p) @ teacher)
    primitive[primitive == 0] = 1.0
    return x, primitive, np.prod(primitive, axis=1), teacher


class ProductOfSigns(EmpiricalRisk):
    """The shared-unit model ``ŷ = Π_i tanh(w·x_i)`` under the end-to-end or the decomposed loss.

    Parameters
    ----------
    inputs : array_like, shape (n, k·p)
    targets : array_like
        shape (n,) composite labels for ``objective="end_to_end"``; shape (n, k) primitive
        labels for ``objective="decomposed"``.
    k : int
        Number of slots (``inputs.shape[1]`` must be a multiple of k).
    objective : {"end_to_end", "decomposed"}
    weight_decay : float

    Notes
    -----
    Gradients are analytic; no Hessian is provided (``has_hessian = False``).
    """

    has_hessian = False

    def __init__(self, inputs, targets, k: int, objective: str = "end_to_end", weight_decay: float = 0.0):
        super().__init__(inputs, targets, weight_decay)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 or self.inputs.shape[1] % k:
            raise ValueError(f"k must be an integer >= 1 dividing the {self.inputs.shape[1]} input columns, "
                             f"got {k!r}")
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        want = (self.n_examples,) if objective == "end_to_end" else (self.n_examples, int(k))
        if self.targets.shape != want:
            raise ValueError(f"targets must have shape {want} for objective={objective!r}, "
                             f"got {self.targets.shape}")
        self.targets = self.targets.astype(np.float64)
        self.k, self.objective = int(k), objective
        self.dim = self.inputs.shape[1] // self.k

    def _slots(self, theta, x):
        """Units f (M, b, k) and the slot inputs (…, b, k, p)."""
        xs = x.reshape(*x.shape[:-1], self.k, self.dim)
        if x.ndim == 2:
            a = np.einsum("bkp,mp->mbk", xs, theta)
        else:
            a = np.einsum("mbkp,mp->mbk", xs, theta)
        return np.tanh(a), xs

    def _residual_weights(self, f, y):
        """Loss (M, b) and ∂ℓ/∂a_i (M, b, k) for each slot's pre-activation."""
        slope = 1.0 - f * f
        if self.objective == "decomposed":
            r = f - y
            return 0.5 * np.mean(r * r, axis=-1), r * slope / self.k
        yhat = np.prod(f, axis=-1)
        r = yhat - y
        others = np.stack([np.prod(np.delete(f, i, axis=-1), axis=-1) for i in range(self.k)], axis=-1)
        return 0.5 * r * r, (r[..., None] * others) * slope

    def _per_example_loss(self, theta, x, y):
        f, _ = self._slots(theta, x)
        return self._residual_weights(f, y)[0]

    def _per_example_grads(self, theta, x, y):
        f, xs = self._slots(theta, x)
        dl = self._residual_weights(f, y)[1]
        xs = np.broadcast_to(xs, (*dl.shape[:2], self.k, self.dim))
        return np.einsum("mbk,mbkp->mbp", dl, xs)

    def _weighted_grad(self, theta, x, y, w):
        f, xs = self._slots(theta, x)
        dl = self._residual_weights(f, y)[1] * w[..., None]
        if xs.ndim == 3:
            return np.einsum("mbk,bkp->mp", dl, xs)
        return np.einsum("mbk,mbkp->mp", dl, xs)

    def hvp(self, theta, v, batch=None):  # noqa: D102 - documented on the class
        raise NotImplementedError("ProductOfSigns has no Hessian-vector product (has_hessian = False)")

    def composite_prediction(self, theta, inputs=None) -> np.ndarray:
        """``ŷ = Π_i tanh(w·x_i)`` on the training inputs or on others (n', k·p): (M, n')."""
        theta = self._check(theta, "theta")
        x = self.inputs if inputs is None else np.asarray(inputs, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.k * self.dim:
            raise ValueError(f"inputs must have shape (n, {self.k * self.dim}), got {x.shape}")
        return np.prod(self._slots(theta, x.astype(theta.dtype))[0], axis=-1)

    def __repr__(self):
        return f"ProductOfSigns(n={self.n_examples}, k={self.k}, p={self.dim}, objective={self.objective!r})"


def composite_accuracy(model: ProductOfSigns, theta, inputs, composite) -> np.ndarray:
    """Fraction of examples with ``sign ŷ = y``, shape (M,).

    Parameters
    ----------
    model : ProductOfSigns
    theta : array_like, shape (M, p)
    inputs : array_like, shape (n, k·p)
    composite : array_like, shape (n,)
        The labels y ∈ {±1} of the inputs, one per input.
    """
    yhat = model.composite_prediction(theta, inputs)
    labels = np.asarray(composite)
    if labels.shape != yhat.shape[1:]:
        raise ValueError(f"composite must have shape (n,) = ({yhat.shape[1]},), one label per input, "
                         f"got {labels.shape}")
    return np.mean(np.sign(yhat) == labels[None, :], axis=1)
