/* Shape (start/end), Size, ConstantOfShape, Range, Expand, Tile and Dropout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"

static void shape_start_end_and_size(void **state)
{
    (void)state;
    int64_t d[4] = {2, 3, 5, 7};
    ir_tensor *ins[1] = {ot_tensor(NORMA_FLOAT, 4, d, NULL)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Shape", 15, 1, 1);
    ot_int(&t, "start", 1);
    ot_int(&t, "end", -1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[0], 2);
    assert_memory_equal(outs[0]->data, d + 1, 2 * sizeof(int64_t));
    ir_tensor_free(outs[0]);
    ot_init(&t, "Size", 13, 1, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(*(int64_t *)outs[0]->data, 210);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[0]);
}

static void constant_of_shape_default_and_value(void **state)
{
    (void)state;
    int64_t sv[2] = {2, 3}, n = 2, one = 1;
    int32_t v = 7;
    ir_tensor *ins[1] = {ot_tensor(NORMA_INT64, 1, &n, sv)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "ConstantOfShape", 9, 1, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dtype, NORMA_FLOAT);
    assert_true(((float *)outs[0]->data)[5] == 0.0f);
    ir_tensor_free(outs[0]);
    ir_tensor *val = ot_tensor(NORMA_INT32, 1, &one, &v);
    ot_init(&t, "ConstantOfShape", 9, 1, 1);
    t.attrs[0].name = (char *)"value";
    t.attrs[0].type = IR_ATTR_TENSOR;
    t.attrs[0].t = val;
    t.n.n_attrs = 1;
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dtype, NORMA_INT32);
    assert_int_equal(((int32_t *)outs[0]->data)[5], 7);
    ir_tensor_free(outs[0]);
    ir_tensor_free(val);
    ir_tensor_free(ins[0]);
}

static void range_float_and_negative_int(void **state)
{
    (void)state;
    float s = 1, l = 2, dl = 0.3f;
    ir_tensor *ins[3] = {ot_tensor(NORMA_FLOAT, 0, NULL, &s), ot_tensor(NORMA_FLOAT, 0, NULL, &l),
                         ot_tensor(NORMA_FLOAT, 0, NULL, &dl)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Range", 11, 3, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[0], 4);
    assert_true(((float *)outs[0]->data)[3] == 1.0f + 3.0f * 0.3f);
    ir_tensor_free(outs[0]);
    for (int i = 0; i < 3; i++)
        ir_tensor_free(ins[i]);
    int32_t a = 10, b = 4, c = -3;
    ir_tensor *ii[3] = {ot_tensor(NORMA_INT32, 0, NULL, &a), ot_tensor(NORMA_INT32, 0, NULL, &b),
                        ot_tensor(NORMA_INT32, 0, NULL, &c)};
    assert_int_equal(ot_eval(&t, ii, outs), NORMA_OK);
    const int32_t w[2] = {10, 7};
    assert_int_equal(outs[0]->dims[0], 2);
    assert_memory_equal(outs[0]->data, w, sizeof w);
    ir_tensor_free(outs[0]);
    c = 0;
    memcpy(ii[2]->data, &c, sizeof c);
    assert_int_equal(ot_eval(&t, ii, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "Range 'n0': delta is 0"));
    for (int i = 0; i < 3; i++)
        ir_tensor_free(ii[i]);
}

static void expand_and_tile_by_hand(void **state)
{
    (void)state;
    int64_t xd[2] = {3, 1}, sh[3] = {2, 1, 2}, n3 = 3, n2 = 2, rep[2] = {2, 3};
    int16_t xv[3] = {1, 2, 3};
    ir_tensor *x = ot_tensor(NORMA_INT16, 2, xd, xv);
    ir_tensor *ins[2] = {x, ot_tensor(NORMA_INT64, 1, &n3, sh)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Expand", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->rank, 3);
    const int16_t we[12] = {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3};
    assert_memory_equal(outs[0]->data, we, sizeof we);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[1]);
    int64_t badsh[1] = {2}, n1 = 1;
    ins[1] = ot_tensor(NORMA_INT64, 1, &n1, badsh);
    int64_t xd2[2] = {3, 3};
    ins[0] = ot_tensor(NORMA_INT16, 2, xd2, NULL);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "Expand 'n0': cannot broadcast"));
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
    ins[0] = x;
    ins[1] = ot_tensor(NORMA_INT64, 1, &n2, rep);
    ot_init(&t, "Tile", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[0], 6);
    assert_int_equal(outs[0]->dims[1], 3);
    const int16_t wt[18] = {1, 1, 1, 2, 2, 2, 3, 3, 3, 1, 1, 1, 2, 2, 2, 3, 3, 3};
    assert_memory_equal(outs[0]->data, wt, sizeof wt);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[1]);
    ir_tensor_free(x);
}

static void dropout_is_identity_and_training_is_refused(void **state)
{
    (void)state;
    int64_t d = 3;
    float xv[3] = {1, 2, 3};
    unsigned char tm = 1;
    ir_tensor *ins[3] = {ot_tensor(NORMA_FLOAT, 1, &d, xv), NULL, NULL}, *outs[2] = {0};
    ot_node t;
    ot_init(&t, "Dropout", 13, 1, 2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_memory_equal(outs[0]->data, xv, sizeof xv);
    assert_int_equal(outs[1]->dtype, NORMA_BOOL);
    assert_int_equal(((unsigned char *)outs[1]->data)[2], 1);
    ir_tensor_free(outs[0]);
    ir_tensor_free(outs[1]);
    ins[2] = ot_tensor(NORMA_BOOL, 0, NULL, &tm);
    ot_init(&t, "Dropout", 13, 3, 1);
    t.in[1] = -1;
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(t.err, "Dropout 'n0': training_mode=true with the default ratio 0.5 is random"));
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[2]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shape_start_end_and_size),
        cmocka_unit_test(constant_of_shape_default_and_value),
        cmocka_unit_test(range_float_and_negative_int),
        cmocka_unit_test(expand_and_tile_by_hand),
        cmocka_unit_test(dropout_is_identity_and_training_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
