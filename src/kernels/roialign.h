/*
 * RoiAlign for one region: x (C,H,W) of the region's image, roi (x1,y1,x2,y2) in input
 * coordinates -> y (C,oH,oW). Each output bin averages (or takes the max of) a grid of
 * bilinear samples, exactly as ONNX Runtime (whose behaviour the ONNX reference copies):
 * samples outside [-1, H] x [-1, W] count as zero; max mode takes the max of the four
 * weighted corner values of each sample. half_pixel shifts the region by -0.5 and does
 * not force it to be at least 1x1 (opset 16's default; opset 10 is output_half_pixel).
 */
#ifndef NORMA_K_ROIALIGN_H
#define NORMA_K_ROIALIGN_H

#include <stddef.h>

void k_f32_roialign_ref(size_t C, size_t H, size_t W, const float *x, const float *roi, float spatial_scale,
                        size_t oH, size_t oW, int sampling_ratio, int half_pixel, int max_mode, float *y);

#endif
