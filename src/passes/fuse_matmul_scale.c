/*
 * Folds a scalar scale into the MatMul after it: MatMul(Div(X, c), B) and
 * MatMul(Mul(X, c), B) (either Mul order; the same on B's side) become the internal
 * MatMul(X, B) with alpha = 1/c or c in domain "norma" (ops/gemm.c), which scales the
 * product in its epilogue. Attention exports divide q by sqrt(d) this way, and the
 * Div then reads and writes all of q once more, between its Transpose and the MatMul.
 *
 * Guards: c is a float constant of one element and rank at most 1 (broadcasting it
 * leaves X's shape as it is), finite and, for Div, not zero; the Div or Mul has one
 * output, which is not a graph output and is read only by this MatMul, once; the
 * MatMul is an ai.onnx MatMul or an internal one, with one output. x / c and
 * x * (1/c) may differ in the last bit.
 */
#include <math.h>
#include <stdio.h>

#include "passes/passes.h"

/* The scale that node p applies to its other operand x when it is Div(x, c), Mul(x, c)
 * or Mul(c, x) with c a scalar float constant (0 when it is none of these). */
static float scalar_scale(const ir_graph *g, const ir_node *p, int *x)
{
    int div = pass_is_op(p, "Div");
    if ((!div && !pass_is_op(p, "Mul")) || p->n_in != 2 || p->n_out != 1 || p->fused_act || p->n_outer)
        return 0;
    for (int side = div ? 1 : 0; side < 2; side++) {
        int cv = p->in[side], xv = p->in[1 - side];
        if (xv < 0 || cv == xv || !pass_is_initializer(g, cv))
            continue;
        const ir_tensor *t = g->values[cv].constant;
        if (t->dtype != NORMA_FLOAT || t->rank > 1 || ir_tensor_numel(t) != 1)
            continue;
        float c = ((const float *)t->data)[0];
        if (!isfinite(c) || c == 0)
            continue;
        *x = xv;
        return div ? 1.0f / c : c;
    }
    return 0;
}

int pass_fuse_matmul_scale(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *m = &g->nodes[i];
        if (m->dead || !pass_is_matmul(m) || m->n_out != 1 || m->n_in < 2 || m->in[0] == m->in[1])
            continue;
        for (int k = 0; k < 2; k++) {
            int v = m->in[k], x = -1;
            if (v < 0 || g->values[v].is_output || ir_consumer_count(g, v) != 1)
                continue;
            int pi = pass_producer(g, v);
            if (pi < 0)
                continue;
            ir_node *p = &g->nodes[pi];
            float scale = scalar_scale(g, p, &x);
            if (scale == 0)
                continue;
            float alpha = pass_is_op(m, "MatMul") ? 1.0f : ir_attr_float(m, "alpha", 1.0f);
            if (pass_to_norma_domain(m) || pass_set_attr_float(m, "alpha", alpha * scale)) {
                snprintf(err, cap, "out of memory folding a scale into a MatMul");
                return NORMA_ERR_MEMORY;
            }
            m->in[k] = x;
            p->dead = 1;
            changed = 1;
        }
    }
    return pass_compact(g, changed, "folding scales into MatMuls", err, cap);
}
