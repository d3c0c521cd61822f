/* Reference kernels for ArgMax / ArgMin and CumSum (see index.h). */
#include "kernels/index.h"

#define K_FNAN(v) ((v) != (v))
#define K_INAN(v) ((void)(v), 0)
#define K_FADD(a, b) ((a) + (b))
/* integers wrap instead of overflowing (signed overflow is undefined) */
#define K_IADD(a, b) ((uint64_t)(a) + (uint64_t)(b))
/* With inner == 1 each row is scanned once; otherwise the n rows of inner values are
 * walked in memory order, y holding the best position so far of each column. */
#define K_ARG_DEF(tag, T, name, better, isnan_)                                                         \
    void k_##tag##_##name##_ref(const T *x, size_t outer, size_t n, size_t inner, int select_last,     \
                                int64_t *y)                                                             \
    {                                                                                                   \
        for (size_t o = 0; o < outer; o++) {                                                            \
            const T *p = x + o * n * inner;                                                             \
            int64_t *q = y + o * inner;                                                                 \
            if (inner == 1) {                                                                           \
                T best = p[0];                                                                          \
                size_t bi = 0;                                                                          \
                if (!isnan_(best))                                                                      \
                    for (size_t j = 1; j < n; j++) {                                                    \
                        T v = p[j];                                                                     \
                        if (isnan_(v)) {                                                                \
                            bi = j;                                                                     \
                            break;                                                                      \
                        }                                                                               \
                        if ((better) || (select_last && v == best)) {                                   \
                            best = v;                                                                   \
                            bi = j;                                                                     \
                        }                                                                               \
                    }                                                                                   \
                q[0] = (int64_t)bi;                                                                     \
                continue;                                                                               \
            }                                                                                           \
            for (size_t i = 0; i < inner; i++)                                                          \
                q[i] = 0;                                                                               \
            for (size_t j = 1; j < n; j++)                                                              \
                for (size_t i = 0; i < inner; i++) {                                                    \
                    T best = p[(size_t)q[i] * inner + i], v = p[j * inner + i];                         \
                    if (isnan_(best))                                                                   \
                        continue;                                                                       \
                    if (isnan_(v) || (better) || (select_last && v == best))                            \
                        q[i] = (int64_t)j;                                                              \
                }                                                                                       \
        }                                                                                               \
    }

#define K_ARGS_DEF(tag, T, isnan_)                                                                      \
    K_ARG_DEF(tag, T, argmax, v > best, isnan_)                                                         \
    K_ARG_DEF(tag, T, argmin, v < best, isnan_)

/* y doubles as the accumulator: step s adds to the previous output, walking rows of
 * inner values in memory order (the sums are formed in the same order as a scalar
 * running total). */
#define K_CUMSUM_DEF(tag, T, add)                                                                       \
    void k_##tag##_cumsum_ref(const T *x, size_t outer, size_t n, size_t inner, int exclusive, int reverse, \
                              T *y)                                                                     \
    {                                                                                                   \
        for (size_t o = 0; o < outer; o++) {                                                            \
            const T *p = x + o * n * inner;                                                             \
            T *q = y + o * n * inner;                                                                   \
            for (size_t s = 0; s < n; s++) {                                                            \
                size_t j = reverse ? n - 1 - s : s, prev = reverse ? j + 1 : j - 1;                     \
                T *yr = q + j * inner;                                                                  \
                if (s == 0) {                                                                           \
                    for (size_t i = 0; i < inner; i++)                                                  \
                        yr[i] = exclusive ? (T)0 : p[j * inner + i];                                    \
                    continue;                                                                           \
                }                                                                                       \
                const T *yp = q + prev * inner, *xr = p + (exclusive ? prev : j) * inner;               \
                for (size_t i = 0; i < inner; i++)                                                      \
                    yr[i] = (T)add(yp[i], xr[i]);                                                       \
            }                                                                                           \
        }                                                                                               \
    }

K_ARGS_DEF(f32, float, K_FNAN)
K_ARGS_DEF(f64, double, K_FNAN)
K_ARGS_DEF(i8, int8_t, K_INAN)
K_ARGS_DEF(u8, uint8_t, K_INAN)
K_ARGS_DEF(i16, int16_t, K_INAN)
K_ARGS_DEF(u16, uint16_t, K_INAN)
K_ARGS_DEF(i32, int32_t, K_INAN)
K_ARGS_DEF(u32, uint32_t, K_INAN)
K_ARGS_DEF(i64, int64_t, K_INAN)
K_ARGS_DEF(u64, uint64_t, K_INAN)

K_CUMSUM_DEF(f32, float, K_FADD)
K_CUMSUM_DEF(f64, double, K_FADD)
K_CUMSUM_DEF(i32, int32_t, K_IADD)
K_CUMSUM_DEF(u32, uint32_t, K_IADD)
K_CUMSUM_DEF(i64, int64_t, K_IADD)
K_CUMSUM_DEF(u64, uint64_t, K_IADD)
