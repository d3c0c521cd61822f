/*
 * Expand (ONNX opsets 8, 13): broadcast the input to a shape (numpy rules, either side
 * may be 1). Tile (6, 13): repeat the input `repeats[d]` times along each axis. Any
 * dtype. Both are strided copies (kernels/copy.c): Expand with stride 0 on broadcast
 * axes, Tile over a view that splits each axis into (repeat, input dim).
 */
#include <string.h>

#include "kernels/copy.h"
#include "ops/op.h"

static int read_shape_input(op_ctx *c, const char *what, int64_t *buf, int *n)
{
    const ir_tensor *t = c->in[1];
    if (t->dtype != NORMA_INT64)
        return op_fail(c, NORMA_ERR_MODEL, "'%s' must be int64, not %s", what, ir_dtype_name(t->dtype));
    if (t->rank != 1)
        return op_fail(c, NORMA_ERR_MODEL, "'%s' must be 1-D", what);
    if (!t->data)
        return OP_NEEDS_DATA;
    if (t->dims[0] > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "'%s' has more than %d entries", what, IR_MAX_RANK);
    *n = op_read_ints(t, buf, IR_MAX_RANK);
    return NORMA_OK;
}

static int expand_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t s[IR_MAX_RANK], d[IR_MAX_RANK];
    int n, r, rc;
    if ((rc = read_shape_input(c, "shape", s, &n)))
        return rc;
    for (int i = 0; i < n; i++)
        if (s[i] < 0)
            return op_fail(c, NORMA_ERR_MODEL, "shape entry %d is negative (%lld)", i, (long long)s[i]);
    if (op_broadcast_shape(x->rank, x->dims, n, s, &r, d)) {
        char a[128], b[128];
        ir_shape_str(x->rank, x->dims, a, sizeof a);
        ir_shape_str(n, s, b, sizeof b);
        return op_fail(c, NORMA_ERR_SHAPE, "cannot broadcast %s to %s", a, b);
    }
    op_set_shape(c->out[0], x->dtype, r, d);
    return NORMA_OK;
}

static int expand_run(op_ctx *c)
{
    ir_tensor *y = c->out[0];
    int64_t st[IR_MAX_RANK], od[IR_MAX_RANK];
    int r = y->rank;
    if (ir_tensor_numel(y) == 0)
        return NORMA_OK;
    op_broadcast_strides(c->in[0], r, y->dims, st);
    for (int i = 0; i < r; i++)
        od[i] = y->dims[i];
    if (r == 0) {
        od[0] = 1;
        st[0] = 0;
        r = 1;
    }
    k_strided_copy(y->data, c->in[0]->data, ir_dtype_size(y->dtype), r, od, st, c->threads);
    return NORMA_OK;
}

static int tile_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t rep[IR_MAX_RANK], d[IR_MAX_RANK];
    int n, rc;
    if ((rc = read_shape_input(c, "repeats", rep, &n)))
        return rc;
    if (n != x->rank)
        return op_fail(c, NORMA_ERR_MODEL, "'repeats' has %d entries for an input of rank %d", n, x->rank);
    for (int i = 0; i < n; i++) {
        if (rep[i] < 0)
            return op_fail(c, NORMA_ERR_MODEL, "repeats[%d] is negative (%lld)", i, (long long)rep[i]);
        if (rep[i] && x->dims[i] > INT64_MAX / rep[i])
            return op_fail(c, NORMA_ERR_SHAPE, "axis %d overflows", i);
        d[i] = x->dims[i] * rep[i];
    }
    op_set_shape(c->out[0], x->dtype, n, d);
    return NORMA_OK;
}

/* Output element (o_0..o_r-1) is input element (o_d mod x_d): a strided copy over a
 * view of rank 2r with dims (rep_d, x_d) and strides (0, xs_d). */
static int tile_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    int r = x->rank;
    if (ir_tensor_numel(y) == 0)
        return NORMA_OK;
    int64_t od[2 * IR_MAX_RANK], st[2 * IR_MAX_RANK], s = 1;
    for (int i = r - 1; i >= 0; i--) {
        od[2 * i] = y->dims[i] / x->dims[i];
        st[2 * i] = 0;
        od[2 * i + 1] = x->dims[i];
        st[2 * i + 1] = s;
        s *= x->dims[i];
    }
    int rr = 2 * r;
    if (rr == 0) {
        od[0] = 1;
        st[0] = 0;
        rr = 1;
    }
    k_strided_copy(y->data, x->data, ir_dtype_size(x->dtype), rr, od, st, c->threads);
    return NORMA_OK;
}

static const op_schema expand8 = {"Expand", "", 8, 2, 2, 1, 1, NULL, NULL, expand_infer, expand_run};
static const op_schema expand13 = {"Expand", "", 13, 2, 2, 1, 1, NULL, NULL, expand_infer, expand_run};
static const op_schema tile6 = {"Tile", "", 6, 2, 2, 1, 1, NULL, NULL, tile_infer, tile_run};
static const op_schema tile13 = {"Tile", "", 13, 2, 2, 1, 1, NULL, NULL, tile_infer, tile_run};

OP_TABLE(expand) = {&expand8, &expand13, &tile6, &tile13, NULL};
