/*
 * Kernels for the indexing and selection ops: ArgMax / ArgMin (also behind Hardmax)
 * and CumSum. Each runs over a tensor viewed as (outer, n, inner) where n is the
 * reduced or scanned axis; one instantiation per element type, named for it
 * (k_f32_argmax_ref, k_i64_cumsum_ref, ...). They are the plain references; there is
 * no faster variant yet.
 */
#ifndef NORMA_K_INDEX_H
#define NORMA_K_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* x (outer, n, inner) -> y (outer, inner): the position along n of the largest
 * (argmax) or smallest (argmin) value; ties give the first position, or the last when
 * select_last. A NaN counts as larger and smaller than every number (the first NaN
 * wins, as numpy's argmax/argmin). n >= 1. */
#define K_ARG_DECL(tag, T)                                                                              \
    void k_##tag##_argmax_ref(const T *x, size_t outer, size_t n, size_t inner, int select_last,       \
                              int64_t *y);                                                              \
    void k_##tag##_argmin_ref(const T *x, size_t outer, size_t n, size_t inner, int select_last, int64_t *y);

/* x (outer, n, inner) -> y of the same shape: running sums along n. exclusive leaves
 * out the element itself (the first sum is 0); reverse sums from the end. */
#define K_CUMSUM_DECL(tag, T)                                                                           \
    void k_##tag##_cumsum_ref(const T *x, size_t outer, size_t n, size_t inner, int exclusive, int reverse, \
                              T *y);

K_ARG_DECL(f32, float)
K_ARG_DECL(f64, double)
K_ARG_DECL(i8, int8_t)
K_ARG_DECL(u8, uint8_t)
K_ARG_DECL(i16, int16_t)
K_ARG_DECL(u16, uint16_t)
K_ARG_DECL(i32, int32_t)
K_ARG_DECL(u32, uint32_t)
K_ARG_DECL(i64, int64_t)
K_ARG_DECL(u64, uint64_t)

K_CUMSUM_DECL(f32, float)
K_CUMSUM_DECL(f64, double)
K_CUMSUM_DECL(i32, int32_t)
K_CUMSUM_DECL(u32, uint32_t)
K_CUMSUM_DECL(i64, int64_t)
K_CUMSUM_DECL(u64, uint64_t)

#endif
