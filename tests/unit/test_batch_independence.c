/*
 * Batch independence of inference, through the public API only.
 *
 * At inference BatchNormalization normalizes with the running statistics stored in the
 * model, not with the statistics of the batch, so a sample's output must not depend on
 * which other samples share its batch. models/resnet_dynamic (a small torchvision ResNet
 * with random BN statistics and a symbolic batch axis, written by tools/export_models.py)
 * is run on a batch of 8 random samples and on each sample alone; every row must agree.
 * A runtime that normalized with batch statistics, or whose kernels mixed rows of the
 * batch (a wrong stride or a shared accumulator), fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "norma.h"
#include "testutil.h"

enum { BATCH = 8, C = 3, H = 64, W = 64, CLASSES = 10 };

/* Same run of the same data; only the grouping into batches differs, so agreement is
 * limited by summation order alone. */
#define ATOL 1e-5
#define RTOL 1e-4

static norma_session *open_model(int optimize)
{
    norma_options opt;
    norma_options_init(&opt);
    opt.optimize = optimize;
    norma_session *s = NULL;
    if (norma_session_create_from_file(tu_model_path("resnet_dynamic", "model.onnx"), &opt, &s) != NORMA_OK)
        fail_msg("loading resnet_dynamic: %s", norma_last_error());
    return s;
}

/* Runs x (n samples) and copies the (n, CLASSES) output to y. */
static void run_batch(norma_session *s, float *x, int64_t n, float *y)
{
    norma_tensor in = {.name = "input", .dtype = NORMA_FLOAT, .rank = 4, .dims = {n, C, H, W}, .data = x};
    norma_tensor out = {.name = "output", .data = y, .capacity = (size_t)n * CLASSES * sizeof(float)};
    if (norma_run(s, &in, 1, &out, 1) != NORMA_OK)
        fail_msg("run at batch %lld: %s", (long long)n, norma_last_error());
    assert_int_equal(out.dtype, NORMA_FLOAT);
    assert_int_equal(out.rank, 2);
    assert_int_equal(out.dims[0], n);
    assert_int_equal(out.dims[1], CLASSES);
}

static void check_batch_independence(int optimize)
{
    const size_t sample = (size_t)C * H * W;
    float *x = malloc(BATCH * sample * sizeof(float));
    float y_batch[BATCH * CLASSES], y_one[CLASSES];
    assert_non_null(x);
    tu_seed(20240611u + (uint64_t)optimize);
    tu_fill(x, BATCH * sample, -2.0f, 2.0f);

    norma_session *s = open_model(optimize);
    run_batch(s, x, BATCH, y_batch);
    for (int i = 0; i < BATCH; i++) {
        run_batch(s, x + (size_t)i * sample, 1, y_one);
        double e = tu_max_rel_err(y_one, y_batch + (size_t)i * CLASSES, CLASSES, ATOL, RTOL);
        if (e > 1.0)
            fail_msg("sample %d: batch-1 output differs from its row of the batch-8 output "
                     "(error %.3g x tolerance, optimize=%d)", i, e, optimize);
    }
    /* The outputs must differ between samples, or the comparison above proves nothing. */
    assert_true(tu_max_rel_err(y_batch, y_batch + CLASSES, CLASSES, ATOL, RTOL) > 1.0);
    norma_session_free(s);
    free(x);
}

static void resnet_dynamic_declares_symbolic_batch(void **state)
{
    (void)state;
    norma_session *s = open_model(1);
    norma_value_info vi;
    assert_int_equal(norma_input_count(s), 1);
    assert_int_equal(norma_input_info(s, 0, &vi), NORMA_OK);
    assert_string_equal(vi.name, "input");
    assert_int_equal(vi.rank, 4);
    assert_int_equal(vi.dims[0], -1);
    assert_non_null(vi.dim_names[0]);
    assert_string_equal(vi.dim_names[0], "batch");
    assert_int_equal(vi.dims[1], C);
    assert_int_equal(vi.dims[2], H);
    assert_int_equal(vi.dims[3], W);
    assert_int_equal(norma_output_info(s, 0, &vi), NORMA_OK);
    assert_int_equal(vi.dims[0], -1);
    assert_int_equal(vi.dims[1], CLASSES);
    norma_session_free(s);
}

static void batch8_rows_match_each_sample_alone_optimized(void **state)
{
    (void)state;
    check_batch_independence(1);
}

static void batch8_rows_match_each_sample_alone_unoptimized(void **state)
{
    (void)state;
    check_batch_independence(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resnet_dynamic_declares_symbolic_batch),
        cmocka_unit_test(batch8_rows_match_each_sample_alone_optimized),
        cmocka_unit_test(batch8_rows_match_each_sample_alone_unoptimized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
