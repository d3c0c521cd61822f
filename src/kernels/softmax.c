/*
 * Softmax kernels (see softmax.h). Rows: three passes over a row that stays in cache
 * (max, exp and sum, scale). Inner: the same passes with rows of I values as vectors,
 * so every access is contiguous.
 */
#include "kernels/softmax.h"

#include <math.h>

#include "kernels/clones.h"
#include "kernels/fastmath.h"

#define LANES 16

/* Max of x[0..n) with NaN winning, in LANES independent lanes so it vectorizes. */
K_INLINE float lane_max(const float *x, size_t n)
{
    float part[LANES];
    for (int l = 0; l < LANES; l++)
        part[l] = -INFINITY;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            float v = x[i + (size_t)l];
            part[l] = (v > part[l] || v != v) ? v : part[l];
        }
    float m = -INFINITY;
    for (; i < n; i++)
        m = (x[i] > m || x[i] != x[i]) ? x[i] : m;
    for (int l = 0; l < LANES; l++)
        m = (part[l] > m || part[l] != part[l]) ? part[l] : m;
    return m;
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

K_CLONES void k_f32_softmax_rows(int take_log, size_t O, size_t K, const float *x, float *y)
{
    for (size_t o = 0; o < O; o++) {
        const float *xr = x + o * K;
        float *yr = y + o * K;
        float m = lane_max(xr, K);
        /* y holds exp(x - m) first; for LogSoftmax it is overwritten below, and x is
         * read again, so y == x only works for Softmax (the op never aliases them). */
        for (size_t k = 0; k < K; k++)
            yr[k] = k_expf(xr[k] - m);
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
                float e = k_expf(xo[k * I + i] - m[i]);
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
