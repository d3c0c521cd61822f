/* Trilu and EyeLike: upper/lower with k over and beyond the matrix, batched and
 * empty inputs against a reference; EyeLike dtypes and off-diagonal k. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

static void trilu_all_k_match_reference(void **state)
{
    (void)state;
    tu_seed(5);
    int64_t d[3] = {2, 4, 5}, x[40], one = 1;
    for (int i = 0; i < 40; i++)
        x[i] = (int64_t)(tu_uniform(1, 100));
    for (int upper = 0; upper < 2; upper++)
        for (int64_t k = -7; k <= 7; k++) {
            ir_tensor *ins[2] = {ot_i64(3, d, x), ot_i64(0, &one, &k)}, *outs[1] = {0};
            ot_node t;
            ot_init(&t, "Trilu", 14, 2, 1);
            ot_int(&t, "upper", upper);
            assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
            const int64_t *y = outs[0]->data;
            for (int b = 0; b < 2; b++)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 5; j++) {
                        int keep = upper ? j - i >= k : j - i <= k;
                        int at = (b * 4 + i) * 5 + j;
                        assert_int_equal(y[at], keep ? x[at] : 0);
                    }
            ot_free(outs, 1);
            ot_free(ins, 2);
        }
}

static void trilu_extreme_k_and_empty_input(void **state)
{
    (void)state;
    int64_t d[2] = {3, 3}, x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, k = INT64_MAX;
    ir_tensor *ins[2] = {ot_i64(2, d, x), ot_i64(0, d, &k)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Trilu", 14, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK); /* upper, k huge: all zero */
    int64_t zero[9] = {0};
    assert_memory_equal(outs[0]->data, zero, sizeof zero);
    ot_free(outs, 1);
    k = INT64_MIN;
    memcpy(ins[1]->data, &k, sizeof k);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK); /* upper, k very negative: all kept */
    assert_memory_equal(outs[0]->data, x, sizeof x);
    ot_free(outs, 1);
    ot_free(ins, 2);
    int64_t e[2] = {0, 5};
    ir_tensor *ins2[1] = {ot_i64(2, e, NULL)};
    ot_init(&t, "Trilu", 14, 1, 1);
    assert_int_equal(ot_eval(&t, ins2, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[0], 0);
    ot_free(outs, 1);
    ot_free(ins2, 1);
}

static void trilu_rank1_fails(void **state)
{
    (void)state;
    int64_t d = 4;
    ir_tensor *ins[1] = {ot_f32(1, &d, NULL)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Trilu", 14, 1, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "Trilu 'n0': input must have rank >= 2"));
    ot_free(ins, 1);
}

static void eyelike_dtype_and_k(void **state)
{
    (void)state;
    int64_t d[2] = {3, 4};
    ir_tensor *ins[1] = {ot_tensor(NORMA_INT32, 2, d, NULL)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "EyeLike", 9, 1, 1);
    ot_int(&t, "k", -1);
    ot_int(&t, "dtype", NORMA_DOUBLE);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dtype, NORMA_DOUBLE);
    const double want[12] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ot_free(outs, 1);
    ot_init(&t, "EyeLike", 9, 1, 1);
    ot_int(&t, "k", 2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const int32_t wi[12] = {0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    assert_memory_equal(outs[0]->data, wi, sizeof wi);
    ot_free(outs, 1);
    ot_init(&t, "EyeLike", 9, 1, 1);
    ot_int(&t, "k", INT64_MIN);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const int32_t wz[12] = {0};
    assert_memory_equal(outs[0]->data, wz, sizeof wz);
    ot_free(outs, 1);
    ot_free(ins, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trilu_all_k_match_reference),
        cmocka_unit_test(trilu_extreme_k_and_empty_input),
        cmocka_unit_test(trilu_rank1_fails),
        cmocka_unit_test(eyelike_dtype_and_k),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
