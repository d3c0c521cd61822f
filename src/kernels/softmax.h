/*
 * Softmax and LogSoftmax along one axis of x viewed as (O, K, I): the softmax runs over
 * K, for each of the O*I (outer, inner) pairs. Rows (I == 1) are the common case.
 * The max is subtracted before exp; NaN in a row makes the whole row NaN (as numpy).
 */
#ifndef NORMA_K_SOFTMAX_H
#define NORMA_K_SOFTMAX_H

#include <stddef.h>

/* x, y (O, K) contiguous rows. y must not overlap x for LogSoftmax. */
void k_f32_softmax_rows(int take_log, size_t O, size_t K, const float *x, float *y);
/* The same; simd = 0 keeps to the portable loops where the AVX-512 Softmax rows would
 * run (the tests compare both with the reference). */
void k_f32_softmax_rows_x(int take_log, size_t O, size_t K, const float *x, float *y, int simd);
/* x, y (O, K, I) with I > 1; tmp holds 2*O*I floats. */
void k_f32_softmax_inner(int take_log, size_t O, size_t K, size_t I, const float *x, float *y, float *tmp);
/* Scalar reference for any (O, K, I), accumulating in double. */
void k_f32_softmax_ref(int take_log, size_t O, size_t K, size_t I, const float *x, float *y);

/* The exp the kernels use, exported for tests: exp(x) for x <= 0 (x > 0 gives 1). */
float k_f32_softmax_expf(float x);

#endif
