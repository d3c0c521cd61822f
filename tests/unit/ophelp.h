/*
 * A tiny harness for op tests: builds an ir_node with attributes by hand and drives
 * an op_schema (found with op_lookup) through init / infer / run like the runtime
 * does, allocating outputs and scratch. Header-only so each test file stays alone.
 */
#ifndef NORMA_OPHELP_H
#define NORMA_OPHELP_H

#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ops/op.h"

#define OH_MAX_ATTRS 16

typedef struct oh_node {
    ir_node node;
    ir_attr attrs[OH_MAX_ATTRS];
    int64_t ints[OH_MAX_ATTRS][12];
    char err[512];
} oh_node;

static inline void oh_init(oh_node *t, const char *op_type, int opset)
{
    memset(t, 0, sizeof *t);
    t->node.name = (char *)"n0";
    t->node.op_type = (char *)op_type;
    t->node.domain = (char *)"";
    t->node.opset = opset;
    t->node.attrs = t->attrs;
}

static inline void oh_int(oh_node *t, const char *name, int64_t v)
{
    ir_attr *a = &t->attrs[t->node.n_attrs++];
    a->name = (char *)name;
    a->type = IR_ATTR_INT;
    a->i = v;
}

static inline void oh_float(oh_node *t, const char *name, float v)
{
    ir_attr *a = &t->attrs[t->node.n_attrs++];
    a->name = (char *)name;
    a->type = IR_ATTR_FLOAT;
    a->f = v;
}

static inline void oh_str(oh_node *t, const char *name, const char *v)
{
    ir_attr *a = &t->attrs[t->node.n_attrs++];
    a->name = (char *)name;
    a->type = IR_ATTR_STRING;
    a->s = (char *)v;
    a->s_len = strlen(v);
}

static inline void oh_ints(oh_node *t, const char *name, int n, const int64_t *v)
{
    int k = t->node.n_attrs++;
    ir_attr *a = &t->attrs[k];
    a->name = (char *)name;
    a->type = IR_ATTR_INTS;
    a->n = (size_t)n;
    memcpy(t->ints[k], v, sizeof(int64_t) * (size_t)n);
    a->ints = t->ints[k];
}

/* A float tensor view over data (not owned). */
static inline ir_tensor oh_tensor(int rank, const int64_t *dims, const float *data)
{
    ir_tensor x;
    memset(&x, 0, sizeof x);
    x.dtype = NORMA_FLOAT;
    x.rank = rank;
    for (int i = 0; i < rank && i < IR_MAX_RANK; i++)
        x.dims[i] = dims[i];
    x.data = (void *)data;
    return x;
}

/*
 * Runs the op on in[0..n_in) (NULL entries are omitted inputs). Inputs whose bit is
 * set in const_mask are shown to init with their data (as initializers); the others
 * with shape only. On success out[k] are new tensors the caller frees. Returns the
 * status; the message is in t->err.
 */
static inline int oh_run(oh_node *t, int n_in, ir_tensor **in, int n_out, ir_tensor **out, unsigned const_mask,
                         int threads)
{
    int any;
    t->err[0] = 0;
    const op_schema *s = op_lookup("", t->node.op_type, t->node.opset, &any);
    if (!s)
        return -1;
    ir_tensor shape_only[16], outs[16], *init_in[16], *op_out[16];
    memset(outs, 0, sizeof outs);
    for (int i = 0; i < n_in; i++) {
        init_in[i] = in[i];
        if (in[i] && !(const_mask & (1u << i))) {
            shape_only[i] = *in[i];
            shape_only[i].data = NULL;
            init_in[i] = &shape_only[i];
        }
    }
    for (int k = 0; k < n_out; k++) {
        out[k] = NULL;
        op_out[k] = &outs[k];
    }
    t->node.n_in = n_in;
    t->node.n_out = n_out;
    op_ctx c = {.node = &t->node, .opset = t->node.opset, .n_in = n_in, .n_out = n_out, .in = init_in,
                .out = op_out, .threads = threads, .err = t->err, .err_cap = sizeof t->err};
    int rc = 0;
    if (n_in < s->min_in || n_in > s->max_in || n_out < s->min_out || n_out > s->max_out)
        return -2;
    if (s->init && (rc = s->init(&c)))
        goto done;
    c.in = in;
    if ((rc = s->infer(&c)))
        goto done;
    for (int k = 0; k < n_out; k++) {
        out[k] = ir_tensor_new(outs[k].dtype, outs[k].rank, outs[k].dims);
        if (!out[k]) {
            rc = NORMA_ERR_MEMORY;
            goto done;
        }
        op_out[k] = out[k];
    }
    if (c.scratch_size)
        c.scratch = aligned_alloc(64, (c.scratch_size + 63) & ~(size_t)63);
    if (c.scratch) /* NaN garbage: a kernel that reads scratch it did not write shows it */
        memset(c.scratch, 0xff, c.scratch_size);
    rc = s->run(&c);
    free(c.scratch);
done:
    if (c.state) {
        if (s->free_state)
            s->free_state(c.state);
        else
            free(c.state);
    }
    if (rc)
        for (int k = 0; k < n_out; k++) {
            ir_tensor_free(out[k]);
            out[k] = NULL;
        }
    return rc;
}

#endif
