/*
 * The broadcasting loop shared by the elementwise ops with two or three operands
 * (binary.c: Add..Pow, Max/Min/Sum/Mean; compare.c: comparisons, BitShift, Mod, Where).
 * See bcast.h.
 */
#include "ops/bcast.h"

#include <string.h>

/* Output dims with each operand's strides, merged into as few dims as possible. */
typedef struct bcast_iter {
    int r, nop;
    int64_t dims[IR_MAX_RANK], s[3][IR_MAX_RANK];
} bcast_iter;

static void collapse(int nop, const ir_tensor *const *ops, const ir_tensor *y, bcast_iter *it)
{
    int64_t f[3][IR_MAX_RANK], d[IR_MAX_RANK], x[3][IR_MAX_RANK];
    for (int k = 0; k < nop; k++)
        op_broadcast_strides(ops[k], y->rank, y->dims, f[k]);
    int n = 0; /* built innermost first */
    for (int i = y->rank - 1; i >= 0; i--) {
        if (y->dims[i] == 1)
            continue;
        int merge = n > 0;
        for (int k = 0; k < nop && merge; k++)
            merge = f[k][i] == x[k][n - 1] * d[n - 1];
        if (merge) {
            d[n - 1] *= y->dims[i];
            continue;
        }
        d[n] = y->dims[i];
        for (int k = 0; k < nop; k++)
            x[k][n] = f[k][i];
        n++;
    }
    if (n == 0) {
        d[0] = 1;
        for (int k = 0; k < nop; k++)
            x[k][0] = 0;
        n = 1;
    }
    it->r = n;
    it->nop = nop;
    for (int i = 0; i < n; i++) {
        it->dims[i] = d[n - 1 - i];
        for (int k = 0; k < nop; k++)
            it->s[k][i] = x[k][n - 1 - i];
    }
}

#define RUN_CHUNK 16384

void op_bcast_apply(op_ctx *c, int nop, const ir_tensor *const *ops, ir_tensor *y, op_bcast_run run,
                    const void *arg)
{
    size_t total = ir_tensor_numel(y);
    if (total == 0)
        return;
    bcast_iter it;
    collapse(nop, ops, y, &it);
    const int r = it.r;
    const size_t n = (size_t)it.dims[r - 1];
    const size_t rows = total / n;
    size_t es[3], is[3];
    for (int k = 0; k < nop; k++) {
        es[k] = ir_dtype_size(ops[k]->dtype);
        is[k] = (size_t)it.s[k][r - 1];
    }
    const size_t ey = ir_dtype_size(y->dtype);
    const size_t chunks = n > RUN_CHUNK ? (n + RUN_CHUNK - 1) / RUN_CHUNK : 1;
    const size_t rpt = n >= RUN_CHUNK ? 1 : RUN_CHUNK / n;
    const size_t tasks = chunks > 1 ? rows * chunks : (rows + rpt - 1) / rpt;
    char *py = y->data;
    int nth = (total >= 4 * RUN_CHUNK && c->threads > 1) ? c->threads : 1;

#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (size_t task = 0; task < tasks; task++) {
        size_t row0, nrows, lo, len;
        if (chunks > 1) {
            row0 = task / chunks;
            nrows = 1;
            lo = (task % chunks) * RUN_CHUNK;
            len = n - lo < RUN_CHUNK ? n - lo : RUN_CHUNK;
        } else {
            row0 = task * rpt;
            nrows = rows - row0 < rpt ? rows - row0 : rpt;
            lo = 0;
            len = n;
        }
        int64_t idx[IR_MAX_RANK];
        size_t rem = row0;
        for (int d = r - 2; d >= 0; d--) {
            idx[d] = (int64_t)(rem % (size_t)it.dims[d]);
            rem /= (size_t)it.dims[d];
        }
        for (size_t k = 0; k < nrows; k++) {
            const char *p[3];
            for (int o = 0; o < nop; o++) {
                int64_t off = 0;
                for (int d = 0; d < r - 1; d++)
                    off += idx[d] * it.s[o][d];
                p[o] = (const char *)ops[o]->data + ((size_t)off + lo * is[o]) * es[o];
            }
            run(arg, len, p, is, py + ((row0 + k) * n + lo) * ey);
            for (int d = r - 2; d >= 0; d--) {
                if (++idx[d] < it.dims[d])
                    break;
                idx[d] = 0;
            }
        }
    }
}
