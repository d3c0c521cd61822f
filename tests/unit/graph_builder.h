/*
 * Test helpers for graph passes and ops: builds small IR graphs directly, serializes
 * them to ONNX ModelProto bytes (to run them through a norma session with passes on and off), and interprets a
 * graph node by node: registered ops run through op_eval, while Conv, ConvTranspose,
 * Gemm and MatMul (not necessarily in this build) run through plain reference
 * loops in graph_builder.c, which honour node->fused_act. The references support what the pass
 * tests use: Conv/ConvTranspose with group, stride 1, no padding, up to 3 spatial
 * dims; Gemm with alpha/beta/transA/transB and C broadcast; MatMul with a 2-D B
 * (and the internal norma.MatMul's transB and bias).
 */
#ifndef NORMA_GRAPH_BUILDER_H
#define NORMA_GRAPH_BUILDER_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h> /* tests free and copy what these helpers return */
#include <string.h>

#include "ir/ir.h"
#include "ops/eval.h"

ir_graph *gb_graph(int64_t opset);

int gb_value(ir_graph *g, const char *name);

/* A float graph input of the given shape. */
int gb_input(ir_graph *g, const char *name, int rank, const int64_t *dims);

/* A float initializer (data copied; random in [lo, hi) when data is NULL). */
int gb_const(ir_graph *g, const char *name, int rank, const int64_t *dims, const float *data, float lo, float hi);

void gb_output(ir_graph *g, const char *name);

/* A node reading and writing values by name ("" = omitted). */
int gb_node(ir_graph *g, const char *op, const char *name, int n_in, const char *const *ins, int n_out, const char *const *outs);

ir_attr *gb_attr(ir_graph *g, int node, const char *name, ir_attr_type type);

void gb_attr_i(ir_graph *g, int node, const char *name, int64_t v);

void gb_attr_f(ir_graph *g, int node, const char *name, float v);

/* Number of live nodes of type op. */
int gb_count(const ir_graph *g, const char *op);

const ir_node *gb_find(const ir_graph *g, const char *op);

/* 1 when every value's producer field names the live node that writes it (the
 * planner sizes lifetimes from it), else 0. */
int gb_producers_consistent(const ir_graph *g);

/* Serializes g; returns malloc'd bytes and their count in *size. */
void *gb_serialize(const ir_graph *g, size_t *size);

/* Runs g on ins (one per graph input, borrowed); outs[k] receives a new tensor per
 * graph output. Returns NORMA_OK or the op_eval status (message in err). */
int gb_run(const ir_graph *g, ir_tensor **ins, ir_tensor **outs, char *err, size_t cap);

/* A float tensor of the given shape with values in [lo, hi). */
ir_tensor *gb_random(int rank, const int64_t *dims, float lo, float hi);

/* A one-element float constant. */
void gb_scalar(ir_graph *g, const char *name, float v);

/* An int64 vector constant. */
void gb_const_ints(ir_graph *g, const char *name, int n, const int64_t *v);

void gb_attr_ints(ir_graph *g, int node, const char *name, int n, const int64_t *v);

void gb_attr_s(ir_graph *g, int node, const char *name, const char *v);

/* A node with up to 3 inputs and one output, by name ("" = omitted). */
int gb_op(ir_graph *g, const char *op, const char *out, const char *a, const char *b, const char *c);

/* ReduceMean(in) over the given axes, as an attribute (opset < 18) or a constant
 * second input (opset 18). */
int gb_reduce_mean(ir_graph *g, const char *out, const char *in, int n, const int64_t *axes);

/* Runs both graphs on the same random inputs (graph input "eps" gets 1e-5) and fails
 * when any output differs by more than the tolerances. */
void gb_compare(const ir_graph *g0, const ir_graph *g1, float lo, float hi, double atol, double rtol);

/* Runs g through a norma session (passes named in `disabled` off, NULL for none;
 * `threads` threads, or the default when 0) on float inputs x[0..n_in) called names[i]; fails the test on
 * any error. Returns output 0 as a malloc'd copy and its element count in *n. */
float *gb_session_run(const ir_graph *g, int n_in, const char *const *names, ir_tensor *const *x,
                      const char *disabled, int threads, size_t *n);

/* A graph holding a single node op at opset with n_in inputs "i0".."i2" and n_out
 * outputs "o0".."o2" ("" where out_mask leaves one out); returns the node index. */
int gb_single(ir_graph **gp, const char *op, int64_t opset, int n_in, int n_out, unsigned out_mask);

/* Evaluates node n on ins; outs receive new tensors. Returns the status, message in err. */
int gb_eval(ir_graph *g, int n, ir_tensor **ins, ir_tensor **outs, char *err, size_t cap);

#endif
