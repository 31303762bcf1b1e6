// Counter-based standard normals: Philox4x32-10 and the 24-bit ziggurat of sgdsde/random.py,
// the same construction, the same counter layout and the same operations in the same order,
// so every (seed, particle, step, component, stream) gives the same number as the NumPy
// reference (bit for bit where the C library's exp/log agree with the host's; the rare
// ziggurat path that calls them is taken by about 2.8 % of draws).
#ifndef SGDSDE_RANDOM_CUH
#define SGDSDE_RANDOM_CUH

#include "portable.cuh"

#define SGD_PHILOX_M0 0xD2511F53u
#define SGD_PHILOX_M1 0xCD9E8D57u
#define SGD_PHILOX_W0 0x9E3779B9u
#define SGD_PHILOX_W1 0xBB67AE85u
#define SGD_SLOW_TAG 0x8000u
#define SGD_MAX_SLOW_ATTEMPTS 256
#define SGD_ZIGGURAT_R 3.442619855899
#define SGD_TWO_M32 2.3283064365386963e-10  // 2**-32
#define SGD_STREAM_NOISE 0u
#define SGD_STREAM_ACCEPT 1u

// The ziggurat's tables (sgdsde.random.ZIGGURAT_K, _W, _F), 128 doubles each.  They are
// passed in rather than recomputed so that the device uses exactly the reference values.
struct Ziggurat {
    const double* k;
    const double* w;
    const double* f;
};

struct Words {
    u32 w[4];
};

SGD_FN Words philox4x32_10(u32 c0, u32 c1, u32 c2, u32 c3, u32 k0, u32 k1) {
    SGD_UNROLL
    for (int r = 0; r < 10; ++r) {
        if (r) {
            k0 += SGD_PHILOX_W0;
            k1 += SGD_PHILOX_W1;
        }
        const u32 hi0 = mulhi32(SGD_PHILOX_M0, c0), lo0 = SGD_PHILOX_M0 * c0;
        const u32 hi1 = mulhi32(SGD_PHILOX_M1, c2), lo1 = SGD_PHILOX_M1 * c2;
        const u32 n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
    }
    Words out = {{c0, c1, c2, c3}};
    return out;
}

// The generator's key and position: everything a draw depends on except (step, component).
struct Key {
    u32 k0, k1;    // seed mod 2**32, seed // 2**32
    u32 particle;  // global particle index
    u32 stream;
};

SGD_FN Key make_key(u64 seed, u64 particle, u32 stream) {
    Key key = {(u32)(seed & 0xFFFFFFFFull), (u32)(seed >> 32), (u32)particle, stream};
    return key;
}

// The four main words of one component for the block of steps 4*block .. 4*block + 3.
SGD_FN Words main_words(const Key& key, u64 block, u32 comp) {
    const u32 c2 = (u32)((block >> 32) & 0xFFFFull) | (key.stream << 16);
    return philox4x32_10(comp, (u32)(block & 0xFFFFFFFFull), c2, key.particle, key.k0, key.k1);
}

SGD_FN double signed_value(double x, u32 sign) { return sign ? -x : x; }

// The rare path of one draw whose fast test failed (mirrors sgdsde.random._slow_normal).
SGD_RARE double slow_normal(const Ziggurat& z, const Key& key, u64 step, u32 comp, u32 word) {
    int layer = (int)(word & 0x7Fu);
    u32 sign = (word >> 7) & 1u;
    double mag = (double)(word >> 8);
    double x = 0.0;
    for (u32 attempt = 0; attempt < SGD_MAX_SLOW_ATTEMPTS; ++attempt) {
        const u32 tag = SGD_SLOW_TAG | ((key.stream & 0x7Fu) << 8) | attempt;
        const u32 c2 = (u32)((step >> 32) & 0xFFFFull) | (tag << 16);
        const Words e = philox4x32_10(comp, (u32)(step & 0xFFFFFFFFull), c2, key.particle,
                                      key.k0, key.k1);
        if (layer == 0) {  // the tail beyond R: Marsaglia's exponential rejection
            x = -log(((double)e.w[0] + 1.0) * SGD_TWO_M32) / SGD_ZIGGURAT_R;
            const double y = -log(((double)e.w[1] + 1.0) * SGD_TWO_M32);
            if (y + y >= x * x) return signed_value(SGD_ZIGGURAT_R + x, sign);
            continue;
        }
        x = mag * z.w[layer];
        const double u = ((double)e.w[0] + 0.5) * SGD_TWO_M32;
        if (z.f[layer] + u * (z.f[layer - 1] - z.f[layer]) < exp(-0.5 * x * x)) {
            return signed_value(x, sign);
        }
        word = e.w[1];  // a fresh draw, fast test first
        layer = (int)(word & 0x7Fu);
        sign = (word >> 7) & 1u;
        mag = (double)(word >> 8);
        if (mag < z.k[layer]) return signed_value(mag * z.w[layer], sign);
    }
    return signed_value(x, sign);
}

// One standard normal from one 32-bit word; ``step`` is the word's own step.
SGD_FN double word_to_normal(const Ziggurat& z, const Key& key, u64 step, u32 comp, u32 word) {
    const int layer = (int)(word & 0x7Fu);
    const double mag = (double)(word >> 8);
    if (mag < z.k[layer]) return signed_value(mag * z.w[layer], (word >> 7) & 1u);
    return slow_normal(z, key, step, comp, word);
}

// The normal of component ``comp`` at ``step`` (a whole Philox call for one number: used
// where numbers are needed one at a time, e.g. the p-spin couplings).
SGD_FN double normal_at(const Ziggurat& z, const Key& key, u64 step, u32 comp) {
    const Words w = main_words(key, step >> 2, comp);
    return word_to_normal(z, key, step, comp, w.w[step & 3u]);
}

// A uniform on (0, 1), (word + 1/2) / 2**32 (mirrors sgdsde.random.uniforms).
SGD_FN double uniform_at(const Key& key, u64 step, u32 comp) {
    const Words w = main_words(key, step >> 2, comp);
    return ((double)w.w[step & 3u] + 0.5) * SGD_TWO_M32;
}

// The normals of D components for four consecutive steps, refilled one block at a time:
// one Philox call per component serves four steps (as in the Numba kernels).
template <typename real, int D>
struct NoiseBlock {
    real value[D][4];
    i64 block;

    SGD_METHOD void reset() { block = -1; }

    // Make the block hold step n (one Philox call per component every fourth step).
    SGD_METHOD void prepare(const Ziggurat& z, const Key& key, i64 n) { fill(z, key, n >> 2); }

    // The normal of component k at step n, once the block holds n.  Selects, not an indexed
    // load, so the block stays in registers.
    SGD_METHOD real get(i64 n, int k) const {
        const int s = (int)(n & 3);
        return s == 0 ? value[k][0] : (s == 1 ? value[k][1] : (s == 2 ? value[k][2] : value[k][3]));
    }

    SGD_METHOD void fill(const Ziggurat& z, const Key& key, i64 b) {
        if (b == block) return;
        block = b;
        const u64 step0 = (u64)b << 2;
        SGD_UNROLL
        for (int k = 0; k < D; ++k) {
            const Words w = main_words(key, (u64)b, (u32)k);
            SGD_UNROLL
            for (int s = 0; s < 4; ++s) {
                value[k][s] = (real)word_to_normal(z, key, step0 + s, (u32)k, w.w[s]);
            }
        }
    }
};

#endif  // SGDSDE_RANDOM_CUH
