/*
 * Reads a transposed constant weight through the MatMul instead of materializing the
 * transpose: MatMul(X, Transpose(W, perm=[1,0])) with W a 2-D float constant becomes
 * the internal node MatMul(X, W) with transB=1 in domain "norma" (ops/gemm.c), which
 * packs W once in init reading it through strides. PyTorch exports nn.Linear weights
 * of BERT and ViT this way (72 Transposes of up to 3072x768 in BERT-base); folding
 * them copied every weight once more at load, only for the packing to copy it again.
 *
 * Runs before constant-folding, which would otherwise fold the Transpose. The
 * fuse-matmul-add pass later adds a bias Add into the same node.
 *
 * Guards: the Transpose is an ai.onnx Transpose with one input and one output whose
 * input is a 2-D float initializer (not a graph input) and whose perm is absent or
 * [1, 0]; its output is not a graph output and every live node reading it is an
 * ai.onnx MatMul with one output and no fused activation that reads it as B (input
 * 1) only. When any reader is something else, the Transpose stays for all readers
 * (it is folded once either way).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

/* 1 when node t is a Transpose of a 2-D float initializer with perm [1, 0]. */
static int const_2d_transpose(const ir_graph *g, const ir_node *t)
{
    if (t->dead || !pass_is_op(t, "Transpose") || t->n_in != 1 || t->n_out != 1 || t->out[0] < 0 || t->n_outer)
        return 0;
    int w = t->in[0];
    if (!pass_is_initializer(g, w))
        return 0;
    const ir_tensor *wt = g->values[w].constant;
    if (wt->dtype != NORMA_FLOAT || wt->rank != 2)
        return 0;
    if (!ir_attr_find(t, "perm"))
        return 1; /* the default reverses the dimensions */
    const int64_t *perm;
    int np = ir_attr_ints(t, "perm", &perm);
    return np == 2 && perm[0] == 1 && perm[1] == 0;
}

/* 1 when every live reader of v is a plain MatMul reading it as B only (and there
 * is at least one). */
static int read_only_as_b(const ir_graph *g, int v)
{
    if (g->values[v].is_output)
        return 0;
    int readers = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        int reads = 0;
        for (int k = 0; k < n->n_in; k++)
            reads |= n->in[k] == v;
        if (!reads)
            continue;
        if (!pass_is_op(n, "MatMul") || n->n_in != 2 || n->n_out != 1 || n->fused_act || n->n_outer ||
            n->in[0] == v || n->in[1] != v)
            return 0;
        readers++;
    }
    return readers > 0;
}

int pass_fuse_matmul_transpose(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *t = &g->nodes[i];
        if (!const_2d_transpose(g, t) || !read_only_as_b(g, t->out[0]))
            continue;
        int w = t->in[0], v = t->out[0];
        for (int j = 0; j < g->n_nodes; j++) {
            ir_node *m = &g->nodes[j];
            if (m->dead || m == t || m->n_in != 2 || m->in[1] != v)
                continue;
            if (pass_to_norma_domain(m) || pass_set_attr_int(m, "transB", 1)) {
                snprintf(err, cap, "out of memory reading a transposed MatMul weight in place");
                return NORMA_ERR_MEMORY;
            }
            m->in[1] = w;
        }
        t->dead = 1;
        changed = 1;
    }
    return pass_compact(g, changed, "reading transposed MatMul weights in place", err, cap);
}
