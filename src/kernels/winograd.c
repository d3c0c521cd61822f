/*
 * Winograd F(4x4,3x3) and F(2x2,3x3) convolution (see winograd.h): weight transform,
 * the block driver (input transform into packed-B GEMM operands, alpha^2 packed
 * SGEMMs, output transform with bias / residual / activation), and plain per-tile
 * transforms for the tests. Matrices as in Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks" (2015), which compute ONNX's cross-correlation.
 *
 * The transforms work on LANES tiles side by side (one row of tiles, a "run"), so
 * every loop is over a fixed number of independent lanes and the compiler vectorizes
 * it (K_CLONES: AVX-512, AVX2, baseline). A run never crosses a row of tiles or a
 * LANES boundary of the block, so its lanes are contiguous in a packed-B panel (NR is
 * a multiple of LANES) and in each GEMM output row. On CPUs with AVX-512F the
 * transforms are hand-written instead (wino_input_avx512 / wino_output_avx512): they
 * transform each LANES-aligned group of block lanes once, whatever number of runs
 * share it (rows of 14 tiles make runs of 14, 2, 12, 4, ...), with the same operations
 * in the same order, so the two paths give the same bits.
 */
#include "kernels/winograd.h"

#include <omp.h>
#include <string.h>

#include "kernels/act.h"
#include "kernels/clones.h"

#if defined(__GNUC__) && defined(__x86_64__)
#define WINO_AVX512 1
#include <immintrin.h>
#else
#define WINO_AVX512 0
#endif

#define LANES 16
#define PS (4 * LANES + 8) /* row stride of a run's input patch: m*LANES + 2 columns used */
#define MAX_TB 256 /* tiles per block at most (a multiple of every NR) */
#define L2_BLOCK_BYTES (768u * 1024u) /* V and the GEMM outputs of one block */

/* Lavin's matrices. */
static const double BT4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                 {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const double G4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};
static const double AT4[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
static const double BT2[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const double G2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double AT2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

static double bt(int m, int i, int j)
{
    return m == 4 ? BT4[i][j] : BT2[i][j];
}
static double gm(int m, int i, int j)
{
    return m == 4 ? G4[i][j] : G2[i][j];
}
static double at(int m, int i, int j)
{
    return m == 4 ? AT4[i][j] : AT2[i][j];
}

/* Measured with one Conv 3x3 + ReLU at ResNet-50's shapes (norma bench -t 1): F(4x4)
 * takes 0.45x the time of im2col + GEMM at 64ch 56x56 and 128ch 28x28; at 256ch 14x14
 * F(2x2) 0.6x and F(4x4) 0.65x (its 4 tiles per row fill GEMM panels poorly); at
 * 512ch 7x7 F(2x2) is no faster and F(4x4) 2.8x slower, and both keep 1.8x / 4x the
 * weights. When the output size is not known yet (a Conv's input shape is planned
 * after init), the channel counts stand in for it as in ResNet/VGG-style networks,
 * whose channels double as the resolution halves: up to 128 -> F(4x4), 256 -> F(2x2). */
int k_wino_pick(int64_t C, int64_t M, int64_t oH, int64_t oW)
{
    if (C < 32 || M < 32)
        return 0; /* thin GEMMs: the transforms cost more than they save */
    if (oH < 0 || oW < 0) {
        int64_t ch = C > M ? C : M;
        return ch <= 128 ? 4 : ch <= 256 ? 2 : 0;
    }
    int64_t o = oH < oW ? oH : oW;
    return o >= 24 ? 4 : o >= 10 ? 2 : 0;
}

size_t k_wino_u_floats(const k_gemm_isa *isa, int m, size_t M, size_t C)
{
    size_t a = (size_t)m + 2;
    return a * a * k_gemm_packed_a_floats(isa, M, C);
}

void k_f32_wino_tile_ref(int m, const float *d, float *v, const float *g, float *u, const float *mt, float *o)
{
    int a = m + 2;
    double t[6][6];
    if (d && v) {
        for (int i = 0; i < a; i++) /* t = d B */
            for (int k = 0; k < a; k++) {
                double acc = 0;
                for (int j = 0; j < a; j++)
                    acc += (double)d[i * a + j] * bt(m, k, j);
                t[i][k] = acc;
            }
        for (int l = 0; l < a; l++)
            for (int k = 0; k < a; k++) {
                double acc = 0;
                for (int i = 0; i < a; i++)
                    acc += bt(m, l, i) * t[i][k];
                v[l * a + k] = (float)acc;
            }
    }
    if (g && u) {
        for (int i = 0; i < a; i++) /* t = G g */
            for (int k = 0; k < 3; k++) {
                double acc = 0;
                for (int j = 0; j < 3; j++)
                    acc += gm(m, i, j) * (double)g[j * 3 + k];
                t[i][k] = acc;
            }
        for (int i = 0; i < a; i++)
            for (int k = 0; k < a; k++) {
                double acc = 0;
                for (int j = 0; j < 3; j++)
                    acc += t[i][j] * gm(m, k, j);
                u[i * a + k] = (float)acc;
            }
    }
    if (mt && o) {
        for (int i = 0; i < a; i++) /* t = mt A */
            for (int j = 0; j < m; j++) {
                double acc = 0;
                for (int k = 0; k < a; k++)
                    acc += (double)mt[i * a + k] * at(m, j, k);
                t[i][j] = acc;
            }
        for (int l = 0; l < m; l++)
            for (int j = 0; j < m; j++) {
                double acc = 0;
                for (int i = 0; i < a; i++)
                    acc += at(m, l, i) * t[i][j];
                o[l * m + j] = (float)acc;
            }
    }
}

/* U = G g G^T of every kernel, as alpha^2 packed A operands. A row panel at a time and
 * a channel at a time, the panel's rows side by side: each of the alpha^2 points gets
 * MR consecutive floats, so all of them are written in order (one kernel at a time,
 * each point a float far from the last, made ResNet-50's load 30 ms longer). The same
 * double-precision sums in the same order as k_f32_wino_tile_ref, so the same bits. */
void k_f32_wino_weights(const k_gemm_isa *isa, int m, size_t M, size_t C, const float *w, float *u)
{
    const double(*G)[3] = m == 4 ? G4 : G2;
    size_t a = (size_t)m + 2, ua = k_gemm_packed_a_floats(isa, M, C), mr = (size_t)isa->mr;
    double t[K_GEMM_MAX_MR][6][3];
    for (size_t i0 = 0; i0 < M; i0 += mr) {
        size_t rows = M - i0 < mr ? M - i0 : mr;
        for (size_t c = 0; c < C; c++) {
            for (size_t r = 0; r < rows; r++) { /* t = G g */
                const float *g = w + ((i0 + r) * C + c) * 9;
                for (size_t i = 0; i < a; i++)
                    for (size_t k = 0; k < 3; k++) {
                        double acc = 0;
                        for (size_t j = 0; j < 3; j++)
                            acc += G[i][j] * (double)g[j * 3 + k];
                        t[r][i][k] = acc;
                    }
            }
            float *dst = u + i0 * C + c * mr; /* panel i0 / mr, group c */
            for (size_t i = 0; i < a; i++)
                for (size_t k = 0; k < a; k++) {
                    float *d = dst + (i * a + k) * ua;
                    for (size_t r = 0; r < rows; r++) {
                        double acc = 0;
                        for (size_t j = 0; j < 3; j++)
                            acc += t[r][i][j] * G[k][j];
                        d[r] = (float)acc;
                    }
                    for (size_t r = rows; r < mr; r++)
                        d[r] = 0; /* rows past M in the last panel */
                }
        }
    }
}

/* ---- geometry of a convolution's tiles and blocks ---- */

typedef struct wgeom {
    int m, a;            /* tile size, alpha */
    size_t C, M, TH, TW; /* tiles down and across one image */
    size_t T, TB;        /* tiles over all images, tiles per block */
    size_t vb, mb;       /* point strides of V and of the GEMM outputs in a block (floats) */
    size_t slot;         /* floats of one block's work */
} wgeom;

static void wgeom_init(wgeom *g, const k_gemm_isa *isa, int m, const k_conv_shape *s)
{
    size_t nr = (size_t)isa->nr;
    g->m = m;
    g->a = m + 2;
    g->C = (size_t)s->C;
    g->M = (size_t)s->M;
    g->TH = ((size_t)s->out[1] + (size_t)m - 1) / (size_t)m;
    g->TW = ((size_t)s->out[2] + (size_t)m - 1) / (size_t)m;
    g->T = (size_t)s->N * g->TH * g->TW;
    size_t per_tile = (size_t)(g->a * g->a) * (g->C + g->M) * sizeof(float);
    size_t tb = L2_BLOCK_BYTES / per_tile / nr * nr;
    if (tb > MAX_TB)
        tb = MAX_TB;
    if (tb < nr)
        tb = nr;
    size_t tall = (g->T + nr - 1) / nr * nr;
    g->TB = tb < tall ? tb : tall;
    /* One point's V is k_gemm_packed_b_floats(C, TB) = TB*C (TB is a multiple of NR),
     * its GEMM output TB*M. A cache line of padding after each: the transforms touch
     * one vector of every point in turn, and with strides of a multiple of 4 KB
     * (TB = 32, C = 64: 8 KB) all 36 would fall into one L1 set and evict each other
     * (measured: the stores of V were the input transform's hot spot). */
    g->vb = g->TB * g->C + 16;
    g->mb = g->TB * g->M + 16;
    g->slot = (size_t)(g->a * g->a) * (g->vb + g->mb);
}

size_t k_wino_work_floats(const k_gemm_isa *isa, int m, const k_conv_shape *s, int threads)
{
    wgeom g;
    wgeom_init(&g, isa, m, s);
    size_t k = threads > 1 ? (size_t)threads : 1;
    return g.slot * (k < g.T ? k : g.T);
}

/* ---- one run of up to LANES tiles ---- */

/* The input patch of a run: alpha rows of m*LANES+2 columns of channel plane xc,
 * starting at input (iy0, ix0), zero outside the image. */
K_INLINE void load_patch(const float *xc, int64_t H, int64_t W, int64_t iy0, int64_t ix0, int a, int width,
                         float *P)
{
    int64_t lo = ix0 < 0 ? -ix0 : 0, hi = W - ix0 < width ? W - ix0 : width;
    for (int i = 0; i < a; i++) {
        float *p = P + i * PS;
        int64_t iy = iy0 + i;
        if (iy < 0 || iy >= H) {
            for (int j = 0; j < width; j++)
                p[j] = 0.0f;
            continue;
        }
        /* one select per column (masked loads), not a memcpy call per row */
        const float *xr = xc + iy * W;
        for (int j = 0; j < width; j++)
            p[j] = j >= lo && j < hi ? xr[ix0 + j] : 0.0f;
    }
}

/* v[p][q] = (B^T d_q B)[p] for the LANES tiles q of patch P, F(4x4). */
K_INLINE void in_f4(const float *P, float *v, size_t vs)
{
    float t[6][6][LANES];
    for (int i = 0; i < 6; i++) {
        const float *p = P + i * PS;
        for (int q = 0; q < LANES; q++) {
            float d0 = p[4 * q], d1 = p[4 * q + 1], d2 = p[4 * q + 2], d3 = p[4 * q + 3], d4 = p[4 * q + 4],
                  d5 = p[4 * q + 5];
            t[i][0][q] = 4 * d0 - 5 * d2 + d4;
            t[i][1][q] = d3 + d4 - 4 * (d1 + d2);
            t[i][2][q] = 4 * (d1 - d2) + (d4 - d3);
            t[i][3][q] = 2 * (d3 - d1) + (d4 - d2);
            t[i][4][q] = 2 * (d1 - d3) + (d4 - d2);
            t[i][5][q] = 4 * d1 - 5 * d3 + d5;
        }
    }
    for (int k = 0; k < 6; k++)
        for (int q = 0; q < LANES; q++) {
            float d0 = t[0][k][q], d1 = t[1][k][q], d2 = t[2][k][q], d3 = t[3][k][q], d4 = t[4][k][q],
                  d5 = t[5][k][q];
            v[(0 * 6 + k) * vs + q] = 4 * d0 - 5 * d2 + d4;
            v[(1 * 6 + k) * vs + q] = d3 + d4 - 4 * (d1 + d2);
            v[(2 * 6 + k) * vs + q] = 4 * (d1 - d2) + (d4 - d3);
            v[(3 * 6 + k) * vs + q] = 2 * (d3 - d1) + (d4 - d2);
            v[(4 * 6 + k) * vs + q] = 2 * (d1 - d3) + (d4 - d2);
            v[(5 * 6 + k) * vs + q] = 4 * d1 - 5 * d3 + d5;
        }
}

K_INLINE void in_f2(const float *P, float *v, size_t vs)
{
    float t[4][4][LANES];
    for (int i = 0; i < 4; i++) {
        const float *p = P + i * PS;
        for (int q = 0; q < LANES; q++) {
            float d0 = p[2 * q], d1 = p[2 * q + 1], d2 = p[2 * q + 2], d3 = p[2 * q + 3];
            t[i][0][q] = d0 - d2;
            t[i][1][q] = d1 + d2;
            t[i][2][q] = d2 - d1;
            t[i][3][q] = d1 - d3;
        }
    }
    for (int k = 0; k < 4; k++)
        for (int q = 0; q < LANES; q++) {
            float d0 = t[0][k][q], d1 = t[1][k][q], d2 = t[2][k][q], d3 = t[3][k][q];
            v[(0 * 4 + k) * vs + q] = d0 - d2;
            v[(1 * 4 + k) * vs + q] = d1 + d2;
            v[(2 * 4 + k) * vs + q] = d2 - d1;
            v[(3 * 4 + k) * vs + q] = d1 - d3;
        }
}

/* o[l][m*q + j] = (A^T M_q A)[l][j] where M_q[p] = mp[p*pst + q], F(4x4): the rows
 * of the output tiles of the run, side by side. */
K_INLINE void out_f4(const float *mp, size_t pst, float o[4][4 * LANES])
{
    float s[6][4][LANES], r[4][LANES];
    for (int i = 0; i < 6; i++) {
        const float *m0 = mp + (size_t)(i * 6) * pst;
        for (int q = 0; q < LANES; q++) {
            float a0 = m0[q], a1 = m0[pst + q], a2 = m0[2 * pst + q], a3 = m0[3 * pst + q], a4 = m0[4 * pst + q],
                  a5 = m0[5 * pst + q];
            float p12 = a1 + a2, m12 = a1 - a2, p34 = a3 + a4, m34 = a3 - a4;
            s[i][0][q] = a0 + p12 + p34;
            s[i][1][q] = m12 + 2 * m34;
            s[i][2][q] = p12 + 4 * p34;
            s[i][3][q] = m12 + 8 * m34 + a5;
        }
    }
    for (int j = 0; j < 4; j++) {
        for (int q = 0; q < LANES; q++) {
            float a0 = s[0][j][q], a1 = s[1][j][q], a2 = s[2][j][q], a3 = s[3][j][q], a4 = s[4][j][q],
                  a5 = s[5][j][q];
            float p12 = a1 + a2, m12 = a1 - a2, p34 = a3 + a4, m34 = a3 - a4;
            r[0][q] = a0 + p12 + p34;
            r[1][q] = m12 + 2 * m34;
            r[2][q] = p12 + 4 * p34;
            r[3][q] = m12 + 8 * m34 + a5;
        }
        for (int l = 0; l < 4; l++)
            for (int q = 0; q < LANES; q++)
                o[l][4 * q + j] = r[l][q];
    }
}

K_INLINE void out_f2(const float *mp, size_t pst, float o[4][4 * LANES])
{
    float s[4][2][LANES];
    for (int i = 0; i < 4; i++) {
        const float *m0 = mp + (size_t)(i * 4) * pst;
        for (int q = 0; q < LANES; q++) {
            float a0 = m0[q], a1 = m0[pst + q], a2 = m0[2 * pst + q], a3 = m0[3 * pst + q];
            s[i][0][q] = a0 + a1 + a2;
            s[i][1][q] = a1 - a2 - a3;
        }
    }
    for (int j = 0; j < 2; j++)
        for (int q = 0; q < LANES; q++) {
            float a0 = s[0][j][q], a1 = s[1][j][q], a2 = s[2][j][q], a3 = s[3][j][q];
            o[0][2 * q + j] = a0 + a1 + a2;
            o[1][2 * q + j] = a1 - a2 - a3;
        }
}

/* A run: tiles tx0 .. tx0+n of tile row ty of image img, block lanes t .. t+n. */
typedef struct wrun {
    size_t img, ty, tx0, n, t;
} wrun;

/* The runs of block tiles g0 .. g0+nbt, in order; returns how many (<= cap). */
static size_t block_runs(const wgeom *g, size_t g0, size_t nbt, wrun *runs, size_t cap)
{
    size_t k = 0;
    for (size_t t = 0; t < nbt && k < cap;) {
        size_t gi = g0 + t, per = g->TH * g->TW, r = gi % per;
        wrun w = {gi / per, r / g->TW, r % g->TW, 0, t};
        size_t n = g->TW - w.tx0, lim = LANES - t % LANES;
        if (n > lim)
            n = lim;
        if (n > nbt - t)
            n = nbt - t;
        w.n = n;
        runs[k++] = w;
        t += n;
    }
    return k;
}

/* Input transform of channels c0..c1 for the runs into V (point p at V + p*vb, packed
 * B of C rows with NR-wide panels). */
K_CLONES static void wino_input(const wgeom *g, const k_conv_shape *s, const float *x, const wrun *runs,
                                size_t nrun, size_t c0, size_t c1, size_t nr, float *V)
{
    float P[6 * PS];
    float v[36][LANES];
    int m = g->m, a = g->a, width = m * LANES + 2;
    size_t a2 = (size_t)(a * a);
    int64_t H = s->in[1], W = s->in[2];
    for (size_t ri = 0; ri < nrun; ri++) {
        const wrun *r = &runs[ri];
        int64_t iy0 = (int64_t)(r->ty * (size_t)m) - s->pad[1], ix0 = (int64_t)(r->tx0 * (size_t)m) - s->pad[2];
        float *vd = V + (r->t / nr) * g->C * nr + r->t % nr;
        for (size_t c = c0; c < c1; c++) {
            const float *xc = x + (r->img * g->C + c) * (size_t)(H * W);
            load_patch(xc, H, W, iy0, ix0, a, width, P);
            float *d = vd + c * nr;
            if (r->n == LANES) { /* straight into the panels */
                if (m == 4)
                    in_f4(P, d, g->vb);
                else
                    in_f2(P, d, g->vb);
                continue;
            }
            if (m == 4)
                in_f4(P, v[0], LANES);
            else
                in_f2(P, v[0], LANES);
            for (size_t p = 0; p < a2; p++) { /* masked stores, not a memcpy call per point */
                float *dp = d + p * g->vb;
                for (size_t q = 0; q < LANES; q++)
                    if (q < r->n)
                        dp[q] = v[p][q];
            }
        }
    }
}

/* Output transform of rows (output channels) m0..m1 of the GEMM results Mb (point p at
 * Mb + p*mb, row stride TB) for the runs, plus bias, residual, activation, into y. */
K_CLONES static void wino_output(const wgeom *g, const k_conv_shape *s, const wrun *runs, size_t nrun, size_t m0,
                                 size_t m1, const float *Mb, const float *bias, const float *res, float *y, int act,
                                 float act_alpha, float act_beta)
{
    float o[4][4 * LANES];
    size_t m = (size_t)g->m, OH = (size_t)s->out[1], OW = (size_t)s->out[2];
    for (size_t ri = 0; ri < nrun; ri++) {
        const wrun *r = &runs[ri];
        size_t q0 = r->t % LANES, ox0 = r->tx0 * m, ncols = r->n * m;
        if (ncols > OW - ox0)
            ncols = OW - ox0;
        for (size_t mo = m0; mo < m1; mo++) {
            const float *mp = Mb + mo * g->TB + (r->t - q0);
            if (m == 4)
                out_f4(mp, g->mb, o);
            else
                out_f2(mp, g->mb, o);
            float b = bias ? bias[mo] : 0.0f;
            for (size_t l = 0; l < m; l++) {
                size_t oy = r->ty * m + l;
                if (oy >= OH)
                    break;
                size_t off = ((r->img * g->M + mo) * OH + oy) * OW + ox0;
                const float *src = o[l] + q0 * m;
                float *dst = y + off;
                if (res) {
                    const float *rr = res + off;
                    for (size_t j = 0; j < ncols; j++)
                        dst[j] = src[j] + b + rr[j];
                } else {
                    for (size_t j = 0; j < ncols; j++)
                        dst[j] = src[j] + b;
                }
                k_act_apply(dst, ncols, act, act_alpha, act_beta);
            }
        }
    }
}

/* ---- AVX-512 transforms: one group of LANES block lanes at a time ----
 *
 * A group is the LANES-aligned lanes of the block that several runs share (with 14
 * tiles per row, a run of 14 and one of 2 tiles from the next row). The portable path
 * above computes all LANES lanes once per run, so a group of k runs costs k times
 * one; here each group is transformed once: every run ("segment") of the group merges
 * its tiles' input columns into the same registers with masked loads, and the output
 * of each segment leaves through masked stores. The stride-m columns of the tiles are
 * split into per-tile vectors with two-source permutes. The arithmetic is that of
 * in_f4/in_f2/out_f4/out_f2, in the same order, without FMA contraction: both paths
 * give the same bits (tests/unit/test_winograd.c checks it). */
#if WINO_AVX512

#define T512 __attribute__((target("avx512f")))

/* Bits e of 0..15 with lo <= e < hi. */
static uint16_t range16(int64_t lo, int64_t hi)
{
    if (lo < 0)
        lo = 0;
    if (hi > 16)
        hi = 16;
    return hi <= lo ? 0 : (uint16_t)((((uint32_t)1 << (hi - lo)) - 1) << lo);
}

/* p + off floats, through an integer: masked loads and stores may start before an
 * array (the lanes there are masked off), which pointer arithmetic may not. */
static inline const float *fat(const float *p, ptrdiff_t off)
{
    return (const float *)((uintptr_t)p + (uintptr_t)(off * (ptrdiff_t)sizeof(float)));
}

/* A run within its group: where its lanes' columns are, and which elements of the m
 * column vectors (element e of vector k is column m*q + j of lane q = (16k + e) / m,
 * j = e % m) belong to it and lie inside the image. */
typedef struct wseg {
    ptrdiff_t off;     /* input: element 0 of vector 0 at row 0 of channel 0; output: same at mo 0 */
    int64_t row0;      /* first input row (input) or output row (output) of the tiles */
    uint16_t mx[4];    /* input columns m*q .. m*q+m-1, or the output columns */
    uint16_t my[4];    /* input columns m*q+m .. m*q+2m-1 (the overlap with the next tile) */
    ptrdiff_t act_off; /* output: first column of the run (for activations done in place) */
    size_t ncols;
} wseg;

static size_t group_segs_in(const wgeom *g, const k_conv_shape *s, const wrun *runs, size_t nrun, wseg *sg)
{
    int64_t m = g->m, W = s->in[2], H = s->in[1];
    for (size_t i = 0; i < nrun; i++) {
        const wrun *r = &runs[i];
        int64_t q0 = (int64_t)(r->t % LANES), n = (int64_t)r->n;
        int64_t base = ((int64_t)r->tx0 - q0) * m - s->pad[2];
        sg[i].row0 = (int64_t)r->ty * m - s->pad[1];
        sg[i].off = (ptrdiff_t)((int64_t)r->img * (int64_t)g->C * H * W + sg[i].row0 * W + base);
        for (int k = 0; k < 4; k++) {
            uint16_t lane = range16(m * q0 - 16 * k, m * (q0 + n) - 16 * k);
            sg[i].mx[k] = lane & range16(-base - 16 * k, W - base - 16 * k);
            sg[i].my[k] = lane & range16(-base - m - 16 * k, W - base - m - 16 * k);
        }
    }
    return nrun;
}

static size_t group_segs_out(const wgeom *g, const k_conv_shape *s, const wrun *runs, size_t nrun, wseg *sg)
{
    int64_t m = g->m, OH = s->out[1], OW = s->out[2];
    for (size_t i = 0; i < nrun; i++) {
        const wrun *r = &runs[i];
        int64_t q0 = (int64_t)(r->t % LANES), n = (int64_t)r->n, tx0 = (int64_t)r->tx0;
        int64_t base = (tx0 - q0) * m;
        sg[i].row0 = (int64_t)r->ty * m;
        sg[i].off = (ptrdiff_t)((int64_t)r->img * (int64_t)g->M * OH * OW + sg[i].row0 * OW + base);
        for (int k = 0; k < 4; k++)
            sg[i].mx[k] = range16(m * q0 - 16 * k, m * (q0 + n) - 16 * k) & range16(0, OW - base - 16 * k);
        sg[i].act_off = sg[i].off + (ptrdiff_t)(q0 * m);
        int64_t nc = n * m < OW - tx0 * m ? n * m : OW - tx0 * m;
        sg[i].ncols = (size_t)nc;
    }
    return nrun;
}

/* Row i of the patch of channel plane xc, as m vectors of the tiles' columns
 * (X: m*q + j, Y: m*q + m + j, j < m), merged over the segments. */
T512 static inline void load_row(const float *xc, const wseg *sg, size_t ns, int64_t i, int64_t H, int64_t W, int m,
                                 ptrdiff_t pf, __m512 *X, __m512 *Y)
{
    for (int k = 0; k < m; k++)
        X[k] = Y[k] = _mm512_setzero_ps();
    for (size_t si = 0; si < ns; si++) {
        int64_t iy = sg[si].row0 + i;
        if (iy < 0 || iy >= H)
            continue;
        ptrdiff_t o = sg[si].off + (ptrdiff_t)(i * W);
        for (int k = 0; k < m; k++) { /* whole vectors: plain loads (cheaper than masked) */
            __mmask16 mx = sg[si].mx[k], my = sg[si].my[k];
            X[k] = mx == 0xFFFF ? _mm512_loadu_ps(fat(xc, o + 16 * k))
                                : _mm512_mask_loadu_ps(X[k], mx, fat(xc, o + 16 * k));
            Y[k] = my == 0xFFFF ? _mm512_loadu_ps(fat(xc, o + m + 16 * k))
                                : _mm512_mask_loadu_ps(Y[k], my, fat(xc, o + m + 16 * k));
        }
        /* the same row of the next channel: planes are far apart, the hardware
         * prefetchers do not follow (the loads above were the transform's hot spot) */
        for (int k = 0; k <= m; k++)
            _mm_prefetch((const char *)fat(xc, o + pf + 16 * k), _MM_HINT_T0);
    }
}

T512 static void wino_input_avx512(const wgeom *g, const k_conv_shape *s, const float *x, const wrun *runs,
                                   size_t nrun, size_t c0, size_t c1, size_t nr, float *V)
{
    /* split of 4 vectors of (4 columns x 4 tiles) into per-column vectors, and of 2 of (2 x 8) */
    const __m512i a4 = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
    const __m512i b4 = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
    const __m512i lo8 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const __m512i hi8 = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), five = _mm512_set1_ps(5);
    int m = g->m;
    int64_t H = s->in[1], W = s->in[2];
    size_t HW = (size_t)(H * W);
    wseg sg[LANES];
    for (size_t ri = 0; ri < nrun;) {
        size_t grp = runs[ri].t / LANES, rj = ri;
        while (rj < nrun && runs[rj].t / LANES == grp)
            rj++;
        size_t ns = group_segs_in(g, s, runs + ri, rj - ri, sg), G = grp * LANES;
        ri = rj;
        float *vd = V + (G / nr) * g->C * nr + G % nr;
        for (size_t c = c0; c < c1; c++) {
            const float *xc = x + c * HW;
            float *d = vd + c * nr;
            ptrdiff_t pf = c + 1 < c1 ? (ptrdiff_t)HW : 0;
            if (m == 4) {
                __m512 t[6][6];
                for (int i = 0; i < 6; i++) {
                    __m512 X[4], Y[4];
                    load_row(xc, sg, ns, i, H, W, 4, pf, X, Y);
                    __m512 p01 = _mm512_permutex2var_ps(X[0], a4, X[1]), p23 = _mm512_permutex2var_ps(X[2], a4, X[3]);
                    __m512 q01 = _mm512_permutex2var_ps(X[0], b4, X[1]), q23 = _mm512_permutex2var_ps(X[2], b4, X[3]);
                    __m512 y01 = _mm512_permutex2var_ps(Y[0], a4, Y[1]), y23 = _mm512_permutex2var_ps(Y[2], a4, Y[3]);
                    __m512 d0 = _mm512_permutex2var_ps(p01, lo8, p23), d1 = _mm512_permutex2var_ps(p01, hi8, p23);
                    __m512 d2 = _mm512_permutex2var_ps(q01, lo8, q23), d3 = _mm512_permutex2var_ps(q01, hi8, q23);
                    __m512 d4 = _mm512_permutex2var_ps(y01, lo8, y23), d5 = _mm512_permutex2var_ps(y01, hi8, y23);
                    /* as in_f4 */
                    t[i][0] = _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(four, d0), _mm512_mul_ps(five, d2)), d4);
                    t[i][1] = _mm512_sub_ps(_mm512_add_ps(d3, d4), _mm512_mul_ps(four, _mm512_add_ps(d1, d2)));
                    t[i][2] = _mm512_add_ps(_mm512_mul_ps(four, _mm512_sub_ps(d1, d2)), _mm512_sub_ps(d4, d3));
                    __m512 d42 = _mm512_sub_ps(d4, d2);
                    t[i][3] = _mm512_add_ps(_mm512_mul_ps(two, _mm512_sub_ps(d3, d1)), d42);
                    t[i][4] = _mm512_add_ps(_mm512_mul_ps(two, _mm512_sub_ps(d1, d3)), d42);
                    t[i][5] = _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(four, d1), _mm512_mul_ps(five, d3)), d5);
                }
                for (int k = 0; k < 6; k++) {
                    __m512 d0 = t[0][k], d1 = t[1][k], d2 = t[2][k], d3 = t[3][k], d4 = t[4][k], d5 = t[5][k];
                    __m512 d42 = _mm512_sub_ps(d4, d2);
                    _mm512_storeu_ps(d + (size_t)(0 * 6 + k) * g->vb,
                                     _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(four, d0), _mm512_mul_ps(five, d2)), d4));
                    _mm512_storeu_ps(d + (size_t)(1 * 6 + k) * g->vb,
                                     _mm512_sub_ps(_mm512_add_ps(d3, d4), _mm512_mul_ps(four, _mm512_add_ps(d1, d2))));
                    _mm512_storeu_ps(d + (size_t)(2 * 6 + k) * g->vb,
                                     _mm512_add_ps(_mm512_mul_ps(four, _mm512_sub_ps(d1, d2)), _mm512_sub_ps(d4, d3)));
                    _mm512_storeu_ps(d + (size_t)(3 * 6 + k) * g->vb,
                                     _mm512_add_ps(_mm512_mul_ps(two, _mm512_sub_ps(d3, d1)), d42));
                    _mm512_storeu_ps(d + (size_t)(4 * 6 + k) * g->vb,
                                     _mm512_add_ps(_mm512_mul_ps(two, _mm512_sub_ps(d1, d3)), d42));
                    _mm512_storeu_ps(d + (size_t)(5 * 6 + k) * g->vb,
                                     _mm512_add_ps(_mm512_sub_ps(_mm512_mul_ps(four, d1), _mm512_mul_ps(five, d3)), d5));
                }
            } else {
                __m512 t[4][4];
                for (int i = 0; i < 4; i++) {
                    __m512 X[2], Y[2];
                    load_row(xc, sg, ns, i, H, W, 2, pf, X, Y);
                    __m512 d0 = _mm512_permutex2var_ps(X[0], ev, X[1]), d1 = _mm512_permutex2var_ps(X[0], od, X[1]);
                    __m512 d2 = _mm512_permutex2var_ps(Y[0], ev, Y[1]), d3 = _mm512_permutex2var_ps(Y[0], od, Y[1]);
                    t[i][0] = _mm512_sub_ps(d0, d2);
                    t[i][1] = _mm512_add_ps(d1, d2);
                    t[i][2] = _mm512_sub_ps(d2, d1);
                    t[i][3] = _mm512_sub_ps(d1, d3);
                }
                for (int k = 0; k < 4; k++) {
                    __m512 d0 = t[0][k], d1 = t[1][k], d2 = t[2][k], d3 = t[3][k];
                    _mm512_storeu_ps(d + (size_t)(0 * 4 + k) * g->vb, _mm512_sub_ps(d0, d2));
                    _mm512_storeu_ps(d + (size_t)(1 * 4 + k) * g->vb, _mm512_add_ps(d1, d2));
                    _mm512_storeu_ps(d + (size_t)(2 * 4 + k) * g->vb, _mm512_sub_ps(d2, d1));
                    _mm512_storeu_ps(d + (size_t)(3 * 4 + k) * g->vb, _mm512_sub_ps(d1, d3));
                }
            }
        }
    }
}

/* The rows of A^T M A for F(4x4): s = rows of 6 points -> 4, as out_f4. */
T512 static inline void out4(__m512 a0, __m512 a1, __m512 a2, __m512 a3, __m512 a4, __m512 a5, __m512 *r)
{
    const __m512 two = _mm512_set1_ps(2), four = _mm512_set1_ps(4), eight = _mm512_set1_ps(8);
    __m512 p12 = _mm512_add_ps(a1, a2), m12 = _mm512_sub_ps(a1, a2), p34 = _mm512_add_ps(a3, a4),
           m34 = _mm512_sub_ps(a3, a4);
    r[0] = _mm512_add_ps(_mm512_add_ps(a0, p12), p34);
    r[1] = _mm512_add_ps(m12, _mm512_mul_ps(two, m34));
    r[2] = _mm512_add_ps(p12, _mm512_mul_ps(four, p34));
    r[3] = _mm512_add_ps(_mm512_add_ps(m12, _mm512_mul_ps(eight, m34)), a5);
}

T512 static void wino_output_avx512(const wgeom *g, const k_conv_shape *s, const wrun *runs, size_t nrun, size_t m0,
                                    size_t m1, const float *Mb, const float *bias, const float *res, float *y, int act,
                                    float act_alpha, float act_beta)
{
    /* interleave per-column vectors back into rows of tiles: 4 columns x 16 tiles -> 4 x (4 x 4) */
    const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ih = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512i jl = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
    const __m512i jh = _mm512_setr_epi32(8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31);
    const __m512 zero = _mm512_setzero_ps();
    int m = g->m;
    int64_t OH = s->out[1], OW = s->out[2];
    size_t plane = (size_t)(OH * OW), mb = g->mb;
    wseg sg[LANES];
    for (size_t ri = 0; ri < nrun;) {
        size_t grp = runs[ri].t / LANES, rj = ri;
        while (rj < nrun && runs[rj].t / LANES == grp)
            rj++;
        size_t ns = group_segs_out(g, s, runs + ri, rj - ri, sg), G = grp * LANES;
        ri = rj;
        for (size_t mo = m0; mo < m1; mo++) {
            const float *mp = Mb + mo * g->TB + G;
            __m512 o[4][4]; /* o[l][k]: output row l, columns 16k .. 16k+15 of the group */
            if (m == 4) {
                __m512 sv[6][4];
                for (int i = 0; i < 6; i++) {
                    const float *m_ = mp + (size_t)(i * 6) * mb;
                    out4(_mm512_loadu_ps(m_), _mm512_loadu_ps(m_ + mb), _mm512_loadu_ps(m_ + 2 * mb),
                         _mm512_loadu_ps(m_ + 3 * mb), _mm512_loadu_ps(m_ + 4 * mb), _mm512_loadu_ps(m_ + 5 * mb),
                         sv[i]);
                }
                __m512 r[4][4]; /* r[j][l] */
                for (int j = 0; j < 4; j++)
                    out4(sv[0][j], sv[1][j], sv[2][j], sv[3][j], sv[4][j], sv[5][j], r[j]);
                for (int l = 0; l < 4; l++) {
                    __m512 a = _mm512_permutex2var_ps(r[0][l], il, r[1][l]), b = _mm512_permutex2var_ps(r[2][l], il, r[3][l]);
                    __m512 c = _mm512_permutex2var_ps(r[0][l], ih, r[1][l]), e = _mm512_permutex2var_ps(r[2][l], ih, r[3][l]);
                    o[l][0] = _mm512_permutex2var_ps(a, jl, b);
                    o[l][1] = _mm512_permutex2var_ps(a, jh, b);
                    o[l][2] = _mm512_permutex2var_ps(c, jl, e);
                    o[l][3] = _mm512_permutex2var_ps(c, jh, e);
                }
            } else {
                __m512 sv[4][2];
                for (int i = 0; i < 4; i++) {
                    const float *m_ = mp + (size_t)(i * 4) * mb;
                    __m512 a0 = _mm512_loadu_ps(m_), a1 = _mm512_loadu_ps(m_ + mb), a2 = _mm512_loadu_ps(m_ + 2 * mb),
                           a3 = _mm512_loadu_ps(m_ + 3 * mb);
                    sv[i][0] = _mm512_add_ps(_mm512_add_ps(a0, a1), a2);
                    sv[i][1] = _mm512_sub_ps(_mm512_sub_ps(a1, a2), a3);
                }
                for (int j = 0; j < 2; j++) { /* r[l] of column j */
                    __m512 a0 = sv[0][j], a1 = sv[1][j], a2 = sv[2][j], a3 = sv[3][j];
                    o[0][j] = _mm512_add_ps(_mm512_add_ps(a0, a1), a2);
                    o[1][j] = _mm512_sub_ps(_mm512_sub_ps(a1, a2), a3);
                }
                for (int l = 0; l < 2; l++) {
                    __m512 c0 = o[l][0], c1 = o[l][1];
                    o[l][0] = _mm512_permutex2var_ps(c0, il, c1);
                    o[l][1] = _mm512_permutex2var_ps(c0, ih, c1);
                }
            }
            __m512 b = _mm512_set1_ps(bias ? bias[mo] : 0.0f);
            for (size_t si = 0; si < ns; si++) {
                const wseg *q = &sg[si];
                for (int l = 0; l < m && q->row0 + l < OH; l++) {
                    ptrdiff_t off = q->off + (ptrdiff_t)(mo * plane) + (ptrdiff_t)(l * OW);
                    if (mo + 1 < m1) /* the next channel's rows: planes apart, not prefetched by the hardware */
                        for (int k = 0; k <= m; k++) {
                            _mm_prefetch((const char *)fat(y, off + (ptrdiff_t)plane + 16 * k), _MM_HINT_T0);
                            if (res)
                                _mm_prefetch((const char *)fat(res, off + (ptrdiff_t)plane + 16 * k), _MM_HINT_T0);
                        }
                    for (int k = 0; k < m; k++) {
                        __mmask16 mk = q->mx[k];
                        __m512 v = _mm512_add_ps(o[l][k], b);
                        float *yk = (float *)(uintptr_t)fat(y, off + 16 * k);
                        if (mk == 0xFFFF) { /* whole vectors: plain loads and stores */
                            if (res)
                                v = _mm512_add_ps(v, _mm512_loadu_ps(fat(res, off + 16 * k)));
                            if (act == ACT_RELU)
                                v = _mm512_max_ps(v, zero);
                            _mm512_storeu_ps(yk, v);
                            continue;
                        }
                        if (res)
                            v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, fat(res, off + 16 * k)));
                        if (act == ACT_RELU)
                            v = _mm512_max_ps(v, zero); /* x > 0 ? x : 0, NaN -> 0 as k_act_apply */
                        _mm512_mask_storeu_ps(yk, mk, v);
                    }
                    if (act != ACT_NONE && act != ACT_RELU)
                        k_act_apply(y + (q->act_off + (ptrdiff_t)(mo * plane) + (ptrdiff_t)(l * OW)), q->ncols, act,
                                    act_alpha, act_beta);
                }
            }
        }
    }
}

#endif

/* Mp (M, ncols) = Up (packed A, M x C) * Vp (packed B, C x ncols), row stride ldm: the
 * packed SGEMM on one thread (it opens no parallel region then; the caller's threads
 * share the blocks and points). */
static void gemm_point(const k_gemm_isa *isa, size_t M, size_t C, size_t ncols, const float *Up, const float *Vp,
                       float *Mp, size_t ldm)
{
    k_f32_gemm_packed(isa, M, ncols, C, 1.0f, Up, Vp, 0.0f, Mp, ldm, NULL, 1);
}

/* [lo, hi) of n items for worker k of nk. */
static void split(size_t n, int k, int nk, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)k / (size_t)nk;
    *hi = n * (size_t)(k + 1) / (size_t)nk;
}

typedef struct wargs {
    const k_gemm_isa *isa;
    const k_conv_shape *s;
    const wgeom *g;
    const float *x, *u, *bias, *res;
    float *y;
    int act;
    float act_alpha, act_beta;
    int simd; /* AVX-512 transforms */
} wargs;

/* The block of tiles g0 .. g0+nbt (nbt <= TB) in work slot w, by worker k of a team of
 * nk threads (all nk call it; nk == 1: alone). */
static void run_block(const wargs *A, size_t g0, size_t nbt, float *w, int k, int nk)
{
    const wgeom *g = A->g;
    wrun runs[MAX_TB];
    size_t nrun = block_runs(g, g0, nbt, runs, sizeof runs / sizeof runs[0]);
    float *V = w, *Mb = w + (size_t)(g->a * g->a) * g->vb;
    size_t lo, hi, a2 = (size_t)(g->a * g->a), ua = k_gemm_packed_a_floats(A->isa, g->M, g->C);
    split(g->C, k, nk, &lo, &hi);
#if WINO_AVX512
    if (A->simd)
        wino_input_avx512(g, A->s, A->x, runs, nrun, lo, hi, (size_t)A->isa->nr, V);
    else
#endif
        wino_input(g, A->s, A->x, runs, nrun, lo, hi, (size_t)A->isa->nr, V);
    if (nk > 1) {
#pragma omp barrier
    }
    split(a2, k, nk, &lo, &hi);
    for (size_t p = lo; p < hi; p++)
        gemm_point(A->isa, g->M, g->C, nbt, A->u + p * ua, V + p * g->vb, Mb + p * g->mb, g->TB);
    if (nk > 1) {
#pragma omp barrier
    }
    split(g->M, k, nk, &lo, &hi);
#if WINO_AVX512
    if (A->simd)
        wino_output_avx512(g, A->s, runs, nrun, lo, hi, Mb, A->bias, A->res, A->y, A->act, A->act_alpha,
                           A->act_beta);
    else
#endif
        wino_output(g, A->s, runs, nrun, lo, hi, Mb, A->bias, A->res, A->y, A->act, A->act_alpha, A->act_beta);
    if (nk > 1) {
#pragma omp barrier /* the slot is reused by the next block */
    }
}

/* Tiles t0 .. t1 alone, in blocks of TB. */
static void run_tiles(const wargs *A, size_t t0, size_t t1, float *w)
{
    for (size_t g0 = t0; g0 < t1; g0 += A->g->TB)
        run_block(A, g0, t1 - g0 < A->g->TB ? t1 - g0 : A->g->TB, w, 0, 1);
}

/* GEMM cost of n tiles in blocks of TB, in microkernel panels of nr columns (a last
 * panel of at most nr/2 columns runs the half-width kernel: half a panel). */
static size_t panel_halves(size_t n, size_t TB, size_t nr)
{
    size_t h = 0;
    for (size_t g0 = 0; g0 < n; g0 += TB) {
        size_t b = n - g0 < TB ? n - g0 : TB, r = b % nr;
        h += 2 * (b / nr) + (r == 0 ? 0 : r <= nr / 2 ? 1 : 2);
    }
    return h;
}

/* Bands of tiles, one per thread, pay when no band's GEMMs cost more than an even
 * share of the panels of the team sharing each block, plus half a panel. Measured at
 * two threads on ResNet-50's 28x28 layer (49 tiles, F(4x4); alone, runs alternated), a
 * band each against the team sharing each block: 0.28 ms against 0.31 (sharing pays
 * for its barriers and for the lines that cross cores between the transforms and the
 * GEMMs); at 14x14 (49 tiles, F(2x2)) the two are even. */
static int bands_pay(const wgeom *g, size_t nr, size_t nt)
{
    size_t most = 0;
    for (size_t k = 0; k < nt; k++) {
        size_t h = panel_halves(g->T * (k + 1) / nt - g->T * k / nt, g->TB, nr);
        most = h > most ? h : most;
    }
    return most * nt <= panel_halves(g->T, g->TB, nr) + nt;
}

int k_wino_have_avx512(void)
{
#if WINO_AVX512
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

void k_f32_wino_conv(const k_gemm_isa *isa, int m, const k_conv_shape *s, const float *x, const float *u,
                     const float *bias, const float *res, float *y, int act, float act_alpha, float act_beta,
                     int threads, float *work, size_t work_floats)
{
    k_f32_wino_conv_x(isa, m, s, x, u, bias, res, y, act, act_alpha, act_beta, threads, work, work_floats, 1);
}

void k_f32_wino_conv_x(const k_gemm_isa *isa, int m, const k_conv_shape *s, const float *x, const float *u,
                       const float *bias, const float *res, float *y, int act, float act_alpha, float act_beta,
                       int threads, float *work, size_t work_floats, int simd)
{
    wgeom g;
    wgeom_init(&g, isa, m, s);
    if (g.T == 0 || g.M == 0)
        return;
    size_t nslots = work_floats / g.slot;
    /* groups of LANES lanes must lie inside one packed-B panel */
    simd = simd && isa->nr % LANES == 0 && k_wino_have_avx512();
    wargs A = {isa, s, &g, x, u, bias, res, y, act, act_alpha, act_beta, simd};
    int nt = threads > 1 ? threads : 1;
    if (nt == 1) {
        run_tiles(&A, 0, g.T, work);
        return;
    }
    if (nslots >= (size_t)nt && bands_pay(&g, (size_t)isa->nr, (size_t)nt)) {
        /* each thread a contiguous band of the tiles, in its own slot: it reads and
         * writes one band of the image (a line another core wrote costs several times a
         * line of this core's cache), with no barrier inside */
#pragma omp parallel num_threads(nt)
        {
            size_t k = (size_t)omp_get_thread_num(), nk = (size_t)omp_get_num_threads();
            run_tiles(&A, g.T * k / nk, g.T * (k + 1) / nk, work + k * g.slot);
        }
        return;
    }
    /* few blocks: the team shares each block (channels, points, output rows) */
#pragma omp parallel num_threads(nt)
    {
        int k = omp_get_thread_num(), nk = omp_get_num_threads();
        for (size_t g0 = 0; g0 < g.T; g0 += g.TB)
            run_block(&A, g0, g.T - g0 < g.TB ? g.T - g0 : g.TB, work, k, nk);
    }
}
