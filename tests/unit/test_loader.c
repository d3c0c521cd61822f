/*
 * Loader tests: every TensorProto storage form, Constant nodes, initializers listed as
 * inputs, external data (and its refusals), topological order, cycles, missing and
 * doubly-defined values, unsupported ops, model-local functions, bad bytes.
 */
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

#include "ir/half.h"
#include "loader/loader.h"
#include "modelbuild.h"
#include "norma.h"

/* Creates a session from the builder's bytes; returns the status. */
static norma_status create(mb_model *m, norma_session **s)
{
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    norma_status st = norma_session_create_from_memory(bytes, len, NULL, s);
    free(bytes);
    return st;
}

/* Runs a model with no inputs and returns output 0 (borrowed from the session). */
static void run_no_inputs(norma_session *s, norma_tensor *out)
{
    memset(out, 0, sizeof(*out));
    assert_int_equal(norma_run(s, NULL, 0, out, 1), NORMA_OK);
}

static void typed_fields_decode_every_dtype(void **state)
{
    (void)state;
    const int dtypes[] = {NORMA_FLOAT, NORMA_DOUBLE, NORMA_INT64, NORMA_INT32, NORMA_INT8, NORMA_UINT8,
                          NORMA_BOOL, NORMA_INT16, NORMA_UINT16, NORMA_UINT32, NORMA_UINT64};
    const double vals[] = {1, 0, 3, 2, 7, 1};
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
        mb_model *m = mb_new(13);
        mb_init_typed(m, "w", dtypes[k], 2, (int64_t[]){2, 3}, vals);
        mb_add_node(m, "Identity", "w", "y");
        mb_output(m, "y");
        norma_session *s;
        assert_int_equal(create(m, &s), NORMA_OK);
        norma_tensor out;
        run_no_inputs(s, &out);
        assert_int_equal(out.dtype, dtypes[k]);
        assert_int_equal(out.rank, 2);
        for (int i = 0; i < 6; i++) {
            double got;
            switch (dtypes[k]) {
            case NORMA_FLOAT: got = ((float *)out.data)[i]; break;
            case NORMA_DOUBLE: got = ((double *)out.data)[i]; break;
            case NORMA_INT64: got = (double)((int64_t *)out.data)[i]; break;
            case NORMA_UINT64: got = (double)((uint64_t *)out.data)[i]; break;
            case NORMA_INT32: got = ((int32_t *)out.data)[i]; break;
            case NORMA_UINT32: got = ((uint32_t *)out.data)[i]; break;
            case NORMA_INT16: got = ((int16_t *)out.data)[i]; break;
            case NORMA_UINT16: got = ((uint16_t *)out.data)[i]; break;
            case NORMA_INT8: got = ((int8_t *)out.data)[i]; break;
            default: got = ((uint8_t *)out.data)[i]; break;
            }
            double want = dtypes[k] == NORMA_BOOL ? (vals[i] != 0) : vals[i];
            assert_true(got == want);
        }
        norma_session_free(s);
        mb_free(m);
    }
}

static void float16_int32_data_keeps_bits(void **state)
{
    (void)state;
    double bits[3] = {float_to_half(1.5f), float_to_half(-2.0f), float_to_half(65504.0f)};
    mb_model *m = mb_new(13);
    mb_init_typed(m, "w", NORMA_FLOAT16, 1, (int64_t[]){3}, bits);
    mb_add_node(m, "Identity", "w", "y");
    mb_output(m, "y");
    norma_session *s;
    assert_int_equal(create(m, &s), NORMA_OK);
    norma_tensor out;
    run_no_inputs(s, &out);
    const uint16_t *h = out.data;
    assert_true(half_to_float(h[0]) == 1.5f && half_to_float(h[1]) == -2.0f && half_to_float(h[2]) == 65504.0f);
    norma_session_free(s);
    mb_free(m);
}

static void raw_data_shorter_than_shape_is_refused(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    float w[3] = {1, 2, 3};
    /* declare 2x3 but store 3 floats: build a 1x3 tensor then lie about dims */
    mb_init_f32(m, "w", 2, (int64_t[]){1, 3}, w);
    mb_add_node(m, "Identity", "w", "y");
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    /* patch: dims (field 1, unpacked varints) "08 01 08 03" become 2, 3 */
    int patched = 0;
    for (size_t i = 0; i + 3 < len; i++)
        if (bytes[i] == 0x08 && bytes[i + 1] == 0x01 && bytes[i + 2] == 0x08 && bytes[i + 3] == 0x03) {
            bytes[i + 1] = 0x02;
            patched = 1;
            break;
        }
    assert_true(patched);
    norma_session *s;
    assert_int_equal(norma_session_create_from_memory(bytes, len, NULL, &s), NORMA_ERR_MODEL);
    assert_null(s);
    assert_non_null(strstr(norma_last_error(), "tensor 'w'"));
    assert_non_null(strstr(norma_last_error(), "raw_data holds 12 bytes but its shape needs 24"));
    free(bytes);
    mb_free(m);
}

static void constant_nodes_of_every_form(void **state)
{
    (void)state;
    struct {
        const char *attr;
        int is_float, count;
    } forms[] = {{"value_float", 1, 1}, {"value_floats", 1, 3}, {"value_int", 0, 1}, {"value_ints", 0, 3}};
    float fv[3] = {1.25f, -2.5f, 4};
    int64_t iv[3] = {7, -8, 9};
    for (size_t k = 0; k < 4; k++) {
        mb_model *m = mb_new(13);
        if (forms[k].is_float)
            mb_constant_floats(m, "c", forms[k].attr, forms[k].count, fv);
        else
            mb_constant_ints(m, "c", forms[k].attr, forms[k].count, iv);
        mb_add_node(m, "Identity", "c", "y");
        mb_output(m, "y");
        norma_session *s;
        assert_int_equal(create(m, &s), NORMA_OK);
        norma_tensor out;
        run_no_inputs(s, &out);
        assert_int_equal(out.rank, forms[k].count == 1 ? 0 : 1);
        assert_int_equal(out.dtype, forms[k].is_float ? NORMA_FLOAT : NORMA_INT64);
        for (int i = 0; i < forms[k].count; i++) {
            if (forms[k].is_float)
                assert_true(((float *)out.data)[i] == fv[i]);
            else
                assert_true(((int64_t *)out.data)[i] == iv[i]);
        }
        norma_session_free(s);
        mb_free(m);
    }
    mb_model *m = mb_new(13);
    int32_t tv[4] = {1, 2, 3, 4};
    mb_constant_tensor(m, "c", NORMA_INT32, 2, (int64_t[]){2, 2}, tv);
    mb_add_node(m, "Identity", "c", "y");
    mb_output(m, "y");
    norma_session *s;
    assert_int_equal(create(m, &s), NORMA_OK);
    norma_tensor out;
    run_no_inputs(s, &out);
    assert_int_equal(out.dtype, NORMA_INT32);
    assert_memory_equal(out.data, tv, sizeof tv);
    norma_session_free(s);
    mb_free(m);
}

static void initializer_listed_as_input_is_a_constant(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    float w[2] = {3, 4};
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){2});
    mb_input(m, "w", NORMA_FLOAT, 1, (int64_t[]){2});
    mb_init_f32(m, "w", 1, (int64_t[]){2}, w);
    mb_add_node(m, "Identity", "w", "y");
    mb_add_node(m, "Identity", "x", "z");
    mb_output(m, "y");
    mb_output(m, "z");
    norma_session *s;
    assert_int_equal(create(m, &s), NORMA_OK);
    assert_int_equal(norma_input_count(s), 1);
    norma_value_info vi;
    assert_int_equal(norma_input_info(s, 0, &vi), NORMA_OK);
    assert_string_equal(vi.name, "x");
    norma_session_free(s);
    mb_free(m);
}

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/norma-loader-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Writes model.onnx with one external initializer into tmpdir and loads it. */
static norma_status load_external(const char *location, long long offset, long long length, norma_session **s)
{
    char path[512];
    mb_model *m = mb_new(13);
    mb_init_external(m, "w", NORMA_FLOAT, 1, (int64_t[]){4}, location, offset, length);
    mb_add_node(m, "Identity", "w", "y");
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    snprintf(path, sizeof path, "%s/model.onnx", tmpdir);
    write_file(path, bytes, len);
    free(bytes);
    mb_free(m);
    return norma_session_create_from_file(path, NULL, s);
}

static void external_data_is_read_at_its_offset(void **state)
{
    (void)state;
    make_tmpdir();
    float data[8] = {0, 0, 0, 0, 1.5f, 2.5f, 3.5f, 4.5f};
    char path[512];
    snprintf(path, sizeof path, "%s/weights.bin", tmpdir);
    write_file(path, data, sizeof data);
    norma_session *s;
    assert_int_equal(load_external("weights.bin", 16, 16, &s), NORMA_OK);
    norma_tensor out;
    run_no_inputs(s, &out);
    assert_memory_equal(out.data, data + 4, 16);
    norma_session_free(s);
    /* no offset and no length: from the start */
    assert_int_equal(load_external("weights.bin", -1, -1, &s), NORMA_OK);
    run_no_inputs(s, &out);
    assert_memory_equal(out.data, data, 16);
    norma_session_free(s);
}

static void external_data_refusals(void **state)
{
    (void)state;
    make_tmpdir();
    float data[4] = {1, 2, 3, 4};
    char path[512];
    snprintf(path, sizeof path, "%s/weights.bin", tmpdir);
    write_file(path, data, sizeof data);
    norma_session *s;
    assert_int_equal(load_external("weights.bin", 8, -1, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "past the end"));
    assert_int_equal(load_external("weights.bin", 0, 12, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "length 12"));
    assert_int_equal(load_external("../weights.bin", 0, -1, &s), NORMA_ERR_IO);
    assert_int_equal(load_external("/etc/passwd", 0, -1, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "relative path"));
    /* a path that exists but leaves the directory */
    snprintf(path, sizeof path, "%s/../outside.bin", tmpdir);
    write_file(path, data, sizeof data);
    assert_int_equal(load_external("../outside.bin", 0, -1, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "escapes the model's directory"));
    unlink(path);
    assert_int_equal(load_external("missing.bin", 0, -1, &s), NORMA_ERR_IO);
    assert_non_null(strstr(norma_last_error(), "missing.bin"));
    assert_null(s);
}

static void external_data_from_memory_is_refused(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_init_external(m, "w", NORMA_FLOAT, 1, (int64_t[]){4}, "weights.bin", 0, -1);
    mb_add_node(m, "Identity", "w", "y");
    mb_output(m, "y");
    norma_session *s;
    assert_int_equal(create(m, &s), NORMA_ERR_IO);
    assert_non_null(strstr(norma_last_error(), "loaded from memory"));
    mb_free(m);
}

static void nodes_out_of_order_are_sorted(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){3});
    mb_add_node(m, "Identity", "b", "c");
    mb_add_node(m, "Identity", "a", "b");
    mb_add_node(m, "Identity", "x", "a");
    mb_output(m, "c");
    norma_session *s;
    assert_int_equal(create(m, &s), NORMA_OK);
    float x[3] = {1, 2, 3}, y[3] = {0};
    norma_tensor in = {.name = "x", .dtype = NORMA_FLOAT, .rank = 1, .dims = {3}, .data = x};
    norma_tensor out = {.data = y, .capacity = sizeof y};
    assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
    assert_memory_equal(x, y, sizeof x);
    norma_session_free(s);
    mb_free(m);
}

static void cycle_missing_and_duplicate_values_are_errors(void **state)
{
    (void)state;
    norma_session *s;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){3});
    mb_add_node(m, "Add", "x,b", "a");
    mb_add_node(m, "Identity", "a", "b");
    mb_output(m, "b");
    assert_int_equal(create(m, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "cycle"));
    mb_free(m);

    m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){3});
    mb_add_node(m, "Identity", "nowhere", "y");
    mb_output(m, "y");
    assert_int_equal(create(m, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "'nowhere'"));
    mb_free(m);

    m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){3});
    mb_add_node(m, "Identity", "x", "y");
    mb_add_node(m, "Identity", "x", "y");
    mb_output(m, "y");
    assert_int_equal(create(m, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "'y' is defined twice"));
    mb_free(m);
}

static void every_unsupported_op_is_listed_once(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_opset(m, "com.example", 2);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){3});
    mb_add_node(m, "FrobnicateA", "x", "a");
    mb_node *n = mb_add_node(m, "Warp", "a", "b");
    mb_node_domain(n, "com.example");
    mb_add_node(m, "FrobnicateA", "b", "c");
    mb_output(m, "c");
    norma_session *s;
    assert_int_equal(create(m, &s), NORMA_ERR_UNSUPPORTED);
    const char *e = norma_last_error();
    assert_non_null(strstr(e, "unsupported ops: "));
    assert_non_null(strstr(e, "FrobnicateA (domain 'ai.onnx', opset 13)"));
    assert_non_null(strstr(e, "Warp (domain 'com.example', opset 2)"));
    assert_null(strstr(strstr(e, "FrobnicateA") + 1, "FrobnicateA")); /* listed once */
    mb_free(m);
}

static void local_function_is_inlined(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_opset(m, "local", 1);
    mb_function(m, "MyIdentity", "fx", "fy", "Identity");
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){2});
    mb_node *n = mb_add_node(m, "MyIdentity", "x", "y");
    mb_node_domain(n, "local");
    mb_output(m, "y");
    norma_session *s;
    assert_int_equal(create(m, &s), NORMA_OK);
    float x[2] = {5, 6}, y[2] = {0};
    norma_tensor in = {.name = "x", .dtype = NORMA_FLOAT, .rank = 1, .dims = {2}, .data = x};
    norma_tensor out = {.data = y, .capacity = sizeof y};
    assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
    assert_memory_equal(x, y, sizeof x);
    norma_session_free(s);
    mb_free(m);
}

static void garbage_truncated_and_missing_files(void **state)
{
    (void)state;
    norma_session *s = (norma_session *)1;
    const char garbage[] = "\xff\xff\xff\xff this is not a protobuf";
    assert_int_equal(norma_session_create_from_memory(garbage, sizeof garbage, NULL, &s), NORMA_ERR_PARSE);
    assert_null(s);
    assert_non_null(strstr(norma_last_error(), "not a valid ONNX model"));

    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){2});
    mb_add_node(m, "Identity", "x", "y");
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    for (size_t cut = 1; cut < len; cut += 7) {
        norma_status st = norma_session_create_from_memory(bytes, cut, NULL, &s);
        assert_int_not_equal(st, NORMA_OK == st ? -1 : NORMA_OK);
        if (st == NORMA_OK)
            norma_session_free(s); /* a prefix may be a valid smaller model */
        else
            assert_true(strlen(norma_last_error()) > 0);
    }
    free(bytes);
    mb_free(m);

    assert_int_equal(norma_session_create_from_file("/nonexistent/model.onnx", NULL, &s), NORMA_ERR_IO);
    assert_non_null(strstr(norma_last_error(), "/nonexistent/model.onnx"));
    assert_int_equal(norma_session_create_from_memory("", 0, NULL, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "no graph"));
}

static void attribute_of_the_wrong_type_is_an_error(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){2, 3});
    mb_node *n = mb_add_node(m, "Softmax", "x", "y");
    mb_attr_string(n, "axis", "last");
    mb_output(m, "y");
    norma_session *s;
    assert_int_equal(create(m, &s), NORMA_ERR_MODEL);
    assert_null(s);
    assert_string_equal(norma_last_error(), "Softmax 'Softmax_0': attribute 'axis' is STRING, expected INT");
    mb_free(m);

    /* read by infer: reported at creation when the input shapes are static and
     * large enough to be planned then */
    m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){20, 30});
    n = mb_add_node(m, "Transpose", "x", "y");
    mb_attr_int(n, "perm", 1);
    mb_output(m, "y");
    assert_int_equal(create(m, &s), NORMA_ERR_MODEL);
    assert_non_null(strstr(norma_last_error(), "attribute 'perm' is INT, expected INTS"));
    mb_free(m);
}

static void tensor_files_round_trip(void **state)
{
    (void)state;
    make_tmpdir();
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/t.pb", tmpdir);
    int64_t dims[3] = {2, 1, 3};
    ir_tensor *t = ir_tensor_new(NORMA_INT64, 3, dims);
    for (int i = 0; i < 6; i++)
        ((int64_t *)t->data)[i] = i * 1000000007LL;
    assert_int_equal(ld_write_tensor_file(path, t, "name/with/slash", err, sizeof err), NORMA_OK);
    ir_tensor *r;
    char *name;
    assert_int_equal(ld_read_tensor_file(path, &r, &name, err, sizeof err), NORMA_OK);
    assert_string_equal(name, "name/with/slash");
    assert_int_equal(r->rank, 3);
    assert_memory_equal(r->dims, dims, sizeof dims);
    assert_memory_equal(r->data, t->data, 48);
    free(name);
    ir_tensor_free(r);
    ir_tensor_free(t);
    assert_int_equal(ld_read_tensor_file("/nonexistent.pb", &r, NULL, err, sizeof err), NORMA_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent.pb"));
}

/* A model of more than 16 MB is read (or copied) by several threads, each its own
 * range (import.c: fill_bytes): every byte of every weight must arrive, whatever the
 * thread count, from a file and from memory. Three weights of awkward sizes so that
 * range boundaries fall inside them; each float is its own index, so a range read
 * twice, shifted or skipped shows. */
static void large_model_read_by_several_threads_arrives_whole(void **state)
{
    (void)state;
    const int64_t sizes[3] = {3000001, 1234567, 2100003}; /* about 25 MB */
    float *w[3];
    mb_model *m = mb_new(17);
    for (int i = 0; i < 3; i++) {
        w[i] = malloc((size_t)sizes[i] * sizeof(float));
        assert_non_null(w[i]);
        for (int64_t k = 0; k < sizes[i]; k++)
            w[i][k] = (float)(k + 1) + 0.25f * (float)i;
        char name[8];
        snprintf(name, sizeof name, "w%d", i);
        mb_init_f32(m, name, 1, &sizes[i], w[i]);
    }
    mb_attr_int(mb_add_node(m, "Concat", "w0,w1,w2", "y"), "axis", 0);
    mb_output(m, "y");
    size_t n;
    uint8_t *b = mb_serialize(m, &n);
    mb_free(m);
    assert_true(n > ((size_t)16 << 20));
    char path[] = "/tmp/norma-loader-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, n), (ssize_t)n);
    close(fd);
    const int threads[] = {1, 2, 3, 8};
    for (int from_file = 0; from_file < 2; from_file++)
        for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
            ir_graph *g = NULL;
            ld_store *st = NULL;
            char err[256];
            int rc = from_file ? ld_load_file(path, threads[t], &g, &st, err, sizeof err)
                               : ld_load_memory(b, n, threads[t], &g, &st, err, sizeof err);
            assert_int_equal(rc, 0);
            int found = 0;
            for (int v = 0; v < g->n_values; v++) {
                const ir_value *val = &g->values[v];
                if (!val->constant || val->name[0] != 'w')
                    continue;
                int i = val->name[1] - '0';
                assert_int_equal(val->constant->dims[0], sizes[i]);
                assert_memory_equal(val->constant->data, w[i], (size_t)sizes[i] * sizeof(float));
                found++;
            }
            assert_int_equal(found, 3);
            ir_graph_free(g);
            ld_store_free(st);
        }
    /* and the whole path through a session, with two threads */
    norma_options opt;
    norma_options_init(&opt);
    opt.threads = 2;
    norma_session *s = NULL;
    assert_int_equal(norma_session_create_from_file(path, &opt, &s), NORMA_OK);
    norma_tensor out;
    run_no_inputs(s, &out);
    assert_int_equal(out.dims[0], sizes[0] + sizes[1] + sizes[2]);
    const float *y = out.data;
    for (int i = 0, at = 0; i < 3; at += (int)sizes[i], i++)
        assert_memory_equal(y + at, w[i], (size_t)sizes[i] * sizeof(float));
    norma_session_free(s);
    unlink(path);
    free(b);
    for (int i = 0; i < 3; i++)
        free(w[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typed_fields_decode_every_dtype),
        cmocka_unit_test(float16_int32_data_keeps_bits),
        cmocka_unit_test(raw_data_shorter_than_shape_is_refused),
        cmocka_unit_test(constant_nodes_of_every_form),
        cmocka_unit_test(initializer_listed_as_input_is_a_constant),
        cmocka_unit_test(external_data_is_read_at_its_offset),
        cmocka_unit_test(external_data_refusals),
        cmocka_unit_test(external_data_from_memory_is_refused),
        cmocka_unit_test(nodes_out_of_order_are_sorted),
        cmocka_unit_test(cycle_missing_and_duplicate_values_are_errors),
        cmocka_unit_test(every_unsupported_op_is_listed_once),
        cmocka_unit_test(local_function_is_inlined),
        cmocka_unit_test(garbage_truncated_and_missing_files),
        cmocka_unit_test(attribute_of_the_wrong_type_is_an_error),
        cmocka_unit_test(tensor_files_round_trip),
        cmocka_unit_test(large_model_read_by_several_threads_arrives_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
