/* RoiAlign: on an image linear in x and y, average pooling gives each bin's center
 * (bilinear sampling is exact there) under both coordinate modes and opsets; batch
 * indices pick the image; constant images under max; bad indices and attributes. */
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

static int ra_eval(int opset, const char *ctm, const char *mode, ir_tensor **ins, ir_tensor **y, char *err)
{
    ot_node t;
    ot_init(&t, "RoiAlign", opset, 3, 1);
    ot_int(&t, "output_height", 3);
    ot_int(&t, "output_width", 2);
    ot_int(&t, "sampling_ratio", 2);
    if (ctm)
        ot_str(&t, "coordinate_transformation_mode", ctm);
    if (mode)
        ot_str(&t, "mode", mode);
    int rc = ot_eval(&t, ins, y);
    strcpy(err, t.err);
    return rc;
}

static void roialign_avg_on_linear_image_gives_bin_centers(void **state)
{
    (void)state;
    int H = 12, W = 10;
    int64_t xd[4] = {2, 2, H, W}, rd[2] = {2, 4}, nb = 2;
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 4, xd, NULL);
    float *xv = x->data;
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++)
                    xv[((b * 2 + c) * H + i) * W + j] = (float)(b * 100 + (c ? i : j)); /* c0: x, c1: y */
    float rois[8] = {1, 1, 7, 7, 2.5f, 3, 6.5f, 9};
    int64_t bi[2] = {1, 0};
    ir_tensor *ins[3] = {x, ot_tensor(NORMA_FLOAT, 2, rd, rois), ot_tensor(NORMA_INT64, 1, &nb, bi)}, *y = NULL;
    struct {
        int opset;
        const char *ctm;
        double off;
    } modes[3] = {{16, NULL, 0.5}, {16, "output_half_pixel", 0}, {10, NULL, 0}};
    for (int m = 0; m < 3; m++) {
        char err[512];
        assert_int_equal(ra_eval(modes[m].opset, modes[m].ctm, NULL, ins, &y, err), NORMA_OK);
        assert_int_equal(y->dims[0], 2);
        assert_int_equal(y->dims[2], 3);
        assert_int_equal(y->dims[3], 2);
        for (int r = 0; r < 2; r++) {
            const float *ro = rois + 4 * r;
            double x0 = ro[0] - modes[m].off, y0 = ro[1] - modes[m].off;
            double bw = (ro[2] - ro[0]) / 2.0, bh = (ro[3] - ro[1]) / 3.0;
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 2; j++) {
                    double cx = x0 + (j + 0.5) * bw, cy = y0 + (i + 0.5) * bh;
                    const float *yv = (float *)y->data + (size_t)r * 2 * 6;
                    assert_true(fabs(yv[i * 2 + j] - (bi[r] * 100 + cx)) < 1e-4);
                    assert_true(fabs(yv[6 + i * 2 + j] - (bi[r] * 100 + cy)) < 1e-4);
                }
        }
        ir_tensor_free(y);
    }
    /* max on a constant image: every sample's largest weighted corner, at most the value */
    for (size_t i = 0; i < ir_tensor_numel(x); i++)
        xv[i] = 2;
    char err[512];
    assert_int_equal(ra_eval(16, NULL, "max", ins, &y, err), NORMA_OK);
    for (size_t i = 0; i < ir_tensor_numel(y); i++) {
        float v = ((float *)y->data)[i];
        assert_true(v > 0.5f && v <= 2.0f);
    }
    ir_tensor_free(y);
    ((int64_t *)ins[2]->data)[1] = 2;
    assert_int_equal(ra_eval(16, NULL, NULL, ins, &y, err), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(err, "RoiAlign 'n0': batch index 2 of roi 1 is outside [0, 2)"));
    assert_int_equal(ra_eval(16, "asymmetric", NULL, ins, &y, err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "coordinate_transformation_mode 'asymmetric'"));
    assert_int_equal(ra_eval(16, NULL, "min", ins, &y, err), NORMA_ERR_MODEL);
    for (int i = 0; i < 3; i++)
        ir_tensor_free(ins[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roialign_avg_on_linear_image_gives_bin_centers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
