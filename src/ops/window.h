/*
 * Sliding-window geometry shared by Conv, ConvTranspose, the pools and the quantized
 * convolutions: their strides, dilations, pads and auto_pad attributes, checked, and the
 * output size and pads of each spatial axis.
 */
#ifndef NORMA_OPS_WINDOW_H
#define NORMA_OPS_WINDOW_H

#include <stdint.h>

#include "ops/op.h"

typedef struct op_window {
    int nsp;                            /* spatial axes, 1 to 3 */
    int64_t k[3], st[3], dl[3];         /* kernel extents (as given), strides, dilations */
    int64_t pads[6];                    /* the pads attribute: nsp begins, then nsp ends */
    int same_upper, same_lower, valid;  /* auto_pad (all 0: NOTSET) */
} op_window;

/* INTS attribute `name` of nsp values into out (def for each when it is absent), each
 * at least min and at most INT32_MAX (which keeps the size arithmetic in int64). */
int op_spatial_attr(op_ctx *c, const char *name, int nsp, int64_t def, int64_t min, int64_t *out);

/* The kernel extents of a convolution: W's spatial dimensions (W has the input's rank),
 * checked against the kernel_shape attribute when there is one. */
int op_window_kernel(op_ctx *c, const ir_tensor *w, int nsp, int64_t *k);

/* strides, dilations (all 1 when has_dil is 0: the op's opset has none), pads and
 * auto_pad of c's node, for nsp axes and kernel extents k. */
int op_window_read(op_ctx *c, int nsp, const int64_t *k, int has_dil, op_window *w);

/* Axis i of a forward window (Conv, pools) over `in` positions: the output size and the
 * pads at its begin and end (auto_pad applied; pe is the end pad of the attribute, or
 * what SAME_* pads). ceil_mode rounds up as the pools do, dropping a last window that
 * would start in the end padding. Errors name the axis. */
int op_window_axis(op_ctx *c, const op_window *w, int i, int64_t in, int ceil_mode, int64_t *out, int64_t *pb,
                   int64_t *pe);

#endif
