// GPU kernels of the CuPy backend: one thread per particle, many steps per launch, the
// particle's state in registers; the cloud is read at the start of a launch and written at
// its end.  Instantiated by name for real in {float, double} and the dimension D, e.g.
// "euler_maruyama<float, 1>".  Common arguments: x (M, D) positions, updated in place;
// diverged (M,) int64, -1 or the step at which a particle blew up (frozen from then on);
// n_diverged, a counter the host reads after each launch; zk, zw, zf the ziggurat tables.
#include "steps.cuh"

#define SGD_RUN_ARGS                                                                      \
    int kind, const double* p, unsigned long long seed, long long offset, long long step0, \
        long long n_steps, double dt, double temp, double max_abs, double friction,        \
        double mass, const double* zk, const double* zw, const double* zf

// The ziggurat tables in shared memory (random layer indices across a warp), then the Run.
#define SGD_SETUP_RUN                                                                     \
    __shared__ double s_k[128], s_w[128], s_f[128];                                       \
    for (int t = threadIdx.x; t < 128; t += blockDim.x) {                                 \
        s_k[t] = zk[t];                                                                   \
        s_w[t] = zw[t];                                                                   \
        s_f[t] = zf[t];                                                                   \
    }                                                                                     \
    __syncthreads();                                                                      \
    Run r;                                                                                \
    r.kind = kind;                                                                        \
    r.p = p;                                                                              \
    r.zig.k = s_k;                                                                        \
    r.zig.w = s_w;                                                                        \
    r.zig.f = s_f;                                                                        \
    r.seed = seed;                                                                        \
    r.step0 = step0;                                                                      \
    r.n_steps = n_steps;                                                                  \
    r.dt = dt;                                                                            \
    r.temp = temp;                                                                        \
    r.max_abs = max_abs;                                                                  \
    r.friction = friction;                                                                \
    r.mass = mass;                                                                        \
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;                 \
    if (i >= m || diverged[i] >= 0) return;

#define SGD_LOAD(dst, src)                                   \
    real dst[D];                                             \
    SGD_UNROLL for (int k = 0; k < D; ++k) dst[k] = src[i * D + k];

#define SGD_STORE(dst, src) \
    SGD_UNROLL for (int k = 0; k < D; ++k) dst[i * D + k] = src[k];

#define SGD_MARK(bad)                  \
    if (bad >= 0) {                    \
        diverged[i] = bad;             \
        atomicAdd(n_diverged, 1);      \
    }

template <typename real, int D>
__global__ void euler_maruyama(real* x, long long m, long long* diverged, int* n_diverged,
                               SGD_RUN_ARGS) {
    SGD_SETUP_RUN
    SGD_LOAD(xl, x)
    const long long bad = euler_maruyama_particle<real, D>(r, (u64)(offset + i), xl);
    SGD_STORE(x, xl)
    SGD_MARK(bad)
}

template <typename real, int D>
__global__ void heun(real* x, long long m, long long* diverged, int* n_diverged, SGD_RUN_ARGS) {
    SGD_SETUP_RUN
    SGD_LOAD(xl, x)
    const long long bad = heun_particle<real, D>(r, (u64)(offset + i), xl);
    SGD_STORE(x, xl)
    SGD_MARK(bad)
}

template <typename real, int D>
__global__ void leimkuhler_matthews(real* x, long long m, long long* diverged, int* n_diverged,
                                    SGD_RUN_ARGS) {
    SGD_SETUP_RUN
    SGD_LOAD(xl, x)
    const long long bad = leimkuhler_matthews_particle<real, D>(r, (u64)(offset + i), xl);
    SGD_STORE(x, xl)
    SGD_MARK(bad)
}

template <typename real, int D>
__global__ void mala(real* x, real* grad, real* energy, long long* accepted, long long m,
                     long long* diverged, int* n_diverged, SGD_RUN_ARGS) {
    SGD_SETUP_RUN
    SGD_LOAD(xl, x)
    SGD_LOAD(gl, grad)
    real ul = energy[i];
    long long acc = accepted[i];
    const long long bad = mala_particle<real, D>(r, (u64)(offset + i), xl, gl, &ul, &acc);
    SGD_STORE(x, xl)
    SGD_STORE(grad, gl)
    energy[i] = ul;
    accepted[i] = acc;
    SGD_MARK(bad)
}

template <typename real, int D>
__global__ void baoab(real* x, real* v, real* grad, long long m, long long* diverged,
                      int* n_diverged, SGD_RUN_ARGS) {
    SGD_SETUP_RUN
    SGD_LOAD(xl, x)
    SGD_LOAD(vl, v)
    SGD_LOAD(gl, grad)
    const long long bad = baoab_particle<real, D>(r, (u64)(offset + i), xl, vl, gl);
    SGD_STORE(x, xl)
    SGD_STORE(v, vl)
    SGD_STORE(grad, gl)
    SGD_MARK(bad)
}

template <typename real, int D>
__global__ void obabo(real* x, real* v, real* grad, long long m, long long* diverged,
                      int* n_diverged, SGD_RUN_ARGS) {
    SGD_SETUP_RUN
    SGD_LOAD(xl, x)
    SGD_LOAD(vl, v)
    SGD_LOAD(gl, grad)
    const long long bad = obabo_particle<real, D>(r, (u64)(offset + i), xl, vl, gl);
    SGD_STORE(x, xl)
    SGD_STORE(v, vl)
    SGD_STORE(grad, gl)
    SGD_MARK(bad)
}

// Batched pointwise gradient and energy of a toy landscape: grad (M, D), energy (M,).
template <typename real, int D>
__global__ void toy_grad_energy(const real* x, real* grad, real* energy, long long m, int kind,
                                const double* p) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= m) return;
    SGD_LOAD(xl, x)
    real gl[D];
    point_grad<real, D>(kind, xl, p, gl);
    SGD_STORE(grad, gl)
    energy[i] = point_energy<real, D>(kind, xl, p);
}

// Normals (M, dim) of particles offset .. offset + M - 1 at one step: the NoiseSource.
template <typename real>
__global__ void normals(real* out, long long m, int dim, unsigned long long seed, long long offset,
                        long long step, unsigned int stream, const double* zk, const double* zw,
                        const double* zf) {
    const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= m * dim) return;
    const long long i = t / dim;
    const Ziggurat z = {zk, zw, zf};
    const Key key = make_key(seed, (u64)(offset + i), stream);
    out[t] = (real)normal_at(z, key, (u64)step, (u32)(t - i * dim));
}

// Uniforms (M,) of component 0 at one step.
__global__ void uniforms(double* out, long long m, unsigned long long seed, long long offset,
                         long long step, unsigned int stream) {
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= m) return;
    out[i] = uniform_at(make_key(seed, (u64)(offset + i), stream), (u64)step, 0u);
}
