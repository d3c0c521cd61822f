/* LRN: window sums across channels vs a direct transcription of the spec, even and
 * odd sizes, windows wider than C, errors. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "testutil.h"
#include "graph_builder.h"
#include "kernels/batchnorm.h"

static ir_graph *lrn_graph(int64_t opset, int64_t size, float alpha, float beta, float bias, int *node)
{
    ir_graph *g = gb_graph(opset);
    static const char *ins[] = {"X"};
    static const char *outs[] = {"Y"};
    *node = gb_node(g, "LRN", "lrn", 1, ins, 1, outs);
    if (size)
        gb_attr_i(g, *node, "size", size);
    if (alpha >= 0) {
        gb_attr_f(g, *node, "alpha", alpha);
        gb_attr_f(g, *node, "beta", beta);
        gb_attr_f(g, *node, "bias", bias);
    }
    return g;
}

static int eval(ir_graph *g, int node, ir_tensor *x, ir_tensor **out, char *err, size_t cap)
{
    const ir_node *n = &g->nodes[node];
    ir_tensor *ins[1] = {x};
    const op_schema *s;
    int rc = op_resolve(n, &s, err, cap);
    return rc ? rc : op_eval(n, s, ins, out, err, cap);
}

static void check(int64_t opset, int rank, const int64_t *dims, int64_t size, float alpha, float beta, float bias)
{
    int node;
    ir_graph *g = lrn_graph(opset, size, alpha, beta, bias, &node);
    if (alpha < 0) {
        alpha = 1e-4f;
        beta = 0.75f;
        bias = 1.0f;
    }
    ir_tensor *x = gb_random(rank, dims, -3, 3), *out[1];
    char err[256] = "";
    assert_int_equal(eval(g, node, x, out, err, sizeof err), NORMA_OK);
    int64_t N = dims[0], C = dims[1];
    size_t n = ir_tensor_numel(x), S = n / (size_t)(N * C);
    const float *xv = x->data;
    float *ref = malloc(n * sizeof(float));
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++)
            for (size_t i = 0; i < S; i++) {
                double sq = 0;
                int64_t lo = c - (int64_t)floor((size - 1) / 2.0), hi = c + (int64_t)ceil((size - 1) / 2.0);
                for (int64_t j = lo; j <= hi; j++)
                    if (j >= 0 && j < C) {
                        double v = xv[((size_t)(b * C + j)) * S + i];
                        sq += v * v;
                    }
                size_t k = (size_t)(b * C + c) * S + i;
                ref[k] = (float)(xv[k] / pow(bias + alpha / (double)size * sq, beta));
            }
    assert_true(tu_max_rel_err(out[0]->data, ref, n, 1e-6, 1e-5) <= 1.0);
    free(ref);
    ir_tensor_free(out[0]);
    ir_tensor_free(x);
    ir_graph_free(g);
}

static void lrn_matches_spec_formula(void **state)
{
    (void)state;
    tu_seed(21);
    int64_t a[] = {2, 7, 5, 3}, b[] = {1, 1, 1, 1}, c[] = {3, 5, 9}, d[] = {2, 16, 64, 64};
    check(13, 4, a, 3, 0.5f, 0.75f, 2.0f);
    check(1, 4, a, 4, 0.3f, 0.5f, 1.0f); /* even size: asymmetric window */
    check(13, 4, b, 5, -1, 0, 0);         /* defaults, window wider than C */
    check(13, 3, c, 1, 1.0f, 1.0f, 0.5f);
    check(13, 3, c, 11, 2e-2f, 0.9f, 1.5f);
    check(13, 4, d, 5, 1e-3f, 0.75f, 1.0f); /* large: OpenMP path */
}

static void lrn_fast_kernel_matches_reference(void **state)
{
    (void)state;
    tu_seed(22);
    size_t shapes[][3] = {{1, 1, 1}, {2, 7, 15}, {1, 13, 257}, {3, 5, 600}, {2, 64, 1000}};
    int64_t sizes[] = {1, 2, 3, 5, 8, 40};
    for (size_t s = 0; s < 5; s++)
        for (size_t z = 0; z < 6; z++) {
            size_t N = shapes[s][0], C = shapes[s][1], S = shapes[s][2], n = N * C * S;
            float *x = malloc(n * sizeof(float)), *y0 = malloc(n * sizeof(float)), *y1 = malloc(n * sizeof(float));
            tu_fill(x, n, -4, 4);
            x[n / 2] = 1000.0f; /* a large term leaving the window must not leave residue */
            k_f32_lrn_ref(x, y0, N, C, S, sizes[z], 0.1f, 0.75f, 1.0f, 1);
            k_f32_lrn(x, y1, N, C, S, sizes[z], 0.1f, 0.75f, 1.0f, 4);
            double e = tu_max_rel_err(y1, y0, n, 1e-6, 1e-5);
            if (e > 1.0)
                fail_msg("N=%zu C=%zu S=%zu size=%lld: rel err %g", N, C, S, (long long)sizes[z], e);
            free(x);
            free(y0);
            free(y1);
        }
}

static void lrn_requires_positive_size(void **state)
{
    (void)state;
    int64_t a[] = {1, 3, 2};
    for (int64_t size = -1; size <= 0; size++) {
        int node;
        ir_graph *g = lrn_graph(13, size, -1, 0, 0, &node);
        ir_tensor *x = gb_random(3, a, -1, 1), *out[1];
        char err[256] = "";
        assert_int_equal(eval(g, node, x, out, err, sizeof err), NORMA_ERR_MODEL);
        assert_non_null(strstr(err, size == 0 ? "LRN 'lrn': the attribute 'size' is required" : "must be >= 1"));
        ir_tensor_free(x);
        ir_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lrn_matches_spec_formula),
        cmocka_unit_test(lrn_fast_kernel_matches_reference),
        cmocka_unit_test(lrn_requires_positive_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
