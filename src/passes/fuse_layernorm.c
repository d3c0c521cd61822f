/*
 * Fuses the decomposed layer normalization that exporters write (PyTorch's
 * nn.LayerNorm below opset 17, hand-written LayerNorms in HF models) into one
 * LayerNormalization node:
 *
 *   mean = ReduceMean(x, axes)          d = Sub(x, mean)
 *   var  = ReduceMean(Pow(d, 2), axes)  s = Sqrt(Add(var, eps))
 *   n    = Div(d, s)  or  Mul(d, Reciprocal(s))
 *   y    = Add(Mul(n, scale), bias)     (the affine tail is optional: Mul alone, or none)
 *
 * Mul and Add match either operand order. Casts around the pattern stay where they
 * are (the fused node reads the Cast's output). The axes are ReduceMean's attribute
 * (opset < 18) or its constant second input (opset 18).
 *
 * Guards (any failing leaves the pattern as it is):
 *   - Pow's exponent is the constant 2; eps is a one-element float32 constant (so the
 *     pattern computes in float32, as the fused op does);
 *   - both ReduceMeans keep dims and reduce the same k trailing axes of x;
 *   - every intermediate has exactly one reader (d: exactly Pow and the division) and
 *     is not a graph output;
 *   - scale and bias are float constants of rank <= k that broadcast within the
 *     normalized axes.
 */
#include <stdio.h>

#include "passes/fuse_util.h"

/* Tries the pattern whose division node is dv; 1 fused, 0 not, -1 OOM. */
static int fuse_at(ir_graph *g, ir_node *dv)
{
    int d, sv;
    ir_node *recip = NULL;
    if (pass_is_op(dv, "Div")) {
        if (dv->n_in != 2)
            return 0;
        d = dv->in[0];
        sv = dv->in[1];
    } else { /* Mul(d, Reciprocal(s)) in either order */
        if (dv->n_in != 2)
            return 0;
        int k;
        for (k = 0; k < 2; k++)
            if ((recip = fu_reciprocal(g, dv->in[k], &sv)))
                break;
        if (!recip || !fu_uses(g, recip->out[0], 1))
            return 0;
        d = dv->in[1 - k];
    }
    ir_node *sq = fu_producer(g, sv, "Sqrt");
    if (!sq || !fu_uses(g, sv, 1))
        return 0;
    ir_node *add = fu_producer(g, sq->in[0], "Add");
    if (!add || !fu_uses(g, add->out[0], 1) || add->n_in != 2)
        return 0;
    double eps;
    int var = -1;
    for (int k = 0; k < 2; k++)
        if (fu_f32_scalar(g, add->in[k], &eps)) {
            var = add->in[1 - k];
            break;
        }
    if (var < 0 || !(eps >= 0))
        return 0;
    ir_node *r2 = fu_producer(g, var, "ReduceMean");
    if (!r2 || !fu_uses(g, var, 1))
        return 0;
    ir_node *pw = fu_producer(g, r2->in[0], "Pow");
    if (!pw || !fu_uses(g, r2->in[0], 1) || pw->n_in != 2 || pw->in[0] != d ||
        !fu_is_scalar(g, pw->in[1], 2.0, 0.0))
        return 0;
    ir_node *sub = fu_producer(g, d, "Sub");
    if (!sub || sub->n_in != 2 || !fu_uses(g, d, 2))
        return 0;
    int x = sub->in[0], mean = sub->in[1];
    ir_node *r1 = fu_producer(g, mean, "ReduceMean");
    if (!r1 || !fu_uses(g, mean, 1) || r1->in[0] != x || x < 0)
        return 0;
    int rank = g->values[x].rank;
    int k = fu_trailing_axes(g, r1, rank);
    if (!k || fu_trailing_axes(g, r2, rank) != k)
        return 0;

    /* the optional affine tail */
    ir_node *last = dv;
    int scale = -1, bias = -1;
    ir_node *cast = fu_noop_cast(g, x, dv->out[0]);
    int nv = cast ? cast->out[0] : dv->out[0];
    ir_node *mul = fu_consumer(g, nv, "Mul");
    if (mul) {
        int s = fu_other(mul, nv);
        if (s >= 0 && fu_param_ok(g, s, k, x)) {
            scale = s;
            last = mul;
            ir_node *ba = fu_consumer(g, mul->out[0], "Add");
            int b = ba ? fu_other(ba, mul->out[0]) : -2;
            if (b >= 0 && fu_param_ok(g, b, k, x)) {
                bias = b;
                last = ba;
            }
        }
    }
    /* rewrite: the last node becomes LayerNormalization(x, scale[, bias]) */
    ir_node *dead[] = {r1, sub, pw, r2, add, sq, recip, dv, scale >= 0 ? mul : NULL, scale >= 0 ? cast : NULL};
    if (scale < 0) {
        char base[256];
        snprintf(base, sizeof base, "%.200s_ln_scale", g->values[dv->out[0]].name);
        if ((scale = fu_const_one(g, base)) < 0)
            return -1;
    }
    int ins[3] = {x, scale, bias};
    if (fu_retype(last, "LayerNormalization", ins, bias >= 0 ? 3 : 2))
        return -1;
    ir_attr *a = fu_add_attr(last, "axis", IR_ATTR_INT);
    if (!a)
        return -1;
    a->i = -k;
    a = fu_add_attr(last, "epsilon", IR_ATTR_FLOAT);
    if (!a)
        return -1;
    a->f = (float)eps;
    for (size_t i = 0; i < sizeof dead / sizeof dead[0]; i++)
        if (dead[i] && dead[i] != last)
            dead[i]->dead = 1;
    return 1;
}

int pass_fuse_layernorm(ir_graph *g, char *err, size_t cap)
{
    int changed = 0, oom = 0;
    for (int i = 0; i < g->n_nodes && !oom; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead || (!pass_is_op(n, "Div") && !pass_is_op(n, "Mul")))
            continue;
        int rc = fuse_at(g, n);
        if (rc < 0)
            oom = 1;
        else
            changed |= rc;
    }
    return fu_finish(g, changed, oom, "LayerNormalization", err, cap);
}
