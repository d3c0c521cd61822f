/* BatchNormalization: fast scale/shift kernel vs the reference, inference and training
 * mode vs independent computations, opset variants (spatial=0, 2-D input), errors. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "testutil.h"
#include "graph_builder.h"
#include "kernels/batchnorm.h"

static void kernel_case(size_t N, size_t C, size_t S, int threads)
{
    size_t n = N * C * S;
    float *x = malloc(n * sizeof(float)), *y0 = malloc(n * sizeof(float)), *y1 = malloc(n * sizeof(float));
    float *p = malloc(6 * C * sizeof(float));
    float *scale = p, *bias = p + C, *mean = p + 2 * C, *var = p + 3 * C, *a = p + 4 * C, *b = p + 5 * C;
    tu_fill(x, n, -3, 3);
    tu_fill(scale, C, -2, 2);
    tu_fill(bias, C, -1, 1);
    tu_fill(mean, C, -1, 1);
    tu_fill(var, C, 0.1f, 3);
    k_f32_batchnorm_ref(x, y0, N, C, S, scale, bias, mean, var, 1e-5f);
    k_f32_batchnorm_coeffs(C, scale, bias, mean, var, 1e-5f, a, b);
    k_f32_channel_affine(x, y1, N, C, S, a, b, threads);
    assert_true(tu_max_rel_err(y1, y0, n, 1e-6, 1e-5) <= 1.0);
    /* in place */
    k_f32_channel_affine(x, x, N, C, S, a, b, threads);
    assert_true(tu_max_rel_err(x, y0, n, 1e-6, 1e-5) <= 1.0);
    free(x);
    free(y0);
    free(y1);
    free(p);
}

static void batchnorm_fast_kernel_matches_reference(void **state)
{
    (void)state;
    tu_seed(1);
    kernel_case(1, 1, 1, 1);
    kernel_case(3, 5, 17, 1);
    kernel_case(2, 7, 1, 1);
    kernel_case(2, 33, 1031, 4); /* large enough to take the OpenMP path */
}

/* A one-node graph: BatchNormalization(X, scale, B, mean, var) at the given opset. */
static ir_graph *bn_graph(int64_t opset, int xrank, const int64_t *xdims, int prank, const int64_t *pdims,
                          int n_out, int *node)
{
    ir_graph *g = gb_graph(opset);
    gb_input(g, "X", xrank, xdims);
    gb_const(g, "scale", prank, pdims, NULL, -2, 2);
    gb_const(g, "B", prank, pdims, NULL, -1, 1);
    gb_const(g, "mean", prank, pdims, NULL, -1, 1);
    gb_const(g, "var", prank, pdims, NULL, 0.1f, 2);
    static const char *ins[] = {"X", "scale", "B", "mean", "var"};
    static const char *outs[] = {"Y", "running_mean", "running_var", "saved_mean", "saved_var"};
    *node = gb_node(g, "BatchNormalization", "bn", 5, ins, n_out, outs);
    for (int k = 0; k < n_out; k++)
        gb_output(g, outs[k]);
    return g;
}

static const float *cdata(const ir_graph *g, const char *name)
{
    return g->values[ir_find_value(g, name)].constant->data;
}

static int eval(ir_graph *g, int node, ir_tensor *x, ir_tensor **outs, char *err, size_t cap)
{
    const ir_node *n = &g->nodes[node];
    ir_tensor *ins[5];
    ins[0] = x;
    for (int k = 1; k < 5; k++)
        ins[k] = g->values[n->in[k]].constant;
    const op_schema *s;
    int rc = op_resolve(n, &s, err, cap);
    if (rc)
        return rc;
    return op_eval(n, s, ins, outs, err, cap);
}

/* Inference: y = (x - mean) / sqrt(var + eps) * scale + B per channel, checked in double. */
static void check_inference(int64_t opset, int xrank, const int64_t *xdims, float eps)
{
    int node;
    int64_t C = xdims[1];
    ir_graph *g = bn_graph(opset, xrank, xdims, 1, &C, 1, &node);
    if (eps >= 0)
        gb_attr_f(g, node, "epsilon", eps);
    else
        eps = 1e-5f;
    ir_tensor *x = gb_random(xrank, xdims, -3, 3);
    ir_tensor *out[1];
    char err[256] = "";
    assert_int_equal(eval(g, node, x, out, err, sizeof err), NORMA_OK);
    size_t S = ir_tensor_numel(x) / (size_t)(xdims[0] * C);
    const float *sc = cdata(g, "scale"), *B = cdata(g, "B"), *m = cdata(g, "mean"), *v = cdata(g, "var");
    float *ref = malloc(ir_tensor_numel(x) * sizeof(float));
    const float *xd = x->data;
    for (size_t i = 0; i < ir_tensor_numel(x); i++) {
        size_t c = (i / S) % (size_t)C;
        ref[i] = (float)(((double)xd[i] - m[c]) / sqrt((double)v[c] + eps) * sc[c] + B[c]);
    }
    assert_int_equal(out[0]->rank, xrank);
    assert_true(tu_max_rel_err(out[0]->data, ref, ir_tensor_numel(x), 1e-6, 1e-5) <= 1.0);
    free(ref);
    ir_tensor_free(out[0]);
    ir_tensor_free(x);
    ir_graph_free(g);
}

static void batchnorm_inference_all_opsets_match_formula(void **state)
{
    (void)state;
    tu_seed(2);
    int64_t d4[] = {2, 3, 5, 7}, d2[] = {4, 9}, d3[] = {1, 1, 1}, d5[] = {2, 3, 2, 3, 4};
    int64_t opsets[] = {6, 7, 9, 14, 15};
    for (int i = 0; i < 5; i++) {
        check_inference(opsets[i], 4, d4, 1e-3f);
        check_inference(opsets[i], 2, d2, -1);
        check_inference(opsets[i], 3, d3, 1e-5f);
        check_inference(opsets[i], 5, d5, 0.5f);
    }
}

/* training_mode=1: batch mean and population variance over all axes but 1. */
static void batchnorm_training_mode_matches_independent_computation(void **state)
{
    (void)state;
    tu_seed(3);
    int64_t xd[] = {3, 4, 5, 2}, C = 4;
    int64_t opsets[] = {14, 15};
    for (int oi = 0; oi < 2; oi++) {
        int node;
        ir_graph *g = bn_graph(opsets[oi], 4, xd, 1, &C, 3, &node);
        gb_attr_i(g, node, "training_mode", 1);
        gb_attr_f(g, node, "momentum", 0.8f);
        gb_attr_f(g, node, "epsilon", 1e-4f);
        ir_tensor *x = gb_random(4, xd, -2, 4);
        ir_tensor *out[3];
        char err[256] = "";
        assert_int_equal(eval(g, node, x, out, err, sizeof err), NORMA_OK);
        const float *xv = x->data, *sc = cdata(g, "scale"), *B = cdata(g, "B"), *m = cdata(g, "mean"),
                    *v = cdata(g, "var");
        size_t S = 10, N = 3;
        float ref[120], rm[4], rv[4];
        for (size_t c = 0; c < 4; c++) {
            double sum = 0, sq = 0;
            for (size_t n = 0; n < N; n++)
                for (size_t i = 0; i < S; i++)
                    sum += xv[(n * 4 + c) * S + i];
            double mu = sum / (double)(N * S);
            for (size_t n = 0; n < N; n++)
                for (size_t i = 0; i < S; i++) {
                    double d = xv[(n * 4 + c) * S + i] - mu;
                    sq += d * d;
                }
            double var = sq / (double)(N * S);
            for (size_t n = 0; n < N; n++)
                for (size_t i = 0; i < S; i++) {
                    size_t k = (n * 4 + c) * S + i;
                    ref[k] = (float)((xv[k] - mu) / sqrt(var + 1e-4) * sc[c] + B[c]);
                }
            rm[c] = (float)(m[c] * 0.8 + mu * 0.2);
            rv[c] = (float)(v[c] * 0.8 + var * 0.2);
        }
        assert_true(tu_max_rel_err(out[0]->data, ref, 120, 1e-5, 1e-4) <= 1.0);
        assert_true(tu_max_rel_err(out[1]->data, rm, 4, 1e-6, 1e-5) <= 1.0);
        assert_true(tu_max_rel_err(out[2]->data, rv, 4, 1e-6, 1e-5) <= 1.0);
        /* The inference result differs: training mode really used the batch statistics. */
        for (int k = 0; k < 3; k++)
            ir_tensor_free(out[k]);
        ir_tensor_free(x);
        ir_graph_free(g);
    }
}

/* Opset 7 spatial=0: statistics per element of X[0] (shape C,H,W). */
static void batchnorm_spatial0_uses_per_element_statistics(void **state)
{
    (void)state;
    tu_seed(4);
    int64_t xd[] = {2, 3, 2, 2}, pd[] = {3, 2, 2};
    int node;
    ir_graph *g = bn_graph(7, 4, xd, 3, pd, 1, &node);
    gb_attr_i(g, node, "spatial", 0);
    ir_tensor *x = gb_random(4, xd, -3, 3);
    ir_tensor *out[1];
    char err[256] = "";
    assert_int_equal(eval(g, node, x, out, err, sizeof err), NORMA_OK);
    const float *xv = x->data, *sc = cdata(g, "scale"), *B = cdata(g, "B"), *m = cdata(g, "mean"),
                *v = cdata(g, "var");
    float ref[24];
    for (size_t i = 0; i < 24; i++) {
        size_t e = i % 12;
        ref[i] = (float)((xv[i] - m[e]) / sqrt(v[e] + 1e-5) * sc[e] + B[e]);
    }
    assert_true(tu_max_rel_err(out[0]->data, ref, 24, 1e-6, 1e-5) <= 1.0);
    ir_tensor_free(out[0]);
    ir_tensor_free(x);
    ir_graph_free(g);
}

static void expect_error(ir_graph *g, int node, ir_tensor *x, int status, const char *msg)
{
    ir_tensor *out[5] = {0};
    char err[256] = "";
    int rc = eval(g, node, x, out, err, sizeof err);
    assert_int_equal(rc, status);
    if (!strstr(err, msg))
        fail_msg("message '%s' does not contain '%s'", err, msg);
}

static void batchnorm_rejects_wrong_scale_length(void **state)
{
    (void)state;
    int64_t xd[] = {2, 4, 3}, C = 3;
    int node;
    ir_graph *g = bn_graph(15, 3, xd, 1, &C, 1, &node);
    ir_tensor *x = gb_random(3, xd, -1, 1);
    expect_error(g, node, x, NORMA_ERR_SHAPE, "BatchNormalization 'bn': scale has 3 elements; expected 4");
    ir_tensor_free(x);
    ir_graph_free(g);
}

static void batchnorm_rejects_rank1_input_and_int_dtype(void **state)
{
    (void)state;
    int64_t xd[] = {4}, C = 4;
    int node;
    ir_graph *g = bn_graph(15, 1, xd, 1, &C, 1, &node);
    ir_tensor *x = gb_random(1, xd, -1, 1);
    expect_error(g, node, x, NORMA_ERR_SHAPE, "rank >= 2");
    ir_tensor_free(x);
    int64_t xd2[] = {1, 4};
    x = ir_tensor_new(NORMA_INT32, 2, xd2);
    expect_error(g, node, x, NORMA_ERR_UNSUPPORTED, "dtype int32");
    ir_tensor_free(x);
    ir_graph_free(g);
}

static void batchnorm_running_outputs_need_training_mode(void **state)
{
    (void)state;
    int64_t xd[] = {2, 4, 3}, C = 4;
    int node;
    ir_graph *g = bn_graph(15, 3, xd, 1, &C, 3, &node);
    ir_tensor *x = gb_random(3, xd, -1, 1);
    expect_error(g, node, x, NORMA_ERR_MODEL, "needs training_mode=1");
    ir_tensor_free(x);
    ir_graph_free(g);
}

static void batchnorm_negative_epsilon_is_rejected(void **state)
{
    (void)state;
    int64_t xd[] = {2, 4, 3}, C = 4;
    int node;
    ir_graph *g = bn_graph(9, 3, xd, 1, &C, 1, &node);
    gb_attr_f(g, node, "epsilon", -1.0f);
    ir_tensor *x = gb_random(3, xd, -1, 1);
    expect_error(g, node, x, NORMA_ERR_MODEL, "epsilon");
    ir_tensor_free(x);
    ir_graph_free(g);
}

/* Through a session (loader, planner, executor): same result with passes on and off. */
static void batchnorm_session_matches_op_eval(void **state)
{
    (void)state;
    tu_seed(5);
    int64_t xd[] = {2, 5, 4, 3}, C = 5;
    int node;
    ir_graph *g = bn_graph(15, 4, xd, 1, &C, 1, &node);
    size_t size;
    void *bytes = gb_serialize(g, &size);
    ir_tensor *x = gb_random(4, xd, -3, 3);
    ir_tensor *ref[1];
    char err[256] = "";
    assert_int_equal(eval(g, node, x, ref, err, sizeof err), NORMA_OK);
    for (int opt = 0; opt < 2; opt++) {
        norma_options o;
        norma_options_init(&o);
        o.optimize = opt;
        o.threads = 2;
        norma_session *s;
        if (norma_session_create_from_memory(bytes, size, &o, &s) != NORMA_OK)
            fail_msg("%s", norma_last_error());
        norma_tensor in = {.name = "X", .dtype = NORMA_FLOAT, .rank = 4, .data = x->data};
        memcpy(in.dims, xd, sizeof xd);
        norma_tensor out = {0};
        assert_int_equal(norma_run(s, &in, 1, &out, 1), NORMA_OK);
        assert_true(tu_max_rel_err(out.data, ref[0]->data, 120, 1e-6, 1e-5) <= 1.0);
        norma_session_free(s);
    }
    free(bytes);
    ir_tensor_free(ref[0]);
    ir_tensor_free(x);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batchnorm_fast_kernel_matches_reference),
        cmocka_unit_test(batchnorm_inference_all_opsets_match_formula),
        cmocka_unit_test(batchnorm_training_mode_matches_independent_computation),
        cmocka_unit_test(batchnorm_spatial0_uses_per_element_statistics),
        cmocka_unit_test(batchnorm_rejects_wrong_scale_length),
        cmocka_unit_test(batchnorm_rejects_rank1_input_and_int_dtype),
        cmocka_unit_test(batchnorm_running_outputs_need_training_mode),
        cmocka_unit_test(batchnorm_negative_epsilon_is_rejected),
        cmocka_unit_test(batchnorm_session_matches_op_eval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
