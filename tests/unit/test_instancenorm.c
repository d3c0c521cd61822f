/* InstanceNormalization: per-(n,c) mean/variance vs an independent computation, large
 * offsets (two-pass numerics), awkward shapes, errors. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "testutil.h"
#include "graph_builder.h"

static ir_graph *in_graph(int64_t opset, int64_t C, int64_t scale_len, int *node)
{
    ir_graph *g = gb_graph(opset);
    int64_t d = scale_len;
    (void)C;
    gb_const(g, "scale", 1, &d, NULL, -2, 2);
    gb_const(g, "B", 1, &d, NULL, -1, 1);
    static const char *ins[] = {"X", "scale", "B"};
    static const char *outs[] = {"Y"};
    gb_value(g, "X");
    *node = gb_node(g, "InstanceNormalization", "in", 3, ins, 1, outs);
    gb_output(g, "Y");
    return g;
}

static int eval(ir_graph *g, int node, ir_tensor *x, ir_tensor **out, char *err, size_t cap)
{
    const ir_node *n = &g->nodes[node];
    ir_tensor *ins[3] = {x, g->values[n->in[1]].constant, g->values[n->in[2]].constant};
    const op_schema *s;
    int rc = op_resolve(n, &s, err, cap);
    return rc ? rc : op_eval(n, s, ins, out, err, cap);
}

static void check(int64_t opset, int rank, const int64_t *dims, float offset, float eps)
{
    int node;
    ir_graph *g = in_graph(opset, dims[1], dims[1], &node);
    if (eps >= 0)
        gb_attr_f(g, node, "epsilon", eps);
    else
        eps = 1e-5f;
    ir_tensor *x = gb_random(rank, dims, offset - 1, offset + 1);
    ir_tensor *out[1];
    char err[256] = "";
    assert_int_equal(eval(g, node, x, out, err, sizeof err), NORMA_OK);
    size_t n = ir_tensor_numel(x), planes = (size_t)(dims[0] * dims[1]), S = n / planes;
    const float *xv = x->data;
    const float *sc = g->values[ir_find_value(g, "scale")].constant->data;
    const float *B = g->values[ir_find_value(g, "B")].constant->data;
    float *ref = malloc(n * sizeof(float));
    for (size_t p = 0; p < planes; p++) {
        long double sum = 0, sq = 0;
        for (size_t i = 0; i < S; i++)
            sum += xv[p * S + i];
        long double mu = sum / S;
        for (size_t i = 0; i < S; i++)
            sq += (xv[p * S + i] - mu) * (xv[p * S + i] - mu);
        long double var = sq / S;
        size_t c = p % (size_t)dims[1];
        for (size_t i = 0; i < S; i++)
            ref[p * S + i] = (float)((xv[p * S + i] - mu) / sqrtl(var + eps) * sc[c] + B[c]);
    }
    assert_true(tu_max_rel_err(out[0]->data, ref, n, 1e-4, 1e-4) <= 1.0);
    free(ref);
    ir_tensor_free(out[0]);
    ir_tensor_free(x);
    ir_graph_free(g);
}

static void instancenorm_matches_independent_computation(void **state)
{
    (void)state;
    tu_seed(11);
    int64_t a[] = {2, 3, 5, 7}, b[] = {1, 1, 1}, c[] = {3, 4, 17}, d[] = {2, 2, 3, 2, 5},
            e[] = {2, 8, 130, 130};
    check(6, 4, a, 0, -1);
    check(1, 4, a, 0, 1e-3f);
    check(6, 3, b, 0, 1e-5f);
    check(6, 3, c, 0, 0.1f);
    check(6, 5, d, 0, -1);
    check(6, 4, e, 0, -1); /* large: OpenMP path */
}

/* A large common offset with a small spread: one-pass E[x^2]-E[x]^2 in float fails. */
static void instancenorm_large_offset_is_stable(void **state)
{
    (void)state;
    tu_seed(12);
    int64_t a[] = {1, 2, 1000};
    check(6, 3, a, 1000.0f, -1);
}

static void instancenorm_rejects_bad_scale_and_rank(void **state)
{
    (void)state;
    int node;
    ir_graph *g = in_graph(6, 4, 3, &node);
    int64_t d[] = {2, 4, 5};
    ir_tensor *x = gb_random(3, d, -1, 1), *out[1];
    char err[256] = "";
    assert_int_equal(eval(g, node, x, out, err, sizeof err), NORMA_ERR_SHAPE);
    assert_non_null(strstr(err, "InstanceNormalization 'in': scale has 3 elements; expected C=4"));
    ir_tensor_free(x);
    int64_t d2[] = {2, 3};
    x = gb_random(2, d2, -1, 1);
    assert_int_equal(eval(g, node, x, out, err, sizeof err), NORMA_ERR_SHAPE);
    assert_non_null(strstr(err, "rank >= 3"));
    ir_tensor_free(x);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(instancenorm_matches_independent_computation),
        cmocka_unit_test(instancenorm_large_offset_is_stable),
        cmocka_unit_test(instancenorm_rejects_bad_scale_and_rank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
