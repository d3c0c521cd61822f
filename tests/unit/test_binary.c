/* Binary and variadic elementwise ops: the run-splitting fast path against the scalar
 * strided reference on awkward broadcasts, NaN semantics, dtypes, legacy broadcast and
 * error paths. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "optest.h"
#include "kernels/binary.h"
#include "testutil.h"

typedef struct shape_pair {
    int ra;
    int64_t a[4];
    int rb;
    int64_t b[4];
} shape_pair;

static const shape_pair pairs[] = {
    {3, {3, 17, 5}, 3, {3, 17, 5}},   /* same shape */
    {2, {7, 33}, 0, {0}},             /* scalar */
    {2, {7, 33}, 1, {33}},            /* row */
    {2, {7, 33}, 2, {7, 1}},          /* column */
    {1, {1}, 1, {1}},                 /* one element */
    {3, {5, 1, 9}, 3, {1, 6, 1}},     /* both sides broadcast */
    {4, {2, 1, 5, 1}, 3, {3, 1, 4}},  /* rank difference and interleaved 1s */
    {2, {1, 19}, 3, {4, 3, 1}},       /* a broadcasts along two dims */
    {2, {300, 257}, 1, {257}},        /* long rows, several tasks */
    {1, {40000}, 1, {40000}},         /* one long run split into chunks */
    {3, {3, 0, 4}, 1, {4}},           /* empty */
};

static const int ops[] = {K_BIN_ADD, K_BIN_SUB, K_BIN_MUL, K_BIN_DIV, K_BIN_POW, K_BIN_MAX, K_BIN_MIN};
static const char *const names[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};

static void binary_broadcasts_match_reference(void **st)
{
    (void)st;
    tu_seed(11);
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++)
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
            for (int threads = 1; threads <= 4; threads += 3) {
                const shape_pair *sp = &pairs[p];
                int ok;
                size_t na = ir_numel_checked(sp->ra, sp->a, &ok), nb = ir_numel_checked(sp->rb, sp->b, &ok);
                float *a = malloc((na + 1) * sizeof(float)), *b = malloc((nb + 1) * sizeof(float));
                tu_fill(a, na, ops[k] == K_BIN_POW ? 0.1f : -3.0f, 3.0f);
                tu_fill(b, nb, -3.0f, 3.0f);
                if (ops[k] == K_BIN_DIV)
                    for (size_t i = 0; i < nb; i++)
                        b[i] += b[i] < 0 ? -0.5f : 0.5f;
                ir_tensor ta = ot_view(NORMA_FLOAT, sp->ra, sp->a, a);
                ir_tensor tb = ot_view(NORMA_FLOAT, sp->rb, sp->b, b);
                ir_tensor *ins[2] = {&ta, &tb}, *y;
                ot_node e;
                ot_init(&e, names[k], 14, 2, 1);
                assert_int_equal(ot_run1(&e, ins, threads, &y), NORMA_OK);
                size_t n = ir_tensor_numel(y);
                float *ref = malloc((n + 1) * sizeof(float));
                int64_t sa[8], sb[8];
                op_broadcast_strides(&ta, y->rank, y->dims, sa);
                op_broadcast_strides(&tb, y->rank, y->dims, sb);
                k_f32_binary_ref(ops[k], y->rank, y->dims, a, sa, b, sb, ref);
                double err = tu_max_rel_err(y->data, ref, n, 1e-30, 1e-6);
                if (err > 1)
                    fail_msg("%s pair %zu threads %d: error %g", names[k], p, threads, err);
                free(ref);
                free(a);
                free(b);
                ir_tensor_free(y);
            }
}

static void binary_incompatible_shapes_fail_with_message(void **st)
{
    (void)st;
    float a[12] = {0}, b[5] = {0};
    int64_t da[2] = {3, 4}, db[1] = {5};
    ir_tensor ta = ot_view(NORMA_FLOAT, 2, da, a), tb = ot_view(NORMA_FLOAT, 1, db, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Mul", 14, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(e.err, "Mul 'n0'"));
    assert_non_null(strstr(e.err, "(3,4) and (5)"));
}

static void binary_dtype_mismatch_fails(void **st)
{
    (void)st;
    float a[2] = {0};
    int64_t b[2] = {0}, d[1] = {2};
    ir_tensor ta = ot_view(NORMA_FLOAT, 1, d, a), tb = ot_view(NORMA_INT64, 1, d, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Add", 14, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "dtype int64"));
}

static void binary_max_min_propagate_nan(void **st)
{
    (void)st;
    float a[4] = {NAN, 1, 2, NAN}, b[4] = {0, NAN, 1, NAN};
    int64_t d[1] = {4};
    ir_tensor ta = ot_view(NORMA_FLOAT, 1, d, a), tb = ot_view(NORMA_FLOAT, 1, d, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    const char *opn[2] = {"Max", "Min"};
    for (int k = 0; k < 2; k++) {
        ot_node e;
        ot_init(&e, opn[k], 13, 2, 1);
        assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
        const float *v = y->data;
        assert_true(isnan(v[0]) && isnan(v[1]) && isnan(v[3]));
        assert_true(v[2] == (k == 0 ? 2.0f : 1.0f));
        ir_tensor_free(y);
    }
}

static void binary_int_division_by_zero_is_runtime_error(void **st)
{
    (void)st;
    int32_t a[3] = {6, 7, 8}, b[3] = {2, 0, 1};
    int64_t d[1] = {3};
    ir_tensor ta = ot_view(NORMA_INT32, 1, d, a), tb = ot_view(NORMA_INT32, 1, d, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Div", 14, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(e.err, "division by zero"));
}

static void binary_int64_and_uint8_arithmetic(void **st)
{
    (void)st;
    int64_t a[3] = {-7, INT64_MAX, 5}, b[1] = {2}, d3[1] = {3}, d1[1] = {1};
    ir_tensor ta = ot_view(NORMA_INT64, 1, d3, a), tb = ot_view(NORMA_INT64, 1, d1, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Div", 14, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const int64_t *v = y->data;
    assert_true(v[0] == -3 && v[1] == INT64_MAX / 2 && v[2] == 2); /* truncation */
    ir_tensor_free(y);
    uint8_t ua[2] = {250, 3}, ub[2] = {10, 5};
    int64_t d2[1] = {2};
    ir_tensor tua = ot_view(NORMA_UINT8, 1, d2, ua), tub = ot_view(NORMA_UINT8, 1, d2, ub);
    ir_tensor *uins[2] = {&tua, &tub};
    ot_init(&e, "Add", 14, 2, 1);
    assert_int_equal(ot_run1(&e, uins, 1, &y), NORMA_OK);
    assert_int_equal(((uint8_t *)y->data)[0], 4); /* wraps */
    assert_int_equal(((uint8_t *)y->data)[1], 8);
    ir_tensor_free(y);
}

static void binary_pow_float_base_int_exponent(void **st)
{
    (void)st;
    float a[3] = {2, -3, 0.5f};
    int64_t b[3] = {3, 2, -1}, d[1] = {3};
    ir_tensor ta = ot_view(NORMA_FLOAT, 1, d, a), tb = ot_view(NORMA_INT64, 1, d, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Pow", 15, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    assert_int_equal(y->dtype, NORMA_FLOAT);
    const float *v = y->data;
    assert_true(v[0] == 8.0f && v[1] == 9.0f && v[2] == 2.0f);
    ir_tensor_free(y);
}

static void binary_legacy_broadcast_axis(void **st)
{
    (void)st;
    float a[24], b[3] = {100, 200, 300};
    for (int i = 0; i < 24; i++)
        a[i] = (float)i;
    int64_t da[3] = {2, 3, 4}, db[1] = {3};
    ir_tensor ta = ot_view(NORMA_FLOAT, 3, da, a), tb = ot_view(NORMA_FLOAT, 1, db, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Add", 6, 2, 1);
    ot_int(&e, "broadcast", 1);
    ot_int(&e, "axis", 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const float *v = y->data;
    for (int i = 0; i < 24; i++)
        assert_true(v[i] == a[i] + b[(i / 4) % 3]);
    ir_tensor_free(y);
    /* without broadcast=1, opset 6 needs equal shapes */
    ot_init(&e, "Add", 6, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_SHAPE);
}

static void variadic_sum_mean_max_three_inputs(void **st)
{
    (void)st;
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30}, c[2] = {100, -100};
    int64_t da[2] = {2, 3}, db[1] = {3}, dc[2] = {2, 1};
    ir_tensor ta = ot_view(NORMA_FLOAT, 2, da, a), tb = ot_view(NORMA_FLOAT, 1, db, b),
              tc = ot_view(NORMA_FLOAT, 2, dc, c);
    ir_tensor *ins[3] = {&ta, &tb, &tc}, *y;
    const char *opn[3] = {"Sum", "Mean", "Max"};
    for (int k = 0; k < 3; k++) {
        ot_node e;
        ot_init(&e, opn[k], 13, 3, 1);
        assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
        assert_int_equal(y->rank, 2);
        const float *v = y->data;
        for (int i = 0; i < 6; i++) {
            float s = a[i] + b[i % 3] + c[i / 3];
            float want = k == 0 ? s : k == 1 ? s / 3 : fmaxf(fmaxf(a[i], b[i % 3]), c[i / 3]);
            assert_true(fabsf(v[i] - want) <= 1e-5f * fabsf(want));
        }
        ir_tensor_free(y);
    }
}

static void prelu_slope_broadcasts_per_channel(void **st)
{
    (void)st;
    float x[8] = {-1, 2, -3, 4, -5, 6, -7, 8}, s[2] = {0.5f, 2};
    int64_t dx[3] = {1, 2, 4}, ds[2] = {2, 1};
    ir_tensor tx = ot_view(NORMA_FLOAT, 3, dx, x), ts = ot_view(NORMA_FLOAT, 2, ds, s);
    ir_tensor *ins[2] = {&tx, &ts}, *y;
    ot_node e;
    ot_init(&e, "PRelu", 16, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const float *v = y->data;
    for (int i = 0; i < 8; i++)
        assert_true(v[i] == (x[i] < 0 ? s[i / 4] * x[i] : x[i]));
    ir_tensor_free(y);
    /* a slope that would grow the output is rejected */
    int64_t dbig[3] = {3, 2, 4};
    float big[24] = {0};
    ir_tensor tbig = ot_view(NORMA_FLOAT, 3, dbig, big);
    ir_tensor *ins2[2] = {&tx, &tbig};
    assert_int_equal(ot_run1(&e, ins2, 1, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(e.err, "slope"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(binary_broadcasts_match_reference),
        cmocka_unit_test(binary_incompatible_shapes_fail_with_message),
        cmocka_unit_test(binary_dtype_mismatch_fails),
        cmocka_unit_test(binary_max_min_propagate_nan),
        cmocka_unit_test(binary_int_division_by_zero_is_runtime_error),
        cmocka_unit_test(binary_int64_and_uint8_arithmetic),
        cmocka_unit_test(binary_pow_float_base_int_exponent),
        cmocka_unit_test(binary_legacy_broadcast_axis),
        cmocka_unit_test(variadic_sum_mean_max_three_inputs),
        cmocka_unit_test(prelu_slope_broadcasts_per_channel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
