/*
 * Pointwise parts of the recurrent cells: see rnn.h. Written as plain loops over the
 * hidden units; the GEMMs around them dominate the time.
 */
#include "kernels/rnn.h"

#include "kernels/clones.h"
#include "kernels/fastmath.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    float alpha, beta;
    int uses_alpha, uses_beta;
} acts[K_RNN_N_ACT] = {
    [K_RNN_SIGMOID] = {"sigmoid", 0, 0, 0, 0},
    [K_RNN_TANH] = {"tanh", 0, 0, 0, 0},
    [K_RNN_RELU] = {"relu", 0, 0, 0, 0},
    [K_RNN_HARD_SIGMOID] = {"hardsigmoid", 0.2f, 0.5f, 1, 1},
    [K_RNN_LEAKY_RELU] = {"leakyrelu", 0.01f, 0, 1, 0},
    [K_RNN_THRESHOLDED_RELU] = {"thresholdedrelu", 1.0f, 0, 1, 0},
    [K_RNN_SCALED_TANH] = {"scaledtanh", 1.0f, 1.0f, 1, 1},
    [K_RNN_AFFINE] = {"affine", 1.0f, 0, 1, 1},
    [K_RNN_ELU] = {"elu", 1.0f, 0, 1, 0},
    [K_RNN_SOFTSIGN] = {"softsign", 0, 0, 0, 0},
    [K_RNN_SOFTPLUS] = {"softplus", 0, 0, 0, 0},
};

int k_rnn_act_lookup(const char *name, float *alpha, float *beta)
{
    for (int k = 0; k < K_RNN_N_ACT; k++) {
        const char *a = acts[k].name, *b = name;
        while (*a && *b && *a == tolower((unsigned char)*b)) {
            a++;
            b++;
        }
        if (!*a && !*b) {
            *alpha = acts[k].alpha;
            *beta = acts[k].beta;
            return k;
        }
    }
    return -1;
}

int k_rnn_act_uses_alpha(int kind)
{
    return kind >= 0 && kind < K_RNN_N_ACT && acts[kind].uses_alpha;
}

int k_rnn_act_uses_beta(int kind)
{
    return kind >= 0 && kind < K_RNN_N_ACT && acts[kind].uses_beta;
}

float k_rnn_act_one(const k_rnn_act *a, float clip, float x)
{
    if (clip > 0)
        x = x < -clip ? -clip : x > clip ? clip : x;
    switch (a->kind) {
    case K_RNN_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case K_RNN_TANH: return tanhf(x);
    case K_RNN_RELU: return x > 0 ? x : 0;
    case K_RNN_HARD_SIGMOID: {
        float y = a->alpha * x + a->beta;
        return y < 0 ? 0 : y > 1 ? 1 : y;
    }
    case K_RNN_LEAKY_RELU: return x >= 0 ? x : a->alpha * x;
    case K_RNN_THRESHOLDED_RELU: return x > a->alpha ? x : 0;
    case K_RNN_SCALED_TANH: return a->alpha * tanhf(a->beta * x);
    case K_RNN_AFFINE: return a->alpha * x + a->beta;
    case K_RNN_ELU: return x >= 0 ? x : a->alpha * (expf(x) - 1.0f);
    case K_RNN_SOFTSIGN: return x / (1.0f + fabsf(x));
    case K_RNN_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
    default: return x;
    }
}

void k_f32_rnn_cell_ref(size_t H, const float *g, const k_rnn_act *f, float clip, float *h)
{
    for (size_t j = 0; j < H; j++)
        h[j] = k_rnn_act_one(f, clip, g[j]);
}

void k_f32_lstm_cell_ref(size_t H, const float *g, const float *P, const k_rnn_act *f,
                         const k_rnn_act *gg, const k_rnn_act *hh, float clip, int input_forget,
                         float *c, float *h)
{
    const float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
    for (size_t j = 0; j < H; j++) {
        float cp = c[j];
        float pi = P ? P[j] * cp : 0, pf = P ? P[2 * H + j] * cp : 0;
        float i = k_rnn_act_one(f, clip, gi[j] + pi);
        float fo = input_forget ? 1.0f - i : k_rnn_act_one(f, clip, gf[j] + pf);
        float ct = k_rnn_act_one(gg, clip, gc[j]);
        float cn = fo * cp + i * ct;
        float o = k_rnn_act_one(f, clip, go[j] + (P ? P[H + j] * cn : 0));
        c[j] = cn;
        h[j] = o * k_rnn_act_one(hh, 0, cn);
    }
}

void k_f32_gru_reset_ref(size_t H, const float *g, const k_rnn_act *f, float clip, const float *h,
                         float *rh)
{
    for (size_t j = 0; j < H; j++)
        rh[j] = k_rnn_act_one(f, clip, g[H + j]) * h[j];
}

void k_f32_gru_cell_ref(size_t H, const float *g, const float *hr, const float *rbh,
                        const k_rnn_act *f, const k_rnn_act *gg, float clip, float *h)
{
    for (size_t j = 0; j < H; j++) {
        float z = k_rnn_act_one(f, clip, g[j]);
        float pre = g[2 * H + j];
        if (hr) {
            float r = k_rnn_act_one(f, clip, g[H + j]);
            pre += r * (hr[j] + (rbh ? rbh[j] : 0));
        }
        float ht = k_rnn_act_one(gg, clip, pre);
        h[j] = (1.0f - z) * ht + z * h[j];
    }
}

/* ---- default activations, vectorizable ---- */

K_INLINE float clipf(float x, float clip)
{
    return x < -clip ? -clip : x > clip ? clip : x;
}

K_INLINE float sigm(float x)
{
    return 1.0f / (1.0f + k_expf(-x));
}

K_INLINE void clip_all(float *x, size_t n, float clip)
{
    if (clip > 0)
        for (size_t j = 0; j < n; j++)
            x[j] = clipf(x[j], clip);
}

K_CLONES void k_f32_rnn_cell_tanh(size_t H, float *g, float clip, float *h)
{
    clip_all(g, H, clip);
    for (size_t j = 0; j < H; j++)
        h[j] = k_tanhf(g[j]);
}

K_CLONES void k_f32_lstm_cell_sig_tanh(size_t H, float *g, const float *P, float clip, int input_forget, float *c,
                              float *h)
{
    float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
    if (P)
        for (size_t j = 0; j < H; j++) {
            gi[j] += P[j] * c[j];
            gf[j] += P[2 * H + j] * c[j];
        }
    if (clip > 0) {
        clip_all(gi, H, clip);
        clip_all(gf, 2 * H, clip); /* f and c */
    }
    if (input_forget)
        for (size_t j = 0; j < H; j++) {
            float i = sigm(gi[j]);
            c[j] = (1.0f - i) * c[j] + i * k_tanhf(gc[j]);
        }
    else
        for (size_t j = 0; j < H; j++)
            c[j] = sigm(gf[j]) * c[j] + sigm(gi[j]) * k_tanhf(gc[j]);
    if (P)
        for (size_t j = 0; j < H; j++)
            go[j] += P[H + j] * c[j];
    clip_all(go, H, clip);
    for (size_t j = 0; j < H; j++)
        h[j] = sigm(go[j]) * k_tanhf(c[j]);
}

K_CLONES void k_f32_gru_reset_sig(size_t H, const float *g, float clip, const float *h, float *rh)
{
    const float *gr = g + H;
    if (clip > 0)
        for (size_t j = 0; j < H; j++)
            rh[j] = sigm(clipf(gr[j], clip)) * h[j];
    else
        for (size_t j = 0; j < H; j++)
            rh[j] = sigm(gr[j]) * h[j];
}

K_CLONES void k_f32_gru_cell_sig_tanh(size_t H, float *g, const float *hr, const float *rbh, float clip, float *h)
{
    float *gz = g, *gr = g + H, *gh = g + 2 * H;
    clip_all(g, 2 * H, clip);
    if (hr)
        for (size_t j = 0; j < H; j++)
            gh[j] += sigm(gr[j]) * (hr[j] + (rbh ? rbh[j] : 0));
    clip_all(gh, H, clip);
    for (size_t j = 0; j < H; j++) {
        float z = sigm(gz[j]);
        h[j] = (1.0f - z) * k_tanhf(gh[j]) + z * h[j];
    }
}
