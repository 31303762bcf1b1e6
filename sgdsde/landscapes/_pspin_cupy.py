"""The pure spherical p-spin model on the GPU: couplings drawn on the device, cuBLAS gradients.

``H(σ) = N^{-(p-1)/2} Σ J_{i1..ip} σ_i1 ⋯ σ_ip`` on the sphere ``|σ|² = N`` with J i.i.d.
N(0, 1) (the ABC normalisation, docs/theory.md §4: ``E[H(σ)H(σ')] = N q^p``).  H depends on J only
through its symmetrisation, which is drawn directly: for indices whose multiset has ``m``
distinct orderings (``m = p! / Π multiplicity!``), ``J_sym = z / sqrt(m)``, the mean of m
i.i.d. normals, where z is the counter-based normal of :mod:`sgdsde.random` at
``(seed, particle = s1, step 0, component = s2 N^{p-2} + … + sp, stream = 64 + p)`` of the
sorted indices ``s1 <= … <= sp``.  The GPU kernel (``_cuda/couplings.cuh``) and
:func:`couplings_reference` (NumPy) therefore draw the same tensor, bit for bit, and it is
the tensor of the CPU model :class:`~sgdsde.landscapes.SphericalPSpin` of the same seed
(stored there packed, :mod:`._pspin_packed`).

With a symmetric tensor a whole cloud's energy and gradient cost one GEMM: contracting the
first index, ``A = X · J.reshape(N, N^{p-1})`` (M × N^{p-1}, cuBLAS), then p − 2 batched
matrix–vector products down to ``v_k = Σ J_{k i2..ip} σ_i2 ⋯ σ_ip`` (M × N), and

    ∇H = p N^{-(p-1)/2} v,        H = N^{-(p-1)/2} σ · v        (Euler: σ·∇H = p H).

The tensor takes ``N^p`` numbers of the cloud's dtype: N = 2000, p = 3 is 32 GB in float32.
"""

from __future__ import annotations

import math

import numpy as np

from .. import random as rnd
from ..manifolds import Sphere
from ._pspin_packed import coupling_stream
from .base import Landscape

__all__ = ["coupling_stream", "couplings_reference", "device_couplings", "DevicePSpin"]

MAX_P = 8  # the kernel sorts indices in a fixed-size array


def _check_model(n, p):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 2 <= p <= MAX_P:
        raise ValueError(f"p must be an integer in [2, {MAX_P}], got {p!r}")
    if int(n) ** (int(p) - 1) >= 2**32:
        raise ValueError(f"n**(p - 1) must be below 2**32 (the generator's component range), "
                         f"got n = {n}, p = {p}")
    return int(n), int(p)


def couplings_reference(n: int, p: int, seed: int, dtype=np.float64) -> np.ndarray:
    """The symmetric couplings ``J_sym``, shape ``(n,) * p``, with NumPy (small n: tests).

    Parameters
    ----------
    n : int
        Number of spins N >= 2.
    p : int
        Order of the interaction, 2 <= p <= 8, with ``n**(p-1) < 2**32``.
    seed : int
        Key of the counter-based generator.
    dtype : numpy dtype
        float64 or float32 (the same numbers, rounded).

    Returns
    -------
    ndarray, shape (n,) * p
        Symmetric under every permutation of the indices; see the module docstring.
    """
    n, p = _check_model(n, p)
    s = np.sort(np.indices((n,) * p).reshape(p, -1), axis=0).astype(np.uint64)
    orbit = np.ones(s.shape[1], dtype=np.uint64)
    run = np.ones_like(orbit)
    comp = np.zeros_like(orbit)
    for a in range(1, p):  # the kernel's integer recursion, exact at every partial product
        run = np.where(s[a] == s[a - 1], run + np.uint64(1), np.uint64(1))
        orbit = orbit * np.uint64(a + 1) // run
        comp = comp * np.uint64(n) + s[a]
    table = rnd.normals(seed, np.arange(n), 0, n ** (p - 1), coupling_stream(p))
    z = table[s[0].astype(np.intp), comp.astype(np.intp)]
    return (z / np.sqrt(orbit.astype(np.float64))).reshape((n,) * p).astype(dtype)


def device_couplings(n: int, p: int, seed: int, dtype=np.float32):
    """The same couplings as :func:`couplings_reference`, drawn on the GPU (a CuPy array).

    Raises
    ------
    MemoryError
        If the ``n**p`` couplings do not fit in the device's free memory.
    """
    cupy = _cupy()

    from .._cuda import compiled, ziggurat_tables

    n, p = _check_model(n, p)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    total = n**p
    need = total * dtype.itemsize
    free, _ = cupy.cuda.runtime.memGetInfo()
    if need > free:
        raise MemoryError(f"the p-spin couplings need {need / 2**30:.1f} GiB (N = {n}, p = {p}, "
                          f"{dtype}); the device has {free / 2**30:.1f} GiB free")
    j = cupy.empty((n,) * p, dtype=dtype)
    kernel = compiled(cupy, "pspin.cu", (f"pspin_couplings<{_ctype(dtype)}>",)).get_function(
        f"pspin_couplings<{_ctype(dtype)}>")
    threads = 256
    blocks = min((total + threads - 1) // threads, 65535 * 8)
    kernel((blocks,), (threads,), (j, np.int64(total), np.int32(n), np.int32(p),
                                   np.uint64(rnd.resolve_seed(seed)), np.uint32(coupling_stream(p)),
                                   *ziggurat_tables(cupy)))
    return j


def _cupy():
    """CuPy, or an error naming the extra that installs it."""
    from .._extras import require

    return require("cupy", "gpu", "DevicePSpin (the p-spin model on a GPU)")


def _ctype(dtype):
    return "float" if np.dtype(dtype) == np.float32 else "double"


class DevicePSpin(Landscape):
    """Pure spherical p-spin with its couplings on the GPU; batched energy and gradient by cuBLAS.

    Methods take and return CuPy arrays (NumPy input is moved to the device and the result
    brought back), so ``simulate(..., backend="cupy")`` runs it without leaving the device.

    Parameters
    ----------
    n : int
        Number of spins N; particles live on the sphere ``|σ|² = N``.
    p : int
        Order of the interaction (2 <= p <= 8).
    seed : int
        Seed of the couplings (see the module docstring for the construction).
    dtype : {float32, float64}
        Precision of the couplings and of the arithmetic; the cloud must have the same dtype.

    Notes
    -----
    Memory: ``N**p`` couplings, plus ``M N^{p-1}`` numbers for a cloud of M particles.
    Time per gradient: one (M × N) · (N × N^{p-1}) GEMM, ``2 M N^p`` flops.
    """

    fused_kind = None
    has_hessian = False

    def __init__(self, n: int, p: int = 3, seed: int = 0, dtype=np.float32):
        self.n, self.p = _check_model(n, p)
        self.dim = self.n
        self.seed = rnd.resolve_seed(seed)
        self.dtype = np.dtype(dtype)
        self.manifold = Sphere(math.sqrt(self.n))
        self.scale = self.n ** (-(self.p - 1) / 2)
        self.couplings = device_couplings(self.n, self.p, self.seed, self.dtype)
        self._matrix = self.couplings.reshape(self.n, -1)  # a view: (N, N^{p-1})

    def energy_and_grad(self, x):
        """``(H(σ), ∇H(σ))`` of a cloud ``x`` (M, N): shapes (M,) and (M, N), on the device."""
        cupy = _cupy()

        xd = self._device(x)
        m = xd.shape[0]
        v = xd @ self._matrix  # the GEMM: (M, N) · (N, N^{p-1})
        for _ in range(self.p - 2):  # contract the last index: (M, K, N) · (M, N, 1)
            v = cupy.matmul(v.reshape(m, -1, self.n), xd[:, :, None])[:, :, 0]
        energy = self.scale * cupy.sum(v * xd, axis=1)
        grad = (self.p * self.scale) * v
        return (self._back(x, energy.astype(self.dtype, copy=False)),
                self._back(x, grad.astype(self.dtype, copy=False)))

    def energy(self, x):
        return self.energy_and_grad(x)[0]

    def grad(self, x):
        return self.energy_and_grad(x)[1]

    def energy_per_spin(self, x):
        """``H(σ)/N``, shape (M,): the intensive energy of the p-spin literature."""
        return self.energy(x) / self.n

    def _device(self, x):
        cupy = _cupy()

        xd = cupy.asarray(x)
        if xd.ndim != 2 or xd.shape[1] != self.n:
            raise ValueError(f"x must have shape (n_particles, {self.n}), got {xd.shape}")
        if xd.dtype != self.dtype:
            raise TypeError(f"x must have the couplings' dtype {self.dtype}, got {xd.dtype}")
        return xd

    @staticmethod
    def _back(x, value):
        return value if not isinstance(x, np.ndarray) else value.get()

    def __repr__(self):
        return f"DevicePSpin(n={self.n}, p={self.p}, seed={self.seed}, dtype={self.dtype})"
