/*
 * Reads and writes attention's transposes through the MatMul instead of copying
 * them: MatMul(Transpose(X, p), B) becomes the internal MatMul(X, B) with perm_a = p
 * (perm_b on B's side), and Transpose(MatMul(A, B), p) with p keeping the last axis
 * last becomes MatMul(A, B) with perm_y = p, in domain "norma" (ops/gemm.c). The
 * GEMM packs each operand through the permuted strides, and writes each output row
 * at its place in the transposed layout. PyTorch's multi-head attention exports q and
 * v as Reshape -> Transpose(perm [1, 0, 2]), k as Transpose(perm [1, 2, 0]), and the
 * heads' output as Transpose(perm [1, 0, 2]) -> Reshape: four copies per layer.
 *
 * Runs after constant-folding (which folds a Transpose of a constant) and after
 * fuse-matmul-scale (which removes the Div by sqrt(d) between q's Transpose and the
 * MatMul).
 *
 * Guards: the Transpose is an ai.onnx Transpose with one input and one output and a
 * perm attribute that is a permutation of at least two axes (without one, its rank is
 * not known here); the value between the two nodes is not a graph output and has no
 * other reader (read once); the MatMul is an ai.onnx MatMul or an internal one with
 * one output, not already reading that operand permuted (or, for B, transposed by
 * transB) or writing permuted. A perm_y must keep the last axis last: the GEMM writes
 * rows of contiguous floats.
 */
#include <stdio.h>

#include "passes/passes.h"

/* The perm of Transpose node t when it is one the MatMul can take (see the guards),
 * and its length; 0 otherwise. */
static int transpose_perm(const ir_node *t, const int64_t **perm)
{
    if (t->dead || !pass_is_op(t, "Transpose") || t->n_in != 1 || t->n_out != 1 || t->in[0] < 0 ||
        t->out[0] < 0 || t->n_outer || t->fused_act || !ir_attr_find(t, "perm"))
        return 0;
    int n = ir_attr_ints(t, "perm", perm);
    if (n < 2 || n > IR_MAX_RANK)
        return 0;
    unsigned seen = 0;
    for (int i = 0; i < n; i++) {
        int64_t a = (*perm)[i];
        if (a < 0 || a >= n || (seen >> a & 1))
            return 0;
        seen |= 1u << a;
    }
    return n;
}

/* 1 when value v, written by one node, is read only once (by the MatMul) and is not a
 * graph output. */
static int private_value(const ir_graph *g, int v)
{
    return v >= 0 && !g->values[v].is_output && ir_consumer_count(g, v) == 1;
}

static int set_perm(ir_node *m, const char *name, int n, const int64_t *perm)
{
    if (pass_to_norma_domain(m))
        return -1;
    return pass_set_attr_ints(m, name, n, perm);
}

int pass_fuse_matmul_permute(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *m = &g->nodes[i];
        if (m->dead || !pass_is_matmul(m) || m->n_out != 1 || m->out[0] < 0 || m->n_in < 2 || m->in[0] == m->in[1])
            continue;
        int internal = !pass_is_op(m, "MatMul");
        /* the operands */
        for (int k = 0; k < 2; k++) {
            const char *name = k ? "perm_b" : "perm_a";
            int v = m->in[k];
            if (!private_value(g, v) || (internal && (ir_attr_find(m, name) || (k && ir_attr_int(m, "transB", 0)))))
                continue;
            int ti = pass_producer(g, v);
            const int64_t *perm;
            int n = ti >= 0 ? transpose_perm(&g->nodes[ti], &perm) : 0;
            if (!n)
                continue;
            ir_node *t = &g->nodes[ti];
            if (set_perm(m, name, n, perm))
                goto oom;
            internal = 1;
            m->in[k] = t->in[0];
            t->dead = 1;
            changed = 1;
        }
        /* the output */
        int y = m->out[0];
        if (!private_value(g, y) || (internal && ir_attr_find(m, "perm_y")))
            continue;
        for (int j = i + 1; j < g->n_nodes; j++) {
            ir_node *t = &g->nodes[j];
            const int64_t *perm;
            int n;
            if (t->dead || t->n_in < 1 || t->in[0] != y || !(n = transpose_perm(t, &perm)) || perm[n - 1] != n - 1)
                continue;
            if (set_perm(m, "perm_y", n, perm))
                goto oom;
            m->out[0] = t->out[0];
            t->dead = 1;
            changed = 1;
            break;
        }
    }
    return pass_compact(g, changed, "reading transposes through a MatMul", err, cap);
oom:
    snprintf(err, cap, "out of memory reading transposes through a MatMul");
    return NORMA_ERR_MEMORY;
}
