/*
 * ModelProto -> IR graph. Copies names and attributes, converts initializers and
 * Constant nodes into constant values, inlines model-local functions, and orders the
 * nodes topologically. Initializers that are also listed as graph inputs (older
 * exports list every weight as an input) are treated as constants: norma does not
 * let the caller override an initializer at run time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/store.h"
#include "loader/tensor_proto.h"
#include "loader/wire.h"

#define MAX_INLINE_DEPTH 16

typedef struct importer {
    ld_store *st;
    const Onnx__ModelProto *model;
    char *err;
    size_t cap;
    int inline_counter;
    const ir_graph *main; /* the model's graph (not a subgraph) */
    /* Name -> value index of one graph (the one imported last), open addressing with
     * slots holding index + 1. Values are only appended during import, so the index
     * catches up by adding the values made since (see find_value). */
    const ir_graph *idx_graph;
    int *idx_slots;
    size_t idx_cap; /* a power of two, or 0 */
    int idx_n;      /* values of idx_graph indexed so far */
} importer;

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

static int import_graph(importer *im, const Onnx__GraphProto *gp, ir_graph *g);

static int import_attr(importer *im, const Onnx__AttributeProto *ap, ir_attr *a, const ir_graph *parent)
{
    int rc = NORMA_ERR_MEMORY;
    a->name = dup_or_empty(ap->name);
    if (!a->name)
        return rc;
    a->type = (ir_attr_type)ap->type;
    /* Old producers omit the type; infer it from which field is set. */
    if (!ap->has_type || ap->type == 0) {
        if (ap->has_f) a->type = IR_ATTR_FLOAT;
        else if (ap->has_i) a->type = IR_ATTR_INT;
        else if (ap->has_s) a->type = IR_ATTR_STRING;
        else if (ap->t) a->type = IR_ATTR_TENSOR;
        else if (ap->g) a->type = IR_ATTR_GRAPH;
        else if (ap->n_floats) a->type = IR_ATTR_FLOATS;
        else if (ap->n_ints) a->type = IR_ATTR_INTS;
        else if (ap->n_strings) a->type = IR_ATTR_STRINGS;
        else if (ap->n_tensors) a->type = IR_ATTR_TENSORS;
        else if (ap->n_graphs) a->type = IR_ATTR_GRAPHS;
    }
    switch (a->type) {
    case IR_ATTR_FLOAT: a->f = ap->f; break;
    case IR_ATTR_INT: a->i = ap->i; break;
    case IR_ATTR_STRING:
        a->s = malloc(ap->s.len + 1);
        if (!a->s)
            return rc;
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = 0;
        a->s_len = ap->s.len;
        break;
    case IR_ATTR_TENSOR:
        if (!ap->t) {
            snprintf(im->err, im->cap, "attribute '%s' of type TENSOR holds no tensor", a->name);
            return NORMA_ERR_MODEL;
        }
        return ld_tensor_from_proto(ap->t, im->st, &a->t, im->err, im->cap);
    case IR_ATTR_GRAPH:
        if (!ap->g) {
            snprintf(im->err, im->cap, "attribute '%s' of type GRAPH holds no graph", a->name);
            return NORMA_ERR_MODEL;
        }
        a->g = ir_graph_new();
        im->idx_graph = NULL; /* a new graph may reuse a freed one's address */
        if (!a->g)
            return rc;
        a->g->parent = (ir_graph *)parent;
        return import_graph(im, ap->g, a->g);
    case IR_ATTR_FLOATS:
        a->n = ap->n_floats;
        a->floats = malloc(sizeof(float) * (a->n ? a->n : 1));
        if (!a->floats)
            return rc;
        if (a->n)
            memcpy(a->floats, ap->floats, sizeof(float) * a->n);
        break;
    case IR_ATTR_INTS:
        a->n = ap->n_ints;
        a->ints = malloc(sizeof(int64_t) * (a->n ? a->n : 1));
        if (!a->ints)
            return rc;
        if (a->n)
            memcpy(a->ints, ap->ints, sizeof(int64_t) * a->n);
        break;
    case IR_ATTR_STRINGS:
        a->strings = calloc(ap->n_strings ? ap->n_strings : 1, sizeof(char *));
        if (!a->strings)
            return rc;
        a->n = ap->n_strings;
        for (size_t i = 0; i < a->n; i++) {
            a->strings[i] = malloc(ap->strings[i].len + 1);
            if (!a->strings[i])
                return rc;
            if (ap->strings[i].len)
                memcpy(a->strings[i], ap->strings[i].data, ap->strings[i].len);
            a->strings[i][ap->strings[i].len] = 0;
        }
        break;
    case IR_ATTR_TENSORS:
        a->tensors = calloc(ap->n_tensors ? ap->n_tensors : 1, sizeof(ir_tensor *));
        if (!a->tensors)
            return rc;
        a->n = ap->n_tensors;
        for (size_t i = 0; i < a->n; i++) {
            int r = ld_tensor_from_proto(ap->tensors[i], im->st, &a->tensors[i], im->err, im->cap);
            if (r)
                return r;
        }
        break;
    case IR_ATTR_GRAPHS:
        a->graphs = calloc(ap->n_graphs ? ap->n_graphs : 1, sizeof(ir_graph *));
        if (!a->graphs)
            return rc;
        a->n = ap->n_graphs;
        for (size_t i = 0; i < a->n; i++) {
            a->graphs[i] = ir_graph_new();
            im->idx_graph = NULL;
            if (!a->graphs[i])
                return rc;
            a->graphs[i]->parent = (ir_graph *)parent;
            int r = import_graph(im, ap->graphs[i], a->graphs[i]);
            if (r)
                return r;
        }
        break;
    case IR_ATTR_TYPE_PROTO: /* Optional's 'type': norma takes types from values */
    case IR_ATTR_TYPE_PROTOS:
        a->type = IR_ATTR_UNDEFINED;
        break;
    default:
        snprintf(im->err, im->cap, "attribute '%s' has unsupported type %d", a->name, (int)ap->type);
        return NORMA_ERR_UNSUPPORTED;
    }
    return NORMA_OK;
}

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static void index_insert(importer *im, const ir_graph *g, int v)
{
    size_t mask = im->idx_cap - 1;
    for (size_t i = name_hash(g->values[v].name) & mask;; i = (i + 1) & mask)
        if (!im->idx_slots[i]) {
            im->idx_slots[i] = v + 1;
            return;
        }
}

static int find_indexed(const importer *im, const ir_graph *g, const char *name)
{
    size_t mask = im->idx_cap - 1;
    for (size_t i = name_hash(name) & mask; im->idx_slots[i]; i = (i + 1) & mask)
        if (strcmp(g->values[im->idx_slots[i] - 1].name, name) == 0)
            return im->idx_slots[i] - 1;
    return -1;
}

/* ir_find_value through the importer's hash index: the same answer (the first value of
 * that name) without scanning every value, which made import quadratic in the graph's
 * size. Falls back to the scan when the index cannot be grown. */
static int find_value(importer *im, const ir_graph *g, const char *name)
{
    if (im->idx_graph != g || im->idx_n > g->n_values) {
        im->idx_graph = g;
        im->idx_n = 0;
        if (im->idx_slots)
            memset(im->idx_slots, 0, sizeof(int) * im->idx_cap);
    }
    if ((size_t)g->n_values * 2 >= im->idx_cap) {
        size_t cap = im->idx_cap ? im->idx_cap : 256;
        while ((size_t)g->n_values * 2 >= cap)
            cap *= 2;
        int *slots = calloc(cap, sizeof(int));
        if (!slots)
            return ir_find_value(g, name);
        free(im->idx_slots);
        im->idx_slots = slots;
        im->idx_cap = cap;
        im->idx_n = 0;
    }
    for (; im->idx_n < g->n_values; im->idx_n++)
        if (find_indexed(im, g, g->values[im->idx_n].name) < 0)
            index_insert(im, g, im->idx_n);
    return find_indexed(im, g, name);
}

/* Finds the value called name, creating it (undefined, to be produced later) if new. */
static int value_ref(importer *im, ir_graph *g, const char *name)
{
    int v = find_value(im, g, name);
    return v >= 0 ? v : ir_add_value(g, name);
}

/* Constant node -> constant value (value, value_float(s), value_int(s)). */
static int import_constant(importer *im, ir_graph *g, const Onnx__NodeProto *np)
{
    const char *nname = np->name && np->name[0] ? np->name : "";
    if (np->n_output != 1 || np->n_attribute != 1) {
        snprintf(im->err, im->cap, "Constant '%s': needs one output and exactly one value attribute", nname);
        return NORMA_ERR_MODEL;
    }
    const Onnx__AttributeProto *ap = np->attribute[0];
    ir_tensor *t = NULL;
    int64_t one = 1;
    const char *an = ap->name ? ap->name : "";
    if (strcmp(an, "value") == 0 && ap->t) {
        int rc = ld_tensor_from_proto(ap->t, im->st, &t, im->err, im->cap);
        if (rc)
            return rc;
    } else if (strcmp(an, "value_float") == 0) {
        if (!(t = ir_tensor_new(NORMA_FLOAT, 0, NULL)))
            return NORMA_ERR_MEMORY;
        *(float *)t->data = ap->f;
    } else if (strcmp(an, "value_int") == 0) {
        if (!(t = ir_tensor_new(NORMA_INT64, 0, NULL)))
            return NORMA_ERR_MEMORY;
        *(int64_t *)t->data = ap->i;
    } else if (strcmp(an, "value_floats") == 0) {
        int64_t n = (int64_t)ap->n_floats;
        if (!(t = ir_tensor_new(NORMA_FLOAT, 1, &n)))
            return NORMA_ERR_MEMORY;
        if (n)
            memcpy(t->data, ap->floats, sizeof(float) * (size_t)n);
    } else if (strcmp(an, "value_ints") == 0) {
        int64_t n = (int64_t)ap->n_ints;
        if (!(t = ir_tensor_new(NORMA_INT64, 1, &n)))
            return NORMA_ERR_MEMORY;
        if (n)
            memcpy(t->data, ap->ints, sizeof(int64_t) * (size_t)n);
    } else {
        (void)one;
        snprintf(im->err, im->cap, "Constant '%s': attribute '%s' is not supported", nname, an);
        return NORMA_ERR_UNSUPPORTED;
    }
    int v = value_ref(im, g, np->output[0]);
    if (v < 0) {
        ir_tensor_free(t);
        return NORMA_ERR_MEMORY;
    }
    if (g->values[v].constant || g->values[v].is_input) {
        ir_tensor_free(t);
        snprintf(im->err, im->cap, "value '%s' is defined twice", np->output[0]);
        return NORMA_ERR_MODEL;
    }
    g->values[v].constant = t;
    return NORMA_OK;
}

static const Onnx__FunctionProto *find_function(const importer *im, const Onnx__NodeProto *np)
{
    const Onnx__ModelProto *m = im->model;
    const char *dom = np->domain ? np->domain : "";
    for (size_t i = 0; m && i < m->n_functions; i++) {
        const Onnx__FunctionProto *f = m->functions[i];
        if (f->name && np->op_type && strcmp(f->name, np->op_type) == 0 &&
            strcmp(f->domain ? f->domain : "", dom) == 0)
            return f;
    }
    return NULL;
}

typedef struct rename_map {
    const char **from;
    char **to;
    size_t n;
} rename_map;

static const char *map_name(const rename_map *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->from[i], name) == 0)
            return m->to[i];
    return NULL;
}

static int import_node(importer *im, ir_graph *g, const Onnx__NodeProto *np, int depth,
                       const rename_map *rn, const Onnx__NodeProto *call);

/* Expands a call to a model-local function: the function's formal inputs and outputs
 * become the call's actual values, its internal values get a unique prefix, and
 * attribute references (ref_attr_name) take the call's attribute values. */
static int inline_function(importer *im, ir_graph *g, const Onnx__NodeProto *call,
                           const Onnx__FunctionProto *f, int depth)
{
    if (depth >= MAX_INLINE_DEPTH) {
        snprintf(im->err, im->cap, "function '%s' nests deeper than %d calls", f->name, MAX_INLINE_DEPTH);
        return NORMA_ERR_MODEL;
    }
    int rc = NORMA_ERR_MEMORY;
    size_t cap = f->n_input + f->n_output;
    for (size_t i = 0; i < f->n_node; i++)
        cap += f->node[i]->n_output;
    rename_map rn = {calloc(cap ? cap : 1, sizeof(char *)), calloc(cap ? cap : 1, sizeof(char *)), 0};
    if (!rn.from || !rn.to)
        goto out;
    int id = im->inline_counter++;
    for (size_t i = 0; i < f->n_input; i++) {
        rn.from[rn.n] = f->input[i];
        rn.to[rn.n] = strdup(i < call->n_input ? call->input[i] : "");
        if (!rn.to[rn.n++])
            goto out;
    }
    for (size_t i = 0; i < f->n_output; i++) {
        rn.from[rn.n] = f->output[i];
        rn.to[rn.n] = strdup(i < call->n_output ? call->output[i] : "");
        if (!rn.to[rn.n++])
            goto out;
    }
    for (size_t i = 0; i < f->n_node; i++)
        for (size_t k = 0; k < f->node[i]->n_output; k++) {
            const char *o = f->node[i]->output[k];
            if (!o[0] || map_name(&rn, o))
                continue;
            char buf[512];
            snprintf(buf, sizeof buf, "%s/%s#%d/%s", call->name ? call->name : "", f->name, id, o);
            rn.from[rn.n] = o;
            rn.to[rn.n] = strdup(buf);
            if (!rn.to[rn.n++])
                goto out;
        }
    for (size_t i = 0; i < f->n_node; i++) {
        rc = import_node(im, g, f->node[i], depth + 1, &rn, call);
        if (rc)
            goto out;
    }
    rc = NORMA_OK;
out:
    if (rn.to)
        for (size_t i = 0; i < rn.n; i++)
            free(rn.to[i]);
    free(rn.from);
    free(rn.to);
    return rc;
}

/* Imports one node. rn (may be NULL) renames values inside an inlined function, and
 * call supplies the attributes that the function's nodes reference. */
static int import_node(importer *im, ir_graph *g, const Onnx__NodeProto *np, int depth,
                       const rename_map *rn, const Onnx__NodeProto *call)
{
    const char *op = np->op_type ? np->op_type : "";
    const char *dom = np->domain ? np->domain : "";
    const Onnx__FunctionProto *f = find_function(im, np);
    /* Rename inputs/outputs if inside a function body. */
    Onnx__NodeProto copy = *np;
    char **ins = NULL, **outs = NULL;
    if (rn) {
        ins = calloc(np->n_input ? np->n_input : 1, sizeof(char *));
        outs = calloc(np->n_output ? np->n_output : 1, sizeof(char *));
        if (!ins || !outs) {
            free(ins);
            free(outs);
            return NORMA_ERR_MEMORY;
        }
        for (size_t i = 0; i < np->n_input; i++) {
            const char *m = map_name(rn, np->input[i]);
            ins[i] = (char *)(m ? m : np->input[i]);
        }
        for (size_t i = 0; i < np->n_output; i++) {
            const char *m = map_name(rn, np->output[i]);
            outs[i] = (char *)(m ? m : np->output[i]);
        }
        copy.input = ins;
        copy.output = outs;
        np = &copy;
    }
    int rc;
    if (f) {
        rc = inline_function(im, g, np, f, depth);
        goto done;
    }
    int is_const = strcmp(op, "Constant") == 0 && (dom[0] == 0 || strcmp(dom, "ai.onnx") == 0);
    /* A Constant whose value references a function attribute is handled like any node
     * with attribute substitution below, so only plain constants take this path. */
    if (is_const && np->n_attribute == 1 && !(np->attribute[0]->ref_attr_name && np->attribute[0]->ref_attr_name[0])) {
        rc = import_constant(im, g, np);
        goto done;
    }
    int ni = ir_add_node(g, op, dom, np->name ? np->name : "", (int)np->n_input, (int)np->n_output);
    rc = NORMA_ERR_MEMORY;
    if (ni < 0)
        goto done;
    ir_node *n = &g->nodes[ni];
    if (!n->name[0]) { /* unnamed nodes get a name for error messages */
        char buf[64];
        snprintf(buf, sizeof buf, "%s_%d", op, ni);
        free(n->name);
        if (!(n->name = strdup(buf)))
            goto done;
    }
    for (size_t i = 0; i < np->n_input; i++) {
        if (!np->input[i][0])
            continue;
        int v = value_ref(im, g, np->input[i]);
        if (v < 0)
            goto done;
        g->nodes[ni].in[i] = v;
    }
    for (size_t i = 0; i < np->n_output; i++) {
        if (!np->output[i][0])
            continue;
        int v = value_ref(im, g, np->output[i]);
        if (v < 0)
            goto done;
        g->nodes[ni].out[i] = v;
    }
    n = &g->nodes[ni];
    n->attrs = calloc(np->n_attribute ? np->n_attribute : 1, sizeof(ir_attr));
    if (!n->attrs)
        goto done;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        if (ap->ref_attr_name && ap->ref_attr_name[0]) {
            const Onnx__AttributeProto *src = NULL;
            for (size_t k = 0; call && k < call->n_attribute; k++)
                if (strcmp(call->attribute[k]->name, ap->ref_attr_name) == 0)
                    src = call->attribute[k];
            if (!src)
                continue; /* not given at the call: the op's default applies */
            Onnx__AttributeProto renamed = *src;
            renamed.name = ap->name;
            rc = import_attr(im, &renamed, &g->nodes[ni].attrs[g->nodes[ni].n_attrs++], g);
        } else {
            rc = import_attr(im, ap, &g->nodes[ni].attrs[g->nodes[ni].n_attrs++], g);
        }
        if (rc) {
            if (rc == NORMA_ERR_MEMORY)
                snprintf(im->err, im->cap, "out of memory");
            goto done;
        }
    }
    n = &g->nodes[ni];
    n->opset = (int)ir_opset_version(g, n->domain);
    rc = NORMA_OK;
    if (is_const) {
        /* Constant with a referenced attribute: convert now that it is resolved. */
        n->dead = 1;
        const ir_attr *a = n->n_attrs ? &n->attrs[0] : NULL;
        ir_tensor *t = NULL;
        if (a && a->type == IR_ATTR_TENSOR) t = ir_tensor_clone(a->t);
        else if (a && a->type == IR_ATTR_FLOAT && (t = ir_tensor_new(NORMA_FLOAT, 0, NULL))) *(float *)t->data = a->f;
        else if (a && a->type == IR_ATTR_INT && (t = ir_tensor_new(NORMA_INT64, 0, NULL))) *(int64_t *)t->data = a->i;
        if (!t || n->out[0] < 0) {
            ir_tensor_free(t);
            snprintf(im->err, im->cap, "Constant '%s': unsupported value attribute", n->name);
            rc = NORMA_ERR_UNSUPPORTED;
            goto done;
        }
        g->values[n->out[0]].constant = t;
    }
done:
    free(ins);
    free(outs);
    return rc;
}

static int import_value_info(importer *im, ir_value *v, const Onnx__ValueInfoProto *vi, const char *what)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp)
        return NORMA_OK;
    if (tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE && tp->optional_type &&
        tp->optional_type->elem_type) {
        v->optional = 1;
        tp = tp->optional_type->elem_type;
    }
    if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && tp->sequence_type &&
        tp->sequence_type->elem_type &&
        tp->sequence_type->elem_type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        v->dtype = IR_DTYPE_SEQUENCE; /* of tensors */
        v->rank = -1;
        return NORMA_OK;
    }
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        snprintf(im->err, im->cap, "%s '%s' is not a tensor, a sequence of tensors or an optional of either "
                 "(maps and sparse tensors are not supported)", what, v->name);
        return NORMA_ERR_UNSUPPORTED;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt)
        return NORMA_OK;
    if (tt->has_elem_type)
        v->dtype = tt->elem_type;
    if (tt->shape) {
        if (tt->shape->n_dim > IR_MAX_RANK) {
            snprintf(im->err, im->cap, "%s '%s' has rank %zu, above norma's maximum of %d", what, v->name,
                     tt->shape->n_dim, IR_MAX_RANK);
            return NORMA_ERR_UNSUPPORTED;
        }
        v->rank = (int)tt->shape->n_dim;
        for (size_t i = 0; i < tt->shape->n_dim; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            v->dims[i] = -1;
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0)
                v->dims[i] = d->dim_value;
            else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param) {
                v->dim_names[i] = strdup(d->dim_param);
                if (!v->dim_names[i])
                    return NORMA_ERR_MEMORY;
            }
        }
    }
    return NORMA_OK;
}

static int import_graph(importer *im, const Onnx__GraphProto *gp, ir_graph *g)
{
    int rc = NORMA_ERR_MEMORY;
    g->name = dup_or_empty(gp->name);
    if (!g->name)
        return rc;
    if (gp->n_sparse_initializer) {
        snprintf(im->err, im->cap, "graph '%s': sparse initializers are not supported", g->name);
        return NORMA_ERR_UNSUPPORTED;
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        if (find_value(im, g, name) >= 0) {
            snprintf(im->err, im->cap, "initializer '%s' is defined twice", name);
            return NORMA_ERR_MODEL;
        }
        int v = ir_add_value(g, name);
        if (v < 0)
            return rc;
        int r = ld_tensor_from_proto(tp, im->st, &g->values[v].constant, im->err, im->cap);
        if (r)
            return r;
        /* The main graph's initializers are imported once each, so data borrowed from
         * the unpack arena (not an external read-only mapping) is theirs alone. */
        ir_tensor *ct = g->values[v].constant;
        ct->mutable_data = g == im->main && !ct->owns_data && ct->data &&
                           !(tp->has_data_location &&
                             tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL);
        g->values[v].dtype = g->values[v].constant->dtype;
    }
    g->inputs = malloc(sizeof(int) * (gp->n_input ? gp->n_input : 1));
    g->outputs = malloc(sizeof(int) * (gp->n_output ? gp->n_output : 1));
    if (!g->inputs || !g->outputs)
        return rc;
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *name = gp->input[i]->name ? gp->input[i]->name : "";
        int v = find_value(im, g, name);
        if (v >= 0 && g->values[v].constant)
            continue; /* initializer listed as input: a constant */
        if (v >= 0) {
            snprintf(im->err, im->cap, "graph input '%s' is listed twice", name);
            return NORMA_ERR_MODEL;
        }
        v = ir_add_value(g, name);
        if (v < 0)
            return rc;
        g->values[v].is_input = 1;
        int r = import_value_info(im, &g->values[v], gp->input[i], "input");
        if (r)
            return r;
        g->inputs[g->n_inputs++] = v;
    }
    for (size_t i = 0; i < gp->n_node; i++) {
        int r = import_node(im, g, gp->node[i], 0, NULL, NULL);
        if (r)
            return r;
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        int v = value_ref(im, g, name);
        if (v < 0)
            return rc;
        ir_value tmp = g->values[v];
        /* tmp's dim names are its own (freed or moved below), never the value's */
        memset(tmp.dim_names, 0, sizeof tmp.dim_names);
        int r = import_value_info(im, &tmp, gp->output[i], "output");
        /* declared output types are informative; keep the dtype and names only */
        g->values[v].dtype = g->values[v].dtype ? g->values[v].dtype : tmp.dtype;
        g->values[v].optional |= tmp.optional;
        if (g->values[v].rank < 0 && !g->values[v].is_input) { /* declared shape, for info */
            g->values[v].rank = tmp.rank;
            memcpy(g->values[v].dims, tmp.dims, sizeof tmp.dims);
        }
        for (int k = 0; k < IR_MAX_RANK; k++)
            if (!g->values[v].dim_names[k])
                g->values[v].dim_names[k] = tmp.dim_names[k];
            else
                free(tmp.dim_names[k]);
        if (r)
            return r;
        g->values[v].is_output = 1;
        g->outputs[g->n_outputs++] = v;
    }
    /* Drop nodes that were resolved to constants during import. */
    int any_dead = 0;
    for (int i = 0; i < g->n_nodes; i++)
        any_dead |= g->nodes[i].dead;
    if (any_dead && ir_graph_compact(g))
        return NORMA_ERR_MEMORY;
    if (ir_bind_outer_scope(g))
        return NORMA_ERR_MEMORY;
    return ir_graph_toposort(g, im->err, im->cap);
}

static int import_model(importer *im, const Onnx__ModelProto *m, ir_graph **out)
{
    ir_graph *g = ir_graph_new();
    if (!g)
        return NORMA_ERR_MEMORY;
    int rc = NORMA_ERR_MEMORY;
    g->ir_version = m->ir_version;
    g->model_version = m->model_version;
    if (!(g->producer_name = dup_or_empty(m->producer_name)) ||
        !(g->producer_version = dup_or_empty(m->producer_version)) ||
        !(g->domain = dup_or_empty(m->domain)) || !(g->doc = dup_or_empty(m->doc_string)))
        goto fail;
    g->opsets = calloc(m->n_opset_import ? m->n_opset_import : 1, sizeof(ir_opset));
    if (!g->opsets)
        goto fail;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        g->opsets[i].domain = dup_or_empty(m->opset_import[i]->domain);
        if (!g->opsets[i].domain)
            goto fail;
        g->opsets[i].version = m->opset_import[i]->version;
        g->n_opsets++;
    }
    if (m->n_opset_import == 0) { /* IR version 1/2 models: opset 1 implied */
        g->opsets[0].domain = strdup("");
        if (!g->opsets[0].domain)
            goto fail;
        g->opsets[0].version = 1;
        g->n_opsets = 1;
    }
    if (!m->graph) {
        snprintf(im->err, im->cap, "the model has no graph");
        rc = NORMA_ERR_MODEL;
        goto fail;
    }
    im->main = g;
    rc = import_graph(im, m->graph, g);
    if (rc)
        goto fail;
    *out = g;
    return NORMA_OK;
fail:
    if (rc == NORMA_ERR_MEMORY && !im->err[0])
        snprintf(im->err, im->cap, "out of memory while importing the model");
    ir_graph_free(g);
    return rc;
}

/* Unpacks the model bytes in buf, a block of store st (which takes them over: the big
 * weights stay there), and imports them. On failure frees st. */
static int load_store_bytes(ld_store *st, unsigned char *buf, size_t size, const char *what, ir_graph **graph,
                            ld_store **store, char *err, size_t cap)
{
    ProtobufCAllocator alloc = ld_store_allocator(st);
    Onnx__ModelProto *m = ld_unpack_model(buf, size, &alloc, NULL);
    if (!m) {
        ld_store_free(st);
        snprintf(err, cap, "%s is not a valid ONNX model (protobuf parse failed on %zu bytes)", what, size);
        return NORMA_ERR_PARSE;
    }
    importer im = {st, m, err, cap, 0, NULL, NULL, NULL, 0, 0};
    int rc = import_model(&im, m, graph);
    free(im.idx_slots);
    /* m lives in the arena: nothing to free separately, and nothing refers to it now */
    if (rc) {
        ld_store_free(st);
        return rc;
    }
    *store = st;
    return NORMA_OK;
}

/* A store for a model of `size` bytes in directory dir (NULL: none) and a block of it
 * for the bytes; NULL (err filled) on failure. */
static ld_store *store_for(size_t size, const char *dir, unsigned char **buf, int *rc, char *err, size_t cap)
{
    ld_store *st = ld_store_new(size + size / 8 + (1u << 20), dir);
    if (!st) {
        if (dir)
            snprintf(err, cap, "cannot open the model's directory '%s'", dir);
        else
            snprintf(err, cap, "out of memory");
        *rc = dir ? NORMA_ERR_IO : NORMA_ERR_MEMORY;
        return NULL;
    }
    *buf = ld_store_alloc(st, size ? size : 1);
    if (!*buf) {
        ld_store_free(st);
        *rc = NORMA_ERR_MEMORY;
        snprintf(err, cap, "out of memory for a model of %zu bytes", size);
        return NULL;
    }
    return st;
}

/*
 * The model's bytes go into fresh memory (the store's block), and on the virtual
 * machines norma is measured on, the first write to fresh memory is most of the cost
 * of a load: 1.5 to 2.5 ms per MB when the host has taken the pages back (a few
 * seconds after another process freed them), against 0.1 to 0.3 when it has not. The
 * cost is the host's, per page, and two threads writing two halves pay it in parallel
 * (324 MB read cold: 500 to 690 ms with one thread, 300 to 400 with two). So with
 * threads > 1 (the session's thread count) a model of LOAD_SPLIT_MIN bytes or more is
 * copied or read in one contiguous range per thread, cut at 2 MB boundaries (whole
 * huge pages to each thread).
 */
#define LOAD_SPLIT_MIN ((size_t)16 << 20)
#define LOAD_SPLIT_ALIGN ((uintptr_t)2 << 20)

/* How many threads fill size bytes, and where thread t's range starts (t <= n). */
static int fill_threads(size_t size, int threads)
{
    if (threads < 2 || size < LOAD_SPLIT_MIN)
        return 1;
    size_t most = size / (LOAD_SPLIT_MIN / 2);
    return (size_t)threads < most ? threads : (int)most;
}

static size_t fill_start(const unsigned char *buf, size_t size, int t, int n)
{
    if (t == 0)
        return 0;
    if (t == n)
        return size;
    uintptr_t at = (uintptr_t)buf + size / (size_t)n * (size_t)t;
    at = (at + LOAD_SPLIT_ALIGN - 1) & ~(LOAD_SPLIT_ALIGN - 1);
    size_t off = (size_t)(at - (uintptr_t)buf);
    return off < size ? off : size;
}

/* Reads [lo, hi) of the file at fd into buf + lo; 0, or errno (-1: the file ended). */
static int read_range(int fd, unsigned char *buf, size_t lo, size_t hi)
{
    while (lo < hi) {
        ssize_t r = pread(fd, buf + lo, hi - lo, (off_t)lo);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno ? errno : EIO;
        if (r == 0)
            return -1;
        lo += (size_t)r;
    }
    return 0;
}

/* Fills buf[0, size) from data (fd < 0) or from the file at fd; 0, or as read_range. */
static int fill_bytes(unsigned char *buf, size_t size, const void *data, int fd, int threads)
{
    int n = fill_threads(size, threads), failed = 0;
#pragma omp parallel for schedule(static, 1) num_threads(n) if (n > 1)
    for (int t = 0; t < n; t++) {
        size_t lo = fill_start(buf, size, t, n), hi = fill_start(buf, size, t + 1, n);
        int rc = 0;
        if (fd < 0)
            memcpy(buf + lo, (const unsigned char *)data + lo, hi - lo);
        else
            rc = read_range(fd, buf, lo, hi);
        if (rc) {
#pragma omp critical(norma_fill_bytes)
            if (!failed || rc > 0) /* an error number says more than "ended early" */
                failed = rc;
        }
    }
    return failed;
}

int ld_load_memory(const void *data, size_t size, int threads, ir_graph **graph, ld_store **store, char *err,
                   size_t cap)
{
    *graph = NULL;
    *store = NULL;
    err[0] = 0;
    unsigned char *buf;
    int rc;
    ld_store *st = store_for(size, NULL, &buf, &rc, err, cap);
    if (!st)
        return rc;
    if (size) /* the caller's bytes may go away: the weights are read from here */
        fill_bytes(buf, size, data, -1, threads);
    return load_store_bytes(st, buf, size, "the buffer", graph, store, err, cap);
}

/* The file is read (not mapped) into the store: on the virtual machines norma is
 * measured on, a first touch of each 4K page of a file mapping costs more than the
 * copy read() makes into memory that the weights then keep. */
int ld_load_file(const char *path, int threads, ir_graph **graph, ld_store **store, char *err, size_t cap)
{
    *graph = NULL;
    *store = NULL;
    err[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, cap, "cannot open model '%s'", path);
        if (fd >= 0)
            close(fd);
        return NORMA_ERR_IO;
    }
    size_t size = (size_t)sb.st_size;
    char *dir = strdup(path);
    if (!dir) {
        close(fd);
        return NORMA_ERR_MEMORY;
    }
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = 0;
    else if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    unsigned char *buf;
    int rc;
    ld_store *st = store_for(size, dir, &buf, &rc, err, cap);
    free(dir);
    if (!st) {
        close(fd);
        return rc;
    }
    int read_err = fill_bytes(buf, size, NULL, fd, threads);
    close(fd);
    if (read_err) {
        ld_store_free(st);
        snprintf(err, cap, "cannot read model '%s': %s", path,
                 read_err > 0 ? strerror(read_err) : "the file ended early (it changed while being read)");
        return NORMA_ERR_IO;
    }
    char what[600];
    snprintf(what, sizeof what, "'%.500s'", path);
    return load_store_bytes(st, buf, size, what, graph, store, err, cap);
}
