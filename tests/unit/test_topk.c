/* TopK: largest / smallest along every axis against a selection-sort reference on
 * data with ties (lower index first), NaN ordering, k = 0, and k: OP_NEEDS_DATA while
 * unknown, an error beyond the axis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

/* Reference for one row v[0..n): the k best positions, ties to the lower index. */
static void ref_topk(const float *v, int n, int stride, int k, int largest, int64_t *pos)
{
    int used[256] = {0};
    for (int r = 0; r < k; r++) {
        int b = -1;
        for (int j = 0; j < n; j++) {
            if (used[j])
                continue;
            float a = v[j * stride];
            if (b < 0 || (largest ? a > v[b * stride] : a < v[b * stride]))
                b = j;
        }
        used[b] = 1;
        pos[r] = b;
    }
}

static void topk_every_axis_matches_reference(void **state)
{
    (void)state;
    tu_seed(13);
    int64_t d[3] = {3, 11, 4}, one = 1;
    float x[132];
    for (int i = 0; i < 132; i++)
        x[i] = floorf(tu_uniform(0, 6));
    for (int axis = 0; axis < 3; axis++)
        for (int largest = 0; largest < 2; largest++) {
            int64_t k = d[axis] - 1;
            ir_tensor *ins[2] = {ot_f32(3, d, x), ot_i64(1, &one, &k)}, *outs[2] = {0};
            ot_node t;
            ot_init(&t, "TopK", 11, 2, 2);
            ot_int(&t, "axis", axis);
            ot_int(&t, "largest", largest);
            assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
            assert_int_equal(outs[0]->dims[axis], k);
            int64_t st[3] = {d[1] * d[2], d[2], 1}, od[3] = {d[0], d[1], d[2]};
            od[axis] = k;
            int64_t ost[3] = {od[1] * od[2], od[2], 1};
            for (int64_t i0 = 0; i0 < od[0]; i0++)
                for (int64_t i1 = 0; i1 < od[1]; i1++)
                    for (int64_t i2 = 0; i2 < od[2]; i2++) {
                        int64_t p[3] = {i0, i1, i2};
                        if (p[axis] != 0)
                            continue;
                        int64_t pos[16], base = p[0] * st[0] + p[1] * st[1] + p[2] * st[2];
                        ref_topk(x + base, (int)d[axis], (int)st[axis], (int)k, largest, pos);
                        for (int r = 0; r < k; r++) {
                            int64_t o = p[0] * ost[0] + p[1] * ost[1] + p[2] * ost[2] + r * ost[axis];
                            assert_int_equal(((int64_t *)outs[1]->data)[o], pos[r]);
                            assert_true(((float *)outs[0]->data)[o] == x[base + pos[r] * st[axis]]);
                        }
                    }
            ot_free(outs, 2);
            ot_free(ins, 2);
        }
}

static void topk_small_k_of_long_row_matches_reference(void **state)
{
    (void)state;
    tu_seed(29);
    enum { N = 203 };
    float x[2 * N];
    for (int i = 0; i < 2 * N; i++)
        x[i] = floorf(tu_uniform(-20, 20));
    int64_t d[2] = {2, N}, one = 1;
    const int64_t ks[4] = {1, 7, 50, 51};
    for (int ki = 0; ki < 4; ki++)
        for (int largest = 0; largest < 2; largest++) {
            int64_t k = ks[ki], pos[64];
            ir_tensor *ins[2] = {ot_f32(2, d, x), ot_i64(1, &one, &k)}, *outs[2] = {0};
            ot_node t;
            ot_init(&t, "TopK", 11, 2, 2);
            ot_int(&t, "largest", largest);
            assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
            for (int r = 0; r < 2; r++) {
                ref_topk(x + r * N, N, 1, (int)k, largest, pos);
                assert_memory_equal((int64_t *)outs[1]->data + r * k, pos, (size_t)k * sizeof(int64_t));
            }
            ot_free(outs, 2);
            ot_free(ins, 2);
        }
}

static void topk_nan_ranks_highest_and_int64_keys_are_exact(void **state)
{
    (void)state;
    float x[4] = {1, NAN, 3, 2};
    int64_t n = 4, one = 1, k = 2;
    ir_tensor *ins[2] = {ot_f32(1, &n, x), ot_i64(1, &one, &k)}, *outs[2] = {0};
    ot_node t;
    ot_init(&t, "TopK", 11, 2, 2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(((int64_t *)outs[1]->data)[0], 1);
    assert_int_equal(((int64_t *)outs[1]->data)[1], 2);
    ot_free(outs, 2);
    ot_init(&t, "TopK", 11, 2, 2);
    ot_int(&t, "largest", 0);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(((int64_t *)outs[1]->data)[0], 0);
    assert_int_equal(((int64_t *)outs[1]->data)[1], 3);
    ot_free(outs, 2);
    ot_free(ins, 2);
    /* 2^53 + 1 and 2^53 are equal as doubles, not as int64 */
    int64_t xi[3] = {(INT64_C(1) << 53), (INT64_C(1) << 53) + 1, 5}, three = 3;
    ir_tensor *ins2[2] = {ot_i64(1, &three, xi), ot_i64(1, &one, &one)};
    assert_int_equal(ot_eval(&t, ins2, outs), NORMA_OK); /* smallest */
    assert_int_equal(((int64_t *)outs[1]->data)[0], 2);
    ot_free(outs, 2);
    ot_init(&t, "TopK", 11, 2, 2);
    assert_int_equal(ot_eval(&t, ins2, outs), NORMA_OK); /* largest */
    assert_int_equal(((int64_t *)outs[1]->data)[0], 1);
    ot_free(outs, 2);
    ot_free(ins2, 2);
}

static void topk_k_unknown_needs_data_and_too_large_fails(void **state)
{
    (void)state;
    int64_t d[2] = {2, 3}, one = 1, k = 4;
    ir_tensor *ins[2] = {ot_f32(2, d, NULL), ot_i64(1, &one, &k)}, *outs[2] = {0};
    ot_node t;
    ot_init(&t, "TopK", 11, 2, 2);
    ir_tensor ks = ot_shape_only(ins[1]);
    ir_tensor *view[2] = {ins[0], &ks};
    assert_int_equal(ot_infer(&t, view), OP_NEEDS_DATA);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "TopK 'n0': k 4 is out of range [0, 3] for axis 1"));
    k = 0;
    memcpy(ins[1]->data, &k, sizeof k);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[1], 0);
    ot_free(outs, 2);
    ot_free(ins, 2);
}

static void topk_opset1_k_attribute(void **state)
{
    (void)state;
    float x[5] = {4, 8, 1, 8, 0};
    int64_t n = 5;
    ir_tensor *ins[1] = {ot_f32(1, &n, x)}, *outs[2] = {0};
    ot_node t;
    ot_init(&t, "TopK", 1, 1, 2);
    ot_int(&t, "k", 3);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float wv[3] = {8, 8, 4};
    const int64_t wi[3] = {1, 3, 0};
    assert_memory_equal(outs[0]->data, wv, sizeof wv);
    assert_memory_equal(outs[1]->data, wi, sizeof wi);
    ot_free(outs, 2);
    ot_free(ins, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topk_every_axis_matches_reference),
        cmocka_unit_test(topk_small_k_of_long_row_matches_reference),
        cmocka_unit_test(topk_nan_ranks_highest_and_int64_keys_are_exact),
        cmocka_unit_test(topk_k_unknown_needs_data_and_too_large_fails),
        cmocka_unit_test(topk_opset1_k_attribute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
