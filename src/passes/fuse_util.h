/*
 * Helpers shared by the pattern-fusion passes (fuse_layernorm.c, fuse_rmsnorm.c,
 * fuse_gelu.c), and their entry points. Each fusion matches a decomposed subgraph as
 * exporters write it, checks its guards, and rewrites the LAST node of the pattern in
 * place into the fused op (so the graph stays topologically sorted: every input of the
 * fused node is written before that node), marking the others dead.
 */
#ifndef NORMA_FUSE_UTIL_H
#define NORMA_FUSE_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

int pass_fuse_layernorm(ir_graph *g, char *err, size_t cap);
int pass_fuse_rmsnorm(ir_graph *g, char *err, size_t cap);
int pass_fuse_gelu(ir_graph *g, char *err, size_t cap);

/* The live node of type op that writes v, or NULL (also when it writes v from a
 * second output). */
static inline ir_node *fu_producer(ir_graph *g, int v, const char *op)
{
    int p = pass_producer(g, v);
    if (p < 0 || !pass_is_op(&g->nodes[p], op) || g->nodes[p].n_out < 1 || g->nodes[p].out[0] != v)
        return NULL;
    for (int k = 1; k < g->nodes[p].n_out; k++)
        if (g->nodes[p].out[k] >= 0)
            return NULL;
    return &g->nodes[p];
}

/* 1 when v is an intermediate a fusion may remove: exactly `uses` live readers and
 * not a graph output. */
static inline int fu_uses(const ir_graph *g, int v, int uses)
{
    return v >= 0 && !g->values[v].is_output && ir_consumer_count(g, v) == uses;
}

/* The only live node reading v, or NULL when v has another number of readers or is a
 * graph output. */
static inline ir_node *fu_consumer(ir_graph *g, int v, const char *op)
{
    if (!fu_uses(g, v, 1))
        return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == v)
                return pass_is_op(n, op) ? n : NULL;
    }
    return NULL;
}

/* 1 and *out = the value when v is a one-element float/double/integer constant. */
static inline int fu_scalar(const ir_graph *g, int v, double *out)
{
    if (!pass_is_initializer(g, v) || ir_tensor_numel(g->values[v].constant) != 1)
        return 0;
    int dt = g->values[v].constant->dtype;
    if (dt != NORMA_FLOAT && dt != NORMA_DOUBLE && dt != NORMA_FLOAT16)
        return 0;
    *out = ir_tensor_get_f64(g->values[v].constant, 0);
    return 1;
}

/* fu_scalar for a float32 constant only. The fused ops are float32: a pattern whose
 * Add has a float32 constant operand computes in float32 (Add needs equal types), so
 * this guard keeps float16 and double graphs unfused. */
static inline int fu_f32_scalar(const ir_graph *g, int v, double *out)
{
    return fu_scalar(g, v, out) && g->values[v].constant->dtype == NORMA_FLOAT;
}

static inline int fu_is_scalar(const ir_graph *g, int v, double want, double tol)
{
    double d;
    return fu_scalar(g, v, &d) && fabs(d - want) <= tol;
}

/* For a two-input node with v as one operand: the other operand, or -2. */
static inline int fu_other(const ir_node *n, int v)
{
    if (n->n_in != 2)
        return -2;
    if (n->in[0] == v)
        return n->in[1];
    if (n->in[1] == v)
        return n->in[0];
    return -2;
}

/* The node computing v = 1 / s as Reciprocal(s) or Div(1, s) (torch.rsqrt exports as
 * the latter), with *s set, or NULL. */
static inline ir_node *fu_reciprocal(ir_graph *g, int v, int *s)
{
    ir_node *r = fu_producer(g, v, "Reciprocal");
    if (r && r->n_in == 1) {
        *s = r->in[0];
        return r;
    }
    r = fu_producer(g, v, "Div");
    if (r && r->n_in == 2 && fu_is_scalar(g, r->in[0], 1.0, 0.0)) {
        *s = r->in[1];
        return r;
    }
    return NULL;
}

/* 1 when x is known to be float: its recorded dtype, or the output of Cast(to=FLOAT). */
static inline int fu_is_float(ir_graph *g, int x)
{
    if (g->values[x].dtype == NORMA_FLOAT)
        return 1;
    ir_node *c = fu_producer(g, x, "Cast");
    return c && ir_attr_int(c, "to", 0) == NORMA_FLOAT;
}

/* After a normalization of float x whose result is v: the Cast(to=FLOAT) reading v
 * alone (a no-op on float data, left by .to(dtype) in exports), or NULL. */
static inline ir_node *fu_noop_cast(ir_graph *g, int x, int v)
{
    ir_node *c = fu_consumer(g, v, "Cast");
    return c && ir_attr_int(c, "to", 0) == NORMA_FLOAT && fu_is_float(g, x) ? c : NULL;
}

/* Drops every attribute of n. */
static inline void fu_clear_attrs(ir_node *n)
{
    for (int i = 0; i < n->n_attrs; i++)
        ir_attr_clear(&n->attrs[i]);
    free(n->attrs);
    n->attrs = NULL;
    n->n_attrs = 0;
}

/* Appends an attribute (name copied); NULL on OOM. */
static inline ir_attr *fu_add_attr(ir_node *n, const char *name, ir_attr_type type)
{
    ir_attr *a = realloc(n->attrs, sizeof(ir_attr) * (size_t)(n->n_attrs + 1));
    if (!a)
        return NULL;
    n->attrs = a;
    a = &a[n->n_attrs];
    memset(a, 0, sizeof(*a));
    a->name = strdup(name);
    if (!a->name)
        return NULL;
    a->type = type;
    n->n_attrs++;
    return a;
}

/* Turns n into op_type (default domain) with inputs ins[0..n_in) and one output (its
 * first); attributes are dropped. 0, or -1 on OOM. */
static inline int fu_retype(ir_node *n, const char *op_type, const int *ins, int n_in)
{
    char *op = strdup(op_type), *dom = strdup("");
    int *in = malloc(sizeof(int) * (size_t)n_in);
    if (!op || !dom || !in) {
        free(op);
        free(dom);
        free(in);
        return -1;
    }
    free(n->op_type);
    free(n->domain);
    free(n->in);
    n->op_type = op;
    n->domain = dom;
    memcpy(in, ins, sizeof(int) * (size_t)n_in);
    n->in = in;
    n->n_in = n_in;
    n->n_out = 1;
    fu_clear_attrs(n);
    n->fused_act = 0;
    return 0;
}

/* The axes of a ReduceMean with keepdims=1, as negative axes sorted ascending, when
 * they are the k trailing axes of its input: returns k, or 0 when not. The axes are the
 * attribute before opset 18 and a constant second input from 18. rank is the rank of
 * the pattern's input x (-1 when unknown: then only negative axes match). */
static inline int fu_trailing_axes(const ir_graph *g, const ir_node *r, int rank)
{
    if (ir_attr_int(r, "keepdims", 1) != 1 || r->in[0] < 0)
        return 0;
    int64_t ax[IR_MAX_RANK + 1];
    int n;
    if (r->n_in >= 2 && r->in[1] >= 0) {
        if (!pass_is_initializer(g, r->in[1]))
            return 0;
        const ir_tensor *t = g->values[r->in[1]].constant;
        size_t m = ir_tensor_numel(t);
        if (m == 0 || m > IR_MAX_RANK || (t->dtype != NORMA_INT64 && t->dtype != NORMA_INT32))
            return 0;
        for (size_t i = 0; i < m; i++)
            ax[i] = ir_tensor_get_i64(t, i);
        n = (int)m;
    } else {
        const int64_t *a;
        n = ir_attr_ints(r, "axes", &a);
        if (n <= 0 || n > IR_MAX_RANK)
            return 0;
        memcpy(ax, a, sizeof(int64_t) * (size_t)n);
    }
    unsigned seen = 0;
    for (int i = 0; i < n; i++) {
        int64_t a = ax[i];
        if (a >= 0) {
            if (rank < 0 || a >= rank)
                return 0;
            a -= rank;
        }
        if (a < -IR_MAX_RANK || (rank >= 0 && a < -rank))
            return 0;
        unsigned bit = 1u << (unsigned)(-a - 1);
        if (seen & bit)
            return 0;
        seen |= bit;
    }
    /* trailing: bits 0..n-1 set */
    return seen == (1u << n) - 1 ? n : 0;
}

/* 1 when the constant t can serve as the Scale or B of a normalization over the last k
 * axes of x (rank xr, dims xd, xr < 0 when unknown): float, rank <= k, and where x's
 * dims are known, each dim equal to x's or 1 and never larger than x's. */
static inline int fu_param_ok(const ir_graph *g, int v, int k, int xv)
{
    if (!pass_is_initializer(g, v))
        return 0;
    const ir_tensor *t = g->values[v].constant;
    if (t->dtype != NORMA_FLOAT || t->rank > k)
        return 0;
    const ir_value *x = &g->values[xv];
    for (int d = 0; d < t->rank; d++) {
        int64_t td = t->dims[t->rank - 1 - d];
        if (x->rank >= 0) {
            int64_t xd = x->dims[x->rank - 1 - d];
            if (td != 1 && (xd < 0 || xd != td))
                return 0;
        } /* x's shape unknown: the op checks at plan time */
    }
    return 1;
}

/* A new float constant holding one 1.0 (the Scale of a normalization with no affine
 * tail); its index, or -1 on OOM. */
static inline int fu_const_one(ir_graph *g, const char *base)
{
    int64_t one = 1;
    ir_tensor *t = ir_tensor_new(NORMA_FLOAT, 1, &one);
    if (!t)
        return -1;
    ((float *)t->data)[0] = 1.0f;
    return pass_add_constant(g, base, t);
}

/* Finishes a pass: compaction and producers when something changed. */
static inline int fu_finish(ir_graph *g, int changed, int oom, const char *what, char *err, size_t cap)
{
    if (oom) {
        snprintf(err, cap, "out of memory fusing %s", what);
        return NORMA_ERR_MEMORY;
    }
    if (changed && ir_graph_compact(g)) {
        snprintf(err, cap, "out of memory fusing %s", what);
        return NORMA_ERR_MEMORY;
    }
    return NORMA_OK;
}

/* ---- pieces of the normalization patterns (fuse_layernorm.c, fuse_rmsnorm.c) ---- */

/* Matches the division dv as Div(num, s) or Mul(num, Reciprocal(s)) (either order):
 * 1 with *num, *s and *recip (NULL for Div) set, else 0. */
static inline int fu_norm_division(ir_graph *g, ir_node *dv, int *num, int *s, ir_node **recip)
{
    *recip = NULL;
    if (dv->n_in != 2)
        return 0;
    if (pass_is_op(dv, "Div")) {
        *num = dv->in[0];
        *s = dv->in[1];
        return 1;
    }
    int k;
    for (k = 0; k < 2; k++)
        if ((*recip = fu_reciprocal(g, dv->in[k], s)))
            break;
    if (!*recip || !fu_uses(g, (*recip)->out[0], 1))
        return 0;
    *num = dv->in[1 - k];
    return 1;
}

/* Matches s = Sqrt(Add(v, eps)) with eps a one-element float32 constant >= 0 (either
 * operand order) and single-reader intermediates: returns v with *sq, *add, *eps set,
 * or -1. */
static inline int fu_sqrt_add_eps(ir_graph *g, int s, ir_node **sq, ir_node **add, double *eps)
{
    *sq = fu_producer(g, s, "Sqrt");
    if (!*sq || !fu_uses(g, s, 1))
        return -1;
    *add = fu_producer(g, (*sq)->in[0], "Add");
    if (!*add || !fu_uses(g, (*add)->out[0], 1) || (*add)->n_in != 2)
        return -1;
    int v = -1;
    for (int k = 0; k < 2; k++)
        if (fu_f32_scalar(g, (*add)->in[k], eps)) {
            v = (*add)->in[1 - k];
            break;
        }
    return v >= 0 && *eps >= 0 ? v : -1;
}

/* Matches v = ReduceMean(Pow(base, 2)) with single-reader intermediates: 1 with *rm
 * and *pw set, else 0. */
static inline int fu_mean_square(ir_graph *g, int v, int base, ir_node **rm, ir_node **pw)
{
    *rm = fu_producer(g, v, "ReduceMean");
    if (!*rm || !fu_uses(g, v, 1))
        return 0;
    *pw = fu_producer(g, (*rm)->in[0], "Pow");
    return *pw && fu_uses(g, (*rm)->in[0], 1) && (*pw)->n_in == 2 && (*pw)->in[0] == base &&
           fu_is_scalar(g, (*pw)->in[1], 2.0, 0.0);
}

/* The optional scale after a normalization of x over k axes whose result is dv's
 * output (possibly through a no-op Cast): the scale constant's value with *cast and
 * *mul set, or -1 (then *mul may still be a non-matching Mul). */
static inline int fu_norm_scale(ir_graph *g, int x, const ir_node *dv, int k, ir_node **cast, ir_node **mul)
{
    *cast = fu_noop_cast(g, x, dv->out[0]);
    int nv = *cast ? (*cast)->out[0] : dv->out[0];
    *mul = fu_consumer(g, nv, "Mul");
    if (!*mul)
        return -1;
    int s = fu_other(*mul, nv);
    return s >= 0 && fu_param_ok(g, s, k, x) ? s : -1;
}

/*
 * Rewrites last into op(x, scale[, bias]) with axis = -k and epsilon = eps; scale < 0
 * adds a constant 1 named after dv's output and suffix. Then marks dead[0..n_dead)
 * (NULL entries skipped) except last. 1 done, -1 OOM.
 */
static inline int fu_emit_norm(ir_graph *g, ir_node *last, const char *op, int x, int scale, int bias, int k,
                               double eps, const ir_node *dv, const char *suffix, ir_node **dead, size_t n_dead)
{
    if (scale < 0) {
        char base[256];
        snprintf(base, sizeof base, "%.200s_%s", g->values[dv->out[0]].name, suffix);
        if ((scale = fu_const_one(g, base)) < 0)
            return -1;
    }
    int ins[3] = {x, scale, bias};
    if (fu_retype(last, op, ins, bias >= 0 ? 3 : 2))
        return -1;
    ir_attr *a = fu_add_attr(last, "axis", IR_ATTR_INT);
    if (!a)
        return -1;
    a->i = -k;
    a = fu_add_attr(last, "epsilon", IR_ATTR_FLOAT);
    if (!a)
        return -1;
    a->f = (float)eps;
    for (size_t i = 0; i < n_dead; i++)
        if (dead[i] && dead[i] != last)
            dead[i]->dead = 1;
    return 1;
}

/* Runs fuse_at (1 fused, 0 not, -1 OOM) at every live Div and Mul, then fu_finish. */
static inline int fu_run_at_divisions(ir_graph *g, int (*fuse_at)(ir_graph *, ir_node *), const char *what,
                                      char *err, size_t cap)
{
    int changed = 0, oom = 0;
    for (int i = 0; i < g->n_nodes && !oom; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead || (!pass_is_op(n, "Div") && !pass_is_op(n, "Mul")))
            continue;
        int rc = fuse_at(g, n);
        if (rc < 0)
            oom = 1;
        else
            changed |= rc;
    }
    return fu_finish(g, changed, oom, what, err, cap);
}

#endif
