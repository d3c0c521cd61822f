/*
 * TopK (ONNX opsets 1, 10, 11): the k largest (or, with largest=0, smallest) values
 * along an axis and their int64 indices, best first; equal values keep the lower
 * index first. k is an attribute in opset 1 and an input from 10: its value sets the
 * output shape, so infer returns OP_NEEDS_DATA while it is not known. NaN ranks above
 * every number for largest and below for smallest (as sorting puts it last).
 * The outputs are always sorted (sorted=0 leaves the order unspecified).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/index_util.h"

typedef struct topk_entry {
    double f;    /* key of float types (and uint64) */
    int64_t i;   /* key of the integer types */
    int64_t idx; /* position along the axis */
} topk_entry;

static int by_idx(const topk_entry *a, const topk_entry *b)
{
    return (a->idx > b->idx) - (a->idx < b->idx);
}

static int cmp_f_largest(const void *pa, const void *pb)
{
    const topk_entry *a = pa, *b = pb;
    int an = isnan(a->f), bn = isnan(b->f);
    if (an != bn)
        return an ? -1 : 1;
    if (!an && a->f != b->f)
        return a->f > b->f ? -1 : 1;
    return by_idx(a, b);
}

static int cmp_f_smallest(const void *pa, const void *pb)
{
    const topk_entry *a = pa, *b = pb;
    int an = isnan(a->f), bn = isnan(b->f);
    if (an != bn)
        return an ? 1 : -1;
    if (!an && a->f != b->f)
        return a->f < b->f ? -1 : 1;
    return by_idx(a, b);
}

static int cmp_i_largest(const void *pa, const void *pb)
{
    const topk_entry *a = pa, *b = pb;
    if (a->i != b->i)
        return a->i > b->i ? -1 : 1;
    return by_idx(a, b);
}

static int cmp_i_smallest(const void *pa, const void *pb)
{
    const topk_entry *a = pa, *b = pb;
    if (a->i != b->i)
        return a->i < b->i ? -1 : 1;
    return by_idx(a, b);
}

static int int_keyed(int dt)
{
    return dt == NORMA_INT8 || dt == NORMA_UINT8 || dt == NORMA_INT16 || dt == NORMA_UINT16 || dt == NORMA_INT32 ||
           dt == NORMA_UINT32 || dt == NORMA_INT64;
}

static void swap_entries(topk_entry *a, topk_entry *b)
{
    topk_entry t = *a;
    *a = *b;
    *b = t;
}

/* Moves the k best entries of e[0..n) (under cmp, a strict total order thanks to the
 * index tie-break) to e[0..k) in any order: quickselect with a three-way partition. */
static void select_best(topk_entry *e, size_t n, size_t k, int (*cmp)(const void *, const void *))
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        topk_entry pv = e[lo + (hi - lo) / 2];
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            int r = cmp(&e[i], &pv);
            if (r < 0)
                swap_entries(&e[lt++], &e[i++]);
            else if (r > 0)
                swap_entries(&e[i], &e[--gt]);
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k > gt)
            lo = gt;
        else
            return;
    }
}

static int topk_axis(op_ctx *c)
{
    int64_t a = ir_attr_int(c->node, "axis", -1);
    int axis = op_axis(a, c->in[0]->rank);
    if (axis < 0)
        op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, c->in[0]->rank);
    return axis;
}

static int topk_infer(op_ctx *c)
{
    static const int ok[] = {NORMA_FLOAT, NORMA_DOUBLE, NORMA_INT8, NORMA_UINT8, NORMA_INT16, NORMA_UINT16,
                             NORMA_INT32, NORMA_UINT32, NORMA_INT64, NORMA_UINT64, 0};
    const ir_tensor *x = c->in[0];
    int rc = op_check_dtype(c, 0, ok), axis;
    if (rc)
        return rc;
    if ((axis = topk_axis(c)) < 0)
        return NORMA_ERR_MODEL;
    int64_t k, dim = x->dims[axis];
    if (c->opset < 10) {
        k = ir_attr_int(c->node, "k", -1);
        if (k < 0 || k > dim)
            return op_fail(c, NORMA_ERR_MODEL, "k %lld is out of range [0, %lld]", (long long)k, (long long)dim);
    } else {
        const ir_tensor *kt = c->in[1];
        if ((rc = ix_check_index_input(c, 1)))
            return rc;
        if (ir_tensor_numel(kt) != 1 || kt->rank > 1)
            return op_fail(c, NORMA_ERR_SHAPE, "k must be a 1-element tensor");
        if (!kt->data)
            return OP_NEEDS_DATA;
        k = ix_at(kt, 0);
        if (k < 0 || k > dim)
            return op_fail(c, NORMA_ERR_RUNTIME, "k %lld is out of range [0, %lld] for axis %d", (long long)k,
                           (long long)dim, axis);
    }
    int64_t d[IR_MAX_RANK];
    memcpy(d, x->dims, sizeof(int64_t) * (size_t)x->rank);
    d[axis] = k;
    if (c->out[0])
        op_set_shape(c->out[0], x->dtype, x->rank, d);
    if (c->out[1])
        op_set_shape(c->out[1], NORMA_INT64, x->rank, d);
    if ((size_t)dim > SIZE_MAX / sizeof(topk_entry))
        return op_fail(c, NORMA_ERR_SHAPE, "axis is too large");
    c->scratch_size = (size_t)dim * sizeof(topk_entry);
    return NORMA_OK;
}

static int topk_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0], *yi = c->out[1];
    int axis = topk_axis(c);
    int largest = ir_attr_int(c->node, "largest", 1) != 0, ik = int_keyed(x->dtype);
    size_t n = (size_t)x->dims[axis], k = (size_t)(y ? y : yi)->dims[axis], es = ir_dtype_size(x->dtype);
    size_t outer = ix_prod(x->dims, 0, axis), inner = ix_prod(x->dims, axis + 1, x->rank);
    int (*cmp)(const void *, const void *) = ik ? (largest ? cmp_i_largest : cmp_i_smallest)
                                                : (largest ? cmp_f_largest : cmp_f_smallest);
    topk_entry *e = c->scratch;
    const char *src = x->data;
    if (k == 0)
        return NORMA_OK;
    for (size_t o = 0; o < outer; o++)
        for (size_t in = 0; in < inner; in++) {
            size_t base = o * n * inner + in;
            for (size_t j = 0; j < n; j++) {
                size_t at = base + j * inner;
                e[j].idx = (int64_t)j;
                if (ik)
                    e[j].i = ir_tensor_get_i64(x, at);
                else
                    e[j].f = ir_tensor_get_f64(x, at);
            }
            if (k < n / 4) /* select, then sort only the k kept */
                select_best(e, n, k, cmp);
            qsort(e, k < n / 4 ? k : n, sizeof *e, cmp);
            for (size_t j = 0; j < k; j++) {
                size_t to = o * k * inner + j * inner + in;
                if (y)
                    memcpy((char *)y->data + to * es, src + (base + (size_t)e[j].idx * inner) * es, es);
                if (yi)
                    ((int64_t *)yi->data)[to] = e[j].idx;
            }
        }
    return NORMA_OK;
}

static const op_schema topk1 = {"TopK", "", 1, 1, 1, 2, 2, NULL, NULL, topk_infer, topk_run, OP_F_EMPTY_OUTPUTS};
static const op_schema topk10 = {"TopK", "", 10, 2, 2, 2, 2, NULL, NULL, topk_infer, topk_run, OP_F_EMPTY_OUTPUTS};
static const op_schema topk11 = {"TopK", "", 11, 2, 2, 2, 2, NULL, NULL, topk_infer, topk_run, OP_F_EMPTY_OUTPUTS};

OP_TABLE(topk) = {&topk1, &topk10, &topk11, NULL};
