/* Tests of Conv and ConvTranspose (every fast path) against the direct references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kernels/act.h"
#include "kernels/conv.h"
#include "ophelp.h"
#include "testutil.h"

typedef struct cspec {
    int nsp;
    int64_t N, C, M, group;
    int64_t in[3], k[3], stride[3], dil[3], pb[3], pe[3], opad[3];
    int bias, act;
    int res; /* the "norma" domain's residual input R (needs bias): Y = act(conv + B + R) */
    unsigned cmask; /* which inputs init sees as constant */
    const char *auto_pad; /* NULL: explicit pads */
} cspec;

static cspec base(int nsp, int64_t N, int64_t C, int64_t M, int64_t group, int64_t in, int64_t k)
{
    cspec s;
    memset(&s, 0, sizeof s);
    s.nsp = nsp;
    s.N = N;
    s.C = C;
    s.M = M;
    s.group = group;
    for (int i = 0; i < 3; i++) {
        s.in[i] = in + i; /* non-square on purpose */
        s.k[i] = k;
        s.stride[i] = s.dil[i] = 1;
    }
    s.cmask = 2 | 4;
    return s;
}

/* Runs Conv (transpose = 0) or ConvTranspose (1) per spec and compares with the
 * reference; returns nothing, fails the test on mismatch. */
static void check(const cspec *sp, int transpose, int threads)
{
    int nsp = sp->nsp;
    k_conv_shape s;
    memset(&s, 0, sizeof s);
    s.N = sp->N;
    s.C = sp->C;
    s.M = sp->M;
    s.group = sp->group;
    int64_t xd[5] = {sp->N, sp->C}, wd[5], bd[1] = {sp->M}, od[5] = {sp->N, sp->M};
    if (transpose) {
        wd[0] = sp->C;
        wd[1] = sp->M / sp->group;
    } else {
        wd[0] = sp->M;
        wd[1] = sp->C / sp->group;
    }
    for (int i = 0; i < 3; i++)
        s.in[i] = s.out[i] = s.k[i] = s.stride[i] = s.dil[i] = 1;
    for (int i = 0; i < nsp; i++) {
        int d = 3 - nsp + i;
        int64_t eff = (sp->k[i] - 1) * sp->dil[i] + 1;
        xd[2 + i] = s.in[d] = sp->in[i];
        wd[2 + i] = s.k[d] = sp->k[i];
        s.stride[d] = sp->stride[i];
        s.dil[d] = sp->dil[i];
        s.pad[d] = sp->pb[i];
        if (transpose)
            od[2 + i] = s.out[d] = sp->stride[i] * (sp->in[i] - 1) + sp->opad[i] + eff - sp->pb[i] - sp->pe[i];
        else
            od[2 + i] = s.out[d] = (sp->in[i] + sp->pb[i] + sp->pe[i] - eff) / sp->stride[i] + 1;
    }
    int ok;
    size_t nx = ir_numel_checked(nsp + 2, xd, &ok), nw = ir_numel_checked(nsp + 2, wd, &ok);
    size_t ny = ir_numel_checked(nsp + 2, od, &ok);
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *b = malloc(sizeof(float) * (size_t)sp->M);
    float *ref = malloc(sizeof(float) * ny), *r = malloc(sizeof(float) * ny);
    tu_fill(x, nx, -1, 1);
    tu_fill(w, nw, -1, 1);
    tu_fill(b, (size_t)sp->M, -1, 1);
    tu_fill(r, ny, -1, 1);
    ir_tensor tx = oh_tensor(nsp + 2, xd, x), tw = oh_tensor(nsp + 2, wd, w), tb = oh_tensor(1, bd, b);
    ir_tensor tr = oh_tensor(nsp + 2, od, r);
    oh_node t;
    oh_init(&t, transpose ? "ConvTranspose" : "Conv", 11);
    int64_t v[6];
    for (int i = 0; i < nsp; i++)
        v[i] = sp->stride[i];
    oh_ints(&t, "strides", nsp, v);
    for (int i = 0; i < nsp; i++)
        v[i] = sp->dil[i];
    oh_ints(&t, "dilations", nsp, v);
    for (int i = 0; i < nsp; i++)
        v[i] = sp->k[i];
    oh_ints(&t, "kernel_shape", nsp, v);
    if (sp->auto_pad) {
        oh_str(&t, "auto_pad", sp->auto_pad);
    } else {
        for (int i = 0; i < nsp; i++) {
            v[i] = sp->pb[i];
            v[nsp + i] = sp->pe[i];
        }
        oh_ints(&t, "pads", 2 * nsp, v);
    }
    if (transpose) {
        for (int i = 0; i < nsp; i++)
            v[i] = sp->opad[i];
        oh_ints(&t, "output_padding", nsp, v);
    }
    oh_int(&t, "group", sp->group);
    t.node.fused_act = sp->act;
    t.node.act_alpha = 0.1f;
    t.node.act_beta = 0.6f;
    if (sp->res)
        t.n.domain = (char *)"norma";
    if (transpose) {
        k_f32_convtranspose_ref(&s, x, w, sp->bias ? b : NULL, ref, sp->act, 0.1f, 0.6f);
    } else if (sp->res) {
        k_f32_conv_ref(&s, x, w, b, ref, ACT_NONE, 0, 0);
        for (size_t i = 0; i < ny; i++)
            ref[i] += r[i];
        k_act_apply(ref, ny, sp->act, 0.1f, 0.6f);
    } else {
        k_f32_conv_ref(&s, x, w, sp->bias ? b : NULL, ref, sp->act, 0.1f, 0.6f);
    }
    /* Sums of K products of values in [-1, 1], added in different orders: rounding
     * differences grow with K (about K * 1e-7 absolute at K = 2048). */
    double K = (double)(transpose ? sp->M / sp->group : sp->C / sp->group);
    for (int i = 0; i < nsp; i++)
        K *= (double)sp->k[i];
    /* init sees X's shape (static inputs: it packs only the layout the plan uses) or
     * does not (it guesses and packs for any plan) */
    for (int unshaped = 0; unshaped <= 1; unshaped++) {
        t.init_unshaped = unshaped;
        ir_tensor *in[4] = {&tx, &tw, &tb, &tr}, *out[1] = {NULL};
        int rc = oh_run(&t, sp->res ? 4 : sp->bias ? 3 : 2, in, 1, out, sp->cmask, threads);
        if (rc)
            fail_msg("op failed: %s", t.err);
        assert_int_equal(out[0]->rank, nsp + 2);
        for (int i = 0; i < nsp + 2; i++)
            assert_int_equal(out[0]->dims[i], od[i]);
        double e = tu_max_rel_err(out[0]->data, ref, ny, 1e-5 + 1e-7 * K, 1e-4);
        if (e > 1)
            fail_msg("%s nsp=%d C=%lld M=%lld group=%lld X shaped in init %d: rel err %g", t.node.op_type, nsp,
                     (long long)sp->C, (long long)sp->M, (long long)sp->group, !unshaped, e);
        ir_tensor_free(out[0]);
    }
    free(x);
    free(w);
    free(b);
    free(ref);
    free(r);
}

static void conv_2d_3x3_pad1_bias_matches_reference(void **st)
{
    (void)st;
    tu_seed(10);
    cspec s = base(2, 2, 3, 17, 1, 7, 3);
    s.pb[0] = s.pb[1] = s.pe[0] = s.pe[1] = 1;
    s.bias = 1;
    check(&s, 0, 1);
    s.cmask = 0; /* weights packed at run time */
    check(&s, 0, 2);
}

static void conv_stride2_dilation2_asymmetric_pads_match_reference(void **st)
{
    (void)st;
    tu_seed(11);
    cspec s = base(2, 1, 5, 33, 1, 17, 3);
    s.stride[0] = s.stride[1] = 2;
    s.dil[1] = 2;
    s.pb[0] = 2;
    s.pe[1] = 1;
    s.bias = 1;
    check(&s, 0, 2);
}

static void conv_1x1_pointwise_matches_reference(void **st)
{
    (void)st;
    tu_seed(12);
    cspec s = base(2, 2, 17, 65, 1, 7, 1);
    s.bias = 1;
    s.act = ACT_RELU;
    check(&s, 0, 2);
    s.stride[0] = s.stride[1] = 2; /* strided 1x1 goes through im2col */
    check(&s, 0, 1);
    cspec wide = base(2, 1, 9, 300, 1, 9, 1); /* many output channels: B packed, not read in place */
    wide.bias = 1;
    wide.act = ACT_CLIP;
    check(&wide, 0, 2);
    /* strided 1x1 convolutions gather their inputs first (k_f32_conv_subsample), then
     * run as pointwise ones: unequal strides, a trailing pad that reads zeros, groups */
    cspec sub = base(2, 2, 12, 300, 1, 19, 1);
    sub.stride[0] = 2, sub.stride[1] = 3;
    sub.pe[0] = 1;
    sub.bias = 1;
    sub.act = ACT_RELU;
    check(&sub, 0, 1);
    check(&sub, 0, 2);
    sub.M = 30, sub.group = 3;
    check(&sub, 0, 2);
}

/* outputs wider than one im2col chunk (see chunk_cols in ops/conv.c) */
static void conv_several_column_chunks_match_reference(void **st)
{
    (void)st;
    tu_seed(18);
    cspec s = base(2, 1, 32, 8, 1, 30, 3);
    s.pb[0] = s.pb[1] = s.pe[0] = s.pe[1] = 1;
    s.bias = 1;
    s.act = ACT_RELU;
    check(&s, 0, 2);
    cspec p = base(2, 1, 64, 4, 1, 70, 1);
    p.bias = 1;
    check(&p, 0, 1);
    /* at least two chunks per thread: each thread packs and multiplies its own chunks
     * (K = 576 makes chunks of 160 columns; 41 x 41 outputs are 11 chunks, the last short) */
    cspec m = base(2, 2, 64, 13, 1, 41, 3);
    m.pb[0] = m.pb[1] = m.pe[0] = m.pe[1] = 1;
    m.bias = 1;
    m.act = ACT_RELU;
    check(&m, 0, 2);
    check(&m, 0, 3);
}

static void conv_group2_pad1_matches_reference(void **st)
{
    (void)st;
    tu_seed(13);
    cspec s = base(2, 2, 6, 10, 2, 9, 3);
    s.pb[0] = s.pb[1] = s.pe[0] = s.pe[1] = 1;
    s.bias = 1;
    check(&s, 0, 1);
    s.cmask = 0;
    check(&s, 0, 2);
}

/* The zero-padded 3x3 depthwise path (2-D, stride 1 or 2, pads 0..2 on each side) and
 * its fallback for planes too large for it, with the vectorized ReLU and Clip. */
static void conv_depthwise_3x3_fast_path_matches_reference(void **st)
{
    (void)st;
    tu_seed(21);
    static const int64_t ins[] = {1, 2, 7, 16, 33};
    static const int acts[] = {ACT_NONE, ACT_RELU, ACT_CLIP, ACT_HARD_SWISH, ACT_GELU};
    for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++)
        for (int64_t sd = 1; sd <= 2; sd++)
            for (int64_t pad = 0; pad <= 2; pad++) {
                if (ins[i] + pad + (pad > 0 ? pad - 1 : 0) < 3)
                    continue; /* no output rows */
                cspec s = base(2, 2, 5, 5, 5, ins[i], 3);
                s.stride[0] = s.stride[1] = sd;
                s.pb[0] = s.pb[1] = pad;
                s.pe[0] = pad > 0 ? pad - 1 : 0; /* asymmetric */
                s.pe[1] = pad;
                s.bias = (int)((i + (size_t)pad) & 1);
                s.act = acts[(i + (size_t)sd + (size_t)pad) % 5];
                check(&s, 0, (int)sd);
            }
    cspec big = base(2, 1, 2, 2, 2, 150, 3); /* padded plane larger than the stack buffer */
    big.pb[0] = big.pb[1] = big.pe[0] = big.pe[1] = 1;
    big.act = ACT_CLIP;
    check(&big, 0, 2);
}

/* A 3x3 depthwise shape of two images and C channels from d = {H, W, stride, pad top,
 * pad left, pad bottom and right}. */
static k_conv_shape dw3x3_shape(int64_t C, const int64_t *d)
{
    k_conv_shape s;
    memset(&s, 0, sizeof s);
    s.N = 2, s.C = s.M = s.group = C;
    for (int k = 0; k < 3; k++)
        s.in[k] = s.out[k] = s.k[k] = s.stride[k] = s.dil[k] = 1;
    s.in[1] = d[0], s.in[2] = d[1];
    s.k[1] = s.k[2] = 3;
    s.stride[1] = s.stride[2] = d[2];
    s.pad[1] = d[3], s.pad[2] = d[4];
    s.out[1] = (s.in[1] + s.pad[1] + d[5] - 3) / s.stride[1] + 1;
    s.out[2] = (s.in[2] + s.pad[2] + d[5] - 3) / s.stride[2] + 1;
    return s;
}

/* The kernel itself, its AVX-512 paths (where the CPU has them: simd 1 as chosen, 2
 * flat, 3 rows) and its portable loops (simd 0), against the reference: widths around
 * the 16-lane blocks,
 * stride 2 reading across two vectors, pads 0..2 and uneven, rows wider than the
 * block-mask table (portable loops then), planes of the same size out as in (one flat
 * masked run at simd 1, up to 64 outputs and one past), planes large enough for two
 * threads, with the activations. */
static void conv_depthwise_kernel_simd_and_portable_match_reference(void **st)
{
    (void)st;
    tu_seed(23);
    static const int64_t dims[][6] = {/* H, W, stride, pad top, pad left, pad bottom/right */
                                      {5, 15, 1, 1, 1, 1},   {4, 16, 2, 1, 1, 0},  {9, 17, 1, 0, 0, 0},
                                      {6, 33, 2, 0, 1, 1},   {11, 47, 2, 2, 2, 2}, {3, 64, 1, 2, 0, 1},
                                      {13, 113, 2, 0, 1, 0}, {2, 2, 1, 1, 1, 1},   {3, 2100, 1, 1, 1, 1},
                                      {7, 7, 1, 1, 1, 1},    {14, 14, 2, 1, 1, 1}, {8, 31, 2, 2, 2, 0},
                                      {1, 40, 1, 1, 0, 1},   {3, 3, 2, 0, 0, 0},   {29, 30, 2, 1, 1, 1},
                                      /* the same size out as in (simd 1: one flat masked run) */
                                      {1, 1, 1, 1, 1, 1},    {4, 9, 1, 1, 1, 1},   {8, 8, 1, 1, 1, 1},
                                      {5, 13, 1, 1, 1, 1},   {3, 7, 1, 0, 0, 2},   {6, 5, 1, 2, 2, 0},
                                      /* large enough for two threads */
                                      {64, 70, 1, 1, 1, 1},  {121, 64, 2, 1, 1, 0}, {66, 40, 1, 2, 2, 2}};
    static const int acts[] = {ACT_NONE, ACT_RELU, ACT_CLIP, ACT_HARD_SWISH, ACT_LEAKY_RELU};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        k_conv_shape s = dw3x3_shape(3, dims[i]);
        size_t nx = (size_t)(s.N * s.C * s.in[1] * s.in[2]), ny = (size_t)(s.N * s.M * s.out[1] * s.out[2]);
        enum { GUARD = 32 }; /* floats after y that no path may write */
        float *x = malloc(nx * sizeof(float)), *y = malloc((ny + GUARD) * sizeof(float));
        float *ref = malloc(ny * sizeof(float));
        float w[27], b[3];
        tu_fill(x, nx, -1, 1);
        tu_fill(w, 27, -1, 1);
        tu_fill(b, 3, -1, 1);
        int act = acts[i % 5];
        k_f32_conv_ref(&s, x, w, b, ref, act, 0.1f, 0.6f);
        size_t wf = k_conv_depthwise_work_floats(&s, 2);
        float *work = wf ? malloc(wf * sizeof(float)) : NULL;
        for (int simd = 0; simd <= 3; simd++) {
            memset(y, 0xff, (ny + GUARD) * sizeof(float));
            k_f32_conv_depthwise_x(&s, x, w, b, y, act, 0.1f, 0.6f, 2, work, wf, simd);
            for (size_t g = 0; g < GUARD * sizeof(float); g++)
                if (((const unsigned char *)(y + ny))[g] != 0xff)
                    fail_msg("%lldx%lld simd %d wrote past the output", (long long)s.in[1], (long long)s.in[2], simd);
            double e = tu_max_rel_err(y, ref, ny, 1e-5, 1e-4);
            if (e > 1)
                fail_msg("%lldx%lld stride %lld simd %d: rel err %g", (long long)s.in[1], (long long)s.in[2],
                         (long long)s.stride[1], simd, e);
        }
        free(work);
        free(x);
        free(y);
        free(ref);
    }
}

/* The 3x3 depthwise kernel's channel blocks (simd 4, and simd 1 where it chooses them)
 * against the reference: channel counts around the 16-lane blocks (a partial last
 * block), two images, output rows of 1 to 19 (the 8-, 4- and 1-output steps and their
 * mixes), stride 1 and 2, pads 0 to 2 and uneven, planes up to the 256-output limit
 * and one past it, with the activations in registers and after. */
static void conv_depthwise_channel_blocks_match_reference(void **st)
{
    (void)st;
    tu_seed(29);
    static const int64_t dims[][7] = {/* C, H, W, stride, pad top, pad left, pad bottom/right */
                                      {16, 7, 7, 1, 1, 1, 1},   {17, 14, 14, 2, 1, 1, 1}, {35, 5, 19, 1, 1, 1, 1},
                                      {3, 9, 12, 1, 0, 2, 1},   {33, 16, 16, 1, 1, 1, 1}, {40, 29, 31, 2, 2, 0, 2},
                                      {1, 1, 1, 1, 1, 1, 1},    {18, 3, 3, 2, 0, 0, 0},   {31, 6, 13, 2, 2, 2, 0},
                                      {48, 4, 4, 1, 2, 2, 2},   {20, 17, 16, 1, 1, 1, 1}};
    static const int acts[] = {ACT_CLIP, ACT_RELU, ACT_NONE, ACT_HARD_SWISH, ACT_LEAKY_RELU};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        k_conv_shape s = dw3x3_shape(dims[i][0], dims[i] + 1);
        size_t nx = (size_t)(s.N * s.C * s.in[1] * s.in[2]), ny = (size_t)(s.N * s.M * s.out[1] * s.out[2]);
        size_t nw = (size_t)s.M * 9;
        enum { GUARD = 32 };
        float *x = malloc(nx * sizeof(float)), *y = malloc((ny + GUARD) * sizeof(float));
        float *ref = malloc(ny * sizeof(float)), *w = malloc(nw * sizeof(float));
        float *b = malloc((size_t)s.M * sizeof(float));
        tu_fill(x, nx, -1, 1);
        tu_fill(w, nw, -1, 1);
        tu_fill(b, (size_t)s.M, -1, 1);
        int act = acts[i % 5];
        k_f32_conv_ref(&s, x, w, i % 3 ? b : NULL, ref, act, 0.1f, 0.6f);
        for (int threads = 1; threads <= 2; threads++) {
            size_t wf = k_conv_depthwise_work_floats(&s, threads);
            float *work = wf ? malloc(wf * sizeof(float)) : NULL;
            for (int simd = 1; simd <= 4; simd += 3) {
                memset(y, 0xff, (ny + GUARD) * sizeof(float));
                k_f32_conv_depthwise_x(&s, x, w, i % 3 ? b : NULL, y, act, 0.1f, 0.6f, threads, work, wf, simd);
                for (size_t g = 0; g < GUARD * sizeof(float); g++)
                    if (((const unsigned char *)(y + ny))[g] != 0xff)
                        fail_msg("C %lld %lldx%lld simd %d wrote past the output", (long long)s.C,
                                 (long long)s.in[1], (long long)s.in[2], simd);
                double e = tu_max_rel_err(y, ref, ny, 1e-5, 1e-4);
                if (e > 1)
                    fail_msg("C %lld %lldx%lld stride %lld simd %d threads %d: rel err %g", (long long)s.C,
                             (long long)s.in[1], (long long)s.in[2], (long long)s.stride[1], simd, threads, e);
            }
            free(work);
        }
        free(x);
        free(y);
        free(ref);
        free(w);
        free(b);
    }
}

/* The k x k depthwise channel blocks (any kernel but 3x3) against the reference and
 * against the portable loops (simd 0): ConvNeXt's 7x7, 5x5, non-square 1x7, 3x5 and
 * 2x2 kernels and 1x1; strides 1 and 2, and 1 along H with 2 along W; pads 0 up to
 * k - 1 and uneven; channels around the 16-channel blocks, two images, output rows of
 * 1 to 17 (the four-output steps and the singles); one and two threads, the
 * activations in registers and after; nothing written past the output. */
static void conv_depthwise_kxk_channel_blocks_match_reference(void **st)
{
    (void)st;
    tu_seed(31);
    static const int64_t g[][10] = {/* C, H, W, kh, kw, stride h, stride w, pad top, pad left, pad bottom/right */
                                    {32, 14, 14, 7, 7, 1, 1, 3, 3, 3}, {17, 9, 12, 5, 5, 2, 2, 2, 2, 2},
                                    {33, 8, 20, 1, 7, 1, 1, 0, 3, 3},  {16, 11, 7, 3, 5, 1, 2, 1, 2, 0},
                                    {3, 5, 5, 2, 2, 1, 1, 0, 1, 0},    {40, 6, 17, 1, 1, 1, 1, 0, 0, 0},
                                    {1, 1, 1, 7, 7, 1, 1, 3, 3, 3},    {20, 13, 9, 7, 7, 2, 2, 3, 0, 6}};
    static const int acts[] = {ACT_NONE, ACT_RELU, ACT_CLIP, ACT_HARD_SWISH, ACT_LEAKY_RELU};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        k_conv_shape s;
        memset(&s, 0, sizeof s);
        s.N = 2, s.C = s.M = s.group = g[i][0];
        for (int k = 0; k < 3; k++)
            s.in[k] = s.out[k] = s.k[k] = s.stride[k] = s.dil[k] = 1;
        s.in[1] = g[i][1], s.in[2] = g[i][2], s.k[1] = g[i][3], s.k[2] = g[i][4];
        s.stride[1] = g[i][5], s.stride[2] = g[i][6], s.pad[1] = g[i][7], s.pad[2] = g[i][8];
        s.out[1] = (s.in[1] + s.pad[1] + g[i][9] - s.k[1]) / s.stride[1] + 1;
        s.out[2] = (s.in[2] + s.pad[2] + g[i][9] - s.k[2]) / s.stride[2] + 1;
        size_t nx = (size_t)(s.N * s.C * s.in[1] * s.in[2]), ny = (size_t)(s.N * s.M * s.out[1] * s.out[2]);
        size_t nw = (size_t)(s.M * s.k[1] * s.k[2]);
        enum { GUARD = 32 };
        float *x = malloc(nx * sizeof(float)), *y = malloc((ny + GUARD) * sizeof(float));
        float *ref = malloc(ny * sizeof(float)), *port = malloc(ny * sizeof(float)), *w = malloc(nw * sizeof(float));
        float *b = malloc((size_t)s.M * sizeof(float));
        tu_fill(x, nx, -1, 1);
        tu_fill(w, nw, -1, 1);
        tu_fill(b, (size_t)s.M, -1, 1);
        int act = acts[i % 5];
        const float *bias = i % 3 ? b : NULL;
        k_f32_conv_ref(&s, x, w, bias, ref, act, 0.1f, 0.6f);
        k_f32_conv_depthwise_x(&s, x, w, bias, port, act, 0.1f, 0.6f, 1, NULL, 0, 0);
        for (int threads = 1; threads <= 2; threads++) {
            size_t wf = k_conv_depthwise_work_floats(&s, threads);
            float *work = wf ? malloc(wf * sizeof(float)) : NULL;
            memset(y, 0xff, (ny + GUARD) * sizeof(float));
            k_f32_conv_depthwise_x(&s, x, w, bias, y, act, 0.1f, 0.6f, threads, work, wf, 1);
            for (size_t q = 0; q < GUARD * sizeof(float); q++)
                if (((const unsigned char *)(y + ny))[q] != 0xff)
                    fail_msg("shape %zu wrote past the output", i);
            double e = tu_max_rel_err(y, ref, ny, 1e-5, 1e-4), ep = tu_max_rel_err(y, port, ny, 1e-5, 1e-4);
            if (e > 1 || ep > 1)
                fail_msg("shape %zu (C %lld, %lldx%lld kernel %lldx%lld) threads %d: rel err %g against the "
                         "reference, %g against the portable loops",
                         i, (long long)s.C, (long long)s.in[1], (long long)s.in[2], (long long)s.k[1],
                         (long long)s.k[2], threads, e, ep);
            free(work);
        }
        free(x);
        free(y);
        free(ref);
        free(port);
        free(w);
        free(b);
    }
}

/* The direct convolution for few input channels against the reference: 1, 3 and 4
 * channels, 3x3, 7x7 and 1x5 kernels, stride 1 and 2, pads 0 up to k - 1 and uneven,
 * output widths around 16 and up to 130, channel counts around the 8-channel halves of
 * the 16-channel blocks, two images, with ReLU, Clip and an activation applied
 * afterwards. */
static void conv_direct_matches_reference(void **st)
{
    (void)st;
    tu_seed(29);
    static const int64_t g[][10] = {/* C, M, H, W, kh, kw, stride, pad top, pad left, pad bottom/right */
                                    {3, 32, 20, 33, 3, 3, 2, 1, 1, 1}, {3, 64, 23, 30, 7, 7, 2, 3, 3, 3},
                                    {1, 5, 9, 16, 3, 3, 1, 1, 1, 1},   {4, 17, 8, 17, 1, 5, 1, 0, 2, 2},
                                    {3, 33, 11, 7, 3, 3, 1, 0, 0, 0},  {2, 16, 6, 40, 7, 7, 1, 6, 0, 3},
                                    {3, 8, 5, 5, 3, 3, 2, 2, 2, 0},    {3, 12, 7, 111, 7, 7, 1, 3, 3, 3},
                                    {3, 24, 6, 130, 3, 3, 1, 1, 1, 1}, {2, 9, 4, 118, 3, 3, 2, 1, 1, 1}};
    /* output widths 17, 15, 16, 17, 5, 37, 3, 111, 130, 59: rows of 1 to 9 vectors of 16
     * columns, which the kernel takes three and two at a time (3 + 2 + 2 for 7, 2 + 2 for 4) */
    static const int acts[] = {ACT_RELU, ACT_CLIP, ACT_NONE, ACT_HARD_SWISH, ACT_RELU, ACT_CLIP, ACT_NONE,
                               ACT_RELU, ACT_CLIP, ACT_NONE};
    int ran = 0;
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        k_conv_shape s;
        memset(&s, 0, sizeof s);
        s.N = 2, s.C = g[i][0], s.M = g[i][1], s.group = 1;
        for (int d = 0; d < 3; d++)
            s.in[d] = s.out[d] = s.k[d] = s.stride[d] = s.dil[d] = 1;
        s.in[1] = g[i][2], s.in[2] = g[i][3], s.k[1] = g[i][4], s.k[2] = g[i][5];
        s.stride[1] = s.stride[2] = g[i][6];
        s.pad[1] = g[i][7], s.pad[2] = g[i][8];
        s.out[1] = (s.in[1] + s.pad[1] + g[i][9] - s.k[1]) / s.stride[1] + 1;
        s.out[2] = (s.in[2] + s.pad[2] + g[i][9] - s.k[2]) / s.stride[2] + 1;
        if (!k_conv_direct_fits(&s))
            continue; /* no AVX-512 here */
        ran++;
        size_t nx = (size_t)(s.N * s.C * s.in[1] * s.in[2]), ny = (size_t)(s.N * s.M * s.out[1] * s.out[2]);
        size_t nw = (size_t)(s.M * s.C * s.k[1] * s.k[2]);
        float *x = malloc(nx * sizeof(float)), *y = malloc(ny * sizeof(float)), *ref = malloc(ny * sizeof(float));
        float *w = malloc(nw * sizeof(float)), *b = malloc((size_t)s.M * sizeof(float));
        float *wp = malloc(k_conv_direct_packed_floats(&s) * sizeof(float));
        float *work = malloc(k_conv_direct_work_floats(&s) * sizeof(float));
        tu_fill(x, nx, -1, 1);
        tu_fill(w, nw, -1, 1);
        tu_fill(b, (size_t)s.M, -1, 1);
        const float *bias = i % 3 == 2 ? NULL : b;
        k_f32_conv_ref(&s, x, w, bias, ref, acts[i], 0.1f, 0.6f);
        k_f32_conv_direct_pack_w(&s, w, wp);
        for (int threads = 1; threads <= 2; threads++) {
            memset(y, 0xff, ny * sizeof(float));
            k_f32_conv_direct(&s, x, wp, bias, y, acts[i], 0.1f, 0.6f, threads, work);
            double e = tu_max_rel_err(y, ref, ny, 1e-5, 1e-4);
            if (e > 1)
                fail_msg("case %zu threads %d: rel err %g", i, threads, e);
        }
        free(x), free(y), free(ref), free(w), free(b), free(wp), free(work);
    }
    if (!ran)
        print_message("conv_direct: no AVX-512 on this CPU, the direct path is not used here\n");
}

/* im2col into packed panels: the AVX-512 panels (simd 1, where the CPU has them) and
 * the portable loops write the same floats, for stride 1, stride 2 and 3 through the
 * phase split, pads, dilation, 3-D, a column window that starts mid-row, and panel
 * widths of 32 (nr of the AVX-512 GEMM), 12 and 49 (portable loops then). */
static void conv_im2col_simd_and_portable_write_the_same(void **st)
{
    (void)st;
    tu_seed(24);
    static const int64_t g[][9] = {/* C, D, H, W, k, stride W, pad, dil, nr */
                                   {3, 1, 9, 20, 3, 1, 1, 1, 32},  {3, 1, 30, 30, 7, 2, 3, 1, 32},
                                   {4, 1, 11, 13, 3, 2, 1, 1, 32}, {2, 1, 8, 17, 3, 3, 0, 1, 32},
                                   {2, 1, 9, 23, 3, 1, 2, 2, 32},  {2, 3, 5, 6, 3, 1, 1, 1, 32},
                                   {5, 1, 7, 7, 1, 1, 0, 1, 32},   {3, 1, 9, 20, 3, 1, 1, 1, 12},
                                   {3, 1, 7, 7, 3, 1, 1, 1, 49}};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        k_conv_shape s;
        memset(&s, 0, sizeof s);
        s.N = 1, s.C = s.M = g[i][0], s.group = 1;
        int three = g[i][1] > 1;
        s.in[0] = g[i][1], s.in[1] = g[i][2], s.in[2] = g[i][3];
        for (int d = 0; d < 3; d++) {
            s.k[d] = d == 0 && !three ? 1 : g[i][4];
            s.stride[d] = d == 2 ? g[i][5] : 1;
            s.pad[d] = d == 0 && !three ? 0 : g[i][6];
            s.dil[d] = d == 0 && !three ? 1 : g[i][7];
            s.out[d] = (s.in[d] + 2 * s.pad[d] - s.dil[d] * (s.k[d] - 1) - 1) / s.stride[d] + 1;
        }
        size_t nx = (size_t)(s.C * s.in[0] * s.in[1] * s.in[2]), nr = (size_t)g[i][8];
        size_t cols = (size_t)(s.out[0] * s.out[1] * s.out[2]), K = (size_t)(s.C * s.k[0] * s.k[1] * s.k[2]);
        size_t j0 = cols > 9 ? 5 : 0, nc = cols - j0, np = (nc + nr - 1) / nr;
        int64_t wp = (s.in[2] + s.stride[2] - 1) / s.stride[2];
        float *x = malloc(nx * sizeof(float)), *split = NULL;
        float *a = malloc(np * nr * K * sizeof(float)), *b = malloc(np * nr * K * sizeof(float));
        tu_fill(x, nx, -1, 1);
        if (s.stride[2] > 1) {
            split = malloc((size_t)(s.C * s.in[0] * s.in[1] * s.stride[2] * wp) * sizeof(float));
            k_f32_split_w_phases(&s, x, 0, s.C, split, 1);
        }
        memset(a, 0x7f, np * nr * K * sizeof(float));
        memset(b, 0x55, np * nr * K * sizeof(float));
        k_f32_im2col_packed_x(&s, x, 0, s.C, j0, nc, nr, split, a, 1, 0);
        k_f32_im2col_packed_x(&s, x, 0, s.C, j0, nc, nr, split, b, 2, 1);
        if (memcmp(a, b, np * nr * K * sizeof(float)) != 0)
            fail_msg("case %zu: the two im2col variants differ", i);
        /* and the portable one is right: entry (tap r, column j) against the input */
        for (size_t j = 0; j < nc; j += 7)
            for (size_t r = 0; r < K; r += 5) {
                size_t col = j0 + j;
                int64_t ow = (int64_t)(col % (size_t)s.out[2]), oh = (int64_t)(col / (size_t)s.out[2] % (size_t)s.out[1]);
                int64_t od = (int64_t)(col / (size_t)(s.out[2] * s.out[1]));
                int64_t kw = (int64_t)r % s.k[2], kh = (int64_t)r / s.k[2] % s.k[1], kd = (int64_t)r / (s.k[2] * s.k[1]) % s.k[0];
                int64_t c = (int64_t)r / (s.k[0] * s.k[1] * s.k[2]);
                int64_t id = od * s.stride[0] - s.pad[0] + kd * s.dil[0], ih = oh * s.stride[1] - s.pad[1] + kh * s.dil[1];
                int64_t iw = ow * s.stride[2] - s.pad[2] + kw * s.dil[2];
                float want = id < 0 || id >= s.in[0] || ih < 0 || ih >= s.in[1] || iw < 0 || iw >= s.in[2]
                                 ? 0.0f
                                 : x[((c * s.in[0] + id) * s.in[1] + ih) * s.in[2] + iw];
                float got = a[(j / nr) * nr * K + r * nr + j % nr];
                if (got != want)
                    fail_msg("case %zu: column %zu tap %zu is %g, want %g", i, col, r, (double)got, (double)want);
            }
        free(x);
        free(split);
        free(a);
        free(b);
    }
}

/* The W-phase split against its definition, phase p of row r holding x[r][p + sw q]
 * then zeros: the AVX-512 stride-2 rows (simd 1) and the portable loops, widths around
 * the 32 columns a vector pair reads, strides 2 and 3, one and two threads (bands of
 * rows), and a channel offset. */
static void conv_split_w_phases_matches_definition(void **st)
{
    (void)st;
    tu_seed(25);
    static const int64_t g[][4] = {/* C, H, W, stride */
                                   {3, 5, 1, 2},  {2, 4, 15, 2}, {2, 3, 31, 2}, {3, 2, 32, 2},
                                   {2, 3, 33, 2}, {4, 5, 56, 2}, {2, 3, 65, 2}, {3, 4, 112, 2},
                                   {2, 3, 17, 3}, {64, 9, 120, 2}};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        k_conv_shape s;
        memset(&s, 0, sizeof s);
        s.N = 1, s.C = s.M = g[i][0] + 1, s.group = 1;
        for (int d = 0; d < 3; d++)
            s.in[d] = s.out[d] = s.k[d] = s.stride[d] = s.dil[d] = 1;
        s.in[1] = g[i][1], s.in[2] = g[i][2], s.stride[2] = g[i][3];
        int64_t C = g[i][0], H = g[i][1], W = g[i][2], sw = g[i][3], wp = (W + sw - 1) / sw;
        size_t nx = (size_t)((C + 1) * H * W), n = (size_t)(C * H * sw * wp);
        float *x = malloc(nx * sizeof(float)), *y = malloc((n + 16) * sizeof(float));
        tu_fill(x, nx, -1, 1);
        for (int simd = 0; simd <= 1; simd++)
            for (int threads = 1; threads <= 2; threads++) {
                memset(y, 0x55, (n + 16) * sizeof(float));
                k_f32_split_w_phases_x(&s, x, 1, C, y, threads, simd); /* channels 1 .. C */
                for (int64_t r = 0; r < C * H; r++)
                    for (int64_t p = 0; p < sw; p++)
                        for (int64_t q = 0; q < wp; q++) {
                            int64_t w = p + sw * q;
                            float want = w < W ? x[(size_t)((H + r) * W + w)] : 0.0f;
                            float got = y[(size_t)((r * sw + p) * wp + q)];
                            if (got != want)
                                fail_msg("C %lld H %lld W %lld stride %lld simd %d threads %d: row %lld phase %lld "
                                         "slot %lld is %g, want %g",
                                         (long long)C, (long long)H, (long long)W, (long long)sw, simd, threads,
                                         (long long)r, (long long)p, (long long)q, (double)got, (double)want);
                        }
                for (size_t k = 0; k < 16 * sizeof(float); k++)
                    if (((const unsigned char *)(y + n))[k] != 0x55)
                        fail_msg("W %lld simd %d: written past the split", (long long)W, simd);
            }
        free(x);
        free(y);
    }
}

/* The phase planes (k_f32_conv_phase_split) against their definition: plane (a, b) of
 * channel c, row i, column q holds padded input (stride i + a, stride q + b), zero in
 * the pads and past the input; the slack after each plane is zeros; nothing written
 * past the last plane. Strides 1 and 2, odd and even sizes, pads 0 to k - 1 (uneven),
 * kernels 3x3, 7x7, 2x2 and 1x5, rows wider than one 32-column step and than the 64
 * blocks whose masks are kept, one and two threads. */
static void conv_phase_split_matches_definition(void **st)
{
    (void)st;
    tu_seed(43);
    static const int64_t g[][9] = {/* C, H, W, kh, kw, stride, pad top, pad left, pad bottom/right */
                                   {3, 17, 18, 3, 3, 2, 1, 1, 1}, {2, 9, 70, 7, 7, 2, 3, 3, 3},
                                   {5, 8, 8, 2, 2, 2, 0, 0, 0},   {2, 6, 33, 1, 5, 2, 0, 4, 1},
                                   {4, 7, 9, 3, 3, 1, 1, 1, 1},   {3, 12, 130, 3, 3, 2, 2, 0, 2},
                                   /* rows of more than 64 blocks of 16: masks past the kept ones */
                                   {2, 5, 2100, 3, 3, 2, 1, 1, 1}, {2, 4, 1100, 3, 3, 1, 1, 1, 1}};
    int ran = 0;
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        k_conv_shape s;
        memset(&s, 0, sizeof s);
        s.N = 1, s.C = s.M = g[i][0], s.group = 1;
        for (int d = 0; d < 3; d++)
            s.in[d] = s.out[d] = s.k[d] = s.stride[d] = s.dil[d] = 1;
        s.in[1] = g[i][1], s.in[2] = g[i][2], s.k[1] = g[i][3], s.k[2] = g[i][4];
        s.stride[1] = s.stride[2] = g[i][5];
        s.pad[1] = g[i][6], s.pad[2] = g[i][7];
        s.out[1] = (s.in[1] + s.pad[1] + g[i][8] - s.k[1]) / s.stride[1] + 1;
        s.out[2] = (s.in[2] + s.pad[2] + g[i][8] - s.k[2]) / s.stride[2] + 1;
        if (!k_conv_phase_fits(&s))
            continue; /* no AVX-512 here */
        ran++;
        k_conv_phases pg = k_conv_phase_geometry(&s);
        int64_t C = s.C, H = s.in[1], W = s.in[2], sd = s.stride[1];
        size_t nx = (size_t)(C * H * W), n = k_conv_phase_floats(&s, C);
        assert_int_equal(n, (size_t)(C * sd * sd * pg.plane));
        enum { GUARD = 64 };
        float *x = malloc(nx * sizeof(float)), *y = malloc((n + GUARD) * sizeof(float));
        tu_fill(x, nx, -1, 1);
        for (int threads = 1; threads <= 2; threads++) {
            memset(y, 0x55, (n + GUARD) * sizeof(float));
            k_f32_conv_phase_split(&s, x, C, y, threads);
            for (int64_t c = 0; c < C; c++)
                for (int64_t a = 0; a < sd; a++)
                    for (int64_t b = 0; b < sd; b++) {
                        const float *pl = y + ((c * sd + a) * sd + b) * pg.plane;
                        for (int64_t r = 0; r < pg.ph; r++)
                            for (int64_t q = 0; q < pg.pw; q++) {
                                int64_t ih = sd * r + a - s.pad[1], iw = sd * q + b - s.pad[2];
                                float want = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[(c * H + ih) * W + iw] : 0.0f;
                                if (pl[r * pg.pw + q] != want)
                                    fail_msg("case %zu threads %d: channel %lld phase (%lld, %lld) row %lld column "
                                             "%lld is %g, want %g",
                                             i, threads, (long long)c, (long long)a, (long long)b, (long long)r,
                                             (long long)q, (double)pl[r * pg.pw + q], (double)want);
                            }
                        for (int64_t k = pg.ph * pg.pw; k < pg.plane; k++)
                            if (pl[k] != 0.0f)
                                fail_msg("case %zu: slack float %lld of a plane is not zero", i, (long long)k);
                    }
            for (size_t k = 0; k < GUARD * sizeof(float); k++)
                if (((const unsigned char *)(y + n))[k] != 0x55)
                    fail_msg("case %zu threads %d: written past the planes", i, threads);
        }
        free(x);
        free(y);
    }
    if (!ran)
        print_message("conv_phase_split: no AVX-512 on this CPU, the phase planes are not used here\n");
}

/* Strided convolutions with more than 64 outputs run as the implicit GEMM over the
 * phase planes when init sees X's shape (check runs both, shaped and not): 3x3, 5x5
 * with uneven pads, 2x2 with 300 channels (a tap's segment longer than a K block), 1x3,
 * 7x7 (49 taps, the most it takes) and 8x8 (64 taps: im2col), two images, no bias,
 * the activations, a residual, 200 output channels (a short last row panel), one, two
 * and three threads (bands of output rows where the work is enough). */
static void conv_strided_implicit_gemm_matches_reference(void **st)
{
    (void)st;
    tu_seed(47);
    static const int64_t g[][10] = {/* N, C, M, in, kh, kw, pad begin, pad end, bias, act */
                                    {2, 37, 20, 17, 3, 3, 1, 1, 1, ACT_RELU},
                                    {1, 5, 33, 20, 5, 5, 2, 1, 1, ACT_CLIP},
                                    {1, 300, 16, 19, 2, 2, 0, 0, 0, ACT_HARD_SWISH},
                                    {2, 6, 9, 16, 1, 3, 0, 1, 1, ACT_LEAKY_RELU},
                                    {1, 8, 24, 30, 7, 7, 3, 3, 1, ACT_NONE},
                                    {1, 7, 12, 30, 8, 8, 3, 4, 1, ACT_RELU},
                                    {1, 40, 200, 24, 3, 3, 1, 0, 1, ACT_RELU},
                                    /* work enough for bands of rows on each thread: 15
                                     * rows (7 and 8, or 5 each on three), 9 rows */
                                    {2, 64, 48, 30, 3, 3, 1, 1, 1, ACT_CLIP},
                                    {1, 128, 64, 17, 3, 3, 1, 1, 1, ACT_RELU}};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        cspec p = base(2, g[i][0], g[i][1], g[i][2], 1, g[i][3], 1);
        p.k[0] = g[i][4], p.k[1] = g[i][5];
        p.stride[0] = p.stride[1] = 2;
        p.pb[0] = p.pb[1] = g[i][6];
        p.pe[0] = p.pe[1] = g[i][7];
        p.bias = (int)g[i][8];
        p.act = (int)g[i][9];
        check(&p, 0, 1);
        check(&p, 0, 2);
        check(&p, 0, 3);
        if (p.bias) { /* the "norma" domain's residual: added after the compaction */
            p.res = 1;
            check(&p, 0, 2);
        }
    }
}

static void conv_depthwise_and_multiplier_match_reference(void **st)
{
    (void)st;
    tu_seed(14);
    cspec s = base(2, 2, 7, 7, 7, 17, 3);
    s.pb[0] = s.pb[1] = s.pe[0] = s.pe[1] = 1;
    s.bias = 1;
    s.act = ACT_LEAKY_RELU;
    check(&s, 0, 2);
    s.stride[0] = s.stride[1] = 2;
    s.dil[0] = 2;
    check(&s, 0, 1);
    cspec m = base(2, 1, 4, 8, 4, 9, 5); /* channel multiplier 2 */
    m.pb[1] = 2;
    m.pe[0] = 3;
    check(&m, 0, 1);
    cspec one = base(2, 1, 1, 5, 1, 9, 3); /* C == 1 is also C/group == 1 */
    check(&one, 0, 1);
    cspec d3 = base(2, 2, 6, 6, 6, 13, 3); /* 3-wide taps with W dilation and stride */
    d3.dil[1] = 2;
    d3.stride[1] = 2;
    d3.pb[1] = 2;
    d3.pe[1] = 1;
    d3.bias = 1;
    check(&d3, 0, 2);
    d3.stride[1] = 1;
    d3.pb[1] = 0;
    check(&d3, 0, 1);
    cspec narrow = base(1, 1, 3, 3, 3, 2, 3); /* input narrower than the kernel extent with padding */
    narrow.pb[0] = 2;
    narrow.pe[0] = 2;
    narrow.dil[0] = 2;
    check(&narrow, 0, 1);
    cspec wide = base(1, 1, 2, 2, 2, 40, 19); /* kernel wider than the hoisted range table */
    wide.pb[0] = 3;
    wide.pe[0] = 9;
    wide.stride[0] = 2;
    check(&wide, 0, 1);
}

static void conv_1d_and_3d_match_reference(void **st)
{
    (void)st;
    tu_seed(15);
    cspec a = base(1, 2, 3, 7, 1, 33, 5);
    a.pb[0] = 2;
    a.pe[0] = 1;
    a.stride[0] = 3;
    a.bias = 1;
    check(&a, 0, 1);
    cspec b = base(3, 1, 4, 6, 2, 5, 3);
    b.pb[0] = b.pb[1] = b.pb[2] = 1;
    b.pe[2] = 1;
    b.stride[1] = 2;
    b.dil[2] = 2;
    b.bias = 1;
    check(&b, 0, 2);
    cspec c = base(3, 1, 3, 3, 3, 4, 2);
    check(&c, 0, 1);
}

static void conv_auto_pad_same_upper_and_lower_place_extra_pad(void **st)
{
    (void)st;
    tu_seed(16);
    /* in 7, k 3, stride 2: out 4, total pad 2 -> 1 + 1 */
    cspec s = base(1, 1, 3, 5, 1, 7, 3);
    s.stride[0] = 2;
    s.pb[0] = 1;
    s.pe[0] = 1;
    s.auto_pad = "SAME_UPPER";
    check(&s, 0, 1);
    /* in 6, k 4: out 6, total pad 3 -> upper 1 + 2, lower 2 + 1 */
    cspec u = base(1, 1, 3, 5, 1, 6, 4);
    u.pb[0] = 1;
    u.pe[0] = 2;
    u.auto_pad = "SAME_UPPER";
    check(&u, 0, 1);
    u.pb[0] = 2;
    u.pe[0] = 1;
    u.auto_pad = "SAME_LOWER";
    check(&u, 0, 1);
    cspec v = base(2, 1, 3, 5, 1, 6, 4);
    v.auto_pad = "VALID";
    check(&v, 0, 1);
}

static void convtranspose_strides_groups_pads_match_reference(void **st)
{
    (void)st;
    tu_seed(17);
    cspec s = base(2, 2, 4, 6, 2, 5, 3);
    s.stride[0] = s.stride[1] = 2;
    s.pb[0] = 1;
    s.pe[1] = 1;
    s.opad[0] = 1;
    s.bias = 1;
    check(&s, 1, 1);
    s.cmask = 0;
    s.act = ACT_RELU;
    check(&s, 1, 2);
    cspec d = base(1, 1, 3, 5, 1, 7, 3);
    d.dil[0] = 2;
    d.stride[0] = 3;
    d.opad[0] = 2;
    check(&d, 1, 1);
    cspec e = base(3, 1, 2, 3, 1, 3, 2);
    e.stride[2] = 2;
    e.pb[1] = 1;
    check(&e, 1, 1);
}

/* Builds a Conv with x (1,C,5,5), W (M,Cw,k,k) and the given attributes and
 * expects failure with status and message. */
static void expect_conv_error(int64_t C, int64_t M, int64_t Cw, int64_t k, int64_t group, const char *attr,
                              int n, const int64_t *v, int status, const char *msg)
{
    static float buf[4096];
    int64_t xd[4] = {1, C, 5, 5}, wd[4] = {M, Cw, k, k};
    ir_tensor tx = oh_tensor(4, xd, buf), tw = oh_tensor(4, wd, buf);
    oh_node t;
    oh_init(&t, "Conv", 11);
    oh_int(&t, "group", group);
    if (attr)
        oh_ints(&t, attr, n, v);
    ir_tensor *in[2] = {&tx, &tw}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 2, in, 1, out, 2, 1), status);
    if (!strstr(t.err, msg))
        fail_msg("message '%s' lacks '%s'", t.err, msg);
}

static void conv_rejects_bad_groups_channels_and_kernels(void **st)
{
    (void)st;
    expect_conv_error(4, 6, 1, 3, 3, NULL, 0, NULL, NORMA_ERR_SHAPE, "Conv 'n0': group 3 does not divide C=4");
    expect_conv_error(4, 8, 3, 3, 1, NULL, 0, NULL, NORMA_ERR_SHAPE, "W has 3 input channels per group but X has C=4");
    expect_conv_error(4, 6, 2, 3, 2, "kernel_shape", 2, (int64_t[]){5, 3}, NORMA_ERR_SHAPE,
                      "kernel_shape[0] = 5 but W has 3");
    expect_conv_error(4, 6, 4, 3, 1, "pads", 3, (int64_t[]){1, 1, 1}, NORMA_ERR_MODEL, "pads has 3 values");
    expect_conv_error(4, 6, 4, 7, 1, NULL, 0, NULL, NORMA_ERR_SHAPE, "smaller than the kernel extent");
    expect_conv_error(4, 6, 4, 3, 1, "strides", 2, (int64_t[]){0, 1}, NORMA_ERR_MODEL, "strides[0] = 0 must be >= 1");
    expect_conv_error(4, 6, 4, 3, 0, NULL, 0, NULL, NORMA_ERR_MODEL, "group 0 must be >= 1");
    expect_conv_error(4, 5, 2, 3, 2, NULL, 0, NULL, NORMA_ERR_SHAPE, "group 2 does not divide M=5");
}

static void conv_rejects_bias_of_wrong_length(void **st)
{
    (void)st;
    static float buf[4096];
    int64_t xd[4] = {1, 2, 5, 5}, wd[4] = {3, 2, 3, 3}, bd[1] = {4};
    ir_tensor tx = oh_tensor(4, xd, buf), tw = oh_tensor(4, wd, buf), tb = oh_tensor(1, bd, buf);
    oh_node t;
    oh_init(&t, "Conv", 11);
    ir_tensor *in[3] = {&tx, &tw, &tb}, *out[1] = {NULL};
    assert_int_equal(oh_run(&t, 3, in, 1, out, 2, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "bias B must have shape (3)"));
    oh_init(&t, "ConvTranspose", 11);
    int64_t wt[4] = {3, 2, 3, 3};
    tw = oh_tensor(4, wt, buf);
    assert_int_equal(oh_run(&t, 2, in, 1, out, 2, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "ConvTranspose 'n0': W has 3 input channels but X has C=2"));
}

/* Big ungrouped layers with narrow outputs (at most 64 positions, as at 7x7) run
 * transposed: 1x1, 3x3 with pads, strided 1x1 (im2col with the phase split), batch 2,
 * 1 and 2 threads; and an output just over 64 positions, which takes the usual path. */
static void conv_big_narrow_layers_match_reference(void **st)
{
    (void)st;
    tu_seed(19);
    cspec p = base(2, 2, 2048, 512, 1, 7, 1); /* 1M weights, 7x8 outputs */
    p.bias = 1;
    p.act = ACT_RELU;
    check(&p, 0, 1);
    check(&p, 0, 2);
    cspec k3 = base(2, 1, 512, 256, 1, 7, 3);
    k3.pb[0] = k3.pb[1] = k3.pe[0] = k3.pe[1] = 1;
    k3.bias = 1;
    k3.act = ACT_CLIP;
    check(&k3, 0, 2);
    cspec sd = base(2, 1, 1024, 1024, 1, 13, 1); /* stride 2: 7x7 */
    sd.stride[0] = sd.stride[1] = 2;
    check(&sd, 0, 1);
    cspec mid = base(2, 2, 320, 256, 1, 7, 1); /* 82K weights: transposed only with X's shape known */
    mid.bias = 1;
    check(&mid, 0, 2);
    cspec mid3 = base(2, 1, 64, 130, 1, 5, 3); /* 75K weights, 3x3 through X_col */
    mid3.pb[0] = mid3.pb[1] = mid3.pe[0] = mid3.pe[1] = 1;
    mid3.act = ACT_RELU;
    check(&mid3, 0, 1);
    /* 3x3 stride 2 onto 7x7: threads split and pack their own channels of X_col^T */
    cspec k3s2 = base(2, 2, 97, 128, 1, 13, 3);
    k3s2.stride[0] = k3s2.stride[1] = 2;
    k3s2.pb[0] = k3s2.pb[1] = k3s2.pe[0] = k3s2.pe[1] = 1;
    k3s2.bias = 1;
    k3s2.act = ACT_RELU;
    check(&k3s2, 0, 2);
    check(&k3s2, 0, 3);
    cspec wide = base(2, 1, 2048, 512, 1, 9, 1); /* 9x10 outputs */
    wide.bias = 1;
    check(&wide, 0, 2);
    /* 1x1 with threads as one region: 7 panels of W^T (the last of 8 columns) in
     * uneven bands, X^T's panels packed by 2 and 3 threads, with and without R */
    cspec odd = base(2, 2, 640, 200, 1, 6, 1); /* 6x7 outputs */
    odd.bias = 1;
    odd.act = ACT_CLIP;
    check(&odd, 0, 2);
    check(&odd, 0, 3);
    odd.res = 1;
    odd.act = ACT_RELU;
    check(&odd, 0, 3);
}

/* The "norma" domain's residual input R on the paths other than the transposed one:
 * a stem through the direct kernel (X shaped in init; unshaped, im2col), 3x3 through
 * Winograd, a strided 3x3 through im2col, a strided 1x1 through the gather. */
static void conv_residual_on_every_path_matches_reference(void **st)
{
    (void)st;
    tu_seed(27);
    cspec stem = base(2, 2, 3, 20, 1, 17, 3);
    stem.stride[0] = stem.stride[1] = 2;
    stem.pb[0] = stem.pb[1] = stem.pe[0] = stem.pe[1] = 1;
    stem.bias = stem.res = 1;
    stem.act = ACT_CLIP;
    check(&stem, 0, 1);
    check(&stem, 0, 2);
    cspec wino = base(2, 1, 16, 24, 1, 14, 3);
    wino.pb[0] = wino.pb[1] = wino.pe[0] = wino.pe[1] = 1;
    wino.bias = wino.res = 1;
    wino.act = ACT_RELU;
    check(&wino, 0, 2);
    cspec s2 = wino;
    s2.stride[0] = s2.stride[1] = 2;
    check(&s2, 0, 2);
    cspec pw = base(2, 1, 24, 40, 1, 15, 1);
    pw.stride[0] = pw.stride[1] = 2;
    pw.bias = pw.res = 1;
    pw.act = ACT_RELU;
    check(&pw, 0, 2);
}

/* The same with the "norma" domain's residual input: Y = relu(conv(X) + B + R). */
static void conv_big_narrow_layer_with_residual_matches_reference(void **st)
{
    (void)st;
    tu_seed(20);
    int64_t N = 2, C = 1024, M = 1024, H = 7, W = 7;
    int64_t xd[4] = {N, C, H, W}, wd[4] = {M, C, 1, 1}, bd[1] = {M}, yd[4] = {N, M, H, W};
    size_t nx = (size_t)(N * C * H * W), nw = (size_t)(M * C), ny = (size_t)(N * M * H * W);
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float)), *b = malloc((size_t)M * sizeof(float));
    float *r = malloc(ny * sizeof(float)), *ref = malloc(ny * sizeof(float));
    tu_fill(x, nx, -1, 1);
    tu_fill(w, nw, -1, 1);
    tu_fill(b, (size_t)M, -1, 1);
    tu_fill(r, ny, -1, 1);
    k_conv_shape s;
    memset(&s, 0, sizeof s);
    s.N = N, s.C = C, s.M = M, s.group = 1;
    for (int i = 0; i < 3; i++)
        s.in[i] = s.out[i] = s.k[i] = s.stride[i] = s.dil[i] = 1;
    s.in[1] = s.out[1] = H, s.in[2] = s.out[2] = W;
    k_f32_conv_ref(&s, x, w, b, ref, ACT_NONE, 0, 0);
    for (size_t i = 0; i < ny; i++)
        ref[i] = ref[i] + r[i] > 0 ? ref[i] + r[i] : 0;
    for (int threads = 1; threads <= 2; threads++) {
        ir_tensor tx = oh_tensor(4, xd, x), tw = oh_tensor(4, wd, w), tb = oh_tensor(1, bd, b), tr = oh_tensor(4, yd, r);
        oh_node t;
        oh_init(&t, "Conv", 1);
        t.n.domain = (char *)"norma";
        t.node.fused_act = ACT_RELU;
        ir_tensor *in[4] = {&tx, &tw, &tb, &tr}, *out[1] = {NULL};
        if (oh_run(&t, 4, in, 1, out, 2 | 4, threads))
            fail_msg("op failed: %s", t.err);
        double e = tu_max_rel_err(out[0]->data, ref, ny, 1e-5 + 1e-7 * (double)C, 1e-4); /* as in check */
        if (e > 1)
            fail_msg("threads=%d: rel err %g", threads, e);
        ir_tensor_free(out[0]);
    }
    free(x), free(w), free(b), free(r), free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(conv_2d_3x3_pad1_bias_matches_reference),
        cmocka_unit_test(conv_stride2_dilation2_asymmetric_pads_match_reference),
        cmocka_unit_test(conv_1x1_pointwise_matches_reference),
        cmocka_unit_test(conv_several_column_chunks_match_reference),
        cmocka_unit_test(conv_group2_pad1_matches_reference),
        cmocka_unit_test(conv_depthwise_and_multiplier_match_reference),
        cmocka_unit_test(conv_depthwise_3x3_fast_path_matches_reference),
        cmocka_unit_test(conv_depthwise_kernel_simd_and_portable_match_reference),
        cmocka_unit_test(conv_depthwise_channel_blocks_match_reference),
        cmocka_unit_test(conv_depthwise_kxk_channel_blocks_match_reference),
        cmocka_unit_test(conv_direct_matches_reference),
        cmocka_unit_test(conv_im2col_simd_and_portable_write_the_same),
        cmocka_unit_test(conv_split_w_phases_matches_definition),
        cmocka_unit_test(conv_phase_split_matches_definition),
        cmocka_unit_test(conv_strided_implicit_gemm_matches_reference),
        cmocka_unit_test(conv_1d_and_3d_match_reference),
        cmocka_unit_test(conv_auto_pad_same_upper_and_lower_place_extra_pad),
        cmocka_unit_test(convtranspose_strides_groups_pads_match_reference),
        cmocka_unit_test(conv_rejects_bad_groups_channels_and_kernels),
        cmocka_unit_test(conv_rejects_bias_of_wrong_length),
        cmocka_unit_test(conv_big_narrow_layers_match_reference),
        cmocka_unit_test(conv_big_narrow_layer_with_residual_matches_reference),
        cmocka_unit_test(conv_residual_on_every_path_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
