/*
 * Concat (ONNX opsets 1, 4, 11, 13) and Split (1, 2, 11, 13, 18): joining and cutting
 * tensors along one axis. Any dtype. Both are a loop over the dims before the axis
 * copying one contiguous block per input / output.
 */
#include <string.h>

#include "ops/op.h"

static int concat_axis(op_ctx *c, int r, int *axis)
{
    const ir_attr *a = ir_attr_find(c->node, "axis");
    if (!a && c->opset >= 4)
        return op_fail(c, NORMA_ERR_MODEL, "attribute 'axis' is required");
    if (a && a->type != IR_ATTR_INT)
        return op_fail(c, NORMA_ERR_MODEL, "attribute 'axis' is %s, expected INT", ir_attr_type_name(a->type));
    int64_t v = a ? a->i : 1;
    if (v < 0 && c->opset < 11)
        return op_fail(c, NORMA_ERR_MODEL, "negative axis %lld needs opset 11", (long long)v);
    *axis = op_axis(v, r);
    if (*axis < 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)v, r);
    return NORMA_OK;
}

static int concat_infer(op_ctx *c)
{
    const ir_tensor *x0 = c->in[0];
    int axis = 0, rc;
    if (!x0)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is missing");
    if ((rc = concat_axis(c, x0->rank, &axis)))
        return rc;
    int64_t d[IR_MAX_RANK];
    for (int i = 0; i < x0->rank; i++)
        d[i] = x0->dims[i];
    d[axis] = 0;
    for (int k = 0; k < c->n_in; k++) {
        const ir_tensor *x = c->in[k];
        if (!x)
            return op_fail(c, NORMA_ERR_MODEL, "input %d is missing", k);
        if (x->dtype != x0->dtype || x->rank != x0->rank)
            return op_fail(c, NORMA_ERR_SHAPE, "input %d has dtype %s rank %d; input 0 has %s rank %d", k,
                           ir_dtype_name(x->dtype), x->rank, ir_dtype_name(x0->dtype), x0->rank);
        for (int i = 0; i < x->rank; i++)
            if (i != axis && x->dims[i] != x0->dims[i])
                return op_fail(c, NORMA_ERR_SHAPE, "input %d has dim %d = %lld; input 0 has %lld", k, i,
                               (long long)x->dims[i], (long long)x0->dims[i]);
        d[axis] += x->dims[axis];
    }
    op_set_shape(c->out[0], x0->dtype, x0->rank, d);
    return NORMA_OK;
}

static int concat_run(op_ctx *c)
{
    ir_tensor *y = c->out[0];
    int axis, rc;
    if ((rc = concat_axis(c, y->rank, &axis))) /* the axis infer checked */
        return rc;
    size_t es = ir_dtype_size(y->dtype);
    size_t outer = 1, inner = es;
    for (int i = 0; i < axis; i++)
        outer *= (size_t)y->dims[i];
    for (int i = axis + 1; i < y->rank; i++)
        inner *= (size_t)y->dims[i];
    size_t row = inner * (size_t)y->dims[axis];
    size_t off = 0;
    for (int k = 0; k < c->n_in; k++) {
        const ir_tensor *x = c->in[k];
        size_t blk = inner * (size_t)x->dims[axis];
        if (blk) {
            const char *src = x->data;
            char *dst = (char *)y->data + off;
            for (size_t o = 0; o < outer; o++)
                memcpy(dst + o * row, src + o * blk, blk);
        }
        off += blk;
    }
    return NORMA_OK;
}

/* Split sizes into sz (n_out entries); NORMA_OK or an op_fail status. */
static int split_sizes(op_ctx *c, int axis, int64_t *sz)
{
    const ir_tensor *x = c->in[0];
    int64_t dim = x->dims[axis];
    int n = c->n_out;
    int64_t buf[64];
    int ns = -1;
    if (c->opset < 13) {
        const int64_t *v;
        ns = ir_attr_ints(c->node, "split", &v);
        if (ns > 64)
            return op_fail(c, NORMA_ERR_UNSUPPORTED, "more than 64 outputs");
        if (ns >= 0)
            memcpy(buf, v, sizeof(int64_t) * (size_t)ns);
        if (ns < 0 && c->opset < 2 && c->n_in > 1 && c->in[1]) {
            if (!c->in[1]->data)
                return OP_NEEDS_DATA;
            ns = op_read_ints(c->in[1], buf, 64);
        }
    } else if (c->n_in > 1 && c->in[1]) {
        if (c->in[1]->dtype != NORMA_INT64)
            return op_fail(c, NORMA_ERR_MODEL, "'split' must be int64");
        if (!c->in[1]->data)
            return OP_NEEDS_DATA;
        if (ir_tensor_numel(c->in[1]) > 64)
            return op_fail(c, NORMA_ERR_UNSUPPORTED, "more than 64 outputs");
        ns = op_read_ints(c->in[1], buf, 64);
    }
    if (ns >= 0) {
        if (ns != n)
            return op_fail(c, NORMA_ERR_MODEL, "'split' has %d entries for %d outputs", ns, n);
        int64_t sum = 0;
        for (int i = 0; i < n; i++) {
            if (buf[i] < 0)
                return op_fail(c, NORMA_ERR_MODEL, "split size %d is negative (%lld)", i, (long long)buf[i]);
            sum += buf[i];
            sz[i] = buf[i];
        }
        if (sum != dim)
            return op_fail(c, NORMA_ERR_SHAPE, "split sizes add up to %lld, the axis has %lld", (long long)sum,
                           (long long)dim);
        return NORMA_OK;
    }
    if (c->opset >= 18) {
        const ir_attr *no = ir_attr_find(c->node, "num_outputs");
        if (!no)
            return op_fail(c, NORMA_ERR_MODEL, "neither 'split' nor 'num_outputs' is given");
        if (no->i != n)
            return op_fail(c, NORMA_ERR_MODEL, "num_outputs is %lld but the node has %d outputs", (long long)no->i, n);
        int64_t chunk = (dim + n - 1) / n;
        int64_t left = dim;
        for (int i = 0; i < n; i++) {
            sz[i] = left < chunk ? left : chunk;
            left -= sz[i];
        }
        return NORMA_OK;
    }
    if (dim % n)
        return op_fail(c, NORMA_ERR_SHAPE, "axis of size %lld does not split evenly into %d outputs", (long long)dim, n);
    for (int i = 0; i < n; i++)
        sz[i] = dim / n;
    return NORMA_OK;
}

static int split_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t av = ir_attr_int(c->node, "axis", 0);
    int axis = op_axis(av, x->rank);
    /* Negative axes are formally opset 11+, but older PyTorch exports use them. */
    if (axis < 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)av, x->rank);
    int64_t sz[64];
    if (c->n_out > 64)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "more than 64 outputs");
    int rc = split_sizes(c, axis, sz);
    if (rc)
        return rc;
    for (int k = 0; k < c->n_out; k++) {
        if (!c->out[k])
            continue;
        int64_t d[IR_MAX_RANK];
        memcpy(d, x->dims, sizeof(int64_t) * (size_t)x->rank);
        d[axis] = sz[k];
        op_set_shape(c->out[k], x->dtype, x->rank, d);
    }
    return NORMA_OK;
}

static int split_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int axis = op_axis(ir_attr_int(c->node, "axis", 0), x->rank);
    size_t es = ir_dtype_size(x->dtype);
    size_t outer = 1, inner = es;
    for (int i = 0; i < axis; i++)
        outer *= (size_t)x->dims[i];
    for (int i = axis + 1; i < x->rank; i++)
        inner *= (size_t)x->dims[i];
    size_t row = inner * (size_t)x->dims[axis], off = 0;
    for (int k = 0; k < c->n_out; k++) {
        /* An omitted output still takes its share of the axis: recompute from infer. */
        ir_tensor *y = c->out[k];
        size_t blk;
        if (y) {
            blk = inner * (size_t)y->dims[axis];
            for (size_t o = 0; o < outer && blk; o++)
                memcpy((char *)y->data + o * blk, (const char *)x->data + o * row + off, blk);
        } else {
            int64_t sz[64];
            if (split_sizes(c, axis, sz))
                return NORMA_ERR_RUNTIME;
            blk = inner * (size_t)sz[k];
        }
        off += blk;
    }
    return NORMA_OK;
}

static const op_schema concat1 = {"Concat", "", 1, 1, 1024, 1, 1, NULL, NULL, concat_infer, concat_run};
static const op_schema concat4 = {"Concat", "", 4, 1, 1024, 1, 1, NULL, NULL, concat_infer, concat_run};
static const op_schema concat11 = {"Concat", "", 11, 1, 1024, 1, 1, NULL, NULL, concat_infer, concat_run};
static const op_schema concat13 = {"Concat", "", 13, 1, 1024, 1, 1, NULL, NULL, concat_infer, concat_run};
static const op_schema split1 = {"Split", "", 1, 1, 2, 1, 64, NULL, NULL, split_infer, split_run};
static const op_schema split2 = {"Split", "", 2, 1, 1, 1, 64, NULL, NULL, split_infer, split_run};
static const op_schema split11 = {"Split", "", 11, 1, 1, 1, 64, NULL, NULL, split_infer, split_run};
static const op_schema split13 = {"Split", "", 13, 1, 2, 1, 64, NULL, NULL, split_infer, split_run};
static const op_schema split18 = {"Split", "", 18, 1, 2, 1, 64, NULL, NULL, split_infer, split_run};

OP_TABLE(concat) = {&concat1, &concat4, &concat11, &concat13, &split1, &split2, &split11, &split13, &split18, NULL};
