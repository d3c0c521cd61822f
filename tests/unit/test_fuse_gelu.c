/* The fuse-gelu pass: the erf form in its PyTorch export variants and the tanh form
 * GPT-2 uses become one Gelu (approximate "none" / "tanh") with the same outputs; the
 * guards leave the pattern alone and it still runs correctly. */
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
    int tanh_form;
    int scale_op;  /* erf: 0 Div by 1.4142135, 1 Mul by 0.70710677; tanh: 0 Pow(x,3), 1 x*x*x */
    int tail;      /* 0: (x*a)*0.5, 1: (x*0.5)*a, 2: x*(a*0.5) */
    int swap;      /* constants first */
    float half;    /* the 0.5 */
    int extra_use; /* 1 + erf(..) also read elsewhere */
    int x_output;  /* x is also a graph output (allowed: x is not an intermediate) */
} spec;

static const char *mul(ir_graph *g, const spec *s, const char *out, const char *a, const char *b)
{
    gb_op(g, "Mul", out, s->swap ? b : a, s->swap ? a : b, NULL);
    return out;
}

static ir_graph *build(const spec *s)
{
    tu_seed(7);
    ir_graph *g = gb_graph(14);
    int64_t dims[] = {5, 41};
    gb_input(g, "X0", 2, dims);
    /* x is a node output with several readers */
    gb_attr_i(g, gb_op(g, "Cast", "x", "X0", NULL, NULL), "to", NORMA_FLOAT);
    gb_scalar(g, "one", 1.0f);
    gb_scalar(g, "half", s->half);
    const char *core;
    if (!s->tanh_form) {
        if (s->scale_op == 0) {
            gb_scalar(g, "sqrt2", 1.4142135381698608f);
            gb_op(g, "Div", "u", "x", "sqrt2", NULL);
        } else {
            gb_scalar(g, "rsqrt2", 0.7071067690849304f);
            mul(g, s, "u", "x", "rsqrt2");
        }
        gb_op(g, "Erf", "e", "u", NULL, NULL);
        core = "e";
    } else {
        if (s->scale_op == 0) {
            gb_scalar(g, "three", 3.0f);
            gb_op(g, "Pow", "cube", "x", "three", NULL);
        } else {
            gb_op(g, "Mul", "sq", "x", "x", NULL);
            mul(g, s, "cube", "sq", "x");
        }
        gb_scalar(g, "c1", 0.044715f);
        mul(g, s, "cc", "cube", "c1");
        gb_op(g, "Add", "inner", s->swap ? "cc" : "x", s->swap ? "x" : "cc", NULL);
        gb_scalar(g, "k", 0.7978845834732056f);
        mul(g, s, "ti", "inner", "k");
        gb_op(g, "Tanh", "t", "ti", NULL, NULL);
        core = "t";
    }
    gb_op(g, "Add", "a", s->swap ? "one" : core, s->swap ? core : "one", NULL);
    if (s->tail == 0) {
        mul(g, s, "m1", "x", "a");
        mul(g, s, "Y", "m1", "half");
    } else if (s->tail == 1) {
        mul(g, s, "h", "x", "half");
        mul(g, s, "Y", "h", "a");
    } else {
        mul(g, s, "ah", "a", "half");
        mul(g, s, "Y", "x", "ah");
    }
    gb_output(g, "Y");
    if (s->extra_use) {
        gb_op(g, "Identity", "a2", "a", NULL, NULL);
        gb_output(g, "a2");
    }
    if (s->x_output)
        gb_output(g, "x");
    return g;
}

static int fuse_and_compare(const spec *s)
{
    ir_graph *g0 = build(s), *g1 = build(s);
    char err[256] = "";
    assert_int_equal(pass_fuse_gelu(g1, err, sizeof err), NORMA_OK);
    int fused = gb_count(g1, "Gelu");
    if (fused) {
        assert_int_equal(fused, 1);
        assert_int_equal(g1->n_nodes, 2); /* the Cast producing x, and the Gelu */
        const ir_node *n = gb_find(g1, "Gelu");
        assert_string_equal(ir_attr_string(n, "approximate", "none"), s->tanh_form ? "tanh" : "none");
        assert_string_equal(g1->values[n->out[0]].name, "Y");
    } else {
        assert_int_equal(g1->n_nodes, g0->n_nodes);
    }
    gb_compare(g0, g1, -4, 4, 1e-6, 1e-4);
    ir_graph_free(g0);
    ir_graph_free(g1);
    return fused;
}

static void gelu_variants_fuse_to_one_node(void **state)
{
    (void)state;
    for (int form = 0; form < 2; form++)
        for (int op = 0; op < 2; op++)
            for (int tail = 0; tail < 3; tail++)
                for (int swap = 0; swap < 2; swap++) {
                    spec s = {form, op, tail, swap, 0.5f, 0, swap};
                    if (!fuse_and_compare(&s))
                        fail_msg("form %d op %d tail %d swap %d was not fused", form, op, tail, swap);
                }
}

static void gelu_guards_leave_the_pattern(void **state)
{
    (void)state;
    const spec cases[] = {
        {0, 0, 0, 0, 0.25f}, /* not 0.5 */
        {1, 1, 1, 0, 0.25f},
        {0, 1, 2, 0, 0.5f, 1}, /* 1 + erf read twice */
        {1, 0, 0, 1, 0.5f, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (fuse_and_compare(&cases[i]))
            fail_msg("guard case %zu was fused", i);
}

static void gelu_pass_can_be_disabled(void **state)
{
    (void)state;
    spec s = {1, 0, 1, 0, 0.5f};
    char err[256];
    ir_graph *g = build(&s);
    assert_int_equal(pass_run_all(g, "fuse-gelu", err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "Gelu"), 0);
    ir_graph_free(g);
    g = build(&s);
    assert_int_equal(pass_run_all(g, NULL, err, sizeof err), NORMA_OK);
    assert_int_equal(gb_count(g, "Gelu"), 1);
    assert_true(gb_producers_consistent(g));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gelu_variants_fuse_to_one_node),
        cmocka_unit_test(gelu_guards_leave_the_pattern),
        cmocka_unit_test(gelu_pass_can_be_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
