/*
 * The ops whose output shape depends on their input's values: NonZero (ONNX opsets
 * 9, 13), Compress (9, 11) and Unique (11). Each infer needs the data (the condition
 * for Compress, the input for the others) and returns OP_NEEDS_DATA while it is not
 * known; when it is known, infer computes the output size and run fills the outputs.
 *
 * Unique follows numpy.unique: slices along axis (or elements of the flattened input
 * when axis is absent) are sorted lexicographically by value (stable, so equal slices
 * keep their first occurrence), grouped, and output in sorted order, or in order of
 * first occurrence when sorted=0. NaN sorts after every number and equals NaN.
 * Outputs: Y, indices (first occurrence), inverse_indices, counts (all int64).
 */
#include <stdlib.h>
#include <string.h>

#include "ops/index_util.h"

/* ---- NonZero ---- */

static size_t count_nonzero(const ir_tensor *x)
{
    size_t n = ir_tensor_numel(x), k = 0;
    for (size_t i = 0; i < n; i++)
        k += ir_tensor_get_f64(x, i) != 0.0;
    return k;
}

static int nonzero_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    if (ir_dtype_size(x->dtype) == 0)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %s is not supported", ir_dtype_name(x->dtype));
    if (!x->data)
        return OP_NEEDS_DATA;
    int64_t d[2] = {x->rank ? x->rank : 1, (int64_t)count_nonzero(x)};
    op_set_shape(c->out[0], NORMA_INT64, 2, d);
    return NORMA_OK;
}

static int nonzero_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int r = x->rank;
    size_t n = ir_tensor_numel(x), nnz = (size_t)c->out[0]->dims[1], k = 0;
    int64_t idx[IR_MAX_RANK] = {0}, *y = c->out[0]->data;
    for (size_t i = 0; i < n; i++) {
        if (ir_tensor_get_f64(x, i) != 0.0) {
            if (k >= nnz) /* the data changed since infer: never write past the output */
                return op_fail(c, NORMA_ERR_RUNTIME, "input changed after its shape was inferred");
            if (r == 0)
                y[k] = 0;
            for (int d = 0; d < r; d++)
                y[(size_t)d * nnz + k] = idx[d];
            k++;
        }
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < x->dims[d])
                break;
            idx[d] = 0;
        }
    }
    if (k != nnz)
        return op_fail(c, NORMA_ERR_RUNTIME, "input changed after its shape was inferred");
    return NORMA_OK;
}

/* ---- Compress ---- */

/* The axis (or -1 when absent: the input is flattened), or -2 after op_fail. */
static int compress_axis(op_ctx *c)
{
    if (!ir_attr_find(c->node, "axis"))
        return -1;
    int64_t a = ir_attr_int(c->node, "axis", 0);
    int axis = op_axis(a, c->in[0]->rank);
    if (axis < 0) {
        op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, c->in[0]->rank);
        return -2;
    }
    return axis;
}

static int compress_infer(op_ctx *c)
{
    static const int ok[] = {NORMA_BOOL, 0};
    const ir_tensor *x = c->in[0], *cond = c->in[1];
    int rc = op_check_dtype(c, 1, ok), axis;
    if (rc)
        return rc;
    if ((axis = compress_axis(c)) == -2)
        return NORMA_ERR_MODEL;
    if (ir_dtype_size(x->dtype) == 0)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %s is not supported", ir_dtype_name(x->dtype));
    if (cond->rank != 1)
        return op_fail(c, NORMA_ERR_SHAPE, "condition must be 1-D, got rank %d", cond->rank);
    int64_t len = axis < 0 ? (int64_t)ir_tensor_numel(x) : x->dims[axis];
    if (cond->dims[0] > len)
        return op_fail(c, NORMA_ERR_SHAPE, "condition has %lld entries, more than the %lld it selects from",
                       (long long)cond->dims[0], (long long)len);
    if (!cond->data)
        return OP_NEEDS_DATA;
    int64_t kept = 0;
    for (int64_t i = 0; i < cond->dims[0]; i++)
        kept += ((const uint8_t *)cond->data)[i] != 0;
    if (axis < 0) {
        op_set_shape(c->out[0], x->dtype, 1, &kept);
    } else {
        int64_t d[IR_MAX_RANK];
        memcpy(d, x->dims, sizeof(int64_t) * (size_t)x->rank);
        d[axis] = kept;
        op_set_shape(c->out[0], x->dtype, x->rank, d);
    }
    return NORMA_OK;
}

static int compress_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *cond = c->in[1];
    ir_tensor *y = c->out[0];
    int axis = compress_axis(c);
    size_t es = ir_dtype_size(x->dtype), outer = 1, inner = 1, n, kept;
    if (axis < 0) {
        n = ir_tensor_numel(x);
        kept = (size_t)y->dims[0];
    } else {
        outer = ix_prod(x->dims, 0, axis);
        inner = ix_prod(x->dims, axis + 1, x->rank);
        n = (size_t)x->dims[axis];
        kept = (size_t)y->dims[axis];
    }
    const uint8_t *m = cond->data;
    size_t nc = (size_t)cond->dims[0], row = inner * es;
    const char *src = x->data;
    char *dst = y->data;
    for (size_t o = 0; o < outer; o++) {
        size_t k = 0;
        for (size_t j = 0; j < nc && j < n; j++) {
            if (!m[j])
                continue;
            if (k >= kept)
                return op_fail(c, NORMA_ERR_RUNTIME, "condition changed after its shape was inferred");
            memcpy(dst + (o * kept + k) * row, src + (o * n + j) * row, row);
            k++;
        }
        if (k != kept)
            return op_fail(c, NORMA_ERR_RUNTIME, "condition changed after its shape was inferred");
    }
    return NORMA_OK;
}

/* ---- Unique ---- */

typedef struct uq_view {
    const ir_tensor *x;
    size_t outer, m, inner; /* x as (outer, m, inner); the m slices are compared */
    const int64_t *key;     /* for sorting groups by first occurrence */
} uq_view;

/* Total order on elements: numbers by value, NaN after all and equal to NaN. */
static int cmp_elem(const ir_tensor *x, size_t a, size_t b)
{
    switch (x->dtype) {
    case NORMA_FLOAT: case NORMA_DOUBLE: case NORMA_FLOAT16: {
        double p = ir_tensor_get_f64(x, a), q = ir_tensor_get_f64(x, b);
        int pn = p != p, qn = q != q;
        if (pn || qn)
            return pn - qn;
        return (p > q) - (p < q);
    }
    case NORMA_UINT64: {
        uint64_t p = ((const uint64_t *)x->data)[a], q = ((const uint64_t *)x->data)[b];
        return (p > q) - (p < q);
    }
    default: {
        int64_t p = ir_tensor_get_i64(x, a), q = ir_tensor_get_i64(x, b);
        return (p > q) - (p < q);
    }
    }
}

static int cmp_slice(const uq_view *u, int64_t a, int64_t b)
{
    for (size_t o = 0; o < u->outer; o++)
        for (size_t i = 0; i < u->inner; i++) {
            int r = cmp_elem(u->x, (o * u->m + (size_t)a) * u->inner + i, (o * u->m + (size_t)b) * u->inner + i);
            if (r)
                return r;
        }
    return 0;
}

static int cmp_key(const uq_view *u, int64_t a, int64_t b)
{
    return (u->key[a] > u->key[b]) - (u->key[a] < u->key[b]);
}

/* Stable bottom-up merge sort of v[0..n) under cmp, using tmp[0..n). */
static void merge_sort(int64_t *v, int64_t *tmp, size_t n, const uq_view *u,
                       int (*cmp)(const uq_view *, int64_t, int64_t))
{
    int64_t *a = v, *b = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n, i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                b[k++] = cmp(u, a[j], a[i]) < 0 ? a[j++] : a[i++];
            while (i < mid)
                b[k++] = a[i++];
            while (j < hi)
                b[k++] = a[j++];
        }
        int64_t *t = a;
        a = b;
        b = t;
    }
    if (a != v)
        memcpy(v, a, n * sizeof *v);
}

enum { UQ_PERM, UQ_TMP, UQ_INV, UQ_FIRST, UQ_COUNT, UQ_ORDER, UQ_POS, UQ_ARRAYS };

/* The axis (or -1 when absent: elements of the flattened input), or -2 after op_fail. */
static int unique_view(op_ctx *c, uq_view *u)
{
    const ir_tensor *x = c->in[0];
    memset(u, 0, sizeof *u);
    u->x = x;
    u->outer = u->inner = 1;
    if (!ir_attr_find(c->node, "axis")) {
        u->m = ir_tensor_numel(x);
        return -1;
    }
    int64_t a = ir_attr_int(c->node, "axis", 0);
    int axis = op_axis(a, x->rank);
    if (axis < 0) {
        op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, x->rank);
        return -2;
    }
    u->outer = ix_prod(x->dims, 0, axis);
    u->m = (size_t)x->dims[axis];
    u->inner = ix_prod(x->dims, axis + 1, x->rank);
    return axis;
}

/* Groups the slices of u into s (UQ_ARRAYS arrays of u->m int64); returns the count. */
static size_t unique_groups(uq_view *u, int64_t *s, int sorted)
{
    size_t m = u->m, g = 0;
    int64_t *perm = s + UQ_PERM * m, *tmp = s + UQ_TMP * m, *inv = s + UQ_INV * m, *first = s + UQ_FIRST * m,
            *count = s + UQ_COUNT * m, *order = s + UQ_ORDER * m, *pos = s + UQ_POS * m;
    for (size_t j = 0; j < m; j++)
        perm[j] = (int64_t)j;
    merge_sort(perm, tmp, m, u, cmp_slice);
    for (size_t j = 0; j < m; j++) {
        if (j == 0 || cmp_slice(u, perm[j - 1], perm[j]) != 0) {
            first[g] = perm[j];
            count[g] = 0;
            g++;
        }
        count[g - 1]++;
        inv[perm[j]] = (int64_t)(g - 1);
    }
    for (size_t p = 0; p < g; p++)
        order[p] = (int64_t)p;
    if (!sorted) {
        u->key = first;
        merge_sort(order, tmp, g, u, cmp_key);
    }
    for (size_t p = 0; p < g; p++)
        pos[order[p]] = (int64_t)p;
    return g;
}

static int unique_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    uq_view u;
    int axis = unique_view(c, &u);
    if (axis == -2)
        return NORMA_ERR_MODEL;
    if (ir_dtype_size(x->dtype) == 0)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %s is not supported", ir_dtype_name(x->dtype));
    if (!x->data)
        return OP_NEEDS_DATA;
    if (u.m > SIZE_MAX / (UQ_ARRAYS * sizeof(int64_t)))
        return op_fail(c, NORMA_ERR_SHAPE, "input is too large");
    size_t bytes = UQ_ARRAYS * u.m * sizeof(int64_t);
    int64_t *s = malloc(bytes ? bytes : 1);
    if (!s)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    int64_t g = (int64_t)unique_groups(&u, s, ir_attr_int(c->node, "sorted", 1) != 0);
    free(s);
    int64_t d[IR_MAX_RANK], m = (int64_t)u.m;
    if (axis < 0) {
        op_set_shape(c->out[0], x->dtype, 1, &g);
    } else {
        memcpy(d, x->dims, sizeof(int64_t) * (size_t)x->rank);
        d[axis] = g;
        op_set_shape(c->out[0], x->dtype, x->rank, d);
    }
    if (c->n_out > 1 && c->out[1])
        op_set_shape(c->out[1], NORMA_INT64, 1, &g);
    if (c->n_out > 2 && c->out[2])
        op_set_shape(c->out[2], NORMA_INT64, 1, &m);
    if (c->n_out > 3 && c->out[3])
        op_set_shape(c->out[3], NORMA_INT64, 1, &g);
    c->scratch_size = bytes;
    return NORMA_OK;
}

static int unique_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    uq_view u;
    int axis = unique_view(c, &u);
    int64_t *s = c->scratch;
    size_t m = u.m, g = m ? unique_groups(&u, s, ir_attr_int(c->node, "sorted", 1) != 0) : 0;
    size_t want = (size_t)y->dims[axis < 0 ? 0 : axis];
    if (g != want)
        return op_fail(c, NORMA_ERR_RUNTIME, "input changed after its shape was inferred");
    if (m == 0)
        return NORMA_OK; /* every output is empty (and there is no scratch) */
    const int64_t *inv = s + UQ_INV * m, *first = s + UQ_FIRST * m, *count = s + UQ_COUNT * m,
                  *order = s + UQ_ORDER * m, *pos = s + UQ_POS * m;
    size_t es = ir_dtype_size(x->dtype), row = u.inner * es;
    for (size_t p = 0; p < g; p++)
        for (size_t o = 0; o < u.outer; o++)
            memcpy((char *)y->data + (o * g + p) * row, (const char *)x->data + (o * m + (size_t)first[order[p]]) * row,
                   row);
    if (c->n_out > 1 && c->out[1])
        for (size_t p = 0; p < g; p++)
            ((int64_t *)c->out[1]->data)[p] = first[order[p]];
    if (c->n_out > 2 && c->out[2])
        for (size_t j = 0; j < m; j++)
            ((int64_t *)c->out[2]->data)[j] = pos[inv[j]];
    if (c->n_out > 3 && c->out[3])
        for (size_t p = 0; p < g; p++)
            ((int64_t *)c->out[3]->data)[p] = count[order[p]];
    return NORMA_OK;
}

static const op_schema nonzero9 = {"NonZero", "", 9, 1, 1, 1, 1, NULL, NULL, nonzero_infer, nonzero_run, 0};
static const op_schema nonzero13 = {"NonZero", "", 13, 1, 1, 1, 1, NULL, NULL, nonzero_infer, nonzero_run, 0};
static const op_schema compress9 = {"Compress", "", 9, 2, 2, 1, 1, NULL, NULL, compress_infer, compress_run, 0};
static const op_schema compress11 = {"Compress", "", 11, 2, 2, 1, 1, NULL, NULL, compress_infer, compress_run, 0};
static const op_schema unique11 = {"Unique", "", 11, 1, 1, 1, 4, NULL, NULL, unique_infer, unique_run, 0};

OP_TABLE(select) = {&nonzero9, &nonzero13, &compress9, &compress11, &unique11, NULL};
