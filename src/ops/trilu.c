/*
 * Trilu (ONNX opset 14) and EyeLike (9): matrices built from their diagonals.
 * Trilu keeps the upper (upper=1, default) or lower triangle of the last two dims,
 * shifted by the optional k input (read at run time), and zeroes the rest. EyeLike
 * gives a 2-D tensor shaped like its input with ones on diagonal k, in the dtype
 * attribute's type (or the input's).
 */
#include <string.h>

#include "ops/index_util.h"

static int trilu_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    if (x->rank < 2)
        return op_fail(c, NORMA_ERR_SHAPE, "input must have rank >= 2, got %d", x->rank);
    if (c->n_in > 1 && c->in[1]) {
        int rc = ix_check_index_input(c, 1);
        if (rc)
            return rc;
        if (c->in[1]->rank > 1 || ir_tensor_numel(c->in[1]) != 1)
            return op_fail(c, NORMA_ERR_SHAPE, "k must be a scalar");
    }
    if (ir_dtype_size(x->dtype) == 0)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %s is not supported", ir_dtype_name(x->dtype));
    op_set_shape(c->out[0], x->dtype, x->rank, x->dims);
    return NORMA_OK;
}

static int trilu_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int64_t k = (c->n_in > 1 && c->in[1]) ? ix_at(c->in[1], 0) : 0;
    int upper = ir_attr_int(c->node, "upper", 1) != 0;
    int64_t R = x->dims[x->rank - 2], C = x->dims[x->rank - 1];
    if (k > R + C) /* any k beyond the matrix acts the same; clamping keeps i + k from overflowing */
        k = R + C;
    if (k < -(R + C))
        k = -(R + C);
    size_t es = ir_dtype_size(x->dtype), mats = ix_prod(x->dims, 0, x->rank - 2);
    const char *src = x->data;
    char *dst = c->out[0]->data;
    for (size_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < R; i++) {
            size_t row = (m * (size_t)R + (size_t)i) * (size_t)C * es;
            /* kept columns: upper j >= i + k, lower j <= i + k */
            int64_t lo = upper ? i + k : 0, hi = upper ? C : i + k + 1;
            lo = lo < 0 ? 0 : (lo > C ? C : lo);
            hi = hi < 0 ? 0 : (hi > C ? C : hi);
            if (hi < lo)
                hi = lo;
            memset(dst + row, 0, (size_t)C * es);
            if (hi > lo)
                memcpy(dst + row + (size_t)lo * es, src + row + (size_t)lo * es, (size_t)(hi - lo) * es);
        }
    return NORMA_OK;
}

static int eyelike_dtype(const ir_node *n, int def)
{
    return (int)ir_attr_int(n, "dtype", def);
}

static int eyelike_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int dt = eyelike_dtype(c->node, x->dtype);
    if (x->rank != 2)
        return op_fail(c, NORMA_ERR_SHAPE, "input must be 2-D, got rank %d", x->rank);
    switch (dt) {
    case NORMA_FLOAT: case NORMA_DOUBLE: case NORMA_FLOAT16: case NORMA_BOOL:
    case NORMA_INT8: case NORMA_UINT8: case NORMA_INT16: case NORMA_UINT16:
    case NORMA_INT32: case NORMA_UINT32: case NORMA_INT64: case NORMA_UINT64:
        break;
    default:
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "dtype %d is not supported", dt);
    }
    op_set_shape(c->out[0], dt, 2, x->dims);
    return NORMA_OK;
}

/* Writes the value 1 of dtype dt at p. */
static void write_one(int dt, void *p)
{
    switch (dt) {
    case NORMA_FLOAT: *(float *)p = 1.0f; break;
    case NORMA_DOUBLE: *(double *)p = 1.0; break;
    case NORMA_FLOAT16: *(uint16_t *)p = 0x3c00; break;
    case NORMA_INT16: case NORMA_UINT16: *(uint16_t *)p = 1; break;
    case NORMA_INT32: case NORMA_UINT32: *(uint32_t *)p = 1; break;
    case NORMA_INT64: case NORMA_UINT64: *(uint64_t *)p = 1; break;
    default: *(uint8_t *)p = 1; break;
    }
}

static int eyelike_run(op_ctx *c)
{
    ir_tensor *y = c->out[0];
    int64_t k = ir_attr_int(c->node, "k", 0), R = y->dims[0], C = y->dims[1];
    if (k > C || k < -R) /* no diagonal element; also keeps i + k from overflowing */
        k = C;
    size_t es = ir_dtype_size(y->dtype);
    memset(y->data, 0, ir_tensor_nbytes(y));
    for (int64_t i = 0; i < R; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < C)
            write_one(y->dtype, (char *)y->data + ((size_t)i * (size_t)C + (size_t)j) * es);
    }
    return NORMA_OK;
}

static const op_schema trilu14 = {"Trilu", "", 14, 1, 2, 1, 1, NULL, NULL, trilu_infer, trilu_run, 0};
static const op_schema eyelike9 = {"EyeLike", "", 9, 1, 1, 1, 1, NULL, NULL, eyelike_infer, eyelike_run, 0};

OP_TABLE(trilu) = {&trilu14, &eyelike9, NULL};
