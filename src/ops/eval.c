/* One-off evaluation of a node (see eval.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/eval.h"

int op_resolve(const ir_node *n, const op_schema **out, char *err, size_t cap)
{
    int any;
    const op_schema *s = op_lookup(n->domain, n->op_type, n->opset, &any);
    *out = s;
    if (!s) {
        snprintf(err, cap, "%s '%s': %s%s%s is not supported at opset %d", n->op_type, n->name,
                 n->domain[0] ? n->domain : "", n->domain[0] ? "." : "", n->op_type, n->opset);
        return NORMA_ERR_UNSUPPORTED;
    }
    int n_in = n->n_in - n->n_outer;
    if (n_in < s->min_in || n_in > s->max_in || n->n_out < s->min_out || n->n_out > s->max_out) {
        snprintf(err, cap, "%s '%s': has %d inputs and %d outputs; opset %d allows %d..%d inputs and %d..%d outputs",
                 n->op_type, n->name, n_in, n->n_out, s->since_version, s->min_in, s->max_in,
                 s->min_out, s->max_out);
        return NORMA_ERR_MODEL;
    }
    /* The inputs below the schema's minimum are required unless the schema says
     * otherwise; ops read them without checking. */
    for (int k = 0; k < s->min_in && k < n->n_in; k++) {
        if (n->in[k] >= 0 || (k == 0 && (s->flags & OP_F_FIRST_INPUT_OPTIONAL)) ||
            (k > 0 && (s->flags & OP_F_EMPTY_INPUTS)))
            continue;
        snprintf(err, cap, "%s '%s': input %d is required but is empty", n->op_type, n->name, k);
        return NORMA_ERR_MODEL;
    }
    /* Likewise the outputs: infer sets the shapes of those below the minimum. */
    for (int k = 0; k < s->min_out && k < n->n_out; k++) {
        if (n->out[k] >= 0 || (s->flags & OP_F_EMPTY_OUTPUTS))
            continue;
        snprintf(err, cap, "%s '%s': output %d is required but is empty", n->op_type, n->name, k);
        return NORMA_ERR_MODEL;
    }
    return NORMA_OK;
}

static int eval_set_output(op_ctx *c, int k, ir_tensor *t)
{
    ir_tensor **outs = c->set_output_arg;
    if (k < 0 || k >= c->n_out || !c->out[k]) {
        ir_tensor_free(t);
        return op_fail(c, NORMA_ERR_RUNTIME, "output %d is not wanted", k);
    }
    ir_tensor_free(outs[k]);
    outs[k] = t;
    c->out[k] = t;
    return NORMA_OK;
}

int op_eval(const ir_node *n, const op_schema *s, ir_tensor **ins, ir_tensor **outs, char *err, size_t cap)
{
    ir_tensor shapes[16];
    ir_tensor *outp[16];
    int rc = NORMA_OK;
    if (n->n_out > 16) {
        snprintf(err, cap, "%s '%s': too many outputs to evaluate", n->op_type, n->name);
        return NORMA_ERR_UNSUPPORTED;
    }
    memset(shapes, 0, sizeof shapes);
    for (int i = 0; i < n->n_out; i++) {
        outs[i] = NULL;
        outp[i] = n->out[i] >= 0 ? &shapes[i] : NULL;
    }
    op_ctx c = {.node = n, .opset = n->opset, .n_in = n->n_in, .n_out = n->n_out, .in = ins,
                .out = outp, .threads = 1, .err = err, .err_cap = cap,
                .set_output = eval_set_output, .set_output_arg = outs};
    int value_outputs = (s->flags & OP_F_RUNTIME_OUTPUTS) != 0;
    for (int k = 0; k < n->n_in; k++) {
        if (ins[k] && (ins[k]->dtype == IR_DTYPE_SEQUENCE || ins[k]->dtype == IR_DTYPE_NONE)) {
            if (!(s->flags & (OP_F_ANY_VALUE | OP_F_RUNTIME_OUTPUTS))) {
                snprintf(err, cap, "%s '%s': input %d is a %s, not a tensor", n->op_type, n->name, k,
                         ir_dtype_name(ins[k]->dtype));
                return NORMA_ERR_MODEL;
            }
            value_outputs = 1;
        }
    }
    if (s->init && (rc = s->init(&c)) != NORMA_OK)
        return rc;
    if ((rc = s->infer(&c)) != NORMA_OK)
        goto out;
    for (int i = 0; i < n->n_out && !value_outputs; i++) {
        if (!outp[i])
            continue;
        outs[i] = ir_tensor_new(shapes[i].dtype, shapes[i].rank, shapes[i].dims);
        if (!outs[i]) {
            rc = NORMA_ERR_MEMORY;
            snprintf(err, cap, "%s '%s': cannot allocate output %d", n->op_type, n->name, i);
            goto out;
        }
        outp[i] = outs[i];
    }
    if (c.scratch_size) {
        c.scratch = aligned_alloc(64, (c.scratch_size + 63) & ~(size_t)63);
        if (!c.scratch) {
            rc = NORMA_ERR_MEMORY;
            goto out;
        }
    }
    rc = s->run(&c);
    if (!rc)
        rc = ir_check_attr_types(n, err, cap); /* an attribute read only in run */
    free(c.scratch);
    for (int i = 0; i < n->n_out && !rc; i++)
        if (n->out[i] >= 0 && !outs[i] && shapes[i].dtype != IR_DTYPE_NONE)
            rc = op_fail(&c, NORMA_ERR_RUNTIME, "output %d was not produced", i);
out:
    if (c.state) {
        if (s->free_state)
            s->free_state(c.state);
        else
            free(c.state);
    }
    if (rc)
        for (int i = 0; i < n->n_out; i++) {
            ir_tensor_free(outs[i]);
            outs[i] = NULL;
        }
    return rc;
}

int op_eval_graph(const ir_graph *g, ir_tensor *const *ins, ir_tensor *const *outer, ir_tensor **outs,
                  char *err, size_t cap)
{
    int nv = g->n_values, rc = NORMA_OK;
    ir_tensor **vals = calloc((size_t)(nv ? nv : 1), sizeof(ir_tensor *));
    ir_tensor **own = calloc((size_t)(nv ? nv : 1), sizeof(ir_tensor *));
    ir_tensor **args = NULL;
    for (int k = 0; k < g->n_outputs; k++)
        outs[k] = NULL;
    if (!vals || !own)
        goto oom;
    for (int v = 0; v < nv; v++)
        vals[v] = g->values[v].constant;
    for (int i = 0; i < g->n_inputs; i++)
        vals[g->inputs[i]] = ins[i];
    for (int j = 0; j < g->n_outer; j++)
        vals[g->outer[j]] = outer[g->outer_slot[j]];
    for (int i = 0; i < g->n_nodes && !rc; i++) {
        const ir_node *n = &g->nodes[i];
        const op_schema *s;
        if ((rc = op_resolve(n, &s, err, cap)))
            break;
        free(args);
        args = calloc((size_t)(n->n_in + n->n_out + 1), sizeof(ir_tensor *));
        if (!args)
            goto oom;
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v >= 0 && !vals[v]) {
                snprintf(err, cap, "%s '%s': input '%s' has no value", n->op_type, n->name, g->values[v].name);
                rc = NORMA_ERR_MODEL;
                break;
            }
            args[k] = v >= 0 ? vals[v] : NULL;
        }
        if (rc || (rc = op_eval(n, s, args, args + n->n_in, err, cap)))
            break;
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0)
                continue;
            ir_tensor_free(own[v]);
            own[v] = vals[v] = args[n->n_in + k];
        }
    }
    for (int k = 0; k < g->n_outputs && !rc; k++) {
        int v = g->outputs[k];
        if (!vals[v]) {
            snprintf(err, cap, "subgraph '%s': output '%s' has no value", g->name, g->values[v].name);
            rc = NORMA_ERR_MODEL;
            break;
        }
        outs[k] = ir_value_clone(vals[v]);
        if (!outs[k])
            goto oom;
    }
    goto done;
oom:
    snprintf(err, cap, "out of memory running subgraph '%s'", g->name);
    rc = NORMA_ERR_MEMORY;
done:
    if (own)
        for (int v = 0; v < nv; v++)
            ir_tensor_free(own[v]);
    free(own);
    free(vals);
    free(args);
    if (rc)
        for (int k = 0; k < g->n_outputs; k++) {
            ir_tensor_free(outs[k]);
            outs[k] = NULL;
        }
    return rc;
}
