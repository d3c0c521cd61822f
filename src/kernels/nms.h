/*
 * Greedy non-maximum suppression for one (batch, class), as ONNX Runtime: boxes with
 * score > score_threshold (when has_score_threshold) are visited by descending score
 * (ties: lower index first; NaN scores are never selected); a box is kept unless its IoU with a kept box exceeds
 * iou_threshold; at most max_out are kept. boxes (S,4) are (y1,x1,y2,x2) with corners in
 * either order, or (x_center,y_center,width,height) when center_point_box.
 */
#ifndef NORMA_K_NMS_H
#define NORMA_K_NMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct k_nms_cand {
    float score;
    int64_t index;
} k_nms_cand;

/* Writes the kept box indices, in selection order, to keep (room for min(S, max_out));
 * cand is scratch for S entries. Returns the count kept. */
size_t k_f32_nms_ref(size_t S, const float *boxes, const float *scores, int center_point_box, size_t max_out,
                     float iou_threshold, int has_score_threshold, float score_threshold, k_nms_cand *cand,
                     int64_t *keep);

#endif
