/* The fuse-rmsnorm pass: Pow(2) -> ReduceMean -> Add(eps) -> Sqrt -> Div (or
 * Reciprocal/Div(1,.) -> Mul) -> Mul(scale) becomes one RMSNormalization with the same
 * outputs; the guards leave the pattern alone and it still runs correctly. */
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
    int scale;       /* Mul(scale) tail */
    int recip;       /* 0 Div, 1 Reciprocal+Mul, 2 Div(1, s)+Mul */
    int cast;        /* Cast(to=float) on x and between the norm and the scale (T5/LLaMA) */
    int swap;
    float exponent;
    int extra_use;   /* the mean square also read by another node */
    int eps_input;
} spec;

static ir_graph *build(const spec *s)
{
    tu_seed(6);
    ir_graph *g = gb_graph(s->opset);
    int64_t dims[] = {3, 4, 29};
    gb_input(g, "X", 3, dims);
    const char *x = "X";
    if (s->cast) {
        gb_attr_i(g, gb_op(g, "Cast", "xc", "X", NULL, NULL), "to", NORMA_FLOAT);
        x = "xc";
    }
    int64_t axes[] = {-1};
    gb_scalar(g, "two", s->exponent);
    gb_op(g, "Pow", "p", x, "two", NULL);
    gb_reduce_mean(g, "ms", "p", 1, axes);
    if (s->eps_input)
        gb_input(g, "eps", 0, dims);
    else
        gb_scalar(g, "eps", 1e-6f);
    gb_op(g, "Add", "ve", s->swap ? "eps" : "ms", s->swap ? "ms" : "eps", NULL);
    gb_op(g, "Sqrt", "sd", "ve", NULL, NULL);
    if (s->recip == 0) {
        gb_op(g, "Div", "n", x, "sd", NULL);
    } else {
        if (s->recip == 1) {
            gb_op(g, "Reciprocal", "r", "sd", NULL, NULL);
        } else {
            gb_scalar(g, "one", 1.0f);
            gb_op(g, "Div", "r", "one", "sd", NULL);
        }
        gb_op(g, "Mul", "n", s->swap ? "r" : x, s->swap ? x : "r", NULL);
    }
    const char *y = "n";
    if (s->cast) {
        gb_attr_i(g, gb_op(g, "Cast", "nc", "n", NULL, NULL), "to", NORMA_FLOAT);
        y = "nc";
    }
    if (s->scale) {
        int64_t d = 29;
        gb_const(g, "w", 1, &d, NULL, 0.5f, 2);
        gb_op(g, "Mul", "Y", s->swap ? "w" : y, s->swap ? y : "w", NULL);
    } else {
        gb_op(g, "Identity", "Y", y, NULL, NULL);
    }
    gb_output(g, "Y");
    if (s->extra_use) {
        gb_op(g, "Identity", "ms2", "ms", NULL, NULL);
        gb_output(g, "ms2");
    }
    return g;
}

static int fuse_and_compare(const spec *s)
{
    ir_graph *g0 = build(s), *g1 = build(s);
    char err[256] = "";
    assert_int_equal(pass_fuse_rmsnorm(g1, err, sizeof err), NORMA_OK);
    int fused = gb_count(g1, "RMSNormalization");
    if (fused) {
        assert_int_equal(fused, 1);
        /* the Cast on x stays; the one before the scale goes with the Mul it feeds */
        int outside = (s->scale ? 0 : 1) + (s->cast ? (s->scale ? 1 : 2) : 0) + (s->extra_use ? 1 : 0);
        assert_int_equal(g1->n_nodes, 1 + outside);
        const ir_node *n = gb_find(g1, "RMSNormalization");
        assert_int_equal(ir_attr_int(n, "axis", 0), -1);
        assert_true(ir_attr_float(n, "epsilon", 0) == 1e-6f);
        if (s->scale)
            assert_string_equal(g1->values[n->out[0]].name, "Y");
    } else {
        assert_int_equal(g1->n_nodes, g0->n_nodes);
    }
    gb_compare(g0, g1, -3, 3, 1e-5, 1e-4);
    ir_graph_free(g0);
    ir_graph_free(g1);
    return fused;
}

static void rmsnorm_variants_fuse_to_one_node(void **state)
{
    (void)state;
    const spec cases[] = {
        {14, 1, 0, 0, 0, 2.0f}, {14, 0, 0, 0, 0, 2.0f}, {14, 1, 1, 0, 1, 2.0f},
        {14, 1, 2, 1, 0, 2.0f}, /* the torch export of a T5/LLaMA RMSNorm */
        {18, 1, 2, 0, 1, 2.0f}, {13, 0, 1, 1, 1, 2.0f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!fuse_and_compare(&cases[i]))
            fail_msg("case %zu was not fused", i);
}

static void rmsnorm_guards_leave_the_pattern(void **state)
{
    (void)state;
    const spec cases[] = {
        {14, 1, 0, 0, 0, 3.0f},          /* exponent 3 */
        {14, 1, 0, 0, 0, 2.0f, 1, 0},    /* mean square read twice */
        {14, 1, 0, 0, 0, 2.0f, 0, 1},    /* eps not constant */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (fuse_and_compare(&cases[i]))
            fail_msg("guard case %zu was fused", i);
}

static void rmsnorm_pass_can_be_disabled(void **state)
{
    (void)state;
    spec s = {14, 1, 0, 0, 0, 2.0f};
    char err[256];
    ir_graph *g = build(&s);
    assert_int_equal(pass_run_all(g, "fuse-rmsnorm", err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "RMSNormalization"), 0);
    ir_graph_free(g);
    g = build(&s);
    assert_int_equal(pass_run_all(g, NULL, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "RMSNormalization"), 1);
    assert_true(gb_producers_consistent(g));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rmsnorm_variants_fuse_to_one_node),
        cmocka_unit_test(rmsnorm_guards_leave_the_pattern),
        cmocka_unit_test(rmsnorm_pass_can_be_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
