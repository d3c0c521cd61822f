/*
 * A small harness for the elementwise / reduction / softmax op tests: builds one
 * ir_node by hand and runs its schema's init, infer and run like the runtime does,
 * with a chosen thread count (op_eval always uses one thread).
 */
#ifndef NORMA_EW_HARNESS_H
#define NORMA_EW_HARNESS_H

#include <stdlib.h>
#include <string.h>

#include "ops/eval.h"
#include "ops/op.h"

typedef struct ew_node {
    ir_node n;
    ir_attr attrs[8];
    int64_t ints[8][8];
    int in_idx[8], out_idx[1];
    char err[512];
} ew_node;

static inline void ew_init(ew_node *e, const char *op, int opset, int n_in)
{
    memset(e, 0, sizeof *e);
    e->n.name = (char *)"t";
    e->n.op_type = (char *)op;
    e->n.domain = (char *)"";
    e->n.n_in = n_in;
    e->n.n_out = 1;
    for (int i = 0; i < n_in; i++)
        e->in_idx[i] = i;
    e->n.in = e->in_idx;
    e->n.out = e->out_idx;
    e->n.attrs = e->attrs;
    e->n.opset = opset;
}

static inline void ew_attr_int(ew_node *e, const char *name, int64_t v)
{
    ir_attr *a = &e->attrs[e->n.n_attrs++];
    a->name = (char *)name;
    a->type = IR_ATTR_INT;
    a->i = v;
}

static inline void ew_attr_float(ew_node *e, const char *name, float v)
{
    ir_attr *a = &e->attrs[e->n.n_attrs++];
    a->name = (char *)name;
    a->type = IR_ATTR_FLOAT;
    a->f = v;
}

static inline void ew_attr_ints(ew_node *e, const char *name, const int64_t *v, int n)
{
    int k = e->n.n_attrs++;
    ir_attr *a = &e->attrs[k];
    a->name = (char *)name;
    a->type = IR_ATTR_INTS;
    memcpy(e->ints[k], v, sizeof(int64_t) * (size_t)n);
    a->ints = e->ints[k];
    a->n = (size_t)n;
}

/* A tensor view over caller-owned data. */
static inline ir_tensor ew_tensor(int dtype, int rank, const int64_t *dims, const void *data)
{
    ir_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.rank = rank;
    for (int i = 0; i < rank; i++)
        t.dims[i] = dims[i];
    t.data = (void *)data;
    return t;
}

/* Runs e on ins (NULL for omitted inputs) with `threads` threads. On success *out is a
 * new owned tensor (free with ir_tensor_free). Returns the status; message in e->err. */
static inline int ew_exec(ew_node *e, ir_tensor **ins, int threads, ir_tensor **out)
{
    const op_schema *s;
    *out = NULL;
    int rc = op_resolve(&e->n, &s, e->err, sizeof e->err);
    if (rc)
        return rc;
    ir_tensor shape;
    memset(&shape, 0, sizeof shape);
    ir_tensor *outs[1] = {&shape};
    op_ctx c = {.node = &e->n, .opset = e->n.opset, .n_in = e->n.n_in, .n_out = 1, .in = ins,
                .out = outs, .threads = threads, .err = e->err, .err_cap = sizeof e->err};
    if (s->init && (rc = s->init(&c)) != NORMA_OK)
        goto done;
    if ((rc = s->infer(&c)) != NORMA_OK)
        goto done;
    *out = ir_tensor_new(shape.dtype, shape.rank, shape.dims);
    if (!*out) {
        rc = NORMA_ERR_MEMORY;
        goto done;
    }
    outs[0] = *out;
    if (c.scratch_size)
        c.scratch = aligned_alloc(64, (c.scratch_size + 63) & ~(size_t)63);
    rc = s->run(&c);
    free(c.scratch);
done:
    if (c.state) {
        if (s->free_state)
            s->free_state(c.state);
        else
            free(c.state);
    }
    if (rc) {
        ir_tensor_free(*out);
        *out = NULL;
    }
    return rc;
}

#endif
