"""Bring your own model: an empirical risk from a JAX loss function and a data set.

The user writes the loss of *one example*, ``loss(params, example) -> scalar``, on any pytree
of parameters (a dict of arrays, a tuple, a Flax/Equinox parameter tree of arrays) and gives
the data as a pytree of arrays whose leading axis runs over the n examples (``example`` is
the same pytree without that axis).  :class:`JaxModel` turns this into an
:class:`~sgdsde.landscapes.empirical_risk.EmpiricalRisk` over the flat parameter vector
θ ∈ R^d (:func:`jax.flatten_util.ravel_pytree` fixes the order), batched over a cloud of M
parameter vectors, so that :func:`sgdsde.simulate`, real SGD (:func:`sgdsde.sgd.run_sgd`),
the SMEs (:func:`sgdsde.sgd.sme`), the gradient-noise statistics (:mod:`sgdsde.sgd.noise`) and
the Hessian tools run on it unchanged.  Everything is derived by automatic differentiation
and compiled once per batch shape with :func:`jax.jit`:

* per-example losses and gradients: ``vmap`` of the loss and of ``grad`` over the examples;
* the weighted gradient ``Σ_j w_j ∇ℓ_{i_j}(θ)`` (full batch, minibatch, the SGD noise's
  ``Jᵀξ``): one reverse pass of the weighted sum, never the (M, b, d) per-example array;
* Hessian-vector products: forward-over-reverse, ``jvp`` of ``grad`` (Pearlmutter 1994),
  about the cost of two gradients; the Hessian: ``vmap`` of that over the d unit vectors;
* the cloud: ``vmap`` over the M parameter vectors (with one shared batch or one batch per
  particle).

Precision.  float64 parameters are computed in float64 (JAX's 64-bit mode is switched on
for the duration of each call only, so the user's global JAX setting is left alone);
float32 parameters in float32.  Floating-point data are cast to the parameters' dtype,
integer data (class labels) are kept.

PyTorch models are not supported: ``torch.func`` would give the same construction, but CPU
wheels of PyTorch are too large for this project's CI, and an untested port is not shipped.

References
----------
J. Bradbury et al., "JAX: composable transformations of Python+NumPy programs" (2018),
http://github.com/jax-ml/jax.  B. A. Pearlmutter, "Fast exact multiplication by the Hessian",
Neural Comput. 6, 147 (1994).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._extras import require
from ..random import normals, resolve_seed
from .empirical_risk import STREAM_INIT, EmpiricalRisk

__all__ = ["JaxModel"]


def _jax():
    jax = require("jax", "jax", "sgdsde.landscapes.JaxModel")
    require("jax.flatten_util", "jax", "sgdsde.landscapes.JaxModel")
    return jax


def _x64(jax):
    """A context manager switching JAX's 64-bit mode on (top-level in recent JAX, experimental before)."""
    switch = getattr(jax, "enable_x64", None)
    if switch is None:
        from jax.experimental import enable_x64 as switch
    return switch(True)


def _leaf_name(path) -> str:
    from jax.tree_util import keystr

    return "data" + keystr(path)


class JaxModel(EmpiricalRisk):
    """The empirical risk ``f(θ) = (1/n) Σ_i loss(θ, example_i) + (λ/2)|θ|²`` of a JAX model.

    Parameters
    ----------
    loss : callable
        ``loss(params, example) -> scalar``: the loss of one example, written with
        ``jax.numpy``.  ``params`` has the structure of ``params_template``; ``example`` that
        of ``data`` without the leading axis.  It must be a pure function (no side effects,
        no Python control flow on the values): it is traced by :func:`jax.jit`.
    params_template : pytree of arrays
        Parameters fixing the structure, shapes and flat order of θ (e.g. an initialisation);
        finite.  :attr:`flat_params` is their flat vector.
    data : pytree of arrays
        The n examples, e.g. ``(inputs (n, p), labels (n,))`` or a dict; every leaf has the
        same leading length n ≥ 1; finite.
    weight_decay : float
        λ ≥ 0 (added here, not to be put in ``loss``, so that it adds nothing to the
        gradient noise).
    name : str, optional
        A label for ``repr`` (default: the loss function's name).

    Attributes
    ----------
    dim : int
        Number of parameters d.
    flat_params : ndarray, shape (d,)
        ``params_template`` flattened, float64.
    param_shapes : tuple of tuple of int
        Shapes of the template's leaves, in flat order.
    param_structure : str
        The template's tree structure (as JAX prints it).
    data : pytree of ndarray
        The examples as given (NumPy arrays).

    Raises
    ------
    ImportError
        Without JAX, naming the extra ``sgdsde[jax]``.
    ValueError
        If ``params_template`` or ``data`` holds NaN or inf, the data's leaves disagree on n,
        ``loss`` fails on one example (e.g. an example of the wrong shape for the
        parameters) or does not return a real scalar.

    Examples
    --------
    >>> import jax.numpy as jnp, numpy as np
    >>> from sgdsde.landscapes import JaxModel
    >>> x = np.random.default_rng(0).normal(size=(64, 3)); y = x @ [1.0, -2.0, 0.5]
    >>> def loss(params, example):
    ...     xi, yi = example
    ...     return 0.5 * (jnp.dot(params["w"], xi) + params["b"] - yi) ** 2
    >>> model = JaxModel(loss, {"w": np.zeros(3), "b": np.zeros(())}, (x, y))
    >>> model.dim, model.grad(model.init_params(2)).shape
    (4, (2, 4))
    """

    def __init__(self, loss: Callable, params_template, data, *, weight_decay: float = 0.0,
                 name: str | None = None):
        jax = _jax()
        if not callable(loss):
            raise TypeError(f"loss must be callable as loss(params, example) -> scalar, "
                            f"got {type(loss).__name__}")
        weight_decay = float(weight_decay)
        if not (np.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay}")
        self.weight_decay = weight_decay
        self.name = name if name is not None else getattr(loss, "__name__", type(loss).__name__)
        with _x64(jax):
            flat, unravel = jax.flatten_util.ravel_pytree(
                jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=np.float64), params_template))
        # JAX objects (the unflattening function, compiled functions) live in this cache, apart
        # from the parameters that define the model: a run's fingerprint (sgdsde._fingerprint)
        # skips caches and hashes the loss's code, the template's shapes and the data.
        self._jax_cache: dict = {"unravel": unravel}
        self.flat_params = np.array(flat, dtype=np.float64)
        leaves, structure = jax.tree_util.tree_flatten(unravel(flat))
        self.param_shapes = tuple(tuple(np.shape(a)) for a in leaves)
        self.param_structure = str(structure)
        if self.flat_params.size == 0:
            raise ValueError("params_template holds no parameters")
        if not np.all(np.isfinite(self.flat_params)):
            raise ValueError("params_template contains NaN or inf")
        self.dim = int(self.flat_params.size)
        self.data = self._check_data(data)
        self._indices = np.arange(self._n, dtype=np.int64)
        self._cast_cache: dict = {}
        self._loss = loss
        self._check_loss()

    # ------------------------------------------------------------------ construction checks
    def _check_data(self, data):
        jax = _jax()
        leaves = jax.tree_util.tree_flatten_with_path(data)[0]
        if not leaves:
            raise ValueError("data holds no arrays: give a pytree of arrays with one row per example")
        out, lengths = [], {}
        for path, leaf in leaves:
            a = np.asarray(leaf)
            where = _leaf_name(path)
            if a.dtype.kind not in "biuf":
                raise TypeError(f"{where} must be numeric, got dtype {a.dtype}")
            if a.ndim == 0:
                raise ValueError(f"{where} is a scalar: every leaf of data needs a leading axis over "
                                 f"the examples")
            if not np.all(np.isfinite(a.astype(np.float64))):
                raise ValueError(f"{where} contains NaN or inf")
            lengths[where] = a.shape[0]
            out.append(a)
        if len(set(lengths.values())) != 1:
            raise ValueError(f"the leaves of data must all have the same leading length n (one row per "
                             f"example), got {lengths}")
        self._n = next(iter(lengths.values()))
        if self._n < 1:
            raise ValueError("data holds no examples (n = 0)")
        return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(data), out)

    def _check_loss(self):
        jax = _jax()
        unravel = self._jax_cache["unravel"]
        example = jax.tree_util.tree_map(lambda a: a[0], self._cast(np.float64))
        with _x64(jax):
            try:
                out = jax.eval_shape(lambda f, e: self._loss(unravel(f), e), self.flat_params, example)
            except Exception as err:  # noqa: BLE001 - re-raised with the context the user needs
                shapes = jax.tree_util.tree_map(np.shape, example)
                raise ValueError(f"loss(params, example) fails on one example of data (leading axis removed, "
                                 f"shapes {shapes}): {type(err).__name__}: {err}") from err
        if not hasattr(out, "shape") or out.shape != () or not np.issubdtype(out.dtype, np.floating):
            raise ValueError(f"loss(params, example) must return a real scalar (the loss of one example), "
                             f"got {getattr(out, 'shape', out)} of dtype {getattr(out, 'dtype', type(out))}; "
                             f"for a batched loss, write it for one example instead")

    # ------------------------------------------------------------------ EmpiricalRisk plumbing
    @property
    def n_examples(self) -> int:
        """Number of examples n in the data set."""
        return self._n

    def _data(self, dtype):
        # The hooks receive example *indices* (b,) or (M, b), checked by EmpiricalRisk._batch;
        # the examples themselves are gathered inside the compiled functions.
        return self._indices, self._indices

    def _cast(self, dtype):
        """The data as JAX arrays, floating leaves in ``dtype`` (kept on the device, per dtype)."""
        dtype = np.dtype(dtype)
        if dtype not in self._cast_cache:
            jax = _jax()
            with _x64(jax):
                self._cast_cache[dtype] = jax.tree_util.tree_map(
                    lambda a: jax.numpy.asarray(a.astype(dtype) if a.dtype.kind == "f" else a), self.data)
        return self._cast_cache[dtype]

    def _functions(self):
        """The compiled functions, built on first use into the JAX cache: name -> (shared batch,
        per-particle batch)."""
        if "losses" in self._jax_cache:
            return self._jax_cache
        jax = _jax()
        jnp = jax.numpy
        vmap, unravel, loss = jax.vmap, self._jax_cache["unravel"], self._loss

        def example_loss(flat, example):
            return loss(unravel(flat), example)

        def take(data, idx):
            return jax.tree_util.tree_map(lambda a: a[idx], data)

        def losses(flat, data, idx):  # (b,)
            return vmap(example_loss, (None, 0))(flat, take(data, idx))

        def grads(flat, data, idx):  # (b, d)
            return vmap(jax.grad(example_loss), (None, 0))(flat, take(data, idx))

        def weighted(flat, data, idx, w):  # (d,)
            return jax.grad(lambda f: jnp.sum(w * losses(f, data, idx)))(flat)

        def mean_grad(flat, data, idx):
            return jax.grad(lambda f: jnp.mean(losses(f, data, idx)))(flat)

        def hvp(flat, data, idx, v):  # (d,)
            return jax.jvp(lambda f: mean_grad(f, data, idx), (flat,), (v,))[1]

        def hessian(flat, data, idx):  # (d, d), symmetric
            eye = jnp.eye(flat.shape[0], dtype=flat.dtype)
            return vmap(lambda v: hvp(flat, data, idx, v))(eye)

        def cloud(fn, n_extra):
            shared = jax.jit(vmap(fn, (0, None, None) + (0,) * n_extra))
            own = jax.jit(vmap(fn, (0, None, 0) + (0,) * n_extra))
            return shared, own

        self._jax_cache.update({"losses": cloud(losses, 0), "grads": cloud(grads, 0),
                                "weighted": cloud(weighted, 1), "hvp": cloud(hvp, 1),
                                "hessian": cloud(hessian, 0)})
        return self._jax_cache

    def _call(self, name, theta, idx, *extra):
        shared, own = self._functions()[name]
        fn = shared if idx.ndim == 1 else own
        with _x64(_jax()):
            out = fn(theta, self._cast(theta.dtype), idx, *extra)
            return np.array(out, dtype=theta.dtype)  # a writable NumPy copy

    def _per_example_loss(self, theta, x, y):
        return self._call("losses", theta, x)

    def _per_example_grads(self, theta, x, y):
        return self._call("grads", theta, x)

    def _weighted_grad(self, theta, x, y, w):
        return self._call("weighted", theta, x, np.ascontiguousarray(w, dtype=theta.dtype))

    def _hvp(self, theta, v, x, y):
        return self._call("hvp", theta, x, np.ascontiguousarray(v, dtype=theta.dtype))

    def hessian(self, theta, batch=None) -> np.ndarray:
        """Hessian of the full-batch (or batch) risk, shape (M, d, d): d HVPs in one compiled call.

        Parameters
        ----------
        theta : array_like, shape (M, d)
        batch : array_like of int, shape (b,) or (M, b), optional
            The examples (default: all n).
        """
        theta = self._check(theta, "theta")
        idx = self._batch(batch, theta.shape[0], theta.dtype, "batch")[0]
        h = self._call("hessian", theta, idx)
        return h + self.weight_decay * np.eye(self.dim, dtype=theta.dtype)

    # ------------------------------------------------------------------ parameters
    def flatten(self, params) -> np.ndarray:
        """A parameter pytree (the template's structure) as a flat vector, shape (d,), float64.

        Raises
        ------
        ValueError
            If its structure or shapes differ from the template's, or it holds NaN or inf.
        """
        jax = _jax()
        with _x64(jax):
            leaves, structure = jax.tree_util.tree_flatten(params)
            template, template_structure = jax.tree_util.tree_flatten(
                self._jax_cache["unravel"](self.flat_params))
            shapes, template_shapes = [np.shape(a) for a in leaves], [np.shape(a) for a in template]
            if structure != template_structure or shapes != template_shapes:
                raise ValueError("params must have the structure and shapes of params_template")
            flat = np.array(jax.flatten_util.ravel_pytree(
                jax.tree_util.tree_map(lambda a: np.asarray(a, dtype=np.float64), params))[0])
        if not np.all(np.isfinite(flat)):
            raise ValueError("params contains NaN or inf")
        return flat

    def unflatten(self, theta):
        """Flat parameters back to the template's pytree: (d,) → pytree, (M, d) → pytree of (M, ...)."""
        jax, unravel = _jax(), self._jax_cache["unravel"]
        theta = np.asarray(theta)
        if theta.shape[-1:] != (self.dim,) or theta.ndim not in (1, 2):
            raise ValueError(f"theta must have shape ({self.dim},) or (M, {self.dim}), got {theta.shape}")
        with _x64(jax):
            if theta.ndim == 1:
                return jax.tree_util.tree_map(np.asarray, unravel(theta))
            return jax.tree_util.tree_map(np.asarray, jax.vmap(unravel)(theta))

    def init_params(self, n_particles: int, seed: int | None = None, scale: float = 0.0,
                    dtype=np.float64) -> np.ndarray:
        """A cloud of parameter vectors around the template, shape (n_particles, d).

        ``θ_m = flat_params + scale · z_m`` with z_m standard normal from the counter-based
        generator (particle m gets the same z_m whatever the cloud size).  ``scale = 0``
        repeats the template.
        """
        if isinstance(n_particles, bool) or not isinstance(n_particles, (int, np.integer)) or n_particles < 1:
            raise ValueError(f"n_particles must be an integer >= 1, got {n_particles!r}")
        scale = float(scale)
        if not (np.isfinite(scale) and scale >= 0):
            raise ValueError(f"scale must be a finite number >= 0, got {scale}")
        theta = np.repeat(self.flat_params[None, :], int(n_particles), axis=0)
        if scale:
            theta = theta + scale * normals(resolve_seed(seed), np.arange(int(n_particles)), 0, self.dim,
                                            STREAM_INIT)
        return theta.astype(dtype)

    def __repr__(self):
        return f"JaxModel({self.name}, n={self.n_examples}, d={self.dim}, weight_decay={self.weight_decay})"
