/*
 * Convolution kernels (see conv.h): the direct references, im2col into packed GEMM
 * layout, the direct depthwise kernel and the col2im scatter of ConvTranspose.
 */
#include "kernels/conv.h"

#include <omp.h>
#include <string.h>

#include "kernels/act.h"
#include "kernels/clones.h"

/* AVX-512 variants (im2col panels, 3x3 depthwise rows), chosen at run time. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CONV_AVX512 1
#include <immintrin.h>

#define T512 __attribute__((target("avx512f")))

/* Lanes e of 0..15 with lo <= e < hi. */
static uint16_t lanes16(int64_t lo, int64_t hi)
{
    if (lo < 0)
        lo = 0;
    if (hi > 16)
        hi = 16;
    return hi <= lo ? 0 : (uint16_t)((((uint32_t)1 << (hi - lo)) - 1) << lo);
}

/* The activations the AVX-512 depthwise kernels apply in registers: ReLU, Clip(lo, hi);
 * others pass r through (the callers run them on the stored rows). The stem's
 * 16-channel store keeps its own copy: through this helper it measured 6% slower. */
T512 static inline __m512 act_in_reg(__m512 r, int act, __m512 lo, __m512 hi)
{
    if (act == ACT_RELU)
        return _mm512_max_ps(r, _mm512_setzero_ps());
    if (act == ACT_CLIP)
        return _mm512_min_ps(_mm512_max_ps(r, lo), hi); /* NaN stays NaN */
    return r;
}

/* Lanes k .. k + 15 of the 32 that x (low) and n (high) hold: x shifted k lanes on,
 * topped up from n (valignd; k a constant). */
#define DW_SHIFT(n, x, k) \
    _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(n), _mm512_castps_si512(x), k))

/* A 3x3 depthwise kernel's nine weights and its bias, broadcast, as named vectors
 * (GCC keeps those in registers; arrays indexed in loops it keeps in memory). */
typedef struct dw_w9 {
    __m512 w0, w1, w2, w3, w4, w5, w6, w7, w8, b;
} dw_w9;

T512 static inline dw_w9 dw_w9_of(const float *wm, float b)
{
    dw_w9 w = {_mm512_set1_ps(wm[0]), _mm512_set1_ps(wm[1]), _mm512_set1_ps(wm[2]),
               _mm512_set1_ps(wm[3]), _mm512_set1_ps(wm[4]), _mm512_set1_ps(wm[5]),
               _mm512_set1_ps(wm[6]), _mm512_set1_ps(wm[7]), _mm512_set1_ps(wm[8]), _mm512_set1_ps(b)};
    return w;
}

/* The bias plus the nine taps t0 .. t8 (row-major over the kernel) weighted by w: one
 * FMA chain per kernel row, three in flight, summed at the end. Every depthwise 3x3
 * path computes its outputs so; they differ in where the taps come from. */
__attribute__((target("avx512f"), always_inline)) static inline __m512
dw_sum9(const dw_w9 *w, __m512 t0, __m512 t1, __m512 t2, __m512 t3, __m512 t4, __m512 t5, __m512 t6, __m512 t7,
        __m512 t8)
{
    __m512 a0 = _mm512_fmadd_ps(w->w0, t0, w->b), a1 = _mm512_mul_ps(w->w3, t3), a2 = _mm512_mul_ps(w->w6, t6);
    a0 = _mm512_fmadd_ps(w->w1, t1, a0);
    a1 = _mm512_fmadd_ps(w->w4, t4, a1);
    a2 = _mm512_fmadd_ps(w->w7, t7, a2);
    a0 = _mm512_fmadd_ps(w->w2, t2, a0);
    a1 = _mm512_fmadd_ps(w->w5, t5, a1);
    a2 = _mm512_fmadd_ps(w->w8, t8, a2);
    return _mm512_add_ps(_mm512_add_ps(a0, a1), a2);
}
#endif

static int have_avx512(void)
{
#ifdef CONV_AVX512
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* x (N,C,D,H,W), w (M,C/g,kD,kH,kW) -> y (N,M,oD,oH,oW) */
void k_f32_conv_ref(const k_conv_shape *s, const float *x, const float *w, const float *bias, float *y,
                    int act, float act_alpha, float act_beta)
{
    int64_t Cg = s->C / s->group, Mg = s->M / s->group;
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2];
    int64_t oD = s->out[0], oH = s->out[1], oW = s->out[2];
    int64_t kD = s->k[0], kH = s->k[1], kW = s->k[2];
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t m = 0; m < s->M; m++) {
            int64_t g = m / Mg;
            for (int64_t od = 0; od < oD; od++)
                for (int64_t oh = 0; oh < oH; oh++)
                    for (int64_t ow = 0; ow < oW; ow++) {
                        float acc = bias ? bias[m] : 0.0f;
                        for (int64_t c = 0; c < Cg; c++)
                            for (int64_t kd = 0; kd < kD; kd++) {
                                int64_t id = od * s->stride[0] - s->pad[0] + kd * s->dil[0];
                                if (id < 0 || id >= iD)
                                    continue;
                                for (int64_t kh = 0; kh < kH; kh++) {
                                    int64_t ih = oh * s->stride[1] - s->pad[1] + kh * s->dil[1];
                                    if (ih < 0 || ih >= iH)
                                        continue;
                                    for (int64_t kw = 0; kw < kW; kw++) {
                                        int64_t iw = ow * s->stride[2] - s->pad[2] + kw * s->dil[2];
                                        if (iw < 0 || iw >= iW)
                                            continue;
                                        float xv = x[(((n * s->C + g * Cg + c) * iD + id) * iH + ih) * iW + iw];
                                        float wv = w[(((m * Cg + c) * kD + kd) * kH + kh) * kW + kw];
                                        acc += xv * wv;
                                    }
                                }
                            }
                        y[(((n * s->M + m) * oD + od) * oH + oh) * oW + ow] = k_act_one(acc, act, act_alpha, act_beta);
                    }
        }
}

/* Range [lo, hi) of outputs o with 0 <= o*stride + off < in. */
static void valid_range(int64_t nout, int64_t stride, int64_t off, int64_t in, int64_t *lo, int64_t *hi)
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

/* one image x (C,D,H,W), channels c0.. -> packed (Cg*kD*kH*kW, oD*oH*oW)
 *
 * Works panel by panel (nr output columns) so that every write is sequential. The
 * columns of a panel are cut into segments that share one output row (od, oh); for
 * each kernel tap a segment is a zero prefix, a strided (or, for stride 1,
 * contiguous) run of one input row, and a zero suffix. */
/* One row: phase p holds xr[p], xr[p + sw], ... in wp slots, zeros after. */
static void split_row(const float *xr, float *d, int64_t iW, int64_t sw, int64_t wp)
{
    for (int64_t p = 0; p < sw; p++) {
        int64_t n = p < iW ? (iW - p + sw - 1) / sw : 0; /* slots that hold an input */
        for (int64_t q = 0; q < n; q++)
            d[p * wp + q] = xr[q * sw + p];
        for (int64_t q = n; q < wp; q++)
            d[p * wp + q] = 0.0f;
    }
}

#ifdef CONV_AVX512
/* Stride 2: 32 columns at a time, their even and odd elements by two permutes (the
 * lanes past the row read as zero, which is the padding of the odd phase). */
T512 static void split_row_s2_avx512(const float *xr, float *d, int64_t iW, int64_t wp)
{
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int64_t q = 0; q < wp; q += 16) {
        int64_t c = 2 * q;
        __m512 lo, hi;
        if (c + 32 <= iW) {
            lo = _mm512_loadu_ps(xr + c), hi = _mm512_loadu_ps(xr + c + 16);
        } else {
            lo = _mm512_maskz_loadu_ps(lanes16(0, iW - c), xr + c);
            hi = _mm512_maskz_loadu_ps(lanes16(0, iW - c - 16), xr + c + 16);
        }
        __m512 e = _mm512_permutex2var_ps(lo, even, hi), o = _mm512_permutex2var_ps(lo, odd, hi);
        if (q + 16 <= wp) {
            _mm512_storeu_ps(d + q, e);
            _mm512_storeu_ps(d + wp + q, o);
        } else {
            __mmask16 m = lanes16(0, wp - q);
            _mm512_mask_storeu_ps(d + q, m, e);
            _mm512_mask_storeu_ps(d + wp + q, m, o);
        }
    }
}
#endif

/* Rows h0 .. h1 - 1 of every plane, row h of all planes before row h + 1 (measured
 * against plane by plane on ResNet-50's layer2 3x3/2: the same at one thread, 9%
 * faster at two). */
static void split_band(const float *src, float *dst, int64_t planes, int64_t H, int64_t h0, int64_t h1, int64_t iW,
                       int64_t sw, int64_t wp, int s2)
{
    for (int64_t h = h0; h < h1; h++)
        for (int64_t pl = 0; pl < planes; pl++) {
            int64_t r = pl * H + h;
#ifdef CONV_AVX512
            if (s2) {
                split_row_s2_avx512(src + r * iW, dst + r * 2 * wp, iW, wp);
                continue;
            }
#else
            (void)s2;
#endif
            split_row(src + r * iW, dst + r * sw * wp, iW, sw, wp);
        }
}

/* x rows (Cg*D*H rows of W) -> rows of sw phases, phase p holding x[p], x[p+sw], ...
 * in ceil(W/sw) slots, so that a strided read becomes a contiguous one. */
void k_f32_split_w_phases(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, float *dst,
                          int threads)
{
    k_f32_split_w_phases_x(s, x, c0, Cg, dst, threads, 1);
}

void k_f32_split_w_phases_x(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, float *dst,
                            int threads, int simd)
{
    int64_t iW = s->in[2], sw = s->stride[2], wp = (iW + sw - 1) / sw;
    int64_t rows = Cg * s->in[0] * s->in[1];
    const float *src = x + c0 * s->in[0] * s->in[1] * iW;
    int nt = threads > 1 && rows * iW >= 65536 ? threads : 1;
#ifdef CONV_AVX512
    int s2 = simd && sw == 2 && have_avx512();
#else
    int s2 = 0;
    (void)simd;
#endif
    /* Threads take bands of rows of every plane, not whole planes: a band of the
     * output is then split by the thread that also gathers it (a line another core
     * wrote costs several times a line of this core's cache). */
    int64_t H = s->in[1], planes = rows / H;
    if (nt == 1) { /* no parallel region (callers may run this inside theirs) */
        split_band(src, dst, planes, H, 0, H, iW, sw, wp, s2);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
        split_band(src, dst, planes, H, H * t / T, H * (t + 1) / T, iW, sw, wp, s2);
    }
}

void k_f32_conv_subsample(const k_conv_shape *s, const float *x, float *dst, int threads)
{
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2], oD = s->out[0], oH = s->out[1], oW = s->out[2];
    int64_t sd = s->stride[0], sh = s->stride[1], sw = s->stride[2];
    int64_t rows = s->N * s->C * oD * oH;
    /* columns that read an input; the rest are trailing pads */
    int64_t wn = iW > 0 ? (iW + sw - 1) / sw : 0;
    if (wn > oW)
        wn = oW;
    int nt = threads > 1 && rows * oW >= 32768 ? threads : 1;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t r = 0; r < rows; r++) {
        int64_t oh = r % oH, od = r / oH % oD, nc = r / (oH * oD);
        float *d = dst + r * oW;
        int64_t id = od * sd, ih = oh * sh;
        if (id >= iD || ih >= iH) {
            for (int64_t ow = 0; ow < oW; ow++)
                d[ow] = 0.0f;
            continue;
        }
        const float *xr = x + ((nc * iD + id) * iH + ih) * iW;
        for (int64_t ow = 0; ow < wn; ow++)
            d[ow] = xr[ow * sw];
        for (int64_t ow = wn; ow < oW; ow++)
            d[ow] = 0.0f;
    }
}

/* What one kernel tap along W reads: the offset of its first input column, the range
 * [vlo, vhi) of output columns that land inside the input, and with the phase split
 * the phase and slot shift (see k_f32_split_w_phases). */
typedef struct wtap {
    int64_t offw, vlo, vhi, ph, q0;
} wtap;

static wtap wtap_of(const k_conv_shape *s, int64_t kw)
{
    int64_t sw = s->stride[2];
    wtap t;
    t.offw = kw * s->dil[2] - s->pad[2];
    t.ph = ((t.offw % sw) + sw) % sw;
    t.q0 = (t.offw - t.ph) / sw;
    valid_range(s->out[2], sw, t.offw, s->in[2], &t.vlo, &t.vhi);
    return t;
}

enum { WTAP_TAB = 16 }; /* taps along W whose geometry is worked out once per call */

/* The output columns of one panel, cut into segments that share one output row. */
typedef struct panel_segs {
    int n;
    int64_t j[64], len[64], od[64], oh[64], ow[64]; /* start in panel, length, output row, first ow */
} panel_segs;

/* One panel: every kernel tap's row of n columns (zero-padded to nr) into d. */
K_CLONES static void im2col_panel(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg,
                                  const wtap *tab, const panel_segs *sg, size_t n, size_t nr,
                                  const float *xsplit, float *d)
{
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2];
    int64_t kD = s->k[0], kH = s->k[1], kW = s->k[2], sw = s->stride[2], wp = (iW + sw - 1) / sw;
    int64_t r = 0;
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t kd = 0; kd < kD; kd++)
            for (int64_t kh = 0; kh < kH; kh++)
                for (int64_t kw = 0; kw < kW; kw++, r++) {
                    const float *xc = x + (c0 + c) * iD * iH * iW;
                    wtap tp = kw < WTAP_TAB ? tab[kw] : wtap_of(s, kw);
                    /* with the phase split: column (ow0 + t) reads phase ph at slot ow0 + t + q0 */
                    const float *xcs = xsplit ? xsplit + c * iD * iH * sw * wp + tp.ph * wp : NULL;
                    float *dr = d + (size_t)r * nr;
                    for (int q = 0; q < sg->n; q++) {
                        float *o = dr + sg->j[q];
                        int64_t len = sg->len[q];
                        int64_t id = sg->od[q] * s->stride[0] - s->pad[0] + kd * s->dil[0];
                        int64_t ih = sg->oh[q] * s->stride[1] - s->pad[1] + kh * s->dil[1];
                        if (id < 0 || id >= iD || ih < 0 || ih >= iH) {
                            for (int64_t t = 0; t < len; t++)
                                o[t] = 0;
                            continue;
                        }
                        int64_t ow0 = sg->ow[q];
                        int64_t lo = tp.vlo < ow0 ? 0 : tp.vlo - ow0, hi = tp.vhi < ow0 ? 0 : tp.vhi - ow0;
                        if (lo > len)
                            lo = len;
                        if (hi > len)
                            hi = len;
                        if (hi < lo)
                            hi = lo;
                        for (int64_t t = 0; t < lo; t++)
                            o[t] = 0;
                        int64_t row = id * iH + ih;
                        if (sw == 1) {
                            const float *src = xc + row * iW + ow0 + tp.offw;
                            for (int64_t t = lo; t < hi; t++)
                                o[t] = src[t];
                        } else if (xcs) {
                            const float *src = xcs + row * sw * wp + ow0 + tp.q0;
                            for (int64_t t = lo; t < hi; t++)
                                o[t] = src[t];
                        } else {
                            for (int64_t t = lo; t < hi; t++)
                                o[t] = xc[row * iW + (ow0 + t) * sw + tp.offw];
                        }
                        for (int64_t t = hi; t < len; t++)
                            o[t] = 0;
                    }
                    for (size_t jj = n; jj < nr; jj++)
                        dr[jj] = 0;
                }
}

#ifdef CONV_AVX512
/* im2col_panel for panels of at most 32 columns read contiguously (stride 1 along W,
 * or the phase split): each segment of a tap row is two masked loads (lanes outside
 * the input read as zero) and two masked stores, instead of three short loops. Writes
 * the same values. */
T512 static void im2col_panel_avx512(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg,
                                     const wtap *tab, const panel_segs *sg, size_t n, size_t nr,
                                     const float *xsplit, float *d)
{
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2];
    int64_t kD = s->k[0], kH = s->k[1], kW = s->k[2], sw = s->stride[2], wp = (iW + sw - 1) / sw;
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 keep0 = lanes16(0, (int64_t)nr), keep1 = lanes16(-16, (int64_t)nr - 16);
    /* Per tap along W and segment: the panel lanes it fills (the same for every channel
     * and row). Segment q fills lanes j .. j + len from a load at its source minus j, so
     * a row of the panel is built in two registers by merging loads, then stored whole
     * (masked stores cost more than plain ones; masked loads skip the lanes outside). */
    __mmask16 m0[WTAP_TAB][64], m1[WTAP_TAB][64];
    for (int64_t kw = 0; kw < kW; kw++)
        for (int q = 0; q < sg->n; q++) {
            int64_t j = sg->j[q], len = sg->len[q];
            int64_t lo = j + tab[kw].vlo - sg->ow[q], hi = j + tab[kw].vhi - sg->ow[q];
            m0[kw][q] = lanes16(lo, hi) & lanes16(j, j + len);
            m1[kw][q] = lanes16(lo - 16, hi - 16) & lanes16(j - 16, j + len - 16);
        }
    (void)n;
    int64_t r = 0;
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t kd = 0; kd < kD; kd++)
            for (int64_t kh = 0; kh < kH; kh++)
                for (int64_t kw = 0; kw < kW; kw++, r++) {
                    wtap tp = tab[kw];
                    const float *xc = xsplit ? xsplit + c * iD * iH * sw * wp + tp.ph * wp
                                             : x + (c0 + c) * iD * iH * iW;
                    int64_t rs = xsplit ? sw * wp : iW, shift = xsplit ? tp.q0 : tp.offw;
                    __m512 v0 = zero, v1 = zero;
                    for (int q = 0; q < sg->n; q++) {
                        int64_t id = sg->od[q] * s->stride[0] - s->pad[0] + kd * s->dil[0];
                        int64_t ih = sg->oh[q] * s->stride[1] - s->pad[1] + kh * s->dil[1];
                        if (id >= 0 && id < iD && ih >= 0 && ih < iH) {
                            const float *src = xc + (id * iH + ih) * rs + sg->ow[q] + shift - sg->j[q];
                            v0 = _mm512_mask_loadu_ps(v0, m0[kw][q], src);
                            v1 = _mm512_mask_loadu_ps(v1, m1[kw][q], src + 16);
                        }
                    }
                    float *dr = d + (size_t)r * nr;
                    if (nr == 32) {
                        _mm512_storeu_ps(dr, v0);
                        _mm512_storeu_ps(dr + 16, v1);
                    } else {
                        _mm512_mask_storeu_ps(dr, keep0, v0);
                        _mm512_mask_storeu_ps(dr + 16, keep1, v1);
                    }
                }
}
#endif

/* Panel p of k_f32_im2col_packed: its columns cut into segments, then packed. */
static void im2col_one_panel(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, size_t j_begin,
                             size_t ncols, size_t nr, const wtap *tab, const float *xsplit, float *dst, size_t p,
                             size_t K, int simd)
{
    int64_t oH = s->out[1], oW = s->out[2];
    size_t j0 = p * nr, n = ncols - j0 < nr ? ncols - j0 : nr;
    panel_segs sg;
    sg.n = 0;
    for (size_t jj = 0; jj < n;) {
        size_t j = j_begin + j0 + jj;
        int64_t ow = (int64_t)(j % (size_t)oW), oh = (int64_t)((j / (size_t)oW) % (size_t)oH);
        int64_t len = oW - ow < (int64_t)(n - jj) ? oW - ow : (int64_t)(n - jj);
        sg.j[sg.n] = (int64_t)jj;
        sg.len[sg.n] = len;
        sg.od[sg.n] = (int64_t)(j / (size_t)(oW * oH));
        sg.oh[sg.n] = oh;
        sg.ow[sg.n] = ow;
        sg.n++;
        jj += (size_t)len;
    }
#ifdef CONV_AVX512
    if (simd && nr <= 32 && s->k[2] <= WTAP_TAB && (s->stride[2] == 1 || xsplit)) {
        im2col_panel_avx512(s, x, c0, Cg, tab, &sg, n, nr, xsplit, dst + p * nr * K);
        return;
    }
#else
    (void)simd;
#endif
    im2col_panel(s, x, c0, Cg, tab, &sg, n, nr, xsplit, dst + p * nr * K);
}

void k_f32_im2col_packed(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, size_t j_begin,
                         size_t ncols, size_t nr, const float *xsplit, float *dst, int threads)
{
    k_f32_im2col_packed_x(s, x, c0, Cg, j_begin, ncols, nr, xsplit, dst, threads, 1);
}

void k_f32_im2col_packed_x(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, size_t j_begin,
                           size_t ncols, size_t nr, const float *xsplit, float *dst, int threads, int simd)
{
    simd = simd && have_avx512();
    int64_t K = Cg * s->k[0] * s->k[1] * s->k[2];
    size_t npanel = (ncols + nr - 1) / nr;
    wtap tab[WTAP_TAB];
    for (int64_t kw = 0; kw < s->k[2] && kw < WTAP_TAB; kw++)
        tab[kw] = wtap_of(s, kw);
    int nt = threads > 1 && npanel > 1 && (size_t)K * ncols > 65536 ? threads : 1;
    if (nt == 1) { /* no parallel region (callers may run this inside theirs) */
        for (size_t p = 0; p < npanel; p++)
            im2col_one_panel(s, x, c0, Cg, j_begin, ncols, nr, tab, xsplit, dst, p, (size_t)K, simd);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t p = 0; p < npanel; p++)
        im2col_one_panel(s, x, c0, Cg, j_begin, ncols, nr, tab, xsplit, dst, p, (size_t)K, simd);
}

void k_f32_im2col_packed_part(const k_conv_shape *s, const float *x, int64_t c0, int64_t Cg, size_t ncols,
                              size_t nr, const float *xsplit, float *dst, size_t K)
{
    int simd = have_avx512();
    size_t npanel = (ncols + nr - 1) / nr;
    wtap tab[WTAP_TAB];
    for (int64_t kw = 0; kw < s->k[2] && kw < WTAP_TAB; kw++)
        tab[kw] = wtap_of(s, kw);
    for (size_t p = 0; p < npanel; p++)
        im2col_one_panel(s, x, c0, Cg, 0, ncols, nr, tab, xsplit, dst, p, K, simd);
}

/* x (N,C,D,H,W), w (M,1,kD,kH,kW) with C == group -> y (N,M,oD,oH,oW) */
/* Activation of a row, with ReLU and Clip written so they vectorize (same results as
 * k_act_one, NaN included). */
K_INLINE void dw_act_row(float *y, size_t n, int act, float lo, float hi)
{
    if (act == ACT_RELU) {
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0 ? y[i] : 0;
    } else if (act == ACT_CLIP) {
        for (size_t i = 0; i < n; i++) {
            float v = y[i];
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
    } else {
        k_act_apply(y, n, act, lo, hi);
    }
}

#define DW_PAD_MAX 65536 /* floats of the largest zero-padded plane the 3x3 path takes */

/* 2-D 3x3 depthwise plane, stride 1 or 2, dilation 1, small enough to zero-pad in the
 * work space: then every output row is one edge-free loop over the nine taps. */
static int dw3x3_fits(const k_conv_shape *s)
{
    if (s->k[0] != 1 || s->in[0] != 1 || s->out[0] != 1 || s->k[1] != 3 || s->k[2] != 3)
        return 0;
    if (s->dil[1] != 1 || s->dil[2] != 1 || s->stride[1] != s->stride[2] || s->stride[1] > 2)
        return 0;
    if (s->pad[1] < 0 || s->pad[2] < 0 || s->pad[1] > 2 || s->pad[2] > 2)
        return 0;
    int64_t sd = s->stride[1];
    int64_t ph = (s->out[1] - 1) * sd + 3, pw = (s->out[2] - 1) * sd + 3;
    return ph * pw <= DW_PAD_MAX;
}

#define DW_FLAT_MAX_W 64 /* widest output row the flat path takes at stride 1 */

/* Work floats of the flat path per plane: the padded plane (or the four parity planes),
 * then the flat outputs, each with room for a vector read or written past its end. */
static size_t dw3x3_flat_plane(const k_conv_shape *s)
{
    int64_t oH = s->out[1], oW = s->out[2];
    size_t planes, nflat;
    if (s->stride[1] == 1) {
        planes = (size_t)((oH + 2) * (oW + 2));
        nflat = (size_t)((oH - 1) * (oW + 2) + oW);
    } else {
        planes = (size_t)(4 * ((oH + 1) * (oW + 1) + 16));
        nflat = (size_t)((oH - 1) * (oW + 1) + oW);
    }
    return (planes + 64 + nflat + 16 + 15) & ~(size_t)15;
}

/* Planes the flat path takes a step at a time: as many as fit in 16 KB, 1 to 8. */
static int64_t dw3x3_flat_group(const k_conv_shape *s)
{
    int64_t g = (int64_t)(4096 / dw3x3_flat_plane(s));
    return g < 1 ? 1 : g > 8 ? 8 : g;
}

static size_t dw3x3_flat_work(const k_conv_shape *s)
{
    return dw3x3_flat_plane(s) * (size_t)dw3x3_flat_group(s);
}

/* Channel blocks, for small planes (MobileNetV2's 7^2 to 28^2 layers): a plane there is
 * a few vectors, so the per-plane paths above spend most of their time on edges, masks
 * and copies. Here 16 channels are interleaved into one zero-padded plane of 16-lane
 * vectors (position-major: a vector holds one position of the 16 channels), the nine
 * taps are then plain vector loads and FMAs for any stride, with no edge, and the
 * outputs are transposed back into their 16 planes. Same taps as dw_plane, summed in
 * tap order into one accumulator per output. */
/* Outputs per plane the channel blocks take. One thread, against the per-plane paths:
 * 576 x 14^2 stride 2 0.042 -> 0.021 ms, 960 x 7^2 0.027 -> 0.025, 384 x 14^2 0.038 ->
 * 0.031, 192 x 28^2 stride 2 0.033 -> 0.028; but 144 x 56^2 stride 2 (28^2 out) 0.081
 * -> 0.091, and 192 x 28^2 stride 1 even: the transposes in and out grow with the plane
 * while the per-plane paths' edges shrink relative to it. */
#define DW_CB_MAX_OUT 256

/* Floats per thread: the interleaved padded plane, then the outputs (whole 16-position
 * chunks). */
static size_t dw3x3_cblock_work(const k_conv_shape *s)
{
    int64_t sd = s->stride[1], ph = (s->out[1] - 1) * sd + 3, pw = (s->out[2] - 1) * sd + 3;
    int64_t nout = (s->out[1] * s->out[2] + 15) / 16 * 16;
    return (size_t)(ph * pw + nout) * 16;
}

static int dw3x3_cblock_fits(const k_conv_shape *s)
{
    return s->group == s->C && s->M == s->C && s->out[1] * s->out[2] <= DW_CB_MAX_OUT;
}

/* The k x k channel blocks (dwk_cblock_avx512): 2-D, one output channel per input
 * channel, dilation 1, any kernel but 3x3 of at most DWK_MAX_TAPS taps, and a padded
 * plane of at most DWK_MAX_FLOATS per thread. */
#define DWK_MAX_TAPS 121
#define DWK_MAX_FLOATS ((size_t)1 << 21)

static size_t dwk_cblock_work(const k_conv_shape *s)
{
    int64_t ph = (s->out[1] - 1) * s->stride[1] + s->k[1], pw = (s->out[2] - 1) * s->stride[2] + s->k[2];
    int64_t nout = (s->out[1] * s->out[2] + 15) / 16 * 16;
    return (size_t)(ph * pw + nout) * 16;
}

static int dwk_cblock_fits(const k_conv_shape *s)
{
    return s->in[0] == 1 && s->k[0] == 1 && s->out[0] == 1 && s->group == s->C && s->M == s->C &&
           s->dil[1] == 1 && s->dil[2] == 1 && !(s->k[1] == 3 && s->k[2] == 3) &&
           s->k[1] * s->k[2] <= DWK_MAX_TAPS && s->out[1] > 0 && s->out[2] > 0 &&
           dwk_cblock_work(s) <= DWK_MAX_FLOATS;
}


/* Work floats per thread: the padded plane and the flat output of stride 1, or what
 * the flat AVX-512 path or the channel blocks need if that is more. */
static size_t dw3x3_work(const k_conv_shape *s)
{
    int64_t sd = s->stride[1];
    size_t plain = (size_t)(((s->out[1] - 1) * sd + 3) * ((s->out[2] - 1) * sd + 3)) * 2;
    size_t flat = dw3x3_flat_work(s), cb = dw3x3_cblock_fits(s) ? dw3x3_cblock_work(s) : 0;
    size_t most = plain > flat ? plain : flat;
    return ((most > cb ? most : cb) + 15) & ~(size_t)15;
}

size_t k_conv_depthwise_work_floats(const k_conv_shape *s, int threads)
{
    size_t per = dw3x3_fits(s) ? dw3x3_work(s) : dwk_cblock_fits(s) ? dwk_cblock_work(s) : 0;
    return per * (size_t)(threads > 1 ? threads : 1);
}

K_CLONES static void dw3x3_plane(const k_conv_shape *s, const float *xc, const float *wm, float b, float *ym, int act,
                                 float act_alpha, float act_beta, float *xp)
{
    int64_t iH = s->in[1], iW = s->in[2], oH = s->out[1], oW = s->out[2], sd = s->stride[1];
    int64_t pt = s->pad[1], pl = s->pad[2];
    int64_t ph = (oH - 1) * sd + 3, pw = (oW - 1) * sd + 3; /* rows/columns the outputs read */
    for (int64_t r = 0; r < ph; r++) {
        float *d = xp + r * pw;
        int64_t ih = r - pt;
        if (ih < 0 || ih >= iH) {
            memset(d, 0, (size_t)pw * sizeof(float));
            continue;
        }
        /* columns q read input column q - pl: zeros left, the row, zeros right */
        int64_t a = pl < pw ? pl : pw, e = pl + iW < pw ? pl + iW : pw;
        memset(d, 0, (size_t)a * sizeof(float));
        if (e > a)
            memcpy(d + a, xc + ih * iW, (size_t)(e - a) * sizeof(float));
        if (pw > e)
            memset(d + (e > a ? e : a), 0, (size_t)(pw - (e > a ? e : a)) * sizeof(float));
    }
    float w0 = wm[0], w1 = wm[1], w2 = wm[2], w3 = wm[3], w4 = wm[4], w5 = wm[5], w6 = wm[6], w7 = wm[7], w8 = wm[8];
    if (sd == 1) {
        /* one flat loop over all rows at the padded width (the pw - oW extra columns of
         * each row are computed and dropped): long vectors even for 7-wide planes */
        float *tmp = xp + ph * pw;
        int64_t nflat = (oH - 1) * pw + oW;
        const float *r0 = xp, *r1 = xp + pw, *r2 = xp + 2 * pw;
        for (int64_t t = 0; t < nflat; t++)
            tmp[t] = b + (w0 * r0[t] + w1 * r0[t + 1] + w2 * r0[t + 2]) + (w3 * r1[t] + w4 * r1[t + 1] + w5 * r1[t + 2]) +
                     (w6 * r2[t] + w7 * r2[t + 1] + w8 * r2[t + 2]);
        for (int64_t oh = 0; oh < oH; oh++) {
            memcpy(ym + oh * oW, tmp + oh * pw, (size_t)oW * sizeof(float));
            dw_act_row(ym + oh * oW, (size_t)oW, act, act_alpha, act_beta);
        }
        return;
    }
    for (int64_t oh = 0; oh < oH; oh++) {
        const float *r0 = xp + oh * sd * pw, *r1 = r0 + pw, *r2 = r1 + pw;
        float *yr = ym + oh * oW;
        if (sd == 1) {
            for (int64_t ow = 0; ow < oW; ow++)
                yr[ow] = b + (w0 * r0[ow] + w1 * r0[ow + 1] + w2 * r0[ow + 2]) +
                         (w3 * r1[ow] + w4 * r1[ow + 1] + w5 * r1[ow + 2]) +
                         (w6 * r2[ow] + w7 * r2[ow + 1] + w8 * r2[ow + 2]);
        } else {
            for (int64_t ow = 0; ow < oW; ow++)
                yr[ow] = b + (w0 * r0[2 * ow] + w1 * r0[2 * ow + 1] + w2 * r0[2 * ow + 2]) +
                         (w3 * r1[2 * ow] + w4 * r1[2 * ow + 1] + w5 * r1[2 * ow + 2]) +
                         (w6 * r2[2 * ow] + w7 * r2[2 * ow + 1] + w8 * r2[2 * ow + 2]);
        }
        dw_act_row(yr, (size_t)oW, act, act_alpha, act_beta);
    }
}

/* The 3x3 path with AVX-512, for any pads: each output row in vectors of 16, every
 * tap a masked load of the input row (lanes outside the input read as zero padding),
 * so there is no padded copy and no per-row call. Stride 2 loads 32 columns per tap
 * and keeps the even ones (a two-source permute). Bias, ReLU and Clip stay in
 * registers; other activations run on the row afterwards. Same taps as dw3x3_plane,
 * accumulated in another order (fused multiply-adds). */
#ifdef CONV_AVX512

/* Most 16-column blocks of a row this wide have every lane inside: up to this many
 * blocks, their masks are worked out once per plane. */
#define DW_MAX_BLOCKS 64

/* Input rows the stride-2 split reads ahead: a plane is read once, from L3 or memory,
 * and the hardware prefetcher alone leaves the loads waiting (96 x 112^2: 2 to 16 rows
 * all help, 4 best; the same in the stride-1 rows made 32 x 112^2 slower). */
#define DW_PF_ROWS 4

T512 static void dw3x3_plane_avx512(const k_conv_shape *s, const float *xc, const float *wm, float b, float *ym,
                                    int act, float act_alpha, float act_beta)
{
    int64_t iH = s->in[1], iW = s->in[2], oH = s->out[1], oW = s->out[2], sd = s->stride[1];
    int64_t pt = s->pad[1], pl = s->pad[2];
    int64_t nblk = (oW + 15) / 16;
    /* per block: the store mask, then per tap column kw the load masks (stride 2: two) */
    __mmask16 mstore[DW_MAX_BLOCKS], mload[DW_MAX_BLOCKS][6];
    for (int64_t k = 0; k < nblk; k++) {
        int64_t ow0 = 16 * k;
        mstore[k] = lanes16(0, oW - ow0);
        for (int64_t kw = 0; kw < 3; kw++) {
            int64_t c0 = sd * ow0 - pl + kw; /* lane e reads column c0 + e (stride 2: c0 + 2e) */
            mload[k][2 * kw] = lanes16(-c0, iW - c0);
            mload[k][2 * kw + 1] = lanes16(-c0 - 16, iW - c0 - 16);
        }
    }
    const dw_w9 w = dw_w9_of(wm, b);
    const __m512 lo = _mm512_set1_ps(act_alpha), hi = _mm512_set1_ps(act_beta);
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    int in_reg = act == ACT_NONE || act == ACT_RELU || act == ACT_CLIP;
    for (int64_t oh = 0; oh < oH; oh++) {
        float *yr = ym + oh * oW;
        int64_t ih0 = oh * sd - pt;
        /* a row of zero padding reads nothing: mask 0 (its pointer is any valid one) */
        __mmask16 v0 = ih0 >= 0 && ih0 < iH ? 0xFFFF : 0, v1 = ih0 + 1 >= 0 && ih0 + 1 < iH ? 0xFFFF : 0;
        __mmask16 v2 = ih0 + 2 >= 0 && ih0 + 2 < iH ? 0xFFFF : 0;
        const float *r0 = (v0 ? xc + ih0 * iW : xc) - pl, *r1 = (v1 ? xc + (ih0 + 1) * iW : xc) - pl;
        const float *r2 = (v2 ? xc + (ih0 + 2) * iW : xc) - pl;
        for (int64_t k = 0; k < nblk; k++) {
            const __mmask16 *ml = mload[k];
            int64_t c = sd * 16 * k;
            __m512 r;
            if (sd == 1 && (ml[0] & ml[4] & v0 & v1 & v2) == 0xFFFF) {
                /* inside: a plain load per row and the two lanes after it (masked: they
                 * may be the tensor's last), the shifted taps cut in registers */
#define DW_NEXT2(r) _mm512_maskz_loadu_ps(0x3, (r) + c + 16)
                __m512 x0 = _mm512_loadu_ps(r0 + c), x1 = _mm512_loadu_ps(r1 + c), x2 = _mm512_loadu_ps(r2 + c);
                __m512 n0 = DW_NEXT2(r0), n1 = DW_NEXT2(r1), n2 = DW_NEXT2(r2);
                r = dw_sum9(&w, x0, DW_SHIFT(n0, x0, 1), DW_SHIFT(n0, x0, 2), x1, DW_SHIFT(n1, x1, 1),
                            DW_SHIFT(n1, x1, 2), x2, DW_SHIFT(n2, x2, 1), DW_SHIFT(n2, x2, 2));
#undef DW_NEXT2
            } else if (sd == 1) {
#define DW_M(a, kw) _mm512_maskz_loadu_ps(ml[2 * (kw)] & v##a, r##a + c + (kw))
                r = dw_sum9(&w, DW_M(0, 0), DW_M(0, 1), DW_M(0, 2), DW_M(1, 0), DW_M(1, 1), DW_M(1, 2), DW_M(2, 0),
                            DW_M(2, 1), DW_M(2, 2));
#undef DW_M
            } else {
#define DW_S2(a, kw)                                                                                          \
    _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(ml[2 * (kw)] & v##a, r##a + c + (kw)), even,                 \
                           _mm512_maskz_loadu_ps(ml[2 * (kw) + 1] & v##a, r##a + c + (kw) + 16))
                r = dw_sum9(&w, DW_S2(0, 0), DW_S2(0, 1), DW_S2(0, 2), DW_S2(1, 0), DW_S2(1, 1), DW_S2(1, 2),
                            DW_S2(2, 0), DW_S2(2, 1), DW_S2(2, 2));
#undef DW_S2
            }
            r = act_in_reg(r, act, lo, hi);
            if (mstore[k] == 0xFFFF)
                _mm512_storeu_ps(yr + 16 * k, r);
            else
                _mm512_mask_storeu_ps(yr + 16 * k, mstore[k], r);
        }
        if (!in_reg)
            dw_act_row(yr, (size_t)oW, act, act_alpha, act_beta);
    }
}
/* The flat AVX-512 3x3 path, for narrow planes (where rows of 16-lane blocks leave
 * lanes idle and every block is an edge): the plane is copied zero-padded into the
 * work space, then the outputs are computed at the padded width as one flat run of
 * vectors (the extra columns of each row computed and dropped, as in dw3x3_plane), and
 * the rows are copied out. Stride 2 first splits the padded plane into its four
 * (row, column) parity planes, so that every tap is again a flat offset:
 * out(i, j) = sum w[a][k] * P[a % 2][k % 2][i + a / 2][j + k / 2]. */
/* The flat layout of one plane in the work space: padded plane (or parity planes) at
 * xp, flat outputs at tmp, the nine tap offsets from xp. */
typedef struct dw_flat {
    int64_t pw, nflat, plane, off[9];
    size_t tmp; /* floats from xp to tmp */
} dw_flat;

static dw_flat dw_flat_layout(const k_conv_shape *s)
{
    dw_flat f;
    int64_t oH = s->out[1], oW = s->out[2];
    if (s->stride[1] == 1) {
        f.pw = oW + 2;
        f.plane = (oH + 2) * f.pw;
        f.tmp = (size_t)f.plane + 64;
        for (int a = 0; a < 3; a++)
            for (int k = 0; k < 3; k++)
                f.off[3 * a + k] = a * f.pw + k;
    } else {
        /* parity planes of the padded plane (2 oH + 1 rows, 2 oW + 1 columns): pw columns,
         * oH + 1 rows each, and room for the vector stored past the last row */
        f.pw = oW + 1;
        f.plane = (oH + 1) * f.pw + 16;
        f.tmp = 4 * (size_t)f.plane + 64;
        for (int a = 0; a < 3; a++)
            for (int k = 0; k < 3; k++)
                f.off[3 * a + k] = ((a & 1) * 2 + (k & 1)) * f.plane + (a >> 1) * f.pw + (k >> 1);
    }
    f.nflat = (oH - 1) * f.pw + oW;
    return f;
}

/* Input plane xc into the padded plane (stride 1) or the parity planes (stride 2). */
/* The load masks of the column blocks of every row (the same in each), stride 1: one
 * per block; stride 2: two. */
#define DW_FLAT_BLOCKS 8
static void dw_flat_masks(const k_conv_shape *s, const dw_flat *f, uint16_t *ml)
{
    int64_t iW = s->in[2], pl = s->pad[2];
    for (int64_t j = 0, k = 0; j < f->pw && k < DW_FLAT_BLOCKS; j += 16, k++) {
        int64_t q = s->stride[1] == 1 ? j : 2 * j;
        ml[2 * k] = lanes16(pl - q, pl + iW - q);
        ml[2 * k + 1] = lanes16(pl - q - 16, pl + iW - q - 16);
    }
}

T512 static void dw_flat_fill(const k_conv_shape *s, const dw_flat *f, const uint16_t *ml, const float *xc, float *xp)
{
    int64_t iH = s->in[1], iW = s->in[2], oH = s->out[1], pt = s->pad[1], pl = s->pad[2], pw = f->pw;
    const __m512 zero = _mm512_setzero_ps();
    if (s->stride[1] == 1) {
        for (int64_t r = 0; r < oH + 2; r++) { /* padded row r is input row r - pt */
            int64_t ih = r - pt;
            float *d = xp + r * pw;
            if (ih < 0 || ih >= iH) {
                for (int64_t q = 0; q < pw; q += 16)
                    _mm512_storeu_ps(d + q, zero); /* past pw: the next row's, written after */
                continue;
            }
            const float *src = xc + ih * iW - pl;
            for (int64_t q = 0, k = 0; q < pw; q += 16, k++) {
                __mmask16 m = k < DW_FLAT_BLOCKS ? ml[2 * k] : lanes16(pl - q, pl + iW - q);
                _mm512_storeu_ps(d + q, _mm512_maskz_loadu_ps(m, src + q));
            }
        }
        return;
    }
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int64_t r = 0; r < 2 * oH + 1; r++) {
        int64_t ih = r - pt;
        float *d0 = xp + (r & 1) * 2 * f->plane + (r >> 1) * pw, *d1 = d0 + f->plane;
        if (ih < 0 || ih >= iH) {
            for (int64_t j = 0; j < pw; j += 16) {
                _mm512_storeu_ps(d0 + j, zero);
                _mm512_storeu_ps(d1 + j, zero);
            }
            continue;
        }
        const float *src = xc + ih * iW - pl;
        const float *pf = ih + DW_PF_ROWS < iH ? src + DW_PF_ROWS * iW : NULL;
        for (int64_t j = 0, k = 0; j < pw; j += 16, k++) { /* padded columns 2j .. 2j + 31 */
            int64_t q = 2 * j;
            if (pf) {
                _mm_prefetch((const char *)(pf + q), _MM_HINT_T0);
                _mm_prefetch((const char *)(pf + q + 16), _MM_HINT_T0);
            }
            __mmask16 m0 = k < DW_FLAT_BLOCKS ? ml[2 * k] : lanes16(pl - q, pl + iW - q);
            __mmask16 m1 = k < DW_FLAT_BLOCKS ? ml[2 * k + 1] : lanes16(pl - q - 16, pl + iW - q - 16);
            __m512 lo = _mm512_maskz_loadu_ps(m0, src + q);
            __m512 hi = _mm512_maskz_loadu_ps(m1, src + q + 16);
            _mm512_storeu_ps(d0 + j, _mm512_permutex2var_ps(lo, even, hi));
            _mm512_storeu_ps(d1 + j, _mm512_permutex2var_ps(lo, odd, hi));
        }
    }
}

/* The flat outputs at xp + f->tmp; ReLU and Clip applied. Each kernel row's taps are
 * one run of the plane at shifts 0, 1, 2 (stride 1), or two runs, the even and odd
 * columns, at shifts 0, 0, 1 (stride 2): the shifted vectors are cut from two loads in
 * registers (valignd) instead of loaded again, misaligned. The load of the next vector
 * reads up to 31 floats past a run's last tap, into memory of the same work area
 * (dw_flat_layout): stride 1, the 64 floats between the plane and the outputs; stride
 * 2, the parity plane after the even one. Those lanes feed only outputs past the
 * last, which are dropped. */
T512 static void dw_flat_taps(const dw_flat *f, int64_t sd, const float *xp, const float *wm, float b, int act,
                              float act_alpha, float act_beta, float *tmp)
{
    const dw_w9 w = dw_w9_of(wm, b);
    const __m512 lo = _mm512_set1_ps(act_alpha), hi = _mm512_set1_ps(act_beta);
    if (sd == 1) {
        const float *q0 = xp + f->off[0], *q1 = xp + f->off[3], *q2 = xp + f->off[6];
        __m512 c0 = _mm512_loadu_ps(q0), c1 = _mm512_loadu_ps(q1), c2 = _mm512_loadu_ps(q2);
        for (int64_t t = 0; t < f->nflat; t += 16) {
            __m512 n0 = _mm512_loadu_ps(q0 + t + 16), n1 = _mm512_loadu_ps(q1 + t + 16);
            __m512 n2 = _mm512_loadu_ps(q2 + t + 16);
            __m512 r = dw_sum9(&w, c0, DW_SHIFT(n0, c0, 1), DW_SHIFT(n0, c0, 2), c1, DW_SHIFT(n1, c1, 1),
                               DW_SHIFT(n1, c1, 2), c2, DW_SHIFT(n2, c2, 1), DW_SHIFT(n2, c2, 2));
            _mm512_storeu_ps(tmp + t, act_in_reg(r, act, lo, hi));
            c0 = n0, c1 = n1, c2 = n2;
        }
        return;
    }
    /* stride 2: kernel row a reads the even-column run at off[3a] (taps 0 and 2, the
     * latter one further on) and the odd-column run at off[3a + 1] (tap 1) */
    const float *e0 = xp + f->off[0], *e1 = xp + f->off[3], *e2 = xp + f->off[6];
    const float *o0 = xp + f->off[1], *o1 = xp + f->off[4], *o2 = xp + f->off[7];
    __m512 c0 = _mm512_loadu_ps(e0), c1 = _mm512_loadu_ps(e1), c2 = _mm512_loadu_ps(e2);
    for (int64_t t = 0; t < f->nflat; t += 16) {
        __m512 n0 = _mm512_loadu_ps(e0 + t + 16), n1 = _mm512_loadu_ps(e1 + t + 16);
        __m512 n2 = _mm512_loadu_ps(e2 + t + 16);
        __m512 r = dw_sum9(&w, c0, _mm512_loadu_ps(o0 + t), DW_SHIFT(n0, c0, 1), c1, _mm512_loadu_ps(o1 + t),
                           DW_SHIFT(n1, c1, 1), c2, _mm512_loadu_ps(o2 + t), DW_SHIFT(n2, c2, 1));
        _mm512_storeu_ps(tmp + t, act_in_reg(r, act, lo, hi));
        c0 = n0, c1 = n1, c2 = n2;
    }
}

/* Planes nm0 .. nm0 + cnt - 1 (of the N x M output planes) through the flat path, each
 * step for all of them before the next: the loads of one step then find the stores of
 * the step before already done (a load across two stores still in flight waits). */
T512 static void dw3x3_planes_flat_avx512(const k_conv_shape *s, const float *x, const float *w, const float *bias,
                                          float *y, int64_t nm0, int64_t cnt, int act, float act_alpha,
                                          float act_beta, float *work, size_t per)
{
    dw_flat f = dw_flat_layout(s);
    int64_t Mg = s->M / s->group, oH = s->out[1], oW = s->out[2], plane_in = s->in[1] * s->in[2];
    uint16_t ml[2 * DW_FLAT_BLOCKS];
    dw_flat_masks(s, &f, ml);
    for (int64_t k = 0; k < cnt; k++) {
        int64_t nm = nm0 + k, n = nm / s->M, c = (nm % s->M) / Mg;
        dw_flat_fill(s, &f, ml, x + (n * s->C + c) * plane_in, work + (size_t)k * per);
    }
    __mmask16 mlast = lanes16(0, oW - (oW - 1) / 16 * 16); /* of the last block of a row */
    for (int64_t k = 0; k < cnt; k++) {
        int64_t m = (nm0 + k) % s->M;
        float *xp = work + (size_t)k * per;
        dw_flat_taps(&f, s->stride[1], xp, w + m * 9, bias ? bias[m] : 0.0f, act, act_alpha, act_beta, xp + f.tmp);
    }
    for (int64_t k = 0; k < cnt; k++) {
        const float *tmp = work + (size_t)k * per + f.tmp;
        float *ym = y + (nm0 + k) * oH * oW;
        for (int64_t oh = 0; oh < oH; oh++) {
            const float *src = tmp + oh * f.pw;
            float *yr = ym + oh * oW;
            int64_t j = 0;
            for (; j + 16 < oW; j += 16)
                _mm512_storeu_ps(yr + j, _mm512_loadu_ps(src + j));
            _mm512_mask_storeu_ps(yr + j, mlast, _mm512_maskz_loadu_ps(mlast, src + j));
            if (act != ACT_NONE && act != ACT_RELU && act != ACT_CLIP)
                dw_act_row(yr, (size_t)oW, act, act_alpha, act_beta);
        }
    }
}
/* In place: row i of r becomes column i (a 16 x 16 transpose in registers). */
T512 static inline void tr16x16(__m512 r[16])
{
    __m512 t[16], u[16], v[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) { /* u[4i + k]: column k (+4, +8, +12) of rows 4i .. 4i + 3 */
        __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        v[k] = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);
        v[4 + k] = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xdd);
        v[8 + k] = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
        v[12 + k] = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xdd);
    }
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        r[k] = _mm512_shuffle_f32x4(v[k], v[8 + k], 0x88);
        r[k + 8] = _mm512_shuffle_f32x4(v[k], v[8 + k], 0xdd);
        r[k + 4] = _mm512_shuffle_f32x4(v[4 + k], v[12 + k], 0x88);
        r[k + 12] = _mm512_shuffle_f32x4(v[4 + k], v[12 + k], 0xdd);
    }
}

/* Outputs ow .. ow + N - 1 of one row (N a constant: 8, 4 or 1), taps from rows p0, p1,
 * p2 of the interleaved plane. */
#define DW_CB_OUTPUTS(N)                                                                              \
    T512 static inline void dw_cb_outputs##N(const float *p0, const float *p1, const float *p2, int64_t ow, \
                                             int64_t sd, const __m512 *wv, __m512 vb, int act, __m512 lo, \
                                             __m512 hi, float *o)                                         \
    {                                                                                                 \
        __m512 acc[N];                                                                                \
        _Pragma("GCC unroll 8") for (int j = 0; j < N; j++) acc[j] = vb;                              \
        _Pragma("GCC unroll 3") for (int kw = 0; kw < 3; kw++)                                        \
        {                                                                                             \
            _Pragma("GCC unroll 8") for (int j = 0; j < N; j++)                                       \
            {                                                                                         \
                int64_t q = ((ow + j) * sd + kw) * 16;                                                \
                acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(p0 + q), wv[kw], acc[j]);                    \
                acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(p1 + q), wv[3 + kw], acc[j]);                \
                acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(p2 + q), wv[6 + kw], acc[j]);                \
            }                                                                                         \
        }                                                                                             \
        _Pragma("GCC unroll 8") for (int j = 0; j < N; j++)                                           \
            _mm512_storeu_ps(o + (ow + j) * 16, act_in_reg(acc[j], act, lo, hi));                     \
    }
DW_CB_OUTPUTS(8)
DW_CB_OUTPUTS(4)
DW_CB_OUTPUTS(1)
#undef DW_CB_OUTPUTS

/* The interleaved padded plane of channels c0 .. c0 + nc of image n (at most 16; lanes
 * past nc hold zeros): p[(r * pw + q) * 16 + c] is input row r - pad top, column q -
 * pad left of channel c0 + c, zero outside the input. ph x pw covers every output's
 * window. */
T512 static void dw_cb_fill(const k_conv_shape *s, const float *x, int64_t n, int64_t c0, int64_t nc, int64_t ph,
                            int64_t pw, float *p)
{
    int64_t iH = s->in[1], iW = s->in[2], pt = s->pad[1], pl = s->pad[2];
    const __m512 zero = _mm512_setzero_ps();
    const float *xb = x + (n * s->C + c0) * iH * iW;
    int64_t q1 = pl + iW < pw ? pl + iW : pw; /* interior columns pl .. q1 - 1 */
    for (int64_t r = 0; r < ph; r++) {
        int64_t ih = r - pt;
        float *pr = p + r * pw * 16;
        if (ih < 0 || ih >= iH) {
            for (int64_t q = 0; q < pw; q++)
                _mm512_storeu_ps(pr + q * 16, zero);
            continue;
        }
        for (int64_t q = 0; q < pl; q++)
            _mm512_storeu_ps(pr + q * 16, zero);
        for (int64_t q = q1; q < pw; q++)
            _mm512_storeu_ps(pr + q * 16, zero);
        for (int64_t iw0 = 0; pl + iw0 < q1; iw0 += 16) {
            int64_t cnt = q1 - pl - iw0 < 16 ? q1 - pl - iw0 : 16;
            __mmask16 m = lanes16(0, cnt);
            __m512 rr[16];
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++)
                rr[c] = c < nc ? _mm512_maskz_loadu_ps(m, xb + c * iH * iW + ih * iW + iw0) : zero;
            tr16x16(rr);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) /* constant indices: rr stays in registers */
                if (j < cnt)
                    _mm512_storeu_ps(pr + (pl + iw0 + j) * 16, rr[j]);
        }
    }
}

/* The outputs o (position-major, 16 channels a position) back into channels c0 .. c0 +
 * nc of image n of y, 16 positions at a time; then an activation act_in_reg does not
 * apply in registers. */
T512 static void dw_cb_store(const k_conv_shape *s, const float *o, float *y, int64_t n, int64_t c0, int64_t nc,
                             int act, float act_alpha, float act_beta)
{
    int64_t ohw = s->out[1] * s->out[2];
    const __m512 zero = _mm512_setzero_ps();
    float *yb = y + (n * s->M + c0) * ohw;
    for (int64_t q0 = 0; q0 < ohw; q0 += 16) {
        int64_t cnt = ohw - q0 < 16 ? ohw - q0 : 16;
        __mmask16 m = lanes16(0, cnt);
        __m512 rr[16];
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++)
            rr[j] = j < cnt ? _mm512_loadu_ps(o + (q0 + j) * 16) : zero;
        tr16x16(rr);
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++)
            if (c < nc)
                _mm512_mask_storeu_ps(yb + c * ohw + q0, m, rr[c]);
    }
    if (act != ACT_NONE && act != ACT_RELU && act != ACT_CLIP)
        for (int64_t c = 0; c < nc; c++)
            dw_act_row(yb + c * ohw, (size_t)ohw, act, act_alpha, act_beta);
}

/* Channels c0 .. c0 + nc - 1 (nc <= 16) of image n. */
T512 static void dw3x3_cblock_avx512(const k_conv_shape *s, const float *x, const float *w, const float *bias,
                                     float *y, int64_t n, int64_t c0, int64_t nc, int act, float act_alpha,
                                     float act_beta, float *work)
{
    int64_t oH = s->out[1], oW = s->out[2], sd = s->stride[1];
    int64_t ph = (oH - 1) * sd + 3, pw = (oW - 1) * sd + 3;
    float *p = work, *o = work + ph * pw * 16;
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 cm = lanes16(0, nc);
    dw_cb_fill(s, x, n, c0, nc, ph, pw, p);
    /* the taps */
    float wt[9][16] __attribute__((aligned(64)));
    for (int k = 0; k < 9; k++)
        for (int c = 0; c < 16; c++)
            wt[k][c] = c < nc ? w[(c0 + c) * 9 + k] : 0.0f;
    __m512 wv[9];
    for (int k = 0; k < 9; k++)
        wv[k] = _mm512_load_ps(wt[k]);
    const __m512 vb = bias ? _mm512_maskz_loadu_ps(cm, bias + c0) : zero;
    const __m512 lo = _mm512_set1_ps(act_alpha), hi = _mm512_set1_ps(act_beta);
    for (int64_t oh = 0; oh < oH; oh++) {
        const float *p0 = p + oh * sd * pw * 16, *p1 = p0 + pw * 16, *p2 = p1 + pw * 16;
        float *orow = o + oh * oW * 16;
        int64_t ow = 0;
        for (; ow + 8 <= oW; ow += 8)
            dw_cb_outputs8(p0, p1, p2, ow, sd, wv, vb, act, lo, hi, orow);
        if (ow + 4 <= oW) {
            dw_cb_outputs4(p0, p1, p2, ow, sd, wv, vb, act, lo, hi, orow);
            ow += 4;
        }
        for (; ow < oW; ow++)
            dw_cb_outputs1(p0, p1, p2, ow, sd, wv, vb, act, lo, hi, orow);
    }
    dw_cb_store(s, o, y, n, c0, nc, act, act_alpha, act_beta);
}

/* Depthwise k x k (any kernel but 3x3, which the paths above take; dilation 1) in
 * channel blocks as dw3x3_cblock_avx512: each tap is a plain load of the interleaved
 * plane and an FMA with that tap's 16 weights, four outputs at a time so that each
 * weight load serves four FMAs. ConvNeXt's 7x7 depthwise layers: 32 x 14^2 (two
 * images) 0.229 -> about 0.02 ms, against the per-plane portable loops. */
T512 static void dwk_cblock_avx512(const k_conv_shape *s, const float *x, const float *w, const float *bias,
                                   float *y, int64_t n, int64_t c0, int64_t nc, int act, float act_alpha,
                                   float act_beta, float *work)
{
    int64_t oH = s->out[1], oW = s->out[2], sh = s->stride[1], sw = s->stride[2], kH = s->k[1], kW = s->k[2];
    int64_t ph = (oH - 1) * sh + kH, pw = (oW - 1) * sw + kW, kk = kH * kW;
    float *p = work, *o = work + ph * pw * 16;
    dw_cb_fill(s, x, n, c0, nc, ph, pw, p);
    float wt[DWK_MAX_TAPS][16] __attribute__((aligned(64)));
    for (int64_t t = 0; t < kk; t++)
        for (int64_t c = 0; c < 16; c++)
            wt[t][c] = c < nc ? w[(c0 + c) * kk + t] : 0.0f;
    const __m512 vb = bias ? _mm512_maskz_loadu_ps(lanes16(0, nc), bias + c0) : _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(act_alpha), hi = _mm512_set1_ps(act_beta);
    int64_t st = sw * 16; /* floats from one output's window to the next's */
    for (int64_t oh = 0; oh < oH; oh++) {
        const float *pr = p + oh * sh * pw * 16;
        float *orow = o + oh * oW * 16;
        int64_t ow = 0;
        for (; ow + 4 <= oW; ow += 4) {
            __m512 a0 = vb, a1 = vb, a2 = vb, a3 = vb;
            for (int64_t kh = 0; kh < kH; kh++) {
                const float *q = pr + (kh * pw + ow * sw) * 16;
                const float *wk = wt[kh * kW];
                for (int64_t kw = 0; kw < kW; kw++, q += 16, wk += 16) {
                    __m512 wv = _mm512_load_ps(wk);
                    a0 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(q), a0);
                    a1 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(q + st), a1);
                    a2 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(q + 2 * st), a2);
                    a3 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(q + 3 * st), a3);
                }
            }
            _mm512_storeu_ps(orow + ow * 16, act_in_reg(a0, act, lo, hi));
            _mm512_storeu_ps(orow + (ow + 1) * 16, act_in_reg(a1, act, lo, hi));
            _mm512_storeu_ps(orow + (ow + 2) * 16, act_in_reg(a2, act, lo, hi));
            _mm512_storeu_ps(orow + (ow + 3) * 16, act_in_reg(a3, act, lo, hi));
        }
        for (; ow < oW; ow++) {
            __m512 a = vb;
            for (int64_t kh = 0; kh < kH; kh++) {
                const float *q = pr + (kh * pw + ow * sw) * 16;
                for (int64_t kw = 0; kw < kW; kw++)
                    a = _mm512_fmadd_ps(_mm512_load_ps(wt[kh * kW + kw]), _mm512_loadu_ps(q + kw * 16), a);
            }
            _mm512_storeu_ps(orow + ow * 16, act_in_reg(a, act, lo, hi));
        }
    }
    dw_cb_store(s, o, y, n, c0, nc, act, act_alpha, act_beta);
}
#endif

/* Tiny planes of the same size out as in (stride 1; MobileNetV2's 7^2 layers): the
 * plane is one flat run of vectors, input and output alike, and tap (kh, kw) of output
 * t reads input t + (kh - pt) W + (kw - pl). A lane whose input falls outside the plane
 * (a row above or below, or past a row's end) is masked off: the masks of every
 * (vector, tap) depend only on the shape, so one table serves all planes, and a plane
 * costs nine masked loads and FMAs per vector, with no padded copy and no rows copied
 * out. Measured against the flat path (one layer, one thread): 960 x 7^2 0.045 ->
 * 0.035 ms; but 576 x 14^2 0.056 -> 0.068 and 192 x 28^2 0.058 -> 0.094, where the
 * copies are worth their plain loads from L1: so up to 64 outputs. */
#define DW_SAME_MAX_VECS 4

static int dw3x3_same_fits(const k_conv_shape *s)
{
    return s->stride[1] == 1 && s->out[1] == s->in[1] && s->out[2] == s->in[2] && s->pad[1] <= 2 &&
           s->pad[2] <= 2 && s->out[1] * s->out[2] <= 16 * DW_SAME_MAX_VECS;
}

typedef struct dw_same {
    int64_t hw, nv, off[9];
    uint16_t m[DW_SAME_MAX_VECS][9];
} dw_same;

static void dw_same_table(const k_conv_shape *s, dw_same *t)
{
    int64_t H = s->in[1], W = s->in[2], pt = s->pad[1], pl = s->pad[2];
    t->hw = H * W;
    t->nv = (t->hw + 15) / 16;
    for (int a = 0; a < 9; a++)
        t->off[a] = (a / 3 - pt) * W + (a % 3 - pl);
    for (int64_t v = 0; v < t->nv; v++)
        for (int a = 0; a < 9; a++) {
            uint16_t m = 0;
            for (int e = 0; e < 16; e++) {
                int64_t q = 16 * v + e, ih = q / W + a / 3 - pt, iw = q % W + a % 3 - pl;
                if (q < t->hw && ih >= 0 && ih < H && iw >= 0 && iw < W)
                    m |= (uint16_t)(1u << e);
            }
            t->m[v][a] = m;
        }
}

T512 static void dw3x3_same_avx512(const dw_same *t, const float *xc, const float *wm, float b, float *ym, int act,
                                   float act_alpha, float act_beta)
{
    const dw_w9 w = dw_w9_of(wm, b);
    const __m512 lo = _mm512_set1_ps(act_alpha), hi = _mm512_set1_ps(act_beta);
    const int64_t o0 = t->off[0], o1 = t->off[1], o2 = t->off[2], o3 = t->off[3], o4 = t->off[4];
    const int64_t o5 = t->off[5], o6 = t->off[6], o7 = t->off[7], o8 = t->off[8];
    const int64_t hw = t->hw, nv = t->nv;
    for (int64_t v = 0; v < nv; v++) {
        const uint16_t *m = t->m[v];
        const float *xv = xc + 16 * v;
        /* masked-off lanes, which may lie outside the tensor, are never read */
#define DW_TAP(a, o) _mm512_maskz_loadu_ps(m[a], xv + (o))
        __m512 r = dw_sum9(&w, DW_TAP(0, o0), DW_TAP(1, o1), DW_TAP(2, o2), DW_TAP(3, o3), DW_TAP(4, o4),
                           DW_TAP(5, o5), DW_TAP(6, o6), DW_TAP(7, o7), DW_TAP(8, o8));
#undef DW_TAP
        r = act_in_reg(r, act, lo, hi);
        if (16 * v + 16 <= hw)
            _mm512_storeu_ps(ym + 16 * v, r);
        else
            _mm512_mask_storeu_ps(ym + 16 * v, lanes16(0, hw - 16 * v), r);
    }
    if (act != ACT_NONE && act != ACT_RELU && act != ACT_CLIP)
        dw_act_row(ym, (size_t)hw, act, act_alpha, act_beta);
}

/* The AVX-512 3x3 path applies: 2-D, 3x3, dilation 1, the same stride 1 or 2 both ways. */
static int dw3x3_avx512_fits(const k_conv_shape *s)
{
    return s->k[0] == 1 && s->in[0] == 1 && s->out[0] == 1 && s->k[1] == 3 && s->k[2] == 3 && s->dil[1] == 1 &&
           s->dil[2] == 1 && s->stride[1] == s->stride[2] && (s->stride[1] == 1 || s->stride[1] == 2) &&
           s->out[2] <= 16 * DW_MAX_BLOCKS;
}

/* One output plane of the depthwise convolution: input plane xc, kernel wm, bias b.
 * Cloned per ISA (the row loops vectorize). */
K_CLONES static void dw_plane(const k_conv_shape *s, const float *xc, const float *wm, float b, float *ym, int act,
                              float act_alpha, float act_beta)
{
    int64_t iH = s->in[1], iW = s->in[2];
    int64_t oD = s->out[0], oH = s->out[1], oW = s->out[2];
    int64_t kD = s->k[0], kH = s->k[1], kW = s->k[2];
    int64_t iD = s->in[0], sw = s->stride[2];
    /* valid output ranges per kernel column, hoisted out of the row loops */
    int64_t lo_c[16], hi_c[16];
    for (int64_t kw = 0; kw < kW && kw < 16; kw++)
        valid_range(oW, sw, kw * s->dil[2] - s->pad[2], iW, &lo_c[kw], &hi_c[kw]);
    for (int64_t od = 0; od < oD; od++)
        for (int64_t oh = 0; oh < oH; oh++) {
            float *yr = ym + (od * oH + oh) * oW;
            for (int64_t ow = 0; ow < oW; ow++)
                yr[ow] = b;
            for (int64_t kd = 0; kd < kD; kd++) {
                int64_t id = od * s->stride[0] - s->pad[0] + kd * s->dil[0];
                if (id < 0 || id >= iD)
                    continue;
                for (int64_t kh = 0; kh < kH; kh++) {
                    int64_t ih = oh * s->stride[1] - s->pad[1] + kh * s->dil[1];
                    if (ih < 0 || ih >= iH)
                        continue;
                    const float *xr = xc + (id * iH + ih) * iW;
                    const float *wr = wm + (kd * kH + kh) * kW;
                    if (kW == 3) {
                        /* one pass for the three taps where all are inside, then the edges */
                        int64_t lo = lo_c[0], hi = hi_c[0];
                        for (int64_t kw = 1; kw < 3; kw++) {
                            lo = lo_c[kw] > lo ? lo_c[kw] : lo;
                            hi = hi_c[kw] < hi ? hi_c[kw] : hi;
                        }
                        if (hi < lo)
                            hi = lo;
                        const float *x0 = xr + (0 * s->dil[2] - s->pad[2]);
                        const float *x1 = xr + (1 * s->dil[2] - s->pad[2]);
                        const float *x2 = xr + (2 * s->dil[2] - s->pad[2]);
                        float w0 = wr[0], w1 = wr[1], w2 = wr[2];
                        if (sw == 1) {
                            for (int64_t ow = lo; ow < hi; ow++)
                                yr[ow] += w0 * x0[ow] + w1 * x1[ow] + w2 * x2[ow];
                        } else if (sw == 2) { /* a constant stride the vectorizer can permute */
                            for (int64_t ow = lo; ow < hi; ow++)
                                yr[ow] += w0 * x0[ow * 2] + w1 * x1[ow * 2] + w2 * x2[ow * 2];
                        } else {
                            for (int64_t ow = lo; ow < hi; ow++)
                                yr[ow] += w0 * x0[ow * sw] + w1 * x1[ow * sw] + w2 * x2[ow * sw];
                        }
                        for (int64_t kw = 0; kw < 3; kw++) {
                            const float *xs = xr + (kw * s->dil[2] - s->pad[2]);
                            for (int64_t ow = lo_c[kw]; ow < hi_c[kw] && ow < lo; ow++)
                                yr[ow] += wr[kw] * xs[ow * sw];
                            for (int64_t ow = hi > lo_c[kw] ? hi : lo_c[kw]; ow < hi_c[kw]; ow++)
                                yr[ow] += wr[kw] * xs[ow * sw];
                        }
                        continue;
                    }
                    for (int64_t kw = 0; kw < kW; kw++) {
                        float wv = wm[(kd * kH + kh) * kW + kw];
                        int64_t off = kw * s->dil[2] - s->pad[2], lo, hi;
                        if (kw < 16) {
                            lo = lo_c[kw];
                            hi = hi_c[kw];
                        } else {
                            valid_range(oW, sw, off, iW, &lo, &hi);
                        }
                        const float *xs = xr + off;
                        if (sw == 1) {
                            for (int64_t ow = lo; ow < hi; ow++)
                                yr[ow] += wv * xs[ow];
                        } else {
                            for (int64_t ow = lo; ow < hi; ow++)
                                yr[ow] += wv * xs[ow * sw];
                        }
                    }
                }
            }
            dw_act_row(yr, (size_t)oW, act, act_alpha, act_beta);
        }
}

void k_f32_conv_depthwise(const k_conv_shape *s, const float *x, const float *w, const float *bias, float *y,
                          int act, float act_alpha, float act_beta, int threads, float *work, size_t work_floats)
{
    k_f32_conv_depthwise_x(s, x, w, bias, y, act, act_alpha, act_beta, threads, work, work_floats, 1);
}

#ifdef CONV_AVX512
/* A channel-block kernel: channels c0 .. c0 + nc (at most 16) of image n, with a work
 * area of its own. */
typedef void (*dw_cblock_fn)(const k_conv_shape *s, const float *x, const float *w, const float *bias, float *y,
                             int64_t n, int64_t c0, int64_t nc, int act, float act_alpha, float act_beta,
                             float *work);

/* Every image's blocks of 16 channels through kern, on up to nt threads, each with its
 * own `per` floats of work (as many threads as blocks and work areas allow). */
static void dw_cblocks(dw_cblock_fn kern, const k_conv_shape *s, const float *x, const float *w,
                       const float *bias, float *y, int act, float act_alpha, float act_beta, int nt, float *work,
                       size_t work_floats, size_t per)
{
    int64_t nb = (s->C + 15) / 16, tasks = s->N * nb;
    if (nt > tasks)
        nt = (int)tasks;
    if ((size_t)nt * per > work_floats)
        nt = (int)(work_floats / per);
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t n = t / nb, c0 = t % nb * 16;
        kern(s, x, w, bias, y, n, c0, s->C - c0 < 16 ? s->C - c0 : 16, act, act_alpha, act_beta,
             work + (size_t)omp_get_thread_num() * per);
    }
}
#endif

void k_f32_conv_depthwise_x(const k_conv_shape *s, const float *x, const float *w, const float *bias, float *y,
                            int act, float act_alpha, float act_beta, int threads, float *work, size_t work_floats,
                            int simd)
{
    int64_t Mg = s->M / s->group;
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2];
    int64_t oD = s->out[0], oH = s->out[1], oW = s->out[2];
    int64_t kD = s->k[0], kH = s->k[1], kW = s->k[2];
    int64_t total = s->N * s->M;
    int nt = threads > 1 && total > 1 && (double)total * (double)(oD * oH * oW * kD * kH * kW) > 1e5 ? threads : 1;
    size_t per = dw3x3_fits(s) ? dw3x3_work(s) : 0;
    int fast = work && per && work_floats >= per;
#ifdef CONV_AVX512
    int f512 = simd && dw3x3_avx512_fits(s) && have_avx512();
    if (f512)
        fast = 0; /* needs no work space */
#else
    (void)simd;
#endif
#ifdef CONV_AVX512
    /* simd 2 and 3 force the flat path and the rows (tests); simd 1 takes the
     * same-size path first where it fits */
    int flat = f512 && per && work && work_floats >= per && simd != 3 &&
               (simd == 2 || s->stride[1] == 2 || oW <= DW_FLAT_MAX_W);
#else
    int flat = 0;
#endif
    if ((fast || flat) && (size_t)nt * per > work_floats)
        nt = (int)(work_floats / per); /* one plane buffer per thread */
#ifdef CONV_AVX512
    if (f512 && per && work && work_floats >= per && dw3x3_cblock_fits(s) && (simd == 1 || simd == 4)) {
        dw_cblocks(dw3x3_cblock_avx512, s, x, w, bias, y, act, act_alpha, act_beta, nt, work, work_floats, per);
        return;
    }
    size_t kper = dwk_cblock_fits(s) ? dwk_cblock_work(s) : 0;
    if (simd && kper && work && work_floats >= kper && have_avx512()) {
        dw_cblocks(dwk_cblock_avx512, s, x, w, bias, y, act, act_alpha, act_beta, nt, work, work_floats, kper);
        return;
    }
    if (f512 && simd == 1 && dw3x3_same_fits(s)) {
        dw_same t;
        dw_same_table(s, &t);
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t nm = 0; nm < total; nm++) {
            int64_t n = nm / s->M, m = nm % s->M, c = m / Mg;
            dw3x3_same_avx512(&t, x + (n * s->C + c) * iH * iW, w + m * 9, bias ? bias[m] : 0.0f, y + nm * oH * oW,
                              act, act_alpha, act_beta);
        }
        return;
    }
    if (flat) {
        int64_t G = dw3x3_flat_group(s), ng = (total + G - 1) / G;
        size_t plane = dw3x3_flat_plane(s);
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t gi = 0; gi < ng; gi++)
            dw3x3_planes_flat_avx512(s, x, w, bias, y, gi * G, total - gi * G < G ? total - gi * G : G, act,
                                     act_alpha, act_beta, work + (size_t)omp_get_thread_num() * per, plane);
        return;
    }
#endif
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t nm = 0; nm < total; nm++) {
        int64_t n = nm / s->M, m = nm % s->M, c = m / Mg;
#ifdef CONV_AVX512
        if (f512) {
            dw3x3_plane_avx512(s, x + (n * s->C + c) * iH * iW, w + m * 9, bias ? bias[m] : 0.0f, y + nm * oH * oW,
                               act, act_alpha, act_beta);
            continue;
        }
#endif
        if (fast) {
            dw3x3_plane(s, x + (n * s->C + c) * iH * iW, w + m * 9, bias ? bias[m] : 0.0f, y + nm * oH * oW, act,
                        act_alpha, act_beta, work + (size_t)omp_get_thread_num() * per);
            continue;
        }
        dw_plane(s, x + (n * s->C + c) * iD * iH * iW, w + m * kD * kH * kW, bias ? bias[m] : 0.0f,
                 y + nm * oD * oH * oW, act, act_alpha, act_beta);
    }
}

/* ---- direct convolution for few input channels (see conv.h) ---- */

int k_conv_direct_fits(const k_conv_shape *s)
{
#ifdef CONV_AVX512
    if (!have_avx512() || s->group != 1 || s->in[0] != 1 || s->k[0] != 1 || s->out[0] != 1)
        return 0;
    if (s->stride[1] != s->stride[2] || s->stride[1] < 1 || s->stride[1] > 2 || s->dil[1] != 1 || s->dil[2] != 1)
        return 0;
    if (s->pad[1] < 0 || s->pad[2] < 0 || s->pad[1] >= s->k[1] || s->pad[2] >= s->k[2])
        return 0;
    return s->C >= 1 && s->C <= K_DIRECT_MAX_C && s->C * s->k[1] * s->k[2] <= K_DIRECT_MAX_TAPS && s->out[1] >= 1 &&
           s->out[2] >= 1 && s->M >= 1;
#else
    (void)s;
    return 0;
#endif
}

size_t k_conv_direct_packed_floats(const k_conv_shape *s)
{
    return (size_t)((s->M + 15) / 16) * (size_t)(s->C * s->k[1] * s->k[2]) * 16;
}

/* dst[mb][t][j] = W[16 mb + j][t] over the taps t = (c, kh, kw); zero past M. */
void k_f32_conv_direct_pack_w(const k_conv_shape *s, const float *w, float *dst)
{
    int64_t taps = s->C * s->k[1] * s->k[2], nmb = (s->M + 15) / 16;
    for (int64_t mb = 0; mb < nmb; mb++)
        for (int64_t t = 0; t < taps; t++)
            for (int64_t j = 0; j < 16; j++) {
                int64_t m = 16 * mb + j;
                dst[(mb * taps + t) * 16 + j] = m < s->M ? w[m * taps + t] : 0.0f;
            }
}

/* ---- phase planes (the direct kernel and the implicit GEMM, see conv.h) ---- */

k_conv_phases k_conv_phase_geometry(const k_conv_shape *s)
{
    int64_t sd = s->stride[1];
    int64_t PH = (s->out[1] - 1) * sd + s->k[1], PW = (s->out[2] - 1) * sd + s->k[2];
    k_conv_phases g = {(PH + sd - 1) / sd, (PW + sd - 1) / sd, 0};
    g.plane = g.ph * g.pw + K_PHASE_SLACK;
    return g;
}

size_t k_conv_phase_floats(const k_conv_shape *s, int64_t C)
{
    k_conv_phases g = k_conv_phase_geometry(s);
    return (size_t)(C * s->stride[1] * s->stride[1] * g.plane);
}

size_t k_conv_direct_work_floats(const k_conv_shape *s)
{
    return k_conv_phase_floats(s, s->C);
}

size_t k_conv_phase_tap(const k_conv_shape *s, int64_t kh, int64_t kw)
{
    k_conv_phases g = k_conv_phase_geometry(s);
    int64_t sd = s->stride[1];
    return (size_t)(((kh % sd) * sd + kw % sd) * g.plane + (kh / sd) * g.pw + kw / sd);
}

int k_conv_phase_fits(const k_conv_shape *s)
{
#ifdef CONV_AVX512
    return have_avx512() && s->in[0] == 1 && s->k[0] == 1 && s->out[0] == 1 && s->stride[1] == s->stride[2] &&
           s->stride[1] >= 1 && s->stride[1] <= 2 && s->dil[1] == 1 && s->dil[2] == 1 && s->pad[1] >= 0 &&
           s->pad[2] >= 0 && s->pad[1] < s->k[1] && s->pad[2] < s->k[2] && s->out[1] >= 1 && s->out[2] >= 1;
#else
    (void)s;
    return 0;
#endif
}

#ifdef CONV_AVX512
/* Padded row r of channel c (input row r - pad top) into its plane, stride 1. */
T512 static void phase_fill_row_s1(const k_conv_shape *s, const k_conv_phases *g, const float *xc, int64_t c,
                                   int64_t r, float *work)
{
    int64_t iH = s->in[1], iW = s->in[2], pl = s->pad[2], ih = r - s->pad[1];
    float *d = work + c * g->plane + r * g->pw;
    const float *src = xc + ih * iW - pl;
    int inside = ih >= 0 && ih < iH;
    for (int64_t q = 0; q < g->pw; q += 16) {
        __m512 v = inside ? _mm512_maskz_loadu_ps(lanes16(pl - q, pl + iW - q), src + q) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(d + q, lanes16(0, g->pw - q), v);
    }
}

#define D8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

T512 static inline __m512 direct_act(__m512 r, int act, float lo, float hi)
{
    if (act == ACT_RELU)
        return _mm512_max_ps(r, _mm512_setzero_ps());
    if (act == ACT_CLIP)
        return _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
    return r;
}

/* Two or three (v3) 16-column vectors of an output row (masks k0..k2 say which columns
 * exist) for eight channels: up to 24 accumulators; each tap two or three input loads
 * and eight broadcast weights for 16 or 24 FMAs. (Sixteen channels of one vector took
 * 17 loads for 16 FMAs, and the stem ran at about 70% of the FMA peak.) xb: the
 * phase-plane row at the first column; wt: the eight channels' weights, 16 floats a
 * tap; yo: channel 0's output at the first column. Inlined into the two entries below
 * with v3 a constant, so each keeps only its own accumulators. */
__attribute__((always_inline)) T512 static inline void direct_8xv(int v3, const float *xb, const int64_t *off,
                                                                  int64_t taps, const float *wt, const float *b,
                                                                  __mmask16 k0, __mmask16 k1, __mmask16 k2,
                                                                  float *yo, int64_t oHW, int64_t nm, int act,
                                                                  float lo, float hi)
{
#define D_INIT(j) __m512 a##j##_0 = _mm512_set1_ps(b[j]), a##j##_1 = a##j##_0, a##j##_2 = a##j##_0;
    D8(D_INIT)
#undef D_INIT
    for (int64_t t = 0; t < taps; t++) {
        const float *xt = xb + off[t], *w = wt + t * 16;
        __m512 x0 = _mm512_maskz_loadu_ps(k0, xt), x1 = _mm512_maskz_loadu_ps(k1, xt + 16),
               x2 = v3 ? _mm512_maskz_loadu_ps(k2, xt + 32) : _mm512_setzero_ps();
#define D_FMA(j)                                                                                                   \
    {                                                                                                              \
        __m512 wv = _mm512_set1_ps(w[j]);                                                                          \
        a##j##_0 = _mm512_fmadd_ps(x0, wv, a##j##_0);                                                              \
        a##j##_1 = _mm512_fmadd_ps(x1, wv, a##j##_1);                                                              \
        if (v3)                                                                                                    \
            a##j##_2 = _mm512_fmadd_ps(x2, wv, a##j##_2);                                                          \
    }
        D8(D_FMA)
#undef D_FMA
    }
#define D_STORE(j)                                                                                                 \
    if (j < nm) {                                                                                                  \
        _mm512_mask_storeu_ps(yo + (j) * oHW, k0, direct_act(a##j##_0, act, lo, hi));                              \
        _mm512_mask_storeu_ps(yo + (j) * oHW + 16, k1, direct_act(a##j##_1, act, lo, hi));                         \
        if (v3)                                                                                                    \
            _mm512_mask_storeu_ps(yo + (j) * oHW + 32, k2, direct_act(a##j##_2, act, lo, hi));                     \
    }
    D8(D_STORE)
#undef D_STORE
}

/* Not inlined into direct_row: there GCC ran out of registers and spilled in the loop. */
__attribute__((noinline)) T512 static void direct_8x3(const float *xb, const int64_t *off, int64_t taps,
                                                      const float *wt, const float *b, __mmask16 k0, __mmask16 k1,
                                                      __mmask16 k2, float *yo, int64_t oHW, int64_t nm, int act,
                                                      float lo, float hi)
{
    direct_8xv(1, xb, off, taps, wt, b, k0, k1, k2, yo, oHW, nm, act, lo, hi);
}

/* Two vectors, so that rows of 3k + 1 or 3k + 2 vectors (ResNet-50's and MobileNetV2's
 * 112 columns: 3 + 2 + 2) compute no empty vector. */
__attribute__((noinline)) T512 static void direct_8x2(const float *xb, const int64_t *off, int64_t taps,
                                                      const float *wt, const float *b, __mmask16 k0, __mmask16 k1,
                                                      float *yo, int64_t oHW, int64_t nm, int act, float lo, float hi)
{
    direct_8xv(0, xb, off, taps, wt, b, k0, k1, 0, yo, oHW, nm, act, lo, hi);
}
#undef D8

/* Output row oh, channels m0 .. m0 + 7: the eight channels starting `half` * 8 into the
 * 16-channel block wb of the packed weights. The row's 16-column vectors go three at a
 * time, the last four or two two at a time. */
T512 static void direct_row(const k_conv_shape *s, const k_conv_phases *g, const float *work, const int64_t *off,
                            int64_t taps, const float *wb, const float *bias, int64_t m0, int64_t oh, float *y,
                            int act, float act_alpha, float act_beta)
{
    int64_t oW = s->out[2], oHW = s->out[1] * oW, nm = s->M - m0 < 8 ? s->M - m0 : 8;
    int64_t nv = (oW + 15) / 16, n3 = nv % 3 == 0 ? nv / 3 : nv % 3 == 2 ? nv / 3 : nv >= 4 ? (nv - 4) / 3 : 0;
    const float lo = act_alpha, hi = act_beta;
    const float *base = work + oh * g->pw;
    float *yrow = y + m0 * oHW + oh * oW;
    float b[8];
    for (int j = 0; j < 8; j++)
        b[j] = bias && j < nm ? bias[m0 + j] : 0.0f;
    int64_t ow = 0;
    for (int64_t i = 0; i < n3; i++, ow += 48)
        direct_8x3(base + ow, off, taps, wb, b, lanes16(0, oW - ow), lanes16(0, oW - ow - 16), lanes16(0, oW - ow - 32),
                   yrow + ow, oHW, nm, act, lo, hi);
    for (; ow < oW; ow += 32)
        direct_8x2(base + ow, off, taps, wb, b, lanes16(0, oW - ow), lanes16(0, oW - ow - 16), yrow + ow, oHW, nm, act,
                   lo, hi);
}
#endif

#ifdef CONV_AVX512
#define PHASE_MAX_BLOCKS 64 /* 16-column blocks of a phase row whose masks are kept */

/* Padded rows r0 .. r1 - 1 of channel xc (stride 2) into its four phase planes at d, 32
 * input columns a step: the masks of each step worked out once per call for the first
 * PHASE_MAX_BLOCKS, not per row (per row, the split took 12% of ResNet-50's 128 x 56^2
 * stride-2 layer, and as much as the arithmetic of MobileNetV2's stem). Nothing is
 * written past a row's end: the next row may be another thread's. */
T512 static void phase_fill_s2(const k_conv_shape *s, const k_conv_phases *g, const float *xc, float *d, int64_t r0,
                               int64_t r1)
{
    int64_t iH = s->in[1], iW = s->in[2], pt = s->pad[1], pl = s->pad[2], pw = g->pw, nb = (pw + 15) / 16;
    __mmask16 ml[PHASE_MAX_BLOCKS][2], mlast = lanes16(0, pw - 16 * (nb - 1));
    for (int64_t b = 0; b < nb && b < PHASE_MAX_BLOCKS; b++) {
        int64_t q = 32 * b;
        ml[b][0] = lanes16(pl - q, pl + iW - q);
        ml[b][1] = lanes16(pl - q - 16, pl + iW - q - 16);
    }
    const __m512 zero = _mm512_setzero_ps();
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t ih = r - pt;
        float *d0 = d + (r & 1) * 2 * g->plane + (r >> 1) * pw, *d1 = d0 + g->plane;
        const float *src = xc + ih * iW - pl;
        int inside = ih >= 0 && ih < iH;
        for (int64_t b = 0; b < nb; b++) {
            __m512 v0 = zero, v1 = zero;
            if (inside) {
                int64_t q = 32 * b;
                __mmask16 m0 = b < PHASE_MAX_BLOCKS ? ml[b][0] : lanes16(pl - q, pl + iW - q);
                __mmask16 m1 = b < PHASE_MAX_BLOCKS ? ml[b][1] : lanes16(pl - q - 16, pl + iW - q - 16);
                __m512 lo = _mm512_maskz_loadu_ps(m0, src + q);
                __m512 hi = _mm512_maskz_loadu_ps(m1, src + q + 16);
                v0 = _mm512_permutex2var_ps(lo, even, hi);
                v1 = _mm512_permutex2var_ps(lo, odd, hi);
            }
            __mmask16 m = b + 1 < nb ? 0xFFFF : mlast;
            _mm512_mask_storeu_ps(d0 + 16 * b, m, v0);
            _mm512_mask_storeu_ps(d1 + 16 * b, m, v1);
        }
    }
}

#define PHASE_BAND 16 /* padded rows of one channel a task of phase_fill_team */

/* Padded rows r0 .. r1 - 1 of channel c (its input plane xc) into its phase planes. */
T512 static void phase_fill_rows(const k_conv_shape *s, const k_conv_phases *g, const float *xc, int64_t c,
                                 int64_t r0, int64_t r1, float *work)
{
    if (s->stride[1] == 2) {
        phase_fill_s2(s, g, xc, work + c * 4 * g->plane, r0, r1);
        return;
    }
    for (int64_t r = r0; r < r1; r++)
        phase_fill_row_s1(s, g, xc, c, r, work);
}

/* The slack after each plane: read only for outputs that are dropped. */
static void phase_slack(const k_conv_phases *g, float *work, int64_t p0, int64_t p1)
{
    for (int64_t p = p0; p < p1; p++)
        memset(work + p * g->plane + g->ph * g->pw, 0, K_PHASE_SLACK * sizeof(float));
}

/* Inside a parallel region, the team's share of the phase planes of channels 0 .. C - 1
 * of image x: tasks of a channel's band of rows, then the zeros of the slack. */
T512 static void phase_fill_team(const k_conv_shape *s, const k_conv_phases *g, const float *x, int64_t C,
                                 float *work)
{
    int64_t sd = s->stride[1], rows = g->ph * sd, plane_in = s->in[1] * s->in[2];
    int64_t nb = (rows + PHASE_BAND - 1) / PHASE_BAND;
#pragma omp for schedule(static)
    for (int64_t t = 0; t < C * nb; t++) {
        int64_t c = t / nb, r0 = t % nb * PHASE_BAND, r1 = r0 + PHASE_BAND < rows ? r0 + PHASE_BAND : rows;
        phase_fill_rows(s, g, x + c * plane_in, c, r0, r1, work);
    }
#pragma omp for schedule(static)
    for (int64_t p = 0; p < C * sd * sd; p++)
        phase_slack(g, work, p, p + 1);
}
#endif

void k_f32_conv_phase_split(const k_conv_shape *s, const float *x, int64_t C, float *work, int threads)
{
#ifdef CONV_AVX512
    k_conv_phases g = k_conv_phase_geometry(s);
    int64_t sd = s->stride[1], rows = g.ph * sd, plane_in = s->in[1] * s->in[2];
    int nt = threads > 1 && (double)C * (double)rows * (double)g.pw > 1e5 ? threads : 1;
    if (nt == 1) { /* no region: callers run this inside their own */
        for (int64_t c = 0; c < C; c++)
            phase_fill_rows(s, &g, x + c * plane_in, c, 0, rows, work);
        phase_slack(&g, work, 0, C * sd * sd);
        return;
    }
#pragma omp parallel num_threads(nt)
    phase_fill_team(s, &g, x, C, work);
#else
    (void)s, (void)x, (void)C, (void)work, (void)threads;
#endif
}

void k_f32_conv_direct(const k_conv_shape *s, const float *x, const float *wp, const float *bias, float *y, int act,
                       float act_alpha, float act_beta, int threads, float *work)
{
#ifdef CONV_AVX512
    k_conv_phases g = k_conv_phase_geometry(s);
    int64_t sd = s->stride[1], kh = s->k[1], kw = s->k[2], C = s->C, taps = C * kh * kw;
    int64_t nhb = (s->M + 7) / 8, oH = s->out[1];
    int64_t off[K_DIRECT_MAX_TAPS];
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < kh; i++)
            for (int64_t j = 0; j < kw; j++)
                off[(c * kh + i) * kw + j] = ((c * sd + i % sd) * sd + j % sd) * g.plane + (i / sd) * g.pw + j / sd;
    int in_reg = act == ACT_NONE || act == ACT_RELU || act == ACT_CLIP;
    double macs = (double)s->M * (double)taps * (double)(oH * s->out[2]);
    int nt = threads > 1 && macs > 2e5 ? threads : 1;
    for (int64_t n = 0; n < s->N; n++) {
        const float *xn = x + n * C * s->in[1] * s->in[2];
        float *yn = y + n * s->M * oH * s->out[2];
#pragma omp parallel num_threads(nt)
        {
            phase_fill_team(s, &g, xn, C, work);
#pragma omp for schedule(static)
            for (int64_t task = 0; task < oH * nhb; task++) { /* rows x 8-channel halves of the 16-channel blocks */
                int64_t oh = task / nhb, hb = task % nhb;
                direct_row(s, &g, work, off, taps, wp + hb / 2 * taps * 16 + hb % 2 * 8, bias, 8 * hb, oh, yn, act,
                           act_alpha, act_beta);
            }
        }
        if (!in_reg)
            k_act_apply(yn, (size_t)(s->M * oH * s->out[2]), act, act_alpha, act_beta);
    }
#else
    (void)s, (void)x, (void)wp, (void)bias, (void)y, (void)act, (void)act_alpha, (void)act_beta, (void)threads,
        (void)work;
#endif
}

/* x (N,C,D,H,W), w (C,M/g,kD,kH,kW) -> y (N,M,oD,oH,oW) */
void k_f32_convtranspose_ref(const k_conv_shape *s, const float *x, const float *w, const float *bias,
                             float *y, int act, float act_alpha, float act_beta)
{
    int64_t Cg = s->C / s->group, Mg = s->M / s->group;
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2];
    int64_t oD = s->out[0], oH = s->out[1], oW = s->out[2];
    int64_t kD = s->k[0], kH = s->k[1], kW = s->k[2];
    size_t osz = (size_t)(oD * oH * oW);
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t m = 0; m < s->M; m++)
            for (size_t i = 0; i < osz; i++)
                y[(size_t)(n * s->M + m) * osz + i] = bias ? bias[m] : 0.0f;
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t c = 0; c < s->C; c++) {
            int64_t g = c / Cg;
            for (int64_t id = 0; id < iD; id++)
                for (int64_t ih = 0; ih < iH; ih++)
                    for (int64_t iw = 0; iw < iW; iw++) {
                        float xv = x[(((n * s->C + c) * iD + id) * iH + ih) * iW + iw];
                        for (int64_t mm = 0; mm < Mg; mm++)
                            for (int64_t kd = 0; kd < kD; kd++) {
                                int64_t od = id * s->stride[0] - s->pad[0] + kd * s->dil[0];
                                if (od < 0 || od >= oD)
                                    continue;
                                for (int64_t kh = 0; kh < kH; kh++) {
                                    int64_t oh = ih * s->stride[1] - s->pad[1] + kh * s->dil[1];
                                    if (oh < 0 || oh >= oH)
                                        continue;
                                    for (int64_t kw = 0; kw < kW; kw++) {
                                        int64_t ow = iw * s->stride[2] - s->pad[2] + kw * s->dil[2];
                                        if (ow < 0 || ow >= oW)
                                            continue;
                                        float wv = w[(((c * Mg + mm) * kD + kd) * kH + kh) * kW + kw];
                                        y[(((n * s->M + g * Mg + mm) * oD + od) * oH + oh) * oW + ow] += xv * wv;
                                    }
                                }
                            }
                    }
        }
    k_act_apply(y, (size_t)s->N * (size_t)s->M * osz, act, act_alpha, act_beta);
}

/* col (Mg*kD*kH*kW, iD*iH*iW) -> y (Mg, oD, oH, oW) += */
void k_f32_col2im_add(const k_conv_shape *s, const float *col, int64_t Mg, float *y, int threads)
{
    int64_t iD = s->in[0], iH = s->in[1], iW = s->in[2];
    int64_t oD = s->out[0], oH = s->out[1], oW = s->out[2];
    int64_t kD = s->k[0], kH = s->k[1], kW = s->k[2];
    int64_t kk = kD * kH * kW, ncol = iD * iH * iW;
    int nt = threads > 1 && Mg > 1 && (double)Mg * (double)kk * (double)ncol > 1e5 ? threads : 1;
    /* output channels are independent: parallel over m, taps of one m in order */
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int64_t m = 0; m < Mg; m++)
        for (int64_t r = m * kk; r < (m + 1) * kk; r++) {
            int64_t kw = r % kW, kh = (r / kW) % kH, kd = (r / (kW * kH)) % kD;
            const float *cr = col + r * ncol;
            float *ym = y + m * oD * oH * oW;
            int64_t offw = kw * s->dil[2] - s->pad[2];
            for (int64_t id = 0; id < iD; id++) {
                int64_t od = id * s->stride[0] - s->pad[0] + kd * s->dil[0];
                if (od < 0 || od >= oD)
                    continue;
                for (int64_t ih = 0; ih < iH; ih++) {
                    int64_t oh = ih * s->stride[1] - s->pad[1] + kh * s->dil[1];
                    if (oh < 0 || oh >= oH)
                        continue;
                    const float *cc = cr + (id * iH + ih) * iW;
                    float *yr = ym + (od * oH + oh) * oW;
                    for (int64_t iw = 0; iw < iW; iw++) {
                        int64_t ow = iw * s->stride[2] + offw;
                        if (ow >= 0 && ow < oW)
                            yr[ow] += cc[iw];
                    }
                }
            }
        }
}
