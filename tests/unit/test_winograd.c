/*
 * Tests of the Winograd F(4x4,3x3) / F(2x2,3x3) convolution (kernels/winograd.h):
 * the tile transforms against a direct 3x3 correlation, the blocked kernel against
 * k_f32_conv_ref on awkward shapes, the choice the Conv op makes for ResNet's layers,
 * and the Conv op (plain and with the "norma" residual input) on that path.
 *
 * Error bound. Winograd computes the same sums as the direct loop but through the
 * transforms, whose rounding is not scaled by the result: an output's error is bounded
 * by a constant times eps * S, S = sum over taps of |x||w| (plus |bias| and |res|),
 * not by eps * |y|. The constant grows with the transform entries (B^T up to 5,
 * A^T up to 8, G down to 1/24: about 10^2 for F(4x4), 10 for F(2x2)), so we check
 * |y - ref| <= tol * (S + 1e-30) with tol = 1e-5 (about 80 eps) for F(4x4) and 2e-6
 * for F(2x2); measured worst cases are 3 to 10 times below these. An error in any
 * transform coefficient, tile edge or packing gives errors of order S, far above.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modelbuild.h"
#include "norma.h"

#include "kernels/act.h"
#include "kernels/conv.h"
#include "kernels/gemm.h"
#include "kernels/winograd.h"
#include "ophelp.h"
#include "testutil.h"

static double tol_for(int m)
{
    return m == 4 ? 1e-5 : 2e-6;
}

/* One tile: o = A^T ((G g G^T) .* (B^T d B)) A equals the direct correlation of d with g. */
static void wino_tile_transforms_compute_a_3x3_correlation(void **st)
{
    (void)st;
    tu_seed(100);
    for (int m = 2; m <= 4; m += 2) {
        int a = m + 2;
        float d[36], g[9], v[36], u[36], mt[36], o[16];
        tu_fill(d, (size_t)(a * a), -1, 1);
        tu_fill(g, 9, -1, 1);
        k_f32_wino_tile_ref(m, d, v, g, u, NULL, NULL);
        for (int p = 0; p < a * a; p++)
            mt[p] = u[p] * v[p];
        k_f32_wino_tile_ref(m, NULL, NULL, NULL, NULL, mt, o);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                double ref = 0, s = 0;
                for (int ki = 0; ki < 3; ki++)
                    for (int kj = 0; kj < 3; kj++) {
                        ref += (double)d[(i + ki) * a + j + kj] * g[ki * 3 + kj];
                        s += fabs((double)d[(i + ki) * a + j + kj] * g[ki * 3 + kj]);
                    }
                if (fabs(o[i * m + j] - ref) > tol_for(m) * s)
                    fail_msg("F(%dx%d) tile (%d,%d): %g vs %g", m, m, i, j, o[i * m + j], ref);
            }
    }
}

/* The packed transformed weights: every kernel through k_f32_wino_tile_ref, placed at
 * point p, row i, channel c of the alpha^2 packed A operands (panel i / MR, group c,
 * lane i % MR; zeros past M) equal k_f32_wino_weights's, bit for bit, for every ISA
 * and row counts that leave partial panels. */
static void wino_weights_match_per_kernel_transform(void **st)
{
    (void)st;
    tu_seed(104);
    const size_t Ms[] = {1, 5, 12, 13, 30}, Cs[] = {1, 3, 7};
    for (int level = K_ISA_GENERIC; level <= K_ISA_AVX512; level++) {
        const k_gemm_isa *isa = k_gemm_isa_get(level);
        if (!isa)
            continue;
        size_t mr = (size_t)isa->mr;
        for (int m = 2; m <= 4; m += 2)
            for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++)
                for (size_t ci = 0; ci < sizeof Cs / sizeof *Cs; ci++) {
                    size_t M = Ms[mi], C = Cs[ci], a2 = (size_t)((m + 2) * (m + 2));
                    size_t ua = k_gemm_packed_a_floats(isa, M, C), n = k_wino_u_floats(isa, m, M, C);
                    assert_int_equal(n, a2 * ua);
                    float *w = malloc(M * C * 9 * sizeof(float)), *u = malloc(n * sizeof(float));
                    float *ref = malloc(n * sizeof(float));
                    assert_non_null(w), assert_non_null(u), assert_non_null(ref);
                    tu_fill(w, M * C * 9, -1, 1);
                    memset(ref, 0, n * sizeof(float));
                    for (size_t i = 0; i < n; i++)
                        u[i] = 1234.5f; /* every float must be written */
                    float t[36];
                    for (size_t i = 0; i < M; i++)
                        for (size_t c = 0; c < C; c++) {
                            k_f32_wino_tile_ref(m, NULL, NULL, w + (i * C + c) * 9, t, NULL, NULL);
                            for (size_t p = 0; p < a2; p++)
                                ref[p * ua + (i / mr) * C * mr + c * mr + i % mr] = t[p];
                        }
                    k_f32_wino_weights(isa, m, M, C, w, u);
                    assert_memory_equal(u, ref, n * sizeof(float));
                    free(w), free(u), free(ref);
                }
    }
}

typedef struct wspec {
    int64_t N, C, M, H, W, pt, pl, pb, pr;
    int bias, res, act;
} wspec;

/* Runs k_f32_wino_conv (tile m) on seeded data per spec with `threads` threads and work
 * space for `slots` blocks (0: as many as it wants) and checks it against
 * k_f32_conv_ref within the bound above. */
static void check_kernel(const wspec *sp, int m, int threads, int slots)
{
    k_conv_shape s;
    memset(&s, 0, sizeof s);
    s.N = sp->N, s.C = sp->C, s.M = sp->M, s.group = 1;
    for (int i = 0; i < 3; i++)
        s.in[i] = s.out[i] = s.k[i] = s.stride[i] = s.dil[i] = 1;
    s.in[1] = sp->H, s.in[2] = sp->W;
    s.k[1] = s.k[2] = 3;
    s.pad[1] = sp->pt, s.pad[2] = sp->pl;
    s.out[1] = sp->H + sp->pt + sp->pb - 2;
    s.out[2] = sp->W + sp->pl + sp->pr - 2;
    size_t nx = (size_t)(sp->N * sp->C * sp->H * sp->W), nw = (size_t)(sp->M * sp->C * 9);
    size_t ny = (size_t)(sp->N * sp->M * s.out[1] * s.out[2]);
    const k_gemm_isa *isa = k_gemm_best();
    float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float)), *b = malloc((size_t)sp->M * sizeof(float));
    float *ax = malloc(nx * sizeof(float)), *aw = malloc(nw * sizeof(float));
    float *r = malloc(ny * sizeof(float)), *y = malloc(ny * sizeof(float)), *ref = malloc(ny * sizeof(float));
    float *sum = malloc(ny * sizeof(float));
    float *u = malloc(k_wino_u_floats(isa, m, (size_t)sp->M, (size_t)sp->C) * sizeof(float));
    tu_fill(x, nx, -1, 1);
    tu_fill(w, nw, -1, 1);
    tu_fill(b, (size_t)sp->M, -1, 1);
    tu_fill(r, ny, -2, 2);
    for (size_t i = 0; i < nx; i++)
        ax[i] = fabsf(x[i]);
    for (size_t i = 0; i < nw; i++)
        aw[i] = fabsf(w[i]);
    size_t wf = k_wino_work_floats(isa, m, &s, slots ? slots : threads);
    float *work = malloc((wf ? wf : 1) * sizeof(float));
    for (size_t i = 0; i < wf; i++)
        work[i] = NAN; /* garbage the kernel must not read */
    for (size_t i = 0; i < ny; i++)
        y[i] = NAN;
    k_f32_wino_weights(isa, m, (size_t)sp->M, (size_t)sp->C, w, u);
    k_f32_wino_conv(isa, m, &s, x, u, sp->bias ? b : NULL, sp->res ? r : NULL, y, sp->act, 0.1f, 0.6f, threads, work,
                    wf);
    k_f32_conv_ref(&s, x, w, sp->bias ? b : NULL, ref, ACT_NONE, 0, 0);
    k_f32_conv_ref(&s, ax, aw, NULL, sum, ACT_NONE, 0, 0);
    size_t plane = (size_t)(s.out[1] * s.out[2]);
    double worst = 0;
    for (size_t i = 0; i < ny; i++) {
        double want = ref[i], mag = sum[i];
        size_t mo = (i / plane) % (size_t)sp->M;
        if (sp->bias)
            mag += fabs(b[mo]);
        if (sp->res) {
            want += r[i];
            mag += fabs(r[i]);
        }
        want = k_act_one((float)want, sp->act, 0.1f, 0.6f);
        double e = fabs(y[i] - want) / (mag + 1e-30);
        if (!(e <= tol_for(m)))
            fail_msg("F(%dx%d) N=%lld C=%lld M=%lld %lldx%lld pads %lld,%lld,%lld,%lld threads %d: y[%zu] = %g, want %g "
                     "(err/S %g)",
                     m, m, (long long)sp->N, (long long)sp->C, (long long)sp->M, (long long)sp->H, (long long)sp->W,
                     (long long)sp->pt, (long long)sp->pl, (long long)sp->pb, (long long)sp->pr, threads, i, y[i], want,
                     e);
        if (e > worst)
            worst = e;
    }
    print_message("F(%dx%d) C=%lld M=%lld %lldx%lld: worst err/S %.3g\n", m, m, (long long)sp->C, (long long)sp->M,
                  (long long)sp->H, (long long)sp->W, worst);
    free(x), free(w), free(b), free(ax), free(aw), free(r), free(y), free(ref), free(sum), free(u), free(work);
}

static const wspec shapes[] = {
    /* N  C   M   H   W  pt pl pb pr bias res act */
    {1, 3, 5, 3, 3, 0, 0, 0, 0, 1, 0, ACT_NONE},      /* 1x1 output */
    {2, 7, 13, 9, 11, 1, 1, 1, 1, 1, 0, ACT_RELU},    /* outputs not multiples of 4, batch 2 */
    {1, 33, 17, 14, 14, 1, 1, 1, 1, 0, 1, ACT_RELU},  /* C, M not multiples of 12 / 32, residual */
    {2, 16, 40, 10, 7, 2, 0, 1, 2, 1, 1, ACT_CLIP},   /* asymmetric pads 0..2 */
    {1, 5, 3, 6, 5, 2, 2, 2, 2, 0, 0, ACT_LEAKY_RELU}, /* pads larger than the tile overlap */
    {1, 12, 32, 21, 70, 1, 1, 1, 1, 1, 1, ACT_NONE},  /* rows wider than one run of tiles, several blocks */
    {3, 64, 64, 17, 17, 1, 1, 1, 1, 1, 0, ACT_RELU},  /* many blocks: block-parallel with 2 threads */
    {1, 8, 35, 56, 56, 1, 1, 1, 1, 1, 1, ACT_RELU},   /* 14 tiles a row: runs of 14 + 2, 12 + 4, ... share vectors */
    {2, 9, 20, 5, 30, 0, 1, 2, 0, 1, 1, ACT_HARD_SWISH}, /* 1..2 tiles down, 7 / 15 across, batch 2 */
    {2, 6, 7, 4, 3, 1, 0, 0, 2, 0, 1, ACT_SIGMOID},   /* one tile a row: 16 runs in a vector */
    {1, 16, 24, 28, 28, 1, 1, 1, 1, 1, 1, ACT_RELU},  /* 49 tiles (F(4x4)): two threads' bands meet mid-row */
};

static void wino_f4_matches_reference_on_awkward_shapes(void **st)
{
    (void)st;
    tu_seed(101);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        check_kernel(&shapes[i], 4, 1, 0);
        check_kernel(&shapes[i], 4, 2, 0);
    }
}

static void wino_f2_matches_reference_on_awkward_shapes(void **st)
{
    (void)st;
    tu_seed(102);
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        check_kernel(&shapes[i], 2, 1, 0);
        check_kernel(&shapes[i], 2, 2, 0);
    }
}

/* The hand-written AVX-512 transforms and the portable loops compute the same
 * operations in the same order: the outputs are equal bit for bit (with the same GEMM),
 * on every shape above, both tile sizes, with 1 and 2 threads. (Without AVX-512 both
 * runs take the portable path; the reference checks above still cover the kernel.) */
static void wino_avx512_and_portable_transforms_agree(void **st)
{
    (void)st;
    tu_seed(106);
    if (!k_wino_have_avx512())
        print_message("no AVX-512 on this CPU: comparing the portable path with itself\n");
    const k_gemm_isa *isa = k_gemm_best();
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int m = 2; m <= 4; m += 2)
            for (int threads = 1; threads <= 2; threads++) {
                const wspec *sp = &shapes[si];
                k_conv_shape s;
                memset(&s, 0, sizeof s);
                s.N = sp->N, s.C = sp->C, s.M = sp->M, s.group = 1;
                for (int i = 0; i < 3; i++)
                    s.in[i] = s.out[i] = s.k[i] = s.stride[i] = s.dil[i] = 1;
                s.in[1] = sp->H, s.in[2] = sp->W;
                s.k[1] = s.k[2] = 3;
                s.pad[1] = sp->pt, s.pad[2] = sp->pl;
                s.out[1] = sp->H + sp->pt + sp->pb - 2;
                s.out[2] = sp->W + sp->pl + sp->pr - 2;
                size_t nx = (size_t)(sp->N * sp->C * sp->H * sp->W), nw = (size_t)(sp->M * sp->C * 9);
                size_t ny = (size_t)(sp->N * sp->M * s.out[1] * s.out[2]);
                float *x = malloc(nx * sizeof(float)), *w = malloc(nw * sizeof(float));
                float *b = malloc((size_t)sp->M * sizeof(float)), *r = malloc(ny * sizeof(float));
                float *y0 = malloc(ny * sizeof(float)), *y1 = malloc(ny * sizeof(float));
                float *u = malloc(k_wino_u_floats(isa, m, (size_t)sp->M, (size_t)sp->C) * sizeof(float));
                tu_fill(x, nx, -1, 1);
                tu_fill(w, nw, -1, 1);
                tu_fill(b, (size_t)sp->M, -1, 1);
                tu_fill(r, ny, -2, 2);
                size_t wf = k_wino_work_floats(isa, m, &s, threads);
                float *work = malloc((wf ? wf : 1) * sizeof(float));
                k_f32_wino_weights(isa, m, (size_t)sp->M, (size_t)sp->C, w, u);
                for (int simd = 0; simd <= 1; simd++) {
                    float *y = simd ? y1 : y0;
                    for (size_t i = 0; i < wf; i++)
                        work[i] = NAN;
                    for (size_t i = 0; i < ny; i++)
                        y[i] = NAN;
                    k_f32_wino_conv_x(isa, m, &s, x, u, sp->bias ? b : NULL, sp->res ? r : NULL, y, sp->act, 0.1f,
                                      0.6f, threads, work, wf, simd);
                }
                for (size_t i = 0; i < ny; i++)
                    if (memcmp(&y0[i], &y1[i], sizeof(float)) != 0)
                        fail_msg("shape %zu F(%dx%d) threads %d: y[%zu] portable %.9g, avx512 %.9g", si, m, m, threads,
                                 i, y0[i], y1[i]);
                free(x), free(w), free(b), free(r), free(y0), free(y1), free(u), free(work);
            }
}

/* Two threads but work space for one block: the team shares every block. */
static void wino_one_work_slot_shared_by_two_threads(void **st)
{
    (void)st;
    tu_seed(103);
    check_kernel(&shapes[6], 4, 2, 1);
    check_kernel(&shapes[5], 2, 2, 1);
}

/* The Conv op picks Winograd for ResNet's 3x3 layers at 56, 28 and 14 (a change that
 * turns it off makes this fail), and not for thin layers. */
static void wino_chosen_for_resnet_3x3_layers(void **st)
{
    (void)st;
    assert_int_equal(k_wino_pick(64, 64, 56, 56), 4);
    assert_int_equal(k_wino_pick(128, 128, 28, 28), 4);
    assert_int_equal(k_wino_pick(256, 256, 14, 14), 2);
    assert_int_equal(k_wino_pick(64, 64, -1, -1), 4); /* shape not known in init */
    assert_int_equal(k_wino_pick(256, 256, -1, -1), 2);
    assert_int_equal(k_wino_pick(512, 512, -1, -1), 0);
    assert_int_equal(k_wino_pick(512, 512, 7, 7), 0);
    assert_int_equal(k_wino_pick(3, 64, 224, 224), 0);
    assert_int_equal(k_wino_pick(64, 8, 56, 56), 0);
}

/* The Conv op on the Winograd paths (C, M >= 32, 16x15 and 26x29 outputs), with and without the
 * "norma" domain's residual input, against the direct reference. */
static void conv_op_on_winograd_path(int64_t H, int64_t W, int want_m)
{
    int64_t N = 2, C = 40, M = 36;
    assert_int_equal(k_wino_pick(C, M, H, W), want_m);
    int64_t xd[4] = {N, C, H, W}, wd[4] = {M, C, 3, 3}, bd[1] = {M}, yd[4] = {N, M, H, W};
    size_t nx = (size_t)(N * C * H * W), nw = (size_t)(M * C * 9), ny = (size_t)(N * M * H * W);
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
    s.k[1] = s.k[2] = 3;
    s.pad[1] = s.pad[2] = 1;
    k_f32_conv_ref(&s, x, w, b, ref, ACT_NONE, 0, 0);
    for (int with_res = 0; with_res <= 1; with_res++)
        for (int threads = 1; threads <= 2; threads++) {
            ir_tensor tx = oh_tensor(4, xd, x), tw = oh_tensor(4, wd, w), tb = oh_tensor(1, bd, b),
                      tr = oh_tensor(4, yd, r);
            oh_node t;
            oh_init(&t, "Conv", 11);
            if (with_res)
                t.n.domain = (char *)"norma", t.n.opset = 1;
            oh_ints(&t, "pads", 4, (int64_t[]){1, 1, 1, 1});
            oh_ints(&t, "kernel_shape", 2, (int64_t[]){3, 3});
            t.node.fused_act = ACT_RELU;
            ir_tensor *in[4] = {&tx, &tw, &tb, &tr}, *out[1] = {NULL};
            int rc = oh_run(&t, with_res ? 4 : 3, in, 1, out, 2 | 4, threads);
            if (rc)
                fail_msg("op failed: %s", t.err);
            const float *y = out[0]->data;
            for (size_t i = 0; i < ny; i++) {
                float want = ref[i] + (with_res ? r[i] : 0.0f);
                want = want > 0 ? want : 0;
                /* inputs in [-1, 1]: S <= 9*C + 2 */
                if (fabsf(y[i] - want) > 1e-5f * (9 * (float)C + 2))
                    fail_msg("res=%d threads=%d: y[%zu] = %g, want %g", with_res, threads, i, y[i], want);
            }
            ir_tensor_free(out[0]);
        }
    free(x), free(w), free(b), free(r), free(ref);
}

static void conv_op_winograd_path_matches_reference(void **st)
{
    (void)st;
    tu_seed(104);
    conv_op_on_winograd_path(16, 15, 2);
    conv_op_on_winograd_path(26, 29, 4);
}

/* A model whose input has symbolic H and W: init cannot see the output size and
 * guesses Winograd from the channel counts (64: 4x4 tiles). Plans at 5x5 (too small:
 * im2col) and at 30x30 (Winograd) in one session both match the direct reference. */
static void conv_session_with_unshaped_input_takes_either_path(void **st)
{
    (void)st;
    tu_seed(105);
    int64_t C = 64, M = 64;
    assert_int_equal(k_wino_pick(C, M, -1, -1), 4);
    assert_int_equal(k_wino_pick(C, M, 5, 5), 0);
    size_t nw = (size_t)(M * C * 9);
    float *w = malloc(nw * sizeof(float)), *b = malloc((size_t)M * sizeof(float));
    tu_fill(w, nw, -1, 1);
    tu_fill(b, (size_t)M, -1, 1);
    mb_model *m = mb_new(17);
    mb_input(m, "x", NORMA_FLOAT, 4, (int64_t[]){1, C, -1, -1});
    mb_init_f32(m, "w", 4, (int64_t[]){M, C, 3, 3}, w);
    mb_init_f32(m, "b", 1, (int64_t[]){M}, b);
    mb_node *n = mb_add_node(m, "Conv", "x,w,b", "y");
    mb_attr_ints(n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    norma_session *s = NULL;
    assert_int_equal(norma_session_create_from_memory(bytes, len, NULL, &s), NORMA_OK);
    free(bytes);
    mb_free(m);
    static const int64_t sizes[] = {5, 30, 5};
    for (int t = 0; t < 3; t++) {
        int64_t H = sizes[t];
        size_t nx = (size_t)(C * H * H), ny = (size_t)(M * H * H);
        float *x = malloc(nx * sizeof(float)), *ref = malloc(ny * sizeof(float));
        tu_fill(x, nx, -1, 1);
        k_conv_shape cs;
        memset(&cs, 0, sizeof cs);
        cs.N = 1, cs.C = C, cs.M = M, cs.group = 1;
        for (int i = 0; i < 3; i++)
            cs.in[i] = cs.out[i] = cs.k[i] = cs.stride[i] = cs.dil[i] = 1;
        cs.in[1] = cs.out[1] = cs.in[2] = cs.out[2] = H;
        cs.k[1] = cs.k[2] = 3;
        cs.pad[1] = cs.pad[2] = 1;
        k_f32_conv_ref(&cs, x, w, b, ref, ACT_NONE, 0, 0);
        norma_tensor in = {.dtype = NORMA_FLOAT, .rank = 4, .dims = {1, C, H, H}, .data = x}, out;
        memset(&out, 0, sizeof out);
        if (norma_run(s, &in, 1, &out, 1) != NORMA_OK)
            fail_msg("run at %lldx%lld: %s", (long long)H, (long long)H, norma_last_error());
        assert_int_equal(out.rank, 4);
        assert_int_equal(out.dims[2], H);
        const float *y = out.data;
        for (size_t i = 0; i < ny; i++)
            if (fabsf(y[i] - ref[i]) > 1e-5f * (9 * (float)C + 2))
                fail_msg("%lldx%lld: y[%zu] = %g, want %g", (long long)H, (long long)H, i, y[i], ref[i]);
        free(x), free(ref);
    }
    norma_session_free(s);
    free(w), free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wino_tile_transforms_compute_a_3x3_correlation),
        cmocka_unit_test(wino_weights_match_per_kernel_transform),
        cmocka_unit_test(wino_f4_matches_reference_on_awkward_shapes),
        cmocka_unit_test(wino_f2_matches_reference_on_awkward_shapes),
        cmocka_unit_test(wino_avx512_and_portable_transforms_agree),
        cmocka_unit_test(wino_one_work_slot_shared_by_two_threads),
        cmocka_unit_test(wino_chosen_for_resnet_3x3_layers),
        cmocka_unit_test(conv_op_winograd_path_matches_reference),
        cmocka_unit_test(conv_session_with_unshaped_input_takes_either_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
