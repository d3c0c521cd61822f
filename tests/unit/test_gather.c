/* Gather and GatherElements: axes, negative indices, out-of-range index at run time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"

static void gather_axis1_negative_index_matches_hand_result(void **state)
{
    (void)state;
    float x[6] = {1, 2, 3, 4, 5, 6}; /* [[1,2,3],[4,5,6]] */
    int32_t idx[2] = {-1, 0};
    int64_t xd[2] = {2, 3}, id = 2;
    ir_tensor *ins[2] = {ot_tensor(NORMA_FLOAT, 2, xd, x), ot_tensor(NORMA_INT32, 1, &id, idx)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Gather", 13, 2, 1);
    ot_int(&t, "axis", 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want[4] = {3, 1, 6, 4};
    assert_int_equal(outs[0]->dims[0], 2);
    assert_int_equal(outs[0]->dims[1], 2);
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
}

static void gather_out_of_range_index_is_runtime_error(void **state)
{
    (void)state;
    int64_t x[3] = {7, 8, 9}, idx[3] = {0, 2, 3}, xd = 3, id = 3;
    ir_tensor *ins[2] = {ot_tensor(NORMA_INT64, 1, &xd, x), ot_tensor(NORMA_INT64, 1, &id, idx)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Gather", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "Gather 'n0': index 3 at position 2 is out of range for axis 0 of size 3"));
    idx[2] = -4;
    memcpy(ins[1]->data, idx, sizeof idx);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "index -4"));
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
}

static void gather_bad_axis_fails(void **state)
{
    (void)state;
    int64_t xd = 3, id = 1, idx = 0;
    ir_tensor *ins[2] = {ot_tensor(NORMA_FLOAT, 1, &xd, NULL), ot_tensor(NORMA_INT64, 1, &id, &idx)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Gather", 13, 2, 1);
    ot_int(&t, "axis", 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "axis 1 is out of range for rank 1"));
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
}

static void gather_elements_axis0(void **state)
{
    (void)state;
    float x[4] = {1, 2, 3, 4};
    int64_t idx[4] = {1, 0, -1, 1}, d[2] = {2, 2};
    ir_tensor *ins[2] = {ot_tensor(NORMA_FLOAT, 2, d, x), ot_tensor(NORMA_INT64, 2, d, idx)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "GatherElements", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want[4] = {3, 2, 3, 4};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ir_tensor_free(outs[0]);
    idx[0] = 2;
    memcpy(ins[1]->data, idx, sizeof idx);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "index 2 at position 0"));
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gather_axis1_negative_index_matches_hand_result),
        cmocka_unit_test(gather_out_of_range_index_is_runtime_error),
        cmocka_unit_test(gather_bad_axis_fails),
        cmocka_unit_test(gather_elements_axis0),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
