/*
 * Conv (ONNX opsets 1, 11) and ConvTranspose (ONNX opsets 1, 11), float32, 1 to 3
 * spatial dimensions, groups, strides, dilations, pads and auto_pad.
 *
 * Conv runs one of: the direct depthwise kernel (C/group == 1), a plain GEMM for
 * 1x1 stride-1 unpadded kernels (reading the input in place, no packing), the implicit
 * GEMM over phase planes for strided kernels (conv_phase_run), or im2col written
 * straight into packed GEMM layout followed by the packed SGEMM. ConvTranspose is
 * W^T * x by GEMM then a col2im scatter. Constant weights are packed per group in init.
 * Bias and a fused activation (node->fused_act) are applied in the GEMM epilogue.
 *
 * "Conv" in the internal domain "norma" (made by the fuse-residual pass) is Conv
 * with a fourth input R: Y = act(conv(X, W, B) + R), R broadcast numpy-style. When R
 * has exactly the convolution's shape it is added in the GEMM epilogue; otherwise
 * the convolution goes to scratch (or Y) without activation and a broadcasting loop
 * adds R and applies the activation.
 *
 * With the attribute global_average_pool = 1 (set by the fuse-global-pool pass on a
 * Conv whose only reader was a GlobalAveragePool), the node's output is that pool's:
 * the mean of act(conv + R) over the spatial positions, shape (N, M, 1, ...). The
 * transposed path averages the columns of Y^T without transposing it (conv_t_run);
 * every other path writes the full result to scratch and averages it.
 *
 * 2-D 3x3 stride-1 undilated ungrouped Conv with enough channels and a large enough
 * output runs Winograd F(4x4,3x3) or F(2x2,3x3) instead (kernels/winograd.h): init
 * picks the tile with k_wino_pick and transforms the weights once; infer/run re-check
 * the pick on the planned shape and fall back to im2col when it says no. When init
 * knows X's shape it packs no im2col weights; when it had to guess from the channel
 * counts, it packs them too (conv_wino_* below).
 */
#include <omp.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "kernels/act.h"
#include "kernels/conv.h"
#include "kernels/copy.h"
#include "kernels/gemm.h"
#include "kernels/pool.h"
#include "kernels/winograd.h"
#include "ops/op.h"
#include "ops/window.h"

typedef struct conv_state {
    const k_gemm_isa *isa;
    float *wp;          /* packed weights, one block of group_floats per group, or NULL */
    size_t group_floats;
    int wino_m;         /* Winograd tile size (4 or 2) when wu is set, else 0 */
    float *wu;          /* Winograd-transformed weights (k_f32_wino_weights), or NULL */
    float *wt;          /* W^T packed as the GEMM's right operand (narrow outputs), or NULL */
    float *wd;          /* W packed for the direct path of few input channels, or NULL */
    float *wk;          /* W packed tap-major for the implicit GEMM (conv_phase_run), or NULL */
    /* Conv's attributes that do not depend on X, read once by init (conv_cache_attrs)
     * when W is a constant: the group, the kernel extents and the window. */
    int attrs;          /* 1 when the three below are set */
    int64_t group, k[3];
    op_window win;
    int pool;           /* the global_average_pool attribute (read by init) */
} conv_state;

static void conv_state_free(void *p)
{
    conv_state *s = p;
    if (!s)
        return;
    ir_big_free(s->wp);
    ir_big_free(s->wu);
    ir_big_free(s->wt);
    ir_big_free(s->wd);
    ir_big_free(s->wk);
    free(s);
}

static const int float_only[] = {NORMA_FLOAT, 0};

/*
 * Works out the geometry of a Conv or ConvTranspose from the input shapes and the
 * attributes into s (spatial dims right-aligned into 3) and checks it. Called by
 * infer, and again by run (cheap, allocates nothing).
 */
static int conv_geometry(op_ctx *c, int transpose, k_conv_shape *s)
{
    const ir_tensor *x = c->in[0], *w = c->in[1], *b = c->n_in > 2 ? c->in[2] : NULL;
    int rc;
    if ((rc = op_check_dtype(c, 0, float_only)) || (rc = op_check_dtype(c, 1, float_only)))
        return rc;
    if (x->rank < 3 || x->rank > 5)
        return op_fail(c, NORMA_ERR_UNSUPPORTED, "input X has rank %d; 3 to 5 (1 to 3 spatial dimensions) are supported",
                       x->rank);
    if (w->rank != x->rank)
        return op_fail(c, NORMA_ERR_SHAPE, "weight W has rank %d but X has rank %d", w->rank, x->rank);
    int nsp = x->rank - 2;
    const conv_state *cs = transpose ? NULL : c->state;
    int cached = cs && cs->attrs && cs->win.nsp == nsp;
    int64_t group = cached ? cs->group : ir_attr_int(c->node, "group", 1);
    if (group < 1)
        return op_fail(c, NORMA_ERR_MODEL, "group %lld must be >= 1", (long long)group);
    int64_t C = x->dims[1], M;
    if (!transpose) {
        M = w->dims[0];
        if (C % group)
            return op_fail(c, NORMA_ERR_SHAPE, "group %lld does not divide C=%lld", (long long)group, (long long)C);
        if (w->dims[1] * group != C)
            return op_fail(c, NORMA_ERR_SHAPE, "W has %lld input channels per group but X has C=%lld with group %lld",
                           (long long)w->dims[1], (long long)C, (long long)group);
        if (M % group)
            return op_fail(c, NORMA_ERR_SHAPE, "group %lld does not divide M=%lld output channels", (long long)group,
                           (long long)M);
    } else {
        if (w->dims[0] != C)
            return op_fail(c, NORMA_ERR_SHAPE, "W has %lld input channels but X has C=%lld", (long long)w->dims[0],
                           (long long)C);
        if (C % group)
            return op_fail(c, NORMA_ERR_SHAPE, "group %lld does not divide C=%lld", (long long)group, (long long)C);
        M = w->dims[1] * group;
    }
    if (b) {
        if ((rc = op_check_dtype(c, 2, float_only)))
            return rc;
        if (b->rank != 1 || b->dims[0] != M)
            return op_fail(c, NORMA_ERR_SHAPE, "bias B must have shape (%lld)", (long long)M);
    }
    int64_t k[3], op[3] = {0, 0, 0};
    op_window win;
    if (cached) {
        memcpy(k, cs->k, sizeof k);
        win = cs->win;
    } else if ((rc = op_window_kernel(c, w, nsp, k)) || (rc = op_window_read(c, nsp, k, 1, &win))) {
        return rc;
    }
    if (transpose && (rc = op_spatial_attr(c, "output_padding", nsp, 0, 0, op)))
        return rc;

    memset(s, 0, sizeof *s);
    s->N = x->dims[0];
    s->C = C;
    s->M = M;
    s->group = group;
    for (int i = 0; i < 3; i++) {
        s->in[i] = s->out[i] = s->k[i] = s->stride[i] = s->dil[i] = 1;
        s->pad[i] = 0;
    }
    const int64_t *oshape = NULL;
    int nos = transpose ? ir_attr_ints(c->node, "output_shape", &oshape) : -1;
    if (nos >= 0 && nos != nsp && nos != nsp + 2)
        return op_fail(c, NORMA_ERR_MODEL, "output_shape has %d values; expected %d", nos, nsp);
    for (int i = 0; i < nsp; i++) {
        int d = 3 - nsp + i;
        int64_t in = x->dims[2 + i], st = win.st[i], eff = (k[i] - 1) * win.dl[i] + 1, pb, pe, out;
        if (!transpose) {
            if ((rc = op_window_axis(c, &win, i, in, 0, &out, &pb, &pe)))
                return rc;
        } else {
            pb = win.pads[i], pe = win.pads[nsp + i];
            if (op[i] >= st && op[i] >= win.dl[i])
                return op_fail(c, NORMA_ERR_MODEL, "output_padding[%d] = %lld must be smaller than the stride or dilation",
                               i, (long long)op[i]);
            int64_t natural = st * (in - 1) + op[i] + eff;
            if (nos >= 0 || win.same_upper || win.same_lower) {
                out = nos >= 0 ? oshape[nos - nsp + i] : in * st;
                if (out > INT32_MAX * (int64_t)INT32_MAX)
                    return op_fail(c, NORMA_ERR_MODEL, "output_shape[%d] = %lld is too large", i, (long long)out);
                int64_t total = natural - out;
                if (total < 0)
                    total = 0; /* a larger output_shape only adds bias-only positions at the end */
                pb = win.same_upper ? total / 2 : total - total / 2;
            } else {
                if (win.valid)
                    pb = pe = 0;
                out = natural - pb - pe;
            }
        }
        if (out < 1)
            return op_fail(c, NORMA_ERR_SHAPE, "spatial dimension %d of the output would be %lld", i, (long long)out);
        s->in[d] = in;
        s->out[d] = out;
        s->k[d] = k[i];
        s->stride[d] = st;
        s->dil[d] = win.dl[i];
        s->pad[d] = pb;
    }
    return NORMA_OK;
}

/* Output columns per im2col chunk: about 384 KB of packed data, so the chunk is still
 * in L2 when the GEMM reads it and the next chunk writes over L2-resident lines (a
 * bigger chunk made the im2col stores miss: measured with perf on ResNet-50's 3x3
 * layers). A whole number of panels, or all columns when they are fewer than 1.5 chunks. */
static size_t chunk_cols(const k_gemm_isa *isa, size_t K, size_t ncol)
{
    size_t nr = (size_t)isa->nr, c = (98304 / (K ? K : 1)) / nr * nr;
    if (c < 2 * nr)
        c = 2 * nr;
    return ncol < c + c / 2 ? ncol : c;
}

/* The most columns one chunk packs: conv_cols_chunked lets the last chunk take a
 * remainder under half a chunk, rather than read all the weights once more for a few
 * columns (ResNet-50's 14x14 stride-2 layer: 196 = 64 + 64 + 68, not + 4). */
static size_t chunk_cap(size_t chunk, size_t ncol)
{
    return ncol < chunk + chunk / 2 ? ncol : chunk + chunk / 2;
}

/* Per-thread work areas the scratch holds (im2col chunks, depthwise planes, Winograd
 * blocks): one for every processor, since infer does not know the run's thread count
 * (run uses no more threads than that). */
static size_t thread_slots(int threads)
{
    int nproc = op_num_procs();
    return (size_t)(nproc > threads ? nproc : threads);
}

static int is_pointwise(const k_conv_shape *s);

/* Scratch for the W-phase split of one image's group (0 when not used). */
static size_t split_floats(const k_conv_shape *s, int64_t Cg)
{
    if (s->stride[2] <= 1 || is_pointwise(s))
        return 0;
    int64_t sw = s->stride[2], wp = (s->in[2] + sw - 1) / sw;
    return (size_t)(Cg * s->in[0] * s->in[1] * sw * wp);
}

static int64_t kvol(const k_conv_shape *s)
{
    return s->k[0] * s->k[1] * s->k[2];
}

/* A 1x1 convolution reads its input in place as the GEMM's right operand when few
 * output channels share each input column (measured with norma bench --gemm: in place
 * wins up to M = 256 and for narrow outputs; packing wins when many A panels reuse B). */
static int pw_in_place(int64_t Mg, size_t ncols)
{
    return Mg <= 256 || ncols <= 64;
}

static int is_pointwise(const k_conv_shape *s)
{
    for (int i = 0; i < 3; i++)
        if (s->k[i] != 1 || s->stride[i] != 1 || s->pad[i] != 0 || s->in[i] != s->out[i])
            return 0;
    return 1;
}

/* A 1x1 kernel without leading pads that is not pointwise (a stride, or trailing
 * pads): its outputs read a subsampled input, which k_f32_conv_subsample gathers into
 * a dense image; the rest is the pointwise convolution of pw_view. */
static int pw_strided(const k_conv_shape *s)
{
    for (int i = 0; i < 3; i++)
        if (s->k[i] != 1 || s->pad[i] != 0)
            return 0;
    return !is_pointwise(s);
}

static k_conv_shape pw_view(const k_conv_shape *s)
{
    k_conv_shape v = *s;
    for (int i = 0; i < 3; i++)
        v.in[i] = v.out[i], v.stride[i] = 1;
    return v;
}

static int alloc_state(op_ctx *c, conv_state **out)
{
    conv_state *st = calloc(1, sizeof *st);
    if (!st)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory");
    st->isa = k_gemm_best();
    c->state = st;
    *out = st;
    return NORMA_OK;
}

/* ---------------- Conv ---------------- */

/*
 * Narrow outputs (a 7x7 map has 49 columns: the GEMM's 32-wide panels compute 64) of
 * ungrouped layers run transposed: Y^T (positions x M) = X_col^T (positions x K) * W^T,
 * with the positions as the GEMM's rows (12-row panels: 49 computes 52) and the
 * weights as its right operand, which streams from memory better (norma bench --gemm,
 * weights cold: 512x49x4608 125 GFLOP/s, 49x512x4608 171; 1280x49x320 123, 49x1280x320
 * 151; at 196 positions neither wins in a model). init packs W^T instead of W when
 * X's shape is known and the layer has at least T_MIN_WEIGHTS weights and at most
 * T_MAX_COLS output positions (MobileNetV2's 7x7 layers, ResNet-50's layer4); when the
 * shape is not known, besides W for layers of T_GUESS_WEIGHTS weights or more. The
 * result is transposed into Y, then R and the activation.
 */
enum { T_MIN_WEIGHTS = 1 << 16, T_GUESS_WEIGHTS = 1 << 20, T_MAX_COLS = 64 };

static size_t conv_outputs(const k_conv_shape *s)
{
    return (size_t)(s->out[0] * s->out[1] * s->out[2]);
}

static int conv_t_use(const conv_state *st, const k_conv_shape *s)
{
    return st && st->wt && s->group == 1 && s->N >= 1 && conv_outputs(s) <= T_MAX_COLS;
}

/* Scratch of the transposed path: packed X_col^T and Y^T. */
static size_t conv_t_floats(const k_gemm_isa *isa, const k_conv_shape *s, size_t K)
{
    size_t n = conv_outputs(s);
    return k_gemm_packed_a_floats(isa, n, K) + n * (size_t)s->M;
}



/* Winograd applies to this geometry (2-D, 3x3, stride 1, dilation 1, group 1). */
static int wino_geometry(const k_conv_shape *s)
{
    return s->group == 1 && s->in[0] == 1 && s->k[0] == 1 && s->k[1] == 3 && s->k[2] == 3 && s->stride[1] == 1 &&
           s->stride[2] == 1 && s->dil[1] == 1 && s->dil[2] == 1;
}

/* An INTS attribute is absent or all ones. */
static int attr_ones(const ir_node *n, const char *name)
{
    const int64_t *v;
    int k = ir_attr_ints(n, name, &v);
    for (int i = 0; i < k; i++)
        if (v[i] != 1)
            return 0;
    return 1;
}

/* Transforms constant 3x3 weights for Winograd when k_wino_pick says it wins for this
 * layer: on the output size when X's shape is known (ks), else on a guess from the
 * channels. */
static int conv_wino_init(op_ctx *c, conv_state *st, const k_conv_shape *ks)
{
    const ir_tensor *w = c->in[1], *x = c->in[0];
    if (w->rank != 4 || w->dims[2] != 3 || w->dims[3] != 3 || ir_attr_int(c->node, "group", 1) != 1 ||
        !attr_ones(c->node, "strides") || !attr_ones(c->node, "dilations") || (x && x->rank > 0 && x->rank != 4))
        return NORMA_OK;
    int64_t oH = ks ? ks->out[1] : -1, oW = ks ? ks->out[2] : -1;
    int m = k_wino_pick(w->dims[1], w->dims[0], oH, oW);
    if (!m)
        return NORMA_OK;
    size_t M = (size_t)w->dims[0], C = (size_t)w->dims[1];
    st->wu = ir_big_alloc_uninit(k_wino_u_floats(st->isa, m, M, C) * sizeof(float));
    if (!st->wu)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory transforming W");
    k_f32_wino_weights(st->isa, m, M, C, w->data, st->wu);
    st->wino_m = m;
    return NORMA_OK;
}

/* Winograd runs this convolution: weights transformed in init, the geometry fits, and
 * the planned output is large enough for it to win (init may have guessed without the
 * input's shape; else im2col). */
static int conv_wino_use(const conv_state *st, const k_conv_shape *s)
{
    return st && st->wu && wino_geometry(s) && k_wino_pick(s->C, s->M, s->out[1], s->out[2]) != 0;
}

/*
 * Strided convolutions (ResNet's stride-2 3x3 layers) as an implicit GEMM: the input is
 * split once into its phase planes (kernels/conv.h), and the GEMM reads every tap of
 * every channel there in place, as a segment of B per tap (k_f32_gemm_segmented_b),
 * over the "flat" outputs oh * pw + ow; then the rows are compacted into Y, dropping
 * the pw - oW extra columns. W is packed tap-major to match: K = tap * C + c. No
 * im2col (which took 18% of ResNet-50's 128 x 56^2 stride-2 3x3 layer, and the W-phase
 * split before it 5%; the phase planes take 9%): that layer alone 1.49 -> 1.33 ms at
 * one thread, 0.80 to 0.85 -> 0.71 at two; 256 x 28^2 1.49 -> 1.42 (alternated runs). Narrow
 * outputs keep the transposed path: ResNet-50's 512 x 14^2 layer took 1.9 to 2.0 ms
 * this way against 1.5 to 1.6 transposed, its 9.4 MB of weights streaming as A.
 */
enum { PHASE_MAX_TAPS = 49 };

static int conv_phase_use(const k_conv_shape *s)
{
    int64_t taps = s->k[1] * s->k[2];
    return s->group == 1 && s->stride[1] == 2 && taps > 1 && taps <= PHASE_MAX_TAPS && k_conv_phase_fits(s) &&
           conv_outputs(s) > T_MAX_COLS;
}

/* W (M, C, kH, kW) packed as the GEMM's left operand with K in tap-major order. */
static int conv_phase_init(op_ctx *c, conv_state *st, size_t M, size_t C, size_t taps)
{
    size_t K = C * taps;
    float *wt = malloc(M * K * sizeof(float));
    st->wk = ir_big_alloc_uninit(k_gemm_packed_a_floats(st->isa, M, K) * sizeof(float) + 1);
    if (!wt || !st->wk) {
        free(wt);
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory packing W");
    }
    const float *w = c->in[1]->data;
    for (size_t m = 0; m < M; m++)
        for (size_t t = 0; t < taps; t++)
            for (size_t ci = 0; ci < C; ci++)
                wt[m * K + t * C + ci] = w[(m * C + ci) * taps + t];
    k_f32_gemm_pack_a(st->isa, M, K, wt, (ptrdiff_t)K, 1, st->wk);
    free(wt);
    return NORMA_OK;
}

/*
 * Threads take bands of whole output rows, each band a convolution of its own
 * (phase_band): the thread splits its rows of the input into phase planes of its own
 * (the rows two bands share, twice), multiplies them alone and compacts its rows of Y.
 * Its input rows are the positions it wrote in the layer before (1x1 layers share
 * positions among threads the same way) and nothing it reads was written by the other
 * core: sharing one set of planes, split by channels, made half of the GEMM's reads
 * cross between cores, and the layer was no faster at two threads than im2col.
 */
static k_conv_shape phase_band(const k_conv_shape *s, int64_t oh0, int64_t oh1)
{
    k_conv_shape b = *s;
    b.out[1] = oh1 - oh0;
    b.pad[1] = s->pad[1] - oh0 * s->stride[1]; /* below 0: the rows above the band are input */
    return b;
}

/* Bands for `threads` threads: at least two output rows each, and work enough. */
static int phase_bands(const k_conv_shape *s, int threads)
{
    double flops = 2.0 * (double)s->M * (double)(s->C * s->k[1] * s->k[2]) * (double)conv_outputs(s);
    int t = threads > 1 && flops > 4e6 ? threads : 1;
    return t > s->out[1] / 2 ? (int)(s->out[1] / 2 > 1 ? s->out[1] / 2 : 1) : t;
}

/* Floats of phase planes per band, for T bands (the largest band). */
static size_t phase_band_floats(const k_conv_shape *s, int T)
{
    k_conv_shape b = phase_band(s, 0, (s->out[1] + T - 1) / T);
    return k_conv_phase_floats(&b, s->C);
}

/* Floats of scratch conv_phase_run uses with up to `threads` threads: the bands' phase
 * planes, then the flat output. */
static size_t conv_phase_floats(const k_conv_shape *s, int threads)
{
    size_t most = 0;
    for (int t = 1; t <= threads; t++) {
        int T = phase_bands(s, t);
        size_t f = (size_t)T * phase_band_floats(s, T);
        most = f > most ? f : most;
    }
    k_conv_phases g = k_conv_phase_geometry(s);
    return most + (size_t)(s->M * s->out[1] * g.pw);
}

typedef struct phase_job {
    const k_conv_shape *s;
    const k_gemm_isa *isa;
    const float *wk, *x, *res; /* W packed tap-major; the image; its residual or NULL */
    float *y, *flat;           /* the image's output; the flat output (M x oH * pw) */
    const k_epilogue *ep;
    int act;
    float act_a, act_b;
} phase_job;

/* Output rows oh0 .. oh1 - 1 of one image, on this thread alone. */
static void phase_band_run(const phase_job *j, int64_t oh0, int64_t oh1, float *planes)
{
    const k_conv_shape *s = j->s;
    k_conv_shape b = phase_band(s, oh0, oh1);
    k_conv_phases g = k_conv_phase_geometry(&b);
    int64_t kw = s->k[2], taps = s->k[1] * kw, sd = s->stride[1], oW = s->out[2], OHW = s->out[1] * oW;
    size_t nflat = (size_t)(s->out[1] * g.pw), K = (size_t)(s->C * taps);
    size_t koff[PHASE_MAX_TAPS];
    for (int64_t t = 0; t < taps; t++)
        koff[t] = k_conv_phase_tap(&b, t / kw, t % kw);
    k_f32_conv_phase_split(&b, j->x, s->C, planes, 1);
    k_f32_gemm_segmented_b(j->isa, (size_t)s->M, (size_t)((oh1 - oh0) * g.pw), K, 1.0f, j->wk, planes,
                           (size_t)(sd * sd * g.plane), (size_t)s->C, koff, 0.0f, j->flat + oh0 * g.pw, nflat, j->ep,
                           1);
    for (int64_t m = 0; m < s->M; m++)
        for (int64_t oh = oh0; oh < oh1; oh++)
            memcpy(j->y + m * OHW + oh * oW, j->flat + m * (int64_t)nflat + oh * g.pw, (size_t)oW * sizeof(float));
    if (j->res) { /* plus R, then the activation */
        k_epilogue post = {NULL, K_BIAS_NONE, j->act, j->act_a, j->act_b, j->res, (size_t)OHW};
        k_epilogue_apply(&post, j->y + oh0 * oW, (size_t)OHW, 0, (size_t)s->M, (size_t)(oh0 * oW),
                         (size_t)((oh1 - oh0) * oW));
    }
}

static void conv_phase_run(op_ctx *c, const k_conv_shape *s, const float *x, const float *bias, const float *res,
                           float *y, int act, float act_a, float act_b)
{
    const conv_state *st = c->state;
    int64_t oH = s->out[1], HW = s->in[1] * s->in[2], OHW = oH * s->out[2];
    int T = phase_bands(s, c->threads);
    size_t per = phase_band_floats(s, T);
    float *planes = c->scratch, *flat = planes + (size_t)T * per;
    /* with a residual, the activation comes after it, on Y */
    k_epilogue ep = {bias, bias ? K_BIAS_ROW : K_BIAS_NONE, res ? ACT_NONE : act, act_a, act_b, NULL, 0};
    for (int64_t n = 0; n < s->N; n++) {
        phase_job j = {s, st->isa, st->wk, x + n * s->C * HW, res ? res + n * s->M * OHW : NULL,
                       y + n * s->M * OHW, flat, &ep, act, act_a, act_b};
        if (T == 1) {
            phase_band_run(&j, 0, oH, planes);
            continue;
        }
#pragma omp parallel num_threads(T)
        { /* band b on thread b (a team smaller than asked takes several) */
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            for (int b = t; b < T; b += nt)
                phase_band_run(&j, oH * b / T, oH * (b + 1) / T, planes + (size_t)b * per);
        }
    }
}

/* X's shape is fully known in init (the session inferred it from static inputs) and
 * gives a valid geometry in *s: 1; else 0, with nothing reported. */
static int conv_known_shape(op_ctx *c, k_conv_shape *s)
{
    const ir_tensor *x = c->in[0];
    if (!x || x->rank < 3)
        return 0;
    for (int d = 0; d < x->rank; d++)
        if (x->dims[d] < 0)
            return 0;
    int rc = conv_geometry(c, 0, s);
    c->err[0] = 0;
    return rc == NORMA_OK;
}

/* Reads into st the attributes conv_geometry needs that do not depend on X, when W is
 * a constant (its shape fixes the kernel extents): then infer and run do not look them
 * up by name at every run (about 1% of MobileNetV2). When one is wrong, nothing is
 * kept and conv_geometry reports it as before, when the plan is built. */
static void conv_cache_attrs(op_ctx *c, conv_state *st)
{
    const ir_tensor *w = c->in[1];
    if (!w || !w->data || w->rank < 3 || w->rank > 5)
        return;
    int nsp = w->rank - 2;
    st->group = ir_attr_int(c->node, "group", 1);
    if (op_window_kernel(c, w, nsp, st->k) || op_window_read(c, nsp, st->k, 1, &st->win)) {
        c->err[0] = 0;
        return;
    }
    st->attrs = 1;
}

static int conv_init(op_ctx *c)
{
    conv_state *st = NULL;
    int rc = alloc_state(c, &st);
    if (rc)
        return rc;
    conv_cache_attrs(c, st);
    st->pool = ir_attr_int(c->node, "global_average_pool", 0) != 0;
    int64_t group = ir_attr_int(c->node, "group", 1);
    if (group < 1)
        return op_fail(c, NORMA_ERR_MODEL, "group %lld must be >= 1", (long long)group);
    const ir_tensor *w = c->in[1];
    if (!w || !w->data || w->dtype != NORMA_FLOAT || w->rank < 3 || w->dims[0] % group)
        return NORMA_OK; /* infer reports what is wrong */
    int ok;
    size_t kk = ir_numel_checked(w->rank - 2, w->dims + 2, &ok);
    size_t Mg = (size_t)(w->dims[0] / group), Kg = (size_t)w->dims[1] * kk;
    if (!ok || w->dims[1] == 1)
        return NORMA_OK; /* depthwise reads W directly */
    /* With X's shape known (static inputs), only the layout the plan will use is
     * packed: Winograd's, W^T for the transposed path, or W for im2col. On a guess,
     * im2col's W too, for plans the guess does not fit. */
    k_conv_shape ks;
    int known = conv_known_shape(c, &ks);
    if (known && k_conv_direct_fits(&ks)) { /* a stem: few input channels */
        st->wd = ir_big_alloc(k_conv_direct_packed_floats(&ks) * sizeof(float));
        if (!st->wd)
            return op_fail(c, NORMA_ERR_MEMORY, "out of memory packing W");
        k_f32_conv_direct_pack_w(&ks, (const float *)w->data, st->wd);
        c->packed_inputs |= 1u << 1;
        return NORMA_OK;
    }
    if ((rc = conv_wino_init(c, st, known ? &ks : NULL)))
        return rc;
    if (st->wu && known) {
        c->packed_inputs |= 1u << 1;
        return NORMA_OK;
    }
    if (known && conv_phase_use(&ks)) {
        if ((rc = conv_phase_init(c, st, Mg, (size_t)w->dims[1], kk)))
            return rc;
        c->packed_inputs |= 1u << 1;
        return NORMA_OK;
    }
    int want_t = group == 1 && (known ? Mg * Kg >= T_MIN_WEIGHTS && conv_outputs(&ks) <= T_MAX_COLS
                                      : Mg * Kg >= T_GUESS_WEIGHTS);
    int want_w = !known || !want_t;
    st->group_floats = k_gemm_packed_a_floats(st->isa, Mg, Kg);
    const float *wd = w->data;
    if (want_w) {
        st->wp = ir_big_alloc_uninit((st->group_floats * (size_t)group) * sizeof(float) + 1);
        if (!st->wp)
            return op_fail(c, NORMA_ERR_MEMORY, "out of memory packing W");
        for (int64_t g = 0; g < group; g++)
            k_f32_gemm_pack_a(st->isa, Mg, Kg, wd + (size_t)g * Mg * Kg, (ptrdiff_t)Kg, 1,
                              st->wp + (size_t)g * st->group_floats);
    }
    if (want_t) {
        st->wt = ir_big_alloc_uninit(k_gemm_packed_b_floats(st->isa, Kg, Mg) * sizeof(float) + 1);
        if (!st->wt)
            return op_fail(c, NORMA_ERR_MEMORY, "out of memory packing W");
        k_f32_gemm_pack_b(st->isa, Kg, Mg, wd, 1, (ptrdiff_t)Kg, st->wt);
    }
    c->packed_inputs |= 1u << 1; /* run reads st->wp (or st->wt), never W */
    return NORMA_OK;
}

/* The convolution's output dims (N, M, spatial...) into od; returns the spatial rank. */
static int conv_out_dims(const op_ctx *c, const k_conv_shape *s, int64_t *od)
{
    int nsp = c->in[0]->rank - 2;
    od[0] = s->N, od[1] = s->M;
    for (int i = 0; i < nsp; i++)
        od[2 + i] = s->out[3 - nsp + i];
    return nsp;
}

/* The residual input has exactly the convolution's output shape (dims od). */
static int res_exact(const op_ctx *c, int nsp, const int64_t *od)
{
    const ir_tensor *r = c->in[3];
    if (r->rank != nsp + 2)
        return 0;
    for (int d = 0; d < r->rank; d++)
        if (r->dims[d] != od[d])
            return 0;
    return 1;
}

/* Output shape and scratch of the unpooled convolution of geometry s. */
static int conv_infer_full(op_ctx *c, k_conv_shape s)
{
    int rc;
    int64_t od[5];
    int nsp = conv_out_dims(c, &s, od);
    int ok1, ok2;
    size_t conv_numel = ir_numel_checked(nsp + 2, od, &ok1);
    size_t res_extra = 0;
    if (c->n_in > 3 && c->in[3]) {
        const ir_tensor *r = c->in[3];
        if ((rc = op_check_dtype(c, 3, float_only)))
            return rc;
        int ro;
        int64_t bd[IR_MAX_RANK];
        if (r->rank > IR_MAX_RANK || op_broadcast_shape(nsp + 2, od, r->rank, r->dims, &ro, bd))
            return op_fail(c, NORMA_ERR_SHAPE, "residual input R does not broadcast with the convolution's output");
        op_set_shape(c->out[0], NORMA_FLOAT, ro, bd);
        if (!res_exact(c, nsp, od))
            res_extra = conv_numel; /* the convolution's result before the broadcast add */
    } else {
        op_set_shape(c->out[0], NORMA_FLOAT, nsp + 2, od);
    }
    int64_t t[3] = {s.C, kvol(&s), s.out[0] * s.out[1] * s.out[2]};
    ir_numel_checked(3, t, &ok2);
    if (!ok1 || !ok2)
        return op_fail(c, NORMA_ERR_SHAPE, "sizes overflow");
    const conv_state *st = c->state;
    const k_gemm_isa *isa = st ? st->isa : k_gemm_best();
    int64_t Cg = s.C / s.group, Mg = s.M / s.group;
    c->scratch_size = 0;
    int slots = (int)thread_slots(c->threads);
    if (Cg == 1) {
        c->scratch_size = (k_conv_depthwise_work_floats(&s, slots) + res_extra) * sizeof(float);
        return NORMA_OK;
    }
    if (st && st->wd) {
        if (!k_conv_direct_fits(&s))
            return op_fail(c, NORMA_ERR_RUNTIME, "W was packed for input shape other than this one");
        c->scratch_size = (k_conv_direct_work_floats(&s) + res_extra) * sizeof(float);
        return NORMA_OK;
    }
    if (conv_wino_use(st, &s)) {
        c->scratch_size = (k_wino_work_floats(isa, st->wino_m, &s, slots) + res_extra) * sizeof(float);
        return NORMA_OK;
    }
    if (st && st->wk) {
        if (!conv_phase_use(&s))
            return op_fail(c, NORMA_ERR_RUNTIME, "W was packed for input shape other than this one");
        c->scratch_size = (conv_phase_floats(&s, slots) + res_extra) * sizeof(float);
        return NORMA_OK;
    }
    if (pw_strided(&s)) { /* the subsampled input, at the end */
        res_extra += (size_t)(s.N * s.C) * conv_outputs(&s);
        s = pw_view(&s);
    }
    size_t Kg = (size_t)(Cg * kvol(&s));
    if (conv_t_use(st, &s)) {
        c->scratch_size = (conv_t_floats(isa, &s, Kg) + split_floats(&s, Cg) + res_extra) *
                          sizeof(float);
        return NORMA_OK;
    }
    size_t need = is_pointwise(&s) && pw_in_place(Mg, (size_t)t[2])
                      ? 0
                      : (size_t)slots * k_gemm_packed_b_floats(
                                            isa, Kg, chunk_cap(chunk_cols(isa, Kg, (size_t)t[2]), (size_t)t[2]));
    need += split_floats(&s, Cg);
    if (!st || !st->wp) {
        if (!c->in[1]->data) /* init packed another layout for the shape it saw, and let W go */
            return op_fail(c, NORMA_ERR_RUNTIME, "W was packed for input shape other than this one");
        need += k_gemm_packed_a_floats(isa, (size_t)Mg, (size_t)(Cg * kvol(&s)));
    }
    c->scratch_size = (need + res_extra) * sizeof(float);
    return NORMA_OK;
}

/* y (the shape of R and the convolution broadcast) = act(conv + R), both broadcast to
 * it; conv has rank nsp+2 and dims od. */
static void add_residual_bcast(op_ctx *c, ir_tensor *y, int nsp, const int64_t *od, const float *conv, int act,
                               float a, float b)
{
    const ir_tensor *r = c->in[3];
    int R = y->rank;
    int64_t sr[IR_MAX_RANK], sc[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
    op_broadcast_strides(r, R, y->dims, sr);
    int64_t st = 1;
    for (int d = R - 1; d >= 0; d--) {
        int cd = d - (R - (nsp + 2));
        int64_t n = cd >= 0 ? od[cd] : 1;
        sc[d] = n == 1 && y->dims[d] != 1 ? 0 : st;
        st *= n;
    }
    size_t total = ir_tensor_numel(y);
    const float *rd = r->data;
    float *yd = y->data;
    for (size_t e = 0; e < total; e++) {
        int64_t oc = 0, orr = 0;
        for (int d = 0; d < R; d++)
            oc += idx[d] * sc[d], orr += idx[d] * sr[d];
        yd[e] = conv[oc] + rd[orr];
        for (int d = R - 1; d >= 0; d--) {
            if (++idx[d] < y->dims[d])
                break;
            idx[d] = 0;
        }
    }
    k_act_apply(yd, total, act, a, b);
}

/* Channels j0 .. j1 of a pooled output (out[j]) from Y^T (n positions x M): the mean
 * over positions of act(Y^T + R^T) (r: R, M x n, or NULL: then the GEMM applied act). */
static void conv_t_mean(const float *yt, size_t n, size_t M, size_t j0, size_t j1, const float *r, int act, float a,
                        float b, float *out)
{
    enum { CH = 256 };
    float v[CH], acc[CH];
    for (size_t c0 = j0; c0 < j1; c0 += CH) {
        size_t w = j1 - c0 < CH ? j1 - c0 : CH;
        memset(acc, 0, w * sizeof(float));
        for (size_t p = 0; p < n; p++) {
            const float *row = yt + p * M + c0;
            if (r) {
                for (size_t q = 0; q < w; q++)
                    v[q] = row[q] + r[(c0 + q) * n + p];
                k_act_apply(v, w, act, a, b);
                row = v;
            }
            for (size_t q = 0; q < w; q++)
                acc[q] += row[q];
        }
        for (size_t q = 0; q < w; q++)
            out[c0 + q] = acc[q] / (float)n;
    }
}

/* Y^T's columns j0 .. j1 (channels; whole panels of W^T) after the GEMM: transposed
 * into Y plus R and the activation, or averaged into pool (see conv_t_run). */
static void conv_t_finish(const float *yt, size_t n, size_t M, size_t j0, size_t j1, const float *ri, int act,
                          float act_a, float act_b, float *yi, float *pooli)
{
    if (pooli) {
        conv_t_mean(yt, n, M, j0, j1, ri, act, act_a, act_b, pooli);
        return;
    }
    k_transpose_4b(yi + j0 * n, yt + j0, n, j1 - j0, (ptrdiff_t)M, (ptrdiff_t)n);
    if (ri) {
        k_epilogue post = {NULL, K_BIAS_NONE, act, act_a, act_b, ri, n};
        k_epilogue_apply(&post, yi + j0 * n, n, j0, j1 - j0, 0, n);
    }
}

/* The transposed path (see T_MIN_WEIGHTS), image by image: X_col^T packed as the
 * left operand, Y^T = X_col^T * W^T with the bias per column (and the activation when
 * there is no residual), then Y = (Y^T)^T, plus R and the activation; or, with pool
 * (N x M), the means of Y^T's columns there and Y untouched. */
static void conv_t_run(op_ctx *c, const k_conv_shape *s, const float *x, const float *bias, const float *res,
                       float *y, int act, float act_a, float act_b, float *pool)
{
    const conv_state *st = c->state;
    const k_gemm_isa *isa = st->isa;
    size_t K = (size_t)(s->C * kvol(s)), n = conv_outputs(s), M = (size_t)s->M;
    size_t HW = (size_t)(s->in[0] * s->in[1] * s->in[2]), mr = (size_t)isa->mr, nr = (size_t)isa->nr;
    int pw = is_pointwise(s);
    float *ap = c->scratch, *yt = ap + k_gemm_packed_a_floats(isa, n, K), *xsplit = yt + n * M;
    int use_split = split_floats(s, s->C) > 0;
    k_epilogue ep = {bias, K_BIAS_COL, res ? ACT_NONE : act, act_a, act_b};
    /* With threads, a 1x1 layer runs as one parallel region: each thread packs its
     * panels of X^T, then (after a barrier) multiplies all of X^T by its band of W^T's
     * panels, then transposes (or averages) that band of Y^T, which it wrote itself;
     * instead of three regions (or the pack and the transpose on one thread). */
    int one_region = pw && c->threads > 1 && (M + nr - 1) / nr >= (size_t)c->threads &&
                     2.0 * (double)n * (double)M * (double)K > 2e6;
    for (int64_t i = 0; i < s->N; i++) {
        const float *xi = x + (size_t)i * (size_t)s->C * HW;
        const float *ri = res ? res + (size_t)i * M * n : NULL;
        float *yi = pool ? NULL : y + (size_t)i * M * n, *pooli = pool ? pool + (size_t)i * M : NULL;
        if (one_region) {
            size_t npa = (n + mr - 1) / mr;
#pragma omp parallel num_threads(c->threads)
            {
                size_t t = (size_t)omp_get_thread_num(), T = (size_t)omp_get_num_threads(), j0, j1;
                for (size_t p = npa * t / T; p < npa * (t + 1) / T; p++) { /* X is K x n: its transpose */
                    size_t m = n - p * mr < mr ? n - p * mr : mr;
                    k_f32_gemm_pack_a(isa, m, K, xi + p * mr, 1, (ptrdiff_t)HW, ap + p * mr * K);
                }
#pragma omp barrier
                k_gemm_band(M, nr, t, T, &j0, &j1);
                if (j1 > j0) {
                    k_epilogue e = ep;
                    if (e.bias)
                        e.bias += j0;
                    k_f32_gemm_packed(isa, n, j1 - j0, K, 1.0f, ap, st->wt + j0 * K, 0.0f, yt + j0, M, &e, 1);
                    conv_t_finish(yt, n, M, j0, j1, ri, act, act_a, act_b, yi, pooli);
                }
            }
            continue;
        }
        if (pw) {
            /* X is K x n: its transpose, read in place */
            k_f32_gemm_pack_a_mt(isa, n, K, xi, 1, (ptrdiff_t)HW, ap, c->threads);
        } else if (c->threads > 1 && s->C >= 2 * c->threads) {
            /* im2col in panels of MR columns is X_col^T packed as the GEMM's A. Each
             * thread splits and packs the rows of its own share of the channels (by
             * positions, few panels would share badly; and a thread reads only the
             * split it wrote: a line another core wrote costs several times more) */
            size_t kk = (size_t)kvol(s);
            size_t splane = use_split ? split_floats(s, 1) : 0;
#pragma omp parallel num_threads(c->threads)
            {
                int64_t t = omp_get_thread_num(), T = omp_get_num_threads();
                int64_t ca = s->C * t / T, cn = s->C * (t + 1) / T - ca;
                float *xs = use_split ? xsplit + (size_t)ca * splane : NULL;
                if (xs)
                    k_f32_split_w_phases(s, xi, ca, cn, xs, 1);
                k_f32_im2col_packed_part(s, xi, ca, cn, n, mr, xs, ap + (size_t)ca * kk * mr, K);
            }
        } else {
            if (use_split)
                k_f32_split_w_phases(s, xi, 0, s->C, xsplit, c->threads);
            k_f32_im2col_packed(s, xi, 0, s->C, 0, n, mr, use_split ? xsplit : NULL, ap, c->threads);
        }
        k_f32_gemm_packed(isa, n, M, K, 1.0f, ap, st->wt, 0.0f, yt, M, &ep, c->threads);
        /* Y = (Y^T)^T, plus R: each thread the channels whose columns of Y^T the
         * GEMM's column bands gave it (the same k_gemm_band split) */
        int nt = c->threads > 1 && M * n >= 16384 ? c->threads : 1;
#pragma omp parallel num_threads(nt)
        {
            size_t j0, j1;
            k_gemm_band(M, nr, (size_t)omp_get_thread_num(), (size_t)omp_get_num_threads(), &j0, &j1);
            conv_t_finish(yt, n, M, j0, j1, ri, act, act_a, act_b, yi, pooli);
        }
    }
}

/* One image and group of the im2col path, cut in column chunks. */
typedef struct chunk_job {
    const k_conv_shape *s;
    const k_gemm_isa *isa;
    const float *xi;      /* the image */
    int64_t c0, Cg, Mg;   /* the group's first channel, channels, output channels */
    size_t Kg, OHW, HW, chunk;
    int pw;               /* 1x1: pack the image's columns instead of im2col */
    const float *xsplit;  /* the W-phase split of the group, or NULL */
    const float *a;       /* packed weights of the group */
    const k_epilogue *ep;
    float *yg;            /* the group's output */
} chunk_job;

/* Columns j0 .. j0 + nc (at most a chunk): packed into b, multiplied into the output
 * (threads inside). */
static void conv_cols(const chunk_job *j, size_t j0, size_t nc, float *b, int threads)
{
    if (j->pw)
        k_f32_gemm_pack_b(j->isa, j->Kg, nc, j->xi + (size_t)j->c0 * j->HW + j0, (ptrdiff_t)j->HW, 1, b);
    else
        k_f32_im2col_packed(j->s, j->xi, j->c0, j->Cg, j0, nc, (size_t)j->isa->nr, j->xsplit, b, threads);
    k_epilogue ep = *j->ep;
    if (ep.res)
        ep.res += j0;
    k_f32_gemm_packed(j->isa, (size_t)j->Mg, nc, j->Kg, 1.0f, j->a, b, 0.0f, j->yg + j0, j->OHW, &ep, threads);
}

/* Columns j0 .. j1 in chunks, the last with a remainder under half a chunk. */
static void conv_cols_chunked(const chunk_job *j, size_t j0, size_t j1, float *b, int threads)
{
    for (size_t q = j0, n; q < j1; q += n) {
        n = j1 - q < j->chunk ? j1 - q : j->chunk;
        if (j1 - q - n < j->chunk / 2)
            n = j1 - q;
        conv_cols(j, q, n, b, threads);
    }
}

/* The convolution of geometry s (plus R and the activation) into yt, whose shape is
 * the unpooled output's, with scratch_floats of the scratch; pool: see conv_t_run
 * (only where conv_pool_direct holds). */
static int conv_run_full(op_ctx *c, k_conv_shape s, ir_tensor *yt, size_t scratch_floats, float *pool)
{
    const conv_state *st = c->state;
    const ir_node *n = c->node;
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = yt->data;
    int64_t Cg = s.C / s.group, Mg = s.M / s.group;
    int64_t od[5];
    int nsp = conv_out_dims(c, &s, od);
    int act = n->fused_act;
    float act_a = n->act_alpha, act_b = n->act_beta;
    const float *res = NULL; /* the residual added in the epilogue */
    float *yconv = y;        /* where the convolution goes */
    int res_post = 0;
    if (c->n_in > 3 && c->in[3]) {
        if (res_exact(c, nsp, od) && Cg != 1) {
            res = c->in[3]->data;
        } else {
            res_post = 1;
            act = ACT_NONE;
            if (!res_exact(c, nsp, od)) {
                size_t cn = (size_t)s.N * (size_t)s.M * conv_outputs(&s);
                scratch_floats -= cn;
                yconv = (float *)c->scratch + scratch_floats;
            }
        }
    }
    if (Cg == 1) {
        k_f32_conv_depthwise(&s, x, w, bias, yconv, act, act_a, act_b, c->threads, c->scratch, scratch_floats);
        if (res_post)
            add_residual_bcast(c, yt, nsp, od, yconv, n->fused_act, n->act_alpha, n->act_beta);
        return NORMA_OK;
    }
    if (st && st->wd) {
        k_f32_conv_direct(&s, x, st->wd, bias, yconv, res ? ACT_NONE : act, act_a, act_b, c->threads, c->scratch);
        if (res) { /* the whole output as one row: plus R, then the activation */
            k_epilogue post = {NULL, K_BIAS_NONE, act, act_a, act_b, res, 0};
            k_epilogue_apply(&post, yconv, 0, 0, 1, 0, (size_t)s.N * (size_t)s.M * conv_outputs(&s));
        }
        if (res_post)
            add_residual_bcast(c, yt, nsp, od, yconv, n->fused_act, n->act_alpha, n->act_beta);
        return NORMA_OK;
    }
    if (st && st->wk) {
        conv_phase_run(c, &s, x, bias, res, yconv, act, act_a, act_b);
        if (res_post)
            add_residual_bcast(c, yt, nsp, od, yconv, n->fused_act, n->act_alpha, n->act_beta);
        return NORMA_OK;
    }
    if (conv_wino_use(st, &s)) {
        k_f32_wino_conv(st->isa, st->wino_m, &s, x, st->wu, bias, res, yconv, act, act_a, act_b, c->threads,
                        c->scratch, scratch_floats);
        if (res_post)
            add_residual_bcast(c, yt, nsp, od, yconv, n->fused_act, n->act_alpha, n->act_beta);
        return NORMA_OK;
    }
    if (pw_strided(&s)) {
        size_t sub = (size_t)(s.N * s.C) * conv_outputs(&s);
        scratch_floats -= sub;
        float *xs = (float *)c->scratch + scratch_floats;
        k_f32_conv_subsample(&s, x, xs, c->threads);
        x = xs;
        s = pw_view(&s);
    }
    if (conv_t_use(st, &s)) {
        conv_t_run(c, &s, x, bias, res, yconv, act, act_a, act_b, pool);
        if (res_post)
            add_residual_bcast(c, yt, nsp, od, yconv, n->fused_act, n->act_alpha, n->act_beta);
        return NORMA_OK;
    }
    const k_gemm_isa *isa = st->isa;
    size_t Kg = (size_t)(Cg * kvol(&s)), HW = (size_t)(s.in[0] * s.in[1] * s.in[2]);
    size_t OHW = conv_outputs(&s);
    size_t chunk = chunk_cols(isa, Kg, OHW);
    int pw = is_pointwise(&s);
    /* No scratch at all for empty outputs: no arithmetic on a NULL pointer. */
    float *bp = c->scratch;
    size_t slots = thread_slots(c->threads), bfloats = k_gemm_packed_b_floats(isa, Kg, chunk_cap(chunk, OHW));
    float *xsplit = bp ? bp + (pw && pw_in_place(Mg, OHW) ? 0 : slots * bfloats) : NULL;
    /* Each thread a band of whole panels of columns (output positions), which it
     * packs and multiplies chunk by chunk: one parallel region per convolution, not
     * two per chunk, and a thread reads the input rows of its own positions (a line
     * another core wrote costs several times a line of this core's cache; one chunk
     * packed by one thread for all would be read mostly across). Too few panels for
     * that: every chunk's im2col and GEMM use all threads. */
    int nt = c->threads > (int)slots ? (int)slots : c->threads;
    size_t nr = (size_t)isa->nr, npanels = (OHW + nr - 1) / nr;
    int bands = nt > 1 && npanels >= (size_t)nt;
    float *ap = xsplit ? xsplit + split_floats(&s, Cg) : NULL;
    int use_split = split_floats(&s, Cg) > 0;
    for (int64_t i = 0; i < s.N; i++)
        for (int64_t g = 0; g < s.group; g++) {
            const float *a;
            if (st->wp) {
                a = st->wp + (size_t)g * st->group_floats;
            } else {
                k_f32_gemm_pack_a(isa, (size_t)Mg, Kg, w + (size_t)(g * Mg) * Kg, (ptrdiff_t)Kg, 1, ap);
                a = ap;
            }
            size_t yoff = ((size_t)i * (size_t)s.M + (size_t)(g * Mg)) * OHW;
            k_epilogue ep = {bias ? bias + g * Mg : NULL, K_BIAS_ROW, act, act_a, act_b, res ? res + yoff : NULL, OHW};
            const float *xi = x + (size_t)i * (size_t)s.C * HW;
            float *yg = yconv + yoff;
            if (pw && pw_in_place(Mg, OHW)) { /* 1x1: the input image already is the K x N right operand */
                k_f32_gemm_direct_b(isa, (size_t)Mg, OHW, Kg, 1.0f, a, xi + (size_t)(g * Cg) * HW, HW, 0.0f, yg, OHW,
                                    &ep, c->threads);
                continue;
            }
            if (use_split)
                k_f32_split_w_phases(&s, xi, g * Cg, Cg, xsplit, c->threads);
            /* column chunks: im2col (or pack) a slice of the output positions, multiply */
            chunk_job job = {&s, isa, xi, g * Cg, Cg, Mg, Kg, OHW, HW, chunk, pw, use_split ? xsplit : NULL, a, &ep, yg};
            if (bands) {
#pragma omp parallel num_threads(nt)
                {
                    size_t t = (size_t)omp_get_thread_num(), j0, j1;
                    k_gemm_band(OHW, nr, t, (size_t)omp_get_num_threads(), &j0, &j1);
                    conv_cols_chunked(&job, j0, j1, bp + t * bfloats, 1);
                }
            } else { /* no parallel region around the GEMM's own (a nested one costs a new team) */
                conv_cols_chunked(&job, 0, OHW, bp, c->threads);
            }
        }
    if (res_post)
        add_residual_bcast(c, yt, nsp, od, yconv, n->fused_act, n->act_alpha, n->act_beta);
    return NORMA_OK;
}

/* Pooled (global_average_pool): the transposed path averages Y^T in place of the
 * transpose, when nothing runs after it (no subsampled input, R absent or of the
 * convolution's exact shape). */
static int conv_pool_direct(const op_ctx *c, const k_conv_shape *s)
{
    if (!conv_t_use(c->state, s) || pw_strided(s))
        return 0;
    if (c->n_in <= 3 || !c->in[3])
        return 1;
    int64_t od[5];
    int nsp = conv_out_dims(c, s, od);
    return res_exact(c, nsp, od);
}

/* The unpooled output's shape: the convolution's, broadcast with R. */
static void conv_full_shape(const op_ctx *c, const k_conv_shape *s, int *rank, int64_t *dims)
{
    int64_t od[5];
    int nsp = conv_out_dims(c, s, od);
    *rank = nsp + 2;
    memcpy(dims, od, sizeof(int64_t) * (size_t)(nsp + 2));
    if (c->n_in > 3 && c->in[3]) /* infer checked that they broadcast */
        op_broadcast_shape(nsp + 2, od, c->in[3]->rank, c->in[3]->dims, rank, dims);
}

static int conv_pooled(const op_ctx *c)
{
    const conv_state *st = c->state;
    return st && st->pool;
}

static int conv_infer(op_ctx *c)
{
    k_conv_shape s;
    int rc = conv_geometry(c, 0, &s);
    if (rc || (rc = conv_infer_full(c, s)) || !conv_pooled(c))
        return rc;
    ir_tensor *y = c->out[0];
    if (!conv_pool_direct(c, &s))
        c->scratch_size += ir_tensor_numel(y) * sizeof(float); /* the full result, at the end */
    for (int d = 2; d < y->rank; d++)
        y->dims[d] = 1;
    return NORMA_OK;
}

static int conv_run(op_ctx *c)
{
    k_conv_shape s;
    int rc = conv_geometry(c, 0, &s);
    if (rc)
        return rc;
    size_t scratch_floats = c->scratch_size / sizeof(float);
    if (!conv_pooled(c))
        return conv_run_full(c, s, c->out[0], scratch_floats, NULL);
    ir_tensor full = *c->out[0];
    conv_full_shape(c, &s, &full.rank, full.dims);
    if (conv_pool_direct(c, &s))
        return conv_run_full(c, s, &full, scratch_floats, c->out[0]->data);
    size_t numel = ir_tensor_numel(&full), nc = (size_t)(full.dims[0] * full.dims[1]);
    scratch_floats -= numel;
    full.data = numel ? (float *)c->scratch + scratch_floats : NULL;
    if ((rc = conv_run_full(c, s, &full, scratch_floats, NULL)))
        return rc;
    k_f32_global_avgpool(nc, nc ? numel / nc : 0, full.data, c->out[0]->data, c->threads);
    return NORMA_OK;
}

/* ---------------- ConvTranspose ---------------- */

/* A = W^T of group g: A(r, c) = W[(g*Cg + c) * Mg*kk + r], rows Mg*kk, columns Cg. */
static void pack_wt(const k_gemm_isa *isa, const float *w, int64_t g, int64_t Cg, size_t rows, float *dst)
{
    k_f32_gemm_pack_a(isa, rows, (size_t)Cg, w + (size_t)(g * Cg) * rows, 1, (ptrdiff_t)rows, dst);
}

static int convt_init(op_ctx *c)
{
    conv_state *st = NULL;
    int rc = alloc_state(c, &st);
    if (rc)
        return rc;
    int64_t group = ir_attr_int(c->node, "group", 1);
    if (group < 1)
        return op_fail(c, NORMA_ERR_MODEL, "group %lld must be >= 1", (long long)group);
    const ir_tensor *w = c->in[1];
    if (!w || !w->data || w->dtype != NORMA_FLOAT || w->rank < 3 || w->dims[0] % group)
        return NORMA_OK;
    int ok;
    size_t kk = ir_numel_checked(w->rank - 2, w->dims + 2, &ok);
    if (!ok)
        return NORMA_OK;
    int64_t Cg = w->dims[0] / group;
    size_t rows = (size_t)w->dims[1] * kk;
    st->group_floats = k_gemm_packed_a_floats(st->isa, rows, (size_t)Cg);
    st->wp = ir_big_alloc(st->group_floats * (size_t)group * sizeof(float) + 1);
    if (!st->wp)
        return op_fail(c, NORMA_ERR_MEMORY, "out of memory packing W");
    for (int64_t g = 0; g < group; g++)
        pack_wt(st->isa, w->data, g, Cg, rows, st->wp + (size_t)g * st->group_floats);
    c->packed_inputs |= 1u << 1; /* run reads st->wp, never W */
    return NORMA_OK;
}

static int convt_infer(op_ctx *c)
{
    k_conv_shape s;
    int rc = conv_geometry(c, 1, &s);
    if (rc)
        return rc;
    int64_t od[5];
    int nsp = conv_out_dims(c, &s, od);
    op_set_shape(c->out[0], NORMA_FLOAT, nsp + 2, od);
    int ok1, ok2;
    ir_numel_checked(nsp + 2, od, &ok1);
    int64_t t[3] = {s.M, kvol(&s), s.in[0] * s.in[1] * s.in[2]};
    ir_numel_checked(3, t, &ok2);
    if (!ok1 || !ok2)
        return op_fail(c, NORMA_ERR_SHAPE, "sizes overflow");
    const conv_state *st = c->state;
    const k_gemm_isa *isa = st ? st->isa : k_gemm_best();
    int64_t Cg = s.C / s.group, Mg = s.M / s.group;
    size_t rows = (size_t)(Mg * kvol(&s)), HW = (size_t)t[2];
    size_t need = rows * HW + k_gemm_packed_b_floats(isa, (size_t)Cg, HW);
    if (!st || !st->wp)
        need += k_gemm_packed_a_floats(isa, rows, (size_t)Cg);
    c->scratch_size = need * sizeof(float);
    return NORMA_OK;
}

static int convt_run(op_ctx *c)
{
    k_conv_shape s;
    int rc = conv_geometry(c, 1, &s);
    if (rc)
        return rc;
    const conv_state *st = c->state;
    const ir_node *n = c->node;
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *bias = c->n_in > 2 && c->in[2] ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    const k_gemm_isa *isa = st->isa;
    int64_t Cg = s.C / s.group, Mg = s.M / s.group;
    size_t rows = (size_t)(Mg * kvol(&s)), HW = (size_t)(s.in[0] * s.in[1] * s.in[2]);
    size_t OHW = conv_outputs(&s);
    float *col = c->scratch, *bp = col + rows * HW, *ap = bp + k_gemm_packed_b_floats(isa, (size_t)Cg, HW);
    for (int64_t i = 0; i < s.N; i++) {
        float *yi = y + (size_t)i * (size_t)s.M * OHW;
        for (int64_t m = 0; m < s.M; m++)
            for (size_t j = 0; j < OHW; j++)
                yi[(size_t)m * OHW + j] = bias ? bias[m] : 0.0f;
        for (int64_t g = 0; g < s.group; g++) {
            const float *xg = x + ((size_t)i * (size_t)s.C + (size_t)(g * Cg)) * HW;
            k_f32_gemm_pack_b(isa, (size_t)Cg, HW, xg, (ptrdiff_t)HW, 1, bp);
            const float *a;
            if (st->wp) {
                a = st->wp + (size_t)g * st->group_floats;
            } else {
                pack_wt(isa, w, g, Cg, rows, ap);
                a = ap;
            }
            k_f32_gemm_packed(isa, rows, HW, (size_t)Cg, 1.0f, a, bp, 0.0f, col, HW, NULL, c->threads);
            k_f32_col2im_add(&s, col, Mg, yi + (size_t)(g * Mg) * OHW, c->threads);
        }
        k_act_apply(yi, (size_t)s.M * OHW, n->fused_act, n->act_alpha, n->act_beta);
    }
    return NORMA_OK;
}

static const op_schema conv1 = {"Conv", "", 1, 2, 3, 1, 1, conv_init, conv_state_free, conv_infer, conv_run};
static const op_schema conv11 = {"Conv", "", 11, 2, 3, 1, 1, conv_init, conv_state_free, conv_infer, conv_run};
static const op_schema conv_res = {"Conv", "norma", 1, 2, 4, 1, 1, conv_init, conv_state_free, conv_infer, conv_run};
static const op_schema convt1 = {"ConvTranspose", "", 1, 2, 3, 1, 1, convt_init, conv_state_free, convt_infer, convt_run};
static const op_schema convt11 = {"ConvTranspose", "", 11, 2, 3, 1, 1, convt_init, conv_state_free, convt_infer, convt_run};

OP_TABLE(conv) = {&conv1, &conv11, &conv_res, &convt1, &convt11, NULL};
