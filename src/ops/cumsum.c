/*
 * CumSum (ONNX opsets 11, 14): running sums along the axis given by the second input
 * (an int32/int64 scalar or 1-element tensor, read at run time and checked then).
 * exclusive leaves out the element itself; reverse sums from the end.
 */
#include "kernels/index.h"
#include "ops/index_util.h"

static int cumsum_infer(op_ctx *c)
{
    static const int ok[] = {NORMA_FLOAT, NORMA_DOUBLE, NORMA_INT32, NORMA_UINT32, NORMA_INT64, NORMA_UINT64, 0};
    const ir_tensor *x = c->in[0], *ax = c->in[1];
    int rc;
    if ((rc = op_check_dtype(c, 0, ok)) || (rc = ix_check_index_input(c, 1)))
        return rc;
    if (ax->rank > 1 || ir_tensor_numel(ax) != 1)
        return op_fail(c, NORMA_ERR_SHAPE, "axis must be a scalar or a 1-element tensor");
    if (x->rank == 0)
        return op_fail(c, NORMA_ERR_SHAPE, "input must have rank >= 1");
    if (ax->data) {
        int64_t a = ix_at(ax, 0);
        if (op_axis(a, x->rank) < 0)
            return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, x->rank);
    }
    op_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return NORMA_OK;
}

static int cumsum_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t a = ix_at(c->in[1], 0);
    int axis = op_axis(a, x->rank);
    if (axis < 0)
        return op_fail(c, NORMA_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)a, x->rank);
    int ex = ir_attr_int(c->node, "exclusive", 0) != 0, rev = ir_attr_int(c->node, "reverse", 0) != 0;
    size_t outer = ix_prod(x->dims, 0, axis), n = (size_t)x->dims[axis], inner = ix_prod(x->dims, axis + 1, x->rank);
    void *y = c->out[0]->data;
    switch (x->dtype) {
    case NORMA_FLOAT: k_f32_cumsum_ref(x->data, outer, n, inner, ex, rev, y); break;
    case NORMA_DOUBLE: k_f64_cumsum_ref(x->data, outer, n, inner, ex, rev, y); break;
    case NORMA_INT32: k_i32_cumsum_ref(x->data, outer, n, inner, ex, rev, y); break;
    case NORMA_UINT32: k_u32_cumsum_ref(x->data, outer, n, inner, ex, rev, y); break;
    case NORMA_INT64: k_i64_cumsum_ref(x->data, outer, n, inner, ex, rev, y); break;
    default: k_u64_cumsum_ref(x->data, outer, n, inner, ex, rev, y); break;
    }
    return NORMA_OK;
}

static const op_schema cumsum11 = {"CumSum", "", 11, 2, 2, 1, 1, NULL, NULL, cumsum_infer, cumsum_run, 0};
static const op_schema cumsum14 = {"CumSum", "", 14, 2, 2, 1, 1, NULL, NULL, cumsum_infer, cumsum_run, 0};

OP_TABLE(cumsum) = {&cumsum11, &cumsum14, NULL};
