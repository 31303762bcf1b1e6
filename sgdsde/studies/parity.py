"""Parities: the gradient carries almost no information about which parity is the target.

Shalev-Shwartz, Shamir & Shammah ("Failures of gradient-based deep learning", ICML 2017,
arXiv:1703.07950, section 2): on the cube {±1}^d with uniform inputs, the 2^d parities
``χ_S(x) = Π_{i∈S} x_i`` are orthonormal, so by their Theorem 1 the full gradient of the
square loss ``F_S(θ) = E_x ½ (p_θ(x) − χ_S(x))²`` varies across targets by at most
``Var ≤ G(θ)² / 2^d``, ``G(θ)² = E_x |∂p_θ(x)/∂θ|²`` — exponentially little: at a random
initialisation the gradient is nearly the same whatever the target, and gradient methods
learn nothing about S for large d.

Here the family is enumerated exactly: all 2^d inputs are the data set and all 2^d
parities the targets.  For the square loss the gradient is affine in the targets,
``∇F_S = ∇F_0 − (1/n) Jᵀ χ_S`` with J (n, d_θ) the output Jacobian, so the across-target
variance of the whole family is one matrix product (:func:`parity_gradient_variance`),
checked against the generic :func:`sgdsde.measure.gradient_stats.
target_family_gradient_variance` in the tests.  For the complete family the bound is
Parseval's identity: ``Var + |E_S ∇F_S − ∇F_0|² = G²/2^d`` exactly.
"""

from __future__ import annotations

import itertools

import numpy as np

from .._checks import integer
from ..landscapes.base import check_cloud
from ..landscapes.mlp import MLP
from ..random import STREAM_USER, resolve_seed, uniforms

__all__ = ["MAX_FAMILY_BYTES", "parity_inputs", "parity_targets", "parity_gradient_variance",
           "random_subset", "random_cube", "parity_accuracy", "train_parity"]

MAX_FAMILY_BYTES = 1 << 30  # 1 GiB: the (2^d, 2^d) table of all parities, in float64
STREAM_SUBSET = STREAM_USER + 48
STREAM_CUBE = STREAM_USER + 49


def _dimension(d) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    return int(d)


def parity_inputs(d: int) -> np.ndarray:
    """All 2^d points of the cube {±1}^d, shape (2^d, d), in binary order."""
    d = _dimension(d)
    if d > 24:
        raise ValueError(f"d = {d}: the cube has 2^{d} points, too many to enumerate (limit d <= 24)")
    bits = (np.arange(2**d)[:, None] >> np.arange(d - 1, -1, -1)) & 1
    return 1.0 - 2.0 * bits


def parity_targets(d: int, *, max_bytes: int = MAX_FAMILY_BYTES) -> np.ndarray:
    """All 2^d parities on the 2^d inputs of :func:`parity_inputs`: the (2^d, 2^d) table χ_S(x).

    Row S (subsets in binary order, S = ∅ first) is ``Π_{i∈S} x_i``; it is the Walsh–
    Hadamard matrix, symmetric, with ``χ χᵀ = 2^d I``.

    Raises
    ------
    MemoryError
        If the table would exceed ``max_bytes`` (default 1 GiB; d = 14 needs 2 GiB).
    """
    d = _dimension(d)
    need = 8 * 4**d
    if need > max_bytes:
        raise MemoryError(f"all 2^{d} parities on the 2^{d} inputs need {need / 2**30:.3g} GiB "
                          f"(> max_bytes = {max_bytes / 2**30:.3g} GiB); use d <= "
                          f"{int(np.log2(max_bytes / 8) // 2)} or raise max_bytes")
    h = np.ones((1, 1))
    for _ in range(d):  # Sylvester's construction, in the same binary order as parity_inputs
        h = np.block([[h, h], [h, -h]])
    return h


def parity_gradient_variance(net: MLP, theta, *, max_bytes: int = MAX_FAMILY_BYTES):
    """Across-target gradient variance of all 2^d parities and the Theorem-1 bound, each (M,).

    Parameters
    ----------
    net : MLP
        A scalar-output network under the square loss whose inputs are
        :func:`parity_inputs` (its targets are irrelevant: they are replaced by each χ_S).
    theta : array_like, shape (M, d_θ)
        Finite parameters.
    max_bytes : int
        Memory limit of the parity table (:func:`parity_targets`).

    Returns
    -------
    variance : ndarray, shape (M,)
        ``(1/2^d) Σ_S |∇F_S − mean_S ∇F_S|²``.
    bound : ndarray, shape (M,)
        ``G(θ)²/2^d``.
    mean_shift : ndarray, shape (M,)
        ``|mean_S ∇F_S − ∇F_0|²`` (with ``variance`` it adds up to ``bound``).
    """
    if not isinstance(net, MLP) or net.loss != "mse" or net.n_outputs != 1:
        raise ValueError("net must be an MLP with loss='mse' and a single output")
    n, d = net.inputs.shape
    if n != 2**d or not np.array_equal(net.inputs, parity_inputs(d)):
        raise ValueError(f"net's inputs must be the cube parity_inputs({d}) (2^{d} rows in binary order)")
    check_cloud(np.atleast_2d(theta), net.dim, "theta", finite=True)
    table = parity_targets(d, max_bytes=max_bytes)
    jac = net.per_example_output_grads(theta)  # (M, n, d_θ)
    proj = np.matmul(table, jac) / n  # (1/n) Jᵀ χ_S for every S: (M, 2^d, d_θ)
    mean = proj.mean(axis=1)
    variance = np.sum((proj - mean[:, None, :]) ** 2, axis=2).mean(axis=1)
    bound = np.einsum("mnp,mnp->m", jac, jac) / n / table.shape[0]
    return variance, bound, np.sum(mean * mean, axis=1)


def random_subset(d: int, size: int, seed: int | None = 0) -> np.ndarray:
    """A uniformly random subset S ⊂ {0, …, d−1} of the given size, as a boolean mask (d,)."""
    d = _dimension(d)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= d:
        raise ValueError(f"size must be an integer in [1, d = {d}], got {size!r}")
    u = uniforms(resolve_seed(seed), np.array([0]), 0, d, STREAM_SUBSET)[0]
    mask = np.zeros(d, dtype=bool)
    mask[np.argsort(u, kind="stable")[:size]] = True
    return mask


def parity_accuracy(net: MLP, theta, inputs, subset) -> np.ndarray:
    """Fraction of inputs whose sign of p_θ(x) equals χ_S(x), shape (M,).

    Parameters
    ----------
    net : MLP
    theta : array_like, shape (M, d_θ)
    inputs : array_like, shape (n, d)
        Points of the cube {±1}^d.
    subset : array_like of bool, shape (d,)
        The mask of S (as :func:`random_subset` returns).
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim != 2:
        raise ValueError(f"inputs must have shape (n, d), got {inputs.shape}")
    mask = np.asarray(subset)
    if mask.dtype != bool or mask.shape != inputs.shape[1:]:
        raise ValueError(f"subset must be a boolean mask of shape (d,) = ({inputs.shape[1]},), got "
                         f"{mask.dtype} of shape {mask.shape}")
    target = np.prod(np.where(mask, inputs, 1.0), axis=1)
    out = net.predict(theta, inputs)[..., 0]
    return np.mean(np.sign(out) == target, axis=1)


def random_cube(d: int, n: int, seed: int | None = 0) -> np.ndarray:
    """n uniform points of {±1}^d (independent signs from :mod:`sgdsde.random`), shape (n, d)."""
    d = _dimension(d)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    return np.where(uniforms(resolve_seed(seed), np.arange(int(n)), 0, d, STREAM_CUBE) < 0.5, -1.0, 1.0)


def train_parity(d: int, subset_size: int, *, widths=(128,), activation: str = "relu", lr: float = 0.05,
                 batch_size: int = 64, n_steps: int = 8000, n_runs: int = 4, n_train: int = 32768,
                 n_test: int = 4096, record_every: int = 500, seed: int = 0):
    """Minibatch SGD on the square loss to a random parity of ``subset_size`` of d bits.

    The training set is ``n_train`` uniform points of the cube (batches drawn with
    replacement, so each point is reused about ``n_steps·batch_size/n_train`` times); the
    accuracy, the fraction of ``n_test`` fresh points with ``sign p_θ(x) = χ_S(x)``, is
    recorded every ``record_every`` steps for each of ``n_runs`` initialisations.  The
    setting of Shalev-Shwartz et al. (2017, section 2, figure 1).

    Returns
    -------
    steps : ndarray, shape (R,)
    accuracy : ndarray, shape (R, n_runs)
    subset : ndarray of bool, shape (d,)
    """
    from ..sgd.minibatch import run_sgd

    seed = integer(seed, "seed", 0)  # seed, seed + 1 and seed + 2 key the data and the batches
    subset = random_subset(d, subset_size, seed=seed)
    x = random_cube(d, n_train, seed=seed)
    x_test = random_cube(d, n_test, seed=seed + 1)
    y = np.prod(np.where(subset, x, 1.0), axis=1)
    net = MLP(x, y, widths=widths, activation=activation, loss="mse")
    run = run_sgd(net, net.init_params(n_runs, seed=seed), lr=lr, batch_size=batch_size, n_steps=n_steps,
                  seed=seed + 2, record_every=record_every,
                  observables={"accuracy": lambda theta: parity_accuracy(net, theta, x_test, subset)})
    return np.asarray(run.steps), run.observables["accuracy"], subset


def _all_subsets(d: int):  # used by the tests: subsets in the order of parity_targets' rows
    return np.array(list(itertools.product((False, True), repeat=d)))
