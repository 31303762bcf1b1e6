// Fused integrator steps for one particle (mirrors sgdsde/integrators/_numba_fused.py and
// the NumPy reference steps): isotropic thermal noise at temperature T in flat space, the
// whole state of the particle in registers for n_steps steps.  Each function returns the
// step at which the particle first left |x_k| <= max_abs (NaN included), or -1; it then
// stops, and the caller freezes the particle.
#ifndef SGDSDE_STEPS_CUH
#define SGDSDE_STEPS_CUH

#include "random.cuh"
#include "toy.cuh"

// What every fused run shares.
struct Run {
    int kind;          // Landscape.fused_kind
    const double* p;   // Landscape.fused_params
    Ziggurat zig;
    u64 seed;
    i64 step0;         // absolute number of the first step taken
    i64 n_steps;
    double dt, temp, max_abs;
    double friction, mass;  // underdamped only
};

template <typename real, int D>
SGD_FN bool inside(const real* x, double max_abs) {
    bool ok = true;
    SGD_UNROLL
    for (int k = 0; k < D; ++k) ok = ok && fabs((double)x[k]) <= max_abs;  // NaN fails
    return ok;
}

// Euler-Maruyama: x' = x - h grad U(x) + sqrt(2 T h) xi_n.
template <typename real, int D>
SGD_FN i64 euler_maruyama_particle(const Run& r, u64 particle, real* x) {
    const Key key = make_key(r.seed, particle, SGD_STREAM_NOISE);
    const real dt = (real)r.dt, sigma = (real)(sqrt(r.dt) * sqrt(2.0 * r.temp));
    NoiseBlock<real, D> noise;
    noise.reset();
    real g[D];
    for (i64 n = r.step0; n < r.step0 + r.n_steps; ++n) {
        noise.prepare(r.zig, key, n);
        point_grad<real, D>(r.kind, x, r.p, g);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) x[k] = x[k] + (-dt * g[k] + sigma * noise.get(n, k));
        if (!inside<real, D>(x, r.max_abs)) return n;
    }
    return -1;
}

// Stochastic Heun: Euler-Maruyama predictor, trapezoidal drift, the same kick.
template <typename real, int D>
SGD_FN i64 heun_particle(const Run& r, u64 particle, real* x) {
    const Key key = make_key(r.seed, particle, SGD_STREAM_NOISE);
    const real dt = (real)r.dt, sigma = (real)(sqrt(r.dt) * sqrt(2.0 * r.temp));
    NoiseBlock<real, D> noise;
    noise.reset();
    real g0[D], g1[D], xt[D], kick[D];
    for (i64 n = r.step0; n < r.step0 + r.n_steps; ++n) {
        noise.prepare(r.zig, key, n);
        point_grad<real, D>(r.kind, x, r.p, g0);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) {
            kick[k] = sigma * noise.get(n, k);
            xt[k] = x[k] + (-dt * g0[k] + kick[k]);
        }
        point_grad<real, D>(r.kind, xt, r.p, g1);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) x[k] = x[k] + ((real)(-0.5) * dt * (g0[k] + g1[k]) + kick[k]);
        if (!inside<real, D>(x, r.max_abs)) return n;
    }
    return -1;
}

// Leimkuhler-Matthews: x' = x - h grad U(x) + sqrt(2 T h) (xi_n + xi_{n+1}) / 2.
template <typename real, int D>
SGD_FN i64 leimkuhler_matthews_particle(const Run& r, u64 particle, real* x) {
    const Key key = make_key(r.seed, particle, SGD_STREAM_NOISE);
    const real dt = (real)r.dt, sigma = (real)(sqrt(r.dt) * sqrt(2.0 * r.temp));
    NoiseBlock<real, D> noise;
    noise.reset();
    real g[D], xi_now[D];
    noise.prepare(r.zig, key, r.step0);
    SGD_UNROLL
    for (int k = 0; k < D; ++k) xi_now[k] = noise.get(r.step0, k);
    for (i64 n = r.step0; n < r.step0 + r.n_steps; ++n) {
        noise.prepare(r.zig, key, n + 1);
        point_grad<real, D>(r.kind, x, r.p, g);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) {
            const real xi_next = noise.get(n + 1, k);
            x[k] = x[k] + (-dt * g[k] + sigma * ((real)0.5 * (xi_now[k] + xi_next)));
            xi_now[k] = xi_next;
        }
        if (!inside<real, D>(x, r.max_abs)) return n;
    }
    return -1;
}

// MALA: Euler-Maruyama proposal, Metropolis-Hastings test with a uniform of the accept
// stream.  ``g`` and ``u`` (gradient and energy at x) and ``accepted`` are carried.
template <typename real, int D>
SGD_FN i64 mala_particle(const Run& r, u64 particle, real* x, real* g, real* u, i64* accepted) {
    const Key key = make_key(r.seed, particle, SGD_STREAM_NOISE);
    const Key accept_key = make_key(r.seed, particle, SGD_STREAM_ACCEPT);
    const real dt = (real)r.dt, temp = (real)r.temp, sigma = (real)sqrt(2.0 * r.temp * r.dt);
    NoiseBlock<real, D> noise;
    noise.reset();
    real y[D], gy[D];
    for (i64 n = r.step0; n < r.step0 + r.n_steps; ++n) {
        noise.prepare(r.zig, key, n);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) y[k] = x[k] - dt * g[k] + sigma * noise.get(n, k);
        point_grad<real, D>(r.kind, y, r.p, gy);
        const real uy = point_energy<real, D>(r.kind, y, r.p);
        real forward = 0, backward = 0;
        SGD_UNROLL
        for (int k = 0; k < D; ++k) {
            const real f = y[k] - x[k] + dt * g[k], b = x[k] - y[k] + dt * gy[k];
            forward += f * f;
            backward += b * b;
        }
        const real log_alpha = -(uy - *u) / temp - (backward - forward) / ((real)4 * temp * dt);
        if (log(uniform_at(accept_key, (u64)n, 0u)) < (double)log_alpha) {  // NaN: rejected
            SGD_UNROLL
            for (int k = 0; k < D; ++k) {
                x[k] = y[k];
                g[k] = gy[k];
            }
            *u = uy;
            *accepted += 1;
        }
        if (!inside<real, D>(x, r.max_abs)) return n;
    }
    return -1;
}

// BAOAB with thermal noise: B A O A B, the force at the end of a step reused at the start of
// the next.  ``v`` and ``g`` (the gradient at x) are carried.
template <typename real, int D>
SGD_FN i64 baoab_particle(const Run& r, u64 particle, real* x, real* v, real* g) {
    const Key key = make_key(r.seed, particle, SGD_STREAM_NOISE);
    const real dt = (real)r.dt;
    const real c = (real)exp(-r.friction * r.dt);
    const real kick = (real)sqrt(-expm1(-2.0 * r.friction * r.dt) * r.temp / r.mass);
    const real half = (real)(0.5 * r.dt / r.mass);
    NoiseBlock<real, D> noise;
    noise.reset();
    for (i64 n = r.step0; n < r.step0 + r.n_steps; ++n) {
        noise.prepare(r.zig, key, n);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) {
            v[k] = v[k] - half * g[k];
            x[k] = x[k] + (real)0.5 * dt * v[k];
            v[k] = c * v[k] + kick * noise.get(n, k);
            x[k] = x[k] + (real)0.5 * dt * v[k];
        }
        point_grad<real, D>(r.kind, x, r.p, g);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) v[k] = v[k] - half * g[k];
        if (!(inside<real, D>(x, r.max_abs) && inside<real, D>(v, r.max_abs))) return n;
    }
    return -1;
}

// OBABO (Bussi & Parrinello 2007), as sgdsde/integrators/obabo.py: half-step O with the
// normals 0 .. D-1 of step n, velocity Verlet, half-step O with the normals D .. 2D-1.
template <typename real, int D>
SGD_FN i64 obabo_particle(const Run& r, u64 particle, real* x, real* v, real* g) {
    const Key key = make_key(r.seed, particle, SGD_STREAM_NOISE);
    const real dt = (real)r.dt;
    const real c = (real)exp(-0.5 * r.friction * r.dt);
    const real kick = (real)sqrt(-expm1(-r.friction * r.dt) * r.temp / r.mass);
    const real half = (real)(0.5 * r.dt / r.mass);
    NoiseBlock<real, 2 * D> noise;
    noise.reset();
    for (i64 n = r.step0; n < r.step0 + r.n_steps; ++n) {
        noise.prepare(r.zig, key, n);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) {
            v[k] = c * v[k] + kick * noise.get(n, k);
            v[k] = v[k] - half * g[k];
            x[k] = x[k] + dt * v[k];
        }
        point_grad<real, D>(r.kind, x, r.p, g);
        SGD_UNROLL
        for (int k = 0; k < D; ++k) {
            v[k] = v[k] - half * g[k];
            v[k] = c * v[k] + kick * noise.get(n, D + k);
        }
        if (!(inside<real, D>(x, r.max_abs) && inside<real, D>(v, r.max_abs))) return n;
    }
    return -1;
}

#endif  // SGDSDE_STEPS_CUH
