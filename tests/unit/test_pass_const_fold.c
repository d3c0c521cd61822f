/* The constant-folding pass: nodes with constant inputs are evaluated once and their
 * outputs become constants; overridable initializers, nondeterministic ops, huge
 * outputs and nodes that fail to evaluate are left alone. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "graph_builder.h"
#include "passes/passes.h"

/* cX -> BN1 -> s; InstanceNorm(X, s, Bi) -> Y. BN1 has only constant inputs. */
static ir_graph *build(int scale_src_overridable)
{
    tu_seed(7);
    ir_graph *g = gb_graph(15);
    int64_t xd[] = {2, 3, 4, 5}, c = 3, cx[] = {1, 3};
    gb_input(g, "X", 4, xd);
    gb_const(g, "cX", 2, cx, NULL, 0.5f, 2);
    if (scale_src_overridable)
        gb_input(g, "cX", 2, cx);
    gb_const(g, "scale", 1, &c, NULL, 0.5f, 2);
    gb_const(g, "B", 1, &c, NULL, -1, 1);
    gb_const(g, "mean", 1, &c, NULL, -1, 1);
    gb_const(g, "var", 1, &c, NULL, 0.1f, 2);
    gb_const(g, "Bi", 1, &c, NULL, -1, 1);
    const char *bin[] = {"cX", "scale", "B", "mean", "var"}, *bout[] = {"s2"};
    gb_node(g, "BatchNormalization", "bn_const", 5, bin, 1, bout);
    /* s2 is (1,3); InstanceNorm wants scale of 3 elements: it is. */
    const char *iin[] = {"X", "s2", "Bi"}, *iout[] = {"Y"};
    gb_node(g, "InstanceNormalization", "in", 3, iin, 1, iout);
    gb_output(g, "Y");
    return g;
}

static void compare(ir_graph *g0, ir_graph *g1)
{
    char err[256] = "";
    int64_t xd[] = {2, 3, 4, 5};
    tu_seed(8);
    ir_tensor *ins[2] = {gb_random(4, xd, -2, 2), NULL};
    if (g0->n_inputs > 1)
        ins[1] = ir_tensor_clone(g0->values[g0->inputs[1]].constant);
    ir_tensor *o0[1], *o1[1];
    if (gb_run(g0, ins, o0, err, sizeof err) || gb_run(g1, ins, o1, err, sizeof err))
        fail_msg("%s", err);
    assert_true(tu_max_rel_err(o1[0]->data, o0[0]->data, ir_tensor_numel(o0[0]), 1e-6, 1e-5) <= 1.0);
    ir_tensor_free(o0[0]);
    ir_tensor_free(o1[0]);
    ir_tensor_free(ins[0]);
    ir_tensor_free(ins[1]);
}

static void const_fold_evaluates_constant_subgraph(void **state)
{
    (void)state;
    ir_graph *g0 = build(0), *g1 = build(0);
    char err[256];
    assert_int_equal(pass_const_fold(g1, err, sizeof err), NORMA_OK);
    assert_int_equal(g1->n_nodes, 1);
    assert_int_equal(gb_count(g1, "BatchNormalization"), 0);
    const ir_value *s2 = &g1->values[ir_find_value(g1, "s2")];
    assert_non_null(s2->constant);
    assert_true(s2->constant->owns_data);
    assert_int_equal(s2->rank, 2);
    assert_int_equal(s2->dims[1], 3);
    assert_int_equal(ir_find_value(g1, "cX"), -1); /* inputs of the folded node are dropped */
    assert_true(gb_producers_consistent(g1));
    compare(g0, g1);
    ir_graph_free(g0);
    ir_graph_free(g1);
}

static void const_fold_keeps_overridable_initializers(void **state)
{
    (void)state;
    ir_graph *g = build(1);
    char err[256];
    assert_int_equal(pass_const_fold(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "BatchNormalization"), 1);
    ir_graph_free(g);
}

/* A whole graph of constants: the graph output itself becomes a constant, and a
 * session still returns it. */
static void const_fold_graph_output_becomes_constant(void **state)
{
    (void)state;
    tu_seed(9);
    ir_graph *g = gb_graph(15);
    int64_t xd[] = {2, 3, 2}, c = 3;
    gb_input(g, "X", 3, xd);
    gb_const(g, "cX", 3, xd, NULL, -1, 1);
    gb_const(g, "scale", 1, &c, NULL, 0.5f, 2);
    gb_const(g, "B", 1, &c, NULL, -1, 1);
    gb_const(g, "mean", 1, &c, NULL, -1, 1);
    gb_const(g, "var", 1, &c, NULL, 0.1f, 2);
    const char *bin[] = {"cX", "scale", "B", "mean", "var"}, *bout[] = {"C1"};
    gb_node(g, "BatchNormalization", "bn1", 5, bin, 1, bout);
    const char *lin[] = {"C1"}, *lout[] = {"C2"};
    int l = gb_node(g, "LRN", "lrn", 1, lin, 1, lout);
    gb_attr_i(g, l, "size", 3);
    const char *xin[] = {"X"}, *xout[] = {"XL"};
    int l2 = gb_node(g, "LRN", "lrn_x", 1, xin, 1, xout);
    gb_attr_i(g, l2, "size", 2);
    gb_output(g, "C2");
    gb_output(g, "XL");
    size_t size;
    void *bytes = gb_serialize(g, &size);
    float *res[2];
    for (int opt = 0; opt < 2; opt++) {
        norma_options o;
        norma_options_init(&o);
        o.optimize = opt;
        norma_session *s;
        if (norma_session_create_from_memory(bytes, size, &o, &s))
            fail_msg("%s", norma_last_error());
        float xv[12] = {0};
        norma_tensor in = {.name = "X", .dtype = NORMA_FLOAT, .rank = 3, .dims = {2, 3, 2}, .data = xv};
        norma_tensor out = {.name = "C2"};
        if (norma_run(s, &in, 1, &out, 1))
            fail_msg("%s", norma_last_error());
        assert_int_equal(out.rank, 3);
        res[opt] = malloc(12 * sizeof(float));
        memcpy(res[opt], out.data, 12 * sizeof(float));
        norma_session_free(s);
    }
    assert_true(tu_max_rel_err(res[1], res[0], 12, 1e-6, 1e-5) <= 1.0);
    free(res[0]);
    free(res[1]);
    char err[256];
    assert_int_equal(pass_const_fold(g, err, sizeof err), NORMA_OK);
    assert_int_equal(g->n_nodes, 1); /* only the LRN on the input is left */
    assert_non_null(g->values[g->outputs[0]].constant);
    free(bytes);
    ir_graph_free(g);
}

/* Nondeterministic ops and nodes that fail to evaluate stay; the pass still succeeds. */
static void const_fold_skips_random_and_failing_nodes(void **state)
{
    (void)state;
    ir_graph *g = gb_graph(15);
    int64_t c = 3, c4 = 4, sd[] = {2, 3};
    gb_const(g, "cX", 2, sd, NULL, -1, 1);
    gb_const(g, "scale", 1, &c4, NULL, 0.5f, 2); /* wrong length: evaluation fails */
    gb_const(g, "B", 1, &c, NULL, -1, 1);
    gb_const(g, "mean", 1, &c, NULL, -1, 1);
    gb_const(g, "var", 1, &c, NULL, 0.1f, 2);
    const char *bin[] = {"cX", "scale", "B", "mean", "var"}, *bout[] = {"Y"};
    gb_node(g, "BatchNormalization", "bad", 5, bin, 1, bout);
    const char *rin[] = {"cX"}, *rout[] = {"R"};
    gb_node(g, "RandomUniformLike", "rnd", 1, rin, 1, rout);
    const char *r2out[] = {"R2"};
    gb_node(g, "RandomNormal", "rnd0", 0, NULL, 1, r2out);
    gb_output(g, "Y");
    gb_output(g, "R");
    gb_output(g, "R2");
    char err[256];
    assert_int_equal(pass_const_fold(g, err, sizeof err), NORMA_OK);
    assert_int_equal(g->n_nodes, 3);
    ir_graph_free(g);
}

/* An output far larger than its inputs (ConstantOfShape) is left to run. */
/* W (K,N) -> Transpose -> MatMul(X, W^T); with extra_reader, W is also a graph output. */
static ir_graph *build_transposed_weight(int extra_reader)
{
    tu_seed(11);
    ir_graph *g = gb_graph(13);
    int64_t xd[] = {3, 160}, wd[] = {120, 160};
    gb_input(g, "X", 2, xd);
    gb_const(g, "W", 2, wd, NULL, -1, 1);
    const char *tin[] = {"W"}, *tout[] = {"WT"};
    int t = gb_node(g, "Transpose", "tr", 1, tin, 1, tout);
    int64_t perm[] = {1, 0};
    gb_attr_ints(g, t, "perm", 2, perm);
    const char *min[] = {"X", "WT"}, *mout[] = {"Y"};
    gb_node(g, "MatMul", "mm", 2, min, 1, mout);
    gb_output(g, "Y");
    if (extra_reader)
        gb_output(g, "W");
    return g;
}

/* A folded Transpose of a weight only it reads (76.8 KB) lands in the weight's own
 * storage instead of a second copy; a weight something else reads is left as it was. */
static void const_fold_transposed_weight_reuses_its_storage(void **state)
{
    (void)state;
    char err[256];
    for (int extra = 0; extra < 2; extra++) {
        ir_graph *g0 = build_transposed_weight(extra), *g1 = build_transposed_weight(extra);
        const ir_tensor *w = g1->values[ir_find_value(g1, "W")].constant;
        const float *old = w->data;
        float *orig = malloc(ir_tensor_nbytes(w));
        assert_non_null(orig);
        memcpy(orig, old, ir_tensor_nbytes(w));
        assert_int_equal(pass_const_fold(g1, err, sizeof err), NORMA_OK);
        assert_int_equal(gb_count(g1, "Transpose"), 0);
        const ir_tensor *wt = g1->values[ir_find_value(g1, "WT")].constant;
        assert_non_null(wt);
        const float *d = wt->data;
        if (extra) {
            assert_ptr_not_equal(d, old);
            assert_memory_equal(g1->values[ir_find_value(g1, "W")].constant->data, orig, 120 * 160 * sizeof(float));
        } else {
            assert_ptr_equal(d, old);
            assert_int_equal(ir_find_value(g1, "W"), -1);
        }
        assert_true(wt->owns_data);
        for (int i = 0; i < 120; i++)
            for (int j = 0; j < 160; j++)
                assert_true(d[j * 120 + i] == orig[i * 160 + j]);
        gb_compare(g0, g1, -1, 1, 1e-6, 1e-5);
        free(orig);
        ir_graph_free(g0);
        ir_graph_free(g1);
    }
}

static void const_fold_skips_huge_outputs(void **state)
{
    (void)state;
    int any;
    if (!op_lookup("", "ConstantOfShape", 15, &any))
        skip();
    ir_graph *g = gb_graph(15);
    int64_t two = 2;
    int v = gb_value(g, "shape");
    ir_tensor *t = ir_tensor_new(NORMA_INT64, 1, &two);
    ((int64_t *)t->data)[0] = 2048;
    ((int64_t *)t->data)[1] = 1024;
    g->values[v].constant = t;
    g->values[v].dtype = NORMA_INT64;
    g->values[v].rank = 1;
    g->values[v].dims[0] = 2;
    const char *in[] = {"shape"}, *out[] = {"Z"};
    gb_node(g, "ConstantOfShape", "cos", 1, in, 1, out);
    gb_output(g, "Z");
    char err[256];
    assert_int_equal(pass_const_fold(g, err, sizeof err), NORMA_OK);
    assert_int_equal(g->n_nodes, 1);
    ((int64_t *)t->data)[0] = 16; /* small: folded */
    assert_int_equal(pass_const_fold(g, err, sizeof err), NORMA_OK);
    assert_int_equal(g->n_nodes, 0);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(const_fold_evaluates_constant_subgraph),
        cmocka_unit_test(const_fold_keeps_overridable_initializers),
        cmocka_unit_test(const_fold_graph_output_becomes_constant),
        cmocka_unit_test(const_fold_skips_random_and_failing_nodes),
        cmocka_unit_test(const_fold_skips_huge_outputs),
        cmocka_unit_test(const_fold_transposed_weight_reuses_its_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
