/*
 * Reshape (ONNX opsets 1, 5, 13, 14), Flatten (1, 9, 11, 13), Squeeze and Unsqueeze
 * (1, 11, 13): ops that change only the shape. The output holds the input's bytes
 * unchanged (infer sets c->view), so run is one memcpy, or nothing when the planner
 * gave both the same memory.
 */
#include <string.h>

#include "ops/op.h"

static int copy_run(op_ctx *c)
{
    size_t n = ir_tensor_nbytes(c->in[0]);
    if (n && c->out[0]->data != c->in[0]->data)
        memcpy(c->out[0]->data, c->in[0]->data, n);
    return NORMA_OK;
}

/* Reads an integer list from attribute `attr` (opsets before `input_from`) or from input
 * `idx`. Returns the count, -1 when absent, or -2 (with op_fail) when the input's data
 * is not known at plan time. */
static int read_list(op_ctx *c, const char *attr, int input_from, int idx, int64_t *buf, int cap)
{
    if (c->opset < input_from) {
        const int64_t *v;
        int n = ir_attr_ints(c->node, attr, &v);
        if (n < 0)
            return -1;
        if (n > cap)
            return -3;
        memcpy(buf, v, sizeof(int64_t) * (size_t)n);
        return n;
    }
    if (idx >= c->n_in || !c->in[idx])
        return -1;
    const ir_tensor *t = c->in[idx];
    if (t->dtype != NORMA_INT64 && t->dtype != NORMA_INT32)
        return op_fail(c, NORMA_ERR_MODEL, "input %d ('%s') must be int64, not %s", idx, attr,
                       ir_dtype_name(t->dtype)), -2;
    if (!t->data)
        return -4; /* known only at run time */
    if (ir_tensor_numel(t) > (size_t)cap)
        return -3;
    return op_read_ints(t, buf, cap);
}

static int reshape_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t tgt[IR_MAX_RANK + 1];
    int n = read_list(c, "shape", 5, 1, tgt, IR_MAX_RANK + 1);
    if (n == -4)
        return OP_NEEDS_DATA;
    if (n == -2)
        return NORMA_ERR_MODEL;
    if (n == -1)
        return op_fail(c, NORMA_ERR_MODEL, "the target shape is missing");
    if (n == -3 || n > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "target shape has more than %d dims", IR_MAX_RANK);
    if (c->n_in > 1 && c->in[1] && c->in[1]->rank != 1)
        return op_fail(c, NORMA_ERR_MODEL, "the shape input must be 1-D");
    int allowzero = c->opset >= 14 ? (int)ir_attr_int(c->node, "allowzero", 0) : 0;
    int ok;
    size_t total = ir_numel_checked(x->rank, x->dims, &ok);
    int neg = -1;
    size_t known = 1;
    int64_t dims[IR_MAX_RANK];
    for (int i = 0; i < n; i++) {
        int64_t d = tgt[i];
        if (d == 0 && !allowzero) {
            if (i >= x->rank)
                return op_fail(c, NORMA_ERR_SHAPE, "target dim %d is 0 (copy) but the input has rank %d", i,
                               x->rank);
            d = x->dims[i];
        }
        if (d == -1) {
            if (neg >= 0)
                return op_fail(c, NORMA_ERR_MODEL, "target shape has more than one -1");
            neg = i;
            dims[i] = -1;
            continue;
        }
        if (d < -1)
            return op_fail(c, NORMA_ERR_MODEL, "target dim %d is %lld", i, (long long)d);
        if (d != 0 && known > SIZE_MAX / (size_t)d)
            return op_fail(c, NORMA_ERR_SHAPE, "target shape overflows");
        known *= (size_t)d;
        dims[i] = d;
    }
    if (neg >= 0) {
        if (known == 0 || total % known)
            return op_fail(c, NORMA_ERR_SHAPE, "cannot infer the -1 in the target shape: %zu elements into blocks of %zu",
                           total, known);
        dims[neg] = (int64_t)(total / known);
        known = total;
    }
    if (known != total) {
        char a[128], b[128];
        ir_shape_str(x->rank, x->dims, a, sizeof a);
        ir_shape_str(n, dims, b, sizeof b);
        return op_fail(c, NORMA_ERR_SHAPE, "cannot reshape %s (%zu elements) to %s (%zu elements)", a, total, b,
                       known);
    }
    op_set_shape(c->out[0], x->dtype, n, dims);
    c->view = 1;
    return NORMA_OK;
}

static int flatten_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t axis = ir_attr_int(c->node, "axis", 1);
    int r = x->rank;
    if (axis < 0 && c->opset >= 11)
        axis += r;
    if (axis < 0 || axis > r)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d",
                       (long long)ir_attr_int(c->node, "axis", 1), r);
    int ok1, ok2;
    size_t a = ir_numel_checked((int)axis, x->dims, &ok1);
    size_t b = ir_numel_checked(r - (int)axis, x->dims + axis, &ok2);
    if (!ok1 || !ok2)
        return op_fail(c, NORMA_ERR_SHAPE, "input shape overflows");
    int64_t d[2] = {(int64_t)a, (int64_t)b};
    op_set_shape(c->out[0], x->dtype, 2, d);
    c->view = 1;
    return NORMA_OK;
}

static int squeeze_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t axes[IR_MAX_RANK + 1];
    int n = read_list(c, "axes", 13, 1, axes, IR_MAX_RANK + 1);
    if (n == -4)
        return OP_NEEDS_DATA;
    if (n == -2)
        return NORMA_ERR_MODEL;
    if (n == -3 || n > x->rank)
        return op_fail(c, NORMA_ERR_MODEL, "more axes than the input's rank %d", x->rank);
    int drop[IR_MAX_RANK] = {0};
    if (n < 0) {
        for (int i = 0; i < x->rank; i++)
            drop[i] = x->dims[i] == 1;
    } else {
        for (int i = 0; i < n; i++) {
            int a = op_axis(axes[i], x->rank);
            if (a < 0)
                return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)axes[i],
                               x->rank);
            if (drop[a])
                return op_fail(c, NORMA_ERR_MODEL, "axis %lld is repeated", (long long)axes[i]);
            if (x->dims[a] != 1)
                return op_fail(c, NORMA_ERR_SHAPE, "cannot squeeze axis %d of size %lld", a, (long long)x->dims[a]);
            drop[a] = 1;
        }
    }
    int64_t d[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            d[r++] = x->dims[i];
    op_set_shape(c->out[0], x->dtype, r, d);
    c->view = 1;
    return NORMA_OK;
}

static int unsqueeze_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t axes[IR_MAX_RANK + 1];
    int n = read_list(c, "axes", 13, 1, axes, IR_MAX_RANK + 1);
    if (n == -4)
        return OP_NEEDS_DATA;
    if (n == -2)
        return NORMA_ERR_MODEL;
    if (n == -1)
        return op_fail(c, NORMA_ERR_MODEL, "axes are missing");
    int r = x->rank + n;
    if (n == -3 || r > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output rank above %d", IR_MAX_RANK);
    int ins[IR_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        int a = op_axis(axes[i], r);
        if (a < 0)
            return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for output rank %d", (long long)axes[i], r);
        if (ins[a])
            return op_fail(c, NORMA_ERR_MODEL, "axis %lld is repeated", (long long)axes[i]);
        ins[a] = 1;
    }
    int64_t d[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < r; i++)
        d[i] = ins[i] ? 1 : x->dims[k++];
    op_set_shape(c->out[0], x->dtype, r, d);
    c->view = 1;
    return NORMA_OK;
}

static const op_schema reshape1 = {"Reshape", "", 1, 1, 1, 1, 1, NULL, NULL, reshape_infer, copy_run};
static const op_schema reshape5 = {"Reshape", "", 5, 2, 2, 1, 1, NULL, NULL, reshape_infer, copy_run};
static const op_schema reshape13 = {"Reshape", "", 13, 2, 2, 1, 1, NULL, NULL, reshape_infer, copy_run};
static const op_schema reshape14 = {"Reshape", "", 14, 2, 2, 1, 1, NULL, NULL, reshape_infer, copy_run};
static const op_schema flatten1 = {"Flatten", "", 1, 1, 1, 1, 1, NULL, NULL, flatten_infer, copy_run};
static const op_schema flatten9 = {"Flatten", "", 9, 1, 1, 1, 1, NULL, NULL, flatten_infer, copy_run};
static const op_schema flatten11 = {"Flatten", "", 11, 1, 1, 1, 1, NULL, NULL, flatten_infer, copy_run};
static const op_schema flatten13 = {"Flatten", "", 13, 1, 1, 1, 1, NULL, NULL, flatten_infer, copy_run};
static const op_schema squeeze1 = {"Squeeze", "", 1, 1, 1, 1, 1, NULL, NULL, squeeze_infer, copy_run};
static const op_schema squeeze11 = {"Squeeze", "", 11, 1, 1, 1, 1, NULL, NULL, squeeze_infer, copy_run};
static const op_schema squeeze13 = {"Squeeze", "", 13, 1, 2, 1, 1, NULL, NULL, squeeze_infer, copy_run};
static const op_schema unsqueeze1 = {"Unsqueeze", "", 1, 1, 1, 1, 1, NULL, NULL, unsqueeze_infer, copy_run};
static const op_schema unsqueeze11 = {"Unsqueeze", "", 11, 1, 1, 1, 1, NULL, NULL, unsqueeze_infer, copy_run};
static const op_schema unsqueeze13 = {"Unsqueeze", "", 13, 2, 2, 1, 1, NULL, NULL, unsqueeze_infer, copy_run};

OP_TABLE(reshape) = {&reshape1, &reshape5, &reshape13, &reshape14, &flatten1, &flatten9, &flatten11, &flatten13,
                     &squeeze1, &squeeze11, &squeeze13, &unsqueeze1, &unsqueeze11, &unsqueeze13, NULL};
