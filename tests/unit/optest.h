/* A tiny harness for op tests: builds one ir_node with attributes and evaluates it
 * through the registry (op_resolve + op_eval), as the planner does. */
#ifndef NORMA_OPTEST_H
#define NORMA_OPTEST_H

#include <string.h>

#include "ops/eval.h"

typedef struct ot_node {
    ir_node n;
    ir_attr attrs[8];
    int in[8], out[8];
    char err[512];
} ot_node;

static inline void ot_init(ot_node *t, const char *op, int opset, int n_in, int n_out)
{
    memset(t, 0, sizeof *t);
    t->n.name = (char *)"n0";
    t->n.op_type = (char *)op;
    t->n.domain = (char *)"";
    t->n.opset = opset;
    t->n.n_in = n_in;
    t->n.n_out = n_out;
    t->n.in = t->in;
    t->n.out = t->out;
    t->n.attrs = t->attrs;
    for (int i = 0; i < 8; i++)
        t->in[i] = t->out[i] = i;
}

static inline void ot_int(ot_node *t, const char *name, int64_t v)
{
    ir_attr *a = &t->attrs[t->n.n_attrs++];
    a->name = (char *)name;
    a->type = IR_ATTR_INT;
    a->i = v;
}

static inline void ot_ints(ot_node *t, const char *name, const int64_t *v, size_t n)
{
    ir_attr *a = &t->attrs[t->n.n_attrs++];
    a->name = (char *)name;
    a->type = IR_ATTR_INTS;
    a->ints = (int64_t *)v;
    a->n = n;
}

static inline void ot_str(ot_node *t, const char *name, const char *s)
{
    ir_attr *a = &t->attrs[t->n.n_attrs++];
    a->name = (char *)name;
    a->type = IR_ATTR_STRING;
    a->s = (char *)s;
    a->s_len = strlen(s);
}

/* Evaluates the node; returns the status (message in t->err). */
static inline int ot_eval(ot_node *t, ir_tensor **ins, ir_tensor **outs)
{
    const op_schema *s;
    int rc = op_resolve(&t->n, &s, t->err, sizeof t->err);
    if (rc)
        return rc;
    return op_eval(&t->n, s, ins, outs, t->err, sizeof t->err);
}

/* A tensor of the given shape holding a copy of data (or zeros when data is NULL). */
static inline ir_tensor *ot_tensor(int dtype, int rank, const int64_t *dims, const void *data)
{
    ir_tensor *x = ir_tensor_new(dtype, rank, dims);
    if (x && data)
        memcpy(x->data, data, ir_tensor_nbytes(x));
    return x;
}

#endif
