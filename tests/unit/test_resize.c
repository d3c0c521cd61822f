/* Resize and Upsample: bilinear half_pixel and align_corners against a direct 2-D
 * formula, bicubic reproducing a quadratic exactly, nearest rounding modes by hand, trilinear on a linear ramp (exact), and
 * error paths. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Bilinear on one HxW plane, written as the textbook formula. */
static void ref_bilinear(const float *x, int H, int W, int OH, int OW, int align, float *y)
{
    for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++) {
            float sy = align ? (OH == 1 ? 0 : (float)i * (float)(H - 1) / (float)(OH - 1))
                             : ((float)i + 0.5f) * (float)H / (float)OH - 0.5f;
            float sx = align ? (OW == 1 ? 0 : (float)j * (float)(W - 1) / (float)(OW - 1))
                             : ((float)j + 0.5f) * (float)W / (float)OW - 0.5f;
            sy = clampf(sy, 0, (float)(H - 1));
            sx = clampf(sx, 0, (float)(W - 1));
            int y0 = (int)sy, x0 = (int)sx, y1 = y0 + 1 < H ? y0 + 1 : y0, x1 = x0 + 1 < W ? x0 + 1 : x0;
            float fy = sy - (float)y0, fx = sx - (float)x0;
            y[i * OW + j] = (1 - fy) * ((1 - fx) * x[y0 * W + x0] + fx * x[y0 * W + x1]) +
                            fy * ((1 - fx) * x[y1 * W + x0] + fx * x[y1 * W + x1]);
        }
}

static float cubic_a = -0.75f;

static ir_tensor *resize_sizes(ir_tensor *x, const int64_t *sizes, const char *mode, const char *ct,
                               const char *nm, int *rc, char *err)
{
    int64_t n = x->rank;
    ir_tensor *sz = ot_tensor(NORMA_INT64, 1, &n, sizes);
    ir_tensor *ins[4] = {x, NULL, NULL, sz}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Resize", 13, 4, 1);
    t.in[1] = t.in[2] = -1;
    ot_str(&t, "mode", mode);
    ot_str(&t, "coordinate_transformation_mode", ct);
    if (nm)
        ot_str(&t, "nearest_mode", nm);
    ot_float(&t, "cubic_coeff_a", cubic_a);
    *rc = ot_eval(&t, ins, outs);
    strcpy(err, t.err);
    ir_tensor_free(sz);
    return outs[0];
}

static void bilinear_matches_formula_on_awkward_sizes(void **state)
{
    (void)state;
    static const int shapes[][4] = {{5, 7, 11, 3}, {1, 9, 4, 17}, {6, 6, 13, 13}, {3, 8, 1, 1}};
    tu_seed(3);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int align = 0; align < 2; align++) {
            int H = shapes[s][0], W = shapes[s][1], OH = shapes[s][2], OW = shapes[s][3];
            int64_t d[4] = {2, 1, H, W}, sz[4] = {2, 1, OH, OW};
            ir_tensor *x = ot_tensor(NORMA_FLOAT, 4, d, NULL);
            tu_fill(x->data, ir_tensor_numel(x), -1, 1);
            int rc;
            char err[512];
            ir_tensor *y = resize_sizes(x, sz, "linear", align ? "align_corners" : "half_pixel", NULL, &rc, err);
            assert_int_equal(rc, NORMA_OK);
            float *ref = malloc(sizeof(float) * (size_t)(2 * OH * OW));
            for (int b = 0; b < 2; b++)
                ref_bilinear((float *)x->data + b * H * W, H, W, OH, OW, align, ref + b * OH * OW);
            assert_true(tu_max_rel_err(y->data, ref, (size_t)(2 * OH * OW), 1e-6, 1e-5) <= 1.0);
            free(ref);
            ir_tensor_free(y);
            ir_tensor_free(x);
        }
}

static void trilinear_is_exact_on_a_ramp(void **state)
{
    (void)state;
    /* f(z,y,x) = z + 2y + 3x is reproduced exactly by trilinear interpolation inside
     * the grid (align_corners keeps every sample inside). */
    int64_t d[5] = {1, 1, 3, 4, 5}, sz[5] = {1, 1, 5, 7, 9};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 5, d, NULL);
    float *xv = x->data;
    for (int z = 0; z < 3; z++)
        for (int yy = 0; yy < 4; yy++)
            for (int xx = 0; xx < 5; xx++)
                xv[(z * 4 + yy) * 5 + xx] = (float)z + 2.0f * (float)yy + 3.0f * (float)xx;
    int rc;
    char err[512];
    ir_tensor *y = resize_sizes(x, sz, "linear", "align_corners", NULL, &rc, err);
    assert_int_equal(rc, NORMA_OK);
    const float *yv = y->data;
    for (int z = 0; z < 5; z++)
        for (int yy = 0; yy < 7; yy++)
            for (int xx = 0; xx < 9; xx++) {
                float want = (float)z * 2.0f / 4.0f + 2.0f * (float)yy * 3.0f / 6.0f + 3.0f * (float)xx * 4.0f / 8.0f;
                assert_true(fabsf(yv[(z * 7 + yy) * 9 + xx] - want) < 1e-5f);
            }
    ir_tensor_free(y);
    ir_tensor_free(x);
}

static void nearest_rounding_modes_by_hand(void **state)
{
    (void)state;
    /* 1-D, 4 -> 8 asymmetric: source coordinate o/2 = 0, .5, 1, 1.5, ... */
    int64_t d[1] = {4}, sz[1] = {8};
    int32_t xv[4] = {10, 11, 12, 13};
    ir_tensor *x = ot_tensor(NORMA_INT32, 1, d, xv);
    int rc;
    char err[512];
    static const char *modes[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    static const int32_t want[4][8] = {{10, 10, 11, 11, 12, 12, 13, 13},
                                       {10, 11, 11, 12, 12, 13, 13, 13},
                                       {10, 10, 11, 11, 12, 12, 13, 13},
                                       {10, 11, 11, 12, 12, 13, 13, 13}};
    for (int m = 0; m < 4; m++) {
        ir_tensor *y = resize_sizes(x, sz, "nearest", "asymmetric", modes[m], &rc, err);
        assert_int_equal(rc, NORMA_OK);
        assert_memory_equal(y->data, want[m], sizeof want[m]);
        ir_tensor_free(y);
    }
    ir_tensor *y = resize_sizes(x, sz, "area", "asymmetric", NULL, &rc, err);
    assert_null(y);
    assert_int_equal(rc, NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "Resize 'n0': mode 'area' is not supported"));
    y = resize_sizes(x, sz, "cubic", "asymmetric", NULL, &rc, err);
    assert_int_equal(rc, NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "cubic mode on int32 is not supported"));
    y = resize_sizes(x, sz, "linear", "half_pixel", NULL, &rc, err);
    assert_int_equal(rc, NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "linear mode on int32"));
    ir_tensor_free(x);
}

static void cubic_reproduces_a_linear_ramp_inside(void **state)
{
    (void)state;
    /* With A = -0.5, Keys' cubic kernel reproduces polynomials up to degree 2, so away
     * from the edges (where taps get clamped) a ramp comes out exact. */
    int64_t d[2] = {1, 12}, sz[2] = {1, 29};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 2, d, NULL);
    for (int i = 0; i < 12; i++)
        ((float *)x->data)[i] = 0.5f * (float)i - 2.0f;
    int rc;
    char err[512];
    cubic_a = -0.5f;
    ir_tensor *y = resize_sizes(x, sz, "cubic", "align_corners", NULL, &rc, err);
    cubic_a = -0.75f;
    assert_int_equal(rc, NORMA_OK);
    for (int j = 0; j < 29; j++) {
        double src = (double)j * 11.0 / 28.0;
        if (src < 1 || src > 9)
            continue;
        assert_true(fabs(((float *)y->data)[j] - (0.5 * src - 2.0)) < 1e-5);
    }
    ir_tensor_free(y);
    ir_tensor_free(x);
}

static void upsample7_nearest_scales_attribute(void **state)
{
    (void)state;
    int64_t d[2] = {2, 2};
    float xv[4] = {1, 2, 3, 4}, sc[2] = {1.0f, 2.0f};
    ir_tensor *ins[1] = {ot_tensor(NORMA_FLOAT, 2, d, xv)}, *outs[1] = {0};
    ot_node t;
    ot_init(&t, "Upsample", 7, 1, 1);
    ot_floats(&t, "scales", sc, 2);
    assert_int_equal(ot_eval(&t, ins, outs), NORMA_OK);
    const float want[8] = {1, 1, 2, 2, 3, 3, 4, 4};
    assert_memory_equal(outs[0]->data, want, sizeof want);
    ir_tensor_free(outs[0]);
    ir_tensor_free(ins[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bilinear_matches_formula_on_awkward_sizes),
        cmocka_unit_test(trilinear_is_exact_on_a_ramp),
        cmocka_unit_test(nearest_rounding_modes_by_hand),
        cmocka_unit_test(cubic_reproduces_a_linear_ramp_inside),
        cmocka_unit_test(upsample7_nearest_scales_attribute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
