/* OneHot: axis placement, negative and out-of-range indices, float indices, and
 * depth: OP_NEEDS_DATA while unknown, an error when not a positive number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "optest.h"

static void onehot_axis0_negative_and_out_of_range_indices(void **state)
{
    (void)state;
    /* indices [1, -1, 3, -4], depth 3, axis 0 -> (3, 4); 3 and -4 give all off */
    int64_t idx[4] = {1, -1, 3, -4}, n = 4, two = 2;
    float depth = 3, vals[2] = {-1, 5};
    ir_tensor *ins[3] = {ot_i64(1, &n, idx), ot_f32(0, NULL, &depth), ot_f32(1, &two, vals)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "OneHot", 11, 3, 1);
    ot_int(&t, "axis", 0);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->rank, 2);
    assert_int_equal(outs[0]->dims[0], 3);
    assert_int_equal(outs[0]->dims[1], 4);
    const float want[12] = {-1, -1, -1, -1, 5, -1, -1, -1, -1, 5, -1, -1};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ot_free(outs, 1);
    ot_free(ins, 3);
}

static void onehot_float_indices_default_axis_int_values(void **state)
{
    (void)state;
    float idx[3] = {0.7f, 2.0f, NAN};
    int64_t n = 3, two = 2, depth = 4;
    int32_t vals[2] = {0, 9};
    ir_tensor *ins[3] = {ot_f32(1, &n, idx), ot_i64(1, &(int64_t){1}, &depth), ot_tensor(NORMA_INT32, 1, &two, vals)},
              *outs[1] = {0};
    ot_node t;
    ot_init(&t, "OneHot", 11, 3, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dtype, NORMA_INT32);
    const int32_t want[12] = {9, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ot_free(outs, 1);
    ot_free(ins, 3);
}

static void onehot_depth_unknown_needs_data_and_bad_depth_fails(void **state)
{
    (void)state;
    int64_t idx[2] = {0, 1}, n = 2, depth = 0;
    float vals[2] = {0, 1};
    ir_tensor *ins[3] = {ot_i64(1, &n, idx), ot_scalar(depth), ot_f32(1, &n, vals)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "OneHot", 11, 3, 1);
    ir_tensor dep = ot_shape_only(ins[1]);
    ir_tensor *view[3] = {ins[0], &dep, ins[2]};
    assert_int_equal(ot_infer(&t, view), OP_NEEDS_DATA);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "OneHot 'n0': depth 0 must be at least 1"));
    ot_init(&t, "OneHot", 11, 3, 1);
    ot_int(&t, "axis", 3);
    assert_int_equal(ot_infer(&t, view), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "axis 3 is out of range"));
    ot_free(ins, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(onehot_axis0_negative_and_out_of_range_indices),
        cmocka_unit_test(onehot_float_indices_default_axis_int_values),
        cmocka_unit_test(onehot_depth_unknown_needs_data_and_bad_depth_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
