/*
 * Loss kernels (see loss.h), one macro instantiated for float, double and half.
 * Loads widen to double; stores narrow to the element type.
 */
#include <math.h>

#include "ir/half.h"
#include "kernels/loss.h"

#define LD_F32(p, i) ((double)(p)[i])
#define ST_F32(p, i, v) ((p)[i] = (float)(v))
#define LD_F64(p, i) ((p)[i])
#define ST_F64(p, i, v) ((p)[i] = (v))
#define LD_F16(p, i) ((double)half_to_float((p)[i]))
#define ST_F16(p, i, v) ((p)[i] = float_to_half((float)(v)))

static inline int64_t target_at(const void *t, int i64, size_t i)
{
    return i64 ? ((const int64_t *)t)[i] : ((const int32_t *)t)[i];
}

#define K_LOSS_DEF(SUF, T, LD, ST)                                                                                     \
    int k_##SUF##_nll_ref(size_t N, size_t C, size_t D, const T *x, const void *target, int target_i64, const T *w,     \
                          int has_ii, int64_t ii, T *loss, double *sum, double *wsum, size_t *bad)                     \
    {                                                                                                                  \
        double s = 0, ws = 0;                                                                                          \
        for (size_t n = 0; n < N; n++)                                                                                 \
            for (size_t d = 0; d < D; d++) {                                                                           \
                size_t p = n * D + d;                                                                                  \
                int64_t t = target_at(target, target_i64, p);                                                          \
                double l = 0, wt = 0;                                                                                  \
                if (!(has_ii && t == ii)) {                                                                            \
                    if (t < 0 || (uint64_t)t >= C) {                                                                   \
                        *bad = p;                                                                                      \
                        return -1;                                                                                     \
                    }                                                                                                  \
                    wt = w ? LD(w, (size_t)t) : 1.0;                                                                   \
                    l = -LD(x, (n * C + (size_t)t) * D + d) * wt;                                                      \
                }                                                                                                      \
                if (loss)                                                                                              \
                    ST(loss, p, l);                                                                                    \
                s += l;                                                                                                \
                ws += wt;                                                                                              \
            }                                                                                                          \
        *sum = s;                                                                                                      \
        *wsum = ws;                                                                                                    \
        return 0;                                                                                                      \
    }                                                                                                                  \
                                                                                                                       \
    int k_##SUF##_sce_ref(size_t N, size_t C, size_t D, const T *x, const void *target, int target_i64, const T *w,    \
                          int has_ii, int64_t ii, T *loss, T *logp, double *sum, double *wsum, size_t *bad)            \
    {                                                                                                                  \
        double s = 0, ws = 0;                                                                                          \
        for (size_t n = 0; n < N; n++)                                                                                 \
            for (size_t d = 0; d < D; d++) {                                                                           \
                size_t p = n * D + d, base = n * C * D + d;                                                            \
                double mx = -INFINITY, se = 0;                                                                         \
                for (size_t c = 0; c < C; c++) {                                                                       \
                    double v = LD(x, base + c * D);                                                                    \
                    if (v > mx || v != v)                                                                              \
                        mx = v;                                                                                        \
                    if (mx != mx)                                                                                      \
                        break;                                                                                         \
                }                                                                                                      \
                for (size_t c = 0; c < C; c++)                                                                         \
                    se += exp(LD(x, base + c * D) - mx);                                                               \
                double lse = mx + log(se);                                                                             \
                if (logp)                                                                                              \
                    for (size_t c = 0; c < C; c++)                                                                     \
                        ST(logp, base + c * D, LD(x, base + c * D) - lse);                                             \
                int64_t t = target_at(target, target_i64, p);                                                          \
                double l = 0, wt = 0;                                                                                  \
                if (!(has_ii && t == ii)) {                                                                            \
                    if (t < 0 || (uint64_t)t >= C) {                                                                   \
                        *bad = p;                                                                                      \
                        return -1;                                                                                     \
                    }                                                                                                  \
                    wt = w ? LD(w, (size_t)t) : 1.0;                                                                   \
                    l = -(LD(x, base + (size_t)t * D) - lse) * wt;                                                     \
                }                                                                                                      \
                if (loss)                                                                                              \
                    ST(loss, p, l);                                                                                    \
                s += l;                                                                                                \
                ws += wt;                                                                                              \
            }                                                                                                          \
        *sum = s;                                                                                                      \
        *wsum = ws;                                                                                                    \
        return 0;                                                                                                      \
    }

K_LOSS_DEF(f32, float, LD_F32, ST_F32)
K_LOSS_DEF(f64, double, LD_F64, ST_F64)
K_LOSS_DEF(f16, uint16_t, LD_F16, ST_F16)
