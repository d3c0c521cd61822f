/*
 * Reduction kernels (see reduce.h). The rows kernel keeps 16 partial accumulators so
 * the compiler vectorizes the sum without reassociating (no -ffast-math needed); the
 * mid kernel accumulates whole rows of I outputs at once, which is contiguous.
 */
#include "kernels/reduce.h"

#include <math.h>

#include "kernels/clones.h"
#include "kernels/fastmath.h"

#define LANES 16

K_INLINE float max_nan(float a, float v)
{
    return (v > a || v != v) ? v : a;
}

K_INLINE float min_nan(float a, float v)
{
    return (v < a || v != v) ? v : a;
}

/* The value an empty reduction gives before finalizing. */
K_INLINE float init_of(int op)
{
    switch (op) {
    case K_RED_MAX: return -INFINITY;
    case K_RED_MIN: return INFINITY;
    case K_RED_PROD: return 1.0f;
    default: return 0.0f;
    }
}

K_INLINE float finalize(int op, float acc, size_t R, float shift)
{
    switch (op) {
    case K_RED_MEAN: return acc / (float)R;
    case K_RED_L2: return sqrtf(acc);
    case K_RED_LOG_SUM: return logf(acc);
    case K_RED_LOG_SUM_EXP: return logf(acc) + shift;
    default: return acc;
    }
}

/* Sum over n of MAP(x[i]) with LANES partial sums. */
#define LANE_SUM(MAP)                                                                            \
    do {                                                                                         \
        float part[LANES] = {0};                                                                 \
        size_t i = 0;                                                                            \
        for (; i + LANES <= n; i += LANES)                                                       \
            for (int l = 0; l < LANES; l++) {                                                    \
                float v = x[i + (size_t)l];                                                      \
                part[l] += MAP;                                                                  \
            }                                                                                    \
        float s = 0;                                                                             \
        for (int l = 0; l < LANES; l++)                                                          \
            s += part[l];                                                                        \
        for (; i < n; i++) {                                                                     \
            float v = x[i];                                                                      \
            s += MAP;                                                                            \
        }                                                                                        \
        return s;                                                                                \
    } while (0)

K_INLINE float row_sum(const float *x, size_t n) { LANE_SUM(v); }
K_INLINE float row_sum_abs(const float *x, size_t n) { LANE_SUM(fabsf(v)); }
K_INLINE float row_sum_sq(const float *x, size_t n) { LANE_SUM(v * v); }

K_INLINE float row_sum_exp(const float *x, size_t n, float m)
{
    float s = 0;
    for (size_t i = 0; i < n; i++)
        s += k_expf(x[i] - m);
    return s;
}

K_INLINE float row_max(const float *x, size_t n)
{
    float part[LANES];
    for (int l = 0; l < LANES; l++)
        part[l] = -INFINITY;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] = max_nan(part[l], x[i + (size_t)l]);
    float m = -INFINITY;
    for (; i < n; i++)
        m = max_nan(m, x[i]);
    for (int l = 0; l < LANES; l++)
        m = max_nan(m, part[l]);
    return m;
}

/* The shift for log-sum-exp: the max, unless it is infinite (then exp(x - m) is NaN). */
K_INLINE float lse_shift(float m)
{
    return isinf(m) ? 0.0f : m;
}

K_INLINE float reduce_row(int op, const float *x, size_t R)
{
    switch (op) {
    case K_RED_SUM:
    case K_RED_MEAN:
    case K_RED_LOG_SUM: return finalize(op, row_sum(x, R), R, 0);
    case K_RED_L1: return row_sum_abs(x, R);
    case K_RED_L2:
    case K_RED_SUM_SQUARE: return finalize(op, row_sum_sq(x, R), R, 0);
    case K_RED_MAX: return row_max(x, R);
    case K_RED_MIN: {
        float m = INFINITY;
        for (size_t i = 0; i < R; i++)
            m = min_nan(m, x[i]);
        return m;
    }
    case K_RED_PROD: {
        float p = 1;
        for (size_t i = 0; i < R; i++)
            p *= x[i];
        return p;
    }
    case K_RED_LOG_SUM_EXP: {
        float m = row_max(x, R);
        if (m != m)
            return m;
        float sh = lse_shift(m);
        return finalize(op, row_sum_exp(x, R, sh), R, sh);
    }
    default: return 0;
    }
}

K_CLONES void k_f32_reduce_rows(int op, size_t O, size_t R, const float *x, float *y)
{
    for (size_t o = 0; o < O; o++)
        y[o] = reduce_row(op, x + o * R, R);
}

/* acc[i] = COMB(acc[i], MAP(x)) over r, rows of I contiguous values. */
#define MID_LOOP(INIT, COMB)                                                                \
    do {                                                                                         \
        for (size_t i = 0; i < I; i++)                                                           \
            acc[i] = INIT;                                                                       \
        for (size_t r = 0; r < R; r++) {                                                         \
            const float *xr = xo + r * I;                                                        \
            for (size_t i = 0; i < I; i++) {                                                     \
                float v = xr[i], a = acc[i];                                                     \
                acc[i] = COMB;                                                                   \
            }                                                                                    \
        }                                                                                        \
    } while (0)

K_CLONES void k_f32_reduce_mid(int op, size_t O, size_t R, size_t I, const float *x, float *y, float *tmp)
{
    for (size_t o = 0; o < O; o++) {
        const float *xo = x + o * R * I;
        float *acc = y + o * I;
        switch (op) {
        case K_RED_SUM:
        case K_RED_MEAN:
        case K_RED_LOG_SUM: MID_LOOP(0.0f, a + v); break;
        case K_RED_L1: MID_LOOP(0.0f, a + fabsf(v)); break;
        case K_RED_L2:
        case K_RED_SUM_SQUARE: MID_LOOP(0.0f, a + v * v); break;
        case K_RED_MAX:
        case K_RED_LOG_SUM_EXP: MID_LOOP(-INFINITY, (v > a || v != v) ? v : a); break;
        case K_RED_MIN: MID_LOOP(INFINITY, (v < a || v != v) ? v : a); break;
        case K_RED_PROD: MID_LOOP(1.0f, a * v); break;
        default: break;
        }
        if (op == K_RED_LOG_SUM_EXP) {
            float *m = acc;
            acc = tmp + o * I;
            for (size_t i = 0; i < I; i++)
                acc[i] = 0;
            for (size_t r = 0; r < R; r++) {
                const float *xr = xo + r * I;
                for (size_t i = 0; i < I; i++)
                    acc[i] += k_expf(xr[i] - lse_shift(m[i]));
            }
            for (size_t i = 0; i < I; i++)
                if (m[i] == m[i])
                    m[i] = finalize(op, acc[i], R, lse_shift(m[i]));
        } else if (op == K_RED_MEAN || op == K_RED_L2 || op == K_RED_LOG_SUM) {
            for (size_t i = 0; i < I; i++)
                acc[i] = finalize(op, acc[i], R, 0);
        }
    }
}

/* Walks every input element, adding it to the output element it reduces into. */
#define REF_WALK(BODY)                                                                           \
    do {                                                                                         \
        int64_t idx[16] = {0}, ystr[16];                                                         \
        int64_t s = 1;                                                                           \
        for (int d = r - 1; d >= 0; d--) {                                                       \
            ystr[d] = red[d] ? 0 : s;                                                            \
            s *= red[d] ? 1 : dims[d];                                                           \
        }                                                                                        \
        size_t total = 1;                                                                        \
        for (int d = 0; d < r; d++)                                                              \
            total *= (size_t)dims[d];                                                            \
        for (size_t i = 0; i < total; i++) {                                                     \
            size_t o = 0;                                                                        \
            for (int d = 0; d < r; d++)                                                          \
                o += (size_t)(idx[d] * ystr[d]);                                                 \
            BODY;                                                                                \
            for (int d = r - 1; d >= 0; d--) {                                                   \
                if (++idx[d] < dims[d])                                                          \
                    break;                                                                       \
                idx[d] = 0;                                                                      \
            }                                                                                    \
        }                                                                                        \
    } while (0)

static size_t out_count(int r, const int64_t *dims, const int *red, size_t *R)
{
    size_t n = 1, rr = 1;
    for (int d = 0; d < r; d++) {
        if (red[d])
            rr *= (size_t)dims[d];
        else
            n *= (size_t)dims[d];
    }
    *R = rr;
    return n;
}

/*
 * The accumulating reductions (everything but Max/Min) shared by the f32 and f64
 * references: x is xf or xd (the other NULL), y likewise. LogSumExp reads its shift
 * (the max from the caller's first walk) from y. Accumulates in double.
 */
static void sum_walk(int op, int r, const int64_t *dims, const int *red, size_t n, size_t R, const float *xf,
                     const double *xd, float *yf, double *yd)
{
    int64_t xstr[16];
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xstr[d] = s;
        s *= dims[d];
    }
    int64_t od[16], rd[16], os[16], rs[16];
    int no = 0, nr = 0;
    for (int d = 0; d < r; d++) {
        if (red[d]) {
            rd[nr] = dims[d];
            rs[nr++] = xstr[d];
        } else {
            od[no] = dims[d];
            os[no++] = xstr[d];
        }
    }
    int64_t oi[16] = {0};
    for (size_t o = 0; o < n; o++) {
        size_t base = 0;
        for (int d = 0; d < no; d++)
            base += (size_t)(oi[d] * os[d]);
        double acc = op == K_RED_PROD ? 1.0 : 0.0;
        double yo = yf ? (double)yf[o] : yd[o];
        double m = op == K_RED_LOG_SUM_EXP ? (isinf(yo) ? 0.0 : yo) : 0.0;
        int64_t ri[16] = {0};
        for (size_t k = 0; k < R; k++) {
            size_t off = base;
            for (int d = 0; d < nr; d++)
                off += (size_t)(ri[d] * rs[d]);
            double v = xf ? (double)xf[off] : xd[off];
            switch (op) {
            case K_RED_PROD: acc *= v; break;
            case K_RED_L1: acc += fabs(v); break;
            case K_RED_L2:
            case K_RED_SUM_SQUARE: acc += v * v; break;
            case K_RED_LOG_SUM_EXP: acc += exp(v - m); break;
            default: acc += v; break;
            }
            for (int d = nr - 1; d >= 0; d--) {
                if (++ri[d] < rd[d])
                    break;
                ri[d] = 0;
            }
        }
        switch (op) {
        case K_RED_MEAN: acc /= (double)R; break;
        case K_RED_L2: acc = sqrt(acc); break;
        case K_RED_LOG_SUM: acc = log(acc); break;
        case K_RED_LOG_SUM_EXP: acc = yo != yo ? yo : log(acc) + m; break;
        default: break;
        }
        if (yf)
            yf[o] = (float)acc;
        else
            yd[o] = acc;
        for (int d = no - 1; d >= 0; d--) {
            if (++oi[d] < od[d])
                break;
            oi[d] = 0;
        }
    }
}

void k_f32_reduce_ref(int op, int r, const int64_t *dims, const int *red, const float *x, float *y)
{
    size_t R, n = out_count(r, dims, red, &R);
    /* Max/Min (and the LSE shift) in one walk over x; the sums per output in double. */
    for (size_t o = 0; o < n; o++)
        y[o] = init_of(op == K_RED_LOG_SUM_EXP ? K_RED_MAX : op);
    if (op == K_RED_MAX || op == K_RED_MIN || op == K_RED_LOG_SUM_EXP) {
        int mx = op != K_RED_MIN;
        REF_WALK(y[o] = mx ? max_nan(y[o], x[i]) : min_nan(y[o], x[i]));
        if (op != K_RED_LOG_SUM_EXP)
            return;
    }
    sum_walk(op, r, dims, red, n, R, x, NULL, y, NULL);
}

static double max_nan_d(double a, double v)
{
    return (v > a || v != v) ? v : a;
}

static double min_nan_d(double a, double v)
{
    return (v < a || v != v) ? v : a;
}

void k_f64_reduce_ref(int op, int r, const int64_t *dims, const int *red, const double *x, double *y)
{
    size_t R, n = out_count(r, dims, red, &R);
    /* Max/Min (and the LSE shift) in one walk over x; the sums per output in double. */
    for (size_t o = 0; o < n; o++)
        y[o] = init_of(op == K_RED_LOG_SUM_EXP ? K_RED_MAX : op);
    if (op == K_RED_MAX || op == K_RED_MIN || op == K_RED_LOG_SUM_EXP) {
        int mx = op != K_RED_MIN;
        REF_WALK(y[o] = mx ? max_nan_d(y[o], x[i]) : min_nan_d(y[o], x[i]));
        if (op != K_RED_LOG_SUM_EXP)
            return;
    }
    sum_walk(op, r, dims, red, n, R, NULL, x, NULL, y);
}

static int64_t i64_step(int op, int64_t a, int64_t v)
{
    switch (op) {
    case K_RED_MAX: return v > a ? v : a;
    case K_RED_MIN: return v < a ? v : a;
    case K_RED_PROD: return (int64_t)((uint64_t)a * (uint64_t)v);
    case K_RED_L1: return (int64_t)((uint64_t)a + (v < 0 ? 0 - (uint64_t)v : (uint64_t)v));
    case K_RED_SUM_SQUARE: return (int64_t)((uint64_t)a + (uint64_t)v * (uint64_t)v);
    default: return (int64_t)((uint64_t)a + (uint64_t)v);
    }
}

void k_i64_reduce_ref(int op, int r, const int64_t *dims, const int *red, const int64_t *x, int64_t *y)
{
    size_t R, n = out_count(r, dims, red, &R);
    (void)R;
    int64_t init = op == K_RED_MAX ? INT64_MIN : op == K_RED_MIN ? INT64_MAX : op == K_RED_PROD ? 1 : 0;
    for (size_t o = 0; o < n; o++)
        y[o] = init;
    REF_WALK(y[o] = i64_step(op, y[o], x[i]));
}
