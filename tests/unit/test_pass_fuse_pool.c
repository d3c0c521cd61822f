/* The fuse-global-pool pass: Conv (+ R, + activation) -> GlobalAveragePool becomes one
 * internal Conv whose output is the pool's. A session with the pass gives the same
 * outputs as one without it on every route the Conv can take: the transposed path of
 * narrow outputs (1x1 and 3x3, with and without an exact residual, more than one
 * image, channel counts that split unevenly across threads and over 256), and the
 * paths that write the full result to scratch first (wide outputs, depthwise, a
 * broadcast residual). Guards keep the pool when the Conv's output has another reader
 * or is a graph output. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "graph_builder.h"
#include "norma.h"
#include "passes/passes.h"
#include "testutil.h"

typedef struct spec {
    int64_t N, C, M, H, W, k, group;
    int res;   /* 0 none, 1 R of the convolution's shape, 2 R of shape (1, M, 1, 1) */
    int relu;  /* a Relu before the pool */
    int guard; /* 1: the conv output is also a graph output; 2: a second reader (Neg) */
} spec;

static ir_graph *build(const spec *sp)
{
    tu_seed(11);
    ir_graph *g = gb_graph(13);
    int64_t p = sp->k / 2;
    int64_t x[] = {sp->N, sp->C, sp->H, sp->W}, w[] = {sp->M, sp->C / sp->group, sp->k, sp->k}, b[] = {sp->M};
    int64_t r[] = {sp->res == 2 ? 1 : sp->N, sp->M, sp->res == 2 ? 1 : sp->H, sp->res == 2 ? 1 : sp->W};
    gb_input(g, "X", 4, x);
    if (sp->res)
        gb_input(g, "R", 4, r);
    gb_const(g, "W", 4, w, NULL, -0.2f, 0.2f);
    gb_const(g, "B", 1, b, NULL, -1, 1);
    const char *in[] = {"X", "W", "B"}, *out[] = {"c"};
    int c = gb_node(g, "Conv", "conv", 3, in, 1, out);
    gb_attr_i(g, c, "group", sp->group);
    gb_attr_ints(g, c, "pads", 4, (int64_t[]){p, p, p, p});
    const char *t = "c";
    if (sp->res) {
        gb_op(g, "Add", "a", "c", "R", NULL);
        t = "a";
    }
    if (sp->relu) {
        gb_op(g, "Relu", "u", t, NULL, NULL);
        t = "u";
    }
    gb_op(g, "GlobalAveragePool", "Y", t, NULL, NULL);
    gb_output(g, "Y");
    if (sp->guard == 1)
        gb_output(g, t);
    if (sp->guard == 2) {
        gb_op(g, "Neg", "Z", t, NULL, NULL);
        gb_output(g, "Z");
    }
    return g;
}

/* Whether the whole pipeline removed the pool; fails when outputs differ from a
 * session without the pass, at 1 and 2 threads. */
static int check(const spec *sp)
{
    ir_graph *g = build(sp), *g1 = build(sp);
    char err[256];
    assert_int_equal(pass_run_all(g1, NULL, err, sizeof err), NORMA_OK);
    assert_true(gb_producers_consistent(g1));
    int fused = gb_count(g1, "GlobalAveragePool") == 0;
    tu_seed(12);
    ir_tensor *ins[2];
    int n_in = sp->res ? 2 : 1;
    for (int i = 0; i < n_in; i++) {
        const ir_value *v = &g->values[g->inputs[i]];
        ins[i] = gb_random(v->rank, v->dims, -2, 2);
    }
    static const char *const names[2] = {"X", "R"};
    for (int threads = 1; threads <= 2; threads++) {
        size_t n0, n1;
        float *y0 = gb_session_run(g, n_in, names, ins, "fuse-global-pool", threads, &n0);
        float *y1 = gb_session_run(g, n_in, names, ins, NULL, threads, &n1);
        assert_int_equal(n0, (size_t)(sp->N * sp->M));
        assert_int_equal(n1, n0);
        double e = tu_max_rel_err(y1, y0, n0, 1e-5, 1e-4);
        if (e > 1.0)
            fail_msg("N=%lld C=%lld M=%lld %lldx%lld k=%lld group=%lld res=%d threads=%d: pooled output differs "
                     "(rel err %g)",
                     (long long)sp->N, (long long)sp->C, (long long)sp->M, (long long)sp->H, (long long)sp->W,
                     (long long)sp->k, (long long)sp->group, sp->res, threads, e);
        free(y0);
        free(y1);
    }
    for (int i = 0; i < n_in; i++)
        ir_tensor_free(ins[i]);
    ir_graph_free(g);
    ir_graph_free(g1);
    return fused;
}

static void pooled_conv_matches_unfused(void **state)
{
    (void)state;
    spec s[] = {
        /* transposed path (weights >= 2^16, at most 64 outputs), averaged in place */
        {1, 128, 520, 7, 7, 1, 1, 0, 1, 0},  /* MobileNetV2's tail: 1x1, activation */
        {1, 128, 520, 7, 7, 1, 1, 1, 1, 0},  /* ResNet's tail: exact residual, Relu */
        {2, 128, 520, 5, 7, 1, 1, 1, 0, 0},  /* two images, residual, no activation */
        {1, 64, 160, 6, 6, 3, 1, 0, 1, 0},   /* 3x3 */
        /* full result to scratch, then averaged */
        {1, 128, 520, 7, 7, 1, 1, 2, 1, 0},  /* broadcast residual */
        {1, 16, 40, 12, 12, 1, 1, 0, 1, 0},  /* 144 outputs: the ordinary GEMM path */
        {2, 24, 24, 9, 11, 3, 24, 1, 1, 0},  /* depthwise with a residual */
        {1, 16, 24, 20, 20, 3, 1, 0, 0, 0},  /* 3x3 on 400 outputs */
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        assert_true(check(&s[i]));
}

static void conv_output_with_other_readers_keeps_the_pool(void **state)
{
    (void)state;
    spec out = {1, 128, 520, 7, 7, 1, 1, 0, 1, 1}, other = {1, 128, 520, 7, 7, 1, 1, 0, 1, 2};
    assert_false(check(&out));
    assert_false(check(&other));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pooled_conv_matches_unfused),
        cmocka_unit_test(conv_output_with_other_readers_keeps_the_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
