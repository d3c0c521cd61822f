/*
 * Small helpers shared by the indexing ops (argmax.c, cumsum.c, trilu.c, scatter.c,
 * onehot.c, space_depth.c, reverse_sequence.c, topk.c, select.c): reading index
 * tensors and checking an index read from data against its bound.
 */
#ifndef NORMA_OPS_INDEX_UTIL_H
#define NORMA_OPS_INDEX_UTIL_H

#include "ops/op.h"

/* Element i of an int32 or int64 tensor. */
static inline int64_t ix_at(const ir_tensor *t, size_t i)
{
    return t->dtype == NORMA_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

/* Input i must be int32 or int64 (an index tensor). */
static inline int ix_check_index_input(op_ctx *c, int i)
{
    static const int ok[] = {NORMA_INT32, NORMA_INT64, 0};
    return op_check_dtype(c, i, ok);
}

/* Normalizes index v (negative counts from the end) against dim into *out; on an
 * out-of-range value fails with NORMA_ERR_RUNTIME naming what and where. */
static inline int ix_norm(op_ctx *c, int64_t v, int64_t dim, const char *what, size_t pos, int64_t *out)
{
    if (v < -dim || v >= dim)
        return op_fail(c, NORMA_ERR_RUNTIME, "%s %lld at position %zu is out of range [%lld, %lld]", what,
                       (long long)v, pos, (long long)-dim, (long long)(dim - 1));
    *out = v < 0 ? v + dim : v;
    return NORMA_OK;
}

/* Product of dims[from..to) as size_t (shapes were checked by infer). */
static inline size_t ix_prod(const int64_t *dims, int from, int to)
{
    size_t p = 1;
    for (int i = from; i < to; i++)
        p *= (size_t)dims[i];
    return p;
}

#endif
