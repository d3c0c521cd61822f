/*
 * Quantization kernels: linear (de)quantization between float32 and 8-bit integers,
 * and the integer GEMM behind MatMulInteger, ConvInteger, QLinearMatMul and
 * QLinearConv.
 *
 * Tensors are viewed as (O, C, I): C is the quantization axis (C == 1 with O*I the
 * whole tensor for per-tensor parameters). scale and zp hold C values; zp may be
 * NULL (zero). Quantization rounds half to even (rintf in the default rounding mode)
 * and saturates; NaN quantizes to the zero point.
 *
 * The integer GEMM works on int16 operands that already have their zero points
 * subtracted (an 8-bit value minus an 8-bit zero point fits in int16), accumulating
 * in int32: this is what makes uint8 and int8 operands, and per-row / per-column zero
 * points, one kernel.
 */
#ifndef NORMA_K_QUANT_H
#define NORMA_K_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/conv.h"

/* y (O,C,I) uint8 = saturate(round(x / scale[c]) + zp[c]). */
void k_f32_quantize_u8_ref(size_t O, size_t C, size_t I, const float *x, const float *scale, const uint8_t *zp,
                           uint8_t *y);
/* y (O,C,I) int8 = saturate(round(x / scale[c]) + zp[c]). */
void k_f32_quantize_s8_ref(size_t O, size_t C, size_t I, const float *x, const float *scale, const int8_t *zp,
                           int8_t *y);

/* y (O,C,I) float = (x - zp[c]) * scale[c], for x uint8, int8 or int32 (zp of the same type). */
void k_u8_dequantize_ref(size_t O, size_t C, size_t I, const uint8_t *x, const float *scale, const uint8_t *zp,
                         float *y);
void k_s8_dequantize_ref(size_t O, size_t C, size_t I, const int8_t *x, const float *scale, const int8_t *zp,
                         float *y);
void k_s32_dequantize_ref(size_t O, size_t C, size_t I, const int32_t *x, const float *scale, const int32_t *zp,
                          float *y);

/* Minimum and maximum of x[0..n) (n >= 1); NaN elements are skipped. */
void k_f32_minmax(size_t n, const float *x, float *mn, float *mx);

/*
 * out (rows, cols) int16 = x[r*ld + c] - zp[r*zp_rs + c*zp_cs], x uint8 (is_signed 0)
 * or int8 (is_signed 1) and zp of the same type; zp NULL means zero. Strides of 0
 * broadcast the zero point: (0, 0) per tensor, (1, 0) per row, (0, 1) per column.
 */
void k_q8_widen_sub(size_t rows, size_t cols, const void *x, int is_signed, size_t ld, const void *zp, size_t zp_rs,
                    size_t zp_cs, int16_t *out);

/* y (M,N) int32 = a (M,K) int16 * b (K,N) int16, row-major with leading dimensions. */
void k_s16_gemm_s32_ref(size_t M, size_t N, size_t K, const int16_t *a, size_t lda, const int16_t *b, size_t ldb,
                        int32_t *y, size_t ldy);
/* The same, parallel over rows of y (OpenMP, up to threads). */
void k_s16_gemm_s32(size_t M, size_t N, size_t K, const int16_t *a, size_t lda, const int16_t *b, size_t ldb,
                    int32_t *y, size_t ldy, int threads);

/* Requantization parameters: every array is indexed [m*rs + n*cs] for output row m
 * and column n (strides 0 broadcast). bias (int32) may be NULL. */
typedef struct k_requant {
    const int32_t *bias;
    size_t bias_rs;
    const float *sa, *sb, *sy; /* y real value = acc * sa * sb / sy */
    size_t sa_rs, sa_cs, sb_rs, sb_cs, sy_rs, sy_cs;
    const void *yzp; /* uint8 or int8 like y; NULL means zero */
    size_t zp_rs, zp_cs;
    int is_signed;   /* y int8 (1) or uint8 (0) */
} k_requant;

/* y (M,N) 8-bit (row stride ldy) = saturate(round((acc + bias) * sa * sb / sy) + yzp),
 * the multiplier computed in double, rounding half to even. */
void k_s32_requantize_q8(size_t M, size_t N, const int32_t *acc, size_t ldacc, const k_requant *q, void *y,
                         size_t ldy);

/*
 * Integer im2col of channels c0..c0+Cg of one image x (C,D,H,W) (uint8, or int8 when
 * is_signed) into col (Cg*kD*kH*kW, oD*oH*oW) int16, holding x - xzp; positions in the
 * padding hold 0 (the padding is the zero point, so it contributes nothing).
 */
void k_q8_im2col_s16(const k_conv_shape *s, const void *x, int is_signed, int32_t xzp, int64_t c0, int64_t Cg,
                     int16_t *col);

/* Direct integer convolution reference: y (N,M,oD,oH,oW) int32 =
 * sum (x - xzp) * (w - wzp[m*wzp_s]), x and w uint8 or int8 (per is_signed flags). */
void k_q8_conv_ref(const k_conv_shape *s, const void *x, int x_signed, int32_t xzp, const void *w, int w_signed,
                   const int32_t *wzp, size_t wzp_s, int32_t *y);

#endif
