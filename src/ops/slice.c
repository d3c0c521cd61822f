/*
 * Slice (ONNX opsets 1, 10, 11, 13): starts/ends/axes as attributes (opset 1) or inputs
 * starts, ends, axes, steps (10+), negative steps included. Bounds are clamped as the
 * spec says: start and end are first made positive by adding the dim, then clamped to
 * [0, dim] for a positive step and to [0, dim-1] / [-1, dim-1] for a negative one.
 * Any dtype; the copy is a strided view (kernels/copy.c).
 */
#include <string.h>

#include "kernels/copy.h"
#include "ops/op.h"

typedef struct slice_plan {
    int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], count[IR_MAX_RANK];
} slice_plan;

static int read_vec(op_ctx *c, int idx, const char *what, int64_t *buf, int *n)
{
    const ir_tensor *t = c->in[idx];
    if (t->dtype != NORMA_INT64 && t->dtype != NORMA_INT32)
        return op_fail(c, NORMA_ERR_MODEL, "'%s' must be int32 or int64, not %s", what, ir_dtype_name(t->dtype));
    if (!t->data)
        return OP_NEEDS_DATA;
    if (t->rank != 1 || ir_tensor_numel(t) > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_MODEL, "'%s' must be a 1-D list of at most %d values", what, IR_MAX_RANK);
    *n = op_read_ints(t, buf, IR_MAX_RANK);
    return NORMA_OK;
}

static int attr_vec(op_ctx *c, const char *name, int64_t *buf, int *n)
{
    const int64_t *v;
    int k = ir_attr_ints(c->node, name, &v);
    if (k > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_MODEL, "'%s' has more than %d values", name, IR_MAX_RANK);
    *n = k;
    if (k > 0)
        memcpy(buf, v, sizeof(int64_t) * (size_t)k);
    return NORMA_OK;
}

static int slice_compute(op_ctx *c, slice_plan *sp)
{
    const ir_tensor *x = c->in[0];
    int r = x->rank, rc;
    int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    int ns, ne, na = -1, nst = -1;
    if (c->opset < 10) {
        if ((rc = attr_vec(c, "starts", starts, &ns)) || (rc = attr_vec(c, "ends", ends, &ne)) ||
            (rc = attr_vec(c, "axes", axes, &na)))
            return rc;
        if (ns < 0 || ne < 0)
            return op_fail(c, NORMA_ERR_MODEL, "attributes 'starts' and 'ends' are required");
    } else {
        if (c->n_in < 3 || !c->in[1] || !c->in[2])
            return op_fail(c, NORMA_ERR_MODEL, "inputs 'starts' and 'ends' are required");
        if ((rc = read_vec(c, 1, "starts", starts, &ns)) || (rc = read_vec(c, 2, "ends", ends, &ne)))
            return rc;
        if (c->n_in > 3 && c->in[3] && (rc = read_vec(c, 3, "axes", axes, &na)))
            return rc;
        if (c->n_in > 4 && c->in[4] && (rc = read_vec(c, 4, "steps", steps, &nst)))
            return rc;
    }
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return op_fail(c, NORMA_ERR_MODEL, "starts, ends, axes and steps have different lengths (%d, %d, %d, %d)",
                       ns, ne, na, nst);
    int seen[IR_MAX_RANK] = {0};
    for (int d = 0; d < r; d++) {
        sp->start[d] = 0;
        sp->step[d] = 1;
        sp->count[d] = x->dims[d];
    }
    for (int i = 0; i < ns; i++) {
        int64_t av = na >= 0 ? axes[i] : i;
        int a = op_axis(av, r);
        if (a < 0)
            return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)av, r);
        if (seen[a])
            return op_fail(c, NORMA_ERR_MODEL, "axis %lld is repeated", (long long)av);
        seen[a] = 1;
        int64_t step = nst >= 0 ? steps[i] : 1, dim = x->dims[a];
        if (step == 0)
            return op_fail(c, NORMA_ERR_MODEL, "step for axis %d is 0", a);
        /* A step as long as the axis takes one element: clamp it so -step and the
         * kernel's step * stride cannot overflow (INT64_MIN, INT64_MAX). */
        int64_t lim = dim > 1 ? dim : 1;
        step = step > lim ? lim : step < -lim ? -lim : step;
        int64_t s = starts[i], e = ends[i];
        if (s < 0)
            s = s < -dim ? 0 : s + dim; /* INT64_MIN + dim cannot overflow, but keep it explicit */
        if (e < 0)
            e = e < -dim - 1 ? -1 : e + dim;
        int64_t cnt;
        if (step > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            cnt = e > s ? (e - s - 1) / step + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            cnt = s > e ? (s - e - 1) / (-step) + 1 : 0;
            if (dim == 0)
                cnt = 0;
        }
        sp->start[a] = cnt ? s : 0;
        sp->step[a] = step;
        sp->count[a] = cnt;
    }
    return NORMA_OK;
}

static int slice_infer(op_ctx *c)
{
    slice_plan sp;
    int rc = slice_compute(c, &sp);
    if (rc)
        return rc;
    op_set_shape(c->out[0], c->in[0]->dtype, c->in[0]->rank, sp.count);
    return NORMA_OK;
}

static int slice_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    slice_plan sp;
    if (slice_compute(c, &sp))
        return NORMA_ERR_RUNTIME;
    int r = x->rank;
    int64_t xs[IR_MAX_RANK], st[IR_MAX_RANK], od[IR_MAX_RANK], base = 0, s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    for (int d = 0; d < r; d++) {
        if (sp.count[d] == 0)
            return NORMA_OK;
        base += sp.start[d] * xs[d];
        st[d] = sp.step[d] * xs[d];
        od[d] = sp.count[d];
    }
    size_t es = ir_dtype_size(x->dtype);
    if (r == 0) {
        od[0] = 1;
        st[0] = 0;
        r = 1;
    }
    k_strided_copy(c->out[0]->data, (const char *)x->data + base * (int64_t)es, es, r, od, st, c->threads);
    return NORMA_OK;
}

static const op_schema slice1 = {"Slice", "", 1, 1, 1, 1, 1, NULL, NULL, slice_infer, slice_run};
static const op_schema slice10 = {"Slice", "", 10, 3, 5, 1, 1, NULL, NULL, slice_infer, slice_run};
static const op_schema slice11 = {"Slice", "", 11, 3, 5, 1, 1, NULL, NULL, slice_infer, slice_run};
static const op_schema slice13 = {"Slice", "", 13, 3, 5, 1, 1, NULL, NULL, slice_infer, slice_run};

OP_TABLE(slice) = {&slice1, &slice10, &slice11, &slice13, NULL};
