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

#include "passes/fuse_util.h"

/* Tries the pattern whose division node is dv; 1 fused, 0 not, -1 OOM. */
static int fuse_at(ir_graph *g, ir_node *dv)
{
    int d, sv;
    ir_node *recip, *sq, *add, *r2, *pw;
    double eps;
    if (!fu_norm_division(g, dv, &d, &sv, &recip))
        return 0;
    int var = fu_sqrt_add_eps(g, sv, &sq, &add, &eps);
    if (var < 0 || !fu_mean_square(g, var, d, &r2, &pw))
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
    ir_node *last = dv, *cast, *mul;
    int bias = -1, scale = fu_norm_scale(g, x, dv, k, &cast, &mul);
    if (scale >= 0) {
        last = mul;
        ir_node *ba = fu_consumer(g, mul->out[0], "Add");
        int b = ba ? fu_other(ba, mul->out[0]) : -2;
        if (b >= 0 && fu_param_ok(g, b, k, x)) {
            bias = b;
            last = ba;
        }
    }
    /* rewrite: the last node becomes LayerNormalization(x, scale[, bias]) */
    ir_node *dead[] = {r1, sub, pw, r2, add, sq, recip, dv, scale >= 0 ? mul : NULL, scale >= 0 ? cast : NULL};
    return fu_emit_norm(g, last, "LayerNormalization", x, scale, bias, k, eps, dv, "ln_scale", dead,
                        sizeof dead / sizeof dead[0]);
}

int pass_fuse_layernorm(ir_graph *g, char *err, size_t cap)
{
    return fu_run_at_divisions(g, fuse_at, "LayerNormalization", err, cap);
}
