/*
 * Elementwise binary kernels: y = a (op) b over one contiguous run of outputs, where
 * each operand either advances with the output (stride 1) or stays put (stride 0, a
 * broadcast scalar within the run). The op file splits an N-d broadcast into such runs.
 * dtype is an ONNX TensorProto.DataType (norma_dtype).
 */
#ifndef NORMA_K_BINARY_H
#define NORMA_K_BINARY_H

#include <stddef.h>
#include <stdint.h>

enum {
    K_BIN_ADD = 0,
    K_BIN_SUB,
    K_BIN_MUL,
    K_BIN_DIV,  /* integers: b == 0 gives 0 (the op rejects it before), MIN / -1 wraps */
    K_BIN_POW,  /* same dtype; see k_pow_mixed_1d for mixed base / exponent types */
    K_BIN_MAX,  /* floats: NaN in either operand gives NaN (numpy maximum) */
    K_BIN_MIN,
    K_BIN_PRELU /* a < 0 ? b * a : a */
};

/* Returns 1 when the kernels handle dtype for op. */
int k_binary_supported(int dtype, int op);

/* y[i] = a[i*sa] (op) b[i*sb] for i < n; sa, sb are 0 or 1. y may alias a or b when
 * the aliased operand has stride 1. */
void k_binary_1d(int dtype, int op, size_t n, const void *a, size_t sa, const void *b, size_t sb,
                 void *y);

/* float32 fast path of k_binary_1d (vectorizable loops per op and stride pattern). */
void k_f32_binary_1d(int op, size_t n, const float *a, size_t sa, const float *b, size_t sb, float *y);

/* Scalar reference: y (dims, rank r, contiguous) = a (op) b with element strides sa, sb
 * per output dim (0 where broadcast). One element at a time, no run splitting. */
void k_f32_binary_ref(int op, int r, const int64_t *dims, const float *a, const int64_t *sa,
                      const float *b, const int64_t *sb, float *y);

/* Pow with base dtype ta (output dtype too) and exponent dtype tb, computed in double. */
void k_pow_mixed_1d(int ta, int tb, size_t n, const void *a, size_t sa, const void *b, size_t sb,
                    void *y);

#endif
