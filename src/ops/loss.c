/*
 * Losses (ONNX spec: NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss; opsets 12, 13).
 *
 *   NegativeLogLikelihoodLoss: input (N, C, d1..dk) log-probabilities, target (N, d1..dk)
 *     int64 or int32, weight (C) optional -> loss.
 *   SoftmaxCrossEntropyLoss: scores (N, C, d1..dk), labels, weights -> loss, and the
 *     optional log_prob = log_softmax(scores, axis 1) of the scores' shape.
 *
 * reduction "none" gives loss (N, d1..dk); "sum" the total; "mean" (the default) the
 * total divided by the sum of the weights of the targets that are not ignore_index
 * (their count without weights). Float, double and float16. A target outside [0, C)
 * that is not ignore_index is a NORMA_ERR_RUNTIME naming the node and the position.
 */
#include <string.h>

#include "ir/half.h"
#include "kernels/loss.h"
#include "ops/op.h"

enum { RED_NONE, RED_SUM, RED_MEAN };

typedef struct loss_geom {
    size_t N, C, D;
    int reduction;
    int has_ii;
    int64_t ii;
} loss_geom;

static int loss_check(op_ctx *c, loss_geom *g)
{
    static const int fl[] = {NORMA_FLOAT, NORMA_DOUBLE, NORMA_FLOAT16, 0};
    static const int ix[] = {NORMA_INT64, NORMA_INT32, 0};
    int rc;
    if ((rc = op_check_dtype(c, 0, fl)) || (rc = op_check_dtype(c, 1, ix)))
        return rc;
    const ir_tensor *x = c->in[0], *t = c->in[1], *w = c->n_in > 2 ? c->in[2] : NULL;
    const char *red = ir_attr_string(c->node, "reduction", "mean");
    if (!strcmp(red, "none"))
        g->reduction = RED_NONE;
    else if (!strcmp(red, "sum"))
        g->reduction = RED_SUM;
    else if (!strcmp(red, "mean"))
        g->reduction = RED_MEAN;
    else
        return op_fail(c, NORMA_ERR_MODEL, "unknown reduction '%s' (none, sum or mean)", red);
    g->has_ii = ir_attr_find(c->node, "ignore_index") != NULL;
    g->ii = ir_attr_int(c->node, "ignore_index", 0);
    if (x->rank < 2)
        return op_fail(c, NORMA_ERR_SHAPE, "input has rank %d; expected (N, C, d1..dk)", x->rank);
    if (t->rank != x->rank - 1)
        return op_fail(c, NORMA_ERR_SHAPE, "target has rank %d; expected %d", t->rank, x->rank - 1);
    if (t->dims[0] != x->dims[0])
        return op_fail(c, NORMA_ERR_SHAPE, "target has N=%lld but the input has N=%lld", (long long)t->dims[0],
                       (long long)x->dims[0]);
    for (int i = 2; i < x->rank; i++)
        if (t->dims[i - 1] != x->dims[i])
            return op_fail(c, NORMA_ERR_SHAPE, "target dimension %d is %lld but the input's is %lld", i - 1,
                           (long long)t->dims[i - 1], (long long)x->dims[i]);
    if (w) {
        if (w->dtype != x->dtype)
            return op_fail(c, NORMA_ERR_SHAPE, "weight has dtype %s but the input has %s", ir_dtype_name(w->dtype),
                           ir_dtype_name(x->dtype));
        if (w->rank != 1 || w->dims[0] != x->dims[1])
            return op_fail(c, NORMA_ERR_SHAPE, "weight must have shape (%lld)", (long long)x->dims[1]);
    }
    int ok;
    ir_numel_checked(x->rank, x->dims, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "input size overflows");
    g->N = (size_t)x->dims[0];
    g->C = (size_t)x->dims[1];
    g->D = 1;
    for (int i = 2; i < x->rank; i++)
        g->D *= (size_t)x->dims[i];
    return NORMA_OK;
}

static int loss_infer(op_ctx *c)
{
    loss_geom g;
    int rc = loss_check(c, &g);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *t = c->in[1];
    if (g.reduction == RED_NONE)
        op_set_shape(c->out[0], x->dtype, t->rank, t->dims);
    else
        op_set_shape(c->out[0], x->dtype, 0, NULL);
    if (c->n_out > 1 && c->out[1])
        op_set_shape(c->out[1], x->dtype, x->rank, x->dims);
    return NORMA_OK;
}

static void store_scalar(void *p, int dtype, double v)
{
    switch (dtype) {
    case NORMA_FLOAT: *(float *)p = (float)v; break;
    case NORMA_DOUBLE: *(double *)p = v; break;
    default: *(uint16_t *)p = float_to_half((float)v); break;
    }
}

static int loss_run(op_ctx *c, int softmax)
{
    loss_geom g;
    int rc = loss_check(c, &g);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *t = c->in[1], *w = c->n_in > 2 ? c->in[2] : NULL;
    void *loss = g.reduction == RED_NONE ? c->out[0]->data : NULL;
    void *logp = softmax && c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    const void *wd = w ? w->data : NULL;
    int t64 = t->dtype == NORMA_INT64;
    double sum = 0, wsum = 0;
    size_t bad = 0;
#define LOSS_CALL(SUF, T)                                                                                              \
    (softmax ? k_##SUF##_sce_ref(g.N, g.C, g.D, x->data, t->data, t64, wd, g.has_ii, g.ii, loss, logp, &sum, &wsum,   \
                                 &bad)                                                                                 \
             : k_##SUF##_nll_ref(g.N, g.C, g.D, x->data, t->data, t64, wd, g.has_ii, g.ii, loss, &sum, &wsum, &bad))
    switch (x->dtype) {
    case NORMA_FLOAT: rc = LOSS_CALL(f32, float); break;
    case NORMA_DOUBLE: rc = LOSS_CALL(f64, double); break;
    default: rc = LOSS_CALL(f16, uint16_t); break;
    }
#undef LOSS_CALL
    if (rc)
        return op_fail(c, NORMA_ERR_RUNTIME, "target %lld at position %zu is outside [0, %zu)",
                       (long long)(t64 ? ((const int64_t *)t->data)[bad] : ((const int32_t *)t->data)[bad]), bad,
                       g.C);
    if (g.reduction == RED_SUM)
        store_scalar(c->out[0]->data, x->dtype, sum);
    else if (g.reduction == RED_MEAN)
        store_scalar(c->out[0]->data, x->dtype, sum / wsum); /* all ignored: 0/0 = NaN, as the reference */
    return NORMA_OK;
}

static int nll_run(op_ctx *c)
{
    return loss_run(c, 0);
}

static int sce_run(op_ctx *c)
{
    return loss_run(c, 1);
}

static const op_schema nll12 = {"NegativeLogLikelihoodLoss", "", 12, 2, 3, 1, 1, NULL, NULL, loss_infer, nll_run};
static const op_schema nll13 = {"NegativeLogLikelihoodLoss", "", 13, 2, 3, 1, 1, NULL, NULL, loss_infer, nll_run};
static const op_schema sce12 = {"SoftmaxCrossEntropyLoss", "", 12, 2, 3, 1, 2, NULL, NULL, loss_infer, sce_run};
static const op_schema sce13 = {"SoftmaxCrossEntropyLoss", "", 13, 2, 3, 1, 2, NULL, NULL, loss_infer, sce_run};

OP_TABLE(loss) = {&nll12, &nll13, &sce12, &sce13, NULL};
