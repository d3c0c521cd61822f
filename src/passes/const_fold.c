/*
 * Constant folding: a node whose inputs are all constants is evaluated once, now, with
 * op_eval, and its outputs become constants (owned tensors) that later nodes read.
 *
 * Guards:
 *   - every present input is a constant that the caller cannot override (a graph input
 *     with a default initializer is not constant);
 *   - the op is deterministic (no Random*, Multinomial, Bernoulli), has no subgraph
 *     and is not one whose outputs exist only at run time (sequences);
 *   - the outputs are not much larger than the inputs: a node producing more than
 *     CF_MAX_ELEMS elements, and more than it reads, is left to run (ConstantOfShape or
 *     Expand would otherwise inflate the model in memory);
 *   - a node that has no inputs is folded only when it is a Constant.
 * A node whose evaluation fails is left in place: the session reports the error with
 * the usual message when it plans the node.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/eval.h"
#include "passes/passes.h"

#define CF_MAX_ELEMS ((size_t)1 << 20)

static int is_nondeterministic(const ir_node *n)
{
    static const char *ops[] = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                "RandomUniformLike", "Multinomial", "Bernoulli", NULL};
    for (const char **p = ops; *p; p++)
        if (strcmp(n->op_type, *p) == 0)
            return 1;
    return 0;
}

static int has_subgraph(const ir_node *n)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].type == IR_ATTR_GRAPH || n->attrs[i].type == IR_ATTR_GRAPHS)
            return 1;
    return 0;
}

static int foldable(const ir_graph *g, const ir_node *n)
{
    if (n->dead || is_nondeterministic(n) || has_subgraph(n))
        return 0;
    int present = 0;
    for (int k = 0; k < n->n_in; k++) {
        int v = n->in[k];
        if (v < 0)
            continue;
        present++;
        if (!pass_is_initializer(g, v))
            return 0;
    }
    if (!present && strcmp(n->op_type, "Constant") != 0)
        return 0;
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && g->values[n->out[k]].is_input)
            return 0;
    return 1;
}

/* Infers the output shapes (init + infer) to check the size guard before running. */
static int small_enough(const ir_graph *g, const ir_node *n, const op_schema *s, ir_tensor **ins)
{
    ir_tensor shapes[16];
    ir_tensor *outp[16];
    char err[256];
    if (n->n_out > 16)
        return 0;
    memset(shapes, 0, sizeof shapes);
    for (int k = 0; k < n->n_out; k++)
        outp[k] = n->out[k] >= 0 ? &shapes[k] : NULL;
    op_ctx c = {.node = n, .opset = n->opset, .n_in = n->n_in, .n_out = n->n_out, .in = ins,
                .out = outp, .threads = 1, .err = err, .err_cap = sizeof err};
    int rc = s->init ? s->init(&c) : NORMA_OK;
    if (!rc)
        rc = s->infer(&c);
    if (c.state) {
        if (s->free_state)
            s->free_state(c.state);
        else
            free(c.state);
    }
    if (rc)
        return 0;
    size_t in_elems = 0, out_elems = 0;
    for (int k = 0; k < n->n_in; k++)
        if (ins[k])
            in_elems += ir_tensor_numel(ins[k]);
    for (int k = 0; k < n->n_out; k++) {
        if (!outp[k])
            continue;
        int ok;
        size_t ne = ir_numel_checked(shapes[k].rank, shapes[k].dims, &ok);
        if (!ok)
            return 0;
        out_elems += ne;
    }
    (void)g;
    return !(out_elems > CF_MAX_ELEMS && out_elems > in_elems);
}

/* Moves the folded output `out` into the storage of an input that only this node reads
 * (owned, or the loader's writable copy) and of the same size: a folded Transpose of a
 * weight then lives where the weight was instead of in a second, freshly touched copy,
 * and the output's own buffer goes back at once for the next fold to reuse. */
static void reuse_input_storage(ir_graph *g, const ir_node *n, ir_tensor *out, int *taken)
{
    if (!out)
        return;
    size_t bytes = ir_tensor_nbytes(out);
    if (!out->owns_data || !out->data || bytes < ((size_t)64 << 10) ||
        out->dtype == IR_DTYPE_SEQUENCE || out->dtype == IR_DTYPE_NONE)
        return;
    for (int k = 0; k < n->n_in && k < 64; k++) {
        int v = n->in[k];
        if (v < 0 || taken[k])
            continue;
        const ir_value *val = &g->values[v];
        ir_tensor *in = val->constant;
        if (!in || !ir_tensor_writable(in) || val->is_output || val->is_input ||
            ir_tensor_nbytes(in) != bytes || (uintptr_t)in->data % ir_dtype_size(out->dtype) != 0 ||
            ir_consumer_count(g, v) != 1)
            continue;
        memcpy(in->data, out->data, bytes);
        if (out->owns_data == 2)
            ir_big_free(out->data);
        else
            free(out->data);
        out->data = in->data;
        out->owns_data = in->owns_data;
        out->mutable_data = in->mutable_data;
        in->owns_data = 0;
        in->mutable_data = 0;
        taken[k] = 1;
        return;
    }
}

int pass_const_fold(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (!foldable(g, n) || n->n_in > 64 || n->n_out > 16)
            continue;
        const op_schema *s;
        char e[256];
        if (op_resolve(n, &s, e, sizeof e) || (s->flags & OP_F_RUNTIME_OUTPUTS))
            continue;
        ir_tensor *ins[64];
        for (int k = 0; k < n->n_in; k++)
            ins[k] = n->in[k] >= 0 ? g->values[n->in[k]].constant : NULL;
        if (!small_enough(g, n, s, ins))
            continue;
        ir_tensor *outs[16] = {0};
        if (op_eval(n, s, ins, outs, e, sizeof e))
            continue;
        int taken[64] = {0};
        for (int k = 0; k < n->n_out; k++) {
            if (n->out[k] < 0)
                continue;
            reuse_input_storage(g, n, outs[k], taken);
            ir_value *v = &g->values[n->out[k]];
            ir_tensor_free(v->constant);
            v->constant = outs[k];
            v->dtype = outs[k]->dtype;
            v->rank = outs[k]->rank;
            for (int d = 0; d < v->rank; d++)
                v->dims[d] = outs[k]->dims[d];
            v->producer = -1;
        }
        n->dead = 1;
        changed = 1;
    }
    return pass_compact(g, changed, "folding constants", err, cap);
}
