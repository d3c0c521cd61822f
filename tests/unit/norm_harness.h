/*
 * Shared by the normalization op tests (header-only): evaluates one node on given
 * tensors through op_resolve/op_eval, as the runtime would.
 */
#ifndef NORMA_NORM_HARNESS_H
#define NORMA_NORM_HARNESS_H

#include "testutil.h"
#include "graph_builder.h"

/* A graph holding a single node op at opset with n_in inputs "i0".."i2" and n_out
 * outputs "o0".."o2" ("" where out_mask leaves one out); returns the node index. */
static inline int nh_graph(ir_graph **gp, const char *op, int64_t opset, int n_in, int n_out, unsigned out_mask)
{
    ir_graph *g = gb_graph(opset);
    static const char *ins[] = {"i0", "i1", "i2"};
    const char *outs[3];
    static const char *on[] = {"o0", "o1", "o2"};
    for (int k = 0; k < n_out; k++)
        outs[k] = (out_mask >> k & 1) ? on[k] : "";
    for (int k = 0; k < n_in; k++)
        gb_value(g, ins[k]);
    int n = gb_node(g, op, "node", n_in, ins, n_out, outs);
    *gp = g;
    return n;
}

/* Evaluates node n on ins; outs receive new tensors. Returns the status, message in err. */
static inline int nh_eval(ir_graph *g, int n, ir_tensor **ins, ir_tensor **outs, char *err, size_t cap)
{
    const op_schema *s;
    int rc = op_resolve(&g->nodes[n], &s, err, cap);
    return rc ? rc : op_eval(&g->nodes[n], s, ins, outs, err, cap);
}

#endif
