/*
 * Per-channel normalization kernels: BatchNormalization (inference and training),
 * InstanceNormalization and LRN. Layout: x (N,C,S) row-major, S = product of the
 * spatial dims (1 for 2-D input).
 */
#ifndef NORMA_K_BATCHNORM_H
#define NORMA_K_BATCHNORM_H

#include <stddef.h>
#include <stdint.h>

/* x (N,C,S) -> y (N,C,S): y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c],
 * computed per element exactly as the spec writes it. The reference for the fast path. */
void k_f32_batchnorm_ref(const float *x, float *y, size_t N, size_t C, size_t S, const float *scale,
                         const float *bias, const float *mean, const float *var, float eps);

/* a[c] = scale[c] / sqrt(var[c] + eps), b[c] = bias[c] - mean[c] * a[c] (in double). */
void k_f32_batchnorm_coeffs(size_t C, const float *scale, const float *bias, const float *mean,
                            const float *var, float eps, float *a, float *b);

/* x (N,C,S) -> y (N,C,S): y = x * a[c] + b[c]. y may equal x. threads > 1 parallelizes
 * over the N*C planes. */
void k_f32_channel_affine(const float *x, float *y, size_t N, size_t C, size_t S, const float *a,
                          const float *b, int threads);

/* Mean and biased (population) variance of each channel of x (N,C,S) over N and S,
 * two-pass in double. */
void k_f32_channel_stats(const float *x, size_t N, size_t C, size_t S, double *mean, double *var,
                         int threads);

/* InstanceNormalization: x (N,C,S) -> y (N,C,S), each (n,c) plane normalized by its
 * own mean and variance (two-pass, double), then y = scale[c] * xhat + bias[c]. */
void k_f32_instancenorm_ref(const float *x, float *y, size_t N, size_t C, size_t S,
                            const float *scale, const float *bias, float eps, int threads);

/* LRN across channels: x (N,C,S) -> y (N,C,S),
 * y = x / (bias + alpha/size * sum_{c' in window(c)} x[c']^2)^beta, window
 * [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to [0, C). */
void k_f32_lrn_ref(const float *x, float *y, size_t N, size_t C, size_t S, int64_t size, float alpha,
                   float beta, float bias, int threads);

/* The same, computed with a running window sum over channels on blocks of LRN_BLOCK
 * spatial positions: O(N*C*S) instead of O(N*C*S*size), contiguous reads. */
void k_f32_lrn(const float *x, float *y, size_t N, size_t C, size_t S, int64_t size, float alpha,
               float beta, float bias, int threads);

#endif
