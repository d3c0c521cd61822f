/*
 * Transpose (ONNX opsets 1, 13): permutes the axes, perm defaulting to reversing them.
 * Any dtype (bytes moved by element size). The copy coalesces axes that stay
 * contiguous and tiles the last two axes when they are swapped (kernels/copy.c), which
 * covers the common 4-D cases (NCHW <-> NHWC, attention heads) at memory speed.
 */
#include "kernels/copy.h"
#include "ops/op.h"

static int transpose_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int r = x->rank, seen[IR_MAX_RANK] = {0};
    const int64_t *p;
    int n = ir_attr_ints(c->node, "perm", &p);
    if (n >= 0 && n != r)
        return op_fail(c, NORMA_ERR_MODEL, "perm has %d entries for an input of rank %d", n, r);
    int64_t d[IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int64_t v = n >= 0 ? p[i] : r - 1 - i;
        if (v < 0 || v >= r || seen[v])
            return op_fail(c, NORMA_ERR_MODEL, "perm is not a permutation of 0..%d (entry %d is %lld)", r - 1, i,
                           (long long)v);
        seen[v] = 1;
        d[i] = x->dims[v];
    }
    op_set_shape(c->out[0], x->dtype, r, d);
    /* Moving only axes of size 1 (a batch of 1 from first to second) leaves the
     * bytes as they are. */
    int last = -1, ordered = 1;
    for (int i = 0; i < r; i++) {
        int v = n >= 0 ? (int)p[i] : r - 1 - i;
        if (x->dims[v] == 1)
            continue;
        ordered &= v > last;
        last = v;
    }
    c->view = ordered;
    return NORMA_OK;
}

static int transpose_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    if (y->data == x->data) /* the planner shared the memory of a view (see infer) */
        return NORMA_OK;
    int r = x->rank;
    const int64_t *p;
    int n = ir_attr_ints(c->node, "perm", &p);
    int64_t xs[IR_MAX_RANK], st[IR_MAX_RANK], od[IR_MAX_RANK];
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        xs[i] = s;
        s *= x->dims[i];
    }
    for (int i = 0; i < r; i++) {
        int64_t v = n >= 0 ? p[i] : r - 1 - i;
        st[i] = xs[v];
        od[i] = y->dims[i];
    }
    if (r == 0) {
        od[0] = 1;
        st[0] = 0;
        r = 1;
    }
    k_strided_copy(y->data, x->data, ir_dtype_size(x->dtype), r, od, st, c->threads);
    return NORMA_OK;
}

static const op_schema transpose1 = {"Transpose", "", 1, 1, 1, 1, 1, NULL, NULL, transpose_infer, transpose_run};
static const op_schema transpose13 = {"Transpose", "", 13, 1, 1, 1, 1, NULL, NULL, transpose_infer, transpose_run};

OP_TABLE(transpose) = {&transpose1, &transpose13, NULL};
