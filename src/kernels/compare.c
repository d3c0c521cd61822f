/*
 * Comparison, logic, BitShift, Mod, Where, IsNaN/IsInf and Not kernels (see compare.h).
 * One macro per family instantiates the loops for every dtype; the loops are split by
 * stride pattern so the compiler vectorizes the same-shape and scalar cases.
 */
#include "kernels/compare.h"

#include <math.h>
#include <string.h>

#include "ir/half.h"
#include "kernels/clones.h"
#include "norma.h"

/* Unsigned dtypes compare with 0 in shared expressions. */
#pragma GCC diagnostic ignored "-Wtype-limits"

/* y[i] = EXPR(x, z), x from a (type T), z from b, for the four stride patterns. */
#define RUN_LOOPS(T, EXPR)                                                                       \
    do {                                                                                         \
        if (sa && sb) {                                                                          \
            for (size_t i = 0; i < n; i++) {                                                     \
                T x = a[i], z = b[i];                                                            \
                y[i] = EXPR;                                                                     \
            }                                                                                    \
        } else if (sa) {                                                                         \
            const T z = b[0];                                                                    \
            for (size_t i = 0; i < n; i++) {                                                     \
                T x = a[i];                                                                      \
                y[i] = EXPR;                                                                     \
            }                                                                                    \
        } else if (sb) {                                                                         \
            const T x = a[0];                                                                    \
            for (size_t i = 0; i < n; i++) {                                                     \
                T z = b[i];                                                                      \
                y[i] = EXPR;                                                                     \
            }                                                                                    \
        } else {                                                                                 \
            const T x = a[0], z = b[0];                                                          \
            for (size_t i = 0; i < n; i++)                                                       \
                y[i] = EXPR;                                                                     \
        }                                                                                        \
    } while (0)

/* ---- comparisons ---- */

#define CMP_KERNEL(T, SUF)                                                                       \
    K_CLONES static void k_##SUF##_cmp(int op, size_t n, const T *a, size_t sa, const T *b,      \
                                       size_t sb, uint8_t *y)                                    \
    {                                                                                            \
        switch (op) {                                                                            \
        case K_CMP_EQ: RUN_LOOPS(T, (uint8_t)(x == z)); break;                                   \
        case K_CMP_LT: RUN_LOOPS(T, (uint8_t)(x < z)); break;                                    \
        case K_CMP_LE: RUN_LOOPS(T, (uint8_t)(x <= z)); break;                                   \
        case K_CMP_GT: RUN_LOOPS(T, (uint8_t)(x > z)); break;                                    \
        case K_CMP_GE: RUN_LOOPS(T, (uint8_t)(x >= z)); break;                                   \
        case K_CMP_AND: RUN_LOOPS(T, (uint8_t)((x != 0) & (z != 0))); break;                     \
        case K_CMP_OR: RUN_LOOPS(T, (uint8_t)((x != 0) | (z != 0))); break;                      \
        case K_CMP_XOR: RUN_LOOPS(T, (uint8_t)((x != 0) ^ (z != 0))); break;                     \
        default: break;                                                                          \
        }                                                                                        \
    }

CMP_KERNEL(float, f32)
CMP_KERNEL(double, f64)
CMP_KERNEL(int64_t, i64)
CMP_KERNEL(int32_t, i32)
CMP_KERNEL(int16_t, i16)
CMP_KERNEL(int8_t, i8)
CMP_KERNEL(uint64_t, u64)
CMP_KERNEL(uint32_t, u32)
CMP_KERNEL(uint16_t, u16)
CMP_KERNEL(uint8_t, u8)

/* float16: widen a block to float32, then the float loops. */
#define F16_BLOCK 256
static void k_f16_cmp(int op, size_t n, const uint16_t *a, size_t sa, const uint16_t *b, size_t sb,
                      uint8_t *y)
{
    float fa[F16_BLOCK], fb[F16_BLOCK];
    for (size_t lo = 0; lo < n; lo += F16_BLOCK) {
        size_t len = n - lo < F16_BLOCK ? n - lo : F16_BLOCK;
        for (size_t i = 0; i < len; i++) {
            fa[i] = half_to_float(a[(lo + i) * sa]);
            fb[i] = half_to_float(b[(lo + i) * sb]);
        }
        k_f32_cmp(op, len, fa, 1, fb, 1, y + lo);
    }
}

int k_compare_supported(int dtype, int op)
{
    if (op >= K_CMP_AND)
        return dtype == NORMA_BOOL && op <= K_CMP_XOR;
    switch (dtype) {
    case NORMA_FLOAT: case NORMA_DOUBLE: case NORMA_FLOAT16: case NORMA_BOOL:
    case NORMA_INT64: case NORMA_INT32: case NORMA_INT16: case NORMA_INT8:
    case NORMA_UINT64: case NORMA_UINT32: case NORMA_UINT16: case NORMA_UINT8: return op >= 0;
    default: return 0;
    }
}

void k_compare_1d(int dtype, int op, size_t n, const void *a, size_t sa, const void *b, size_t sb,
                  uint8_t *y)
{
    switch (dtype) {
    case NORMA_FLOAT: k_f32_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_DOUBLE: k_f64_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_FLOAT16: k_f16_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_INT64: k_i64_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_INT32: k_i32_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_INT16: k_i16_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_INT8: k_i8_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_UINT64: k_u64_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_UINT32: k_u32_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_UINT16: k_u16_cmp(op, n, a, sa, b, sb, y); break;
    case NORMA_UINT8: case NORMA_BOOL: k_u8_cmp(op, n, a, sa, b, sb, y); break;
    default: break;
    }
}

/* ---- BitShift ---- */

#define SHIFT_KERNEL(T, SUF, BITS)                                                               \
    static void k_##SUF##_shift(int left, size_t n, const T *a, size_t sa, const T *b, size_t sb, \
                                T *y)                                                            \
    {                                                                                            \
        if (left)                                                                                \
            RUN_LOOPS(T, (T)(z >= (BITS) ? 0 : x << z));                                         \
        else                                                                                     \
            RUN_LOOPS(T, (T)(z >= (BITS) ? 0 : x >> z));                                         \
    }

SHIFT_KERNEL(uint64_t, u64, 64u)
SHIFT_KERNEL(uint32_t, u32, 32u)
SHIFT_KERNEL(uint16_t, u16, 16u)
SHIFT_KERNEL(uint8_t, u8, 8u)

int k_bitshift_supported(int dtype)
{
    return dtype == NORMA_UINT8 || dtype == NORMA_UINT16 || dtype == NORMA_UINT32 ||
           dtype == NORMA_UINT64;
}

void k_bitshift_1d(int dtype, int left, size_t n, const void *a, size_t sa, const void *b, size_t sb,
                   void *y)
{
    switch (dtype) {
    case NORMA_UINT64: k_u64_shift(left, n, a, sa, b, sb, y); break;
    case NORMA_UINT32: k_u32_shift(left, n, a, sa, b, sb, y); break;
    case NORMA_UINT16: k_u16_shift(left, n, a, sa, b, sb, y); break;
    case NORMA_UINT8: k_u8_shift(left, n, a, sa, b, sb, y); break;
    default: break;
    }
}

/* ---- Mod ---- */

/* Signed remainder without the C traps: b == 0 gives 0, b == -1 gives 0 (MIN % -1). */
#define SMOD_KERNEL(T, SUF)                                                                      \
    static T SUF##_mod1(T x, T z, int cmod)                                                      \
    {                                                                                            \
        if (z == 0 || z == (T)-1)                                                                \
            return 0;                                                                            \
        T r = (T)(x % z);                                                                        \
        if (!cmod && r != 0 && ((r < 0) != (z < 0)))                                             \
            r = (T)(r + z);                                                                      \
        return r;                                                                                \
    }                                                                                            \
    static void k_##SUF##_mod(int cmod, size_t n, const T *a, size_t sa, const T *b, size_t sb,  \
                              T *y)                                                              \
    {                                                                                            \
        RUN_LOOPS(T, SUF##_mod1(x, z, cmod));                                                    \
    }

#define UMOD_KERNEL(T, SUF)                                                                      \
    static void k_##SUF##_mod(int cmod, size_t n, const T *a, size_t sa, const T *b, size_t sb,  \
                              T *y)                                                              \
    {                                                                                            \
        (void)cmod;                                                                              \
        RUN_LOOPS(T, (T)(z == 0 ? 0 : x % z));                                                   \
    }

SMOD_KERNEL(int64_t, i64)
SMOD_KERNEL(int32_t, i32)
SMOD_KERNEL(int16_t, i16)
SMOD_KERNEL(int8_t, i8)
UMOD_KERNEL(uint64_t, u64)
UMOD_KERNEL(uint32_t, u32)
UMOD_KERNEL(uint16_t, u16)
UMOD_KERNEL(uint8_t, u8)

/* Floats: fmod = 1 is C's fmod; fmod = 0 (numpy's mod) adds the divisor when the
 * signs differ. */
static double f64_mod1(double x, double z, int cmod)
{
    double r = fmod(x, z);
    if (!cmod && r != 0 && ((r < 0) != (z < 0)))
        r += z;
    return r;
}

static void k_f64_mod(int cmod, size_t n, const double *a, size_t sa, const double *b, size_t sb,
                      double *y)
{
    RUN_LOOPS(double, f64_mod1(x, z, cmod));
}

static void k_f32_mod(int cmod, size_t n, const float *a, size_t sa, const float *b, size_t sb,
                      float *y)
{
    RUN_LOOPS(float, (float)f64_mod1(x, z, cmod));
}

static void k_f16_mod(int cmod, size_t n, const uint16_t *a, size_t sa, const uint16_t *b, size_t sb,
                      uint16_t *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = float_to_half((float)f64_mod1(half_to_float(a[i * sa]), half_to_float(b[i * sb]), cmod));
}

int k_mod_supported(int dtype, int cmod)
{
    switch (dtype) {
    case NORMA_FLOAT: case NORMA_DOUBLE: case NORMA_FLOAT16: return cmod == 1;
    case NORMA_INT64: case NORMA_INT32: case NORMA_INT16: case NORMA_INT8:
    case NORMA_UINT64: case NORMA_UINT32: case NORMA_UINT16: case NORMA_UINT8: return 1;
    default: return 0;
    }
}

void k_mod_1d(int dtype, int cmod, size_t n, const void *a, size_t sa, const void *b, size_t sb, void *y)
{
    switch (dtype) {
    case NORMA_FLOAT: k_f32_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_DOUBLE: k_f64_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_FLOAT16: k_f16_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_INT64: k_i64_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_INT32: k_i32_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_INT16: k_i16_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_INT8: k_i8_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_UINT64: k_u64_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_UINT32: k_u32_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_UINT16: k_u16_mod(cmod, n, a, sa, b, sb, y); break;
    case NORMA_UINT8: k_u8_mod(cmod, n, a, sa, b, sb, y); break;
    default: break;
    }
}

/* ---- Where ---- */

#define WHERE_LOOP(T)                                                                            \
    do {                                                                                         \
        const T *px = x, *py = y;                                                                \
        T *po = out;                                                                             \
        if (sc && sx && sy) {                                                                    \
            for (size_t i = 0; i < n; i++)                                                       \
                po[i] = cond[i] ? px[i] : py[i];                                                 \
        } else {                                                                                 \
            for (size_t i = 0; i < n; i++)                                                       \
                po[i] = cond[i * sc] ? px[i * sx] : py[i * sy];                                  \
        }                                                                                        \
    } while (0)

void k_where_1d(size_t esize, size_t n, const uint8_t *cond, size_t sc, const void *x, size_t sx,
                const void *y, size_t sy, void *out)
{
    switch (esize) {
    case 1: WHERE_LOOP(uint8_t); break;
    case 2: WHERE_LOOP(uint16_t); break;
    case 4: WHERE_LOOP(uint32_t); break;
    case 8: WHERE_LOOP(uint64_t); break;
    default:
        for (size_t i = 0; i < n; i++)
            memcpy((char *)out + i * esize,
                   cond[i * sc] ? (const char *)x + i * sx * esize : (const char *)y + i * sy * esize,
                   esize);
        break;
    }
}

/* ---- IsNaN, IsInf, Not ---- */

void k_isnan(int dtype, size_t n, const void *x, uint8_t *y)
{
    if (dtype == NORMA_FLOAT) {
        const float *p = x;
        for (size_t i = 0; i < n; i++)
            y[i] = p[i] != p[i];
    } else if (dtype == NORMA_DOUBLE) {
        const double *p = x;
        for (size_t i = 0; i < n; i++)
            y[i] = p[i] != p[i];
    } else if (dtype == NORMA_FLOAT16) {
        const uint16_t *p = x;
        for (size_t i = 0; i < n; i++)
            y[i] = (p[i] & 0x7c00) == 0x7c00 && (p[i] & 0x3ff) != 0;
    }
}

void k_isinf(int dtype, size_t n, const void *x, uint8_t *y, int detect_pos, int detect_neg)
{
    for (size_t i = 0; i < n; i++) {
        double v = dtype == NORMA_FLOAT    ? ((const float *)x)[i]
                   : dtype == NORMA_DOUBLE ? ((const double *)x)[i]
                                           : half_to_float(((const uint16_t *)x)[i]);
        y[i] = (detect_pos && v == INFINITY) || (detect_neg && v == -INFINITY);
    }
}

void k_not(size_t n, const uint8_t *x, uint8_t *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] == 0;
}

/* ---- references ---- */

int k_compare_ref(int op, double a, double b)
{
    switch (op) {
    case K_CMP_EQ: return !isnan(a) && !isnan(b) && !(a < b) && !(a > b);
    case K_CMP_LT: return isless(a, b);
    case K_CMP_LE: return islessequal(a, b);
    case K_CMP_GT: return isgreater(a, b);
    case K_CMP_GE: return isgreaterequal(a, b);
    case K_CMP_AND: return a != 0 && b != 0;
    case K_CMP_OR: return a != 0 || b != 0;
    case K_CMP_XOR: return (a != 0) != (b != 0);
    default: return 0;
    }
}

int64_t k_mod_i64_ref(int64_t a, int64_t b, int cmod)
{
    if (b == 0 || b == -1)
        return 0;
    /* floor division for Python's %, truncation for C's */
    int64_t q = a / b;
    if (!cmod && (a % b != 0) && ((a < 0) != (b < 0)))
        q -= 1;
    return a - q * b;
}
