/*
 * GroupNormalization (ONNX opsets 18, 21), float32: x (N,C,D1,...) split into
 * num_groups groups of C/G channels; each (n, group) block of (C/G)*S values is
 * normalized by its own mean and variance (k_f32_row_moments: shifted two-pass), then
 *   y = scale[.] * xhat + bias[.]
 * with scale and bias per group (shape (G)) in opset 18 and per channel (shape (C))
 * from opset 21.
 */
#include "kernels/norm.h"
#include "ops/norm_util.h"
#include "ops/op.h"

static int gn_init(op_ctx *c)
{
    const ir_attr *a = ir_attr_find(c->node, "num_groups");
    if (!a || a->type != IR_ATTR_INT)
        return op_fail(c, NORMA_ERR_MODEL, "the attribute 'num_groups' is required");
    if (a->i < 1)
        return op_fail(c, NORMA_ERR_MODEL, "num_groups %lld must be >= 1", (long long)a->i);
    return norm_check_eps(c, 1);
}

static int gn_infer(op_ctx *c)
{
    int rc = norm_check_x(c, 3, "input", "(N,C,...)", 2);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    int64_t G = ir_attr_int(c->node, "num_groups", 1), C = x->dims[1];
    if (C % G)
        return op_fail(c, NORMA_ERR_SHAPE, "num_groups %lld does not divide C=%lld", (long long)G, (long long)C);
    int64_t want = c->opset >= 21 ? C : G;
    static const char *names[] = {"X", "scale", "bias"};
    for (int i = 1; i < 3; i++)
        if (ir_tensor_numel(c->in[i]) != (size_t)want)
            return op_fail(c, NORMA_ERR_SHAPE, "%s has %zu elements; expected %s=%lld", names[i],
                           ir_tensor_numel(c->in[i]), c->opset >= 21 ? "C" : "num_groups", (long long)want);
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, x->dims);
    size_t NG = (size_t)x->dims[0] * (size_t)G;
    c->scratch_size = 2 * NG * sizeof(float);
    return NORMA_OK;
}

static int gn_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int ok;
    size_t S = ir_numel_checked(x->rank - 2, x->dims + 2, &ok);
    size_t N = (size_t)x->dims[0], C = (size_t)x->dims[1];
    size_t G = (size_t)ir_attr_int(c->node, "num_groups", 1), Cg = C / G, NG = N * G;
    if (NG * Cg * S == 0)
        return NORMA_OK;
    float *mean = c->scratch, *istd = mean + NG;
    const float *xd = x->data, *sc = c->in[1]->data, *bi = c->in[2]->data;
    float *y = c->out[0]->data;
    float eps = ir_attr_float(c->node, "epsilon", 1e-5f);
    int per_channel = c->opset >= 21;
    int nth = (NG * Cg * S >= 32768 && c->threads > 1) ? c->threads : 1;
    long long blocks = (long long)NG;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (long long b = 0; b < blocks; b++) {
        size_t g = (size_t)b % G;
        const float *xb = xd + (size_t)b * Cg * S;
        float *yb = y + (size_t)b * Cg * S;
        k_f32_row_moments(1, Cg * S, xb, eps, &mean[b], &istd[b]);
        for (size_t j = 0; j < Cg; j++) {
            size_t p = per_channel ? g * Cg + j : g;
            float a = sc[p] * istd[b], t = bi[p] - mean[b] * a;
            for (size_t i = 0; i < S; i++)
                yb[j * S + i] = xb[j * S + i] * a + t;
        }
    }
    return NORMA_OK;
}

static const op_schema gn18 = {"GroupNormalization", "", 18, 3, 3, 1, 1, gn_init, NULL, gn_infer, gn_run};
static const op_schema gn21 = {"GroupNormalization", "", 21, 3, 3, 1, 1, gn_init, NULL, gn_infer, gn_run};

OP_TABLE(groupnorm) = {&gn18, &gn21, NULL};
