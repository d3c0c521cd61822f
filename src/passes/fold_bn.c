/*
 * Folds an inference-mode BatchNormalization into the Conv, ConvTranspose, Gemm or
 * MatMul that produces its input. With s = scale / sqrt(var + eps) (per output channel
 * m, in double):
 *   W'[m] = W[m] * s[m]             (the weights of output channel m)
 *   b'[m] = (b[m] - mean[m]) * s[m] + B[m]   (b = 0 when the producer has no bias)
 * The new weights and bias are new constants owned by the graph; the old ones are
 * dropped by ir_graph_compact once nothing reads them. The old weight is never
 * written (it may be read-only mapped memory) unless it is writable (owned, or the
 * loader's private copy) and the producer is its only reader: then the new weight
 * takes its data over and is scaled in place, which saves a copy of every weight
 * (fresh memory is slow to touch).
 *
 * Guards (each makes the pass leave the BN in place):
 *   - BN is in inference mode (training_mode absent or 0, spatial=1 before opset 9)
 *     and has exactly one output;
 *   - scale, B, mean, var, the weight and the bias are float32 constant initializers
 *     (not graph inputs), with one statistic per output channel;
 *   - the producer's output has exactly one reader (the BN) and is not a graph output,
 *     and the producer has no fused activation yet;
 *   - the channel axis matches: BN normalizes axis 1, which is the output channel of
 *     Conv/ConvTranspose (N,M,...) and of Gemm/MatMul only when their output is 2-D.
 *
 * Channel layout of the weights:
 *   Conv           W (M, C/group, k...)       channel m = row m
 *   ConvTranspose  W (C, M/group, k...)       W[c, j] feeds channel (c / (C/group)) * (M/group) + j
 *   Gemm           B (K, M), or (M, K) when transB=1: column (row) m
 *   MatMul         B (K, M), A 2-D: rewritten to Gemm(A, B', b')
 *   norma.MatMul   B (M, K) read transposed (transB=1), A 2-D: rewritten to
 *                  Gemm(A, B', b') with transB=1 (opset 13)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

typedef struct bn_fold {
    size_t M;
    double *s; /* scale / sqrt(var + eps) */
    double *t; /* B - mean * s: the bias of a producer that had none */
} bn_fold;

static int is_f32_const(const ir_graph *g, int v)
{
    return pass_is_initializer(g, v) && g->values[v].constant->dtype == NORMA_FLOAT;
}

/* Checks the BN itself; fills f (s and t malloc'd) on success. Returns 1 when
 * foldable, 0 when not, -1 on OOM. */
static int bn_params(const ir_graph *g, const ir_node *bn, bn_fold *f)
{
    if (bn->n_in != 5 || bn->in[0] < 0 || bn->out[0] < 0)
        return 0;
    for (int k = 1; k < bn->n_out; k++)
        if (bn->out[k] >= 0)
            return 0;
    if (ir_attr_int(bn, "training_mode", 0) != 0)
        return 0;
    if (bn->opset < 9 && ir_attr_int(bn, "spatial", 1) == 0)
        return 0;
    size_t M = 0;
    for (int k = 1; k < 5; k++) {
        if (!is_f32_const(g, bn->in[k]))
            return 0;
        size_t n = ir_tensor_numel(g->values[bn->in[k]].constant);
        if (k == 1)
            M = n;
        else if (n != M)
            return 0;
    }
    if (M == 0)
        return 0;
    const float *scale = g->values[bn->in[1]].constant->data;
    const float *B = g->values[bn->in[2]].constant->data;
    const float *mean = g->values[bn->in[3]].constant->data;
    const float *var = g->values[bn->in[4]].constant->data;
    double eps = ir_attr_float(bn, "epsilon", 1e-5f);
    f->M = M;
    f->s = malloc(sizeof(double) * M);
    f->t = malloc(sizeof(double) * M);
    if (!f->s || !f->t) {
        free(f->s);
        free(f->t);
        return -1;
    }
    for (size_t m = 0; m < M; m++) {
        f->s[m] = (double)scale[m] / sqrt((double)var[m] + eps);
        f->t[m] = (double)B[m] - (double)mean[m] * f->s[m];
    }
    return 1;
}

/* b' = b * s + t, or t when the producer has no bias (bias_v < 0). */
static ir_tensor *new_bias(const ir_graph *g, int bias_v, const bn_fold *f)
{
    int64_t M = (int64_t)f->M;
    ir_tensor *t = ir_tensor_new(NORMA_FLOAT, 1, &M);
    if (!t)
        return NULL;
    float *o = t->data;
    const float *b = bias_v >= 0 ? g->values[bias_v].constant->data : NULL;
    for (size_t m = 0; m < f->M; m++)
        o[m] = (float)((b ? (double)b[m] * f->s[m] : 0.0) + f->t[m]);
    return t;
}

/* W with element i scaled by s[chan(i)]; chan is given by the weight layout:
 * index i = ((o * D1 + j) * inner + r) with channel = map(o, j). A copy, or, when
 * in_place, a new tensor that takes W's data over and scales it where it is (w keeps
 * pointing at it without owning it: w must have no other reader). */
static ir_tensor *scaled_weight(ir_tensor *w, int in_place, const bn_fold *f, size_t D0, size_t D1,
                                size_t inner, int kind, size_t group)
{
    ir_tensor *t;
    if (in_place) {
        t = malloc(sizeof *t);
        if (!t)
            return NULL;
        *t = *w;
        w->owns_data = 0;
        w->mutable_data = 0;
    } else {
        t = ir_tensor_new(NORMA_FLOAT, w->rank, w->dims);
    }
    if (!t)
        return NULL;
    const float *src = w->data;
    float *dst = t->data;
    size_t per_group = kind == 1 ? D0 / group : 1; /* ConvTranspose: input channels per group */
    size_t row = D1 * inner;
    /* long runs of one scale, so that the loops vectorize (a 1x1 Conv's inner is 1) */
    for (size_t o = 0; o < D0; o++) {
        const float *sr = src + o * row;
        float *dr = dst + o * row;
        if (kind == 0) { /* row o (Conv; Gemm with transB) */
            double s = f->s[o];
            for (size_t r = 0; r < row; r++)
                dr[r] = (float)((double)sr[r] * s);
        } else if (kind == 1) { /* ConvTranspose */
            for (size_t j = 0; j < D1; j++) {
                double s = f->s[(o / per_group) * D1 + j];
                for (size_t r = 0; r < inner; r++)
                    dr[j * inner + r] = (float)((double)sr[j * inner + r] * s);
            }
        } else { /* column j (Gemm, MatMul): inner is 1 */
            for (size_t j = 0; j < D1; j++)
                dr[j] = (float)((double)sr[j] * f->s[j]);
        }
    }
    return t;
}

/* Gemm's new C: beta * C' = s * beta * C + t, shaped like C broadcast against (M). */
static ir_tensor *gemm_new_c(const ir_tensor *c, float beta, const bn_fold *f)
{
    int64_t M = (int64_t)f->M;
    if (!c || beta == 0.0f) {
        return ir_tensor_new(NORMA_FLOAT, 1, &M);
    }
    int64_t rows = c->rank == 2 ? c->dims[0] : 1;
    int64_t cols = c->rank == 2 ? c->dims[1] : c->rank == 1 ? c->dims[0] : 1;
    int64_t dims[2] = {rows, M};
    ir_tensor *t = c->rank == 2 ? ir_tensor_new(NORMA_FLOAT, 2, dims) : ir_tensor_new(NORMA_FLOAT, 1, &M);
    if (!t)
        return NULL;
    const float *src = c->data;
    float *dst = t->data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t m = 0; m < M; m++) {
            double cv = src[r * cols + (cols == 1 ? 0 : m)];
            dst[r * M + m] = (float)(f->s[m] * cv + f->t[m] / (double)beta);
        }
    return t;
}

/* The rank of value v when the graph tells it: from value_info, a constant, or through
 * the ops that keep their input's rank (activations, normalizations, elementwise with
 * operands of known rank) back to one that fixes it (Gemm, Flatten: 2). Exporters
 * often write no value_info for intermediate values, so this is what makes the MatMul
 * fold usable. -1 when unknown. */
static int value_rank(const ir_graph *g, int v, int depth)
{
    static const char *same_rank[] = {
        "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "Elu", "Selu",
        "Softplus", "Gelu", "Erf", "Neg", "Abs", "Exp", "Log", "Sqrt", "Cast", "Identity", "Dropout",
        "BatchNormalization", "InstanceNormalization", "LRN", "Softmax", "LayerNormalization", NULL};
    static const char *elementwise[] = {"Add", "Sub", "Mul", "Div", NULL};
    if (v < 0 || depth > 64)
        return -1;
    const ir_value *val = &g->values[v];
    if (val->rank >= 0)
        return val->rank;
    if (val->constant)
        return val->constant->rank;
    int p_i = pass_producer(g, v);
    if (p_i < 0)
        return -1;
    const ir_node *p = &g->nodes[p_i];
    if (p->out[0] != v)
        return -1;
    if (pass_is_op(p, "Gemm") || pass_is_op(p, "Flatten"))
        return 2;
    for (const char **o = same_rank; *o; o++)
        if (pass_is_op(p, *o))
            return value_rank(g, p->in[0], depth + 1);
    for (const char **o = elementwise; *o; o++)
        if (pass_is_op(p, *o) && p->n_in == 2) {
            int a = value_rank(g, p->in[0], depth + 1), b = value_rank(g, p->in[1], depth + 1);
            return a < 0 || b < 0 ? -1 : a > b ? a : b;
        }
    return -1;
}

/* Tries to fold bn into its producer; 1 folded, 0 left alone, -1 OOM. */
static int fold_one(ir_graph *g, int bn_i)
{
    ir_node *bn = &g->nodes[bn_i];
    int x = bn->in[0];
    if (x < 0 || g->values[x].is_output || ir_consumer_count(g, x) != 1)
        return 0;
    int p_i = pass_producer(g, x);
    if (p_i < 0)
        return 0;
    ir_node *p = &g->nodes[p_i];
    int kind; /* 0 Conv, 1 ConvTranspose, 2 Gemm, 3 MatMul, 4 norma.MatMul */
    if (pass_is_op(p, "Conv"))
        kind = 0;
    else if (pass_is_op(p, "ConvTranspose"))
        kind = 1;
    else if (pass_is_op(p, "Gemm"))
        kind = 2;
    else if (pass_is_op(p, "MatMul"))
        kind = 3;
    else if (strcmp(p->domain, "norma") == 0 && strcmp(p->op_type, "MatMul") == 0 && p->n_in == 2)
        kind = 4; /* MatMul reading W transposed (transB=1, from fuse-matmul-transpose) */
    else
        return 0;
    if (p->fused_act || p->n_out != 1 || p->out[0] != x || p->n_in < 2 || !is_f32_const(g, p->in[1]))
        return 0;
    ir_tensor *w = g->values[p->in[1]].constant;
    /* Scale W in place when it is writable and the producer is its only reader. */
    int in_place = ir_tensor_writable(w) && ir_consumer_count(g, p->in[1]) == 1 &&
                   !g->values[p->in[1]].is_output;
    int bias_slot = kind >= 3 ? -1 : 2;
    int bias_v = bias_slot >= 0 && p->n_in > bias_slot ? p->in[bias_slot] : -1;
    if (bias_v >= 0 && !is_f32_const(g, bias_v))
        return 0;

    bn_fold f = {0};
    int ok = bn_params(g, bn, &f);
    if (ok <= 0)
        return ok;
    int rc = 0;
    ir_tensor *nw = NULL, *nb = NULL;
    size_t M = f.M;
    int64_t group = ir_attr_int(p, "group", 1);
    if (kind == 0 || kind == 1) {
        if (w->rank < 3 || group < 1)
            goto out;
        size_t D0 = (size_t)w->dims[0], D1 = (size_t)w->dims[1];
        size_t outer = D0 * D1;
        size_t inner = outer ? ir_tensor_numel(w) / outer : 0;
        size_t out_ch = kind == 0 ? D0 : (size_t)group * D1;
        if (out_ch != M || (kind == 1 && D0 % (size_t)group))
            goto out;
        if (bias_v >= 0 && ir_tensor_numel(g->values[bias_v].constant) != M)
            goto out;
        nw = scaled_weight(w, in_place, &f, D0, D1, inner, kind, (size_t)group);
        nb = new_bias(g, bias_v, &f);
    } else {
        /* Before opset 7, Gemm broadcasts C only with broadcast=1: leave those alone. */
        if (w->rank != 2 || (kind != 4 && p->opset < 7))
            goto out;
        int transB = (kind == 2 || kind == 4) && ir_attr_int(p, "transB", 0) != 0;
        size_t D0 = (size_t)w->dims[0], D1 = (size_t)w->dims[1];
        if ((transB ? D0 : D1) != M)
            goto out;
        if (kind >= 3) {
            /* BN's axis 1 is MatMul's last axis only when the output is 2-D. */
            int a = p->in[0];
            if (a < 0 || (value_rank(g, a, 0) != 2 && g->values[x].rank != 2))
                goto out;
        }
        const ir_tensor *c = kind == 2 && bias_v >= 0 ? g->values[bias_v].constant : NULL;
        if (c && (c->rank > 2 || (c->rank >= 1 && c->dims[c->rank - 1] != 1 &&
                                  (size_t)c->dims[c->rank - 1] != M)))
            goto out;
        /* every check is done: from here W may be rewritten in place */
        nw = scaled_weight(w, in_place, &f, D0, D1, 1, transB ? 0 : 2, 1);
        if (kind == 2) {
            float beta = ir_attr_float(p, "beta", 1.0f);
            nb = gemm_new_c(c, beta, &f);
            if (nb && (!c || beta == 0.0f)) {
                float *o = nb->data;
                for (size_t m = 0; m < M; m++)
                    o[m] = (float)f.t[m];
                if (pass_set_attr_float(p, "beta", 1.0f))
                    rc = -1;
            }
        } else {
            nb = new_bias(g, -1, &f);
        }
    }
    if (!nw || !nb || rc) {
        rc = -1;
        goto out;
    }
    char base[256];
    snprintf(base, sizeof base, "%.200s_bnfold", g->values[p->in[1]].name);
    int wv = pass_add_constant(g, base, nw);
    nw = NULL;
    snprintf(base, sizeof base, "%.200s_bias_bnfold", p->name[0] ? p->name : g->values[x].name);
    int bv = wv < 0 ? -1 : pass_add_constant(g, base, nb);
    nb = NULL;
    if (wv < 0 || bv < 0) {
        rc = -1;
        goto out;
    }
    if (kind >= 3) {
        char *op = strdup("Gemm"), *dom = kind == 4 ? strdup("") : NULL;
        if (!op || (kind == 4 && !dom)) {
            free(op);
            free(dom);
            rc = -1;
            goto out;
        }
        free(p->op_type);
        p->op_type = op;
        if (kind == 4) { /* an ONNX Gemm again; its transB attribute carries over */
            free(p->domain);
            p->domain = dom;
            p->opset = 13;
        }
    }
    p->in[1] = wv;
    if (pass_set_input(p, 2, bv)) {
        rc = -1;
        goto out;
    }
    p->out[0] = bn->out[0];
    bn->dead = 1;
    rc = 1;
out:
    ir_tensor_free(nw);
    ir_tensor_free(nb);
    free(f.s);
    free(f.t);
    return rc;
}

int pass_fold_batchnorm(ir_graph *g, char *err, size_t cap)
{
    int changed = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead || !pass_is_op(&g->nodes[i], "BatchNormalization"))
            continue;
        int rc = fold_one(g, i);
        if (rc < 0) {
            snprintf(err, cap, "out of memory folding BatchNormalization '%s'", g->nodes[i].name);
            return NORMA_ERR_MEMORY;
        }
        changed |= rc;
    }
    return pass_compact(g, changed, "folding BatchNormalization", err, cap);
}
