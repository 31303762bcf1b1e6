"""Multilayer perceptrons of any depth over a flat parameter vector.

The network with hidden widths ``(n_1, …, n_{L-1})`` maps an input x ∈ R^p to the output
o ∈ R^k by

    h_0 = x,   a_l = W_l h_{l-1} + b_l,   h_l = σ_l(a_l)  (l < L),   o = a_L,

with W_l of shape (n_l, n_{l-1}), n_0 = p, n_L = k, and no activation on the output.  The
flat parameter vector is ``[W_1 (row-major), b_1, W_2, b_2, …, W_L, b_L]``; the two-layer
network :class:`TwoLayerMLP` is the case L = 2 and uses exactly the same layout.

Everything is batched over a cloud of M parameter vectors, shape (M, d), and keeps the
:class:`~sgdsde.landscapes.empirical_risk.EmpiricalRisk` contract: the full-batch, a
minibatch and a weighted gradient are one backward pass with weights on the examples;
per-example gradients are outer products of the backward signals and the layer inputs;
Hessian-vector products are exact, by Pearlmutter's R-operator (B. A. Pearlmutter, "Fast
exact multiplication by the Hessian", Neural Comput. 6, 147 (1994)): the forward and the
backward pass differentiated once more along the direction v, at the cost of about two
gradients.  float32 parameters give float32 results.

Activations (``σ``, with ``σ'`` and ``σ''`` for the backward pass and the R-operator):

``tanh``, ``sigmoid`` (logistic ``1/(1 + e^{-a})``), ``relu`` (``max(a, 0)``, second
derivative taken as zero: the kink is met with probability zero), ``linear`` (``a``), and
``step`` (``1[a > 0]``), the piecewise-flat activation of Shalev-Shwartz, Shamir & Shammah
("Failures of gradient-based deep learning", ICML 2017, arXiv:1703.07950, section 5) whose
derivative is zero almost everywhere, so that no gradient reaches the weights below it.

Speed of the gradient (the hot path of SGD): at width 64 a matrix product does 128 flops
per activation entry, while the pass around it touches every entry several times (bias,
activation, its derivative, the back-propagated signal).  :meth:`MLP.weighted_grad`
therefore runs over blocks of particles (1024 particle-example rows at width 64), so that a
block's activations stay in cache from the forward to the backward pass, and it works in a
few arrays allocated once per call: σ(a) overwrites a, σ'(a) fills a second array, and the
back-propagated signal overwrites the layer input whose weight gradient has just used it.
The operations and their order are those of the generic pass (``_forward``, ``_backward``),
so the result is the same to the bit whatever the block size.  With M = 256 networks
64 → 64 → 64 → 10 on batches of 64 this took the gradient from 37–49 % of the rate of its
bare GEMMs to 70–87 % with ReLU and from 32–37 % to 45–60 % with tanh
(``benchmarks/mlp.py``, benchmarks/RESULTS.md).  What remains with tanh is ``np.tanh``
itself: 13–15 ns an entry in float64 on the benchmark's machine, against about 8 ns an
entry for a 64-wide product, so the two tanh layers cost as much as all eight products.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..random import normals, resolve_seed
from .empirical_risk import STREAM_INIT, EmpiricalRisk, _finite_matrix

__all__ = ["ACTIVATIONS", "MLP", "TwoLayerMLP"]


def _tanh(a, order):
    z = np.tanh(a)
    if order == 0:
        return (z,)
    d1 = z * z
    np.subtract(1.0, d1, out=d1)  # 1 − z², in place
    return (z, d1) if order == 1 else (z, d1, -2.0 * z * d1)


def _sigmoid(a, order):
    s = 0.5 * (1.0 + np.tanh(0.5 * a))  # the logistic function, overflow-free
    if order == 0:
        return (s,)
    d1 = s * (1.0 - s)
    return (s, d1) if order == 1 else (s, d1, d1 * (1.0 - 2.0 * s))


def _relu(a, order):
    pos = a > 0
    if order == 0:
        return (np.where(pos, a, 0.0).astype(a.dtype, copy=False),)
    pos = pos.astype(a.dtype)
    out = (a * pos, pos)
    return out if order == 1 else (*out, np.zeros_like(a))


def _linear(a, order):
    out = (a, np.ones_like(a), np.zeros_like(a))
    return out[: order + 1]


def _step(a, order):
    value = (a > 0).astype(a.dtype)
    if order == 0:
        return (value,)
    zero = np.zeros_like(a)
    return (value, zero) if order == 1 else (value, zero, zero)


#: The activations by name: each maps (pre-activation a, order) to (σ(a), σ'(a), σ''(a))[:order+1].
ACTIVATIONS = {"tanh": _tanh, "sigmoid": _sigmoid, "relu": _relu, "linear": _linear, "step": _step}


# The same activations for the gradient pass, in place: ``a`` is overwritten by σ(a) and
# ``slope`` (an array of a's shape and dtype) receives σ'(a).  The operations and their order
# are those of the functions above, so both give the same bits; working in place spares the
# gradient pass a temporary per layer and keeps its few arrays in cache.
def _tanh_in_place(a, slope):
    np.tanh(a, out=a)
    np.multiply(a, a, out=slope)
    np.subtract(1.0, slope, out=slope)


def _sigmoid_in_place(a, slope):
    np.multiply(a, 0.5, out=a)
    np.tanh(a, out=a)
    np.add(a, 1.0, out=a)
    np.multiply(a, 0.5, out=a)
    np.subtract(1.0, a, out=slope)
    np.multiply(slope, a, out=slope)


def _relu_in_place(a, slope):
    np.greater(a, 0, out=slope)  # the indicator 1[a > 0], cast to a's dtype
    np.multiply(a, slope, out=a)


def _linear_in_place(a, slope):
    slope.fill(1.0)


def _step_in_place(a, slope):
    np.greater(a, 0, out=a)
    slope.fill(0.0)


_IN_PLACE = {"tanh": _tanh_in_place, "sigmoid": _sigmoid_in_place, "relu": _relu_in_place,
             "linear": _linear_in_place, "step": _step_in_place}

#: Activation entries (particles × examples × widest layer) per block of the gradient
#: pass: 1024 rows of a 64-wide layer, 512 KiB in float64, so a block's few arrays stay in
#: cache (L2, L3) between the forward and the backward pass instead of the whole cloud's
#: streaming through memory (module docstring).  Measured at M = 256, b = 64, width 64:
#: 512 to 4096 rows are within the noise of each other, 16384 rows (the whole cloud at
#: once) is 20-30 % slower.  Narrow networks get more rows per block, so that NumPy's
#: per-call overhead stays small against the work of a block.
_BLOCK_ENTRIES = 1024 * 64

_LOSSES = ("cross_entropy", "mse")


def _check_widths(widths) -> tuple[int, ...]:
    ok = isinstance(widths, Sequence) and not isinstance(widths, str) and len(widths) >= 1
    ok = ok and all(not isinstance(w, bool) and isinstance(w, (int, np.integer)) and w >= 1 for w in widths)
    if not ok:
        raise ValueError("widths must be a non-empty sequence of integers >= 1 (the hidden-layer "
                         f"widths), got {widths!r}")
    return tuple(int(w) for w in widths)


def _check_activations(activation, n_hidden: int) -> tuple[str, ...]:
    names = (activation,) * n_hidden if isinstance(activation, str) else tuple(activation)
    for name in names:
        if name not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} (or a sequence of "
                             f"them, one per hidden layer), got {name!r}")
    if len(names) != n_hidden:
        raise ValueError(f"activation has {len(names)} entries but widths has {n_hidden} hidden layers")
    return names


class MLP(EmpiricalRisk):
    """A perceptron of any depth as an empirical risk over its flat parameter vector.

    Parameters
    ----------
    inputs : array_like, shape (n, p)
    targets : array_like
        Class labels in ``[0, n_outputs)``, shape (n,), for ``loss="cross_entropy"``;
        regression targets of shape (n,) (k = 1) or (n, k) for ``loss="mse"``.
    widths : sequence of int
        The hidden-layer widths ``(n_1, …, n_{L-1})``, each >= 1, at least one layer.
    activation : str or sequence of str
        One of ``"tanh"``, ``"relu"``, ``"sigmoid"``, ``"linear"``, ``"step"`` (module
        docstring) for every hidden layer, or one name per hidden layer.
    loss : {"cross_entropy", "mse"}
        Softmax cross-entropy ``logsumexp(o) − o_y``, or ``½ |o − y|²``.
    n_outputs : int, optional
        k; by default the number of classes (cross-entropy) or of target columns (mse).
    weight_decay : float
        λ ≥ 0.

    Attributes
    ----------
    widths : tuple of int
        Hidden widths.
    activations : tuple of str
        One activation per hidden layer.
    layer_sizes : tuple of int
        ``(p, n_1, …, n_{L-1}, k)``.
    n_layers : int
        L, the number of weight matrices.
    dim : int
        Number of parameters ``d = Σ_l n_l (n_{l-1} + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sgdsde.landscapes.mlp import MLP
    >>> x = np.random.default_rng(0).normal(size=(32, 5))
    >>> net = MLP(x, (x[:, 0] > 0).astype(int), widths=[8, 8], activation="relu")
    >>> theta = net.init_params(4, seed=1)          # a cloud of 4 networks, (4, d)
    >>> net.grad(theta).shape, net.hvp(theta, theta, batch=[0, 1, 2]).shape
    ((4, 138), (4, 138))
    """

    def __init__(self, inputs, targets, widths: Sequence[int] = (16,), activation="tanh",
                 loss: str = "cross_entropy", n_outputs: int | None = None, weight_decay: float = 0.0):
        super().__init__(inputs, targets, weight_decay)
        self.widths = _check_widths(widths)
        self.activations = _check_activations(activation, len(self.widths))
        if loss not in _LOSSES:
            raise ValueError(f"loss must be 'cross_entropy' or 'mse', got {loss!r}")
        self.targets, k = self._check_targets(loss, n_outputs)
        self.loss, self.n_outputs = loss, k
        self.layer_sizes = (self.inputs.shape[1], *self.widths, k)
        self.n_layers = len(self.layer_sizes) - 1
        shapes = []
        for fan_in, fan_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            shapes += [(fan_out, fan_in), (fan_out,)]
        self._shapes = tuple(shapes)
        self._sizes = [int(np.prod(s)) for s in self._shapes]
        self.dim = sum(self._sizes)

    def _check_targets(self, loss, n_outputs):
        y = self.targets
        if loss == "cross_entropy":
            if y.ndim != 1 or not np.all(y == np.round(y)) or y.min() < 0:
                raise ValueError("targets must be integer class labels >= 0 for cross_entropy")
            y = y.astype(np.int64)
            k = int(y.max()) + 1 if n_outputs is None else int(n_outputs)
            if k < 2 or y.max() >= k:
                raise ValueError(f"n_outputs must be >= 2 and exceed every label, got {k}")
            return y, k
        y = y.astype(np.float64).reshape(y.shape[0], -1)
        k = y.shape[1] if n_outputs is None else int(n_outputs)
        if k != y.shape[1]:
            raise ValueError(f"n_outputs = {k} does not match the {y.shape[1]} target column(s)")
        return y, k

    # ------------------------------------------------------------------ parameters
    def unflatten(self, theta):
        """Split (M, d) parameters into ``(W_1 (M,n_1,p), b_1 (M,n_1), …, W_L (M,k,n_{L-1}), b_L (M,k))``.

        The parts are views of ``theta`` where NumPy allows it.
        """
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

        ``W_l ~ N(0, 1/n_{l-1})`` entrywise, drawn from the counter-based generator
        (:mod:`sgdsde.random`), so particle m gets the same weights whatever the cloud size.
        """
        z = normals(resolve_seed(seed), np.arange(int(n_particles)), 0, self.dim, STREAM_INIT)
        parts = self.unflatten(z)
        scaled = []
        for layer, fan_in in enumerate(self.layer_sizes[:-1]):
            w, b = parts[2 * layer], parts[2 * layer + 1]
            scaled += [w / np.sqrt(fan_in), 0 * b]
        return self.flatten(scaled).astype(dtype)

    # ------------------------------------------------------------------ forward
    def _forward(self, theta, x, order: int):
        """Forward pass: weights, layer inputs ``h_0 … h_{L-1}``, pre-activations, σ', σ'', output."""
        parts = self.unflatten(theta)
        weights, biases = parts[0::2], parts[1::2]
        hs, pre, d1s, d2s = [x], [], [], []
        for layer in range(self.n_layers):
            a = hs[-1] @ weights[layer].transpose(0, 2, 1)
            a += biases[layer][:, None, :]
            pre.append(a)
            if layer == self.n_layers - 1:
                break
            values = ACTIVATIONS[self.activations[layer]](a, order)
            hs.append(values[0])
            if order >= 1:
                d1s.append(values[1])
            if order >= 2:
                d2s.append(values[2])
        return weights, hs, pre, d1s, d2s, pre[-1]

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

    def layer_outputs(self, theta, batch=None, pre_activation: bool = False) -> list[np.ndarray]:
        """Every layer's activations on a batch: ``[h_1, …, h_{L-1}, o]``, each (M, b, n_l).

        Parameters
        ----------
        theta : array_like, shape (M, d)
        batch : array_like of int, shape (b,) or (M, b), optional
            The examples (default: all n).
        pre_activation : bool
            Return the pre-activations ``a_l`` instead of ``h_l = σ_l(a_l)`` (the output
            ``o = a_L`` is the same either way).
        """
        theta = self._check(theta, "theta")
        x, _ = self._batch(batch, theta.shape[0], theta.dtype, "batch")
        _, hs, pre, _, _, o = self._forward(theta, x, order=0)
        hidden = pre[:-1] if pre_activation else hs[1:]
        return [*hidden, o]

    def predict(self, theta, inputs) -> np.ndarray:
        """Network outputs ``o`` (logits for cross-entropy) on any inputs, shape (M, n', k).

        Parameters
        ----------
        theta : array_like, shape (M, d)
        inputs : array_like, shape (n', p)
        """
        theta = self._check(theta, "theta")
        x = _finite_matrix(inputs, "inputs")
        if x.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"inputs must have {self.layer_sizes[0]} features, got shape {x.shape}")
        return self._forward(theta, x.astype(theta.dtype), order=0)[-1]

    def per_example_output_grads(self, theta, batch=None, output: int = 0) -> np.ndarray:
        """Gradients ``∂o_k(x_i)/∂θ`` of one network output on each example, shape (M, b, d).

        The rows of the output Jacobian: for a scalar-output network under the square loss
        the per-example loss gradient is ``(o_i − y_i) ∂o_i/∂θ``, and
        ``G(θ)² = mean_i |∂o_i/∂θ|²`` is the quantity in the bound of Shalev-Shwartz, Shamir
        & Shammah (2017, Theorem 1; :func:`sgdsde.measure.gradient_stats.gradient_variance_bound`).

        Parameters
        ----------
        theta : array_like, shape (M, d)
        batch : array_like of int, shape (b,) or (M, b), optional
            The examples (default: all n).
        output : int
            k, in ``[0, n_outputs)``.
        """
        theta = self._check(theta, "theta")
        if isinstance(output, bool) or not isinstance(output, (int, np.integer)) \
                or not 0 <= output < self.n_outputs:
            raise ValueError(f"output must be an integer in [0, {self.n_outputs}), got {output!r}")
        x, _ = self._batch(batch, theta.shape[0], theta.dtype, "batch")
        weights, hs, pre, d1s, _, o = self._forward(theta, x, order=1)
        delta_o = np.zeros_like(o)
        delta_o[..., output] = 1.0
        return self._outer_products(weights, hs, d1s, delta_o)

    # ------------------------------------------------------------------ EmpiricalRisk hooks
    def _per_example_loss(self, theta, x, y):
        o = self._forward(theta, x, order=0)[-1]
        return self._output_loss(o, y)[0]

    def _backward(self, weights, hs, d1s, delta):
        """Backpropagate the output signal: ``[(δ_l, h_{l-1})]`` for l = L … 1."""
        signals = []
        for layer in range(self.n_layers - 1, -1, -1):
            signals.append((delta, hs[layer]))
            if layer:
                delta = delta @ weights[layer]
                delta *= d1s[layer - 1]
        return signals[::-1]

    def _weighted_grad(self, theta, x, y, w):
        # The same arithmetic as _forward, _output_loss and _backward (bit for bit), done
        # block by block over the particles in a few preallocated arrays (_grad_block).
        m, b = w.shape
        parts = self.unflatten(theta)
        out = np.empty(theta.shape, dtype=theta.dtype)  # C order: its blocks are views, written in place
        grads = self.unflatten(out)
        step = self._particles_per_block(b)
        work = self._work_arrays(min(step, m), b, theta.dtype)
        shared = x.ndim == 2  # one batch (b, p) for the whole cloud, or one each (M, b, p)
        for start in range(0, m, step):
            block = slice(start, min(start + step, m))
            self._grad_block([part[block] for part in parts], x if shared else x[block],
                             y if shared else y[block], w[block],
                             [grad[block] for grad in grads], work)
        return out

    def _particles_per_block(self, b: int) -> int:
        """Particles per block of :meth:`weighted_grad` on batches of b (``_BLOCK_ENTRIES``)."""
        return max(1, _BLOCK_ENTRIES // (b * max(self.layer_sizes)))

    def _work_arrays(self, m, b, dtype):
        """Per hidden layer l: h_l (then δ_l) and σ'(a_l), each (m, b, n_l); the output (m, b, k)."""
        hidden = [(np.empty((m, b, n), dtype), np.empty((m, b, n), dtype)) for n in self.widths]
        return hidden, np.empty((m, b, self.n_outputs), dtype)

    def _grad_block(self, parts, x, y, w, grads, work):
        """Weighted gradient of a block of particles, written into ``grads`` (views of the result).

        ``work`` from :meth:`_work_arrays` holds every intermediate: the forward pass stores
        h_l = σ(a_l) and σ'(a_l) in place of a_l; the backward pass writes δ_l over h_l once
        the weight gradient of layer l + 1, its last reader, is done.
        """
        hidden, o = work
        m = w.shape[0]
        hidden = [(h[:m], slope[:m]) for h, slope in hidden]  # the last block may be smaller
        o = o[:m]
        weights, biases = parts[0::2], parts[1::2]
        inputs = [x] + [h for h, _ in hidden]  # h_0 … h_{L-1}
        for layer, (weight, bias) in enumerate(zip(weights, biases)):
            a = hidden[layer][0] if layer < len(hidden) else o
            np.matmul(inputs[layer], weight.transpose(0, 2, 1), out=a)
            a += bias[:, None, :]
            if layer < len(hidden):
                _IN_PLACE[self.activations[layer]](a, hidden[layer][1])
        delta = self._output_signal_in_place(o, y)
        np.multiply(w[:, :, None], delta, out=delta)
        for layer in range(self.n_layers - 1, -1, -1):
            np.matmul(delta.transpose(0, 2, 1), inputs[layer], out=grads[2 * layer])
            np.sum(delta, axis=1, out=grads[2 * layer + 1])
            if layer:
                h, slope = hidden[layer - 1]
                delta = np.matmul(delta, weights[layer], out=h)  # h_{l-1} is no longer needed
                delta *= slope

    def _output_signal_in_place(self, o, y):
        """Overwrite the outputs o (m, b, k) by ∂ℓ/∂o, as :meth:`_output_loss` computes it."""
        if self.loss == "mse":
            o -= y
            return o
        o -= o.max(axis=-1, keepdims=True)
        np.exp(o, out=o)
        o /= o.sum(axis=-1, keepdims=True)  # the softmax p
        o -= np.arange(o.shape[-1]) == np.broadcast_to(y, o.shape[:-1])[..., None]  # p − onehot
        return o

    def _per_example_grads(self, theta, x, y):
        weights, hs, pre, d1s, _, o = self._forward(theta, x, order=1)
        return self._outer_products(weights, hs, d1s, self._output_loss(o, y)[1])

    def _outer_products(self, weights, hs, d1s, delta_o):
        """Per-example gradients from the output signal (M, b, k): (M, b, d)."""
        m, b = delta_o.shape[:2]
        parts = []
        for delta, h in self._backward(weights, hs, d1s, delta_o):
            hb = np.broadcast_to(h, (m, b, h.shape[-1]))
            parts += [np.einsum("mbi,mbj->mbij", delta, hb).reshape(m, b, -1), delta]
        return np.concatenate(parts, axis=2)

    def _hvp(self, theta, v, x, y):
        # Pearlmutter's R-operator, R{·} = d/dε (·)(θ + ε v) at ε = 0.  Forward:
        #   R{a_l} = R{h_{l-1}} W_lᵀ + h_{l-1} V_lᵀ + c_l,  R{h_l} = σ'(a_l) R{a_l},  R{h_0} = 0.
        # Backward, with δ_L = ∂ℓ/∂o and δ_{l-1} = (δ_l W_l) σ'(a_{l-1}):
        #   R{δ_L} = (∂²ℓ/∂o²) R{o},
        #   R{δ_{l-1}} = (R{δ_l} W_l + δ_l V_l) σ'(a_{l-1}) + (δ_l W_l) σ''(a_{l-1}) R{a_{l-1}},
        #   H v |_{W_l} = R{δ_l}ᵀ h_{l-1} + δ_lᵀ R{h_{l-1}},   H v |_{b_l} = Σ_b R{δ_l}.
        weights, hs, pre, d1s, d2s, o = self._forward(theta, x, order=2)
        vparts = self.unflatten(v)
        dirs, shifts = vparts[0::2], vparts[1::2]
        _, delta, prob = self._output_loss(o, y)
        r_h, r_pre = [None], []
        for layer in range(self.n_layers):
            r_a = hs[layer] @ dirs[layer].transpose(0, 2, 1)
            if layer:
                r_a = r_h[layer] @ weights[layer].transpose(0, 2, 1) + r_a
            r_a = r_a + shifts[layer][:, None, :]
            r_pre.append(r_a)
            if layer < self.n_layers - 1:
                r_h.append(d1s[layer] * r_a)
        r_o = r_pre[-1]
        if prob is None:
            r_delta = r_o
        else:  # Jacobian of the softmax: diag(p) − p pᵀ
            r_delta = prob * (r_o - np.sum(prob * r_o, axis=-1, keepdims=True))
        parts = []
        for layer in range(self.n_layers - 1, -1, -1):
            h_w = r_delta.transpose(0, 2, 1) @ hs[layer]
            if layer:
                h_w = h_w + delta.transpose(0, 2, 1) @ r_h[layer]
            parts = [h_w, r_delta.sum(axis=1), *parts]
            if layer:
                delta_z = delta @ weights[layer]
                r_delta = ((r_delta @ weights[layer] + delta @ dirs[layer]) * d1s[layer - 1]
                           + delta_z * d2s[layer - 1] * r_pre[layer - 1])
                delta = delta_z * d1s[layer - 1]
        return self.flatten(parts) / x.shape[-2]

    def __repr__(self):
        return (f"MLP(n={self.n_examples}, layer_sizes={self.layer_sizes}, "
                f"activations={self.activations}, loss={self.loss!r}, d={self.dim})")


class TwoLayerMLP(MLP):
    """A two-layer perceptron ``o(x) = W₂ σ(W₁ x + b₁) + b₂`` with tanh or ReLU σ.

    The case ``widths=[hidden]`` of :class:`MLP`, kept for its simpler signature.  The flat
    parameter vector is ``[W₁ (h×p, row-major), b₁ (h), W₂ (k×h), b₂ (k)]``.

    Parameters
    ----------
    inputs : array_like, shape (n, p)
    targets : array_like
        Class labels in ``[0, n_outputs)``, shape (n,), for ``loss="cross_entropy"``;
        regression targets of shape (n,) (k = 1) or (n, k) for ``loss="mse"``.
    hidden : int
        Width h ≥ 1 of the hidden layer.
    activation : {"tanh", "relu"}
        (:class:`MLP` has more.)
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
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r} "
                             "(MLP has more activations)")
        if isinstance(hidden, bool) or not isinstance(hidden, (int, np.integer)) or hidden < 1:
            raise ValueError(f"hidden must be an integer >= 1, got {hidden!r}")
        super().__init__(inputs, targets, widths=[hidden], activation=activation, loss=loss,
                         n_outputs=n_outputs, weight_decay=weight_decay)
        self.hidden, self.activation = int(hidden), activation

    def __repr__(self):
        return (f"TwoLayerMLP(n={self.n_examples}, p={self.inputs.shape[1]}, hidden={self.hidden}, "
                f"outputs={self.n_outputs}, activation={self.activation!r}, loss={self.loss!r}, "
                f"d={self.dim})")
