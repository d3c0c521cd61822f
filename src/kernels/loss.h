/*
 * Loss kernels for NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 *
 *   x (N, C, D) (D = product of the trailing dims, 1 when there are none), target
 *   (N, D) int64 (target_i64) or int32, weight (C) or NULL.
 *
 * Each position (n, d) with class t = target[n, d] contributes loss = -logp[n, t, d] *
 * w[t] and weight w[t] (w = 1 without weights); a position whose target equals the
 * ignore index (when has_ii) contributes 0 to both. loss (N, D) receives the
 * per-position values when not NULL; *sum and *wsum receive their totals (in double)
 * for the sum and mean reductions. A target outside [0, C) that is not ignored stops
 * the kernel: it returns -1 with the flat position in *bad; 0 otherwise.
 *
 * For NLL, x holds log-probabilities. For SCE, x holds scores: logp = log_softmax(x)
 * over C, written to logp (N, C, D) when not NULL. Accumulation is in double.
 */
#ifndef NORMA_K_LOSS_H
#define NORMA_K_LOSS_H

#include <stddef.h>
#include <stdint.h>

#define K_LOSS_DECL(SUF, T)                                                                                            \
    int k_##SUF##_nll_ref(size_t N, size_t C, size_t D, const T *x, const void *target, int target_i64, const T *w,     \
                          int has_ii, int64_t ii, T *loss, double *sum, double *wsum, size_t *bad);                    \
    int k_##SUF##_sce_ref(size_t N, size_t C, size_t D, const T *x, const void *target, int target_i64, const T *w,    \
                          int has_ii, int64_t ii, T *loss, T *logp, double *sum, double *wsum, size_t *bad);

K_LOSS_DECL(f32, float)
K_LOSS_DECL(f64, double)
K_LOSS_DECL(f16, uint16_t) /* IEEE half bits */

#undef K_LOSS_DECL

#endif
