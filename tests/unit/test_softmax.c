/* Softmax / LogSoftmax: rows and inner-axis kernels against the double reference,
 * opset 11 (flattened trailing dims) versus 13 (one axis), large values, NaN, errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "optest.h"
#include "kernels/softmax.h"
#include "testutil.h"

static void softmax_axes_match_reference(void **st)
{
    (void)st;
    static const int64_t dims[3] = {3, 17, 5};
    tu_seed(21);
    float x[255];
    tu_fill(x, 255, -10, 10);
    for (int lg = 0; lg <= 1; lg++)
        for (int opset = 11; opset <= 13; opset += 2)
            for (int axis = -3; axis < 3; axis++) {
                ir_tensor tx = ot_view(NORMA_FLOAT, 3, dims, x);
                ir_tensor *ins[1] = {&tx}, *y;
                ot_node e;
                ot_init(&e, lg ? "LogSoftmax" : "Softmax", opset, 1, 1);
                ot_int(&e, "axis", axis);
                assert_int_equal(ot_run1(&e, ins, 2, &y), NORMA_OK);
                int a = axis < 0 ? axis + 3 : axis;
                size_t O = 1, K = 1, I = 1;
                for (int d = 0; d < 3; d++) {
                    if (d < a)
                        O *= (size_t)dims[d];
                    else if (opset < 13 || d == a)
                        K *= (size_t)dims[d];
                    else
                        I *= (size_t)dims[d];
                }
                float ref[255];
                k_f32_softmax_ref(lg, O, K, I, x, ref);
                double err = tu_max_rel_err(y->data, ref, 255, 1e-6, 1e-5);
                if (err > 1)
                    fail_msg("log %d opset %d axis %d: error %g", lg, opset, axis, err);
                ir_tensor_free(y);
            }
}

static void softmax_large_rows_threads(void **st)
{
    (void)st;
    int64_t dims[3] = {40, 33, 31};
    size_t n = 40 * 33 * 31;
    float *x = malloc(n * sizeof(float)), *ref = malloc(n * sizeof(float));
    tu_seed(4);
    tu_fill(x, n, -30, 30);
    for (int axis = 1; axis <= 2; axis++) {
        ir_tensor tx = ot_view(NORMA_FLOAT, 3, dims, x);
        ir_tensor *ins[1] = {&tx}, *y;
        ot_node e;
        ot_init(&e, "Softmax", 13, 1, 1);
        ot_int(&e, "axis", axis);
        assert_int_equal(ot_run1(&e, ins, 4, &y), NORMA_OK);
        if (axis == 1)
            k_f32_softmax_ref(0, 40, 33, 31, x, ref);
        else
            k_f32_softmax_ref(0, 40 * 33, 31, 1, x, ref);
        assert_true(tu_max_rel_err(y->data, ref, n, 1e-7, 1e-5) <= 1);
        ir_tensor_free(y);
    }
    free(x);
    free(ref);
}

static void softmax_large_values_are_finite(void **st)
{
    (void)st;
    float x[4] = {10000, 10001, 10002, 10003};
    int64_t d[1] = {4};
    ir_tensor tx = ot_view(NORMA_FLOAT, 1, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "Softmax", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const float *v = y->data;
    const float want[4] = {0.0320586f, 0.0871443f, 0.2368828f, 0.6439142f};
    for (int i = 0; i < 4; i++)
        assert_true(fabsf(v[i] - want[i]) <= 1e-5f);
    ir_tensor_free(y);
    ot_init(&e, "LogSoftmax", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    v = y->data;
    for (int i = 0; i < 4; i++)
        assert_true(fabsf(v[i] - logf(want[i])) <= 1e-4f);
    ir_tensor_free(y);
}

static void softmax_nan_row_stays_nan(void **st)
{
    (void)st;
    float x[6] = {1, NAN, 2, 1, 2, 3};
    int64_t d[2] = {2, 3};
    ir_tensor tx = ot_view(NORMA_FLOAT, 2, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "Softmax", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const float *v = y->data;
    for (int i = 0; i < 3; i++)
        assert_true(isnan(v[i]));
    for (int i = 3; i < 6; i++)
        assert_false(isnan(v[i]));
    ir_tensor_free(y);
}

static void softmax_bad_axis_and_dtype_fail(void **st)
{
    (void)st;
    float x[6] = {0};
    int64_t d[2] = {2, 3};
    ir_tensor tx = ot_view(NORMA_FLOAT, 2, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "Softmax", 13, 1, 1);
    ot_int(&e, "axis", 2);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "Softmax 'n0': axis 2 is out of range for rank 2"));
    int64_t xi[6] = {0};
    ir_tensor ti = ot_view(NORMA_INT64, 2, d, xi);
    ir_tensor *insi[1] = {&ti};
    ot_init(&e, "LogSoftmax", 13, 1, 1);
    assert_int_equal(ot_run1(&e, insi, 1, &y), NORMA_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(softmax_axes_match_reference),
        cmocka_unit_test(softmax_large_rows_threads),
        cmocka_unit_test(softmax_large_values_are_finite),
        cmocka_unit_test(softmax_nan_row_stays_nan),
        cmocka_unit_test(softmax_bad_axis_and_dtype_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
