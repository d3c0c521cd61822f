/*
 * Graph passes: rewrites of the IR for inference. Each pass is one file, takes the
 * graph (topologically sorted) and leaves it sorted and consistent. A pass returns
 * NORMA_OK (whether or not it changed anything) or an error with err filled.
 */
#ifndef NORMA_PASSES_H
#define NORMA_PASSES_H

#include <stddef.h>

#include "ir/ir.h"

typedef struct pass_def {
    const char *name;
    int (*run)(ir_graph *g, char *err, size_t cap);
} pass_def;

int pass_remove_identity(ir_graph *g, char *err, size_t cap);
int pass_const_fold(ir_graph *g, char *err, size_t cap);
int pass_fold_batchnorm(ir_graph *g, char *err, size_t cap);
int pass_fuse_activation(ir_graph *g, char *err, size_t cap);
int pass_fuse_residual(ir_graph *g, char *err, size_t cap);
int pass_fuse_matmul_add(ir_graph *g, char *err, size_t cap);
int pass_fuse_matmul_transpose(ir_graph *g, char *err, size_t cap);
int pass_fuse_matmul_scale(ir_graph *g, char *err, size_t cap);
int pass_fuse_matmul_permute(ir_graph *g, char *err, size_t cap);
int pass_fuse_matmul_softmax(ir_graph *g, char *err, size_t cap);
int pass_fuse_global_pool(ir_graph *g, char *err, size_t cap);

/* ---- helpers the passes share ---- */

/* The live node that writes value v, or -1 (graph inputs, constants). Scans the nodes:
 * ir_value.producer is only refreshed by ir_graph_toposort. */
int pass_producer(const ir_graph *g, int v);
/* A pass's last step: when it changed the graph, removes its dead nodes and unused
 * values (ir_graph_compact, which also sets every value's producer). NORMA_OK, or
 * NORMA_ERR_MEMORY with err "out of memory <what>". */
int pass_compact(ir_graph *g, int changed, const char *what, char *err, size_t cap);
/* 1 when v is a constant the caller cannot replace: an initializer or folded constant
 * that is not also a graph input. */
int pass_is_initializer(const ir_graph *g, int v);
/* 1 when node n is in the default ONNX domain and has op type op. */
int pass_is_op(const ir_node *n, const char *op);
/* 1 when n is a MatMul: ai.onnx, or the internal one of domain "norma". */
int pass_is_matmul(const ir_node *n);
/* Adds a constant value named after base that owns t; returns its index or -1 on OOM
 * (t is then freed). Invalidates pointers into g->values. */
int pass_add_constant(ir_graph *g, const char *base, ir_tensor *t);
/* Sets input slot k of node n to v, growing the input list with omitted (-1) slots
 * when k >= n_in. 0, or -1 on OOM. */
int pass_set_input(ir_node *n, int k, int v);
/* Moves n to the internal "norma" domain (opset 1), where the passes' extended ops
 * live (Conv with a residual, MatMul with a bias or transB). 0, or -1 on OOM. */
int pass_to_norma_domain(ir_node *n);
/* Sets a FLOAT attribute, adding it when absent. 0, or -1 on OOM. */
int pass_set_attr_float(ir_node *n, const char *name, float f);
/* Sets an INT attribute, adding it when absent. 0, or -1 on OOM. */
int pass_set_attr_int(ir_node *n, const char *name, int64_t v);
/* Sets an INTS attribute to a copy of v[0..count), adding it when absent. 0, or -1 on OOM. */
int pass_set_attr_ints(ir_node *n, const char *name, int count, const int64_t *v);

/* Runs every pass in order, skipping those named in the comma-separated list
 * disabled (may be NULL). */
int pass_run_all(ir_graph *g, const char *disabled, char *err, size_t cap);

/* The ordered pass list (for `norma info` and tests). */
const pass_def *pass_list(int *count);

#endif
