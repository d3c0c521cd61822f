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
    size_t es = ir_dtype_size(x->dtype), row = n * inner * es;
    int nth = (outer * n * inner >= 65536 && outer > 1 && c->threads > 1) ? c->threads : 1;
    size_t per = (outer + (size_t)nth - 1) / (size_t)nth;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        size_t o0 = (size_t)t * per, o1 = o0 + per < outer ? o0 + per : outer;
        if (o0 >= o1)
            continue;
        const void *xs = (const char *)x->data + o0 * row;
        void *y = (char *)c->out[0]->data + o0 * row;
        size_t m = o1 - o0;
        switch (x->dtype) {
        case NORMA_FLOAT: k_f32_cumsum_ref(xs, m, n, inner, ex, rev, y); break;
        case NORMA_DOUBLE: k_f64_cumsum_ref(xs, m, n, inner, ex, rev, y); break;
        case NORMA_INT32: k_i32_cumsum_ref(xs, m, n, inner, ex, rev, y); break;
        case NORMA_UINT32: k_u32_cumsum_ref(xs, m, n, inner, ex, rev, y); break;
        case NORMA_INT64: k_i64_cumsum_ref(xs, m, n, inner, ex, rev, y); break;
        default: k_u64_cumsum_ref(xs, m, n, inner, ex, rev, y); break;
        }
    }
    return NORMA_OK;
}

static const op_schema cumsum11 = {"CumSum", "", 11, 2, 2, 1, 1, NULL, NULL, cumsum_infer, cumsum_run, 0};
static const op_schema cumsum14 = {"CumSum", "", 14, 2, 2, 1, 1, NULL, NULL, cumsum_infer, cumsum_run, 0};

OP_TABLE(cumsum) = {&cumsum11, &cumsum14, NULL};
