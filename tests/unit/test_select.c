/* NonZero, Compress and Unique, the ops whose output shape depends on data: hand
 * cases from the spec, Unique against a brute-force reference (sorted and in order
 * of first occurrence), NaN and -0.0 handling, OP_NEEDS_DATA while the data is
 * unknown, and shape errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

static void nonzero_counts_nan_not_negative_zero(void **state)
{
    (void)state;
    float x[6] = {0, -0.0f, 3, NAN, 0, 1};
    int64_t d[2] = {2, 3};
    ir_tensor *ins[1] = {ot_f32(2, d, x)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "NonZero", 13, 1, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[0], 2);
    assert_int_equal(outs[0]->dims[1], 3);
    const int64_t want[6] = {0, 1, 1, /* cols */ 2, 0, 2};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ot_free(outs, 1);
    ir_tensor so = ot_shape_only(ins[0]), *view[1] = {&so};
    assert_int_equal(ot_infer(&t, view), OP_NEEDS_DATA);
    ot_free(ins, 1);
}

static void compress_axis_and_flattened(void **state)
{
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t d[2] = {3, 2}, nc = 2;
    uint8_t cond[5] = {0, 1, 1, 0, 1};
    ir_tensor *ins[2] = {ot_f32(2, d, x), ot_tensor(NORMA_BOOL, 1, &nc, cond)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Compress", 11, 2, 1);
    ot_int(&t, "axis", -1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float w1[3] = {2, 4, 6};
    assert_int_equal(outs[0]->dims[1], 1);
    assert_memory_equal(outs[0]->data, w1, sizeof w1);
    ot_free(outs, 1);
    ir_tensor_free(ins[1]);
    nc = 5;
    ins[1] = ot_tensor(NORMA_BOOL, 1, &nc, cond);
    ot_init(&t, "Compress", 11, 2, 1); /* no axis: flattened, condition shorter than 6 */
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float w2[3] = {2, 3, 5};
    assert_int_equal(outs[0]->rank, 1);
    assert_memory_equal(outs[0]->data, w2, sizeof w2);
    ot_free(outs, 1);
    ir_tensor so = ot_shape_only(ins[1]), *view[2] = {ins[0], &so};
    assert_int_equal(ot_infer(&t, view), OP_NEEDS_DATA);
    ot_init(&t, "Compress", 11, 2, 1);
    ot_int(&t, "axis", 0);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "Compress 'n0': condition has 5 entries, more than the 3"));
    ot_free(ins, 2);
}

/* Runs Unique on a 1-D int32 input and checks all four outputs against brute force. */
static void check_unique_1d(const int32_t *x, int n, int sorted)
{
    int64_t d = n;
    ir_tensor *ins[1] = {ot_tensor(NORMA_INT32, 1, &d, x)}, *outs[4] = {0};
    ot_node t;
    ot_init(&t, "Unique", 11, 1, 4);
    ot_int(&t, "sorted", sorted);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    /* reference: distinct values in first-occurrence order, then sorted if asked */
    int32_t val[64];
    int64_t first[64], cnt[64];
    int u = 0;
    for (int i = 0; i < n; i++) {
        int g = 0;
        while (g < u && val[g] != x[i])
            g++;
        if (g == u) {
            val[u] = x[i];
            first[u] = i;
            cnt[u++] = 0;
        }
        cnt[g]++;
    }
    if (sorted)
        for (int a = 0; a < u; a++)
            for (int b = a + 1; b < u; b++)
                if (val[b] < val[a]) {
                    int32_t tv = val[a];
                    int64_t tf = first[a], tc = cnt[a];
                    val[a] = val[b], first[a] = first[b], cnt[a] = cnt[b];
                    val[b] = tv, first[b] = tf, cnt[b] = tc;
                }
    assert_int_equal(outs[0]->dims[0], u);
    assert_memory_equal(outs[0]->data, val, (size_t)u * sizeof(int32_t));
    assert_memory_equal(outs[1]->data, first, (size_t)u * sizeof(int64_t));
    assert_memory_equal(outs[3]->data, cnt, (size_t)u * sizeof(int64_t));
    for (int i = 0; i < n; i++)
        assert_int_equal(val[((int64_t *)outs[2]->data)[i]], x[i]);
    ot_free(outs, 4);
    ot_free(ins, 1);
}

static void unique_1d_matches_brute_force(void **state)
{
    (void)state;
    tu_seed(17);
    int32_t x[41];
    for (int i = 0; i < 41; i++)
        x[i] = (int32_t)floorf(tu_uniform(-4, 5));
    for (int sorted = 0; sorted < 2; sorted++) {
        check_unique_1d(x, 41, sorted);
        check_unique_1d(x, 1, sorted);
        const int32_t spec[6] = {2, 1, 1, 3, 4, 3};
        check_unique_1d(spec, 6, sorted);
    }
}

static void unique_axis_slices_and_nan(void **state)
{
    (void)state;
    /* (2, 4, 2) along axis 1: slices 0 and 2 equal; sorted lexicographically */
    float x[16] = {1, 1, 0, 1, 1, 1, 2, 1, /* */ 2, 2, 0, 1, 2, 2, 0, 0};
    int64_t d[3] = {2, 4, 2};
    ir_tensor *ins[1] = {ot_f32(3, d, x)}, *outs[4] = {0};
    ot_node t;
    ot_init(&t, "Unique", 11, 1, 4);
    ot_int(&t, "axis", -2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[1], 3);
    /* slices: s0=(1,1|2,2) s1=(0,1|0,1) s2=(1,1|2,2) s3=(2,1|0,0): sorted s1, s0, s3 */
    const float wy[12] = {0, 1, 1, 1, 2, 1, /* */ 0, 1, 2, 2, 0, 0};
    const int64_t wi[3] = {1, 0, 3}, winv[4] = {1, 0, 1, 2}, wc[3] = {1, 2, 1};
    assert_memory_equal(outs[0]->data, wy, sizeof wy);
    assert_memory_equal(outs[1]->data, wi, sizeof wi);
    assert_memory_equal(outs[2]->data, winv, sizeof winv);
    assert_memory_equal(outs[3]->data, wc, sizeof wc);
    ot_free(outs, 4);
    ot_free(ins, 1);
    float xn[4] = {NAN, 1, NAN, -1};
    int64_t n = 4;
    ir_tensor *ins2[1] = {ot_f32(1, &n, xn)};
    ot_init(&t, "Unique", 11, 1, 1);
    assert_int_equal(ot_eval(&t, ins2, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[0], 3);
    assert_true(((float *)outs[0]->data)[0] == -1 && isnan(((float *)outs[0]->data)[2]));
    ot_free(outs, 1);
    ir_tensor so = ot_shape_only(ins2[0]), *view[1] = {&so};
    assert_int_equal(ot_infer(&t, view), OP_NEEDS_DATA);
    ot_int(&t, "axis", 1);
    assert_int_equal(ot_infer(&t, view), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "Unique 'n0': axis 1 is out of range for rank 1"));
    ot_free(ins2, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nonzero_counts_nan_not_negative_zero),
        cmocka_unit_test(compress_axis_and_flattened),
        cmocka_unit_test(unique_1d_matches_brute_force),
        cmocka_unit_test(unique_axis_slices_and_nan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
