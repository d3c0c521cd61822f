/*
 * Identity (ONNX opsets 1, 13, 14, 16): the output is a copy of the input. Usually
 * removed by the remove-identity pass; kept for graphs run without passes. Also
 * passes sequences and optionals through.
 */
#include <string.h>

#include "ops/op.h"

static int identity_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    op_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return NORMA_OK;
}

static int identity_run(op_ctx *c)
{
    if (c->in[0]->dtype == IR_DTYPE_SEQUENCE || c->in[0]->dtype == IR_DTYPE_NONE) {
        ir_tensor *t = ir_value_clone(c->in[0]);
        return t ? op_set_output(c, 0, t) : op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    }
    size_t n = ir_tensor_nbytes(c->in[0]);
    if (n && c->out[0]->data != c->in[0]->data)
        memcpy(c->out[0]->data, c->in[0]->data, n);
    return NORMA_OK;
}

static const op_schema identity = {"Identity", "", 1, 1, 1, 1, 1, NULL, NULL, identity_infer, identity_run, OP_F_ANY_VALUE};

OP_TABLE(identity) = {&identity, NULL};
