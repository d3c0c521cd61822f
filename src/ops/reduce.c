/*
 * Reductions (ONNX spec: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
 * ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare).
 *
 * Axes come from the `axes` attribute before opset 18 (ReduceSum: before 13) and from
 * the optional second input after. The output shape depends on them: an axes input
 * known only at run time makes infer ask for its data (OP_NEEDS_DATA); an empty axes
 * tensor needs no data. Empty axes reduce everything unless
 * noop_with_empty_axes=1, which applies the op elementwise (a reduction of one element).
 *
 * The reduced axes are merged with their neighbours; trailing axes become the rows
 * kernel, one middle block the mid kernel, anything else the strided reference.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/reduce.h"
#include "ops/op.h"

typedef struct red_state {
    int op;
    int keepdims, noop;
    int axes_input; /* axes come from input 1 */
    int n_attr;     /* -1 when the attribute is absent */
    int64_t attr[IR_MAX_RANK];
} red_state;

static const struct {
    const char *name;
    int op;
} red_ops[] = {
    {"ReduceSum", K_RED_SUM},         {"ReduceMean", K_RED_MEAN},
    {"ReduceMax", K_RED_MAX},         {"ReduceMin", K_RED_MIN},
    {"ReduceProd", K_RED_PROD},       {"ReduceL1", K_RED_L1},
    {"ReduceL2", K_RED_L2},           {"ReduceLogSum", K_RED_LOG_SUM},
    {"ReduceLogSumExp", K_RED_LOG_SUM_EXP}, {"ReduceSumSquare", K_RED_SUM_SQUARE},
};

static int red_init(op_ctx *c)
{
    red_state *st = calloc(1, sizeof *st);
    if (!st)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    c->state = st;
    size_t k;
    for (k = 0; k < sizeof red_ops / sizeof red_ops[0]; k++)
        if (strcmp(red_ops[k].name, c->node->op_type) == 0)
            break;
    if (k == sizeof red_ops / sizeof red_ops[0])
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "not a reduction");
    st->op = red_ops[k].op;
    st->keepdims = ir_attr_int(c->node, "keepdims", 1) != 0;
    st->noop = ir_attr_int(c->node, "noop_with_empty_axes", 0) != 0;
    st->axes_input = c->opset >= (st->op == K_RED_SUM ? 13 : 18);
    const int64_t *ax;
    st->n_attr = ir_attr_ints(c->node, "axes", &ax);
    if (st->n_attr > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_MODEL, "%d axes, more than the maximum rank %d", st->n_attr,
                       IR_MAX_RANK);
    if (st->n_attr > 0)
        memcpy(st->attr, ax, sizeof(int64_t) * (size_t)st->n_attr);
    if (st->axes_input && st->n_attr >= 0)
        return op_fail(c, NORMA_ERR_MODEL, "axes is an input at opset %d, not an attribute", c->opset);
    return NORMA_OK;
}

/* Sets red[d] for each reduced dim of x. */
static int reduced_dims(op_ctx *c, int *red)
{
    const red_state *st = c->state;
    const ir_tensor *x = c->in[0];
    int64_t axes[IR_MAX_RANK + 1];
    int n = st->n_attr > 0 ? st->n_attr : 0;
    if (n)
        memcpy(axes, st->attr, sizeof(int64_t) * (size_t)n);
    if (st->axes_input && c->n_in > 1 && c->in[1]) {
        const ir_tensor *a = c->in[1];
        if (a->dtype != NORMA_INT64)
            return op_fail(c, NORMA_ERR_MODEL, "axes has dtype %s, not int64", ir_dtype_name(a->dtype));
        size_t na = ir_tensor_numel(a);
        if (na > (size_t)x->rank)
            return op_fail(c, NORMA_ERR_MODEL, "%zu axes for an input of rank %d", na, x->rank);
        n = 0;
        if (na) {
            if (!a->data)
                return OP_NEEDS_DATA;
            n = op_read_ints(a, axes, IR_MAX_RANK);
        }
    }
    for (int d = 0; d < x->rank; d++)
        red[d] = n == 0 && !st->noop;
    for (int k = 0; k < n; k++) {
        int d = op_axis(axes[k], x->rank);
        if (d < 0)
            return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d",
                           (long long)axes[k], x->rank);
        if (red[d])
            return op_fail(c, NORMA_ERR_MODEL, "axis %lld is repeated", (long long)axes[k]);
        red[d] = 1;
    }
    return NORMA_OK;
}

static int red_infer(op_ctx *c)
{
    const red_state *st = c->state;
    const ir_tensor *x = c->in[0];
    if (!x)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is missing");
    int int_ok = st->op == K_RED_SUM || st->op == K_RED_MAX || st->op == K_RED_MIN ||
                 st->op == K_RED_PROD || st->op == K_RED_L1 || st->op == K_RED_SUM_SQUARE;
    if (x->dtype != NORMA_FLOAT && x->dtype != NORMA_DOUBLE && !(int_ok && x->dtype == NORMA_INT64))
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "input 0 has dtype %s, which this op does not support",
                       ir_dtype_name(x->dtype));
    int red[IR_MAX_RANK];
    int rc = reduced_dims(c, red);
    if (rc)
        return rc;
    int64_t od[IR_MAX_RANK];
    int r = 0;
    for (int d = 0; d < x->rank; d++) {
        if (!red[d])
            od[r++] = x->dims[d];
        else if (st->keepdims)
            od[r++] = 1;
    }
    op_set_shape(c->out[0], x->dtype, r, od);
    if (st->op == K_RED_LOG_SUM_EXP)
        c->scratch_size = ir_tensor_numel(c->out[0]) * sizeof(float);
    return NORMA_OK;
}

#define RED_PAR_MIN 32768

static int red_run(op_ctx *c)
{
    const red_state *st = c->state;
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    int red[IR_MAX_RANK];
    int rc = reduced_dims(c, red);
    if (rc)
        return rc;
    if (ir_tensor_numel(y) == 0)
        return NORMA_OK;
    if (x->dtype == NORMA_INT64) {
        k_i64_reduce_ref(st->op, x->rank, x->dims, red, x->data, y->data);
        return NORMA_OK;
    }
    if (x->dtype == NORMA_DOUBLE) {
        k_f64_reduce_ref(st->op, x->rank, x->dims, red, x->data, y->data);
        return NORMA_OK;
    }
    /* Merge: drop size-1 dims, join neighbours with the same reduced flag. */
    int64_t gd[IR_MAX_RANK];
    int gr[IR_MAX_RANK], ng = 0;
    for (int d = 0; d < x->rank; d++) {
        if (x->dims[d] == 1)
            continue;
        if (ng && gr[ng - 1] == red[d]) {
            gd[ng - 1] *= x->dims[d];
            continue;
        }
        gd[ng] = x->dims[d];
        gr[ng++] = red[d];
    }
    size_t O = 1, R = 1, I = 1;
    int layout; /* 0 rows, 1 mid, 2 reference */
    if (ng == 0) {
        layout = 0;
    } else if (ng == 1) {
        layout = 0;
        if (gr[0])
            R = (size_t)gd[0];
        else
            O = (size_t)gd[0];
    } else if (ng == 2 && !gr[0]) {
        layout = 0;
        O = (size_t)gd[0];
        R = (size_t)gd[1];
    } else if (ng == 2) {
        layout = 1;
        R = (size_t)gd[0];
        I = (size_t)gd[1];
    } else if (ng == 3 && gr[1]) {
        layout = 1;
        O = (size_t)gd[0];
        R = (size_t)gd[1];
        I = (size_t)gd[2];
    } else {
        layout = 2;
    }
    const float *px = x->data;
    float *py = y->data;
    if (layout == 2) {
        k_f32_reduce_ref(st->op, x->rank, x->dims, red, px, py);
        return NORMA_OK;
    }
    size_t work = O * R * I;
    int nth = (work >= RED_PAR_MIN && O > 1 && c->threads > 1) ? c->threads : 1;
    size_t per = (O + (size_t)nth - 1) / (size_t)nth;
    float *tmp = c->scratch;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        size_t o0 = (size_t)t * per, o1 = o0 + per < O ? o0 + per : O;
        if (o0 >= o1)
            continue;
        if (layout == 0)
            k_f32_reduce_rows(st->op, o1 - o0, R, px + o0 * R, py + o0);
        else
            k_f32_reduce_mid(st->op, o1 - o0, R, I, px + o0 * R * I, py + o0 * I,
                             tmp ? tmp + o0 * I : NULL);
    }
    return NORMA_OK;
}

#define RED(var, name, ver)                                                                      \
    static const op_schema var = {name, "", ver, 1, 2, 1, 1, red_init, NULL, red_infer, red_run};
RED(sum1, "ReduceSum", 1)
RED(sum11, "ReduceSum", 11)
RED(sum13, "ReduceSum", 13)
RED(mean1, "ReduceMean", 1)
RED(mean11, "ReduceMean", 11)
RED(mean13, "ReduceMean", 13)
RED(mean18, "ReduceMean", 18)
RED(max1, "ReduceMax", 1)
RED(max11, "ReduceMax", 11)
RED(max12, "ReduceMax", 12)
RED(max13, "ReduceMax", 13)
RED(max18, "ReduceMax", 18)
RED(min1, "ReduceMin", 1)
RED(min11, "ReduceMin", 11)
RED(min12, "ReduceMin", 12)
RED(min13, "ReduceMin", 13)
RED(min18, "ReduceMin", 18)
RED(prod1, "ReduceProd", 1)
RED(prod11, "ReduceProd", 11)
RED(prod13, "ReduceProd", 13)
RED(prod18, "ReduceProd", 18)
RED(l1_1, "ReduceL1", 1)
RED(l1_11, "ReduceL1", 11)
RED(l1_13, "ReduceL1", 13)
RED(l1_18, "ReduceL1", 18)
RED(l2_1, "ReduceL2", 1)
RED(l2_11, "ReduceL2", 11)
RED(l2_13, "ReduceL2", 13)
RED(l2_18, "ReduceL2", 18)
RED(ls1, "ReduceLogSum", 1)
RED(ls11, "ReduceLogSum", 11)
RED(ls13, "ReduceLogSum", 13)
RED(ls18, "ReduceLogSum", 18)
RED(lse1, "ReduceLogSumExp", 1)
RED(lse11, "ReduceLogSumExp", 11)
RED(lse13, "ReduceLogSumExp", 13)
RED(lse18, "ReduceLogSumExp", 18)
RED(ss1, "ReduceSumSquare", 1)
RED(ss11, "ReduceSumSquare", 11)
RED(ss13, "ReduceSumSquare", 13)
RED(ss18, "ReduceSumSquare", 18)

OP_TABLE(reduce) = {&sum1, &sum11, &sum13, &mean1, &mean11, &mean13, &mean18, &max1, &max11,
                    &max12, &max13, &max18, &min1, &min11, &min12, &min13, &min18, &prod1,
                    &prod11, &prod13, &prod18, &l1_1, &l1_11, &l1_13, &l1_18, &l2_1, &l2_11,
                    &l2_13, &l2_18, &ls1, &ls11, &ls13, &ls18, &lse1, &lse11, &lse13, &lse18,
                    &ss1, &ss11, &ss13, &ss18, NULL};
