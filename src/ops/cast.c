/*
 * Cast (ONNX opsets 1, 6, 9, 13, 19) and CastLike (15, 19) between the numeric dtypes
 * float32, double, float16, bfloat16, int8/16/32/64, uint8/16/32/64 and bool. Integers convert
 * through int64 (exact, wrapping like C's modular conversion); anything involving a
 * float goes through double. float16 uses the exact conversions of ir/half.h.
 */
#include <string.h>

#include "ops/elem.h"
#include "ops/op.h"

static int numeric(int dt)
{
    return dt != NORMA_STRING && ir_dtype_size(dt) != 0;
}

static int cast_target(op_ctx *c)
{
    if (strcmp(c->node->op_type, "CastLike") == 0)
        return c->in[1]->dtype;
    const ir_attr *a = ir_attr_find(c->node, "to");
    if (!a)
        return -1;
    if (a->type == IR_ATTR_STRING) { /* opset 1 used type names */
        static const char *names[] = {"", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64",
                                      "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "", "",
                                      "BFLOAT16"};
        for (int i = 1; i < (int)(sizeof names / sizeof names[0]); i++)
            if (a->s && names[i][0] && strcmp(a->s, names[i]) == 0)
                return i;
        return 0;
    }
    return (int)a->i;
}

static int cast_infer(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int to = cast_target(c);
    if (to < 0)
        return op_fail(c, NORMA_ERR_MODEL, "attribute 'to' is required");
    if (!numeric(to))
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "cast to %s is not supported", ir_dtype_name(to));
    if (!numeric(x->dtype))
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "cast from %s is not supported", ir_dtype_name(x->dtype));
    op_set_shape(c->out[0], to, x->rank, x->dims);
    return NORMA_OK;
}

/* Reference conversion of n elements from dtype a to dtype b. */
static void cast_elems(void *dst, int b, const void *src, int a, size_t n)
{
    if (a == b) {
        memcpy(dst, src, n * ir_dtype_size(a));
        return;
    }
    if (a == NORMA_FLOAT && b == NORMA_FLOAT16) {
        for (size_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = float_to_half(((const float *)src)[i]);
        return;
    }
    if (a == NORMA_FLOAT16 && b == NORMA_FLOAT) {
        for (size_t i = 0; i < n; i++)
            ((float *)dst)[i] = half_to_float(((const uint16_t *)src)[i]);
        return;
    }
    if (a == NORMA_DOUBLE && b == NORMA_FLOAT16) { /* round once, from double */
        for (size_t i = 0; i < n; i++) {
            double v = ((const double *)src)[i];
            float f = (float)v;
            /* (float)v may round to a tie that half rounding would then break the
             * wrong way; nudge f toward v by its low bit, which only matters at ties. */
            if ((double)f != v) {
                uint32_t bits;
                memcpy(&bits, &f, 4);
                bits |= 1;
                memcpy(&f, &bits, 4);
            }
            ((uint16_t *)dst)[i] = float_to_half(f);
        }
        return;
    }
    if (elem_is_float(a) || elem_is_float(b)) {
        if (!elem_is_float(a) && a == NORMA_UINT64) {
            for (size_t i = 0; i < n; i++)
                elem_set_f64(dst, b, i, (double)((const uint64_t *)src)[i]);
        } else if (!elem_is_float(a)) {
            for (size_t i = 0; i < n; i++)
                elem_set_f64(dst, b, i, (double)elem_get_i64(src, a, i));
        } else {
            for (size_t i = 0; i < n; i++)
                elem_set_f64(dst, b, i, elem_get_f64(src, a, i));
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        elem_set_i64(dst, b, i, elem_get_i64(src, a, i));
}

static int cast_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    size_t n = ir_tensor_numel(x);
    size_t ea = ir_dtype_size(x->dtype), eb = ir_dtype_size(y->dtype);
    const size_t chunk = 4096;
    size_t nchunks = (n + chunk - 1) / chunk;
    int nt = n > (1 << 18) ? c->threads : 1;
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (size_t k = 0; k < nchunks; k++) {
        size_t i0 = k * chunk, m = n - i0 < chunk ? n - i0 : chunk;
        cast_elems((char *)y->data + i0 * eb, y->dtype, (const char *)x->data + i0 * ea, x->dtype, m);
    }
    return NORMA_OK;
}

static const op_schema cast1 = {"Cast", "", 1, 1, 1, 1, 1, NULL, NULL, cast_infer, cast_run};
static const op_schema cast6 = {"Cast", "", 6, 1, 1, 1, 1, NULL, NULL, cast_infer, cast_run};
static const op_schema cast9 = {"Cast", "", 9, 1, 1, 1, 1, NULL, NULL, cast_infer, cast_run};
static const op_schema cast13 = {"Cast", "", 13, 1, 1, 1, 1, NULL, NULL, cast_infer, cast_run};
static const op_schema cast19 = {"Cast", "", 19, 1, 1, 1, 1, NULL, NULL, cast_infer, cast_run};
static const op_schema castlike15 = {"CastLike", "", 15, 2, 2, 1, 1, NULL, NULL, cast_infer, cast_run};
static const op_schema castlike19 = {"CastLike", "", 19, 2, 2, 1, 1, NULL, NULL, cast_infer, cast_run};

OP_TABLE(cast) = {&cast1, &cast6, &cast9, &cast13, &cast19, &castlike15, &castlike19, NULL};
