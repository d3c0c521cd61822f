/* GroupNormalization: per-(n, group) statistics against a direct double computation,
 * scale/bias per group (opset 18) and per channel (opset 21), errors. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_builder.h"
#include "testutil.h"

static void check(int64_t opset, int64_t N, int64_t C, int64_t G, int64_t S)
{
    int64_t xd[] = {N, C, S}, pn = opset >= 21 ? C : G;
    ir_graph *g;
    int node = gb_single(&g, "GroupNormalization", opset, 3, 1, 1);
    gb_attr_i(g, node, "num_groups", G);
    gb_attr_f(g, node, "epsilon", 1e-4f);
    ir_tensor *x = gb_random(3, xd, 2, 6), *sc = gb_random(1, &pn, 0.5f, 2), *b = gb_random(1, &pn, -1, 1);
    ir_tensor *ins[3] = {x, sc, b}, *outs[1];
    char err[256];
    if (gb_eval(g, node, ins, outs, err, sizeof err))
        fail_msg("%s", err);
    const float *xv = x->data, *sv = sc->data, *bv = b->data, *yv = outs[0]->data;
    int64_t Cg = C / G, blk = Cg * S;
    for (int64_t n = 0; n < N; n++)
        for (int64_t gi = 0; gi < G; gi++) {
            const float *xb = xv + (n * G + gi) * blk;
            double s = 0, ss = 0;
            for (int64_t i = 0; i < blk; i++)
                s += xb[i];
            double m = s / (double)blk;
            for (int64_t i = 0; i < blk; i++)
                ss += (xb[i] - m) * (xb[i] - m);
            double is = 1 / sqrt(ss / (double)blk + 1e-4);
            for (int64_t i = 0; i < blk; i++) {
                int64_t p = opset >= 21 ? gi * Cg + i / S : gi;
                double want = (xb[i] - m) * is * sv[p] + bv[p];
                double got = yv[(n * G + gi) * blk + i];
                if (fabs(got - want) > 1e-4 + 1e-4 * fabs(want))
                    fail_msg("opset %lld C=%lld G=%lld: %g vs %g", (long long)opset, (long long)C, (long long)G,
                             got, want);
            }
        }
    ir_tensor_free(outs[0]), ir_tensor_free(x), ir_tensor_free(sc), ir_tensor_free(b);
    ir_graph_free(g);
}

static void groupnorm_matches_direct_computation(void **state)
{
    (void)state;
    tu_seed(9);
    check(18, 2, 6, 3, 7);
    check(18, 1, 4, 4, 1);
    check(18, 3, 5, 1, 13);
    check(21, 2, 6, 3, 7);
    check(21, 2, 8, 2, 17);
}

static void groupnorm_errors(void **state)
{
    (void)state;
    int64_t xd[] = {2, 6, 4}, three = 3, four = 4;
    char err[256];
    ir_tensor *x = gb_random(3, xd, -1, 1), *p3 = gb_random(1, &three, 1, 2), *p4 = gb_random(1, &four, 1, 2);
    ir_tensor *outs[1];
    ir_graph *g;
    int node = gb_single(&g, "GroupNormalization", 18, 3, 1, 1);
    gb_attr_i(g, node, "num_groups", 4);
    ir_tensor *ins[3] = {x, p4, p4};
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_ERR_SHAPE);
    assert_non_null(strstr(err, "GroupNormalization 'node': num_groups 4 does not divide C=6"));
    ir_graph_free(g);
    node = gb_single(&g, "GroupNormalization", 21, 3, 1, 1);
    gb_attr_i(g, node, "num_groups", 3);
    ins[1] = ins[2] = p3; /* opset 21 wants C values */
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_ERR_SHAPE);
    assert_non_null(strstr(err, "scale has 3 elements; expected C=6"));
    ir_graph_free(g);
    node = gb_single(&g, "GroupNormalization", 18, 3, 1, 1);
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "'num_groups' is required"));
    ir_graph_free(g);
    ir_tensor_free(x), ir_tensor_free(p3), ir_tensor_free(p4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(groupnorm_matches_direct_computation),
        cmocka_unit_test(groupnorm_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
