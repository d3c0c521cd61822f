/*
 * Reductions over one group of axes: y = finalize(combine over r of map(x)).
 * Layouts the op reduces to (after merging dims):
 *   rows: x (O, R)    -> y (O)      the reduced axes are the trailing ones
 *   mid:  x (O, R, I) -> y (O, I)   a block of middle (or leading) axes
 * and the reference handles any set of axes with strides.
 */
#ifndef NORMA_K_REDUCE_H
#define NORMA_K_REDUCE_H

#include <stddef.h>
#include <stdint.h>

enum {
    K_RED_SUM = 0,
    K_RED_MEAN,
    K_RED_MAX,     /* NaN propagates; empty: -inf */
    K_RED_MIN,
    K_RED_PROD,
    K_RED_L1,
    K_RED_L2,
    K_RED_LOG_SUM,
    K_RED_LOG_SUM_EXP, /* max-shifted: m + log(sum(exp(x - m))) */
    K_RED_SUM_SQUARE
};

void k_f32_reduce_rows(int op, size_t O, size_t R, const float *x, float *y);
/* tmp: O*I floats, used by LOG_SUM_EXP only (may be NULL otherwise). */
void k_f32_reduce_mid(int op, size_t O, size_t R, size_t I, const float *x, float *y, float *tmp);
/* Reference for any axes: x has rank r and dims; red[d] != 0 marks reduced dims; y is
 * laid out as x's dims with reduced dims of size 1. Accumulates in double. */
void k_f32_reduce_ref(int op, int r, const int64_t *dims, const int *red, const float *x, float *y);
/* float64, same contract as the float32 reference. */
void k_f64_reduce_ref(int op, int r, const int64_t *dims, const int *red, const double *x, double *y);
/* int64 for SUM, MAX, MIN, PROD, L1, SUM_SQUARE (wrapping arithmetic), any axes. */
void k_i64_reduce_ref(int op, int r, const int64_t *dims, const int *red, const int64_t *x, int64_t *y);

#endif
