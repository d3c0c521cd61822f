/*
 * Control flow and sequences through the public API: Loop and If bodies that read
 * values of the enclosing graph (bound by position, so the passes may rename them),
 * scan outputs stacked per iteration, a sequence built and indexed in the graph, and
 * run-time errors inside them that leave the session usable.
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

static norma_session *create(mb_model *m, int optimize)
{
    size_t len;
    uint8_t *bytes = mb_serialize(m, &len);
    norma_options opt;
    norma_options_init(&opt);
    opt.optimize = optimize;
    norma_session *s = NULL;
    assert_int_equal(norma_session_create_from_memory(bytes, len, &opt, &s), NORMA_OK);
    free(bytes);
    return s;
}

/* acc, steps = Loop(M, "", acc0) with body: acc' = acc + w, step = acc' * iter,
 * where w = Identity(x) * 2 lives in the outer graph. */
static void loop_reads_outer_values_and_stacks_scans(void **state)
{
    (void)state;
    for (int optimize = 0; optimize <= 1; optimize++) {
        mb_model *body = mb_new(13);
        mb_input(body, "iter", NORMA_INT64, 0, NULL);
        mb_input(body, "cond_in", NORMA_BOOL, 0, NULL);
        mb_input(body, "acc", NORMA_FLOAT, 1, (int64_t[]){3});
        mb_add_node(body, "Identity", "cond_in", "cond_out");
        mb_add_node(body, "Add", "acc,w", "acc_next");
        mb_attr_int(mb_add_node(body, "Cast", "iter", "iter_f"), "to", NORMA_FLOAT);
        mb_add_node(body, "Mul", "acc_next,iter_f", "step");
        mb_output(body, "cond_out");
        mb_output(body, "acc_next");
        mb_output(body, "step");

        mb_model *m = mb_new(13);
        mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){3});
        mb_input(m, "acc0", NORMA_FLOAT, 1, (int64_t[]){3});
        mb_init_i64(m, "M", 0, NULL, (int64_t[]){4});
        mb_init_f32(m, "two", 0, NULL, (float[]){2});
        mb_add_node(m, "Identity", "x", "xi");
        mb_add_node(m, "Mul", "xi,two", "w");
        mb_attr_graph(mb_add_node(m, "Loop", "M,,acc0", "acc,steps"), "body", body);
        mb_output(m, "acc");
        mb_output(m, "steps");
        norma_session *s = create(m, optimize);
        mb_free(m);
        mb_free(body);

        float x[3] = {1, -2, 0.5f}, acc0[3] = {10, 20, 30};
        norma_tensor in[2] = {{.dtype = NORMA_FLOAT, .rank = 1, .dims = {3}, .data = x},
                              {.dtype = NORMA_FLOAT, .rank = 1, .dims = {3}, .data = acc0}};
        norma_tensor out[2];
        memset(out, 0, sizeof out);
        assert_int_equal(norma_run(s, in, 2, out, 2), NORMA_OK);
        assert_int_equal(out[0].rank, 1);
        assert_int_equal(out[1].rank, 2);
        assert_int_equal(out[1].dims[0], 4);
        assert_int_equal(out[1].dims[1], 3);
        const float *acc = out[0].data, *steps = out[1].data;
        for (int j = 0; j < 3; j++) {
            assert_true(acc[j] == acc0[j] + 4 * 2 * x[j]);
            for (int it = 0; it < 4; it++)
                assert_true(steps[it * 3 + j] == (acc0[j] + (float)(it + 1) * 2 * x[j]) * (float)it);
        }
        norma_session_free(s);
    }
}

/* y = If(c) then (x + a) else (x - a), a an outer value computed from x. */
static void if_takes_the_branch_the_data_says(void **state)
{
    (void)state;
    mb_model *then_g = mb_new(13), *else_g = mb_new(13);
    mb_add_node(then_g, "Add", "x,a", "t");
    mb_output(then_g, "t");
    mb_add_node(else_g, "Sub", "x,a", "e");
    mb_output(else_g, "e");
    mb_model *m = mb_new(13);
    mb_input(m, "c", NORMA_BOOL, 0, NULL);
    mb_input(m, "x", NORMA_FLOAT, 1, (int64_t[]){2});
    mb_add_node(m, "Abs", "x", "a");
    mb_node *n = mb_add_node(m, "If", "c", "y");
    mb_attr_graph(n, "then_branch", then_g);
    mb_attr_graph(n, "else_branch", else_g);
    mb_output(m, "y");
    norma_session *s = create(m, 1);
    mb_free(m);
    mb_free(then_g);
    mb_free(else_g);
    float x[2] = {-3, 4};
    for (int c = 0; c <= 1; c++) {
        unsigned char cv = (unsigned char)c;
        norma_tensor in[2] = {{.dtype = NORMA_BOOL, .rank = 0, .data = &cv},
                              {.dtype = NORMA_FLOAT, .rank = 1, .dims = {2}, .data = x}};
        norma_tensor out;
        memset(&out, 0, sizeof out);
        assert_int_equal(norma_run(s, in, 2, &out, 1), NORMA_OK);
        const float *y = out.data;
        assert_true(y[0] == (c ? 0.0f : -6.0f));
        assert_true(y[1] == (c ? 8.0f : 0.0f));
    }
    norma_session_free(s);
}

/* y = SequenceAt(SequenceConstruct(a, b, a*b), i): i from the input; out of range is
 * an error naming the op, then the session runs again. */
static void sequence_at_checks_its_position(void **state)
{
    (void)state;
    mb_model *m = mb_new(13);
    mb_input(m, "a", NORMA_FLOAT, 1, (int64_t[]){2});
    mb_input(m, "i", NORMA_INT64, 0, NULL);
    mb_add_node(m, "Mul", "a,a", "sq");
    mb_add_node(m, "SequenceConstruct", "a,sq", "seq");
    mb_add_node(m, "SequenceAt", "seq,i", "y");
    mb_add_node(m, "SequenceLength", "seq", "n");
    mb_output(m, "y");
    mb_output(m, "n");
    norma_session *s = create(m, 1);
    mb_free(m);
    float a[2] = {3, -1};
    const int64_t pos[4] = {1, -2, 2, 0};
    const int want[4] = {NORMA_OK, NORMA_OK, NORMA_ERR_RUNTIME, NORMA_OK};
    for (int k = 0; k < 4; k++) {
        int64_t i = pos[k];
        norma_tensor in[2] = {{.dtype = NORMA_FLOAT, .rank = 1, .dims = {2}, .data = a},
                              {.dtype = NORMA_INT64, .rank = 0, .data = &i}};
        norma_tensor out[2];
        memset(out, 0, sizeof out);
        assert_int_equal(norma_run(s, in, 2, out, 2), want[k]);
        if (want[k]) {
            assert_non_null(strstr(norma_last_error(), "SequenceAt"));
            continue;
        }
        const float *y = out[0].data;
        int64_t idx = i < 0 ? i + 2 : i;
        assert_true(y[0] == (idx ? 9.0f : 3.0f));
        assert_true(y[1] == 1.0f || idx == 0);
        assert_int_equal(*(const int64_t *)out[1].data, 2);
    }
    norma_session_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_reads_outer_values_and_stacks_scans),
        cmocka_unit_test(if_takes_the_branch_the_data_says),
        cmocka_unit_test(sequence_at_checks_its_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
