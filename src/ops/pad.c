/*
 * Pad (ONNX opsets 2, 11, 13, 18, 19): pads as an attribute (2) or input (11+), the
 * constant value as attribute `value` (2) or optional input (11+), `axes` input (18+).
 * Modes constant, reflect, edge and wrap (19). Pads may be negative (crop). Any dtype
 * for constant/edge/wrap/reflect, since they only move elements.
 *
 * The kernel walks the output row by row (all dims but the last); for each row it maps
 * the outer coordinates to an input row (or to "all constant"), then fills the left
 * pad, copies the middle with memcpy and fills the right pad.
 */
#include <string.h>

#include "ops/elem.h"
#include "ops/op.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct pad_plan {
    int mode;
    int64_t begin[IR_MAX_RANK], end[IR_MAX_RANK];
    unsigned char value[8]; /* the constant in the output's dtype */
} pad_plan;

static int pad_compute(op_ctx *c, pad_plan *pp)
{
    const ir_tensor *x = c->in[0];
    int r = x->rank;
    const char *mode = ir_attr_string(c->node, "mode", "constant");
    if (strcmp(mode, "constant") == 0)
        pp->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        pp->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        pp->mode = PAD_EDGE;
    else if (strcmp(mode, "wrap") == 0 && c->opset >= 19)
        pp->mode = PAD_WRAP;
    else
        return op_fail(c, NORMA_ERR_MODEL, "unknown mode '%s'", mode);
    int64_t pads[2 * IR_MAX_RANK];
    int np;
    double value = 0;
    memset(pp->value, 0, sizeof pp->value);
    if (c->opset < 11) {
        const int64_t *v;
        np = ir_attr_ints(c->node, c->opset < 2 ? "paddings" : "pads", &v);
        if (np < 0)
            return op_fail(c, NORMA_ERR_MODEL, "attribute 'pads' is required");
        if (np > 2 * IR_MAX_RANK)
            return op_fail(c, NORMA_ERR_MODEL, "'pads' has %d values for rank %d", np, r);
        memcpy(pads, v, sizeof(int64_t) * (size_t)np);
        value = ir_attr_float(c->node, "value", 0.0f);
        elem_set_f64(pp->value, x->dtype, 0, value);
    } else {
        const ir_tensor *p = c->n_in > 1 ? c->in[1] : NULL;
        if (!p)
            return op_fail(c, NORMA_ERR_MODEL, "input 'pads' is required");
        if (p->dtype != NORMA_INT64)
            return op_fail(c, NORMA_ERR_MODEL, "'pads' must be int64, not %s", ir_dtype_name(p->dtype));
        if (!p->data)
            return OP_NEEDS_DATA;
        if (ir_tensor_numel(p) > 2 * IR_MAX_RANK)
            return op_fail(c, NORMA_ERR_MODEL, "'pads' has %zu values for rank %d", ir_tensor_numel(p), r);
        np = op_read_ints(p, pads, 2 * IR_MAX_RANK);
        const ir_tensor *cv = c->n_in > 2 ? c->in[2] : NULL;
        if (cv && ir_tensor_numel(cv) > 0) {
            if (cv->dtype != x->dtype)
                return op_fail(c, NORMA_ERR_MODEL, "constant_value has dtype %s, the input %s",
                               ir_dtype_name(cv->dtype), ir_dtype_name(x->dtype));
            if (!cv->data)
                return OP_NEEDS_DATA;
            memcpy(pp->value, cv->data, ir_dtype_size(x->dtype));
        }
    }
    int axes[IR_MAX_RANK], na = r;
    for (int i = 0; i < r; i++)
        axes[i] = i;
    const ir_tensor *at = c->opset >= 18 && c->n_in > 3 ? c->in[3] : NULL;
    if (at) {
        int64_t av[IR_MAX_RANK];
        if (!at->data)
            return OP_NEEDS_DATA;
        if (ir_tensor_numel(at) > (size_t)r)
            return op_fail(c, NORMA_ERR_MODEL, "more axes than the input's rank %d", r);
        na = op_read_ints(at, av, IR_MAX_RANK);
        int seen[IR_MAX_RANK] = {0};
        for (int i = 0; i < na; i++) {
            axes[i] = op_axis(av[i], r);
            if (axes[i] < 0 || seen[axes[i]])
                return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range or repeated", (long long)av[i]);
            seen[axes[i]] = 1;
        }
    }
    if (np != 2 * na)
        return op_fail(c, NORMA_ERR_MODEL, "'pads' has %d values; expected %d for %d axes", np, 2 * na, na);
    for (int i = 0; i < r; i++)
        pp->begin[i] = pp->end[i] = 0;
    for (int i = 0; i < na; i++) {
        pp->begin[axes[i]] = pads[i];
        pp->end[axes[i]] = pads[i + na];
    }
    for (int i = 0; i < r; i++) {
        int64_t d = x->dims[i], od;
        if (__builtin_add_overflow(d, pp->begin[i], &od) || __builtin_add_overflow(od, pp->end[i], &od))
            return op_fail(c, NORMA_ERR_SHAPE, "pads for axis %d overflow", i);
        if (od < 0)
            return op_fail(c, NORMA_ERR_SHAPE, "pads make axis %d negative (%lld)", i, (long long)od);
        if (pp->mode != PAD_CONSTANT && od > 0 && (pp->begin[i] > 0 || pp->end[i] > 0)) {
            if (d == 0)
                return op_fail(c, NORMA_ERR_SHAPE, "cannot %s-pad axis %d of size 0", mode, i);
        }
    }
    return NORMA_OK;
}

static int pad_infer(op_ctx *c)
{
    pad_plan pp;
    int rc = pad_compute(c, &pp);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    int64_t d[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        d[i] = x->dims[i] + pp.begin[i] + pp.end[i];
    op_set_shape(c->out[0], x->dtype, x->rank, d);
    return NORMA_OK;
}

/* Input index for output position o of an axis of size d padded by b before; -1 for
 * the constant. For reflect, repeats the reflection for pads wider than the axis. */
static int64_t pad_src(int mode, int64_t o, int64_t b, int64_t d)
{
    int64_t i = o - b;
    if (i >= 0 && i < d)
        return i;
    switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : d - 1;
    case PAD_WRAP: return ((i % d) + d) % d;
    case PAD_REFLECT: {
        if (d == 1)
            return 0;
        int64_t period = 2 * (d - 1);
        int64_t m = ((i % period) + period) % period;
        return m < d ? m : period - m;
    }
    default: return -1;
    }
}

static int pad_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    pad_plan pp;
    if (pad_compute(c, &pp))
        return NORMA_ERR_RUNTIME;
    size_t es = ir_dtype_size(x->dtype);
    int r = x->rank;
    size_t total = ir_tensor_numel(y);
    if (total == 0)
        return NORMA_OK;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return NORMA_OK;
    }
    int64_t xs[IR_MAX_RANK], s = 1;
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    int64_t W = y->dims[r - 1], w = x->dims[r - 1], b = pp.begin[r - 1];
    int64_t rows = (int64_t)(total / (size_t)W);
    int nt = total * es > (1 << 20) ? c->threads : 1;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t row = 0; row < rows; row++) {
        char *o = (char *)y->data + (size_t)(row * W) * es;
        int64_t off = 0, rem = row;
        int constant = 0;
        for (int d = r - 2; d >= 0; d--) {
            int64_t od = rem % y->dims[d];
            rem /= y->dims[d];
            int64_t i = pad_src(pp.mode, od, pp.begin[d], x->dims[d]);
            if (i < 0)
                constant = 1;
            else
                off += i * xs[d];
        }
        if (constant || w == 0) {
            for (int64_t k = 0; k < W; k++)
                memcpy(o + (size_t)k * es, pp.value, es);
            continue;
        }
        const char *in = (const char *)x->data + (size_t)off * es;
        int64_t lo = b > 0 ? b : 0;                /* first output column that maps inside */
        int64_t hi = b + w < W ? b + w : W;         /* one past the last */
        if (hi < lo)
            hi = lo;
        for (int64_t k = 0; k < lo && k < W; k++) {
            int64_t i = pad_src(pp.mode, k, b, w);
            memcpy(o + (size_t)k * es, i < 0 ? (const char *)pp.value : in + (size_t)i * es, es);
        }
        if (hi > lo)
            memcpy(o + (size_t)lo * es, in + (size_t)(lo - b) * es, (size_t)(hi - lo) * es);
        for (int64_t k = hi > lo ? hi : lo; k < W; k++) {
            int64_t i = pad_src(pp.mode, k, b, w);
            memcpy(o + (size_t)k * es, i < 0 ? (const char *)pp.value : in + (size_t)i * es, es);
        }
    }
    return NORMA_OK;
}

static const op_schema pad1 = {"Pad", "", 1, 1, 1, 1, 1, NULL, NULL, pad_infer, pad_run};
static const op_schema pad2 = {"Pad", "", 2, 1, 1, 1, 1, NULL, NULL, pad_infer, pad_run};
static const op_schema pad11 = {"Pad", "", 11, 2, 3, 1, 1, NULL, NULL, pad_infer, pad_run};
static const op_schema pad13 = {"Pad", "", 13, 2, 3, 1, 1, NULL, NULL, pad_infer, pad_run};
static const op_schema pad18 = {"Pad", "", 18, 2, 4, 1, 1, NULL, NULL, pad_infer, pad_run};
static const op_schema pad19 = {"Pad", "", 19, 2, 4, 1, 1, NULL, NULL, pad_infer, pad_run};

OP_TABLE(pad) = {&pad1, &pad2, &pad11, &pad13, &pad18, &pad19, NULL};
