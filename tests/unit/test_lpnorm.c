/* LpNormalization (p = 1, 2, each axis) and MeanVarianceNormalization (default and
 * given axes) against direct computations; errors. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_builder.h"
#include "testutil.h"
#include "passes/fuse_util.h"

static void lpnorm_each_axis_and_p(void **state)
{
    (void)state;
    int64_t xd[] = {3, 4, 5};
    tu_seed(10);
    for (int p = 1; p <= 2; p++)
        for (int axis = -3; axis < 3; axis++) {
            int a = axis < 0 ? axis + 3 : axis;
            ir_graph *g;
            int node = gb_single(&g, "LpNormalization", 1, 1, 1, 1);
            gb_attr_i(g, node, "p", p);
            gb_attr_i(g, node, "axis", axis);
            ir_tensor *x = gb_random(3, xd, -2, 2), *ins[1] = {x}, *outs[1];
            char err[256];
            if (gb_eval(g, node, ins, outs, err, sizeof err))
                fail_msg("%s", err);
            const float *xv = x->data, *yv = outs[0]->data;
            size_t O = 1, I = 1, K = (size_t)xd[a];
            for (int d = 0; d < a; d++)
                O *= (size_t)xd[d];
            for (int d = a + 1; d < 3; d++)
                I *= (size_t)xd[d];
            for (size_t o = 0; o < O; o++)
                for (size_t i = 0; i < I; i++) {
                    double s = 0;
                    for (size_t k = 0; k < K; k++) {
                        double v = xv[(o * K + k) * I + i];
                        s += p == 1 ? fabs(v) : v * v;
                    }
                    double nrm = p == 1 ? s : sqrt(s);
                    for (size_t k = 0; k < K; k++) {
                        size_t e = (o * K + k) * I + i;
                        assert_true(fabs(yv[e] - xv[e] / nrm) < 1e-6);
                    }
                }
            ir_tensor_free(outs[0]), ir_tensor_free(x);
            ir_graph_free(g);
        }
}

static void lpnorm_rejects_p3(void **state)
{
    (void)state;
    int64_t xd[] = {2, 2};
    ir_graph *g;
    int node = gb_single(&g, "LpNormalization", 1, 1, 1, 1);
    gb_attr_i(g, node, "p", 3);
    ir_tensor *x = gb_random(2, xd, -1, 1), *ins[1] = {x}, *outs[1];
    char err[256];
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "LpNormalization 'node': p 3 must be 1 or 2"));
    ir_tensor_free(x);
    ir_graph_free(g);
}

/* (x - mean) / (sqrt(var) + 1e-9) over the axes, with the mean and var per kept index. */
static void mvn_check(int n_axes, const int64_t *axes)
{
    int64_t xd[] = {2, 3, 4, 5};
    ir_graph *g;
    int node = gb_single(&g, "MeanVarianceNormalization", 13, 1, 1, 1);
    unsigned mask = 0;
    if (n_axes) {
        gb_attr_ints(g, node, "axes", n_axes, axes);
        for (int i = 0; i < n_axes; i++)
            mask |= 1u << (axes[i] < 0 ? axes[i] + 4 : axes[i]);
    } else {
        mask = 1 | 4 | 8;
    }
    ir_tensor *x = gb_random(4, xd, 1, 4), *ins[1] = {x}, *outs[1];
    char err[256];
    if (gb_eval(g, node, ins, outs, err, sizeof err))
        fail_msg("%s", err);
    const float *xv = x->data, *yv = outs[0]->data;
    /* for each element, recompute its group's stats (small tensor: quadratic is fine) */
    for (int e = 0; e < 120; e++) {
        int c[4] = {e / 60, e / 20 % 3, e / 5 % 4, e % 5};
        double s = 0, ss = 0;
        int cnt = 0;
        for (int f = 0; f < 120; f++) {
            int d[4] = {f / 60, f / 20 % 3, f / 5 % 4, f % 5}, same = 1;
            for (int k = 0; k < 4; k++)
                if (!(mask >> k & 1) && d[k] != c[k])
                    same = 0;
            if (same) {
                s += xv[f];
                cnt++;
            }
        }
        double m = s / cnt;
        for (int f = 0; f < 120; f++) {
            int d[4] = {f / 60, f / 20 % 3, f / 5 % 4, f % 5}, same = 1;
            for (int k = 0; k < 4; k++)
                if (!(mask >> k & 1) && d[k] != c[k])
                    same = 0;
            if (same)
                ss += (xv[f] - m) * (xv[f] - m);
        }
        double want = (xv[e] - m) / (sqrt(ss / cnt) + 1e-9);
        if (fabs(yv[e] - want) > 1e-5 + 1e-4 * fabs(want))
            fail_msg("mask %u: y[%d] = %g, want %g", mask, e, (double)yv[e], want);
    }
    ir_tensor_free(outs[0]), ir_tensor_free(x);
    ir_graph_free(g);
}

static void mvn_default_and_given_axes(void **state)
{
    (void)state;
    tu_seed(11);
    mvn_check(0, NULL);
    mvn_check(1, (const int64_t[]){-1});
    mvn_check(2, (const int64_t[]){1, 3});
    mvn_check(4, (const int64_t[]){0, 1, 2, 3});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lpnorm_each_axis_and_p),
        cmocka_unit_test(lpnorm_rejects_p3),
        cmocka_unit_test(mvn_default_and_given_axes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
