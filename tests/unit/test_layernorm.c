/* LayerNormalization and RMSNormalization: the vectorized row kernels against their
 * double references on awkward sizes, a row with a large mean and a small spread, the
 * ops against an independent computation (axes, broadcast Scale/B, Mean/InvStdDev),
 * and the error paths. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_builder.h"
#include "testutil.h"
#include "kernels/norm.h"

static void layernorm_kernel_matches_reference(void **state)
{
    (void)state;
    const size_t Ds[] = {1, 2, 7, 15, 16, 17, 33, 100, 1023};
    tu_seed(1);
    for (size_t t = 0; t < sizeof Ds / sizeof Ds[0]; t++) {
        size_t O = 5, D = Ds[t], n = O * D;
        float *x = malloc(n * 4), *sc = malloc(D * 4), *b = malloc(D * 4), *y = malloc(n * 4), *r = malloc(n * 4);
        float m[5], is[5], mr[5], isr[5];
        tu_fill(x, n, -3, 5);
        tu_fill(sc, D, 0.5f, 2);
        tu_fill(b, D, -1, 1);
        k_f32_layernorm(O, D, x, sc, b, 1e-5f, y, m, is);
        k_f32_layernorm_ref(O, D, x, sc, b, 1e-5f, r, mr, isr);
        if (tu_max_rel_err(y, r, n, 1e-5, 1e-4) > 1)
            fail_msg("D=%zu: y differs from the reference", D);
        assert_true(tu_max_rel_err(m, mr, O, 1e-6, 1e-5) <= 1);
        assert_true(tu_max_rel_err(is, isr, O, 1e-6, 1e-4) <= 1);
        /* in place, no bias */
        k_f32_layernorm_ref(O, D, x, sc, NULL, 1e-5f, r, NULL, NULL);
        k_f32_layernorm(O, D, x, sc, NULL, 1e-5f, x, NULL, NULL);
        if (tu_max_rel_err(x, r, n, 1e-5, 1e-4) > 1)
            fail_msg("D=%zu: in-place y differs from the reference", D);
        free(x), free(sc), free(b), free(y), free(r);
    }
}

/* 1e4 + u with u uniform in [-0.5, 0.5): E[x^2] - E[x]^2 in float would lose every
 * digit of the variance (1e8 vs 1/12); two-pass keeps it. */
static void layernorm_large_mean_small_spread_stays_accurate(void **state)
{
    (void)state;
    size_t D = 768;
    float *x = malloc(D * 4), *sc = malloc(D * 4), *y = malloc(D * 4), *r = malloc(D * 4);
    tu_seed(2);
    for (size_t j = 0; j < D; j++) {
        x[j] = 1e4f + tu_uniform(-0.5f, 0.5f);
        sc[j] = 1;
    }
    float m, is, mr, isr;
    k_f32_layernorm(1, D, x, sc, NULL, 1e-5f, y, &m, &is);
    k_f32_layernorm_ref(1, D, x, sc, NULL, 1e-5f, r, &mr, &isr);
    double e = tu_max_rel_err(y, r, D, 1e-4, 1e-3);
    if (e > 1)
        fail_msg("normalized values off (rel err %g)", e);
    assert_true(fabs(is - isr) <= 1e-3 * isr);
    assert_true(fabs(m - mr) <= 1e-3);
    free(x), free(sc), free(y), free(r);
}

static void rmsnorm_kernel_matches_reference(void **state)
{
    (void)state;
    const size_t Ds[] = {1, 3, 16, 31, 257};
    tu_seed(3);
    for (size_t t = 0; t < sizeof Ds / sizeof Ds[0]; t++) {
        size_t O = 4, D = Ds[t], n = O * D;
        float *x = malloc(n * 4), *sc = malloc(D * 4), *y = malloc(n * 4), *r = malloc(n * 4);
        tu_fill(x, n, -3, 3);
        tu_fill(sc, D, 0.5f, 2);
        k_f32_rmsnorm(O, D, x, sc, 1e-6f, y);
        k_f32_rmsnorm_ref(O, D, x, sc, 1e-6f, r);
        if (tu_max_rel_err(y, r, n, 1e-5, 1e-4) > 1)
            fail_msg("D=%zu differs", D);
        free(x), free(sc), free(y), free(r);
    }
}

/* The op on x (2,3,4,5) for every axis, Scale/B full or broadcast, against a direct
 * double computation; Mean and InvStdDev shaped with the normalized axes set to 1. */
static void layernorm_op_each_axis_with_broadcast_params(void **state)
{
    (void)state;
    int64_t xd[] = {2, 3, 4, 5};
    tu_seed(4);
    for (int axis = -4; axis < 4; axis++)
        for (int bc = 0; bc < 2; bc++) {
            int a = axis < 0 ? axis + 4 : axis;
            ir_graph *g;
            int node = gb_single(&g, "LayerNormalization", 17, 3, 3, 7);
            gb_attr_i(g, node, "axis", axis);
            gb_attr_f(g, node, "epsilon", 1e-3f);
            ir_tensor *x = gb_random(4, xd, -2, 3);
            /* Scale: the normalized shape, or its last dim only (broadcast) */
            int srank = bc ? 1 : 4 - a;
            ir_tensor *sc = gb_random(srank, xd + 4 - srank, 0.5f, 2);
            int64_t one = 1;
            ir_tensor *b = bc ? gb_random(1, &one, -1, 1) : gb_random(4 - a, xd + a, -1, 1);
            ir_tensor *ins[3] = {x, sc, b}, *outs[3] = {0};
            char err[256] = "";
            if (gb_eval(g, node, ins, outs, err, sizeof err))
                fail_msg("%s", err);
            size_t O = 1, D = 1;
            for (int d = 0; d < 4; d++)
                *(d < a ? &O : &D) *= (size_t)xd[d];
            assert_int_equal(outs[1]->rank, 4);
            for (int d = 0; d < 4; d++)
                assert_int_equal(outs[1]->dims[d], d < a ? xd[d] : 1);
            const float *xv = x->data, *sv = sc->data, *bv = b->data, *yv = outs[0]->data;
            size_t sn = ir_tensor_numel(sc), bn = ir_tensor_numel(b);
            for (size_t o = 0; o < O; o++) {
                double s = 0, ss = 0;
                for (size_t j = 0; j < D; j++)
                    s += xv[o * D + j];
                double m = s / (double)D;
                for (size_t j = 0; j < D; j++)
                    ss += (xv[o * D + j] - m) * (xv[o * D + j] - m);
                double is = 1 / sqrt(ss / (double)D + 1e-3);
                assert_true(fabs(((float *)outs[1]->data)[o] - m) < 1e-5);
                assert_true(fabs(((float *)outs[2]->data)[o] - is) < 1e-4 * is);
                for (size_t j = 0; j < D; j++) {
                    double want = (xv[o * D + j] - m) * is * sv[j % sn] + bv[j % bn];
                    if (fabs(yv[o * D + j] - want) > 1e-5 + 1e-4 * fabs(want))
                        fail_msg("axis %d bc %d: y[%zu] = %g, want %g", axis, bc, o * D + j,
                                 (double)yv[o * D + j], want);
                }
            }
            for (int k = 0; k < 3; k++)
                ir_tensor_free(outs[k]);
            ir_tensor_free(x), ir_tensor_free(sc), ir_tensor_free(b);
            ir_graph_free(g);
        }
}

/* Accepted at opset 14 (for fused graphs), without B and the optional outputs. */
static void layernorm_op_any_opset_without_bias(void **state)
{
    (void)state;
    int64_t xd[] = {3, 20};
    ir_graph *g;
    int node = gb_single(&g, "LayerNormalization", 14, 2, 1, 1);
    ir_tensor *x = gb_random(2, xd, -1, 1), *sc = gb_random(1, xd + 1, 1, 2), *outs[1];
    ir_tensor *ins[2] = {x, sc};
    char err[256];
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_OK);
    float *r = malloc(60 * 4);
    k_f32_layernorm_ref(3, 20, x->data, sc->data, NULL, 1e-5f, r, NULL, NULL);
    assert_true(tu_max_rel_err(outs[0]->data, r, 60, 1e-5, 1e-4) <= 1);
    free(r);
    ir_tensor_free(outs[0]), ir_tensor_free(x), ir_tensor_free(sc);
    ir_graph_free(g);
}

static void layernorm_op_errors(void **state)
{
    (void)state;
    int64_t xd[] = {3, 20}, bad = 7;
    char err[256];
    ir_tensor *x = gb_random(2, xd, -1, 1), *sc = gb_random(1, xd + 1, 1, 2), *sb = gb_random(1, &bad, 1, 2);
    ir_tensor *outs[1] = {0};
    ir_graph *g;
    int node = gb_single(&g, "LayerNormalization", 17, 2, 1, 1);
    gb_attr_i(g, node, "axis", 2);
    ir_tensor *ins[2] = {x, sc};
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "LayerNormalization 'node': axis 2 is out of range"));
    ir_graph_free(g);
    node = gb_single(&g, "LayerNormalization", 17, 2, 1, 1);
    ins[1] = sb;
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_ERR_SHAPE);
    assert_non_null(strstr(err, "Scale has shape (7)"));
    ir_graph_free(g);
    node = gb_single(&g, "LayerNormalization", 17, 2, 1, 1);
    gb_attr_i(g, node, "stash_type", 11);
    ins[1] = sc;
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "stash_type 11"));
    ir_graph_free(g);
    ir_tensor_free(x), ir_tensor_free(sc), ir_tensor_free(sb);
}

static void rmsnorm_op_two_axes(void **state)
{
    (void)state;
    int64_t xd[] = {2, 3, 8};
    ir_graph *g;
    int node = gb_single(&g, "RMSNormalization", 23, 2, 1, 1);
    gb_attr_i(g, node, "axis", 1);
    ir_tensor *x = gb_random(3, xd, -2, 2), *sc = gb_random(1, xd + 2, 1, 2), *outs[1];
    ir_tensor *ins[2] = {x, sc};
    char err[256];
    if (gb_eval(g, node, ins, outs, err, sizeof err))
        fail_msg("%s", err);
    const float *xv = x->data, *sv = sc->data, *yv = outs[0]->data;
    for (int o = 0; o < 2; o++) {
        double ss = 0;
        for (int j = 0; j < 24; j++)
            ss += (double)xv[o * 24 + j] * xv[o * 24 + j];
        double is = 1 / sqrt(ss / 24 + 1e-5);
        for (int j = 0; j < 24; j++)
            assert_true(fabs(yv[o * 24 + j] - xv[o * 24 + j] * is * sv[j % 8]) < 1e-5);
    }
    ir_tensor_free(outs[0]), ir_tensor_free(x), ir_tensor_free(sc);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layernorm_kernel_matches_reference),
        cmocka_unit_test(layernorm_large_mean_small_spread_stays_accurate),
        cmocka_unit_test(rmsnorm_kernel_matches_reference),
        cmocka_unit_test(layernorm_op_each_axis_with_broadcast_params),
        cmocka_unit_test(layernorm_op_any_opset_without_bias),
        cmocka_unit_test(layernorm_op_errors),
        cmocka_unit_test(rmsnorm_op_two_axes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
