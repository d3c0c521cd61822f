/*
 * Pointwise parts of the recurrent cells (ONNX RNN, GRU, LSTM): the gate
 * activations and the state update of one batch row for one time step. The matrix
 * products (X*W^T for all steps, H*R^T per step) are done by the packed GEMM of
 * kernels/gemm.h; these loops take their results.
 *
 * Gate pre-activations arrive with every bias already added (except GRU's Rbh with
 * linear_before_reset, passed separately). clip > 0 clips pre-activations to
 * [-clip, clip] before the activation, as the spec asks; clip <= 0 means none.
 */
#ifndef NORMA_KERNELS_RNN_H
#define NORMA_KERNELS_RNN_H

#include <stddef.h>

/* Activation functions the recurrent ops accept (attribute `activations`). */
enum {
    K_RNN_SIGMOID = 0,
    K_RNN_TANH,
    K_RNN_RELU,
    K_RNN_HARD_SIGMOID,    /* max(0, min(1, alpha*x + beta)) */
    K_RNN_LEAKY_RELU,      /* x >= 0 ? x : alpha*x */
    K_RNN_THRESHOLDED_RELU, /* x > alpha ? x : 0 */
    K_RNN_SCALED_TANH,     /* alpha * tanh(beta * x) */
    K_RNN_AFFINE,          /* alpha*x + beta */
    K_RNN_ELU,             /* x >= 0 ? x : alpha*(exp(x) - 1) */
    K_RNN_SOFTSIGN,        /* x / (1 + |x|) */
    K_RNN_SOFTPLUS,        /* log(1 + exp(x)) */
    K_RNN_N_ACT
};

/* One activation with its parameters. */
typedef struct k_rnn_act {
    int kind;
    float alpha, beta;
} k_rnn_act;

/* Index of the activation named `name` (case-insensitive, ONNX spelling), or -1;
 * *alpha / *beta receive its default parameters. */
int k_rnn_act_lookup(const char *name, float *alpha, float *beta);

/* Whether activation `kind` reads alpha / beta (used to consume activation_alpha and
 * activation_beta in order). */
int k_rnn_act_uses_alpha(int kind);
int k_rnn_act_uses_beta(int kind);

/* y = act(clip(x)) for one value. */
float k_rnn_act_one(const k_rnn_act *a, float clip, float x);

/* RNN: g (H) pre-activations -> h (H) = f(g). */
void k_f32_rnn_cell_ref(size_t H, const float *g, const k_rnn_act *f, float clip, float *h);

/* LSTM, gates in ONNX order i, o, f, c in g (4H). P (3H: i, o, f peepholes) may be
 * NULL. c (H) is read as C(t-1) and overwritten with C(t); h (H) gets H(t).
 * input_forget couples the gates: f = 1 - i. */
void k_f32_lstm_cell_ref(size_t H, const float *g, const float *P, const k_rnn_act *f,
                         const k_rnn_act *gg, const k_rnn_act *hh, float clip, int input_forget,
                         float *c, float *h);

/* GRU, first half: from g (3H: z, r, h) computes r = f(g_r) and writes rh = r * h
 * (H), the left operand of (r . H) * Rh^T when linear_before_reset is 0. */
void k_f32_gru_reset_ref(size_t H, const float *g, const k_rnn_act *f, float clip, const float *h,
                         float *rh);

/* GRU, the update. g (3H: z, r, h pre-activations). With linear_before_reset, hr (H)
 * is H(t-1)*Rh^T and rbh (H) its bias: the h gate is g_h + r * (hr + rbh); without,
 * g_h already holds (r . H(t-1))*Rh^T and hr, rbh are NULL. h (H) is H(t-1) in,
 * H(t) out. */
void k_f32_gru_cell_ref(size_t H, const float *g, const float *hr, const float *rbh,
                        const k_rnn_act *f, const k_rnn_act *gg, float clip, float *h);

/* Faster variants for the default activations (f = Sigmoid, g = h = Tanh), with
 * branch-free exp / tanh (kernels/fastmath.h, a few ulp) in loops the compiler
 * vectorizes. Same contracts as the _ref kernels, except that g (the gate
 * pre-activations, scratch of the caller) is overwritten. */
void k_f32_rnn_cell_tanh(size_t H, float *g, float clip, float *h);
void k_f32_lstm_cell_sig_tanh(size_t H, float *g, const float *P, float clip, int input_forget, float *c,
                              float *h);
void k_f32_gru_reset_sig(size_t H, const float *g, float clip, const float *h, float *rh);
void k_f32_gru_cell_sig_tanh(size_t H, float *g, const float *hr, const float *rbh, float clip, float *h);

#endif
