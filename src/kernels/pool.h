/*
 * Pooling kernels, 1 to 3 spatial dimensions normalized to three (missing leading
 * dimensions have size 1, kernel 1, stride 1, pad 0).
 *   x (N*C, D, H, W) -> y (N*C, oD, oH, oW)
 * Windows start at o*stride - pad and take kernel taps spaced by dilation; taps
 * outside the input are skipped (max) or counted only with count_include_pad when
 * they fall inside the explicit padding (average).
 */
#ifndef NORMA_KERNELS_POOL_H
#define NORMA_KERNELS_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct k_pool_shape {
    int64_t NC;
    int64_t in[3], out[3], k[3], stride[3], dil[3];
    int64_t pad[3], pad_end[3];
} k_pool_shape;

/* Max pooling. ind (may be NULL) receives the flat index of each maximum in the whole
 * input tensor, row-major over (D,H,W) or, with storage_order 1, column-major. */
void k_f32_maxpool_ref(const k_pool_shape *s, const float *x, float *y, int64_t *ind, int storage_order,
                       int threads);
void k_u8_maxpool_ref(const k_pool_shape *s, const uint8_t *x, uint8_t *y, int64_t *ind, int storage_order,
                      int threads);
void k_i8_maxpool_ref(const k_pool_shape *s, const int8_t *x, int8_t *y, int64_t *ind, int storage_order,
                      int threads);
void k_f32_avgpool_ref(const k_pool_shape *s, const float *x, float *y, int count_include_pad, int threads);
/* The fast path of both (no Indices): row-wise passes without bounds checks in the
 * inner loop. Max ignores NaN inputs unless all taps are NaN-free (it returns -inf
 * for a window of only NaN), where the reference keeps a leading NaN. */
void k_f32_pool_rows(const k_pool_shape *s, const float *x, float *y, int is_max, int count_include_pad,
                     int threads);
/* The same; simd = 0 keeps to the portable loops where the AVX-512 max rows would run
 * (the tests compare the two: same bits). */
void k_f32_pool_rows_x(const k_pool_shape *s, const float *x, float *y, int is_max, int count_include_pad,
                       int threads, int simd);
/* Global pools: x (NC, n) -> y (NC). */
void k_f32_global_avgpool(size_t NC, size_t n, const float *x, float *y, int threads);
void k_f32_global_maxpool(size_t NC, size_t n, const float *x, float *y, int threads);

#endif
