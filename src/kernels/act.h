/*
 * Activations that a graph pass fuses into the epilogue of Conv, ConvTranspose, Gemm
 * and MatMul (ir_node.fused_act with act_alpha / act_beta). The kernel applies
 * k_act_apply to each block of outputs it has just written, while it is in cache.
 */
#ifndef NORMA_ACT_H
#define NORMA_ACT_H

#include <math.h>
#include <stddef.h>

#include "kernels/fastmath.h"
#include "kernels/norm.h"
#include "kernels/unary.h"

enum {
    ACT_NONE = 0,
    ACT_RELU = 1,
    ACT_CLIP = 2,         /* alpha = min, beta = max */
    ACT_LEAKY_RELU = 3,   /* alpha */
    ACT_SIGMOID = 4,
    ACT_HARD_SIGMOID = 5, /* alpha, beta: max(0, min(1, alpha*x + beta)) */
    ACT_HARD_SWISH = 6,   /* x * max(0, min(1, x/6 + 1/2)) */
    ACT_GELU = 7,         /* alpha = 0: exact (erf), 1: tanh approximation (k_f32_gelu) */
    ACT_SILU = 8          /* x * sigmoid(x): PyTorch's SiLU, exported as Sigmoid and Mul */
};

/* The ONNX op an activation code stands for ("" for ACT_NONE or an unknown code;
 * "SiLU" for the Sigmoid and Mul it replaces). */
static inline const char *k_act_name(int act)
{
    static const char *const names[] = {"", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish",
                                        "Gelu", "SiLU"};
    return act > 0 && act < (int)(sizeof names / sizeof names[0]) ? names[act] : "";
}

static inline float k_act_one(float x, int act, float alpha, float beta)
{
    switch (act) {
    case ACT_RELU: return x > 0 ? x : 0; /* NaN stays NaN? ONNX Relu: max(0, x); keep x<0 -> 0 */
    case ACT_CLIP: return x < alpha ? alpha : x > beta ? beta : x;
    case ACT_LEAKY_RELU: return x >= 0 ? x : alpha * x;
    case ACT_SIGMOID: return 1.0f / (1.0f + k_expf(-x)); /* as the Sigmoid op computes it */
    case ACT_SILU: return x * (1.0f / (1.0f + k_expf(-x))); /* as Mul(x, Sigmoid(x)) */
    case ACT_HARD_SIGMOID: {
        float y = alpha * x + beta;
        return y < 0 ? 0 : y > 1 ? 1 : y;
    }
    case ACT_HARD_SWISH: {
        float y = x / 6.0f + 0.5f;
        return x * (y < 0 ? 0 : y > 1 ? 1 : y);
    }
    case ACT_GELU: {
        float y;
        k_f32_gelu(1, &x, &y, alpha != 0);
        return y;
    }
    default: return x;
    }
}

static inline void k_act_apply(float *y, size_t n, int act, float alpha, float beta)
{
    if (act == ACT_NONE)
        return;
    if (act == ACT_RELU) {
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0 ? y[i] : 0;
        return;
    }
    if (act == ACT_GELU) { /* vectorized, in place */
        k_f32_gelu(n, y, y, alpha != 0);
        return;
    }
    if (act == ACT_SIGMOID || act == ACT_SILU) { /* vectorized, in place */
        k_f32_sigmoid_inplace(n, y, act == ACT_SILU);
        return;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = k_act_one(y[i], act, alpha, beta);
}

#endif
