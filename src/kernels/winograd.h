/*
 * Winograd convolution F(m x m, 3x3), m = 4 or 2 (alpha = m + 2 transform points per
 * side), for 2-D Conv with a 3x3 kernel, stride 1, dilation 1, group 1, any pads:
 *
 *   x (N,C,H,W), w (M,C,3,3), bias (M) -> y (N,M,oH,oW)
 *
 * The output is cut into m x m tiles (edge tiles clipped). Per tile and channel the
 * alpha x alpha input patch d becomes V = B^T d B; the weights U = G g G^T are made
 * once. For each of the alpha^2 points p the products over channels are one GEMM,
 * Mp (M, tiles) = Up (M, C) * Vp (C, tiles), run by the packed SGEMM of kernels/gemm.h
 * (U packed as its left operand at init, V written straight into packed-B layout).
 * The output transform Y = A^T Mp A then adds bias, the residual and the activation
 * as each tile is written. F(4x4) does 36 multiplies per 16 outputs instead of 144
 * (4x fewer), F(2x2) 16 per 4 (2.25x fewer); transforms are extra, and F(4x4) loses
 * a few bits (see tests/unit/test_winograd.c).
 *
 * Tiles (over all N images) are processed in blocks of a few GEMM panels so V and Mp
 * of a block stay in L2; blocks go to threads, each with its own work slot.
 * k_f32_conv_ref (kernels/conv.h) is the reference these are tested against.
 */
#ifndef NORMA_KERNELS_WINOGRAD_H
#define NORMA_KERNELS_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/conv.h"
#include "kernels/gemm.h"

/* The tile size (4 or 2) the Conv op uses for a 3x3 stride-1 group-1 2-D convolution
 * with C input and M output channels and an oH x oW output, or 0 when im2col + GEMM
 * is faster there (measured on ResNet-50's layers). oH/oW < 0: not known yet. */
int k_wino_pick(int64_t C, int64_t M, int64_t oH, int64_t oW);

/* Floats of transformed weights: alpha^2 packed (M, C) left operands. */
size_t k_wino_u_floats(const k_gemm_isa *isa, int m, size_t M, size_t C);

/* U = G g G^T of w (M,C,3,3) for every point, packed for isa (computed in double). */
void k_f32_wino_weights(const k_gemm_isa *isa, int m, size_t M, size_t C, const float *w, float *u);

/* Floats of work space k_f32_wino_conv wants to run `threads` blocks at once
 * (with less it runs fewer blocks at once; it needs at least one slot). */
size_t k_wino_work_floats(const k_gemm_isa *isa, int m, const k_conv_shape *s, int threads);

/*
 * y = act(conv(x, w) + bias + res) with u from k_f32_wino_weights. s must be 2-D
 * (in[0] == out[0] == 1), 3x3, stride 1, dilation 1, group 1. bias and res may be NULL;
 * res has y's shape. work holds work_floats >= one slot of k_wino_work_floats.
 */
void k_f32_wino_conv(const k_gemm_isa *isa, int m, const k_conv_shape *s, const float *x, const float *u,
                     const float *bias, const float *res, float *y, int act, float act_alpha, float act_beta,
                     int threads, float *work, size_t work_floats);

/* k_f32_wino_conv with the choice of transforms: simd 0 runs the portable loops
 * (compiled for AVX-512, AVX2 and baseline), 1 the hand-written AVX-512 transforms
 * when the CPU has AVX-512F (else the portable ones). Both give the same bits. */
void k_f32_wino_conv_x(const k_gemm_isa *isa, int m, const k_conv_shape *s, const float *x, const float *u,
                       const float *bias, const float *res, float *y, int act, float act_alpha, float act_beta,
                       int threads, float *work, size_t work_floats, int simd);

/* 1 when this CPU runs the AVX-512 transforms. */
int k_wino_have_avx512(void);

/* The three transforms of one tile, plain loops (for tests): d (alpha x alpha) ->
 * v = B^T d B; g (3x3) -> u = G g G^T; mt (alpha x alpha) -> o (m x m) = A^T mt A. */
void k_f32_wino_tile_ref(int m, const float *d, float *v, const float *g, float *u, const float *mt, float *o);

#endif
