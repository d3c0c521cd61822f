/*
 * Einsum's general loop: every output element is a sum, over the summed labels, of the
 * product of one element of each input. Labels are numbered output labels first (in
 * output order, the output is contiguous in that order), then summed labels. Each input
 * has an element stride per label: 0 when the input lacks the label or broadcasts it,
 * and the sum of its dims' strides when a label repeats in one term (a diagonal).
 *
 * k_*_einsum_ref is the plain loop (accumulating in double) the GEMM fast path of
 * ops/einsum.c is tested against.
 */
#ifndef NORMA_K_EINSUM_H
#define NORMA_K_EINSUM_H

#include <stddef.h>
#include <stdint.h>

#define K_EINSUM_MAX_LABELS 32
#define K_EINSUM_MAX_IN 8

typedef struct k_einsum_loop {
    int n_in;
    int n_out; /* labels 0..n_out-1 index the output */
    int n_red; /* labels n_out..n_out+n_red-1 are summed */
    int64_t size[K_EINSUM_MAX_LABELS];
    int64_t stride[K_EINSUM_MAX_IN][K_EINSUM_MAX_LABELS];
} k_einsum_loop;

/* out (contiguous, product of the n_out sizes) = sum over summed labels of prod in[i]. */
void k_f32_einsum_ref(const k_einsum_loop *L, const float *const *in, float *out, int threads);
void k_f64_einsum_ref(const k_einsum_loop *L, const double *const *in, double *out, int threads);

#endif
