"""Noise stability of trained networks: how injected noise is damped by the layers above it.

Arora, Ge, Neyshabur & Zhang ("Stronger generalization bounds for deep nets via a
compression approach", ICML 2018, arXiv:1802.05296, section 4) explain why networks that
generalise can be compressed: noise injected at a layer's output is attenuated as it
travels upward, and the quantities that control this include the **layer cushion**

    μ_i = min over training inputs x of |W_i h_{i−1}(x)| / (|W_i|_F |h_{i−1}(x)|),

how much of the Frobenius norm of W_i the actual inputs of layer i use (μ_i ≈ 1/sqrt(n_{i−1})
for a random matrix and random directions; larger means the layer is aligned with its data).
Here, for a network of :class:`~sgdsde.landscapes.mlp.MLP` with layers h_0 = x, h_1, …,
h_{L−1} (hidden, after the activation) and h_L = o (the output):

* :func:`noise_attenuation` adds to h_ℓ(x) a Gaussian vector of norm ε|h_ℓ(x)| and returns
  the relative change |h_j' − h_j| / |h_j| of every layer j ≥ ℓ, averaged over the inputs;
  at j = ℓ it is ε by construction, and its ratio to ε is the attenuation (< 1: damped);
* :func:`layer_cushion` returns μ_1 … μ_L (biases excluded, as in the paper's bias-free
  networks).
"""

from __future__ import annotations

import numpy as np

from .._checks import real
from ..landscapes.base import check_cloud
from ..landscapes.mlp import ACTIVATIONS, MLP
from ..random import STREAM_USER, normals, resolve_seed

__all__ = ["forward_from", "noise_attenuation", "layer_cushion"]

STREAM_INJECTED = STREAM_USER + 44  # the noise injected into a layer


def _net_and_theta(net, theta):
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {type(net).__name__}")
    return check_cloud(theta, net.dim, "theta", finite=True)


def _check_layer(net: MLP, layer) -> int:
    top = net.n_layers - 1
    if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not 0 <= layer <= top:
        raise ValueError(f"layer must be an integer in [0, {top}] (0: the input, {top}: the last "
                         f"hidden layer; noise at the output L = {net.n_layers} has no layer above it), "
                         f"got {layer!r}")
    return int(layer)


def forward_from(net: MLP, theta, h, layer: int) -> list[np.ndarray]:
    """Propagate given outputs h_ℓ of layer ℓ upward: ``[h_ℓ, h_{ℓ+1}, …, h_L]``, each (M, b, n_j).

    Parameters
    ----------
    net : MLP
    theta : array_like, shape (M, d)
    h : array_like, shape (M, b, n_ℓ)
        The (possibly perturbed) outputs of layer ℓ.
    layer : int
        ℓ in [0, L − 1].
    """
    theta = _net_and_theta(net, theta)
    layer = _check_layer(net, layer)
    h = np.asarray(h, dtype=theta.dtype)
    if h.ndim != 3 or h.shape[0] != theta.shape[0] or h.shape[2] != net.layer_sizes[layer]:
        raise ValueError(f"h must have shape (M={theta.shape[0]}, b, {net.layer_sizes[layer]}), "
                         f"got {h.shape}")
    parts = net.unflatten(theta)
    out = [h]
    for j in range(layer, net.n_layers):
        a = h @ parts[2 * j].transpose(0, 2, 1) + parts[2 * j + 1][:, None, :]
        h = a if j == net.n_layers - 1 else ACTIVATIONS[net.activations[j]](a, 0)[0]
        out.append(h)
    return out


def _layers(net, theta, batch):
    """``[h_0 = x, h_1, …, h_L]`` on a batch, each (M, b, n_j)."""
    if batch is not None and np.ndim(batch) != 1:
        raise ValueError(f"batch must be a vector of example indices, shape (b,), "
                         f"got shape {np.shape(batch)}")
    x, _ = net._batch(batch, theta.shape[0], theta.dtype, "batch")  # checks dtype, size and range
    x = np.broadcast_to(x, (theta.shape[0], *x.shape))
    return [x, *net.layer_outputs(theta, batch)]


def noise_attenuation(net: MLP, theta, layer: int, epsilon: float, *, seed: int, batch=None,
                      n_draws: int = 1) -> np.ndarray:
    """Relative change of every layer above ℓ when noise of relative size ε is added at ℓ.

    Parameters
    ----------
    net : MLP
    theta : array_like, shape (M, d)
    layer : int
        ℓ in [0, L − 1] (0 is the input).
    epsilon : float
        ε > 0: the injected vector has norm ε|h_ℓ(x)| and a uniformly random direction.
    seed : int
        Key of the injected noise (stream :data:`STREAM_INJECTED`).
    batch : array_like of int, shape (b,), optional
        The inputs, indices in [0, n) (default: all n).
    n_draws : int
        Independent noise vectors per input, averaged.

    Returns
    -------
    ndarray, shape (M, L − ℓ + 1)
        Column j − ℓ is the mean over inputs and draws of |h_j' − h_j| / |h_j|; column 0 is ε.
        Inputs with ``h_ℓ(x) = 0`` (no noise injected) are left out of every column, and
        those with ``h_j(x) = 0`` out of column j − ℓ.

    Raises
    ------
    ValueError
        If ``h_ℓ(x) = 0`` for every input of a network.
    """
    theta = _net_and_theta(net, theta)
    layer = _check_layer(net, layer)
    epsilon = real(epsilon, "epsilon")
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be a finite number > 0, got {epsilon}")
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be an integer >= 1, got {n_draws!r}")
    clean = _layers(net, theta, batch)
    m, b, width = clean[layer].shape
    base = clean[layer]
    size = np.linalg.norm(base, axis=2, keepdims=True)
    noised = size[..., 0] > 0  # h_ℓ(x) = 0 receives noise of norm 0: left out of every column
    if not np.all(noised.any(axis=1)):
        raise ValueError(f"h_{layer}(x) = 0 for every input of network {int(np.argmin(noised.any(axis=1)))}: "
                         "noise of relative size epsilon is zero there")
    total = np.zeros((m, net.n_layers - layer + 1))
    for draw in range(int(n_draws)):
        xi = normals(resolve_seed(seed), np.arange(m * b), draw, width, STREAM_INJECTED).reshape(m, b, width)
        xi *= epsilon * size / np.linalg.norm(xi, axis=2, keepdims=True)
        noisy = forward_from(net, theta, base + xi, layer)
        for j, (h_noisy, h_clean) in enumerate(zip(noisy, clean[layer:])):
            norm = np.linalg.norm(h_clean, axis=2)
            rel = np.linalg.norm(h_noisy - h_clean, axis=2) / np.where(norm > 0, norm, np.nan)
            total[:, j] += np.nanmean(np.where(noised, rel, np.nan), axis=1)
    return total / n_draws


def layer_cushion(net: MLP, theta, batch=None, quantile: float = 0.0) -> np.ndarray:
    """Layer cushions μ_1 … μ_L of Arora et al. (module docstring), shape (M, L).

    Parameters
    ----------
    net : MLP
    theta : array_like, shape (M, d)
    batch : array_like of int, shape (b,), optional
        The inputs, indices in [0, n) (default: all n training inputs).
    quantile : float
        0 gives the definition (the minimum over inputs); a larger value in [0, 1] a
        quantile, less sensitive to single inputs.

    Inputs x with ``h_{i−1}(x) = 0`` (the ratio is 0/0 there: a zero input, or a layer whose
    units are all zero) are left out of μ_i, as :func:`noise_attenuation` leaves them out.

    Raises
    ------
    ValueError
        If ``h_{i−1}(x) = 0`` for every input of a network, or ``W_i = 0``, so that μ_i is
        undefined.
    """
    theta = _net_and_theta(net, theta)
    quantile = real(quantile, "quantile")
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must lie in [0, 1], got {quantile}")
    hs = _layers(net, theta, batch)
    parts = net.unflatten(theta)
    out = np.empty((theta.shape[0], net.n_layers))
    for i in range(net.n_layers):
        w = parts[2 * i]
        wh = np.linalg.norm(hs[i] @ w.transpose(0, 2, 1), axis=2)
        h_norm = np.linalg.norm(hs[i], axis=2)
        used = h_norm > 0
        if not np.all(used.any(axis=1)):
            raise ValueError(f"the input of layer {i + 1} is zero for every input of network "
                             f"{int(np.argmin(used.any(axis=1)))}: its cushion is undefined")
        w_norm = np.linalg.norm(w, axis=(1, 2))
        if np.any(w_norm == 0):
            raise ValueError(f"W_{i + 1} is zero in network {int(np.argmin(w_norm))}: "
                             "its cushion is undefined")
        ratio = wh / (w_norm[:, None] * np.where(used, h_norm, 1.0))
        out[:, i] = np.nanquantile(np.where(used, ratio, np.nan), quantile, axis=1)
    return out
