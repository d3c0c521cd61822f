/*
 * Linear quantization (ONNX spec: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear).
 *
 *   QuantizeLinear (10, 13):   y = saturate(round_half_even(x / scale) + zero_point), float32 x,
 *                              uint8 or int8 y (the zero point's dtype; uint8 without one).
 *   DequantizeLinear (10, 13): y = (x - zero_point) * scale, x uint8, int8 or int32, float32 y.
 *   DynamicQuantizeLinear (11): uint8 y with scale and zero point computed from x's range
 *                              (which is widened to include 0).
 *
 * Opset 10 takes per-tensor (scalar) parameters; opset 13 adds the axis attribute, with
 * a 1-D scale (and zero point) of x.shape[axis] entries for per-axis quantization.
 */
#include <math.h>
#include <string.h>

#include "kernels/quant.h"
#include "ops/op.h"

/* The (O, C, I) view of x for the parameters: per tensor (O = 1, C = 1) or per axis. */
typedef struct qview {
    size_t O, C, I;
} qview;

/*
 * Checks the scale (input 1) and zero point (input 2, optional) against x (input 0)
 * and works out the view. Opset 10 parameters are scalars; from 13 they may be 1-D
 * along axis. zp_dtype is the dtype the zero point must have (0: uint8 or int8).
 */
static int qparams(op_ctx *c, int zp_dtype, qview *v)
{
    const ir_tensor *x = c->in[0], *s = c->in[1], *z = c->n_in > 2 ? c->in[2] : NULL;
    if (s->dtype != NORMA_FLOAT)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "scale has dtype %s; float is supported", ir_dtype_name(s->dtype));
    if (z) {
        if (zp_dtype && z->dtype != zp_dtype)
            return op_fail(c, NORMA_ERR_SHAPE, "zero point has dtype %s but the input has dtype %s",
                           ir_dtype_name(z->dtype), ir_dtype_name(zp_dtype));
        if (!zp_dtype && z->dtype != NORMA_UINT8 && z->dtype != NORMA_INT8)
            return op_fail(c, NORMA_ERR_UNSUPPORTED, "zero point has dtype %s; uint8 or int8 are supported",
                           ir_dtype_name(z->dtype));
        if (z->rank != s->rank || (z->rank == 1 && z->dims[0] != s->dims[0]))
            return op_fail(c, NORMA_ERR_SHAPE, "zero point and scale have different shapes");
    }
    int ok;
    size_t n = ir_numel_checked(x->rank, x->dims, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "input size overflows");
    v->O = 1;
    v->C = 1;
    v->I = n;
    if (s->rank == 0 || (s->rank == 1 && s->dims[0] == 1))
        return NORMA_OK;
    if (c->opset < 13 || s->rank != 1)
        return op_fail(c, NORMA_ERR_SHAPE, "scale must be a scalar%s", c->opset < 13 ? " before opset 13" : " or 1-D");
    int axis = op_axis(ir_attr_int(c->node, "axis", 1), x->rank);
    if (axis < 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d",
                       (long long)ir_attr_int(c->node, "axis", 1), x->rank);
    if (s->dims[0] != x->dims[axis])
        return op_fail(c, NORMA_ERR_SHAPE, "scale has %lld entries but axis %d of the input has %lld",
                       (long long)s->dims[0], axis, (long long)x->dims[axis]);
    v->C = (size_t)x->dims[axis];
    v->O = 1;
    for (int i = 0; i < axis; i++)
        v->O *= (size_t)x->dims[i];
    v->I = 1;
    for (int i = axis + 1; i < x->rank; i++)
        v->I *= (size_t)x->dims[i];
    return NORMA_OK;
}

/* ---------------- QuantizeLinear ---------------- */

static int quantize_infer(op_ctx *c)
{
    static const int f32[] = {NORMA_FLOAT, 0};
    int rc;
    qview v = {1, 1, 0};
    if ((rc = op_check_dtype(c, 0, f32)) || (rc = qparams(c, 0, &v)))
        return rc;
    const ir_tensor *z = c->n_in > 2 ? c->in[2] : NULL;
    op_set_shape(c->out[0], z ? z->dtype : NORMA_UINT8, c->in[0]->rank, c->in[0]->dims);
    return NORMA_OK;
}

static int quantize_run(op_ctx *c)
{
    qview v = {1, 1, 0};
    int rc = qparams(c, 0, &v);
    if (rc)
        return rc;
    const ir_tensor *z = c->n_in > 2 ? c->in[2] : NULL;
    if (c->out[0]->dtype == NORMA_INT8)
        k_f32_quantize_s8_ref(v.O, v.C, v.I, c->in[0]->data, c->in[1]->data, z ? z->data : NULL, c->out[0]->data);
    else
        k_f32_quantize_u8_ref(v.O, v.C, v.I, c->in[0]->data, c->in[1]->data, z ? z->data : NULL, c->out[0]->data);
    return NORMA_OK;
}

/* ---------------- DequantizeLinear ---------------- */

static int dequantize_infer(op_ctx *c)
{
    static const int q[] = {NORMA_UINT8, NORMA_INT8, NORMA_INT32, 0};
    int rc;
    qview v = {1, 1, 0};
    if ((rc = op_check_dtype(c, 0, q)) || (rc = qparams(c, c->in[0]->dtype, &v)))
        return rc;
    op_set_shape(c->out[0], NORMA_FLOAT, c->in[0]->rank, c->in[0]->dims);
    return NORMA_OK;
}

static int dequantize_run(op_ctx *c)
{
    qview v = {1, 1, 0};
    int rc = qparams(c, c->in[0]->dtype, &v);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *z = c->n_in > 2 ? c->in[2] : NULL;
    const void *zp = z ? z->data : NULL;
    switch (x->dtype) {
    case NORMA_UINT8: k_u8_dequantize_ref(v.O, v.C, v.I, x->data, c->in[1]->data, zp, c->out[0]->data); break;
    case NORMA_INT8: k_s8_dequantize_ref(v.O, v.C, v.I, x->data, c->in[1]->data, zp, c->out[0]->data); break;
    default: k_s32_dequantize_ref(v.O, v.C, v.I, x->data, c->in[1]->data, zp, c->out[0]->data); break;
    }
    return NORMA_OK;
}

/* ---------------- DynamicQuantizeLinear ---------------- */

static int dynq_infer(op_ctx *c)
{
    static const int f32[] = {NORMA_FLOAT, 0};
    int rc = op_check_dtype(c, 0, f32);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    int ok;
    ir_numel_checked(x->rank, x->dims, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "input size overflows");
    op_set_shape(c->out[0], NORMA_UINT8, x->rank, x->dims);
    if (c->n_out > 1 && c->out[1])
        op_set_shape(c->out[1], NORMA_FLOAT, 0, NULL);
    if (c->n_out > 2 && c->out[2])
        op_set_shape(c->out[2], NORMA_UINT8, 0, NULL);
    return NORMA_OK;
}

static int dynq_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    size_t n = ir_tensor_numel(x);
    float mn = 0, mx = 0;
    if (n)
        k_f32_minmax(n, x->data, &mn, &mx);
    /* the range always includes 0 so that 0 is exactly representable */
    if (!(mn < 0))
        mn = 0;
    if (!(mx > 0))
        mx = 0;
    float scale = (mx - mn) / 255.0f;
    uint8_t zp = 0;
    if (scale > 0) {
        float z = rintf(-mn / scale);
        zp = (uint8_t)(z < 0 ? 0 : z > 255 ? 255 : z);
        k_f32_quantize_u8_ref(1, 1, n, x->data, &scale, &zp, c->out[0]->data);
    } else if (n) {
        memset(c->out[0]->data, 0, n); /* all zeros: any scale reproduces them; keep 0 */
    }
    if (c->n_out > 1 && c->out[1])
        *(float *)c->out[1]->data = scale;
    if (c->n_out > 2 && c->out[2])
        *(uint8_t *)c->out[2]->data = zp;
    return NORMA_OK;
}

static const op_schema quantize10 = {"QuantizeLinear", "", 10, 2, 3, 1, 1, NULL, NULL, quantize_infer, quantize_run};
static const op_schema quantize13 = {"QuantizeLinear", "", 13, 2, 3, 1, 1, NULL, NULL, quantize_infer, quantize_run};
static const op_schema dequantize10 = {"DequantizeLinear", "", 10, 2, 3, 1, 1, NULL, NULL, dequantize_infer,
                                       dequantize_run};
static const op_schema dequantize13 = {"DequantizeLinear", "", 13, 2, 3, 1, 1, NULL, NULL, dequantize_infer,
                                       dequantize_run};
static const op_schema dynq11 = {"DynamicQuantizeLinear", "", 11, 1, 1, 1, 3, NULL, NULL, dynq_infer, dynq_run};

OP_TABLE(quant) = {&quantize10, &quantize13, &dequantize10, &dequantize13, &dynq11, NULL};
