/*
 * DepthToSpace (ONNX opsets 1, 11, 13) and SpaceToDepth (1, 13): rearrangements of
 * blocksize x blocksize blocks between the channel and the spatial dims of an NCHW
 * tensor, any dtype. Both are one strided copy of a 6-D view:
 *   DepthToSpace DCR: x as (N, b, b, C', H, W) -> y as (N, C', H, b, W, b)
 *   DepthToSpace CRD: x as (N, C', b, b, H, W) -> y as (N, C', H, b, W, b)
 *   SpaceToDepth:     x as (N, C, H', b, W', b) -> y as (N, b, b, C, H', W')
 */
#include <string.h>

#include "kernels/copy.h"
#include "ops/index_util.h"

static int blocksize(op_ctx *c, int64_t *b)
{
    const ir_tensor *x = c->in[0];
    *b = ir_attr_int(c->node, "blocksize", 0);
    if (*b < 1 || *b > 65536)
        return op_fail(c, NORMA_ERR_MODEL, "blocksize %lld must be in [1, 65536]", (long long)*b);
    if (x->rank != 4)
        return op_fail(c, NORMA_ERR_SHAPE, "input must be 4-D (N,C,H,W), got rank %d", x->rank);
    if (ir_dtype_size(x->dtype) == 0)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %s is not supported", ir_dtype_name(x->dtype));
    return NORMA_OK;
}

/* 1 for CRD, 0 for DCR (the default); -1 after op_fail on anything else. */
static int d2s_mode(op_ctx *c)
{
    const char *m = ir_attr_string(c->node, "mode", "DCR");
    if (!strcmp(m, "DCR"))
        return 0;
    if (!strcmp(m, "CRD"))
        return 1;
    op_fail(c, NORMA_ERR_MODEL, "mode '%s' must be DCR or CRD", m);
    return -1;
}

static int d2s_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t b;
    int rc = blocksize(c, &b);
    if (rc)
        return rc;
    if (d2s_mode(c) < 0)
        return NORMA_ERR_MODEL;
    if (x->dims[1] % (b * b))
        return op_fail(c, NORMA_ERR_SHAPE, "C=%lld is not a multiple of blocksize^2=%lld", (long long)x->dims[1],
                       (long long)(b * b));
    int64_t d[4] = {x->dims[0], x->dims[1] / (b * b), 0, 0};
    int ok;
    if (__builtin_mul_overflow(x->dims[2], b, &d[2]) || __builtin_mul_overflow(x->dims[3], b, &d[3]) ||
        (ir_numel_checked(4, d, &ok), !ok))
        return op_fail(c, NORMA_ERR_SHAPE, "output size overflows");
    op_set_shape(c->out[0], x->dtype, 4, d);
    return NORMA_OK;
}

static int d2s_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t b = ir_attr_int(c->node, "blocksize", 1), N = x->dims[0], C = x->dims[1] / (b * b), H = x->dims[2],
            W = x->dims[3];
    int64_t hw = H * W, sn = x->dims[1] * hw, sc, sb1, sb2;
    if (d2s_mode(c) == 1) { /* CRD */
        sc = b * b * hw;
        sb1 = b * hw;
        sb2 = hw;
    } else {
        sb1 = b * C * hw;
        sb2 = C * hw;
        sc = hw;
    }
    int r = 6;
    int64_t od[6] = {N, C, H, b, W, b}, st[6] = {sn, sc, W, sb1, 1, sb2};
    if (ir_tensor_numel(x) == 0)
        return NORMA_OK;
    k_copy_coalesce(&r, od, st);
    k_strided_copy(c->out[0]->data, x->data, ir_dtype_size(x->dtype), r, od, st, c->threads);
    return NORMA_OK;
}

static int s2d_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t b;
    int rc = blocksize(c, &b);
    if (rc)
        return rc;
    if (x->dims[2] % b || x->dims[3] % b)
        return op_fail(c, NORMA_ERR_SHAPE, "H=%lld and W=%lld must be multiples of blocksize %lld",
                       (long long)x->dims[2], (long long)x->dims[3], (long long)b);
    int64_t d[4] = {x->dims[0], 0, x->dims[2] / b, x->dims[3] / b};
    int ok;
    if (__builtin_mul_overflow(x->dims[1], b * b, &d[1]) || (ir_numel_checked(4, d, &ok), !ok))
        return op_fail(c, NORMA_ERR_SHAPE, "output size overflows");
    op_set_shape(c->out[0], x->dtype, 4, d);
    return NORMA_OK;
}

static int s2d_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t b = ir_attr_int(c->node, "blocksize", 1), N = x->dims[0], C = x->dims[1], H = x->dims[2],
            W = x->dims[3];
    int r = 6;
    int64_t od[6] = {N, b, b, C, H / b, W / b}, st[6] = {C * H * W, W, 1, H * W, b * W, b};
    if (ir_tensor_numel(x) == 0)
        return NORMA_OK;
    k_copy_coalesce(&r, od, st);
    k_strided_copy(c->out[0]->data, x->data, ir_dtype_size(x->dtype), r, od, st, c->threads);
    return NORMA_OK;
}

static const op_schema d2s1 = {"DepthToSpace", "", 1, 1, 1, 1, 1, NULL, NULL, d2s_infer, d2s_run, 0};
static const op_schema d2s11 = {"DepthToSpace", "", 11, 1, 1, 1, 1, NULL, NULL, d2s_infer, d2s_run, 0};
static const op_schema d2s13 = {"DepthToSpace", "", 13, 1, 1, 1, 1, NULL, NULL, d2s_infer, d2s_run, 0};
static const op_schema s2d1 = {"SpaceToDepth", "", 1, 1, 1, 1, 1, NULL, NULL, s2d_infer, s2d_run, 0};
static const op_schema s2d13 = {"SpaceToDepth", "", 13, 1, 1, 1, 1, NULL, NULL, s2d_infer, s2d_run, 0};

OP_TABLE(space_depth) = {&d2s1, &d2s11, &d2s13, &s2d1, &s2d13, NULL};
