/* MaxUnpool: scatter of MaxPool-style indices into the default and a larger
 * output_shape, out-of-range indices at run time, unknown output_shape, bad attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

static const int64_t ks[2] = {2, 2};

static void unpool_node(ot_node *t, int n_in)
{
    ot_init(t, "MaxUnpool", 11, n_in, 1);
    ot_ints(t, "kernel_shape", ks, 2);
    ot_ints(t, "strides", ks, 2);
}

static void maxunpool_scatters_into_default_and_given_shape(void **state)
{
    (void)state;
    /* x (1,2,2,3): indices of a 2x2/2 max pool over (1,2,4,6) */
    int64_t d[4] = {1, 2, 2, 3};
    float xv[12];
    int64_t iv[12];
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) {
                int k = (c * 2 + i) * 3 + j;
                xv[k] = (float)(k + 1);
                iv[k] = c * 24 + (2 * i + (k & 1)) * 6 + 2 * j + ((k >> 1) & 1);
            }
    ir_tensor *ins[3] = {ot_tensor(NORMA_FLOAT, 4, d, xv), ot_tensor(NORMA_INT64, 4, d, iv), NULL}, *y = NULL;
    ot_node t;
    unpool_node(&t, 2);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_OK);
    assert_int_equal(y->dims[2], 4);
    assert_int_equal(y->dims[3], 6);
    float *yv = y->data;
    float sum = 0;
    for (int i = 0; i < 48; i++)
        sum += yv[i];
    assert_true(sum == 78); /* 1 + ... + 12, nothing lost or doubled */
    for (int k = 0; k < 12; k++)
        assert_true(yv[iv[k]] == xv[k]);
    ir_tensor_free(y);
    /* a larger output_shape keeps each value at the same (n, c, h, w) */
    int64_t os[4] = {1, 2, 5, 7}, four = 4;
    ins[2] = ot_tensor(NORMA_INT64, 1, &four, os);
    unpool_node(&t, 3);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_OK);
    assert_int_equal(y->dims[2], 5);
    assert_int_equal(y->dims[3], 7);
    yv = y->data;
    for (int k = 0; k < 12; k++) {
        int64_t c = iv[k] / 24, h = iv[k] / 6 % 4, w = iv[k] % 6;
        assert_true(yv[(c * 5 + h) * 7 + w] == xv[k]);
    }
    ir_tensor_free(y);
    for (int i = 0; i < 3; i++)
        ir_tensor_free(ins[i]);
}

static void maxunpool_index_out_of_range_is_runtime_error(void **state)
{
    (void)state;
    int64_t d[4] = {1, 1, 1, 1}, bad = 4;
    float v = 1;
    ir_tensor *ins[2] = {ot_tensor(NORMA_FLOAT, 4, d, &v), ot_tensor(NORMA_INT64, 4, d, &bad)}, *y = NULL;
    ot_node t;
    unpool_node(&t, 2);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "MaxUnpool 'n0': index 4 at 0 is outside the output (4 elements)"));
    ((int64_t *)ins[1]->data)[0] = -1;
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_ERR_RUNTIME);
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
}

static void maxunpool_checks_attributes_and_shape_data(void **state)
{
    (void)state;
    int64_t d[4] = {1, 1, 2, 2}, four = 4;
    ir_tensor *ins[3] = {ot_tensor(NORMA_FLOAT, 4, d, NULL), ot_tensor(NORMA_INT64, 4, d, NULL), NULL}, *y = NULL;
    ot_node t;
    ot_init(&t, "MaxUnpool", 11, 2, 1);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "kernel_shape must have 2 values"));
    int64_t small[4] = {1, 1, 3, 3};
    ins[2] = ot_tensor(NORMA_INT64, 1, &four, small);
    unpool_node(&t, 3);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "output_shape[2] = 3 is invalid (at least 4)"));
    /* output_shape not known at plan time */
    int any = 0;
    const op_schema *s = op_lookup("", "MaxUnpool", 11, &any);
    ir_tensor unknown = {.dtype = NORMA_INT64, .rank = 1, .dims = {4}}, out = {0}, *outp[1] = {&out};
    ir_tensor *ins2[3] = {ins[0], ins[1], &unknown};
    op_ctx c = {.node = &t.n, .opset = 11, .n_in = 3, .n_out = 1, .in = ins2, .out = outp, .threads = 1,
                .err = t.err, .err_cap = sizeof t.err};
    assert_int_equal(s->infer(&c), OP_NEEDS_DATA);
    assert_null(y);
    for (int i = 0; i < 3; i++)
        ir_tensor_free(ins[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maxunpool_scatters_into_default_and_given_shape),
        cmocka_unit_test(maxunpool_index_out_of_range_is_runtime_error),
        cmocka_unit_test(maxunpool_checks_attributes_and_shape_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
