/*
 * Softmax and LogSoftmax (ONNX spec). Opsets 1 and 11 coerce the input to 2-D at `axis`
 * (default 1): the softmax runs over all trailing dims flattened. Opset 13 runs over the
 * single dim `axis` (default -1). Either way the input is viewed as (O, K, I).
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/softmax.h"
#include "ops/op.h"

typedef struct sm_state {
    int log;
    int64_t axis;
} sm_state;

static int sm_init(op_ctx *c)
{
    sm_state *st = calloc(1, sizeof *st);
    if (!st)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    c->state = st;
    st->log = strcmp(c->node->op_type, "LogSoftmax") == 0;
    st->axis = ir_attr_int(c->node, "axis", c->opset >= 13 ? -1 : 1);
    return NORMA_OK;
}

/* The (O, K, I) view of x; -1 when the axis is out of range. */
static int sm_view(op_ctx *c, size_t *O, size_t *K, size_t *I)
{
    const sm_state *st = c->state;
    const ir_tensor *x = c->in[0];
    int r = x->rank;
    int axis = r == 0 && st->axis == -1 ? 0 : op_axis(st->axis, r);
    if (axis < 0 && !(c->opset < 13 && st->axis == r))
        return -1;
    if (axis < 0)
        axis = r; /* coerced 2-D with an empty trailing part */
    size_t o = 1, k = 1, i = 1;
    for (int d = 0; d < r; d++) {
        size_t v = (size_t)x->dims[d];
        if (d < axis)
            o *= v;
        else if (c->opset < 13 || d == axis)
            k *= v;
        else
            i *= v;
    }
    *O = o;
    *K = k;
    *I = i;
    return 0;
}

static int sm_infer(op_ctx *c)
{
    const sm_state *st = c->state;
    static const int dt[] = {NORMA_FLOAT, 0};
    int rc = op_check_dtype(c, 0, dt);
    if (rc)
        return rc;
    size_t O, K, I;
    if (sm_view(c, &O, &K, &I))
        return op_fail(c, NORMA_ERR_MODEL, "axis %lld is out of range for rank %d",
                       (long long)st->axis, c->in[0]->rank);
    op_set_shape(c->out[0], NORMA_FLOAT, c->in[0]->rank, c->in[0]->dims);
    if (I > 1)
        c->scratch_size = 2 * O * I * sizeof(float);
    return NORMA_OK;
}

static int sm_run(op_ctx *c)
{
    const sm_state *st = c->state;
    size_t O, K, I;
    sm_view(c, &O, &K, &I);
    if (O * K * I == 0)
        return NORMA_OK;
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    int nth = (O * K * I >= 32768 && O > 1 && c->threads > 1) ? c->threads : 1;
    size_t per = (O + (size_t)nth - 1) / (size_t)nth;
    float *tmp = c->scratch;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        size_t o0 = (size_t)t * per, o1 = o0 + per < O ? o0 + per : O;
        if (o0 >= o1)
            continue;
        if (I == 1)
            k_f32_softmax_rows(st->log, o1 - o0, K, x + o0 * K, y + o0 * K);
        else
            k_f32_softmax_inner(st->log, o1 - o0, K, I, x + o0 * K * I, y + o0 * K * I,
                                tmp + o0 * 2 * I);
    }
    return NORMA_OK;
}

#define SM(var, name, ver) \
    static const op_schema var = {name, "", ver, 1, 1, 1, 1, sm_init, NULL, sm_infer, sm_run};
SM(sm1, "Softmax", 1)
SM(sm11, "Softmax", 11)
SM(sm13, "Softmax", 13)
SM(lsm1, "LogSoftmax", 1)
SM(lsm11, "LogSoftmax", 11)
SM(lsm13, "LogSoftmax", 13)

OP_TABLE(softmax) = {&sm1, &sm11, &sm13, &lsm1, &lsm11, &lsm13, NULL};
