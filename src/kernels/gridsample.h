/*
 * GridSample, 2-D: x (N,C,H,W), grid (N,oH,oW,2) holding (x, y) in [-1, 1] -> y (N,C,oH,oW).
 * Sampling as PyTorch's grid_sampler_2d (the ONNX spec's reference): bilinear, nearest
 * (round half to even) or bicubic (A = -0.75) interpolation; zeros, border or reflection
 * padding; align_corners maps -1/1 to the centers (1) or the outer edges (0) of the
 * corner pixels. The reference is plain loops in float with double weights.
 */
#ifndef NORMA_K_GRIDSAMPLE_H
#define NORMA_K_GRIDSAMPLE_H

#include <stddef.h>

enum { K_GS_BILINEAR = 0, K_GS_NEAREST = 1, K_GS_BICUBIC = 2 };
enum { K_GS_ZEROS = 0, K_GS_BORDER = 1, K_GS_REFLECTION = 2 };

void k_f32_gridsample_ref(size_t N, size_t C, size_t H, size_t W, const float *x, size_t oH, size_t oW,
                          const float *grid, int mode, int padding, int align_corners, float *y,
                          int threads);

#endif
