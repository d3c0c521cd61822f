/*
 * The intermediate representation: norma's own graph, free of protobuf-c.
 *
 * A graph is an array of values (edges: graph inputs, initializers, node outputs) and
 * an array of nodes that refer to values by index. The loader builds it, the passes
 * rewrite it in place, the runtime plans and runs it. Strings and attribute data are
 * owned by the graph; constant tensor data is owned by its ir_tensor (owns_data) or by
 * the model's weight storage (see loader), which outlives the graph.
 */
#ifndef NORMA_IR_H
#define NORMA_IR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "norma.h"

#define IR_MAX_RANK NORMA_MAX_RANK

/* A dense tensor: dtype, shape and data. data may be NULL when only the shape is
 * known (shape inference at plan time). */
typedef struct ir_tensor {
    int dtype;
    int rank;
    int64_t dims[IR_MAX_RANK];
    void *data;
    int owns_data; /* 1: data is malloc'd, 2: from ir_big_alloc; freed with the tensor */
    int mutable_data; /* data is borrowed from the loader's private, writable copy of the
                       * model: a pass that is its only reader may rewrite it in place */
} ir_tensor;

/* Values that are not dense tensors carry an internal dtype: a sequence of tensors
 * (data points to an ir_seq) and an optional that holds nothing (data NULL). An
 * optional that holds a value is just that value. */
#define IR_DTYPE_SEQUENCE NORMA_SEQUENCE
#define IR_DTYPE_NONE NORMA_NONE

typedef struct ir_seq {
    int n, cap;
    int elem_dtype; /* 0 until known */
    ir_tensor **items; /* owned */
} ir_seq;

typedef enum ir_attr_type {
    IR_ATTR_UNDEFINED = 0,
    IR_ATTR_FLOAT = 1,
    IR_ATTR_INT = 2,
    IR_ATTR_STRING = 3,
    IR_ATTR_TENSOR = 4,
    IR_ATTR_GRAPH = 5,
    IR_ATTR_FLOATS = 6,
    IR_ATTR_INTS = 7,
    IR_ATTR_STRINGS = 8,
    IR_ATTR_TENSORS = 9,
    IR_ATTR_GRAPHS = 10,
    IR_ATTR_TYPE_PROTO = 13, /* kept as a name only: norma takes types from values */
    IR_ATTR_TYPE_PROTOS = 14
} ir_attr_type;

struct ir_graph;

typedef struct ir_attr {
    char *name;
    ir_attr_type type;
    float f;
    int64_t i;
    char *s; /* NUL-terminated copy; s_len is the byte length (may hold NULs) */
    size_t s_len;
    ir_tensor *t;
    struct ir_graph *g;
    size_t n; /* element count of the list forms */
    float *floats;
    int64_t *ints;
    char **strings;
    ir_tensor **tensors;
    struct ir_graph **graphs;
} ir_attr;

typedef struct ir_node {
    char *name;
    char *op_type;
    char *domain; /* "" for the default ONNX domain */
    int n_in, n_out;
    int *in;  /* value indices; -1 for an omitted optional input */
    int *out; /* value indices; -1 for an omitted optional output */
    int n_attrs;
    ir_attr *attrs;
    int opset;    /* the model's opset for this node's domain */
    int dead;     /* set by passes; removed by ir_graph_compact */
    int fused_act; /* activation fused into this node by a pass (see ops/act.h), 0 none */
    float act_alpha, act_beta;
    /* Set by the ir_attr_* accessors when an op asks for an attribute that exists with
     * another type; the runtime turns it into an error after init and infer. */
    const char *bad_attr;
    int bad_attr_want, bad_attr_have;
    /* Nodes with subgraphs (If, Loop, Scan): the last n_outer inputs are the values of
     * this graph that the subgraphs read by name (outer scope), added by the loader so
     * that ordering, lifetimes and passes see them as ordinary inputs. */
    int n_outer;
} ir_node;

typedef struct ir_value {
    char *name;
    int dtype;     /* 0 when not known yet */
    int rank;      /* -1 when not known */
    int64_t dims[IR_MAX_RANK]; /* -1 for a symbolic or unknown dimension */
    char *dim_names[IR_MAX_RANK];
    ir_tensor *constant; /* initializer or folded constant; NULL otherwise */
    int producer;  /* node index, or -1 for graph inputs and constants */
    int is_input;  /* a graph input the caller feeds */
    int is_output; /* a graph output */
    int optional;  /* declared as an optional type: may hold nothing (IR_DTYPE_NONE) */
} ir_value;

typedef struct ir_opset {
    char *domain;
    int64_t version;
} ir_opset;

typedef struct ir_graph {
    char *name;
    ir_value *values;
    int n_values, cap_values;
    ir_node *nodes;
    int n_nodes, cap_nodes;
    int *inputs; /* value indices of the inputs the caller feeds, in model order */
    int n_inputs;
    int *outputs;
    int n_outputs;
    ir_opset *opsets;
    int n_opsets;
    /* model metadata */
    int64_t ir_version;
    char *producer_name, *producer_version, *domain, *doc;
    int64_t model_version;
    struct ir_graph *parent; /* for subgraphs: the enclosing graph (outer-scope names) */
    /* For subgraphs: the values read from the outer scope (outer[j], a value of this
     * graph) and where the owning node passes each (its input n_in - n_outer + slot[j]). */
    int n_outer;
    int *outer, *outer_slot;
} ir_graph;

/* ---- tensors ---- */

size_t ir_dtype_size(int dtype);
const char *ir_dtype_name(int dtype);
/* Element count; returns 0 and sets *ok=0 on overflow or a negative dimension. */
size_t ir_numel_checked(int rank, const int64_t *dims, int *ok);
size_t ir_tensor_numel(const ir_tensor *t);
size_t ir_tensor_nbytes(const ir_tensor *t);
/* New tensor with zeroed, owned data of the given shape. NULL on overflow or OOM. */
ir_tensor *ir_tensor_new(int dtype, int rank, const int64_t *dims);
ir_tensor *ir_tensor_clone(const ir_tensor *t);
void ir_tensor_free(ir_tensor *t);
/* Zeroed, 64-byte aligned memory for big buffers (weights, packed weights):
 * hugepage-advised mappings from 1 MB up (see bigmem.c), the heap below. NULL on OOM.
 * Free with ir_big_free (accepts NULL), never with free. */
void *ir_big_alloc(size_t size);
/* The same without the zeroing (fresh mappings are zero anyway; recycled memory is
 * not): for buffers the caller writes whole, such as packed weights. */
void *ir_big_alloc_uninit(size_t size);
void ir_big_free(void *p);
/* Until called again with NULL, big blocks that ir_big_alloc makes on the calling
 * thread come first from fn(ctx, bytes) (64-byte aligned memory or NULL to decline).
 * ir_big_free leaves such blocks alone: whoever owns ctx's memory releases them, and
 * must outlive them. */
typedef void *(*ir_big_source_fn)(void *ctx, size_t bytes);
void ir_big_set_source(ir_big_source_fn fn, void *ctx);
/* Unmaps the blocks ir_big_free kept for reuse (see bigmem.c). */
void ir_big_trim(void);
/* The data of t may be rewritten in place by a pass: t owns it, or borrows it from the
 * loader's writable copy. The caller checks that nothing else reads it. */
int ir_tensor_writable(const ir_tensor *t);
/* Reads element i of an integer or float tensor as int64 / double. */
int64_t ir_tensor_get_i64(const ir_tensor *t, size_t i);
double ir_tensor_get_f64(const ir_tensor *t, size_t i);
void ir_shape_str(int rank, const int64_t *dims, char *buf, size_t cap);

/* ---- sequences ---- */

/* A new tensor of dtype IR_DTYPE_SEQUENCE holding an empty sequence. */
ir_tensor *ir_seq_tensor_new(void);
void ir_seq_clear(ir_seq *s);
/* Inserts a copy of t at position pos (0..n). 0, or -1 on OOM. */
int ir_seq_insert(ir_seq *s, int pos, const ir_tensor *t);
void ir_seq_erase(ir_seq *s, int pos);
/* Copies src's contents (tensors or sequence) into a new owned value. */
ir_tensor *ir_value_clone(const ir_tensor *src);

/* ---- graph building ---- */

ir_graph *ir_graph_new(void);
void ir_graph_free(ir_graph *g);
/* Index of the value named name, or -1. Linear in the number of values. */
int ir_find_value(const ir_graph *g, const char *name);
/* Appends a value (name is copied); returns its index or -1 on OOM. */
int ir_add_value(ir_graph *g, const char *name);
/* Appends a value with a name derived from base that is unique in g. */
int ir_add_value_unique(ir_graph *g, const char *base);
/* Appends a node with n_in / n_out slots set to -1; returns its index or -1 on OOM. */
int ir_add_node(ir_graph *g, const char *op_type, const char *domain, const char *name, int n_in,
                int n_out);
/* Opset version the model imports for domain ("" and "ai.onnx" are the same), or 0. */
int64_t ir_opset_version(const ir_graph *g, const char *domain);

/* ---- attributes ---- */

const ir_attr *ir_attr_find(const ir_node *n, const char *name);
int64_t ir_attr_int(const ir_node *n, const char *name, int64_t def);
float ir_attr_float(const ir_node *n, const char *name, float def);
/* Returns the string value or def. */
const char *ir_attr_string(const ir_node *n, const char *name, const char *def);
/* Returns the element count of an INTS attribute and its data in *out, or -1 if absent. */
int ir_attr_ints(const ir_node *n, const char *name, const int64_t **out);
int ir_attr_floats(const ir_node *n, const char *name, const float **out);
void ir_attr_clear(ir_attr *a);
const char *ir_attr_type_name(int type);
/* If an accessor found an attribute of the wrong type on n, writes
 * "Op 'name': attribute 'a' is FLOAT, expected INT" into err and returns NORMA_ERR_MODEL. */
int ir_check_attr_types(const ir_node *n, char *err, size_t cap);

/* ---- structure ---- */

/* Number of live nodes reading value v (counting each input slot once). */
int ir_consumer_count(const ir_graph *g, int v);
/* Replaces every read of value from by value to, in live nodes and graph outputs. */
void ir_replace_uses(ir_graph *g, int from, int to);
/* Removes dead nodes and values nothing refers to; keeps node order and sets every
 * value's producer. 0 or -1 on OOM. */
int ir_graph_compact(ir_graph *g);
/* Sets each value's producer from the live nodes (after a rewrite moved outputs). */
void ir_graph_set_producers(ir_graph *g);
/* Orders nodes topologically and sets each value's producer. On a cycle, a value
 * read before any definition, or a value defined twice, returns NORMA_ERR_MODEL with
 * a message naming it in err. */
int ir_graph_toposort(ir_graph *g, char *err, size_t err_cap);
/* For every node of g with subgraph attributes (already bound themselves): finds the
 * values its subgraphs read from the outer scope, appends them to the node's inputs
 * (n_outer) and records each subgraph's outer/outer_slot. 0, or NORMA_ERR_MEMORY. */
int ir_bind_outer_scope(ir_graph *g);

#endif /* NORMA_IR_H */
