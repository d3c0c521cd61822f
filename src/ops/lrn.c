/*
 * LRN, local response normalization across channels (ONNX opsets 1, 13), float32:
 *   square_sum[n,c,...] = sum of x[n,i,...]^2 for i in
 *       [max(0, c - floor((size-1)/2)), min(C-1, c + ceil((size-1)/2))]
 *   y = x / (bias + alpha / size * square_sum) ^ beta
 * Runs k_f32_lrn (running window sum); k_f32_lrn_ref is the direct transcription.
 */
#include "kernels/batchnorm.h"
#include "ops/norm_util.h"
#include "ops/op.h"

static int lrn_init(op_ctx *c)
{
    const ir_attr *a = ir_attr_find(c->node, "size");
    if (!a || a->type != IR_ATTR_INT)
        return op_fail(c, NORMA_ERR_MODEL, "the attribute 'size' is required");
    if (a->i < 1)
        return op_fail(c, NORMA_ERR_MODEL, "size %lld must be >= 1", (long long)a->i);
    return NORMA_OK;
}

static int lrn_infer(op_ctx *c)
{
    int rc = norm_check_x(c, 1, "X", "(N,C,...)", 2);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, x->dims);
    return NORMA_OK;
}

static int lrn_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int ok;
    size_t S = ir_numel_checked(x->rank - 2, x->dims + 2, &ok);
    const ir_node *n = c->node;
    k_f32_lrn(x->data, c->out[0]->data, (size_t)x->dims[0], (size_t)x->dims[1], S,
                  ir_attr_int(n, "size", 1), ir_attr_float(n, "alpha", 1e-4f),
                  ir_attr_float(n, "beta", 0.75f), ir_attr_float(n, "bias", 1.0f), c->threads);
    return NORMA_OK;
}

static const op_schema lrn1 = {"LRN", "", 1, 1, 1, 1, 1, lrn_init, NULL, lrn_infer, lrn_run};
static const op_schema lrn13 = {"LRN", "", 13, 1, 1, 1, 1, lrn_init, NULL, lrn_infer, lrn_run};

OP_TABLE(lrn) = {&lrn1, &lrn13, NULL};
