/*
 * Fuses a GlobalAveragePool into the Conv before it: Conv(...) -> GlobalAveragePool
 * becomes the internal node Conv in domain "norma" with global_average_pool = 1
 * (ops/conv.c), whose output is the pool's. The classifier heads of CNNs end this
 * way (MobileNetV2's last 1x1 convolution, ResNet's last block): a 7x7 output
 * computed transposed is averaged where it lies instead of being transposed, written
 * and read again.
 *
 * Runs after fuse-residual and fuse-activation, so that the activation and the
 * residual the Conv already carries are applied before the average, as they were.
 * Guards: an ONNX or internal Conv with one output, not yet pooled; its output has
 * exactly one reader (the pool) and is not a graph output.
 */
#include <stdio.h>

#include "passes/fuse_util.h"
#include "passes/passes.h"

static int is_conv(const ir_node *n)
{
    return strcmp(n->op_type, "Conv") == 0 && (pass_is_op(n, "Conv") || strcmp(n->domain, "norma") == 0);
}

int pass_fuse_global_pool(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *a = &g->nodes[i];
        if (a->dead || !pass_is_op(a, "GlobalAveragePool") || a->n_in != 1 || a->n_out != 1 || a->out[0] < 0)
            continue;
        int x = a->in[0], p_i = pass_producer(g, x);
        if (x < 0 || p_i < 0 || !fu_uses(g, x, 1))
            continue;
        ir_node *p = &g->nodes[p_i];
        if (!is_conv(p) || p->n_out != 1 || p->out[0] != x || p->n_outer ||
            ir_attr_int(p, "global_average_pool", 0))
            continue;
        if (pass_to_norma_domain(p) || pass_set_attr_int(p, "global_average_pool", 1)) {
            snprintf(err, cap, "out of memory fusing a GlobalAveragePool");
            return NORMA_ERR_MEMORY;
        }
        p->out[0] = a->out[0];
        a->dead = 1;
        changed = 1;
    }
    return pass_compact(g, changed, "fusing GlobalAveragePools", err, cap);
}
