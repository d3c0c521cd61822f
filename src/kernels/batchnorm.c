/*
 * Per-channel normalization kernels (see batchnorm.h). Pure loops: no allocation,
 * no status.
 */
#include <math.h>

#include "kernels/batchnorm.h"

/* Below this many elements the OpenMP fork costs more than it saves. */
#define PAR_MIN 32768

void k_f32_batchnorm_ref(const float *x, float *y, size_t N, size_t C, size_t S, const float *scale,
                         const float *bias, const float *mean, const float *var, float eps)
{
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) {
            const float *xp = x + (n * C + c) * S;
            float *yp = y + (n * C + c) * S;
            float d = sqrtf(var[c] + eps);
            for (size_t i = 0; i < S; i++)
                yp[i] = (xp[i] - mean[c]) / d * scale[c] + bias[c];
        }
}

void k_f32_batchnorm_coeffs(size_t C, const float *scale, const float *bias, const float *mean,
                            const float *var, float eps, float *a, float *b)
{
    for (size_t c = 0; c < C; c++) {
        double s = (double)scale[c] / sqrt((double)var[c] + (double)eps);
        a[c] = (float)s;
        b[c] = (float)((double)bias[c] - (double)mean[c] * s);
    }
}

void k_f32_channel_affine(const float *x, float *y, size_t N, size_t C, size_t S, const float *a,
                          const float *b, int threads)
{
    long long planes = (long long)(N * C);
    int nt = N * C * S >= PAR_MIN ? threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (long long p = 0; p < planes; p++) {
        size_t c = (size_t)p % C;
        const float *xp = x + (size_t)p * S;
        float *yp = y + (size_t)p * S;
        float ac = a[c], bc = b[c];
        for (size_t i = 0; i < S; i++)
            yp[i] = xp[i] * ac + bc;
    }
}

void k_f32_channel_stats(const float *x, size_t N, size_t C, size_t S, double *mean, double *var,
                         int threads)
{
    int nt = N * C * S >= PAR_MIN ? threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (long long cc = 0; cc < (long long)C; cc++) {
        size_t c = (size_t)cc;
        double sum = 0, ss = 0;
        for (size_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * S;
            for (size_t i = 0; i < S; i++)
                sum += xp[i];
        }
        double cnt = (double)(N * S);
        double m = cnt > 0 ? sum / cnt : 0;
        for (size_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * S;
            for (size_t i = 0; i < S; i++) {
                double d = xp[i] - m;
                ss += d * d;
            }
        }
        mean[c] = m;
        var[c] = cnt > 0 ? ss / cnt : 0;
    }
}

void k_f32_instancenorm_ref(const float *x, float *y, size_t N, size_t C, size_t S,
                            const float *scale, const float *bias, float eps, int threads)
{
    long long planes = (long long)(N * C);
    int nt = N * C * S >= PAR_MIN ? threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (long long p = 0; p < planes; p++) {
        size_t c = (size_t)p % C;
        const float *xp = x + (size_t)p * S;
        float *yp = y + (size_t)p * S;
        double sum = 0, ss = 0;
        for (size_t i = 0; i < S; i++)
            sum += xp[i];
        double m = S ? sum / (double)S : 0;
        for (size_t i = 0; i < S; i++) {
            double d = xp[i] - m;
            ss += d * d;
        }
        double v = S ? ss / (double)S : 0;
        double a = (double)scale[c] / sqrt(v + (double)eps);
        double b = (double)bias[c] - m * a;
        for (size_t i = 0; i < S; i++)
            yp[i] = (float)(xp[i] * a + b);
    }
}

void k_f32_lrn_ref(const float *x, float *y, size_t N, size_t C, size_t S, int64_t size, float alpha,
                   float beta, float bias, int threads)
{
    long long lo_off = (size - 1) / 2, hi_off = size - 1 - (size - 1) / 2; /* floor, ceil */
    long long planes = (long long)(N * C);
    double k = (double)alpha / (double)size;
    int nt = N * C * S * (size_t)size >= PAR_MIN ? threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (long long p = 0; p < planes; p++) {
        size_t n = (size_t)p / C;
        long long c = (long long)((size_t)p % C);
        long long c0 = c - lo_off < 0 ? 0 : c - lo_off;
        long long c1 = c + hi_off > (long long)C - 1 ? (long long)C - 1 : c + hi_off;
        const float *xp = x + (size_t)p * S;
        float *yp = y + (size_t)p * S;
        for (size_t i = 0; i < S; i++) {
            double sq = 0;
            for (long long j = c0; j <= c1; j++) {
                double v = x[(n * C + (size_t)j) * S + i];
                sq += v * v;
            }
            yp[i] = (float)(xp[i] / pow((double)bias + k * sq, (double)beta));
        }
    }
}

#define LRN_BLOCK 256

void k_f32_lrn(const float *x, float *y, size_t N, size_t C, size_t S, int64_t size, float alpha,
               float beta, float bias, int threads)
{
    long long lo_off = (size - 1) / 2, hi_off = size - 1 - (size - 1) / 2;
    size_t nblk = (S + LRN_BLOCK - 1) / LRN_BLOCK;
    long long tasks = (long long)(N * nblk);
    double k = (double)alpha / (double)size;
    int nt = N * C * S >= PAR_MIN ? threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (long long t = 0; t < tasks; t++) {
        size_t n = (size_t)t / nblk, i0 = ((size_t)t % nblk) * LRN_BLOCK;
        size_t len = S - i0 < LRN_BLOCK ? S - i0 : LRN_BLOCK;
        double acc[LRN_BLOCK];
        const float *xn = x + n * C * S + i0;
        float *yn = y + n * C * S + i0;
        for (size_t i = 0; i < len; i++)
            acc[i] = 0;
        /* window of channel 0: [0, hi_off] */
        for (long long j = 0; j <= hi_off && j < (long long)C; j++)
            for (size_t i = 0; i < len; i++) {
                double v = xn[(size_t)j * S + i];
                acc[i] += v * v;
            }
        for (long long c = 0; c < (long long)C; c++) {
            if (c > 0) {
                long long add = c + hi_off, drop = c - lo_off - 1;
                if (add < (long long)C)
                    for (size_t i = 0; i < len; i++) {
                        double v = xn[(size_t)add * S + i];
                        acc[i] += v * v;
                    }
                if (drop >= 0)
                    for (size_t i = 0; i < len; i++) {
                        double v = xn[(size_t)drop * S + i];
                        acc[i] -= v * v;
                        if (acc[i] < 0) /* rounding after removing the largest terms */
                            acc[i] = 0;
                    }
            }
            const float *xc = xn + (size_t)c * S;
            float *yc = yn + (size_t)c * S;
            for (size_t i = 0; i < len; i++)
                yc[i] = (float)(xc[i] / pow((double)bias + k * acc[i], (double)beta));
        }
    }
}
