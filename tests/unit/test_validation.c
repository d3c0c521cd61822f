/*
 * Validation of untrusted models and inputs (issue 6, "Validation"), through the public
 * API and the tensor reader: bad dims and short data, the session memory limit,
 * out-of-range values read from data by the ops, external data, bad run-time inputs
 * (each followed by a good run on the same session), and session creation that fails
 * halfway (leaks are caught by LeakSanitizer in the sanitizer build and valgrind).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader/loader.h"
#include "modelbuild.h"
#include "norma.h"
#include "onnx.pb-c.h"

static norma_status create_opt(mb_model *m, size_t memory_limit, norma_session **s)
{
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    norma_options opt;
    norma_options_init(&opt);
    opt.threads = 1;
    opt.memory_limit = memory_limit;
    norma_status st = norma_session_create_from_memory(bytes, len, &opt, s);
    free(bytes);
    mb_free(m);
    return st;
}

static norma_session *must_create(mb_model *m)
{
    norma_session *s = NULL;
    norma_status st = create_opt(m, 0, &s);
    if (st != NORMA_OK)
        print_error("create failed: %s\n", norma_last_error());
    assert_int_equal(st, NORMA_OK);
    return s;
}

static int has(const char *needle)
{
    if (strstr(norma_last_error(), needle))
        return 1;
    print_error("error '%s' does not contain '%s'\n", norma_last_error(), needle);
    return 0;
}

/* ---- dims and data of tensors ---- */

/* A serialized TensorProto with the given dims and raw_data of raw_len bytes. */
static uint8_t *pack_tensor(int dtype, int rank, const int64_t *dims, const void *raw, size_t raw_len,
                            const float *floats, size_t n_floats, size_t *len)
{
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    tp.name = "t";
    tp.has_data_type = 1;
    tp.data_type = dtype;
    tp.n_dims = (size_t)rank;
    tp.dims = (int64_t *)dims;
    if (raw) {
        tp.has_raw_data = 1;
        tp.raw_data.data = (uint8_t *)raw;
        tp.raw_data.len = raw_len;
    }
    if (floats) {
        tp.n_float_data = n_floats;
        tp.float_data = (float *)floats;
    }
    *len = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    onnx__tensor_proto__pack(&tp, buf);
    return buf;
}

static int read_tensor(int dtype, int rank, const int64_t *dims, const void *raw, size_t raw_len, const float *f,
                       size_t nf, char *err, size_t cap)
{
    size_t len;
    uint8_t *b = pack_tensor(dtype, rank, dims, raw, raw_len, f, nf, &len);
    ir_tensor *t = (ir_tensor *)1;
    err[0] = 0;
    int rc = ld_read_tensor_bytes(b, len, &t, NULL, err, cap);
    free(b);
    if (rc == 0)
        ir_tensor_free(t);
    else
        assert_null(t);
    return rc;
}

static void tensor_with_bad_dims_is_refused(void **state)
{
    (void)state;
    char err[512];
    float four[4] = {1, 2, 3, 4};
    assert_int_equal(read_tensor(NORMA_FLOAT, 1, (int64_t[]){4}, four, 16, NULL, 0, err, sizeof err), 0);
    assert_int_equal(read_tensor(NORMA_FLOAT, 2, (int64_t[]){-1, 4}, four, 16, NULL, 0, err, sizeof err),
                     NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "tensor 't': dimension 0 is negative (-1)"));
    /* 2^40 * 2^40 elements overflow size_t */
    assert_int_equal(read_tensor(NORMA_FLOAT, 2, (int64_t[]){1LL << 40, 1LL << 40}, four, 16, NULL, 0, err,
                                 sizeof err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "tensor 't': its size overflows"));
    /* elements fit in size_t but bytes do not */
    assert_int_equal(read_tensor(NORMA_DOUBLE, 1, (int64_t[]){INT64_MAX}, four, 16, NULL, 0, err, sizeof err),
                     NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "overflows"));
    /* absurd but representable: 2^50 floats with 16 bytes of data */
    assert_int_equal(read_tensor(NORMA_FLOAT, 2, (int64_t[]){1LL << 25, 1LL << 25}, four, 16, NULL, 0, err,
                                 sizeof err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "tensor 't': raw_data holds 16 bytes but its shape needs"));
    /* rank above the maximum */
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(read_tensor(NORMA_FLOAT, 9, nine, four, 4, NULL, 0, err, sizeof err), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "rank 9"));
}

static void tensor_data_shorter_than_shape_is_refused(void **state)
{
    (void)state;
    char err[512];
    float f[4] = {1, 2, 3, 4};
    assert_int_equal(read_tensor(NORMA_FLOAT, 1, (int64_t[]){4}, f, 12, NULL, 0, err, sizeof err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "raw_data holds 12 bytes but its shape needs 16"));
    assert_int_equal(read_tensor(NORMA_FLOAT, 1, (int64_t[]){4}, NULL, 0, f, 3, err, sizeof err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "tensor 't': holds 3 elements but its shape needs 4"));
    /* longer is refused too: the data must match the shape exactly */
    assert_int_equal(read_tensor(NORMA_FLOAT, 1, (int64_t[]){3}, f, 16, NULL, 0, err, sizeof err), NORMA_ERR_MODEL);
    /* no data at all for a non-empty shape */
    assert_int_equal(read_tensor(NORMA_FLOAT, 1, (int64_t[]){2}, NULL, 0, NULL, 0, err, sizeof err), NORMA_ERR_MODEL);
}

static void model_initializer_with_bad_dims_names_it(void **state)
{
    (void)state;
    norma_session *s = (norma_session *)1;
    mb_model *m = mb_new(13);
    mb_init_external(m, "huge_weight", NORMA_FLOAT, 3, (int64_t[]){1LL << 30, 1LL << 30, 1LL << 30}, "w.bin", 0, -1);
    mb_add_node(m, "Identity", "huge_weight", "y");
    mb_output(m, "y");
    assert_int_equal(create_opt(m, 0, &s), NORMA_ERR_MODEL);
    assert_true(has("tensor 'huge_weight': its size overflows"));
    assert_null(s);

    m = mb_new(13);
    mb_init_external(m, "neg_weight", NORMA_FLOAT, 2, (int64_t[]){3, -7}, "w.bin", 0, -1);
    mb_add_node(m, "Identity", "neg_weight", "y");
    mb_output(m, "y");
    assert_int_equal(create_opt(m, 0, &s), NORMA_ERR_MODEL);
    assert_true(has("tensor 'neg_weight': dimension 1 is negative (-7)"));
}

/* ---- the session memory limit ---- */

/* y = Expand(x, shape) with x of shape (n) symbolic, shape an initializer. */
static mb_model *expand_model(int64_t rows, int64_t cols, int symbolic)
{
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){symbolic ? -1 : cols});
    mb_init_i64(m, "shape", 1, (int64_t[]){2}, (int64_t[]){rows, cols});
    mb_add_node(m, "Expand", "x,shape", "big_output");
    mb_output(m, "big_output");
    return m;
}

static void allocation_above_memory_limit_names_the_tensor(void **state)
{
    (void)state;
    norma_session *s;
    /* static shapes: planned at creation, refused there */
    assert_int_equal(create_opt(expand_model(1024, 1024, 0), 1 << 20, &s), NORMA_ERR_MEMORY);
    assert_true(has("output 'big_output' of shape (1024,1024) float is larger than the memory limit (1048576 bytes)"));
    assert_null(s);
    /* the same model is fine with the default limit */
    assert_int_equal(create_opt(expand_model(1024, 1024, 0), 0, &s), NORMA_OK);
    norma_session_free(s);
    /* a symbolic input: refused at run time, then a smaller run works */
    assert_int_equal(create_opt(expand_model(1024, -1, 1), 1 << 20, &s), NORMA_OK);
    float x[1024] = {0}, y[1024];
    x[0] = 5;
    norma_tensor in = {.name = "x", .dtype = NORMA_FLOAT, .rank = 1, .dims = {1024}, .data = x};
    norma_tensor out = {0};
    /* the shape initializer says (1024, -1): broadcasting -1 is refused, not a huge tensor */
    assert_int_not_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
    norma_session_free(s);

    assert_int_equal(create_opt(expand_model(1024, 1, 1), 1 << 20, &s), NORMA_OK);
    assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_ERR_MEMORY);
    assert_true(has("'big_output'"));
    assert_true(has("memory limit"));
    in.dims[0] = 1;
    out.data = y;
    out.capacity = sizeof y;
    assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
    assert_int_equal(out.dims[0], 1024);
    assert_int_equal(out.dims[1], 1);
    assert_true(y[0] == 5 && y[1023] == 5);
    /* an input larger than the limit is refused before anything runs */
    in.dims[0] = 1LL << 40;
    assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_ERR_SHAPE);
    assert_true(has("input 'x' is too large"));
    norma_session_free(s);
}

/* ---- values read from data ---- */

/* Runs s with one or two int64 inputs; returns the status. */
static norma_status run_i64(norma_session *s, const char *name, int64_t n, const int64_t *v, const float *x,
                            int64_t nx, float *y, size_t ycap)
{
    norma_tensor in[2] = {
        {.name = "x", .dtype = NORMA_FLOAT, .rank = 1, .dims = {nx}, .data = (void *)x},
        {.name = name, .dtype = NORMA_INT64, .rank = 1, .dims = {n}, .data = (void *)v},
    };
    norma_tensor out = {.data = y, .capacity = ycap};
    return norma_run(s, in, 2, &out, 1);
}

static mb_model *two_input_model(const char *op, const char *second, int64_t second_len)
{
    mb_model *m = mb_new(18);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){-1});
    mb_input(m, "i", NORMA_INT64, 1, (int64_t[]){second_len});
    mb_add_node(m, op, second, "y");
    mb_output(m, "y");
    return m;
}

static void gather_index_out_of_range_is_an_error(void **state)
{
    (void)state;
    /* 100 indices, checked by the kernel at run time */
    norma_session *s = must_create(two_input_model("Gather", "x,i", 100));
    float x[5] = {10, 11, 12, 13, 14}, y[100];
    int64_t idx[100];
    for (int k = 0; k < 100; k++)
        idx[k] = k % 5;
    idx[57] = 5;
    assert_int_equal(run_i64(s, "i", 100, idx, x, 5, y, sizeof y), NORMA_ERR_RUNTIME);
    assert_true(has("index 5 at position 57 is out of range for axis 0 of size 5"));
    idx[57] = -6;
    assert_int_equal(run_i64(s, "i", 100, idx, x, 5, y, sizeof y), NORMA_ERR_RUNTIME);
    idx[57] = INT64_MIN;
    assert_int_equal(run_i64(s, "i", 100, idx, x, 5, y, sizeof y), NORMA_ERR_RUNTIME);
    idx[57] = -5;
    assert_int_equal(run_i64(s, "i", 100, idx, x, 5, y, sizeof y), NORMA_OK);
    assert_true(y[57] == 10 && y[3] == 13);
    norma_session_free(s);

    /* a short index list: the same check */
    s = must_create(two_input_model("Gather", "x,i", 2));
    assert_int_equal(run_i64(s, "i", 2, (int64_t[]){1, 9}, x, 5, y, sizeof y), NORMA_ERR_RUNTIME);
    assert_true(has("index 9"));
    assert_int_equal(run_i64(s, "i", 2, (int64_t[]){1, 4}, x, 5, y, sizeof y), NORMA_OK);
    assert_true(y[0] == 11 && y[1] == 14);
    norma_session_free(s);
}

static void gather_elements_index_out_of_range_is_an_error(void **state)
{
    (void)state;
    norma_session *s = must_create(two_input_model("GatherElements", "x,i", 100));
    float x[100], y[100];
    int64_t idx[100];
    for (int k = 0; k < 100; k++) {
        x[k] = (float)k;
        idx[k] = 99 - k;
    }
    idx[3] = 100;
    assert_int_equal(run_i64(s, "i", 100, idx, x, 100, y, sizeof y), NORMA_ERR_RUNTIME);
    assert_true(has("100"));
    idx[3] = -101;
    assert_int_equal(run_i64(s, "i", 100, idx, x, 100, y, sizeof y), NORMA_ERR_RUNTIME);
    idx[3] = -1;
    assert_int_equal(run_i64(s, "i", 100, idx, x, 100, y, sizeof y), NORMA_OK);
    assert_true(y[3] == 99 && y[0] == 99 && y[99] == 0);
    norma_session_free(s);
}

static void slice_extreme_starts_and_ends_are_clamped(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){-1});
    mb_input(m, "st", NORMA_INT64, 1, (int64_t[]){1});
    mb_input(m, "en", NORMA_INT64, 1, (int64_t[]){1});
    mb_input(m, "sp", NORMA_INT64, 1, (int64_t[]){1});
    mb_add_node(m, "Slice", "x,st,en,,sp", "y");
    mb_output(m, "y");
    norma_session *s = must_create(m);
    float x[4] = {1, 2, 3, 4}, y[8];
    struct { int64_t st, en, sp; int64_t n; float first; } cases[] = {
        {INT64_MIN, INT64_MAX, 1, 4, 1},  {INT64_MAX, INT64_MIN, -1, 4, 4}, {-100, 100, 3, 2, 1},
        {100, 200, 1, 0, 0},              {2, -100, INT64_MIN, 1, 3},        {INT64_MIN, INT64_MIN, 1, 0, 0},
        {1, 3, INT64_MAX, 1, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        norma_tensor in[4] = {
            {.name = "x", .dtype = NORMA_FLOAT, .rank = 1, .dims = {4}, .data = x},
            {.name = "st", .dtype = NORMA_INT64, .rank = 1, .dims = {1}, .data = &cases[k].st},
            {.name = "en", .dtype = NORMA_INT64, .rank = 1, .dims = {1}, .data = &cases[k].en},
            {.name = "sp", .dtype = NORMA_INT64, .rank = 1, .dims = {1}, .data = &cases[k].sp},
        };
        norma_tensor out = {.data = y, .capacity = sizeof y};
        norma_status st = norma_run(s, in, 4, &out, 1);
        if (st != NORMA_OK)
            print_error("case %zu: %s\n", k, norma_last_error());
        assert_int_equal(st, NORMA_OK);
        assert_int_equal(out.dims[0], cases[k].n);
        if (cases[k].n)
            assert_true(y[0] == cases[k].first);
    }
    /* a zero step is an error, and the session still runs afterwards */
    int64_t st0 = 0, en0 = 4, sp0 = 0;
    norma_tensor in[4] = {
        {.name = "x", .dtype = NORMA_FLOAT, .rank = 1, .dims = {4}, .data = x},
        {.name = "st", .dtype = NORMA_INT64, .rank = 1, .dims = {1}, .data = &st0},
        {.name = "en", .dtype = NORMA_INT64, .rank = 1, .dims = {1}, .data = &en0},
        {.name = "sp", .dtype = NORMA_INT64, .rank = 1, .dims = {1}, .data = &sp0},
    };
    norma_tensor out = {.data = y, .capacity = sizeof y};
    assert_int_not_equal(norma_run(s, in, 4, &out, 1), NORMA_OK);
    assert_true(has("step"));
    sp0 = 1;
    assert_int_equal(norma_run(s, in, 4, &out, 1), NORMA_OK);
    assert_int_equal(out.dims[0], 4);
    norma_session_free(s);
}

static void reshape_bad_targets_are_errors(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){6});
    mb_input(m, "i", NORMA_INT64, 1, (int64_t[]){2});
    mb_add_node(m, "Reshape", "x,i", "y");
    mb_output(m, "y");
    norma_session *s = must_create(m);
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
    const int64_t bad[][2] = {{-1, -1}, {4, 2}, {-3, 2}, {INT64_MAX, 2}, {1LL << 62, 1LL << 62}, {-1, 0},
                              {0, 0}, {INT64_MIN, 1}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        norma_status st = run_i64(s, "i", 2, bad[k], x, 6, y, sizeof y);
        if (st == NORMA_OK)
            print_error("target {%lld, %lld} accepted\n", (long long)bad[k][0], (long long)bad[k][1]);
        assert_int_not_equal(st, NORMA_OK);
        assert_true(has("Reshape"));
    }
    assert_int_equal(run_i64(s, "i", 2, (int64_t[]){3, -1}, x, 6, y, sizeof y), NORMA_OK);
    assert_true(y[5] == 6);
    norma_session_free(s);
}

static void pad_bad_amounts_are_errors(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){-1});
    mb_input(m, "i", NORMA_INT64, 1, (int64_t[]){2});
    mb_add_node(m, "Pad", "x,i", "y");
    mb_output(m, "y");
    norma_session *s = NULL;
    assert_int_equal(create_opt(m, 1 << 20, &s), NORMA_OK);
    float x[3] = {1, 2, 3}, y[8];
    const int64_t bad[][2] = {{-2, -2}, {INT64_MAX, INT64_MAX}, {INT64_MIN, INT64_MIN}, {INT64_MAX, 1},
                              {1LL << 40, 0}, {-4, 0}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        norma_status st = run_i64(s, "i", 2, bad[k], x, 3, y, sizeof y);
        if (st == NORMA_OK)
            print_error("pads {%lld, %lld} accepted\n", (long long)bad[k][0], (long long)bad[k][1]);
        assert_int_not_equal(st, NORMA_OK);
        assert_true(has("Pad"));
    }
    assert_int_equal(run_i64(s, "i", 2, (int64_t[]){1, -1}, x, 3, y, sizeof y), NORMA_OK);
    assert_true(y[0] == 0 && y[1] == 1 && y[2] == 2);
    norma_session_free(s);
}

static void resize_bad_sizes_and_scales_are_errors(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){1, 4});
    mb_input(m, "sizes", NORMA_INT64, 1, (int64_t[]){2});
    mb_add_node(m, "Resize", "x,,,sizes", "y");
    mb_output(m, "y");
    norma_session *s = NULL;
    assert_int_equal(create_opt(m, 1 << 20, &s), NORMA_OK);
    float x[4] = {1, 2, 3, 4}, y[16];
    const int64_t bad[][2] = {{1, -1}, {1, 1LL << 40}, {INT64_MAX, INT64_MAX}, {1LL << 31, 1LL << 31}, {1, INT64_MIN}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        norma_tensor in[2] = {{.name = "x", .dtype = NORMA_FLOAT, .rank = 2, .dims = {1, 4}, .data = x},
                              {.name = "sizes", .dtype = NORMA_INT64, .rank = 1, .dims = {2}, .data = (void *)bad[k]}};
        norma_tensor out = {.data = y, .capacity = sizeof y};
        norma_status st = norma_run(s, in, 2, &out, 1);
        if (st == NORMA_OK)
            print_error("sizes {%lld, %lld} accepted\n", (long long)bad[k][0], (long long)bad[k][1]);
        assert_int_not_equal(st, NORMA_OK);
        assert_true(has("Resize"));
    }
    int64_t good[2] = {1, 8};
    norma_tensor in[2] = {{.name = "x", .dtype = NORMA_FLOAT, .rank = 2, .dims = {1, 4}, .data = x},
                          {.name = "sizes", .dtype = NORMA_INT64, .rank = 1, .dims = {2}, .data = good}};
    norma_tensor out = {.data = y, .capacity = sizeof y};
    assert_int_equal(norma_run(s, in, 2, &out, 1), NORMA_OK);
    assert_int_equal(out.dims[1], 8);
    assert_true(y[0] == 1 && y[7] == 4);
    norma_session_free(s);

    /* scales: negative, zero, NaN, infinite, huge */
    m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){1, 4});
    mb_input(m, "scales", NORMA_FLOAT, 1, (int64_t[]){2});
    mb_add_node(m, "Resize", "x,,scales", "y");
    mb_output(m, "y");
    assert_int_equal(create_opt(m, 1 << 20, &s), NORMA_OK);
    const float bad_scales[][2] = {{1, -2}, {1, 0}, {1, NAN}, {1, INFINITY}, {1, 1e30f}, {1e20f, 1e20f}};
    for (size_t k = 0; k < sizeof bad_scales / sizeof bad_scales[0]; k++) {
        norma_tensor in2[2] = {{.name = "x", .dtype = NORMA_FLOAT, .rank = 2, .dims = {1, 4}, .data = x},
                               {.name = "scales", .dtype = NORMA_FLOAT, .rank = 1, .dims = {2}, .data = (void *)bad_scales[k]}};
        norma_tensor o2 = {.data = y, .capacity = sizeof y};
        norma_status st = norma_run(s, in2, 2, &o2, 1);
        if (st == NORMA_OK)
            print_error("scales {%g, %g} accepted\n", bad_scales[k][0], bad_scales[k][1]);
        assert_int_not_equal(st, NORMA_OK);
        assert_true(has("Resize"));
    }
    norma_session_free(s);
}

static void expand_bad_shapes_are_errors(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){-1});
    mb_input(m, "i", NORMA_INT64, 1, (int64_t[]){2});
    mb_add_node(m, "Expand", "x,i", "y");
    mb_output(m, "y");
    norma_session *s = NULL;
    assert_int_equal(create_opt(m, 1 << 20, &s), NORMA_OK);
    float x[3] = {1, 2, 3}, y[12];
    const int64_t bad[][2] = {{2, 4}, {-1, 3}, {INT64_MIN, 3}, {1LL << 31, 1LL << 31}, {INT64_MAX, INT64_MAX},
                              {1LL << 62, 3}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        norma_status st = run_i64(s, "i", 2, bad[k], x, 3, y, sizeof y);
        if (st == NORMA_OK)
            print_error("shape {%lld, %lld} accepted\n", (long long)bad[k][0], (long long)bad[k][1]);
        assert_int_not_equal(st, NORMA_OK);
        assert_true(has("Expand"));
    }
    assert_int_equal(run_i64(s, "i", 2, (int64_t[]){4, 1}, x, 3, y, sizeof y), NORMA_OK);
    assert_true(y[0] == 1 && y[11] == 3);
    norma_session_free(s);
}

/* ---- external data ---- */

static char tmpdir[256];

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static norma_status load_external(const char *dir, const char *location, long long offset, long long length,
                                  norma_session **s)
{
    char path[512];
    mb_model *m = mb_new(13);
    mb_init_external(m, "ext_w", NORMA_FLOAT, 1, (int64_t[]){4}, location, offset, length);
    mb_add_node(m, "Identity", "ext_w", "y");
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    write_file(path, bytes, len);
    free(bytes);
    mb_free(m);
    *s = (norma_session *)1;
    return norma_session_create_from_file(path, NULL, s);
}

static void external_data_outside_past_eof_or_missing_is_refused(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/norma-validation-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char dir[300], path[600], link[600];
    snprintf(dir, sizeof dir, "%s/m", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    float w[4] = {1, 2, 3, 4};
    snprintf(path, sizeof path, "%s/w.bin", dir);
    write_file(path, w, sizeof w);
    snprintf(path, sizeof path, "%s/outside.bin", tmpdir);
    write_file(path, w, sizeof w);
    snprintf(link, sizeof link, "%s/link.bin", dir);
    assert_int_equal(symlink(path, link), 0);
    norma_session *s;

    assert_int_equal(load_external(dir, "w.bin", 0, 16, &s), NORMA_OK);
    norma_session_free(s);
    /* outside the model's directory: .., a symlink, an absolute path */
    assert_int_equal(load_external(dir, "../outside.bin", 0, -1, &s), NORMA_ERR_MODEL);
    assert_true(has("tensor 'ext_w': external data location '../outside.bin' escapes the model's directory"));
    assert_null(s);
    assert_int_equal(load_external(dir, "link.bin", 0, -1, &s), NORMA_ERR_MODEL);
    assert_true(has("escapes the model's directory"));
    assert_int_equal(load_external(dir, path, 0, -1, &s), NORMA_ERR_MODEL);
    assert_true(has("must be a relative path"));
    /* past the end of the file */
    assert_int_equal(load_external(dir, "w.bin", 4, -1, &s), NORMA_ERR_MODEL);
    assert_true(has("past the end"));
    assert_int_equal(load_external(dir, "w.bin", 1LL << 62, -1, &s), NORMA_ERR_MODEL);
    assert_true(has("past the end"));
    assert_int_equal(load_external(dir, "w.bin", 0, 1LL << 40, &s), NORMA_ERR_MODEL);
    /* missing file, directory instead of file */
    assert_int_equal(load_external(dir, "missing.bin", 0, -1, &s), NORMA_ERR_IO);
    assert_true(has("'missing.bin'"));
    assert_int_not_equal(load_external(dir, ".", 0, -1, &s), NORMA_OK);
    assert_null(s);

    unlink(link);
    unlink(path);
    snprintf(path, sizeof path, "%s/w.bin", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    unlink(path);
    rmdir(dir);
    rmdir(tmpdir);
}

/* ---- run-time inputs ---- */

static void bad_run_inputs_then_a_good_run(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "a", NORMA_FLOAT, 2, (int64_t[]){-1, 3});
    mb_input(m, "b", NORMA_FLOAT, 1, (int64_t[]){3});
    mb_add_node(m, "Add", "a,b", "y");
    mb_output(m, "y");
    norma_session *s = must_create(m);
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30}, y[6];
    int64_t bi[3] = {0};
    norma_tensor good[2] = {{.name = "a", .dtype = NORMA_FLOAT, .rank = 2, .dims = {2, 3}, .data = a},
                            {.name = "b", .dtype = NORMA_FLOAT, .rank = 1, .dims = {3}, .data = b}};
    norma_tensor out = {.data = y, .capacity = sizeof y};
    norma_tensor in[3];

#define BAD(n, status, text)                                                                                           \
    do {                                                                                                               \
        memset(y, 0, sizeof y);                                                                                        \
        assert_int_equal(norma_run(s, in, n, &out, 1), status);                                                        \
        assert_true(has(text));                                                                                        \
        assert_int_equal(norma_run(s, good, 2, &out, 1), NORMA_OK);                                                    \
        assert_true(y[0] == 11 && y[5] == 36);                                                                         \
    } while (0)

    memcpy(in, good, sizeof good);
    in[1].dtype = NORMA_INT64;
    in[1].data = bi;
    BAD(2, NORMA_ERR_SHAPE, "input 'b' has dtype int64, the model expects float");
    memcpy(in, good, sizeof good);
    in[1].dims[0] = 4;
    BAD(2, NORMA_ERR_SHAPE, "input 'b' has dimension 0 = 4, the model expects 3");
    memcpy(in, good, sizeof good);
    in[0].rank = 3;
    BAD(2, NORMA_ERR_SHAPE, "input 'a' has rank 3");
    memcpy(in, good, sizeof good);
    in[0].rank = -1;
    BAD(2, NORMA_ERR_SHAPE, "input 'a' has rank -1");
    memcpy(in, good, sizeof good);
    in[0].rank = 100;
    BAD(2, NORMA_ERR_SHAPE, "input 'a' has rank 100");
    memcpy(in, good, sizeof good);
    in[0].dims[0] = -2;
    BAD(2, NORMA_ERR_SHAPE, "negative dimension");
    memcpy(in, good, sizeof good);
    in[0].dims[0] = INT64_MAX;
    BAD(2, NORMA_ERR_SHAPE, "too large");
    memcpy(in, good, sizeof good);
    BAD(1, NORMA_ERR_SHAPE, "input 'b' is missing");
    memcpy(in, good, sizeof good);
    in[2] = good[0];
    in[2].name = NULL;
    BAD(3, NORMA_ERR_ARGUMENT, "3 inputs given, the model has 2");
    memcpy(in, good, sizeof good);
    in[1].name = "a";
    BAD(2, NORMA_ERR_ARGUMENT, "input 'a' is given twice");
    memcpy(in, good, sizeof good);
    in[1].name = "nope";
    BAD(2, NORMA_ERR_ARGUMENT, "no input named 'nope'");
    memcpy(in, good, sizeof good);
    in[0].data = NULL;
    BAD(2, NORMA_ERR_ARGUMENT, "input 'a' has a NULL data pointer");
#undef BAD
    assert_int_equal(norma_run(s, NULL, 2, &out, 1), NORMA_ERR_ARGUMENT);
    assert_int_equal(norma_run(s, good, 2, NULL, 1), NORMA_ERR_ARGUMENT);
    norma_tensor small = {.data = y, .capacity = 8};
    assert_int_equal(norma_run(s, good, 2, &small, 1), NORMA_ERR_ARGUMENT);
    assert_true(has("needs 24 bytes"));
    norma_tensor two[2] = {{0}, {0}};
    assert_int_equal(norma_run(s, good, 2, two, 2), NORMA_ERR_ARGUMENT);
    norma_tensor named = {.name = "zz"};
    assert_int_equal(norma_run(s, good, 2, &named, 1), NORMA_ERR_ARGUMENT);
    /* an empty batch is fine */
    memcpy(in, good, sizeof good);
    in[0].dims[0] = 0;
    in[0].data = NULL;
    norma_tensor eout = {0};
    assert_int_equal(norma_run(s, in, 2, &eout, 1), NORMA_OK);
    assert_int_equal(eout.dims[0], 0);
    assert_int_equal(norma_run(s, good, 2, &out, 1), NORMA_OK);
    assert_true(y[0] == 11 && y[5] == 36);
    assert_int_equal(norma_run(NULL, good, 2, &out, 1), NORMA_ERR_ARGUMENT);
    norma_session_free(s);
}

/* ---- creation that fails halfway frees what it took ---- */

static void failed_creation_frees_everything(void **state)
{
    (void)state;
    static float big[1 << 18]; /* 1 MiB initializers */
    for (int round = 0; round < 3; round++) {
        norma_session *s = (norma_session *)1;
        mb_model *m = mb_new(13);
        mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){1, 512});
        mb_init_f32(m, "w1", 2, (int64_t[]){512, 512}, big);
        mb_init_f32(m, "w2", 2, (int64_t[]){512, 512}, big);
        mb_add_node(m, "Gemm", "x,w1", "h");
        mb_add_node(m, "MatMul", "h,w2", "h2");
        if (round == 0) {
            mb_add_node(m, "NoSuchOp", "h2", "y"); /* unsupported op after the weights */
        } else if (round == 1) {
            mb_node *n = mb_add_node(m, "Conv", "h2,w1", "y"); /* init fails after Gemm's init */
            mb_attr_ints(n, "strides", 3, (int64_t[]){0, 0, 0});
        } else {
            mb_init_i64(m, "shape", 1, (int64_t[]){2}, (int64_t[]){4096, 512});
            mb_add_node(m, "Expand", "h2,shape", "y"); /* the plan fails, after every init */
        }
        mb_output(m, "y");
        norma_status st = create_opt(m, 4 << 20, &s);
        assert_int_not_equal(st, NORMA_OK);
        assert_null(s);
        assert_true(norma_last_error()[0] != 0);
    }
    /* the same without the failing part is fine and frees cleanly too */
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){1, 512});
    mb_init_f32(m, "w1", 2, (int64_t[]){512, 512}, big);
    mb_add_node(m, "Gemm", "x,w1", "y");
    mb_output(m, "y");
    norma_session_free(must_create(m));
}

/* Bytes that are not a model, and a model cut at every length, never crash. */
static void truncated_models_fail_cleanly(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){-1, 3});
    mb_init_f32(m, "w", 1, (int64_t[]){3}, (float[]){1, 2, 3});
    mb_add_node(m, "Mul", "x,w", "y");
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    mb_free(m);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut + 1);
        memcpy(copy, bytes, cut);
        norma_session *s = NULL;
        if (norma_session_create_from_memory(copy, cut, NULL, &s) == NORMA_OK)
            norma_session_free(s);
        else
            assert_true(norma_last_error()[0] != 0);
        free(copy);
    }
    free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tensor_with_bad_dims_is_refused),
        cmocka_unit_test(tensor_data_shorter_than_shape_is_refused),
        cmocka_unit_test(model_initializer_with_bad_dims_names_it),
        cmocka_unit_test(allocation_above_memory_limit_names_the_tensor),
        cmocka_unit_test(gather_index_out_of_range_is_an_error),
        cmocka_unit_test(gather_elements_index_out_of_range_is_an_error),
        cmocka_unit_test(slice_extreme_starts_and_ends_are_clamped),
        cmocka_unit_test(reshape_bad_targets_are_errors),
        cmocka_unit_test(pad_bad_amounts_are_errors),
        cmocka_unit_test(resize_bad_sizes_and_scales_are_errors),
        cmocka_unit_test(expand_bad_shapes_are_errors),
        cmocka_unit_test(external_data_outside_past_eof_or_missing_is_refused),
        cmocka_unit_test(bad_run_inputs_then_a_good_run),
        cmocka_unit_test(failed_creation_frees_everything),
        cmocka_unit_test(truncated_models_fail_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
