/* Comparison, logic, Where, Mod, BitShift, IsNaN/IsInf and Not: the broadcast run
 * splitting against a one-element-at-a-time reference over awkward shapes and every
 * dtype, the Python / C remainder semantics, shift widths, and the error paths. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "optest.h"
#include "kernels/compare.h"
#include "ops/elem.h"
#include "testutil.h"

typedef struct shape3 {
    int r[3];
    int64_t d[3][4];
} shape3;

static const shape3 shapes[] = {
    {{3, 3, 3}, {{3, 17, 5}, {3, 17, 5}, {3, 17, 5}}}, /* same shape */
    {{2, 0, 2}, {{7, 33}, {0}, {7, 33}}},              /* scalar */
    {{2, 1, 0}, {{7, 33}, {33}, {0}}},                 /* row, scalar */
    {{2, 2, 1}, {{7, 1}, {7, 33}, {1}}},               /* column */
    {{1, 1, 1}, {{1}, {1}, {1}}},                      /* one element */
    {{3, 3, 2}, {{5, 1, 9}, {1, 6, 1}, {6, 9}}},       /* all broadcast */
    {{4, 3, 1}, {{2, 1, 5, 1}, {3, 1, 4}, {4}}},       /* rank difference, interleaved 1s */
    {{2, 3, 1}, {{300, 257}, {1, 300, 257}, {257}}},   /* long rows, several tasks */
    {{1, 1, 1}, {{40000}, {40000}, {1}}},              /* one long run split into chunks */
    {{3, 1, 1}, {{3, 0, 4}, {4}, {1}}},                /* empty */
};

/* Random small integers in dtype t (unsigned: 0..6, signed and float: -3..3), so that
 * equal values are common. */
static void *rand_data(int t, size_t n)
{
    void *p = malloc((n + 1) * 8);
    for (size_t i = 0; i < n; i++) {
        int64_t v = (int64_t)floorf(tu_uniform(0.0f, 7.0f));
        if (t == NORMA_BOOL)
            v &= 1;
        else if (t != NORMA_UINT8 && t != NORMA_UINT16 && t != NORMA_UINT32 && t != NORMA_UINT64)
            v -= 3;
        elem_set_i64(p, t, i, v);
    }
    return p;
}

/* Element index into an operand for output element i (row-major y dims). */
static size_t operand_offset(const ir_tensor *y, const int64_t *strides, size_t i)
{
    size_t off = 0;
    for (int d = y->rank - 1; d >= 0; d--) {
        off += (size_t)((int64_t)(i % (size_t)y->dims[d]) * strides[d]);
        i /= (size_t)y->dims[d];
    }
    return off;
}

static const char *const cmp_names[] = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
                                        "And", "Or", "Xor"};

static void compare_broadcasts_match_reference_all_dtypes(void **st)
{
    (void)st;
    static const int dtypes[] = {NORMA_FLOAT, NORMA_DOUBLE, NORMA_FLOAT16, NORMA_INT8, NORMA_INT16,
                                 NORMA_INT32, NORMA_INT64, NORMA_UINT8, NORMA_UINT16, NORMA_UINT32,
                                 NORMA_UINT64, NORMA_BOOL};
    tu_seed(3);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t di = 0; di < sizeof dtypes / sizeof dtypes[0]; di++)
            for (int op = K_CMP_EQ; op <= K_CMP_XOR; op++) {
                int t = dtypes[di];
                if (!k_compare_supported(t, op))
                    continue;
                const shape3 *sp = &shapes[s];
                int ok;
                size_t na = ir_numel_checked(sp->r[0], sp->d[0], &ok);
                size_t nb = ir_numel_checked(sp->r[1], sp->d[1], &ok);
                void *a = rand_data(t, na), *b = rand_data(t, nb);
                ir_tensor ta = ot_view(t, sp->r[0], sp->d[0], a), tb = ot_view(t, sp->r[1], sp->d[1], b);
                ir_tensor *ins[2] = {&ta, &tb}, *y;
                int threads = (op & 1) ? 4 : 1;
                ot_node e;
                ot_init(&e, cmp_names[op], 16, 2, 1);
                if (ot_run1(&e, ins, threads, &y) != NORMA_OK)
                    fail_msg("%s %s shape %zu: %s", cmp_names[op], ir_dtype_name(t), s, e.err);
                assert_int_equal(y->dtype, NORMA_BOOL);
                int64_t sa[8], sb[8];
                op_broadcast_strides(&ta, y->rank, y->dims, sa);
                op_broadcast_strides(&tb, y->rank, y->dims, sb);
                size_t n = ir_tensor_numel(y);
                for (size_t i = 0; i < n; i++) {
                    double va = elem_get_f64(a, t, operand_offset(y, sa, i));
                    double vb = elem_get_f64(b, t, operand_offset(y, sb, i));
                    int want = k_compare_ref(op, va, vb), got = ((uint8_t *)y->data)[i];
                    if (want != got)
                        fail_msg("%s %s shape %zu elem %zu: %g vs %g gave %d", cmp_names[op],
                                 ir_dtype_name(t), s, i, va, vb, got);
                }
                ir_tensor_free(y);
                free(a);
                free(b);
            }
}

static void compare_nan_is_false_and_large_int64_exact(void **st)
{
    (void)st;
    const float a[2] = {NAN, 1.0f}, b[2] = {NAN, NAN};
    int64_t n = 2;
    ir_tensor ta = ot_view(NORMA_FLOAT, 1, &n, a), tb = ot_view(NORMA_FLOAT, 1, &n, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    for (int op = K_CMP_EQ; op <= K_CMP_GE; op++) {
        ot_node e;
        ot_init(&e, cmp_names[op], 13, 2, 1);
        assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
        assert_true(((uint8_t *)y->data)[0] == 0 && ((uint8_t *)y->data)[1] == 0);
        ir_tensor_free(y);
    }
    /* 2^53 + 1 and 2^53 differ although their doubles do not */
    const int64_t x[1] = {9007199254740993LL}, z[1] = {9007199254740992LL};
    int64_t one = 1;
    ir_tensor tx = ot_view(NORMA_INT64, 1, &one, x), tz = ot_view(NORMA_INT64, 1, &one, z);
    ir_tensor *ii[2] = {&tx, &tz};
    ot_node e;
    ot_init(&e, "Greater", 13, 2, 1);
    assert_int_equal(ot_run1(&e, ii, 1, &y), NORMA_OK);
    assert_int_equal(((uint8_t *)y->data)[0], 1);
    ir_tensor_free(y);
}

static void where_three_way_broadcast_matches_reference(void **st)
{
    (void)st;
    static const int dtypes[] = {NORMA_FLOAT, NORMA_INT64, NORMA_UINT8, NORMA_FLOAT16, NORMA_INT32};
    tu_seed(7);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t di = 0; di < sizeof dtypes / sizeof dtypes[0]; di++) {
            int t = dtypes[di];
            const shape3 *sp = &shapes[s];
            int ok;
            size_t nc = ir_numel_checked(sp->r[0], sp->d[0], &ok);
            size_t nx = ir_numel_checked(sp->r[1], sp->d[1], &ok);
            size_t ny = ir_numel_checked(sp->r[2], sp->d[2], &ok);
            void *c = rand_data(NORMA_BOOL, nc), *x = rand_data(t, nx), *yv = rand_data(t, ny);
            ir_tensor tc = ot_view(NORMA_BOOL, sp->r[0], sp->d[0], c);
            ir_tensor tx = ot_view(t, sp->r[1], sp->d[1], x), ty = ot_view(t, sp->r[2], sp->d[2], yv);
            ir_tensor *ins[3] = {&tc, &tx, &ty}, *out;
            ot_node e;
            ot_init(&e, "Where", 16, 3, 1);
            if (ot_run1(&e, ins, (int)(s & 1) * 3 + 1, &out) != NORMA_OK)
                fail_msg("Where %s shape %zu: %s", ir_dtype_name(t), s, e.err);
            assert_int_equal(out->dtype, t);
            int64_t sc[8], sx[8], sy[8];
            op_broadcast_strides(&tc, out->rank, out->dims, sc);
            op_broadcast_strides(&tx, out->rank, out->dims, sx);
            op_broadcast_strides(&ty, out->rank, out->dims, sy);
            size_t n = ir_tensor_numel(out), es = ir_dtype_size(t);
            for (size_t i = 0; i < n; i++) {
                int cond = ((uint8_t *)c)[operand_offset(out, sc, i)];
                const char *want = cond ? (char *)x + operand_offset(out, sx, i) * es
                                        : (char *)yv + operand_offset(out, sy, i) * es;
                if (memcmp((char *)out->data + i * es, want, es) != 0)
                    fail_msg("Where %s shape %zu elem %zu differs", ir_dtype_name(t), s, i);
            }
            ir_tensor_free(out);
            free(c);
            free(x);
            free(yv);
        }
}

static void mod_python_and_c_remainders(void **st)
{
    (void)st;
    static const int dtypes[] = {NORMA_INT8, NORMA_INT16, NORMA_INT32, NORMA_INT64, NORMA_UINT8,
                                 NORMA_UINT64};
    enum { N = 517 };
    tu_seed(13);
    for (size_t di = 0; di < sizeof dtypes / sizeof dtypes[0]; di++)
        for (int fm = 0; fm <= 1; fm++) {
            int t = dtypes[di];
            int is_unsigned = t == NORMA_UINT8 || t == NORMA_UINT64;
            int64_t a[N], b[N];
            char pa[N * 8], pb[N * 8];
            for (int i = 0; i < N; i++) {
                a[i] = (int64_t)floorf(tu_uniform(is_unsigned ? 0.0f : -120.0f, 120.0f));
                b[i] = (int64_t)floorf(tu_uniform(is_unsigned ? 1.0f : -9.0f, 9.0f));
                if (b[i] == 0)
                    b[i] = 3;
                if (i == 0 && !is_unsigned) {
                    a[i] = t == NORMA_INT8 ? -128 : -120;
                    b[i] = -1;
                }
                elem_set_i64(pa, t, (size_t)i, a[i]);
                elem_set_i64(pb, t, (size_t)i, b[i]);
            }
            int64_t n = N;
            ir_tensor ta = ot_view(t, 1, &n, pa), tb = ot_view(t, 1, &n, pb);
            ir_tensor *ins[2] = {&ta, &tb}, *y;
            ot_node e;
            ot_init(&e, "Mod", 13, 2, 1);
            ot_int(&e, "fmod", fm);
            assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
            for (int i = 0; i < N; i++) {
                int64_t want = k_mod_i64_ref(a[i], b[i], fm), got = elem_get_i64(y->data, t, (size_t)i);
                if (want != got)
                    fail_msg("Mod fmod=%d %s: %lld %% %lld = %lld, want %lld", fm, ir_dtype_name(t),
                             (long long)a[i], (long long)b[i], (long long)got, (long long)want);
            }
            ir_tensor_free(y);
        }
    /* Python's sign rule spelled out */
    assert_int_equal(k_mod_i64_ref(-7, 3, 0), 2);
    assert_int_equal(k_mod_i64_ref(7, -3, 0), -2);
    assert_int_equal(k_mod_i64_ref(-7, 3, 1), -1);
    assert_int_equal(k_mod_i64_ref(7, -3, 1), 1);
}

static void mod_float_fmod_broadcast(void **st)
{
    (void)st;
    const float a[6] = {-4.3f, 7.2f, 5.0f, -5.0f, 0.0f, 3.5f}, b[3] = {2.1f, -3.0f, 2.5f};
    int64_t da[2] = {2, 3}, db[1] = {3};
    ir_tensor ta = ot_view(NORMA_FLOAT, 2, da, a), tb = ot_view(NORMA_FLOAT, 1, db, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Mod", 13, 2, 1);
    ot_int(&e, "fmod", 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    for (int i = 0; i < 6; i++)
        assert_true(((float *)y->data)[i] == fmodf(a[i], b[i % 3]));
    ir_tensor_free(y);
    ot_init(&e, "Mod", 13, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "fmod must be 1"));
}

static void mod_integer_zero_divisor_fails_at_run(void **st)
{
    (void)st;
    const int32_t a[3] = {1, 2, 3}, b[3] = {1, 0, 2};
    int64_t n = 3;
    ir_tensor ta = ot_view(NORMA_INT32, 1, &n, a), tb = ot_view(NORMA_INT32, 1, &n, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Mod", 13, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(e.err, "Mod 'n0'"));
    assert_non_null(strstr(e.err, "modulo by zero"));
}

static void bitshift_directions_and_wide_shifts(void **st)
{
    (void)st;
    const uint8_t a8[4] = {0x81, 1, 255, 16}, s8[4] = {1, 7, 8, 200};
    int64_t n = 4;
    ir_tensor ta = ot_view(NORMA_UINT8, 1, &n, a8), tb = ot_view(NORMA_UINT8, 1, &n, s8);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "BitShift", 11, 2, 1);
    ot_str(&e, "direction", "LEFT");
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const uint8_t wl[4] = {0x02, 0x80, 0, 0};
    assert_memory_equal(y->data, wl, 4);
    ir_tensor_free(y);
    e.attrs[0].s = (char *)"RIGHT";
    e.attrs[0].s_len = 5;
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const uint8_t wr[4] = {0x40, 0, 0, 0};
    assert_memory_equal(y->data, wr, 4);
    ir_tensor_free(y);

    /* uint32 with a scalar shift against the C expression */
    uint32_t a32[37], one = 5;
    tu_seed(17);
    for (int i = 0; i < 37; i++)
        a32[i] = (uint32_t)(tu_uniform(0.0f, 1.0f) * 4294967040.0f);
    int64_t n37 = 37;
    ir_tensor t32 = ot_view(NORMA_UINT32, 1, &n37, a32), ts = ot_view(NORMA_UINT32, 0, NULL, &one);
    ir_tensor *i32[2] = {&t32, &ts};
    assert_int_equal(ot_run1(&e, i32, 1, &y), NORMA_OK);
    for (int i = 0; i < 37; i++)
        assert_int_equal(((uint32_t *)y->data)[i], a32[i] >> 5);
    ir_tensor_free(y);

    e.attrs[0].s = (char *)"UP";
    e.attrs[0].s_len = 2;
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "direction 'UP'"));
    e.n.n_attrs = 0;
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "'direction' is required"));
    ir_tensor *ii[2] = {&t32, &tb};
    e.n.n_attrs = 1;
    e.attrs[0].s = (char *)"LEFT";
    e.attrs[0].s_len = 4;
    assert_int_equal(ot_run1(&e, ii, 1, &y), NORMA_ERR_MODEL);
    if (!strstr(e.err, "input 1 has dtype uint8"))
        fail_msg("%s", e.err);
}

static void isnan_isinf_not(void **st)
{
    (void)st;
    const float x[5] = {NAN, INFINITY, -INFINITY, 0.0f, -1e30f};
    int64_t n = 5;
    ir_tensor tx = ot_view(NORMA_FLOAT, 1, &n, x);
    ir_tensor *ins[1] = {&tx}, *y;
    ot_node e;
    ot_init(&e, "IsNaN", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const uint8_t wn[5] = {1, 0, 0, 0, 0};
    assert_memory_equal(y->data, wn, 5);
    ir_tensor_free(y);
    static const struct { int pos, neg; uint8_t want[5]; } cases[] = {
        {1, 1, {0, 1, 1, 0, 0}}, {1, 0, {0, 1, 0, 0, 0}}, {0, 1, {0, 0, 1, 0, 0}}, {0, 0, {0}}};
    for (int k = 0; k < 4; k++) {
        ot_init(&e, "IsInf", 10, 1, 1);
        ot_int(&e, "detect_positive", cases[k].pos);
        ot_int(&e, "detect_negative", cases[k].neg);
        assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
        assert_memory_equal(y->data, cases[k].want, 5);
        ir_tensor_free(y);
    }
    /* float16 NaN and infinity bit patterns */
    const uint16_t h[4] = {0x7e00, 0x7c00, 0xfc00, 0x3c00};
    int64_t n4 = 4;
    ir_tensor th = ot_view(NORMA_FLOAT16, 1, &n4, h);
    ins[0] = &th;
    ot_init(&e, "IsNaN", 13, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const uint8_t wh[4] = {1, 0, 0, 0};
    assert_memory_equal(y->data, wh, 4);
    ir_tensor_free(y);
    ot_init(&e, "IsInf", 10, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const uint8_t wi[4] = {0, 1, 1, 0};
    assert_memory_equal(y->data, wi, 4);
    ir_tensor_free(y);

    const uint8_t b[3] = {0, 1, 0};
    int64_t n3 = 3;
    ir_tensor tb = ot_view(NORMA_BOOL, 1, &n3, b);
    ins[0] = &tb;
    ot_init(&e, "Not", 1, 1, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    const uint8_t wnot[3] = {1, 0, 1};
    assert_memory_equal(y->data, wnot, 3);
    ir_tensor_free(y);
    ins[0] = &tx;
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(e.err, "dtype float"));
}

static void legacy_broadcast_axis_opset1(void **st)
{
    (void)st;
    /* A (2,3,2), B (3) with broadcast=1 axis=1: B lines up with A's dim 1 */
    float a[12], b[3] = {1.0f, 5.0f, 9.0f};
    for (int i = 0; i < 12; i++)
        a[i] = (float)i;
    int64_t da[3] = {2, 3, 2}, db[1] = {3};
    ir_tensor ta = ot_view(NORMA_FLOAT, 3, da, a), tb = ot_view(NORMA_FLOAT, 1, db, b);
    ir_tensor *ins[2] = {&ta, &tb}, *y;
    ot_node e;
    ot_init(&e, "Greater", 1, 2, 1);
    ot_int(&e, "broadcast", 1);
    ot_int(&e, "axis", 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(((uint8_t *)y->data)[i], a[i] > b[(i / 2) % 3]);
    ir_tensor_free(y);
    ot_init(&e, "Greater", 1, 2, 1);
    assert_int_equal(ot_run1(&e, ins, 1, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(e.err, "broadcast=0"));
}

static void compare_errors_name_op_and_dtypes(void **st)
{
    (void)st;
    const float a[6] = {0};
    const uint8_t c[6] = {0};
    const int64_t il[6] = {0};
    int64_t d23[2] = {2, 3}, d4[1] = {4};
    ir_tensor ta = ot_view(NORMA_FLOAT, 2, d23, a), tb = ot_view(NORMA_FLOAT, 1, d4, a);
    ir_tensor ti = ot_view(NORMA_INT64, 2, d23, il), tc = ot_view(NORMA_BOOL, 2, d23, c);
    ir_tensor *y;
    ot_node e;
    ir_tensor *shp[2] = {&ta, &tb};
    ot_init(&e, "Less", 13, 2, 1);
    assert_int_equal(ot_run1(&e, shp, 1, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(e.err, "Less 'n0': shapes (2,3) and (4)"));
    ir_tensor *mix[2] = {&ta, &ti};
    ot_init(&e, "Equal", 13, 2, 1);
    assert_int_equal(ot_run1(&e, mix, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "input 1 has dtype int64 but input 0 has float"));
    ir_tensor *fl[2] = {&ta, &ta};
    ot_init(&e, "And", 7, 2, 1);
    assert_int_equal(ot_run1(&e, fl, 1, &y), NORMA_ERR_UNSUPPORTED);
    ir_tensor *w1[3] = {&ta, &ta, &ta};
    ot_init(&e, "Where", 16, 3, 1);
    assert_int_equal(ot_run1(&e, w1, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "condition has dtype float, not bool"));
    ir_tensor *w2[3] = {&tc, &ta, &ti};
    assert_int_equal(ot_run1(&e, w2, 1, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(e.err, "input 2 has dtype int64 but input 1 has float"));
    ir_tensor *w3[3] = {&tc, &ta, &tb};
    assert_int_equal(ot_run1(&e, w3, 1, &y), NORMA_ERR_SHAPE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compare_broadcasts_match_reference_all_dtypes),
        cmocka_unit_test(compare_nan_is_false_and_large_int64_exact),
        cmocka_unit_test(where_three_way_broadcast_matches_reference),
        cmocka_unit_test(mod_python_and_c_remainders),
        cmocka_unit_test(mod_float_fmod_broadcast),
        cmocka_unit_test(mod_integer_zero_divisor_fails_at_run),
        cmocka_unit_test(bitshift_directions_and_wide_shifts),
        cmocka_unit_test(isnan_isinf_not),
        cmocka_unit_test(legacy_broadcast_axis_opset1),
        cmocka_unit_test(compare_errors_name_op_and_dtypes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
