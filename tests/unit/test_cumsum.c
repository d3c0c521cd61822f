/* CumSum: every axis with exclusive / reverse against a naive reference (float,
 * double, int32 incl. wrap-around); axis read at run time and checked. */
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

/* y[i] along axis a of (d0,d1,d2): sum of x over j in the window (j<i, j<=i, j>i, j>=i). */
static double ref_cum(const double *x, const int64_t *d, int a, const int64_t *p, int ex, int rev)
{
    double s = 0;
    for (int64_t j = 0; j < d[a]; j++) {
        int take = rev ? (ex ? j > p[a] : j >= p[a]) : (ex ? j < p[a] : j <= p[a]);
        if (!take)
            continue;
        int64_t q[3] = {p[0], p[1], p[2]};
        q[a] = j;
        s += x[(q[0] * d[1] + q[1]) * d[2] + q[2]];
    }
    return s;
}

static void cumsum_all_modes_match_reference(void **state)
{
    (void)state;
    tu_seed(11);
    int64_t d[3] = {2, 9, 3};
    float xf[54];
    double xd[54];
    for (int i = 0; i < 54; i++)
        xd[i] = xf[i] = tu_uniform(-2, 2);
    int64_t ad = 1;
    for (int dt = 0; dt < 2; dt++)
        for (int axis = -3; axis < 3; axis++)
            for (int ex = 0; ex < 2; ex++)
                for (int rev = 0; rev < 2; rev++) {
                    int64_t av = axis;
                    ir_tensor *ins[2] = {dt ? ot_tensor(NORMA_DOUBLE, 3, d, xd) : ot_f32(3, d, xf),
                                         ot_i64(1, &ad, &av)},
                              *outs[1] = {0};
                    ot_node t;
                    ot_init(&t, "CumSum", 14, 2, 1);
                    ot_int(&t, "exclusive", ex);
                    ot_int(&t, "reverse", rev);
                    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
                    int a = axis < 0 ? axis + 3 : axis;
                    for (int64_t i = 0; i < 54; i++) {
                        int64_t p[3] = {i / 27, i / 3 % 9, i % 3};
                        double want = ref_cum(xd, d, a, p, ex, rev);
                        double got = dt ? ((double *)outs[0]->data)[i] : ((float *)outs[0]->data)[i];
                        assert_true(fabs(got - want) <= 1e-5 + 1e-5 * fabs(want));
                    }
                    ot_free(outs, 1);
                    ot_free(ins, 2);
                }
}

static void cumsum_int32_wraps_without_overflow_trap(void **state)
{
    (void)state;
    int32_t x[3] = {INT32_MAX, 1, 5}, y[3];
    k_i32_cumsum_ref(x, 1, 3, 1, 0, 0, y);
    assert_int_equal(y[0], INT32_MAX);
    assert_int_equal(y[1], INT32_MIN);
    assert_int_equal(y[2], INT32_MIN + 5);
    k_i32_cumsum_ref(x, 1, 3, 1, 1, 1, y); /* exclusive reverse */
    assert_int_equal(y[2], 0);
    assert_int_equal(y[1], 5);
    assert_int_equal(y[0], 6);
}

static void cumsum_axis_out_of_range_fails(void **state)
{
    (void)state;
    int64_t d = 4, ad = 1, av = 1;
    ir_tensor *ins[2] = {ot_f32(1, &d, NULL), ot_i64(1, &ad, &av)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "CumSum", 14, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "CumSum 'n0': axis 1 is out of range for rank 1"));
    /* axis unknown at plan time: infer succeeds (the shape does not depend on it) */
    ir_tensor so[2] = {ot_shape_only(ins[0]), ot_shape_only(ins[1])};
    ir_tensor *sop[2] = {&so[0], &so[1]};
    assert_int_equal(ot_infer(&t, sop), NORMA_OK);
    ot_free(ins, 2);
}

static void cumsum_two_threads_match_one(void **state)
{
    (void)state;
    static float buf[64 * 33 * 40];
    int64_t d[3] = {64, 33, 40};
    tu_seed(31);
    for (size_t i = 0; i < sizeof buf / sizeof *buf; i++)
        buf[i] = floorf(tu_uniform(0, 8));
    int64_t av = -2;
    ir_tensor ax = {.dtype = NORMA_INT64, .rank = 1, .dims = {1}, .data = &av};
    ot_node t;
    ot_init(&t, "CumSum", 14, 0, 0);
    ot_int(&t, "reverse", 1);
    ir_tensor x = ot_view(NORMA_FLOAT, 3, d, buf), *in[2] = {&x, &ax}, *y1[1] = {0}, *y2[1] = {0};
    assert_int_equal(ot_run(&t, 2, in, 1, y1, 2, 1), NORMA_OK);
    assert_int_equal(ot_run(&t, 2, in, 1, y2, 2, 2), NORMA_OK);
    assert_memory_equal(y1[0]->data, y2[0]->data, ir_tensor_nbytes(y1[0]));
    ir_tensor_free(y1[0]);
    ir_tensor_free(y2[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cumsum_two_threads_match_one),
        cmocka_unit_test(cumsum_all_modes_match_reference),
        cmocka_unit_test(cumsum_int32_wraps_without_overflow_trap),
        cmocka_unit_test(cumsum_axis_out_of_range_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
