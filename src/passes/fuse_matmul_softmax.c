/*
 * Fuses a Softmax over the last axis into the MatMul before it: Softmax(MatMul(A, B))
 * becomes the internal MatMul(A, B) with softmax=1 in domain "norma" (ops/gemm.c),
 * which normalizes each batch entry's rows as soon as its GEMM has written them, while
 * they are in cache. Attention's scores (heads x L x L) are otherwise written, then
 * read back from further away by a separate Softmax.
 *
 * Runs last, so the MatMul already carries what was fused into it (bias, activation,
 * alpha, permutations): the Softmax applies after all of it, as it did after the node.
 *
 * Guards: the Softmax is an ai.onnx Softmax (not LogSoftmax) with one input and one
 * output and axis -1 (given, or the default from opset 13): without shapes here, a
 * non-negative axis is not known to be the last; the MatMul is an ai.onnx MatMul or
 * an internal one with one output, read only by the Softmax and not a graph output,
 * and not already fused with a Softmax.
 */
#include <stdio.h>

#include "passes/passes.h"

/* 1 when Softmax node s normalizes its input's last axis whatever its rank. */
static int softmax_over_last(const ir_node *s)
{
    if (s->dead || !pass_is_op(s, "Softmax") || s->n_in != 1 || s->n_out != 1 || s->in[0] < 0 || s->out[0] < 0 ||
        s->fused_act || s->n_outer)
        return 0;
    if (ir_attr_find(s, "axis"))
        return ir_attr_int(s, "axis", 0) == -1;
    return s->opset >= 13; /* the default axis: -1 from opset 13, 1 before */
}

int pass_fuse_matmul_softmax(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *s = &g->nodes[i];
        if (!softmax_over_last(s))
            continue;
        int v = s->in[0];
        if (g->values[v].is_output || ir_consumer_count(g, v) != 1)
            continue;
        int mi = pass_producer(g, v);
        if (mi < 0)
            continue;
        ir_node *m = &g->nodes[mi];
        if (!pass_is_matmul(m) || m->n_out != 1 || m->out[0] != v ||
            (!pass_is_op(m, "MatMul") && ir_attr_int(m, "softmax", 0)))
            continue;
        if (pass_to_norma_domain(m) || pass_set_attr_int(m, "softmax", 1)) {
            snprintf(err, cap, "out of memory fusing a Softmax into a MatMul");
            return NORMA_ERR_MEMORY;
        }
        m->out[0] = s->out[0];
        s->dead = 1;
        changed = 1;
    }
    return pass_compact(g, changed, "fusing Softmaxes into MatMuls", err, cap);
}
