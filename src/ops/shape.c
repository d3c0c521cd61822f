/*
 * Shape (ONNX opsets 1, 13, 15 with start/end), Size (1, 13), ConstantOfShape (9) and
 * Range (11): ops that make small tensors from shapes and scalars. Shape and Size read
 * only their input's shape, so the planner evaluates them once per plan and the
 * Shape -> Gather -> Concat -> Reshape chains that exporters emit become constants.
 */
#include <math.h>
#include <string.h>

#include "ops/elem.h"
#include "ops/op.h"

static void shape_range(op_ctx *c, int r, int64_t *s, int64_t *e)
{
    int64_t start = c->opset >= 15 ? ir_attr_int(c->node, "start", 0) : 0;
    int64_t end = c->opset >= 15 ? ir_attr_int(c->node, "end", r) : r;
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    *s = start;
    *e = end > start ? end : start;
}

static int shape_infer(op_ctx *c)
{
    int64_t s, e;
    shape_range(c, c->in[0]->rank, &s, &e);
    int64_t n = e - s;
    op_set_shape(c->out[0], NORMA_INT64, 1, &n);
    return NORMA_OK;
}

static int shape_run(op_ctx *c)
{
    int64_t s, e;
    shape_range(c, c->in[0]->rank, &s, &e);
    int64_t *y = c->out[0]->data;
    for (int64_t i = s; i < e; i++)
        y[i - s] = c->in[0]->dims[i];
    return NORMA_OK;
}

static int size_infer(op_ctx *c)
{
    op_set_shape(c->out[0], NORMA_INT64, 0, NULL);
    return NORMA_OK;
}

static int size_run(op_ctx *c)
{
    *(int64_t *)c->out[0]->data = (int64_t)ir_tensor_numel(c->in[0]);
    return NORMA_OK;
}

static int cos_infer(op_ctx *c)
{
    const ir_tensor *s = c->in[0];
    const ir_attr *a = ir_attr_find(c->node, "value");
    int dtype = NORMA_FLOAT;
    if (a) {
        if (a->type != IR_ATTR_TENSOR || !a->t || ir_tensor_numel(a->t) != 1)
            return op_fail(c, NORMA_ERR_MODEL, "'value' must be a one-element tensor");
        dtype = a->t->dtype;
        if (ir_dtype_size(dtype) == 0)
            return op_fail(c, NORMA_ERR_UNSUPPORTED, "'value' has dtype %s", ir_dtype_name(dtype));
    }
    if (s->dtype != NORMA_INT64)
        return op_fail(c, NORMA_ERR_MODEL, "the shape input must be int64, not %s", ir_dtype_name(s->dtype));
    if (s->rank != 1)
        return op_fail(c, NORMA_ERR_MODEL, "the shape input must be 1-D");
    if (!s->data)
        return OP_NEEDS_DATA;
    if (s->dims[0] > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output rank %lld is above %d", (long long)s->dims[0], IR_MAX_RANK);
    int64_t d[IR_MAX_RANK];
    int n = op_read_ints(s, d, IR_MAX_RANK);
    for (int i = 0; i < n; i++)
        if (d[i] < 0)
            return op_fail(c, NORMA_ERR_MODEL, "dim %d of the shape is negative (%lld)", i, (long long)d[i]);
    op_set_shape(c->out[0], dtype, n, d);
    return NORMA_OK;
}

static int cos_run(op_ctx *c)
{
    ir_tensor *y = c->out[0];
    const ir_attr *a = ir_attr_find(c->node, "value");
    size_t es = ir_dtype_size(y->dtype), n = ir_tensor_numel(y);
    unsigned char v[8] = {0};
    if (a)
        memcpy(v, a->t->data, es);
    for (size_t i = 0; i < n; i++)
        memcpy((char *)y->data + i * es, v, es);
    return NORMA_OK;
}

static int range_infer(op_ctx *c)
{
    static const int ok[] = {NORMA_FLOAT, NORMA_DOUBLE, NORMA_INT16, NORMA_INT32, NORMA_INT64, 0};
    int rc;
    for (int i = 0; i < 3; i++) {
        if ((rc = op_check_dtype(c, i, ok)))
            return rc;
        if (c->in[i]->dtype != c->in[0]->dtype)
            return op_fail(c, NORMA_ERR_MODEL, "start, limit and delta must have one dtype");
        if (ir_tensor_numel(c->in[i]) != 1)
            return op_fail(c, NORMA_ERR_MODEL, "input %d must be a scalar", i);
        if (!c->in[i]->data)
            return OP_NEEDS_DATA;
    }
    int dt = c->in[0]->dtype;
    int64_t n;
    if (elem_is_float(dt)) {
        double s = elem_get_f64(c->in[0]->data, dt, 0), l = elem_get_f64(c->in[1]->data, dt, 0),
               d = elem_get_f64(c->in[2]->data, dt, 0);
        if (d == 0 || !isfinite(s) || !isfinite(l) || !isfinite(d))
            return op_fail(c, NORMA_ERR_MODEL, "delta is 0 or a bound is not finite");
        double k = ceil((l - s) / d);
        if (k > 1e12)
            return op_fail(c, NORMA_ERR_SHAPE, "range of %g elements is too large", k);
        n = k > 0 ? (int64_t)k : 0;
    } else {
        int64_t s = elem_get_i64(c->in[0]->data, dt, 0), l = elem_get_i64(c->in[1]->data, dt, 0),
                d = elem_get_i64(c->in[2]->data, dt, 0);
        if (d == 0)
            return op_fail(c, NORMA_ERR_MODEL, "delta is 0");
        double k = ceil(((double)l - (double)s) / (double)d);
        if (k > 1e12)
            return op_fail(c, NORMA_ERR_SHAPE, "range of %g elements is too large", k);
        n = k > 0 ? (int64_t)k : 0;
    }
    op_set_shape(c->out[0], dt, 1, &n);
    return NORMA_OK;
}

static int range_run(op_ctx *c)
{
    int dt = c->in[0]->dtype;
    ir_tensor *y = c->out[0];
    int64_t n = y->dims[0];
    if (elem_is_float(dt)) {
        double s = elem_get_f64(c->in[0]->data, dt, 0), d = elem_get_f64(c->in[2]->data, dt, 0);
        if (dt == NORMA_FLOAT) { /* accumulate as the reference does: start + i*delta in float */
            float fs = (float)s, fd = (float)d;
            for (int64_t i = 0; i < n; i++)
                ((float *)y->data)[i] = fs + (float)i * fd;
        } else {
            for (int64_t i = 0; i < n; i++)
                elem_set_f64(y->data, dt, (size_t)i, s + (double)i * d);
        }
    } else {
        int64_t s = elem_get_i64(c->in[0]->data, dt, 0), d = elem_get_i64(c->in[2]->data, dt, 0);
        for (int64_t i = 0; i < n; i++)
            elem_set_i64(y->data, dt, (size_t)i, (int64_t)((uint64_t)s + (uint64_t)i * (uint64_t)d));
    }
    return NORMA_OK;
}

static const op_schema shape1 = {"Shape", "", 1, 1, 1, 1, 1, NULL, NULL, shape_infer, shape_run, OP_F_SHAPE_ONLY};
static const op_schema shape13 = {"Shape", "", 13, 1, 1, 1, 1, NULL, NULL, shape_infer, shape_run, OP_F_SHAPE_ONLY};
static const op_schema shape15 = {"Shape", "", 15, 1, 1, 1, 1, NULL, NULL, shape_infer, shape_run, OP_F_SHAPE_ONLY};
static const op_schema size1 = {"Size", "", 1, 1, 1, 1, 1, NULL, NULL, size_infer, size_run, OP_F_SHAPE_ONLY};
static const op_schema size13 = {"Size", "", 13, 1, 1, 1, 1, NULL, NULL, size_infer, size_run, OP_F_SHAPE_ONLY};
static const op_schema cos9 = {"ConstantOfShape", "", 9, 1, 1, 1, 1, NULL, NULL, cos_infer, cos_run};
static const op_schema range11 = {"Range", "", 11, 3, 3, 1, 1, NULL, NULL, range_infer, range_run};

OP_TABLE(shape) = {&shape1, &shape13, &shape15, &size1, &size13, &cos9, &range11, NULL};
