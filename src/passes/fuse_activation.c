/*
 * Fuses an activation into the Conv, ConvTranspose, Gemm or MatMul before it: the
 * producer's kernel applies it to each block of outputs while they are in cache
 * (kernels/act.h), and the activation node disappears.
 *
 *   Relu                       ACT_RELU
 *   Clip(min, max)             ACT_CLIP, alpha=min, beta=max (constant inputs from opset
 *                              11, attributes before; absent bounds are -inf / +inf)
 *   LeakyRelu(alpha)           ACT_LEAKY_RELU
 *   Sigmoid                    ACT_SIGMOID
 *   HardSigmoid(alpha, beta)   ACT_HARD_SIGMOID
 *   HardSwish                  ACT_HARD_SWISH
 *   Gelu(approximate)          ACT_GELU, alpha = 1 for "tanh" (0 for "none")
 *   Mul(x, Sigmoid(x))         ACT_SILU (PyTorch's SiLU / Swish, as exported), the
 *                              Mul's inputs in either order
 *
 * Guards: the producer's output has exactly one reader (the activation; for SiLU two,
 * the Sigmoid and the Mul, and the Sigmoid's output one, the Mul) and is not a graph
 * output; the producer has no fused activation yet; Clip's bounds are constant
 * float32 scalars with min <= max.
 */
#include <math.h>
#include <string.h>

#include "kernels/act.h"
#include "passes/passes.h"

/* Reads Clip bound input k into *out (default def when omitted); 0 when not constant. */
static int clip_bound(const ir_graph *g, const ir_node *n, int k, float def, float *out)
{
    if (k >= n->n_in || n->in[k] < 0) {
        *out = def;
        return 1;
    }
    if (!pass_is_initializer(g, n->in[k]))
        return 0;
    const ir_tensor *t = g->values[n->in[k]].constant;
    if (t->dtype != NORMA_FLOAT || ir_tensor_numel(t) != 1)
        return 0;
    *out = ((const float *)t->data)[0];
    return 1;
}

/* The activation node n computes; 0 when it is not one this pass fuses. */
static int activation_of(const ir_graph *g, const ir_node *n, float *alpha, float *beta)
{
    *alpha = 0;
    *beta = 0;
    if (pass_is_op(n, "Relu"))
        return ACT_RELU;
    if (pass_is_op(n, "Sigmoid"))
        return ACT_SIGMOID;
    if (pass_is_op(n, "HardSwish"))
        return ACT_HARD_SWISH;
    if (pass_is_op(n, "Gelu")) {
        const char *a = ir_attr_string(n, "approximate", "none");
        if (strcmp(a, "none") && strcmp(a, "tanh"))
            return 0; /* the op reports it */
        *alpha = strcmp(a, "tanh") == 0;
        return ACT_GELU;
    }
    if (pass_is_op(n, "LeakyRelu")) {
        *alpha = ir_attr_float(n, "alpha", 0.01f);
        return ACT_LEAKY_RELU;
    }
    if (pass_is_op(n, "HardSigmoid")) {
        *alpha = ir_attr_float(n, "alpha", 0.2f);
        *beta = ir_attr_float(n, "beta", 0.5f);
        return ACT_HARD_SIGMOID;
    }
    if (pass_is_op(n, "Clip")) {
        if (n->opset < 11) {
            *alpha = ir_attr_float(n, "min", -INFINITY);
            *beta = ir_attr_float(n, "max", INFINITY);
        } else if (!clip_bound(g, n, 1, -INFINITY, alpha) || !clip_bound(g, n, 2, INFINITY, beta)) {
            return 0;
        }
        if (!(*alpha <= *beta))
            return 0;
        return ACT_CLIP;
    }
    return 0;
}

static int fusable_producer(const ir_node *p)
{
    /* norma.MatMul (bias and/or transB) applies its activation after the bias */
    return pass_is_op(p, "Conv") || pass_is_op(p, "ConvTranspose") || pass_is_op(p, "Gemm") ||
           pass_is_op(p, "MatMul") || (strcmp(p->domain, "norma") == 0 && strcmp(p->op_type, "MatMul") == 0);
}

/* For a Mul node a computing x * Sigmoid(x): the Sigmoid node's index (its output the
 * Mul's other input, read by nothing else) and *x; -1 otherwise. x's readers are
 * checked by the caller. */
static int silu_sigmoid(const ir_graph *g, const ir_node *a, int *x)
{
    if (!pass_is_op(a, "Mul") || a->n_in != 2 || a->in[0] < 0 || a->in[1] < 0)
        return -1;
    for (int k = 0; k < 2; k++) {
        int s = a->in[k], v = a->in[1 - k], si = pass_producer(g, s);
        if (si < 0 || !pass_is_op(&g->nodes[si], "Sigmoid") || g->nodes[si].in[0] != v)
            continue;
        if (g->values[s].is_output || ir_consumer_count(g, s) != 1)
            continue;
        *x = v;
        return si;
    }
    return -1;
}

int pass_fuse_activation(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *a = &g->nodes[i];
        float alpha, beta;
        if (a->dead || a->n_in < 1 || a->n_out != 1 || a->out[0] < 0)
            continue;
        int act = activation_of(g, a, &alpha, &beta), x = a->in[0];
        int sig = act ? -1 : silu_sigmoid(g, a, &x);
        if (sig >= 0)
            act = ACT_SILU;
        if (!act)
            continue;
        if (x < 0 || g->values[x].is_output || ir_consumer_count(g, x) != (sig >= 0 ? 2 : 1))
            continue;
        int p_i = pass_producer(g, x);
        if (p_i < 0)
            continue;
        ir_node *p = &g->nodes[p_i];
        if (!fusable_producer(p) || p->fused_act || p->n_out != 1 || p->out[0] != x)
            continue;
        p->fused_act = act;
        p->act_alpha = alpha;
        p->act_beta = beta;
        p->out[0] = a->out[0];
        a->dead = 1;
        if (sig >= 0)
            g->nodes[sig].dead = 1;
        changed = 1;
    }
    return pass_compact(g, changed, "fusing activations", err, cap);
}
