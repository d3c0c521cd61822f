/*
 * OneHot (ONNX opsets 9, 11): indices (any numeric type) -> a tensor with a new axis
 * of size depth holding values[1] (on) where the axis position equals the index and
 * values[0] (off) elsewhere. Negative indices count from the end (opset 11); an index
 * outside [-depth, depth-1] gives a row of off values, as the spec says. depth is a
 * scalar input whose value sets the output shape: infer returns OP_NEEDS_DATA while
 * it is not known. Output dtype is that of values (copied bytewise).
 */
#include <math.h>
#include <string.h>

#include "ops/index_util.h"

/* depth must be an integer-valued number in [1, 2^40] (a sanity bound on the output). */
static int read_depth(op_ctx *c, int64_t *depth)
{
    const ir_tensor *d = c->in[1];
    double v = ir_tensor_get_f64(d, 0);
    if (!(v >= 1.0 && v <= 1099511627776.0))
        return op_fail(c, NORMA_ERR_RUNTIME, "depth %g must be at least 1", v);
    *depth = (int64_t)v;
    return NORMA_OK;
}

static int onehot_infer(op_ctx *c)
{
    const ir_tensor *ind = c->in[0], *dep = c->in[1], *val = c->in[2];
    if (ir_tensor_numel(dep) != 1 || dep->rank > 1)
        return op_fail(c, NORMA_ERR_SHAPE, "depth must be a scalar or a 1-element tensor");
    if (ir_tensor_numel(val) != 2 || val->rank != 1)
        return op_fail(c, NORMA_ERR_SHAPE, "values must be a 1-D tensor of 2 elements [off, on]");
    if (ir_dtype_size(ind->dtype) == 0 || ir_dtype_size(dep->dtype) == 0 || ir_dtype_size(val->dtype) == 0 ||
        ind->dtype == NORMA_BOOL)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "unsupported dtypes");
    int r = ind->rank;
    int64_t a = ir_attr_int(c->node, "axis", -1);
    if (a < -r - 1 || a > r)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for output rank %d", (long long)a, r + 1);
    if (r + 1 > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output rank %d is above %d", r + 1, IR_MAX_RANK);
    int axis = (int)(a < 0 ? a + r + 1 : a);
    if (!dep->data)
        return OP_NEEDS_DATA;
    int64_t depth = 0, d[IR_MAX_RANK];
    int rc = read_depth(c, &depth);
    if (rc)
        return rc;
    for (int i = 0, k = 0; i <= r; i++)
        d[i] = i == axis ? depth : ind->dims[k++];
    int ok;
    ir_numel_checked(r + 1, d, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "output size overflows");
    op_set_shape(c->out[0], val->dtype, r + 1, d);
    return NORMA_OK;
}

static int onehot_run(op_ctx *c)
{
    const ir_tensor *ind = c->in[0], *val = c->in[2];
    ir_tensor *y = c->out[0];
    int r = ind->rank;
    int64_t a = ir_attr_int(c->node, "axis", -1);
    int axis = (int)(a < 0 ? a + r + 1 : a);
    int64_t depth = y->dims[axis];
    size_t es = ir_dtype_size(val->dtype), outer = ix_prod(ind->dims, 0, axis), inner = ix_prod(ind->dims, axis, r);
    const char *off = val->data, *on = off + es;
    char *dst = y->data;
    size_t total = outer * (size_t)depth * inner;
    for (size_t i = 0; i < total; i++)
        memcpy(dst + i * es, off, es);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            double v = trunc(ir_tensor_get_f64(ind, o * inner + i));
            if (!(v >= (double)-depth && v < (double)depth)) /* also false for NaN */
                continue;
            int64_t k = (int64_t)v;
            if (k < 0 && c->opset < 11) /* opset 9 has no negative indices: off */
                continue;
            if (k < 0)
                k += depth;
            memcpy(dst + ((o * (size_t)depth + (size_t)k) * inner + i) * es, on, es);
        }
    return NORMA_OK;
}

static const op_schema onehot9 = {"OneHot", "", 9, 3, 3, 1, 1, NULL, NULL, onehot_infer, onehot_run, 0};
static const op_schema onehot11 = {"OneHot", "", 11, 3, 3, 1, 1, NULL, NULL, onehot_infer, onehot_run, 0};

OP_TABLE(onehot) = {&onehot9, &onehot11, NULL};
