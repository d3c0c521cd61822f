/*
 * GatherND (ONNX opsets 11, 12, 13), ScatterND (11, 13, 16, 18), ScatterElements
 * (11, 13, 16, 18) and Scatter (9, 11; the deprecated name of ScatterElements).
 * All are byte copies addressed by index tensors (int64; int32 also accepted), with
 * negative indices counted from the end. Every index is data: each is checked at run
 * time and an out-of-range one is a NORMA_ERR_RUNTIME naming the op, node, value and
 * position. The scatters copy data to the output and then write (or combine, with
 * reduction add / mul / max / min) the updates at the indexed places, in index order.
 */
#include <string.h>

#include "ops/index_util.h"

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

/* Parses the reduction attribute into *red. */
static int parse_reduction(op_ctx *c, int *red)
{
    const char *s = ir_attr_string(c->node, "reduction", "none");
    static const char *names[] = {"none", "add", "mul", "max", "min"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) {
            *red = i;
            if (i != RED_NONE && c->in[0]->dtype == NORMA_FLOAT16)
                return op_fail(c, NORMA_ERR_UNSUPPORTED, "reduction '%s' on float16 is not supported", s);
            if (i != RED_NONE && c->in[0]->dtype == NORMA_BOOL)
                return op_fail(c, NORMA_ERR_UNSUPPORTED, "reduction '%s' on bool is not supported", s);
            return NORMA_OK;
        }
    return op_fail(c, NORMA_ERR_MODEL, "unknown reduction '%s' (none, add, mul, max, min)", s);
}

/* dst[i] = red(dst[i], src[i]) for n elements of dtype dt. Integer add and mul wrap
 * (done in unsigned arithmetic: signed overflow is undefined in C). */
static void apply_reduce(int dt, int red, void *dst, const void *src, size_t n)
{
    if (red == RED_NONE) {
        memcpy(dst, src, n * ir_dtype_size(dt));
        return;
    }
#define RED_LOOP(T, ADD, MUL)                                                                           \
    do {                                                                                                \
        T *d = dst;                                                                                     \
        const T *s = src;                                                                               \
        for (size_t i = 0; i < n; i++) {                                                                \
            T a = d[i], b = s[i];                                                                       \
            switch (red) {                                                                              \
            case RED_ADD: d[i] = (T)(ADD); break;                                                       \
            case RED_MUL: d[i] = (T)(MUL); break;                                                       \
            case RED_MAX: d[i] = b > a ? b : a; break;                                                  \
            default: d[i] = b < a ? b : a; break;                                                       \
            }                                                                                           \
        }                                                                                               \
    } while (0)
#define RED_F(T) RED_LOOP(T, a + b, a * b)
#define RED_I(T) RED_LOOP(T, (uint64_t)a + (uint64_t)b, (uint64_t)a * (uint64_t)b)
    switch (dt) {
    case NORMA_FLOAT: RED_F(float); break;
    case NORMA_DOUBLE: RED_F(double); break;
    case NORMA_INT8: RED_I(int8_t); break;
    case NORMA_UINT8: RED_I(uint8_t); break;
    case NORMA_INT16: RED_I(int16_t); break;
    case NORMA_UINT16: RED_I(uint16_t); break;
    case NORMA_INT32: RED_I(int32_t); break;
    case NORMA_UINT32: RED_I(uint32_t); break;
    case NORMA_INT64: RED_I(int64_t); break;
    case NORMA_UINT64: RED_I(uint64_t); break;
    default: break;
    }
#undef RED_F
#undef RED_I
#undef RED_LOOP
}

static int check_data_dtype(op_ctx *c)
{
    if (ir_dtype_size(c->in[0]->dtype) == 0)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %s is not supported", ir_dtype_name(c->in[0]->dtype));
    return NORMA_OK;
}

/* ---- GatherND ---- */

static int gathernd_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1];
    int rc;
    if ((rc = check_data_dtype(c)) || (rc = ix_check_index_input(c, 1)))
        return rc;
    int64_t b = ir_attr_int(c->node, "batch_dims", 0);
    int r = x->rank, q = ind->rank;
    if (r < 1 || q < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "data and indices must have rank >= 1");
    if (b < 0 || b >= (q < r ? q : r))
        return op_fail(c, NORMA_ERR_MODEL, "batch_dims %lld must be in [0, min(rank(data)=%d, rank(indices)=%d))",
                       (long long)b, r, q);
    int64_t k = ind->dims[q - 1];
    if (k < 1 || k > r - b)
        return op_fail(c, NORMA_ERR_SHAPE, "indices' last dim %lld must be in [1, %lld]", (long long)k,
                       (long long)(r - b));
    for (int i = 0; i < b; i++)
        if (x->dims[i] != ind->dims[i])
            return op_fail(c, NORMA_ERR_SHAPE, "batch dim %d differs: data %lld, indices %lld", i,
                           (long long)x->dims[i], (long long)ind->dims[i]);
    int64_t d[IR_MAX_RANK];
    int orank = q - 1 + r - (int)b - (int)k;
    if (orank > IR_MAX_RANK)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "output rank %d is above %d", orank, IR_MAX_RANK);
    int n = 0;
    for (int i = 0; i < q - 1; i++)
        d[n++] = ind->dims[i];
    for (int i = (int)(b + k); i < r; i++)
        d[n++] = x->dims[i];
    op_set_shape(c->out[0], x->dtype, orank, d);
    return NORMA_OK;
}

/* Offset (in elements) of the k-tuple tup into dims[0..k) of a slice whose dim t has
 * stride st[t]; checks each index. */
static int tuple_offset(op_ctx *c, const ir_tensor *ind, size_t tup, int k, const int64_t *dims,
                        const int64_t *st, size_t *off)
{
    size_t o = 0;
    for (int t = 0; t < k; t++) {
        int64_t v = 0;
        int rc = ix_norm(c, ix_at(ind, tup + (size_t)t), dims[t], "index", tup + (size_t)t, &v);
        if (rc)
            return rc;
        o += (size_t)v * (size_t)st[t];
    }
    *off = o;
    return NORMA_OK;
}

static int gathernd_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1];
    int b = (int)ir_attr_int(c->node, "batch_dims", 0), r = x->rank, q = ind->rank;
    int k = (int)ind->dims[q - 1];
    size_t es = ir_dtype_size(x->dtype);
    size_t B = ix_prod(x->dims, 0, b), nidx = ix_prod(ind->dims, b, q - 1);
    size_t slice = ix_prod(x->dims, b + k, r), bstride = ix_prod(x->dims, b, r);
    int64_t st[IR_MAX_RANK];
    for (int t = 0; t < k; t++)
        st[t] = (int64_t)ix_prod(x->dims, b + t + 1, r);
    const char *src = x->data;
    char *dst = c->out[0]->data;
    for (size_t bi = 0; bi < B; bi++)
        for (size_t j = 0; j < nidx; j++) {
            size_t off, at = bi * nidx + j;
            int rc = tuple_offset(c, ind, at * (size_t)k, k, x->dims + b, st, &off);
            if (rc)
                return rc;
            if (slice)
                memcpy(dst + at * slice * es, src + (bi * bstride + off) * es, slice * es);
        }
    return NORMA_OK;
}

/* ---- ScatterND ---- */

static int scatternd_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1], *u = c->in[2];
    int rc, red;
    if ((rc = check_data_dtype(c)) || (rc = ix_check_index_input(c, 1)) || (rc = parse_reduction(c, &red)))
        return rc;
    if (u->dtype != x->dtype)
        return op_fail(c, NORMA_ERR_SHAPE, "updates are %s, data %s", ir_dtype_name(u->dtype),
                       ir_dtype_name(x->dtype));
    int r = x->rank, q = ind->rank;
    if (r < 1 || q < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "data and indices must have rank >= 1");
    int64_t k = ind->dims[q - 1];
    if (k < 1 || k > r)
        return op_fail(c, NORMA_ERR_SHAPE, "indices' last dim %lld must be in [1, %d]", (long long)k, r);
    int ur = q - 1 + r - (int)k, bad = u->rank != ur;
    for (int i = 0; !bad && i < q - 1; i++)
        bad = u->dims[i] != ind->dims[i];
    for (int i = (int)k; !bad && i < r; i++)
        bad = u->dims[q - 1 + i - k] != x->dims[i];
    if (bad) {
        char us[96];
        ir_shape_str(u->rank, u->dims, us, sizeof us);
        return op_fail(c, NORMA_ERR_SHAPE, "updates shape %s must be indices.shape[:-1] + data.shape[%lld:]", us,
                       (long long)k);
    }
    op_set_shape(c->out[0], x->dtype, r, x->dims);
    return NORMA_OK;
}

static int scatternd_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1], *u = c->in[2];
    ir_tensor *y = c->out[0];
    int red = RED_NONE, rc = parse_reduction(c, &red);
    if (rc)
        return rc;
    int r = x->rank, q = ind->rank, k = (int)ind->dims[q - 1];
    size_t es = ir_dtype_size(x->dtype), nidx = ix_prod(ind->dims, 0, q - 1), slice = ix_prod(x->dims, k, r);
    int64_t st[IR_MAX_RANK];
    for (int t = 0; t < k; t++)
        st[t] = (int64_t)ix_prod(x->dims, t + 1, r);
    if (y->data != x->data)
        memcpy(y->data, x->data, ir_tensor_nbytes(x));
    for (size_t j = 0; j < nidx; j++) {
        size_t off;
        if ((rc = tuple_offset(c, ind, j * (size_t)k, k, x->dims, st, &off)))
            return rc;
        apply_reduce(x->dtype, red, (char *)y->data + off * es, (const char *)u->data + j * slice * es, slice);
    }
    return NORMA_OK;
}

/* ---- ScatterElements / Scatter ---- */

static int se_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1], *u = c->in[2];
    int rc, red;
    if ((rc = check_data_dtype(c)) || (rc = ix_check_index_input(c, 1)) || (rc = parse_reduction(c, &red)))
        return rc;
    int64_t a = ir_attr_int(c->node, "axis", 0);
    int axis = op_axis(a, x->rank);
    if (axis < 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, x->rank);
    if (u->dtype != x->dtype)
        return op_fail(c, NORMA_ERR_SHAPE, "updates are %s, data %s", ir_dtype_name(u->dtype),
                       ir_dtype_name(x->dtype));
    if (ind->rank != x->rank || u->rank != ind->rank)
        return op_fail(c, NORMA_ERR_SHAPE, "data, indices and updates must have the same rank (%d, %d, %d)",
                       x->rank, ind->rank, u->rank);
    for (int i = 0; i < x->rank; i++) {
        if (u->dims[i] != ind->dims[i])
            return op_fail(c, NORMA_ERR_SHAPE, "updates dim %d (%lld) differs from indices' (%lld)", i,
                           (long long)u->dims[i], (long long)ind->dims[i]);
        if (i != axis && ind->dims[i] > x->dims[i])
            return op_fail(c, NORMA_ERR_SHAPE, "indices dim %d (%lld) exceeds the data's (%lld)", i,
                           (long long)ind->dims[i], (long long)x->dims[i]);
    }
    op_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return NORMA_OK;
}

static int se_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0], *ind = c->in[1], *u = c->in[2];
    ir_tensor *y = c->out[0];
    int red = RED_NONE, rc = parse_reduction(c, &red);
    if (rc)
        return rc;
    int r = x->rank, axis = op_axis(ir_attr_int(c->node, "axis", 0), r);
    size_t es = ir_dtype_size(x->dtype), n = ir_tensor_numel(ind);
    int64_t xs[IR_MAX_RANK], idx[IR_MAX_RANK] = {0}, s = 1, dim = x->dims[axis];
    for (int d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    if (y->data != x->data)
        memcpy(y->data, x->data, ir_tensor_nbytes(x));
    for (size_t e = 0; e < n; e++) {
        int64_t v = 0;
        if ((rc = ix_norm(c, ix_at(ind, e), dim, "index", e, &v)))
            return rc;
        int64_t off = 0;
        for (int d = 0; d < r; d++)
            off += (d == axis ? v : idx[d]) * xs[d];
        apply_reduce(x->dtype, red, (char *)y->data + (size_t)off * es, (const char *)u->data + e * es, 1);
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < ind->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return NORMA_OK;
}

#define SCHEMA(name, op, v, nin, infer, run) \
    static const op_schema name = {op, "", v, nin, nin, 1, 1, NULL, NULL, infer, run, 0};
SCHEMA(gathernd11, "GatherND", 11, 2, gathernd_infer, gathernd_run)
SCHEMA(gathernd12, "GatherND", 12, 2, gathernd_infer, gathernd_run)
SCHEMA(gathernd13, "GatherND", 13, 2, gathernd_infer, gathernd_run)
SCHEMA(scatternd11, "ScatterND", 11, 3, scatternd_infer, scatternd_run)
SCHEMA(scatternd13, "ScatterND", 13, 3, scatternd_infer, scatternd_run)
SCHEMA(scatternd16, "ScatterND", 16, 3, scatternd_infer, scatternd_run)
SCHEMA(scatternd18, "ScatterND", 18, 3, scatternd_infer, scatternd_run)
SCHEMA(se11, "ScatterElements", 11, 3, se_infer, se_run)
SCHEMA(se13, "ScatterElements", 13, 3, se_infer, se_run)
SCHEMA(se16, "ScatterElements", 16, 3, se_infer, se_run)
SCHEMA(se18, "ScatterElements", 18, 3, se_infer, se_run)
SCHEMA(scatter9, "Scatter", 9, 3, se_infer, se_run)
SCHEMA(scatter11, "Scatter", 11, 3, se_infer, se_run)

OP_TABLE(scatter) = {&gathernd11, &gathernd12, &gathernd13, &scatternd11, &scatternd13, &scatternd16,
                     &scatternd18, &se11, &se13, &se16, &se18, &scatter9, &scatter11, NULL};
