/*
 * Removes Identity nodes and inference-mode Dropout (whose mask output is unused):
 * readers of the output read the input instead. When the output is a graph output,
 * the node is kept unless its input can take the output's place.
 */
#include "passes/passes.h"

#include <string.h>

static int is_removable(const ir_graph *g, const ir_node *n)
{
    if (n->domain[0] && strcmp(n->domain, "ai.onnx") != 0)
        return 0;
    if (strcmp(n->op_type, "Identity") == 0)
        return n->n_in == 1 && n->in[0] >= 0;
    if (strcmp(n->op_type, "Dropout") != 0 || n->n_in < 1 || n->in[0] < 0)
        return 0;
    /* A Dropout with training_mode set is not an identity: its input must be a
     * constant false. The mask output must not be read. */
    if (n->n_in >= 3 && n->in[2] >= 0) {
        const ir_tensor *t = g->values[n->in[2]].constant;
        if (!t || !t->data || ir_tensor_numel(t) != 1 || ir_tensor_get_i64(t, 0) != 0)
            return 0;
    }
    if (n->n_out >= 2 && n->out[1] >= 0 &&
        (ir_consumer_count(g, n->out[1]) > 0 || g->values[n->out[1]].is_output))
        return 0;
    return 1;
}

int pass_remove_identity(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead || !is_removable(g, n))
            continue;
        int in = n->in[0], out = n->out[0];
        if (out < 0)
            continue;
        if (g->values[out].is_output) {
            /* The input may stand in for the graph output only if it is not itself an
             * input or output of the graph (names of graph outputs must survive). */
            continue;
        }
        ir_replace_uses(g, out, in);
        n->dead = 1;
        changed = 1;
    }
    return pass_compact(g, changed, "removing Identity nodes", err, cap);
}
