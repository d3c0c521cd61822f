/* Tests of MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool: hand-computed
 * cases and a brute-force 2-D pool written independently of the kernels. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kernels/pool.h"
#include "modelbuild.h"
#include "norma.h"
#include "ophelp.h"
#include "testutil.h"

static int run_pool(oh_node *t, ir_tensor *x, ir_tensor **out, int n_out)
{
    ir_tensor *in[1] = {x};
    return oh_run(t, 1, in, n_out, out, 0, 2);
}

static void maxpool_2x2_stride2_values_and_indices(void **st)
{
    (void)st;
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    int64_t xd[4] = {1, 1, 4, 4};
    ir_tensor tx = oh_tensor(4, xd, x);
    for (int so = 0; so < 2; so++) {
        oh_node t;
        oh_init(&t, "MaxPool", 12);
        oh_ints(&t, "kernel_shape", 2, (int64_t[]){2, 2});
        oh_ints(&t, "strides", 2, (int64_t[]){2, 2});
        oh_int(&t, "storage_order", so);
        ir_tensor *out[2] = {NULL, NULL};
        assert_int_equal(run_pool(&t, &tx, out, 2), NORMA_OK);
        assert_int_equal(out[0]->dims[2], 2);
        assert_int_equal(out[1]->dtype, NORMA_INT64);
        const float *y = out[0]->data;
        const int64_t *ind = out[1]->data;
        const float want[4] = {5, 7, 13, 15};
        const int64_t want_ind[2][4] = {{5, 7, 13, 15}, {5, 13, 7, 15}};
        for (int i = 0; i < 4; i++) {
            assert_float_equal(y[i], want[i], 0);
            assert_int_equal(ind[i], want_ind[so][i]);
        }
        ir_tensor_free(out[0]);
        ir_tensor_free(out[1]);
    }
}

static void averagepool_count_include_pad_changes_border_divisor(void **st)
{
    (void)st;
    float x[9];
    for (int i = 0; i < 9; i++)
        x[i] = 1;
    int64_t xd[4] = {1, 1, 3, 3};
    ir_tensor tx = oh_tensor(4, xd, x);
    for (int cip = 0; cip < 2; cip++) {
        oh_node t;
        oh_init(&t, "AveragePool", 11);
        oh_ints(&t, "kernel_shape", 2, (int64_t[]){3, 3});
        oh_ints(&t, "pads", 4, (int64_t[]){1, 1, 1, 1});
        oh_int(&t, "count_include_pad", cip);
        ir_tensor *out[1] = {NULL};
        assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_OK);
        const float *y = out[0]->data;
        assert_float_equal(y[0], cip ? 4.0f / 9 : 1.0f, 1e-6);
        assert_float_equal(y[1], cip ? 6.0f / 9 : 1.0f, 1e-6);
        assert_float_equal(y[4], 1.0f, 1e-6);
        ir_tensor_free(out[0]);
    }
}

static void pool_ceil_mode_adds_a_window_only_when_it_starts_inside(void **st)
{
    (void)st;
    float x[25] = {0};
    int64_t xd[3] = {1, 1, 5}, xd4[3] = {1, 1, 4};
    ir_tensor tx = oh_tensor(3, xd, x), tx4 = oh_tensor(3, xd4, x);
    oh_node t;
    ir_tensor *out[1] = {NULL};
    for (int ceil = 0; ceil < 2; ceil++) {
        oh_init(&t, "MaxPool", 12);
        oh_ints(&t, "kernel_shape", 1, (int64_t[]){2});
        oh_ints(&t, "strides", 1, (int64_t[]){2});
        oh_int(&t, "ceil_mode", ceil);
        assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_OK);
        assert_int_equal(out[0]->dims[2], ceil ? 3 : 2);
        ir_tensor_free(out[0]);
    }
    /* in 4 + end pad 1, k 2, s 2: a third window would start in the end padding */
    oh_init(&t, "AveragePool", 11);
    oh_ints(&t, "kernel_shape", 1, (int64_t[]){2});
    oh_ints(&t, "strides", 1, (int64_t[]){2});
    oh_ints(&t, "pads", 2, (int64_t[]){0, 1});
    oh_int(&t, "ceil_mode", 1);
    assert_int_equal(run_pool(&t, &tx4, out, 1), NORMA_OK);
    assert_int_equal(out[0]->dims[2], 2);
    ir_tensor_free(out[0]);
}

/* Brute force over one (H, W) plane, written around the padded image. */
static void brute_pool(int is_max, int cip, int64_t H, int64_t W, const int64_t *k, const int64_t *s,
                       const int64_t *d, const int64_t *p, int64_t oH, int64_t oW, const float *x, float *y)
{
    int64_t PH = H + p[0] + p[2], PW = W + p[1] + p[3];
    for (int64_t oh = 0; oh < oH; oh++)
        for (int64_t ow = 0; ow < oW; ow++) {
            float best = -INFINITY, sum = 0;
            int cnt = 0;
            for (int64_t a = 0; a < k[0]; a++)
                for (int64_t b = 0; b < k[1]; b++) {
                    int64_t ph = oh * s[0] + a * d[0], pw = ow * s[1] + b * d[1]; /* padded coords */
                    int inside_pad = ph < PH && pw < PW;
                    int64_t h = ph - p[0], w = pw - p[1];
                    int real = h >= 0 && h < H && w >= 0 && w < W;
                    if (real) {
                        float v = x[h * W + w];
                        best = v > best ? v : best;
                        sum += v;
                    }
                    cnt += cip ? inside_pad : real;
                }
            y[oh * oW + ow] = is_max ? best : sum / (float)cnt;
        }
}

static void pool_2d_random_shapes_match_brute_force(void **st)
{
    (void)st;
    tu_seed(20);
    for (int iter = 0; iter < 40; iter++) {
        int is_max = iter % 2, cip = (iter / 2) % 2, ceil = (iter / 4) % 2;
        int64_t H = 1 + iter % 9, W = 3 + (iter * 7) % 11;
        int64_t k[2] = {1 + iter % 3, 1 + (iter / 3) % 4}, s[2] = {1 + iter % 2, 1 + (iter / 5) % 3};
        int64_t d[2] = {1 + (iter / 7) % 2, 1 + (iter / 11) % 2};
        int64_t p[4] = {iter % 2, (iter / 3) % 2, (iter / 2) % 2, 0};
        for (int i = 0; i < 2; i++) { /* keep the kernel inside and pads below its extent */
            int64_t eff = (k[i] - 1) * d[i] + 1, in = i ? W : H;
            if (in + p[i] + p[i + 2] < eff)
                k[i] = 1;
            eff = (k[i] - 1) * d[i] + 1;
            if (p[i] >= eff)
                p[i] = eff - 1;
            if (p[i + 2] >= eff)
                p[i + 2] = eff - 1;
        }
        int64_t xd[4] = {2, 3, H, W};
        size_t n = (size_t)(6 * H * W);
        float *x = malloc(sizeof(float) * n);
        tu_fill(x, n, -1, 1);
        ir_tensor tx = oh_tensor(4, xd, x);
        oh_node t;
        oh_init(&t, is_max ? "MaxPool" : "AveragePool", is_max ? 12 : 19);
        oh_ints(&t, "kernel_shape", 2, k);
        oh_ints(&t, "strides", 2, s);
        oh_ints(&t, "dilations", 2, d);
        oh_ints(&t, "pads", 4, p);
        oh_int(&t, "ceil_mode", ceil);
        if (!is_max)
            oh_int(&t, "count_include_pad", cip);
        ir_tensor *out[1] = {NULL};
        if (run_pool(&t, &tx, out, 1))
            fail_msg("iter %d: %s", iter, t.err);
        int64_t oH = out[0]->dims[2], oW = out[0]->dims[3];
        float *ref = malloc(sizeof(float) * (size_t)(oH * oW));
        for (int pl = 0; pl < 6; pl++) {
            brute_pool(is_max, cip, H, W, k, s, d, p, oH, oW, x + pl * H * W, ref);
            double e = tu_max_rel_err((float *)out[0]->data + pl * oH * oW, ref, (size_t)(oH * oW), 1e-6, 1e-5);
            if (e > 1)
                fail_msg("iter %d (%s) plane %d: rel err %g", iter, t.node.op_type, pl, e);
        }
        free(ref);
        free(x);
        ir_tensor_free(out[0]);
    }
}

/* The row-wise fast path against the direct references, 3-D with awkward sizes. */
static void pool_rows_matches_references_3d(void **st)
{
    (void)st;
    tu_seed(22);
    for (int iter = 0; iter < 30; iter++) {
        k_pool_shape s;
        memset(&s, 0, sizeof s);
        s.NC = 1 + iter % 3;
        for (int d = 0; d < 3; d++) {
            s.in[d] = 1 + (iter * (d + 3)) % 9;
            s.k[d] = 1 + (iter + d) % 3;
            s.stride[d] = 1 + (iter / (d + 1)) % 3;
            s.dil[d] = 1 + (iter / 5 + d) % 2;
            int64_t eff = (s.k[d] - 1) * s.dil[d] + 1;
            s.pad[d] = (iter + d) % eff;
            s.pad_end[d] = (iter / 2 + d) % eff;
            if (s.in[d] + s.pad[d] + s.pad_end[d] < eff)
                s.pad_end[d] += eff;
            if (s.pad_end[d] >= eff && s.in[d] + s.pad[d] < eff) {
                s.k[d] = 1;
                s.pad[d] = s.pad_end[d] = 0;
                eff = 1;
            }
            s.out[d] = (s.in[d] + s.pad[d] + s.pad_end[d] - eff) / s.stride[d] + 1;
        }
        size_t nx = (size_t)(s.NC * s.in[0] * s.in[1] * s.in[2]), ny = (size_t)(s.NC * s.out[0] * s.out[1] * s.out[2]);
        float *x = malloc(sizeof(float) * nx), *a = malloc(sizeof(float) * ny), *b = malloc(sizeof(float) * ny);
        tu_fill(x, nx, -1, 1);
        k_f32_pool_rows(&s, x, a, 1, 0, 2);
        k_f32_maxpool_ref(&s, x, b, NULL, 0, 1);
        if (tu_max_rel_err(a, b, ny, 0, 1e-6) > 1)
            fail_msg("max iter %d differs", iter);
        for (int cip = 0; cip < 2; cip++) {
            k_f32_pool_rows(&s, x, a, 0, cip, 1);
            k_f32_avgpool_ref(&s, x, b, cip, 2);
            if (tu_max_rel_err(a, b, ny, 1e-6, 1e-5) > 1)
                fail_msg("avg iter %d cip %d differs", iter, cip);
        }
        free(x);
        free(a);
        free(b);
    }
}

/* 2-D max pooling rows: the AVX-512 passes (simd 1, where the CPU has them) and the
 * portable loops give the same bits, NaN and -inf inputs included (both skip NaN; the
 * data has no zeros, whose sign either may pick), for strides 1 and 2, dilations
 * along H, pads, and widths around the 16-lane vectors; without NaN both match the
 * reference. */
static void maxpool_rows_simd_and_portable_agree(void **st)
{
    (void)st;
    tu_seed(25);
    for (int iter = 0; iter < 42; iter++) {
        k_pool_shape s;
        memset(&s, 0, sizeof s);
        s.NC = iter >= 40 ? 9 : 1 + iter % 3; /* the last two large enough for threads (bands of rows) */
        s.in[0] = s.out[0] = s.k[0] = s.stride[0] = s.dil[0] = 1;
        s.in[1] = 1 + (iter * 7) % 13;
        s.in[2] = 1 + (iter * 13) % 71 + (iter % 4 == 3 ? 150 : 0); /* wide: runs of four inner blocks */
        if (iter >= 40)
            s.in[1] = 111, s.in[2] = 113;
        for (int d = 1; d < 3; d++) {
            s.k[d] = 1 + (iter + d) % 5;
            s.stride[d] = 1 + (iter / 3 + d) % 2;
            s.dil[d] = d == 1 ? 1 + iter % 2 : 1;
            int64_t eff = (s.k[d] - 1) * s.dil[d] + 1;
            s.pad[d] = (iter / 2 + d) % eff;
            s.pad_end[d] = (iter / 5) % eff;
            if (s.in[d] + s.pad[d] + s.pad_end[d] < eff)
                s.pad_end[d] = eff - 1, s.pad[d] = eff - 1;
            s.out[d] = (s.in[d] + s.pad[d] + s.pad_end[d] - eff) / s.stride[d] + 1;
        }
        size_t nx = (size_t)(s.NC * s.in[1] * s.in[2]), ny = (size_t)(s.NC * s.out[1] * s.out[2]);
        float *x = malloc(sizeof(float) * nx), *a = malloc(sizeof(float) * ny), *b = malloc(sizeof(float) * ny);
        tu_fill(x, nx, -1, 1);
        for (int with_nan = 0; with_nan <= 1; with_nan++) {
            if (with_nan)
                for (size_t i = 0; i < nx; i += 5)
                    x[i] = i % 10 ? NAN : -INFINITY;
            k_f32_pool_rows_x(&s, x, a, 1, 0, 2, 1);
            k_f32_pool_rows_x(&s, x, b, 1, 0, 1, 0);
            if (memcmp(a, b, sizeof(float) * ny))
                fail_msg("iter %d nan %d: the two variants differ", iter, with_nan);
            if (!with_nan) {
                k_f32_maxpool_ref(&s, x, b, NULL, 0, 1);
                if (memcmp(a, b, sizeof(float) * ny))
                    fail_msg("iter %d: differs from the reference", iter);
            }
        }
        free(x);
        free(a);
        free(b);
    }
}

/* Kernels far larger than the input (with pads just below the kernel extent) and
 * strides well above the dilation: the loops visit only taps inside the input, and
 * the results match the brute force; the row pass is bit-identical to the references. */
static void pool_huge_sparse_windows_match_brute_force(void **st)
{
    (void)st;
    tu_seed(23);
    for (int iter = 0; iter < 48; iter++) {
        int is_max = iter % 2, cip = (iter / 2) % 2, ceil = (iter / 4) % 2;
        int64_t H = 1 + iter % 5, W = 2 + (iter * 5) % 7;
        int64_t k[2] = {1 + (iter * 7) % 13, 10 + (iter * 11) % 31}, s[2] = {1 + iter % 4, 1 + (iter * 3) % 23};
        int64_t d[2] = {1 + (iter / 3) % 2, 1 + (iter / 6) % 3}, p[4];
        for (int i = 0; i < 2; i++) {
            int64_t eff = (k[i] - 1) * d[i] + 1, in = i ? W : H;
            p[i] = (eff - 1) - (iter % 3) * (eff / 4);
            p[i + 2] = eff - 1 - ((iter / 2) % 2) * (eff / 3);
            if (in + p[i] + p[i + 2] < eff)
                p[i + 2] = eff - 1, p[i] = eff - 1;
        }
        int64_t xd[4] = {1, 2, H, W};
        size_t n = (size_t)(2 * H * W);
        float x[2 * 5 * 8];
        tu_fill(x, n, -1, 1);
        ir_tensor tx = oh_tensor(4, xd, x);
        oh_node t;
        oh_init(&t, is_max ? "MaxPool" : "AveragePool", is_max ? 12 : 19);
        oh_ints(&t, "kernel_shape", 2, k);
        oh_ints(&t, "strides", 2, s);
        oh_ints(&t, "dilations", 2, d);
        oh_ints(&t, "pads", 4, p);
        oh_int(&t, "ceil_mode", ceil);
        if (!is_max)
            oh_int(&t, "count_include_pad", cip);
        ir_tensor *out[1] = {NULL};
        if (run_pool(&t, &tx, out, 1))
            fail_msg("iter %d: %s", iter, t.err);
        int64_t oH = out[0]->dims[2], oW = out[0]->dims[3];
        float *ref = malloc(sizeof(float) * (size_t)(oH * oW));
        for (int pl = 0; pl < 2; pl++) {
            brute_pool(is_max, cip, H, W, k, s, d, p, oH, oW, x + pl * H * W, ref);
            double e = tu_max_rel_err((float *)out[0]->data + pl * oH * oW, ref, (size_t)(oH * oW), 1e-6, 1e-5);
            if (e > 1)
                fail_msg("iter %d (%s) plane %d: rel err %g", iter, t.node.op_type, pl, e);
        }
        /* row pass against the direct references, bit for bit */
        k_pool_shape ps;
        memset(&ps, 0, sizeof ps);
        ps.NC = 2;
        ps.in[0] = ps.out[0] = ps.k[0] = ps.stride[0] = ps.dil[0] = 1;
        for (int i = 0; i < 2; i++) {
            ps.in[1 + i] = i ? W : H;
            ps.out[1 + i] = i ? oW : oH;
            ps.k[1 + i] = k[i];
            ps.stride[1 + i] = s[i];
            ps.dil[1 + i] = d[i];
            ps.pad[1 + i] = p[i];
            ps.pad_end[1 + i] = p[i + 2];
        }
        size_t ny = (size_t)(2 * oH * oW);
        float *a = malloc(sizeof(float) * ny), *b = malloc(sizeof(float) * ny);
        k_f32_pool_rows(&ps, x, a, is_max, cip, 1);
        if (is_max)
            k_f32_maxpool_ref(&ps, x, b, NULL, 0, 1);
        else
            k_f32_avgpool_ref(&ps, x, b, cip, 1);
        if (memcmp(a, b, sizeof(float) * ny))
            fail_msg("iter %d: row pass differs from the reference", iter);
        free(a);
        free(b);
        free(ref);
        ir_tensor_free(out[0]);
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A fuzzer-mutated AveragePool: kernel_shape {3, 35651583} with SAME_UPPER padding on
 * a 5x5 input walked every tap (~1e9 iterations, ~15 s). Now it takes the taps inside
 * the input only; each output is the mean of its 3-row band (all 5 columns). */
static void huge_kernel_pool_model_runs_quickly(void **st)
{
    (void)st;
    for (int v = 0; v < 4; v++) {
        int is_max = v == 3, cip = v == 1;
        mb_model *m = mb_new(v == 2 ? 19 : 11);
        mb_input(m, "x", NORMA_FLOAT, 4, (int64_t[]){1, 1, 5, 5});
        mb_node *n = mb_add_node(m, is_max ? "MaxPool" : "AveragePool", "x", "y");
        mb_attr_ints(n, "kernel_shape", 2, (int64_t[]){3, 35651583});
        mb_attr_string(n, "auto_pad", "SAME_UPPER");
        if (!is_max)
            mb_attr_int(n, "count_include_pad", cip);
        if (v == 2)
            mb_attr_ints(n, "dilations", 2, (int64_t[]){1, 2});
        mb_output(m, "y");
        size_t len;
        uint8_t *bytes = mb_serialize(m, &len);
        mb_free(m);
        norma_session *s = NULL;
        assert_int_equal(norma_session_create_from_memory(bytes, len, NULL, &s), NORMA_OK);
        free(bytes);
        float x[25], y[25];
        for (int i = 0; i < 25; i++)
            x[i] = (float)i;
        norma_tensor in = {.name = "x", .dtype = NORMA_FLOAT, .rank = 4, .dims = {1, 1, 5, 5}, .data = x};
        norma_tensor out = {.data = y, .capacity = sizeof y};
        double t0 = now_s();
        assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
        double dt = now_s() - t0;
        if (dt > 1.0)
            fail_msg("variant %d took %.2f s", v, dt);
        assert_int_equal(out.rank, 4);
        assert_int_equal(out.dims[2], 5);
        assert_int_equal(out.dims[3], 5);
        for (int oh = 0; oh < 5; oh++) {
            int h0 = oh - 1 < 0 ? 0 : oh - 1, h1 = oh + 1 > 4 ? 4 : oh + 1;
            double sum = 0, best = -1;
            int cnt = 0;
            for (int h = h0; h <= h1; h++)
                for (int w = 0; w < 5; w++) {
                    if (v == 2 && w % 2) /* dilation 2: even columns for even ow, odd for odd */
                        continue;
                    sum += x[h * 5 + w];
                    best = x[h * 5 + w] > best ? x[h * 5 + w] : best;
                    cnt++;
                }
            for (int ow = 0; ow < 5; ow++) {
                double want = is_max ? best : cip ? sum / (3.0 * 35651583.0) : sum / cnt;
                if (v == 2 && ow % 2) {
                    double so = 0;
                    int co = 0;
                    for (int h = h0; h <= h1; h++)
                        for (int w = 1; w < 5; w += 2)
                            so += x[h * 5 + w], co++;
                    want = so / co;
                }
                assert_float_equal(y[oh * 5 + ow], want, 1e-5 * (fabs(want) + 1e-3));
            }
        }
        norma_session_free(s);
    }
}

/* The global average's 32 running sums: plane sizes below, at and around 32 and large
 * ones, against a sum in double; one and two threads. */
static void global_avgpool_sums_match_double(void **st)
{
    (void)st;
    tu_seed(43);
    static const size_t ns[] = {1, 31, 32, 33, 100, 3136, 12544};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        size_t n = ns[k], NC = 5;
        float *x = malloc(NC * n * sizeof(float)), y[5], want[5];
        tu_fill(x, NC * n, -1, 3);
        for (size_t p = 0; p < NC; p++) {
            double sum = 0;
            for (size_t i = 0; i < n; i++)
                sum += x[p * n + i];
            want[p] = (float)(sum / (double)n);
        }
        for (int threads = 1; threads <= 2; threads++) {
            k_f32_global_avgpool(NC, n, x, y, threads);
            double e = tu_max_rel_err(y, want, NC, 1e-6, 1e-5);
            if (e > 1)
                fail_msg("n %zu threads %d: rel err %g", n, threads, e);
        }
        free(x);
    }
}

static void global_pools_reduce_all_spatial_dimensions(void **st)
{
    (void)st;
    tu_seed(21);
    float x[2 * 3 * 4 * 5 * 2];
    tu_fill(x, sizeof x / sizeof x[0], -1, 1);
    int64_t xd[5] = {2, 3, 4, 5, 2};
    ir_tensor tx = oh_tensor(5, xd, x);
    for (int is_max = 0; is_max < 2; is_max++) {
        oh_node t;
        oh_init(&t, is_max ? "GlobalMaxPool" : "GlobalAveragePool", 1);
        ir_tensor *out[1] = {NULL};
        assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_OK);
        assert_int_equal(out[0]->rank, 5);
        assert_int_equal(out[0]->dims[1], 3);
        assert_int_equal(out[0]->dims[4], 1);
        const float *y = out[0]->data;
        for (int p = 0; p < 6; p++) {
            float best = -INFINITY;
            double sum = 0;
            for (int i = 0; i < 40; i++) {
                best = x[p * 40 + i] > best ? x[p * 40 + i] : best;
                sum += x[p * 40 + i];
            }
            assert_float_equal(y[p], is_max ? best : (float)(sum / 40), 1e-6);
        }
        ir_tensor_free(out[0]);
    }
}

static void maxpool_uint8_from_opset_12(void **st)
{
    (void)st;
    uint8_t x[6] = {3, 200, 7, 9, 255, 1};
    int64_t xd[3] = {1, 2, 3};
    ir_tensor tx = oh_tensor(3, xd, NULL);
    tx.dtype = NORMA_UINT8;
    tx.data = x;
    oh_node t;
    oh_init(&t, "MaxPool", 12);
    oh_ints(&t, "kernel_shape", 1, (int64_t[]){2});
    ir_tensor *out[1] = {NULL};
    assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_OK);
    const uint8_t *y = out[0]->data;
    assert_int_equal(out[0]->dtype, NORMA_UINT8);
    assert_int_equal(y[0], 200);
    assert_int_equal(y[1], 200);
    assert_int_equal(y[2], 255);
    assert_int_equal(y[3], 255);
    ir_tensor_free(out[0]);
    oh_init(&t, "MaxPool", 11);
    oh_ints(&t, "kernel_shape", 1, (int64_t[]){2});
    assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(t.err, "dtype uint8"));
}

static void pool_rejects_bad_attributes_and_ranks(void **st)
{
    (void)st;
    float x[64] = {0};
    int64_t xd[4] = {1, 1, 4, 4}, x2[2] = {4, 4};
    ir_tensor tx = oh_tensor(4, xd, x), t2 = oh_tensor(2, x2, x);
    oh_node t;
    ir_tensor *out[1] = {NULL};
    oh_init(&t, "MaxPool", 12);
    assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "MaxPool 'n0': attribute kernel_shape is required"));
    oh_init(&t, "AveragePool", 11);
    oh_ints(&t, "kernel_shape", 2, (int64_t[]){2, 2});
    oh_ints(&t, "pads", 3, (int64_t[]){0, 0, 0});
    assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "pads has 3 values"));
    oh_init(&t, "AveragePool", 11);
    oh_ints(&t, "kernel_shape", 2, (int64_t[]){2, 2});
    assert_int_equal(run_pool(&t, &t2, out, 1), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(t.err, "rank 2"));
    oh_init(&t, "MaxPool", 12);
    oh_ints(&t, "kernel_shape", 2, (int64_t[]){5, 2});
    assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "smaller than the kernel extent"));
    oh_init(&t, "MaxPool", 12);
    oh_ints(&t, "kernel_shape", 2, (int64_t[]){2, 2});
    oh_int(&t, "storage_order", 2);
    assert_int_equal(run_pool(&t, &tx, out, 1), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "storage_order 2"));
    oh_init(&t, "GlobalAveragePool", 1);
    assert_int_equal(run_pool(&t, &t2, out, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "at least 3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(maxpool_2x2_stride2_values_and_indices),
        cmocka_unit_test(averagepool_count_include_pad_changes_border_divisor),
        cmocka_unit_test(pool_ceil_mode_adds_a_window_only_when_it_starts_inside),
        cmocka_unit_test(pool_2d_random_shapes_match_brute_force),
        cmocka_unit_test(pool_rows_matches_references_3d),
        cmocka_unit_test(maxpool_rows_simd_and_portable_agree),
        cmocka_unit_test(pool_huge_sparse_windows_match_brute_force),
        cmocka_unit_test(huge_kernel_pool_model_runs_quickly),
        cmocka_unit_test(global_avgpool_sums_match_double),
        cmocka_unit_test(global_pools_reduce_all_spatial_dimensions),
        cmocka_unit_test(maxpool_uint8_from_opset_12),
        cmocka_unit_test(pool_rejects_bad_attributes_and_ranks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
