/*
 * Broadcast iteration for elementwise ops: the output's dims are merged into as few
 * as possible, then the work is split into tasks of about 16K outputs (several short
 * rows, or a piece of one long row) run in parallel, each handed to a 1-D kernel.
 */
#ifndef NORMA_OP_BCAST_H
#define NORMA_OP_BCAST_H

#include "ops/op.h"

/* One run of len outputs at y: operand k starts at p[k] and advances by s[k] elements
 * (0 or 1) per output. arg is op_bcast_apply's. */
typedef void (*op_bcast_run)(const void *arg, size_t len, const char *const *p, const size_t *s, char *y);

/* y = f(ops[0..nop)) with numpy broadcasting, nop <= 3, calling run for each run of
 * contiguous outputs; uses c->threads when the work is large. y may alias an operand of
 * its own shape (each output is read before it is written). */
void op_bcast_apply(op_ctx *c, int nop, const ir_tensor *const *ops, ir_tensor *y, op_bcast_run run,
                    const void *arg);

#endif
