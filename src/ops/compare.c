/*
 * Elementwise comparison and logic ops with numpy broadcasting, and the integer / test
 * ops that share their shape rules. ONNX spec sections: Equal, Less, LessOrEqual,
 * Greater, GreaterOrEqual, And, Or, Xor, Not, Where, BitShift, Mod, IsNaN, IsInf.
 *
 * Comparisons and logic ops output bool (uint8 0/1). Opsets before 7 had no numpy
 * broadcasting (And/Or/Xor/Equal/Less/Greater at opset 1): with broadcast=1, B's shape
 * matches a contiguous part of A's starting at `axis` (default: trailing dims).
 *
 * The N-d broadcast of up to three operands is collapsed (output dims of 1 dropped,
 * adjacent dims merged where every operand is contiguous or broadcast across both) and
 * the innermost merged dim becomes one kernel run with operand strides 0 or 1.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/compare.h"
#include "ops/bcast.h"
#include "ops/op.h"

enum { CK_CMP, CK_SHIFT, CK_MOD, CK_WHERE, CK_NOT, CK_ISNAN, CK_ISINF };

typedef struct cmp_state {
    int kind;            /* CK_* */
    int op;              /* K_CMP_* for CK_CMP; 1 = left for CK_SHIFT; fmod for CK_MOD */
    int detect_pos, detect_neg;
    int legacy;          /* opset < 7 binary logic ops: 1 = broadcast attr set, -1 = not */
    int64_t legacy_axis; /* INT64_MIN when absent */
} cmp_state;

static const struct {
    const char *name;
    int kind, op;
} cmp_ops[] = {
    {"Equal", CK_CMP, K_CMP_EQ}, {"Less", CK_CMP, K_CMP_LT}, {"LessOrEqual", CK_CMP, K_CMP_LE},
    {"Greater", CK_CMP, K_CMP_GT}, {"GreaterOrEqual", CK_CMP, K_CMP_GE}, {"And", CK_CMP, K_CMP_AND},
    {"Or", CK_CMP, K_CMP_OR}, {"Xor", CK_CMP, K_CMP_XOR}, {"BitShift", CK_SHIFT, 0},
    {"Mod", CK_MOD, 0}, {"Where", CK_WHERE, 0}, {"Not", CK_NOT, 0}, {"IsNaN", CK_ISNAN, 0},
    {"IsInf", CK_ISINF, 0},
};

static int cmp_init(op_ctx *c)
{
    cmp_state *st = calloc(1, sizeof *st);
    if (!st)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    c->state = st;
    size_t k;
    for (k = 0; k < sizeof cmp_ops / sizeof cmp_ops[0]; k++)
        if (strcmp(cmp_ops[k].name, c->node->op_type) == 0)
            break;
    if (k == sizeof cmp_ops / sizeof cmp_ops[0])
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "not a comparison op");
    st->kind = cmp_ops[k].kind;
    st->op = cmp_ops[k].op;
    st->legacy_axis = INT64_MIN;
    if (st->kind == CK_SHIFT) {
        const char *dir = ir_attr_string(c->node, "direction", NULL);
        if (!dir)
            return op_fail(c, NORMA_ERR_MODEL, "attribute 'direction' is required");
        if (strcmp(dir, "LEFT") == 0)
            st->op = 1;
        else if (strcmp(dir, "RIGHT") == 0)
            st->op = 0;
        else
            return op_fail(c, NORMA_ERR_MODEL, "direction '%s' is not LEFT or RIGHT", dir);
    } else if (st->kind == CK_MOD) {
        int64_t f = ir_attr_int(c->node, "fmod", 0);
        if (f != 0 && f != 1)
            return op_fail(c, NORMA_ERR_MODEL, "fmod %lld is not 0 or 1", (long long)f);
        st->op = (int)f;
    } else if (st->kind == CK_ISINF) {
        st->detect_pos = ir_attr_int(c->node, "detect_positive", 1) != 0;
        st->detect_neg = ir_attr_int(c->node, "detect_negative", 1) != 0;
    } else if (st->kind == CK_CMP && c->opset < 7) {
        st->legacy = ir_attr_int(c->node, "broadcast", 0) ? 1 : -1;
        const ir_attr *ax = ir_attr_find(c->node, "axis");
        if (ax)
            st->legacy_axis = ax->i;
    }
    return NORMA_OK;
}

/* B's shape as the legacy (opset < 7) broadcast sees it, in numpy terms. */
static int legacy_view(op_ctx *c, const cmp_state *st, const ir_tensor *a, const ir_tensor *b,
                       ir_tensor *view)
{
    *view = *b;
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

static int dtype_fail(op_ctx *c, int i, int t)
{
    return op_fail(c, NORMA_ERR_UNSUPPORTED, "input %d has dtype %s, which this op does not support", i,
                   ir_dtype_name(t));
}

static int cmp_infer(op_ctx *c)
{
    const cmp_state *st = c->state;
    for (int i = 0; i < c->n_in; i++)
        if (!c->in[i])
            return op_fail(c, NORMA_ERR_MODEL, "input %d is missing", i);
    const ir_tensor *a = c->in[0];
    int t = a->dtype, out_t = NORMA_BOOL;
    switch (st->kind) {
    case CK_CMP:
        if (!k_compare_supported(t, st->op))
            return dtype_fail(c, 0, t);
        break;
    case CK_SHIFT:
        if (!k_bitshift_supported(t))
            return dtype_fail(c, 0, t);
        out_t = t;
        break;
    case CK_MOD:
        if (!k_mod_supported(t, st->op)) {
            if (k_mod_supported(t, 1))
                return op_fail(c, NORMA_ERR_MODEL, "fmod must be 1 for dtype %s", ir_dtype_name(t));
            return dtype_fail(c, 0, t);
        }
        out_t = t;
        break;
    case CK_WHERE:
        if (t != NORMA_BOOL)
            return op_fail(c, NORMA_ERR_MODEL, "condition has dtype %s, not bool", ir_dtype_name(t));
        out_t = c->in[1]->dtype;
        if (out_t == NORMA_STRING || ir_dtype_size(out_t) == 0)
            return dtype_fail(c, 1, out_t);
        if (c->in[2]->dtype != out_t)
            return op_fail(c, NORMA_ERR_MODEL, "input 2 has dtype %s but input 1 has %s",
                           ir_dtype_name(c->in[2]->dtype), ir_dtype_name(out_t));
        break;
    case CK_NOT:
        if (t != NORMA_BOOL)
            return dtype_fail(c, 0, t);
        break;
    default: /* IsNaN, IsInf */
        if (t != NORMA_FLOAT && t != NORMA_DOUBLE && t != NORMA_FLOAT16)
            return dtype_fail(c, 0, t);
        break;
    }
    if (st->kind != CK_WHERE)
        for (int i = 1; i < c->n_in; i++)
            if (c->in[i]->dtype != t)
                return op_fail(c, NORMA_ERR_MODEL, "input %d has dtype %s but input 0 has %s", i,
                               ir_dtype_name(c->in[i]->dtype), ir_dtype_name(t));
    int r = a->rank;
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, a->dims, sizeof(int64_t) * (size_t)r);
    for (int i = 1; i < c->n_in; i++) {
        ir_tensor bv;
        int rc = legacy_view(c, st, a, c->in[i], &bv);
        if (rc)
            return rc;
        int64_t nd[IR_MAX_RANK];
        int nr;
        if (op_broadcast_shape(r, dims, bv.rank, bv.dims, &nr, nd) != 0) {
            char sa[160], sb[160];
            ir_shape_str(r, dims, sa, sizeof sa);
            ir_shape_str(c->in[i]->rank, c->in[i]->dims, sb, sizeof sb);
            return op_fail(c, NORMA_ERR_SHAPE, "shapes %s and %s (input %d) cannot be broadcast", sa,
                           sb, i);
        }
        r = nr;
        memcpy(dims, nd, sizeof(int64_t) * (size_t)r);
    }
    op_set_shape(c->out[0], out_t, r, dims);
    return NORMA_OK;
}

/* The operand dtype the 1-D kernels dispatch on, with the state (op_bcast_run's arg). */
typedef struct cmp_run_arg {
    const cmp_state *st;
    int t;
} cmp_run_arg;

/* One run: len outputs at y from operands at p[k] with strides s[k] (0 or 1). */
static void run_1d(const void *arg, size_t len, const char *const *p, const size_t *s, char *y)
{
    const cmp_state *st = ((const cmp_run_arg *)arg)->st;
    int t = ((const cmp_run_arg *)arg)->t;
    switch (st->kind) {
    case CK_CMP: k_compare_1d(t, st->op, len, p[0], s[0], p[1], s[1], (uint8_t *)y); break;
    case CK_SHIFT: k_bitshift_1d(t, st->op, len, p[0], s[0], p[1], s[1], y); break;
    case CK_MOD: k_mod_1d(t, st->op, len, p[0], s[0], p[1], s[1], y); break;
    case CK_WHERE:
        k_where_1d(ir_dtype_size(t), len, (const uint8_t *)p[0], s[0], p[1], s[1], p[2], s[2], y);
        break;
    default: break;
    }
}

static int cmp_run(op_ctx *c)
{
    const cmp_state *st = c->state;
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    size_t n = ir_tensor_numel(x);
    switch (st->kind) {
    case CK_NOT: k_not(n, x->data, y->data); return NORMA_OK;
    case CK_ISNAN: k_isnan(x->dtype, n, x->data, y->data); return NORMA_OK;
    case CK_ISINF: k_isinf(x->dtype, n, x->data, y->data, st->detect_pos, st->detect_neg); return NORMA_OK;
    case CK_MOD:
        if (x->dtype != NORMA_FLOAT && x->dtype != NORMA_DOUBLE && x->dtype != NORMA_FLOAT16) {
            size_t nb = ir_tensor_numel(c->in[1]);
            for (size_t i = 0; i < nb; i++)
                if (ir_tensor_get_i64(c->in[1], i) == 0)
                    return op_fail(c, NORMA_ERR_RUNTIME, "integer modulo by zero (input 1 holds 0)");
        }
        break;
    default: break;
    }
    const ir_tensor *ops[3] = {c->in[0], c->n_in > 1 ? c->in[1] : NULL, c->n_in > 2 ? c->in[2] : NULL};
    ir_tensor bv;
    if (st->kind == CK_CMP) {
        legacy_view(c, st, c->in[0], c->in[1], &bv);
        ops[1] = &bv;
    }
    cmp_run_arg ra = {st, st->kind == CK_WHERE ? y->dtype : ops[0]->dtype};
    op_bcast_apply(c, c->n_in, ops, y, run_1d, &ra);
    return NORMA_OK;
}

#define CMP(var, name, ver, nin) \
    static const op_schema var = {name, "", ver, nin, nin, 1, 1, cmp_init, NULL, cmp_infer, cmp_run, 0};
CMP(eq1, "Equal", 1, 2)
CMP(eq7, "Equal", 7, 2)
CMP(eq11, "Equal", 11, 2)
CMP(eq13, "Equal", 13, 2)
CMP(lt1, "Less", 1, 2)
CMP(lt7, "Less", 7, 2)
CMP(lt9, "Less", 9, 2)
CMP(lt13, "Less", 13, 2)
CMP(le12, "LessOrEqual", 12, 2)
CMP(le16, "LessOrEqual", 16, 2)
CMP(gt1, "Greater", 1, 2)
CMP(gt7, "Greater", 7, 2)
CMP(gt9, "Greater", 9, 2)
CMP(gt13, "Greater", 13, 2)
CMP(ge12, "GreaterOrEqual", 12, 2)
CMP(ge16, "GreaterOrEqual", 16, 2)
CMP(and1, "And", 1, 2)
CMP(and7, "And", 7, 2)
CMP(or1, "Or", 1, 2)
CMP(or7, "Or", 7, 2)
CMP(xor1, "Xor", 1, 2)
CMP(xor7, "Xor", 7, 2)
CMP(not1, "Not", 1, 1)
CMP(shift11, "BitShift", 11, 2)
CMP(mod10, "Mod", 10, 2)
CMP(mod13, "Mod", 13, 2)
CMP(where9, "Where", 9, 3)
CMP(where16, "Where", 16, 3)
CMP(isnan9, "IsNaN", 9, 1)
CMP(isnan13, "IsNaN", 13, 1)
CMP(isinf10, "IsInf", 10, 1)

OP_TABLE(compare) = {&eq1, &eq7, &eq11, &eq13, &lt1, &lt7, &lt9, &lt13, &le12, &le16, &gt1, &gt7,
                     &gt9, &gt13, &ge12, &ge16, &and1, &and7, &or1, &or7, &xor1, &xor7, &not1,
                     &shift11, &mod10, &mod13, &where9, &where16, &isnan9, &isnan13, &isinf10,
                     NULL};
