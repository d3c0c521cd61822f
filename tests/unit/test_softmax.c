/* Softmax / LogSoftmax: rows and inner-axis kernels against the double reference,
 * opset 11 (flattened trailing dims) versus 13 (one axis), large values, NaN, errors. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

static int64_t ulp_diff(float a, float b)
{
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    int64_t d = (int64_t)ia - (int64_t)ib;
    return d < 0 ? -d : d;
}

/* The kernels' exp on x <= 0 against libm expf: a sweep over float bit patterns from
 * -0 to -inf, and the special values. */
static void softmax_expf_matches_libm(void **st)
{
    (void)st;
    int64_t worst = 0;
    for (uint32_t b = 0x80000000u; b < 0xff800000u; b += 251) {
        float x;
        memcpy(&x, &b, 4);
        float got = k_f32_softmax_expf(x), want = expf(x);
        if (want >= 1.17549435e-38f) {
            int64_t u = ulp_diff(got, want);
            worst = u > worst ? u : worst;
            if (u > 2)
                fail_msg("exp(%.9g) = %.9g, expf %.9g (%lld ulp)", (double)x, (double)got, (double)want, (long long)u);
        } else if (!(got >= 0 && got < 1.2e-38f)) {
            fail_msg("exp(%.9g) = %.9g should be a flushed tiny value", (double)x, (double)got);
        }
    }
    print_message("softmax expf worst error %lld ulp\n", (long long)worst);
    assert_true(isnan(k_f32_softmax_expf(NAN)));
    assert_true(isnan(k_f32_softmax_expf(-NAN)));
    assert_true(k_f32_softmax_expf(-INFINITY) == 0.0f);
    assert_true(k_f32_softmax_expf(-1000.0f) == 0.0f);
    assert_true(k_f32_softmax_expf(-FLT_MAX) == 0.0f);
    assert_true(k_f32_softmax_expf(0.0f) == 1.0f);
    assert_true(k_f32_softmax_expf(-0.0f) == 1.0f);
    assert_true(k_f32_softmax_expf(5.0f) == 1.0f); /* documented: x > 0 is treated as 0 */
    assert_true(k_f32_softmax_expf(INFINITY) == 1.0f);
    assert_true(ulp_diff(k_f32_softmax_expf(-87.0f), expf(-87.0f)) <= 2);
    assert_true(ulp_diff(k_f32_softmax_expf(-1e-30f), 1.0f) <= 1);
}

/* Rows of awkward lengths (1, tails of 1..15 past a multiple of 16) with -inf, +inf,
 * NaN and huge values against the double reference; NaN rows must be all NaN. */
static void softmax_rows_special_values_match_reference(void **st)
{
    (void)st;
    tu_seed(31);
    const size_t lens[] = {1, 2, 5, 15, 16, 17, 31, 33, 197, 200};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t K = lens[li], O = 7;
        float *x = malloc(sizeof(float) * O * K), *a = malloc(sizeof(float) * O * K), *b = malloc(sizeof(float) * O * K);
        tu_fill(x, O * K, -30, 30);
        x[1 * K + (K - 1)] = -INFINITY;                 /* row 1: a -inf at the tail */
        for (size_t k = 0; k < K; k++)                  /* row 2: all -inf */
            x[2 * K + k] = -INFINITY;
        x[3 * K + K / 2] = NAN;                          /* row 3: NaN */
        x[4 * K + (K - 1)] = 3e38f;                      /* row 4: a huge max in the tail */
        x[5 * K] = -3e38f;                               /* row 5: a huge negative value */
        x[6 * K + K / 3] = INFINITY;                     /* row 6: +inf */
        for (int v = 0; v < 6; v++) { /* Softmax and LogSoftmax, portable and AVX-512 rows;
                                        * then Softmax in place (y == x), both paths */
            int lg = v < 4 ? v % 2 : 0, simd = v < 4 ? v / 2 : v - 4;
            if (v < 4) {
                k_f32_softmax_rows_x(lg, O, K, x, a, simd);
            } else {
                memcpy(a, x, sizeof(float) * O * K);
                k_f32_softmax_rows_x(0, O, K, a, a, simd);
            }
            k_f32_softmax_ref(lg, O, K, 1, x, b);
            for (size_t i = 0; i < O * K; i++) {
                int ok = isnan(b[i]) ? isnan(a[i])
                                     : (isinf(b[i]) ? a[i] == b[i] : fabsf(a[i] - b[i]) <= 1e-6f + 1e-5f * fabsf(b[i]));
                if (!ok)
                    fail_msg("K %zu log %d simd %d in place %d row %zu col %zu: %.9g, reference %.9g", K, lg, simd, v >= 4, i / K,
                             i % K, (double)a[i], (double)b[i]);
            }
        }
        free(x);
        free(a);
        free(b);
    }
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
        cmocka_unit_test(softmax_expf_matches_libm),
        cmocka_unit_test(softmax_rows_special_values_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
