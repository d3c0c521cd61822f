/*
 * Strided N-D copy by element size: the data movement shared by Transpose, Slice,
 * Expand and Tile. out is dense with dims od (rank r); element (i0..ir-1) of out
 * reads in + es * (sum_d i_d * st[d]). A stride may be 0 (broadcast) or negative
 * (Slice with a negative step).
 */
#ifndef NORMA_K_COPY_H
#define NORMA_K_COPY_H

#include <stddef.h>
#include <stdint.h>

/* Merges adjacent dims that are contiguous in both out and in and drops size-1 dims.
 * Rewrites r, od and st in place (od/st need r entries). Always leaves r >= 1. */
void k_copy_coalesce(int *r, int64_t *od, int64_t *st);

/* The copy itself; parallel over the outer dims with up to threads threads. */
void k_strided_copy(void *out, const void *in, size_t es, int r, const int64_t *od, const int64_t *st,
                    int threads);

/* Plain reference: one element at a time (tests compare against it). */
void k_strided_copy_ref(void *out, const void *in, size_t es, int r, const int64_t *od, const int64_t *st);

/* 2-D transpose of 32-bit elements: out[c*ldo + r] = in[r*ldi + c] for r < rows,
 * c < cols (in is rows x cols with row stride ldi, out cols x rows with row stride
 * ldo). Tiled, with 8x8 blocks transposed in AVX2 registers where the CPU has them,
 * else 4x4 blocks in portable vectors. Used by k_strided_copy, to pack a transposed
 * GEMM weight and to pack row-major activations as the GEMM's A. */
void k_transpose_4b(void *out, const void *in, size_t rows, size_t cols, ptrdiff_t ldi, ptrdiff_t ldo);
/* The two paths, for tests (the AVX2 one only on x86-64 CPUs with AVX2). */
void k_transpose_4b_portable(void *out, const void *in, size_t rows, size_t cols, ptrdiff_t ldi, ptrdiff_t ldo);
void k_transpose_4b_avx2(void *out, const void *in, size_t rows, size_t cols, ptrdiff_t ldi, ptrdiff_t ldo);

#endif
