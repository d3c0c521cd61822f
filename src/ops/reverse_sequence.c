/*
 * ReverseSequence (ONNX opset 10): for each batch entry b, reverses the first
 * sequence_lens[b] steps along time_axis and copies the rest. batch_axis and
 * time_axis are 0 and 1 in either order; any dtype. The lengths are data: each must
 * be in [0, T] (checked at run time, NORMA_ERR_RUNTIME otherwise).
 */
#include <string.h>

#include "ops/index_util.h"

static int rs_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *len = c->in[1];
    int rc = ix_check_index_input(c, 1);
    if (rc)
        return rc;
    int64_t ba = ir_attr_int(c->node, "batch_axis", 1), ta = ir_attr_int(c->node, "time_axis", 0);
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return op_fail(c, NORMA_ERR_MODEL, "batch_axis %lld and time_axis %lld must be 0 and 1", (long long)ba,
                       (long long)ta);
    if (x->rank < 2)
        return op_fail(c, NORMA_ERR_SHAPE, "input must have rank >= 2, got %d", x->rank);
    if (len->rank != 1 || len->dims[0] != x->dims[ba])
        return op_fail(c, NORMA_ERR_SHAPE, "sequence_lens must be 1-D of the batch size %lld",
                       (long long)x->dims[ba]);
    if (ir_dtype_size(x->dtype) == 0)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %s is not supported", ir_dtype_name(x->dtype));
    op_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return NORMA_OK;
}

static int rs_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *len = c->in[1];
    int ta = (int)ir_attr_int(c->node, "time_axis", 0);
    int64_t T = x->dims[ta], B = x->dims[1 - ta];
    size_t es = ir_dtype_size(x->dtype), inner = ix_prod(x->dims, 2, x->rank) * es;
    const char *src = x->data;
    char *dst = c->out[0]->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t L = ix_at(len, (size_t)b);
        if (L < 0 || L > T)
            return op_fail(c, NORMA_ERR_RUNTIME, "sequence_lens[%lld] = %lld is out of range [0, %lld]",
                           (long long)b, (long long)L, (long long)T);
        for (int64_t t = 0; t < T; t++) {
            int64_t from = t < L ? L - 1 - t : t;
            size_t o = (size_t)(ta == 0 ? t * B + b : b * T + t), i = (size_t)(ta == 0 ? from * B + b : b * T + from);
            if (inner)
                memcpy(dst + o * inner, src + i * inner, inner);
        }
    }
    return NORMA_OK;
}

static const op_schema rs10 = {"ReverseSequence", "", 10, 2, 2, 1, 1, NULL, NULL, rs_infer, rs_run, 0};

OP_TABLE(reverse_sequence) = {&rs10, NULL};
