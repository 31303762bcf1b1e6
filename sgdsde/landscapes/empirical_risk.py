"""The empirical risk over a flat parameter vector: the contract every network landscape keeps.

Each model is a :class:`~sgdsde.landscapes.base.Landscape` whose points are parameter
vectors θ ∈ R^d, batched over a cloud of M parameter vectors, shape (M, d).  The
landscape is the empirical risk

    f(θ) = (1/n) Σ_i ℓ_i(θ) + (λ/2) |θ|²,

with ℓ_i the loss of example i and λ ≥ 0 the weight decay; the per-example losses are
``f_i = ℓ_i + (λ/2)|θ|²``, so that f is their mean and the weight decay adds nothing to the
gradient noise.  Gradients are analytic (no autodiff dependency) and written once as a
*weighted* gradient ``Σ_j w_j ∇ℓ_{i_j}(θ)``: the full-batch gradient (w = 1/n), a minibatch
gradient (w = 1/B on the batch) and a Jacobian-transpose product ``Jᵀξ`` (w = ξ, used by
the SGD noise, :mod:`sgdsde.sgd.noise`) are all the same vectorised call, and none of them
forms the (M, n, d) per-example gradient array.  That array is available too
(:meth:`EmpiricalRisk.per_example_grads`) for diagnostics on small problems.

Batches: ``idx=None`` (``batch=None`` for the Hessian) means every example; an integer
array of shape (b,) is one batch shared by the whole cloud; shape (M, b) gives every
particle its own batch (SGD ensembles).

The models live in :mod:`sgdsde.landscapes.networks` (linear and logistic regression) and
:mod:`sgdsde.landscapes.mlp` (perceptrons of any depth).
"""

from __future__ import annotations

import numpy as np

from ..random import STREAM_USER
from .base import Landscape

__all__ = ["EmpiricalRisk", "STREAM_INIT"]

STREAM_INIT = STREAM_USER + 2  # initial network weights


def _finite_matrix(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array (n_examples, n_features), "
                         f"got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _targets(y, n: int, name: str = "y") -> np.ndarray:
    y = np.asarray(y)
    if y.dtype.kind not in "iufb":
        raise TypeError(f"{name} must be numeric, got dtype {y.dtype}")
    if y.shape[:1] != (n,):
        raise ValueError(f"{name} must have one entry per example: shape ({n}, ...), got {y.shape}")
    if not np.all(np.isfinite(y.astype(np.float64))):
        raise ValueError(f"{name} contains NaN or inf")
    return y


class EmpiricalRisk(Landscape):
    """Base class: the mean per-example loss of a model over a data set (module docstring).

    Subclasses implement ``_weighted_grad``, ``_per_example_loss``, ``_per_example_grads``
    and ``_hvp`` on arrays already checked; this class does the checks, the batches and the
    weight decay.

    Attributes
    ----------
    inputs : ndarray, shape (n, p)
        The examples' features.
    targets : ndarray, shape (n,) or (n, k)
        The examples' labels or regression targets.
    weight_decay : float
        λ ≥ 0.
    dim : int
        Number of parameters d.
    """

    def __init__(self, inputs, targets, weight_decay: float = 0.0):
        self.inputs = _finite_matrix(inputs, "inputs")
        self.targets = _targets(targets, self.inputs.shape[0], "targets")
        weight_decay = float(weight_decay)
        if not (np.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay}")
        self.weight_decay = weight_decay
        self._cast_cache: dict = {}

    @property
    def n_examples(self) -> int:
        """Number of examples n in the data set."""
        return self.inputs.shape[0]

    # ------------------------------------------------------------------ input handling
    def _data(self, dtype):
        if dtype not in self._cast_cache:
            y = self.targets if self.targets.dtype.kind in "iub" else self.targets.astype(dtype)
            self._cast_cache[dtype] = (self.inputs.astype(dtype), y)
        return self._cast_cache[dtype]

    def _batch(self, idx, n_particles: int, dtype, name: str = "idx"):
        """Inputs and targets of a batch: ``(X (b,p) or (M,b,p), y (b,...) or (M,b,...))``."""
        x_all, y_all = self._data(dtype)
        if idx is None:
            return x_all, y_all
        idx = np.asarray(idx)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array, got dtype {idx.dtype}")
        if idx.ndim not in (1, 2) or (idx.ndim == 2 and idx.shape[0] != n_particles):
            raise ValueError(f"{name} must have shape (b,) or (n_particles={n_particles}, b), "
                             f"got {idx.shape}")
        if idx.shape[-1] == 0:
            raise ValueError(f"{name} must hold at least one example, got shape {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_examples):
            raise ValueError(f"{name} must lie in [0, {self.n_examples}), the number of examples")
        return x_all[idx], y_all[idx]

    def _weights(self, weights, shape, dtype) -> np.ndarray:
        w = np.asarray(weights, dtype=dtype)
        try:
            return np.broadcast_to(w, shape)
        except ValueError:
            raise ValueError(f"weights must broadcast to (n_particles, batch) = {shape}, "
                             f"got shape {w.shape}") from None

    def _n_batch(self, idx) -> int:
        return self.n_examples if idx is None else np.asarray(idx).shape[-1]

    # ------------------------------------------------------------------ public API
    def per_example_loss(self, theta, idx=None) -> np.ndarray:
        """Per-example losses ``f_i(θ)`` of a batch, shape (M, b).

        Parameters
        ----------
        theta : array_like, shape (M, d)
            A cloud of parameter vectors.
        idx : array_like of int, shape (b,) or (M, b), optional
            The examples (default: all n).
        """
        theta = self._check(theta, "theta")
        x, y = self._batch(idx, theta.shape[0], theta.dtype)
        loss = self._per_example_loss(theta, x, y)
        if self.weight_decay:
            loss = loss + (0.5 * self.weight_decay * np.sum(theta * theta, axis=1))[:, None]
        return loss

    def per_example_grads(self, theta, idx=None) -> np.ndarray:
        """Per-example gradients ``∇f_i(θ)`` of a batch in one vectorised call, (M, b, d).

        Memory grows as M·b·d: meant for small problems and diagnostics; the dynamics use
        :meth:`weighted_grad`, which never forms this array.
        """
        theta = self._check(theta, "theta")
        x, y = self._batch(idx, theta.shape[0], theta.dtype)
        g = self._per_example_grads(theta, x, y)
        if self.weight_decay:
            g = g + self.weight_decay * theta[:, None, :]
        return g

    def weighted_grad(self, theta, weights, idx=None) -> np.ndarray:
        """``Σ_j w_j ∇ℓ_{i_j}(θ)`` over a batch, without weight decay, shape (M, d).

        With ``w = ξ`` this is the Jacobian-transpose product ``Jᵀξ`` of the per-example
        gradient matrix J (n, d), computed matrix-free.

        Parameters
        ----------
        theta : array_like, shape (M, d)
        weights : array_like, broadcastable to (M, b)
            One weight per particle and example of the batch.
        idx : array_like of int, shape (b,) or (M, b), optional
            The examples (default: all n).
        """
        theta = self._check(theta, "theta")
        x, y = self._batch(idx, theta.shape[0], theta.dtype)
        w = self._weights(weights, (theta.shape[0], self._n_batch(idx)), theta.dtype)
        return self._weighted_grad(theta, x, y, w)

    def batch_grad(self, theta, idx) -> np.ndarray:
        """Minibatch gradient ``(1/b) Σ_j ∇f_{i_j}(θ)``, shape (M, d)."""
        theta = self._check(theta, "theta")
        b = self._n_batch(idx)
        return self._add_weight_decay(self.weighted_grad(theta, 1.0 / b, idx), theta)

    def energy(self, theta) -> np.ndarray:
        """Full-batch empirical risk f(θ), shape (M,)."""
        return self.per_example_loss(theta).mean(axis=1)

    def grad(self, theta) -> np.ndarray:
        """Full-batch gradient ∇f(θ), shape (M, d)."""
        theta = self._check(theta, "theta")
        return self._add_weight_decay(self.weighted_grad(theta, 1.0 / self.n_examples), theta)

    def _add_weight_decay(self, g, theta):
        """``g + λ θ``, or g itself when λ = 0.

        Skipping the zero term spares the product and the sum, two passes over the (M, d)
        cloud per gradient: 3.8 ms (float64) of the 90-120 ms of a batched MLP gradient in
        benchmarks/mlp.py.  g is not written in place: a model hook may return a read-only
        array (JAX).
        """
        return g + self.weight_decay * theta if self.weight_decay else g

    def hvp(self, theta, v, batch=None) -> np.ndarray:
        """Exact Hessian-vector products ``∇²f_B(θ_m) v_m``, shape (M, d).

        ``f_B`` is the mean loss over the batch (all n examples by default) plus the weight
        decay, so ``hvp(θ, v)`` is the full-batch Hessian times v.

        Parameters
        ----------
        theta : array_like, shape (M, d)
        v : array_like, shape (M, d) or (d,)
            One direction per particle, or one shared by all.
        batch : array_like of int, shape (b,) or (M, b), optional
            The examples (default: all n), as ``idx`` in :meth:`batch_grad`.
        """
        theta = self._check(theta, "theta")
        v = np.asarray(v, dtype=theta.dtype)
        try:
            v = np.broadcast_to(v, theta.shape)
        except ValueError:
            raise ValueError(f"v must have shape {theta.shape} or ({self.dim},), got {v.shape}") from None
        x, y = self._batch(batch, theta.shape[0], theta.dtype, "batch")
        return self._hvp(theta, v, x, y) + self.weight_decay * v

    def hessian(self, theta, batch=None) -> np.ndarray:
        """Hessian of the full-batch (or batch) risk, shape (M, d, d), from d Hessian-vector products.

        Costs d passes over the batch: meant for small d.
        """
        theta = self._check(theta, "theta")
        eye = np.eye(self.dim, dtype=theta.dtype)
        return np.stack([self.hvp(theta, eye[j], batch) for j in range(self.dim)], axis=2)

    # ------------------------------------------------------------------ model hooks
    def _per_example_loss(self, theta, x, y):
        raise NotImplementedError

    def _per_example_grads(self, theta, x, y):
        raise NotImplementedError

    def _weighted_grad(self, theta, x, y, w):
        raise NotImplementedError

    def _hvp(self, theta, v, x, y):
        raise NotImplementedError
