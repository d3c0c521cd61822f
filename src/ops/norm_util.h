/*
 * Attribute and input checks shared by the normalization ops (GroupNormalization,
 * InstanceNormalization, LRN, LayerNormalization / RMSNormalization), so that they
 * validate, and word their errors, the same way.
 */
#ifndef NORMA_OP_NORM_UTIL_H
#define NORMA_OP_NORM_UTIL_H

#include "ops/op.h"

/* The "epsilon" attribute (default 1e-5) must be >= 0 (NORMA_ERR_MODEL). With
 * stash, "stash_type" must be 1 (NORMA_ERR_UNSUPPORTED): the statistics are float32. */
static inline int norm_check_eps(op_ctx *c, int stash)
{
    float eps = ir_attr_float(c->node, "epsilon", 1e-5f);
    if (!(eps >= 0))
        return op_fail(c, NORMA_ERR_MODEL, "epsilon %g must be >= 0", (double)eps);
    int64_t st = stash ? ir_attr_int(c->node, "stash_type", 1) : 1;
    if (st != 1)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "stash_type %lld is not supported (only 1, float)",
                       (long long)st);
    return NORMA_OK;
}

/* Inputs 0..n_f32-1 are float32; input 0 (called name, laid out as layout) has rank
 * >= min_rank and a valid element count. NORMA_OK or the op_fail status. */
static inline int norm_check_x(op_ctx *c, int n_f32, const char *name, const char *layout, int min_rank)
{
    static const int f32[] = {NORMA_FLOAT, 0};
    for (int i = 0; i < n_f32; i++) {
        int rc = op_check_dtype(c, i, f32);
        if (rc)
            return rc;
    }
    const ir_tensor *x = c->in[0];
    char s[128];
    ir_shape_str(x->rank, x->dims, s, sizeof s);
    if (x->rank < min_rank)
        return op_fail(c, NORMA_ERR_SHAPE, "%s has shape %s; expected %s of rank >= %d", name, s, layout,
                       min_rank);
    int ok;
    ir_numel_checked(x->rank, x->dims, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "%s shape %s has a negative dimension or is too large", name, s);
    return NORMA_OK;
}

#endif
