/*
 * MaxUnpool (ONNX opsets 9 and 11): the partial inverse of MaxPool. X (N, C, D1..Dk)
 * and I (the Indices output of MaxPool, same shape, flat indices into the whole
 * output tensor) scatter into a zeroed Y (N, C, O1..Ok), with Oi = (Di - 1) * stride
 * - pad_begin - pad_end + kernel, or the shape given by the optional output_shape input
 * (opset 11; its values decide the shape, so infer waits for them). Indices always
 * count positions of the default-shaped output (as MaxPool produced them); with a larger
 * output_shape each lands at the same (n, c, i1..ik) coordinates of Y. Indices are
 * checked against the default output's size at run time.
 */
#include <string.h>

#include "ops/op.h"

/* The output dims of Y without output_shape into od; reports bad attributes. */
static int unpool_default(op_ctx *c, int64_t *od)
{
    static const int dt[] = {NORMA_FLOAT, NORMA_DOUBLE, 0}, it[] = {NORMA_INT64, 0};
    int rc = op_check_dtype(c, 0, dt);
    if (!rc)
        rc = op_check_dtype(c, 1, it);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *ix = c->in[1];
    int r = x->rank, k = r - 2;
    if (r < 3)
        return op_fail(c, NORMA_ERR_SHAPE, "X must have rank >= 3, got %d", r);
    if (ix->rank != r || memcmp(ix->dims, x->dims, sizeof(int64_t) * (size_t)r))
        return op_fail(c, NORMA_ERR_SHAPE, "I must have X's shape");
    const int64_t *ks, *st = NULL, *pd = NULL;
    if (ir_attr_ints(c->node, "kernel_shape", &ks) != k)
        return op_fail(c, NORMA_ERR_MODEL, "kernel_shape must have %d values", k);
    int ns = ir_attr_ints(c->node, "strides", &st), np = ir_attr_ints(c->node, "pads", &pd);
    if ((ns >= 0 && ns != k) || (np >= 0 && np != 2 * k))
        return op_fail(c, NORMA_ERR_MODEL, "strides need %d values and pads %d", k, 2 * k);
    od[0] = x->dims[0];
    od[1] = x->dims[1];
    for (int i = 0; i < k; i++) {
        int64_t s = ns > 0 ? st[i] : 1, p = np > 0 ? pd[i] + pd[i + k] : 0;
        if (ks[i] < 1 || s < 1)
            return op_fail(c, NORMA_ERR_MODEL, "kernel_shape and strides must be positive");
        od[2 + i] = (x->dims[2 + i] - 1) * s - p + ks[i];
        if (od[2 + i] < 0)
            return op_fail(c, NORMA_ERR_SHAPE, "output dim %d is negative", 2 + i);
    }
    return NORMA_OK;
}

static int unpool_infer(op_ctx *c)
{
    int64_t od[IR_MAX_RANK];
    int rc = unpool_default(c, od);
    if (rc)
        return rc;
    int r = c->in[0]->rank;
    if (c->n_in > 2 && c->in[2]) {
        const ir_tensor *os = c->in[2];
        if (os->rank != 1 || os->dims[0] != r)
            return op_fail(c, NORMA_ERR_SHAPE, "output_shape must hold %d values", r);
        if (!os->data)
            return OP_NEEDS_DATA;
        int64_t v[IR_MAX_RANK];
        op_read_ints(os, v, r);
        for (int i = 0; i < r; i++) {
            if (v[i] < 0 || (i < 2 && v[i] != od[i]) || (i >= 2 && v[i] < od[i]))
                return op_fail(c, NORMA_ERR_SHAPE, "output_shape[%d] = %lld is invalid (at least %lld)", i,
                               (long long)v[i], (long long)od[i]);
            od[i] = v[i];
        }
    }
    int ok = 1;
    ir_numel_checked(r, od, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "output size overflows");
    op_set_shape(c->out[0], c->in[0]->dtype, r, od);
    return NORMA_OK;
}

static int unpool_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    const int64_t *ix = c->in[1]->data;
    ir_tensor *y = c->out[0];
    int64_t od[IR_MAX_RANK];
    int r = x->rank, rc = unpool_default(c, od);
    if (rc)
        return rc;
    size_t n = ir_tensor_numel(x), ny = ir_tensor_numel(y), es = ir_dtype_size(x->dtype);
    int ok = 1;
    size_t nd = ir_numel_checked(r, od, &ok);
    int same = memcmp(od, y->dims, sizeof(int64_t) * (size_t)r) == 0;
    memset(y->data, 0, ny * es);
    for (size_t i = 0; i < n; i++) {
        if (ix[i] < 0 || (uint64_t)ix[i] >= nd)
            return op_fail(c, NORMA_ERR_RUNTIME, "index %lld at %zu is outside the output (%zu elements)",
                           (long long)ix[i], i, nd);
        size_t at = (size_t)ix[i];
        if (!same) { /* re-address the default-shape coordinates in Y */
            size_t rem = at, mul = 1;
            at = 0;
            for (int d = r - 1; d >= 0; d--) {
                size_t co = rem % (size_t)od[d];
                rem /= (size_t)od[d];
                at += co * mul;
                mul *= (size_t)y->dims[d];
            }
        }
        memcpy((char *)y->data + at * es, (const char *)x->data + i * es, es);
    }
    return NORMA_OK;
}

static const op_schema unpool9 = {"MaxUnpool", "", 9, 2, 2, 1, 1, NULL, NULL, unpool_infer, unpool_run};
static const op_schema unpool11 = {"MaxUnpool", "", 11, 2, 3, 1, 1, NULL, NULL, unpool_infer, unpool_run};

OP_TABLE(maxunpool) = {&unpool9, &unpool11, NULL};
