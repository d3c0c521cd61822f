/* NonMaxSuppression: IoU suppression, score threshold, per-class limit, ties, flipped
 * and center-point boxes, NaN scores, output order over batches and classes,
 * OP_NEEDS_DATA while values are unknown, bad attributes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

/* Runs NMS on boxes (B,S,4), scores (B,K,S); returns rows (caller frees *y). */
static int nms_eval(int center, int B, int K, int S, const float *boxes, const float *scores, int64_t max_out,
                    float iou, const float *score_thr, ir_tensor **y, char *err)
{
    int64_t bd[3] = {B, S, 4}, sd[3] = {B, K, S};
    ir_tensor *ins[5] = {ot_tensor(NORMA_FLOAT, 3, bd, boxes), ot_tensor(NORMA_FLOAT, 3, sd, scores),
                         ot_tensor(NORMA_INT64, 0, NULL, &max_out), ot_tensor(NORMA_FLOAT, 0, NULL, &iou),
                         score_thr ? ot_tensor(NORMA_FLOAT, 0, NULL, score_thr) : NULL};
    ot_node t;
    ot_init(&t, "NonMaxSuppression", 11, score_thr ? 5 : 4, 1);
    ot_int(&t, "center_point_box", center);
    int rc = ot_eval(&t, ins, y);
    strcpy(err, t.err);
    for (int i = 0; i < 5; i++)
        ir_tensor_free(ins[i]);
    return rc;
}

static const float boxes6[24] = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, -0.1f, 1, 0.9f,
                                 0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100, 1, 101};
static const float scores6[6] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};

static void nms_suppresses_overlaps_in_score_order(void **state)
{
    (void)state;
    char err[512];
    ir_tensor *y = NULL;
    assert_int_equal(nms_eval(0, 1, 1, 6, boxes6, scores6, 3, 0.5f, NULL, &y, err), NORMA_OK);
    int64_t want[9] = {0, 0, 3, 0, 0, 0, 0, 0, 5};
    assert_int_equal(y->dims[0], 3);
    assert_memory_equal(y->data, want, sizeof want);
    ir_tensor_free(y);
    /* limit 2, and a score threshold that drops box 5 */
    float thr = 0.4f;
    assert_int_equal(nms_eval(0, 1, 1, 6, boxes6, scores6, 2, 0.5f, &thr, &y, err), NORMA_OK);
    assert_int_equal(y->dims[0], 2);
    ir_tensor_free(y);
    thr = 0.92f;
    assert_int_equal(nms_eval(0, 1, 1, 6, boxes6, scores6, 5, 0.5f, &thr, &y, err), NORMA_OK);
    assert_int_equal(y->dims[0], 1);
    ir_tensor_free(y);
    /* max_output 0 selects nothing */
    assert_int_equal(nms_eval(0, 1, 1, 6, boxes6, scores6, 0, 0.5f, NULL, &y, err), NORMA_OK);
    assert_int_equal(y->dims[0], 0);
    ir_tensor_free(y);
}

static void nms_flipped_and_center_boxes_agree(void **state)
{
    (void)state;
    char err[512];
    float flipped[24], center[24];
    for (int i = 0; i < 6; i++) {
        const float *b = boxes6 + 4 * i;
        float f[4] = {b[2], b[3], b[0], b[1]}; /* corners swapped */
        memcpy(flipped + 4 * i, f, sizeof f);
        float cbox[4] = {(b[1] + b[3]) / 2, (b[0] + b[2]) / 2, b[3] - b[1], b[2] - b[0]};
        memcpy(center + 4 * i, cbox, sizeof cbox);
    }
    ir_tensor *a = NULL, *b = NULL, *c = NULL;
    assert_int_equal(nms_eval(0, 1, 1, 6, boxes6, scores6, 10, 0.3f, NULL, &a, err), NORMA_OK);
    assert_int_equal(nms_eval(0, 1, 1, 6, flipped, scores6, 10, 0.3f, NULL, &b, err), NORMA_OK);
    assert_int_equal(nms_eval(1, 1, 1, 6, center, scores6, 10, 0.3f, NULL, &c, err), NORMA_OK);
    assert_int_equal(a->dims[0], b->dims[0]);
    assert_int_equal(a->dims[0], c->dims[0]);
    assert_memory_equal(a->data, b->data, ir_tensor_nbytes(a));
    assert_memory_equal(a->data, c->data, ir_tensor_nbytes(a));
    ir_tensor_free(a);
    ir_tensor_free(b);
    ir_tensor_free(c);
}

static void nms_orders_batches_classes_ties_and_skips_nan(void **state)
{
    (void)state;
    char err[512];
    float boxes[2 * 3 * 4] = {0, 0, 1, 1, 5, 5, 6, 6, 0, 0, 1, 1, 0, 0, 1, 1, 5, 5, 6, 6, 9, 9, 10, 10};
    /* batch 0: class 0 ties (0.5, 0.5, 0.5); class 1 has a NaN. batch 1: one class each */
    float scores[2 * 2 * 3] = {0.5f, 0.5f, 0.5f, NAN, 0.2f, 0.1f, 0.1f, 0.2f, 0.3f, 0, 0, 0};
    ir_tensor *y = NULL;
    assert_int_equal(nms_eval(0, 2, 2, 3, boxes, scores, 10, 0.5f, NULL, &y, err), NORMA_OK);
    int64_t want[][3] = {{0, 0, 0}, {0, 0, 1}, {0, 1, 1}, {0, 1, 2}, {1, 0, 2}, {1, 0, 1}, {1, 0, 0},
                         {1, 1, 0}, {1, 1, 1}, {1, 1, 2}};
    assert_int_equal(y->dims[0], 10);
    assert_memory_equal(y->data, want, sizeof want);
    ir_tensor_free(y);
}

static void nms_needs_data_and_checks_attributes(void **state)
{
    (void)state;
    char err[512];
    ir_tensor *y = NULL;
    assert_int_equal(nms_eval(2, 1, 1, 6, boxes6, scores6, 3, 0.5f, NULL, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "NonMaxSuppression 'n0': center_point_box must be 0 or 1, got 2"));
    assert_int_equal(nms_eval(0, 1, 1, 6, boxes6, scores6, 3, 1.5f, NULL, &y, err), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(err, "iou_threshold 1.5"));
    int64_t bd[3] = {1, 6, 4}, sd[3] = {1, 1, 5};
    ir_tensor bx = {.dtype = NORMA_FLOAT, .rank = 3, .dims = {1, 6, 4}}, sc = {.dtype = NORMA_FLOAT, .rank = 3,
                                                                                  .dims = {1, 1, 6}};
    ir_tensor out = {0}, *outp[1] = {&out}, *ins[2] = {&bx, &sc};
    ot_node t;
    ot_init(&t, "NonMaxSuppression", 11, 2, 1);
    int any = 0;
    const op_schema *s = op_lookup("", "NonMaxSuppression", 11, &any);
    op_ctx c = {.node = &t.n, .opset = 11, .n_in = 2, .n_out = 1, .in = ins, .out = outp, .threads = 1,
                .err = t.err, .err_cap = sizeof t.err};
    assert_int_equal(s->infer(&c), OP_NEEDS_DATA);
    memcpy(sc.dims, sd, sizeof sd);
    (void)bd;
    assert_int_equal(s->infer(&c), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "scores must be (1, classes, 6)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nms_suppresses_overlaps_in_score_order),
        cmocka_unit_test(nms_flipped_and_center_boxes_agree),
        cmocka_unit_test(nms_orders_batches_classes_ties_and_skips_nan),
        cmocka_unit_test(nms_needs_data_and_checks_attributes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
