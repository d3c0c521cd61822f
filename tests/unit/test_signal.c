/* Signal ops: window formulas (periodic and symmetric, float and double), the radix-2
 * FFT against the direct DFT, DFT and STFT against naive complex sums (real and complex
 * inputs, odd lengths, padding, truncation, onesided, inverse), OP_NEEDS_DATA, errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>

#include "kernels/dft.h"
#include "optest.h"
#include "testutil.h"

static const double PI = 3.14159265358979323846;

/* init + infer only, as the planner does when inputs' data may be unknown. */
static int infer_only(ot_node *t, ir_tensor **ins, ir_tensor *out)
{
    int any = 0;
    const op_schema *s = op_lookup("", t->n.op_type, t->n.opset, &any);
    assert_non_null(s);
    ir_tensor *outp[1] = {out};
    op_ctx c = {.node = &t->n, .opset = t->n.opset, .n_in = t->n.n_in, .n_out = 1, .in = ins, .out = outp,
                .threads = 1, .err = t->err, .err_cap = sizeof t->err};
    int rc = s->init ? s->init(&c) : NORMA_OK;
    if (!rc)
        rc = s->infer(&c);
    free(c.state);
    return rc;
}

static void windows_match_formulas(void **state)
{
    (void)state;
    const char *ops[3] = {"HannWindow", "HammingWindow", "BlackmanWindow"};
    for (int o = 0; o < 3; o++)
        for (int periodic = 0; periodic < 2; periodic++)
            for (int dt = NORMA_FLOAT; dt <= NORMA_DOUBLE; dt += NORMA_DOUBLE - NORMA_FLOAT) {
                int32_t n = 11;
                ir_tensor *sz = ot_tensor(NORMA_INT32, 0, NULL, &n), *y = NULL;
                ot_node t;
                ot_init(&t, ops[o], 17, 1, 1);
                ot_int(&t, "periodic", periodic);
                ot_int(&t, "output_datatype", dt);
                assert_int_equal(ot_eval(&t, &sz, &y), NORMA_OK);
                assert_int_equal(y->dtype, dt);
                assert_int_equal(y->dims[0], n);
                double N = periodic ? n : n - 1;
                for (int i = 0; i < n; i++) {
                    double a = 2 * PI * i / N, want;
                    want = o == 0 ? 0.5 - 0.5 * cos(a) : o == 1 ? 0.54347826 - 0.45652174 * cos(a)
                                                              : 0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a);
                    double got = dt == NORMA_DOUBLE ? ((double *)y->data)[i] : ((float *)y->data)[i];
                    assert_true(fabs(got - want) < 1e-6);
                }
                ir_tensor_free(y);
                ir_tensor_free(sz);
            }
}

static void window_size_unknown_needs_data_and_negative_fails(void **state)
{
    (void)state;
    ir_tensor sz = {.dtype = NORMA_INT64, .rank = 0}, out = {0}, *ins[1] = {&sz};
    ot_node t;
    ot_init(&t, "HannWindow", 17, 1, 1);
    assert_int_equal(infer_only(&t, ins, &out), OP_NEEDS_DATA);
    int64_t neg = -3;
    sz.data = &neg;
    assert_int_equal(infer_only(&t, ins, &out), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "HannWindow 'n0': size -3 is negative"));
    ot_init(&t, "HannWindow", 17, 1, 1);
    ot_int(&t, "output_datatype", NORMA_INT8);
    assert_int_equal(infer_only(&t, ins, &out), NORMA_ERR_UNSUPPORTED);
}

static void fft_matches_direct_dft(void **state)
{
    (void)state;
    tu_seed(5);
    size_t sizes[] = {1, 2, 4, 8, 64, 256};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t N = sizes[s];
        double *w = malloc(2 * N * sizeof(double)), *x = malloc(2 * N * sizeof(double));
        double *ref = malloc(2 * N * sizeof(double));
        k_dft_twiddles(N, w);
        for (int inv = 0; inv < 2; inv++) {
            for (size_t i = 0; i < 2 * N; i++)
                x[i] = tu_uniform(-1, 1);
            k_dft_ref(N, w, inv, x, ref);
            k_dft_fft(N, w, inv, x);
            for (size_t i = 0; i < 2 * N; i++)
                assert_true(fabs(x[i] - ref[i]) <= 1e-9 * (1 + (double)N));
        }
        free(w);
        free(x);
        free(ref);
    }
}

static void planned_dft_matches_direct_for_all_lengths(void **state)
{
    (void)state;
    tu_seed(8);
    size_t sizes[] = {1, 3, 7, 12, 64, 65, 97, 128, 200, 400, 1000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t N = sizes[s];
        double *w = malloc(2 * N * sizeof(double)), *x = malloc(2 * N * sizeof(double));
        double *ref = malloc(2 * N * sizeof(double)), *plan = malloc(k_dft_plan_size(N) * sizeof(double));
        double *work = malloc(k_dft_work_size(N) * sizeof(double));
        k_dft_twiddles(N, w);
        k_dft_plan(N, plan);
        for (int inv = 0; inv < 2; inv++) {
            for (size_t i = 0; i < 2 * N; i++)
                x[i] = tu_uniform(-1, 1);
            k_dft_ref(N, w, inv, x, ref);
            k_dft(N, plan, inv, x, work);
            double scale = inv ? 1.0 / (double)N : 1.0;
            for (size_t i = 0; i < 2 * N; i++)
                assert_true(fabs(x[i] - ref[i]) <= 1e-10 * (double)N * scale + 1e-12);
        }
        free(w);
        free(x);
        free(ref);
        free(plan);
        free(work);
    }
}

/* Naive DFT of x (n complex) padded/truncated to N, bin k. */
static void naive_bin(const double *x, size_t n, size_t N, size_t k, int inv, double *re, double *im)
{
    double sr = 0, si = 0, sg = inv ? 1 : -1;
    for (size_t j = 0; j < n && j < N; j++) {
        double a = sg * 2 * PI * (double)(k * j % N) / (double)N;
        sr += x[2 * j] * cos(a) - x[2 * j + 1] * sin(a);
        si += x[2 * j] * sin(a) + x[2 * j + 1] * cos(a);
    }
    *re = inv ? sr / (double)N : sr;
    *im = inv ? si / (double)N : si;
}

/* x (2, L, 3, C) float, DFT along axis 1 -> checks every bin. */
static void check_dft(int64_t L, int64_t C, int64_t len, int onesided, int inverse)
{
    int64_t d[4] = {2, L, 3, C};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 4, d, NULL), *y = NULL;
    tu_fill(x->data, ir_tensor_numel(x), -1, 1);
    ir_tensor *lt = len ? ot_tensor(NORMA_INT64, 0, NULL, &len) : NULL, *ins[2] = {x, lt};
    ot_node t;
    ot_init(&t, "DFT", 17, len ? 2 : 1, 1);
    ot_int(&t, "axis", 1);
    ot_int(&t, "onesided", onesided);
    ot_int(&t, "inverse", inverse);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_OK);
    size_t N = (size_t)(len ? len : L), nout = onesided ? N / 2 + 1 : N;
    assert_int_equal(y->dims[1], (int64_t)nout);
    assert_int_equal(y->dims[3], 2);
    const float *xv = x->data, *yv = y->data;
    double *sig = malloc(2 * (size_t)L * sizeof(double));
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 3; i++) {
            for (int64_t j = 0; j < L; j++) {
                const float *p = xv + ((b * L + j) * 3 + i) * C;
                sig[2 * j] = p[0];
                sig[2 * j + 1] = C == 2 ? p[1] : 0;
            }
            for (size_t k = 0; k < nout; k++) {
                double re, im;
                naive_bin(sig, (size_t)L, N, k, inverse, &re, &im);
                const float *q = yv + ((b * (int64_t)nout + (int64_t)k) * 3 + i) * 2;
                assert_true(fabs(q[0] - re) <= 1e-5 + 1e-4 * fabs(re));
                assert_true(fabs(q[1] - im) <= 1e-5 + 1e-4 * fabs(im));
            }
        }
    free(sig);
    ir_tensor_free(y);
    ir_tensor_free(x);
    ir_tensor_free(lt);
}

static void dft_matches_naive_sum(void **state)
{
    (void)state;
    tu_seed(6);
    check_dft(10, 1, 0, 0, 0);  /* real, direct */
    check_dft(16, 2, 0, 0, 0);  /* complex, FFT */
    check_dft(7, 2, 0, 0, 1);   /* inverse, odd */
    check_dft(7, 1, 12, 0, 0);  /* zero padded */
    check_dft(9, 2, 4, 0, 1);   /* truncated, FFT inverse */
    check_dft(13, 1, 0, 1, 0);  /* onesided odd */
    check_dft(8, 1, 0, 1, 0);   /* onesided even */
    check_dft(1, 1, 0, 0, 0);
    check_dft(70, 2, 0, 0, 0);  /* Bluestein */
    check_dft(67, 1, 150, 1, 0); /* Bluestein, padded, onesided */
    check_dft(90, 2, 0, 0, 1);  /* Bluestein inverse */
}

static void dft_rejects_bad_axis_and_onesided_complex(void **state)
{
    (void)state;
    int64_t d[3] = {1, 4, 2};
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 3, d, NULL), *y = NULL;
    ot_node t;
    ot_init(&t, "DFT", 17, 1, 1);
    ot_int(&t, "axis", -1);
    assert_int_equal(ot_eval(&t, &x, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "DFT 'n0': axis -1 is out of range"));
    ot_init(&t, "DFT", 17, 1, 1);
    ot_int(&t, "onesided", 1);
    assert_int_equal(ot_eval(&t, &x, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "onesided needs a real input"));
    int64_t zero = 0;
    ir_tensor *lt = ot_tensor(NORMA_INT64, 0, NULL, &zero), *ins[2] = {x, lt};
    ot_init(&t, "DFT", 17, 2, 1);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "dft_length 0 must be positive"));
    ir_tensor unknown = {.dtype = NORMA_INT64, .rank = 0}, out = {0};
    ins[1] = &unknown;
    assert_int_equal(infer_only(&t, ins, &out), OP_NEEDS_DATA);
    assert_null(y);
    ir_tensor_free(lt);
    ir_tensor_free(x);
}

static void dft_opset20_reads_axis_input(void **state)
{
    (void)state;
    tu_seed(10);
    int64_t d[4] = {2, 5, 6, 1}, ax = 2;
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 4, d, NULL), *y17 = NULL, *y20 = NULL, *y20d = NULL;
    tu_fill(x->data, ir_tensor_numel(x), -1, 1);
    ir_tensor *at = ot_tensor(NORMA_INT64, 0, NULL, &ax), *ins[3] = {x, NULL, at};
    ot_node t;
    ot_init(&t, "DFT", 17, 1, 1);
    ot_int(&t, "axis", 2);
    assert_int_equal(ot_eval(&t, ins, &y17), NORMA_OK);
    ot_init(&t, "DFT", 20, 3, 1);
    assert_int_equal(ot_eval(&t, ins, &y20), NORMA_OK);
    ot_init(&t, "DFT", 20, 1, 1); /* default axis -2, the same dim here */
    assert_int_equal(ot_eval(&t, ins, &y20d), NORMA_OK);
    assert_int_equal(y20->dims[2], 6);
    assert_memory_equal(y17->data, y20->data, ir_tensor_nbytes(y17));
    assert_memory_equal(y17->data, y20d->data, ir_tensor_nbytes(y17));
    ir_tensor unknown = {.dtype = NORMA_INT64, .rank = 0}, out = {0};
    ins[2] = &unknown;
    ot_init(&t, "DFT", 20, 3, 1);
    assert_int_equal(infer_only(&t, ins, &out), OP_NEEDS_DATA);
    ir_tensor_free(y17);
    ir_tensor_free(y20);
    ir_tensor_free(y20d);
    ir_tensor_free(at);
    ir_tensor_free(x);
}

static void stft_matches_windowed_frames(void **state)
{
    (void)state;
    tu_seed(7);
    for (int onesided = 0; onesided < 2; onesided++) {
        int64_t L = 50, step = 7, W = 12;
        int64_t d[3] = {2, L, 1};
        ir_tensor *x = ot_tensor(NORMA_FLOAT, 3, d, NULL), *y = NULL;
        tu_fill(x->data, ir_tensor_numel(x), -1, 1);
        ir_tensor *st = ot_tensor(NORMA_INT64, 0, NULL, &step), *win = ot_tensor(NORMA_FLOAT, 1, &W, NULL);
        tu_fill(win->data, (size_t)W, 0, 1);
        ir_tensor *ins[3] = {x, st, win};
        ot_node t;
        ot_init(&t, "STFT", 17, 3, 1);
        ot_int(&t, "onesided", onesided);
        assert_int_equal(ot_eval(&t, ins, &y), NORMA_OK);
        int64_t frames = 1 + (L - W) / step, bins = onesided ? W / 2 + 1 : W;
        assert_int_equal(y->dims[1], frames);
        assert_int_equal(y->dims[2], bins);
        double sig[2 * 12];
        for (int b = 0; b < 2; b++)
            for (int64_t f = 0; f < frames; f++) {
                for (int64_t j = 0; j < W; j++) {
                    sig[2 * j] = ((float *)x->data)[b * L + f * step + j] * ((float *)win->data)[j];
                    sig[2 * j + 1] = 0;
                }
                for (int64_t k = 0; k < bins; k++) {
                    double re, im;
                    naive_bin(sig, (size_t)W, (size_t)W, (size_t)k, 0, &re, &im);
                    const float *q = (float *)y->data + ((b * frames + f) * bins + k) * 2;
                    assert_true(fabs(q[0] - re) <= 1e-5 + 1e-4 * fabs(re));
                    assert_true(fabs(q[1] - im) <= 1e-5 + 1e-4 * fabs(im));
                }
            }
        ir_tensor_free(y);
        ir_tensor_free(x);
        ir_tensor_free(st);
        ir_tensor_free(win);
    }
}

static void stft_rejects_mismatched_window_and_missing_length(void **state)
{
    (void)state;
    int64_t d[3] = {1, 20, 1}, W = 8, step = 2, flen = 6;
    ir_tensor *x = ot_tensor(NORMA_FLOAT, 3, d, NULL), *y = NULL;
    ir_tensor *st = ot_tensor(NORMA_INT64, 0, NULL, &step), *win = ot_tensor(NORMA_FLOAT, 1, &W, NULL);
    ir_tensor *fl = ot_tensor(NORMA_INT64, 0, NULL, &flen);
    ir_tensor *ins[4] = {x, st, win, fl};
    ot_node t;
    ot_init(&t, "STFT", 17, 4, 1);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_ERR_SHAPE);
    assert_non_null(strstr(t.err, "window length 8 differs from frame_length 6"));
    ins[2] = NULL;
    ins[3] = NULL;
    ot_init(&t, "STFT", 17, 2, 1);
    assert_int_equal(ot_eval(&t, ins, &y), NORMA_ERR_MODEL);
    assert_non_null(strstr(t.err, "needs a window or a frame_length"));
    assert_null(y);
    ir_tensor_free(x);
    ir_tensor_free(st);
    ir_tensor_free(win);
    ir_tensor_free(fl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(windows_match_formulas),
        cmocka_unit_test(window_size_unknown_needs_data_and_negative_fails),
        cmocka_unit_test(fft_matches_direct_dft),
        cmocka_unit_test(planned_dft_matches_direct_for_all_lengths),
        cmocka_unit_test(dft_matches_naive_sum),
        cmocka_unit_test(dft_rejects_bad_axis_and_onesided_complex),
        cmocka_unit_test(dft_opset20_reads_axis_input),
        cmocka_unit_test(stft_matches_windowed_frames),
        cmocka_unit_test(stft_rejects_mismatched_window_and_missing_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
