/*
 * Tests of RNN, GRU and LSTM against a plain scalar reference written here from the
 * ONNX spec's equations (double precision, one dot product per gate, no GEMM), on
 * seeded random data with odd sizes, both directions, layouts 0 and 1, per-entry
 * sequence_lens, initial states, peepholes, clip and non-default activations.
 */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/rnn.h"
#include "optest.h"
#include "testutil.h"

typedef struct rcase {
    const char *op;
    int opset;
    const char *dir;
    int layout;
    size_t S, B, I, H;
    int bias, h0, c0, peep;
    const int32_t *lens; /* B entries, or NULL */
    float clip;          /* 0: attribute absent */
    int lbr, input_forget;
    const char *acts[6];
    int nacts;
    float alphas[6], betas[6];
    int nal, nbe;
    unsigned const_mask;
    int threads;
} rcase;

/* ---- the reference ---- */

typedef struct ract {
    char name[32];
    double a, b;
} ract;

static double ract_eval(const ract *f, double x)
{
    const char *n = f->name;
    if (!strcmp(n, "sigmoid"))
        return 1.0 / (1.0 + exp(-x));
    if (!strcmp(n, "tanh"))
        return tanh(x);
    if (!strcmp(n, "relu"))
        return x > 0 ? x : 0;
    if (!strcmp(n, "hardsigmoid"))
        return fmax(0, fmin(1, f->a * x + f->b));
    if (!strcmp(n, "leakyrelu"))
        return x >= 0 ? x : f->a * x;
    if (!strcmp(n, "thresholdedrelu"))
        return x > f->a ? x : 0;
    if (!strcmp(n, "scaledtanh"))
        return f->a * tanh(f->b * x);
    if (!strcmp(n, "affine"))
        return f->a * x + f->b;
    if (!strcmp(n, "elu"))
        return x >= 0 ? x : f->a * (exp(x) - 1);
    if (!strcmp(n, "softsign"))
        return x / (1 + fabs(x));
    if (!strcmp(n, "softplus"))
        return log(1 + exp(x));
    fail_msg("reference: unknown activation %s", n);
    return 0;
}

/* Fills acts[d][k] from the case: defaults, or the named list with alphas / betas
 * consumed in order by the functions that take them. */
static void ref_acts(const rcase *rc, int D, int na, ract acts[2][3])
{
    static const char *defs[3][3] = {{"tanh"}, {"sigmoid", "tanh"}, {"sigmoid", "tanh", "tanh"}};
    int cell = na - 1, ia = 0, ib = 0;
    for (int d = 0; d < D; d++)
        for (int k = 0; k < na; k++) {
            ract *f = &acts[d][k];
            const char *src = rc->nacts ? rc->acts[rc->nacts == na ? k : d * na + k] : defs[cell][k];
            size_t i = 0;
            for (; src[i] && i < sizeof f->name - 1; i++)
                f->name[i] = (char)tolower((unsigned char)src[i]);
            f->name[i] = 0;
            int ua = 0, ub = 0;
            f->a = f->b = 0;
            if (!strcmp(f->name, "hardsigmoid")) {
                f->a = 0.2, f->b = 0.5, ua = ub = 1;
            } else if (!strcmp(f->name, "leakyrelu")) {
                f->a = 0.01, ua = 1;
            } else if (!strcmp(f->name, "thresholdedrelu") || !strcmp(f->name, "elu")) {
                f->a = 1, ua = 1;
            } else if (!strcmp(f->name, "scaledtanh")) {
                f->a = f->b = 1, ua = ub = 1;
            } else if (!strcmp(f->name, "affine")) {
                f->a = 1, ua = ub = 1;
            }
            if (ua && ia < rc->nal)
                f->a = rc->alphas[ia++];
            if (ub && ib < rc->nbe)
                f->b = rc->betas[ib++];
        }
    if (D == 2 && rc->nacts == na)
        memcpy(acts[1], acts[0], sizeof acts[0]);
}

static double clipd(double x, double clip)
{
    return clip > 0 ? fmax(-clip, fmin(clip, x)) : x;
}

/* x(t,b,:) . w(row,:) over n with x's and w's element strides 1. */
static double dot(const float *x, const float *w, size_t n)
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += (double)x[k] * (double)w[k];
    return s;
}

static void ref_run(const rcase *rc, const float *X, const float *W, const float *R, const float *Bi,
                    const float *H0, const float *C0, const float *P, float *Y, float *Yh, float *Yc)
{
    int cell = !strcmp(rc->op, "LSTM") ? 2 : !strcmp(rc->op, "GRU") ? 1 : 0;
    size_t G = cell == 2 ? 4 : cell == 1 ? 3 : 1, S = rc->S, B = rc->B, I = rc->I, H = rc->H;
    int D = !strcmp(rc->dir, "bidirectional") ? 2 : 1;
    ract acts[2][3];
    ref_acts(rc, D, cell + 1, acts);
    double clip = rc->clip;
    memset(Y, 0, sizeof(float) * S * (size_t)D * B * H);
    double *h = calloc(H, sizeof(double)), *cst = calloc(H, sizeof(double)), *hn = calloc(H, sizeof(double));
    double *g = calloc(G * H, sizeof(double));
    float *hf = calloc(H, sizeof(float));
    for (int d = 0; d < D; d++) {
        int rev = !strcmp(rc->dir, "reverse") || d == 1;
        const float *w = W + (size_t)d * G * H * I, *r = R + (size_t)d * G * H * H;
        const float *wb = Bi ? Bi + (size_t)d * 2 * G * H : NULL, *rb = wb ? wb + G * H : NULL;
        const float *p = P ? P + (size_t)d * 3 * H : NULL;
        for (size_t b = 0; b < B; b++) {
            size_t so = (rc->layout ? b * (size_t)D + (size_t)d : (size_t)d * B + b) * H;
            for (size_t j = 0; j < H; j++) {
                h[j] = H0 ? H0[so + j] : 0;
                cst[j] = C0 ? C0[so + j] : 0;
            }
            size_t L = rc->lens ? (size_t)rc->lens[b] : S;
            for (size_t st = 0; st < L; st++) {
                size_t t = rev ? L - 1 - st : st;
                const float *x = X + (rc->layout ? b * S + t : t * B + b) * I;
                for (size_t j = 0; j < H; j++)
                    hf[j] = (float)h[j];
                for (size_t q = 0; q < G * H; q++) {
                    g[q] = dot(x, w + q * I, I) + (wb ? wb[q] : 0);
                    /* GRU's h gate gets its recurrent term below */
                    if (!(cell == 1 && q >= 2 * H))
                        g[q] += dot(hf, r + q * H, H) + (rb ? rb[q] : 0);
                }
                for (size_t j = 0; j < H; j++) {
                    if (cell == 0) {
                        hn[j] = ract_eval(&acts[d][0], clipd(g[j], clip));
                    } else if (cell == 1) {
                        double z = ract_eval(&acts[d][0], clipd(g[j], clip));
                        double rr = ract_eval(&acts[d][0], clipd(g[H + j], clip));
                        double hh;
                        if (rc->lbr) {
                            hh = g[2 * H + j] + rr * (dot(hf, r + (2 * H + j) * H, H) + (rb ? rb[2 * H + j] : 0));
                        } else {
                            double s = 0;
                            for (size_t k = 0; k < H; k++) {
                                double rk = ract_eval(&acts[d][0], clipd(g[H + k], clip));
                                s += (double)(float)(rk * h[k]) * r[(2 * H + j) * H + k];
                            }
                            hh = g[2 * H + j] + s + (rb ? rb[2 * H + j] : 0);
                        }
                        hh = ract_eval(&acts[d][1], clipd(hh, clip));
                        hn[j] = (1 - z) * hh + z * h[j];
                    } else {
                        double cp = cst[j];
                        double ig = ract_eval(&acts[d][0], clipd(g[j] + (p ? p[j] * cp : 0), clip));
                        double fg = rc->input_forget ? 1 - ig
                                                     : ract_eval(&acts[d][0], clipd(g[2 * H + j] + (p ? p[2 * H + j] * cp : 0), clip));
                        double cg = ract_eval(&acts[d][1], clipd(g[3 * H + j], clip));
                        double cn = fg * cp + ig * cg;
                        double og = ract_eval(&acts[d][0], clipd(g[H + j] + (p ? p[H + j] * cn : 0), clip));
                        cst[j] = cn;
                        hn[j] = og * ract_eval(&acts[d][2], cn);
                    }
                }
                memcpy(h, hn, H * sizeof(double));
                size_t yo = (rc->layout ? (b * S + t) * (size_t)D + (size_t)d : (t * (size_t)D + (size_t)d) * B + b) * H;
                for (size_t j = 0; j < H; j++)
                    Y[yo + j] = (float)h[j];
            }
            for (size_t j = 0; j < H; j++) {
                Yh[so + j] = (float)h[j];
                if (Yc)
                    Yc[so + j] = (float)cst[j];
            }
        }
    }
    free(h);
    free(cst);
    free(hn);
    free(g);
    free(hf);
}

/* ---- driving the op ---- */

static void set_node(ot_node *t, const rcase *rc)
{
    ot_init(t, rc->op, rc->opset, 0, 0);
    ot_str(t, "direction", rc->dir);
    ot_int(t, "hidden_size", (int64_t)rc->H);
    if (rc->opset >= 14)
        ot_int(t, "layout", rc->layout);
    if (rc->clip > 0)
        ot_float(t, "clip", rc->clip);
    if (rc->lbr)
        ot_int(t, "linear_before_reset", 1);
    if (rc->input_forget)
        ot_int(t, "input_forget", 1);
    if (rc->nacts)
        ot_strs(t, "activations", rc->acts, (size_t)rc->nacts);
    if (rc->nal)
        ot_floats(t, "activation_alpha", rc->alphas, (size_t)rc->nal);
    if (rc->nbe)
        ot_floats(t, "activation_beta", rc->betas, (size_t)rc->nbe);
}

static float *rnd(size_t n, float lo, float hi)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    tu_fill(p, n, lo, hi);
    return p;
}

static void check_case(const rcase *rc)
{
    int cell = !strcmp(rc->op, "LSTM") ? 2 : !strcmp(rc->op, "GRU") ? 1 : 0;
    size_t G = cell == 2 ? 4 : cell == 1 ? 3 : 1, S = rc->S, B = rc->B, I = rc->I, H = rc->H;
    int D = !strcmp(rc->dir, "bidirectional") ? 2 : 1;
    size_t Dz = (size_t)D;
    float *X = rnd(S * B * I, -1, 1), *W = rnd(Dz * G * H * I, -0.6f, 0.6f), *R = rnd(Dz * G * H * H, -0.6f, 0.6f);
    float *Bi = rc->bias ? rnd(Dz * 2 * G * H, -0.5f, 0.5f) : NULL;
    float *H0 = rc->h0 ? rnd(Dz * B * H, -1, 1) : NULL, *C0 = rc->c0 ? rnd(Dz * B * H, -1, 1) : NULL;
    float *P = rc->peep ? rnd(Dz * 3 * H, -0.5f, 0.5f) : NULL;
    int64_t xd[3] = {(int64_t)S, (int64_t)B, (int64_t)I}, wd[3] = {D, (int64_t)(G * H), (int64_t)I};
    int64_t rd[3] = {D, (int64_t)(G * H), (int64_t)H}, bd[2] = {D, (int64_t)(2 * G * H)};
    int64_t hd[3] = {D, (int64_t)B, (int64_t)H}, pd[2] = {D, (int64_t)(3 * H)}, ld[1] = {(int64_t)B};
    if (rc->layout) {
        xd[0] = (int64_t)B, xd[1] = (int64_t)S;
        hd[0] = (int64_t)B, hd[1] = D;
    }
    ir_tensor tx = ot_view(NORMA_FLOAT, 3, xd, X), tw = ot_view(NORMA_FLOAT, 3, wd, W), tr = ot_view(NORMA_FLOAT, 3, rd, R), tb = ot_view(NORMA_FLOAT, 2, bd, Bi);
    ir_tensor th = ot_view(NORMA_FLOAT, 3, hd, H0), tc = ot_view(NORMA_FLOAT, 3, hd, C0), tp = ot_view(NORMA_FLOAT, 2, pd, P);
    ir_tensor tl = ot_view(NORMA_FLOAT, 1, ld, NULL);
    tl.dtype = NORMA_INT32;
    tl.data = (void *)rc->lens;
    ir_tensor *in[8] = {&tx, &tw, &tr, Bi ? &tb : NULL, rc->lens ? &tl : NULL, H0 ? &th : NULL, C0 ? &tc : NULL,
                        P ? &tp : NULL};
    int n_in = cell == 2 ? 8 : 6, n_out = cell == 2 ? 3 : 2;
    while (n_in > 3 && !in[n_in - 1])
        n_in--;
    ot_node t;
    set_node(&t, rc);
    ir_tensor *out[3] = {NULL, NULL, NULL};
    int st = ot_run(&t, n_in, in, n_out, out, rc->const_mask, rc->threads ? rc->threads : 1);
    if (st)
        fail_msg("%s %s: status %d: %s", rc->op, rc->dir, st, t.err);
    size_t ny = S * Dz * B * H, nh = Dz * B * H;
    float *Y = malloc(sizeof(float) * (ny + 1)), *Yh = malloc(sizeof(float) * (nh + 1));
    float *Yc = malloc(sizeof(float) * (nh + 1));
    ref_run(rc, X, W, R, Bi, H0, C0, P, Y, Yh, cell == 2 ? Yc : NULL);
    assert_int_equal(ir_tensor_numel(out[0]), ny);
    assert_int_equal(ir_tensor_numel(out[1]), nh);
    double e0 = tu_max_rel_err(out[0]->data, Y, ny, 1e-5, 1e-4);
    double e1 = tu_max_rel_err(out[1]->data, Yh, nh, 1e-5, 1e-4);
    double e2 = cell == 2 ? tu_max_rel_err(out[2]->data, Yc, nh, 1e-5, 1e-4) : 0;
    if (e0 > 1 || e1 > 1 || e2 > 1)
        fail_msg("%s %s layout %d S=%zu B=%zu I=%zu H=%zu: rel err Y %g Y_h %g Y_c %g", rc->op, rc->dir, rc->layout,
                 S, B, I, H, e0, e1, e2);
    for (int k = 0; k < n_out; k++)
        ir_tensor_free(out[k]);
    free(X), free(W), free(R), free(Bi), free(H0), free(C0), free(P), free(Y), free(Yh), free(Yc);
}

static const char *const dirs[] = {"forward", "reverse", "bidirectional"};
static const int32_t lens4[4] = {5, 2, 0, 3}, lens7[7] = {1, 4, 6, 2, 6, 3, 5};

static void rnn_all_directions_match_reference(void **st)
{
    (void)st;
    tu_seed(11);
    for (int d = 0; d < 3; d++)
        for (int opset = 7; opset <= 14; opset += 7) {
            rcase rc = {.op = "RNN", .opset = opset, .dir = dirs[d], .layout = opset == 14, .S = 5, .B = 3, .I = 7,
                        .H = 9, .bias = 1, .h0 = 1, .const_mask = 6};
            check_case(&rc);
            rc.bias = rc.h0 = 0;
            rc.const_mask = 0; /* weights packed at run time */
            rc.S = 1, rc.B = 1, rc.I = 1, rc.H = 1;
            check_case(&rc);
        }
}

static void gru_linear_before_reset_both_ways_match_reference(void **st)
{
    (void)st;
    tu_seed(12);
    for (int d = 0; d < 3; d++)
        for (int lbr = 0; lbr <= 1; lbr++) {
            rcase rc = {.op = "GRU", .opset = 14, .dir = dirs[d], .layout = d == 1, .S = 6, .B = 7, .I = 5, .H = 17,
                        .bias = 1, .h0 = 1, .lbr = lbr, .const_mask = lbr ? 6 : 0};
            check_case(&rc);
            rc.opset = 7, rc.layout = 0, rc.bias = 0, rc.S = 3, rc.B = 1, rc.H = 33;
            check_case(&rc);
        }
}

static void lstm_peepholes_initial_states_match_reference(void **st)
{
    (void)st;
    tu_seed(13);
    for (int d = 0; d < 3; d++)
        for (int layout = 0; layout <= 1; layout++) {
            rcase rc = {.op = "LSTM", .opset = 14, .dir = dirs[d], .layout = layout, .S = 5, .B = 4, .I = 9, .H = 15,
                        .bias = 1, .h0 = 1, .c0 = 1, .peep = 1, .const_mask = layout ? 6 : 0};
            check_case(&rc);
            rc.peep = rc.c0 = 0, rc.I = 16, rc.H = 8, rc.B = 2;
            check_case(&rc);
        }
}

static void sequence_lens_zero_tail_and_last_state(void **st)
{
    (void)st;
    tu_seed(14);
    for (int d = 0; d < 3; d++) {
        rcase g = {.op = "GRU", .opset = 7, .dir = dirs[d], .S = 5, .B = 4, .I = 3, .H = 5, .bias = 1, .h0 = 1,
                   .lens = lens4, .const_mask = 6};
        check_case(&g);
        rcase l = {.op = "LSTM", .opset = 14, .dir = dirs[d], .layout = 1, .S = 6, .B = 7, .I = 5, .H = 6, .bias = 1,
                   .h0 = 1, .c0 = 1, .peep = 1, .lens = lens7, .const_mask = 0};
        check_case(&l);
        rcase r = {.op = "RNN", .opset = 14, .dir = dirs[d], .S = 5, .B = 4, .I = 2, .H = 3, .lens = lens4,
                   .const_mask = 6};
        check_case(&r);
    }
}

static void clip_input_forget_and_activations_match_reference(void **st)
{
    (void)st;
    tu_seed(15);
    rcase l = {.op = "LSTM", .opset = 14, .dir = "bidirectional", .S = 4, .B = 3, .I = 5, .H = 7, .bias = 1, .h0 = 1,
               .c0 = 1, .peep = 1, .clip = 0.7f, .input_forget = 1, .const_mask = 6,
               .acts = {"HardSigmoid", "Softsign", "ScaledTanh", "Sigmoid", "Elu", "Affine"}, .nacts = 6,
               .alphas = {0.3f, 0.8f, 0.9f, 0.5f}, .betas = {0.4f, 1.5f, 0.1f}, .nal = 4, .nbe = 3};
    check_case(&l);
    rcase g = {.op = "GRU", .opset = 7, .dir = "bidirectional", .S = 4, .B = 2, .I = 3, .H = 5, .bias = 1, .h0 = 1,
               .clip = 1.5f, .acts = {"Sigmoid", "LeakyRelu"}, .nacts = 2, .alphas = {0.2f}, .nal = 1};
    check_case(&g);
    rcase r = {.op = "RNN", .opset = 14, .dir = "bidirectional", .S = 3, .B = 2, .I = 4, .H = 6, .bias = 1,
               .acts = {"Relu", "ThresholdedRelu"}, .nacts = 2, .alphas = {0.1f}, .nal = 1, .const_mask = 6};
    check_case(&r);
    r.acts[0] = "Softplus", r.acts[1] = "tanh";
    check_case(&r);
}

static void lstm_large_batch_threads_match_reference(void **st)
{
    (void)st;
    tu_seed(16);
    rcase l = {.op = "LSTM", .opset = 14, .dir = "bidirectional", .S = 3, .B = 65, .I = 33, .H = 65, .bias = 1,
               .h0 = 1, .c0 = 1, .const_mask = 6, .threads = 2};
    check_case(&l);
}

/* ---- the vectorized cells against the _ref kernels ---- */

static void fast_cells_match_ref_kernels(void **st)
{
    (void)st;
    tu_seed(17);
    static const size_t hs[] = {1, 7, 16, 33, 100};
    k_rnn_act sig = {K_RNN_SIGMOID, 0, 0}, th = {K_RNN_TANH, 0, 0};
    float g[400], g2[400], P[300], c0[100], c1[100], c2[100], h0[100], h1[100], h2[100], hr[100], rbh[100];
    for (size_t k = 0; k < sizeof hs / sizeof hs[0]; k++) {
        size_t H = hs[k];
        for (int v = 0; v < 4; v++) {
            float clip = v & 1 ? 0.9f : 0;
            tu_fill(g, 4 * H, -4, 4);
            tu_fill(P, 3 * H, -1, 1);
            tu_fill(c0, H, -2, 2);
            tu_fill(h0, H, -1, 1);
            tu_fill(hr, H, -1, 1);
            tu_fill(rbh, H, -1, 1);
            /* LSTM, with peepholes and input_forget on v & 2 */
            memcpy(g2, g, sizeof g), memcpy(c1, c0, sizeof c0), memcpy(c2, c0, sizeof c0);
            k_f32_lstm_cell_ref(H, g, v & 2 ? P : NULL, &sig, &th, &th, clip, v == 3, c1, h1);
            k_f32_lstm_cell_sig_tanh(H, g2, v & 2 ? P : NULL, clip, v == 3, c2, h2);
            assert_true(tu_max_rel_err(h2, h1, H, 1e-6, 1e-5) <= 1);
            assert_true(tu_max_rel_err(c2, c1, H, 1e-6, 1e-5) <= 1);
            /* GRU, linear_before_reset on v & 2 */
            memcpy(g2, g, sizeof g), memcpy(h1, h0, sizeof h0), memcpy(h2, h0, sizeof h0);
            k_f32_gru_reset_ref(H, g, &sig, clip, h0, c1);
            k_f32_gru_reset_sig(H, g, clip, h0, c2);
            assert_true(tu_max_rel_err(c2, c1, H, 1e-6, 1e-5) <= 1);
            k_f32_gru_cell_ref(H, g, v & 2 ? hr : NULL, v & 2 ? rbh : NULL, &sig, &th, clip, h1);
            k_f32_gru_cell_sig_tanh(H, g2, v & 2 ? hr : NULL, v & 2 ? rbh : NULL, clip, h2);
            assert_true(tu_max_rel_err(h2, h1, H, 1e-6, 1e-5) <= 1);
            /* RNN */
            memcpy(g2, g, sizeof g);
            k_f32_rnn_cell_ref(H, g, &th, clip, h1);
            k_f32_rnn_cell_tanh(H, g2, clip, h2);
            assert_true(tu_max_rel_err(h2, h1, H, 1e-6, 1e-5) <= 1);
        }
    }
}

/* ---- errors ---- */

static int run_shapes(ot_node *t, int64_t S, int64_t B, int64_t I, int64_t GH, int64_t H, int64_t D, const float *buf,
                      ir_tensor *lens)
{
    int64_t xd[3] = {S, B, I}, wd[3] = {D, GH, I}, rd[3] = {D, GH, H};
    ir_tensor tx = ot_view(NORMA_FLOAT, 3, xd, buf), tw = ot_view(NORMA_FLOAT, 3, wd, buf), tr = ot_view(NORMA_FLOAT, 3, rd, buf);
    ir_tensor *in[5] = {&tx, &tw, &tr, NULL, lens};
    ir_tensor *out[2];
    return ot_run(t, lens ? 5 : 3, in, 2, out, 6, 1);
}

static void rnn_errors_name_op_and_value(void **st)
{
    (void)st;
    static float buf[4096];
    ot_node t;
    ot_init(&t, "LSTM", 14, 0, 0);
    ot_int(&t, "hidden_size", 5);
    assert_int_equal(run_shapes(&t, 2, 3, 4, 24, 6, 1, buf, NULL), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "LSTM 'n0': hidden_size 5 does not match R's last dimension 6"));

    ot_init(&t, "GRU", 7, 0, 0);
    assert_int_equal(run_shapes(&t, 2, 3, 4, 10, 5, 1, buf, NULL), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "GRU 'n0': W has shape"));

    ot_init(&t, "RNN", 14, 0, 0);
    ot_str(&t, "direction", "bidirectional");
    assert_int_equal(run_shapes(&t, 2, 3, 4, 5, 5, 1, buf, NULL), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "RNN 'n0': W has shape (1,5,4), expected (2,5,4)"));

    ot_init(&t, "RNN", 7, 0, 0);
    ot_str(&t, "direction", "sideways");
    assert_int_equal(run_shapes(&t, 2, 3, 4, 5, 5, 1, buf, NULL), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "direction 'sideways'"));

    ot_init(&t, "GRU", 14, 0, 0);
    static const char *bad[2] = {"Sigmoid", "Swish"};
    ot_strs(&t, "activations", bad, 2);
    assert_int_equal(run_shapes(&t, 2, 3, 4, 15, 5, 1, buf, NULL), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(t.err, "GRU 'n0': unsupported activation 'Swish'"));

    ot_init(&t, "RNN", 14, 0, 0);
    ot_int(&t, "layout", 2);
    assert_int_equal(run_shapes(&t, 2, 3, 4, 5, 5, 1, buf, NULL), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "layout 2 must be 0 or 1"));

    int32_t lv[3] = {1, 3, 2};
    int64_t ld[1] = {3};
    ir_tensor tl = ot_view(NORMA_FLOAT, 1, ld, NULL);
    tl.dtype = NORMA_INT32;
    tl.data = lv;
    ot_init(&t, "RNN", 14, 0, 0);
    assert_int_equal(run_shapes(&t, 2, 3, 4, 5, 5, 1, buf, &tl), NORMA_ERR_RUNTIME);
    assert_non_null(strstr(t.err, "RNN 'n0': sequence_lens[1] = 3 is outside [0, 2]"));
    ld[0] = 2;
    tl = ot_view(NORMA_FLOAT, 1, ld, NULL);
    tl.dtype = NORMA_INT32;
    tl.data = lv;
    assert_int_equal(run_shapes(&t, 2, 3, 4, 5, 5, 1, buf, &tl), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "sequence_lens must have shape (3)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rnn_all_directions_match_reference),
        cmocka_unit_test(gru_linear_before_reset_both_ways_match_reference),
        cmocka_unit_test(lstm_peepholes_initial_states_match_reference),
        cmocka_unit_test(sequence_lens_zero_tail_and_last_state),
        cmocka_unit_test(clip_input_forget_and_activations_match_reference),
        cmocka_unit_test(lstm_large_batch_threads_match_reference),
        cmocka_unit_test(fast_cells_match_ref_kernels),
        cmocka_unit_test(rnn_errors_name_op_and_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
