/* RoiAlign (see roialign.h). */
#include <math.h>

#include "kernels/roialign.h"

/* Bilinear corner offsets and weights of sample (yy, xx); all zero outside. */
static void ra_sample(size_t H, size_t W, double yy, double xx, size_t off[4], double w[4])
{
    if (!(yy >= -1.0 && yy <= (double)H && xx >= -1.0 && xx <= (double)W)) {
        for (int i = 0; i < 4; i++) {
            off[i] = 0;
            w[i] = 0;
        }
        return;
    }
    if (yy <= 0)
        yy = 0;
    if (xx <= 0)
        xx = 0;
    size_t yl = (size_t)yy, xl = (size_t)xx, yh, xh;
    if (yl >= H - 1) {
        yh = yl = H - 1;
        yy = (double)yl;
    } else
        yh = yl + 1;
    if (xl >= W - 1) {
        xh = xl = W - 1;
        xx = (double)xl;
    } else
        xh = xl + 1;
    double ly = yy - (double)yl, lx = xx - (double)xl, hy = 1 - ly, hx = 1 - lx;
    off[0] = yl * W + xl;
    off[1] = yl * W + xh;
    off[2] = yh * W + xl;
    off[3] = yh * W + xh;
    w[0] = hy * hx;
    w[1] = hy * lx;
    w[2] = ly * hx;
    w[3] = ly * lx;
}

void k_f32_roialign_ref(size_t C, size_t H, size_t W, const float *x, const float *roi, float spatial_scale,
                        size_t oH, size_t oW, int sampling_ratio, int half_pixel, int max_mode, float *y)
{
    double off0 = half_pixel ? 0.5 : 0.0;
    double sw = roi[0] * (double)spatial_scale - off0, sh = roi[1] * (double)spatial_scale - off0;
    double rw = roi[2] * (double)spatial_scale - off0 - sw, rh = roi[3] * (double)spatial_scale - off0 - sh;
    if (!half_pixel) {
        rw = rw > 1 ? rw : 1;
        rh = rh > 1 ? rh : 1;
    }
    double bh = rh / (double)oH, bw = rw / (double)oW;
    double gh_d = sampling_ratio > 0 ? sampling_ratio : ceil(rh / (double)oH);
    double gw_d = sampling_ratio > 0 ? sampling_ratio : ceil(rw / (double)oW);
    /* a non-finite or absurd region samples once per bin instead of looping forever */
    long gh = gh_d >= 1 && gh_d < 1024 ? (long)gh_d : gh_d >= 1024 ? 1024 : 0;
    long gw = gw_d >= 1 && gw_d < 1024 ? (long)gw_d : gw_d >= 1024 ? 1024 : 0;
    double count = gh * gw > 1 ? (double)(gh * gw) : 1.0;
    for (size_t ph = 0; ph < oH; ph++)
        for (size_t pw = 0; pw < oW; pw++) {
            for (size_t ch = 0; ch < C; ch++) {
                const float *p = x + ch * H * W;
                double acc = 0;
                int first = 1;
                for (long iy = 0; iy < gh; iy++) {
                    double yy = sh + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
                    for (long ix = 0; ix < gw; ix++) {
                        double xx = sw + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
                        size_t o[4];
                        double w[4];
                        ra_sample(H, W, yy, xx, o, w);
                        if (max_mode) {
                            double v = w[0] * p[o[0]];
                            for (int k = 1; k < 4; k++)
                                v = fmax(v, w[k] * p[o[k]]);
                            acc = first ? v : fmax(acc, v);
                            first = 0;
                        } else
                            acc += w[0] * p[o[0]] + w[1] * p[o[1]] + w[2] * p[o[2]] + w[3] * p[o[3]];
                    }
                }
                y[(ch * oH + ph) * oW + pw] = (float)(max_mode ? acc : acc / count);
            }
        }
}
