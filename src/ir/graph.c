/*
 * Graph building, lookup, attributes and structural rewrites of the IR (ir.h).
 * Everything here is owned by the ir_graph; ir_graph_free releases it all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

static char *xstrdup(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

ir_graph *ir_graph_new(void)
{
    return calloc(1, sizeof(ir_graph));
}

void ir_attr_clear(ir_attr *a)
{
    free(a->name);
    free(a->s);
    ir_tensor_free(a->t);
    if (a->g)
        ir_graph_free(a->g);
    free(a->floats);
    free(a->ints);
    if (a->strings)
        for (size_t i = 0; i < a->n; i++)
            free(a->strings[i]);
    free(a->strings);
    if (a->tensors)
        for (size_t i = 0; i < a->n; i++)
            ir_tensor_free(a->tensors[i]);
    free(a->tensors);
    if (a->graphs)
        for (size_t i = 0; i < a->n; i++)
            ir_graph_free(a->graphs[i]);
    free(a->graphs);
    memset(a, 0, sizeof(*a));
}

static void node_clear(ir_node *n)
{
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->in);
    free(n->out);
    for (int i = 0; i < n->n_attrs; i++)
        ir_attr_clear(&n->attrs[i]);
    free(n->attrs);
    memset(n, 0, sizeof(*n));
}

static void value_clear(ir_value *v)
{
    free(v->name);
    for (int i = 0; i < IR_MAX_RANK; i++)
        free(v->dim_names[i]);
    ir_tensor_free(v->constant);
    memset(v, 0, sizeof(*v));
}

void ir_graph_free(ir_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_values; i++)
        value_clear(&g->values[i]);
    for (int i = 0; i < g->n_nodes; i++)
        node_clear(&g->nodes[i]);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->outer);
    free(g->outer_slot);
    for (int i = 0; i < g->n_opsets; i++)
        free(g->opsets[i].domain);
    free(g->opsets);
    free(g->name);
    free(g->producer_name);
    free(g->producer_version);
    free(g->domain);
    free(g->doc);
    free(g);
}

int ir_find_value(const ir_graph *g, const char *name)
{
    for (int i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    return -1;
}

int ir_add_value(ir_graph *g, const char *name)
{
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        ir_value *nv = realloc(g->values, (size_t)cap * sizeof(ir_value));
        if (!nv)
            return -1;
        g->values = nv;
        g->cap_values = cap;
    }
    ir_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof(*v));
    v->name = xstrdup(name);
    if (!v->name)
        return -1;
    v->rank = -1;
    v->producer = -1;
    return g->n_values++;
}

int ir_add_value_unique(ir_graph *g, const char *base)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", base);
    for (int k = 1; ir_find_value(g, buf) >= 0; k++)
        snprintf(buf, sizeof buf, "%.200s__%d", base, k);
    return ir_add_value(g, buf);
}

int ir_add_node(ir_graph *g, const char *op_type, const char *domain, const char *name, int n_in,
                int n_out)
{
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        ir_node *nn = realloc(g->nodes, (size_t)cap * sizeof(ir_node));
        if (!nn)
            return -1;
        g->nodes = nn;
        g->cap_nodes = cap;
    }
    ir_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof(*n));
    n->op_type = xstrdup(op_type);
    n->domain = xstrdup(domain);
    n->name = xstrdup(name);
    n->in = malloc(sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    n->out = malloc(sizeof(int) * (size_t)(n_out > 0 ? n_out : 1));
    if (!n->op_type || !n->domain || !n->name || !n->in || !n->out) {
        node_clear(n);
        return -1;
    }
    n->n_in = n_in;
    n->n_out = n_out;
    for (int i = 0; i < n_in; i++)
        n->in[i] = -1;
    for (int i = 0; i < n_out; i++)
        n->out[i] = -1;
    return g->n_nodes++;
}

int64_t ir_opset_version(const ir_graph *g, const char *domain)
{
    while (g->parent && g->n_opsets == 0)
        g = g->parent;
    if (strcmp(domain, "ai.onnx") == 0)
        domain = "";
    for (int i = 0; i < g->n_opsets; i++) {
        const char *d = g->opsets[i].domain;
        if (strcmp(d, "ai.onnx") == 0)
            d = "";
        if (strcmp(d, domain) == 0)
            return g->opsets[i].version;
    }
    return 0;
}

/* ---- attributes ---- */

const char *ir_attr_type_name(int type)
{
    static const char *names[] = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH",
                                  "FLOATS", "INTS", "STRINGS", "TENSORS", "GRAPHS"};
    return type >= 0 && type <= 10 ? names[type] : "UNKNOWN";
}

/* Records a type mismatch on the node (see ir_node.bad_attr); the node is otherwise
 * read-only here, the flag is the one field accessors write. */
static void note_bad(const ir_node *n, const ir_attr *a, int want)
{
    ir_node *w = (ir_node *)n;
    if (!w->bad_attr) {
        w->bad_attr = a->name;
        w->bad_attr_want = want;
        w->bad_attr_have = a->type;
    }
}

int ir_check_attr_types(const ir_node *n, char *err, size_t cap)
{
    if (!n->bad_attr)
        return 0;
    snprintf(err, cap, "%s '%s': attribute '%s' is %s, expected %s", n->op_type, n->name, n->bad_attr,
             ir_attr_type_name(n->bad_attr_have), ir_attr_type_name(n->bad_attr_want));
    return NORMA_ERR_MODEL;
}

const ir_attr *ir_attr_find(const ir_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t ir_attr_int(const ir_node *n, const char *name, int64_t def)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (a && a->type != IR_ATTR_INT)
        note_bad(n, a, IR_ATTR_INT);
    return a && a->type == IR_ATTR_INT ? a->i : def;
}

float ir_attr_float(const ir_node *n, const char *name, float def)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (!a)
        return def;
    if (a->type == IR_ATTR_FLOAT)
        return a->f;
    if (a->type == IR_ATTR_INT)
        return (float)a->i;
    note_bad(n, a, IR_ATTR_FLOAT);
    return def;
}

const char *ir_attr_string(const ir_node *n, const char *name, const char *def)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (a && a->type != IR_ATTR_STRING)
        note_bad(n, a, IR_ATTR_STRING);
    return a && a->type == IR_ATTR_STRING ? a->s : def;
}

int ir_attr_ints(const ir_node *n, const char *name, const int64_t **out)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (a && a->type != IR_ATTR_INTS)
        note_bad(n, a, IR_ATTR_INTS);
    if (!a || a->type != IR_ATTR_INTS)
        return -1;
    *out = a->ints;
    return (int)a->n;
}

int ir_attr_floats(const ir_node *n, const char *name, const float **out)
{
    const ir_attr *a = ir_attr_find(n, name);
    if (a && a->type != IR_ATTR_FLOATS)
        note_bad(n, a, IR_ATTR_FLOATS);
    if (!a || a->type != IR_ATTR_FLOATS)
        return -1;
    *out = a->floats;
    return (int)a->n;
}

/* ---- structure ---- */

int ir_consumer_count(const ir_graph *g, int v)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == v)
                c++;
    }
    return c;
}

void ir_replace_uses(ir_graph *g, int from, int to)
{
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] == from)
                n->in[k] = to;
    }
    for (int k = 0; k < g->n_outputs; k++)
        if (g->outputs[k] == from)
            g->outputs[k] = to;
}

int ir_graph_compact(ir_graph *g)
{
    int *remap = malloc(sizeof(int) * (size_t)(g->n_values > 0 ? g->n_values : 1));
    char *used = calloc((size_t)(g->n_values > 0 ? g->n_values : 1), 1);
    if (!remap || !used) {
        free(remap);
        free(used);
        return -1;
    }
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) {
            node_clear(&g->nodes[i]);
            continue;
        }
        ir_node *n = &g->nodes[i];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0)
                used[n->in[j]] = 1;
        for (int j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0)
                used[n->out[j]] = 1;
        g->nodes[k++] = *n;
    }
    g->n_nodes = k;
    for (int i = 0; i < g->n_inputs; i++)
        used[g->inputs[i]] = 1;
    for (int i = 0; i < g->n_outputs; i++)
        used[g->outputs[i]] = 1;
    /* Values only subgraphs refer to (outer-scope reads) must stay: keep all names
     * that are read by attribute graphs conservatively by keeping every value a
     * subgraph could see when the graph has subgraphs. */
    int has_sub = 0;
    for (int i = 0; i < g->n_nodes && !has_sub; i++)
        for (int j = 0; j < g->nodes[i].n_attrs; j++)
            if (g->nodes[i].attrs[j].type == IR_ATTR_GRAPH ||
                g->nodes[i].attrs[j].type == IR_ATTR_GRAPHS)
                has_sub = 1;
    k = 0;
    for (int i = 0; i < g->n_values; i++) {
        if (!used[i] && !has_sub) {
            value_clear(&g->values[i]);
            remap[i] = -1;
            continue;
        }
        remap[i] = k;
        g->values[k++] = g->values[i];
    }
    g->n_values = k;
    for (int i = 0; i < g->n_nodes; i++) {
        ir_node *n = &g->nodes[i];
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0)
                n->in[j] = remap[n->in[j]];
        for (int j = 0; j < n->n_out; j++)
            if (n->out[j] >= 0)
                n->out[j] = remap[n->out[j]];
    }
    for (int i = 0; i < g->n_inputs; i++)
        g->inputs[i] = remap[g->inputs[i]];
    for (int i = 0; i < g->n_outputs; i++)
        g->outputs[i] = remap[g->outputs[i]];
    free(remap);
    free(used);
    ir_graph_set_producers(g);
    return 0;
}

void ir_graph_set_producers(ir_graph *g)
{
    for (int v = 0; v < g->n_values; v++)
        g->values[v].producer = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0)
                g->values[n->out[k]].producer = i;
    }
}

/* Kahn's algorithm, stable: among ready nodes, the one that came first in the model
 * runs first, so a model already in order keeps its order. */
int ir_graph_toposort(ir_graph *g, char *err, size_t err_cap)
{
    int nv = g->n_values, nn = g->n_nodes;
    int status = NORMA_ERR_MEMORY;
    int *producer = malloc(sizeof(int) * (size_t)(nv ? nv : 1));
    int *pending = calloc((size_t)(nn ? nn : 1), sizeof(int));
    int *order = malloc(sizeof(int) * (size_t)(nn ? nn : 1));
    char *done = calloc((size_t)(nn ? nn : 1), 1);
    ir_node *sorted = malloc(sizeof(ir_node) * (size_t)(nn ? nn : 1));
    if (!producer || !pending || !order || !done || !sorted)
        goto out;
    for (int i = 0; i < nv; i++)
        producer[i] = -1;
    status = NORMA_ERR_MODEL;
    for (int i = 0; i < nn; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0)
                continue;
            if (producer[v] >= 0 || g->values[v].constant || g->values[v].is_input) {
                snprintf(err, err_cap, "value '%s' is defined twice (by node '%s' %s and earlier)",
                         g->values[v].name, n->name, n->op_type);
                goto out;
            }
            producer[v] = i;
        }
    }
    for (int i = 0; i < nn; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int v = n->in[k];
            if (v < 0)
                continue;
            const ir_value *val = &g->values[v];
            if (producer[v] < 0 && !val->constant && !val->is_input && !g->parent) {
                snprintf(err, err_cap, "node '%s' (%s) reads '%s', which no node, input or initializer defines",
                         n->name, n->op_type, val->name);
                goto out;
            }
            if (producer[v] >= 0)
                pending[i]++;
        }
    }
    /* Repeatedly take the first node with no pending inputs. O(n^2) worst case,
     * but nearly linear for models that are already sorted. */
    int count = 0, start = 0;
    while (count < nn) {
        int pick = -1;
        for (int i = start; i < nn; i++)
            if (!done[i] && pending[i] == 0) {
                pick = i;
                break;
            }
        if (pick < 0) {
            for (int i = 0; i < nn; i++)
                if (!done[i]) {
                    snprintf(err, err_cap, "the graph has a cycle through node '%s' (%s)",
                             g->nodes[i].name, g->nodes[i].op_type);
                    break;
                }
            goto out;
        }
        done[pick] = 1;
        order[count++] = pick;
        while (start < nn && done[start])
            start++;
        const ir_node *n = &g->nodes[pick];
        for (int k = 0; k < n->n_out; k++) {
            int v = n->out[k];
            if (v < 0)
                continue;
            for (int j = 0; j < nn; j++) {
                if (done[j])
                    continue;
                for (int q = 0; q < g->nodes[j].n_in; q++)
                    if (g->nodes[j].in[q] == v) {
                        pending[j]--;
                        if (j < start)
                            start = j;
                    }
            }
        }
    }
    for (int i = 0; i < nn; i++)
        sorted[i] = g->nodes[order[i]];
    if (nn > 0)
        memcpy(g->nodes, sorted, sizeof(ir_node) * (size_t)nn);
    for (int i = 0; i < nv; i++)
        g->values[i].producer = -1;
    for (int i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0)
                g->values[g->nodes[i].out[k]].producer = i;
    for (int i = 0; i < g->n_outputs; i++) {
        const ir_value *v = &g->values[g->outputs[i]];
        if (v->producer < 0 && !v->constant && !v->is_input) {
            snprintf(err, err_cap, "graph output '%s' is not produced by any node", v->name);
            goto out;
        }
    }
    status = NORMA_OK;
out:
    if (status == NORMA_ERR_MEMORY)
        snprintf(err, err_cap, "out of memory sorting the graph");
    free(producer);
    free(pending);
    free(order);
    free(done);
    free(sorted);
    return status;
}

/* Values sub reads that nothing in sub defines: free variables, bound by name in the
 * enclosing graph. */
static int is_free_value(const ir_graph *sub, int v)
{
    const ir_value *val = &sub->values[v];
    return val->producer < 0 && !val->constant && !val->is_input;
}

static int bind_subgraph(ir_graph *g, int node, ir_graph *sub)
{
    int nv = sub->n_values;
    char *read = calloc((size_t)(nv ? nv : 1), 1);
    if (!read)
        return NORMA_ERR_MEMORY;
    for (int i = 0; i < sub->n_nodes; i++)
        for (int k = 0; k < sub->nodes[i].n_in; k++)
            if (sub->nodes[i].in[k] >= 0)
                read[sub->nodes[i].in[k]] = 1;
    for (int k = 0; k < sub->n_outputs; k++)
        read[sub->outputs[k]] = 1;
    int n_free = 0;
    for (int v = 0; v < nv; v++)
        n_free += read[v] && is_free_value(sub, v);
    free(sub->outer);
    free(sub->outer_slot);
    sub->outer = malloc(sizeof(int) * (size_t)(n_free ? n_free : 1));
    sub->outer_slot = malloc(sizeof(int) * (size_t)(n_free ? n_free : 1));
    sub->n_outer = 0;
    if (!sub->outer || !sub->outer_slot) {
        free(read);
        return NORMA_ERR_MEMORY;
    }
    for (int v = 0; v < nv; v++) {
        if (!read[v] || !is_free_value(sub, v))
            continue;
        int pv = ir_find_value(g, sub->values[v].name);
        if (pv < 0 && (pv = ir_add_value(g, sub->values[v].name)) < 0) {
            free(read);
            return NORMA_ERR_MEMORY;
        }
        ir_node *n = &g->nodes[node];
        int slot = -1;
        for (int k = 0; k < n->n_outer; k++)
            if (n->in[n->n_in - n->n_outer + k] == pv)
                slot = k;
        if (slot < 0) {
            int *in = realloc(n->in, sizeof(int) * (size_t)(n->n_in + 1));
            if (!in) {
                free(read);
                return NORMA_ERR_MEMORY;
            }
            n->in = in;
            n->in[n->n_in++] = pv;
            slot = n->n_outer++;
        }
        sub->outer[sub->n_outer] = v;
        sub->outer_slot[sub->n_outer++] = slot;
    }
    free(read);
    return NORMA_OK;
}

int ir_bind_outer_scope(ir_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        for (int j = 0; j < g->nodes[i].n_attrs; j++) {
            ir_attr *a = &g->nodes[i].attrs[j];
            int rc = NORMA_OK;
            if (a->type == IR_ATTR_GRAPH && a->g)
                rc = bind_subgraph(g, i, a->g);
            for (size_t k = 0; a->type == IR_ATTR_GRAPHS && k < a->n && !rc; k++)
                rc = bind_subgraph(g, i, a->graphs[k]);
            if (rc)
                return rc;
        }
    }
    return NORMA_OK;
}
