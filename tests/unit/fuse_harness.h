/*
 * Shared by the fusion-pass tests (test_fuse_*.c; header-only, included once per
 * test executable after graph_builder.h): builders for the attributes and constants
 * the decomposed patterns use, and a comparison of a graph before and after a pass.
 */
#ifndef NORMA_FUSE_HARNESS_H
#define NORMA_FUSE_HARNESS_H

#include <stdio.h>

#include "testutil.h"
#include "graph_builder.h"
#include "passes/fuse_util.h"

/* A one-element float constant. */
static inline void fh_scalar(ir_graph *g, const char *name, float v)
{
    int64_t one = 1;
    gb_const(g, name, 0, &one, &v, 0, 0);
}

/* An int64 vector constant. */
static inline void fh_ints_const(ir_graph *g, const char *name, int n, const int64_t *v)
{
    int id = gb_value(g, name);
    int64_t d = n;
    ir_tensor *t = ir_tensor_new(NORMA_INT64, 1, &d);
    memcpy(t->data, v, sizeof(int64_t) * (size_t)n);
    g->values[id].constant = t;
    g->values[id].dtype = NORMA_INT64;
    g->values[id].rank = 1;
    g->values[id].dims[0] = n;
}

static inline void fh_attr_ints(ir_graph *g, int node, const char *name, int n, const int64_t *v)
{
    ir_attr *a = gb_attr(g, node, name, IR_ATTR_INTS);
    a->n = (size_t)n;
    a->ints = malloc(sizeof(int64_t) * (size_t)n);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

static inline void fh_attr_s(ir_graph *g, int node, const char *name, const char *v)
{
    ir_attr *a = gb_attr(g, node, name, IR_ATTR_STRING);
    a->s = strdup(v);
    a->s_len = strlen(v);
}

/* A node with up to 3 inputs and one output, by name ("" = omitted). */
static inline int fh_node(ir_graph *g, const char *op, const char *out, const char *a, const char *b,
                          const char *c)
{
    const char *ins[3] = {a, b ? b : "", c ? c : ""};
    int n = c ? 3 : b ? 2 : 1;
    const char *outs[1] = {out};
    char name[64];
    snprintf(name, sizeof name, "%s_%s", op, out);
    return gb_node(g, op, name, n, ins, 1, outs);
}

/* ReduceMean(in) over the given axes, as an attribute (opset < 18) or a constant
 * second input (opset 18). */
static inline int fh_reduce_mean(ir_graph *g, const char *out, const char *in, int n, const int64_t *axes)
{
    int node;
    if (g->opsets[0].version >= 18) {
        char an[64];
        snprintf(an, sizeof an, "%s_axes", out);
        fh_ints_const(g, an, n, axes);
        node = fh_node(g, "ReduceMean", out, in, an, NULL);
    } else {
        node = fh_node(g, "ReduceMean", out, in, NULL, NULL);
        fh_attr_ints(g, node, "axes", n, axes);
    }
    return node;
}

/* Runs both graphs on the same random inputs (graph input "eps" gets 1e-5) and fails
 * when any output differs by more than the tolerances. */
static inline void fh_compare(const ir_graph *g0, const ir_graph *g1, float lo, float hi, double atol,
                              double rtol)
{
    tu_seed(77);
    ir_tensor *ins[4] = {0};
    for (int i = 0; i < g0->n_inputs; i++) {
        const ir_value *v = &g0->values[g0->inputs[i]];
        ins[i] = gb_random(v->rank, v->dims, lo, hi);
        if (strcmp(v->name, "eps") == 0)
            ((float *)ins[i]->data)[0] = 1e-5f;
    }
    ir_tensor *o0[4] = {0}, *o1[4] = {0};
    char err[256] = "";
    if (gb_run(g0, ins, o0, err, sizeof err))
        fail_msg("unfused graph: %s", err);
    if (gb_run(g1, ins, o1, err, sizeof err))
        fail_msg("fused graph: %s", err);
    for (int k = 0; k < g0->n_outputs; k++) {
        assert_int_equal(ir_tensor_numel(o0[k]), ir_tensor_numel(o1[k]));
        double e = tu_max_rel_err(o1[k]->data, o0[k]->data, ir_tensor_numel(o0[k]), atol, rtol);
        if (e > 1.0)
            fail_msg("output %d differs after the pass (rel err %g)", k, e);
        ir_tensor_free(o0[k]);
        ir_tensor_free(o1[k]);
    }
    for (int i = 0; i < g0->n_inputs; i++)
        ir_tensor_free(ins[i]);
}

#endif
