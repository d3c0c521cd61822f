/*
 * Session internals: the session (graph, per-node op state), plans (shapes and arena
 * offsets for one set of input shapes) and per-thread run contexts (an arena and the
 * tensors that point into it).
 */
#ifndef NORMA_RUNTIME_H
#define NORMA_RUNTIME_H

#include <pthread.h>

#include "ir/ir.h"
#include "loader/loader.h"
#include "ops/op.h"

#define RT_ERR_CAP 1024

/* Where a value's data lives: the plan's arena, a constant, the caller's input, a
 * tensor computed at plan time, nowhere (not produced), or a per-context buffer sized
 * at run time (values computed after a data-dependent shape, see plan.dyn_from). */
enum { VK_ARENA = 0, VK_CONST = 1, VK_INPUT = 2, VK_PLAN = 3, VK_NONE = 4, VK_DYN = 5 };

typedef struct plan {
    int refs;                 /* run contexts using it, plus 1 while it is current */
    int64_t *in_dims;         /* [n_inputs * IR_MAX_RANK]: the shapes it was built for */
    ir_tensor *vals;          /* [n_values]: dtype/shape; data for VK_CONST and VK_PLAN */
    char *kind;               /* [n_values]: VK_* */
    size_t *offset;           /* [n_values]: arena offset for VK_ARENA */
    size_t *scratch_off;      /* [n_nodes] */
    size_t *scratch_size;     /* [n_nodes] */
    char *skip;               /* [n_nodes]: evaluated at plan time */
    ir_tensor **owned;        /* [n_values]: plan-time tensors this plan owns */
    int n_owned;
    size_t arena_size;
    /* The first node whose output shape depends on data known only at run time (or
     * n_nodes): it and every node after it are inferred and given memory at run time. */
    int dyn_from;
} plan;

typedef struct run_ctx {
    struct run_ctx *next;
    pthread_t thread;
    plan *p;
    unsigned char *arena;
    size_t arena_cap;
    ir_tensor *vals;  /* [n_values] */
    ir_tensor **ptrs; /* per-node input/output pointer arrays, flattened */
    op_ctx *ops;      /* [n_nodes] */
    void **dyn_data;  /* [n_values]: buffers of VK_DYN values, grown as needed */
    ir_tensor **dyn_owned; /* [n_values]: values handed over by OP_F_RUNTIME_OUTPUTS ops */
    size_t *dyn_cap;  /* [n_values] */
    ir_tensor **in_values; /* [n_inputs]: sequence inputs copied in */
    norma_tensor **out_items; /* [n_outputs]: the items of sequence outputs, lent */
    int *out_items_cap;
    void *dyn_scratch;
    size_t dyn_scratch_cap;
    int n_values, n_inputs, n_outputs;
    double *node_ms;  /* [n_nodes] with the profile option: time per node, summed */
    long long *node_calls;
    char err[RT_ERR_CAP];
} run_ctx;

typedef struct node_rt {
    const op_schema *schema;
    void *state;
} node_rt;

struct norma_session {
    ir_graph *g;
    ld_store *store;
    norma_options opt;
    size_t memory_limit;
    node_rt *nodes;
    pthread_mutex_t lock;
    plan *current;
    run_ctx *ctxs;
    int static_inputs; /* every input shape is fully known: planned at creation */
    /* Bytes of the buffers op init made (packed weights) that came from the memory of
     * weights released before them, and from fresh store memory. */
    size_t init_recycled, init_fresh;
};

/* Builds a plan for the given input shapes (one row of IR_MAX_RANK dims per input).
 * Input values are never part of a plan: a node whose output shape depends on them
 * starts the run-time part (dyn_from). Errors name the node and op. */
int plan_build(norma_session *s, const int64_t *in_dims, plan **out, char *err, size_t cap);
void plan_free(plan *p);

/* Points ctx at plan p: (re)allocates its arena and rebuilds its tensors. */
int ctx_bind(norma_session *s, run_ctx *ctx, plan *p, char *err, size_t cap);
void ctx_free(run_ctx *ctx);
/* Executes every node; inputs must already be bound into ctx->vals. */
int ctx_execute(norma_session *s, run_ctx *ctx);

#endif
