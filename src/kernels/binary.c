/*
 * Elementwise binary kernels (see binary.h). Each dtype gets the same set of loops
 * from one macro; the loops are split by stride pattern so the compiler vectorizes the
 * common same-shape and scalar-broadcast cases.
 */
#include "kernels/binary.h"

#include <math.h>
#include <string.h>

#include "ir/half.h"
#include "kernels/clones.h"
#include "norma.h"

/* The integer macro compares unsigned values with 0 in shared expressions. */
#pragma GCC diagnostic ignored "-Wtype-limits"

/* y[i] = EXPR(x, z) with x from a and z from b, for the four stride patterns. */
#define RUN_LOOPS(T, EXPR)                                                                       \
    do {                                                                                         \
        if (sa && sb) {                                                                          \
            for (size_t i = 0; i < n; i++) {                                                     \
                T x = a[i], z = b[i];                                                            \
                (void)z;                                                                         \
                y[i] = EXPR;                                                                     \
            }                                                                                    \
        } else if (sa) {                                                                         \
            const T z = b[0];                                                                    \
            (void)z;                                                                             \
            for (size_t i = 0; i < n; i++) {                                                     \
                T x = a[i];                                                                      \
                y[i] = EXPR;                                                                     \
            }                                                                                    \
        } else if (sb) {                                                                         \
            const T x = a[0];                                                                    \
            for (size_t i = 0; i < n; i++) {                                                     \
                T z = b[i];                                                                      \
                (void)z;                                                                         \
                y[i] = EXPR;                                                                     \
            }                                                                                    \
        } else {                                                                                 \
            const T x = a[0], z = b[0];                                                          \
            (void)z;                                                                             \
            const T v = EXPR;                                                                    \
            for (size_t i = 0; i < n; i++)                                                       \
                y[i] = v;                                                                        \
        }                                                                                        \
    } while (0)

/* Floating types: IEEE arithmetic; Max/Min propagate NaN from either side. */
#define FLOAT_KERNEL(T, SUF, POWF)                                                               \
    K_CLONES static void k_##SUF##_bin(int op, size_t n, const T *a, size_t sa, const T *b, size_t sb,   \
                              T *y)                                                              \
    {                                                                                            \
        switch (op) {                                                                            \
        case K_BIN_ADD: RUN_LOOPS(T, x + z); break;                                              \
        case K_BIN_SUB: RUN_LOOPS(T, x - z); break;                                              \
        case K_BIN_MUL: RUN_LOOPS(T, x * z); break;                                              \
        case K_BIN_DIV: RUN_LOOPS(T, x / z); break;                                              \
        case K_BIN_POW:                                                                          \
            if (!sb && b[0] == (T)2)                                                             \
                RUN_LOOPS(T, x * x);                                                             \
            else                                                                                 \
                RUN_LOOPS(T, POWF(x, z));                                                        \
            break;                                                                               \
        case K_BIN_MAX: RUN_LOOPS(T, (x > z || x != x) ? x : z); break;                          \
        case K_BIN_MIN: RUN_LOOPS(T, (x < z || x != x) ? x : z); break;                          \
        case K_BIN_PRELU: RUN_LOOPS(T, x < 0 ? z * x : x); break;                                \
        default: break;                                                                          \
        }                                                                                        \
    }

/* Integer types: Add/Sub/Mul wrap (computed unsigned), Div truncates, Pow via double. */
static double pow_int(double x, double z)
{
    return pow(x, z);
}

#define INT_KERNEL(T, UT, SUF, IS_SIGNED, TMIN, TMAX)                                          \
    static T SUF##_from_double(double v)                                                         \
    {                                                                                            \
        if (v != v)                                                                              \
            return 0;                                                                            \
        if (v <= (double)(TMIN))                                                                 \
            return TMIN;                                                                         \
        if (v >= (double)(TMAX))                                                                 \
            return TMAX;                                                                         \
        return (T)v;                                                                             \
    }                                                                                            \
    static void k_##SUF##_bin(int op, size_t n, const T *a, size_t sa, const T *b, size_t sb,   \
                              T *y)                                                              \
    {                                                                                            \
        switch (op) {                                                                            \
        case K_BIN_ADD: RUN_LOOPS(T, (T)((UT)x + (UT)z)); break;                                 \
        case K_BIN_SUB: RUN_LOOPS(T, (T)((UT)x - (UT)z)); break;                                 \
        case K_BIN_MUL: RUN_LOOPS(T, (T)((UT)x * (UT)z)); break;                                 \
        case K_BIN_DIV:                                                                          \
            RUN_LOOPS(T, z == 0 ? (T)0 : (IS_SIGNED && z == (T)-1) ? (T)(0 - (UT)x) : (T)(x / z)); \
            break;                                                                               \
        case K_BIN_POW: RUN_LOOPS(T, SUF##_from_double(pow_int((double)x, (double)z))); break;  \
        case K_BIN_MAX: RUN_LOOPS(T, x > z ? x : z); break;                                      \
        case K_BIN_MIN: RUN_LOOPS(T, x < z ? x : z); break;                                      \
        case K_BIN_PRELU: RUN_LOOPS(T, (IS_SIGNED && x < (T)0) ? (T)((UT)z * (UT)x) : x); break; \
        default: break;                                                                          \
        }                                                                                        \
    }

FLOAT_KERNEL(float, f32, powf)
FLOAT_KERNEL(double, f64, pow)
INT_KERNEL(int64_t, uint64_t, i64, 1, INT64_MIN, INT64_MAX)
INT_KERNEL(int32_t, uint32_t, i32, 1, INT32_MIN, INT32_MAX)
/* 16- and 8-bit types wrap in uint32_t: uint16_t operands would promote to int, where
 * 65535 * 65535 overflows. */
INT_KERNEL(int16_t, uint32_t, i16, 1, INT16_MIN, INT16_MAX)
INT_KERNEL(int8_t, uint32_t, i8, 1, INT8_MIN, INT8_MAX)
INT_KERNEL(uint64_t, uint64_t, u64, 0, 0, UINT64_MAX)
INT_KERNEL(uint32_t, uint32_t, u32, 0, 0, UINT32_MAX)
INT_KERNEL(uint16_t, uint32_t, u16, 0, 0, UINT16_MAX)
INT_KERNEL(uint8_t, uint32_t, u8, 0, 0, UINT8_MAX)

void k_f32_binary_1d(int op, size_t n, const float *a, size_t sa, const float *b, size_t sb, float *y)
{
    k_f32_bin(op, n, a, sa, b, sb, y);
}

/* float16: convert each element to float, apply the float op, round back. */
static void k_f16_bin(int op, size_t n, const uint16_t *a, size_t sa, const uint16_t *b, size_t sb,
                      uint16_t *y)
{
    for (size_t i = 0; i < n; i++) {
        float x = half_to_float(a[i * sa]), z = half_to_float(b[i * sb]), r = 0;
        k_f32_bin(op, 1, &x, 1, &z, 1, &r);
        y[i] = float_to_half(r);
    }
}

int k_binary_supported(int dtype, int op)
{
    switch (dtype) {
    case NORMA_FLOAT:
    case NORMA_DOUBLE:
    case NORMA_INT64:
    case NORMA_INT32:
    case NORMA_INT16:
    case NORMA_INT8:
    case NORMA_UINT64:
    case NORMA_UINT32:
    case NORMA_UINT16:
    case NORMA_UINT8: return op >= K_BIN_ADD && op <= K_BIN_PRELU;
    case NORMA_FLOAT16: return op >= K_BIN_ADD && op <= K_BIN_PRELU;
    default: return 0;
    }
}

void k_binary_1d(int dtype, int op, size_t n, const void *a, size_t sa, const void *b, size_t sb, void *y)
{
    switch (dtype) {
    case NORMA_FLOAT: k_f32_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_DOUBLE: k_f64_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_INT64: k_i64_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_INT32: k_i32_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_INT16: k_i16_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_INT8: k_i8_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_UINT64: k_u64_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_UINT32: k_u32_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_UINT16: k_u16_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_UINT8: k_u8_bin(op, n, a, sa, b, sb, y); break;
    case NORMA_FLOAT16: k_f16_bin(op, n, a, sa, b, sb, y); break;
    default: break;
    }
}

/* One element of the reference, written independently of the run loops above. */
static float f32_binop_one(int op, float x, float z)
{
    switch (op) {
    case K_BIN_ADD: return x + z;
    case K_BIN_SUB: return x - z;
    case K_BIN_MUL: return x * z;
    case K_BIN_DIV: return x / z;
    case K_BIN_POW: return powf(x, z);
    case K_BIN_MAX: return isnan(x) || isnan(z) ? NAN : fmaxf(x, z);
    case K_BIN_MIN: return isnan(x) || isnan(z) ? NAN : fminf(x, z);
    case K_BIN_PRELU: return x < 0 ? z * x : x;
    default: return 0;
    }
}

void k_f32_binary_ref(int op, int r, const int64_t *dims, const float *a, const int64_t *sa,
                      const float *b, const int64_t *sb, float *y)
{
    int64_t idx[16] = {0};
    size_t total = 1;
    for (int d = 0; d < r; d++)
        total *= (size_t)dims[d];
    for (size_t i = 0; i < total; i++) {
        int64_t oa = 0, ob = 0;
        for (int d = 0; d < r; d++) {
            oa += idx[d] * sa[d];
            ob += idx[d] * sb[d];
        }
        y[i] = f32_binop_one(op, a[oa], b[ob]);
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < dims[d])
                break;
            idx[d] = 0;
        }
    }
}

static double load_f64(int t, const void *p, size_t i)
{
    switch (t) {
    case NORMA_FLOAT: return ((const float *)p)[i];
    case NORMA_DOUBLE: return ((const double *)p)[i];
    case NORMA_FLOAT16: return half_to_float(((const uint16_t *)p)[i]);
    case NORMA_INT64: return (double)((const int64_t *)p)[i];
    case NORMA_INT32: return ((const int32_t *)p)[i];
    case NORMA_INT16: return ((const int16_t *)p)[i];
    case NORMA_INT8: return ((const int8_t *)p)[i];
    case NORMA_UINT64: return (double)((const uint64_t *)p)[i];
    case NORMA_UINT32: return ((const uint32_t *)p)[i];
    case NORMA_UINT16: return ((const uint16_t *)p)[i];
    case NORMA_UINT8: return ((const uint8_t *)p)[i];
    default: return 0;
    }
}

static void store_f64(int t, void *p, size_t i, double v)
{
    switch (t) {
    case NORMA_FLOAT: ((float *)p)[i] = (float)v; break;
    case NORMA_DOUBLE: ((double *)p)[i] = v; break;
    case NORMA_FLOAT16: ((uint16_t *)p)[i] = float_to_half((float)v); break;
    case NORMA_INT64: ((int64_t *)p)[i] = i64_from_double(v); break;
    case NORMA_INT32: ((int32_t *)p)[i] = i32_from_double(v); break;
    case NORMA_INT16: ((int16_t *)p)[i] = i16_from_double(v); break;
    case NORMA_INT8: ((int8_t *)p)[i] = i8_from_double(v); break;
    case NORMA_UINT64: ((uint64_t *)p)[i] = u64_from_double(v); break;
    case NORMA_UINT32: ((uint32_t *)p)[i] = u32_from_double(v); break;
    case NORMA_UINT16: ((uint16_t *)p)[i] = u16_from_double(v); break;
    case NORMA_UINT8: ((uint8_t *)p)[i] = u8_from_double(v); break;
    default: break;
    }
}

void k_pow_mixed_1d(int ta, int tb, size_t n, const void *a, size_t sa, const void *b, size_t sb, void *y)
{
    for (size_t i = 0; i < n; i++)
        store_f64(ta, y, i, pow(load_f64(ta, a, i * sa), load_f64(tb, b, i * sb)));
}
