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
 * reads B through strides either way. The same internal MatMul also takes (made by
 * the fuse-matmul-scale and fuse-matmul-permute passes, for attention):
 *   alpha   a float the product is scaled by (before the bias and activation);
 *   perm_a, perm_b   A or B is read as Transpose(input, perm): the packing walks the
 *           input through the permuted strides (q and k as heads-first views);
 *   perm_y  the output is Transpose(product, perm) with the last axis kept last: the
 *           GEMM writes each batch entry's rows at their place in it;
 *   softmax 1: a Softmax over the output's last axis follows (fuse-matmul-softmax),
 *           applied to each batch entry's rows, in place, as soon as its GEMM has
 *           written them and while they are in cache (attention's scores).
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/act.h"
#include "kernels/gemm.h"
#include "kernels/softmax.h"
#include "ops/op.h"

/* A MatMul's attributes, read and checked once by init (ops/gemm.c's internal
 * MatMul; all defaults for the ONNX one). */
typedef struct mm_attrs {
    int tb;                        /* transB */
    int np[3];                     /* entries of perm_a, perm_b, perm_y (0: none; transB: perm_b [1, 0]) */
    int perm[3][IR_MAX_RANK];
    float alpha;
    int softmax;
} mm_attrs;

/* A Gemm's attributes, read and checked once by init. */
typedef struct gemm_attrs {
    int ta, tb; /* transA, transB */
    float alpha, beta;
} gemm_attrs;

typedef struct gemm_state {
    const k_gemm_isa *isa;
    float *bp;      /* packed B (K x N), or NULL */
    size_t K, N;
    gemm_attrs gm;  /* Gemm only */
    mm_attrs mm;    /* MatMul only */
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

static int gemm_read_attrs(op_ctx *c, gemm_attrs *at)
{
    const ir_node *n = c->node;
    int64_t ta = ir_attr_int(n, "transA", 0), tb = ir_attr_int(n, "transB", 0);
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
        return op_fail(c, NORMA_ERR_MODEL, "transA=%lld and transB=%lld must be 0 or 1",
                       (long long)ta, (long long)tb);
    at->ta = (int)ta;
    at->tb = (int)tb;
    at->alpha = ir_attr_float(n, "alpha", 1.0f);
    at->beta = ir_attr_float(n, "beta", 1.0f);
    return NORMA_OK;
}

static int gemm_init(op_ctx *c)
{
    gemm_attrs at;
    int rc = gemm_read_attrs(c, &at);
    if (rc)
        return rc;
    int tb = at.tb;
    const ir_tensor *b = c->in[1];
    if (b && b->data && b->dtype == NORMA_FLOAT && b->rank == 2) {
        size_t K = (size_t)(tb ? b->dims[1] : b->dims[0]), N = (size_t)(tb ? b->dims[0] : b->dims[1]);
        ptrdiff_t rs = tb ? 1 : (ptrdiff_t)b->dims[1], cs = tb ? (ptrdiff_t)b->dims[1] : 1;
        rc = pack_const_b(c, b->data, K, N, rs, cs);
    } else {
        rc = pack_const_b(c, NULL, 0, 0, 0, 0);
    }
    if (c->state)
        ((gemm_state *)c->state)->gm = at;
    return rc;
}

static int gemm_infer(op_ctx *c)
{
    int rc;
    if ((rc = op_check_dtype(c, 0, float_only)) || (rc = op_check_dtype(c, 1, float_only)))
        return rc;
    const ir_tensor *a = c->in[0], *b = c->in[1], *cc = c->n_in > 2 ? c->in[2] : NULL;
    if (c->opset < 11 && !cc)
        return op_fail(c, NORMA_ERR_MODEL, "input C is required before opset 11");
    if (a->rank != 2 || b->rank != 2)
        return op_fail(c, NORMA_ERR_SHAPE, "A and B must be 2-D, got ranks %d and %d", a->rank, b->rank);
    const gemm_state *s = c->state;
    gemm_attrs local = {0, 0, 1.0f, 1.0f};
    if (!s && (rc = gemm_read_attrs(c, &local)))
        return rc;
    int ta = s ? s->gm.ta : local.ta, tb = s ? s->gm.tb : local.tb;
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
    int ta = s->gm.ta, tb = s->gm.tb;
    float alpha = s->gm.alpha, beta = s->gm.beta;
    size_t M = (size_t)c->out[0]->dims[0], N = (size_t)c->out[0]->dims[1];
    size_t K = (size_t)(ta ? a->dims[0] : a->dims[1]);
    float *y = c->out[0]->data;
    float *ap = c->scratch;
    const float *bp = s->bp;
    k_f32_gemm_pack_a_mt(isa, M, K, a->data, ta ? 1 : (ptrdiff_t)a->dims[1], ta ? (ptrdiff_t)a->dims[1] : 1, ap,
                         c->threads);
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

/* 1 for a MatMul in the internal domain, which alone has the attributes below. */
static int mm_internal(const ir_node *n)
{
    return n->domain && strcmp(n->domain, "norma") == 0;
}

/* The permutation attribute `name` of a norma.MatMul (perm_a, perm_b, perm_y) into p:
 * its length, 0 when absent, -1 when it is not a permutation of 0..len-1 of at least
 * two and at most IR_MAX_RANK entries. */
static int mm_perm(const ir_node *n, const char *name, int *p)
{
    const int64_t *v;
    if (!ir_attr_find(n, name))
        return 0;
    int len = ir_attr_ints(n, name, &v);
    if (len < 2 || len > IR_MAX_RANK)
        return -1;
    unsigned seen = 0;
    for (int i = 0; i < len; i++) {
        if (v[i] < 0 || v[i] >= len || (seen >> v[i] & 1))
            return -1;
        seen |= 1u << v[i];
        p[i] = (int)v[i];
    }
    return len;
}

/* Reads and checks the attributes into at. The ONNX MatMul has none of them, so only
 * the internal domain looks. */
static int mm_read_attrs(op_ctx *c, mm_attrs *at)
{
    const ir_node *n = c->node;
    memset(at, 0, sizeof *at);
    at->alpha = 1.0f;
    if (!mm_internal(n))
        return NORMA_OK;
    int64_t tb = ir_attr_int(n, "transB", 0), sm = ir_attr_int(n, "softmax", 0);
    if (tb != 0 && tb != 1)
        return op_fail(c, NORMA_ERR_MODEL, "transB=%lld must be 0 or 1", (long long)tb);
    if (sm != 0 && sm != 1)
        return op_fail(c, NORMA_ERR_MODEL, "softmax=%lld must be 0 or 1", (long long)sm);
    static const char *const perms[] = {"perm_a", "perm_b", "perm_y"};
    for (int i = 0; i < 3; i++)
        if ((at->np[i] = mm_perm(n, perms[i], at->perm[i])) < 0)
            return op_fail(c, NORMA_ERR_MODEL, "%s is not a permutation of 2 to %d axes", perms[i], IR_MAX_RANK);
    if (tb && at->np[1])
        return op_fail(c, NORMA_ERR_MODEL, "transB and perm_b cannot both be given");
    if (tb) {
        at->np[1] = 2;
        at->perm[1][0] = 1;
        at->perm[1][1] = 0;
    }
    at->tb = (int)tb;
    at->softmax = (int)sm;
    at->alpha = ir_attr_float(n, "alpha", 1.0f);
    return NORMA_OK;
}

/* Makes the state, packing a constant B when there is one (at: the attributes). */
static int matmul_init_b(op_ctx *c, const mm_attrs *at)
{
    const ir_tensor *b = c->in[1];
    int tb = at->tb;
    if (tb) {
        if (b && b->data && b->dtype == NORMA_FLOAT && b->rank == 2) {
            /* B is (N, K): element (k, j) at B[j*K + k] */
            size_t N = (size_t)b->dims[0], K = (size_t)b->dims[1];
            return pack_const_b(c, b->data, K, N, 1, (ptrdiff_t)K);
        }
        return pack_const_b(c, NULL, 0, 0, 0, 0);
    }
    if (b && b->data && b->dtype == NORMA_FLOAT && b->rank >= 1 && !at->np[1]) {
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

static int matmul_init(op_ctx *c)
{
    mm_attrs at;
    int rc = mm_read_attrs(c, &at);
    if (rc || (rc = matmul_init_b(c, &at)))
        return rc;
    ((gemm_state *)c->state)->mm = at;
    return NORMA_OK;
}

/* One operand as the product reads it: the tensor's axes permuted (perm_a, perm_b, or
 * transB's [1, 0]), each logical axis with its stride in elements in the tensor. */
typedef struct mm_operand {
    int rank;
    int64_t dims[IR_MAX_RANK];
    int64_t str[IR_MAX_RANK];
} mm_operand;

/* Fills o from t read through perm p (np entries; 0: as stored). */
static void mm_view(const ir_tensor *t, const int *p, int np, mm_operand *o)
{
    int64_t cs[IR_MAX_RANK];
    int64_t run = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        cs[d] = run;
        run *= t->dims[d];
    }
    o->rank = t->rank;
    for (int d = 0; d < t->rank; d++) {
        int src = np ? p[d] : d;
        o->dims[d] = t->dims[src];
        o->str[d] = cs[src];
    }
}

/* A MatMul split into a batch shape (rank br), M, K, N, and where each batch entry's
 * matrices are: element (i, k) of A at a + oa + i*ars + k*acs, (k, j) of B at
 * b + ob + k*brs + j*bcs, (i, j) of Y at y + oy + i*ldc + j, with oa, ob, oy the dot
 * products of the batch index with sa, sb, sy. */
typedef struct mm_dims {
    int br;
    int64_t batch[IR_MAX_RANK];
    int64_t M, K, N;
    size_t nbatch;
    int yrank;
    int64_t ydims[IR_MAX_RANK]; /* the output tensor's shape (after perm_y) */
    ptrdiff_t ars, acs, brs, bcs, ldc;
    int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK], sy[IR_MAX_RANK];
    float alpha;
    int softmax; /* 1: per batch entry, over rows of N; 2: at the end, over the output's last axis */
} mm_dims;

/* Batch strides of operand o (its leading rank-2 axes, aligned right) against the
 * broadcast batch shape: 0 where o broadcasts. */
static void mm_batch_strides(const mm_operand *o, const mm_dims *d, int64_t *st)
{
    int ro = o->rank > 2 ? o->rank - 2 : 0;
    for (int i = 0; i < d->br; i++) {
        int j = i - (d->br - ro);
        st[i] = j >= 0 && o->dims[j] != 1 ? o->str[j] : 0;
    }
}

static int matmul_dims(op_ctx *c, mm_dims *d)
{
    const ir_tensor *a = c->in[0], *b = c->in[1];
    if (a->rank < 1 || b->rank < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "operands must have rank >= 1, got %d and %d", a->rank, b->rank);
    const gemm_state *s = c->state;
    mm_attrs local;
    const mm_attrs *at = s ? &s->mm : &local;
    int rc;
    if (!s && (rc = mm_read_attrs(c, &local)))
        return rc;
    int tb = at->tb, na = at->np[0], nb = at->np[1], ny = at->np[2];
    const int *pa = at->perm[0], *pb = at->perm[1], *py = at->perm[2];
    if (tb && b->rank != 2)
        return op_fail(c, NORMA_ERR_SHAPE, "with transB=1, B must be 2-D, got rank %d", b->rank);
    int bad_a = na && na != a->rank;
    if (bad_a || (nb && nb != b->rank))
        return op_fail(c, NORMA_ERR_SHAPE, "perm_%c has %d entries for a rank-%d operand", bad_a ? 'a' : 'b',
                       bad_a ? na : nb, bad_a ? a->rank : b->rank);
    mm_operand A, B;
    mm_view(a, pa, na, &A);
    mm_view(b, pb, nb, &B);
    int ra = A.rank, rb = B.rank;
    d->M = ra == 1 ? 1 : A.dims[ra - 2];
    d->K = A.dims[ra - 1];
    d->ars = ra == 1 ? 0 : (ptrdiff_t)A.str[ra - 2];
    d->acs = (ptrdiff_t)A.str[ra - 1];
    int64_t kb = rb == 1 ? B.dims[0] : B.dims[rb - 2];
    d->N = rb == 1 ? 1 : B.dims[rb - 1];
    d->brs = (ptrdiff_t)(rb == 1 ? B.str[0] : B.str[rb - 2]);
    d->bcs = rb == 1 ? 0 : (ptrdiff_t)B.str[rb - 1];
    if (d->K != kb)
        return op_fail(c, NORMA_ERR_SHAPE, "inner dimensions differ: A has K=%lld, B has K=%lld",
                       (long long)d->K, (long long)kb);
    if (op_broadcast_shape(ra > 2 ? ra - 2 : 0, A.dims, rb > 2 ? rb - 2 : 0, B.dims, &d->br, d->batch))
        return op_fail(c, NORMA_ERR_SHAPE, "batch dimensions of A and B do not broadcast");
    int ok;
    d->nbatch = ir_numel_checked(d->br, d->batch, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "batch size overflows");
    mm_batch_strides(&A, d, d->sa);
    mm_batch_strides(&B, d, d->sb);
    /* the product's shape, then Y's strides in it (contiguous, or through perm_y) */
    int64_t od[IR_MAX_RANK + 2];
    int r = d->br;
    memcpy(od, d->batch, sizeof(int64_t) * (size_t)r);
    if (ra >= 2)
        od[r++] = d->M;
    if (rb >= 2)
        od[r++] = d->N;
    if (r > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output rank %d exceeds %d", r, IR_MAX_RANK);
    if (ny && ny != r)
        return op_fail(c, NORMA_ERR_SHAPE, "perm_y has %d entries for a rank-%d product", ny, r);
    if (ny && rb >= 2 && py[r - 1] != r - 1) /* the GEMM writes rows of N contiguous floats */
        return op_fail(c, NORMA_ERR_SHAPE, "perm_y must keep the last axis (N) last");
    int64_t ystr[IR_MAX_RANK], run = 1;
    d->yrank = r;
    for (int i = 0; i < r; i++)
        d->ydims[i] = od[ny ? py[i] : i];
    for (int i = r - 1; i >= 0; i--) {
        ystr[ny ? py[i] : i] = run; /* output axis i holds the product's axis py[i] */
        run *= d->ydims[i];
    }
    for (int i = 0; i < d->br; i++)
        d->sy[i] = ystr[i];
    /* Y's row stride: that of the product's M axis (r - 2, or r - 1 when B is 1-D);
     * with A 1-D there is one row */
    d->ldc = ra >= 2 ? (ptrdiff_t)ystr[rb >= 2 ? r - 2 : r - 1] : (ptrdiff_t)d->N;
    d->alpha = at->alpha;
    /* with a 1-D B the output's last axis is not N: the Softmax then runs over the
     * whole output at the end */
    d->softmax = !at->softmax ? 0 : rb >= 2 ? 1 : 2;
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
    if (c->n_in > 2 && c->in[2]) {
        /* norma.MatMul: a bias of N values added to every row (fuse-matmul-add) */
        if ((rc = op_check_dtype(c, 2, float_only)))
            return rc;
        if (ir_tensor_numel(c->in[2]) != (size_t)d.N || c->in[1]->rank < 2)
            return op_fail(c, NORMA_ERR_SHAPE, "bias has %zu values, expected N=%lld",
                           ir_tensor_numel(c->in[2]), (long long)d.N);
    }
    op_set_shape(c->out[0], NORMA_FLOAT, d.yrank, d.ydims);
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
        int np = op_num_procs();
        size_t per = mm_per_gemm(isa, s, &d), par = per * (size_t)(np > 1 ? np : 1);
        if (par / (size_t)(np > 1 ? np : 1) == per && par > need)
            need = par;
    }
    c->scratch_size = need * sizeof(float);
    return NORMA_OK;
}

/* Element offsets of A, B and Y for batch entry t. */
static void mm_batch_offsets(const mm_dims *d, size_t t, int64_t *oa, int64_t *ob, int64_t *oy)
{
    *oa = *ob = *oy = 0;
    for (int i = d->br - 1; i >= 0; i--) {
        int64_t ix = (int64_t)(t % (size_t)d->batch[i]);
        t /= (size_t)d->batch[i];
        *oa += ix * d->sa[i];
        *ob += ix * d->sb[i];
        *oy += ix * d->sy[i];
    }
}

/* When the rows of every batch entry of A, and of Y, lie at one stride (the batch
 * axes and M merge into one axis, as in a contiguous A or a Transpose that only moves
 * axes of size 1), sets *ars and *ldc to those strides and returns 1: with B shared,
 * the batch is then one GEMM of nbatch*M rows. */
static int mm_rows_merge(const mm_dims *d, ptrdiff_t *ars, ptrdiff_t *ldc)
{
    int64_t dims[IR_MAX_RANK + 1], sa[IR_MAX_RANK + 1], sy[IR_MAX_RANK + 1];
    int n = 0;
    for (int i = 0; i < d->br; i++)
        if (d->batch[i] != 1) {
            dims[n] = d->batch[i];
            sa[n] = d->sa[i];
            sy[n++] = d->sy[i];
        }
    if (d->M != 1) {
        dims[n] = d->M;
        sa[n] = d->ars;
        sy[n++] = d->ldc;
    }
    for (int i = 0; i + 1 < n; i++)
        if (sa[i] != sa[i + 1] * dims[i + 1] || sy[i] != sy[i + 1] * dims[i + 1])
            return 0;
    *ars = n ? (ptrdiff_t)sa[n - 1] : d->ars;
    *ldc = n ? (ptrdiff_t)sy[n - 1] : d->ldc;
    return 1;
}

/* The fused Softmax over rows rows of n floats, ldy apart, in place. */
static void mm_softmax(float *y, size_t rows, size_t n, size_t ldy)
{
    if (ldy == n)
        k_f32_softmax_rows(0, rows, n, y, y);
    else
        for (size_t i = 0; i < rows; i++)
            k_f32_softmax_rows(0, 1, n, y + i * ldy, y + i * ldy);
}

/* The same with up to `threads` threads when the rows are many. */
static void mm_softmax_mt(float *y, size_t rows, size_t n, size_t ldy, int threads)
{
    int nt = rows * n >= 32768 && rows > 1 && threads > 1 ? threads : 1;
    if (nt == 1) {
        mm_softmax(y, rows, n, ldy);
        return;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++) {
        size_t r0 = rows * (size_t)t / (size_t)nt, r1 = rows * (size_t)(t + 1) / (size_t)nt;
        mm_softmax(y + r0 * ldy, r1 - r0, n, ldy);
    }
}

/* The fused Softmax over the whole output's last axis, after all GEMMs (softmax 2). */
static void mm_softmax_output(const mm_dims *d, float *y, int threads)
{
    size_t n = (size_t)(d->yrank ? d->ydims[d->yrank - 1] : 1);
    size_t rows = n ? d->nbatch * (size_t)d->M * (size_t)d->N / n : 0;
    mm_softmax_mt(y, rows, n, n, threads);
}

static int matmul_run(op_ctx *c)
{
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
    const float *A = c->in[0]->data, *B = c->in[1]->data;
    int b_shared = 1;
    for (int i = 0; i < d.br; i++)
        b_shared &= d.sb[i] == 0 || d.batch[i] == 1;
    float *bscr = ap + k_gemm_packed_a_floats(isa, d.nbatch * M, K);
    ptrdiff_t rs, ldc;
    if (b_shared && mm_rows_merge(&d, &rs, &ldc)) {
        /* One GEMM: (batch*M, K) x (K, N). */
        size_t rows = d.nbatch * M;
        const float *bp = s->bp;
        if (!bp) {
            k_f32_gemm_pack_b(isa, K, N, B, d.brs, d.bcs, bscr);
            bp = bscr;
        }
        k_f32_gemm_pack_a_mt(isa, rows, K, A, rs, d.acs, ap, c->threads);
        k_f32_gemm_packed(isa, rows, N, K, d.alpha, ap, bp, 0.0f, y, (size_t)ldc, &ep, c->threads);
        if (d.softmax == 1) /* the merged rows lie at one stride */
            mm_softmax_mt(y, rows, N, (size_t)ldc, c->threads);
        else if (d.softmax == 2)
            mm_softmax_output(&d, y, c->threads);
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
            int64_t oa, ob, oy;
            mm_batch_offsets(&d, (size_t)t, &oa, &ob, &oy);
            k_f32_gemm_pack_a(isa, M, K, A + oa, d.ars, d.acs, apt);
            const float *bp = s->bp;
            if (!bp) {
                k_f32_gemm_pack_b(isa, K, N, B + ob, d.brs, d.bcs, bpt);
                bp = bpt;
            }
            k_f32_gemm_packed(isa, M, N, K, d.alpha, apt, bp, 0.0f, y + oy, (size_t)d.ldc, &ep, 1);
            if (d.softmax == 1)
                mm_softmax(y + oy, M, N, (size_t)d.ldc);
        }
        if (d.softmax == 2)
            mm_softmax_output(&d, y, c->threads);
        return NORMA_OK;
    }
    for (size_t t = 0; t < d.nbatch; t++) {
        int64_t oa, ob, oy;
        mm_batch_offsets(&d, t, &oa, &ob, &oy);
        k_f32_gemm_pack_a_mt(isa, M, K, A + oa, d.ars, d.acs, ap, c->threads);
        const float *bp = s->bp;
        if (!bp) {
            k_f32_gemm_pack_b(isa, K, N, B + ob, d.brs, d.bcs, bscr);
            bp = bscr;
        }
        k_f32_gemm_packed(isa, M, N, K, d.alpha, ap, bp, 0.0f, y + oy, (size_t)d.ldc, &ep, c->threads);
        if (d.softmax == 1)
            mm_softmax_mt(y + oy, M, N, (size_t)d.ldc, c->threads);
    }
    if (d.softmax == 2)
        mm_softmax_output(&d, y, c->threads);
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

/* MatMul(A, B[, bias]) with transB, alpha, perm_a/b/y and softmax in the internal
 * domain "norma", made by the fuse-matmul-* passes (see the top of this file) */
static const op_schema matmul_bias = {"MatMul", "norma", 1, 2, 3, 1, 1, matmul_init, gemm_state_free, matmul_infer, matmul_run};

OP_TABLE(gemm) = {&gemm1, &gemm7, &gemm9, &gemm11, &gemm13, &matmul1, &matmul9, &matmul13, &matmul_bias, NULL};
