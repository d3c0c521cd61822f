/*
 * Gelu (ONNX opset 20), float32: approximate="none" gives 0.5 x (1 + erf(x / sqrt 2)),
 * "tanh" gives 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Also registered at
 * opset 1 so the fuse-gelu pass can emit it in models of any opset.
 */
#include <string.h>

#include "kernels/norm.h"
#include "ops/op.h"

static int gelu_init(op_ctx *c)
{
    const char *a = ir_attr_string(c->node, "approximate", "none");
    if (strcmp(a, "none") && strcmp(a, "tanh"))
        return op_fail(c, NORMA_ERR_MODEL, "approximate '%s' must be 'none' or 'tanh'", a);
    return NORMA_OK;
}

static int gelu_infer(op_ctx *c)
{
    static const int f32[] = {NORMA_FLOAT, 0};
    int rc = op_check_dtype(c, 0, f32);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, x->dims);
    return NORMA_OK;
}

static int gelu_run(op_ctx *c)
{
    size_t n = ir_tensor_numel(c->in[0]);
    int th = strcmp(ir_attr_string(c->node, "approximate", "none"), "tanh") == 0;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    const size_t chunk = 16384;
    long long nchunks = (long long)((n + chunk - 1) / chunk);
    int nth = (n >= 2 * chunk && c->threads > 1) ? c->threads : 1;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (long long k = 0; k < nchunks; k++) {
        size_t i0 = (size_t)k * chunk, m = n - i0 < chunk ? n - i0 : chunk;
        k_f32_gelu(m, x + i0, y + i0, th);
    }
    return NORMA_OK;
}

static const op_schema gelu1 = {"Gelu", "", 1, 1, 1, 1, 1, gelu_init, NULL, gelu_infer, gelu_run};
static const op_schema gelu20 = {"Gelu", "", 20, 1, 1, 1, 1, gelu_init, NULL, gelu_infer, gelu_run};

OP_TABLE(gelu) = {&gelu1, &gelu20, NULL};
