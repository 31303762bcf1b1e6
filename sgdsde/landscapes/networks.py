"""Small networks as landscapes: the empirical risk over a flat parameter vector.

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

Hessian-vector products are exact: closed forms for the generalised linear models and
Pearlmutter's R-operator (Neural Comput. 6, 147 (1994)) for the two-layer network.

Batches: ``idx=None`` means every example; an integer array of shape (b,) is one batch
shared by the whole cloud; shape (M, b) gives every particle its own batch (SGD ensembles).
"""

from __future__ import annotations

import numpy as np

from ..random import STREAM_USER, normals, resolve_seed
from .base import Landscape

__all__ = ["EmpiricalRisk", "LinearRegression", "LogisticRegression", "TwoLayerMLP"]

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

    def _batch(self, idx, n_particles: int, dtype):
        """Inputs and targets of a batch: ``(X (b,p) or (M,b,p), y (b,...) or (M,b,...))``."""
        x_all, y_all = self._data(dtype)
        if idx is None:
            return x_all, y_all
        idx = np.asarray(idx)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"idx must be an integer array, got dtype {idx.dtype}")
        if idx.ndim not in (1, 2) or (idx.ndim == 2 and idx.shape[0] != n_particles):
            raise ValueError(f"idx must have shape (b,) or (n_particles={n_particles}, b), got {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_examples):
            raise ValueError(f"idx must lie in [0, {self.n_examples}), the number of examples")
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
        return self.weighted_grad(theta, 1.0 / b, idx) + self.weight_decay * theta

    def energy(self, theta) -> np.ndarray:
        """Full-batch empirical risk f(θ), shape (M,)."""
        return self.per_example_loss(theta).mean(axis=1)

    def grad(self, theta) -> np.ndarray:
        """Full-batch gradient ∇f(θ), shape (M, d)."""
        theta = self._check(theta, "theta")
        return self.weighted_grad(theta, 1.0 / self.n_examples) + self.weight_decay * theta

    def hvp(self, theta, v) -> np.ndarray:
        """Exact Hessian-vector products ``∇²f(θ_m) v_m``, shape (M, d).

        Parameters
        ----------
        theta : array_like, shape (M, d)
        v : array_like, shape (M, d) or (d,)
            One direction per particle, or one shared by all.
        """
        theta = self._check(theta, "theta")
        v = np.asarray(v, dtype=theta.dtype)
        try:
            v = np.broadcast_to(v, theta.shape)
        except ValueError:
            raise ValueError(f"v must have shape {theta.shape} or ({self.dim},), got {v.shape}") from None
        x, y = self._data(theta.dtype)
        return self._hvp(theta, v, x, y) + self.weight_decay * v

    def hessian(self, theta) -> np.ndarray:
        """Full-batch Hessian, shape (M, d, d), from d Hessian-vector products.

        Costs d full-batch passes: meant for small d.
        """
        theta = self._check(theta, "theta")
        eye = np.eye(self.dim, dtype=theta.dtype)
        return np.stack([self.hvp(theta, eye[j]) for j in range(self.dim)], axis=2)

    # ------------------------------------------------------------------ model hooks
    def _per_example_loss(self, theta, x, y):
        raise NotImplementedError

    def _per_example_grads(self, theta, x, y):
        raise NotImplementedError

    def _weighted_grad(self, theta, x, y, w):
        raise NotImplementedError

    def _hvp(self, theta, v, x, y):
        raise NotImplementedError


def _linear_response(theta, x):
    """``z_mb = x_b · θ_m`` for shared (b, p) or per-particle (M, b, p) inputs: (M, b)."""
    if x.ndim == 2:
        return theta @ x.T
    return np.einsum("mbp,mp->mb", x, theta)


def _pull_back(r, x):
    """``Σ_b r_mb x_b``: (M, p)."""
    if x.ndim == 2:
        return r @ x
    return np.einsum("mb,mbp->mp", r, x)


class _GeneralizedLinear(EmpiricalRisk):
    """ℓ_i(θ) = φ(x_i·θ, y_i): linear and logistic regression share everything but φ."""

    def __init__(self, inputs, targets, weight_decay=0.0):
        super().__init__(inputs, targets, weight_decay)
        self.dim = self.inputs.shape[1]

    def _phi(self, z, y):  # (value, first, second derivative in z)
        raise NotImplementedError

    def _per_example_loss(self, theta, x, y):
        return self._phi(_linear_response(theta, x), y)[0]

    def _per_example_grads(self, theta, x, y):
        d1 = self._phi(_linear_response(theta, x), y)[1]
        return d1[:, :, None] * x

    def _weighted_grad(self, theta, x, y, w):
        d1 = self._phi(_linear_response(theta, x), y)[1]
        return _pull_back(w * d1, x)

    def _hvp(self, theta, v, x, y):
        d2 = self._phi(_linear_response(theta, x), y)[2]
        return _pull_back(d2 * (v @ x.T), x) / x.shape[0]

    def hessian(self, theta):
        """Full-batch Hessian ``Xᵀ diag(φ'') X / n + λ I``, shape (M, d, d)."""
        theta = self._check(theta, "theta")
        x, y = self._data(theta.dtype)
        d2 = self._phi(_linear_response(theta, x), y)[2]
        h = np.einsum("mb,bp,bq->mpq", d2, x, x) / x.shape[0]
        return h + self.weight_decay * np.eye(self.dim, dtype=theta.dtype)


class LinearRegression(_GeneralizedLinear):
    """Least squares ``ℓ_i(θ) = ½ (x_i·θ − y_i)²``; d = p (add a column of ones for a bias).

    Parameters
    ----------
    inputs : array_like, shape (n, p)
    targets : array_like, shape (n,)
    weight_decay : float
        λ ≥ 0.

    Notes
    -----
    The Hessian ``A = XᵀX/n + λI`` is constant, and the gradient noise at the minimiser θ*
    is that of the residuals: ``D(θ*) = (1/n) Σ_i r_i² x_i x_iᵀ`` (minus the mean gradient,
    zero at θ* without weight decay).  The exact stationary covariance of SGD on this
    model is :func:`sgdsde.sgd.stationary.sgd_stationary_covariance`.
    """

    def __init__(self, inputs, targets, weight_decay: float = 0.0):
        super().__init__(inputs, targets, weight_decay)
        if self.targets.ndim != 1:
            raise ValueError(f"targets must have shape (n,), got {self.targets.shape}")

    def _phi(self, z, y):
        r = z - y
        return 0.5 * r * r, r, np.ones_like(r)

    def minimizer(self) -> np.ndarray:
        """The least-squares (ridge) solution θ*, shape (d,), by ``scipy.linalg.lstsq``."""
        from scipy.linalg import lstsq, solve

        x, y = self.inputs, self.targets.astype(np.float64)
        if self.weight_decay:
            n = x.shape[0]
            return solve(x.T @ x / n + self.weight_decay * np.eye(self.dim), x.T @ y / n, assume_a="pos")
        return lstsq(x, y)[0]

    def __repr__(self):
        return f"LinearRegression(n={self.n_examples}, d={self.dim}, weight_decay={self.weight_decay})"


class LogisticRegression(_GeneralizedLinear):
    """Binary logistic regression ``ℓ_i(θ) = log(1 + e^{z_i}) − y_i z_i``, ``z_i = x_i·θ``.

    Parameters
    ----------
    inputs : array_like, shape (n, p)
    targets : array_like of {0, 1}, shape (n,)
    weight_decay : float
        λ ≥ 0 (on separable data λ > 0 keeps the minimiser finite).
    """

    def __init__(self, inputs, targets, weight_decay: float = 0.0):
        super().__init__(inputs, targets, weight_decay)
        t = np.asarray(self.targets, dtype=np.float64)
        if t.ndim != 1 or not np.all((t == 0) | (t == 1)):
            raise ValueError("targets must be a vector of 0/1 labels")
        self.targets = t

    def _phi(self, z, y):
        s = 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, overflow-free
        return np.logaddexp(0, z) - y * z, s - y, s * (1.0 - s)

    def __repr__(self):
        return f"LogisticRegression(n={self.n_examples}, d={self.dim}, weight_decay={self.weight_decay})"


class TwoLayerMLP(EmpiricalRisk):
    """A two-layer perceptron ``o(x) = W₂ σ(W₁ x + b₁) + b₂`` with tanh or ReLU σ.

    The flat parameter vector is ``[W₁ (h×p, row-major), b₁ (h), W₂ (k×h), b₂ (k)]``.

    Parameters
    ----------
    inputs : array_like, shape (n, p)
    targets : array_like
        Class labels in ``[0, n_outputs)``, shape (n,), for ``loss="cross_entropy"``;
        regression targets of shape (n,) (k = 1) or (n, k) for ``loss="mse"``.
    hidden : int
        Width h ≥ 1 of the hidden layer.
    activation : {"tanh", "relu"}
    loss : {"cross_entropy", "mse"}
        Softmax cross-entropy ``logsumexp(o) − o_y``, or ``½ |o − y|²``.
    n_outputs : int, optional
        k; by default the number of classes (cross-entropy) or of target columns (mse).
    weight_decay : float
        λ ≥ 0.

    Notes
    -----
    ReLU's second derivative is taken as zero (the kink is hit with probability zero), so
    its Hessian is that of the piecewise-quadratic network away from the kinks.
    """

    def __init__(self, inputs, targets, hidden: int = 16, activation: str = "tanh",
                 loss: str = "cross_entropy", n_outputs: int | None = None, weight_decay: float = 0.0):
        super().__init__(inputs, targets, weight_decay)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
        if loss not in ("cross_entropy", "mse"):
            raise ValueError(f"loss must be 'cross_entropy' or 'mse', got {loss!r}")
        if isinstance(hidden, bool) or not isinstance(hidden, (int, np.integer)) or hidden < 1:
            raise ValueError(f"hidden must be an integer >= 1, got {hidden!r}")
        y = self.targets
        if loss == "cross_entropy":
            if y.ndim != 1 or not np.all(y == np.round(y)) or y.min() < 0:
                raise ValueError("targets must be integer class labels >= 0 for cross_entropy")
            y = y.astype(np.int64)
            k = int(y.max()) + 1 if n_outputs is None else int(n_outputs)
            if k < 2 or y.max() >= k:
                raise ValueError(f"n_outputs must be >= 2 and exceed every label, got {k}")
        else:
            y = y.astype(np.float64).reshape(y.shape[0], -1)
            k = y.shape[1] if n_outputs is None else int(n_outputs)
            if k != y.shape[1]:
                raise ValueError(f"n_outputs = {k} does not match the {y.shape[1]} target column(s)")
        self.targets = y
        self.hidden, self.activation, self.loss, self.n_outputs = int(hidden), activation, loss, k
        p = self.inputs.shape[1]
        self._shapes = ((self.hidden, p), (self.hidden,), (k, self.hidden), (k,))
        self._sizes = [int(np.prod(s)) for s in self._shapes]
        self.dim = sum(self._sizes)

    def unflatten(self, theta):
        """Split (M, d) parameters into ``(W1 (M,h,p), b1 (M,h), W2 (M,k,h), b2 (M,k))``."""
        m = theta.shape[0]
        cuts = np.cumsum(self._sizes)[:-1]
        return tuple(part.reshape((m, *shape)) for part, shape in zip(np.split(theta, cuts, axis=1),
                                                                       self._shapes))

    @staticmethod
    def flatten(parts) -> np.ndarray:
        """Inverse of :meth:`unflatten`: (M, d)."""
        return np.concatenate([p.reshape(p.shape[0], -1) for p in parts], axis=1)

    def init_params(self, n_particles: int, seed: int | None = None, dtype=np.float64) -> np.ndarray:
        """Random initial weights (LeCun normal, zero biases), shape (n_particles, d).

        ``W₁ ~ N(0, 1/p)``, ``W₂ ~ N(0, 1/h)``, drawn from the counter-based generator so
        particle m gets the same weights whatever the cloud size.
        """
        z = normals(resolve_seed(seed), np.arange(int(n_particles)), 0, self.dim, STREAM_INIT)
        w1, b1, w2, b2 = self.unflatten(z)
        p = self.inputs.shape[1]
        parts = (w1 / np.sqrt(p), 0 * b1, w2 / np.sqrt(self.hidden), 0 * b2)
        return self.flatten(parts).astype(dtype)

    # ------------------------------------------------------------------ forward / backward
    def _act(self, a):
        """σ(a), σ'(a), σ''(a)."""
        if self.activation == "tanh":
            z = np.tanh(a)
            d1 = 1.0 - z * z
            return z, d1, -2.0 * z * d1
        pos = (a > 0).astype(a.dtype)
        return a * pos, pos, np.zeros_like(a)

    def _forward(self, theta, x):
        w1, b1, w2, b2 = self.unflatten(theta)
        a = x @ w1.transpose(0, 2, 1) + b1[:, None, :]  # (M, b, h)
        z, s1, s2 = self._act(a)
        o = z @ w2.transpose(0, 2, 1) + b2[:, None, :]  # (M, b, k)
        return (w1, b1, w2, b2), a, z, s1, s2, o

    def _output_loss(self, o, y):
        """Per-example loss (M, b), its gradient in o (M, b, k) and, for CE, the softmax."""
        if self.loss == "mse":
            r = o - y
            return 0.5 * np.sum(r * r, axis=-1), r, None
        shift = o.max(axis=-1, keepdims=True)
        e = np.exp(o - shift)
        total = e.sum(axis=-1, keepdims=True)
        prob = e / total
        onehot = np.arange(o.shape[-1]) == np.broadcast_to(y, o.shape[:-1])[..., None]
        loss = (shift + np.log(total))[..., 0] - np.sum(np.where(onehot, o, 0.0), axis=-1)
        return loss, prob - onehot, prob

    def _per_example_loss(self, theta, x, y):
        o = self._forward(theta, x)[-1]
        return self._output_loss(o, y)[0]

    def _weighted_grad(self, theta, x, y, w):
        (w1, b1, w2, b2), a, z, s1, s2, o = self._forward(theta, x)
        delta_o = w[:, :, None] * self._output_loss(o, y)[1]  # (M, b, k)
        delta_a = (delta_o @ w2) * s1  # (M, b, h)
        g_w2 = delta_o.transpose(0, 2, 1) @ z
        g_w1 = delta_a.transpose(0, 2, 1) @ x
        return self.flatten((g_w1, delta_a.sum(axis=1), g_w2, delta_o.sum(axis=1)))

    def _per_example_grads(self, theta, x, y):
        (w1, b1, w2, b2), a, z, s1, s2, o = self._forward(theta, x)
        delta_o = self._output_loss(o, y)[1]
        delta_a = (delta_o @ w2) * s1
        xb = np.broadcast_to(x, (*delta_a.shape[:2], x.shape[-1]))
        m, b = delta_a.shape[:2]
        parts = (np.einsum("mbh,mbp->mbhp", delta_a, xb).reshape(m, b, -1), delta_a,
                 np.einsum("mbk,mbh->mbkh", delta_o, z).reshape(m, b, -1), delta_o)
        return np.concatenate(parts, axis=2)

    def _hvp(self, theta, v, x, y):
        # Pearlmutter's R-operator: differentiate the forward and backward passes along v.
        (w1, b1, w2, b2), a, z, s1, s2, o = self._forward(theta, x)
        v1, c1, v2, c2 = self.unflatten(v)
        _, delta_o, prob = self._output_loss(o, y)
        r_a = x @ v1.transpose(0, 2, 1) + c1[:, None, :]
        r_z = s1 * r_a
        r_o = r_z @ w2.transpose(0, 2, 1) + z @ v2.transpose(0, 2, 1) + c2[:, None, :]
        if prob is None:
            r_delta_o = r_o
        else:  # Jacobian of the softmax: diag(p) − p pᵀ
            r_delta_o = prob * (r_o - np.sum(prob * r_o, axis=-1, keepdims=True))
        delta_z = delta_o @ w2
        r_delta_a = (r_delta_o @ w2 + delta_o @ v2) * s1 + delta_z * s2 * r_a
        n = x.shape[0]
        h_w2 = r_delta_o.transpose(0, 2, 1) @ z + delta_o.transpose(0, 2, 1) @ r_z
        h_w1 = r_delta_a.transpose(0, 2, 1) @ x
        return self.flatten((h_w1, r_delta_a.sum(axis=1), h_w2, r_delta_o.sum(axis=1))) / n

    def __repr__(self):
        return (f"TwoLayerMLP(n={self.n_examples}, p={self.inputs.shape[1]}, hidden={self.hidden}, "
                f"outputs={self.n_outputs}, activation={self.activation!r}, loss={self.loss!r}, "
                f"d={self.dim})")
