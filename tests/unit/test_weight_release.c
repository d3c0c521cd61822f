/* Session creation gives back the memory of weights that every reader packed in init
 * (Gemm/MatMul B): their data becomes NULL, outputs are unchanged, and a weight that
 * some other node still reads, or that is a graph output, is kept. Later packed
 * buffers are made in the memory of weights released before them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph_builder.h"
#include "runtime/runtime.h"
#include "testutil.h"

/* Y = MatMul(X, W) + MatMul(X, V) + ... where V is also read by an Add with itself
 * (V + V -> Z, a second output). W and V are (160, 120): 76.8 KB each. */
static ir_graph *build(void)
{
    tu_seed(5);
    ir_graph *g = gb_graph(13);
    int64_t xd[] = {3, 160}, wd[] = {160, 120};
    gb_input(g, "X", 2, xd);
    gb_const(g, "W", 2, wd, NULL, -1, 1);
    gb_const(g, "V", 2, wd, NULL, -1, 1);
    gb_op(g, "MatMul", "a", "X", "W", NULL);
    gb_op(g, "MatMul", "b", "X", "V", NULL);
    gb_op(g, "Add", "Y", "a", "b", NULL);
    gb_op(g, "Add", "Z", "V", "V", NULL);
    gb_output(g, "Y");
    gb_output(g, "Z");
    return g;
}

static void packed_weights_are_released_and_outputs_unchanged(void **state)
{
    (void)state;
    ir_graph *g = build();
    size_t size;
    void *bytes = gb_serialize(g, &size);
    assert_non_null(bytes);
    int64_t xd[] = {3, 160};
    tu_seed(6);
    ir_tensor *x = gb_random(2, xd, -1, 1);
    ir_tensor *ref[2] = {0};
    ir_tensor *ins[1] = {x};
    char err[256];
    if (gb_run(g, ins, ref, err, sizeof err))
        fail_msg("%s", err);
    for (int opt = 0; opt < 2; opt++) {
        norma_options o;
        norma_options_init(&o);
        o.optimize = opt;
        o.disable_passes = "constant-folding"; /* keep Z = V + V a node that reads V */
        norma_session *s;
        if (norma_session_create_from_memory(bytes, size, &o, &s))
            fail_msg("%s", norma_last_error());
        const ir_graph *sg = s->g;
        assert_null(sg->values[ir_find_value(sg, "W")].constant->data);
        assert_non_null(sg->values[ir_find_value(sg, "V")].constant->data);
        for (int rep = 0; rep < 2; rep++) {
            norma_tensor in = {.name = "X", .dtype = NORMA_FLOAT, .rank = 2, .data = x->data};
            memcpy(in.dims, xd, sizeof xd);
            norma_tensor out[2];
            memset(out, 0, sizeof out);
            out[0].name = "Y";
            out[1].name = "Z";
            if (norma_run(s, &in, 1, out, 2))
                fail_msg("%s", norma_last_error());
            for (int k = 0; k < 2; k++) {
                size_t n = ir_tensor_numel(ref[k]);
                assert_true(tu_max_rel_err(out[k].data, ref[k]->data, n, 1e-5, 1e-4) <= 1.0);
            }
        }
        norma_session_free(s);
    }
    ir_tensor_free(ref[0]);
    ir_tensor_free(ref[1]);
    ir_tensor_free(x);
    free(bytes);
    ir_graph_free(g);
}

/* Graph g with one input X of dims xd (rank 2): loads it into a session (returned, with
 * X's random data in *x and the reference output in *ref) so the caller can check the
 * session before its run. */
static norma_session *load_chain(ir_graph *g, const int64_t *xd, ir_tensor **x, ir_tensor **ref)
{
    size_t size;
    void *bytes = gb_serialize(g, &size);
    assert_non_null(bytes);
    *x = gb_random(2, xd, -1, 1);
    ir_tensor *ins[1] = {*x}, *outs[1] = {0};
    char err[256];
    if (gb_run(g, ins, outs, err, sizeof err))
        fail_msg("%s", err);
    *ref = outs[0];
    norma_session *s;
    if (norma_session_create_from_memory(bytes, size, NULL, &s))
        fail_msg("%s", norma_last_error());
    free(bytes);
    return s;
}

/* Runs s on x and compares its output with ref; frees all three and g. */
static void run_matches_and_free(ir_graph *g, norma_session *s, const int64_t *xd, ir_tensor *x, ir_tensor *ref)
{
    norma_tensor in = {.name = "X", .dtype = NORMA_FLOAT, .rank = 2, .data = x->data};
    memcpy(in.dims, xd, 2 * sizeof *xd);
    norma_tensor out;
    memset(&out, 0, sizeof out);
    if (norma_run(s, &in, 1, &out, 1))
        fail_msg("%s", norma_last_error());
    assert_true(tu_max_rel_err(out.data, ref->data, ir_tensor_numel(ref), 1e-5, 1e-4) <= 1.0);
    norma_session_free(s);
    ir_tensor_free(ref);
    ir_tensor_free(x);
    ir_graph_free(g);
}

/* A chain of MatMuls with 1.4 MB weights: each packed B after the first is made in the
 * store memory of a weight packed before it (the recycler); outputs stay exact. */
static void packed_buffers_reuse_released_weights(void **state)
{
    (void)state;
    tu_seed(9);
    ir_graph *g = gb_graph(13);
    int64_t xd[] = {2, 600}, wd[] = {600, 600};
    gb_input(g, "X", 2, xd);
    const char *w[] = {"W0", "W1", "W2", "W3"}, *y[] = {"Y0", "Y1", "Y2", "Y"};
    for (int i = 0; i < 4; i++) {
        gb_const(g, w[i], 2, wd, NULL, -0.05f, 0.05f);
        gb_op(g, "MatMul", y[i], i ? y[i - 1] : "X", w[i], NULL);
    }
    gb_output(g, "Y");
    ir_tensor *x, *ref;
    norma_session *s = load_chain(g, xd, &x, &ref);
    for (int i = 0; i < 4; i++)
        assert_null(s->g->values[ir_find_value(s->g, w[i])].constant->data);
    run_matches_and_free(g, s, xd, x, ref);
}

/* Packed buffers bigger than any single weight released before them: W2's packed B
 * (600 x 1120 floats, 2.7 MB) fits only in the memory of W0 and W1 together (1.44 MB
 * each, next to each other in the store), so the released ranges must join. */
static void released_neighbours_join(void **state)
{
    (void)state;
    tu_seed(11);
    ir_graph *g = gb_graph(13);
    int64_t xd[] = {2, 600}, wd[] = {600, 600}, w2d[] = {600, 1100};
    gb_input(g, "X", 2, xd);
    gb_const(g, "W0", 2, wd, NULL, -0.05f, 0.05f);
    gb_const(g, "W1", 2, wd, NULL, -0.05f, 0.05f);
    gb_const(g, "W2", 2, w2d, NULL, -0.05f, 0.05f);
    gb_op(g, "MatMul", "Y0", "X", "W0", NULL);
    gb_op(g, "MatMul", "Y1", "Y0", "W1", NULL);
    gb_op(g, "MatMul", "Y", "Y1", "W2", NULL);
    gb_output(g, "Y");
    ir_tensor *x, *ref;
    norma_session *s = load_chain(g, xd, &x, &ref);
#ifndef NORMA_STORE_HEAP /* sanitizer builds: one heap block per store allocation */
    assert_true(s->init_recycled >= (size_t)600 * 1100 * sizeof(float));
#endif
    run_matches_and_free(g, s, xd, x, ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(packed_weights_are_released_and_outputs_unchanged),
        cmocka_unit_test(packed_buffers_reuse_released_weights),
        cmocka_unit_test(released_neighbours_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
