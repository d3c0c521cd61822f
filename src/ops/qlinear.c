/*
 * Integer matrix multiplication and convolution (ONNX spec: MatMulInteger,
 * QLinearMatMul, ConvInteger, QLinearConv; all opset 10).
 *
 *   MatMulInteger: y int32 = (a - a_zero_point) x (b - b_zero_point), numpy matmul
 *                  broadcasting; a's zero point per tensor or per row (M entries), b's
 *                  per tensor or per column (N entries).
 *   QLinearMatMul: the same product requantized: y = saturate(round(acc * a_scale *
 *                  b_scale / y_scale) + y_zero_point), y uint8 or int8.
 *   ConvInteger:   Conv's geometry (groups, strides, dilations, pads, auto_pad) on 8-bit
 *                  x and w, int32 y; x's zero point per tensor, w's per tensor or per
 *                  output channel.
 *   QLinearConv:   ConvInteger plus an int32 bias, requantized like QLinearMatMul, with
 *                  w_scale per tensor or per output channel.
 *
 * Every operand is 8-bit (uint8 or int8, mixed freely). Each product widens its
 * operands minus their zero points to int16 in scratch (im2col for convolutions) and
 * runs the int32-accumulating GEMM of kernels/quant.h.
 */
#include <string.h>

#include "kernels/conv.h"
#include "kernels/quant.h"
#include "ops/op.h"
#include "ops/window.h"

static int is_q8(int dt)
{
    return dt == NORMA_UINT8 || dt == NORMA_INT8;
}

static int check_q8(op_ctx *c, int i, const char *what)
{
    if (!c->in[i])
        return op_fail(c, NORMA_ERR_MODEL, "input %s is missing", what);
    if (!is_q8(c->in[i]->dtype))
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "%s has dtype %s; uint8 or int8 are supported", what,
                       ir_dtype_name(c->in[i]->dtype));
    return NORMA_OK;
}

/*
 * Checks quantization parameter input i (a scale or zero point): dtype (0 accepts
 * uint8 or int8) and 1 or n entries. *stride is 0 for one entry, 1 for n. An omitted
 * optional input gives stride 0 and is accepted when optional is set.
 */
static int check_param(op_ctx *c, int i, const char *what, int dtype, int64_t n, int optional, size_t *stride)
{
    const ir_tensor *t = i < c->n_in ? c->in[i] : NULL;
    *stride = 0;
    if (!t)
        return optional ? NORMA_OK : op_fail(c, NORMA_ERR_MODEL, "input %s is missing", what);
    if (dtype && t->dtype != dtype)
        return op_fail(c, NORMA_ERR_SHAPE, "%s has dtype %s but %s is expected", what, ir_dtype_name(t->dtype),
                       ir_dtype_name(dtype));
    if (!dtype && !is_q8(t->dtype))
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "%s has dtype %s; uint8 or int8 are supported", what,
                       ir_dtype_name(t->dtype));
    int ok;
    size_t ne = ir_numel_checked(t->rank, t->dims, &ok);
    if (ok && ne == 1)
        return NORMA_OK;
    if (ok && n >= 0 && ne == (size_t)n && t->rank <= 2) {
        *stride = 1;
        return NORMA_OK;
    }
    return op_fail(c, NORMA_ERR_SHAPE, "%s has %zu entries; expected 1 or %lld", what, ne, (long long)n);
}

/* The first entry of an 8-bit or int32 tensor as int32 (0 when t is NULL). */
static int32_t first_int(const ir_tensor *t)
{
    if (!t)
        return 0;
    switch (t->dtype) {
    case NORMA_UINT8: return *(const uint8_t *)t->data;
    case NORMA_INT8: return *(const int8_t *)t->data;
    default: return *(const int32_t *)t->data;
    }
}

/* ---------------- matrix products ---------------- */

typedef struct mm_geom {
    int64_t M, N, K;
    size_t batch;                  /* product of the broadcast batch dims */
    int nb;                        /* batch rank */
    int64_t bdims[IR_MAX_RANK];
    int64_t astr[IR_MAX_RANK], bstr[IR_MAX_RANK]; /* batch strides in matrices (0 broadcasts) */
    int rank;                      /* output */
    int64_t dims[IR_MAX_RANK];
    size_t scratch;                /* bytes: int32 acc (when requantizing) + int16 A + int16 B */
} mm_geom;

/* numpy matmul geometry of a = in[ia], b = in[ib] (rank >= 1). */
static int mm_geometry(op_ctx *c, int ia, int ib, int requant, mm_geom *g)
{
    const ir_tensor *a = c->in[ia], *b = c->in[ib];
    if (a->rank < 1 || b->rank < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "inputs must have rank >= 1 (A has %d, B has %d)", a->rank, b->rank);
    memset(g, 0, sizeof *g);
    int ra = a->rank, rb = b->rank;
    g->M = ra == 1 ? 1 : a->dims[ra - 2];
    g->K = a->dims[ra - 1];
    int64_t kb = rb == 1 ? b->dims[0] : b->dims[rb - 2];
    g->N = rb == 1 ? 1 : b->dims[rb - 1];
    if (kb != g->K)
        return op_fail(c, NORMA_ERR_SHAPE, "A has K=%lld columns but B has %lld rows", (long long)g->K,
                       (long long)kb);
    int nba = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
    if (op_broadcast_shape(nba, a->dims, nbb, b->dims, &g->nb, g->bdims))
        return op_fail(c, NORMA_ERR_SHAPE, "batch dimensions of A and B do not broadcast");
    ir_tensor ta = {.rank = nba}, tb = {.rank = nbb};
    memcpy(ta.dims, a->dims, sizeof(int64_t) * (size_t)nba);
    memcpy(tb.dims, b->dims, sizeof(int64_t) * (size_t)nbb);
    op_broadcast_strides(&ta, g->nb, g->bdims, g->astr);
    op_broadcast_strides(&tb, g->nb, g->bdims, g->bstr);
    g->rank = 0;
    for (int i = 0; i < g->nb; i++)
        g->dims[g->rank++] = g->bdims[i];
    if (ra > 1)
        g->dims[g->rank++] = g->M;
    if (rb > 1)
        g->dims[g->rank++] = g->N;
    int ok1, ok2, ok3, ok4;
    g->batch = ir_numel_checked(g->nb, g->bdims, &ok1);
    int64_t mk[2] = {g->M, g->K}, kn[2] = {g->K, g->N}, mn[2] = {g->M, g->N};
    size_t nmk = ir_numel_checked(2, mk, &ok2), nkn = ir_numel_checked(2, kn, &ok3), nmn = ir_numel_checked(2, mn, &ok4);
    if (!ok1 || !ok2 || !ok3 || !ok4 || nmk > SIZE_MAX / 8 || nkn > SIZE_MAX / 8 || nmn > SIZE_MAX / 8)
        return op_fail(c, NORMA_ERR_SHAPE, "sizes overflow");
    size_t acc = requant ? (nmn * 4 + 63) / 64 * 64 : 0;
    g->scratch = acc + (nmk * 2 + 63) / 64 * 64 + nkn * 2;
    return NORMA_OK;
}

/* Offsets (in matrices) of A and B for batch index i. */
static void mm_batch_offsets(const mm_geom *g, size_t i, size_t *oa, size_t *ob)
{
    size_t a = 0, b = 0;
    for (int d = g->nb - 1; d >= 0; d--) {
        size_t k = i % (size_t)g->bdims[d];
        i /= (size_t)g->bdims[d];
        a += k * (size_t)g->astr[d];
        b += k * (size_t)g->bstr[d];
    }
    *oa = a;
    *ob = b;
}

typedef struct mm_zp {
    const void *azp, *bzp;
    size_t azp_s, bzp_s;
} mm_zp;

/*
 * Runs the batched product of A (in[ia]) and B (in[ib]) with zero points z. Without
 * q the int32 result goes to out[0]; with q it is requantized into out[0].
 */
static void mm_run(op_ctx *c, const mm_geom *g, int ia, int ib, const mm_zp *z, const k_requant *q)
{
    const ir_tensor *a = c->in[ia], *b = c->in[ib];
    size_t M = (size_t)g->M, N = (size_t)g->N, K = (size_t)g->K;
    unsigned char *sp = c->scratch;
    int32_t *acc = NULL;
    if (q) {
        acc = (int32_t *)sp;
        sp += (M * N * 4 + 63) / 64 * 64;
    }
    int16_t *a16 = (int16_t *)sp, *b16 = (int16_t *)(sp + (M * K * 2 + 63) / 64 * 64);
    int as = a->dtype == NORMA_INT8, bs = b->dtype == NORMA_INT8;
    size_t last_b = SIZE_MAX;
    for (size_t i = 0; i < g->batch; i++) {
        size_t oa, ob;
        mm_batch_offsets(g, i, &oa, &ob);
        k_q8_widen_sub(M, K, (const uint8_t *)a->data + oa * M * K, as, K, z->azp, z->azp_s, 0, a16);
        if (ob != last_b) /* a broadcast B is widened once */
            k_q8_widen_sub(K, N, (const uint8_t *)b->data + ob * K * N, bs, N, z->bzp, 0, z->bzp_s, b16);
        last_b = ob;
        if (!q) {
            k_s16_gemm_s32(M, N, K, a16, K, b16, N, (int32_t *)c->out[0]->data + i * M * N, N, c->threads);
        } else {
            k_s16_gemm_s32(M, N, K, a16, K, b16, N, acc, N, c->threads);
            k_s32_requantize_q8(M, N, acc, N, q, (uint8_t *)c->out[0]->data + i * M * N, N);
        }
    }
}

/* MatMulInteger: A, B, a_zero_point?, b_zero_point?. */
static int mmi_check(op_ctx *c, mm_geom *g, mm_zp *z)
{
    int rc;
    if ((rc = check_q8(c, 0, "A")) || (rc = check_q8(c, 1, "B")) || (rc = mm_geometry(c, 0, 1, 0, g)) ||
        (rc = check_param(c, 2, "a_zero_point", c->in[0]->dtype, g->M, 1, &z->azp_s)) ||
        (rc = check_param(c, 3, "b_zero_point", c->in[1]->dtype, g->N, 1, &z->bzp_s)))
        return rc;
    z->azp = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    z->bzp = c->n_in > 3 && c->in[3] ? c->in[3]->data : NULL;
    return NORMA_OK;
}

static int mmi_infer(op_ctx *c)
{
    mm_geom g;
    mm_zp z;
    int rc = mmi_check(c, &g, &z);
    if (rc)
        return rc;
    op_set_shape(c->out[0], NORMA_INT32, g.rank, g.dims);
    c->scratch_size = g.scratch;
    return NORMA_OK;
}

static int mmi_run(op_ctx *c)
{
    mm_geom g;
    mm_zp z;
    int rc = mmi_check(c, &g, &z);
    if (rc)
        return rc;
    mm_run(c, &g, 0, 1, &z, NULL);
    return NORMA_OK;
}

/* QLinearMatMul: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point. */
static int qlmm_check(op_ctx *c, mm_geom *g, mm_zp *z, k_requant *q)
{
    int rc;
    size_t sa, sb, sy, zy;
    if ((rc = check_q8(c, 0, "a")) || (rc = check_q8(c, 3, "b")) || (rc = mm_geometry(c, 0, 3, 1, g)) ||
        (rc = check_param(c, 1, "a_scale", NORMA_FLOAT, g->M, 0, &sa)) ||
        (rc = check_param(c, 2, "a_zero_point", c->in[0]->dtype, g->M, 0, &z->azp_s)) ||
        (rc = check_param(c, 4, "b_scale", NORMA_FLOAT, g->N, 0, &sb)) ||
        (rc = check_param(c, 5, "b_zero_point", c->in[3]->dtype, g->N, 0, &z->bzp_s)) ||
        (rc = check_param(c, 6, "y_scale", NORMA_FLOAT, g->M, 0, &sy)) ||
        (rc = check_param(c, 7, "y_zero_point", 0, g->M, 0, &zy)))
        return rc;
    z->azp = c->in[2]->data;
    z->bzp = c->in[5]->data;
    memset(q, 0, sizeof *q);
    q->sa = c->in[1]->data;
    q->sa_rs = sa;
    q->sb = c->in[4]->data;
    q->sb_cs = sb;
    q->sy = c->in[6]->data;
    q->sy_rs = sy;
    q->yzp = c->in[7]->data;
    q->zp_rs = zy;
    q->is_signed = c->in[7]->dtype == NORMA_INT8;
    return NORMA_OK;
}

static int qlmm_infer(op_ctx *c)
{
    mm_geom g;
    mm_zp z;
    k_requant q;
    int rc = qlmm_check(c, &g, &z, &q);
    if (rc)
        return rc;
    op_set_shape(c->out[0], c->in[7]->dtype, g.rank, g.dims);
    c->scratch_size = g.scratch;
    return NORMA_OK;
}

static int qlmm_run(op_ctx *c)
{
    mm_geom g;
    mm_zp z;
    k_requant q;
    int rc = qlmm_check(c, &g, &z, &q);
    if (rc)
        return rc;
    mm_run(c, &g, 0, 3, &z, &q);
    return NORMA_OK;
}

/* ---------------- convolutions ---------------- */

/* Conv geometry of x = in[ix], w = in[iw] (the window through ops/window.h, as Conv). */
static int qconv_geometry(op_ctx *c, int ix, int iw, k_conv_shape *s)
{
    const ir_tensor *x = c->in[ix], *w = c->in[iw];
    if (x->rank < 3 || x->rank > 5)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "input x has rank %d; 3 to 5 (1 to 3 spatial dimensions) are supported",
                       x->rank);
    if (w->rank != x->rank)
        return op_fail(c, NORMA_ERR_SHAPE, "weight w has rank %d but x has rank %d", w->rank, x->rank);
    int nsp = x->rank - 2;
    int64_t group = ir_attr_int(c->node, "group", 1);
    if (group < 1)
        return op_fail(c, NORMA_ERR_MODEL, "group %lld must be >= 1", (long long)group);
    int64_t C = x->dims[1], M = w->dims[0];
    if (C % group || M % group)
        return op_fail(c, NORMA_ERR_SHAPE, "group %lld does not divide C=%lld and M=%lld", (long long)group,
                       (long long)C, (long long)M);
    if (w->dims[1] * group != C)
        return op_fail(c, NORMA_ERR_SHAPE, "w has %lld input channels per group but x has C=%lld with group %lld",
                       (long long)w->dims[1], (long long)C, (long long)group);
    int64_t k[3];
    op_window win;
    int rc;
    if ((rc = op_window_kernel(c, w, nsp, k)) || (rc = op_window_read(c, nsp, k, 1, &win)))
        return rc;
    memset(s, 0, sizeof *s);
    s->N = x->dims[0];
    s->C = C;
    s->M = M;
    s->group = group;
    for (int i = 0; i < 3; i++)
        s->in[i] = s->out[i] = s->k[i] = s->stride[i] = s->dil[i] = 1;
    for (int i = 0; i < nsp; i++) {
        int d = 3 - nsp + i;
        int64_t in = x->dims[2 + i], pb, pe, out;
        if ((rc = op_window_axis(c, &win, i, in, 0, &out, &pb, &pe)))
            return rc;
        s->in[d] = in;
        s->out[d] = out;
        s->k[d] = k[i];
        s->stride[d] = win.st[i];
        s->dil[d] = win.dl[i];
        s->pad[d] = pb;
    }
    return NORMA_OK;
}

/* Output shape and scratch bytes (int32 acc when requantizing, int16 W, int16 columns). */
static int qconv_shape(op_ctx *c, const k_conv_shape *s, int ix, int dtype, int requant)
{
    int nsp = c->in[ix]->rank - 2;
    int64_t od[5] = {s->N, s->M};
    for (int i = 0; i < nsp; i++)
        od[2 + i] = s->out[3 - nsp + i];
    op_set_shape(c->out[0], dtype, nsp + 2, od);
    int ok1, ok2, ok3;
    ir_numel_checked(nsp + 2, od, &ok1);
    int64_t Cg = s->C / s->group;
    int64_t kcol[3] = {Cg, s->k[0] * s->k[1] * s->k[2], s->out[0] * s->out[1] * s->out[2]};
    size_t ncol = ir_numel_checked(3, kcol, &ok2);
    int64_t wd[2] = {s->M, Cg * kcol[1]};
    size_t nw = ir_numel_checked(2, wd, &ok3);
    size_t nacc = (size_t)(s->M / s->group) * (size_t)kcol[2];
    if (!ok1 || !ok2 || !ok3 || ncol > SIZE_MAX / 8 || nw > SIZE_MAX / 8 || nacc > SIZE_MAX / 8)
        return op_fail(c, NORMA_ERR_SHAPE, "sizes overflow");
    c->scratch_size = (requant ? (nacc * 4 + 63) / 64 * 64 : 0) + (nw * 2 + 63) / 64 * 64 + ncol * 2;
    return NORMA_OK;
}

/*
 * Runs the integer convolution of x = in[ix], w = in[iw] with zero points xzp (scalar)
 * and wzp (per tensor or per output channel, wzp_s 0 or 1). Without q the int32 result
 * goes to out[0]; with q it is requantized (q->bias etc. indexed by the channel within
 * the group's block, so the caller's arrays are offset per group here).
 */
static void qconv_run(op_ctx *c, const k_conv_shape *s, int ix, int iw, int32_t xzp, const void *wzp, size_t wzp_s,
                      const k_requant *q)
{
    const ir_tensor *x = c->in[ix], *w = c->in[iw];
    int64_t Cg = s->C / s->group, Mg = s->M / s->group;
    size_t kk = (size_t)(s->k[0] * s->k[1] * s->k[2]), Kg = (size_t)Cg * kk;
    size_t HW = (size_t)(s->in[0] * s->in[1] * s->in[2]), OHW = (size_t)(s->out[0] * s->out[1] * s->out[2]);
    unsigned char *sp = c->scratch;
    int32_t *acc = NULL;
    if (q) {
        acc = (int32_t *)sp;
        sp += ((size_t)Mg * OHW * 4 + 63) / 64 * 64;
    }
    int16_t *w16 = (int16_t *)sp, *col = (int16_t *)(sp + ((size_t)s->M * Kg * 2 + 63) / 64 * 64);
    int xs = x->dtype == NORMA_INT8;
    k_q8_widen_sub((size_t)s->M, Kg, w->data, w->dtype == NORMA_INT8, Kg, wzp, wzp_s, 0, w16);
    for (int64_t n = 0; n < s->N; n++)
        for (int64_t g = 0; g < s->group; g++) {
            const uint8_t *xn = (const uint8_t *)x->data + (size_t)n * (size_t)s->C * HW;
            k_q8_im2col_s16(s, xn, xs, xzp, g * Cg, Cg, col);
            const int16_t *wg = w16 + (size_t)(g * Mg) * Kg;
            size_t yoff = ((size_t)n * (size_t)s->M + (size_t)(g * Mg)) * OHW;
            if (!q) {
                k_s16_gemm_s32((size_t)Mg, OHW, Kg, wg, Kg, col, OHW, (int32_t *)c->out[0]->data + yoff, OHW,
                               c->threads);
                continue;
            }
            k_s16_gemm_s32((size_t)Mg, OHW, Kg, wg, Kg, col, OHW, acc, OHW, c->threads);
            k_requant qg = *q; /* rows of this block are channels g*Mg.. */
            size_t m0 = (size_t)(g * Mg);
            if (qg.bias)
                qg.bias += m0 * qg.bias_rs;
            qg.sa += m0 * qg.sa_rs;
            qg.sb += m0 * qg.sb_rs;
            qg.sy += m0 * qg.sy_rs;
            if (qg.yzp)
                qg.yzp = (const uint8_t *)qg.yzp + m0 * qg.zp_rs;
            k_s32_requantize_q8((size_t)Mg, OHW, acc, OHW, &qg, (uint8_t *)c->out[0]->data + yoff, OHW);
        }
}

/* ConvInteger: x, w, x_zero_point?, w_zero_point?. */
static int convi_check(op_ctx *c, k_conv_shape *s, size_t *wzp_s)
{
    int rc;
    size_t xzs;
    if ((rc = check_q8(c, 0, "x")) || (rc = check_q8(c, 1, "w")) || (rc = qconv_geometry(c, 0, 1, s)) ||
        (rc = check_param(c, 2, "x_zero_point", c->in[0]->dtype, 1, 1, &xzs)) ||
        (rc = check_param(c, 3, "w_zero_point", c->in[1]->dtype, s->M, 1, wzp_s)))
        return rc;
    return NORMA_OK;
}

static int convi_infer(op_ctx *c)
{
    k_conv_shape s;
    size_t wzs;
    int rc = convi_check(c, &s, &wzs);
    return rc ? rc : qconv_shape(c, &s, 0, NORMA_INT32, 0);
}

static int convi_run(op_ctx *c)
{
    k_conv_shape s;
    size_t wzs;
    int rc = convi_check(c, &s, &wzs);
    if (rc)
        return rc;
    const ir_tensor *xz = c->n_in > 2 ? c->in[2] : NULL, *wz = c->n_in > 3 ? c->in[3] : NULL;
    qconv_run(c, &s, 0, 1, first_int(xz), wz ? wz->data : NULL, wzs, NULL);
    return NORMA_OK;
}

/* QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B?. */
static int qlconv_check(op_ctx *c, k_conv_shape *s, size_t *wzp_s, k_requant *q)
{
    int rc;
    size_t xss, xzs, wss, yss, yzs, bs;
    if ((rc = check_q8(c, 0, "x")) || (rc = check_q8(c, 3, "w")) || (rc = qconv_geometry(c, 0, 3, s)) ||
        (rc = check_param(c, 1, "x_scale", NORMA_FLOAT, 1, 0, &xss)) ||
        (rc = check_param(c, 2, "x_zero_point", c->in[0]->dtype, 1, 0, &xzs)) ||
        (rc = check_param(c, 4, "w_scale", NORMA_FLOAT, s->M, 0, &wss)) ||
        (rc = check_param(c, 5, "w_zero_point", c->in[3]->dtype, s->M, 0, wzp_s)) ||
        (rc = check_param(c, 6, "y_scale", NORMA_FLOAT, 1, 0, &yss)) ||
        (rc = check_param(c, 7, "y_zero_point", 0, 1, 0, &yzs)) ||
        (rc = check_param(c, 8, "B", NORMA_INT32, s->M, 1, &bs)))
        return rc;
    const ir_tensor *b = c->n_in > 8 ? c->in[8] : NULL;
    if (b && (b->rank != 1 || b->dims[0] != s->M))
        return op_fail(c, NORMA_ERR_SHAPE, "bias B must have shape (%lld)", (long long)s->M);
    memset(q, 0, sizeof *q);
    q->bias = b ? b->data : NULL;
    q->bias_rs = 1;
    q->sa = c->in[1]->data;
    q->sb = c->in[4]->data;
    q->sb_rs = wss;
    q->sy = c->in[6]->data;
    q->yzp = c->in[7]->data;
    q->is_signed = c->in[7]->dtype == NORMA_INT8;
    return NORMA_OK;
}

static int qlconv_infer(op_ctx *c)
{
    k_conv_shape s;
    size_t wzs;
    k_requant q;
    int rc = qlconv_check(c, &s, &wzs, &q);
    return rc ? rc : qconv_shape(c, &s, 0, c->in[7]->dtype, 1);
}

static int qlconv_run(op_ctx *c)
{
    k_conv_shape s;
    size_t wzs;
    k_requant q;
    int rc = qlconv_check(c, &s, &wzs, &q);
    if (rc)
        return rc;
    qconv_run(c, &s, 0, 3, first_int(c->in[2]), c->in[5]->data, wzs, &q);
    return NORMA_OK;
}

static const op_schema matmulinteger10 = {"MatMulInteger", "", 10, 2, 4, 1, 1, NULL, NULL, mmi_infer, mmi_run};
static const op_schema qlinearmatmul10 = {"QLinearMatMul", "", 10, 8, 8, 1, 1, NULL, NULL, qlmm_infer, qlmm_run};
static const op_schema convinteger10 = {"ConvInteger", "", 10, 2, 4, 1, 1, NULL, NULL, convi_infer, convi_run};
static const op_schema qlinearconv10 = {"QLinearConv", "", 10, 8, 9, 1, 1, NULL, NULL, qlconv_infer, qlconv_run};

OP_TABLE(qlinear) = {&matmulinteger10, &qlinearmatmul10, &convinteger10, &qlinearconv10, NULL};
