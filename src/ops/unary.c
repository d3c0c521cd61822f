/*
 * Elementwise unary ops: activations (Relu, LeakyRelu, Elu, Selu, Celu, Clip, Sigmoid,
 * HardSigmoid, HardSwish, Tanh, Softplus, Softsign, ThresholdedRelu, Shrink, Mish) and
 * math functions (Erf, Exp, Log, Sqrt, Neg, Abs, Sign, Reciprocal, Floor, Ceil, Round,
 * Sin, Cos, Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh). ONNX spec: each
 * op's section; all opset versions since 1 share one implementation (opset 1's
 * consumed_inputs is ignored).
 *
 * float32 and float64 for all, float16 computed in float32; integer dtypes for Relu,
 * Neg, Abs, Sign and Clip.
 * Clip takes min/max as attributes before opset 11 and as optional scalar inputs after.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/half.h"
#include "kernels/unary.h"
#include "ops/op.h"

typedef struct un_state {
    int op;
    float alpha, beta, gamma;
} un_state;

static const struct {
    const char *name;
    int op;
    float alpha, beta, gamma; /* attribute defaults */
} un_ops[] = {
    {"Relu", K_UN_RELU, 0, 0, 0},
    {"LeakyRelu", K_UN_LEAKY_RELU, 0.01f, 0, 0},
    {"Elu", K_UN_ELU, 1.0f, 0, 0},
    {"Selu", K_UN_SELU, 1.67326319217681884765625f, 0, 1.05070102214813232421875f},
    {"Clip", K_UN_CLIP, -FLT_MAX, FLT_MAX, 0},
    {"Sigmoid", K_UN_SIGMOID, 0, 0, 0},
    {"HardSigmoid", K_UN_HARD_SIGMOID, 0.2f, 0.5f, 0},
    {"HardSwish", K_UN_HARD_SWISH, 1.0f / 6.0f, 0.5f, 0},
    {"Tanh", K_UN_TANH, 0, 0, 0},
    {"Softplus", K_UN_SOFTPLUS, 0, 0, 0},
    {"Softsign", K_UN_SOFTSIGN, 0, 0, 0},
    {"Erf", K_UN_ERF, 0, 0, 0},
    {"Exp", K_UN_EXP, 0, 0, 0},
    {"Log", K_UN_LOG, 0, 0, 0},
    {"Sqrt", K_UN_SQRT, 0, 0, 0},
    {"Neg", K_UN_NEG, 0, 0, 0},
    {"Abs", K_UN_ABS, 0, 0, 0},
    {"Reciprocal", K_UN_RECIPROCAL, 0, 0, 0},
    {"Floor", K_UN_FLOOR, 0, 0, 0},
    {"Ceil", K_UN_CEIL, 0, 0, 0},
    {"Sign", K_UN_SIGN, 0, 0, 0},
    {"Round", K_UN_ROUND, 0, 0, 0},
    {"Sin", K_UN_SIN, 0, 0, 0},
    {"Cos", K_UN_COS, 0, 0, 0},
    {"Tan", K_UN_TAN, 0, 0, 0},
    {"Asin", K_UN_ASIN, 0, 0, 0},
    {"Acos", K_UN_ACOS, 0, 0, 0},
    {"Atan", K_UN_ATAN, 0, 0, 0},
    {"Sinh", K_UN_SINH, 0, 0, 0},
    {"Cosh", K_UN_COSH, 0, 0, 0},
    {"Asinh", K_UN_ASINH, 0, 0, 0},
    {"Acosh", K_UN_ACOSH, 0, 0, 0},
    {"Atanh", K_UN_ATANH, 0, 0, 0},
    {"ThresholdedRelu", K_UN_THRESHOLDED_RELU, 1.0f, 0, 0},
    {"Shrink", K_UN_SHRINK, 0.5f, 0, 0},
    {"Celu", K_UN_CELU, 1.0f, 0, 0},
    {"Mish", K_UN_MISH, 0, 0, 0},
};

static int un_init(op_ctx *c)
{
    un_state *st = calloc(1, sizeof *st);
    if (!st)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    c->state = st;
    size_t k;
    for (k = 0; k < sizeof un_ops / sizeof un_ops[0]; k++)
        if (strcmp(un_ops[k].name, c->node->op_type) == 0)
            break;
    if (k == sizeof un_ops / sizeof un_ops[0])
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "not a unary op");
    st->op = un_ops[k].op;
    st->alpha = un_ops[k].alpha;
    st->beta = un_ops[k].beta;
    st->gamma = un_ops[k].gamma;
    if (st->op == K_UN_CLIP) {
        st->alpha = ir_attr_float(c->node, "min", -FLT_MAX);
        st->beta = ir_attr_float(c->node, "max", FLT_MAX);
    } else if (st->op == K_UN_SHRINK) {
        st->alpha = ir_attr_float(c->node, "lambd", st->alpha);
        st->beta = ir_attr_float(c->node, "bias", st->beta);
    } else if (st->op != K_UN_HARD_SWISH) {
        st->alpha = ir_attr_float(c->node, "alpha", st->alpha);
        st->beta = ir_attr_float(c->node, "beta", st->beta);
        st->gamma = ir_attr_float(c->node, "gamma", st->gamma);
    }
    if (st->op == K_UN_CELU && st->alpha == 0)
        return op_fail(c, NORMA_ERR_MODEL, "alpha must not be 0");
    return NORMA_OK;
}

static int un_infer(op_ctx *c)
{
    const un_state *st = c->state;
    const ir_tensor *x = c->in[0];
    if (!x)
        return op_fail(c, NORMA_ERR_MODEL, "input 0 is missing");
    int t = x->dtype;
    if (t != NORMA_FLOAT && t != NORMA_DOUBLE && t != NORMA_FLOAT16 && !k_int_unary_supported(t, st->op))
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "input 0 has dtype %s, which this op does not support",
                       ir_dtype_name(t));
    for (int i = 1; i < c->n_in; i++) {
        const ir_tensor *b = c->in[i];
        if (!b)
            continue;
        if (b->dtype != t)
            return op_fail(c, NORMA_ERR_MODEL, "input %d has dtype %s but input 0 has %s", i,
                           ir_dtype_name(b->dtype), ir_dtype_name(t));
        if (ir_tensor_numel(b) != 1)
            return op_fail(c, NORMA_ERR_SHAPE, "%s must be a scalar", i == 1 ? "min" : "max");
    }
    op_set_shape(c->out[0], t, x->rank, x->dims);
    return NORMA_OK;
}

/* Smallest and largest value of an integer dtype, as the int64 bit pattern k_int_unary casts. */
static void int_range(int t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case NORMA_INT8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case NORMA_INT16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case NORMA_INT32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case NORMA_UINT8: *lo = 0; *hi = UINT8_MAX; break;
    case NORMA_UINT16: *lo = 0; *hi = UINT16_MAX; break;
    case NORMA_UINT32: *lo = 0; *hi = UINT32_MAX; break;
    case NORMA_UINT64: *lo = 0; *hi = -1; break;
    default: *lo = INT64_MIN; *hi = INT64_MAX; break;
    }
}

#define UN_CHUNK 16384
#define UN_F16_BLOCK 512

/* float16: widen a block to float32, run the float32 loop, round back. */
static void f16_unary(int op, size_t n, const uint16_t *x, uint16_t *y, float alpha, float beta,
                      float gamma)
{
    float buf[UN_F16_BLOCK];
    for (size_t lo = 0; lo < n; lo += UN_F16_BLOCK) {
        size_t len = n - lo < UN_F16_BLOCK ? n - lo : UN_F16_BLOCK;
        for (size_t i = 0; i < len; i++)
            buf[i] = half_to_float(x[lo + i]);
        k_f32_unary(op, len, buf, buf, alpha, beta, gamma);
        for (size_t i = 0; i < len; i++)
            y[lo + i] = float_to_half(buf[i]);
    }
}

static int un_run(op_ctx *c)
{
    const un_state *st = c->state;
    const ir_tensor *x = c->in[0];
    ir_tensor *y = c->out[0];
    const size_t n = ir_tensor_numel(x);
    const int t = x->dtype;
    double lo = st->alpha, hi = st->beta;
    int64_t ilo, ihi;
    int_range(t, &ilo, &ihi);
    if (st->op == K_UN_CLIP && c->opset >= 11) {
        lo = -INFINITY;
        hi = INFINITY;
        if (c->n_in > 1 && c->in[1]) {
            lo = ir_tensor_get_f64(c->in[1], 0);
            ilo = ir_tensor_get_i64(c->in[1], 0);
        }
        if (c->n_in > 2 && c->in[2]) {
            hi = ir_tensor_get_f64(c->in[2], 0);
            ihi = ir_tensor_get_i64(c->in[2], 0);
        }
    }
    const size_t es = ir_dtype_size(t);
    const size_t chunks = (n + UN_CHUNK - 1) / UN_CHUNK;
    const int nth = (n >= 4 * UN_CHUNK && c->threads > 1) ? c->threads : 1;
    const char *px = x->data;
    char *py = y->data;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
    for (size_t k = 0; k < chunks; k++) {
        size_t lo_i = k * UN_CHUNK, len = n - lo_i < UN_CHUNK ? n - lo_i : UN_CHUNK;
        const void *xs = px + lo_i * es;
        void *ys = py + lo_i * es;
        if (t == NORMA_FLOAT)
            k_f32_unary(st->op, len, xs, ys, (float)lo, (float)hi, st->gamma);
        else if (t == NORMA_FLOAT16)
            f16_unary(st->op, len, xs, ys, (float)lo, (float)hi, st->gamma);
        else if (t == NORMA_DOUBLE)
            k_f64_unary(st->op, len, xs, ys, st->op == K_UN_CLIP ? lo : (double)st->alpha,
                        st->op == K_UN_CLIP ? hi : (double)st->beta, st->gamma);
        else
            k_int_unary(t, st->op, len, xs, ys, ilo, ihi);
    }
    return NORMA_OK;
}

#define UN(var, name, ver, lo, hi) \
    static const op_schema var = {name, "", ver, lo, hi, 1, 1, un_init, NULL, un_infer, un_run};
UN(relu1, "Relu", 1, 1, 1)
UN(relu6, "Relu", 6, 1, 1)
UN(relu13, "Relu", 13, 1, 1)
UN(relu14, "Relu", 14, 1, 1)
UN(leaky1, "LeakyRelu", 1, 1, 1)
UN(leaky6, "LeakyRelu", 6, 1, 1)
UN(leaky16, "LeakyRelu", 16, 1, 1)
UN(elu1, "Elu", 1, 1, 1)
UN(elu6, "Elu", 6, 1, 1)
UN(selu1, "Selu", 1, 1, 1)
UN(selu6, "Selu", 6, 1, 1)
UN(clip1, "Clip", 1, 1, 1)
UN(clip6, "Clip", 6, 1, 1)
UN(clip11, "Clip", 11, 1, 3)
UN(clip12, "Clip", 12, 1, 3)
UN(clip13, "Clip", 13, 1, 3)
UN(sigmoid1, "Sigmoid", 1, 1, 1)
UN(sigmoid6, "Sigmoid", 6, 1, 1)
UN(sigmoid13, "Sigmoid", 13, 1, 1)
UN(hsig1, "HardSigmoid", 1, 1, 1)
UN(hsig6, "HardSigmoid", 6, 1, 1)
UN(hswish14, "HardSwish", 14, 1, 1)
UN(tanh1, "Tanh", 1, 1, 1)
UN(tanh6, "Tanh", 6, 1, 1)
UN(tanh13, "Tanh", 13, 1, 1)
UN(softplus1, "Softplus", 1, 1, 1)
UN(softsign1, "Softsign", 1, 1, 1)
UN(erf9, "Erf", 9, 1, 1)
UN(erf13, "Erf", 13, 1, 1)
UN(exp1, "Exp", 1, 1, 1)
UN(exp6, "Exp", 6, 1, 1)
UN(exp13, "Exp", 13, 1, 1)
UN(log1, "Log", 1, 1, 1)
UN(log6, "Log", 6, 1, 1)
UN(log13, "Log", 13, 1, 1)
UN(sqrt1, "Sqrt", 1, 1, 1)
UN(sqrt6, "Sqrt", 6, 1, 1)
UN(sqrt13, "Sqrt", 13, 1, 1)
UN(neg1, "Neg", 1, 1, 1)
UN(neg6, "Neg", 6, 1, 1)
UN(neg13, "Neg", 13, 1, 1)
UN(abs1, "Abs", 1, 1, 1)
UN(abs6, "Abs", 6, 1, 1)
UN(abs13, "Abs", 13, 1, 1)
UN(recip1, "Reciprocal", 1, 1, 1)
UN(recip6, "Reciprocal", 6, 1, 1)
UN(recip13, "Reciprocal", 13, 1, 1)
UN(floor1, "Floor", 1, 1, 1)
UN(floor6, "Floor", 6, 1, 1)
UN(floor13, "Floor", 13, 1, 1)
UN(ceil1, "Ceil", 1, 1, 1)
UN(ceil6, "Ceil", 6, 1, 1)
UN(ceil13, "Ceil", 13, 1, 1)
UN(sign9, "Sign", 9, 1, 1)
UN(sign13, "Sign", 13, 1, 1)
UN(round11, "Round", 11, 1, 1)
UN(sin7, "Sin", 7, 1, 1)
UN(cos7, "Cos", 7, 1, 1)
UN(tan7, "Tan", 7, 1, 1)
UN(asin7, "Asin", 7, 1, 1)
UN(acos7, "Acos", 7, 1, 1)
UN(atan7, "Atan", 7, 1, 1)
UN(sinh9, "Sinh", 9, 1, 1)
UN(cosh9, "Cosh", 9, 1, 1)
UN(asinh9, "Asinh", 9, 1, 1)
UN(acosh9, "Acosh", 9, 1, 1)
UN(atanh9, "Atanh", 9, 1, 1)
UN(thrrelu10, "ThresholdedRelu", 10, 1, 1)
UN(shrink9, "Shrink", 9, 1, 1)
UN(celu12, "Celu", 12, 1, 1)
UN(mish18, "Mish", 18, 1, 1)

OP_TABLE(unary) = {&relu1, &relu6, &relu13, &relu14, &leaky1, &leaky6, &leaky16, &elu1, &elu6,
                   &selu1, &selu6, &clip1, &clip6, &clip11, &clip12, &clip13, &sigmoid1,
                   &sigmoid6, &sigmoid13, &hsig1, &hsig6, &hswish14, &tanh1, &tanh6, &tanh13,
                   &softplus1, &softsign1, &erf9, &erf13, &exp1, &exp6, &exp13, &log1, &log6,
                   &log13, &sqrt1, &sqrt6, &sqrt13, &neg1, &neg6, &neg13, &abs1, &abs6, &abs13,
                   &recip1, &recip6, &recip13, &floor1, &floor6, &floor13, &ceil1, &ceil6,
                   &ceil13, &sign9, &sign13, &round11, &sin7, &cos7, &tan7, &asin7, &acos7,
                   &atan7, &sinh9, &cosh9, &asinh9, &acosh9, &atanh9, &thrrelu10, &shrink9,
                   &celu12, &mish18, NULL};
