/* In-memory ONNX model builder for tests (see modelbuild.h). Every allocation is
 * recorded in the model and released by mb_free; out of memory aborts the test. */
#include "modelbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

#define MB_MAX 256

struct mb_node {
    Onnx__NodeProto proto;
    Onnx__AttributeProto *attrs[32];
    mb_model *m;
};

struct mb_model {
    void **allocs;
    size_t n_allocs, cap_allocs;
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto *opsets[8];
    Onnx__NodeProto *nodes[MB_MAX];
    Onnx__TensorProto *inits[MB_MAX];
    Onnx__ValueInfoProto *inputs[MB_MAX];
    Onnx__ValueInfoProto *outputs[MB_MAX];
    Onnx__FunctionProto *functions[8];
};

static void *mb_alloc(mb_model *m, size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (!p)
        abort();
    if (m->n_allocs == m->cap_allocs) {
        m->cap_allocs = m->cap_allocs ? m->cap_allocs * 2 : 64;
        m->allocs = realloc(m->allocs, sizeof(void *) * m->cap_allocs);
        if (!m->allocs)
            abort();
    }
    m->allocs[m->n_allocs++] = p;
    return p;
}

static char *mb_strdup(mb_model *m, const char *s)
{
    char *p = mb_alloc(m, strlen(s) + 1);
    strcpy(p, s);
    return p;
}

mb_model *mb_new(int64_t opset)
{
    mb_model *m = calloc(1, sizeof(mb_model));
    if (!m)
        abort();
    onnx__model_proto__init(&m->model);
    onnx__graph_proto__init(&m->graph);
    m->model.has_ir_version = 1;
    m->model.ir_version = 8;
    m->model.producer_name = "norma-tests";
    m->model.graph = &m->graph;
    m->graph.name = "test";
    m->graph.node = m->nodes;
    m->graph.initializer = m->inits;
    m->graph.input = m->inputs;
    m->graph.output = m->outputs;
    m->model.opset_import = m->opsets;
    mb_opset(m, "", opset);
    return m;
}

void mb_opset(mb_model *m, const char *domain, int64_t version)
{
    Onnx__OperatorSetIdProto *o = mb_alloc(m, sizeof(*o));
    onnx__operator_set_id_proto__init(o);
    o->domain = mb_strdup(m, domain);
    o->has_version = 1;
    o->version = version;
    m->opsets[m->model.n_opset_import++] = o;
}

void mb_free(mb_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_allocs; i++)
        free(m->allocs[i]);
    free(m->allocs);
    free(m);
}

static Onnx__ValueInfoProto *value_info(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = mb_alloc(m, sizeof(*vi));
    onnx__value_info_proto__init(vi);
    vi->name = mb_strdup(m, name);
    if (dtype == 0)
        return vi;
    Onnx__TypeProto *tp = mb_alloc(m, sizeof(*tp));
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = mb_alloc(m, sizeof(*tt));
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = dtype;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sp = mb_alloc(m, sizeof(*sp));
        onnx__tensor_shape_proto__init(sp);
        sp->n_dim = (size_t)rank;
        sp->dim = mb_alloc(m, sizeof(void *) * (size_t)(rank ? rank : 1));
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = mb_alloc(m, sizeof(*d));
            onnx__tensor_shape_proto__dimension__init(d);
            if (dims[i] >= 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            } else {
                char buf[16];
                snprintf(buf, sizeof buf, "d%d", i);
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = mb_strdup(m, buf);
            }
            sp->dim[i] = d;
        }
        tt->shape = sp;
    }
    return vi;
}

void mb_input(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims)
{
    m->inputs[m->graph.n_input++] = value_info(m, name, dtype, rank, dims);
}

void mb_output(mb_model *m, const char *name)
{
    m->outputs[m->graph.n_output++] = value_info(m, name, 0, -1, NULL);
}

size_t mb_dtype_bytes(int dtype)
{
    switch (dtype) {
    case 1: case 6: case 12: return 4;
    case 7: case 11: case 13: case 14: return 8;
    case 4: case 5: case 10: case 16: return 2;
    case 15: return 16;
    default: return 1;
    }
}

void mb_init(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims, const void *data)
{
    Onnx__TensorProto *t = mb_alloc(m, sizeof(*t));
    onnx__tensor_proto__init(t);
    t->name = mb_strdup(m, name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = mb_alloc(m, sizeof(int64_t) * (size_t)(rank ? rank : 1));
    size_t n = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        n *= (size_t)dims[i];
    }
    t->has_raw_data = 1;
    t->raw_data.len = n * mb_dtype_bytes(dtype);
    t->raw_data.data = mb_alloc(m, t->raw_data.len);
    if (n)
        memcpy(t->raw_data.data, data, t->raw_data.len);
    m->inits[m->graph.n_initializer++] = t;
}

void mb_init_f32(mb_model *m, const char *name, int rank, const int64_t *dims, const float *data)
{
    mb_init(m, name, 1, rank, dims, data);
}

void mb_init_i64(mb_model *m, const char *name, int rank, const int64_t *dims, const int64_t *data)
{
    mb_init(m, name, 7, rank, dims, data);
}

static Onnx__TensorProto *tensor_header(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims,
                                        size_t *n)
{
    Onnx__TensorProto *t = mb_alloc(m, sizeof(*t));
    onnx__tensor_proto__init(t);
    t->name = mb_strdup(m, name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = mb_alloc(m, sizeof(int64_t) * (size_t)(rank ? rank : 1));
    *n = 1;
    for (int i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        *n *= (size_t)dims[i];
    }
    return t;
}

static Onnx__StringStringEntryProto *entry(mb_model *m, const char *k, const char *v)
{
    Onnx__StringStringEntryProto *e = mb_alloc(m, sizeof(*e));
    onnx__string_string_entry_proto__init(e);
    e->key = mb_strdup(m, k);
    e->value = mb_strdup(m, v);
    return e;
}

void mb_init_external(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims,
                      const char *location, long long offset, long long length)
{
    size_t n;
    Onnx__TensorProto *t = tensor_header(m, name, dtype, rank, dims, &n);
    char buf[32];
    t->external_data = mb_alloc(m, sizeof(void *) * 3);
    t->external_data[t->n_external_data++] = entry(m, "location", location);
    if (offset >= 0) {
        snprintf(buf, sizeof buf, "%lld", offset);
        t->external_data[t->n_external_data++] = entry(m, "offset", buf);
    }
    if (length >= 0) {
        snprintf(buf, sizeof buf, "%lld", length);
        t->external_data[t->n_external_data++] = entry(m, "length", buf);
    }
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    m->inits[m->graph.n_initializer++] = t;
}

static void fill_typed(mb_model *m, Onnx__TensorProto *t, int dtype, size_t n, const double *v)
{
    switch (dtype) {
    case 1:
        t->n_float_data = n;
        t->float_data = mb_alloc(m, sizeof(float) * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
            t->float_data[i] = (float)v[i];
        break;
    case 11:
        t->n_double_data = n;
        t->double_data = mb_alloc(m, sizeof(double) * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
            t->double_data[i] = v[i];
        break;
    case 7:
        t->n_int64_data = n;
        t->int64_data = mb_alloc(m, sizeof(int64_t) * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
            t->int64_data[i] = (int64_t)v[i];
        break;
    case 12: case 13:
        t->n_uint64_data = n;
        t->uint64_data = mb_alloc(m, sizeof(uint64_t) * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
            t->uint64_data[i] = (uint64_t)v[i];
        break;
    default: /* int32, int16, int8, uint16, uint8, bool, float16 (bits) */
        t->n_int32_data = n;
        t->int32_data = mb_alloc(m, sizeof(int32_t) * (n ? n : 1));
        for (size_t i = 0; i < n; i++)
            t->int32_data[i] = (int32_t)v[i];
        break;
    }
}

void mb_init_typed(mb_model *m, const char *name, int dtype, int rank, const int64_t *dims, const double *values)
{
    size_t n;
    Onnx__TensorProto *t = tensor_header(m, name, dtype, rank, dims, &n);
    fill_typed(m, t, dtype, n, values);
    m->inits[m->graph.n_initializer++] = t;
}

static size_t split_names(mb_model *m, const char *list, char ***out)
{
    size_t n = 0;
    char **names = mb_alloc(m, sizeof(char *) * 32);
    if (list && *list) {
        const char *p = list;
        for (;;) {
            const char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            char *s = mb_alloc(m, len + 1);
            memcpy(s, p, len);
            names[n++] = s;
            if (!e || n == 32)
                break;
            p = e + 1;
        }
    }
    *out = names;
    return n;
}

mb_node *mb_add_node(mb_model *m, const char *op, const char *inputs, const char *outputs)
{
    mb_node *n = mb_alloc(m, sizeof(*n));
    onnx__node_proto__init(&n->proto);
    n->m = m;
    char buf[64];
    snprintf(buf, sizeof buf, "%s_%zu", op, m->graph.n_node);
    n->proto.name = mb_strdup(m, buf);
    n->proto.op_type = mb_strdup(m, op);
    n->proto.domain = "";
    n->proto.n_input = split_names(m, inputs, &n->proto.input);
    n->proto.n_output = split_names(m, outputs, &n->proto.output);
    n->proto.attribute = n->attrs;
    m->nodes[m->graph.n_node++] = &n->proto;
    return n;
}

void mb_node_domain(mb_node *n, const char *domain)
{
    n->proto.domain = mb_strdup(n->m, domain);
}

static Onnx__AttributeProto *new_attr(mb_node *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = mb_alloc(n->m, sizeof(*a));
    onnx__attribute_proto__init(a);
    a->name = mb_strdup(n->m, name);
    a->has_type = 1;
    a->type = type;
    n->attrs[n->proto.n_attribute++] = a;
    return a;
}

void mb_attr_graph(mb_node *n, const char *name, mb_model *body)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = &body->graph;
}

void mb_attr_int(mb_node *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void mb_attr_float(mb_node *n, const char *name, float v)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void mb_attr_string(mb_node *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)mb_strdup(n->m, v);
}

void mb_attr_ints(mb_node *n, const char *name, int count, const int64_t *v)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)count;
    a->ints = mb_alloc(n->m, sizeof(int64_t) * (size_t)(count ? count : 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)count);
}

void mb_attr_floats(mb_node *n, const char *name, int count, const float *v)
{
    Onnx__AttributeProto *a = new_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = (size_t)count;
    a->floats = mb_alloc(n->m, sizeof(float) * (size_t)(count ? count : 1));
    memcpy(a->floats, v, sizeof(float) * (size_t)count);
}

void mb_constant_floats(mb_model *m, const char *output, const char *attr, int count, const float *v)
{
    mb_node *n = mb_add_node(m, "Constant", "", output);
    if (strcmp(attr, "value_float") == 0)
        mb_attr_float(n, attr, v[0]);
    else
        mb_attr_floats(n, attr, count, v);
}

void mb_constant_ints(mb_model *m, const char *output, const char *attr, int count, const int64_t *v)
{
    mb_node *n = mb_add_node(m, "Constant", "", output);
    if (strcmp(attr, "value_int") == 0)
        mb_attr_int(n, attr, v[0]);
    else
        mb_attr_ints(n, attr, count, v);
}

void mb_constant_tensor(mb_model *m, const char *output, int dtype, int rank, const int64_t *dims, const void *data)
{
    mb_node *n = mb_add_node(m, "Constant", "", output);
    Onnx__AttributeProto *a = new_attr(n, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    size_t cnt;
    Onnx__TensorProto *t = tensor_header(m, "", dtype, rank, dims, &cnt);
    t->has_raw_data = 1;
    t->raw_data.len = cnt * mb_dtype_bytes(dtype);
    t->raw_data.data = mb_alloc(m, t->raw_data.len);
    if (cnt)
        memcpy(t->raw_data.data, data, t->raw_data.len);
    a->t = t;
}

void mb_function(mb_model *m, const char *name, const char *inputs, const char *outputs, const char *op)
{
    Onnx__FunctionProto *f = mb_alloc(m, sizeof(*f));
    onnx__function_proto__init(f);
    f->name = mb_strdup(m, name);
    f->domain = "local";
    f->n_input = split_names(m, inputs, &f->input);
    f->n_output = split_names(m, outputs, &f->output);
    Onnx__NodeProto *np = mb_alloc(m, sizeof(*np));
    onnx__node_proto__init(np);
    np->op_type = mb_strdup(m, op);
    np->domain = "";
    np->name = mb_strdup(m, "body");
    np->n_input = split_names(m, inputs, &np->input);
    np->n_output = split_names(m, outputs, &np->output);
    f->node = mb_alloc(m, sizeof(void *));
    f->node[0] = np;
    f->n_node = 1;
    f->opset_import = m->opsets;
    f->n_opset_import = 1;
    m->functions[m->model.n_functions++] = f;
    m->model.functions = m->functions;
}

uint8_t *mb_serialize(mb_model *m, size_t *len)
{
    size_t n = onnx__model_proto__get_packed_size(&m->model);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        abort();
    onnx__model_proto__pack(&m->model, buf);
    *len = n;
    return buf;
}
