/*
 * Elementwise binary and variadic ops with numpy broadcasting (ONNX spec: Add, Sub,
 * Mul, Div, Pow, Sum, Mean, Max, Min, PRelu).
 *
 * The N-d broadcast is reduced to runs: output dims of size 1 are dropped, adjacent dims
 * are merged where both operands are contiguous (or both broadcast) across them, and the
 * innermost merged dim becomes a run handed to k_binary_1d with operand strides 0 or 1.
 * Same-shape inputs collapse to one run; scalar and row broadcasts to a few long runs.
 *
 * Opsets before 7 had no numpy broadcasting: with broadcast=1, B's shape matched a
 * contiguous part of A's starting at `axis` (default: the trailing dims). That is
 * handled by padding B's shape with 1s; with broadcast=0 the shapes must be equal.
 */
#include <stdlib.h>
#include <string.h>

#include "ir/half.h"
#include "kernels/binary.h"
#include "ops/bcast.h"
#include "ops/op.h"

typedef struct bin_state {
    int op;       /* K_BIN_* */
    int variadic; /* Sum, Mean, Max, Min */
    int mean;
    int legacy;   /* opset < 7 Add/Sub/Mul/Div/Pow: 1 = broadcast attr set, -1 = no broadcast */
    int64_t legacy_axis; /* INT64_MIN when absent */
} bin_state;

static int bin_init(op_ctx *c)
{
    bin_state *st = calloc(1, sizeof *st);
    if (!st)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    c->state = st;
    const char *t = c->node->op_type;
    static const struct { const char *name; int op, variadic, mean; } map[] = {
        {"Add", K_BIN_ADD, 0, 0}, {"Sub", K_BIN_SUB, 0, 0}, {"Mul", K_BIN_MUL, 0, 0},
        {"Div", K_BIN_DIV, 0, 0}, {"Pow", K_BIN_POW, 0, 0}, {"PRelu", K_BIN_PRELU, 0, 0},
        {"Sum", K_BIN_ADD, 1, 0}, {"Mean", K_BIN_ADD, 1, 1}, {"Max", K_BIN_MAX, 1, 0},
        {"Min", K_BIN_MIN, 1, 0},
    };
    size_t k;
    for (k = 0; k < sizeof map / sizeof map[0]; k++)
        if (strcmp(map[k].name, t) == 0)
            break;
    if (k == sizeof map / sizeof map[0])
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "not a binary op");
    st->op = map[k].op;
    st->variadic = map[k].variadic;
    st->mean = map[k].mean;
    st->legacy_axis = INT64_MIN;
    if (!st->variadic && st->op != K_BIN_PRELU && c->opset < 7) {
        st->legacy = ir_attr_int(c->node, "broadcast", 0) ? 1 : -1;
        const ir_attr *ax = ir_attr_find(c->node, "axis");
        if (ax)
            st->legacy_axis = ax->i;
    }
    return NORMA_OK;
}

/* B's shape as the legacy (opset < 7) broadcast sees it, in numpy terms. */
static int legacy_view(op_ctx *c, const bin_state *st, const ir_tensor *a, const ir_tensor *b,
                       ir_tensor *view)
{
    *view = *b;
    /* PRelu with a per-channel slope of shape (C) on X of shape (N, C, ...): older
     * exports (PyTorch's nn.PReLU(C) at opset 6) mean channel-wise, which numpy
     * broadcasting would align with the last axis instead. */
    if (st->op == K_BIN_PRELU && b->rank == 1 && a->rank >= 3 && b->dims[0] == a->dims[1] &&
        b->dims[0] != a->dims[a->rank - 1]) {
        view->rank = a->rank;
        for (int i = 0; i < a->rank; i++)
            view->dims[i] = i == 1 ? b->dims[0] : 1;
        return NORMA_OK;
    }
    if (st->legacy == 0)
        return NORMA_OK;
    if (st->legacy < 0) {
        if (a->rank != b->rank || memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) != 0)
            return op_fail(c, NORMA_ERR_SHAPE, "shapes differ and broadcast=0");
        return NORMA_OK;
    }
    if (st->legacy_axis == INT64_MIN)
        return NORMA_OK;
    int axis = op_axis(st->legacy_axis, a->rank);
    if (axis < 0 || axis + b->rank > a->rank)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld does not fit B of rank %d in A of rank %d",
                       (long long)st->legacy_axis, b->rank, a->rank);
    view->rank = a->rank;
    for (int i = 0; i < a->rank; i++)
        view->dims[i] = (i >= axis && i < axis + b->rank) ? b->dims[i - axis] : 1;
    return NORMA_OK;
}

static int is_float(int t)
{
    return t == NORMA_FLOAT || t == NORMA_DOUBLE || t == NORMA_FLOAT16;
}

static int bin_infer(op_ctx *c)
{
    const bin_state *st = c->state;
    const ir_tensor *a = c->in[0];
    if (!a)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is missing");
    int r = a->rank;
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, a->dims, sizeof(int64_t) * (size_t)r);
    for (int i = 1; i < c->n_in; i++) {
        const ir_tensor *b = c->in[i];
        if (!b)
            return op_fail(c, NORMA_ERR_MODEL, "input %d is missing", i);
        int mixed_ok = st->op == K_BIN_POW && !st->variadic;
        if (b->dtype != a->dtype && !mixed_ok)
            return op_fail(c, NORMA_ERR_MODEL, "input %d has dtype %s but input 0 has %s", i,
                           ir_dtype_name(b->dtype), ir_dtype_name(a->dtype));
        if (!k_binary_supported(b->dtype, st->op))
            return op_fail(c, NORMA_ERR_UNSUPPORTED, "input %d has dtype %s, which this op does not support",
                           i, ir_dtype_name(b->dtype));
        ir_tensor bv;
        int rc = legacy_view(c, st, a, b, &bv);
        if (rc)
            return rc;
        int64_t nd[IR_MAX_RANK];
        int nr;
        if (op_broadcast_shape(r, dims, bv.rank, bv.dims, &nr, nd) != 0) {
            char sa[160], sb[160];
            ir_shape_str(r, dims, sa, sizeof sa);
            ir_shape_str(b->rank, b->dims, sb, sizeof sb);
            return op_fail(c, NORMA_ERR_SHAPE, "shapes %s and %s (input %d) cannot be broadcast", sa,
                           sb, i);
        }
        r = nr;
        memcpy(dims, nd, sizeof(int64_t) * (size_t)r);
    }
    if (!k_binary_supported(a->dtype, st->op))
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "input 0 has dtype %s, which this op does not support",
                       ir_dtype_name(a->dtype));
    if (st->mean && !is_float(a->dtype))
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "Mean of dtype %s is not supported",
                       ir_dtype_name(a->dtype));
    if (st->op == K_BIN_PRELU &&
        (r != a->rank || memcmp(dims, a->dims, sizeof(int64_t) * (size_t)r) != 0))
        return op_fail(c, NORMA_ERR_SHAPE, "slope does not broadcast to the shape of X");
    op_set_shape(c->out[0], a->dtype, r, dims);
    return NORMA_OK;
}

/* One run of a (op) b; a Pow whose operands differ in dtype goes to the mixed kernel. */
typedef struct bin_run_arg {
    int op, ta, tb, ty;
} bin_run_arg;

static void run_1d(const void *arg, size_t len, const char *const *p, const size_t *s, char *y)
{
    const bin_run_arg *ra = arg;
    if (ra->ta != ra->tb)
        k_pow_mixed_1d(ra->ta, ra->tb, len, p[0], s[0], p[1], s[1], y);
    else
        k_binary_1d(ra->ty, ra->op, len, p[0], s[0], p[1], s[1], y);
}

/* y = a (op) b with broadcasting; a and b differ in dtype only for Pow. */
static void bcast_apply(op_ctx *c, int op, const ir_tensor *a, const ir_tensor *b, ir_tensor *y)
{
    const ir_tensor *ops[2] = {a, b};
    bin_run_arg ra = {op, a->dtype, b->dtype, y->dtype};
    op_bcast_apply(c, 2, ops, y, run_1d, &ra);
}

static int has_zero(const ir_tensor *t)
{
    size_t n = ir_tensor_numel(t);
    for (size_t i = 0; i < n; i++)
        if (ir_tensor_get_i64(t, i) == 0)
            return 1;
    return 0;
}

static int bin_run(op_ctx *c)
{
    const bin_state *st = c->state;
    ir_tensor *y = c->out[0];
    if (st->op == K_BIN_DIV && !is_float(y->dtype))
        for (int i = 1; i < c->n_in; i++)
            if (has_zero(c->in[i]))
                return op_fail(c, NORMA_ERR_RUNTIME, "integer division by zero (input %d holds 0)", i);
    if (c->n_in == 1) {
        size_t nb = ir_tensor_nbytes(y);
        if (nb && y->data != c->in[0]->data)
            memcpy(y->data, c->in[0]->data, nb);
    } else {
        ir_tensor bv;
        legacy_view(c, st, c->in[0], c->in[1], &bv);
        bcast_apply(c, st->op, c->in[0], &bv, y);
        for (int i = 2; i < c->n_in; i++)
            bcast_apply(c, st->op, y, c->in[i], y);
    }
    if (st->mean && c->n_in > 1) {
        /* divide by the count as a broadcast scalar of y's dtype */
        ir_tensor cnt = {.dtype = y->dtype, .rank = 0};
        float fv = (float)c->n_in;
        double dv = (double)c->n_in;
        uint16_t hv = float_to_half(fv);
        cnt.data = y->dtype == NORMA_FLOAT ? (void *)&fv : y->dtype == NORMA_DOUBLE ? (void *)&dv : (void *)&hv;
        bcast_apply(c, K_BIN_DIV, y, &cnt, y);
    }
    return NORMA_OK;
}

#define BIN(var, name, ver, lo, hi) \
    static const op_schema var = {name, "", ver, lo, hi, 1, 1, bin_init, NULL, bin_infer, bin_run};
BIN(add1, "Add", 1, 2, 2)
BIN(add6, "Add", 6, 2, 2)
BIN(add7, "Add", 7, 2, 2)
BIN(add13, "Add", 13, 2, 2)
BIN(add14, "Add", 14, 2, 2)
BIN(sub1, "Sub", 1, 2, 2)
BIN(sub6, "Sub", 6, 2, 2)
BIN(sub7, "Sub", 7, 2, 2)
BIN(sub13, "Sub", 13, 2, 2)
BIN(sub14, "Sub", 14, 2, 2)
BIN(mul1, "Mul", 1, 2, 2)
BIN(mul6, "Mul", 6, 2, 2)
BIN(mul7, "Mul", 7, 2, 2)
BIN(mul13, "Mul", 13, 2, 2)
BIN(mul14, "Mul", 14, 2, 2)
BIN(div1, "Div", 1, 2, 2)
BIN(div6, "Div", 6, 2, 2)
BIN(div7, "Div", 7, 2, 2)
BIN(div13, "Div", 13, 2, 2)
BIN(div14, "Div", 14, 2, 2)
BIN(pow1, "Pow", 1, 2, 2)
BIN(pow7, "Pow", 7, 2, 2)
BIN(pow12, "Pow", 12, 2, 2)
BIN(pow13, "Pow", 13, 2, 2)
BIN(pow15, "Pow", 15, 2, 2)
BIN(prelu1, "PRelu", 1, 2, 2)
BIN(prelu6, "PRelu", 6, 2, 2)
BIN(prelu7, "PRelu", 7, 2, 2)
BIN(prelu9, "PRelu", 9, 2, 2)
BIN(prelu16, "PRelu", 16, 2, 2)
BIN(sum1, "Sum", 1, 1, 64)
BIN(sum6, "Sum", 6, 1, 64)
BIN(sum8, "Sum", 8, 1, 64)
BIN(sum13, "Sum", 13, 1, 64)
BIN(mean1, "Mean", 1, 1, 64)
BIN(mean6, "Mean", 6, 1, 64)
BIN(mean8, "Mean", 8, 1, 64)
BIN(mean13, "Mean", 13, 1, 64)
BIN(max1, "Max", 1, 1, 64)
BIN(max6, "Max", 6, 1, 64)
BIN(max8, "Max", 8, 1, 64)
BIN(max12, "Max", 12, 1, 64)
BIN(max13, "Max", 13, 1, 64)
BIN(min1, "Min", 1, 1, 64)
BIN(min6, "Min", 6, 1, 64)
BIN(min8, "Min", 8, 1, 64)
BIN(min12, "Min", 12, 1, 64)
BIN(min13, "Min", 13, 1, 64)

OP_TABLE(binary) = {&add1, &add6, &add7, &add13, &add14, &sub1, &sub6, &sub7, &sub13, &sub14,
                    &mul1, &mul6, &mul7, &mul13, &mul14, &div1, &div6, &div7, &div13, &div14,
                    &pow1, &pow7, &pow12, &pow13, &pow15, &prelu1, &prelu6, &prelu7, &prelu9,
                    &prelu16, &sum1, &sum6, &sum8, &sum13, &mean1, &mean6, &mean8, &mean13,
                    &max1, &max6, &max8, &max12, &max13, &min1, &min6, &min8, &min12, &min13,
                    NULL};
