/*
 * BatchNormalization (ONNX opsets 1, 6, 7, 9, 14, 15), float32.
 *
 * Inference (the default) normalizes with the running statistics given as inputs:
 *   Y = (X - mean) / sqrt(var + epsilon) * scale + B, per channel (axis 1),
 * run as one scale/shift per channel (k_f32_channel_affine). Opsets before 9 also have
 * spatial=0, where the statistics have one entry per element of X[0] (shape C,D1..Dk):
 * that is the same computation with C' = C*D1*..*Dk channels of size 1.
 *
 * training_mode=1 (opset 14+) normalizes with the batch's mean and population variance
 * over every axis but 1 and may output running_mean / running_var:
 *   running = input_running * momentum + current * (1 - momentum).
 * For opsets before 14, asking for the extra outputs selects the same training
 * computation; saved_mean / saved_var (outputs 3 and 4) receive the batch mean and
 * batch variance.
 */
#include <math.h>
#include <string.h>

#include "kernels/batchnorm.h"
#include "ops/op.h"

typedef struct bn_dims {
    size_t N, C, S; /* C: statistics per sample; S: elements sharing one statistic */
} bn_dims;

static int bn_training(const op_ctx *c)
{
    if (c->opset >= 14)
        return ir_attr_int(c->node, "training_mode", 0) != 0;
    for (int i = 1; i < c->n_out; i++)
        if (c->out[i])
            return 1;
    return 0;
}

static int bn_spatial(const op_ctx *c)
{
    return c->opset >= 9 || ir_attr_int(c->node, "spatial", 1) != 0;
}

static int bn_shape(op_ctx *c, bn_dims *d)
{
    const ir_tensor *x = c->in[0];
    if (x->rank < 2) {
        char s[128];
        ir_shape_str(x->rank, x->dims, s, sizeof s);
        return op_fail(c, NORMA_ERR_SHAPE, "X has shape %s; expected (N,C,...) of rank >= 2", s);
    }
    int ok;
    size_t spatial = ir_numel_checked(x->rank - 2, x->dims + 2, &ok);
    if (ok)
        ir_numel_checked(x->rank, x->dims, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "X has a negative dimension or is too large");
    d->N = (size_t)x->dims[0];
    if (bn_spatial(c)) {
        d->C = (size_t)x->dims[1];
        d->S = spatial;
    } else {
        d->C = (size_t)x->dims[1] * spatial;
        d->S = 1;
    }
    return NORMA_OK;
}

static int bn_infer(op_ctx *c)
{
    static const int f32[] = {NORMA_FLOAT, 0};
    static const char *names[] = {"X", "scale", "B", "input_mean", "input_var"};
    for (int i = 0; i < 5; i++) {
        int rc = op_check_dtype(c, i, f32);
        if (rc)
            return rc;
    }
    bn_dims d;
    int rc = bn_shape(c, &d);
    if (rc)
        return rc;
    for (int i = 1; i < 5; i++) {
        size_t n = ir_tensor_numel(c->in[i]);
        if (n != d.C)
            return op_fail(c, NORMA_ERR_SHAPE, "%s has %zu elements; expected %zu (%s)", names[i], n,
                           d.C, bn_spatial(c) ? "one per channel C" : "spatial=0: one per element of X[0]");
    }
    const ir_tensor *x = c->in[0];
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, x->dims);
    for (int i = 1; i < c->n_out; i++)
        if (c->out[i])
            op_set_shape(c->out[i], NORMA_FLOAT, c->in[1]->rank, c->in[1]->dims);
    /* scratch: per-channel a, b (float) and, in training, batch mean and var (double) */
    c->scratch_size = 2 * d.C * sizeof(float) + (bn_training(c) ? 2 * d.C * sizeof(double) : 0);
    return NORMA_OK;
}

static int bn_init(op_ctx *c)
{
    float eps = ir_attr_float(c->node, "epsilon", 1e-5f);
    if (!(eps >= 0))
        return op_fail(c, NORMA_ERR_MODEL, "epsilon %g must be >= 0", (double)eps);
    if (c->opset >= 14 && c->n_out > 1 && !bn_training(c))
        for (int i = 1; i < c->n_out; i++)
            if (c->out[i])
                return op_fail(c, NORMA_ERR_MODEL, "output %d (running statistics) needs training_mode=1", i);
    if (c->opset >= 14 && c->n_out > 3)
        return op_fail(c, NORMA_ERR_MODEL, "has %d outputs; opset %d allows 3", c->n_out, c->opset);
    return NORMA_OK;
}

static int bn_run(op_ctx *c)
{
    bn_dims d;
    int rc = bn_shape(c, &d);
    if (rc)
        return rc;
    float eps = ir_attr_float(c->node, "epsilon", 1e-5f);
    const float *x = c->in[0]->data, *scale = c->in[1]->data, *bias = c->in[2]->data;
    const float *mean = c->in[3]->data, *var = c->in[4]->data;
    float *y = c->out[0]->data;
    float *a = c->scratch, *b = a + d.C;
    if (!bn_training(c)) {
        k_f32_batchnorm_coeffs(d.C, scale, bias, mean, var, eps, a, b);
        k_f32_channel_affine(x, y, d.N, d.C, d.S, a, b, c->threads);
        return NORMA_OK;
    }
    double *bm = (double *)((char *)c->scratch + 2 * d.C * sizeof(float));
    double *bv = bm + d.C;
    /* 2*C floats are C*8 bytes, so the doubles that follow are 8-byte aligned. */
    k_f32_channel_stats(x, d.N, d.C, d.S, bm, bv, c->threads);
    float momentum = ir_attr_float(c->node, "momentum", 0.9f);
    for (size_t ch = 0; ch < d.C; ch++) {
        double s = (double)scale[ch] / sqrt(bv[ch] + (double)eps);
        a[ch] = (float)s;
        b[ch] = (float)((double)bias[ch] - bm[ch] * s);
    }
    if (c->n_out > 1 && c->out[1]) {
        float *o = c->out[1]->data;
        for (size_t ch = 0; ch < d.C; ch++)
            o[ch] = (float)((double)mean[ch] * momentum + bm[ch] * (1.0 - (double)momentum));
    }
    if (c->n_out > 2 && c->out[2]) {
        float *o = c->out[2]->data;
        for (size_t ch = 0; ch < d.C; ch++)
            o[ch] = (float)((double)var[ch] * momentum + bv[ch] * (1.0 - (double)momentum));
    }
    if (c->n_out > 3 && c->out[3]) {
        float *o = c->out[3]->data;
        for (size_t ch = 0; ch < d.C; ch++)
            o[ch] = (float)bm[ch];
    }
    if (c->n_out > 4 && c->out[4]) {
        float *o = c->out[4]->data;
        for (size_t ch = 0; ch < d.C; ch++)
            o[ch] = (float)bv[ch];
    }
    k_f32_channel_affine(x, y, d.N, d.C, d.S, a, b, c->threads);
    return NORMA_OK;
}

static const op_schema bn1 = {"BatchNormalization", "", 1, 5, 5, 1, 5, bn_init, NULL, bn_infer, bn_run};
static const op_schema bn6 = {"BatchNormalization", "", 6, 5, 5, 1, 5, bn_init, NULL, bn_infer, bn_run};
static const op_schema bn7 = {"BatchNormalization", "", 7, 5, 5, 1, 5, bn_init, NULL, bn_infer, bn_run};
static const op_schema bn9 = {"BatchNormalization", "", 9, 5, 5, 1, 5, bn_init, NULL, bn_infer, bn_run};
static const op_schema bn14 = {"BatchNormalization", "", 14, 5, 5, 1, 3, bn_init, NULL, bn_infer, bn_run};
static const op_schema bn15 = {"BatchNormalization", "", 15, 5, 5, 1, 3, bn_init, NULL, bn_infer, bn_run};

OP_TABLE(batchnorm) = {&bn1, &bn6, &bn7, &bn9, &bn14, &bn15, NULL};
