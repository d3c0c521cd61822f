/* Pooling kernels (see pool.h). Parallel over (n, c) planes. */
#include "kernels/pool.h"

#include <math.h>
#include <omp.h>
#include <stdint.h>

#include "kernels/clones.h"

/* Taps t in [0, k) with lo <= start + t*dil < hi: [*t0, *t1), possibly empty. Loops
 * walk only these, so their cost does not depend on the kernel size (a kernel of
 * 35651583 taps on a 5-wide input takes 5 iterations, not 35651583). */
static void tap_range(int64_t start, int64_t k, int64_t dil, int64_t lo, int64_t hi, int64_t *t0, int64_t *t1)
{
    int64_t a = start >= lo ? 0 : (lo - start + dil - 1) / dil;
    int64_t b = start >= hi ? 0 : (hi - 1 - start) / dil + 1;
    if (b > k)
        b = k;
    if (a > b)
        a = b;
    *t0 = a;
    *t1 = b;
}

/* Parallel when the work (taps that can reach the input) is large. */
static int pool_par(const k_pool_shape *s)
{
    double w = (double)s->NC;
    for (int d = 0; d < 3; d++)
        w *= (double)s->out[d] * (double)(s->k[d] < s->in[d] ? s->k[d] : s->in[d]);
    return s->NC > 1 && w > 1e5;
}
#define POOL_PAR(s) pool_par(s)

/* x (NC,D,H,W) -> y (NC,oD,oH,oW), T the element type, LOW its smallest value */
#define DEFINE_MAXPOOL(name, T, LOW)                                                                           \
    void name(const k_pool_shape *s, const T *x, T *y, int64_t *ind, int storage_order, int threads)             \
    {                                                                                                          \
        int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2], oD = s->out[0], oH = s->out[1], oW = s->out[2];   \
        int64_t vol = iD * iH * iW, ovol = oD * oH * oW;                                                       \
        int nt = threads > 1 && POOL_PAR(s) ? threads : 1;                                                     \
        _Pragma("omp parallel for num_threads(nt)") for (int64_t p = 0; p < s->NC; p++)                        \
        {                                                                                                      \
            const T *xp = x + p * vol;                                                                         \
            for (int64_t od = 0; od < oD; od++)                                                                \
                for (int64_t oh = 0; oh < oH; oh++)                                                            \
                    for (int64_t ow = 0; ow < oW; ow++) {                                                      \
                        T best = LOW;                                                                          \
                        int64_t bi = -1, sd = od * s->stride[0] - s->pad[0], sh = oh * s->stride[1] - s->pad[1],  \
                                sw = ow * s->stride[2] - s->pad[2], d0, d1, h0, h1, w0, w1;                    \
                        tap_range(sd, s->k[0], s->dil[0], 0, iD, &d0, &d1);                                    \
                        tap_range(sh, s->k[1], s->dil[1], 0, iH, &h0, &h1);                                    \
                        tap_range(sw, s->k[2], s->dil[2], 0, iW, &w0, &w1);                                    \
                        for (int64_t kd = d0; kd < d1; kd++) {                                                 \
                            int64_t id = sd + kd * s->dil[0];                                                  \
                            for (int64_t kh = h0; kh < h1; kh++) {                                             \
                                int64_t ih = sh + kh * s->dil[1];                                              \
                                for (int64_t kw = w0; kw < w1; kw++) {                                         \
                                    int64_t iw = sw + kw * s->dil[2];                                          \
                                    T v = xp[(id * iH + ih) * iW + iw];                                        \
                                    if (bi < 0 || v > best) {                                                  \
                                        best = v;                                                              \
                                        bi = storage_order ? id + iD * (ih + iH * iw) : (id * iH + ih) * iW + iw; \
                                    }                                                                          \
                                }                                                                              \
                            }                                                                                  \
                        }                                                                                      \
                        int64_t o = p * ovol + (od * oH + oh) * oW + ow;                                       \
                        y[o] = best;                                                                           \
                        if (ind)                                                                               \
                            ind[o] = bi < 0 ? -1 : p * vol + bi;                                               \
                    }                                                                                          \
        }                                                                                                      \
    }

DEFINE_MAXPOOL(k_f32_maxpool_ref, float, -INFINITY)
DEFINE_MAXPOOL(k_u8_maxpool_ref, uint8_t, 0)
DEFINE_MAXPOOL(k_i8_maxpool_ref, int8_t, -128)

/* Number of taps t in [0, k) with lo <= start + t*dil < hi. */
static int64_t taps_count(int64_t start, int64_t k, int64_t dil, int64_t lo, int64_t hi)
{
    int64_t t0, t1;
    tap_range(start, k, dil, lo, hi, &t0, &t1);
    return t1 - t0;
}

/* x (NC,D,H,W) -> y (NC,oD,oH,oW) */
void k_f32_avgpool_ref(const k_pool_shape *s, const float *x, float *y, int count_include_pad, int threads)
{
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2], oD = s->out[0], oH = s->out[1], oW = s->out[2];
    int64_t vol = iD * iH * iW, ovol = oD * oH * oW;
    int nt = threads > 1 && POOL_PAR(s) ? threads : 1;
#pragma omp parallel for num_threads(nt)
    for (int64_t p = 0; p < s->NC; p++) {
        const float *xp = x + p * vol;
        for (int64_t od = 0; od < oD; od++)
            for (int64_t oh = 0; oh < oH; oh++)
                for (int64_t ow = 0; ow < oW; ow++) {
                    int64_t sd = od * s->stride[0] - s->pad[0], sh = oh * s->stride[1] - s->pad[1],
                            sw = ow * s->stride[2] - s->pad[2];
                    float sum = 0;
                    int64_t d0, d1, h0, h1, w0, w1;
                    tap_range(sd, s->k[0], s->dil[0], 0, iD, &d0, &d1);
                    tap_range(sh, s->k[1], s->dil[1], 0, iH, &h0, &h1);
                    tap_range(sw, s->k[2], s->dil[2], 0, iW, &w0, &w1);
                    for (int64_t kd = d0; kd < d1; kd++) {
                        int64_t id = sd + kd * s->dil[0];
                        for (int64_t kh = h0; kh < h1; kh++) {
                            int64_t ih = sh + kh * s->dil[1];
                            for (int64_t kw = w0; kw < w1; kw++)
                                sum += xp[(id * iH + ih) * iW + sw + kw * s->dil[2]];
                        }
                    }
                    int64_t cnt;
                    if (count_include_pad)
                        cnt = taps_count(sd, s->k[0], s->dil[0], -s->pad[0], iD + s->pad_end[0]) *
                              taps_count(sh, s->k[1], s->dil[1], -s->pad[1], iH + s->pad_end[1]) *
                              taps_count(sw, s->k[2], s->dil[2], -s->pad[2], iW + s->pad_end[2]);
                    else
                        cnt = taps_count(sd, s->k[0], s->dil[0], 0, iD) * taps_count(sh, s->k[1], s->dil[1], 0, iH) *
                              taps_count(sw, s->k[2], s->dil[2], 0, iW);
                    y[p * ovol + (od * oH + oh) * oW + ow] = cnt ? sum / (float)cnt : NAN;
                }
    }
}

/* The sum of n floats: 32 running sums side by side (the compiler makes vectors of
 * the inner loop), folded pairwise at the end, then the tail. One running sum made
 * this a chain of dependent adds: EfficientNet-B0's 17 squeeze-excitation pools took
 * 1.17 ms per run. The same summation order in every clone. */
K_CLONES static float sum_floats(const float *x, size_t n)
{
    float acc[32] = {0};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int j = 0; j < 32; j++)
            acc[j] += x[i + j];
    for (int w = 16; w >= 1; w /= 2)
        for (int j = 0; j < w; j++)
            acc[j] += acc[j + w];
    float sum = acc[0];
    for (; i < n; i++)
        sum += x[i];
    return sum;
}

/* x (NC, n) -> y (NC) */
void k_f32_global_avgpool(size_t NC, size_t n, const float *x, float *y, int threads)
{
    int nt = threads > 1 && NC * n > 100000 ? threads : 1;
#pragma omp parallel for num_threads(nt)
    for (size_t p = 0; p < NC; p++)
        y[p] = sum_floats(x + p * n, n) / (float)n;
}

void k_f32_global_maxpool(size_t NC, size_t n, const float *x, float *y, int threads)
{
    int nt = threads > 1 && NC * n > 100000 ? threads : 1;
#pragma omp parallel for num_threads(nt)
    for (size_t p = 0; p < NC; p++) {
        const float *xp = x + p * n;
        float best = -INFINITY;
        for (size_t i = 0; i < n; i++)
            if (xp[i] > best || isnan(xp[i]))
                best = isnan(best) ? best : xp[i];
        y[p] = best;
    }
}

/* Range [lo, hi) of outputs o with 0 <= o*stride + off < in. */
static void out_range(int64_t nout, int64_t stride, int64_t off, int64_t in, int64_t *lo, int64_t *hi)
{
    int64_t l = 0, h = nout;
    if (off < 0)
        l = (-off + stride - 1) / stride;
    if (in - off <= 0)
        h = 0;
    else if ((in - off + stride - 1) / stride < h)
        h = (in - off + stride - 1) / stride;
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define POOL_AVX512 1
#include <immintrin.h>

/*
 * 2-D max pooling with AVX-512, one output row at a time in two passes: the maximum
 * down the window's rows, column by column, into a row buffer that holds -inf in the
 * W pads on either side; then the maximum across the window's columns of that buffer
 * (stride 2: two loads and the even elements per tap). Each input element is read
 * once per output row whose window holds it, and no lane needs a mask but those past
 * the row's end. The maximum skips NaN as the row pass does (max(v, acc) keeps acc,
 * which never becomes NaN), so both give the same values; between -0 and +0 the two
 * may keep different ones, which compare equal.
 */
enum { POOL_MAX_BLOCKS = 64, POOL_MAX_TAPS = 16 };
enum { POOL_ROWBUF = 2 * 16 * POOL_MAX_BLOCKS + POOL_MAX_TAPS + 32 };

/* The AVX-512 rows apply: 2-D, dilation 1 and stride 1 or 2 along W, small enough for
 * the row buffer. */
static int maxpool_avx512_fits(const k_pool_shape *s)
{
    return s->in[0] == 1 && s->k[0] == 1 && s->out[0] == 1 && s->dil[2] == 1 &&
           (s->stride[2] == 1 || s->stride[2] == 2) && s->out[2] <= 16 * POOL_MAX_BLOCKS &&
           s->k[2] <= POOL_MAX_TAPS && s->pad[2] < s->k[2] && s->in[2] <= 2 * 16 * POOL_MAX_BLOCKS;
}

/* Output rows oh0 .. oh1 of one plane; buf (POOL_ROWBUF floats) is -inf outside the
 * columns pad .. pad + iW, which the first pass writes. sw is a constant at each call. */
__attribute__((target("avx512f"), always_inline)) static inline void
maxpool_plane_sw(const k_pool_shape *s, const float *xp, float *yp, int64_t oh0, int64_t oh1, float *buf,
                 int64_t sw)
{
    int64_t iH = s->in[1], iW = s->in[2], oW = s->out[2], kW = s->k[2], pw = s->pad[2];
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    float *row = buf + pw;
    __mmask16 wtail = (__mmask16)((1u << (iW % 16)) - 1), otail = (__mmask16)((1u << (oW % 16)) - 1);
    for (int64_t oh = oh0; oh < oh1; oh++) {
        int64_t sh = oh * s->stride[1] - s->pad[1], h0, h1;
        tap_range(sh, s->k[1], s->dil[1], 0, iH, &h0, &h1);
        const float *x0 = h1 > h0 ? xp + (sh + h0 * s->dil[1]) * iW : xp;
        int64_t rs = s->dil[1] * iW, nh = h1 - h0, c = 0;
        for (; c + 16 <= iW; c += 16) {
            __m512 m = ninf;
            for (int64_t t = 0; t < nh; t++)
                m = _mm512_max_ps(_mm512_loadu_ps(x0 + t * rs + c), m);
            _mm512_storeu_ps(row + c, m);
        }
        if (wtail) {
            __m512 m = ninf;
            for (int64_t t = 0; t < nh; t++)
                m = _mm512_max_ps(_mm512_maskz_loadu_ps(wtail, x0 + t * rs + c), m);
            _mm512_mask_storeu_ps(row + c, wtail, m);
        }
        float *yr = yp + oh * oW;
        for (int64_t o = 0; o < oW; o += 16) {
            const float *b = buf + o * sw;
            __m512 m = ninf;
            for (int64_t kw = 0; kw < kW; kw++) {
                __m512 v = sw == 1 ? _mm512_loadu_ps(b + kw)
                                   : _mm512_permutex2var_ps(_mm512_loadu_ps(b + kw), even,
                                                            _mm512_loadu_ps(b + kw + 16));
                m = _mm512_max_ps(v, m);
            }
            if (o + 16 <= oW)
                _mm512_storeu_ps(yr + o, m);
            else
                _mm512_mask_storeu_ps(yr + o, otail, m);
        }
    }
}

__attribute__((target("avx512f"))) static void maxpool_plane_avx512(const k_pool_shape *s, const float *xp,
                                                                   float *yp, int64_t oh0, int64_t oh1, float *buf)
{
    if (s->stride[2] == 1)
        maxpool_plane_sw(s, xp, yp, oh0, oh1, buf, 1);
    else
        maxpool_plane_sw(s, xp, yp, oh0, oh1, buf, 2);
}

/* A row buffer of -inf (the first pass fills the input's columns). */
static void rowbuf_init(float *buf)
{
    for (int i = 0; i < POOL_ROWBUF; i++)
        buf[i] = -INFINITY;
}
#endif

/* Row-wise pooling: for each output row and kernel tap (kd, kh, kw), one pass over the
 * output columns whose input is inside, so the inner loop has no bounds checks. */
void k_f32_pool_rows(const k_pool_shape *s, const float *x, float *y, int is_max, int count_include_pad,
                     int threads)
{
    k_f32_pool_rows_x(s, x, y, is_max, count_include_pad, threads, 1);
}

void k_f32_pool_rows_x(const k_pool_shape *s, const float *x, float *y, int is_max, int count_include_pad,
                       int threads, int simd)
{
#ifdef POOL_AVX512
    if (simd && is_max && maxpool_avx512_fits(s)) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) {
            int64_t vol = s->in[1] * s->in[2], ovol = s->out[1] * s->out[2], oH = s->out[1];
            int nt = threads > 1 && POOL_PAR(s) ? threads : 1;
            if (nt > 1 && oH >= 2 * nt) {
                /* each thread a band of rows of every plane: the rows of the image the
                 * layer before mostly wrote on the same core */
#pragma omp parallel num_threads(nt)
                {
                    int64_t k = omp_get_thread_num(), nk = omp_get_num_threads();
                    float buf[POOL_ROWBUF];
                    rowbuf_init(buf);
                    for (int64_t p = 0; p < s->NC; p++)
                        maxpool_plane_avx512(s, x + p * vol, y + p * ovol, oH * k / nk, oH * (k + 1) / nk, buf);
                }
                return;
            }
#pragma omp parallel num_threads(nt)
            {
                float buf[POOL_ROWBUF];
                rowbuf_init(buf);
#pragma omp for
                for (int64_t p = 0; p < s->NC; p++)
                    maxpool_plane_avx512(s, x + p * vol, y + p * ovol, 0, oH, buf);
            }
            return;
        }
    }
#else
    (void)simd;
#endif
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2], oD = s->out[0], oH = s->out[1], oW = s->out[2];
    int64_t vol = iD * iH * iW, ovol = oD * oH * oW, sw = s->stride[2], w0, w1;
    /* the taps kw that reach the input for some output column */
    tap_range(-s->pad[2], s->k[2], s->dil[2], -(oW - 1) * sw, iW, &w0, &w1);
    int nt = threads > 1 && POOL_PAR(s) ? threads : 1;
#pragma omp parallel for num_threads(nt)
    for (int64_t p = 0; p < s->NC; p++) {
        const float *xp = x + p * vol;
        for (int64_t od = 0; od < oD; od++)
            for (int64_t oh = 0; oh < oH; oh++) {
                float *yr = y + p * ovol + (od * oH + oh) * oW;
                float init = is_max ? -INFINITY : 0.0f;
                for (int64_t ow = 0; ow < oW; ow++)
                    yr[ow] = init;
                int64_t sd = od * s->stride[0] - s->pad[0], sh = oh * s->stride[1] - s->pad[1], d0, d1, h0, h1;
                tap_range(sd, s->k[0], s->dil[0], 0, iD, &d0, &d1);
                tap_range(sh, s->k[1], s->dil[1], 0, iH, &h0, &h1);
                for (int64_t kd = d0; kd < d1; kd++) {
                    int64_t id = sd + kd * s->dil[0];
                    for (int64_t kh = h0; kh < h1; kh++) {
                        int64_t ih = sh + kh * s->dil[1];
                        const float *xr = xp + (id * iH + ih) * iW;
                        if (w1 - w0 > iW + oW) {
                            /* sparse taps (stride well above dilation): per column, each
                             * column's taps in order, so the sums match the row pass */
                            for (int64_t ow = 0; ow < oW; ow++) {
                                int64_t c0 = ow * sw - s->pad[2], t0, t1;
                                tap_range(c0, s->k[2], s->dil[2], 0, iW, &t0, &t1);
                                float acc = yr[ow];
                                for (int64_t kw = t0; kw < t1; kw++) {
                                    float v = xr[c0 + kw * s->dil[2]];
                                    if (is_max)
                                        acc = v > acc ? v : acc;
                                    else
                                        acc += v;
                                }
                                yr[ow] = acc;
                            }
                            continue;
                        }
                        for (int64_t kw = w0; kw < w1; kw++) {
                            int64_t off = kw * s->dil[2] - s->pad[2], lo, hi;
                            out_range(oW, sw, off, iW, &lo, &hi);
                            const float *xs = xr + off;
                            if (is_max) {
                                if (sw == 1)
                                    for (int64_t ow = lo; ow < hi; ow++)
                                        yr[ow] = xs[ow] > yr[ow] ? xs[ow] : yr[ow];
                                else
                                    for (int64_t ow = lo; ow < hi; ow++)
                                        yr[ow] = xs[ow * sw] > yr[ow] ? xs[ow * sw] : yr[ow];
                            } else {
                                if (sw == 1)
                                    for (int64_t ow = lo; ow < hi; ow++)
                                        yr[ow] += xs[ow];
                                else
                                    for (int64_t ow = lo; ow < hi; ow++)
                                        yr[ow] += xs[ow * sw];
                            }
                        }
                    }
                }
                if (is_max)
                    continue;
                int64_t lo0 = count_include_pad ? -s->pad[0] : 0, hi0 = count_include_pad ? iD + s->pad_end[0] : iD;
                int64_t lo1 = count_include_pad ? -s->pad[1] : 0, hi1 = count_include_pad ? iH + s->pad_end[1] : iH;
                int64_t lo2 = count_include_pad ? -s->pad[2] : 0, hi2 = count_include_pad ? iW + s->pad_end[2] : iW;
                int64_t cdh = taps_count(sd, s->k[0], s->dil[0], lo0, hi0) * taps_count(sh, s->k[1], s->dil[1], lo1, hi1);
                for (int64_t ow = 0; ow < oW; ow++) {
                    int64_t cnt = cdh * taps_count(ow * sw - s->pad[2], s->k[2], s->dil[2], lo2, hi2);
                    yr[ow] = cnt ? yr[ow] / (float)cnt : NAN;
                }
            }
    }
}
