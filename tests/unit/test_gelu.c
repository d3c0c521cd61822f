/* Gelu: the kernel against its double reference (both forms, awkward sizes, in place,
 * NaN and infinities), the op at opsets 20 and 14, and a bad approximate attribute. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_builder.h"
#include "testutil.h"
#include "passes/fuse_util.h"
#include "kernels/norm.h"

static void gelu_kernel_matches_reference(void **state)
{
    (void)state;
    tu_seed(12);
    const size_t ns[] = {1, 7, 16, 33, 1000};
    for (int th = 0; th < 2; th++)
        for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
            size_t n = ns[t];
            float *x = malloc(n * 4), *y = malloc(n * 4), *r = malloc(n * 4);
            tu_fill(x, n, -8, 8);
            k_f32_gelu(n, x, y, th);
            k_f32_gelu_ref(n, x, r, th);
            if (tu_max_rel_err(y, r, n, 1e-6, 1e-5) > 1)
                fail_msg("tanh %d n %zu differs", th, n);
            k_f32_gelu(n, x, x, th);
            assert_true(tu_max_rel_err(x, r, n, 1e-6, 1e-5) <= 1);
            free(x), free(y), free(r);
        }
    float sp[] = {NAN, INFINITY, -INFINITY, 0.0f}, out[4];
    for (int th = 0; th < 2; th++) {
        k_f32_gelu(4, sp, out, th);
        assert_true(isnan(out[0]));
        assert_true(isinf(out[1]) && out[1] > 0);
        assert_true(out[3] == 0.0f);
    }
}

static void gelu_op_both_forms(void **state)
{
    (void)state;
    int64_t xd[] = {3, 11};
    const int64_t opsets[] = {20, 14};
    for (int o = 0; o < 2; o++)
        for (int th = 0; th < 2; th++) {
            ir_graph *g;
            int node = gb_single(&g, "Gelu", opsets[o], 1, 1, 1);
            if (th)
                gb_attr_s(g, node, "approximate", "tanh");
            ir_tensor *x = gb_random(2, xd, -3, 3), *ins[1] = {x}, *outs[1];
            char err[256];
            if (gb_eval(g, node, ins, outs, err, sizeof err))
                fail_msg("%s", err);
            float r[33];
            k_f32_gelu_ref(33, x->data, r, th);
            assert_true(tu_max_rel_err(outs[0]->data, r, 33, 1e-6, 1e-5) <= 1);
            ir_tensor_free(outs[0]), ir_tensor_free(x);
            ir_graph_free(g);
        }
}

static void gelu_rejects_unknown_approximation(void **state)
{
    (void)state;
    int64_t xd[] = {2};
    ir_graph *g;
    int node = gb_single(&g, "Gelu", 20, 1, 1, 1);
    gb_attr_s(g, node, "approximate", "sigmoid");
    ir_tensor *x = gb_random(1, xd, -1, 1), *ins[1] = {x}, *outs[1];
    char err[256];
    assert_int_equal(gb_eval(g, node, ins, outs, err, sizeof err), NORMA_ERR_MODEL);
    assert_non_null(strstr(err, "Gelu 'node': approximate 'sigmoid'"));
    ir_tensor_free(x);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gelu_kernel_matches_reference),
        cmocka_unit_test(gelu_op_both_forms),
        cmocka_unit_test(gelu_rejects_unknown_approximation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
