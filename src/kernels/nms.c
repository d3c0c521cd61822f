/* Non-maximum suppression (see nms.h). */
#include <stdlib.h>

#include "kernels/nms.h"

static int nms_cmp(const void *pa, const void *pb)
{
    const k_nms_cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static void nms_corners(const float *b, int center, double c[4]) /* ymin, xmin, ymax, xmax */
{
    if (center) {
        c[0] = b[1] - b[3] / 2.0;
        c[2] = b[1] + b[3] / 2.0;
        c[1] = b[0] - b[2] / 2.0;
        c[3] = b[0] + b[2] / 2.0;
    } else {
        c[0] = b[0] < b[2] ? b[0] : b[2];
        c[2] = b[0] < b[2] ? b[2] : b[0];
        c[1] = b[1] < b[3] ? b[1] : b[3];
        c[3] = b[1] < b[3] ? b[3] : b[1];
    }
}

static int nms_suppress(const float *a, const float *b, int center, float thr)
{
    double p[4], q[4];
    nms_corners(a, center, p);
    nms_corners(b, center, q);
    double ymin = p[0] > q[0] ? p[0] : q[0], xmin = p[1] > q[1] ? p[1] : q[1];
    double ymax = p[2] < q[2] ? p[2] : q[2], xmax = p[3] < q[3] ? p[3] : q[3];
    if (xmax <= xmin || ymax <= ymin)
        return 0;
    double inter = (xmax - xmin) * (ymax - ymin);
    double a1 = (p[2] - p[0]) * (p[3] - p[1]), a2 = (q[2] - q[0]) * (q[3] - q[1]);
    double uni = a1 + a2 - inter;
    if (a1 <= 0 || a2 <= 0 || uni <= 0)
        return 0;
    return inter / uni > thr;
}

size_t k_f32_nms_ref(size_t S, const float *boxes, const float *scores, int center_point_box, size_t max_out,
                     float iou_threshold, int has_score_threshold, float score_threshold, k_nms_cand *cand,
                     int64_t *keep)
{
    size_t n = 0, kept = 0;
    for (size_t i = 0; i < S; i++)
        if (scores[i] == scores[i] && (!has_score_threshold || scores[i] > score_threshold)) {
            cand[n].score = scores[i];
            cand[n].index = (int64_t)i;
            n++;
        }
    qsort(cand, n, sizeof *cand, nms_cmp);
    for (size_t i = 0; i < n && kept < max_out; i++) {
        const float *b = boxes + (size_t)cand[i].index * 4;
        int drop = 0;
        for (size_t k = 0; k < kept && !drop; k++)
            drop = nms_suppress(boxes + (size_t)keep[k] * 4, b, center_point_box, iou_threshold);
        if (!drop)
            keep[kept++] = cand[i].index;
    }
    return kept;
}
