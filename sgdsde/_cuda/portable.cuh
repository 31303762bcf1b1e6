// One source for the GPU and the host: compiled by NVRTC/nvcc as CUDA C++ and by a host
// C++ compiler (the CPU tests), so the kernels' arithmetic can be checked without a GPU.
// Only builtin types and the math functions every CUDA compiler provides are used on the
// device side (NVRTC has no system headers).
#ifndef SGDSDE_PORTABLE_CUH
#define SGDSDE_PORTABLE_CUH

// The integer types of the kernels' signatures, the same builtin types on both sides.
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;

#ifdef __CUDACC__
#define SGD_FN __device__ __forceinline__
#define SGD_METHOD __device__ __forceinline__
#define SGD_RARE __device__ __noinline__  // rarely taken: called, not inlined
#define SGD_UNROLL _Pragma("unroll")
SGD_FN u32 mulhi32(u32 a, u32 b) { return __umulhi(a, b); }
#else
#include <cmath>
#define SGD_FN static inline
#define SGD_METHOD inline
#define SGD_RARE static
#define SGD_UNROLL
using std::exp;
using std::expm1;
using std::nan;
using std::fabs;
using std::log;
using std::sin;
using std::cos;
using std::sqrt;
SGD_FN u32 mulhi32(u32 a, u32 b) { return (u32)(((u64)a * (u64)b) >> 32); }
#endif

#endif  // SGDSDE_PORTABLE_CUH
