/*
 * RoiAlign (ONNX opsets 10 and 16): X (N,C,H,W), rois (R,4) as (x1,y1,x2,y2), batch_indices
 * (R) -> Y (R,C,output_height,output_width). Attributes mode (avg, max), output_height,
 * output_width, sampling_ratio, spatial_scale and, from opset 16,
 * coordinate_transformation_mode (half_pixel by default; opset 10 behaves as
 * output_half_pixel). Batch indices are checked against N at run time.
 */
#include <string.h>

#include "kernels/roialign.h"
#include "ops/op.h"

static int ra_attrs(op_ctx *c, int *max_mode, int *half_pixel)
{
    const char *m = ir_attr_string(c->node, "mode", "avg");
    const char *t = ir_attr_string(c->node, "coordinate_transformation_mode",
                                   c->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (strcmp(m, "avg") && strcmp(m, "max"))
        return op_fail(c, NORMA_ERR_MODEL, "mode '%s' is not avg or max", m);
    if (strcmp(t, "half_pixel") && strcmp(t, "output_half_pixel"))
        return op_fail(c, NORMA_ERR_MODEL, "coordinate_transformation_mode '%s' is not half_pixel or output_half_pixel", t);
    *max_mode = !strcmp(m, "max");
    *half_pixel = !strcmp(t, "half_pixel");
    if (ir_attr_int(c->node, "output_height", 1) < 1 || ir_attr_int(c->node, "output_width", 1) < 1)
        return op_fail(c, NORMA_ERR_MODEL, "output_height and output_width must be positive");
    if (ir_attr_int(c->node, "sampling_ratio", 0) < 0)
        return op_fail(c, NORMA_ERR_MODEL, "sampling_ratio must not be negative");
    return NORMA_OK;
}

static int ra_init(op_ctx *c)
{
    int a, b;
    return ra_attrs(c, &a, &b);
}

static int ra_infer(op_ctx *c)
{
    static const int dt[] = {NORMA_FLOAT, 0}, it[] = {NORMA_INT64, NORMA_INT32, 0};
    int rc = op_check_dtype(c, 0, dt);
    if (!rc)
        rc = op_check_dtype(c, 1, dt);
    if (!rc)
        rc = op_check_dtype(c, 2, it);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *r = c->in[1], *b = c->in[2];
    if (x->rank != 4)
        return op_fail(c, NORMA_ERR_SHAPE, "X must be (N,C,H,W), got rank %d", x->rank);
    if (r->rank != 2 || r->dims[1] != 4)
        return op_fail(c, NORMA_ERR_SHAPE, "rois must be (num_rois, 4)");
    if (b->rank != 1 || b->dims[0] != r->dims[0])
        return op_fail(c, NORMA_ERR_SHAPE, "batch_indices must be (%lld)", (long long)r->dims[0]);
    int64_t od[4] = {r->dims[0], x->dims[1], ir_attr_int(c->node, "output_height", 1),
                     ir_attr_int(c->node, "output_width", 1)};
    int ok = 1;
    ir_numel_checked(4, od, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "output size overflows");
    op_set_shape(c->out[0], NORMA_FLOAT, 4, od);
    return NORMA_OK;
}

static int ra_run(op_ctx *c)
{
    int max_mode, half_pixel;
    int rc = ra_attrs(c, &max_mode, &half_pixel);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *b = c->in[2];
    const ir_tensor *y = c->out[0];
    size_t R = (size_t)y->dims[0], C = (size_t)x->dims[1], H = (size_t)x->dims[2], W = (size_t)x->dims[3];
    size_t oH = (size_t)y->dims[2], oW = (size_t)y->dims[3];
    for (size_t i = 0; i < R; i++) {
        int64_t bi = ir_tensor_get_i64(b, i);
        if (bi < 0 || bi >= x->dims[0])
            return op_fail(c, NORMA_ERR_RUNTIME, "batch index %lld of roi %zu is outside [0, %lld)", (long long)bi, i,
                           (long long)x->dims[0]);
    }
    if (!H || !W) {
        memset(y->data, 0, ir_tensor_nbytes(y));
        return NORMA_OK;
    }
    float scale = ir_attr_float(c->node, "spatial_scale", 1.0f);
    int sr = (int)ir_attr_int(c->node, "sampling_ratio", 0);
    long long nr = (long long)R;
    int nt = c->threads > 1 && R * C * oH * oW > 4096 ? c->threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (long long i = 0; i < nr; i++) {
        size_t bi = (size_t)ir_tensor_get_i64(b, (size_t)i);
        k_f32_roialign_ref(C, H, W, (const float *)x->data + bi * C * H * W, (const float *)c->in[1]->data + i * 4,
                           scale, oH, oW, sr, half_pixel, max_mode, (float *)y->data + (size_t)i * C * oH * oW);
    }
    return NORMA_OK;
}

static const op_schema roialign10 = {"RoiAlign", "", 10, 3, 3, 1, 1, ra_init, NULL, ra_infer, ra_run};
static const op_schema roialign16 = {"RoiAlign", "", 16, 3, 3, 1, 1, ra_init, NULL, ra_infer, ra_run};

OP_TABLE(roialign) = {&roialign10, &roialign16, NULL};
