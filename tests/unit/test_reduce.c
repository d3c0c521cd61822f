/* Reductions: the rows/mid fast paths against the strided double reference for every
 * op on awkward shapes and axis sets, NaN, axes as input, noop, errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "optest.h"
#include "kernels/reduce.h"
#include "testutil.h"

static const char *const names[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin",
                                    "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
                                    "ReduceLogSumExp", "ReduceSumSquare"};

typedef struct case_ {
    int r;
    int64_t dims[4];
    int na;
    int64_t axes[4];
} case_;

static const case_ cases[] = {
    {3, {3, 17, 5}, 1, {2}},        /* rows */
    {3, {3, 17, 5}, 1, {1}},        /* mid */
    {3, {3, 17, 5}, 1, {0}},        /* leading: mid with O = 1 */
    {3, {3, 17, 5}, 2, {0, 2}},     /* two blocks: reference */
    {4, {2, 1, 9, 33}, 2, {-1, 1}}, /* size-1 axis merged away: rows */
    {2, {1, 1}, 1, {0}},            /* one element */
    {3, {4, 130, 3}, 0, {0}},       /* all axes */
    {3, {64, 50, 40}, 1, {1}},      /* large mid, threads */
    {2, {300, 500}, 1, {1}},        /* large rows, threads */
};

static void reduce_fast_paths_match_reference(void **st)
{
    (void)st;
    tu_seed(3);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int op = K_RED_SUM; op <= K_RED_SUM_SQUARE; op++)
            for (int keep = 0; keep <= 1; keep++) {
                const case_ *cs = &cases[c];
                int ok;
                size_t n = ir_numel_checked(cs->r, cs->dims, &ok);
                float *x = malloc(n * sizeof(float));
                int positive = op == K_RED_LOG_SUM || op == K_RED_PROD;
                tu_fill(x, n, positive ? 0.9f : -2.0f, positive ? 1.1f : 2.0f);
                ir_tensor tx = ot_view(NORMA_FLOAT, cs->r, cs->dims, x);
                ir_tensor *ins[1] = {&tx}, *y;
                ot_node e;
                ot_init(&e, names[op], op == K_RED_SUM ? 11 : 13, 1, 1);
                if (cs->na)
                    ot_ints(&e, "axes", cs->axes, cs->na);
                ot_int(&e, "keepdims", keep);
                assert_int_equal(ot_run1(&e, ins, 4, &y), NORMA_OK);
                int red[8];
                for (int d = 0; d < cs->r; d++)
                    red[d] = cs->na == 0;
                for (int k = 0; k < cs->na; k++)
                    red[op_axis(cs->axes[k], cs->r)] = 1;
                size_t m = ir_tensor_numel(y);
                float *ref = malloc(m * sizeof(float));
                k_f32_reduce_ref(op, cs->r, cs->dims, red, x, ref);
                double err = tu_max_rel_err(y->data, ref, m, 1e-5, 1e-4);
                if (err > 1)
                    fail_msg("%s case %zu: error %g", names[op], c, err);
                int want_rank = keep ? cs->r : 0;
                if (!keep)
                    for (int d = 0; d < cs->r; d++)
                        want_rank += !red[d];
                assert_int_equal(y->rank, want_rank);
                free(ref);
                free(x);
                ir_tensor_free(y);
            }
}

static void reduce_max_and_sum_propagate_nan(void **st)
{
    (void)st;
    float x[6] = {1, NAN, 3, 4, 5, 6};
    int64_t d[2] = {2, 3}, ax[1] = {1};
    ir_tensor tx = ot_view(NORMA_FLOAT, 2, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    const char *ops[3] = {"ReduceMax", "ReduceSum", "ReduceLogSumExp"};
    for (int k = 0; k < 3; k++) {
        ot_node e;
        ot_init(&e, ops[k], 11, 1, 1);
        ot_ints(&e, "axes", ax, 1);
        assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
        assert_true(isnan(((float *)y->data)[0]));
        assert_false(isnan(((float *)y->data)[1]));
        ir_tensor_free(y);
    }
}

static void reduce_log_sum_exp_large_values_finite(void **st)
{
    (void)st;
    float x[3] = {1000, 1001, 1002};
    int64_t d[1] = {3};
    ir_tensor tx = ot_view(NORMA_FLOAT, 1, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "ReduceLogSumExp", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    float v = ((float *)y->data)[0];
    assert_true(fabsf(v - 1002.4076f) < 1e-3f);
    ir_tensor_free(y);
}

static void reduce_sum_axes_input_and_noop(void **st)
{
    (void)st;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t d[2] = {2, 3}, ax[1] = {-2}, dax[1] = {1}, dempty[1] = {0};
    ir_tensor tx = ot_view(NORMA_FLOAT, 2, d, x), ta = ot_view(NORMA_INT64, 1, dax, ax);
    ir_tensor *ins[2] = {&tx, &ta}, *y;
    ot_node e;
    ot_init(&e, "ReduceSum", 13, 2, 1);
    ot_int(&e, "keepdims", 0);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    assert_int_equal(y->rank, 1);
    const float want[3] = {5, 7, 9};
    assert_memory_equal(y->data, want, sizeof want);
    ir_tensor_free(y);
    /* empty axes with noop_with_empty_axes: identity */
    ir_tensor te = ot_view(NORMA_INT64, 1, dempty, NULL);
    ir_tensor *ins2[2] = {&tx, &te};
    ot_init(&e, "ReduceSum", 13, 2, 1);
    ot_int(&e, "noop_with_empty_axes", 1);
    assert_int_equal(ot_run1(&e, ins2, 1, &y), NORMA_OK);
    assert_memory_equal(y->data, x, sizeof x);
    ir_tensor_free(y);
    /* axes not known at plan time: infer asks for their data */
    ir_tensor tunk = ot_view(NORMA_INT64, 1, dax, NULL);
    ir_tensor *ins3[2] = {&tx, &tunk};
    ot_init(&e, "ReduceSum", 13, 2, 1);
    assert_int_equal(ot_run1(&e, ins3, 1, &y), OP_NEEDS_DATA);

}

static void reduce_bad_axes_fail(void **st)
{
    (void)st;
    float x[6] = {0};
    int64_t d[2] = {2, 3}, big[1] = {2}, rep[2] = {1, -1};
    ir_tensor tx = ot_view(NORMA_FLOAT, 2, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "ReduceMean", 13, 1, 1);
    ot_ints(&e, "axes", big, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "ReduceMean 'n0': axis 2 is out of range for rank 2"));
    ot_init(&e, "ReduceMean", 13, 1, 1);
    ot_ints(&e, "axes", rep, 2);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "repeated"));
    /* ReduceSum 13 takes axes as an input only */
    ot_init(&e, "ReduceSum", 13, 1, 1);
    ot_ints(&e, "axes", big, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "not an attribute"));
}

static void reduce_int64_sum_max(void **st)
{
    (void)st;
    int64_t x[6] = {1, -2, 3, 40, 5, -6}, d[2] = {2, 3}, ax[1] = {0};
    ir_tensor tx = ot_view(NORMA_INT64, 2, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "ReduceMax", 13, 1, 1);
    ot_ints(&e, "axes", ax, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const int64_t want[3] = {40, 5, 3};
    assert_memory_equal(y->data, want, sizeof want);
    ir_tensor_free(y);
    ot_init(&e, "ReduceSum", 11, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    assert_int_equal(((int64_t *)y->data)[0], 41);
    ir_tensor_free(y);
    ot_init(&e, "ReduceL2", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reduce_fast_paths_match_reference),
        cmocka_unit_test(reduce_max_and_sum_propagate_nan),
        cmocka_unit_test(reduce_log_sum_exp_large_values_finite),
        cmocka_unit_test(reduce_sum_axes_input_and_noop),
        cmocka_unit_test(reduce_bad_axes_fail),
        cmocka_unit_test(reduce_int64_sum_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
