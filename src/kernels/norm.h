/*
 * Row normalization kernels: LayerNormalization, RMSNormalization, the statistics that
 * GroupNormalization uses, and Gelu. A "row" is the D contiguous elements one
 * normalization covers; x and y are (O, D) row-major.
 *
 * Numerics: the mean is kept as the row's first element plus a small offset (from a
 * sum of x - x[0]), the values are centred as (x - x[0]) - offset, and the variance is
 * the corrected two-pass formula var = (sum d^2 - (sum d)^2 / D) / D over the centred d,
 * so a row with a large mean and a small spread keeps its precision (no
 * E[x^2] - E[x]^2, and no rounding of the mean to float before centring). The fast variants accumulate in float over 16 lanes in a fixed
 * order (every clone agrees); the _ref variants accumulate in double.
 */
#ifndef NORMA_K_NORM_H
#define NORMA_K_NORM_H

#include <stddef.h>

/* x (O, D) -> y (O, D): y = (x - mean) * istd * scale[j] + bias[j] with istd =
 * 1 / sqrt(var + eps). scale, bias hold D values (bias may be NULL: 0). mean and istd
 * (may be NULL) receive O values each. y may equal x. */
void k_f32_layernorm(size_t O, size_t D, const float *x, const float *scale, const float *bias, float eps,
                     float *y, float *mean, float *istd);
void k_f32_layernorm_ref(size_t O, size_t D, const float *x, const float *scale, const float *bias,
                         float eps, float *y, float *mean, float *istd);

/* Mean and 1/sqrt(var + eps) of each of the O rows of x (O, D). */
void k_f32_row_moments(size_t O, size_t D, const float *x, float eps, float *mean, float *istd);

/* x (O, D) -> y (O, D): y = x / sqrt(mean(x^2) + eps) * scale[j] (scale holds D values). */
void k_f32_rmsnorm(size_t O, size_t D, const float *x, const float *scale, float eps, float *y);
void k_f32_rmsnorm_ref(size_t O, size_t D, const float *x, const float *scale, float eps, float *y);

/* y[i] = gelu(x[i]) over n elements: exact (0.5 x (1 + erf(x / sqrt 2))) when tanh_approx
 * is 0, else 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). y may equal x. */
void k_f32_gelu(size_t n, const float *x, float *y, int tanh_approx);
void k_f32_gelu_ref(size_t n, const float *x, float *y, int tanh_approx);

#endif
