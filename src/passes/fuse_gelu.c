/*
 * Fuses the decomposed GELU that exporters write into one Gelu node (registered at
 * every opset for this):
 *
 *   erf form (PyTorch's nn.GELU below opset 20, BERT):
 *     a = Add(Erf(Div(x, 1.4142...)), 1)     or Erf(Mul(x, 0.7071...))
 *   tanh form (GPT-2's gelu_new, nn.GELU(approximate='tanh')):
 *     a = Add(Tanh(Mul(0.7978..., Add(x, Mul(0.044715, Pow(x, 3))))), 1)
 *         (x^3 also as Mul(Mul(x, x), x))
 *   then y = Mul(Mul(x, a), 0.5), Mul(Mul(x, 0.5), a) or Mul(x, Mul(a, 0.5)).
 *
 * Every Mul and Add matches either operand order. Guards: the constants are
 * one-element constants within a small tolerance of the exact values (sqrt 2, 1/sqrt 2,
 * sqrt(2/pi) to 1e-4, 0.044715 to 1e-6, 0.5 and 1 exactly; the 1 is float32, so the
 * pattern computes in float32 like Gelu), and every intermediate has
 * one reader and is not a graph output (x itself may have any number of readers).
 */
#include "passes/fuse_util.h"

/* The x in Mul(x, c) or Mul(c, x) with c a constant near want, or -1. */
static int mul_by(const ir_graph *g, const ir_node *m, double want, double tol)
{
    if (!m || m->n_in != 2)
        return -1;
    for (int k = 0; k < 2; k++)
        if (fu_is_scalar(g, m->in[k], want, tol) && m->in[1 - k] >= 0)
            return m->in[1 - k];
    return -1;
}

/* From a = 1 + erf(..) or 1 + tanh(..) to the final product with x and 0.5. Returns
 * the node that becomes Gelu and the other node of the tail in *extra, or NULL. */
static ir_node *match_tail(ir_graph *g, int x, int a, ir_node **extra)
{
    ir_node *m1 = fu_consumer(g, a, "Mul");
    if (!m1)
        return NULL;
    int other = fu_other(m1, a);
    if (other < 0)
        return NULL;
    if (other == x || fu_is_scalar(g, other, 0.5, 0.0)) {
        /* Mul(Mul(x, a), 0.5) or Mul(Mul(a, 0.5), x) */
        ir_node *m2 = fu_consumer(g, m1->out[0], "Mul");
        if (!m2)
            return NULL;
        int o2 = fu_other(m2, m1->out[0]);
        if (other == x ? !fu_is_scalar(g, o2, 0.5, 0.0) : o2 != x)
            return NULL;
        *extra = m1;
        return m2;
    }
    /* Mul(Mul(x, 0.5), a) */
    ir_node *h = fu_producer(g, other, "Mul");
    if (!h || !fu_uses(g, other, 1) || mul_by(g, h, 0.5, 0.0) != x)
        return NULL;
    *extra = h;
    return m1;
}

/* The Add(v, 1) reading v, or NULL. */
static ir_node *plus_one(ir_graph *g, int v)
{
    ir_node *add = fu_consumer(g, v, "Add");
    double one;
    int c = add ? fu_other(add, v) : -1;
    return c >= 0 && fu_f32_scalar(g, c, &one) && one == 1.0 ? add : NULL;
}

static int rewrite(ir_node *last, int x, int tanh_form, ir_node **dead, int n_dead)
{
    int ins[1] = {x};
    if (fu_retype(last, "Gelu", ins, 1))
        return -1;
    if (tanh_form) {
        ir_attr *a = fu_add_attr(last, "approximate", IR_ATTR_STRING);
        if (!a || !(a->s = strdup("tanh")))
            return -1;
        a->s_len = 4;
    }
    for (int i = 0; i < n_dead; i++)
        if (dead[i] && dead[i] != last)
            dead[i]->dead = 1;
    return 1;
}

static int fuse_erf(ir_graph *g, ir_node *e)
{
    int u = e->in[0];
    if (u < 0 || !fu_uses(g, u, 1) || !fu_uses(g, e->out[0], 1))
        return 0;
    int x = -1;
    ir_node *sc = fu_producer(g, u, "Div");
    if (sc) {
        if (sc->n_in == 2 && fu_is_scalar(g, sc->in[1], sqrt(2.0), 1e-4))
            x = sc->in[0];
    } else if ((sc = fu_producer(g, u, "Mul"))) {
        x = mul_by(g, sc, sqrt(0.5), 1e-4);
    }
    if (x < 0)
        return 0;
    ir_node *add = plus_one(g, e->out[0]);
    if (!add)
        return 0;
    ir_node *extra = NULL, *last = match_tail(g, x, add->out[0], &extra);
    if (!last)
        return 0;
    ir_node *dead[] = {sc, e, add, extra};
    return rewrite(last, x, 0, dead, 4);
}

/* 1 when c = x^3 as Pow(x, 3), Mul(Mul(x, x), x) or Mul(x, Mul(x, x)); *sq receives
 * the inner Mul of the second form (NULL for Pow). */
static int is_cube(ir_graph *g, int c, int x, ir_node **p, ir_node **sq)
{
    *sq = NULL;
    if (!fu_uses(g, c, 1))
        return 0;
    if ((*p = fu_producer(g, c, "Pow")))
        return (*p)->n_in == 2 && (*p)->in[0] == x && fu_is_scalar(g, (*p)->in[1], 3.0, 0.0);
    if (!(*p = fu_producer(g, c, "Mul")))
        return 0;
    int o = fu_other(*p, x);
    ir_node *s = o >= 0 ? fu_producer(g, o, "Mul") : NULL;
    if (!s || !fu_uses(g, o, 1) || s->n_in != 2 || s->in[0] != x || s->in[1] != x)
        return 0;
    *sq = s;
    return 1;
}

static int fuse_tanh(ir_graph *g, ir_node *t)
{
    int tin = t->in[0];
    if (tin < 0 || !fu_uses(g, tin, 1) || !fu_uses(g, t->out[0], 1))
        return 0;
    ir_node *ms = fu_producer(g, tin, "Mul");
    int inner = mul_by(g, ms, sqrt(2.0 / M_PI), 1e-4);
    if (inner < 0 || !fu_uses(g, inner, 1))
        return 0;
    ir_node *ad = fu_producer(g, inner, "Add");
    if (!ad || ad->n_in != 2)
        return 0;
    for (int j = 0; j < 2; j++) {
        int x = ad->in[j], c = ad->in[1 - j];
        if (x < 0 || c < 0 || !fu_uses(g, c, 1))
            continue;
        ir_node *mc = fu_producer(g, c, "Mul");
        int cube = mul_by(g, mc, 0.044715, 1e-6);
        ir_node *p, *sq;
        if (cube < 0 || !is_cube(g, cube, x, &p, &sq))
            continue;
        ir_node *add = plus_one(g, t->out[0]);
        if (!add)
            return 0;
        ir_node *extra = NULL, *last = match_tail(g, x, add->out[0], &extra);
        if (!last)
            return 0;
        ir_node *dead[] = {sq, p, mc, ad, ms, t, add, extra};
        return rewrite(last, x, 1, dead, 8);
    }
    return 0;
}

int pass_fuse_gelu(ir_graph *g, char *err, size_t cap)
{
    int changed = 0, oom = 0;
    for (int i = 0; i < g->n_nodes && !oom; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead || n->n_in < 1 || n->n_out < 1)
            continue;
        int rc = pass_is_op(n, "Erf") ? fuse_erf(g, n) : pass_is_op(n, "Tanh") ? fuse_tanh(g, n) : 0;
        if (rc < 0)
            oom = 1;
        else
            changed |= rc;
    }
    return fu_finish(g, changed, oom, "Gelu", err, cap);
}
