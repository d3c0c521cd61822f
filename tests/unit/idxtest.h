/* Helpers for the indexing-op tests (on top of optest.h): running only infer with
 * inputs whose data may be NULL (to see OP_NEEDS_DATA), freeing tensor arrays, and
 * small tensor builders. */
#ifndef NORMA_IDXTEST_H
#define NORMA_IDXTEST_H

#include <stdlib.h>

#include "optest.h"

/* Runs the node's infer on ins (data may be NULL); returns infer's answer. */
static inline int it_infer(ot_node *t, ir_tensor **ins)
{
    const op_schema *s;
    int rc = op_resolve(&t->n, &s, t->err, sizeof t->err);
    if (rc)
        return rc;
    ir_tensor shapes[8], *outp[8];
    memset(shapes, 0, sizeof shapes);
    for (int i = 0; i < 8; i++)
        outp[i] = &shapes[i];
    op_ctx c = {.node = &t->n, .opset = t->n.opset, .n_in = t->n.n_in, .n_out = t->n.n_out, .in = ins,
                .out = outp, .threads = 1, .err = t->err, .err_cap = sizeof t->err};
    rc = s->infer(&c);
    if (c.state) {
        if (s->free_state)
            s->free_state(c.state);
        else
            free(c.state);
    }
    return rc;
}

/* A shape-only view of t (data NULL), by value. */
static inline ir_tensor it_shape_only(const ir_tensor *t)
{
    ir_tensor v = *t;
    v.data = NULL;
    v.owns_data = 0;
    return v;
}

static inline void it_free(ir_tensor **ts, int n)
{
    for (int i = 0; i < n; i++) {
        ir_tensor_free(ts[i]);
        ts[i] = NULL;
    }
}

static inline ir_tensor *it_i64(int rank, const int64_t *dims, const int64_t *v)
{
    return ot_tensor(NORMA_INT64, rank, dims, v);
}

static inline ir_tensor *it_f32(int rank, const int64_t *dims, const float *v)
{
    return ot_tensor(NORMA_FLOAT, rank, dims, v);
}

/* A scalar (rank 0) int64 tensor. */
static inline ir_tensor *it_scalar(int64_t v)
{
    return ot_tensor(NORMA_INT64, 0, NULL, &v);
}

#endif
