/*
 * Run contexts and execution. A run context belongs to one thread: it holds the arena
 * for one plan and the tensors that point into it, built once per plan so that a run
 * allocates nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/runtime.h"

void ctx_free(run_ctx *ctx)
{
    if (!ctx)
        return;
    ir_big_free(ctx->arena);
    free(ctx->vals);
    free(ctx->ptrs);
    free(ctx->ops);
    for (int v = 0; v < ctx->n_values; v++) {
        free(ctx->dyn_data[v]);
        ir_tensor_free(ctx->dyn_owned[v]);
    }
    free(ctx->dyn_owned);
    for (int i = 0; i < ctx->n_inputs; i++)
        ir_tensor_free(ctx->in_values[i]);
    for (int i = 0; i < ctx->n_outputs; i++)
        free(ctx->out_items[i]);
    free(ctx->in_values);
    free(ctx->out_items);
    free(ctx->out_items_cap);
    free(ctx->node_ms);
    free(ctx->node_calls);
    free(ctx->dyn_data);
    free(ctx->dyn_cap);
    free(ctx->dyn_scratch);
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
        ctx->dyn_data = calloc((size_t)(nv ? nv : 1), sizeof(void *));
        ctx->dyn_cap = calloc((size_t)(nv ? nv : 1), sizeof(size_t));
        ctx->dyn_owned = calloc((size_t)(nv ? nv : 1), sizeof(ir_tensor *));
        ctx->in_values = calloc((size_t)g->n_inputs + 1, sizeof(ir_tensor *));
        ctx->out_items = calloc((size_t)g->n_outputs + 1, sizeof(norma_tensor *));
        ctx->out_items_cap = calloc((size_t)g->n_outputs + 1, sizeof(int));
        if (!ctx->vals || !ctx->ptrs || !ctx->ops || !ctx->dyn_data || !ctx->dyn_cap || !ctx->dyn_owned ||
            !ctx->in_values || !ctx->out_items || !ctx->out_items_cap) {
            snprintf(err, cap, "out of memory creating a run context");
            return NORMA_ERR_MEMORY;
        }
        ctx->n_values = nv;
        if (s->opt.profile) {
            ctx->node_ms = calloc((size_t)(nn ? nn : 1), sizeof(double));
            ctx->node_calls = calloc((size_t)(nn ? nn : 1), sizeof(long long));
            if (!ctx->node_ms || !ctx->node_calls) {
                snprintf(err, cap, "out of memory creating a run context");
                return NORMA_ERR_MEMORY;
            }
        }
        ctx->n_inputs = g->n_inputs;
        ctx->n_outputs = g->n_outputs;
    }
    if (p->arena_size > ctx->arena_cap || !ctx->arena) {
        ir_big_free(ctx->arena);
        ctx->arena_cap = 0;
        size_t size = (p->arena_size + 63) & ~(size_t)63;
        /* big arenas are huge pages: a fault per 2 MB on the first run, fewer TLB misses */
        ctx->arena = ir_big_alloc(size ? size : 64);
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
        c->scratch = i < p->dyn_from && p->scratch_size[i] ? ctx->arena + p->scratch_off[i] : NULL;
        c->scratch_size = p->scratch_size[i];
        c->threads = threads;
        c->err = ctx->err;
        c->err_cap = sizeof ctx->err;
    }
    ctx->p = p;
    return NORMA_OK;
}

/* Grows *buf to at least size bytes (64-byte aligned); old contents are dropped. */
static int grow(void **buf, size_t *cap, size_t size)
{
    if (size <= *cap && *buf)
        return 0;
    size_t want = (size + 63) & ~(size_t)63;
    void *b = aligned_alloc(64, want ? want : 64);
    if (!b)
        return -1;
    free(*buf);
    *buf = b;
    *cap = want;
    return 0;
}

/* op_set_output for nodes run at run time: the context keeps the value until the
 * node runs again (outputs are lent to the caller until the next run). */
static int ctx_set_output(op_ctx *c, int k, ir_tensor *t)
{
    run_ctx *ctx = c->set_output_arg;
    int v = k >= 0 && k < c->n_out && c->out[k] ? c->node->out[k] : -1;
    if (v < 0) {
        ir_tensor_free(t);
        return op_fail(c, NORMA_ERR_RUNTIME, "output %d is not wanted", k);
    }
    ir_tensor_free(ctx->dyn_owned[v]);
    ctx->dyn_owned[v] = t;
    *c->out[k] = *t;
    c->out[k]->owns_data = 0;
    return NORMA_OK;
}

/* A node after a data-dependent shape: infer now that its inputs hold data, then give
 * its outputs and scratch this context's buffers, grown when too small. */
static int run_dynamic(norma_session *s, run_ctx *ctx, int i)
{
    const ir_graph *g = s->g;
    const ir_node *n = &g->nodes[i];
    const op_schema *sc = s->nodes[i].schema;
    op_ctx *c = &ctx->ops[i];
    c->scratch = NULL;
    c->scratch_size = 0;
    c->set_output = ctx_set_output;
    c->set_output_arg = ctx;
    for (int k = 0; k < n->n_out; k++)
        if (c->out[k])
            c->out[k]->data = NULL;
    int value_outputs = (sc->flags & OP_F_RUNTIME_OUTPUTS) != 0;
    for (int k = 0; k < n->n_in; k++) {
        const ir_tensor *t = c->in[k];
        if (t && (t->dtype == IR_DTYPE_SEQUENCE || t->dtype == IR_DTYPE_NONE)) {
            if (!(sc->flags & (OP_F_ANY_VALUE | OP_F_RUNTIME_OUTPUTS)))
                return op_fail(c, NORMA_ERR_MODEL, "input %d is a %s, not a tensor", k, ir_dtype_name(t->dtype));
            value_outputs = 1;
        }
    }
    int rc = sc->infer(c);
    if (rc == OP_NEEDS_DATA)
        return op_fail(c, NORMA_ERR_RUNTIME, "an input's data is missing at run time");
    if (!rc)
        rc = ir_check_attr_types(n, ctx->err, sizeof ctx->err);
    if (rc)
        return rc;
    for (int k = 0; k < n->n_out && !value_outputs; k++) {
        ir_tensor *t = c->out[k];
        if (!t)
            continue;
        int ok;
        size_t ne = ir_numel_checked(t->rank, t->dims, &ok);
        size_t es = ir_dtype_size(t->dtype);
        if (!ok || !es || ne > s->memory_limit / es) {
            char shp[128];
            ir_shape_str(t->rank, t->dims, shp, sizeof shp);
            return op_fail(c, NORMA_ERR_MEMORY, "output '%s' of shape %s is larger than the memory limit (%zu bytes)",
                           g->values[n->out[k]].name, shp, s->memory_limit);
        }
        int v = n->out[k];
        if (grow(&ctx->dyn_data[v], &ctx->dyn_cap[v], ne * es))
            return op_fail(c, NORMA_ERR_MEMORY, "cannot allocate %zu bytes for output '%s'", ne * es,
                           g->values[v].name);
        t->data = ctx->dyn_data[v];
    }
    if (c->scratch_size) {
        if (c->scratch_size > s->memory_limit ||
            grow(&ctx->dyn_scratch, &ctx->dyn_scratch_cap, c->scratch_size))
            return op_fail(c, NORMA_ERR_MEMORY, "cannot allocate %zu bytes of scratch", c->scratch_size);
        c->scratch = ctx->dyn_scratch;
    }
    if ((rc = sc->run(c)))
        return rc;
    for (int k = 0; k < n->n_out && value_outputs; k++)
        if (c->out[k] && !ctx->dyn_owned[n->out[k]] && c->out[k]->dtype != IR_DTYPE_NONE)
            return op_fail(c, NORMA_ERR_RUNTIME, "output %d was not produced", k);
    return NORMA_OK;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

int ctx_execute(norma_session *s, run_ctx *ctx)
{
    const plan *p = ctx->p;
    for (int i = 0; i < s->g->n_nodes; i++) {
        int rc;
        if (i < p->dyn_from && p->skip[i])
            continue;
        double t0 = ctx->node_ms ? now_ms() : 0;
        if (i >= p->dyn_from)
            rc = run_dynamic(s, ctx, i);
        else
            rc = s->nodes[i].schema->run(&ctx->ops[i]);
        if (ctx->node_ms) {
            ctx->node_ms[i] += now_ms() - t0;
            ctx->node_calls[i]++;
        }
        if (!rc && s->g->nodes[i].bad_attr) /* an attribute an op reads only in run had the wrong type */
            rc = ir_check_attr_types(&s->g->nodes[i], ctx->err, sizeof ctx->err);
        if (rc)
            return rc;
    }
    return NORMA_OK;
}
