/*
 * Softmax kernels (see softmax.h). Rows: three passes over a row that stays in cache
 * (max, exp and sum, scale). Inner: the same passes with rows of I values as vectors,
 * so every access is contiguous.
 */
#include "kernels/softmax.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/clones.h"
#include "kernels/fastmath.h"

#define LANES 16

/* exp(x) for x <= 0 (what softmax feeds it: x - max), branch-free so loops of it
 * vectorize. x = n*ln2 + r, |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r by the
 * Cephes expf polynomial 1 + r + r^2*P(r), then one scaling by 2^n (n in -126..0,
 * a normal float). About 1 ulp against expf; NaN gives NaN, -inf and x < -87.3365
 * give 0 (results below FLT_MIN are flushed: an absolute error < 1.2e-38), and
 * x > 0 is treated as 0. */
K_INLINE float sm_expf(float x)
{
    const float lo = -87.33654022216796875f;
    float xc = x > 0.0f ? 0.0f : x;
    xc = xc < lo ? lo : xc; /* NaN stays NaN and propagates */
    const float magic = 12582912.0f; /* 1.5*2^23: n = round(x/ln2) in t's low bits */
    float t = xc * 1.44269504088896341f + magic;
    float n = t - magic;
    float r = xc - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r;
    p = p + 1.0f;
    uint32_t tb, mb;
    memcpy(&tb, &t, 4);
    memcpy(&mb, &magic, 4);
    uint32_t b = (tb - mb + 127u) << 23; /* 2^n, n = tb - mb in -126..0 */
    float sc;
    memcpy(&sc, &b, 4);
    float y = p * sc;
    return x < lo ? 0.0f : y;
}

float k_f32_softmax_expf(float x)
{
    return sm_expf(x);
}

/* Max of x[0..n) ignoring NaN, in LANES lanes reduced pairwise, so every step
 * vectorizes. A NaN in the row needs no check here: exp(NaN - m) is NaN, so the sum
 * and then every output of the row become NaN. */
K_INLINE float lane_max(const float *x, size_t n)
{
    float part[LANES];
    for (int l = 0; l < LANES; l++)
        part[l] = -INFINITY;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float v = x[i + (size_t)l];
            part[l] = v > part[l] ? v : part[l];
        }
    for (int l = 0; i < n; i++, l++)
        part[l] = x[i] > part[l] ? x[i] : part[l];
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            part[l] = part[l + w] > part[l] ? part[l + w] : part[l];
    return part[0];
}

/* Sum of x[0..n) in LANES partial sums (a fixed order, so every clone agrees). */
K_INLINE float lane_sum(const float *x, size_t n)
{
    float part[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] += x[i + (size_t)l];
    float s = 0;
    for (int l = 0; l < LANES; l++)
        s += part[l];
    for (; i < n; i++)
        s += x[i];
    return s;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SM_AVX512 1
#include <immintrin.h>

#define T512 __attribute__((target("avx512f")))

/* sm_expf on 16 lanes: the same steps, with fused multiply-adds. */
T512 static inline __m512 sm_expf16(__m512 x)
{
    const __m512 lo = _mm512_set1_ps(-87.33654022216796875f), magic = _mm512_set1_ps(12582912.0f);
    __m512 xc = _mm512_max_ps(lo, _mm512_min_ps(_mm512_setzero_ps(), x)); /* NaN stays NaN */
    __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504088896341f), magic);
    __m512 n = _mm512_sub_ps(t, magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
    p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
    __m512i b = _mm512_slli_epi32(
        _mm512_add_epi32(_mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(magic)), _mm512_set1_epi32(127)),
        23);
    __m512 y = _mm512_mul_ps(p, _mm512_castsi512_ps(b));
    return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), _mm512_setzero_ps());
}

/* Softmax rows with AVX-512: max (NaN skipped), exp and sum, scale; the tail of each
 * row through masks. */
T512 static void softmax_rows_avx512(size_t O, size_t K, const float *x, float *y)
{
    size_t full = K / 16 * 16;
    __mmask16 tail = (__mmask16)((1u << (K - full)) - 1);
    for (size_t o = 0; o < O; o++) {
        const float *xr = x + o * K;
        float *yr = y + o * K;
        __m512 vm = _mm512_set1_ps(-INFINITY);
        for (size_t k = 0; k < full; k += 16)
            vm = _mm512_max_ps(_mm512_loadu_ps(xr + k), vm); /* a NaN in x keeps vm */
        vm = _mm512_mask_max_ps(vm, tail, _mm512_maskz_loadu_ps(tail, xr + full), vm);
        __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vm)), vs = _mm512_setzero_ps();
        for (size_t k = 0; k < full; k += 16) {
            __m512 e = sm_expf16(_mm512_sub_ps(_mm512_loadu_ps(xr + k), m));
            _mm512_storeu_ps(yr + k, e);
            vs = _mm512_add_ps(vs, e);
        }
        __m512 et = _mm512_setzero_ps(); /* the tail's exps stay in a register */
        if (tail) {
            et = sm_expf16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, xr + full), m));
            vs = _mm512_mask_add_ps(vs, tail, vs, et);
        }
        __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
        for (size_t k = 0; k < full; k += 16)
            _mm512_storeu_ps(yr + k, _mm512_mul_ps(_mm512_loadu_ps(yr + k), inv));
        if (tail) {
            /* plain stores: a masked store delays the next row's loads from its cache
             * line when y == x (in place 50% slower on rows of 197) */
            float t[16] __attribute__((aligned(64)));
            _mm512_store_ps(t, _mm512_mul_ps(et, inv));
            for (size_t k = full; k < K; k++)
                yr[k] = t[k - full];
        }
    }
}
#endif

void k_f32_softmax_rows(int take_log, size_t O, size_t K, const float *x, float *y)
{
    k_f32_softmax_rows_x(take_log, O, K, x, y, 1);
}

K_CLONES static void softmax_rows(int take_log, size_t O, size_t K, const float *x, float *y);

void k_f32_softmax_rows_x(int take_log, size_t O, size_t K, const float *x, float *y, int simd)
{
#ifdef SM_AVX512
    __builtin_cpu_init();
    if (simd && !take_log && __builtin_cpu_supports("avx512f")) {
        softmax_rows_avx512(O, K, x, y);
        return;
    }
#else
    (void)simd;
#endif
    softmax_rows(take_log, O, K, x, y);
}

K_CLONES static void softmax_rows(int take_log, size_t O, size_t K, const float *x, float *y)
{
    for (size_t o = 0; o < O; o++) {
        const float *xr = x + o * K;
        float *yr = y + o * K;
        float m = lane_max(xr, K);
        /* y holds exp(x - m) first; for LogSoftmax it is overwritten below, and x is
         * read again, so y == x only works for Softmax (the op never aliases them). */
        for (size_t k = 0; k < K; k++)
            yr[k] = sm_expf(xr[k] - m);
        float s = lane_sum(yr, K);
        if (take_log) {
            /* (x - m) - log(s), not x - (m + log(s)): the latter loses the low bits
             * of log(s) when |m| is large */
            float ls = logf(s);
            for (size_t k = 0; k < K; k++)
                yr[k] = (xr[k] - m) - ls;
        } else {
            float inv = 1.0f / s;
            for (size_t k = 0; k < K; k++)
                yr[k] *= inv;
        }
    }
}

K_CLONES void k_f32_softmax_inner(int take_log, size_t O, size_t K, size_t I, const float *x, float *y, float *tmp)
{
    for (size_t o = 0; o < O; o++) {
        const float *xo = x + o * K * I;
        float *yo = y + o * K * I;
        float *m = tmp + o * 2 * I, *s = m + I;
        for (size_t i = 0; i < I; i++) {
            m[i] = -INFINITY;
            s[i] = 0;
        }
        for (size_t k = 0; k < K; k++)
            for (size_t i = 0; i < I; i++) {
                float v = xo[k * I + i];
                m[i] = (v > m[i] || v != v) ? v : m[i];
            }
        for (size_t k = 0; k < K; k++)
            for (size_t i = 0; i < I; i++) {
                float e = sm_expf(xo[k * I + i] - m[i]);
                if (!take_log)
                    yo[k * I + i] = e;
                s[i] += e;
            }
        if (take_log) {
            for (size_t i = 0; i < I; i++)
                s[i] = logf(s[i]);
            for (size_t k = 0; k < K; k++)
                for (size_t i = 0; i < I; i++)
                    yo[k * I + i] = (xo[k * I + i] - m[i]) - s[i];
        } else {
            for (size_t i = 0; i < I; i++)
                s[i] = 1.0f / s[i];
            for (size_t k = 0; k < K; k++)
                for (size_t i = 0; i < I; i++)
                    yo[k * I + i] *= s[i];
        }
    }
}

void k_f32_softmax_ref(int take_log, size_t O, size_t K, size_t I, const float *x, float *y)
{
    for (size_t o = 0; o < O; o++)
        for (size_t i = 0; i < I; i++) {
            const float *xs = x + o * K * I + i;
            float *ys = y + o * K * I + i;
            double m = -INFINITY;
            int nan = 0;
            for (size_t k = 0; k < K; k++) {
                if (isnan(xs[k * I]))
                    nan = 1;
                else if (xs[k * I] > m)
                    m = xs[k * I];
            }
            double s = 0;
            for (size_t k = 0; k < K; k++)
                s += exp((double)xs[k * I] - m);
            for (size_t k = 0; k < K; k++) {
                double d = (double)xs[k * I] - m;
                ys[k * I] = nan ? NAN : take_log ? (float)(d - log(s)) : (float)(exp(d) / s);
            }
        }
}
