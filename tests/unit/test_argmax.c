/* ArgMax / ArgMin / Hardmax: every axis, keepdims and select_last_index against a
 * naive reference on seeded data with many ties; NaN handling; Hardmax's opset-13
 * axis rule against the older coerce-to-2-D rule; bad attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "optest.h"
#include "kernels/index.h"
#include "testutil.h"

/* Reference: scan along axis of x (d0, d1, d2) with the obvious comparisons. */
static int64_t ref_arg(const float *x, const int64_t *d, int axis, int64_t i0, int64_t i1, int is_min, int last)
{
    int64_t best = -1;
    float bv = 0;
    for (int64_t j = 0; j < d[axis]; j++) {
        int64_t p[3] = {i0, i1, 0}, q[3];
        for (int a = 0, k = 0; a < 3; a++)
            q[a] = a == axis ? j : p[k++];
        float v = x[(q[0] * d[1] + q[1]) * d[2] + q[2]];
        int better = best < 0 || (is_min ? v < bv : v > bv) || (last && v == bv);
        if (better) {
            best = j;
            bv = v;
        }
    }
    return best;
}

static void argmax_argmin_all_axes_match_reference(void **state)
{
    (void)state;
    tu_seed(7);
    int64_t d[3] = {3, 7, 5};
    float x[105];
    for (int i = 0; i < 105; i++)
        x[i] = floorf(tu_uniform(0, 4)); /* few distinct values: many ties */
    ir_tensor *ins[1] = {ot_f32(3, d, x)}, *outs[1] = {0};
    for (int is_min = 0; is_min < 2; is_min++)
        for (int axis = -3; axis < 3; axis++)
            for (int keep = 0; keep < 2; keep++)
                for (int last = 0; last < 2; last++) {
                    ot_node t;
                    ot_init(&t, is_min ? "ArgMin" : "ArgMax", 13, 1, 1);
                    ot_int(&t, "axis", axis);
                    ot_int(&t, "keepdims", keep);
                    ot_int(&t, "select_last_index", last);
                    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
                    int a = axis < 0 ? axis + 3 : axis;
                    assert_int_equal(outs[0]->rank, keep ? 3 : 2);
                    assert_int_equal(outs[0]->dtype, NORMA_INT64);
                    int64_t r0 = a == 0 ? d[1] : d[0], r1 = a == 2 ? d[1] : d[2];
                    const int64_t *y = outs[0]->data;
                    for (int64_t i0 = 0; i0 < r0; i0++)
                        for (int64_t i1 = 0; i1 < r1; i1++)
                            assert_int_equal(y[i0 * r1 + i1], ref_arg(x, d, a, i0, i1, is_min, last));
                    ot_free(outs, 1);
                }
    ot_free(ins, 1);
}

static void argmax_kernels_agree_across_types(void **state)
{
    (void)state;
    tu_seed(3);
    enum { O = 2, N = 17, I = 3 };
    float xf[O * N * I];
    int32_t xi[O * N * I];
    double xd[O * N * I];
    int64_t yf[O * I], yi[O * I], yd[O * I];
    for (int i = 0; i < O * N * I; i++) {
        xi[i] = (int32_t)floorf(tu_uniform(-5, 5));
        xf[i] = (float)xi[i];
        xd[i] = xi[i];
    }
    for (int last = 0; last < 2; last++) {
        k_f32_argmin_ref(xf, O, N, I, last, yf);
        k_i32_argmin_ref(xi, O, N, I, last, yi);
        k_f64_argmin_ref(xd, O, N, I, last, yd);
        assert_memory_equal(yf, yi, sizeof yf);
        assert_memory_equal(yf, yd, sizeof yf);
    }
}

static void argmax_first_nan_wins(void **state)
{
    (void)state;
    float x[5] = {1, NAN, 7, NAN, 2};
    int64_t y, d = 5;
    k_f32_argmax_ref(x, 1, 5, 1, 0, &y);
    assert_int_equal(y, 1);
    k_f32_argmin_ref(x, 1, 5, 1, 1, &y);
    assert_int_equal(y, 1);
    /* the same as two interleaved columns (inner = 2): column 1 has no NaN */
    float x2[10] = {1, 0, NAN, 3, 7, 3, NAN, -1, 2, 3};
    int64_t y2[2];
    k_f32_argmax_ref(x2, 1, 5, 2, 0, y2);
    assert_int_equal(y2[0], 1);
    assert_int_equal(y2[1], 1);
    k_f32_argmax_ref(x2, 1, 5, 2, 1, y2);
    assert_int_equal(y2[1], 4);
    k_f32_argmin_ref(x2, 1, 5, 2, 0, y2);
    assert_int_equal(y2[0], 1);
    assert_int_equal(y2[1], 3);
    ir_tensor *ins[1] = {ot_f32(1, &d, x)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "ArgMax", 13, 1, 1);
    ot_int(&t, "keepdims", 0);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->rank, 0);
    assert_int_equal(((int64_t *)outs[0]->data)[0], 1);
    ot_free(outs, 1);
    ot_free(ins, 1);
}

static void argmax_bad_axis_and_empty_axis_fail(void **state)
{
    (void)state;
    int64_t d[2] = {2, 0};
    ir_tensor *ins[1] = {ot_f32(2, d, NULL)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "ArgMax", 13, 1, 1);
    ot_int(&t, "axis", 2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "ArgMax 'n0': axis 2 is out of range for rank 2"));
    ot_init(&t, "ArgMin", 13, 1, 1);
    ot_int(&t, "axis", 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "axis 1 has size 0"));
    ot_free(ins, 1);
}

static void hardmax_axis_rules_by_opset(void **state)
{
    (void)state;
    /* x (2, 2, 3): opset 13 axis=1 works per column; opset 11 axis=1 flattens (2, 6). */
    float x[12] = {1, 9, 3, 4, 5, 6, /* batch 0 */ 7, 7, 0, 1, 2, 8};
    int64_t d[3] = {2, 2, 3};
    ir_tensor *ins[1] = {ot_f32(3, d, x)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Hardmax", 13, 1, 1);
    ot_int(&t, "axis", 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want13[12] = {0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1};
    assert_memory_equal(outs[0]->data, want13, sizeof want13);
    ot_free(outs, 1);
    ot_init(&t, "Hardmax", 11, 1, 1);
    ot_int(&t, "axis", 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want11[12] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    assert_memory_equal(outs[0]->data, want11, sizeof want11);
    ot_free(outs, 1);
    ot_init(&t, "Hardmax", 13, 1, 1); /* default axis -1: first max of each row of 3 */
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want_last[12] = {0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1};
    assert_memory_equal(outs[0]->data, want_last, sizeof want_last);
    ot_free(outs, 1);
    ot_free(ins, 1);
}

static void argmax_two_threads_match_one(void **state)
{
    (void)state;
    static float buf[64 * 33 * 40];
    int64_t d[3] = {64, 33, 40};
    tu_seed(31);
    for (size_t i = 0; i < sizeof buf / sizeof *buf; i++)
        buf[i] = floorf(tu_uniform(0, 8));
    ot_node t;
    ot_init(&t, "ArgMax", 13, 0, 0);
    ot_int(&t, "axis", 1);
    ot_int(&t, "select_last_index", 1);
    ir_tensor x = ot_view(NORMA_FLOAT, 3, d, buf), *in[1] = {&x}, *y1[1] = {0}, *y2[1] = {0};
    assert_int_equal(ot_run(&t, 1, in, 1, y1, 0, 1), NORMA_OK);
    assert_int_equal(ot_run(&t, 1, in, 1, y2, 0, 2), NORMA_OK);
    assert_memory_equal(y1[0]->data, y2[0]->data, ir_tensor_nbytes(y1[0]));
    ir_tensor_free(y1[0]);
    ir_tensor_free(y2[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(argmax_two_threads_match_one),
        cmocka_unit_test(argmax_argmin_all_axes_match_reference),
        cmocka_unit_test(argmax_kernels_agree_across_types),
        cmocka_unit_test(argmax_first_nan_wins),
        cmocka_unit_test(argmax_bad_axis_and_empty_axis_fail),
        cmocka_unit_test(hardmax_axis_rules_by_opset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
