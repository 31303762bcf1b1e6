// Couplings of the pure spherical p-spin model, generated where they are used.
//
// H(s) = N^{-(p-1)/2} sum J_{i1..ip} s_i1 ... s_ip with J i.i.d. N(0, 1) depends on J only
// through its symmetrisation, which is drawn directly: for a multiset of indices with orbit
// size m (the number of distinct orderings, p! / prod(multiplicity!)),
//     Jsym_{i1..ip} = z(sorted indices) / sqrt(m),
// the mean of m i.i.d. normals.  z of the sorted indices (s1 <= ... <= sp) is the counter-based
// normal of (seed, particle = s1, step 0, component = s2 N^{p-2} + ... + sp, stream).
#ifndef SGDSDE_COUPLINGS_CUH
#define SGDSDE_COUPLINGS_CUH

#include "random.cuh"

#define SGD_MAX_P 8

// The symmetric coupling at the row-major linear index t of the N^p tensor.
SGD_FN double pspin_coupling(const Ziggurat& z, u64 seed, u32 stream, int n, int p, u64 t) {
    int s[SGD_MAX_P];
    for (int a = p - 1; a >= 0; --a) {
        s[a] = (int)(t % (u64)n);
        t /= (u64)n;
    }
    for (int a = 1; a < p; ++a) {  // insertion sort: p is small
        const int v = s[a];
        int b = a - 1;
        while (b >= 0 && s[b] > v) {
            s[b + 1] = s[b];
            --b;
        }
        s[b + 1] = v;
    }
    u64 orbit = 1, run = 1;  // p! / prod(multiplicity!): each partial product is an integer
    u64 comp = 0;
    for (int a = 1; a < p; ++a) {
        run = s[a] == s[a - 1] ? run + 1 : 1;
        orbit = orbit * (u64)(a + 1) / run;
        comp = comp * (u64)n + (u64)s[a];
    }
    const Key key = make_key(seed, (u64)s[0], stream);
    return normal_at(z, key, 0, (u32)comp) / sqrt((double)orbit);
}

#endif  // SGDSDE_COUPLINGS_CUH
