/*
 * ArgMax and ArgMin (ONNX opsets 1, 11, 12, 13) and Hardmax (1, 11, 13): the position
 * of the largest / smallest value along an axis. ArgMax/ArgMin give int64 indices
 * (keepdims keeps the axis as size 1; select_last_index, from opset 12, picks the last
 * of equal values). Hardmax writes 1 at the first largest value and 0 elsewhere: before
 * opset 13 over the input coerced to 2-D at axis (default 1), from 13 along axis
 * (default -1).
 */
#include <string.h>

#include "kernels/index.h"
#include "ops/index_util.h"

static const int arg_types[] = {NORMA_FLOAT, NORMA_DOUBLE, NORMA_INT8, NORMA_UINT8, NORMA_INT16, NORMA_UINT16,
                                NORMA_INT32, NORMA_UINT32, NORMA_INT64, NORMA_UINT64, 0};

/* Runs argmax (is_min 0) or argmin over x viewed as (outer, n, inner). */
static void arg_dispatch(int dtype, const void *x, size_t outer, size_t n, size_t inner, int last, int is_min,
                         int64_t *y)
{
#define ARG_CASE(DT, tag, T)                                                                            \
    case DT:                                                                                            \
        if (is_min)                                                                                     \
            k_##tag##_argmin_ref((const T *)x, outer, n, inner, last, y);                               \
        else                                                                                            \
            k_##tag##_argmax_ref((const T *)x, outer, n, inner, last, y);                               \
        break;
    switch (dtype) {
        ARG_CASE(NORMA_FLOAT, f32, float)
        ARG_CASE(NORMA_DOUBLE, f64, double)
        ARG_CASE(NORMA_INT8, i8, int8_t)
        ARG_CASE(NORMA_UINT8, u8, uint8_t)
        ARG_CASE(NORMA_INT16, i16, int16_t)
        ARG_CASE(NORMA_UINT16, u16, uint16_t)
        ARG_CASE(NORMA_INT32, i32, int32_t)
        ARG_CASE(NORMA_UINT32, u32, uint32_t)
        ARG_CASE(NORMA_INT64, i64, int64_t)
        ARG_CASE(NORMA_UINT64, u64, uint64_t)
    default:
        break;
    }
#undef ARG_CASE
}

/* Splits outer across up to threads threads when the work is large. */
static void arg_parallel(int dtype, const void *x, size_t es, size_t outer, size_t n, size_t inner, int last,
                         int is_min, int64_t *y, int threads)
{
    int nth = (outer * n * inner >= 65536 && outer > 1 && threads > 1) ? threads : 1;
    size_t per = (outer + (size_t)nth - 1) / (size_t)nth;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        size_t o0 = (size_t)t * per, o1 = o0 + per < outer ? o0 + per : outer;
        if (o0 < o1)
            arg_dispatch(dtype, (const char *)x + o0 * n * inner * es, o1 - o0, n, inner, last, is_min,
                         y + o0 * inner);
    }
}

static int arg_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int rc = op_check_dtype(c, 0, arg_types);
    if (rc)
        return rc;
    int64_t a = ir_attr_int(c->node, "axis", 0);
    int axis = op_axis(a, x->rank);
    if (axis < 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, x->rank);
    int64_t last = ir_attr_int(c->node, "select_last_index", 0);
    if (last != 0 && last != 1)
        return op_fail(c, NORMA_ERR_MODEL, "select_last_index must be 0 or 1, got %lld", (long long)last);
    if (x->dims[axis] == 0)
        return op_fail(c, NORMA_ERR_SHAPE, "axis %d has size 0", axis);
    int keep = ir_attr_int(c->node, "keepdims", 1) != 0;
    int64_t d[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != axis)
            d[r++] = x->dims[i];
        else if (keep)
            d[r++] = 1;
    }
    op_set_shape(c->out[0], NORMA_INT64, r, d);
    return NORMA_OK;
}

static int arg_run_common(op_ctx *c, int is_min)
{
    const ir_tensor *x = c->in[0];
    int axis = op_axis(ir_attr_int(c->node, "axis", 0), x->rank);
    int last = ir_attr_int(c->node, "select_last_index", 0) != 0;
    arg_parallel(x->dtype, x->data, ir_dtype_size(x->dtype), ix_prod(x->dims, 0, axis), (size_t)x->dims[axis],
                 ix_prod(x->dims, axis + 1, x->rank), last, is_min, c->out[0]->data, c->threads);
    return NORMA_OK;
}

static int argmax_run(op_ctx *c)
{
    return arg_run_common(c, 0);
}

static int argmin_run(op_ctx *c)
{
    return arg_run_common(c, 1);
}

/* Hardmax: (outer, n, inner) view of the input; see the file comment for the axis rule. */
static int hardmax_view(op_ctx *c, size_t *outer, size_t *n, size_t *inner)
{
    const ir_tensor *x = c->in[0];
    int v13 = c->opset >= 13;
    int64_t a = ir_attr_int(c->node, "axis", v13 ? -1 : 1);
    int axis = v13 ? op_axis(a, x->rank) : (a < 0 ? (int)(a + x->rank) : (int)a);
    if (axis < 0 || axis > x->rank || (v13 && axis >= x->rank))
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, x->rank);
    *outer = ix_prod(x->dims, 0, axis);
    if (v13) {
        *n = (size_t)x->dims[axis];
        *inner = ix_prod(x->dims, axis + 1, x->rank);
    } else {
        *n = ix_prod(x->dims, axis, x->rank);
        *inner = 1;
    }
    return NORMA_OK;
}

static int hardmax_infer(op_ctx *c)
{
    static const int ok[] = {NORMA_FLOAT, NORMA_DOUBLE, 0};
    const ir_tensor *x = c->in[0];
    size_t outer, n, inner;
    int rc;
    if ((rc = op_check_dtype(c, 0, ok)) || (rc = hardmax_view(c, &outer, &n, &inner)))
        return rc;
    op_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    int ok_n;
    size_t m = ir_numel_checked(x->rank, x->dims, &ok_n);
    if (!ok_n || m > SIZE_MAX / sizeof(int64_t))
        return op_fail(c, NORMA_ERR_SHAPE, "input is too large");
    c->scratch_size = n ? outer * inner * sizeof(int64_t) : 0;
    return NORMA_OK;
}

static int hardmax_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    size_t outer, n, inner;
    int rc = hardmax_view(c, &outer, &n, &inner);
    if (rc)
        return rc;
    size_t es = ir_dtype_size(x->dtype);
    memset(y->data, 0, ir_tensor_nbytes(y));
    if (n == 0 || outer * inner == 0)
        return NORMA_OK;
    int64_t *best = c->scratch;
    arg_parallel(x->dtype, x->data, es, outer, n, inner, 0, 0, best, c->threads);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            size_t at = (o * n + (size_t)best[o * inner + i]) * inner + i;
            if (es == sizeof(float))
                ((float *)y->data)[at] = 1.0f;
            else
                ((double *)y->data)[at] = 1.0;
        }
    return NORMA_OK;
}

#define ARG_SCHEMA(name, op, v, run) \
    static const op_schema name = {op, "", v, 1, 1, 1, 1, NULL, NULL, arg_infer, run, 0};
ARG_SCHEMA(argmax1, "ArgMax", 1, argmax_run)
ARG_SCHEMA(argmax11, "ArgMax", 11, argmax_run)
ARG_SCHEMA(argmax12, "ArgMax", 12, argmax_run)
ARG_SCHEMA(argmax13, "ArgMax", 13, argmax_run)
ARG_SCHEMA(argmin1, "ArgMin", 1, argmin_run)
ARG_SCHEMA(argmin11, "ArgMin", 11, argmin_run)
ARG_SCHEMA(argmin12, "ArgMin", 12, argmin_run)
ARG_SCHEMA(argmin13, "ArgMin", 13, argmin_run)
static const op_schema hardmax1 = {"Hardmax", "", 1, 1, 1, 1, 1, NULL, NULL, hardmax_infer, hardmax_run, 0};
static const op_schema hardmax11 = {"Hardmax", "", 11, 1, 1, 1, 1, NULL, NULL, hardmax_infer, hardmax_run, 0};
static const op_schema hardmax13 = {"Hardmax", "", 13, 1, 1, 1, 1, NULL, NULL, hardmax_infer, hardmax_run, 0};

OP_TABLE(argmax) = {&argmax1, &argmax11, &argmax12, &argmax13, &argmin1, &argmin11, &argmin12, &argmin13,
                    &hardmax1, &hardmax11, &hardmax13, NULL};
