"""Numba kernel of the 3-spin contraction for small clouds, reading only the sorted entries.

For a symmetric tensor K the contraction ``G_a = Σ_{jk} K_{ajk} x_j x_k`` (so that ∇H = 3 G)
needs only the entries with ``i <= j <= k``: writing ``H = Σ_{i<=j<=k} w_{ijk} K_{ijk} x_i x_j x_k``
with ``w`` the number of distinct orderings (6, 3 or 1), each sorted entry contributes
``w K x_j x_k`` to ∂H/∂x_i, ``w K x_i x_k`` to ∂H/∂x_j and ``w K x_i x_j`` to ∂H/∂x_k (equal
indices add up correctly).  A cloud of M particles then reads N³/6 entries instead of the N³
of a GEMM, and does a third of its flops.  For a few particles the GEMM is a matrix–vector
product bound by memory traffic, so this kernel is faster; for many particles BLAS wins (the
crossover is measured by ``benchmarks/pspin.py``).

Rows i are dealt to blocks round-robin (the work of row i falls as (N − i)²); each block
accumulates into its own slice of ``partial`` so threads never write to the same place.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["contract_p3_sorted"]


@njit(cache=True, parallel=True, fastmath=True)
def _partial_p3(k, x, partial):
    n_blocks, m_particles, n = partial.shape
    for b in prange(n_blocks):
        for i in range(b, n, n_blocks):
            for j in range(i, n):
                w = 6.0 if i < j else 3.0  # weight of k > j
                w_diag = 3.0 if i < j else 1.0  # weight of k == j
                for m in range(m_particles):
                    xi = x[m, i]
                    xj = x[m, j]
                    cij = w * xi * xj
                    s = 0.0
                    for kk in range(j + 1, n):
                        v = k[i, j, kk]
                        s += v * x[m, kk]
                        partial[b, m, kk] += cij * v
                    d = w_diag * k[i, j, j] * xj
                    partial[b, m, i] += w * s * xj + d * xj
                    partial[b, m, j] += w * s * xi + 2.0 * d * xi


def contract_p3_sorted(k: np.ndarray, x: np.ndarray, n_blocks: int) -> np.ndarray:
    """``G = K · x ⊗ x`` for a symmetric (N, N, N) tensor and a cloud x (M, N): (M, N).

    ``k`` and ``x`` must share a dtype (float32 or float64) and be C-contiguous.
    """
    partial = np.zeros((n_blocks, x.shape[0], x.shape[1]), dtype=k.dtype)
    _partial_p3(k, x, partial)
    return partial.sum(axis=0) / 3.0
