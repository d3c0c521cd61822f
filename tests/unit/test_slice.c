/* Slice: negative steps, clamping, INT64_MAX ends, against a naive per-axis reference;
 * Pad: constant / edge / reflect / negative pads by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"

static ir_tensor *i64vec(const int64_t *v, int64_t n)
{
    return ot_tensor(NORMA_INT64, 1, &n, v);
}

/* Python-style slicing of one axis written the obvious way (for reference). */
static int ref_axis(int64_t dim, int64_t s, int64_t e, int64_t step, int64_t *out)
{
    int n = 0;
    if (s < 0)
        s += dim;
    if (e < 0)
        e += dim;
    if (step > 0) {
        if (s < 0)
            s = 0;
        if (e > dim)
            e = dim;
        for (int64_t i = s; i < e; i += step)
            out[n++] = i;
    } else {
        if (s > dim - 1)
            s = dim - 1;
        if (e < -1)
            e = -1;
        for (int64_t i = s; i > e && i >= 0; i += step)
            out[n++] = i;
    }
    return n;
}

static void slice_2d_steps_match_reference(void **state)
{
    (void)state;
    int64_t d[2] = {7, 9};
    ir_tensor *x = ot_tensor(NORMA_INT32, 2, d, NULL);
    for (int i = 0; i < 63; i++)
        ((int32_t *)x->data)[i] = i;
    static const int64_t cases[][6] = {
        /* start0, end0, step0, start1, end1, step1 */
        {0, INT64_MAX, 1, 1, -1, 2},   {-1, INT64_MIN, -1, 8, 0, -3}, {5, 2, -2, -100, 100, 4},
        {2, 2, 1, 0, 9, 1},             {100, -100, -1, 3, 4, 1},      {-3, INT64_MAX, 2, INT64_MAX, 2, -1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int64_t *cs = cases[k];
        int64_t st[2] = {cs[0], cs[3]}, en[2] = {cs[1], cs[4]}, sp[2] = {cs[2], cs[5]}, ax[2] = {0, 1};
        ir_tensor *ins[5] = {x, i64vec(st, 2), i64vec(en, 2), i64vec(ax, 2), i64vec(sp, 2)}, *outs[1] = {0};
        ot_node t;
        ot_init(&t, "Slice", 13, 5, 1);
        assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
        int64_t r0[16], r1[16];
        int n0 = ref_axis(7, cs[0], cs[1], cs[2], r0), n1 = ref_axis(9, cs[3], cs[4], cs[5], r1);
        assert_int_equal(outs[0]->dims[0], n0);
        assert_int_equal(outs[0]->dims[1], n1);
        for (int i = 0; i < n0; i++)
            for (int j = 0; j < n1; j++)
                assert_int_equal(((int32_t *)outs[0]->data)[i * n1 + j], r0[i] * 9 + r1[j]);
        ir_tensor_free(outs[0]);
        for (int i = 1; i < 5; i++)
            ir_tensor_free(ins[i]);
    }
    ir_tensor_free(x);
}

static void slice_bad_axes_and_zero_step_fail(void **state)
{
    (void)state;
    int64_t d[2] = {3, 4}, st[1] = {0}, en[1] = {2}, ax[1] = {2}, zero[1] = {0}, ax0[1] = {0};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 2, d, NULL);
    ir_tensor *ins[5] = {x, i64vec(st, 1), i64vec(en, 1), i64vec(ax, 1), NULL}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Slice", 13, 4, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "Slice 'n0': axis 2 is out of range for rank 2"));
    ir_tensor_free(ins[3]);
    ins[3] = i64vec(ax0, 1);
    ins[4] = i64vec(zero, 1);
    ot_init(&t, "Slice", 13, 5, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "step for axis 0 is 0"));
    for (int i = 0; i < 5; i++)
        ir_tensor_free(ins[i]);
}

static void slice_opset1_attributes(void **state)
{
    (void)state;
    int64_t d[2] = {2, 4}, st[1] = {1}, en[1] = {1000}, ax[1] = {1};
    float xv[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    ir_tensor *ins[1] = {ot_tensor(NORMA_FLOAT, 2, d, xv)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Slice", 1, 1, 1);
    ot_ints(&t, "starts", st, 1);
    ot_ints(&t, "ends", en, 1);
    ot_ints(&t, "axes", ax, 1);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want[6] = {1, 2, 3, 5, 6, 7};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[0]);
}

static ir_tensor *pad_run_mode(const char *mode, const int64_t *pads, int64_t np, const float *xv, int64_t *xd,
                               int rank, int *rc, char *err)
{
    ir_tensor *ins[2] = {ot_tensor(NORMA_FLOAT, rank, xd, xv), i64vec(pads, np)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Pad", 13, 2, 1);
    ot_str(&t, "mode", mode);
    *rc = ot_eval(&t, ins, outs);
    strcpy(err, t.err);
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
    return outs[0];
}

static void pad_modes_by_hand(void **state)
{
    (void)state;
    float xv[3] = {1, 2, 3};
    int64_t xd[1] = {3}, pads[2] = {2, 3};
    int rc;
    char err[512];
    ir_tensor *y = pad_run_mode("constant", pads, 2, xv, xd, 1, &rc, err);
    assert_int_equal(rc, NORMA_OK);
    const float wc[8] = {0, 0, 1, 2, 3, 0, 0, 0};
    assert_memory_equal(y->data, wc, sizeof wc);
    ir_tensor_free(y);
    y = pad_run_mode("edge", pads, 2, xv, xd, 1, &rc, err);
    const float we[8] = {1, 1, 1, 2, 3, 3, 3, 3};
    assert_memory_equal(y->data, we, sizeof we);
    ir_tensor_free(y);
    y = pad_run_mode("reflect", pads, 2, xv, xd, 1, &rc, err);
    const float wr[8] = {3, 2, 1, 2, 3, 2, 1, 2};
    assert_memory_equal(y->data, wr, sizeof wr);
    ir_tensor_free(y);
    int64_t crop[2] = {-1, 1};
    y = pad_run_mode("constant", crop, 2, xv, xd, 1, &rc, err);
    const float wn[3] = {2, 3, 0};
    assert_int_equal(y->dims[0], 3);
    assert_memory_equal(y->data, wn, sizeof wn);
    ir_tensor_free(y);
    /* 2-D: pad rows and columns, edge */
    float x2[4] = {1, 2, 3, 4};
    int64_t d2[2] = {2, 2}, p2[4] = {1, 0, 0, 1};
    y = pad_run_mode("edge", p2, 4, x2, d2, 2, &rc, err);
    const float w2[9] = {1, 2, 2, 1, 2, 2, 3, 4, 4};
    assert_memory_equal(y->data, w2, sizeof w2);
    ir_tensor_free(y);
    int64_t bad[1] = {1};
    y = pad_run_mode("constant", bad, 1, xv, xd, 1, &rc, err);
    assert_null(y);
    assert_int_equal(rc, NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "Pad 'n0': 'pads' has 1 values; expected 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slice_2d_steps_match_reference),
        cmocka_unit_test(slice_bad_axes_and_zero_step_fail),
        cmocka_unit_test(slice_opset1_attributes),
        cmocka_unit_test(pad_modes_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
