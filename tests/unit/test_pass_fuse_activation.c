/* The fuse-activation pass: each activation on each producer becomes the producer's
 * fused_act with the right parameters and the same outputs; guards keep the node; the
 * pass pipeline runs in order and each pass can be switched off by name. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "testutil.h"
#include "kernels/act.h"
#include "graph_builder.h"
#include "passes/passes.h"

typedef struct spec {
    const char *producer;
    const char *act;
    int64_t opset;
    float a1, a2;       /* LeakyRelu/HardSigmoid attrs, Clip bounds (NAN = absent); SiLU:
                         * a1 = 1 puts the Sigmoid first in the Mul, a2 = 1 makes the
                         * Sigmoid's output a graph output too */
    int clip_min_input; /* Clip min is a graph input, not a constant */
    int extra_consumer, producer_is_output;
    int with_bn; /* Conv -> BN -> act */
} spec;

static ir_graph *build(const spec *sp)
{
    tu_seed(31);
    ir_graph *g = gb_graph(sp->opset);
    const char *p = sp->producer;
    int conv = strcmp(p, "Conv") == 0, convt = strcmp(p, "ConvTranspose") == 0;
    int64_t x4[] = {2, 3, 5, 5}, w4[] = {4, 3, 3, 3}, wt[] = {3, 4, 2, 2}, x2[] = {3, 6}, w2[] = {6, 5};
    int64_t one = 1, M = conv ? 4 : convt ? 4 : 5;
    if (conv || convt) {
        gb_input(g, "X", 4, x4);
        gb_const(g, "W", 4, conv ? w4 : wt, NULL, -1, 1);
    } else {
        gb_input(g, "X", 2, x2);
        gb_const(g, "W", 2, w2, NULL, -1, 1);
    }
    const char *in[] = {"X", "W"}, *out[] = {"t"};
    if (strcmp(p, "None") == 0) {
        /* an op that takes no fused activation: InstanceNormalization */
        int64_t c = 3;
        gb_const(g, "s", 1, &c, NULL, 0.5f, 2);
        gb_const(g, "b", 1, &c, NULL, -1, 1);
        const char *iin[] = {"X", "s", "b"};
        gb_node(g, "InstanceNormalization", "prod", 3, iin, 1, out);
    } else {
        gb_node(g, p, "prod", 2, in, 1, out);
    }
    const char *act_in = "t";
    if (sp->with_bn) {
        gb_const(g, "scale", 1, &M, NULL, 0.5f, 2);
        gb_const(g, "B", 1, &M, NULL, -1, 1);
        gb_const(g, "mean", 1, &M, NULL, -1, 1);
        gb_const(g, "var", 1, &M, NULL, 0.1f, 2);
        const char *bin[] = {"t", "scale", "B", "mean", "var"}, *bout[] = {"u"};
        gb_node(g, "BatchNormalization", "bn", 5, bin, 1, bout);
        act_in = "u";
    }
    const char *ain[3] = {act_in, "", ""}, *aout[] = {"Y"};
    int n_in = 1;
    if (strcmp(sp->act, "Clip") == 0 && sp->opset >= 11) {
        if (!isnan(sp->a1)) {
            if (sp->clip_min_input)
                gb_input(g, "lo", 0, &one);
            else
                gb_const(g, "lo", 0, &one, &sp->a1, 0, 0);
            ain[1] = "lo";
            n_in = 2;
        }
        if (!isnan(sp->a2)) {
            gb_const(g, "hi", 0, &one, &sp->a2, 0, 0);
            ain[2] = "hi";
            n_in = 3;
        }
    }
    int silu = strcmp(sp->act, "SiLU") == 0;
    if (silu) { /* Mul(t, Sigmoid(t)), as PyTorch exports SiLU */
        const char *sout[] = {"s"}, *min[2] = {sp->a1 == 1 ? "s" : act_in, sp->a1 == 1 ? act_in : "s"};
        gb_node(g, "Sigmoid", "sig", 1, ain, 1, sout);
        gb_node(g, "Mul", "act", 2, min, 1, aout);
        if (sp->a2 == 1)
            gb_output(g, "s");
    }
    int a = silu ? -1 : gb_node(g, sp->act, "act", n_in, ain, 1, aout);
    if (a < 0) {
    } else if (strcmp(sp->act, "Clip") == 0 && sp->opset < 11) {
        if (!isnan(sp->a1))
            gb_attr_f(g, a, "min", sp->a1);
        if (!isnan(sp->a2))
            gb_attr_f(g, a, "max", sp->a2);
    } else if (strcmp(sp->act, "LeakyRelu") == 0 && !isnan(sp->a1)) {
        gb_attr_f(g, a, "alpha", sp->a1);
    } else if (strcmp(sp->act, "Gelu") == 0 && sp->a1 == 1) {
        gb_attr_s(g, a, "approximate", "tanh");
    } else if (strcmp(sp->act, "HardSigmoid") == 0 && !isnan(sp->a1)) {
        gb_attr_f(g, a, "alpha", sp->a1);
        gb_attr_f(g, a, "beta", sp->a2);
    }
    gb_output(g, "Y");
    if (sp->extra_consumer) {
        const char *iin[] = {"t"}, *iout[] = {"t2"};
        gb_node(g, "Identity", "id", 1, iin, 1, iout);
        gb_output(g, "t2");
    }
    if (sp->producer_is_output)
        gb_output(g, "t");
    return g;
}

/* Runs the pass list (all, or only fuse-activation) and compares with the original. */
static int fuse_and_compare(const spec *sp, int all_passes)
{
    ir_graph *g0 = build(sp), *g1 = build(sp);
    char err[256] = "";
    if (all_passes)
        assert_int_equal(pass_run_all(g1, NULL, err, sizeof err), NORMA_OK);
    else
        assert_int_equal(pass_fuse_activation(g1, err, sizeof err), NORMA_OK);
    int silu = strcmp(sp->act, "SiLU") == 0;
    int fused = silu ? gb_count(g1, "Mul") == 0 && gb_count(g1, "Sigmoid") == 0 : gb_count(g1, sp->act) == 0;
    tu_seed(32);
    ir_tensor *ins[2];
    for (int i = 0; i < g0->n_inputs; i++) {
        const ir_value *v = &g0->values[g0->inputs[i]];
        ins[i] = gb_random(v->rank, v->dims, -3, 3);
    }
    ir_tensor *o0[3], *o1[3];
    if (gb_run(g0, ins, o0, err, sizeof err) || gb_run(g1, ins, o1, err, sizeof err))
        fail_msg("%s", err);
    for (int k = 0; k < g0->n_outputs; k++) {
        double e = tu_max_rel_err(o1[k]->data, o0[k]->data, ir_tensor_numel(o0[k]), 1e-5, 1e-4);
        if (e > 1.0)
            fail_msg("%s + %s: output %d differs (rel err %g)", sp->producer, sp->act, k, e);
        ir_tensor_free(o0[k]);
        ir_tensor_free(o1[k]);
    }
    if (fused) {
        assert_int_equal(g1->n_nodes, 1);
        assert_string_equal(g1->values[g1->nodes[0].out[0]].name, "Y");
        assert_int_not_equal(g1->nodes[0].fused_act, ACT_NONE);
        if (silu)
            assert_int_equal(g1->nodes[0].fused_act, ACT_SILU);
    }
    for (int i = 0; i < g0->n_inputs; i++)
        ir_tensor_free(ins[i]);
    ir_graph_free(g0);
    ir_graph_free(g1);
    return fused;
}

static void fuse_each_activation_into_each_producer(void **state)
{
    (void)state;
    const char *prods[] = {"Conv", "ConvTranspose", "Gemm", "MatMul"};
    for (int p = 0; p < 4; p++) {
        spec s[] = {
            {prods[p], "Relu", 14, NAN, NAN, 0, 0, 0, 0},
            {prods[p], "Sigmoid", 14, NAN, NAN, 0, 0, 0, 0},
            {prods[p], "HardSwish", 14, NAN, NAN, 0, 0, 0, 0},
            {prods[p], "Gelu", 14, NAN, NAN, 0, 0, 0, 0},
            {prods[p], "Gelu", 14, 1, NAN, 0, 0, 0, 0},
            {prods[p], "LeakyRelu", 14, 0.3f, NAN, 0, 0, 0, 0},
            {prods[p], "LeakyRelu", 14, NAN, NAN, 0, 0, 0, 0},
            {prods[p], "HardSigmoid", 14, 0.3f, 0.4f, 0, 0, 0, 0},
            {prods[p], "HardSigmoid", 14, NAN, NAN, 0, 0, 0, 0},
            {prods[p], "Clip", 14, 0.0f, 6.0f, 0, 0, 0, 0},
            {prods[p], "Clip", 14, NAN, 0.5f, 0, 0, 0, 0},
            {prods[p], "Clip", 14, -0.5f, NAN, 0, 0, 0, 0},
            {prods[p], "Clip", 6, -1.0f, 1.0f, 0, 0, 0, 0},
            {prods[p], "Clip", 6, NAN, NAN, 0, 0, 0, 0},
            {prods[p], "SiLU", 14, NAN, NAN, 0, 0, 0, 0},
            {prods[p], "SiLU", 14, 1, NAN, 0, 0, 0, 0},
        };
        for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
            if (!fuse_and_compare(&s[i], 0))
                fail_msg("%s + %s was not fused", s[i].producer, s[i].act);
    }
}

static void fuse_sets_activation_parameters(void **state)
{
    (void)state;
    spec s = {"Conv", "Clip", 14, 0.0f, 6.0f, 0, 0, 0, 0};
    ir_graph *g = build(&s);
    char err[256];
    assert_int_equal(pass_fuse_activation(g, err, sizeof err), NORMA_OK);
    assert_int_equal(g->nodes[0].fused_act, ACT_CLIP);
    assert_true(g->nodes[0].act_alpha == 0.0f && g->nodes[0].act_beta == 6.0f);
    ir_graph_free(g);
    spec h = {"Gemm", "HardSigmoid", 14, NAN, NAN, 0, 0, 0, 0};
    g = build(&h);
    assert_int_equal(pass_fuse_activation(g, err, sizeof err), NORMA_OK);
    assert_int_equal(g->nodes[0].fused_act, ACT_HARD_SIGMOID);
    assert_true(g->nodes[0].act_alpha == 0.2f && g->nodes[0].act_beta == 0.5f);
    ir_graph_free(g);
}

static void fuse_guards_keep_the_activation(void **state)
{
    (void)state;
    spec s[] = {
        {"Conv", "Relu", 14, NAN, NAN, 0, 1, 0, 0},       /* two readers */
        {"Conv", "Relu", 14, NAN, NAN, 0, 0, 1, 0},       /* producer output is a graph output */
        {"Conv", "Clip", 14, 0.0f, 6.0f, 1, 0, 0, 0},     /* min not constant */
        {"Conv", "Clip", 14, 2.0f, 1.0f, 0, 0, 0, 0},     /* min > max */
        {"None", "Relu", 14, NAN, NAN, 0, 0, 0, 0},       /* producer takes no activation */
        {"Conv", "SiLU", 14, NAN, NAN, 0, 1, 0, 0},       /* a third reader of the Conv's output */
        {"Conv", "SiLU", 14, NAN, 1, 0, 0, 0, 0},         /* the Sigmoid's output is a graph output */
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        ir_graph *g = build(&s[i]);
        char err[256];
        assert_int_equal(pass_fuse_activation(g, err, sizeof err), NORMA_OK);
        if (gb_count(g, strcmp(s[i].act, "SiLU") ? s[i].act : "Mul") != 1)
            fail_msg("case %zu: the activation was fused", i);
        ir_graph_free(g);
    }
    /* numerically too, for the cases the interpreter can run */
    assert_false(fuse_and_compare(&s[0], 0));
    assert_false(fuse_and_compare(&s[1], 0));
    assert_false(fuse_and_compare(&s[3], 0));
    assert_false(fuse_and_compare(&s[5], 0));
    assert_false(fuse_and_compare(&s[6], 0));
}

/* Relu(Relu(Conv)): the first fuses, the second stays (one fused activation per node). */
static void fuse_only_one_activation_per_node(void **state)
{
    (void)state;
    spec s = {"Conv", "Relu", 14, NAN, NAN, 0, 0, 0, 0};
    ir_graph *g = build(&s);
    const char *in[] = {"Y"}, *out[] = {"Y2"};
    gb_node(g, "Sigmoid", "act2", 1, in, 1, out);
    g->values[ir_find_value(g, "Y")].is_output = 0;
    g->outputs[0] = ir_find_value(g, "Y2");
    g->values[g->outputs[0]].is_output = 1;
    char err[256];
    assert_int_equal(pass_fuse_activation(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "Relu"), 0);
    assert_int_equal(gb_count(g, "Sigmoid"), 1);
    assert_int_equal(gb_find(g, "Conv")->fused_act, ACT_RELU);
    ir_graph_free(g);
}

/* Mul(t, Sigmoid(r)) with r = Relu(t) is not SiLU: the Mul stays. */
static void fuse_silu_needs_the_same_input(void **state)
{
    (void)state;
    spec s = {"Conv", "Relu", 14, NAN, NAN, 0, 0, 0, 0};
    ir_graph *g = build(&s); /* t = Conv(X), Y = Relu(t) */
    const char *sin[] = {"Y"}, *sout[] = {"s"}, *min[] = {"t", "s"}, *mout[] = {"Z"};
    gb_node(g, "Sigmoid", "sig", 1, sin, 1, sout);
    gb_node(g, "Mul", "mul", 2, min, 1, mout);
    g->values[ir_find_value(g, "Y")].is_output = 0;
    g->outputs[0] = ir_find_value(g, "Z");
    g->values[g->outputs[0]].is_output = 1;
    char err[256];
    assert_int_equal(pass_fuse_activation(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "Mul"), 1);
    assert_int_equal(gb_count(g, "Sigmoid"), 1);
    assert_int_not_equal(gb_find(g, "Conv")->fused_act, ACT_SILU);
    ir_graph_free(g);
}

/* Conv -> BN -> Relu through the whole pipeline: one Conv with folded weights and a
 * fused Relu. */
static void pipeline_folds_bn_then_fuses_activation(void **state)
{
    (void)state;
    spec s = {"Conv", "Relu", 14, NAN, NAN, 0, 0, 0, 1};
    assert_true(fuse_and_compare(&s, 1));
    spec m = {"Gemm", "Clip", 14, 0.0f, 6.0f, 0, 0, 0, 1};
    assert_true(fuse_and_compare(&m, 1));
}

/* Regression: after folding and fusing, the Conv writes what the BN (a later node,
 * now gone) wrote; the planner must see the Conv as the producer, or it gives the
 * output the same arena bytes as the Conv's scratch. */
static void passes_leave_producers_consistent(void **state)
{
    (void)state;
    spec s = {"Conv", "Relu", 14, NAN, NAN, 0, 0, 0, 1};
    char err[256];
    ir_graph *g = build(&s);
    assert_int_equal(ir_graph_toposort(g, err, sizeof err), NORMA_OK);
    assert_int_equal(pass_run_all(g, NULL, err, sizeof err), NORMA_OK);
    assert_true(gb_producers_consistent(g));
    ir_graph_free(g);
    g = build(&s);
    assert_int_equal(ir_graph_toposort(g, err, sizeof err), NORMA_OK);
    assert_int_equal(pass_fold_batchnorm(g, err, sizeof err), NORMA_OK);
    assert_true(gb_producers_consistent(g));
    assert_int_equal(pass_fuse_activation(g, err, sizeof err), NORMA_OK);
    assert_true(gb_producers_consistent(g));
    ir_graph_free(g);
}

static void pass_list_order_and_disabling(void **state)
{
    (void)state;
    int n;
    const pass_def *p = pass_list(&n);
    assert_int_equal(n, 14);
    assert_string_equal(p[0].name, "remove-identity");
    assert_string_equal(p[1].name, "fuse-matmul-transpose");
    assert_string_equal(p[2].name, "constant-folding");
    assert_string_equal(p[3].name, "fold-batchnorm");
    assert_string_equal(p[4].name, "fuse-layernorm");
    assert_string_equal(p[5].name, "fuse-rmsnorm");
    assert_string_equal(p[6].name, "fuse-gelu");
    assert_string_equal(p[7].name, "fuse-residual");
    assert_string_equal(p[8].name, "fuse-matmul-scale");
    assert_string_equal(p[9].name, "fuse-matmul-permute");
    assert_string_equal(p[10].name, "fuse-matmul-add");
    assert_string_equal(p[11].name, "fuse-activation");
    assert_string_equal(p[12].name, "fuse-matmul-softmax");
    assert_string_equal(p[13].name, "fuse-global-pool");
    spec s = {"Conv", "Relu", 14, NAN, NAN, 0, 0, 0, 1};
    char err[256];
    ir_graph *g = build(&s);
    assert_int_equal(pass_run_all(g, "fuse-activation", err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "Relu"), 1);
    assert_int_equal(gb_count(g, "BatchNormalization"), 0);
    ir_graph_free(g);
    g = build(&s);
    assert_int_equal(pass_run_all(g, "fold-batchnorm,constant-folding", err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "BatchNormalization"), 1);
    assert_int_equal(gb_count(g, "Relu"), 1); /* BN between Conv and Relu: nothing to fuse */
    ir_graph_free(g);
    g = build(&s);
    assert_int_equal(pass_run_all(g, "all", err, sizeof err), NORMA_OK);
    assert_int_equal(g->n_nodes, 3);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fuse_each_activation_into_each_producer),
        cmocka_unit_test(fuse_sets_activation_parameters),
        cmocka_unit_test(fuse_guards_keep_the_activation),
        cmocka_unit_test(fuse_only_one_activation_per_node),
        cmocka_unit_test(fuse_silu_needs_the_same_input),
        cmocka_unit_test(pipeline_folds_bn_then_fuses_activation),
        cmocka_unit_test(passes_leave_producers_consistent),
        cmocka_unit_test(pass_list_order_and_disabling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
