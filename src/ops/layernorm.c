/*
 * LayerNormalization (ONNX opset 17) and RMSNormalization (opset 23), float32.
 * Both normalize over every axis from `axis` on (negative counts from the end), with
 * the input viewed as (O, D) rows:
 *   LayerNormalization  y = (x - mean) / sqrt(var + epsilon) * Scale + B
 *                       optional outputs Mean and InvStdDev, shaped like X with the
 *                       normalized axes set to 1
 *   RMSNormalization    y = x / sqrt(mean(x^2) + epsilon) * scale
 * Scale and B broadcast unidirectionally to the normalized shape X.dims[axis:]. Both
 * are also registered at opset 1 so the fusion passes can emit them in models of any
 * opset. stash_type must be 1 (float): the statistics are float32 (see kernels/norm.h
 * for the accumulation).
 */
#include <string.h>

#include "kernels/norm.h"
#include "ops/norm_util.h"
#include "ops/op.h"

typedef struct ln_view {
    size_t O, D;
    int axis;
} ln_view;

static int ln_init(op_ctx *c)
{
    return norm_check_eps(c, 1);
}

/* Checks that t (Scale or B) broadcasts unidirectionally to x's dims from axis on. */
static int check_param(op_ctx *c, const ir_tensor *x, int axis, const ir_tensor *t, const char *what)
{
    int nr = x->rank - axis;
    char s[128], xs[128];
    ir_shape_str(t->rank, t->dims, s, sizeof s);
    ir_shape_str(nr, x->dims + axis, xs, sizeof xs);
    if (t->rank > nr)
        return op_fail(c, NORMA_ERR_SHAPE, "%s has shape %s; it does not broadcast to the normalized shape %s",
                       what, s, xs);
    for (int d = 0; d < t->rank; d++) {
        int64_t td = t->dims[t->rank - 1 - d], xd = x->dims[x->rank - 1 - d];
        if (td != 1 && td != xd)
            return op_fail(c, NORMA_ERR_SHAPE,
                           "%s has shape %s; it does not broadcast to the normalized shape %s", what, s, xs);
    }
    return NORMA_OK;
}

/* Shared shape checks: X, the axis, Scale (input 1) and B (input 2, LN only). */
static int norm_view(op_ctx *c, ln_view *v)
{
    static const int f32[] = {NORMA_FLOAT, 0};
    int rc;
    for (int i = 0; i < c->n_in; i++)
        if (c->in[i] && (rc = op_check_dtype(c, i, f32)))
            return rc;
    const ir_tensor *x = c->in[0];
    int64_t a = ir_attr_int(c->node, "axis", -1);
    int axis = op_axis(a, x->rank);
    if (axis < 0 || x->rank == 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, x->rank);
    int ok;
    size_t O = ir_numel_checked(axis, x->dims, &ok);
    size_t D = ok ? ir_numel_checked(x->rank - axis, x->dims + axis, &ok) : 0;
    if (!ok) {
        char s[128];
        ir_shape_str(x->rank, x->dims, s, sizeof s);
        return op_fail(c, NORMA_ERR_SHAPE, "input shape %s has a negative dimension or is too large", s);
    }
    static const char *names[] = {"X", "Scale", "B"};
    for (int i = 1; i < c->n_in && i < 3; i++)
        if (c->in[i] && (rc = check_param(c, x, axis, c->in[i], names[i])))
            return rc;
    v->O = O;
    v->D = D;
    v->axis = axis;
    return NORMA_OK;
}

static int ln_infer(op_ctx *c)
{
    ln_view v;
    int rc = norm_view(c, &v);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, x->dims);
    int64_t sd[IR_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        sd[d] = d < v.axis ? x->dims[d] : 1;
    for (int k = 1; k < c->n_out && k < 3; k++)
        if (c->out[k])
            op_set_shape(c->out[k], NORMA_FLOAT, x->rank, sd);
    /* Scale and B expanded to D values when they are not already full */
    size_t need = 0;
    for (int i = 1; i < c->n_in && i < 3; i++)
        if (c->in[i] && ir_tensor_numel(c->in[i]) != v.D)
            need += v.D;
    if (need > ((size_t)-1) / sizeof(float))
        return op_fail(c, NORMA_ERR_SHAPE, "normalized size %zu is too large", v.D);
    c->scratch_size = need * sizeof(float);
    return NORMA_OK;
}

/* Returns t's data when it already holds D values, else t broadcast over the normalized
 * shape x->dims[axis:] into buf (D floats). */
static const float *expand_param(const ir_tensor *t, const ir_tensor *x, int axis, size_t D, float *buf)
{
    if (ir_tensor_numel(t) == D)
        return t->data;
    const float *src = t->data;
    int nr = x->rank - axis;
    const int64_t *nd = x->dims + axis;
    int64_t st[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
    op_broadcast_strides(t, nr, nd, st);
    int64_t off = 0;
    for (size_t j = 0; j < D; j++) {
        buf[j] = src[off];
        for (int d = nr - 1; d >= 0; d--) {
            off += st[d];
            if (++idx[d] < nd[d])
                break;
            off -= st[d] * nd[d];
            idx[d] = 0;
        }
    }
    return buf;
}

/* Normalizes the O rows in one contiguous chunk per thread (OpenMP when the tensor is
 * large); Scale and B are expanded into scratch first when they broadcast. */
static int ln_run(op_ctx *c)
{
    ln_view v;
    norm_view(c, &v);
    const ir_tensor *x = c->in[0];
    if (v.O * v.D == 0)
        return NORMA_OK;
    float *buf = c->scratch;
    const float *scale = expand_param(c->in[1], x, v.axis, v.D, buf);
    if (scale == buf)
        buf += v.D;
    const float *bias = c->n_in > 2 && c->in[2] ? expand_param(c->in[2], x, v.axis, v.D, buf) : NULL;
    float *mean = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    float *istd = c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL;
    float eps = ir_attr_float(c->node, "epsilon", 1e-5f);
    const float *xd = x->data;
    float *y = c->out[0]->data;
    size_t O = v.O, D = v.D;
    int nth = (O * D >= 32768 && O > 1 && c->threads > 1) ? c->threads : 1;
    size_t per = (O + (size_t)nth - 1) / (size_t)nth;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        size_t o0 = (size_t)t * per, o1 = o0 + per < O ? o0 + per : O;
        if (o0 < o1)
            k_f32_layernorm(o1 - o0, D, xd + o0 * D, scale, bias, eps, y + o0 * D, mean ? mean + o0 : NULL,
                            istd ? istd + o0 : NULL);
    }
    return NORMA_OK;
}

static int rms_infer(op_ctx *c)
{
    ln_view v;
    int rc = norm_view(c, &v);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, x->dims);
    c->scratch_size = ir_tensor_numel(c->in[1]) != v.D ? v.D * sizeof(float) : 0;
    return NORMA_OK;
}

static int rms_run(op_ctx *c)
{
    ln_view v;
    norm_view(c, &v);
    const ir_tensor *x = c->in[0];
    if (v.O * v.D == 0)
        return NORMA_OK;
    const float *scale = expand_param(c->in[1], x, v.axis, v.D, c->scratch);
    float eps = ir_attr_float(c->node, "epsilon", 1e-5f);
    const float *xd = x->data;
    float *y = c->out[0]->data;
    size_t O = v.O, D = v.D;
    int nth = (O * D >= 32768 && O > 1 && c->threads > 1) ? c->threads : 1;
    size_t per = (O + (size_t)nth - 1) / (size_t)nth;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        size_t o0 = (size_t)t * per, o1 = o0 + per < O ? o0 + per : O;
        if (o0 < o1)
            k_f32_rmsnorm(o1 - o0, D, xd + o0 * D, scale, eps, y + o0 * D);
    }
    return NORMA_OK;
}

static const op_schema ln1 = {"LayerNormalization", "", 1, 2, 3, 1, 3, ln_init, NULL, ln_infer, ln_run};
static const op_schema ln17 = {"LayerNormalization", "", 17, 2, 3, 1, 3, ln_init, NULL, ln_infer, ln_run};
static const op_schema rms1 = {"RMSNormalization", "", 1, 2, 2, 1, 1, ln_init, NULL, rms_infer, rms_run};
static const op_schema rms23 = {"RMSNormalization", "", 23, 2, 2, 1, 1, ln_init, NULL, rms_infer, rms_run};

OP_TABLE(layernorm) = {&ln1, &ln17, &rms1, &rms23, NULL};
