/*
 * Public API tests: value info (symbolic dims), input validation with its messages,
 * outputs borrowed or copied, re-planning when shapes change, NULL handling, and
 * several threads running one session with different shapes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modelbuild.h"
#include "norma.h"

/* y = Identity(x) with x of shape (batch, 3): batch symbolic. */
static norma_session *identity_session(void)
{
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){-1, 3});
    mb_add_node(m, "Identity", "x", "y");
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    norma_session *s = NULL;
    assert_int_equal(norma_session_create_from_memory(bytes, len, NULL, &s), NORMA_OK);
    free(bytes);
    mb_free(m);
    return s;
}

static void info_reports_symbolic_dims(void **state)
{
    (void)state;
    norma_session *s = identity_session();
    assert_int_equal(norma_input_count(s), 1);
    assert_int_equal(norma_output_count(s), 1);
    norma_value_info vi;
    assert_int_equal(norma_input_info(s, 0, &vi), NORMA_OK);
    assert_string_equal(vi.name, "x");
    assert_int_equal(vi.dtype, NORMA_FLOAT);
    assert_int_equal(vi.rank, 2);
    assert_int_equal(vi.dims[0], -1);
    assert_string_equal(vi.dim_names[0], "d0");
    assert_int_equal(vi.dims[1], 3);
    assert_null(vi.dim_names[1]);
    assert_int_equal(norma_input_info(s, 1, &vi), NORMA_ERR_ARGUMENT);
    assert_non_null(strstr(norma_last_error(), "out of range"));
    assert_int_equal(norma_output_info(s, 0, &vi), NORMA_OK);
    assert_string_equal(vi.name, "y");
    norma_session_free(s);
}

static void bad_inputs_get_errors_and_session_stays_usable(void **state)
{
    (void)state;
    norma_session *s = identity_session();
    float x[6] = {1, 2, 3, 4, 5, 6}, y[6];
    int32_t xi[6] = {0};
    norma_tensor out = {.data = y, .capacity = sizeof y};
    norma_tensor in = {.name = "x", .dtype = NORMA_FLOAT, .rank = 2, .dims = {2, 3}, .data = x};

    norma_tensor bad = in;
    bad.dtype = NORMA_INT32;
    bad.data = xi;
    assert_int_equal(norma_run(s, &bad, 1, &out, 1), NORMA_ERR_SHAPE);
    assert_string_equal(norma_last_error(), "input 'x' has dtype int32, the model expects float");

    bad = in;
    bad.rank = 3;
    assert_int_equal(norma_run(s, &bad, 1, &out, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(norma_last_error(), "rank 3, the model expects 2"));

    bad = in;
    bad.dims[1] = 4;
    assert_int_equal(norma_run(s, &bad, 1, &out, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(norma_last_error(), "dimension 1 = 4, the model expects 3"));

    bad = in;
    bad.name = "nope";
    assert_int_equal(norma_run(s, &bad, 1, &out, 1), NORMA_ERR_ARGUMENT);
    assert_non_null(strstr(norma_last_error(), "no input named 'nope'"));

    assert_int_equal(norma_run(s, NULL, 0, &out, 1), NORMA_ERR_SHAPE);
    assert_non_null(strstr(norma_last_error(), "input 'x' is missing"));

    bad = in;
    bad.data = NULL;
    assert_int_equal(norma_run(s, &bad, 1, &out, 1), NORMA_ERR_ARGUMENT);
    assert_non_null(strstr(norma_last_error(), "NULL data"));

    bad = in;
    bad.dims[0] = -2;
    assert_int_equal(norma_run(s, &bad, 1, &out, 1), NORMA_ERR_SHAPE);

    norma_tensor small = {.data = y, .capacity = 8};
    assert_int_equal(norma_run(s, &in, 1, &small, 1), NORMA_ERR_ARGUMENT);
    assert_non_null(strstr(norma_last_error(), "needs 24 bytes"));

    norma_tensor named = {.name = "zz"};
    assert_int_equal(norma_run(s, &in, 1, &named, 1), NORMA_ERR_ARGUMENT);
    assert_int_equal(norma_run(NULL, &in, 1, &out, 1), NORMA_ERR_ARGUMENT);

    /* still usable */
    memset(y, 0, sizeof y);
    assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
    assert_memory_equal(x, y, sizeof x);
    assert_int_equal(out.rank, 2);
    assert_int_equal(out.dims[0], 2);
    norma_session_free(s);
}

static void borrowed_outputs_and_new_shapes(void **state)
{
    (void)state;
    norma_session *s = identity_session();
    for (int64_t b = 1; b <= 5; b += 2) {
        float x[15];
        for (int i = 0; i < 15; i++)
            x[i] = (float)(i * b);
        norma_tensor in = {.dtype = NORMA_FLOAT, .rank = 2, .dims = {b, 3}, .data = x};
        norma_tensor out = {0};
        assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
        assert_int_equal(out.dims[0], b);
        assert_memory_equal(out.data, x, sizeof(float) * (size_t)(3 * b));
    }
    norma_session_free(s);
}

static void free_functions_accept_null(void **state)
{
    (void)state;
    norma_session_free(NULL);
    assert_int_equal(norma_input_count(NULL), 0);
    assert_int_equal(norma_session_create_from_file("x", NULL, NULL), NORMA_ERR_ARGUMENT);
    norma_session *s;
    assert_int_equal(norma_session_create_from_file(NULL, NULL, &s), NORMA_ERR_ARGUMENT);
    assert_int_equal(norma_dtype_size(NORMA_FLOAT16), 2);
    assert_string_equal(norma_dtype_name(NORMA_INT64), "int64");
}

typedef struct worker {
    norma_session *s;
    int id, failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (int it = 0; it < 200; it++) {
        int64_t b = 1 + (w->id + it) % 4;
        float x[12], y[12];
        for (int i = 0; i < 12; i++)
            x[i] = (float)(w->id * 1000 + it * 10 + i);
        norma_tensor in = {.dtype = NORMA_FLOAT, .rank = 2, .dims = {b, 3}, .data = x};
        norma_tensor out = {.data = y, .capacity = sizeof y};
        if (norma_run(w->s, &in, 1, &out, 1) != NORMA_OK || out.dims[0] != b ||
            memcmp(x, y, sizeof(float) * (size_t)(3 * b)) != 0)
            w->failures++;
    }
    return NULL;
}

static void threads_share_a_session(void **state)
{
    (void)state;
    norma_session *s = identity_session();
    pthread_t th[8];
    worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){s, i, 0};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    norma_session_free(s);
}

static void profile_counts_every_node_run(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 2, (int64_t[]){-1, 3});
    mb_add_node(m, "Relu", "x", "r");
    mb_add_node(m, "Neg", "r", "y");
    mb_output(m, "y");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    mb_free(m);
    norma_options opt;
    norma_options_init(&opt);
    opt.optimize = 0;
    norma_session *plain = NULL, *s = NULL;
    assert_int_equal(norma_session_create_from_memory(bytes, len, &opt, &plain), NORMA_OK);
    opt.profile = 1;
    assert_int_equal(norma_session_create_from_memory(bytes, len, &opt, &s), NORMA_OK);
    free(bytes);
    float x[90];
    for (int i = 0; i < 90; i++)
        x[i] = (float)(i % 7) - 3;
    norma_tensor in = {.dtype = NORMA_FLOAT, .rank = 2, .dims = {30, 3}, .data = x}, out;
    for (int r = 0; r < 3; r++) {
        memset(&out, 0, sizeof out);
        assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
        assert_int_equal(norma_run(plain, &in, 1, &out, 1), NORMA_OK);
    }
    norma_profile_entry e[4];
    assert_int_equal(norma_profile(plain, e, 4), 0);
    assert_int_equal(norma_profile(s, e, 4), 2);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(e[k].calls, 3);
        assert_true(e[k].ms >= 0);
        assert_true(strcmp(e[k].op_type, "Relu") == 0 || strcmp(e[k].op_type, "Neg") == 0);
    }
    assert_true(e[0].ms >= e[1].ms);
    norma_node_profile np[4];
    assert_int_equal(norma_profile_nodes(plain, np, 4), 0);
    assert_int_equal(norma_profile_nodes(s, np, 4), 2);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(np[k].calls, 3);
        assert_true(strcmp(np[k].op_type, "Relu") == 0 || strcmp(np[k].op_type, "Neg") == 0);
        assert_non_null(np[k].node);
    }
    assert_true(np[0].ms >= np[1].ms);
    assert_true(strcmp(np[0].op_type, np[1].op_type) != 0);
    /* a reset forgets those runs: none is listed, then only the run after it */
    norma_profile_reset(s);
    norma_profile_reset(plain);
    norma_profile_reset(NULL);
    assert_int_equal(norma_profile_nodes(s, np, 4), 0);
    assert_int_equal(norma_profile(s, e, 4), 2);
    for (int k = 0; k < 2; k++)
        assert_true(e[k].calls == 0 && e[k].ms == 0);
    memset(&out, 0, sizeof out);
    assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
    assert_int_equal(norma_profile_nodes(s, np, 4), 2);
    for (int k = 0; k < 2; k++)
        assert_int_equal(np[k].calls, 1);
    norma_session_free(s);
    norma_session_free(plain);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(info_reports_symbolic_dims),
        cmocka_unit_test(bad_inputs_get_errors_and_session_stays_usable),
        cmocka_unit_test(borrowed_outputs_and_new_shapes),
        cmocka_unit_test(free_functions_accept_null),
        cmocka_unit_test(threads_share_a_session),
        cmocka_unit_test(profile_counts_every_node_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
