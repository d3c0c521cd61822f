/*
 * Shapes that depend on data computed at run time: a Reshape whose target is sliced
 * out of a large input (too large for the planner to see its values) is inferred at
 * run time, with the nodes after it; the output shape follows the data from run to
 * run, a bad target is an error, and the session stays usable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "modelbuild.h"
#include "norma.h"

#define NB 100

/* z = Relu(Reshape(x, Slice(b, [0], [2]))), w = Neg(x) */
static norma_session *reshape_by_data_session(void)
{
    mb_model *m = mb_new(13);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){12});
    mb_input(m, "b", NORMA_INT64, 1, (int64_t[]){NB});
    mb_init_i64(m, "starts", 1, (int64_t[]){1}, (int64_t[]){0});
    mb_init_i64(m, "ends", 1, (int64_t[]){1}, (int64_t[]){2});
    mb_add_node(m, "Slice", "b,starts,ends", "s");
    mb_add_node(m, "Reshape", "x,s", "y");
    mb_add_node(m, "Relu", "y", "z");
    mb_add_node(m, "Neg", "x", "w");
    mb_output(m, "z");
    mb_output(m, "w");
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    norma_session *s = NULL;
    assert_int_equal(norma_session_create_from_memory(bytes, len, NULL, &s), NORMA_OK);
    free(bytes);
    mb_free(m);
    return s;
}

static int run(norma_session *s, const float *x, int64_t d0, int64_t d1, norma_tensor *out)
{
    int64_t b[NB] = {0};
    b[0] = d0;
    b[1] = d1;
    norma_tensor in[2] = {
        {.dtype = NORMA_FLOAT, .rank = 1, .dims = {12}, .data = (void *)x},
        {.dtype = NORMA_INT64, .rank = 1, .dims = {NB}, .data = b},
    };
    memset(out, 0, 2 * sizeof *out);
    return norma_run(s, in, 2, out, 2);
}

static void output_shape_follows_runtime_data(void **state)
{
    (void)state;
    norma_session *s = reshape_by_data_session();
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)(i - 5);
    norma_tensor out[2];
    const int64_t shapes[3][2] = {{3, 4}, {2, 6}, {12, 1}};
    for (int r = 0; r < 3; r++) {
        assert_int_equal(run(s, x, shapes[r][0], shapes[r][1], out), NORMA_OK);
        assert_int_equal(out[0].rank, 2);
        assert_int_equal(out[0].dims[0], shapes[r][0]);
        assert_int_equal(out[0].dims[1], shapes[r][1]);
        const float *z = out[0].data, *w = out[1].data;
        for (int i = 0; i < 12; i++) {
            assert_true(z[i] == (x[i] > 0 ? x[i] : 0));
            assert_true(w[i] == -x[i]);
        }
    }
    norma_session_free(s);
}

static void bad_runtime_target_is_an_error_and_session_recovers(void **state)
{
    (void)state;
    norma_session *s = reshape_by_data_session();
    float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    norma_tensor out[2];
    assert_int_equal(run(s, x, 5, 5, out), NORMA_ERR_SHAPE);
    assert_non_null(strstr(norma_last_error(), "Reshape"));
    assert_int_equal(run(s, x, 4, 3, out), NORMA_OK);
    assert_int_equal(out[0].dims[0], 4);
    assert_true(((const float *)out[0].data)[11] == 12);
    norma_session_free(s);
}

static void output_info_of_runtime_shape_is_symbolic(void **state)
{
    (void)state;
    norma_session *s = reshape_by_data_session();
    norma_value_info vi;
    assert_int_equal(norma_output_info(s, 1, &vi), NORMA_OK);
    assert_string_equal(vi.name, "w");
    assert_int_equal(norma_output_info(s, 0, &vi), NORMA_OK);
    assert_string_equal(vi.name, "z");
    assert_true(vi.rank < 0 || vi.dims[0] < 0); /* not known before a run */
    norma_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(output_shape_follows_runtime_data),
        cmocka_unit_test(bad_runtime_target_is_an_error_and_session_recovers),
        cmocka_unit_test(output_info_of_runtime_shape_is_symbolic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
