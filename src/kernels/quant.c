/*
 * Quantization kernels (see quant.h): plain loops the compiler vectorizes; the
 * integer GEMM runs k-outer inside each row so the inner loop is a contiguous
 * int16 x int16 -> int32 multiply-add over a row of b.
 */
#include <math.h>
#include <string.h>

#include "kernels/clones.h"
#include "kernels/quant.h"

/* round-half-to-even of v, plus zp, saturated to [lo, hi]; NaN gives zp. */
static inline int32_t quant_one(float v, int32_t zp, int32_t lo, int32_t hi)
{
    if (v != v)
        return zp < lo ? lo : zp > hi ? hi : zp;
    float r = rintf(v) + (float)zp;
    if (r < (float)lo)
        return lo;
    if (r > (float)hi)
        return hi;
    return (int32_t)r;
}

void k_f32_quantize_u8_ref(size_t O, size_t C, size_t I, const float *x, const float *scale, const uint8_t *zp,
                           uint8_t *y)
{
    for (size_t o = 0; o < O; o++)
        for (size_t c = 0; c < C; c++) {
            float s = scale[c];
            int32_t z = zp ? zp[c] : 0;
            const float *xr = x + (o * C + c) * I;
            uint8_t *yr = y + (o * C + c) * I;
            for (size_t i = 0; i < I; i++)
                yr[i] = (uint8_t)quant_one(xr[i] / s, z, 0, 255);
        }
}

void k_f32_quantize_s8_ref(size_t O, size_t C, size_t I, const float *x, const float *scale, const int8_t *zp,
                           int8_t *y)
{
    for (size_t o = 0; o < O; o++)
        for (size_t c = 0; c < C; c++) {
            float s = scale[c];
            int32_t z = zp ? zp[c] : 0;
            const float *xr = x + (o * C + c) * I;
            int8_t *yr = y + (o * C + c) * I;
            for (size_t i = 0; i < I; i++)
                yr[i] = (int8_t)quant_one(xr[i] / s, z, -128, 127);
        }
}

#define DEQUANT_BODY                                                                                                   \
    for (size_t o = 0; o < O; o++)                                                                                     \
        for (size_t c = 0; c < C; c++) {                                                                               \
            float s = scale[c];                                                                                        \
            int64_t z = zp ? zp[c] : 0;                                                                                \
            size_t base = (o * C + c) * I;                                                                             \
            for (size_t i = 0; i < I; i++)                                                                             \
                y[base + i] = (float)((int64_t)x[base + i] - z) * s;                                                   \
        }

void k_u8_dequantize_ref(size_t O, size_t C, size_t I, const uint8_t *x, const float *scale, const uint8_t *zp,
                         float *y)
{
    DEQUANT_BODY
}

void k_s8_dequantize_ref(size_t O, size_t C, size_t I, const int8_t *x, const float *scale, const int8_t *zp,
                         float *y)
{
    DEQUANT_BODY
}

void k_s32_dequantize_ref(size_t O, size_t C, size_t I, const int32_t *x, const float *scale, const int32_t *zp,
                          float *y)
{
    DEQUANT_BODY
}

void k_f32_minmax(size_t n, const float *x, float *mn, float *mx)
{
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
    }
    *mn = lo;
    *mx = hi;
}

void k_q8_widen_sub(size_t rows, size_t cols, const void *x, int is_signed, size_t ld, const void *zp, size_t zp_rs,
                    size_t zp_cs, int16_t *out)
{
    for (size_t r = 0; r < rows; r++) {
        int16_t *o = out + r * cols;
        if (is_signed) {
            const int8_t *xr = (const int8_t *)x + r * ld, *z = zp ? (const int8_t *)zp + r * zp_rs : NULL;
            if (!z)
                for (size_t c = 0; c < cols; c++)
                    o[c] = xr[c];
            else if (zp_cs == 0)
                for (size_t c = 0; c < cols; c++)
                    o[c] = (int16_t)(xr[c] - z[0]);
            else
                for (size_t c = 0; c < cols; c++)
                    o[c] = (int16_t)(xr[c] - z[c * zp_cs]);
        } else {
            const uint8_t *xr = (const uint8_t *)x + r * ld, *z = zp ? (const uint8_t *)zp + r * zp_rs : NULL;
            if (!z)
                for (size_t c = 0; c < cols; c++)
                    o[c] = xr[c];
            else if (zp_cs == 0)
                for (size_t c = 0; c < cols; c++)
                    o[c] = (int16_t)(xr[c] - z[0]);
            else
                for (size_t c = 0; c < cols; c++)
                    o[c] = (int16_t)(xr[c] - z[c * zp_cs]);
        }
    }
}

void k_s16_gemm_s32_ref(size_t M, size_t N, size_t K, const int16_t *a, size_t lda, const int16_t *b, size_t ldb,
                        int32_t *y, size_t ldy)
{
    for (size_t m = 0; m < M; m++)
        for (size_t n = 0; n < N; n++) {
            int32_t acc = 0;
            for (size_t k = 0; k < K; k++)
                acc += (int32_t)a[m * lda + k] * (int32_t)b[k * ldb + n];
            y[m * ldy + n] = acc;
        }
}

/* One row of y: y[0..N) = sum_k a[k] * b[k, 0..N), with b's rows in blocks of 512
 * columns so the accumulator row stays in L1, four rows of b per pass (integer sums
 * are exact, so the order is free). Compiled per instruction set (K_CLONES). */
K_CLONES static void gemm_row(size_t N, size_t K, const int16_t *a, const int16_t *b, size_t ldb, int32_t *y)
{
    for (size_t n0 = 0; n0 < N; n0 += 512) {
        size_t nb = N - n0 < 512 ? N - n0 : 512;
        int32_t *yr = y + n0;
        memset(yr, 0, nb * sizeof *yr);
        size_t k = 0;
        for (; k + 4 <= K; k += 4) {
            int32_t a0 = a[k], a1 = a[k + 1], a2 = a[k + 2], a3 = a[k + 3];
            const int16_t *b0 = b + k * ldb + n0, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            for (size_t n = 0; n < nb; n++)
                yr[n] += a0 * (int32_t)b0[n] + a1 * (int32_t)b1[n] + a2 * (int32_t)b2[n] + a3 * (int32_t)b3[n];
        }
        for (; k < K; k++) {
            int32_t av = a[k];
            const int16_t *br = b + k * ldb + n0;
            for (size_t n = 0; n < nb; n++)
                yr[n] += av * (int32_t)br[n];
        }
    }
}

void k_s16_gemm_s32(size_t M, size_t N, size_t K, const int16_t *a, size_t lda, const int16_t *b, size_t ldb,
                    int32_t *y, size_t ldy, int threads)
{
    int big = (double)M * (double)N * (double)K > 1e5 && M > 1;
    long long Ml = (long long)M;
#pragma omp parallel for num_threads(threads) schedule(static) if (big)
    for (long long m = 0; m < Ml; m++)
        gemm_row(N, K, a + (size_t)m * lda, b, ldb, y + (size_t)m * ldy);
}

void k_s32_requantize_q8(size_t M, size_t N, const int32_t *acc, size_t ldacc, const k_requant *q, void *y,
                         size_t ldy)
{
    int32_t lo = q->is_signed ? -128 : 0, hi = q->is_signed ? 127 : 255;
    for (size_t m = 0; m < M; m++) {
        int32_t bias = q->bias ? q->bias[m * q->bias_rs] : 0;
        for (size_t n = 0; n < N; n++) {
            double mult = (double)q->sa[m * q->sa_rs + n * q->sa_cs] * (double)q->sb[m * q->sb_rs + n * q->sb_cs] /
                          (double)q->sy[m * q->sy_rs + n * q->sy_cs];
            int32_t zp = 0;
            if (q->yzp)
                zp = q->is_signed ? ((const int8_t *)q->yzp)[m * q->zp_rs + n * q->zp_cs]
                                  : ((const uint8_t *)q->yzp)[m * q->zp_rs + n * q->zp_cs];
            double v = ((double)acc[m * ldacc + n] + (double)bias) * mult;
            int32_t r;
            if (v != v)
                r = zp;
            else {
                v = nearbyint(v) + zp;
                r = v < lo ? lo : v > hi ? hi : (int32_t)v;
            }
            if (q->is_signed)
                ((int8_t *)y)[m * ldy + n] = (int8_t)r;
            else
                ((uint8_t *)y)[m * ldy + n] = (uint8_t)r;
        }
    }
}

static inline int32_t q8_at(const void *p, int is_signed, size_t i)
{
    return is_signed ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i];
}

void k_q8_im2col_s16(const k_conv_shape *s, const void *x, int is_signed, int32_t xzp, int64_t c0, int64_t Cg,
                     int16_t *col)
{
    size_t HW = (size_t)(s->in[0] * s->in[1] * s->in[2]);
    size_t OHW = (size_t)(s->out[0] * s->out[1] * s->out[2]);
    size_t r = 0;
    for (int64_t c = 0; c < Cg; c++) {
        size_t xc = (size_t)(c0 + c) * HW;
        for (int64_t kd = 0; kd < s->k[0]; kd++)
            for (int64_t kh = 0; kh < s->k[1]; kh++)
                for (int64_t kw = 0; kw < s->k[2]; kw++, r++) {
                    int16_t *dst = col + r * OHW;
                    size_t j = 0;
                    for (int64_t od = 0; od < s->out[0]; od++) {
                        int64_t id = od * s->stride[0] - s->pad[0] + kd * s->dil[0];
                        for (int64_t oh = 0; oh < s->out[1]; oh++) {
                            int64_t ih = oh * s->stride[1] - s->pad[1] + kh * s->dil[1];
                            int row_ok = id >= 0 && id < s->in[0] && ih >= 0 && ih < s->in[1];
                            size_t xrow = xc + (size_t)((id * s->in[1] + ih) * s->in[2]);
                            for (int64_t ow = 0; ow < s->out[2]; ow++, j++) {
                                int64_t iw = ow * s->stride[2] - s->pad[2] + kw * s->dil[2];
                                dst[j] = row_ok && iw >= 0 && iw < s->in[2]
                                             ? (int16_t)(q8_at(x, is_signed, xrow + (size_t)iw) - xzp)
                                             : 0;
                            }
                        }
                    }
                }
    }
}

void k_q8_conv_ref(const k_conv_shape *s, const void *x, int x_signed, int32_t xzp, const void *w, int w_signed,
                   const int32_t *wzp, size_t wzp_s, int32_t *y)
{
    int64_t Cg = s->C / s->group, Mg = s->M / s->group;
    size_t HW = (size_t)(s->in[0] * s->in[1] * s->in[2]);
    size_t OHW = (size_t)(s->out[0] * s->out[1] * s->out[2]);
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t m = 0; m < s->M; m++) {
            int64_t g = m / Mg;
            int32_t wz = wzp ? wzp[(size_t)m * wzp_s] : 0;
            size_t j = 0;
            for (int64_t od = 0; od < s->out[0]; od++)
                for (int64_t oh = 0; oh < s->out[1]; oh++)
                    for (int64_t ow = 0; ow < s->out[2]; ow++, j++) {
                        int32_t acc = 0;
                        for (int64_t c = 0; c < Cg; c++)
                            for (int64_t kd = 0; kd < s->k[0]; kd++)
                                for (int64_t kh = 0; kh < s->k[1]; kh++)
                                    for (int64_t kw = 0; kw < s->k[2]; kw++) {
                                        int64_t id = od * s->stride[0] - s->pad[0] + kd * s->dil[0];
                                        int64_t ih = oh * s->stride[1] - s->pad[1] + kh * s->dil[1];
                                        int64_t iw = ow * s->stride[2] - s->pad[2] + kw * s->dil[2];
                                        if (id < 0 || id >= s->in[0] || ih < 0 || ih >= s->in[1] || iw < 0 ||
                                            iw >= s->in[2])
                                            continue;
                                        size_t xi = (size_t)(n * s->C + g * Cg + c) * HW +
                                                    (size_t)((id * s->in[1] + ih) * s->in[2] + iw);
                                        size_t wi = ((size_t)(m * Cg + c) * (size_t)s->k[0] + (size_t)kd) *
                                                        (size_t)(s->k[1] * s->k[2]) +
                                                    (size_t)(kh * s->k[2] + kw);
                                        acc += (q8_at(x, x_signed, xi) - xzp) * (q8_at(w, w_signed, wi) - wz);
                                    }
                        y[((size_t)n * (size_t)s->M + (size_t)m) * OHW + j] = acc;
                    }
        }
}
