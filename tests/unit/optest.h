/*
 * Single-op test harness: builds one ir_node with attributes by hand and evaluates it
 * on tensors, either through op_resolve/op_eval (ot_eval, as constant folding does) or
 * through the schema's init / infer / run with a chosen thread count and outputs and
 * scratch allocated like the runtime (ot_run). Also small tensor builders.
 */
#ifndef NORMA_OPTEST_H
#define NORMA_OPTEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h> /* tests free and copy what these helpers return */
#include <string.h>

#include "ir/ir.h"
#include "ops/eval.h"
#include "ops/op.h"

#define OT_MAX_ATTRS 16
#define OT_MAX_INTS 16
#define OT_MAX_IO 16
/* const_mask for ot_run: every input is shown to init with its data. */
#define OT_ALL_CONST (~0u)

typedef struct ot_node {
    union { /* `node` is the older name, still used through ophelp.h */
        ir_node n;
        ir_node node;
    };
    ir_attr attrs[OT_MAX_ATTRS];
    int64_t ints[OT_MAX_ATTRS][OT_MAX_INTS];
    int in[OT_MAX_IO], out[OT_MAX_IO];
    int init_unshaped; /* ot_run: init sees non-constant inputs with rank -1, as a session
                          does when its inputs are not static */
    char err[512];
} ot_node;

/* A node "n0" of type op at opset with n_in inputs and n_out outputs (indices 0..). */
void ot_init(ot_node *t, const char *op, int opset, int n_in, int n_out);
void ot_int(ot_node *t, const char *name, int64_t v);
void ot_float(ot_node *t, const char *name, float v);
void ot_str(ot_node *t, const char *name, const char *s);
/* An INTS attribute; v is copied when n <= OT_MAX_INTS, else borrowed. */
void ot_ints(ot_node *t, const char *name, const int64_t *v, size_t n);
/* FLOATS and STRINGS attributes over caller-owned arrays (borrowed). */
void ot_floats(ot_node *t, const char *name, const float *v, size_t n);
void ot_strs(ot_node *t, const char *name, const char *const *v, size_t n);

/* Evaluates the node with op_eval (one thread). On success outs[k] are new tensors
 * the caller frees. Returns the status (message in t->err). */
int ot_eval(ot_node *t, ir_tensor **ins, ir_tensor **outs);

/*
 * Runs the node on in[0..n_in) (NULL entries are omitted inputs) through init, infer
 * and run with `threads` threads, like the runtime. Inputs whose bit is set in
 * const_mask are shown to init with their data (as initializers), the others with
 * shape only. Scratch is filled with NaN garbage first. On success out[k] are new
 * tensors the caller frees. Returns the status (message in t->err).
 */
int ot_run(ot_node *t, int n_in, ir_tensor **in, int n_out, ir_tensor **out, unsigned const_mask,
           int threads);
/* ot_run for the node's own input count and one output, all inputs known to init. */
int ot_run1(ot_node *t, ir_tensor **ins, int threads, ir_tensor **out);

/* Runs only the node's infer on ins (data may be NULL); returns infer's answer. */
int ot_infer(ot_node *t, ir_tensor **ins);

/* A tensor of the given shape holding a copy of data (zeros when data is NULL). */
ir_tensor *ot_tensor(int dtype, int rank, const int64_t *dims, const void *data);
ir_tensor *ot_f32(int rank, const int64_t *dims, const float *v);
ir_tensor *ot_i64(int rank, const int64_t *dims, const int64_t *v);
/* A scalar (rank 0) int64 tensor. */
ir_tensor *ot_scalar(int64_t v);
/* A tensor view over caller-owned data, by value. */
ir_tensor ot_view(int dtype, int rank, const int64_t *dims, const void *data);
/* A shape-only view of x (data NULL), by value. */
ir_tensor ot_shape_only(const ir_tensor *x);
/* Frees ts[0..n) and sets them to NULL. */
void ot_free(ir_tensor **ts, int n);

#endif
