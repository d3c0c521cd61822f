/* GridSample: bilinear against a direct transcription of the spec on random data
 * (zeros and border padding, both align_corners), identity grids for every mode,
 * reflection and nearest tie rounding by hand, non-finite grids, bad attributes. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>

#include "optest.h"
#include "testutil.h"

static int gs_eval(const char *mode, const char *pad, int align, ir_tensor *x, ir_tensor *g, ir_tensor **y,
                   char *err)
{
    ot_node t;
    ot_init(&t, "GridSample", 16, 2, 1);
    ot_str(&t, "mode", mode);
    ot_str(&t, "padding_mode", pad);
    ot_int(&t, "align_corners", align);
    ir_tensor *ins[2] = {x, g};
    int rc = ot_eval(&t, ins, y);
    strcpy(err, t.err);
    return rc;
}

static double px(const float *p, int H, int W, int yy, int xx, int border)
{
    if (border) {
        yy = yy < 0 ? 0 : yy >= H ? H - 1 : yy;
        xx = xx < 0 ? 0 : xx >= W ? W - 1 : xx;
    }
    return yy < 0 || xx < 0 || yy >= H || xx >= W ? 0 : p[yy * W + xx];
}

static void gridsample_bilinear_matches_spec(void **state)
{
    (void)state;
    tu_seed(11);
    int N = 2, C = 3, H = 5, W = 7, oH = 4, oW = 9;
    int64_t xd[4] = {N, C, H, W}, gd[4] = {N, oH, oW, 2};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 4, xd, NULL), *g = ot_tensor(NORMA_FLOAT, 4, gd, NULL), *y = NULL;
    tu_fill(x->data, ir_tensor_numel(x), -1, 1);
    tu_fill(g->data, ir_tensor_numel(g), -0.9f, 0.9f); /* inside: border clipping equals zeros except edges */
    for (int border = 0; border < 2; border++)
        for (int align = 0; align < 2; align++) {
            char err[512];
            if (border) /* push some points outside to exercise clipping */
                for (size_t i = 0; i < ir_tensor_numel(g); i += 5)
                    ((float *)g->data)[i] *= 1.6f;
            assert_int_equal(gs_eval("bilinear", border ? "border" : "zeros", align, x, g, &y, err), NORMA_OK);
            for (int n = 0; n < N; n++)
                for (int i = 0; i < oH; i++)
                    for (int j = 0; j < oW; j++) {
                        const float *gp = (float *)g->data + ((n * oH + i) * oW + j) * 2;
                        double fx = align ? (gp[0] + 1) / 2.0 * (W - 1) : ((gp[0] + 1) * W - 1) / 2.0;
                        double fy = align ? (gp[1] + 1) / 2.0 * (H - 1) : ((gp[1] + 1) * H - 1) / 2.0;
                        if (border) {
                            fx = fx < 0 ? 0 : fx > W - 1 ? W - 1 : fx;
                            fy = fy < 0 ? 0 : fy > H - 1 ? H - 1 : fy;
                        }
                        int x0 = (int)floor(fx), y0 = (int)floor(fy);
                        double ax = fx - x0, ay = fy - y0;
                        for (int c = 0; c < C; c++) {
                            const float *p = (float *)x->data + (n * C + c) * H * W;
                            double want = (1 - ay) * ((1 - ax) * px(p, H, W, y0, x0, 0) + ax * px(p, H, W, y0, x0 + 1, 0)) +
                                          ay * ((1 - ax) * px(p, H, W, y0 + 1, x0, 0) + ax * px(p, H, W, y0 + 1, x0 + 1, 0));
                            float got = ((float *)y->data)[((n * C + c) * oH + i) * oW + j];
                            assert_true(fabs(got - want) <= 1e-5);
                        }
                    }
            ir_tensor_free(y);
        }
    ir_tensor_free(x);
    ir_tensor_free(g);
}

static void gridsample_identity_grid_returns_input_for_every_mode(void **state)
{
    (void)state;
    tu_seed(12);
    int H = 3, W = 5;
    int64_t xd[4] = {1, 2, H, W}, gd[4] = {1, H, W, 2};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 4, xd, NULL), *g = ot_tensor(NORMA_FLOAT, 4, gd, NULL), *y = NULL;
    tu_fill(x->data, ir_tensor_numel(x), -1, 1);
    const char *modes[3] = {"bilinear", "nearest", "bicubic"}, *pads[3] = {"zeros", "border", "reflection"};
    for (int align = 0; align < 2; align++) {
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                float *gp = (float *)g->data + (i * W + j) * 2;
                gp[0] = align ? 2.0f * j / (W - 1) - 1 : (2.0f * j + 1) / W - 1;
                gp[1] = align ? 2.0f * i / (H - 1) - 1 : (2.0f * i + 1) / H - 1;
            }
        for (int m = 0; m < 3; m++)
            for (int p = 0; p < 3; p++) {
                char err[512];
                assert_int_equal(gs_eval(modes[m], pads[p], align, x, g, &y, err), NORMA_OK);
                /* bicubic with zeros padding reads zeros around the edge, but its weights
                 * at integer positions are (0, 1, 0, 0): exact everywhere */
                assert_true(tu_max_rel_err(y->data, x->data, ir_tensor_numel(x), 1e-6, 1e-5) <= 1.0);
                ir_tensor_free(y);
            }
    }
    ir_tensor_free(x);
    ir_tensor_free(g);
}

static void gridsample_reflection_nearest_and_nonfinite(void **state)
{
    (void)state;
    char err[512];
    float xv[3] = {10, 20, 40};
    int64_t xd[4] = {1, 1, 1, 3}, gd[4] = {1, 1, 4, 2};
    /* align 1, W=3: x=1.5 -> 2.5 reflects to 1.5; x=-1.25 -> -0.25 reflects to 0.25 */
    float gv[8] = {1.5f, 0, -1.25f, 0, NAN, 0, 1e30f, 0};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 4, xd, xv), *g = ot_tensor(NORMA_FLOAT, 4, gd, gv), *y = NULL;
    assert_int_equal(gs_eval("bilinear", "reflection", 1, x, g, &y, err), NORMA_OK);
    float *yv = y->data;
    assert_true(fabsf(yv[0] - 30) < 1e-5f && fabsf(yv[1] - 12.5f) < 1e-5f);
    ir_tensor_free(y);
    assert_int_equal(gs_eval("bilinear", "zeros", 1, x, g, &y, err), NORMA_OK);
    yv = y->data;
    assert_true(isnan(yv[2]) && yv[3] == 0); /* NaN propagates; a huge coordinate reads padding */
    ir_tensor_free(y);
    /* nearest rounds half to even: align 1, x = -0.5 -> 0.5 -> 0; x = 0.5 -> 1.5 -> 2 */
    float gn[8] = {-0.5f, 0, 0.5f, 0, 0, 0, 1, 0};
    memcpy(g->data, gn, sizeof gn);
    assert_int_equal(gs_eval("nearest", "zeros", 1, x, g, &y, err), NORMA_OK);
    yv = y->data;
    assert_true(yv[0] == 10 && yv[1] == 40 && yv[2] == 20 && yv[3] == 40);
    ir_tensor_free(y);
    assert_int_equal(gs_eval("linear", "zeros", 0, x, g, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "GridSample 'n0': mode 'linear'"));
    assert_int_equal(gs_eval("nearest", "mirror", 0, x, g, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "padding_mode 'mirror'"));
    ir_tensor_free(x);
    ir_tensor_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gridsample_bilinear_matches_spec),
        cmocka_unit_test(gridsample_identity_grid_returns_input_for_every_mode),
        cmocka_unit_test(gridsample_reflection_nearest_and_nonfinite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
