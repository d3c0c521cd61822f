/*
 * Graph test helpers (see graph_builder.h): building IR graphs, serializing them to
 * ModelProto bytes, and interpreting them node by node with reference loops for
 * Conv/ConvTranspose/Gemm/MatMul.
 */
#include "graph_builder.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/act.h"
#include "norma.h"
#include "onnx.pb-c.h"
#include "testutil.h"

ir_graph *gb_graph(int64_t opset)
{
    ir_graph *g = ir_graph_new();
    g->opsets = calloc(1, sizeof(ir_opset));
    g->opsets[0].domain = strdup("");
    g->opsets[0].version = opset;
    g->n_opsets = 1;
    g->ir_version = 8;
    return g;
}

int gb_value(ir_graph *g, const char *name)
{
    int v = ir_find_value(g, name);
    return v >= 0 ? v : ir_add_value(g, name);
}

int gb_input(ir_graph *g, const char *name, int rank, const int64_t *dims)
{
    int v = gb_value(g, name);
    ir_value *val = &g->values[v];
    val->is_input = 1;
    val->dtype = NORMA_FLOAT;
    val->rank = rank;
    memcpy(val->dims, dims, sizeof(int64_t) * (size_t)rank);
    g->inputs = realloc(g->inputs, sizeof(int) * (size_t)(g->n_inputs + 1));
    g->inputs[g->n_inputs++] = v;
    return v;
}

int gb_const(ir_graph *g, const char *name, int rank, const int64_t *dims,
                           const float *data, float lo, float hi)
{
    int v = gb_value(g, name);
    ir_tensor *t = ir_tensor_new(NORMA_FLOAT, rank, dims);
    size_t n = ir_tensor_numel(t);
    float *d = t->data;
    for (size_t i = 0; i < n; i++)
        d[i] = data ? data[i] : tu_uniform(lo, hi);
    ir_value *val = &g->values[v];
    val->constant = t;
    val->dtype = NORMA_FLOAT;
    val->rank = rank;
    memcpy(val->dims, dims, sizeof(int64_t) * (size_t)rank);
    return v;
}

void gb_output(ir_graph *g, const char *name)
{
    int v = gb_value(g, name);
    g->values[v].is_output = 1;
    if (!g->values[v].dtype)
        g->values[v].dtype = NORMA_FLOAT;
    g->outputs = realloc(g->outputs, sizeof(int) * (size_t)(g->n_outputs + 1));
    g->outputs[g->n_outputs++] = v;
}

int gb_node(ir_graph *g, const char *op, const char *name, int n_in, const char *const *ins,
                          int n_out, const char *const *outs)
{
    int i = ir_add_node(g, op, "", name, n_in, n_out);
    for (int k = 0; k < n_in; k++)
        g->nodes[i].in[k] = ins[k][0] ? gb_value(g, ins[k]) : -1;
    for (int k = 0; k < n_out; k++)
        g->nodes[i].out[k] = outs[k][0] ? gb_value(g, outs[k]) : -1;
    g->nodes[i].opset = (int)g->opsets[0].version;
    return i;
}

ir_attr *gb_attr(ir_graph *g, int node, const char *name, ir_attr_type type)
{
    ir_node *n = &g->nodes[node];
    n->attrs = realloc(n->attrs, sizeof(ir_attr) * (size_t)(n->n_attrs + 1));
    ir_attr *a = &n->attrs[n->n_attrs++];
    memset(a, 0, sizeof(*a));
    a->name = strdup(name);
    a->type = type;
    return a;
}

void gb_attr_i(ir_graph *g, int node, const char *name, int64_t v)
{
    gb_attr(g, node, name, IR_ATTR_INT)->i = v;
}

void gb_attr_f(ir_graph *g, int node, const char *name, float v)
{
    gb_attr(g, node, name, IR_ATTR_FLOAT)->f = v;
}

int gb_count(const ir_graph *g, const char *op)
{
    int c = 0;
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && strcmp(g->nodes[i].op_type, op) == 0)
            c++;
    return c;
}

const ir_node *gb_find(const ir_graph *g, const char *op)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && strcmp(g->nodes[i].op_type, op) == 0)
            return &g->nodes[i];
    return NULL;
}

int gb_producers_consistent(const ir_graph *g)
{
    for (int v = 0; v < g->n_values; v++) {
        int p = -1;
        for (int i = 0; i < g->n_nodes; i++)
            for (int k = 0; k < g->nodes[i].n_out; k++)
                if (!g->nodes[i].dead && g->nodes[i].out[k] == v)
                    p = i;
        if (g->values[v].producer != p)
            return 0;
    }
    return 1;
}

/* ---- serialization to ModelProto bytes (float tensors and INT/FLOAT attrs) ---- */

static Onnx__ValueInfoProto *gb_vi(const ir_value *v)
{
    Onnx__ValueInfoProto *vi = calloc(1, sizeof(*vi));
    Onnx__TypeProto *tp = calloc(1, sizeof(*tp));
    Onnx__TypeProto__Tensor *tt = calloc(1, sizeof(*tt));
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    vi->name = v->name;
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = v->dtype ? v->dtype : NORMA_FLOAT;
    if (v->rank >= 0 && v->is_input) {
        Onnx__TensorShapeProto *sp = calloc(1, sizeof(*sp));
        onnx__tensor_shape_proto__init(sp);
        sp->n_dim = (size_t)v->rank;
        sp->dim = calloc((size_t)v->rank + 1, sizeof(void *));
        for (int d = 0; d < v->rank; d++) {
            Onnx__TensorShapeProto__Dimension *dm = calloc(1, sizeof(*dm));
            onnx__tensor_shape_proto__dimension__init(dm);
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dm->dim_value = v->dims[d];
            sp->dim[d] = dm;
        }
        tt->shape = sp;
    }
    return vi;
}

static void gb_vi_free(Onnx__ValueInfoProto *vi)
{
    Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    if (tt->shape) {
        for (size_t d = 0; d < tt->shape->n_dim; d++)
            free(tt->shape->dim[d]);
        free(tt->shape->dim);
        free(tt->shape);
    }
    free(tt);
    free(vi->type);
    free(vi);
}

void *gb_serialize(const ir_graph *g, size_t *size)
{
    Onnx__ModelProto m;
    Onnx__GraphProto gp;
    Onnx__OperatorSetIdProto os;
    Onnx__OperatorSetIdProto *osp = &os;
    onnx__model_proto__init(&m);
    onnx__graph_proto__init(&gp);
    onnx__operator_set_id_proto__init(&os);
    os.domain = "";
    os.has_version = 1;
    os.version = g->opsets[0].version;
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.n_opset_import = 1;
    m.opset_import = &osp;
    m.graph = &gp;
    gp.name = "g";

    int nn = g->n_nodes, nv = g->n_values;
    Onnx__NodeProto *nodes = calloc((size_t)nn + 1, sizeof(Onnx__NodeProto));
    Onnx__NodeProto **np = calloc((size_t)nn + 1, sizeof(void *));
    int n_attrs = 0;
    for (int i = 0; i < nn; i++)
        n_attrs += g->nodes[i].n_attrs;
    Onnx__AttributeProto *attrs = calloc((size_t)n_attrs + 1, sizeof(Onnx__AttributeProto));
    Onnx__AttributeProto **ap = calloc((size_t)n_attrs + 1, sizeof(void *));
    char **names = calloc((size_t)(2 * nn * 8) + 1, sizeof(char *));
    int ai = 0, ni = 0;
    for (int i = 0; i < nn; i++) {
        const ir_node *n = &g->nodes[i];
        Onnx__NodeProto *p = &nodes[i];
        onnx__node_proto__init(p);
        p->name = n->name;
        p->op_type = n->op_type;
        p->domain = n->domain;
        p->n_input = (size_t)n->n_in;
        p->input = &names[ni];
        for (int k = 0; k < n->n_in; k++)
            names[ni++] = n->in[k] >= 0 ? g->values[n->in[k]].name : "";
        p->n_output = (size_t)n->n_out;
        p->output = &names[ni];
        for (int k = 0; k < n->n_out; k++)
            names[ni++] = n->out[k] >= 0 ? g->values[n->out[k]].name : "";
        p->n_attribute = (size_t)n->n_attrs;
        p->attribute = &ap[ai];
        for (int k = 0; k < n->n_attrs; k++) {
            Onnx__AttributeProto *a = &attrs[ai];
            onnx__attribute_proto__init(a);
            a->name = n->attrs[k].name;
            a->has_type = 1;
            a->type = (Onnx__AttributeProto__AttributeType)n->attrs[k].type;
            if (n->attrs[k].type == IR_ATTR_INT) {
                a->has_i = 1;
                a->i = n->attrs[k].i;
            } else if (n->attrs[k].type == IR_ATTR_INTS) {
                a->n_ints = n->attrs[k].n;
                a->ints = n->attrs[k].ints;
            } else {
                a->has_f = 1;
                a->f = n->attrs[k].f;
            }
            ap[ai++] = a;
        }
        np[i] = p;
    }
    gp.n_node = (size_t)nn;
    gp.node = np;

    Onnx__TensorProto *inits = calloc((size_t)nv + 1, sizeof(Onnx__TensorProto));
    Onnx__TensorProto **ip = calloc((size_t)nv + 1, sizeof(void *));
    size_t n_init = 0;
    for (int v = 0; v < nv; v++) {
        const ir_value *val = &g->values[v];
        if (!val->constant)
            continue;
        Onnx__TensorProto *t = &inits[n_init];
        onnx__tensor_proto__init(t);
        t->name = val->name;
        t->has_data_type = 1;
        t->data_type = val->constant->dtype;
        t->n_dims = (size_t)val->constant->rank;
        t->dims = (int64_t *)val->constant->dims;
        t->has_raw_data = 1;
        t->raw_data.len = ir_tensor_nbytes(val->constant);
        t->raw_data.data = val->constant->data;
        ip[n_init++] = t;
    }
    gp.n_initializer = n_init;
    gp.initializer = ip;

    gp.n_input = (size_t)g->n_inputs;
    gp.input = calloc((size_t)g->n_inputs + 1, sizeof(void *));
    for (int i = 0; i < g->n_inputs; i++)
        gp.input[i] = gb_vi(&g->values[g->inputs[i]]);
    gp.n_output = (size_t)g->n_outputs;
    gp.output = calloc((size_t)g->n_outputs + 1, sizeof(void *));
    for (int i = 0; i < g->n_outputs; i++)
        gp.output[i] = gb_vi(&g->values[g->outputs[i]]);

    *size = onnx__model_proto__get_packed_size(&m);
    void *buf = malloc(*size ? *size : 1);
    onnx__model_proto__pack(&m, buf);

    for (size_t i = 0; i < gp.n_input; i++)
        gb_vi_free(gp.input[i]);
    for (size_t i = 0; i < gp.n_output; i++)
        gb_vi_free(gp.output[i]);
    free(gp.input);
    free(gp.output);
    free(inits);
    free(ip);
    free(nodes);
    free(np);
    free(attrs);
    free(ap);
    free(names);
    return buf;
}

/* ---- reference interpreter ---- */

static ir_tensor *gb_ref_conv(const ir_node *n, const ir_tensor *x, const ir_tensor *w,
                                     const ir_tensor *b, int transpose)
{
    int64_t G = ir_attr_int(n, "group", 1);
    int sr = x->rank - 2;
    int64_t N = x->dims[0], C = x->dims[1];
    int64_t M = transpose ? w->dims[1] * G : w->dims[0];
    int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, o[3] = {1, 1, 1};
    for (int d = 0; d < sr; d++) {
        in[d] = x->dims[2 + d];
        k[d] = w->dims[2 + d];
        o[d] = transpose ? in[d] + k[d] - 1 : in[d] - k[d] + 1;
    }
    int64_t od[IR_MAX_RANK] = {N, M};
    for (int d = 0; d < sr; d++)
        od[2 + d] = o[d];
    ir_tensor *y = ir_tensor_new(NORMA_FLOAT, x->rank, od);
    const float *X = x->data, *W = w->data;
    float *Y = y->data;
    int64_t Cg = C / G, Mg = M / G;
    int64_t ksz = k[0] * k[1] * k[2], isz = in[0] * in[1] * in[2], osz = o[0] * o[1] * o[2];
    for (int64_t nn = 0; nn < N; nn++)
        for (int64_t g = 0; g < G; g++)
            for (int64_t j = 0; j < Mg; j++) {
                int64_t m = g * Mg + j;
                float *yp = Y + (nn * M + m) * osz;
                for (int64_t i = 0; i < osz; i++)
                    yp[i] = b ? ((const float *)b->data)[m] : 0;
                for (int64_t ci = 0; ci < Cg; ci++) {
                    int64_t c = g * Cg + ci;
                    const float *xp = X + (nn * C + c) * isz;
                    const float *wp = transpose ? W + (c * Mg + j) * ksz : W + (m * Cg + ci) * ksz;
                    for (int64_t a0 = 0; a0 < k[0]; a0++)
                        for (int64_t a1 = 0; a1 < k[1]; a1++)
                            for (int64_t a2 = 0; a2 < k[2]; a2++) {
                                float wv = wp[(a0 * k[1] + a1) * k[2] + a2];
                                int64_t lim0 = transpose ? in[0] : o[0], lim1 = transpose ? in[1] : o[1],
                                        lim2 = transpose ? in[2] : o[2];
                                for (int64_t p0 = 0; p0 < lim0; p0++)
                                    for (int64_t p1 = 0; p1 < lim1; p1++)
                                        for (int64_t p2 = 0; p2 < lim2; p2++) {
                                            if (transpose)
                                                yp[((p0 + a0) * o[1] + p1 + a1) * o[2] + p2 + a2] +=
                                                    xp[(p0 * in[1] + p1) * in[2] + p2] * wv;
                                            else
                                                yp[(p0 * o[1] + p1) * o[2] + p2] +=
                                                    xp[((p0 + a0) * in[1] + p1 + a1) * in[2] + p2 + a2] * wv;
                                        }
                            }
                }
            }
    return y;
}

static ir_tensor *gb_ref_gemm(const ir_node *n, const ir_tensor *a, const ir_tensor *b,
                                     const ir_tensor *c, int is_matmul)
{
    int tA = !is_matmul && ir_attr_int(n, "transA", 0);
    int tB = ir_attr_int(n, "transB", 0) != 0; /* also norma.MatMul's (B 2-D, read transposed) */
    double alpha = is_matmul ? 1 : ir_attr_float(n, "alpha", 1), beta = is_matmul ? 1 : ir_attr_float(n, "beta", 1);
    int64_t K = is_matmul ? a->dims[a->rank - 1] : tA ? a->dims[0] : a->dims[1];
    int64_t R = (int64_t)ir_tensor_numel(a) / K;
    int64_t M = tB ? b->dims[0] : b->dims[1];
    int64_t od[IR_MAX_RANK];
    int rank = is_matmul ? a->rank : 2;
    for (int d = 0; d < rank - 1; d++)
        od[d] = is_matmul ? a->dims[d] : R;
    od[rank - 1] = M;
    ir_tensor *y = ir_tensor_new(NORMA_FLOAT, rank, od);
    const float *A = a->data, *B = b->data;
    float *Y = y->data;
    for (int64_t r = 0; r < R; r++)
        for (int64_t m = 0; m < M; m++) {
            double s = 0;
            for (int64_t kk = 0; kk < K; kk++)
                s += (double)A[tA ? kk * R + r : r * K + kk] * B[tB ? m * K + kk : kk * M + m];
            double cv = 0;
            if (c) {
                const float *C = c->data;
                int64_t cr = c->rank == 2 ? (c->dims[0] == 1 ? 0 : r) : 0;
                int64_t cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
                cv = C[cr * cols + (cols == 1 ? 0 : m)];
            }
            Y[r * M + m] = (float)(alpha * s + beta * cv);
        }
    return y;
}

static ir_tensor *gb_ref_act(const ir_graph *g, const ir_node *n, ir_tensor **in)
{
    const char *op = n->op_type;
    double lo = -INFINITY, hi = INFINITY;
    if (strcmp(op, "Clip") == 0) {
        if (n->opset < 11) {
            lo = ir_attr_float(n, "min", -INFINITY);
            hi = ir_attr_float(n, "max", INFINITY);
        } else {
            if (n->n_in > 1 && in[1])
                lo = ((const float *)in[1]->data)[0];
            if (n->n_in > 2 && in[2])
                hi = ((const float *)in[2]->data)[0];
        }
    } else if (strcmp(op, "Relu") && strcmp(op, "LeakyRelu") && strcmp(op, "Sigmoid") &&
               strcmp(op, "HardSigmoid") && strcmp(op, "HardSwish")) {
        return NULL;
    }
    (void)g;
    ir_tensor *y = ir_tensor_clone(in[0]);
    float *d = y->data;
    for (size_t i = 0; i < ir_tensor_numel(y); i++) {
        double x = d[i], r;
        if (strcmp(op, "Relu") == 0)
            r = x < 0 ? 0 : x;
        else if (strcmp(op, "Clip") == 0)
            r = fmin(fmax(x, lo), hi);
        else if (strcmp(op, "LeakyRelu") == 0)
            r = x < 0 ? ir_attr_float(n, "alpha", 0.01f) * x : x;
        else if (strcmp(op, "Sigmoid") == 0)
            r = 1 / (1 + exp(-x));
        else if (strcmp(op, "HardSigmoid") == 0)
            r = fmax(0, fmin(1, ir_attr_float(n, "alpha", 0.2f) * x + ir_attr_float(n, "beta", 0.5f)));
        else
            r = x * fmax(0, fmin(1, x / 6 + 0.5));
        d[i] = (float)r;
    }
    return y;
}

int gb_run(const ir_graph *g, ir_tensor **ins, ir_tensor **outs, char *err, size_t cap)
{
    ir_tensor **vals = calloc((size_t)g->n_values, sizeof(ir_tensor *));
    char *owned = calloc((size_t)g->n_values, 1);
    int rc = NORMA_OK;
    for (int v = 0; v < g->n_values; v++)
        vals[v] = g->values[v].constant;
    for (int i = 0; i < g->n_inputs; i++)
        vals[g->inputs[i]] = ins[i];
    for (int i = 0; i < g->n_nodes && !rc; i++) {
        const ir_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        ir_tensor *in[16] = {0}, *out[16] = {0};
        for (int k = 0; k < n->n_in; k++)
            in[k] = n->in[k] >= 0 ? vals[n->in[k]] : NULL;
        int conv = strcmp(n->op_type, "Conv") == 0, convt = strcmp(n->op_type, "ConvTranspose") == 0;
        int gemm = strcmp(n->op_type, "Gemm") == 0, mm = strcmp(n->op_type, "MatMul") == 0;
        if (conv || convt || gemm || mm) {
            if (conv || convt)
                out[0] = gb_ref_conv(n, in[0], in[1], n->n_in > 2 ? in[2] : NULL, convt);
            else
                out[0] = gb_ref_gemm(n, in[0], in[1], n->n_in > 2 ? in[2] : NULL, mm);
            k_act_apply(out[0]->data, ir_tensor_numel(out[0]), n->fused_act, n->act_alpha, n->act_beta);
        } else {
            const op_schema *s;
            int any;
            if (!op_lookup(n->domain, n->op_type, n->opset, &any) && (out[0] = gb_ref_act(g, n, in)))
                ;
            else if (!(rc = op_resolve(n, &s, err, cap)))
                rc = op_eval(n, s, in, out, err, cap);
        }
        for (int k = 0; k < n->n_out && !rc; k++)
            if (n->out[k] >= 0) {
                vals[n->out[k]] = out[k];
                owned[n->out[k]] = 1;
            }
    }
    for (int k = 0; k < g->n_outputs; k++)
        outs[k] = rc ? NULL : ir_tensor_clone(vals[g->outputs[k]]);
    for (int v = 0; v < g->n_values; v++)
        if (owned[v])
            ir_tensor_free(vals[v]);
    free(vals);
    free(owned);
    return rc;
}

ir_tensor *gb_random(int rank, const int64_t *dims, float lo, float hi)
{
    ir_tensor *t = ir_tensor_new(NORMA_FLOAT, rank, dims);
    tu_fill(t->data, ir_tensor_numel(t), lo, hi);
    return t;
}

void gb_scalar(ir_graph *g, const char *name, float v)
{
    int64_t one = 1;
    gb_const(g, name, 0, &one, &v, 0, 0);
}

void gb_const_ints(ir_graph *g, const char *name, int n, const int64_t *v)
{
    int id = gb_value(g, name);
    int64_t d = n;
    ir_tensor *t = ir_tensor_new(NORMA_INT64, 1, &d);
    memcpy(t->data, v, sizeof(int64_t) * (size_t)n);
    g->values[id].constant = t;
    g->values[id].dtype = NORMA_INT64;
    g->values[id].rank = 1;
    g->values[id].dims[0] = n;
}

void gb_attr_ints(ir_graph *g, int node, const char *name, int n, const int64_t *v)
{
    ir_attr *a = gb_attr(g, node, name, IR_ATTR_INTS);
    a->n = (size_t)n;
    a->ints = malloc(sizeof(int64_t) * (size_t)n);
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

void gb_attr_s(ir_graph *g, int node, const char *name, const char *v)
{
    ir_attr *a = gb_attr(g, node, name, IR_ATTR_STRING);
    a->s = strdup(v);
    a->s_len = strlen(v);
}

int gb_op(ir_graph *g, const char *op, const char *out, const char *a, const char *b,
                          const char *c)
{
    const char *ins[3] = {a, b ? b : "", c ? c : ""};
    int n = c ? 3 : b ? 2 : 1;
    const char *outs[1] = {out};
    char name[64];
    snprintf(name, sizeof name, "%s_%s", op, out);
    return gb_node(g, op, name, n, ins, 1, outs);
}

int gb_reduce_mean(ir_graph *g, const char *out, const char *in, int n, const int64_t *axes)
{
    int node;
    if (g->opsets[0].version >= 18) {
        char an[64];
        snprintf(an, sizeof an, "%s_axes", out);
        gb_const_ints(g, an, n, axes);
        node = gb_op(g, "ReduceMean", out, in, an, NULL);
    } else {
        node = gb_op(g, "ReduceMean", out, in, NULL, NULL);
        gb_attr_ints(g, node, "axes", n, axes);
    }
    return node;
}

void gb_compare(const ir_graph *g0, const ir_graph *g1, float lo, float hi, double atol,
                              double rtol)
{
    tu_seed(77);
    ir_tensor *ins[4] = {0};
    for (int i = 0; i < g0->n_inputs; i++) {
        const ir_value *v = &g0->values[g0->inputs[i]];
        ins[i] = gb_random(v->rank, v->dims, lo, hi);
        if (strcmp(v->name, "eps") == 0)
            ((float *)ins[i]->data)[0] = 1e-5f;
    }
    ir_tensor *o0[4] = {0}, *o1[4] = {0};
    char err[256] = "";
    if (gb_run(g0, ins, o0, err, sizeof err))
        fail_msg("unfused graph: %s", err);
    if (gb_run(g1, ins, o1, err, sizeof err))
        fail_msg("fused graph: %s", err);
    for (int k = 0; k < g0->n_outputs; k++) {
        assert_int_equal(ir_tensor_numel(o0[k]), ir_tensor_numel(o1[k]));
        double e = tu_max_rel_err(o1[k]->data, o0[k]->data, ir_tensor_numel(o0[k]), atol, rtol);
        if (e > 1.0)
            fail_msg("output %d differs after the pass (rel err %g)", k, e);
        ir_tensor_free(o0[k]);
        ir_tensor_free(o1[k]);
    }
    for (int i = 0; i < g0->n_inputs; i++)
        ir_tensor_free(ins[i]);
}

int gb_single(ir_graph **gp, const char *op, int64_t opset, int n_in, int n_out, unsigned out_mask)
{
    ir_graph *g = gb_graph(opset);
    static const char *ins[] = {"i0", "i1", "i2"};
    const char *outs[3];
    static const char *on[] = {"o0", "o1", "o2"};
    for (int k = 0; k < n_out; k++)
        outs[k] = (out_mask >> k & 1) ? on[k] : "";
    for (int k = 0; k < n_in; k++)
        gb_value(g, ins[k]);
    int n = gb_node(g, op, "node", n_in, ins, n_out, outs);
    *gp = g;
    return n;
}

int gb_eval(ir_graph *g, int n, ir_tensor **ins, ir_tensor **outs, char *err, size_t cap)
{
    const op_schema *s;
    int rc = op_resolve(&g->nodes[n], &s, err, cap);
    return rc ? rc : op_eval(&g->nodes[n], s, ins, outs, err, cap);
}

float *gb_session_run(const ir_graph *g, int n_in, const char *const *names, ir_tensor *const *x,
                      const char *disabled, int threads, size_t *n)
{
    size_t size;
    void *bytes = gb_serialize(g, &size);
    norma_options o;
    norma_options_init(&o);
    if (threads > 0)
        o.threads = threads;
    o.disable_passes = disabled;
    norma_session *s;
    if (norma_session_create_from_memory(bytes, size, &o, &s))
        fail_msg("%s", norma_last_error());
    norma_tensor in[8];
    assert_true(n_in <= 8);
    for (int i = 0; i < n_in; i++) {
        in[i] = (norma_tensor){.name = names[i], .dtype = NORMA_FLOAT, .rank = x[i]->rank, .data = x[i]->data};
        memcpy(in[i].dims, x[i]->dims, sizeof in[i].dims);
    }
    norma_tensor out = {0};
    if (norma_run(s, in, (size_t)n_in, &out, 1))
        fail_msg("%s", norma_last_error());
    *n = 1;
    for (int d = 0; d < out.rank; d++)
        *n *= (size_t)out.dims[d];
    float *res = malloc(*n * sizeof(float));
    memcpy(res, out.data, *n * sizeof(float));
    norma_session_free(s);
    free(bytes);
    return res;
}
