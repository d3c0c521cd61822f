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
#include "ops/window.h"

static const int float_only[] = {NORMA_FLOAT, 0};

/* Geometry of MaxPool / AveragePool from X's shape and the attributes; sets Y's shape. */
static int pool_geometry(op_ctx *c, int is_max, k_pool_shape *s)
{
    const ir_tensor *x = c->in[0];
    if (x->rank < 3 || x->rank > 5)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "input X has rank %d; 3 to 5 (1 to 3 spatial dimensions) are supported",
                       x->rank);
    int nsp = x->rank - 2;
    int64_t k[3];
    const int64_t *ks;
    if (ir_attr_ints(c->node, "kernel_shape", &ks) < 0)
        return op_fail(c, NORMA_ERR_MODEL, "attribute kernel_shape is required");
    int rc;
    op_window win;
    int has_dil = is_max ? c->opset >= 10 : c->opset >= 19;
    if ((rc = op_spatial_attr(c, "kernel_shape", nsp, 1, 1, k)) || (rc = op_window_read(c, nsp, k, has_dil, &win)))
        return rc;
    int ceil_mode = c->opset >= 10 && ir_attr_int(c->node, "ceil_mode", 0) != 0;
    memset(s, 0, sizeof *s);
    s->NC = x->dims[0] * x->dims[1];
    for (int i = 0; i < 3; i++)
        s->in[i] = s->out[i] = s->k[i] = s->stride[i] = s->dil[i] = 1;
    for (int i = 0; i < nsp; i++) {
        int d = 3 - nsp + i;
        int64_t in = x->dims[2 + i], eff = (k[i] - 1) * win.dl[i] + 1, pb, pe, out;
        if ((rc = op_window_axis(c, &win, i, in, ceil_mode, &out, &pb, &pe)))
            return rc;
        if (pb >= eff || pe >= eff)
            return op_fail(c, NORMA_ERR_MODEL, "pads (%lld, %lld) must be smaller than the kernel extent %lld on axis %d",
                           (long long)pb, (long long)pe, (long long)eff, i);
        s->in[d] = in;
        s->out[d] = out;
        s->k[d] = k[i];
        s->stride[d] = win.st[i];
        s->dil[d] = win.dl[i];
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
