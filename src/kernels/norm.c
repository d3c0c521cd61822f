/*
 * Row normalization kernels (see norm.h). The fast variants are plain C loops over
 * LANES independent partial sums that the compiler vectorizes, compiled per
 * instruction set by K_CLONES; the _ref variants are the direct double-precision
 * transcription the tests compare against.
 */
#include "kernels/norm.h"

#include <math.h>

#include "kernels/clones.h"
#include "kernels/erf.h"

#define LANES 16

/* Sum of (x[i] - shift) in LANES partial sums. */
K_INLINE float lane_sum_shift(const float *x, size_t n, float shift)
{
    float part[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] += x[i + (size_t)l] - shift;
    float s = 0;
    for (int l = 0; l < LANES; l++)
        s += part[l];
    for (; i < n; i++)
        s += x[i] - shift;
    return s;
}

/* Sums of d and d^2 with d = (x[i] - shift) - mo. */
K_INLINE void lane_dev(const float *x, size_t n, float shift, float mo, float *sd, float *sd2)
{
    float p1[LANES] = {0}, p2[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float d = (x[i + (size_t)l] - shift) - mo;
            p1[l] += d;
            p2[l] += d * d;
        }
    float s1 = 0, s2 = 0;
    for (int l = 0; l < LANES; l++) {
        s1 += p1[l];
        s2 += p2[l];
    }
    for (; i < n; i++) {
        float d = (x[i] - shift) - mo;
        s1 += d;
        s2 += d * d;
    }
    *sd = s1;
    *sd2 = s2;
}

/* Sum of x^2. */
K_INLINE float lane_sumsq(const float *x, size_t n)
{
    float part[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] += x[i + (size_t)l] * x[i + (size_t)l];
    float s = 0;
    for (int l = 0; l < LANES; l++)
        s += part[l];
    for (; i < n; i++)
        s += x[i] * x[i];
    return s;
}

/* Mean and variance of one row. The mean is kept as shift + mo with shift = x[0]:
 * x - shift is exact for the values near shift (Sterbenz), so centring by
 * (x - shift) - mo does not lose the low bits a rounded float mean would (at a mean of
 * 1e4 the float mean alone is off by up to 5e-4). The variance is the corrected
 * two-pass formula. */
K_INLINE void row_stats(const float *x, size_t D, float *shift, float *mo, float *var)
{
    if (D == 0) {
        *shift = *mo = *var = 0;
        return;
    }
    float sh = x[0];
    float m = lane_sum_shift(x, D, sh) / (float)D;
    float sd, sd2;
    lane_dev(x, D, sh, m, &sd, &sd2);
    float v = (sd2 - sd * sd / (float)D) / (float)D;
    *shift = sh;
    *mo = m;
    *var = v < 0 ? 0 : v; /* rounding can leave a tiny negative; NaN passes through */
}

K_CLONES void k_f32_layernorm(size_t O, size_t D, const float *x, const float *scale, const float *bias,
                              float eps, float *y, float *mean, float *istd)
{
    for (size_t o = 0; o < O; o++) {
        const float *xr = x + o * D;
        float *yr = y + o * D;
        float sh, m, v;
        row_stats(xr, D, &sh, &m, &v);
        float is = 1.0f / sqrtf(v + eps);
        if (mean)
            mean[o] = sh + m;
        if (istd)
            istd[o] = is;
        if (bias)
            for (size_t j = 0; j < D; j++)
                yr[j] = ((xr[j] - sh) - m) * is * scale[j] + bias[j];
        else
            for (size_t j = 0; j < D; j++)
                yr[j] = ((xr[j] - sh) - m) * is * scale[j];
    }
}

void k_f32_layernorm_ref(size_t O, size_t D, const float *x, const float *scale, const float *bias,
                         float eps, float *y, float *mean, float *istd)
{
    for (size_t o = 0; o < O; o++) {
        const float *xr = x + o * D;
        double s = 0, ss = 0;
        for (size_t j = 0; j < D; j++)
            s += xr[j];
        double m = D ? s / (double)D : 0;
        for (size_t j = 0; j < D; j++)
            ss += ((double)xr[j] - m) * ((double)xr[j] - m);
        double v = D ? ss / (double)D : 0;
        double is = 1.0 / sqrt(v + (double)eps);
        if (mean)
            mean[o] = (float)m;
        if (istd)
            istd[o] = (float)is;
        for (size_t j = 0; j < D; j++)
            y[o * D + j] = (float)(((double)xr[j] - m) * is * scale[j] + (bias ? bias[j] : 0.0));
    }
}

K_CLONES void k_f32_row_moments(size_t O, size_t D, const float *x, float eps, float *mean, float *istd)
{
    for (size_t o = 0; o < O; o++) {
        float sh, m, v;
        row_stats(x + o * D, D, &sh, &m, &v);
        mean[o] = sh + m;
        istd[o] = 1.0f / sqrtf(v + eps);
    }
}

K_CLONES void k_f32_rmsnorm(size_t O, size_t D, const float *x, const float *scale, float eps, float *y)
{
    for (size_t o = 0; o < O; o++) {
        const float *xr = x + o * D;
        float *yr = y + o * D;
        float ms = D ? lane_sumsq(xr, D) / (float)D : 0;
        float is = 1.0f / sqrtf(ms + eps);
        for (size_t j = 0; j < D; j++)
            yr[j] = xr[j] * is * scale[j];
    }
}

void k_f32_rmsnorm_ref(size_t O, size_t D, const float *x, const float *scale, float eps, float *y)
{
    for (size_t o = 0; o < O; o++) {
        double ss = 0;
        for (size_t j = 0; j < D; j++)
            ss += (double)x[o * D + j] * x[o * D + j];
        double is = 1.0 / sqrt((D ? ss / (double)D : 0) + (double)eps);
        for (size_t j = 0; j < D; j++)
            y[o * D + j] = (float)((double)x[o * D + j] * is * scale[j]);
    }
}

/* erf through k_gelu_erf (erf.h, within about an ulp) and tanh through k_tanhf
 * (fastmath.h, a few ulp): branch-free, so the loops vectorize. */
K_CLONES void k_f32_gelu(size_t n, const float *x, float *y, int tanh_approx)
{
    if (tanh_approx) {
        const float k = 0.7978845608028654f; /* sqrt(2/pi) */
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = 0.5f * v * (1.0f + k_tanhf(k * (v + 0.044715f * v * v * v)));
        }
    } else {
        /* blocks whose inputs all take erf's small branch (|x| <= ~2.12, most of
         * them in a transformer MLP) skip computing the erfc branch */
        for (size_t i = 0; i < n; i += 32) {
            size_t len = n - i < 32 ? n - i : 32;
            const float *xb = x + i;
            float *yb = y + i;
            int all_small = 1;
            for (size_t l = 0; l < len; l++)
                all_small &= k_gelu_erf_is_small(xb[l]);
            if (all_small)
                for (size_t l = 0; l < len; l++)
                    yb[l] = k_gelu_erf_small(xb[l]);
            else
                for (size_t l = 0; l < len; l++)
                    yb[l] = k_gelu_erf(xb[l]);
        }
    }
}

void k_f32_gelu_ref(size_t n, const float *x, float *y, int tanh_approx)
{
    for (size_t i = 0; i < n; i++) {
        double v = x[i];
        double t = tanh_approx ? tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)) : erf(v / sqrt(2.0));
        y[i] = (float)(0.5 * v * (1.0 + t));
    }
}
