/* Cast and CastLike: float16 exactness, float->int truncation, bool, wrap-around of
 * integers, NaN and out-of-range handling, and unsupported targets. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "ir/half.h"
#include "optest.h"

static ir_tensor *cast_to(const ir_tensor *x, int to, int *rc, char *err)
{
    ot_node t;
    ot_init(&t, "Cast", 13, 1, 1);
    ot_int(&t, "to", to);
    ir_tensor *ins[1] = {(ir_tensor *)x}, *outs[1] = {0};
    *rc = ot_eval(&t, ins, outs);
    strcpy(err, t.err);
    return outs[0];
}

static void cast_float_to_ints_and_bool(void **state)
{
    (void)state;
    float xv[6] = {1.9f, -1.9f, 0.0f, 300.5f, NAN, -0.0f};
    int64_t n = 6;
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 1, &n, xv);
    int rc;
    char err[512];
    ir_tensor *y = cast_to(x, NORMA_INT32, &rc, err);
    assert_int_equal(rc, NORMA_OK);
    const int32_t w32[6] = {1, -1, 0, 300, 0, 0};
    assert_memory_equal(y->data, w32, sizeof w32);
    ir_tensor_free(y);
    y = cast_to(x, NORMA_UINT8, &rc, err);
    const uint8_t w8[6] = {1, 255, 0, 44, 0, 0}; /* through int64, wrapping like numpy */
    assert_memory_equal(y->data, w8, sizeof w8);
    ir_tensor_free(y);
    y = cast_to(x, NORMA_BOOL, &rc, err);
    const uint8_t wb[6] = {1, 1, 0, 1, 1, 0};
    assert_memory_equal(y->data, wb, sizeof wb);
    ir_tensor_free(y);
    ir_tensor_free(x);
}

static void cast_float16_round_trip_is_exact(void **state)
{
    (void)state;
    /* every finite half converts to float and back unchanged */
    int64_t n = 65536;
    ir_tensor *h = ot_tensor(NORMA_FLOAT16, 1, &n, NULL);
    for (int i = 0; i < 65536; i++)
        ((uint16_t *)h->data)[i] = (uint16_t)i;
    int rc;
    char err[512];
    ir_tensor *f = cast_to(h, NORMA_FLOAT, &rc, err);
    assert_int_equal(rc, NORMA_OK);
    ir_tensor *d = cast_to(h, NORMA_DOUBLE, &rc, err);
    ir_tensor *back = cast_to(f, NORMA_FLOAT16, &rc, err), *back2 = cast_to(d, NORMA_FLOAT16, &rc, err);
    for (int i = 0; i < 65536; i++) {
        uint16_t a = ((uint16_t *)back->data)[i], b = ((uint16_t *)back2->data)[i];
        if ((i & 0x7c00) == 0x7c00 && (i & 0x3ff)) { /* NaN stays NaN */
            assert_true((a & 0x7c00) == 0x7c00 && (a & 0x3ff));
            assert_true((b & 0x7c00) == 0x7c00 && (b & 0x3ff));
        } else {
            assert_int_equal(a, i);
            assert_int_equal(b, i);
        }
    }
    /* ties round to even: 1 + 2^-11 is halfway between 1 and the next half */
    float tie = 1.0f + 1.0f / 2048.0f;
    int64_t one = 1;
    ir_tensor *t = ot_tensor(NORMA_FLOAT, 1, &one, &tie), *th = cast_to(t, NORMA_FLOAT16, &rc, err);
    assert_int_equal(((uint16_t *)th->data)[0], 0x3c00);
    ir_tensor_free(t);
    ir_tensor_free(th);
    ir_tensor_free(h);
    ir_tensor_free(f);
    ir_tensor_free(d);
    ir_tensor_free(back);
    ir_tensor_free(back2);
}

static void cast_int64_to_uint16_and_double(void **state)
{
    (void)state;
    int64_t xv[3] = {-1, 65537, INT64_MAX}, n = 3;
    ir_tensor *x = ot_tensor(NORMA_INT64, 1, &n, xv);
    int rc;
    char err[512];
    ir_tensor *y = cast_to(x, NORMA_UINT16, &rc, err);
    const uint16_t w[3] = {65535, 1, 65535};
    assert_memory_equal(y->data, w, sizeof w);
    ir_tensor_free(y);
    y = cast_to(x, NORMA_DOUBLE, &rc, err);
    assert_true(((double *)y->data)[2] == 9223372036854775807.0);
    ir_tensor_free(y);
    y = cast_to(x, NORMA_STRING, &rc, err);
    assert_null(y);
    assert_int_equal(rc, NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "Cast 'n0': cast to string is not supported"));
    ir_tensor_free(x);
}

static void castlike_takes_dtype_of_second_input(void **state)
{
    (void)state;
    double xv[2] = {2.5, -3.5};
    int64_t n = 2;
    ir_tensor *ins[2] = {ot_tensor(NORMA_DOUBLE, 1, &n, xv), ot_tensor(NORMA_INT8, 1, &n, NULL)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "CastLike", 15, 2, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    assert_int_equal(outs[0]->dtype, NORMA_INT8);
    const int8_t w[2] = {2, -3};
    assert_memory_equal(outs[0]->data, w, sizeof w);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cast_float_to_ints_and_bool),
        cmocka_unit_test(cast_float16_round_trip_is_exact),
        cmocka_unit_test(cast_int64_to_uint16_and_double),
        cmocka_unit_test(castlike_takes_dtype_of_second_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
