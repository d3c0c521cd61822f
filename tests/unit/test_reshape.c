/* Reshape, Flatten, Squeeze, Unsqueeze: target shapes, 0 / -1 rules, error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"

static int reshape_to(const int64_t *xd, int xr, const int64_t *shape, int n, int opset, int allowzero,
                      ir_tensor **out, char *err)
{
    ot_node t;
    ot_init(&t, "Reshape", opset, 2, 1);
    if (allowzero)
        ot_int(&t, "allowzero", 1);
    int64_t sd = n;
    ir_tensor *ins[2] = {ot_tensor(NORMA_FLOAT, xr, xd, NULL), ot_tensor(NORMA_INT64, 1, &sd, shape)};
    ir_tensor *outs[1] = {0};
    float *x = ins[0]->data;
    for (size_t i = 0; i < ir_tensor_numel(ins[0]); i++)
        x[i] = (float)i;
    int rc = ot_eval(&t, ins, outs);
    strcpy(err, t.err);
    *out = outs[0];
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
    return rc;
}

static void reshape_zero_copies_and_minus_one_infers(void **state)
{
    (void)state;
    int64_t xd[3] = {2, 3, 4}, sh[3] = {0, -1, 2};
    ir_tensor *y;
    char err[512];
    assert_int_equal(reshape_to(xd, 3, sh, 3, 13, 0, &y, err), NORMA_OK);
    assert_int_equal(y->rank, 3);
    assert_int_equal(y->dims[0], 2);
    assert_int_equal(y->dims[1], 6);
    assert_int_equal(y->dims[2], 2);
    assert_true(((float *)y->data)[23] == 23.0f);
    ir_tensor_free(y);
}

static void reshape_allowzero_keeps_zero(void **state)
{
    (void)state;
    int64_t xd[2] = {0, 3}, sh[2] = {3, 0};
    ir_tensor *y;
    char err[512];
    assert_int_equal(reshape_to(xd, 2, sh, 2, 14, 1, &y, err), NORMA_OK);
    assert_int_equal(y->dims[0], 3);
    assert_int_equal(y->dims[1], 0);
    ir_tensor_free(y);
}

static void reshape_bad_target_fails_with_message(void **state)
{
    (void)state;
    int64_t xd[2] = {2, 3}, sh[2] = {4, 2};
    ir_tensor *y;
    char err[512];
    assert_int_equal(reshape_to(xd, 2, sh, 2, 13, 0, &y, err), NORMA_ERR_SHAPE);
    assert_non_null(strstr(err, "Reshape 'n0': cannot reshape"));
    int64_t two[2] = {-1, -1};
    assert_int_equal(reshape_to(xd, 2, two, 2, 13, 0, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "more than one -1"));
    int64_t nd[1] = {-1}, xd0[2] = {0, 3}, bad[2] = {-1, 0};
    (void)nd;
    assert_int_equal(reshape_to(xd0, 2, bad, 2, 14, 1, &y, err), NORMA_ERR_SHAPE);
}

static void reshape_shape_unknown_at_plan_asks_for_data(void **state)
{
    (void)state;
    ot_node t;
    ot_init(&t, "Reshape", 13, 2, 1);
    int64_t xd[1] = {6}, sd = 2;
    ir_tensor x = {.dtype = NORMA_FLOAT, .rank = 1, .dims = {6}}, s = {.dtype = NORMA_INT64, .rank = 1, .dims = {2}};
    (void)xd;
    (void)sd;
    ir_tensor *ins[2] = {&x, &s}, out = {0}, *outs[1] = {&out};
    const op_schema *sc;
    assert_int_equal(op_resolve(&t.n, &sc, t.err, sizeof t.err), NORMA_OK);
    op_ctx c = {.node = &t.n, .opset = 13, .n_in = 2, .n_out = 1, .in = ins, .out = outs, .err = t.err,
                .err_cap = sizeof t.err};
    assert_int_equal(sc->infer(&c), OP_NEEDS_DATA);
}

static void flatten_negative_axis(void **state)
{
    (void)state;
    ot_node t;
    ot_init(&t, "Flatten", 13, 1, 1);
    ot_int(&t, "axis", -1);
    int64_t xd[3] = {2, 3, 5};
    ir_tensor *ins[1] = {ot_tensor(NORMA_INT8, 3, xd, NULL)}, *outs[1] = {0};
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dims[0], 6);
    assert_int_equal(outs[0]->dims[1], 5);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[0]);
}

static void squeeze_unsqueeze_axes_and_errors(void **state)
{
    (void)state;
    ot_node t;
    int64_t xd[3] = {1, 3, 1}, ax[2] = {0, -1}, ad = 2;
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 3, xd, NULL), *a = ot_tensor(NORMA_INT64, 1, &ad, ax);
    ir_tensor *ins[2] = {x, a}, *outs[1] = {0};
    ot_init(&t, "Squeeze", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->rank, 1);
    ir_tensor_free(outs[0]);
    int64_t bad[1] = {1};
    ot_init(&t, "Squeeze", 11, 1, 1);
    ot_ints(&t, "axes", bad, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "cannot squeeze axis 1 of size 3"));
    ot_init(&t, "Unsqueeze", 13, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->rank, 5);
    assert_int_equal(outs[0]->dims[0], 1);
    assert_int_equal(outs[0]->dims[4], 1);
    assert_int_equal(outs[0]->dims[2], 3);
    ir_tensor_free(outs[0]);
    int64_t oob[1] = {7};
    ot_init(&t, "Unsqueeze", 11, 1, 1);
    ot_ints(&t, "axes", oob, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "axis 7 is out of range"));
    ir_tensor_free(x);
    ir_tensor_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reshape_zero_copies_and_minus_one_infers),
        cmocka_unit_test(reshape_allowzero_keeps_zero),
        cmocka_unit_test(reshape_bad_target_fails_with_message),
        cmocka_unit_test(reshape_shape_unknown_at_plan_asks_for_data),
        cmocka_unit_test(flatten_negative_axis),
        cmocka_unit_test(squeeze_unsqueeze_axes_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
