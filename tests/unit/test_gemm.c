/* Tests of the packed SGEMM kernels and the Gemm / MatMul ops against k_f32_gemm_ref. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/act.h"
#include "kernels/gemm.h"
#include "kernels/softmax.h"
#include "ophelp.h"
#include "testutil.h"

static const size_t sizes[] = {1, 7, 17, 33, 65};
#define NS (sizeof sizes / sizeof sizes[0])

/* Packs A and B for isa, runs the driver, and compares with the reference. */
static void check_packed(const k_gemm_isa *isa, size_t M, size_t N, size_t K, float alpha, float beta,
                         const k_epilogue *ep, int threads)
{
    float *A = malloc(sizeof(float) * (M * K + 1)), *B = malloc(sizeof(float) * (K * N + 1));
    float *C0 = malloc(sizeof(float) * M * N), *C1 = malloc(sizeof(float) * M * N);
    float *ap = malloc(sizeof(float) * (k_gemm_packed_a_floats(isa, M, K) + 1));
    float *bp = malloc(sizeof(float) * (k_gemm_packed_b_floats(isa, K, N) + 1));
    tu_fill(A, M * K, -1, 1);
    tu_fill(B, K * N, -1, 1);
    tu_fill(C0, M * N, -1, 1);
    memcpy(C1, C0, sizeof(float) * M * N);
    float *Cinit = malloc(sizeof(float) * M * N);
    memcpy(Cinit, C0, sizeof(float) * M * N);
    /* A stored transposed (K, M) to exercise the strided packer */
    k_f32_gemm_pack_a(isa, M, K, A, 1, (ptrdiff_t)M, ap);
    k_f32_gemm_pack_b(isa, K, N, B, (ptrdiff_t)N, 1, bp);
    k_f32_gemm_packed(isa, M, N, K, alpha, ap, bp, beta, C1, N, ep, threads);
    k_f32_gemm_ref(M, N, K, alpha, A, 1, (ptrdiff_t)M, B, (ptrdiff_t)N, 1, beta, C0, N, ep);
    /* sums of K products in [-1, 1] in another order than the reference's: rounding
     * grows with K (about K * 1e-7 absolute at K = 2000) */
    double atol = 1e-5 + 1e-7 * (double)K;
    double e = tu_max_rel_err(C1, C0, M * N, atol, 1e-4);
    if (e > 1)
        fail_msg("%s M=%zu N=%zu K=%zu alpha=%g beta=%g: rel err %g", isa->name, M, N, K, alpha, beta, e);
    /* B read in place, with a row stride wider than N */
    size_t ldb = N + 3;
    float *Bs = malloc(sizeof(float) * (K * ldb + 1));
    for (size_t k = 0; k < K; k++) {
        memcpy(Bs + k * ldb, B + k * N, N * sizeof(float));
        for (size_t j = N; j < ldb; j++)
            Bs[k * ldb + j] = NAN; /* must never reach C */
    }
    memcpy(C1, Cinit, sizeof(float) * M * N);
    k_f32_gemm_direct_b(isa, M, N, K, alpha, ap, Bs, ldb, beta, C1, N, ep, threads);
    e = tu_max_rel_err(C1, C0, M * N, atol, 1e-4);
    if (e > 1)
        fail_msg("%s direct B M=%zu N=%zu K=%zu alpha=%g beta=%g: rel err %g", isa->name, M, N, K, alpha, beta, e);
    free(Bs);
    free(Cinit);
    free(A);
    free(B);
    free(C0);
    free(C1);
    free(ap);
    free(bp);
}

/* B read in place in segments (k_f32_gemm_segmented_b) against the reference on the
 * same B gathered into plain rows: segments shorter than a K block, longer (300: a
 * block of 256, then 44 in the same segment) and of one row; segment starts out of
 * order and overlapping (two segments reading the same rows, as a convolution's taps
 * do); N with tail panels; NaN between and after the rows the segments read, which
 * must never reach C; every ISA; one and two threads; an epilogue. */
static void check_segmented(const k_gemm_isa *isa, size_t M, size_t N, size_t seg, size_t nseg, const k_epilogue *ep,
                            int threads)
{
    size_t K = seg * nseg, ldb = N + 5, pool = (seg + 3) * ldb * 3; /* segments share this pool */
    float *A = malloc(sizeof(float) * (M * K + 1)), *P = malloc(sizeof(float) * (pool + 64));
    float *B = malloc(sizeof(float) * (K * N + 1)), *C0 = malloc(sizeof(float) * (M * N + 1));
    float *C1 = malloc(sizeof(float) * (M * N + 1));
    float *ap = malloc(sizeof(float) * (k_gemm_packed_a_floats(isa, M, K) + 1));
    size_t koff[16];
    for (size_t i = 0; i < pool + 64; i++)
        P[i] = NAN;
    for (size_t q = 0; q < nseg; q++) /* segment q starts at a row of its own, shifted a column or two */
        koff[q] = ((nseg - 1 - q) % 3) * ldb + (q % 2) * ((seg + 3) * ldb) + q % 3;
    /* the rows the segments read get values; B holds them as plain rows */
    for (size_t k = 0; k < K; k++) {
        float *row = P + koff[k / seg] + k % seg * ldb;
        for (size_t j = 0; j < N; j++)
            if (row[j] != row[j])
                row[j] = tu_uniform(-1, 1);
    }
    for (size_t k = 0; k < K; k++)
        memcpy(B + k * N, P + koff[k / seg] + k % seg * ldb, N * sizeof(float));
    tu_fill(A, M * K, -1, 1);
    k_f32_gemm_pack_a(isa, M, K, A, (ptrdiff_t)K, 1, ap);
    k_f32_gemm_ref(M, N, K, 1.0f, A, (ptrdiff_t)K, 1, B, (ptrdiff_t)N, 1, 0.0f, C0, N, ep);
    k_f32_gemm_segmented_b(isa, M, N, K, 1.0f, ap, P, ldb, seg, koff, 0.0f, C1, N, ep, threads);
    /* sums of K products in [-1, 1] in another order: rounding grows with K */
    double e = tu_max_rel_err(C1, C0, M * N, 1e-5 + 1e-7 * (double)K, 1e-4);
    if (e > 1)
        fail_msg("%s segmented B M=%zu N=%zu seg=%zu x %zu threads %d: rel err %g", isa->name, M, N, seg, nseg,
                 threads, e);
    free(A);
    free(P);
    free(B);
    free(C0);
    free(C1);
    free(ap);
}

static void gemm_segmented_b_matches_reference(void **st)
{
    (void)st;
    tu_seed(41);
    float bias[200];
    tu_fill(bias, 200, -1, 1);
    k_epilogue row = {bias, K_BIAS_ROW, ACT_RELU, 0, 0};
    static const size_t segs[][2] = {{128, 9}, {300, 2}, {1, 7}, {37, 4}, {256, 3}, {17, 1}};
    static const size_t mn[][2] = {{13, 100}, {128, 233}, {1, 40}, {49, 32}, {130, 7}};
    for (int lvl = K_ISA_GENERIC; lvl <= K_ISA_AVX512; lvl++) {
        const k_gemm_isa *isa = k_gemm_isa_get(lvl);
        if (!isa)
            continue;
        for (size_t a = 0; a < sizeof segs / sizeof segs[0]; a++)
            for (size_t b = 0; b < sizeof mn / sizeof mn[0]; b++)
                check_segmented(isa, mn[b][0], mn[b][1], segs[a][0], segs[a][1], b % 2 ? &row : NULL,
                                1 + (int)((a + b) % 2));
    }
}

static void gemm_packed_matches_reference_awkward_shapes(void **st)
{
    (void)st;
    tu_seed(1);
    for (int lvl = K_ISA_GENERIC; lvl <= K_ISA_AVX512; lvl++) {
        const k_gemm_isa *isa = k_gemm_isa_get(lvl);
        if (!isa)
            continue;
        for (size_t a = 0; a < NS; a++)
            for (size_t b = 0; b < NS; b++)
                for (size_t c = 0; c < NS; c++)
                    check_packed(isa, sizes[a], sizes[b], sizes[c], 1.0f, 0.0f, NULL, 1);
    }
}

static void gemm_packed_alpha_beta_bias_act_match_reference(void **st)
{
    (void)st;
    tu_seed(2);
    float bias[1000]; /* a bias per column of the widest case (N = 1000) */
    tu_fill(bias, 1000, -1, 1);
    k_epilogue row = {bias, K_BIAS_ROW, ACT_RELU, 0, 0};
    k_epilogue col = {bias, K_BIAS_COL, ACT_CLIP, -0.5f, 0.5f};
    k_epilogue leaky = {NULL, K_BIAS_NONE, ACT_LEAKY_RELU, 0.1f, 0};
    for (int lvl = K_ISA_GENERIC; lvl <= K_ISA_AVX512; lvl++) {
        const k_gemm_isa *isa = k_gemm_isa_get(lvl);
        if (!isa)
            continue;
        check_packed(isa, 33, 65, 17, 0.5f, 2.0f, &row, 1);
        check_packed(isa, 7, 33, 65, -1.5f, 0.25f, &col, 1);
        check_packed(isa, 65, 7, 1, 1.0f, 1.0f, &leaky, 1);
        /* M == 1 takes the GEMV path */
        check_packed(isa, 1, 65, 33, 0.5f, 2.0f, &col, 1);
        check_packed(isa, 1, 300, 2000, 1.0f, 0.0f, &row, 2);
        check_packed(isa, 1, 40, 3, 1.0f, 0.0f, NULL, 1); /* fewer k than one unrolled step */
        /* M == 1 with four panels or more: four at a time (the last, short one among
         * them or after them), one and two threads */
        check_packed(isa, 1, 100, 33, 1.0f, 0.0f, &col, 1);
        check_packed(isa, 1, 129, 65, 0.5f, 2.0f, &row, 1);
        check_packed(isa, 1, 161, 64, 1.0f, 0.5f, &col, 1);
        check_packed(isa, 1, 1000, 517, 1.0f, 0.0f, &row, 1);
        check_packed(isa, 1, 1000, 300, -1.0f, 0.0f, &col, 2);
        check_packed(isa, 1, 1000, 1100, 1.0f, 0.0f, &row, 2); /* enough for the threads */
        /* several KC blocks and MC/NC tiles, threaded */
        check_packed(isa, 130, 290, 600, 1.0f, 0.5f, &row, 2);
        check_packed(isa, 100, 300, 257, 1.0f, 0.0f, &col, 2);
    }
}

/* Row counts whose last row panel is short: 1 row (13, 49: the 1-row kernel), 2 to 4
 * (14, 16, 28: the 4-row kernel, storing part of its tile for 2), 5 to 9 (the 8-row
 * kernel; on ISAs without edge stores 5 and 9 go through the edge buffer); full-width
 * column panels so the tail kernels store straight to C (and narrow last panels, 36
 * and 196 columns), the single row block of small M (up to a few hundred rows),
 * threaded; with a row bias + ReLU and a column bias + residual + Clip epilogue. */
static void gemm_tail_panels_and_small_m_match_reference(void **st)
{
    (void)st;
    tu_seed(7);
    static const size_t ms[] = {4, 5, 8, 9, 10, 13, 14, 16, 20, 28, 49, 64, 128, 197, 390, 420};
    float bias[512];
    tu_fill(bias, 512, -1, 1);
    float *res = malloc(sizeof(float) * 420 * 196);
    tu_fill(res, 420 * 196, -1, 1);
    k_epilogue row = {bias, K_BIAS_ROW, ACT_RELU, 0, 0};
    k_epilogue colres = {bias, K_BIAS_COL, ACT_CLIP, -0.5f, 0.5f, res, 96};
    k_epilogue colres196 = {bias, K_BIAS_COL, ACT_CLIP, -0.5f, 0.5f, res, 196};
    k_epilogue rowres = {bias, K_BIAS_ROW, ACT_RELU, 0, 0, res, 196}; /* a convolution's */
    for (int lvl = K_ISA_GENERIC; lvl <= K_ISA_AVX512; lvl++) {
        const k_gemm_isa *isa = k_gemm_isa_get(lvl);
        if (!isa)
            continue;
        for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
            check_packed(isa, ms[i], 96, 300, 1.0f, 0.0f, NULL, 1);
            check_packed(isa, ms[i], 96, 70, 0.5f, 1.0f, &row, 2);
            check_packed(isa, ms[i], 96, 33, 1.0f, 0.0f, &colres, 2);
            check_packed(isa, ms[i], 50, 260, 1.0f, 0.5f, &colres, 2);
            /* a last panel of at most 16 columns: the narrow kernel where there is one */
            check_packed(isa, ms[i], 36, 300, 0.5f, 1.0f, &row, 2);
            check_packed(isa, ms[i], 196, 70, 1.0f, 0.0f, &colres196, 2);
            /* whole tiles with alpha 1 take the plain stores: beta 0 and 1, two k blocks */
            check_packed(isa, ms[i], 196, 300, 1.0f, 0.0f, &rowres, 2);
            check_packed(isa, ms[i], 196, 300, 1.0f, 1.0f, &rowres, 1);
        }
    }
    free(res);
}

/* The fused ReLU maps NaN to 0 (x > 0 ? x : 0) and Clip keeps NaN, in every microkernel,
 * on full and edge tiles. */
static void gemm_fused_clamp_nan_semantics(void **st)
{
    (void)st;
    for (int lvl = K_ISA_GENERIC; lvl <= K_ISA_AVX512; lvl++) {
        const k_gemm_isa *isa = k_gemm_isa_get(lvl);
        if (!isa)
            continue;
        size_t M = (size_t)isa->mr * 2 + 1, N = (size_t)isa->nr + 5, K = 3;
        float *A = calloc(M * K, sizeof(float)), *B = calloc(K * N, sizeof(float)), *C = calloc(M * N, sizeof(float));
        float *ap = malloc(sizeof(float) * k_gemm_packed_a_floats(isa, M, K));
        float *bp = malloc(sizeof(float) * k_gemm_packed_b_floats(isa, K, N));
        for (size_t i = 0; i < M * K; i++)
            A[i] = -1.0f;
        for (size_t i = 0; i < K * N; i++)
            B[i] = 2.0f;
        A[0] = NAN;         /* row 0: NaN everywhere */
        A[(M - 1) * K] = NAN; /* last row (an edge tile) too */
        k_f32_gemm_pack_a(isa, M, K, A, (ptrdiff_t)K, 1, ap);
        k_f32_gemm_pack_b(isa, K, N, B, (ptrdiff_t)N, 1, bp);
        k_epilogue relu = {NULL, K_BIAS_NONE, ACT_RELU, 0, 0}, clip = {NULL, K_BIAS_NONE, ACT_CLIP, -5.0f, -4.0f};
        k_f32_gemm_packed(isa, M, N, K, 1.0f, ap, bp, 0.0f, C, N, &relu, 1);
        for (size_t j = 0; j < N; j++) {
            assert_float_equal(C[j], 0.0f, 0);
            assert_float_equal(C[(M - 1) * N + j], 0.0f, 0);
            assert_float_equal(C[N + j], 0.0f, 0); /* -6 -> 0 */
        }
        k_f32_gemm_packed(isa, M, N, K, 1.0f, ap, bp, 0.0f, C, N, &clip, 1);
        for (size_t j = 0; j < N; j++) {
            assert_true(isnan(C[j]));
            assert_true(isnan(C[(M - 1) * N + j]));
            assert_float_equal(C[N + j], -5.0f, 0); /* -6 clipped to -5 */
        }
        free(A), free(B), free(C), free(ap), free(bp);
    }
}

static void gemm_packed_k_zero_gives_beta_c(void **st)
{
    (void)st;
    const k_gemm_isa *isa = k_gemm_best();
    float C[6] = {1, 2, 3, 4, 5, 6};
    k_f32_gemm_packed(isa, 2, 3, 0, 1.0f, NULL, NULL, 2.0f, C, 3, NULL, 1);
    for (int i = 0; i < 6; i++)
        assert_float_equal(C[i], 2.0f * (float)(i + 1), 0);
}

/* Runs Gemm on A (MxK or KxM), B, optional C of shape cdims, and compares. */
static void check_gemm_op_beta(size_t M, size_t N, size_t K, int ta, int tb, int crank, const int64_t *cdims,
                               unsigned const_mask, int act, float beta)
{
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float Cv[4096], *ref = malloc(sizeof(float) * M * N);
    tu_fill(A, M * K, -1, 1);
    tu_fill(B, K * N, -1, 1);
    tu_fill(Cv, 4096, -1, 1);
    int64_t ad[2] = {(int64_t)(ta ? K : M), (int64_t)(ta ? M : K)};
    int64_t bd[2] = {(int64_t)(tb ? N : K), (int64_t)(tb ? K : N)};
    ir_tensor a = oh_tensor(2, ad, A), b = oh_tensor(2, bd, B), cc = oh_tensor(crank, cdims, Cv);
    oh_node t;
    oh_init(&t, "Gemm", 13);
    oh_int(&t, "transA", ta);
    oh_int(&t, "transB", tb);
    oh_float(&t, "alpha", 0.75f);
    oh_float(&t, "beta", beta);
    t.node.fused_act = act;
    ir_tensor *in[3] = {&a, &b, &cc}, *out[1] = {NULL};
    int rc = oh_run(&t, crank >= 0 ? 3 : 2, in, 1, out, const_mask, 2);
    assert_int_equal(rc, NORMA_OK);
    assert_int_equal(out[0]->rank, 2);
    assert_int_equal(out[0]->dims[0], (int64_t)M);
    assert_int_equal(out[0]->dims[1], (int64_t)N);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float cv = 0;
            if (crank >= 0) {
                size_t cm = crank == 2 ? (size_t)cdims[0] : 1, cn = crank >= 1 ? (size_t)cdims[crank - 1] : 1;
                cv = Cv[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
            }
            ref[i * N + j] = cv;
        }
    k_epilogue ep = {NULL, 0, act, 0, 0};
    k_f32_gemm_ref(M, N, K, 0.75f, A, ta ? 1 : (ptrdiff_t)K, ta ? (ptrdiff_t)M : 1, B, tb ? 1 : (ptrdiff_t)N,
                   tb ? (ptrdiff_t)K : 1, crank >= 0 ? beta : 0.0f, ref, N, &ep);
    double e = tu_max_rel_err(out[0]->data, ref, M * N, 1e-5, 1e-4);
    if (e > 1)
        fail_msg("Gemm M=%zu N=%zu K=%zu ta=%d tb=%d crank=%d: rel err %g", M, N, K, ta, tb, crank, e);
    ir_tensor_free(out[0]);
    free(A);
    free(B);
    free(ref);
}

static void check_gemm_op(size_t M, size_t N, size_t K, int ta, int tb, int crank, const int64_t *cdims,
                          unsigned const_mask, int act)
{
    check_gemm_op_beta(M, N, K, ta, tb, crank, cdims, const_mask, act, 1.5f);
}

static void gemm_op_transposes_and_c_broadcasts_match_reference(void **st)
{
    (void)st;
    tu_seed(3);
    int64_t full[2] = {17, 33}, row[1] = {33}, col[2] = {17, 1}, one[1] = {1};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (unsigned cm = 0; cm < 8; cm += 2) {
                check_gemm_op(17, 33, 7, ta, tb, 2, full, cm, 0);
                check_gemm_op(17, 33, 65, ta, tb, 1, row, cm, 0);
                check_gemm_op(17, 33, 1, ta, tb, 2, col, cm, 0);
                check_gemm_op(17, 33, 7, ta, tb, 0, one, cm, 0);
                check_gemm_op(17, 33, 7, ta, tb, -1, NULL, cm, 0);
            }
}

static void gemm_op_applies_fused_relu(void **st)
{
    (void)st;
    tu_seed(4);
    int64_t row[1] = {65};
    check_gemm_op(33, 65, 17, 0, 1, 1, row, 2, ACT_RELU);
    check_gemm_op(1, 65, 17, 0, 0, -1, NULL, 0, ACT_HARD_SIGMOID);
}

/* beta == 1 with a row or column vector C takes the bias epilogue instead of a prefill */
static void gemm_op_vector_bias_beta1_matches_reference(void **st)
{
    (void)st;
    tu_seed(6);
    int64_t row[1] = {65}, row2[2] = {1, 65}, col[2] = {33, 1};
    check_gemm_op_beta(33, 65, 17, 0, 1, 1, row, 2, ACT_RELU, 1.0f);
    check_gemm_op_beta(33, 65, 17, 1, 0, 2, row2, 0, 0, 1.0f);
    check_gemm_op_beta(33, 65, 17, 0, 0, 2, col, 2, ACT_SIGMOID, 1.0f);
}

static void gemm_op_rejects_inner_dimension_mismatch(void **st)
{
    (void)st;
    float A[12] = {0}, B[12] = {0};
    int64_t ad[2] = {3, 4}, bd[2] = {3, 4};
    ir_tensor a = oh_tensor(2, ad, A), b = oh_tensor(2, bd, B);
    oh_node t;
    oh_init(&t, "Gemm", 13);
    ir_tensor *in[2] = {&a, &b}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 2, in, 1, out, 2, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "Gemm 'n0': inner dimensions differ"));
}

static void gemm_op_rejects_c_that_does_not_broadcast(void **st)
{
    (void)st;
    float A[12] = {0}, B[12] = {0}, Cv[5] = {0};
    int64_t ad[2] = {3, 4}, bd[2] = {4, 3}, cd[1] = {5};
    ir_tensor a = oh_tensor(2, ad, A), b = oh_tensor(2, bd, B), cc = oh_tensor(1, cd, Cv);
    oh_node t;
    oh_init(&t, "Gemm", 13);
    ir_tensor *in[3] = {&a, &b, &cc}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 3, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "does not broadcast"));
}

/* MatMul of A (ar, ad) and B (br, bd) against a per-batch reference computed by
 * broadcasting by hand (A and B batch dims right-aligned, up to 2 batch dims). */
static void check_matmul(int ar, const int64_t *ad, int br, const int64_t *bd, unsigned const_mask)
{
    int ok;
    size_t na = ir_numel_checked(ar, ad, &ok), nb = ir_numel_checked(br, bd, &ok);
    float *A = malloc(sizeof(float) * na), *B = malloc(sizeof(float) * nb);
    tu_fill(A, na, -1, 1);
    tu_fill(B, nb, -1, 1);
    ir_tensor a = oh_tensor(ar, ad, A), b = oh_tensor(br, bd, B);
    oh_node t;
    oh_init(&t, "MatMul", 13);
    ir_tensor *in[2] = {&a, &b}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 2, in, 1, out, const_mask, 2), NORMA_OK);
    size_t M = ar == 1 ? 1 : (size_t)ad[ar - 2], K = (size_t)ad[ar - 1], N = br == 1 ? 1 : (size_t)bd[br - 1];
    /* batch dims padded to 2 */
    int64_t ab[2] = {1, 1}, bb[2] = {1, 1};
    for (int i = 0; i < ar - 2; i++)
        ab[2 - (ar - 2) + i] = ad[i];
    for (int i = 0; i < br - 2; i++)
        bb[2 - (br - 2) + i] = bd[i];
    int64_t ob[2] = {ab[0] > bb[0] ? ab[0] : bb[0], ab[1] > bb[1] ? ab[1] : bb[1]};
    size_t nbatch = (size_t)(ob[0] * ob[1]);
    assert_int_equal(ir_tensor_numel(out[0]), nbatch * M * N);
    float *ref = malloc(sizeof(float) * nbatch * M * N);
    for (int64_t i0 = 0; i0 < ob[0]; i0++)
        for (int64_t i1 = 0; i1 < ob[1]; i1++) {
            size_t oa = (size_t)((ab[0] == 1 ? 0 : i0) * ab[1] + (ab[1] == 1 ? 0 : i1));
            size_t obb = (size_t)((bb[0] == 1 ? 0 : i0) * bb[1] + (bb[1] == 1 ? 0 : i1));
            size_t o = (size_t)(i0 * ob[1] + i1);
            k_f32_gemm_ref(M, N, K, 1.0f, A + oa * M * K, (ptrdiff_t)K, 1, B + obb * K * N, (ptrdiff_t)N, 1, 0.0f,
                           ref + o * M * N, N, NULL);
        }
    double e = tu_max_rel_err(out[0]->data, ref, nbatch * M * N, 1e-5, 1e-4);
    if (e > 1)
        fail_msg("MatMul ranks %d x %d: rel err %g", ar, br, e);
    ir_tensor_free(out[0]);
    free(A);
    free(B);
    free(ref);
}

static void matmul_batched_broadcast_and_1d_match_reference(void **st)
{
    (void)st;
    tu_seed(5);
    int64_t a4[4] = {2, 1, 7, 17}, b3[3] = {3, 17, 33}, a2[2] = {65, 33}, b2[2] = {33, 7}, a1[1] = {17},
            b1[1] = {17}, a3[3] = {3, 7, 17}, b4[4] = {2, 3, 17, 1};
    for (unsigned cm = 0; cm < 4; cm += 2) {
        check_matmul(4, a4, 3, b3, cm);
        check_matmul(2, a2, 2, b2, cm);
        check_matmul(1, a1, 3, b3, cm);
        check_matmul(3, a3, 1, b1, cm);
        check_matmul(1, a1, 1, b1, cm);
        check_matmul(3, a3, 4, b4, cm);
        check_matmul(3, a3, 2, (int64_t[]){17, 1}, cm);
    }
    /* attention-like: many small GEMMs run one per thread */
    int64_t qa[4] = {2, 5, 13, 9}, kb[4] = {2, 5, 9, 13}, kb1[4] = {1, 5, 9, 13}, w2[2] = {9, 20};
    check_matmul(4, qa, 4, kb, 0);
    check_matmul(4, qa, 4, kb1, 0);
    check_matmul(4, qa, 2, w2, 0);
    check_matmul(4, qa, 2, w2, 2);
}

static void matmul_1d_shapes_drop_dimensions(void **st)
{
    (void)st;
    float A[3] = {1, 2, 3}, B[6] = {1, 2, 3, 4, 5, 6};
    int64_t ad[1] = {3}, bd[2] = {3, 2};
    ir_tensor a = oh_tensor(1, ad, A), b = oh_tensor(2, bd, B);
    oh_node t;
    oh_init(&t, "MatMul", 13);
    ir_tensor *in[2] = {&a, &b}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 2, in, 1, out, 0, 1), NORMA_OK);
    assert_int_equal(out[0]->rank, 1);
    assert_int_equal(out[0]->dims[0], 2);
    float *y = out[0]->data;
    assert_float_equal(y[0], 22, 0);
    assert_float_equal(y[1], 28, 0);
    ir_tensor_free(out[0]);
}

static void matmul_rejects_mismatched_batches(void **st)
{
    (void)st;
    float A[24] = {0}, B[24] = {0};
    int64_t ad[3] = {2, 3, 4}, bd[3] = {3, 4, 2};
    ir_tensor a = oh_tensor(3, ad, A), b = oh_tensor(3, bd, B);
    oh_node t;
    oh_init(&t, "MatMul", 13);
    ir_tensor *in[2] = {&a, &b}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 2, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "MatMul 'n0': batch dimensions"));
    int64_t bd2[2] = {5, 2};
    ir_tensor b2 = oh_tensor(2, bd2, B);
    in[1] = &b2;
    assert_int_equal(oh_run(&t, 2, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "inner dimensions differ"));
}

/* norma.MatMul with transB=1: A (ar, ad) x B^T, B (N, K) 2-D, optional bias (N),
 * against the reference reading B through strides; B constant (packed in init by the
 * register-transposing path) or not (packed with strides at run time). */
static void check_matmul_tb(int ar, const int64_t *ad, int64_t N, int bias, unsigned const_mask, int threads)
{
    int ok;
    size_t na = ir_numel_checked(ar, ad, &ok), K = (size_t)ad[ar - 1], rows = na / K;
    float *A = malloc(sizeof(float) * na), *B = malloc(sizeof(float) * (size_t)N * K);
    float *C = malloc(sizeof(float) * (size_t)N);
    tu_fill(A, na, -1, 1);
    tu_fill(B, (size_t)N * K, -1, 1);
    tu_fill(C, (size_t)N, -1, 1);
    int64_t bd[2] = {N, (int64_t)K}, cd[1] = {N};
    ir_tensor a = oh_tensor(ar, ad, A), b = oh_tensor(2, bd, B), cc = oh_tensor(1, cd, C);
    oh_node t;
    oh_init(&t, "MatMul", 1);
    t.n.domain = (char *)"norma";
    oh_int(&t, "transB", 1);
    ir_tensor *in[3] = {&a, &b, &cc}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, bias ? 3 : 2, in, 1, out, const_mask, threads), NORMA_OK);
    assert_int_equal(out[0]->rank, ar);
    assert_int_equal(out[0]->dims[ar - 1], N);
    float *ref = malloc(sizeof(float) * rows * (size_t)N);
    k_epilogue ep = {bias ? C : NULL, bias ? K_BIAS_COL : K_BIAS_NONE, 0, 0, 0};
    k_f32_gemm_ref(rows, (size_t)N, K, 1.0f, A, (ptrdiff_t)K, 1, B, 1, (ptrdiff_t)K, 0.0f, ref, (size_t)N, &ep);
    double e = tu_max_rel_err(out[0]->data, ref, rows * (size_t)N, 1e-5, 1e-4);
    if (e > 1)
        fail_msg("MatMul transB rows=%zu K=%zu N=%lld bias=%d const=%u: rel err %g", rows, K, (long long)N, bias,
                 const_mask, e);
    ir_tensor_free(out[0]);
    free(A);
    free(B);
    free(C);
    free(ref);
}

static void matmul_trans_b_matches_reference(void **st)
{
    (void)st;
    tu_seed(9);
    int64_t a2[2] = {13, 17}, a3[3] = {2, 9, 33}, a1[2] = {1, 300}, big[2] = {70, 130}, k3[2] = {5, 3};
    for (unsigned cm = 0; cm < 4; cm += 2)
        for (int bias = 0; bias < 2; bias++) {
            check_matmul_tb(2, a2, 37, bias, cm, 1);  /* partial panel, K not a multiple of 4 */
            check_matmul_tb(3, a3, 70, bias, cm, 2);  /* batched A, two full panels and a tail */
            check_matmul_tb(2, a1, 65, bias, cm, 1);  /* one row */
            check_matmul_tb(2, big, 96, bias, cm, 2); /* full panels only (any NR dividing 96) */
            check_matmul_tb(2, k3, 1, bias, cm, 1);   /* N = 1, K < 4 */
        }
}

static void matmul_trans_b_rejects_bad_attribute_and_rank(void **st)
{
    (void)st;
    float A[24] = {0}, B[24] = {0};
    int64_t ad[2] = {6, 4}, bd[3] = {2, 3, 4}, bd2[2] = {3, 4};
    ir_tensor a = oh_tensor(2, ad, A), b = oh_tensor(3, bd, B), b2 = oh_tensor(2, bd2, B);
    oh_node t;
    oh_init(&t, "MatMul", 1);
    t.n.domain = (char *)"norma";
    oh_int(&t, "transB", 1);
    ir_tensor *in[2] = {&a, &b}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 2, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "B must be 2-D"));
    oh_node t2;
    oh_init(&t2, "MatMul", 1);
    t2.n.domain = (char *)"norma";
    oh_int(&t2, "transB", 2);
    in[1] = &b2;
    assert_int_equal(oh_run(&t2, 2, in, 1, out, 0, 1), NORMA_ERR_MODEL);
    assert_non_null(strstr(t2.err, "transB=2 must be 0 or 1"));
    /* an ONNX MatMul has no transB: the attribute is not read there */
    oh_node t3;
    oh_init(&t3, "MatMul", 13);
    oh_int(&t3, "transB", 1);
    int64_t bd3[2] = {4, 3};
    ir_tensor b3 = oh_tensor(2, bd3, B);
    in[1] = &b3;
    assert_int_equal(oh_run(&t3, 2, in, 1, out, 0, 1), NORMA_OK);
    assert_int_equal(out[0]->dims[1], 3);
    ir_tensor_free(out[0]);
}

/* x (rank r, dims d) transposed by perm p into a new buffer; its dims into od. */
static float *permuted(const float *x, int r, const int64_t *d, const int *p, int64_t *od)
{
    int64_t st[8], n = 1;
    for (int i = r - 1; i >= 0; i--) {
        st[i] = n;
        n *= d[i];
    }
    for (int i = 0; i < r; i++)
        od[i] = d[p[i]];
    float *y = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t o = 0; o < n; o++) {
        int64_t rem = o, src = 0;
        for (int i = r - 1; i >= 0; i--) {
            src += rem % od[i] * st[p[i]];
            rem /= od[i];
        }
        y[o] = x[src];
    }
    return y;
}

/* norma.MatMul reading A and B through perm_a / perm_b, scaling by alpha and writing
 * Y through perm_y (attention's transposes), against Transposes done by hand, a
 * reference product per batch entry (B broadcast when 2-D) and a Transpose of the
 * result. Ranks of A and B after perm are equal, or B is 2-D. */
typedef struct mm_perm_case {
    int ar;
    int64_t ad[4];
    int pa[4]; /* pa[0] < 0: no perm_a */
    int br;
    int64_t bd[4];
    int pb[4];
    int py[4]; /* py[0] < 0: no perm_y */
    float alpha;
    int bias;
    int softmax; /* a fused Softmax over the product's rows */
} mm_perm_case;

static void check_matmul_perm(const mm_perm_case *c, unsigned const_mask, int threads)
{
    static const int ident[4] = {0, 1, 2, 3};
    int ok;
    size_t na = ir_numel_checked(c->ar, c->ad, &ok), nb = ir_numel_checked(c->br, c->bd, &ok);
    float *A = malloc(sizeof(float) * na), *B = malloc(sizeof(float) * nb);
    tu_fill(A, na, -1, 1);
    tu_fill(B, nb, -1, 1);
    int64_t la[4], lb[4];
    float *Al = permuted(A, c->ar, c->ad, c->pa[0] < 0 ? ident : c->pa, la);
    float *Bl = permuted(B, c->br, c->bd, c->pb[0] < 0 ? ident : c->pb, lb);
    int r = c->ar;
    size_t M = (size_t)la[r - 2], K = (size_t)la[r - 1], N = (size_t)lb[c->br - 1], nbatch = 1;
    int64_t pd[4];
    for (int i = 0; i < r - 2; i++) {
        nbatch *= (size_t)la[i];
        pd[i] = la[i];
    }
    pd[r - 2] = (int64_t)M;
    pd[r - 1] = (int64_t)N;
    float *bias = malloc(sizeof(float) * N);
    tu_fill(bias, N, -1, 1);
    k_epilogue ep = {c->bias ? bias : NULL, c->bias ? K_BIAS_COL : K_BIAS_NONE, 0, 0, 0};
    float *P = malloc(sizeof(float) * nbatch * M * N);
    for (size_t t = 0; t < nbatch; t++)
        k_f32_gemm_ref(M, N, K, c->alpha, Al + t * M * K, (ptrdiff_t)K, 1, Bl + (c->br == 2 ? 0 : t * K * N),
                       (ptrdiff_t)N, 1, 0.0f, P + t * M * N, N, &ep);
    if (c->softmax)
        k_f32_softmax_ref(0, nbatch * M, N, 1, P, P);
    int64_t yd[4];
    float *ref = permuted(P, r, pd, c->py[0] < 0 ? ident : c->py, yd);

    int64_t bdn[1] = {(int64_t)N};
    ir_tensor a = oh_tensor(c->ar, c->ad, A), b = oh_tensor(c->br, c->bd, B), cb = oh_tensor(1, bdn, bias);
    oh_node t;
    oh_init(&t, "MatMul", 1);
    t.n.domain = (char *)"norma";
    int64_t v[4];
    if (c->pa[0] >= 0) {
        for (int i = 0; i < c->ar; i++)
            v[i] = c->pa[i];
        oh_ints(&t, "perm_a", c->ar, v);
    }
    if (c->pb[0] >= 0) {
        for (int i = 0; i < c->br; i++)
            v[i] = c->pb[i];
        oh_ints(&t, "perm_b", c->br, v);
    }
    if (c->py[0] >= 0) {
        for (int i = 0; i < r; i++)
            v[i] = c->py[i];
        oh_ints(&t, "perm_y", r, v);
    }
    if (c->alpha != 1.0f)
        oh_float(&t, "alpha", c->alpha);
    if (c->softmax)
        oh_int(&t, "softmax", 1);
    ir_tensor *in[3] = {&a, &b, &cb}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, c->bias ? 3 : 2, in, 1, out, const_mask, threads), NORMA_OK);
    assert_int_equal(out[0]->rank, r);
    for (int i = 0; i < r; i++)
        assert_int_equal(out[0]->dims[i], yd[i]);
    double e = tu_max_rel_err(out[0]->data, ref, nbatch * M * N, 1e-5, 1e-4);
    if (e > 1)
        fail_msg("MatMul perms (A rank %d, B rank %d, %zux%zux%zu, %zu batches) const=%u threads=%d: rel err %g",
                 c->ar, c->br, M, K, N, nbatch, const_mask, threads, e);
    ir_tensor_free(out[0]);
    free(A);
    free(B);
    free(Al);
    free(Bl);
    free(P);
    free(ref);
    free(bias);
}

static void matmul_perms_and_alpha_match_transposes(void **st)
{
    (void)st;
    tu_seed(31);
    static const mm_perm_case cases[] = {
        /* q (L, heads, d) -> (heads, L, d) times k (L, heads, d) -> (heads, d, L), scaled */
        {3, {13, 3, 7}, {1, 0, 2}, 3, {13, 3, 7}, {1, 2, 0}, {-1}, 0.37f, 0},
        /* probabilities (heads, L, L) times v -> (heads, L, d), written back as (L, heads, d) */
        {3, {3, 13, 13}, {-1}, 3, {13, 3, 7}, {1, 0, 2}, {1, 0, 2}, 1.0f, 0},
        /* products too large for one GEMM per thread (the sequential batch loop) */
        {3, {220, 2, 230}, {1, 0, 2}, 3, {2, 230, 210}, {-1}, {1, 0, 2}, 0.5f, 0},
        /* 4-D heads-first views, an output perm moving the batch axes */
        {4, {2, 5, 3, 6}, {0, 2, 1, 3}, 4, {2, 3, 4, 6}, {0, 1, 3, 2}, {1, 2, 0, 3}, -1.5f, 0},
        /* a 2-D B read transposed through perm_b and broadcast, with a bias */
        {3, {3, 4, 5}, {0, 2, 1}, 2, {17, 4}, {1, 0}, {1, 0, 2}, 2.0f, 1},
        /* a Transpose moving only an axis of size 1 (batch-first to sequence-first): one
         * GEMM over all rows, also when Y is moved back */
        {3, {1, 13, 9}, {1, 0, 2}, 2, {9, 11}, {-1}, {-1}, 1.0f, 1},
        {3, {1, 13, 9}, {1, 0, 2}, 2, {9, 11}, {-1}, {1, 0, 2}, 1.0f, 0},
        /* A's rows merge across the batch but Y's, moved by perm_y, do not */
        {3, {3, 5, 4}, {-1}, 2, {4, 6}, {-1}, {1, 0, 2}, 1.0f, 0},
        /* A with columns strided (perm [0, 2, 1]) and a tail panel */
        {3, {2, 33, 19}, {0, 2, 1}, 3, {2, 33, 35}, {-1}, {-1}, 1.0f, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int threads = 1; threads <= 2; threads++) {
            check_matmul_perm(&cases[i], 0, threads);
            check_matmul_perm(&cases[i], 2, threads); /* B shown to init as a constant */
            mm_perm_case sm = cases[i]; /* the same with a fused Softmax */
            sm.softmax = 1;
            check_matmul_perm(&sm, 0, threads);
        }
}

/* perm_y on a product with a 1-D B: (2, 3, 5) x (5) is (2, 3), written as (3, 2). */
static void matmul_perm_y_with_vector_b(void **st)
{
    (void)st;
    tu_seed(33);
    float A[30], B[5];
    tu_fill(A, 30, -1, 1);
    tu_fill(B, 5, -1, 1);
    int64_t ad[3] = {2, 3, 5}, bd[1] = {5};
    ir_tensor a = oh_tensor(3, ad, A), b = oh_tensor(1, bd, B);
    oh_node t;
    oh_init(&t, "MatMul", 1);
    t.n.domain = (char *)"norma";
    oh_ints(&t, "perm_y", 2, (int64_t[]){1, 0});
    ir_tensor *in[2] = {&a, &b}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 2, in, 1, out, 0, 1), NORMA_OK);
    assert_int_equal(out[0]->rank, 2);
    assert_int_equal(out[0]->dims[0], 3);
    assert_int_equal(out[0]->dims[1], 2);
    const float *y = out[0]->data;
    for (int bt = 0; bt < 2; bt++)
        for (int i = 0; i < 3; i++) {
            double r = 0;
            for (int k = 0; k < 5; k++)
                r += (double)A[(bt * 3 + i) * 5 + k] * B[k];
            assert_float_equal(y[i * 2 + bt], r, 1e-5);
        }
    ir_tensor_free(out[0]);
}

/* A fused Softmax with a 1-D B runs over the output's last axis (M here), after the
 * product: (2, 3, 5) x (5) is (2, 3), each row of 3 normalized. */
static void matmul_softmax_with_vector_b(void **st)
{
    (void)st;
    tu_seed(35);
    float A[30], B[5], P[6];
    tu_fill(A, 30, -1, 1);
    tu_fill(B, 5, -1, 1);
    for (int r = 0; r < 6; r++) {
        double acc = 0;
        for (int k = 0; k < 5; k++)
            acc += (double)A[r * 5 + k] * B[k];
        P[r] = (float)acc;
    }
    k_f32_softmax_ref(0, 2, 3, 1, P, P);
    int64_t ad[3] = {2, 3, 5}, bd[1] = {5};
    ir_tensor a = oh_tensor(3, ad, A), b = oh_tensor(1, bd, B);
    oh_node t;
    oh_init(&t, "MatMul", 1);
    t.n.domain = (char *)"norma";
    oh_int(&t, "softmax", 1);
    ir_tensor *in[2] = {&a, &b}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 2, in, 1, out, 0, 2), NORMA_OK);
    for (int i = 0; i < 6; i++)
        assert_float_equal(((float *)out[0]->data)[i], P[i], 1e-6);
    ir_tensor_free(out[0]);
}

static void matmul_perms_reject_bad_attributes(void **st)
{
    (void)st;
    float A[60] = {0}, B[60] = {0};
    int64_t ad[3] = {3, 4, 5}, bd[3] = {3, 5, 4};
    ir_tensor a = oh_tensor(3, ad, A), b = oh_tensor(3, bd, B);
    ir_tensor *in[2] = {&a, &b}, *out[1] = {NULL};
    struct {
        const char *name;
        int n;
        int64_t v[4];
        int status;
        const char *msg;
    } bad[] = {
        {"perm_a", 3, {0, 0, 1}, NORMA_ERR_MODEL, "not a permutation"},
        {"perm_b", 2, {1, 0}, NORMA_ERR_SHAPE, "perm_b has 2 entries for a rank-3 operand"},
        {"perm_y", 3, {0, 2, 1}, NORMA_ERR_SHAPE, "perm_y must keep the last axis (N) last"},
        {"perm_y", 2, {1, 0}, NORMA_ERR_SHAPE, "perm_y has 2 entries for a rank-3 product"},
        {"perm_a", 1, {0}, NORMA_ERR_MODEL, "not a permutation"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        oh_node t;
        oh_init(&t, "MatMul", 1);
        t.n.domain = (char *)"norma";
        oh_ints(&t, bad[i].name, bad[i].n, bad[i].v);
        assert_int_equal(oh_run(&t, 2, in, 1, out, 0, 1), bad[i].status);
        if (!strstr(t.err, bad[i].msg))
            fail_msg("%s: got '%s'", bad[i].name, t.err);
    }
    oh_node t;
    oh_init(&t, "MatMul", 1);
    t.n.domain = (char *)"norma";
    oh_int(&t, "transB", 1);
    oh_ints(&t, "perm_b", 2, (int64_t[]){1, 0});
    int64_t b2d[2] = {4, 5};
    ir_tensor b2 = oh_tensor(2, b2d, B);
    in[1] = &b2;
    assert_int_equal(oh_run(&t, 2, in, 1, out, 0, 1), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "cannot both"));
}

/* Packing row-major A, or B stored transposed (the 4x4 transposing paths), gives
 * exactly the panels of the element-by-element paths, for every ISA, with row and
 * column counts that leave partial panels and partial 4-blocks. */
/* Packing A with two threads (whole panels each) writes the same floats as one, for
 * row-major and transposed A, with a last partial panel. */
static void gemm_pack_a_threads_match_one_thread(void **st)
{
    (void)st;
    tu_seed(26);
    for (int lvl = K_ISA_GENERIC; lvl <= K_ISA_AVX512; lvl++) {
        const k_gemm_isa *isa = k_gemm_isa_get(lvl);
        if (!isa)
            continue;
        size_t M = 197, K = 771, n = k_gemm_packed_a_floats(isa, M, K);
        float *A = malloc(sizeof(float) * M * K), *p1 = malloc(sizeof(float) * n), *p2 = malloc(sizeof(float) * n);
        tu_fill(A, M * K, -1, 1);
        for (int tr = 0; tr < 2; tr++) {
            ptrdiff_t rs = tr ? 1 : (ptrdiff_t)K, cs = tr ? (ptrdiff_t)M : 1;
            memset(p1, 0x11, sizeof(float) * n);
            memset(p2, 0x22, sizeof(float) * n);
            k_f32_gemm_pack_a(isa, M, K, A, rs, cs, p1);
            k_f32_gemm_pack_a_mt(isa, M, K, A, rs, cs, p2, 2);
            if (memcmp(p1, p2, sizeof(float) * n))
                fail_msg("isa %s transposed %d: two threads pack differently", isa->name, tr);
        }
        free(A);
        free(p1);
        free(p2);
    }
}

static void gemm_pack_row_major_and_transposed_match_strided_packing(void **st)
{
    (void)st;
    tu_seed(21);
    static const size_t ms[] = {1, 4, 11, 12, 13, 24, 25, 37}, ks[] = {1, 3, 4, 5, 8, 17, 64};
    for (int lvl = K_ISA_GENERIC; lvl <= K_ISA_AVX512; lvl++) {
        const k_gemm_isa *isa = k_gemm_isa_get(lvl);
        if (!isa)
            continue;
        for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++)
            for (size_t b = 0; b < sizeof ks / sizeof ks[0]; b++) {
                size_t M = ms[a], K = ks[b], lda = K + 3, n = k_gemm_packed_a_floats(isa, M, K);
                float *A = malloc(sizeof(float) * M * lda), *At = malloc(sizeof(float) * M * K);
                float *p0 = malloc(sizeof(float) * n), *p1 = malloc(sizeof(float) * n);
                tu_fill(A, M * lda, -1, 1);
                for (size_t i = 0; i < M; i++)
                    for (size_t k = 0; k < K; k++)
                        At[k * M + i] = A[i * lda + k];
                k_f32_gemm_pack_a(isa, M, K, A, (ptrdiff_t)lda, 1, p0);
                k_f32_gemm_pack_a(isa, M, K, At, 1, (ptrdiff_t)M, p1);
                if (memcmp(p0, p1, sizeof(float) * n) != 0)
                    fail_msg("%s M=%zu K=%zu: packed panels differ", isa->name, M, K);
                /* the same matrix as a K x M right operand: row-major (copies) against
                 * stored transposed (A, the register-transposing path) */
                size_t nb = k_gemm_packed_b_floats(isa, K, M);
                float *q0 = malloc(sizeof(float) * nb), *q1 = malloc(sizeof(float) * nb);
                k_f32_gemm_pack_b(isa, K, M, At, (ptrdiff_t)M, 1, q0);
                k_f32_gemm_pack_b(isa, K, M, A, 1, (ptrdiff_t)lda, q1);
                if (memcmp(q0, q1, sizeof(float) * nb) != 0)
                    fail_msg("%s K=%zu N=%zu: packed B panels differ", isa->name, K, M);
                free(q0), free(q1);
                free(A), free(At), free(p0), free(p1);
            }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gemm_packed_matches_reference_awkward_shapes),
        cmocka_unit_test(gemm_segmented_b_matches_reference),
        cmocka_unit_test(gemm_packed_alpha_beta_bias_act_match_reference),
        cmocka_unit_test(gemm_pack_row_major_and_transposed_match_strided_packing),
        cmocka_unit_test(gemm_pack_a_threads_match_one_thread),
        cmocka_unit_test(gemm_packed_k_zero_gives_beta_c),
        cmocka_unit_test(gemm_tail_panels_and_small_m_match_reference),
        cmocka_unit_test(gemm_fused_clamp_nan_semantics),
        cmocka_unit_test(gemm_op_transposes_and_c_broadcasts_match_reference),
        cmocka_unit_test(gemm_op_applies_fused_relu),
        cmocka_unit_test(gemm_op_vector_bias_beta1_matches_reference),
        cmocka_unit_test(gemm_op_rejects_inner_dimension_mismatch),
        cmocka_unit_test(gemm_op_rejects_c_that_does_not_broadcast),
        cmocka_unit_test(matmul_batched_broadcast_and_1d_match_reference),
        cmocka_unit_test(matmul_1d_shapes_drop_dimensions),
        cmocka_unit_test(matmul_rejects_mismatched_batches),
        cmocka_unit_test(matmul_trans_b_matches_reference),
        cmocka_unit_test(matmul_trans_b_rejects_bad_attribute_and_rank),
        cmocka_unit_test(matmul_perms_and_alpha_match_transposes),
        cmocka_unit_test(matmul_perms_reject_bad_attributes),
        cmocka_unit_test(matmul_perm_y_with_vector_b),
        cmocka_unit_test(matmul_softmax_with_vector_b),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
