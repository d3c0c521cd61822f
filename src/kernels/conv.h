/*
 * Convolution kernels, float32, with 1 to 3 spatial dimensions normalized to three
 * (missing leading spatial dimensions have size 1, kernel 1, stride 1, pad 0).
 *
 *   Conv:          x (N,C,D,H,W), w (M,C/group,kD,kH,kW), bias (M) -> y (N,M,oD,oH,oW)
 *   ConvTranspose: x (N,C,D,H,W), w (C,M/group,kD,kH,kW), bias (M) -> y (N,M,oD,oH,oW)
 *
 * k_f32_conv_ref / k_f32_convtranspose_ref are the direct loops the fast paths
 * (im2col + packed GEMM, direct depthwise, GEMM + col2im) are tested against.
 */
#ifndef NORMA_KERNELS_CONV_H
#define NORMA_KERNELS_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/gemm.h"

typedef struct k_conv_shape {
    int64_t N, C, M, group;
    int64_t in[3], out[3];
    int64_t k[3], stride[3], dil[3];
    int64_t pad[3]; /* pad at the beginning of each spatial dimension (may be < 0 for ConvTranspose) */
} k_conv_shape;

/* Direct convolution; bias may be NULL; act from kernels/act.h. */
void k_f32_conv_ref(const k_conv_shape *s, const float *x, const float *w, const float *bias, float *y,
                    int act, float act_alpha, float act_beta);

/* im2col of channels c0..c0+Cg of one image x (C,D,H,W), columns j_begin ..
 * j_begin+ncols of the K x oD*oH*oW matrix (K = Cg*kD*kH*kW), written straight into
 * packed-B layout of a K x ncols matrix (k_gemm_packed_b_index with nr), tail
 * columns of the last panel zeroed. */
void k_f32_im2col_packed(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, size_t j_begin,
                         size_t ncols, size_t nr, const float *xsplit, float *dst, int threads);
/* The same; simd = 0 keeps to the portable loops where AVX-512 is available (the
 * tests compare the two: they write the same values). */
void k_f32_im2col_packed_x(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, size_t j_begin,
                           size_t ncols, size_t nr, const float *xsplit, float *dst, int threads, int simd);

/* One thread's part of a packed im2col shared by channels: the rows of channels
 * c0..c0+Cg (xsplit, if given, holds only their split) of all ncols columns from 0,
 * into panels K rows long; dst points at the part's first row in the first panel. */
void k_f32_im2col_packed_part(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, size_t ncols,
                              size_t nr, const float *xsplit, float *dst, size_t K);

/* For stride_W > 1: rewrites channels c0..c0+Cg of one image so each input row holds
 * its stride_W phases one after the other (ceil(W/stride_W) slots each, zero
 * padded): Cg*D*H*stride_W*ceil(W/stride_W) floats. Passed to im2col as xsplit
 * (else NULL), it turns every strided gather into a contiguous copy. */
void k_f32_split_w_phases(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, float *dst,
                          int threads);
/* The same; simd 0 keeps to the portable loops (tests). */
void k_f32_split_w_phases_x(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, float *dst,
                            int threads, int simd);

/* For a 1x1 kernel without leading pads: the inputs its outputs read, x (N, C, D, H, W)
 * -> dst (N, C, oD, oH, oW), dst[.., od, oh, ow] = x[.., od*sD, oh*sH, ow*sW], zero where
 * that falls past the end (trailing pads). What remains is a pointwise convolution. */
void k_f32_conv_subsample(const k_conv_shape *s, const float *x, float *dst, int threads);

/* Direct convolution for C/group == 1 (depthwise, with or without a channel
 * multiplier): output channel m reads input channel m / (M/group). All N images,
 * parallel over (n, m); bias and activation applied per output row. */
void k_f32_conv_depthwise(const k_conv_shape *s, const float *x, const float *w, const float *bias, float *y,
                          int act, float act_alpha, float act_beta, int threads, float *work, size_t work_floats);
/* The same; simd = 0 keeps to the portable loops even where AVX-512 is available, 1
 * chooses as k_f32_conv_depthwise does, 2 forces the flat AVX-512 3x3 path (given the
 * work space), 3 its rows and 4 its channel blocks where they apply (planes of up to
 * 256 outputs, no channel multiplier; the tests compare them all). */
void k_f32_conv_depthwise_x(const k_conv_shape *s, const float *x, const float *w, const float *bias, float *y,
                            int act, float act_alpha, float act_beta, int threads, float *work, size_t work_floats,
                            int simd);
/* Floats of work space k_f32_conv_depthwise wants for `threads` threads (a zero-padded
 * plane and a flat output per thread for its 3x3 path); 0 when it needs none. With
 * less work space it uses fewer threads; with none, the general loops. */
size_t k_conv_depthwise_work_floats(const k_conv_shape *s, int threads);

/*
 * Phase planes: per channel, stride x stride planes of the zero-padded input (phase
 * (a, b) holds padded rows a, a + stride, ... and columns b, b + stride, ...), each pw
 * columns wide and ph rows high, then K_PHASE_SLACK floats of zeros. Laid out channel
 * by channel, stride^2 * plane floats apart. Output (oh, ow) reads tap (kh, kw) at
 * k_conv_phase_tap(kh, kw) + oh * pw + ow of its channel's planes: so over the "flat"
 * outputs j = oh * pw + ow (pw - oW columns of each row computed and dropped), every
 * tap of every channel is one contiguous run, and a convolution is a GEMM over them
 * read in place (the implicit im2col of the strided convolutions) or the direct kernel
 * below. k_conv_phase_fits: 2-D, stride 1 or 2 both ways, dilation 1, pads below the
 * kernel, a CPU with AVX-512 (k_f32_conv_phase_split needs it).
 */
enum { K_PHASE_SLACK = 32 };
typedef struct k_conv_phases {
    int64_t ph, pw, plane;
} k_conv_phases;
k_conv_phases k_conv_phase_geometry(const k_conv_shape *s);
int k_conv_phase_fits(const k_conv_shape *s);
/* Floats of the phase planes of C channels. */
size_t k_conv_phase_floats(const k_conv_shape *s, int64_t C);
/* Where tap (kh, kw) starts in a channel's planes. */
size_t k_conv_phase_tap(const k_conv_shape *s, int64_t kh, int64_t kw);
/* Channels 0 .. C - 1 of one image x (C, H, W) into their phase planes at work; with
 * threads 1, no parallel region (callers may run it inside their own). */
void k_f32_conv_phase_split(const k_conv_shape *s, const float *x, int64_t C, float *work, int threads);

/* Direct convolution for layers with few input channels (the stems of CNNs: 3 channels,
 * 3x3 or 7x7, stride 2), with AVX-512: the input is split once into zero-padded phase
 * planes, then every 48 outputs of a row (three vectors) and 8 output channels take
 * three vector loads and eight broadcasts per tap for 24 fused multiply-adds, with no
 * im2col. k_conv_direct_fits says whether
 * it applies (2-D, group 1, stride 1 or 2 both ways, dilation 1, pads below the
 * kernel, at most K_DIRECT_MAX_C channels and K_DIRECT_MAX_TAPS of C x kH x kW, a CPU
 * with AVX-512). W (M, C, kH, kW) is packed once by k_f32_conv_direct_pack_w. One
 * image at a time; bias, ReLU and Clip applied (other activations are the caller's). */
enum { K_DIRECT_MAX_C = 4, K_DIRECT_MAX_TAPS = 256 };
int k_conv_direct_fits(const k_conv_shape *s);
size_t k_conv_direct_packed_floats(const k_conv_shape *s);
void k_f32_conv_direct_pack_w(const k_conv_shape *s, const float *w, float *dst);
size_t k_conv_direct_work_floats(const k_conv_shape *s);
void k_f32_conv_direct(const k_conv_shape *s, const float *x, const float *wp, const float *bias, float *y, int act,
                       float act_alpha, float act_beta, int threads, float *work);

/* Direct transposed convolution (scatter form). */
void k_f32_convtranspose_ref(const k_conv_shape *s, const float *x, const float *w, const float *bias,
                             float *y, int act, float act_alpha, float act_beta);

/* Adds col (Mg*kD*kH*kW rows, iD*iH*iW columns) of one image and group into
 * y (Mg, oD, oH, oW): the scatter half of ConvTranspose as GEMM + col2im. */
void k_f32_col2im_add(const k_conv_shape *s, const float *col, int64_t Mg, float *y, int threads);

#endif
