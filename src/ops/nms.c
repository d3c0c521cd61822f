/*
 * NonMaxSuppression (ONNX opsets 10, 11): boxes (B,S,4), scores (B,K,S) and the optional
 * scalars max_output_boxes_per_class (int64, default 0), iou_threshold (default 0) and
 * score_threshold (default none) -> selected_indices (n, 3) of (batch, class, box), per
 * batch then class, in selection order. n depends on every input's values: infer runs the
 * selection to size the output, and returns OP_NEEDS_DATA while any value is unknown.
 */
#include <stdlib.h>

#include "kernels/nms.h"
#include "ops/op.h"

typedef struct nms_args {
    size_t B, K, S, max_out;
    float iou, score;
    int has_score, center;
} nms_args;

static int nms_args_get(op_ctx *c, nms_args *a)
{
    static const int dt[] = {NORMA_FLOAT, 0}, it[] = {NORMA_INT64, 0};
    int rc = op_check_dtype(c, 0, dt);
    if (!rc)
        rc = op_check_dtype(c, 1, dt);
    if (rc)
        return rc;
    const ir_tensor *bx = c->in[0], *sc = c->in[1];
    if (bx->rank != 3 || bx->dims[2] != 4)
        return op_fail(c, NORMA_ERR_SHAPE, "boxes must be (batch, spatial, 4)");
    if (sc->rank != 3 || sc->dims[0] != bx->dims[0] || sc->dims[2] != bx->dims[1])
        return op_fail(c, NORMA_ERR_SHAPE, "scores must be (%lld, classes, %lld)", (long long)bx->dims[0],
                       (long long)bx->dims[1]);
    int64_t center = ir_attr_int(c->node, "center_point_box", 0);
    if (center != 0 && center != 1)
        return op_fail(c, NORMA_ERR_MODEL, "center_point_box must be 0 or 1, got %lld", (long long)center);
    a->B = (size_t)bx->dims[0];
    a->S = (size_t)bx->dims[1];
    a->K = (size_t)sc->dims[1];
    a->center = (int)center;
    a->max_out = 0;
    a->iou = 0;
    a->has_score = 0;
    a->score = 0;
    int need = !bx->data || !sc->data;
    for (int i = 2; i < 5 && i < c->n_in; i++) {
        const ir_tensor *t = c->in[i];
        if (!t)
            continue;
        if ((rc = op_check_dtype(c, i, i == 2 ? it : dt)))
            return rc;
        if (ir_tensor_numel(t) != 1)
            return op_fail(c, NORMA_ERR_SHAPE, "input %d must hold one value", i);
        if (!t->data) {
            need = 1;
            continue;
        }
        if (i == 2) {
            int64_t m = ((const int64_t *)t->data)[0];
            a->max_out = m > 0 ? (size_t)m : 0;
        } else if (i == 3)
            a->iou = ((const float *)t->data)[0];
        else {
            a->has_score = 1;
            a->score = ((const float *)t->data)[0];
        }
    }
    if (a->iou < 0 || a->iou > 1)
        return op_fail(c, NORMA_ERR_RUNTIME, "iou_threshold %g is outside [0, 1]", (double)a->iou);
    return need ? OP_NEEDS_DATA : NORMA_OK;
}

/* Runs the selection; writes rows to out (NULL: count only). Returns the row count.
 * cand and keep hold S entries each. */
static size_t nms_select(op_ctx *c, const nms_args *a, k_nms_cand *cand, int64_t *keep, int64_t *out)
{
    const float *boxes = c->in[0]->data, *scores = c->in[1]->data;
    size_t rows = 0;
    for (size_t b = 0; b < a->B; b++)
        for (size_t k = 0; k < a->K; k++) {
            size_t n = k_f32_nms_ref(a->S, boxes + b * a->S * 4, scores + (b * a->K + k) * a->S, a->center,
                                     a->max_out, a->iou, a->has_score, a->score, cand, keep);
            for (size_t i = 0; out && i < n; i++) {
                out[(rows + i) * 3] = (int64_t)b;
                out[(rows + i) * 3 + 1] = (int64_t)k;
                out[(rows + i) * 3 + 2] = keep[i];
            }
            rows += n;
        }
    return rows;
}

static int nms_infer(op_ctx *c)
{
    nms_args a;
    int rc = nms_args_get(c, &a);
    if (rc)
        return rc;
    size_t per = sizeof(k_nms_cand) + sizeof(int64_t);
    if (a.S > SIZE_MAX / per)
        return op_fail(c, NORMA_ERR_SHAPE, "too many boxes");
    void *tmp = malloc(a.S * per + 1);
    if (!tmp)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    size_t rows = nms_select(c, &a, tmp, (int64_t *)((char *)tmp + a.S * sizeof(k_nms_cand)), NULL);
    free(tmp);
    int64_t od[2] = {(int64_t)rows, 3};
    op_set_shape(c->out[0], NORMA_INT64, 2, od);
    c->scratch_size = a.S * per;
    return NORMA_OK;
}

static int nms_run(op_ctx *c)
{
    nms_args a;
    int rc = nms_args_get(c, &a);
    if (rc)
        return rc == OP_NEEDS_DATA ? op_fail(c, NORMA_ERR_RUNTIME, "input data is missing") : rc;
    size_t rows = nms_select(c, &a, c->scratch, (int64_t *)((char *)c->scratch + a.S * sizeof(k_nms_cand)), NULL);
    if (rows != (size_t)c->out[0]->dims[0])
        return op_fail(c, NORMA_ERR_RUNTIME, "selected %zu boxes, planned for %lld", rows,
                       (long long)c->out[0]->dims[0]);
    nms_select(c, &a, c->scratch, (int64_t *)((char *)c->scratch + a.S * sizeof(k_nms_cand)), c->out[0]->data);
    return NORMA_OK;
}

static const op_schema nms10 = {"NonMaxSuppression", "", 10, 2, 5, 1, 1, NULL, NULL, nms_infer, nms_run};

OP_TABLE(nms) = {&nms10, NULL};
