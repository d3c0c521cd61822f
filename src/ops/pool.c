/*
 * MaxPool (ONNX opsets 1, 8, 10, 11, 12), AveragePool (opsets 1, 7, 10, 11, 19),
 * GlobalAveragePool and GlobalMaxPool (opset 1), 1 to 3 spatial dimensions.
 * kernel_shape, strides, pads, auto_pad, ceil_mode (10+), dilations (MaxPool 10+,
 * AveragePool 19+), count_include_pad (AveragePool 7+), storage_order and the
 * Indices output (MaxPool 8+). MaxPool runs float, and int8/uint8 from opset 12.
 */
#include <stdint.h>
#include <string.h>

#include "kernels/pool.h"
#include "ops/op.h"

static const int float_only[] = {NORMA_FLOAT, 0};

static int read_spatial(op_ctx *c, const char *name, int nsp, int64_t def, int64_t min, int64_t *out)
{
    const int64_t *v;
    int n = ir_attr_ints(c->node, name, &v);
    for (int i = 0; i < nsp; i++)
        out[i] = def;
    if (n < 0)
        return NORMA_OK;
    if (n != nsp)
        return op_fail(c, NORMA_ERR_MODEL, "%s has %d values; the input has %d spatial dimensions", name, n, nsp);
    for (int i = 0; i < nsp; i++) {
        if (v[i] < min || v[i] > INT32_MAX) /* the bound keeps the size arithmetic in int64 */
            return op_fail(c, NORMA_ERR_MODEL, "%s[%d] = %lld must be >= %lld and <= %d", name, i, (long long)v[i],
                           (long long)min, INT32_MAX);
        out[i] = v[i];
    }
    return NORMA_OK;
}

/* Geometry of MaxPool / AveragePool from X's shape and the attributes; sets Y's shape. */
static int pool_geometry(op_ctx *c, int is_max, k_pool_shape *s)
{
    const ir_tensor *x = c->in[0];
    if (x->rank < 3 || x->rank > 5)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "input X has rank %d; 3 to 5 (1 to 3 spatial dimensions) are supported",
                       x->rank);
    int nsp = x->rank - 2;
    int64_t k[3], st[3], dl[3], pads[6];
    const int64_t *ks;
    int nk = ir_attr_ints(c->node, "kernel_shape", &ks);
    if (nk < 0)
        return op_fail(c, NORMA_ERR_MODEL, "attribute kernel_shape is required");
    int rc;
    if ((rc = read_spatial(c, "kernel_shape", nsp, 1, 1, k)) || (rc = read_spatial(c, "strides", nsp, 1, 1, st)))
        return rc;
    int has_dil = is_max ? c->opset >= 10 : c->opset >= 19;
    if ((rc = read_spatial(c, "dilations", nsp, 1, 1, dl)))
        return rc;
    if (!has_dil)
        for (int i = 0; i < nsp; i++)
            dl[i] = 1;
    const int64_t *pv;
    int np = ir_attr_ints(c->node, "pads", &pv);
    if (np >= 0 && np != 2 * nsp)
        return op_fail(c, NORMA_ERR_MODEL, "pads has %d values; expected %d", np, 2 * nsp);
    for (int i = 0; i < 2 * nsp; i++) {
        pads[i] = np >= 0 ? pv[i] : 0;
        if (pads[i] < 0 || pads[i] > INT32_MAX)
            return op_fail(c, NORMA_ERR_MODEL, "pads[%d] = %lld is out of range", i, (long long)pads[i]);
    }
    int ceil_mode = c->opset >= 10 && ir_attr_int(c->node, "ceil_mode", 0) != 0;
    const char *ap = ir_attr_string(c->node, "auto_pad", "NOTSET");
    int same_upper = !strcmp(ap, "SAME_UPPER"), same_lower = !strcmp(ap, "SAME_LOWER"), valid = !strcmp(ap, "VALID");
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET"))
        return op_fail(c, NORMA_ERR_MODEL, "unknown auto_pad '%s'", ap);
    memset(s, 0, sizeof *s);
    s->NC = x->dims[0] * x->dims[1];
    for (int i = 0; i < 3; i++)
        s->in[i] = s->out[i] = s->k[i] = s->stride[i] = s->dil[i] = 1;
    for (int i = 0; i < nsp; i++) {
        int d = 3 - nsp + i;
        int64_t in = x->dims[2 + i], eff = (k[i] - 1) * dl[i] + 1, pb = pads[i], pe = pads[nsp + i], out;
        if (same_upper || same_lower) {
            out = (in + st[i] - 1) / st[i];
            int64_t total = (out - 1) * st[i] + eff - in;
            if (total < 0)
                total = 0;
            pb = same_upper ? total / 2 : total - total / 2;
            pe = total - pb;
        } else {
            if (valid)
                pb = pe = 0;
            if (in + pb + pe < eff)
                return op_fail(c, NORMA_ERR_SHAPE,
                               "spatial dimension %d: input %lld with pads %lld+%lld is smaller than the kernel extent %lld", i,
                               (long long)in, (long long)pb, (long long)pe, (long long)eff);
            int64_t span = in + pb + pe - eff;
            out = (ceil_mode ? (span + st[i] - 1) / st[i] : span / st[i]) + 1;
            /* the last window must start inside the input or the leading padding */
            if (ceil_mode && (out - 1) * st[i] >= in + pb)
                out--;
        }
        if (pb >= eff || pe >= eff)
            return op_fail(c, NORMA_ERR_MODEL, "pads (%lld, %lld) must be smaller than the kernel extent %lld on axis %d",
                           (long long)pb, (long long)pe, (long long)eff, i);
        s->in[d] = in;
        s->out[d] = out;
        s->k[d] = k[i];
        s->stride[d] = st[i];
        s->dil[d] = dl[i];
        s->pad[d] = pb;
        s->pad_end[d] = pe;
    }
    int64_t od[5] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < nsp; i++)
        od[2 + i] = s->out[3 - nsp + i];
    op_set_shape(c->out[0], x->dtype, x->rank, od);
    if (c->n_out > 1 && c->out[1])
        op_set_shape(c->out[1], NORMA_INT64, x->rank, od);
    return NORMA_OK;
}

static int maxpool_infer(op_ctx *c)
{
    static const int max_types[] = {NORMA_FLOAT, NORMA_UINT8, NORMA_INT8, 0};
    int rc = op_check_dtype(c, 0, c->opset >= 12 ? max_types : float_only);
    if (rc)
        return rc;
    int64_t so = ir_attr_int(c->node, "storage_order", 0);
    if (so != 0 && so != 1)
        return op_fail(c, NORMA_ERR_MODEL, "storage_order %lld must be 0 or 1", (long long)so);
    k_pool_shape s;
    return pool_geometry(c, 1, &s);
}

static int maxpool_run(op_ctx *c)
{
    k_pool_shape s;
    int rc = pool_geometry(c, 1, &s);
    if (rc)
        return rc;
    int so = (int)ir_attr_int(c->node, "storage_order", 0);
    int64_t *ind = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    void *x = c->in[0]->data, *y = c->out[0]->data;
    switch (c->in[0]->dtype) {
    case NORMA_UINT8: k_u8_maxpool_ref(&s, x, y, ind, so, c->threads); break;
    case NORMA_INT8: k_i8_maxpool_ref(&s, x, y, ind, so, c->threads); break;
    default:
        if (ind)
            k_f32_maxpool_ref(&s, x, y, ind, so, c->threads);
        else
            k_f32_pool_rows(&s, x, y, 1, 0, c->threads);
        break;
    }
    return NORMA_OK;
}

static int avgpool_infer(op_ctx *c)
{
    int rc = op_check_dtype(c, 0, float_only);
    if (rc)
        return rc;
    k_pool_shape s;
    return pool_geometry(c, 0, &s);
}

static int avgpool_run(op_ctx *c)
{
    k_pool_shape s;
    int rc = pool_geometry(c, 0, &s);
    if (rc)
        return rc;
    int cip = c->opset >= 7 && ir_attr_int(c->node, "count_include_pad", 0) != 0;
    k_f32_pool_rows(&s, c->in[0]->data, c->out[0]->data, 0, cip, c->threads);
    return NORMA_OK;
}

static int global_infer(op_ctx *c)
{
    int rc = op_check_dtype(c, 0, float_only);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    if (x->rank < 3)
        return op_fail(c, NORMA_ERR_SHAPE, "input X has rank %d; it must be at least 3 (N, C, spatial...)", x->rank);
    int64_t od[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        od[i] = i < 2 ? x->dims[i] : 1;
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, od);
    int ok;
    ir_numel_checked(x->rank, x->dims, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "input size overflows");
    return NORMA_OK;
}

static void global_sizes(const ir_tensor *x, size_t *nc, size_t *n)
{
    *nc = (size_t)x->dims[0] * (size_t)x->dims[1];
    *n = 1;
    for (int i = 2; i < x->rank; i++)
        *n *= (size_t)x->dims[i];
}

static int gavg_run(op_ctx *c)
{
    size_t nc, n;
    global_sizes(c->in[0], &nc, &n);
    k_f32_global_avgpool(nc, n, c->in[0]->data, c->out[0]->data, c->threads);
    return NORMA_OK;
}

static int gmax_run(op_ctx *c)
{
    size_t nc, n;
    global_sizes(c->in[0], &nc, &n);
    k_f32_global_maxpool(nc, n, c->in[0]->data, c->out[0]->data, c->threads);
    return NORMA_OK;
}

static const op_schema maxpool1 = {"MaxPool", "", 1, 1, 1, 1, 1, NULL, NULL, maxpool_infer, maxpool_run};
static const op_schema maxpool8 = {"MaxPool", "", 8, 1, 1, 1, 2, NULL, NULL, maxpool_infer, maxpool_run};
static const op_schema maxpool10 = {"MaxPool", "", 10, 1, 1, 1, 2, NULL, NULL, maxpool_infer, maxpool_run};
static const op_schema maxpool11 = {"MaxPool", "", 11, 1, 1, 1, 2, NULL, NULL, maxpool_infer, maxpool_run};
static const op_schema maxpool12 = {"MaxPool", "", 12, 1, 1, 1, 2, NULL, NULL, maxpool_infer, maxpool_run};
static const op_schema avgpool1 = {"AveragePool", "", 1, 1, 1, 1, 1, NULL, NULL, avgpool_infer, avgpool_run};
static const op_schema avgpool7 = {"AveragePool", "", 7, 1, 1, 1, 1, NULL, NULL, avgpool_infer, avgpool_run};
static const op_schema avgpool10 = {"AveragePool", "", 10, 1, 1, 1, 1, NULL, NULL, avgpool_infer, avgpool_run};
static const op_schema avgpool11 = {"AveragePool", "", 11, 1, 1, 1, 1, NULL, NULL, avgpool_infer, avgpool_run};
static const op_schema avgpool19 = {"AveragePool", "", 19, 1, 1, 1, 1, NULL, NULL, avgpool_infer, avgpool_run};
static const op_schema gavg1 = {"GlobalAveragePool", "", 1, 1, 1, 1, 1, NULL, NULL, global_infer, gavg_run};
static const op_schema gmax1 = {"GlobalMaxPool", "", 1, 1, 1, 1, 1, NULL, NULL, global_infer, gmax_run};

OP_TABLE(pool) = {&maxpool1, &maxpool8, &maxpool10, &maxpool11, &maxpool12, &avgpool1, &avgpool7, &avgpool10,
                  &avgpool11, &avgpool19, &gavg1, &gmax1, NULL};
