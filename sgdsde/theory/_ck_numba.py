"""Numba kernels for the Cugliandolo–Kurchan memory integrals (see ``cugliandolo_kurchan``).

The covariance ξ(q) = Σ_p a_p q^p is passed as its coefficient vector ``a`` (``a[p]``).
Two-time arrays are square; the correlation is stored symmetric (``C[i, j] = C[j, i]``) so
that every memory integral runs along a contiguous row.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def xi_prime(c, a):
    """ξ'(c) for ξ(q) = Σ_p a[p] q^p."""
    s = 0.0
    q = 1.0
    for p in range(1, a.shape[0]):
        s += p * a[p] * q
        q *= c
    return s


@njit(cache=True)
def xi_second(c, a):
    """ξ''(c) for ξ(q) = Σ_p a[p] q^p."""
    s = 0.0
    q = 1.0
    for p in range(2, a.shape[0]):
        s += p * (p - 1) * a[p] * q
        q *= c
    return s


# --------------------------------------------------------------------------------------
# Fixed grid: Heun (trapezoidal predictor–corrector) on C and R, trapezoidal memory sums.
# --------------------------------------------------------------------------------------

@njit(cache=True)
def _row_derivatives(C, R, RT, i, h, temperature, a, g1, g2, u, fc, fr):
    """∂_t C(t_i, t_j), ∂_t R(t_i, t_j) for j <= i, from rows 0..i; returns (μ_i, E_i).

    ``R[i, i] = 1`` is the equal-time limit R(t⁺, t); ``RT`` is the transpose of R.
    """
    for l in range(i + 1):
        g1[l] = xi_prime(C[i, l], a)
        g2[l] = xi_second(C[i, l], a)
    mu_int = 0.0
    energy = 0.0
    for l in range(i + 1):
        w = h if 0 < l < i else 0.5 * h
        if i == 0:
            w = 0.0
        mu_int += w * (g2[l] * C[i, l] + g1[l]) * R[i, l]
        energy -= w * g1[l] * R[i, l]
        u[l] = w * g2[l] * R[i, l]
    mu = temperature + mu_int
    for j in range(i + 1):
        # ∫_0^{t_i} ξ''(C(t_i,s)) R(t_i,s) C(s,t_j) ds
        mem_c = 0.0
        for l in range(i + 1):
            mem_c += u[l] * C[j, l]
        # ∫_0^{t_j} ξ'(C(t_i,s)) R(t_j,s) ds
        if j > 0:
            mem_c += 0.5 * h * (g1[0] * R[j, 0] + g1[j] * R[j, j])
            for l in range(1, j):
                mem_c += h * g1[l] * R[j, l]
        # ∫_{t_j}^{t_i} ξ''(C(t_i,s)) R(t_i,s) R(s,t_j) ds
        mem_r = 0.0
        if j < i:
            mem_r = 0.5 * h * (g2[j] * R[i, j] * RT[j, j] + g2[i] * R[i, i] * RT[j, i])
            for l in range(j + 1, i):
                mem_r += h * g2[l] * R[i, l] * RT[j, l]
        fc[j] = -mu * C[i, j] + mem_c
        fr[j] = -mu * R[i, j] + mem_r
    return mu, energy


@njit(cache=True)
def _set_row(C, R, RT, i, c_row, r_row):
    for j in range(i):
        C[i, j] = c_row[j]
        C[j, i] = c_row[j]
        R[i, j] = r_row[j]
        RT[j, i] = r_row[j]
    C[i, i] = 1.0
    R[i, i] = 1.0
    RT[i, i] = 1.0


@njit(cache=True)
def solve_fixed_grid(n_steps, h, temperature, a, C, R, mu, energy):
    """Integrate the CK equations on t_i = i h, i = 0..n_steps, with Heun's scheme.

    Fills ``C`` and ``R`` (lower triangle of R, symmetric C), ``mu`` and ``energy``
    in place.  Second order in h: trapezoidal memory sums with the kinks of C(s, t')
    at s = t' and the jump of R at s = t' on grid nodes.
    """
    n = n_steps + 1
    RT = np.zeros((n, n))
    g1 = np.empty(n)
    g2 = np.empty(n)
    u = np.empty(n)
    fc0 = np.empty(n)
    fr0 = np.empty(n)
    fc1 = np.empty(n)
    fr1 = np.empty(n)
    c_row = np.empty(n)
    r_row = np.empty(n)
    C[0, 0] = 1.0
    R[0, 0] = 1.0
    RT[0, 0] = 1.0
    for i in range(n_steps):
        mu[i], energy[i] = _row_derivatives(C, R, RT, i, h, temperature, a, g1, g2, u, fc0, fr0)
        for j in range(i + 1):  # predictor (Euler)
            c_row[j] = C[i, j] + h * fc0[j]
            r_row[j] = R[i, j] + h * fr0[j]
        _set_row(C, R, RT, i + 1, c_row, r_row)
        _row_derivatives(C, R, RT, i + 1, h, temperature, a, g1, g2, u, fc1, fr1)
        for j in range(i + 1):  # corrector (trapezoid in t)
            c_row[j] = C[i, j] + 0.5 * h * (fc0[j] + fc1[j])
            r_row[j] = R[i, j] + 0.5 * h * (fr0[j] + fr1[j])
        _set_row(C, R, RT, i + 1, c_row, r_row)
    mu[n_steps], energy[n_steps] = _row_derivatives(C, R, RT, n_steps, h, temperature, a,
                                                    g1, g2, u, fc0, fr0)


# --------------------------------------------------------------------------------------
# Grid doubling (Kim–Latz): implicit rows in C and the integrated response χ, a band of
# time-translation-invariant lags next to the diagonal, cell integrals kept on decimation.
# --------------------------------------------------------------------------------------

@njit(cache=True)
def _doubling_row(G, i, h, temperature, a, n_band, tol, max_iter, damping, g1, g2, c_new,
                  x_new):
    """Solve row i (time t_i) of the grid ``G``; returns (μ_i, E_i, iterations).

    ``G`` holds, on cells l = [s_{l-1}, s_l] and nodes of the two-time grid:
    ``C`` (symmetric), ``X`` = χ(t_i, t_j) = ∫_{t_j}^{t_i} R(t_i, s) ds and its transpose
    ``XT``; ``K1, K2, K3[i, l]`` = ∫_cell f(C(t_i, s)) R(t_i, s) ds for f = ξ', ξ'', ξ''C + ξ';
    ``Cv[i, l]`` the cell mean of C(t_i, ·); ``Ch[i, j]``, ``Xh[i, j]`` the means of C(·, t_j),
    χ(·, t_j) over the cell [t_{i-1}, t_i].

    Lags below ``n_band`` steps are copied from the previous row (time-translation
    invariance next to the diagonal); every memory integral pairs the cell integral of
    the fast function with the cell mean of the slow one, so structure finer than a step
    (the β relaxation, the fast part of R) keeps the weight it had on the finer grid it
    was computed on.  Time derivatives are BDF2 (backward Euler at the first lag).
    """
    C, X, XT, K1, K2, K3, Cv, Ch, Xh = G
    j_top = i - 1 - n_band  # columns 0..j_top are solved, the rest copied
    for j in range(max(j_top + 1, 1), i):
        C[i, j] = C[i - 1, j - 1]
        C[j, i] = C[i, j]
        X[i, j] = X[i - 1, j - 1]
        XT[j, i] = X[i, j]
        Ch[i, j] = Ch[i - 1, j - 1]
        Xh[i, j] = Xh[i - 1, j - 1]
    for l in range(max(i - n_band + 1, 2), i + 1):
        K1[i, l] = K1[i - 1, l - 1]
        K2[i, l] = K2[i - 1, l - 1]
        K3[i, l] = K3[i - 1, l - 1]
        Cv[i, l] = Cv[i - 1, l - 1]
    l_top = i - n_band  # cells 1..l_top are computed
    C[i, i] = 1.0
    X[i, i] = 0.0
    XT[i, i] = 0.0
    # predictor: linear extrapolation along each solved column
    for j in range(j_top + 1):
        if j <= i - 3:
            C[i, j] = min(1.0, max(-1.0, 2.0 * C[i - 1, j] - C[i - 2, j]))
            X[i, j] = 2.0 * X[i - 1, j] - X[i - 2, j]
        elif j == i - 2:
            C[i, j] = C[i - 1, j]
            X[i, j] = X[i - 1, j]
        else:
            C[i, j] = C[i - 1, j - 1] if j >= 1 else 1.0
            X[i, j] = X[i - 1, j - 1] if j >= 1 else h
        C[j, i] = C[i, j]
        XT[j, i] = X[i, j]

    mu = temperature
    energy = 0.0
    it = 0
    omega = damping
    last_change = np.inf
    while it < max_iter:
        it += 1
        for l in range(i + 1):
            g1[l] = xi_prime(C[i, l], a)
            g2[l] = xi_second(C[i, l], a)
        for l in range(1, l_top + 1):
            dx = X[i, l - 1] - X[i, l]
            K1[i, l] = 0.5 * (g1[l - 1] + g1[l]) * dx
            K2[i, l] = 0.5 * (g2[l - 1] + g2[l]) * dx
            K3[i, l] = 0.5 * (g2[l - 1] * C[i, l - 1] + g1[l - 1] + g2[l] * C[i, l] + g1[l]) * dx
            Cv[i, l] = 0.5 * (C[i, l - 1] + C[i, l])
        for j in range(j_top + 1):
            Ch[i, j] = 0.5 * (C[i - 1, j] + C[i, j])
            Xh[i, j] = 0.5 * (X[i - 1, j] + X[i, j])
        mu_int = 0.0
        energy = 0.0
        for l in range(1, i + 1):
            mu_int += K3[i, l]
            energy -= K1[i, l]
        mu = temperature + mu_int
        kappa = 0.5 * K2[i, i]  # the unknown's share of the last cell, taken implicitly
        change = 0.0
        for j in range(j_top + 1):
            # ∫_0^{t_i} ξ''(C(t_i,s)) R(t_i,s) C(s,t_j) ds
            mem_c = 0.0
            for l in range(1, j + 1):
                mem_c += K2[i, l] * Cv[j, l]
            for l in range(j + 1, i):
                mem_c += K2[i, l] * Ch[l, j]
            mem_c += kappa * C[i - 1, j]
            # ∫_0^{t_j} ξ'(C(t_i,s)) R(t_j,s) ds
            for l in range(1, j + 1):
                mem_c += 0.5 * (g1[l - 1] + g1[l]) * (X[j, l - 1] - X[j, l])
            # ∫_{t_j}^{t_i} ξ''(C(t_i,s)) R(t_i,s) χ(s,t_j) ds
            mem_x = 0.0
            for l in range(j + 1, i):
                mem_x += K2[i, l] * Xh[l, j]
            mem_x += kappa * X[i - 1, j]
            if j == i - 1:
                c_new[j] = (C[i - 1, j] + h * mem_c) / (1.0 + h * (mu - kappa))
                x_new[j] = (X[i - 1, j] + h * (1.0 + mem_x)) / (1.0 + h * (mu - kappa))
            else:
                den = 3.0 + 2.0 * h * (mu - kappa)
                c_new[j] = (4.0 * C[i - 1, j] - C[i - 2, j] + 2.0 * h * mem_c) / den
                x_new[j] = (4.0 * X[i - 1, j] - X[i - 2, j] + 2.0 * h * (1.0 + mem_x)) / den
            d = abs(c_new[j] - C[i, j]) + abs(x_new[j] - X[i, j])
            if d > change:
                change = d
        if change > last_change:  # an oscillating fixed point: relax more strongly
            omega = max(0.5 * omega, 0.05)
        last_change = change
        for j in range(j_top + 1):
            c = C[i, j] + omega * (c_new[j] - C[i, j])
            x = X[i, j] + omega * (x_new[j] - X[i, j])
            C[i, j] = c
            C[j, i] = c
            X[i, j] = x
            XT[j, i] = x
        if change < tol:
            break
    return mu, energy, it


@njit(cache=True)
def fill_rows(G, start, stop, h, temperature, a, n_band, tol, max_iter, damping, mu, energy,
              iterations):
    """Solve rows ``start..stop-1`` of the grid ``G`` in turn; returns the most iterations."""
    n = G[0].shape[0]
    g1 = np.empty(n)
    g2 = np.empty(n)
    c_new = np.empty(n)
    x_new = np.empty(n)
    worst = 0
    for i in range(start, stop):
        m, e, it = _doubling_row(G, i, h, temperature, a, n_band, tol, max_iter, damping,
                                 g1, g2, c_new, x_new)
        mu[i] = m
        energy[i] = e
        iterations[i] = it
        if it > worst:
            worst = it
    return worst


@njit(cache=True)
def decimate(G, mu, energy):
    """Keep every other time of a full grid of 2m + 1 points; cell integrals add up."""
    C, X, XT, K1, K2, K3, Cv, Ch, Xh = G
    m = (C.shape[0] - 1) // 2
    for i in range(m + 1):
        for j in range(i + 1):
            c = C[2 * i, 2 * j]
            x = X[2 * i, 2 * j]
            C[i, j] = c
            C[j, i] = c
            X[i, j] = x
            XT[j, i] = x
        for l in range(1, i + 1):
            K1[i, l] = K1[2 * i, 2 * l - 1] + K1[2 * i, 2 * l]
            K2[i, l] = K2[2 * i, 2 * l - 1] + K2[2 * i, 2 * l]
            K3[i, l] = K3[2 * i, 2 * l - 1] + K3[2 * i, 2 * l]
            Cv[i, l] = 0.5 * (Cv[2 * i, 2 * l - 1] + Cv[2 * i, 2 * l])
        if i >= 1:
            for j in range(i):
                Ch[i, j] = 0.5 * (Ch[2 * i - 1, 2 * j] + Ch[2 * i, 2 * j])
                Xh[i, j] = 0.5 * (Xh[2 * i - 1, 2 * j] + Xh[2 * i, 2 * j])
        mu[i] = mu[2 * i]
        energy[i] = energy[2 * i]


# --------------------------------------------------------------------------------------
# Equilibrium (FDT) Volterra equation.
# --------------------------------------------------------------------------------------

@njit(cache=True)
def solve_fdt(n_steps, h, temperature, a, c, dc, n_corrector):
    """Ċ(τ) = −T C(τ) − β ∫_0^τ ξ'(C(τ−s)) Ċ(s) ds, C(0) = 1, on τ_k = k h.

    Trapezoidal rule in τ for C and for the memory integral; the Ċ_k in the memory's
    last node is taken implicitly, and each step is a predictor plus ``n_corrector``
    corrector sweeps.  Fills ``c`` and ``dc`` (Ċ) in place.
    """
    beta = 1.0 / temperature
    m = np.empty(n_steps + 1)  # ξ'(C(τ_k))
    c[0] = 1.0
    m[0] = xi_prime(1.0, a)
    dc[0] = -temperature  # the memory integral vanishes at τ = 0
    for k in range(1, n_steps + 1):
        c[k] = c[k - 1] + h * dc[k - 1]
        for _ in range(n_corrector + 1):
            m[k] = xi_prime(c[k], a)
            # ∫_0^{τ_k} M(τ_k − s) Ċ(s) ds by trapezoid; the s = τ_k node holds Ċ_k
            mem = 0.5 * h * m[k] * dc[0]
            for l in range(1, k):
                mem += h * m[k - l] * dc[l]
            dck = (-temperature * c[k] - beta * mem) / (1.0 + 0.5 * h * beta * m[0])
            c[k] = c[k - 1] + 0.5 * h * (dc[k - 1] + dck)
            dc[k] = dck
