/* GridSample 2-D (see gridsample.h). */
#include <math.h>

#include "kernels/gridsample.h"

static double gs_unnormalize(double c, size_t size, int align)
{
    return align ? (c + 1) / 2 * ((double)size - 1) : ((c + 1) * (double)size - 1) / 2;
}

static double gs_reflect(double in, double twice_low, double twice_high)
{
    if (twice_low == twice_high)
        return 0;
    double mn = twice_low / 2, span = (twice_high - twice_low) / 2;
    in = fabs(in - mn);
    double extra = fmod(in, span);
    double flips = floor(in / span);
    return fmod(flips, 2) == 0 ? extra + mn : span - extra + mn;
}

static double gs_clip(double c, size_t size)
{
    return c < 0 ? 0 : c > (double)size - 1 ? (double)size - 1 : c;
}

/* Applies the padding mode to an unnormalized coordinate. */
static double gs_pad(double c, size_t size, int padding, int align)
{
    if (padding == K_GS_BORDER)
        return gs_clip(c, size);
    if (padding == K_GS_REFLECTION) {
        c = align ? gs_reflect(c, 0, 2 * ((double)size - 1)) : gs_reflect(c, -1, 2 * (double)size - 1);
        return gs_clip(c, size);
    }
    return c;
}

/* Converts an integral-valued coordinate to an index; NaN and huge values become
 * far out of range (padding, also for index + 1), never an undefined conversion. */
static long long gs_ll(double v)
{
    return v > -1e15 && v < 1e15 ? (long long)v : -(1LL << 50);
}

static double gs_at(const float *p, size_t H, size_t W, long long yy, long long xx)
{
    if (yy < 0 || xx < 0 || yy >= (long long)H || xx >= (long long)W)
        return 0;
    return p[(size_t)yy * W + (size_t)xx];
}

static void gs_cubic(double t, double w[4])
{
    const double A = -0.75;
    double x1 = t + 1, x2 = t, x3 = 1 - t, x4 = 2 - t;
    w[0] = ((A * x1 - 5 * A) * x1 + 8 * A) * x1 - 4 * A;
    w[1] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
    w[2] = ((A + 2) * x3 - (A + 3)) * x3 * x3 + 1;
    w[3] = ((A * x4 - 5 * A) * x4 + 8 * A) * x4 - 4 * A;
}

void k_f32_gridsample_ref(size_t N, size_t C, size_t H, size_t W, const float *x, size_t oH, size_t oW,
                          const float *grid, int mode, int padding, int align_corners, float *y,
                          int threads)
{
    long long rows = (long long)(N * oH);
    int nt = threads > 1 && N * oH * oW * C > 16384 ? threads : 1;
#pragma omp parallel for num_threads(nt) if (nt > 1)
    for (long long r = 0; r < rows; r++) {
        size_t n = (size_t)r / oH, oh = (size_t)r % oH;
        for (size_t ow = 0; ow < oW; ow++) {
            const float *g = grid + ((n * oH + oh) * oW + ow) * 2;
            double ix = gs_unnormalize(g[0], W, align_corners), iy = gs_unnormalize(g[1], H, align_corners);
            for (size_t ch = 0; ch < C; ch++) {
                const float *p = x + (n * C + ch) * H * W;
                double v;
                if (mode == K_GS_BICUBIC) {
                    double fx = floor(ix), fy = floor(iy), wx[4], wy[4];
                    gs_cubic(ix - fx, wx);
                    gs_cubic(iy - fy, wy);
                    v = 0;
                    for (int i = 0; i < 4; i++)
                        for (int j = 0; j < 4; j++) {
                            double ty = gs_pad(fy - 1 + i, H, padding, align_corners);
                            double tx = gs_pad(fx - 1 + j, W, padding, align_corners);
                            v += wy[i] * wx[j] * gs_at(p, H, W, gs_ll(floor(ty)), gs_ll(floor(tx)));
                        }
                } else {
                    double px = gs_pad(ix, W, padding, align_corners), py = gs_pad(iy, H, padding, align_corners);
                    if (mode == K_GS_NEAREST) {
                        v = gs_at(p, H, W, gs_ll(nearbyint(py)), gs_ll(nearbyint(px)));
                    } else {
                        double x0 = floor(px), y0 = floor(py), lx = px - x0, ly = py - y0;
                        long long xi = gs_ll(x0), yi = gs_ll(y0);
                        v = (1 - ly) * ((1 - lx) * gs_at(p, H, W, yi, xi) + lx * gs_at(p, H, W, yi, xi + 1)) +
                            ly * ((1 - lx) * gs_at(p, H, W, yi + 1, xi) + lx * gs_at(p, H, W, yi + 1, xi + 1));
                    }
                }
                y[((n * C + ch) * oH + oh) * oW + ow] = (float)v;
            }
        }
    }
}
