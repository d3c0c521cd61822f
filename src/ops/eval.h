/*
 * Evaluates one node on tensors whose data is known: used by constant folding and by
 * the planner for the shape arithmetic it computes once per plan.
 */
#ifndef NORMA_EVAL_H
#define NORMA_EVAL_H

#include "ops/op.h"

/* Runs node n (schema s) on ins (NULL entries for omitted inputs). On success outs[i]
 * receives a new owned tensor for each present output (NULL for omitted ones). */
int op_eval(const ir_node *n, const op_schema *s, ir_tensor **ins, ir_tensor **outs, char *err,
            size_t cap);

/* Runs subgraph g (an attribute of the node being run) on ins (one per g->inputs),
 * with outer the owning node's outer-scope inputs (c->in + n_in - n_outer). On success
 * outs[k] receives a new owned value for each of g's outputs. Nodes are evaluated one
 * by one with op_eval: a subgraph allocates as it runs. */
int op_eval_graph(const ir_graph *g, ir_tensor *const *ins, ir_tensor *const *outer, ir_tensor **outs,
                  char *err, size_t cap);

/* Looks up the schema of n, with "unsupported" errors naming the op and opset. */
int op_resolve(const ir_node *n, const op_schema **out, char *err, size_t cap);

#endif
