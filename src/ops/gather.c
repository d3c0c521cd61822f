/*
 * Gather (ONNX opsets 1, 11, 13) and GatherElements (11, 13): indexed reads along one
 * axis, any data dtype, int32 or int64 indices, negative indices counted from the end.
 * Indices are data: each is checked against the axis at run time and an out-of-range
 * one fails with NORMA_ERR_RUNTIME naming its position and value.
 */
#include <string.h>

#include "ops/op.h"

static int gather_axis(op_ctx *c, int r, int *axis)
{
    int64_t a = ir_attr_int(c->node, "axis", 0);
    *axis = op_axis(a, r);
    if (*axis < 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, r);
    return NORMA_OK;
}

static int check_indices(op_ctx *c)
{
    static const int ok[] = {NORMA_INT32, NORMA_INT64, 0};
    return op_check_dtype(c, 1, ok);
}

static inline int64_t index_at(const ir_tensor *t, size_t i)
{
    return t->dtype == NORMA_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

static int gather_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1];
    int axis, rc;
    if ((rc = check_indices(c)) || (rc = gather_axis(c, x->rank, &axis)))
        return rc;
    int r = x->rank - 1 + ind->rank;
    if (r > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output rank %d is above %d", r, IR_MAX_RANK);
    int64_t d[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < axis; i++)
        d[k++] = x->dims[i];
    for (int i = 0; i < ind->rank; i++)
        d[k++] = ind->dims[i];
    for (int i = axis + 1; i < x->rank; i++)
        d[k++] = x->dims[i];
    op_set_shape(c->out[0], x->dtype, r, d);
    return NORMA_OK;
}

static int bad_index(op_ctx *c, size_t pos, int64_t v, int64_t dim, int axis)
{
    return op_fail(c, NORMA_ERR_RUNTIME, "index %lld at position %zu is out of range for axis %d of size %lld",
                   (long long)v, pos, axis, (long long)dim);
}

static int gather_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1];
    int axis = op_axis(ir_attr_int(c->node, "axis", 0), x->rank);
    size_t es = ir_dtype_size(x->dtype);
    size_t outer = 1, inner = es, ni = ir_tensor_numel(ind);
    int64_t dim = x->dims[axis];
    for (int i = 0; i < axis; i++)
        outer *= (size_t)x->dims[i];
    for (int i = axis + 1; i < x->rank; i++)
        inner *= (size_t)x->dims[i];
    for (size_t j = 0; j < ni; j++) {
        int64_t v = index_at(ind, j);
        if (v < -dim || v >= dim)
            return bad_index(c, j, v, dim, axis);
    }
    const char *src = x->data;
    char *dst = c->out[0]->data;
    if (inner == 0 || ni == 0)
        return NORMA_OK;
    for (size_t o = 0; o < outer; o++)
        for (size_t j = 0; j < ni; j++) {
            int64_t v = index_at(ind, j);
            if (v < 0)
                v += dim;
            memcpy(dst + (o * ni + j) * inner, src + (o * (size_t)dim + (size_t)v) * inner, inner);
        }
    return NORMA_OK;
}

static int ge_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1];
    int axis, rc;
    if ((rc = check_indices(c)) || (rc = gather_axis(c, x->rank, &axis)))
        return rc;
    if (ind->rank != x->rank)
        return op_fail(c, NORMA_ERR_SHAPE, "indices have rank %d, data rank %d", ind->rank, x->rank);
    for (int i = 0; i < x->rank; i++)
        if (i != axis && ind->dims[i] > x->dims[i])
            return op_fail(c, NORMA_ERR_SHAPE, "indices dim %d (%lld) exceeds the data's (%lld)", i,
                           (long long)ind->dims[i], (long long)x->dims[i]);
    op_set_shape(c->out[0], x->dtype, ind->rank, ind->dims);
    return NORMA_OK;
}

static int ge_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1];
    int r = x->rank;
    int axis = op_axis(ir_attr_int(c->node, "axis", 0), r);
    size_t es = ir_dtype_size(x->dtype), n = ir_tensor_numel(ind);
    int64_t xs[IR_MAX_RANK], idx[IR_MAX_RANK] = {0}, s = 1, dim = x->dims[axis];
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    const char *src = x->data;
    char *dst = c->out[0]->data;
    for (size_t k = 0; k < n; k++) {
        int64_t v = index_at(ind, k);
        if (v < -dim || v >= dim)
            return bad_index(c, k, v, dim, axis);
        if (v < 0)
            v += dim;
        int64_t off = 0;
        for (int d = 0; d < r; d++)
            off += (d == axis ? v : idx[d]) * xs[d];
        memcpy(dst + k * es, src + (size_t)off * es, es);
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < ind->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return NORMA_OK;
}

static const op_schema gather1 = {"Gather", "", 1, 2, 2, 1, 1, NULL, NULL, gather_infer, gather_run};
static const op_schema gather11 = {"Gather", "", 11, 2, 2, 1, 1, NULL, NULL, gather_infer, gather_run};
static const op_schema gather13 = {"Gather", "", 13, 2, 2, 1, 1, NULL, NULL, gather_infer, gather_run};
static const op_schema ge11 = {"GatherElements", "", 11, 2, 2, 1, 1, NULL, NULL, ge_infer, ge_run};
static const op_schema ge13 = {"GatherElements", "", 13, 2, 2, 1, 1, NULL, NULL, ge_infer, ge_run};

OP_TABLE(gather) = {&gather1, &gather11, &gather13, &ge11, &ge13, NULL};
