/*
 * Quantization ops: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
 * MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv, against scalar references
 * written here on seeded random data, and their error paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/quant.h"
#include "optest.h"
#include "testutil.h"

static ir_tensor *mk(int dtype, int rank, const int64_t *dims, const void *data)
{
    ir_tensor *t = ir_tensor_new(dtype, rank, dims);
    assert_non_null(t);
    if (data)
        memcpy(t->data, data, ir_tensor_nbytes(t));
    return t;
}

static ir_tensor *mk_scalar(int dtype, const void *data)
{
    return mk(dtype, 0, NULL, data);
}

/* Random 8-bit values (uint8 or int8) of n elements. */
static void fill_q8(void *p, int dtype, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float u = tu_uniform(0, 256);
        int v = (int)u > 255 ? 255 : (int)u;
        if (dtype == NORMA_INT8)
            ((int8_t *)p)[i] = (int8_t)(v - 128);
        else
            ((uint8_t *)p)[i] = (uint8_t)v;
    }
}

static int32_t q8(const ir_tensor *t, size_t i)
{
    return t->dtype == NORMA_INT8 ? ((const int8_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
}

static void free_all(ir_tensor **t, int n)
{
    for (int i = 0; i < n; i++)
        ir_tensor_free(t[i]);
}

/* saturate(round_half_even(v) + zp) in double, the reference for the rounding. */
static int32_t ref_quant(double v, int32_t zp, int is_signed)
{
    double r = nearbyint(v) + zp;
    double lo = is_signed ? -128 : 0, hi = is_signed ? 127 : 255;
    return (int32_t)(r < lo ? lo : r > hi ? hi : r);
}

/* ---------------- QuantizeLinear / DequantizeLinear ---------------- */

static void quantize_rounds_half_to_even_and_saturates(void **state)
{
    (void)state;
    float x[8] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.0f, -300.0f, NAN};
    float s = 1.0f;
    int8_t z = 0;
    int64_t d = 8;
    ir_tensor *in[3] = {mk(NORMA_FLOAT, 1, &d, x), mk_scalar(NORMA_FLOAT, &s), mk_scalar(NORMA_INT8, &z)}, *out[1] = {0};
    ot_node t;
    ot_init(&t, "QuantizeLinear", 13, 0, 0);
    assert_int_equal(ot_run(&t, 3, in, 1, out, 0, 1), NORMA_OK);
    assert_int_equal(out[0]->dtype, NORMA_INT8);
    const int8_t want[8] = {0, 2, 2, 0, -2, 127, -128, 0};
    assert_memory_equal(out[0]->data, want, sizeof want);
    ir_tensor_free(out[0]);
    /* without a zero point: uint8, negative values saturate to 0 */
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_OK);
    assert_int_equal(out[0]->dtype, NORMA_UINT8);
    const uint8_t want_u[8] = {0, 2, 2, 0, 0, 255, 0, 0};
    assert_memory_equal(out[0]->data, want_u, sizeof want_u);
    ir_tensor_free(out[0]);
    free_all(in, 3);
}

static void quantize_per_axis_matches_reference(void **state)
{
    (void)state;
    tu_seed(11);
    for (int dt = 0; dt < 2; dt++) {
        int zdt = dt ? NORMA_INT8 : NORMA_UINT8;
        int64_t xd[3] = {2, 5, 3}, cd = 5;
        float x[30], s[5];
        uint8_t z[5];
        tu_fill(x, 30, -4, 4);
        for (int i = 0; i < 5; i++)
            s[i] = tu_uniform(0.01f, 0.1f);
        fill_q8(z, zdt, 5);
        ir_tensor *in[3] = {mk(NORMA_FLOAT, 3, xd, x), mk(NORMA_FLOAT, 1, &cd, s), mk(zdt, 1, &cd, z)}, *out[1] = {0};
        ot_node t;
        ot_init(&t, "QuantizeLinear", 13, 0, 0);
        ot_int(&t, "axis", -2);
        assert_int_equal(ot_run(&t, 3, in, 1, out, 0, 1), NORMA_OK);
        for (size_t i = 0; i < 30; i++) {
            size_t c = i / 3 % 5;
            assert_int_equal(q8(out[0], i), ref_quant((double)(x[i] / s[c]), q8(in[2], c), dt));
        }
        ir_tensor_free(out[0]);
        /* and back: DequantizeLinear per axis */
        ir_tensor *din[3] = {mk(zdt, 3, xd, NULL), in[1], in[2]};
        fill_q8(din[0]->data, zdt, 30);
        ot_init(&t, "DequantizeLinear", 13, 0, 0);
        ot_int(&t, "axis", 1);
        assert_int_equal(ot_run(&t, 3, din, 1, out, 0, 1), NORMA_OK);
        const float *y = out[0]->data;
        for (size_t i = 0; i < 30; i++) {
            size_t c = i / 3 % 5;
            assert_float_equal(y[i], (float)(q8(din[0], i) - q8(in[2], c)) * s[c], 0);
        }
        ir_tensor_free(out[0]);
        ir_tensor_free(din[0]);
        free_all(in, 3);
    }
}

static void dequantize_int32_scalar(void **state)
{
    (void)state;
    int32_t x[3] = {-7, 0, 1000000};
    float s = 0.5f;
    int64_t d = 3;
    ir_tensor *in[2] = {mk(NORMA_INT32, 1, &d, x), mk_scalar(NORMA_FLOAT, &s)}, *out[1] = {0};
    ot_node t;
    ot_init(&t, "DequantizeLinear", 10, 0, 0);
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_OK);
    const float want[3] = {-3.5f, 0, 500000};
    assert_memory_equal(out[0]->data, want, sizeof want);
    ir_tensor_free(out[0]);
    free_all(in, 2);
}

static void dequantize_zero_point_dtype_mismatch_fails(void **state)
{
    (void)state;
    uint8_t x[2] = {1, 2};
    int8_t z = 0;
    float s = 1;
    int64_t d = 2;
    ir_tensor *in[3] = {mk(NORMA_UINT8, 1, &d, x), mk_scalar(NORMA_FLOAT, &s), mk_scalar(NORMA_INT8, &z)}, *out[1] = {0};
    ot_node t;
    ot_init(&t, "DequantizeLinear", 13, 0, 0);
    assert_int_equal(ot_run(&t, 3, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "DequantizeLinear 'n0': zero point has dtype int8 but the input has dtype uint8"));
    free_all(in, 3);
}

static void quantize_per_axis_needs_opset13(void **state)
{
    (void)state;
    float x[4] = {0}, s[2] = {1, 1};
    int64_t xd[2] = {2, 2}, sd = 2;
    ir_tensor *in[2] = {mk(NORMA_FLOAT, 2, xd, x), mk(NORMA_FLOAT, 1, &sd, s)}, *out[1] = {0};
    ot_node t;
    ot_init(&t, "QuantizeLinear", 10, 0, 0);
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "QuantizeLinear 'n0': scale must be a scalar before opset 13"));
    /* opset 13 with a scale that does not match the axis */
    ot_init(&t, "QuantizeLinear", 13, 0, 0);
    ot_int(&t, "axis", 0);
    in[1]->dims[0] = 1; /* one entry is per tensor: fine */
    assert_int_equal(ot_run(&t, 2, in, 1, out, 0, 1), NORMA_OK);
    ir_tensor_free(out[0]);
    free_all(in, 2);
}

static void dynamic_quantize_matches_formula(void **state)
{
    (void)state;
    tu_seed(5);
    float x[37];
    tu_fill(x, 37, -1.5f, 3.0f);
    int64_t d = 37;
    ir_tensor *in[1] = {mk(NORMA_FLOAT, 1, &d, x)}, *out[3] = {0};
    ot_node t;
    ot_init(&t, "DynamicQuantizeLinear", 11, 0, 0);
    assert_int_equal(ot_run(&t, 1, in, 3, out, 0, 1), NORMA_OK);
    float mn = 0, mx = 0;
    for (int i = 0; i < 37; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    float scale = (mx - mn) / 255.0f;
    int32_t zp = ref_quant((double)(-mn / scale), 0, 0);
    assert_float_equal(*(float *)out[1]->data, scale, 0);
    assert_int_equal(*(uint8_t *)out[2]->data, zp);
    for (int i = 0; i < 37; i++)
        assert_int_equal(((uint8_t *)out[0]->data)[i], ref_quant((double)(x[i] / scale), zp, 0));
    free_all(out, 3);
    /* all zeros: scale 0, everything 0 (no division by zero) */
    memset(in[0]->data, 0, sizeof x);
    assert_int_equal(ot_run(&t, 1, in, 3, out, 0, 1), NORMA_OK);
    assert_float_equal(*(float *)out[1]->data, 0, 0);
    assert_int_equal(*(uint8_t *)out[2]->data, 0);
    free_all(out, 3);
    free_all(in, 1);
}

/* ---------------- integer GEMM ---------------- */

static void s16_gemm_parallel_matches_reference(void **state)
{
    (void)state;
    tu_seed(3);
    size_t M = 37, N = 531, K = 19;
    int16_t *a = malloc(M * K * 2), *b = malloc(K * N * 2);
    int32_t *y1 = malloc(M * N * 4), *y2 = malloc(M * N * 4);
    for (size_t i = 0; i < M * K; i++)
        a[i] = (int16_t)tu_uniform(-255, 255);
    for (size_t i = 0; i < K * N; i++)
        b[i] = (int16_t)tu_uniform(-255, 255);
    k_s16_gemm_s32_ref(M, N, K, a, K, b, N, y1, N);
    k_s16_gemm_s32(M, N, K, a, K, b, N, y2, N, 2);
    assert_memory_equal(y1, y2, M * N * 4);
    free(a);
    free(b);
    free(y1);
    free(y2);
}

/* y = (A - azp) (B - bzp) for one batch, matrices row-major. */
static int32_t ref_dot(const ir_tensor *a, size_t ao, const ir_tensor *b, size_t bo, size_t m, size_t n, size_t K,
                       size_t N, int32_t azp, int32_t bzp)
{
    int32_t acc = 0;
    for (size_t k = 0; k < K; k++)
        acc += (q8(a, ao + m * K + k) - azp) * (q8(b, bo + k * N + n) - bzp);
    return acc;
}

static void matmulinteger_batch_broadcast_row_col_zero_points(void **state)
{
    (void)state;
    tu_seed(7);
    /* A (3,1,5,7) uint8, B (2,7,9) int8 -> (3,2,5,9) */
    int64_t ad[4] = {3, 1, 5, 7}, bd[3] = {2, 7, 9}, azd = 5, bzd = 9;
    ir_tensor *in[4] = {mk(NORMA_UINT8, 4, ad, NULL), mk(NORMA_INT8, 3, bd, NULL), mk(NORMA_UINT8, 1, &azd, NULL),
                        mk(NORMA_INT8, 1, &bzd, NULL)},
              *out[1] = {0};
    fill_q8(in[0]->data, NORMA_UINT8, 105);
    fill_q8(in[1]->data, NORMA_INT8, 126);
    fill_q8(in[2]->data, NORMA_UINT8, 5);
    fill_q8(in[3]->data, NORMA_INT8, 9);
    ot_node t;
    ot_init(&t, "MatMulInteger", 10, 0, 0);
    for (int threads = 1; threads <= 2; threads++) {
        assert_int_equal(ot_run(&t, 4, in, 1, out, 0, threads), NORMA_OK);
        assert_int_equal(out[0]->dtype, NORMA_INT32);
        assert_int_equal(out[0]->rank, 4);
        assert_int_equal(out[0]->dims[1], 2);
        const int32_t *y = out[0]->data;
        for (size_t i = 0; i < 3; i++)
            for (size_t j = 0; j < 2; j++)
                for (size_t m = 0; m < 5; m++)
                    for (size_t n = 0; n < 9; n++)
                        assert_int_equal(y[((i * 2 + j) * 5 + m) * 9 + n],
                                         ref_dot(in[0], i * 35, in[1], j * 63, m, n, 7, 9, q8(in[2], m), q8(in[3], n)));
        ir_tensor_free(out[0]);
    }
    /* 1-D A (K) times 2-D B without zero points -> (N) */
    int64_t vd = 7;
    ir_tensor *v = mk(NORMA_UINT8, 1, &vd, in[0]->data), *b2 = mk(NORMA_INT8, 2, bd + 1, in[1]->data);
    ir_tensor *in2[2] = {v, b2};
    assert_int_equal(ot_run(&t, 2, in2, 1, out, 0, 1), NORMA_OK);
    assert_int_equal(out[0]->rank, 1);
    assert_int_equal(out[0]->dims[0], 9);
    for (size_t n = 0; n < 9; n++)
        assert_int_equal(((int32_t *)out[0]->data)[n], ref_dot(v, 0, b2, 0, 0, n, 7, 9, 0, 0));
    ir_tensor_free(out[0]);
    free_all(in2, 2);
    free_all(in, 4);
}

static void matmulinteger_zero_point_dtype_mismatch_fails(void **state)
{
    (void)state;
    int64_t d[2] = {2, 2};
    int8_t z = 1;
    ir_tensor *in[3] = {mk(NORMA_UINT8, 2, d, NULL), mk(NORMA_UINT8, 2, d, NULL), mk_scalar(NORMA_INT8, &z)}, *out[1] = {0};
    ot_node t;
    ot_init(&t, "MatMulInteger", 10, 0, 0);
    assert_int_equal(ot_run(&t, 3, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "MatMulInteger 'n0': a_zero_point has dtype int8 but uint8 is expected"));
    free_all(in, 3);
}

static void qlinearmatmul_matches_reference(void **state)
{
    (void)state;
    tu_seed(9);
    for (int ydt = NORMA_UINT8; ydt <= NORMA_INT8; ydt++) {
        int64_t ad[3] = {2, 4, 13}, bd[2] = {13, 6};
        float as = 0.02f, bs = 0.013f, ys = 0.11f;
        uint8_t az, yz;
        int8_t bz;
        fill_q8(&az, NORMA_UINT8, 1);
        fill_q8(&bz, NORMA_INT8, 1);
        fill_q8(&yz, ydt, 1);
        ir_tensor *in[8] = {mk(NORMA_UINT8, 3, ad, NULL), mk_scalar(NORMA_FLOAT, &as), mk_scalar(NORMA_UINT8, &az),
                            mk(NORMA_INT8, 2, bd, NULL),  mk_scalar(NORMA_FLOAT, &bs), mk_scalar(NORMA_INT8, &bz),
                            mk_scalar(NORMA_FLOAT, &ys),  mk_scalar(ydt, &yz)},
                  *out[1] = {0};
        fill_q8(in[0]->data, NORMA_UINT8, 104);
        fill_q8(in[3]->data, NORMA_INT8, 78);
        ot_node t;
        ot_init(&t, "QLinearMatMul", 10, 0, 0);
        assert_int_equal(ot_run(&t, 8, in, 1, out, 0x7f, 1), NORMA_OK);
        assert_int_equal(out[0]->dtype, ydt);
        double mult = (double)as * bs / ys;
        for (size_t i = 0; i < 2; i++)
            for (size_t m = 0; m < 4; m++)
                for (size_t n = 0; n < 6; n++) {
                    int32_t acc = ref_dot(in[0], i * 52, in[3], 0, m, n, 13, 6, az, bz);
                    assert_int_equal(q8(out[0], (i * 4 + m) * 6 + n),
                                     ref_quant(acc * mult, q8(in[7], 0), ydt == NORMA_INT8));
                }
        ir_tensor_free(out[0]);
        free_all(in, 8);
    }
}

/* ---------------- convolutions ---------------- */

static k_conv_shape conv_shape(int64_t N, int64_t C, int64_t H, int64_t W, int64_t M, int64_t k, int64_t stride,
                               int64_t pad, int64_t dil, int64_t group)
{
    k_conv_shape s;
    memset(&s, 0, sizeof s);
    s.N = N, s.C = C, s.M = M, s.group = group;
    s.in[0] = 1, s.in[1] = H, s.in[2] = W;
    s.k[0] = 1, s.k[1] = s.k[2] = k;
    s.stride[0] = 1, s.stride[1] = s.stride[2] = stride;
    s.dil[0] = 1, s.dil[1] = s.dil[2] = dil;
    s.pad[1] = s.pad[2] = pad;
    s.out[0] = 1;
    s.out[1] = (H + 2 * pad - (dil * (k - 1) + 1)) / stride + 1;
    s.out[2] = (W + 2 * pad - (dil * (k - 1) + 1)) / stride + 1;
    return s;
}

static void set_conv_attrs(ot_node *t, int64_t k, int64_t stride, int64_t pad, int64_t dil, int64_t group)
{
    int64_t ks[2] = {k, k}, st[2] = {stride, stride}, pd[4] = {pad, pad, pad, pad}, dl[2] = {dil, dil};
    ot_ints(t, "kernel_shape", ks, 2);
    ot_ints(t, "strides", st, 2);
    ot_ints(t, "pads", pd, 4);
    ot_ints(t, "dilations", dl, 2);
    ot_int(t, "group", group);
}

static void convinteger_group_stride_pad_matches_direct_reference(void **state)
{
    (void)state;
    tu_seed(13);
    /* x (2,4,7,6) int8, w (6,2,3,3) uint8, group 2, stride 2, pad 1, dilation 1 and 2 */
    for (int64_t dil = 1; dil <= 2; dil++) {
        k_conv_shape s = conv_shape(2, 4, 7, 6, 6, 3, 2, 1, dil, 2);
        int64_t xd[4] = {2, 4, 7, 6}, wd[4] = {6, 2, 3, 3}, zd = 6;
        int8_t xz = -3;
        ir_tensor *in[4] = {mk(NORMA_INT8, 4, xd, NULL), mk(NORMA_UINT8, 4, wd, NULL), mk_scalar(NORMA_INT8, &xz),
                            mk(NORMA_UINT8, 1, &zd, NULL)},
                  *out[1] = {0};
        fill_q8(in[0]->data, NORMA_INT8, 336);
        fill_q8(in[1]->data, NORMA_UINT8, 108);
        fill_q8(in[3]->data, NORMA_UINT8, 6);
        int32_t wz[6];
        for (int i = 0; i < 6; i++)
            wz[i] = q8(in[3], (size_t)i);
        size_t ny = (size_t)(2 * 6 * s.out[1] * s.out[2]);
        int32_t *want = malloc(ny * 4);
        k_q8_conv_ref(&s, in[0]->data, 1, xz, in[1]->data, 0, wz, 1, want);
        ot_node t;
        ot_init(&t, "ConvInteger", 10, 0, 0);
        set_conv_attrs(&t, 3, 2, 1, dil, 2);
        assert_int_equal(ot_run(&t, 4, in, 1, out, 0x2, 2), NORMA_OK);
        assert_int_equal(out[0]->dtype, NORMA_INT32);
        assert_int_equal(out[0]->dims[2], s.out[1]);
        assert_int_equal(out[0]->dims[3], s.out[2]);
        assert_memory_equal(out[0]->data, want, ny * 4);
        ir_tensor_free(out[0]);
        free(want);
        free_all(in, 4);
    }
}

static void qlinearconv_per_channel_scales_and_bias_match_reference(void **state)
{
    (void)state;
    tu_seed(17);
    k_conv_shape s = conv_shape(1, 3, 5, 9, 5, 2, 1, 0, 1, 1);
    int64_t xd[4] = {1, 3, 5, 9}, wd[4] = {5, 3, 2, 2}, md = 5;
    float xs = 0.05f, ys = 0.3f, ws[5];
    int32_t bias[5] = {-100, 0, 55, 1000, -7};
    for (int i = 0; i < 5; i++)
        ws[i] = tu_uniform(0.005f, 0.05f);
    uint8_t xz = 120, yz = 3;
    int8_t wz[5] = {0, 0, 0, 0, 0}; /* per-channel int8 weights are symmetric */
    ir_tensor *in[9] = {mk(NORMA_UINT8, 4, xd, NULL), mk_scalar(NORMA_FLOAT, &xs), mk_scalar(NORMA_UINT8, &xz),
                        mk(NORMA_INT8, 4, wd, NULL),  mk(NORMA_FLOAT, 1, &md, ws), mk(NORMA_INT8, 1, &md, wz),
                        mk_scalar(NORMA_FLOAT, &ys),  mk_scalar(NORMA_UINT8, &yz), mk(NORMA_INT32, 1, &md, bias)},
              *out[1] = {0};
    fill_q8(in[0]->data, NORMA_UINT8, 135);
    fill_q8(in[3]->data, NORMA_INT8, 60);
    ot_node t;
    ot_init(&t, "QLinearConv", 10, 0, 0);
    assert_int_equal(ot_run(&t, 9, in, 1, out, 0x1fe, 1), NORMA_OK);
    assert_int_equal(out[0]->dtype, NORMA_UINT8);
    size_t ohw = (size_t)(s.out[1] * s.out[2]);
    int32_t *acc = malloc(5 * ohw * 4);
    k_q8_conv_ref(&s, in[0]->data, 0, xz, in[3]->data, 1, NULL, 0, acc);
    for (size_t m = 0; m < 5; m++)
        for (size_t j = 0; j < ohw; j++) {
            double v = (double)(acc[m * ohw + j] + bias[m]) * ((double)xs * ws[m] / ys);
            assert_int_equal(((uint8_t *)out[0]->data)[m * ohw + j], ref_quant(v, yz, 0));
        }
    ir_tensor_free(out[0]);
    free(acc);
    /* a w_zero_point of the wrong dtype is reported */
    ir_tensor_free(in[5]);
    uint8_t wzu[5] = {0};
    in[5] = mk(NORMA_UINT8, 1, &md, wzu);
    assert_int_equal(ot_run(&t, 9, in, 1, out, 0, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "QLinearConv 'n0': w_zero_point has dtype uint8 but int8 is expected"));
    free_all(in, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantize_rounds_half_to_even_and_saturates),
        cmocka_unit_test(quantize_per_axis_matches_reference),
        cmocka_unit_test(dequantize_int32_scalar),
        cmocka_unit_test(dequantize_zero_point_dtype_mismatch_fails),
        cmocka_unit_test(quantize_per_axis_needs_opset13),
        cmocka_unit_test(dynamic_quantize_matches_formula),
        cmocka_unit_test(s16_gemm_parallel_matches_reference),
        cmocka_unit_test(matmulinteger_batch_broadcast_row_col_zero_points),
        cmocka_unit_test(matmulinteger_zero_point_dtype_mismatch_fails),
        cmocka_unit_test(qlinearmatmul_matches_reference),
        cmocka_unit_test(convinteger_group_stride_pad_matches_direct_reference),
        cmocka_unit_test(qlinearconv_per_channel_scales_and_bias_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
