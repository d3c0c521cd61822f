/*
 * The operator interface. Every ONNX op norma runs is an op_schema, defined in one
 * file under src/ops/ and listed in src/ops/op_list.h. An op has three steps:
 *
 *   init  once per session: read and check attributes, check constant inputs, pack
 *         constant weights into c->state. Inputs whose data is known (initializers)
 *         have data != NULL; others have data == NULL and possibly no shape yet.
 *   infer once per plan (whenever input shapes change): from the input dtypes and
 *         shapes (and data, where known at plan time), set each output's dtype, rank
 *         and dims, and the bytes of scratch the kernel needs (c->scratch_size).
 *         All shape errors are reported here. When an output's shape depends on the
 *         values of an input that is not known at plan time (NonZero, TopK's k, a
 *         Reshape target computed at run time), infer returns OP_NEEDS_DATA: the
 *         runtime then infers and allocates this node and the ones after it at run
 *         time, with every input's data known.
 *   run   per inference: compute outputs from inputs. Allocates nothing; uses
 *         c->scratch. Returns an error only for values read from the data that are
 *         out of range (an index, a size); shapes were checked by infer.
 *
 * Errors go through op_fail, which prefixes the op and node name:
 *   return op_fail(c, NORMA_ERR_MODEL, "group %lld does not divide C=%lld", g, C);
 * gives "Conv 'conv1': group 3 does not divide C=64".
 */
#ifndef NORMA_OP_H
#define NORMA_OP_H

#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct op_ctx {
    const ir_node *node; /* attributes, names, fused activation */
    int opset;           /* the model's opset for the node's domain */
    int n_in, n_out;
    ir_tensor **in;      /* in[i] == NULL when an optional input is omitted */
    ir_tensor **out;     /* out[i] == NULL when an optional output is omitted */
    void *state;         /* set by init, freed by schema->free_state */
    void *scratch;       /* run: c->scratch_size bytes, 64-byte aligned */
    size_t scratch_size; /* set by infer */
    int threads;         /* OpenMP threads this run may use */
    char *err;           /* message buffer (op_fail writes here) */
    size_t err_cap;
    /* Set by init: bit k says the op made its own copy of constant input k (packed
     * weights) and never reads that input's data again, so the session may release it
     * (its data becomes NULL) once every reader says so. */
    unsigned packed_inputs;
    /* For OP_F_RUNTIME_OUTPUTS ops: hands output k over to the runtime (see
     * op_set_output). Set by whoever runs the op. */
    int (*set_output)(struct op_ctx *c, int k, ir_tensor *t);
    void *set_output_arg;
    /* Set by infer: at these shapes output 0 holds exactly the bytes of input 0
     * (Reshape, Flatten, Squeeze, Unsqueeze; a Transpose that keeps the order of the
     * axes longer than 1). The planner may then give the two the same memory, and
     * run must copy nothing when it sees out[0]->data == in[0]->data. */
    int view;
} op_ctx;

typedef struct op_schema {
    const char *op_type;
    const char *domain;  /* "" for ai.onnx */
    int since_version;   /* the opset version this definition starts at */
    int min_in, max_in;  /* input count bounds */
    int min_out, max_out;
    int (*init)(op_ctx *c);        /* may be NULL */
    void (*free_state)(void *state); /* may be NULL (then state is free()d) */
    int (*infer)(op_ctx *c);
    int (*run)(op_ctx *c);
    unsigned flags;      /* OP_F_* */
} op_schema;

/* infer's answer when it needs the data of an input that is not known yet (see above).
 * Not a norma_status: the runtime never returns it to the caller. */
#define OP_NEEDS_DATA 1000

/* Schema flags. */
enum {
    OP_F_SHAPE_ONLY = 1, /* reads only its inputs' shapes (Shape, Size): always evaluated at plan time */
    /* Output shapes are known only by running it (If, Loop, Scan, the sequence ops):
     * infer only checks what it can; the node always runs at run time, and run creates
     * each output itself and hands it over with op_set_output. Never constant-folded. */
    OP_F_RUNTIME_OUTPUTS = 2,
    /* Also takes sequences and empty optionals (Identity): given one, it runs like an
     * OP_F_RUNTIME_OUTPUTS op. Other ops get an error for such inputs. */
    OP_F_ANY_VALUE = 4,
    /* Its first input may be omitted (Scan-8's sequence_lens); for every other op an
     * empty first input is a model error. */
    OP_F_FIRST_INPUT_OPTIONAL = 8,
    /* Inputs after the first may be left empty even below the minimum count (Loop's
     * M and cond, Resize's roi and scales): the op checks them itself. For every other
     * op an empty required input is a model error. */
    OP_F_EMPTY_INPUTS = 16,
    /* Outputs below the minimum count may be left empty (TopK's values or indices):
     * the op checks them itself. For every other op an empty required output is a
     * model error. */
    OP_F_EMPTY_OUTPUTS = 32,
};

/* Gives output k to the runtime, which takes ownership of t (also on failure). Only
 * for OP_F_RUNTIME_OUTPUTS ops, in run. */
static inline int op_set_output(op_ctx *c, int k, ir_tensor *t)
{
    return c->set_output(c, k, t);
}

/* Formats "OpType 'name': <message>" into c->err and returns status. */
int op_fail(op_ctx *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The schema for (domain, op_type) at the highest since_version <= opset, or NULL.
 * *any_version is set to 1 when the op exists at some other version. */
const op_schema *op_lookup(const char *domain, const char *op_type, int64_t opset, int *any_version);

/* Visits every registered schema (for listing supported ops). */
void op_foreach(void (*fn)(const op_schema *s, void *arg), void *arg);

/* ---- helpers for op files ---- */

/* Sets out's dtype and shape (data untouched). */
void op_set_shape(ir_tensor *out, int dtype, int rank, const int64_t *dims);
/* Normalizes a possibly negative axis against rank; returns -1 when out of range. */
int op_axis(int64_t axis, int rank);
/* Checks that input i is present with one of the given dtypes (terminated by 0). */
int op_check_dtype(op_ctx *c, int i, const int *allowed);
/* Broadcasts shapes a and b (numpy rules) into out; returns 0 or -1 if incompatible. */
int op_broadcast_shape(int ra, const int64_t *a, int rb, const int64_t *b, int *rout,
                       int64_t *out);
/* omp_get_num_procs(), asked once per process: the call costs about 1 us (a system
 * call), and ops that size per-thread scratch by it ask at every run; one answer also
 * keeps infer's sizing and run's use the same should the affinity change. */
int op_num_procs(void);
/* Strides (in elements) of t's shape aligned to an output of rank r with dims od:
 * 0 where t broadcasts. */
void op_broadcast_strides(const ir_tensor *t, int r, const int64_t *od, int64_t *strides);
/* Reads the integer vector of input i (int64 or int32) into buf (at most cap entries);
 * returns the count, or -1 when the input's data is not known. */
int op_read_ints(const ir_tensor *t, int64_t *buf, int cap);

/* Each op file defines a NULL-terminated table: const op_schema *const op_table_<name>[]. */
#define OP_TABLE(name) const op_schema *const op_table_##name[]

#endif /* NORMA_OP_H */
