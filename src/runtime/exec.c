/*
 * Run contexts and execution. A run context belongs to one thread: it holds the arena
 * for one plan and the tensors that point into it, built once per plan so that a run
 * allocates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

void ctx_free(run_ctx *ctx)
{
    if (!ctx)
        return;
    free(ctx->arena);
    free(ctx->vals);
    free(ctx->ptrs);
    free(ctx->ops);
    free(ctx);
}

int ctx_bind(norma_session *s, run_ctx *ctx, plan *p, char *err, size_t cap)
{
    const ir_graph *g = s->g;
    int nv = g->n_values, nn = g->n_nodes;
    if (!ctx->vals) {
        size_t nptr = 0;
        for (int i = 0; i < nn; i++)
            nptr += (size_t)(g->nodes[i].n_in + g->nodes[i].n_out);
        ctx->vals = calloc((size_t)(nv ? nv : 1), sizeof(ir_tensor));
        ctx->ptrs = calloc(nptr ? nptr : 1, sizeof(ir_tensor *));
        ctx->ops = calloc((size_t)(nn ? nn : 1), sizeof(op_ctx));
        if (!ctx->vals || !ctx->ptrs || !ctx->ops) {
            snprintf(err, cap, "out of memory creating a run context");
            return NORMA_ERR_MEMORY;
        }
    }
    if (p->arena_size > ctx->arena_cap || !ctx->arena) {
        free(ctx->arena);
        ctx->arena_cap = 0;
        size_t size = (p->arena_size + 63) & ~(size_t)63;
        ctx->arena = aligned_alloc(64, size ? size : 64);
        if (!ctx->arena) {
            snprintf(err, cap, "cannot allocate %zu bytes of tensor memory", p->arena_size);
            return NORMA_ERR_MEMORY;
        }
        ctx->arena_cap = size;
    }
    for (int v = 0; v < nv; v++) {
        ctx->vals[v] = p->vals[v];
        if (p->kind[v] == VK_ARENA)
            ctx->vals[v].data = ctx->arena + p->offset[v];
    }
    int threads = s->opt.threads;
    size_t k = 0;
    for (int i = 0; i < nn; i++) {
        const ir_node *n = &g->nodes[i];
        op_ctx *c = &ctx->ops[i];
        c->node = n;
        c->opset = n->opset;
        c->n_in = n->n_in;
        c->n_out = n->n_out;
        c->in = ctx->ptrs + k;
        for (int j = 0; j < n->n_in; j++)
            ctx->ptrs[k++] = n->in[j] >= 0 ? &ctx->vals[n->in[j]] : NULL;
        c->out = ctx->ptrs + k;
        for (int j = 0; j < n->n_out; j++)
            ctx->ptrs[k++] = n->out[j] >= 0 ? &ctx->vals[n->out[j]] : NULL;
        c->state = s->nodes[i].state;
        c->scratch = p->scratch_size[i] ? ctx->arena + p->scratch_off[i] : NULL;
        c->scratch_size = p->scratch_size[i];
        c->threads = threads;
        c->err = ctx->err;
        c->err_cap = sizeof ctx->err;
    }
    ctx->p = p;
    return NORMA_OK;
}

int ctx_execute(norma_session *s, run_ctx *ctx)
{
    const plan *p = ctx->p;
    for (int i = 0; i < s->g->n_nodes; i++) {
        if (p->skip[i])
            continue;
        int rc = s->nodes[i].schema->run(&ctx->ops[i]);
        if (rc)
            return rc;
    }
    return NORMA_OK;
}
