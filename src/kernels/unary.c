/*
 * Elementwise unary kernels (see unary.h). The fast path is one loop per op so the
 * compiler can vectorize the simple ones (Relu, Clip, Neg, Abs, Floor, ...); the
 * transcendental ones call libm per element, except exp, tanh and erf (fastmath.h, erf.h).
 */
#include "kernels/unary.h"

#include <math.h>
#include <stdint.h>

#include "kernels/clones.h"
#include "kernels/erf.h"
#include "kernels/fastmath.h"
#include "norma.h"

#define LOOP(EXPR)                                                                               \
    for (size_t i = 0; i < n; i++) {                                                             \
        T v = x[i];                                                                              \
        y[i] = EXPR;                                                                             \
    }                                                                                            \
    break

#define FLOAT_UNARY(T, SUF, M, EXPM1, EXP, LOG1P, TANH, ERF, LOG, SQRT, FABS, FLOOR, CEIL)       \
    K_CLONES void k_##SUF##_unary(int op, size_t n, const T *x, T *y, T alpha, T beta, T gamma)          \
    {                                                                                            \
        switch (op) {                                                                            \
        case K_UN_RELU: LOOP(v < 0 ? (T)0 : v);                                                  \
        case K_UN_LEAKY_RELU: LOOP(v < 0 ? alpha * v : v);                                       \
        case K_UN_ELU: LOOP(v < 0 ? alpha * EXPM1(v) : v);                                       \
        case K_UN_SELU: LOOP(v <= 0 ? gamma * alpha * EXPM1(v) : gamma * v);                     \
        case K_UN_CLIP: LOOP(v < alpha ? alpha : v > beta ? beta : v);                           \
        case K_UN_SIGMOID: LOOP((T)1 / ((T)1 + EXP(-v)));                                        \
        case K_UN_HARD_SIGMOID: {                                                                \
            for (size_t i = 0; i < n; i++) {                                                     \
                T t = alpha * x[i] + beta;                                                       \
                y[i] = t < 0 ? (T)0 : t > 1 ? (T)1 : t;                                          \
            }                                                                                    \
            break;                                                                               \
        }                                                                                        \
        case K_UN_HARD_SWISH: {                                                                  \
            for (size_t i = 0; i < n; i++) {                                                     \
                T v = x[i], t = v / (T)6 + (T)0.5;                                               \
                y[i] = v * (t < 0 ? (T)0 : t > 1 ? (T)1 : t);                                    \
            }                                                                                    \
            break;                                                                               \
        }                                                                                        \
        case K_UN_TANH: LOOP(TANH(v));                                                           \
        case K_UN_SOFTPLUS: LOOP(v > 0 ? v + LOG1P(EXP(-v)) : LOG1P(EXP(v)));                    \
        case K_UN_SOFTSIGN: LOOP(v / ((T)1 + FABS(v)));                                          \
        case K_UN_ERF: LOOP(ERF(v));                                                             \
        case K_UN_EXP: LOOP(EXP(v));                                                             \
        case K_UN_LOG: LOOP(LOG(v));                                                             \
        case K_UN_SQRT: LOOP(SQRT(v));                                                           \
        case K_UN_NEG: LOOP(-v);                                                                 \
        case K_UN_ABS: LOOP(FABS(v));                                                            \
        case K_UN_RECIPROCAL: LOOP((T)1 / v);                                                    \
        case K_UN_FLOOR: LOOP(FLOOR(v));                                                         \
        case K_UN_CEIL: LOOP(CEIL(v));                                                           \
        case K_UN_SIGN: LOOP(v > 0 ? (T)1 : v < 0 ? (T)-1 : v);                                  \
        case K_UN_ROUND: LOOP(M(rint)(v));                                                       \
        case K_UN_SIN: LOOP(M(sin)(v));                                                          \
        case K_UN_COS: LOOP(M(cos)(v));                                                          \
        case K_UN_TAN: LOOP(M(tan)(v));                                                          \
        case K_UN_ASIN: LOOP(M(asin)(v));                                                        \
        case K_UN_ACOS: LOOP(M(acos)(v));                                                        \
        case K_UN_ATAN: LOOP(M(atan)(v));                                                        \
        case K_UN_SINH: LOOP(M(sinh)(v));                                                        \
        case K_UN_COSH: LOOP(M(cosh)(v));                                                        \
        case K_UN_ASINH: LOOP(M(asinh)(v));                                                      \
        case K_UN_ACOSH: LOOP(M(acosh)(v));                                                      \
        case K_UN_ATANH: LOOP(M(atanh)(v));                                                      \
        case K_UN_THRESHOLDED_RELU: LOOP(v > alpha ? v : (v != v ? v : (T)0));                   \
        case K_UN_SHRINK: LOOP(v < -alpha ? v + beta : v > alpha ? v - beta : (v != v ? v : (T)0)); \
        case K_UN_CELU: LOOP(v > 0 ? v : v < 0 ? alpha * EXPM1(v / alpha) : v);                  \
        case K_UN_MISH: LOOP(v * TANH(v > 0 ? v + LOG1P(EXP(-v)) : LOG1P(EXP(v))));              \
        default: break;                                                                          \
        }                                                                                        \
    }

#define MF(fn) fn##f
#define MD(fn) fn
#define T float
FLOAT_UNARY(float, f32, MF, expm1f, k_expf, log1pf, k_tanhf, k_erff, logf, sqrtf, fabsf, floorf, ceilf)
#undef T
#define T double
FLOAT_UNARY(double, f64, MD, expm1, exp, log1p, tanh, erf, log, sqrt, fabs, floor, ceil)
#undef T

K_CLONES void k_f32_sigmoid_inplace(size_t n, float *y, int silu)
{
    if (silu)
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] * (1.0f / (1.0f + k_expf(-y[i])));
    else
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + k_expf(-y[i]));
}

static float f32_unary_one(int op, float v, float alpha, float beta, float gamma)
{
    if (isnan(v))
        return v;
    switch (op) {
    case K_UN_RELU: return fmaxf(v, 0.0f);
    case K_UN_LEAKY_RELU: return v >= 0 ? v : alpha * v;
    case K_UN_ELU: return v >= 0 ? v : alpha * (expf(v) - 1.0f);
    case K_UN_SELU: return v > 0 ? gamma * v : gamma * (alpha * expf(v) - alpha);
    case K_UN_CLIP: return fminf(fmaxf(v, alpha), beta);
    case K_UN_SIGMOID: return v >= 0 ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
    case K_UN_HARD_SIGMOID: return fmaxf(0.0f, fminf(1.0f, alpha * v + beta));
    case K_UN_HARD_SWISH: return v * fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f));
    case K_UN_TANH: return tanhf(v);
    case K_UN_SOFTPLUS: return (float)log1p(exp((double)v));
    case K_UN_SOFTSIGN: return v / (1.0f + fabsf(v));
    case K_UN_ERF: return erff(v);
    case K_UN_EXP: return expf(v);
    case K_UN_LOG: return logf(v);
    case K_UN_SQRT: return sqrtf(v);
    case K_UN_NEG: return -v;
    case K_UN_ABS: return fabsf(v);
    case K_UN_RECIPROCAL: return 1.0f / v;
    case K_UN_FLOOR: return floorf(v);
    case K_UN_CEIL: return ceilf(v);
    case K_UN_SIGN: return v > 0 ? 1.0f : v < 0 ? -1.0f : 0.0f;
    case K_UN_ROUND: {
        float r = floorf(v), d = v - r;
        if (d > 0.5f || (d == 0.5f && fmodf(r, 2.0f) != 0))
            r += 1.0f;
        return r;
    }
    case K_UN_SIN: return (float)sin(v);
    case K_UN_COS: return (float)cos(v);
    case K_UN_TAN: return (float)tan(v);
    case K_UN_ASIN: return (float)asin(v);
    case K_UN_ACOS: return (float)acos(v);
    case K_UN_ATAN: return (float)atan(v);
    case K_UN_SINH: return (float)sinh(v);
    case K_UN_COSH: return (float)cosh(v);
    case K_UN_ASINH: return (float)asinh(v);
    case K_UN_ACOSH: return (float)acosh(v);
    case K_UN_ATANH: return (float)atanh(v);
    case K_UN_THRESHOLDED_RELU: return v > alpha ? v : 0.0f;
    case K_UN_SHRINK: return v < -alpha ? v + beta : v > alpha ? v - beta : 0.0f;
    case K_UN_CELU: return fmaxf(0.0f, v) + fminf(0.0f, alpha * (expf(v / alpha) - 1.0f));
    case K_UN_MISH: return (float)((double)v * tanh(log1p(exp((double)v))));
    default: return 0;
    }
}

void k_f32_unary_ref(int op, size_t n, const float *x, float *y, float alpha, float beta, float gamma)
{
    for (size_t i = 0; i < n; i++)
        y[i] = f32_unary_one(op, x[i], alpha, beta, gamma);
}

#pragma GCC diagnostic ignored "-Wtype-limits"

#define INT_UNARY(T, UT, SUF)                                                                    \
    static void k_##SUF##_unary(int op, size_t n, const T *x, T *y, int64_t lo64, int64_t hi64) \
    {                                                                                            \
        const T lo = (T)lo64, hi = (T)hi64;                                                      \
        switch (op) {                                                                            \
        case K_UN_RELU: LOOP(v < 0 ? (T)0 : v);                                                  \
        case K_UN_NEG: LOOP((T)(0 - (UT)v));                                                     \
        case K_UN_ABS: LOOP(v < 0 ? (T)(0 - (UT)v) : v);                                         \
        case K_UN_CLIP: LOOP(v < lo ? lo : v > hi ? hi : v);                                     \
        case K_UN_SIGN: LOOP(v > 0 ? (T)1 : v < 0 ? (T)-1 : (T)0);                               \
        default: break;                                                                          \
        }                                                                                        \
    }

#define T int64_t
INT_UNARY(int64_t, uint64_t, i64)
#undef T
#define T int32_t
INT_UNARY(int32_t, uint32_t, i32)
#undef T
#define T int16_t
INT_UNARY(int16_t, uint16_t, i16)
#undef T
#define T int8_t
INT_UNARY(int8_t, uint8_t, i8)
#undef T
#define T uint64_t
INT_UNARY(uint64_t, uint64_t, u64)
#undef T
#define T uint32_t
INT_UNARY(uint32_t, uint32_t, u32)
#undef T
#define T uint16_t
INT_UNARY(uint16_t, uint16_t, u16)
#undef T
#define T uint8_t
INT_UNARY(uint8_t, uint8_t, u8)
#undef T

int k_int_unary_supported(int dtype, int op)
{
    if (op != K_UN_RELU && op != K_UN_NEG && op != K_UN_ABS && op != K_UN_CLIP && op != K_UN_SIGN)
        return 0;
    switch (dtype) {
    case NORMA_INT64:
    case NORMA_INT32:
    case NORMA_INT16:
    case NORMA_INT8: return 1;
    case NORMA_UINT64:
    case NORMA_UINT32:
    case NORMA_UINT16:
    case NORMA_UINT8: return op != K_UN_NEG;
    default: return 0;
    }
}

void k_int_unary(int dtype, int op, size_t n, const void *x, void *y, int64_t lo, int64_t hi)
{
    switch (dtype) {
    case NORMA_INT64: k_i64_unary(op, n, x, y, lo, hi); break;
    case NORMA_INT32: k_i32_unary(op, n, x, y, lo, hi); break;
    case NORMA_INT16: k_i16_unary(op, n, x, y, lo, hi); break;
    case NORMA_INT8: k_i8_unary(op, n, x, y, lo, hi); break;
    case NORMA_UINT64: k_u64_unary(op, n, x, y, lo, hi); break;
    case NORMA_UINT32: k_u32_unary(op, n, x, y, lo, hi); break;
    case NORMA_UINT16: k_u16_unary(op, n, x, y, lo, hi); break;
    case NORMA_UINT8: k_u8_unary(op, n, x, y, lo, hi); break;
    default: break;
    }
}
