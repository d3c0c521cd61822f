/*
 * Gemm (ONNX opsets 7, 9, 11, 13): Y = alpha * op(A) * op(B) + beta * C, with
 * op = transpose when transA / transB, C broadcast unidirectionally to (M, N) and
 * optional from opset 11.
 * MatMul (ONNX opsets 1, 9, 13): numpy matmul; 1-D operands get a dimension of 1
 * prepended (A) or appended (B) that is removed from the result, and batch
 * dimensions broadcast.
 *
 * Both run the packed SGEMM of kernels/gemm.c. A constant float B (the usual weight)
 * is packed once in init; everything else is packed into scratch at run time. A
 * fused activation (node->fused_act) is applied in the GEMM epilogue.
 * "MatMul" in the internal domain "norma" (made by the fuse-matmul-add and
 * fuse-matmul-transpose passes) takes an optional third input, a bias of N values added
 * to every output row in the epilogue, and an attribute transB (0 or 1): with
 * transB=1, B must be 2-D and is read as its transpose (B is (N, K)), so a
 * Transpose(W, perm=[1,0]) in front of the MatMul need not be materialized; packing
 * reads B through strides either way.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/act.h"
#include "kernels/gemm.h"
#include "ops/op.h"

typedef struct gemm_state {
    const k_gemm_isa *isa;
    float *bp;      /* packed B (K x N), or NULL */
    size_t K, N;
} gemm_state;

static void gemm_state_free(void *p)
{
    gemm_state *s = p;
    if (!s)
        return;
    ir_big_free(s->bp);
    free(s);
}

static const int float_only[] = {NORMA_FLOAT, 0};

static k_epilogue node_epilogue(const ir_node *n)
{
    k_epilogue ep = {NULL, K_BIAS_NONE, n->fused_act, n->act_alpha, n->act_beta};
    return ep;
}

/* Makes the state and packs B (element (k,j) at B[k*rs + j*cs]) when it is known. */
static int pack_const_b(op_ctx *c, const float *B, size_t K, size_t N, ptrdiff_t rs, ptrdiff_t cs)
{
    gemm_state *s = calloc(1, sizeof *s);
    if (!s)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    c->state = s;
    s->isa = k_gemm_best();
    if (!B)
        return NORMA_OK;
    size_t nf = k_gemm_packed_b_floats(s->isa, K, N);
    s->bp = ir_big_alloc_uninit((nf ? nf : 1) * sizeof(float));
    if (!s->bp)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory packing B (%zu floats)", nf);
    k_f32_gemm_pack_b(s->isa, K, N, B, rs, cs, s->bp); /* a transposed B is transposed in registers */
    c->packed_inputs |= 1u << 1; /* B is input 1; run reads only s->bp */
    s->K = K;
    s->N = N;
    return NORMA_OK;
}

/* ---------------- Gemm ---------------- */

static int gemm_init(op_ctx *c)
{
    const ir_node *n = c->node;
    int64_t ta = ir_attr_int(n, "transA", 0), tb = ir_attr_int(n, "transB", 0);
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
        return op_fail(c, NORMA_ERR_MODEL, "transA=%lld and transB=%lld must be 0 or 1",
                       (long long)ta, (long long)tb);
    const ir_tensor *b = c->in[1];
    if (b && b->data && b->dtype == NORMA_FLOAT && b->rank == 2) {
        size_t K = (size_t)(tb ? b->dims[1] : b->dims[0]), N = (size_t)(tb ? b->dims[0] : b->dims[1]);
        ptrdiff_t rs = tb ? 1 : (ptrdiff_t)b->dims[1], cs = tb ? (ptrdiff_t)b->dims[1] : 1;
        return pack_const_b(c, b->data, K, N, rs, cs);
    }
    return pack_const_b(c, NULL, 0, 0, 0, 0);
}

static int gemm_infer(op_ctx *c)
{
    const ir_node *n = c->node;
    int rc;
    if ((rc = op_check_dtype(c, 0, float_only)) || (rc = op_check_dtype(c, 1, float_only)))
        return rc;
    const ir_tensor *a = c->in[0], *b = c->in[1], *cc = c->n_in > 2 ? c->in[2] : NULL;
    if (c->opset < 11 && !cc)
        return op_fail(c, NORMA_ERR_MODEL, "input C is required before opset 11");
    if (a->rank != 2 || b->rank != 2)
        return op_fail(c, NORMA_ERR_SHAPE, "A and B must be 2-D, got ranks %d and %d", a->rank, b->rank);
    int ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t Kb = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != Kb)
        return op_fail(c, NORMA_ERR_SHAPE, "inner dimensions differ: op(A) is %lldx%lld, op(B) is %lldx%lld",
                       (long long)M, (long long)K, (long long)Kb, (long long)N);
    if (cc) {
        if ((rc = op_check_dtype(c, 2, float_only)))
            return rc;
        if (cc->rank > 2)
            return op_fail(c, NORMA_ERR_SHAPE, "C has rank %d; it must broadcast to (%lld, %lld)", cc->rank,
                           (long long)M, (long long)N);
        int64_t cm = cc->rank == 2 ? cc->dims[0] : 1, cn = cc->rank >= 1 ? cc->dims[cc->rank - 1] : 1;
        if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
            return op_fail(c, NORMA_ERR_SHAPE, "C of shape (%lld, %lld) does not broadcast to (%lld, %lld)",
                           (long long)cm, (long long)cn, (long long)M, (long long)N);
    }
    int64_t od[2] = {M, N};
    op_set_shape(c->out[0], NORMA_FLOAT, 2, od);
    const gemm_state *s = c->state;
    const k_gemm_isa *isa = s ? s->isa : k_gemm_best();
    size_t need = k_gemm_packed_a_floats(isa, (size_t)M, (size_t)K);
    if (!s || !s->bp)
        need += k_gemm_packed_b_floats(isa, (size_t)K, (size_t)N);
    c->scratch_size = need * sizeof(float);
    return NORMA_OK;
}

static int gemm_run(op_ctx *c)
{
    const ir_node *n = c->node;
    const ir_tensor *a = c->in[0], *b = c->in[1], *cc = c->n_in > 2 ? c->in[2] : NULL;
    const gemm_state *s = c->state;
    const k_gemm_isa *isa = s->isa;
    int ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    float alpha = ir_attr_float(n, "alpha", 1.0f), beta = ir_attr_float(n, "beta", 1.0f);
    size_t M = (size_t)c->out[0]->dims[0], N = (size_t)c->out[0]->dims[1];
    size_t K = (size_t)(ta ? a->dims[0] : a->dims[1]);
    float *y = c->out[0]->data;
    float *ap = c->scratch;
    const float *bp = s->bp;
    k_f32_gemm_pack_a(isa, M, K, a->data, ta ? 1 : (ptrdiff_t)a->dims[1], ta ? (ptrdiff_t)a->dims[1] : 1, ap);
    if (!bp) {
        float *p = ap + k_gemm_packed_a_floats(isa, M, K);
        k_f32_gemm_pack_b(isa, K, N, b->data, tb ? 1 : (ptrdiff_t)b->dims[1], tb ? (ptrdiff_t)b->dims[1] : 1, p);
        bp = p;
    }
    float kb = 0;
    k_epilogue ep = node_epilogue(n);
    if (cc && beta != 0) {
        const float *cd = cc->data;
        size_t cm = cc->rank == 2 ? (size_t)cc->dims[0] : 1;
        size_t cn = cc->rank >= 1 ? (size_t)cc->dims[cc->rank - 1] : 1;
        if (beta == 1 && cm == 1 && cn == N && N > 1) {
            ep.bias = cd; /* the usual Linear bias: added in the epilogue, in cache */
            ep.bias_mode = K_BIAS_COL;
        } else if (beta == 1 && cn == 1 && cm == M && M > 1) {
            ep.bias = cd;
            ep.bias_mode = K_BIAS_ROW;
        } else {
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < N; j++)
                    y[i * N + j] = cd[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
            kb = beta;
        }
    }
    k_f32_gemm_packed(isa, M, N, K, alpha, ap, bp, kb, y, N, &ep, c->threads);
    return NORMA_OK;
}

/* ---------------- MatMul ---------------- */

/* 1 when a norma.MatMul reads B transposed; -1 when its transB is not 0 or 1. The
 * ONNX MatMul has no such attribute, so only the internal domain looks for it. */
static int mm_trans_b(const ir_node *n)
{
    if (!n->domain || strcmp(n->domain, "norma") != 0)
        return 0;
    int64_t tb = ir_attr_int(n, "transB", 0);
    return tb == 0 || tb == 1 ? (int)tb : -1;
}

static int matmul_init(op_ctx *c)
{
    const ir_tensor *b = c->in[1];
    int tb = mm_trans_b(c->node);
    if (tb < 0)
        return op_fail(c, NORMA_ERR_MODEL, "transB=%lld must be 0 or 1",
                       (long long)ir_attr_int(c->node, "transB", 0));
    if (tb) {
        if (b && b->data && b->dtype == NORMA_FLOAT && b->rank == 2) {
            /* B is (N, K): element (k, j) at B[j*K + k] */
            size_t N = (size_t)b->dims[0], K = (size_t)b->dims[1];
            return pack_const_b(c, b->data, K, N, 1, (ptrdiff_t)K);
        }
        return pack_const_b(c, NULL, 0, 0, 0, 0);
    }
    if (b && b->data && b->dtype == NORMA_FLOAT && b->rank >= 1) {
        int ok = 1;
        for (int i = 0; i + 2 < b->rank; i++)
            ok &= b->dims[i] == 1;
        if (ok) {
            size_t K = (size_t)b->dims[b->rank == 1 ? 0 : b->rank - 2];
            size_t N = b->rank == 1 ? 1 : (size_t)b->dims[b->rank - 1];
            return pack_const_b(c, b->data, K, N, (ptrdiff_t)N, 1);
        }
    }
    return pack_const_b(c, NULL, 0, 0, 0, 0);
}

/* Splits a MatMul into batch shape (ob, rank br), M, K, N. Returns 0 or an error. */
typedef struct mm_dims {
    int tb;         /* B is read transposed (norma.MatMul transB=1, B 2-D) */
    int br;
    int64_t batch[IR_MAX_RANK];
    int64_t M, K, N;
    size_t nbatch;
} mm_dims;

static int matmul_dims(op_ctx *c, mm_dims *d)
{
    const ir_tensor *a = c->in[0], *b = c->in[1];
    if (a->rank < 1 || b->rank < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "operands must have rank >= 1, got %d and %d", a->rank, b->rank);
    d->tb = mm_trans_b(c->node);
    if (d->tb < 0)
        return op_fail(c, NORMA_ERR_MODEL, "transB=%lld must be 0 or 1",
                       (long long)ir_attr_int(c->node, "transB", 0));
    if (d->tb && b->rank != 2)
        return op_fail(c, NORMA_ERR_SHAPE, "with transB=1, B must be 2-D, got rank %d", b->rank);
    d->M = a->rank == 1 ? 1 : a->dims[a->rank - 2];
    d->K = a->dims[a->rank - 1];
    int64_t kb = d->tb ? b->dims[1] : b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    d->N = d->tb ? b->dims[0] : b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (d->K != kb)
        return op_fail(c, NORMA_ERR_SHAPE, "inner dimensions differ: A has K=%lld, B has K=%lld",
                       (long long)d->K, (long long)kb);
    int ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0;
    if (op_broadcast_shape(ra, a->dims, rb, b->dims, &d->br, d->batch))
        return op_fail(c, NORMA_ERR_SHAPE, "batch dimensions of A and B do not broadcast");
    int ok;
    d->nbatch = ir_numel_checked(d->br, d->batch, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "batch size overflows");
    return NORMA_OK;
}

/* Batched MatMuls of small matrices (attention's heads) run one GEMM per thread
 * rather than threading inside each small GEMM. */
#define MM_BATCH_PAR_FLOPS 16e6

static int mm_batch_par(const mm_dims *d)
{
    return d->nbatch > 1 && 2.0 * (double)d->M * (double)d->N * (double)d->K <= MM_BATCH_PAR_FLOPS;
}

/* Scratch floats one GEMM of the batch loop packs into (A, and B when not constant). */
static size_t mm_per_gemm(const k_gemm_isa *isa, const gemm_state *s, const mm_dims *d)
{
    size_t per = k_gemm_packed_a_floats(isa, (size_t)d->M, (size_t)d->K);
    if (!s || !s->bp)
        per += k_gemm_packed_b_floats(isa, (size_t)d->K, (size_t)d->N);
    return per;
}

static int matmul_infer(op_ctx *c)
{
    int rc;
    if ((rc = op_check_dtype(c, 0, float_only)) || (rc = op_check_dtype(c, 1, float_only)))
        return rc;
    mm_dims d;
    if ((rc = matmul_dims(c, &d)))
        return rc;
    const ir_tensor *a = c->in[0], *b = c->in[1];
    int64_t od[IR_MAX_RANK];
    int r = d.br;
    memcpy(od, d.batch, sizeof(int64_t) * (size_t)r);
    if (a->rank >= 2)
        od[r++] = d.M;
    if (b->rank >= 2)
        od[r++] = d.N;
    if (r > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, IR_MAX_RANK);
    if (c->n_in > 2 && c->in[2]) {
        /* norma.MatMul: a bias of N values added to every row (fuse-matmul-add) */
        if ((rc = op_check_dtype(c, 2, float_only)))
            return rc;
        if (ir_tensor_numel(c->in[2]) != (size_t)d.N || b->rank < 2)
            return op_fail(c, NORMA_ERR_SHAPE, "bias has %zu values, expected N=%lld",
                           ir_tensor_numel(c->in[2]), (long long)d.N);
    }
    op_set_shape(c->out[0], NORMA_FLOAT, r, od);
    const gemm_state *s = c->state;
    const k_gemm_isa *isa = s ? s->isa : k_gemm_best();
    int ok;
    int64_t mm[2] = {(int64_t)d.nbatch, d.M};
    size_t rows = ir_numel_checked(2, mm, &ok); /* the single-GEMM case packs all rows */
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "too many rows");
    size_t need = k_gemm_packed_a_floats(isa, rows, (size_t)d.K);
    if (!s || !s->bp)
        need += k_gemm_packed_b_floats(isa, (size_t)d.K, (size_t)d.N);
    if (mm_batch_par(&d)) {
        /* infer does not know the run's thread count: a slice per processor */
        int np = omp_get_num_procs();
        size_t per = mm_per_gemm(isa, s, &d), par = per * (size_t)(np > 1 ? np : 1);
        if (par / (size_t)(np > 1 ? np : 1) == per && par > need)
            need = par;
    }
    c->scratch_size = need * sizeof(float);
    return NORMA_OK;
}

/* Offsets (in matrices) of A and B for batch entry t. */
static void mm_batch_offsets(const mm_dims *d, const int64_t *sa, const int64_t *sb, size_t t, int64_t *oa,
                             int64_t *ob)
{
    *oa = *ob = 0;
    for (int i = d->br - 1; i >= 0; i--) {
        int64_t ix = (int64_t)(t % (size_t)d->batch[i]);
        t /= (size_t)d->batch[i];
        *oa += ix * sa[i];
        *ob += ix * sb[i];
    }
}

static int matmul_run(op_ctx *c)
{
    const ir_tensor *a = c->in[0], *b = c->in[1];
    const gemm_state *s = c->state;
    const k_gemm_isa *isa = s->isa;
    mm_dims d;
    int rc = matmul_dims(c, &d);
    if (rc)
        return rc;
    size_t M = (size_t)d.M, K = (size_t)d.K, N = (size_t)d.N;
    k_epilogue ep = node_epilogue(c->node);
    if (c->n_in > 2 && c->in[2]) {
        ep.bias = c->in[2]->data;
        ep.bias_mode = K_BIAS_COL;
    }
    float *y = c->out[0]->data, *ap = c->scratch;
    const float *A = a->data, *B = b->data;
    /* element (k, j) of one batch entry's B at B[k*brs + j*bcs] */
    ptrdiff_t brs = d.tb ? 1 : (ptrdiff_t)N, bcs = d.tb ? (ptrdiff_t)K : 1;
    /* batch strides of A and B (in matrices) against the broadcast batch shape */
    ir_tensor ta = {0}, tb = {0};
    ta.rank = a->rank > 2 ? a->rank - 2 : 0;
    memcpy(ta.dims, a->dims, sizeof(int64_t) * (size_t)ta.rank);
    tb.rank = b->rank > 2 ? b->rank - 2 : 0;
    memcpy(tb.dims, b->dims, sizeof(int64_t) * (size_t)tb.rank);
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK];
    op_broadcast_strides(&ta, d.br, d.batch, sa);
    op_broadcast_strides(&tb, d.br, d.batch, sb);
    int b_shared = 1, a_contig = 1;
    for (int i = 0; i < d.br; i++) {
        b_shared &= sb[i] == 0 || d.batch[i] == 1;
        a_contig &= sa[i] != 0 || d.batch[i] == 1;
    }
    float *bscr = ap + k_gemm_packed_a_floats(isa, d.nbatch * M, K);
    if (b_shared && a_contig) {
        /* One GEMM: (batch*M, K) x (K, N). */
        size_t rows = d.nbatch * M;
        const float *bp = s->bp;
        if (!bp) {
            k_f32_gemm_pack_b(isa, K, N, B, brs, bcs, bscr);
            bp = bscr;
        }
        k_f32_gemm_pack_a(isa, rows, K, A, (ptrdiff_t)K, 1, ap);
        k_f32_gemm_packed(isa, rows, N, K, 1.0f, ap, bp, 0.0f, y, N, &ep, c->threads);
        return NORMA_OK;
    }
    size_t per = mm_per_gemm(isa, s, &d);
    size_t slices = per ? c->scratch_size / sizeof(float) / per : 0;
    int nt = c->threads;
    if ((size_t)nt > slices)
        nt = (int)slices;
    if ((size_t)nt > d.nbatch)
        nt = (int)d.nbatch;
    if (nt > 1 && mm_batch_par(&d)) {
        float *scr = c->scratch;
#pragma omp parallel for schedule(static) num_threads(nt)
        for (long t = 0; t < (long)d.nbatch; t++) {
            float *apt = scr + (size_t)omp_get_thread_num() * per;
            float *bpt = apt + k_gemm_packed_a_floats(isa, M, K);
            int64_t oa, ob;
            mm_batch_offsets(&d, sa, sb, (size_t)t, &oa, &ob);
            k_f32_gemm_pack_a(isa, M, K, A + (size_t)oa * M * K, (ptrdiff_t)K, 1, apt);
            const float *bp = s->bp;
            if (!bp) {
                k_f32_gemm_pack_b(isa, K, N, B + (size_t)ob * K * N, brs, bcs, bpt);
                bp = bpt;
            }
            k_f32_gemm_packed(isa, M, N, K, 1.0f, apt, bp, 0.0f, y + (size_t)t * M * N, N, &ep, 1);
        }
        return NORMA_OK;
    }
    int64_t idx[IR_MAX_RANK] = {0};
    for (size_t t = 0; t < d.nbatch; t++) {
        int64_t oa = 0, ob = 0;
        for (int i = 0; i < d.br; i++) {
            oa += idx[i] * sa[i];
            ob += idx[i] * sb[i];
        }
        k_f32_gemm_pack_a(isa, M, K, A + (size_t)oa * M * K, (ptrdiff_t)K, 1, ap);
        const float *bp = s->bp;
        if (!bp) {
            k_f32_gemm_pack_b(isa, K, N, B + (size_t)ob * K * N, brs, bcs, bscr);
            bp = bscr;
        }
        k_f32_gemm_packed(isa, M, N, K, 1.0f, ap, bp, 0.0f, y + t * M * N, N, &ep, c->threads);
        for (int i = d.br - 1; i >= 0; i--) {
            if (++idx[i] < d.batch[i])
                break;
            idx[i] = 0;
        }
    }
    return NORMA_OK;
}

/* Gemm 1 and 6 differ from 7 only in the `broadcast` attribute; numpy broadcasting
 * of C covers both of its settings. */
static const op_schema gemm1 = {"Gemm", "", 1, 3, 3, 1, 1, gemm_init, gemm_state_free, gemm_infer, gemm_run};
static const op_schema gemm7 = {"Gemm", "", 7, 3, 3, 1, 1, gemm_init, gemm_state_free, gemm_infer, gemm_run};
static const op_schema gemm9 = {"Gemm", "", 9, 3, 3, 1, 1, gemm_init, gemm_state_free, gemm_infer, gemm_run};
static const op_schema gemm11 = {"Gemm", "", 11, 2, 3, 1, 1, gemm_init, gemm_state_free, gemm_infer, gemm_run};
static const op_schema gemm13 = {"Gemm", "", 13, 2, 3, 1, 1, gemm_init, gemm_state_free, gemm_infer, gemm_run};
static const op_schema matmul1 = {"MatMul", "", 1, 2, 2, 1, 1, matmul_init, gemm_state_free, matmul_infer, matmul_run};
static const op_schema matmul9 = {"MatMul", "", 9, 2, 2, 1, 1, matmul_init, gemm_state_free, matmul_infer, matmul_run};
static const op_schema matmul13 = {"MatMul", "", 13, 2, 2, 1, 1, matmul_init, gemm_state_free, matmul_infer, matmul_run};

/* MatMul(X, W[, bias]) [transB] in the internal domain "norma", made by the
 * fuse-matmul-transpose and fuse-matmul-add passes */
static const op_schema matmul_bias = {"MatMul", "norma", 1, 2, 3, 1, 1, matmul_init, gemm_state_free, matmul_infer, matmul_run};

OP_TABLE(gemm) = {&gemm1, &gemm7, &gemm9, &gemm11, &gemm13, &matmul1, &matmul9, &matmul13, &matmul_bias, NULL};
