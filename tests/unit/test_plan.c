/* The memory plan's views: the output of a Reshape (op_ctx.view) shares its input's
 * arena memory, and that memory lives until the last reader of either. The first
 * graph makes a wrong lifetime visible: A = Relu(X), V = Reshape(A), then T1 = Neg(X)
 * and T2 = Abs(T1) are live while V waits for its reader. Were A's block freed after
 * the Reshape, T1 or T2 would take it and Y = V + T2 would be wrong. Graph outputs
 * and graph inputs are never shared. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "graph_builder.h"
#include "norma.h"
#include "runtime/runtime.h"
#include "testutil.h"

static int value_named(const ir_graph *g, const char *name)
{
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].name && strcmp(g->values[v].name, name) == 0)
            return v;
    return -1;
}

static norma_session *session_of(const ir_graph *g, int threads)
{
    size_t size;
    void *bytes = gb_serialize(g, &size);
    norma_options o;
    norma_options_init(&o);
    o.threads = threads;
    o.disable_passes = "all"; /* the graph as built: nothing fused away */
    norma_session *s;
    if (norma_session_create_from_memory(bytes, size, &o, &s))
        fail_msg("%s", norma_last_error());
    free(bytes);
    return s;
}

/* Runs s on x (shape 4x6) and returns output 0 in y (24 floats). */
static void run24(norma_session *s, const float *x, float *y)
{
    norma_tensor in = {.name = "X", .dtype = NORMA_FLOAT, .rank = 2, .dims = {4, 6}, .data = (void *)x};
    norma_tensor out = {0};
    if (norma_run(s, &in, 1, &out, 1))
        fail_msg("%s", norma_last_error());
    assert_int_equal(out.rank == 1 ? out.dims[0] : out.dims[0] * out.dims[1], 24);
    memcpy(y, out.data, 24 * sizeof(float));
}

static void reshape_shares_memory_until_the_last_reader(void **state)
{
    (void)state;
    ir_graph *g = gb_graph(13);
    int64_t xd[] = {4, 6};
    gb_input(g, "X", 2, xd);
    gb_const_ints(g, "shape", 2, (int64_t[]){6, 4});
    gb_const_ints(g, "back", 2, (int64_t[]){4, 6});
    gb_op(g, "Relu", "A", "X", NULL, NULL);
    gb_op(g, "Reshape", "V", "A", "shape", NULL);
    gb_op(g, "Neg", "T1", "X", NULL, NULL);
    gb_op(g, "Abs", "T2", "T1", NULL, NULL);
    gb_op(g, "Reshape", "V2", "V", "back", NULL); /* a view of a view */
    gb_op(g, "Add", "Y", "V2", "T2", NULL);
    gb_output(g, "Y");
    norma_session *s = session_of(g, 1);
    float x[24], y[24];
    tu_seed(5);
    for (int i = 0; i < 24; i++)
        x[i] = tu_uniform(-2, 2);
    run24(s, x, y);
    for (int i = 0; i < 24; i++)
        assert_float_equal(y[i], (x[i] > 0 ? x[i] : 0) + fabsf(x[i]), 0);
    const plan *p = s->current;
    assert_non_null(p);
    int a = value_named(s->g, "A"), v = value_named(s->g, "V"), v2 = value_named(s->g, "V2");
    int t1 = value_named(s->g, "T1"), t2 = value_named(s->g, "T2");
    assert_true(a >= 0 && v >= 0 && v2 >= 0 && t1 >= 0 && t2 >= 0);
    assert_int_equal(p->kind[v], VK_ARENA);
    assert_int_equal(p->offset[v], p->offset[a]);
    assert_int_equal(p->offset[v2], p->offset[a]);
    assert_int_not_equal(p->offset[t1], p->offset[a]);
    assert_int_not_equal(p->offset[t2], p->offset[a]);
    norma_session_free(s);
    ir_graph_free(g);
}

/* A Reshape whose output is a graph output, or whose input is the caller's, copies:
 * the caller's buffers are never shared with the arena. */
static void outputs_and_inputs_are_not_shared(void **state)
{
    (void)state;
    ir_graph *g = gb_graph(13);
    int64_t xd[] = {4, 6};
    gb_input(g, "X", 2, xd);
    gb_const_ints(g, "flat", 1, (int64_t[]){24});
    gb_op(g, "Reshape", "R", "X", "flat", NULL); /* from the caller's input */
    gb_op(g, "Sigmoid", "S", "R", NULL, NULL);
    gb_op(g, "Reshape", "Y", "S", "flat", NULL); /* into a graph output */
    gb_output(g, "Y");
    gb_output(g, "S");
    norma_session *s = session_of(g, 2);
    float x[24], y[24];
    tu_seed(6);
    for (int i = 0; i < 24; i++)
        x[i] = tu_uniform(-3, 3);
    run24(s, x, y);
    for (int i = 0; i < 24; i++)
        assert_float_equal(y[i], 1.0f / (1.0f + expf(-x[i])), 1e-6);
    const plan *p = s->current;
    int r = value_named(s->g, "R"), sv = value_named(s->g, "S"), yv = value_named(s->g, "Y");
    assert_int_equal(p->kind[r], VK_ARENA);
    assert_int_not_equal(p->offset[yv], p->offset[sv]);
    norma_session_free(s);
    ir_graph_free(g);
}

/* A Transpose that moves only axes of size 1 is a view; one that swaps two longer
 * axes is a copy. X (4, 6) -> Unsqueeze (1, 4, 6) -> Relu -> Transpose [1, 0, 2]
 * (4, 1, 6): shared; -> Transpose [0, 2, 1] (4, 6, 1): shared (the moved axis has
 * size 1); Transpose [2, 1, 0] of (4, 6, 1) is (1, 6, 4): a copy. */
static void transpose_of_unit_axes_shares_memory(void **state)
{
    (void)state;
    ir_graph *g = gb_graph(13);
    int64_t xd[] = {4, 6};
    gb_input(g, "X", 2, xd);
    gb_const_ints(g, "ax0", 1, (int64_t[]){0});
    gb_op(g, "Unsqueeze", "U", "X", "ax0", NULL);
    gb_op(g, "Relu", "A", "U", NULL, NULL);
    int t = gb_op(g, "Transpose", "T1", "A", NULL, NULL);
    gb_attr_ints(g, t, "perm", 3, (int64_t[]){1, 0, 2});
    t = gb_op(g, "Transpose", "T2", "T1", NULL, NULL);
    gb_attr_ints(g, t, "perm", 3, (int64_t[]){0, 2, 1});
    t = gb_op(g, "Transpose", "T3", "T2", NULL, NULL);
    gb_attr_ints(g, t, "perm", 3, (int64_t[]){2, 1, 0});
    gb_op(g, "Neg", "Y", "T3", NULL, NULL);
    gb_output(g, "Y");
    norma_session *s = session_of(g, 1);
    float x[24], y[24];
    tu_seed(7);
    for (int i = 0; i < 24; i++)
        x[i] = tu_uniform(-2, 2);
    norma_tensor in = {.name = "X", .dtype = NORMA_FLOAT, .rank = 2, .dims = {4, 6}, .data = x};
    norma_tensor out = {0};
    if (norma_run(s, &in, 1, &out, 1))
        fail_msg("%s", norma_last_error());
    assert_int_equal(out.rank, 3);
    assert_int_equal(out.dims[0], 1);
    assert_int_equal(out.dims[1], 6);
    assert_int_equal(out.dims[2], 4);
    memcpy(y, out.data, sizeof y);
    for (int i = 0; i < 4; i++) /* Y[0][j][i] = -relu(X[i][j]) */
        for (int j = 0; j < 6; j++)
            assert_float_equal(y[j * 4 + i], -(x[i * 6 + j] > 0 ? x[i * 6 + j] : 0), 0);
    const plan *p = s->current;
    int a = value_named(s->g, "A"), t1 = value_named(s->g, "T1"), t2 = value_named(s->g, "T2");
    int t3 = value_named(s->g, "T3");
    assert_int_equal(p->offset[t1], p->offset[a]);
    assert_int_equal(p->offset[t2], p->offset[a]);
    assert_int_not_equal(p->offset[t3], p->offset[a]);
    norma_session_free(s);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reshape_shares_memory_until_the_last_reader),
        cmocka_unit_test(outputs_and_inputs_are_not_shared),
        cmocka_unit_test(transpose_of_unit_axes_shares_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
