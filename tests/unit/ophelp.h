/*
 * Compatibility names for the single-op harness, kept for test_conv.c, test_gemm.c and
 * test_pool.c (owned by other work in progress). New tests use optest.h directly.
 */
#ifndef NORMA_OPHELP_H
#define NORMA_OPHELP_H

#include "optest.h"

typedef ot_node oh_node;

static inline void oh_init(oh_node *t, const char *op_type, int opset)
{
    ot_init(t, op_type, opset, 0, 0);
}

#define oh_int ot_int
#define oh_float ot_float
#define oh_str ot_str
#define oh_run ot_run

static inline void oh_ints(oh_node *t, const char *name, int n, const int64_t *v)
{
    ot_ints(t, name, v, (size_t)n);
}

/* A float tensor view over data (not owned). */
static inline ir_tensor oh_tensor(int rank, const int64_t *dims, const float *data)
{
    return ot_view(NORMA_FLOAT, rank, dims, data);
}

#endif
