/*
 * GridSample (ONNX opset 16): samples X (N,C,H,W) at the normalized (x, y) locations of
 * Grid (N,oH,oW,2) -> Y (N,C,oH,oW). Attributes mode (bilinear, nearest, bicubic),
 * padding_mode (zeros, border, reflection), align_corners. Kernel: kernels/gridsample.h.
 * Grid values are coordinates, not indices: out-of-range ones read padding (huge ones
 * too, through the kernel's bounds checks) and NaN gives NaN, so no run-time error exists.
 */
#include <math.h>
#include <string.h>

#include "kernels/gridsample.h"
#include "ops/op.h"

static int gs_modes(op_ctx *c, int *mode, int *pad)
{
    const char *m = ir_attr_string(c->node, "mode", "bilinear");
    const char *p = ir_attr_string(c->node, "padding_mode", "zeros");
    *mode = !strcmp(m, "bilinear") ? K_GS_BILINEAR : !strcmp(m, "nearest") ? K_GS_NEAREST
          : !strcmp(m, "bicubic")  ? K_GS_BICUBIC  : -1;
    *pad = !strcmp(p, "zeros") ? K_GS_ZEROS : !strcmp(p, "border") ? K_GS_BORDER
         : !strcmp(p, "reflection") ? K_GS_REFLECTION : -1;
    if (*mode < 0)
        return op_fail(c, NORMA_ERR_MODEL, "mode '%s' is not bilinear, nearest or bicubic", m);
    if (*pad < 0)
        return op_fail(c, NORMA_ERR_MODEL, "padding_mode '%s' is not zeros, border or reflection", p);
    return NORMA_OK;
}

static int gs_init(op_ctx *c)
{
    int m, p;
    return gs_modes(c, &m, &p);
}

static int gs_infer(op_ctx *c)
{
    static const int dt[] = {NORMA_FLOAT, 0};
    int rc = op_check_dtype(c, 0, dt);
    if (!rc)
        rc = op_check_dtype(c, 1, dt);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *g = c->in[1];
    if (x->rank != 4)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "X must be 4-D (N,C,H,W), got rank %d", x->rank);
    if (g->rank != 4 || g->dims[0] != x->dims[0] || g->dims[3] != 2)
        return op_fail(c, NORMA_ERR_SHAPE, "Grid must be (N=%lld, oH, oW, 2)", (long long)x->dims[0]);
    int64_t od[4] = {x->dims[0], x->dims[1], g->dims[1], g->dims[2]};
    int ok = 1;
    ir_numel_checked(4, od, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "output size overflows");
    op_set_shape(c->out[0], NORMA_FLOAT, 4, od);
    return NORMA_OK;
}

static int gs_run(op_ctx *c)
{
    int mode, pad;
    int rc = gs_modes(c, &mode, &pad);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0], *g = c->in[1];
    k_f32_gridsample_ref((size_t)x->dims[0], (size_t)x->dims[1], (size_t)x->dims[2], (size_t)x->dims[3], x->data,
                         (size_t)g->dims[1], (size_t)g->dims[2], g->data, mode, pad,
                         ir_attr_int(c->node, "align_corners", 0) != 0, c->out[0]->data, c->threads);
    return NORMA_OK;
}

static const op_schema gridsample16 = {"GridSample", "", 16, 2, 2, 1, 1, gs_init, NULL, gs_infer, gs_run};

OP_TABLE(gridsample) = {&gridsample16, NULL};
