/*
 * The plan: for one set of input shapes, infer every value's dtype and shape, evaluate
 * the shape arithmetic whose inputs are known (Shape -> Gather -> Concat -> Reshape),
 * and give every other intermediate tensor and every kernel's scratch an offset in one
 * arena, reusing space between tensors whose lifetimes do not overlap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/eval.h"
#include "runtime/runtime.h"

/* Outputs up to this many elements whose inputs are all known are computed once at plan
 * time instead of in every run (shape arithmetic, small constants). */
#define PLAN_EVAL_MAX_ELEMS 65536

#define ALIGN 64

void plan_free(plan *p)
{
    if (!p)
        return;
    free(p->in_dims);
    if (p->owned) {
        for (int i = 0; i < p->n_owned; i++)
            ir_tensor_free(p->owned[i]);
        free(p->owned);
    }
    free(p->vals);
    free(p->kind);
    free(p->offset);
    free(p->scratch_off);
    free(p->scratch_size);
    free(p->skip);
    free(p);
}

typedef struct block {
    size_t size, off;
    int first, last; /* node index range in which the block is live */
} block;

static int cmp_block_size(const void *a, const void *b)
{
    const block *x = *(const block *const *)a, *y = *(const block *const *)b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

/* Greedy by size: each block takes the lowest offset that does not collide with a
 * placed block whose lifetime overlaps. Returns the arena size, or SIZE_MAX on OOM. */
static size_t assign_offsets(block *b, int n)
{
    block **order = malloc(sizeof(block *) * (size_t)(n ? n : 1));
    block **placed = malloc(sizeof(block *) * (size_t)(n ? n : 1));
    if (!order || !placed) {
        free(order);
        free(placed);
        return SIZE_MAX;
    }
    for (int i = 0; i < n; i++)
        order[i] = &b[i];
    qsort(order, (size_t)n, sizeof(block *), cmp_block_size);
    size_t total = 0;
    int np = 0;
    for (int i = 0; i < n; i++) {
        block *x = order[i];
        size_t off = 0;
        int moved = 1;
        while (moved) {
            moved = 0;
            for (int k = 0; k < np; k++) {
                block *y = placed[k];
                if (y->last < x->first || x->last < y->first)
                    continue;
                if (off < y->off + y->size && y->off < off + x->size) {
                    off = (y->off + y->size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
                    moved = 1;
                }
            }
        }
        x->off = off;
        placed[np++] = x;
        if (off + x->size > total)
            total = off + x->size;
    }
    free(order);
    free(placed);
    return total;
}

int plan_build(norma_session *s, const int64_t *in_dims, plan **out, char *err, size_t cap)
{
    const ir_graph *g = s->g;
    int nv = g->n_values, nn = g->n_nodes;
    int rc = NORMA_ERR_MEMORY;
    block *blocks = NULL;
    int *last_use = NULL, *view_of = NULL;
    char *is_view = NULL;
    ir_tensor **ptrs = NULL;
    plan *p = calloc(1, sizeof(plan));
    if (!p)
        goto oom;
    p->refs = 1;
    p->in_dims = malloc(sizeof(int64_t) * IR_MAX_RANK * (size_t)(g->n_inputs ? g->n_inputs : 1));
    p->vals = calloc((size_t)(nv ? nv : 1), sizeof(ir_tensor));
    p->kind = malloc((size_t)(nv ? nv : 1));
    p->offset = calloc((size_t)(nv ? nv : 1), sizeof(size_t));
    p->owned = calloc((size_t)(nv ? nv : 1), sizeof(ir_tensor *));
    p->scratch_off = calloc((size_t)(nn ? nn : 1), sizeof(size_t));
    p->scratch_size = calloc((size_t)(nn ? nn : 1), sizeof(size_t));
    p->skip = calloc((size_t)(nn ? nn : 1), 1);
    last_use = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    view_of = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    is_view = calloc((size_t)(nn ? nn : 1), 1);
    ptrs = malloc(sizeof(ir_tensor *) * 64);
    if (!p->in_dims || !p->vals || !p->kind || !p->offset || !p->owned || !p->scratch_off ||
        !p->scratch_size || !p->skip || !last_use || !view_of || !is_view || !ptrs)
        goto oom;
    memcpy(p->in_dims, in_dims, sizeof(int64_t) * IR_MAX_RANK * (size_t)g->n_inputs);
    p->dyn_from = nn;
    /* Sequences and optionals in or out: everything runs at run time. */
    for (int i = 0; i < g->n_inputs + g->n_outputs; i++) {
        const ir_value *v = &g->values[i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs]];
        if (v->optional || v->dtype == IR_DTYPE_SEQUENCE)
            p->dyn_from = 0;
    }

    for (int v = 0; v < nv; v++) {
        const ir_value *val = &g->values[v];
        p->kind[v] = VK_NONE;
        if (val->constant) {
            p->vals[v] = *val->constant;
            p->vals[v].owns_data = 0;
            p->kind[v] = VK_CONST;
        }
    }
    for (int i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        p->vals[v].dtype = g->values[v].dtype;
        /* The row holds the run's dims, then -1: its rank, also for inputs the model
         * declares without a shape. */
        int rank = 0;
        while (rank < IR_MAX_RANK && in_dims[(size_t)i * IR_MAX_RANK + rank] >= 0)
            rank++;
        p->vals[v].rank = g->values[v].rank >= 0 ? g->values[v].rank : rank;
        memcpy(p->vals[v].dims, in_dims + (size_t)i * IR_MAX_RANK, sizeof(int64_t) * IR_MAX_RANK);
        p->kind[v] = VK_INPUT;
    }

    for (int j = p->dyn_from; j < nn; j++)
        for (int k = 0; k < g->nodes[j].n_out; k++)
            if (g->nodes[j].out[k] >= 0)
                p->kind[g->nodes[j].out[k]] = VK_DYN;

    /* Shape inference in node order, evaluating what is known. */
    for (int i = 0; i < p->dyn_from; i++) {
        const ir_node *n = &g->nodes[i];
        const op_schema *sc = s->nodes[i].schema;
        if (n->n_in + n->n_out > 64) {
            snprintf(err, cap, "%s '%s': more than 64 inputs and outputs", n->op_type, n->name);
            rc = NORMA_ERR_UNSUPPORTED;
            goto fail;
        }
        ir_tensor **ins = ptrs, **outs = ptrs + n->n_in;
        int all_known = 1;
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            ins[k] = v >= 0 ? &p->vals[v] : NULL;
            if (v >= 0 && p->kind[v] == VK_NONE) {
                snprintf(err, cap, "%s '%s': input '%s' has no value", n->op_type, n->name, g->values[v].name);
                rc = NORMA_ERR_MODEL;
                goto fail;
            }
            if (v >= 0 && !p->vals[v].data)
                all_known = 0;
        }
        if (sc->flags & OP_F_SHAPE_ONLY) /* Shape, Size: input shapes are known here */
            all_known = 1;
        for (int k = 0; k < n->n_out; k++)
            outs[k] = n->out[k] >= 0 ? &p->vals[n->out[k]] : NULL;
        op_ctx c = {.node = n, .opset = n->opset, .n_in = n->n_in, .n_out = n->n_out, .in = ins,
                    .out = outs, .state = s->nodes[i].state, .threads = 1, .err = err, .err_cap = cap};
        rc = sc->flags & OP_F_RUNTIME_OUTPUTS ? OP_NEEDS_DATA : sc->infer(&c);
        if (rc == OP_NEEDS_DATA && (!all_known || (sc->flags & OP_F_RUNTIME_OUTPUTS))) {
            /* An output shape depends on data computed at run time: from here on,
             * nodes are inferred and given memory when they run. */
            p->dyn_from = i;
            for (int j = i; j < nn; j++)
                for (int k = 0; k < g->nodes[j].n_out; k++)
                    if (g->nodes[j].out[k] >= 0)
                        p->kind[g->nodes[j].out[k]] = VK_DYN;
            break;
        }
        if (rc == OP_NEEDS_DATA) {
            snprintf(err, cap, "%s '%s': asked for input data that is known", n->op_type, n->name);
            rc = NORMA_ERR_RUNTIME;
        }
        if (!rc)
            rc = ir_check_attr_types(n, err, cap);
        if (rc)
            goto fail;
        p->scratch_size[i] = c.scratch_size;
        is_view[i] = (char)c.view;
        size_t out_elems = 0;
        for (int k = 0; k < n->n_out; k++) {
            if (!outs[k])
                continue;
            int ok;
            size_t ne = ir_numel_checked(outs[k]->rank, outs[k]->dims, &ok);
            if (!ok || ir_dtype_size(outs[k]->dtype) == 0 ||
                ne > s->memory_limit / ir_dtype_size(outs[k]->dtype)) {
                char shp[128];
                ir_shape_str(outs[k]->rank, outs[k]->dims, shp, sizeof shp);
                snprintf(err, cap, "%s '%s': output '%s' of shape %s %s is larger than the memory limit (%zu bytes)",
                         n->op_type, n->name, g->values[n->out[k]].name, shp, ir_dtype_name(outs[k]->dtype),
                         s->memory_limit);
                rc = NORMA_ERR_MEMORY;
                goto fail;
            }
            out_elems += ne;
            p->kind[n->out[k]] = VK_ARENA;
        }
        if (all_known && out_elems <= PLAN_EVAL_MAX_ELEMS) {
            ir_tensor *res[16] = {0};
            if (n->n_out > 16)
                continue;
            rc = op_eval(n, sc, ins, res, err, cap);
            if (rc)
                goto fail;
            for (int k = 0; k < n->n_out; k++) {
                if (!res[k])
                    continue;
                int v = n->out[k];
                p->owned[p->n_owned++] = res[k];
                p->vals[v] = *res[k];
                p->vals[v].owns_data = 0;
                p->kind[v] = VK_PLAN;
            }
            p->skip[i] = 1;
        }
    }

    /* Views: the output of a view (Reshape and the like, see op_ctx.view) shares its input's memory
     * when both live in the arena and neither is a graph output (the caller gets
     * each output as its own buffer). view_of[v] is the value whose block v uses. */
    for (int v = 0; v < nv; v++)
        view_of[v] = v;
    for (int i = 0; i < p->dyn_from; i++) {
        const ir_node *n = &g->nodes[i];
        if (p->skip[i] || !is_view[i] || n->n_in < 1 || n->n_out < 1)
            continue;
        int vi = n->in[0], vo = n->out[0];
        if (vi < 0 || vo < 0 || p->kind[vi] != VK_ARENA || p->kind[vo] != VK_ARENA || g->values[vi].is_output ||
            g->values[vo].is_output || p->vals[vi].dtype != p->vals[vo].dtype ||
            ir_tensor_nbytes(&p->vals[vi]) != ir_tensor_nbytes(&p->vals[vo]))
            continue;
        view_of[vo] = view_of[vi];
    }

    /* Lifetimes: a value lives from its producer to its last reader; outputs to the end. */
    for (int v = 0; v < nv; v++)
        last_use[v] = -1;
    for (int i = 0; i < nn; i++) {
        if (p->skip[i])
            continue;
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                last_use[n->in[k]] = i < p->dyn_from ? i : nn; /* run-time nodes: keep to the end */
    }
    for (int k = 0; k < g->n_outputs; k++)
        last_use[g->outputs[k]] = nn;
    blocks = calloc((size_t)(nv + nn + 1), sizeof(block));
    int nb = 0;
    int *block_of = (int *)calloc((size_t)(nv + nn + 1), sizeof(int));
    if (!blocks || !block_of) {
        free(block_of);
        goto oom;
    }
    for (int v = 0; v < nv; v++) {
        if (p->kind[v] != VK_ARENA || view_of[v] != v)
            continue;
        int prod = g->values[v].producer;
        size_t bytes = ir_tensor_nbytes(&p->vals[v]);
        blocks[nb].size = (bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
        blocks[nb].first = prod;
        blocks[nb].last = last_use[v] < prod ? prod : last_use[v];
        block_of[v] = nb++;
    }
    for (int v = 0; v < nv; v++) { /* a view keeps its base's block alive until its own last reader */
        if (p->kind[v] != VK_ARENA || view_of[v] == v)
            continue;
        block *b = &blocks[block_of[view_of[v]]];
        if (last_use[v] > b->last)
            b->last = last_use[v];
    }
    for (int i = 0; i < p->dyn_from; i++) {
        if (p->skip[i] || !p->scratch_size[i])
            continue;
        blocks[nb].size = (p->scratch_size[i] + ALIGN - 1) & ~(size_t)(ALIGN - 1);
        blocks[nb].first = blocks[nb].last = i;
        block_of[nv + i] = nb++;
    }
    p->arena_size = assign_offsets(blocks, nb);
    if (p->arena_size == SIZE_MAX) {
        free(block_of);
        goto oom;
    }
    if (p->arena_size > s->memory_limit) {
        free(block_of);
        snprintf(err, cap, "the model needs %zu bytes of tensors at these input shapes, above the memory limit of %zu",
                 p->arena_size, s->memory_limit);
        rc = NORMA_ERR_MEMORY;
        goto fail;
    }
    for (int v = 0; v < nv; v++)
        if (p->kind[v] == VK_ARENA)
            p->offset[v] = blocks[block_of[view_of[v]]].off;
    for (int i = 0; i < p->dyn_from; i++)
        if (!p->skip[i] && p->scratch_size[i])
            p->scratch_off[i] = blocks[block_of[nv + i]].off;
    free(block_of);
    free(blocks);
    free(last_use);
    free(view_of);
    free(is_view);
    free(ptrs);
    *out = p;
    return NORMA_OK;
oom:
    snprintf(err, cap, "out of memory while planning");
    rc = NORMA_ERR_MEMORY;
fail:
    plan_free(p);
    free(blocks);
    free(last_use);
    free(view_of);
    free(is_view);
    free(ptrs);
    return rc;
}
