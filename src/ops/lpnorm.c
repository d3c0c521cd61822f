/*
 * LpNormalization (ONNX opset 1) and MeanVarianceNormalization (opsets 9, 13), float32.
 *   LpNormalization            y = x / ||x||_p along axis (default -1), p = 1 or 2
 *                              (default 2); a zero norm gives what the division gives
 *   MeanVarianceNormalization  y = (x - mean) / (sqrt(var) + 1e-9) over axes (default
 *                              [0, 2, 3]), exactly as the ONNX function body writes it
 * Sums run in double, two passes for the variance.
 */
#include <math.h>

#include "ops/op.h"

static int lp_init(op_ctx *c)
{
    int64_t p = ir_attr_int(c->node, "p", 2);
    if (p != 1 && p != 2)
        return op_fail(c, NORMA_ERR_MODEL, "p %lld must be 1 or 2", (long long)p);
    return NORMA_OK;
}

static int lp_view(op_ctx *c, size_t *O, size_t *K, size_t *I)
{
    const ir_tensor *x = c->in[0];
    int64_t a = ir_attr_int(c->node, "axis", -1);
    int axis = op_axis(a, x->rank);
    if (axis < 0)
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)a, x->rank);
    int ok;
    *O = ir_numel_checked(axis, x->dims, &ok);
    *K = (size_t)x->dims[axis];
    *I = ok ? ir_numel_checked(x->rank - axis - 1, x->dims + axis + 1, &ok) : 0;
    ir_numel_checked(x->rank, x->dims, &ok);
    if (!ok) {
        char s[128];
        ir_shape_str(x->rank, x->dims, s, sizeof s);
        return op_fail(c, NORMA_ERR_SHAPE, "input shape %s has a negative dimension or is too large", s);
    }
    return NORMA_OK;
}

static int lp_infer(op_ctx *c)
{
    static const int f32[] = {NORMA_FLOAT, 0};
    int rc = op_check_dtype(c, 0, f32);
    if (rc)
        return rc;
    size_t O, K, I;
    if ((rc = lp_view(c, &O, &K, &I)))
        return rc;
    op_set_shape(c->out[0], NORMA_FLOAT, c->in[0]->rank, c->in[0]->dims);
    return NORMA_OK;
}

static int lp_run(op_ctx *c)
{
    size_t O, K, I;
    lp_view(c, &O, &K, &I);
    int p = (int)ir_attr_int(c->node, "p", 2);
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    long long lines = (long long)(O * I);
    int nth = (O * K * I >= 32768 && c->threads > 1) ? c->threads : 1;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (long long l = 0; l < lines; l++) {
        size_t o = (size_t)l / (I ? I : 1), i = (size_t)l % (I ? I : 1);
        const float *xl = x + o * K * I + i;
        float *yl = y + o * K * I + i;
        double s = 0;
        for (size_t k = 0; k < K; k++)
            s += p == 1 ? fabs((double)xl[k * I]) : (double)xl[k * I] * xl[k * I];
        double norm = p == 1 ? s : sqrt(s);
        for (size_t k = 0; k < K; k++)
            yl[k * I] = (float)(xl[k * I] / norm);
    }
    return NORMA_OK;
}

/* ---- MeanVarianceNormalization ---- */

/* mask of reduced axes; 0 or an error */
static int mvn_axes(op_ctx *c, unsigned *mask)
{
    const ir_tensor *x = c->in[0];
    const int64_t *ax;
    static const int64_t def[] = {0, 2, 3};
    int n = ir_attr_ints(c->node, "axes", &ax);
    if (n < 0) {
        ax = def;
        n = 3;
    }
    *mask = 0;
    for (int i = 0; i < n; i++) {
        int a = op_axis(ax[i], x->rank);
        if (a < 0)
            return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d", (long long)ax[i],
                           x->rank);
        *mask |= 1u << a;
    }
    return NORMA_OK;
}

static int mvn_infer(op_ctx *c)
{
    static const int f32[] = {NORMA_FLOAT, 0};
    int rc = op_check_dtype(c, 0, f32);
    if (rc)
        return rc;
    const ir_tensor *x = c->in[0];
    unsigned mask;
    if ((rc = mvn_axes(c, &mask)))
        return rc;
    int ok;
    ir_numel_checked(x->rank, x->dims, &ok);
    if (!ok)
        return op_fail(c, NORMA_ERR_SHAPE, "input shape has a negative dimension or is too large");
    size_t kept = 1;
    for (int d = 0; d < x->rank; d++)
        if (!(mask >> d & 1))
            kept *= (size_t)x->dims[d];
    op_set_shape(c->out[0], NORMA_FLOAT, x->rank, x->dims);
    c->scratch_size = 3 * kept * sizeof(double);
    return NORMA_OK;
}

/* Index into the kept (non-reduced) coordinates for each element, walked in order. */
#define MVN_WALK(body)                                                                   \
    do {                                                                                 \
        int64_t idx[IR_MAX_RANK] = {0};                                                  \
        size_t key = 0;                                                                  \
        for (size_t e = 0; e < n; e++) {                                                 \
            body;                                                                        \
            for (int d = r - 1; d >= 0; d--) {                                           \
                key += kst[d];                                                           \
                if (++idx[d] < x->dims[d])                                               \
                    break;                                                               \
                key -= kst[d] * (size_t)x->dims[d];                                      \
                idx[d] = 0;                                                              \
            }                                                                            \
        }                                                                                \
    } while (0)

static int mvn_run(op_ctx *c)
{
    const ir_tensor *x = c->in[0];
    unsigned mask;
    mvn_axes(c, &mask);
    int r = x->rank;
    size_t n = ir_tensor_numel(x);
    if (n == 0)
        return NORMA_OK;
    size_t kst[IR_MAX_RANK], kept = 1;
    for (int d = r - 1; d >= 0; d--) {
        kst[d] = (mask >> d & 1) ? 0 : kept;
        if (!(mask >> d & 1))
            kept *= (size_t)x->dims[d];
    }
    double *sum = c->scratch, *ss = sum + kept, *cnt = ss + kept;
    for (size_t k = 0; k < kept; k++)
        sum[k] = ss[k] = cnt[k] = 0;
    const float *xd = x->data;
    float *y = c->out[0]->data;
    MVN_WALK(sum[key] += xd[e]; cnt[key] += 1);
    for (size_t k = 0; k < kept; k++)
        sum[k] /= cnt[k];
    MVN_WALK(double dv = xd[e] - sum[key]; ss[key] += dv * dv);
    for (size_t k = 0; k < kept; k++)
        ss[k] = sqrt(ss[k] / cnt[k]) + 1e-9;
    MVN_WALK(y[e] = (float)((xd[e] - sum[key]) / ss[key]));
    return NORMA_OK;
}

static const op_schema lp1 = {"LpNormalization", "", 1, 1, 1, 1, 1, lp_init, NULL, lp_infer, lp_run};
static const op_schema mvn9 = {"MeanVarianceNormalization", "", 9, 1, 1, 1, 1, NULL, NULL, mvn_infer, mvn_run};
static const op_schema mvn13 = {"MeanVarianceNormalization", "", 13, 1, 1, 1, 1, NULL, NULL, mvn_infer, mvn_run};

OP_TABLE(lpnorm) = {&lp1, &mvn9, &mvn13, NULL};
