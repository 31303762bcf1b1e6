// The symmetric p-spin couplings, N^p of them, one thread per entry (see couplings.cuh).
#include "couplings.cuh"

template <typename real>
__global__ void pspin_couplings(real* J, long long total, int n, int p, unsigned long long seed,
                                unsigned int stream, const double* zk, const double* zw,
                                const double* zf) {
    const Ziggurat z = {zk, zw, zf};
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x; t < total; t += stride) {
        J[t] = (real)pspin_coupling(z, seed, stream, n, p, (u64)t);
    }
}
