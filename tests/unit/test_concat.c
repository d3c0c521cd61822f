/* Concat and Split: middle axis, negative axis, split sizes from attribute / input,
 * num_outputs with an uneven last chunk, and error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"

static void concat_axis1_then_split_back(void **state)
{
    (void)state;
    int64_t da[3] = {2, 1, 3}, db[3] = {2, 2, 3};
    float av[6], bv[12];
    for (int i = 0; i < 6; i++)
        av[i] = (float)i;
    for (int i = 0; i < 12; i++)
        bv[i] = 100.0f + (float)i;
    ir_tensor *ins[2] = {ot_tensor(NORMA_FLOAT, 3, da, av), ot_tensor(NORMA_FLOAT, 3, db, bv)}, *outs[3] = {0};
    ot_node t;
    ot_init(&t, "Concat", 13, 2, 1);
    ot_int(&t, "axis", -2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want[18] = {0, 1, 2, 100, 101, 102, 103, 104, 105, 3, 4, 5, 106, 107, 108, 109, 110, 111};
    assert_int_equal(outs[0]->dims[1], 3);
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ir_tensor *y = outs[0];
    int64_t sp[2] = {1, 2}, n2 = 2;
    ir_tensor *sins[2] = {y, ot_tensor(NORMA_INT64, 1, &n2, sp)}, *souts[2] = {0};
    ot_init(&t, "Split", 13, 2, 2);
    ot_int(&t, "axis", 1);
    assert_int_equal(ot_eval(&t, sins, souts), NORMA_OK);
    assert_memory_equal(souts[0]->data, av, sizeof av);
    assert_memory_equal(souts[1]->data, bv, sizeof bv);
    for (int i = 0; i < 2; i++) {
        ir_tensor_free(souts[i]);
        ir_tensor_free(ins[i]);
    }
    ir_tensor_free(sins[1]);
    ir_tensor_free(y);
}

static void split_num_outputs_uneven_last_chunk(void **state)
{
    (void)state;
    int64_t d = 7;
    int8_t xv[7] = {0, 1, 2, 3, 4, 5, 6};
    ir_tensor *ins[1] = {ot_tensor(NORMA_INT8, 1, &d, xv)}, *outs[3] = {0};
    ot_node t;
    ot_init(&t, "Split", 18, 1, 3);
    ot_int(&t, "num_outputs", 3);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[0], 3);
    assert_int_equal(outs[1]->dims[0], 3);
    assert_int_equal(outs[2]->dims[0], 1);
    assert_int_equal(((int8_t *)outs[2]->data)[0], 6);
    for (int i = 0; i < 3; i++)
        ir_tensor_free(outs[i]);
    /* before 18: equal split must divide */
    ot_init(&t, "Split", 13, 1, 3);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "Split 'n0': axis of size 7 does not split evenly into 3 outputs"));
    int64_t bad[2] = {3, 3};
    ot_init(&t, "Split", 11, 1, 2);
    ot_ints(&t, "split", bad, 2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "split sizes add up to 6, the axis has 7"));
    ir_tensor_free(ins[0]);
}

static void concat_mismatched_dims_fail(void **state)
{
    (void)state;
    int64_t da[2] = {2, 3}, db[2] = {3, 3};
    ir_tensor *ins[2] = {ot_tensor(NORMA_FLOAT, 2, da, NULL), ot_tensor(NORMA_FLOAT, 2, db, NULL)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Concat", 13, 2, 1);
    ot_int(&t, "axis", 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "Concat 'n0': input 1 has dim 0 = 3; input 0 has 2"));
    ot_init(&t, "Concat", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "attribute 'axis' is required"));
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concat_axis1_then_split_back),
        cmocka_unit_test(split_num_outputs_uneven_last_chunk),
        cmocka_unit_test(concat_mismatched_dims_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
