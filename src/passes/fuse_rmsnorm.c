/*
 * Fuses the decomposed RMS normalization (T5, LLaMA and their exports) into one
 * RMSNormalization node (registered at every opset for this):
 *
 *   s = Sqrt(Add(ReduceMean(Pow(x, 2), axes), eps))
 *   n = Div(x, s)  or  Mul(x, Reciprocal(s))
 *   y = Mul(n, scale)                   (optional; either operand order)
 *
 * Guards (any failing leaves the pattern as it is): Pow's exponent is the constant 2,
 * eps a one-element float32 constant, ReduceMean keeps dims over the k trailing axes of x,
 * every intermediate has one reader and is not a graph output, scale is a float
 * constant of rank <= k broadcasting within the normalized axes. Runs after
 * fuse-layernorm, whose pattern contains this one.
 */
#include <stdio.h>

#include "passes/fuse_util.h"

static int fuse_at(ir_graph *g, ir_node *dv)
{
    if (dv->n_in != 2)
        return 0;
    int x, sv;
    ir_node *recip = NULL;
    if (pass_is_op(dv, "Div")) {
        x = dv->in[0];
        sv = dv->in[1];
    } else {
        int k;
        for (k = 0; k < 2; k++)
            if ((recip = fu_reciprocal(g, dv->in[k], &sv)))
                break;
        if (!recip || !fu_uses(g, recip->out[0], 1))
            return 0;
        x = dv->in[1 - k];
    }
    if (x < 0)
        return 0;
    ir_node *sq = fu_producer(g, sv, "Sqrt");
    if (!sq || !fu_uses(g, sv, 1))
        return 0;
    ir_node *add = fu_producer(g, sq->in[0], "Add");
    if (!add || !fu_uses(g, add->out[0], 1) || add->n_in != 2)
        return 0;
    double eps;
    int ms = -1;
    for (int k = 0; k < 2; k++)
        if (fu_f32_scalar(g, add->in[k], &eps)) {
            ms = add->in[1 - k];
            break;
        }
    if (ms < 0 || !(eps >= 0))
        return 0;
    ir_node *rm = fu_producer(g, ms, "ReduceMean");
    if (!rm || !fu_uses(g, ms, 1))
        return 0;
    ir_node *pw = fu_producer(g, rm->in[0], "Pow");
    if (!pw || !fu_uses(g, rm->in[0], 1) || pw->n_in != 2 || pw->in[0] != x ||
        !fu_is_scalar(g, pw->in[1], 2.0, 0.0))
        return 0;
    int k = fu_trailing_axes(g, rm, g->values[x].rank);
    if (!k)
        return 0;

    ir_node *last = dv;
    int scale = -1;
    ir_node *cast = fu_noop_cast(g, x, dv->out[0]);
    int nv = cast ? cast->out[0] : dv->out[0];
    ir_node *mul = fu_consumer(g, nv, "Mul");
    if (mul) {
        int s = fu_other(mul, nv);
        if (s >= 0 && fu_param_ok(g, s, k, x)) {
            scale = s;
            last = mul;
        }
    }
    ir_node *dead[] = {pw, rm, add, sq, recip, dv, scale >= 0 ? cast : NULL};
    if (scale < 0) {
        char base[256];
        snprintf(base, sizeof base, "%.200s_rms_scale", g->values[dv->out[0]].name);
        if ((scale = fu_const_one(g, base)) < 0)
            return -1;
    }
    int ins[2] = {x, scale};
    if (fu_retype(last, "RMSNormalization", ins, 2))
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

int pass_fuse_rmsnorm(ir_graph *g, char *err, size_t cap)
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
    return fu_finish(g, changed, oom, "RMSNormalization", err, cap);
}
