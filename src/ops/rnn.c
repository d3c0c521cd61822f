/*
 * The recurrent ops RNN, GRU and LSTM (ONNX opsets 7 and 14; 14 adds `layout`).
 *
 *   X (S,B,I) [layout 1: (B,S,I)], W (D,G*H,I), R (D,G*H,H), B (D,2*G*H),
 *   sequence_lens (B), initial_h (D,B,H) [layout 1: (B,D,H)], LSTM: initial_c, P (D,3H)
 *   -> Y (S,D,B,H) [layout 1: (B,S,D,H)], Y_h (D,B,H) [(B,D,H)], LSTM: Y_c like Y_h
 *
 * with G gates: 1 for RNN, 3 for GRU (z, r, h), 4 for LSTM (i, o, f, c), D = 2 when
 * bidirectional. The three share one driver: the input projection X*W^T (+ both
 * biases) for every time step at once in one packed GEMM, then per step one GEMM of
 * H(t-1)*R^T over the batch followed by the pointwise cell of kernels/rnn.h. W and R
 * are packed once in init when they are initializers.
 *
 * sequence_lens: batch entry b runs for its own length L_b (the reverse direction
 * starts at step L_b-1); Y is zero at steps >= L_b and Y_h / Y_c hold the state after
 * the last valid step (the initial state when L_b is 0).
 */
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/rnn.h"
#include "ops/op.h"

enum { CELL_RNN = 0, CELL_GRU = 1, CELL_LSTM = 2 };
enum { DIR_FORWARD = 0, DIR_REVERSE = 1, DIR_BIDI = 2 };

/* Per-op facts: gate count and activation count of each cell kind. */
static const int cell_gates[3] = {1, 3, 4};
static const int cell_acts[3] = {1, 2, 3};

typedef struct rnn_state {
    int cell, G, D, dir, layout, lbr, input_forget;
    int64_t hidden; /* hidden_size attribute, or -1 */
    float clip;     /* 0: none */
    k_rnn_act act[2][3]; /* per direction: f, g, h */
    const k_gemm_isa *isa;
    /* Packed weights when W / R are initializers (NULL otherwise): W^T (I x G*H),
     * R^T (H x NR) with NR = G*H, or 2H for GRU whose Rh^T (H x H) is in rhp. */
    float *wp[2], *rp[2], *rhp[2];
    int64_t packed_I, packed_H;
} rnn_state;

static void rnn_state_free(void *p)
{
    rnn_state *s = p;
    if (!s)
        return;
    for (int d = 0; d < 2; d++) {
        free(s->wp[d]);
        free(s->rp[d]);
        free(s->rhp[d]);
    }
    free(s);
}

static int cell_of(const op_ctx *c)
{
    const char *t = c->node->op_type;
    return strcmp(t, "LSTM") == 0 ? CELL_LSTM : strcmp(t, "GRU") == 0 ? CELL_GRU : CELL_RNN;
}

/* Reads activations / activation_alpha / activation_beta into s->act. */
static int parse_activations(op_ctx *c, rnn_state *s)
{
    static const char *defaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    int na = cell_acts[s->cell];
    const ir_attr *a = ir_attr_find(c->node, "activations");
    const float *alphas = NULL, *betas = NULL;
    int nal = ir_attr_floats(c->node, "activation_alpha", &alphas);
    int nbe = ir_attr_floats(c->node, "activation_beta", &betas);
    int ia = 0, ib = 0;
    if (a && a->type != IR_ATTR_STRINGS)
        return op_fail(c, NORMA_ERR_MODEL, "attribute 'activations' is %s, expected STRINGS",
                       ir_attr_type_name(a->type));
    size_t n = a ? a->n : 0;
    if (a && n != (size_t)na && n != (size_t)(na * s->D))
        return op_fail(c, NORMA_ERR_MODEL, "activations has %zu entries; expected %d per direction (%d directions)",
                       n, na, s->D);
    for (int d = 0; d < s->D; d++)
        for (int k = 0; k < na; k++) {
            const char *name = defaults[s->cell][k];
            if (a)
                name = a->strings[n == (size_t)na ? (size_t)k : (size_t)(d * na + k)];
            k_rnn_act *ac = &s->act[d][k];
            ac->kind = k_rnn_act_lookup(name, &ac->alpha, &ac->beta);
            if (ac->kind < 0)
                return op_fail(c, NORMA_ERR_UNSUPPORTED, "unsupported activation '%s'", name);
            /* alphas and betas are consumed in order by the functions that take them */
            if (a && k_rnn_act_uses_alpha(ac->kind) && ia < nal)
                ac->alpha = alphas[ia++];
            if (a && k_rnn_act_uses_beta(ac->kind) && ib < nbe)
                ac->beta = betas[ib++];
        }
    if (s->D == 2 && a && n == (size_t)na) /* one list shared: both directions the same */
        memcpy(s->act[1], s->act[0], sizeof s->act[0]);
    return NORMA_OK;
}

static float *pack_b(const k_gemm_isa *isa, size_t K, size_t N, const float *src, ptrdiff_t rs, ptrdiff_t cs)
{
    size_t nf = k_gemm_packed_b_floats(isa, K, N);
    float *p = malloc((nf ? nf : 1) * sizeof(float));
    if (p)
        k_f32_gemm_pack_b(isa, K, N, src, rs, cs, p);
    return p;
}

/* Packs W[d]^T and R[d]^T of every direction into wp / rp / rhp (arrays of s->D). */
static int pack_weights(const rnn_state *s, size_t I, size_t H, const float *W, const float *R, float **wp,
                        float **rp, float **rhp)
{
    size_t GH = (size_t)s->G * H;
    for (int d = 0; d < s->D; d++) {
        const float *w = W + (size_t)d * GH * I, *r = R + (size_t)d * GH * H;
        size_t nr = s->cell == CELL_GRU ? 2 * H : GH;
        wp[d] = pack_b(s->isa, I, GH, w, 1, (ptrdiff_t)I);
        rp[d] = pack_b(s->isa, H, nr, r, 1, (ptrdiff_t)H);
        if (s->cell == CELL_GRU)
            rhp[d] = pack_b(s->isa, H, H, r + 2 * H * H, 1, (ptrdiff_t)H);
        if (!wp[d] || !rp[d] || (s->cell == CELL_GRU && !rhp[d]))
            return -1;
    }
    return 0;
}

static int rnn_init(op_ctx *c)
{
    const ir_node *n = c->node;
    rnn_state *s = calloc(1, sizeof *s);
    if (!s)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    c->state = s;
    s->cell = cell_of(c);
    s->G = cell_gates[s->cell];
    s->isa = k_gemm_best();
    const char *dir = ir_attr_string(n, "direction", "forward");
    if (strcmp(dir, "forward") == 0)
        s->dir = DIR_FORWARD;
    else if (strcmp(dir, "reverse") == 0)
        s->dir = DIR_REVERSE;
    else if (strcmp(dir, "bidirectional") == 0)
        s->dir = DIR_BIDI;
    else
        return op_fail(c, NORMA_ERR_MODEL, "direction '%s' is not forward, reverse or bidirectional", dir);
    s->D = s->dir == DIR_BIDI ? 2 : 1;
    s->hidden = ir_attr_int(n, "hidden_size", -1);
    if (ir_attr_find(n, "hidden_size") && s->hidden < 1)
        return op_fail(c, NORMA_ERR_MODEL, "hidden_size %lld must be >= 1", (long long)s->hidden);
    if (ir_attr_find(n, "clip")) {
        s->clip = ir_attr_float(n, "clip", 0);
        if (!(s->clip > 0))
            return op_fail(c, NORMA_ERR_MODEL, "clip %g must be > 0", (double)s->clip);
    }
    int64_t layout = c->opset >= 14 ? ir_attr_int(n, "layout", 0) : 0;
    if (layout != 0 && layout != 1)
        return op_fail(c, NORMA_ERR_MODEL, "layout %lld must be 0 or 1", (long long)layout);
    s->layout = (int)layout;
    if (s->cell == CELL_GRU) {
        int64_t v = ir_attr_int(n, "linear_before_reset", 0);
        if (v != 0 && v != 1)
            return op_fail(c, NORMA_ERR_MODEL, "linear_before_reset %lld must be 0 or 1", (long long)v);
        s->lbr = (int)v;
    }
    if (s->cell == CELL_LSTM) {
        int64_t v = ir_attr_int(n, "input_forget", 0);
        if (v != 0 && v != 1)
            return op_fail(c, NORMA_ERR_MODEL, "input_forget %lld must be 0 or 1", (long long)v);
        s->input_forget = (int)v;
    }
    int rc = parse_activations(c, s);
    if (rc)
        return rc;
    /* Constant weights of a plausible shape are packed now; infer checks shapes fully. */
    const ir_tensor *W = c->in[1], *R = c->in[2];
    if (W && R && W->data && R->data && W->dtype == NORMA_FLOAT && R->dtype == NORMA_FLOAT && W->rank == 3 &&
        R->rank == 3 && W->dims[0] == s->D && R->dims[0] == s->D && R->dims[2] >= 1 && W->dims[2] >= 1 &&
        W->dims[1] == s->G * R->dims[2] && R->dims[1] == W->dims[1]) {
        if (pack_weights(s, (size_t)W->dims[2], (size_t)R->dims[2], W->data, R->data, s->wp, s->rp, s->rhp))
            return op_fail(c, NORMA_ERR_MEMORY, "out of memory packing weights");
        s->packed_I = W->dims[2];
        s->packed_H = R->dims[2];
    }
    return NORMA_OK;
}

/* Checks that optional input i, when present, is float with the given shape. */
static int check_shape(op_ctx *c, int i, const char *what, int rank, const int64_t *dims)
{
    const ir_tensor *t = i < c->n_in ? c->in[i] : NULL;
    if (!t)
        return NORMA_OK;
    if (t->dtype != NORMA_FLOAT)
        return op_fail(c, NORMA_ERR_MODEL, "%s has dtype %s, expected float", what, ir_dtype_name(t->dtype));
    int ok = t->rank == rank;
    for (int k = 0; ok && k < rank; k++)
        ok = t->dims[k] == dims[k];
    if (!ok) {
        char got[128], want[128];
        ir_shape_str(t->rank, t->dims, got, sizeof got);
        ir_shape_str(rank, dims, want, sizeof want);
        return op_fail(c, NORMA_ERR_SHAPE, "%s has shape %s, expected %s", what, got, want);
    }
    return NORMA_OK;
}

/* Problem sizes, read from the inputs after infer validated them. */
typedef struct rnn_dims {
    size_t S, B, I, H, GH, NR;
} rnn_dims;

static void get_dims(const rnn_state *s, op_ctx *c, rnn_dims *d)
{
    const ir_tensor *X = c->in[0], *R = c->in[2];
    d->S = (size_t)X->dims[s->layout ? 1 : 0];
    d->B = (size_t)X->dims[s->layout ? 0 : 1];
    d->I = (size_t)X->dims[2];
    d->H = (size_t)R->dims[2];
    d->GH = (size_t)s->G * d->H;
    d->NR = s->cell == CELL_GRU ? 2 * d->H : d->GH;
}

/* Scratch regions, in floats, each rounded up to 16 floats (64 bytes). */
typedef struct rnn_scratch {
    size_t xw, apx, wp, rp, rhp, gates, aph, h, cst, tmp, bias, rbh, lens, total;
} rnn_scratch;

static size_t add_region(size_t *total, size_t n, int *ok)
{
    size_t at = *total;
    size_t r = (n + 15) & ~(size_t)15;
    if (r < n || *total + r < *total)
        *ok = 0;
    *total += r;
    return at;
}

static size_t mul3(size_t a, size_t b, size_t c, int *ok)
{
    if ((b && a > SIZE_MAX / b) || (c && a * b > SIZE_MAX / c)) {
        *ok = 0;
        return 0;
    }
    return a * b * c;
}

static int plan_scratch(const rnn_state *s, const rnn_dims *d, rnn_scratch *sc)
{
    int ok = 1;
    size_t t = 0;
    const k_gemm_isa *isa = s->isa;
    size_t rows = mul3(d->S, d->B, 1, &ok);
    int packed = s->wp[0] != NULL;
    /* the packed operands hold at most a few panels more than their products */
    mul3(rows + 64, d->I + 64, 1, &ok);
    mul3(d->I + 64, d->GH + 64, 1, &ok);
    mul3(d->H + 64, d->GH + 64, 1, &ok);
    mul3(d->B + 64, d->H + 64, 1, &ok);
    if (!ok)
        return -1;
    sc->xw = add_region(&t, mul3(rows, d->GH, 1, &ok), &ok);
    sc->apx = add_region(&t, ok ? k_gemm_packed_a_floats(isa, rows, d->I) : 0, &ok);
    sc->wp = add_region(&t, packed ? 0 : k_gemm_packed_b_floats(isa, d->I, d->GH), &ok);
    sc->rp = add_region(&t, packed ? 0 : k_gemm_packed_b_floats(isa, d->H, d->NR), &ok);
    sc->rhp = add_region(&t, packed || s->cell != CELL_GRU ? 0 : k_gemm_packed_b_floats(isa, d->H, d->H), &ok);
    sc->gates = add_region(&t, mul3(d->B, d->GH, 1, &ok), &ok);
    sc->aph = add_region(&t, k_gemm_packed_a_floats(isa, d->B, d->H), &ok);
    sc->h = add_region(&t, mul3(d->B, d->H, 1, &ok), &ok);
    sc->cst = add_region(&t, mul3(d->B, d->H, 1, &ok), &ok);
    sc->tmp = add_region(&t, mul3(d->B, d->H, 1, &ok), &ok);
    sc->bias = add_region(&t, d->GH, &ok);
    sc->rbh = add_region(&t, d->H, &ok);
    sc->lens = add_region(&t, mul3(d->B, 2, 1, &ok), &ok); /* int64 lengths */
    sc->total = t;
    if (!ok || t > SIZE_MAX / sizeof(float))
        return -1;
    return 0;
}

static int rnn_infer(op_ctx *c)
{
    const rnn_state *s = c->state;
    static const int float_only[] = {NORMA_FLOAT, 0};
    int rc;
    if ((rc = op_check_dtype(c, 0, float_only)) || (rc = op_check_dtype(c, 1, float_only)) ||
        (rc = op_check_dtype(c, 2, float_only)))
        return rc;
    const ir_tensor *X = c->in[0], *W = c->in[1], *R = c->in[2];
    if (X->rank != 3)
        return op_fail(c, NORMA_ERR_SHAPE, "X must be 3-D, got rank %d", X->rank);
    if (W->rank != 3 || R->rank != 3)
        return op_fail(c, NORMA_ERR_SHAPE, "W and R must be 3-D, got ranks %d and %d", W->rank, R->rank);
    int64_t S = X->dims[s->layout ? 1 : 0], Bt = X->dims[s->layout ? 0 : 1], I = X->dims[2];
    int64_t H = R->dims[2], G = s->G, D = s->D;
    if (H < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "R has hidden size %lld; it must be >= 1", (long long)H);
    if (s->hidden >= 0 && s->hidden != H)
        return op_fail(c, NORMA_ERR_SHAPE, "hidden_size %lld does not match R's last dimension %lld",
                       (long long)s->hidden, (long long)H);
    if (I < 1)
        return op_fail(c, NORMA_ERR_SHAPE, "X has input size %lld; it must be >= 1", (long long)I);
    if (H > INT32_MAX / 8 || I > INT32_MAX)
        return op_fail(c, NORMA_ERR_SHAPE, "hidden size %lld or input size %lld too large", (long long)H,
                       (long long)I);
    int64_t wd[3] = {D, G * H, I}, rd[3] = {D, G * H, H}, bd[2] = {D, 2 * G * H}, pd[2] = {D, 3 * H};
    if ((rc = check_shape(c, 1, "W", 3, wd)) || (rc = check_shape(c, 2, "R", 3, rd)) ||
        (rc = check_shape(c, 3, "B", 2, bd)))
        return rc;
    const ir_tensor *L = c->n_in > 4 ? c->in[4] : NULL;
    if (L) {
        if (L->dtype != NORMA_INT32 && L->dtype != NORMA_INT64)
            return op_fail(c, NORMA_ERR_MODEL, "sequence_lens has dtype %s, expected int32",
                           ir_dtype_name(L->dtype));
        if (L->rank != 1 || L->dims[0] != Bt)
            return op_fail(c, NORMA_ERR_SHAPE, "sequence_lens must have shape (%lld), got rank %d",
                           (long long)Bt, L->rank);
    }
    int64_t hd[3] = {D, Bt, H};
    if (s->layout) {
        hd[0] = Bt;
        hd[1] = D;
    }
    if ((rc = check_shape(c, 5, "initial_h", 3, hd)))
        return rc;
    if (s->cell == CELL_LSTM && ((rc = check_shape(c, 6, "initial_c", 3, hd)) || (rc = check_shape(c, 7, "P", 2, pd))))
        return rc;
    if (s->wp[0] && (s->packed_I != I || s->packed_H != H))
        return op_fail(c, NORMA_ERR_SHAPE, "weights were packed for I=%lld H=%lld", (long long)s->packed_I,
                       (long long)s->packed_H);
    int64_t yd[4] = {S, D, Bt, H};
    if (s->layout) {
        yd[0] = Bt;
        yd[1] = S;
        yd[2] = D;
    }
    if (c->n_out > 0 && c->out[0])
        op_set_shape(c->out[0], NORMA_FLOAT, 4, yd);
    for (int k = 1; k < c->n_out; k++)
        if (c->out[k])
            op_set_shape(c->out[k], NORMA_FLOAT, 3, hd);
    rnn_dims d;
    get_dims(s, c, &d);
    rnn_scratch sc;
    if (plan_scratch(s, &d, &sc))
        return op_fail(c, NORMA_ERR_SHAPE, "scratch size overflows (S=%lld B=%lld H=%lld)", (long long)S,
                       (long long)Bt, (long long)H);
    c->scratch_size = sc.total * sizeof(float);
    return NORMA_OK;
}

/* Offset of Y's row (t, d, b) and of a state row (d, b), in units of H. */
static size_t y_row(int layout, size_t S, size_t D, size_t B, size_t t, size_t d, size_t b)
{
    return layout ? (b * S + t) * D + d : (t * D + d) * B + b;
}

static size_t st_row(int layout, size_t D, size_t B, size_t d, size_t b)
{
    return layout ? b * D + d : d * B + b;
}

/* Runs one direction d (reverse when rev) over the whole batch. */
static void run_direction(op_ctx *c, const rnn_state *s, const rnn_dims *dm, const rnn_scratch *sc, int d, int rev)
{
    float *scr = c->scratch;
    const size_t S = dm->S, B = dm->B, I = dm->I, H = dm->H, GH = dm->GH, D = (size_t)s->D;
    const ir_tensor *Bias = c->n_in > 3 ? c->in[3] : NULL, *H0 = c->n_in > 5 ? c->in[5] : NULL;
    const ir_tensor *C0 = s->cell == CELL_LSTM && c->n_in > 6 ? c->in[6] : NULL;
    const ir_tensor *Pt = s->cell == CELL_LSTM && c->n_in > 7 ? c->in[7] : NULL;
    ir_tensor *Y = c->n_out > 0 ? c->out[0] : NULL, *Yh = c->n_out > 1 ? c->out[1] : NULL;
    ir_tensor *Yc = c->n_out > 2 ? c->out[2] : NULL;
    const int64_t *lens = (const int64_t *)(scr + sc->lens);
    float *xw = scr + sc->xw, *gates = scr + sc->gates, *aph = scr + sc->aph, *h = scr + sc->h;
    float *cs = scr + sc->cst, *tmp = scr + sc->tmp, *bias = scr + sc->bias, *rbh = scr + sc->rbh;
    const float *wp = s->wp[d], *rp = s->rp[d], *rhp = s->rhp[d];
    const k_rnn_act *act = s->act[d];
    const float *P = Pt ? (const float *)Pt->data + (size_t)d * 3 * H : NULL;
    int threads = c->threads;
    /* the default activations (what exporters emit) take the vectorized cells */
    int fast = s->cell == CELL_RNN ? act[0].kind == K_RNN_TANH
                                   : act[0].kind == K_RNN_SIGMOID && act[1].kind == K_RNN_TANH &&
                                         (s->cell == CELL_GRU || act[2].kind == K_RNN_TANH);

    if (!wp) {
        float *w[2] = {scr + sc->wp}, *r[2] = {scr + sc->rp}, *rh[2] = {scr + sc->rhp};
        const ir_tensor *W = c->in[1], *R = c->in[2];
        size_t nr = dm->NR;
        k_f32_gemm_pack_b(s->isa, I, GH, (const float *)W->data + (size_t)d * GH * I, 1, (ptrdiff_t)I, w[0]);
        k_f32_gemm_pack_b(s->isa, H, nr, (const float *)R->data + (size_t)d * GH * H, 1, (ptrdiff_t)H, r[0]);
        if (s->cell == CELL_GRU)
            k_f32_gemm_pack_b(s->isa, H, H, (const float *)R->data + (size_t)d * GH * H + 2 * H * H, 1,
                              (ptrdiff_t)H, rh[0]);
        wp = w[0];
        rp = r[0];
        rhp = rh[0];
    }
    /* Wb + Rb go into the input projection, except GRU's Rbh with linear_before_reset. */
    const float *bb = Bias ? (const float *)Bias->data + (size_t)d * 2 * GH : NULL;
    for (size_t j = 0; j < GH; j++)
        bias[j] = bb ? bb[j] + bb[GH + j] : 0;
    if (s->cell == CELL_GRU && s->lbr)
        for (size_t j = 0; j < H; j++) {
            bias[2 * H + j] = bb ? bb[2 * H + j] : 0;
            rbh[j] = bb ? bb[GH + 2 * H + j] : 0;
        }

    /* xw: row (t, b) in X's own order holds X(t,b)*W^T + biases */
    size_t rows = S * B;
    if (rows) {
        k_epilogue ep = {bias, K_BIAS_COL, 0, 0, 0};
        k_f32_gemm_packed(s->isa, rows, GH, I, 1.0f, scr + sc->apx, wp, 0.0f, xw, GH, &ep, threads);
    }
    for (size_t b = 0; b < B; b++) {
        size_t o = st_row(s->layout, D, B, (size_t)d, b) * H;
        if (H0)
            memcpy(h + b * H, (const float *)H0->data + o, H * sizeof(float));
        else
            memset(h + b * H, 0, H * sizeof(float));
        if (C0)
            memcpy(cs + b * H, (const float *)C0->data + o, H * sizeof(float));
        else
            memset(cs + b * H, 0, H * sizeof(float));
    }
    size_t maxlen = 0;
    for (size_t b = 0; b < B; b++)
        if ((size_t)lens[b] > maxlen)
            maxlen = (size_t)lens[b];

    /* With every entry running all S steps in layout 0, the gate rows of a step are
     * contiguous in xw: accumulate into them in place instead of copying. */
    int direct = s->layout == 0 && maxlen == S;
    for (size_t b = 0; b < B; b++)
        direct &= (size_t)lens[b] == S;
    for (size_t step = 0; step < maxlen; step++) {
        float *gt = gates;
        if (direct) {
            gt = xw + (rev ? S - 1 - step : step) * B * GH;
        } else {
            for (size_t b = 0; b < B; b++) {
                size_t L = (size_t)lens[b];
                if (step >= L) {
                    memset(gates + b * GH, 0, GH * sizeof(float));
                    continue;
                }
                size_t t = rev ? L - 1 - step : step;
                size_t row = s->layout ? b * S + t : t * B + b;
                memcpy(gates + b * GH, xw + row * GH, GH * sizeof(float));
            }
        }
        k_f32_gemm_pack_a(s->isa, B, H, h, (ptrdiff_t)H, 1, aph);
        k_f32_gemm_packed(s->isa, B, dm->NR, H, 1.0f, aph, rp, 1.0f, gt, GH, NULL, threads);
        if (s->cell == CELL_GRU) {
            if (s->lbr) {
                k_f32_gemm_packed(s->isa, B, H, H, 1.0f, aph, rhp, 0.0f, tmp, H, NULL, threads);
            } else {
                for (size_t b = 0; b < B; b++)
                    if (fast)
                        k_f32_gru_reset_sig(H, gt + b * GH, s->clip, h + b * H, tmp + b * H);
                    else
                        k_f32_gru_reset_ref(H, gt + b * GH, &act[0], s->clip, h + b * H, tmp + b * H);
                k_f32_gemm_pack_a(s->isa, B, H, tmp, (ptrdiff_t)H, 1, aph);
                k_f32_gemm_packed(s->isa, B, H, H, 1.0f, aph, rhp, 1.0f, gt + 2 * H, GH, NULL, threads);
            }
        }
        int nth = B * GH >= 16384 ? threads : 1;
#pragma omp parallel for num_threads(nth) schedule(static) if (nth > 1)
        for (size_t b = 0; b < B; b++) {
            size_t L = (size_t)lens[b];
            if (step >= L)
                continue;
            float *g = gt + b * GH, *hb = h + b * H;
            if (fast) {
                if (s->cell == CELL_RNN)
                    k_f32_rnn_cell_tanh(H, g, s->clip, hb);
                else if (s->cell == CELL_GRU)
                    k_f32_gru_cell_sig_tanh(H, g, s->lbr ? tmp + b * H : NULL, s->lbr ? rbh : NULL, s->clip, hb);
                else
                    k_f32_lstm_cell_sig_tanh(H, g, P, s->clip, s->input_forget, cs + b * H, hb);
            } else if (s->cell == CELL_RNN)
                k_f32_rnn_cell_ref(H, g, &act[0], s->clip, hb);
            else if (s->cell == CELL_GRU)
                k_f32_gru_cell_ref(H, g, s->lbr ? tmp + b * H : NULL, s->lbr ? rbh : NULL, &act[0], &act[1],
                                   s->clip, hb);
            else
                k_f32_lstm_cell_ref(H, g, P, &act[0], &act[1], &act[2], s->clip, s->input_forget, cs + b * H, hb);
            if (Y) {
                size_t t = rev ? L - 1 - step : step;
                memcpy((float *)Y->data + y_row(s->layout, S, D, B, t, (size_t)d, b) * H, hb, H * sizeof(float));
            }
        }
    }
    for (size_t b = 0; b < B; b++) {
        size_t o = st_row(s->layout, D, B, (size_t)d, b) * H;
        if (Yh)
            memcpy((float *)Yh->data + o, h + b * H, H * sizeof(float));
        if (Yc)
            memcpy((float *)Yc->data + o, cs + b * H, H * sizeof(float));
    }
}

static int rnn_run(op_ctx *c)
{
    const rnn_state *s = c->state;
    rnn_dims dm;
    get_dims(s, c, &dm);
    rnn_scratch sc;
    if (plan_scratch(s, &dm, &sc))
        return op_fail(c, NORMA_ERR_SHAPE, "scratch size overflows");
    float *scr = c->scratch;
    int64_t *lens = (int64_t *)(scr + sc.lens);
    const ir_tensor *L = c->n_in > 4 ? c->in[4] : NULL;
    for (size_t b = 0; b < dm.B; b++) {
        int64_t v = L ? ir_tensor_get_i64(L, b) : (int64_t)dm.S;
        if (v < 0 || v > (int64_t)dm.S)
            return op_fail(c, NORMA_ERR_RUNTIME, "sequence_lens[%zu] = %lld is outside [0, %zu]", b,
                           (long long)v, dm.S);
        lens[b] = v;
    }
    ir_tensor *Y = c->n_out > 0 ? c->out[0] : NULL;
    if (Y && L) /* steps past an entry's length stay zero */
        memset(Y->data, 0, ir_tensor_nbytes(Y));
    if (dm.S && dm.B)
        k_f32_gemm_pack_a(s->isa, dm.S * dm.B, dm.I, c->in[0]->data, (ptrdiff_t)dm.I, 1, scr + sc.apx);
    for (int d = 0; d < s->D; d++)
        run_direction(c, s, &dm, &sc, d, s->dir == DIR_REVERSE || d == 1);
    return NORMA_OK;
}

#define RNN_SCHEMA(var, op, ver, nin, nout) \
    static const op_schema var = {op, "", ver, 3, nin, 0, nout, rnn_init, rnn_state_free, rnn_infer, rnn_run, 0}

RNN_SCHEMA(rnn7, "RNN", 7, 6, 2);
RNN_SCHEMA(rnn14, "RNN", 14, 6, 2);
RNN_SCHEMA(gru7, "GRU", 7, 6, 2);
RNN_SCHEMA(gru14, "GRU", 14, 6, 2);
RNN_SCHEMA(lstm7, "LSTM", 7, 8, 3);
RNN_SCHEMA(lstm14, "LSTM", 14, 8, 3);

OP_TABLE(rnn) = {&rnn7, &rnn14, &gru7, &gru14, &lstm7, &lstm14, NULL};
