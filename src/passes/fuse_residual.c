/*
 * Fuses a residual Add into the Conv before it: Conv(X, W[, B]) -> Add(., R) [-> Relu]
 * becomes the internal node Conv(X, W, B|"", R) in domain "norma" (ops/conv.c), which
 * adds R in its GEMM epilogue while the output block is in cache, then applies the
 * Relu (fused_act) when the Add's only reader is a Relu.
 *
 * Guards: the Conv is an ai.onnx Conv with no fused activation, its output has
 * exactly one reader (the Add) and is not a graph output; the Add's other input is
 * not the Conv's own output (Add(t, t)) and is computed before the Conv. Shapes may not be known yet: the conv op
 * broadcasts R like Add would (and takes the fast path when the shapes match).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/act.h"
#include "passes/passes.h"

/* The Relu that is the only reader of value v (not a graph output), or NULL. */
static ir_node *sole_relu(ir_graph *g, int v)
{
    if (g->values[v].is_output || ir_consumer_count(g, v) != 1)
        return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (!n->dead && n->n_in == 1 && n->in[0] == v && n->n_out == 1 && n->out[0] >= 0 && pass_is_op(n, "Relu"))
            return n;
    }
    return NULL;
}

int pass_fuse_residual(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *a = &g->nodes[i];
        if (a->dead || !pass_is_op(a, "Add") || a->n_in != 2 || a->n_out != 1 || a->out[0] < 0 || a->fused_act)
            continue;
        for (int side = 0; side < 2; side++) {
            int x = a->in[side], r = a->in[1 - side];
            if (x < 0 || r < 0 || x == r || g->values[x].is_output || ir_consumer_count(g, x) != 1)
                continue;
            int p_i = pass_producer(g, x);
            /* R must be computed before the Conv runs (nodes are in execution order) */
            if (p_i < 0 || pass_producer(g, r) > p_i)
                continue;
            ir_node *p = &g->nodes[p_i];
            if (!pass_is_op(p, "Conv") || p->fused_act || p->n_out != 1 || p->out[0] != x || p->n_in < 2 ||
                p->n_in > 3 || p->n_outer)
                continue;
            if (pass_to_norma_domain(p) || pass_set_input(p, 3, r)) { /* an absent B becomes -1 */
                snprintf(err, cap, "out of memory fusing a residual Add");
                return NORMA_ERR_MEMORY;
            }
            p->out[0] = a->out[0];
            a->dead = 1;
            ir_node *relu = sole_relu(g, a->out[0]);
            if (relu) {
                p->fused_act = ACT_RELU;
                p->out[0] = relu->out[0];
                relu->dead = 1;
            }
            changed = 1;
            break;
        }
    }
    return pass_compact(g, changed, "fusing residual Adds", err, cap);
}
