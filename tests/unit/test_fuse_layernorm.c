/* The fuse-layernorm pass: the decomposed LayerNorm as exporters write it becomes one
 * LayerNormalization with the same outputs (all variants: affine tail or not, Casts
 * around, Reciprocal+Mul, rsqrt as Div(1, .), axes as attribute or input, operand
 * orders), and every guard leaves the pattern alone while it still runs correctly. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_builder.h"
#include "testutil.h"
#include "passes/fuse_util.h"

typedef struct spec {
    int64_t opset;
    int affine;      /* 0 none, 1 scale, 2 scale and bias */
    int recip;       /* 0 Div, 1 Reciprocal+Mul, 2 Div(1, s)+Mul */
    int casts;       /* Cast(to=float) before and after */
    int swap;        /* constant operands first */
    int k;           /* normalized trailing axes (1 or 2) */
    int pos_axes;    /* axes written as positive numbers */
    float exponent;  /* Pow exponent */
    int extra_use;   /* the variance also read by another node */
    int eps_input;   /* eps is a graph input */
    int axes_differ; /* the two ReduceMeans reduce different axes */
    int d_output;    /* d = x - mean is also a graph output */
    int scale_outer; /* scale has a dim outside the normalized axes */
} spec;

static ir_graph *build(const spec *s)
{
    tu_seed(5);
    ir_graph *g = gb_graph(s->opset);
    int64_t dims[] = {2, 3, 37};
    gb_input(g, "X", 3, dims);
    const char *x = "X";
    if (s->casts) {
        gb_attr_i(g, gb_op(g, "Cast", "xc", "X", NULL, NULL), "to", NORMA_FLOAT);
        x = "xc";
    }
    int64_t axes1[2], axes2[2];
    for (int i = 0; i < s->k; i++) {
        axes1[i] = s->pos_axes ? 3 - s->k + i : -s->k + i;
        axes2[i] = axes1[i];
    }
    if (s->axes_differ)
        axes2[0] = s->k == 1 ? 1 : 0;
    gb_reduce_mean(g, "mean", x, s->k, axes1);
    gb_op(g, "Sub", "d", x, "mean", NULL);
    gb_scalar(g, "two", s->exponent);
    gb_op(g, "Pow", "p", "d", "two", NULL);
    gb_reduce_mean(g, "var", "p", s->k, axes2);
    if (s->eps_input) {
        gb_input(g, "eps", 0, dims);
    } else {
        gb_scalar(g, "eps", 1e-5f);
    }
    gb_op(g, "Add", "ve", s->swap ? "eps" : "var", s->swap ? "var" : "eps", NULL);
    gb_op(g, "Sqrt", "sd", "ve", NULL, NULL);
    if (s->recip == 0) {
        gb_op(g, "Div", "n", "d", "sd", NULL);
    } else {
        if (s->recip == 1) {
            gb_op(g, "Reciprocal", "r", "sd", NULL, NULL);
        } else {
            gb_scalar(g, "one", 1.0f);
            gb_op(g, "Div", "r", "one", "sd", NULL);
        }
        gb_op(g, "Mul", "n", s->swap ? "r" : "d", s->swap ? "d" : "r", NULL);
    }
    const char *y = "n";
    int64_t pd[2] = {3, 37}, od[2] = {3, 1};
    if (s->affine >= 1) {
        if (s->scale_outer)
            gb_const(g, "scale", 2, od, NULL, 0.5f, 2);
        else
            gb_const(g, "scale", s->k, pd + 2 - s->k, NULL, 0.5f, 2);
        gb_op(g, "Mul", "m", s->swap ? "scale" : "n", s->swap ? "n" : "scale", NULL);
        y = "m";
    }
    if (s->affine >= 2) {
        gb_const(g, "bias", 1, pd + 1, NULL, -1, 1);
        gb_op(g, "Add", "b", s->swap ? "bias" : "m", s->swap ? "m" : "bias", NULL);
        y = "b";
    }
    if (s->casts) {
        gb_attr_i(g, gb_op(g, "Cast", "Y", y, NULL, NULL), "to", NORMA_FLOAT);
    } else {
        gb_op(g, "Identity", "Y", y, NULL, NULL);
    }
    gb_output(g, "Y");
    if (s->extra_use) {
        gb_op(g, "Identity", "v2", "var", NULL, NULL);
        gb_output(g, "v2");
    }
    if (s->d_output)
        gb_output(g, "d");
    return g;
}

/* Runs the pass and compares with the unfused graph; returns 1 when it fused. */
static int fuse_and_compare(const spec *s)
{
    ir_graph *g0 = build(s), *g1 = build(s);
    char err[256] = "";
    assert_int_equal(pass_fuse_layernorm(g1, err, sizeof err), NORMA_OK);
    int fused = gb_count(g1, "LayerNormalization");
    if (fused) {
        assert_int_equal(fused, 1);
        /* what remains: the LN and the Identity/Cast nodes outside the pattern */
        int outside = 1 + (s->casts ? 1 : 0) + (s->extra_use ? 1 : 0) + (s->scale_outer ? 2 : 0);
        assert_int_equal(g1->n_nodes, 1 + outside);
        assert_int_equal(gb_count(g1, "ReduceMean") + gb_count(g1, "Sqrt") + gb_count(g1, "Pow"), 0);
        const ir_node *ln = gb_find(g1, "LayerNormalization");
        assert_int_equal(ir_attr_int(ln, "axis", 0), -s->k);
        assert_true(fabsf(ir_attr_float(ln, "epsilon", 0) - 1e-5f) < 1e-12f);
        assert_int_equal(ln->n_in, s->affine == 2 && !s->scale_outer ? 3 : 2);
    } else {
        assert_int_equal(g1->n_nodes, g0->n_nodes);
    }
    gb_compare(g0, g1, -3, 5, 1e-5, 1e-4);
    ir_graph_free(g0);
    ir_graph_free(g1);
    return fused;
}

static void layernorm_variants_fuse_to_one_node(void **state)
{
    (void)state;
    const spec cases[] = {
        {14, 2, 0, 0, 0, 1, 0, 2.0f},  /* torch nn.LayerNorm at opset 14 */
        {14, 1, 0, 0, 0, 1, 0, 2.0f},  /* scale only */
        {14, 0, 0, 0, 0, 1, 0, 2.0f},  /* no affine tail */
        {14, 2, 1, 0, 0, 1, 0, 2.0f},  /* Reciprocal + Mul */
        {14, 2, 2, 0, 1, 1, 0, 2.0f},  /* Div(1, s) + Mul, operands swapped */
        {14, 2, 0, 1, 0, 1, 0, 2.0f},  /* Casts around */
        {14, 2, 0, 0, 1, 2, 0, 2.0f},  /* two trailing axes, constants first */
        {13, 2, 0, 0, 0, 2, 1, 2.0f},  /* positive axes (rank known) */
        {18, 2, 0, 0, 0, 1, 0, 2.0f},  /* axes as a constant input */
        {18, 0, 1, 1, 1, 2, 0, 2.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fuse_and_compare(&cases[i]))
            fail_msg("case %zu was not fused", i);
}

static void layernorm_guards_leave_the_pattern(void **state)
{
    (void)state;
    spec base = {14, 2, 0, 0, 0, 1, 0, 2.0f};
    spec cases[6];
    for (int i = 0; i < 6; i++)
        cases[i] = base;
    cases[0].exponent = 3.0f;     /* not a variance */
    cases[1].extra_use = 1;       /* an intermediate read twice */
    cases[2].eps_input = 1;       /* eps not constant */
    cases[3].axes_differ = 1;     /* reductions over different axes */
    cases[4].d_output = 1;        /* intermediate is a graph output */
    cases[5].scale_outer = 1;     /* scale broadcasts across the outer axes: the tail stays */
    for (int i = 0; i < 5; i++)
        if (fuse_and_compare(&cases[i]))
            fail_msg("guard case %d was fused", i);
    /* the affine tail that is not per-normalized-element stays a Mul/Add after the LN */
    ir_graph *g = build(&cases[5]);
    char err[256];
    assert_int_equal(pass_fuse_layernorm(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "LayerNormalization"), 1);
    assert_int_equal(gb_count(g, "Mul"), 1);
    assert_int_equal(gb_count(g, "Add"), 1);
    ir_graph_free(g);
    fuse_and_compare(&cases[5]);
}

/* A float16 eps means the pattern computes in float16: LayerNormalization here is
 * float32 only, so the pattern stays. */
static void layernorm_float16_pattern_stays(void **state)
{
    (void)state;
    spec s = {14, 2, 0, 0, 0, 1, 0, 2.0f};
    ir_graph *g = build(&s);
    int e = ir_find_value(g, "eps");
    ir_tensor_free(g->values[e].constant);
    int64_t one = 1;
    g->values[e].constant = ir_tensor_new(NORMA_FLOAT16, 0, &one);
    ((uint16_t *)g->values[e].constant->data)[0] = 0x0001; /* smallest subnormal */
    g->values[e].dtype = NORMA_FLOAT16;
    char err[256];
    assert_int_equal(pass_fuse_layernorm(g, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "LayerNormalization"), 0);
    ir_graph_free(g);
}

/* The pass is in the pipeline, and switching it off by name keeps the pattern. */
static void layernorm_pass_runs_in_pipeline_and_can_be_disabled(void **state)
{
    (void)state;
    spec s = {14, 2, 0, 0, 0, 1, 0, 2.0f};
    char err[256];
    ir_graph *g = build(&s);
    assert_int_equal(pass_run_all(g, NULL, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "LayerNormalization"), 1);
    assert_true(gb_producers_consistent(g));
    ir_graph_free(g);
    g = build(&s);
    assert_int_equal(pass_run_all(g, "fuse-layernorm", err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "LayerNormalization"), 0);
    /* with the LN pass off, the RMS pass takes the inner part: d / sqrt(mean(d^2) + eps),
     * which is still right (d is centred) */
    assert_int_equal(gb_count(g, "RMSNormalization"), 1);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layernorm_variants_fuse_to_one_node),
        cmocka_unit_test(layernorm_guards_leave_the_pattern),
        cmocka_unit_test(layernorm_float16_pattern_stays),
        cmocka_unit_test(layernorm_pass_runs_in_pipeline_and_can_be_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
