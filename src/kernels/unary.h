/*
 * Elementwise unary kernels (activations and math functions): y[i] = f(x[i]).
 * Parameters: alpha, beta, gamma as the ONNX op defines them (LeakyRelu/Elu/Celu/
 * ThresholdedRelu alpha, Selu alpha/gamma, HardSigmoid alpha/beta, Clip min=alpha
 * max=beta, Shrink lambd=alpha bias=beta). NaN propagates:
 * every f maps NaN to NaN (Relu, Clip and friends included), as numpy does.
 */
#ifndef NORMA_K_UNARY_H
#define NORMA_K_UNARY_H

#include <stddef.h>
#include <stdint.h>

enum {
    K_UN_RELU = 0,
    K_UN_LEAKY_RELU,
    K_UN_ELU,
    K_UN_SELU,
    K_UN_CLIP,
    K_UN_SIGMOID,
    K_UN_HARD_SIGMOID,
    K_UN_HARD_SWISH,
    K_UN_TANH,
    K_UN_SOFTPLUS,
    K_UN_SOFTSIGN,
    K_UN_ERF,
    K_UN_EXP,
    K_UN_LOG,
    K_UN_SQRT,
    K_UN_NEG,
    K_UN_ABS,
    K_UN_RECIPROCAL,
    K_UN_FLOOR,
    K_UN_CEIL,
    K_UN_SIGN,             /* NaN stays NaN */
    K_UN_ROUND,            /* half to even */
    K_UN_SIN,
    K_UN_COS,
    K_UN_TAN,
    K_UN_ASIN,
    K_UN_ACOS,
    K_UN_ATAN,
    K_UN_SINH,
    K_UN_COSH,
    K_UN_ASINH,
    K_UN_ACOSH,
    K_UN_ATANH,
    K_UN_THRESHOLDED_RELU, /* x > alpha ? x : 0 */
    K_UN_SHRINK,           /* lambd = alpha, bias = beta */
    K_UN_CELU,             /* max(0,x) + min(0, alpha*(exp(x/alpha)-1)) */
    K_UN_MISH,             /* x * tanh(softplus(x)) */
    K_UN_COUNT
};

/* float32, one tight loop per op. x and y may be the same array. */
void k_f32_unary(int op, size_t n, const float *x, float *y, float alpha, float beta, float gamma);

/* y = sigmoid(y) (silu 0) or y * sigmoid(y) (silu 1) in place, vectorized: the fused
 * Sigmoid and SiLU activations (kernels/act.h). The same values as the Sigmoid op's
 * loop and, for SiLU, a Mul after it. */
void k_f32_sigmoid_inplace(size_t n, float *y, int silu);
/* float32 scalar reference: one switch per element. */
void k_f32_unary_ref(int op, size_t n, const float *x, float *y, float alpha, float beta, float gamma);
/* float64, all ops, computed in double. */
void k_f64_unary(int op, size_t n, const double *x, double *y, double alpha, double beta, double gamma);
/* Integer dtypes (norma_dtype): Relu, Neg, Abs, Sign and Clip (lo, hi in the dtype's range).
 * Returns 0 when dtype/op is not handled. */
int k_int_unary_supported(int dtype, int op);
void k_int_unary(int dtype, int op, size_t n, const void *x, void *y, int64_t lo, int64_t hi);

#endif
