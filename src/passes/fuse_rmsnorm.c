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

#include "passes/fuse_util.h"

/* Tries the pattern whose division node is dv; 1 fused, 0 not, -1 OOM. */
static int fuse_at(ir_graph *g, ir_node *dv)
{
    int x, sv;
    ir_node *recip, *sq, *add, *rm, *pw;
    double eps;
    if (!fu_norm_division(g, dv, &x, &sv, &recip) || x < 0)
        return 0;
    int ms = fu_sqrt_add_eps(g, sv, &sq, &add, &eps);
    if (ms < 0 || !fu_mean_square(g, ms, x, &rm, &pw))
        return 0;
    int k = fu_trailing_axes(g, rm, g->values[x].rank);
    if (!k)
        return 0;

    ir_node *last = dv, *cast, *mul;
    int scale = fu_norm_scale(g, x, dv, k, &cast, &mul);
    if (scale >= 0)
        last = mul;
    ir_node *dead[] = {pw, rm, add, sq, recip, dv, scale >= 0 ? cast : NULL};
    return fu_emit_norm(g, last, "RMSNormalization", x, scale, -1, k, eps, dv, "rms_scale", dead,
                        sizeof dead / sizeof dead[0]);
}

int pass_fuse_rmsnorm(ir_graph *g, char *err, size_t cap)
{
    return fu_run_at_divisions(g, fuse_at, "RMSNormalization", err, cap);
}
