/* Unary elementwise ops: the per-op loops against the per-element reference (NaN and
 * infinities included), Clip's attribute and input forms, integer dtypes, errors. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "optest.h"
#include "ir/half.h"
#include "kernels/fastmath.h"
#include "kernels/unary.h"
#include "testutil.h"

static void unary_f32_loops_match_reference(void **st)
{
    (void)st;
    static const size_t sizes[] = {1, 7, 17, 1000};
    tu_seed(5);
    for (int op = 0; op < K_UN_COUNT; op++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            size_t n = sizes[s];
            float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)),
                  *r = malloc(n * sizeof(float));
            int positive = op == K_UN_LOG || op == K_UN_SQRT;
            tu_fill(x, n, positive ? 0.01f : -8.0f, 8.0f);
            if (n > 3) {
                x[1] = NAN;
                x[2] = positive ? INFINITY : -INFINITY;
                x[3] = 0.0f;
            }
            float alpha = op == K_UN_CLIP ? -1.5f : 0.3f, beta = op == K_UN_CLIP ? 2.5f : 0.4f;
            k_f32_unary(op, n, x, y, alpha, beta, 1.2f);
            k_f32_unary_ref(op, n, x, r, alpha, beta, 1.2f);
            double err = tu_max_rel_err(y, r, n, 1e-6, 1e-5);
            if (err > 1)
                fail_msg("op %d n %zu: error %g", op, n, err);
            free(x);
            free(y);
            free(r);
        }
}

/* The vectorizable exp and tanh against double libm over their whole useful range. */
static void fast_exp_tanh_are_accurate(void **st)
{
    (void)st;
    double we = 0, wt = 0;
    for (float x = -87.0f; x < 88.5f; x += 0.0137f) {
        double e = exp((double)x), t = tanh((double)x);
        double re = fabs((double)k_expf(x) - e) / e;
        double rt = fabs((double)k_tanhf(x) - t) / (fabs(t) + 1e-30);
        we = re > we ? re : we;
        wt = rt > wt ? rt : wt;
    }
    if (we > 2.5e-7 || wt > 1e-6)
        fail_msg("exp rel err %g, tanh rel err %g", we, wt);
    assert_true(isnan(k_expf(NAN)) && isnan(k_tanhf(NAN)));
    assert_true(k_expf(89.0f) == INFINITY && k_expf(-100.0f) == 0.0f);
    assert_true(k_tanhf(INFINITY) == 1.0f && k_tanhf(-INFINITY) == -1.0f);
    assert_true(k_tanhf(1e-5f) == 1e-5f);
}

static ir_tensor *run1(const char *op, int opset, const float *x, int64_t n, int threads, int *rc)
{
    ir_tensor tx = ot_view(NORMA_FLOAT, 1, &n, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, op, opset, 1, 1);
    *rc = ot_run1(&e, ins, threads, &y);
    return y;
}

static void unary_nan_propagates_like_numpy(void **st)
{
    (void)st;
    static const char *const ops[] = {"Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid",
                                      "HardSwish", "Tanh", "Softplus", "Softsign", "Erf", "Exp",
                                      "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Floor", "Ceil",
                                      "Clip", "Sign", "Round", "Sin", "Cos", "Tan", "Asin",
                                      "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
                                      "ThresholdedRelu", "Shrink", "Celu", "Mish"};
    float x[3] = {NAN, 1.0f, -1.0f};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        int rc;
        ir_tensor *y = run1(ops[k], 18, x, 3, 1, &rc);
        assert_int_equal(rc, NORMA_OK);
        if (!isnan(((float *)y->data)[0]))
            fail_msg("%s(NaN) is not NaN", ops[k]);
        ir_tensor_free(y);
    }
}

static void unary_relu_large_input_threads(void **st)
{
    (void)st;
    size_t n = 200003;
    float *x = malloc(n * sizeof(float));
    tu_seed(9);
    tu_fill(x, n, -1, 1);
    int rc;
    ir_tensor *y = run1("Relu", 14, x, (int64_t)n, 4, &rc);
    assert_int_equal(rc, NORMA_OK);
    const float *v = y->data;
    for (size_t i = 0; i < n; i++)
        if (v[i] != (x[i] < 0 ? 0.0f : x[i]))
            fail_msg("element %zu", i);
    ir_tensor_free(y);
    free(x);
}

static void clip_attributes_and_inputs(void **st)
{
    (void)st;
    float x[5] = {-5, -1, 0, 1, 5};
    int64_t d[1] = {5};
    ir_tensor tx = ot_view(NORMA_FLOAT, 1, d, x);
    ir_tensor *y;
    ot_node e;
    /* opset 6: attributes */
    ot_init(&e, "Clip", 6, 1, 1);
    ot_float(&e, "min", -2);
    ot_float(&e, "max", 0.5f);
    ir_tensor *ins1[1] = {&tx};
    assert_int_equal(ot_run1(&e, ins1, 1, &y), NORMA_OK);
    const float want6[5] = {-2, -1, 0, 0.5f, 0.5f};
    assert_memory_equal(y->data, want6, sizeof want6);
    ir_tensor_free(y);
    /* opset 13: max only (min omitted) */
    float mx = 1.5f;
    ir_tensor tmax = ot_view(NORMA_FLOAT, 0, NULL, &mx);
    ir_tensor *ins3[3] = {&tx, NULL, &tmax};
    ot_init(&e, "Clip", 13, 3, 1);
    assert_int_equal(ot_run1(&e, ins3, 1, &y), NORMA_OK);
    const float want13[5] = {-5, -1, 0, 1, 1.5f};
    assert_memory_equal(y->data, want13, sizeof want13);
    ir_tensor_free(y);
    /* a non-scalar bound is rejected */
    float two[2] = {0, 1};
    int64_t d2[1] = {2};
    ir_tensor tmin2 = ot_view(NORMA_FLOAT, 1, d2, two);
    ir_tensor *bad[2] = {&tx, &tmin2};
    ot_init(&e, "Clip", 13, 2, 1);
    assert_int_equal(ot_run1(&e, bad, 1, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(e.err, "min must be a scalar"));
}

static void clip_int8_defaults_and_bounds(void **st)
{
    (void)st;
    int8_t x[4] = {-128, -3, 3, 127}, lo = -2;
    int64_t d[1] = {4};
    ir_tensor tx = ot_view(NORMA_INT8, 1, d, x), tlo = ot_view(NORMA_INT8, 0, NULL, &lo);
    ir_tensor *ins[2] = {&tx, &tlo}, *y;
    ot_node e;
    ot_init(&e, "Clip", 13, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const int8_t want[4] = {-2, -2, 3, 127};
    assert_memory_equal(y->data, want, sizeof want);
    ir_tensor_free(y);
}

static void neg_abs_int64_and_double(void **st)
{
    (void)st;
    int64_t x[3] = {-4, 0, INT64_MIN}, d[1] = {3};
    ir_tensor tx = ot_view(NORMA_INT64, 1, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "Abs", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const int64_t *v = y->data;
    assert_true(v[0] == 4 && v[1] == 0 && v[2] == INT64_MIN); /* wraps, no UB */
    ir_tensor_free(y);
    double xd[2] = {-0.25, 4};
    ir_tensor td = ot_view(NORMA_DOUBLE, 1, (int64_t[]){2}, xd);
    ir_tensor *insd[1] = {&td};
    ot_init(&e, "Sqrt", 13, 1, 1);
    assert_int_equal(ot_run1(&e, insd, 1, &y), NORMA_OK);
    assert_true(isnan(((double *)y->data)[0]) && ((double *)y->data)[1] == 2.0);
    ir_tensor_free(y);
}

static void unary_unsupported_dtype_fails(void **st)
{
    (void)st;
    int64_t x[1] = {1}, d[1] = {1};
    ir_tensor tx = ot_view(NORMA_INT64, 1, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "Sigmoid", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.err, "Sigmoid 'n0': input 0 has dtype int64"));
}

static void unary_attributes_are_used(void **st)
{
    (void)st;
    float x[2] = {-2, 3};
    int64_t d[1] = {2};
    ir_tensor tx = ot_view(NORMA_FLOAT, 1, d, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "LeakyRelu", 16, 1, 1);
    ot_float(&e, "alpha", 0.25f);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    assert_true(((float *)y->data)[0] == -0.5f && ((float *)y->data)[1] == 3.0f);
    ir_tensor_free(y);
    ot_init(&e, "HardSigmoid", 6, 1, 1);
    ot_float(&e, "alpha", 0.5f);
    ot_float(&e, "beta", 0.25f);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    assert_true(((float *)y->data)[0] == 0.0f && ((float *)y->data)[1] == 1.0f);
    ir_tensor_free(y);
}

static void round_is_half_to_even(void **st)
{
    (void)st;
    const float x[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f, 1e20f};
    const float want[8] = {0.0f, 2.0f, 2.0f, -0.0f, -2.0f, 2.0f, -3.0f, 1e20f};
    int rc;
    ir_tensor *y = run1("Round", 11, x, 8, 1, &rc);
    assert_int_equal(rc, NORMA_OK);
    for (int i = 0; i < 8; i++)
        if (((float *)y->data)[i] != want[i])
            fail_msg("Round(%g) = %g, want %g", x[i], ((float *)y->data)[i], want[i]);
    ir_tensor_free(y);
}

static void shrink_celu_thresholded_attributes(void **st)
{
    (void)st;
    const float x[5] = {-2.0f, -1.0f, 0.0f, 1.0f, 2.0f};
    int64_t n = 5;
    ir_tensor tx = ot_view(NORMA_FLOAT, 1, &n, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "Shrink", 9, 1, 1);
    ot_float(&e, "lambd", 1.5f);
    ot_float(&e, "bias", 0.5f);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const float ws[5] = {-1.5f, 0.0f, 0.0f, 0.0f, 1.5f};
    assert_memory_equal(y->data, ws, sizeof ws);
    ir_tensor_free(y);

    ot_init(&e, "Celu", 12, 1, 1);
    ot_float(&e, "alpha", 2.0f);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const float *py = y->data;
    assert_true(fabs(py[1] - 2.0 * (exp(-0.5) - 1.0)) < 1e-6 && py[4] == 2.0f && py[2] == 0.0f);
    ir_tensor_free(y);

    ot_init(&e, "ThresholdedRelu", 10, 1, 1);
    ot_float(&e, "alpha", 1.0f);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const float wt[5] = {0.0f, 0.0f, 0.0f, 0.0f, 2.0f};
    assert_memory_equal(y->data, wt, sizeof wt);
    ir_tensor_free(y);

    ot_init(&e, "Celu", 12, 1, 1);
    ot_float(&e, "alpha", 0.0f);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "alpha must not be 0"));
}

/* float16 inputs are computed in float32 and rounded once: equal to the float32 op's
 * result rounded to half. */
static void unary_float16_matches_float32_rounded(void **st)
{
    (void)st;
    static const char *const ops[] = {"Relu", "Sigmoid", "Exp", "Abs", "Neg", "Sin", "Cos",
                                      "Round", "Sign", "Tanh", "Elu", "Softplus"};
    enum { N = 1031 };
    float x[N];
    uint16_t h[N];
    tu_seed(21);
    tu_fill(x, N, -4.0f, 4.0f);
    for (int i = 0; i < N; i++) {
        h[i] = float_to_half(x[i]);
        x[i] = half_to_float(h[i]);
    }
    int64_t n = N;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        ir_tensor th = ot_view(NORMA_FLOAT16, 1, &n, h), tf = ot_view(NORMA_FLOAT, 1, &n, x);
        ir_tensor *ih[1] = {&th}, *iff[1] = {&tf}, *yh, *yf;
        ot_node e;
        ot_init(&e, ops[k], 13, 1, 1);
        assert_int_equal(ot_run1(&e, ih, 1, &yh), NORMA_OK);
        assert_int_equal(yh->dtype, NORMA_FLOAT16);
        ot_init(&e, ops[k], 13, 1, 1);
        assert_int_equal(ot_run1(&e, iff, 1, &yf), NORMA_OK);
        for (int i = 0; i < N; i++) {
            uint16_t want = float_to_half(((float *)yf->data)[i]), got = ((uint16_t *)yh->data)[i];
            if (want != got)
                fail_msg("%s(%g): half %04x, want %04x", ops[k], x[i], got, want);
        }
        ir_tensor_free(yh);
        ir_tensor_free(yf);
    }
}

static void sign_integer_and_double(void **st)
{
    (void)st;
    const int8_t xi[4] = {-128, -3, 0, 127};
    const uint16_t xu[3] = {0, 1, 65535};
    const double xd[4] = {-2.5, 0.0, 3.0, 0.5};
    int64_t n4 = 4, n3 = 3;
    ir_tensor ti = ot_view(NORMA_INT8, 1, &n4, xi), tu = ot_view(NORMA_UINT16, 1, &n3, xu),
              td = ot_view(NORMA_DOUBLE, 1, &n4, xd);
    ir_tensor *ins[1], *y;
    ot_node e;
    ins[0] = &ti;
    ot_init(&e, "Sign", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const int8_t wi[4] = {-1, -1, 0, 1};
    assert_memory_equal(y->data, wi, sizeof wi);
    ir_tensor_free(y);
    ins[0] = &tu;
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const uint16_t wu[3] = {0, 1, 1};
    assert_memory_equal(y->data, wu, sizeof wu);
    ir_tensor_free(y);
    ins[0] = &td;
    ot_init(&e, "Acosh", 9, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    assert_true(isnan(((double *)y->data)[0]) && ((double *)y->data)[2] == acosh(3.0));
    ir_tensor_free(y);
    ins[0] = &ti;
    ot_init(&e, "Sin", 7, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.err, "int8"));
}

/* The fused Sigmoid and SiLU activations (k_f32_sigmoid_inplace) give the Sigmoid op's
 * values bit for bit, and SiLU those of a Mul by them: on random data across the whole
 * range, lengths around the vector widths, and inf, -inf, NaN, +-0 and the exp limits. */
static void sigmoid_inplace_matches_sigmoid_op_and_mul(void **st)
{
    (void)st;
    tu_seed(41);
    static const size_t lens[] = {1, 7, 16, 17, 33, 1000};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        size_t n = lens[li];
        float *x = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float));
        tu_fill(x, n, -100, 100);
        static const float special[] = {INFINITY, -INFINITY, NAN, 0.0f, -0.0f, 88.8f, -87.4f, 1e-8f, -1e-8f};
        for (size_t k = 0; k < n && k < sizeof special / sizeof special[0]; k++)
            x[(k * 7) % n] = special[k];
        for (int silu = 0; silu <= 1; silu++) {
            memcpy(a, x, n * sizeof(float));
            k_f32_sigmoid_inplace(n, a, silu);
            k_f32_unary(K_UN_SIGMOID, n, x, b, 0, 0, 0);
            for (size_t k = 0; k < n; k++) {
                float want = silu ? x[k] * b[k] : b[k];
                if (memcmp(&a[k], &want, sizeof want) && !(isnan(a[k]) && isnan(want)))
                    fail_msg("n %zu silu %d: x %g gives %.9g, want %.9g", n, silu, x[k], a[k], want);
            }
        }
        free(x);
        free(a);
        free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unary_f32_loops_match_reference),
        cmocka_unit_test(fast_exp_tanh_are_accurate),
        cmocka_unit_test(sigmoid_inplace_matches_sigmoid_op_and_mul),
        cmocka_unit_test(unary_nan_propagates_like_numpy),
        cmocka_unit_test(unary_relu_large_input_threads),
        cmocka_unit_test(clip_attributes_and_inputs),
        cmocka_unit_test(clip_int8_defaults_and_bounds),
        cmocka_unit_test(neg_abs_int64_and_double),
        cmocka_unit_test(unary_unsupported_dtype_fails),
        cmocka_unit_test(unary_attributes_are_used),
        cmocka_unit_test(round_is_half_to_even),
        cmocka_unit_test(shrink_celu_thresholded_attributes),
        cmocka_unit_test(unary_float16_matches_float32_rounded),
        cmocka_unit_test(sign_integer_and_double),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
