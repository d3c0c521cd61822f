/* The pass pipeline: the order passes run in, and switching them off by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "passes/fuse_util.h"
#include "norma.h"

static const pass_def passes[] = {
    {"remove-identity", pass_remove_identity},
    {"fuse-matmul-transpose", pass_fuse_matmul_transpose}, /* before constant-folding folds the Transpose */
    {"constant-folding", pass_const_fold},
    {"fold-batchnorm", pass_fold_batchnorm},
    {"fuse-layernorm", pass_fuse_layernorm},
    {"fuse-rmsnorm", pass_fuse_rmsnorm},
    {"fuse-gelu", pass_fuse_gelu},
    {"fuse-residual", pass_fuse_residual},
    {"fuse-matmul-scale", pass_fuse_matmul_scale},     /* before fuse-matmul-permute: the Div sits between */
    {"fuse-matmul-permute", pass_fuse_matmul_permute},
    {"fuse-matmul-add", pass_fuse_matmul_add},
    {"fuse-activation", pass_fuse_activation},
    {"fuse-matmul-softmax", pass_fuse_matmul_softmax}, /* after all else a MatMul takes */
    {"fuse-global-pool", pass_fuse_global_pool},       /* after all else a Conv takes */
};

int pass_producer(const ir_graph *g, int v)
{
    if (v < 0)
        return -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] == v)
                return i;
    }
    return -1;
}

int pass_compact(ir_graph *g, int changed, const char *what, char *err, size_t cap)
{
    if (changed && ir_graph_compact(g)) {
        snprintf(err, cap, "out of memory %s", what);
        return NORMA_ERR_MEMORY;
    }
    return NORMA_OK;
}

int pass_is_initializer(const ir_graph *g, int v)
{
    return v >= 0 && g->values[v].constant && g->values[v].constant->data && !g->values[v].is_input;
}

int pass_is_op(const ir_node *n, const char *op)
{
    return (!n->domain[0] || strcmp(n->domain, "ai.onnx") == 0) && strcmp(n->op_type, op) == 0;
}

int pass_is_matmul(const ir_node *n)
{
    return strcmp(n->op_type, "MatMul") == 0 && (pass_is_op(n, "MatMul") || strcmp(n->domain, "norma") == 0);
}

int pass_add_constant(ir_graph *g, const char *base, ir_tensor *t)
{
    int v = ir_add_value_unique(g, base);
    if (v < 0) {
        ir_tensor_free(t);
        return -1;
    }
    ir_value *val = &g->values[v];
    val->constant = t;
    val->dtype = t->dtype;
    val->rank = t->rank;
    for (int d = 0; d < t->rank; d++)
        val->dims[d] = t->dims[d];
    return v;
}

int pass_to_norma_domain(ir_node *n)
{
    char *dom = malloc(6);
    if (!dom)
        return -1;
    memcpy(dom, "norma", 6);
    free(n->domain);
    n->domain = dom;
    n->opset = 1;
    return 0;
}

int pass_set_input(ir_node *n, int k, int v)
{
    if (k >= n->n_in) {
        int *in = realloc(n->in, sizeof(int) * (size_t)(k + 1));
        if (!in)
            return -1;
        for (int i = n->n_in; i <= k; i++)
            in[i] = -1;
        n->in = in;
        n->n_in = k + 1;
    }
    n->in[k] = v;
    return 0;
}

/* The attribute called name on n, emptied and keeping its name, or a new empty one;
 * NULL on OOM. */
static ir_attr *attr_slot(ir_node *n, const char *name)
{
    for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) {
            char *nm = n->attrs[i].name;
            n->attrs[i].name = NULL;
            ir_attr_clear(&n->attrs[i]);
            n->attrs[i].name = nm;
            return &n->attrs[i];
        }
    ir_attr *a = realloc(n->attrs, sizeof(ir_attr) * (size_t)(n->n_attrs + 1));
    if (!a)
        return NULL;
    n->attrs = a;
    ir_attr *na = &a[n->n_attrs];
    memset(na, 0, sizeof(*na));
    na->name = strdup(name);
    if (!na->name)
        return NULL;
    n->n_attrs++;
    return na;
}

int pass_set_attr_float(ir_node *n, const char *name, float f)
{
    ir_attr *a = attr_slot(n, name);
    if (!a)
        return -1;
    a->type = IR_ATTR_FLOAT;
    a->f = f;
    return 0;
}

int pass_set_attr_int(ir_node *n, const char *name, int64_t v)
{
    ir_attr *a = attr_slot(n, name);
    if (!a)
        return -1;
    a->type = IR_ATTR_INT;
    a->i = v;
    return 0;
}

int pass_set_attr_ints(ir_node *n, const char *name, int count, const int64_t *v)
{
    int64_t *copy = malloc(sizeof(int64_t) * (size_t)(count ? count : 1));
    if (!copy)
        return -1;
    memcpy(copy, v, sizeof(int64_t) * (size_t)count);
    ir_attr *a = attr_slot(n, name);
    if (!a) {
        free(copy);
        return -1;
    }
    a->type = IR_ATTR_INTS;
    a->ints = copy;
    a->n = (size_t)count;
    return 0;
}

const pass_def *pass_list(int *count)
{
    *count = (int)(sizeof passes / sizeof passes[0]);
    return passes;
}

static int is_disabled(const char *list, const char *name)
{
    if (!list)
        return 0;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (len == 3 && strncmp(p, "all", 3) == 0)
            return 1;
        p += len + (e ? 1 : 0);
    }
    return 0;
}

int pass_run_all(ir_graph *g, const char *disabled, char *err, size_t cap)
{
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) {
        if (is_disabled(disabled, passes[i].name))
            continue;
        int rc = passes[i].run(g, err, cap);
        if (rc)
            return rc;
    }
    return NORMA_OK;
}
