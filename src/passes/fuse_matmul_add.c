/*
 * Fuses a bias Add into the MatMul before it: MatMul(X, W) -> Add(., b) (either
 * operand order), with W a float constant matrix (N columns) and b a float constant
 * of N values broadcast over the last dimension, becomes the internal node
 * MatMul(X, W, b) in domain "norma" (ops/gemm.c), which adds b in its GEMM epilogue
 * while the output block is in cache.
 *
 * The MatMul may already be the internal one reading W transposed (transB=1, made by
 * fuse-matmul-transpose); the bias is then added to that node, whose N is W's rows.
 *
 * Guards: the MatMul is an ai.onnx MatMul (or a two-input norma MatMul) with no fused activation and one output,
 * read only by the Add and not a graph output; W is a rank-2 constant (so the output
 * has X's rank); b has shape (N) or (1, .., 1, N) and, when longer than 1-D, no more
 * dimensions than X (known rank), so the Add does not change the output's shape.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

/* 1 when v is a float constant of shape (1, .., 1, N) that broadcasting against an
 * output of rank out_rank (-1: unknown) leaves the output's shape as it is. */
static int bias_ok(const ir_graph *g, int v, int64_t N, int out_rank)
{
    if (!pass_is_initializer(g, v))
        return 0;
    const ir_tensor *t = g->values[v].constant;
    if (t->dtype != NORMA_FLOAT || t->rank < 1 || t->dims[t->rank - 1] != N)
        return 0;
    for (int d = 0; d + 1 < t->rank; d++)
        if (t->dims[d] != 1)
            return 0;
    return t->rank == 1 || (out_rank >= 0 && t->rank <= out_rank);
}

/* 1 for the internal MatMul (a transB one from fuse-matmul-transpose, or an earlier
 * fusion: those have three inputs and fail the n_in guard). */
static int is_norma_matmul(const ir_node *p)
{
    return strcmp(p->domain, "norma") == 0 && strcmp(p->op_type, "MatMul") == 0;
}

int pass_fuse_matmul_add(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *a = &g->nodes[i];
        if (a->dead || !pass_is_op(a, "Add") || a->n_in != 2 || a->n_out != 1 || a->out[0] < 0 || a->fused_act)
            continue;
        for (int side = 0; side < 2; side++) {
            int x = a->in[side], b = a->in[1 - side];
            if (x < 0 || b < 0 || x == b || g->values[x].is_output || ir_consumer_count(g, x) != 1)
                continue;
            int p_i = pass_producer(g, x);
            if (p_i < 0)
                continue;
            ir_node *p = &g->nodes[p_i];
            int tb = is_norma_matmul(p) ? ir_attr_int(p, "transB", 0) == 1 : 0;
            /* a B read through perm_b (fuse-matmul-permute) is not W as stored: left alone */
            if (!pass_is_matmul(p) || (is_norma_matmul(p) && ir_attr_find(p, "perm_b")) || p->fused_act ||
                p->n_in != 2 || p->n_out != 1 || p->out[0] != x || p->n_outer || p->in[0] < 0 || p->in[1] < 0 ||
                !pass_is_initializer(g, p->in[1]))
                continue;
            const ir_tensor *w = g->values[p->in[1]].constant;
            if (w->dtype != NORMA_FLOAT || w->rank != 2)
                continue;
            int xr = g->values[p->in[0]].rank;
            if (xr >= 0 && xr < 2) /* a 1-D X drops a dimension: keep it simple */
                continue;
            if (!bias_ok(g, b, w->dims[tb ? 0 : 1], xr))
                continue;
            if (pass_to_norma_domain(p) || pass_set_input(p, 2, b)) {
                snprintf(err, cap, "out of memory fusing a MatMul bias Add");
                return NORMA_ERR_MEMORY;
            }
            p->out[0] = a->out[0];
            a->dead = 1;
            changed = 1;
            break;
        }
    }
    return pass_compact(g, changed, "fusing MatMul bias Adds", err, cap);
}
