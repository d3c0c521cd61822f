/*
 * Det (ONNX opset 11): the determinant of each trailing (M, M) matrix of X (*, M, M),
 * computed in double by LU with partial pivoting (kernels/det.h).
 */
#include "kernels/det.h"
#include "ops/op.h"

static int det_infer(op_ctx *c)
{
    static const int dt[] = {NORMA_FLOAT, NORMA_DOUBLE, 0};
    int rc = op_check_dtype(c, 0, dt);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    int r = x->rank;
    if (r < 2 || x->dims[r - 1] != x->dims[r - 2])
        return op_fail(c, NORMA_ERR_SHAPE, "input must end in a square (M, M) matrix");
    size_t m = (size_t)x->dims[r - 1];
    if (m > 46340) /* m*m*2 doubles must fit */
        return op_fail(c, NORMA_ERR_SHAPE, "matrix size %zu is too large", m);
    op_set_shape(c->out[0], x->dtype, r - 2, x->dims);
    c->scratch_size = 2 * m * m * sizeof(double);
    return NORMA_OK;
}

static int det_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    int r = x->rank;
    size_t m = (size_t)x->dims[r - 1], cnt = ir_tensor_numel(c->out[0]), mm = m * m;
    double *a = c->scratch, *lu = a + mm;
    for (size_t b = 0; b < cnt; b++) {
        for (size_t i = 0; i < mm; i++)
            a[i] = x->dtype == NORMA_DOUBLE ? ((const double *)x->data)[b * mm + i]
                                            : ((const float *)x->data)[b * mm + i];
        double d = k_f64_det_lu(m, a, lu);
        if (x->dtype == NORMA_DOUBLE)
            ((double *)c->out[0]->data)[b] = d;
        else
            ((float *)c->out[0]->data)[b] = (float)d;
    }
    return NORMA_OK;
}

static const op_schema det11 = {"Det", "", 11, 1, 1, 1, 1, NULL, NULL, det_infer, det_run};

OP_TABLE(det) = {&det11, NULL};
