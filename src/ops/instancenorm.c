/*
 * InstanceNormalization (ONNX opsets 1, 6), float32:
 *   y = scale[c] * (x - mean[n,c]) / sqrt(var[n,c] + epsilon) + B[c]
 * with the mean and population variance of each (n,c) plane over the spatial axes,
 * computed in two passes in double (k_f32_instancenorm_ref).
 */
#include "kernels/batchnorm.h"
#include "ops/norm_util.h"
#include "ops/op.h"

static int in_init(op_ctx *c)
{
    return norm_check_eps(c, 0);
}

static int in_infer(op_ctx *c)
{
    int rc = norm_check_x(c, 3, "input", "(N,C,D1,...)", 3);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    static const char *names[] = {"input", "scale", "B"};
    for (int i = 1; i < 3; i++)
        if (ir_tensor_numel(c->in[i]) != (size_t)x->dims[1])
            return op_fail(c, NORMA_ERR_SHAPE, "%s has %zu elements; expected C=%lld", names[i],
                           ir_tensor_numel(c->in[i]), (long long)x->dims[1]);
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, x->dims);
    return NORMA_OK;
}

static int in_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int ok;
    size_t S = ir_numel_checked(x->rank - 2, x->dims + 2, &ok);
    k_f32_instancenorm_ref(x->data, c->out[0]->data, (size_t)x->dims[0], (size_t)x->dims[1], S,
                           c->in[1]->data, c->in[2]->data, ir_attr_float(c->node, "epsilon", 1e-5f),
                           c->threads);
    return NORMA_OK;
}

static const op_schema in1 = {"InstanceNormalization", "", 1, 3, 3, 1, 1, in_init, NULL, in_infer, in_run};
static const op_schema in6 = {"InstanceNormalization", "", 6, 3, 3, 1, 1, in_init, NULL, in_infer, in_run};

OP_TABLE(instancenorm) = {&in1, &in6, NULL};
