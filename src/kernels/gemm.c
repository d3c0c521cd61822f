/*
 * SGEMM: the scalar reference, the packing routines, three microkernels (portable C,
 * AVX2+FMA, AVX-512) and the cache-blocked driver. See gemm.h for the contract.
 *
 * Blocking: the output is cut into MC x NC tiles, one OpenMP work item each (or, with
 * enough column panels, each thread takes a band of panels and its tiles). Inside
 * a tile, for every KC slice of K, each NR-wide panel of B (KC x NR floats, kept in
 * L1) meets every MR-high panel of A in the tile (MC x KC, kept in L2).
 */
#include "kernels/gemm.h"

#include <omp.h>
#include <string.h>

#include "kernels/act.h"
#include "kernels/copy.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define K_X86 1
#endif

#define KC 256
#define MC_PANELS 8  /* MC = 8 * MR */
#define NC_PANELS 8  /* NC = 8 * NR */
#define MAX_MR K_GEMM_MAX_MR
#define MAX_NR 32
#define SMALL_M_BYTES (400u * 1024u) /* A's KC slice that stays in L2 */

/* ---- reference ---- */

void k_epilogue_apply(const k_epilogue *ep, float *C, size_t ldc, size_t r0, size_t m, size_t c0,
                      size_t n)
{
    if (!ep)
        return;
    for (size_t i = 0; i < m; i++) {
        float *c = C + i * ldc;
        if (ep->bias && ep->bias_mode == K_BIAS_ROW) {
            float b = ep->bias[r0 + i];
            for (size_t j = 0; j < n; j++)
                c[j] += b;
        } else if (ep->bias && ep->bias_mode == K_BIAS_COL) {
            for (size_t j = 0; j < n; j++)
                c[j] += ep->bias[c0 + j];
        }
        if (ep->res) {
            const float *r = ep->res + (r0 + i) * ep->ldr + c0;
            for (size_t j = 0; j < n; j++)
                c[j] += r[j];
        }
        k_act_apply(c, n, ep->act, ep->act_alpha, ep->act_beta);
    }
}

/* A (M,K) strided, B (K,N) strided -> C (M,N) row stride ldc */
void k_f32_gemm_ref(size_t M, size_t N, size_t K, float alpha, const float *A, ptrdiff_t ars,
                    ptrdiff_t acs, const float *B, ptrdiff_t brs, ptrdiff_t bcs, float beta, float *C,
                    size_t ldc, const k_epilogue *ep)
{
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            float s = 0;
            for (size_t k = 0; k < K; k++)
                s += A[(ptrdiff_t)i * ars + (ptrdiff_t)k * acs] * B[(ptrdiff_t)k * brs + (ptrdiff_t)j * bcs];
            float *c = &C[i * ldc + j];
            *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
        }
    }
    k_epilogue_apply(ep, C, ldc, 0, M, 0, N);
}

/* ---- packing ---- */

size_t k_gemm_packed_a_floats(const k_gemm_isa *isa, size_t M, size_t K)
{
    size_t mr = (size_t)isa->mr;
    return (M + mr - 1) / mr * mr * K;
}

size_t k_gemm_packed_b_floats(const k_gemm_isa *isa, size_t K, size_t N)
{
    size_t nr = (size_t)isa->nr;
    return (N + nr - 1) / nr * nr * K;
}

/* Floats of A from which packing is split between threads (about 256 KB). */
#define PACK_MT_MIN ((size_t)64 << 10)

/* d[k * mr ..] = the m floats at s + k * cs, then zeros up to mr, for each k < K.
 * Copies of a constant size (the microkernels' row counts) compile to a few moves;
 * a libc memcpy and memset for each k cost more than the copy itself. */
static void pack_runs(float *d, const float *s, size_t K, ptrdiff_t cs, size_t m, size_t mr)
{
#define PACK_RUNS(W)                                                                                          \
    for (size_t k = 0; k < K; k++)                                                                           \
        memcpy(d + k * (W), s + (ptrdiff_t)k * cs, (W) * sizeof(float));                                     \
    return;
    if (m == mr) {
        switch (mr) {
        case 12: PACK_RUNS(12)
        case 6: PACK_RUNS(6)
        case 4: PACK_RUNS(4)
        default: break;
        }
    }
#undef PACK_RUNS
    for (size_t k = 0; k < K; k++) {
        for (size_t i = 0; i < m; i++)
            d[k * mr + i] = s[(ptrdiff_t)k * cs + (ptrdiff_t)i];
        for (size_t i = m; i < mr; i++)
            d[k * mr + i] = 0;
    }
}

/* Panel p holds rows p*MR.. as K groups of MR consecutive floats. A full panel of
 * row-major A (cs == 1) is a transpose of its MR rows (k_transpose_4b: 4x4 blocks in
 * registers); of A stored transposed (rs == 1), row copies. */
void k_f32_gemm_pack_a(const k_gemm_isa *isa, size_t M, size_t K, const float *A, ptrdiff_t rs,
                       ptrdiff_t cs, float *dst)
{
    size_t mr = (size_t)isa->mr;
    size_t np = (M + mr - 1) / mr;
    for (size_t p = 0; p < np; p++) {
        float *d = dst + p * mr * K;
        size_t i0 = p * mr, m = M - i0 < mr ? M - i0 : mr;
        if (cs == 1 && m == mr) {
            k_transpose_4b(d, A + (ptrdiff_t)i0 * rs, mr, K, rs, (ptrdiff_t)mr);
            continue;
        }
        if (rs == 1) { /* A stored transposed: each k group is a contiguous run */
            pack_runs(d, A + (ptrdiff_t)i0, K, cs, m, mr);
            continue;
        }
        for (size_t k = 0; k < K; k++) {
            for (size_t i = 0; i < m; i++)
                d[k * mr + i] = A[(ptrdiff_t)(i0 + i) * rs + (ptrdiff_t)k * cs];
            for (size_t i = m; i < mr; i++)
                d[k * mr + i] = 0;
        }
    }
}

void k_f32_gemm_pack_a_mt(const k_gemm_isa *isa, size_t M, size_t K, const float *A, ptrdiff_t rs, ptrdiff_t cs,
                          float *dst, int threads)
{
    size_t mr = (size_t)isa->mr, np = (M + mr - 1) / mr;
    int nt = threads > 1 && np > 1 && M * K >= PACK_MT_MIN ? threads : 1;
    if (nt == 1) { /* no parallel region (callers may run this inside theirs) */
        k_f32_gemm_pack_a(isa, M, K, A, rs, cs, dst);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (size_t p = 0; p < np; p++) {
        size_t m = M - p * mr < mr ? M - p * mr : mr;
        k_f32_gemm_pack_a(isa, m, K, A + (ptrdiff_t)(p * mr) * rs, rs, cs, dst + p * mr * K);
    }
}

/* Panel p holds columns p*NR.. as K groups of NR consecutive floats. A full panel of
 * B stored transposed (rs == 1: column j is a contiguous row of B^T, as in a linear
 * layer's weight or attention's K^T) is a transpose of its NR rows (k_transpose_4b). */
void k_f32_gemm_pack_b(const k_gemm_isa *isa, size_t K, size_t N, const float *B, ptrdiff_t rs,
                       ptrdiff_t cs, float *dst)
{
    size_t nr = (size_t)isa->nr;
    size_t np = (N + nr - 1) / nr;
    for (size_t p = 0; p < np; p++) {
        float *d = dst + p * nr * K;
        size_t j0 = p * nr, n = N - j0 < nr ? N - j0 : nr;
        if (rs == 1 && cs != 1 && n == nr) {
            k_transpose_4b(d, B + (ptrdiff_t)j0 * cs, nr, K, cs, (ptrdiff_t)nr);
            continue;
        }
        for (size_t k = 0; k < K; k++) {
            const float *b = B + (ptrdiff_t)k * rs + (ptrdiff_t)j0 * cs;
            if (cs == 1) {
                memcpy(d + k * nr, b, n * sizeof(float));
            } else {
                for (size_t j = 0; j < n; j++)
                    d[k * nr + j] = b[(ptrdiff_t)j * cs];
            }
            for (size_t j = n; j < nr; j++)
                d[k * nr + j] = 0;
        }
    }
}

/* ---- microkernels: c (MR x NR, row stride ldc) = alpha * a*b + beta * c ---- */

/* Portable kernel: GCC vector extensions (SSE2 on any x86-64, NEON on arm64), 4 x 16
 * with 16 named accumulators of 4 floats. */
#define G_MR 4
#define G_NR 16
typedef float v4f __attribute__((vector_size(16)));

static inline v4f v4_load(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void v4_store(float *p, v4f v)
{
    memcpy(p, &v, sizeof v);
}

#define G_ROW(i)                                                                                             \
    {                                                                                                        \
        v4f av = {ak[i], ak[i], ak[i], ak[i]};                                                               \
        c##i##0 += av * b0;                                                                                  \
        c##i##1 += av * b1;                                                                                  \
        c##i##2 += av * b2;                                                                                  \
        c##i##3 += av * b3;                                                                                  \
    }

static inline float clamp1(float x, const k_ustore *u)
{
    if (u->clamp == 1)
        return x > 0 ? x : 0;
    if (u->clamp == 2)
        return x < u->lo ? u->lo : x > u->hi ? u->hi : x;
    return x;
}

static void k_f32_gemm_4x16_c(size_t kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc,
                              const k_ustore *u)
{
    float alpha = u->alpha, beta = u->beta;
    const float *rbias = u->rbias, *cbias = u->cbias;
    v4f z = {0, 0, 0, 0};
    v4f c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z;
    v4f c20 = z, c21 = z, c22 = z, c23 = z, c30 = z, c31 = z, c32 = z, c33 = z;
    for (size_t k = 0; k < kc; k++) {
        const float *bk = b + k * ldb, *ak = a + k * G_MR;
        v4f b0 = v4_load(bk), b1 = v4_load(bk + 4), b2 = v4_load(bk + 8), b3 = v4_load(bk + 12);
        G_ROW(0)
        G_ROW(1)
        G_ROW(2)
        G_ROW(3)
    }
    v4f acc[G_MR][4] = {{c00, c01, c02, c03}, {c10, c11, c12, c13}, {c20, c21, c22, c23}, {c30, c31, c32, c33}};
    v4f va = {alpha, alpha, alpha, alpha}, vb = {beta, beta, beta, beta};
    for (int i = 0; i < G_MR; i++)
        for (int h = 0; h < 4; h++) {
            float *y = c + (size_t)i * ldc + (size_t)h * 4;
            v4f r = va * acc[i][h];
            if (beta != 0)
                r += vb * v4_load(y);
            if (rbias)
                r += (v4f){rbias[i], rbias[i], rbias[i], rbias[i]};
            if (cbias)
                r += v4_load(cbias + h * 4);
            if (u->res)
                r += v4_load(u->res + (size_t)i * u->ldr + (size_t)h * 4);
            if (u->clamp)
                for (int l = 0; l < 4; l++)
                    r[l] = clamp1(r[l], u);
            v4_store(y, r);
        }
}

#ifdef K_X86
/* Stores rows x cols (u->rows, u->cols) of the accumulators acc[0..rows) with the
 * epilogue; masked loads and stores keep every access inside the tile. */
__attribute__((target("avx512f"))) static inline void store_avx512(int rows, __m512 (*acc)[2], float *c, size_t ldc,
                                                                   const k_ustore *u)
{
    __m512 va = _mm512_set1_ps(u->alpha), vb = _mm512_set1_ps(u->beta);
    __m512 lo = _mm512_set1_ps(u->clamp == 2 ? u->lo : 0.0f), hi = _mm512_set1_ps(u->hi);
    int cols = u->cols;
    if (u->alpha == 1.0f && (u->beta == 0 || u->beta == 1) && !u->cbias && cols >= 32 && u->rows >= rows) {
        /* the common whole tile (C = A B, plus C, a row bias and a residual, clamped):
         * no masks, no scaling (measured: a quarter of a 12 x 32 x 16 product went to
         * the general stores) */
        for (int i = 0; i < rows; i++) {
            float *y = c + (size_t)i * ldc;
            __m512 r0 = acc[i][0], r1 = acc[i][1];
            if (u->beta != 0) {
                r0 = _mm512_add_ps(r0, _mm512_loadu_ps(y));
                r1 = _mm512_add_ps(r1, _mm512_loadu_ps(y + 16));
            }
            if (u->rbias) {
                __m512 b = _mm512_set1_ps(u->rbias[i]);
                r0 = _mm512_add_ps(r0, b);
                r1 = _mm512_add_ps(r1, b);
            }
            if (u->res) {
                const float *q = u->res + (size_t)i * u->ldr;
                r0 = _mm512_add_ps(r0, _mm512_loadu_ps(q));
                r1 = _mm512_add_ps(r1, _mm512_loadu_ps(q + 16));
            }
            if (u->clamp == 1) {
                r0 = _mm512_max_ps(r0, lo);
                r1 = _mm512_max_ps(r1, lo);
            } else if (u->clamp == 2) {
                r0 = _mm512_min_ps(hi, _mm512_max_ps(lo, r0));
                r1 = _mm512_min_ps(hi, _mm512_max_ps(lo, r1));
            }
            _mm512_storeu_ps(y, r0);
            _mm512_storeu_ps(y + 16, r1);
        }
        return;
    }
    __mmask16 mk[2] = {(__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1),
                       (__mmask16)(cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (1u << (cols - 16)) - 1)};
    if (u->rows < rows)
        rows = u->rows;
    for (int i = 0; i < rows; i++) {
        float *y = c + (size_t)i * ldc;
        for (int h = 0; h < 2; h++) {
            __mmask16 m = mk[h];
            __m512 r = _mm512_mul_ps(va, acc[i][h]);
            if (u->beta != 0)
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, y + h * 16), r);
            if (u->rbias)
                r = _mm512_add_ps(r, _mm512_set1_ps(u->rbias[i]));
            if (u->cbias)
                r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, u->cbias + h * 16));
            if (u->res)
                r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, u->res + (size_t)i * u->ldr + (size_t)h * 16));
            if (u->clamp == 1)
                r = _mm512_max_ps(r, lo); /* NaN -> 0, as x > 0 ? x : 0 */
            else if (u->clamp == 2)
                r = _mm512_min_ps(hi, _mm512_max_ps(lo, r)); /* NaN stays NaN */
            _mm512_mask_storeu_ps(y + h * 16, m, r);
        }
    }
}

/* Accumulators are named variables, not an array: with an array GCC keeps them
 * in memory and stores every one of them on each k step. */
__attribute__((target("avx2,fma"))) static void k_f32_gemm_6x16_avx2(size_t kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc, const k_ustore *u)
{
    float alpha = u->alpha, beta = u->beta;
    const float *rbias = u->rbias, *cbias = u->cbias;
    __m256 c0_0 = _mm256_setzero_ps(), c0_1 = _mm256_setzero_ps(), c1_0 = _mm256_setzero_ps(), c1_1 = _mm256_setzero_ps(), c2_0 = _mm256_setzero_ps(), c2_1 = _mm256_setzero_ps(), c3_0 = _mm256_setzero_ps(), c3_1 = _mm256_setzero_ps(), c4_0 = _mm256_setzero_ps(), c4_1 = _mm256_setzero_ps(), c5_0 = _mm256_setzero_ps(), c5_1 = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * ldb), b1 = _mm256_loadu_ps(b + k * ldb + 8);
        const float *ak = a + k * 6;
        __m256 av;
        av = _mm256_set1_ps(ak[0]);
        c0_0 = _mm256_fmadd_ps(av, b0, c0_0);
        c0_1 = _mm256_fmadd_ps(av, b1, c0_1);
        av = _mm256_set1_ps(ak[1]);
        c1_0 = _mm256_fmadd_ps(av, b0, c1_0);
        c1_1 = _mm256_fmadd_ps(av, b1, c1_1);
        av = _mm256_set1_ps(ak[2]);
        c2_0 = _mm256_fmadd_ps(av, b0, c2_0);
        c2_1 = _mm256_fmadd_ps(av, b1, c2_1);
        av = _mm256_set1_ps(ak[3]);
        c3_0 = _mm256_fmadd_ps(av, b0, c3_0);
        c3_1 = _mm256_fmadd_ps(av, b1, c3_1);
        av = _mm256_set1_ps(ak[4]);
        c4_0 = _mm256_fmadd_ps(av, b0, c4_0);
        c4_1 = _mm256_fmadd_ps(av, b1, c4_1);
        av = _mm256_set1_ps(ak[5]);
        c5_0 = _mm256_fmadd_ps(av, b0, c5_0);
        c5_1 = _mm256_fmadd_ps(av, b1, c5_1);
    }
    __m256 acc[6][2] = {{c0_0, c0_1}, {c1_0, c1_1}, {c2_0, c2_1}, {c3_0, c3_1}, {c4_0, c4_1}, {c5_0, c5_1}};
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    __m256 lo = _mm256_set1_ps(u->clamp == 2 ? u->lo : 0.0f), hi = _mm256_set1_ps(u->hi);
    for (int i = 0; i < 6; i++) {
        float *y = c + (size_t)i * ldc;
        for (int h = 0; h < 2; h++) {
            __m256 r = _mm256_mul_ps(va, acc[i][h]);
            if (beta != 0)
                r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(y + h * 8), r);
            if (rbias)
                r = _mm256_add_ps(r, _mm256_set1_ps(rbias[i]));
            if (cbias)
                r = _mm256_add_ps(r, _mm256_loadu_ps(cbias + h * 8));
            if (u->res)
                r = _mm256_add_ps(r, _mm256_loadu_ps(u->res + (size_t)i * u->ldr + (size_t)h * 8));
            if (u->clamp == 1)
                r = _mm256_max_ps(r, lo); /* NaN -> 0, as x > 0 ? x : 0 */
            else if (u->clamp == 2)
                r = _mm256_min_ps(hi, _mm256_max_ps(lo, r)); /* NaN stays NaN */
            _mm256_storeu_ps(y + h * 8, r);
        }
    }
}

/* Accumulators are named variables, not an array: with an array GCC keeps them
 * in memory and stores every one of them on each k step. */
__attribute__((target("avx512f"))) static void k_f32_gemm_12x32_avx512(size_t kc, const float *a, const float *b, size_t ldb, float *c, size_t ldc, const k_ustore *u)
{
    for (int i = 0; i < 12 && i < u->rows; i++) { /* C is stored (and maybe read) at the end: fetch it meanwhile */
        _mm_prefetch((const char *)(c + (size_t)i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + (size_t)i * ldc + 31), _MM_HINT_T0);
    }
    __m512 c0_0 = _mm512_setzero_ps(), c0_1 = _mm512_setzero_ps(), c1_0 = _mm512_setzero_ps(), c1_1 = _mm512_setzero_ps(), c2_0 = _mm512_setzero_ps(), c2_1 = _mm512_setzero_ps(), c3_0 = _mm512_setzero_ps(), c3_1 = _mm512_setzero_ps(), c4_0 = _mm512_setzero_ps(), c4_1 = _mm512_setzero_ps(), c5_0 = _mm512_setzero_ps(), c5_1 = _mm512_setzero_ps(), c6_0 = _mm512_setzero_ps(), c6_1 = _mm512_setzero_ps(), c7_0 = _mm512_setzero_ps(), c7_1 = _mm512_setzero_ps(), c8_0 = _mm512_setzero_ps(), c8_1 = _mm512_setzero_ps(), c9_0 = _mm512_setzero_ps(), c9_1 = _mm512_setzero_ps(), c10_0 = _mm512_setzero_ps(), c10_1 = _mm512_setzero_ps(), c11_0 = _mm512_setzero_ps(), c11_1 = _mm512_setzero_ps();
    const float *pf0 = u->pf[0], *pf1 = u->pf[1];
    size_t npf0 = u->pf_n[0], npf1 = u->pf_n[1];
    for (size_t k = 0; k < kc; k++) {
        if (k < npf0)
            _mm_prefetch((const char *)(pf0 + 16 * k), _MM_HINT_T1);
        if (k < npf1)
            _mm_prefetch((const char *)(pf1 + 16 * k), _MM_HINT_T1);
        __m512 b0 = _mm512_loadu_ps(b + k * ldb), b1 = _mm512_loadu_ps(b + k * ldb + 16);
        const float *ak = a + k * 12;
        __m512 av;
        av = _mm512_set1_ps(ak[0]);
        c0_0 = _mm512_fmadd_ps(av, b0, c0_0);
        c0_1 = _mm512_fmadd_ps(av, b1, c0_1);
        av = _mm512_set1_ps(ak[1]);
        c1_0 = _mm512_fmadd_ps(av, b0, c1_0);
        c1_1 = _mm512_fmadd_ps(av, b1, c1_1);
        av = _mm512_set1_ps(ak[2]);
        c2_0 = _mm512_fmadd_ps(av, b0, c2_0);
        c2_1 = _mm512_fmadd_ps(av, b1, c2_1);
        av = _mm512_set1_ps(ak[3]);
        c3_0 = _mm512_fmadd_ps(av, b0, c3_0);
        c3_1 = _mm512_fmadd_ps(av, b1, c3_1);
        av = _mm512_set1_ps(ak[4]);
        c4_0 = _mm512_fmadd_ps(av, b0, c4_0);
        c4_1 = _mm512_fmadd_ps(av, b1, c4_1);
        av = _mm512_set1_ps(ak[5]);
        c5_0 = _mm512_fmadd_ps(av, b0, c5_0);
        c5_1 = _mm512_fmadd_ps(av, b1, c5_1);
        av = _mm512_set1_ps(ak[6]);
        c6_0 = _mm512_fmadd_ps(av, b0, c6_0);
        c6_1 = _mm512_fmadd_ps(av, b1, c6_1);
        av = _mm512_set1_ps(ak[7]);
        c7_0 = _mm512_fmadd_ps(av, b0, c7_0);
        c7_1 = _mm512_fmadd_ps(av, b1, c7_1);
        av = _mm512_set1_ps(ak[8]);
        c8_0 = _mm512_fmadd_ps(av, b0, c8_0);
        c8_1 = _mm512_fmadd_ps(av, b1, c8_1);
        av = _mm512_set1_ps(ak[9]);
        c9_0 = _mm512_fmadd_ps(av, b0, c9_0);
        c9_1 = _mm512_fmadd_ps(av, b1, c9_1);
        av = _mm512_set1_ps(ak[10]);
        c10_0 = _mm512_fmadd_ps(av, b0, c10_0);
        c10_1 = _mm512_fmadd_ps(av, b1, c10_1);
        av = _mm512_set1_ps(ak[11]);
        c11_0 = _mm512_fmadd_ps(av, b0, c11_0);
        c11_1 = _mm512_fmadd_ps(av, b1, c11_1);
    }
    __m512 acc[12][2] = {{c0_0, c0_1}, {c1_0, c1_1}, {c2_0, c2_1}, {c3_0, c3_1}, {c4_0, c4_1}, {c5_0, c5_1}, {c6_0, c6_1}, {c7_0, c7_1}, {c8_0, c8_1}, {c9_0, c9_1}, {c10_0, c10_1}, {c11_0, c11_1}};
    store_avx512(12, acc, c, ldc, u);
}

/* ---- tail microkernels: R < MR rows of a packed A panel (k groups lda apart) ---- */

#define ROWS4(X) X(0) X(1) X(2) X(3)
#define ROWS8(X) ROWS4(X) X(4) X(5) X(6) X(7)

#define T512_Z(i) __m512 c##i##_0 = _mm512_setzero_ps(), c##i##_1 = _mm512_setzero_ps();
#define T512_F(i)                                                                                            \
    av = _mm512_set1_ps(ak[i]);                                                                              \
    c##i##_0 = _mm512_fmadd_ps(av, b0, c##i##_0);                                                            \
    c##i##_1 = _mm512_fmadd_ps(av, b1, c##i##_1);
#define T512_A(i) {c##i##_0, c##i##_1},
#define T512_KERNEL(R, ROWS)                                                                                 \
    __attribute__((target("avx512f"))) static void k_f32_gemm_##R##x32_avx512(                              \
        size_t kc, const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,             \
        const k_ustore *u)                                                                                   \
    {                                                                                                        \
        ROWS(T512_Z)                                                                                         \
        for (size_t k = 0; k < kc; k++) {                                                                    \
            if (k < u->pf_n[0])                                                                              \
                _mm_prefetch((const char *)(u->pf[0] + 16 * k), _MM_HINT_T1);                                \
            __m512 b0 = _mm512_loadu_ps(b + k * ldb), b1 = _mm512_loadu_ps(b + k * ldb + 16);                \
            const float *ak = a + k * lda;                                                                   \
            __m512 av;                                                                                       \
            ROWS(T512_F)                                                                                     \
        }                                                                                                    \
        __m512 acc[R][2] = {ROWS(T512_A)};                                                                   \
        store_avx512(R, acc, c, ldc, u);                                                                     \
    }
T512_KERNEL(4, ROWS4)
T512_KERNEL(8, ROWS8)

/* acc[0..31] = sum over k of a[k * lda] * b[k * ldb ..]: four k at a time into separate
 * sums, so the loads of B, not the latency of one chain, set the pace. The first npf
 * k steps each prefetch a line of pf (the GEMM's next weight panel; NULL, 0: none). */
__attribute__((target("avx512f"))) static void gemv_acc_avx512(size_t K, const float *a, size_t lda,
                                                               const float *b, size_t ldb, float *acc,
                                                               const float *pf, size_t npf)
{
    __m512 s00 = _mm512_setzero_ps(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    size_t k = 0;
    for (; k + 4 <= K; k += 4) {
        for (size_t q = k; q < k + 4 && q < npf; q++)
            _mm_prefetch((const char *)(pf + 16 * q), _MM_HINT_T1);
        const float *bk = b + k * ldb, *ak = a + k * lda;
        __m512 a0 = _mm512_set1_ps(ak[0]), a1 = _mm512_set1_ps(ak[lda]);
        __m512 a2 = _mm512_set1_ps(ak[2 * lda]), a3 = _mm512_set1_ps(ak[3 * lda]);
        s00 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(bk), s00);
        s01 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(bk + 16), s01);
        s10 = _mm512_fmadd_ps(a1, _mm512_loadu_ps(bk + ldb), s10);
        s11 = _mm512_fmadd_ps(a1, _mm512_loadu_ps(bk + ldb + 16), s11);
        s20 = _mm512_fmadd_ps(a2, _mm512_loadu_ps(bk + 2 * ldb), s20);
        s21 = _mm512_fmadd_ps(a2, _mm512_loadu_ps(bk + 2 * ldb + 16), s21);
        s30 = _mm512_fmadd_ps(a3, _mm512_loadu_ps(bk + 3 * ldb), s30);
        s31 = _mm512_fmadd_ps(a3, _mm512_loadu_ps(bk + 3 * ldb + 16), s31);
    }
    for (; k < K; k++) {
        if (k < npf)
            _mm_prefetch((const char *)(pf + 16 * k), _MM_HINT_T1);
        __m512 av = _mm512_set1_ps(a[k * lda]);
        s00 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + k * ldb), s00);
        s01 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + k * ldb + 16), s01);
    }
    _mm512_storeu_ps(acc, _mm512_add_ps(_mm512_add_ps(s00, s10), _mm512_add_ps(s20, s30)));
    _mm512_storeu_ps(acc + 16, _mm512_add_ps(_mm512_add_ps(s01, s11), _mm512_add_ps(s21, s31)));
}

/* Four panels of 32 columns at once (bs[i] each, K x 32), sums in acc + 32 i: four
 * streams from memory (gemv_range). */
__attribute__((target("avx512f"))) static void gemv_acc4_avx512(size_t K, const float *a, size_t lda,
                                                                const float *const *bs, float *acc)
{
    const float *b0 = bs[0], *b1 = bs[1], *b2 = bs[2], *b3 = bs[3];
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (size_t k = 0; k < K; k++) {
        __m512 av = _mm512_set1_ps(a[k * lda]);
        s0 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b0 + k * 32), s0);
        s1 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b0 + k * 32 + 16), s1);
        s2 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b1 + k * 32), s2);
        s3 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b1 + k * 32 + 16), s3);
        s4 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b2 + k * 32), s4);
        s5 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b2 + k * 32 + 16), s5);
        s6 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b3 + k * 32), s6);
        s7 = _mm512_fmadd_ps(av, _mm512_loadu_ps(b3 + k * 32 + 16), s7);
    }
    _mm512_storeu_ps(acc, s0), _mm512_storeu_ps(acc + 16, s1);
    _mm512_storeu_ps(acc + 32, s2), _mm512_storeu_ps(acc + 48, s3);
    _mm512_storeu_ps(acc + 64, s4), _mm512_storeu_ps(acc + 80, s5);
    _mm512_storeu_ps(acc + 96, s6), _mm512_storeu_ps(acc + 112, s7);
}

/* 1 x 32: a last row panel of one row (a 7x7 image's 49 positions run transposed are
 * four 12-row panels and one row): the GEMV's accumulation, about a quarter of the
 * time of the 4 x 32 kernel, which computes three rows of padding there. */
__attribute__((target("avx512f"))) static void k_f32_gemm_1x32_avx512(size_t kc, const float *a, size_t lda,
                                                                     const float *b, size_t ldb, float *c,
                                                                     size_t ldc, const k_ustore *u)
{
    float sum[32] __attribute__((aligned(64)));
    gemv_acc_avx512(kc, a, lda, b, ldb, sum, u->pf[0], u->pf_n[0]);
    __m512 acc[1][2] = {{_mm512_load_ps(sum), _mm512_load_ps(sum + 16)}};
    store_avx512(1, acc, c, ldc, u);
}

/* 12 x 16: the last panel of B when it holds at most 16 columns (a 7x7 or 14x14
 * image's positions: 196 = 6 x 32 + 4), half the work of the 12 x 32 kernel there. */
#define ROWS12(X) ROWS8(X) X(8) X(9) X(10) X(11)
#define N16_Z(i) __m512 c##i = _mm512_setzero_ps();
#define N16_F(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(ak[i]), b0, c##i);
#define N16_A(i) {c##i, z},
__attribute__((target("avx512f"))) static void k_f32_gemm_12x16_avx512(size_t kc, const float *a, const float *b,
                                                                      size_t ldb, float *c, size_t ldc,
                                                                      const k_ustore *u)
{
    ROWS12(N16_Z)
    for (size_t k = 0; k < kc; k++) {
        if (k < u->pf_n[0])
            _mm_prefetch((const char *)(u->pf[0] + 16 * k), _MM_HINT_T1);
        if (k < u->pf_n[1])
            _mm_prefetch((const char *)(u->pf[1] + 16 * k), _MM_HINT_T1);
        __m512 b0 = _mm512_loadu_ps(b + k * ldb);
        const float *ak = a + k * 12;
        ROWS12(N16_F)
    }
    __m512 z = _mm512_setzero_ps();
    __m512 acc[12][2] = {ROWS12(N16_A)};
    store_avx512(12, acc, c, ldc, u);
}

__attribute__((target("avx2,fma"))) static void k_f32_gemm_4x16_avx2(size_t kc, const float *a, size_t lda,
                                                                     const float *b, size_t ldb, float *c,
                                                                     size_t ldc, const k_ustore *u)
{
    __m256 c0_0 = _mm256_setzero_ps(), c0_1 = _mm256_setzero_ps(), c1_0 = _mm256_setzero_ps(),
           c1_1 = _mm256_setzero_ps(), c2_0 = _mm256_setzero_ps(), c2_1 = _mm256_setzero_ps(),
           c3_0 = _mm256_setzero_ps(), c3_1 = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * ldb), b1 = _mm256_loadu_ps(b + k * ldb + 8);
        const float *ak = a + k * lda;
        __m256 av;
        av = _mm256_set1_ps(ak[0]);
        c0_0 = _mm256_fmadd_ps(av, b0, c0_0);
        c0_1 = _mm256_fmadd_ps(av, b1, c0_1);
        av = _mm256_set1_ps(ak[1]);
        c1_0 = _mm256_fmadd_ps(av, b0, c1_0);
        c1_1 = _mm256_fmadd_ps(av, b1, c1_1);
        av = _mm256_set1_ps(ak[2]);
        c2_0 = _mm256_fmadd_ps(av, b0, c2_0);
        c2_1 = _mm256_fmadd_ps(av, b1, c2_1);
        av = _mm256_set1_ps(ak[3]);
        c3_0 = _mm256_fmadd_ps(av, b0, c3_0);
        c3_1 = _mm256_fmadd_ps(av, b1, c3_1);
    }
    __m256 acc[4][2] = {{c0_0, c0_1}, {c1_0, c1_1}, {c2_0, c2_1}, {c3_0, c3_1}};
    __m256 va = _mm256_set1_ps(u->alpha), vb = _mm256_set1_ps(u->beta);
    __m256 lo = _mm256_set1_ps(u->clamp == 2 ? u->lo : 0.0f), hi = _mm256_set1_ps(u->hi);
    for (int i = 0; i < 4; i++) {
        float *y = c + (size_t)i * ldc;
        for (int h = 0; h < 2; h++) {
            __m256 r = _mm256_mul_ps(va, acc[i][h]);
            if (u->beta != 0)
                r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(y + h * 8), r);
            if (u->rbias)
                r = _mm256_add_ps(r, _mm256_set1_ps(u->rbias[i]));
            if (u->cbias)
                r = _mm256_add_ps(r, _mm256_loadu_ps(u->cbias + h * 8));
            if (u->res)
                r = _mm256_add_ps(r, _mm256_loadu_ps(u->res + (size_t)i * u->ldr + (size_t)h * 8));
            if (u->clamp == 1)
                r = _mm256_max_ps(r, lo);
            else if (u->clamp == 2)
                r = _mm256_min_ps(hi, _mm256_max_ps(lo, r));
            _mm256_storeu_ps(y + h * 8, r);
        }
    }
}
#endif

/* ---- FMA throughput loop: 12 independent accumulators (covers latency 4-6 x 2 pipes) ---- */

#define FMA12(T, fma)                                                                                        \
    for (size_t it = 0; it < iters; it++) {                                                                  \
        a0 = fma(a0, m, d); a1 = fma(a1, m, d); a2 = fma(a2, m, d); a3 = fma(a3, m, d);                      \
        a4 = fma(a4, m, d); a5 = fma(a5, m, d); a6 = fma(a6, m, d); a7 = fma(a7, m, d);                      \
        a8 = fma(a8, m, d); a9 = fma(a9, m, d); a10 = fma(a10, m, d); a11 = fma(a11, m, d);                  \
    }

#ifdef K_X86
__attribute__((target("avx512f"))) static void fma_loop_avx512(size_t iters, float *sink)
{
    __m512 m = _mm512_set1_ps(0.999f), d = _mm512_set1_ps(1e-3f);
    /* distinct starting values, or the compiler merges the identical chains */
    float x = *sink;
    __m512 a0 = _mm512_set1_ps(x), a1 = _mm512_set1_ps(x + 1), a2 = _mm512_set1_ps(x + 2), a3 = _mm512_set1_ps(x + 3),
           a4 = _mm512_set1_ps(x + 4), a5 = _mm512_set1_ps(x + 5), a6 = _mm512_set1_ps(x + 6),
           a7 = _mm512_set1_ps(x + 7), a8 = _mm512_set1_ps(x + 8), a9 = _mm512_set1_ps(x + 9),
           a10 = _mm512_set1_ps(x + 10), a11 = _mm512_set1_ps(x + 11);
    FMA12(__m512, _mm512_fmadd_ps)
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    *sink = _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static void fma_loop_avx2(size_t iters, float *sink)
{
    __m256 m = _mm256_set1_ps(0.999f), d = _mm256_set1_ps(1e-3f);
    float x = *sink;
    __m256 a0 = _mm256_set1_ps(x), a1 = _mm256_set1_ps(x + 1), a2 = _mm256_set1_ps(x + 2), a3 = _mm256_set1_ps(x + 3),
           a4 = _mm256_set1_ps(x + 4), a5 = _mm256_set1_ps(x + 5), a6 = _mm256_set1_ps(x + 6),
           a7 = _mm256_set1_ps(x + 7), a8 = _mm256_set1_ps(x + 8), a9 = _mm256_set1_ps(x + 9),
           a10 = _mm256_set1_ps(x + 10), a11 = _mm256_set1_ps(x + 11);
    FMA12(__m256, _mm256_fmadd_ps)
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float t[8];
    _mm256_storeu_ps(t, s);
    *sink = t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif

static inline v4f v4_fma(v4f a, v4f m, v4f d)
{
    return a * m + d;
}

static void fma_loop_generic(size_t iters, float *sink)
{
    v4f m = {0.999f, 0.999f, 0.999f, 0.999f}, d = {1e-3f, 1e-3f, 1e-3f, 1e-3f};
    float x = *sink;
    v4f o = {1, 1, 1, 1}, a0 = {x, x, x, x}, a1 = a0 + o, a2 = a1 + o, a3 = a2 + o, a4 = a3 + o, a5 = a4 + o,
        a6 = a5 + o, a7 = a6 + o, a8 = a7 + o, a9 = a8 + o, a10 = a9 + o, a11 = a10 + o;
    FMA12(v4f, v4_fma)
    v4f s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    *sink = s[0] + s[1] + s[2] + s[3];
}

double k_gemm_fma_loop(const k_gemm_isa *isa, size_t iters, float *sink)
{
    int lanes = 4;
#ifdef K_X86
    if (isa->kernel == k_f32_gemm_12x32_avx512) {
        fma_loop_avx512(iters, sink);
        lanes = 16;
    } else if (isa->kernel == k_f32_gemm_6x16_avx2) {
        fma_loop_avx2(iters, sink);
        lanes = 8;
    } else
#endif
        fma_loop_generic(iters, sink);
    return 2.0 * 12.0 * lanes * (double)iters;
}

static const k_gemm_isa isa_generic = {"generic", G_MR, G_NR, k_f32_gemm_4x16_c, NULL, NULL, NULL, 0, NULL};
#ifdef K_X86
static const k_gemm_isa isa_avx2 = {"avx2", 6, 16, k_f32_gemm_6x16_avx2, NULL, k_f32_gemm_4x16_avx2, NULL, 0, NULL};
static const k_gemm_isa isa_avx512 = {"avx512", 12, 32, k_f32_gemm_12x32_avx512, k_f32_gemm_1x32_avx512,
                                      k_f32_gemm_4x32_avx512, k_f32_gemm_8x32_avx512, 1, k_f32_gemm_12x16_avx512};
#endif

const k_gemm_isa *k_gemm_isa_get(int level)
{
    switch (level) {
    case K_ISA_GENERIC: return &isa_generic;
#ifdef K_X86
    case K_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &isa_avx2 : NULL;
    case K_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") ? &isa_avx512 : NULL;
#endif
    default: return NULL;
    }
}

const k_gemm_isa *k_gemm_best(void)
{
    const k_gemm_isa *isa = k_gemm_isa_get(K_ISA_AVX512);
    if (!isa)
        isa = k_gemm_isa_get(K_ISA_AVX2);
    return isa ? isa : &isa_generic;
}

/* ---- driver ---- */

/* The right operand as the driver sees it: packed panels (ld == 0), or rows read in
 * place, in segments of seg rows: row k at p + koff[k / seg] + (k % seg) * ld
 * (k_f32_gemm_segmented_b; k_f32_gemm_direct_b is one segment at offset 0). */
typedef struct bsrc {
    const float *p;
    size_t ld;
    size_t seg;
    const size_t *koff;
} bsrc;

static const float *bsrc_row(const bsrc *B, size_t k)
{
    return B->p + B->koff[k / B->seg] + k % B->seg * B->ld;
}

/* Fills the store arguments of one block: the epilogue's bias, residual and clamp go
 * in only on the last K block; alpha/beta on every block (beta is 1 after the first). */
static int ustore_for(const k_epilogue *ep, int last, size_t i, size_t j, float alpha, float bk, k_ustore *u)
{
    u->alpha = alpha, u->beta = bk;
    u->rbias = u->cbias = NULL;
    u->clamp = 0, u->lo = 0, u->hi = 0;
    u->res = NULL, u->ldr = 0;
    u->rows = MAX_MR, u->cols = MAX_NR;
    u->pf[0] = u->pf[1] = NULL;
    u->pf_n[0] = u->pf_n[1] = 0;
    if (!last || !ep)
        return 0;
    if (ep->res)
        u->res = ep->res + i * ep->ldr + j, u->ldr = ep->ldr;
    if (ep->bias && ep->bias_mode == K_BIAS_ROW)
        u->rbias = ep->bias + i;
    else if (ep->bias && ep->bias_mode == K_BIAS_COL)
        u->cbias = ep->bias + j;
    if (ep->act == ACT_RELU)
        u->clamp = 1;
    else if (ep->act == ACT_CLIP)
        u->clamp = 2, u->lo = ep->act_alpha, u->hi = ep->act_beta;
    else
        return ep->act != ACT_NONE; /* the caller applies the other activations */
    return 0;
}

/* One MC x NC tile of C: rows i0..i0+m, columns j0..j0+n.
 *
 * Packed operands are usually weights that stream from memory once per run, and the
 * hardware prefetcher stops at each jump between panels. So while the microkernels
 * work on one panel slice, the next slice is prefetched into L2 in pieces: of packed B
 * the next (k block, column panel), spread over the row panels; of packed A the next
 * row panel, on the first column panel of each k block (later ones find A in L2). */
static void gemm_tile(const k_gemm_isa *isa, size_t i0, size_t m, size_t j0, size_t n, size_t N, size_t K,
                      float alpha, const float *Ap, bsrc B, float beta, float *C, size_t ldc,
                      const k_epilogue *ep)
{
    size_t mr = (size_t)isa->mr, nr = (size_t)isa->nr;
    float tmp[MAX_MR * MAX_NR];
    float cb[MAX_NR];
    float rt[MAX_MR * MAX_NR]; /* the residual of an edge tile, zero-padded */
    float bt[KC * MAX_NR]; /* a tail panel of a direct B, packed */
    k_epilogue act_only = {NULL, K_BIAS_NONE, ep ? ep->act : 0, ep ? ep->act_alpha : 0, ep ? ep->act_beta : 0};
    for (size_t k0 = 0, kc; k0 < K; k0 += kc) {
        kc = K - k0 < KC ? K - k0 : KC;
        if (B.ld && kc > B.seg - k0 % B.seg) /* a block within one segment */
            kc = B.seg - k0 % B.seg;
        float bk = k0 == 0 ? beta : 1.0f;
        int last = k0 + kc >= K;
        for (size_t j = j0; j < j0 + n; j += nr) {
            size_t nn = j0 + n - j < nr ? j0 + n - j : nr;
            const float *b;
            size_t ldb = nr;
            if (!B.ld) {
                b = B.p + (j / nr) * K * nr + k0 * nr;
            } else if (nn == nr) {
                b = bsrc_row(&B, k0) + j, ldb = B.ld;
            } else {
                for (size_t k = 0; k < kc; k++) {
                    memcpy(bt + k * nr, bsrc_row(&B, k0 + k) + j, nn * sizeof(float));
                    memset(bt + k * nr + nn, 0, (nr - nn) * sizeof(float));
                }
                b = bt;
            }
            /* the B slice after this one, when B is packed */
            const float *bnext = NULL;
            size_t bnext_n = 0, ni = (m + mr - 1) / mr;
            if (!B.ld && j + nr < j0 + n) {
                bnext = B.p + ((j + nr) / nr) * K * nr + k0 * nr, bnext_n = kc * nr;
            } else if (!B.ld && k0 + KC < K) {
                size_t kn = K - (k0 + KC) < KC ? K - (k0 + KC) : KC;
                bnext = B.p + (j0 / nr) * K * nr + (k0 + KC) * nr, bnext_n = kn * nr;
            }
            size_t bstep = (bnext_n / 16 + ni - 1) / ni; /* lines per row panel */
            for (size_t i = i0; i < i0 + m; i += mr) {
                size_t mm = i0 + m - i < mr ? i0 + m - i : mr;
                const float *a = Ap + (i / mr) * K * mr + k0 * mr;
                float *c = C + i * ldc + j;
                k_ustore u;
                int more = ustore_for(ep, last, i, j, alpha, bk, &u);
                if (bnext) {
                    size_t from = (i - i0) / mr * bstep, lines = bnext_n / 16;
                    if (from < lines) {
                        u.pf[0] = bnext + from * 16;
                        u.pf_n[0] = lines - from < bstep ? lines - from : bstep;
                        if (u.pf_n[0] > kc)
                            u.pf_n[0] = kc;
                    }
                }
                if (j == j0 && i + mr < i0 + m) {
                    u.pf[1] = a + K * mr;
                    u.pf_n[1] = kc * mr / 16 < kc ? kc * mr / 16 : kc;
                }
                u.rows = (int)mm, u.cols = (int)nn;
                if (isa->narrow && 2 * nn <= nr && mm > 8) {
                    isa->narrow(kc, a, b, ldb, c, ldc, &u);
                    if (more)
                        k_epilogue_apply(&act_only, c, ldc, i, mm, j, nn);
                    continue;
                }
                if (mm == mr && nn == nr) {
                    isa->kernel(kc, a, b, ldb, c, ldc, &u);
                    if (more)
                        k_epilogue_apply(&act_only, c, ldc, i, mm, j, nn);
                    continue;
                }
                /* a short panel: the smallest tail kernel that covers mm rows */
                k_gemm_tkernel tk = NULL;
                size_t tr = mr;
                if (mm == 1 && isa->tail1)
                    tk = isa->tail1, tr = 1;
                else if (mm <= 4 && isa->tail4)
                    tk = isa->tail4, tr = 4;
                else if (mm <= 8 && isa->tail8)
                    tk = isa->tail8, tr = 8;
                if (tk && (isa->edges || (mm == tr && nn == nr))) {
                    tk(kc, a, mr, b, ldb, c, ldc, &u);
                    if (more)
                        k_epilogue_apply(&act_only, c, ldc, i, mm, j, nn);
                    continue;
                }
                if (isa->edges) {
                    isa->kernel(kc, a, b, ldb, c, ldc, &u);
                    if (more)
                        k_epilogue_apply(&act_only, c, ldc, i, mm, j, nn);
                    continue;
                }
                /* edge tile: through tmp (valid part of C copied in when it is read) */
                if (bk != 0)
                    for (size_t ii = 0; ii < mm; ii++)
                        memcpy(tmp + ii * nr, c + ii * ldc, nn * sizeof(float));
                if (u.cbias && nn < nr) {
                    memcpy(cb, u.cbias, nn * sizeof(float));
                    memset(cb + nn, 0, (nr - nn) * sizeof(float));
                    u.cbias = cb;
                }
                float rb[MAX_MR];
                if (u.rbias && mm < mr) {
                    memcpy(rb, u.rbias, mm * sizeof(float));
                    memset(rb + mm, 0, (mr - mm) * sizeof(float));
                    u.rbias = rb;
                }
                if (u.res) {
                    memset(rt, 0, sizeof rt);
                    for (size_t ii = 0; ii < mm; ii++)
                        memcpy(rt + ii * nr, u.res + ii * u.ldr, nn * sizeof(float));
                    u.res = rt, u.ldr = nr;
                }
                u.rows = (int)mr, u.cols = (int)nr;
                if (tk)
                    tk(kc, a, mr, b, ldb, tmp, nr, &u);
                else
                    isa->kernel(kc, a, b, ldb, tmp, nr, &u);
                for (size_t ii = 0; ii < mm; ii++)
                    memcpy(c + ii * ldc, tmp + ii * nr, nn * sizeof(float));
                if (more)
                    k_epilogue_apply(&act_only, c, ldc, i, mm, j, nn);
            }
        }
    }
    (void)N;
}

/* M == 1: a row vector times packed B. The MR x NR microkernel would compute MR-1
 * rows of padding; this reads each packed panel once, which is the whole cost. */

/* Column panel p of C from its sums acc: alpha, beta, the epilogue. */
static void gemv_store(size_t N, size_t nr, float alpha, const float *acc, float beta, float *c,
                       const k_epilogue *ep, size_t p)
{
    size_t j0 = p * nr, n = N - j0 < nr ? N - j0 : nr;
    for (size_t j = 0; j < n; j++)
        c[j0 + j] = beta == 0 ? alpha * acc[j] : alpha * acc[j] + beta * c[j0 + j];
    k_epilogue_apply(ep, c + j0, 0, 0, 1, j0, n);
}

static void gemv_panel(const k_gemm_isa *isa, size_t N, size_t K, float alpha, const float *a, const float *Bp,
                       float beta, float *c, const k_epilogue *ep, size_t p)
{
    size_t nr = (size_t)isa->nr, mr = (size_t)isa->mr; /* a[k] is at a[k*mr] */
    float acc[MAX_NR] = {0};
    const float *b = Bp + p * K * nr;
#ifdef K_X86
    if (isa == &isa_avx512) {
        gemv_acc_avx512(K, a, mr, b, nr, acc, NULL, 0);
    } else
#endif
    {
        for (size_t k = 0; k < K; k++) {
            float av = a[k * mr];
            for (size_t j = 0; j < nr; j++)
                acc[j] += av * b[k * nr + j];
        }
    }
    gemv_store(N, nr, alpha, acc, beta, c, ep, p);
}

/* Panels p0 .. p1 - 1. The packed weights are one contiguous run, and read in order they
 * are one prefetch stream, which brings from memory about half of what four bring: so
 * with AVX-512 four panels at a time, from four places in the range. ResNet-50's fc (8
 * MB) in the model at one thread 0.51 to 0.53 ms -> 0.25 to 0.44 (ORT 0.30); warm, 0.13
 * -> 0.10. */
static void gemv_range(const k_gemm_isa *isa, size_t N, size_t K, float alpha, const float *a, const float *Bp,
                       float beta, float *c, const k_epilogue *ep, size_t p0, size_t p1)
{
#ifdef K_X86
    if (isa == &isa_avx512) {
        size_t nr = (size_t)isa->nr, q = (p1 - p0) / 4;
        for (size_t p = p0; p < p0 + q; p++) {
            float acc[4 * MAX_NR];
            const float *bs[4];
            for (size_t i = 0; i < 4; i++)
                bs[i] = Bp + (p + i * q) * K * nr;
            gemv_acc4_avx512(K, a, (size_t)isa->mr, bs, acc);
            for (size_t i = 0; i < 4; i++)
                gemv_store(N, nr, alpha, acc + i * MAX_NR, beta, c, ep, p + i * q);
        }
        p0 += 4 * q;
    }
#endif
    for (size_t p = p0; p < p1; p++)
        gemv_panel(isa, N, K, alpha, a, Bp, beta, c, ep, p);
}

static void gemv_packed(const k_gemm_isa *isa, size_t N, size_t K, float alpha, const float *a,
                        const float *Bp, float beta, float *c, const k_epilogue *ep, int threads)
{
    size_t nr = (size_t)isa->nr, np = (N + nr - 1) / nr;
    int nt = threads > 1 && np > 1 && (double)N * (double)K > 1e6 ? threads : 1;
    if (nt == 1) { /* no parallel region at all: callers run this inside their own */
        gemv_range(isa, N, K, alpha, a, Bp, beta, c, ep, 0, np);
        return;
    }
#pragma omp parallel num_threads(nt)
    { /* each thread a contiguous range of panels */
        size_t t = (size_t)omp_get_thread_num(), T = (size_t)omp_get_num_threads();
        gemv_range(isa, N, K, alpha, a, Bp, beta, c, ep, np * t / T, np * (t + 1) / T);
    }
}

/* Tile sizes of one product and how many tiles a row of tiles holds. */
typedef struct tiling {
    size_t mc, nc, tn;
} tiling;

/* Tile t (row-major over the tiles) of C. */
static void driver_tile(const k_gemm_isa *isa, const tiling *tl, size_t t, size_t M, size_t N, size_t K, float alpha,
                        const float *Ap, bsrc B, float beta, float *C, size_t ldc, const k_epilogue *ep)
{
    size_t i0 = t / tl->tn * tl->mc, j0 = t % tl->tn * tl->nc;
    size_t m = M - i0 < tl->mc ? M - i0 : tl->mc, n = N - j0 < tl->nc ? N - j0 : tl->nc;
    gemm_tile(isa, i0, m, j0, n, N, K, alpha, Ap, B, beta, C, ldc, ep);
}

static void gemm_driver(const k_gemm_isa *isa, size_t M, size_t N, size_t K, float alpha, const float *Ap,
                        bsrc B, float beta, float *C, size_t ldc, const k_epilogue *ep, int threads)
{
    size_t mc = (size_t)isa->mr * MC_PANELS, nc = (size_t)isa->nr * NC_PANELS;
    /* Small M: one row block, so each panel of B (usually the weights, the bulk of
     * the memory traffic) is read once; A's KC slice of all rows must stay in L2. */
    size_t mall = (M + (size_t)isa->mr - 1) / (size_t)isa->mr * (size_t)isa->mr;
    if (mall > mc && mall * KC * sizeof(float) <= SMALL_M_BYTES)
        mc = mall;
    size_t tm = (M + mc - 1) / mc, tn = (N + nc - 1) / nc, mr = (size_t)isa->mr, nr = (size_t)isa->nr;
    double flops = 2.0 * (double)M * (double)N * (double)K;
    size_t np = (N + nr - 1) / nr;
    if (threads > 1 && flops > 2e6 && np >= 2 * (size_t)threads) {
        /* Enough column panels: each thread a band of whole panels, all rows. For a
         * convolution the columns are output positions, so a thread reads and writes
         * the positions it handled in the layer before (a line another core wrote
         * costs several times a line of this core's cache); for a linear layer they are
         * features, so each thread streams its own part of the weights. */
#pragma omp parallel num_threads(threads)
        {
            size_t j0, j1;
            k_gemm_band(N, nr, (size_t)omp_get_thread_num(), (size_t)omp_get_num_threads(), &j0, &j1);
            for (size_t i = 0; i < M; i += mc)
                for (size_t j = j0; j < j1; j += nc)
                    gemm_tile(isa, i, M - i < mc ? M - i : mc, j, j1 - j < nc ? j1 - j : nc, N, K, alpha, Ap, B,
                              beta, C, ldc, ep);
        }
        return;
    }
    /* With two or more threads and fewer than two tiles each, smaller tiles share the
     * work. A tile reads its rows of A and its columns of B, so cutting rows re-reads B
     * and cutting columns re-reads A: cut the longer side, so that the operand read
     * twice is the smaller one (a 7x7 convolution's 49 output columns: cut its rows;
     * a transformer's 128 tokens: cut columns). */
    while (threads > 1 && tm * tn < (size_t)threads * 2) {
        int cut_m = mc > mr, cut_n = nc > nr;
        if (cut_m && (M >= N || !cut_n)) {
            mc = (mc / 2 + mr - 1) / mr * mr;
            tm = (M + mc - 1) / mc;
        } else if (cut_n) {
            nc = (nc / 2 + nr - 1) / nr * nr;
            tn = (N + nc - 1) / nc;
        } else {
            break;
        }
    }
    long ntiles = (long)(tm * tn);
    int nt = threads > 1 && ntiles > 1 && flops > 2e6 ? threads : 1;
    tiling tl = {mc, nc, tn};
    /* One thread: no parallel region at all (even a one-thread region costs a team,
     * about 2.4 us, and callers such as Winograd and the batched MatMul call this
     * inside their own regions for every small product). */
    if (nt == 1) {
        for (long t = 0; t < ntiles; t++)
            driver_tile(isa, &tl, (size_t)t, M, N, K, alpha, Ap, B, beta, C, ldc, ep);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt)
    for (long t = 0; t < ntiles; t++)
        driver_tile(isa, &tl, (size_t)t, M, N, K, alpha, Ap, B, beta, C, ldc, ep);
}

static int gemm_trivial(size_t M, size_t N, size_t K, float beta, float *C, size_t ldc, const k_epilogue *ep)
{
    if (M == 0 || N == 0)
        return 1;
    if (K == 0) {
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++)
                C[i * ldc + j] = beta == 0 ? 0.0f : beta * C[i * ldc + j];
        k_epilogue_apply(ep, C, ldc, 0, M, 0, N);
        return 1;
    }
    return 0;
}

void k_f32_gemm_packed(const k_gemm_isa *isa, size_t M, size_t N, size_t K, float alpha,
                       const float *Ap, const float *Bp, float beta, float *C, size_t ldc,
                       const k_epilogue *ep, int threads)
{
    if (gemm_trivial(M, N, K, beta, C, ldc, ep))
        return;
    if (M == 1) {
        gemv_packed(isa, N, K, alpha, Ap, Bp, beta, C, ep, threads);
        return;
    }
    bsrc b = {Bp, 0, 0, NULL};
    gemm_driver(isa, M, N, K, alpha, Ap, b, beta, C, ldc, ep, threads);
}

void k_f32_gemm_direct_b(const k_gemm_isa *isa, size_t M, size_t N, size_t K, float alpha, const float *Ap,
                         const float *B, size_t ldb, float beta, float *C, size_t ldc, const k_epilogue *ep,
                         int threads)
{
    static const size_t at0[1] = {0};
    k_f32_gemm_segmented_b(isa, M, N, K, alpha, Ap, B, ldb, K, at0, beta, C, ldc, ep, threads);
}

void k_f32_gemm_segmented_b(const k_gemm_isa *isa, size_t M, size_t N, size_t K, float alpha, const float *Ap,
                            const float *B, size_t ldb, size_t seg, const size_t *koff, float beta, float *C,
                            size_t ldc, const k_epilogue *ep, int threads)
{
    if (gemm_trivial(M, N, K, beta, C, ldc, ep))
        return;
    bsrc b = {B, ldb, seg, koff};
    gemm_driver(isa, M, N, K, alpha, Ap, b, beta, C, ldc, ep, threads);
}
