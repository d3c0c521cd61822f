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
    if (n->n_in < s->min_in || n->n_in > s->max_in || n->n_out < s->min_out || n->n_out > s->max_out) {
        snprintf(err, cap, "%s '%s': has %d inputs and %d outputs; opset %d allows %d..%d inputs and %d..%d outputs",
                 n->op_type, n->name, n->n_in, n->n_out, s->since_version, s->min_in, s->max_in,
                 s->min_out, s->max_out);
        return NORMA_ERR_MODEL;
    }
    /* The first input is never optional (but for Scan-8's sequence_lens); ops read it
     * without checking. */
    if (s->min_in > 0 && n->in[0] < 0 && strcmp(n->op_type, "Scan") != 0) {
        snprintf(err, cap, "%s '%s': input 0 is required but is empty", n->op_type, n->name);
        return NORMA_ERR_MODEL;
    }
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
                .out = outp, .threads = 1, .err = err, .err_cap = cap};
    if (s->init && (rc = s->init(&c)) != NORMA_OK)
        return rc;
    if ((rc = s->infer(&c)) != NORMA_OK)
        goto out;
    for (int i = 0; i < n->n_out; i++) {
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
    free(c.scratch);
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
