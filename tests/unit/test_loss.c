/*
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss against a scalar reference
 * written here (double precision) on seeded random data: reductions, weights,
 * ignore_index, N-d inputs, log_prob, float / double / float16, and the run-time
 * error for a label out of range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/half.h"
#include "optest.h"
#include "testutil.h"

static ir_tensor *mk(int dtype, int rank, const int64_t *dims, const void *data)
{
    ir_tensor *t = ir_tensor_new(dtype, rank, dims);
    assert_non_null(t);
    if (data)
        memcpy(t->data, data, ir_tensor_nbytes(t));
    return t;
}

static double get(const ir_tensor *t, size_t i)
{
    switch (t->dtype) {
    case NORMA_FLOAT: return ((const float *)t->data)[i];
    case NORMA_DOUBLE: return ((const double *)t->data)[i];
    default: return half_to_float(((const uint16_t *)t->data)[i]);
    }
}

static void set(ir_tensor *t, size_t i, double v)
{
    switch (t->dtype) {
    case NORMA_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case NORMA_DOUBLE: ((double *)t->data)[i] = v; break;
    default: ((uint16_t *)t->data)[i] = float_to_half((float)v); break;
    }
}

enum { NONE, SUM, MEAN };
static const char *red_name[3] = {"none", "sum", "mean"};

/*
 * Reference: x (N,C,D), labels (N,D), weights (C) or NULL. loss gets N*D values
 * (reduction none) or 1; logp gets log_softmax(x) over C when softmax.
 */
static void ref_loss(int softmax, size_t N, size_t C, size_t D, const ir_tensor *x, const int64_t *lab,
                     const ir_tensor *w, int has_ii, int64_t ii, int red, double *loss, double *logp)
{
    double sum = 0, wsum = 0;
    for (size_t n = 0; n < N; n++)
        for (size_t d = 0; d < D; d++) {
            double lse = 0;
            if (softmax) {
                double mx = -INFINITY, se = 0;
                for (size_t c = 0; c < C; c++)
                    mx = fmax(mx, get(x, (n * C + c) * D + d));
                for (size_t c = 0; c < C; c++)
                    se += exp(get(x, (n * C + c) * D + d) - mx);
                lse = mx + log(se);
                for (size_t c = 0; c < C; c++)
                    logp[(n * C + c) * D + d] = get(x, (n * C + c) * D + d) - lse;
            }
            int64_t t = lab[n * D + d];
            double l = 0, wt = 0;
            if (!(has_ii && t == ii)) {
                wt = w ? get(w, (size_t)t) : 1;
                l = -(get(x, (n * C + (size_t)t) * D + d) - lse) * wt;
            }
            if (red == NONE)
                loss[n * D + d] = l;
            sum += l;
            wsum += wt;
        }
    if (red == SUM)
        loss[0] = sum;
    if (red == MEAN)
        loss[0] = sum / wsum;
}

/* Runs both losses over dtypes, reductions, weights and ignore_index on x (3,4,2,5). */
static void check_loss(int softmax, int dtype, double rtol)
{
    static const int64_t xd[4] = {3, 4, 2, 5};
    const size_t N = 3, C = 4, D = 10;
    tu_seed(21 + (uint64_t)softmax);
    ir_tensor *x = mk(dtype, 4, xd, NULL), *w = mk(dtype, 1, xd + 1, NULL);
    ir_tensor *lab = mk(NORMA_INT64, 3, (const int64_t[]){3, 2, 5}, NULL);
    int64_t *l = lab->data;
    for (size_t i = 0; i < N * C * D; i++)
        set(x, i, softmax ? tu_uniform(-3, 3) : tu_uniform(-5, 0));
    for (size_t i = 0; i < C; i++)
        set(w, i, tu_uniform(0.2f, 2));
    for (size_t i = 0; i < N * D; i++)
        l[i] = (int64_t)tu_uniform(0, 3.999f);
    l[4] = -1; /* ignored below */
    l[7] = -1;
    double want[30], logp[120];
    for (int red = NONE; red <= MEAN; red++)
        for (int use_w = 0; use_w < 2; use_w++)
            for (int has_ii = 0; has_ii < 2; has_ii++) {
                if (!has_ii) /* every label must then be a class */
                    l[4] = l[7] = 2;
                else
                    l[4] = l[7] = -1;
                ot_node t;
                ot_init(&t, softmax ? "SoftmaxCrossEntropyLoss" : "NegativeLogLikelihoodLoss", 13, 0, 0);
                ot_str(&t, "reduction", red_name[red]);
                if (has_ii)
                    ot_int(&t, "ignore_index", -1);
                ir_tensor *in[3] = {x, lab, use_w ? w : NULL}, *out[2] = {0};
                int nout = softmax ? 2 : 1;
                assert_int_equal(ot_run(&t, 3, in, nout, out, 0, 1), NORMA_OK);
                ref_loss(softmax, N, C, D, x, l, use_w ? w : NULL, has_ii, -1, red, want, logp);
                assert_int_equal(out[0]->dtype, dtype);
                if (red == NONE) {
                    assert_int_equal(out[0]->rank, 3);
                    assert_int_equal(out[0]->dims[2], 5);
                } else {
                    assert_int_equal(out[0]->rank, 0);
                }
                size_t n = red == NONE ? 30 : 1;
                for (size_t i = 0; i < n; i++)
                    assert_true(fabs(get(out[0], i) - want[i]) <= 1e-6 + rtol * fabs(want[i]));
                if (softmax) {
                    assert_int_equal(out[1]->rank, 4);
                    for (size_t i = 0; i < 120; i++)
                        assert_true(fabs(get(out[1], i) - logp[i]) <= 1e-6 + rtol * fabs(logp[i]));
                }
                for (int k = 0; k < nout; k++)
                    ir_tensor_free(out[k]);
            }
    ir_tensor_free(x);
    ir_tensor_free(w);
    ir_tensor_free(lab);
}

static void nll_float_nd_all_options_match_reference(void **state)
{
    (void)state;
    check_loss(0, NORMA_FLOAT, 1e-5);
}

static void nll_double_and_half_match_reference(void **state)
{
    (void)state;
    check_loss(0, NORMA_DOUBLE, 1e-12);
    check_loss(0, NORMA_FLOAT16, 2e-3);
}

static void sce_float_nd_with_log_prob_matches_reference(void **state)
{
    (void)state;
    check_loss(1, NORMA_FLOAT, 1e-5);
}

static void sce_double_and_half_match_reference(void **state)
{
    (void)state;
    check_loss(1, NORMA_DOUBLE, 1e-12);
    check_loss(1, NORMA_FLOAT16, 2e-3);
}

static void sce_without_log_prob_output_and_int32_labels(void **state)
{
    (void)state;
    float x[6] = {1, 2, 3, 1, 1, 1}; /* (2, 3) */
    int32_t lab[2] = {2, 0};
    int64_t xd[2] = {2, 3}, ld = 2;
    ir_tensor *in[2] = {mk(NORMA_FLOAT, 2, xd, x), mk(NORMA_INT32, 1, &ld, lab)}, *out[1] = {0};
    ot_node t;
    ot_init(&t, "SoftmaxCrossEntropyLoss", 12, 0, 0);
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_OK);
    double l0 = -(3 - log(exp(1.0) + exp(2.0) + exp(3.0))), l1 = log(3.0);
    assert_float_equal(*(float *)out[0]->data, (float)((l0 + l1) / 2), 1e-6);
    ir_tensor_free(out[0]);
    ir_tensor_free(in[0]);
    ir_tensor_free(in[1]);
}

static void nll_mean_with_every_label_ignored_is_nan(void **state)
{
    (void)state;
    float x[4] = {-1, -2, -3, -4};
    int64_t lab[2] = {7, 7}, xd[2] = {2, 2}, ld = 2;
    ir_tensor *in[2] = {mk(NORMA_FLOAT, 2, xd, x), mk(NORMA_INT64, 1, &ld, lab)}, *out[1] = {0};
    ot_node t;
    ot_init(&t, "NegativeLogLikelihoodLoss", 13, 0, 0);
    ot_int(&t, "ignore_index", 7);
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_OK);
    assert_true(isnan(*(float *)out[0]->data));
    ir_tensor_free(out[0]);
    ir_tensor_free(in[0]);
    ir_tensor_free(in[1]);
}

static void label_out_of_range_is_runtime_error_naming_node(void **state)
{
    (void)state;
    float x[8] = {0};
    int64_t lab[2] = {1, 4}, xd[2] = {2, 4}, ld = 2;
    ir_tensor *in[2] = {mk(NORMA_FLOAT, 2, xd, x), mk(NORMA_INT64, 1, &ld, lab)}, *out[2] = {0};
    ot_node t;
    ot_init(&t, "NegativeLogLikelihoodLoss", 13, 0, 0);
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "NegativeLogLikelihoodLoss 'n0': target 4 at position 1 is outside [0, 4)"));
    /* a negative label that is not the ignore_index */
    ((int64_t *)in[1]->data)[1] = -2;
    ot_init(&t, "SoftmaxCrossEntropyLoss", 13, 0, 0);
    ot_int(&t, "ignore_index", -1);
    assert_int_equal(ot_run(&t, 2, in, 2, out, 0, 1), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "SoftmaxCrossEntropyLoss 'n0': target -2 at position 1 is outside [0, 4)"));
    ir_tensor_free(in[0]);
    ir_tensor_free(in[1]);
}

static void bad_shapes_and_reduction_fail(void **state)
{
    (void)state;
    int64_t xd[3] = {2, 4, 3}, ld[2] = {2, 2}, wd = 3;
    ir_tensor *in[3] = {mk(NORMA_FLOAT, 3, xd, NULL), mk(NORMA_INT64, 2, ld, NULL), mk(NORMA_FLOAT, 1, &wd, NULL)},
              *out[1] = {0};
    ot_node t;
    ot_init(&t, "NegativeLogLikelihoodLoss", 13, 0, 0);
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "target dimension 1 is 2 but the input's is 3"));
    in[1]->dims[1] = 3;
    assert_int_equal(ot_run(&t, 3, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "weight must have shape (4)"));
    ot_str(&t, "reduction", "max");
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "unknown reduction 'max'"));
    for (int i = 0; i < 3; i++)
        ir_tensor_free(in[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nll_float_nd_all_options_match_reference),
        cmocka_unit_test(nll_double_and_half_match_reference),
        cmocka_unit_test(sce_float_nd_with_log_prob_matches_reference),
        cmocka_unit_test(sce_double_and_half_match_reference),
        cmocka_unit_test(sce_without_log_prob_output_and_int32_labels),
        cmocka_unit_test(nll_mean_with_every_label_ignored_is_nan),
        cmocka_unit_test(label_out_of_range_is_runtime_error_naming_node),
        cmocka_unit_test(bad_shapes_and_reduction_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
