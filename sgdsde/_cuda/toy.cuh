// Pointwise toy landscapes (mirrors sgdsde/landscapes/_toy_numba.py): the negative drift
// and the energy of one particle, in the precision ``real`` of the cloud.  ``kind`` and the
// float64 parameter vector ``p`` are those of Landscape.fused_kind / fused_params.
#ifndef SGDSDE_TOY_CUH
#define SGDSDE_TOY_CUH

#include "portable.cuh"

#define SGD_KIND_QUADRATIC 0       // p: A (D*D, row-major), centre c (D)
#define SGD_KIND_DOUBLE_WELL 1     // p: barrier h, tilt, transverse stiffness kappa
#define SGD_KIND_MULLER_BROWN 2    // p: energy scale s
#define SGD_KIND_RUGGED 3          // p: stiffness k, amplitude eps, wavelength lam
#define SGD_KIND_NONCONSERVATIVE 4 // p: G = A - Omega (D*D), centre c (D), A (D*D)

#define SGD_PI 3.141592653589793

// Mueller & Brown, Theor. Chim. Acta 53, 75 (1979): the four Gaussian terms.
SGD_FN double mb_term(int t, double dx, double dy, double* ax, double* bx, double* cy) {
    const double A[4] = {-200.0, -100.0, -170.0, 15.0};
    const double a[4] = {-1.0, -1.0, -6.5, 0.7};
    const double b[4] = {0.0, 0.0, 11.0, 0.6};
    const double c[4] = {-10.0, -10.0, -6.5, 0.7};
    *ax = a[t];
    *bx = b[t];
    *cy = c[t];
    return A[t] * exp(a[t] * dx * dx + b[t] * dx * dy + c[t] * dy * dy);
}

SGD_FN void mb_offsets(int t, double* x0, double* y0) {
    const double X[4] = {1.0, 0.0, -0.5, -1.0};
    const double Y[4] = {0.0, 0.5, 1.5, 1.0};
    *x0 = X[t];
    *y0 = Y[t];
}

template <typename real, int D>
SGD_FN void point_grad(int kind, const real* x, const double* p, real* g) {
    if (kind == SGD_KIND_DOUBLE_WELL) {
        const real x0 = x[0];
        g[0] = (real)(4.0 * p[0]) * x0 * (x0 * x0 - (real)1) + (real)p[1];
        SGD_UNROLL
        for (int i = 1; i < D; ++i) g[i] = (real)p[2] * x[i];
    } else if (kind == SGD_KIND_QUADRATIC || kind == SGD_KIND_NONCONSERVATIVE) {
        SGD_UNROLL
        for (int i = 0; i < D; ++i) {
            real s = 0;
            SGD_UNROLL
            for (int j = 0; j < D; ++j) s += (real)p[i * D + j] * (x[j] - (real)p[D * D + j]);
            g[i] = s;
        }
    } else if (kind == SGD_KIND_MULLER_BROWN && D == 2) {
        double gx = 0.0, gy = 0.0;
        for (int t = 0; t < 4; ++t) {
            double x0, y0, a, b, c;
            mb_offsets(t, &x0, &y0);
            const double dx = (double)x[0] - x0, dy = (double)x[1] - y0;
            const double e = mb_term(t, dx, dy, &a, &b, &c);
            gx += e * (2.0 * a * dx + b * dy);
            gy += e * (b * dx + 2.0 * c * dy);
        }
        g[0] = (real)(p[0] * gx);
        g[1] = (real)(p[0] * gy);
    } else if (kind == SGD_KIND_RUGGED) {
        const real q = (real)(2.0 * SGD_PI / p[2]);
        SGD_UNROLL
        for (int i = 0; i < D; ++i) g[i] = (real)p[0] * x[i] - (real)p[1] * q * sin(q * x[i]);
    } else {  // an unknown kind: NaN, so the particle is reported as diverged at once
        SGD_UNROLL
        for (int i = 0; i < D; ++i) g[i] = (real)nan("");
    }
}

template <typename real, int D>
SGD_FN real point_energy(int kind, const real* x, const double* p) {
    if (kind == SGD_KIND_DOUBLE_WELL) {
        const real x0 = x[0];
        const real w = x0 * x0 - (real)1;
        real s = 0;
        SGD_UNROLL
        for (int i = 1; i < D; ++i) s += x[i] * x[i];
        return (real)p[0] * w * w + (real)p[1] * x0 + (real)(0.5 * p[2]) * s;
    }
    if (kind == SGD_KIND_QUADRATIC || kind == SGD_KIND_NONCONSERVATIVE) {
        const int a_off = kind == SGD_KIND_NONCONSERVATIVE ? D * D + D : 0;
        real u = 0;
        SGD_UNROLL
        for (int i = 0; i < D; ++i) {
            real s = 0;
            SGD_UNROLL
            for (int j = 0; j < D; ++j) s += (real)p[a_off + i * D + j] * (x[j] - (real)p[D * D + j]);
            u += (real)0.5 * (x[i] - (real)p[D * D + i]) * s;
        }
        return u;
    }
    if (kind == SGD_KIND_MULLER_BROWN && D == 2) {
        double u = 0.0;
        for (int t = 0; t < 4; ++t) {
            double x0, y0, a, b, c;
            mb_offsets(t, &x0, &y0);
            u += mb_term(t, (double)x[0] - x0, (double)x[1] - y0, &a, &b, &c);
        }
        return (real)(p[0] * u);
    }
    if (kind == SGD_KIND_RUGGED) {
        const real q = (real)(2.0 * SGD_PI / p[2]);
        real u = 0;
        SGD_UNROLL
        for (int i = 0; i < D; ++i) u += (real)(0.5 * p[0]) * x[i] * x[i] + (real)p[1] * cos(q * x[i]);
        return u;
    }
    return (real)nan("");
}

#endif  // SGDSDE_TOY_CUH
